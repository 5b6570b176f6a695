/* SPDX-License-Identifier: Apache-2.0 */
#include "store_daemon.h"

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INSPECT_MAX (4 * 1024 * 1024)
#define VERSION_MAX (64 * 1024)

struct bp_daemon {
	char *socket;
	char *api; /* "http://docker/vMAJOR.MINOR": the version spoken */
	bp_http *http;
};

/* "MAJOR.MINOR" into MAJOR * 1000 + MINOR; see store_daemon.h. */
int bp_daemon__parse_api_version(const char *s, unsigned *out)
{
	unsigned major = 0, minor = 0;
	size_t n;

	if (!s)
		return BP_EPROTO;
	for (n = 0; *s >= '0' && *s <= '9' && n < 3; s++, n++)
		major = major * 10 + (unsigned)(*s - '0');
	if (!n || *s++ != '.')
		return BP_EPROTO;
	for (n = 0; *s >= '0' && *s <= '9' && n < 3; s++, n++)
		minor = minor * 10 + (unsigned)(*s - '0');
	if (!n || *s)
		return BP_EPROTO;
	*out = major * 1000 + minor;
	return 0;
}

/* The version to speak; see store_daemon.h. */
unsigned bp_daemon__negotiate(unsigned max, unsigned min)
{
	if (max < BP_DAEMON_API_OLDEST)
		return 0;
	if (max <= BP_DAEMON_API_NEWEST)
		return max;
	/* a daemon that no longer serves 1.41 (Docker 29 serves 1.44 and up) */
	return min > BP_DAEMON_API_NEWEST && min <= max ? min : BP_DAEMON_API_NEWEST;
}

/* The JSON of GET /version; see store_daemon.h. */
int bp_daemon__parse_version(const char *body, size_t len, unsigned *max, unsigned *min)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "ApiVersion");
	cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "MinAPIVersion");
	int err = cJSON_IsString(a) ? bp_daemon__parse_api_version(a->valuestring, max)
				    : BP_EPROTO;

	if (!err && (!cJSON_IsString(m) || bp_daemon__parse_api_version(m->valuestring, min)))
		*min = 0;
	cJSON_Delete(j);
	return err;
}

/* GET /version (unversioned, as every Engine answers it) into max and min. */
static int query_version(bp_daemon *d, unsigned *max, unsigned *min)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	bp_dynbuf body = BP_DYNBUF_INIT(VERSION_MAX);
	int err;

	req.url = "http://docker/version";
	req.resp = &body;
	err = bp_http__perform(d->http, &req, &resp);
	if (!err)
		err = resp.status == 200 ? bp_daemon__parse_version(body.ptr, body.len, max, min)
					 : BP_EPROTO;
	bp_http__response_release(&resp);
	bp_dynbuf_release(&body);
	return err;
}

static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/*
 * Ask the daemon which Engine API versions it speaks, as docker's own
 * client does: the API-Version header of the unversioned /_ping, or, from
 * Engines older than 1.25 that send none, /version; then pick the version
 * every later request names (bp_daemon__negotiate).
 */
static int negotiate(bp_daemon *d)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	unsigned max = 0, min = 0, v;
	int err;

	req.url = "http://docker/_ping";
	if ((err = bp_http__perform(d->http, &req, &resp))) {
		bp_error_prefix("Docker daemon at %s", d->socket);
		goto done;
	}
	if (resp.status != 200) {
		err = bp_error_set(BP_EPROTO, "Docker daemon at %s: not a Docker Engine API: GET "
				   "/_ping answered %ld", d->socket, resp.status);
		goto done;
	}
	if (resp.api_version) {
		char shown[41];

		if (bp_daemon__parse_api_version(resp.api_version, &max)) {
			bp_strlcpy(shown, resp.api_version, sizeof(shown));
			printable(shown);
			err = bp_error_set(BP_EPROTO, "Docker daemon at %s: not a Docker Engine API: "
					   "GET /_ping answered API-Version \"%s\"", d->socket,
					   shown);
			goto done;
		}
		/* newer than ours: its oldest may be newer too */
		if (max > BP_DAEMON_API_NEWEST && query_version(d, &v, &min)) {
			min = 0;
			bp_error_clear();
		}
	} else if (query_version(d, &max, &min)) {
		err = bp_error_set(BP_EPROTO, "Docker daemon at %s: not a Docker Engine API: its "
				   "/_ping answer has no API-Version and its /version no "
				   "ApiVersion", d->socket);
		goto done;
	}
	if (!(v = bp_daemon__negotiate(max, min))) {
		err = bp_error_set(BP_EUNSUPPORTED, "Docker daemon at %s speaks Engine API %u.%u: "
				   "beampush needs %u.%u or newer (Docker 1.12 and later)",
				   d->socket, max / 1000, max % 1000, BP_DAEMON_API_OLDEST / 1000,
				   BP_DAEMON_API_OLDEST % 1000);
		goto done;
	}
	if (!(d->api = bp_aprintf("http://docker/v%u.%u", v / 1000, v % 1000)))
		err = bp_error_set(BP_ENOMEM, "out of memory");
