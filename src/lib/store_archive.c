/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The docker archive handle: open indexes every member of a known shape
 * (headers only, data skipped with lseek), free releases all handed out.
 */
#include "store_archive_int.h"

#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* BP_ENOMEM, its message set. */
int bp_archive__oom(void)
{
	return bp_error_set(BP_ENOMEM, "out of memory");
}

/* ---- member names ---- */

/* name without leading "./" and trailing '/': a view, *len bytes long. */
const char *bp_archive__norm_view(const char *name, size_t *len)
{
	while (name[0] == '.' && name[1] == '/') {
		name += 2;
		while (*name == '/')
			name++;
	}
	*len = strlen(name);
	while (*len && name[*len - 1] == '/')
		(*len)--;
	return name;
}

static int is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < HEX_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

static int view_is(const char *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

/* The shape of a member name; hex gets its 64 hex digits or "". */
bp_archive_member_kind bp_archive__member_kind(const char *name, char *hex)
{
	bp_archive_member_kind k = BP_ARCHIVE_OTHER;
	const char *p, *h = NULL;
	size_t len;

	if (hex)
		hex[0] = '\0';
	if (!name)
		return k;
	p = bp_archive__norm_view(name, &len);
	if (view_is(p, len, "manifest.json"))
		k = BP_ARCHIVE_MANIFEST_JSON;
	else if (view_is(p, len, "index.json"))
		k = BP_ARCHIVE_INDEX_JSON;
	else if (view_is(p, len, "oci-layout"))
		k = BP_ARCHIVE_OCI_LAYOUT;
	else if (view_is(p, len, "repositories"))
		k = BP_ARCHIVE_REPOSITORIES;
	else if (view_is(p, len, "blobs") || view_is(p, len, "blobs/sha256"))
		k = BP_ARCHIVE_BLOBS_DIR;
	else if (len == 13 + HEX_LEN && memcmp(p, "blobs/sha256/", 13) == 0 && is_hex64(p + 13))
		k = BP_ARCHIVE_BLOB, h = p + 13;
	else if (len >= HEX_LEN && is_hex64(p)) {
		const char *r = p + HEX_LEN;
		size_t rl = len - HEX_LEN;

		h = p;
		if (rl == 0)
			k = BP_ARCHIVE_V1_DIR;
		else if (view_is(r, rl, ".json"))
			k = BP_ARCHIVE_CONFIG;
		else if (view_is(r, rl, ".tar"))
			k = BP_ARCHIVE_LAYER;
		else if (view_is(r, rl, "/layer.tar"))
			k = BP_ARCHIVE_V1_LAYER;
		else if (view_is(r, rl, "/json"))
			k = BP_ARCHIVE_V1_JSON;
		else if (view_is(r, rl, "/VERSION"))
			k = BP_ARCHIVE_V1_VERSION;
		else
			h = NULL;
	}
	if (hex && h && k != BP_ARCHIVE_OTHER) {
		memcpy(hex, h, HEX_LEN);
		hex[HEX_LEN] = '\0';
	}
	return k;
}

/* ---- the member index ---- */

static int member_cmp(const void *x, const void *y)
{
	const struct member *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The member with this normalised name, or NULL. */
const struct member *bp_archive__lookup(const bp_archive *a, const char *name)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(a->m[mid].name, name);

		if (c == 0)
			return &a->m[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct source {
	int fd;
	uint64_t pos;
	uint64_t size;
	const char *path;
};

static long source_read(void *buf, size_t len, void *payload)
{
	struct source *s = payload;
	ssize_t n;

	do
		n = read(s->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		bp_error_set(BP_EIO, "cannot read %s: %s", s->path, strerror(errno));
		return -1;
	}
	s->pos += (uint64_t)n;
	return (long)n;
}

/* Skip with lseek, never past the end of the file. */
static int64_t source_skip(uint64_t len, void *payload)
{
	struct source *s = payload;
	uint64_t left = s->pos < s->size ? s->size - s->pos : 0;

	if (len > left)
		len = left;
	if (len > (uint64_t)INT64_MAX || lseek(s->fd, (off_t)len, SEEK_CUR) < 0) {
		bp_error_set(BP_EIO, "cannot seek in %s: %s", s->path, strerror(errno));
		return -1;
	}
	s->pos += len;
	return (int64_t)len;
}

/* Record e in a's index when its name has a known shape. */
static int index_member(bp_archive *a, const bp_tar_entry *e, size_t seq, size_t *alloc)
{
	struct member *m;
	const char *p;
	size_t len;

	if (bp_archive__member_kind(e->name, NULL) == BP_ARCHIVE_OTHER)
		return 0;
	if (a->n == BP_ARCHIVE_MEMBERS_MAX)
		return bp_error_set(BP_EINVAL, "%s has more than %d image members", a->path,
				    BP_ARCHIVE_MEMBERS_MAX);
	if (a->n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 64;
		struct member *nm = realloc(a->m, na * sizeof(*nm));

		if (!nm)
			return bp_archive__oom();
		a->m = nm;
		*alloc = na;
	}
	p = bp_archive__norm_view(e->name, &len);
	m = &a->m[a->n];
	memset(m, 0, sizeof(*m));
	m->name = bp_strndup(p, len);
	if (!m->name)
		return bp_archive__oom();
	a->n++;
	if (e->type == BP_TAR_SYMLINK || e->type == BP_TAR_HARDLINK) {
		m->link = bp_strdup(e->linkname);
		if (!m->link)
			return bp_archive__oom();
	}
	m->type = e->type;
	m->offset = e->offset;
	m->size = e->size;
	m->seq = seq;
	return 0;
}

/* Read every header once; keep the members of known shapes, sorted. */
static int build_index(bp_archive *a)
{
	struct source src = { a->fd, 0, a->file_size, a->path };
	const bp_tar_entry *e;
	bp_tar *t = NULL;
	size_t alloc = 0, seq = 0, i, k;
	int rc;

	rc = bp_tar__new(&t, source_read, source_skip, &src, 0);
	if (rc)
		return rc;
	while ((rc = bp_tar__next(t, &e)) > 0) {
		rc = index_member(a, e, seq++, &alloc);
		if (rc)
			goto done;
	}
	if (rc < 0) {
		bp_error_prefix("%s", a->path);
		goto done;
	}
	if (a->n) /* qsort wants an array, even of nothing */
		qsort(a->m, a->n, sizeof(*a->m), member_cmp);
	/* as when extracted, a later member of the same name replaces one before */
	for (i = 0, k = 0; i < a->n; i++) {
		if (i + 1 < a->n && strcmp(a->m[i].name, a->m[i + 1].name) == 0) {
			free(a->m[i].name);
			free(a->m[i].link);
			continue;
		}
		a->m[k++] = a->m[i];
	}
	a->n = k;
done:
	bp_tar__free(t);
	return rc;
}

/* ---- open and free ---- */

/* Open path and index its members. */
int bp_archive__open(bp_archive **out, const char *path)
{
	bp_archive *a = NULL;
	struct stat st;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!out || !path || !*path)
		return bp_error_set(BP_EINVAL, "no archive file given");
	a = calloc(1, sizeof(*a));
	if (!a)
		return bp_archive__oom();
	a->fd = -1;
	a->path = bp_strdup(path);
	if (!a->path) {
		rc = bp_archive__oom();
		goto done;
	}
	a->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (a->fd < 0) {
		rc = errno == ENOENT
			     ? bp_error_set(BP_ENOTFOUND, "archive %s does not exist", path)
			     : bp_error_set(BP_EIO, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = bp_error_set(BP_EINVAL, "%s is not a regular file, so not a docker archive",
				  path);
		goto done;
	}
	a->file_size = (uint64_t)st.st_size;
	rc = build_index(a);
done:
	if (rc) {
		bp_archive__free(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* Close the file and free everything handed out. */
void bp_archive__free(bp_archive *a)
{
	size_t i;

	if (!a)
		return;
	while (a->images) {
		struct image *next = a->images->next;

		bp_archive__image_free(a->images);
		a->images = next;
	}
	for (i = 0; i < a->nie; i++)
		bp_archive__free_names(a->ie[i].names, a->ie[i].nnames);
	free(a->ie);
	cJSON_Delete(a->mj);
	cJSON_Delete(a->ij);
	for (i = 0; i < a->n; i++) {
		free(a->m[i].name);
		free(a->m[i].link);
	}
	free(a->m);
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	free(a);
}

/* The path given to open. */
const char *bp_archive__path(const bp_archive *a)
{
	return a ? a->path : NULL;
}
