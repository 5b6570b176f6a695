/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/digest.h>
#include <beampush/store_oci.h>

#include "util/strutil.h"

#include <cJSON.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX                                                                       \
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"," \
	"\"manifests\":[]}"
#define REF_NAME "org.opencontainers.image.ref.name"

static char base[] = "/tmp/bp-test-oci-XXXXXX";
static int serial;

/* A new path under base, not yet created. */
static char *fresh_path(const char *what)
{
	char *p = bp_aprintf("%s/%s-%d", base, what, serial++);

	assert_non_null(p);
	return p;
}

static char *join(const char *dir, const char *name)
{
	char *p = bp_aprintf("%s/%s", dir, name);

	assert_non_null(p);
	return p;
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char *p = join(dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	free(p);
}

static char *read_text(const char *dir, const char *name)
{
	char *p = join(dir, name), *buf = calloc(1, 1 << 20);
	FILE *f = fopen(p, "r");

	assert_non_null(f);
	assert_non_null(buf);
	fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	free(p);
	return buf;
}

static mode_t mode_of(const char *dir, const char *name)
{
	char *p = join(dir, name);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_mode & 07777;
}

/* Files in DIR/blobs/sha256 whose name starts with ".tmp-", plus all. */
static void count_blob_files(const char *dir, int *tmp, int *all)
{
	char *p = join(dir, "blobs/sha256");
	DIR *d = opendir(p);
	struct dirent *de;

	assert_non_null(d);
	*tmp = *all = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		(*all)++;
		if (!strncmp(de->d_name, ".tmp-", 5))
			(*tmp)++;
	}
	closedir(d);
	free(p);
}

static bp_oci *new_layout(char **dir)
{
	bp_oci *o = NULL;

	*dir = fresh_path("layout");
	assert_int_equal(bp_oci_open(&o, *dir, 1), 0);
	return o;
}

/* Put data as a blob and fill desc for it. */
static void put_manifest(bp_oci *o, const char *data, bp_descriptor *desc)
{
	memset(desc, 0, sizeof(*desc));
	assert_int_equal(bp_digest_buf(desc->digest, data, strlen(data)), 0);
	desc->media_type = "application/vnd.oci.image.manifest.v1+json";
	desc->size = (int64_t)strlen(data);
	assert_int_equal(bp_oci_blob_put(o, desc->digest, data, strlen(data)), 0);
}

static cJSON *index_on_disk(const char *dir)
{
	char *text = read_text(dir, "index.json");
	cJSON *j = cJSON_Parse(text);

	assert_non_null(j);
	free(text);
	return j;
}

static int count_manifests(const char *dir)
{
	cJSON *j = index_on_disk(dir);
	int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "manifests"));

	cJSON_Delete(j);
	return n;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	umask(022);
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* create: the three parts, with the contents and modes the spec wants. */
static void test_create(void **state)
{
	char *dir, *text;
	bp_oci *o = new_layout(&dir), *again = NULL;
	const bp_descriptor *d = NULL;

	text = read_text(dir, "oci-layout");
	assert_string_equal(text, LAYOUT);
	free(text);
	text = read_text(dir, "index.json");
	assert_string_equal(text, EMPTY_INDEX);
	free(text);
	assert_int_equal(mode_of(dir, "oci-layout"), 0644);
	assert_int_equal(mode_of(dir, "index.json"), 0644);
	assert_int_equal(mode_of(dir, "blobs"), 0755);
	assert_int_equal(mode_of(dir, "blobs/sha256"), 0755);

	assert_int_equal(bp_oci_resolve(o, NULL, &d), BP_ENOTFOUND);
	assert_null(d);
	assert_non_null(strstr(bp_error_last(), "holds no image"));
	bp_oci_free(o);

	/* opening again, with or without create, finds the same layout */
	assert_int_equal(bp_oci_open(&again, dir, 0), 0);
	bp_oci_free(again);
	assert_int_equal(bp_oci_open(&again, dir, 1), 0);
	bp_oci_free(again);
	free(dir);

	/* an existing empty directory is made a layout; parents are created */
	dir = fresh_path("empty");
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(bp_oci_open(&o, dir, 1), 0);
	bp_oci_free(o);
	text = join(dir, "a/b/c");
	assert_int_equal(bp_oci_open(&o, text, 1), 0);
	bp_oci_free(o);
	free(text);
	free(dir);
}

