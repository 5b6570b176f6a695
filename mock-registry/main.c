/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mock-registry: options, start-up, and a clean stop on SIGTERM/SIGINT.
 * The option table drives both parsing and --help.
 */
#include "mock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/strutil.h"

enum opt_id {
	O_ROOT,
	O_LISTEN,
	O_PORT,
	O_PORT_FILE,
	O_LOG,
	O_AUTH,
	O_USER,
	O_ANONYMOUS,
	O_TOKEN_EXPIRY,
	O_RELATIVE,
	O_CHUNK_MIN,
	O_FAULT,
	O_NO_OAUTH,
	O_NO_REFRESH,
	O_REVOKE_REFRESH,
	O_STATUS_FAULT,
	O_CUT_UPLOAD,
	O_CUT_DOWNLOAD,
	O_NO_RANGES,
	O_NO_UPLOAD_STATUS,
	O_STORAGE_REDIRECT,
	O_NO_CHUNKED,
	O_MAX_BODY,
	O_PATCH_CREATED,
	O_SLOW,
	O_TLS_CERT,
	O_TLS_KEY,
	O_TLS_CLIENT_CA,
	O_TAGS_PAGE,
	O_NO_DELETE,
	O_MONOLITHIC_POST,
	O_RATELIMIT,
	O_REFERRERS_API,
	O_REFERRERS_PAGE,
	O_REFERRERS_MISSING,
	O_HELP
};

struct option_def {
	enum opt_id id;
	const char *name;
	const char *arg; /* NULL: a flag */
	const char *help;
};