done:
	bp_http__response_release(&resp);
	return err;
}

/* Connect to the daemon; see store_daemon.h. */
int bp_daemon__open(bp_daemon **out)
{
	const char *host = secure_getenv("DOCKER_HOST");
	bp_http_options ho = { 0 };
	bp_daemon *d = NULL;
	struct stat st;
	const char *path;
	int err;

	*out = NULL;
	if (host && *host) {
		if (!(path = bp_strprefix(host, "unix://")))
			return bp_error_set(BP_EUNSUPPORTED, "DOCKER_HOST=%.200s: only unix:// sockets "
					    "are supported", host);
	} else {
		path = "/var/run/docker.sock";
	}
	if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return bp_error_set(BP_ENOTFOUND, "no Docker daemon: %s is not a socket (%s)", path,
				    host && *host ? "from DOCKER_HOST"
						  : "the default; DOCKER_HOST is not set");
	if (!(d = calloc(1, sizeof(*d))) || !(d->socket = bp_strdup(path))) {
		free(d);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	ho.unix_socket = d->socket;
	ho.tls_verify = 1;
	if ((err = bp_http__new(&d->http, &ho)) || (err = negotiate(d))) {
		bp_daemon__free(d);
		return err;
	}
	*out = d;
	return 0;
}

/* Free d; NULL is fine. */
void bp_daemon__free(bp_daemon *d)
{
	if (!d)
		return;
	bp_http__free(d->http);
	free(d->socket);
	free(d->api);
	free(d);
}

/* The socket path. */
const char *bp_daemon__socket(const bp_daemon *d)
{
	return d->socket;
}

/* The API version spoken. */
const char *bp_daemon__api(const bp_daemon *d)
{
	return d->api + sizeof("http://docker/v") - 1;
}

/* The API's error message ({"message": ...}) as one printable line. */
int bp_daemon__error(const bp_http_response *resp, const char *what, const char *name)
{
	cJSON *j = cJSON_ParseWithLength(resp->err_body.ptr ? resp->err_body.ptr : "",
					 resp->err_body.len);
	cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	char msg[300] = "";
	int err = resp->status == 404 ? BP_ENOTFOUND : BP_ERROR;

	if (cJSON_IsString(m)) {
		snprintf(msg, sizeof(msg), "%s", m->valuestring);
	} else if (!j && resp->content_type && bp_strprefix(resp->content_type, "text/plain")) {
		/* some come as plain text (dockerd 20.10: "client version ... is too old") */
		const char *b = resp->err_body.ptr ? resp->err_body.ptr : "";
		const char *nl = memchr(b, '\n', resp->err_body.len);

		snprintf(msg, sizeof(msg), "%.*s", (int)(nl ? (size_t)(nl - b) : resp->err_body.len),
			 b);
	}
	cJSON_Delete(j);
	printable(msg);
	return bp_error_set(err, "Docker daemon: %s %s: %s%s(%ld)", what, name, msg,
			    msg[0] ? " " : "", resp->status);
}

/*
 * The answer of POST /images/load is a stream of JSON messages, one after
 * another ({"stream":...}, {"errorDetail":{...},"error":"..."}): the first
 * "error" found, as one printable line, is the load's failure.
 */
int bp_daemon__load_error(const char *body, size_t len)
{
	const char *p = body, *end = body + len, *next;
	char msg[300] = "";
	int found = 0;

	while (body && p < end && !found) {
		cJSON *j = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &next, 0);
		cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

		if (!j) {
			/* not JSON from here on: say so only if it names an error */
			found = memmem(p, (size_t)(end - p), "\"error\"", 7) != NULL;
			if (found)
				snprintf(msg, sizeof(msg), "%.*s", (int)(end - p), p);
			break;
		}
		if (cJSON_IsString(e)) {
			snprintf(msg, sizeof(msg), "%s", e->valuestring);
			found = 1;
		} else if (e) {
			snprintf(msg, sizeof(msg), "the daemon reported an error");
			found = 1;
		}
		cJSON_Delete(j);
		if (next <= p)
			break;
		p = next;
	}
	if (!found)
		return 0;
	printable(msg);
	return bp_error_set(BP_ERROR, "Docker daemon: load failed: %s", msg);
}

static char *image_url(const bp_daemon *d, const char *name, const char *suffix)
{
	char *enc = bp_urlencode(name), *out;

	if (!enc)
		return NULL;
	out = bp_aprintf("%s/images/%s/%s", d->api, enc, suffix);
	free(enc);
	return out;
}

