/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_CLIENT_H
#define BEAMPUSH_CLIENT_H

#include <beampush/common.h>
#include <beampush/credentials.h>
#include <beampush/digest.h>
#include <beampush/mirror.h>
#include <beampush/reference.h>

/*
 * The push/pull engine. A client holds the options (and a lock for the
 * events its workers emit), nothing more: each call opens the registries
 * it talks to, with their connections and tokens, and frees them before it
 * returns. One thread at a time calls a client; the blobs of one call
 * move on several.
 */
typedef struct bp_client bp_client;

typedef enum {
	BP_EVENT_BLOB_START,    /* a blob starts to move; total = size */
	BP_EVENT_BLOB_EXISTS,   /* the other side has it already */
	BP_EVENT_BLOB_PROGRESS, /* done of total bytes */
	BP_EVENT_BLOB_DONE,     /* moved and verified */
	BP_EVENT_MANIFEST,      /* a manifest was written; digest */
	BP_EVENT_RETRY,         /* message says why and when */
	BP_EVENT_DEBUG,         /* a --debug line; never holds a secret */
	/*
	 * bp_copy_tags(): an image starts to be copied (kind "image" or
	 * "index"), or is done with (kind "copied", "present": there already,
	 * "failed", or "skipped" when the rate limit stopped it after it
	 * started). message: its tag ("TAG: why" when failed or skipped);
	 * digest: its manifest's when known; done of total: the images done
	 * with so far, of those chosen.
	 */
	BP_EVENT_IMAGE_START,
	BP_EVENT_IMAGE_DONE,
	/*
	 * copy: a referrer of a manifest copied is on the destination, carried
	 * or there already. kind "signature", "attestation" or "sbom": cosign's
	 * tag of that name, message the tag; kind "referrer": a manifest whose
	 * subject is the one copied, message its artifactType (or NULL); kind
	 * "skipped": a listed referrer not carried, message why. digest: its
	 * manifest's.
	 */
	BP_EVENT_REFERRER
} bp_event_type;

typedef struct {
	bp_event_type type;
	const char *digest;  /* the blob or manifest, or NULL */
	const char *kind;    /* "config", "layer", "manifest", "index" */
	int64_t done;
	int64_t total;
	const char *message; /* RETRY, DEBUG */
} bp_event;

typedef void (*bp_event_cb)(const bp_event *ev, void *payload);

/*
 * How a client behaves. Fill one from BP_CLIENT_OPTIONS_INIT (or with
 * bp_client_options_init()) and then set the fields you want: a member
 * added in a later release then has its default, and the version field
 * tells the library which layout of this struct the caller was built
 * with, as libgit2's git_clone_options do.
 *
 *	bp_client_options opts = BP_CLIENT_OPTIONS_INIT;
 *
 *	opts.jobs = 8;
 *	err = bp_client_new(&c, &opts);
 */
typedef struct {
	unsigned int version;		/* BP_CLIENT_OPTIONS_VERSION */
	int tls_verify;                 /* 1: verify (default) */
	/*
	 * hosts allowed plain http or unverified TLS: "HOST[:PORT]" tries
	 * TLS first, "http://HOST[:PORT]" goes straight to plain http
	 */
	const char *const *insecure;
	size_t ninsecure;
	int jobs;                       /* 0: default */
	int64_t chunk_size;             /* PATCH size; 0: default */
	int64_t monolithic_max;         /* blobs up to this go in one PUT; 0: default, -1: never */
	const char *platform;           /* os/arch[/variant]; NULL: this machine */
	int debug;                      /* emit BP_EVENT_DEBUG */
	bp_event_cb on_event;
	void *payload;
	int retries;                    /* passing failures retried this often (0: never) */
	int compression_level;          /* gzip level for uncompressed layers, 1..12; 0: default */
	int all_platforms;              /* pull: keep a whole index, every platform */
	/*
	 * Mirrors for reads (pull, inspect, copy's source), tried in order
	 * before a repository's registry (see mirror.h); the mirrors of
	 * containerd's hosts directory follow them (bp_pull()).
	 */
	const bp_mirror *mirrors;
	size_t nmirrors;
	/*
	 * copy: leave the referrers behind (cosign's signatures, attestations
	 * and SBOMs, OCI referrers); 0: carry them (see bp_copy())
	 */
	int no_referrers;
} bp_client_options;

