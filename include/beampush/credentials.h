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
 * Normalise what a user types as a login SERVER, as docker does: a scheme
 * and a path are dropped ("https://reg.example:5000/v1/" is
 * "reg.example:5000"), Docker Hub's names become "docker.io". New string in
 * *out; BP_EINVAL (message says why) for an empty or malformed server.
 */
int bp_credentials_normalize_server(const char *server, char **out);

/*
 * Look up credentials for registry host (as in a reference:
 * "docker.io", "localhost:5000"). Sources, in order: docker's config.json
 * credHelpers[host] (a docker-credential-<name> helper), the login keyring
 * (Secret Service through libsecret, docker-credential-secretservice's
 * schema), config.json credsStore, config.json auths ($DOCKER_CONFIG or
 * ~/.docker), containers auth.json ($REGISTRY_AUTH_FILE alone when set;
 * else $XDG_RUNTIME_DIR/containers/auth.json, then
 * ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json). A source that is
 * absent or unavailable (no D-Bus session, no helper binary) is skipped.
 * Returns 0 and fills out (source says which answered); BP_ENOTFOUND when
 * none has any (anonymous); another error when a source is there but
 * broken (a file that is not JSON, a helper that crashes or prints
 * garbage), with a message naming it.
 *
 * host may go on with "/repository" ("quay.io/org/app"): auth.json then
 * prefers a key for the repository or its namespace, as podman does; the
 * other sources use the host alone. Sources that are configured but could
 * not be asked (a helper not in PATH, a locked or silent keyring; not a
 * machine without any Secret Service) are named after "; skipped: " at the
 * end of source, and of the BP_ENOTFOUND message. A credsStore or
 * credHelpers of "secretservice" is the login keyring itself: no process
 * is run for it. Helpers get 30 s, the keyring 5 s; neither ever prompts.
 */
int bp_credentials_lookup(bp_credentials *out, const char *host);

/* Where bp_credentials_store() may put credentials. */
typedef enum {
	BP_CRED_STORE_AUTO = 0, /* credHelpers[host], else the keyring, else credsStore */
	BP_CRED_STORE_KEYRING,  /* the login keyring only */
	BP_CRED_STORE_FILE      /* config.json auths, in plain text (base64) */
} bp_cred_store;

/*
 * Store c for host. AUTO: credHelpers[host] when set, else the login
 * keyring, else the credsStore helper; with none of them available,
 * BP_EUNSUPPORTED whose message says what to do (--store file, a
 * credential helper, or starting the keyring). FILE: config.json auths,
 * written to a temporary file (mode 0600) and renamed, every other key of
 * the file kept as it was; a config.json that is not JSON is never
 * rewritten (BP_EINVAL naming it). *where gets a new string saying where
 * they went ("the login keyring (Secret Service)", "docker-credential-pass",
 * "/home/u/.docker/config.json").
 *
 * host goes through bp_credentials_normalize_server() first; the key is
 * bp_credentials_server_key()'s. An identity token (username "<token>")
 * goes to config.json as "identitytoken", to a helper or the keyring as
 * username "<token>", as docker does. BP_EINVAL for an empty username or
 * secret, or a username with ':' or a control character. A locked keyring
 * (or one without a default collection) counts as unavailable: no unlock
 * prompt is shown. AUTO and KEYRING leave config.json as it is; a keyring
 * store replaces the items for host under any username. A configured
 * helper that is missing is BP_EUNSUPPORTED, one that fails BP_ERROR, both
 * naming it. *where is NULL on any error.
 */
int bp_credentials_store(const char *host, const bp_credentials *c, bp_cred_store store,
			 char **where);

/*
 * Remove the credentials for host from every place that holds them
 * (credHelpers/credsStore helper, keyring, config.json auths; auth.json is
 * left alone, as it belongs to podman and skopeo). *where gets a new string
 * listing the places (comma separated). BP_ENOTFOUND when there were none.
 *
 * host is normalised as for store. From config.json go every auths entry
 * for the host that holds credentials (its key and legacy URL keys), and
 * nothing else; docker's "{}" placeholders stay. A place that fails (a
 * locked keyring, a helper that fails or is missing) does not stop the
 * others: the first error is returned, and *where still lists what was
 * removed (NULL when nothing was). A config.json that is not JSON stops
 * it all before anything is removed (BP_EINVAL naming it).
 */
int bp_credentials_erase(const char *host, char **where);

#endif
