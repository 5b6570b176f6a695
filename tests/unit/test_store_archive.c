/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/digest.h>
#include <beampush/manifest.h>

#include "store_archive.h"
#include "tar.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[] = "/tmp/bp-test-archive-XXXXXX";
static char mkimage[4096];
static int have_skopeo;
static int serial;

/* ---- helpers ---- */

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void run(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static char *path_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *path_of(const char *fmt, ...)
{
	char rel[2048];
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	p = bp_aprintf("%s/%s", base, rel);
	assert_non_null(p);
	return p;
}

/* A new directory under base. */
static char *fresh_dir(const char *what)
{
	char *p = path_of("%s-%d", what, serial++);

	assert_int_equal(mkdir(p, 0755), 0);
	return p;
}

static char *read_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *p;
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

static void write_path(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fail_msg("cannot create %s", path);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char *p = bp_aprintf("%s/%s", dir, name);

	write_path(p, text, strlen(text));
	free(p);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Names in dir that start with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* Hash a layer through the cursor: its bytes as read in place. */
static void layer_digest(bp_archive *a, const bp_archive_layer *l, char out[BP_DIGEST_MAX])
{
	bp_archive_cursor c;
	bp_hasher *h;
	char buf[4000];
	long n;
	int64_t total = 0;

	assert_int_equal(bp_hasher_new(&h), 0);
	bp_archive__cursor_init(&c, a, l);
	while ((n = bp_archive__cursor_read(buf, sizeof(buf), &c)) > 0) {
		bp_hasher_update(h, buf, (size_t)n);
		total += n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, l->size);
	assert_int_equal(bp_hasher_final(h, out), 0);
	bp_hasher_free(h);
}

/* ---- OCI layouts from scripts/mkimage ---- */

struct layout {
	char *dir;
	char manifest[BP_DIGEST_MAX];
	int64_t manifest_size;
	char config[BP_DIGEST_MAX];
	char diff_ids[8][BP_DIGEST_MAX];
	char layers[8][BP_DIGEST_MAX];
	int64_t layer_sizes[8];
	size_t nlayers;
};

static struct layout img1, img2, img3;

static char *blob_path(const char *dir, const char *digest)
{
	return bp_aprintf("%s/blobs/sha256/%s", dir, bp_digest_hex(digest));
}

/* Read the manifest, config and diff_ids of the only image of an OCI layout. */
static void load_layout(struct layout *l, const char *dir)
{
	char *text = bp_aprintf("%s/index.json", dir), *p;
	cJSON *index, *m, *c, *it;
	size_t i = 0;

	l->dir = bp_strdup(dir);
	p = read_path(text, NULL);
	free(text);
	index = cJSON_Parse(p);
	free(p);
	it = cJSON_GetArrayItem(cJSON_GetObjectItem(index, "manifests"), 0);
	bp_strlcpy(l->manifest, cJSON_GetObjectItem(it, "digest")->valuestring, BP_DIGEST_MAX);
	l->manifest_size = (int64_t)cJSON_GetObjectItem(it, "size")->valuedouble;
	cJSON_Delete(index);

	text = blob_path(dir, l->manifest);
	p = read_path(text, NULL);
	free(text);
	m = cJSON_Parse(p);
	free(p);
	bp_strlcpy(l->config,
		   cJSON_GetObjectItem(cJSON_GetObjectItem(m, "config"), "digest")->valuestring,
		   BP_DIGEST_MAX);
	cJSON_ArrayForEach (it, cJSON_GetObjectItem(m, "layers")) {
		bp_strlcpy(l->layers[i], cJSON_GetObjectItem(it, "digest")->valuestring,
			   BP_DIGEST_MAX);
		l->layer_sizes[i++] = (int64_t)cJSON_GetObjectItem(it, "size")->valuedouble;
	}
	l->nlayers = i;
	cJSON_Delete(m);

	text = blob_path(dir, l->config);
	p = read_path(text, NULL);
	free(text);
	c = cJSON_Parse(p);
	free(p);
	i = 0;
	cJSON_ArrayForEach (it, cJSON_GetObjectItem(cJSON_GetObjectItem(c, "rootfs"), "diff_ids"))
		bp_strlcpy(l->diff_ids[i++], it->valuestring, BP_DIGEST_MAX);
	assert_int_equal(i, l->nlayers);
	cJSON_Delete(c);
}

/* scripts/mkimage OPTS DIR latest ARGS */
static void make_layout(struct layout *l, const char *name, const char *opts, const char *args)
{
	char *dir = path_of("%s", name);

	run("%s %s %s latest %s >/dev/null", mkimage, opts, dir, args);
	load_layout(l, dir);
	free(dir);
}

/* A docker-archive written by skopeo from a layout. */
static char *skopeo_archive(const struct layout *l, const char *name, const char *ref,
			    const char *extra)
{
	char *out = path_of("%d-%s", serial++, name);

	run("skopeo copy -q %s oci:%s:latest docker-archive:%s:%s", extra, l->dir, out, ref);
	return out;
}

/* ---- reading: member names ---- */

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_member_kind(void **state)
{
	static const struct {
		const char *name;
		bp_archive_member_kind kind;
		int hex;
	} rows[] = {
		{ "manifest.json", BP_ARCHIVE_MANIFEST_JSON, 0 },
		{ "./manifest.json", BP_ARCHIVE_MANIFEST_JSON, 0 },
		{ "index.json", BP_ARCHIVE_INDEX_JSON, 0 },
		{ "oci-layout", BP_ARCHIVE_OCI_LAYOUT, 0 },
		{ "repositories", BP_ARCHIVE_REPOSITORIES, 0 },
		{ H64 ".json", BP_ARCHIVE_CONFIG, 1 },
		{ H64 ".tar", BP_ARCHIVE_LAYER, 1 },
		{ H64, BP_ARCHIVE_V1_DIR, 1 },
		{ H64 "/", BP_ARCHIVE_V1_DIR, 1 },
		{ "./" H64 "/layer.tar", BP_ARCHIVE_V1_LAYER, 1 },
		{ H64 "/json", BP_ARCHIVE_V1_JSON, 1 },
		{ H64 "/VERSION", BP_ARCHIVE_V1_VERSION, 1 },
		{ "blobs", BP_ARCHIVE_BLOBS_DIR, 0 },
		{ "blobs/sha256/", BP_ARCHIVE_BLOBS_DIR, 0 },
		{ "blobs/sha256/" H64, BP_ARCHIVE_BLOB, 1 },
		{ "blobs/sha512/" H64, BP_ARCHIVE_OTHER, 0 },
		{ "blobs/sha256/" H64 "0", BP_ARCHIVE_OTHER, 0 },
		{ "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.tar",
		  BP_ARCHIVE_OTHER, 0 },
		{ H64 ".tar.gz", BP_ARCHIVE_OTHER, 0 },
		{ "../" H64 ".tar", BP_ARCHIVE_OTHER, 0 },
		{ "/" H64 ".tar", BP_ARCHIVE_OTHER, 0 },
		{ "x/" H64 ".tar", BP_ARCHIVE_OTHER, 0 },
		{ H64 "/../manifest.json", BP_ARCHIVE_OTHER, 0 },
		{ "manifest.json.bak", BP_ARCHIVE_OTHER, 0 },
		{ "", BP_ARCHIVE_OTHER, 0 },
		{ ".", BP_ARCHIVE_OTHER, 0 },
	};
	char hex[65];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bp_archive_member_kind k = bp_archive__member_kind(rows[i].name, hex);

		if (k != rows[i].kind)
			fail_msg("%s: kind %d, want %d", rows[i].name, k, rows[i].kind);
		assert_string_equal(hex, rows[i].hex ? H64 : "");
	}
	assert_int_equal(bp_archive__member_kind(NULL, NULL), BP_ARCHIVE_OTHER);
}

/* ---- reading skopeo's archives ---- */

/* An image matches layout l, its layers uncompressed and named by the archive. */
static void check_image(bp_archive *a, const bp_archive_image *img, const struct layout *l, int oci,
			bp_compression comp)
{
	char got[BP_DIGEST_MAX];
	size_t i;

	assert_string_equal(img->config_digest, l->config);
	assert_int_equal(bp_digest_buf(got, img->config, img->config_len), 0);
	assert_string_equal(got, l->config);
	assert_int_equal(img->nlayers, l->nlayers);
	for (i = 0; i < img->nlayers; i++) {
		const bp_archive_layer *ly = &img->layers[i];
		unsigned char b;

		assert_string_equal(ly->diff_id, l->diff_ids[i]);
		assert_int_equal(ly->compression, comp);
		layer_digest(a, ly, got);
		/* what the archive holds is the layer as diff_id or descriptor says */
		assert_string_equal(got,
				    comp == BP_COMPRESSION_NONE ? l->diff_ids[i] : l->layers[i]);
		if (oci) {
			assert_non_null(ly->media_type);
			assert_string_equal(ly->digest, got);
		} else {
			assert_null(ly->media_type);
		}
		/* the window ends at the layer's end */
		assert_int_equal(bp_archive__read_at(a, ly, (uint64_t)ly->size, &b, 1), 0);
		assert_int_equal(bp_archive__read_at(a, ly, (uint64_t)ly->size - 1, &b, 100), 1);
	}
	if (oci) {
		assert_non_null(img->manifest);
		assert_int_equal(bp_digest_buf(got, img->manifest, img->manifest_len), 0);
		assert_string_equal(got, img->manifest_digest);
	} else {
		assert_null(img->manifest);
		assert_string_equal(img->manifest_digest, "");
	}
}

static int has_tag(const bp_archive_image *img, const char *tag)
{
	size_t i;

	for (i = 0; i < img->ntags; i++) {
		if (strcmp(img->tags[i], tag) == 0)
			return 1;
	}
	return 0;
}

static const struct {
	const char *ref;
	int rc;
	const char *msg;
} python_refs[] = {
	{ NULL, 0, NULL },
	{ "beam/python:latest", 0, NULL },
	{ "beam/python", 0, NULL },
	{ "docker.io/beam/python:latest", 0, NULL },
	{ "index.docker.io/beam/python:latest", 0, NULL },
	{ "beam/python:2.3.0", BP_ENOTFOUND, "tags: docker.io/beam/python:latest" },
	{ "python:latest", BP_ENOTFOUND, "docker.io/library/python:latest is not in archive" },
	{ "beam/python@sha256:" H64, BP_EINVAL, "by tag" },
	{ "Bad Ref!", BP_EINVAL, NULL },
};

static void test_skopeo_legacy(void **state)
{
	const bp_archive_image *img;
	bp_archive *a;
	char *file;
	size_t i;

	if (!have_skopeo)
		skip();
	file = skopeo_archive(&img1, "legacy.tar", "beam/python:latest", "");
	assert_int_equal(bp_archive__open(&a, file), 0);
	assert_string_equal(bp_archive__path(a), file);
	for (i = 0; i < sizeof(python_refs) / sizeof(python_refs[0]); i++) {
		int rc = bp_archive__find(a, python_refs[i].ref, NULL, &img);

		if (rc != python_refs[i].rc)
			fail_msg("%s: got %d (%s)",
				 python_refs[i].ref ? python_refs[i].ref : "NULL", rc,
				 bp_error_last());
		if (python_refs[i].msg && !strstr(bp_error_last(), python_refs[i].msg))
			fail_msg("%s: message \"%s\"", python_refs[i].ref, bp_error_last());
		if (rc)
			continue;
		check_image(a, img, &img1, 0, BP_COMPRESSION_NONE);
		assert_int_equal(img->ntags, 1);
		assert_string_equal(img->tags[0], "docker.io/beam/python:latest");
		assert_null(img->config_media_type);
	}
	bp_archive__free(a);
	free(file);
}

static void test_additional_tags(void **state)
{
	const bp_archive_image *img;
	bp_archive *a;
	char *file;

	if (!have_skopeo)
		skip();
	file = skopeo_archive(&img1, "tags.tar", "beam/python:latest",
			      "--additional-tag localhost:5000/beam/python:2.3.0");
	assert_int_equal(bp_archive__open(&a, file), 0);
	assert_int_equal(bp_archive__find(a, NULL, NULL, &img), 0);
	assert_int_equal(img->ntags, 2);
	assert_true(has_tag(img, "localhost:5000/beam/python:2.3.0"));
	assert_int_equal(bp_archive__find(a, "localhost:5000/beam/python:2.3.0", NULL, &img), 0);
	check_image(a, img, &img1, 0, BP_COMPRESSION_NONE);
	assert_int_equal(bp_archive__find(a, "localhost:5000/beam/python", NULL, &img),
			 BP_ENOTFOUND);
	bp_archive__free(a);
	free(file);
}

/* Two skopeo archives merged by hand into one legacy archive of two images. */
static char *two_image_archive(void)
{
	char *a1, *a2, *dir = fresh_dir("two"), *m1, *m2, *p, *merged, *out;
	size_t l1, l2;

	a1 = skopeo_archive(&img1, "two-1.tar", "beam/python:latest", "");
	a2 = skopeo_archive(&img2, "two-2.tar", "beam/java:latest", "");
	run("tar -C %s -xf %s && mv %s/manifest.json %s/m1 && tar -C %s -xf %s", dir, a1, dir, dir,
	    dir, a2);
	p = bp_aprintf("%s/m1", dir);
	m1 = read_path(p, &l1);
	free(p);
	p = bp_aprintf("%s/manifest.json", dir);
	m2 = read_path(p, &l2);
	/* [a] + [b] = [a,b] */
	merged = bp_aprintf("%.*s,%s", (int)(l1 - 1), m1, m2 + 1);
	write_path(p, merged, strlen(merged));
	free(p);
	p = bp_aprintf("%s/m1", dir);
	unlink(p);
	free(p);
	out = path_of("two-%d.tar", serial++);
	/* "./" prefixes, as `tar -C dir .` writes them */
	run("tar -C %s -cf %s .", dir, out);
	free(a1);
	free(a2);
	free(m1);
	free(m2);
	free(merged);
	free(dir);
	return out;
}

static void test_two_images(void **state)
{
	const bp_archive_image *img;
	bp_archive *a;
	char *file;

	if (!have_skopeo)
		skip();
	file = two_image_archive();
	assert_int_equal(bp_archive__open(&a, file), 0);
	assert_int_equal(bp_archive__find(a, NULL, NULL, &img), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "holds 2 images"));
	assert_non_null(strstr(bp_error_last(), "docker.io/beam/python:latest"));
	assert_non_null(strstr(bp_error_last(), "docker.io/beam/java:latest"));
	assert_non_null(strstr(bp_error_last(), "docker-archive:"));
	assert_int_equal(bp_archive__find(a, "beam/java", NULL, &img), 0);
	check_image(a, img, &img2, 0, BP_COMPRESSION_NONE);
	assert_int_equal(bp_archive__find(a, "beam/python:latest", NULL, &img), 0);
	check_image(a, img, &img1, 0, BP_COMPRESSION_NONE);
	assert_int_equal(bp_archive__find(a, "beam/go:latest", NULL, &img), BP_ENOTFOUND);
	assert_non_null(strstr(bp_error_last(), "docker.io/beam/java:latest"));
	bp_archive__free(a);
	free(file);
}

