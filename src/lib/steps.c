/* SPDX-License-Identifier: Apache-2.0 */
/* The steps the engines share; see steps.h for why they live together. */
#include "steps.h"

#include "client.h"
#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A refused mount costs a round trip: this many repositories are asked at most. */
#define MOUNT_TRIES 3

/* ---- the destination ---- */

/* Open the cache and the registry; see steps.h. */
int bp_steps__dest_open(bp_client *c, bp_dest *d, const bp_reference *ref)
{
	memset(d, 0, sizeof(*d));
	d->domain = bp_reference_domain(ref);
	d->repo = bp_reference_path(ref);
	if (bp_cache__open(&d->cache))
		d->cache = NULL;
	return bp_client__open_registry(c, d->domain, NULL, 1, &d->reg);
}

/* Save the cache, free the rest; see steps.h. */
void bp_steps__dest_close(bp_client *c, bp_dest *d)
{
	if (d->cache && bp_cache__save(d->cache))
		bp_client__debug(c, "cache not saved: %s", bp_error_last());
	bp_cache__free(d->cache);
	bp_registry__free(d->reg);
	d->cache = NULL;
	d->reg = NULL;
}

/* Remember a blob of d's repository; see steps.h. */
void bp_steps__remember(bp_dest *d, const char *digest)
{
	if (d->cache)
		bp_cache__add_repo(d->cache, d->domain, digest, d->repo);
}

/* ---- one blob into the destination ---- */

/* Set up a step; see steps.h. */
void bp_steps__blob_init(bp_blob_step *s, const char *digest, int64_t size, const char *kind,
			 const bp_blob_source *source, void *payload)
{
	memset(s, 0, sizeof(*s));
	s->digest = digest;
	s->size = size;
	s->kind = kind;
	s->label = digest;
	s->total = size;
	s->source = source;
	s->payload = payload;
}

/* The destination holds s's blob now (and, for a copy, so does the source). */
static void remember(bp_dest *d, const bp_blob_step *s, const char *digest)
{
	if (d->cache && s->from_domain)
		bp_cache__add_repo(d->cache, s->from_domain, digest, s->from_repo);
	bp_steps__remember(d, digest);
}

/* The blob was there, or was mounted: it is what was asked for. */
static int there(bp_dest *d, bp_blob_step *s)
{
	bp_strlcpy(s->out_digest, s->digest, BP_DIGEST_MAX);
	s->out_size = s->size;
	remember(d, s, s->digest);
	return 1;
}

/* Mounting one blob, from one repository after another. */
typedef struct {
	bp_client *c;
	bp_dest *d;
	const bp_blob_step *s;
	char **session; /* a refused mount's open session, when the source takes one */
	int tries;
	char from[256]; /* where it was mounted from; "" until it is */
} mount_try;

/* Ask for one mount from repository from; non-zero when no other is to be asked. */
static int mount_from(const char *from, void *payload)
{
	mount_try *m = payload;

	if (m->tries++ >= MOUNT_TRIES)
		return 1;
	if (bp_registry__blob_mount(m->d->reg, m->d->repo, m->s->digest, from, m->session) == 0) {
		bp_strlcpy(m->from, from, sizeof(m->from));
		return 1;
	}
	bp_client__debug(m->c, "blob %s: mount from %s refused: %s", m->s->digest, from,
			 bp_error_last());
	/* the registry opened an upload instead: that is where the blob goes */
	return m->session && *m->session;
}

/*
 * Mount s's blob into d: from s's source when it is on the same registry
 * (no cache needed), else from the repositories the cache says hold it.
 * 1 when mounted (BP_EVENT_BLOB_EXISTS says from where), else 0.
 */
static int mount(bp_client *c, bp_dest *d, bp_blob_step *s)
{
	mount_try m = {
		c, d, s, s->source && s->source->takes_session ? &s->session : NULL, 0, ""
	};
	char msg[300];

	if (s->from_domain && strcmp(s->from_domain, d->domain) == 0)
		mount_from(s->from_repo, &m);
	else if (d->cache)
		bp_cache__repos(d->cache, d->domain, s->digest, d->repo, mount_from, &m);
	bp_error_clear();
	if (!m.from[0])
		return 0;
	snprintf(msg, sizeof(msg), "mounted from %s", m.from);
	bp_client__emit(c, BP_EVENT_BLOB_EXISTS, s->digest, s->kind, s->size, s->size, msg);
	return 1;
}

/* HEAD: 1 when the destination has s's blob (of s's size), 0 when not, <0 on error. */
static int head_there(bp_client *c, bp_dest *d, bp_blob_step *s)
{
	int64_t have = -1;
	int err;

	err = bp_registry__blob_exists(d->reg, d->repo, s->digest, &have);
	if (err && err != BP_ENOTFOUND)
		return err;
	if (!err && (have < 0 || s->size < 0 || have == s->size)) {
		bp_client__emit(c, BP_EVENT_BLOB_EXISTS, s->digest, s->kind, s->size, s->size,
				NULL);
		return there(d, s);
	}
	bp_error_clear();
	return 0;
}

