/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_REFERRERS_H
#define BP_LIB_REFERRERS_H

/*
 * Referrers below the public API (referrers.c): the list parsed from an
 * image index, found through the referrers API or the tag schema, and
 * the index a client keeps under the referrers tag of a registry without
 * the API. The command (bp_referrers()) and the copy that carries
 * referrers (copy_referrers.c) share them.
 */

#include <beampush/client.h>
#include <beampush/referrers.h>

#include "registry.h"

/* A set of digests, for lists and walks that must not hold one twice. Start zeroed. */
typedef struct {
	char **v;
	size_t cap, n;
} bp_digest_set;

/* 1 when digest was added, 0 when the set held it, -1 out of memory. */
int bp_referrers__set_add(bp_digest_set *s, const char *digest);
/* 1 when the set holds digest. */
int bp_referrers__set_has(const bp_digest_set *s, const char *digest);
void bp_referrers__set_release(bp_digest_set *s);

/* A list of referrers, each digest once; every string owned. Start from BP_REFERRERS_LIST_INIT. */
typedef struct {
	bp_referrer *v;
	size_t n, cap;
	bp_digest_set digests;
} bp_referrers_list;

/* clang-format off */
#define BP_REFERRERS_LIST_INIT { NULL, 0, 0, { NULL, 0, 0 } }
/* clang-format on */

void bp_referrers__list_release(bp_referrers_list *l);

/* 1 when l lists digest. */
int bp_referrers__list_has(const bp_referrers_list *l, const char *digest);

/*
 * Add a copy of r to l, unless l lists its digest. 0; BP_EPROTO past
 * BP_REFERRERS_MAX; BP_ENOMEM (l as it was).
 */
int bp_referrers__list_add(bp_referrers_list *l, const bp_referrer *r);

/*
 * The referrers tag of digest, as the OCI tag schema makes it: the
 * algorithm cut to 32 characters, '-', the encoded part cut to 64, every
 * character a tag may not hold made '-' ("sha256-<hex>").
 */
void bp_referrers__tag(const char *digest, char out[BP_REFERRERS_TAG_MAX]);

/*
 * Parse an image index of referrers (len bytes; a referrers API page or
 * the index under a referrers tag) and add its entries to l, each digest
 * once, in order. subject (may be NULL) is the digest whose referrers
 * these are. 0; BP_EUNSUPPORTED when the bytes are not an image index at
 * all (not a JSON object with a manifests array, or another mediaType);
 * BP_EPROTO for an index whose entries are malformed (a descriptor
 * without mediaType, digest or size, an artifactType or annotation that
 * is not a string), that lists subject itself, or that takes l past
 * BP_REFERRERS_MAX; BP_ENOMEM. On error l keeps what it held before.
 */
int bp_referrers__parse(const char *body, size_t len, const char *subject, bp_referrers_list *l);

/*
 * The entry a referrers list gives the manifest bytes (of media_type and
 * digest): artifactType its own, or for an image manifest without one its
 * config's mediaType; its annotations. Added to l (unless l lists the
 * digest); subject gets the digest its subject field names, or "". 0;
 * BP_EPROTO when the bytes are not a JSON object or their fields are
 * malformed; BP_ENOMEM.
 */
int bp_referrers__describe(const char *bytes, size_t len, const char *media_type,
			   const char *digest, bp_referrers_list *l, char subject[BP_DIGEST_MAX]);

/* What the registry is known to have: unknown, the referrers API, or only the tag schema. */
enum { BP_REFERRERS_API_UNKNOWN = -1, BP_REFERRERS_API_NO = 0, BP_REFERRERS_API_YES = 1 };

/* How bp_referrers__find() asks. */
typedef struct {
	const char *artifact_type; /* the registry is asked to filter; NULL: all */
	/*
	 * Around the manifest GET of the referrers tag, as bp_copy_ctx's hooks
	 * (the GET is not sent unless before_get returns 0); NULL: none.
	 */
	int (*before_get)(const char *ref, void *payload);
	void (*after_get)(void *payload);
	void *payload;
	/* BP_REFERRERS_API_*: NO skips the API; what this find learnt is written back */
	int *api;
} bp_referrers_query;

/* What bp_referrers__find() found. */
typedef struct {
	bp_referrers_list list;
	bp_referrers_source source;
	int filtered;	 /* the registry applied q->artifact_type */
	int tag_ignored; /* the referrers tag holds no index */
	char *note;	 /* why the API was not used, or what the tag holds; NULL */
} bp_referrers_found;

void bp_referrers__found_release(bp_referrers_found *f);

/*
 * The referrers of subject in repo: from the API, else from the index
 * under the referrers tag (HEAD first, then GET, between q's hooks). A
 * tag absent or holding no index is FROM_NONE (the latter with a note).
 * Errors as bp_referrers(); f holds nothing on error.
 */
int bp_referrers__find(bp_registry *reg, const char *repo, const char *subject,
		       const bp_referrers_query *q, bp_referrers_found *f);

/* A 412 on the index PUT is read and merged again this often, then it fails. */
#define BP_REFERRERS_TAG_TRIES 3

/*
 * Keep the index under subject's referrers tag in repo (a registry
 * without the API) listing every entry of add: read it (404: none yet),
 * add the entries it lacks after those it has (its other members kept
 * as they are), PUT it with If-Match when the GET gave an ETag. A 412
 * reads and merges again, BP_REFERRERS_TAG_TRIES times in all. No PUT
 * when it lists them all already. *added (may be NULL) gets how many
 * were added. BP_EPROTO when the tag holds something that is not an
 * index (it is left as it is) or the index would pass 4 MiB; BP_ERROR
 * when it kept changing; the error of a request.
 */
int bp_referrers__tag_add(bp_client *c, bp_registry *reg, const char *repo, const char *subject,
			  const bp_referrers_list *add, size_t *added);

#endif
