/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/digest.h>

#include "oci_archive.h"
#include "store_archive.h"
#include "tar.h"
#include "util/dynbuf.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- the writer ---- */

/* A blob of the layout: its bytes and digest. */
struct blob {
	char *bytes;
	size_t len;
	char digest[BP_DIGEST_MAX];
};

/* A layout in base: two images sharing a layer, an index of both. */
static struct {
	char *dir;
	struct blob config[2], layer[3], manifest[2], index;
} L;

static void put(bp_oci *o, struct blob *b, char *bytes)
{
	b->bytes = bytes;
	b->len = strlen(bytes);
	assert_int_equal(bp_digest_buf(b->digest, b->bytes, b->len), 0);
	assert_int_equal(bp_oci_blob_put(o, b->digest, b->bytes, b->len), 0);
}

static char *descriptor(const char *mt, const struct blob *b, const char *platform)
{
	char *s = bp_aprintf("{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu%s}", mt,
			     b->digest, b->len, platform ? platform : "");

	assert_non_null(s);
	return s;
}

/* image i: its config, layers 0 (shared) and i + 1, tagged "img<i>" */
static void make_image(bp_oci *o, int i)
{
	char *cfg, *l0, *l1, *m;
	bp_descriptor d;

	put(o, &L.config[i],
	    bp_aprintf("{\"architecture\":\"%s\",\"os\":\"linux\",\"rootfs\":{\"type\":"
		       "\"layers\",\"diff_ids\":[]}}",
		       i ? "arm64" : "amd64"));
	cfg = descriptor(BP_MEDIA_OCI_CONFIG, &L.config[i], NULL);
	l0 = descriptor(BP_MEDIA_OCI_LAYER_GZIP, &L.layer[0], NULL);
	l1 = descriptor(BP_MEDIA_OCI_LAYER_GZIP, &L.layer[i + 1], NULL);
	m = bp_aprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":%s,\"layers\":[%s,%s]}",
		BP_MEDIA_OCI_MANIFEST, cfg, l0, l1);
	put(o, &L.manifest[i], m);
	memset(&d, 0, sizeof(d));
	d.media_type = BP_MEDIA_OCI_MANIFEST;
	bp_strlcpy(d.digest, L.manifest[i].digest, sizeof(d.digest));
	d.size = (int64_t)L.manifest[i].len;
	assert_int_equal(bp_oci_tag(o, &d, i ? "img1" : "img0"), 0);
	free(cfg);
	free(l0);
	free(l1);
}

static void make_layout(void)
{
	bp_oci *o = NULL;
	char *m0, *m1;
	bp_descriptor d;
	int i;

	L.dir = bp_aprintf("%s/layout", base);
	assert_int_equal(bp_oci_open(&o, L.dir, 1), 0);
	for (i = 0; i < 3; i++)
		put(o, &L.layer[i], bp_aprintf("layer %d bytes, not really gzip", i));
	make_image(o, 0);
	make_image(o, 1);
	m0 = descriptor(BP_MEDIA_OCI_MANIFEST, &L.manifest[0],
			",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}");
	m1 = descriptor(BP_MEDIA_OCI_MANIFEST, &L.manifest[1],
			",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}");
	put(o, &L.index,
	    bp_aprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[%s,%s]}",
		       BP_MEDIA_OCI_INDEX, m0, m1));
	memset(&d, 0, sizeof(d));
	d.media_type = BP_MEDIA_OCI_INDEX;
	bp_strlcpy(d.digest, L.index.digest, sizeof(d.digest));
	d.size = (int64_t)L.index.len;
	assert_int_equal(bp_oci_tag(o, &d, "multi"), 0);
	free(m0);
	free(m1);
	bp_oci_free(o);
}

static long fd_read(void *buf, size_t len, void *payload)
{
	return (long)read(*(int *)payload, buf, len);
}

/* The member names of the tar at path, in order, joined by ' ' ("blobs/sha256/<hex>" as "<hex>").
 */
