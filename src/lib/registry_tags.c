/* SPDX-License-Identifier: Apache-2.0 */
/* Tag lists, page by page along Link headers. */
#include "registry_int.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAGS_PAGE_MAX (4 * 1024 * 1024)

#define TAGS_PAGES_MAX 10000

/* 1 when the parameters of one link-value (len bytes at p) hold rel="next" or rel=next. */
static int rel_is_next(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 8 <= len; i++) {
		if (strncasecmp(p + i, "rel=", 4) != 0)
			continue;
		if (len - i >= 10 && strncasecmp(p + i + 4, "\"next\"", 6) == 0)
			return 1;
		if (strncasecmp(p + i + 4, "next", 4) == 0 &&
		    (i + 8 == len || p[i + 8] == ';' || p[i + 8] == ',' || p[i + 8] == ' '))
			return 1;
	}
	return 0;
}

/* The next page from a Link header; see registry.h. */
int bp_registry__link_next(const char *base, const char *link, char **out)
{
	const char *lt = link, *gt, *params, *end;
	char *ref;

	*out = NULL;
	while (lt && (lt = strchr(lt, '<'))) {
		if (!(gt = strchr(lt, '>')))
			return 0;
		params = gt + 1;
		end = strchr(params, '<');
		if (!end)
			end = params + strlen(params);
		if (rel_is_next(params, (size_t)(end - params))) {
			ref = bp_strndup(lt + 1, (size_t)(gt - lt - 1));
			*out = ref ? bp_http__resolve(base, ref) : NULL;
			free(ref);
			return *out ? 1 : -1;
		}
		lt = end;
	}
	return 0;
}

/* 1 when url was listed already. */
static int seen_before(char *const *seen, size_t n, const char *url)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(seen[i], url) == 0)
			return 1;
	return 0;
}

/* See registry.h. */
int bp_registry__parse_tags(const char *body, size_t len, int (*fn)(const char *tag, void *payload),
			    void *payload)
{
	cJSON *j = cJSON_ParseWithLength(body, len), *tags, *t;
	int rc = 0;

	tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
	if (!cJSON_IsObject(j) || (tags && !cJSON_IsArray(tags) && !cJSON_IsNull(tags))) {
		cJSON_Delete(j);
		return -1;
	}
	if (cJSON_IsArray(tags)) {
		cJSON_ArrayForEach(t, tags) {
			if (cJSON_IsString(t) && fn(t->valuestring, payload)) {
				rc = 1;
				break;
			}
		}
	}
	cJSON_Delete(j);
	return rc;
}

/* The page after resp's; see registry_int.h. */
int bp_registry__next_page(bp_registry *r, const char *what, const char *repo,
			   const bp_http_response *resp, char *const *seen, size_t nseen,
			   char **url)
{
	char *next = NULL, *origin;
	int found = resp->link ? bp_registry__link_next(resp->url, resp->link, &next) : 0;

	*url = NULL;
	if (found == 0)
		return 0;
	if (found < 0)
		return bp_error_set(BP_EPROTO, "%s of %s/%s: unusable Link header", what,
				    r->domain, repo);
	origin = bp_http__origin(next);
	if (!origin || !r->origin || strcmp(origin, r->origin) != 0) {
		free(origin);
		free(next);
		return bp_error_set(BP_EPROTO,
				    "%s of %s/%s: Link header leads to another "
				    "server (%s), not followed",
				    what, r->domain, repo, r->origin ? r->origin : "?");
	}
	free(origin);
	if (seen_before(seen, nseen, next)) {
		free(next);
		return bp_error_set(BP_EPROTO,
				    "%s of %s/%s: Link header loops back to a page "
				    "already listed (page %zu)",
				    what, r->domain, repo, nseen);
	}
	*url = next;
	return 0;
}

/* See registry_int.h. */
int bp_registry__walk_pages(bp_registry *r, const bp_pages_walk *w, char *url)
{
	bp_http_response resp = { 0 };
	bp_dynbuf buf = BP_DYNBUF_INIT(w->cap);
	char **seen = NULL;
	size_t nseen = 0, i;
	int err = 0;

	while (url) {
		bp_http_request req = BP_HTTP_REQUEST_INIT;
		char **grown;

		if (nseen >= w->max) {
			err = bp_error_set(BP_EPROTO, "%s of %s/%s: more than %zu pages, giving up",
					   w->what, r->domain, w->repo, w->max);
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
		req.headers = w->headers;
		req.resp = &buf;
		bp_registry__dbg(r, "%s page %zu: %s", w->what, nseen, url);
		if ((err = bp_registry__request(r, w->scope, &req, &resp, NULL))) {
			if (err == BP_EPROTO && resp.body_over_cap)
				err = bp_error_set(BP_EPROTO, "%s of %s/%s: a page larger than %zu MiB",
						   w->what, r->domain, w->repo, w->cap >> 20);
			goto done;
		}
		if ((err = w->page(&resp, &buf, nseen, w->payload)))
			goto done;
		if ((err = bp_registry__next_page(r, w->what, w->repo, &resp, seen, nseen, &url)) ||
		    !url)
			goto done;
		bp_http__response_release(&resp);
		memset(&resp, 0, sizeof(resp));
	}
done:
	bp_http__response_release(&resp);
	bp_dynbuf_release(&buf);
	if (url && !(nseen && seen[nseen - 1] == url))
		free(url);
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	return err < 0 ? err : 0;
}

/* What a tag listing hands its pages to. */
typedef struct {
	bp_registry *r;
	const char *repo;
	int (*fn)(const char *tag, void *payload);
	void *payload;
} tags_walk;

/* A tags/list page: its tags to fn, which may stop the walk (1). */
static int tags_page(const bp_http_response *resp, const bp_dynbuf *buf, size_t page,
		     void *payload)
{
	tags_walk *t = payload;
	int err, found;

	if (resp->status == 404) {
		err = bp_registry__status_error(resp, "tags");
		if (page == 1)
			bp_error_set(BP_ENOTFOUND, "repository %s/%s not found", t->r->domain,
				     t->repo);
		return err;
	}
	if (resp->status != 200)
		return bp_registry__status_error(resp, "tags");
	found = bp_registry__parse_tags(buf->ptr ? buf->ptr : "", buf->len, t->fn, t->payload);
	if (found < 0)
		return bp_error_set(BP_EPROTO, "tags of %s/%s: answer is not a tag list",
				    t->r->domain, t->repo);
	return found > 0;
}

/*
 * List tags, page by page. A Link is followed only to the registry's own
 * origin (a token must not go elsewhere), never to a page listed before,
 * and for at most TAGS_PAGES_MAX pages.
 */
int bp_registry__tags(bp_registry *r, const char *repo,
		      int (*fn)(const char *tag, void *payload), void *payload)
{
	tags_walk t = { r, repo, fn, payload };
	bp_pages_walk w = { NULL, NULL, TAGS_PAGE_MAX, TAGS_PAGES_MAX, "tags", repo, tags_page, &t };
	char *scope = bp_registry__scope(r, repo, "pull");
	char *url = bp_aprintf("%s/v2/%s/tags/list", r->base, repo);
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
