/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Authentication: --user accounts, Basic auth, and the Docker token service
 * with opaque random tokens kept in memory: GET /token (basic credentials,
 * offline_token=true for a refresh token) and the OAuth2 POST /token (form
 * body, grant_type=password or refresh_token, access_type=offline for a
 * refresh token). Refresh tokens never expire and stay bound to their user.
 * Passwords and tokens are never logged or printed; form bodies are wiped.
 */
#include "mock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "util/strutil.h"

struct grant {
	char *repo;
	unsigned actions;
};

struct token {
	char value[MOCK_TOKEN_LEN + 1];
	char user[128];
	struct grant *grants;
	size_t ngrants;
	time_t expires; /* CLOCK_MONOTONIC seconds */
	struct token *next;
};

struct refresh {
	char value[MOCK_TOKEN_LEN + 1];
	char user[128];
	struct refresh *next;
};

struct mock_tokens {
	pthread_mutex_t lock;
	struct token *head;
	struct refresh *refresh; /* every refresh token issued, for the process's life */
};

static const char *const action_names[] = { "pull", "push", "delete" };

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* One action word (or "*" for all) as a bit; 0 when unknown. */
static unsigned action_bit(const char *s, size_t n)
{
	size_t i;

	if (n == 1 && s[0] == '*')
		return MOCK_ALL;
	for (i = 0; i < 3; i++)
		if (strlen(action_names[i]) == n && memcmp(s, action_names[i], n) == 0)
			return 1u << i;
	return 0;
}

/* Comma list of pull,push,delete into bits; "" and "none" give 0. */
int mock_actions_parse(const char *s, unsigned *out)
{
	unsigned acc = 0;

	if (strcmp(s, "none") == 0 || *s == '\0') {
		*out = 0;
		return 0;
	}
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		unsigned bit = action_bit(s, n);

		if (!bit || bit == MOCK_ALL)
			return -1;
		acc |= bit;
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = acc;
	return 0;
}

/* "pull,push,delete" style text of the set bits. */
void mock_actions_format(unsigned actions, char *buf, size_t size)
{
	size_t i, len = 0;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < 3; i++) {
		if (!(actions & (1u << i)))
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s",
					len ? "," : "", action_names[i]);
		if (len >= size)
			return;
	}
}

/* NAME:PASS[:ACTIONS]; a last field that is not an action list stays in PASS. */
int mock_user_parse(struct mock_user *u, const char *spec)
{
	const char *colon = strchr(spec, ':');
	const char *last;
	unsigned acts = MOCK_ALL;
	size_t passlen;

	if (!colon || colon == spec)
		return -1;
	last = strrchr(colon + 1, ':');
	passlen = strlen(colon + 1);
	if (last && mock_actions_parse(last + 1, &acts) == 0)
		passlen = (size_t)(last - colon - 1);
	else
		acts = MOCK_ALL;
	u->name = bp_strndup(spec, (size_t)(colon - spec));
	u->pass = bp_strndup(colon + 1, passlen);
	u->actions = acts;
	if (!u->name || !u->pass)
		return -1;
	return 0;
}

