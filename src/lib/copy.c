/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy: registry to registry, through memory only. Each blob the
 * destination lacks is mounted (same registry) or streamed from a GET on
 * the source into a chunked upload on the destination, hashed on the way
 * and committed only when it hashes to its descriptor's digest. An index
 * is copied whole (each platform's manifest, then the index) unless a
 * platform is asked for. A copy of many tags (copy_tags.c) runs this
 * engine once per tag, several at once, sharing a ledger of blobs. The
 * manifests put are noted, for their referrers to follow them
 * (copy_referrers.c).
 */
#include <beampush/client.h>
#include <beampush/manifest.h>

#include "client.h"
#include "copy.h"
#include "jobs.h"
#include "registry.h"
#include "steps.h"
#include "util/strutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_DEPTH_MAX 2

typedef bp_copy_ctx copy_ctx;

/* ---- the ledger: each blob of a run moves once ---- */

enum { LEDGER_NONE, LEDGER_MOVING, LEDGER_DONE };

typedef struct {
	char *digest;
	int state;
} ledger_entry;

/* Open addressing on the digest; an entry stays once made (a failed move leaves it NONE). */
struct bp_copy_ledger {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	ledger_entry *v;
	size_t cap, n;
};

/* See copy.h. */
int bp_copy__ledger_new(bp_copy_ledger **out)
{
	bp_copy_ledger *l = calloc(1, sizeof(*l));

	if (!l || !(l->v = calloc(64, sizeof(*l->v)))) {
		free(l);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	l->cap = 64;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->changed, NULL);
	*out = l;
	return 0;
}

/* See copy.h. */
void bp_copy__ledger_free(bp_copy_ledger *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->cap; i++)
		free(l->v[i].digest);
	free(l->v);
	pthread_cond_destroy(&l->changed);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static size_t ledger_hash(const char *s)
{
	size_t h = 1469598103u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The entry of digest in v (cap a power of two): its own, or the empty one where it goes. */
static ledger_entry *ledger_slot(ledger_entry *v, size_t cap, const char *digest)
{
	size_t i = ledger_hash(digest) & (cap - 1);

	while (v[i].digest && strcmp(v[i].digest, digest) != 0)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* Room for one more entry, the table kept at most half full; 0 or -1. */
static int ledger_grow(bp_copy_ledger *l)
{
	ledger_entry *v;
	size_t i;

	if ((l->n + 1) * 2 <= l->cap)
		return 0;
	if (!(v = calloc(l->cap * 2, sizeof(*v))))
		return -1;
	for (i = 0; i < l->cap; i++)
		if (l->v[i].digest)
			*ledger_slot(v, l->cap * 2, l->v[i].digest) = l->v[i];
	free(l->v);
	l->v = v;
	l->cap *= 2;
	return 0;
}

/*
 * 1 when the caller is to move digest (it is marked as moving), 0 when an
 * image of the run has put it on the destination already. Waits while
 * another moves it. Out of memory, the caller moves it unmarked.
 */
static int ledger_claim(bp_copy_ledger *l, const char *digest)
{
	ledger_entry *e;
	int mine = 1;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		e = ledger_slot(l->v, l->cap, digest);
		if (!e->digest) {
			if (ledger_grow(l) < 0)
				break;
			e = ledger_slot(l->v, l->cap, digest);
			if (!(e->digest = bp_strdup(digest)))
				break;
			l->n++;
		}
		if (e->state == LEDGER_MOVING) {
			pthread_cond_wait(&l->changed, &l->lock);
			continue;
		}
		mine = e->state == LEDGER_NONE;
		if (mine)
			e->state = LEDGER_MOVING;
		break;
	}
	pthread_mutex_unlock(&l->lock);
	return mine;
}

/* The move ledger_claim() gave is over: done when ok, else free to be claimed again. */
static void ledger_release(bp_copy_ledger *l, const char *digest, int ok)
{
	ledger_entry *e;

	pthread_mutex_lock(&l->lock);
	e = ledger_slot(l->v, l->cap, digest);
	if (e->digest)
		e->state = ok ? LEDGER_DONE : LEDGER_NONE;
	pthread_cond_broadcast(&l->changed);
	pthread_mutex_unlock(&l->lock);
}

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

	err = bp_registry__upload_begin(dst->reg, dst->repo, c->stream_chunk, NULL, NULL, &s->u);
	s->named = 1;
	if (err)
		return side_error(err, "destination", s->x->dref);
	bp_registry__upload_expect(s->u, s->d->digest);
	return 0;
}

/*
 * One source's try at a blob, streamed into the upload. A source before
 * it may have sent part of the blob: the upload then starts over.
 */
static int stream_from(bp_client *c, bp_source_try *t, void *payload)
{
	copy_sink *s = payload;
	bp_dest *dst = &s->x->dst;
	const bp_descriptor *d = s->d;
	char got[BP_DIGEST_MAX] = "";
	int64_t size, have;
	int err, tries;

	if (s->got > 0) {
		bp_registry__upload_free(s->u);
		s->u = NULL;
		s->got = 0;
		if ((err = bp_registry__upload_begin(dst->reg, dst->repo, c->stream_chunk, NULL,
						     NULL, &s->u))) {
			s->dst_failed = 1;
			t->not_source = 1;
			return err;
		}
		bp_registry__upload_expect(s->u, d->digest);
	}
	/* a download cut off goes on from where it stopped: the upload never saw a gap */
	for (tries = 0;; tries++) {
		have = s->got;
		err = bp_registry__blob_get(t->reg, t->repo, d->digest, d->size, have,
					    copy_sink_write, s);
		if (err != BP_ENET || s->dst_failed || have >= d->size || t->mirror ||
		    tries >= c->opts.retries || s->got == have)
			break;
		bp_client__debug(c, "blob %s: cut off at byte %lld, resuming", d->digest,
				 (long long)s->got);
	}
	if (err) {
		t->not_source = s->dst_failed;
		return err;
	}
	if (s->got != d->size)
		return bp_error_set(BP_EINTEGRITY,
				    "blob %s: source sent %lld bytes, its descriptor "
				    "says %lld",
				    d->digest, (long long)s->got, (long long)d->size);
	/* finish commits only bytes that hash to the descriptor's digest */
	if ((err = bp_registry__upload_finish(s->u, got, &size))) {
		/* bytes that hash wrong came from the source; a wrong answer to the PUT, not */
		if (!(err == BP_EINTEGRITY && !bp_digest_equal(got, d->digest))) {
			s->dst_failed = 1;
			t->not_source = 1;
		}
		s->got = s->got ? s->got : 1; /* the next source needs a new upload */
		return err;
	}
	return 0;
}

/* Stream one blob from the source (its mirrors, else its registry) into the upload. */
static int stream_send(bp_client *c, bp_dest *dst, bp_blob_step *b, void *payload)
{
	copy_sink *s = payload;
	copy_ctx *x = s->x;
	bp_source_try t = { x->src, bp_reference_path(x->sref), NULL, 0, 0 };
	char label[BP_DIGEST_MAX + 8];
	int err;

	snprintf(label, sizeof(label), "blob %s", s->d->digest);
	err = x->sources ? bp_sources__try(x->sources, BP_SOURCE_PULL, label, stream_from, s)
			 : stream_from(c, &t, s);
	if (err)
		return side_error(err, s->dst_failed ? "destination" : "source",
				  s->dst_failed ? x->dref : x->sref);
	bp_strlcpy(b->out_digest, s->d->digest, BP_DIGEST_MAX);
	b->out_size = s->d->size;
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

	/* another image of the run put it there: no request at all */
	if (x->ledger && !ledger_claim(x->ledger, j->desc->digest)) {
		bp_client__emit(c, BP_EVENT_BLOB_EXISTS, j->desc->digest, j->kind, j->desc->size,
				j->desc->size, NULL);
		return 0;
	}
	bp_steps__blob_init(&b, j->desc->digest, j->desc->size, j->kind, &stream_source, &s);
	/* the source holds it: mounted from there on one registry, and the cache learns it */
	b.from_domain = bp_reference_domain(x->sref);
	b.from_repo = bp_reference_path(x->sref);
	err = bp_steps__blob_put(c, &x->dst, &b);
	if (err && !s.named)
		side_error(err, "destination", x->dref);
	if (x->ledger)
		ledger_release(x->ledger, j->desc->digest, err == 0);
	return err;
}

/* GET a manifest from the source, between the run's hooks; see copy.h. */
int bp_copy__fetch(bp_copy_ctx *x, const char *ref, int by_digest, bp_fetched *f)
{
	int err;

	if (x->before_get && (err = x->before_get(ref, x->payload)))
		return err;
	err = x->sources ? bp_steps__manifest_read(x->sources, ref, by_digest, BP_FETCH_PARSE,
						   NULL, f)
			 : bp_steps__manifest_fetch(x->src, bp_reference_path(x->sref), ref,
						    by_digest, BP_FETCH_PARSE, NULL, f);
	if (err)
		side_error(err, "source", x->sref);
	if (x->after_get)
		x->after_get(x->payload);
	return err;
}

/*
 * 1 when the destination has the manifest digest, asked by a HEAD: an
 * index's platform already there costs no GET on the source.
 */
static int digest_there(bp_client *c, copy_ctx *x, const char *digest)
{
	char got[BP_DIGEST_MAX] = "";

	if (bp_registry__manifest_get(x->dst.reg, x->dst.repo, digest, NULL, NULL, NULL, got) ||
	    (got[0] && !bp_digest_equal(got, digest))) {
		bp_error_clear();
		return 0;
	}
	bp_client__emit(c, BP_EVENT_BLOB_EXISTS, digest, "manifest", 0, 0, NULL);
	return 1;
}

/* The manifest digest is on the destination: its referrers follow, when they are carried. */
static void carried(copy_ctx *x, const char *digest)
{
	if (x->carry)
		bp_copy__carry_note(x->carry, digest);
}

static int copy_manifest(bp_client *c, copy_ctx *x, const char *ref, int by_digest,
			 const char *put_ref, int checked, int depth, char out[BP_DIGEST_MAX]);

/* Copy what f holds (its children or blobs first), then PUT it; x learns the answer. */
static int copy_fetched(bp_client *c, copy_ctx *x, const bp_fetched *f, const char *put_ref,
			int depth, bp_manifest_extra *extra, char out[BP_DIGEST_MAX])
{
	job *jobs = NULL;
	size_t n, i;
	int err, index = bp_manifest_kind_is_index(bp_manifest_kind_get(f->m));

	if (index) {
		for (i = 0; i < bp_manifest_count(f->m); i++) {
			char child[BP_DIGEST_MAX];

			err = copy_manifest(c, x, bp_manifest_item(f->m, i)->digest, 1, NULL, 0,
					    depth + 1, child);
			if (err)
				goto done;
		}
	} else {
		if (!(jobs = bp_steps__image_jobs(f->m, x, &n))) {
			err = BP_ENOMEM;
			goto done;
		}
		if ((err = bp_jobs__run_wide(c, jobs, n, copy_blob,
					     bp_registry__multiplexed(x->dst.reg))))
			goto done;
	}
	/* the destination must have stored exactly the source's bytes */
	err = bp_steps__manifest_put_ex(c, &x->dst, put_ref, f->bytes, f->len,
					bp_manifest_media_type(f->m), f->digest,
					index ? "index" : "manifest", extra);
	if (err) {
		side_error(err, "destination", x->dref);
		goto done;
	}
	carried(x, f->digest);
	bp_strlcpy(out, f->digest, BP_DIGEST_MAX);
done:
	free(jobs);
	return err;
}

static int copy_manifest(bp_client *c, copy_ctx *x, const char *ref, int by_digest,
			 const char *put_ref, int checked, int depth, char out[BP_DIGEST_MAX])
{
	bp_fetched f = { NULL, 0, NULL, "", NULL };
	size_t i;
	int err, index;

	if (depth > COPY_DEPTH_MAX)
		return bp_error_set(BP_EUNSUPPORTED, "manifest %s: indexes nested too deep", ref);
	/* a manifest put by its digest is there or not: asked before it is fetched */
	if (by_digest && !put_ref && digest_there(c, x, ref)) {
		carried(x, ref);
		bp_strlcpy(out, ref, BP_DIGEST_MAX);
		return 0;
	}
	if ((err = bp_copy__fetch(x, ref, by_digest, &f)))
		goto done;
	index = bp_manifest_kind_is_index(bp_manifest_kind_get(f.m));
	if (index && c->opts.platform && depth == 0) {
		const bp_descriptor *pick;

		if (!(err = bp_steps__platform_pick(c, f.m, f.digest, c->opts.platform,
						    bp_reference_string(x->sref), &pick)))
			err = copy_manifest(c, x, pick->digest, 1, put_ref, 0, depth + 1, out);
		goto done;
	}
	/* (by digest and put by it, digest_there() asked already) */
	if (!checked && !(by_digest && !put_ref) &&
	    bp_steps__manifest_there(c, &x->dst, f.m, put_ref ? put_ref : f.digest, f.digest)) {
		/* an index there has its children there: their referrers follow all the same */
		carried(x, f.digest);
		for (i = 0; index && i < bp_manifest_count(f.m); i++)
			carried(x, bp_manifest_item(f.m, i)->digest);
		bp_strlcpy(out, f.digest, BP_DIGEST_MAX);
		goto done;
	}
	err = copy_fetched(c, x, &f, put_ref, depth, NULL, out);
done:
	bp_steps__fetched_release(&f);
	return err;
}

/* See copy.h. */
int bp_copy__fetched(bp_client *c, bp_copy_ctx *x, const bp_fetched *f, const char *put_ref,
		     bp_manifest_extra *extra, char out[BP_DIGEST_MAX])
{
	return copy_fetched(c, x, f, put_ref, 0, extra, out);
}

/* See copy.h. */
int bp_copy__manifest(bp_client *c, bp_copy_ctx *x, const char *ref, int by_digest,
		      const char *put_ref, int checked, char out[BP_DIGEST_MAX])
{
	return copy_manifest(c, x, ref, by_digest, put_ref, checked, 0, out);
}

/* See client.h. */
int bp_copy(bp_client *c, const bp_reference *src, const bp_reference *dst,
	    char digest[BP_DIGEST_MAX])
{
	copy_ctx x;
	const char *pin = bp_reference_digest(dst);
	bp_sources sources;
	int err;

	memset(&x, 0, sizeof(x));
	x.sref = src;
	x.dref = dst;
	/* the source is read through its mirrors, each opened when first asked */
	x.sources = &sources;
	if ((err = bp_sources__open(c, src, &sources))) {
		side_error(err, "source", src);
		goto done;
	}
	if (!c->opts.no_referrers && (err = bp_copy__carry_new(&x.carry)))
		goto done;
	if ((err = bp_steps__dest_open(c, &x.dst, dst))) {
		side_error(err, "destination", dst);
		goto done;
	}
	err = copy_manifest(c, &x, bp_reference_object(src), bp_reference_digest(src) != NULL,
			    bp_reference_tag(dst), 0, 0, digest);
	if (!err && pin && !bp_digest_equal(pin, digest))
		err = bp_error_set(BP_EINVAL, "%s names digest %s, but the copied manifest is %s",
				   bp_reference_string(dst), pin, digest);
	if (!err && x.carry && (err = bp_copy__referrers(c, &x, x.carry)))
		bp_error_prefix("%s is copied (%s), its referrers are not", bp_reference_string(dst),
				digest);
done:
	bp_copy__carry_free(x.carry);
	bp_steps__dest_close(c, &x.dst);
	bp_sources__close(&sources);
	return err;
}
