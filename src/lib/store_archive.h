/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_STORE_ARCHIVE_H
#define BP_LIB_STORE_ARCHIVE_H

/*
 * `docker save` / `docker load` archives (internal API for now).
 *
 * Reading: both layouts `docker save` has written. The legacy one
 * (manifest.json, <hex>.json configs, <id>/layer.tar or <hex>.tar layers,
 * repositories) as docker <= 24, skopeo and podman write it; and the
 * Docker 25+ one, an OCI image layout inside the tar (oci-layout,
 * index.json, blobs/sha256/<hex>, with a manifest.json beside them whose
 * Config and Layers name those blobs). With containerd's image store the
 * blobs are kept as pulled, often compressed, and index.json may lead to
 * an index of platforms: so a layer's compression is told by its magic
 * bytes, and a platform is chosen from the index.
 *
 * The archive is indexed once at open (only the headers are read; data
 * is skipped with lseek): each member of a known shape gets its data
 * offset and size in the file, and layer bytes are later read in place
 * with pread(), never extracted. Member names
 * are untrusted: absolute names and ".." components make the archive
 * BP_EPROTO; names that manifest.json or index.json refer to must have
 * one of the shapes of bp_archive_member_kind, links (symbolic or hard)
 * are followed inside the archive only, at most 8 deep; no local path is
 * ever built from a member name.
 *
 * Writing: the legacy layout as skopeo writes it, which `docker load` and
 * `podman load` accept: <config-hex>.json, one uncompressed
 * <diffid-hex>.tar per layer, then manifest.json and repositories. The
 * archive is written to a temporary file in the target's directory and
 * renamed into place by bp_archive__commit() only when complete.
 *
 * Threads: open, find and free from one thread; bp_archive__read_at() and
 * cursors (pread on the shared descriptor) from any number at once.
 * Layer bytes are located, not verified, by find: hash them while they
 * stream (diff_id for uncompressed bytes, digest when the archive names
 * one).
 *
 * The module's files and what each owns: store_archive_int.h.
 */

#include <beampush/common.h>
#include <beampush/digest.h>
#include <beampush/manifest.h>

#include "compress.h"
#include "tar.h"
#include "util/fileutil.h"

#include <stddef.h>
#include <stdint.h>

/* Limits on what is read whole into memory. */
#define BP_ARCHIVE_JSON_MAX (16 * 1024 * 1024)	 /* manifest.json, index.json */
#define BP_ARCHIVE_CONFIG_MAX (16 * 1024 * 1024) /* an image config */
#define BP_ARCHIVE_MEMBERS_MAX (1 << 18)	 /* members of known shapes */

/* The shapes of member names an archive may use; anything else is ignored. */
typedef enum {
	BP_ARCHIVE_OTHER = 0,
	BP_ARCHIVE_MANIFEST_JSON, /* manifest.json */
	BP_ARCHIVE_INDEX_JSON,	  /* index.json */
	BP_ARCHIVE_OCI_LAYOUT,	  /* oci-layout */
	BP_ARCHIVE_REPOSITORIES,  /* repositories */
	BP_ARCHIVE_CONFIG,	  /* <hex>.json */
	BP_ARCHIVE_LAYER,	  /* <hex>.tar (skopeo, podman) */
	BP_ARCHIVE_V1_DIR,	  /* <hex> */
	BP_ARCHIVE_V1_LAYER,	  /* <hex>/layer.tar (docker <= 24) */
	BP_ARCHIVE_V1_JSON,	  /* <hex>/json */
	BP_ARCHIVE_V1_VERSION,	  /* <hex>/VERSION */
	BP_ARCHIVE_BLOBS_DIR,	  /* blobs, blobs/sha256 */
	BP_ARCHIVE_BLOB		  /* blobs/sha256/<hex> (docker 25+) */
} bp_archive_member_kind;

/*
 * The shape of a member name, after dropping leading "./" and a trailing
 * '/'. hex (65 bytes, may be NULL) gets the 64 lowercase hex digits the
 * name holds, or "". For a caller walking an export stream with bp_tar__*.
 */
bp_archive_member_kind bp_archive__member_kind(const char *name, char *hex);

