/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/store_oci.h>

#include "util/fileutil.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define LAYOUT_CONTENT "{\"imageLayoutVersion\":\"1.0.0\"}"
#define INDEX_CONTENT                                                    \
	"{\"schemaVersion\":2,\"mediaType\":\"" BP_MEDIA_OCI_INDEX "\"," \
	"\"manifests\":[]}"
#define REF_NAME "org.opencontainers.image.ref.name"
/* index.json lists descriptors only; this holds tens of thousands */
#define INDEX_MAX (16 * 1024 * 1024)
#define LAYOUT_MAX 4096
/* integers a JSON number (a double) holds exactly */
#define JSON_INT_MAX 9007199254740992.0

/* One manifests[] element of index.json, as parsed. */
struct entry {
	bp_descriptor d; /* strings owned here */
	const char *bad; /* why the entry cannot be used, or NULL */
	int bad_rc;
};

/*
 * The parsed entries. A bp_oci_tag() builds a new set; the old ones stay
 * until bp_oci_free() so that descriptors handed out remain valid.
 */
struct entries {
	struct entry *e;
	size_t n;
	struct entries *older;
};

struct bp_oci {
	char *dir;
	char *blobs;	  /* DIR/blobs/sha256 */
	mode_t file_mode; /* 0644 less the umask */
	cJSON *index;	  /* index.json whole, unknown fields included */
	struct entries *entries;
};

struct bp_oci_writer {
	bp_oci *o;
	int fd;
	char *tmp; /* the temporary file while it exists */
	char digest[BP_DIGEST_MAX];
	int64_t size;
	int64_t count;
	bp_hasher *h;
	int err; /* a write failed: commit reports this */
	char errmsg[512];
	int partial;     /* tmp is .partial-HEX, locked: it may outlive the process */
	int64_t resumed; /* bytes it held when opened */
};

static int oom(void)
{
	return bp_error_set(BP_ENOMEM, "out of memory");
}

/* mkdir -p with mode 0755 (less the umask). */
static int mkdir_p(const char *path)
{
	char *p = bp_strdup(path), *s;
	struct stat st;
	int rc = 0;

	if (!p)
		return oom();
	for (s = p + 1;; s++) {
		int last = *s == '\0';

		if (*s != '/' && !last)
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			rc = bp_error_set(errno == ENOENT ? BP_ENOTFOUND : BP_EIO,
					  "cannot create directory %s: %s", p, strerror(errno));
			goto done;
		}
		if (last)
			break;
		*s = '/';
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		rc = bp_error_set(BP_EIO, "%s is not a directory", path);
done:
	free(p);
	return rc;
}

static int read_file(const char *path, size_t max, char **data, size_t *len)
{
	if (bp_read_file(path, max, data, len) == 0)
		return 0;
	if (errno == ENOENT)
		return bp_error_set(BP_ENOTFOUND, "%s does not exist", path);
	if (errno == EFBIG)
		return bp_error_set(BP_EINVAL, "%s is larger than %zu bytes", path, max);
	if (errno == ENOMEM)
		return oom();
	return bp_error_set(BP_EIO, "cannot read %s: %s", path, strerror(errno));
}

