/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Referrers (OCI distribution 1.1): the list of the manifests whose
 * subject is a given digest, from the registry's referrers API or, on a
 * registry without it, from the image index clients keep under the
 * referrers tag ("sha256-<hex>"). Registries disagree on how they say
 * they lack the API, so every answer that says so in any of the usual
 * ways leads to the tag (registry_referrers.c decides on the status; the
 * body is judged here). Writing that index, for a copy to such a
 * registry, reads it, merges and puts it back conditionally.
 */
#include <beampush/manifest.h>
#include <beampush/referrers.h>

#include "client.h"
#include "referrers.h"
#include "registry.h"
#include "steps.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Sizes at or above 2^53 are not exact in a double. */
#define SIZE_EXACT_LIMIT 9007199254740992.0

/* ---- a set of digests ---- */

static size_t set_hash(const char *s)
{
	size_t h = 1469598103u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of digest in v (cap a power of two): its own, or the empty one where it goes. */
static char **set_slot(char **v, size_t cap, const char *digest)
{
	size_t i = set_hash(digest) & (cap - 1);

	while (v[i] && strcmp(v[i], digest) != 0)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* See referrers.h. */
int bp_referrers__set_has(const bp_digest_set *s, const char *digest)
{
	return s->cap && *set_slot(s->v, s->cap, digest) != NULL;
}

/* See referrers.h. */
int bp_referrers__set_add(bp_digest_set *s, const char *digest)
{
	char **slot;
	size_t i;

	if (bp_referrers__set_has(s, digest))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		char **v = calloc(cap, sizeof(*v));

		if (!v)
			return -1;
		for (i = 0; i < s->cap; i++)
			if (s->v[i])
				*set_slot(v, cap, s->v[i]) = s->v[i];
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	slot = set_slot(s->v, s->cap, digest);
	if (!(*slot = bp_strdup(digest)))
		return -1;
	s->n++;
	return 1;
}

/* See referrers.h. */
void bp_referrers__set_release(bp_digest_set *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- lists ---- */

static void referrer_release(bp_referrer *r)
{
	size_t i;

	free((char *)r->media_type);
	free((char *)r->artifact_type);
	for (i = 0; i < r->nannotations; i++) {
		free((char *)r->annotations[i].key);
		free((char *)r->annotations[i].value);
	}
	free((bp_annotation *)r->annotations);
	memset(r, 0, sizeof(*r));
}

/* See referrers.h. */
void bp_referrers__list_release(bp_referrers_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		referrer_release(&l->v[i]);
	free(l->v);
	bp_referrers__set_release(&l->digests);
	memset(l, 0, sizeof(*l));
}

/* See referrers.h. */
int bp_referrers__list_has(const bp_referrers_list *l, const char *digest)
{
	return bp_referrers__set_has(&l->digests, digest);
}

/* Room for one more entry at l->v[l->n]. 0 or -1. */
static int list_grow(bp_referrers_list *l)
{
	bp_referrer *v;
	size_t cap;

	if (l->n < l->cap)
		return 0;
	cap = l->cap ? l->cap * 2 : 8;
	if (!(v = realloc(l->v, cap * sizeof(*v))))
		return -1;
	l->v = v;
	l->cap = cap;
	return 0;
}

/* Back to its first n entries, after a failed add: the entries and the set. */
static void list_truncate(bp_referrers_list *l, size_t n)
{
	size_t i;

	for (i = n; i < l->n; i++)
		referrer_release(&l->v[i]);
	l->n = n;
	bp_referrers__set_release(&l->digests);
	for (i = 0; i < n; i++)
		if (bp_referrers__set_add(&l->digests, l->v[i].digest) < 0)
			break; /* a set that lacks some only lets a duplicate in */
}

/* See referrers.h. */
void bp_referrers__tag(const char *digest, char out[BP_REFERRERS_TAG_MAX])
{
	const char *colon = strchr(digest, ':');
	size_t alg = colon ? (size_t)(colon - digest) : strlen(digest), enc, i, o = 0;
	const char *e = colon ? colon + 1 : "";

	if (alg > 32)
		alg = 32;
	enc = strlen(e);
	if (enc > 64)
		enc = 64;
	for (i = 0; i < alg; i++)
		out[o++] = digest[i];
	out[o++] = '-';
	for (i = 0; i < enc; i++)
		out[o++] = e[i];
	out[o] = '\0';
	for (i = 0; i < o; i++) {
		char ch = out[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			out[i] = '-';
	}
}

/* ---- parsing an index of referrers ---- */

/* A whole byte count, exact in a double; -1 when v is not one. */
static int64_t whole_size(const cJSON *v)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!(d >= 0) || d >= SIZE_EXACT_LIMIT || (double)(int64_t)d != d)
		return -1;
	return (int64_t)d;
}

/* 0 when annotations (may be NULL) is an object of strings; else what is wrong. */
static const char *annotations_wrong(const cJSON *annotations)
{
	const cJSON *a;

	if (!annotations)
		return NULL;
	if (!cJSON_IsObject(annotations))
		return "annotations is not an object";
	cJSON_ArrayForEach (a, annotations)
		if (!cJSON_IsString(a) || !a->string)
			return "an annotation is not a string";
	return NULL;
}

/* What is wrong with entry e of an index of referrers, or NULL. */
static const char *entry_wrong(const cJSON *e)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(e, "mediaType"),
		    *dg = cJSON_GetObjectItemCaseSensitive(e, "digest"),
		    *at = cJSON_GetObjectItemCaseSensitive(e, "artifactType");

	if (!cJSON_IsObject(e))
		return "not a JSON object";
	if (!cJSON_IsString(mt) || !*mt->valuestring)
		return "no mediaType";
	if (!cJSON_IsString(dg) || bp_digest_validate(dg->valuestring) < 0) {
		bp_error_clear();
		return "no valid digest";
	}
	if (whole_size(cJSON_GetObjectItemCaseSensitive(e, "size")) < 0)
		return "no valid size";
	if (at && !cJSON_IsString(at))
		return "artifactType is not a string";
	return annotations_wrong(cJSON_GetObjectItemCaseSensitive(e, "annotations"));
}

/* The annotations object a (of strings, or NULL) copied into r. 0 or -1. */
static int take_annotations(bp_referrer *r, const cJSON *a)
{
	const cJSON *v;
	bp_annotation *list;
	size_t n = 0;
	int count = a ? cJSON_GetArraySize(a) : 0;

	if (count <= 0)
		return 0;
	if (!(list = calloc((size_t)count, sizeof(*list))))
		return -1;
	r->annotations = list;
	cJSON_ArrayForEach (v, a) {
		if (!(list[n].key = bp_strdup(v->string)) ||
		    !(list[n].value = bp_strdup(v->valuestring))) {
			free((char *)list[n].key);
			break;
		}
		r->nannotations = ++n;
	}
	return n == (size_t)count ? 0 : -1;
}

/*
 * A new entry at the end of l for digest (of media type, size, artifact
 * type), its annotations still to fill: *out, or NULL when l lists the
 * digest already. 0, BP_EPROTO past BP_REFERRERS_MAX, or BP_ENOMEM (l as
 * it was).
 */
static int list_append(bp_referrers_list *l, const char *media_type, const char *digest,
		       int64_t size, const char *artifact_type, bp_referrer **out)
{
	bp_referrer *r;

	*out = NULL;
	if (bp_referrers__list_has(l, digest))
		return 0;
	if (l->n >= BP_REFERRERS_MAX)
		return bp_error_set(BP_EPROTO, "more than %d referrers: giving up",
				    BP_REFERRERS_MAX);
	if (list_grow(l) < 0 || bp_referrers__set_add(&l->digests, digest) < 0)
		return bp_error_set(BP_ENOMEM, "out of memory");
	r = &l->v[l->n];
	memset(r, 0, sizeof(*r));
	bp_strlcpy(r->digest, digest, sizeof(r->digest));
	r->size = size;
	l->n++;
	if (!(r->media_type = bp_strdup(media_type)) ||
	    (artifact_type && !(r->artifact_type = bp_strdup(artifact_type)))) {
		list_truncate(l, l->n - 1);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	*out = r;
	return 0;
}

/* list_append() with the annotations of a JSON object (of strings, or NULL). */
static int list_add(bp_referrers_list *l, const char *media_type, const char *digest, int64_t size,
		    const char *artifact_type, const cJSON *annotations)
{
	bp_referrer *r;
	int err = list_append(l, media_type, digest, size, artifact_type, &r);

	if (err || !r)
		return err;
	if (take_annotations(r, annotations) < 0) {
		list_truncate(l, l->n - 1);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	return 0;
}

/* See referrers.h. */
int bp_referrers__list_add(bp_referrers_list *l, const bp_referrer *from)
{
	bp_annotation *a = NULL;
	bp_referrer *r;
	size_t i;
	int err =
		list_append(l, from->media_type, from->digest, from->size, from->artifact_type, &r);

	if (err || !r || !from->nannotations)
		return err;
	if (!(a = calloc(from->nannotations, sizeof(*a))))
		goto nomem;
	r->annotations = a;
	for (i = 0; i < from->nannotations; i++) {
		if (!(a[i].key = bp_strdup(from->annotations[i].key)) ||
		    !(a[i].value = bp_strdup(from->annotations[i].value))) {
			free((char *)a[i].key);
			goto nomem;
		}
		r->nannotations = i + 1;
	}
	return 0;
nomem:
	list_truncate(l, l->n - 1);
	return bp_error_set(BP_ENOMEM, "out of memory");
}

/* See referrers.h. */
int bp_referrers__parse(const char *body, size_t len, const char *subject, bp_referrers_list *l)
{
	const char *end = NULL, *p;
	cJSON *root, *mt, *arr, *e;
	size_t before = l->n, i = 0;
	int err = 0;

	if (!body || len == 0)
		return bp_error_set(BP_EUNSUPPORTED, "empty, not an image index");
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	for (p = end; root && p < body + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			break;
	if (!root || p < body + len) {
		cJSON_Delete(root);
		return bp_error_set(BP_EUNSUPPORTED, "not JSON, not an image index");
	}
	mt = cJSON_GetObjectItemCaseSensitive(root, "mediaType");
	arr = cJSON_GetObjectItemCaseSensitive(root, "manifests");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(arr) ||
	    (mt && !(cJSON_IsString(mt) && strcmp(mt->valuestring, BP_MEDIA_OCI_INDEX) == 0))) {
		if (cJSON_IsString(mt) && strcmp(mt->valuestring, BP_MEDIA_OCI_INDEX) != 0)
			err = bp_error_set(BP_EUNSUPPORTED,
					   "of media type %.100s, not an image index",
					   mt->valuestring);
		else
			err = bp_error_set(BP_EUNSUPPORTED,
					   "JSON without a manifests array, not an image index");
		goto done;
	}
	/* checked whole first: a malformed index adds nothing */
	cJSON_ArrayForEach (e, arr) {
		const char *wrong = entry_wrong(e);
		const cJSON *dg = cJSON_GetObjectItemCaseSensitive(e, "digest");

		if (wrong) {
			err = bp_error_set(BP_EPROTO, "index of referrers: manifests[%zu]: %s", i,
					   wrong);
			goto done;
		}
		if (subject && bp_digest_equal(dg->valuestring, subject)) {
			err = bp_error_set(BP_EPROTO,
					   "index of referrers: manifests[%zu] is %s itself, a "
					   "manifest cannot refer to itself",
					   i, subject);
			goto done;
		}
		i++;
	}
	cJSON_ArrayForEach (e, arr) {
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(e, "artifactType");

		err = list_add(l, cJSON_GetObjectItemCaseSensitive(e, "mediaType")->valuestring,
			       cJSON_GetObjectItemCaseSensitive(e, "digest")->valuestring,
			       whole_size(cJSON_GetObjectItemCaseSensitive(e, "size")),
			       cJSON_IsString(at) ? at->valuestring : NULL,
			       cJSON_GetObjectItemCaseSensitive(e, "annotations"));
		if (err) {
			list_truncate(l, before);
			goto done;
		}
	}
done:
	cJSON_Delete(root);
	return err;
}

/* See referrers.h. */
int bp_referrers__describe(const char *bytes, size_t len, const char *media_type,
			   const char *digest, bp_referrers_list *l, char subject[BP_DIGEST_MAX])
{
	cJSON *root = cJSON_ParseWithLength(bytes, len);
	const cJSON *at, *cfg, *sub, *annotations;
	const char *type = NULL, *wrong;
	int err = 0;

	subject[0] = '\0';
	if (!cJSON_IsObject(root)) {
		err = bp_error_set(BP_EPROTO, "manifest %s is not a JSON object", digest);
		goto done;
	}
	at = cJSON_GetObjectItemCaseSensitive(root, "artifactType");
	cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
	sub = cJSON_GetObjectItemCaseSensitive(root, "subject");
	annotations = cJSON_GetObjectItemCaseSensitive(root, "annotations");
	if (at && !cJSON_IsString(at)) {
		err = bp_error_set(BP_EPROTO, "manifest %s: artifactType is not a string", digest);
		goto done;
	}
	if ((wrong = annotations_wrong(annotations))) {
		err = bp_error_set(BP_EPROTO, "manifest %s: %s", digest, wrong);
		goto done;
	}
	/* an image manifest without artifactType is of its config's type; an index, of none */
	if (cJSON_IsString(at) && *at->valuestring)
		type = at->valuestring;
	else if (!bp_manifest_kind_is_index(bp_manifest_kind_of(media_type)) &&
		 cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cfg, "mediaType")))
		type = cJSON_GetObjectItemCaseSensitive(cfg, "mediaType")->valuestring;
	if (cJSON_IsObject(sub)) {
		const cJSON *sd = cJSON_GetObjectItemCaseSensitive(sub, "digest");

		if (cJSON_IsString(sd) && bp_digest_validate(sd->valuestring) == 0)
			bp_strlcpy(subject, sd->valuestring, BP_DIGEST_MAX);
		bp_error_clear();
	}
	err = list_add(l, media_type, digest, (int64_t)len, type, annotations);
done:
	cJSON_Delete(root);
	return err;
}

/* ---- finding the referrers of a digest ---- */

/* See referrers.h. */
void bp_referrers__found_release(bp_referrers_found *f)
{
	bp_referrers__list_release(&f->list);
	free(f->note);
	memset(f, 0, sizeof(*f));
}

/* What the API pages are parsed into. */
typedef struct {
	const char *subject;
	bp_referrers_found *f;
	int filtered;
} api_walk;

/* bp_registry__referrers' callback: a first page that is no index means no API. */
static int api_page(const bp_referrers_page *p, void *payload)
{
	api_walk *w = payload;
	int err = bp_referrers__parse(p->body, p->len, w->subject, &w->f->list);

	if (err == BP_EUNSUPPORTED && p->page == 1)
		return bp_error_prefix("the referrers API answered 200 with %s",
				       p->content_type ? p->content_type : "no content type");
	if (err == BP_EUNSUPPORTED) {
		char why[300];

		bp_strlcpy(why, bp_error_last(), sizeof(why));
		return bp_error_set(BP_EPROTO, "referrers of %s: page %zu: %s", w->subject, p->page,
				    why);
	}
	if (err)
		return bp_error_prefix("referrers of %s: page %zu", w->subject, p->page);
	/* every page filtered, or the list is filtered here */
	w->filtered = p->page == 1 ? p->filtered : w->filtered && p->filtered;
	return 0;
}

/* Note why the tag schema was read (or its content ignored), for the result. */
static int note(bp_referrers_found *f, const char *fmt, const char *what)
{
	free(f->note);
	if (!(f->note = bp_aprintf(fmt, what)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

/* The index under the referrers tag, the registry having no API. */
static int from_tag(bp_registry *reg, const char *repo, const char *subject,
		    const bp_referrers_query *q, bp_referrers_found *f)
{
	char tag[BP_REFERRERS_TAG_MAX], there[BP_DIGEST_MAX] = "";
	bp_fetched got = { NULL, 0, NULL, "", NULL };
	int err;

	bp_referrers__tag(subject, tag);
	f->source = BP_REFERRERS_FROM_NONE;
	/* a HEAD first: it costs no pull where a registry counts them */
	err = bp_registry__manifest_get(reg, repo, tag, NULL, NULL, NULL, there);
	if (!err && q && q->before_get && (err = q->before_get(tag, q->payload)))
		return err;
	if (!err) {
		err = bp_steps__manifest_fetch(reg, repo, tag, 0, BP_FETCH_BYTES, NULL, &got);
		if (q && q->after_get)
			q->after_get(q->payload);
	}
	if (err == BP_ENOTFOUND) {
		/* no tag (or gone between the HEAD and the GET): no referrers */
		bp_error_clear();
		return 0;
	}
	if (err)
		return err;
	err = bp_referrers__parse(got.bytes, got.len, subject, &f->list);
	if (err == BP_EUNSUPPORTED) {
		char why[300], *n;

		/* the spec's word: a tag that holds no index means no referrers */
		bp_strlcpy(why, bp_error_last(), sizeof(why));
		bp_error_clear();
		n = bp_aprintf("the tag %s holds no index of referrers: ignored (%s)", tag, why);
		free(f->note);
		f->note = n;
		err = n ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
		f->tag_ignored = 1;
	} else if (err) {
		bp_error_prefix("%s:%s", repo, tag);
	} else {
		f->source = BP_REFERRERS_FROM_TAG;
	}
	bp_steps__fetched_release(&got);
	return err;
}

/* See referrers.h. */
int bp_referrers__find(bp_registry *reg, const char *repo, const char *subject,
		       const bp_referrers_query *q, bp_referrers_found *f)
{
	api_walk w = { subject, f, 0 };
	int api = q && q->api ? *q->api : BP_REFERRERS_API_UNKNOWN, err = BP_EUNSUPPORTED;

	memset(f, 0, sizeof(*f));
	if (api != BP_REFERRERS_API_NO)
		err = bp_registry__referrers(reg, repo, subject, q ? q->artifact_type : NULL,
					     api_page, &w);
	if (!err) {
		f->source = BP_REFERRERS_FROM_API;
		f->filtered = w.filtered;
		api = BP_REFERRERS_API_YES;
	} else if (err == BP_EUNSUPPORTED) {
		if (api != BP_REFERRERS_API_NO && (err = note(f, "%s", bp_error_last())))
			goto done;
		bp_error_clear();
		/* the API's first page, if any, is not the list */
		bp_referrers__list_release(&f->list);
		api = BP_REFERRERS_API_NO;
		err = from_tag(reg, repo, subject, q, f);
	}
	if (q && q->api && !err)
		*q->api = api;
done:
	if (err)
		bp_referrers__found_release(f);
	return err;
}

/* ---- keeping the index under the referrers tag ---- */

/* {mediaType, digest, size[, artifactType][, annotations]} of r. NULL out of memory. */
static cJSON *entry_json(const bp_referrer *r)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	if (!o || !cJSON_AddStringToObject(o, "mediaType", r->media_type) ||
	    !cJSON_AddStringToObject(o, "digest", r->digest) ||
	    !cJSON_AddNumberToObject(o, "size", (double)r->size) ||
	    (r->artifact_type && !cJSON_AddStringToObject(o, "artifactType", r->artifact_type)))
		goto fail;
	if (r->nannotations) {
		if (!(a = cJSON_AddObjectToObject(o, "annotations")))
			goto fail;
		for (i = 0; i < r->nannotations; i++)
			if (!cJSON_AddStringToObject(a, r->annotations[i].key,
						     r->annotations[i].value))
				goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/*
 * The index the tag should hold: what it holds (bytes, NULL for none)
 * with the entries of add it lacks appended. *out NULL when it lacks
 * none. BP_EPROTO when the bytes are no index of referrers.
 */
static int merged(const char *bytes, size_t len, const char *tag, const char *subject,
		  const bp_referrers_list *add, char **out, size_t *outlen, size_t *added)
{
	bp_referrers_list have = BP_REFERRERS_LIST_INIT;
	cJSON *root = NULL, *arr, *e;
	char *text = NULL;
	size_t i;
	int err = 0;

	*out = NULL;
	*added = 0;
	if (bytes) {
		if ((err = bp_referrers__parse(bytes, len, subject, &have))) {
			char why[600];

			bp_strlcpy(why, bp_error_last(), sizeof(why));
			err = bp_error_set(err == BP_ENOMEM ? err : BP_EPROTO, "tag %s: %s%s", tag,
					   why, err == BP_ENOMEM ? "" : ": not overwritten");
			goto done;
		}
		root = cJSON_ParseWithLength(bytes, len);
	} else if ((root = cJSON_CreateObject())) {
		if (!cJSON_AddNumberToObject(root, "schemaVersion", 2) ||
		    !cJSON_AddStringToObject(root, "mediaType", BP_MEDIA_OCI_INDEX) ||
		    !cJSON_AddArrayToObject(root, "manifests")) {
			cJSON_Delete(root);
			root = NULL;
		}
	}
	if (!root || !(arr = cJSON_GetObjectItemCaseSensitive(root, "manifests"))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < add->n; i++) {
		if (bp_referrers__list_has(&have, add->v[i].digest))
			continue;
		if (!(e = entry_json(&add->v[i]))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
		cJSON_AddItemToArray(arr, e);
		(*added)++;
	}
	if (!*added)
		goto done;
	if (!(text = cJSON_PrintUnformatted(root))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if (strlen(text) > BP_MANIFEST_MAX) {
		err = bp_error_set(BP_EPROTO, "tag %s: the index of referrers would pass 4 MiB",
				   tag);
		goto done;
	}
	*outlen = strlen(text);
	*out = bp_strdup(text);
	if (!*out)
		err = bp_error_set(BP_ENOMEM, "out of memory");
done:
	cJSON_free(text);
	cJSON_Delete(root);
	bp_referrers__list_release(&have);
	return err;
}

/* See referrers.h. */
int bp_referrers__tag_add(bp_client *c, bp_registry *reg, const char *repo, const char *subject,
			  const bp_referrers_list *add, size_t *added)
{
	char tag[BP_REFERRERS_TAG_MAX], digest[BP_DIGEST_MAX], got[BP_DIGEST_MAX];
	int tries, err = 0;
	size_t n = 0;

	bp_referrers__tag(subject, tag);
	for (tries = 1;; tries++) {
		bp_manifest_extra x = BP_MANIFEST_EXTRA_INIT;
		char *bytes = NULL, *index = NULL, *ctype = NULL;
		size_t len = 0, ilen = 0;

		err = bp_registry__manifest_get_ex(reg, repo, tag, &bytes, &len, &ctype, NULL, &x);
		if (err == BP_ENOTFOUND) {
			bp_error_clear();
			err = 0;
		}
		if (!err)
			err = merged(bytes, len, tag, subject, add, &index, &ilen, &n);
		if (!err && index) {
			x.if_match = x.etag;
			err = bp_digest_buf(digest, index, ilen);
			if (!err)
				err = bp_registry__manifest_put_ex(reg, repo, tag, index, ilen,
								   BP_MEDIA_OCI_INDEX, got, &x);
			if (!err && got[0] && !bp_digest_equal(got, digest))
				err = bp_error_set(
					BP_EINTEGRITY,
					"tag %s: registry answered Docker-Content-Digest "
					"%s for the index %s",
					tag, got, digest);
			if (!err) {
				bp_client__debug(c, "%s:%s lists %zu more referrers of %s (%s)",
						 repo, tag, n, subject, digest);
				bp_client__emit(c, BP_EVENT_MANIFEST, digest, "index",
						(int64_t)ilen, (int64_t)ilen, NULL);
			}
		}
		free(bytes);
		free(ctype);
		free(index);
		if (err && x.status == 412 && tries < BP_REFERRERS_TAG_TRIES) {
			/* another writer came between our GET and PUT: read theirs, merge again */
			bp_client__debug(
				c, "%s:%s changed while it was written (412): reading it again",
				repo, tag);
			bp_registry__manifest_extra_release(&x);
			bp_error_clear();
			continue;
		}
		if (err && x.status == 412)
			err = bp_error_set(
				BP_ERROR,
				"tag %s: the index of referrers changed under each of %d "
				"writes (412 Precondition Failed), not written: copy again",
				tag, BP_REFERRERS_TAG_TRIES);
		bp_registry__manifest_extra_release(&x);
		break;
	}
	if (added)
		*added = err ? 0 : n;
	return err;
}

/* ---- bp_referrers() ---- */

typedef struct {
	bp_referrers_result pub; /* first: what the caller holds */
	char *name, *tag, *note;
	bp_referrers_list list;
} result;

/* Fill opts with the defaults; see referrers.h. */
int bp_referrers_options_init(bp_referrers_options *opts, unsigned int version)
{
	const bp_referrers_options defaults = BP_REFERRERS_OPTIONS_INIT;
	int err;

	if ((err = bp_client__check_version("bp_referrers_options", version,
					    BP_REFERRERS_OPTIONS_VERSION)))
		return err;
	*opts = defaults;
	return 0;
}

/* Free a result; see referrers.h. */
void bp_referrers_result_free(bp_referrers_result *r)
{
	result *x = (result *)r;

	if (!x)
		return;
	free(x->name);
	free(x->tag);
	free(x->note);
	bp_referrers__list_release(&x->list);
	free(x);
}

/*
 * The digest ref names: a digest must be in the repository (HEAD), a tag
 * is resolved by HEAD (by GET and a hash when the registry sends no
 * digest on a HEAD).
 */
static int resolve(bp_registry *reg, const bp_reference *ref, char out[BP_DIGEST_MAX])
{
	const char *repo = bp_reference_path(ref), *obj = bp_reference_object(ref);
	char there[BP_DIGEST_MAX] = "";
	bp_fetched f = { NULL, 0, NULL, "", NULL };
	int err;

	if ((err = bp_registry__manifest_get(reg, repo, obj, NULL, NULL, NULL, there)))
		return err;
	if (bp_reference_digest(ref)) {
		bp_strlcpy(out, bp_reference_digest(ref), BP_DIGEST_MAX);
		return 0;
	}
	if (there[0]) {
		bp_strlcpy(out, there, BP_DIGEST_MAX);
		return 0;
	}
	if (!(err = bp_steps__manifest_fetch(reg, repo, obj, 0, BP_FETCH_BYTES, NULL, &f)))
		bp_strlcpy(out, f.digest, BP_DIGEST_MAX);
	bp_steps__fetched_release(&f);
	return err;
}

/* Keep the referrers of type only (a filter the registry did not apply). */
static void keep_type(bp_referrers_list *l, const char *type)
{
	size_t i, o = 0;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].artifact_type && strcmp(l->v[i].artifact_type, type) == 0)
			l->v[o++] = l->v[i];
		else
			referrer_release(&l->v[i]);
	}
	l->n = o;
}

/* List referrers; see referrers.h. */
int bp_referrers(bp_client *c, const bp_reference *ref, const bp_referrers_options *opts,
		 bp_referrers_result **out)
{
	const bp_referrers_options defaults = BP_REFERRERS_OPTIONS_INIT;
	bp_referrers_query q = { NULL, NULL, NULL, NULL, NULL };
	bp_referrers_found f = { BP_REFERRERS_LIST_INIT, BP_REFERRERS_FROM_NONE, 0, 0, NULL };
	bp_registry *reg = NULL;
	result *x = NULL;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((err = bp_client__check_version("bp_referrers_options", opts->version,
					    BP_REFERRERS_OPTIONS_VERSION)))
		return err;
	if (!(x = calloc(1, sizeof(*x))) || !(x->name = bp_strdup(bp_reference_name(ref))) ||
	    (bp_reference_tag(ref) && !(x->tag = bp_strdup(bp_reference_tag(ref))))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = bp_client__open_registry(c, bp_reference_domain(ref), NULL, 0, &reg)) ||
	    (err = resolve(reg, ref, x->pub.subject)))
		goto done;
	bp_client__debug(c, "%s is %s", bp_reference_string(ref), x->pub.subject);
	q.artifact_type = opts->artifact_type;
	if ((err = bp_referrers__find(reg, bp_reference_path(ref), x->pub.subject, &q, &f))) {
		bp_error_prefix("%s", bp_reference_string(ref));
		goto done;
	}
	if (opts->artifact_type && !f.filtered)
		keep_type(&f.list, opts->artifact_type);
	x->list = f.list;
	x->note = f.note;
	f.note = NULL;
	memset(&f.list, 0, sizeof(f.list));
	x->pub.name = x->name;
	x->pub.tag = x->tag;
	x->pub.source = f.source;
	x->pub.tag_ignored = f.tag_ignored;
	bp_referrers__tag(x->pub.subject, x->pub.fallback_tag);
	x->pub.filtered = opts->artifact_type != NULL;
	x->pub.note = x->note;
	x->pub.referrers = x->list.v;
	x->pub.n = x->list.n;
done:
	bp_referrers__found_release(&f);
	bp_registry__free(reg);
	if (err) {
		if (x)
			bp_referrers_result_free(&x->pub);
		return err;
	}
	*out = &x->pub;
	return 0;
}

/* The result as JSON; see referrers.h. */
int bp_referrers_result_json(const bp_referrers_result *r, char **out, size_t *len)
{
	static const char *const sources[] = { "api", "tag", "none" };
	cJSON *o = cJSON_CreateObject(), *arr = NULL, *e;
	char *text = NULL;
	size_t i;
	int ok;

	*out = NULL;
	*len = 0;
	ok = o && cJSON_AddStringToObject(o, "Name", r->name) &&
	     (!r->tag || cJSON_AddStringToObject(o, "Tag", r->tag)) &&
	     cJSON_AddStringToObject(o, "Subject", r->subject) &&
	     cJSON_AddStringToObject(o, "Source", sources[r->source]) &&
	     cJSON_AddStringToObject(o, "FallbackTag", r->fallback_tag) &&
	     cJSON_AddBoolToObject(o, "Filtered", r->filtered) &&
	     (!r->note || cJSON_AddStringToObject(o, "Note", r->note)) &&
	     (arr = cJSON_AddArrayToObject(o, "Referrers"));
	for (i = 0; ok && i < r->n; i++) {
		ok = (e = entry_json(&r->referrers[i])) != NULL;
		if (ok)
			cJSON_AddItemToArray(arr, e);
	}
	ok = ok && (text = cJSON_Print(o)) && (*out = bp_aprintf("%s\n", text));
	cJSON_free(text);
	cJSON_Delete(o);
	if (!ok)
		return bp_error_set(BP_ENOMEM, "out of memory rendering the referrers");
	*len = strlen(*out);
	return 0;
}
