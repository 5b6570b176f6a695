/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Expected fields of one challenge; NULL means "absent". */
struct want_challenge {
	const char *scheme, *realm, *service, *scope, *error;
};

struct challenge_row {
	const char *name;
	const char *value;
	int rc;
	size_t n;
	struct want_challenge ch[3];
};

/* clang-format off */
static const struct challenge_row challenge_rows[] = {
	{ "distribution token.md example",
	  "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
	  "scope=\"repository:samalba/my-app:pull,push\"",
	  0, 1,
	  { { "bearer", "https://auth.docker.io/token", "registry.docker.io",
	      "repository:samalba/my-app:pull,push", NULL } } },
	{ "distribution insufficient_scope",
	  "Bearer realm=\"http://127.0.0.1:5001/token\",service=\"test-registry\","
	  "scope=\"repository:beam/python:pull,push\",error=\"insufficient_scope\"",
	  0, 1,
	  { { "bearer", "http://127.0.0.1:5001/token", "test-registry",
	      "repository:beam/python:pull,push", "insufficient_scope" } } },
	{ "distribution invalid_token, no scope",
	  "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
	  "error=\"invalid_token\"",
	  0, 1,
	  { { "bearer", "https://auth.docker.io/token", "registry.docker.io", NULL,
	      "invalid_token" } } },
	{ "several scopes joined by spaces",
	  "Bearer realm=\"https://r.example/token\",service=\"r.example\","
	  "scope=\"repository:beam/python:pull,push repository:beam/java:pull\"",
	  0, 1,
	  { { "bearer", "https://r.example/token", "r.example",
	      "repository:beam/python:pull,push repository:beam/java:pull", NULL } } },
	{ "registry scope with port in name",
	  "Bearer realm=\"https://r/token\",service=\"r\","
	  "scope=\"repository:localhost:5000/beam/go:pull registry:catalog:*\"",
	  0, 1,
	  { { "bearer", "https://r/token", "r",
	      "repository:localhost:5000/beam/go:pull registry:catalog:*", NULL } } },
	{ "htpasswd Basic",
	  "Basic realm=\"basic-realm\"", 0, 1,
	  { { "basic", "basic-realm", NULL, NULL, NULL } } },
	{ "Basic without parameters", "Basic", 0, 1,
	  { { "basic", NULL, NULL, NULL, NULL } } },
	{ "Basic token68 ignored", "Basic dXNlcjpwYXNz", 0, 1,
	  { { "basic", NULL, NULL, NULL, NULL } } },
	{ "token68 with padding", "Negotiate YWJjZA==", 0, 1,
	  { { "negotiate", NULL, NULL, NULL, NULL } } },
	{ "Bearer token68 with / and +", "Bearer ab/cd+ef==", 0, 1,
	  { { "bearer", NULL, NULL, NULL, NULL } } },
	{ "two challenges in one value",
	  "Bearer realm=\"https://a/token\",service=\"a\", Basic realm=\"b\"", 0, 2,
	  { { "bearer", "https://a/token", "a", NULL, NULL },
	    { "basic", "b", NULL, NULL, NULL } } },
	{ "bare scheme then another challenge",
	  "Negotiate, Basic realm=\"x\"", 0, 2,
	  { { "negotiate", NULL, NULL, NULL, NULL },
	    { "basic", "x", NULL, NULL, NULL } } },
	{ "three challenges, last a token68",
	  "Basic realm=\"a\", Bearer realm=\"b\",service=\"c\", Negotiate YWJj==", 0, 3,
	  { { "basic", "a", NULL, NULL, NULL },
	    { "bearer", "b", "c", NULL, NULL },
	    { "negotiate", NULL, NULL, NULL, NULL } } },
	{ "scheme and names case-insensitive",
	  "BEARER Realm=\"r\",SERVICE=\"s\",Scope=\"x\",ERROR=\"e\"", 0, 1,
	  { { "bearer", "r", "s", "x", "e" } } },
	{ "spaces around = and ,",
	  "Bearer realm = \"r\" , service= \"s\" ,scope =\"x\"", 0, 1,
	  { { "bearer", "r", "s", "x", NULL } } },
	{ "tabs as whitespace",
	  "Bearer\trealm=\"r\",\tservice=\"s\"", 0, 1,
	  { { "bearer", "r", "s", NULL, NULL } } },
	{ "token values unquoted",
	  "Bearer realm=abc,service=registry.example.com", 0, 1,
	  { { "bearer", "abc", "registry.example.com", NULL, NULL } } },
	{ "backslash escapes",
	  "Bearer realm=\"a\\\"b\\\\c\",service=\"\\s\"", 0, 1,
	  { { "bearer", "a\"b\\c", "s", NULL, NULL } } },
	{ "empty quoted value",
	  "Bearer realm=\"\",service=\"s\"", 0, 1,
	  { { "bearer", "", "s", NULL, NULL } } },
	{ "empty token value",
	  "Bearer realm=,service=\"s\"", 0, 1,
	  { { "bearer", "", "s", NULL, NULL } } },
	{ "unknown parameters ignored",
	  "Bearer realm=\"r\",foo=\"bar, baz\",charset=UTF-8,service=\"s\"", 0, 1,
	  { { "bearer", "r", "s", NULL, NULL } } },
	{ "leading, trailing and doubled commas",
	  "  , Bearer realm=\"r\" ,, service=\"s\", ", 0, 1,
	  { { "bearer", "r", "s", NULL, NULL } } },
	{ "repeated parameter: last wins",
	  "Bearer realm=\"a\",realm=\"b\"", 0, 1,
	  { { "bearer", "b", NULL, NULL, NULL } } },
	{ "obs-text kept",
	  "Basic realm=\"caf\xc3\xa9\"", 0, 1,
	  { { "basic", "caf\xc3\xa9", NULL, NULL, NULL } } },
	{ "other scheme with params",
	  "Digest realm=\"x\", qop=\"auth,auth-int\", nonce=\"abc\"", 0, 1,
	  { { "digest", "x", NULL, NULL, NULL } } },

	{ "unterminated quote", "Bearer realm=\"abc", BP_EPROTO, 0, { { 0 } } },
	{ "unterminated after backslash", "Bearer realm=\"abc\\", BP_EPROTO, 0, { { 0 } } },
	{ "= without a name", "Bearer =abc", BP_EPROTO, 0, { { 0 } } },
	{ "= without a name after comma", "Bearer realm=\"r\", =x", BP_EPROTO, 0, { { 0 } } },
	{ "starts with a quote", "\"quoted\"", BP_EPROTO, 0, { { 0 } } },
	{ "missing comma", "Bearer realm=\"r\" service=\"s\"", BP_EPROTO, 0, { { 0 } } },
	{ "empty value", "", BP_EPROTO, 0, { { 0 } } },
	{ "only separators", " , ,\t", BP_EPROTO, 0, { { 0 } } },
	{ "control character in quotes", "Bearer realm=\"a\x01" "b\"", BP_EPROTO, 0, { { 0 } } },
	{ "newline in quotes", "Bearer realm=\"a\r\nX: y\"", BP_EPROTO, 0, { { 0 } } },
	{ "quote right after scheme", "Bearer\"x\"", BP_EPROTO, 0, { { 0 } } },
	{ "junk after quoted value", "Bearer realm=\"a\"x", BP_EPROTO, 0, { { 0 } } },
	{ "double =", "Bearer realm==\"x\"", BP_EPROTO, 0, { { 0 } } },
	{ "symbols only", "Bearer @@@", BP_EPROTO, 0, { { 0 } } },
	{ "second challenge broken",
	  "Bearer realm=\"a\", Basic realm=\"b", BP_EPROTO, 0, { { 0 } } },
	{ "token68 then param", "Negotiate abc, realm=\"x\"", BP_EPROTO, 0, { { 0 } } },
};
/* clang-format on */

