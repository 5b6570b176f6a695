/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_MIRROR_H
#define BEAMPUSH_MIRROR_H

/*
 * Mirrors: other registries a client reads an image from before its own
 * (a pull-through cache, a peer-to-peer agent, a copy kept nearby), as
 * containers-registries.conf(5)'s [[registry.mirror]] tables describe them
 * (bp_config_mirrors() gives them). Pull, inspect and the source side of
 * copy try them in order, the registry itself last; a push or a delete
 * never goes to a mirror. Nothing a mirror sends is taken on trust: its
 * bytes must hash to the digests the reference or a trusted manifest
 * names, and a tag is read from a mirror only where pull says it may be.
 */

typedef enum {
	BP_MIRROR_ALL = 0,     /* pulls by tag and by digest */
	BP_MIRROR_DIGEST_ONLY, /* pulls by digest only: a pull by tag does not use it at all */
	BP_MIRROR_TAG_ONLY     /* pulls by tag only */
} bp_mirror_pull;

/* One mirror of the repositories under prefix. */
typedef struct {
	/* the repositories it mirrors, named as the network sees them ("docker.io/library/python")
	 */
	const char *prefix;
	/* what replaces prefix on the mirror ("mirror.example:5000/hub/library/python") */
	const char *location;
	int insecure;	     /* plain http or an unverified certificate allowed */
	bp_mirror_pull pull; /* which pulls use it */
	const char *file;    /* where it was configured, for messages; may be NULL */
	int line;
} bp_mirror;

#endif
