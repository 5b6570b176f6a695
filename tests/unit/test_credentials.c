/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/credentials.h>

#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cred_row {
	const char *name;
	const char *config; /* config.json content; NULL: no file */
	const char *host;
	int rc;
	const char *username;
	const char *secret;
	int is_token;
	const char *msg; /* substring of the error message */
};

/* clang-format off */
static const struct cred_row cred_rows[] = {
	{ "auth base64", "{\"auths\":{\"localhost:5000\":{\"auth\":\"YWxpY2U6czNjcjN0\"}}}",
	  "localhost:5000", 0, "alice", "s3cr3t", 0, NULL },
	{ "password with a colon", "{\"auths\":{\"r.example\":{\"auth\":\"Ym9iOnBhOnNz\"}}}",
	  "r.example", 0, "bob", "pa:ss", 0, NULL },
	{ "NULs trimmed from the password", "{\"auths\":{\"r.example\":{\"auth\":\"dTpwAAA=\"}}}",
	  "r.example", 0, "u", "p", 0, NULL },
	{ "identitytoken",
	  "{\"auths\":{\"r.example\":{\"auth\":\"YWxpY2U6czNjcjN0\",\"identitytoken\":\"idtok\"}}}",
	  "r.example", 0, "<token>", "idtok", 1, NULL },
	{ "username and password fields",
	  "{\"auths\":{\"r.example\":{\"username\":\"erin\",\"password\":\"pw\"}}}",
	  "r.example", 0, "erin", "pw", 0, NULL },
	{ "identitytoken wins over password",
	  "{\"auths\":{\"r.example\":{\"username\":\"erin\",\"password\":\"pw\","
	  "\"identitytoken\":\"tok\"}}}",
	  "r.example", 0, "<token>", "tok", 1, NULL },
	{ "auth wins over username/password fields",
	  "{\"auths\":{\"r.example\":{\"username\":\"x\",\"password\":\"y\","
	  "\"auth\":\"YWxpY2U6czNjcjN0\"}}}",
	  "r.example", 0, "alice", "s3cr3t", 0, NULL },
	{ "legacy https key with /v1/",
	  "{\"auths\":{\"https://host.example:5000/v1/\":{\"auth\":\"ZGF2ZTpsZWdhY3k=\"}}}",
	  "host.example:5000", 0, "dave", "legacy", 0, NULL },
	{ "legacy http key with path",
	  "{\"auths\":{\"http://host.example/some/path\":{\"auth\":\"ZGF2ZTpsZWdhY3k=\"}}}",
	  "host.example", 0, "dave", "legacy", 0, NULL },
	{ "exact key preferred over legacy",
	  "{\"auths\":{\"https://h.example:5000/v1/\":{\"auth\":\"ZGF2ZTpsZWdhY3k=\"},"
	  "\"h.example:5000\":{\"auth\":\"YWxpY2U6czNjcjN0\"}}}",
	  "h.example:5000", 0, "alice", "s3cr3t", 0, NULL },
	{ "other port does not match",
	  "{\"auths\":{\"h.example:5000\":{\"auth\":\"YWxpY2U6czNjcjN0\"}}}",
	  "h.example", BP_ENOTFOUND, NULL, NULL, 0, "no credentials for h.example" },
	{ "docker.io uses the hub key",
	  "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"Y2Fyb2w6aHVi\"}}}",
	  "docker.io", 0, "carol", "hub", 0, NULL },
	{ "index.docker.io uses the hub key",
	  "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"Y2Fyb2w6aHVi\"}}}",
	  "index.docker.io", 0, "carol", "hub", 0, NULL },
	{ "registry-1.docker.io uses the hub key",
	  "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"Y2Fyb2w6aHVi\"}}}",
	  "registry-1.docker.io", 0, "carol", "hub", 0, NULL },
	{ "hub stored under a bare host name",
	  "{\"auths\":{\"docker.io\":{\"auth\":\"Y2Fyb2w6aHVi\"}}}",
	  "docker.io", 0, "carol", "hub", 0, NULL },
	{ "hub key is not another registry's",
	  "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"Y2Fyb2w6aHVi\"}}}",
	  "ghcr.io", BP_ENOTFOUND, NULL, NULL, 0, NULL },
	{ "credsStore placeholder",
	  "{\"auths\":{\"r.example\":{}},\"credsStore\":\"secretservice\"}",
	  "r.example", BP_ENOTFOUND, NULL, NULL, 0, NULL },
	{ "no auths", "{\"credsStore\":\"pass\"}", "r.example", BP_ENOTFOUND, NULL, NULL, 0,
	  NULL },
	{ "empty file object", "{}", "r.example", BP_ENOTFOUND, NULL, NULL, 0, NULL },
	{ "missing file", NULL, "r.example", BP_ENOTFOUND, NULL, NULL, 0, NULL },
	{ "broken JSON", "{\"auths\":{\"r.example\":{\"auth\":", "r.example", BP_EINVAL,
	  NULL, NULL, 0, "config.json is not valid JSON" },
	{ "empty file", "", "r.example", BP_ENOTFOUND, NULL, NULL, 0, NULL },
	{ "blank file", " \n\t\n", "r.example", BP_ENOTFOUND, NULL, NULL, 0, NULL },
	{ "top level array", "[]", "r.example", BP_EINVAL, NULL, NULL, 0,
	  "config.json is not a JSON object" },
	{ "auths not an object", "{\"auths\":[1]}", "r.example", BP_EINVAL, NULL, NULL, 0,
	  "config.json: auths is not a JSON object" },
	{ "entry not an object", "{\"auths\":{\"r.example\":\"x\"}}", "r.example", BP_EINVAL,
	  NULL, NULL, 0, "config.json: auths entry \"r.example\" is not a JSON object" },
	{ "empty user", "{\"auths\":{\"r.example\":{\"auth\":\"OnB3\"}}}", "r.example",
	  BP_EINVAL, NULL, NULL, 0, "config.json: auths entry \"r.example\": auth has an empty user name" },
	{ "auth without a colon", "{\"auths\":{\"r.example\":{\"auth\":\"bm9jb2xvbg==\"}}}",
	  "r.example", BP_EINVAL, NULL, NULL, 0, "auth is not base64 of user:password" },
	{ "auth not base64", "{\"auths\":{\"r.example\":{\"auth\":\"!!!\"}}}", "r.example",
	  BP_EINVAL, NULL, NULL, 0, "auth is not valid base64" },
	{ "username without password",
	  "{\"auths\":{\"r.example\":{\"username\":\"erin\"}}}", "r.example", BP_ENOTFOUND,
	  NULL, NULL, 0, NULL },
};
/* clang-format on */

