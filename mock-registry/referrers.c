/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The referrers API of OCI distribution 1.1, behind --referrers-api:
 * GET /v2/<name>/referrers/<digest> lists, as an image index, the stored
 * manifests of NAME whose subject field names DIGEST (sorted by digest,
 * a page at a time with a Link to the next), filtered by ?artifactType=
 * with OCI-Filters-Applied; a manifest PUT with a subject is answered with
 * OCI-Subject. Without the switch the path gets the answer of a registry
 * that has no such API (--referrers-missing; a 404 by default, as an
 * unknown endpoint). The --fault referrers-* kinds misbehave here.
 */
#include "mock.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/strutil.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

/* --fault referrers-deep: how deep the annotations nest. */
#define DEEP_NESTING 100000

/* A stored manifest's Content-Type (its <hex>.type file); NULL when unreadable. */
static char *stored_type(struct mock_req *r, const char *hex)
{
	char *leaf = bp_aprintf("%s.type", hex);
	char *path = leaf ? mock_path_repo(r->srv, r->name, "_manifests", leaf) : NULL;
	bp_dynbuf b = BP_DYNBUF_INIT(256);
	char *out = NULL;

	if (path && mock_read_small(path, &b) == 0) {
		while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == ' '))
			b.ptr[--b.len] = '\0';
		out = bp_dynbuf_detach(&b, NULL);
	}
	free(leaf);
	free(path);
	bp_dynbuf_release(&b);
	return out;
}

/* The entry for stored manifest hex when its subject is want, else NULL. */
static cJSON *entry_for(struct mock_req *r, const char *hex, const char *want)
{
	char *path = mock_path_repo(r->srv, r->name, "_manifests", hex), *type = NULL;
	bp_dynbuf b = BP_DYNBUF_INIT(MOCK_MANIFEST_MAX);
	cJSON *m = NULL, *e = NULL, *sub, *at, *cfg, *ann;
	char digest[8 + MOCK_HEX_LEN];

	if (!path || mock_read_small(path, &b) < 0 ||
	    !(m = cJSON_ParseWithLength(b.ptr ? b.ptr : "", b.len)))
		goto done;
	sub = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "subject"),
					       "digest");
	if (!cJSON_IsString(sub) || strcmp(sub->valuestring, want) != 0)
		goto done;
	if (!(type = stored_type(r, hex)))
		goto done;
	snprintf(digest, sizeof(digest), "sha256:%.64s", hex);
	at = cJSON_GetObjectItemCaseSensitive(m, "artifactType");
	cfg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "config"),
					       "mediaType");
	ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
	if (!(e = cJSON_CreateObject()) || !cJSON_AddStringToObject(e, "mediaType", type) ||
	    !cJSON_AddStringToObject(e, "digest", digest) ||
	    !cJSON_AddNumberToObject(e, "size", (double)b.len))
		goto fail;
	/* an image manifest without artifactType is of its config's type; an index, of none */
	if (cJSON_IsString(at) && *at->valuestring) {
		if (!cJSON_AddStringToObject(e, "artifactType", at->valuestring))
			goto fail;
	} else if (strcmp(type, MT_OCI_INDEX) != 0 && cJSON_IsString(cfg)) {
		if (!cJSON_AddStringToObject(e, "artifactType", cfg->valuestring))
			goto fail;
	}
	if (cJSON_IsObject(ann)) {
		cJSON *dup = cJSON_Duplicate(ann, 1);

		if (!dup)
			goto fail;
		cJSON_AddItemToObject(e, "annotations", dup);
	}
	goto done;
fail:
	cJSON_Delete(e);
	e = NULL;
done:
	cJSON_Delete(m);
	bp_dynbuf_release(&b);
	free(path);
	free(type);
	return e;
}

/* 1 when name is 64 lowercase hex digits: a stored manifest, not its .type file. */
static int manifest_name(const char *name)
{
	return strlen(name) == MOCK_HEX_LEN && strspn(name, "0123456789abcdef") == MOCK_HEX_LEN;
}

static int by_digest(const void *a, const void *b)
{
	const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;

	return strcmp(cJSON_GetObjectItemCaseSensitive(x, "digest")->valuestring,
		      cJSON_GetObjectItemCaseSensitive(y, "digest")->valuestring);
}

/* The referrers of want in r's repository, of type (NULL: any), sorted; *n of them. */
static cJSON **collect(struct mock_req *r, const char *want, const char *type, size_t *n)
{
	char *dir = mock_path_repo(r->srv, r->name, "_manifests", NULL);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	cJSON **v = NULL, *e;
	size_t cap = 0;

	*n = 0;
	while (d && (de = readdir(d))) {
		const cJSON *at;

		if (!manifest_name(de->d_name) || !(e = entry_for(r, de->d_name, want)))
			continue;
		at = cJSON_GetObjectItemCaseSensitive(e, "artifactType");
		if (type && !(cJSON_IsString(at) && strcmp(at->valuestring, type) == 0)) {
			cJSON_Delete(e);
			continue;
		}
		if (*n == cap) {
			cJSON **g = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!g) {
				cJSON_Delete(e);
				break;
			}
			v = g;
		}
		v[(*n)++] = e;
	}
	if (d)
		closedir(d);
	free(dir);
	if (*n)
		qsort(v, *n, sizeof(*v), by_digest);
	return v;
}

