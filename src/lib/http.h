/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_HTTP_H
#define BP_LIB_HTTP_H

#include <beampush/common.h>
#include "util/dynbuf.h"

/*
 * HTTP for the rest of the library; only http.c and http_mux.c include
 * curl.h. One bp_http holds one curl handle and is used by one thread at a
 * time. Alone, its connections are its own, reused from one request to the
 * next. Made with a bp_http_share (one per registry), it shares the TLS
 * sessions and the DNS cache of the other handles of that share, and its
 * https requests go through the share's one multi handle: on one HTTP/2
 * connection per host, many streams at once, when the host offers HTTP/2;
 * on a few kept-alive HTTP/1.1 connections when it does not. Plain http
 * and large request bodies keep a connection of the handle's own.
 */
typedef struct bp_http bp_http;
typedef struct bp_http_share bp_http_share;

typedef struct {
	const char *unix_socket; /* connect here instead (Docker Engine API); NULL: TCP */
	int tls_verify;       /* 0: accept any certificate */
	/* for https to certs_host: these CAs and client pair instead of certs.d (a hosts.toml's) */
	const struct bp_certs *certs;
	const char *certs_host;
	long connect_timeout_ms; /* 0: 30 s */
	long stall_secs;	 /* a transfer that moves no byte this long is cut off; 0: 120 */
	int debug;            /* log requests through log_cb */
	void (*log_cb)(const char *line, void *payload);
	void *payload;
	bp_http_share *share; /* NULL: a handle on its own; else it outlives the handle */
} bp_http_options;

typedef struct {
	/*
	 * The one line said when a host that offered HTTP/2 is given up on
	 * for HTTP/1.1 (it reset streams), with payload. NULL: not said.
	 */
	void (*say)(const char *message, void *payload);
	/* debug lines (the connections each host cost, at free), with payload */
	void (*log_cb)(const char *line, void *payload);
	void *payload;
	/* 1: no multi handle, every request on its handle's own connection (as without a share) */
	int no_multiplex;
} bp_http_share_options;

/*
 * Bodies up to this size go through the share's multi handle (a request
 * body read into memory first when it comes from a read_fn); larger ones
 * (a request body, or an answer's size_hint) and streams of unknown length
 * go on a connection of their handle's own, in HTTP/1.1. Measured at 80 ms
 * round trips: an HTTP/2 server's flow-control window (1 MiB for Go's, as
 * in distribution) holds all the uploads of a connection to a window per
 * round trip, and one TCP connection carries a large download slower than
 * one each.
 */
#define BP_HTTP_SHARED_BODY_MAX (1024 * 1024)

/* Streaming callbacks: return 0 to go on, non-zero to abort the transfer. */
typedef int (*bp_http_write_fn)(const void *data, size_t len, void *payload);
/* Fill buf with up to len bytes; return how many (0 at the end), -1 on error. */
typedef long (*bp_http_read_fn)(char *buf, size_t len, void *payload);

typedef struct {
	const char *method;          /* GET HEAD POST PUT PATCH DELETE */
	const char *url;             /* absolute */
	const char *const *headers;  /* extra "Name: value" lines, NULL-terminated */
	/*
	 * The Authorization header value ("Bearer x", "Basic y") and the
	 * origin (scheme://host:port) it was issued for: it is sent only to
	 * that origin, on the first request and on redirects alike.
	 */
	const char *authorization;
	const char *auth_origin;
	/* request body: in memory, or streamed (body_len bytes from read_fn) */
	const void *body;
	int64_t body_len;            /* -1: no body; with read_fn, BP_HTTP_STREAM: length unknown */
	bp_http_read_fn read_fn;
	void *read_payload;
	/* response body: into resp (capped), or to write_fn; else discarded */
	bp_dynbuf *resp;
	bp_http_write_fn write_fn;
	void *write_payload;
	/* only for 2xx responses; error bodies always go to the response's err_body */
	int follow_redirects;
	/*
	 * The bytes the answer's body should carry, when known (a blob's
	 * size from its descriptor; 0 or -1: not known). Above
	 * BP_HTTP_SHARED_BODY_MAX the request goes on a connection of its
	 * handle's own, as a large request body does.
	 */
	int64_t size_hint;
	/*
	 * Only learn whether the server speaks TLS: connect and shake hands,
	 * send no request. The certificate is not checked (no CA store is
	 * loaded, which costs ~25 ms) and certs.d is not read.
	 */
	int tls_probe;
} bp_http_request;

