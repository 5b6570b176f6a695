/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_REGISTRY_H
#define BP_LIB_REGISTRY_H

#include <beampush/common.h>
#include <beampush/credentials.h>
#include <beampush/digest.h>
#include "http.h"

/*
 * One registry endpoint: its base URL (found by ping), how it wants to be
 * authenticated, the credentials, a token cache per scope and a pool of
 * connections. Every function is safe to call from several threads.
 */
typedef struct bp_registry bp_registry;

typedef struct {
	int tls_verify;      /* 0: --tls-verify=false */
	int insecure;        /* --insecure-registry: unverified TLS, then plain http */
	int plain_http;      /* --insecure-registry http://HOST: plain http only, no TLS tried */
	int fresh;           /* ping even when an earlier run remembered the host (login) */
	int push;            /* ask for pull,push on every repository scope */
	int retries;         /* passing failures retried this many times */
	void (*retry_cb)(const char *message, void *payload); /* "retrying in 2s (attempt 2 of 5): ..." */
	int debug;
	void (*log_cb)(const char *line, void *payload);
	void *payload;
	/*
	 * A mirror's (these must outlive the handle): the API root instead of
	 * /v2 (a hosts.toml URL's path), a query for every manifest and blob
	 * URL ("ns=docker.io"), header lines for every request, the CAs and
	 * client pair for its host, time-outs (0: the defaults).
	 */
	const char *api;
	const char *query;
	const char *const *headers;
	const struct bp_certs *certs;
	long connect_timeout_ms;
	long stall_secs;
} bp_registry_options;

/* Progress of one blob transfer. */
typedef void (*bp_registry_progress_fn)(int64_t done, int64_t total, void *payload);

/* domain as in a reference ("docker.io", "127.0.0.1:5000"). creds may be NULL. */
int bp_registry__new(bp_registry **out, const char *domain,
		     const bp_credentials *creds, const bp_registry_options *opts);
void bp_registry__free(bp_registry *r);

/*
 * GET /v2/: choose https or http, learn the auth scheme. What an earlier
 * run learnt of the host (state.c) spares it: with the scheme and the
 * challenge remembered, no request is sent (unless opts.fresh), and the
 * first request that finds them stale (a token request that fails, a
 * transport error, a 400) asks GET /v2/ after all; a 401 that names
 * another realm is learnt as any 401 is. With only the scheme, the ping
 * goes straight to it. Whatever a ping or a 401 teaches is saved for the
 * next run.
 */
int bp_registry__ping(bp_registry *r);

/*
 * 1 once r's requests share an HTTP/2 connection (many streams at once
 * cost no connection each), else 0.
 */
int bp_registry__multiplexed(bp_registry *r);

/*
 * Instead of a ping, take base ("http://host:port", a hosts.toml URL's
 * scheme and host) as the registry's: the auth scheme is learnt from the
 * first 401. 0 or BP_ENOMEM.
 */
int bp_registry__assume_base(bp_registry *r, const char *base);

/* 0 and *size when repo has the blob; BP_ENOTFOUND when not. */
int bp_registry__blob_exists(bp_registry *r, const char *repo, const char *digest,
			     int64_t *size);

/*
 * Mount digest into repo from another repository of the same registry
 * (one token covering repo pull,push and from pull). 0 when mounted;
 * BP_ENOTFOUND when the registry would not (the caller uploads instead);
 * when it answered 202 with a session, *session (if not NULL) gets that
 * session's Location, new string, for bp_upload_options.session.
 */
int bp_registry__blob_mount(bp_registry *r, const char *repo, const char *digest,
			    const char *from, char **session);

/*
 * Stream the blob from byte offset on to write_fn (redirects followed,
 * credential not forwarded). With offset > 0 a Range is asked for; a
 * registry that ignores it costs a download, not a wrong byte. size is the
 * blob's as its descriptor says (-1: not known): a large blob comes on a
 * connection of its own, not on the one the other requests share.
 */
int bp_registry__blob_get(bp_registry *r, const char *repo, const char *digest, int64_t size,
			  int64_t offset, bp_http_write_fn write_fn, void *payload);

