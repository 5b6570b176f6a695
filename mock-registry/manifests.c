/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifests and tags. A manifest PUT is held in a 4 MiB buffer, checked
 * (media type, JSON, every referenced blob or manifest present in the
 * repository, descriptor sizes, digest reference) and stored with its
 * Content-Type; GET serves the stored bytes read at send time.
 */
#include "mock.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/strutil.h"

#define MT_DOCKER_V2 "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"

#define TAG_FILE_MAX 256

static enum MHD_Result manifest_unknown(struct mock_req *r)
{
	return mock_reply_error(r, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown",
				r->ref);
}

static enum MHD_Result manifest_invalid(struct mock_req *r, const char *detail)
{
	return mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "MANIFEST_INVALID", "manifest invalid",
				detail);
}

static enum MHD_Result server_error(struct mock_req *r, const char *what)
{
	return mock_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "unknown error",
				what);
}

/* 1 with *res set when r->ref is neither a tag nor a sha256 digest. */
static int bad_reference(struct mock_req *r, enum MHD_Result *res)
{
	if (strchr(r->ref, ':')) {
		if (mock_valid_digest(r->ref))
			return 0;
		*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest",
					r->ref);
		return 1;
	}
	if (mock_valid_tag(r->ref))
		return 0;
	*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "TAG_INVALID", "invalid tag", r->ref);
	return 1;
}

static void trim(bp_dynbuf *b)
{
	while (b->len && (b->ptr[b->len - 1] == '\n' || b->ptr[b->len - 1] == '\r' ||
			  b->ptr[b->len - 1] == ' '))
		b->ptr[--b->len] = '\0';
}

/* The manifest hex that r->ref names (digest, or tag file); 0 or -1. */
static int resolve(struct mock_req *r, char hex[MOCK_HEX_LEN + 1])
{
	const char *h = mock_valid_digest(r->ref);
	bp_dynbuf b = BP_DYNBUF_INIT(TAG_FILE_MAX);
	char *path;
	int rc = -1;

	if (h) {
		memcpy(hex, h, MOCK_HEX_LEN + 1);
		return 0;
	}
	path = mock_path_repo(r->srv, r->name, "_tags", r->ref);
	if (path && mock_read_small(path, &b) == 0) {
		trim(&b);
		h = mock_valid_digest(b.ptr);
		if (h) {
			memcpy(hex, h, MOCK_HEX_LEN + 1);
			rc = 0;
		}
	}
	free(path);
	bp_dynbuf_release(&b);
	return rc;
}

/* The stored Content-Type of manifest hex (never NULL on success). */
static char *stored_type(struct mock_req *r, const char *hex)
{
	char *leaf = bp_aprintf("%s.type", hex);
	char *path = leaf ? mock_path_repo(r->srv, r->name, "_manifests", leaf) : NULL;
	bp_dynbuf b = BP_DYNBUF_INIT(TAG_FILE_MAX);
	char *out = NULL;

	if (path && mock_read_small(path, &b) == 0) {
		trim(&b);
		out = bp_dynbuf_detach(&b, NULL);
	}
	free(leaf);
	free(path);
	bp_dynbuf_release(&b);
	return out;
}

/* Opens _manifests/<hex> of r's repository; -1 when absent. */
static int open_manifest(struct mock_req *r, const char *hex, int64_t *size)
{
	char *path = mock_path_repo(r->srv, r->name, "_manifests", hex);
	struct stat st;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	free(path);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		*size = (int64_t)st.st_size;
	return fd;
}

/*
 * The Docker-Content-Digest of manifest hex: its own digest, or with
 * --fault digest-header-wrong the digest of other bytes (its hex as text).
 */
static char *digest_header(struct mock_req *r, const char *hex)
{
	char other[MOCK_HEX_LEN + 1];

	if (!mock_fault_on(r, MOCK_FAULT_DIGEST_HEADER_WRONG))
		return bp_aprintf("sha256:%s", hex);
	if (mock_sha256_buf(hex, MOCK_HEX_LEN, other) < 0)
		return NULL;
	return bp_aprintf("sha256:%s", other);
}

