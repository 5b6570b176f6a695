/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_MANIFEST_H
#define BEAMPUSH_MANIFEST_H

#include <beampush/common.h>
#include <beampush/digest.h>

#define BP_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BP_MEDIA_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define BP_MEDIA_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define BP_MEDIA_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define BP_MEDIA_DOCKER_FOREIGN  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define BP_MEDIA_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define BP_MEDIA_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define BP_MEDIA_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define BP_MEDIA_OCI_LAYER       "application/vnd.oci.image.layer.v1.tar"
#define BP_MEDIA_OCI_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define BP_MEDIA_OCI_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"

/* A manifest at most this big is accepted (as distribution). */
#define BP_MANIFEST_MAX (4 * 1024 * 1024)

typedef enum {
	BP_MANIFEST_UNKNOWN = 0,
	BP_MANIFEST_DOCKER_V2,    /* Docker v2 schema 2 */
	BP_MANIFEST_DOCKER_LIST,  /* Docker manifest list */
	BP_MANIFEST_OCI,          /* OCI image manifest */
	BP_MANIFEST_OCI_INDEX     /* OCI image index */
} bp_manifest_kind;

/*
 * A content descriptor. Strings are owned by whatever returned the
 * descriptor (a manifest, a layout) unless said otherwise.
 */
typedef struct {
	const char *media_type;
	char digest[BP_DIGEST_MAX];
	int64_t size;
	/* platform, for index entries; NULL when absent */
	const char *os;
	const char *arch;
	const char *variant;
	/* annotation org.opencontainers.image.ref.name, or NULL */
	const char *ref_name;
} bp_descriptor;

typedef struct bp_manifest bp_manifest;

/* The kind for a media type string; BP_MANIFEST_UNKNOWN otherwise. */
bp_manifest_kind bp_manifest_kind_of(const char *media_type);

/* 1 for an index or manifest list. */
int bp_manifest_kind_is_index(bp_manifest_kind k);

/*
 * Parse manifest bytes. content_type is the Content-Type the registry sent
 * (may be NULL); the mediaType field wins when present and they must agree
 * when both are known manifest types. Every digest is validated and sizes
 * must be >= 0. BP_EINVAL for malformed JSON or fields, BP_EUNSUPPORTED
 * for an unknown media type, with a message naming it. The bytes are not
 * kept.
 */
int bp_manifest_parse(bp_manifest **out, const void *data, size_t len,
		      const char *content_type);
void bp_manifest_free(bp_manifest *m);

bp_manifest_kind bp_manifest_kind_get(const bp_manifest *m);
/* Borrowed. */
const char *bp_manifest_media_type(const bp_manifest *m);

/* Image manifests: the config descriptor (NULL for an index). Borrowed. */
const bp_descriptor *bp_manifest_config(const bp_manifest *m);

/* Image manifests: layers; indexes: the manifests they list. */
size_t bp_manifest_count(const bp_manifest *m);
const bp_descriptor *bp_manifest_item(const bp_manifest *m, size_t i);

/*
 * From an index, the entry for platform "os/arch[/variant]".
 * BP_ENOTFOUND with a message listing every platform the index offers.
 */
int bp_manifest_select_platform(const bp_manifest *m, const char *platform,
				const bp_descriptor **out);

/*
 * The rootfs.diff_ids of an image config, base first: *out is a new array
 * of new strings (free each, then the array). BP_EINVAL when the config is
 * not JSON or its diff_ids are missing or malformed.
 */
int bp_config_diff_ids(const char *config, size_t len, char ***out, size_t *n);

/* This machine's platform, e.g. "linux/amd64". Static string. */
const char *bp_platform_default(void);

/*
 * Build an image manifest of kind BP_MANIFEST_DOCKER_V2 or BP_MANIFEST_OCI
 * from a config and layers. *out is a new NUL-terminated string.
 */
int bp_manifest_build(char **out, size_t *len, bp_manifest_kind kind,
		      const bp_descriptor *config,
		      const bp_descriptor *layers, size_t nlayers);

/* Build an index / manifest list listing entries (with platforms). */
int bp_manifest_build_index(char **out, size_t *len, bp_manifest_kind kind,
			    const bp_descriptor *entries, size_t n);

#endif
