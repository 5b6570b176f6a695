/* SPDX-License-Identifier: Apache-2.0 */
/* Blob uploads: from a file (digest known), or streamed (digest known at the end). */
#include "registry_int.h"
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
	return err ? err == BP_ENET : bp_registry__retriable(resp->status) || resp->status == 416;
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
	d = bp_registry__retry_delay(NULL, *tries, &asked);
	(*tries)++;
	snprintf(msg, sizeof(msg), "retrying in %lds (attempt %d of %d): blob %.19s: %.300s",
		 bp_registry__whole_secs(d), *tries + 1, r->opts.retries + 1, digest, why);
	if (r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	bp_registry__sleep(r, d);
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

/*
 * Upload a blob: POST, then one PUT, or PATCH chunks and a closing PUT. A
 * chunk cut off is not sent again from the start: the upload's status says
 * how far the registry got, and the next PATCH goes on from there. A
 * registry that cannot say gets the blob again in a new session.
 */
int bp_registry__blob_upload(bp_registry *r, const char *repo, const char *digest, int64_t size,
			     int fd, const bp_upload_options *o)
{
	static const char *const octet[] = { "Content-Type: application/octet-stream", NULL };
	bp_http_request req;
	bp_http_response resp = { 0 };
	char *scope = bp_registry__scope(r, repo, "pull,push"), *loc = NULL, *put = NULL;
	char crange[64], hdr_cr[96], why[300];
	const char *hdrs[3];
	bp_fd_body fb = { fd, o->offset, 0, 0, size, 0, o->progress, o->payload };
	int64_t chunk = o->chunk_size > 0 ? o->chunk_size : 16 * 1024 * 1024, off, min, cap, half;
	int64_t resume_off = -1;
	int chunked, no_patch, force_chunks = 0, tries = 0, session_used = 0, err;

	if (!scope)
		return bp_error_set(BP_ENOMEM, "out of memory");
	/* a session an earlier run left: go on from where the registry stands */
	if ((loc = bp_state__upload_get(r->domain, repo, digest))) {
		if (upload_status(r, scope, &loc, &resume_off) == 0 && resume_off > 0 &&
		    resume_off < size) {
			char msg[200];

			snprintf(msg, sizeof(msg),
				 "blob %.19s: resuming the upload of an earlier run at "
				 "byte %lld of %lld",
				 digest, (long long)resume_off, (long long)size);
			if (r->opts.retry_cb)
				r->opts.retry_cb(msg, r->opts.payload);
			min = 0;
			goto resume;
		}
		bp_state__upload_drop(r->domain, repo, digest);
		bp_error_clear();
		resume_off = -1;
	}
restart:
	resume_off = -1;
	if (o->session && !session_used) {
		/* the session a refused mount opened (202) takes this upload */
		session_used = 1;
		free(loc);
		if (!(loc = bp_strdup(o->session))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
		min = 0;
	} else if ((err = upload_open(r, repo, scope, &loc, &min))) {
		goto done;
	}
resume:
	if (min > chunk) {
		bp_registry__dbg(r, "registry wants chunks of at least %lld bytes", (long long)min);
		chunk = min;
	}
	learnt(r, &no_patch, &cap);
	if (cap > 0 && chunk > cap)
		chunk = cap;
	/* one PUT for small blobs; chunks for anything larger than a chunk */
	chunked = o->monolithic_max < 0 || size > o->monolithic_max || size > chunk ||
		  force_chunks;
	if (chunked && no_patch)
		chunked = 0;
	off = 0;
	if (resume_off > 0) {
		chunked = 1;
		off = resume_off;
	} else if (chunked) {
		bp_state__upload_put(r->domain, repo, digest, loc);
	}
	while (chunked && off < size) {
		int64_t n = size - off < chunk ? size - off : chunk, end;

		snprintf(crange, sizeof(crange), "%lld-%lld", (long long)off,
			 (long long)(off + n - 1));
		snprintf(hdr_cr, sizeof(hdr_cr), "Content-Range: %s", crange);
		hdrs[0] = octet[0];
		hdrs[1] = hdr_cr;
		hdrs[2] = NULL;
		memset(&req, 0, sizeof(req));
		req.method = "PATCH";
		req.url = loc;
		req.headers = hdrs;
		req.body_len = n;
		req.read_fn = fd_read;
		req.read_payload = &fb;
		fb.start = off;
		fb.base_done = off;
		err = bp_registry__request(r, scope, &req, &resp, &fb);
		if (!err && off == 0 && bp_registry__patch_refused(&resp)) {
			/* Artifact Registry style: no PATCH at all; the session takes one PUT */
			if (force_chunks) {
				err = bp_error_set(
					BP_ERROR,
					"blob %s: registry refuses both chunks "
					"(PATCH answered %ld) and a body of %lld bytes in "
					"one PUT",
					digest, resp.status, (long long)size);
				goto done;
			}
			learn_no_patch(r, resp.status);
			no_patch = 1;
			chunked = 0;
			break;
		}
		if (!err && bp_registry__too_large(&resp)) {
			/* GHCR style: a cap on the body; smaller chunks from where the registry
			 * stands */
			if (!(half = halved(n))) {
				err = bp_registry__status_error(&resp, "upload chunk");
				goto done;
			}
			chunk = half;
			learn_cap(r, chunk, resp.status);
			end = off + n;
			if (upload_status(r, scope, &loc, &off) != 0 ||
			    upload_ahead(r, digest, off, end))
				goto restart;
			continue;
		}
		if (err || (resp.status != 202 && resp.status != 201 && resp.status != 204)) {
			if (!resumable(err, &resp)) {
				if (!err)
					err = bp_registry__status_error(&resp, "upload chunk");
				goto done;
			}
			snprintf(why, sizeof(why), "chunk %s: %s", crange,
				 err ? without_url(bp_error_last())
				     : resp.status == 416 ? "range refused" : "failed");
			if (!upload_retry(r, digest, &tries, why)) {
				if (!err)
					err = bp_registry__status_error(&resp, "upload chunk");
				goto done;
			}
			end = off + n;
			if (upload_status(r, scope, &loc, &off) != 0) {
				bp_registry__dbg(
					r,
					"blob %s: the registry cannot say where the upload stands; "
					"starting it over",
					digest);
				goto restart;
			}
			if (upload_ahead(r, digest, off, end))
				goto restart;
			bp_registry__dbg(r, "blob %s: resuming the upload at byte %lld", digest,
					 (long long)off);
			continue;
		}
		/* ECR answers a PATCH with 201 and a Range that stops advancing: believe the 201 */
		end = bp_registry__range_end(resp.range);
		if (resp.range && resp.status == 202 && end != off + n - 1) {
			err = bp_error_set(BP_EPROTO,
					   "upload chunk %s: registry says it holds bytes %s",
					   crange, resp.range);
			goto done;
		}
		if (resp.location && (err = bp_registry__next_location(&resp, &loc)))
			goto done;
		off += n;
		/* the newest Location (its _state) is what a later run must use */
		bp_state__upload_put(r->domain, repo, digest, loc);
	}
	memset(&req, 0, sizeof(req));
	req.body_len = -1;
	if (!chunked) {
		req.headers = octet;
		req.body_len = size;
		req.read_fn = fd_read;
		req.read_payload = &fb;
		fb.start = 0;
		fb.base_done = 0;
	}
	free(put);
	if (!(put = bp_registry__with_digest(loc, digest))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "PUT";
	req.url = put;
	err = bp_registry__request(r, scope, &req, &resp, req.read_fn ? &fb : NULL);
	if (!err && !chunked && bp_registry__too_large(&resp)) {
		/* one PUT was too large: chunks smaller than the blob, in a new session */
		int64_t base = size < chunk ? size : chunk;

		if (no_patch || !(half = halved(base))) {
			if (no_patch)
				err = bp_error_set(
					BP_ERROR,
					"blob %s: registry refuses chunked uploads "
					"and a body of %lld bytes in one PUT (answered %ld)",
					digest, (long long)size, resp.status);
			else
				err = bp_registry__status_error(&resp, digest);
			goto done;
		}
		chunk = half;
		force_chunks = 1;
		learn_cap(r, chunk, resp.status);
		goto restart;
	}
	if (err || resp.status != 201) {
		int64_t have;

		if (!resumable(err, &resp)) {
			if (!err)
				err = bp_registry__status_error(&resp, digest);
			goto done;
		}
		snprintf(why, sizeof(why), "closing PUT: %s",
			 err ? without_url(bp_error_last()) : "failed");
		/* the PUT may have landed before the connection broke */
		if (bp_registry__blob_exists(r, repo, digest, &have) == 0 && have == size) {
			err = 0;
			goto verified;
		}
		if (!upload_retry(r, digest, &tries, why)) {
			if (!err)
				err = bp_registry__status_error(&resp, digest);
			goto done;
		}
		goto restart;
	}
	if (resp.content_digest && !bp_digest_equal(resp.content_digest, digest)) {
		err = bp_error_set(BP_EINTEGRITY, "blob %s: registry stored it as %.80s", digest,
				   resp.content_digest);
		goto done;
	}
verified:
	bp_state__upload_drop(r->domain, repo, digest);
	if (o->progress)
		o->progress(size, size, o->payload);
done:
	bp_http__response_release(&resp);
	free(scope);
	free(loc);
	free(put);
	return err;
}

/* ---- uploads of bytes produced on the fly (compressed layers) ---- */

struct bp_upload {
	bp_registry *r;
	char *scope;
	char *loc;
	bp_hasher *hash;
	char *buf;           /* the chunk being filled, kept until the registry has it */
	size_t len, cap;
	int64_t sent;        /* bytes the registry acknowledged */
	int tries;
	int failed;
	bp_registry_progress_fn progress;
	void *payload;
	char expect[BP_DIGEST_MAX]; /* the digest the bytes must have, or "" */
};

/* Start a session for a blob whose digest is known only at the end. */
int bp_registry__upload_begin(bp_registry *r, const char *repo, int64_t chunk_size,
			      bp_registry_progress_fn progress, void *payload, bp_upload **out)
{
	bp_upload *u = calloc(1, sizeof(*u));
	int64_t min;
	int err;

	if (!u)
		return bp_error_set(BP_ENOMEM, "out of memory");
	u->r = r;
	u->progress = progress;
	u->payload = payload;
	if (!(u->scope = bp_registry__scope(r, repo, "pull,push"))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto fail;
	}
	if ((err = bp_hasher_new(&u->hash)))
		goto fail;
	if ((err = upload_open(r, repo, u->scope, &u->loc, &min)))
		goto fail;
	u->cap = (size_t)(chunk_size > 0 ? chunk_size : 8 * 1024 * 1024);
	if (min > 0 && (size_t)min > u->cap)
		u->cap = (size_t)min;
	if (!(u->buf = malloc(u->cap))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto fail;
	}
	*out = u;
	return 0;
fail:
	bp_registry__upload_free(u);
	return err;
}

/* PATCH the buffered chunk; on a passing failure resume from where the registry stands. */
static int upload_flush(bp_upload *u)
{
	static const char *const octet = "Content-Type: application/octet-stream";
	bp_http_request req;
	bp_http_response resp = { 0 };
	char crange[64], hdr_cr[96], why[300];
	const char *hdrs[3] = { octet, hdr_cr, NULL };
	int64_t at;
	int err;

	while (u->len) {
		snprintf(crange, sizeof(crange), "%lld-%lld", (long long)u->sent,
			 (long long)(u->sent + (int64_t)u->len - 1));
		snprintf(hdr_cr, sizeof(hdr_cr), "Content-Range: %s", crange);
		memset(&req, 0, sizeof(req));
		req.method = "PATCH";
		req.url = u->loc;
		req.headers = hdrs;
		req.body = u->buf;
		req.body_len = (int64_t)u->len;
		err = bp_registry__request(u->r, u->scope, &req, &resp, NULL);
		if (!err && (resp.status == 202 || resp.status == 201 || resp.status == 204)) {
			int64_t end = bp_registry__range_end(resp.range);

			if (resp.range && resp.status == 202 &&
			    end != u->sent + (int64_t)u->len - 1) {
				err = bp_error_set(BP_EPROTO,
						   "upload chunk %s: registry says it holds "
						   "bytes %s",
						   crange, resp.range);
				goto done;
			}
			if (resp.location && (err = bp_registry__next_location(&resp, &u->loc)))
				goto done;
			u->sent += (int64_t)u->len;
			u->len = 0;
			if (u->progress)
				u->progress(u->sent, -1, u->payload);
			break;
		}
		if (!err && u->sent == 0 && bp_registry__patch_refused(&resp)) {
			/* the digest is known only at the end: no single PUT can replace the PATCH
			 */
			bp_registry__status_error(&resp, "PATCH");
			bp_strlcpy(why, bp_error_last(), sizeof(why));
			err = bp_error_set(
				BP_ERROR,
				"upload: registry %s refuses chunked uploads (%s); "
				"a layer compressed on the fly cannot be sent in one PUT",
				u->r->domain, why);
			goto done;
		}
		if (!err && bp_registry__too_large(&resp)) {
			bp_registry__status_error(&resp, "PATCH");
			bp_strlcpy(why, bp_error_last(), sizeof(why));
			err = bp_error_set(BP_ERROR,
					   "upload chunk %s: registry %s refused the body as "
					   "too large (%s); try a smaller --chunk-size",
					   crange, u->r->domain, why);
			goto done;
		}
		if (!resumable(err, &resp)) {
			if (!err)
				err = bp_registry__status_error(&resp, "upload chunk");
			goto done;
		}
		snprintf(why, sizeof(why), "chunk %s: %s", crange,
			 err ? without_url(bp_error_last())
			     : resp.status == 416 ? "range refused" : "failed");
		if (!upload_retry(u->r, "(streamed)", &u->tries, why)) {
			if (!err)
				err = bp_registry__status_error(&resp, "upload chunk");
			goto done;
		}
		/* only this chunk is still in hand: the registry must hold all before it */
		err = upload_status(u->r, u->scope, &u->loc, &at);
		if (!err && at != u->sent)
			err = bp_error_set(BP_EPROTO,
					   "upload: registry holds %lld bytes, expected %lld; "
					   "the layer must be sent again",
					   (long long)at, (long long)u->sent);
		if (err)
			goto done;
		bp_http__response_release(&resp);
	}
	err = 0;
done:
	bp_http__response_release(&resp);
	if (err)
		u->failed = 1;
	return err;
}

/* Feed bytes; whole chunks are PATCHed as they fill. */
int bp_registry__upload_write(bp_upload *u, const void *data, size_t len)
{
	const char *p = data;
	int err;

	if (u->failed)
		return bp_error_set(BP_ERROR, "upload already failed");
	bp_hasher_update(u->hash, data, len);
	while (len) {
		size_t n = u->cap - u->len < len ? u->cap - u->len : len;

		memcpy(u->buf + u->len, p, n);
		u->len += n;
		p += n;
		len -= n;
		if (u->len == u->cap && (err = upload_flush(u)))
			return err;
	}
	return 0;
}

/* The digest the bytes must hash to: finish refuses to commit others. */
void bp_registry__upload_expect(bp_upload *u, const char *digest)
{
	bp_strlcpy(u->expect, digest, sizeof(u->expect));
}

/* Send the rest and close the upload with its digest. */
int bp_registry__upload_finish(bp_upload *u, char digest[BP_DIGEST_MAX], int64_t *size)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *put = NULL;
	int err;

	if (u->failed)
		return bp_error_set(BP_ERROR, "upload already failed");
	if ((err = upload_flush(u)) || (err = bp_hasher_final(u->hash, digest)))
		goto done;
	*size = u->sent;
	/* bytes that are not what was promised are never committed */
	if (u->expect[0] && !bp_digest_equal(u->expect, digest)) {
		err = bp_error_set(BP_EINTEGRITY, "blob %s: the bytes hash to %s", u->expect,
				   digest);
		goto done;
	}
	if (!(put = bp_registry__with_digest(u->loc, digest))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "PUT";
	req.url = put;
	if ((err = bp_registry__request(u->r, u->scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 201) {
		err = bp_registry__status_error(&resp, digest);
		goto done;
	}
	if (resp.content_digest && !bp_digest_equal(resp.content_digest, digest))
		err = bp_error_set(BP_EINTEGRITY, "blob %s: registry stored it as %.80s", digest,
				   resp.content_digest);
done:
	/* finished: nothing to cancel */
	u->failed = err ? 1 : -1;
	bp_http__response_release(&resp);
	free(put);
	return err;
}

/* Free u; an upload not finished is cancelled (DELETE), quietly. */
void bp_registry__upload_free(bp_upload *u)
{
	if (!u)
		return;
	if (u->loc && u->failed != -1) {
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
	bp_hasher_free(u->hash);
	free(u->scope);
	free(u->loc);
	free(u->buf);
	free(u);
}