/* Write dir/name through a temporary file and a rename. */
static int write_file_atomic(const bp_oci *o, const char *name, const char *data, size_t len)
{
	char *tmp = bp_aprintf("%s/.tmp-%s-XXXXXX", o->dir, name);
	char *path = bp_aprintf("%s/%s", o->dir, name);
	int fd = -1, rc = 0;

	if (!tmp || !path) {
		rc = oom();
		goto done;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = bp_error_set(BP_EIO, "cannot create a file in %s: %s", o->dir,
				  strerror(errno));
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if (fchmod(fd, o->file_mode) < 0 || bp_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = bp_error_set(BP_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto done;
	}
	free(tmp);
	tmp = NULL;
	bp_fsync_dir(o->dir);
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

static void entries_free(struct entries *s)
{
	while (s) {
		struct entries *older = s->older;
		size_t i;

		for (i = 0; i < s->n; i++) {
			bp_descriptor *d = &s->e[i].d;

			free((char *)d->media_type);
			free((char *)d->os);
			free((char *)d->arch);
			free((char *)d->variant);
			free((char *)d->ref_name);
		}
		free(s->e);
		free(s);
		s = older;
	}
}

/* A copy of the string at obj[key], or NULL; -1 only when out of memory. */
static int dup_field(const cJSON *obj, const char *key, const char **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!cJSON_IsString(it))
		return 0;
	*out = bp_strdup(it->valuestring);
	return *out ? 0 : -1;
}

static int parse_entry(const cJSON *it, struct entry *e)
{
	const cJSON *digest, *size, *platform, *annotations;
	int rc;

	if (!cJSON_IsObject(it)) {
		e->bad = "is not a JSON object";
		e->bad_rc = BP_EINVAL;
		return 0;
	}
	platform = cJSON_GetObjectItemCaseSensitive(it, "platform");
	annotations = cJSON_GetObjectItemCaseSensitive(it, "annotations");
	if (dup_field(it, "mediaType", &e->d.media_type) < 0 ||
	    (cJSON_IsObject(platform) && (dup_field(platform, "os", &e->d.os) < 0 ||
					  dup_field(platform, "architecture", &e->d.arch) < 0 ||
					  dup_field(platform, "variant", &e->d.variant) < 0)) ||
	    (cJSON_IsObject(annotations) && dup_field(annotations, REF_NAME, &e->d.ref_name) < 0))
		return oom();

	/* other tools' entries may be anything: they are kept, not used */
	digest = cJSON_GetObjectItemCaseSensitive(it, "digest");
	if (!cJSON_IsString(digest)) {
		e->bad = "has no digest";
		e->bad_rc = BP_EINVAL;
	} else if ((rc = bp_digest_validate(digest->valuestring)) != 0) {
		e->bad = rc == BP_EUNSUPPORTED ? "has a digest of an unsupported algorithm"
					       : "has an invalid digest";
		e->bad_rc = rc;
	} else {
		bp_strlcpy(e->d.digest, digest->valuestring, sizeof(e->d.digest));
	}
	size = cJSON_GetObjectItemCaseSensitive(it, "size");
	if (cJSON_IsNumber(size) && size->valuedouble >= 0 && size->valuedouble <= JSON_INT_MAX &&
	    size->valuedouble == (double)(int64_t)size->valuedouble) {
		e->d.size = (int64_t)size->valuedouble;
	} else if (!e->bad) {
		e->bad = "has no valid size";
		e->bad_rc = BP_EINVAL;
	}
	return 0;
}

/* Parse index's manifests[] into a new set that becomes o's current one. */
static int load_entries(bp_oci *o, const cJSON *index)
{
	const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(index, "manifests");
	struct entries *s = calloc(1, sizeof(*s));
	const cJSON *it;
	size_t n = 0;
	int rc = 0;

	if (!s)
		return oom();
	s->n = (size_t)cJSON_GetArraySize(manifests);
	s->e = calloc(s->n ? s->n : 1, sizeof(*s->e));
	if (!s->e) {
		rc = oom();
		goto done;
	}
	cJSON_ArrayForEach (it, manifests) {
		rc = parse_entry(it, &s->e[n++]);
		if (rc)
			goto done;
	}
	s->older = o->entries;
	o->entries = s;
	s = NULL;
done:
	if (s)
		s->older = NULL;
	entries_free(s);
	return rc;
}

/* Read and check DIR/index.json: an object whose manifests is an array. */
static int read_index(const bp_oci *o, cJSON **out)
{
	char *path = bp_aprintf("%s/index.json", o->dir), *data = NULL;
	const cJSON *manifests;
	cJSON *index = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!path)
		return oom();
	rc = read_file(path, INDEX_MAX, &data, &len);
	if (rc == BP_ENOTFOUND) {
		rc = bp_error_set(BP_EINVAL, "%s has an oci-layout file but no index.json", o->dir);
		goto done;
	}
	if (rc)
		goto done;
	index = cJSON_ParseWithLength(data, len);
	if (!index) {
		rc = bp_error_set(BP_EINVAL, "%s is not valid JSON", path);
		goto done;
	}
	if (!cJSON_IsObject(index)) {
		rc = bp_error_set(BP_EINVAL, "%s is not a JSON object", path);
		goto done;
	}
	manifests = cJSON_GetObjectItemCaseSensitive(index, "manifests");
	if (manifests && !cJSON_IsArray(manifests) && !cJSON_IsNull(manifests)) {
		rc = bp_error_set(BP_EINVAL, "%s: manifests is not an array", path);
		goto done;
	}
	*out = index;
	index = NULL;
done:
	cJSON_Delete(index);
	free(data);
	free(path);
	return rc;
}

/* Check DIR/oci-layout. BP_ENOTFOUND when it is absent. */
static int read_layout_file(const bp_oci *o)
{
	char *path = bp_aprintf("%s/oci-layout", o->dir), *data = NULL;
	const cJSON *v;
	cJSON *root = NULL;
	size_t len = 0;
	int rc;

	if (!path)
		return oom();
	rc = read_file(path, LAYOUT_MAX, &data, &len);
	if (rc)
		goto done;
	root = cJSON_ParseWithLength(data, len);
	v = cJSON_GetObjectItemCaseSensitive(root, "imageLayoutVersion");
	if (!cJSON_IsObject(root) || !cJSON_IsString(v)) {
		rc = bp_error_set(BP_EINVAL, "%s is not an OCI layout file", path);
		goto done;
	}
	if (!bp_strprefix(v->valuestring, "1.")) {
		rc = bp_error_set(
			BP_EUNSUPPORTED,
			"%s: image layout version \"%.32s\" is not supported (want 1.0.0)", path,
			v->valuestring);
		goto done;
	}
done:
	cJSON_Delete(root);
	free(data);
	free(path);
	return rc;
}

static int dir_is_empty(const char *dir, int *empty)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return bp_error_set(BP_EIO, "cannot read directory %s: %s", dir, strerror(errno));
	*empty = 1;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			*empty = 0;
			break;
		}
	}
	closedir(d);
	return 0;
}