static char tmpdir[] = "/tmp/bp-test-cred-XXXXXX";

static char *config_file(void)
{
	char *p = bp_aprintf("%s/config.json", tmpdir);

	assert_non_null(p);
	return p;
}

static void write_config(const char *content)
{
	char *path = config_file();
	FILE *f;

	unlink(path);
	if (content) {
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
		assert_int_equal(fclose(f), 0);
	}
	free(path);
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	return setenv("DOCKER_CONFIG", tmpdir, 1);
}

static int teardown(void **state)
{
	char *path = config_file();

	unlink(path);
	free(path);
	return rmdir(tmpdir);
}

static void test_lookup_table(void **state)
{
	char *path = config_file();
	char *source = bp_aprintf("config.json auths (%s)", path);
	size_t r;

	assert_non_null(source);
	for (r = 0; r < sizeof(cred_rows) / sizeof(cred_rows[0]); r++) {
		const struct cred_row *row = &cred_rows[r];
		bp_credentials c = BP_CREDENTIALS_INIT;
		int rc;

		write_config(row->config);
		bp_error_clear();
		rc = bp_credentials_lookup(&c, row->host);
		if (rc != row->rc)
			fail_msg("%s: rc %d, want %d (%s)", row->name, rc, row->rc,
				 bp_error_last());
		if (rc) {
			assert_null(c.username);
			assert_null(c.secret);
			assert_null(c.source);
			if (row->msg && !strstr(bp_error_last(), row->msg))
				fail_msg("%s: message \"%s\" lacks \"%s\"", row->name,
					 bp_error_last(), row->msg);
			/* an error about a file names it */
			if (rc != BP_ENOTFOUND && !strstr(bp_error_last(), path))
				fail_msg("%s: message \"%s\" does not name %s", row->name,
					 bp_error_last(), path);
			/* and never shows a secret */
			assert_null(strstr(bp_error_last(), "pw"));
			continue;
		}
		if (strcmp(c.username, row->username) || strcmp(c.secret, row->secret))
			fail_msg("%s: got %s / %s, want %s / %s", row->name, c.username, c.secret,
				 row->username, row->secret);
		assert_int_equal(bp_credentials_is_token(&c), row->is_token);
		assert_string_equal(c.source, source);
		bp_credentials_release(&c);
		assert_null(c.username);
		assert_null(c.secret);
		assert_null(c.source);
	}
	free(source);
	free(path);
}

