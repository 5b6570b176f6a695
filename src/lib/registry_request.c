/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Requests to a registry: authenticated as it asks, retried as retry.c
 * says when a failure passes, and failed answers turned into errors.
 */
#include "registry_int.h"
#include "auth.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Turn a failed answer into an error: the registry's JSON error body
 * ({"errors":[{"code","message","detail"}]}) becomes "CODE: message";
 * anything else is quoted as printable text, cut short.
 */
int bp_registry__status_error(const bp_http_response *resp, const char *what)
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

/* 1 when the registry's JSON error code is code. */
int bp_registry__error_code_is(const bp_http_response *resp, const char *code)
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

/* See registry.h. */
int bp_registry__parse_ratelimit(const char *value, int64_t *count, int64_t *window)
{
	const char *p = value, *end;
	int64_t n = 0;

	*count = *window = -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	*count = n;
	/* the parameters of this quota run to the next ',' */
	end = strchr(p, ',');
	if (!end)
		end = p + strlen(p);
	while ((p = memchr(p, ';', (size_t)(end - p)))) {
		int64_t w = 0;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if ((*p != 'w' && *p != 'W') || p[1] != '=')
			continue;
		for (p += 2; p < end && isdigit((unsigned char)*p) && w <= (INT64_MAX - 9) / 10;
		     p++)
			w = w * 10 + (*p - '0');
		*window = w;
		break;
	}
	return 0;
}

/* Keep the rate limit an answer states, when it states one. */
static void note_ratelimit(bp_registry *r, const bp_http_response *resp)
{
	int64_t limit = -1, remaining, window = -1, w;

	if (!resp->ratelimit_remaining ||
	    bp_registry__parse_ratelimit(resp->ratelimit_remaining, &remaining, &window) < 0)
		return;
	if (resp->ratelimit_limit &&
	    bp_registry__parse_ratelimit(resp->ratelimit_limit, &limit, &w) == 0 && window < 0)
		window = w;
	pthread_mutex_lock(&r->lock);
	r->ratelimit.limit = limit;
	r->ratelimit.remaining = remaining;
	r->ratelimit.window = window;
	r->ratelimit.seen++;
	pthread_mutex_unlock(&r->lock);
	bp_registry__dbg(r, "rate limit: %lld left of %lld per %llds", (long long)remaining,
			 (long long)limit, (long long)window);
}

/* See registry.h. */
void bp_registry__ratelimit(bp_registry *r, bp_ratelimit *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->ratelimit;
	pthread_mutex_unlock(&r->lock);
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

/* 1 when req sends a Content-Range: a chunk of an upload. */
static int has_content_range(const bp_http_request *req)
{
	const char *const *h;

	for (h = req->headers; h && *h; h++)
		if (bp_strcaseprefix(*h, "Content-Range:"))
			return 1;
	return 0;
}

/*
 * Whether a failure may come of what an earlier run remembered (the
 * scheme, the challenge) rather than of the registry now: a token request
 * that failed, a transport error, or a 400 (a TLS server's answer to plain
 * http) while nothing this run has confirmed it.
 */
static int stale_sign(bp_registry *r, int auth_err, int err, const bp_http_response *resp)
{
	if (!bp_registry__maybe_stale(r))
		return 0;
	if (auth_err)
		return 1;
	return err == BP_ENET || err == BP_ETLS || (!err && resp->status == 400);
}

/*
 * Send req for an operation needing scope, authenticating as the registry
 * asks: on 401 learn the challenge, fetch a token for the scope it names
 * (with ours) and retry once; a second 401 is an authentication error.
 * When what an earlier run remembered of the host turns out stale, GET
 * /v2/ (once for all requests) and send again.
 * Passing failures are retried with backoff when the request can be sent
 * again as it was: not a PATCH (the upload resumes instead), not a stream
 * that has already delivered bytes.
 */
int bp_registry__request(bp_registry *r, const char *scope, bp_http_request *req,
		   bp_http_response *resp, bp_fd_body *fb)
{
	counted_sink sink = { req->write_fn, req->write_payload, 0 };
	const char *const *own_headers = req->headers;
	const char **headers = NULL;
	bp_http *h = NULL;
	char *authz = NULL;
	char lost[512] = "";
	int auth_tries = 0, retries = 0, rechecked = 0, err;
	/* a chunk (a PATCH, or a PUT with the last one) resumes where the registry stands */
	int replayable = strcmp(req->method, "PATCH") != 0 && !has_content_range(req);

	if (req->write_fn) {
		req->write_fn = counted_write;
		req->write_payload = &sink;
	}
	/* a mirror's header lines (hosts.toml) go with every request to it */
	if (r->opts.headers && r->opts.headers[0]) {
		size_t a = 0, b = 0;

		while (own_headers && own_headers[a])
			a++;
		while (r->opts.headers[b])
			b++;
		if (!(headers = calloc(a + b + 1, sizeof(*headers)))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto out;
		}
		if (a)
			memcpy(headers, own_headers, a * sizeof(*headers));
		memcpy(headers + a, r->opts.headers, b * sizeof(*headers));
		req->headers = headers;
	}
	if ((err = bp_registry__conn_get(r, &h)))
		goto out;
	for (;;) {
		if ((err = bp_auth__header(r->auth, h, scope, &authz))) {
			if (!rechecked++ && stale_sign(r, err, 0, resp) &&
			    bp_registry__recheck(r, h)) {
				bp_error_clear();
				continue;
			}
			break;
		}
		req->authorization = authz;
		req->auth_origin = r->origin;
		if (fb)
			fb->pos = fb->start;
		/* a retried answer starts from an empty buffer */
		if (req->resp)
			bp_dynbuf_reset(req->resp);
		err = bp_registry__perform(r, h, req, resp);
		if (!err)
			note_ratelimit(r, resp);
		if (authz) {
			explicit_bzero(authz, strlen(authz));
			free(authz);
			authz = NULL;
		}
		req->authorization = NULL;
		/*
		 * A PUT whose answer was lost may have been done: the upload
		 * session it closed is gone, and the 404 its replay receives (ours,
		 * or libcurl's on a new connection) says nothing of the blob.
		 * The caller gets the lost answer's error, and finds out what
		 * the registry holds.
		 */
		if (!err && resp->resent && !lost[0])
			snprintf(lost, sizeof(lost), "%s: connection closed before the answer came",
				 req->url);
		if (!err && lost[0] && resp->status == 404 && strcmp(req->method, "PUT") == 0) {
			err = bp_error_set(BP_ENET, "%s", lost);
			break;
		}
		if (err == BP_ENET)
			snprintf(lost, sizeof(lost), "%s", bp_error_last());
		if (!rechecked && sink.delivered == 0 && stale_sign(r, 0, err, resp)) {
			rechecked = 1;
			if (bp_registry__recheck(r, h)) {
				bp_error_clear();
				continue;
			}
		} else if (!err && resp->status != 400) {
			bp_registry__confirmed(r);
		}
		if (replayable && sink.delivered == 0 && bp_retry__should(&r->retry, req->method, err, resp, retries)) {
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
		/* a registry's own challenge: the next run asks its realm first */
		bp_registry__save_host(r);
	}
	bp_registry__conn_put(r, h);
out:
	req->headers = own_headers;
	free(headers);
	if (sink.fn) {
		req->write_fn = sink.fn;
		req->write_payload = sink.payload;
	}
	return err;
}
