/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_INSPECT_H
#define BEAMPUSH_INSPECT_H

#include <beampush/client.h>
#include <beampush/common.h>
#include <beampush/digest.h>
#include <beampush/reference.h>

/*
 * Looking at a registry without moving images: inspect a manifest and its
 * config, list the tags of a repository, delete a manifest. Credentials
 * are looked up as for a pull.
 */

typedef enum {
	BP_INSPECT_TEXT,   /* a summary for people, one "Field: value" a line */
	BP_INSPECT_JSON,   /* the same summary as a JSON object */
	BP_INSPECT_RAW,    /* the manifest bytes exactly as served */
	BP_INSPECT_CONFIG  /* the config blob bytes, verified against their digest */
} bp_inspect_format;

typedef struct {
	bp_inspect_format format;
	/*
	 * For an index: the platform ("os/arch[/variant]") whose manifest is
	 * summarised (or printed, for RAW). NULL: TEXT, JSON and RAW show
	 * the index itself; CONFIG uses this machine's platform.
	 */
	const char *platform;
} bp_inspect_options;

#define BP_INSPECT_OPTIONS_INIT { BP_INSPECT_TEXT, NULL }

/*
 * Fetch the manifest ref names (every manifest type accepted), check its
 * digest (by digest: the bytes must hash to it; by tag: to the
 * Docker-Content-Digest, when sent) and render it as opts->format says.
 * *out is a new buffer of *len bytes (NUL-terminated beyond them) that the
 * caller frees; text from the registry has its control characters
 * replaced by '?' in TEXT. BP_ENOTFOUND when the manifest does not exist
 * or the index offers no such platform (the message lists those it
 * offers); BP_EINTEGRITY when a manifest or the config does not match its
 * digest or size; BP_EAUTH when refused.
 */
int bp_inspect(bp_client *c, const bp_reference *ref, const bp_inspect_options *opts,
	       char **out, size_t *len);

/*
 * Call fn for every tag of the repository repo names (its tag and digest
 * are ignored), in the registry's order, page after page; fn returns
 * non-zero to stop early. BP_ENOTFOUND when the repository does not
 * exist; BP_EPROTO when the pages loop, lead to another server or pass
 * 10000.
 */
int bp_tags(bp_client *c, const bp_reference *repo,
	    int (*fn)(const char *tag, void *payload), void *payload);

/*
 * Delete the manifest ref names. A tag is first resolved to its digest
 * (the manifest is fetched and its bytes hashed; a Docker-Content-Digest
 * that disagrees is BP_EINTEGRITY and nothing is deleted); then DELETE by
 * digest, which also removes the tags that point at it. digest gets what
 * was deleted. BP_ENOTFOUND when absent, BP_EUNSUPPORTED when the
 * registry forbids deletion, BP_EAUTH when refused.
 */
int bp_delete(bp_client *c, const bp_reference *ref, char digest[BP_DIGEST_MAX]);

#endif
