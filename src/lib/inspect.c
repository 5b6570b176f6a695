/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect, tags, delete: the commands that look at a registry (or remove
 * from it) without moving an image. The summary is built here, as text
 * or JSON, so that the tool needs no JSON library.
 */
#include <beampush/inspect.h>
#include <beampush/manifest.h>

#include "client.h"
#include "registry.h"
#include "steps.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A config blob larger than this is not read (real ones are a few KiB). */
#define CONFIG_MAX (8 * 1024 * 1024)
/* The rendered summary: a 4 MiB manifest of tiny layers stays well below. */
#define SUMMARY_MAX (64 * 1024 * 1024)

/* One manifest as fetched and checked. */
typedef bp_fetched fetched;

/* A config blob into a buffer capped at its declared size. */
typedef struct {
	bp_dynbuf buf;
	const char *digest;
	int64_t size;
} config_sink;

static int config_write(const void *data, size_t len, void *p)
{
	config_sink *s = p;

	if (bp_dynbuf_add(&s->buf, data, len) == 0)
		return 0;
	if (bp_dynbuf_full(&s->buf, len))
		bp_error_set(BP_EINTEGRITY,
			     "config %s: registry sent more than the %" PRId64
			     " bytes the manifest gives",
			     s->digest, s->size);
	else
		bp_error_set(BP_ENOMEM, "out of memory");
	return 1;
}

/* Fetch the config blob d names and verify its size and digest. */
static int fetch_config(bp_registry *reg, const char *repo, const bp_descriptor *d, char **out,
			size_t *len)
{
	config_sink s = { BP_DYNBUF_INIT((size_t)d->size), d->digest, d->size };
	char got[BP_DIGEST_MAX];
	int err;

	*out = NULL;
	if (d->size > CONFIG_MAX)
		return bp_error_set(BP_EUNSUPPORTED,
				    "config %s is %" PRId64 " bytes, more than "
				    "the %d this reads",
				    d->digest, d->size, CONFIG_MAX);
	if ((err = bp_registry__blob_get(reg, repo, d->digest, 0, config_write, &s)))
		goto done;
	if ((int64_t)s.buf.len != d->size) {
		err = bp_error_set(BP_EINTEGRITY,
				   "config %s: registry sent %zu bytes, the manifest "
				   "gives %" PRId64,
				   d->digest, s.buf.len, d->size);
		goto done;
	}
	if ((err = bp_digest_buf(got, s.buf.ptr ? s.buf.ptr : "", s.buf.len)))
		goto done;
	if (!bp_digest_equal(got, d->digest)) {
		err = bp_error_set(BP_EINTEGRITY, "config %s: registry sent bytes that hash to %s",
				   d->digest, got);
		goto done;
	}
	if (!s.buf.ptr && bp_dynbuf_add(&s.buf, "", 0) < 0) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	*out = bp_dynbuf_detach(&s.buf, len);
done:
	bp_dynbuf_release(&s.buf);
	return err;
}

/* ---- the summary ---- */

/* What the summary says; strings borrowed from the manifests and the config. */
typedef struct {
	const bp_reference *ref;
	const fetched *top;   /* what REF names */
	const fetched *image; /* the image manifest summarised, or NULL for an index */
	const cJSON *config;  /* the parsed config, or NULL */
	const bp_descriptor *config_desc;
} summary;

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "os/arch[/variant]" of the config into buf ("" when it says nothing). */
static void config_platform(const cJSON *cfg, char *buf, size_t size)
{
	const char *os = jstr(cfg, "os"), *arch = jstr(cfg, "architecture");
	const char *var = jstr(cfg, "variant");

	buf[0] = '\0';
	if (os || arch)
		snprintf(buf, size, "%s/%s%s%s", os ? os : "?", arch ? arch : "?",
			 var && *var ? "/" : "", var && *var ? var : "");
}

static void entry_platform(const bp_descriptor *d, char *buf, size_t size)
{
	if (!d->os && !d->arch) {
		bp_strlcpy(buf, "-", size);
		return;
	}
	snprintf(buf, size, "%s/%s%s%s", d->os ? d->os : "?", d->arch ? d->arch : "?",
		 d->variant && *d->variant ? "/" : "", d->variant && *d->variant ? d->variant : "");
}

static int64_t image_size(const summary *s)
{
	const bp_manifest *m = s->image->m;
	int64_t total = s->config_desc ? s->config_desc->size : 0;
	size_t i;

	for (i = 0; i < bp_manifest_count(m); i++)
		total += bp_manifest_item(m, i)->size;
	return total;
}

/* The summary text; an add that fails (out of memory) is remembered. */
typedef struct {
	bp_dynbuf b;
	int failed;
} outbuf;

