/* SPDX-License-Identifier: Apache-2.0 */
#include "http.h"
#include "certs.h"
#include "util/strutil.h"

#include <curl/curl.h>
#include <openssl/x509_vfy.h>
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR_BODY_MAX (64 * 1024)
#define MAX_REDIRECTS 10
#define CERTS_SLOTS 4

/* certs.d material read for one host[:port] (certs NULL: nothing there). */
typedef struct {
	char *hostport;
	bp_certs *certs;
} certs_slot;

struct bp_http {
	CURL *curl;
	bp_http_options opts;
	char errbuf[CURL_ERROR_SIZE];
	int plain_http;
	/* the hosts this handle talked to over https: a registry, its token realm */
	certs_slot slots[CERTS_SLOTS];
	size_t nslots;
	/* this transfer's */
	char *hostport;
	const bp_certs *certs;
	int ctx_error;
};

/* State of one transfer, handed to curl's callbacks. */
typedef struct {
	const bp_http_request *req;
	bp_http_response *resp;
	int to_body;       /* 2xx: body goes to the request's sink */
	int cb_error;      /* error code a callback returned */
	int rewind_failed; /* the connection died after part of a stream was sent */
	int64_t sent;
} xfer;

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

static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	xfer *x = p;
	size_t len = size * nmemb;

	return bp_http__parse_header(x->resp, data, len) ? 0 : len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	xfer *x = p;
	size_t len = size * nmemb;

	if (!x->to_body) {
		/* decide once, on the first bytes, where the body goes */
		x->to_body = x->resp->status >= 200 && x->resp->status < 300 ? 1 : 2;
	}
	if (x->to_body == 2) {
		/* error bodies are kept up to the cap, the rest is dropped */
		if (!bp_dynbuf_full(&x->resp->err_body, len))
			bp_dynbuf_add(&x->resp->err_body, data, len);
		return len;
	}
	if (x->req->write_fn) {
		int rc = x->req->write_fn(data, len, x->req->write_payload);

		if (rc) {
			x->cb_error = rc;
			return 0;
		}
		return len;
	}
	if (x->req->resp) {
		if (bp_dynbuf_add(x->req->resp, data, len) < 0) {
			x->resp->body_over_cap = bp_dynbuf_full(x->req->resp, len);
			x->cb_error = bp_error_set(BP_EPROTO,
				"response body larger than %zu bytes", x->req->resp->cap);
			return 0;
		}
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
	return CURL_SEEKFUNC_OK;
}

static int debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *p)
{
	bp_http *h = p;
	char line[512];
	size_t n;

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

static int perform_one(bp_http *h, const bp_http_request *req, const char *url,
		       const char *method, int send_body, bp_http_response *resp)
{
	CURL *c = h->curl;
	struct curl_slist *hl = NULL, *t;
	char *auth = NULL;
	xfer x;
	CURLcode rc;
	size_t i;
	int err = 0;

	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = resp;
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
	/* certs.d is read for verified registries only, as Docker does */
	if (h->hostport && h->opts.tls_verify && !req->tls_probe && !h->opts.unix_socket &&
	    (err = certs_for(h, h->hostport, &h->certs)))
		return err;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "beampush/0.1");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* no total time-out (layers are large), but give up on a stalled one */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
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
		if (curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK)
			return bp_error_set(BP_EUNSUPPORTED, "%s: certificates in %s need a libcurl "
					    "built with OpenSSL", url, bp_certs__dir(h->certs));
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

	rc = curl_easy_perform(c);
	{
		long st = 0;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		resp->status = st;
	}
	if (x.cb_error)
		err = x.cb_error;
	else if (h->ctx_error)
		err = h->ctx_error;
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