/* An empty token table. */
struct mock_tokens *mock_tokens_new(void)
{
	struct mock_tokens *t = calloc(1, sizeof(*t));

	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

static void token_free(struct token *tk)
{
	size_t i;

	for (i = 0; i < tk->ngrants; i++)
		free(tk->grants[i].repo);
	free(tk->grants);
	OPENSSL_cleanse(tk->value, sizeof(tk->value));
	free(tk);
}

/* Frees the table and its tokens; NULL-safe. */
void mock_tokens_free(struct mock_tokens *t)
{
	struct token *tk, *next;
	struct refresh *rt, *rnext;

	if (!t)
		return;
	for (tk = t->head; tk; tk = next) {
		next = tk->next;
		token_free(tk);
	}
	for (rt = t->refresh; rt; rt = rnext) {
		rnext = rt->next;
		OPENSSL_cleanse(rt->value, sizeof(rt->value));
		free(rt);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Called with the lock held. */
static struct token *token_find(struct mock_tokens *t, const char *value)
{
	struct token *tk;

	for (tk = t->head; tk; tk = tk->next)
		if (strcmp(tk->value, value) == 0)
			return tk;
	return NULL;
}

/* Actions a token grants on repo; -1 when unknown or expired. */
static int token_grants(struct mock_tokens *t, const char *value, const char *repo, char *user,
			size_t usize)
{
	struct token *tk;
	int acts = -1;
	size_t i;

	pthread_mutex_lock(&t->lock);
	tk = token_find(t, value);
	if (tk && mono_now() < tk->expires) {
		acts = 0;
		for (i = 0; repo && i < tk->ngrants; i++)
			if (strcmp(tk->grants[i].repo, repo) == 0)
				acts |= (int)tk->grants[i].actions;
		if (user)
			bp_strlcpy(user, tk->user, usize);
	}
	pthread_mutex_unlock(&t->lock);
	return acts;
}

static const struct mock_user *user_check(const struct mock_server *s, const char *name,
					  const char *pass)
{
	size_t i, plen = strlen(pass);

	for (i = 0; i < s->cfg.nusers; i++) {
		const struct mock_user *u = &s->cfg.users[i];

		if (strcmp(u->name, name) != 0 || strlen(u->pass) != plen)
			continue;
		if (CRYPTO_memcmp(u->pass, pass, plen) == 0)
			return u;
	}
	return NULL;
}

static void identify_basic(struct mock_req *r, const char *b64)
{
	size_t len = 0;
	unsigned char *dec;
	char *colon;
	const struct mock_user *u;

	while (*b64 == ' ')
		b64++;
	dec = bp_base64_decode(b64, &len);
	if (!dec)
		return;
	colon = strchr((char *)dec, ':');
	if (colon && strlen((char *)dec) == len) {
		*colon = '\0';
		u = user_check(r->srv, (char *)dec, colon + 1);
		if (u) {
			r->ident.kind = MOCK_ID_BASIC;
			r->ident.account = u;
			bp_strlcpy(r->ident.user, u->name, sizeof(r->ident.user));
		}
	}
	OPENSSL_cleanse(dec, len);
	free(dec);
}

static void identify_bearer(struct mock_req *r, const char *value)
{
	while (*value == ' ')
		value++;
	r->ident.bearer_scheme = 1;
	if (strlen(value) != MOCK_TOKEN_LEN)
		return;
	if (token_grants(r->srv->tokens, value, NULL, r->ident.user, sizeof(r->ident.user)) < 0)
		return;
	r->ident.kind = MOCK_ID_BEARER;
	memcpy(r->ident.token, value, MOCK_TOKEN_LEN + 1);
}

/* Classifies the Authorization header (independent of --auth). */
void mock_auth_identify(struct mock_req *r)
{
	const char *h = mock_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *v;

	memset(&r->ident, 0, sizeof(r->ident));
	r->ident.kind = MOCK_ID_NONE;
	if (!h)
		return;
	r->ident.kind = MOCK_ID_BAD;
	if ((v = bp_strcaseprefix(h, "Basic ")))
		identify_basic(r, v);
	else if ((v = bp_strcaseprefix(h, "Bearer ")))
		identify_bearer(r, v);
}

/* none, basic:<user>, bearer:<user>, bad, or oauth:<grant>:<user|bad> for POST /token. */
void mock_auth_label(const struct mock_req *r, char *buf, size_t size)
{
	if (r->grant[0]) {
		snprintf(buf, size, "oauth:%s", r->grant);
		return;
	}
	switch (r->ident.kind) {
	case MOCK_ID_NONE:
		snprintf(buf, size, "none");
		break;
	case MOCK_ID_BASIC:
		snprintf(buf, size, "basic:%s", r->ident.user);
		break;
	case MOCK_ID_BEARER:
		snprintf(buf, size, "bearer:%s", r->ident.user);
		break;
	default:
		snprintf(buf, size, "bad");
		break;
	}
}

/* 1 when r's identity may do every one of actions on repo. */
int mock_auth_allows(struct mock_req *r, const char *repo, unsigned actions)
{
	const struct mock_config *c = &r->srv->cfg;
	int granted;

	switch (c->auth) {
	case MOCK_AUTH_NONE:
		return 1;
	case MOCK_AUTH_BASIC:
		if (r->ident.kind == MOCK_ID_BASIC)
			return (r->ident.account->actions & actions) == actions;
		if (r->ident.kind == MOCK_ID_NONE)
			return (c->anon_actions & actions) == actions;
		return 0;
	case MOCK_AUTH_TOKEN:
		if (r->ident.kind != MOCK_ID_BEARER)
			return 0;
		granted = token_grants(r->srv->tokens, r->ident.token, repo, NULL, 0);
		return granted >= 0 && ((unsigned)granted & actions) == actions;
	}
	return 0;
}

/* The Bearer challenge; scope_repo NULL for a bare one. */
static char *bearer_challenge(struct mock_req *r, const char *scope_repo, unsigned actions,
			      const char *error)
{
	bp_dynbuf b = BP_DYNBUF_INIT(4096);
	char acts[32];

	bp_dynbuf_printf(&b, "Bearer realm=\"%s/token\",service=\"%s\"", r->srv->base_url,
			 MOCK_SERVICE);
	if (scope_repo) {
		mock_actions_format(actions, acts, sizeof(acts));
		bp_dynbuf_printf(&b, ",scope=\"repository:%s:%s\"", scope_repo, acts);
	}
	if (error)
		bp_dynbuf_printf(&b, ",error=\"%s\"", error);
	return bp_dynbuf_detach(&b, NULL);
}

/* A 401 with the challenge that fits the mode and the credentials sent. */
static enum MHD_Result challenge(struct mock_req *r, const char *repo, unsigned actions)
{
	const char *error = NULL;
	char *value;
	struct MHD_Response *resp;

	if (r->srv->cfg.auth == MOCK_AUTH_BASIC)
		value = bp_strdup("Basic realm=\"" MOCK_SERVICE "\"");
	else {
		if (r->ident.kind == MOCK_ID_BAD && r->ident.bearer_scheme)
			error = "invalid_token";
		else if (r->ident.kind == MOCK_ID_BEARER && repo)
			error = "insufficient_scope";
		value = bearer_challenge(r, repo, actions, error);
	}
	resp = mock_resp_error_body("UNAUTHORIZED", "authentication required", NULL);
	if (!value || !resp) {
		free(value);
		if (resp)
			MHD_destroy_response(resp);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, value);
	free(value);
	return mock_reply(r, MHD_HTTP_UNAUTHORIZED, resp);
}

/* 0 when allowed; else a 401 or 403 is queued and 1 returned. */
int mock_auth_require(struct mock_req *r, const char *repo, unsigned actions, enum MHD_Result *res)
{
	char acts[32];

	if (mock_auth_allows(r, repo, actions))
		return 0;
	if (r->srv->cfg.auth == MOCK_AUTH_BASIC && r->ident.kind == MOCK_ID_BASIC) {
		mock_actions_format(actions, acts, sizeof(acts));
		*res = mock_reply_error(r, MHD_HTTP_FORBIDDEN, "DENIED",
					"requested access to the resource is denied", acts);
		return 1;
	}
	*res = challenge(r, repo, actions);
	return 1;
}

/* GET /v2/: 200 {} when the caller is authenticated (or needs not be). */
enum MHD_Result mock_auth_ping(struct mock_req *r)
{
	const struct mock_config *c = &r->srv->cfg;
	int ok;

	if (c->auth == MOCK_AUTH_NONE)
		ok = 1;
	else if (c->auth == MOCK_AUTH_BASIC)
		ok = r->ident.kind == MOCK_ID_BASIC ||
		     (r->ident.kind == MOCK_ID_NONE && c->anon_actions);
	else
		ok = r->ident.kind == MOCK_ID_BEARER;
	if (!ok)
		return challenge(r, NULL, 0);
	return mock_reply(r, MHD_HTTP_OK, mock_resp_bytes("{}", 2, "application/json"));
}

/* Scope parsing state for the token request. */
struct scope_req {
	struct grant *grants;
	size_t n;
	unsigned allowed;
	int oom;
};

static void grant_add(struct scope_req *s, const char *repo, size_t len, unsigned acts)
{
	struct grant *g;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strlen(s->grants[i].repo) == len && memcmp(s->grants[i].repo, repo, len) == 0) {
			s->grants[i].actions |= acts;
			return;
		}
	}
	g = realloc(s->grants, (s->n + 1) * sizeof(*g));
	if (!g) {
		s->oom = 1;
		return;
	}
	s->grants = g;
	g[s->n].repo = bp_strndup(repo, len);
	g[s->n].actions = acts;
	if (!g[s->n].repo) {
		s->oom = 1;
		return;
	}
	s->n++;
}

/* Requested actions of one scope, intersected with what is allowed. */
static unsigned scope_actions(const char *s, size_t n, unsigned allowed)
{
	unsigned acts = 0;
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != ',')
			j++;
		acts |= action_bit(s + i, j - i);
		i = j + 1;
	}
	return acts & allowed;
}

