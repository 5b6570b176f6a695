/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "certs.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Test material only: a CA, a self-signed client certificate and its key, another key. */
static const char ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBfDCCASGgAwIBAgIUYxaHiiOW5meGfdf2VCAOZEDDT+IwCgYIKoZIzj0EAwIw\n"
	"EjEQMA4GA1UEAwwHdW5pdCBDQTAgFw0yNjExMjcyMTAxNDRaGA8yMTI2MTEwMzIx\n"
	"MDE0NFowEjEQMA4GA1UEAwwHdW5pdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
	"A0IABGtN77fJLBLaqeKYDItoC/VFPfl5IbKA4lo/y85YVXwq9XZQLo2vGSarSa3b\n"
	"tiFYU926vDrEow6MQiHyoX+bz26jUzBRMB0GA1UdDgQWBBRUPt+KHDORb7C0I36h\n"
	"cYtgdAN8ljAfBgNVHSMEGDAWgBRUPt+KHDORb7C0I36hcYtgdAN8ljAPBgNVHRMB\n"
	"Af8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQD/GBhnycsBNzd4ToLYDaDowS4i\n"
	"bPb5PIPC/fcblAAllwIhANq74GBfP6B3WXf0MjY7cMIZvYZcX3W26z3DpQK58m8E\n"
	"-----END CERTIFICATE-----\n";
static const char cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBgzCCASmgAwIBAgIUO/bNQPLcVo6Uh8MXObZYEsBWTyQwCgYIKoZIzj0EAwIw\n"
	"FjEUMBIGA1UEAwwLdW5pdCBjbGllbnQwIBcNMjYxMTI3MjEwMTQ0WhgPMjEyNjEx\n"
	"MDMyMTAxNDRaMBYxFDASBgNVBAMMC3VuaXQgY2xpZW50MFkwEwYHKoZIzj0CAQYI\n"
	"KoZIzj0DAQcDQgAEbaXs7ETW9nM0KBlpFPE79pEli9bFl7L0fpivegU2QiVFnKX7\n"
	"WVHpg+LTL0+/8jxhEOD4suzSUBLGr1WD9YUBGKNTMFEwHQYDVR0OBBYEFIcoL/n4\n"
	"9J0lnRcOfMwIzdHdgeCBMB8GA1UdIwQYMBaAFIcoL/n49J0lnRcOfMwIzdHdgeCB\n"
	"MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgH7ueafOaRYQBujJ6\n"
	"ey5Z464I4KBlq1vURnCN3jSz/CMCIQDUnJd01nVp0kajlV9GWndBNlAH6bxP9sbk\n"
	"cYWCaAKkUw==\n"
	"-----END CERTIFICATE-----\n";
static const char key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgf8HXVzpRKlwJ2YOB\n"
	"sPTVFTHC5VQhJoR0JPLeVfRU1aqhRANCAARtpezsRNb2czQoGWkU8Tv2kSWL1sWX\n"
	"svR+mK96BTZCJUWcpftZUemD4tMvT7/yPGEQ4Piy7NJQEsavVYP1hQEY\n"
	"-----END PRIVATE KEY-----\n";
static const char other_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBvNzqPLTkRQKPStz\n"
	"CzOwnSBbMZMYggHxztCdzA6vfs6hRANCAAQw1ADffCevVsSxbbd3CPigaXId3wum\n"
	"+9lxlCb0ZSoM4TyHZX9Th49meWh+0EwuEF7wuByX5JaMmoVx2I5IAcAy\n"
	"-----END PRIVATE KEY-----\n";

static char tmpdir[] = "/tmp/bp-test-certs.XXXXXX";

#define HP "registry.example:5000"

struct file_spec {
	const char *name;
	const char *content; /* NULL: a directory of that name */
};

struct certs_row {
	const char *name;
	struct file_spec files[6];
	int rc;
	size_t ncas;
	const char *client; /* basename of the client certificate used; NULL: none */
	const char *msg;    /* substring of the error message */
};

/* replaced at run time by two CAs in one file */
#define CA2 "two CAs"