static const struct option_def options[] = {
	{ O_ROOT, "root", "DIR", "storage directory, created if missing (required)" },
	{ O_LISTEN, "listen", "ADDR",
	  "loopback address to listen on: 127.0.0.1 (default),\n"
	  "another 127.x.y.z, or ::1; anything else is refused" },
	{ O_PORT, "port", "N", "TCP port; 0 (default) picks a free one" },
	{ O_PORT_FILE, "port-file", "FILE",
	  "once listening, write the port and a newline to FILE\n"
	  "(through a temporary file and rename)" },
	{ O_LOG, "log", "FILE",
	  "append one line per request to FILE:\n"
	  "METHOD URI STATUS auth=A ct=CT cr=CR cl=CL range=RANGE\n"
	  "(A: none, basic:USER, bearer:USER, bearer:anonymous or bad;\n"
	  "POST /token: oauth:GRANT:USER or oauth:GRANT:bad, GRANT\n"
	  "password or refresh_token; a missing header is -),\n"
	  "then host=HOST when the Host header names another origin\n"
	  "than the mock's own (a request through a proxy), and\n"
	  "if-match=ETAG for a request with If-Match.\n"
	  "Form bodies, passwords and tokens are never logged" },
	{ O_AUTH, "auth", "MODE",
	  "none (default): everything allowed; basic: HTTP Basic\n"
	  "against --user; token: Bearer tokens from GET /token\n"
	  "or the OAuth2 POST /token" },
	{ O_USER, "user", "NAME:PASS[:ACTIONS]",
	  "an account (repeatable). ACTIONS: comma list of\n"
	  "pull,push,delete (default all three; empty or none:\n"
	  "no access). PASS may hold ':' unless what follows\n"
	  "its last ':' is such a list" },
	{ O_ANONYMOUS, "anonymous", "ACTIONS",
	  "actions granted without credentials (token mode:\n"
	  "to anonymous tokens; basic mode: to requests with no\n"
	  "Authorization); default none; with --auth none\n"
	  "everything is allowed anyway" },
	{ O_TOKEN_EXPIRY, "token-expiry", "SECS",
	  "token lifetime in seconds (default 300; 0: tokens\n"
	  "are already expired when issued)" },
	{ O_RELATIVE, "relative-location", NULL,
	  "Location headers are paths (/v2/...) instead of\n"
	  "absolute http://HOST:PORT/v2/... URLs" },
	{ O_CHUNK_MIN, "chunk-min-length", "N",
	  "send OCI-Chunk-Min-Length: N on the POST that opens\n"
	  "an upload" },
	{ O_FAULT, "fault", "KIND",
	  "misbehave as KIND says (repeatable; see faults\n"
	  "below); everything else is answered as usual" },
	{ O_NO_OAUTH, "no-oauth", NULL,
	  "POST /token answers 404, as a token service without\n"
	  "OAuth2: clients must fall back to GET /token" },
	{ O_NO_REFRESH, "no-refresh-tokens", NULL,
	  "the token service never returns a refresh_token\n"
	  "(offline_token=true and access_type=offline are ignored)" },
	{ O_REVOKE_REFRESH, "revoke-refresh", NULL,
	  "every refresh token is refused: POST /token with\n"
	  "grant_type=refresh_token answers 401 invalid_grant\n"
	  "(refresh tokens are still issued)" },
	{ O_STATUS_FAULT, "status-fault", "METHOD:SUBSTR:STATUS:COUNT[:RETRY-AFTER]",
	  "answer STATUS (e.g. 429, 500, 503) to the first COUNT\n"
	  "requests (0: every one) whose method is METHOD (* for\n"
	  "any) and whose URI (path and query) contains SUBSTR\n"
	  "(may be empty; may hold ':'), with Retry-After:\n"
	  "RETRY-AFTER seconds when given. Checked after\n"
	  "authorization (a request due a 401 gets it first) but\n"
	  "before /token and /v2/ are served. Repeatable; the\n"
	  "first switch that matches and has answers left wins" },
	{ O_CUT_UPLOAD, "cut-upload-after", "BYTES",
	  "once: the first PATCH or PUT to an upload whose body\n"
	  "passes BYTES bytes has the first BYTES stored and its\n"
	  "connection closed (logged with status 000)" },
	{ O_CUT_DOWNLOAD, "cut-download-after", "BYTES",
	  "once: the first blob GET whose answer is longer than\n"
	  "BYTES sends BYTES bytes of it and closes the connection" },
	{ O_NO_RANGES, "no-ranges", NULL,
	  "blob GETs ignore Range and answer 200 with the whole\n"
	  "blob (no Accept-Ranges); by default bytes=N- and\n"
	  "bytes=N-M get 206 with Content-Range" },
	{ O_NO_UPLOAD_STATUS, "no-upload-status", NULL,
	  "GET on an upload Location answers 404\n"
	  "BLOB_UPLOAD_UNKNOWN (as public ECR): a client cannot\n"
	  "ask where an upload stands" },
	{ O_STORAGE_REDIRECT, "storage-redirect", NULL,
	  "also listen on a second loopback port (the storage,\n"
	  "as S3): blob GETs answer 307 with an absolute Location\n"
	  "http://HOST:SPORT/blob/HEX?sig=RANDOM there (HEAD is\n"
	  "still answered here); the storage serves the bytes\n"
	  "(Range as here) and answers 400 {\"error\":\"only one\n"
	  "auth mechanism allowed\"} to any request carrying\n"
	  "Authorization. Its requests are logged with the prefix\n"
	  "'storage '" },
	{ O_NO_CHUNKED, "no-chunked-upload", NULL,
	  "PATCH on an upload answers 405 UNSUPPORTED (as Google\n"
	  "Artifact Registry); POST then one PUT with the whole\n"
	  "blob, or a monolithic POST ?digest=, still work" },
	{ O_PATCH_CREATED, "patch-created", NULL,
	  "PATCH on an upload answers 201 Created instead of 202,\n"
	  "with a Range that stops advancing after the first\n"
	  "chunk (0-N where N+1 is this chunk's length), as\n"
	  "Amazon ECR: the bytes are stored all the same" },
	{ O_SLOW, "slow", "MS",
	  "wait MS milliseconds before every answer (a registry\n"
	  "far away; connections are served in parallel)" },
	{ O_MAX_BODY, "max-body", "BYTES",
	  "any request whose body is larger than BYTES gets 413\n"
	  "{\"errors\":[{\"code\":\"SIZE_INVALID\",\"message\":\n"
	  "\"request body too large\"}]} and nothing of it is\n"
	  "stored (as GHCR's 4 MiB cap)" },
	{ O_TLS_CERT, "tls-cert", "FILE",
	  "serve https with this PEM certificate (its chain may\n"
	  "follow it); needs --tls-key. Every URL the mock hands\n"
	  "out (token realm, Locations, storage) is then https" },
	{ O_TLS_KEY, "tls-key", "FILE", "the PEM private key of --tls-cert" },
	{ O_TLS_CLIENT_CA, "tls-client-ca", "FILE",
	  "require a client certificate signed by a CA of this\n"
	  "PEM file: a connection without one (or with another)\n"
	  "gets the TLS alert certificate_required and is closed\n"
	  "before any request is logged" },
	{ O_TAGS_PAGE, "tags-page", "N",
	  "GET tags/list without ?n= answers N tags a page (with\n"
	  "a Link to the next page, as ?n=N does); 0 (default):\n"
	  "every tag at once" },
	{ O_NO_DELETE, "no-delete", NULL,
	  "DELETE of a manifest or a blob answers 405\n"
	  "{\"errors\":[{\"code\":\"UNSUPPORTED\",...}]}, as\n"
	  "docker-registry without storage.delete.enabled" },
	{ O_MONOLITHIC_POST, "monolithic-post", "MODE",
	  "how POST .../blobs/uploads/?digest= with the whole blob\n"
	  "as its body is answered: store (default) 201 Created,\n"
	  "the blob stored (as the OCI spec says); drop 202 with a\n"
	  "new empty session's Location, the body read and dropped\n"
	  "(as docker-registry 2.8); lie 201 Created with\n"
	  "Docker-Content-Digest, nothing stored" },
	{ O_RATELIMIT, "ratelimit", "LIMIT:WINDOW",
	  "count manifest GETs as Docker Hub does: LIMIT a window\n"
	  "of WINDOW seconds (from the first GET counted); every\n"
	  "manifest GET and HEAD answer states ratelimit-limit\n"
	  "LIMIT;w=WINDOW and ratelimit-remaining N;w=WINDOW, a\n"
	  "HEAD counts nothing, a GET past the limit gets 429\n"
	  "TOOMANYREQUESTS (no Retry-After, as Docker Hub)" },
	{ O_REFERRERS_API, "referrers-api", NULL,
	  "serve the referrers API of OCI distribution 1.1: GET\n"
	  "/v2/NAME/referrers/DIGEST lists, as an image index, the\n"
	  "stored manifests of NAME whose subject is DIGEST (their\n"
	  "artifactType, else an image manifest's config mediaType;\n"
	  "their annotations), sorted by digest, ?artifactType=T\n"
	  "filtered (with OCI-Filters-Applied: artifactType); a\n"
	  "manifest PUT with a subject is answered with OCI-Subject.\n"
	  "Without it the path gets --referrers-missing's answer" },
	{ O_REFERRERS_PAGE, "referrers-page", "N",
	  "the referrers API without ?n= answers N a page, with a\n"
	  "Link to the next (?last=DIGEST&n=N); 0 (default): all" },
	{ O_REFERRERS_MISSING, "referrers-missing", "STATUS[:CODE]",
	  "without --referrers-api, GET .../referrers/DIGEST answers\n"
	  "STATUS with the JSON error CODE; without CODE a plain-text\n"
	  "\"404 page not found\" (as distribution 2.8); STATUS 200:\n"
	  "an HTML page. Default: 404" },
	{ O_HELP, "help", NULL, "print this help and exit" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static void print_help(FILE *f)
{
	const struct mock_fault_kind *k;
	size_t i;

	fputs("usage: mock-registry --root DIR [options]\n\n"
	      "A Docker Registry HTTP API v2 server with a token service, for tests.\n"
	      "Runs until SIGTERM or SIGINT, then exits 0.\n\n"
	      "options:\n",
	      f);
	for (i = 0; i < NOPTIONS; i++) {
		const struct option_def *o = &options[i];
		const char *h = o->help;
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		if (strlen(left) > 28)
			fprintf(f, "  %s\n  %-28s ", left, "");
		else
			fprintf(f, "  %-28s ", left);
		for (; *h; h++) {
			fputc(*h, f);
			if (*h == '\n')
				fprintf(f, "  %-28s ", "");
		}
		fputc('\n', f);
	}
	fputs("\nfaults (--fault KIND):\n", f);
	for (k = mock_fault_kinds; k->name; k++)
		fprintf(f, "  %-22s %s\n", k->name, k->help);
	fputs("\nendpoints: GET /v2/; GET, HEAD, DELETE /v2/NAME/blobs/DIGEST;\n"
	      "POST /v2/NAME/blobs/uploads/[?digest=D | ?mount=D&from=REPO];\n"
	      "GET, PATCH, PUT [?digest=D], DELETE /v2/NAME/blobs/uploads/UUID?_state=S;\n"
	      "GET, HEAD, PUT, DELETE /v2/NAME/manifests/REF; GET /v2/NAME/tags/list[?n=&last=];\n"
	      "GET /v2/NAME/referrers/DIGEST[?artifactType=&n=&last=] (--referrers-api);\n"
	      "GET /token?service=mock-registry&scope=...[&offline_token=true&client_id=C] and\n"
	      "POST /token (form: grant_type, service, client_id, scope, username and password\n"
	      "or refresh_token, access_type) in token mode only.\n"
	      "\n"
	      "notes:\n"
	      "  upload Locations carry _state=S; only the newest one (from the last POST or\n"
	      "  PATCH answer) is accepted, so a client must use each Location as given.\n"
	      "  DELETE of a manifest by tag removes the tag only; by digest, the manifest\n"
	      "  and every tag pointing at it. DELETE of a blob unlinks it from NAME.\n"
	      "  A manifest's descriptors must name blobs (or manifests) of NAME, with\n"
	      "  their exact sizes (its subject need not exist).\n"
	      "  Manifest GET and HEAD answers carry ETag: \"DIGEST\"; a manifest PUT with\n"
	      "  If-Match is refused with 412 unless the reference names that manifest.\n"
	      "  The token service: GET takes basic credentials (none: anonymous) and one\n"
	      "  scope= per scope; POST (OAuth2) takes grant_type=password with username and\n"
	      "  password, or grant_type=refresh_token with refresh_token, plus service and\n"
	      "  client_id (both required) and scope (one field, space-separated scopes);\n"
	      "  answers access_token, scope, expires_in, issued_at. A refresh_token comes\n"
	      "  back for offline_token=true on GET with basic credentials, or\n"
	      "  access_type=offline on POST: a random string bound to the user, valid for\n"
	      "  the life of the process. A refused password or refresh token: 401\n"
	      "  {\"error\":\"invalid_grant\"}; a malformed form: 400.\n"
	      "  A request cut off before its answer is logged with status 000.\n"
	      "\n"
	      "storage: ROOT/blobs/sha256/HEX, ROOT/repos/NAME/_layers/HEX,\n"
	      "ROOT/repos/NAME/_manifests/HEX[.type], ROOT/repos/NAME/_tags/TAG,\n"
	      "ROOT/uploads/UUID.\n",
	      f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mock-registry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\ntry 'mock-registry --help'\n", stderr);
	return 2;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	int64_t v;

	if (bp_parse_int64(s, min, max, &v) < 0)
		return -1;
	*out = (long)v;
	return 0;
}

/* 127.0.0.0/8 or ::1 only. */
static int set_listen(struct mock_config *c, const char *s)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strlen(s) >= sizeof(c->listen))
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) {
		c->ipv6 = 0;
	} else if (inet_pton(AF_INET6, s, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)) {
		c->ipv6 = 1;
		s = "::1";
	} else {
		return -1;
	}
	bp_strlcpy(c->listen, s, sizeof(c->listen));
	return 0;
}

