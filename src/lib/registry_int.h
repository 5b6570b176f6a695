/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_REGISTRY_INT_H
#define BP_LIB_REGISTRY_INT_H

/*
 * What the registry modules share (registry.c, registry_request.c,
 * registry_blob.c, registry_upload.c, registry_manifest.c,
 * registry_tags.c, registry_referrers.c), and what unit tests and
 * fuzzers reach below registry.h. Only those files and tests/ include this; the rest of the
 * library uses registry.h.
 */

#include "registry.h"
#include "auth.h"
#include "http.h"
#include "retry.h"
#include "state.h"

#include <pthread.h>

/*
 * A stand-in for the network, for unit tests of the registry protocol:
 * every request a bp_registry makes (the ping's too; not a token fetch,
 * which auth.c makes) goes to send instead of bp_http__perform, and every
 * wait before a retry (a token fetch's too) to sleep. send answers as bp_http__perform does:
 * it fills resp (released by the caller; bp_http__parse_header takes
 * header lines) and returns 0 when an answer came, or an error.
 */
typedef struct {
	int (*send)(const bp_http_request *req, bp_http_response *resp, void *payload);
	void (*sleep)(double secs, void *payload);
	void *payload;
} bp_registry_seam;

#define POOL_MAX 16

struct bp_registry {
	char *domain;     /* as in the reference */
	char *host;       /* host[:port] we connect to */
	char *base;       /* scheme://host[:port] */
	char *origin;     /* origin of base, as bp_http__origin gives it */
	bp_auth *auth;
	bp_registry_options opts;
	bp_http_options http_opts;

	pthread_mutex_t lock;  /* the pool, and what was learnt about uploads */
	bp_http *pool[POOL_MAX];
	size_t npool;
	bp_http_share *share;  /* of the pool's handles: TLS sessions, the HTTP/2 connections */

	/* learnt from refusals, for this blob and the later ones */
	int no_patch;          /* PATCH refused: blobs go in one PUT */
	int64_t body_cap;      /* >0: request bodies kept to this size after a "too large" */
	int said_no_patch;
	int said_cap;

	/*
	 * What later runs are told of the host (state.c), under lock: as
	 * loaded, then as learnt. known.post_stores is -1 until one upload
	 * has tried POST ?digest= (post_trying while it does).
	 */
	bp_state_host known;
	unsigned auth_saved;   /* bp_auth__known's count as saved */
	int unconfirmed;       /* base and auth remembered: no answer heard yet this run */
	int rechecked;         /* the GET /v2/ of bp_registry__recheck was sent */
	int post_trying;
	int post_trusted;      /* blobs taken on a 201 to POST ?digest= alone, this run */
	pthread_mutex_t recheck_lock; /* one GET /v2/ when the remembered turns out stale */

	bp_registry_seam seam; /* unit tests: the network replaced; send NULL otherwise */
	bp_retry retry;        /* from opts, with the seam's sleep; the auth handle's too */
	bp_ratelimit ratelimit; /* the latest an answer said, under lock */
};

/* ---- the handle (registry.c) ---- */

/*
 * Route r through seam (NULL: the network again) and take base
 * ("http://host:port") as if a ping had found it, without sending one.
 * 0 or BP_ENOMEM.
 */
int bp_registry__set_seam(bp_registry *r, const char *base, const bp_registry_seam *seam);