static void check_str(const char *row, const char *field, const char *want, const char *got)
{
	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got) != 0)
		fail_msg("%s: %s: want %s%s%s, got %s%s%s", row, field, want ? "\"" : "",
			 want ? want : "NULL", want ? "\"" : "", got ? "\"" : "",
			 got ? got : "NULL", got ? "\"" : "");
}

static void test_challenge_table(void **state)
{
	size_t r, i;

	for (r = 0; r < sizeof(challenge_rows) / sizeof(challenge_rows[0]); r++) {
		const struct challenge_row *row = &challenge_rows[r];
		bp_auth_challenge *list = NULL;
		size_t n = 0;
		int rc = bp_auth__parse_challenges(row->value, &list, &n);

		if (rc != row->rc)
			fail_msg("%s: rc %d, want %d (%s)", row->name, rc, row->rc,
				 bp_error_last());
		if (rc) {
			assert_null(list);
			assert_int_equal(n, 0);
			assert_non_null(strstr(bp_error_last(), "WWW-Authenticate"));
			continue;
		}
		if (n != row->n)
			fail_msg("%s: %zu challenges, want %zu", row->name, n, row->n);
		for (i = 0; i < n; i++) {
			const struct want_challenge *w = &row->ch[i];

			check_str(row->name, "scheme", w->scheme, list[i].scheme);
			check_str(row->name, "realm", w->realm, list[i].realm);
			check_str(row->name, "service", w->service, list[i].service);
			check_str(row->name, "scope", w->scope, list[i].scope);
			check_str(row->name, "error", w->error, list[i].error);
		}
		bp_auth__challenges_free(list, n);
	}
	assert_true(sizeof(challenge_rows) / sizeof(challenge_rows[0]) >= 25);
}

