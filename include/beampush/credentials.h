/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_CREDENTIALS_H
#define BEAMPUSH_CREDENTIALS_H

#include <beampush/common.h>

/*
 * Credentials for one registry host. Either username + password, or an
 * identity (refresh) token with username "<token>".
 */
typedef struct {
	char *username;
	char *secret;
	/* where they came from, for --debug: "config.json auths (PATH)" */
	char *source;
} bp_credentials;

#define BP_CREDENTIALS_INIT { NULL, NULL, NULL }

/* Wipe the secret and free the strings. */
void bp_credentials_release(bp_credentials *c);

/* 1 when these are an identity token, not a password. */
int bp_credentials_is_token(const bp_credentials *c);

/*
 * The key docker uses for host: "https://index.docker.io/v1/" for Docker
 * Hub, else host[:port]. New string.
 */
char *bp_credentials_server_key(const char *host);

/*
 * Look up credentials for registry host (as in a reference:
 * "docker.io", "localhost:5000"). Sources, in order: docker's config.json
 * auths ($DOCKER_CONFIG/config.json or ~/.docker/config.json). Returns 0
 * and fills out; BP_ENOTFOUND when no source has any (anonymous); another
 * error when a source is unreadable or malformed (message names the file).
 */
int bp_credentials_lookup(bp_credentials *out, const char *host);

#endif
