/* SPDX-License-Identifier: Apache-2.0 */
#include "auth.h"

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * WWW-Authenticate (RFC 7235 section 4.1, RFC 7230 section 3.2.6):
 *
 *   WWW-Authenticate = 1#challenge
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 *   token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 * The comma both separates the parameters of one challenge and the
 * challenges themselves: after a comma, a token followed by '=' is one more
 * parameter, any other token starts a new challenge.
 */

static int is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token68char(unsigned char c)
{
	return isalnum(c) || (c && strchr("-._~+/", c));
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p)
{
	while (is_ows(*p))
		p++;
	return p;
}

static size_t tchar_run(const char *p)
{
	size_t n = 0;

	while (is_tchar((unsigned char)p[n]))
		n++;
	return n;
}

static int malformed(const char *value, const char *at, const char *what)
{
	return bp_error_set(BP_EPROTO, "malformed WWW-Authenticate header: %s at offset %zu", what,
			    (size_t)(at - value));
}

/* Unquote the quoted-string at *pp (which points at '"') into *out. */
static int parse_quoted(const char *value, const char **pp, char **out)
{
	const char *p = *pp + 1;
	bp_dynbuf b = BP_DYNBUF_INIT(strlen(value) + 1);
	int rc = 0;

	if (bp_dynbuf_add(&b, "", 0) < 0) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		unsigned char c = (unsigned char)*p;

		if (!c) {
			rc = malformed(value, *pp, "unterminated quoted string");
			goto done;
		}
		if (c == '"') {
			p++;
			break;
		}
		if (c == '\\') {
			c = (unsigned char)*++p;
			if (!c) {
				rc = malformed(value, *pp, "unterminated quoted string");
				goto done;
			}
		}
		/* qdtext and quoted-pair: HTAB, SP, VCHAR, obs-text */
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			rc = malformed(value, p, "control character in quoted string");
			goto done;
		}
		if (bp_dynbuf_add(&b, &c, 1) < 0) {
			rc = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
		p++;
	}
	*out = bp_dynbuf_detach(&b, NULL);
	*pp = p;
done:
	bp_dynbuf_release(&b);
	return rc;
}

/* Keep the value of the parameters we use; the others are dropped. */
static void store_param(bp_auth_challenge *ch, const char *name, size_t len, char *val)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{ "realm", offsetof(bp_auth_challenge, realm) },
		{ "service", offsetof(bp_auth_challenge, service) },
		{ "scope", offsetof(bp_auth_challenge, scope) },
		{ "error", offsetof(bp_auth_challenge, error) },
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strlen(known[i].name) == len && strncasecmp(known[i].name, name, len) == 0) {
			char **slot = (char **)((char *)ch + known[i].off);

			/* a repeated parameter: the last one wins */
			free(*slot);
			*slot = val;
			return;
		}
	}
	free(val);
}

/* 1 when p starts an auth-param (token BWS "="), not a token68. */
static int starts_param(const char *p)
{
	size_t n = tchar_run(p);
	const char *q;

	if (!n)
		return 0;
	q = skip_ows(p + n);
	/* "abc==" is a token68 with padding, not abc="=" */
	return q[0] == '=' && q[1] != '=';
}

/* The #auth-param list of one challenge; *pp ends at the end or a comma. */
static int parse_params(const char *value, const char **pp, bp_auth_challenge *ch)
{
	const char *p = *pp;
	int rc;

	for (;;) {
		const char *name = p, *q, *r;
		size_t namelen = tchar_run(p);
		char *val = NULL;

		if (!namelen)
			return malformed(value, p, "expected a parameter name");
		p = skip_ows(p + namelen);
		if (*p != '=')
			return malformed(value, p, "expected '=' after a parameter name");
		p = skip_ows(p + 1);
		if (*p == '"') {
			rc = parse_quoted(value, &p, &val);
			if (rc)
				return rc;
		} else {
			size_t n = tchar_run(p);

			/* an empty value (name= followed by ',' or the end) is tolerated */
			val = bp_strndup(p, n);
			if (!val)
				return bp_error_set(BP_ENOMEM, "out of memory");
			p += n;
		}
		store_param(ch, name, namelen, val);

		p = skip_ows(p);
		if (!*p)
			break;
		if (*p != ',')
			return malformed(value, p, "expected ',' after a parameter");
		q = p;
		while (*q == ',' || is_ows(*q))
			q++;
		if (!*q) {
			p = q;
			break;
		}
		if (!tchar_run(q))
			return malformed(value, q, "expected a parameter or a scheme");
		r = skip_ows(q + tchar_run(q));
		if (*r != '=')
			break; /* a new challenge starts at q */
		p = q;
	}
	*pp = p;
	return 0;
}