/* Several headers append to one list; a bad one leaves it untouched. */
static void test_challenges_append(void **state)
{
	bp_auth_challenge *list = NULL;
	size_t n = 0;

	assert_int_equal(bp_auth__parse_challenges("Basic realm=\"a\"", &list, &n), 0);
	assert_int_equal(
		bp_auth__parse_challenges("Bearer realm=\"b\",service=\"s\", Negotiate", &list, &n),
		0);
	assert_int_equal(n, 3);
	assert_int_equal(bp_auth__parse_challenges("Bearer realm=\"c", &list, &n), BP_EPROTO);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].scheme, "basic");
	assert_string_equal(list[1].realm, "b");
	assert_string_equal(list[2].scheme, "negotiate");
	bp_auth__challenges_free(list, n);

	list = NULL;
	n = 0;
	assert_int_equal(bp_auth__parse_challenges(NULL, &list, &n), BP_EINVAL);
	bp_auth__challenges_free(NULL, 0);
}

/* Every truncation and every single-byte corruption: parsed or EPROTO. */
static void test_challenges_never_crash(void **state)
{
	static const char *seeds[] = {
		"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		"scope=\"repository:a/b:pull,push\",error=\"insufficient_scope\"",
		"Basic realm=\"a\\\"b\", Bearer realm=x, Negotiate YWJj==",
	};
	static const char subst[] = "\"\\=, \t\x01\x7f\xff"
				    "aZ9/";
	char buf[256];
	size_t s, i, k;
	uint32_t rnd = 12345;

	for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t len = strlen(seeds[s]);

		for (i = 0; i <= len; i++) {
			bp_auth_challenge *list = NULL;
			size_t n = 0;
			int rc;

			memcpy(buf, seeds[s], i);
			buf[i] = '\0';
			rc = bp_auth__parse_challenges(buf, &list, &n);
			assert_true(rc == 0 || rc == BP_EPROTO);
			bp_auth__challenges_free(list, n);

			for (k = 0; k < sizeof(subst) - 1; k++) {
				memcpy(buf, seeds[s], len + 1);
				buf[i < len ? i : 0] = subst[k];
				list = NULL;
				n = 0;
				rc = bp_auth__parse_challenges(buf, &list, &n);
				assert_true(rc == 0 || rc == BP_EPROTO);
				bp_auth__challenges_free(list, n);
			}
		}
	}
	for (i = 0; i < 20000; i++) {
		bp_auth_challenge *list = NULL;
		size_t n = 0, len;
		int rc;

		rnd = rnd * 1103515245u + 12345u;
		len = (rnd >> 16) % 40;
		for (k = 0; k < len; k++) {
			rnd = rnd * 1103515245u + 12345u;
			buf[k] = subst[(rnd >> 16) % (sizeof(subst) - 1)];
		}
		buf[len] = '\0';
		rc = bp_auth__parse_challenges(buf, &list, &n);
		assert_true(rc == 0 || rc == BP_EPROTO);
		bp_auth__challenges_free(list, n);
	}
}

