/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_REFERRERS_H
#define BEAMPUSH_REFERRERS_H

#include <beampush/client.h>
#include <beampush/common.h>
#include <beampush/digest.h>
#include <beampush/reference.h>

/*
 * The referrers of a manifest (OCI distribution 1.1): signatures, SBOMs,
 * attestations and other artifacts pushed beside an image, each a
 * manifest whose subject field names the image's digest. A registry with
 * the referrers API lists them at GET /v2/<name>/referrers/<digest>; on
 * one without it, clients keep the list themselves, as an image index
 * under the tag the referrers tag schema gives the digest
 * ("sha256-<hex>").
 */

/* One annotation: a key and its value, both strings. */
typedef struct {
	const char *key;
	const char *value;
} bp_annotation;

/* One referrer, as the list describes it. */
typedef struct {
	const char *media_type; /* of its manifest: an image manifest or an index */
	char digest[BP_DIGEST_MAX];
	int64_t size;
	const char *artifact_type; /* NULL when the list gives none */
	const bp_annotation *annotations;
	size_t nannotations;
} bp_referrer;

/* Where a list came from. */
typedef enum {
	BP_REFERRERS_FROM_API, /* the registry's referrers API */
	BP_REFERRERS_FROM_TAG, /* the index under the referrers tag, the registry having no API */
	BP_REFERRERS_FROM_NONE /* no API and no index under the tag: no referrers */
} bp_referrers_source;

/* The longest referrers tag: "sha256-" and 64 hex digits fit with room. */
#define BP_REFERRERS_TAG_MAX 128

/*
 * What bp_referrers() found. Every pointer is borrowed from the result
 * and lives until bp_referrers_result_free(). Strings are as the
 * registry sent them: a renderer for a terminal must make their control
 * characters harmless.
 */
typedef struct {
	const char *name;	     /* the repository, "docker.io/library/python" */
	const char *tag;	     /* the reference's tag, or NULL */
	char subject[BP_DIGEST_MAX]; /* the digest whose referrers these are */
	bp_referrers_source source;
	char fallback_tag[BP_REFERRERS_TAG_MAX]; /* the referrers tag of subject */
	int filtered; /* opts->artifact_type was applied (by the registry, or here) */
	/* the referrers tag holds something other than an index (ignored: FROM_NONE) */
	int tag_ignored;
	/* why the API was not used, or (tag_ignored) what the tag holds; NULL */
	const char *note;
	const bp_referrer *referrers; /* in the registry's order, each digest once */
	size_t n;
} bp_referrers_result;

/*
 * What bp_referrers() lists. Fill one from BP_REFERRERS_OPTIONS_INIT (or
 * bp_referrers_options_init()), as for bp_client_options.
 */
typedef struct {
	unsigned int version; /* BP_REFERRERS_OPTIONS_VERSION */
	/* only the referrers of this artifactType; NULL: all */
	const char *artifact_type;
} bp_referrers_options;

/* The layout of bp_referrers_options this header describes. */
#define BP_REFERRERS_OPTIONS_VERSION 1

/* The defaults: every referrer. */
#define BP_REFERRERS_OPTIONS_INIT                       \
	{                                               \
		.version = BP_REFERRERS_OPTIONS_VERSION \
	}

/* At most this many referrers of one manifest are read (BP_EPROTO beyond). */
#define BP_REFERRERS_MAX 10000

/*
 * Fill opts with the defaults of BP_REFERRERS_OPTIONS_INIT. Pass
 * BP_REFERRERS_OPTIONS_VERSION as version. BP_EINVAL, with opts
 * untouched, when version is not one this library knows.
 */
int bp_referrers_options_init(bp_referrers_options *opts, unsigned int version);

/*
 * List the referrers of the manifest ref names (a tag is resolved to its
 * digest first; a digest must be in the repository). From the referrers
 * API, page after page (at most 1000 pages, BP_REFERRERS_MAX
 * referrers); where the registry has none, from the index under the
 * referrers tag (bp_referrers_source says which). The registry has no API
 * when it answers 404, 400, 405, 406 or 501, an error code UNSUPPORTED or
 * NAME_UNKNOWN, or a 200 that is not an image index. A referrers tag that
 * does not hold an index counts as no referrers (note says so). With
 * opts->artifact_type, only referrers of that type: the registry is
 * asked to filter, and the list is filtered here when it did not.
 *
 * *out is a new result (free with bp_referrers_result_free()).
 * BP_ENOTFOUND when the manifest or the repository does not exist;
 * BP_EAUTH when refused; BP_EPROTO when a list is malformed, names the
 * manifest itself, loops, leads to another server, has more than 1000
 * pages or more than BP_REFERRERS_MAX referrers, or a page passes 4 MiB;
 * BP_EINVAL when opts->version is not one this library knows.
 */
int bp_referrers(bp_client *c, const bp_reference *ref, const bp_referrers_options *opts,
		 bp_referrers_result **out);

/* Free r; NULL is fine. */
void bp_referrers_result_free(bp_referrers_result *r);

/*
 * r as a JSON object, for programs: Name, Tag (when there is one),
 * Subject, Source ("api", "tag" or "none"), FallbackTag, Filtered, Note
 * (when there is one), and Referrers, each with mediaType, digest, size,
 * artifactType (when given) and annotations (when any). *out is a new
 * NUL-terminated string of *len bytes ending in a newline. BP_ENOMEM.
 */
int bp_referrers_result_json(const bp_referrers_result *r, char **out, size_t *len);

#endif
