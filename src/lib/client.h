/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_CLIENT_H
#define BP_LIB_CLIENT_H

#include <beampush/client.h>
#include <beampush/sign.h>

#include "registry.h"

#include <pthread.h>

#define JOBS_MAX 32

/* What the engines (push, pull, copy, inspect, login) share of a client. */
struct bp_client {
	bp_client_options opts;
	int64_t stream_chunk; /* PATCH size of a stream: --chunk-size if given, else 1 MiB */
	pthread_mutex_t event_lock; /* events come from several workers */
	const bp_verify_key *verify_key; /* pulls need a signature it verifies (sign.h) */
};

void bp_client__emit(bp_client *c, bp_event_type type, const char *digest, const char *kind,
		     int64_t done, int64_t total, const char *message);
void bp_client__debug_line(const char *line, void *payload);
void bp_client__debug(bp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * 0 when a public options struct named type ("bp_client_options") has the
 * version known, the one its header defines; else BP_EINVAL saying so.
 */
int bp_client__check_version(const char *type, unsigned int version, unsigned int known);

/*
 * A registry endpoint for domain, pinged; credentials looked up unless
 * creds is given. push asks for pull,push on every scope.
 */
int bp_client__open_registry(bp_client *c, const char *domain, const bp_credentials *creds,
			     int push, bp_registry **out);

/* The registry options bp_client__open_registry() uses for domain, for a caller to adjust. */
void bp_client__registry_options(bp_client *c, const char *domain, int push,
				 bp_registry_options *ro);

/*
 * A registry endpoint for domain with options ro (which must outlive it),
 * credentials looked up for domain unless creds is given; pinged when ping
 * is 1 (else the caller gives it a base: bp_registry__assume_base()).
 */
int bp_client__open_with(bp_client *c, const char *domain, const bp_credentials *creds,
			 const bp_registry_options *ro, int ping, bp_registry **out);

#endif
