/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Outcomes of one attempt: whether a policy with retries left tries again. */
static const struct {
	int err;
	long status;
	int retry;
} outcomes[] = {
	{ 0, 200, 0 },	     { 0, 201, 0 },	 { 0, 401, 0 },	      { 0, 403, 0 },
	{ 0, 404, 0 },	     { 0, 400, 0 },	 { 0, 416, 0 },	      { 0, 501, 0 },
	{ 0, 408, 1 },	     { 0, 429, 1 },	 { 0, 500, 1 },	      { 0, 502, 1 },
	{ 0, 503, 1 },	     { 0, 504, 1 },	 { BP_ENET, 0, 1 },   { BP_ETLS, 0, 0 },
	{ BP_EPROTO, 0, 0 }, { BP_EAUTH, 0, 0 }, { BP_ENOMEM, 0, 0 }, { BP_ERROR, 0, 0 },
};

typedef struct {
	char said[8][256];
	int nsaid;
	double slept;
	int sleeps;
} seen;

static void say(const char *message, void *payload)
{
	seen *s = payload;

	if (s->nsaid < 8)
		snprintf(s->said[s->nsaid++], sizeof(s->said[0]), "%s", message);
}

static void nap(double secs, void *payload)
{
	seen *s = payload;

	s->slept += secs;
	s->sleeps++;
}

static void test_outcomes_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		seen s = { 0 };
		bp_retry p = { 4, say, &s, nap, &s };
		bp_http_response resp = { 0 };
		int got;

		resp.status = outcomes[i].status;
		if (outcomes[i].err)
			bp_error_set(outcomes[i].err, "http://x/v2/: it failed");
		got = bp_retry__should(&p, "GET", outcomes[i].err, &resp, 0);
		if (got != outcomes[i].retry ||
		    bp_retry__passing(outcomes[i].err, resp.status) != got)
			fail_msg("row %zu (err %d, status %ld): %d, want %d", i, outcomes[i].err,
				 outcomes[i].status, got, outcomes[i].retry);
		/* a retry is said and waited for once; no retry, neither */
		assert_int_equal(s.nsaid, got);
		assert_int_equal(s.sleeps, got);
	}
}

/* What a retry says, and that the last attempt is the policy's retries + 1. */
static void test_messages_and_attempts(void **state)
{
	seen s = { 0 };
	bp_retry p = { 2, say, &s, nap, &s };
	bp_http_response resp = { 0 };
	int n;

	(void)state;
	resp.status = 429;
	resp.retry_after = (char *)"1";
	for (n = 0; bp_retry__should(&p, "GET /v2/", 0, &resp, n); n++)
		;
	assert_int_equal(n, 2);
	assert_int_equal(s.nsaid, 2);
	assert_string_equal(s.said[0], "retrying in 1s (attempt 2 of 3): GET /v2/ answered 429");
	assert_string_equal(s.said[1], "retrying in 1s (attempt 3 of 3): GET /v2/ answered 429");
	assert_true(s.slept == 2.0);

	resp.retry_after = (char *)"3600";
	assert_int_equal(bp_retry__should(&p, "token service GET", 0, &resp, 0), 1);
	assert_string_equal(s.said[2], "retrying in 60s (attempt 2 of 3): token service GET "
				       "answered 429 (Retry-After capped at 60s; the registry "
				       "asked for 3600s)");

	bp_error_set(BP_ENET, "http://x/token: connection refused");
	resp.retry_after = NULL;
	assert_int_equal(bp_retry__should(&p, "token service POST", BP_ENET, &resp, 1), 1);
	assert_string_equal(s.said[3], "retrying in 2s (attempt 3 of 3): token service POST "
				       "http://x/token: connection refused");
	bp_error_clear();
}