/* ---- Docker 25+ archives, by hand ---- */

enum {
	WITH_INDEX = 1,		/* index.json */
	WITH_MANIFEST_JSON = 2, /* manifest.json with blobs/sha256 paths */
	ANNOTATE = 4,		/* io.containerd.image.name in index.json */
	PLATFORM_INDEX = 8,	/* index.json -> an OCI index -> amd64 (here) + arm64 (absent) */
	BROKEN_INDEX = 16,	/* index.json is not JSON */
};

static void copy_blob(const struct layout *l, const char *dir, const char *digest)
{
	char *from = blob_path(l->dir, digest);

	run("cp %s %s/blobs/sha256/", from, dir);
	free(from);
}

/* An OCI layout of uncompressed layers, from a skopeo legacy archive of l. */
static void uncompressed_layout(struct layout *out, const struct layout *l)
{
	char *file = skopeo_archive(l, "uncompressed.tar", "x/y:z", "");
	char *dir = fresh_dir("uncompressed"), *mf, *p, digest[BP_DIGEST_MAX];
	bp_dynbuf b = BP_DYNBUF_INIT(1 << 20);
	size_t i, len;

	run("mkdir -p %s/blobs/sha256 && tar -C %s -xf %s", dir, dir, file);
	p = bp_aprintf("%s/%s.json", dir, bp_digest_hex(l->config));
	free(read_path(p, &len));
	run("mv %s %s/blobs/sha256/%s", p, dir, bp_digest_hex(l->config));
	free(p);
	bp_dynbuf_printf(&b,
			 "{\"schemaVersion\":2,\"mediaType\":\"" BP_MEDIA_OCI_MANIFEST
			 "\",\"config\":{\"mediaType\":\"" BP_MEDIA_OCI_CONFIG
			 "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[",
			 l->config, len);
	for (i = 0; i < l->nlayers; i++) {
		p = bp_aprintf("%s/%s.tar", dir, bp_digest_hex(l->diff_ids[i]));
		free(read_path(p, &len));
		run("mv %s %s/blobs/sha256/%s", p, dir, bp_digest_hex(l->diff_ids[i]));
		free(p);
		bp_dynbuf_printf(&b,
				 "%s{\"mediaType\":\"" BP_MEDIA_OCI_LAYER
				 "\",\"digest\":\"%s\",\"size\":%zu}",
				 i ? "," : "", l->diff_ids[i], len);
	}
	bp_dynbuf_adds(&b, "]}");
	assert_int_equal(bp_digest_buf(digest, b.ptr, b.len), 0);
	p = bp_aprintf("%s/blobs/sha256/%s", dir, bp_digest_hex(digest));
	write_path(p, b.ptr, b.len);
	free(p);
	mf = bp_aprintf(
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" BP_MEDIA_OCI_MANIFEST
		"\",\"digest\":\"%s\",\"size\":%zu}]}",
		digest, b.len);
	write_text(dir, "index.json", mf);
	free(mf);
	load_layout(out, dir);
	/* uncompressed: the layer blobs are the diff_ids */
	for (i = 0; i < out->nlayers; i++)
		assert_string_equal(out->layers[i], out->diff_ids[i]);
	bp_dynbuf_release(&b);
	free(dir);
	free(file);
}

