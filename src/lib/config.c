/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/config.h>

#include "hosts.h"
#include "toml.h"
#include "userdirs.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Endpoint mapping (see config.h): beampush's own config.json and the
 * [[registry]] tables of containers' registries.conf (read by toml.c),
 * with their [[registry.mirror]] tables.
 */

#define CONFIG_FILE_MAX (1024 * 1024)

/* A [[registry.mirror]]. */
typedef struct {
	char *location; /* "mirror.example:5000/hub" */
	int insecure;
	int pull; /* bp_mirror_pull */
	int line;
	int pull_line; /* of its pull-from-mirror, 0 when not set */
} mirror;

typedef struct {
	char *prefix;	/* "host/beam", or "*.example.com" */
	char *location; /* "127.0.0.1:5000/beam"; NULL for a wildcard */
	int insecure;
	int blocked;
	int wildcard;
	char *verify_key; /* config.json: the public key pulls under prefix need a signature of */
	int digest_only; /* the line of mirror-by-digest-only = true, else 0 */
	mirror *mirrors;
	size_t nmirrors;
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
	size_t i;

	for (i = 0; i < e->nmirrors; i++)
		free(e->mirrors[i].location);
	free(e->mirrors);
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

/* BP_EINVAL with "file:line: message", as toml.c says it for its own errors. */
#define at_line bp_toml__error

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

/* ---- TOML: registries.conf ----------------------------------------------------------- */

/* What parse_toml keeps while the callbacks of toml.c hand it the file. */
typedef struct {
	const char *file;
	entry_list *out;
	/* the [[registry]] being read */
	int in_registry;
	entry cur;
	int cur_line, prefix_line, location_line;
	unsigned seen;
	/* the [[registry.mirror]] being read: of out's last entry */
	int in_mirror;
	mirror mir;
	unsigned mir_seen;
} reg_reader;

static const char *const registry_keys[] = { "prefix", "location", "insecure", "blocked",
					     "mirror-by-digest-only" };
static const char *const mirror_keys[] = { "location", "insecure", "pull-from-mirror" };

#define NKEYS(a) (sizeof(a) / sizeof(a[0]))

/* The index of key in keys, or -1. */
static int key_index(const char *const *keys, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return (int)i;
	return -1;
}

/* A mirror location is a name as a prefix is, without a scheme. */
static int check_mirror_location(const char *file, int line, const char *loc)
{
	if (strstr(loc, "://"))
		return at_line(file, line,
			       "mirror location \"%.200s\" has a scheme: write host[:port][/path], "
			       "and insecure = true for plain http",
			       loc);
	if (!valid_name(loc))
		return at_line(file, line,
			       "mirror location \"%.200s\" is not a registry name such as "
			       "host[:port][/path]",
			       loc);
	return 0;
}

/*
 * mirror-by-digest-only = true makes every mirror of e digest-only, and
 * then none may say pull-from-mirror, as containers has it.
 */
static int apply_digest_only(entry *e, const char *file)
{
	size_t i;

	for (i = 0; e->digest_only && i < e->nmirrors; i++) {
		if (e->mirrors[i].pull_line)
			return at_line(file, e->mirrors[i].pull_line,
				       "pull-from-mirror cannot be set where the [[registry]] "
				       "says mirror-by-digest-only (line %d)",
				       e->digest_only);
		e->mirrors[i].pull = BP_MIRROR_DIGEST_ONLY;
	}
	return 0;
}

/* Add m (moved, m cleared) to e's mirrors once its location is checked. */
static int add_mirror(entry *e, mirror *m, const char *file)
{
	mirror *nv;
	int err;

	if (!m->location)
		return at_line(file, m->line, "a [[registry.mirror]] needs a location");
	if ((err = check_mirror_location(file, m->line, m->location)))
		return err;
	if (!(nv = realloc(e->mirrors, (e->nmirrors + 1) * sizeof(*nv))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	e->mirrors = nv;
	e->mirrors[e->nmirrors++] = *m;
	memset(m, 0, sizeof(*m));
	return 0;
}

/* The [[registry]] being read is complete: check it and keep it. */
static int finish_registry(reg_reader *t)
{
	int err;

	if (!t->in_registry)
		return 0;
	t->in_registry = 0;
	err = apply_digest_only(&t->cur, t->file);
	if (!err)
		err = entry_finish(&t->cur, t->file, t->cur_line, t->prefix_line, t->location_line);
	if (!err)
		err = list_push(t->out, &t->cur);
	entry_release(&t->cur);
	return err;
}

/* The [[registry.mirror]] being read is complete: it joins the last [[registry]]. */
static int finish_mirror(reg_reader *t)
{
	entry *e;
	int err;

	if (!t->in_mirror)
		return 0;
	t->in_mirror = 0;
	e = &t->out->v[t->out->n - 1];
	if (!(err = add_mirror(e, &t->mir, t->file)))
		err = apply_digest_only(e, t->file);
	free(t->mir.location);
	memset(&t->mir, 0, sizeof(t->mir));
	return err;
}

static int reg_table(const bp_toml_key *name, int array, int line, void *payload)
{
	reg_reader *t = payload;
	int err;

	if ((err = finish_mirror(t)) || (err = finish_registry(t)))
		return err;
	if (bp_toml__key_is(name, "registry", NULL)) {
		if (!array)
			return at_line(t->file, line, "[registry] must be written [[registry]]");
		t->in_registry = 1;
		t->cur_line = line;
		t->prefix_line = t->location_line = 0;
		t->seen = 0;
		return 0;
	}
	if (bp_toml__key_is(name, "registry", "mirror", NULL)) {
		if (!array)
			return at_line(t->file, line,
				       "[registry.mirror] must be written [[registry.mirror]]");
		if (!t->cur_line || !t->out->n)
			return at_line(t->file, line,
				       "[[registry.mirror]] comes after a [[registry]]");
		t->in_mirror = 1;
		t->mir.line = line;
		t->mir_seen = 0;
		return 0;
	}
	if (name->n >= 2 && strcmp(name->parts[0], "registry") == 0)
		return at_line(
			t->file, line,
			"unknown table in [[registry]] (beampush knows [[registry.mirror]])");
	/* [aliases], [engine] ...: read, not used */
	return 0;
}

/* pull-from-mirror's value; -1 when it is none of them. */
static int pull_mode(const char *s)
{
	if (!*s || strcmp(s, "all") == 0)
		return BP_MIRROR_ALL;
	if (strcmp(s, "digest-only") == 0)
		return BP_MIRROR_DIGEST_ONLY;
	if (strcmp(s, "tag-only") == 0)
		return BP_MIRROR_TAG_ONLY;
	return -1;
}

/* A key of a [[registry.mirror]] table (or of an inline table in mirror = [...]). */
static int mirror_key(const char *file, const char *key, bp_toml_value *v, int line, mirror *m,
		      unsigned *seen)
{
	int i = key_index(mirror_keys, NKEYS(mirror_keys), key);

	if (i < 0)
		return at_line(file, line,
			       "unknown key \"%.100s\" in [[registry.mirror]] (beampush knows "
			       "location, insecure, pull-from-mirror)",
			       key);
	if (*seen & (1u << i))
		return at_line(file, line, "\"%s\" is set twice in this [[registry.mirror]]", key);
	*seen |= 1u << i;
	if (i == 1) {
		if (v->type != BP_TOML_BOOL)
			return at_line(file, line, "insecure must be true or false");
		m->insecure = v->b;
		return 0;
	}
	if (v->type != BP_TOML_STRING)
		return at_line(file, line, "%s must be a string in quotes", key);
	if (i == 0) {
		m->location = v->s;
		v->s = NULL;
		return 0;
	}
	if ((m->pull = pull_mode(v->s)) < 0)
		return at_line(file, line,
			       "pull-from-mirror \"%.100s\" is not all, digest-only or tag-only",
			       v->s);
	m->pull_line = line;
	return 0;
}

/* mirror = [{ location = "..." }, ...] inside a [[registry]]: the same as its tables. */
static int inline_mirrors(reg_reader *t, bp_toml_value *v, int line)
{
	entry *e = &t->cur;
	size_t i, j;
	int err = 0;

	if (v->type != BP_TOML_ARRAY)
		return at_line(t->file, line, "mirror must be an array of tables");
	for (i = 0; i < v->n && !err; i++) {
		mirror m = { NULL, 0, 0, line, 0 };
		unsigned seen = 0;

		if (v->v[i].type != BP_TOML_TABLE)
			return at_line(t->file, line, "mirror must be an array of tables");
		for (j = 0; j < v->v[i].n && !err; j++)
			err = mirror_key(t->file, v->v[i].keys[j], &v->v[i].v[j], line, &m, &seen);
		if (!err)
			err = add_mirror(e, &m, t->file);
		free(m.location);
	}
	return err;
}

static int registry_key(reg_reader *t, const char *key, bp_toml_value *v, int line)
{
	int i;

	if (strcmp(key, "pull-from-mirror") == 0)
		return at_line(
			t->file, line,
			"pull-from-mirror belongs in a [[registry.mirror]]; for every mirror "
			"of this [[registry]] write mirror-by-digest-only = true");
	if (strcmp(key, "mirror") == 0)
		return inline_mirrors(t, v, line);
	if ((i = key_index(registry_keys, NKEYS(registry_keys), key)) < 0)
		return at_line(t->file, line,
			       "unknown key \"%.100s\" in [[registry]] (beampush knows prefix, "
			       "location, insecure, blocked, mirror-by-digest-only, mirror)",
			       key);
	if (t->seen & (1u << i))
		return at_line(t->file, line, "\"%s\" is set twice in this [[registry]]", key);
	t->seen |= 1u << i;
	if (i < 2) {
		if (v->type != BP_TOML_STRING)
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
	if (v->type != BP_TOML_BOOL)
		return at_line(t->file, line, "%s must be true or false", key);
	if (i == 2)
		t->cur.insecure = v->b;
	else if (i == 3)
		t->cur.blocked = v->b;
	else
		t->cur.digest_only = v->b ? line : 0;
	return 0;
}

static int reg_keyval(const bp_toml_key *table, const bp_toml_key *key, bp_toml_value *v, int line,
		      void *payload)
{
	reg_reader *t = payload;
	const char *k = key->parts[0];

	/* top-level keys (unqualified-search-registries ...) and other tables: ignored */
	if (!t->in_registry && !t->in_mirror)
		return 0;
	if (key->n > 1)
		return at_line(t->file, line, "unknown key \"%.100s.%.100s\" in [[registry%s]]", k,
			       key->parts[1], t->in_mirror ? ".mirror" : "");
	if (t->in_mirror)
		return mirror_key(t->file, k, v, line, &t->mir, &t->mir_seen);
	return registry_key(t, k, v, line);
}

static int parse_toml(entry_list *l, const char *file, const char *data, size_t len)
{
	static const bp_toml_handler h = { reg_table, reg_keyval };
	reg_reader t;
	int err;

	memset(&t, 0, sizeof(t));
	t.file = file;
	t.out = l;
	err = bp_toml__parse(file, data, len, &h, &t);
	if (!err)
		err = finish_mirror(&t);
	if (!err)
		err = finish_registry(&t);
	entry_release(&t.cur);
	free(t.mir.location);
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

/* See config.h. */
void bp_config_mirrors_free(bp_mirror *m, size_t n)
{
	size_t i;

	for (i = 0; m && i < n; i++) {
		free((char *)m[i].prefix);
		free((char *)m[i].location);
	}
	free(m);
}

/* See config.h. */
int bp_config_mirrors(const bp_config *cfg, const bp_reference *in, bp_mirror **out, size_t *n)
{
	const char *name = bp_reference_name(in), *domain = bp_reference_domain(in), *rest;
	const entry *e = find(cfg, name, domain);
	bp_reference *probe = NULL;
	bp_mirror *v;
	size_t i;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (!e || e->blocked || !e->nmirrors)
		return 0;
	/* what follows the matched part goes after each mirror's location, as after the location */
	rest = e->wildcard ? name + strlen(domain) : name + strlen(e->prefix);
	if (!(v = calloc(e->nmirrors, sizeof(*v))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (i = 0; i < e->nmirrors && !err; i++) {
		const mirror *m = &e->mirrors[i];

		v[i].insecure = m->insecure;
		v[i].pull = (bp_mirror_pull)m->pull;
		v[i].file = e->file;
		v[i].line = m->line;
		v[i].prefix = e->wildcard ? bp_strdup(name) : bp_aprintf("%s%s", e->location, rest);
		v[i].location = bp_aprintf("%s%s", m->location, rest);
		if (!v[i].prefix || !v[i].location) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			break;
		}
		if (bp_reference_parse_repository(&probe, v[i].location)) {
			err = at_line(e->file, m->line,
				      "the mirror of %s would be %s, which is not "
				      "a repository name",
				      name, v[i].location);
			break;
		}
		bp_reference_free(probe);
		probe = NULL;
	}
	if (err) {
		bp_config_mirrors_free(v, e->nmirrors);
		return err;
	}
	*out = v;
	*n = e->nmirrors;
	return 0;
}

/* See config.h. */
int bp_config_check_hosts(const char *hostport)
{
	bp_hosts h;
	int err = bp_hosts__load(&h, hostport);

	bp_hosts__release(&h);
	return err;
}
