/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_STEPS_H
#define BP_LIB_STEPS_H

/*
 * The steps every transfer is made of, below the engines. push (a
 * layout's or an archive's blobs, push.c), the docker-image push (an
 * archive's or the daemon's layers, push_docker.c), pull (pull.c), copy
 * (copy.c), inspect and delete (inspect.c) are peers: none calls another,
 * each strings these steps together. Each step takes one protocol
 * decision in one place: when a blob counts as there, where a mount comes
 * from, what the cache learns and when it is saved, which digest a
 * manifest must have, how a platform is chosen from an index.
 *
 * Named for what it holds rather than after a side: most steps act on the
 * destination (the context, the blob, the manifest PUT), but the verified
 * fetch and the platform pick serve every reader of a registry.
 */

#include <beampush/client.h>
#include <beampush/manifest.h>
#include <beampush/reference.h>

#include "cache.h"
#include "jobs.h"
#include "registry.h"
#include "sources.h"

/* ---- the destination ---- */

/* Where blobs and manifests go: one repository of one registry, and the cache. */
typedef struct {
	bp_registry *reg;
	const char *domain; /* the registry's name, as the cache records it */
	const char *repo;
	bp_cache *cache; /* what was pushed where; NULL when there is none to read */
} bp_dest;

/*
 * Open the cache (a cache that cannot be read is none) and the registry
 * of ref, asking for push rights; domain and repo are borrowed from ref.
 * 0 or the registry's error; close d either way.
 */
int bp_steps__dest_open(bp_client *c, bp_dest *d, const bp_reference *ref);

/*
 * Save what the cache learnt (a cache that cannot be written costs a
 * debug line, not the transfer) and free d. The one place a transfer
 * saves the cache.
 */
void bp_steps__dest_close(bp_client *c, bp_dest *d);

/* Remember that d's repository holds digest: a mount source for other repositories. */
void bp_steps__remember(bp_dest *d, const char *digest);

/* ---- one blob into the destination ---- */

typedef struct bp_blob_step bp_blob_step;

/* How the bytes of a blob are produced, for bp_steps__blob_put(). */
typedef struct {
	/*
	 * Get ready (open a file, begin an upload); NULL when there is nothing
	 * to get. Called before BP_EVENT_BLOB_START: a failure here emits no
	 * event.
	 */
	int (*open)(bp_client *c, bp_dest *d, bp_blob_step *s, void *payload);
	/* Send the bytes; set s->out_digest and s->out_size to what the destination holds. */
	int (*send)(bp_client *c, bp_dest *d, bp_blob_step *s, void *payload);
	/* Release what open took (called after open, failed or not); may be NULL. */
	void (*close)(void *payload);
	/* send uploads into s->session, the upload a refused mount opened */
	int takes_session;
} bp_blob_source;

/* One blob for the destination: what is asked, how it is named, where its bytes come from. */
struct bp_blob_step {
	const char *digest; /* what the destination is asked for; NULL: known once sent */
	int64_t size;	    /* its size; -1: any */
	const char *kind;   /* "config", "layer" */
	const char *label;  /* what BP_EVENT_BLOB_START and _DONE call it (default: digest) */
	int64_t total;	    /* START's total: the bytes read (default: size) */
	/*
	 * Where the blob is known to be (a copy's source), or NULL: remembered,
	 * and mounted from when it is on the destination's registry.
	 */
	const char *from_domain, *from_repo;
	/*
	 * Ask for no mount: the layers a docker archive or export holds
	 * compressed were never looked up in the cache, and a push keeps making
	 * the requests it made.
	 */
	int no_mount;
	/* a HEAD said it is not there (bp_steps__blobs_check): only a mount is tried */
	int checked;
	const bp_blob_source *source;
	void *payload; /* the source's, handed to its functions */
	char *session; /* a refused mount's upload session, for a source that takes one */
	char out_digest[BP_DIGEST_MAX];
	int64_t out_size;
};

/* A step for digest (may be NULL) of size bytes, named by its digest, with its defaults. */
void bp_steps__blob_init(bp_blob_step *s, const char *digest, int64_t size, const char *kind,
			 const bp_blob_source *source, void *payload);

/*
 * Is s's blob in the destination, or can it be made so without sending
 * it? HEAD says whether it is there (with s->size bytes, or a size not
 * given); else it is mounted, unless s->no_mount: from s->from_repo when
 * that is on the destination's registry, else from a repository the
 * cache names. 1 when it is there now: BP_EVENT_BLOB_EXISTS said so
 * ("mounted from REPO" when mounted), d remembers it, s->out_digest and
 * out_size are set. 0 when it must be sent (s->session may then hold the
 * upload a refused mount opened, when s->source takes one); 0 at once for
 * s->digest NULL. < 0 when HEAD failed other than with "not found".
 */
