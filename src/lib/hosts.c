/* SPDX-License-Identifier: Apache-2.0 */
/* containerd's hosts.toml, read with toml.c; see hosts.h. */
#include "hosts.h"

#include "toml.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOSTS_FILE_MAX (1024 * 1024)
#define HOSTS_MAX 64
#define HEADERS_MAX 64
#define PATH_PARTS_MAX 32

/* The keys of a host (the server's at the top of the file, a mirror's in [host."URL"]). */
static const char *const fields[] = { "capabilities",  "ca",	       "client", "skip_verify",
				      "override_path", "dial_timeout", "header" };
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
#define FIELD_HEADER 6

typedef struct {
	const char *file;
	char *dir; /* the file's directory, for relative paths */
	bp_hosts *out;
	unsigned seen_server; /* fields set at the top: bit per fields[] */
	unsigned *seen;	      /* per mirror */
	int *defined;	      /* per mirror: the line of its [host."URL"] header, 0 when none */
	int server_line;
} reader;

static void host_release(bp_host *h)
{
	size_t i;

	free(h->url);
	free(h->scheme);
	free(h->hostport);
	free(h->path);
	for (i = 0; i < h->nca; i++)
		free(h->ca[i]);
	free(h->ca);
	free(h->client_cert);
	free(h->client_key);
	for (i = 0; i < h->nheaders; i++)
		free(h->headers[i]);
	free(h->headers);
	memset(h, 0, sizeof(*h));
}

/* See hosts.h. */
void bp_hosts__release(bp_hosts *h)
{
	size_t i;

	free(h->file);
	host_release(&h->server);
	for (i = 0; i < h->n; i++)
		host_release(&h->hosts[i]);
	free(h->hosts);
	memset(h, 0, sizeof(*h));
}

/* Append a new string (taken) to a list; BP_ENOMEM frees it. */
static int push_str(char ***list, size_t *n, char *s)
{
	char **nl;

	if (!s || !(nl = realloc(*list, (*n + 1) * sizeof(*nl)))) {
		free(s);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	*list = nl;
	(*list)[(*n)++] = s;
	return 0;
}

/* path as written, anchored at the file's directory when relative; new string. */
static char *anchored(const reader *r, const char *path)
{
	return path[0] == '/' ? bp_strdup(path) : bp_aprintf("%s/%s", r->dir, path);
}

/* The mirror of url, made when it is new; NULL with the error set. */
static bp_host *mirror_for(reader *r, const char *url, int line)
{
	bp_hosts *o = r->out;
	bp_host *nv;
	unsigned *ns;
	int *nd;
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->hosts[i].url, url) == 0)
			return &o->hosts[i];
	if (o->n == HOSTS_MAX) {
		bp_toml__error(r->file, line, "more than %d hosts", HOSTS_MAX);
		return NULL;
	}
	if ((nv = realloc(o->hosts, (o->n + 1) * sizeof(*nv))))
		o->hosts = nv;
	if ((ns = realloc(r->seen, (o->n + 1) * sizeof(*ns))))
		r->seen = ns;
	if ((nd = realloc(r->defined, (o->n + 1) * sizeof(*nd))))
		r->defined = nd;
	if (!nv || !ns || !nd) {
		bp_error_set(BP_ENOMEM, "out of memory");
		return NULL;
	}
	memset(&o->hosts[o->n], 0, sizeof(o->hosts[0]));
	r->seen[o->n] = 0;
	r->defined[o->n] = 0;
	if (!(o->hosts[o->n].url = bp_strdup(url))) {
		bp_error_set(BP_ENOMEM, "out of memory");
		return NULL;
	}
	o->hosts[o->n].line = line;
	return &o->hosts[o->n++];
}

/* A header name: an HTTP token. */
static int header_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return 0;
	return 1;
}

/* A header value: printable text and tabs, nothing that would end the line. */
static int header_value_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

static int add_header(reader *r, bp_host *h, const char *name, const char *value, int line)
{
	if (h->nheaders == HEADERS_MAX)
		return bp_toml__error(r->file, line, "more than %d headers", HEADERS_MAX);
	if (!header_value_ok(value))
		return bp_toml__error(r->file, line,
				      "header %.100s: a control character in its value", name);
	return push_str(&h->headers, &h->nheaders, bp_aprintf("%s: %s", name, value));
}