struct open_row {
	const char *name;
	int kind;	    /* 0: missing path, 1: directory, 2: regular file */
	const char *layout; /* oci-layout content, NULL: none */
	const char *index;  /* index.json content, NULL: none */
	const char *other;  /* name of another file to put there, or NULL */
	int create;
	int rc;
	const char *msg;
};

/* clang-format off */
static const struct open_row open_rows[] = {
	{ "missing directory", 0, NULL, NULL, NULL, 0, BP_ENOTFOUND, "does not exist" },
	{ "empty directory, no create", 1, NULL, NULL, NULL, 0, BP_EINVAL,
	  "not an OCI image layout (it has no oci-layout file)" },
	{ "non-layout directory", 1, NULL, NULL, "README", 0, BP_EINVAL,
	  "not an OCI image layout" },
	{ "non-layout directory, create", 1, NULL, NULL, "README", 1, BP_EINVAL,
	  "is not empty and not an OCI image layout" },
	{ "a file", 2, NULL, NULL, NULL, 0, BP_EINVAL, "is not a directory" },
	{ "a file, create", 2, NULL, NULL, NULL, 1, BP_EINVAL, "is not a directory" },
	{ "oci-layout not JSON", 1, "{", EMPTY_INDEX, NULL, 0, BP_EINVAL,
	  "oci-layout is not an OCI layout file" },
	{ "oci-layout version 2", 1, "{\"imageLayoutVersion\":\"2.0.0\"}", EMPTY_INDEX, NULL,
	  0, BP_EUNSUPPORTED, "image layout version \"2.0.0\" is not supported" },
	{ "no index.json", 1, LAYOUT, NULL, NULL, 0, BP_EINVAL,
	  "has an oci-layout file but no index.json" },
	{ "no index.json, create", 1, LAYOUT, NULL, NULL, 1, BP_EINVAL,
	  "has an oci-layout file but no index.json" },
	{ "index.json not JSON", 1, LAYOUT, "{\"manifests\":", NULL, 0, BP_EINVAL,
	  "index.json is not valid JSON" },
	{ "index.json an array", 1, LAYOUT, "[]", NULL, 0, BP_EINVAL,
	  "index.json is not a JSON object" },
	{ "manifests not an array", 1, LAYOUT, "{\"manifests\":{}}", NULL, 0, BP_EINVAL,
	  "manifests is not an array" },
	{ "minimal layout", 1, LAYOUT, "{\"schemaVersion\":2}", NULL, 0, 0, NULL },
	{ "layout 1.1.0", 1, "{\"imageLayoutVersion\":\"1.1.0\"}", EMPTY_INDEX, NULL, 0, 0,
	  NULL },
};
/* clang-format on */

static void test_open_table(void **state)
{
	size_t r;

	for (r = 0; r < sizeof(open_rows) / sizeof(open_rows[0]); r++) {
		const struct open_row *row = &open_rows[r];
		char *dir = fresh_path("open");
		bp_oci *o = (bp_oci *)&r;
		int rc;

		if (row->kind == 1) {
			assert_int_equal(mkdir(dir, 0755), 0);
			if (row->layout)
				write_text(dir, "oci-layout", row->layout);
			if (row->index)
				write_text(dir, "index.json", row->index);
			if (row->other)
				write_text(dir, row->other, "x");
		} else if (row->kind == 2) {
			FILE *f = fopen(dir, "w");

			assert_non_null(f);
			fclose(f);
		}
		rc = bp_oci_open(&o, dir, row->create);
		if (rc != row->rc)
			fail_msg("%s: rc %d, want %d (%s)", row->name, rc, row->rc,
				 bp_error_last());
		if (rc) {
			assert_null(o);
			if (!strstr(bp_error_last(), row->msg) || !strstr(bp_error_last(), dir))
				fail_msg("%s: message \"%s\" lacks \"%s\" or the path", row->name,
					 bp_error_last(), row->msg);
		}
		bp_oci_free(o);
		free(dir);
	}
}