/* One layer of an image found in an archive; borrowed from the archive. */
typedef struct {
	const char *member;	    /* the member holding the bytes (links followed) */
	uint64_t offset;	    /* of its first byte in the file */
	int64_t size;		    /* bytes in the archive, as stored */
	bp_compression compression; /* by its magic bytes */
	const char *media_type;	    /* from the OCI manifest; NULL from manifest.json */
	/*
	 * The blob digest the archive names the bytes by (OCI descriptor or
	 * blobs/sha256/<hex>), "" when it names none. Not verified: hash the
	 * bytes while they stream.
	 */
	char digest[BP_DIGEST_MAX];
	char diff_id[BP_DIGEST_MAX]; /* rootfs.diff_ids[i] of the config */
} bp_archive_layer;

/* An image found in an archive; everything borrowed from the archive. */
typedef struct {
	const char *config; /* the config bytes, NUL-terminated */
	size_t config_len;
	char config_digest[BP_DIGEST_MAX]; /* verified: the image ID */
	const char *config_media_type;	   /* from the OCI manifest, else NULL */
	const bp_archive_layer *layers;	   /* base first */
	size_t nlayers;
	/* its names, normalised ("docker.io/beam/python:latest"); may be none */
	const char *const *tags;
	size_t ntags;
	/*
	 * Docker 25+: the image manifest the index led to (verified bytes,
	 * digest, media type); NULL, "" and NULL when found in manifest.json.
	 */
	const char *manifest;
	size_t manifest_len;
	char manifest_digest[BP_DIGEST_MAX];
	const char *manifest_media_type;
	/*
	 * Docker 25+: when the image was reached through an index (a
	 * multi-platform image), that index's digest and size; "" and 0
	 * otherwise. Not read yet: bp_archive__read_blob.
	 */
	char index_digest[BP_DIGEST_MAX];
	int64_t index_size;
} bp_archive_image;

typedef struct bp_archive bp_archive;

/*
 * Open the archive file at path and index its members. BP_ENOTFOUND when
 * the file does not exist, BP_EINVAL when it is not a regular file,
 * BP_EPROTO for a corrupt or truncated tar or an unsafe member name,
 * BP_EIO, BP_ENOMEM. Free with bp_archive__free().
 */
int bp_archive__open(bp_archive **out, const char *path);
/* NULL-safe; frees every image and layer handed out. */
void bp_archive__free(bp_archive *a);

/*
 * Find an image. ref: a tag reference matched against the archive's
 * names normalised the docker way ("beam/python:latest" matches
 * "docker.io/beam/python:latest"); NULL: the only image. platform:
 * "os/arch[/variant]" to choose from an index, NULL for this machine's.
 * index.json is preferred when it names the image; else manifest.json.
 * The config is read and verified (BP_EINTEGRITY), layer members are
 * located and their magic bytes read, the layer count must equal the
 * config's diff_ids (BP_EINVAL). Errors: BP_ENOTFOUND (ref not in the
 * archive, message lists its tags; platform not in the index), BP_EINVAL
 * (ref NULL and several images, listing their tags; a digest reference;
 * malformed JSON; a missing or badly named member), BP_EPROTO (a link
 * that leaves the archive), BP_EINTEGRITY, BP_EIO, BP_ENOMEM. *out is
 * borrowed from a until bp_archive__free().
 */
int bp_archive__find(bp_archive *a, const char *ref, const char *platform,
		     const bp_archive_image **out);

/*
 * oci-archive: an OCI image layout in a tar, as skopeo writes it. The
 * entry of its index.json that ref names: ref equal to the entry's
 * org.opencontainers.image.ref.name as stored (skopeo's rule: a tag such
 * as "latest", or a whole name), else ref normalised the docker way equal
 * to its io.containerd.image.name or to a ref.name that is a whole name;
 * the first entry that matches. NULL ref: the only image (entries that
 * all name the same digest). Only index.json is read (manifest.json, if
 * any, is not looked at); *out is borrowed from a. BP_ENOTFOUND (ref in
 * no entry, or no entry at all; the message lists what the archive
 * holds), BP_EINVAL (no index.json, one that is not JSON or has no
 * manifests array; several images and no ref, listed), BP_EPROTO,
 * BP_EIO, BP_ENOMEM.
 */
int bp_archive__layout_pick(bp_archive *a, const char *ref, const bp_descriptor **out);

/* The path the archive was opened from. Borrowed. */
const char *bp_archive__path(const bp_archive *a);

/*
 * Read up to len bytes of layer l from byte off of the layer: the number
 * read (short only at the layer's end), 0 at or past its end, -1 with
 * BP_EIO set. pread() underneath: threads may read layers concurrently.
 */
