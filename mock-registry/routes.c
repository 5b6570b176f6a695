/* SPDX-License-Identifier: Apache-2.0 */
/*
 * URL routing. Repository names may contain '/', so a path is matched by
 * its fixed suffix (/tags/list, /manifests/<ref>, /blobs/uploads/<uuid>,
 * /blobs/<digest>, /referrers/<digest>), where the part after the suffix
 * holds no '/'. Then: method (405), repository name (400 NAME_INVALID),
 * authorization (401 / 403), and only then the handler, which validates
 * its own reference.
 * The storage port's requests are routed here too (mock_route_storage):
 * calls go from the router to the handlers, never back.
 */
#include "mock.h"

#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

enum route_kind { R_TAGS, R_MANIFEST, R_UPLOAD, R_BLOB, R_REFERRERS };

static int is(const struct mock_req *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

static enum MHD_Result not_found(struct mock_req *r)
{
	return mock_reply_error(r, MHD_HTTP_NOT_FOUND, "UNSUPPORTED", "no such endpoint", NULL);
}

static enum MHD_Result not_allowed(struct mock_req *r, const char *allow)
{
	struct MHD_Response *resp;

	resp = mock_resp_error_body("UNSUPPORTED", "method not allowed", r->method);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	return mock_reply(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

/* The last occurrence of needle in s whose tail holds no '/'. */
static const char *split_tail(const char *s, const char *needle)
{
	const char *hit = NULL, *p = s;
	size_t n = strlen(needle);

	while ((p = strstr(p, needle))) {
		hit = p;
		p++;
	}
	if (!hit || strchr(hit + n, '/'))
		return NULL;
	return hit;
}

/* Splits "<name><suffix><ref>" into r->name and r->ref. */
static int split(struct mock_req *r, const char *path, enum route_kind *kind)
{
	static const struct {
		const char *suffix;
		enum route_kind kind;
	} forms[] = {
		{ "/manifests/", R_MANIFEST },
		{ "/blobs/uploads/", R_UPLOAD },
		{ "/blobs/", R_BLOB },
		{ "/referrers/", R_REFERRERS },
	};
	size_t i, len = strlen(path);
	const char *hit;

	if (bp_strsuffix(path, "/tags/list")) {
		*kind = R_TAGS;
		r->name = bp_strndup(path, len - strlen("/tags/list"));
		r->ref = bp_strdup("");
		return r->name && r->ref ? 0 : -1;
	}
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		hit = split_tail(path, forms[i].suffix);
		if (!hit)
			continue;
		*kind = forms[i].kind;
		r->name = bp_strndup(path, (size_t)(hit - path));
		r->ref = bp_strdup(hit + strlen(forms[i].suffix));
		return r->name && r->ref ? 0 : -1;
	}
	return -1;
}

/* GET/HEAD → pull; POST/PATCH/PUT → pull,push; DELETE → delete. */
static unsigned needed_actions(const struct mock_req *r)
{
	if (is(r, "DELETE"))
		return MOCK_DELETE;
	if (is(r, "GET") || is(r, "HEAD"))
		return MOCK_PULL;
	return MOCK_PULL | MOCK_PUSH;
}

/* 1 with *res set when the method does not fit the route. */
static int method_check(struct mock_req *r, enum route_kind kind, enum MHD_Result *res)
{
	const char *allow = NULL;
	int get = is(r, "GET") || is(r, "HEAD");

	switch (kind) {
	case R_TAGS:
		if (!get)
			allow = "GET, HEAD";
		break;
	case R_MANIFEST:
		if (!get && !is(r, "PUT") && !is(r, "DELETE"))
			allow = "GET, HEAD, PUT, DELETE";
		break;
	case R_BLOB:
		if (!get && !is(r, "DELETE"))
			allow = "GET, HEAD, DELETE";
		break;
	case R_REFERRERS:
		if (!get)
			allow = "GET, HEAD";
		break;
	case R_UPLOAD:
		if (!*r->ref && !is(r, "POST"))
			allow = "POST";
		else if (*r->ref && !is(r, "GET") && !is(r, "PATCH") && !is(r, "PUT") &&
			 !is(r, "DELETE"))
			allow = "GET, PATCH, PUT, DELETE";
		break;
	}
	if (!allow)
		return 0;
	*res = not_allowed(r, allow);
	return 1;
}

static enum MHD_Result dispatch(struct mock_req *r, enum route_kind kind)
{
	int get = is(r, "GET") || is(r, "HEAD");

	/* --no-delete: as docker-registry without storage.delete.enabled */
	if (is(r, "DELETE") && r->srv->cfg.no_delete && (kind == R_MANIFEST || kind == R_BLOB))
		return mock_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
					"The operation is unsupported.", NULL);

	switch (kind) {
	case R_TAGS:
		return mock_tags_list(r);
	case R_MANIFEST:
		if (get)
			return mock_manifest_get(r);
		return is(r, "PUT") ? mock_manifest_put(r) : mock_manifest_delete(r);
	case R_BLOB:
		return get ? mock_blob_get(r) : mock_blob_delete(r);
	case R_UPLOAD:
		return *r->ref ? mock_upload_session(r) : mock_upload_post(r);
	case R_REFERRERS:
		return mock_referrers_get(r);
	}
	return not_found(r);
}

static enum MHD_Result route_repo(struct mock_req *r, const char *path)
{
	enum route_kind kind;
	enum MHD_Result res;

	if (split(r, path, &kind) < 0 || !*r->name)
		return not_found(r);
	if (method_check(r, kind, &res))
		return res;
	if (!mock_valid_name(r->name))
		return mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "NAME_INVALID",
					"invalid repository name", r->name);
	if (mock_auth_require(r, r->name, needed_actions(r), &res))
		return res;
	/* after authorization: a rate limit answers requests that would succeed */
	if (mock_status_fault_check(r, &res))
		return res;
	return dispatch(r, kind);
}