static char *members(const char *path)
{
	bp_dynbuf b = BP_DYNBUF_INIT(1 << 16);
	const bp_tar_entry *e;
	bp_tar *t = NULL;
	int fd = open(path, O_RDONLY), rc;

	assert_true(fd >= 0);
	assert_int_equal(bp_tar__new(&t, fd_read, NULL, &fd, 0), 0);
	assert_int_equal(bp_dynbuf_adds(&b, ""), 0);
	while ((rc = bp_tar__next(t, &e)) == 1) {
		const char *n = bp_strprefix(e->name, "blobs/sha256/");

		assert_int_equal(
			bp_dynbuf_printf(&b, "%s%s", b.len ? " " : "", n && *n ? n : e->name), 0);
	}
	assert_int_equal(rc, 0);
	bp_tar__free(t);
	close(fd);
	return bp_dynbuf_detach(&b, NULL);
}

/* The bytes of the member name of the tar at path (NUL-terminated), or NULL. */
static char *tar_member(const char *path, const char *name)
{
	const bp_tar_entry *e;
	bp_tar *t = NULL;
	char *data = NULL;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(bp_tar__new(&t, fd_read, NULL, &fd, 0), 0);
	while (!data && bp_tar__next(t, &e) == 1) {
		if (strcmp(e->name, name) == 0) {
			assert_non_null(data = calloc(1, e->size + 1));
			assert_int_equal(bp_tar__read(t, data, e->size), (long)e->size);
		}
	}
	bp_tar__free(t);
	close(fd);
	return data;
}