/* --fault manifest-unknown-type: the stored bytes, retyped; NULL when they cannot be read. */
static struct MHD_Response *retyped(struct mock_req *r, const char *hex)
{
	char *path = mock_path_repo(r->srv, r->name, "_manifests", hex);
	bp_dynbuf b = BP_DYNBUF_INIT(MOCK_MANIFEST_MAX);
	struct MHD_Response *resp = NULL;

	if (path && mock_read_small(path, &b) == 0)
		resp = mock_fault_retyped_manifest(b.ptr, b.len);
	free(path);
	bp_dynbuf_release(&b);
	return resp;
}

/* The ETag of manifest hex: its digest, quoted (as distribution sends it). */
static char *etag_of(const char *hex)
{
	return bp_aprintf("\"sha256:%s\"", hex);
}

/* The stored manifest (fd consumed) with its Content-Type, Docker-Content-Digest and ETag. */
static struct MHD_Response *stored_manifest(struct mock_req *r, const char *hex, int fd,
					    int64_t size, const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)size, fd);
	char *digest = digest_header(r, hex), *etag = etag_of(hex);

	if (!resp)
		close(fd);
	if (resp && (!digest || !etag ||
		     MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
		     MHD_add_response_header(resp, "Docker-Content-Digest", digest) != MHD_YES ||
		     MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag) != MHD_YES)) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	free(digest);
	free(etag);
	return resp;
}

/*
 * 1 with *res set when the PUT has an If-Match that the manifest its
 * reference names now does not match (or no manifest is there): 412, as
 * HTTP has it, so that a client that read, merged and writes back knows
 * another came between.
 */
static int precondition_failed(struct mock_req *r, enum MHD_Result *res)
{
	const char *want = mock_header(r, MHD_HTTP_HEADER_IF_MATCH);
	char hex[MOCK_HEX_LEN + 1], *etag;
	int match;

	if (!want)
		return 0;
	if (resolve(r, hex) < 0) {
		match = 0;
	} else if (strcmp(want, "*") == 0) {
		match = 1;
	} else {
		etag = etag_of(hex);
		match = etag && strcmp(etag, want) == 0;
		free(etag);
	}
	if (match)
		return 0;
	*res = mock_reply_error(r, MHD_HTTP_PRECONDITION_FAILED, "PRECONDITION_FAILED",
				"If-Match does not match the manifest the reference names", want);
	return 1;
}

/* GET/HEAD /v2/<name>/manifests/<ref>: stored bytes and Content-Type (or a --fault). */
enum MHD_Result mock_manifest_get(struct mock_req *r)
{
	char hex[MOCK_HEX_LEN + 1];
	char *type = NULL;
	struct MHD_Response *resp = NULL;
	int64_t size = 0;
	int fd, limited = r->srv->cfg.ratelimit_limit >= 0;
	long remaining = 0;
	enum MHD_Result res;

	if (bad_reference(r, &res))
		return res;
	if (resolve(r, hex) < 0 || (fd = open_manifest(r, hex, &size)) < 0)
		return manifest_unknown(r);
	if (limited && mock_ratelimit_take(r, strcmp(r->method, "GET") == 0, &remaining) < 0) {
		close(fd);
		resp = mock_resp_error_body("TOOMANYREQUESTS",
					    "You have reached your pull rate limit (--ratelimit)",
					    NULL);
		mock_ratelimit_headers(r, resp, 0);
		return mock_reply(r, 429, resp);
	}
	type = stored_type(r, hex);
	if (strcmp(r->method, "GET") == 0 && mock_fault_on(r, MOCK_FAULT_MANIFEST_ENDLESS)) {
		/* manifest-endless: no length to refuse up front, only a cap on what is read */
		char *head = bp_aprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"layers\":[],"
					"\"annotations\":{\"padding\":\"",
					type ? type : "application/octet-stream");

		close(fd);
		resp = head ? mock_fault_endless(head, strlen(head), -1, 'x',
						 type ? type : "application/octet-stream")
			    : NULL;
		free(head);
	} else if (mock_fault_on(r, MOCK_FAULT_MANIFEST_HUGE)) {
		close(fd);
		resp = mock_fault_huge_manifest(type ? type : "application/octet-stream");
	} else if (mock_fault_on(r, MOCK_FAULT_MANIFEST_UNKNOWN_TYPE)) {
		close(fd);
		resp = retyped(r, hex);
	} else {
		resp = stored_manifest(r, hex, fd, size, type ? type : "application/octet-stream");
	}
	free(type);
	if (limited)
		mock_ratelimit_headers(r, resp, remaining);
	return mock_reply(r, MHD_HTTP_OK, resp);
}

