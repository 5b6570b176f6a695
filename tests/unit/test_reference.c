/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/reference.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define D "sha256:" HEX64
#define ID64 "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"

/*
 * Rows from docker's distribution/reference tests (reference_test.go,
 * normalize_test.go) and the Beam registries. A row with code 0 lists the
 * normalised pieces; a row with an error code lists a piece of the message.
 * Long inputs are built in long_rows below.
 */
struct row {
	const char *input;
	int code;
	const char *domain; /* or, for errors, a substring of the message */
	const char *path;
	const char *tag;
	const char *digest;
	const char *string;
};

#define OK(in, dom, path, tag, dig, str)        \
	{                                       \
		in, 0, dom, path, tag, dig, str \
	}
#define BAD(in, code, msg)                            \
	{                                             \
		in, code, msg, NULL, NULL, NULL, NULL \
	}

static const struct row rows[] = {
	/* Docker Hub and its normalisation */
	OK("python", "docker.io", "library/python", "latest", NULL,
	   "docker.io/library/python:latest"),
	OK("library/python:3", "docker.io", "library/python", "3", NULL,
	   "docker.io/library/python:3"),
	OK("docker.io/python", "docker.io", "library/python", "latest", NULL,
	   "docker.io/library/python:latest"),
	OK("index.docker.io/python", "docker.io", "library/python", "latest", NULL,
	   "docker.io/library/python:latest"),
	OK("index.docker.io/beam/python:2.3.0", "docker.io", "beam/python", "2.3.0", NULL,
	   "docker.io/beam/python:2.3.0"),
	OK("docker.io/library/debian", "docker.io", "library/debian", "latest", NULL,
	   "docker.io/library/debian:latest"),
	OK("docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", NULL,
	   "docker.io/library/foo/bar:latest"),
	OK("foo/bar", "docker.io", "foo/bar", "latest", NULL, "docker.io/foo/bar:latest"),
	OK("a/b/c/d/e", "docker.io", "a/b/c/d/e", "latest", NULL, "docker.io/a/b/c/d/e:latest"),
	OK("test_com", "docker.io", "library/test_com", "latest", NULL,
	   "docker.io/library/test_com:latest"),
	OK("test_com/foo", "docker.io", "test_com/foo", "latest", NULL,
	   "docker.io/test_com/foo:latest"),
	/* no '/': the whole thing is a Hub name, ':' starts a tag */
	OK("test.com:tag", "docker.io", "library/test.com", "tag", NULL,
	   "docker.io/library/test.com:tag"),
	OK("test.com:5000", "docker.io", "library/test.com", "5000", NULL,
	   "docker.io/library/test.com:5000"),
	OK("localhost:5000", "docker.io", "library/localhost", "5000", NULL,
	   "docker.io/library/localhost:5000"),
	OK("192.168.1.1", "docker.io", "library/192.168.1.1", "latest", NULL,
	   "docker.io/library/192.168.1.1:latest"),
	OK("lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", NULL,
	   "docker.io/library/lowercase:Uppercase"),
	/* separators */
	OK("dock__er/docker", "docker.io", "dock__er/docker", "latest", NULL,
	   "docker.io/dock__er/docker:latest"),
	OK("docker---rules/docker", "docker.io", "docker---rules/docker", "latest", NULL,
	   "docker.io/docker---rules/docker:latest"),
	OK("beam/py.th_on--sdk__x", "docker.io", "beam/py.th_on--sdk__x", "latest", NULL,
	   "docker.io/beam/py.th_on--sdk__x:latest"),
	OK("d/docker", "docker.io", "d/docker", "latest", NULL, "docker.io/d/docker:latest"),
	OK("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
	   "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest",
	   NULL,
	   "docker.io/library/"
	   "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest"),
	/* a 64-hex path is fine when it is not the whole input */
	OK("docker.io/" ID64, "docker.io", "library/" ID64, "latest", NULL,
	   "docker.io/library/" ID64 ":latest"),
	OK(ID64 ":v1", "docker.io", "library/" ID64, "v1", NULL, "docker.io/library/" ID64 ":v1"),
	/* domains */
	OK("localhost/foo", "localhost", "foo", "latest", NULL, "localhost/foo:latest"),
	OK("localhost:5000/foo:bar", "localhost:5000", "foo", "bar", NULL,
	   "localhost:5000/foo:bar"),
	OK("127.0.0.1:5000/beam/python:latest", "127.0.0.1:5000", "beam/python", "latest", NULL,
	   "127.0.0.1:5000/beam/python:latest"),
	OK("127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian", "latest", NULL,
	   "127.0.0.1:5000/library/debian:latest"),
	OK("192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", NULL,
	   "192.168.1.1:5000/repo:5050"),
	OK("[::1]:5000/beam/python", "[::1]:5000", "beam/python", "latest", NULL,
	   "[::1]:5000/beam/python:latest"),
	OK("[2001:db8::1]/a", "[2001:db8::1]", "a", "latest", NULL, "[2001:db8::1]/a:latest"),
	OK("[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", "latest", NULL,
	   "[2001:db8::]:5000/repo:latest"),
	OK("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", NULL,
	   "[2001:db8:1:2:3:4:5:6]/repo:tag"),
	OK("[2001:db8::1]:5000/repo:tag@" D, "[2001:db8::1]:5000", "repo", "tag", D,
	   "[2001:db8::1]:5000/repo:tag@" D),
	OK("Foo.com/x", "Foo.com", "x", "latest", NULL, "Foo.com/x:latest"),
	OK("Foo/bar", "Foo", "bar", "latest", NULL, "Foo/bar:latest"),
	OK("FOO/bar", "FOO", "bar", "latest", NULL, "FOO/bar:latest"),
	OK("test:5000/repo", "test:5000", "repo", "latest", NULL, "test:5000/repo:latest"),
	OK("test-com:8080/foo", "test-com:8080", "foo", "latest", NULL, "test-com:8080/foo:latest"),
	OK("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux",
	   "some-long-tag", NULL, "sub-dom1.foo.com/bar/baz/quux:some-long-tag"),
	OK("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io",
	   "test.example.com/my-app", "test.example.com", NULL,
	   "b.gcr.io/test.example.com/my-app:test.example.com"),
	OK("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", NULL,
	   "xn--n3h.com/myimage:xn--n3h.com"),
	OK("me-docker-apache.bintray.io/beam/python:latest", "me-docker-apache.bintray.io",
	   "beam/python", "latest", NULL, "me-docker-apache.bintray.io/beam/python:latest"),
	OK("gcr.io/p/beam/java:2.3.0", "gcr.io", "p/beam/java", "2.3.0", NULL,
	   "gcr.io/p/beam/java:2.3.0"),
	OK("example.com:99999/x", "example.com:99999", "x", "latest", NULL,
	   "example.com:99999/x:latest"),
	/* tags and digests */
	OK("python@" D, "docker.io", "library/python", NULL, D, "docker.io/library/python@" D),
	OK("python:3.11@" D, "docker.io", "library/python", "3.11", D,
	   "docker.io/library/python:3.11@" D),
	OK("test:5000/repo@" D, "test:5000", "repo", NULL, D, "test:5000/repo@" D),
	OK("a:_tag", "docker.io", "library/a", "_tag", NULL, "docker.io/library/a:_tag"),
	OK("a:T.a-g_9", "docker.io", "library/a", "T.a-g_9", NULL, "docker.io/library/a:T.a-g_9"),

	/* empty and missing pieces */
	BAD("", BP_EINVAL, "invalid reference: empty string"),
	BAD(":tag", BP_EINVAL, "no repository name before ':'"),
	BAD(":justtag", BP_EINVAL, "no repository name before ':'"),
	BAD("@" D, BP_EINVAL, "no repository name before '@'"),
	BAD("a:", BP_EINVAL, "nothing after ':'"),
	BAD("a@", BP_EINVAL, "nothing after '@'"),
	BAD("a:@" D, BP_EINVAL, "nothing after ':'"),
	BAD(ID64, BP_EINVAL, "is an image ID, not a repository name"),
	/* case */
	BAD("Uppercase:tag", BP_EINVAL, "repository name must be lowercase"),
	BAD("docker/Docker", BP_EINVAL, "repository name must be lowercase"),
	BAD("docker.io/docker/Docker", BP_EINVAL, "repository name must be lowercase"),
	BAD("test:5000/Uppercase/lowercase:tag", BP_EINVAL, "repository name must be lowercase"),
	BAD("a/B", BP_EINVAL, "repository name must be lowercase"),
	/* digests: the code of bp_digest_validate passes through */
	BAD("repo@sha256:ffffffffffffffffffffffffffffffffff", BP_EINVAL,
	    "sha256 needs 64 hex digits"),
	BAD("repo@sha256:"
	    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
	    BP_EINVAL, "lowercase hex"),
	BAD("repo@notadigest", BP_EINVAL, "invalid digest"),
	BAD("python:latest@sha256:abc", BP_EINVAL, "invalid digest"),
	BAD("validname@invaliddigest:" HEX64, BP_EUNSUPPORTED, "unsupported digest algorithm"),
	BAD("repo@sha512:" HEX64 HEX64, BP_EUNSUPPORTED, "\"sha512\""),
	/* tags */
	BAD("a:-tag", BP_EINVAL, "must start with a letter, digit or '_'"),
	BAD("a:.tag", BP_EINVAL, "must start with a letter, digit or '_'"),
	BAD("a:ta+g", BP_EINVAL, "invalid character '+' in tag"),
	BAD("a:b:c", BP_EINVAL, "invalid character ':' in tag"),
	BAD("localhost:5000:tag", BP_EINVAL, "invalid character ':' in tag"),
	/* path components */
	BAD("a//b", BP_EINVAL, "empty path component (double slash)"),
	BAD("docker///docker", BP_EINVAL, "double slash"),
	BAD("docker.io/docker///docker", BP_EINVAL, "double slash"),
	BAD("/docker", BP_EINVAL, "starts with '/'"),
	BAD("docker/", BP_EINVAL, "ends with '/'"),
	BAD("a/:tag", BP_EINVAL, "ends with '/'"),
	BAD("-a", BP_EINVAL, "must start with a lowercase letter or digit"),
	BAD("-docker", BP_EINVAL, "must start with a lowercase letter or digit"),
	BAD("-docker/docker", BP_EINVAL, "must start with a lowercase letter or digit"),
	BAD("a-", BP_EINVAL, "must end with a lowercase letter or digit"),
	BAD("docker-/docker", BP_EINVAL, "must end with a lowercase letter or digit"),
	BAD("-docker-/docker", BP_EINVAL, "must start"),
	BAD("_docker/_docker", BP_EINVAL, "must start"),
	BAD("____/____", BP_EINVAL, "must start"),
	BAD("docker/dock..er", BP_EINVAL, "separator \"..\" not allowed"),
	BAD("docker/dock_.er", BP_EINVAL, "separator \"_.\" not allowed"),
	BAD("docker/dock-.er", BP_EINVAL, "separator \"-.\" not allowed"),
	/* a '.' makes the first component a domain, as in docker */
	BAD("dock..er/docker", BP_EINVAL, "domain \"dock..er\": empty label"),
	BAD("dock-.er/docker", BP_EINVAL, "a label cannot start or end with '-'"),
	BAD("dock___er/docker", BP_EINVAL, "separator \"___\" not allowed"),
	BAD("aa/asdf$$^/aa", BP_EINVAL, "invalid character '$' in path component \"asdf$$^\""),
	BAD("a/b:c/d", BP_EINVAL, "invalid character ':' in path component \"b:c\""),
	BAD("[abc]/x", BP_EINVAL, "invalid character '['"),
	/* domains */
	BAD("[::1/a", BP_EINVAL, "no closing ']'"),
	BAD("[]:5/a", BP_EINVAL, "empty IPv6 address"),
	BAD("host:port:x/y", BP_EINVAL, "port \"port:x\" is not a number"),
	BAD("localhost:/foo", BP_EINVAL, "empty port after ':'"),
	BAD("fc00::1:5000/debian", BP_EINVAL, "is not a number"),
	BAD("[fe80::1%eth0]:5000/repo", BP_EINVAL, "invalid character '%' in IPv6 address"),
	BAD("[fe80::1%@invalidzone]:5000/repo", BP_EINVAL, "invalid digest"),
	BAD("[2001:db8:3:4::192.0.2.33]:5000/debian", BP_EINVAL,
	    "invalid character '.' in IPv6 address"),
	BAD("[2001:db8::1]", BP_EINVAL, "needs a repository path"),
	BAD("[2001:db8::1]:5000", BP_EINVAL, "needs a repository path"),
	BAD("[2001:db8::1]:tag", BP_EINVAL, "needs a repository path"),
	BAD("-docker.io/docker/docker", BP_EINVAL, "a label cannot start or end with '-'"),
	BAD("foo_bar.com/x", BP_EINVAL, "domain \"foo_bar.com\": invalid character '_'"),
	BAD("foo..com/x", BP_EINVAL, "empty label"),
	BAD("https://github.com/docker/docker", BP_EINVAL, "drop \"https://\""),
	/* bytes that are never part of a reference */
	BAD("py thon", BP_EINVAL, "whitespace at offset 2"),
	BAD(" python", BP_EINVAL, "whitespace at offset 0"),
	BAD("python\n", BP_EINVAL, "whitespace at offset 6"),
	BAD("pyth\x01on", BP_EINVAL, "byte 0x01 at offset 4"),
	BAD("caf\xc3\xa9", BP_EINVAL, "byte 0xc3 at offset 3 is not printable ASCII"),
};