/* repository[(class)]:<name>:<actions>; type before the first ':', actions after the last. */
static void scope_one(struct scope_req *s, const char *p, size_t n)
{
	const char *first = memchr(p, ':', n);
	const char *last = NULL;
	const char *q;
	char *name;
	unsigned acts;
	size_t tlen;

	for (q = p; q < p + n; q++)
		if (*q == ':')
			last = q;
	if (!first || last == first)
		return;
	tlen = (size_t)(first - p);
	if (!(tlen == 10 && memcmp(p, "repository", 10) == 0) &&
	    !(tlen > 11 && memcmp(p, "repository(", 11) == 0 && first[-1] == ')'))
		return;
	name = bp_strndup(first + 1, (size_t)(last - first - 1));
	acts = scope_actions(last + 1, (size_t)(p + n - last - 1), s->allowed);
	if (!name)
		s->oom = 1;
	else if (mock_valid_name(name))
		grant_add(s, name, strlen(name), acts);
	free(name);
}

/* Every space-separated scope of one scope value. */
static void scope_list(struct scope_req *s, const char *value)
{
	const char *p = value;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n)
			scope_one(s, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
}

/* MHD_KeyValueIterator over the query: each scope= parameter. */
static enum MHD_Result scope_param(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	if (strcmp(key, "scope") == 0 && value)
		scope_list(cls, value);
	return MHD_YES;
}

