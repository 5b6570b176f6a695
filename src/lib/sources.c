/* SPDX-License-Identifier: Apache-2.0 */
/* The mirrors and the registry a read goes to, in order; see sources.h. */
#include "sources.h"

#include "certs.h"
#include "client.h"
#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIRROR_TIMEOUT_DEFAULT 30

struct bp_source {
	char *name;	      /* "mirror 127.0.0.1:5001", or the registry's host */
	char *domain;	      /* whose credentials, the handle's host */
	char *repo;	      /* the repository there */
	unsigned may;	      /* BP_SOURCE_* */
	int mirror;	      /* 0: the registry itself */
	int insecure;	      /* a registries.conf mirror's insecure = true */
	char *base;	      /* scheme://host of a hosts.toml URL: no ping; NULL: ping */
	const char *api;      /* its API root (borrowed from the hosts.toml) */
	const char *query;    /* ns=..., for a host that is not the registry (borrowed from s) */
	const char **headers; /* NULL-terminated, borrowed from the hosts.toml */
	const bp_host *host;  /* its hosts.toml settings, or NULL */
	bp_certs *certs;
	bp_registry_options ro; /* the handle keeps pointers into it */
	bp_registry *reg;
	int opened;
	int borrowed; /* reg is the caller's (bp_sources__use_origin) */
	int dead;     /* could not be reached: not asked again */
	int dead_code;
	pthread_mutex_t lock;
};

/* How long a mirror may stall: $BEAMPUSH_MIRROR_TIMEOUT seconds, else 30. */
static long mirror_timeout(void)
{
	const char *env = secure_getenv("BEAMPUSH_MIRROR_TIMEOUT");
	int64_t v;

	if (env && bp_parse_int64(env, 1, 3600, &v) == 0)
		return (long)v;
	return MIRROR_TIMEOUT_DEFAULT;
}

