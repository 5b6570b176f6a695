/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blob uploads: from a file (digest known), or streamed (digest known at
 * the end), both driven through one state machine; registry_upload.h
 * holds its states and transitions. First the requests and the readings
 * of answers the transitions are made of.
 */
#include "registry_upload.h"
#include "state.h"
#include "util/strutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long fd_read(char *buf, size_t len, void *p)
{
	bp_fd_body *b = p;
	ssize_t n;

	do
		n = pread(b->fd, buf, len, b->base + b->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		bp_error_set(BP_EIO, "read: %s", strerror(errno));
		return -1;
	}
	b->pos += n;
	if (b->progress)
		b->progress(b->base_done + (b->pos - b->start), b->total, b->payload);
	return (long)n;
}

/* The Location of an answer, resolved against the URL it answered. */
int bp_registry__next_location(const bp_http_response *resp, char **loc)
{
	char *n;

	if (!resp->location)
		return bp_error_set(BP_EPROTO, "upload: registry answered %ld without a Location",
				    resp->status);
	n = bp_http__resolve(resp->url, resp->location);
	if (!n)
		return bp_error_set(BP_EPROTO, "upload: Location \"%.200s\" is not a URL",
				    resp->location);
	free(*loc);
	*loc = n;
	return 0;
}

/* "0-1023" or "bytes=0-1023" → last byte 1023; -1 when absent or odd. */
int64_t bp_registry__range_end(const char *range)
{
	const char *dash;
	int64_t end;
	char buf[32];

	if (!range)
		return -1;
	if (bp_strprefix(range, "bytes="))
		range += 6;
	dash = strchr(range, '-');
	if (!dash || strlen(dash + 1) >= sizeof(buf))
		return -1;
	bp_strlcpy(buf, dash + 1, sizeof(buf));
	return bp_parse_int64(buf, 0, INT64_MAX, &end) == 0 ? end : -1;
}

/* The closing PUT's URL: loc with digest= added to its query. */
char *bp_registry__with_digest(const char *loc, const char *digest)
{
	char *enc = bp_urlencode(digest), *out;

	if (!enc)
		return NULL;
	out = bp_aprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", enc);
	free(enc);
	return out;
}

/* POST a new upload session; *loc gets its Location, *min its OCI-Chunk-Min-Length (or 0). */
static int upload_open(bp_registry *r, const char *repo, const char *scope, char **loc,
		       int64_t *min)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *url = bp_aprintf("%s/v2/%s/blobs/uploads/", r->base, repo);
	int err;

	*min = 0;
	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.method = "POST";
	req.url = url;
	if ((err = bp_registry__request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 202) {
		err = bp_registry__status_error(&resp, "upload start");
		goto done;
	}
	if ((err = bp_registry__next_location(&resp, loc)))
		goto done;
	if (resp.chunk_min_length &&
	    bp_parse_int64(resp.chunk_min_length, 1, INT64_MAX, min) != 0)
		*min = 0;
done:
	bp_http__response_release(&resp);
	free(url);
	return err;
}

/*
 * Ask where an interrupted upload stands (GET on its Location: 204 with
 * Range). *next gets the offset to continue from and *loc the newest
 * Location. BP_ENOTFOUND when the registry cannot say (404, as public ECR):
 * the caller starts the blob over.
 */
static int upload_status(bp_registry *r, const char *scope, char **loc, int64_t *next)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	int64_t end;
	int err;

	req.url = *loc;
	if ((err = bp_registry__request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 204 && resp.status != 200) {
		err = bp_error_set(BP_ENOTFOUND, "upload status: registry answered %ld",
				   resp.status);
		goto done;
	}
	/* distribution says 0-0 for both 0 and 1 byte stored: 0 is the safe reading */
	end = bp_registry__range_end(resp.range);
	*next = end > 0 ? end + 1 : 0;
	if (resp.location)
		err = bp_registry__next_location(&resp, loc);
done:
	bp_http__response_release(&resp);
	return err;
}

/* 1 when a failed PATCH or PUT may be resumed: a passing failure or a 416. */
static int resumable(int err, const bp_http_response *resp)
{
	return bp_retry__passing(err, err ? 0 : resp->status) || (!err && resp->status == 416);
}

/*
 * An error message without the URL it may start with ("http://...: what
 * happened"): an upload URL with its _state runs to hundreds of bytes, and
 * a retry message must say what happened.
 */
static const char *without_url(const char *msg)
{
	const char *rest = bp_strprefix(msg, "https://");
	const char *sep;

	if (!rest)
		rest = bp_strprefix(msg, "http://");
	if (!rest || !(sep = strstr(rest, ": ")))
		return msg;
	return sep + 2;
}

/* Wait before another try at an upload, saying why; 0 when no tries are left. */
static int upload_retry(bp_registry *r, const char *digest, int *tries, const char *why)
{
	char msg[512];
	double d, asked;

	if (*tries >= r->opts.retries)
		return 0;
	d = bp_retry__delay(NULL, *tries, &asked);
	(*tries)++;
	snprintf(msg, sizeof(msg), "retrying in %lds (attempt %d of %d): blob %.19s: %.300s",
		 bp_retry__whole_secs(d), *tries + 1, r->opts.retries + 1, digest, why);
	bp_retry__say(&r->retry, msg);
	bp_retry__sleep(&r->retry, d);
	return 1;
}

