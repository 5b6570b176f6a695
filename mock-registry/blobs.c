/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blobs and upload sessions, as distribution 2.8 answers them:
 * GET/HEAD/DELETE /v2/<name>/blobs/<digest>, POST .../blobs/uploads/
 * (session, monolithic ?digest=, mount ?mount=&from=), and PATCH, PUT,
 * GET, DELETE on .../blobs/uploads/<uuid>?_state=<newest state>.
 * Upload bytes are streamed to ROOT/uploads/<uuid> as they arrive.
 */
#include "mock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/strutil.h"

#define OCTET "application/octet-stream"

static int method_is(const struct mock_req *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

#define is_get(r) method_is((r), "GET")
#define is_post(r) method_is((r), "POST")
#define is_put(r) method_is((r), "PUT")
#define is_patch(r) method_is((r), "PATCH")
#define is_delete(r) method_is((r), "DELETE")

/* 400 DIGEST_INVALID for a digest that is not sha256:<64 hex> (or missing). */
static enum MHD_Result digest_invalid(struct mock_req *r, const char *detail)
{
	return mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				"invalid digest, want sha256:<64 hex>", detail);
}

/* 400 DIGEST_INVALID for content that does not hash to the digest given. */
static enum MHD_Result digest_mismatch(struct mock_req *r, const char *detail)
{
	return mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				"provided digest did not match uploaded content", detail);
}

static enum MHD_Result server_error(struct mock_req *r, const char *what)
{
	return mock_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "unknown error",
				what);
}

static enum MHD_Result upload_unknown(struct mock_req *r)
{
	return mock_reply_error(r, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
				"blob upload unknown to registry", r->ref);
}

static enum MHD_Result range_invalid(struct mock_req *r, const char *detail)
{
	return mock_reply_error(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, "RANGE_INVALID",
				"invalid content range", detail);
}

/* Adds name: value; a NULL value (out of memory) fails the response. */
static int add_header(struct MHD_Response *resp, const char *name, const char *value)
{
	return value && MHD_add_response_header(resp, name, value) == MHD_YES ? 0 : -1;
}

/*
 * One "bytes=N-[M]" range of a Range header: 0 with from/to set, -1 for a
 * form we do not serve (ignored: the whole blob goes out), -2 when N is
 * past the end (416).
 */
static int parse_get_range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
	const char *spec = bp_strprefix(h, "bytes=");
	const char *dash = spec ? strchr(spec, '-') : NULL;
	char first[32];
	size_t n;

	if (!dash || strchr(spec, ',') || (n = (size_t)(dash - spec)) == 0 || n >= sizeof(first))
		return -1;
	memcpy(first, spec, n);
	first[n] = '\0';
	if (bp_parse_int64(first, 0, INT64_MAX, from) < 0)
		return -1;
	*to = INT64_MAX;
	if ((dash[1] && bp_parse_int64(dash + 1, 0, INT64_MAX, to) < 0) || *to < *from)
		return -1;
	if (*from >= size)
		return -2;
	if (*to >= size)
		*to = size - 1;
	return 0;
}

/* 416 with "Content-Range: bytes *\/SIZE" for a Range that starts past the end. */
static enum MHD_Result range_unsatisfiable(struct mock_req *r, const char *range, int64_t size)
{
	struct MHD_Response *resp;
	char cr[48];

	snprintf(cr, sizeof(cr), "bytes */%" PRId64, size);
	resp = mock_resp_error_body("RANGE_INVALID", "range not satisfiable", range);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	return mock_reply(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
}

/* Serves an open blob fd whole, or one byte range of it (206/416). */
static enum MHD_Result serve_blob(struct mock_req *r, int fd, int64_t size)
{
	/* --no-ranges: as a server that does not do ranges, the whole blob with 200 */
	const char *range =
		is_get(r) && !r->srv->cfg.no_ranges ? mock_header(r, MHD_HTTP_HEADER_RANGE) : NULL;
	int64_t from = 0, to = size - 1, rfrom, rto;
	unsigned status = MHD_HTTP_OK;
	struct MHD_Response *resp;
	char cr[96];
	char *digest;
	int rc;