/* body_len of a streamed body whose length is not known: sent chunked. */
#define BP_HTTP_STREAM (-2)

/* A GET without a body; every other member 0 or NULL. */
#define BP_HTTP_REQUEST_INIT                    \
	{                                       \
		.method = "GET", .body_len = -1 \
	}

/* What we keep of a response. Strings owned, NULL when absent. */
typedef struct {
	long status;
	char *url;                   /* the URL finally answered (after redirects) */
	char *location;
	char *content_type;
	char *content_digest;        /* Docker-Content-Digest */
	char *range;
	char *content_range;         /* of a 206 */
	char *link;
	char *retry_after;
	char *chunk_min_length;      /* OCI-Chunk-Min-Length */
	char *api_version;           /* API-Version (the Docker Engine API's) */
	char *ratelimit_limit;       /* RateLimit-Limit, as Docker Hub sends it: "100;w=21600" */
	char *ratelimit_remaining;   /* RateLimit-Remaining: "76;w=21600" */
	char *etag;                  /* ETag, quotes kept: what an If-Match sends back */
	char *oci_subject;           /* OCI-Subject: a manifest PUT's subject was indexed */
	char *oci_filters_applied;   /* OCI-Filters-Applied: "artifactType" */
	int64_t content_length;      /* -1 when absent */
	char **www_authenticate;     /* every WWW-Authenticate header */
	size_t nwww_authenticate;
	bp_dynbuf err_body;          /* body of a non-2xx answer, capped at 64 KiB */
	int body_over_cap;           /* a 2xx body outgrew req->resp: the transfer was cut */
	/*
	 * libcurl sent the request again on a new connection, the one it
	 * went on having died before any answer: the server may have done
	 * it once already, and this answer is to the second.
	 */
	int resent;
} bp_http_response;

int bp_http__new(bp_http **out, const bp_http_options *opts);
void bp_http__free(bp_http *h);

/*
 * A share for the handles of one registry (see bp_http above); no thread
 * or connection until its first https request. 0, BP_ENOMEM or BP_ERROR.
 */
int bp_http__share_new(bp_http_share **out, const bp_http_share_options *opts);
/*
 * Close its connections and stop its thread, after every handle made
 * with it is freed; with debug logging, first one line per host it
 * reached: "connections to ORIGIN: N (H HTTP/2, R TLS resumed) for Q
 * requests". NULL is fine.
 */
void bp_http__share_free(bp_http_share *s);

/* What a share did so far, for tests: new connections, and of them over HTTP/2. */
typedef struct {
	long requests;         /* transfers finished, every origin */
	long connections;      /* TCP connections opened */
	long h2_connections;   /* of them, HTTP/2 */
	long tls_resumed;      /* TLS handshakes that resumed a session */
	long pauses;           /* times a download waited for its reader */
	long multiplexed;      /* transfers through the multi handle */
} bp_http_share_stats;

void bp_http__share_stats(bp_http_share *s, bp_http_share_stats *out);

/*
 * Perform req and fill resp (to be released by the caller, also on error).
 * Returns 0 whenever an HTTP answer came (whatever its status), BP_ENET or
 * BP_ETLS when none did, BP_EPROTO on a bad redirect, or the error a
 * callback set when it aborted the transfer.
 */
int bp_http__perform(bp_http *h, const bp_http_request *req,
		     bp_http_response *resp);
void bp_http__response_release(bp_http_response *r);

/* "scheme://host[:port]" of url, new string; NULL when url is not absolute. */
char *bp_http__origin(const char *url);

/*
 * Resolve ref (absolute, "//host/..", "/path?q" or relative path) against
 * base, as RFC 3986; new string, NULL when either is unusable.
 */
char *bp_http__resolve(const char *base, const char *ref);

/* 1 when the TLS handshake failed in a way that means "not TLS at all". */
int bp_http__last_was_plain_http(const bp_http *h);

/* Versions for `beampush version`. */
const char *bp_http__curl_version(void);

/*
 * Take one response header line, as curl hands it over (CRLF included),
 * into r: a status line starts a new response (the headers before it are
 * forgotten, r->url kept), the headers bp_http_response knows fill their
 * field, others are ignored. 0, or BP_ENOMEM. Also for tests and fuzzers
 * that feed headers without a server.
 */
int bp_http__parse_header(bp_http_response *r, const char *line, size_t len);

#endif
