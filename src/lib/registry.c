/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry handle: what ping learnt (the base URL and the auth
 * scheme), the pool of connections, the retry policy (retry.c; the auth
 * handle's token requests use it too), the test seam, and login. The
 * operations live beside it: registry_request.c (authenticated requests,
 * retries, error mapping), registry_blob.c, registry_upload.c,
 * registry_manifest.c and registry_tags.c.
 */
#include "registry_int.h"
#include "auth.h"
#include "util/strutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A debug line to the log callback; nothing unless debugging. */
void bp_registry__dbg(bp_registry *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!r->opts.debug || !r->opts.log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->opts.log_cb(line, r->opts.payload);
}

static int is_loopback(const char *host)
{
	char h[256];
	const char *colon;
	size_t n;

	if (host[0] == '[')
		return bp_strprefix(host, "[::1]") != NULL;
	colon = strchr(host, ':');
	n = colon ? (size_t)(colon - host) : strlen(host);
	if (n >= sizeof(h))
		return 0;
	memcpy(h, host, n);
	h[n] = '\0';
	return strcmp(h, "localhost") == 0 || bp_strprefix(h, "127.") != NULL;
}

/* New endpoint for domain; no network traffic yet. */
int bp_registry__new(bp_registry **out, const char *domain, const bp_credentials *creds,
		     const bp_registry_options *opts)
{
	bp_registry *r = calloc(1, sizeof(*r));
	bp_http_share_options share_opts = { 0 };
	int err;

	if (!r)
		return bp_error_set(BP_ENOMEM, "out of memory");
	pthread_mutex_init(&r->lock, NULL);
	r->opts = *opts;
	r->domain = bp_strdup(domain);
	/* Docker Hub's registry is not at its namespace's name */
	r->host = bp_strdup(strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain);
	r->http_opts.tls_verify = opts->tls_verify && !opts->insecure;
	r->http_opts.debug = opts->debug;
	r->http_opts.log_cb = opts->log_cb;
	r->http_opts.payload = opts->payload;
	r->retry.retries = opts->retries;
	r->retry.say = opts->retry_cb;
	r->retry.payload = opts->payload;
	if (!r->domain || !r->host) {
		bp_registry__free(r);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	/* one share for the pool: TLS sessions, and one HTTP/2 connection per host */
	share_opts.say = opts->retry_cb;
	share_opts.log_cb = opts->debug ? opts->log_cb : NULL;
	share_opts.payload = opts->payload;
	if ((err = bp_http__share_new(&r->share, &share_opts))) {
		bp_registry__free(r);
		return err;
	}
	r->http_opts.share = r->share;
	err = bp_auth__new(&r->auth, domain, creds, &r->retry, opts->debug ? opts->log_cb : NULL,
			   opts->payload);
	if (err) {
		bp_registry__free(r);
		return err;
	}
	*out = r;
	return 0;
}

/* Free r, its connections and its tokens; NULL is fine. */
void bp_registry__free(bp_registry *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->npool; i++)
		bp_http__free(r->pool[i]);
	/* after every handle that used it */
	bp_http__share_free(r->share);
	bp_auth__free(r->auth);
	free(r->domain);
	free(r->host);
	free(r->base);
	free(r->origin);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* A pooled connection, or a new one: each is used by one thread at a time. */
int bp_registry__conn_get(bp_registry *r, bp_http **h)
{
	pthread_mutex_lock(&r->lock);
	if (r->npool) {
		*h = r->pool[--r->npool];
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	pthread_mutex_unlock(&r->lock);
	return bp_http__new(h, &r->http_opts);
}

/* Back to the pool; freed when the pool is full. */
void bp_registry__conn_put(bp_registry *r, bp_http *h)
{
	pthread_mutex_lock(&r->lock);
	if (r->npool < POOL_MAX) {
		r->pool[r->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	bp_http__free(h);
}

/* Send one request: over h, or to the test seam when one is set. */
int bp_registry__perform(bp_registry *r, bp_http *h, const bp_http_request *req,
			 bp_http_response *resp)
{
	if (r->seam.send)
		return r->seam.send(req, resp, r->seam.payload);
	return bp_http__perform(h, req, resp);
}

/* Route r through a test seam; see registry_int.h. */
int bp_registry__set_seam(bp_registry *r, const char *base, const bp_registry_seam *seam)
{
	char *b = bp_strdup(base), *o = b ? bp_http__origin(b) : NULL;

	if (!b || !o) {
		free(b);
		free(o);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	free(r->base);
	free(r->origin);
	r->base = b;
	r->origin = o;
	if (seam)
		r->seam = *seam;
	else
		memset(&r->seam, 0, sizeof(r->seam));
	r->retry.sleep = r->seam.sleep;
	r->retry.sleep_payload = r->seam.payload;
	return 0;
}

/*
 * Whether a loopback registry speaks no TLS at all (1) or does (0), learnt
 * without loading the CA store (most of a short run's time). One that
 * does is then pinged, and used, with its certificate verified.
 */
static int speaks_no_tls(bp_registry *r, bp_http *h)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *url = bp_aprintf("https://%s/v2/", r->host);
	int plain = 0;

	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.url = url;
	req.tls_probe = 1;
	if (bp_registry__perform(r, h, &req, &resp) && bp_http__last_was_plain_http(h)) {
		bp_registry__dbg(r, "%s does not speak TLS; using plain http", r->host);
		plain = 1;
	}
	bp_http__response_release(&resp);
	free(url);
	bp_error_clear();
	return plain;
}

/*
 * Whether a failed https ping of a loopback registry (or an insecure one)
 * should go on in plain http: only when the registry does not speak TLS at
 * all (or the user said it is insecure); a certificate we do not trust is
 * an error, never a silent downgrade.
 */
static int fall_back_to_http(bp_registry *r, bp_http *h, int err)
{
	return bp_http__last_was_plain_http(h) ||
	       (r->opts.insecure && (err == BP_ETLS || err == BP_ENET));
}

/*
 * Ping /v2/ over https, or plain http where that is allowed. A passing
 * failure (408, 429, 5xx, a network error) on the scheme settled on is
 * retried as any request is; the failure that says to fall back to plain
 * http is not one.
 */
int bp_registry__ping(bp_registry *r)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	const char *schemes[2] = { "https", "http" };
	int plain_ok = is_loopback(r->host) || r->opts.insecure;
	bp_http *h = NULL;
	char *url = NULL;
	int i, n, fallback = 0, err = 0;

	if ((err = bp_registry__conn_get(r, &h)))
		return err;
	i = 0;
	if (plain_ok && !r->opts.insecure && r->opts.tls_verify && (i = speaks_no_tls(r, h)) < 0) {
		bp_registry__conn_put(r, h);
		return i;
	}
	for (; i < 2; i++) {
		free(url);
		url = bp_aprintf("%s://%s/v2/", schemes[i], r->host);
		if (!url) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			break;
		}
		req.url = url;
		bp_registry__dbg(r, "ping %s", url);
		for (n = 0;; n++) {
			err = bp_registry__perform(r, h, &req, &resp);
			fallback = err && i == 0 && plain_ok && fall_back_to_http(r, h, err);
			if (fallback || !bp_retry__should(&r->retry, "GET /v2/", err, &resp, n))
				break;
		}
		if (!fallback)
			break;
		bp_registry__dbg(r, "%s does not speak TLS; using plain http", r->host);
	}
	bp_registry__conn_put(r, h);
	if (err)
		goto done;
	free(r->base);
	r->base = bp_aprintf("%s://%s", schemes[i], r->host);
	free(r->origin);
	r->origin = r->base ? bp_http__origin(r->base) : NULL;
	if (!r->base || !r->origin) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if (resp.status == 200 || resp.status == 401) {
		err = bp_auth__ping(r->auth, &resp);
	} else {
		err = bp_error_set(BP_EPROTO,
				   "%s does not look like a registry: GET /v2/ answered %ld",
				   r->base, resp.status);
	}
done:
	free(url);
	bp_http__response_release(&resp);
	return err;
}

/* One token for a whole push: pull,push on every request of it. */
char *bp_registry__scope(const bp_registry *r, const char *repo, const char *actions)
{
	return bp_aprintf("repository:%s:%s", repo, r->opts.push ? "pull,push" : actions);
}

/* The URL of a blob or a manifest of repo. */
char *bp_registry__url(bp_registry *r, const char *repo, const char *kind, const char *ref)
{
	return bp_aprintf("%s/v2/%s/%s/%s", r->base, repo, kind, ref);
}

/* Check the credentials; see registry.h. */
int bp_registry__login(bp_registry *r, char **refresh)
{
	bp_http *h;
	int err;

	if ((err = bp_registry__conn_get(r, &h)))
		return err;
	err = bp_auth__login(r->auth, h, r->base, refresh);
	bp_registry__conn_put(r, h);
	return err;
}