typedef struct {
	const char *session;    /* an upload session already open (a refused mount's), or NULL */
	int64_t offset;         /* where in fd the blob starts */
	int64_t chunk_size;     /* PATCH size */
	int64_t monolithic_max; /* blobs up to this size: one PUT; -1 never */
	bp_registry_progress_fn progress;
	void *payload;
} bp_upload_options;

/* Upload size bytes of fd (from opts->offset) as blob digest into repo. */
int bp_registry__blob_upload(bp_registry *r, const char *repo, const char *digest,
			     int64_t size, int fd, const bp_upload_options *opts);

/*
 * Uploads of bytes made on the fly (a layer compressed while it streams):
 * the digest is known at the end. Bytes are PATCHed in chunks of
 * chunk_size (the registry's OCI-Chunk-Min-Length when larger), each kept
 * in memory until the registry has it, so a chunk cut off is sent again
 * from where the registry stands. write() returns once the bytes are
 * copied: a thread of the upload's PATCHes each whole chunk while the next
 * fills, and its failure comes back from the next write() or finish(). finish sends the rest and closes with
 * PUT ?digest=; free cancels an unfinished upload (DELETE, quietly).
 * progress gets total -1 (unknown).
 */
typedef struct bp_upload bp_upload;

/*
 * The chunk of a streamed upload unless --chunk-size says otherwise. Two
 * wait in memory: the one in flight, until the registry has it, and the
 * next, filling while the first goes out on a thread of its own.
 */
#define BP_STREAM_CHUNK_DEFAULT (1024 * 1024)

int bp_registry__upload_begin(bp_registry *r, const char *repo, int64_t chunk_size,
			      bp_registry_progress_fn progress, void *payload, bp_upload **out);
int bp_registry__upload_write(bp_upload *u, const void *data, size_t len);
int bp_registry__upload_finish(bp_upload *u, char digest[BP_DIGEST_MAX], int64_t *size);
/* The digest the bytes must have (a copy): finish fails (BP_EINTEGRITY) and cancels otherwise. */
void bp_registry__upload_expect(bp_upload *u, const char *digest);
void bp_registry__upload_free(bp_upload *u);

/*
 * GET (or HEAD when body is NULL) a manifest with every known media type
 * accepted. body: new buffer, capped at BP_MANIFEST_MAX. ctype and
 * digest (the Docker-Content-Digest sent, or "") filled when non-NULL.
 */
int bp_registry__manifest_get(bp_registry *r, const char *repo, const char *ref,
			      char **body, size_t *len, char **ctype,
			      char digest[BP_DIGEST_MAX]);

/* PUT a manifest under ref (tag or digest); digest gets the registry's answer. */
int bp_registry__manifest_put(bp_registry *r, const char *repo, const char *ref,
			      const char *body, size_t len, const char *media_type,
			      char digest[BP_DIGEST_MAX]);

/*
 * What a manifest request sends or learns beyond the bytes, for the
 * referrers index a client keeps under a tag (referrers.c): a conditional
 * PUT and what the registry says of a subject. Start from
 * BP_MANIFEST_EXTRA_INIT; release with bp_registry__manifest_extra_release().
 */
typedef struct {
	const char *if_match; /* PUT: sent as If-Match (an ETag a GET gave); NULL: none */
	char *etag;	      /* GET, HEAD: the ETag answered (new string), or NULL */
	char *subject;	      /* PUT: the OCI-Subject answered (new string), or NULL */
	long status;	      /* the status answered (412: If-Match failed); 0: none came */
} bp_manifest_extra;

#define BP_MANIFEST_EXTRA_INIT { NULL, NULL, NULL, 0 }

void bp_registry__manifest_extra_release(bp_manifest_extra *x);

/* bp_registry__manifest_get(), and x (may be NULL) learns the ETag and the status. */
int bp_registry__manifest_get_ex(bp_registry *r, const char *repo, const char *ref,
				 char **body, size_t *len, char **ctype,
				 char digest[BP_DIGEST_MAX], bp_manifest_extra *x);

/*
 * bp_registry__manifest_put(), sending If-Match: x->if_match when set
 * (x may be NULL); x learns the status (a refused If-Match is 412, an
 * error all the same) and the OCI-Subject a registry with the referrers
 * API answers.
 */
int bp_registry__manifest_put_ex(bp_registry *r, const char *repo, const char *ref,
				 const char *body, size_t len, const char *media_type,
				 char digest[BP_DIGEST_MAX], bp_manifest_extra *x);