/*
 * Level 1: on a 2-core machine the upload of a docker archive is bound by
 * compression; level 1 pushes twice as fast as level 6 for output about 15%
 * larger (bench/archive-push). Higher levels trade speed for size.
 */
#define BP_COMPRESSION_LEVEL_DEFAULT 1

#define BP_RETRIES_DEFAULT 4

/* The layout of bp_client_options this header describes. */
#define BP_CLIENT_OPTIONS_VERSION 1

/* The defaults: TLS verified, BP_RETRIES_DEFAULT retries, every other member 0 or NULL. */
#define BP_CLIENT_OPTIONS_INIT                                         \
	{                                                              \
		.version = BP_CLIENT_OPTIONS_VERSION, .tls_verify = 1, \
		.retries = BP_RETRIES_DEFAULT                          \
	}

#define BP_CHUNK_SIZE_DEFAULT (16 * 1024 * 1024)
#define BP_MONOLITHIC_MAX_DEFAULT (1024 * 1024)

/*
 * Fill opts with the defaults of BP_CLIENT_OPTIONS_INIT, for callers that
 * cannot use the macro (bindings from other languages). Pass
 * BP_CLIENT_OPTIONS_VERSION as version. BP_EINVAL, with opts untouched,
 * when version is not one this library knows.
 */
int bp_client_options_init(bp_client_options *opts, unsigned int version);

/*
 * A new client in *out (free with bp_client_free()). opts is copied (NULL:
 * the defaults); the strings and the array it points to must outlive the
 * client. BP_EINVAL when opts->version is not one this library knows
 * (opts not made from BP_CLIENT_OPTIONS_INIT or bp_client_options_init()),
 * BP_ENOMEM.
 */
int bp_client_new(bp_client **out, const bp_client_options *opts);

/* Free c; NULL is fine. */
void bp_client_free(bp_client *c);

/*
 * Push the image in source to dst. source names a transport (see
 * transport.h): "oci:DIR[:TAG]", an OCI layout (TAG may be left out when
 * the layout holds one image); "docker-archive:FILE[:REF]", a `docker
 * save` archive (REF picks an image when it holds several; a Docker 25+
 * multi-platform image goes whole unless opts.platform picks one); or
 * "docker-daemon:REF", an image of the Docker daemon, exported while it is
 * pushed. Blobs the registry has are skipped (HEAD), blobs the cache saw
 * in another repository of the registry are mounted, the others are uploaded
 * (a docker image's uncompressed layers gzip-compressed on the way) and
 * the manifest is put with its own media type. The registry's
 * Docker-Content-Digest must equal the local digest (BP_EINTEGRITY); a
 * source that does not name a transport is BP_EINVAL. digest gets the
 * manifest digest.
 */
int bp_push(bp_client *c, const char *source, const bp_reference *dst,
	    char digest[BP_DIGEST_MAX]);

/*
 * Pull src into dest, a transport (see transport.h): "oci:DIR[:TAG]", an
 * OCI layout, created when missing, the image tagged TAG (default: src's
 * tag); "docker-archive:FILE[:REF]", a `docker save` archive written at
 * FILE; or "docker-daemon:REF", loaded into the Docker daemon. The image
 * in an archive or the daemon is named REF, else src's name and tag (none
 * when src names a digest only). Every blob is verified before it is kept
 * (BP_EINTEGRITY, nothing unverified left): an archive or the daemon gets
 * the image only once it is all pulled and verified. digest gets the
 * digest of the manifest written (for an index: of the chosen platform's,
 * or with opts.all_platforms, the index's: every platform is kept, into an
 * OCI layout only).
 */
int bp_pull(bp_client *c, const bp_reference *src, const char *dest,
	    char digest[BP_DIGEST_MAX]);

/* Room for NAME@DIGEST: a name (at most 255 characters), '@', a digest. */
#define BP_PINNED_MAX (256 + BP_DIGEST_MAX)