	/* blob-endless: no length, and more bytes than any descriptor names */
	if (is_get(r) && mock_fault_on(r, MOCK_FAULT_BLOB_ENDLESS))
		return mock_reply(r, MHD_HTTP_OK, mock_fault_endless(NULL, 0, fd, '\0', OCTET));
	digest = bp_aprintf("sha256:%s", mock_valid_digest(r->ref));
	if (range && (rc = parse_get_range(range, size, &rfrom, &rto)) != -1) {
		if (rc == -2) {
			close(fd);
			free(digest);
			return range_unsatisfiable(r, range, size);
		}
		status = MHD_HTTP_PARTIAL_CONTENT;
		from = rfrom;
		to = rto;
	}
	if (is_get(r) && mock_fault_cut_download(r, to - from + 1))
		resp = mock_fault_cut_response(fd, from, to - from + 1,
					       r->srv->cfg.cut_download_after);
	else if (!(resp = MHD_create_response_from_fd_at_offset64((uint64_t)(to - from + 1), fd,
								  (uint64_t)from)))
		close(fd);
	if (!resp) {
		free(digest);
		return mock_reply(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	}
	snprintf(cr, sizeof(cr), "bytes %" PRId64 "-%" PRId64 "/%" PRId64, from, to, size);
	if (add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, OCTET) < 0 ||
	    add_header(resp, "Docker-Content-Digest", digest) < 0 ||
	    (!r->srv->cfg.no_ranges &&
	     add_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes") < 0) ||
	    (status == MHD_HTTP_PARTIAL_CONTENT &&
	     add_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr) < 0)) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	free(digest);
	return mock_reply(r, status, resp);
}

static enum MHD_Result redirect_to_storage(struct mock_req *r, const char *hex);

/* blob-redirect-loop: 307 to the very URL asked for. */
static enum MHD_Result redirect_loop(struct mock_req *r)
{
	struct MHD_Response *resp = mock_resp_empty();
	char *path = bp_aprintf("/v2/%s/blobs/%s", r->name, r->ref);
	char *loc = path ? mock_location(r, path) : NULL;

	if (resp && add_header(resp, MHD_HTTP_HEADER_LOCATION, loc) < 0) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	free(path);
	free(loc);
	return mock_reply(r, MHD_HTTP_TEMPORARY_REDIRECT, resp);
}

/* GET/HEAD /v2/<name>/blobs/<digest>: the stored bytes, read at send time. */
enum MHD_Result mock_blob_get(struct mock_req *r)
{
	const char *hex = mock_valid_digest(r->ref);
	char *path;
	struct stat st;
	int fd = -1;

	if (!hex)
		return digest_invalid(r, r->ref);
	path = mock_path_blob(r->srv, hex);
	if (path && mock_blob_linked(r->srv, r->name, hex))
		fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return mock_reply_error(r, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN",
					"blob unknown to registry", r->ref);
	if (is_get(r) && mock_fault_on(r, MOCK_FAULT_BLOB_REDIRECT_LOOP)) {
		close(fd);
		return redirect_loop(r);
	}
	if (is_get(r) && r->srv->cfg.storage_redirect) {
		close(fd);
		return redirect_to_storage(r, hex);
	}
	return serve_blob(r, fd, (int64_t)st.st_size);
}

/* --storage-redirect: 307 to the storage port, another origin, with a signed-looking query. */
static enum MHD_Result redirect_to_storage(struct mock_req *r, const char *hex)
{
	struct MHD_Response *resp = mock_resp_empty();
	char sig[33];
	char *loc = NULL;