static void tokens_purge(struct mock_tokens *t, time_t now)
{
	struct token **pp = &t->head;

	while (*pp) {
		struct token *tk = *pp;

		if (tk->expires <= now) {
			*pp = tk->next;
			token_free(tk);
		} else {
			pp = &tk->next;
		}
	}
}

/* Stores a new token taking s's grants; writes its value. */
static int token_issue(struct mock_server *srv, struct scope_req *s, const char *user,
		       char value[MOCK_TOKEN_LEN + 1])
{
	struct token *tk = calloc(1, sizeof(*tk));
	time_t now = mono_now();

	if (!tk || mock_random_hex(tk->value, MOCK_TOKEN_LEN / 2) < 0) {
		free(tk);
		return -1;
	}
	bp_strlcpy(tk->user, user, sizeof(tk->user));
	tk->grants = s->grants;
	tk->ngrants = s->n;
	s->grants = NULL;
	s->n = 0;
	tk->expires = now + srv->cfg.token_expiry;
	memcpy(value, tk->value, sizeof(tk->value));
	pthread_mutex_lock(&srv->tokens->lock);
	tokens_purge(srv->tokens, now);
	tk->next = srv->tokens->head;
	srv->tokens->head = tk;
	pthread_mutex_unlock(&srv->tokens->lock);
	return 0;
}

/* A new refresh token bound to user, kept for the process's life; writes its value. */
static int refresh_issue(struct mock_server *srv, const char *user, char value[MOCK_TOKEN_LEN + 1])
{
	struct refresh *rt = calloc(1, sizeof(*rt));

	if (!rt || mock_random_hex(rt->value, MOCK_TOKEN_LEN / 2) < 0) {
		free(rt);
		return -1;
	}
	bp_strlcpy(rt->user, user, sizeof(rt->user));
	memcpy(value, rt->value, sizeof(rt->value));
	pthread_mutex_lock(&srv->tokens->lock);
	rt->next = srv->tokens->refresh;
	srv->tokens->refresh = rt;
	pthread_mutex_unlock(&srv->tokens->lock);
	return 0;
}

static const struct mock_user *user_by_name(const struct mock_server *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->cfg.nusers; i++)
		if (strcmp(s->cfg.users[i].name, name) == 0)
			return &s->cfg.users[i];
	return NULL;
}

