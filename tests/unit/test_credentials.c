/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/credentials.h>

#include "credhelper.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
	  "{\"auths\":{\"r.example\":{}},\"credsStore\":\"bp-none\"}",
	  "r.example", BP_ENOTFOUND, NULL, NULL, 0, "skipped: docker-credential-bp-none is not in PATH" },
	{ "no auths", "{\"credsStore\":\"bp-none\"}", "r.example", BP_ENOTFOUND, NULL, NULL, 0,
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

/* path under tmpdir; new string */
static char *tpath(const char *rel)
{
	char *p = bp_aprintf("%s/%s", tmpdir, rel);

	assert_non_null(p);
	return p;
}

/* Write content to tmpdir/rel with mode (NULL content: remove it). */
static void put_file(const char *rel, const char *content, mode_t mode)
{
	char *path = tpath(rel);
	FILE *f;

	unlink(path);
	if (content) {
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
		assert_int_equal(fclose(f), 0);
		assert_int_equal(chmod(path, mode), 0);
	}
	free(path);
}

/* The content of tmpdir/rel (or an absolute path); NULL when absent. */
static char *get_file(const char *rel)
{
	char *path = rel[0] == '/' ? bp_strdup(rel) : tpath(rel);
	char *buf = NULL;
	long n;
	FILE *f = fopen(path, "r");

	free(path);
	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/*
 * Test credential helpers, first in PATH. bpfile keeps one JSON file per
 * server in $BP_TEST_HELPER_STATE and logs "ACTION SERVER" lines there.
 */
/* clang-format off */
static const struct {
	const char *name;
	const char *script;
	mode_t mode;
} helpers[] = {
	{ "bpfile",
	  "#!/bin/sh\n"
	  "state=${BP_TEST_HELPER_STATE:?}\n"
	  "input=$(cat)\n"
	  "case $1 in\n"
	  "store) server=$(printf '%s' \"$input\" | sed -n 's/.*\"ServerURL\":\"\\([^\"]*\\)\".*/\\1/p') ;;\n"
	  "list) server= ;;\n"
	  "*) server=$input ;;\n"
	  "esac\n"
	  "echo \"$1 $server\" >>\"$state/log\"\n"
	  "f=$state/$(printf '%s' \"$server\" | tr '/:' '__').json\n"
	  "case $1 in\n"
	  "get) if [ -f \"$f\" ]; then cat \"$f\"; exit 0; fi ;;\n"
	  "store) printf '%s' \"$input\" >\"$f\"; exit 0 ;;\n"
	  "erase) if [ -f \"$f\" ]; then rm -f \"$f\"; exit 0; fi ;;\n"
	  "list) echo '{}'; exit 0 ;;\n"
	  "*) echo \"unknown action $1\"; exit 1 ;;\n"
	  "esac\n"
	  "echo 'credentials not found in native keychain'\n"
	  "exit 1\n",
	  0755 },
	{ "bpcrash", "#!/bin/sh\ncat >/dev/null\necho 'about to crash' >&2\nkill -SEGV $$\n", 0755 },
	{ "bpgarbage", "#!/bin/sh\ncat >/dev/null\necho 'this is not json'\n", 0755 },
	{ "bpfail",
	  "#!/bin/sh\ncat >/dev/null\necho 'no way: backend unreachable'\n"
	  "echo 'details on stderr' >&2\nexit 3\n",
	  0755 },
	{ "bpfail2", "#!/bin/sh\ncat >/dev/null\necho 'stderr says why' >&2\nexit 2\n", 0755 },
	{ "bpbig", "#!/bin/sh\ncat >/dev/null\nhead -c 100000 /dev/zero | tr '\\0' a\n", 0755 },
	{ "bpempty",
	  "#!/bin/sh\ncat >/dev/null\necho '{\"ServerURL\":\"x\",\"Username\":\"\",\"Secret\":\"\"}'\n",
	  0755 },
	{ "bphalf", "#!/bin/sh\ncat >/dev/null\necho '{\"Username\":\"u\",\"Secret\":\"\"}'\n",
	  0755 },
	{ "bpnoread", "#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n", 0755 },
	{ "bphang", "#!/bin/sh\nexec sleep 30\n", 0755 },
	{ "bpnoexec", "#!/bin/sh\necho '{}'\n", 0644 },
};

/* What bpfile holds when a test starts. */
static const struct {
	const char *file, *json;
} helper_seed[] = {
	{ "reg.example.json",
	  "{\"ServerURL\":\"reg.example\",\"Username\":\"helperuser\",\"Secret\":\"helper pw\"}" },
	{ "https___index.docker.io_v1_.json",
	  "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"hubuser\",\"Secret\":"
	  "\"hubpw\"}" },
	{ "docker.io.json",
	  "{\"ServerURL\":\"docker.io\",\"Username\":\"barehub\",\"Secret\":\"barehubpw\"}" },
	{ "tok.example.json", "{\"ServerURL\":\"tok.example\",\"Username\":\"<token>\",\"Secret\":\"idtok\"}" },
};

/* clang-format on */

/* Empty the helper's log and put its seed back. */
static void reset_helper(void)
{
	char *rel;
	size_t i;

	put_file("state/log", "", 0600);
	for (i = 0; i < sizeof(helper_seed) / sizeof(helper_seed[0]); i++) {
		rel = bp_aprintf("state/%s", helper_seed[i].file);
		assert_non_null(rel);
		put_file(rel, helper_seed[i].json, 0600);
		free(rel);
	}
}

static int setup(void **state)
{
	static const char *const dirs[] = { "bin", "state",	    "run", "run/containers",
					    "cfg", "cfg/containers" };
	char *p, *path;
	size_t i;

	if (!mkdtemp(tmpdir))
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		p = bp_aprintf("%s/%s", tmpdir, dirs[i]);
		if (!p || mkdir(p, 0700) < 0)
			return -1;
		free(p);
	}
	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		p = bp_aprintf("bin/docker-credential-%s", helpers[i].name);
		put_file(p, helpers[i].script, helpers[i].mode);
		free(p);
	}
	p = bp_aprintf("%s/bin:%s", tmpdir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	path = bp_aprintf("%s/state", tmpdir);
	if (!p || !path || setenv("PATH", p, 1) || setenv("BP_TEST_HELPER_STATE", path, 1))
		return -1;
	free(p);
	free(path);
	/* never the user's keyring or auth files: no session bus, runtime dirs in tmpdir */
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	unsetenv("REGISTRY_AUTH_FILE");
	p = bp_aprintf("%s/run", tmpdir);
	path = bp_aprintf("%s/cfg", tmpdir);
	if (!p || !path || setenv("XDG_RUNTIME_DIR", p, 1) || setenv("XDG_CONFIG_HOME", path, 1))
		return -1;
	free(p);
	free(path);
	return setenv("DOCKER_CONFIG", tmpdir, 1);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Whether msg holds secret outside the mentions of path it makes. */
static int shows_secret(const char *msg, const char *path, const char *secret)
{
	char buf[2048];
	char *p;
	size_t n = strlen(path);

	snprintf(buf, sizeof(buf), "%s", msg);
	while (n && (p = strstr(buf, path)))
		memset(p, '/', n);
	return strstr(buf, secret) != NULL;
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
			/* and never shows a secret (the random temporary path may hold "pw") */
			assert_false(shows_secret(bp_error_last(), path, "pw"));
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

static void test_normalize_server(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *out; /* or a substring of the message */
	} rows[] = {
		{ "reg.example", 0, "reg.example" },
		{ "https://reg.example:5000/v1/", 0, "reg.example:5000" },
		{ "http://Reg.Example/some/path", 0, "reg.example" },
		{ "HTTPS://REG.EXAMPLE", 0, "reg.example" },
		{ "reg.example/", 0, "reg.example" },
		{ "my-reg.example:443", 0, "my-reg.example:443" },
		{ "localhost:5000", 0, "localhost:5000" },
		{ "localhost", 0, "localhost" },
		{ "127.0.0.1:5000", 0, "127.0.0.1:5000" },
		{ "[::1]:5000", 0, "[::1]:5000" },
		{ "[FE80::1]", 0, "[fe80::1]" },
		{ "http://[::1]:5000/v2/", 0, "[::1]:5000" },
		{ "xn--bcher-kva.example", 0, "xn--bcher-kva.example" },
		{ "docker.io", 0, "docker.io" },
		{ "Docker.IO", 0, "docker.io" },
		{ "index.docker.io", 0, "docker.io" },
		{ "registry-1.docker.io", 0, "docker.io" },
		{ "https://index.docker.io/v1/", 0, "docker.io" },
		{ "docker.io:5000", 0, "docker.io:5000" },
		{ "", BP_EINVAL, "no registry server given" },
		{ NULL, BP_EINVAL, "no registry server given" },
		{ "https://", BP_EINVAL, "no host name" },
		{ "https:///v1/", BP_EINVAL, "no host name" },
		{ "/v1/", BP_EINVAL, "no host name" },
		{ ":5000", BP_EINVAL, "no host name" },
		{ "reg.example:", BP_EINVAL, "the port must be a number from 1 to 65535" },
		{ "reg.example:0", BP_EINVAL, "the port must be" },
		{ "reg.example:65536", BP_EINVAL, "the port must be" },
		{ "reg.example:000443", BP_EINVAL, "the port must be" },
		{ "reg.example:50a", BP_EINVAL, "the port must be" },
		{ "reg.example:5000:6000", BP_EINVAL, "the port must be" },
		{ "ftp://reg.example", BP_EINVAL, "the port must be" },
		{ "-reg.example", BP_EINVAL, "not a valid host name" },
		{ "reg-.example", BP_EINVAL, "not a valid host name" },
		{ "reg..example", BP_EINVAL, "not a valid host name" },
		{ "reg.example.", BP_EINVAL, "not a valid host name" },
		{ "reg example", BP_EINVAL, "not a valid host name" },
		{ "reg_example", BP_EINVAL, "not a valid host name" },
		{ " reg.example", BP_EINVAL, "not a valid host name" },
		{ "reg.example?x=1", BP_EINVAL, "not a valid host name" },
		{ "[::1", BP_EINVAL, "not an IPv6 address" },
		{ "[]", BP_EINVAL, "not an IPv6 address" },
		{ "[zz::1]", BP_EINVAL, "not an IPv6 address" },
		{ "[127.0.0.1]", BP_EINVAL, "not an IPv6 address" },
		{ "[::1]x", BP_EINVAL, "unexpected text after the IPv6 address" },
		{ "[::1]:", BP_EINVAL, "the port must be" },
		/* never echoed: it holds a password */
		{ "alice:s3cr3t@reg.example", BP_EINVAL, "cannot hold a user name or password" },
		{ "https://alice:s3cr3t@reg.example/", BP_EINVAL, "cannot hold a user name" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *out = (char *)"untouched";
		int rc;

		bp_error_clear();
		rc = bp_credentials_normalize_server(rows[i].in, &out);
		if (rc != rows[i].rc)
			fail_msg("\"%s\": rc %d, want %d (%s)", rows[i].in, rc, rows[i].rc,
				 bp_error_last());
		if (rc) {
			assert_null(out);
			if (!strstr(bp_error_last(), rows[i].out))
				fail_msg("\"%s\": message \"%s\" lacks \"%s\"", rows[i].in,
					 bp_error_last(), rows[i].out);
			assert_null(strstr(bp_error_last(), "s3cr3t"));
			continue;
		}
		if (strcmp(out, rows[i].out))
			fail_msg("\"%s\": got \"%s\", want \"%s\"", rows[i].in, out, rows[i].out);
		free(out);
	}
	assert_int_equal(bp_credentials_normalize_server("x", NULL), BP_EINVAL);
}

static void test_helper_names(void **state)
{
	static const struct {
		const char *name;
		int ok;
	} rows[] = {
		{ "pass", 1 },	      { "secretservice", 1 }, { "ecr-login", 1 },
		{ "desktop.exe", 1 }, { "a_b", 1 },	      { "", 0 },
		{ "../bin/sh", 0 },   { "a/b", 0 },	      { "/bin/sh", 0 },
		{ "a b", 0 },	      { "x;rm", 0 },	      { "$(id)", 0 },
		{ "t\n", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (bp_credhelper__valid_name(rows[i].name) != rows[i].ok)
			fail_msg("\"%s\": want %d", rows[i].name, rows[i].ok);
	assert_int_equal(bp_credhelper__valid_name(NULL), 0);
}

/* One lookup over every source but the keyring (no session bus here). */
struct src_row {
	const char *name;
	const char *config;   /* config.json; NULL: none */
	const char *runtime;  /* $XDG_RUNTIME_DIR/containers/auth.json */
	const char *confhome; /* $XDG_CONFIG_HOME/containers/auth.json */
	const char *authfile; /* $REGISTRY_AUTH_FILE's content; NULL: unset */
	const char *host;
	int rc;
	const char *username;
	const char *secret;
	const char *source; /* substring of the source, or of the message */
	const char *log;    /* the helper's log, exactly; NULL: not checked */
};

#define ALICE "{\"auth\":\"YWxpY2U6czNjcjN0\"}" /* alice:s3cr3t */
#define BOB "{\"auth\":\"Ym9iOmJvYnB3\"}"	/* bob:bobpw */

/* clang-format off */
static const struct src_row src_rows[] = {
	/* docker's credential helpers */
	{ "credHelpers for the host", "{\"credHelpers\":{\"reg.example\":\"bpfile\"}}", NULL, NULL,
	  NULL, "reg.example", 0, "helperuser", "helper pw",
	  "docker-credential-bpfile (credHelpers in ", "get reg.example\n" },
	{ "credHelpers by a legacy key", "{\"credHelpers\":{\"https://reg.example/v1/\":\"bpfile\"}}",
	  NULL, NULL, NULL, "reg.example", 0, "helperuser", "helper pw", "credHelpers in ",
	  "get reg.example\n" },
	{ "credHelpers for Docker Hub get the hub key",
	  "{\"credHelpers\":{\"https://index.docker.io/v1/\":\"bpfile\"}}", NULL, NULL, NULL,
	  "docker.io", 0, "hubuser", "hubpw", "credHelpers", "get https://index.docker.io/v1/\n" },
	{ "credHelpers docker.io entry, still the hub key",
	  "{\"credHelpers\":{\"docker.io\":\"bpfile\"}}", NULL, NULL, NULL, "docker.io", 0, "hubuser",
	  "hubpw", "credHelpers", "get https://index.docker.io/v1/\n" },
	{ "credHelpers for another host are not asked",
	  "{\"credHelpers\":{\"other.example\":\"bpcrash\"},\"auths\":{\"reg.example\":" ALICE "}}",
	  NULL, NULL, NULL, "reg.example", 0, "alice", "s3cr3t", "config.json auths", "" },
	{ "credHelpers win over credsStore and auths",
	  "{\"credHelpers\":{\"reg.example\":\"bpfile\"},\"credsStore\":\"bpcrash\","
	  "\"auths\":{\"reg.example\":" ALICE "}}",
	  NULL, NULL, NULL, "reg.example", 0, "helperuser", "helper pw", "credHelpers", NULL },
	{ "credHelpers without credentials fall through to auths",
	  "{\"credHelpers\":{\"reg2.example\":\"bpfile\"},\"auths\":{\"reg2.example\":" ALICE "}}",
	  NULL, NULL, NULL, "reg2.example", 0, "alice", "s3cr3t", "config.json auths",
	  "get reg2.example\n" },
	{ "credsStore", "{\"credsStore\":\"bpfile\"}", NULL, NULL, NULL, "reg.example", 0,
	  "helperuser", "helper pw", "docker-credential-bpfile (credsStore in ", "get reg.example\n" },
	{ "credsStore before auths",
	  "{\"credsStore\":\"bpfile\",\"auths\":{\"reg.example\":" ALICE "}}", NULL, NULL, NULL,
	  "reg.example", 0, "helperuser", "helper pw", "credsStore", NULL },
	{ "credsStore without credentials falls through to auths",
	  "{\"credsStore\":\"bpfile\",\"auths\":{\"reg3.example\":" ALICE "}}", NULL, NULL, NULL,
	  "reg3.example", 0, "alice", "s3cr3t", "config.json auths", "get reg3.example\n" },
	{ "identity token from a helper", "{\"credsStore\":\"bpfile\"}", NULL, NULL, NULL,
	  "tok.example", 0, "<token>", "idtok", "credsStore", NULL },
	{ "empty credsStore is unset", "{\"credsStore\":\"\",\"auths\":{\"reg.example\":" ALICE "}}",
	  NULL, NULL, NULL, "reg.example", 0, "alice", "s3cr3t", "config.json auths", "" },
	{ "missing helper skipped with a note",
	  "{\"credsStore\":\"bp-none\",\"auths\":{\"reg.example\":" ALICE "}}", NULL, NULL, NULL,
	  "reg.example", 0, "alice", "s3cr3t",
	  "; skipped: docker-credential-bp-none is not in PATH (credsStore in ", NULL },
	{ "missing credHelpers helper and nothing else",
	  "{\"credHelpers\":{\"reg.example\":\"bp-none\"}}", NULL, NULL, NULL, "reg.example",
	  BP_ENOTFOUND, NULL, NULL,
	  "no credentials for reg.example; skipped: docker-credential-bp-none is not in PATH", NULL },
	{ "credsStore secretservice is the keyring, not a process",
	  "{\"credsStore\":\"secretservice\",\"credHelpers\":{\"reg.example\":\"secretservice\"},"
	  "\"auths\":{\"reg.example\":" ALICE "}}", NULL, NULL, NULL, "reg.example", 0, "alice",
	  "s3cr3t", "config.json auths", "" },
	{ "helper that exits without reading stdin", "{\"credsStore\":\"bpnoread\","
	  "\"auths\":{\"reg.example\":" ALICE "}}", NULL, NULL, NULL, "reg.example", 0, "alice",
	  "s3cr3t", "config.json auths", NULL },
	{ "empty answer is no credentials", "{\"credsStore\":\"bpempty\"}", NULL, NULL, NULL,
	  "reg.example", BP_ENOTFOUND, NULL, NULL, "no credentials for reg.example", NULL },
	{ "crashing helper", "{\"credsStore\":\"bpcrash\"}", NULL, NULL, NULL, "reg.example",
	  BP_ERROR, NULL, NULL,
	  "docker-credential-bpcrash get: killed by signal 11 (Segmentation fault): about to crash",
	  NULL },
	{ "garbage answer", "{\"credsStore\":\"bpgarbage\"}", NULL, NULL, NULL, "reg.example",
	  BP_EPROTO, NULL, NULL, "docker-credential-bpgarbage get: the answer is not a JSON object",
	  NULL },
	{ "failing helper", "{\"credsStore\":\"bpfail\"}", NULL, NULL, NULL, "reg.example", BP_ERROR,
	  NULL, NULL,
	  "docker-credential-bpfail get failed (exit status 3): no way: backend unreachable", NULL },
	{ "failing helper, its reason on stderr", "{\"credHelpers\":{\"reg.example\":\"bpfail2\"}}",
	  NULL, NULL, NULL, "reg.example", BP_ERROR, NULL, NULL,
	  "credHelpers in ", NULL },
	{ "failing helper's stderr is quoted", "{\"credHelpers\":{\"reg.example\":\"bpfail2\"}}",
	  NULL, NULL, NULL, "reg.example", BP_ERROR, NULL, NULL,
	  "docker-credential-bpfail2 get failed (exit status 2): stderr says why", NULL },
	{ "too large an answer", "{\"credsStore\":\"bpbig\"}", NULL, NULL, NULL, "reg.example",
	  BP_EPROTO, NULL, NULL, "docker-credential-bpbig get: answered more than 64 KiB", NULL },
	{ "half an answer", "{\"credsStore\":\"bphalf\"}", NULL, NULL, NULL, "reg.example",
	  BP_EPROTO, NULL, NULL, "docker-credential-bphalf get: the answer has an empty Secret",
	  NULL },
	{ "helper not executable", "{\"credsStore\":\"bpnoexec\"}", NULL, NULL, NULL, "reg.example",
	  BP_ERROR, NULL, NULL, "cannot run docker-credential-bpnoexec: Permission denied", NULL },
	{ "helper name that is a path", "{\"credsStore\":\"../bin/sh\"}", NULL, NULL, NULL,
	  "reg.example", BP_EINVAL, NULL, NULL,
	  "config.json: credsStore: \"../bin/sh\" is not a credential helper name", NULL },
	{ "credsStore not a string", "{\"credsStore\":1}", NULL, NULL, NULL, "reg.example",
	  BP_EINVAL, NULL, NULL, "config.json: credsStore is not a string", NULL },
	{ "credHelpers not an object", "{\"credHelpers\":[]}", NULL, NULL, NULL, "reg.example",
	  BP_EINVAL, NULL, NULL, "config.json: credHelpers is not a JSON object", NULL },
	{ "credHelpers value not a string", "{\"credHelpers\":{\"reg.example\":true}}", NULL, NULL,
	  NULL, "reg.example", BP_EINVAL, NULL, NULL,
	  "config.json: credHelpers \"reg.example\" is not a string", NULL },

	/* containers auth.json */
	{ "auth.json in the runtime dir", NULL, "{\"auths\":{\"reg.example\":" ALICE "}}", NULL, NULL,
	  "reg.example", 0, "alice", "s3cr3t", "containers auth.json (", NULL },
	{ "auth.json in the config dir", NULL, NULL, "{\"auths\":{\"reg.example\":" ALICE "}}", NULL,
	  "reg.example", 0, "alice", "s3cr3t", "/cfg/containers/auth.json)", NULL },
	{ "runtime auth.json before the config one", NULL,
	  "{\"auths\":{\"reg.example\":" ALICE "}}", "{\"auths\":{\"reg.example\":" BOB "}}", NULL,
	  "reg.example", 0, "alice", "s3cr3t", "/run/containers/auth.json)", NULL },
	{ "runtime auth.json without the host, then the config one", NULL,
	  "{\"auths\":{\"other.example\":" ALICE "}}", "{\"auths\":{\"reg.example\":" BOB "}}", NULL,
	  "reg.example", 0, "bob", "bobpw", "/cfg/containers/auth.json)", NULL },
	{ "an empty entry moves on to the next file", NULL, "{\"auths\":{\"reg.example\":{}}}",
	  "{\"auths\":{\"reg.example\":" BOB "}}", NULL, "reg.example", 0, "bob", "bobpw",
	  "/cfg/containers/auth.json)", NULL },
	{ "REGISTRY_AUTH_FILE alone", NULL, "{\"auths\":{\"reg.example\":" ALICE "}}", NULL,
	  "{\"auths\":{\"reg.example\":" BOB "}}", "reg.example", 0, "bob", "bobpw",
	  "/authfile.json)", NULL },
	{ "REGISTRY_AUTH_FILE without the host: the others are not read", NULL,
	  "{\"auths\":{\"reg.example\":" ALICE "}}", NULL, "{\"auths\":{}}", "reg.example",
	  BP_ENOTFOUND, NULL, NULL, "no credentials for reg.example", NULL },
	{ "repository key", NULL,
	  "{\"auths\":{\"reg.example/org/app\":" ALICE ",\"reg.example/org\":" BOB
	  ",\"reg.example\":{\"auth\":\"aG9zdDpob3N0cHc=\"}}}",
	  NULL, NULL, "reg.example/org/app", 0, "alice", "s3cr3t", "auth.json", NULL },
	{ "namespace key", NULL,
	  "{\"auths\":{\"reg.example/org/app\":" ALICE ",\"reg.example/org\":" BOB
	  ",\"reg.example\":{\"auth\":\"aG9zdDpob3N0cHc=\"}}}",
	  NULL, NULL, "reg.example/org/other", 0, "bob", "bobpw", "auth.json", NULL },
	{ "host key for another namespace", NULL,
	  "{\"auths\":{\"reg.example/org/app\":" ALICE ",\"reg.example/org\":" BOB
	  ",\"reg.example\":{\"auth\":\"aG9zdDpob3N0cHc=\"}}}",
	  NULL, NULL, "reg.example/orga/app", 0, "host", "hostpw", "auth.json", NULL },
	{ "host key for the host alone", NULL,
	  "{\"auths\":{\"reg.example/org\":" BOB ",\"reg.example\":{\"auth\":\"aG9zdDpob3N0cHc=\"}}}",
	  NULL, NULL, "reg.example", 0, "host", "hostpw", "auth.json", NULL },
	{ "a namespace key is not the host's", NULL, "{\"auths\":{\"reg.example/org\":" BOB "}}",
	  NULL, NULL, "reg.example", BP_ENOTFOUND, NULL, NULL, NULL, NULL },
	{ "a namespace key is not a longer namespace's", NULL,
	  "{\"auths\":{\"reg.example/org-admin\":" BOB "}}", NULL, NULL, "reg.example/org/app",
	  BP_ENOTFOUND, NULL, NULL, NULL, NULL },
	{ "legacy URL key", NULL, "{\"auths\":{\"https://reg.example/v1/\":" BOB "}}", NULL, NULL,
	  "reg.example/org/app", 0, "bob", "bobpw", "auth.json", NULL },
	{ "docker.io key", NULL, "{\"auths\":{\"docker.io\":" BOB "}}", NULL, NULL,
	  "docker.io/library/python", 0, "bob", "bobpw", "auth.json", NULL },
	{ "index.docker.io key for docker.io", NULL, "{\"auths\":{\"index.docker.io\":" BOB "}}",
	  NULL, NULL, "docker.io/library/python", 0, "bob", "bobpw", "auth.json", NULL },
	{ "registry-1.docker.io key for docker.io", NULL,
	  "{\"auths\":{\"registry-1.docker.io\":" BOB "}}", NULL, NULL, "docker.io", 0, "bob",
	  "bobpw", "auth.json", NULL },
	{ "hub URL key for docker.io", NULL,
	  "{\"auths\":{\"https://index.docker.io/v1/\":" BOB "}}", NULL, NULL, "docker.io", 0, "bob",
	  "bobpw", "auth.json", NULL },
	{ "docker.io namespace key", NULL,
	  "{\"auths\":{\"docker.io/library\":" ALICE ",\"docker.io\":" BOB "}}", NULL, NULL,
	  "docker.io/library/python", 0, "alice", "s3cr3t", "auth.json", NULL },
	{ "identitytoken in auth.json", NULL,
	  "{\"auths\":{\"reg.example\":{\"auth\":\"YWxpY2U6czNjcjN0\",\"identitytoken\":\"rt\"}}}",
	  NULL, NULL, "reg.example", 0, "<token>", "rt", "auth.json", NULL },
	{ "credHelpers in auth.json get the bare host", NULL,
	  "{\"credHelpers\":{\"docker.io\":\"bpfile\"},\"auths\":{\"docker.io\":" BOB "}}", NULL,
	  NULL, "docker.io", 0, "barehub", "barehubpw",
	  "docker-credential-bpfile (credHelpers in ", "get docker.io\n" },
	{ "auth.json not JSON", NULL, "{\"auths\":", "{\"auths\":{\"reg.example\":" BOB "}}", NULL,
	  "reg.example", BP_EINVAL, NULL, NULL, "/run/containers/auth.json is not valid JSON", NULL },
	{ "auth.json entry auth not base64", NULL, "{\"auths\":{\"reg.example\":{\"auth\":\"!\"}}}",
	  NULL, NULL, "reg.example", BP_EINVAL, NULL, NULL, "auth is not valid base64", NULL },

	/* the order between them */
	{ "config.json auths before auth.json", "{\"auths\":{\"reg.example\":" ALICE "}}",
	  "{\"auths\":{\"reg.example\":" BOB "}}", NULL, NULL, "reg.example", 0, "alice", "s3cr3t",
	  "config.json auths", NULL },
	{ "a broken config.json ends the lookup", "{", "{\"auths\":{\"reg.example\":" BOB "}}",
	  NULL, NULL, "reg.example", BP_EINVAL, NULL, NULL, "config.json is not valid JSON", NULL },
	{ "nothing anywhere", "{}", "{}", "{}", NULL, "reg.example", BP_ENOTFOUND, NULL, NULL,
	  "no credentials for reg.example", "" },
};
/* clang-format on */

static void test_sources_table(void **state)
{
	char *authfile = tpath("authfile.json");
	size_t r;

	for (r = 0; r < sizeof(src_rows) / sizeof(src_rows[0]); r++) {
		const struct src_row *row = &src_rows[r];
		bp_credentials c = BP_CREDENTIALS_INIT;
		char *log;
		int rc;

		reset_helper();
		write_config(row->config);
		put_file("run/containers/auth.json", row->runtime, 0600);
		put_file("cfg/containers/auth.json", row->confhome, 0600);
		put_file("authfile.json", row->authfile, 0600);
		if (row->authfile)
			setenv("REGISTRY_AUTH_FILE", authfile, 1);
		else
			unsetenv("REGISTRY_AUTH_FILE");
		bp_error_clear();
		rc = bp_credentials_lookup(&c, row->host);
		if (rc != row->rc)
			fail_msg("%s: rc %d, want %d (%s)", row->name, rc, row->rc,
				 bp_error_last());
		if (rc) {
			assert_null(c.username);
			if (row->source && !strstr(bp_error_last(), row->source))
				fail_msg("%s: message \"%s\" lacks \"%s\"", row->name,
					 bp_error_last(), row->source);
			/* an absent keyring leaves no note */
			if (rc == BP_ENOTFOUND && !strstr(bp_error_last(), "bp-none") &&
			    strstr(bp_error_last(), "skipped"))
				fail_msg("%s: message \"%s\"", row->name, bp_error_last());
		} else {
			if (strcmp(c.username, row->username) || strcmp(c.secret, row->secret))
				fail_msg("%s: got %s / %s, want %s / %s", row->name, c.username,
					 c.secret, row->username, row->secret);
			if (!strstr(c.source, row->source))
				fail_msg("%s: source \"%s\" lacks \"%s\"", row->name, c.source,
					 row->source);
			assert_int_equal(bp_credentials_is_token(&c),
					 strcmp(row->username, "<token>") == 0);
		}
		/* no secret ever in a message or a source */
		assert_null(strstr(bp_error_last(), "s3cr3t"));
		assert_null(strstr(bp_error_last(), "helper pw"));
		assert_null(c.source ? strstr(c.source, "s3cr3t") : NULL);
		log = get_file("state/log");
		if (row->log && (!log || strcmp(log, row->log)))
			fail_msg("%s: helper log \"%s\", want \"%s\"", row->name,
				 log ? log : "(none)", row->log);
		free(log);
		bp_credentials_release(&c);
	}
	unsetenv("REGISTRY_AUTH_FILE");
	put_file("run/containers/auth.json", NULL, 0);
	put_file("cfg/containers/auth.json", NULL, 0);
	put_file("authfile.json", NULL, 0);
	free(authfile);
}

static double elapsed(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* A helper that never answers is stopped at the time limit. */
static void test_helper_time_limit(void **state)
{
	bp_credentials c = BP_CREDENTIALS_INIT;
	struct timespec t0;
	int saved = bp_credhelper__timeout_ms;

	write_config("{\"credsStore\":\"bphang\"}");
	bp_credhelper__timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(bp_credentials_lookup(&c, "reg.example"), BP_ERROR);
	assert_true(elapsed(&t0) < 5.0);
	assert_non_null(strstr(bp_error_last(),
			       "docker-credential-bphang get: no answer within 1 s; stopped it"));
	bp_credhelper__timeout_ms = saved;
	write_config(NULL);
}

static void file_mode_is(const char *path, mode_t want)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	if ((st.st_mode & 07777) != want)
		fail_msg("%s: mode %o, want %o", path, (unsigned)(st.st_mode & 07777),
			 (unsigned)want);
}

/* Only config.json in dir: no temporary file left behind. */
static void only_config_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "config.json") &&
		    strncmp(e->d_name, "docker-credential", 17) && strcmp(e->d_name, "bin") &&
		    strcmp(e->d_name, "state") && strcmp(e->d_name, "run") &&
		    strcmp(e->d_name, "cfg") && strcmp(e->d_name, "real"))
			fail_msg("stray file %s/%s", dir, e->d_name);
	}
	closedir(d);
}

static void lookup_is(const char *host, const char *user, const char *secret, const char *source)
{
	bp_credentials c = BP_CREDENTIALS_INIT;

	if (bp_credentials_lookup(&c, host))
		fail_msg("lookup %s: %s", host, bp_error_last());
	assert_string_equal(c.username, user);
	assert_string_equal(c.secret, secret);
	if (source && !strstr(c.source, source))
		fail_msg("source \"%s\" lacks \"%s\"", c.source, source);
	bp_credentials_release(&c);
}

/* --store file: every other key kept, in order; mode 0600; no temporary left. */
static void test_store_file(void **state)
{
	static const char *const before =
		"{\n\t\"credsStore\": \"\",\n\t\"proxies\": {\"default\": {\"httpProxy\": "
		"\"http://p:3128\"}},\n"
		"\t\"auths\": {\n\t\t\"other.example\": " BOB ",\n"
		"\t\t\"reg.example\": {\"auth\": \"b2xkOm9sZA==\", \"email\": \"x@example\"},\n"
		"\t\t\"last.example\": {}\n\t},\n"
		"\t\"HttpHeaders\": {\"User-Agent\": \"x\"},\n\t\"zzz\": [1, 2.5, \"three\", null, "
		"true]\n}\n";
	bp_credentials in = { (char *)"erin", (char *)"p a:s\"s ü", NULL };
	bp_credentials tok = { (char *)"<token>", (char *)"refresh-me", NULL };
	char *path = config_file(), *where = NULL, *text;
	cJSON *old, *now, *o, *n;

	write_config(before);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(
		bp_credentials_store("https://Reg.Example/v1/", &in, BP_CRED_STORE_FILE, &where),
		0);
	assert_string_equal(where, path);
	free(where);
	file_mode_is(path, 0600);
	only_config_in(tmpdir);
	lookup_is("reg.example", "erin", "p a:s\"s ü", "config.json auths");
	lookup_is("other.example", "bob", "bobpw", "config.json auths");

	/* the same keys in the same order, all but the entry equal */
	text = get_file(path);
	old = cJSON_Parse(before);
	now = cJSON_Parse(text);
	assert_non_null(old);
	assert_non_null(now);
	for (o = old->child, n = now->child; o || n; o = o->next, n = n->next) {
		assert_non_null(o);
		assert_non_null(n);
		assert_string_equal(o->string, n->string);
		if (strcmp(o->string, "auths"))
			assert_true(cJSON_Compare(o, n, 1));
	}
	o = cJSON_GetObjectItem(old, "auths")->child;
	n = cJSON_GetObjectItem(now, "auths")->child;
	assert_string_equal(n->string, "other.example");
	assert_true(cJSON_Compare(o, n, 1));
	assert_string_equal(n->next->string, "reg.example");
	assert_null(cJSON_GetObjectItem(n->next, "email"));
	assert_string_equal(n->next->next->string, "last.example");
	assert_null(n->next->next->next);
	cJSON_Delete(old);
	cJSON_Delete(now);
	free(text);

	/* an identity token is stored as one */
	assert_int_equal(bp_credentials_store("tok.example", &tok, BP_CRED_STORE_FILE, NULL), 0);
	text = get_file(path);
	assert_non_null(strstr(text, "\"identitytoken\":\t\"refresh-me\""));
	free(text);
	lookup_is("tok.example", "<token>", "refresh-me", NULL);

	/* Docker Hub under docker's key */
	assert_int_equal(bp_credentials_store("index.docker.io", &in, BP_CRED_STORE_FILE, NULL), 0);
	text = get_file(path);
	assert_non_null(strstr(text, "\"https://index.docker.io/v1/\":"));
	free(text);
	lookup_is("docker.io", "erin", "p a:s\"s ü", NULL);
	only_config_in(tmpdir);
	write_config(NULL);
	free(path);
}

/* A config.json that is not JSON is never rewritten. */
static void test_store_file_broken(void **state)
{
	static const char *const bad[] = {
		"{\"auths\": {\"reg.example\": {\"auth\": \"Ym9iOmJvYnB3\"}",
		"not json at all\n",
		"[]",
		"{\"auths\": []}",
	};
	bp_credentials in = { (char *)"erin", (char *)"pw", NULL };
	char *path = config_file(), *where = (char *)"untouched", *text;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_config(bad[i]);
		assert_int_equal(
			bp_credentials_store("reg.example", &in, BP_CRED_STORE_FILE, &where),
			BP_EINVAL);
		assert_null(where);
		assert_non_null(strstr(bp_error_last(), path));
		text = get_file(path);
		assert_string_equal(text, bad[i]);
		free(text);
		only_config_in(tmpdir);
		/* nor by AUTO or erase */
		assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_AUTO, NULL),
				 i < 3 ? BP_EINVAL : BP_EUNSUPPORTED);
		assert_int_equal(bp_credentials_erase("reg.example", NULL), BP_EINVAL);
		text = get_file(path);
		assert_string_equal(text, bad[i]);
		free(text);
	}
	write_config(NULL);
	free(path);
}

