/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy: registry to registry, through memory only. Each blob the
 * destination lacks is mounted (same registry) or streamed from a GET on
 * the source into a chunked upload on the destination, hashed on the way
 * and committed only when it hashes to its descriptor's digest. An index
 * is copied whole (each platform's manifest, then the index) unless a
 * platform is asked for.
 */
#include <beampush/client.h>
#include <beampush/manifest.h>

#include "cache.h"
#include "client.h"
#include "jobs.h"
#include "registry.h"
#include "transfer.h"
#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_DEPTH_MAX 2

typedef struct {
	bp_registry *src, *dst;
	const bp_reference *sref, *dref;
	int same;        /* one registry: blobs are mounted, not moved */
	bp_cache *cache; /* which repositories hold which blobs; may be NULL */
} copy_ctx;

typedef struct {
	bp_upload *u;
	const bp_descriptor *d;
	bp_client *c;
	const char *kind;
	int64_t got;
	int dst_failed;  /* the error came from the destination's side */
} copy_sink;

/* Name the side an error came from: with two registries, "which one" is the question. */
static int side_error(int err, const char *side, const bp_reference *r)
{
	bp_error_prefix("%s %s", side, bp_reference_name(r));
	return err;
}

static int copy_sink_write(const void *data, size_t len, void *payload)
{
	copy_sink *s = payload;
	int err;

	/* never take more than the descriptor promised */
	if ((int64_t)len > s->d->size - s->got)
		return bp_error_set(BP_EINTEGRITY, "blob %s: registry sent more than its %lld bytes",
				    s->d->digest, (long long)s->d->size);
	if ((err = bp_registry__upload_write(s->u, data, len))) {
		s->dst_failed = 1;
		return err;
	}
	s->got += (int64_t)len;
	bp_client__emit(s->c, BP_EVENT_BLOB_PROGRESS, s->d->digest, s->kind, s->got, s->d->size,
			NULL);
	return 0;
}

static void remember(copy_ctx *x, const char *digest)
{
	if (!x->cache)
		return;
	bp_cache__add_repo(x->cache, bp_reference_domain(x->sref), digest, bp_reference_path(x->sref));
	bp_cache__add_repo(x->cache, bp_reference_domain(x->dref), digest, bp_reference_path(x->dref));
}

/* Stream one blob from the source into an upload on the destination. */
static int stream_blob(bp_client *c, copy_ctx *x, const bp_descriptor *d, const char *kind)
{
	copy_sink s = { NULL, d, c, kind, 0, 0 };
	char got[BP_DIGEST_MAX] = "";
	int64_t size, have;
	int err, tries;

	err = bp_registry__upload_begin(x->dst, bp_reference_path(x->dref),
					c->opts.chunk_size < BP_STREAM_CHUNK_MAX ? c->opts.chunk_size
										 : BP_STREAM_CHUNK_MAX,
					NULL, NULL, &s.u);
	if (err)
		return side_error(err, "destination", x->dref);
	bp_registry__upload_expect(s.u, d->digest);
	bp_client__emit(c, BP_EVENT_BLOB_START, d->digest, kind, 0, d->size, NULL);
	/* a download cut off goes on from where it stopped: the upload never saw a gap */
	for (tries = 0;; tries++) {
		have = s.got;
		err = bp_registry__blob_get(x->src, bp_reference_path(x->sref), d->digest, have,
					    copy_sink_write, &s);
		if (err != BP_ENET || s.dst_failed || have >= d->size || tries >= c->opts.retries ||
		    s.got == have)
			break;
		bp_client__debug(c, "blob %s: cut off at byte %lld, resuming", d->digest,
				 (long long)s.got);
	}
	if (err) {
		side_error(err, s.dst_failed ? "destination" : "source", s.dst_failed ? x->dref : x->sref);
		goto done;
	}
	if (s.got != d->size) {
		err = bp_error_set(BP_EINTEGRITY, "blob %s: source sent %lld bytes, its descriptor "
				   "says %lld", d->digest, (long long)s.got, (long long)d->size);
		goto done;
	}
	/* finish commits only bytes that hash to the descriptor's digest */
	if ((err = bp_registry__upload_finish(s.u, got, &size))) {
		/* bytes that hash wrong came from the source; a wrong answer to the PUT, not */
		int source = err == BP_EINTEGRITY && !bp_digest_equal(got, d->digest);

		side_error(err, source ? "source" : "destination", source ? x->sref : x->dref);
	}
done:
	/* an upload not finished is cancelled */
	bp_registry__upload_free(s.u);
	return err;
}

static int copy_blob(bp_client *c, job *j)
{
	copy_ctx *x = j->ctx;
	const bp_descriptor *d = j->desc;
	const char *repo = bp_reference_path(x->dref);
	int64_t have = -1;
	int err;

	err = bp_registry__blob_exists(x->dst, repo, d->digest, &have);
	if (err == 0 && (have < 0 || have == d->size)) {
		bp_client__emit(c, BP_EVENT_BLOB_EXISTS, d->digest, j->kind, d->size, d->size, NULL);
		remember(x, d->digest);
		return 0;
	}
	if (err && err != BP_ENOTFOUND)
		return side_error(err, "destination", x->dref);
	if (x->same) {
		const char *from = bp_reference_path(x->sref);
		char msg[300];

		if (bp_registry__blob_mount(x->dst, repo, d->digest, from, NULL) == 0) {
			snprintf(msg, sizeof(msg), "mounted from %s", from);
			bp_client__emit(c, BP_EVENT_BLOB_EXISTS, d->digest, j->kind, d->size, d->size,
					msg);
			remember(x, d->digest);
			return 0;
		}
		bp_client__debug(c, "blob %s: mount from %s refused: %s", d->digest, from,
				 bp_error_last());
		bp_error_clear();
	} else if (bp_client__try_mount(c, x->dst, x->cache, bp_reference_domain(x->dref), repo,
					d->digest, j->kind, d->size, NULL)) {
		remember(x, d->digest);
		return 0;
	}
	if ((err = stream_blob(c, x, d, j->kind)))
		return err;
	bp_client__emit(c, BP_EVENT_BLOB_DONE, d->digest, j->kind, d->size, d->size, NULL);
	remember(x, d->digest);
	return 0;
}

/*
 * Copy the manifest ref names (a tag, or a digest when by_digest) and all
 * it references; put it on the destination under put_ref (a tag) or its
 * digest. out gets the digest of the manifest put.
 */
static int copy_manifest(bp_client *c, copy_ctx *x, const char *ref, int by_digest,
			 const char *put_ref, int depth, char out[BP_DIGEST_MAX])
{
	bp_manifest *m = NULL;
	char *bytes = NULL, *ctype = NULL, digest[BP_DIGEST_MAX], got[BP_DIGEST_MAX];
	job *jobs = NULL;
	size_t len, n, i;
	int err, index;

	if (depth > COPY_DEPTH_MAX)
		return bp_error_set(BP_EUNSUPPORTED, "manifest %s: indexes nested too deep", ref);
	err = bp_transfer__fetch_manifest(x->src, bp_reference_path(x->sref), ref, by_digest, &bytes,
					  &len, &ctype, digest);
	if (err) {
		side_error(err, "source", x->sref);
		goto done;
	}
	if ((err = bp_manifest_parse(&m, bytes, len, ctype))) {
		bp_error_prefix("source %s: manifest %s", bp_reference_name(x->sref), digest);
		goto done;
	}
	index = bp_manifest_kind_is_index(bp_manifest_kind_get(m));
	if (!(index && c->opts.platform && depth == 0) &&
	    bp_transfer__manifest_there(c, x->dst, bp_reference_path(x->dref), m,
					put_ref ? put_ref : digest, digest)) {
		bp_strlcpy(out, digest, BP_DIGEST_MAX);
		goto done;
	}
	if (index && c->opts.platform && depth == 0) {
		const bp_descriptor *pick;

		if ((err = bp_manifest_select_platform(m, c->opts.platform, &pick))) {
			bp_error_prefix("%s", bp_reference_string(x->sref));
			goto done;
		}
		bp_client__debug(c, "index %s: platform %s is %s", digest, c->opts.platform,
				 pick->digest);
		err = copy_manifest(c, x, pick->digest, 1, put_ref, depth + 1, out);
		goto done;
	}
	if (index) {
		for (i = 0; i < bp_manifest_count(m); i++) {
			char child[BP_DIGEST_MAX];

			err = copy_manifest(c, x, bp_manifest_item(m, i)->digest, 1, NULL, depth + 1,
					    child);
			if (err)
				goto done;
		}
	} else {
		if (!(jobs = bp_transfer__image_jobs(m, x, &n))) {
			err = BP_ENOMEM;
			goto done;
		}
		if ((err = bp_jobs__run(c, jobs, n, copy_blob)))
			goto done;
	}
	err = bp_registry__manifest_put(x->dst, bp_reference_path(x->dref), put_ref ? put_ref : digest,
					bytes, len, bp_manifest_media_type(m), got);
	if (err) {
		side_error(err, "destination", x->dref);
		goto done;
	}
	/* the destination must have stored exactly the source's bytes */
	if (got[0] && !bp_digest_equal(got, digest)) {
		err = bp_error_set(BP_EINTEGRITY, "destination %s: manifest %s stored as %s",
				   bp_reference_name(x->dref), digest, got);
		goto done;
	}
	bp_client__emit(c, BP_EVENT_MANIFEST, digest, index ? "index" : "manifest", (int64_t)len,
			(int64_t)len, NULL);
	bp_strlcpy(out, digest, BP_DIGEST_MAX);
done:
	free(jobs);
	bp_manifest_free(m);
	free(bytes);
	free(ctype);
	return err;
}

/* See client.h. */
int bp_copy(bp_client *c, const bp_reference *src, const bp_reference *dst,
	    char digest[BP_DIGEST_MAX])
{
	copy_ctx x = { NULL, NULL, src, dst, 0, NULL };
	const char *pin = bp_reference_digest(dst);
	int err;

	x.same = strcmp(bp_reference_domain(src), bp_reference_domain(dst)) == 0;
	if (bp_cache__open(&x.cache))
		x.cache = NULL;
	if ((err = bp_client__open_registry(c, bp_reference_domain(src), NULL, 0, &x.src))) {
		side_error(err, "source", src);
		goto done;
	}
	if ((err = bp_client__open_registry(c, bp_reference_domain(dst), NULL, 1, &x.dst))) {
		side_error(err, "destination", dst);
		goto done;
	}
	err = copy_manifest(c, &x, bp_reference_object(src), bp_reference_digest(src) != NULL,
			    bp_reference_tag(dst), 0, digest);
	if (!err && pin && !bp_digest_equal(pin, digest))
		err = bp_error_set(BP_EINVAL, "%s names digest %s, but the copied manifest is %s",
				   bp_reference_string(dst), pin, digest);
done:
	if (x.cache && bp_cache__save(x.cache))
		bp_client__debug(c, "cache not saved: %s", bp_error_last());
	bp_cache__free(x.cache);
	bp_registry__free(x.src);
	bp_registry__free(x.dst);
	return err;
}
