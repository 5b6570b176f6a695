/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_INSPECT_RESULT_H
#define BP_LIB_INSPECT_RESULT_H

#include <beampush/inspect.h>
#include <beampush/manifest.h>

#include <cjson/cJSON.h>

/*
 * The result of bp_inspect(): what was fetched, held as data for the caller
 * to render (inspect.c fetches and verifies, this file only holds and
 * serialises).
 */

/* A new result for ref (name and tag copied), with nothing in it yet. */
int bp_inspect__result_new(bp_inspect_result **out, const bp_reference *ref);

/* RAW, CONFIG: r takes bytes (malloc'd, NUL-terminated beyond len). */
void bp_inspect__result_take_bytes(bp_inspect_result *r, char *bytes, size_t len);

/*
 * SUMMARY: r takes top (the manifest ref names, whose digest is
 * top_digest), image (the image manifest summarised: top itself, the one
 * picked from the index top, or NULL for an index shown whole) and config
 * (image's config, parsed; NULL without image), and fills its fields
 * from them. r takes them even when it fails (BP_ENOMEM).
 */
int bp_inspect__result_take_summary(bp_inspect_result *r, bp_manifest *top, const char *top_digest,
				    bp_manifest *image, const char *image_digest, cJSON *config);

#endif
