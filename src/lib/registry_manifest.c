/* SPDX-License-Identifier: Apache-2.0 */
/* Manifests: GET or HEAD with every known media type, PUT, DELETE. */
#include "registry_int.h"
#include "util/strutil.h"

#include <beampush/manifest.h>

#include <stdlib.h>

static const char *const accept_all[] = {
	"Accept: " BP_MEDIA_OCI_INDEX ", " BP_MEDIA_DOCKER_LIST ", " BP_MEDIA_OCI_MANIFEST
	", " BP_MEDIA_DOCKER_MANIFEST,
	NULL
};

/* Free what a manifest request learnt; see registry.h. */
void bp_registry__manifest_extra_release(bp_manifest_extra *x)
{
	if (!x)
		return;
	free(x->etag);
	free(x->subject);
	x->etag = x->subject = NULL;
	x->status = 0;
}

/* A header value the caller keeps: 0, or BP_ENOMEM. */
static int keep_header(char **slot, const char *value)
{
	if (!value)
		return 0;
	if (!(*slot = bp_strdup(value)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

/* GET or HEAD a manifest. */
int bp_registry__manifest_get(bp_registry *r, const char *repo, const char *ref, char **body,
			      size_t *len, char **ctype, char digest[BP_DIGEST_MAX])
{
	return bp_registry__manifest_get_ex(r, repo, ref, body, len, ctype, digest, NULL);
}

/* GET or HEAD a manifest, and what x asks to learn; see registry.h. */
int bp_registry__manifest_get_ex(bp_registry *r, const char *repo, const char *ref, char **body,
				 size_t *len, char **ctype, char digest[BP_DIGEST_MAX],
				 bp_manifest_extra *x)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	bp_dynbuf buf = BP_DYNBUF_INIT(BP_MANIFEST_MAX);
	char *scope = bp_registry__scope(r, repo, "pull"),
	     *url = bp_registry__url(r, repo, "manifests", ref);
	int err;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = body ? "GET" : "HEAD";
	req.url = url;
	req.headers = accept_all;
	req.resp = &buf;
	req.follow_redirects = 1;
	err = bp_registry__request(r, scope, &req, &resp, NULL);
	if (x)
		x->status = err ? 0 : resp.status;
	if (err) {
		if (err == BP_EPROTO && resp.body_over_cap)
			err = bp_error_set(BP_EPROTO, "manifest %s in %s/%s is larger than 4 MiB",
					   ref, r->domain, repo);
		goto done;
	}
	if (resp.status == 404) {
		err = bp_registry__status_error(&resp, ref);
		bp_error_set(BP_ENOTFOUND, "manifest %s not found in %s/%s", ref, r->domain, repo);
		goto done;
	}
	if (resp.status != 200) {
		err = bp_registry__status_error(&resp, ref);
		goto done;
	}
	if (digest) {
		digest[0] = '\0';
		if (resp.content_digest) {
			if (bp_digest_validate(resp.content_digest) != 0) {
				err = bp_error_prefix("manifest %s: Docker-Content-Digest", ref);
				goto done;
			}
			bp_strlcpy(digest, resp.content_digest, BP_DIGEST_MAX);
		}
	}
	if (ctype) {
		*ctype = bp_strdup(resp.content_type ? resp.content_type : "");
		if (!*ctype) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (x && (err = keep_header(&x->etag, resp.etag)))
		goto done;
	if (body)
		*body = bp_dynbuf_detach(&buf, len);
done:
	bp_dynbuf_release(&buf);
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	return err;
}

/*
 * A manifest refused for a blob the registry lacks, in a run that took
 * blobs on a 201 to POST ?digest= alone: that 201 is not to be believed
 * on this host any more (learnt and saved). 1 when so.
 */
static int blob_unknown_after_post(bp_registry *r, const bp_http_response *resp)
{
	int posted;

	if (!bp_registry__error_code_is(resp, "MANIFEST_BLOB_UNKNOWN") &&
	    !bp_registry__error_code_is(resp, "BLOB_UNKNOWN"))
		return 0;
	pthread_mutex_lock(&r->lock);
	posted = r->post_trusted > 0;
	pthread_mutex_unlock(&r->lock);
	if (posted)
		bp_registry__learn_post(r, 0);
	return posted;
}

/* PUT a manifest. */
int bp_registry__manifest_put(bp_registry *r, const char *repo, const char *ref,
			      const char *body, size_t len, const char *media_type,
			      char digest[BP_DIGEST_MAX])
{
	return bp_registry__manifest_put_ex(r, repo, ref, body, len, media_type, digest, NULL);
}

/* PUT a manifest, conditional on x->if_match; see registry.h. */
int bp_registry__manifest_put_ex(bp_registry *r, const char *repo, const char *ref,
				 const char *body, size_t len, const char *media_type,
				 char digest[BP_DIGEST_MAX], bp_manifest_extra *x)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *scope = bp_registry__scope(r, repo, "pull,push"),
	     *url = bp_registry__url(r, repo, "manifests", ref);
	char *ct = bp_aprintf("Content-Type: %s", media_type);
	char *cond = x && x->if_match ? bp_aprintf("If-Match: %s", x->if_match) : NULL;
	const char *hdrs[3] = { ct, cond, NULL };
	int err;

	if (!scope || !url || !ct || (x && x->if_match && !cond)) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "PUT";
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = (int64_t)len;
	if ((err = bp_registry__request(r, scope, &req, &resp, NULL)))
		goto done;
	if (x)
		x->status = resp.status;
	if (resp.status != 201 && resp.status != 200) {
		err = bp_registry__status_error(&resp, "manifest PUT");
		if (blob_unknown_after_post(r, &resp)) {
			char msg[512];

			bp_strlcpy(msg, bp_error_last(), sizeof(msg));
			err = bp_error_set(err,
					   "%s; the registry took blobs sent in one POST that "
					   "it does not hold: push again (they go in POST and PUT "
					   "from now on)",
					   msg);
		}
		goto done;
	}
	digest[0] = '\0';
	if (resp.content_digest) {
		if (bp_digest_validate(resp.content_digest) != 0) {
			err = bp_error_prefix("manifest PUT: Docker-Content-Digest");
			goto done;
		}
		bp_strlcpy(digest, resp.content_digest, BP_DIGEST_MAX);
	}
	if (x)
		err = keep_header(&x->subject, resp.oci_subject);
done:
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	free(ct);
	free(cond);
	return err;
}

/*
 * DELETE a manifest by digest. 202 is done; 405 or UNSUPPORTED means the
 * registry does not allow deletion (BP_EUNSUPPORTED).
 */
int bp_registry__manifest_delete(bp_registry *r, const char *repo, const char *digest)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *scope = bp_registry__scope(r, repo, "delete"),
	     *url = bp_registry__url(r, repo, "manifests", digest);
	int err;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "DELETE";
	req.url = url;
	if ((err = bp_registry__request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status == 202 || resp.status == 200 || resp.status == 204)
		goto done;
	err = bp_registry__status_error(&resp, "manifest DELETE");
	if (resp.status == 405 || bp_registry__error_code_is(&resp, "UNSUPPORTED"))
		err = bp_error_set(BP_EUNSUPPORTED, "%s: registry forbids deletion "
				   "(docker-registry: set REGISTRY_STORAGE_DELETE_ENABLED=true)",
				   r->domain);
	else if (resp.status == 404)
		err = bp_error_set(BP_ENOTFOUND, "manifest %s not found in %s/%s", digest,
				   r->domain, repo);
done:
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	return err;
}
