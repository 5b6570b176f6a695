/* SPDX-License-Identifier: Apache-2.0 */
#include "tar.h"

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ustar header fields: offset and length */
#define F_NAME 0, 100
#define F_MODE 100, 8
#define F_UID 108, 8
#define F_GID 116, 8
#define F_SIZE 124, 12
#define F_MTIME 136, 12
#define F_CHKSUM 148, 8
#define F_LINKNAME 157, 100
#define F_MAGIC 257, 6
#define F_VERSION 263, 2
#define F_DEVMAJOR 329, 8
#define F_DEVMINOR 337, 8
#define F_PREFIX 345, 155
#define O_TYPEFLAG 156

/* the longest name a message quotes */
#define MSG_NAME 200

struct bp_tar {
	bp_tar_read_fn read;
	bp_tar_skip_fn skip;
	void *payload;
	unsigned flags;
	uint64_t pos;	    /* bytes consumed from the source */
	uint64_t remaining; /* data bytes of the current member not yet read */
	uint64_t pad;	    /* padding after them */
	int done;	    /* the end-of-archive marker was read */
	int err;	    /* sticky error, its message in errmsg */
	char errmsg[1024];
	bp_tar_entry e;
	char name[BP_TAR_NAME_MAX + 1];
	char link[BP_TAR_NAME_MAX + 1];
	char prev[MSG_NAME + 1]; /* the last member's name, for messages */
	/* extension headers seen before the current header */
	char *x_path, *x_link; /* PAX or GNU, NULL when not given */
	int x_has_size;
	uint64_t x_size;
	unsigned char block[BP_TAR_BLOCK];
};

struct bp_tarw {
	bp_tar_write_fn write;
	bp_tar_patch_fn patch;
	void *payload;
	uint64_t pos;
	int err;
	char errmsg[1024];
	int in_member;
	int finished;
	int64_t size;	  /* declared size, -1 unknown */
	uint64_t written; /* data bytes of the current member */
	uint64_t hdr_off; /* where its ustar header is */
	unsigned char hdr[BP_TAR_BLOCK];
};

static const unsigned char zeros[BP_TAR_BLOCK];

/* 1 when a name is relative, not empty, without ".." components. */
int bp_tar__name_safe(const char *name)
{
	const char *p = name;
	size_t len;

	if (!name || !*name || *name == '/')
		return 0;
	len = strnlen(name, BP_TAR_NAME_MAX + 1);
	if (len > BP_TAR_NAME_MAX)
		return 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (!slash)
			break;
		p = slash + 1;
	}
	return 1;
}

/* ---- reader ---- */