/* One challenge at *pp; *pp ends at the end or at the comma after it. */
static int parse_challenge(const char *value, const char **pp, bp_auth_challenge *ch)
{
	const char *p = *pp;
	size_t i, n = tchar_run(p);

	if (!n)
		return malformed(value, p, "expected an auth scheme");
	ch->scheme = bp_strndup(p, n);
	if (!ch->scheme)
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		ch->scheme[i] = (char)tolower((unsigned char)ch->scheme[i]);
	p += n;
	if (is_ows(*p))
		p = skip_ows(p);
	else if (*p && *p != ',')
		return malformed(value, p, "expected a space after the auth scheme");
	if (!*p || *p == ',') {
		*pp = p;
		return 0;
	}
	if (starts_param(p)) {
		*pp = p;
		return parse_params(value, pp, ch);
	}

	/* token68 (Basic/Negotiate credentials-style data): skipped */
	n = 0;
	while (is_token68char((unsigned char)p[n]))
		n++;
	if (!n)
		return malformed(value, p, "unexpected character");
	p += n;
	while (*p == '=')
		p++;
	p = skip_ows(p);
	if (*p && *p != ',')
		return malformed(value, p, "unexpected character after token68");
	*pp = p;
	return 0;
}

/* Parse one WWW-Authenticate value and append its challenges to *list. */
int bp_auth__parse_challenges(const char *value, bp_auth_challenge **list, size_t *n)
{
	bp_auth_challenge *got = NULL, *all;
	size_t ngot = 0, alloc = 0;
	const char *p = value;
	int rc = 0;

	if (!value || !list || !n)
		return bp_error_set(BP_EINVAL, "no WWW-Authenticate value to parse");
	for (;;) {
		while (*p == ',' || is_ows(*p))
			p++;
		if (!*p)
			break;
		if (ngot == alloc) {
			size_t na = alloc ? alloc * 2 : 2;
			bp_auth_challenge *t = realloc(got, na * sizeof(*got));

			if (!t) {
				rc = bp_error_set(BP_ENOMEM, "out of memory");
				goto done;
			}
			got = t;
			alloc = na;
		}
		memset(&got[ngot], 0, sizeof(got[ngot]));
		ngot++;
		rc = parse_challenge(value, &p, &got[ngot - 1]);
		if (rc)
			goto done;
	}
	if (!ngot) {
		rc = bp_error_set(BP_EPROTO, "empty WWW-Authenticate header");
		goto done;
	}
	all = realloc(*list, (*n + ngot) * sizeof(*all));
	if (!all) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	memcpy(all + *n, got, ngot * sizeof(*got));
	*list = all;
	*n += ngot;
	ngot = 0;
done:
	bp_auth__challenges_free(got, ngot);
	return rc;
}

/* Free n challenges and the array; NULL-safe. */
void bp_auth__challenges_free(bp_auth_challenge *list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++) {
		free(list[i].scheme);
		free(list[i].realm);
		free(list[i].service);
		free(list[i].scope);
		free(list[i].error);
	}
	free(list);
}

/*
 * A token goes into an Authorization header or a form body: refuse
 * whitespace and control characters so that a hostile token service cannot
 * inject header lines.
 */
static int token_chars_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

static const char *nonempty_string(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) && it->valuestring[0] ? it->valuestring : NULL;
}

