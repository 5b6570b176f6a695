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
 * Send req for an operation needing scope, authenticating as the registry
 * asks: on 401 learn the challenge, fetch a token for the scope it names
 * (with ours) and retry once; a second 401 is an authentication error.
 * Passing failures are retried with backoff when the request can be sent
 * again as it was: not a PATCH (the upload resumes instead), not a stream
 * that has already delivered bytes.
 */
int bp_registry__request(bp_registry *r, const char *scope, bp_http_request *req,
		   bp_http_response *resp, bp_fd_body *fb)
{
	counted_sink sink = { req->write_fn, req->write_payload, 0 };
	bp_http *h = NULL;
	char *authz = NULL;
	char lost[512] = "";
	int auth_tries = 0, retries = 0, err;
	int replayable = strcmp(req->method, "PATCH") != 0;

	if (req->write_fn) {
		req->write_fn = counted_write;
		req->write_payload = &sink;
	}
	if ((err = bp_registry__conn_get(r, &h)))
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
		err = bp_registry__perform(r, h, req, resp);
		if (authz) {
			explicit_bzero(authz, strlen(authz));
			free(authz);
			authz = NULL;
		}
		req->authorization = NULL;
		/*
		 * A PUT whose answer was lost may have been done: the upload
		 * session it closed is gone, and the 404 its replay gets (ours,
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
	}
	bp_registry__conn_put(r, h);
out:
	if (sink.fn) {
		req->write_fn = sink.fn;
		req->write_payload = sink.payload;
	}
	return err;
}