/* A new directory (0700) and file; a symlinked config.json stays a link. */
static void test_store_file_new_and_symlink(void **state)
{
	bp_credentials in = { (char *)"erin", (char *)"pw", NULL };
	char *dir = tpath("new/docker"), *file = tpath("new/docker/config.json");
	char *real = tpath("real"), *realfile = tpath("real/config.json"), *link = config_file();
	char *text;
	struct stat st;

	assert_int_equal(setenv("DOCKER_CONFIG", dir, 1), 0);
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_FILE, NULL), 0);
	file_mode_is(dir, 0700);
	file_mode_is(file, 0600);
	lookup_is("reg.example", "erin", "pw", NULL);
	unlink(file);
	rmdir(dir);
	free(dir);
	dir = tpath("new");
	rmdir(dir);
	assert_int_equal(setenv("DOCKER_CONFIG", tmpdir, 1), 0);

	assert_int_equal(mkdir(real, 0700), 0);
	put_file("real/config.json", "{\"x\":1}", 0600);
	unlink(link);
	assert_int_equal(symlink(realfile, link), 0);
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_FILE, NULL), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	text = get_file(realfile);
	assert_non_null(strstr(text, "\"x\":\t1"));
	assert_non_null(strstr(text, "reg.example"));
	free(text);
	unlink(link);
	unlink(realfile);
	rmdir(real);
	free(dir);
	free(file);
	free(real);
	free(realfile);
	free(link);
}