static int check_row(const struct row *w, const char *input, size_t i)
{
	bp_reference *r = NULL;
	int code;

	bp_error_clear();
	code = bp_reference_parse(&r, input);
	if (code != w->code) {
		print_error("row %zu \"%.80s\": got %d (%s), want %d\n", i, input, code,
			    bp_error_last(), w->code);
		bp_reference_free(r);
		return 1;
	}
	if (code < 0) {
		int bad = r != NULL || bp_error_last_code() != code ||
			  (w->domain && !strstr(bp_error_last(), w->domain));

		if (bad)
			print_error("row %zu \"%.80s\": message \"%s\" lacks \"%s\"\n", i, input,
				    bp_error_last(), w->domain);
		bp_reference_free(r);
		return bad;
	}
#define SAME(a, b) ((a) == NULL ? (b) == NULL : (b) != NULL && strcmp((a), (b)) == 0)
	if (!SAME(w->domain, bp_reference_domain(r)) || !SAME(w->path, bp_reference_path(r)) ||
	    !SAME(w->tag, bp_reference_tag(r)) || !SAME(w->digest, bp_reference_digest(r)) ||
	    !SAME(w->string, bp_reference_string(r))) {
		print_error("row %zu \"%s\": got %s | %s | %s | %s | %s\n", i, input,
			    bp_reference_domain(r), bp_reference_path(r),
			    bp_reference_tag(r) ? bp_reference_tag(r) : "(null)",
			    bp_reference_digest(r) ? bp_reference_digest(r) : "(null)",
			    bp_reference_string(r));
		bp_reference_free(r);
		return 1;
	}
#undef SAME
	{
		/* name is domain/path, and the normal form parses to itself */
		char name[512];
		bp_reference *again = NULL;
		int bad;

		snprintf(name, sizeof(name), "%s/%s", w->domain, w->path);
		bad = strcmp(name, bp_reference_name(r)) != 0 ||
		      bp_reference_parse(&again, bp_reference_string(r)) != 0 ||
		      strcmp(bp_reference_string(again), bp_reference_string(r)) != 0;
		if (bad)
			print_error("row %zu \"%s\": name or reparse differs\n", i, input);
		bp_reference_free(again);
		bp_reference_free(r);
		return bad;
	}
}

