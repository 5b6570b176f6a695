/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_STATE_H
#define BP_LIB_STATE_H

/*
 * What outlives the process, under $XDG_STATE_HOME/beampush
 * (~/.local/state/beampush), every file mode 0600 and named by a hash, so
 * nothing of the inputs reaches a path. Failing to save is never an
 * error: it costs a resume, or a round trip.
 *
 * uploads/: upload sessions. When a push dies in the middle of a large
 * blob, the next push of that blob asks the registry where the saved
 * session stands and goes on from there. One file per (registry,
 * repository, blob): a Location may carry a session secret.
 *
 * registries/: what a run learnt of a registry host that spares the next
 * one round trips: the scheme it answered on, its auth challenge (scheme,
 * realm, service: never a token or a credential) and whether it stores a
 * blob sent in one POST. One file per host.
 */

/* The saved Location for the blob, new string; NULL when none. */
char *bp_state__upload_get(const char *registry, const char *repo, const char *digest);

/* Save (replace) the session's newest Location. */
void bp_state__upload_put(const char *registry, const char *repo, const char *digest,
			  const char *location);

/* Forget the session (done, or no longer known to the registry). */
void bp_state__upload_drop(const char *registry, const char *repo, const char *digest);

/* What was learnt of one registry host. Strings owned; "" or NULL: not known. */
typedef struct {
	char scheme[8];	 /* "http" or "https" */
	char auth[8];	 /* "none", "basic" or "bearer" */
	char *realm;	 /* bearer: the token service */
	char *service;	 /* bearer: its service parameter, or NULL */
	int post_stores; /* 1: POST ?digest= stores the blob (201); 0: it does not; -1: not known */
} bp_state_host;

#define BP_STATE_HOST_INIT { "", "", NULL, NULL, -1 }

/* Fill h (released by the caller) with what was saved of host; 0, or BP_ENOTFOUND. */
int bp_state__host_get(const char *host, bp_state_host *h);

/* Save (replace) what is known of host. */
void bp_state__host_put(const char *host, const bp_state_host *h);

/* Forget host. */
void bp_state__host_drop(const char *host);

/* Free the strings of h and reset it to BP_STATE_HOST_INIT. */
void bp_state__host_release(bp_state_host *h);

#endif
