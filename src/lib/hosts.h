/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_HOSTS_H
#define BP_LIB_HOSTS_H

#include <beampush/common.h>

#include <stddef.h>

/*
 * containerd's hosts directory (docs/hosts.md of containerd), the format
 * Spegel, Dragonfly and Harbor document for mirrors: for a registry
 * host[:port], DIR/HOST_PORT_/hosts.toml, else DIR/HOST:PORT/hosts.toml,
 * else DIR/_default/hosts.toml, where DIR is $BEAMPUSH_HOSTS_D when set,
 * else /etc/containerd/certs.d. A file holds `server` (the registry
 * itself; by default the host the directory is named for), the
 * [host."URL"] tables of the mirrors, tried in their order before it, and
 * for each: capabilities (pull, resolve, push; all three when not given),
 * skip_verify, ca, client, [header] and override_path, plus dial_timeout.
 * Paths are absolute or relative to the file's directory.
 */

#define BP_HOST_PULL 1u	   /* may serve content by digest */
#define BP_HOST_RESOLVE 2u /* may say which manifest a tag names */
#define BP_HOST_PUSH 4u	   /* accepted; beampush never pushes to a hosts.toml host */

/* One host: the server, or a [host."URL"] table. Strings owned. */
typedef struct {
	char *url;	/* as written; NULL for the server when `server` is not given */
	char *scheme;	/* "http" or "https" (https when the URL names none) */
	char *hostport; /* "mirror.example:5000" */
	char *path;	/* the API root: "/v2", "/us/v2", or the path as given with override_path */
	unsigned caps;	/* BP_HOST_* */
	int skip_verify;
	int override_path;
	char **ca; /* CA files */
	size_t nca;
	char *client_cert; /* the first client pair: certificate file */
	char *client_key;  /* and its key (NULL: in the certificate's file) */
	char **headers;	   /* "Name: value" lines */
	size_t nheaders;
	long dial_timeout_ms; /* 0: the default */
	int line;	      /* of its table (the server: of `server`, or 0) */
} bp_host;

typedef struct {
	char *file;	/* the hosts.toml read; NULL when none applies */
	bp_host server; /* the registry itself, last */
	bp_host *hosts; /* the mirrors, in their order */
	size_t n;
} bp_hosts;

/*
 * Parse data, a hosts.toml named file (its directory anchors relative
 * paths). BP_EINVAL "FILE:LINE: what" on a syntax error, an unknown key,
 * a value of the wrong type, a URL of another scheme than http and https
 * or with user, query or fragment, an unknown capability, a header that
 * is no valid header line. out is released either way before it is set.
 */
int bp_hosts__parse(bp_hosts *out, const char *file, const char *data, size_t len);

/*
 * Read the hosts.toml that applies to hostport (the registry's host[:port]
 * as a reference names it: "docker.io", "127.0.0.1:5000"). 0 with
 * out->file NULL when there is none; a file that cannot be read or parsed
 * is an error naming it (BP_EIO, BP_EINVAL).
 */
int bp_hosts__load(bp_hosts *out, const char *hostport);

/* Free what h holds; h may be loaded into again. */
void bp_hosts__release(bp_hosts *h);

#endif