/* Checks for descriptor arrays: what each descriptor must point at. */
enum ref_kind { REF_BLOB, REF_MANIFEST };

/* Checks one descriptor; 0, or a queued reply in *res and 1. */
static int check_descriptor(struct mock_req *r, const cJSON *d, enum ref_kind kind,
			    enum MHD_Result *res)
{
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(d, "digest");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(d, "size");
	const cJSON *urls = cJSON_GetObjectItemCaseSensitive(d, "urls");
	const char *hex = cJSON_IsString(dg) ? mock_valid_digest(dg->valuestring) : NULL;
	char *path;
	struct stat st;
	int found;
	char detail[200];

	if (!cJSON_IsObject(d) || !hex || !cJSON_IsNumber(sz) || sz->valuedouble < 0) {
		*res = manifest_invalid(r, "descriptor needs a sha256 digest and a size");
		return 1;
	}
	/* Non-distributable layers live elsewhere; distribution skips them too. */
	if (kind == REF_BLOB && cJSON_GetArraySize(urls) > 0)
		return 0;
	if (kind == REF_BLOB)
		path = mock_blob_linked(r->srv, r->name, hex) ? mock_path_blob(r->srv, hex) : NULL;
	else
		path = mock_path_repo(r->srv, r->name, "_manifests", hex);
	found = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	if (!found) {
		*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN",
					"blob unknown to registry", dg->valuestring);
		return 1;
	}
	if ((double)st.st_size != sz->valuedouble) {
		snprintf(detail, sizeof(detail), "%s is %" PRId64 " bytes, descriptor says %.0f",
			 dg->valuestring, (int64_t)st.st_size, sz->valuedouble);
		*res = manifest_invalid(r, detail);
		return 1;
	}
	return 0;
}

static int check_array(struct mock_req *r, const cJSON *arr, enum ref_kind kind,
		       enum MHD_Result *res)
{
	const cJSON *d;

	if (!cJSON_IsArray(arr)) {
		*res = manifest_invalid(r, kind == REF_BLOB ? "layers must be an array"
							    : "manifests must be an array");
		return 1;
	}
	cJSON_ArrayForEach (d, arr)
		if (check_descriptor(r, d, kind, res))
			return 1;
	return 0;
}

/* Validates the parsed manifest against its Content-Type and the repository. */
static int check_manifest(struct mock_req *r, const cJSON *m, const char *ct, enum MHD_Result *res)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(m, "mediaType");
	const cJSON *sv = cJSON_GetObjectItemCaseSensitive(m, "schemaVersion");
	int index = strcmp(ct, MT_DOCKER_LIST) == 0 || strcmp(ct, MT_OCI_INDEX) == 0;

	if (!cJSON_IsObject(m)) {
		*res = manifest_invalid(r, "manifest must be a JSON object");
		return 1;
	}
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
		*res = manifest_invalid(r, "schemaVersion must be 2");
		return 1;
	}
	if (mt && (!cJSON_IsString(mt) || strcmp(mt->valuestring, ct) != 0)) {
		*res = manifest_invalid(r, "mediaType does not match Content-Type");
		return 1;
	}
	if (index)
		return check_array(r, cJSON_GetObjectItemCaseSensitive(m, "manifests"),
				   REF_MANIFEST, res);
	if (check_descriptor(r, cJSON_GetObjectItemCaseSensitive(m, "config"), REF_BLOB, res))
		return 1;
	return check_array(r, cJSON_GetObjectItemCaseSensitive(m, "layers"), REF_BLOB, res);
}

static int known_type(const char *ct)
{
	return ct && (strcmp(ct, MT_DOCKER_V2) == 0 || strcmp(ct, MT_DOCKER_LIST) == 0 ||
		      strcmp(ct, MT_OCI_MANIFEST) == 0 || strcmp(ct, MT_OCI_INDEX) == 0);
}

