/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/client.h>
#include <beampush/credentials.h>

#include "auth.h"
#include "client.h"
#include "registry.h"
#include "store_daemon.h"
#include "util/strutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_DEFAULT 4

/* Hand an event to the caller's callback, one at a time. */
void bp_client__emit(bp_client *c, bp_event_type type, const char *digest, const char *kind,
		 int64_t done, int64_t total, const char *message)
{
	bp_event ev = { type, digest, kind, done, total, message };

	if (!c->opts.on_event)
		return;
	pthread_mutex_lock(&c->event_lock);
	c->opts.on_event(&ev, c->opts.payload);
	pthread_mutex_unlock(&c->event_lock);
}

/* A --debug line, as an event. */
void bp_client__debug_line(const char *line, void *payload)
{
	bp_client *c = payload;

	bp_client__emit(c, BP_EVENT_DEBUG, NULL, NULL, 0, 0, line);
}

/* A retry announcement, as an event. */
static void retry_line(const char *line, void *payload)
{
	bp_client *c = payload;

	bp_client__emit(c, BP_EVENT_RETRY, NULL, NULL, 0, 0, line);
}

/* printf-like --debug line. */
void bp_client__debug(bp_client *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!c->opts.debug)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	bp_client__debug_line(line, c);
}

/* See client.h. */
int bp_client__check_version(const char *type, unsigned int version, unsigned int known)
{
	if (version == known)
		return 0;
	/* a struct of another layout would be read at the wrong offsets */
	return bp_error_set(BP_EINVAL,
			    "%s version %u is not one this library knows (%u): fill it with "
			    "%s_init() or the _INIT macro of this library's headers",
			    type, version, known, type);
}

/* Fill opts with the defaults; see client.h. */
int bp_client_options_init(bp_client_options *opts, unsigned int version)
{
	const bp_client_options defaults = BP_CLIENT_OPTIONS_INIT;
	int err;

	if ((err = bp_client__check_version("bp_client_options", version,
					    BP_CLIENT_OPTIONS_VERSION)))
		return err;
	*opts = defaults;
	return 0;
}

/* A client with opts copied (the strings they point to must outlive it). */
int bp_client_new(bp_client **out, const bp_client_options *opts)
{
	const bp_client_options defaults = BP_CLIENT_OPTIONS_INIT;
	bp_client *c;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((err = bp_client__check_version("bp_client_options", opts->version,
					    BP_CLIENT_OPTIONS_VERSION)))
		return err;
	if (!(c = calloc(1, sizeof(*c))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	c->opts = *opts;
	if (c->opts.jobs <= 0)
		c->opts.jobs = JOBS_DEFAULT;
	if (c->opts.jobs > JOBS_MAX)
		c->opts.jobs = JOBS_MAX;
	/*
	 * A stream (a layer compressed on the way, a copied blob) holds two
	 * chunks: one in flight, kept until the registry has it, and the next
	 * filling. Unless told otherwise it uses small ones, to stay small.
	 */
	c->stream_chunk = c->opts.chunk_size ? c->opts.chunk_size : BP_STREAM_CHUNK_DEFAULT;
	if (!c->opts.chunk_size)
		c->opts.chunk_size = BP_CHUNK_SIZE_DEFAULT;
	if (c->opts.compression_level <= 0)
		c->opts.compression_level = BP_COMPRESSION_LEVEL_DEFAULT;
	if (c->opts.compression_level > 12)
		c->opts.compression_level = 12;
	if (!c->opts.monolithic_max)
		c->opts.monolithic_max = BP_MONOLITHIC_MAX_DEFAULT;
	pthread_mutex_init(&c->event_lock, NULL);
	*out = c;
	return 0;
}

/* Free c; NULL is fine. */
void bp_client_free(bp_client *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->event_lock);
	free(c);
}

/* See client.h. */
void bp_client__registry_options(bp_client *c, const char *domain, int push,
				 bp_registry_options *ro)
{
	size_t i;

	memset(ro, 0, sizeof(*ro));
	ro->tls_verify = c->opts.tls_verify;
	ro->push = push;
	ro->retries = c->opts.retries;
	ro->retry_cb = retry_line;
	ro->debug = c->opts.debug;
	ro->log_cb = bp_client__debug_line;
	ro->payload = c;
	for (i = 0; i < c->opts.ninsecure; i++) {
		const char *plain = bp_strprefix(c->opts.insecure[i], "http://");

		if (strcmp(plain ? plain : c->opts.insecure[i], domain) == 0) {
			ro->insecure = 1;
			ro->plain_http |= plain != NULL;
		}
	}
}

/* See client.h. */
int bp_client__open_with(bp_client *c, const char *domain, const bp_credentials *creds,
			 const bp_registry_options *ro, int ping, bp_registry **out)
{
	bp_credentials cred = BP_CREDENTIALS_INIT;
	int err = 0;

	*out = NULL;
	if (!creds) {
		err = bp_credentials_lookup(&cred, domain);
		if (err == 0)
			bp_client__debug(c, "credentials for %s: user %s from %s", domain,
					 cred.username, cred.source ? cred.source : "?");
		else if (err == BP_ENOTFOUND)
			bp_client__debug(c, "credentials for %s: none, anonymous", domain);
		else
			goto done;
		creds = err == 0 ? &cred : NULL;
	}
	if ((err = bp_registry__new(out, domain, creds, ro)))
		goto done;
	if (ping && (err = bp_registry__ping(*out))) {
		bp_registry__free(*out);
		*out = NULL;
	}
done:
	bp_credentials_release(&cred);
	return err;
}

/* A registry handle for domain, pinged (or what an earlier run learnt of it taken) unless fresh. */
static int open_registry(bp_client *c, const char *domain, const bp_credentials *creds, int push,
			 int fresh, bp_registry **out)
{
	bp_registry_options ro;

	bp_client__registry_options(c, domain, push, &ro);
	ro.fresh = fresh;
	return bp_client__open_with(c, domain, creds, &ro, 1, out);
}

/* See client.h. */
int bp_client__open_registry(bp_client *c, const char *domain, const bp_credentials *creds,
			     int push, bp_registry **out)
{
	return open_registry(c, domain, creds, push, 0, out);
}

/* Check credentials against a registry; see client.h. */
int bp_login(bp_client *c, const char *host, const bp_credentials *creds, char **identity_token)
{
	bp_registry *r = NULL;
	int err;

	*identity_token = NULL;
	/* a login asks the registry itself, not what an earlier run remembered of it */
	if ((err = open_registry(c, host, creds, 0, 1, &r)))
		return err;
	err = bp_registry__login(r, identity_token);
	bp_registry__free(r);
	return err;
}

/* Is a daemon there? See client.h. */
int bp_daemon_check(void)
{
	bp_daemon *d = NULL;
	int err = bp_daemon__open(&d);

	bp_daemon__free(d);
	return err;
}
