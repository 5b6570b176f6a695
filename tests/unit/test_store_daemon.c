/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <beampush/common.h>

#include "store_daemon.h"

#define H1 "sha256:4f1ba5a3c0e97b3e1f45e6a5a2b1c1ce3e1f0f5b6a6c4d4ff9d44ce8a8b3b1c2"
#define H2 "sha256:a1ba5a3c0e97b3e1f45e6a5a2b1c1ce3e1f0f5b6a6c4d4ff9d44ce8a8b3b1c20"

/* Image inspect answers: Id and RootFS.Layers are required and checked. */
static const struct {
	const char *body;
	int rc;
	size_t ndiff, nrepo; /* when rc is 0 */
} inspect_rows[] = {
	{ "{\"Id\":\"" H1 "\",\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"" H2 "\",\"" H1
	  "\"]},\"RepoDigests\":[\"beam/app@" H2 "\"]}",
	  0, 2, 1 },
	{ "{\"Id\":\"" H1 "\",\"RootFS\":{\"Layers\":[]},\"RepoDigests\":null}", 0, 0, 0 },
	{ "{\"Id\":\"" H1 "\",\"RootFS\":{\"Layers\":[\"" H2 "\",\"sha256:xyz\"]}}", BP_EPROTO,
	  0, 0 },
	{ "{\"Id\":\"" H1 "\",\"RootFS\":{\"Layers\":[\"" H2 "\"]},\"RepoDigests\":[1]}",
	  BP_EPROTO, 0, 0 },
	{ "{\"Id\":\"abc\",\"RootFS\":{\"Layers\":[]}}", BP_EPROTO, 0, 0 },
	{ "{\"Id\":\"" H1 "\"}", BP_EPROTO, 0, 0 },
	{ "{\"Id\":\"" H1 "\",\"RootFS\":{\"Layers\":{}}}", BP_EPROTO, 0, 0 },
	{ "", BP_EPROTO, 0, 0 },
	{ "[]", BP_EPROTO, 0, 0 },
};

static void test_parse_inspect(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(inspect_rows) / sizeof(inspect_rows[0]); i++) {
		bp_daemon_image img;
		int rc = bp_daemon__parse_inspect(inspect_rows[i].body,
						  strlen(inspect_rows[i].body), "beam/app", &img);

		assert_int_equal(rc, inspect_rows[i].rc);
		if (!rc) {
			assert_string_equal(img.id, H1);
			assert_int_equal(img.ndiff_ids, inspect_rows[i].ndiff);
			assert_int_equal(img.nrepo_digests, inspect_rows[i].nrepo);
			if (img.ndiff_ids)
				assert_string_equal(img.diff_ids[0], H2);
		} else {
			assert_null(img.diff_ids);
			assert_null(img.repo_digests);
			assert_non_null(strstr(bp_error_last(), "Docker daemon: image inspect"));
		}
		bp_daemon__image_release(&img);
	}
}

/* Error answers: the API's message (or a text/plain answer's first line) as one printable line. */
static const struct {
	long status;
	const char *content_type;
	const char *body;
	int rc;
	const char *msg;
} error_rows[] = {
	{ 404, "application/json", "{\"message\":\"No such image: beam/app\"}", BP_ENOTFOUND,
	  "Docker daemon: no image beam/app: No such image: beam/app (404)" },
	{ 500, NULL, "{\"message\":\"disk full\\nand\\u001b[31m more\"}", BP_ERROR,
	  "Docker daemon: no image beam/app: disk full?and?[31m more (500)" },
	{ 500, NULL, "<html>oops</html>", BP_ERROR, "Docker daemon: no image beam/app: (500)" },
	{ 500, "text/html", "<html>oops</html>", BP_ERROR,
	  "Docker daemon: no image beam/app: (500)" },
	{ 409, NULL, "", BP_ERROR, "Docker daemon: no image beam/app: (409)" },
	/* dockerd 20.10 refuses an API version below its oldest in plain text */
	{ 400, "text/plain; charset=utf-8",
	  "client version 1.10 is too old. Minimum supported API version is 1.12, please "
	  "upgrade your client to a newer version\n",
	  BP_ERROR,
	  "Docker daemon: no image beam/app: client version 1.10 is too old. Minimum supported "
	  "API version is 1.12, please upgrade your client to a newer version (400)" },
	{ 500, "text/plain", "first\nsecond", BP_ERROR,
	  "Docker daemon: no image beam/app: first (500)" },
	{ 500, "text/plain", "tab\there\x1b[0m", BP_ERROR,
	  "Docker daemon: no image beam/app: tab?here?[0m (500)" },
	{ 500, "text/plain", "", BP_ERROR, "Docker daemon: no image beam/app: (500)" },
};