/* header.NAME = "value" or ["a", "b"]: one header line per value. */
static int header_field(reader *r, bp_host *h, const char *name, const bp_toml_value *v, int line)
{
	size_t i;
	int err;

	if (!header_name_ok(name))
		return bp_toml__error(r->file, line, "\"%.100s\" is not a header name", name);
	if (strcasecmp(name, "Authorization") == 0 || strcasecmp(name, "Host") == 0)
		return bp_toml__error(r->file, line,
				      "header %s is beampush's to send: credentials come from "
				      "beampush login, one host's for that host only",
				      name);
	if (v->type == BP_TOML_STRING)
		return add_header(r, h, name, v->s, line);
	if (v->type != BP_TOML_ARRAY)
		return bp_toml__error(r->file, line,
				      "header %.100s must be a string or an array of strings",
				      name);
	for (i = 0; i < v->n; i++) {
		if (v->v[i].type != BP_TOML_STRING)
			return bp_toml__error(r->file, line,
					      "header %.100s must be a string or an array of "
					      "strings",
					      name);
		if ((err = add_header(r, h, name, v->v[i].s, line)))
			return err;
	}
	return 0;
}

/* A Go duration ("1s", "500ms", "1m30s") in milliseconds; -1 when it is none. */
static long duration_ms(const char *s)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "ms", 1 },
		      { "s", 1e3 },   { "m", 6e4 },   { "h", 3.6e6 } };
	double total = 0;

	if (!*s)
		return -1;
	if (strcmp(s, "0") == 0)
		return 0;
	while (*s) {
		double n = 0, scale = 1;
		size_t i, best = 0, blen = 0;
		int digits = 0;

		for (; isdigit((unsigned char)*s); s++, digits++)
			n = n * 10 + (*s - '0');
		if (*s == '.')
			for (s++; isdigit((unsigned char)*s); s++, digits++)
				n += (*s - '0') * (scale /= 10);
		if (!digits)
			return -1;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);

			if (strncmp(s, units[i].unit, l) == 0 && l > blen) {
				best = i;
				blen = l;
			}
		}
		if (!blen)
			return -1;
		total += n * units[best].ms;
		s += blen;
		if (total > 3.6e6)
			return -1;
	}
	return total > 0 && total < 1 ? 1 : (long)total;
}

/* ca = "file" or ["a", "b"]. */
static int ca_field(reader *r, bp_host *h, const bp_toml_value *v, int line)
{
	size_t i;
	int err;

	if (v->type == BP_TOML_STRING)
		return push_str(&h->ca, &h->nca, anchored(r, v->s));
	if (v->type != BP_TOML_ARRAY)
		return bp_toml__error(r->file, line, "ca must be a path or an array of paths");
	for (i = 0; i < v->n; i++) {
		if (v->v[i].type != BP_TOML_STRING)
			return bp_toml__error(r->file, line,
					      "ca must be a path or an array of paths");
		if ((err = push_str(&h->ca, &h->nca, anchored(r, v->v[i].s))))
			return err;
	}
	return 0;
}

/*
 * client = "both.pem", ["a.pem", ...] or [["cert", "key"], ...]: the first
 * pair is used (one file holding both, or a key of "" meaning so).
 */