/* There already, or mounted; see steps.h. */
int bp_steps__blob_there(bp_client *c, bp_dest *d, bp_blob_step *s)
{
	int err;

	if (!s->digest)
		return 0;
	if (!s->checked && (err = head_there(c, d, s)) != 0)
		return err;
	if (!s->no_mount && mount(c, d, s))
		return there(d, s);
	return 0;
}

/* The HEADs of bp_steps__blobs_check(): one job each, the answers by index. */
typedef struct {
	bp_dest *d;
	const job *heads;
	char *found;
} check_ctx;

static int check_one(bp_client *c, job *j)
{
	check_ctx *x = j->ctx;
	bp_blob_step s;
	int err;

	bp_steps__blob_init(&s, j->desc->digest, j->desc->size, j->kind, NULL, NULL);
	if ((err = head_there(c, x->d, &s)) < 0)
		return err;
	x->found[j - x->heads] = (char)err;
	return 0;
}

/* Every blob asked about at once; see steps.h. */
int bp_steps__blobs_check(bp_client *c, bp_dest *d, const job *jobs, size_t n, char *found)
{
	check_ctx x = { d, NULL, found };
	job *heads = calloc(n ? n : 1, sizeof(*heads));
	size_t i;
	int err;

	if (!heads)
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		heads[i].desc = jobs[i].desc;
		heads[i].kind = jobs[i].kind;
		heads[i].ctx = &x;
		heads[i].light = 1;
		found[i] = 0;
	}
	x.heads = heads;
	err = bp_jobs__run_wide(c, heads, n, check_one, bp_registry__multiplexed(d->reg));
	free(heads);
	return err;
}

/* There, mounted or sent; see steps.h. */
int bp_steps__blob_put(bp_client *c, bp_dest *d, bp_blob_step *s)
{
	const bp_blob_source *src = s->source;
	int opened = 0, err;

	if ((err = bp_steps__blob_there(c, d, s)) != 0)
		goto done;
	opened = 1;
	if (src->open && (err = src->open(c, d, s, s->payload)))
		goto done;
	bp_client__emit(c, BP_EVENT_BLOB_START, s->label, s->kind, 0, s->total, NULL);
	err = src->send(c, d, s, s->payload);
done:
	if (opened && src->close)
		src->close(s->payload);
	free(s->session);
	s->session = NULL;
	if (err)
		return err < 0 ? err : 0;
	bp_client__emit(c, BP_EVENT_BLOB_DONE, s->label, s->kind, s->out_size, s->out_size, NULL);
	remember(d, s, s->out_digest);
	return 0;
}

/* Jobs for an image's blobs; see steps.h. */
job *bp_steps__image_jobs(const bp_manifest *m, void *ctx, size_t *n)
{
	size_t nl = bp_manifest_count(m), i;
	job *jobs = calloc(nl + 1, sizeof(*jobs));

	if (!jobs) {
		bp_error_set(BP_ENOMEM, "out of memory");
		return NULL;
	}
	jobs[0].desc = bp_manifest_config(m);
	jobs[0].kind = "config";
	jobs[0].ctx = ctx;
	for (i = 0; i < nl; i++) {
		jobs[i + 1].desc = bp_manifest_item(m, i);
		jobs[i + 1].kind = "layer";
		jobs[i + 1].ctx = ctx;
	}
	*n = nl + 1;
	return jobs;
}

/* ---- manifests ---- */

/* Free a fetched manifest; see steps.h. */
void bp_steps__fetched_release(bp_fetched *f)
{
	free(f->bytes);
	free(f->ctype);
	bp_manifest_free(f->m);
	memset(f, 0, sizeof(*f));
}

/* Fetch and verify a manifest; see steps.h. */
int bp_steps__manifest_fetch(bp_registry *reg, const char *repo, const char *ref, int by_digest,
			     bp_fetch_what what, const char *name, bp_fetched *f)
{
	char sent[BP_DIGEST_MAX];
	int err;

	memset(f, 0, sizeof(*f));
	if ((err = bp_registry__manifest_get(reg, repo, ref, &f->bytes, &f->len, &f->ctype,
					     sent)) ||
	    (err = bp_digest_buf(f->digest, f->bytes, f->len)))
		goto done;
	if (by_digest && !bp_digest_equal(f->digest, ref)) {
		err = bp_error_set(BP_EINTEGRITY,
				   "manifest %s: registry sent bytes that hash to %s", ref,
				   f->digest);
		goto done;
	}
	/* the registry checked that what it sent is a digest */
	if (sent[0] && !bp_digest_equal(sent, f->digest)) {
		err = bp_error_set(
			BP_EINTEGRITY,
			"manifest %s: Docker-Content-Digest %s, but the bytes hash to %s", ref,
			sent, f->digest);
		goto done;
	}
	if (what == BP_FETCH_BYTES)
		goto done;
	if ((err = bp_manifest_parse(&f->m, f->bytes, f->len, f->ctype))) {
		if (name)
			bp_error_prefix("%s: manifest %s", name, f->digest);
		else
			bp_error_prefix("manifest %s", f->digest);
		goto done;
	}
	if (what == BP_FETCH_IMAGE && bp_manifest_kind_is_index(bp_manifest_kind_get(f->m)))
		err = bp_error_set(BP_EUNSUPPORTED, "%s: index within an index",
				   name ? name : f->digest);
done:
	if (err)
		bp_steps__fetched_release(f);
	return err;
}

