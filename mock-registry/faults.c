/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --fault KIND: answers that a registry or token service in bad shape
 * gives, for the client's bad-input tests. Each kind is one bit of
 * mock_config.faults; the handler it concerns checks the bit and builds its
 * answer with the helpers here. Everything a fault does not name is
 * answered as usual.
 *
 * Also the transfer faults: --status-fault (an error status for the first
 * COUNT matching requests), --cut-upload-after and --cut-download-after
 * (one connection closed in the middle of a body). Their counters live
 * under one lock, as connections run on threads of their own.
 */
#include "mock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/strutil.h"

const struct mock_fault_kind mock_fault_kinds[] = {
	{ "manifest-huge", MOCK_FAULT_MANIFEST_HUGE,
	  "manifest GET: 200, 5 MiB of valid-looking JSON, no Docker-Content-Digest" },
	{ "manifest-unknown-type", MOCK_FAULT_MANIFEST_UNKNOWN_TYPE,
	  "manifest GET/HEAD: Content-Type and mediaType " MOCK_UNKNOWN_TYPE
	  ", no Docker-Content-Digest" },
	{ "token-huge", MOCK_FAULT_TOKEN_HUGE,
	  "GET or POST /token: 200 with a 100 KiB JSON body (a padding field)" },
	{ "token-not-json", MOCK_FAULT_TOKEN_NOT_JSON,
	  "GET or POST /token: 200 text/html <html>token service down</html>" },
	{ "error-body-html", MOCK_FAULT_ERROR_BODY_HTML,
	  "every 4xx/5xx: a text/html body with a newline, a NUL and control characters" },
	{ "error-body-binary", MOCK_FAULT_ERROR_BODY_BINARY,
	  "every 4xx/5xx: 64 KiB + 1 bytes of binary junk (application/octet-stream)" },
	{ "location-not-url", MOCK_FAULT_LOCATION_NOT_URL,
	  "POST that opens an upload: 202 with Location: " MOCK_BAD_LOCATION },
	{ "digest-header-wrong", MOCK_FAULT_DIGEST_HEADER_WRONG,
	  "manifest GET/HEAD: Docker-Content-Digest is the sha256 of other bytes" },
	{ "link-loop", MOCK_FAULT_LINK_LOOP,
	  "tags/list: the last page's Link (a lone page's too) leads back to the first page" },
	{ "many-tags", MOCK_FAULT_MANY_TAGS,
	  "tags/list of an existing repository: also lists t00000 .. t09999 (10000 tags)" },
	{ "link-absolute", MOCK_FAULT_LINK_ABSOLUTE,
	  "tags/list: the next page's Link is an absolute http://HOST:PORT/v2/... URL" },
	{ "link-foreign", MOCK_FAULT_LINK_FOREIGN,
	  "tags/list: the next page's Link names another origin (http://localhost:PORT/...)" },
	{ "blob-endless", MOCK_FAULT_BLOB_ENDLESS,
	  "blob GET (here or on the storage port): 200 chunked, no Content-Length: the\n"
	  "                         blob's bytes, then zeros without end" },
	{ "manifest-endless", MOCK_FAULT_MANIFEST_ENDLESS,
	  "manifest GET: 200 chunked, no Content-Length, no Docker-Content-Digest: a\n"
	  "                         JSON opening, then 'x' without end" },
	{ "token-endless", MOCK_FAULT_TOKEN_ENDLESS,
	  "GET or POST /token: 200 chunked, no Content-Length: {\"token\":\" then 'x'\n"
	  "                         without end" },
	{ "blob-redirect-loop", MOCK_FAULT_BLOB_REDIRECT_LOOP,
	  "blob GET: 307 with Location: the same URL, every time" },
	{ "upload-range-ahead", MOCK_FAULT_UPLOAD_RANGE_AHEAD,
	  "GET on an upload Location: Range claims 1 MiB more than the upload holds" },
	{ "upload-range-backwards", MOCK_FAULT_UPLOAD_RANGE_BACKWARDS,
	  "PATCH to an upload that holds N > 0 bytes: 202 with Range 0-(N/2-1) (the\n"
	  "                         bytes are stored all the same)" },
	{ "upload-elsewhere", MOCK_FAULT_UPLOAD_ELSEWHERE,
	  "POST that opens an upload: Location on the storage port (another origin,\n"
	  "                         started for it), which serves the upload session\n"
	  "                         without authorization and answers 400 to any\n"
	  "                         request carrying Authorization (as for blob GETs)" },
	{ "tags-endless", MOCK_FAULT_TAGS_ENDLESS,
	  "tags/list: pages without end, each of new tags e00000001, e00000002, ...\n"
	  "                         (?n=, --tags-page or 100 a page) and a Link to the next" },
	{ "referrers-endless", MOCK_FAULT_REFERRERS_ENDLESS,
	  "referrers API: pages without end, each of made-up referrers (?n=,\n"
	  "                         --referrers-page or 100 a page) and a Link to the next" },
	{ "referrers-loop", MOCK_FAULT_REFERRERS_LOOP,
	  "referrers API: the last page's Link (a lone page's too) leads back to the first" },
	{ "referrers-self", MOCK_FAULT_REFERRERS_SELF,
	  "referrers API: each page also lists the subject digest itself" },
	{ "referrers-huge", MOCK_FAULT_REFERRERS_HUGE,
	  "referrers API: 200, 5 MiB of valid-looking JSON" },
	{ "referrers-deep", MOCK_FAULT_REFERRERS_DEEP,
	  "referrers API: 200, an index whose annotations nest 100000 arrays deep" },
	{ "retry-after-date", MOCK_FAULT_RETRY_AFTER_DATE,
	  "--status-fault's RETRY-AFTER is sent as an HTTP date that many seconds ahead" },
	{ NULL, 0, NULL },
};