static int add_user(struct mock_config *c, const char *spec)
{
	struct mock_user *u = realloc(c->users, (c->nusers + 1) * sizeof(*u));

	if (!u)
		return -1;
	c->users = u;
	memset(&u[c->nusers], 0, sizeof(*u));
	if (mock_user_parse(&u[c->nusers], spec) < 0) {
		free(u[c->nusers].name);
		free(u[c->nusers].pass);
		return -1;
	}
	c->nusers++;
	return 0;
}

static int add_status_fault(struct mock_config *c, const char *spec)
{
	struct mock_status_fault *f =
		realloc(c->status_faults, (c->nstatus_faults + 1) * sizeof(*f));

	if (!f)
		return -1;
	c->status_faults = f;
	if (mock_status_fault_parse(spec, &f[c->nstatus_faults]) < 0)
		return -1;
	c->nstatus_faults++;
	return 0;
}

/* A byte count, 0 to 2^62. */
static int parse_int64_opt(const char *s, int64_t *out)
{
	return bp_parse_int64(s, 0, INT64_C(1) << 62, out);
}

static int set_auth(struct mock_config *c, const char *s)
{
	if (strcmp(s, "none") == 0)
		c->auth = MOCK_AUTH_NONE;
	else if (strcmp(s, "basic") == 0)
		c->auth = MOCK_AUTH_BASIC;
	else if (strcmp(s, "token") == 0)
		c->auth = MOCK_AUTH_TOKEN;
	else
		return -1;
	return 0;
}