/* Write a Docker 25+ style archive of images ls[] (named names[]) with flags. */
static char *docker25_archive(const struct layout *const *ls, const char *const *names, size_t n,
			      int flags)
{
	char *dir = fresh_dir("d25"), *out = path_of("d25-%d.tar", serial++), *p;
	bp_dynbuf index = BP_DYNBUF_INIT(1 << 20), mj = BP_DYNBUF_INIT(1 << 20);
	size_t i, k;

	run("mkdir -p %s/blobs/sha256", dir);
	write_text(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	bp_dynbuf_adds(&index, "{\"schemaVersion\":2,\"mediaType\":\"" BP_MEDIA_OCI_INDEX
			       "\",\"manifests\":[");
	bp_dynbuf_adds(&mj, "[");
	for (i = 0; i < n; i++) {
		const struct layout *l = ls[i];
		char top[BP_DIGEST_MAX];
		int64_t top_size;

		copy_blob(l, dir, l->manifest);
		copy_blob(l, dir, l->config);
		for (k = 0; k < l->nlayers; k++)
			copy_blob(l, dir, l->layers[k]);
		bp_strlcpy(top, l->manifest, sizeof(top));
		top_size = l->manifest_size;
		if (flags & PLATFORM_INDEX) {
			char *idx = bp_aprintf(
				"{\"schemaVersion\":2,\"mediaType\":\"" BP_MEDIA_OCI_INDEX
				"\",\"manifests\":[{\"mediaType\":\"" BP_MEDIA_OCI_MANIFEST
				"\",\"digest\":\"sha256:" H64 "\",\"size\":100,\"platform\":{"
				"\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
				"{\"mediaType\":\"" BP_MEDIA_OCI_MANIFEST
				"\",\"digest\":\"%s\",\"size\":%lld,\"platform\":{"
				"\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
				l->manifest, (long long)l->manifest_size);

			assert_int_equal(bp_digest_buf(top, idx, strlen(idx)), 0);
			top_size = (int64_t)strlen(idx);
			p = blob_path(dir, top);
			write_path(p, idx, strlen(idx));
			free(p);
			free(idx);
		}
		bp_dynbuf_printf(&index, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld",
				 i ? "," : "",
				 flags & PLATFORM_INDEX ? BP_MEDIA_OCI_INDEX
							: BP_MEDIA_OCI_MANIFEST,
				 top, (long long)top_size);
		if (flags & ANNOTATE)
			bp_dynbuf_printf(&index,
					 ",\"annotations\":{\"io.containerd.image.name\":\"%s\","
					 "\"org.opencontainers.image.ref.name\":\"latest\"}",
					 names[i]);
		bp_dynbuf_adds(&index, "}");
		bp_dynbuf_printf(&mj,
				 "%s{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"%s\"],"
				 "\"Layers\":[",
				 i ? "," : "", bp_digest_hex(l->config), names[i]);
		for (k = 0; k < l->nlayers; k++)
			bp_dynbuf_printf(&mj, "%s\"blobs/sha256/%s\"", k ? "," : "",
					 bp_digest_hex(l->layers[k]));
		bp_dynbuf_adds(&mj, "]}");
	}
	bp_dynbuf_adds(&index, "]}");
	bp_dynbuf_adds(&mj, "]");
	if (flags & WITH_INDEX)
		write_text(dir, "index.json",
			   flags & BROKEN_INDEX ? "{\"manifests\": [" : index.ptr);
	if (flags & WITH_MANIFEST_JSON)
		write_text(dir, "manifest.json", mj.ptr);
	run("tar -C %s -cf %s .", dir, out);
	bp_dynbuf_release(&index);
	bp_dynbuf_release(&mj);
	free(dir);
	return out;
}

static void test_docker25(void **state)
{
	static const struct {
		const char *what;
		int flags;
		const char *ref;
		const char *platform;
		int rc;
		int oci; /* found through index.json */
		int uncompressed;
	} rows[] = {
		{ "containerd store", WITH_INDEX | WITH_MANIFEST_JSON | ANNOTATE, "beam/python",
		  NULL, 0, 1, 0 },
		{ "classic store", WITH_INDEX | WITH_MANIFEST_JSON | ANNOTATE, "beam/python", NULL,
		  0, 1, 1 },
		{ "no ref", WITH_INDEX | WITH_MANIFEST_JSON | ANNOTATE, NULL, NULL, 0, 1, 0 },
		{ "not there", WITH_INDEX | WITH_MANIFEST_JSON | ANNOTATE, "beam/go", NULL,
		  BP_ENOTFOUND, 0, 0 },
		{ "no annotations", WITH_INDEX | WITH_MANIFEST_JSON, "beam/python:latest", NULL, 0,
		  1, 0 },
		{ "index.json only", WITH_INDEX | ANNOTATE, "docker.io/beam/python", NULL, 0, 1,
		  0 },
		{ "index.json only, no ref", WITH_INDEX, NULL, NULL, 0, 1, 0 },
		{ "index.json only, no name", WITH_INDEX, "beam/python", NULL, BP_ENOTFOUND, 0, 0 },
		{ "manifest.json only", WITH_MANIFEST_JSON, "beam/python", NULL, 0, 0, 0 },
		{ "broken index.json", WITH_INDEX | BROKEN_INDEX | WITH_MANIFEST_JSON,
		  "beam/python", NULL, 0, 0, 0 },
		{ "broken index.json alone", WITH_INDEX | BROKEN_INDEX, NULL, NULL, BP_EINVAL, 0,
		  0 },
		{ "platform index", WITH_INDEX | PLATFORM_INDEX | ANNOTATE, "beam/python",
		  "linux/amd64", 0, 1, 0 },
		{ "platform index, default", WITH_INDEX | PLATFORM_INDEX | ANNOTATE, "beam/python",
		  NULL, 0, 1, 0 },
		{ "platform absent from the archive", WITH_INDEX | PLATFORM_INDEX | ANNOTATE,
		  "beam/python", "linux/arm64/v8", BP_EINVAL, 0, 0 },
		{ "platform absent from the index", WITH_INDEX | PLATFORM_INDEX | ANNOTATE,
		  "beam/python", "linux/s390x", BP_ENOTFOUND, 0, 0 },
		{ "bad platform", WITH_INDEX | PLATFORM_INDEX | ANNOTATE, "beam/python", "linux",
		  BP_EINVAL, 0, 0 },
		{ "platform index via manifest.json",
		  WITH_INDEX | PLATFORM_INDEX | WITH_MANIFEST_JSON, "beam/python", NULL, 0, 1, 0 },
	};
	static const char *const names[] = { "docker.io/beam/python:latest" };
	struct layout unc;
	const struct layout *ls[1];
	size_t i;

	if (!have_skopeo)
		skip();
	uncompressed_layout(&unc, &img1);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const bp_archive_image *img;
		bp_archive *a;
		char *file;
		int rc;

		/* the PLATFORM rows need this machine to be linux/amd64 */
		if ((rows[i].flags & PLATFORM_INDEX) && !rows[i].platform && rows[i].rc == 0 &&
		    strcmp(bp_platform_default(), "linux/amd64") != 0)
			continue;
		ls[0] = rows[i].uncompressed ? &unc : &img1;
		file = docker25_archive(ls, names, 1, rows[i].flags);
		assert_int_equal(bp_archive__open(&a, file), 0);
		rc = bp_archive__find(a, rows[i].ref, rows[i].platform, &img);
		if (rc != rows[i].rc)
			fail_msg("%s: got %d (%s), want %d", rows[i].what, rc, bp_error_last(),
				 rows[i].rc);
		if (!rc) {
			check_image(a, img, ls[0], rows[i].oci,
				    rows[i].uncompressed ? BP_COMPRESSION_NONE
							 : BP_COMPRESSION_GZIP);
			if (rows[i].oci) {
				assert_string_equal(img->manifest_digest, ls[0]->manifest);
				assert_string_equal(img->config_media_type, BP_MEDIA_OCI_CONFIG);
				assert_string_equal(img->manifest_media_type,
						    BP_MEDIA_OCI_MANIFEST);
				assert_string_equal(img->layers[0].media_type,
						    rows[i].uncompressed ? BP_MEDIA_OCI_LAYER
									 : BP_MEDIA_OCI_LAYER_GZIP);
			} else {
				/* blobs/sha256/<hex> names the digest even without index.json */
				assert_string_equal(img->layers[0].digest, ls[0]->layers[0]);
			}
			if (rows[i].ref)
				assert_true(has_tag(img, "docker.io/beam/python:latest"));
		}
		bp_archive__free(a);
		free(file);
	}
	free(unc.dir);
}

