/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_STORE_OCI_H
#define BEAMPUSH_STORE_OCI_H

#include <beampush/common.h>
#include <beampush/manifest.h>

/*
 * An OCI image layout directory: oci-layout, index.json, blobs/sha256/.
 * Tags are the org.opencontainers.image.ref.name annotation of the
 * entries of index.json.
 */
typedef struct bp_oci bp_oci;
typedef struct bp_oci_writer bp_oci_writer;

/*
 * Open dir. With create, a missing directory or layout is created (an
 * existing directory that holds anything but a layout is refused).
 * Without create, a directory that is not a layout is BP_ENOTFOUND or
 * BP_EINVAL, with a message that says which.
 */
int bp_oci_open(bp_oci **out, const char *dir, int create);
void bp_oci_free(bp_oci *o);

/*
 * The manifest descriptor for tag in index.json. With tag NULL: the only
 * entry, or BP_EINVAL listing the tags when there are several. BP_ENOTFOUND
 * when the tag is absent (message lists the tags). The descriptor is
 * borrowed from o.
 */
int bp_oci_resolve(bp_oci *o, const char *tag, const bp_descriptor **out);

/* 1 when the blob is present with this size (-1: do not check size). */
int bp_oci_blob_exists(bp_oci *o, const char *digest, int64_t size);

/* Path of a blob, new string. */
char *bp_oci_blob_path(bp_oci *o, const char *digest);

/*
 * Open a blob for reading (O_RDONLY fd, caller closes). BP_ENOTFOUND when
 * missing. *size gets its size on disk.
 */
int bp_oci_blob_open(bp_oci *o, const char *digest, int *fd, int64_t *size);

/*
 * Read a whole small blob (manifest, config) of at most max bytes, and
 * verify its digest (BP_EINTEGRITY on mismatch). *data is NUL-terminated,
 * caller frees.
 */
int bp_oci_blob_read(bp_oci *o, const char *digest, size_t max,
		     char **data, size_t *len);

/*
 * Write a blob: bytes go to a temporary file under blobs/, hashed as they
 * come; commit renames it into place only when digest and size match,
 * else it is deleted and BP_EINTEGRITY returned. size -1: not checked.
 * abort deletes the temporary file; both free w.
 */
int bp_oci_blob_begin(bp_oci *o, bp_oci_writer **w, const char *digest,
		      int64_t size);
int bp_oci_writer_write(bp_oci_writer *w, const void *data, size_t len);
/* Bytes written so far. */
int64_t bp_oci_writer_count(const bp_oci_writer *w);
int bp_oci_blob_commit(bp_oci_writer *w);
void bp_oci_writer_abort(bp_oci_writer *w);

/*
 * A download that may outlive the process: like bp_oci_blob_begin, but the
 * temporary file is blobs/sha256/.partial-HEX (locked while written), and
 * the bytes a previous run left there are taken over, hashed again:
 * bp_oci_writer_count tells where the download goes on. No file of that
 * name is ever read as a blob; commit verifies it like any other. When
 * another process holds the partial file, a private temporary file is used.
 */
int bp_oci_blob_resume(bp_oci *o, bp_oci_writer **w, const char *digest, int64_t size);
/* Bytes the partial file held when the writer was opened (0: none). */
int64_t bp_oci_writer_resumed(const bp_oci_writer *w);
/* Free w, keeping its partial file (when it has one) for a later run. */
void bp_oci_writer_keep(bp_oci_writer *w);

/* Write a whole small blob, verified, through the same temp + rename. */
int bp_oci_blob_put(bp_oci *o, const char *digest, const void *data,
		    size_t len);

/*
 * Record desc (a manifest or index already in blobs/) in index.json under
 * tag (NULL: untagged, added once). An entry with the same tag is
 * replaced. index.json is written to a temporary file and renamed.
 */
int bp_oci_tag(bp_oci *o, const bp_descriptor *desc, const char *tag);

#endif