/* Record a sticky error on t, prefixed with where in the archive it is. */
static int tar_fail(bp_tar *t, int code, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int tar_fail(bp_tar *t, int code, uint64_t off, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (t->e.name && t->e.header == off && t->e.name[0])
		bp_error_set(code, "tar member \"%.*s\" (header at offset %llu): %s", MSG_NAME,
			     t->e.name, (unsigned long long)off, what);
	else if (t->prev[0])
		bp_error_set(code, "tar header at offset %llu (after member \"%s\"): %s",
			     (unsigned long long)off, t->prev, what);
	else
		bp_error_set(code, "tar header at offset %llu (the first member): %s",
			     (unsigned long long)off, what);
	t->err = code;
	bp_strlcpy(t->errmsg, bp_error_last(), sizeof(t->errmsg));
	return code;
}

/* Keep the source's own error (or BP_EIO) as t's sticky error. */
static int source_fail(bp_tar *t)
{
	int code = bp_error_last_code();

	if (!code)
		code = bp_error_set(BP_EIO, "cannot read the archive");
	bp_error_prefix("tar, at offset %llu", (unsigned long long)t->pos);
	t->err = code;
	bp_strlcpy(t->errmsg, bp_error_last(), sizeof(t->errmsg));
	return code;
}

/* One call of the source; -1 (t->err set) on error. */
static long source_read(bp_tar *t, void *buf, size_t len)
{
	long n;

	if (len > LONG_MAX)
		len = LONG_MAX;
	bp_error_clear();
	n = t->read(buf, len, t->payload);
	if (n < 0 || (size_t)n > len) {
		if (n >= 0)
			bp_error_set(BP_ERROR, "the archive source returned more than asked");
		source_fail(t);
		return -1;
	}
	t->pos += (uint64_t)n;
	return n;
}

/* Read up to len bytes, stopping only at the end; *got says how many. */
static int read_full(bp_tar *t, void *buf, size_t len, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		long n = source_read(t, p + *got, len - *got);

		if (n < 0)
			return t->err;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* Skip n bytes; *got says how many were there. */
static int skip_bytes(bp_tar *t, uint64_t n, uint64_t *got)
{
	char buf[16384];

	*got = 0;
	if (t->skip) {
		int64_t k;

		bp_error_clear();
		k = t->skip(n, t->payload);
		if (k < 0 || (uint64_t)k > n) {
			if (k >= 0)
				bp_error_set(BP_ERROR,
					     "the archive source skipped more than asked");
			return source_fail(t);
		}
		t->pos += (uint64_t)k;
		*got = (uint64_t)k;
		return 0;
	}
	while (*got < n) {
		uint64_t want = n - *got;
		long k = source_read(t, buf, want < sizeof(buf) ? (size_t)want : sizeof(buf));

		if (k < 0)
			return t->err;
		if (k == 0)
			break;
		*got += (uint64_t)k;
	}
	return 0;
}

/* Trim spaces and NULs from both ends of a numeric field. */
static void trim_field(const unsigned char **p, size_t *len)
{
	while (*len && ((*p)[0] == ' ' || (*p)[0] == '\0')) {
		(*p)++;
		(*len)--;
	}
	while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\0'))
		(*len)--;
}

/*
 * A numeric field: octal text, or base-256 (first byte 0x80 positive,
 * 0xff negative) as GNU tar and Go write big values. -1 when malformed or
 * out of int64 range.
 */
static int parse_number(const unsigned char *h, size_t off, size_t len, int64_t *out)
{
	const unsigned char *p = h + off;
	uint64_t v = 0;
	size_t i;

	if (len && (p[0] & 0x80)) {
		int neg = p[0] == 0xff;

		if (p[0] != 0x80 && !neg)
			return -1;
		/* two's complement; only 8 bytes can be significant */
		for (i = 1; i < len; i++) {
			unsigned char c = neg ? (unsigned char)~p[i] : p[i];

			if (v >> 56)
				return -1;
			v = v << 8 | c;
		}
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = neg ? -(int64_t)v - 1 : (int64_t)v;
		return 0;
	}
	trim_field(&p, &len);
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '7' || (v >> 60))
			return -1;
		v = v << 3 | (uint64_t)(p[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* A NUL-terminated copy of a string field that may fill its whole length. */
static size_t field_str(char *dst, const unsigned char *h, size_t off, size_t len)
{
	size_t n = strnlen((const char *)h + off, len);

	memcpy(dst, h + off, n);
	dst[n] = '\0';
	return n;
}

static int checksum_ok(const unsigned char *h)
{
	uint64_t u = 0;
	int64_t s = 0, want;
	size_t i;

	if (parse_number(h, F_CHKSUM, &want) < 0)
		return 0;
	for (i = 0; i < BP_TAR_BLOCK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];

		u += c;
		s += (signed char)c;
	}
	/* some old tars summed signed chars */
	return (int64_t)u == want || s == want;
}

static void clear_ext(bp_tar *t)
{
	free(t->x_path);
	free(t->x_link);
	t->x_path = t->x_link = NULL;
	t->x_has_size = 0;
	t->x_size = 0;
}

/* Read an extension header's data (size bytes and padding) into *out. */
static int read_ext(bp_tar *t, uint64_t hdr, uint64_t size, uint64_t cap, const char *what,
		    char **out, size_t *len)
{
	uint64_t pad = (BP_TAR_BLOCK - size % BP_TAR_BLOCK) % BP_TAR_BLOCK, got;
	size_t n;
	char *buf;
	int rc;

	*out = NULL;
	if (size > cap)
		return tar_fail(t, BP_EPROTO, hdr, "%s of %llu bytes is larger than %llu", what,
				(unsigned long long)size, (unsigned long long)cap);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return bp_error_set(BP_ENOMEM, "out of memory");
	rc = read_full(t, buf, (size_t)size, &n);
	if (!rc && n < size)
		rc = tar_fail(t, BP_EPROTO, hdr,
			      "truncated archive: %s ends after %zu of %llu bytes", what, n,
			      (unsigned long long)size);
	if (!rc) {
		rc = skip_bytes(t, pad, &got);
		if (!rc && got < pad)
			rc = tar_fail(t, BP_EPROTO, hdr, "truncated archive: %s is not padded",
				      what);
	}
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Set *dst to a copy of a PAX or GNU name value; empty unsets it. */
static int set_ext_name(bp_tar *t, uint64_t hdr, char **dst, const char *v, size_t len,
			const char *what)
{
	if (memchr(v, '\0', len))
		return tar_fail(t, BP_EPROTO, hdr, "%s holds a NUL byte", what);
	if (len > BP_TAR_NAME_MAX)
		return tar_fail(t, BP_EPROTO, hdr, "%s is longer than %d bytes", what,
				BP_TAR_NAME_MAX);
	free(*dst);
	*dst = NULL;
	if (!len)
		return 0;
	*dst = bp_strndup(v, len);
	return *dst ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
}

/* Parse PAX records "LEN KEY=VALUE\n" and keep path, linkpath and size. */
static int parse_pax(bp_tar *t, uint64_t hdr, const char *data, size_t len)
{
	size_t at = 0;

	while (at < len) {
		const char *rec = data + at, *key, *eq, *val;
		size_t rlen = 0, i = 0, klen, vlen;

		while (i < len - at && rec[i] >= '0' && rec[i] <= '9') {
			if (rlen > len)
				break;
			rlen = rlen * 10 + (size_t)(rec[i] - '0');
			i++;
		}
		if (i == 0 || i >= len - at || rec[i] != ' ' || rlen <= i + 1 || rlen > len - at ||
		    rec[rlen - 1] != '\n')
			return tar_fail(t, BP_EPROTO, hdr, "malformed PAX record at byte %zu", at);
		key = rec + i + 1;
		eq = memchr(key, '=', (size_t)(rec + rlen - 1 - key));
		if (!eq || eq == key)
			return tar_fail(t, BP_EPROTO, hdr, "malformed PAX record at byte %zu", at);
		klen = (size_t)(eq - key);
		val = eq + 1;
		vlen = (size_t)(rec + rlen - 1 - val);
		if (klen == 4 && memcmp(key, "path", 4) == 0) {
			int rc = set_ext_name(t, hdr, &t->x_path, val, vlen, "PAX path");

			if (rc)
				return rc;
		} else if (klen == 8 && memcmp(key, "linkpath", 8) == 0) {
			int rc = set_ext_name(t, hdr, &t->x_link, val, vlen, "PAX linkpath");

			if (rc)
				return rc;
		} else if (klen == 4 && memcmp(key, "size", 4) == 0) {
			char num[24];
			int64_t v;

			if (vlen == 0 || vlen >= sizeof(num))
				return tar_fail(t, BP_EPROTO, hdr, "invalid PAX size");
			memcpy(num, val, vlen);
			num[vlen] = '\0';
			if (bp_parse_int64(num, 0, INT64_MAX, &v) < 0)
				return tar_fail(t, BP_EPROTO, hdr, "invalid PAX size \"%s\"", num);
			t->x_has_size = 1;
			t->x_size = (uint64_t)v;
		} else if (klen > 11 && memcmp(key, "GNU.sparse.", 11) == 0) {
			return tar_fail(t, BP_EUNSUPPORTED, hdr,
					"GNU sparse files are not supported");
		}
		at += rlen;
	}
	return 0;
}

/* Read a GNU 'L' or 'K' long name into *dst. */
static int read_gnu_name(bp_tar *t, uint64_t hdr, uint64_t size, char **dst, const char *what)
{
	char *data = NULL;
	size_t len = 0;
	int rc = read_ext(t, hdr, size, BP_TAR_NAME_MAX + 1, what, &data, &len);

	if (rc)
		return rc;
	/* the name is NUL-terminated inside the data */
	len = strnlen(data, len);
	rc = set_ext_name(t, hdr, dst, data, len, what);
	free(data);
	return rc;
}

/* The zero block at hdr was read: the second one must follow. */
static int end_marker(bp_tar *t, uint64_t hdr)
{
	size_t got;
	int rc;

	if (t->x_path || t->x_link || t->x_has_size)
		return tar_fail(t, BP_EPROTO, hdr,
				"truncated archive: the archive ends after an extended header");
	rc = read_full(t, t->block, BP_TAR_BLOCK, &got);
	if (rc)
		return rc;
	if (got < BP_TAR_BLOCK)
		return tar_fail(
			t, BP_EPROTO, hdr,
			"truncated archive: a lone zero block at its end (%zu bytes follow)", got);
	if (memcmp(t->block, zeros, BP_TAR_BLOCK) != 0)
		return tar_fail(t, BP_EPROTO, hdr,
				"a zero block followed by a header: corrupt archive");
	t->done = 1;
	return 0;
}

/* Fill t->e from the header in t->block, at hdr, with the extension data. */
static int make_entry(bp_tar *t, uint64_t hdr, uint64_t size)
{
	const unsigned char *h = t->block;
	char flag = (char)h[O_TYPEFLAG];
	int posix = memcmp(h + 257, "ustar\0", 6) == 0;
	int64_t v;
	size_t n;

	/* name: PAX path, GNU long name, or ustar prefix/name */
	if (t->x_path) {
		bp_strlcpy(t->name, t->x_path, sizeof(t->name));
	} else {
		n = 0;
		if (posix && h[345]) {
			n = field_str(t->name, h, F_PREFIX);
			t->name[n++] = '/';
		}
		field_str(t->name + n, h, F_NAME);
	}
	if (t->x_link)
		bp_strlcpy(t->link, t->x_link, sizeof(t->link));
	else
		field_str(t->link, h, F_LINKNAME);

	t->e.name = t->name;
	t->e.linkname = t->link;
	t->e.typeflag = flag;
	t->e.header = hdr;
	t->e.mode = parse_number(h, F_MODE, &v) == 0 ? (uint32_t)(v & 07777) : 0;
	t->e.mtime = parse_number(h, F_MTIME, &v) == 0 ? v : 0;
	n = strlen(t->name);
	switch (flag) {
	case '0':
	case '\0':
	case '7':
		t->e.type = n && t->name[n - 1] == '/' ? BP_TAR_DIR : BP_TAR_REG;
		break;
	case '1':
		t->e.type = BP_TAR_HARDLINK;
		break;
	case '2':
		t->e.type = BP_TAR_SYMLINK;
		break;
	case '5':
		t->e.type = BP_TAR_DIR;
		break;
	default:
		t->e.type = BP_TAR_OTHER;
		break;
	}
	/* header-only types carry no data whatever the size says (as Go) */
	if (t->e.type != BP_TAR_REG && (t->e.type != BP_TAR_OTHER || (flag >= '3' && flag <= '6')))
		size = 0;
	t->e.size = size;
	t->remaining = size;
	t->pad = (BP_TAR_BLOCK - size % BP_TAR_BLOCK) % BP_TAR_BLOCK;

	if (!t->name[0])
		return tar_fail(t, BP_EPROTO, hdr, "a member without a name");
	if (!(t->flags & BP_TAR_ANY_NAME)) {
		if (!bp_tar__name_safe(t->name))
			return tar_fail(t, BP_EPROTO, hdr,
					"unsafe member name (absolute, or with a '..' component)");
		if (t->e.type == BP_TAR_HARDLINK && !bp_tar__name_safe(t->link))
			return tar_fail(t, BP_EPROTO, hdr,
					"unsafe hard-link target \"%.*s\" (absolute, or with a "
					"'..' component)",
					MSG_NAME, t->link);
	}
	return 0;
}

/* Go to the next member; 1 with *out, 0 at the end, or an error. */
int bp_tar__next(bp_tar *t, const bp_tar_entry **out)
{
	uint64_t hdr, got, skip;
	int rc;

	if (out)
		*out = NULL;
	if (!t || !out)
		return bp_error_set(BP_EINVAL, "no tar reader");
	if (t->err)
		return bp_error_set(t->err, "%s", t->errmsg);
	if (t->done)
		return 0;

	/* the rest of the current member */
	skip = t->remaining + t->pad;
	if (skip) {
		rc = skip_bytes(t, skip, &got);
		if (rc)
			return rc;
		if (got < skip)
			return tar_fail(t, BP_EPROTO, t->e.header,
					"truncated archive: the data ends %llu bytes early",
					(unsigned long long)(skip - got));
		t->remaining = t->pad = 0;
	}
	if (t->e.name)
		bp_strlcpy(t->prev, t->e.name, sizeof(t->prev));
	memset(&t->e, 0, sizeof(t->e));
	clear_ext(t);

	for (;;) {
		int64_t size;
		size_t n;
		char flag;

		hdr = t->pos;
		rc = read_full(t, t->block, BP_TAR_BLOCK, &n);
		if (rc)
			return rc;
		if (n == 0)
			return tar_fail(t, BP_EPROTO, hdr,
					"truncated archive: it ends without the end-of-archive "
					"marker");
		if (n < BP_TAR_BLOCK)
			return tar_fail(t, BP_EPROTO, hdr,
					"truncated archive: the header has %zu of 512 bytes", n);
		if (memcmp(t->block, zeros, BP_TAR_BLOCK) == 0)
			return end_marker(t, hdr);
		if (!checksum_ok(t->block))
			return tar_fail(t, BP_EPROTO, hdr,
					"header checksum mismatch: not a tar archive, or corrupt");
		if (parse_number(t->block, F_SIZE, &size) < 0 || size < 0)
			return tar_fail(t, BP_EPROTO, hdr, "invalid or negative size field");
		flag = (char)t->block[O_TYPEFLAG];
		switch (flag) {
		case 'x': {
			char *data = NULL;
			size_t len = 0;

			rc = read_ext(t, hdr, (uint64_t)size, BP_TAR_PAX_MAX, "PAX header", &data,
				      &len);
			if (!rc)
				rc = parse_pax(t, hdr, data, len);
			free(data);
			if (rc)
				return rc;
			continue;
		}
		case 'g': {
			uint64_t pad =
				(BP_TAR_BLOCK - (uint64_t)size % BP_TAR_BLOCK) % BP_TAR_BLOCK;

			/* global attributes say nothing about names or sizes we use */
			if ((uint64_t)size > BP_TAR_PAX_MAX)
				return tar_fail(t, BP_EPROTO, hdr,
						"global PAX header of %lld bytes is too large",
						(long long)size);
			rc = skip_bytes(t, (uint64_t)size + pad, &got);
			if (rc)
				return rc;
			if (got < (uint64_t)size + pad)
				return tar_fail(t, BP_EPROTO, hdr,
						"truncated archive: global PAX header cut short");
			continue;
		}
		case 'L':
			rc = read_gnu_name(t, hdr, (uint64_t)size, &t->x_path, "GNU long name");
			if (rc)
				return rc;
			continue;
		case 'K':
			rc = read_gnu_name(t, hdr, (uint64_t)size, &t->x_link,
					   "GNU long link name");
			if (rc)
				return rc;
			continue;
		case 'S':
			return tar_fail(t, BP_EUNSUPPORTED, hdr,
					"GNU sparse files are not supported");
		case 'M':
			return tar_fail(t, BP_EUNSUPPORTED, hdr,
					"multi-volume archives are not supported");
		default:
			break;
		}
		rc = make_entry(t, hdr, t->x_has_size ? t->x_size : (uint64_t)size);
		if (rc)
			return rc;
		t->e.offset = t->pos;
		clear_ext(t);
		*out = &t->e;
		return 1;
	}
}

/* Read the current member's data: bytes, 0 at its end, -1 on error. */
long bp_tar__read(bp_tar *t, void *buf, size_t len)
{
	long n;

	if (!t) {
		bp_error_set(BP_EINVAL, "no tar reader");
		return -1;
	}
	if (t->err) {
		bp_error_set(t->err, "%s", t->errmsg);
		return -1;
	}
	if (!t->remaining || !len)
		return 0;
	if (len > t->remaining)
		len = (size_t)t->remaining;
	n = source_read(t, buf, len);
	if (n < 0)
		return -1;
	if (n == 0) {
		tar_fail(t, BP_EPROTO, t->e.header,
			 "truncated archive: the data ends %llu bytes early",
			 (unsigned long long)(t->remaining + t->pad));
		return -1;
	}
	t->remaining -= (uint64_t)n;
	return n;
}

/* bp_tar__read() with the reader as payload. */
long bp_tar__read_fn(void *buf, size_t len, void *payload)
{
	return bp_tar__read(payload, buf, len);
}

/* Bytes consumed from the source so far. */
uint64_t bp_tar__offset(const bp_tar *t)
{
	return t ? t->pos : 0;
}

/* A reader over read/skip; see tar.h. */
int bp_tar__new(bp_tar **out, bp_tar_read_fn read, bp_tar_skip_fn skip, void *payload,
		unsigned flags)
{
	bp_tar *t;

	if (out)
		*out = NULL;
	if (!out || !read)
		return bp_error_set(BP_EINVAL, "tar reader needs a read callback");
	t = calloc(1, sizeof(*t));
	if (!t)
		return bp_error_set(BP_ENOMEM, "out of memory");
	t->read = read;
	t->skip = skip;
	t->payload = payload;
	t->flags = flags;
	*out = t;
	return 0;
}

/* Free the reader; NULL-safe. */
void bp_tar__free(bp_tar *t)
{
	if (!t)
		return;
	clear_ext(t);
	free(t);
}

/* ---- writer ---- */

static int w_fail(bp_tarw *w, int code)
{
	w->err = code;
	bp_strlcpy(w->errmsg, bp_error_last(), sizeof(w->errmsg));
	return code;
}

static int w_out(bp_tarw *w, const void *data, size_t len)
{
	if (!len)
		return 0;
	bp_error_clear();
	if (w->write(data, len, w->payload) != 0) {
		int code = bp_error_last_code();

		if (!code)
			code = bp_error_set(BP_EIO, "cannot write the archive");
		return w_fail(w, code);
	}
	w->pos += len;
	return 0;
}

/* An octal field of len bytes: len - 1 digits, zero-padded, then NUL. */
static void put_octal(unsigned char *h, size_t off, size_t len, uint64_t v)
{
	size_t i = len - 1;

	h[off + i] = '\0';
	while (i--) {
		h[off + i] = (unsigned char)('0' + (v & 7));
		v >>= 3;
	}
}

/* The size field: octal below 8 GiB, base-256 above. */
static void put_size(unsigned char *h, uint64_t size)
{
	size_t i;

	if (size < (uint64_t)1 << 33) {
		put_octal(h, F_SIZE, size);
		return;
	}
	h[124] = 0x80;
	for (i = 11; i >= 1; i--) {
		h[124 + i] = (unsigned char)(size & 0xff);
		size >>= 8;
	}
}

static void put_checksum(unsigned char *h)
{
	unsigned sum = 0;
	size_t i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < BP_TAR_BLOCK; i++)
		sum += h[i];
	/* six digits, NUL, space: as GNU tar and Go write it */
	put_octal(h, 148, 7, sum);
	h[155] = ' ';
}

/*
 * A ustar header for name; 0, or 1 when name does not fit (the header then
 * holds a truncated name, for a PAX path record to override).
 */
static int build_header(unsigned char *h, const char *name, char flag, uint32_t mode, uint64_t size)
{
	size_t len = strlen(name), cut;
	int fits = 1;

	memset(h, 0, BP_TAR_BLOCK);
	if (len <= 100) {
		memcpy(h, name, len);
	} else {
		/* split at a '/' so that prefix <= 155 and name <= 100, not empty */
		for (cut = len - 1; cut > 0; cut--) {
			if (name[cut] == '/' && cut <= 155 && len - cut - 1 <= 100 &&
			    len - cut - 1 > 0)
				break;
		}
		if (cut > 0 && name[cut] == '/' && cut <= 155 && len - cut - 1 <= 100) {
			memcpy(h + 345, name, cut);
			memcpy(h, name + cut + 1, len - cut - 1);
		} else {
			memcpy(h, name, 100);
			fits = 0;
		}
	}
	put_octal(h, F_MODE, mode);
	put_octal(h, F_UID, 0);
	put_octal(h, F_GID, 0);
	put_size(h, size);
	put_octal(h, F_MTIME, 0);
	h[O_TYPEFLAG] = (unsigned char)flag;
	memcpy(h + 257, "ustar\0", 6);
	memcpy(h + 263, "00", 2);
	put_octal(h, F_DEVMAJOR, 0);
	put_octal(h, F_DEVMINOR, 0);
	put_checksum(h);
	return fits ? 0 : 1;
}

static int w_pad(bp_tarw *w, uint64_t n)
{
	return w_out(w, zeros, (size_t)((BP_TAR_BLOCK - n % BP_TAR_BLOCK) % BP_TAR_BLOCK));
}

/* A PAX 'x' member carrying path=name. */
static int w_pax_path(bp_tarw *w, const char *name)
{
	unsigned char h[BP_TAR_BLOCK];
	size_t body = strlen("path=") + strlen(name) + 2, len = body, digits;
	char *rec;
	int rc;

	/* the record's length counts its own digits */
	for (;;) {
		size_t d = 1, v = len;

		while (v >= 10) {
			v /= 10;
			d++;
		}
		digits = d;
		if (body + digits == len)
			break;
		len = body + digits;
	}
	rec = bp_aprintf("%zu path=%s\n", len, name);
	if (!rec)
		return w_fail(w, bp_error_set(BP_ENOMEM, "out of memory"));
	build_header(h, "././@PaxHeader", 'x', 0644, len);
	rc = w_out(w, h, sizeof(h));
	if (!rc)
		rc = w_out(w, rec, len);
	if (!rc)
		rc = w_pad(w, len);
	free(rec);
	return rc;
}

/* Start a member; size -1 when unknown (patched by end). */
int bp_tarw__begin(bp_tarw *w, const char *name, bp_tar_type type, int64_t size)
{
	char *full = NULL;
	int rc;

	if (!w)
		return bp_error_set(BP_EINVAL, "no tar writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	if (w->in_member || w->finished)
		return bp_error_set(BP_EINVAL, "tar writer: %s",
				    w->finished ? "the archive is finished"
						: "the previous member is not ended");
	if (!bp_tar__name_safe(name))
		return bp_error_set(BP_EINVAL,
				    "tar writer: unsafe or overlong member name \"%.200s\"",
				    name ? name : "");
	if (type != BP_TAR_REG && type != BP_TAR_DIR)
		return bp_error_set(BP_EINVAL,
				    "tar writer: only files and directories are written");
	if (type == BP_TAR_DIR && size > 0)
		return bp_error_set(BP_EINVAL, "tar writer: a directory has no data");
	if (size < -1)
		return bp_error_set(BP_EINVAL, "tar writer: invalid size %lld", (long long)size);
	if (size == -1 && !w->patch)
		return bp_error_set(
			BP_EINVAL, "tar writer: member %s: an unknown size needs a seekable output",
			name);
	if (type == BP_TAR_DIR) {
		size = 0;
		if (!bp_strsuffix(name, "/")) {
			full = bp_aprintf("%s/", name);
			if (!full)
				return bp_error_set(BP_ENOMEM, "out of memory");
			name = full;
		}
	}
	if (strlen(name) > BP_TAR_NAME_MAX) {
		free(full);
		return bp_error_set(BP_EINVAL, "tar writer: member name longer than %d bytes",
				    BP_TAR_NAME_MAX);
	}
	if (build_header(w->hdr, name, type == BP_TAR_DIR ? '5' : '0',
			 type == BP_TAR_DIR ? 0755 : 0644, size < 0 ? 0 : (uint64_t)size)) {
		rc = w_pax_path(w, name);
		if (rc)
			goto done;
	}
	w->hdr_off = w->pos;
	rc = w_out(w, w->hdr, sizeof(w->hdr));
	if (rc)
		goto done;
	w->in_member = 1;
	w->size = size;
	w->written = 0;
done:
	free(full);
	return rc;
}

/* Data of the current member. */
int bp_tarw__write(bp_tarw *w, const void *data, size_t len)
{
	if (!w)
		return bp_error_set(BP_EINVAL, "no tar writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	if (!w->in_member)
		return bp_error_set(BP_EINVAL, "tar writer: no member started");
	if (w->size >= 0 && (uint64_t)len > (uint64_t)w->size - w->written)
		return w_fail(w, bp_error_set(BP_EINVAL,
					      "tar writer: more data than the %lld bytes declared",
					      (long long)w->size));
	if (w_out(w, data, len))
		return w->err;
	w->written += len;
	return 0;
}

/* End the current member: pad, patch an unknown size. */
int bp_tarw__end(bp_tarw *w)
{
	int rc;

	if (!w)
		return bp_error_set(BP_EINVAL, "no tar writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	if (!w->in_member)
		return bp_error_set(BP_EINVAL, "tar writer: no member started");
	if (w->size >= 0 && w->written != (uint64_t)w->size)
		return w_fail(w, bp_error_set(BP_EINVAL,
					      "tar writer: %llu bytes written of the %lld declared",
					      (unsigned long long)w->written, (long long)w->size));
	rc = w_pad(w, w->written);
	if (rc)
		return rc;
	if (w->size < 0) {
		put_size(w->hdr, w->written);
		put_checksum(w->hdr);
		bp_error_clear();
		if (w->patch(w->hdr, sizeof(w->hdr), w->hdr_off, w->payload) != 0) {
			int code = bp_error_last_code();

			if (!code)
				code = bp_error_set(BP_EIO, "cannot rewrite a tar header");
			return w_fail(w, code);
		}
	}
	w->in_member = 0;
	return 0;
}

/* A whole regular file from a buffer. */
int bp_tarw__add(bp_tarw *w, const char *name, const void *data, size_t len)
{
	int rc;

	if (len > (size_t)INT64_MAX)
		return bp_error_set(BP_EINVAL, "tar writer: member too large");
	rc = bp_tarw__begin(w, name, BP_TAR_REG, (int64_t)len);
	if (!rc)
		rc = bp_tarw__write(w, data, len);
	if (!rc)
		rc = bp_tarw__end(w);
	return rc;
}

/* A regular file read from a callback to its end. */
int bp_tarw__add_from(bp_tarw *w, const char *name, int64_t size, bp_tar_read_fn read,
		      void *payload)
{
	size_t cap = 256 * 1024;
	char *buf = NULL;
	int rc;

	if (!read)
		return bp_error_set(BP_EINVAL, "tar writer: no read callback");
	rc = bp_tarw__begin(w, name, BP_TAR_REG, size);
	if (rc)
		return rc;
	buf = malloc(cap);
	if (!buf) {
		rc = w_fail(w, bp_error_set(BP_ENOMEM, "out of memory"));
		goto done;
	}
	for (;;) {
		size_t want = cap;
		long n;

		if (size >= 0) {
			uint64_t left = (uint64_t)size - w->written;

			/* at the size, ask for one byte more: there must be none */
			want = left == 0 ? 1 : left < cap ? (size_t)left : cap;
		}
		bp_error_clear();
		n = read(buf, want, payload);
		if (n < 0 || (size_t)n > want) {
			int code = bp_error_last_code();

			if (!code || n >= 0)
				code = bp_error_set(BP_EIO, "member %s: cannot read its data",
						    name);
			rc = w_fail(w, code);
			goto done;
		}
		if (n == 0)
			break;
		if (size >= 0 && w->written == (uint64_t)size) {
			rc = w_fail(w,
				    bp_error_set(BP_EINVAL,
						 "member %s: the source has more than %lld bytes",
						 name, (long long)size));
			goto done;
		}
		rc = bp_tarw__write(w, buf, (size_t)n);
		if (rc)
			goto done;
	}
	if (size >= 0 && w->written != (uint64_t)size) {
		rc = w_fail(w, bp_error_set(BP_EINVAL,
					    "member %s: the source ended after %llu of %lld bytes",
					    name, (unsigned long long)w->written, (long long)size));
		goto done;
	}
	rc = bp_tarw__end(w);
done:
	free(buf);
	return rc;
}

/* Two zero blocks. */
int bp_tarw__finish(bp_tarw *w)
{
	int rc;

	if (!w)
		return bp_error_set(BP_EINVAL, "no tar writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	if (w->in_member || w->finished)
		return bp_error_set(BP_EINVAL, "tar writer: %s",
				    w->finished ? "the archive is already finished"
						: "the last member is not ended");
	rc = w_out(w, zeros, BP_TAR_BLOCK);
	if (!rc)
		rc = w_out(w, zeros, BP_TAR_BLOCK);
	if (!rc)
		w->finished = 1;
	return rc;
}

/* Bytes given to the sink so far. */
uint64_t bp_tarw__offset(const bp_tarw *w)
{
	return w ? w->pos : 0;
}

/* A writer to write/patch; see tar.h. */
int bp_tarw__new(bp_tarw **out, bp_tar_write_fn write, bp_tar_patch_fn patch, void *payload)
{
	bp_tarw *w;

	if (out)
		*out = NULL;
	if (!out || !write)
		return bp_error_set(BP_EINVAL, "tar writer needs a write callback");
	w = calloc(1, sizeof(*w));
	if (!w)
		return bp_error_set(BP_ENOMEM, "out of memory");
	w->write = write;
	w->patch = patch;
	w->payload = payload;
	*out = w;
	return 0;
}

/* Free the writer; NULL-safe. */
void bp_tarw__free(bp_tarw *w)
{
	free(w);
}