/* The hex parts of blobs, joined by ' ' as members() shows them. */
static char *hexes(const struct blob *const *bs, size_t n)
{
	bp_dynbuf b = BP_DYNBUF_INIT(1 << 16);
	size_t i;

	assert_int_equal(bp_dynbuf_adds(&b, ""), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(
			bp_dynbuf_printf(&b, "%s%s", i ? " " : "", bp_digest_hex(bs[i]->digest)),
			0);
	return bp_dynbuf_detach(&b, NULL);
}

/* What a member of the archive holds (NUL-terminated), or NULL. */
static char *member(bp_archive *a, const char *digest)
{
	char *data = NULL;
	size_t len;

	if (bp_archive__read_blob(a, digest, -1, 1 << 20, &data, &len))
		return NULL;
	return data;
}

/*
 * What bp_oci_archive__write makes of a tag and names: the members in
 * order (each blob once, the manifest before what it lists), the
 * annotations of index.json, manifest.json for docker; read back by the
 * archive reader, which finds the image by each name.
 */
static void test_write(void **state)
{
	const struct blob *img0[] = { &L.manifest[0], &L.config[0], &L.layer[0], &L.layer[1] };
	const struct blob *multi[] = { &L.index,    &L.manifest[0], &L.config[0], &L.layer[0],
				       &L.layer[1], &L.manifest[1], &L.config[1], &L.layer[2] };
	const struct {
		const char *tag;
		bp_oci_archive_opts o;
		const char *head; /* the members before the blobs */
		const struct blob *const *blobs;
		size_t nblobs;
		const char *index_mt;
		const char *finds[3]; /* REFs that find it; NULL-terminated */
	} rows[] = {
		{ "img0",
		  { "1.0", "docker.io/beam/python:1.0", 0 },
		  "oci-layout index.json blobs/ blobs/sha256/",
		  img0,
		  4,
		  BP_MEDIA_OCI_MANIFEST,
		  { "1.0", "beam/python:1.0", NULL } },
		{ "img0",
		  { NULL, NULL, 0 },
		  "oci-layout index.json blobs/ blobs/sha256/",
		  img0,
		  4,
		  BP_MEDIA_OCI_MANIFEST,
		  { NULL } },
		{ "img0",
		  { "beam/python:1.0", "docker.io/beam/python:1.0", 1 },
		  "oci-layout index.json manifest.json blobs/ blobs/sha256/",
		  img0,
		  4,
		  BP_MEDIA_OCI_MANIFEST,
		  { "beam/python:1.0", "docker.io/beam/python:1.0", NULL } },
		{ "multi",
		  { "latest", "docker.io/beam/python:latest", 0 },
		  "oci-layout index.json blobs/ blobs/sha256/",
		  multi,
		  8,
		  BP_MEDIA_OCI_INDEX,
		  { "latest", "beam/python", NULL } },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *path = bp_aprintf("%s/out-%zu.tar", base, i), *got, *want, *idx, *blobs,
		     *docker;
		const bp_descriptor *d;
		bp_archive *a = NULL;
		bp_oci *o = NULL;
		cJSON *j, *ann;

		assert_int_equal(bp_oci_open(&o, L.dir, 0), 0);
		if (bp_oci_archive__write(o, rows[i].tag, &rows[i].o, path))
			fail_msg("row %zu: %s", i, bp_error_last());
		bp_oci_free(o);
		got = members(path);
		blobs = hexes(rows[i].blobs, rows[i].nblobs);
		want = bp_aprintf("%s %s", rows[i].head, blobs);
		if (strcmp(got, want) != 0)
			fail_msg("row %zu: members\n  %s\nwant\n  %s", i, got, want);
		assert_int_equal(bp_archive__open(&a, path), 0);
		/* each blob byte for byte */
		for (k = 0; k < rows[i].nblobs; k++) {
			char *m = member(a, rows[i].blobs[k]->digest);

			assert_non_null(m);
			assert_string_equal(m, rows[i].blobs[k]->bytes);
			free(m);
		}
		/* index.json: one entry, the manifest's media type, the names asked for */
		assert_int_equal(bp_archive__layout_pick(a, NULL, &d), 0);
		assert_string_equal(d->digest, rows[i].blobs[0]->digest);
		assert_int_equal(d->size, (int64_t)rows[i].blobs[0]->len);
		assert_string_equal(d->media_type, rows[i].index_mt);
		for (k = 0; rows[i].finds[k]; k++) {
			const bp_descriptor *f;

			if (bp_archive__layout_pick(a, rows[i].finds[k], &f) || f != d)
				fail_msg("row %zu: %s does not find the image: %s", i,
					 rows[i].finds[k], bp_error_last());
		}
		bp_archive__free(a);
		assert_non_null(idx = tar_member(path, "index.json"));
		docker = tar_member(path, "manifest.json");
		if (!rows[i].o.docker) {
			assert_null(docker);
		} else {
			/* docker load's view: the config and layers by member name, the image's
			 * name */
			char *want_mj = bp_aprintf(
				"[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":"
				"[\"%s\"],\"Layers\":[\"blobs/sha256/%s\","
				"\"blobs/sha256/%s\"]}]",
				bp_digest_hex(L.config[0].digest), rows[i].o.image_name,
				bp_digest_hex(L.layer[0].digest), bp_digest_hex(L.layer[1].digest));

			assert_string_equal(docker, want_mj);
			free(want_mj);
		}
		free(docker);
		j = cJSON_Parse(idx);
		ann = cJSON_GetObjectItem(
			cJSON_GetArrayItem(cJSON_GetObjectItem(j, "manifests"), 0), "annotations");
		if (rows[i].o.ref_name)
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
						    ann, "org.opencontainers.image.ref.name")),
					    rows[i].o.ref_name);
		if (rows[i].o.image_name)
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
						    ann, "io.containerd.image.name")),
					    rows[i].o.image_name);
		if (!rows[i].o.ref_name && !rows[i].o.image_name)
			assert_null(ann);
		cJSON_Delete(j);
		free(idx);
		unlink(path);
		free(path);
		free(got);
		free(want);
		free(blobs);
	}
}

