/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The referrers API of OCI distribution 1.1: GET /v2/<name>/referrers/<digest>,
 * page by page along Link headers, and the verdict on a registry that
 * does not have it (referrers.c then reads the tag schema instead).
 */
#include "registry_int.h"
#include "util/strutil.h"

#include <beampush/manifest.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * 1 when a failed first answer says the registry has no referrers API:
 * a status a router gives a path it does not know (distribution 2.8
 * answers "404 page not found" in plain text), or a registry error code
 * that says as much. Refused credentials and rate limits are not that.
 */
static int no_api(const bp_http_response *resp)
{
	long s = resp->status;

	if (s == 400 || s == 404 || s == 405 || s == 406 || s == 501)
		return 1;
	if (s < 400 || s == 401 || s == 403 || s == 429)
		return 0;
	return bp_registry__error_code_is(resp, "UNSUPPORTED") ||
	       bp_registry__error_code_is(resp, "NAME_UNKNOWN");
}

/* 1 when an OCI-Filters-Applied value lists artifactType. */
static int filtered(const char *v)
{
	const char *p = v;

	while (p && *p) {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == strlen("artifactType") && strncasecmp(p, "artifactType", n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* The first page's URL: .../referrers/<digest>[?artifactType=<type>]; new string. */
static char *first_url(bp_registry *r, const char *repo, const char *digest, const char *type)
{
	char *base = bp_registry__url(r, repo, "referrers", digest), *enc, *url;

	if (!base || !type)
		return base;
	enc = bp_urlencode(type);
	url = enc ? bp_aprintf("%s?artifactType=%s", base, enc) : NULL;
	free(enc);
	free(base);
	return url;
}

/* What a referrers listing hands its pages to. */
typedef struct {
	bp_registry *r;
	const char *repo;
	int (*fn)(const bp_referrers_page *p, void *payload);
	void *payload;
} referrers_walk;

/* One answer of the API: a page of the list, or (the first) the verdict of no API. */
static int referrers_page(const bp_http_response *resp, const bp_dynbuf *buf, size_t n,
			  void *payload)
{
	referrers_walk *w = payload;
	bp_referrers_page page;
	int err;

	if (resp->status != 200) {
		err = bp_registry__status_error(resp, "referrers");
		if (n == 1 && no_api(resp)) {
			char why[600];

			bp_strlcpy(why, bp_error_last(), sizeof(why));
			err = bp_error_set(BP_EUNSUPPORTED, "%s/%s has no referrers API (%s)",
					   w->r->domain, w->repo, why);
		}
		return err;
	}
	page.body = buf->ptr ? buf->ptr : "";
	page.len = buf->len;
	page.content_type = resp->content_type;
	page.filtered = filtered(resp->oci_filters_applied);
	page.page = n;
	return w->fn(&page, w->payload);
}

/* List referrers page by page; see registry.h. */
int bp_registry__referrers(bp_registry *r, const char *repo, const char *digest,
			   const char *artifact_type,
			   int (*fn)(const bp_referrers_page *p, void *payload), void *payload)
{
	static const char *const accept[] = { "Accept: " BP_MEDIA_OCI_INDEX, NULL };
	referrers_walk rw = { r, repo, fn, payload };
	bp_pages_walk w = { NULL,	 accept, BP_MANIFEST_MAX, BP_REFERRERS_PAGES_MAX,
			    "referrers", repo,	 referrers_page,  &rw };
	char *scope = bp_registry__scope(r, repo, "pull");
	char *url = first_url(r, repo, digest, artifact_type);
	int err;

	if (!scope || !url) {
		free(url);
		err = bp_error_set(BP_ENOMEM, "out of memory");
	} else {
		w.scope = scope;
		err = bp_registry__walk_pages(r, &w, url);
	}
	free(scope);
	return err;
}
