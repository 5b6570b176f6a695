/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_TRANSPORT_H
#define BEAMPUSH_TRANSPORT_H

#include <beampush/common.h>

/*
 * Where an image is read from (push) or written to (pull), named as skopeo
 * names it: "oci:DIR[:TAG]", "oci-archive:FILE[:REF]",
 * "docker-archive:FILE[:REF]" or "docker-daemon:REF". The library and
 * the tool both read these names
 * with bp_transport_parse(), so that they agree on what one means.
 */
typedef enum {
	BP_TRANSPORT_NONE,	  /* the name starts with no transport we know */
	BP_TRANSPORT_OCI,	  /* an OCI image layout directory */
	BP_TRANSPORT_OCI_ARCHIVE, /* an OCI image layout in a tar, as skopeo writes it */
	BP_TRANSPORT_ARCHIVE,	  /* a `docker save` archive */
	BP_TRANSPORT_DAEMON	  /* the Docker daemon (or podman's Engine API) */
} bp_transport_kind;

typedef struct {
	bp_transport_kind kind;
	char *path; /* DIR or FILE; NULL for the daemon */
	char *ref;  /* TAG or REF; NULL when absent */
} bp_transport;

#define BP_TRANSPORT_INIT { .kind = BP_TRANSPORT_NONE, .path = NULL, .ref = NULL }

/*
 * Split spec at its first ':' after the transport's prefix (so a REF keeps
 * its own colons). 0, or BP_EINVAL when spec names no transport or lacks
 * its DIR, FILE or image name; BP_ENOMEM. t->kind is set whenever spec
 * starts with a known prefix, even when the rest is refused, and
 * BP_TRANSPORT_NONE otherwise; path and ref are new strings only on
 * success. Release t with bp_transport_release() either way.
 */
int bp_transport_parse(bp_transport *t, const char *spec);

/* Free what bp_transport_parse() put in t (NULL-safe fields); t may be parsed again. */
void bp_transport_release(bp_transport *t);

#endif
