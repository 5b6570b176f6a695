/* SPDX-License-Identifier: Apache-2.0 */
#include "jobs.h"

#include "client.h"
#include "util/strutil.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
	bp_client *c;
	job *jobs;
	size_t n;
	size_t next;
	int failed;
	job_fn fn;
	pthread_mutex_t lock;
} job_queue;

static void *worker(void *p)
{
	job_queue *q = p;

	for (;;) {
		job *j;

		pthread_mutex_lock(&q->lock);
		if (q->failed || q->next == q->n) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		j = &q->jobs[q->next++];
		pthread_mutex_unlock(&q->lock);
		/* errors are per thread: carry the message back with the job */
		j->err = q->fn(q->c, j);
		if (j->err) {
			bp_strlcpy(j->msg, bp_error_last(), sizeof(j->msg));
			pthread_mutex_lock(&q->lock);
			q->failed = 1;
			pthread_mutex_unlock(&q->lock);
		}
	}
	return NULL;
}

/* Run fn over jobs in order on up to opts.jobs threads; the first error wins. */
int bp_jobs__run(bp_client *c, job *jobs, size_t n, job_fn fn)
{
	return bp_jobs__run_max(c, jobs, n, fn, JOBS_MAX);
}

/* Run fn over jobs on at most max threads. */
int bp_jobs__run_max(bp_client *c, job *jobs, size_t n, job_fn fn, size_t max)
{
	job_queue q = { c, jobs, n, 0, 0, fn, PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[JOBS_MAX];
	size_t nth = (size_t)c->opts.jobs < n ? (size_t)c->opts.jobs : n, i, started = 0;

	if (nth > max)
		nth = max;

	for (i = 1; i < nth; i++) {
		if (pthread_create(&th[started], NULL, worker, &q) != 0)
			break;
		started++;
	}
	worker(&q);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
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

