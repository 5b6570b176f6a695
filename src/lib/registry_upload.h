/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_REGISTRY_UPLOAD_H
#define BP_LIB_REGISTRY_UPLOAD_H

/*
 * The blob upload as a state machine (registry_upload.c), in the manner of
 * curl's multi handle: one struct says where an upload is, bp_upload__step
 * makes one transition (a request or two), and the registries' quirks are
 * transitions. Both ways in drive the same machine: a file whose digest is
 * known (bp_registry__blob_upload) and a stream whose digest is known at
 * the end (bp_registry__upload_begin/_write/_finish). Here for the unit
 * tests, which drive single transitions.
 *
 *   RESUME  an earlier run's session (state.c): GET its status
 *           Range inside the blob            -> CHUNK from there
 *           anything else                    -> OPEN (saved session dropped)
 *   OPEN    a file up to monolithic_max bytes, where the host stores POST ?digest=
 *           or nobody knows yet (then this upload tries, if the blob is at most
 *           BP_POST_TRY_MAX, and the other uploads go on as below meanwhile)
 *                                            -> POST, no request
 *           else POST a session, or take a refused mount's
 *           file, chunked                    -> CHUNK; file, one PUT -> CLOSE
 *           stream                           -> CHUNK (waits for a full chunk)
 *   POST    POST ?digest= with the whole blob
 *           201 naming our digest, the host known to store -> DONE
 *           201 naming our digest, first try -> VERIFY
 *           201 without a digest             -> VERIFY (the host: not trusted)
 *           201 naming another digest        -> FAILED (the host: does not store)
 *           202 with a Location (distribution 2.8: the body dropped)
 *                                            -> CLOSE, the whole blob in that session
 *                                               (the host: does not store)
 *           401, 403, an error               -> FAILED (nothing learnt)
 *           anything else                    -> OPEN (the host: does not store)
 *   VERIFY  HEAD the blob
 *           there at its size                -> DONE (the host stores, when the 201
 *                                               named our digest)
 *           not there                        -> OPEN (the host: does not store; said)
 *   CHUNK   a file's rest within one chunk   -> CLOSE, no request (the PUT carries it)
 *           a stream closing                 -> CLOSE, no request (its digest sealed:
 *                                               not the one expected -> FAILED)
 *           else PATCH [off, off+n): bp_upload__send_chunk's outcome
 *           TAKEN (202/201/204)              -> CHUNK, off += n (a 201's Range ignored: ECR)
 *           BAD_RANGE (a 202 Range elsewhere)-> FAILED
 *           REFUSED (first PATCH: 405/404/400 UNSUPPORTED, as Artifact Registry)
 *                                            -> CLOSE with the whole blob in one PUT;
 *                                               FAILED for a stream, or after a PUT
 *                                               too large
 *           TOO_LARGE (413, GHCR's 416)      -> STATUS quietly, chunk halved (not below
 *                                               64 KiB: FAILED); FAILED for a stream
 *           PASSING (cut off, 408/429/5xx, 416)
 *                                            -> STATUS after a wait; FAILED when no
 *                                               retries are left
 *           FAILED (any other answer)        -> FAILED
 *   STATUS  GET the session's status
 *           Range at or before the chunk's end -> CHUNK from the Range (a stream: only
 *                                               when it is where its chunk starts)
 *           Range past what was sent         -> OPEN: the blob starts over
 *           no answer to use (404: public ECR) -> OPEN (a stream: FAILED)
 *   CLOSE   PUT ?digest=: the whole blob when not chunked, else the rest (a file's
 *           last chunk, a stream's chunk in hand; maybe none) with its Content-Range
 *           201, digest agrees               -> DONE (saved session dropped)
 *           one PUT too large                -> OPEN, chunks of half the blob from now
 *                                               on (FAILED when PATCH is refused too)
 *           the rest too large               -> STATUS quietly, chunk halved (a stream:
 *                                               FAILED)
 *           passing failure, but HEAD finds the blob -> DONE
 *           passing failure, chunked         -> STATUS after a wait
 *           passing failure, one PUT         -> OPEN after a wait
 *           anything else, or another digest -> FAILED
 */

#include "registry_int.h"