/*
 * What a pull wrote, for bp_pull_image(). digest: as bp_pull()'s. Into the
 * Docker daemon only (else "" and 0): image_id, the ID the daemon gives
 * the loaded image, which `docker run` takes to run exactly that image
 * (the config digest; a containerd-backed store names images by the
 * manifest digest instead); pinned, the digest-pinned reference of the
 * repository the image was loaded into (NAME@DIGEST, the one a push
 * prints); pinned_found, 1 when the daemon finds the image by pinned too.
 * podman does; Docker 20.10 records no digest for an image it loads, so
 * that `docker run NAME@DIGEST` would not find it and go to the registry.
 */
typedef struct {
	char digest[BP_DIGEST_MAX];
	char image_id[BP_DIGEST_MAX];
	char pinned[BP_PINNED_MAX];
	int pinned_found;
} bp_pull_result;

/*
 * bp_pull(), and out (cleared first) says what was written. A pull into
 * the daemon asks it, once the image is loaded, for the image's ID (by
 * its name, or by its config digest when it is loaded untagged): an ID
 * that is neither the pulled config's nor its manifest's digest is
 * BP_ERROR, naming both.
 */
int bp_pull_image(bp_client *c, const bp_reference *src, const char *dest, bp_pull_result *out);

/*
 * Copy src to dst, registry to registry, without touching the disk: blobs
 * the destination has are skipped, blobs of the same registry are
 * mounted, the others streamed from the source into the destination and
 * committed only when they hash to their digests. An index is copied
 * whole unless opts.platform picks one of its manifests. Errors name the
 * side (source or destination) they come from. digest gets the digest of
 * the manifest put under dst.
 *
 * Unless opts.no_referrers, the referrers of each manifest put (the
 * image; an index and its images) follow it: cosign's tags sha256-<hex>
 * .sig, .att and .sbom, copied under the same tag when the source's
 * differs, and the manifests the source lists as its referrers (its
 * referrers API, else the index under the referrers tag sha256-<hex>),
 * each fetched by digest, checked to name it as subject and copied by
 * digest, their own referrers after them (BP_EVENT_REFERRER says each).
 * On a destination without the referrers API the index under the
 * referrers tag there is read, merged and put back with If-Match; a tag
 * that holds no index is not overwritten (BP_EPROTO). When carrying them
 * fails, the image is on the destination and the error says so.
 */
int bp_copy(bp_client *c, const bp_reference *src, const bp_reference *dst,
	    char digest[BP_DIGEST_MAX]);

/* What became of one tag in bp_copy_tags(). */
typedef enum {
	BP_COPY_COPIED,	 /* its manifest was put on the destination, after all it names */
	BP_COPY_PRESENT, /* the destination's tag named the source's manifest already */
	BP_COPY_FAILED,	 /* error and message say why */
	BP_COPY_SKIPPED	 /* not tried: a tag failed first, or the source's rate limit ran out */
} bp_copy_status;

typedef struct {
	const char *tag;
	bp_copy_status status;
	/* COPIED, PRESENT: the manifest under the tag; else the source's, when known, or "" */
	char digest[BP_DIGEST_MAX];
	int error;	     /* FAILED, SKIPPED: a BP_E* code; else 0 */
	const char *message; /* FAILED, SKIPPED: why; else NULL */
} bp_copy_tag_result;

/*
 * What bp_copy_tags() did: one entry per tag chosen, in the source's
 * order. Every pointer is borrowed from the result and lives until
 * bp_copy_tags_result_free(). Tags and messages are as the registry sent
 * them (tags are checked against the tag grammar): a renderer for a
 * terminal must make control characters harmless.
 */
typedef struct {
	const bp_copy_tag_result *tags;
	size_t ntags;
	size_t listed; /* tags the source listed, chosen or not */
	size_t ncopied, npresent, nfailed, nskipped;
} bp_copy_tags_result;

/*
 * How bp_copy_tags() chooses and copies. Fill one from
 * BP_COPY_TAGS_OPTIONS_INIT (or bp_copy_tags_options_init()), as for
 * bp_client_options.
 */
typedef struct {
	unsigned int version; /* BP_COPY_TAGS_OPTIONS_VERSION */
	/* a POSIX extended regular expression a tag's whole name must match; NULL: every tag */
	const char *regex;
	int keep_going; /* 1: copy every tag it can; 0: stop at the first failure */
	int images;	/* images copied at once; 0: the client's opts.jobs */
	/*
	 * Seconds to wait at most, in all, for the source's rate limit to let
	 * more manifest GETs through; 0: do not wait, stop when it runs out.
	 */
	int64_t ratelimit_wait;
} bp_copy_tags_options;