/* Parse a token service response into token, lifetime and refresh token. */
int bp_auth__parse_token_response(const char *body, size_t len, char **token, long *expires_in,
				  char **refresh_token)
{
	cJSON *root = NULL;
	const cJSON *exp;
	const char *end = NULL, *tok, *refresh;
	char *t = NULL, *r = NULL;
	long lifetime = 60;
	int rc = 0;

	if (token)
		*token = NULL;
	if (refresh_token)
		*refresh_token = NULL;
	if (!token)
		return bp_error_set(BP_EINVAL, "no place for the token");
	if (len > BP_TOKEN_RESPONSE_MAX)
		return bp_error_set(BP_EPROTO, "token response is larger than %d KiB",
				    BP_TOKEN_RESPONSE_MAX / 1024);
	if (!body || !len)
		return bp_error_set(BP_EPROTO, "token response is not JSON");
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root && end) {
		/* trailing garbage makes it not JSON either */
		for (; end < body + len; end++) {
			if (!strchr(" \t\r\n", *end) || !*end)
				break;
		}
	}
	if (!root || !end || end != body + len) {
		rc = bp_error_set(BP_EPROTO, "token response is not JSON");
		goto done;
	}
	if (!cJSON_IsObject(root)) {
		rc = bp_error_set(BP_EPROTO, "token response is not a JSON object");
		goto done;
	}
	/* as distribution's client: access_token when set, else token */
	tok = nonempty_string(root, "access_token");
	if (!tok)
		tok = nonempty_string(root, "token");
	if (!tok) {
		rc = bp_error_set(BP_EPROTO, "token response has no token");
		goto done;
	}
	if (!token_chars_ok(tok)) {
		rc = bp_error_set(BP_EPROTO,
				  "token response has a token with spaces or control characters");
		goto done;
	}
	refresh = nonempty_string(root, "refresh_token");
	if (refresh && !token_chars_ok(refresh)) {
		rc = bp_error_set(
			BP_EPROTO,
			"token response has a refresh token with spaces or control characters");
		goto done;
	}

	exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
	if (cJSON_IsNumber(exp) && exp->valuedouble >= 60) {
		/* cap so that the conversion is defined whatever the JSON says */
		lifetime = exp->valuedouble >= (double)INT_MAX ? INT_MAX : (long)exp->valuedouble;
	}

	t = bp_strdup(tok);
	if (!t || (refresh && refresh_token && !(r = bp_strdup(refresh)))) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	*token = t;
	t = NULL;
	if (refresh_token) {
		*refresh_token = r;
		r = NULL;
	}
	if (expires_in)
		*expires_in = lifetime;
done:
	free(t);
	free(r);
	cJSON_Delete(root);
	return rc;
}

/* ---- the authentication state of one registry ---- */

typedef enum { AUTH_UNKNOWN, AUTH_NONE, AUTH_BASIC, AUTH_BEARER } auth_kind;

#define TOKENS_MAX 64

typedef struct {
	char *scope; /* as requested: "repository:beam/python:pull,push" */
	char *token;
	time_t expires;
} token_entry;

struct bp_auth {
	char *domain;
	bp_credentials creds;
	int have_creds;
	const bp_retry *retry; /* the registry's policy, for token requests; NULL: none */
	void (*log_cb)(const char *line, void *payload);
	void *payload;
	pthread_mutex_t fetch_lock; /* one token fetch at a time */
	pthread_mutex_t lock;       /* everything below */
	auth_kind kind;
	char *realm;
	char *service;
	int token_refused; /* the OAuth2 POST refused our identity token */
	int tls;           /* the registry answered over https: secrets never go plain */
	int unconfirmed;   /* kind, realm and service were remembered, not heard this run */
	unsigned learnt;   /* bumped whenever kind, realm or service change */
	token_entry tokens[TOKENS_MAX];
	size_t ntokens;
};

static void dbg(bp_auth *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void dbg(bp_auth *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!r->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->log_cb(line, r->payload);
}

/* New state for domain; the credentials are copied. */
int bp_auth__new(bp_auth **out, const char *domain, const bp_credentials *creds,
		 const bp_retry *retry, void (*log_cb)(const char *line, void *payload),
		 void *payload)
{
	bp_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return bp_error_set(BP_ENOMEM, "out of memory");
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->fetch_lock, NULL);
	a->retry = retry;
	a->log_cb = log_cb;
	a->payload = payload;
	a->domain = bp_strdup(domain);
	if (creds && creds->username && creds->secret) {
		a->creds.username = bp_strdup(creds->username);
		a->creds.secret = bp_strdup(creds->secret);
		a->creds.source = bp_strdup(creds->source ? creds->source : "options");
		a->have_creds = 1;
	}
	if (!a->domain ||
	    (a->have_creds && (!a->creds.username || !a->creds.secret || !a->creds.source))) {
		bp_auth__free(a);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	*out = a;
	return 0;
}

static void token_free_slot(token_entry *t);

/* Free a and wipe its secrets; NULL is fine. */
void bp_auth__free(bp_auth *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->ntokens; i++)
		token_free_slot(&a->tokens[i]);
	bp_credentials_release(&a->creds);
	free(a->domain);
	free(a->realm);
	free(a->service);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->fetch_lock);
	free(a);
}

