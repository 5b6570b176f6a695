/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_SOURCES_H
#define BP_LIB_SOURCES_H

/*
 * Where a read of one repository gets its bytes: the mirrors of the
 * client's options (registries.conf), then the [host."URL"] mirrors of
 * containerd's hosts directory, then the registry itself (or the server
 * its hosts.toml names), last. Pull, inspect and copy's source read
 * through it; push, delete and tag lists go to the registry alone.
 *
 * What a mirror may do is what its configuration says: a registries.conf
 * mirror takes part in a pull by tag unless it is digest-only, in a pull
 * by digest unless it is tag-only, and then answers both the tag and the
 * content; a hosts.toml host answers a tag only with the resolve
 * capability, content by digest only with pull. Every byte is checked by
 * the caller against the digest it came for. A mirror that fails is
 * skipped for that object with one line (a BP_EVENT_RETRY event; a plain
 * "not found" is a debug line only) and the next source is asked; one
 * that cannot be reached at all (connection, TLS, time-out) is not asked
 * again by this handle. A mirror gets the credentials stored for its own
 * host, never the registry's; a hosts.toml mirror's requests carry
 * ns=<the registry's host>, as containerd sends them. Mirrors are not
 * retried (the next source is their retry) and give up sooner on a
 * stalled transfer: after $BEAMPUSH_MIRROR_TIMEOUT seconds (default 30).
 *
 * Sources are opened when first used, so a pull by digest that its
 * mirrors serve never contacts the registry. Safe to use from several
 * threads.
 */

#include <beampush/client.h>
#include <beampush/reference.h>

#include "hosts.h"
#include "registry.h"

#include <pthread.h>

/* What a source is asked to do. */
#define BP_SOURCE_RESOLVE 1u /* say which manifest a tag names */
#define BP_SOURCE_PULL 2u    /* serve a manifest or a blob by digest */

typedef struct bp_source bp_source;

typedef struct {
	bp_client *c;
	bp_source *v;
	size_t n;
	bp_hosts hosts;	   /* the hosts.toml that applied, if any */
	char *origin_host; /* the registry's host[:port], as the ns= parameter names it */
} bp_sources;

/*
 * The sources of ref's repository (ref as the network names it, after
 * the endpoint mapping): ref's digest, or its absence, decides which
 * registries.conf mirrors take part. No request is sent. An unreadable
 * hosts.toml is its error (BP_EINVAL, BP_EIO); close s either way.
 */
int bp_sources__open(bp_client *c, const bp_reference *ref, bp_sources *s);
void bp_sources__close(bp_sources *s);

/* One try at one source, handed to the function bp_sources__try() calls. */
typedef struct {
	bp_registry *reg; /* opened and ready */
	const char *repo; /* the repository on it */
	const char *name; /* "mirror HOST" or the registry's host, for messages */
	int mirror;	  /* 0: the registry itself */
	int not_source;	  /* set by the function: the failure is the caller's (disk, destination) */
} bp_source_try;

typedef int (*bp_source_fn)(bp_client *c, bp_source_try *t, void *payload);

/*
 * Ask the sources that may do what (BP_SOURCE_*), in order, with fn, until
 * one serves (0). A mirror's failure moves on to the next source (after
 * the line that says so), unless fn set not_source; the registry's is
 * returned as it is. what names the object in messages ("blob
 * sha256:..."). When no source may do what: BP_ENOTFOUND saying so.
 */
int bp_sources__try(bp_sources *s, unsigned what, const char *label, bp_source_fn fn,
		    void *payload);

/*
 * The registry itself, opened and pinged if it was not yet (borrowed: s
 * frees it), for what only it answers.
 */
int bp_sources__origin(bp_sources *s, bp_registry **out);

/*
 * The caller has the registry open already (reg, borrowed: it must outlive
 * s): the sources use it rather than open another, when the registry is
 * the repository's own (not a server a hosts.toml names instead).
 */
void bp_sources__use_origin(bp_sources *s, bp_registry *reg);

/*
 * 1 when the first source that content comes from is open and its
 * requests share an HTTP/2 connection (bp_registry__multiplexed()), else 0.
 */
int bp_sources__multiplexed(bp_sources *s);

#endif