/* Applies one option; 0, or -1 when its value is bad. */
/* The contents of a PEM file (up to 1 MiB) into *out; -1 when unreadable or not PEM. */
static int read_pem(const char *path, char **out)
{
	bp_dynbuf b;

	bp_dynbuf_init(&b, 1024 * 1024);
	if (mock_read_small(path, &b) < 0 || !strstr(b.ptr ? b.ptr : "", "-----BEGIN ")) {
		bp_dynbuf_release(&b);
		return -1;
	}
	free(*out);
	*out = bp_dynbuf_detach(&b, NULL);
	return *out ? 0 : -1;
}

static int apply(struct mock_config *c, enum opt_id id, const char *v)
{
	long n;

	switch (id) {
	case O_ROOT:
		free(c->root);
		return (c->root = bp_strdup(v)) && *v ? 0 : -1;
	case O_LISTEN:
		return set_listen(c, v);
	case O_PORT:
		if (parse_long(v, 0, 65535, &n) < 0)
			return -1;
		c->port = (uint16_t)n;
		return 0;
	case O_PORT_FILE:
		free(c->port_file);
		return (c->port_file = bp_strdup(v)) ? 0 : -1;
	case O_LOG:
		free(c->log_path);
		return (c->log_path = bp_strdup(v)) ? 0 : -1;
	case O_AUTH:
		return set_auth(c, v);
	case O_USER:
		return add_user(c, v);
	case O_ANONYMOUS:
		return mock_actions_parse(v, &c->anon_actions);
	case O_TOKEN_EXPIRY:
		return parse_long(v, 0, 365L * 86400, &c->token_expiry);
	case O_RELATIVE:
		c->relative_location = 1;
		return 0;
	case O_CHUNK_MIN:
		if (parse_long(v, 0, 1L << 30, &n) < 0)
			return -1;
		c->chunk_min_length = n;
		return 0;
	case O_FAULT: {
		unsigned bit;

		if (mock_fault_parse(v, &bit) < 0)
			return -1;
		c->faults |= bit;
		return 0;
	}
	case O_NO_OAUTH:
		c->no_oauth = 1;
		return 0;
	case O_NO_REFRESH:
		c->no_refresh_tokens = 1;
		return 0;
	case O_REVOKE_REFRESH:
		c->revoke_refresh = 1;
		return 0;
	case O_STATUS_FAULT:
		return add_status_fault(c, v);
	case O_CUT_UPLOAD:
		return parse_int64_opt(v, &c->cut_upload_after);
	case O_CUT_DOWNLOAD:
		return parse_int64_opt(v, &c->cut_download_after);
	case O_NO_RANGES:
		c->no_ranges = 1;
		return 0;
	case O_NO_UPLOAD_STATUS:
		c->no_upload_status = 1;
		return 0;
	case O_STORAGE_REDIRECT:
		c->storage_redirect = 1;
		return 0;
	case O_NO_CHUNKED:
		c->no_chunked_upload = 1;
		return 0;
	case O_MAX_BODY:
		return parse_int64_opt(v, &c->max_body);
	case O_SLOW:
		return parse_int64_opt(v, &c->slow_ms);
	case O_PATCH_CREATED:
		c->patch_created = 1;
		return 0;
	case O_TLS_CERT:
		return read_pem(v, &c->tls_cert);
	case O_TLS_KEY:
		return read_pem(v, &c->tls_key);
	case O_TLS_CLIENT_CA:
		return read_pem(v, &c->tls_client_ca);
	case O_TAGS_PAGE:
		return bp_parse_int64(v, 0, 100000, &c->tags_page);
	case O_NO_DELETE:
		c->no_delete = 1;
		return 0;
	case O_MONOLITHIC_POST:
		if (strcmp(v, "store") == 0)
			c->monolithic_post = MOCK_POST_STORE;
		else if (strcmp(v, "drop") == 0)
			c->monolithic_post = MOCK_POST_DROP;
		else if (strcmp(v, "lie") == 0)
			c->monolithic_post = MOCK_POST_LIE;
		else
			return -1;
		return 0;
	case O_RATELIMIT:
		return mock_ratelimit_parse(v, c);
	case O_REFERRERS_API:
		c->referrers_api = 1;
		return 0;
	case O_REFERRERS_PAGE:
		return bp_parse_int64(v, 0, 100000, &c->referrers_page);
	case O_REFERRERS_MISSING:
		return mock_referrers_missing_parse(v, c);
	case O_HELP:
		return 0;
	}
	return -1;
}