static void test_blob_put_and_read(void **state)
{
	static const char data[] = "{\"config\":true}";
	char digest[BP_DIGEST_MAX], *dir, *path, *got = NULL, *hexname;
	bp_oci *o = new_layout(&dir);
	int64_t size = 0;
	size_t len = 0;
	int fd = -1, tmp, all;

	assert_int_equal(bp_digest_buf(digest, data, sizeof(data) - 1), 0);
	assert_int_equal(bp_oci_blob_exists(o, digest, -1), 0);
	assert_int_equal(bp_oci_blob_open(o, digest, &fd, &size), BP_ENOTFOUND);
	assert_int_equal(fd, -1);
	assert_int_equal(bp_oci_blob_put(o, digest, data, sizeof(data) - 1), 0);
	assert_int_equal(bp_oci_blob_exists(o, digest, -1), 1);
	assert_int_equal(bp_oci_blob_exists(o, digest, sizeof(data) - 1), 1);
	assert_int_equal(bp_oci_blob_exists(o, digest, sizeof(data)), 0);

	path = bp_oci_blob_path(o, digest);
	hexname = bp_aprintf("%s/blobs/sha256/%s", dir, digest + 7);
	assert_string_equal(path, hexname);
	free(hexname);
	hexname = bp_aprintf("blobs/sha256/%s", digest + 7);
	assert_int_equal(mode_of(dir, hexname), 0644);

	assert_int_equal(bp_oci_blob_read(o, digest, 1024, &got, &len), 0);
	assert_int_equal(len, sizeof(data) - 1);
	assert_string_equal(got, data);
	free(got);

	/* too big for max */
	assert_int_equal(bp_oci_blob_read(o, digest, 4, &got, &len), BP_EINVAL);
	assert_null(got);

	assert_int_equal(bp_oci_blob_open(o, digest, &fd, &size), 0);
	assert_true(fd >= 0);
	assert_int_equal(size, sizeof(data) - 1);
	close(fd);

	/* a blob changed on disk is refused when read */
	write_text(dir, hexname, "{\"config\":false}");
	assert_int_equal(bp_oci_blob_read(o, digest, 1024, &got, &len), BP_EINTEGRITY);
	assert_null(got);
	assert_non_null(strstr(bp_error_last(), "digest mismatch (got sha256:"));

	/* a put with the wrong digest leaves nothing */
	unlink(path);
	assert_int_equal(bp_oci_blob_put(o, digest, "other", 5), BP_EINTEGRITY);
	count_blob_files(dir, &tmp, &all);
	assert_int_equal(all, 0);
	assert_int_equal(bp_oci_blob_exists(o, digest, -1), 0);

	/* a layout without blobs/sha256 gets it on the first write */
	free(path);
	path = join(dir, "blobs/sha256");
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(bp_oci_blob_put(o, digest, data, sizeof(data) - 1), 0);

	free(path);
	free(hexname);
	bp_oci_free(o);
	free(dir);
}

struct writer_row {
	const char *name;
	const char *chunks[4]; /* written one after another */
	const char *digest_of; /* the declared digest is of this text */
	int64_t size;	       /* declared; -2: strlen(digest_of) */
	int write_rc;	       /* of the last write */
	int rc;		       /* of commit */
	const char *msg;
};

/* clang-format off */
static const struct writer_row writer_rows[] = {
	{ "one chunk", { "layer bytes" }, "layer bytes", -2, 0, 0, NULL },
	{ "several chunks", { "lay", "er ", "bytes" }, "layer bytes", -2, 0, 0, NULL },
	{ "size not checked", { "layer", " bytes" }, "layer bytes", -1, 0, 0, NULL },
	{ "empty blob", { "" }, "", 0, 0, 0, NULL },
	{ "digest mismatch", { "layer bytez" }, "layer bytes", -1, 0, BP_EINTEGRITY,
	  "digest mismatch (got sha256:" },
	{ "digest mismatch, same size", { "layer ", "bytez" }, "layer bytes", -2, 0,
	  BP_EINTEGRITY, "digest mismatch (got sha256:" },
	{ "too short", { "layer" }, "layer bytes", -2, 0, BP_EINTEGRITY,
	  "size mismatch (got 5 bytes, expected 11)" },
	{ "too long", { "layer bytes", "!" }, "layer bytes", -2, BP_EINTEGRITY,
	  BP_EINTEGRITY, "size mismatch (more than 11 bytes)" },
};
/* clang-format on */

