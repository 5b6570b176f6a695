/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A copy carries the referrers of what it copies. For each manifest it
 * put on the destination (an image, an index and each of its children):
 *
 *   - cosign's tags beside it, sha256-<hex>.sig, .att and .sbom (its
 *     signatures, attestations and SBOMs: what `cosign copy` carries),
 *     asked for by a HEAD on each side and copied under the same tag when
 *     the source's differs;
 *   - the manifests the source lists as its referrers (the referrers API,
 *     or the index under its referrers tag), each fetched by its digest,
 *     checked to name it as subject, and copied by digest, blobs verified
 *     as any copy's;
 *   - on a destination without the referrers API (its answer to the PUT
 *     of a manifest with a subject has no OCI-Subject header), the index
 *     under the subject's referrers tag there, merged with what it lists.
 *
 * The referrers of the referrers follow, round after round, at most
 * COPY_REFERRERS_DEPTH deep; a manifest is visited once. The manifests
 * of one round are worked on at once, as light jobs.
 */
#include <beampush/client.h>
#include <beampush/manifest.h>

#include "client.h"
#include "copy.h"
#include "jobs.h"
#include "referrers.h"
#include "registry.h"
#include "sources.h"
#include "steps.h"
#include "util/strutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rounds of referrers after the images: a signature of an SBOM of an image is two. */
#define COPY_REFERRERS_DEPTH 3

/* cosign's tag schema: sha256-<hex> and the suffix of what the tag holds. */
static const struct {
	const char *suffix, *kind;
} cosign_tags[] = {
	{ ".sig", "signature" },
	{ ".att", "attestation" },
	{ ".sbom", "sbom" },
};

struct bp_copy_carry {
	char **v; /* the manifests noted, in order */
	size_t n, cap;
	bp_digest_set seen;
	int nomem;
};

/* See copy.h. */
int bp_copy__carry_new(bp_copy_carry **out)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

/* See copy.h. */
void bp_copy__carry_free(bp_copy_carry *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	bp_referrers__set_release(&k->seen);
	free(k);
}

/* See copy.h. */
void bp_copy__carry_note(bp_copy_carry *k, const char *digest)
{
	int fresh = bp_referrers__set_add(&k->seen, digest);

	if (fresh == 0)
		return;
	if (fresh < 0)
		goto nomem;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		char **v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			goto nomem;
		k->v = v;
		k->cap = cap;
	}
	if (!(k->v[k->n] = bp_strdup(digest)))
		goto nomem;
	k->n++;
	return;
nomem:
	k->nomem = 1;
}

/* See copy.h. */
void bp_copy__known_init(bp_copy_known *k)
{
	pthread_mutex_init(&k->lock, NULL);
	k->src_api = k->dst_api = BP_REFERRERS_API_UNKNOWN;
}

/* See copy.h. */
void bp_copy__known_release(bp_copy_known *k)
{
	pthread_mutex_destroy(&k->lock);
}

/* One round: the subjects whose referrers go now. */
typedef struct {
	bp_client *c;
	bp_copy_ctx *x;
	bp_copy_ctx rx;	      /* x without a carry: a referrer's own manifests are not subjects */
	bp_copy_known *known; /* x's, or the walk's own */
	int cosign;	      /* the first round: cosign's tags too */
	pthread_mutex_t lock; /* next, seen */
	bp_copy_carry *next;  /* the referrers carried: the subjects of the next round */
	bp_digest_set *seen;  /* every manifest handled so far */
} walk;

/* What one subject's job works on. */
typedef struct {
	walk *w;
	const char *subject;
} subject_job;

static int known_get(walk *w, int dst)
{
	int v;

	pthread_mutex_lock(&w->known->lock);
	v = dst ? w->known->dst_api : w->known->src_api;
	pthread_mutex_unlock(&w->known->lock);
	return v;
}

/* What an answer taught; the first answer about a registry decides. */
static void known_set(walk *w, int dst, int v)
{
	int *slot = dst ? &w->known->dst_api : &w->known->src_api;

	pthread_mutex_lock(&w->known->lock);
	if (*slot == BP_REFERRERS_API_UNKNOWN)
		*slot = v;
	pthread_mutex_unlock(&w->known->lock);
}

