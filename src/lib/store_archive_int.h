/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_STORE_ARCHIVE_INT_H
#define BP_LIB_STORE_ARCHIVE_INT_H

/*
 * Inside the docker archive module: what its files share, for them alone
 * (the rest of the library uses store_archive.h).
 *
 *   store_archive.c         the handle: open, free, the member index, name shapes
 *   store_archive_read.c    members by name (links followed), bytes at offsets
 *   store_archive_find.c    manifest.json and index.json, the image handed out, find
 *   store_archive_legacy.c  the legacy layout: a manifest.json entry to an image
 *   store_archive_oci.c     the Docker 25+ layout: an index.json entry to an image
 *   store_archive_names.c   image names: RepoTags, annotations, normalised
 *   store_archive_write.c   the writer (legacy layout)
 */

#include "store_archive.h"

#include <beampush/manifest.h>

#include <cJSON.h>

#include <stddef.h>
#include <stdint.h>

#define HEX_LEN 64

/* A set of member kinds, for "the name must have one of these shapes". */
#define KIND(k) (1u << (k))
#define CONFIG_KINDS (KIND(BP_ARCHIVE_CONFIG) | KIND(BP_ARCHIVE_BLOB))
#define LAYER_KINDS (KIND(BP_ARCHIVE_LAYER) | KIND(BP_ARCHIVE_V1_LAYER) | KIND(BP_ARCHIVE_BLOB))

/* A member of a known shape, as indexed at open. */
struct member {
	char *name; /* normalised: no leading "./", no trailing '/' */
	bp_tar_type type;
	char *link; /* link target as stored, or NULL */
	uint64_t offset;
	uint64_t size;
	size_t seq; /* position in the archive: the last of a name wins */
};

/* An image handed out by find, with the storage its fields point into. */
struct image {
	bp_archive_image pub;
	char *config;
	char *config_media_type;
	bp_archive_layer *layers;
	char **layer_media_types;
	char **tags;
	size_t ntags;
	char *manifest;
	char *manifest_media_type;
	struct image *next;
};

/* A usable manifests[] entry of index.json. */
struct ientry {
	bp_descriptor d; /* strings borrowed from the parsed index.json */
	char **names;	 /* normalised references */
	size_t nnames;
	/* the name annotations as stored (borrowed from index.json), or NULL */
	const char *ref_name;	/* org.opencontainers.image.ref.name */
	const char *image_name; /* io.containerd.image.name */
};

struct bp_archive {
	char *path;
	int fd;
	uint64_t file_size;
	struct member *m;
	size_t n;
	int meta_loaded;
	cJSON *mj; /* manifest.json (an array), or NULL */
	cJSON *ij; /* index.json, or NULL */
	struct ientry *ie;
	size_t nie;
	struct image *images;
};

/* ---- store_archive.c ---- */

/* BP_ENOMEM with its message. */
int bp_archive__oom(void);
/* name without leading "./" and trailing '/': a view into name, *len bytes long. */
const char *bp_archive__norm_view(const char *name, size_t *len);
/* The indexed member with this normalised name, or NULL. */
const struct member *bp_archive__lookup(const bp_archive *a, const char *name);

/* ---- store_archive_read.c ---- */

/* All len bytes at off of the archive file; BP_EIO when short. */
int bp_archive__pread_full(bp_archive *a, void *buf, size_t len, uint64_t off);
/*
 * The regular member name stands for, links followed inside the archive;
 * every name on the way must have a shape in kinds. what names it in messages.
 */
int bp_archive__locate(bp_archive *a, const char *name, unsigned kinds, const char *what,
		       const struct member **out);
/* A whole member of at most max bytes, NUL-terminated; the caller frees *data. */
int bp_archive__read_member(bp_archive *a, const struct member *m, size_t max, const char *what,
			    char **data, size_t *len);
/* As read_member, and the bytes must hash to digest (BP_EINTEGRITY). */
int bp_archive__read_verified(bp_archive *a, const struct member *m, const char *digest, size_t max,
			      const char *what, char **data, size_t *len);
/* The member blobs/sha256/<hex> for digest, its size checked unless size is -1. */
int bp_archive__blob_member(bp_archive *a, const char *digest, int64_t size, const char *what,
			    const struct member **out);
/* bp_archive__read_blob, with what naming the blob in messages. */
int bp_archive__read_blob_as(bp_archive *a, const char *digest, int64_t size, size_t max,
			     const char *what, char **data, size_t *len);

/* ---- store_archive_find.c ---- */

/* A new image with room for nlayers layers. */
int bp_archive__image_new(struct image **out, size_t nlayers);
/* NULL-safe. */
void bp_archive__image_free(struct image *img);
/* Layer i of img is member m: where it is, its magic bytes; digest may be NULL. */
int bp_archive__set_layer(bp_archive *a, struct image *img, size_t i, const struct member *m,
			  const char *media_type, const char *digest);
/* The config's rootfs.diff_ids onto the layers; their counts must agree. */
int bp_archive__set_diff_ids(bp_archive *a, struct image *img);

/* index.json alone, strictly (an OCI layout's, for oci-archive:), once. */
int bp_archive__load_layout_index(bp_archive *a);

/* ---- store_archive_legacy.c ---- */

/* A manifest.json entry as an image: Config, Layers and RepoTags. */
int bp_archive__resolve_legacy(bp_archive *a, const cJSON *entry, struct image **out);
/* The manifest.json entry whose Config names this digest, or NULL. */
const cJSON *bp_archive__legacy_for_config(const bp_archive *a, const char *config_digest);
/* 1 with digest set when entry names its config by digest, else 0. */
int bp_archive__legacy_config(const cJSON *entry, char digest[BP_DIGEST_MAX]);
/* The manifest.json entry named want (NULL: the only entry); *out NULL when none. */
int bp_archive__legacy_pick(const bp_archive *a, const char *want, const cJSON **out);

/* ---- store_archive_oci.c ---- */

/* The usable entries of index.json into a->ie. */
int bp_archive__load_index_entries(bp_archive *a);
/* An index.json entry as an image: its manifest (through an index by platform). */
int bp_archive__resolve_oci(bp_archive *a, const bp_descriptor *desc, const char *platform,
			    struct image **out);
/* The index.json entry named want; with want NULL, the one image all entries are. */
const struct ientry *bp_archive__oci_pick(const bp_archive *a, const char *want);
/* The index.json entry whose image has this config, or NULL. */
const struct ientry *bp_archive__entry_for_config(bp_archive *a, const char *config_digest,
						  const char *platform);

/* ---- store_archive_names.c ---- */

/* The normalised form of a reference with a tag, new string; NULL if invalid. */
char *bp_archive__normalise_tag(const char *s);
/* Add a copy of norm to a name list, once. */
int bp_archive__add_name(char ***names, size_t *n, const char *norm);
/* NULL-safe. */
void bp_archive__free_names(char **names, size_t n);
/* The names of an index.json entry: its image name annotations. */
int bp_archive__entry_names(const cJSON *it, struct ientry *e);
/* The RepoTags of a manifest.json entry, normalised, added to names. */
int bp_archive__repo_tags(const cJSON *entry, char ***names, size_t *n);
/* "tags: a, b" of every image and their count, for messages; NULL when out of memory. */
char *bp_archive__all_names(const bp_archive *a, size_t *images);
/*
 * "it holds: a, b" of index.json's entries, their name annotations as
 * stored (the digest of one that has none), and the count of images;
 * NULL when out of memory.
 */
char *bp_archive__layout_names(const bp_archive *a, size_t *images);

#endif