long bp_archive__read_at(bp_archive *a, const bp_archive_layer *l, uint64_t off, void *buf,
			 size_t len);

/* A sequential reader over one layer, on the stack; see cursor_read. */
typedef struct {
	bp_archive *a;
	const bp_archive_layer *l;
	uint64_t pos;
} bp_archive_cursor;

/* Start c at the first byte of layer l of a. */
void bp_archive__cursor_init(bp_archive_cursor *c, bp_archive *a, const bp_archive_layer *l);

/* A bp_tar_read_fn over the layer: payload is a bp_archive_cursor. */
long bp_archive__cursor_read(void *buf, size_t len, void *payload);

/* ---- writing ---- */

typedef struct bp_archive_writer bp_archive_writer;

/*
 * Open the temporary file beside path that an archive is written to
 * (bp_tmpfile_open, mode 0644 less the umask; f from BP_TMPFILE_INIT,
 * released by the caller either way). BP_EINVAL when path is a directory
 * or empty, BP_ENOTFOUND when its directory is missing, BP_EIO, BP_ENOMEM.
 */
int bp_archive__tmpfile(bp_tmpfile *f, const char *path);

/*
 * Start an archive that will become path: a temporary file
 * ".<name>.tmp-XXXXXX" in path's directory. An existing file at path is
 * replaced at commit; a directory is BP_EINVAL; a missing directory
 * BP_ENOTFOUND. The file gets mode 0644 less the umask.
 */
int bp_archive__create(bp_archive_writer **out, const char *path);

/*
 * Begin an image: its config bytes (written now as <hex>.json; when
 * config_digest is not NULL they must hash to it, else BP_EINTEGRITY) and
 * its tags (references with a tag and no digest, BP_EINVAL otherwise; a
 * tag already given to another image is BP_EINVAL). Its layers follow with
 * bp_archive__add_layer(), in the config's diff_ids order.
 */
int bp_archive__add_image(bp_archive_writer *w, const void *config, size_t len,
			  const char *config_digest, const char *const *tags, size_t ntags);

/* 1 when the layer with this diff_id is already in the archive. */
int bp_archive__has_layer(const bp_archive_writer *w, const char *diff_id);

/*
 * Add the next layer of the current image: uncompressed tar bytes read
 * from read (payload) to its end, which must hash to diff_id, the config's
 * next diff_id (else BP_EINVAL). size: the byte count when known (a
 * different count is BP_EINTEGRITY), -1 when not: the tar header is then
 * written with size 0 and patched in place once the bytes are in (the
 * output is a regular file), so nothing is spooled. A layer already in
 * the archive (same diff_id) is referred to again and read is not
 * called; read may then be NULL. Bytes that do not hash to diff_id:
 * BP_EINTEGRITY. Any error is sticky: the archive can then only be
 * aborted (commit fails and deletes the temporary file).
 */
int bp_archive__add_layer(bp_archive_writer *w, const char *diff_id, int64_t size,
			  bp_tar_read_fn read, void *payload);

/*
 * Write manifest.json and repositories, end the tar, fsync and rename it
 * to the target. BP_EINVAL when no image was added or an image lacks
 * layers its config lists. Frees w; on error the temporary file is gone.
 */
int bp_archive__commit(bp_archive_writer *w);

/* Delete the temporary file and free w; NULL-safe. */
void bp_archive__abort(bp_archive_writer *w);

/*
 * Blobs of a Docker 25+ archive (blobs/sha256/<hex>, links followed), for
 * pushing an index whole. bp_archive__blob: where its bytes start in the
 * archive file (read them with pread on bp_archive__fd), its size checked
 * unless -1; BP_ENOTFOUND when the archive lacks it. read_blob: a small
 * blob whole, at most max bytes, verified against its digest.
 */
int bp_archive__blob(bp_archive *a, const char *digest, int64_t size, uint64_t *offset);
int bp_archive__read_blob(bp_archive *a, const char *digest, int64_t size, size_t max, char **data,
			  size_t *len);
int bp_archive__fd(const bp_archive *a);
/*
 * Hash the bytes of the blob digest names where they lie: 0 when they hash
 * to it, BP_EINTEGRITY (the message names the archive) when not,
 * BP_ENOTFOUND, BP_EIO, BP_ENOMEM.
 */
int bp_archive__check_blob(bp_archive *a, const char *digest);

#endif