/* The account a refresh token stands for; NULL when unknown or under --revoke-refresh. */
static const struct mock_user *refresh_user(struct mock_server *srv, const char *value)
{
	struct refresh *rt;
	char user[128] = "";
	size_t len = strlen(value);

	if (srv->cfg.revoke_refresh || len != MOCK_TOKEN_LEN)
		return NULL;
	pthread_mutex_lock(&srv->tokens->lock);
	for (rt = srv->tokens->refresh; rt; rt = rt->next)
		if (CRYPTO_memcmp(rt->value, value, MOCK_TOKEN_LEN) == 0)
			bp_strlcpy(user, rt->user, sizeof(user));
	pthread_mutex_unlock(&srv->tokens->lock);
	return user[0] ? user_by_name(srv, user) : NULL;
}

/* "repository:NAME:ACTIONS ..." for what s grants (the OAuth2 answer's scope). */
static char *granted_scope(const struct scope_req *s)
{
	bp_dynbuf b = BP_DYNBUF_INIT(MOCK_FORM_MAX);
	char acts[32];
	size_t i;

	if (bp_dynbuf_add(&b, "", 0) < 0)
		return NULL;
	for (i = 0; i < s->n; i++) {
		if (!s->grants[i].actions)
			continue;
		mock_actions_format(s->grants[i].actions, acts, sizeof(acts));
		if (bp_dynbuf_printf(&b, "%srepository:%s:%s", b.len ? " " : "", s->grants[i].repo,
				     acts) < 0) {
			bp_dynbuf_release(&b);
			return NULL;
		}
	}
	return bp_dynbuf_detach(&b, NULL);
}

/*
 * The token service's JSON. GET: token and access_token; the OAuth2 POST:
 * access_token and scope. Both: expires_in, issued_at, and refresh_token
 * when refresh is not NULL.
 */
static char *token_json(const char *value, long expires_in, const char *refresh, const char *scope)
{
	char issued[32];
	struct tm tm;
	time_t now = time(NULL);
	cJSON *o = cJSON_CreateObject();
	char *out = NULL;
	int ok;

	gmtime_r(&now, &tm);
	strftime(issued, sizeof(issued), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ok = o && (scope || cJSON_AddStringToObject(o, "token", value)) &&
	     cJSON_AddStringToObject(o, "access_token", value) &&
	     (!scope || cJSON_AddStringToObject(o, "scope", scope)) &&
	     cJSON_AddNumberToObject(o, "expires_in", (double)expires_in) &&
	     cJSON_AddStringToObject(o, "issued_at", issued) &&
	     (!refresh || cJSON_AddStringToObject(o, "refresh_token", refresh));
	if (ok)
		out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/* token-huge: the same token, the body grown by a padding field; body consumed. */
static char *pad_token(char *body)
{
	char *padded = mock_fault_token_padded(body);

	OPENSSL_cleanse(body, strlen(body));
	cJSON_free(body);
	return padded;
}

static void scope_req_release(struct scope_req *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->grants[i].repo);
	free(s->grants);
}

/*
 * Issues a token with s's grants to user (NULL: anonymous) and answers 200.
 * With want_refresh and a user, the answer carries a refresh token: reuse
 * when given (a refresh grant), else a new one; never under
 * --no-refresh-tokens. oauth: the POST's JSON shape.
 */
static enum MHD_Result issue_reply(struct mock_req *r, struct scope_req *s, const char *user,
				   int want_refresh, const char *reuse, int oauth)
{
	char value[MOCK_TOKEN_LEN + 1] = "", fresh[MOCK_TOKEN_LEN + 1] = "";
	const char *refresh = NULL;
	char *body = NULL, *scope = NULL;
	enum MHD_Result res;

	if (mock_fault_on(r, MOCK_FAULT_TOKEN_NOT_JSON))
		return mock_reply(r, MHD_HTTP_OK, mock_fault_token_html());
	if (mock_fault_on(r, MOCK_FAULT_TOKEN_ENDLESS))
		return mock_reply(
			r, MHD_HTTP_OK,
			mock_fault_endless("{\"token\":\"", 10, -1, 'x', "application/json"));
	if (want_refresh && user && !r->srv->cfg.no_refresh_tokens) {
		if (reuse)
			refresh = reuse;
		else if (refresh_issue(r->srv, user, fresh) == 0)
			refresh = fresh;
		else
			s->oom = 1;
	}
	if (oauth && !(scope = granted_scope(s)))
		s->oom = 1;
	if (s->oom || token_issue(r->srv, s, user ? user : "anonymous", value) < 0 ||
	    !(body = token_json(value, r->srv->cfg.token_expiry, refresh, scope)) ||
	    (mock_fault_on(r, MOCK_FAULT_TOKEN_HUGE) && !(body = pad_token(body)))) {
		res = mock_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
				       "cannot issue a token", NULL);
		goto done;
	}
	res = mock_reply(r, MHD_HTTP_OK, mock_resp_bytes(body, strlen(body), "application/json"));
done:
	OPENSSL_cleanse(value, sizeof(value));
	OPENSSL_cleanse(fresh, sizeof(fresh));
	if (body)
		OPENSSL_cleanse(body, strlen(body));
	cJSON_free(body);
	free(scope);
	return res;
}

