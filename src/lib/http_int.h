/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_HTTP_INT_H
#define BP_LIB_HTTP_INT_H

/*
 * What http.c and http_mux.c share: the handle, the state of one
 * transfer, the share and its multi handle. Only those two files and
 * tests/unit/test_http_mux.c include this.
 */

#include "http.h"
#include "certs.h"

#include <curl/curl.h>
#include <pthread.h>

#define CERTS_SLOTS 4

/* certs.d material read for one host[:port] (certs NULL: nothing there). */
typedef struct {
	char *hostport;
	bp_certs *certs;
} certs_slot;

struct bp_http {
	CURL *curl;
	bp_http_options opts;
	char errbuf[CURL_ERROR_SIZE];
	int plain_http;
	/* the hosts this handle talked to over https: a registry, its token realm */
	certs_slot slots[CERTS_SLOTS];
	size_t nslots;
	/* this transfer's */
	char *hostport;
	const bp_certs *certs;
	int ctx_error;
	char ctx_msg[512]; /* its message: the TLS context may be built on the multi thread */
};

/* State of one transfer, handed to curl's callbacks. */
typedef struct {
	const bp_http_request *req;
	bp_http_response *resp;
	CURL *curl;
	int to_body;	   /* 2xx: body goes to the request's sink */
	int cb_error;	   /* error code a callback returned */
	int rewind_failed; /* the connection died after part of a stream was sent */
	int rewound;	   /* ... and the body went again from its start */
	int64_t sent;
	int64_t delivered; /* body bytes handed to the request's sink */
	int seen;	   /* the connection of the first answer was looked at */
	int new_conn;	   /* this transfer opened a connection */
	int resumed;	   /* ... whose TLS handshake resumed a session */
} xfer;

/* Where the body bytes of x go now: 1 the request's sink, 2 the error body. */
int bp_http__body_route(xfer *x);

/* Bytes for the request's sink (its write_fn or resp buffer): 0, or the error. */
int bp_http__body_sink(xfer *x, const char *data, size_t len);

/* CURLOPT_HEADERFUNCTION of every transfer, x its data. */
size_t bp_http__on_header(char *data, size_t size, size_t nmemb, void *x);

/* ---- the multi handle of a share (http_mux.c) ---- */

typedef struct bp_mux bp_mux;

/* A multi handle and the thread that drives it; BP_ENOMEM or BP_ERROR. */
int bp_mux__new(bp_mux **out);
/* Stop the thread and close the connections; no transfer may be running. NULL is fine. */
void bp_mux__free(bp_mux *m);

/*
 * Run the transfer set up on curl (not in any multi handle) on m and wait
 * for it, as curl_easy_perform would. Its header and request-body
 * callbacks run on m's thread (they touch only x and memory); the body
 * bytes for the request's sink come back here, to bp_http__body_sink on
 * the calling thread, while the transfer pauses when they are not taken
 * fast enough. *spent becomes 1 when curl must not carry another transfer:
 * one paused or abandoned may have left bytes of its answer in it.
 */
CURLcode bp_mux__perform(bp_mux *m, CURL *curl, xfer *x, int *spent);

/* Times a transfer of m paused for its reader. */
long bp_mux__pauses(bp_mux *m);

/* What is known of one origin (scheme://host:port) a share reached. */
typedef struct {
	char *origin;
	int h1_only; /* it reset HTTP/2 streams: HTTP/1.1 from then on */
	long requests;
	long connections;
	long h2_connections;
	long tls_resumed;
	long mux_connections; /* opened by the multi handle, */
	long mux_h2;	      /* and of them HTTP/2 */
} share_origin;

struct bp_http_share {
	CURLSH *sh;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	bp_http_share_options opts;
	pthread_mutex_t lock; /* what follows */
	bp_mux *mux;
	int mux_failed;
	long multiplexed;
	share_origin *origins;
	size_t norigins;
};

#endif
