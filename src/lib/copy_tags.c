/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy of many tags: the tags of a repository (those a regex chooses),
 * each copied as copy.c copies one, several images at once.
 *
 * Two rounds. First every tag is resolved, as wide as round trips go: a
 * HEAD on the source gives its digest (a HEAD does not count against a
 * rate limit), a HEAD on the destination says whether the tag is there
 * already. Then the others are copied, opts.images at a time, each image's
 * blobs in parallel as jobs.c runs them and shared through a ledger.
 *
 * The source's rate limit (what its RateLimit-Remaining header says) is a
 * budget of manifest GETs: one is taken before each GET, the answers
 * correct it, and when it is spent the run waits (polling with HEADs) or
 * skips the rest.
 */
#include <beampush/client.h>
#include <beampush/manifest.h>

#include "client.h"
#include "copy.h"
#include "jobs.h"
#include "registry.h"
#include "retry.h"
#include "steps.h"
#include "util/strutil.h"

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Resolving costs round trips only: as wide as small blobs go. */
#define RESOLVE_WIDTH JOBS_MAX

/* The source's rate limit, as a budget of manifest GETs; under lock. */
typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int64_t left;	   /* GETs it allows still, as far as we know; -1: it states no limit */
	int64_t pending;   /* GETs taken whose answers have not come */
	uint64_t seen;	   /* the registry's count of answers stating it, when left was set */
	bp_ratelimit last; /* the latest it stated */
	double waited;	   /* seconds waited so far, in all */
	int polling;	   /* a worker waits for it to refill; the others wait for that one */
	int waiting;	   /* the wait under way was announced */
	int stopped;	   /* spent, no more waiting: every GET asked for now is refused */
	char why[640];	   /* the message of a refused GET */
} budget;

struct run;

typedef struct {
	bp_copy_tag_result pub;		/* tag and message owned */
	char src_digest[BP_DIGEST_MAX]; /* the source's HEAD said so, or "" */
	int src_index;			/* the source's HEAD said an index */
	int done;			/* a status is final */
	int present;			/* the destination has it: only its referrers go */
	int ratelimited;		/* the budget refused a GET */
	int started;			/* BP_EVENT_IMAGE_START said so; under the run's lock */
	struct run *run;
} item;

typedef struct run {
	bp_client *c;
	const bp_copy_tags_options *o;
	bp_copy_ctx x;
	bp_sources sources; /* x.sources: the source's mirrors, then x.src */
	regex_t re;
	int have_re;
	item *items;
	size_t n, cap, listed;
	int too_many, nomem;
	pthread_mutex_t lock; /* finished, first_failed */
	size_t finished;
	item *first_failed;
	budget b;
	bp_copy_known known; /* of the referrers API on each side */
} run;

/* Fill opts with the defaults; see client.h. */
int bp_copy_tags_options_init(bp_copy_tags_options *opts, unsigned int version)
{
	const bp_copy_tags_options defaults = BP_COPY_TAGS_OPTIONS_INIT;
	int err;

	if ((err = bp_client__check_version("bp_copy_tags_options", version,
					    BP_COPY_TAGS_OPTIONS_VERSION)))
		return err;
	*opts = defaults;
	return 0;
}

/* Free a result; see client.h. */
void bp_copy_tags_result_free(bp_copy_tags_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ntags; i++) {
		free((char *)r->tags[i].tag);
		free((char *)r->tags[i].message);
	}
	free((bp_copy_tag_result *)r->tags);
	free(r);
}

/* ---- choosing the tags ---- */

/*
 * Compile re so that it matches a whole tag: alone first, so that an
 * expression that does not compile is reported as written (anchored, "a)(b"
 * would), then anchored.
 */