static void token_free_slot(token_entry *t)
{
	free(t->scope);
	if (t->token)
		explicit_bzero(t->token, strlen(t->token));
	free(t->token);
	memset(t, 0, sizeof(*t));
}

/* A copy of the cached, unexpired token for scope, or NULL. Lock held. */
static char *token_lookup(bp_auth *r, const char *scope)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < r->ntokens; i++)
		if (strcmp(r->tokens[i].scope, scope) == 0 && r->tokens[i].expires > now)
			return bp_strdup(r->tokens[i].token);
	return NULL;
}

static void token_store(bp_auth *r, const char *scope, const char *token, long expires_in)
{
	token_entry *t = NULL;
	size_t i;

	for (i = 0; i < r->ntokens; i++)
		if (strcmp(r->tokens[i].scope, scope) == 0)
			t = &r->tokens[i];
	if (!t) {
		if (r->ntokens == TOKENS_MAX) {
			token_free_slot(&r->tokens[0]);
			memmove(&r->tokens[0], &r->tokens[1], (TOKENS_MAX - 1) * sizeof(r->tokens[0]));
			r->ntokens--;
		}
		t = &r->tokens[r->ntokens++];
		memset(t, 0, sizeof(*t));
	} else {
		token_free_slot(t);
	}
	t->scope = bp_strdup(scope);
	t->token = bp_strdup(token);
	/* renew a little early so a token never expires mid-request */
	t->expires = time(NULL) + (expires_in > 20 ? expires_in - 10 : expires_in);
	if (!t->scope || !t->token) {
		token_free_slot(t);
		r->ntokens--;
	}
}

static char *basic_header(const bp_auth *r)
{
	char *pair = bp_aprintf("%s:%s", r->creds.username, r->creds.secret);
	char *b64 = pair ? bp_base64_encode(pair, strlen(pair)) : NULL;
	char *out = b64 ? bp_aprintf("Basic %s", b64) : NULL;

	if (pair) {
		explicit_bzero(pair, strlen(pair));
		free(pair);
	}
	if (b64) {
		explicit_bzero(b64, strlen(b64));
		free(b64);
	}
	return out;
}

/* Append "name=value" (value URL-encoded) to a query or form body. */
static int add_param(bp_dynbuf *b, const char **sep, const char *name, const char *value)
{
	char *enc = bp_urlencode(value);
	int err;

	if (!enc)
		return -1;
	err = bp_dynbuf_printf(b, "%s%s=%s", *sep, name, enc);
	explicit_bzero(enc, strlen(enc));
	free(enc);
	*sep = "&";
	return err;
}

#define CLIENT_ID "beampush"

typedef enum {
	GRANT_GET,      /* GET, basic credentials when we have a password */
	GRANT_PASSWORD, /* OAuth2 POST grant_type=password */
	GRANT_REFRESH   /* OAuth2 POST grant_type=refresh_token */
} grant;

/*
 * One request to the token service. GET carries one scope= per scope and
 * the password as basic credentials (to the realm's origin only); the
 * OAuth2 POST carries the grant in a form body, scopes space-joined. With
 * offline, a refresh token is asked for. The answer's body goes to body.
 * A passing failure (408, 429, 5xx, a network error) is retried as the
 * registry's requests are; any other answer is the caller's to judge.
 */