/*
 * The storage port's /v2/ paths (upload-elsewhere): upload sessions only,
 * with no authorization (mock_route_storage has refused any Authorization
 * header), as an upload URL on another host that carries its own signature.
 */
static enum MHD_Result route_storage_v2(struct mock_req *r, const char *path)
{
	enum route_kind kind;
	enum MHD_Result res;

	if (!mock_fault_on(r, MOCK_FAULT_UPLOAD_ELSEWHERE) || split(r, path, &kind) < 0 ||
	    kind != R_UPLOAD || !*r->name || !*r->ref)
		return not_found(r);
	if (method_check(r, kind, &res))
		return res;
	if (!mock_valid_name(r->name))
		return mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "NAME_INVALID",
					"invalid repository name", r->name);
	if (mock_status_fault_check(r, &res))
		return res;
	return mock_upload_session(r);
}

/*
 * The storage port, another origin as S3 would be: a request with any
 * Authorization header gets 400, as S3 answers a presigned URL sent with a
 * second auth mechanism; /v2/ holds the upload sessions the registry sent
 * here (upload-elsewhere); anything else is a blob by signed URL.
 */
enum MHD_Result mock_route_storage(struct mock_req *r, const char *url)
{
	if (mock_header(r, MHD_HTTP_HEADER_AUTHORIZATION))
		return mock_storage_error(r, MHD_HTTP_BAD_REQUEST,
					  "only one auth mechanism allowed");
	if (bp_strprefix(url, "/v2/"))
		return route_storage_v2(r, url + 4);
	return mock_storage_get(r, url);
}

/* Routes a request on its first call; answers or prepares r->finish. */
enum MHD_Result mock_route(struct mock_req *r, const char *url)
{
	int get = is(r, "GET") || is(r, "HEAD");
	enum MHD_Result res;

	if (strcmp(url, "/token") == 0) {
		if (r->srv->cfg.auth != MOCK_AUTH_TOKEN)
			return not_found(r);
		if (mock_status_fault_check(r, &res))
			return res;
		if (is(r, "POST"))
			return r->srv->cfg.no_oauth ? not_found(r) : mock_token_post(r);
		return get ? mock_token_endpoint(r) : not_allowed(r, "GET, HEAD, POST");
	}
	if (strcmp(url, "/v2/") == 0 || strcmp(url, "/v2") == 0) {
		if (mock_status_fault_check(r, &res))
			return res;
		return get ? mock_auth_ping(r) : not_allowed(r, "GET, HEAD");
	}
	if (bp_strprefix(url, "/v2/"))
		return route_repo(r, url + 4);
	return not_found(r);
}