/* clang-format off */
static const struct certs_row rows[] = {
	{ "no directory at all", { { NULL, NULL } }, 0, 0, NULL, NULL },
	{ "an empty directory", { { ".keep", "" } }, 0, 0, NULL, NULL },
	{ "one CA", { { "ca.crt", ca_pem } }, 0, 1, NULL, NULL },
	{ "two CA files", { { "a.crt", ca_pem }, { "b.crt", ca_pem } }, 0, 2, NULL, NULL },
	{ "two CAs in one file", { { "ca.crt", CA2 } }, 0, 2, NULL, NULL },
	{ "other files ignored", { { "README", "x" }, { "ca.pem", "x" }, { "ca.crt", ca_pem } },
	  0, 1, NULL, NULL },
	{ "client pair", { { "client.cert", cert_pem }, { "client.key", key_pem } },
	  0, 0, "client.cert", NULL },
	{ "CA and client pair",
	  { { "ca.crt", ca_pem }, { "client.cert", cert_pem }, { "client.key", key_pem } },
	  0, 1, "client.cert", NULL },
	{ "two pairs: the first by name",
	  { { "b.cert", cert_pem }, { "b.key", key_pem }, { "a.cert", cert_pem },
	    { "a.key", key_pem } },
	  0, 0, "a.cert", NULL },
	{ "key without its cert", { { "ca.crt", ca_pem }, { "client.key", key_pem } },
	  BP_ERROR, 0, NULL, "missing client certificate @DIR@/client.cert for key @DIR@/client.key" },
	{ "cert without its key", { { "client.cert", cert_pem } },
	  BP_ERROR, 0, NULL, "missing key @DIR@/client.key for client certificate @DIR@/client.cert" },
	{ "a CA named .cert", { { "ca.cert", ca_pem } },
	  BP_ERROR, 0, NULL, "a CA certificate must be named *.crt" },
	{ "pair with a mismatched key", { { "c.cert", cert_pem }, { "c.key", other_key_pem } },
	  BP_ERROR, 0, NULL, "client certificate @DIR@/c.cert does not match the key @DIR@/c.key" },
	{ "a .crt without a certificate", { { "ca.crt", "hello\n" } },
	  BP_ERROR, 0, NULL, "@DIR@/ca.crt: no PEM certificate in it" },
	{ "an empty .crt", { { "ca.crt", "" } },
	  BP_ERROR, 0, NULL, "@DIR@/ca.crt: no PEM certificate in it" },
	{ "a key that is not PEM", { { "c.cert", cert_pem }, { "c.key", "garbage" } },
	  BP_ERROR, 0, NULL, "@DIR@/c.key: not a PEM private key" },
	{ "a cert that is not PEM", { { "c.cert", "garbage" }, { "c.key", key_pem } },
	  BP_ERROR, 0, NULL, "@DIR@/c.cert: no PEM certificate in it" },
	{ "a directory named .crt", { { "ca.crt", NULL } },
	  BP_EIO, 0, NULL, "cannot read @DIR@/ca.crt" },
};
/* clang-format on */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(content, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* msg with every @DIR@ replaced by dir. */
static char *expand(const char *msg, const char *dir)
{
	bp_dynbuf b;
	const char *p;

	bp_dynbuf_init(&b, 4096);
	while ((p = strstr(msg, "@DIR@"))) {
		assert_int_equal(bp_dynbuf_add(&b, msg, (size_t)(p - msg)), 0);
		assert_int_equal(bp_dynbuf_adds(&b, dir), 0);
		msg = p + 5;
	}
	assert_int_equal(bp_dynbuf_adds(&b, msg), 0);
	return bp_dynbuf_detach(&b, NULL);
}

static void test_load_table(void **state)
{
	char *root = bp_aprintf("%s/certs.d", tmpdir);
	char *dir = bp_aprintf("%s/%s", root, HP);
	char *ca2 = bp_aprintf("%s%s", ca_pem, ca_pem);
	size_t i, j;

	assert_int_equal(setenv("BEAMPUSH_CERTS_D", root, 1), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct certs_row *r = &rows[i];
		bp_certs *c = (bp_certs *)1;
		int rc;

		print_message("row: %s\n", r->name);
		rm_rf(root);
		for (j = 0; r->files[j].name; j++) {
			char *path = bp_aprintf("%s/%s", dir, r->files[j].name);

			if (j == 0) {
				assert_int_equal(mkdir(root, 0700), 0);
				assert_int_equal(mkdir(dir, 0700), 0);
			}
			if (!r->files[j].content)
				assert_int_equal(mkdir(path, 0700), 0);
			else
				write_file(path, strcmp(r->files[j].content, CA2) == 0
							 ? ca2 : r->files[j].content);
			free(path);
		}
		rc = bp_certs__load(&c, HP);
		assert_int_equal(rc, r->rc);
		if (rc) {
			char *want = expand(r->msg, dir);

			assert_null(c);
			if (!strstr(bp_error_last(), want))
				fail_msg("row %s: message '%s' lacks '%s'", r->name, bp_error_last(), want);
			free(want);
			continue;
		}
		assert_int_equal(bp_certs__ncas(c), r->ncas);
		if (!r->ncas && !r->client) {
			assert_null(c);
			continue;
		}
		assert_non_null(c);
		assert_string_equal(bp_certs__dir(c), dir);
		if (r->client) {
			char *want = bp_aprintf("%s/%s", dir, r->client);

			assert_non_null(bp_certs__client_cert(c));
			assert_string_equal(bp_certs__client_cert(c), want);
			free(want);
		} else {
			assert_null(bp_certs__client_cert(c));
		}
		bp_certs__free(c);
	}
	rm_rf(root);
	unsetenv("BEAMPUSH_CERTS_D");
	free(ca2);
	free(dir);
	free(root);
}

struct dirs_row {
	const char *hostport;
	const char *env;  /* BEAMPUSH_CERTS_D; NULL: unset */
	const char *xdg;  /* XDG_CONFIG_HOME; NULL: unset */
	const char *home; /* HOME; NULL: unset */
	size_t n;
	const char *dirs[2];
	const char *suggest; /* when not root; NULL: none */
};

/* clang-format off */
static const struct dirs_row dirs_rows[] = {
	{ "r.example:5000", "/c", "/x", "/h", 1, { "/c/r.example:5000" }, "/c/r.example:5000" },
	{ "r.example", NULL, "/x", "/h", 2,
	  { "/x/docker/certs.d/r.example", "/etc/docker/certs.d/r.example" },
	  "/x/docker/certs.d/r.example" },
	{ "r.example", "", NULL, "/h", 2,
	  { "/h/.config/docker/certs.d/r.example", "/etc/docker/certs.d/r.example" },
	  "/h/.config/docker/certs.d/r.example" },
	{ "[::1]:5000", NULL, "relative", "/h", 2,
	  { "/h/.config/docker/certs.d/[::1]:5000", "/etc/docker/certs.d/[::1]:5000" },
	  "/h/.config/docker/certs.d/[::1]:5000" },
	{ "", "/c", NULL, NULL, 0, { NULL }, NULL },
	{ "..", "/c", NULL, NULL, 0, { NULL }, NULL },
	{ ".hidden", "/c", NULL, NULL, 0, { NULL }, NULL },
	{ "a/../../etc", "/c", NULL, NULL, 0, { NULL }, NULL },
	{ "a b", "/c", NULL, NULL, 0, { NULL }, NULL },
	{ "a\nb", "/c", NULL, NULL, 0, { NULL }, NULL },
};
/* clang-format on */

static void set_or_unset(const char *name, const char *v)
{
	if (v)
		assert_int_equal(setenv(name, v, 1), 0);
	else
		unsetenv(name);
}

static void test_dirs_table(void **state)
{
	char *old_home = getenv("HOME") ? bp_strdup(getenv("HOME")) : NULL;
	size_t i, j;

	for (i = 0; i < sizeof(dirs_rows) / sizeof(dirs_rows[0]); i++) {
		const struct dirs_row *r = &dirs_rows[i];
		char *dirs[BP_CERTS_DIRS_MAX];
		char *s;
		size_t n;

		set_or_unset("BEAMPUSH_CERTS_D", r->env);
		set_or_unset("XDG_CONFIG_HOME", r->xdg);
		set_or_unset("HOME", r->home);
		n = bp_certs__dirs(r->hostport, dirs);
		assert_int_equal(n, r->n);
		for (j = 0; j < n; j++) {
			assert_string_equal(dirs[j], r->dirs[j]);
			free(dirs[j]);
		}
		s = bp_certs__suggest_dir(r->hostport);
		if (!r->suggest)
			assert_null(s);
		else if (geteuid() != 0 || (r->env && *r->env))
			assert_string_equal(s, r->suggest);
		else
			assert_non_null(bp_strprefix(s, "/etc/docker/certs.d/"));
		free(s);
	}
	unsetenv("BEAMPUSH_CERTS_D");
	unsetenv("XDG_CONFIG_HOME");
	set_or_unset("HOME", old_home);
	free(old_home);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	rm_rf(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_table),
		cmocka_unit_test(test_dirs_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