/* clang-format off */
#define NO_KEYRING_MSG                                                                   \
	"no Secret Service keyring (no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set): " \
	"start gnome-keyring (or another Secret Service), configure a credential helper in "  \
	"~/.docker/config.json, or use --store file"
/* clang-format on */

/* Without a Secret Service: the keyring says so, AUTO falls back to credsStore. */
static void test_store_without_keyring(void **state)
{
	bp_credentials in = { (char *)"erin", (char *)"p w", NULL };
	char *where = (char *)"untouched", *bus = bp_aprintf("unix:path=%s/no-bus", tmpdir), *log;
	struct timespec t0;

	write_config(NULL);
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_KEYRING, &where),
			 BP_EUNSUPPORTED);
	assert_null(where);
	assert_string_equal(bp_error_last(), NO_KEYRING_MSG);
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_AUTO, &where),
			 BP_EUNSUPPORTED);
	assert_string_equal(bp_error_last(), NO_KEYRING_MSG);
	write_config("{\"auths\":{}}");
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_AUTO, &where),
			 BP_EUNSUPPORTED);
	assert_string_equal(bp_error_last(), NO_KEYRING_MSG);
	/* docker-credential-secretservice is the keyring: no process, the same answer */
	write_config("{\"credsStore\":\"secretservice\",\"credHelpers\":{\"reg.example\":"
		     "\"secretservice\"}}");
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_AUTO, &where),
			 BP_EUNSUPPORTED);
	assert_string_equal(bp_error_last(), NO_KEYRING_MSG);
	assert_int_equal(bp_credentials_erase("reg.example", &where), BP_ENOTFOUND);
	assert_null(where);

	/* a bus address where nothing listens: quick, and no bus either */
	setenv("DBUS_SESSION_BUS_ADDRESS", bus, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_KEYRING, NULL),
			 BP_EUNSUPPORTED);
	assert_true(elapsed(&t0) < 3.0);
	assert_non_null(strstr(bp_error_last(), "no Secret Service keyring (cannot connect to the "
						"D-Bus session bus"));
	assert_non_null(strstr(bp_error_last(), "or use --store file"));
	/* and lookups skip it without a word */
	write_config("{\"auths\":{\"reg.example\":" ALICE "}}");
	lookup_is("reg.example", "alice", "s3cr3t", "config.json auths (");
	{
		bp_credentials c = BP_CREDENTIALS_INIT;

		assert_int_equal(bp_credentials_lookup(&c, "other.example"), BP_ENOTFOUND);
		assert_string_equal(bp_error_last(), "no credentials for other.example");
	}
	assert_int_equal(bp_credentials_erase("other.example", NULL), BP_ENOTFOUND);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");

	/* AUTO: credsStore when there is no keyring */
	reset_helper();
	write_config("{\"credsStore\":\"bpfile\"}");
	assert_int_equal(
		bp_credentials_store("https://new.example/", &in, BP_CRED_STORE_AUTO, &where), 0);
	assert_string_equal(where, "docker-credential-bpfile");
	free(where);
	lookup_is("new.example", "erin", "p w", "docker-credential-bpfile (credsStore in ");
	log = get_file("state/log");
	assert_string_equal(log, "store new.example\nget new.example\n");
	free(log);

	/* AUTO: credHelpers first, with docker's key for Docker Hub */
	reset_helper();
	write_config("{\"credHelpers\":{\"https://index.docker.io/v1/\":\"bpfile\"},"
		     "\"credsStore\":\"bpcrash\"}");
	assert_int_equal(bp_credentials_store("docker.io", &in, BP_CRED_STORE_AUTO, &where), 0);
	assert_string_equal(where, "docker-credential-bpfile");
	free(where);
	log = get_file("state/log");
	assert_string_equal(log, "store https://index.docker.io/v1/\n");
	free(log);
	lookup_is("docker.io", "erin", "p w", "credHelpers");

	/* a helper that is configured but missing or failing is an error naming it */
	write_config("{\"credHelpers\":{\"reg.example\":\"bp-none\"}}");
	where = (char *)"untouched";
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_AUTO, &where),
			 BP_EUNSUPPORTED);
	assert_null(where);
	assert_non_null(strstr(bp_error_last(), "docker-credential-bp-none is not in PATH"));
	assert_non_null(strstr(bp_error_last(), "credHelpers in "));
	write_config("{\"credsStore\":\"bpfail\"}");
	assert_int_equal(bp_credentials_store("reg.example", &in, BP_CRED_STORE_AUTO, NULL),
			 BP_ERROR);
	assert_non_null(strstr(bp_error_last(), "docker-credential-bpfail store failed (exit "
						"status 3): no way: backend unreachable"));
	assert_null(strstr(bp_error_last(), "p w"));
	write_config(NULL);
	free(bus);
}