static int token_request(bp_auth *r, bp_http *h, const char *realm, const char *service,
			 const char *scopes, grant g, int offline, bp_dynbuf *body, long *status)
{
	static const char *const form[] = {
		"Content-Type: application/x-www-form-urlencoded", NULL
	};
	bp_dynbuf url = BP_DYNBUF_INIT(16384), fields = BP_DYNBUF_INIT(16384);
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	char *auth = NULL, *origin = NULL, *copy = NULL, *save = NULL, *s;
	const char *sep = strchr(realm, '?') ? "&" : "?", *fsep = "";
	const bp_retry *retry;
	int n, err = 0;

	if (bp_dynbuf_adds(&url, realm) < 0)
		goto nomem;
	if (g == GRANT_GET) {
		if (service && add_param(&url, &sep, "service", service) < 0)
			goto nomem;
		if (!(copy = bp_strdup(scopes ? scopes : "")))
			goto nomem;
		for (s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save))
			if (add_param(&url, &sep, "scope", s) < 0)
				goto nomem;
		if (r->have_creds && !bp_credentials_is_token(&r->creds)) {
			if (add_param(&url, &sep, "account", r->creds.username) < 0 ||
			    !(auth = basic_header(r)))
				goto nomem;
		}
		if (offline && (add_param(&url, &sep, "offline_token", "true") < 0 ||
				add_param(&url, &sep, "client_id", CLIENT_ID) < 0))
			goto nomem;
	} else {
		if (add_param(&fields, &fsep, "grant_type",
			      g == GRANT_PASSWORD ? "password" : "refresh_token") < 0 ||
		    add_param(&fields, &fsep, "service", service ? service : "") < 0 ||
		    add_param(&fields, &fsep, "client_id", CLIENT_ID) < 0)
			goto nomem;
		if (g == GRANT_PASSWORD &&
		    (add_param(&fields, &fsep, "username", r->creds.username) < 0 ||
		     add_param(&fields, &fsep, "password", r->creds.secret) < 0))
			goto nomem;
		if (g == GRANT_REFRESH && add_param(&fields, &fsep, "refresh_token", r->creds.secret) < 0)
			goto nomem;
		if (offline && add_param(&fields, &fsep, "access_type", "offline") < 0)
			goto nomem;
		if (scopes && *scopes && add_param(&fields, &fsep, "scope", scopes) < 0)
			goto nomem;
	}
	origin = bp_http__origin(url.ptr);
	if (!origin) {
		err = bp_error_set(BP_EPROTO, "registry %s: token realm \"%.200s\" is not an http(s) URL",
				   r->domain, realm);
		goto done;
	}
	/*
	 * A registry reached over https whose token service is plain http
	 * would see the password (or refresh token) cross the network in
	 * clear: refused, whatever the registry says.
	 */
	if (r->tls && bp_strprefix(origin, "http://") &&
	    (auth || g == GRANT_PASSWORD || g == GRANT_REFRESH)) {
		err = bp_error_set(BP_EPROTO, "registry %s: its token service %.200s is plain http; "
				   "credentials are not sent there", r->domain, realm);
		goto done;
	}
	dbg(r, "token: %s %s (%s%s)", g == GRANT_GET ? "GET" : "POST", url.ptr,
	    g == GRANT_PASSWORD ? "password grant for " : g == GRANT_REFRESH ? "refresh token" :
	    auth ? "basic credentials of " : "anonymous",
	    g == GRANT_PASSWORD || auth ? r->creds.username : "");
	req.method = g == GRANT_GET ? "GET" : "POST";
	req.url = url.ptr;
	req.authorization = auth;
	req.auth_origin = origin;
	req.resp = body;
	if (g != GRANT_GET) {
		req.headers = form;
		req.body = fields.ptr;
		req.body_len = (int64_t)fields.len;
	}
	/* a remembered realm that fails is not waited for: the registry is asked anew */
	pthread_mutex_lock(&r->lock);
	retry = r->unconfirmed ? NULL : r->retry;
	pthread_mutex_unlock(&r->lock);
	for (n = 0;; n++) {
		/* a retried answer starts from an empty buffer */
		bp_dynbuf_reset(body);
		err = bp_http__perform(h, &req, &resp);
		if (resp.body_over_cap ||
		    !bp_retry__should(retry, g == GRANT_GET ? "token service GET" :
						"token service POST", err, &resp, n))
			break;
	}
	if (err && resp.body_over_cap) {
		err = bp_error_set(BP_EPROTO, "registry %s: token response is larger than %d KiB",
				   r->domain, BP_TOKEN_RESPONSE_MAX / 1024);
		goto done;
	}
	if (err) {
		bp_error_prefix("token service");
		goto done;
	}
	*status = resp.status;
	goto done;
nomem:
	err = bp_error_set(BP_ENOMEM, "out of memory");
done:
	bp_http__response_release(&resp);
	bp_dynbuf_release(&url);
	if (fields.ptr)
		explicit_bzero(fields.ptr, fields.len);
	bp_dynbuf_release(&fields);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	free(auth);
	free(origin);
	free(copy);
	return err;
}

/* Token services that do not speak OAuth2 answer a POST with one of these. */
static int oauth_unsupported(long status)
{
	return status == 400 || status == 401 || status == 404 || status == 405;
}

/*
 * Fetch a token for scopes (space-separated; may be empty) and cache it
 * under key. A refresh (identity) token goes by OAuth2 POST; a password by
 * GET with basic credentials, or, with offline (login), by the OAuth2
 * password grant asking for a refresh token, which *refresh_out then gets.
 * A token service that does not do OAuth2 gets the GET instead; a refresh
 * token it gives there is dropped, as only the OAuth2 POST could take it
 * back (the password is kept instead).
 */
