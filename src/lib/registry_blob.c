/* SPDX-License-Identifier: Apache-2.0 */
/* Blobs that are there or not: HEAD, cross-repository mount, GET from an offset. */
#include "registry_int.h"
#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>

/*
 * Cross-repository mount: POST ?mount=&from= with one token for both
 * repositories. 201: repo has the blob now. 202: the registry opened an
 * upload instead (it may not mount, or the token lacks pull on from):
 * *session (when not NULL) gets that session's Location for the upload;
 * BP_ENOTFOUND, as for a refused mount, so the caller uploads.
 */
int bp_registry__blob_mount(bp_registry *r, const char *repo, const char *digest,
			    const char *from, char **session)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *scope = bp_aprintf("repository:%s:pull,push repository:%s:pull", repo, from);
	char *enc = bp_urlencode(digest), *efrom = bp_urlencode(from), *url = NULL;
	int err;

	if (session)
		*session = NULL;
	if (!scope || !enc || !efrom ||
	    !(url = bp_aprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", r->base, repo, enc,
			       efrom))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "POST";
	req.url = url;
	err = bp_registry__request(r, scope, &req, &resp, NULL);
	if (!err && resp.status == 201) {
		if (resp.content_digest && !bp_digest_equal(resp.content_digest, digest))
			err = bp_error_set(BP_EINTEGRITY,
					   "mount of %s from %s: registry answered %.80s", digest,
					   from, resp.content_digest);
		goto done;
	}
	/* not mounted: the session it opened takes the upload (else it expires on its own) */
	if (!err && resp.status == 202 && resp.location && session)
		*session = bp_http__resolve(resp.url, resp.location);
	/* a refused mount is no error: the blob is uploaded instead */
	if (!err || err == BP_EAUTH)
		err = bp_error_set(BP_ENOTFOUND, "blob %s not mounted from %s", digest, from);
done:
	bp_http__response_release(&resp);
	free(scope);
	free(enc);
	free(efrom);
	free(url);
	return err;
}

/* HEAD a blob. */
int bp_registry__blob_exists(bp_registry *r, const char *repo, const char *digest,
			     int64_t *size)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *scope = bp_registry__scope(r, repo, "pull"),
	     *url = bp_registry__url(r, repo, "blobs", digest);
	int err;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "HEAD";
	req.url = url;
	req.follow_redirects = 1;
	if ((err = bp_registry__request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status == 200) {
		if (size)
			*size = resp.content_length;
	} else if (resp.status == 404) {
		err = BP_ENOTFOUND;
		bp_error_set(BP_ENOTFOUND, "blob %s not in %s", digest, repo);
	} else {
		err = bp_registry__status_error(&resp, "blob HEAD");
	}
done:
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	return err;
}

/* Write for a bp_range_sink: drop what comes before offset, check a 206 starts there. */
int bp_registry__range_write(const void *data, size_t len, void *p)
{
	bp_range_sink *s = p;
	const char *d = data;

	if (s->skip < 0) {
		s->skip = 0;
		if (s->offset && s->resp->status == 206) {
			const char *cr = s->resp->content_range;
			char want[48];

			snprintf(want, sizeof(want), "bytes %lld-", (long long)s->offset);
			if (!cr || !bp_strprefix(cr, want))
				return bp_error_set(BP_EPROTO,
						    "registry answered a range request with "
						    "Content-Range \"%.60s\"",
						    cr ? cr : "");
		} else {
			s->skip = s->offset;
		}
	}
	if (s->skip) {
		size_t n = (int64_t)len < s->skip ? len : (size_t)s->skip;

		s->skip -= (int64_t)n;
		d += n;
		len -= n;
		if (!len)
			return 0;
	}
	return s->fn(d, len, s->payload);
}

/* GET a blob from offset into write_fn. */
int bp_registry__blob_get(bp_registry *r, const char *repo, const char *digest, int64_t size,
			  int64_t offset, bp_http_write_fn write_fn, void *payload)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *scope = bp_registry__scope(r, repo, "pull"),
	     *url = bp_registry__url(r, repo, "blobs", digest);
	bp_range_sink rs = { write_fn, payload, &resp, offset, -1 };
	char range[64];
	const char *hdrs[2] = { range, NULL };
	int err;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.url = url;
	req.follow_redirects = 1;
	req.size_hint = size >= 0 ? size - offset : -1;
	req.write_fn = bp_registry__range_write;
	req.write_payload = &rs;
	if (offset > 0) {
		snprintf(range, sizeof(range), "Range: bytes=%lld-", (long long)offset);
		req.headers = hdrs;
	}
	if ((err = bp_registry__request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 200 && !(offset > 0 && resp.status == 206))
		err = bp_registry__status_error(&resp, digest);
done:
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	return err;
}