/* Without DOCKER_CONFIG, $HOME/.docker/config.json is read. */
static void test_home_fallback(void **state)
{
	char *old_home = bp_strdup(getenv("HOME"));
	char *dockerdir = bp_aprintf("%s/.docker", tmpdir);
	char *file = bp_aprintf("%s/.docker/config.json", tmpdir);
	bp_credentials c = BP_CREDENTIALS_INIT;
	FILE *f;

	assert_non_null(dockerdir);
	assert_non_null(file);
	assert_int_equal(mkdir(dockerdir, 0700), 0);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("{\"auths\":{\"home.example\":{\"auth\":\"YWxpY2U6czNjcjN0\"}}}", f);
	assert_int_equal(fclose(f), 0);

	assert_int_equal(unsetenv("DOCKER_CONFIG"), 0);
	assert_int_equal(setenv("HOME", tmpdir, 1), 0);
	assert_int_equal(bp_credentials_lookup(&c, "home.example"), 0);
	assert_string_equal(c.username, "alice");
	assert_non_null(strstr(c.source, "/.docker/config.json)"));
	bp_credentials_release(&c);

	/* an empty DOCKER_CONFIG counts as unset */
	assert_int_equal(setenv("DOCKER_CONFIG", "", 1), 0);
	assert_int_equal(bp_credentials_lookup(&c, "home.example"), 0);
	bp_credentials_release(&c);

	assert_int_equal(setenv("DOCKER_CONFIG", tmpdir, 1), 0);
	if (old_home)
		setenv("HOME", old_home, 1);
	else
		unsetenv("HOME");
	unlink(file);
	rmdir(dockerdir);
	free(file);
	free(dockerdir);
	free(old_home);
}

static void test_server_key(void **state)
{
	static const struct {
		const char *host, *key;
	} rows[] = {
		{ "docker.io", "https://index.docker.io/v1/" },
		{ "index.docker.io", "https://index.docker.io/v1/" },
		{ "registry-1.docker.io", "https://index.docker.io/v1/" },
		{ "localhost:5000", "localhost:5000" },
		{ "gcr.io", "gcr.io" },
		{ "[::1]:5000", "[::1]:5000" },
		{ "docker.io.evil.example", "docker.io.evil.example" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *k = bp_credentials_server_key(rows[i].host);

		assert_non_null(k);
		assert_string_equal(k, rows[i].key);
		free(k);
	}
	assert_null(bp_credentials_server_key(NULL));
}

static void test_misc(void **state)
{
	bp_credentials c = BP_CREDENTIALS_INIT;

	assert_int_equal(bp_credentials_lookup(&c, ""), BP_EINVAL);
	assert_int_equal(bp_credentials_lookup(&c, NULL), BP_EINVAL);
	assert_int_equal(bp_credentials_is_token(&c), 0);
	assert_int_equal(bp_credentials_is_token(NULL), 0);
	bp_credentials_release(&c);
	bp_credentials_release(NULL);

	/* a directory where the file should be is an I/O error, not anonymous */
	{
		char *path = config_file();

		unlink(path);
		assert_int_equal(mkdir(path, 0700), 0);
		assert_int_equal(bp_credentials_lookup(&c, "r.example"), BP_EIO);
		assert_non_null(strstr(bp_error_last(), path));
		rmdir(path);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_table),
		cmocka_unit_test(test_home_fallback),
		cmocka_unit_test(test_server_key),
		cmocka_unit_test(test_misc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