static void free_list(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static int string_list(cJSON *arr, char ***out, size_t *n, int digests)
{
	cJSON *e;
	size_t i = 0, count = (size_t)cJSON_GetArraySize(arr);

	*out = NULL;
	*n = 0;
	if (!count)
		return 0;
	if (!(*out = calloc(count, sizeof(**out))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, arr) {
		if (!cJSON_IsString(e) || (digests && bp_digest_validate(e->valuestring))) {
			free_list(*out, i);
			*out = NULL;
			return bp_error_set(BP_EPROTO, "Docker daemon: image inspect has a malformed entry");
		}
		if (!((*out)[i++] = bp_strdup(e->valuestring))) {
			free_list(*out, i - 1);
			*out = NULL;
			return bp_error_set(BP_ENOMEM, "out of memory");
		}
	}
	*n = i;
	return 0;
}

/* The JSON of image inspect; see store_daemon.h. */
int bp_daemon__parse_inspect(const char *body, size_t len, const char *name,
			     bp_daemon_image *out)
{
	cJSON *j, *id, *rootfs, *layers;
	int err;

	memset(out, 0, sizeof(*out));
	j = cJSON_ParseWithLength(body ? body : "", len);
	id = cJSON_GetObjectItemCaseSensitive(j, "Id");
	rootfs = cJSON_GetObjectItemCaseSensitive(j, "RootFS");
	layers = cJSON_GetObjectItemCaseSensitive(rootfs, "Layers");
	if (!cJSON_IsString(id) || bp_digest_validate(id->valuestring) || !cJSON_IsArray(layers)) {
		err = bp_error_set(BP_EPROTO, "Docker daemon: image inspect of %s has no Id or "
				   "RootFS.Layers", name);
		goto done;
	}
	bp_strlcpy(out->id, id->valuestring, sizeof(out->id));
	if ((err = string_list(layers, &out->diff_ids, &out->ndiff_ids, 1)))
		goto done;
	err = string_list(cJSON_GetObjectItemCaseSensitive(j, "RepoDigests"), &out->repo_digests,
			  &out->nrepo_digests, 0);
done:
	if (err)
		bp_daemon__image_release(out);
	cJSON_Delete(j);
	return err;
}

/* Inspect an image; see store_daemon.h. */
int bp_daemon__inspect(bp_daemon *d, const char *name, bp_daemon_image *out)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	bp_dynbuf body = BP_DYNBUF_INIT(INSPECT_MAX);
	char *url = image_url(d, name, "json");
	int err;

	memset(out, 0, sizeof(*out));
	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.url = url;
	req.resp = &body;
	if ((err = bp_http__perform(d->http, &req, &resp)))
		goto done;
	if (resp.status != 200)
		err = bp_daemon__error(&resp, "no image", name);
	else
		err = bp_daemon__parse_inspect(body.ptr, body.len, name, out);
done:
	bp_http__response_release(&resp);
	bp_dynbuf_release(&body);
	free(url);
	return err;
}

/* Free what inspect filled. */
void bp_daemon__image_release(bp_daemon_image *img)
{
	free_list(img->diff_ids, img->ndiff_ids);
	free_list(img->repo_digests, img->nrepo_digests);
	memset(img, 0, sizeof(*img));
}

/* Export an image; see store_daemon.h. */
int bp_daemon__export(bp_daemon *d, const char *name, bp_http_write_fn fn, void *payload)
{
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *url = image_url(d, name, "get");
	int err;

	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.url = url;
	req.write_fn = fn;
	req.write_payload = payload;
	if (!(err = bp_http__perform(d->http, &req, &resp)) && resp.status != 200)
		err = bp_daemon__error(&resp, "cannot export", name);
	bp_http__response_release(&resp);
	free(url);
	return err;
}

/* Load a tar stream; see store_daemon.h. */
int bp_daemon__load(bp_daemon *d, bp_http_read_fn fn, void *payload)
{
	static const char *const hdrs[] = { "Content-Type: application/x-tar", NULL };
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	bp_dynbuf body = BP_DYNBUF_INIT(64 * 1024);
	char *url = bp_aprintf("%s/images/load?quiet=1", d->api);
	int err;

	if (!url)
		return bp_error_set(BP_ENOMEM, "out of memory");
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body_len = BP_HTTP_STREAM;
	req.read_fn = fn;
	req.read_payload = payload;
	req.resp = &body;
	if (!(err = bp_http__perform(d->http, &req, &resp)) && resp.status != 200)
		err = bp_daemon__error(&resp, "cannot load", "the image");
	/* a load can fail after a 200: the error is in the streamed JSON */
	if (!err)
		err = bp_daemon__load_error(body.ptr, body.len);
	bp_http__response_release(&resp);
	bp_dynbuf_release(&body);
	free(url);
	return err;
}