/* index.json wins over manifest.json when they disagree. */
static void test_docker25_prefers_index(void **state)
{
	static const char *const names[] = { "docker.io/beam/python:latest",
					     "docker.io/beam/java:latest" };
	const struct layout *ls[2] = { &img1, &img2 };
	const bp_archive_image *img;
	char *file, *dir = fresh_dir("prefer"), *out = path_of("prefer.tar");
	bp_archive *a;

	file = docker25_archive(ls, names, 2, WITH_INDEX | WITH_MANIFEST_JSON | ANNOTATE);
	assert_int_equal(bp_archive__open(&a, file), 0);
	assert_int_equal(bp_archive__find(a, NULL, NULL, &img), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "2 images"));
	assert_int_equal(bp_archive__find(a, "beam/java", NULL, &img), 0);
	check_image(a, img, &img2, 1, BP_COMPRESSION_GZIP);
	bp_archive__free(a);

	/* manifest.json swapped: python's tag on java's config */
	run("tar -C %s -xf %s && sed -i 's/beam\\/python/beam\\/TMP/; "
	    "s/beam\\/java/beam\\/python/; "
	    "s/beam\\/TMP/beam\\/java/' %s/manifest.json && tar -C %s -cf %s .",
	    dir, file, dir, dir, out);
	assert_int_equal(bp_archive__open(&a, out), 0);
	assert_int_equal(bp_archive__find(a, "beam/python", NULL, &img), 0);
	check_image(a, img, &img1, 1, BP_COMPRESSION_GZIP);
	bp_archive__free(a);
	free(file);
	free(dir);
	free(out);
}