static void out_add(outbuf *o, const void *data, size_t len)
{
	if (bp_dynbuf_add(&o->b, data, len) < 0)
		o->failed = 1;
}

static void out_adds(outbuf *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void out_printf(outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(outbuf *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (bp_dynbuf_vprintf(&o->b, fmt, ap) < 0)
		o->failed = 1;
	va_end(ap);
}

/* Text from the registry, with control characters (escape sequences) made harmless. */
static void put_safe(outbuf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char c = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;

		out_add(b, &c, 1);
	}
}

static void put_field(outbuf *b, const char *name, const char *value)
{
	out_printf(b, "%-12s ", name);
	put_safe(b, value);
	out_adds(b, "\n");
}

/* An array of strings, one a line under the field name; nothing when absent or empty. */
static void put_list(outbuf *b, const char *name, const cJSON *arr)
{
	const cJSON *v;
	int first = 1;

	if (!cJSON_IsArray(arr))
		return;
	cJSON_ArrayForEach (v, arr) {
		out_printf(b, "%-12s ", first ? name : "");
		put_safe(b, cJSON_IsString(v) ? v->valuestring : "?");
		out_adds(b, "\n");
		first = 0;
	}
}

static int render_text(const summary *s, outbuf *b)
{
	const bp_manifest *top = s->top->m;
	char plat[160];
	size_t i;

	put_field(b, "Name:", bp_reference_name(s->ref));
	if (bp_reference_tag(s->ref))
		put_field(b, "Tag:", bp_reference_tag(s->ref));
	if (!s->image) {
		put_field(b, "Digest:", s->top->digest);
		put_field(b, "MediaType:", bp_manifest_media_type(top));
		out_printf(b, "%-12s %zu\n", "Platforms:", bp_manifest_count(top));
		for (i = 0; i < bp_manifest_count(top); i++) {
			const bp_descriptor *d = bp_manifest_item(top, i);

			entry_platform(d, plat, sizeof(plat));
			out_adds(b, "  ");
			put_safe(b, plat);
			out_printf(b, "  %s  %" PRId64 "  ", d->digest, d->size);
			put_safe(b, d->media_type);
			out_adds(b, "\n");
		}
		goto done;
	}
	put_field(b, "Digest:", s->image->digest);
	if (s->image != s->top)
		put_field(b, "Index:", s->top->digest);
	put_field(b, "MediaType:", bp_manifest_media_type(s->image->m));
	{
		const cJSON *cc = cJSON_GetObjectItemCaseSensitive(s->config, "config");
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cc, "Labels"), *l;

		config_platform(s->config, plat, sizeof(plat));
		if (plat[0])
			put_field(b, "Platform:", plat);
		if (jstr(s->config, "created"))
			put_field(b, "Created:", jstr(s->config, "created"));
		put_list(b, "Entrypoint:", cJSON_GetObjectItemCaseSensitive(cc, "Entrypoint"));
		put_list(b, "Cmd:", cJSON_GetObjectItemCaseSensitive(cc, "Cmd"));
		put_list(b, "Env:", cJSON_GetObjectItemCaseSensitive(cc, "Env"));
		if (jstr(cc, "WorkingDir") && *jstr(cc, "WorkingDir"))
			put_field(b, "WorkingDir:", jstr(cc, "WorkingDir"));
		if (cJSON_IsObject(labels)) {
			int first = 1;

			cJSON_ArrayForEach (l, labels) {
				out_printf(b, "%-12s ", first ? "Labels:" : "");
				put_safe(b, l->string);
				out_adds(b, "=");
				put_safe(b, cJSON_IsString(l) ? l->valuestring : "?");
				out_adds(b, "\n");
				first = 0;
			}
		}
	}
	out_printf(b, "%-12s %s  %" PRId64 "  ", "Config:", s->config_desc->digest,
		   s->config_desc->size);
	put_safe(b, s->config_desc->media_type);
	out_adds(b, "\n");
	out_printf(b, "%-12s %zu\n", "Layers:", bp_manifest_count(s->image->m));
	for (i = 0; i < bp_manifest_count(s->image->m); i++) {
		const bp_descriptor *d = bp_manifest_item(s->image->m, i);

		out_printf(b, "  %s  %" PRId64 "  ", d->digest, d->size);
		put_safe(b, d->media_type);
		out_adds(b, "\n");
	}
	out_printf(b, "%-12s %" PRId64 "\n", "Size:", image_size(s));
done:
	if (b->failed || !b->b.ptr)
		return bp_error_set(BP_ENOMEM, "out of memory rendering the summary");
	return 0;
}