/* 1 when digest is new to the walk (it is then marked), 0 when handled; -1 out of memory. */
static int first_visit(walk *w, const char *digest)
{
	int fresh;

	pthread_mutex_lock(&w->lock);
	fresh = bp_referrers__set_add(w->seen, digest);
	pthread_mutex_unlock(&w->lock);
	return fresh;
}

/* The next round looks for digest's referrers. */
static void next_round(walk *w, const char *digest)
{
	pthread_mutex_lock(&w->lock);
	bp_copy__carry_note(w->next, digest);
	pthread_mutex_unlock(&w->lock);
}

static const char *src_repo(const walk *w)
{
	return bp_reference_path(w->x->sref);
}

/*
 * The source's registry, for what only it answers (its tags, its
 * referrers API): the copy's own, else the origin of its sources (the
 * mirrors serve the manifests by digest).
 */
static int src_registry(walk *w, bp_registry **out)
{
	int err;

	if (w->x->src) {
		*out = w->x->src;
		return 0;
	}
	if ((err = bp_sources__origin(w->x->sources, out)))
		bp_error_prefix("source %s", bp_reference_name(w->x->sref));
	return err;
}

/* An error from one side, named as the copy names them. */
static int side(int err, const char *which, const bp_reference *ref)
{
	bp_error_prefix("%s %s", which, bp_reference_name(ref));
	return err;
}

/* HEAD ref on a side: 0 and its digest ("" when not sent), BP_ENOTFOUND, or the error. */
static int head(bp_registry *reg, const char *repo, const char *ref, char digest[BP_DIGEST_MAX])
{
	digest[0] = '\0';
	return bp_registry__manifest_get(reg, repo, ref, NULL, NULL, NULL, digest);
}

/* One of cosign's tags beside subject: copied when the source has it and the destination not. */
static int carry_cosign(walk *w, const char *subject, size_t which)
{
	bp_copy_ctx *x = w->x;
	char tag[BP_REFERRERS_TAG_MAX + 8], from[BP_DIGEST_MAX], to[BP_DIGEST_MAX],
		out[BP_DIGEST_MAX];
	bp_registry *src;
	int err;

	bp_referrers__tag(subject, tag);
	bp_strlcpy(tag + strlen(tag), cosign_tags[which].suffix, sizeof(tag) - strlen(tag));
	if ((err = src_registry(w, &src)))
		return err;
	if ((err = head(src, src_repo(w), tag, from)) == BP_ENOTFOUND) {
		bp_error_clear();
		return 0;
	}
	if (err)
		return side(err, "source", x->sref);
	if (from[0]) {
		err = head(x->dst.reg, x->dst.repo, tag, to);
		if (err == BP_ENOTFOUND) {
			bp_error_clear();
			err = 0;
		}
		if (err)
			return side(err, "destination", x->dref);
	}
	if (from[0] && bp_digest_equal(from, to)) {
		bp_strlcpy(out, from, sizeof(out));
	} else if ((err = bp_copy__manifest(w->c, &w->rx, from[0] ? from : tag, from[0] != '\0',
					    tag, from[0] != '\0', out))) {
		return bp_error_prefix("%s", tag);
	}
	bp_client__emit(w->c, BP_EVENT_REFERRER, out, cosign_tags[which].kind, 0, 0, tag);
	return 0;
}

/* A listed referrer not carried, and why: said, not an error. */
static void skipped(walk *w, const char *digest, const char *why)
{
	bp_client__debug(w->c, "referrer %s not carried: %s", digest, why);
	bp_client__emit(w->c, BP_EVENT_REFERRER, digest, "skipped", 0, 0, why);
}

/*
 * The entry the manifest f (a referrer of subject) gets in a list, into
 * add; 1 when f does not name subject as its subject (said, not added).
 */
static int entry_of(walk *w, const bp_fetched *f, const char *subject, bp_referrers_list *add)
{
	bp_referrers_list one = BP_REFERRERS_LIST_INIT;
	char named[BP_DIGEST_MAX], why[200];
	int err;

	err = bp_referrers__describe(f->bytes, f->len, bp_manifest_media_type(f->m), f->digest,
				     &one, named);
	if (!err && !bp_digest_equal(named, subject)) {
		/* a list kept by clients may name what is not a referrer: it is not carried */
		snprintf(why, sizeof(why), "its manifest names %s as subject, not %s",
			 named[0] ? named : "no manifest", subject);
		skipped(w, f->digest, why);
		err = 1;
	}
	if (!err)
		err = bp_referrers__list_add(add, &one.v[0]);
	bp_referrers__list_release(&one);
	return err;
}

