/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_TAR_H
#define BP_LIB_TAR_H

/*
 * Streaming tar: a reader over a read callback, so that the same code
 * walks a `docker save` file and the non-seekable stream of the Docker
 * Engine API's GET /images/{name}/get; and a deterministic writer.
 *
 * Reader: ustar (prefix + name), GNU long names and link names ('L',
 * 'K'), PAX extended headers ('x': path, linkpath, size; 'g' skipped),
 * sizes in octal or base-256. Every header's checksum is verified.
 * Bounds: names and link names at most BP_TAR_NAME_MAX bytes, one PAX
 * header at most BP_TAR_PAX_MAX bytes; nothing else is allocated per
 * member. A truncated archive, a bad checksum, a malformed number or PAX
 * record, a negative size, a missing end-of-archive marker: BP_EPROTO,
 * with a message that names the member (or the one before it) and the
 * offset of its header. GNU sparse members (type 'S', GNU.sparse.* PAX
 * keys) and multi-volume archives are BP_EUNSUPPORTED.
 *
 * Unless BP_TAR_ANY_NAME is given, member names and hard-link targets
 * must be relative and free of ".." components (BP_EPROTO otherwise);
 * symlink targets are returned as they are, for the caller to judge.
 */

#include <beampush/common.h>

#include <stddef.h>
#include <stdint.h>

/* Longest member or link name accepted, in bytes. */
#define BP_TAR_NAME_MAX 4096
/* Largest PAX extended header ('x' or 'g') accepted, in bytes. */
#define BP_TAR_PAX_MAX (64 * 1024)
#define BP_TAR_BLOCK 512

/*
 * The byte source: read up to len bytes into buf; the number read, 0 at
 * the end, -1 on error (with bp_error_set() called, or BP_EIO is
 * assumed).
 */
typedef long (*bp_tar_read_fn)(void *buf, size_t len, void *payload);

/*
 * Optional fast skip (a seekable source): move len bytes forward; the
 * number skipped (less than len when the source ends first), or -1 on
 * error. Without one, skipped data is read and dropped.
 */
typedef int64_t (*bp_tar_skip_fn)(uint64_t len, void *payload);

/* The byte sink: write all len bytes; 0, or -1 (with bp_error_set()). */
typedef int (*bp_tar_write_fn)(const void *buf, size_t len, void *payload);

/*
 * Optional rewrite of earlier output (a regular file): write len bytes
 * at offset off of what the sink received; 0, or -1 (bp_error_set()).
 * Needed only for members of unknown size.
 */
typedef int (*bp_tar_patch_fn)(const void *buf, size_t len, uint64_t off, void *payload);

typedef enum {
	BP_TAR_REG,	 /* regular file ('0', '\0', '7') */
	BP_TAR_DIR,	 /* '5' */
	BP_TAR_SYMLINK,	 /* '2' */
	BP_TAR_HARDLINK, /* '1' */
	BP_TAR_OTHER	 /* devices, fifos, vendor types: data skipped */
} bp_tar_type;

/* Reader flags. */
#define BP_TAR_ANY_NAME 0x1 /* allow absolute names and ".." components */

/* One member, borrowed from the reader until the next bp_tar__next(). */
typedef struct {
	const char *name;     /* full name: PAX path, GNU long name or prefix/name */
	const char *linkname; /* symlink or hard-link target, else "" */
	bp_tar_type type;
	char typeflag;	 /* the header's type byte */
	uint64_t size;	 /* data bytes (0 for links, dirs and devices) */
	uint64_t offset; /* stream offset of the first data byte */
	uint64_t header; /* stream offset of the member's first header */
	uint32_t mode;
	int64_t mtime;
} bp_tar_entry;

typedef struct bp_tar bp_tar;

/*
 * A reader over read (and, when not NULL, skip) with payload; flags are
 * BP_TAR_*. The stream's offset 0 is wherever the source is now. BP_EINVAL
 * without read; BP_ENOMEM. Free with bp_tar__free().
 */
