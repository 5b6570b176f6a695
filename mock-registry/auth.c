/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Authentication: --user accounts, Basic auth, and the Docker token service
 * (GET /token) with opaque random tokens kept in memory. Passwords and
 * tokens are never logged or printed.
 */
#include "mock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct mock_tokens {
	pthread_mutex_t lock;
	struct token *head;
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

	if (!t)
		return;
	for (tk = t->head; tk; tk = next) {
		next = tk->next;
		token_free(tk);
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

/* none, basic:<user>, bearer:<user> or bad. */
void mock_auth_label(const struct mock_req *r, char *buf, size_t size)
{
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

static enum MHD_Result scope_param(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct scope_req *s = cls;
	const char *p = value;

	if (strcmp(key, "scope") != 0 || !value)
		return MHD_YES;
	while (*p) {
		size_t n = strcspn(p, " ");

		if (n)
			scope_one(s, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
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

static char *token_json(const char *value, long expires_in)
{
	char issued[32];
	struct tm tm;
	time_t now = time(NULL);
	cJSON *o = cJSON_CreateObject();
	char *out = NULL;

	gmtime_r(&now, &tm);
	strftime(issued, sizeof(issued), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (o && cJSON_AddStringToObject(o, "token", value) &&
	    cJSON_AddStringToObject(o, "access_token", value) &&
	    cJSON_AddNumberToObject(o, "expires_in", (double)expires_in) &&
	    cJSON_AddStringToObject(o, "issued_at", issued))
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

/* Rejects what the token service cannot serve; 1 when a reply was queued. */
static int token_precheck(struct mock_req *r, enum MHD_Result *res)
{
	const char *service = mock_query(r, "service");
	struct MHD_Response *resp;

	if (!service || strcmp(service, MOCK_SERVICE) != 0) {
		*res = mock_reply_error(r, MHD_HTTP_BAD_REQUEST, "UNSUPPORTED",
					"service must be " MOCK_SERVICE, service);
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

/* GET /token?service=..&scope=..: grants the allowed part of each scope. */
enum MHD_Result mock_token_endpoint(struct mock_req *r)
{
	struct scope_req s = { NULL, 0, 0, 0 };
	char value[MOCK_TOKEN_LEN + 1];
	char *body = NULL;
	enum MHD_Result res;
	const char *user = "anonymous";

	if (token_precheck(r, &res))
		return res;
	if (mock_fault_on(r, MOCK_FAULT_TOKEN_NOT_JSON))
		return mock_reply(r, MHD_HTTP_OK, mock_fault_token_html());
	s.allowed = r->srv->cfg.anon_actions;
	if (r->ident.kind == MOCK_ID_BASIC) {
		s.allowed = r->ident.account->actions;
		user = r->ident.user;
	}
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, scope_param, &s);
	if (s.oom || token_issue(r->srv, &s, user, value) < 0 ||
	    !(body = token_json(value, r->srv->cfg.token_expiry)) ||
	    (mock_fault_on(r, MOCK_FAULT_TOKEN_HUGE) && !(body = pad_token(body)))) {
		res = mock_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
				       "cannot issue a token", NULL);
		goto done;
	}
	res = mock_reply(r, MHD_HTTP_OK, mock_resp_bytes(body, strlen(body), "application/json"));
done:
	OPENSSL_cleanse(value, sizeof(value));
	if (body)
		OPENSSL_cleanse(body, strlen(body));
	cJSON_free(body);
	scope_req_release(&s);
	return res;
}