/* Writes the manifest, its type and maybe the tag; 0 or -1. */
static int store_manifest(struct mock_req *r, const char *hex, const char *ct)
{
	char *leaf = bp_aprintf("%s.type", hex);
	char *tpath = leaf ? mock_path_repo(r->srv, r->name, "_manifests", leaf) : NULL;
	char *mpath = mock_path_repo(r->srv, r->name, "_manifests", hex);
	char *tagpath = NULL, *value = bp_aprintf("sha256:%s", hex);
	int rc = -1;

	/* Type before bytes, so a reader that finds the bytes finds the type. */
	if (!tpath || !mpath || !value || mock_write_atomic(tpath, ct, strlen(ct)) < 0 ||
	    mock_write_atomic(mpath, r->body.ptr ? r->body.ptr : "", r->body.len) < 0)
		goto done;
	if (!mock_valid_digest(r->ref)) {
		tagpath = mock_path_repo(r->srv, r->name, "_tags", r->ref);
		if (!tagpath || mock_write_atomic(tagpath, value, strlen(value)) < 0)
			goto done;
	}
	rc = 0;
done:
	free(leaf);
	free(tpath);
	free(mpath);
	free(tagpath);
	free(value);
	return rc;
}

static enum MHD_Result reply_created(struct mock_req *r, const char *hex, const cJSON *m)
{
	struct MHD_Response *resp = mock_resp_empty();
	char *path = bp_aprintf("/v2/%s/manifests/sha256:%s", r->name, hex);
	char *loc = path ? mock_location(r, path) : NULL;
	char *digest = bp_aprintf("sha256:%s", hex);

	if (resp && (!loc || !digest ||
		     MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc) != MHD_YES ||
		     MHD_add_response_header(resp, "Docker-Content-Digest", digest) != MHD_YES ||
		     mock_referrers_subject(r, m, resp) < 0)) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	free(path);
	free(loc);
	free(digest);
	return mock_reply(r, MHD_HTTP_CREATED, resp);
}

static enum MHD_Result finish_manifest_put(struct mock_req *r)
{
	const char *ct = mock_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *want = mock_valid_digest(r->ref);
	char hex[MOCK_HEX_LEN + 1];
	cJSON *m = NULL;
	enum MHD_Result res;

	if (r->body_error)
		return mock_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
					"manifest too large", "limit is 4194304 bytes");
	if (!known_type(ct))
		return manifest_invalid(r, "Content-Type must be a manifest media type");
	m = cJSON_ParseWithLength(r->body.ptr ? r->body.ptr : "", r->body.len);
	if (!m) {
		res = manifest_invalid(r, "body is not JSON");
		goto done;
	}
	if (check_manifest(r, m, ct, &res))
		goto done;
	if (mock_sha256_buf(r->body.ptr ? r->body.ptr : "", r->body.len, hex) < 0) {
		res = server_error(r, "cannot hash the manifest");
		goto done;
	}
	if (want && strcmp(want, hex) != 0) {
		res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				       "manifest digest does not match the reference", r->ref);
		goto done;
	}
	if (precondition_failed(r, &res))
		goto done;
	if (store_manifest(r, hex, ct) < 0)
		res = server_error(r, "cannot store the manifest");
	else
		res = reply_created(r, hex, m);
done:
	cJSON_Delete(m);
	return res;
}

/* PUT /v2/<name>/manifests/<ref>: buffers the body (4 MiB cap) for the checks. */
enum MHD_Result mock_manifest_put(struct mock_req *r)
{
	const char *cl = mock_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t len;
	enum MHD_Result res;

	if (bad_reference(r, &res))
		return res;
	if (cl && bp_parse_int64(cl, 0, INT64_MAX, &len) == 0 && len > MOCK_MANIFEST_MAX)
		return mock_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
					"manifest too large", "limit is 4194304 bytes");
	r->body_mode = MOCK_BODY_BUFFER;
	r->finish = finish_manifest_put;
	return MHD_YES;
}