/* The layout of bp_copy_tags_options this header describes. */
#define BP_COPY_TAGS_OPTIONS_VERSION 1

/* The defaults: every tag, stop at the first failure, opts.jobs images at once, no waiting. */
#define BP_COPY_TAGS_OPTIONS_INIT                   \
	{                                            \
		.version = BP_COPY_TAGS_OPTIONS_VERSION \
	}

/* The longest wait ratelimit_wait may ask for: a day. */
#define BP_COPY_RATELIMIT_WAIT_MAX (24 * 3600)

/* At most this many tags are listed: a tag list that never ends stops here (BP_EPROTO). */
#define BP_COPY_TAGS_MAX 100000

/*
 * Fill opts with the defaults of BP_COPY_TAGS_OPTIONS_INIT. Pass
 * BP_COPY_TAGS_OPTIONS_VERSION as version. BP_EINVAL, with opts untouched,
 * when version is not one this library knows.
 */
int bp_copy_tags_options_init(bp_copy_tags_options *opts, unsigned int version);

/*
 * Copy the tags of the repository src names (its tag, if any, is
 * ignored) that opts->regex chooses (opts NULL: the defaults) into the
 * repository dst names, each as bp_copy() copies one, opts->images at
 * once. The source's tags are listed page by page (at most
 * BP_COPY_TAGS_MAX), then each is resolved by a HEAD on the source and one
 * on the destination: a tag whose digests agree costs nothing more but
 * the look for its referrers (the client's opts.no_referrers: none). The
 * others are copied: a manifest GET by the digest the HEAD gave, the blobs
 * the destination lacks (a blob two images share moves once), the
 * manifest PUT; a tag counts as copied only once that PUT succeeded.
 * Unless opts.no_referrers, the tags of the referrers tag schema and
 * cosign's (sha256-<hex>, and .sig, .att, .sbom) are not copied as tags:
 * they go with their images.
 *
 * The rate limit the source states (RateLimit-Remaining, Docker Hub's) is
 * followed: it counts manifest GETs, and no GET is sent that it would
 * refuse. When it runs out, the rest wait for it to refill, polling with
 * HEADs (announced with BP_EVENT_RETRY, for at most
 * opts->ratelimit_wait seconds in all), or are skipped with a message that
 * says when the window ends.
 *
 * Without opts->keep_going the first failure stops the run: the tags
 * being copied then are finished, the others skipped. *out (free with
 * bp_copy_tags_result_free()) says what became of each tag; it is NULL
 * when no tag was tried.
 *
 * 0 when every tag chosen is on the destination. Else, with *out: the
 * first failure's error, its message "TAG: why" (keep_going: BP_ERROR, "N
 * of M tags not copied"), or BP_ERROR when the rate limit stopped the
 * run. Without *out: BP_EINVAL for a regex that does not compile (the
 * message names it) or opts not made from BP_COPY_TAGS_OPTIONS_INIT;
 * BP_ENOTFOUND when the repository does not exist, lists no tag, or no
 * tag matches; BP_EPROTO when its tag list never ends; the error of
 * opening either registry.
 */
int bp_copy_tags(bp_client *c, const bp_reference *src, const bp_reference *dst,
		 const bp_copy_tags_options *opts, bp_copy_tags_result **out);

/* Free r; NULL is fine. */
void bp_copy_tags_result_free(bp_copy_tags_result *r);

/*
 * 0 when a Docker daemon answers on $DOCKER_HOST (unix://) or
 * /var/run/docker.sock; else an error whose message says why (BP_ENOTFOUND
 * when there is no socket).
 */
int bp_daemon_check(void);

/*
 * Check creds against the registry at host ("docker.io", "reg:5000") the
 * way a push authenticates: ping, challenge, then a token (asking for a
 * refresh token) or Basic. BP_EAUTH when the registry refuses them. When
 * the token service issues a refresh token, *identity_token gets it (new
 * string, to be stored with username "<token>" instead of the password);
 * else NULL.
 */
int bp_login(bp_client *c, const char *host, const bp_credentials *creds,
	     char **identity_token);

#endif