static int client_field(reader *r, bp_host *h, const bp_toml_value *v, int line)
{
	const bp_toml_value *first = v;
	const char *cert = NULL, *key = NULL;

	if (v->type == BP_TOML_ARRAY && v->n)
		first = &v->v[0];
	if (first->type == BP_TOML_STRING) {
		cert = first->s;
	} else if (first->type == BP_TOML_ARRAY && first->n >= 1 && first->n <= 2 &&
		   first->v[0].type == BP_TOML_STRING &&
		   (first->n == 1 || first->v[1].type == BP_TOML_STRING)) {
		cert = first->v[0].s;
		key = first->n == 2 && *first->v[1].s ? first->v[1].s : NULL;
	}
	if (!cert || !*cert)
		return bp_toml__error(r->file, line,
				      "client must be a path, an array of paths or an array of "
				      "[certificate, key] pairs");
	if (!(h->client_cert = anchored(r, cert)) || (key && !(h->client_key = anchored(r, key))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

static int caps_field(reader *r, bp_host *h, const bp_toml_value *v, int line)
{
	size_t i;

	if (v->type != BP_TOML_ARRAY)
		return bp_toml__error(r->file, line, "capabilities must be an array of strings");
	h->caps = 0;
	for (i = 0; i < v->n; i++) {
		const char *s = v->v[i].type == BP_TOML_STRING ? v->v[i].s : "";

		if (strcmp(s, "pull") == 0)
			h->caps |= BP_HOST_PULL;
		else if (strcmp(s, "resolve") == 0)
			h->caps |= BP_HOST_RESOLVE;
		else if (strcmp(s, "push") == 0)
			h->caps |= BP_HOST_PUSH;
		else
			return bp_toml__error(r->file, line,
					      "capability \"%.100s\" is not pull, resolve or push",
					      s);
	}
	return 0;
}

/* One field of h (fields[i]). */
static int host_field(reader *r, bp_host *h, unsigned *seen, int i, bp_toml_value *v, int line)
{
	size_t j;
	long ms;
	int err;

	if (i != FIELD_HEADER && (*seen & (1u << i)))
		return bp_toml__error(r->file, line, "%s is set twice for this host", fields[i]);
	*seen |= 1u << i;
	switch (i) {
	case 0:
		return caps_field(r, h, v, line);
	case 1:
		return ca_field(r, h, v, line);
	case 2:
		return client_field(r, h, v, line);
	case 3:
	case 4:
		if (v->type != BP_TOML_BOOL)
			return bp_toml__error(r->file, line, "%s must be true or false", fields[i]);
		*(i == 3 ? &h->skip_verify : &h->override_path) = v->b;
		return 0;
	case 5:
		if (v->type != BP_TOML_STRING || (ms = duration_ms(v->s)) < 0)
			return bp_toml__error(r->file, line,
					      "dial_timeout must be a duration such as \"2s\" or "
					      "\"500ms\" (at most an hour)");
		h->dial_timeout_ms = ms;
		return 0;
	default:
		/* header = { NAME = "value" } */
		if (v->type != BP_TOML_TABLE)
			return bp_toml__error(r->file, line, "header must be a table of headers");
		for (j = 0; j < v->n; j++)
			if ((err = header_field(r, h, v->keys[j], &v->v[j], line)))
				return err;
		return 0;
	}
}

static int unknown_key(reader *r, const char *const *parts, size_t n, int line)
{
	char buf[300] = "";
	size_t i, o = 0;

	for (i = 0; i < n && o < sizeof(buf) - 1; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "." : "", parts[i]);
	if (n == 1 && strcmp(parts[0], "proxy") == 0)
		return bp_toml__error(r->file, line,
				      "proxy is not supported: beampush takes its proxy from "
				      "https_proxy and http_proxy in the environment");
	return bp_toml__error(r->file, line,
			      "unknown key \"%.200s\" (beampush knows server, capabilities, ca, "
			      "client, skip_verify, override_path, dial_timeout, [header] and "
			      "[host.\"URL\"] with the same keys)",
			      buf);
}

static int field_index(const char *name)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i], name) == 0)
			return (int)i;
	return -1;
}

static int on_keyval(const bp_toml_key *table, const bp_toml_key *key, bp_toml_value *v, int line,
		     void *payload)
{
	reader *r = payload;
	const char *parts[PATH_PARTS_MAX];
	size_t n = 0, i;
	bp_host *h;
	int f;

	for (i = 0; i < table->n && n < PATH_PARTS_MAX; i++)
		parts[n++] = table->parts[i];
	for (i = 0; i < key->n && n < PATH_PARTS_MAX; i++)
		parts[n++] = key->parts[i];
	if (n == 1 && strcmp(parts[0], "server") == 0) {
		if (r->out->server.url)
			return bp_toml__error(r->file, line, "server is set twice");
		if (v->type != BP_TOML_STRING)
			return bp_toml__error(r->file, line, "server must be a URL in quotes");
		r->out->server.url = v->s;
		r->out->server.line = line;
		v->s = NULL;
		return 0;
	}
	if (n == 1 && (f = field_index(parts[0])) >= 0)
		return host_field(r, &r->out->server, &r->seen_server, f, v, line);
	if (n == 2 && strcmp(parts[0], "header") == 0)
		return header_field(r, &r->out->server, parts[1], v, line);
	if (n >= 3 && strcmp(parts[0], "host") == 0) {
		if (!(h = mirror_for(r, parts[1], line)))
			return bp_error_last_code();
		if (n == 3 && (f = field_index(parts[2])) >= 0)
			return host_field(r, h, &r->seen[h - r->out->hosts], f, v, line);
		if (n == 4 && strcmp(parts[2], "header") == 0)
			return header_field(r, h, parts[3], v, line);
	}
	return unknown_key(r, parts, n, line);
}