/*
 * One referrer r of subject: there on the destination already (added to
 * there), or fetched from the source, checked to name subject, and copied
 * (its entry added to add).
 */
static int carry_one(walk *w, const char *subject, const bp_referrer *r, bp_referrers_list *add,
		     bp_referrers_list *there)
{
	bp_copy_ctx *x = w->x;
	bp_fetched f = { NULL, 0, NULL, "", NULL };
	bp_manifest_extra ex = BP_MANIFEST_EXTRA_INIT;
	char got[BP_DIGEST_MAX], out[BP_DIGEST_MAX];
	int err;

	err = head(x->dst.reg, x->dst.repo, r->digest, got);
	if (!err && (!got[0] || bp_digest_equal(got, r->digest))) {
		/* its entry is made from the destination's copy, if the tag needs one */
		if ((err = bp_referrers__list_add(there, r)))
			return err;
		next_round(w, r->digest);
		bp_client__emit(w->c, BP_EVENT_REFERRER, r->digest, "referrer", 0, 0,
				r->artifact_type);
		return 0;
	}
	if (err && err != BP_ENOTFOUND)
		return side(err, "destination", x->dref);
	bp_error_clear();
	if ((err = bp_copy__fetch(x, r->digest, 1, &f)) == BP_ENOTFOUND) {
		bp_error_clear();
		skipped(w, r->digest, "listed, but not in the source");
		return 0;
	}
	if (err)
		return err;
	if ((err = entry_of(w, &f, subject, add)))
		goto done;
	if ((err = bp_copy__fetched(w->c, &w->rx, &f, NULL, &ex, out)))
		goto done;
	known_set(w, 1, ex.subject ? BP_REFERRERS_API_YES : BP_REFERRERS_API_NO);
	next_round(w, r->digest);
	bp_client__emit(w->c, BP_EVENT_REFERRER, r->digest, "referrer", 0, 0, r->artifact_type);
done:
	bp_registry__manifest_extra_release(&ex);
	bp_steps__fetched_release(&f);
	return err < 0 ? err : 0;
}

/*
 * The destination has no referrers API: its index under subject's tag
 * must list what was carried. Entries of the referrers there already are
 * made from the destination's own manifests, for those it does not list.
 */
static int keep_tag(walk *w, const char *subject, bp_referrers_list *add,
		    const bp_referrers_list *there)
{
	bp_copy_ctx *x = w->x;
	bp_referrers_query q = { NULL, NULL, NULL, NULL, NULL };
	bp_referrers_found have;
	int no = BP_REFERRERS_API_NO, err;
	size_t i, added;

	q.api = &no;
	memset(&have, 0, sizeof(have));
	/* what the tag lists decides which of those there need an entry made */
	if (there->n && (err = bp_referrers__find(x->dst.reg, x->dst.repo, subject, &q, &have)))
		return side(err, "destination", x->dref);
	for (i = 0; i < there->n && !err; i++) {
		bp_fetched f = { NULL, 0, NULL, "", NULL };

		if (bp_referrers__list_has(&have.list, there->v[i].digest) ||
		    bp_referrers__list_has(add, there->v[i].digest))
			continue;
		err = bp_steps__manifest_fetch(x->dst.reg, x->dst.repo, there->v[i].digest, 1,
					       BP_FETCH_PARSE, NULL, &f);
		if (err)
			side(err, "destination", x->dref);
		else if ((err = entry_of(w, &f, subject, add)) > 0)
			err = 0;
		bp_steps__fetched_release(&f);
	}
	bp_referrers__found_release(&have);
	if (err || !add->n)
		return err;
	if ((err = bp_referrers__tag_add(w->c, x->dst.reg, x->dst.repo, subject, add, &added)))
		return side(err, "destination", x->dref);
	return 0;
}