/* One page the referrers API answered, for bp_registry__referrers()'s callback. */
typedef struct {
	const char *body; /* the answer's bytes, capped at BP_MANIFEST_MAX */
	size_t len;
	const char *content_type; /* as sent, or NULL */
	int filtered;		  /* OCI-Filters-Applied names artifactType */
	size_t page;		  /* 1 for the first */
} bp_referrers_page;

/* At most this many pages of one referrers list are read (BP_EPROTO beyond). */
#define BP_REFERRERS_PAGES_MAX 1000

/*
 * GET /v2/<repo>/referrers/<digest> (with ?artifactType= when
 * artifact_type is set), each page of the answer handed to fn, following
 * Link pages as bp_registry__tags() does (same origin, no page twice, at
 * most BP_REFERRERS_PAGES_MAX). fn returns 0 to go on, or an error that
 * ends the listing and is returned. BP_EUNSUPPORTED when the first answer
 * says the registry has no referrers API: 404, 400, 405, 406 or 501, or
 * another failure whose error code is UNSUPPORTED or NAME_UNKNOWN (401,
 * 403 and 429 are the errors they are); the message says what it
 * answered. A page larger than BP_MANIFEST_MAX is BP_EPROTO.
 */
int bp_registry__referrers(bp_registry *r, const char *repo, const char *digest,
			   const char *artifact_type,
			   int (*fn)(const bp_referrers_page *p, void *payload), void *payload);

/*
 * The tags of one tags/list answer ({"name": ..., "tags": [...]}; "tags"
 * may be null or absent) handed to fn in order; strings only. 0; 1 when fn
 * returned non-zero (it stops there); -1 when body is not such an answer.
 */
int bp_registry__parse_tags(const char *body, size_t len, int (*fn)(const char *tag, void *payload),
			    void *payload);

/*
 * Every tag of repo, in the registry's order, following Link pages (same
 * origin only; a page seen before is a loop: BP_EPROTO; at most 10000
 * pages); fn returns non-zero to stop. BP_ENOTFOUND when the repository
 * does not exist.
 */
int bp_registry__tags(bp_registry *r, const char *repo,
		      int (*fn)(const char *tag, void *payload), void *payload);

/*
 * The next page from a Link header (`<url>; rel="next"`, maybe among other
 * link-values): 1 and *out (new string, resolved against base); 0 when
 * there is none; -1 when it cannot be resolved.
 */
int bp_registry__link_next(const char *base, const char *link, char **out);

/*
 * DELETE /v2/<repo>/manifests/<digest> (scope repository:<repo>:delete).
 * BP_ENOTFOUND when absent, BP_EUNSUPPORTED when the registry forbids
 * deletion (405 or UNSUPPORTED), BP_EAUTH when refused.
 */
int bp_registry__manifest_delete(bp_registry *r, const char *repo, const char *digest);

/*
 * What a registry said of its rate limit, as Docker Hub says it on the
 * answers to manifest requests (RateLimit-Limit: 100;w=21600,
 * RateLimit-Remaining: 76;w=21600): a GET of a manifest counts against
 * it, a HEAD does not.
 */
typedef struct {
	int64_t limit;	   /* requests a window allows; -1 when not said */
	int64_t remaining; /* requests left in it */
	int64_t window;	   /* its length in seconds; -1 when not said */
	uint64_t seen;	   /* answers that carried it so far: 0 when none has */
} bp_ratelimit;

/* The rate limit r's latest answer that carried one gave, into *out; see bp_ratelimit. */
void bp_registry__ratelimit(bp_registry *r, bp_ratelimit *out);

/*
 * A RateLimit-Limit or RateLimit-Remaining value: its first count ("76"
 * of "76;w=21600", or of "76, 100;w=60" when it lists several quotas)
 * into *count, and that quota's w= into *window (-1 without one). 0, or -1
 * when value does not start with a count.
 */
int bp_registry__parse_ratelimit(const char *value, int64_t *count, int64_t *window);

/*
 * After a ping: check the credentials as a push would authenticate. BP_EAUTH
 * when refused. *refresh gets a refresh token when the token service
 * issued one (store it instead of the password), else NULL.
 */
int bp_registry__login(bp_registry *r, char **refresh);

#endif
