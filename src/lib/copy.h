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

typedef struct bp_copy_ledger bp_copy_ledger;

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

/* A new, empty ledger in *out (free with bp_copy__ledger_free()); 0 or BP_ENOMEM. */
int bp_copy__ledger_new(bp_copy_ledger **out);
void bp_copy__ledger_free(bp_copy_ledger *l);

#endif