static cJSON *descriptor_json(const bp_descriptor *d, int platform)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddStringToObject(o, "mediaType", d->media_type) ||
	    !cJSON_AddStringToObject(o, "digest", d->digest) ||
	    !cJSON_AddNumberToObject(o, "size", (double)d->size))
		goto fail;
	if (platform && (d->os || d->arch)) {
		cJSON *p = cJSON_AddObjectToObject(o, "platform");

		if (!p || (d->os && !cJSON_AddStringToObject(p, "os", d->os)) ||
		    (d->arch && !cJSON_AddStringToObject(p, "architecture", d->arch)) ||
		    (d->variant && !cJSON_AddStringToObject(p, "variant", d->variant)))
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* A copy of member key of from into to (when present). 0, or -1 out of memory. */
static int copy_member(cJSON *to, const char *as, const cJSON *from, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);
	cJSON *dup;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!(dup = cJSON_Duplicate(v, 1)))
		return -1;
	cJSON_AddItemToObject(to, as, dup);
	return 0;
}

static int render_json(const summary *s, outbuf *b)
{
	const bp_manifest *top = s->top->m, *m;
	cJSON *o = cJSON_CreateObject(), *arr, *d;
	char *text = NULL;
	size_t i;
	int ok = 0;

	if (!o || !cJSON_AddStringToObject(o, "Name", bp_reference_name(s->ref)) ||
	    (bp_reference_tag(s->ref) &&
	     !cJSON_AddStringToObject(o, "Tag", bp_reference_tag(s->ref))))
		goto done;
	if (!s->image) {
		if (!cJSON_AddStringToObject(o, "Digest", s->top->digest) ||
		    !cJSON_AddStringToObject(o, "MediaType", bp_manifest_media_type(top)) ||
		    !(arr = cJSON_AddArrayToObject(o, "Manifests")))
			goto done;
		for (i = 0; i < bp_manifest_count(top); i++) {
			if (!(d = descriptor_json(bp_manifest_item(top, i), 1)))
				goto done;
			cJSON_AddItemToArray(arr, d);
		}
	} else {
		const cJSON *cc = cJSON_GetObjectItemCaseSensitive(s->config, "config");

		m = s->image->m;
		if (!cJSON_AddStringToObject(o, "Digest", s->image->digest) ||
		    (s->image != s->top && !cJSON_AddStringToObject(o, "Index", s->top->digest)) ||
		    !cJSON_AddStringToObject(o, "MediaType", bp_manifest_media_type(m)) ||
		    copy_member(o, "Os", s->config, "os") < 0 ||
		    copy_member(o, "Architecture", s->config, "architecture") < 0 ||
		    copy_member(o, "Variant", s->config, "variant") < 0 ||
		    copy_member(o, "Created", s->config, "created") < 0 ||
		    copy_member(o, "Entrypoint", cc, "Entrypoint") < 0 ||
		    copy_member(o, "Cmd", cc, "Cmd") < 0 || copy_member(o, "Env", cc, "Env") < 0 ||
		    copy_member(o, "WorkingDir", cc, "WorkingDir") < 0 ||
		    copy_member(o, "Labels", cc, "Labels") < 0)
			goto done;
		if (!(d = descriptor_json(s->config_desc, 0)))
			goto done;
		cJSON_AddItemToObject(o, "Config", d);
		if (!(arr = cJSON_AddArrayToObject(o, "Layers")))
			goto done;
		for (i = 0; i < bp_manifest_count(m); i++) {
			if (!(d = descriptor_json(bp_manifest_item(m, i), 0)))
				goto done;
			cJSON_AddItemToArray(arr, d);
		}
		if (!cJSON_AddNumberToObject(o, "Size", (double)image_size(s)))
			goto done;
	}
	if (!(text = cJSON_Print(o)))
		goto done;
	out_adds(b, text);
	out_adds(b, "\n");
	if (b->failed)
		goto done;
	ok = 1;
done:
	cJSON_free(text);
	cJSON_Delete(o);
	return ok ? 0 : bp_error_set(BP_ENOMEM, "out of memory rendering the summary");
}

