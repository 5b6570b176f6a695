/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TOML subset of registries.conf and hosts.toml (see toml.h), read by
 * hand in one pass: the files are small and their callers want the line
 * of every table and key for their messages.
 */
#include "toml.h"

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRING_MAX (1024 * 1024)
#define KEY_PARTS_MAX 16
#define NEST_MAX 32

typedef struct {
	const char *file;
	const char *p, *end;
	int line;
	const bp_toml_handler *h;
	void *payload;
	bp_toml_key table; /* the last header's name */
} toml;

/* See toml.h. */
int bp_toml__error(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bp_error_set(BP_EINVAL, "%s:%d: %s", file, line, msg);
}

static int terr(toml *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int terr(toml *t, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bp_toml__error(t->file, t->line, "%s", msg);
}

/* See toml.h. */
int bp_toml__key_is(const bp_toml_key *k, ...)
{
	const char *part;
	va_list ap;
	size_t i = 0;
	int same = 1;

	va_start(ap, k);
	while ((part = va_arg(ap, const char *))) {
		if (i >= k->n || strcmp(k->parts[i], part) != 0)
			same = 0;
		i++;
	}
	va_end(ap);
	return same && i == k->n;
}

/* See toml.h. */
void bp_toml__value_release(bp_toml_value *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++) {
		if (v->v)
			bp_toml__value_release(&v->v[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->v);
	free(v->keys);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static void key_release(bp_toml_key *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->parts[i]);
	free(k->parts);
	k->parts = NULL;
	k->n = 0;
}

/* A byte for a message: 'x', or its code when it would not print. */
static const char *show(char c)
{
	static _Thread_local char buf[16];

	if (isprint((unsigned char)c))
		snprintf(buf, sizeof(buf), "'%c'", c);
	else
		snprintf(buf, sizeof(buf), "byte 0x%02x", (unsigned char)c);
	return buf;
}

static void skip_ws(toml *t)
{
	while (t->p < t->end && (*t->p == ' ' || *t->p == '\t'))
		t->p++;
}

/* Spaces, then a comment if any; stops before the line end. */
static void skip_ws_comment(toml *t)
{
	skip_ws(t);
	if (t->p < t->end && *t->p == '#')
		while (t->p < t->end && *t->p != '\n')
			t->p++;
}

/* At a line end (or the end): eat it. Else an error. */
static int end_of_line(toml *t)
{
	skip_ws_comment(t);
	if (t->p == t->end)
		return 0;
	if (*t->p == '\r' && t->p + 1 < t->end && t->p[1] == '\n')
		t->p++;
	if (*t->p != '\n')
		return terr(t, "unexpected %s where the line should end", show(*t->p));
	t->p++;
	t->line++;
	return 0;
}

/* Spaces, comments and line ends, inside an array. */
static void skip_space_lines(toml *t)
{
	for (;;) {
		skip_ws_comment(t);
		if (t->p < t->end && *t->p == '\r' && t->p + 1 < t->end && t->p[1] == '\n')
			t->p++;
		if (t->p < t->end && *t->p == '\n') {
			t->p++;
			t->line++;
			continue;
		}
		return;
	}
}

static int is_bare(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static int put_utf8(bp_dynbuf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return bp_dynbuf_add(b, u, n);
}

/* A "basic" or 'literal' string on one line, at t->p (the quote). *out: new string. */
static int parse_string(toml *t, char **out)
{
	bp_dynbuf b = BP_DYNBUF_INIT(STRING_MAX);
	char q = *t->p++;
	int err = 0;

	*out = NULL;
	if (t->end - t->p >= 2 && t->p[0] == q && t->p[1] == q)
		return terr(t, "multi-line strings are not supported");
	for (;;) {
		unsigned char c;

		if (t->p == t->end || *t->p == '\n') {
			err = terr(t, "unterminated string");
			goto done;
		}
		c = (unsigned char)*t->p++;
		if (c == (unsigned char)q)
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			err = terr(t, "control character 0x%02x in a string", c);
			goto done;
		}
		if (c == '\\' && q == '"') {
			unsigned long cp = 0;
			int i, n = 0;

			if (t->p == t->end) {
				err = terr(t, "unterminated string");
				goto done;
			}
			c = (unsigned char)*t->p++;
			switch (c) {
			case 'b':
				c = '\b';
				break;
			case 't':
				c = '\t';
				break;
			case 'n':
				c = '\n';
				break;
			case 'f':
				c = '\f';
				break;
			case 'r':
				c = '\r';
				break;
			case '"':
			case '\\':
				break;
			case 'u':
				n = 4;
				break;
			case 'U':
				n = 8;
				break;
			default:
				err = terr(t, "unknown escape \\%c in a string",
					   isprint(c) ? c : '?');
				goto done;
			}
			if (!n) {
				if (bp_dynbuf_add(&b, &c, 1) < 0)
					goto nomem;
				continue;
			}
			for (i = 0; i < n; i++) {
				char h = t->p < t->end ? *t->p : '\0';
				int d = h >= '0' && h <= '9'   ? h - '0'
					: h >= 'a' && h <= 'f' ? h - 'a' + 10
					: h >= 'A' && h <= 'F' ? h - 'A' + 10
							       : -1;

				if (d < 0) {
					err = terr(t, "\\%c wants %d hex digits",
						   n == 4 ? 'u' : 'U', n);
					goto done;
				}
				cp = cp * 16 + (unsigned long)d;
				t->p++;
			}
			if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0) {
				err = terr(t, "escape \\%c names no valid character",
					   n == 4 ? 'u' : 'U');
				goto done;
			}
			if (put_utf8(&b, cp) < 0)
				goto nomem;
			continue;
		}
		if (bp_dynbuf_add(&b, &c, 1) < 0)
			goto nomem;
	}
	if (!b.ptr && bp_dynbuf_add(&b, "", 0) < 0)
		goto nomem;
	*out = bp_dynbuf_detach(&b, NULL);
	return 0;
nomem:
	err = bp_error_set(BP_ENOMEM, "out of memory");
done:
	bp_dynbuf_release(&b);
	return err;
}

/* A key, maybe dotted and quoted, part by part into k (released by the caller). */
static int parse_key(toml *t, bp_toml_key *k)
{
	memset(k, 0, sizeof(*k));
	for (;;) {
		char *s = NULL, **np;
		int err;

		skip_ws(t);
		if (t->p < t->end && (*t->p == '"' || *t->p == '\'')) {
			if ((err = parse_string(t, &s)))
				return err;
		} else {
			const char *start = t->p;

			while (t->p < t->end && is_bare(*t->p))
				t->p++;
			if (t->p == start)
				return t->p < t->end && *t->p != '\n'
					       ? terr(t, "unexpected %s where a key should be",
						      show(*t->p))
					       : terr(t, "a key is missing");
			if (!(s = bp_strndup(start, (size_t)(t->p - start))))
				return bp_error_set(BP_ENOMEM, "out of memory");
		}
		if (k->n == KEY_PARTS_MAX) {
			free(s);
			return terr(t, "key too long");
		}
		if (!(np = realloc(k->parts, (k->n + 1) * sizeof(*np)))) {
			free(s);
			return bp_error_set(BP_ENOMEM, "out of memory");
		}
		k->parts = np;
		k->parts[k->n++] = s;
		skip_ws(t);
		if (t->p < t->end && *t->p == '.') {
			t->p++;
			continue;
		}
		return 0;
	}
}

/* A key's parts joined with '.', for messages and inline tables; new string. */
static char *key_joined(const bp_toml_key *k)
{
	bp_dynbuf b = BP_DYNBUF_INIT(STRING_MAX);
	size_t i;

	for (i = 0; i < k->n; i++)
		if ((i && bp_dynbuf_add(&b, ".", 1) < 0) || bp_dynbuf_adds(&b, k->parts[i]) < 0) {
			bp_dynbuf_release(&b);
			return NULL;
		}
	if (!b.ptr && bp_dynbuf_add(&b, "", 0) < 0)
		return NULL;
	return bp_dynbuf_detach(&b, NULL);
}

static int parse_value(toml *t, bp_toml_value *v, int depth);

/* One more item in v (an array or a table); *item: it, zeroed. */
static int grow(bp_toml_value *v, bp_toml_value **item)
{
	bp_toml_value *nv = realloc(v->v, (v->n + 1) * sizeof(*nv));

	if (!nv)
		return bp_error_set(BP_ENOMEM, "out of memory");
	v->v = nv;
	if (v->type == BP_TOML_TABLE) {
		char **nk = realloc(v->keys, (v->n + 1) * sizeof(*nk));

		if (!nk)
			return bp_error_set(BP_ENOMEM, "out of memory");
		v->keys = nk;
		v->keys[v->n] = NULL;
	}
	*item = &v->v[v->n++];
	memset(*item, 0, sizeof(**item));
	(*item)->type = BP_TOML_OTHER;
	return 0;
}

/* [ value, ... ] over any number of lines. */
static int parse_array(toml *t, bp_toml_value *v, int depth)
{
	int line = t->line;

	v->type = BP_TOML_ARRAY;
	t->p++;
	for (;;) {
		bp_toml_value *item;
		int err;

		skip_space_lines(t);
		if (t->p == t->end)
			return bp_toml__error(t->file, line,
					      "the array that starts here is not closed");
		if (t->p < t->end && *t->p == ']') {
			t->p++;
			return 0;
		}
		if ((err = grow(v, &item)) || (err = parse_value(t, item, depth + 1)))
			return err;
		skip_space_lines(t);
		if (t->p == t->end)
			return bp_toml__error(t->file, line,
					      "the array that starts here is not closed");
		if (*t->p == ',') {
			t->p++;
			continue;
		}
		if (t->p < t->end && *t->p == ']') {
			t->p++;
			return 0;
		}
		return terr(t, "an array wants ',' or ']'");
	}
}

/* { key = value, ... } on one line. */
static int parse_inline_table(toml *t, bp_toml_value *v, int depth)
{
	v->type = BP_TOML_TABLE;
	t->p++;
	skip_ws(t);
	if (t->p < t->end && *t->p == '}') {
		t->p++;
		return 0;
	}
	for (;;) {
		bp_toml_value *item;
		bp_toml_key key;
		int err;

		if ((err = parse_key(t, &key))) {
			key_release(&key);
			return err;
		}
		if (t->p == t->end || *t->p != '=') {
			char *j = key_joined(&key);

			err = terr(t, "expected '=' after the key \"%.100s\"", j ? j : "");
			free(j);
			key_release(&key);
			return err;
		}
		t->p++;
		err = grow(v, &item);
		if (!err && !(v->keys[v->n - 1] = key_joined(&key)))
			err = bp_error_set(BP_ENOMEM, "out of memory");
		key_release(&key);
		if (err || (err = parse_value(t, item, depth + 1)))
			return err;
		skip_ws(t);
		if (t->p < t->end && *t->p == ',') {
			t->p++;
			continue;
		}
		if (t->p < t->end && *t->p == '}') {
			t->p++;
			return 0;
		}
		return terr(t, "an inline table wants ',' or '}'");
	}
}

/* A value: string, boolean, array, inline table, or a number/date (BP_TOML_OTHER). */
static int parse_value(toml *t, bp_toml_value *v, int depth)
{
	const char *s;

	memset(v, 0, sizeof(*v));
	v->type = BP_TOML_OTHER;
	if (depth > NEST_MAX)
		return terr(t, "values nested too deep");
	skip_ws(t);
	if (t->p == t->end || *t->p == '\n' || *t->p == '\r' || *t->p == '#')
		return terr(t, "a value is missing");
	switch (*t->p) {
	case '"':
	case '\'':
		v->type = BP_TOML_STRING;
		return parse_string(t, &v->s);
	case '[':
		return parse_array(t, v, depth);
	case '{':
		return parse_inline_table(t, v, depth);
	}
	s = t->p;
	while (t->p < t->end && (is_bare(*t->p) || *t->p == '.' || *t->p == ':' || *t->p == '+'))
		t->p++;
	if (t->p - s == 4 && memcmp(s, "true", 4) == 0) {
		v->type = BP_TOML_BOOL;
		v->b = 1;
		return 0;
	}
	if (t->p - s == 5 && memcmp(s, "false", 5) == 0) {
		v->type = BP_TOML_BOOL;
		v->b = 0;
		return 0;
	}
	/* numbers, dates and times, inf, nan: kept as OTHER; a bare word is an error */
	if (t->p > s && ((*s >= '0' && *s <= '9') || *s == '+' || *s == '-' ||
			 (t->p - s == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0))))
		return 0;
	t->p = s;
	return terr(t, "invalid value: strings need quotes, booleans are true or false");
}

