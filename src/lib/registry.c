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
	pthread_mutex_init(&r->recheck_lock, NULL);
	r->known = (bp_state_host)BP_STATE_HOST_INIT;
	r->opts = *opts;
	r->domain = bp_strdup(domain);
	/* Docker Hub's registry is not at its namespace's name */
	r->host = bp_strdup(strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain);
	r->http_opts.tls_verify = opts->tls_verify && !opts->insecure;
	r->http_opts.certs = opts->certs;
	r->http_opts.certs_host = r->host;
	r->http_opts.connect_timeout_ms = opts->connect_timeout_ms;
	r->http_opts.stall_secs = opts->stall_secs;
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
	bp_state__host_release(&r->known);
	pthread_mutex_destroy(&r->recheck_lock);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Requests on one HTTP/2 connection; see registry.h. */
int bp_registry__multiplexed(bp_registry *r)
{
	bp_http_share_stats st;

	if (!r->share)
		return 0;
	bp_http__share_stats(r->share, &st);
	return st.h2_connections > 0;
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

/* Take base without a ping; see registry.h. */
int bp_registry__assume_base(bp_registry *r, const char *base)
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
	return 0;
}

/* Route r through a test seam; see registry_int.h. */
int bp_registry__set_seam(bp_registry *r, const char *base, const bp_registry_seam *seam)
{
	int err;

	if ((err = bp_registry__assume_base(r, base)))
		return err;
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

/* Plain http may be used: a loopback host, or one the user called insecure. */
static int plain_allowed(const bp_registry *r)
{
	return is_loopback(r->host) || r->opts.insecure || r->opts.plain_http;
}

/* base and origin for scheme; 0 or BP_ENOMEM. */
static int set_base(bp_registry *r, const char *scheme)
{
	free(r->base);
	r->base = bp_aprintf("%s://%s", scheme, r->host);
	free(r->origin);
	r->origin = r->base ? bp_http__origin(r->base) : NULL;
	if (!r->base || !r->origin)
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

/* See registry_int.h. */
void bp_registry__save_host(bp_registry *r)
{
	bp_state_host now = BP_STATE_HOST_INIT;
	unsigned learnt;
	int same;

	if (r->seam.send || !r->base)
		return;
	learnt = bp_auth__known(r->auth, now.auth, &now.realm, &now.service);
	bp_strlcpy(now.scheme, bp_strprefix(r->base, "https://") ? "https" : "http",
		   sizeof(now.scheme));
	pthread_mutex_lock(&r->lock);
	now.post_stores = r->known.post_stores;
	same = learnt == r->auth_saved && strcmp(now.scheme, r->known.scheme) == 0 &&
	       strcmp(now.auth, r->known.auth) == 0;
	if (!same) {
		bp_state__host_release(&r->known);
		r->known = now;
		r->auth_saved = learnt;
		bp_state__host_put(r->host, &r->known);
	}
	pthread_mutex_unlock(&r->lock);
	if (same)
		bp_state__host_release(&now);
}

/*
 * Take what an earlier run learnt of the host into r->known. 1 when it is
 * enough to skip the ping (its scheme and challenge), after setting both
 * up; 0 otherwise. A remembered plain http counts only where plain http
 * is allowed now: a remembered answer never downgrades a host.
 */
static int take_remembered(bp_registry *r)
{
	bp_state_host *k = &r->known;
	int https;

	if (bp_state__host_get(r->host, k))
		return 0;
	if ((strcmp(k->scheme, "http") == 0 && !plain_allowed(r)) ||
	    (strcmp(k->scheme, "https") == 0 && r->opts.plain_http))
		k->scheme[0] = '\0';
	if (r->opts.fresh || !k->scheme[0] || !k->auth[0])
		return 0;
	https = strcmp(k->scheme, "https") == 0;
	if (set_base(r, k->scheme) ||
	    bp_auth__remember(r->auth, k->auth, k->realm, k->service, https)) {
		bp_error_clear();
		return 0;
	}
	r->unconfirmed = 1;
	bp_registry__dbg(r, "%s: %s and its auth remembered from an earlier run: no ping", r->host,
			 k->scheme);
	return 1;
}

/* GET /v2/ over scheme; *fallback when plain http is to be tried instead. */
static int ping_once(bp_registry *r, bp_http *h, const char *scheme, int may_fall,
		     bp_http_response *resp, int *fallback)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	char *url = bp_aprintf("%s://%s/v2/", scheme, r->host);
	int n, err;

	*fallback = 0;
	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.url = url;
	bp_registry__dbg(r, "ping %s", url);
	for (n = 0;; n++) {
		err = bp_registry__perform(r, h, &req, resp);
		*fallback = err && may_fall && fall_back_to_http(r, h, err);
		if (*fallback || !bp_retry__should(&r->retry, "GET /v2/", err, resp, n))
			break;
	}
	free(url);
	return err;
}

/* What a ping's answer teaches: a registry's 200 or 401, or an error. */
static int ping_answer(bp_registry *r, const bp_http_response *resp)
{
	if (resp->status == 200 || resp->status == 401)
		return bp_auth__ping(r->auth, resp);
	return bp_error_set(BP_EPROTO, "%s does not look like a registry: GET /v2/ answered %ld",
			    r->base, resp->status);
}

/*
 * Ping /v2/ over https, or plain http where that is allowed: straight to
 * plain http when the user said http:// or an earlier run found the host
 * speaks nothing else (and if that fails, the usual way after all). A
 * passing failure (408, 429, 5xx, a network error) on the scheme settled
 * on is retried as any request is; the failure that says to fall back to
 * plain http is not one.
 */
int bp_registry__ping(bp_registry *r)
{
	bp_http_response resp = { 0 };
	int plain_ok = plain_allowed(r), fallback = 0, err = 0, plain = 0;
	bp_http *h = NULL;

	if (!r->seam.send && take_remembered(r))
		return 0;
	if ((err = bp_registry__conn_get(r, &h)))
		return err;
	if (r->opts.plain_http || (plain_ok && strcmp(r->known.scheme, "http") == 0)) {
		err = ping_once(r, h, "http", 0, &resp, &fallback);
		plain = 1;
		if (r->opts.plain_http || (!err && (resp.status == 200 || resp.status == 401)))
			goto answered;
		bp_registry__dbg(r, "%s no longer answers plain http; asking again", r->host);
		bp_error_clear();
		r->known.scheme[0] = '\0';
		plain = 0;
	}
	if (plain_ok && !r->opts.insecure && r->opts.tls_verify &&
	    strcmp(r->known.scheme, "https") != 0 && (plain = speaks_no_tls(r, h)) < 0) {
		bp_registry__conn_put(r, h);
		return plain;
	}
	if (!plain) {
		err = ping_once(r, h, "https", plain_ok, &resp, &fallback);
		if (fallback)
			bp_registry__dbg(r, "%s does not speak TLS; using plain http", r->host);
		plain = fallback;
	}
	if (plain)
		err = ping_once(r, h, "http", 0, &resp, &fallback);
answered:
	bp_registry__conn_put(r, h);
	if (!err)
		err = set_base(r, plain ? "http" : "https");
	if (!err)
		err = ping_answer(r, &resp);
	if (!err)
		bp_registry__save_host(r);
	bp_http__response_release(&resp);
	return err;
}

/* See registry_int.h. */
int bp_registry__maybe_stale(bp_registry *r)
{
	int u, checked;

	pthread_mutex_lock(&r->lock);
	checked = r->rechecked;
	u = !checked && r->unconfirmed;
	pthread_mutex_unlock(&r->lock);
	return u || (!checked && bp_auth__unconfirmed(r->auth));
}

/* See registry_int.h. */
void bp_registry__confirmed(bp_registry *r)
{
	pthread_mutex_lock(&r->lock);
	r->unconfirmed = 0;
	pthread_mutex_unlock(&r->lock);
}

/* See registry_int.h. */
int bp_registry__recheck(bp_registry *r, bp_http *h)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *url = NULL, msg[1024];
	int again = 0, code = bp_error_last_code(), err;

	/* the request's own failure stays the error when this does not help */
	bp_strlcpy(msg, bp_error_last(), sizeof(msg));
	pthread_mutex_lock(&r->recheck_lock);
	pthread_mutex_lock(&r->lock);
	again = r->rechecked;
	r->rechecked = 1;
	pthread_mutex_unlock(&r->lock);
	if (again)
		goto done; /* another thread asked already: its answer holds */
	if (!(url = bp_aprintf("%s/v2/", r->base)))
		goto done;
	bp_registry__dbg(r, "%s: what an earlier run learnt of it does not hold; ping %s", r->host,
			 url);
	req.url = url;
	err = bp_registry__perform(r, h, &req, &resp);
	if (!err && (resp.status == 200 || resp.status == 401) &&
	    bp_auth__ping(r->auth, &resp) == 0) {
		again = 1;
		bp_registry__save_host(r);
	} else {
		/* not the registry it was (another scheme?): the next run starts afresh */
		bp_state__host_drop(r->host);
	}
	pthread_mutex_lock(&r->lock);
	r->unconfirmed = 0;
	pthread_mutex_unlock(&r->lock);
done:
	pthread_mutex_unlock(&r->recheck_lock);
	bp_http__response_release(&resp);
	free(url);
	if (!again && code)
		bp_error_set(code, "%s", msg);
	return again;
}

/* One token for a whole push: pull,push on every request of it. */
char *bp_registry__scope(const bp_registry *r, const char *repo, const char *actions)
{
	return bp_aprintf("repository:%s:%s", repo, r->opts.push ? "pull,push" : actions);
}

/* The URL of a blob or a manifest of repo (under a mirror's API root, with its query). */
char *bp_registry__url(bp_registry *r, const char *repo, const char *kind, const char *ref)
{
	const char *q = r->opts.query;

	return bp_aprintf("%s%s/%s/%s/%s%s%s", r->base, r->opts.api ? r->opts.api : "/v2", repo,
			  kind, ref, q ? "?" : "", q ? q : "");
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
