/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/config.h>

#include "userdirs.h"
#include "util/dynbuf.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Endpoint mapping (see config.h): beampush's own config.json and the
 * [[registry]] tables of containers' registries.conf, read with a small
 * hand-written parser for the part of TOML those files use.
 */

#define CONFIG_FILE_MAX (1024 * 1024)
#define KEY_MAX 256
#define NEST_MAX 32

typedef struct {
	char *prefix;	/* "host/beam", or "*.example.com" */
	char *location; /* "127.0.0.1:5000/beam"; NULL for a wildcard */
	int insecure;
	int blocked;
	int wildcard;
	char *verify_key; /* config.json: the public key pulls under prefix need a signature of */
	char *file;
	int line;
	int source; /* the order of bp_config_add calls: lower wins */
} entry;

struct bp_config {
	entry *v;
	size_t n, alloc;
	int nsources;
};

typedef struct {
	entry *v;
	size_t n, alloc;
} entry_list;

static void entry_release(entry *e)
{
	free(e->prefix);
	free(e->location);
	free(e->verify_key);
	free(e->file);
	memset(e, 0, sizeof(*e));
}

static void list_release(entry_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		entry_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Append e (moved into the list, e cleared). */
static int list_push(entry_list *l, entry *e)
{
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 8;
		entry *nv = realloc(l->v, na * sizeof(*nv));

		if (!nv)
			return bp_error_set(BP_ENOMEM, "out of memory");
		l->v = nv;
		l->alloc = na;
	}
	l->v[l->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static int at_line(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* BP_EINVAL with "file:line: message". */
static int at_line(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bp_error_set(BP_EINVAL, "%s:%d: %s", file, line, msg);
}

/* Is s "host[:port][/path]" as a reference writes it, with nothing normalised away? */
static int valid_name(const char *s)
{
	bp_reference *r = NULL;
	char *probe;
	int ok;

	if (!*s || strlen(s) > 200 || strchr(s, '@'))
		return 0;
	/* two components after it, so that docker.io does not grow a library/ */
	probe = bp_aprintf("%s/x/y", s);
	if (!probe)
		return 0;
	ok = bp_reference_parse_repository(&r, probe) == 0 &&
	     strcmp(bp_reference_name(r), probe) == 0;
	bp_reference_free(r);
	free(probe);
	bp_error_clear();
	return ok;
}

/*
 * Complete an entry read from file: the defaults containers gives a missing
 * prefix or location, and the checks. key_line: the line of the prefix
 * (or location) key, for messages.
 */
static int entry_finish(entry *e, const char *file, int line, int prefix_line, int location_line)
{
	if (e->location && !*e->location) {
		free(e->location);
		e->location = NULL;
	}
	if (!e->prefix && !e->location)
		return at_line(file, line, "a registry entry needs a prefix or a location");
	if (!e->prefix && !(e->prefix = bp_strdup(e->location)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (!prefix_line)
		prefix_line = location_line;
	e->wildcard = bp_strprefix(e->prefix, "*.") != NULL;
	if (e->wildcard) {
		if (strchr(e->prefix, '/') || !valid_name(e->prefix + 2))
			return at_line(file, prefix_line,
				       "prefix \"%.200s\": a wildcard prefix is *.DOMAIN, "
				       "such as *.example.com",
				       e->prefix);
		if (e->location)
			return at_line(file, location_line,
				       "a wildcard prefix (\"%.200s\") cannot have a location",
				       e->prefix);
	} else {
		if (!valid_name(e->prefix))
			return at_line(file, prefix_line,
				       "prefix \"%.200s\" is not a registry name such as "
				       "host[:port][/path]",
				       e->prefix);
		if (!e->location && !(e->location = bp_strdup(e->prefix)))
			return bp_error_set(BP_ENOMEM, "out of memory");
		if (!valid_name(e->location))
			return at_line(file, location_line ? location_line : line,
				       "location \"%.200s\" is not a registry name such as "
				       "host[:port][/path]",
				       e->location);
	}
	if (!(e->file = bp_strdup(file)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	e->line = line;
	return 0;
}

/* A prefix defined twice in one file is a mistake, as containers says. */
static int check_duplicates(const entry_list *l, const char *file)
{
	size_t i, j;

	for (i = 1; i < l->n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(l->v[i].prefix, l->v[j].prefix) == 0)
				return at_line(file, l->v[i].line,
					       "prefix \"%.200s\" is defined already on line %d",
					       l->v[i].prefix, l->v[j].line);
	return 0;
}

/* ---- JSON: {"registries": [{...}, ...]} ---------------------------------------------- */

static int line_at(const char *data, size_t off)
{
	int line = 1;
	size_t i;

	for (i = 0; i < off; i++)
		if (data[i] == '\n')
			line++;
	return line;
}

/*
 * The line where element idx of the top-level "registries" array starts
 * (cJSON keeps no positions): a scan that follows strings and nesting.
 * 1 when not found.
 */
static int json_element_line(const char *s, size_t len, int idx)
{
	size_t i;
	int depth = 0, line = 1, want_key = 0, in_array = 0, count = -1, expect_value = 0;
	const char *key = NULL;
	size_t keylen = 0;

	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '\n') {
			line++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r')
			continue;
		if (in_array && depth == 2 && expect_value) {
			expect_value = 0;
			if (ch != ']' && ++count == idx)
				return line;
		}
		if (ch == '"') {
			size_t start = ++i;

			while (i < len && s[i] != '"') {
				if (s[i] == '\\')
					i++;
				i++;
			}
			if (depth == 1 && want_key) {
				key = s + start;
				keylen = i - start;
				want_key = 0;
			}
			continue;
		}
		if (ch == '{' || ch == '[') {
			depth++;
			if (depth == 1 && ch == '{')
				want_key = 1;
			if (depth == 2 && ch == '[' && key && keylen == 10 &&
			    memcmp(key, "registries", 10) == 0) {
				in_array = 1;
				expect_value = 1;
			}
		} else if (ch == '}' || ch == ']') {
			if (depth == 2 && in_array)
				in_array = 0;
			depth--;
		} else if (ch == ',') {
			if (depth == 1)
				want_key = 1;
			if (depth == 2 && in_array)
				expect_value = 1;
		}
	}
	return 1;
}

/* The offset of the first byte from off on that is not JSON white space (data is not terminated).
 */
static size_t skip_space(const char *data, size_t off, size_t len)
{
	while (off < len &&
	       (data[off] == ' ' || data[off] == '\t' || data[off] == '\r' || data[off] == '\n'))
		off++;
	return off;
}

static int json_bool(const cJSON *v, int *out)
{
	if (!cJSON_IsBool(v))
		return -1;
	*out = cJSON_IsTrue(v);
	return 0;
}

static int parse_json(entry_list *l, const char *file, const char *data, size_t len)
{
	const char *end = NULL;
	const cJSON *regs, *item;
	cJSON *root;
	size_t rest;
	int err = 0, idx = 0;

	if (skip_space(data, 0, len) == len)
		return 0;
	root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	if (!root) {
		size_t off = end && end >= data && end <= data + len ? (size_t)(end - data) : 0;

		return at_line(file, line_at(data, off), "not valid JSON");
	}
	rest = skip_space(data, (size_t)(end - data), len);
	if (rest < len) {
		err = at_line(file, line_at(data, rest), "unexpected text after the JSON object");
		goto done;
	}
	if (!cJSON_IsObject(root)) {
		err = at_line(file, 1, "the file must hold a JSON object");
		goto done;
	}
	for (item = root->child; item; item = item->next)
		if (strcmp(item->string, "registries") != 0) {
			err = at_line(file, 1,
				      "unknown key \"%.100s\" (beampush knows \"registries\")",
				      item->string);
			goto done;
		}
	regs = cJSON_GetObjectItemCaseSensitive(root, "registries");
	if (!regs)
		goto done;
	if (!cJSON_IsArray(regs)) {
		err = at_line(file, 1, "\"registries\" must be an array of objects");
		goto done;
	}
	cJSON_ArrayForEach (item, regs) {
		int line = json_element_line(data, len, idx);
		entry e = { 0 };
		const cJSON *f;

		if (!cJSON_IsObject(item)) {
			err = at_line(file, line, "registries[%d] must be an object", idx);
			goto done;
		}
		for (f = item->child; f; f = f->next) {
			int bad = 0;

			if (strcmp(f->string, "prefix") == 0 ||
			    strcmp(f->string, "location") == 0) {
				char **dst = f->string[0] == 'p' ? &e.prefix : &e.location;

				if (!cJSON_IsString(f) || *dst)
					bad = 1;
				else if (!(*dst = bp_strdup(f->valuestring)))
					err = bp_error_set(BP_ENOMEM, "out of memory");
			} else if (strcmp(f->string, "insecure") == 0) {
				bad = json_bool(f, &e.insecure);
			} else if (strcmp(f->string, "blocked") == 0) {
				bad = json_bool(f, &e.blocked);
			} else if (strcmp(f->string, "verify-key") == 0) {
				/* the working directory of a pull must not change which key */
				if (!cJSON_IsString(f) || f->valuestring[0] != '/' || e.verify_key)
					bad = 1;
				else if (!(e.verify_key = bp_strdup(f->valuestring)))
					err = bp_error_set(BP_ENOMEM, "out of memory");
			} else {
				err = at_line(
					file, line,
					"registries[%d]: unknown key \"%.100s\" (beampush knows "
					"prefix, location, insecure, blocked, verify-key)",
					idx, f->string);
			}
			if (bad)
				err = at_line(file, line, "registries[%d].%s must be %s", idx,
					      f->string,
					      f->string[0] == 'v' ? "the absolute path of a public key"
					      : f->string[0] == 'p' || f->string[0] == 'l'
						      ? "a string, given once"
						      : "true or false");
			if (err)
				break;
		}
		if (!err)
			err = entry_finish(&e, file, line, line, line);
		if (!err)
			err = list_push(l, &e);
		entry_release(&e);
		if (err)
			goto done;
		idx++;
	}
done:
	cJSON_Delete(root);
	return err;
}

/* ---- TOML: the subset registries.conf uses ------------------------------------------- */

typedef struct {
	const char *file;
	const char *p, *end;
	int line;
	entry_list *out;
	/* the [[registry]] being read */
	int in_registry, in_other;
	entry cur;
	int cur_line, prefix_line, location_line;
	unsigned seen;
} toml;

typedef enum { V_STRING, V_BOOL, V_OTHER } vtype;

typedef struct {
	vtype type;
	char *s;
	int b;
} tvalue;

static int terr(toml *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int terr(toml *t, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return at_line(t->file, t->line, "%s", msg);
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
	bp_dynbuf b = BP_DYNBUF_INIT(CONFIG_FILE_MAX);
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

/* A key, maybe dotted and quoted, joined with '.' into buf. */
static int parse_key(toml *t, char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		const char *part;
		char *s = NULL;
		size_t len;
		int err;

		skip_ws(t);
		if (t->p < t->end && (*t->p == '"' || *t->p == '\'')) {
			if ((err = parse_string(t, &s)))
				return err;
			part = s;
			len = strlen(s);
		} else {
			part = t->p;
			while (t->p < t->end && is_bare(*t->p))
				t->p++;
			len = (size_t)(t->p - part);
			if (!len)
				return t->p < t->end && *t->p != '\n'
					       ? terr(t, "unexpected %s where a key should be",
						      show(*t->p))
					       : terr(t, "a key is missing");
		}
		if (n + len + 2 > size) {
			free(s);
			return terr(t, "key too long");
		}
		if (n)
			buf[n++] = '.';
		memcpy(buf + n, part, len);
		n += len;
		buf[n] = '\0';
		free(s);
		skip_ws(t);
		if (t->p < t->end && *t->p == '.') {
			t->p++;
			continue;
		}
		return 0;
	}
}

static int parse_value(toml *t, tvalue *v, int depth);

/* [ value, ... ] over any number of lines; the values are dropped. */
static int parse_array(toml *t, int depth)
{
	t->p++;
	for (;;) {
		tvalue v = { V_OTHER, NULL, 0 };
		int err;

		skip_space_lines(t);
		if (t->p < t->end && *t->p == ']') {
			t->p++;
			return 0;
		}
		if ((err = parse_value(t, &v, depth + 1)))
			return err;
		free(v.s);
		skip_space_lines(t);
		if (t->p < t->end && *t->p == ',') {
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

/* { key = value, ... } on one line; dropped. */
static int parse_inline_table(toml *t, int depth)
{
	char key[KEY_MAX];

	t->p++;
	skip_ws(t);
	if (t->p < t->end && *t->p == '}') {
		t->p++;
		return 0;
	}
	for (;;) {
		tvalue v = { V_OTHER, NULL, 0 };
		int err;

		if ((err = parse_key(t, key, sizeof(key))))
			return err;
		if (t->p == t->end || *t->p != '=')
			return terr(t, "expected '=' after the key \"%.100s\"", key);
		t->p++;
		if ((err = parse_value(t, &v, depth + 1)))
			return err;
		free(v.s);
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

/* A value: string, boolean, array, inline table, or a number/date (kept as V_OTHER). */
static int parse_value(toml *t, tvalue *v, int depth)
{
	const char *s;

	v->type = V_OTHER;
	v->s = NULL;
	if (depth > NEST_MAX)
		return terr(t, "values nested too deep");
	skip_ws(t);
	if (t->p == t->end || *t->p == '\n' || *t->p == '\r' || *t->p == '#')
		return terr(t, "a value is missing");
	switch (*t->p) {
	case '"':
	case '\'':
		v->type = V_STRING;
		return parse_string(t, &v->s);
	case '[':
		return parse_array(t, depth);
	case '{':
		return parse_inline_table(t, depth);
	}
	s = t->p;
	while (t->p < t->end && (is_bare(*t->p) || *t->p == '.' || *t->p == ':' || *t->p == '+'))
		t->p++;
	if (t->p - s == 4 && memcmp(s, "true", 4) == 0) {
		v->type = V_BOOL;
		v->b = 1;
		return 0;
	}
	if (t->p - s == 5 && memcmp(s, "false", 5) == 0) {
		v->type = V_BOOL;
		v->b = 0;
		return 0;
	}
	/* numbers, dates and times, inf, nan: nothing here needs one; a word is an error */
	if (t->p > s && ((*s >= '0' && *s <= '9') || *s == '+' || *s == '-' ||
			 (t->p - s == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0))))
		return 0;
	t->p = s;
	return terr(t, "invalid value: strings need quotes, booleans are true or false");
}

/* The [[registry]] being read is complete: check it and keep it. */
static int finish_registry(toml *t)
{
	int err;

	if (!t->in_registry)
		return 0;
	t->in_registry = 0;
	err = entry_finish(&t->cur, t->file, t->cur_line, t->prefix_line, t->location_line);
	if (!err)
		err = list_push(t->out, &t->cur);
	entry_release(&t->cur);
	return err;
}

static int table_header(toml *t)
{
	char name[KEY_MAX];
	int array = 0, err, line = t->line;

	t->p++;
	if (t->p < t->end && *t->p == '[') {
		array = 1;
		t->p++;
	}
	if ((err = parse_key(t, name, sizeof(name))))
		return err;
	if (t->p == t->end || *t->p != ']' || (array && (t->end - t->p < 2 || t->p[1] != ']')))
		return terr(t, "a table header wants %s after the name", array ? "]]" : "]");
	t->p += array ? 2 : 1;
	if ((err = end_of_line(t)))
		return err;
	if ((err = finish_registry(t)))
		return err;
	t->in_other = 0;
	if (strcmp(name, "registry") == 0) {
		if (!array)
			return at_line(t->file, line, "[registry] must be written [[registry]]");
		t->in_registry = 1;
		t->cur_line = line;
		t->prefix_line = t->location_line = 0;
		t->seen = 0;
		return 0;
	}
	if (strcmp(name, "registry.mirror") == 0 && array && !t->cur_line)
		return at_line(t->file, line, "[[registry.mirror]] comes after a [[registry]]");
	/* [[registry.mirror]], [aliases], [engine] ...: read, not used */
	t->in_other = 1;
	return 0;
}

static int registry_key(toml *t, const char *key, tvalue *v, int line)
{
	static const char *const ignored[] = { "mirror-by-digest-only", "pull-from-mirror",
					       "mirror" };
	static const char *const known[] = { "prefix", "location", "insecure", "blocked" };
	size_t i;

	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (strcmp(key, ignored[i]) == 0 ||
		    (bp_strprefix(key, ignored[i]) && key[strlen(ignored[i])] == '.'))
			return 0;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(key, known[i]) == 0)
			break;
	if (i == sizeof(known) / sizeof(known[0]))
		return at_line(t->file, line,
			       "unknown key \"%.100s\" in [[registry]] (beampush knows prefix, "
			       "location, insecure, blocked)",
			       key);
	if (t->seen & (1u << i))
		return at_line(t->file, line, "\"%s\" is set twice in this [[registry]]", key);
	t->seen |= 1u << i;
	if (i < 2) {
		if (v->type != V_STRING)
			return at_line(t->file, line, "%s must be a string in quotes", key);
		if (i == 0) {
			t->cur.prefix = v->s;
			t->prefix_line = line;
		} else {
			t->cur.location = v->s;
			t->location_line = line;
		}
		v->s = NULL;
		return 0;
	}
	if (v->type != V_BOOL)
		return at_line(t->file, line, "%s must be true or false", key);
	if (i == 2)
		t->cur.insecure = v->b;
	else
		t->cur.blocked = v->b;
	return 0;
}

static int parse_toml(entry_list *l, const char *file, const char *data, size_t len)
{
	toml t;
	int err = 0;

	memset(&t, 0, sizeof(t));
	t.file = file;
	t.p = data;
	t.end = data + len;
	t.line = 1;
	t.out = l;
	/* a UTF-8 byte order mark is allowed */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		t.p += 3;
	while (!err) {
		skip_ws_comment(&t);
		if (t.p == t.end)
			break;
		if (*t.p == '\n' || *t.p == '\r') {
			err = end_of_line(&t);
		} else if (*t.p == '[') {
			err = table_header(&t);
		} else {
			char key[KEY_MAX];
			tvalue v = { V_OTHER, NULL, 0 };
			int line = t.line;

			if ((err = parse_key(&t, key, sizeof(key))))
				break;
			if (t.p == t.end || *t.p != '=') {
				err = terr(&t, "expected '=' after the key \"%.100s\"", key);
				break;
			}
			t.p++;
			if ((err = parse_value(&t, &v, 0))) {
				free(v.s);
				break;
			}
			if ((err = end_of_line(&t))) {
				free(v.s);
				break;
			}
			/* top-level keys (unqualified-search-registries ...) and other tables:
			 * ignored */
			if (t.in_registry)
				err = registry_key(&t, key, &v, line);
			free(v.s);
		}
	}
	if (!err)
		err = finish_registry(&t);
	entry_release(&t.cur);
	return err;
}

/* ---- the config ---------------------------------------------------------------------- */

/* See config.h. */
int bp_config_new(bp_config **out)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

/* See config.h. */
void bp_config_free(bp_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n; i++)
		entry_release(&cfg->v[i]);
	free(cfg->v);
	free(cfg);
}

/* See config.h. */
int bp_config_add(bp_config *cfg, const char *name, const char *data, size_t len,
		  bp_config_format fmt)
{
	entry_list l = { NULL, 0, 0 };
	size_t i;
	int err;

	if (memchr(data, '\0', len))
		return at_line(
			name, line_at(data, (size_t)((const char *)memchr(data, '\0', len) - data)),
			"NUL byte in a text file");
	err = fmt == BP_CONFIG_JSON ? parse_json(&l, name, data, len)
				    : parse_toml(&l, name, data, len);
	if (!err)
		err = check_duplicates(&l, name);
	if (!err && l.n) {
		entry *nv = realloc(cfg->v, (cfg->n + l.n) * sizeof(*nv));

		if (!nv) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
		} else {
			cfg->v = nv;
			for (i = 0; i < l.n; i++) {
				l.v[i].source = cfg->nsources;
				cfg->v[cfg->n++] = l.v[i];
			}
			l.n = 0;
		}
	}
	if (!err)
		cfg->nsources++;
	list_release(&l);
	return err;
}

/* See config.h. */
int bp_config_add_file(bp_config *cfg, const char *path, bp_config_format fmt, int missing_ok)
{
	char *data;
	size_t len;
	int err;

	if (bp_read_file(path, CONFIG_FILE_MAX, &data, &len) < 0) {
		if ((errno == ENOENT || errno == ENOTDIR) && missing_ok)
			return 0;
		if (errno == ENOENT || errno == ENOTDIR)
			return bp_error_set(BP_EINVAL, "%s: no such file", path);
		if (errno == EFBIG)
			return bp_error_set(BP_EINVAL, "%s is larger than 1 MiB", path);
		if (errno == ENOMEM)
			return bp_error_set(BP_ENOMEM, "out of memory");
		return bp_error_set(BP_EIO, "cannot read %s: %s", path, strerror(errno));
	}
	err = bp_config_add(cfg, path, data, len, fmt);
	free(data);
	return err;
}

/* See config.h. */
int bp_config_load(bp_config **out)
{
	bp_config *cfg = NULL;
	const char *env;
	char *path = NULL;
	int err;

	*out = NULL;
	if ((err = bp_config_new(&cfg)))
		return err;
	if ((env = secure_getenv("BEAMPUSH_CONFIG")) && *env) {
		err = bp_config_add_file(cfg, env, BP_CONFIG_JSON, 0);
	} else if ((path = bp_userdirs__xdg(BP_XDG_CONFIG, "beampush/config.json"))) {
		err = bp_config_add_file(cfg, path, BP_CONFIG_JSON, 1);
		free(path);
		path = NULL;
	}
	if (err)
		goto done;
	if ((env = secure_getenv("CONTAINERS_REGISTRIES_CONF")) && *env) {
		err = bp_config_add_file(cfg, env, BP_CONFIG_TOML, 0);
	} else {
		/* as containers: the user's file, when there is one, instead of the system's */
		path = bp_userdirs__xdg(BP_XDG_CONFIG, "containers/registries.conf");
		if (path && access(path, F_OK) == 0)
			err = bp_config_add_file(cfg, path, BP_CONFIG_TOML, 0);
		else
			err = bp_config_add_file(cfg, "/etc/containers/registries.conf",
						 BP_CONFIG_TOML, 1);
	}
done:
	free(path);
	if (err)
		bp_config_free(cfg);
	else
		*out = cfg;
	return err;
}

/* Does prefix match name at a path boundary? */
static int prefix_matches(const char *prefix, const char *name)
{
	size_t n = strlen(prefix);

	return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

/* Does a wildcard "*.example.com" match domain? */
static int wildcard_matches(const char *prefix, const char *domain)
{
	const char *suffix = prefix + 1; /* ".example.com" */
	size_t n = strlen(domain), s = strlen(suffix);

	return n > s && strcmp(domain + n - s, suffix) == 0;
}

/* The entry for name (domain/path) and domain: first source with a match, longest match. */
static const entry *find(const bp_config *cfg, const char *name, const char *domain)
{
	int src;

	for (src = 0; cfg && src < cfg->nsources; src++) {
		const entry *best = NULL, *wild = NULL;
		size_t i;

		for (i = 0; i < cfg->n; i++) {
			const entry *e = &cfg->v[i];

			if (e->source != src)
				continue;
			if (e->wildcard) {
				if (wildcard_matches(e->prefix, domain) &&
				    (!wild || strlen(e->prefix) > strlen(wild->prefix)))
					wild = e;
			} else if (prefix_matches(e->prefix, name) &&
				   (!best || strlen(e->prefix) > strlen(best->prefix))) {
				best = e;
			}
		}
		/* an exact prefix is more specific than any wildcard */
		if (best || wild)
			return best ? best : wild;
	}
	return NULL;
}

static void set_match(bp_config_match *m, const entry *e)
{
	if (!m)
		return;
	memset(m, 0, sizeof(*m));
	if (!e)
		return;
	m->matched = 1;
	m->insecure = e->insecure;
	m->file = e->file;
	m->line = e->line;
	m->prefix = e->prefix;
	m->location = e->location;
	m->verify_key = e->verify_key;
}

/* Parse s as a reference, or as a repository when in has neither tag nor digest. */
static int reparse(const bp_reference *in, const char *s, bp_reference **out)
{
	if (!bp_reference_tag(in) && !bp_reference_digest(in))
		return bp_reference_parse_repository(out, s);
	return bp_reference_parse(out, s);
}

/* See config.h. */
int bp_config_resolve(const bp_config *cfg, const bp_reference *in, bp_reference **out,
		      bp_config_match *m)
{
	const char *name = bp_reference_name(in), *tag = bp_reference_tag(in),
		   *digest = bp_reference_digest(in), *rest;
	const entry *e = find(cfg, name, bp_reference_domain(in));
	char *mapped;
	int err;

	*out = NULL;
	set_match(m, e);
	if (e && e->blocked)
		return bp_error_set(BP_EUNSUPPORTED,
				    "%s is blocked by %s:%d (blocked = true for \"%s\")", name,
				    e->file, e->line, e->prefix);
	if (!e || e->wildcard)
		return reparse(in, bp_reference_string(in), out);
	rest = name + strlen(e->prefix);
	if (!strchr(e->location, '/') && !*rest)
		return bp_error_set(BP_EINVAL, "%s maps to %s (%s:%d), which names no repository",
				    name, e->location, e->file, e->line);
	mapped = bp_aprintf("%s%s%s%s%s%s", e->location, rest, tag ? ":" : "", tag ? tag : "",
			    digest ? "@" : "", digest ? digest : "");
	if (!mapped)
		return bp_error_set(BP_ENOMEM, "out of memory");
	err = reparse(in, mapped, out);
	if (err)
		bp_error_prefix("%s:%d: %s maps to %s", e->file, e->line, name, mapped);
	free(mapped);
	return err;
}

/* The domain of a location: up to its first '/'. */
static size_t domain_len(const char *location)
{
	const char *slash = strchr(location, '/');

	return slash ? (size_t)(slash - location) : strlen(location);
}

/* See config.h. */
int bp_config_resolve_host(const bp_config *cfg, const char *host, char **out, bp_config_match *m)
{
	size_t hlen = strlen(host);
	const entry *e;
	int src;

	*out = NULL;
	set_match(m, NULL);
	e = find(cfg, host, host);
	if (e && e->blocked)
		return bp_error_set(BP_EUNSUPPORTED,
				    "%s is blocked by %s:%d (blocked = true for \"%s\")", host,
				    e->file, e->line, e->prefix);
	if (e && !e->wildcard) {
		set_match(m, e);
		*out = bp_strndup(e->location, domain_len(e->location));
		goto done;
	}
	/* no entry for the host itself: the entries for its repositories, if they agree */
	for (src = 0; cfg && src < cfg->nsources; src++) {
		const entry *first = NULL;
		size_t i;

		for (i = 0; i < cfg->n; i++) {
			const entry *x = &cfg->v[i];

			if (x->source != src || x->wildcard || x->blocked ||
			    strncmp(x->prefix, host, hlen) != 0 || x->prefix[hlen] != '/')
				continue;
			if (!first) {
				first = x;
			} else if (domain_len(x->location) != domain_len(first->location) ||
				   strncmp(x->location, first->location, domain_len(x->location))) {
				return bp_error_set(
					BP_EINVAL,
					"%s maps to more than one registry: %.*s (%s:%d) "
					"and %.*s (%s:%d); name the location instead",
					host, (int)domain_len(first->location), first->location,
					first->file, first->line, (int)domain_len(x->location),
					x->location, x->file, x->line);
			}
		}
		if (first) {
			set_match(m, first);
			*out = bp_strndup(first->location, domain_len(first->location));
			goto done;
		}
	}
	set_match(m, e);
	*out = bp_strdup(host);
done:
	return *out ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
}