int bp_steps__blob_there(bp_client *c, bp_dest *d, bp_blob_step *s);

/*
 * Put s's blob into the destination: bp_steps__blob_there(), else
 * s->source opens, BP_EVENT_BLOB_START (s->label, 0 of s->total), sends,
 * BP_EVENT_BLOB_DONE (s->label, out_size of out_size) and d remembers
 * out_digest. 0 or the first error; s->session is freed either way.
 */
int bp_steps__blob_put(bp_client *c, bp_dest *d, bp_blob_step *s);

/*
 * Ask the destination about every blob of jobs at once, before any is
 * sent: a HEAD each, as many at a time as small blobs go (jobs.h: a
 * request costs a round trip, not bytes), so that the blobs it has do not
 * wait in line behind uploads. found[i] is 1 when the destination has jobs[i]'s blob
 * (BP_EVENT_BLOB_EXISTS said so, d remembers it), else 0: a step for it
 * is then marked checked. 0, or the first error other than "not found".
 */
int bp_steps__blobs_check(bp_client *c, bp_dest *d, const job *jobs, size_t n, char *found);

/*
 * Jobs for an image manifest's blobs, each with ctx, the config first
 * (small blobs must not wait behind large ones). NULL when out of memory.
 */
job *bp_steps__image_jobs(const bp_manifest *m, void *ctx, size_t *n);

/* ---- manifests ---- */

/* A manifest as fetched and checked. */
typedef struct {
	char *bytes;
	size_t len;
	char *ctype;		    /* the Content-Type sent */
	char digest[BP_DIGEST_MAX]; /* of the bytes */
	bp_manifest *m;		    /* parsed, or NULL */
} bp_fetched;

/* Free what f holds; f may be fetched into again. */
void bp_steps__fetched_release(bp_fetched *f);

typedef enum {
	BP_FETCH_BYTES, /* the bytes only, of any type (--raw) */
	BP_FETCH_PARSE, /* parsed */
	BP_FETCH_IMAGE	/* parsed, and an image manifest: an index's platform */
} bp_fetch_what;

/*
 * GET repo's manifest ref and check it: by digest, the bytes must hash
 * to ref; else to the Docker-Content-Digest the registry sent, when it
 * sent one (BP_EINTEGRITY either way). Then, as what asks, parse it
 * (errors prefixed "NAME: manifest DIGEST", or "manifest DIGEST" when
 * name is NULL) and refuse an index (BP_EUNSUPPORTED, "NAME: index within
 * an index"). On error f holds nothing.
 */
int bp_steps__manifest_fetch(bp_registry *reg, const char *repo, const char *ref, int by_digest,
			     bp_fetch_what what, const char *name, bp_fetched *f);

/*
 * bp_steps__manifest_fetch() from the sources of a read: ref by tag from
 * the first that may resolve it, by digest from the first that may serve
 * it; when a mirror fails (not there, wrong bytes, no answer) the next
 * source is asked (sources.h). The error is the last source's.
 */
int bp_steps__manifest_read(bp_sources *src, const char *ref, int by_digest, bp_fetch_what what,
			    const char *name, bp_fetched *f);

/*
 * The entry of index idx (digest idx_digest) for platform, borrowed from
 * idx; a debug line says which. Errors are prefixed with name.
 */
int bp_steps__platform_pick(bp_client *c, const bp_manifest *idx, const char *idx_digest,
			    const char *platform, const char *name, const bp_descriptor **pick);

/*
 * 1 when d's registry answers a HEAD of the manifest ref with digest: a
 * registry takes a manifest only when it has everything the manifest
 * names, so a push or copy has nothing to send; the blobs of m are
 * reported as already there (BP_EVENT_BLOB_EXISTS). 0 otherwise, errors
 * included.
 */
int bp_steps__manifest_there(bp_client *c, bp_dest *d, const bp_manifest *m, const char *ref,
			     const char *digest);

/*
 * PUT the manifest bytes (whose digest is digest) of media_type into d's
 * repository under ref (NULL: its digest). The Docker-Content-Digest the
 * registry answers, when it answers one, must be digest (BP_EINTEGRITY).
 * Then BP_EVENT_MANIFEST, kind "manifest" or "index".
 */
int bp_steps__manifest_put(bp_client *c, bp_dest *d, const char *ref, const char *bytes, size_t len,
			   const char *media_type, const char *digest, const char *kind);

/*
 * bp_steps__manifest_put(), and x (may be NULL) learns what
 * bp_registry__manifest_put_ex() tells: the OCI-Subject of a registry
 * with the referrers API.
 */
int bp_steps__manifest_put_ex(bp_client *c, bp_dest *d, const char *ref, const char *bytes,
			      size_t len, const char *media_type, const char *digest,
			      const char *kind, bp_manifest_extra *x);

#endif