static int on_table(const bp_toml_key *name, int array, int line, void *payload)
{
	reader *r = payload;
	bp_host *h;
	size_t i;

	if (array)
		return bp_toml__error(r->file, line, "hosts.toml has no [[arrays of tables]]");
	if (bp_toml__key_is(name, "header", NULL) || bp_toml__key_is(name, "host", NULL))
		return 0;
	if (name->n >= 2 && strcmp(name->parts[0], "host") == 0 &&
	    (name->n == 2 || (name->n == 3 && strcmp(name->parts[2], "header") == 0))) {
		if (!(h = mirror_for(r, name->parts[1], line)))
			return bp_error_last_code();
		i = (size_t)(h - r->out->hosts);
		if (name->n == 2) {
			if (r->defined[i])
				return bp_toml__error(r->file, line,
						      "[host.\"%.200s\"] is defined already on "
						      "line %d",
						      name->parts[1], r->defined[i]);
			r->defined[i] = line;
			h->line = line;
		}
		return 0;
	}
	return bp_toml__error(r->file, line,
			      "unknown table (hosts.toml has [header], [host.\"URL\"] and "
			      "[host.\"URL\".header]; a host cannot hold another)");
}

/* A host name and port as a URL carries them: letters, digits, '.', '-', '_', a port, [IPv6]. */
static int authority_ok(const char *s, size_t n)
{
	size_t i = 0, colon = n;

	if (!n)
		return 0;
	if (s[0] == '[') {
		while (i < n && s[i] != ']') {
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.' && i)
				return 0;
			i++;
		}
		if (i == n)
			return 0;
		i++;
		if (i < n && s[i] != ':')
			return 0;
		colon = i;
	} else {
		for (; i < n && s[i] != ':'; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' &&
			    s[i] != '_')
				return 0;
		if (!i)
			return 0;
		colon = i;
	}
	if (colon < n) {
		if (colon + 1 == n || n - colon - 1 > 5)
			return 0;
		for (i = colon + 1; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return 0;
	}
	return 1;
}

/*
 * h->url into scheme, host and API root, as containerd reads it: no
 * scheme is https; "/v2" is added to the path unless it ends in /v2
 * already or override_path says the path is the root.
 */
static int split_url(reader *r, bp_host *h)
{
	const char *u = h->url, *sep = strstr(u, "://"), *auth, *slash;
	char *path = NULL;
	size_t plen, o = 0, i;
	int line = h->line ? h->line : r->server_line;

	if (sep) {
		if (!((sep - u == 4 && strncasecmp(u, "http", 4) == 0) ||
		      (sep - u == 5 && strncasecmp(u, "https", 5) == 0)))
			return bp_toml__error(r->file, line,
					      "\"%.200s\": scheme %.*s is not one beampush speaks "
					      "(http, https)",
					      u, (int)(sep - u > 20 ? 20 : sep - u), u);
		h->scheme = bp_strndup(u, (size_t)(sep - u));
		for (i = 0; h->scheme && h->scheme[i]; i++)
			h->scheme[i] = (char)tolower((unsigned char)h->scheme[i]);
		auth = sep + 3;
	} else {
		h->scheme = bp_strdup("https");
		auth = u;
	}
	if (!h->scheme)
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (strpbrk(u, "?#"))
		return bp_toml__error(r->file, line,
				      "\"%.200s\": a host URL has no query or fragment", u);
	slash = strchr(auth, '/');
	if (memchr(auth, '@', slash ? (size_t)(slash - auth) : strlen(auth)))
		return bp_toml__error(r->file, line,
				      "\"%.200s\": no user in a host URL: beampush login stores "
				      "credentials",
				      u);
	if (!authority_ok(auth, slash ? (size_t)(slash - auth) : strlen(auth)))
		return bp_toml__error(r->file, line,
				      "\"%.200s\" is not a URL such as https://host[:port][/path]",
				      u);
	if (!(h->hostport = bp_strndup(auth, slash ? (size_t)(slash - auth) : strlen(auth))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	/* the path with doubled and trailing slashes dropped */
	plen = slash ? strlen(slash) : 0;
	if (!(path = malloc(plen + 4)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (i = 0; i < plen; i++) {
		if (slash[i] == '/' && (o && path[o - 1] == '/'))
			continue;
		if (!isprint((unsigned char)slash[i]) || slash[i] == ' ') {
			free(path);
			return bp_toml__error(r->file, line,
					      "\"%.200s\": a space or control character in the "
					      "path",
					      u);
		}
		path[o++] = slash[i];
	}
	while (o && path[o - 1] == '/')
		o--;
	path[o] = '\0';
	if (strstr(path, "/../") || bp_strsuffix(path, "/..") || strstr(path, "/./") ||
	    bp_strsuffix(path, "/.")) {
		free(path);
		return bp_toml__error(r->file, line, "\"%.200s\": . or .. in the path", u);
	}
	if (!h->override_path && !bp_strsuffix(path, "/v2"))
		memcpy(path + o, "/v2", 4);
	h->path = path;
	return 0;
}

/* Defaults and URLs, once the whole file is read. */
static int finish(reader *r)
{
	bp_hosts *o = r->out;
	size_t i;
	int err;

	if (!(r->seen_server & 1u))
		o->server.caps = BP_HOST_PULL | BP_HOST_RESOLVE | BP_HOST_PUSH;
	r->server_line = o->server.line;
	if (o->server.url && (err = split_url(r, &o->server)))
		return err;
	for (i = 0; i < o->n; i++) {
		if (!(r->seen[i] & 1u))
			o->hosts[i].caps = BP_HOST_PULL | BP_HOST_RESOLVE | BP_HOST_PUSH;
		if ((err = split_url(r, &o->hosts[i])))
			return err;
	}
	return 0;
}

/* See hosts.h. */
int bp_hosts__parse(bp_hosts *out, const char *file, const char *data, size_t len)
{
	static const bp_toml_handler h = { on_table, on_keyval };
	const char *slash = strrchr(file, '/');
	reader r;
	int err;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.file = file;
	r.out = out;
	r.dir = slash ? bp_strndup(file, slash == file ? 1 : (size_t)(slash - file))
		      : bp_strdup(".");
	if (!r.dir || !(out->file = bp_strdup(file)))
		err = bp_error_set(BP_ENOMEM, "out of memory");
	else if (!(err = bp_toml__parse(file, data, len, &h, &r)))
		err = finish(&r);
	free(r.dir);
	free(r.seen);
	free(r.defined);
	if (err)
		bp_hosts__release(out);
	return err;
}

/* A directory name that is one path component and nothing else. */
static int usable_name(const char *s)
{
	const char *p;

	if (!*s || *s == '.' || strlen(s) > 300)
		return 0;
	for (p = s; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x21 || *p == 0x7f)
			return 0;
	return 1;
}

/* See hosts.h. */
int bp_hosts__load(bp_hosts *out, const char *hostport)
{
	const char *env = secure_getenv("BEAMPUSH_HOSTS_D");
	const char *dir = env && *env ? env : "/etc/containerd/certs.d";
	const char *colon = strrchr(hostport, ':');
	char *names[3] = { NULL, NULL, NULL }, *path = NULL, *data = NULL;
	size_t len, i, n = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!usable_name(hostport))
		return 0;
	/* host:port is looked up as host_port_ first, as containerd 2 does */
	if (colon && hostport[strlen(hostport) - 1] != ']' &&
	    !(names[n++] = bp_aprintf("%.*s_%s_", (int)(colon - hostport), hostport, colon + 1)))
		err = bp_error_set(BP_ENOMEM, "out of memory");
	if (!err && (!(names[n++] = bp_strdup(hostport)) || !(names[n++] = bp_strdup("_default"))))
		err = bp_error_set(BP_ENOMEM, "out of memory");
	for (i = 0; i < n && !err; i++) {
		free(path);
		if (!(path = bp_aprintf("%s/%s/hosts.toml", dir, names[i]))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			break;
		}
		if (bp_read_file(path, HOSTS_FILE_MAX, &data, &len) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			if (errno == EFBIG)
				err = bp_error_set(BP_EINVAL, "%s is larger than 1 MiB", path);
			else if (errno == ENOMEM)
				err = bp_error_set(BP_ENOMEM, "out of memory");
			else
				err = bp_error_set(BP_EIO, "cannot read %s: %s", path,
						   strerror(errno));
			break;
		}
		err = bp_hosts__parse(out, path, data, len);
		free(data);
		break;
	}
	free(path);
	for (i = 0; i < 3; i++)
		free(names[i]);
	return err;
}