/*
 * Whether an upload status claims bytes past the end of what was sent
 * (sent: the end of the chunk in flight). Then the session is not what we
 * sent, and going on from there would leave a hole: the blob starts over
 * in a new session, and the message says why.
 */
static int upload_ahead(bp_registry *r, const char *digest, int64_t claimed, int64_t sent)
{
	char msg[200];

	if (claimed <= sent)
		return 0;
	snprintf(msg, sizeof(msg),
		 "blob %.19s: registry says the upload holds %lld bytes, but only "
		 "%lld were sent; starting the blob over",
		 digest, (long long)claimed, (long long)sent);
	if (r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	return 1;
}

/* The smallest chunk a "too large" answer may halve the chunk size to. */
#define CHUNK_FLOOR (64 * 1024)

/* 1 when the body was refused for its size: 413, or GHCR's 416 "request body too large". */
int bp_registry__too_large(const bp_http_response *resp)
{
	if (resp->status == 413)
		return 1;
	size_t i, n = resp->err_body.len;

	if (resp->status != 416)
		return 0;
	for (i = 0; i + 9 <= n; i++)
		if (memcmp(resp->err_body.ptr + i, "too large", 9) == 0)
			return 1;
	return 0;
}

/* 1 when a PATCH was refused as a method the registry does not do (Artifact Registry). */
int bp_registry__patch_refused(const bp_http_response *resp)
{
	return resp->status == 405 || resp->status == 404 ||
	       (resp->status == 400 && bp_registry__error_code_is(resp, "UNSUPPORTED"));
}

/* Remember that r refuses PATCH; say so once. */
static void learn_no_patch(bp_registry *r, long status)
{
	char msg[200];
	int say;

	pthread_mutex_lock(&r->lock);
	r->no_patch = 1;
	say = !r->said_no_patch;
	r->said_no_patch = 1;
	pthread_mutex_unlock(&r->lock);
	snprintf(msg, sizeof(msg),
		 "registry %s refuses chunked uploads (PATCH answered %ld): sending each blob "
		 "in one PUT", r->domain, status);
	if (say && r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	else
		bp_registry__dbg(r, "%s", msg);
}

/* Remember that r takes bodies of at most cap bytes; say so once. */
static void learn_cap(bp_registry *r, int64_t cap, long status)
{
	char msg[200];
	int say;

	pthread_mutex_lock(&r->lock);
	if (!r->body_cap || cap < r->body_cap)
		r->body_cap = cap;
	say = !r->said_cap;
	r->said_cap = 1;
	pthread_mutex_unlock(&r->lock);
	snprintf(msg, sizeof(msg),
		 "registry %s refused a request body as too large (%ld): sending chunks of at "
		 "most %lld bytes", r->domain, status, (long long)cap);
	if (say && r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	else
		bp_registry__dbg(r, "%s", msg);
}

/* What was learnt so far: *no_patch and *cap (0: none). */
static void learnt(bp_registry *r, int *no_patch, int64_t *cap)
{
	pthread_mutex_lock(&r->lock);
	*no_patch = r->no_patch;
	*cap = r->body_cap;
	pthread_mutex_unlock(&r->lock);
}

/* Half of n, not below CHUNK_FLOOR; 0 when n is already at the floor. */
static int64_t halved(int64_t n)
{
	if (n <= CHUNK_FLOOR)
		return 0;
	return n / 2 > CHUNK_FLOOR ? n / 2 : CHUNK_FLOOR;
}

/* ---- the state machine (see registry_upload.h) ---- */

static const char *const octet[] = { "Content-Type: application/octet-stream", NULL };

/* req's body: n bytes from from, out of a stream's chunk in hand or out of the file. */
static void set_body(bp_upload *u, bp_http_request *req, int64_t from, int64_t n)
{
	req->body_len = n;
	if (u->stream) {
		req->body = u->buf;
		return;
	}
	req->read_fn = fd_read;
	req->read_payload = &u->fb;
	u->fb.start = from;
	u->fb.base_done = from;
}

/* "first-last" of the chunk sent last. */
static void crange_of(const bp_upload *u, char *out, size_t cap)
{
	snprintf(out, cap, "%lld-%lld", (long long)u->off, (long long)(u->off + u->inflight - 1));
}

/* The newest Location, for a later run to go on from (a stream's bytes are gone by then). */
static void remember(bp_upload *u)
{
	if (!u->stream)
		bp_state__upload_put(u->r->domain, u->repo, u->digest, u->loc);
}

/* Chunk size and strategy for a new session of a file: its minimum and what was learnt. */
static void plan(bp_upload *u)
{
	int64_t cap;

	if (u->min > u->chunk) {
		bp_registry__dbg(u->r, "registry wants chunks of at least %lld bytes",
				 (long long)u->min);
		u->chunk = u->min;
	}
	learnt(u->r, &u->no_patch, &cap);
	if (cap > 0 && u->chunk > cap)
		u->chunk = cap;
	/* one PUT up to the single-PUT limit, whatever the chunk size (or a body cap) says */
	u->chunked = u->monolithic_max < 0 || u->size > u->monolithic_max || u->force_chunks ||
		     (cap > 0 && u->size > cap);
	if (u->chunked && u->no_patch)
		u->chunked = 0;
}

/* RESUME: an earlier run's session goes on from where the registry stands, if it can say. */
static int st_resume(bp_upload *u)
{
	int64_t at = -1;
	char msg[200];

	if (upload_status(u->r, u->scope, &u->loc, &at) == 0 && at > 0 && at < u->size) {
		snprintf(msg, sizeof(msg),
			 "blob %.19s: resuming the upload of an earlier run at "
			 "byte %lld of %lld",
			 u->digest, (long long)at, (long long)u->size);
		if (u->r->opts.retry_cb)
			u->r->opts.retry_cb(msg, u->r->opts.payload);
		u->min = 0;
		plan(u);
		u->chunked = 1;
		u->off = at;
		u->state = BP_UP_CHUNK;
		return 0;
	}
	bp_state__upload_drop(u->r->domain, u->repo, u->digest);
	bp_error_clear();
	u->state = BP_UP_OPEN;
	return 0;
}

/*
 * Whether this file's blob goes in one POST ?digest=: small enough for one
 * request, and a host known to store such a blob, or not known yet and no
 * other upload trying (then this one tries, and learns for the others).
 */
static int want_post(bp_upload *u)
{
	bp_registry *r = u->r;
	int64_t cap;
	int no_patch, yes = 0;

	if (u->stream || u->session || u->force_chunks || u->size <= 0 || u->monolithic_max < 0 ||
	    u->size > u->monolithic_max)
		return 0;
	learnt(r, &no_patch, &cap);
	if (cap > 0 && u->size > cap)
		return 0;
	pthread_mutex_lock(&r->lock);
	if (r->known.post_stores == 1) {
		yes = 1;
	} else if (r->known.post_stores < 0 && !r->post_trying && u->size <= BP_POST_TRY_MAX) {
		r->post_trying = 1;
		u->post_try = 1;
		yes = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return yes;
}

/* OPEN: a new session (the blob starts over), or the one a refused mount opened. */
static int st_open(bp_upload *u)
{
	int err;

	if (want_post(u)) {
		u->state = BP_UP_POST;
		return 0;
	}
	if (u->session) {
		free(u->loc);
		if (!(u->loc = bp_strdup(u->session)))
			return bp_error_set(BP_ENOMEM, "out of memory");
		u->session = NULL;
		u->min = 0;
	} else if ((err = upload_open(u->r, u->repo, u->scope, &u->loc, &u->min))) {
		return err;
	}
	u->off = 0;
	if (u->stream) {
		if (u->min > u->chunk)
			u->chunk = u->min;
		if (!u->buf && !(u->buf = malloc((size_t)u->chunk)))
			return bp_error_set(BP_ENOMEM, "out of memory");
		u->state = BP_UP_CHUNK;
		return 0;
	}
	plan(u);
	if (u->chunked)
		remember(u);
	u->state = u->chunked ? BP_UP_CHUNK : BP_UP_CLOSE;
	return 0;
}

/* PATCH n bytes and classify the answer; see registry_upload.h. */
bp_chunk_outcome bp_upload__send_chunk(bp_upload *u, int64_t n, bp_http_response *resp, int *err)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	char hdr_cr[96];
	const char *hdrs[3] = { octet[0], hdr_cr, NULL };

	u->inflight = n;
	snprintf(hdr_cr, sizeof(hdr_cr), "Content-Range: %lld-%lld", (long long)u->off,
		 (long long)(u->off + n - 1));
	req.method = "PATCH";
	req.url = u->loc;
	req.headers = hdrs;
	set_body(u, &req, u->off, n);
	*err = bp_registry__request(u->r, u->scope, &req, resp, u->stream ? NULL : &u->fb);
	if (*err)
		return resumable(*err, resp) ? BP_CHUNK_PASSING : BP_CHUNK_FAILED;
	if (resp->status == 202 || resp->status == 201 || resp->status == 204) {
		/* ECR answers a PATCH with 201 and a Range that stops advancing: believe the 201 */
		if (resp->range && resp->status == 202 &&
		    bp_registry__range_end(resp->range) != u->off + n - 1)
			return BP_CHUNK_BAD_RANGE;
		return BP_CHUNK_TAKEN;
	}
	if (u->off == 0 && bp_registry__patch_refused(resp))
		return BP_CHUNK_REFUSED;
	if (bp_registry__too_large(resp))
		return BP_CHUNK_TOO_LARGE;
	return resumable(0, resp) ? BP_CHUNK_PASSING : BP_CHUNK_FAILED;
}

/* TAKEN: on after the chunk, at the newest Location. */
static int on_taken(bp_upload *u, const bp_http_response *resp)
{
	int err;

	if (resp->location && (err = bp_registry__next_location(resp, &u->loc)))
		return err;
	u->off += u->inflight;
	if (u->stream) {
		u->len = 0;
		if (u->progress)
			u->progress(u->off, -1, u->payload);
	}
	/* the newest Location (its _state) is what a later run must use */
	remember(u);
	u->state = BP_UP_CHUNK;
	return 0;
}

/* REFUSED: no PATCH at all (Artifact Registry); the session takes the blob in one PUT. */
static int on_refused(bp_upload *u, const bp_http_response *resp)
{
	char why[300];

	if (u->stream) {
		/* the digest is known only at the end: no single PUT can replace the PATCH */
		bp_registry__status_error(resp, "PATCH");
		bp_strlcpy(why, bp_error_last(), sizeof(why));
		return bp_error_set(BP_ERROR,
				    "upload: registry %s refuses chunked uploads (%s); a "
				    "layer compressed on the fly cannot be sent in one PUT",
				    u->r->domain, why);
	}
	if (u->force_chunks)
		return bp_error_set(BP_ERROR,
				    "blob %s: registry refuses both chunks (PATCH answered "
				    "%ld) and a body of %lld bytes in one PUT",
				    u->digest, resp->status, (long long)u->size);
	learn_no_patch(u->r, resp->status);
	u->no_patch = 1;
	u->chunked = 0;
	u->state = BP_UP_CLOSE;
	return 0;
}

/* TOO_LARGE: a cap on the body (GHCR); smaller chunks from where the registry stands. */
static int on_too_large(bp_upload *u, const char *method, const bp_http_response *resp)
{
	char why[300], cr[64];
	int64_t half;

	if (u->stream) {
		/* its chunk is the buffer the caller sized */
		crange_of(u, cr, sizeof(cr));
		bp_registry__status_error(resp, method);
		bp_strlcpy(why, bp_error_last(), sizeof(why));
		return bp_error_set(BP_ERROR,
				    "upload chunk %s: registry %s refused the body as too "
				    "large (%s); try a smaller --chunk-size",
				    cr, u->r->domain, why);
	}
	if (!(half = halved(u->inflight)))
		return bp_registry__status_error(resp, "upload chunk");
	u->chunk = half;
	learn_cap(u->r, u->chunk, resp->status);
	u->shrunk = 1;
	u->state = BP_UP_STATUS;
	return 0;
}

/* PASSING: after a wait, ask where the session stands. */
static int on_passing(bp_upload *u, int err, const bp_http_response *resp)
{
	const char *what = "failed";
	char why[300], cr[64];

	if (err)
		what = without_url(bp_error_last());
	else if (resp->status == 416)
		what = "range refused";
	crange_of(u, cr, sizeof(cr));
	snprintf(why, sizeof(why), "chunk %s: %s", cr, what);
	if (!upload_retry(u->r, u->stream ? "(streamed)" : u->digest, &u->tries, why))
		return err ? err : bp_registry__status_error(resp, "upload chunk");
	u->shrunk = 0;
	u->state = BP_UP_STATUS;
	return 0;
}

/* CHUNK when a stream ends: its digest is known; bytes not as promised never commit. */
static int seal(bp_upload *u)
{
	int err;

	if (u->digest) {
		/* sealed before a closing PUT that failed in passing */
		u->state = BP_UP_CLOSE;
		return 0;
	}
	if ((err = bp_hasher_final(u->hash, u->sealed)))
		return err;
	u->digest = u->sealed;
	if (u->expect[0] && !bp_digest_equal(u->expect, u->digest))
		return bp_error_set(BP_EINTEGRITY, "blob %s: the bytes hash to %s", u->expect,
				    u->digest);
	u->state = BP_UP_CLOSE;
	return 0;
}

/* CHUNK: send the next chunk and go where its outcome leads. */
static int st_chunk(bp_upload *u)
{
	bp_http_response resp = { 0 };
	int64_t n = u->size - u->off < u->chunk ? u->size - u->off : u->chunk;
	char cr[64];
	int err = 0;

	if (u->stream) {
		/* the chunk in hand when the stream ends goes with the closing PUT */
		if (u->closing)
			return seal(u);
		if (u->len < (size_t)u->chunk)
			return 0; /* waits for bytes */
		n = (int64_t)u->len;
	} else if (u->size - u->off <= u->chunk) {
		/* the rest goes with the closing PUT */
		u->state = BP_UP_CLOSE;
		return 0;
	}
	switch (bp_upload__send_chunk(u, n, &resp, &err)) {
	case BP_CHUNK_TAKEN:
		err = on_taken(u, &resp);
		break;
	case BP_CHUNK_BAD_RANGE:
		crange_of(u, cr, sizeof(cr));
		err = bp_error_set(BP_EPROTO, "upload chunk %s: registry says it holds bytes %s",
				   cr, resp.range);
		break;
	case BP_CHUNK_REFUSED:
		err = on_refused(u, &resp);
		break;
	case BP_CHUNK_TOO_LARGE:
		err = on_too_large(u, "PATCH", &resp);
		break;
	case BP_CHUNK_PASSING:
		err = on_passing(u, err, &resp);
		break;
	case BP_CHUNK_FAILED:
		if (!err)
			err = bp_registry__status_error(&resp, "upload chunk");
		break;
	}
	bp_http__response_release(&resp);
	return err;
}

/* STATUS: where the session stands decides where the next chunk starts. */
static int st_status(bp_upload *u)
{
	int64_t at = 0, end = u->off + u->inflight;
	int err = upload_status(u->r, u->scope, &u->loc, &at);

	if (u->stream) {
		/* only this chunk is still in hand: the registry must hold all before it */
		if (!err && at != u->off)
			err = bp_error_set(BP_EPROTO,
					   "upload: registry holds %lld bytes, expected "
					   "%lld; the layer must be sent again",
					   (long long)at, (long long)u->off);
		if (!err)
			u->state = BP_UP_CHUNK;
		return err;
	}
	u->state = BP_UP_OPEN;
	if (err) {
		if (!u->shrunk)
			bp_registry__dbg(u->r,
					 "blob %s: the registry cannot say where the upload "
					 "stands; starting it over",
					 u->digest);
		return 0;
	}
	if (upload_ahead(u->r, u->digest, at, end))
		return 0;
	u->off = at;
	if (!u->shrunk)
		bp_registry__dbg(u->r, "blob %s: resuming the upload at byte %lld", u->digest,
				 (long long)u->off);
	u->state = BP_UP_CHUNK;
	return 0;
}

/* DONE: the registry has the blob; a saved session is of no more use. */
static int verified(bp_upload *u)
{
	if (!u->stream) {
		bp_state__upload_drop(u->r->domain, u->repo, u->digest);
		if (u->progress)
			u->progress(u->size, u->size, u->payload);
	}
	u->state = BP_UP_DONE;
	return 0;
}

/*
 * CLOSE answered other than 201: one PUT too large becomes chunks in a new
 * session, the rest of a chunked upload too large smaller chunks; after a
 * passing failure the blob may be there already, else, after a wait, a
 * chunked upload asks where it stands and the blob in one PUT starts over.
 */
static int close_failed(bp_upload *u, int err, const bp_http_response *resp, int64_t rest)
{
	int64_t have, half, base = u->size < u->chunk ? u->size : u->chunk;
	char why[300];

	if (!err && !u->chunked && bp_registry__too_large(resp)) {
		if (u->no_patch)
			return bp_error_set(BP_ERROR,
					    "blob %s: registry refuses chunked uploads and "
					    "a body of %lld bytes in one PUT (answered %ld)",
					    u->digest, (long long)u->size, resp->status);
		if (!(half = halved(base)))
			return bp_registry__status_error(resp, u->digest);
		u->chunk = half;
		u->force_chunks = 1;
		learn_cap(u->r, u->chunk, resp->status);
		u->state = BP_UP_OPEN;
		return 0;
	}
	if (!err && u->chunked && rest > 0 && bp_registry__too_large(resp))
		return on_too_large(u, "PUT", resp);
	if (!resumable(err, resp))
		return err ? err : bp_registry__status_error(resp, u->digest);
	snprintf(why, sizeof(why), "closing PUT: %s",
		 err ? without_url(bp_error_last()) : "failed");
	/* the PUT may have landed before the connection broke */
	if (bp_registry__blob_exists(u->r, u->repo, u->digest, &have) == 0 &&
	    have == (u->stream ? u->off + rest : u->size)) {
		if (u->stream)
			u->off += rest;
		return verified(u);
	}
	if (!upload_retry(u->r, u->digest, &u->tries, why))
		return err ? err : bp_registry__status_error(resp, u->digest);
	u->shrunk = 0;
	u->state = u->chunked ? BP_UP_STATUS : BP_UP_OPEN;
	return 0;
}

/*
 * CLOSE: PUT ?digest=, with the whole blob when it was not sent in chunks,
 * else with the rest (a stream: the chunk in hand) and its Content-Range.
 */
static int st_close(bp_upload *u)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *put = bp_registry__with_digest(u->loc, u->digest), hdr_cr[96];
	const char *hdrs[3] = { octet[0], hdr_cr, NULL };
	int64_t rest = u->stream ? (int64_t)u->len : u->chunked ? u->size - u->off : u->size;
	int err;

	if (!put)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.method = "PUT";
	req.url = put;
	u->inflight = u->chunked ? rest : 0;
	if (rest > 0) {
		req.headers = octet;
		if (u->chunked) {
			snprintf(hdr_cr, sizeof(hdr_cr), "Content-Range: %lld-%lld",
				 (long long)u->off, (long long)(u->off + rest - 1));
			req.headers = hdrs;
		}
		set_body(u, &req, u->chunked ? u->off : 0, rest);
	}
	err = bp_registry__request(u->r, u->scope, &req, &resp, req.read_fn ? &u->fb : NULL);
	if (err || resp.status != 201) {
		err = close_failed(u, err, &resp, rest);
	} else if (resp.content_digest && !bp_digest_equal(resp.content_digest, u->digest)) {
		err = bp_error_set(BP_EINTEGRITY, "blob %s: registry stored it as %.80s", u->digest,
				   resp.content_digest);
	} else {
		if (u->stream) {
			u->off += rest;
			u->len = 0;
			if (u->progress)
				u->progress(u->off, -1, u->payload);
		}
		err = verified(u);
	}
	bp_http__response_release(&resp);
	free(put);
	return err;
}

/* See registry_int.h. */
void bp_registry__learn_post(bp_registry *r, int stores)
{
	pthread_mutex_lock(&r->lock);
	if (r->known.post_stores != stores) {
		r->known.post_stores = stores;
		bp_state__host_put(r->host, &r->known);
	}
	r->post_trying = 0;
	pthread_mutex_unlock(&r->lock);
	bp_registry__dbg(r, "registry %s %s a blob sent in one POST ?digest=%s", r->domain,
			 stores ? "stores" : "does not store",
			 stores ? "" : ": POST and PUT from now on");
}

/* The try of POST ?digest= ended without an answer about it: another upload may try. */
static void post_untried(bp_upload *u)
{
	if (!u->post_try)
		return;
	pthread_mutex_lock(&u->r->lock);
	u->r->post_trying = 0;
	pthread_mutex_unlock(&u->r->lock);
	u->post_try = 0;
}

/* What a POST ?digest= came to, for the host: learnt once, by the upload that tried. */
static void post_learnt(bp_upload *u, int stores)
{
	if (u->post_try || stores == 0)
		bp_registry__learn_post(u->r, stores);
	u->post_try = 0;
}

/*
 * POST: the whole blob in POST ?digest=, one request where the registry
 * stores it (201). One that drops the body and opens a session (202, as
 * distribution 2.8.2 does) gets the blob again in a PUT to that session.
 */
static int st_post(bp_upload *u)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *base = bp_aprintf("%s/v2/%s/blobs/uploads/", u->r->base, u->repo);
	char *url = base ? bp_registry__with_digest(base, u->digest) : NULL;
	int err;

	free(base);
	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.method = "POST";
	req.url = url;
	req.headers = octet;
	set_body(u, &req, 0, u->size);
	err = bp_registry__request(u->r, u->scope, &req, &resp, &u->fb);
	if (err || resp.status == 401 || resp.status == 403) {
		/* not an answer about POST ?digest=: another upload may try */
		post_untried(u);
		if (!err)
			err = bp_registry__status_error(&resp, "upload start");
	} else if (resp.status == 201 && resp.content_digest &&
		   !bp_digest_equal(resp.content_digest, u->digest)) {
		post_learnt(u, 0);
		err = bp_error_set(BP_EINTEGRITY, "blob %s: registry stored it as %.80s", u->digest,
				   resp.content_digest);
	} else if (resp.status == 201) {
		u->post_trusted = resp.content_digest != NULL;
		/* the first 201 of a host is checked; one without our digest always */
		u->state = BP_UP_VERIFY;
		if (u->post_trusted && !u->post_try) {
			pthread_mutex_lock(&u->r->lock);
			u->r->post_trusted++;
			pthread_mutex_unlock(&u->r->lock);
			err = verified(u);
		}
	} else if (resp.status == 202 && resp.location &&
		   bp_registry__next_location(&resp, &u->loc) == 0) {
		/* the body was dropped: the session it opened takes the blob in one PUT */
		post_learnt(u, 0);
		u->off = 0;
		u->min = 0;
		plan(u);
		u->state = u->chunked ? BP_UP_CHUNK : BP_UP_CLOSE;
	} else {
		bp_registry__dbg(u->r, "POST ?digest= answered %ld", resp.status);
		bp_error_clear();
		post_learnt(u, 0);
		u->state = BP_UP_OPEN;
	}
	bp_http__response_release(&resp);
	free(url);
	return err;
}

/* VERIFY: a 201 to POST ?digest= is believed once the blob is seen there. */
static int st_verify(bp_upload *u)
{
	int64_t have = -1;

	if (bp_registry__blob_exists(u->r, u->repo, u->digest, &have) == 0 && have == u->size) {
		post_learnt(u, u->post_trusted);
		return verified(u);
	}
	bp_error_clear();
	if (u->r->opts.retry_cb) {
		char msg[300];

		snprintf(msg, sizeof(msg),
			 "registry %s answered 201 to a blob sent in one POST but does not hold "
			 "it: sending blobs in POST and PUT",
			 u->r->domain);
		u->r->opts.retry_cb(msg, u->r->opts.payload);
	}
	post_learnt(u, 0);
	u->state = BP_UP_OPEN;
	return 0;
}

/* What each state does; DONE and FAILED do nothing. */
static int (*const handlers[])(bp_upload *) = {
	[BP_UP_RESUME] = st_resume, [BP_UP_OPEN] = st_open,   [BP_UP_CHUNK] = st_chunk,
	[BP_UP_STATUS] = st_status, [BP_UP_CLOSE] = st_close, [BP_UP_POST] = st_post,
	[BP_UP_VERIFY] = st_verify,
};

/* One transition; see registry_upload.h. */
int bp_upload__step(bp_upload *u)
{
	int err;

	if ((size_t)u->state >= sizeof(handlers) / sizeof(handlers[0]) || !handlers[u->state])
		return 0;
	if ((err = handlers[u->state](u)))
		u->state = BP_UP_FAILED;
	return err;
}

/* 1 when u can go on by itself: not at an end, and not a stream waiting for a full chunk. */
static int runnable(const bp_upload *u)
{
	if (u->state == BP_UP_DONE || u->state == BP_UP_FAILED)
		return 0;
	if (u->stream && u->state == BP_UP_CHUNK)
		return u->closing || u->len == (size_t)u->chunk;
	return 1;
}

/* Step until an end, or until a stream waits for bytes. */
int bp_upload__run(bp_upload *u)
{
	int err;

	while (runnable(u))
		if ((err = bp_upload__step(u)))
			return err;
	return 0;
}

/* Scope and repository of any upload. */
static int init(bp_upload *u, bp_registry *r, const char *repo)
{
	memset(u, 0, sizeof(*u));
	u->r = r;
	u->size = -1;
	u->state = BP_UP_OPEN;
	if (!(u->repo = bp_strdup(repo)) || !(u->scope = bp_registry__scope(r, repo, "pull,push")))
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

/* A file's upload; see registry_upload.h. */
int bp_upload__init_fd(bp_upload *u, bp_registry *r, const char *repo, const char *digest,
		       int64_t size, int fd, const bp_upload_options *o)
{
	int err = init(u, r, repo);

	if (err)
		return err;
	u->digest = digest;
	u->size = size;
	u->fb = (bp_fd_body){ fd, o->offset, 0, 0, size, 0, o->progress, o->payload };
	u->chunk = o->chunk_size > 0 ? o->chunk_size : 16 * 1024 * 1024;
	u->monolithic_max = o->monolithic_max;
	u->session = o->session;
	u->progress = o->progress;
	u->payload = o->payload;
	/* a session an earlier run left: go on from where the registry stands */
	if ((u->loc = bp_state__upload_get(r->domain, repo, digest)))
		u->state = BP_UP_RESUME;
	return 0;
}

/* A stream's upload; see registry_upload.h. */
int bp_upload__init_stream(bp_upload *u, bp_registry *r, const char *repo, int64_t chunk_size,
			   bp_registry_progress_fn progress, void *payload)
{
	int err = init(u, r, repo);

	if (err)
		return err;
	u->stream = 1;
	u->chunked = 1;
	u->chunk = chunk_size > 0 ? chunk_size : 8 * 1024 * 1024;
	u->progress = progress;
	u->payload = payload;
	return bp_hasher_new(&u->hash);
}

/* Free what u holds. */
void bp_upload__release(bp_upload *u)
{
	post_untried(u);
	bp_hasher_free(u->hash);
	free(u->repo);
	free(u->scope);
	free(u->loc);
	free(u->buf);
}

/*
 * Upload a blob: POST, then one PUT, or PATCH chunks and a closing PUT. A
 * chunk cut off is not sent again from the start: the upload's status says
 * how far the registry got, and the next PATCH goes on from there. A
 * registry that cannot say gets the blob again in a new session.
 */
int bp_registry__blob_upload(bp_registry *r, const char *repo, const char *digest, int64_t size,
			     int fd, const bp_upload_options *o)
{
	bp_upload u;
	int err = bp_upload__init_fd(&u, r, repo, digest, size, fd, o);

	if (!err)
		err = bp_upload__run(&u);
	bp_upload__release(&u);
	return err;
}

/* ---- uploads of bytes produced on the fly (compressed layers) ---- */

/* Start a session for a blob whose digest is known only at the end. */
int bp_registry__upload_begin(bp_registry *r, const char *repo, int64_t chunk_size,
			      bp_registry_progress_fn progress, void *payload, bp_upload **out)
{
	bp_upload *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return bp_error_set(BP_ENOMEM, "out of memory");
	if ((err = bp_upload__init_stream(u, r, repo, chunk_size, progress, payload)) ||
	    (err = bp_upload__step(u))) {
		bp_registry__upload_free(u);
		return err;
	}
	*out = u;
	return 0;
}

/*
 * A stream's chunks go out on a thread of their own: the caller fills the
 * next chunk while the sender PATCHes the one before, so compressing and
 * uploading overlap. Two buffers, each a whole chunk: u->buf is the
 * sender's while it is busy (the chunk in flight, kept until the
 * registry has it, so a cut chunk is sent again), fill the caller's. The
 * state machine runs on one thread at a time: the sender's while busy,
 * else the caller's. An error on the sender comes back, message and
 * all, at the caller's next hand-over.
 */
struct bp_upload_sender {
	pthread_t tid;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int busy; /* under lock: the sender runs the machine on u->buf */
	int quit; /* under lock */
	int err;  /* the sender's failure, with its message */
	char msg[1024];
	char *fill; /* the caller's chunk, filling */
	size_t len;
};

static void *sender_main(void *arg)
{
	bp_upload *u = arg;
	struct bp_upload_sender *s = u->sender;
	int err;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->busy && !s->quit)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->quit)
			break;
		pthread_mutex_unlock(&s->lock);
		err = bp_upload__run(u);
		pthread_mutex_lock(&s->lock);
		if (err) {
			s->err = err;
			bp_strlcpy(s->msg, bp_error_last(), sizeof(s->msg));
		}
		s->busy = 0;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Wait until the sender is idle: 0, or its failure (set on this thread). */
static int sender_idle(struct bp_upload_sender *s)
{
	int err;

	pthread_mutex_lock(&s->lock);
	while (s->busy)
		pthread_cond_wait(&s->cond, &s->lock);
	err = s->err;
	pthread_mutex_unlock(&s->lock);
	return err ? bp_error_set(err, "%s", s->msg) : 0;
}

static void sender_stop(bp_upload *u)
{
	struct bp_upload_sender *s = u->sender;

	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->quit = 1;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->tid, NULL);
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->fill);
	free(s);
	u->sender = NULL;
}

