/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <beampush/common.h>

#include "credhelper.h"

/* What a helper prints for "get", read as the protocol says. */
static const struct {
	const char *out;
	int rc;
	const char *user, *secret; /* when rc is 0 */
	const char *msg;	   /* in the error, when rc is not */
} get_rows[] = {
	{ "{\"Username\":\"alice\",\"Secret\":\"pa55\"}\n", 0, "alice", "pa55", NULL },
	{ "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"<token>\","
	  "\"Secret\":\"eyJ\"}",
	  0, "<token>", "eyJ", NULL },
	{ "{\"Username\":\"\",\"Secret\":\"\"}", BP_ENOTFOUND, NULL, NULL, "no credentials" },
	{ "{\"Username\":\"alice\",\"Secret\":\"\"}", BP_EPROTO, NULL, NULL, "empty Secret" },
	{ "{\"Username\":\"\",\"Secret\":\"x\"}", BP_EPROTO, NULL, NULL, "empty Username" },
	{ "{\"Username\":1,\"Secret\":\"x\"}", BP_EPROTO, NULL, NULL, "no Username" },
	{ "[\"alice\",\"pa55\"]", BP_EPROTO, NULL, NULL, "not a JSON object" },
	{ "", BP_EPROTO, NULL, NULL, "not a JSON object" },
	{ "{\"Username\":\"alice\",\"Secret\":\"pa55\"", BP_EPROTO, NULL, NULL,
	  "not a JSON object" },
};

static void test_parse_get(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(get_rows) / sizeof(get_rows[0]); i++) {
		char *u = NULL, *s = NULL;
		int rc = bp_credhelper__parse_get("test", "registry.example", get_rows[i].out,
						  strlen(get_rows[i].out), &u, &s);

		assert_int_equal(rc, get_rows[i].rc);
		if (!rc) {
			assert_string_equal(u, get_rows[i].user);
			assert_string_equal(s, get_rows[i].secret);
		} else {
			assert_null(u);
			assert_null(s);
			assert_non_null(strstr(bp_error_last(), get_rows[i].msg));
			assert_non_null(strstr(bp_error_last(), "docker-credential-test"));
		}
		free(u);
		free(s);
	}
}

/* How a helper ended: the message quotes one printable line of what it said. */
static const struct {
	int status; /* as waitpid gives it */
	const char *out;
	int rc;
	const char *msg;
} exit_rows[] = {
	{ 0, "{}", 0, NULL },
	{ 1 << 8, "credentials not found in native keychain\n", BP_ENOTFOUND,
	  "credentials not found" },
	{ 1 << 8, "  \r\ncredentials not found in native keychain \t", BP_ENOTFOUND,
	  "credentials not found" },
	{ 1 << 8, "pass not initialized\nsecond line", BP_ERROR,
	  "failed (exit status 1): pass not initialized" },
	{ 3 << 8, "bad\x01\x1b[31mred", BP_ERROR, "(exit status 3): bad??[31mred" },
	{ 1 << 8, "\x01\x02\n", BP_ERROR, "(exit status 1): first stderr line" },
	{ 1 << 8, "", BP_ERROR, "(exit status 1): first stderr line" },
	{ SIGSEGV, "", BP_ERROR, "killed by signal 11" },
};

static void test_exit_error(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(exit_rows) / sizeof(exit_rows[0]); i++) {
		int rc = bp_credhelper__exit_error("test", "get", exit_rows[i].status,
						   exit_rows[i].out, strlen(exit_rows[i].out),
						   "first stderr line", 17);

		assert_int_equal(rc, exit_rows[i].rc);
		if (rc)
			assert_non_null(strstr(bp_error_last(), exit_rows[i].msg));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_get),
		cmocka_unit_test(test_exit_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