/* ---- bad archives ---- */

/* A tiny legacy archive extracted into a fresh directory; its names in *cfg and *layer. */
static char *extract_tiny(char cfg[65], char layer[65])
{
	char *file = skopeo_archive(&img3, "tiny.tar", "tiny:1", "");
	char *dir = fresh_dir("bad");

	run("tar -C %s -xf %s", dir, file);
	bp_strlcpy(cfg, bp_digest_hex(img3.config), 65);
	bp_strlcpy(layer, bp_digest_hex(img3.diff_ids[0]), 65);
	free(file);
	return dir;
}

static void test_bad_archives(void **state)
{
	/*
	 * Each row edits an extracted tiny archive with a shell snippet run in
	 * its directory ($C: config hex, $L: layer hex), tars it with the tar
	 * options given, and says what open and find return.
	 */
	static const struct {
		const char *what;
		const char *edit;
		const char *tar_opts;
		int open_rc;
		int find_rc;
		const char *msg;
	} rows[] = {
		{ "as is", "true", "", 0, 0, NULL },
		{ "missing layer",
		  "printf "
		  "'[{\"Config\":\"%s.json\",\"RepoTags\":[\"tiny:1\"],\"Layers\":[\"%s.tar\"]}]' "
		  "$C "
		  "$(printf '0%.0s' $(seq 64)) > manifest.json",
		  "", 0, BP_EINVAL, "is not in the archive" },
		{ "layer outside the shapes",
		  "mkdir -p x && cp $L.tar x/layer.tar && printf "
		  "'[{\"Config\":\"%s.json\",\"Layers\":"
		  "[\"x/layer.tar\"]}]' $C > manifest.json",
		  "", 0, BP_EINVAL, "not a name" },
		{ "dot-dot in manifest.json",
		  "printf '[{\"Config\":\"%s.json\",\"Layers\":[\"../%s.tar\"]}]' $C $L > "
		  "manifest.json",
		  "", 0, BP_EINVAL, "not a name" },
		{ "absolute in manifest.json",
		  "printf '[{\"Config\":\"%s.json\",\"Layers\":[\"/%s.tar\"]}]' $C $L > "
		  "manifest.json",
		  "", 0, BP_EINVAL, "not a name" },
		{ "dot-dot member", "echo x > evil", "-P --transform=s,^\\./evil,../evil,",
		  BP_EPROTO, 0, "unsafe member name" },
		{ "absolute member", "echo x > evil", "-P --transform=s,^\\./evil,/tmp/evil,",
		  BP_EPROTO, 0, "unsafe member name" },
		{ "symlink inside",
		  "mkdir -p $C && ln -s ../$L.tar $C/layer.tar && printf '[{\"Config\":\"%s.json\","
		  "\"RepoTags\":[\"tiny:1\"],\"Layers\":[\"%s/layer.tar\"]}]' $C $C > "
		  "manifest.json",
		  "", 0, 0, NULL },
		{ "hard link inside",
		  "mkdir -p $C && ln $L.tar $C/layer.tar && printf '[{\"Config\":\"%s.json\","
		  "\"RepoTags\":[\"tiny:1\"],\"Layers\":[\"%s/layer.tar\"]}]' $C $C > "
		  "manifest.json",
		  "--sort=name", 0, 0, NULL },
		{ "symlink escaping",
		  "mkdir -p $C && ln -s ../../../etc/passwd $C/layer.tar && printf '[{\"Config\":"
		  "\"%s.json\",\"Layers\":[\"%s/layer.tar\"]}]' $C $C > manifest.json",
		  "", 0, BP_EPROTO, "outside the archive" },
		{ "absolute symlink",
		  "mkdir -p $C && ln -s /etc/passwd $C/layer.tar && printf '[{\"Config\":"
		  "\"%s.json\",\"Layers\":[\"%s/layer.tar\"]}]' $C $C > manifest.json",
		  "", 0, BP_EPROTO, "outside the archive" },
		{ "symlink to another shape",
		  "mkdir -p $C && ln -s ../manifest.json $C/layer.tar && printf '[{\"Config\":"
		  "\"%s.json\",\"Layers\":[\"%s/layer.tar\"]}]' $C $C > manifest.json",
		  "", 0, BP_EINVAL, "not a name" },
		{ "symlink loop",
		  "mkdir -p $C $L && ln -s ../$L/layer.tar $C/layer.tar && ln -s ../$C/layer.tar "
		  "$L/layer.tar && printf "
		  "'[{\"Config\":\"%s.json\",\"Layers\":[\"%s/layer.tar\"]}]' $C "
		  "$C > manifest.json",
		  "", 0, BP_EPROTO, "links" },
		{ "config corrupted", "sed -i 's/amd64/AMD64/' $C.json", "", 0, BP_EINTEGRITY,
		  "digest mismatch" },
		{ "config not named by digest",
		  "mv $C.json config.json && sed -i 's/'$C'.json/config.json/' manifest.json", "",
		  0, BP_EINVAL, "config" },
		{ "config missing", "rm $C.json", "", 0, BP_EINVAL, "is not in the archive" },
		{ "diff_ids fewer than layers",
		  "sed 's/\"diff_ids\":\\[[^]]*\\]/\"diff_ids\":[]/' $C.json > new && "
		  "N=$(sha256sum new | cut -c1-64) && mv new $N.json && sed -i \"s/$C/$N/\" "
		  "manifest.json",
		  "", 0, BP_EINVAL, "diff_ids" },
		{ "manifest.json not JSON", "echo '[{' > manifest.json", "", 0, BP_EINVAL,
		  "not valid JSON" },
		{ "manifest.json not an array", "echo '{}' > manifest.json", "", 0, BP_EINVAL,
		  "not a JSON array" },
		{ "entry without Config", "echo '[{\"Layers\":[]}]' > manifest.json", "", 0,
		  BP_EINVAL, "Config" },
		{ "no image", "echo '[]' > manifest.json", "", 0, BP_ENOTFOUND, "no image" },
		{ "not a docker archive", "rm manifest.json", "", 0, BP_EINVAL,
		  "neither manifest.json nor index.json" },
		{ "manifest.json a directory", "rm manifest.json && mkdir manifest.json", "", 0,
		  BP_EINVAL, "not a regular file" },
		{ "later manifest.json wins",
		  "mkdir -p later && sed 's/tiny:1/tiny:2/' manifest.json > later/manifest.json",
		  "LATER", 0, 0, NULL },
	};
	char cfg[65], layer[65];
	size_t i;

	if (!have_skopeo)
		skip();
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *dir = extract_tiny(cfg, layer), *out = path_of("bad-%zu.tar", i);
		const bp_archive_image *img;
		bp_archive *a = NULL;
		int rc;

		run("cd %s && C=%s L=%s && %s", dir, cfg, layer, rows[i].edit);
		if (strcmp(rows[i].tar_opts, "LATER") == 0)
			run("tar -C %s --exclude=./later -cf %s . && tar -C %s/later -rf %s "
			    "manifest.json",
			    dir, out, dir, out);
		else
			run("tar -C %s %s -cf %s . 2>/dev/null", dir, rows[i].tar_opts, out);
		rc = bp_archive__open(&a, out);
		if (rc != rows[i].open_rc)
			fail_msg("%s: open gave %d (%s)", rows[i].what, rc, bp_error_last());
		if (!rc) {
			rc = bp_archive__find(
				a, strcmp(rows[i].tar_opts, "LATER") ? NULL : "tiny:2", NULL, &img);
			if (rc != rows[i].find_rc)
				fail_msg("%s: find gave %d (%s)", rows[i].what, rc,
					 bp_error_last());
			if (!rc)
				check_image(a, img, &img3, 0, BP_COMPRESSION_NONE);
			bp_archive__free(a);
		}
		if (rows[i].msg && !strstr(bp_error_last(), rows[i].msg))
			fail_msg("%s: message \"%s\" lacks \"%s\"", rows[i].what, bp_error_last(),
				 rows[i].msg);
		free(dir);
		free(out);
	}
}

