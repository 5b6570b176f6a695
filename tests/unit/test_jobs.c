/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How many jobs run at once: big blobs at most opts.jobs, small ones (1
 * MiB and less) up to four times as many. The first jobs wait (two
 * seconds at most) until as many as the list should run at once have been
 * running together, so a run that never gets that wide takes the timeout
 * and shows in the widest count, and one that gets wider than allowed
 * shows there too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/client.h>

#include "client.h"
#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define NJOBS 32

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int running, big_running;
	int widest, widest_big;
	int want; /* how many at once the run should reach */
	int fail_at; /* the job index that fails, or -1 */
} w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, -1 };

static int wait_wide(bp_client *c, job *j)
{
	int big = j->desc->size > (1 << 20), rc = 0;
	struct timespec until;

	(void)c;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&w.lock);
	w.running++;
	w.big_running += big;
	if (w.running > w.widest)
		w.widest = w.running;
	if (w.big_running > w.widest_big)
		w.widest_big = w.big_running;
	pthread_cond_broadcast(&w.cond);
	while (w.widest < w.want && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w.cond, &w.lock, &until);
	w.running--;
	w.big_running -= big;
	pthread_mutex_unlock(&w.lock);
	if (j - (job *)j->ctx == w.fail_at)
		return bp_error_set(BP_ENET, "job %d failed", w.fail_at);
	return 0;
}

/* Run NJOBS jobs of the sizes given (cycled) with opts.jobs = jobs. */
static int run(int jobs, const int64_t *sizes, size_t nsizes, int want, int fail_at)
{
	bp_client_options o = BP_CLIENT_OPTIONS_INIT;
	static bp_descriptor descs[NJOBS];
	static job list[NJOBS];
	bp_client *c = NULL;
	size_t i;
	int err;

	o.jobs = jobs;
	assert_int_equal(bp_client_new(&c, &o), 0);
	memset(list, 0, sizeof(list));
	for (i = 0; i < NJOBS; i++) {
		memset(&descs[i], 0, sizeof(descs[i]));
		descs[i].size = sizes[i % nsizes];
		list[i].desc = &descs[i];
		list[i].kind = "layer";
		list[i].ctx = list; /* the job finds its index */
	}
	w.widest = w.widest_big = 0;
	w.want = want;
	w.fail_at = fail_at;
	err = bp_jobs__run(c, list, NJOBS, wait_wide);
	bp_client_free(c);
	return err;
}

static void test_small_go_wider(void **state)
{
	static const int64_t small[] = { 256 * 1024 };

	(void)state;
	assert_int_equal(run(4, small, 1, 16, -1), 0);
	assert_int_equal(w.widest, 16);
	assert_int_equal(run(2, small, 1, 8, -1), 0);
	assert_int_equal(w.widest, 8);
	/* --jobs 1: one at a time */
	assert_int_equal(run(1, small, 1, 1, -1), 0);
	assert_int_equal(w.widest, 1);
}

static void test_big_stay_at_jobs(void **state)
{
	static const int64_t big[] = { 64 << 20 };

	(void)state;
	assert_int_equal(run(4, big, 1, 4, -1), 0);
	assert_int_equal(w.widest, 4);
	assert_int_equal(w.widest_big, 4);
}

static void test_mixed(void **state)
{
	static const int64_t mixed[] = { 64 << 20, 1000, 1000, 1000 };

	(void)state;
	/* a quarter big: at most 4 of them at once, the small ones filling up to 16 */
	assert_int_equal(run(4, mixed, 4, 16, -1), 0);
	assert_true(w.widest_big <= 4);
	assert_int_equal(w.widest, 16);
}

static void test_first_error_wins(void **state)
{
	static const int64_t small[] = { 1000 };

	(void)state;
	assert_int_equal(run(4, small, 1, 1, 5), BP_ENET);
	assert_string_equal(bp_error_last(), "job 5 failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_go_wider),
		cmocka_unit_test(test_big_stay_at_jobs),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_first_error_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
