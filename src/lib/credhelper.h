/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_CREDHELPER_H
#define BP_LIB_CREDHELPER_H

#include <stddef.h>

/*
 * docker's credential helpers: docker-credential-<name>, found in PATH and
 * run without a shell, argv[1] "get", "store" or "erase", the request on
 * stdin and the answer on stdout (docker/docker-credential-helpers,
 * credentials/credentials.go and client/client.go). stderr is captured, its
 * first line kept for messages. Each run is bounded in time
 * (bp_credhelper__timeout_ms, then SIGKILL) and its output in size.
 *
 * Every message names the helper ("docker-credential-pass get: ...") and
 * never holds a secret. Codes: BP_ENOTFOUND when the helper answers
 * "credentials not found in native keychain"; BP_EUNSUPPORTED when there is
 * no docker-credential-<name> in PATH; BP_EINVAL for a name that is not one;
 * BP_EPROTO for an answer that is not the protocol's; BP_ERROR when it
 * fails, crashes or runs out of time.
 */

/* Answers larger than this are refused. */
#define BP_CREDHELPER_OUTPUT_MAX (64 * 1024)

/* The time limit of one run (30000); tests lower it. */
extern int bp_credhelper__timeout_ms;

/* 1 when name is [A-Za-z0-9_.-]+: a suffix, never a path. */
int bp_credhelper__valid_name(const char *name);

/* "get": new strings in *username and *secret (wipe the secret). */
int bp_credhelper__get(const char *name, const char *server, char **username, char **secret);

/* "store": {"ServerURL","Username","Secret"} on stdin. */
int bp_credhelper__store(const char *name, const char *server, const char *username,
			 const char *secret);

/* "erase": 0, or BP_ENOTFOUND when the helper had nothing for server. */
int bp_credhelper__erase(const char *name, const char *server);

/*
 * For tests and fuzzing, the parts of a run that read what the helper
 * printed. parse_get: the JSON answer of a "get" that exited 0 (out holds
 * outlen bytes and a NUL after them). exit_error: 0 when status (from
 * waitpid) is a success, else the error for it, quoting out or errline.
 */
int bp_credhelper__parse_get(const char *name, const char *server, const char *out,
			     size_t outlen, char **username, char **secret);
int bp_credhelper__exit_error(const char *name, const char *action, int status, const char *out,
			      size_t outlen, const char *errline, size_t errlen);

#endif