/* Removes every tag of the repository that points at hex. */
static void untag_digest(struct mock_req *r, const char *hex)
{
	char *dir = mock_path_repo(r->srv, r->name, "_tags", NULL);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *path;
		bp_dynbuf b = BP_DYNBUF_INIT(TAG_FILE_MAX);
		const char *h;

		if (e->d_name[0] == '.')
			continue;
		path = bp_aprintf("%s/%s", dir, e->d_name);
		if (path && mock_read_small(path, &b) == 0) {
			trim(&b);
			h = mock_valid_digest(b.ptr);
			if (h && strcmp(h, hex) == 0)
				unlink(path);
		}
		free(path);
		bp_dynbuf_release(&b);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* DELETE by digest removes the manifest and its tags; by tag only the tag. */
enum MHD_Result mock_manifest_delete(struct mock_req *r)
{
	const char *hex = mock_valid_digest(r->ref);
	char *path, *type = NULL;
	int ok;
	enum MHD_Result res;

	if (bad_reference(r, &res))
		return res;
	if (!hex) {
		path = mock_path_repo(r->srv, r->name, "_tags", r->ref);
		ok = path && mock_file_exists(path) && unlink(path) == 0;
		free(path);
		return ok ? mock_reply(r, MHD_HTTP_ACCEPTED, mock_resp_empty())
			  : manifest_unknown(r);
	}
	path = mock_path_repo(r->srv, r->name, "_manifests", hex);
	type = bp_aprintf("%s.type", path ? path : "");
	ok = path && type && mock_file_exists(path) && unlink(path) == 0;
	if (ok) {
		unlink(type);
		untag_digest(r, hex);
	}
	free(path);
	free(type);
	return ok ? mock_reply(r, MHD_HTTP_ACCEPTED, mock_resp_empty()) : manifest_unknown(r);
}

struct taglist {
	char **v;
	size_t n;
};

static void taglist_release(struct taglist *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --fault many-tags: t00000 .. t09999 after last (exclusive) into t; 0 or -1. */
static int add_many_tags(const char *last, struct taglist *t)
{
	char name[16];
	char **v;
	int i;

	v = realloc(t->v, (t->n + MOCK_MANY_TAGS) * sizeof(*v));
	if (!v)
		return -1;
	t->v = v;
	for (i = 0; i < MOCK_MANY_TAGS; i++) {
		snprintf(name, sizeof(name), "t%05d", i);
		if (last && strcmp(name, last) <= 0)
			continue;
		if (!(t->v[t->n] = bp_strdup(name)))
			return -1;
		t->n++;
	}
	return 0;
}

/* Sorted valid tag names of the repository after last (exclusive); 0 or -1. */
static int read_tags(struct mock_req *r, const char *last, struct taglist *t)
{
	char *dir = mock_path_repo(r->srv, r->name, "_tags", NULL);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	int rc = 0;

	while (d && (e = readdir(d))) {
		char **v;

		if (!mock_valid_tag(e->d_name) || (last && strcmp(e->d_name, last) <= 0))
			continue;
		v = realloc(t->v, (t->n + 1) * sizeof(*v));
		if (!v || !(v[t->n] = bp_strdup(e->d_name))) {
			if (v)
				t->v = v;
			rc = -1;
			break;
		}
		t->v = v;
		t->n++;
	}
	if (d)
		closedir(d);
	free(dir);
	if (rc == 0 && mock_fault_on(r, MOCK_FAULT_MANY_TAGS))
		rc = add_many_tags(last, t);
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), cmp_str);
	return rc;
}

static char *tags_json(const char *name, const struct taglist *t, size_t count)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = NULL;
	char *out = NULL;
	size_t i;

	if (!o || !cJSON_AddStringToObject(o, "name", name) ||
	    !(arr = cJSON_AddArrayToObject(o, "tags")))
		goto done;
	for (i = 0; i < count; i++) {
		cJSON *s = cJSON_CreateString(t->v[i]);

		if (!s)
			goto done;
		cJSON_AddItemToArray(arr, s);
	}
	out = cJSON_PrintUnformatted(o);
done:
	cJSON_Delete(o);
	return out;
}

/* The ?n= limit: -1 when absent, else 0..100000; 0 or -1 when malformed. */
static int page_size(struct mock_req *r, int64_t *n)
{
	const char *s = mock_query(r, "n");

	*n = -1;
	return s ? bp_parse_int64(s, 0, 100000, n) : 0;
}