/* Copy len bytes into a new NUL-terminated buffer. */
static int copy_out(const char *data, size_t len, char **out, size_t *olen)
{
	if (!(*out = malloc(len + 1)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	memcpy(*out, data, len);
	(*out)[len] = '\0';
	*olen = len;
	return 0;
}

/* Inspect a manifest; see inspect.h. */
int bp_inspect(bp_client *c, const bp_reference *ref, const bp_inspect_options *opts, char **out,
	       size_t *len)
{
	const char *domain = bp_reference_domain(ref), *repo = bp_reference_path(ref);
	const char *platform = opts->platform;
	bp_registry *reg = NULL;
	fetched top = { 0 }, child = { 0 };
	summary s = { ref, &top, NULL, NULL, NULL };
	cJSON *config = NULL;
	char *cbytes = NULL;
	size_t clen = 0;
	outbuf b = { BP_DYNBUF_INIT(SUMMARY_MAX), 0 };
	int err;

	*out = NULL;
	*len = 0;
	if ((err = bp_client__open_registry(c, domain, NULL, 0, &reg)))
		goto done;
	err = bp_steps__manifest_fetch(
		reg, repo, bp_reference_object(ref), bp_reference_digest(ref) != NULL,
		opts->format != BP_INSPECT_RAW || platform ? BP_FETCH_PARSE : BP_FETCH_BYTES,
		bp_reference_string(ref), &top);
	if (err)
		goto done;
	s.image = &top;
	if (!top.m)
		goto render;
	if (bp_manifest_kind_is_index(bp_manifest_kind_get(top.m))) {
		const bp_descriptor *pick;

		if (!platform && opts->format == BP_INSPECT_CONFIG)
			platform = bp_platform_default();
		if (!platform) {
			s.image = NULL;
			goto render;
		}
		if ((err = bp_steps__platform_pick(c, top.m, top.digest, platform,
						   bp_reference_string(ref), &pick)) ||
		    (err = bp_steps__manifest_fetch(reg, repo, pick->digest, 1, BP_FETCH_IMAGE,
						    bp_reference_string(ref), &child)))
			goto done;
		s.image = &child;
	}
render:
	if (opts->format == BP_INSPECT_RAW) {
		const fetched *f = s.image ? s.image : &top;

		err = copy_out(f->bytes, f->len, out, len);
		goto done;
	}
	if (s.image) {
		s.config_desc = bp_manifest_config(s.image->m);
		if ((err = fetch_config(reg, repo, s.config_desc, &cbytes, &clen)))
			goto done;
		if (opts->format == BP_INSPECT_CONFIG) {
			*out = cbytes;
			*len = clen;
			cbytes = NULL;
			goto done;
		}
		config = cJSON_ParseWithLength(cbytes, clen);
		if (!cJSON_IsObject(config)) {
			err = bp_error_set(BP_EPROTO, "config %s of %s is not a JSON object",
					   s.config_desc->digest, bp_reference_string(ref));
			goto done;
		}
		s.config = config;
	}
	err = opts->format == BP_INSPECT_JSON ? render_json(&s, &b) : render_text(&s, &b);
	if (!err)
		*out = bp_dynbuf_detach(&b.b, len);
done:
	bp_dynbuf_release(&b.b);
	cJSON_Delete(config);
	free(cbytes);
	bp_steps__fetched_release(&top);
	bp_steps__fetched_release(&child);
	bp_registry__free(reg);
	return err;
}

/* List the tags of a repository; see inspect.h. */
int bp_tags(bp_client *c, const bp_reference *repo, int (*fn)(const char *tag, void *payload),
	    void *payload)
{
	bp_registry *reg = NULL;
	int err;

	if ((err = bp_client__open_registry(c, bp_reference_domain(repo), NULL, 0, &reg)))
		return err;
	err = bp_registry__tags(reg, bp_reference_path(repo), fn, payload);
	bp_registry__free(reg);
	return err;
}

/* Delete a manifest; see inspect.h. */
int bp_delete(bp_client *c, const bp_reference *ref, char digest[BP_DIGEST_MAX])
{
	const char *domain = bp_reference_domain(ref), *repo = bp_reference_path(ref);
	bp_registry *reg = NULL;
	fetched f = { NULL, 0, NULL, "", NULL };
	int err;

	digest[0] = '\0';
	if ((err = bp_client__open_registry(c, domain, NULL, 0, &reg)))
		goto done;
	if (bp_reference_digest(ref)) {
		bp_strlcpy(digest, bp_reference_digest(ref), BP_DIGEST_MAX);
	} else {
		/* the digest of the bytes the tag names, which the registry must agree with */
		err = bp_steps__manifest_fetch(reg, repo, bp_reference_tag(ref), 0, BP_FETCH_BYTES,
					       NULL, &f);
		if (err == BP_EINTEGRITY) {
			char why[900];

			bp_strlcpy(why, bp_error_last(), sizeof(why));
			bp_error_set(err, "%s: nothing deleted", why);
		}
		if (err)
			goto done;
		bp_strlcpy(digest, f.digest, BP_DIGEST_MAX);
		bp_client__debug(c, "%s is %s", bp_reference_string(ref), digest);
	}
	err = bp_registry__manifest_delete(reg, repo, digest);
done:
	bp_steps__fetched_release(&f);
	bp_registry__free(reg);
	return err;
}
