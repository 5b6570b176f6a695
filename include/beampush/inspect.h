/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_INSPECT_H
#define BEAMPUSH_INSPECT_H

#include <beampush/client.h>
#include <beampush/common.h>
#include <beampush/digest.h>
#include <beampush/manifest.h>
#include <beampush/reference.h>

/*
 * Looking at a registry without moving images: inspect a manifest and its
 * config, list the tags of a repository, delete a manifest. Credentials
 * are looked up as for a pull.
 */

typedef enum {
	BP_INSPECT_SUMMARY, /* the summary fields of bp_inspect_result */
	BP_INSPECT_RAW,	    /* its bytes: the manifest exactly as served */
	BP_INSPECT_CONFIG   /* its bytes: the config blob, verified against its digest */
} bp_inspect_format;

/*
 * What bp_inspect() looks at and returns. Fill one from
 * BP_INSPECT_OPTIONS_INIT (or with bp_inspect_options_init()), then set
 * the fields you want, as for bp_client_options.
 */
typedef struct {
	unsigned int version; /* BP_INSPECT_OPTIONS_VERSION */
	bp_inspect_format format;
	/*
	 * For an index: the platform ("os/arch[/variant]") whose manifest is
	 * summarised (or returned, for RAW). NULL: SUMMARY and RAW give the
	 * index itself; CONFIG uses this machine's platform.
	 */
	const char *platform;
} bp_inspect_options;

/* The layout of bp_inspect_options this header describes. */
#define BP_INSPECT_OPTIONS_VERSION 1

/* The defaults: a summary; of an index, the index itself. */
#define BP_INSPECT_OPTIONS_INIT                                                     \
	{                                                                           \
		.version = BP_INSPECT_OPTIONS_VERSION, .format = BP_INSPECT_SUMMARY \
	}

/*
 * Fill opts with the defaults of BP_INSPECT_OPTIONS_INIT. Pass
 * BP_INSPECT_OPTIONS_VERSION as version. BP_EINVAL, with opts untouched,
 * when version is not one this library knows.
 */
int bp_inspect_options_init(bp_inspect_options *opts, unsigned int version);

/* One label of an image config. */
typedef struct {
	const char *key;
	const char *value; /* NULL when the config gives something other than a string */
} bp_inspect_label;

/*
 * What bp_inspect() found: data, for the caller to render. Every pointer
 * is borrowed from the result and lives until bp_inspect_result_free().
 * Strings are as the registry sent them: a renderer for a terminal must
 * make their control characters harmless (beampush prints '?').
 */
typedef struct {
	const char *name; /* the repository ref names, "docker.io/library/python" */
	const char *tag;  /* its tag, or NULL */

	/* RAW and CONFIG: the bytes asked for, NUL-terminated beyond len; NULL for SUMMARY */
	const char *bytes;
	size_t len;

	/* SUMMARY: the manifest summarised */
	const char *digest;	  /* its digest: of the index, or of the image manifest */
	const char *index_digest; /* the index the image manifest was picked from, or NULL */
	const char *media_type;
	/* 1: an index shown whole; its entries are in manifests, the image fields are empty */
	int is_index;
	const bp_descriptor *manifests; /* with their platforms (os NULL: none given) */
	size_t nmanifests;

	/*
	 * An image, from its config: NULL (or 0 entries) where the config
	 * does not say, or says it with a value of another JSON type than a
	 * string (or an array, for the lists; an element that is not a
	 * string is NULL).
	 */
	const char *os;
	const char *architecture;
	const char *variant;
	const char *created;
	const char *const *entrypoint;
	size_t nentrypoint;
	const char *const *cmd;
	size_t ncmd;
	const char *const *env; /* "NAME=value" */
	size_t nenv;
	const char *working_dir;
	const bp_inspect_label *labels; /* in the config's order */
	size_t nlabels;
	/* and from its manifest */
	const bp_descriptor *config;
	const bp_descriptor *layers; /* base first */
	size_t nlayers;
	int64_t size; /* the config and the layers together, as stored (compressed) */
} bp_inspect_result;

/*
 * Fetch the manifest ref names (every manifest type accepted), check its
 * digest (by digest: the bytes must hash to it; by tag: to the
 * Docker-Content-Digest, when sent) and return what opts->format asks for
 * (opts NULL: the defaults): for SUMMARY, the manifest parsed and, for an
 * image, its config fetched, verified and read. *out is a new result that
 * the caller frees with bp_inspect_result_free(). BP_ENOTFOUND when the
 * manifest does not exist or the index offers no such platform (the
 * message lists those it offers); BP_EINTEGRITY when a manifest or the
 * config does not match its digest or size; BP_EAUTH when refused;
 * BP_EPROTO when the config is not a JSON object; BP_EINVAL when
 * opts->version is not one this library knows.
 */
int bp_inspect(bp_client *c, const bp_reference *ref, const bp_inspect_options *opts,
	       bp_inspect_result **out);

/* Free r; NULL is fine. */
void bp_inspect_result_free(bp_inspect_result *r);

/*
 * The summary r holds as a JSON object, for programs: Name, Tag, Digest,
 * MediaType; for an image Index, Os, Architecture, Variant, Created,
 * Entrypoint, Cmd, Env, WorkingDir and Labels as the config has them (any
 * JSON value), Config, Layers and Size; for an index Manifests. Built here
 * because it carries the config's own JSON values, which a caller would
 * need a JSON parser for. *out is a new NUL-terminated string of *len bytes
 * ending in a newline. BP_EINVAL when r is not a SUMMARY result,
 * BP_ENOMEM.
 */
int bp_inspect_result_json(const bp_inspect_result *r, char **out, size_t *len);

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