static int compile_regex(run *r, const char *re)
{
	char msg[256], *whole;
	regex_t alone;
	int rc;

	if ((rc = regcomp(&alone, re, REG_EXTENDED | REG_NOSUB))) {
		regerror(rc, &alone, msg, sizeof(msg));
		return bp_error_set(BP_EINVAL, "tags regex \"%s\" does not compile: %s", re, msg);
	}
	regfree(&alone);
	if (!(whole = bp_aprintf("^(%s)$", re)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	rc = regcomp(&r->re, whole, REG_EXTENDED | REG_NOSUB);
	free(whole);
	if (rc)
		return bp_error_set(BP_EINVAL, "tags regex \"%s\" does not compile anchored", re);
	r->have_re = 1;
	return 0;
}

/* A tag as the reference grammar has it: what the registry lists is checked before use. */
static int tag_valid(const char *tag)
{
	size_t i, n = strlen(tag);

	if (n == 0 || n > 128 || tag[0] == '.' || tag[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char ch = tag[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

/*
 * 1 for a tag of the referrers tag schema (sha256-<hex>) or one of
 * cosign's beside it (.sig, .att, .sbom): they go with their image when
 * referrers are carried, and a referrers index is merged there, never
 * copied over.
 */
static int referrers_tag(const char *tag)
{
	const char *p = bp_strprefix(tag, "sha256-");
	size_t n = p ? strspn(p, "0123456789abcdef") : 0;

	if (n != 64)
		return 0;
	p += n;
	return !*p || strcmp(p, ".sig") == 0 || strcmp(p, ".att") == 0 || strcmp(p, ".sbom") == 0;
}

/* bp_registry__tags' callback: keep the tags the regex chooses, up to BP_COPY_TAGS_MAX listed. */
static int add_listed(const char *tag, void *payload)
{
	run *r = payload;
	item *it;

	if (r->listed++ >= BP_COPY_TAGS_MAX) {
		r->too_many = 1;
		return 1;
	}
	if (r->have_re && regexec(&r->re, tag, 0, NULL, 0) != 0)
		return 0;
	if (!r->c->opts.no_referrers && referrers_tag(tag))
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		item *v = realloc(r->items, cap * sizeof(*v));

		if (!v) {
			r->nomem = 1;
			return 1;
		}
		r->items = v;
		r->cap = cap;
	}
	it = &r->items[r->n];
	memset(it, 0, sizeof(*it));
	if (!(it->pub.tag = bp_strdup(tag))) {
		r->nomem = 1;
		return 1;
	}
	it->run = r;
	r->n++;
	return 0;
}

/* List the source's tags; then no tag, or none chosen, is BP_ENOTFOUND. */
static int list_tags(run *r, const bp_reference *src)
{
	int err = bp_registry__tags(r->x.src, bp_reference_path(src), add_listed, r);
	size_t i;

	if (err)
		return bp_error_prefix("source %s", bp_reference_name(src));
	if (r->nomem)
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (r->too_many)
		return bp_error_set(BP_EPROTO,
				    "source %s lists more than %d tags: giving up (a tag list "
				    "that never ends?)",
				    bp_reference_name(src), BP_COPY_TAGS_MAX);
	if (r->listed == 0)
		return bp_error_set(BP_ENOTFOUND, "source %s has no tags", bp_reference_name(src));
	if (r->n == 0)
		return bp_error_set(BP_ENOTFOUND, "no tag of source %s matches \"%s\" (%zu listed)",
				    bp_reference_name(src), r->o->regex, r->listed);
	for (i = 0; i < r->n; i++)
		if (!tag_valid(r->items[i].pub.tag))
			return bp_error_set(BP_EPROTO,
					    "source %s lists a tag that is not a tag name "
					    "(tag %zu)",
					    bp_reference_name(src), i + 1);
	return 0;
}

/* ---- what became of a tag ---- */

static const char *status_word(bp_copy_status s)
{
	switch (s) {
	case BP_COPY_COPIED:
		return "copied";
	case BP_COPY_PRESENT:
		return "present";
	case BP_COPY_FAILED:
		return "failed";
	default:
		return "skipped";
	}
}

/*
 * Settle its status (the message is this thread's last error) and say so;
 * a tag skipped before it started is not said, nor counted among those
 * done with.
 */
static void settle(item *it, bp_copy_status status, int err)
{
	run *r = it->run;
	char *msg = NULL;
	size_t done;

	it->pub.status = status;
	it->pub.error = err;
	if (err) {
		msg = bp_strdup(bp_error_last());
		it->pub.message = msg;
	}
	it->done = 1;
	if (status == BP_COPY_SKIPPED && !it->started)
		return;
	pthread_mutex_lock(&r->lock);
	done = ++r->finished;
	if (status == BP_COPY_FAILED && !r->first_failed)
		r->first_failed = it;
	pthread_mutex_unlock(&r->lock);
	if (err) {
		char line[1024];

		snprintf(line, sizeof(line), "%s: %s", it->pub.tag, msg ? msg : "out of memory");
		bp_client__emit(r->c, BP_EVENT_IMAGE_DONE,
				it->pub.digest[0] ? it->pub.digest : NULL, status_word(status),
				(int64_t)done, (int64_t)r->n, line);
	} else {
		bp_client__emit(r->c, BP_EVENT_IMAGE_DONE, it->pub.digest, status_word(status),
				(int64_t)done, (int64_t)r->n, it->pub.tag);
	}
}

/* ---- the budget of manifest GETs ---- */

static void budget_init(budget *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->changed, NULL);
	b->left = -1;
}

static void budget_release(budget *b)
{
	pthread_cond_destroy(&b->changed);
	pthread_mutex_destroy(&b->lock);
}

/*
 * Take in what the source stated last, under b's lock. Our GETs still
 * unanswered may be in its count or not yet: a refill (a window may have
 * passed) or a first statement counts them as not, the rest of the time
 * what it states only lowers the budget (another client spent some), so
 * that GETs answered out of order do not spend it twice.
 */
static void budget_learn(run *r, int refill)
{
	budget *b = &r->b;
	bp_ratelimit rl;
	int64_t now;

	bp_registry__ratelimit(r->x.src, &rl);
	if (!rl.seen || rl.seen == b->seen)
		return;
	b->seen = rl.seen;
	b->last = rl;
	now = rl.remaining;
	if (b->left < 0 || refill)
		now -= b->pending;
	if (now < 0)
		now = 0;
	if (b->left < 0 || refill || now < b->left)
		b->left = now;
}

/* "in its window of 21600s, whole again by 2026-11-27 18:04:05 UTC at the latest" */
static void window_words(const bp_ratelimit *rl, char *buf, size_t size)
{
	char when[64] = "";
	time_t at;
	struct tm tm;

	if (rl->window <= 0) {
		snprintf(buf, size, "(it states no window)");
		return;
	}
	at = time(NULL) + (time_t)rl->window;
	if (gmtime_r(&at, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(buf, size, "in its window of %llds: whole again by %s at the latest",
		 (long long)rl->window, when);
}

/* "source H/R: rate limit: 0 of 100 manifest GETs left in its window of ..." */
static void limit_words(run *r, char *buf, size_t size)
{
	const bp_ratelimit *rl = &r->b.last;
	char limit[32] = "", window[160];

	if (rl->limit >= 0)
		snprintf(limit, sizeof(limit), " of %lld", (long long)rl->limit);
	window_words(rl, window, sizeof(window));
	snprintf(buf, size, "source %s: rate limit: %lld%s manifest GETs left %s",
		 bp_reference_name(r->x.sref), (long long)(r->b.left > 0 ? r->b.left : 0), limit,
		 window);
}

/* Seconds between two HEADs that ask whether the limit refilled. */
static double poll_interval(const bp_ratelimit *rl)
{
	double d = rl->window > 0 ? (double)rl->window / 60 : 30;

	return d < 1 ? 1 : d > 60 ? 60 : d;
}

/*
 * Wait once for the limit to refill: sleep, then HEAD ref (free) so that
 * the registry states it again. Called with the lock held by the poller,
 * which it drops meanwhile.
 */
static void budget_poll(run *r, const char *ref)
{
	budget *b = &r->b;
	double d = poll_interval(&b->last), left = (double)r->o->ratelimit_wait - b->waited;
	char msg[768], words[512];

	if (d > left)
		d = left;
	if (!b->waiting) {
		limit_words(r, words, sizeof(words));
		snprintf(msg, sizeof(msg), "%s: waiting up to %.0fs for it to refill", words, left);
		bp_client__emit(r->c, BP_EVENT_RETRY, NULL, NULL, 0, 0, msg);
		b->waiting = 1;
	}
	b->polling = 1;
	pthread_mutex_unlock(&b->lock);
	bp_retry__sleep(NULL, d);
	if (bp_registry__manifest_get(r->x.src, bp_reference_path(r->x.sref), ref, NULL, NULL, NULL,
				      NULL))
		bp_client__debug(r->c, "rate limit: HEAD %s: %s", ref, bp_error_last());
	bp_error_clear();
	pthread_mutex_lock(&b->lock);
	b->polling = 0;
	b->waited += d;
	budget_learn(r, 1);
	if (b->left > 0) {
		snprintf(msg, sizeof(msg),
			 "source %s: rate limit: %lld manifest GETs allowed again, "
			 "going on",
			 bp_reference_name(r->x.sref), (long long)b->left);
		bp_client__emit(r->c, BP_EVENT_RETRY, NULL, NULL, 0, 0, msg);
		b->waiting = 0;
	}
	pthread_cond_broadcast(&b->changed);
}

/* BP_EVENT_IMAGE_START, once: when its first GET goes. */
static void started(item *it)
{
	run *r = it->run;

	pthread_mutex_lock(&r->lock);
	if (!it->started) {
		it->started = 1;
		bp_client__emit(r->c, BP_EVENT_IMAGE_START,
				it->src_digest[0] ? it->src_digest : NULL,
				it->src_index ? "index" : "image", (int64_t)r->finished,
				(int64_t)r->n, it->pub.tag);
	}
	pthread_mutex_unlock(&r->lock);
}

/* bp_copy_ctx.before_get: one GET of the budget, waiting for it when allowed. */
static int take_get(const char *ref, void *payload)
{
	item *it = payload;
	run *r = it->run;
	budget *b = &r->b;
	int err = 0;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		if (!b->stopped && b->left != 0) {
			if (b->left > 0)
				b->left--;
			b->pending++;
			pthread_mutex_unlock(&b->lock);
			started(it);
			return 0;
		}
		if (!b->stopped && b->polling) {
			pthread_cond_wait(&b->changed, &b->lock);
			continue;
		}
		if (!b->stopped && (double)r->o->ratelimit_wait > b->waited) {
			budget_poll(r, ref);
			continue;
		}
		if (!b->stopped) {
			char words[512];

			limit_words(r, words, sizeof(words));
			snprintf(b->why, sizeof(b->why), "%s%s", words,
				 r->o->ratelimit_wait ? "" : " (--rate-limit-wait waits for it)");
			b->stopped = 1;
		}
		it->ratelimited = 1;
		err = bp_error_set(BP_ERROR, "not copied: %s", b->why);
		break;
	}
	pthread_mutex_unlock(&b->lock);
	return err;
}

/* bp_copy_ctx.after_get: the GET is answered; what it stated corrects the budget. */
static void answered_get(void *payload)
{
	item *it = payload;
	budget *b = &it->run->b;

	pthread_mutex_lock(&b->lock);
	b->pending--;
	budget_learn(it->run, 0);
	pthread_mutex_unlock(&b->lock);
}

/* ---- the two rounds ---- */

/* Round one, a job per tag: HEAD on the source, HEAD on the destination. */
static int resolve_one(bp_client *c, job *j)
{
	item *it = j->ctx;
	run *r = it->run;
	char *ctype = NULL, there[BP_DIGEST_MAX] = "";
	int err;

	err = bp_registry__manifest_get(r->x.src, bp_reference_path(r->x.sref), it->pub.tag, NULL,
					NULL, &ctype, it->src_digest);
	if (err) {
		bp_error_prefix("source %s", bp_reference_name(r->x.sref));
		goto failed;
	}
	it->src_index = bp_manifest_kind_is_index(bp_manifest_kind_of(ctype));
	free(ctype);
	bp_strlcpy(it->pub.digest, it->src_digest, BP_DIGEST_MAX);
	/* with --platform, the tag on the destination names a platform's manifest: asked later */
	if (!it->src_digest[0] || (it->src_index && c->opts.platform))
		return 0;
	err = bp_registry__manifest_get(r->x.dst.reg, r->x.dst.repo, it->pub.tag, NULL, NULL, NULL,
					there);
	if (err == BP_ENOTFOUND) {
		bp_error_clear();
		return 0;
	}
	if (err) {
		bp_error_prefix("destination %s", bp_reference_name(r->x.dref));
		goto failed;
	}
	/* there already: settled now, or once its referrers have followed */
	if (bp_digest_equal(there, it->src_digest) && c->opts.no_referrers)
		settle(it, BP_COPY_PRESENT, 0);
	else if (bp_digest_equal(there, it->src_digest))
		it->present = 1;
	return 0;
failed:
	settle(it, BP_COPY_FAILED, err);
	return r->o->keep_going ? 0 : err;
}

/*
 * A tag the destination has already: its manifest (and, for an index,
 * each child, which costs the index's GET) noted for its referrers.
 */
static int note_present(bp_copy_ctx *x, const item *it)
{
	bp_fetched f = { NULL, 0, NULL, "", NULL };
	size_t i;
	int err;

	bp_copy__carry_note(x->carry, it->src_digest);
	if (!it->src_index)
		return 0;
	if ((err = bp_copy__fetch(x, it->src_digest, 1, &f)))
		return err;
	for (i = 0; i < bp_manifest_count(f.m); i++)
		bp_copy__carry_note(x->carry, bp_manifest_item(f.m, i)->digest);
	bp_steps__fetched_release(&f);
	return 0;
}

/* Round two, a job per tag still to copy, or whose referrers are to follow. */
static int copy_one(bp_client *c, job *j)
{
	item *it = j->ctx;
	run *r = it->run;
	bp_copy_ctx x = r->x;
	char digest[BP_DIGEST_MAX];
	int err, by_digest = it->src_digest[0] != '\0';

	x.before_get = take_get;
	x.after_get = answered_get;
	x.payload = it;
	if (!c->opts.no_referrers && (err = bp_copy__carry_new(&x.carry)))
		goto done;
	if (it->present) {
		bp_strlcpy(digest, it->src_digest, BP_DIGEST_MAX);
		err = note_present(&x, it);
	} else {
		/* resolved by digest, the destination's tag is known to differ (unless --platform) */
		err = bp_copy__manifest(c, &x, by_digest ? it->src_digest : it->pub.tag, by_digest,
					it->pub.tag,
					by_digest && !(it->src_index && c->opts.platform), digest);
	}
	if (!err && x.carry && (err = bp_copy__referrers(c, &x, x.carry)))
		bp_error_prefix("%s (%s), but not its referrers",
				it->present ? "there already" : "copied", digest);
done:
	bp_copy__carry_free(x.carry);
	if (err) {
		settle(it, it->ratelimited ? BP_COPY_SKIPPED : BP_COPY_FAILED, err);
		return it->ratelimited || r->o->keep_going ? 0 : err;
	}
	bp_strlcpy(it->pub.digest, digest, BP_DIGEST_MAX);
	settle(it, it->present ? BP_COPY_PRESENT : BP_COPY_COPIED, 0);
	return 0;
}

/* Jobs for the items not settled yet; NULL when out of memory (*n 0 is fine). */
static job *pending_jobs(run *r, size_t *n)
{
	job *v = calloc(r->n ? r->n : 1, sizeof(*v));
	size_t i;

	*n = 0;
	if (!v)
		return NULL;
	for (i = 0; i < r->n; i++) {
		if (r->items[i].done)
			continue;
		v[*n].ctx = &r->items[i];
		v[*n].kind = "image";
		v[*n].light = 1;
		(*n)++;
	}
	return v;
}

/* When the budget will not do for every tag to copy: say so before the first GET. */
static void say_plan(run *r, size_t ncopy)
{
	char words[512], msg[768];

	pthread_mutex_lock(&r->b.lock);
	budget_learn(r, 1);
	if (r->b.left >= 0 && (size_t)r->b.left < ncopy) {
		limit_words(r, words, sizeof(words));
		snprintf(msg, sizeof(msg),
			 "%s, and %zu tags to copy need at least %zu: copying while it lasts, then "
			 "%s",
			 words, ncopy, ncopy,
			 r->o->ratelimit_wait ? "waiting for it to refill"
					      : "stopping (--rate-limit-wait waits for it)");
		bp_client__emit(r->c, BP_EVENT_RETRY, NULL, NULL, 0, 0, msg);
	}
	pthread_mutex_unlock(&r->b.lock);
}

/* Every item not settled: skipped, since the run stopped before it. */
static void skip_rest(run *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->items[i].done)
			continue;
		bp_error_set(BP_ERROR, "not started: tag %s failed first",
			     r->first_failed ? r->first_failed->pub.tag : "?");
		settle(&r->items[i], BP_COPY_SKIPPED, BP_ERROR);
	}
}

/* The result, from the items (whose strings move into it); NULL when out of memory. */
static bp_copy_tags_result *result_of(run *r)
{
	bp_copy_tags_result *res = calloc(1, sizeof(*res));
	bp_copy_tag_result *v = calloc(r->n, sizeof(*v));
	size_t i;

	if (!res || !v) {
		free(res);
		free(v);
		return NULL;
	}
	for (i = 0; i < r->n; i++) {
		v[i] = r->items[i].pub;
		r->items[i].pub.tag = r->items[i].pub.message = NULL;
		switch (v[i].status) {
		case BP_COPY_COPIED:
			res->ncopied++;
			break;
		case BP_COPY_PRESENT:
			res->npresent++;
			break;
		case BP_COPY_FAILED:
			res->nfailed++;
			break;
		default:
			res->nskipped++;
			break;
		}
	}
	res->tags = v;
	res->ntags = r->n;
	res->listed = r->listed;
	return res;
}

/* The error the run returns, its items settled. */
static int run_error(run *r, const bp_copy_tags_result *res)
{
	const bp_copy_tag_result *f =
		r->first_failed ? &res->tags[r->first_failed - r->items] : NULL;

	if (!res->nfailed && !res->nskipped)
		return 0;
	if (!res->nfailed)
		return bp_error_set(BP_ERROR, "%zu of %zu tags not copied: %s", res->nskipped,
				    res->ntags, r->b.why);
	if (r->o->keep_going)
		return bp_error_set(BP_ERROR, "%zu of %zu tags not copied",
				    res->nfailed + res->nskipped, res->ntags);
	return bp_error_set(f->error, "%s: %s", f->tag, f->message ? f->message : "failed");
}

/* See client.h. */
int bp_copy_tags(bp_client *c, const bp_reference *src, const bp_reference *dst,
		 const bp_copy_tags_options *opts, bp_copy_tags_result **out)
{
	const bp_copy_tags_options defaults = BP_COPY_TAGS_OPTIONS_INIT;
	run r;
	job *jobs = NULL;
	size_t n, i, width;
	int err;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.o = opts ? opts : &defaults;
	r.x.sref = src;
	r.x.dref = dst;
	r.x.known = &r.known;
	pthread_mutex_init(&r.lock, NULL);
	budget_init(&r.b);
	bp_copy__known_init(&r.known);
	if ((err = bp_client__check_version("bp_copy_tags_options", r.o->version,
					    BP_COPY_TAGS_OPTIONS_VERSION)))
		goto done;
	if (r.o->ratelimit_wait < 0 || r.o->ratelimit_wait > BP_COPY_RATELIMIT_WAIT_MAX) {
		err = bp_error_set(BP_EINVAL, "rate limit wait of %llds: at most %ds (24h)",
				   (long long)r.o->ratelimit_wait, BP_COPY_RATELIMIT_WAIT_MAX);
		goto done;
	}
	if (r.o->regex && (err = compile_regex(&r, r.o->regex)))
		goto done;
	if ((err = bp_client__open_registry(c, bp_reference_domain(src), NULL, 0, &r.x.src)) ||
	    (err = bp_sources__open(c, src, &r.sources))) {
		bp_error_prefix("source %s", bp_reference_name(src));
		goto done;
	}
	/* tags are listed and resolved on the registry; images are read through its mirrors */
	bp_sources__use_origin(&r.sources, r.x.src);
	r.x.sources = &r.sources;
	if ((err = bp_steps__dest_open(c, &r.x.dst, dst))) {
		bp_error_prefix("destination %s", bp_reference_name(dst));
		goto done;
	}
	if ((err = bp_copy__ledger_new(&r.x.ledger)) || (err = list_tags(&r, src)))
		goto done;

	/* round one: which tags are there already */
	if (!(jobs = pending_jobs(&r, &n))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	bp_jobs__run_max(c, jobs, n, resolve_one, RESOLVE_WIDTH);
	free(jobs);
	jobs = NULL;

	/* round two: the others, unless one failed and the run stops at the first */
	if (!r.first_failed || r.o->keep_going) {
		if (!(jobs = pending_jobs(&r, &n))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
		for (i = 0, width = 0; i < n; i++)
			width += !((item *)jobs[i].ctx)->present;
		say_plan(&r, width);
		width = r.o->images > 0 ? (size_t)r.o->images : (size_t)c->opts.jobs;
		bp_jobs__run_max(c, jobs, n, copy_one, width);
	}
	skip_rest(&r);
	if (!(*out = result_of(&r))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	err = run_error(&r, *out);
done:
	free(jobs);
	for (i = 0; i < r.n; i++) {
		free((char *)r.items[i].pub.tag);
		free((char *)r.items[i].pub.message);
	}
	free(r.items);
	if (r.have_re)
		regfree(&r.re);
	bp_copy__ledger_free(r.x.ledger);
	bp_steps__dest_close(c, &r.x.dst);
	bp_sources__close(&r.sources);
	bp_registry__free(r.x.src);
	budget_release(&r.b);
	bp_copy__known_release(&r.known);
	pthread_mutex_destroy(&r.lock);
	return err;
}