/* blobs/sha256 first, oci-layout last: the file that makes it a layout. */
static int create_layout(const bp_oci *o)
{
	int rc = mkdir_p(o->blobs);

	if (!rc)
		rc = write_file_atomic(o, "index.json", INDEX_CONTENT, sizeof(INDEX_CONTENT) - 1);
	if (!rc)
		rc = write_file_atomic(o, "oci-layout", LAYOUT_CONTENT, sizeof(LAYOUT_CONTENT) - 1);
	return rc;
}

/* Open (or with create, make) the layout at dir. */
int bp_oci_open(bp_oci **out, const char *dir, int create)
{
	bp_oci *o = NULL;
	struct stat st;
	int rc, empty = 0, lock_fd = -1;

	if (out)
		*out = NULL;
	if (!out || !dir || !*dir)
		return bp_error_set(BP_EINVAL, "no OCI layout directory given");
	o = calloc(1, sizeof(*o));
	if (!o)
		return oom();
	o->dir = bp_strdup(dir);
	o->blobs = bp_aprintf("%s/blobs/sha256", dir);
	if (!o->dir || !o->blobs) {
		rc = oom();
		goto done;
	}
	o->file_mode = bp_file_mode();

	if (stat(dir, &st) < 0) {
		if (errno != ENOENT) {
			rc = bp_error_set(BP_EIO, "cannot open %s: %s", dir, strerror(errno));
			goto done;
		}
		if (!create) {
			rc = bp_error_set(BP_ENOTFOUND, "OCI layout %s does not exist", dir);
			goto done;
		}
		rc = mkdir_p(dir);
		if (rc)
			goto done;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = bp_error_set(BP_EINVAL, "%s is not a directory, so not an OCI layout", dir);
		goto done;
	}
	/* creators at the same time: one makes the layout, the others find it made */
	if (create) {
		lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
			rc = bp_error_set(BP_EIO, "cannot lock OCI layout %s: %s", dir,
					  strerror(errno));
			goto done;
		}
	}

	rc = read_layout_file(o);
	if (rc == BP_ENOTFOUND) {
		if (!create) {
			rc = bp_error_set(
				BP_EINVAL,
				"%s is not an OCI image layout (it has no oci-layout file)", dir);
			goto done;
		}
		rc = dir_is_empty(dir, &empty);
		if (rc)
			goto done;
		if (!empty) {
			rc = bp_error_set(BP_EINVAL,
					  "%s is not empty and not an OCI image layout; "
					  "give a new or empty directory",
					  dir);
			goto done;
		}
		rc = create_layout(o);
		if (!rc)
			rc = read_layout_file(o);
	}
	if (rc)
		goto done;
	rc = read_index(o, &o->index);
	if (!rc)
		rc = load_entries(o, o->index);