/* Every truncation of an archive is an error at open, never a crash. */
static void test_truncated(void **state)
{
	char *file, *copy = path_of("truncated.tar"), *data;
	bp_archive *a;
	size_t len, cut;
	int fd;

	if (!have_skopeo)
		skip();
	file = skopeo_archive(&img3, "whole.tar", "tiny:1", "");
	data = read_path(file, &len);
	write_path(copy, data, len);
	assert_int_equal(bp_archive__open(&a, copy), 0);
	bp_archive__free(a);
	fd = open(copy, O_WRONLY);
	assert_true(fd >= 0);
	/* from the end down: Go writes no record padding after the marker */
	for (cut = len; cut-- > 0;) {
		int rc;

		assert_int_equal(ftruncate(fd, (off_t)cut), 0);
		rc = bp_archive__open(&a, copy);
		if (rc != BP_EPROTO)
			fail_msg("cut at %zu of %zu: %d (%s)", cut, len, rc, bp_error_last());
	}
	close(fd);
	assert_int_equal(bp_archive__open(&a, base), BP_EINVAL);
	assert_int_equal(bp_archive__open(&a, "/nonexistent/x.tar"), BP_ENOTFOUND);
	assert_int_equal(bp_archive__open(&a, ""), BP_EINVAL);
	free(data);
	free(file);
	free(copy);
}

/* ---- writing ---- */

struct mem {
	const unsigned char *p;
	size_t len, pos;
};

static long mem_read(void *buf, size_t len, void *payload)
{
	struct mem *m = payload;
	size_t n = m->len - m->pos;

	if (n > len)
		n = len;
	if (n > 777)
		n = 777;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (long)n;
}

/* Copy a legacy archive's image with our writer, then read it back every way. */
static void test_write_round_trip(void **state)
{
	static const char *const tags[] = { "beam/python:latest",
					    "localhost:5000/beam/python:2.3.0",
					    "beam/python:latest" };
	char *src, *out = path_of("written.tar"), *oci = path_of("written-oci"),
		   *dirt = path_of("written-dir"), *p, *text;
	const bp_archive_image *img, *back;
	bp_archive_writer *w;
	bp_archive *a, *b;
	size_t i;

	if (!have_skopeo)
		skip();
	src = skopeo_archive(&img2, "source.tar", "beam/java:latest", "");
	assert_int_equal(bp_archive__open(&a, src), 0);
	assert_int_equal(bp_archive__find(a, NULL, NULL, &img), 0);
	write_path(out, "old", 3);
	assert_int_equal(bp_archive__create(&w, out), 0);
	assert_int_equal(
		bp_archive__add_image(w, img->config, img->config_len, img->config_digest, tags, 3),
		0);
	for (i = 0; i < img->nlayers; i++) {
		bp_archive_cursor c;

		bp_archive__cursor_init(&c, a, &img->layers[i]);
		/* the first with its size, the others patched afterwards */
		assert_int_equal(bp_archive__add_layer(w, img->layers[i].diff_id,
						       i == 0 ? img->layers[i].size : -1,
						       bp_archive__cursor_read, &c),
				 0);
	}
	/* nothing is in place before commit */
	p = read_path(out, NULL);
	assert_string_equal(p, "old");
	free(p);
	assert_int_equal(bp_archive__commit(w), 0);
	assert_int_equal(count_prefixed(base, ".written.tar.tmp-"), 0);

	/* our reader */
	assert_int_equal(bp_archive__open(&b, out), 0);
	assert_int_equal(bp_archive__find(b, NULL, NULL, &back), 0);
	check_image(b, back, &img2, 0, BP_COMPRESSION_NONE);
	assert_int_equal(back->ntags, 2);
	assert_int_equal(bp_archive__find(b, "localhost:5000/beam/python:2.3.0", NULL, &back), 0);
	assert_string_equal(back->config_digest, img->config_digest);
	assert_int_equal(bp_archive__find(b, "beam/python", NULL, &back), 0);
	bp_archive__free(b);

	/* GNU tar */
	run("test \"$(tar -tf %s | sort)\" = \"$(printf '%%s\\n' %s.json %s.tar %s.tar %s.tar "
	    "manifest.json repositories | sort)\"",
	    out, bp_digest_hex(img2.config), bp_digest_hex(img2.diff_ids[0]),
	    bp_digest_hex(img2.diff_ids[1]), bp_digest_hex(img2.diff_ids[2]));
	p = bp_aprintf("%s-x", out);
	run("mkdir %s && tar -C %s -xf %s", p, p, out);
	text = bp_aprintf("%s/repositories", p);
	free(p);
	p = read_path(text, NULL);
	free(text);
	text = bp_aprintf("{\"docker.io/beam/python\":{\"latest\":\"%s\"},\"localhost:5000/beam/"
			  "python\":{\"2.3.0\":\"%s\"}}",
			  bp_digest_hex(img2.diff_ids[2]), bp_digest_hex(img2.diff_ids[2]));
	assert_string_equal(p, text);
	free(p);
	free(text);

	/* skopeo reads it: manifest, config digest, layers */
	run("skopeo inspect docker-archive:%s >/dev/null", out);
	run("skopeo inspect --raw docker-archive:%s | grep -q '%s'", out, img2.config);
	for (i = 0; i < img2.nlayers; i++)
		run("skopeo inspect --raw docker-archive:%s | grep -q '%s'", out, img2.diff_ids[i]);
	/* the config byte for byte, every layer as its diff_id */
	run("skopeo copy -q docker-archive:%s:localhost:5000/beam/python:2.3.0 dir:%s", out, dirt);
	p = bp_aprintf("%s/%s", dirt, bp_digest_hex(img2.config));
	assert_true(exists(p));
	run("test \"$(sha256sum %s | cut -c1-64)\" = %s", p, bp_digest_hex(img2.config));
	free(p);
	for (i = 0; i < img2.nlayers; i++)
		run("test \"$(sha256sum %s/%s | cut -c1-64)\" = %s", dirt,
		    bp_digest_hex(img2.diff_ids[i]), bp_digest_hex(img2.diff_ids[i]));
	/* into an OCI layout: the same config digest, layers whose diff_ids match */
	run("skopeo copy -q --format v2s2 docker-archive:%s oci:%s:t", out, oci);
	{
		struct layout l;

		load_layout(&l, oci);
		assert_string_equal(l.config, img2.config);
		for (i = 0; i < l.nlayers; i++) {
			p = blob_path(oci, l.layers[i]);
			run("test \"$(gzip -dc %s | sha256sum | cut -c1-64)\" = %s", p,
			    bp_digest_hex(img2.diff_ids[i]));
			free(p);
		}
		free(l.dir);
	}
	bp_archive__free(a);
	free(src);
	free(out);
	free(oci);
	free(dirt);
}