/* "?artifactType=T&" or "?" for a next page's URL; new string. */
static char *query_start(const char *type)
{
	char *enc, *q;

	if (!type)
		return bp_strdup("?");
	enc = bp_urlencode(type);
	q = enc ? bp_aprintf("?artifactType=%s&", enc) : NULL;
	free(enc);
	return q;
}

/* --fault referrers-endless: page `page` of made-up referrers, always with a next page. */
static int endless_page(struct mock_req *r, cJSON *arr, int64_t size, int64_t page)
{
	char seed[64], hex[MOCK_HEX_LEN + 1], digest[8 + MOCK_HEX_LEN];
	int64_t i;

	for (i = 0; i < size; i++) {
		cJSON *e = cJSON_CreateObject();

		snprintf(seed, sizeof(seed), "endless-%lld-%lld", (long long)page, (long long)i);
		if (!e || mock_sha256_buf(seed, strlen(seed), hex) < 0) {
			cJSON_Delete(e);
			return -1;
		}
		snprintf(digest, sizeof(digest), "sha256:%.64s", hex);
		cJSON_AddItemToArray(arr, e);
		if (!cJSON_AddStringToObject(e, "mediaType", MT_OCI_MANIFEST) ||
		    !cJSON_AddStringToObject(e, "digest", digest) ||
		    !cJSON_AddNumberToObject(e, "size", 100) ||
		    !cJSON_AddStringToObject(e, "artifactType", "application/vnd.example.endless"))
			return -1;
	}
	return 0;
}

/* --fault referrers-deep: a valid-looking index whose annotations nest without end. */
static struct MHD_Response *deep_index(void)
{
	bp_dynbuf b = BP_DYNBUF_INIT(3 * DEEP_NESTING);
	struct MHD_Response *resp = NULL;
	size_t i;
	int bad = bp_dynbuf_adds(&b, "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
				     "\",\"manifests\":[],\"annotations\":{\"x\":") < 0;

	for (i = 0; i < DEEP_NESTING && !bad; i++)
		bad = bp_dynbuf_add(&b, "[", 1) < 0;
	for (i = 0; i < DEEP_NESTING && !bad; i++)
		bad = bp_dynbuf_add(&b, "]", 1) < 0;
	if (!bad && bp_dynbuf_adds(&b, "}}") == 0)
		resp = mock_resp_bytes(b.ptr, b.len, MT_OCI_INDEX);
	bp_dynbuf_release(&b);
	return resp;
}

/* Without --referrers-api: what --referrers-missing says (404 UNSUPPORTED by default). */
static enum MHD_Result missing(struct mock_req *r)
{
	const struct mock_config *c = &r->srv->cfg;
	static const char page[] = "<html><body>Welcome to the registry</body></html>\n";

	if (c->referrers_missing_status == 200)
		return mock_reply(r, MHD_HTTP_OK, mock_resp_bytes(page, strlen(page), "text/html"));
	if (!c->referrers_missing_code[0]) {
		static const char text[] = "404 page not found\n";

		/* a router's own answer, as distribution 2.8 gives it */
		return mock_reply(r, c->referrers_missing_status,
				  mock_resp_bytes(text, strlen(text), "text/plain; charset=utf-8"));
	}
	return mock_reply_error(r, c->referrers_missing_status, c->referrers_missing_code,
				"no referrers API (--referrers-missing)", NULL);
}

/* Parses --referrers-missing STATUS[:CODE]; 0 or -1. */
int mock_referrers_missing_parse(const char *spec, struct mock_config *c)
{
	const char *colon = strchr(spec, ':');
	char status[8];
	int64_t n;
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);

	if (len == 0 || len >= sizeof(status))
		return -1;
	memcpy(status, spec, len);
	status[len] = '\0';
	if (bp_parse_int64(status, 200, 599, &n) < 0)
		return -1;
	c->referrers_missing_status = (unsigned)n;
	c->referrers_missing_code[0] = '\0';
	if (colon && (!colon[1] || strlen(colon + 1) >= sizeof(c->referrers_missing_code) ||
		      strspn(colon + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen(colon + 1)))
		return -1;
	if (colon)
		bp_strlcpy(c->referrers_missing_code, colon + 1, sizeof(c->referrers_missing_code));
	return 0;
}