static int table_header(toml *t)
{
	bp_toml_key name;
	int array = 0, err, line = t->line;

	t->p++;
	if (t->p < t->end && *t->p == '[') {
		array = 1;
		t->p++;
	}
	if ((err = parse_key(t, &name)))
		goto done;
	if (t->p == t->end || *t->p != ']' || (array && (t->end - t->p < 2 || t->p[1] != ']'))) {
		err = terr(t, "a table header wants %s after the name", array ? "]]" : "]");
		goto done;
	}
	t->p += array ? 2 : 1;
	if ((err = end_of_line(t)))
		goto done;
	key_release(&t->table);
	t->table = name;
	memset(&name, 0, sizeof(name));
	if (t->h->table)
		err = t->h->table(&t->table, array, line, t->payload);
done:
	key_release(&name);
	return err;
}

static int key_value(toml *t)
{
	bp_toml_value v = { BP_TOML_OTHER, NULL, 0, NULL, NULL, 0 };
	bp_toml_key key;
	int err, line = t->line;

	if ((err = parse_key(t, &key)))
		goto done;
	if (t->p == t->end || *t->p != '=') {
		char *j = key_joined(&key);

		err = terr(t, "expected '=' after the key \"%.100s\"", j ? j : "");
		free(j);
		goto done;
	}
	t->p++;
	if ((err = parse_value(t, &v, 0)) || (err = end_of_line(t)))
		goto done;
	if (t->h->keyval)
		err = t->h->keyval(&t->table, &key, &v, line, t->payload);
done:
	bp_toml__value_release(&v);
	key_release(&key);
	return err;
}

/* See toml.h. */
int bp_toml__parse(const char *file, const char *data, size_t len, const bp_toml_handler *h,
		   void *payload)
{
	const char *nul = memchr(data, '\0', len);
	toml t;
	int err = 0;

	memset(&t, 0, sizeof(t));
	t.file = file;
	t.p = data;
	t.end = data + len;
	t.line = 1;
	t.h = h;
	t.payload = payload;
	if (nul) {
		const char *q;

		for (q = data; q < nul; q++)
			if (*q == '\n')
				t.line++;
		return terr(&t, "NUL byte in a text file");
	}
	/* a UTF-8 byte order mark is allowed */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		t.p += 3;
	while (!err) {
		skip_ws_comment(&t);
		if (t.p == t.end)
			break;
		if (*t.p == '\n' || *t.p == '\r')
			err = end_of_line(&t);
		else if (*t.p == '[')
			err = table_header(&t);
		else
			err = key_value(&t);
	}
	key_release(&t.table);
	return err;
}
