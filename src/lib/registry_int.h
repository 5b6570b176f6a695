/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_REGISTRY_INT_H
#define BP_LIB_REGISTRY_INT_H

#include "registry.h"

/*
 * A stand-in for the network, for unit tests of the registry protocol:
 * every request a bp_registry makes (the ping's too; not a token fetch,
 * which auth.c makes) goes to send instead of bp_http__perform, and every
 * wait before a retry to sleep. send answers as bp_http__perform does:
 * it fills resp (released by the caller; bp_http__parse_header takes
 * header lines) and returns 0 when an answer came, or an error.
 */
typedef struct {
	int (*send)(const bp_http_request *req, bp_http_response *resp, void *payload);
	void (*sleep)(double secs, void *payload);
	void *payload;
} bp_registry_seam;

/*
 * Route r through seam (NULL: the network again) and take base
 * ("http://host:port") as if a ping had found it, without sending one.
 * 0 or BP_ENOMEM.
 */
int bp_registry__set_seam(bp_registry *r, const char *base, const bp_registry_seam *seam);

#endif
