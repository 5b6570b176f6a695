/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_PUSH_DOCKER_H
#define BP_LIB_PUSH_DOCKER_H

#include <beampush/client.h>

#include "steps.h"
#include "store_archive.h"
#include "store_daemon.h"

/* Read len bytes of layer l from offset off of the source; bytes, 0 at the end, -1 error. */
typedef long (*bp_layer_read_fn)(void *src, const bp_archive_layer *l, uint64_t off, void *buf,
				 size_t len);

/* Where an image goes and where its layers come from. */
typedef struct {
	bp_dest *dest; /* opened, and closed (the cache saved), by the caller */
	void *src;
	bp_layer_read_fn read_at;
} bp_push_docker;

/* An image as docker keeps it: config bytes and layers (uncompressed, usually). */
typedef struct {
	const char *config;
	size_t config_len;
	const char *config_digest;     /* verified: the image ID */
	const bp_archive_layer *layers;
	size_t nlayers;
	int oci;                       /* the source used OCI media types */
} bp_push_docker_image;

/*
 * Push img: the config byte for byte, each layer compressed on the fly
 * (or as it is when already compressed; one the cache and the registry
 * both know is skipped), then a Docker v2 schema 2 manifest (OCI when the
 * source was OCI or a layer is zstd) under tag (NULL: by digest). digest
 * gets the manifest's. BP_EINTEGRITY when a layer's bytes are not its
 * diff_id or the registry stored other bytes.
 */
int bp_push_docker__image(bp_client *c, bp_push_docker *p, const bp_push_docker_image *img,
			  const char *tag, char digest[BP_DIGEST_MAX]);

/*
 * Push image name of the daemon d to p: when the registry has the config
 * and the cache and registry know every layer, only the manifest (nothing
 * exported); else the export streams through, each layer compressed and
 * uploaded as it passes, no copy on disk. Docker v2 schema 2.
 */
int bp_push_docker__daemon(bp_client *c, bp_push_docker *p, bp_daemon *d, const char *name,
			   const char *tag, char digest[BP_DIGEST_MAX]);

#endif