static void test_store_bad_input(void **state)
{
	static const struct {
		const char *host, *user, *secret, *msg;
	} rows[] = {
		{ "reg.example", "", "pw", "no user name to store" },
		{ "reg.example", NULL, "pw", "no user name to store" },
		{ "reg.example", "erin", "", "no password to store" },
		{ "reg.example", "erin", NULL, "no password to store" },
		{ "reg.example", "er:in", "pw", "the user name cannot hold ':'" },
		{ "reg.example", "er\nin", "pw", "control character" },
		{ "", "erin", "pw", "no registry server given" },
		{ "https://user:pw@reg.example", "erin", "pw", "cannot hold a user name" },
		{ "reg example", "erin", "pw", "not a valid host name" },
	};
	size_t i;

	write_config(NULL);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bp_credentials in = { (char *)rows[i].user, (char *)rows[i].secret, NULL };
		char *where = (char *)"untouched";

		assert_int_equal(
			bp_credentials_store(rows[i].host, &in, BP_CRED_STORE_FILE, &where),
			BP_EINVAL);
		assert_null(where);
		if (!strstr(bp_error_last(), rows[i].msg))
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, bp_error_last(), rows[i].msg);
		assert_null(get_file("config.json"));
	}
	assert_int_equal(bp_credentials_store("reg.example", NULL, BP_CRED_STORE_FILE, NULL),
			 BP_EINVAL);
	{
		bp_credentials in = { (char *)"erin", (char *)"pw", NULL };

		assert_int_equal(bp_credentials_store("reg.example", &in, (bp_cred_store)42, NULL),
				 BP_EINVAL);
	}
}