/* The bit for name; -1 when no kind has that name. */
int mock_fault_parse(const char *name, unsigned *bit)
{
	const struct mock_fault_kind *k;

	for (k = mock_fault_kinds; k->name; k++) {
		if (strcmp(k->name, name) == 0) {
			*bit = k->bit;
			return 0;
		}
	}
	return -1;
}

/* Whether the server was started with --fault for kind. */
int mock_fault_on(const struct mock_req *r, enum mock_fault kind)
{
	return (r->srv->cfg.faults & (unsigned)kind) != 0;
}

/*
 * The first line carries an escape sequence, a NUL, a bell, a backspace
 * and a DEL, so that a client quoting it must sanitise; a second line
 * follows.
 */
static const char html_error[] =
	"<html><body><h1>502 Bad Gateway</h1>\x1b[31mupstream\0gone\x07\x08"
	"\x7f</body>\n<p>nginx</p></html>\n";

/* 64 KiB + 1 bytes of xorshift noise after a few bytes no text has. */
static char *junk(size_t n)
{
	static const unsigned char head[] = { 0xff, 0xfe, 0x1b, '[', '2', 'J', 0x00, 0x07 };
	unsigned char *b = malloc(n);
	uint32_t x = 2463534242u;
	size_t i;

	if (!b)
		return NULL;
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = i < sizeof(head) ? head[i] : (unsigned char)x;
	}
	return (char *)b;
}

/* MHD_KeyValueIterator: copies every header but the body's own to cls. */
static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) != 0 &&
	    strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
		MHD_add_response_header(cls, key, value);
	return MHD_YES;
}

/* An error answer with its body swapped for HTML or junk; headers such as WWW-Authenticate stay. */
struct MHD_Response *mock_fault_error_body(struct mock_req *r, struct MHD_Response *resp)
{
	struct MHD_Response *out = NULL;
	char *bytes;

