/* SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"
#include "registry_int.h"
#include "auth.h"
#include "state.h"
#include "util/strutil.h"

#include <beampush/manifest.h>

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 16
#define TAGS_PAGE_MAX (4 * 1024 * 1024)
#define TAGS_PAGES_MAX 10000

struct bp_registry {
	char *domain;     /* as in the reference */
	char *host;       /* host[:port] we connect to */
	char *base;       /* scheme://host[:port] */
	char *origin;     /* origin of base, as bp_http__origin gives it */
	bp_auth *auth;
	bp_registry_options opts;
	bp_http_options http_opts;

	pthread_mutex_t lock;  /* the pool, and what was learnt about uploads */
	bp_http *pool[POOL_MAX];
	size_t npool;

	/* learnt from refusals, for this blob and the later ones */
	int no_patch;          /* PATCH refused: blobs go in one PUT */
	int64_t body_cap;      /* >0: request bodies kept to this size after a "too large" */
	int said_no_patch;
	int said_cap;

	bp_registry_seam seam; /* unit tests: the network replaced; send NULL otherwise */
};

static void dbg(bp_registry *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void dbg(bp_registry *r, const char *fmt, ...)
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
	if (!r->domain || !r->host) {
		bp_registry__free(r);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	err = bp_auth__new(&r->auth, domain, creds, opts->debug ? opts->log_cb : NULL,
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
	bp_auth__free(r->auth);
	free(r->domain);
	free(r->host);
	free(r->base);
	free(r->origin);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int conn_get(bp_registry *r, bp_http **h)
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

static void conn_put(bp_registry *r, bp_http *h)
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
static int perform(bp_registry *r, bp_http *h, const bp_http_request *req, bp_http_response *resp)
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
	return 0;
}

/*
 * Turn a failed answer into an error: the registry's JSON error body
 * ({"errors":[{"code","message","detail"}]}) becomes "CODE: message";
 * anything else is quoted as printable text, cut short.
 */
static int status_error(const bp_http_response *resp, const char *what)
{
	char msg[512] = "";
	char code[64] = "";
	int err;
	cJSON *j = NULL, *errs, *e;

	if (resp->err_body.len)
		j = cJSON_ParseWithLength(resp->err_body.ptr, resp->err_body.len);
	errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
	e = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
	if (cJSON_IsObject(e)) {
		cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
		cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

		if (cJSON_IsString(c))
			snprintf(code, sizeof(code), "%s", c->valuestring);
		if (cJSON_IsString(m))
			snprintf(msg, sizeof(msg), "%s", m->valuestring);
	} else if (resp->err_body.len) {
		size_t i, o = 0;

		for (i = 0; i < resp->err_body.len && o < 160; i++) {
			unsigned char ch = (unsigned char)resp->err_body.ptr[i];

			if (ch == '\n' || ch == '\r') {
				if (o)
					break;
				continue;
			}
			msg[o++] = isprint(ch) ? (char)ch : '?';
		}
		msg[o] = '\0';
	}
	cJSON_Delete(j);
	/* keep the message one printable line whatever the registry sent */
	for (char *p = msg; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
	for (char *p = code; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			*p = '?';

	switch (resp->status) {
	case 401:
	case 403:
		err = BP_EAUTH;
		break;
	case 404:
		err = BP_ENOTFOUND;
		break;
	default:
		err = BP_ERROR;
		break;
	}
	if (strcmp(code, "DIGEST_INVALID") == 0 || strcmp(code, "SIZE_INVALID") == 0)
		err = BP_EINTEGRITY;
	if (strcmp(code, "BLOB_UNKNOWN") == 0 || strcmp(code, "MANIFEST_UNKNOWN") == 0 ||
	    strcmp(code, "NAME_UNKNOWN") == 0)
		err = BP_ENOTFOUND;
	return bp_error_set(err, "%s: registry answered %ld%s%s%s%s", what, resp->status,
			    code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
}

/* A body streamed from a file descriptor, rewound for a retry. */
typedef struct {
	int fd;
	int64_t base;           /* file offset of the blob's first byte */
	int64_t start;
	int64_t pos;
	int64_t total;          /* of the whole blob, for progress */
	int64_t base_done;      /* bytes of the blob sent before this request */
	bp_registry_progress_fn progress;
	void *payload;
} fd_body;

static long fd_read(char *buf, size_t len, void *p)
{
	fd_body *b = p;
	ssize_t n;

	do
		n = pread(b->fd, buf, len, b->base + b->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		bp_error_set(BP_EIO, "read: %s", strerror(errno));
		return -1;
	}
	b->pos += n;
	if (b->progress)
		b->progress(b->base_done + (b->pos - b->start), b->total, b->payload);
	return (long)n;
}

/* Statuses that say "try again later". */
static int retriable_status(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

/* The longest wait a Retry-After gets: a registry asking for more is not waited for that long. */
#define RETRY_AFTER_CAP 60

/*
 * Seconds to wait before retry number n (0-based): the registry's
 * Retry-After (seconds or an HTTP date) when it sent one, capped at
 * RETRY_AFTER_CAP (*asked then gets what it asked for, else -1), else
 * exponential backoff from half a second with jitter, capped.
 */
static double retry_delay(const bp_http_response *resp, int n, double *asked)
{
	double d = 0.5, cap = 30, want = -1;
	int64_t secs;
	int i;

	*asked = -1;
	if (resp && resp->retry_after) {
		if (bp_parse_int64(resp->retry_after, 0, INT64_MAX, &secs) == 0) {
			want = (double)secs;
		} else {
			struct tm tm;
			const char *end;

			memset(&tm, 0, sizeof(tm));
			end = strptime(resp->retry_after, "%a, %d %b %Y %H:%M:%S GMT", &tm);
			if (end && !*end) {
				want = difftime(timegm(&tm), time(NULL));
				if (want < 0)
					want = 0;
			}
		}
		if (want >= 0) {
			if (want <= RETRY_AFTER_CAP)
				return want;
			*asked = want;
			return RETRY_AFTER_CAP;
		}
	}
	for (i = 0; i < n && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* up to a quarter more, so that parallel workers do not retry in step */
	return d + d * 0.25 * ((double)(rand() % 1000) / 1000.0);
}

/* A wait as the whole seconds a message says: rounded up, so 0.5 s is "1s" and 1 s is "1s". */
static long whole_secs(double secs)
{
	long s = (long)secs;

	return (double)s < secs ? s + 1 : s;
}

static void sleep_for(bp_registry *r, double secs)
{
	struct timespec ts;

	if (r->seam.sleep) {
		r->seam.sleep(secs, r->seam.payload);
		return;
	}

	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Counts what a streamed answer delivered, so a retry never repeats bytes. */
typedef struct {
	bp_http_write_fn fn;
	void *payload;
	int64_t delivered;
} counted_sink;

static int counted_write(const void *data, size_t len, void *p)
{
	counted_sink *c = p;

	c->delivered += (int64_t)len;
	return c->fn(data, len, c->payload);
}

/*
 * Wait and say so before retry number n, when the failure is one that
 * passes (a time-out, a reset, 429, 5xx) and attempts are left. 1: retry.
 */
static int should_retry(bp_registry *r, const bp_http_request *req, int err,
			const bp_http_response *resp, int n)
{
	char msg[600], capped[96] = "";
	double d, asked;

	if (n >= r->opts.retries)
		return 0;
	if (err ? err != BP_ENET : !retriable_status(resp->status))
		return 0;
	d = retry_delay(err ? NULL : resp, n, &asked);
	if (asked >= 0)
		snprintf(capped, sizeof(capped), " (Retry-After capped at %ds; the registry asked "
			 "for %.0fs)", RETRY_AFTER_CAP, asked);
	if (err)
		snprintf(msg, sizeof(msg), "retrying in %lds (attempt %d of %d): %s %.300s",
			 whole_secs(d), n + 2, r->opts.retries + 1, req->method, bp_error_last());
	else
		snprintf(msg, sizeof(msg), "retrying in %lds (attempt %d of %d): %s answered %ld%s",
			 whole_secs(d), n + 2, r->opts.retries + 1, req->method, resp->status,
			 capped);
	if (r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	sleep_for(r, d);
	return 1;
}

/*
 * Send req for an operation needing scope, authenticating as the registry
 * asks: on 401 learn the challenge, fetch a token for the scope it names
 * (with ours) and retry once; a second 401 is an authentication error.
 * Passing failures are retried with backoff when the request can be sent
 * again as it was: not a PATCH (the upload resumes instead), not a stream
 * that has already delivered bytes.
 */
static int request(bp_registry *r, const char *scope, bp_http_request *req,
		   bp_http_response *resp, fd_body *fb)
{
	counted_sink sink = { req->write_fn, req->write_payload, 0 };
	bp_http *h = NULL;
	char *authz = NULL;
	int auth_tries = 0, retries = 0, err;
	int replayable = strcmp(req->method, "PATCH") != 0;

	if (req->write_fn) {
		req->write_fn = counted_write;
		req->write_payload = &sink;
	}
	if ((err = conn_get(r, &h)))
		goto out;
	for (;;) {
		if ((err = bp_auth__header(r->auth, h, scope, &authz)))
			break;
		req->authorization = authz;
		req->auth_origin = r->origin;
		if (fb)
			fb->pos = fb->start;
		/* a retried answer starts from an empty buffer */
		if (req->resp)
			bp_dynbuf_reset(req->resp);
		err = perform(r, h, req, resp);
		if (authz) {
			explicit_bzero(authz, strlen(authz));
			free(authz);
			authz = NULL;
		}
		req->authorization = NULL;
		if (replayable && sink.delivered == 0 && should_retry(r, req, err, resp, retries)) {
			retries++;
			continue;
		}
		if (err || resp->status != 401)
			break;
		if (auth_tries++ == 1) {
			err = bp_auth__refused(r->auth, scope);
			break;
		}
		if ((err = bp_auth__challenge(r->auth, h, resp, scope)))
			break;
	}
	conn_put(r, h);
out:
	if (sink.fn) {
		req->write_fn = sink.fn;
		req->write_payload = sink.payload;
	}
	return err;
}

/* Ping /v2/ over https, or plain http where that is allowed. */
int bp_registry__ping(bp_registry *r)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	const char *schemes[2] = { "https", "http" };
	int plain_ok = is_loopback(r->host) || r->opts.insecure;
	bp_http *h = NULL;
	char *url = NULL;
	int i, err = 0;

	if ((err = conn_get(r, &h)))
		return err;
	i = 0;
	/*
	 * A loopback registry may speak plain http: learn whether it speaks TLS
	 * at all without loading the CA store (most of a short run's time). One
	 * that does is then pinged, and used, with its certificate verified.
	 */
	if (plain_ok && !r->opts.insecure && r->opts.tls_verify) {
		if (!(url = bp_aprintf("https://%s/v2/", r->host))) {
			conn_put(r, h);
			return bp_error_set(BP_ENOMEM, "out of memory");
		}
		req.url = url;
		req.tls_probe = 1;
		if (perform(r, h, &req, &resp) && bp_http__last_was_plain_http(h)) {
			dbg(r, "%s does not speak TLS; using plain http", r->host);
			i = 1;
		}
		req.tls_probe = 0;
		bp_http__response_release(&resp);
		memset(&resp, 0, sizeof(resp));
		bp_error_clear();
	}
	for (; i < 2; i++) {
		free(url);
		url = bp_aprintf("%s://%s/v2/", schemes[i], r->host);
		if (!url) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			break;
		}
		req.url = url;
		dbg(r, "ping %s", url);
		err = perform(r, h, &req, &resp);
		if (!err)
			break;
		/*
		 * Plain http only when the registry does not speak TLS at all
		 * (or the user said it is insecure); a certificate we do not
		 * trust is an error, never a silent downgrade.
		 */
		if (i == 0 && plain_ok &&
		    (bp_http__last_was_plain_http(h) ||
		     (r->opts.insecure && (err == BP_ETLS || err == BP_ENET)))) {
			dbg(r, "%s does not speak TLS; using plain http", r->host);
			continue;
		}
		break;
	}
	conn_put(r, h);
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
		err = bp_error_set(BP_EPROTO, "%s does not look like a registry: GET /v2/ answered %ld",
				   r->base, resp.status);
	}
done:
	free(url);
	bp_http__response_release(&resp);
	return err;
}

/* One token for a whole push: pull,push on every request of it. */
static char *scope_of(const bp_registry *r, const char *repo, const char *actions)
{
	return bp_aprintf("repository:%s:%s", repo, r->opts.push ? "pull,push" : actions);
}

static char *url_of(bp_registry *r, const char *repo, const char *kind, const char *ref)
{
	return bp_aprintf("%s/v2/%s/%s/%s", r->base, repo, kind, ref);
}

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
	    !(url = bp_aprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", r->base, repo, enc, efrom))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "POST";
	req.url = url;
	err = request(r, scope, &req, &resp, NULL);
	if (!err && resp.status == 201) {
		if (resp.content_digest && !bp_digest_equal(resp.content_digest, digest))
			err = bp_error_set(BP_EINTEGRITY, "mount of %s from %s: registry answered %.80s",
					   digest, from, resp.content_digest);
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
	char *scope = scope_of(r, repo, "pull"), *url = url_of(r, repo, "blobs", digest);
	int err;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "HEAD";
	req.url = url;
	req.follow_redirects = 1;
	if ((err = request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status == 200) {
		if (size)
			*size = resp.content_length;
	} else if (resp.status == 404) {
		err = BP_ENOTFOUND;
		bp_error_set(BP_ENOTFOUND, "blob %s not in %s", digest, repo);
	} else {
		err = status_error(&resp, "blob HEAD");
	}
done:
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	return err;
}

/*
 * Hands on the bytes from offset on: a 206 starts there (its Content-Range
 * must say so); a registry that ignores Range sends everything again with
 * 200, and the bytes before offset are dropped.
 */
typedef struct {
	bp_http_write_fn fn;
	void *payload;
	const bp_http_response *resp;
	int64_t offset;
	int64_t skip;    /* still to drop; -1 until the answer is known */
} range_sink;

static int range_write(const void *data, size_t len, void *p)
{
	range_sink *s = p;
	const char *d = data;

	if (s->skip < 0) {
		s->skip = 0;
		if (s->offset && s->resp->status == 206) {
			const char *cr = s->resp->content_range;
			char want[48];

			snprintf(want, sizeof(want), "bytes %lld-", (long long)s->offset);
			if (!cr || !bp_strprefix(cr, want))
				return bp_error_set(BP_EPROTO, "registry answered a range request with "
						    "Content-Range \"%.60s\"", cr ? cr : "");
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
int bp_registry__blob_get(bp_registry *r, const char *repo, const char *digest, int64_t offset,
			  bp_http_write_fn write_fn, void *payload)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *scope = scope_of(r, repo, "pull"), *url = url_of(r, repo, "blobs", digest);
	range_sink rs = { write_fn, payload, &resp, offset, -1 };
	char range[64];
	const char *hdrs[2] = { range, NULL };
	int err;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.url = url;
	req.follow_redirects = 1;
	req.write_fn = range_write;
	req.write_payload = &rs;
	if (offset > 0) {
		snprintf(range, sizeof(range), "Range: bytes=%lld-", (long long)offset);
		req.headers = hdrs;
	}
	if ((err = request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 200 && !(offset > 0 && resp.status == 206))
		err = status_error(&resp, digest);
done:
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	return err;
}

/* The Location of an answer, resolved against the URL it answered. */
static int next_location(const bp_http_response *resp, char **loc)
{
	char *n;

	if (!resp->location)
		return bp_error_set(BP_EPROTO, "upload: registry answered %ld without a Location",
				    resp->status);
	n = bp_http__resolve(resp->url, resp->location);
	if (!n)
		return bp_error_set(BP_EPROTO, "upload: Location \"%.200s\" is not a URL",
				    resp->location);
	free(*loc);
	*loc = n;
	return 0;
}

/* "0-1023" or "bytes=0-1023" → last byte 1023; -1 when absent or odd. */
static int64_t range_end(const char *range)
{
	const char *dash;
	int64_t end;
	char buf[32];

	if (!range)
		return -1;
	if (bp_strprefix(range, "bytes="))
		range += 6;
	dash = strchr(range, '-');
	if (!dash || strlen(dash + 1) >= sizeof(buf))
		return -1;
	bp_strlcpy(buf, dash + 1, sizeof(buf));
	return bp_parse_int64(buf, 0, INT64_MAX, &end) == 0 ? end : -1;
}

static char *with_digest(const char *loc, const char *digest)
{
	char *enc = bp_urlencode(digest), *out;

	if (!enc)
		return NULL;
	out = bp_aprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", enc);
	free(enc);
	return out;
}

/* POST a new upload session; *loc gets its Location, *min its OCI-Chunk-Min-Length (or 0). */
static int upload_open(bp_registry *r, const char *repo, const char *scope, char **loc,
		       int64_t *min)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *url = bp_aprintf("%s/v2/%s/blobs/uploads/", r->base, repo);
	int err;

	*min = 0;
	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.method = "POST";
	req.url = url;
	if ((err = request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 202) {
		err = status_error(&resp, "upload start");
		goto done;
	}
	if ((err = next_location(&resp, loc)))
		goto done;
	if (resp.chunk_min_length &&
	    bp_parse_int64(resp.chunk_min_length, 1, INT64_MAX, min) != 0)
		*min = 0;
done:
	bp_http__response_release(&resp);
	free(url);
	return err;
}

/*
 * Ask where an interrupted upload stands (GET on its Location: 204 with
 * Range). *next gets the offset to continue from and *loc the newest
 * Location. BP_ENOTFOUND when the registry cannot say (404, as public ECR):
 * the caller starts the blob over.
 */
static int upload_status(bp_registry *r, const char *scope, char **loc, int64_t *next)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	int64_t end;
	int err;

	req.url = *loc;
	if ((err = request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 204 && resp.status != 200) {
		err = bp_error_set(BP_ENOTFOUND, "upload status: registry answered %ld", resp.status);
		goto done;
	}
	/* distribution says 0-0 for both 0 and 1 byte stored: 0 is the safe reading */
	end = range_end(resp.range);
	*next = end > 0 ? end + 1 : 0;
	if (resp.location)
		err = next_location(&resp, loc);
done:
	bp_http__response_release(&resp);
	return err;
}

/* 1 when a failed PATCH or PUT may be resumed: a passing failure or a 416. */
static int resumable(int err, const bp_http_response *resp)
{
	return err ? err == BP_ENET : retriable_status(resp->status) || resp->status == 416;
}

/* Wait before another try at an upload, saying why; 0 when no tries are left. */
/*
 * An error message without the URL it may start with ("http://...: what
 * happened"): an upload URL with its _state runs to hundreds of bytes, and
 * a retry message must say what happened.
 */
static const char *without_url(const char *msg)
{
	const char *rest = bp_strprefix(msg, "https://");
	const char *sep;

	if (!rest)
		rest = bp_strprefix(msg, "http://");
	if (!rest || !(sep = strstr(rest, ": ")))
		return msg;
	return sep + 2;
}

static int upload_retry(bp_registry *r, const char *digest, int *tries, const char *why)
{
	char msg[512];
	double d, asked;

	if (*tries >= r->opts.retries)
		return 0;
	d = retry_delay(NULL, *tries, &asked);
	(*tries)++;
	snprintf(msg, sizeof(msg), "retrying in %lds (attempt %d of %d): blob %.19s: %.300s",
		 whole_secs(d), *tries + 1, r->opts.retries + 1, digest, why);
	if (r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	sleep_for(r, d);
	return 1;
}

/*
 * Whether an upload status claims bytes past the end of what was sent
 * (sent: the end of the chunk in flight). Then the session is not what we
 * sent, and going on from there would leave a hole: the blob starts over
 * in a new session, and the message says why.
 */
static int upload_ahead(bp_registry *r, const char *digest, int64_t claimed, int64_t sent)
{
	char msg[200];

	if (claimed <= sent)
		return 0;
	snprintf(msg, sizeof(msg), "blob %.19s: registry says the upload holds %lld bytes, but only "
		 "%lld were sent; starting the blob over", digest, (long long)claimed,
		 (long long)sent);
	if (r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	return 1;
}

/* The smallest chunk a "too large" answer may halve the chunk size to. */
#define CHUNK_FLOOR (64 * 1024)

/* 1 when the registry's JSON error code is code. */
static int error_code_is(const bp_http_response *resp, const char *code)
{
	cJSON *j, *errs, *e, *c;
	int yes = 0;

	if (!resp->err_body.len)
		return 0;
	j = cJSON_ParseWithLength(resp->err_body.ptr, resp->err_body.len);
	errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
	e = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
	c = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "code") : NULL;
	yes = cJSON_IsString(c) && strcmp(c->valuestring, code) == 0;
	cJSON_Delete(j);
	return yes;
}

/* 1 when the body was refused for its size: 413, or GHCR's 416 "request body too large". */
static int too_large(const bp_http_response *resp)
{
	if (resp->status == 413)
		return 1;
	size_t i, n = resp->err_body.len;

	if (resp->status != 416)
		return 0;
	for (i = 0; i + 9 <= n; i++)
		if (memcmp(resp->err_body.ptr + i, "too large", 9) == 0)
			return 1;
	return 0;
}

/* 1 when a PATCH was refused as a method the registry does not do (Artifact Registry). */
static int patch_refused(const bp_http_response *resp)
{
	return resp->status == 405 || resp->status == 404 ||
	       (resp->status == 400 && error_code_is(resp, "UNSUPPORTED"));
}

/* Remember that r refuses PATCH; say so once. */
static void learn_no_patch(bp_registry *r, long status)
{
	char msg[200];
	int say;

	pthread_mutex_lock(&r->lock);
	r->no_patch = 1;
	say = !r->said_no_patch;
	r->said_no_patch = 1;
	pthread_mutex_unlock(&r->lock);
	snprintf(msg, sizeof(msg),
		 "registry %s refuses chunked uploads (PATCH answered %ld): sending each blob "
		 "in one PUT", r->domain, status);
	if (say && r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	else
		dbg(r, "%s", msg);
}

/* Remember that r takes bodies of at most cap bytes; say so once. */
static void learn_cap(bp_registry *r, int64_t cap, long status)
{
	char msg[200];
	int say;

	pthread_mutex_lock(&r->lock);
	if (!r->body_cap || cap < r->body_cap)
		r->body_cap = cap;
	say = !r->said_cap;
	r->said_cap = 1;
	pthread_mutex_unlock(&r->lock);
	snprintf(msg, sizeof(msg),
		 "registry %s refused a request body as too large (%ld): sending chunks of at "
		 "most %lld bytes", r->domain, status, (long long)cap);
	if (say && r->opts.retry_cb)
		r->opts.retry_cb(msg, r->opts.payload);
	else
		dbg(r, "%s", msg);
}

/* What was learnt so far: *no_patch and *cap (0: none). */
static void learnt(bp_registry *r, int *no_patch, int64_t *cap)
{
	pthread_mutex_lock(&r->lock);
	*no_patch = r->no_patch;
	*cap = r->body_cap;
	pthread_mutex_unlock(&r->lock);
}

/* Half of n, not below CHUNK_FLOOR; 0 when n is already at the floor. */
static int64_t halved(int64_t n)
{
	if (n <= CHUNK_FLOOR)
		return 0;
	return n / 2 > CHUNK_FLOOR ? n / 2 : CHUNK_FLOOR;
}

/*
 * Upload a blob: POST, then one PUT, or PATCH chunks and a closing PUT. A
 * chunk cut off is not sent again from the start: the upload's status says
 * how far the registry got, and the next PATCH goes on from there. A
 * registry that cannot say gets the blob again in a new session.
 */
int bp_registry__blob_upload(bp_registry *r, const char *repo, const char *digest, int64_t size,
			     int fd, const bp_upload_options *o)
{
	static const char *const octet[] = { "Content-Type: application/octet-stream", NULL };
	bp_http_request req;
	bp_http_response resp = { 0 };
	char *scope = scope_of(r, repo, "pull,push"), *loc = NULL, *put = NULL;
	char crange[64], hdr_cr[96], why[300];
	const char *hdrs[3];
	fd_body fb = { fd, o->offset, 0, 0, size, 0, o->progress, o->payload };
	int64_t chunk = o->chunk_size > 0 ? o->chunk_size : 16 * 1024 * 1024, off, min, cap, half;
	int64_t resume_off = -1;
	int chunked, no_patch, force_chunks = 0, tries = 0, session_used = 0, err;

	if (!scope)
		return bp_error_set(BP_ENOMEM, "out of memory");
	/* a session an earlier run left: go on from where the registry stands */
	if ((loc = bp_state__upload_get(r->domain, repo, digest))) {
		if (upload_status(r, scope, &loc, &resume_off) == 0 && resume_off > 0 &&
		    resume_off < size) {
			char msg[200];

			snprintf(msg, sizeof(msg), "blob %.19s: resuming the upload of an earlier run at "
				 "byte %lld of %lld", digest, (long long)resume_off, (long long)size);
			if (r->opts.retry_cb)
				r->opts.retry_cb(msg, r->opts.payload);
			min = 0;
			goto resume;
		}
		bp_state__upload_drop(r->domain, repo, digest);
		bp_error_clear();
		resume_off = -1;
	}
restart:
	resume_off = -1;
	if (o->session && !session_used) {
		/* the session a refused mount opened (202) takes this upload */
		session_used = 1;
		free(loc);
		if (!(loc = bp_strdup(o->session))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
		min = 0;
	} else if ((err = upload_open(r, repo, scope, &loc, &min))) {
		goto done;
	}
resume:
	if (min > chunk) {
		dbg(r, "registry wants chunks of at least %lld bytes", (long long)min);
		chunk = min;
	}
	learnt(r, &no_patch, &cap);
	if (cap > 0 && chunk > cap)
		chunk = cap;
	/* one PUT for small blobs; chunks for anything larger than a chunk */
	chunked = o->monolithic_max < 0 || size > o->monolithic_max || size > chunk ||
		  force_chunks;
	if (chunked && no_patch)
		chunked = 0;
	off = 0;
	if (resume_off > 0) {
		chunked = 1;
		off = resume_off;
	} else if (chunked) {
		bp_state__upload_put(r->domain, repo, digest, loc);
	}
	while (chunked && off < size) {
		int64_t n = size - off < chunk ? size - off : chunk, end;

		snprintf(crange, sizeof(crange), "%lld-%lld", (long long)off, (long long)(off + n - 1));
		snprintf(hdr_cr, sizeof(hdr_cr), "Content-Range: %s", crange);
		hdrs[0] = octet[0];
		hdrs[1] = hdr_cr;
		hdrs[2] = NULL;
		memset(&req, 0, sizeof(req));
		req.method = "PATCH";
		req.url = loc;
		req.headers = hdrs;
		req.body_len = n;
		req.read_fn = fd_read;
		req.read_payload = &fb;
		fb.start = off;
		fb.base_done = off;
		err = request(r, scope, &req, &resp, &fb);
		if (!err && off == 0 && patch_refused(&resp)) {
			/* Artifact Registry style: no PATCH at all; the session takes one PUT */
			if (force_chunks) {
				err = bp_error_set(BP_ERROR, "blob %s: registry refuses both chunks "
						   "(PATCH answered %ld) and a body of %lld bytes in "
						   "one PUT", digest, resp.status, (long long)size);
				goto done;
			}
			learn_no_patch(r, resp.status);
			no_patch = 1;
			chunked = 0;
			break;
		}
		if (!err && too_large(&resp)) {
			/* GHCR style: a cap on the body; smaller chunks from where the registry stands */
			if (!(half = halved(n))) {
				err = status_error(&resp, "upload chunk");
				goto done;
			}
			chunk = half;
			learn_cap(r, chunk, resp.status);
			end = off + n;
			if (upload_status(r, scope, &loc, &off) != 0 || upload_ahead(r, digest, off, end))
				goto restart;
			continue;
		}
		if (err || (resp.status != 202 && resp.status != 201 && resp.status != 204)) {
			if (!resumable(err, &resp)) {
				if (!err)
					err = status_error(&resp, "upload chunk");
				goto done;
			}
			snprintf(why, sizeof(why), "chunk %s: %s", crange,
				 err ? without_url(bp_error_last())
				     : resp.status == 416 ? "range refused" : "failed");
			if (!upload_retry(r, digest, &tries, why)) {
				if (!err)
					err = status_error(&resp, "upload chunk");
				goto done;
			}
			end = off + n;
			if (upload_status(r, scope, &loc, &off) != 0) {
				dbg(r, "blob %s: the registry cannot say where the upload stands; "
				    "starting it over", digest);
				goto restart;
			}
			if (upload_ahead(r, digest, off, end))
				goto restart;
			dbg(r, "blob %s: resuming the upload at byte %lld", digest, (long long)off);
			continue;
		}
		/* ECR answers a PATCH with 201 and a Range that stops advancing: believe the 201 */
		end = range_end(resp.range);
		if (resp.range && resp.status == 202 && end != off + n - 1) {
			err = bp_error_set(BP_EPROTO, "upload chunk %s: registry says it holds bytes %s",
					   crange, resp.range);
			goto done;
		}
		if (resp.location && (err = next_location(&resp, &loc)))
			goto done;
		off += n;
		/* the newest Location (its _state) is what a later run must use */
		bp_state__upload_put(r->domain, repo, digest, loc);
	}
	memset(&req, 0, sizeof(req));
	req.body_len = -1;
	if (!chunked) {
		req.headers = octet;
		req.body_len = size;
		req.read_fn = fd_read;
		req.read_payload = &fb;
		fb.start = 0;
		fb.base_done = 0;
	}
	free(put);
	if (!(put = with_digest(loc, digest))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "PUT";
	req.url = put;
	err = request(r, scope, &req, &resp, req.read_fn ? &fb : NULL);
	if (!err && !chunked && too_large(&resp)) {
		/* one PUT was too large: chunks smaller than the blob, in a new session */
		int64_t base = size < chunk ? size : chunk;

		if (no_patch || !(half = halved(base))) {
			if (no_patch)
				err = bp_error_set(BP_ERROR, "blob %s: registry refuses chunked uploads "
						   "and a body of %lld bytes in one PUT (answered %ld)",
						   digest, (long long)size, resp.status);
			else
				err = status_error(&resp, digest);
			goto done;
		}
		chunk = half;
		force_chunks = 1;
		learn_cap(r, chunk, resp.status);
		goto restart;
	}
	if (err || resp.status != 201) {
		int64_t have;

		if (!resumable(err, &resp)) {
			if (!err)
				err = status_error(&resp, digest);
			goto done;
		}
		snprintf(why, sizeof(why), "closing PUT: %s",
			 err ? without_url(bp_error_last()) : "failed");
		/* the PUT may have landed before the connection broke */
		if (bp_registry__blob_exists(r, repo, digest, &have) == 0 && have == size) {
			err = 0;
			goto verified;
		}
		if (!upload_retry(r, digest, &tries, why)) {
			if (!err)
				err = status_error(&resp, digest);
			goto done;
		}
		goto restart;
	}
	if (resp.content_digest && !bp_digest_equal(resp.content_digest, digest)) {
		err = bp_error_set(BP_EINTEGRITY, "blob %s: registry stored it as %.80s", digest,
				   resp.content_digest);
		goto done;
	}
verified:
	bp_state__upload_drop(r->domain, repo, digest);
	if (o->progress)
		o->progress(size, size, o->payload);
done:
	bp_http__response_release(&resp);
	free(scope);
	free(loc);
	free(put);
	return err;
}

/* ---- uploads of bytes produced on the fly (compressed layers) ---- */

struct bp_upload {
	bp_registry *r;
	char *scope;
	char *loc;
	bp_hasher *hash;
	char *buf;           /* the chunk being filled, kept until the registry has it */
	size_t len, cap;
	int64_t sent;        /* bytes the registry acknowledged */
	int tries;
	int failed;
	bp_registry_progress_fn progress;
	void *payload;
	char expect[BP_DIGEST_MAX]; /* the digest the bytes must have, or "" */
};

/* Start a session for a blob whose digest is known only at the end. */
int bp_registry__upload_begin(bp_registry *r, const char *repo, int64_t chunk_size,
			      bp_registry_progress_fn progress, void *payload, bp_upload **out)
{
	bp_upload *u = calloc(1, sizeof(*u));
	int64_t min;
	int err;

	if (!u)
		return bp_error_set(BP_ENOMEM, "out of memory");
	u->r = r;
	u->progress = progress;
	u->payload = payload;
	if (!(u->scope = scope_of(r, repo, "pull,push"))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto fail;
	}
	if ((err = bp_hasher_new(&u->hash)))
		goto fail;
	if ((err = upload_open(r, repo, u->scope, &u->loc, &min)))
		goto fail;
	u->cap = (size_t)(chunk_size > 0 ? chunk_size : 8 * 1024 * 1024);
	if (min > 0 && (size_t)min > u->cap)
		u->cap = (size_t)min;
	if (!(u->buf = malloc(u->cap))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto fail;
	}
	*out = u;
	return 0;
fail:
	bp_registry__upload_free(u);
	return err;
}

/* PATCH the buffered chunk; on a passing failure resume from where the registry stands. */
static int upload_flush(bp_upload *u)
{
	static const char *const octet = "Content-Type: application/octet-stream";
	bp_http_request req;
	bp_http_response resp = { 0 };
	char crange[64], hdr_cr[96], why[300];
	const char *hdrs[3] = { octet, hdr_cr, NULL };
	int64_t at;
	int err;

	while (u->len) {
		snprintf(crange, sizeof(crange), "%lld-%lld", (long long)u->sent,
			 (long long)(u->sent + (int64_t)u->len - 1));
		snprintf(hdr_cr, sizeof(hdr_cr), "Content-Range: %s", crange);
		memset(&req, 0, sizeof(req));
		req.method = "PATCH";
		req.url = u->loc;
		req.headers = hdrs;
		req.body = u->buf;
		req.body_len = (int64_t)u->len;
		err = request(u->r, u->scope, &req, &resp, NULL);
		if (!err && (resp.status == 202 || resp.status == 201 || resp.status == 204)) {
			int64_t end = range_end(resp.range);

			if (resp.range && resp.status == 202 &&
			    end != u->sent + (int64_t)u->len - 1) {
				err = bp_error_set(BP_EPROTO, "upload chunk %s: registry says it holds "
						   "bytes %s", crange, resp.range);
				goto done;
			}
			if (resp.location && (err = next_location(&resp, &u->loc)))
				goto done;
			u->sent += (int64_t)u->len;
			u->len = 0;
			if (u->progress)
				u->progress(u->sent, -1, u->payload);
			break;
		}
		if (!err && u->sent == 0 && patch_refused(&resp)) {
			/* the digest is known only at the end: no single PUT can replace the PATCH */
			status_error(&resp, "PATCH");
			bp_strlcpy(why, bp_error_last(), sizeof(why));
			err = bp_error_set(BP_ERROR, "upload: registry %s refuses chunked uploads (%s); "
					   "a layer compressed on the fly cannot be sent in one PUT",
					   u->r->domain, why);
			goto done;
		}
		if (!err && too_large(&resp)) {
			status_error(&resp, "PATCH");
			bp_strlcpy(why, bp_error_last(), sizeof(why));
			err = bp_error_set(BP_ERROR, "upload chunk %s: registry %s refused the body as "
					   "too large (%s); try a smaller --chunk-size", crange,
					   u->r->domain, why);
			goto done;
		}
		if (!resumable(err, &resp)) {
			if (!err)
				err = status_error(&resp, "upload chunk");
			goto done;
		}
		snprintf(why, sizeof(why), "chunk %s: %s", crange,
			 err ? without_url(bp_error_last())
			     : resp.status == 416 ? "range refused" : "failed");
		if (!upload_retry(u->r, "(streamed)", &u->tries, why)) {
			if (!err)
				err = status_error(&resp, "upload chunk");
			goto done;
		}
		/* only this chunk is still in hand: the registry must hold all before it */
		err = upload_status(u->r, u->scope, &u->loc, &at);
		if (!err && at != u->sent)
			err = bp_error_set(BP_EPROTO, "upload: registry holds %lld bytes, expected %lld; "
					   "the layer must be sent again", (long long)at,
					   (long long)u->sent);
		if (err)
			goto done;
		bp_http__response_release(&resp);
	}
	err = 0;
done:
	bp_http__response_release(&resp);
	if (err)
		u->failed = 1;
	return err;
}

/* Feed bytes; whole chunks are PATCHed as they fill. */
int bp_registry__upload_write(bp_upload *u, const void *data, size_t len)
{
	const char *p = data;
	int err;

	if (u->failed)
		return bp_error_set(BP_ERROR, "upload already failed");
	bp_hasher_update(u->hash, data, len);
	while (len) {
		size_t n = u->cap - u->len < len ? u->cap - u->len : len;

		memcpy(u->buf + u->len, p, n);
		u->len += n;
		p += n;
		len -= n;
		if (u->len == u->cap && (err = upload_flush(u)))
			return err;
	}
	return 0;
}

/* The digest the bytes must hash to: finish refuses to commit others. */
void bp_registry__upload_expect(bp_upload *u, const char *digest)
{
	bp_strlcpy(u->expect, digest, sizeof(u->expect));
}

/* Send the rest and close the upload with its digest. */
int bp_registry__upload_finish(bp_upload *u, char digest[BP_DIGEST_MAX], int64_t *size)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *put = NULL;
	int err;

	if (u->failed)
		return bp_error_set(BP_ERROR, "upload already failed");
	if ((err = upload_flush(u)) || (err = bp_hasher_final(u->hash, digest)))
		goto done;
	*size = u->sent;
	/* bytes that are not what was promised are never committed */
	if (u->expect[0] && !bp_digest_equal(u->expect, digest)) {
		err = bp_error_set(BP_EINTEGRITY, "blob %s: the bytes hash to %s", u->expect, digest);
		goto done;
	}
	if (!(put = with_digest(u->loc, digest))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "PUT";
	req.url = put;
	if ((err = request(u->r, u->scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 201) {
		err = status_error(&resp, digest);
		goto done;
	}
	if (resp.content_digest && !bp_digest_equal(resp.content_digest, digest))
		err = bp_error_set(BP_EINTEGRITY, "blob %s: registry stored it as %.80s", digest,
				   resp.content_digest);
done:
	/* finished: nothing to cancel */
	u->failed = err ? 1 : -1;
	bp_http__response_release(&resp);
	free(put);
	return err;
}

/* Free u; an upload not finished is cancelled (DELETE), quietly. */
void bp_registry__upload_free(bp_upload *u)
{
	if (!u)
		return;
	if (u->loc && u->failed != -1) {
		bp_http_request req = BP_HTTP_REQUEST_INIT;
		bp_http_response resp = { 0 };
		char msg[1024];
		int code = bp_error_last_code();

		/* a courtesy: whatever it meets, the error that led here stays the error */
		bp_strlcpy(msg, bp_error_last(), sizeof(msg));
		req.method = "DELETE";
		req.url = u->loc;
		request(u->r, u->scope, &req, &resp, NULL);
		bp_http__response_release(&resp);
		if (code)
			bp_error_set(code, "%s", msg);
		else
			bp_error_clear();
	}
	bp_hasher_free(u->hash);
	free(u->scope);
	free(u->loc);
	free(u->buf);
	free(u);
}

static const char *const accept_all[] = {
	"Accept: " BP_MEDIA_OCI_INDEX ", " BP_MEDIA_DOCKER_LIST ", " BP_MEDIA_OCI_MANIFEST
	", " BP_MEDIA_DOCKER_MANIFEST,
	NULL
};

/* GET or HEAD a manifest. */
int bp_registry__manifest_get(bp_registry *r, const char *repo, const char *ref, char **body,
			      size_t *len, char **ctype, char digest[BP_DIGEST_MAX])
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	bp_dynbuf buf = BP_DYNBUF_INIT(BP_MANIFEST_MAX);
	char *scope = scope_of(r, repo, "pull"), *url = url_of(r, repo, "manifests", ref);
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
	err = request(r, scope, &req, &resp, NULL);
	if (err) {
		if (err == BP_EPROTO && resp.body_over_cap)
			err = bp_error_set(BP_EPROTO, "manifest %s in %s/%s is larger than 4 MiB",
					   ref, r->domain, repo);
		goto done;
	}
	if (resp.status == 404) {
		err = status_error(&resp, ref);
		bp_error_set(BP_ENOTFOUND, "manifest %s not found in %s/%s", ref, r->domain, repo);
		goto done;
	}
	if (resp.status != 200) {
		err = status_error(&resp, ref);
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
	if (body)
		*body = bp_dynbuf_detach(&buf, len);
done:
	bp_dynbuf_release(&buf);
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	return err;
}

/* PUT a manifest. */
int bp_registry__manifest_put(bp_registry *r, const char *repo, const char *ref,
			      const char *body, size_t len, const char *media_type,
			      char digest[BP_DIGEST_MAX])
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *scope = scope_of(r, repo, "pull,push"), *url = url_of(r, repo, "manifests", ref);
	char *ct = bp_aprintf("Content-Type: %s", media_type);
	const char *hdrs[2] = { ct, NULL };
	int err;

	if (!scope || !url || !ct) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "PUT";
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = (int64_t)len;
	if ((err = request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status != 201 && resp.status != 200) {
		err = status_error(&resp, "manifest PUT");
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
done:
	bp_http__response_release(&resp);
	free(scope);
	free(url);
	free(ct);
	return err;
}

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

/*
 * List tags, page by page. A Link is followed only to the registry's own
 * origin (a token must not go elsewhere), never to a page listed before,
 * and for at most TAGS_PAGES_MAX pages.
 */
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

int bp_registry__tags(bp_registry *r, const char *repo,
		      int (*fn)(const char *tag, void *payload), void *payload)
{
	bp_http_response resp = { 0 };
	bp_dynbuf buf = BP_DYNBUF_INIT(TAGS_PAGE_MAX);
	char *scope = scope_of(r, repo, "pull");
	char *url = bp_aprintf("%s/v2/%s/tags/list", r->base, repo);
	char **seen = NULL;
	size_t nseen = 0, i;
	int err = 0;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	while (url) {
		bp_http_request req = BP_HTTP_REQUEST_INIT;
		char *next, *origin, **grown;
		int found;

		if (nseen >= TAGS_PAGES_MAX) {
			err = bp_error_set(BP_EPROTO, "tags of %s/%s: more than %d pages, giving up",
					   r->domain, repo, TAGS_PAGES_MAX);
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
		req.resp = &buf;
		dbg(r, "tags page %zu: %s", nseen, url);
		if ((err = request(r, scope, &req, &resp, NULL)))
			goto done;
		if (resp.status == 404) {
			err = status_error(&resp, "tags");
			if (nseen == 1)
				bp_error_set(BP_ENOTFOUND, "repository %s/%s not found", r->domain,
					     repo);
			goto done;
		}
		if (resp.status != 200) {
			err = status_error(&resp, "tags");
			goto done;
		}
		found = bp_registry__parse_tags(buf.ptr ? buf.ptr : "", buf.len, fn, payload);
		if (found < 0) {
			err = bp_error_set(BP_EPROTO, "tags of %s/%s: answer is not a tag list",
					   r->domain, repo);
			goto done;
		}
		if (found > 0)
			goto done;
		url = NULL;
		found = resp.link ? bp_registry__link_next(resp.url, resp.link, &next) : 0;
		if (found == 0)
			break;
		if (found < 0) {
			err = bp_error_set(BP_EPROTO, "tags of %s/%s: unusable Link header", r->domain,
					   repo);
			goto done;
		}
		origin = bp_http__origin(next);
		if (!origin || !r->origin || strcmp(origin, r->origin) != 0) {
			free(origin);
			free(next);
			err = bp_error_set(BP_EPROTO, "tags of %s/%s: Link header leads to another "
					   "server (%s), not followed", r->domain, repo,
					   r->origin ? r->origin : "?");
			goto done;
		}
		free(origin);
		if (seen_before(seen, nseen, next)) {
			free(next);
			err = bp_error_set(BP_EPROTO, "tags of %s/%s: Link header loops back to a page "
					   "already listed (page %zu)", r->domain, repo, nseen);
			goto done;
		}
		url = next;
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

/*
 * DELETE a manifest by digest. 202 is done; 405 or UNSUPPORTED means the
 * registry does not allow deletion (BP_EUNSUPPORTED).
 */
int bp_registry__manifest_delete(bp_registry *r, const char *repo, const char *digest)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *scope = scope_of(r, repo, "delete"), *url = url_of(r, repo, "manifests", digest);
	int err;

	if (!scope || !url) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	req.method = "DELETE";
	req.url = url;
	if ((err = request(r, scope, &req, &resp, NULL)))
		goto done;
	if (resp.status == 202 || resp.status == 200 || resp.status == 204)
		goto done;
	err = status_error(&resp, "manifest DELETE");
	if (resp.status == 405 || error_code_is(&resp, "UNSUPPORTED"))
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

/* Check the credentials; see registry.h. */
int bp_registry__login(bp_registry *r, char **refresh)
{
	bp_http *h;
	int err;

	if ((err = conn_get(r, &h)))
		return err;
	err = bp_auth__login(r->auth, h, r->base, refresh);
	conn_put(r, h);
	return err;
}
