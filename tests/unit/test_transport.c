/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/transport.h>

#include <string.h>

/* Transport names: what each is split into (NULL: absent), or the error and its message. */
static const struct {
	const char *spec;
	int rc;
	bp_transport_kind kind;
	const char *path;
	const char *ref;
	const char *msg; /* part of the message when rc is not 0 */
} rows[] = {
	{ "oci:img", 0, BP_TRANSPORT_OCI, "img", NULL, NULL },
	{ "oci:img:latest", 0, BP_TRANSPORT_OCI, "img", "latest", NULL },
	{ "oci:img:", 0, BP_TRANSPORT_OCI, "img", NULL, NULL },
	{ "oci:/a/b:v1:x", 0, BP_TRANSPORT_OCI, "/a/b", "v1:x", NULL },
	{ "oci-archive:x.tar", 0, BP_TRANSPORT_OCI_ARCHIVE, "x.tar", NULL, NULL },
	{ "oci-archive:x.tar:latest", 0, BP_TRANSPORT_OCI_ARCHIVE, "x.tar", "latest", NULL },
	{ "oci-archive:/a/x.tar:docker.io/beam/python:2", 0, BP_TRANSPORT_OCI_ARCHIVE, "/a/x.tar",
	  "docker.io/beam/python:2", NULL },
	{ "docker-archive:x.tar", 0, BP_TRANSPORT_ARCHIVE, "x.tar", NULL, NULL },
	{ "docker-archive:x.tar:beam/python:2", 0, BP_TRANSPORT_ARCHIVE, "x.tar", "beam/python:2",
	  NULL },
	{ "docker-daemon:beam/python:2", 0, BP_TRANSPORT_DAEMON, NULL, "beam/python:2", NULL },
	{ "docker-daemon:reg:5000/a:b", 0, BP_TRANSPORT_DAEMON, NULL, "reg:5000/a:b", NULL },
	{ "oci:", BP_EINVAL, BP_TRANSPORT_OCI, NULL, NULL, "the transport needs a directory" },
	{ "oci::latest", BP_EINVAL, BP_TRANSPORT_OCI, NULL, NULL, "needs a directory" },
	{ "oci-archive:", BP_EINVAL, BP_TRANSPORT_OCI_ARCHIVE, NULL, NULL, "needs a file" },
	{ "oci-archive::latest", BP_EINVAL, BP_TRANSPORT_OCI_ARCHIVE, NULL, NULL, "needs a file" },
	{ "docker-archive::r", BP_EINVAL, BP_TRANSPORT_ARCHIVE, NULL, NULL, "needs a file" },
	{ "docker-daemon:", BP_EINVAL, BP_TRANSPORT_DAEMON, NULL, NULL, "needs an image name" },
	{ "img", BP_EINVAL, BP_TRANSPORT_NONE, NULL, NULL, "\"img\" names no transport" },
	{ "OCI:img", BP_EINVAL, BP_TRANSPORT_NONE, NULL, NULL, "names no transport" },
	{ "docker:img", BP_EINVAL, BP_TRANSPORT_NONE, NULL, NULL, "names no transport" },
	{ "oci-dir:img", BP_EINVAL, BP_TRANSPORT_NONE, NULL, NULL, "oci-archive:FILE[:REF]" },
	{ "", BP_EINVAL, BP_TRANSPORT_NONE, NULL, NULL, "names no transport" },
};

static void check_opt(size_t row, const char *what, const char *got, const char *want)
{
	if (!want && got)
		fail_msg("row %zu: %s \"%s\", want none", row, what, got);
	if (want && (!got || strcmp(got, want) != 0))
		fail_msg("row %zu: %s \"%s\", want \"%s\"", row, what, got ? got : "(none)", want);
}

static void test_transport_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bp_transport t = BP_TRANSPORT_INIT;
		int rc = bp_transport_parse(&t, rows[i].spec);

		if (rc != rows[i].rc)
			fail_msg("row %zu (%s): rc %d, want %d", i, rows[i].spec, rc, rows[i].rc);
		if (t.kind != rows[i].kind)
			fail_msg("row %zu (%s): kind %d, want %d", i, rows[i].spec, (int)t.kind,
				 (int)rows[i].kind);
		check_opt(i, "path", t.path, rows[i].path);
		check_opt(i, "ref", t.ref, rows[i].ref);
		if (rows[i].msg && !strstr(bp_error_last(), rows[i].msg))
			fail_msg("row %zu (%s): message \"%s\" lacks \"%s\"", i, rows[i].spec,
				 bp_error_last(), rows[i].msg);
		bp_transport_release(&t);
		bp_transport_release(&t); /* released twice is harmless */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transport_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
