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

#include "client.h"
#include "jobs.h"
#include "registry.h"
#include "steps.h"
#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_DEPTH_MAX 2

typedef struct {
	bp_registry *src;
	bp_dest dst;
	const bp_reference *sref, *dref;
} copy_ctx;

/* One blob on its way: a GET on the source feeding an upload on the destination. */
typedef struct {
	copy_ctx *x;
	bp_upload *u;
	const bp_descriptor *d;
	bp_client *c;
	const char *kind;
	int64_t got;
	int dst_failed; /* the error came from the destination's side */
	int named;	/* the error's message is final: it names its side, or needs none */
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
		return bp_error_set(BP_EINTEGRITY,
				    "blob %s: registry sent more than its %lld bytes", s->d->digest,
				    (long long)s->d->size);
	if ((err = bp_registry__upload_write(s->u, data, len))) {
		s->dst_failed = 1;
		return err;
	}
	s->got += (int64_t)len;
	bp_client__emit(s->c, BP_EVENT_BLOB_PROGRESS, s->d->digest, s->kind, s->got, s->d->size,
			NULL);
	return 0;
}

/* Begin the upload on the destination, before the blob is announced. */
static int stream_open(bp_client *c, bp_dest *dst, bp_blob_step *b, void *payload)
{
	copy_sink *s = payload;
	int err;

	err = bp_registry__upload_begin(
		dst->reg, dst->repo,
c->stream_chunk, NULL, NULL, &s->u);
	s->named = 1;
	if (err)
		return side_error(err, "destination", s->x->dref);
	bp_registry__upload_expect(s->u, s->d->digest);
	return 0;
}

/* Stream one blob from the source into the upload. */
static int stream_send(bp_client *c, bp_dest *dst, bp_blob_step *b, void *payload)
{
	copy_sink *s = payload;
	copy_ctx *x = s->x;
	const bp_descriptor *d = s->d;
	char got[BP_DIGEST_MAX] = "";
	int64_t size, have;
	int err, tries;

	/* a download cut off goes on from where it stopped: the upload never saw a gap */
	for (tries = 0;; tries++) {
		have = s->got;
		err = bp_registry__blob_get(x->src, bp_reference_path(x->sref), d->digest, d->size,
					    have, copy_sink_write, s);
		if (err != BP_ENET || s->dst_failed || have >= d->size ||
		    tries >= c->opts.retries || s->got == have)
			break;
		bp_client__debug(c, "blob %s: cut off at byte %lld, resuming", d->digest,
				 (long long)s->got);
	}
	if (err)
		return side_error(err, s->dst_failed ? "destination" : "source",
				  s->dst_failed ? x->dref : x->sref);
	if (s->got != d->size)
		return bp_error_set(BP_EINTEGRITY,
				    "blob %s: source sent %lld bytes, its descriptor "
				    "says %lld",
				    d->digest, (long long)s->got, (long long)d->size);
	/* finish commits only bytes that hash to the descriptor's digest */
	if ((err = bp_registry__upload_finish(s->u, got, &size))) {
		/* bytes that hash wrong came from the source; a wrong answer to the PUT, not */
		int source = err == BP_EINTEGRITY && !bp_digest_equal(got, d->digest);

		return side_error(err, source ? "source" : "destination",
				  source ? x->sref : x->dref);
	}
	bp_strlcpy(b->out_digest, d->digest, BP_DIGEST_MAX);
	b->out_size = d->size;
	return 0;
}

/* An upload not finished is cancelled. */
static void stream_close(void *payload)
{
	copy_sink *s = payload;

	bp_registry__upload_free(s->u);
	s->u = NULL;
}

static const bp_blob_source stream_source = { stream_open, stream_send, stream_close, 0 };

static int copy_blob(bp_client *c, job *j)
{
	copy_ctx *x = j->ctx;
	copy_sink s = { x, NULL, j->desc, c, j->kind, 0, 0, 0 };
	bp_blob_step b;
	int err;

	bp_steps__blob_init(&b, j->desc->digest, j->desc->size, j->kind, &stream_source, &s);
	/* the source holds it: mounted from there on one registry, and the cache learns it */
	b.from_domain = bp_reference_domain(x->sref);
	b.from_repo = bp_reference_path(x->sref);
	err = bp_steps__blob_put(c, &x->dst, &b);
	if (err && !s.named)
		side_error(err, "destination", x->dref);
	return err;
}