typedef enum {
	BP_UP_RESUME,
	BP_UP_OPEN,
	BP_UP_CHUNK,
	BP_UP_STATUS,
	BP_UP_CLOSE,
	BP_UP_POST,
	BP_UP_VERIFY,
	BP_UP_DONE,
	BP_UP_FAILED,
} bp_up_state;

/* The largest blob that tries POST ?digest= on a host where nobody knows yet if it stores. */
#define BP_POST_TRY_MAX (1024 * 1024)

/* What one PATCH came to. */
typedef enum {
	BP_CHUNK_TAKEN,
	BP_CHUNK_BAD_RANGE,
	BP_CHUNK_REFUSED,
	BP_CHUNK_TOO_LARGE,
	BP_CHUNK_PASSING,
	BP_CHUNK_FAILED,
} bp_chunk_outcome;

struct bp_upload {
	bp_registry *r;
	char *repo;
	char *scope;
	char *loc; /* the session's newest Location */
	bp_up_state state;
	int stream;	     /* 1: bytes from buf, digest at the end; 0: from fb */
	const char *digest;  /* a file's (borrowed); a stream's once sealed, else NULL */
	const char *session; /* a refused mount's session until taken (borrowed) */

	/* the bytes */
	bp_fd_body fb; /* a file's: the whole blob */
	int64_t size;  /* a file's blob size; -1 for a stream */
	char *buf;     /* a stream's chunk in hand, kept until the registry has it */
	size_t len;
	bp_hasher *hash;
	char sealed[BP_DIGEST_MAX]; /* a stream's digest */
	char expect[BP_DIGEST_MAX]; /* the digest a stream's bytes must have, or "" */
	int closing;		    /* a stream has no more bytes: the rest goes, then the PUT */

	/* the session */
	int64_t off;		/* bytes the registry holds */
	int64_t inflight;	/* length of the chunk sent last */
	int64_t chunk;		/* PATCH size; a stream's buffer */
	int64_t min;		/* the session's OCI-Chunk-Min-Length, or 0 */
	int64_t monolithic_max; /* a file's blobs up to this size go in one PUT; -1 never */
	int chunked;		/* PATCHes, the closing PUT with the rest; 0: the blob in one PUT */
	int no_patch;		/* the registry refuses PATCH */
	int force_chunks;	/* a PUT of the whole blob was too large */
	int shrunk;		/* STATUS after a "too large" (quiet), not after a failure */
	int tries;		/* retries taken */
	int post_try;		/* this upload tries POST ?digest= for its host (learns the answer) */
	int post_trusted;	/* the POST's 201 named our digest */
	bp_registry_progress_fn progress;
	void *payload;

	/* a stream's sender: the next chunk fills while this one goes (registry_upload.c) */
	struct bp_upload_sender *sender;
};

/*
 * Set u up for the blob of size bytes in fd (from o->offset) as digest,
 * borrowed with o->session until the upload ends: in RESUME when an earlier
 * run saved a session for it, else in OPEN. 0 or BP_ENOMEM; release u
 * either way.
 */
int bp_upload__init_fd(bp_upload *u, bp_registry *r, const char *repo, const char *digest,
		       int64_t size, int fd, const bp_upload_options *o);

/* Set u up, in OPEN, for a stream PATCHed in chunks of chunk_size (0: 8 MiB). */
int bp_upload__init_stream(bp_upload *u, bp_registry *r, const char *repo, int64_t chunk_size,
			   bp_registry_progress_fn progress, void *payload);

/* Free what u holds (not u); no request. */
void bp_upload__release(bp_upload *u);

/*
 * PATCH the n bytes from u->off (from the file, or the chunk in hand) and
 * classify the answer. *err gets the request's error (0 when an answer
 * came), resp the answer (the caller releases it).
 */
bp_chunk_outcome bp_upload__send_chunk(bp_upload *u, int64_t n, bp_http_response *resp, int *err);

/* One transition from u->state. 0, or the error that put u in FAILED. */
int bp_upload__step(bp_upload *u);

/* Step until DONE or FAILED, or until a stream waits for bytes. 0 or the error. */
int bp_upload__run(bp_upload *u);

#endif