	if (mock_random_hex(sig, 16) == 0)
		loc = bp_aprintf("%s://%s:%u/blob/%s?sig=%s", r->srv->scheme, r->srv->host,
				 (unsigned)r->srv->storage_port, hex, sig);
	if (resp && add_header(resp, MHD_HTTP_HEADER_LOCATION, loc) < 0) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	free(loc);
	return mock_reply(r, MHD_HTTP_TEMPORARY_REDIRECT, resp);
}

/* A bare {"error":MSG} body with status, as S3-style storage answers. */
enum MHD_Result mock_storage_error(struct mock_req *r, unsigned status, const char *msg)
{
	char *body = bp_aprintf("{\"error\":\"%s\"}", msg);
	struct MHD_Response *resp =
		body ? mock_resp_bytes(body, strlen(body), "application/json") : NULL;

	free(body);
	return mock_reply(r, status, resp);
}

/* The storage port's GET/HEAD /blob/<hex>?sig=S: the stored blob, by a signed-looking URL. */
enum MHD_Result mock_storage_get(struct mock_req *r, const char *url)
{
	const char *hex = bp_strprefix(url, "/blob/");
	const char *sig = mock_query(r, "sig");
	char *path = NULL;
	struct stat st;
	int fd = -1;

	if (!is_get(r) && !method_is(r, "HEAD"))
		return mock_storage_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (!sig || !*sig)
		return mock_storage_error(r, MHD_HTTP_FORBIDDEN, "signature missing");
	free(r->ref);
	r->ref = hex ? bp_aprintf("sha256:%s", hex) : NULL;
	if (r->ref && mock_valid_digest(r->ref))
		path = mock_path_blob(r->srv, hex);
	if (path)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return mock_storage_error(r, MHD_HTTP_NOT_FOUND, "no such key");
	return serve_blob(r, fd, (int64_t)st.st_size);
}

/* DELETE /v2/<name>/blobs/<digest>: unlinks the blob from this repository. */
enum MHD_Result mock_blob_delete(struct mock_req *r)
{
	const char *hex = mock_valid_digest(r->ref);
	char *link;
	int ok;

	if (!hex)
		return digest_invalid(r, r->ref);
	ok = mock_blob_linked(r->srv, r->name, hex);
	link = mock_path_repo(r->srv, r->name, "_layers", hex);
	if (ok && (!link || unlink(link) < 0))
		ok = 0;
	free(link);
	if (!ok)
		return mock_reply_error(r, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN",
					"blob unknown to registry", r->ref);
	return mock_reply(r, MHD_HTTP_ACCEPTED, mock_resp_empty());
}

/* "0-<size-1>", or "0-0" for an empty upload as distribution does. */
static void range_text(int64_t size, char *buf, size_t n)
{
	snprintf(buf, n, "0-%" PRId64, size > 0 ? size - 1 : 0);
}

/* A session's Location: on the storage port for upload-elsewhere (always absolute there). */
static char *upload_location(struct mock_req *r, const char *uuid, const char *state)
{
	char *path = bp_aprintf("/v2/%s/blobs/uploads/%s?_state=%s", r->name, uuid, state);
	char *loc = NULL;

	if (path && (r->storage || mock_fault_on(r, MOCK_FAULT_UPLOAD_ELSEWHERE)))
		loc = bp_aprintf("http://%s:%u%s", r->srv->host, (unsigned)r->srv->storage_port,
				 path);
	else if (path)
		loc = mock_location(r, path);

	free(path);
	return loc;
}

/* 202/204 with Location, Range and Docker-Upload-UUID for a session. */
static enum MHD_Result reply_session(struct mock_req *r, unsigned status, const char *uuid,
				     const char *state, int64_t size)
{
	struct MHD_Response *resp = mock_resp_empty();
	char *loc = is_post(r) && mock_fault_on(r, MOCK_FAULT_LOCATION_NOT_URL)
			    ? bp_strdup(MOCK_BAD_LOCATION)
			    : upload_location(r, uuid, state);
	char range[48], minlen[32];
	int64_t min = r->srv->cfg.chunk_min_length;

	range_text(size, range, sizeof(range));
	snprintf(minlen, sizeof(minlen), "%" PRId64, min);
	if (resp &&
	    (add_header(resp, MHD_HTTP_HEADER_LOCATION, loc) < 0 ||
	     add_header(resp, MHD_HTTP_HEADER_RANGE, range) < 0 ||
	     add_header(resp, "Docker-Upload-UUID", uuid) < 0 ||
	     (is_post(r) && min >= 0 && add_header(resp, "OCI-Chunk-Min-Length", minlen) < 0))) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	free(loc);
	return mock_reply(r, status, resp);
}

/* 201 for a blob now in the repository. */
static enum MHD_Result reply_blob_created(struct mock_req *r, const char *hex)
{
	struct MHD_Response *resp = mock_resp_empty();
	char *path = bp_aprintf("/v2/%s/blobs/sha256:%s", r->name, hex);
	char *loc = path ? mock_location(r, path) : NULL;
	char *digest = bp_aprintf("sha256:%s", hex);

