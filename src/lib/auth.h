/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_AUTH_H
#define BP_LIB_AUTH_H

#include <beampush/common.h>

/* Token responses larger than this are refused. */
#define BP_TOKEN_RESPONSE_MAX (64 * 1024)

/* One challenge of a WWW-Authenticate header. Strings owned, may be NULL. */
typedef struct {
	char *scheme;  /* lowercased: "bearer", "basic", ... */
	char *realm;
	char *service;
	char *scope;   /* as sent: several scopes space-separated */
	char *error;   /* "invalid_token", "insufficient_scope", ... */
} bp_auth_challenge;

/*
 * Parse one WWW-Authenticate header value (RFC 7235: several challenges
 * may be comma-separated in one value; auth-params are token=token or
 * token="quoted \"string\""; parameter names are case-insensitive).
 * Appends to *list / *n (realloc'd), so several headers can be fed one
 * after another. BP_EPROTO on a malformed value (nothing appended).
 */
int bp_auth__parse_challenges(const char *value, bp_auth_challenge **list,
			      size_t *n);
void bp_auth__challenges_free(bp_auth_challenge *list, size_t n);

/*
 * Parse a token service response (JSON object): "token" or "access_token"
 * (access_token wins when both), "expires_in" (clamped to at least 60,
 * default 60), optional "refresh_token". BP_EPROTO when it is not JSON, not
 * an object, or has no token (the message says which); BP_EPROTO when len
 * exceeds BP_TOKEN_RESPONSE_MAX.
 */
int bp_auth__parse_token_response(const char *body, size_t len, char **token,
				  long *expires_in, char **refresh_token);

#endif