/* GET/HEAD /v2/<name>/referrers/<digest>; see mock.h. */
enum MHD_Result mock_referrers_get(struct mock_req *r)
{
	const char *type = mock_query(r, "artifactType"), *last = mock_query(r, "last"),
		   *pg = mock_query(r, "page"), *ns = mock_query(r, "n");
	struct MHD_Response *resp = NULL;
	cJSON *root = NULL, *arr, **all = NULL;
	char *body = NULL, *link = NULL, *q = NULL;
	size_t n = 0, i, from = 0, count;
	int64_t size = r->srv->cfg.referrers_page, page = 1;
	enum MHD_Result res;

	if (!r->srv->cfg.referrers_api)
		return missing(r);
	if (!mock_valid_digest(r->ref))
		return mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest",
					r->ref);
	if (!mock_repo_exists(r->srv, r->name))
		return mock_reply_error(r, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
					"repository name not known to registry", r->name);
	if (ns && bp_parse_int64(ns, 1, 100000, &size) < 0)
		return mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID",
					"invalid number of results requested", ns);
	if (mock_fault_on(r, MOCK_FAULT_REFERRERS_HUGE))
		return mock_reply(r, MHD_HTTP_OK, mock_fault_huge_manifest(MT_OCI_INDEX));
	if (mock_fault_on(r, MOCK_FAULT_REFERRERS_DEEP))
		return mock_reply(r, MHD_HTTP_OK, deep_index());
	if (pg && bp_parse_int64(pg, 1, INT64_MAX / 2, &page) < 0)
		page = 1;
	if (!(root = cJSON_CreateObject()) || !cJSON_AddNumberToObject(root, "schemaVersion", 2) ||
	    !cJSON_AddStringToObject(root, "mediaType", MT_OCI_INDEX) ||
	    !(arr = cJSON_AddArrayToObject(root, "manifests")) || !(q = query_start(type)))
		goto fail;
	if (mock_fault_on(r, MOCK_FAULT_REFERRERS_ENDLESS)) {
		if (endless_page(r, arr, size > 0 ? size : 100, page) < 0)
			goto fail;
		link = bp_aprintf("</v2/%s/referrers/%s%spage=%lld>; rel=\"next\"", r->name, r->ref,
				  q, (long long)page + 1);
	} else {
		all = collect(r, r->ref, type, &n);
		while (last && from < n &&
		       strcmp(cJSON_GetObjectItemCaseSensitive(all[from], "digest")->valuestring,
			      last) <= 0)
			from++;
		count = size > 0 && (size_t)size < n - from ? (size_t)size : n - from;
		for (i = from; i < from + count; i++) {
			cJSON_AddItemToArray(arr, all[i]);
			all[i] = NULL;
		}
		if (from + count < n)
			link = bp_aprintf("</v2/%s/referrers/%s%slast=%s&n=%lld>; rel=\"next\"",
					  r->name, r->ref, q,
					  cJSON_GetObjectItemCaseSensitive(
						  cJSON_GetArrayItem(arr, (int)count - 1), "digest")
						  ->valuestring,
					  (long long)size);
		else if (mock_fault_on(r, MOCK_FAULT_REFERRERS_LOOP))
			link = bp_aprintf("</v2/%s/referrers/%s>; rel=\"next\"", r->name, r->ref);
	}
	if (mock_fault_on(r, MOCK_FAULT_REFERRERS_SELF)) {
		cJSON *e = cJSON_CreateObject();

		if (!e)
			goto fail;
		cJSON_AddItemToArray(arr, e);
		if (!cJSON_AddStringToObject(e, "mediaType", MT_OCI_MANIFEST) ||
		    !cJSON_AddStringToObject(e, "digest", r->ref) ||
		    !cJSON_AddNumberToObject(e, "size", 2))
			goto fail;
	}
	if (!(body = cJSON_PrintUnformatted(root)) ||
	    !(resp = mock_resp_bytes(body, strlen(body), MT_OCI_INDEX)) ||
	    (link && MHD_add_response_header(resp, MHD_HTTP_HEADER_LINK, link) != MHD_YES) ||
	    (type &&
	     MHD_add_response_header(resp, "OCI-Filters-Applied", "artifactType") != MHD_YES))
		goto fail;
	res = mock_reply(r, MHD_HTTP_OK, resp);
	resp = NULL;
	goto done;
fail:
	if (resp)
		MHD_destroy_response(resp);
	res = mock_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "unknown error",
			       "cannot list referrers");
done:
	for (i = 0; i < n; i++)
		cJSON_Delete(all ? all[i] : NULL);
	free(all);
	cJSON_free(body);
	cJSON_Delete(root);
	free(link);
	free(q);
	return res;
}

/* See mock.h. */
int mock_referrers_subject(struct mock_req *r, const cJSON *manifest, struct MHD_Response *resp)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(manifest, "subject"), "digest");

	if (!resp || !r->srv->cfg.referrers_api || !cJSON_IsString(d) ||
	    !mock_valid_digest(d->valuestring))
		return 0;
	return MHD_add_response_header(resp, "OCI-Subject", d->valuestring) == MHD_YES ? 0 : -1;
}