static int token_fetch(bp_auth *r, bp_http *h, const char *realm, const char *service,
		       const char *scopes, const char *key, int offline, char **refresh_out)
{
	bp_dynbuf body = BP_DYNBUF_INIT(BP_TOKEN_RESPONSE_MAX);
	char *token = NULL, *refresh = NULL;
	int is_token = r->have_creds && bp_credentials_is_token(&r->creds);
	long expires = 60, status = 0;
	int err, no_oauth = 0;

	if (is_token || (offline && r->have_creds)) {
		err = token_request(r, h, realm, service, scopes,
				    is_token ? GRANT_REFRESH : GRANT_PASSWORD, offline, &body, &status);
		if (err)
			goto done;
		if (oauth_unsupported(status)) {
			no_oauth = status == 404 || status == 405;
			if (is_token && !no_oauth) {
				/* spoken, and refused: a GET can only be anonymous now */
				pthread_mutex_lock(&r->lock);
				r->token_refused = 1;
				pthread_mutex_unlock(&r->lock);
			}
			dbg(r, "token: POST answered %ld, trying GET", status);
			bp_dynbuf_reset(&body);
			err = token_request(r, h, realm, service, scopes, GRANT_GET, offline, &body,
					    &status);
		}
	} else {
		err = token_request(r, h, realm, service, scopes, GRANT_GET, offline, &body, &status);
	}
	if (err)
		goto done;
	if (status == 401 || status == 403) {
		if (is_token)
			err = bp_error_set(BP_EAUTH, "registry %s refused the identity token (from %s): "
					   "log in again", r->domain, r->creds.source);
		else if (r->have_creds)
			err = bp_error_set(BP_EAUTH, "registry %s refused the credentials of %s (from %s)",
					   r->domain, r->creds.username, r->creds.source);
		else
			err = bp_error_set(BP_EAUTH, "registry %s requires authentication: "
					   "no credentials found (beampush login %s)",
					   r->domain, r->domain);
		goto done;
	}
	if (status != 200) {
		err = bp_error_set(BP_ERROR, "registry %s: token service answered %ld", r->domain,
				   status);
		goto done;
	}
	if ((err = bp_auth__parse_token_response(body.ptr ? body.ptr : "", body.len, &token,
						 &expires, &refresh))) {
		bp_error_prefix("registry %s", r->domain);
		goto done;
	}
	pthread_mutex_lock(&r->lock);
	token_store(r, key, token, expires);
	r->unconfirmed = 0;
	pthread_mutex_unlock(&r->lock);
	if (refresh_out && refresh && no_oauth) {
		dbg(r, "token: the token service has no OAuth2 endpoint to take a refresh token "
		    "back; keeping the password");
	} else if (refresh_out && refresh) {
		*refresh_out = refresh;
		refresh = NULL;
	}
done:
	if (body.ptr)
		explicit_bzero(body.ptr, body.len);
	bp_dynbuf_release(&body);
	if (token)
		explicit_bzero(token, strlen(token));
	free(token);
	if (refresh)
		explicit_bzero(refresh, strlen(refresh));
	free(refresh);
	return err;
}

/* The Authorization value for scope, fetching a token if needed. */
int bp_auth__header(bp_auth *r, bp_http *h, const char *scope, char **out)
{
	char *realm, *service, *tok;
	auth_kind kind;
	int err;

	*out = NULL;
	pthread_mutex_lock(&r->lock);
	kind = r->kind;
	if (kind == AUTH_BEARER && (tok = token_lookup(r, scope ? scope : ""))) {
		pthread_mutex_unlock(&r->lock);
		*out = bp_aprintf("Bearer %s", tok);
		explicit_bzero(tok, strlen(tok));
		free(tok);
		return *out ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
	}
	realm = bp_strdup(r->realm);
	service = bp_strdup(r->service);
	pthread_mutex_unlock(&r->lock);

	if (kind == AUTH_BASIC && r->have_creds) {
		*out = basic_header(r);
		err = *out ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
	} else if (kind == AUTH_BEARER && realm) {
		/* workers that miss together wait for one fetch, not one each */
		pthread_mutex_lock(&r->fetch_lock);
		pthread_mutex_lock(&r->lock);
		tok = token_lookup(r, scope ? scope : "");
		pthread_mutex_unlock(&r->lock);
		err = tok ? 0 : token_fetch(r, h, realm, service, scope, scope ? scope : "", 0, NULL);
		pthread_mutex_unlock(&r->fetch_lock);
		if (tok) {
			explicit_bzero(tok, strlen(tok));
			free(tok);
		}
		if (!err)
			err = bp_auth__header(r, h, scope, out);
	} else {
		err = 0;
	}
	free(realm);
	free(service);
	return err;
}

