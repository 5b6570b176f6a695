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
 * Connect (GET /_ping). BP_ENOTFOUND when there is no socket (the message
 * names it), BP_EUNSUPPORTED for a DOCKER_HOST that is not unix://, BP_ENET
 * when nothing answers.
 */
int bp_daemon__open(bp_daemon **out);
void bp_daemon__free(bp_daemon *d);

/* The socket path in use. Borrowed. */
const char *bp_daemon__socket(const bp_daemon *d);

/* GET /images/{name}/json. BP_ENOTFOUND when the daemon has no such image. */
int bp_daemon__inspect(bp_daemon *d, const char *name, bp_daemon_image *out);
void bp_daemon__image_release(bp_daemon_image *img);

/*
 * The parsers of the daemon's answers, for inspect and for tests and
 * fuzzing. parse_inspect: the image inspect JSON (len bytes of body, no NUL
 * needed) into out (released on error; BP_EPROTO when it has no Id or
 * RootFS.Layers, or a malformed entry). error: the error for a failed
 * answer, quoting the API's {"message": ...} of resp->err_body as one
 * printable line; BP_ENOTFOUND for 404, else BP_ERROR.
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
