/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_CACHE_H
#define BP_LIB_CACHE_H

#include <beampush/common.h>
#include <beampush/digest.h>

/*
 * What beampush remembers between runs, so nothing is done twice: which
 * compressed blob a layer (by diff_id) became on a registry, and which
 * repositories of a registry hold a blob (mount sources). One text file,
 * $XDG_CACHE_HOME/beampush/blobs (~/.cache/beampush/blobs), one record a
 * line; lines that do not parse are ignored, so a damaged cache costs time,
 * never correctness: every hit is confirmed with the registry before use.
 * A handle may be used from several threads at once.
 */
typedef struct bp_cache bp_cache;

/* Load the cache (a missing file is an empty cache). Never fails for a bad file. */
int bp_cache__open(bp_cache **out);
void bp_cache__free(bp_cache *c);

/* The compressed blob layer diff_id became on registry: 0, or BP_ENOTFOUND. */
int bp_cache__compressed(bp_cache *c, const char *registry, const char *diff_id,
			 char digest[BP_DIGEST_MAX], int64_t *size);

/* Remember that diff_id was pushed to registry as digest of size bytes. */
int bp_cache__add_compressed(bp_cache *c, const char *registry, const char *diff_id,
			     const char *digest, int64_t size);

/* Remember that repo of registry holds digest. */
int bp_cache__add_repo(bp_cache *c, const char *registry, const char *digest, const char *repo);

/*
 * The repositories of registry known to hold digest, newest first (at most
 * eight), other than except; fn returns non-zero to stop. fn is called
 * without the cache's lock held.
 */
void bp_cache__repos(bp_cache *c, const char *registry, const char *digest, const char *except,
		     int (*fn)(const char *repo, void *payload), void *payload);

/*
 * Write what was added back, merged with what other processes wrote
 * meanwhile (under a lock), through a temporary file and a rename. A cache
 * that cannot be written is reported (BP_EIO) but the caller may go on.
 */
int bp_cache__save(bp_cache *c);

#endif
