/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "127.0.0.1:5000"
#define BASE "http://127.0.0.1:5000"
#define DIGEST "sha256:0000000000000000000000000000000000000000000000000000000000000000"

/* RateLimit-Limit and RateLimit-Remaining values: the count and window read, or rc -1. */
static const struct {
	const char *value;
	int rc;
	int64_t count, window;
} values[] = {
	{ "100;w=21600", 0, 100, 21600 },
	{ "76;w=21600", 0, 76, 21600 },
	{ "0;w=21600", 0, 0, 21600 },
	{ " 5 ; w=60", 0, 5, 60 },
	{ "5;W=60", 0, 5, 60 },
	{ "5", 0, 5, -1 },
	{ "5;burst=1000;w=60", 0, 5, 60 },
	{ "10, 10;w=1, 1000;w=3600", 0, 10, -1 },
	{ "1000;w=3600, 10;w=1", 0, 1000, 3600 },
	{ "5;window=60", 0, 5, -1 },
	{ "5;w=", 0, 5, 0 },
	{ "", -1, -1, -1 },
	{ "w=60", -1, -1, -1 },
	{ "-1;w=60", -1, -1, -1 },
	{ "lots", -1, -1, -1 },
	{ "99999999999999999999;w=1", -1, -1, -1 },
};

static void test_values_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		int64_t count = 7, window = 7;
		int rc = bp_registry__parse_ratelimit(values[i].value, &count, &window);

		if (rc != values[i].rc ||
		    (rc == 0 && (count != values[i].count || window != values[i].window)))
			fail_msg(
				"row %zu (\"%s\"): rc %d count %lld window %lld, want %d %lld %lld",
				i, values[i].value, rc, (long long)count, (long long)window,
				values[i].rc, (long long)values[i].count,
				(long long)values[i].window);
	}
}

/* Answers to manifest HEADs, one a request: its headers, and what the registry keeps after it. */
static const struct {
	const char *limit, *remaining; /* NULL: not sent */
	int64_t want_limit, want_remaining, want_window;
	uint64_t want_seen;
} answers[] = {
	{ NULL, NULL, 0, 0, 0, 0 },			    /* nothing stated yet */
	{ "100;w=21600", "76;w=21600", 100, 76, 21600, 1 }, /* Docker Hub's */
	{ NULL, NULL, 100, 76, 21600, 1 },		    /* an answer without: kept */
	{ "100;w=21600", "lots", 100, 76, 21600, 1 },	    /* unreadable: kept */
	{ "100", "75", 100, 75, -1, 2 },		    /* no window */
	{ "50;w=60", "0", 50, 0, 60, 3 },		    /* the window of the limit */
	{ NULL, "9;w=30", -1, 9, 30, 4 },		    /* remaining alone */
};

typedef struct {
	size_t next;
} script;

static int fake_send(const bp_http_request *req, bp_http_response *resp, void *payload)
{
	script *s = payload;
	char line[128];

	assert_string_equal(req->method, "HEAD");
	assert_true(s->next < sizeof(answers) / sizeof(answers[0]));
	bp_http__response_release(resp);
	resp->url = strdup(req->url);
	snprintf(line, sizeof(line), "HTTP/1.1 200 OK\r\n");
	assert_int_equal(bp_http__parse_header(resp, line, strlen(line)), 0);
	snprintf(line, sizeof(line), "Docker-Content-Digest: %s\r\n", DIGEST);
	assert_int_equal(bp_http__parse_header(resp, line, strlen(line)), 0);
	if (answers[s->next].limit) {
		snprintf(line, sizeof(line), "ratelimit-limit: %s\r\n", answers[s->next].limit);
		assert_int_equal(bp_http__parse_header(resp, line, strlen(line)), 0);
	}
	if (answers[s->next].remaining) {
		snprintf(line, sizeof(line), "RateLimit-Remaining:  %s \r\n",
			 answers[s->next].remaining);
		assert_int_equal(bp_http__parse_header(resp, line, strlen(line)), 0);
	}
	s->next++;
	return 0;
}

static void nap(double secs, void *payload)
{
	(void)secs;
	(void)payload;
}

static void test_answers_table(void **state)
{
	bp_registry_options opts = { 0 };
	script s = { 0 };
	bp_registry_seam seam = { fake_send, nap, &s };
	bp_registry *r = NULL;
	bp_ratelimit rl;
	char digest[BP_DIGEST_MAX];
	size_t i;

	(void)state;
	assert_int_equal(bp_registry__new(&r, DOMAIN, NULL, &opts), 0);
	assert_int_equal(bp_registry__set_seam(r, BASE, &seam), 0);
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		assert_int_equal(bp_registry__manifest_get(r, "beam/python", "2.55.0", NULL, NULL,
							   NULL, digest),
				 0);
		bp_registry__ratelimit(r, &rl);
		if (rl.seen != answers[i].want_seen ||
		    (rl.seen && (rl.limit != answers[i].want_limit ||
				 rl.remaining != answers[i].want_remaining ||
				 rl.window != answers[i].want_window)))
			fail_msg("answer %zu: seen %llu limit %lld remaining %lld window %lld", i,
				 (unsigned long long)rl.seen, (long long)rl.limit,
				 (long long)rl.remaining, (long long)rl.window);
	}
	bp_registry__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_table),
		cmocka_unit_test(test_answers_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