static void test_writer_table(void **state)
{
	char *dir;
	bp_oci *o = new_layout(&dir);
	size_t r, i;

	for (r = 0; r < sizeof(writer_rows) / sizeof(writer_rows[0]); r++) {
		const struct writer_row *row = &writer_rows[r];
		char digest[BP_DIGEST_MAX], want[BP_DIGEST_MAX + 16];
		bp_oci_writer *w = NULL;
		int64_t size = row->size == -2 ? (int64_t)strlen(row->digest_of) : row->size;
		int64_t total = 0;
		int rc = 0, tmp, all;

		assert_int_equal(bp_digest_buf(digest, row->digest_of, strlen(row->digest_of)), 0);
		assert_int_equal(bp_oci_blob_begin(o, &w, digest, size), 0);
		count_blob_files(dir, &tmp, &all);
		assert_int_equal(tmp, 1);
		assert_int_equal(mode_of(dir, "blobs/sha256"), 0755);
		for (i = 0; i < 4 && row->chunks[i]; i++) {
			rc = bp_oci_writer_write(w, row->chunks[i], strlen(row->chunks[i]));
			if (!rc)
				total += (int64_t)strlen(row->chunks[i]);
		}
		if (rc != row->write_rc)
			fail_msg("%s: write rc %d, want %d (%s)", row->name, rc, row->write_rc,
				 bp_error_last());
		assert_int_equal(bp_oci_writer_count(w), total);
		rc = bp_oci_blob_commit(w);
		if (rc != row->rc)
			fail_msg("%s: commit rc %d, want %d (%s)", row->name, rc, row->rc,
				 bp_error_last());
		count_blob_files(dir, &tmp, &all);
		assert_int_equal(tmp, 0);
		assert_int_equal(bp_oci_blob_exists(o, digest, -1), rc == 0);
		if (rc) {
			snprintf(want, sizeof(want), "blob %s: ", digest);
			if (!strstr(bp_error_last(), want) || !strstr(bp_error_last(), row->msg))
				fail_msg("%s: message \"%s\" lacks \"%s\"", row->name,
					 bp_error_last(), row->msg);
		} else {
			char *p = bp_oci_blob_path(o, digest);

			assert_int_equal(unlink(p), 0);
			free(p);
		}
	}

	/* abort removes the temporary file */
	{
		char digest[BP_DIGEST_MAX];
		bp_oci_writer *w = NULL;
		int tmp, all;

		assert_int_equal(bp_digest_buf(digest, "x", 1), 0);
		assert_int_equal(bp_oci_blob_begin(o, &w, digest, 1), 0);
		assert_int_equal(bp_oci_writer_write(w, "x", 1), 0);
		bp_oci_writer_abort(w);
		bp_oci_writer_abort(NULL);
		count_blob_files(dir, &tmp, &all);
		assert_int_equal(all, 0);
	}
	bp_oci_free(o);
	free(dir);
}

/* Blob files and index.json respect the umask. */
static void test_umask(void **state)
{
	char *dir, *name;
	bp_oci *o;
	bp_descriptor d;

	umask(027);
	o = new_layout(&dir);
	put_manifest(o, "{\"m\":1}", &d);
	assert_int_equal(bp_oci_tag(o, &d, "latest"), 0);
	name = bp_aprintf("blobs/sha256/%s", d.digest + 7);
	assert_int_equal(mode_of(dir, name), 0640);
	assert_int_equal(mode_of(dir, "index.json"), 0640);
	assert_int_equal(mode_of(dir, "blobs/sha256"), 0750);
	umask(022);
	free(name);
	bp_oci_free(o);
	free(dir);
}

