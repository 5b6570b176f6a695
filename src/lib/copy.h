/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_COPY_H
#define BP_LIB_COPY_H

/*
 * The copy engine (copy.c) and what the copy of many tags (copy_tags.c)
 * adds to it: hooks around each manifest GET on the source (its rate
 * limit counts them) and a ledger of the blobs the images of one run
 * move, so that a layer they share goes once.
 */

#include <beampush/client.h>

#include "registry.h"
#include "sources.h"
#include "steps.h"

#include <pthread.h>

typedef struct bp_copy_ledger bp_copy_ledger;

/* The manifests one copy put (or found there), whose referrers go after them (copy_referrers.c). */
typedef struct bp_copy_carry bp_copy_carry;

/*
 * What the copies of a run learnt of the two registries: whether each has
 * the referrers API (BP_REFERRERS_API_*), so that one image's answers
 * spare the next its probes. Under lock.
 */
typedef struct {
	pthread_mutex_t lock;
	int src_api, dst_api;
} bp_copy_known;

/* One copy: from a repository of the source into one of the destination. */
typedef struct {
	bp_registry *src; /* the source's registry (tags, rate limits); bp_copy needs none */
	bp_dest dst;
	const bp_reference *sref, *dref; /* for errors: they name their side */
	bp_copy_ledger *ledger;		 /* blobs shared with other images, or NULL */
	/*
	 * Called before each manifest GET on the source (the GET is not sent
	 * unless it returns 0) and after its answer, with payload; NULL: none.
	 */
	int (*before_get)(const char *ref, void *payload);
	void (*after_get)(void *payload);
	void *payload;
	/*
	 * Where manifests by digest and blobs are read: the source's mirrors,
	 * then its registry (sources.h). NULL: src alone. A tag is answered by
	 * the sources that may resolve it.
	 */
	bp_sources *sources;
	bp_copy_carry *carry; /* the manifests put are noted here; NULL: no referrers carried */
	bp_copy_known *known; /* shared with the other copies of a run, or NULL */
} bp_copy_ctx;

/*
 * Copy the manifest ref names (a tag, or a digest when by_digest) and all
 * it references; put it on the destination under put_ref (a tag) or its
 * digest (put_ref NULL). checked: the caller knows that the destination's
 * put_ref is not this manifest (no HEAD to ask again). out gets the digest
 * of the manifest put. Errors name their side.
 */
int bp_copy__manifest(bp_client *c, bp_copy_ctx *x, const char *ref, int by_digest,
		      const char *put_ref, int checked, char out[BP_DIGEST_MAX]);

/*
 * GET the manifest ref names (a digest when by_digest) from x's source
 * (its sources, when it has them), between x's hooks, verified and parsed
 * as bp_steps__manifest_fetch() does. Errors name the source.
 */
int bp_copy__fetch(bp_copy_ctx *x, const char *ref, int by_digest, bp_fetched *f);

/*
 * Copy the manifest f holds (fetched from the source and verified) and
 * all it references; put it under put_ref (a tag) or its digest (NULL).
 * x (may be NULL) learns what the PUT answered (bp_manifest_extra). out
 * gets the digest put. Errors name their side.
 */
int bp_copy__fetched(bp_client *c, bp_copy_ctx *x, const bp_fetched *f, const char *put_ref,
		     bp_manifest_extra *extra, char out[BP_DIGEST_MAX]);

/* ---- carrying referrers (copy_referrers.c) ---- */

/* A new, empty carry in *out (free with bp_copy__carry_free()); 0 or BP_ENOMEM. */
int bp_copy__carry_new(bp_copy_carry **out);
void bp_copy__carry_free(bp_copy_carry *k);

/* Note that the manifest digest is on the destination: its referrers are to follow. */
void bp_copy__carry_note(bp_copy_carry *k, const char *digest);

/*
 * Carry the referrers of every manifest k noted from x's source to its
 * destination (see bp_copy() in client.h): cosign's signature,
 * attestation and SBOM tags of each, the manifests the source lists as
 * its referrers, and theirs in turn (at most COPY_REFERRERS_DEPTH
 * deep); on a destination without the referrers API, the index under
 * each subject's referrers tag lists them. 0, or the first error.
 */
int bp_copy__referrers(bp_client *c, bp_copy_ctx *x, bp_copy_carry *k);

void bp_copy__known_init(bp_copy_known *k);
void bp_copy__known_release(bp_copy_known *k);

/* A new, empty ledger in *out (free with bp_copy__ledger_free()); 0 or BP_ENOMEM. */
int bp_copy__ledger_new(bp_copy_ledger **out);
void bp_copy__ledger_free(bp_copy_ledger *l);

#endif