/* The job of one subject: its cosign tags (first round), its referrers, the destination's tag. */
static int carry_subject(bp_client *c, job *j)
{
	subject_job *sj = j->ctx;
	walk *w = sj->w;
	bp_copy_ctx *x = w->x;
	const char *subject = sj->subject;
	bp_referrers_query q = { NULL, x->before_get, x->after_get, x->payload, NULL };
	bp_referrers_found found;
	bp_referrers_list add = BP_REFERRERS_LIST_INIT, there = BP_REFERRERS_LIST_INIT;
	bp_registry *src;
	int api = known_get(w, 0), dapi, err = 0, fresh;
	size_t i;

	for (i = 0; w->cosign && i < sizeof(cosign_tags) / sizeof(cosign_tags[0]) && !err; i++)
		err = carry_cosign(w, subject, i);
	if (err)
		goto fail;
	q.api = &api;
	if ((err = src_registry(w, &src)))
		goto fail;
	if ((err = bp_referrers__find(src, src_repo(w), subject, &q, &found))) {
		side(err, "source", x->sref);
		goto fail;
	}
	known_set(w, 0, api);
	if (found.note)
		bp_client__debug(c, "source: referrers of %s: %s", subject, found.note);
	for (i = 0; i < found.list.n && !err; i++) {
		if ((fresh = first_visit(w, found.list.v[i].digest)) < 0)
			err = bp_error_set(BP_ENOMEM, "out of memory");
		else if (fresh)
			err = carry_one(w, subject, &found.list.v[i], &add, &there);
	}
	bp_referrers__found_release(&found);
	if (err || (!add.n && !there.n))
		goto done;
	/* nothing put told whether the destination has the API: ask it */
	if ((dapi = known_get(w, 1)) == BP_REFERRERS_API_UNKNOWN) {
		bp_referrers_query dq = { NULL, NULL, NULL, NULL, &dapi };
		bp_referrers_found probe;

		if ((err = bp_referrers__find(x->dst.reg, x->dst.repo, subject, &dq, &probe))) {
			side(err, "destination", x->dref);
			goto done;
		}
		bp_referrers__found_release(&probe);
		known_set(w, 1, dapi);
	}
	if (dapi == BP_REFERRERS_API_NO)
		err = keep_tag(w, subject, &add, &there);
done:
	bp_referrers__list_release(&add);
	bp_referrers__list_release(&there);
	if (!err)
		return 0;
fail:
	return bp_error_prefix("referrers of %s", subject);
}

/* See copy.h. */
int bp_copy__referrers(bp_client *c, bp_copy_ctx *x, bp_copy_carry *k)
{
	bp_copy_known own;
	bp_copy_carry *cur = k, *next = NULL;
	subject_job *sj = NULL;
	job *jobs = NULL;
	walk w;
	size_t i, round;
	int err = 0;

	if (k->nomem)
		return bp_error_set(BP_ENOMEM, "out of memory");
	bp_copy__known_init(&own);
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.x = x;
	w.rx = *x;
	w.rx.carry = NULL;
	w.known = x->known ? x->known : &own;
	w.seen = &k->seen;
	pthread_mutex_init(&w.lock, NULL);
	for (round = 0; round <= COPY_REFERRERS_DEPTH && cur->n; round++) {
		if ((err = bp_copy__carry_new(&next)))
			break;
		if (!(jobs = calloc(cur->n, sizeof(*jobs))) ||
		    !(sj = calloc(cur->n, sizeof(*sj)))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			break;
		}
		for (i = 0; i < cur->n; i++) {
			sj[i].w = &w;
			sj[i].subject = cur->v[i];
			jobs[i].ctx = &sj[i];
			jobs[i].kind = "referrers";
			jobs[i].light = 1;
		}
		w.cosign = round == 0;
		w.next = next;
		err = bp_jobs__run(c, jobs, cur->n, carry_subject);
		if (!err && next->nomem)
			err = bp_error_set(BP_ENOMEM, "out of memory");
		free(jobs);
		free(sj);
		jobs = NULL;
		sj = NULL;
		if (cur != k)
			bp_copy__carry_free(cur);
		cur = next;
		next = NULL;
		if (err)
			break;
	}
	if (!err && cur->n)
		bp_client__debug(c, "referrers more than %d deep: not carried",
				 COPY_REFERRERS_DEPTH);
	free(jobs);
	free(sj);
	bp_copy__carry_free(next);
	if (cur != k)
		bp_copy__carry_free(cur);
	pthread_mutex_destroy(&w.lock);
	bp_copy__known_release(&own);
	return err;
}