static void test_reference_table(void **state)
{
	size_t i;
	int failed = 0;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		failed += check_row(&rows[i], rows[i].input, i);
	print_message("# %zu reference rows\n", sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(failed, 0);
}

static char *repeat(const char *unit, size_t times, const char *suffix)
{
	size_t u = strlen(unit), s = strlen(suffix), i;
	char *p = malloc(u * times + s + 1);

	assert_non_null(p);
	for (i = 0; i < times; i++)
		memcpy(p + i * u, unit, u);
	memcpy(p + u * times, suffix, s + 1);
	return p;
}

/* Length limits: the name (domain/path, normalised) and the tag. */
static void test_length_limits(void **state)
{
	struct {
		const char *unit, *prefix_suffix;
		size_t times;
		int code;
		const char *msg;
	} rows_len[] = {
		/* localhost/ + 245 = 255 */
		{ "a", "", 245, 0, NULL },
		{ "a", "", 246, BP_EINVAL, "repository name longer than 255 characters" },
		/* docker.io/library/ (18) is counted: 237 + 18 = 255 */
		{ "b", "", 237, 0, NULL },
		{ "b", "", 238, BP_EINVAL, "repository name longer than 255 characters" },
		/* reference_test.go: "a/" x 128 + "a:tag" */
		{ "a/", "a:tag", 128, BP_EINVAL, "repository name longer than 255 characters" },
		/* tags: 128 fine, 129 too long */
		{ "t", "", 128, 0, NULL },
		{ "t", "", 129, BP_EINVAL, "tag longer than 128 characters" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows_len) / sizeof(rows_len[0]); i++) {
		char *body = repeat(rows_len[i].unit, rows_len[i].times, rows_len[i].prefix_suffix);
		char *input = malloc(strlen(body) + 16);
		bp_reference *r = NULL;
		int code;

		assert_non_null(input);
		if (i < 2)
			snprintf(input, strlen(body) + 16, "localhost/%s", body);
		else if (i >= 5)
			snprintf(input, strlen(body) + 16, "a:%s", body);
		else
			snprintf(input, strlen(body) + 16, "%s", body);
		code = bp_reference_parse(&r, input);
		if (code != rows_len[i].code)
			fail_msg("length row %zu: got %d (%s), want %d", i, code, bp_error_last(),
				 rows_len[i].code);
		if (code == 0 && i < 4)
			assert_int_equal(strlen(bp_reference_name(r)), 255);
		if (rows_len[i].msg)
			assert_non_null(strstr(bp_error_last(), rows_len[i].msg));
		bp_reference_free(r);
		free(input);
		free(body);
	}
}

/* The message names the input and exactly what is wrong. */
static void test_message_format(void **state)
{
	bp_reference *r = NULL;
	char *tag = repeat("x", 129, "");
	char input[256], want[512];

	snprintf(input, sizeof(input), "a:%s", tag);
	assert_int_equal(bp_reference_parse(&r, input), BP_EINVAL);
	snprintf(want, sizeof(want), "invalid reference \"%s\": tag longer than 128 characters",
		 input);
	assert_string_equal(bp_error_last(), want);
	assert_null(r);
	free(tag);

	assert_int_equal(bp_reference_parse(&r, "docker/Docker"), BP_EINVAL);
	assert_string_equal(
		bp_error_last(),
		"invalid reference \"docker/Docker\": repository name must be lowercase");
	assert_int_equal(bp_reference_parse(&r, "a//b"), BP_EINVAL);
	assert_string_equal(bp_error_last(),
			    "invalid reference \"a//b\": empty path component (double slash)");
	assert_int_equal(bp_reference_parse(&r, "repo@sha256:abc"), BP_EINVAL);
	assert_string_equal(bp_error_last(),
			    "invalid reference \"repo@sha256:abc\": invalid digest \"sha256:abc\": "
			    "sha256 needs 64 hex digits, got 3");
	assert_int_equal(bp_reference_parse(&r, NULL), BP_EINVAL);

	/* a very long input is cut in the message so the reason survives */
	{
		char *longin = repeat("a/", 400, "");

		assert_int_equal(bp_reference_parse(&r, longin), BP_EINVAL);
		assert_non_null(strstr(bp_error_last(), "...\": repository name ends with '/'"));
		free(longin);
	}
}

static void test_object_and_default_tag(void **state)
{
	bp_reference *r;
	char *pinned;

	/* neither: latest */
	assert_int_equal(bp_reference_parse(&r, "beam/python"), 0);
	assert_string_equal(bp_reference_tag(r), "latest");
	assert_string_equal(bp_reference_object(r), "latest");
	assert_null(bp_reference_digest(r));
	pinned = bp_reference_pinned(r, D);
	assert_string_equal(pinned, "docker.io/beam/python@" D);
	free(pinned);
	assert_null(bp_reference_pinned(r, NULL));
	bp_reference_free(r);

	/* digest only: no default tag */
	assert_int_equal(bp_reference_parse(&r, "beam/python@" D), 0);
	assert_null(bp_reference_tag(r));
	assert_string_equal(bp_reference_object(r), D);
	pinned = bp_reference_pinned(r, NULL);
	assert_string_equal(pinned, "docker.io/beam/python@" D);
	free(pinned);
	bp_reference_free(r);

	/* both: the digest pins what is fetched */
	assert_int_equal(bp_reference_parse(&r, "localhost:5000/beam/python:2.3.0@" D), 0);
	assert_string_equal(bp_reference_tag(r), "2.3.0");
	assert_string_equal(bp_reference_object(r), D);
	assert_string_equal(bp_reference_name(r), "localhost:5000/beam/python");
	bp_reference_free(r);

	bp_reference_free(NULL);
}

static const struct {
	const char *input;
	int code;
	const char *want; /* name, or a piece of the message */
} repo_rows[] = {
	{ "python", 0, "docker.io/library/python" },
	{ "beam/python", 0, "docker.io/beam/python" },
	{ "index.docker.io/beam/python", 0, "docker.io/beam/python" },
	{ "localhost:5000/beam/python", 0, "localhost:5000/beam/python" },
	{ "[::1]:5000/beam/python", 0, "[::1]:5000/beam/python" },
	{ "beam/python:latest", BP_EINVAL,
	  "invalid repository \"beam/python:latest\": a repository takes no tag" },
	{ "beam/python@" D, BP_EINVAL, "a repository takes no digest" },
	{ "localhost:5000", BP_EINVAL, "a repository takes no tag" },
	{ "", BP_EINVAL, "invalid repository: empty string" },
	{ "Beam/Python", BP_EINVAL, "must be lowercase" },
};

static void test_parse_repository(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(repo_rows) / sizeof(repo_rows[0]); i++) {
		bp_reference *r = NULL;
		int code = bp_reference_parse_repository(&r, repo_rows[i].input);

		if (code != repo_rows[i].code)
			fail_msg("repo row %zu \"%s\": got %d (%s)", i, repo_rows[i].input, code,
				 bp_error_last());
		if (code == 0) {
			assert_string_equal(bp_reference_name(r), repo_rows[i].want);
			assert_string_equal(bp_reference_string(r), repo_rows[i].want);
			assert_null(bp_reference_tag(r));
			assert_null(bp_reference_digest(r));
			assert_null(bp_reference_object(r));
		} else if (!strstr(bp_error_last(), repo_rows[i].want)) {
			fail_msg("repo row %zu: \"%s\" lacks \"%s\"", i, bp_error_last(),
				 repo_rows[i].want);
		}
		bp_reference_free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_table),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_message_format),
		cmocka_unit_test(test_object_and_default_tag),
		cmocka_unit_test(test_parse_repository),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