	if (resp && (add_header(resp, MHD_HTTP_HEADER_LOCATION, loc) < 0 ||
		     add_header(resp, "Docker-Content-Digest", digest) < 0)) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	free(path);
	free(loc);
	free(digest);
	return mock_reply(r, MHD_HTTP_CREATED, resp);
}

/* Ends the claimed session for good and removes its file. */
static void drop_session(struct mock_req *r, const char *uuid)
{
	char *path = mock_path_upload(r->srv, uuid);

	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (path)
		unlink(path);
	free(path);
	mock_uploads_release(r->srv->uploads, r->up, 1);
	r->up = NULL;
}

/* Hashes the finished upload; on a match moves it into the store, links it, 201. */
static enum MHD_Result commit_upload(struct mock_req *r, const char *want_hex)
{
	char uuid[MOCK_UUID_LEN + 1], got[MOCK_HEX_LEN + 1], detail[96];
	char *path, *blob = NULL;
	enum MHD_Result res;

	bp_strlcpy(uuid, mock_upload_uuid(r->up), sizeof(uuid));
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	path = mock_path_upload(r->srv, uuid);
	if (!path || mock_sha256_file(path, got) < 0) {
		res = server_error(r, "cannot read the upload");
		goto done;
	}
	if (strcmp(got, want_hex) != 0) {
		snprintf(detail, sizeof(detail), "content is sha256:%s", got);
		drop_session(r, uuid);
		res = digest_mismatch(r, detail);
		goto done;
	}
	blob = mock_path_blob(r->srv, want_hex);
	if (!blob || rename(path, blob) < 0 || mock_blob_link(r->srv, r->name, want_hex) < 0) {
		res = server_error(r, "cannot store the blob");
		goto done;
	}
	mock_uploads_release(r->srv->uploads, r->up, 1);
	r->up = NULL;
	res = reply_blob_created(r, want_hex);
done:
	free(path);
	free(blob);
	return res;
}

/* Undoes this request's bytes after a failure found at the end of its body. */
static void truncate_back(struct mock_req *r)
{
	if (r->fd >= 0 && ftruncate(r->fd, (off_t)r->base_size) < 0)
		r->body_error = 1;
}

/* 0, or the status for a body that failed to store or broke its Content-Range. */
static unsigned body_problem(struct mock_req *r, char *detail, size_t n)
{
	if (r->body_error) {
		snprintf(detail, n, "cannot write the upload");
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (r->has_cr && r->received != r->cr_end - r->cr_start + 1) {
		snprintf(detail, n, "Content-Range covers %" PRId64 " bytes, body had %" PRId64,
			 r->cr_end - r->cr_start + 1, r->received);
		return MHD_HTTP_RANGE_NOT_SATISFIABLE;
	}
	return 0;
}

/* Replies to a body_problem() status. */
static enum MHD_Result reply_problem(struct mock_req *r, unsigned status, const char *detail)
{
	if (status == MHD_HTTP_RANGE_NOT_SATISFIABLE)
		return range_invalid(r, detail);
	return server_error(r, detail);
}

/* 1 with *res set, the request's bytes undone, when the body is bad. */
static int body_check(struct mock_req *r, enum MHD_Result *res)
{
	char detail[128];
	unsigned status = body_problem(r, detail, sizeof(detail));

	if (!status)
		return 0;
	truncate_back(r);
	*res = reply_problem(r, status, detail);
	return 1;
}

static enum MHD_Result finish_patch(struct mock_req *r)
{
	char state[MOCK_TOKEN_LEN + 1], uuid[MOCK_UUID_LEN + 1];
	enum MHD_Result res;

	if (body_check(r, &res))
		return res;
	bp_strlcpy(uuid, mock_upload_uuid(r->up), sizeof(uuid));
	if (mock_uploads_rotate(r->srv->uploads, r->up, state) < 0)
		return server_error(r, "cannot make a new _state");
	/*
	 * --patch-created: as ECR, 201 instead of 202, and a Range that stops
	 * advancing: it says 0-(size of this chunk - 1), right only the first time
	 */
	if (r->srv->cfg.patch_created)
		return reply_session(r, MHD_HTTP_CREATED, uuid, state, (int64_t)r->received);
	/* upload-range-backwards: less than the previous answer said */
	if (mock_fault_on(r, MOCK_FAULT_UPLOAD_RANGE_BACKWARDS) && r->base_size > 1)
		return reply_session(r, MHD_HTTP_ACCEPTED, uuid, state, r->base_size / 2);
	return reply_session(r, MHD_HTTP_ACCEPTED, uuid, state, r->base_size + r->received);
}

static enum MHD_Result finish_put(struct mock_req *r)
{
	enum MHD_Result res;

	if (body_check(r, &res))
		return res;
	return commit_upload(r, mock_valid_digest(mock_query(r, "digest")));
}

/* "N-M" with an optional "bytes=" prefix, N <= M. */
static int parse_content_range(const char *h, int64_t *start, int64_t *end)
{
	const char *s = bp_strprefix(h, "bytes=") ? h + 6 : h;
	const char *dash = strchr(s, '-');
	char first[32];
	size_t n = dash ? (size_t)(dash - s) : 0;

	if (!n || n >= sizeof(first))
		return -1;
	memcpy(first, s, n);
	first[n] = '\0';
	if (bp_parse_int64(first, 0, INT64_MAX, start) < 0 ||
	    bp_parse_int64(dash + 1, 0, INT64_MAX, end) < 0 || *end < *start)
		return -1;
	return 0;
}

/* 1 when the request declares a non-empty body. */
static int has_body(struct mock_req *r)
{
	const char *cl = mock_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t n = 0;

	if (mock_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return 1;
	return cl && bp_parse_int64(cl, 0, INT64_MAX, &n) == 0 && n > 0;
}

/* Checks Content-Type, Content-Range and Content-Length against size. */
static int chunk_headers_bad(struct mock_req *r, int64_t size, enum MHD_Result *res)
{
	const char *ct = mock_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cr = mock_header(r, "Content-Range");
	const char *cl = mock_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t len;
	char detail[96];

	if (ct && *ct && strcmp(ct, OCTET) != 0 && (is_patch(r) || has_body(r))) {
		*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "BLOB_UPLOAD_INVALID",
					"Content-Type must be " OCTET, ct);
		return 1;
	}
	if (!cr)
		return 0;
	if (parse_content_range(cr, &r->cr_start, &r->cr_end) < 0) {
		*res = range_invalid(r, "Content-Range must be <start>-<end>");
		return 1;
	}
	r->has_cr = 1;
	if (r->cr_start != size) {
		snprintf(detail, sizeof(detail),
			 "upload holds %" PRId64 " bytes, Content-Range starts at %" PRId64, size,
			 r->cr_start);
		*res = range_invalid(r, detail);
		return 1;
	}
	if (cl &&
	    (bp_parse_int64(cl, 0, INT64_MAX, &len) < 0 || len != r->cr_end - r->cr_start + 1)) {
		*res = range_invalid(r, "Content-Length does not match Content-Range");
		return 1;
	}
	return 0;
}

/* Opens the upload file for appending this request's body. */
static int open_append(struct mock_req *r, const char *uuid)
{
	char *path = mock_path_upload(r->srv, uuid);
	struct stat st;

	r->fd = path ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
	free(path);
	if (r->fd < 0 || fstat(r->fd, &st) < 0)
		return -1;
	r->base_size = (int64_t)st.st_size;
	return 0;
}

/* Registers a session and creates its empty file; 0 or -1. */
static int new_session(struct mock_req *r, char uuid[MOCK_UUID_LEN + 1],
		       char state[MOCK_TOKEN_LEN + 1])
{
	char *path;
	int fd = -1;

	if (mock_uploads_create(r->srv->uploads, r->name, uuid, state) < 0)
		return -1;
	path = mock_path_upload(r->srv, uuid);
	if (path)
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	free(path);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (mock_uploads_claim(r->srv->uploads, r->name, uuid, state, &r->up) == MOCK_CLAIM_OK)
		drop_session(r, uuid);
	return -1;
}

static enum MHD_Result finish_monolithic(struct mock_req *r)
{
	char uuid[MOCK_UUID_LEN + 1], state[MOCK_TOKEN_LEN + 1], detail[128];
	unsigned status = body_problem(r, detail, sizeof(detail));
	const char *hex = mock_valid_digest(mock_query(r, "digest"));

	if (!status && r->srv->cfg.monolithic_post == MOCK_POST_DROP) {
		/* as distribution 2.8: the body is dropped, the session stays open, empty */
		bp_strlcpy(uuid, mock_upload_uuid(r->up), sizeof(uuid));
		truncate_back(r);
		mock_uploads_state(r->srv->uploads, r->up, state);
		mock_uploads_release(r->srv->uploads, r->up, 0);
		r->up = NULL;
		if (r->body_error)
			return server_error(r, "cannot drop the body");
		return reply_session(r, MHD_HTTP_ACCEPTED, uuid, state, 0);
	}
	if (!status && r->srv->cfg.monolithic_post == MOCK_POST_LIE) {
		/* 201 and the digest asked for, nothing kept */
		bp_strlcpy(uuid, mock_upload_uuid(r->up), sizeof(uuid));
		drop_session(r, uuid);
		return reply_blob_created(r, hex);
	}
	if (!status)
		return commit_upload(r, hex);
	bp_strlcpy(uuid, mock_upload_uuid(r->up), sizeof(uuid));
	drop_session(r, uuid);
	return reply_problem(r, status, detail);
}

/* POST ?digest=: the body is the whole blob. */
static enum MHD_Result start_monolithic(struct mock_req *r)
{
	char uuid[MOCK_UUID_LEN + 1], state[MOCK_TOKEN_LEN + 1];
	enum MHD_Result res;

	if (chunk_headers_bad(r, 0, &res))
		return res;
	if (new_session(r, uuid, state) < 0 ||
	    mock_uploads_claim(r->srv->uploads, r->name, uuid, state, &r->up) != MOCK_CLAIM_OK)
		return server_error(r, "cannot start an upload");
	if (open_append(r, uuid) < 0) {
		drop_session(r, uuid);
		return server_error(r, "cannot open the upload");
	}
	r->body_mode = MOCK_BODY_FILE;
	r->finish = finish_monolithic;
	return MHD_YES;
}

/* POST ?mount=&from=: links the blob when the caller may pull it from there. */
static int try_mount(struct mock_req *r, const char *hex)
{
	const char *from = mock_query(r, "from");

	if (!from || !mock_valid_name(from) || !mock_blob_linked(r->srv, from, hex))
		return 0;
	if (!mock_auth_allows(r, from, MOCK_PULL))
		return 0;
	return mock_blob_link(r->srv, r->name, hex) == 0;
}

/* POST /v2/<name>/blobs/uploads/: a session, a monolithic upload or a mount. */
enum MHD_Result mock_upload_post(struct mock_req *r)
{
	const char *mount = mock_query(r, "mount");
	const char *digest = mock_query(r, "digest");
	char uuid[MOCK_UUID_LEN + 1], state[MOCK_TOKEN_LEN + 1];

	if (mount) {
		const char *hex = mock_valid_digest(mount);

		if (!hex)
			return digest_invalid(r, mount);
		if (try_mount(r, hex))
			return reply_blob_created(r, hex);
	} else if (digest) {
		if (!mock_valid_digest(digest))
			return digest_invalid(r, digest);
		return start_monolithic(r);
	}
	if (new_session(r, uuid, state) < 0)
		return server_error(r, "cannot start an upload");
	return reply_session(r, MHD_HTTP_ACCEPTED, uuid, state, 0);
}

/* Claims the session named by r->ref and _state; 1 with *res when refused. */
static int claim(struct mock_req *r, enum MHD_Result *res)
{
	const char *state = mock_query(r, "_state");
	char *path;
	int present;

	if (!mock_valid_uuid(r->ref)) {
		*res = upload_unknown(r);
		return 1;
	}
	switch (mock_uploads_claim(r->srv->uploads, r->name, r->ref, state, &r->up)) {
	case MOCK_CLAIM_OK:
		break;
	case MOCK_CLAIM_UNKNOWN:
		*res = upload_unknown(r);
		return 1;
	case MOCK_CLAIM_STATE:
		*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "BLOB_UPLOAD_INVALID",
					"blob upload invalid",
					state ? "_state is not the newest one" : "_state missing");
		return 1;
	case MOCK_CLAIM_BUSY:
		*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "BLOB_UPLOAD_INVALID",
					"blob upload invalid",
					"another request is using this upload");
		return 1;
	}
	path = mock_path_upload(r->srv, r->ref);
	present = mock_file_exists(path);
	free(path);
	if (present)
		return 0;
	drop_session(r, r->ref);
	*res = upload_unknown(r);
	return 1;
}

