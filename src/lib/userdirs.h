/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_USERDIRS_H
#define BP_LIB_USERDIRS_H

/*
 * Where the user's own files live: the XDG base directories and the home
 * directory. Every module that reads or writes such a file (the endpoint
 * mapping, credentials, certs.d, the blob cache, saved upload sessions,
 * the session bus) finds it here, so one rule holds for all of them:
 *
 *   - the environment is read with secure_getenv(): a set-user-ID or
 *     set-group-ID program does not take its paths from the caller;
 *   - an XDG variable counts only when it holds an absolute path: the XDG
 *     Base Directory spec says a relative one is invalid and to be
 *     ignored, and an empty one is as good as unset;
 *   - the home directory is $HOME when that is an absolute path, else the
 *     one the password database gives the real user (a service started
 *     without HOME still finds its files); a relative HOME would put files
 *     wherever the process happened to start, so it is ignored too.
 */

typedef enum {
	BP_XDG_CONFIG, /* $XDG_CONFIG_HOME, else ~/.config */
	BP_XDG_CACHE,  /* $XDG_CACHE_HOME, else ~/.cache */
	BP_XDG_STATE,  /* $XDG_STATE_HOME, else ~/.local/state */
	BP_XDG_RUNTIME /* $XDG_RUNTIME_DIR; no default: the caller decides */
} bp_xdg_dir;

/*
 * "DIR/rest" for the base directory dir, as the rules above find it
 * (bp_userdirs__xdg(BP_XDG_CONFIG, "beampush/config.json")): a new string,
 * or NULL when there is no such directory (no usable variable and no home,
 * or no $XDG_RUNTIME_DIR) or no memory.
 */
char *bp_userdirs__xdg(bp_xdg_dir dir, const char *rest);

/*
 * "HOME/rest" (bp_userdirs__home(".docker/config.json")): a new string, or
 * NULL when there is no home directory or no memory.
 */
char *bp_userdirs__home(const char *rest);

#endif