/* Erase: helpers and config.json; only that host's entries go. */
static void test_erase(void **state)
{
	static const char *const placeholder = "{\"auths\":{\"reg.example\":{}},\"x\":1}";
	char *path = config_file(), *where = NULL, *text, *log;
	cJSON *now;

	reset_helper();
	write_config("{\"auths\":{\"reg.example\":" ALICE ",\"other.example\":" BOB
		     ",\"https://reg.example/v1/\":" BOB ",\"reg.example:5000\":" BOB "},"
		     "\"credsStore\":\"bpfile\",\"x\":[1]}");
	assert_int_equal(bp_credentials_erase("https://reg.example/v2/", &where), 0);
	text = bp_aprintf("docker-credential-bpfile, %s", path);
	assert_string_equal(where, text);
	free(text);
	free(where);
	log = get_file("state/log");
	assert_string_equal(log, "erase reg.example\n");
	free(log);
	text = get_file(path);
	now = cJSON_Parse(text);
	assert_non_null(now);
	assert_string_equal(now->child->string, "auths");
	assert_string_equal(now->child->child->string, "other.example");
	assert_string_equal(now->child->child->next->string, "reg.example:5000");
	assert_null(now->child->child->next->next);
	assert_string_equal(now->child->next->string, "credsStore");
	assert_string_equal(now->child->next->next->string, "x");
	cJSON_Delete(now);
	free(text);
	file_mode_is(path, 0600);
	only_config_in(tmpdir);

	/* nothing left anywhere */
	where = (char *)"untouched";
	assert_int_equal(bp_credentials_erase("reg.example", &where), BP_ENOTFOUND);
	assert_null(where);
	assert_string_equal(bp_error_last(), "no credentials for reg.example were stored");

	/* docker's placeholder is no credential, and the file stays as it is */
	write_config(placeholder);
	assert_int_equal(bp_credentials_erase("reg.example", NULL), BP_ENOTFOUND);
	text = get_file(path);
	assert_string_equal(text, placeholder);
	free(text);

	/* Docker Hub: docker's key, from any of its names */
	write_config("{\"auths\":{\"https://index.docker.io/v1/\":" ALICE "}}");
	assert_int_equal(bp_credentials_erase("registry-1.docker.io", &where), 0);
	assert_string_equal(where, path);
	free(where);
	text = get_file(path);
	assert_null(strstr(text, "index.docker.io"));
	free(text);

	/* a failing helper is reported, the file entry still goes */
	write_config("{\"credsStore\":\"bpfail\",\"auths\":{\"reg.example\":" ALICE "}}");
	assert_int_equal(bp_credentials_erase("reg.example", &where), BP_ERROR);
	assert_non_null(strstr(bp_error_last(), "docker-credential-bpfail erase failed"));
	assert_string_equal(where, path);
	free(where);
	text = get_file(path);
	assert_null(strstr(text, "reg.example"));
	free(text);

	/* a missing helper too */
	write_config("{\"credHelpers\":{\"reg.example\":\"bp-none\"}}");
	where = (char *)"untouched";
	assert_int_equal(bp_credentials_erase("reg.example", &where), BP_EUNSUPPORTED);
	assert_null(where);
	assert_non_null(strstr(bp_error_last(), "docker-credential-bp-none is not in PATH"));
	write_config(NULL);
	assert_int_equal(bp_credentials_erase("", NULL), BP_EINVAL);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_table),
		cmocka_unit_test(test_home_fallback),
		cmocka_unit_test(test_server_key),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_normalize_server),
		cmocka_unit_test(test_helper_names),
		cmocka_unit_test(test_sources_table),
		cmocka_unit_test(test_helper_time_limit),
		cmocka_unit_test(test_store_file),
		cmocka_unit_test(test_store_file_broken),
		cmocka_unit_test(test_store_file_new_and_symlink),
		cmocka_unit_test(test_store_without_keyring),
		cmocka_unit_test(test_store_bad_input),
		cmocka_unit_test(test_erase),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