/* 1 when a and b are both NULL or equal strings. */
static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Learn from a 401: remember the scheme, realm and service. */
static int learn_challenge(bp_auth *r, const bp_http_response *resp,
			   bp_auth_challenge **bearer_out, bp_auth_challenge **list, size_t *n)
{
	size_t i;

	*list = NULL;
	*n = 0;
	*bearer_out = NULL;
	for (i = 0; i < resp->nwww_authenticate; i++)
		bp_auth__parse_challenges(resp->www_authenticate[i], list, n);
	for (i = 0; i < *n; i++) {
		bp_auth_challenge *c = &(*list)[i];

		if (c->scheme && strcmp(c->scheme, "bearer") == 0 && c->realm) {
			pthread_mutex_lock(&r->lock);
			if (r->kind != AUTH_BEARER || !same_str(r->realm, c->realm) ||
			    !same_str(r->service, c->service))
				r->learnt++;
			r->kind = AUTH_BEARER;
			r->unconfirmed = 0;
			free(r->realm);
			free(r->service);
			r->realm = bp_strdup(c->realm);
			r->service = bp_strdup(c->service);
			pthread_mutex_unlock(&r->lock);
			*bearer_out = c;
			return 0;
		}
	}
	for (i = 0; i < *n; i++) {
		if ((*list)[i].scheme && strcmp((*list)[i].scheme, "basic") == 0) {
			pthread_mutex_lock(&r->lock);
			if (r->kind != AUTH_BASIC)
				r->learnt++;
			r->kind = AUTH_BASIC;
			r->unconfirmed = 0;
			pthread_mutex_unlock(&r->lock);
			return 0;
		}
	}
	return bp_error_set(BP_EAUTH, "registry %s answered 401 without a challenge we know",
			    r->domain);
}


