/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_OCI_ARCHIVE_H
#define BP_LIB_OCI_ARCHIVE_H

/*
 * An OCI image layout written as a tar, from a verified layout: what a
 * pull into oci-archive:FILE writes, as skopeo writes it (oci-layout,
 * index.json, blobs/sha256/<hex>) with the names that containerd (`ctr
 * images import`, nerdctl load) and podman load read; and, with docker's
 * manifest.json beside it, the archive Docker 25+ saves, which a pull
 * into the daemon loads. (Reading one is the archive reader's:
 * store_archive.h.)
 */

#include <beampush/store_oci.h>

/* What index.json (and manifest.json) say of the image. */
typedef struct {
	/*
	 * org.opencontainers.image.ref.name, or NULL: what skopeo matches
	 * oci-archive:FILE:REF against (a tag, by OCI's convention and
	 * Docker's, or a whole name), and podman's name for the image when
	 * image_name is NULL.
	 */
	const char *ref_name;
	/* io.containerd.image.name, or NULL: a whole name, which containerd and podman use first */
	const char *image_name;
	/* 1: add manifest.json (RepoTags: image_name) for loaders of docker save archives */
	int docker;
} bp_oci_archive_opts;

#define BP_OCI_ARCHIVE_OPTS_INIT \
	{                        \
		NULL, NULL, 0    \
	}

/*
 * Write the manifest or index tagged tag in the layout oci, and every blob
 * it reaches (each once, an index's manifests and theirs), as a tar at
 * path: oci-layout, index.json with that one descriptor and o's names,
 * manifest.json when o->docker, then the blobs, manifests byte for byte.
 * Blobs are hashed as they are copied. The tar is written beside path
 * (bp_tmpfile) and renamed over it only when complete: on any failure
 * path is untouched. BP_EINVAL (path is a directory; o->docker for an
 * index), BP_ENOTFOUND (tag, a blob, or path's directory missing),
 * BP_EINTEGRITY (a blob that does not hash to its digest), BP_EIO,
 * BP_ENOMEM.
 */
int bp_oci_archive__write(bp_oci *oci, const char *tag, const bp_oci_archive_opts *o,
			  const char *path);

#endif
