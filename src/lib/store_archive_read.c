/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading an indexed archive: a member by the name manifest.json or
 * index.json gives it (links followed inside the archive only), whole and
 * verified for configs and manifests, in place at offsets for layers.
 */
#include "store_archive_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* symbolic or hard links followed for one name */
#define LINKS_MAX 8

/* ---- members, whole ---- */

/* All len bytes at off, retried when short. */
int bp_archive__pread_full(bp_archive *a, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(a->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bp_error_set(BP_EIO, "cannot read %s: %s", a->path, strerror(errno));
		if (n == 0)
			return bp_error_set(BP_EIO, "%s was truncated while being read", a->path);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* The target of link m (named from) into out: -1 when it leaves the archive. */
static int link_target(const char *from, const struct member *m, char *out, size_t cap)
{
	const char *p = m->link;
	size_t n = 0;

	out[0] = '\0';
	if (!p || p[0] == '/')
		return -1;
	/* a symbolic link is relative to its directory, a hard link to the root */
	if (m->type == BP_TAR_SYMLINK) {
		const char *slash = strrchr(from, '/');

		if (slash) {
			n = (size_t)(slash - from);
			if (n >= cap)
				return -1;
			memcpy(out, from, n);
			out[n] = '\0';
		}
	}
	while (*p) {
		const char *e = strchr(p, '/');
		size_t k = e ? (size_t)(e - p) : strlen(p);

		if (k == 2 && p[0] == '.' && p[1] == '.') {
			char *s;

			if (n == 0)
				return -1;
			s = memrchr(out, '/', n);
			n = s ? (size_t)(s - out) : 0;
			out[n] = '\0';
		} else if (k && !(k == 1 && p[0] == '.')) {
			if (n + 1 + k >= cap)
				return -1;
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, k);
			n += k;
			out[n] = '\0';
		}
		p += k;
		if (*p == '/')
			p++;
	}
	return n ? 0 : -1;
}

/*
 * The regular member that name (as manifest.json or index.json says it)
 * stands for, following links inside the archive. Every name on the way
 * must have one of the shapes in kinds. what says what it is for messages.
 */
int bp_archive__locate(bp_archive *a, const char *name, unsigned kinds, const char *what,
		       const struct member **out)
{
	char cur[BP_TAR_NAME_MAX + 1], next[BP_TAR_NAME_MAX + 1];
	const struct member *m;
	const char *p;
	size_t len;
	int hops;

	*out = NULL;
	p = bp_archive__norm_view(name, &len);
	if (len > BP_TAR_NAME_MAX)
		return bp_error_set(BP_EINVAL, "%s: %s names an overlong member", a->path, what);
	memcpy(cur, p, len);
	cur[len] = '\0';
	for (hops = 0;; hops++) {
		if (!(kinds & KIND(bp_archive__member_kind(cur, NULL))))
			return bp_error_set(BP_EINVAL,
					    "%s: %s is \"%.200s\", which is not a name a docker "
					    "archive uses for it",
					    a->path, what, cur);
		m = bp_archive__lookup(a, cur);
		if (!m)
			return bp_error_set(BP_EINVAL, "%s: %s %.200s is not in the archive",
					    a->path, what, cur);
		if (m->type == BP_TAR_REG)
			break;
		if (m->type != BP_TAR_SYMLINK && m->type != BP_TAR_HARDLINK)
			return bp_error_set(BP_EINVAL, "%s: %s %.200s is not a regular file",
					    a->path, what, cur);
		if (hops == LINKS_MAX)
			return bp_error_set(BP_EPROTO, "%s: %s %.200s: more than %d links", a->path,
					    what, name, LINKS_MAX);
		if (link_target(cur, m, next, sizeof(next)) < 0)
			return bp_error_set(BP_EPROTO,
					    "%s: %s %.200s is a link to \"%.200s\", outside the "
					    "archive",
					    a->path, what, cur, m->link);
		memcpy(cur, next, sizeof(cur));
	}
	*out = m;
	return 0;
}

/* Read a whole member of at most max bytes, NUL-terminated. */
int bp_archive__read_member(bp_archive *a, const struct member *m, size_t max, const char *what,
			    char **data, size_t *len)
{
	char *buf;
	int rc;

	*data = NULL;
	*len = 0;
	if (m->size > max)
		return bp_error_set(BP_EINVAL, "%s: %s %.200s is larger than %zu bytes", a->path,
				    what, m->name, max);
	buf = malloc((size_t)m->size + 1);
	if (!buf)
		return bp_archive__oom();
	rc = bp_archive__pread_full(a, buf, (size_t)m->size, m->offset);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[m->size] = '\0';
	*data = buf;
	*len = (size_t)m->size;
	return 0;
}

/* A member that must hash to "sha256:<hex>": read it and check. */
int bp_archive__read_verified(bp_archive *a, const struct member *m, const char *digest, size_t max,
			      const char *what, char **data, size_t *len)
{
	char got[BP_DIGEST_MAX];
	int rc = bp_archive__read_member(a, m, max, what, data, len);

	if (!rc)
		rc = bp_digest_buf(got, *data, *len);
	if (!rc && !bp_digest_equal(got, digest))
		rc = bp_error_set(BP_EINTEGRITY,
				  "%s: %s %s: digest mismatch (the bytes hash to %s)", a->path,
				  what, digest, got);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

/* The member blobs/sha256/<hex> for digest, with size (-1: any) checked. */
int bp_archive__blob_member(bp_archive *a, const char *digest, int64_t size, const char *what,
			    const struct member **out)
{
	char name[16 + HEX_LEN];
	int rc = bp_digest_validate(digest);

	*out = NULL;
	if (rc)
		return bp_error_prefix("%s: %s", a->path, what);
	snprintf(name, sizeof(name), "blobs/sha256/%s", bp_digest_hex(digest));
	rc = bp_archive__locate(a, name, KIND(BP_ARCHIVE_BLOB), what, out);
	if (rc)
		return rc;
	if (size >= 0 && (*out)->size != (uint64_t)size) {
		rc = bp_error_set(BP_EINTEGRITY,
				  "%s: %s %s: size mismatch (%llu bytes, expected %lld)", a->path,
				  what, digest, (unsigned long long)(*out)->size, (long long)size);
		*out = NULL;
	}
	return rc;
}

/* See store_archive.h. */
int bp_archive__blob(bp_archive *a, const char *digest, int64_t size, uint64_t *offset)
{
	const struct member *m;
	int rc = bp_archive__blob_member(a, digest, size, "blob", &m);

	if (!rc)
		*offset = m->offset;
	return rc;
}

/* See store_archive.h. */
int bp_archive__fd(const bp_archive *a)
{
	return a->fd;
}

/* A small blob, verified: manifests and configs. */
int bp_archive__read_blob_as(bp_archive *a, const char *digest, int64_t size, size_t max,
			     const char *what, char **data, size_t *len)
{
	const struct member *m;
	int rc = bp_archive__blob_member(a, digest, size, what, &m);

	if (rc)
		return rc;
	return bp_archive__read_verified(a, m, digest, max, what, data, len);
}

/* See store_archive.h. */
int bp_archive__read_blob(bp_archive *a, const char *digest, int64_t size, size_t max, char **data,
			  size_t *len)
{
	return bp_archive__read_blob_as(a, digest, size, max, "blob", data, len);
}

/* Hash a blob's bytes in place; see store_archive.h. */
int bp_archive__check_blob(bp_archive *a, const char *digest)
{
	const struct member *m;
	bp_hasher *h = NULL;
	char buf[64 * 1024], got[BP_DIGEST_MAX];
	uint64_t off;
	int rc;

	if ((rc = bp_archive__blob_member(a, digest, -1, "blob", &m)) || (rc = bp_hasher_new(&h)))
		return rc;
	for (off = 0; off < m->size && !rc; off += sizeof(buf)) {
		size_t n = m->size - off < sizeof(buf) ? (size_t)(m->size - off) : sizeof(buf);

		if (!(rc = bp_archive__pread_full(a, buf, n, m->offset + off)))
			bp_hasher_update(h, buf, n);
	}
	if (!rc)
		rc = bp_hasher_final(h, got);
	if (!rc && !bp_digest_equal(got, digest))
		rc = bp_error_set(BP_EINTEGRITY,
				  "%s: blob %s: digest mismatch (the bytes hash to %s)", a->path,
				  digest, got);
	bp_hasher_free(h);
	return rc;
}

/* ---- layer bytes, in place ---- */

/* pread inside layer l's window. */
long bp_archive__read_at(bp_archive *a, const bp_archive_layer *l, uint64_t off, void *buf,
			 size_t len)
{
	ssize_t n;

	if (!a || !l || l->size < 0) {
		bp_error_set(BP_EINVAL, "no archive layer to read");
		return -1;
	}
	if (off >= (uint64_t)l->size || !len)
		return 0;
	if (len > (uint64_t)l->size - off)
		len = (size_t)((uint64_t)l->size - off);
	if (len > LONG_MAX)
		len = LONG_MAX;
	do
		n = pread(a->fd, buf, len, (off_t)(l->offset + off));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		bp_error_set(BP_EIO, "cannot read %s: %s", a->path, strerror(errno));
		return -1;
	}
	if (n == 0) {
		bp_error_set(BP_EIO, "%s was truncated: layer %s ends early", a->path, l->member);
		return -1;
	}
	return (long)n;
}

/* Start a cursor at the first byte of l. */
void bp_archive__cursor_init(bp_archive_cursor *c, bp_archive *a, const bp_archive_layer *l)
{
	c->a = a;
	c->l = l;
	c->pos = 0;
}

/* Sequential read through a cursor; the shape of bp_tar_read_fn. */
long bp_archive__cursor_read(void *buf, size_t len, void *payload)
{
	bp_archive_cursor *c = payload;
	long n = bp_archive__read_at(c->a, c->l, c->pos, buf, len);

	if (n > 0)
		c->pos += (uint64_t)n;
	return n;
}
