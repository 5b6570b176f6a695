/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/digest.h>

#include "store_archive.h"
#include "tar.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char base[] = "/tmp/bp-test-oci-archive-XXXXXX";
static int serial;

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define MT "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\""
#define ENTRY(d, ann) "{" MT ",\"digest\":\"" d "\",\"size\":2" ann "}"
#define REF(n) ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" n "\"}"
#define NAMED(img, n)                                           \
	",\"annotations\":{\"io.containerd.image.name\":\"" img \
	"\",\"org.opencontainers.image.ref.name\":\"" n "\"}"
#define INDEX(entries) "{\"schemaVersion\":2,\"manifests\":[" entries "]}"
#define TWO(a, b) a "," b

static int fd_sink(const void *buf, size_t len, void *payload)
{
	return bp_write_all(*(int *)payload, buf, len) < 0 ? -1 : 0;
}

/* A tar in base holding index.json (NULL: none) and, when docker is 1, a manifest.json. */
static char *make_archive(const char *index, int docker)
{
	char *path = bp_aprintf("%s/a-%d.tar", base, serial++);
	bp_tarw *tw = NULL;
	int fd;

	assert_non_null(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(bp_tarw__new(&tw, fd_sink, NULL, &fd), 0);
	assert_int_equal(bp_tarw__add(tw, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30),
			 0);
	if (index)
		assert_int_equal(bp_tarw__add(tw, "index.json", index, strlen(index)), 0);
	if (docker)
		assert_int_equal(bp_tarw__add(tw, "manifest.json", "[]", 2), 0);
	assert_int_equal(bp_tarw__finish(tw), 0);
	bp_tarw__free(tw);
	assert_int_equal(close(fd), 0);
	return path;
}

/*
 * Which entry of index.json an oci-archive:FILE[:REF] names: skopeo's
 * rule (ref.name as stored) first, then the name annotations normalised;
 * the digest picked, or the error and what its message holds.
 */
static const struct {
	const char *index; /* NULL: no index.json */
	int docker;	   /* a manifest.json beside it */
	const char *ref;
	int rc;
	const char *digest;
	const char *msg[3];
} pick_rows[] = {
	/* skopeo's oci-archive:FILE:foo */
	{ INDEX(ENTRY(D1, REF("foo"))), 0, "foo", 0, D1, { NULL } },
	{ INDEX(ENTRY(D1, REF("foo"))), 0, NULL, 0, D1, { NULL } },
	/* skopeo's oci-archive:FILE, no ref.name */
	{ INDEX(ENTRY(D1, "")), 0, NULL, 0, D1, { NULL } },
	{ INDEX(ENTRY(D1, "")),
	  0,
	  "latest",
	  BP_ENOTFOUND,
	  NULL,
	  { "latest is not in archive ", "(it holds: " D1 ")" } },
	/* a whole name as ref.name: as stored, or normalised */
	{ INDEX(ENTRY(D1, REF("docker.io/library/foo:1.0"))),
	  0,
	  "docker.io/library/foo:1.0",
	  0,
	  D1,
	  { NULL } },
	{ INDEX(ENTRY(D1, REF("docker.io/library/foo:1.0"))), 0, "foo:1.0", 0, D1, { NULL } },
	{ INDEX(ENTRY(D1, REF("foo"))),
	  0,
	  "docker.io/library/foo:latest",
	  BP_ENOTFOUND,
	  NULL,
	  { "it holds: foo" } },
	/* Docker 25+ and beampush: the tag in ref.name, the whole name for containerd */
	{ INDEX(ENTRY(D1, NAMED("docker.io/beam/app:1.0", "1.0"))), 0, "1.0", 0, D1, { NULL } },
	{ INDEX(ENTRY(D1, NAMED("docker.io/beam/app:1.0", "1.0"))),
	  0,
	  "beam/app:1.0",
	  0,
	  D1,
	  { NULL } },
	{ INDEX(ENTRY(D1, NAMED("docker.io/beam/app:1.0", "1.0"))),
	  0,
	  "docker.io/beam/app:1.0",
	  0,
	  D1,
	  { NULL } },
	{ INDEX(ENTRY(D1, NAMED("docker.io/beam/app:1.0", "1.0"))),
	  0,
	  "beam/app:2.0",
	  BP_ENOTFOUND,
	  NULL,
	  { "beam/app:2.0 is not in archive", "it holds: 1.0 (docker.io/beam/app:1.0)" } },
	/* two images */
	{ INDEX(TWO(ENTRY(D1, REF("foo")), ENTRY(D2, REF("bar")))), 0, "bar", 0, D2, { NULL } },
	{ INDEX(TWO(ENTRY(D1, REF("foo")), ENTRY(D2, REF("bar")))), 0, "foo", 0, D1, { NULL } },
	{ INDEX(TWO(ENTRY(D1, REF("foo")), ENTRY(D2, REF("bar")))),
	  0,
	  NULL,
	  BP_EINVAL,
	  NULL,
	  { "holds 2 images; name one as oci-archive:", ":REF (it holds: foo, bar)" } },
	{ INDEX(TWO(ENTRY(D1, REF("foo")), ENTRY(D2, REF("bar")))),
	  0,
	  "baz",
	  BP_ENOTFOUND,
	  NULL,
	  { "baz is not in archive", "(it holds: foo, bar)" } },
	/* one image under two names is one image */
	{ INDEX(TWO(ENTRY(D1, REF("foo")), ENTRY(D1, REF("bar")))), 0, NULL, 0, D1, { NULL } },
	/* ref.name as stored wins over a name that normalises alike */
	{ INDEX(TWO(ENTRY(D2, NAMED("docker.io/library/latest:latest", "x")),
		    ENTRY(D1, REF("latest")))),
	  0,
	  "latest",
	  0,
	  D1,
	  { NULL } },
	/* entries without a usable digest are no images */
	{ INDEX("{\"digest\":\"sha256:x\",\"size\":2" REF("foo") "}"),
	  0,
	  "foo",
	  BP_ENOTFOUND,
	  NULL,
	  { "it holds: nothing" } },
	/* names are shown printable */
	{ INDEX(ENTRY(D1, REF("a\\u001bb"))), 0, "c", BP_ENOTFOUND, NULL, { "it holds: a?b" } },
	/* not an OCI layout's index */
	{ INDEX(""), 0, NULL, BP_ENOTFOUND, NULL, { "holds no image" } },
	{ "{\"manifests\":[", 0, NULL, BP_EINVAL, NULL, { "index.json is not valid JSON" } },
	{ "{\"manifests\":{}}",
	  0,
	  "foo",
	  BP_EINVAL,
	  NULL,
	  { "index.json has no manifests array" } },
	{ "[]", 0, NULL, BP_EINVAL, NULL, { "index.json has no manifests array" } },
	{ NULL, 0, NULL, BP_EINVAL, NULL, { "is not an OCI archive: it has no index.json" } },
	{ NULL,
	  1,
	  "foo",
	  BP_EINVAL,
	  NULL,
	  { "no index.json (a docker save archive is docker-archive:FILE)" } },
};

static void test_pick(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(pick_rows) / sizeof(pick_rows[0]); i++) {
		char *path = make_archive(pick_rows[i].index, pick_rows[i].docker);
		const bp_descriptor *d = NULL;
		bp_archive *a = NULL;
		int rc;

		assert_int_equal(bp_archive__open(&a, path), 0);
		rc = bp_archive__layout_pick(a, pick_rows[i].ref, &d);
		if (rc != pick_rows[i].rc)
			fail_msg("row %zu: rc %d, want %d (%s)", i, rc, pick_rows[i].rc,
				 bp_error_last());
		if (pick_rows[i].digest && (!d || strcmp(d->digest, pick_rows[i].digest) != 0))
			fail_msg("row %zu: picked %s, want %s", i, d ? d->digest : "nothing",
				 pick_rows[i].digest);
		if (rc && d)
			fail_msg("row %zu: a descriptor with an error", i);
		for (k = 0; k < 3 && pick_rows[i].msg[k]; k++) {
			if (!strstr(bp_error_last(), pick_rows[i].msg[k]))
				fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, bp_error_last(),
					 pick_rows[i].msg[k]);
		}
		/* the archive is named in every message */
		if (rc && !strstr(bp_error_last(), path))
			fail_msg("row %zu: message \"%s\" does not name %s", i, bp_error_last(),
				 path);
		bp_archive__free(a);
		unlink(path);
		free(path);
	}
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