	if (mock_fault_on(r, MOCK_FAULT_ERROR_BODY_HTML)) {
		out = mock_resp_bytes(html_error, sizeof(html_error) - 1, "text/html");
	} else if (mock_fault_on(r, MOCK_FAULT_ERROR_BODY_BINARY)) {
		bytes = junk(MOCK_ERROR_JUNK);
		out = bytes ? MHD_create_response_from_buffer(MOCK_ERROR_JUNK, bytes,
							      MHD_RESPMEM_MUST_FREE)
			    : NULL;
		if (!out)
			free(bytes);
		if (out)
			MHD_add_response_header(out, MHD_HTTP_HEADER_CONTENT_TYPE,
						"application/octet-stream");
	} else {
		return resp;
	}
	if (out)
		MHD_get_response_headers(resp, copy_header, out);
	MHD_destroy_response(resp);
	return out;
}

/* The huge manifest: head, 'x' padding, tail; MOCK_HUGE_MANIFEST bytes in all. */
struct huge {
	char *head;
	size_t head_len;
};

static const char huge_tail[] = "\"}}";

static ssize_t huge_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct huge *h = cls;
	const uint64_t size = MOCK_HUGE_MANIFEST, tail_at = size - (sizeof(huge_tail) - 1);
	size_t i;

	if (pos >= size)
		return MHD_CONTENT_READER_END_OF_STREAM;
	for (i = 0; i < max && pos + i < size; i++) {
		uint64_t at = pos + i;

		if (at < h->head_len)
			buf[i] = h->head[at];
		else if (at >= tail_at)
			buf[i] = huge_tail[at - tail_at];
		else
			buf[i] = 'x';
	}
	return (ssize_t)i;
}

static void huge_free(void *cls)
{
	struct huge *h = cls;

	free(h->head);
	free(h);
}

/* Streamed by a callback: 5 MiB is never held in memory. */
struct MHD_Response *mock_fault_huge_manifest(const char *type)
{
	struct huge *h = calloc(1, sizeof(*h));
	struct MHD_Response *resp;

	if (!h)
		return NULL;
	h->head = bp_aprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"layers\":[],"
			     "\"annotations\":{\"padding\":\"",
			     type);
	if (!h->head) {
		free(h);
		return NULL;
	}
	h->head_len = strlen(h->head);
	resp = MHD_create_response_from_callback(MOCK_HUGE_MANIFEST, 64 * 1024, huge_read, h,
						 huge_free);
	if (!resp) {
		huge_free(h);
		return NULL;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

/* The manifest with "mediaType" set to the unknown type (bytes as stored if not JSON). */
struct MHD_Response *mock_fault_retyped_manifest(const char *data, size_t len)
{
	cJSON *m = cJSON_ParseWithLength(data, len);
	cJSON *mt = cJSON_CreateString(MOCK_UNKNOWN_TYPE);
	struct MHD_Response *resp = NULL;
	char *text = NULL;

	if (!mt)
		goto done;
	if (cJSON_IsObject(m)) {
		if (cJSON_GetObjectItemCaseSensitive(m, "mediaType"))
			cJSON_ReplaceItemInObjectCaseSensitive(m, "mediaType", mt);
		else
			cJSON_AddItemToObject(m, "mediaType", mt);
		mt = NULL;
		text = cJSON_PrintUnformatted(m);
		if (!text)
			goto done;
		data = text;
		len = strlen(text);
	}
	resp = mock_resp_bytes(data, len, MOCK_UNKNOWN_TYPE);
done:
	cJSON_Delete(mt);
	cJSON_Delete(m);
	cJSON_free(text);
	return resp;
}

/* An endless body: a head (or a file's bytes), then one byte value forever. */
struct endless {
	char *head;
	size_t head_len;
	int fd;
	char fill;
};

static ssize_t endless_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct endless *e = cls;
	ssize_t n;

	if (e->fd >= 0) {
		do
			n = pread(e->fd, buf, max, (off_t)pos);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (n > 0)
			return n;
	} else if (pos < e->head_len) {
		n = (ssize_t)(e->head_len - pos < max ? e->head_len - pos : max);
		memcpy(buf, e->head + pos, (size_t)n);
		return n;
	}
	memset(buf, e->fill, max);
	return (ssize_t)max;
}

