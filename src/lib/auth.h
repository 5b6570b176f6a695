/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_AUTH_H
#define BP_LIB_AUTH_H

#include <beampush/common.h>
#include <beampush/credentials.h>

#include "http.h"
#include "retry.h"

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

/*
 * How one registry wants to be authenticated, the credentials for it and a
 * token cache per scope. Safe to use from several threads; concurrent
 * misses for one scope wait for a single token fetch.
 */
typedef struct bp_auth bp_auth;

/*
 * domain names the registry in messages; creds may be NULL (anonymous).
 * retry (may be NULL: none) is the policy for its requests (tokens, the
 * GET /v2/ of a Basic login), kept by pointer: it must outlive the state.
 */
int bp_auth__new(bp_auth **out, const char *domain, const bp_credentials *creds,
		 const bp_retry *retry, void (*log_cb)(const char *line, void *payload),
		 void *payload);
void bp_auth__free(bp_auth *a);

/*
 * The Authorization value to send for scope ("repository:x:pull"; NULL
 * for none), or *out NULL when nothing is known to be needed yet. A Bearer
 * token not cached yet is fetched through h.
 */
int bp_auth__header(bp_auth *a, bp_http *h, const char *scope, char **out);

/*
 * Learn from a 401 answer to a request for scope: remember the scheme,
 * realm and service, and fetch a token for the challenged scope (beside
 * ours). 0 when a retry may succeed; BP_EAUTH with a message otherwise.
 */
int bp_auth__challenge(bp_auth *a, bp_http *h, const bp_http_response *resp,
		       const char *scope);

/* After a ping: 200 means none needed, 401 carries the challenge. */
int bp_auth__ping(bp_auth *a, const bp_http_response *resp);

/*
 * Instead of a ping: the challenge an earlier run heard (kind "none",
 * "basic", or "bearer" with its realm and service, which may be NULL), on
 * a registry reached over https when tls. It stays unconfirmed until a
 * token comes from that realm, a 401 brings the registry's own challenge,
 * or a ping; meanwhile a token request is not retried. 0, BP_EINVAL for
 * another kind or a bearer without realm, BP_ENOMEM.
 */
int bp_auth__remember(bp_auth *a, const char *kind, const char *realm, const char *service,
		      int tls);

/*
 * What is known now, for a later run: kind ("" before any ping), and for
 * bearer the realm and service (new strings or NULL). Returns a count that
 * changes whenever they do.
 */
unsigned bp_auth__known(bp_auth *a, char kind[8], char **realm, char **service);

/* 1 while the challenge is the remembered one, not yet confirmed this run. */
int bp_auth__unconfirmed(bp_auth *a);

/*
 * Check the credentials (after a ping, with base the registry's URL): a
 * token by the OAuth2 password grant asking for a refresh token (or GET
 * with offline_token=true where OAuth2 is not spoken), or GET /v2/ with
 * Basic. BP_EAUTH when refused. *refresh gets a refresh token when the
 * token service issued one that it can also take back (by the OAuth2 POST),
 * else NULL.
 */
int bp_auth__login(bp_auth *a, bp_http *h, const char *base, char **refresh);

/*
 * The BP_EAUTH error for a request refused again after authenticating; an
 * identity token the token service refused says to log in again.
 */
int bp_auth__refused(bp_auth *a, const char *scope);

#endif