static void test_error(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++) {
		bp_http_response resp = { 0 };
		size_t len = strlen(error_rows[i].body);

		resp.status = error_rows[i].status;
		resp.content_type = error_rows[i].content_type ? strdup(error_rows[i].content_type)
							       : NULL;
		/* as http.c keeps it: exactly the bytes, no NUL promised after them */
		resp.err_body.ptr = len ? malloc(len) : NULL;
		if (len) {
			assert_non_null(resp.err_body.ptr);
			memcpy(resp.err_body.ptr, error_rows[i].body, len);
		}
		resp.err_body.len = resp.err_body.alloc = len;
		assert_int_equal(bp_daemon__error(&resp, "no image", "beam/app"), error_rows[i].rc);
		assert_string_equal(bp_error_last(), error_rows[i].msg);
		bp_http__response_release(&resp);
	}
}

static const struct {
	const char *body;
	int rc;
	const char *msg;
} load_rows[] = {
	{ "", 0, NULL },
	{ "{\"stream\":\"Loaded image: beam/app:1\\n\"}\r\n", 0, NULL },
	{ "{\"errorDetail\":{\"message\":\"invalid tag \\\"a@sha256:x\\\"\"},"
	  "\"error\":\"invalid tag \\\"a@sha256:x\\\"\"}\r\n",
	  BP_ERROR, "Docker daemon: load failed: invalid tag \"a@sha256:x\"" },
	/* messages one after another, the error second, no newline between */
	{ "{\"stream\":\"x\"}{\"error\":\"no space\\nleft\"}", BP_ERROR,
	  "Docker daemon: load failed: no space?left" },
	{ "{\"stream\":\"x\"}\n{\"error\":{\"odd\":1}}", BP_ERROR,
	  "Docker daemon: load failed: the daemon reported an error" },
	{ "{\"stream\":\"ok\"} not json", 0, NULL },
	{ "garbage \"error\": boom", BP_ERROR, "Docker daemon: load failed: garbage \"error\": boom" },
};

static void test_load_error(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(load_rows) / sizeof(load_rows[0]); i++) {
		size_t len = strlen(load_rows[i].body);
		/* exactly the bytes, no NUL after them */
		char *b = len ? malloc(len) : NULL;

		if (len) {
			assert_non_null(b);
			memcpy(b, load_rows[i].body, len);
		}
		bp_error_clear();
		assert_int_equal(bp_daemon__load_error(b, len), load_rows[i].rc);
		if (load_rows[i].msg)
			assert_string_equal(bp_error_last(), load_rows[i].msg);
		free(b);
	}
}

/* API versions: MAJOR.MINOR, 1 to 3 digits each, nothing else. */
static const struct {
	const char *s;
	int rc;
	unsigned v; /* when rc is 0 */
} api_version_rows[] = {
	{ "1.41", 0, 1041 },
	{ "1.4", 0, 1004 },
	{ "1.40", 0, 1040 },
	{ "1.100", 0, 1100 },
	{ "2.0", 0, 2000 },
	{ "999.999", 0, 999999 },
	{ "1.1000", BP_EPROTO, 0 },
	{ "1000.1", BP_EPROTO, 0 },
	{ "1", BP_EPROTO, 0 },
	{ "1.", BP_EPROTO, 0 },
	{ ".41", BP_EPROTO, 0 },
	{ "v1.41", BP_EPROTO, 0 },
	{ "1.41.0", BP_EPROTO, 0 },
	{ "1.41 ", BP_EPROTO, 0 },
	{ "1.-1", BP_EPROTO, 0 },
	{ "1.41-beta", BP_EPROTO, 0 },
	{ "", BP_EPROTO, 0 },
	{ NULL, BP_EPROTO, 0 },
};