static int dyn_write(const void *buf, size_t n, void *payload)
{
	return bp_dynbuf_add(payload, buf, n) == 0 ? 0 : -1;
}

static unsigned char *make_layer(const char *name, const char *content, size_t *len,
				 char digest[BP_DIGEST_MAX])
{
	bp_dynbuf b = BP_DYNBUF_INIT(1 << 20);
	bp_tarw *w;

	assert_int_equal(bp_tarw__new(&w, dyn_write, NULL, &b), 0);
	assert_int_equal(bp_tarw__add(w, name, content, strlen(content)), 0);
	assert_int_equal(bp_tarw__finish(w), 0);
	bp_tarw__free(w);
	assert_int_equal(bp_digest_buf(digest, b.ptr, b.len), 0);
	return (unsigned char *)bp_dynbuf_detach(&b, len);
}

static char *config_for(const char *const *diff_ids, size_t n)
{
	bp_dynbuf b = BP_DYNBUF_INIT(1 << 20);
	size_t i;

	bp_dynbuf_adds(&b, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
			   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
	for (i = 0; i < n; i++)
		bp_dynbuf_printf(&b, "%s\"%s\"", i ? "," : "", diff_ids[i]);
	bp_dynbuf_adds(&b, "]}}");
	return bp_dynbuf_detach(&b, NULL);
}

/* Three images sharing layers; a layer twice in one image. */
static void test_write_shared_layers(void **state)
{
	char d1[BP_DIGEST_MAX], d2[BP_DIGEST_MAX], d3[BP_DIGEST_MAX];
	unsigned char *l1, *l2, *l3;
	size_t n1, n2, n3, i;
	char *out = path_of("shared.tar"), *ca, *cb, *cc;
	const char *ida[] = { d1, d2 }, *idb[] = { d1, d3 }, *idc[] = { d1, d1 };
	const char *ta[] = { "a:1" }, *tb[] = { "b:1", "b:2" }, *tc[] = { "c:1" };
	const bp_archive_image *img;
	bp_archive_writer *w;
	bp_archive *a;
	struct mem m;

	l1 = make_layer("one", "1", &n1, d1);
	l2 = make_layer("two", "22", &n2, d2);
	l3 = make_layer("three", "333", &n3, d3);
	ca = config_for(ida, 2);
	cb = config_for(idb, 2);
	cc = config_for(idc, 2);

	assert_int_equal(bp_archive__create(&w, out), 0);
	assert_int_equal(bp_archive__add_image(w, ca, strlen(ca), NULL, ta, 1), 0);
	assert_int_equal(bp_archive__has_layer(w, d1), 0);
	m = (struct mem){ l1, n1, 0 };
	assert_int_equal(bp_archive__add_layer(w, d1, (int64_t)n1, mem_read, &m), 0);
	assert_int_equal(bp_archive__has_layer(w, d1), 1);
	/* the next image cannot start before this one has its layers */
	assert_int_equal(bp_archive__add_image(w, cb, strlen(cb), NULL, tb, 2), BP_EINVAL);
	m = (struct mem){ l2, n2, 0 };
	assert_int_equal(bp_archive__add_layer(w, d2, -1, mem_read, &m), 0);
	/* a tag of another image */
	assert_int_equal(bp_archive__add_image(w, cb, strlen(cb), NULL, ta, 1), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "already given"));
	assert_int_equal(bp_archive__add_image(w, cb, strlen(cb), NULL, tb, 2), 0);
	/* shared: the source is not read */
	assert_int_equal(bp_archive__add_layer(w, d1, -1, NULL, NULL), 0);
	m = (struct mem){ l3, n3, 0 };
	assert_int_equal(bp_archive__add_layer(w, d3, (int64_t)n3, mem_read, &m), 0);
	assert_int_equal(bp_archive__add_image(w, cc, strlen(cc), NULL, tc, 1), 0);
	assert_int_equal(bp_archive__add_layer(w, d1, -1, NULL, NULL), 0);
	assert_int_equal(bp_archive__add_layer(w, d1, -1, NULL, NULL), 0);
	assert_int_equal(bp_archive__commit(w), 0);

	run("test \"$(tar -tf %s | wc -l)\" = 8", out);
	assert_int_equal(bp_archive__open(&a, out), 0);
	assert_int_equal(bp_archive__find(a, NULL, NULL, &img), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "3 images"));
	assert_int_equal(bp_archive__find(a, "b:2", NULL, &img), 0);
	assert_int_equal(img->nlayers, 2);
	assert_string_equal(img->layers[0].diff_id, d1);
	assert_string_equal(img->layers[1].diff_id, d3);
	assert_int_equal(bp_archive__find(a, "c:1", NULL, &img), 0);
	assert_int_equal(img->layers[0].offset, img->layers[1].offset);
	for (i = 0; i < img->nlayers; i++) {
		char got[BP_DIGEST_MAX];

		layer_digest(a, &img->layers[i], got);
		assert_string_equal(got, d1);
	}
	bp_archive__free(a);
	if (have_skopeo) {
		run("skopeo inspect --raw docker-archive:%s:docker.io/library/b:1 | grep -q %s",
		    out, d3);
		run("skopeo inspect --raw docker-archive:%s:c:1 >/dev/null", out);
	}
	free(l1);
	free(l2);
	free(l3);
	free(ca);
	free(cb);
	free(cc);
	free(out);
}

static long failing_read(void *buf, size_t len, void *payload)
{
	bp_error_set(BP_ENET, "connection reset by peer");
	return -1;
}