done:
	if (lock_fd >= 0)
		close(lock_fd);
	if (rc) {
		bp_oci_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* Free the handle, its index and every descriptor it handed out. */
void bp_oci_free(bp_oci *o)
{
	if (!o)
		return;
	entries_free(o->entries);
	cJSON_Delete(o->index);
	free(o->blobs);
	free(o->dir);
	free(o);
}

/* "tags: a, b; 2 untagged" for messages; NULL only when out of memory. */
static char *tag_list(const struct entries *s)
{
	bp_dynbuf b = BP_DYNBUF_INIT(2048);
	size_t i, untagged = 0, tagged = 0;

	bp_dynbuf_add(&b, "", 0);
	for (i = 0; i < s->n; i++) {
		const char *t = s->e[i].d.ref_name;

		if (!t) {
			untagged++;
			continue;
		}
		if (bp_dynbuf_printf(&b, "%s%s", tagged++ ? ", " : "tags: ", t) < 0) {
			bp_dynbuf_adds(&b, ", ...");
			break;
		}
	}
	if (!tagged)
		bp_dynbuf_adds(&b, "no tags");
	if (untagged)
		bp_dynbuf_printf(&b, "; %zu untagged", untagged);
	return bp_dynbuf_detach(&b, NULL);
}

/* The index.json entry for tag (NULL: the only one), borrowed from o. */
int bp_oci_resolve(bp_oci *o, const char *tag, const bp_descriptor **out)
{
	const struct entries *s;
	const struct entry *e = NULL;
	char *tags = NULL;
	size_t i;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!o || !out)
		return bp_error_set(BP_EINVAL, "no OCI layout to resolve in");
	if (tag && !*tag)
		return bp_error_set(BP_EINVAL, "empty tag for OCI layout %s", o->dir);
	s = o->entries;
	if (tag) {
		for (i = 0; i < s->n && !e; i++) {
			if (s->e[i].d.ref_name && strcmp(s->e[i].d.ref_name, tag) == 0)
				e = &s->e[i];
		}
	} else if (s->n == 1) {
		e = &s->e[0];
	}
	if (!e) {
		tags = tag_list(s);
		if (!tags)
			rc = oom();
		else if (tag)
			rc = bp_error_set(BP_ENOTFOUND, "tag %s not found in OCI layout %s (%s)",
					  tag, o->dir, tags);
		else if (!s->n)
			rc = bp_error_set(BP_ENOTFOUND, "OCI layout %s holds no image", o->dir);
		else
			rc = bp_error_set(
				BP_EINVAL,
				"OCI layout %s holds %zu images; name one as oci:%s:TAG (%s)",
				o->dir, s->n, o->dir, tags);
		goto done;
	}
	if (e->bad) {
		rc = bp_error_set(e->bad_rc, "%s/index.json: the entry for %s %s", o->dir,
				  tag ? tag : "the image", e->bad);
		goto done;
	}
	*out = &e->d;
done:
	free(tags);
	return rc;
}

/* The path of a validated digest: no path is built from anything else. */
static int blob_path(const bp_oci *o, const char *digest, char **out)
{
	int rc = bp_digest_validate(digest);

	*out = NULL;
	if (rc)
		return rc;
	*out = bp_aprintf("%s/%s", o->blobs, bp_digest_hex(digest));
	return *out ? 0 : oom();
}

/* New string DIR/blobs/sha256/<hex>; NULL when digest is invalid. */
char *bp_oci_blob_path(bp_oci *o, const char *digest)
{
	char *p = NULL;

	if (o)
		blob_path(o, digest, &p);
	return p;
}

/* 1 when the blob is a regular file of this size (-1: any size). */
int bp_oci_blob_exists(bp_oci *o, const char *digest, int64_t size)
{
	struct stat st;
	char *path = NULL;
	int found;

	if (!o || blob_path(o, digest, &path))
		return 0;
	found = stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		(size < 0 || (int64_t)st.st_size == size);
	free(path);
	return found;
}