static void endless_free(void *cls)
{
	struct endless *e = cls;

	if (e->fd >= 0)
		close(e->fd);
	free(e->head);
	free(e);
}

/* Chunked, so that the client cannot know the length in advance: it must cap what it reads. */
struct MHD_Response *mock_fault_endless(const char *head, size_t head_len, int fd, char fill,
					const char *ctype)
{
	struct endless *e = calloc(1, sizeof(*e));
	struct MHD_Response *resp;

	if (!e) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	e->fd = fd;
	e->fill = fill;
	if (fd < 0 && head_len) {
		if (!(e->head = malloc(head_len))) {
			endless_free(e);
			return NULL;
		}
		memcpy(e->head, head, head_len);
		e->head_len = head_len;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, endless_read, e,
						 endless_free);
	if (!resp) {
		endless_free(e);
		return NULL;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

/* A token service behind a broken proxy. */
struct MHD_Response *mock_fault_token_html(void)
{
	static const char page[] = "<html>token service down</html>";

	return mock_resp_bytes(page, sizeof(page) - 1, "text/html");
}

/* The token JSON with a "padding" string added, MOCK_TOKEN_HUGE bytes in all. */
char *mock_fault_token_padded(const char *json)
{
	static const char field[] = ",\"padding\":\"\"";
	size_t len = strlen(json), pad;
	cJSON *o = cJSON_Parse(json);
	char *padding = NULL, *out = NULL;

	/* printed unformatted, the field goes in before the closing '}' */
	if (!cJSON_IsObject(o) || len + sizeof(field) - 1 > MOCK_TOKEN_HUGE)
		goto done;
	pad = MOCK_TOKEN_HUGE - len - (sizeof(field) - 1);
	if (!(padding = malloc(pad + 1)))
		goto done;
	memset(padding, 'x', pad);
	padding[pad] = '\0';
	if (cJSON_AddStringToObject(o, "padding", padding))
		out = cJSON_PrintUnformatted(o);
done:
	free(padding);
	cJSON_Delete(o);
	return out;
}

/* ---- the transfer faults ---- */

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;

/* A decimal in [min, max] from s[0..n). */
static int parse_field(const char *s, size_t n, long min, long max, long *out)
{
	char buf[24];
	int64_t v;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (bp_parse_int64(buf, min, max, &v) < 0)
		return -1;
	*out = (long)v;
	return 0;
}

/*
 * METHOD:SUBSTR:STATUS:COUNT[:RETRY-AFTER]. SUBSTR may hold ':' (a digest
 * does), so the numbers are taken from the right: the five-field form when
 * the last three fields are numbers and the first of them a status.
 */
int mock_status_fault_parse(const char *spec, struct mock_status_fault *f)
{
	const char *colon[64];
	const char *p, *sub_end;
	size_t n = 0;
	long status, count, ra = -1;

	memset(f, 0, sizeof(*f));
	for (p = spec; *p && n < 64; p++)
		if (*p == ':')
			colon[n++] = p;
	if (*p || n < 3 || colon[0] == spec)
		return -1;
	/* with RETRY-AFTER: ...:STATUS:COUNT:RA */
	if (n >= 4 &&
	    parse_field(colon[n - 3] + 1, (size_t)(colon[n - 2] - colon[n - 3] - 1), 100, 599,
			&status) == 0 &&
	    parse_field(colon[n - 2] + 1, (size_t)(colon[n - 1] - colon[n - 2] - 1), 0, 1000000,
			&count) == 0 &&
	    parse_field(colon[n - 1] + 1, strlen(colon[n - 1] + 1), 0, 366L * 86400, &ra) == 0) {
		sub_end = colon[n - 3];
	} else {
		ra = -1;
		if (parse_field(colon[n - 2] + 1, (size_t)(colon[n - 1] - colon[n - 2] - 1), 100,
				599, &status) < 0 ||
		    parse_field(colon[n - 1] + 1, strlen(colon[n - 1] + 1), 0, 1000000, &count) < 0)
			return -1;
		sub_end = colon[n - 2];
	}
	if (sub_end < colon[0] + 1)
		return -1;
	f->method = bp_strndup(spec, (size_t)(colon[0] - spec));
	f->substr = bp_strndup(colon[0] + 1, (size_t)(sub_end - colon[0] - 1));
	f->status = (unsigned)status;
	f->count = count;
	f->retry_after = ra;
	if (!f->method || !f->substr) {
		mock_status_fault_release(f);
		return -1;
	}
	return 0;
}

/* Frees what mock_status_fault_parse allocated; NULL-safe fields. */
void mock_status_fault_release(struct mock_status_fault *f)
{
	free(f->method);
	free(f->substr);
	f->method = f->substr = NULL;
}

/* The registry error code and message a status fault sends. */
static void status_words(unsigned status, const char **code, const char **message)
{
	switch (status) {
	case 429:
		*code = "TOOMANYREQUESTS";
		*message = "too many requests (--status-fault)";
		break;
	case 503:
		*code = "UNAVAILABLE";
		*message = "service unavailable (--status-fault)";
		break;
	default:
		*code = "UNKNOWN";
		*message = "error injected by --status-fault";
		break;
	}
}

/* The first --status-fault that matches r and has answers left, counted; 1 when one did. */
int mock_status_fault_check(struct mock_req *r, enum MHD_Result *res)
{
	const struct mock_config *c = &r->srv->cfg;
	struct mock_status_fault *hit = NULL;
	struct MHD_Response *resp;
	const char *code, *message;
	char ra[40];
	size_t i;

	pthread_mutex_lock(&faults_lock);
	for (i = 0; i < c->nstatus_faults && !hit; i++) {
		struct mock_status_fault *f = &c->status_faults[i];

		if (strcmp(f->method, "*") != 0 && strcmp(f->method, r->method) != 0)
			continue;
		if (!strstr(r->uri, f->substr) || (f->count && f->used >= f->count))
			continue;
		f->used++;
		hit = f;
	}
	pthread_mutex_unlock(&faults_lock);
	if (!hit)
		return 0;
	status_words(hit->status, &code, &message);
	resp = mock_resp_error_body(code, message, NULL);
	if (resp && hit->retry_after >= 0) {
		if (mock_fault_on(r, MOCK_FAULT_RETRY_AFTER_DATE)) {
			/* retry-after-date: the IMF-fixdate that many seconds from now */
			time_t at = time(NULL) + (time_t)hit->retry_after;
			struct tm tm;

			if (!gmtime_r(&at, &tm) ||
			    !strftime(ra, sizeof(ra), "%a, %d %b %Y %H:%M:%S GMT", &tm))
				ra[0] = '\0';
		} else {
			snprintf(ra, sizeof(ra), "%ld", hit->retry_after);
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	*res = mock_reply(r, hit->status, resp);
	return 1;
}

/* LIMIT:WINDOW, both decimals (WINDOW at least 1). */
int mock_ratelimit_parse(const char *spec, struct mock_config *c)
{
	const char *colon = strchr(spec, ':');

	if (!colon ||
	    parse_field(spec, (size_t)(colon - spec), 0, 1000000, &c->ratelimit_limit) < 0 ||
	    parse_field(colon + 1, strlen(colon + 1), 1, 366L * 86400, &c->ratelimit_window) < 0)
		return -1;
	return 0;
}

/* A fixed window that starts with the first GET counted, anew once WINDOW seconds passed. */
int mock_ratelimit_take(struct mock_req *r, int count, long *remaining)
{
	struct mock_server *s = r->srv;
	struct timespec now;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&faults_lock);
	if (s->ratelimit_used &&
	    (double)(now.tv_sec - s->ratelimit_start.tv_sec) +
			    (double)(now.tv_nsec - s->ratelimit_start.tv_nsec) / 1e9 >=
		    (double)s->cfg.ratelimit_window)
		s->ratelimit_used = 0;
	if (count && s->ratelimit_used >= s->cfg.ratelimit_limit) {
		rc = -1;
	} else if (count) {
		if (s->ratelimit_used++ == 0)
			s->ratelimit_start = now;
	}
	*remaining = s->cfg.ratelimit_limit - s->ratelimit_used;
	pthread_mutex_unlock(&faults_lock);
	return rc;
}

/* Docker Hub's form: "100;w=21600" and "76;w=21600". */
void mock_ratelimit_headers(struct mock_req *r, struct MHD_Response *resp, long remaining)
{
	char v[64];

	if (!resp)
		return;
	snprintf(v, sizeof(v), "%ld;w=%ld", r->srv->cfg.ratelimit_limit,
		 r->srv->cfg.ratelimit_window);
	MHD_add_response_header(resp, "ratelimit-limit", v);
	snprintf(v, sizeof(v), "%ld;w=%ld", remaining, r->srv->cfg.ratelimit_window);
	MHD_add_response_header(resp, "ratelimit-remaining", v);
}

/* Whether this piece of an upload body crosses --cut-upload-after (claims the one cut). */
int mock_fault_cut_upload(struct mock_req *r, size_t size, size_t *keep)
{
	int64_t cut = r->srv->cfg.cut_upload_after;
	int go = 0;

	if (cut < 0 || r->body_mode != MOCK_BODY_FILE ||
	    (strcmp(r->method, "PATCH") != 0 && strcmp(r->method, "PUT") != 0) ||
	    r->received > cut || r->received + (int64_t)size <= cut)
		return 0;
	pthread_mutex_lock(&faults_lock);
	if (!r->srv->cut_upload_done)
		go = r->srv->cut_upload_done = 1;
	pthread_mutex_unlock(&faults_lock);
	*keep = (size_t)(cut - r->received);
	return go;
}

/* Whether a blob answer of len bytes is the one --cut-download-after cuts. */
int mock_fault_cut_download(struct mock_req *r, int64_t len)
{
	int64_t cut = r->srv->cfg.cut_download_after;
	int go = 0;

	if (cut < 0 || len <= cut)
		return 0;
	pthread_mutex_lock(&faults_lock);
	if (!r->srv->cut_download_done)
		go = r->srv->cut_download_done = 1;
	pthread_mutex_unlock(&faults_lock);
	return go;
}

struct cut_body {
	int fd;
	int64_t from;
	int64_t cut;
};

/* MHD content reader: the blob's bytes up to the cut, then an error (MHD closes). */
static ssize_t cut_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct cut_body *c = cls;
	int64_t left = c->cut - (int64_t)pos;
	ssize_t n;

	if (left <= 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if ((int64_t)max > left)
		max = (size_t)left;
	do
		n = pread(c->fd, buf, max, (off_t)(c->from + (int64_t)pos));
	while (n < 0 && errno == EINTR);
	return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void cut_free(void *cls)
{
	struct cut_body *c = cls;

	close(c->fd);
	free(c);
}

/* A response that promises len bytes and stops after cut of them. */
struct MHD_Response *mock_fault_cut_response(int fd, int64_t from, int64_t len, int64_t cut)
{
	struct cut_body *c = malloc(sizeof(*c));
	struct MHD_Response *resp;

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->from = from;
	c->cut = cut;
	resp = MHD_create_response_from_callback((uint64_t)len, 64 * 1024, cut_read, c, cut_free);
	if (!resp)
		cut_free(c);
	return resp;
}
