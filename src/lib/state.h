/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_STATE_H
#define BP_LIB_STATE_H

/*
 * Upload sessions that outlive the process: when a push dies in the
 * middle of a large blob, the next push of that blob asks the registry
 * where the saved session stands and goes on from there. One file per
 * (registry, repository, blob) under $XDG_STATE_HOME/beampush/uploads
 * (~/.local/state/beampush/uploads), mode 0600: a Location may carry a
 * session secret. Failing to save is never an error: it costs a resume.
 */

/* The saved Location for the blob, new string; NULL when none. */
char *bp_state__upload_get(const char *registry, const char *repo, const char *digest);

/* Save (replace) the session's newest Location. */
void bp_state__upload_put(const char *registry, const char *repo, const char *digest,
			  const char *location);

/* Forget the session (done, or no longer known to the registry). */
void bp_state__upload_drop(const char *registry, const char *repo, const char *digest);

#endif