/*
 * Copy the manifest ref names (a tag, or a digest when by_digest) and all
 * it references; put it on the destination under put_ref (a tag) or its
 * digest. out gets the digest of the manifest put.
 */
static int copy_manifest(bp_client *c, copy_ctx *x, const char *ref, int by_digest,
			 const char *put_ref, int depth, char out[BP_DIGEST_MAX])
{
	bp_fetched f = { NULL, 0, NULL, "", NULL };
	job *jobs = NULL;
	size_t n, i;
	int err, index;

	if (depth > COPY_DEPTH_MAX)
		return bp_error_set(BP_EUNSUPPORTED, "manifest %s: indexes nested too deep", ref);
	err = bp_steps__manifest_fetch(x->src, bp_reference_path(x->sref), ref, by_digest,
				       BP_FETCH_PARSE, NULL, &f);
	if (err) {
		side_error(err, "source", x->sref);
		goto done;
	}
	index = bp_manifest_kind_is_index(bp_manifest_kind_get(f.m));
	if (index && c->opts.platform && depth == 0) {
		const bp_descriptor *pick;

		if (!(err = bp_steps__platform_pick(c, f.m, f.digest, c->opts.platform,
						    bp_reference_string(x->sref), &pick)))
			err = copy_manifest(c, x, pick->digest, 1, put_ref, depth + 1, out);
		goto done;
	}
	if (bp_steps__manifest_there(c, &x->dst, f.m, put_ref ? put_ref : f.digest, f.digest)) {
		bp_strlcpy(out, f.digest, BP_DIGEST_MAX);
		goto done;
	}
	if (index) {
		for (i = 0; i < bp_manifest_count(f.m); i++) {
			char child[BP_DIGEST_MAX];

			err = copy_manifest(c, x, bp_manifest_item(f.m, i)->digest, 1, NULL,
					    depth + 1, child);
			if (err)
				goto done;
		}
	} else {
		if (!(jobs = bp_steps__image_jobs(f.m, x, &n))) {
			err = BP_ENOMEM;
			goto done;
		}
		if ((err = bp_jobs__run(c, jobs, n, copy_blob)))
			goto done;
	}
	/* the destination must have stored exactly the source's bytes */
	err = bp_steps__manifest_put(c, &x->dst, put_ref, f.bytes, f.len,
				     bp_manifest_media_type(f.m), f.digest,
				     index ? "index" : "manifest");
	if (err) {
		side_error(err, "destination", x->dref);
		goto done;
	}
	bp_strlcpy(out, f.digest, BP_DIGEST_MAX);
done:
	free(jobs);
	bp_steps__fetched_release(&f);
	return err;
}

/* See client.h. */
int bp_copy(bp_client *c, const bp_reference *src, const bp_reference *dst,
	    char digest[BP_DIGEST_MAX])
{
	copy_ctx x = { NULL, { NULL, NULL, NULL, NULL }, src, dst };
	const char *pin = bp_reference_digest(dst);
	int err;

	if ((err = bp_client__open_registry(c, bp_reference_domain(src), NULL, 0, &x.src))) {
		side_error(err, "source", src);
		goto done;
	}
	if ((err = bp_steps__dest_open(c, &x.dst, dst))) {
		side_error(err, "destination", dst);
		goto done;
	}
	err = copy_manifest(c, &x, bp_reference_object(src), bp_reference_digest(src) != NULL,
			    bp_reference_tag(dst), 0, digest);
	if (!err && pin && !bp_digest_equal(pin, digest))
		err = bp_error_set(BP_EINVAL, "%s names digest %s, but the copied manifest is %s",
				   bp_reference_string(dst), pin, digest);
done:
	bp_steps__dest_close(c, &x.dst);
	bp_registry__free(x.src);
	return err;
}