static void test_parse_api_version(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(api_version_rows) / sizeof(api_version_rows[0]); i++) {
		unsigned v = 7;

		assert_int_equal(bp_daemon__parse_api_version(api_version_rows[i].s, &v),
				 api_version_rows[i].rc);
		assert_int_equal(v, api_version_rows[i].rc ? 7 : api_version_rows[i].v);
	}
}

/* The version spoken, by the daemon's newest and oldest (0: unknown). */
static const struct {
	unsigned max, min, want;
} negotiate_rows[] = {
	{ 1041, 1012, 1041 }, /* dockerd 20.10, podman 4 */
	{ 1040, 1012, 1040 }, /* dockerd 19.03 */
	{ 1024, 0, 1024 },    /* Docker 1.12: no API-Version, no MinAPIVersion */
	{ 1023, 1012, 0 },    /* older than the oldest beampush reads */
	{ 1004, 0, 0 },       /* "1.4" is not "1.40" */
	{ 1047, 1024, 1041 }, /* Docker 27 serves 1.41 still */
	{ 1047, 0, 1041 },
	{ 1052, 1044, 1044 }, /* Docker 29 serves 1.44 and up */
	{ 1052, 1041, 1041 },
	{ 1052, 1060, 1041 }, /* an oldest newer than the newest: nonsense, ignored */
	{ 2000, 2000, 2000 },
	{ 0, 0, 0 },
};

static void test_negotiate(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(negotiate_rows) / sizeof(negotiate_rows[0]); i++)
		assert_int_equal(bp_daemon__negotiate(negotiate_rows[i].max, negotiate_rows[i].min),
				 negotiate_rows[i].want);
}

/* GET /version answers: ApiVersion required, MinAPIVersion optional. */
static const struct {
	const char *body;
	int rc;
	unsigned max, min; /* when rc is 0 */
} version_rows[] = {
	{ "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}", 0,
	  1041, 1012 },
	{ "{\"ApiVersion\":\"1.24\"}", 0, 1024, 0 },
	{ "{\"ApiVersion\":\"1.52\",\"MinAPIVersion\":\"4.0.0\"}", 0, 1052, 0 },
	{ "{\"ApiVersion\":\"1.52\",\"MinAPIVersion\":144}", 0, 1052, 0 },
	{ "{\"ApiVersion\":1.41}", BP_EPROTO, 0, 0 },
	{ "{\"ApiVersion\":\"4.3.1\"}", BP_EPROTO, 0, 0 },
	{ "{\"Version\":\"x\"}", BP_EPROTO, 0, 0 },
	{ "<html>It works!</html>", BP_EPROTO, 0, 0 },
	{ "[\"1.41\"]", BP_EPROTO, 0, 0 },
	{ "", BP_EPROTO, 0, 0 },
};

static void test_parse_version(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(version_rows) / sizeof(version_rows[0]); i++) {
		size_t len = strlen(version_rows[i].body);
		/* exactly the bytes, no NUL after them */
		char *b = len ? malloc(len) : NULL;
		unsigned max = 7, min = 7;

		if (len) {
			assert_non_null(b);
			memcpy(b, version_rows[i].body, len);
		}
		assert_int_equal(bp_daemon__parse_version(b, len, &max, &min), version_rows[i].rc);
		if (!version_rows[i].rc) {
			assert_int_equal(max, version_rows[i].max);
			assert_int_equal(min, version_rows[i].min);
		}
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_inspect),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_load_error),
		cmocka_unit_test(test_parse_api_version),
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test(test_parse_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