/* What goes before /v2/ in a next-page Link: nothing, or an origin (--fault link-*). */
static const char *link_origin(struct mock_req *r, char *buf, size_t size)
{
	buf[0] = '\0';
	if (mock_fault_on(r, MOCK_FAULT_LINK_FOREIGN))
		snprintf(buf, size, "http://localhost:%u", (unsigned)r->srv->port);
	else if (mock_fault_on(r, MOCK_FAULT_LINK_ABSOLUTE))
		bp_strlcpy(buf, r->srv->base_url, size);
	return buf;
}

/* --fault tags-endless: the page after last (eNNNNNNNN), and a Link to the next, always. */
static enum MHD_Result endless_tags(struct mock_req *r, const char *last, int64_t n)
{
	struct taglist t = { NULL, 0 };
	struct MHD_Response *resp = NULL;
	char *body = NULL, *link = NULL, name[16];
	int64_t from = 0, i;
	enum MHD_Result res;

	if (n <= 0)
		n = r->srv->cfg.tags_page > 0 ? r->srv->cfg.tags_page : MOCK_ENDLESS_PAGE;
	if (last && last[0] == 'e' && bp_parse_int64(last + 1, 0, 99999999, &from) < 0)
		from = 0;
	if (!(t.v = calloc((size_t)n, sizeof(*t.v))))
		return server_error(r, "cannot list tags");
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "e%08" PRId64, (from + i) % 100000000);
		if (!(t.v[t.n] = bp_strdup(name)))
			break;
		t.n++;
	}
	body = t.n == (size_t)n ? tags_json(r->name, &t, t.n) : NULL;
	link = body ? bp_aprintf("</v2/%s/tags/list?last=%s&n=%" PRId64 ">; rel=\"next\"", r->name,
				 t.v[t.n - 1], n)
		    : NULL;
	resp = link ? mock_resp_bytes(body, strlen(body), "application/json") : NULL;
	if (resp && MHD_add_response_header(resp, MHD_HTTP_HEADER_LINK, link) != MHD_YES) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	res = mock_reply(r, MHD_HTTP_OK, resp);
	cJSON_free(body);
	free(link);
	taglist_release(&t);
	return res;
}

/* GET /v2/<name>/tags/list[?n=&last=]: sorted tags, a Link when more remain. */
enum MHD_Result mock_tags_list(struct mock_req *r)
{
	struct taglist t = { NULL, 0 };
	const char *last = mock_query(r, "last");
	struct MHD_Response *resp;
	char *body = NULL, *link = NULL, origin[96];
	size_t count;
	int64_t n;
	enum MHD_Result res;

	if (page_size(r, &n) < 0)
		return mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID",
					"invalid number of results requested", mock_query(r, "n"));
	if (!mock_repo_exists(r->srv, r->name))
		return mock_reply_error(r, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
					"repository name not known to registry", r->name);
	if (mock_fault_on(r, MOCK_FAULT_TAGS_ENDLESS))
		return endless_tags(r, last, n);
	if (read_tags(r, last, &t) < 0) {
		res = server_error(r, "cannot list tags");
		goto done;
	}
	if (n < 0 && r->srv->cfg.tags_page > 0)
		n = r->srv->cfg.tags_page;
	count = n >= 0 && (size_t)n < t.n ? (size_t)n : t.n;
	if (count < t.n && count > 0)
		link = bp_aprintf("<%s/v2/%s/tags/list?last=%s&n=%" PRId64 ">; rel=\"next\"",
				  link_origin(r, origin, sizeof(origin)), r->name, t.v[count - 1], n);
	else if (mock_fault_on(r, MOCK_FAULT_LINK_LOOP))
		link = bp_aprintf("</v2/%s/tags/list>; rel=\"next\"", r->name);
	body = tags_json(r->name, &t, count);
	resp = body ? mock_resp_bytes(body, strlen(body), "application/json") : NULL;
	if (resp && link && MHD_add_response_header(resp, MHD_HTTP_HEADER_LINK, link) != MHD_YES) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	res = mock_reply(r, MHD_HTTP_OK, resp);
done:
	cJSON_free(body);
	free(link);
	taglist_release(&t);
	return res;
}