/* Remove a directory tree under base. */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The names in base other than the layout, joined by ' '. */
static char *left_in_base(void)
{
	bp_dynbuf b = BP_DYNBUF_INIT(4096);
	struct dirent **names;
	int n, i;

	n = scandir(base, &names, NULL, alphasort);
	assert_true(n >= 0);
	assert_int_equal(bp_dynbuf_adds(&b, ""), 0);
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;

		if (strcmp(nm, ".") && strcmp(nm, "..") && strcmp(nm, "layout"))
			assert_int_equal(bp_dynbuf_printf(&b, "%s%s", b.len ? " " : "", nm), 0);
		free(names[i]);
	}
	free(names);
	return bp_dynbuf_detach(&b, NULL);
}

/*
 * Failures: the error, and the target as it was (absent, or its old
 * bytes), no temporary file beside it.
 */
static void test_write_errors(void **state)
{
	static const bp_oci_archive_opts plain = { "x", NULL, 0 }, docker = { "x", "x:1", 1 };
	const struct {
		const char *tag;
		const bp_oci_archive_opts *o;
		const char *target; /* under base */
		int old;	    /* an older file at the target */
		int corrupt;	    /* flip a byte of layer 2 in the layout */
		int rc;
		const char *msg;
	} rows[] = {
		{ "nope", &plain, "out.tar", 0, 0, BP_ENOTFOUND, "nope" },
		{ "nope", &plain, "out.tar", 1, 0, BP_ENOTFOUND, "nope" },
		{ "multi", &docker, "out.tar", 1, 0, BP_EINVAL, "is not an image manifest" },
		{ "img0", &plain, "nodir/out.tar", 0, 0, BP_ENOTFOUND, "nodir does not exist" },
		{ "img0", &plain, "adir", 0, 0, BP_EINVAL, "adir is a directory" },
		{ "img0", &plain, "adir/", 0, 0, BP_EINVAL, "is a directory" },
		{ "img1", &plain, "out.tar", 1, 1, BP_EINTEGRITY,
		  "the bytes in the layout hash to" },
		{ "multi", &plain, "out.tar", 0, 1, BP_EINTEGRITY,
		  "the bytes in the layout hash to" },
	};
	char *adir = bp_aprintf("%s/adir", base), *layer2 = NULL;
	size_t i;

	(void)state;
	assert_int_equal(mkdir(adir, 0755), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *path = bp_aprintf("%s/%s", base, rows[i].target), *left, *data = NULL;
		bp_oci *o = NULL;
		size_t len;
		int rc;

		if (rows[i].old)
			assert_int_equal(bp_write_file_atomic(path, "old", 3, 0644), 0);
		assert_int_equal(bp_oci_open(&o, L.dir, 0), 0);
		if (rows[i].corrupt) {
			layer2 = bp_oci_blob_path(o, L.layer[2].digest);
			assert_int_equal(bp_write_file_atomic(layer2,
							      "Layer 2 bytes, not really gzip",
							      L.layer[2].len, 0644),
					 0);
		}
		rc = bp_oci_archive__write(o, rows[i].tag, rows[i].o, path);
		bp_oci_free(o);
		if (rc != rows[i].rc)
			fail_msg("row %zu: rc %d, want %d (%s)", i, rc, rows[i].rc,
				 bp_error_last());
		if (!strstr(bp_error_last(), rows[i].msg))
			fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, bp_error_last(),
				 rows[i].msg);
		left = left_in_base();
		assert_string_equal(left, rows[i].old ? "adir out.tar" : "adir");
		if (rows[i].old) {
			assert_int_equal(bp_read_file(path, 16, &data, &len), 0);
			assert_string_equal(data, "old");
			free(data);
			unlink(path);
		}
		if (layer2) {
			assert_int_equal(bp_write_file_atomic(layer2, L.layer[2].bytes,
							      L.layer[2].len, 0644),
					 0);
			free(layer2);
			layer2 = NULL;
		}
		free(left);
		free(path);
	}
	rmdir(adir);
	free(adir);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(base))
		return -1;
	make_layout();
	return 0;
}

static int teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		free(L.config[i].bytes);
		free(L.manifest[i].bytes);
	}
	for (i = 0; i < 3; i++)
		free(L.layer[i].bytes);
	free(L.index.bytes);
	free(L.dir);
	return nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