/* Open a blob read-only; *fd belongs to the caller. */
int bp_oci_blob_open(bp_oci *o, const char *digest, int *fd, int64_t *size)
{
	struct stat st;
	char *path = NULL;
	int rc;

	*fd = -1;
	if (!o)
		return bp_error_set(BP_EINVAL, "no OCI layout");
	rc = blob_path(o, digest, &path);
	if (rc)
		return rc;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		rc = errno == ENOENT
			     ? bp_error_set(BP_ENOTFOUND, "blob %s is not in OCI layout %s", digest,
					    o->dir)
			     : bp_error_set(BP_EIO, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = bp_error_set(BP_EIO, "%s is not a regular file", path);
		close(*fd);
		*fd = -1;
		goto done;
	}
	if (size)
		*size = (int64_t)st.st_size;
done:
	free(path);
	return rc;
}

/* Read a whole blob of at most max bytes and verify its digest. */
int bp_oci_blob_read(bp_oci *o, const char *digest, size_t max, char **data, size_t *len)
{
	char got[BP_DIGEST_MAX];
	char *path = NULL, *buf = NULL;
	size_t n = 0;
	int rc;

	*data = NULL;
	if (len)
		*len = 0;
	if (!o)
		return bp_error_set(BP_EINVAL, "no OCI layout");
	rc = blob_path(o, digest, &path);
	if (rc)
		return rc;
	/* dynbuf needs cap + 1 to fit in a size_t */
	rc = read_file(path, max < SIZE_MAX / 2 ? max : SIZE_MAX / 2, &buf, &n);
	if (rc == BP_ENOTFOUND)
		rc = bp_error_set(BP_ENOTFOUND, "blob %s is not in OCI layout %s", digest, o->dir);
	else if (rc == BP_EINVAL)
		rc = bp_error_set(BP_EINVAL, "blob %s is larger than %zu bytes", digest, max);
	if (rc)
		goto done;
	rc = bp_digest_buf(got, buf, n);
	if (rc)
		goto done;
	if (!bp_digest_equal(got, digest)) {
		rc = bp_error_set(BP_EINTEGRITY, "blob %s: digest mismatch (got %s)", digest, got);
		goto done;
	}
	*data = buf;
	buf = NULL;
	if (len)
		*len = n;
done:
	free(buf);
	free(path);
	return rc;
}

static void writer_free(bp_oci_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	bp_hasher_free(w->h);
	free(w);
}