/* What bp_steps__manifest_read() asks each source. */
typedef struct {
	const char *ref;
	int by_digest;
	bp_fetch_what what;
	const char *name;
	bp_fetched *f;
} read_args;

static int read_one(bp_client *c, bp_source_try *t, void *payload)
{
	read_args *a = payload;

	return bp_steps__manifest_fetch(t->reg, t->repo, a->ref, a->by_digest, a->what, a->name,
					a->f);
}

/* Fetch a manifest from the first source that has it right; see steps.h. */
int bp_steps__manifest_read(bp_sources *src, const char *ref, int by_digest, bp_fetch_what what,
			    const char *name, bp_fetched *f)
{
	read_args a = { ref, by_digest, what, name, f };
	char label[300];

	memset(f, 0, sizeof(*f));
	snprintf(label, sizeof(label), "manifest %s", ref);
	return bp_sources__try(src, by_digest ? BP_SOURCE_PULL : BP_SOURCE_RESOLVE, label, read_one,
			       &a);
}

/* Choose a platform's manifest; see steps.h. */
int bp_steps__platform_pick(bp_client *c, const bp_manifest *idx, const char *idx_digest,
			    const char *platform, const char *name, const bp_descriptor **pick)
{
	int err;

	if ((err = bp_manifest_select_platform(idx, platform, pick))) {
		bp_error_prefix("%s", name);
		return err;
	}
	bp_client__debug(c, "index %s: platform %s is %s", idx_digest, platform, (*pick)->digest);
	return 0;
}

/* Is the manifest there already? See steps.h. */
int bp_steps__manifest_there(bp_client *c, bp_dest *d, const bp_manifest *m, const char *ref,
			     const char *digest)
{
	char got[BP_DIGEST_MAX] = "";
	size_t i;

	if (bp_registry__manifest_get(d->reg, d->repo, ref, NULL, NULL, NULL, got) ||
	    !bp_digest_equal(got, digest)) {
		bp_error_clear();
		return 0;
	}
	bp_client__debug(c, "%s:%s is %s already: nothing to send", d->repo, ref, digest);
	if (!bp_manifest_kind_is_index(bp_manifest_kind_get(m))) {
		const bp_descriptor *cfg = bp_manifest_config(m);

		if (cfg)
			bp_client__emit(c, BP_EVENT_BLOB_EXISTS, cfg->digest, "config", cfg->size,
					cfg->size, NULL);
		for (i = 0; i < bp_manifest_count(m); i++) {
			const bp_descriptor *b = bp_manifest_item(m, i);

			bp_client__emit(c, BP_EVENT_BLOB_EXISTS, b->digest, "layer", b->size,
					b->size, NULL);
		}
	}
	return 1;
}

/* PUT a manifest and check what the registry stored; see steps.h. */
int bp_steps__manifest_put(bp_client *c, bp_dest *d, const char *ref, const char *bytes, size_t len,
			   const char *media_type, const char *digest, const char *kind)
{
	return bp_steps__manifest_put_ex(c, d, ref, bytes, len, media_type, digest, kind, NULL);
}

/* The same, learning what x asks; see steps.h. */
int bp_steps__manifest_put_ex(bp_client *c, bp_dest *d, const char *ref, const char *bytes,
			      size_t len, const char *media_type, const char *digest,
			      const char *kind, bp_manifest_extra *x)
{
	char got[BP_DIGEST_MAX];
	int err;

	err = bp_registry__manifest_put_ex(d->reg, d->repo, ref ? ref : digest, bytes, len,
					   media_type, got, x);
	if (err)
		return err;
	/* the registry must have stored exactly these bytes */
	if (got[0] && !bp_digest_equal(got, digest))
		return bp_error_set(BP_EINTEGRITY,
				    "manifest %s: registry answered Docker-Content-Digest %s",
				    digest, got);
	bp_client__emit(c, BP_EVENT_MANIFEST, digest, kind, (int64_t)len, (int64_t)len, NULL);
	return 0;
}
