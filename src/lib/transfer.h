/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_TRANSFER_H
#define BP_LIB_TRANSFER_H

#include <beampush/manifest.h>

#include "jobs.h"
#include "registry.h"

/* Pieces push, pull and copy share. */

/*
 * Jobs for an image manifest's blobs, each with ctx, the config first
 * (small blobs must not wait behind large ones). NULL when out of memory.
 */
job *bp_transfer__image_jobs(const bp_manifest *m, void *ctx, size_t *n);

/*
 * Fetch a manifest and check it: by digest, the bytes must hash to it; by
 * tag, to the Docker-Content-Digest the registry sent, when it sent one.
 * digest gets the bytes' digest; bytes and ctype are new strings.
 */
int bp_transfer__fetch_manifest(bp_registry *reg, const char *repo, const char *ref,
				int by_digest, char **bytes, size_t *len, char **ctype,
				char digest[BP_DIGEST_MAX]);

/*
 * 1 when reg answers a HEAD of repo's manifest ref with digest: a registry
 * takes a manifest only when it has everything the manifest names, so a
 * push or copy has nothing to send; the blobs of m are reported as already
 * there (BP_EVENT_BLOB_EXISTS). 0 otherwise, errors included.
 */
int bp_transfer__manifest_there(bp_client *c, bp_registry *reg, const char *repo,
				const bp_manifest *m, const char *ref, const char *digest);

#endif