/* Start writing a blob into a temporary file under blobs/sha256/. */
int bp_oci_blob_begin(bp_oci *o, bp_oci_writer **out, const char *digest, int64_t size)
{
	bp_oci_writer *w = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!o || !out)
		return bp_error_set(BP_EINVAL, "no OCI layout to write to");
	rc = bp_digest_validate(digest);
	if (rc)
		return rc;
	if (size < -1)
		return bp_error_set(BP_EINVAL, "blob %s: invalid size %lld", digest,
				    (long long)size);
	w = calloc(1, sizeof(*w));
	if (!w)
		return oom();
	w->o = o;
	w->fd = -1;
	w->size = size;
	bp_strlcpy(w->digest, digest, sizeof(w->digest));
	rc = bp_hasher_new(&w->h);
	if (rc)
		goto done;
	w->tmp = bp_aprintf("%s/.tmp-XXXXXX", o->blobs);
	if (!w->tmp) {
		rc = oom();
		goto done;
	}
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0 && errno == ENOENT) {
		/* a layout written by another tool may lack blobs/sha256 */
		rc = mkdir_p(o->blobs);
		if (rc)
			goto done;
		memcpy(w->tmp + strlen(w->tmp) - 6, "XXXXXX", 6);
		w->fd = mkostemp(w->tmp, O_CLOEXEC);
	}
	if (w->fd < 0) {
		rc = bp_error_set(BP_EIO, "cannot create a file in %s: %s", o->blobs,
				  strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		goto done;
	}
	if (fchmod(w->fd, o->file_mode) < 0) {
		rc = bp_error_set(BP_EIO, "cannot chmod %s: %s", w->tmp, strerror(errno));
		goto done;
	}
done:
	if (rc) {
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* Append bytes, hashing them; an error sticks until commit or abort. */
int bp_oci_writer_write(bp_oci_writer *w, const void *data, size_t len)
{
	int rc;

	if (!w)
		return bp_error_set(BP_EINVAL, "no blob writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	if (w->size >= 0 && (uint64_t)len > (uint64_t)(w->size - w->count))
		rc = bp_error_set(BP_EINTEGRITY, "blob %s: size mismatch (more than %lld bytes)",
				  w->digest, (long long)w->size);
	else if (bp_write_all(w->fd, data, len) < 0)
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", w->tmp, strerror(errno));
	else
		rc = 0;
	if (rc) {
		w->err = rc;
		bp_strlcpy(w->errmsg, bp_error_last(), sizeof(w->errmsg));
		return rc;
	}
	bp_hasher_update(w->h, data, len);
	w->count += (int64_t)len;
	return 0;
}

/* Bytes written so far. */
int64_t bp_oci_writer_count(const bp_oci_writer *w)
{
	return w ? w->count : 0;
}

/* Verify size and digest, then rename into place; frees w either way. */
int bp_oci_blob_commit(bp_oci_writer *w)
{
	char got[BP_DIGEST_MAX];
	char *path = NULL;
	int rc;

	if (!w)
		return bp_error_set(BP_EINVAL, "no blob writer");
	if (w->err) {
		rc = bp_error_set(w->err, "%s", w->errmsg);
		goto done;
	}
	if (fsync(w->fd) < 0) {
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", w->tmp, strerror(errno));
		goto done;
	}
	/* the file stays open (and a partial file locked) until it has its name */
	if (w->size >= 0 && w->count != w->size) {
		rc = bp_error_set(BP_EINTEGRITY,
				  "blob %s: size mismatch (got %lld bytes, expected %lld)",
				  w->digest, (long long)w->count, (long long)w->size);
		goto done;
	}
	rc = bp_hasher_final(w->h, got);
	if (rc)
		goto done;
	if (!bp_digest_equal(got, w->digest)) {
		rc = bp_error_set(BP_EINTEGRITY, "blob %s: digest mismatch (got %s)", w->digest,
				  got);
		goto done;
	}
	rc = blob_path(w->o, w->digest, &path);
	if (rc)
		goto done;
	if (rename(w->tmp, path) < 0) {
		rc = bp_error_set(BP_EIO, "cannot rename %s to %s: %s", w->tmp, path,
				  strerror(errno));
		goto done;
	}
	free(w->tmp);
	w->tmp = NULL;
	bp_fsync_dir(w->o->blobs);
done:
	free(path);
	writer_free(w);
	return rc;
}

/*
 * Open blobs/sha256/.partial-HEX, locked, and take over the bytes it holds
 * (hashed again: nothing is trusted that is not hashed). 0 with w filled;
 * 1 when another process holds it (the caller uses a private file).
 */
static int partial_open(bp_oci_writer *w)
{
	char buf[65536];
	struct stat st, again;
	int tries, rc;
	ssize_t n;

	for (tries = 0; tries < 3; tries++) {
		w->fd = open(w->tmp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, w->o->file_mode);
		if (w->fd < 0 && errno == ENOENT && (rc = mkdir_p(w->o->blobs)))
			return rc;
		if (w->fd < 0 && errno == ENOENT)
			w->fd = open(w->tmp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, w->o->file_mode);
		if (w->fd < 0)
			return bp_error_set(BP_EIO, "cannot open %s: %s", w->tmp, strerror(errno));
		if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
			close(w->fd);
			w->fd = -1;
			return 1;
		}
		/* still the file of that name (not one committed meanwhile)? */
		if (fstat(w->fd, &st) == 0 && stat(w->tmp, &again) == 0 && st.st_ino == again.st_ino &&
		    st.st_dev == again.st_dev && S_ISREG(st.st_mode))
			break;
		close(w->fd);
		w->fd = -1;
	}
	if (w->fd < 0)
		return 1;
	if (fchmod(w->fd, w->o->file_mode) < 0)
		return bp_error_set(BP_EIO, "cannot chmod %s: %s", w->tmp, strerror(errno));
	if (w->size >= 0 && st.st_size > w->size && ftruncate(w->fd, 0) < 0)
		return bp_error_set(BP_EIO, "cannot truncate %s: %s", w->tmp, strerror(errno));
	while ((n = read(w->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* unreadable: start from nothing */
			bp_hasher_free(w->h);
			w->h = NULL;
			w->count = 0;
			if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
				return bp_error_set(BP_EIO, "cannot reset %s: %s", w->tmp,
						    strerror(errno));
			return bp_hasher_new(&w->h);
		}
		bp_hasher_update(w->h, buf, (size_t)n);
		w->count += n;
	}
	w->partial = 1;
	w->resumed = w->count;
	return 0;
}

/* See store_oci.h. */
int bp_oci_blob_resume(bp_oci *o, bp_oci_writer **out, const char *digest, int64_t size)
{
	bp_oci_writer *w;
	int rc;

	if (out)
		*out = NULL;
	if (!o || !out)
		return bp_error_set(BP_EINVAL, "no OCI layout to write to");
	if ((rc = bp_digest_validate(digest)))
		return rc;
	if (size < 0 || strncmp(digest, "sha256:", 7) != 0)
		return bp_oci_blob_begin(o, out, digest, size);
	if (!(w = calloc(1, sizeof(*w))))
		return oom();
	w->o = o;
	w->fd = -1;
	w->size = size;
	bp_strlcpy(w->digest, digest, sizeof(w->digest));
	if ((rc = bp_hasher_new(&w->h)))
		goto fail;
	if (!(w->tmp = bp_aprintf("%s/.partial-%s", o->blobs, bp_digest_hex(digest)))) {
		rc = oom();
		goto fail;
	}
	rc = partial_open(w);
	if (rc == 1) {
		/* another pull is writing this blob: this one gets a file of its own */
		free(w->tmp);
		w->tmp = NULL;
		writer_free(w);
		return bp_oci_blob_begin(o, out, digest, size);
	}
	if (rc)
		goto fail;
	*out = w;
	return 0;
fail:
	writer_free(w);
	return rc;
}

/* See store_oci.h. */
int64_t bp_oci_writer_resumed(const bp_oci_writer *w)
{
	return w && w->partial ? w->resumed : 0;
}

/* See store_oci.h. */
void bp_oci_writer_keep(bp_oci_writer *w)
{
	if (!w)
		return;
	if (w->partial && !w->err && w->fd >= 0 && fsync(w->fd) == 0) {
		free(w->tmp);
		w->tmp = NULL;
	}
	writer_free(w);
}

/* Delete the temporary file and free w; NULL-safe. */
void bp_oci_writer_abort(bp_oci_writer *w)
{
	writer_free(w);
}

/* Write a whole small blob through begin/write/commit. */
int bp_oci_blob_put(bp_oci *o, const char *digest, const void *data, size_t len)
{
	bp_oci_writer *w = NULL;
	int rc;

	if (len > (size_t)INT64_MAX)
		return bp_error_set(BP_EINVAL, "blob %s is too large", digest);
	rc = bp_oci_blob_begin(o, &w, digest, (int64_t)len);
	if (rc)
		return rc;
	rc = bp_oci_writer_write(w, data, len);
	if (rc) {
		bp_oci_writer_abort(w);
		return rc;
	}
	return bp_oci_blob_commit(w);
}

/* docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */
static int valid_tag(const char *tag)
{
	size_t i;

	for (i = 0; tag[i]; i++) {
		unsigned char c = (unsigned char)tag[i];
		int word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '_';

		if (i >= 128 || !(word || (i > 0 && (c == '.' || c == '-'))))
			return 0;
	}
	return i > 0;
}

static const char *entry_ref_name(const cJSON *it)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(it, "annotations");
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(ann, REF_NAME);

	return cJSON_IsString(ref) ? ref->valuestring : NULL;
}

/* A new index.json entry for desc; copies every string out of desc. */
static cJSON *new_entry(const bp_descriptor *desc, const char *tag)
{
	cJSON *e = cJSON_CreateObject(), *p, *a;
	int ok = 0;

	if (!e || !cJSON_AddStringToObject(e, "mediaType", desc->media_type) ||
	    !cJSON_AddStringToObject(e, "digest", desc->digest) ||
	    !cJSON_AddNumberToObject(e, "size", (double)desc->size))
		goto done;
	if (desc->os && desc->arch) {
		p = cJSON_AddObjectToObject(e, "platform");
		if (!p || !cJSON_AddStringToObject(p, "architecture", desc->arch) ||
		    !cJSON_AddStringToObject(p, "os", desc->os) ||
		    (desc->variant && !cJSON_AddStringToObject(p, "variant", desc->variant)))
			goto done;
	}
	if (tag) {
		a = cJSON_AddObjectToObject(e, "annotations");
		if (!a || !cJSON_AddStringToObject(a, REF_NAME, tag))
			goto done;
	}
	ok = 1;
done:
	if (!ok) {
		cJSON_Delete(e);
		e = NULL;
	}
	return e;
}

/*
 * Put entry into manifests: in place of the entries with the same tag
 * (the first keeps its position), or appended. An untagged entry is not
 * added twice. Takes entry; *changed says whether anything was done.
 */
static void place_entry(cJSON *manifests, cJSON *entry, const char *tag, const char *digest,
			int *changed)
{
	cJSON *it = manifests->child, *next;

	*changed = 1;
	for (; it; it = next) {
		const char *ref = entry_ref_name(it);
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "digest");

		next = it->next;
		if (!tag) {
			if (!ref && cJSON_IsString(d) && strcmp(d->valuestring, digest) == 0) {
				cJSON_Delete(entry);
				*changed = 0;
				return;
			}
		} else if (ref && strcmp(ref, tag) == 0) {
			if (entry) {
				cJSON_ReplaceItemViaPointer(manifests, it, entry);
				entry = NULL;
			} else {
				cJSON_Delete(cJSON_DetachItemViaPointer(manifests, it));
			}
		}
	}
	if (entry)
		cJSON_AddItemToArray(manifests, entry);
}

/* Record desc in index.json under tag (NULL: untagged, added once). */
int bp_oci_tag(bp_oci *o, const bp_descriptor *desc, const char *tag)
{
	cJSON *index = NULL, *entry = NULL, *manifests;
	char *text = NULL;
	int rc, changed, lock_fd = -1;

	if (!o || !desc)
		return bp_error_set(BP_EINVAL, "nothing to tag");
	rc = bp_digest_validate(desc->digest);
	if (rc)
		return rc;
	if (tag && !valid_tag(tag))
		return bp_error_set(
			BP_EINVAL,
			"invalid tag \"%.200s\": use up to 128 letters, digits, '_', '.' "
			"and '-', not starting with '.' or '-'",
			tag);
	if (!desc->media_type || !*desc->media_type || desc->size < 0)
		return bp_error_set(BP_EINVAL,
				    "manifest %s needs a media type and a size to be tagged",
				    desc->digest);
	if (!bp_oci_blob_exists(o, desc->digest, desc->size))
		return bp_error_set(
			BP_ENOTFOUND,
			"manifest %s (%lld bytes) is not in OCI layout %s; write it before tagging",
			desc->digest, (long long)desc->size, o->dir);

	/* copy desc first: it may be borrowed from o and freed below */
	entry = new_entry(desc, tag);
	if (!entry) {
		rc = oom();
		goto done;
	}
	/*
	 * Two processes tagging at once must not lose either change: the
	 * read-modify-rename of index.json holds a lock on the layout's
	 * directory (no extra file in the layout).
	 */
	lock_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
		rc = bp_error_set(BP_EIO, "cannot lock OCI layout %s: %s", o->dir, strerror(errno));
		goto done;
	}
	/* start from the file, not our copy, to keep others' recent changes */
	rc = read_index(o, &index);
	if (rc)
		goto done;
	manifests = cJSON_GetObjectItemCaseSensitive(index, "manifests");
	if (!cJSON_IsArray(manifests)) {
		cJSON *arr = cJSON_CreateArray();

		if (!arr) {
			rc = oom();
			goto done;
		}
		if (manifests)
			cJSON_ReplaceItemViaPointer(index, manifests, arr);
		else
			cJSON_AddItemToObject(index, "manifests", arr);
		manifests = arr;
	}
	place_entry(manifests, entry, tag, desc->digest, &changed);
	entry = NULL;
	if (changed) {
		text = cJSON_PrintUnformatted(index);
		if (!text) {
			rc = oom();
			goto done;
		}
		rc = write_file_atomic(o, "index.json", text, strlen(text));
		if (rc)
			goto done;
	}
	rc = load_entries(o, index);
	if (rc)
		goto done;
	cJSON_Delete(o->index);
	o->index = index;
	index = NULL;
done:
	if (lock_fd >= 0)
		close(lock_fd);
	cJSON_free(text);
	cJSON_Delete(entry);
	cJSON_Delete(index);
	return rc;
}