/* Does prefix match name at a path boundary? */
static int prefix_matches(const char *prefix, const char *name)
{
	size_t n = strlen(prefix);

	return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

/* The next source, set up but not opened: name, domain and repo are taken (new strings). */
static bp_source *add(bp_sources *s, char *name, char *domain, char *repo, unsigned may, int mirror)
{
	bp_source *src = &s->v[s->n];

	if (!name || !domain || !repo) {
		free(name);
		free(domain);
		free(repo);
		bp_error_set(BP_ENOMEM, "out of memory");
		return NULL;
	}
	memset(src, 0, sizeof(*src));
	src->name = name;
	src->domain = domain;
	src->repo = repo;
	src->may = may;
	src->mirror = mirror;
	pthread_mutex_init(&src->lock, NULL);
	s->n++;
	return src;
}

static unsigned caps_may(unsigned caps)
{
	return (caps & BP_HOST_RESOLVE ? BP_SOURCE_RESOLVE : 0) |
	       (caps & BP_HOST_PULL ? BP_SOURCE_PULL : 0);
}

/* A hosts.toml host's URL and settings onto src; is_registry: it is the registry's own host. */
static int take_host(bp_sources *s, bp_source *src, const bp_host *h, int is_registry)
{
	size_t i;

	src->host = h;
	if (h->url) {
		if (!(src->base = bp_aprintf("%s://%s", h->scheme, h->hostport)))
			return bp_error_set(BP_ENOMEM, "out of memory");
		src->api = h->path;
		/* a host that is not the registry learns whose name it serves, as from containerd
		 */
		if (!is_registry)
			src->query = s->origin_host;
	}
	if (h->nheaders) {
		if (!(src->headers = calloc(h->nheaders + 1, sizeof(*src->headers))))
			return bp_error_set(BP_ENOMEM, "out of memory");
		for (i = 0; i < h->nheaders; i++)
			src->headers[i] = h->headers[i];
	}
	return 0;
}

/* Is the hosts.toml host hp the registry domain itself (Docker Hub's registry-1 included)? */
static int is_registry_host(const char *hp, const char *domain)
{
	return strcasecmp(hp, domain) == 0 ||
	       (strcmp(domain, "docker.io") == 0 && strcasecmp(hp, "registry-1.docker.io") == 0);
}

/* The registries.conf mirrors of name that take part in this pull. */
static int add_conf_mirrors(bp_sources *s, const char *name, int by_digest)
{
	const bp_client_options *o = &s->c->opts;
	size_t i;

	for (i = 0; i < o->nmirrors; i++) {
		const bp_mirror *m = &o->mirrors[i];
		bp_reference *r = NULL;
		bp_source *src;
		char *loc;

		if (!m->prefix || !m->location || !prefix_matches(m->prefix, name))
			continue;
		if (by_digest ? m->pull == BP_MIRROR_TAG_ONLY : m->pull == BP_MIRROR_DIGEST_ONLY) {
			bp_client__debug(s->c, "mirror %s is for pulls by %s only: not used",
					 m->location, by_digest ? "tag" : "digest");
			continue;
		}
		if (!(loc = bp_aprintf("%s%s", m->location, name + strlen(m->prefix))))
			return bp_error_set(BP_ENOMEM, "out of memory");
		if (bp_reference_parse_repository(&r, loc)) {
			bp_error_prefix("mirror %s", m->location);
			free(loc);
			return BP_EINVAL;
		}
		free(loc);
		src = add(s, bp_aprintf("mirror %s", bp_reference_domain(r)),
			  bp_strdup(bp_reference_domain(r)), bp_strdup(bp_reference_path(r)),
			  BP_SOURCE_RESOLVE | BP_SOURCE_PULL, 1);
		bp_reference_free(r);
		if (!src)
			return BP_ENOMEM;
		src->insecure = m->insecure;
	}
	return 0;
}

/* See sources.h. */
int bp_sources__open(bp_client *c, const bp_reference *ref, bp_sources *s)
{
	const char *domain = bp_reference_domain(ref), *path = bp_reference_path(ref);
	const bp_host *server;
	bp_source *src;
	char *enc;
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	s->c = c;
	if ((err = bp_hosts__load(&s->hosts, domain)))
		return err;
	if (s->hosts.file)
		bp_client__debug(c, "hosts for %s: %s (%zu mirror(s))", domain, s->hosts.file,
				 s->hosts.n);
	enc = bp_urlencode(domain);
	s->origin_host = enc ? bp_aprintf("ns=%s", enc) : NULL;
	free(enc);
	s->v = calloc(c->opts.nmirrors + s->hosts.n + 1, sizeof(*s->v));
	if (!s->origin_host || !s->v)
		return bp_error_set(BP_ENOMEM, "out of memory");
	if ((err = add_conf_mirrors(s, bp_reference_name(ref), bp_reference_digest(ref) != NULL)))
		return err;
	for (i = 0; i < s->hosts.n; i++) {
		const bp_host *h = &s->hosts.hosts[i];
		int reg = is_registry_host(h->hostport, domain);

		if (!caps_may(h->caps))
			continue;
		if (!(src = add(s, reg ? bp_strdup(domain) : bp_aprintf("mirror %s", h->hostport),
				bp_strdup(reg ? domain : h->hostport), bp_strdup(path),
				caps_may(h->caps), !reg)))
			return BP_ENOMEM;
		if ((err = take_host(s, src, h, reg)))
			return err;
	}
	/* the registry last: the server its hosts.toml names, else itself */
	server = s->hosts.file ? &s->hosts.server : NULL;
	if (server && server->url && !is_registry_host(server->hostport, domain)) {
		src = add(s, bp_strdup(server->hostport), bp_strdup(server->hostport),
			  bp_strdup(path), caps_may(server->caps), 0);
		if (!src || (err = take_host(s, src, server, 0)))
			return src ? err : BP_ENOMEM;
	} else {
		src = add(s, bp_strdup(domain), bp_strdup(domain), bp_strdup(path),
			  server ? caps_may(server->caps) : BP_SOURCE_RESOLVE | BP_SOURCE_PULL, 0);
		if (!src || (server && (err = take_host(s, src, server, 1))))
			return src ? err : BP_ENOMEM;
	}
	return 0;
}

/* See sources.h. */
void bp_sources__close(bp_sources *s)
{
	size_t i;

	for (i = 0; s->v && i < s->n; i++) {
		bp_source *src = &s->v[i];

		if (!src->borrowed)
			bp_registry__free(src->reg);
		bp_certs__free(src->certs);
		free(src->name);
		free(src->domain);
		free(src->repo);
		free(src->base);
		free(src->headers);
		pthread_mutex_destroy(&src->lock);
	}
	free(s->v);
	free(s->origin_host);
	bp_hosts__release(&s->hosts);
	memset(s, 0, sizeof(*s));
}

/*
 * Open src's registry, once; one that cannot be is dead from then on.
 * *before: it failed for another thread already (which said so).
 */
static int open_source(bp_sources *s, bp_source *src, int *before)
{
	bp_client *c = s->c;
	const bp_host *h = src->host;
	bp_registry_options *ro = &src->ro;
	int err = 0;

	*before = 0;
	pthread_mutex_lock(&src->lock);
	if (src->opened) {
		err = src->reg ? 0 : src->dead_code;
		if (err) {
			*before = 1;
			bp_error_set(err, "%s could not be reached", src->name);
		}
		goto done;
	}
	src->opened = 1;
	bp_client__registry_options(c, src->domain, 0, ro);
	ro->insecure |= src->insecure;
	ro->api = src->api;
	ro->query = src->query;
	ro->headers = src->headers;
	if (src->mirror) {
		/* the next source is a mirror's retry, and a stalled one is left sooner */
		ro->retries = 0;
		ro->stall_secs = mirror_timeout();
		ro->connect_timeout_ms = ro->stall_secs * 1000;
	}
	if (h) {
		if (h->skip_verify)
			ro->tls_verify = 0;
		if (h->dial_timeout_ms)
			ro->connect_timeout_ms = h->dial_timeout_ms;
		if (h->nca || h->client_cert) {
			char origin[400];

			snprintf(origin, sizeof(origin), "%s (%s)", s->hosts.file,
				 h->url ? h->url : src->domain);
			err = bp_certs__load_files(&src->certs, origin, (const char *const *)h->ca,
						   h->nca, h->client_cert, h->client_key);
			ro->certs = src->certs;
		}
	}
	if (!err)
		err = bp_client__open_with(c, src->domain, NULL, ro, !src->base, &src->reg);
	if (!err && src->base && (err = bp_registry__assume_base(src->reg, src->base))) {
		bp_registry__free(src->reg);
		src->reg = NULL;
	}
	if (err) {
		src->dead = 1;
		src->dead_code = err;
	}
done:
	pthread_mutex_unlock(&src->lock);
	return err;
}

/* A failure that says the source is not there at all, rather than without this object. */
static int unreachable(int err)
{
	return err == BP_ENET || err == BP_ETLS;
}

static int is_dead(bp_source *src)
{
	int d;

	pthread_mutex_lock(&src->lock);
	d = src->dead;
	pthread_mutex_unlock(&src->lock);
	return d;
}

/* The name of the source after i that may do what, or NULL. */
static const char *next_name(bp_sources *s, size_t i, unsigned what)
{
	for (i++; i < s->n; i++)
		if ((s->v[i].may & what) && !is_dead(&s->v[i]))
			return s->v[i].name;
	return NULL;
}

/* See sources.h. */
int bp_sources__try(bp_sources *s, unsigned what, const char *label, bp_source_fn fn, void *payload)
{
	char why[700] = "";
	size_t i;
	int err = 0, tried = 0;

	for (i = 0; i < s->n; i++) {
		bp_source *src = &s->v[i];
		bp_source_try t = { NULL, src->repo, src->name, src->mirror, 0 };
		const char *next, *ref = strchr(label, ' ');
		char line[1024];
		int opened, before;
		size_t skip;

		if (!(src->may & what) || is_dead(src))
			continue;
		tried = 1;
		opened = (err = open_source(s, src, &before)) == 0;
		if (before && src->mirror)
			continue;
		if (opened) {
			t.reg = src->reg;
			err = fn(s->c, &t, payload);
		}
		if (!err) {
			if (src->mirror)
				bp_client__debug(s->c, "%s from %s", label, src->name);
			return 0;
		}
		if (!src->mirror || t.not_source)
			return err;
		/* a mirror failed this object: the next source is asked */
		bp_strlcpy(why, bp_error_last(), sizeof(why));
		/* "blob D: blob D: digest mismatch", "blob D: D: registry answered 503": D once */
		skip = strlen(label);
		if (strncmp(why, label, skip) != 0 || strncmp(why + skip, ": ", 2) != 0)
			skip = ref ? strlen(ref + 1) : 0;
		if (skip && strncmp(why, label + strlen(label) - skip, skip) == 0 &&
		    strncmp(why + skip, ": ", 2) == 0)
			memmove(why, why + skip + 2, strlen(why + skip + 2) + 1);
		if (opened && unreachable(err)) {
			pthread_mutex_lock(&src->lock);
			src->dead = 1;
			src->dead_code = err;
			pthread_mutex_unlock(&src->lock);
		}
		next = next_name(s, i, what);
		snprintf(line, sizeof(line), "%s: %s: %s; %s%s%s", src->name, label, why,
			 is_dead(src) ? "not asked again; " : "",
			 next ? "trying " : "no other source", next ? next : "");
		if (err == BP_ENOTFOUND)
			bp_client__debug(s->c, "%s", line);
		else
			bp_client__emit(s->c, BP_EVENT_RETRY, NULL, NULL, 0, 0, line);
		bp_error_set(err, "%s: %s", src->name, why);
	}
	if (!tried)
		return bp_error_set(BP_ENOTFOUND,
				    "%s: no source may %s (see the capabilities in %s)", label,
				    what == BP_SOURCE_RESOLVE ? "resolve a tag" : "serve it",
				    s->hosts.file ? s->hosts.file : "hosts.toml");
	return err;
}

/* See sources.h. */
int bp_sources__origin(bp_sources *s, bp_registry **out)
{
	bp_source *src = s->n ? &s->v[s->n - 1] : NULL;
	int err, before;

	*out = NULL;
	if (!src)
		return bp_error_set(BP_ERROR, "no registry");
	if ((err = open_source(s, src, &before)))
		return err;
	*out = src->reg;
	return 0;
}

/* See sources.h. */
void bp_sources__use_origin(bp_sources *s, bp_registry *reg)
{
	bp_source *src = s->n ? &s->v[s->n - 1] : NULL;

	/* only the registry itself, as the caller opened it: not a server hosts.toml names */
	if (!src || src->opened || src->base || src->host)
		return;
	src->reg = reg;
	src->opened = 1;
	src->borrowed = 1;
}

/* See sources.h. */
int bp_sources__multiplexed(bp_sources *s)
{
	size_t i;
	int yes = 0;

	for (i = 0; i < s->n; i++) {
		bp_source *src = &s->v[i];

		if (!(src->may & BP_SOURCE_PULL) || is_dead(src))
			continue;
		pthread_mutex_lock(&src->lock);
		yes = src->reg && bp_registry__multiplexed(src->reg);
		pthread_mutex_unlock(&src->lock);
		break;
	}
	return yes;
}
