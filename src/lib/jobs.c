/* SPDX-License-Identifier: Apache-2.0 */
#include "jobs.h"

#include "client.h"
#include "util/strutil.h"

#include <pthread.h>
#include <stdlib.h>

/*
 * A blob this small costs its round trips, not its bytes: forty of them
 * four at a time wait out ten rounds of HEAD, POST and PUT. Small blobs
 * go up to JOBS_SMALL_PER_JOB x opts.jobs at once (at most JOBS_MAX;
 * opts.jobs 1 stays one at a time);
 * any other job holds one of opts.jobs places while it runs.
 */
#define JOBS_SMALL_SIZE ((int64_t)1 << 20)
#define JOBS_SMALL_PER_JOB 4

typedef struct {
	bp_client *c;
	job *jobs;
	size_t n;
	size_t next;
	size_t big_running; /* jobs that are not small, running */
	size_t big_max;
	int failed;
	job_fn fn;
	pthread_mutex_t lock;
	pthread_cond_t big_done;
} job_queue;

/* 1 for a light job, or a blob of known size no larger than JOBS_SMALL_SIZE. */
static int is_small(const job *j)
{
	if (j->light)
		return 1;
	return j->desc && j->desc->size >= 0 && j->desc->size <= JOBS_SMALL_SIZE;
}

static void *worker(void *p)
{
	job_queue *q = p;

	for (;;) {
		job *j;
		int big;

		pthread_mutex_lock(&q->lock);
		if (q->failed || q->next == q->n) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		j = &q->jobs[q->next++];
		big = !is_small(j);
		while (big && q->big_running >= q->big_max && !q->failed)
			pthread_cond_wait(&q->big_done, &q->lock);
		if (q->failed) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		q->big_running += (size_t)big;
		pthread_mutex_unlock(&q->lock);
		/* errors are per thread: carry the message back with the job */
		j->err = q->fn(q->c, j);
		if (j->err)
			bp_strlcpy(j->msg, bp_error_last(), sizeof(j->msg));
		pthread_mutex_lock(&q->lock);
		q->big_running -= (size_t)big;
		if (j->err)
			q->failed = 1;
		pthread_cond_broadcast(&q->big_done);
		pthread_mutex_unlock(&q->lock);
	}
	return NULL;
}

/* Run fn over jobs in order on up to opts.jobs threads, small blobs wider; the first error wins. */
int bp_jobs__run(bp_client *c, job *jobs, size_t n, job_fn fn)
{
	return bp_jobs__run_wide(c, jobs, n, fn, 0);
}

/* The same, small blobs as wide as JOBS_MAX on a multiplexed connection. */
int bp_jobs__run_wide(bp_client *c, job *jobs, size_t n, job_fn fn, int wide)
{
	size_t i, width = (size_t)c->opts.jobs;

	/* --jobs 1 is one at a time, whatever the sizes */
	for (i = 0; i < n && width > 1; i++)
		if (is_small(&jobs[i])) {
			width = wide ? JOBS_MAX : width * JOBS_SMALL_PER_JOB;
			break;
		}
	return bp_jobs__run_max(c, jobs, n, fn, width < JOBS_MAX ? width : JOBS_MAX);
}

/* Run fn over jobs on at most max threads, at most opts.jobs of them not small. */
int bp_jobs__run_max(bp_client *c, job *jobs, size_t n, job_fn fn, size_t max)
{
	job_queue q = { c, jobs, n, 0, 0, (size_t)c->opts.jobs, 0, fn, PTHREAD_MUTEX_INITIALIZER,
			PTHREAD_COND_INITIALIZER };
	pthread_t th[JOBS_MAX];
	size_t nth = n, i, started = 0;

	if (nth > max)
		nth = max;
	if (nth > JOBS_MAX)
		nth = JOBS_MAX;
	if (q.big_max > nth)
		q.big_max = nth;

	for (i = 1; i < nth; i++) {
		if (pthread_create(&th[started], NULL, worker, &q) != 0)
			break;
		started++;
	}
	worker(&q);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_cond_destroy(&q.big_done);
	pthread_mutex_destroy(&q.lock);
	for (i = 0; i < n; i++)
		if (jobs[i].err)
			return bp_error_set(jobs[i].err, "%s", jobs[i].msg);
	return 0;
}

/* Progress events for one blob. */
void bp_jobs__progress(int64_t done, int64_t total, void *payload)
{
	progress_ctx *p = payload;

	bp_client__emit(p->c, BP_EVENT_BLOB_PROGRESS, p->digest, p->kind, done, total, NULL);
}