struct token_row {
	const char *name;
	const char *body;
	int rc;
	const char *token;
	long expires;
	const char *refresh;
	const char *msg; /* substring of the error message */
};

/* clang-format off */
static const struct token_row token_rows[] = {
	{ "token only", "{\"token\":\"abc\"}", 0, "abc", 60, NULL, NULL },
	{ "access_token only", "{\"access_token\":\"xyz\",\"expires_in\":3600}",
	  0, "xyz", 3600, NULL, NULL },
	{ "both: access_token wins",
	  "{\"token\":\"t\",\"access_token\":\"a\",\"expires_in\":300}", 0, "a", 300,
	  NULL, NULL },
	{ "empty access_token falls back to token",
	  "{\"access_token\":\"\",\"token\":\"t\"}", 0, "t", 60, NULL, NULL },
	{ "expires_in missing", "{\"token\":\"t\",\"issued_at\":\"2024-01-01T00:00:00Z\"}",
	  0, "t", 60, NULL, NULL },
	{ "expires_in 30 clamped", "{\"token\":\"t\",\"expires_in\":30}", 0, "t", 60,
	  NULL, NULL },
	{ "expires_in 60", "{\"token\":\"t\",\"expires_in\":60}", 0, "t", 60, NULL, NULL },
	{ "expires_in 3600", "{\"token\":\"t\",\"expires_in\":3600}", 0, "t", 3600,
	  NULL, NULL },
	{ "expires_in string", "{\"token\":\"t\",\"expires_in\":\"3600\"}", 0, "t", 60,
	  NULL, NULL },
	{ "expires_in negative", "{\"token\":\"t\",\"expires_in\":-5}", 0, "t", 60,
	  NULL, NULL },
	{ "expires_in fractional", "{\"token\":\"t\",\"expires_in\":90.9}", 0, "t", 90,
	  NULL, NULL },
	{ "expires_in huge", "{\"token\":\"t\",\"expires_in\":1e300}", 0, "t", INT_MAX,
	  NULL, NULL },
	{ "refresh token",
	  "{\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":300,\"scope\":\"\"}",
	  0, "a", 300, "r", NULL },
	{ "whitespace around", " \n{\"token\":\"t\"}\r\n ", 0, "t", 60, NULL, NULL },
	{ "not JSON", "not json", BP_EPROTO, NULL, 0, NULL,
	  "token response is not JSON" },
	{ "HTML error page", "<html><body>502</body></html>", BP_EPROTO, NULL, 0, NULL,
	  "token response is not JSON" },
	{ "trailing garbage", "{\"token\":\"t\"} x", BP_EPROTO, NULL, 0, NULL,
	  "token response is not JSON" },
	{ "empty body", "", BP_EPROTO, NULL, 0, NULL, "token response is not JSON" },
	{ "array", "[{\"token\":\"t\"}]", BP_EPROTO, NULL, 0, NULL,
	  "token response is not a JSON object" },
	{ "null", "null", BP_EPROTO, NULL, 0, NULL, "token response is not a JSON object" },
	{ "no token", "{\"expires_in\":300}", BP_EPROTO, NULL, 0, NULL,
	  "token response has no token" },
	{ "token not a string", "{\"token\":5}", BP_EPROTO, NULL, 0, NULL,
	  "token response has no token" },
	{ "token empty", "{\"token\":\"\"}", BP_EPROTO, NULL, 0, NULL,
	  "token response has no token" },
	{ "token with a newline", "{\"token\":\"a\\r\\nX-Evil: 1\"}", BP_EPROTO, NULL, 0,
	  NULL, "control characters" },
};
/* clang-format on */