/* Digests that would escape blobs/sha256, or are not sha256, never reach a path. */
static void test_bad_digests(void **state)
{
	static const struct {
		const char *digest;
		int rc;
	} rows[] = {
		{ "sha256:../../../../etc/passwd", BP_EINVAL },
		{ "sha256:/etc/passwd", BP_EINVAL },
		{ "../sha256:0000000000000000000000000000000000000000000000000000000000000000",
		  BP_EINVAL },
		{ "sha256:0000000000000000000000000000000000000000000000000000000000000000/x",
		  BP_EINVAL },
		{ "sha256:000000000000000000000000000000000000000000000000000000000000000",
		  BP_EINVAL },
		{ "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		  BP_EINVAL },
		{ "sha256:", BP_EINVAL },
		{ "", BP_EINVAL },
		{ "sha512:00000000000000000000000000000000000000000000000000000000000000000000000"
		  "000000000000000000000000000000000000000000000000000000000",
		  BP_EUNSUPPORTED },
	};
	char *dir, *got = NULL;
	bp_oci *o = new_layout(&dir);
	bp_oci_writer *w = NULL;
	bp_descriptor d;
	size_t i;
	size_t len;
	int fd = -1, tmp, all;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *dg = rows[i].digest;

		assert_null(bp_oci_blob_path(o, dg));
		assert_int_equal(bp_oci_blob_exists(o, dg, -1), 0);
		assert_int_equal(bp_oci_blob_open(o, dg, &fd, NULL), rows[i].rc);
		assert_int_equal(fd, -1);
		assert_int_equal(bp_oci_blob_read(o, dg, 100, &got, &len), rows[i].rc);
		assert_null(got);
		assert_int_equal(bp_oci_blob_begin(o, &w, dg, -1), rows[i].rc);
		assert_null(w);
		assert_int_equal(bp_oci_blob_put(o, dg, "x", 1), rows[i].rc);
		/* a descriptor's digest is a fixed array: longer ones cannot get in */
		if (strlen(dg) >= sizeof(d.digest))
			continue;
		memset(&d, 0, sizeof(d));
		bp_strlcpy(d.digest, dg, sizeof(d.digest));
		d.media_type = "application/vnd.oci.image.manifest.v1+json";
		d.size = 1;
		assert_int_equal(bp_oci_tag(o, &d, "latest"), rows[i].rc);
	}
	count_blob_files(dir, &tmp, &all);
	assert_int_equal(all, 0);
	assert_int_equal(count_manifests(dir), 0);
	bp_oci_free(o);
	free(dir);
}

static void test_tag_resolve_retag(void **state)
{
	char *dir;
	bp_oci *o = new_layout(&dir), *o2 = NULL;
	bp_descriptor m1, m2;
	const bp_descriptor *d = NULL, *first = NULL;
	cJSON *j;

	put_manifest(o, "{\"schemaVersion\":2,\"n\":1}", &m1);
	put_manifest(o, "{\"schemaVersion\":2,\"n\":2}", &m2);

	assert_int_equal(bp_oci_tag(o, &m1, "latest"), 0);
	assert_int_equal(bp_oci_resolve(o, "latest", &first), 0);
	assert_string_equal(first->digest, m1.digest);
	assert_string_equal(first->media_type, m1.media_type);
	assert_int_equal(first->size, m1.size);
	assert_string_equal(first->ref_name, "latest");
	assert_null(first->os);

	/* the only entry resolves without a tag too */
	assert_int_equal(bp_oci_resolve(o, NULL, &d), 0);
	assert_ptr_equal(d, first);

	/* retag: the entry is replaced, not added */
	assert_int_equal(bp_oci_tag(o, &m2, "latest"), 0);
	assert_int_equal(count_manifests(dir), 1);
	assert_int_equal(bp_oci_resolve(o, "latest", &d), 0);
	assert_string_equal(d->digest, m2.digest);
	/* descriptors handed out earlier stay valid */
	assert_string_equal(first->digest, m1.digest);
	assert_string_equal(first->ref_name, "latest");

	/* a borrowed descriptor can be fed back */
	assert_int_equal(bp_oci_tag(o, first, "v1"), 0);
	assert_int_equal(bp_oci_tag(o, d, "v2"), 0);
	assert_int_equal(count_manifests(dir), 3);

	assert_int_equal(bp_oci_resolve(o, NULL, &d), BP_EINVAL);
	assert_null(d);
	assert_non_null(strstr(bp_error_last(), "holds 3 images"));
	assert_non_null(strstr(bp_error_last(), "tags: latest, v1, v2"));
	assert_int_equal(bp_oci_resolve(o, "nope", &d), BP_ENOTFOUND);
	assert_non_null(strstr(bp_error_last(), "tag nope not found"));
	assert_non_null(strstr(bp_error_last(), "tags: latest, v1, v2"));
	assert_int_equal(bp_oci_resolve(o, "", &d), BP_EINVAL);

	/* what is on disk is what another handle sees */
	assert_int_equal(bp_oci_open(&o2, dir, 0), 0);
	assert_int_equal(bp_oci_resolve(o2, "v1", &d), 0);
	assert_string_equal(d->digest, m1.digest);
	assert_int_equal(bp_oci_resolve(o2, "latest", &d), 0);
	assert_string_equal(d->digest, m2.digest);
	bp_oci_free(o2);

	j = index_on_disk(dir);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "schemaVersion")->valueint, 2);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "mediaType")->valuestring,
			    "application/vnd.oci.image.index.v1+json");
	cJSON_Delete(j);

	/* a manifest that is not in blobs/ cannot be tagged */
	m1.digest[10] = m1.digest[10] == '0' ? '1' : '0';
	assert_int_equal(bp_oci_tag(o, &m1, "ghost"), BP_ENOTFOUND);
	assert_non_null(strstr(bp_error_last(), "write it before tagging"));
	assert_int_equal(count_manifests(dir), 3);
	bp_oci_free(o);
	free(dir);
}