/* See auth.h. */
int bp_auth__ping(bp_auth *a, const bp_http_response *resp)
{
	bp_auth_challenge *list, *bearer;
	size_t n;
	int err;

	pthread_mutex_lock(&a->lock);
	a->tls = resp->url && bp_strprefix(resp->url, "https://") != NULL;
	pthread_mutex_unlock(&a->lock);
	if (resp->status != 401) {
		pthread_mutex_lock(&a->lock);
		if (a->kind != AUTH_NONE)
			a->learnt++;
		a->kind = AUTH_NONE;
		a->unconfirmed = 0;
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	err = learn_challenge(a, resp, &bearer, &list, &n);
	bp_auth__challenges_free(list, n);
	return err;
}

/* See auth.h. */
int bp_auth__remember(bp_auth *a, const char *kind, const char *realm, const char *service,
		      int tls)
{
	auth_kind k;
	char *re = NULL, *sv = NULL;

	if (strcmp(kind, "none") == 0)
		k = AUTH_NONE;
	else if (strcmp(kind, "basic") == 0)
		k = AUTH_BASIC;
	else if (strcmp(kind, "bearer") == 0 && realm)
		k = AUTH_BEARER;
	else
		return bp_error_set(BP_EINVAL, "no such auth challenge: %s", kind);
	if (k == AUTH_BEARER &&
	    (!(re = bp_strdup(realm)) || (service && !(sv = bp_strdup(service))))) {
		free(re);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&a->lock);
	a->kind = k;
	free(a->realm);
	free(a->service);
	a->realm = re;
	a->service = sv;
	a->tls = tls;
	a->unconfirmed = 1;
	pthread_mutex_unlock(&a->lock);
	dbg(a, "registry %s: auth remembered from an earlier run (%s%s%s)", a->domain, kind,
	    re ? ", realm " : "", re ? re : "");
	return 0;
}

/* See auth.h. */
unsigned bp_auth__known(bp_auth *a, char kind[8], char **realm, char **service)
{
	static const char *const names[] = { "", "none", "basic", "bearer" };
	unsigned learnt;

	pthread_mutex_lock(&a->lock);
	bp_strlcpy(kind, names[a->kind], 8);
	*realm = a->kind == AUTH_BEARER ? bp_strdup(a->realm) : NULL;
	*service = a->kind == AUTH_BEARER ? bp_strdup(a->service) : NULL;
	learnt = a->learnt;
	pthread_mutex_unlock(&a->lock);
	return learnt;
}

/* See auth.h. */
int bp_auth__unconfirmed(bp_auth *a)
{
	int u;

	pthread_mutex_lock(&a->lock);
	u = a->unconfirmed;
	pthread_mutex_unlock(&a->lock);
	return u;
}

/* See auth.h. */
int bp_auth__challenge(bp_auth *a, bp_http *h, const bp_http_response *resp, const char *scope)
{
	bp_auth_challenge *list = NULL, *bearer;
	size_t n = 0;
	char *want = NULL;
	int err;

	if ((err = learn_challenge(a, resp, &bearer, &list, &n)))
		goto done;
	if (bearer) {
		/* the challenged scope, and ours beside it when different */
		if (bearer->scope && scope && strcmp(bearer->scope, scope) != 0)
			want = bp_aprintf("%s %s", scope, bearer->scope);
		else
			want = bp_strdup(bearer->scope ? bearer->scope : scope ? scope : "");
		err = want ? token_fetch(a, h, bearer->realm, bearer->service, want, scope ? scope : "", 0, NULL)
			   : bp_error_set(BP_ENOMEM, "out of memory");
	} else if (!a->have_creds) {
		err = bp_error_set(BP_EAUTH, "registry %s requires authentication: "
				   "no credentials found (beampush login %s)", a->domain, a->domain);
	}
done:
	free(want);
	bp_auth__challenges_free(list, n);
	return err;
}

/* See auth.h. */
int bp_auth__refused(bp_auth *a, const char *scope)
{
	int token_refused;

	pthread_mutex_lock(&a->lock);
	token_refused = a->token_refused;
	pthread_mutex_unlock(&a->lock);
	if (token_refused)
		return bp_error_set(BP_EAUTH, "registry %s refused the identity token (from %s): "
				    "log in again (beampush login %s)", a->domain, a->creds.source,
				    a->domain);
	if (a->have_creds)
		return bp_error_set(BP_EAUTH, "registry %s refused access to %s for %s (from %s)",
				    a->domain, scope ? scope : "the registry", a->creds.username,
				    a->creds.source);
	return bp_error_set(BP_EAUTH, "registry %s requires authentication for %s: "
			    "no credentials found (beampush login %s)",
			    a->domain, scope ? scope : "the registry", a->domain);
}

/* See auth.h. */
int bp_auth__login(bp_auth *a, bp_http *h, const char *base, char **refresh)
{
	char *realm, *service;
	auth_kind kind;
	int err;

	*refresh = NULL;
	pthread_mutex_lock(&a->lock);
	kind = a->kind;
	realm = bp_strdup(a->realm);
	service = bp_strdup(a->service);
	pthread_mutex_unlock(&a->lock);
	if (kind == AUTH_BEARER) {
		/* no scope: a token that proves the credentials, and maybe a refresh token */
		err = token_fetch(a, h, realm, service, "", "", 1, refresh);
	} else if (kind == AUTH_BASIC) {
		bp_http_request req = BP_HTTP_REQUEST_INIT;
		bp_http_response resp = { 0 };
		char *url = bp_aprintf("%s/v2/", base), *auth = basic_header(a);

		if (!url || !auth) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
		} else {
			char *origin = bp_http__origin(url);

			req.url = url;
			req.authorization = auth;
			req.auth_origin = origin;
			for (int n = 0;; n++) {
				err = bp_http__perform(h, &req, &resp);
				if (!bp_retry__should(a->retry, "GET /v2/", err, &resp, n))
					break;
			}
			free(origin);
			if (!err && resp.status == 401)
				err = bp_error_set(BP_EAUTH, "registry %s refused the credentials of %s",
						   a->domain, a->creds.username);
			else if (!err && resp.status != 200)
				err = bp_error_set(BP_ERROR, "registry %s: GET /v2/ answered %ld",
						   a->domain, resp.status);
		}
		bp_http__response_release(&resp);
		if (auth)
			explicit_bzero(auth, strlen(auth));
		free(auth);
		free(url);
	} else {
		err = 0;
		dbg(a, "registry %s asks for no authentication", a->domain);
	}
	free(realm);
	free(service);
	return err;
}