/* GET (status) or DELETE (cancel) of a claimed session. */
static enum MHD_Result session_status(struct mock_req *r)
{
	char state[MOCK_TOKEN_LEN + 1];
	char *path;
	struct stat st;
	int ok;

	if (is_delete(r)) {
		drop_session(r, r->ref);
		return mock_reply(r, MHD_HTTP_NO_CONTENT, mock_resp_empty());
	}
	path = mock_path_upload(r->srv, r->ref);
	ok = path && stat(path, &st) == 0;
	free(path);
	if (!ok)
		return server_error(r, "cannot stat the upload");
	mock_uploads_state(r->srv->uploads, r->up, state);
	/* upload-range-ahead: bytes nobody sent */
	return reply_session(r, MHD_HTTP_NO_CONTENT, r->ref, state,
			     (int64_t)st.st_size + (mock_fault_on(r, MOCK_FAULT_UPLOAD_RANGE_AHEAD)
							    ? 1024 * 1024
							    : 0));
}

/* PATCH, PUT, GET or DELETE on .../blobs/uploads/<uuid>?_state=... */
enum MHD_Result mock_upload_session(struct mock_req *r)
{
	enum MHD_Result res;

	/* --no-upload-status: as public ECR, an upload cannot say where it stands */
	if (is_get(r) && r->srv->cfg.no_upload_status)
		return upload_unknown(r);
	/* --no-chunked-upload: as Artifact Registry, the blob must come in one PUT */
	if (is_patch(r) && r->srv->cfg.no_chunked_upload)
		return mock_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
					"chunked upload is not supported",
					"send the blob in one PUT");
	if (claim(r, &res))
		return res;
	if (!is_patch(r) && !is_put(r))
		return session_status(r);
	if (is_put(r) && !mock_valid_digest(mock_query(r, "digest")))
		return digest_invalid(r, mock_query(r, "digest") ? mock_query(r, "digest")
								 : "digest missing");
	if (open_append(r, r->ref) < 0)
		return server_error(r, "cannot open the upload");
	if (chunk_headers_bad(r, r->base_size, &res))
		return res;
	r->body_mode = MOCK_BODY_FILE;
	r->finish = is_patch(r) ? finish_patch : finish_put;
	return MHD_YES;
}