/* Rejects what the token service cannot serve; 1 when a reply was queued. */
static int token_precheck(struct mock_req *r, enum MHD_Result *res)
{
	const char *service = mock_query(r, "service");
	const char *offline = mock_query(r, "offline_token");
	const char *client_id = mock_query(r, "client_id");
	struct MHD_Response *resp;

	if (!service || strcmp(service, MOCK_SERVICE) != 0) {
		*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "UNSUPPORTED",
					"service must be " MOCK_SERVICE, service);
		return 1;
	}
	if (offline && strcmp(offline, "true") == 0 && (!client_id || !*client_id)) {
		*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "UNSUPPORTED",
					"client_id is required with offline_token=true", NULL);
		return 1;
	}
	if (r->ident.kind == MOCK_ID_NONE || r->ident.kind == MOCK_ID_BASIC)
		return 0;
	resp = mock_resp_error_body("UNAUTHORIZED", "invalid credentials", NULL);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Basic realm=\"" MOCK_SERVICE "\"");
	*res = mock_reply(r, MHD_HTTP_UNAUTHORIZED, resp);
	return 1;
}

/*
 * GET /token?service=..&scope=..: grants the allowed part of each scope;
 * with offline_token=true (and client_id) and basic credentials, a refresh
 * token too.
 */
enum MHD_Result mock_token_endpoint(struct mock_req *r)
{
	struct scope_req s = { NULL, 0, 0, 0 };
	const char *offline = mock_query(r, "offline_token");
	const char *user = NULL;
	enum MHD_Result res;

	if (token_precheck(r, &res))
		return res;
	s.allowed = r->srv->cfg.anon_actions;
	if (r->ident.kind == MOCK_ID_BASIC) {
		s.allowed = r->ident.account->actions;
		user = r->ident.user;
	}
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, scope_param, &s);
	res = issue_reply(r, &s, user, offline && strcmp(offline, "true") == 0, NULL, 0);
	scope_req_release(&s);
	return res;
}

/* ---- OAuth2 POST /token (distribution's oauth.md, RFC 6749) ---- */