static void test_token_table(void **state)
{
	size_t r;

	for (r = 0; r < sizeof(token_rows) / sizeof(token_rows[0]); r++) {
		const struct token_row *row = &token_rows[r];
		size_t len = strlen(row->body);
		/* an exact-size copy without a NUL: the parser must respect len */
		char *body = malloc(len ? len : 1);
		char *token = (char *)"unset", *refresh = (char *)"unset";
		long expires = -1;
		int rc;

		assert_non_null(body);
		memcpy(body, row->body, len);
		rc = bp_auth__parse_token_response(body, len, &token, &expires, &refresh);
		free(body);
		if (rc != row->rc)
			fail_msg("%s: rc %d, want %d (%s)", row->name, rc, row->rc,
				 bp_error_last());
		if (rc) {
			assert_null(token);
			assert_null(refresh);
			if (!strstr(bp_error_last(), row->msg))
				fail_msg("%s: message \"%s\" lacks \"%s\"", row->name,
					 bp_error_last(), row->msg);
			continue;
		}
		check_str(row->name, "token", row->token, token);
		check_str(row->name, "refresh_token", row->refresh, refresh);
		if (expires != row->expires)
			fail_msg("%s: expires_in %ld, want %ld", row->name, expires, row->expires);
		free(token);
		free(refresh);
	}
}

static char *padded_response(size_t total)
{
	static const char head[] = "{\"token\":\"t\",\"pad\":\"";
	static const char tail[] = "\"}";
	char *b = malloc(total);

	assert_non_null(b);
	assert_true(total > sizeof(head) + sizeof(tail));
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'x', total - (sizeof(head) - 1) - (sizeof(tail) - 1));
	memcpy(b + total - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	return b;
}

/* 64 KiB is accepted, one byte more is not. */
static void test_token_size_cap(void **state)
{
	char *b = padded_response(BP_TOKEN_RESPONSE_MAX);
	char *token = NULL;
	long exp = 0;

	assert_int_equal(
		bp_auth__parse_token_response(b, BP_TOKEN_RESPONSE_MAX, &token, &exp, NULL), 0);
	assert_string_equal(token, "t");
	free(token);
	free(b);

	b = padded_response(BP_TOKEN_RESPONSE_MAX + 1);
	assert_int_equal(
		bp_auth__parse_token_response(b, BP_TOKEN_RESPONSE_MAX + 1, &token, &exp, NULL),
		BP_EPROTO);
	assert_null(token);
	assert_non_null(strstr(bp_error_last(), "larger than 64 KiB"));
	free(b);
}

/* expires_in and refresh_token outputs are optional. */
static void test_token_optional_outputs(void **state)
{
	static const char body[] = "{\"access_token\":\"a\",\"refresh_token\":\"r\"}";
	char *token = NULL;

	assert_int_equal(bp_auth__parse_token_response(body, sizeof(body) - 1, &token, NULL, NULL),
			 0);
	assert_string_equal(token, "a");
	free(token);
	assert_int_equal(bp_auth__parse_token_response(NULL, 0, &token, NULL, NULL), BP_EPROTO);
	assert_null(token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_table),
		cmocka_unit_test(test_challenges_append),
		cmocka_unit_test(test_challenges_never_crash),
		cmocka_unit_test(test_token_table),
		cmocka_unit_test(test_token_size_cap),
		cmocka_unit_test(test_token_optional_outputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
