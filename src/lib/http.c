/* SPDX-License-Identifier: Apache-2.0 */
#include "http_int.h"
#include "util/strutil.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR_BODY_MAX (64 * 1024)
#define MAX_REDIRECTS 10

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A new handle; BP_ENOMEM or BP_ERROR when curl cannot start. */
int bp_http__new(bp_http **out, const bp_http_options *opts)
{
	bp_http *h;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return bp_error_set(BP_ERROR, "libcurl: %s", curl_easy_strerror(global_rc));
	h = calloc(1, sizeof(*h));
	if (!h)
		return bp_error_set(BP_ENOMEM, "out of memory");
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return bp_error_set(BP_ERROR, "libcurl: cannot create a handle");
	}
	h->opts = *opts;
	*out = h;
	return 0;
}

/* Free h and close its connections; NULL is fine. */
void bp_http__free(bp_http *h)
{
	size_t i;

	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	for (i = 0; i < h->nslots; i++) {
		free(h->slots[i].hostport);
		bp_certs__free(h->slots[i].certs);
	}
	free(h->hostport);
	free(h);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *p)
{
	bp_http_share *s = p;

	pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *p)
{
	bp_http_share *s = p;

	pthread_mutex_unlock(&s->locks[data]);
}

/* A share of TLS sessions and DNS answers; the multi handle comes with the first https request. */
int bp_http__share_new(bp_http_share **out, const bp_http_share_options *opts)
{
	bp_http_share *s;
	int i;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return bp_error_set(BP_ERROR, "libcurl: %s", curl_easy_strerror(global_rc));
	if (!(s = calloc(1, sizeof(*s))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (!(s->sh = curl_share_init())) {
		free(s);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	s->opts = *opts;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->locks[i], NULL);
	pthread_mutex_init(&s->lock, NULL);
	curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	/* resumed handshakes: a round trip and the signature checks saved per connection */
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	/*
	 * Not the connection cache: libcurl does not support sharing it
	 * between threads; the multi handle is where connections are shared.
	 */
	*out = s;
	return 0;
}

/* What the share's hosts cost, then everything closed; see http.h. */
void bp_http__share_free(bp_http_share *s)
{
	char line[512];
	size_t i;
	int n;

	if (!s)
		return;
	for (i = 0; i < s->norigins; i++) {
		share_origin *o = &s->origins[i];

		if (s->opts.log_cb && o->requests) {
			n = snprintf(line, sizeof(line), "connections to %s: %ld (%ld HTTP/2, %ld TLS "
				     "resumed) for %ld requests%s", o->origin, o->connections,
				     o->h2_connections, o->tls_resumed, o->requests,
				     o->h1_only ? ", HTTP/2 given up on" : "");
			if (n > 0)
				s->opts.log_cb(line, s->opts.payload);
		}
		free(o->origin);
	}
	free(s->origins);
	bp_mux__free(s->mux);
	curl_share_cleanup(s->sh);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->locks[i]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The counts of every origin together; see http.h. */
void bp_http__share_stats(bp_http_share *s, bp_http_share_stats *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->norigins; i++) {
		out->requests += s->origins[i].requests;
		out->connections += s->origins[i].connections;
		out->h2_connections += s->origins[i].h2_connections;
		out->tls_resumed += s->origins[i].tls_resumed;
	}
	out->multiplexed = s->multiplexed;
	out->pauses = s->mux ? bp_mux__pauses(s->mux) : 0;
	pthread_mutex_unlock(&s->lock);
}

/* Release everything resp holds; it can then be reused. */
void bp_http__response_release(bp_http_response *r)
{
	size_t i;

	free(r->url);
	free(r->location);
	free(r->content_type);
	free(r->content_digest);
	free(r->range);
	free(r->content_range);
	free(r->link);
	free(r->retry_after);
	free(r->chunk_min_length);
	free(r->api_version);
	free(r->ratelimit_limit);
	free(r->ratelimit_remaining);
	free(r->etag);
	free(r->oci_subject);
	free(r->oci_filters_applied);
	for (i = 0; i < r->nwww_authenticate; i++)
		free(r->www_authenticate[i]);
	free(r->www_authenticate);
	bp_dynbuf_release(&r->err_body);
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
}

static void response_reset(bp_http_response *r)
{
	bp_http__response_release(r);
	bp_dynbuf_init(&r->err_body, ERR_BODY_MAX);
}

/* Header values are untrusted: keep them bounded and printable. */
static char *header_value(const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n > 8192)
		n = 8192;
	return bp_strndup(v, n);
}

static void set_header(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = header_value(v, n);
}

/* One response header line into r; see http.h. */
int bp_http__parse_header(bp_http_response *r, const char *data, size_t len)
{
	size_t nlen;
	const char *colon = memchr(data, ':', len);
	const char *v;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue): forget the previous headers */
		const char *sp = memchr(data, ' ', len);
		char *url = r->url;
		long st = 0;

		r->url = NULL;
		response_reset(r);
		r->url = url;
		if (sp && (size_t)(sp - data) + 4 <= len && isdigit((unsigned char)sp[1]) &&
		    isdigit((unsigned char)sp[2]) && isdigit((unsigned char)sp[3]))
			st = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
		r->status = st;
		return 0;
	}
	if (!colon)
		return 0;
	nlen = (size_t)(colon - data);
	v = colon + 1;
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(data, name, nlen) == 0)
	if (IS("Location"))
		set_header(&r->location, v, len - nlen - 1);
	else if (IS("Content-Type"))
		set_header(&r->content_type, v, len - nlen - 1);
	else if (IS("Docker-Content-Digest"))
		set_header(&r->content_digest, v, len - nlen - 1);
	else if (IS("Range"))
		set_header(&r->range, v, len - nlen - 1);
	else if (IS("Content-Range"))
		set_header(&r->content_range, v, len - nlen - 1);
	else if (IS("Link"))
		set_header(&r->link, v, len - nlen - 1);
	else if (IS("Retry-After"))
		set_header(&r->retry_after, v, len - nlen - 1);
	else if (IS("OCI-Chunk-Min-Length"))
		set_header(&r->chunk_min_length, v, len - nlen - 1);
	else if (IS("API-Version"))
		set_header(&r->api_version, v, len - nlen - 1);
	else if (IS("RateLimit-Limit"))
		set_header(&r->ratelimit_limit, v, len - nlen - 1);
	else if (IS("RateLimit-Remaining"))
		set_header(&r->ratelimit_remaining, v, len - nlen - 1);
	else if (IS("ETag"))
		set_header(&r->etag, v, len - nlen - 1);
	else if (IS("OCI-Subject"))
		set_header(&r->oci_subject, v, len - nlen - 1);
	else if (IS("OCI-Filters-Applied"))
		set_header(&r->oci_filters_applied, v, len - nlen - 1);
	else if (IS("Content-Length")) {
		char *s = header_value(v, len - nlen - 1);
		int64_t n;

		if (s && bp_parse_int64(s, 0, INT64_MAX, &n) == 0)
			r->content_length = n;
		free(s);
	} else if (IS("WWW-Authenticate") && r->nwww_authenticate < 16) {
		char **l = realloc(r->www_authenticate,
				   (r->nwww_authenticate + 1) * sizeof(*l));

		if (!l)
			return bp_error_set(BP_ENOMEM, "out of memory");
		r->www_authenticate = l;
		l[r->nwww_authenticate] = header_value(v, len - nlen - 1);
		if (l[r->nwww_authenticate])
			r->nwww_authenticate++;
	}