static const struct option_def *find_option(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

/* Parses argv into c; 0 to run, 1 after --help, 2 on a usage error. */
static int parse_args(struct mock_config *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *name = bp_strprefix(a, "--");
		const char *eq = name ? strchr(name, '=') : NULL;
		const struct option_def *o;
		const char *v = NULL;

		if (!name)
			return usage_error("unexpected argument #%d", i);
		o = find_option(name, eq ? (size_t)(eq - name) : strlen(name));
		if (!o) /* up to '=': the value may be a secret */
			return usage_error("unknown option '%.*s'",
					   (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		if (o->id == O_HELP) {
			print_help(stdout);
			return 1;
		}
		if (o->arg) {
			v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v)
				return usage_error("option --%s needs a value", o->name);
		} else if (eq) {
			return usage_error("option --%s takes no value", o->name);
		}
		/* Never echo the value: --user carries a password. */
		if (apply(c, o->id, v) < 0)
			return usage_error("bad value for --%s", o->name);
	}
	if (!c->root)
		return usage_error("--root DIR is required");
	if (!c->tls_cert != !c->tls_key)
		return usage_error("--tls-cert and --tls-key go together");
	if (c->tls_client_ca && !c->tls_cert)
		return usage_error("--tls-client-ca needs --tls-cert and --tls-key");
	if (c->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return usage_error("this libmicrohttpd has no TLS support");
	return 0;
}

static void config_release(struct mock_config *c)
{
	size_t i;

	for (i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].pass);
	}
	free(c->users);
	for (i = 0; i < c->nstatus_faults; i++)
		mock_status_fault_release(&c->status_faults[i]);
	free(c->status_faults);
	free(c->root);
	free(c->port_file);
	free(c->log_path);
	free(c->tls_cert);
	if (c->tls_key) {
		explicit_bzero(c->tls_key, strlen(c->tls_key));
		free(c->tls_key);
	}
	free(c->tls_client_ca);
}