/* A debug line through the log callback, when debugging is on. */
void bp_registry__dbg(bp_registry *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A connection from the pool (or a new one); give it back with conn_put. */
int bp_registry__conn_get(bp_registry *r, bp_http **h);
void bp_registry__conn_put(bp_registry *r, bp_http *h);

/* Send one request: over h, or to the test seam when one is set. */
int bp_registry__perform(bp_registry *r, bp_http *h, const bp_http_request *req,
			 bp_http_response *resp);

/* Save what was learnt of the host when it differs from what was saved. */
void bp_registry__save_host(bp_registry *r);

/*
 * A request found the remembered endpoint or challenge stale (err: its
 * error, or 0 and resp its answer): GET /v2/ now, once for all threads,
 * and learn from it. 1 when the request should be sent again; 0 when it
 * must fail as it did (the host is then forgotten, so the next run
 * starts afresh).
 */
int bp_registry__recheck(bp_registry *r, bp_http *h);

/*
 * Learn (and save) whether the host stores a blob sent in one POST
 * ?digest= (stores 1) or not (0); says so once when it answered 201 and
 * did not hold the blob.
 */
void bp_registry__learn_post(bp_registry *r, int stores);

/* 1 while what was remembered of the host may be stale and no recheck was made. */
int bp_registry__maybe_stale(bp_registry *r);

/* An answer came from the remembered endpoint: it holds. */
void bp_registry__confirmed(bp_registry *r);

/* "repository:<repo>:<actions>" (pull,push for every request of a push); new string. */
char *bp_registry__scope(const bp_registry *r, const char *repo, const char *actions);

/* "<base>/v2/<repo>/<kind>/<ref>"; new string. */
char *bp_registry__url(bp_registry *r, const char *repo, const char *kind, const char *ref);

/* ---- requests, retries, errors (registry_request.c) ---- */

/* A body streamed from a file descriptor, rewound for a retry. */
typedef struct {
	int fd;
	int64_t base;           /* file offset of the blob's first byte */
	int64_t start;
	int64_t pos;
	int64_t total;          /* of the whole blob, for progress */
	int64_t base_done;      /* bytes of the blob sent before this request */
	bp_registry_progress_fn progress;
	void *payload;
} bp_fd_body;

/*
 * Send req for an operation needing scope, authenticating as the registry
 * asks (a 401 learns the challenge and is tried once more), and retrying a
 * passing failure with backoff when req can be sent again as it was (not a
 * PATCH, not a stream that delivered bytes). fb, when req's body is read
 * from it, is rewound for each try. As bp_http__perform: 0 whenever an
 * answer came.
 */
int bp_registry__request(bp_registry *r, const char *scope, bp_http_request *req,
			 bp_http_response *resp, bp_fd_body *fb);

/*
 * The error for a failed answer (returned, and set with "what: registry
 * answered STATUS CODE: message"): BP_EAUTH, BP_ENOTFOUND, BP_EINTEGRITY
 * or BP_ERROR, from the status and the registry's error code.
 */
int bp_registry__status_error(const bp_http_response *resp, const char *what);

/* 1 when the registry's JSON error code is code. */
int bp_registry__error_code_is(const bp_http_response *resp, const char *code);

/* ---- listings page by page (registry_tags.c) ---- */

/*
 * The page after resp's, from its Link: *url (new string), or NULL after
 * the last page. A Link that cannot be resolved, leads to another origin
 * (a token must not go elsewhere) or to one of the nseen pages listed
 * before (seen) is BP_EPROTO, its message "WHAT of DOMAIN/REPO: ...".
 */
int bp_registry__next_page(bp_registry *r, const char *what, const char *repo,
			   const bp_http_response *resp, char *const *seen, size_t nseen,
			   char **url);

/* A listing read page by page (tags, referrers), for bp_registry__walk_pages(). */
typedef struct {
	const char *scope;
	const char *const *headers; /* of each request, or NULL */
	size_t cap;		    /* a page's body at most (BP_EPROTO beyond) */
	size_t max;		    /* pages at most (BP_EPROTO beyond) */
	const char *what, *repo;    /* for messages: "WHAT of DOMAIN/REPO: ..." */
	/*
	 * Each answer, whatever its status, with its body (page counts from
	 * 1): 0 to go on to the Link's page, 1 to stop there, or an error.
	 */
	int (*page)(const bp_http_response *resp, const bp_dynbuf *body, size_t page,
		    void *payload);
	void *payload;
} bp_pages_walk;

/*
 * GET url (taken) and the pages its Link headers lead to, as
 * bp_registry__next_page() allows, each answer to w->page. 0 after the
 * last page or when page stopped; else the first error.
 */
int bp_registry__walk_pages(bp_registry *r, const bp_pages_walk *w, char *url);

/* ---- blobs (registry_blob.c) ---- */

/*
 * Hands on the bytes from offset on: a 206 starts there (its Content-Range
 * must say so); a registry that ignores Range sends everything again with
 * 200, and the bytes before offset are dropped.
 */
typedef struct {
	bp_http_write_fn fn;
	void *payload;
	const bp_http_response *resp;
	int64_t offset;
	int64_t skip;    /* still to drop; -1 until the answer is known */
} bp_range_sink;

/* A bp_http_write_fn for a bp_range_sink: BP_EPROTO when a 206 starts elsewhere. */
int bp_registry__range_write(const void *data, size_t len, void *p);

/* ---- uploads (registry_upload.c) ---- */

/* *loc becomes resp's Location, resolved against the URL it answered; BP_EPROTO without one. */
int bp_registry__next_location(const bp_http_response *resp, char **loc);

/* "0-1023" or "bytes=0-1023" → last byte 1023; -1 when absent or odd. */
int64_t bp_registry__range_end(const char *range);

/* loc with "digest=<digest>" added to its query; new string. */
char *bp_registry__with_digest(const char *loc, const char *digest);

/* 1 when a body was refused for its size: 413, or GHCR's 416 "request body too large". */
int bp_registry__too_large(const bp_http_response *resp);

/* 1 when a PATCH was refused as a method the registry does not do (Artifact Registry). */
int bp_registry__patch_refused(const bp_http_response *resp);

#endif