static void test_untagged(void **state)
{
	char *dir;
	bp_oci *o = new_layout(&dir);
	bp_descriptor m1, m2;
	const bp_descriptor *d = NULL;

	put_manifest(o, "{\"a\":1}", &m1);
	put_manifest(o, "{\"a\":2}", &m2);
	assert_int_equal(bp_oci_tag(o, &m1, NULL), 0);
	assert_int_equal(bp_oci_tag(o, &m1, NULL), 0);
	assert_int_equal(count_manifests(dir), 1);
	assert_int_equal(bp_oci_resolve(o, NULL, &d), 0);
	assert_string_equal(d->digest, m1.digest);
	assert_null(d->ref_name);
	assert_int_equal(bp_oci_resolve(o, "latest", &d), BP_ENOTFOUND);
	assert_non_null(strstr(bp_error_last(), "no tags; 1 untagged"));

	assert_int_equal(bp_oci_tag(o, &m2, NULL), 0);
	assert_int_equal(bp_oci_resolve(o, NULL, &d), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "no tags; 2 untagged"));
	bp_oci_free(o);
	free(dir);
}

static void test_tag_names(void **state)
{
	static const struct {
		const char *tag;
		int ok;
	} rows[] = {
		{ "latest", 1 }, { "_x", 1 },  { "1.0-rc_1", 1 },    { "A", 1 },   { "", 0 },
		{ ".x", 0 },	 { "-x", 0 },  { "a b", 0 },	     { "a/b", 0 }, { "a:b", 0 },
		{ "../x", 0 },	 { "t\n", 0 }, { "caf\xc3\xa9", 0 },
	};
	char *dir, long_tag[130];
	bp_oci *o = new_layout(&dir);
	bp_descriptor m;
	size_t i;

	put_manifest(o, "{}", &m);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = bp_oci_tag(o, &m, rows[i].tag);

		if (rc != (rows[i].ok ? 0 : BP_EINVAL))
			fail_msg("tag \"%s\": rc %d", rows[i].tag, rc);
	}
	memset(long_tag, 'a', 128);
	long_tag[128] = '\0';
	assert_int_equal(bp_oci_tag(o, &m, long_tag), 0);
	long_tag[128] = 'a';
	long_tag[129] = '\0';
	assert_int_equal(bp_oci_tag(o, &m, long_tag), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "invalid tag"));
	bp_oci_free(o);
	free(dir);
}