/* Writes "PORT\n" to a temporary file beside path, then renames it over path. */
static int write_port_file(const char *path, unsigned port)
{
	char text[16];

	snprintf(text, sizeof(text), "%u\n", port);
	return mock_write_atomic(path, text, strlen(text));
}

/* Blocks SIGINT/SIGTERM in every thread (the daemon's inherit it) and ignores SIGPIPE. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int run(struct mock_server *srv)
{
	sigset_t set;
	int sig = 0;
	int rc = 1;

	block_signals(&set);
	if (mock_store_init(srv->cfg.root) < 0) {
		fprintf(stderr, "mock-registry: cannot create %s: %s\n", srv->cfg.root,
			strerror(errno));
		goto done;
	}
	srv->log = mock_log_open(srv->cfg.log_path);
	srv->tokens = mock_tokens_new();
	srv->uploads = mock_uploads_new();
	if (!srv->log || !srv->tokens || !srv->uploads) {
		fprintf(stderr, "mock-registry: cannot open the log %s\n",
			srv->cfg.log_path ? srv->cfg.log_path : "");
		goto done;
	}
	if (mock_server_start(srv) < 0)
		goto done;
	if (srv->cfg.port_file && write_port_file(srv->cfg.port_file, srv->port) < 0) {
		fprintf(stderr, "mock-registry: cannot write %s\n", srv->cfg.port_file);
		goto done;
	}
	fprintf(stderr, "mock-registry: listening on %s\n", srv->base_url);
	if (srv->storage)
		fprintf(stderr, "mock-registry: storage on %s://%s:%u\n", srv->scheme, srv->host,
			(unsigned)srv->storage_port);
	while (sigwait(&set, &sig) != 0)
		;
	rc = 0;
done:
	mock_server_stop(srv);
	mock_log_close(srv->log);
	mock_tokens_free(srv->tokens);
	mock_uploads_free(srv->uploads);
	return rc;
}

/* mock-registry --root DIR [options]: 0 after a clean stop, 1 on failure, 2 on usage. */
int main(int argc, char **argv)
{
	struct mock_server srv;
	int rc;

	memset(&srv, 0, sizeof(srv));
	bp_strlcpy(srv.cfg.listen, "127.0.0.1", sizeof(srv.cfg.listen));
	srv.cfg.token_expiry = 300;
	srv.cfg.chunk_min_length = -1;
	srv.cfg.cut_upload_after = -1;
	srv.cfg.cut_download_after = -1;
	srv.cfg.max_body = -1;
	srv.cfg.ratelimit_limit = -1;
	srv.cfg.referrers_missing_status = 404;
	rc = parse_args(&srv.cfg, argc, argv);
	if (rc == 0)
		rc = run(&srv);
	else if (rc == 1)
		rc = 0;
	config_release(&srv.cfg);
	return rc;
}
