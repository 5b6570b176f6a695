/* SPDX-License-Identifier: Apache-2.0 */
#include "auth.h"

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <ctype.h>
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