/* Entries and fields we do not understand survive a rewrite. */
static void test_keeps_unknown(void **state)
{
	char *dir = fresh_path("foreign"), *index;
	bp_oci *o = NULL;
	bp_descriptor m;
	const bp_descriptor *d = NULL;
	cJSON *j, *list, *it;
	int i;

	assert_int_equal(mkdir(dir, 0755), 0);
	write_text(dir, "oci-layout", LAYOUT);
	index = bp_aprintf(
		"{\"schemaVersion\":2,\"annotations\":{\"com.example\":\"kept\"},\"x-extra\":[1,2],"
		"\"manifests\":["
		"{\"mediaType\":\"application/vnd.example.thing\",\"digest\":\"sha256:%064d\","
		"\"size\":3,\"artifactType\":\"application/x\","
		"\"annotations\":{\"" REF_NAME "\":\"thing\",\"io.containerd.image.name\":\"n\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"sha512:%0128d\",\"size\":5,"
		"\"annotations\":{\"" REF_NAME "\":\"big\"}},"
		"{\"digest\":\"sha256:nothex\",\"size\":1,\"annotations\":{\"" REF_NAME
		"\":\"bad\"}},"
		"{\"mediaType\":\"m\",\"digest\":\"sha256:%064d\",\"size\":-1,"
		"\"annotations\":{\"" REF_NAME "\":\"neg\"}},"
		"42,"
		"{\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
		"\"digest\":\"sha256:%064d\",\"size\":10,"
		"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"},"
		"\"annotations\":{\"" REF_NAME "\":\"multi\"}}"
		"]}",
		0, 0, 0, 1);
	write_text(dir, "index.json", index);
	free(index);
	assert_int_equal(bp_oci_open(&o, dir, 0), 0);

	assert_int_equal(bp_oci_resolve(o, "thing", &d), 0);
	assert_string_equal(d->media_type, "application/vnd.example.thing");
	assert_int_equal(d->size, 3);
	assert_int_equal(bp_oci_resolve(o, "multi", &d), 0);
	assert_string_equal(d->os, "linux");
	assert_string_equal(d->arch, "arm64");
	assert_string_equal(d->variant, "v8");
	assert_int_equal(bp_oci_resolve(o, "big", &d), BP_EUNSUPPORTED);
	assert_non_null(
		strstr(bp_error_last(), "the entry for big has a digest of an unsupported"));
	assert_int_equal(bp_oci_resolve(o, "bad", &d), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "has an invalid digest"));
	assert_int_equal(bp_oci_resolve(o, "neg", &d), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "has no valid size"));

	/* a platform given when tagging is written and read back */
	put_manifest(o, "{\"arm\":1}", &m);
	m.os = "linux";
	m.arch = "arm";
	m.variant = "v7";
	assert_int_equal(bp_oci_tag(o, &m, "thing"), 0);
	bp_oci_free(o);

	j = index_on_disk(dir);
	assert_string_equal(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "annotations"),
						 "com.example")
			->valuestring,
		"kept");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "x-extra")), 2);
	list = cJSON_GetObjectItemCaseSensitive(j, "manifests");
	assert_int_equal(cJSON_GetArraySize(list), 6);
	/* "thing" replaced in place: first position, new content */
	it = cJSON_GetArrayItem(list, 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "digest")->valuestring, m.digest);
	assert_null(cJSON_GetObjectItemCaseSensitive(it, "artifactType"));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(it, "platform"), "variant")
				    ->valuestring,
			    "v7");
	/* the others untouched, non-object included */
	assert_true(cJSON_IsNumber(cJSON_GetArrayItem(list, 4)));
	for (i = 1; i < 6; i++)
		assert_non_null(cJSON_GetArrayItem(list, i));
	assert_non_null(
		strstr(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 1), "digest")
			       ->valuestring,
		       "sha512:"));
	cJSON_Delete(j);

	assert_int_equal(bp_oci_open(&o, dir, 0), 0);
	assert_int_equal(bp_oci_resolve(o, "thing", &d), 0);
	assert_string_equal(d->os, "linux");
	assert_string_equal(d->arch, "arm");
	assert_string_equal(d->variant, "v7");
	bp_oci_free(o);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_open_table),
		cmocka_unit_test(test_blob_put_and_read),
		cmocka_unit_test(test_writer_table),
		cmocka_unit_test(test_umask),
		cmocka_unit_test(test_bad_digests),
		cmocka_unit_test(test_tag_resolve_retag),
		cmocka_unit_test(test_untagged),
		cmocka_unit_test(test_tag_names),
		cmocka_unit_test(test_keeps_unknown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
