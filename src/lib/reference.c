/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/digest.h>
#include <beampush/reference.h>

#include "util/strutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Docker's reference grammar (distribution/reference regexp.go), scanned
 * by hand:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path
 *   domain     := host [ ":" port ]        host: dns labels or [ipv6]
 *   path       := component ( "/" component )*
 *   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *
 * and normalised as normalize.go's splitDockerDomain does.
 */

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define DEFAULT_TAG "latest"
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define ECHO_MAX 300

struct bp_reference {
	char *domain;
	char *path;
	char *name;
	char *tag;
	char *digest;
	char *string;
};

static int is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
	return is_lower(c) || is_upper(c) || is_digit(c);
}

static int is_hex_lower(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static int is_hex(char c)
{
	return is_hex_lower(c) || (c >= 'A' && c <= 'F');
}

static int is_path_sep(char c)
{
	return c == '.' || c == '_' || c == '-';
}

/* What the error messages call the input. */
struct ctx {
	const char *what; /* "reference" or "repository" */
	const char *input;
};

static int fail(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set BP_EINVAL with "invalid <what> "<input>": <detail>". */
static int fail(const struct ctx *c, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* Cap the echo so that the detail survives the message buffer. */
	return bp_error_set(BP_EINVAL, "invalid %s \"%.*s%s\": %s", c->what, ECHO_MAX, c->input,
			    strlen(c->input) > ECHO_MAX ? "..." : "", detail);
}

/* Validate a domain [d, d+len): host (labels or [ipv6]) and optional :port. */
static int check_domain(const struct ctx *c, const char *d, size_t len)
{
	const char *p = d, *end = d + len;
	int dlen = (int)len;

	if (*p == '[') {
		const char *q = p + 1;

		while (q < end && (is_hex(*q) || *q == ':'))
			q++;
		if (q == end)
			return fail(c, "domain \"%.*s\": IPv6 address has no closing ']'", dlen, d);
		if (*q != ']')
			return fail(c, "domain \"%.*s\": invalid character '%c' in IPv6 address",
				    dlen, d, *q);
		if (q == p + 1)
			return fail(c, "domain \"%.*s\": empty IPv6 address", dlen, d);
		p = q + 1;
	} else {
		for (;;) {
			const char *label = p;

			while (p < end && (is_alnum(*p) || *p == '-'))
				p++;
			if (p == label) {
				if (p < end && *p != '.' && *p != ':')
					return fail(c, "domain \"%.*s\": invalid character '%c'",
						    dlen, d, *p);
				return fail(c, "domain \"%.*s\": empty label", dlen, d);
			}
			if (*label == '-' || p[-1] == '-')
				return fail(c,
					    "domain \"%.*s\": a label cannot start or end with '-'",
					    dlen, d);
			if (p < end && *p == '.') {
				p++;
				continue;
			}
			break;
		}
	}
	if (p < end && *p == ':') {
		const char *port = ++p;

		while (p < end && is_digit(*p))
			p++;
		if (port == end)
			return fail(c, "domain \"%.*s\": empty port after ':'", dlen, d);
		if (p != end)
			return fail(c, "domain \"%.*s\": port \"%.*s\" is not a number", dlen, d,
				    (int)(end - port), port);
	}
	if (p != end)
		return fail(c, "domain \"%.*s\": invalid character '%c'", dlen, d, *p);
	return 0;
}

/* Validate one path component [s, s+len) (len > 0). */
static int check_component(const struct ctx *c, const char *s, size_t len)
{
	size_t i = 0;
	int n = (int)len;

	if (!is_lower(s[0]) && !is_digit(s[0])) {
		if (is_path_sep(s[0]))
			return fail(c,
				    "path component \"%.*s\" must start with a lowercase letter or "
				    "digit",
				    n, s);
		return fail(c, "invalid character '%c' in path component \"%.*s\"", s[0], n, s);
	}
	for (;;) {
		size_t sep;

		while (i < len && (is_lower(s[i]) || is_digit(s[i])))
			i++;
		if (i == len)
			return 0;
		if (!is_path_sep(s[i]))
			return fail(c, "invalid character '%c' in path component \"%.*s\"", s[i], n,
				    s);
		sep = i;
		if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else if (s[i] == '_' && i + 1 < len && s[i + 1] == '_') {
			i += 2;
		} else {
			i++;
		}
		if (i == len)
			return fail(
				c,
				"path component \"%.*s\" must end with a lowercase letter or digit",
				n, s);
		if (is_path_sep(s[i]))
			return fail(c,
				    "separator \"%.*s\" not allowed in path component \"%.*s\" "
				    "(use one '.', one or two '_', or '-'s)",
				    (int)(i - sep + 1), s + sep, n, s);
	}
}

/* Validate the path [p, p+len): lowercase components joined by single '/'. */
static int check_path(const struct ctx *c, const char *p, size_t len)
{
	const char *end = p + len, *comp = p;
	size_t i;
	int r;

	for (i = 0; i < len; i++) {
		if (is_upper(p[i]))
			return fail(c, "repository name must be lowercase");
	}
	while (comp <= end) {
		const char *slash = memchr(comp, '/', (size_t)(end - comp));
		const char *cend = slash ? slash : end;

		if (cend == comp) {
			if (comp == p)
				return fail(c, "repository path starts with '/'");
			if (cend == end)
				return fail(c, "repository name ends with '/'");
			return fail(c, "empty path component (double slash)");
		}
		if ((r = check_component(c, comp, (size_t)(cend - comp))) < 0)
			return r;
		if (!slash)
			break;
		comp = slash + 1;
	}
	return 0;
}

/* Validate a tag [t, t+len) against [\w][\w.-]{0,127}. */
static int check_tag(const struct ctx *c, const char *t, size_t len)
{
	size_t i;
	int n = (int)len;

	if (len > TAG_MAX_LEN)
		return fail(c, "tag longer than %d characters", TAG_MAX_LEN);
	if (!is_alnum(t[0]) && t[0] != '_')
		return fail(c, "tag \"%.*s\" must start with a letter, digit or '_'", n, t);
	for (i = 1; i < len; i++) {
		if (!is_alnum(t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return fail(c, "invalid character '%c' in tag \"%.*s\"", t[i], n, t);
	}
	return 0;
}

/* The first component names a domain (splitDockerDomain's rule). */
static int looks_like_domain(const char *s, size_t len)
{
	size_t i;

	if (len == 9 && memcmp(s, "localhost", 9) == 0)
		return 1;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' || s[i] == ':' || is_upper(s[i]))
			return 1;
	}
	return 0;
}

static int is_identifier(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (!is_hex_lower(s[i]))
			return 0;
	}
	return i == 64;
}

/* Fill r's strings from the validated pieces; BP_ENOMEM on failure. */
static int build(bp_reference *r, const char *dom, size_t dom_len, int library, const char *path,
		 size_t path_len, const char *tag, size_t tag_len, const char *digest)
{
	r->domain = bp_strndup(dom, dom_len);
	r->path = bp_aprintf("%s%.*s", library ? OFFICIAL_PREFIX : "", (int)path_len, path);
	if (!r->domain || !r->path)
		return BP_ENOMEM;
	r->name = bp_aprintf("%s/%s", r->domain, r->path);
	if (!r->name)
		return BP_ENOMEM;
	if (tag && !(r->tag = bp_strndup(tag, tag_len)))
		return BP_ENOMEM;
	if (digest && !(r->digest = bp_strdup(digest)))
		return BP_ENOMEM;
	r->string = bp_aprintf("%s%s%s%s%s", r->name, r->tag ? ":" : "", r->tag ? r->tag : "",
			       r->digest ? "@" : "", r->digest ? r->digest : "");
	return r->string ? 0 : BP_ENOMEM;
}

/* Scan s as a reference (or, when repo_only, a bare repository). */
static int parse(bp_reference **out, const char *s, int repo_only)
{
	struct ctx c = { repo_only ? "repository" : "reference", s };
	const char *at, *colon, *name_end, *slash, *p, *rest;
	const char *dom = DEFAULT_DOMAIN, *tag = NULL, *digest = NULL;
	size_t dom_len = strlen(DEFAULT_DOMAIN), rest_len, tag_len = 0, i;
	int hub = 1, library = 0, r;
	bp_reference *ref = NULL;

	*out = NULL;
	if (!s || !*s)
		return bp_error_set(BP_EINVAL, "invalid %s: empty string", c.what);
	for (i = 0; s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		/* Not echoed: the input may hold terminal control bytes. */
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
			return bp_error_set(BP_EINVAL, "invalid %s: whitespace at offset %zu",
					    c.what, i);
		if (ch < 0x20 || ch >= 0x7f)
			return bp_error_set(
				BP_EINVAL,
				"invalid %s: byte 0x%02x at offset %zu is not printable ASCII",
				c.what, ch, i);
	}
	if ((p = strstr(s, "://")))
		return fail(&c, "a reference has no URL scheme; drop \"%.*s://\"", (int)(p - s), s);
	if (is_identifier(s))
		return fail(&c, "a 64-character hex string is an image ID, not a repository name");

	/* The digest: everything after the first '@'. */
	at = strchr(s, '@');
	name_end = at ? at : s + strlen(s);
	if (at) {
		if (at == s)
			return fail(&c, "no repository name before '@'");
		if (!at[1])
			return fail(&c,
				    "nothing after '@'; want a digest as sha256:<64 hex digits>");
		if (repo_only)
			return fail(&c, "a repository takes no digest");
		/* The digest's own code passes through: sha512 is unsupported, not invalid. */
		if ((r = bp_digest_validate(at + 1)) < 0)
			return bp_error_prefix("%sreference \"%.*s%s\"",
					       r == BP_EUNSUPPORTED ? "" : "invalid ", ECHO_MAX, s,
					       strlen(s) > ECHO_MAX ? "..." : "");
		digest = at + 1;
	}

	if (*s == '[' && !memchr(s, '/', (size_t)(name_end - s)))
		return fail(&c, "domain \"%.*s\" needs a repository path after it",
			    (int)(name_end - s), s);

	/* The tag: after the first ':' that follows the last '/'. */
	for (p = name_end; p > s && p[-1] != '/'; p--)
		;
	colon = memchr(p, ':', (size_t)(name_end - p));
	if (colon) {
		if (colon == s)
			return fail(&c, "no repository name before ':'");
		if (colon + 1 == name_end)
			return fail(&c, "nothing after ':'; want a tag");
		if (repo_only)
			return fail(&c, "a repository takes no tag");
		tag = colon + 1;
		tag_len = (size_t)(name_end - tag);
		if ((r = check_tag(&c, tag, tag_len)) < 0)
			return r;
		name_end = colon;
	}

	/* The name: [domain/]path, normalised as docker does. */
	if (*s == '/')
		return fail(&c, "starts with '/'");
	if (name_end[-1] == '/')
		return fail(&c, "repository name ends with '/'");
	slash = memchr(s, '/', (size_t)(name_end - s));
	rest = s;
	if (slash && looks_like_domain(s, (size_t)(slash - s))) {
		size_t n = (size_t)(slash - s);

		if ((r = check_domain(&c, s, n)) < 0)
			return r;
		rest = slash + 1;
		if (!(n == strlen(LEGACY_DOMAIN) && !memcmp(s, LEGACY_DOMAIN, n)) &&
		    !(n == strlen(DEFAULT_DOMAIN) && !memcmp(s, DEFAULT_DOMAIN, n))) {
			dom = s;
			dom_len = n;
			hub = 0;
		}
	}
	rest_len = (size_t)(name_end - rest);
	/* Only Docker Hub puts single-component names under library/. */
	library = hub && !memchr(rest, '/', rest_len);
	if ((r = check_path(&c, rest, rest_len)) < 0)
		return r;
	if (dom_len + 1 + (library ? strlen(OFFICIAL_PREFIX) : 0) + rest_len > NAME_MAX_LEN)
		return fail(&c, "repository name longer than %d characters", NAME_MAX_LEN);
	if (!tag && !digest && !repo_only) {
		tag = DEFAULT_TAG;
		tag_len = strlen(DEFAULT_TAG);
	}

	ref = calloc(1, sizeof(*ref));
	if (!ref || build(ref, dom, dom_len, library, rest, rest_len, tag, tag_len, digest) < 0) {
		r = bp_error_set(BP_ENOMEM, "out of memory parsing reference");
		goto done;
	}
	*out = ref;
	ref = NULL;
	r = 0;
done:
	bp_reference_free(ref);
	return r;
}

/* Parse a full reference, normalised; "latest" when no tag nor digest. */
int bp_reference_parse(bp_reference **out, const char *s)
{
	return parse(out, s, 0);
}

/* Parse a repository name alone; a tag or digest is an error. */
int bp_reference_parse_repository(bp_reference **out, const char *s)
{
	return parse(out, s, 1);
}

/* Free r and its strings; NULL is fine. */
void bp_reference_free(bp_reference *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->name);
	free(r->tag);
	free(r->digest);
	free(r->string);
	free(r);
}

/* The registry host[:port]. */
const char *bp_reference_domain(const bp_reference *r)
{
	return r->domain;
}

/* The repository path inside the registry. */
const char *bp_reference_path(const bp_reference *r)
{
	return r->path;
}

/* domain/path. */
const char *bp_reference_name(const bp_reference *r)
{
	return r->name;
}

/* The tag, or NULL. */
const char *bp_reference_tag(const bp_reference *r)
{
	return r->tag;
}

/* The digest, or NULL. */
const char *bp_reference_digest(const bp_reference *r)
{
	return r->digest;
}

/* The digest when there is one (it pins the content), else the tag. */
const char *bp_reference_object(const bp_reference *r)
{
	return r->digest ? r->digest : r->tag;
}

/* name[:tag][@digest]. */
const char *bp_reference_string(const bp_reference *r)
{
	return r->string;
}

/* New string name@digest (digest NULL: r's own digest); NULL on no memory. */
char *bp_reference_pinned(const bp_reference *r, const char *digest)
{
	if (!digest)
		digest = r->digest;
	if (!digest)
		return NULL;
	return bp_aprintf("%s@%s", r->name, digest);
}
