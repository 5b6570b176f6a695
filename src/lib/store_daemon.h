/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_STORE_DAEMON_H
#define BP_LIB_STORE_DAEMON_H

#include <beampush/common.h>
#include <beampush/digest.h>

#include "http.h"

/*
 * The Docker Engine API on a unix socket ($DOCKER_HOST unix://PATH, else
 * /var/run/docker.sock): what a push from the daemon and a pull into it
 * need. Docker and podman's compatible service both answer it.
 */
typedef struct bp_daemon bp_daemon;

/* What image inspect says of an image. Strings owned. */
typedef struct {
	char id[BP_DIGEST_MAX];   /* the config digest */
	char **diff_ids;          /* RootFS.Layers, base first */
	size_t ndiff_ids;
	char **repo_digests;      /* "name@sha256:..." */
	size_t nrepo_digests;
} bp_daemon_image;

/*
 * Engine API versions as MAJOR * 1000 + MINOR. NEWEST: the one beampush
 * speaks when the daemon does (dockerd 20.10). OLDEST: the oldest whose
 * answers it reads: the load's JSON messages and its quiet parameter
 * (1.23), errors as JSON {"message": ...} (1.24, Docker 1.12).
 */
#define BP_DAEMON_API_NEWEST 1041
#define BP_DAEMON_API_OLDEST 1024

/*
 * Connect: GET /_ping, unversioned, whose API-Version header (or, from an
 * Engine older than 1.25 that sends none, GET /version) says which API
 * versions the daemon speaks; every later request names the one
 * bp_daemon__negotiate picks. BP_ENOTFOUND when there is no socket (the
 * message names it), BP_EUNSUPPORTED for a DOCKER_HOST that is not unix://
 * or a daemon older than BP_DAEMON_API_OLDEST, BP_ENET when nothing
 * answers, BP_EPROTO when what answers is not an Engine API. Every message
 * names the socket.
 */
int bp_daemon__open(bp_daemon **out);
void bp_daemon__free(bp_daemon *d);

/* The socket path in use. Borrowed. */
const char *bp_daemon__socket(const bp_daemon *d);

/* The API version spoken, "1.41". Borrowed. */
const char *bp_daemon__api(const bp_daemon *d);

/*
 * Version negotiation, for open and for tests. parse_api_version: "MAJOR.
 * MINOR" (1 to 3 digits each, nothing else) into *out; BP_EPROTO, no
 * message set, otherwise. negotiate: the version to speak to a daemon
 * whose newest is max and oldest min (0: unknown), as docker's client
 * picks it: the older of max and BP_DAEMON_API_NEWEST, or min when the
 * daemon no longer serves that (Docker 29: 1.44 and up); 0 when max is
 * older than BP_DAEMON_API_OLDEST. parse_version: ApiVersion and
 * MinAPIVersion of the JSON of GET /version (len bytes, no NUL needed);
 * BP_EPROTO, no message set, without a valid ApiVersion; *min is 0 when
 * it has no valid MinAPIVersion.
 */
int bp_daemon__parse_api_version(const char *s, unsigned *out);
unsigned bp_daemon__negotiate(unsigned max, unsigned min);
int bp_daemon__parse_version(const char *body, size_t len, unsigned *max, unsigned *min);

/* GET /images/{name}/json. BP_ENOTFOUND when the daemon has no such image. */
int bp_daemon__inspect(bp_daemon *d, const char *name, bp_daemon_image *out);
void bp_daemon__image_release(bp_daemon_image *img);

/*
 * The parsers of the daemon's answers, for inspect and for tests and
 * fuzzing. parse_inspect: the image inspect JSON (len bytes of body, no NUL
 * needed) into out (released on error; BP_EPROTO when it has no Id or
 * RootFS.Layers, or a malformed entry). error: the error for a failed
 * answer, quoting the API's {"message": ...} of resp->err_body (or its
 * first line when the answer is text/plain) as one printable line;
 * BP_ENOTFOUND for 404, else BP_ERROR.
 */
int bp_daemon__parse_inspect(const char *body, size_t len, const char *name,
			     bp_daemon_image *out);
int bp_daemon__error(const bp_http_response *resp, const char *what, const char *name);

/*
 * The failure a load's streamed answer (len bytes of JSON messages, no
 * NUL promised) reports: BP_ERROR with "Docker daemon: load failed: " and
 * the first message's "error" as one printable line; 0 when none does.
 */
int bp_daemon__load_error(const char *body, size_t len);

/* GET /images/{name}/get: the `docker save` tar of the image, streamed to fn. */
int bp_daemon__export(bp_daemon *d, const char *name, bp_http_write_fn fn, void *payload);

/* POST /images/load with a `docker save` tar read from fn (length unknown). */
int bp_daemon__load(bp_daemon *d, bp_http_read_fn fn, void *payload);

#endif