/* Errors: nothing final written, nothing left behind. */
static void test_write_errors(void **state)
{
	char d1[BP_DIGEST_MAX], d2[BP_DIGEST_MAX];
	unsigned char *l1, *l2;
	size_t n1, n2;
	const char *ids[] = { d1, d2 };
	const char *tag[] = { "w:1" };
	char *cfg, *out = path_of("errors.tar"), *p;
	bp_archive_writer *w;
	struct mem m;
	int step;

	l1 = make_layer("one", "1", &n1, d1);
	l2 = make_layer("two", "22", &n2, d2);
	cfg = config_for(ids, 2);

	/* each step ends in a failed or abandoned archive */
	for (step = 0; step < 7; step++) {
		int want = 0, rc;

		write_path(out, "old", 3);
		assert_int_equal(bp_archive__create(&w, out), 0);
		assert_int_equal(bp_archive__add_image(w, cfg, strlen(cfg), NULL, tag, 1), 0);
		m = (struct mem){ l1, n1, 0 };
		switch (step) {
		case 0: /* bytes that do not hash to the diff_id */
			m = (struct mem){ l2, n2, 0 };
			rc = bp_archive__add_layer(w, d1, -1, mem_read, &m);
			assert_int_equal(rc, BP_EINTEGRITY);
			assert_non_null(strstr(bp_error_last(), "diff_id mismatch"));
			want = BP_EINTEGRITY;
			break;
		case 1: /* more bytes than said */
			rc = bp_archive__add_layer(w, d1, (int64_t)n1 - 1, mem_read, &m);
			assert_int_equal(rc, BP_EINTEGRITY);
			assert_non_null(strstr(bp_error_last(), "size mismatch"));
			want = BP_EINTEGRITY;
			break;
		case 2: /* fewer */
			rc = bp_archive__add_layer(w, d1, (int64_t)n1 + 1, mem_read, &m);
			assert_int_equal(rc, BP_EINTEGRITY);
			want = BP_EINTEGRITY;
			break;
		case 3: /* a layer missing at commit */
			assert_int_equal(bp_archive__add_layer(w, d1, -1, mem_read, &m), 0);
			want = BP_EINVAL;
			break;
		case 4: /* the source fails */
			rc = bp_archive__add_layer(w, d1, -1, failing_read, NULL);
			assert_int_equal(rc, BP_ENET);
			assert_non_null(strstr(bp_error_last(), "connection reset"));
			/* sticky */
			assert_int_equal(bp_archive__add_layer(w, d1, -1, mem_read, &m), BP_ENET);
			want = BP_ENET;
			break;
		case 5: /* out of order: refused, and the archive goes on */
			assert_int_equal(bp_archive__add_layer(w, d2, -1, mem_read, &m), BP_EINVAL);
			assert_non_null(strstr(bp_error_last(), "lists"));
			assert_int_equal(bp_archive__add_layer(w, d1, -1, mem_read, &m), 0);
			m = (struct mem){ l2, n2, 0 };
			assert_int_equal(bp_archive__add_layer(w, d2, -1, mem_read, &m), 0);
			assert_int_equal(bp_archive__add_layer(w, d2, -1, mem_read, &m), BP_EINVAL);
			want = -100; /* abort */
			break;
		case 6: /* abort after everything */
			assert_int_equal(bp_archive__add_layer(w, d1, -1, mem_read, &m), 0);
			m = (struct mem){ l2, n2, 0 };
			assert_int_equal(bp_archive__add_layer(w, d2, -1, mem_read, &m), 0);
			want = -100;
			break;
		}
		if (want == -100)
			bp_archive__abort(w);
		else
			assert_int_equal(bp_archive__commit(w), want);
		p = read_path(out, NULL);
		assert_string_equal(p, "old");
		free(p);
		assert_int_equal(count_prefixed(base, ".errors.tar.tmp-"), 0);
	}

	/* arguments */
	assert_int_equal(bp_archive__create(&w, base), BP_EINVAL);
	p = path_of("no/such/dir/x.tar");
	assert_int_equal(bp_archive__create(&w, p), BP_ENOTFOUND);
	free(p);
	assert_int_equal(bp_archive__create(&w, out), 0);
	assert_int_equal(bp_archive__add_layer(w, d1, -1, mem_read, &m), BP_EINVAL);
	{
		static const char *const bad_tags[][1] = {
			{ "Bad Tag!" },
			{ "beam/python@sha256:" H64 },
			{ "" },
			{ NULL },
		};
		size_t i;

		for (i = 0; i < sizeof(bad_tags) / sizeof(bad_tags[0]); i++)
			assert_int_equal(
				bp_archive__add_image(w, cfg, strlen(cfg), NULL, bad_tags[i], 1),
				BP_EINVAL);
	}
	assert_int_equal(bp_archive__add_image(w, cfg, strlen(cfg), "sha256:" H64, tag, 1),
			 BP_EINTEGRITY);
	assert_int_equal(bp_archive__add_image(w, "{", 1, NULL, tag, 1), BP_EINVAL);
	assert_int_equal(
		bp_archive__add_image(w, "{\"rootfs\":{\"diff_ids\":[\"x\"]}}", 30, NULL, tag, 1),
		BP_EINVAL);
	/* none of these was sticky */
	assert_int_equal(bp_archive__commit(w), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "no image"));
	assert_int_equal(count_prefixed(base, ".errors.tar.tmp-"), 0);

	/* an image without layers, and without tags */
	assert_int_equal(bp_archive__create(&w, out), 0);
	assert_int_equal(
		bp_archive__add_image(w, "{\"rootfs\":{\"type\":\"layers\"}}", 29, NULL, NULL, 0),
		0);
	assert_int_equal(bp_archive__commit(w), 0);
	{
		const bp_archive_image *img;
		bp_archive *a;

		assert_int_equal(bp_archive__open(&a, out), 0);
		assert_int_equal(bp_archive__find(a, NULL, NULL, &img), 0);
		assert_int_equal(img->nlayers, 0);
		assert_int_equal(img->ntags, 0);
		bp_archive__free(a);
	}
	free(l1);
	free(l2);
	free(cfg);
	free(out);
}

/* ---- setup ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int find_mkimage(void)
{
	const char *root = getenv("BP_SOURCE_ROOT");
	char here[2048];

	if (root) {
		snprintf(mkimage, sizeof(mkimage), "%s/scripts/mkimage", root);
		return access(mkimage, X_OK);
	}
	snprintf(mkimage, sizeof(mkimage), "scripts/mkimage");
	if (access(mkimage, X_OK) == 0 && getcwd(here, sizeof(here))) {
		snprintf(mkimage, sizeof(mkimage), "%s/scripts/mkimage", here);
		return 0;
	}
	/* __FILE__ is tests/unit/test_store_archive.c from the source root */
	snprintf(mkimage, sizeof(mkimage), "%.*s/../../scripts/mkimage",
		 (int)(strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') - __FILE__ : 1),
		 strrchr(__FILE__, '/') ? __FILE__ : ".");
	return access(mkimage, X_OK);
}

static int setup(void **state)
{
	if (!mkdtemp(base))
		return -1;
	if (find_mkimage() != 0) {
		fprintf(stderr, "cannot find scripts/mkimage (set BP_SOURCE_ROOT)\n");
		return -1;
	}
	have_skopeo = system("skopeo --version >/dev/null 2>&1") == 0;
	make_layout(&img1, "img1", "", "2 3000");
	make_layout(&img2, "img2", "--seed 1 --sdk java", "3 2000");
	make_layout(&img3, "img3", "--seed 2", "1 100");
	return 0;
}

static int teardown(void **state)
{
	free(img1.dir);
	free(img2.dir);
	free(img3.dir);
	return nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_kind),
		cmocka_unit_test(test_skopeo_legacy),
		cmocka_unit_test(test_additional_tags),
		cmocka_unit_test(test_two_images),
		cmocka_unit_test(test_docker25),
		cmocka_unit_test(test_docker25_prefers_index),
		cmocka_unit_test(test_bad_archives),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_write_round_trip),
		cmocka_unit_test(test_write_shared_layers),
		cmocka_unit_test(test_write_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