static int sender_start(bp_upload *u)
{
	struct bp_upload_sender *s = calloc(1, sizeof(*s));

	if (!s || !(s->fill = malloc((size_t)u->chunk))) {
		free(s);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	u->sender = s;
	if (pthread_create(&s->tid, NULL, sender_main, u) != 0) {
		sender_stop(u);
		return bp_error_set(BP_ERROR, "cannot start the upload thread");
	}
	s->started = 1;
	return 0;
}

/* The caller's full chunk becomes the one in flight; the sender PATCHes it. */
static int hand_over(bp_upload *u)
{
	struct bp_upload_sender *s = u->sender;
	char *tmp;
	int err;

	if ((err = sender_idle(s)))
		return err;
	tmp = u->buf;
	u->buf = s->fill;
	u->len = s->len;
	s->fill = tmp;
	s->len = 0;
	pthread_mutex_lock(&s->lock);
	s->busy = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Feed bytes; each whole chunk is PATCHed by the sender while the next fills. */
int bp_registry__upload_write(bp_upload *u, const void *data, size_t len)
{
	const char *p = data;
	int err;

	/* once the sender runs, its failures come back at the hand-over */
	if (!u->sender) {
		if (u->state == BP_UP_FAILED || u->state == BP_UP_DONE)
			return bp_error_set(BP_ERROR, "upload already failed");
		if ((err = sender_start(u)))
			return err;
	}
	bp_hasher_update(u->hash, data, len);
	while (len) {
		struct bp_upload_sender *s = u->sender;
		size_t room, n;

		/* a full chunk goes once more bytes come: the last one goes with the closing PUT */
		if (s->len == (size_t)u->chunk && (err = hand_over(u)))
			return err;
		room = (size_t)u->chunk - s->len;
		n = room < len ? room : len;
		memcpy(s->fill + s->len, p, n);
		s->len += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* The digest the bytes must hash to: finish refuses to commit others. */
void bp_registry__upload_expect(bp_upload *u, const char *digest)
{
	bp_strlcpy(u->expect, digest, sizeof(u->expect));
}

/* Send the rest and close the upload with its digest, on the caller's thread. */
int bp_registry__upload_finish(bp_upload *u, char digest[BP_DIGEST_MAX], int64_t *size)
{
	struct bp_upload_sender *s = u->sender;
	int err;

	if (s && (err = sender_idle(s)))
		return err;
	if (u->state == BP_UP_FAILED || u->state == BP_UP_DONE)
		return bp_error_set(BP_ERROR, "upload already failed");
	if (s) {
		char *tmp = u->buf;

		u->buf = s->fill;
		u->len = s->len;
		s->fill = tmp;
		s->len = 0;
	}
	u->closing = 1;
	err = bp_upload__run(u);
	if (u->digest) {
		bp_strlcpy(digest, u->digest, BP_DIGEST_MAX);
		*size = u->off;
	}
	return err;
}

/* Free u; an upload not finished is cancelled (DELETE), quietly. */
void bp_registry__upload_free(bp_upload *u)
{
	if (!u)
		return;
	sender_stop(u);
	if (u->loc && u->state != BP_UP_DONE) {
		bp_http_request req = BP_HTTP_REQUEST_INIT;
		bp_http_response resp = { 0 };
		char msg[1024];
		int code = bp_error_last_code();

		/* a courtesy: whatever it meets, the error that led here stays the error */
		bp_strlcpy(msg, bp_error_last(), sizeof(msg));
		req.method = "DELETE";
		req.url = u->loc;
		bp_registry__request(u->r, u->scope, &req, &resp, NULL);
		bp_http__response_release(&resp);
		if (code)
			bp_error_set(code, "%s", msg);
		else
			bp_error_clear();
	}
	bp_upload__release(u);
	free(u);
}