#undef IS
	return 0;
}

/* See http_int.h; also notes whether the connection answering resumed a TLS session. */
size_t bp_http__on_header(char *data, size_t size, size_t nmemb, void *p)
{
	xfer *x = p;
	size_t len = size * nmemb;

	if (!x->seen) {
		struct curl_tlssessioninfo *ti = NULL;

		x->seen = 1;
		if (curl_easy_getinfo(x->curl, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti &&
		    ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals)
			x->resumed = SSL_session_reused(ti->internals) == 1;
	}
	return bp_http__parse_header(x->resp, data, len) ? 0 : len;
}

/* See http_int.h: decided once, on the first bytes. */
int bp_http__body_route(xfer *x)
{
	if (!x->to_body)
		x->to_body = x->resp->status >= 200 && x->resp->status < 300 ? 1 : 2;
	return x->to_body;
}

/* See http_int.h. */
int bp_http__body_sink(xfer *x, const char *data, size_t len)
{
	if (x->req->write_fn) {
		int rc = x->req->write_fn(data, len, x->req->write_payload);

		if (rc)
			return rc;
		x->delivered += (int64_t)len;
		return 0;
	}
	if (x->req->resp) {
		if (bp_dynbuf_add(x->req->resp, data, len) < 0) {
			x->resp->body_over_cap = bp_dynbuf_full(x->req->resp, len);
			return bp_error_set(BP_EPROTO, "response body larger than %zu bytes",
					    x->req->resp->cap);
		}
		x->delivered += (int64_t)len;
	}
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	xfer *x = p;
	size_t len = size * nmemb;
	int rc;

	if (bp_http__body_route(x) == 2) {
		/* error bodies are kept up to the cap, the rest is dropped */
		if (!bp_dynbuf_full(&x->resp->err_body, len))
			bp_dynbuf_add(&x->resp->err_body, data, len);
		return len;
	}
	if ((rc = bp_http__body_sink(x, data, len))) {
		x->cb_error = rc;
		return 0;
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *p)
{
	xfer *x = p;
	size_t want = size * nmemb;
	int64_t left = (x->req->body_len > 0 ? x->req->body_len : 0) - x->sent;
	long n;

	if (x->req->body_len == BP_HTTP_STREAM && x->req->read_fn)
		left = INT64_MAX;
	if ((int64_t)want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (x->req->read_fn) {
		n = x->req->read_fn(buf, want, x->req->read_payload);
		if (n < 0) {
			x->cb_error = bp_error_last_code() ? bp_error_last_code() : BP_EIO;
			return CURL_READFUNC_ABORT;
		}
	} else {
		memcpy(buf, (const char *)x->req->body + x->sent, want);
		n = (long)want;
	}
	x->sent += n;
	return (size_t)n;
}

/*
 * curl rewinds a body to send it again on a fresh connection when the
 * reused one died under it. A body in memory, or a stream not read from
 * yet, starts over; a stream read from cannot (the caller retries it,
 * knowing what the registry holds), and the failure then says why.
 */
static int on_seek(void *p, curl_off_t off, int origin)
{
	xfer *x = p;

	if (origin != SEEK_SET || off != 0 || (x->req->read_fn && x->sent)) {
		x->rewind_failed = 1;
		return CURL_SEEKFUNC_CANTSEEK;
	}
	x->sent = 0;
	x->rewound = 1;
	return CURL_SEEKFUNC_OK;
}

static int debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *p)
{
	bp_http *h = p;
	char line[512];
	size_t n;

	/* of curl's own lines, those that say what a connection is */
	if (type == CURLINFO_TEXT) {
		if (bp_strprefix(data, "Connected to ") || bp_strprefix(data, "ALPN: server accepted") ||
		    bp_strprefix(data, "SSL re-using session")) {
			n = size;
			while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
				n--;
			snprintf(line, sizeof(line), "* %.*s", (int)(n < 200 ? n : 200), data);
			h->opts.log_cb(line, h->opts.payload);
		}
		return 0;
	}
	if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN)
		return 0;
	/* one line per header; never the value of Authorization */
	while (size) {
		const char *nl = memchr(data, '\n', size);
		size_t l = nl ? (size_t)(nl - data) + 1 : size;

		n = l;
		while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
			n--;
		if (n) {
			if (bp_strcaseprefix(data, "Authorization:") && n >= 14)
				n = 14;
			if (n > sizeof(line) - 32)
				n = sizeof(line) - 32;
			snprintf(line, sizeof(line), "%s %.*s%s",
				 type == CURLINFO_HEADER_OUT ? ">" : "<", (int)n, data,
				 bp_strcaseprefix(data, "Authorization:") ? " <redacted>" : "");
			h->opts.log_cb(line, h->opts.payload);
		}
		data += l;
		size -= l;
	}
	return 0;
}

/* "host" or "host:port" as the URL gives them (the certs.d directory name); NULL if none. */
static char *url_hostport(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *out = NULL;

	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
			out = bp_aprintf("%s:%s", host, port);
		else
			out = bp_strdup(host);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

/*
 * The certs.d material of hostport, read once per handle (*certs NULL
 * when there is none); an unpaired or unreadable file is an error each
 * time, nothing is kept of it.
 */
static int certs_for(bp_http *h, const char *hostport, const bp_certs **certs)
{
	certs_slot *s;
	bp_certs *c = NULL;
	char *hp;
	size_t i;
	int err;

	for (i = 0; i < h->nslots; i++) {
		if (strcmp(h->slots[i].hostport, hostport) == 0) {
			*certs = h->slots[i].certs;
			return 0;
		}
	}
	if ((err = bp_certs__load(&c, hostport)))
		return err;
	if (c && h->opts.debug && h->opts.log_cb) {
		char line[1024];

		snprintf(line, sizeof(line), "certs.d for %s: %zu CA certificate(s) from %s%s%s",
			 hostport, bp_certs__ncas(c), bp_certs__dir(c),
			 bp_certs__client_cert(c) ? ", client certificate " : "",
			 bp_certs__client_cert(c) ? bp_certs__client_cert(c) : "");
		h->opts.log_cb(line, h->opts.payload);
	}
	if (!(hp = bp_strdup(hostport))) {
		bp_certs__free(c);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	if (h->nslots == CERTS_SLOTS) {
		/* the oldest goes: not in use, this handle does one transfer at a time */
		free(h->slots[0].hostport);
		bp_certs__free(h->slots[0].certs);
		memmove(h->slots, h->slots + 1, (CERTS_SLOTS - 1) * sizeof(h->slots[0]));
		h->nslots--;
	}
	s = &h->slots[h->nslots++];
	s->hostport = hp;
	s->certs = c;
	*certs = c;
	return 0;
}

/* CURLOPT_SSL_CTX_FUNCTION: the certs.d CAs and client pair into OpenSSL's context. */
static CURLcode on_ssl_ctx(CURL *c, void *ssl_ctx, void *p)
{
	bp_http *h = p;
	int err;

	if (!h->certs)
		return CURLE_OK;
	if ((err = bp_certs__apply(h->certs, ssl_ctx))) {
		/* kept for the transfer's own thread: this may be the multi handle's */
		snprintf(h->ctx_msg, sizeof(h->ctx_msg), "%s", bp_error_last());
		h->ctx_error = err;
		return CURLE_SSL_CERTPROBLEM;
	}
	return CURLE_OK;
}

/* Whether the server ended the handshake with an alert about our (missing) certificate. */
static int client_cert_alert(const char *msg)
{
	return strstr(msg, "alert certificate required") || strstr(msg, "alert bad certificate") ||
	       strstr(msg, "alert unknown ca") || strstr(msg, "alert handshake failure") ||
	       strstr(msg, "alert certificate unknown") || strstr(msg, "alert access denied");
}

/* The one-line explanation of a failed certificate check, with the fix to try. */
static int verify_error(bp_http *h, const char *url, const char *msg, long vr)
{
	const char *hp = h->hostport ? h->hostport : "?";
	const char *end = hp[0] == '[' ? strchr(hp, ']') : strchr(hp, ':');
	int hostlen = (int)(end ? (size_t)(end - hp) + (hp[0] == '[') : strlen(hp));
	char *dir;
	int err;

	/* curl checks the name itself, after OpenSSL said the chain is fine */
	if (vr == X509_V_OK || vr == X509_V_ERR_UNSPECIFIED || vr == X509_V_ERR_HOSTNAME_MISMATCH ||
	    vr == X509_V_ERR_IP_ADDRESS_MISMATCH || strstr(msg, "match target host name"))
		return bp_error_set(BP_ETLS, "%s: the registry's certificate does not match the "
				    "host name %.*s (%s)", url, hostlen, hp, msg);
	switch (vr) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return bp_error_set(BP_ETLS, "%s: the registry's certificate has expired (%s): "
				    "it must be renewed, or this machine's clock is wrong", url, msg);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return bp_error_set(BP_ETLS, "%s: the registry's certificate is not valid yet (%s): "
				    "check this machine's clock", url, msg);
	}
	dir = bp_certs__suggest_dir(hp);
	if (vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	    vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    vr == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
	    vr == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	    vr == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN || vr == X509_V_ERR_CERT_UNTRUSTED)
		err = bp_error_set(BP_ETLS, "%s: certificate signed by an unknown authority (%s): "
				   "if you trust it, put its CA certificate (a .crt file) in %s/, "
				   "or use --tls-verify=false", url, msg, dir ? dir : "certs.d");
	else
		err = bp_error_set(BP_ETLS, "%s: certificate not trusted (%s): CA certificates for "
				   "this registry go in %s/; --tls-verify=false skips the check",
				   url, msg, dir ? dir : "certs.d");
	free(dir);
	return err;
}

static int map_curl_error(bp_http *h, CURLcode rc, const char *url)
{
	const char *msg = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
	int https = bp_strprefix(url, "https://") != NULL;
	curl_off_t handshake = 0;
	long vr = 0;

	curl_easy_getinfo(h->curl, CURLINFO_APPCONNECT_TIME_T, &handshake);
	curl_easy_getinfo(h->curl, CURLINFO_SSL_VERIFYRESULT, &vr);
	/*
	 * A server that does not speak TLS answers a ClientHello with an
	 * HTTP 400 ("wrong version number") or just closes or resets the
	 * connection. None of these is a certificate problem, and none of
	 * them comes after a finished handshake or with a TLS alert.
	 */
	h->plain_http = https && !handshake && !client_cert_alert(msg) &&
			(rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR ||
			 rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING);
	if (https && client_cert_alert(msg) &&
	    (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR)) {
		const char *mine = bp_certs__client_cert(h->certs);
		char *dir = bp_certs__suggest_dir(h->hostport ? h->hostport : "");
		int err;

		if (mine)
			err = bp_error_set(BP_ETLS, "%s: the registry refused the client certificate "
					   "%s (%s)", url, mine, msg);
		else
			err = bp_error_set(BP_ETLS, "%s: the registry refused the TLS connection (%s): "
					   "it may require a client certificate: put it and its "
					   "key as NAME.cert and NAME.key in %s/", url, msg,
					   dir ? dir : "certs.d");
		free(dir);
		return err;
	}
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
		return bp_error_set(BP_ETLS, "%s: tls handshake failed: %s", url, msg);
	case CURLE_PEER_FAILED_VERIFICATION:
		return verify_error(h, url, msg, vr);
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
		return bp_error_set(BP_ETLS, "%s: certificate not trusted: %s "
				    "(if you trust this registry, use --insecure-registry HOST "
				    "or --tls-verify=false)", url, msg);
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_WRITE_ERROR:
	case CURLE_READ_ERROR:
		return bp_error_set(BP_EIO, "%s: transfer aborted: %s", url, msg);
	default:
		return bp_error_set(BP_ENET, "%s: %s", url, msg);
	}
}

static int same_origin(const char *url, const char *origin)
{
	char *o;
	int r;

	if (!origin)
		return 0;
	o = bp_http__origin(url);
	r = o && strcasecmp(o, origin) == 0;
	free(o);
	return r;
}

/*
 * An answer that says the host's HTTP/2 is broken: a stream it reset, frames
 * curl refused. Not a connection that closed under its streams (a GOAWAY, a
 * restart), which newer libcurls report with the same code: those streams
 * are retried or resumed as after any cut.
 */
static int h2_broken(CURLcode rc, const char *msg)
{
	return (rc == CURLE_HTTP2_STREAM || rc == CURLE_HTTP2) &&
	       !strstr(msg, "end of the underlying stream");
}

static share_origin *share_find(bp_http_share *s, const char *origin)
{
	share_origin *o;
	size_t i;

	for (i = 0; i < s->norigins; i++)
		if (strcmp(s->origins[i].origin, origin) == 0)
			return &s->origins[i];
	if (!(o = realloc(s->origins, (s->norigins + 1) * sizeof(*o))))
		return NULL;
	s->origins = o;
	o = &s->origins[s->norigins];
	memset(o, 0, sizeof(*o));
	if (!(o->origin = bp_strdup(origin)))
		return NULL;
	s->norigins++;
	return o;
}

/*
 * The multi handle the request goes through, started on first use; NULL
 * for the handle's own connection: no share, plain http, a TLS probe, a
 * large or streamed body, a host given up on for HTTP/1.1 or that speaks
 * only that.
 */
static bp_mux *route(bp_http *h, const bp_http_request *req, const char *origin, int send_body)
{
	bp_http_share *s = h->opts.share;
	const int64_t max = BP_HTTP_SHARED_BODY_MAX;
	share_origin *o;
	bp_mux *m = NULL;

	if (!s || s->opts.no_multiplex || !origin || req->tls_probe || h->opts.unix_socket ||
	    !bp_strprefix(origin, "https://"))
		return NULL;
	if (send_body && strcmp(req->method, "HEAD") != 0 && strcmp(req->method, "GET") != 0 &&
	    (req->body_len == BP_HTTP_STREAM || req->body_len > max))
		return NULL;
	if (req->size_hint > max)
		return NULL;
	pthread_mutex_lock(&s->lock);
	o = share_find(s, origin);
	/*
	 * A host that answered over HTTP/1.1 only gets the handles' own
	 * kept-alive connections, one per worker, as plain http does: the
	 * multi handle's two would make its requests wait in line.
	 */
	if (o && !o->h1_only && !(o->mux_connections > 0 && o->mux_h2 == 0)) {
		if (!s->mux && !s->mux_failed && bp_mux__new(&s->mux)) {
			/* no thread: every request on its own handle, as without a share */
			s->mux_failed = 1;
			bp_error_clear();
		}
		m = s->mux;
	}
	if (m)
		s->multiplexed++;
	pthread_mutex_unlock(&s->lock);
	return m;
}

/*
 * After a transfer: count its connection, and give up on HTTP/2 for a host
 * that broke it (said once). 1 when the transfer went through the multi
 * handle and failed for that: it may go again, on HTTP/1.1.
 */
static int share_note(bp_http *h, const xfer *x, const char *origin, CURLcode rc, int muxed)
{
	bp_http_share *s = h->opts.share;
	long conns = 0, ver = 0;
	share_origin *o;
	char msg[600];
	int gave_up = 0, again = 0;

	if (!s || !origin)
		return 0;
	curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(h->curl, CURLINFO_HTTP_VERSION, &ver);
	pthread_mutex_lock(&s->lock);
	if ((o = share_find(s, origin))) {
		o->requests++;
		o->connections += conns;
		if (conns && ver == CURL_HTTP_VERSION_2_0)
			o->h2_connections += conns;
		if (muxed) {
			o->mux_connections += conns;
			if (conns && ver == CURL_HTTP_VERSION_2_0)
				o->mux_h2 += conns;
		}
		if (conns && x->resumed)
			o->tls_resumed++;
		if (muxed && h2_broken(rc, h->errbuf)) {
			/* the streams in flight all fail at once: said by the first */
			gave_up = !o->h1_only;
			o->h1_only = 1;
			again = 1;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (gave_up && s->opts.say) {
		snprintf(msg, sizeof(msg), "%s broke HTTP/2 (%.300s): using HTTP/1.1 for it", origin,
			 h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		s->opts.say(msg, s->opts.payload);
	}
	return again;
}

/* A read_fn's body_len bytes into memory, for a transfer on the multi handle. */
static int read_body(const bp_http_request *req, const char *url, char **out)
{
	char *buf = malloc(req->body_len ? (size_t)req->body_len : 1);
	int64_t got = 0;
	long n;

	if (!buf)
		return bp_error_set(BP_ENOMEM, "out of memory");
	while (got < req->body_len) {
		n = req->read_fn(buf + got, (size_t)(req->body_len - got), req->read_payload);
		if (n < 0) {
			free(buf);
			return bp_error_last_code() ? bp_error_last_code() : BP_EIO;
		}
		if (n == 0) {
			free(buf);
			return bp_error_set(BP_EIO, "%s: request body ended after %lld of %lld bytes",
					    url, (long long)got, (long long)req->body_len);
		}
		got += n;
	}
	*out = buf;
	return 0;
}

static int perform_one(bp_http *h, const bp_http_request *req, const char *url,
		       const char *method, int send_body, bp_http_response *resp)
{
	CURL *c = h->curl;
	struct curl_slist *hl = NULL, *t;
	bp_http_request mem_req;
	char *auth = NULL, *origin = NULL, *body = NULL;
	bp_mux *mux;
	xfer x;
	CURLcode rc;
	size_t i;
	int spent = 0, err = 0;

	/* a handle given up after a transfer that left bytes in it */
	if (!c && !(c = h->curl = curl_easy_init()))
		return bp_error_set(BP_ENOMEM, "out of memory");
	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = resp;
	x.curl = c;
	response_reset(resp);
	resp->url = bp_strdup(url);
	h->errbuf[0] = '\0';
	h->plain_http = 0;
	h->certs = NULL;
	h->ctx_error = 0;
	free(h->hostport);
	h->hostport = NULL;
	if (bp_strprefix(url, "https://") && !(h->hostport = url_hostport(url)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	/* a hosts.toml's ca and client for its host; else certs.d, for verified registries only */
	if (h->hostport && h->opts.certs && !req->tls_probe &&
	    strcasecmp(h->hostport, h->opts.certs_host) == 0)
		h->certs = h->opts.certs;
	else if (h->hostport && h->opts.tls_verify && !req->tls_probe && !h->opts.unix_socket &&
		 (err = certs_for(h, h->hostport, &h->certs)))
		return err;
	if (h->opts.share && !(origin = bp_http__origin(url)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	mux = route(h, req, origin, send_body);
	if (mux && send_body && req->read_fn && req->body_len > 0) {
		if ((err = read_body(req, url, &body))) {
			free(origin);
			return err;
		}
		mem_req = *req;
		mem_req.body = body;
		mem_req.read_fn = NULL;
		x.req = &mem_req;
	}

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "beampush/0.1");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 h->opts.connect_timeout_ms > 0 ? h->opts.connect_timeout_ms : 30000L);
	/* no total time-out (layers are large), but give up on a stalled one */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
			 h->opts.stall_secs > 0 ? h->opts.stall_secs : 120L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, bp_http__on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	if (h->opts.share) {
		curl_easy_setopt(c, CURLOPT_SHARE, h->opts.share->sh);
		/* on the multi handle, HTTP/2 if the host offers it; on a connection of our own, 1.1 */
		curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
				 mux ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
		if (mux)
			curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
	}
	if (h->opts.unix_socket)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->opts.unix_socket);
	/* a probe is a TCP connection and a TLS handshake, no request: nothing is sent */
	if (req->tls_probe)
		curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	if (!h->opts.tls_verify || req->tls_probe) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (h->certs) {
		if (curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK) {
			err = bp_error_set(BP_EUNSUPPORTED, "%s: certificates in %s need a libcurl "
					   "built with OpenSSL", url, bp_certs__dir(h->certs));
			goto done;
		}
		curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h);
#if LIBCURL_VERSION_NUM >= 0x075700
		/* the store gets this host's CAs: it must not be shared with another host */
		curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
	}
	if (h->opts.debug && h->opts.log_cb) {
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
		curl_easy_setopt(c, CURLOPT_DEBUGDATA, h);
	}

	for (i = 0; req->headers && req->headers[i]; i++) {
		if (!(t = curl_slist_append(hl, req->headers[i])))
			goto nomem;
		hl = t;
	}
	/* the credential goes only where it was issued for */
	if (req->authorization && same_origin(url, req->auth_origin)) {
		auth = bp_aprintf("Authorization: %s", req->authorization);
		if (!auth || !(t = curl_slist_append(hl, auth)))
			goto nomem;
		hl = t;
	}
	if (!(t = curl_slist_append(hl, "Expect:")))
		goto nomem;
	hl = t;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);

	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
		/*
		 * Every body goes through the upload path, an empty one too:
		 * Content-Length: 0 and no form Content-Type on a bare POST.
		 */
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(send_body && req->body_len == BP_HTTP_STREAM ? -1
					      : send_body && req->body_len > 0 ? req->body_len : 0));
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, &x);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}

	for (;;) {
		long st = 0;

		rc = mux ? bp_mux__perform(mux, c, &x, &spent) : curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		resp->status = st;
		resp->resent = x.rewound;
		/*
		 * A host whose HTTP/2 broke is given up on; the request goes
		 * again at once, on HTTP/1.1, when nothing of it can have taken
		 * effect that matters: no answer came, no byte reached the sink,
		 * and it is not a PATCH (whose upload asks where it stands
		 * instead). Its body is in memory: it went to the multi handle.
		 */
		if (!share_note(h, &x, origin, rc, mux != NULL) || spent || x.cb_error ||
		    h->ctx_error || resp->status || x.delivered || strcmp(method, "PATCH") == 0)
			break;
		mux = NULL;
		response_reset(resp);
		resp->url = bp_strdup(url);
		x.to_body = 0;
		x.sent = 0;
		x.seen = 0;
		x.resumed = 0;
		x.rewound = 0;
		h->errbuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(c, CURLOPT_PIPEWAIT, 0L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	}
	if (x.cb_error)
		err = x.cb_error;
	else if (h->ctx_error)
		err = bp_error_set(h->ctx_error, "%s", h->ctx_msg);
	else if (rc == CURLE_SEND_FAIL_REWIND && x.rewind_failed)
		err = bp_error_set(BP_ENET, "%s: connection closed while sending the request body "
				   "(%lld bytes read)", url, (long long)x.sent);
	else if (rc != CURLE_OK)
		err = map_curl_error(h, rc, url);
	goto done;
nomem:
	err = bp_error_set(BP_ENOMEM, "out of memory");
done:
	curl_slist_free_all(hl);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(body);
	free(origin);
	if (spent) {
		curl_easy_cleanup(c);
		h->curl = curl_easy_init();
	}
	return err;
}

/* Perform req, following redirects by hand so the credential never leaks. */
int bp_http__perform(bp_http *h, const bp_http_request *req, bp_http_response *resp)
{
	char *url = bp_strdup(req->url);
	const char *method = req->method;
	int hops, err = 0;

	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (hops = 0;; hops++) {
		char *next;

		err = perform_one(h, req, url, method, 1, resp);
		if (err || !req->follow_redirects)
			break;
		if (resp->status != 301 && resp->status != 302 && resp->status != 303 &&
		    resp->status != 307 && resp->status != 308)
			break;
		if (!resp->location) {
			err = bp_error_set(BP_EPROTO, "%s: redirect without a Location", url);
			break;
		}
		if (hops >= MAX_REDIRECTS) {
			err = bp_error_set(BP_EPROTO, "%s: more than %d redirects", req->url,
					   MAX_REDIRECTS);
			break;
		}
		next = bp_http__resolve(url, resp->location);
		if (!next) {
			err = bp_error_set(BP_EPROTO, "%s: redirect to an invalid URL", url);
			break;
		}
		free(url);
		url = next;
	}
	free(url);
	return err;
}

/* Origin of an absolute http(s) URL, lowercased scheme and host. */
char *bp_http__origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;

	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto done;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto done;
	out = bp_aprintf("%s://%s:%s", scheme, host, port);
	if (out)
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

/* RFC 3986 reference resolution through curl's URL API. */
char *bp_http__resolve(const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *s = NULL, *out = NULL;

	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
		if (bp_strprefix(s, "http://") || bp_strprefix(s, "https://"))
			out = bp_strdup(s);
	}
	curl_free(s);
	curl_url_cleanup(u);
	return out;
}

/* Whether the last TLS failure looked like a plain-http server. */
int bp_http__last_was_plain_http(const bp_http *h)
{
	return h->plain_http;
}

/* The libcurl version string. */
const char *bp_http__curl_version(void)
{
	return curl_version();
}