/* {"error":E,"error_description":D}, as an OAuth2 token endpoint answers. */
static enum MHD_Result oauth_error(struct mock_req *r, unsigned status, const char *error,
				   const char *description)
{
	cJSON *o = cJSON_CreateObject();
	struct MHD_Response *resp = NULL;
	char *text = NULL;

	if (o && cJSON_AddStringToObject(o, "error", error) &&
	    cJSON_AddStringToObject(o, "error_description", description))
		text = cJSON_PrintUnformatted(o);
	if (text)
		resp = mock_resp_bytes(text, strlen(text), "application/json");
	cJSON_free(text);
	cJSON_Delete(o);
	return mock_reply(r, status, resp);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n bytes of form text ('+' is a space, %XX a byte); NULL when malformed or %00. */
static char *form_decode(const char *p, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (p[i] == '+') {
			out[o++] = ' ';
		} else if (p[i] == '%') {
			int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(p[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				OPENSSL_cleanse(out, o);
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = p[i];
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * The first value of key in an application/x-www-form-urlencoded body,
 * decoded into *out: 1 found, 0 absent, -1 malformed or out of memory.
 */
static int form_value(const char *body, size_t len, const char *key, char **out)
{
	const char *p = body, *end = body + len;
	size_t klen = strlen(key);

	*out = NULL;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *field_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(field_end - p));
		const char *name_end = eq ? eq : field_end;

		if ((size_t)(name_end - p) == klen && memcmp(p, key, klen) == 0) {
			*out = eq ? form_decode(eq + 1, (size_t)(field_end - eq - 1))
				  : bp_strdup("");
			return *out ? 1 : -1;
		}
		p = field_end + 1;
	}
	return 0;
}

enum form_field { F_GRANT, F_SERVICE, F_CLIENT, F_USER, F_PASS, F_REFRESH, F_ACCESS, F_SCOPE, F_N };

static const char *const form_names[F_N] = { "grant_type",  "service",	"client_id",
					     "username",    "password", "refresh_token",
					     "access_type", "scope" };

/* The form is complete: check the grant, issue the token. */
static enum MHD_Result token_post_finish(struct mock_req *r)
{
	struct scope_req s = { NULL, 0, 0, 0 };
	const struct mock_user *u = NULL;
	char *v[F_N] = { NULL };
	enum MHD_Result res;
	int refresh_grant, i;

	if (r->body_error) {
		res = oauth_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "invalid_request",
				  "the form body is larger than 64 KiB");
		goto done;
	}
	for (i = 0; i < F_N; i++) {
		if (form_value(r->body.ptr ? r->body.ptr : "", r->body.len, form_names[i], &v[i]) <
		    0) {
			res = oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
					  "malformed form body");
			goto done;
		}
	}
	if (!v[F_GRANT]) {
		res = oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
				  "grant_type is required");
		goto done;
	}
	refresh_grant = strcmp(v[F_GRANT], "refresh_token") == 0;
	if (!refresh_grant && strcmp(v[F_GRANT], "password") != 0) {
		res = oauth_error(r, MHD_HTTP_BAD_REQUEST, "unsupported_grant_type",
				  "grant_type must be password or refresh_token");
		goto done;
	}
	if (!v[F_SERVICE] || strcmp(v[F_SERVICE], MOCK_SERVICE) != 0) {
		res = oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
				  "service must be " MOCK_SERVICE);
		goto done;
	}
	if (!v[F_CLIENT] || !*v[F_CLIENT]) {
		res = oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
				  "client_id is required");
		goto done;
	}
	if (refresh_grant) {
		if (!v[F_REFRESH] || !*v[F_REFRESH]) {
			res = oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
					  "refresh_token is required");
			goto done;
		}
		u = refresh_user(r->srv, v[F_REFRESH]);
	} else {
		if (!v[F_USER] || !*v[F_USER] || !v[F_PASS]) {
			res = oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
					  "username and password are required");
			goto done;
		}
		u = user_check(r->srv, v[F_USER], v[F_PASS]);
	}
	snprintf(r->grant, sizeof(r->grant), "%s:%s", v[F_GRANT], u ? u->name : "bad");
	if (!u) {
		res = oauth_error(r, MHD_HTTP_UNAUTHORIZED, "invalid_grant",
				  refresh_grant ? "the refresh token is unknown or revoked"
						: "invalid username or password");
		goto done;
	}
	s.allowed = u->actions;
	if (v[F_SCOPE])
		scope_list(&s, v[F_SCOPE]);
	res = issue_reply(r, &s, u->name, v[F_ACCESS] && strcmp(v[F_ACCESS], "offline") == 0,
			  refresh_grant ? v[F_REFRESH] : NULL, 1);
done:
	for (i = 0; i < F_N; i++) {
		if (v[i])
			OPENSSL_cleanse(v[i], strlen(v[i]));
		free(v[i]);
	}
	if (r->body.ptr)
		OPENSSL_cleanse(r->body.ptr, r->body.len);
	scope_req_release(&s);
	return res;
}

/* POST /token: a form body (capped at MOCK_FORM_MAX), answered once it is all here. */
enum MHD_Result mock_token_post(struct mock_req *r)
{
	static const char form[] = "application/x-www-form-urlencoded";
	const char *ct = mock_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = sizeof(form) - 1;

	if (!ct || strncasecmp(ct, form, n) != 0 || (ct[n] && ct[n] != ';' && ct[n] != ' '))
		return oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
				   "Content-Type must be application/x-www-form-urlencoded");
	bp_dynbuf_release(&r->body);
	bp_dynbuf_init(&r->body, MOCK_FORM_MAX);
	r->body_mode = MOCK_BODY_BUFFER;
	r->finish = token_post_finish;
	return MHD_YES;
}
