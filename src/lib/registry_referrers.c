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

/* List referrers page by page; see registry.h. */
int bp_registry__referrers(bp_registry *r, const char *repo, const char *digest,
			   const char *artifact_type,
			   int (*fn)(const bp_referrers_page *p, void *payload), void *payload)
{
	bp_http_response resp = { 0 };
	bp_dynbuf buf = BP_DYNBUF_INIT(BP_MANIFEST_MAX);
	static const char *const accept[] = { "Accept: " BP_MEDIA_OCI_INDEX, NULL };
	char *scope = bp_registry__scope(r, repo, "pull");
	char *url = first_url(r, repo, digest, artifact_type);
	char **seen = NULL;
	size_t nseen = 0, i;
	int err = 0;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	while (url) {
		bp_http_request req = BP_HTTP_REQUEST_INIT;
		bp_referrers_page page;
		char **grown;

		if (nseen >= BP_REFERRERS_PAGES_MAX) {
			err = bp_error_set(BP_EPROTO,
					   "referrers of %s in %s/%s: more than %d pages, giving up "
					   "(a list that never ends?)",
					   digest, r->domain, repo, BP_REFERRERS_PAGES_MAX);
			goto done;
		}
		if (!(grown = realloc(seen, (nseen + 1) * sizeof(*seen)))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
		seen = grown;
		seen[nseen++] = url;
		bp_dynbuf_reset(&buf);
		req.url = url;
		req.headers = accept;
		req.resp = &buf;
		bp_registry__dbg(r, "referrers page %zu: %s", nseen, url);
		if ((err = bp_registry__request(r, scope, &req, &resp, NULL))) {
			if (err == BP_EPROTO && resp.body_over_cap)
				err = bp_error_set(BP_EPROTO,
						   "referrers of %s in %s/%s: a page larger than "
						   "4 MiB",
						   digest, r->domain, repo);
			goto done;
		}
		if (resp.status != 200) {
			err = bp_registry__status_error(&resp, "referrers");
			if (nseen == 1 && no_api(&resp)) {
				char why[600];

				bp_strlcpy(why, bp_error_last(), sizeof(why));
				err = bp_error_set(BP_EUNSUPPORTED, "%s/%s has no referrers API (%s)",
						   r->domain, repo, why);
			}
			goto done;
		}
		page.body = buf.ptr ? buf.ptr : "";
		page.len = buf.len;
		page.content_type = resp.content_type;
		page.filtered = filtered(resp.oci_filters_applied);
		page.page = nseen;
		if ((err = fn(&page, payload)))
			goto done;
		if ((err = bp_registry__next_page(r, "referrers", repo, &resp, seen, nseen, &url)) ||
		    !url)
			goto done;
		bp_http__response_release(&resp);
		memset(&resp, 0, sizeof(resp));
	}
done:
	bp_http__response_release(&resp);
	bp_dynbuf_release(&buf);
	free(scope);
	if (url && !(nseen && seen[nseen - 1] == url))
		free(url);
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	return err;
}
