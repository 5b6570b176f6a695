/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_REFERENCE_H
#define BEAMPUSH_REFERENCE_H

#include <beampush/common.h>

/*
 * An image reference, parsed with docker's grammar and normalised:
 * "python" is docker.io/library/python:latest; the first component is a
 * domain when it is "localhost", holds '.' or ':', or has uppercase
 * letters; "index.docker.io" becomes "docker.io"; [IPv6]:port works.
 */
typedef struct bp_reference bp_reference;

/*
 * Parse s. The default tag "latest" is set only when there is neither a
 * tag nor a digest. BP_EINVAL with a message naming what is wrong;
 * BP_EUNSUPPORTED for a well-formed digest of another algorithm (sha512:).
 */
int bp_reference_parse(bp_reference **out, const char *s);

/* Parse a repository only (no tag, no digest): for `tags REPO`. */
int bp_reference_parse_repository(bp_reference **out, const char *s);

void bp_reference_free(bp_reference *r);

/* "docker.io", "localhost:5000", "[::1]:5000". Borrowed. */
const char *bp_reference_domain(const bp_reference *r);
/* "library/python", "beam/python". Borrowed. */
const char *bp_reference_path(const bp_reference *r);
/* "docker.io/library/python". Borrowed. */
const char *bp_reference_name(const bp_reference *r);
/* The tag or NULL. Borrowed. */
const char *bp_reference_tag(const bp_reference *r);
/* The digest or NULL. Borrowed. */
const char *bp_reference_digest(const bp_reference *r);
/* The digest, else the tag: what goes after /manifests/. Borrowed. */
const char *bp_reference_object(const bp_reference *r);
/* The full normalised form, name[:tag][@digest]. Borrowed. */
const char *bp_reference_string(const bp_reference *r);

/*
 * Format name@digest into a new string (caller frees): the digest-pinned
 * reference printed after a push. NULL on no memory.
 */
char *bp_reference_pinned(const bp_reference *r, const char *digest);

#endif