int bp_tar__new(bp_tar **out, bp_tar_read_fn read, bp_tar_skip_fn skip, void *payload,
		unsigned flags);
/* NULL-safe. Does not touch the source. */
void bp_tar__free(bp_tar *t);

/*
 * Go to the next member, skipping what is left of the current one's data
 * and its padding. 1 with *out set (borrowed until the next call); 0 at
 * the end-of-archive marker (two zero blocks; the source is not read any
 * further); a negative BP_E* code on error, after which every call
 * returns that code again.
 */
int bp_tar__next(bp_tar *t, const bp_tar_entry **out);

/*
 * Read up to len bytes of the current member's data: the number read, 0
 * at the end of the data, -1 on error (message set; bp_error_last_code()
 * gives the code, BP_EPROTO for a truncated archive). It has the shape of
 * bp_tar_read_fn, with the reader as payload: see bp_tar__read_fn().
 */
long bp_tar__read(bp_tar *t, void *buf, size_t len);

/* bp_tar__read() as a bp_tar_read_fn: payload is the bp_tar. */
long bp_tar__read_fn(void *buf, size_t len, void *payload);

/* Bytes consumed from the source so far. */
uint64_t bp_tar__offset(const bp_tar *t);

/*
 * The writer. Every header is ustar with mtime 0, uid/gid 0, no user or
 * group names, mode 0644 (0755 for directories): the same input gives the
 * same bytes. A name that does not fit ustar's name (100 bytes) or
 * prefix/name split gets a PAX 'x' header with a path record first. A size
 * of 8 GiB or more is written in base-256, which GNU tar, Go's archive/tar
 * (docker, containers/image) and libarchive read.
 */
typedef struct bp_tarw bp_tarw;

/*
 * A writer to write (payload); patch may be NULL, and is needed only for
 * bp_tarw__begin() with an unknown size. BP_EINVAL, BP_ENOMEM.
 */
int bp_tarw__new(bp_tarw **out, bp_tar_write_fn write, bp_tar_patch_fn patch, void *payload);
/* NULL-safe; does not finish the archive. */
void bp_tarw__free(bp_tarw *w);

/*
 * Start a member. type is BP_TAR_REG or BP_TAR_DIR (size 0). size -1: not
 * known yet; the header is written with size 0 and patched by
 * bp_tarw__end() (needs a patch callback; the name must then fit ustar,
 * as a PAX size record could not be patched). Names must be relative,
 * without ".." components, at most BP_TAR_NAME_MAX bytes: BP_EINVAL.
 */
int bp_tarw__begin(bp_tarw *w, const char *name, bp_tar_type type, int64_t size);
/* Data of the current member; BP_EINVAL past its declared size. */
int bp_tarw__write(bp_tarw *w, const void *data, size_t len);
/*
 * End the member: pad to a block, patch the size when it was unknown.
 * BP_EINVAL when fewer bytes than declared were written.
 */
int bp_tarw__end(bp_tarw *w);

/* A whole regular file from a buffer: begin, write, end. */
int bp_tarw__add(bp_tarw *w, const char *name, const void *data, size_t len);

/*
 * A regular file of size bytes (-1: unknown, needs patch) read from read
 * (payload) to its end. BP_EINVAL when the source gives fewer or more
 * bytes than size; the source's error when it fails.
 */
int bp_tarw__add_from(bp_tarw *w, const char *name, int64_t size, bp_tar_read_fn read,
		      void *payload);

/* The end-of-archive marker: two zero blocks. No member may follow. */
int bp_tarw__finish(bp_tarw *w);

/* Bytes given to the sink so far. */
uint64_t bp_tarw__offset(const bp_tarw *w);

/*
 * 1 when a member name is safe to follow: not empty, not absolute, no
 * ".." component, at most BP_TAR_NAME_MAX bytes.
 */
int bp_tar__name_safe(const char *name);

#endif