/* No policy, or no retries in it: never a retry, nothing said. */
static void test_no_retries(void **state)
{
	seen s = { 0 };
	bp_retry p = { 0, say, &s, nap, &s };
	bp_http_response resp = { 0 };

	(void)state;
	resp.status = 503;
	assert_int_equal(bp_retry__should(&p, "GET", 0, &resp, 0), 0);
	assert_int_equal(bp_retry__should(NULL, "GET", 0, &resp, 0), 0);
	assert_int_equal(s.nsaid, 0);
	assert_int_equal(s.sleeps, 0);
}

/* Retry-After forms: the wait for retry n, and what was asked when capped (-1: not). */
static const struct {
	const char *retry_after; /* "DATE+N": an HTTP date N seconds from now */
	int n;
	double lo, hi, asked;
} delays[] = {
	{ "0", 0, 0, 0, -1 },
	{ "1", 3, 1, 1, -1 },
	{ "60", 0, 60, 60, -1 },
	{ "61", 0, 60, 60, 61 },
	{ "86400", 0, 60, 60, 86400 },
	{ "DATE+-100", 0, 0, 0, -1 },
	{ "DATE+20", 0, 18, 20, -1 },
	{ "DATE+600", 0, 60, 60, 598 },
	/* absent or odd: backoff from half a second, doubled, a quarter of jitter, at most 30 s */
	{ NULL, 0, 0.5, 0.625, -1 },
	{ NULL, 1, 1, 1.25, -1 },
	{ NULL, 3, 4, 5, -1 },
	{ NULL, 40, 30, 37.5, -1 },
	{ "-1", 0, 0.5, 0.625, -1 },
	{ "soon", 2, 2, 2.5, -1 },
	{ "1.5", 0, 0.5, 0.625, -1 },
	{ "Mon, 32 Jan 2024 00:00:00 GMT", 0, 0.5, 0.625, -1 },
};

static void test_delay_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		bp_http_response resp = { 0 };
		char date[64];
		double d, asked;

		if (delays[i].retry_after && strncmp(delays[i].retry_after, "DATE+", 5) == 0) {
			time_t at = time(NULL) + strtol(delays[i].retry_after + 5, NULL, 10);
			struct tm tm;

			assert_non_null(gmtime_r(&at, &tm));
			assert_true(strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) >
				    0);
			resp.retry_after = date;
		} else {
			resp.retry_after = (char *)delays[i].retry_after;
		}
		d = bp_retry__delay(&resp, delays[i].n, &asked);
		if (d < delays[i].lo || d > delays[i].hi)
			fail_msg("row %zu (%s, n %d): %.3f not in [%.3f, %.3f]", i,
				 delays[i].retry_after ? delays[i].retry_after : "none",
				 delays[i].n, d, delays[i].lo, delays[i].hi);
		if (delays[i].asked < 0)
			assert_true(asked == -1);
		else if (asked < delays[i].asked || asked > delays[i].asked + 2)
			fail_msg("row %zu: asked %.0f, want %.0f", i, asked, delays[i].asked);
	}
	/* no answer at all (a network error): backoff */
	{
		double asked, d = bp_retry__delay(NULL, 0, &asked);

		assert_true(d >= 0.5 && d <= 0.625 && asked == -1);
	}
}

/* Waits as a message says them: whole seconds, rounded up. */
static void test_whole_secs(void **state)
{
	(void)state;
	assert_int_equal(bp_retry__whole_secs(0), 0);
	assert_int_equal(bp_retry__whole_secs(0.001), 1);
	assert_int_equal(bp_retry__whole_secs(0.5), 1);
	assert_int_equal(bp_retry__whole_secs(1), 1);
	assert_int_equal(bp_retry__whole_secs(1.01), 2);
	assert_int_equal(bp_retry__whole_secs(60), 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcomes_table), cmocka_unit_test(test_messages_and_attempts),
		cmocka_unit_test(test_no_retries),     cmocka_unit_test(test_delay_table),
		cmocka_unit_test(test_whole_secs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
