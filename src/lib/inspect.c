/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect, tags, delete: the commands that look at a registry (or remove
 * from it) without moving an image. bp_inspect fetches and verifies;
 * what it found is handed over as data (inspect_result.c) for the caller
 * to render.
 */
#include <beampush/inspect.h>
#include <beampush/manifest.h>

#include "client.h"
#include "inspect_result.h"
#include "registry.h"
#include "steps.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A config blob larger than this is not read (real ones are a few KiB). */
#define CONFIG_MAX (8 * 1024 * 1024)

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
	if ((err = bp_registry__blob_get(reg, repo, d->digest, d->size, 0, config_write, &s)))
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

/* fetch_config() on one source of a read. */
typedef struct {
	const bp_descriptor *d;
	char **out;
	size_t *len;
} config_args;

static int config_from(bp_client *c, bp_source_try *t, void *payload)
{
	config_args *a = payload;

	return fetch_config(t->reg, t->repo, a->d, a->out, a->len);
}

/* The config blob from the first source that sends it right. */
static int read_config(bp_sources *src, const bp_descriptor *d, char **out, size_t *len)
{
	config_args a = { d, out, len };
	char label[BP_DIGEST_MAX + 16];

	snprintf(label, sizeof(label), "config %s", d->digest);
	return bp_sources__try(src, BP_SOURCE_PULL, label, config_from, &a);
}

/* What bp_inspect picked to summarise. */
typedef struct {
	const fetched *image; /* the image manifest, or NULL for an index shown whole */
	const bp_descriptor *config_desc;
} summary;

/* Fill opts with the defaults; see inspect.h. */
int bp_inspect_options_init(bp_inspect_options *opts, unsigned int version)
{
	const bp_inspect_options defaults = BP_INSPECT_OPTIONS_INIT;
	int err;

	if ((err = bp_client__check_version("bp_inspect_options", version,
					    BP_INSPECT_OPTIONS_VERSION)))
		return err;
	*opts = defaults;
	return 0;
}

/* Inspect a manifest; see inspect.h. */
int bp_inspect(bp_client *c, const bp_reference *ref, const bp_inspect_options *opts,
	       bp_inspect_result **out)
{
	const bp_inspect_options defaults = BP_INSPECT_OPTIONS_INIT;
	const char *platform;
	bp_sources src;
	fetched top = { 0 }, child = { 0 }, *image, *raw;
	summary s = { NULL, NULL };
	bp_inspect_result *res = NULL;
	cJSON *config = NULL;
	char *cbytes = NULL;
	size_t clen = 0;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((err = bp_client__check_version("bp_inspect_options", opts->version,
					    BP_INSPECT_OPTIONS_VERSION)))
		return err;
	platform = opts->platform;
	if ((err = bp_sources__open(c, ref, &src)))
		goto done;
	err = bp_steps__manifest_read(
		&src, bp_reference_object(ref), bp_reference_digest(ref) != NULL,
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
		    (err = bp_steps__manifest_read(&src, pick->digest, 1, BP_FETCH_IMAGE,
						   bp_reference_string(ref), &child)))
			goto done;
		s.image = &child;
	}
render:
	if ((err = bp_inspect__result_new(&res, ref)))
		goto done;
	if (opts->format == BP_INSPECT_RAW) {
		raw = s.image == &child ? &child : &top;
		bp_inspect__result_take_bytes(res, raw->bytes, raw->len);
		raw->bytes = NULL;
		goto done;
	}
	if (s.image) {
		s.config_desc = bp_manifest_config(s.image->m);
		if ((err = read_config(&src, s.config_desc, &cbytes, &clen)))
			goto done;
		if (opts->format == BP_INSPECT_CONFIG) {
			bp_inspect__result_take_bytes(res, cbytes, clen);
			cbytes = NULL;
			goto done;
		}
		config = cJSON_ParseWithLength(cbytes, clen);
		if (!cJSON_IsObject(config)) {
			err = bp_error_set(BP_EPROTO, "config %s of %s is not a JSON object",
					   s.config_desc->digest, bp_reference_string(ref));
			goto done;
		}
	}
	/* the result takes the manifests and the config */
	image = s.image == &child ? &child : s.image ? &top : NULL;
	err = bp_inspect__result_take_summary(res, top.m, top.digest, image ? image->m : NULL,
					      image ? image->digest : NULL, config);
	top.m = child.m = NULL;
	config = NULL;
done:
	if (err)
		bp_inspect_result_free(res);
	else
		*out = res;
	cJSON_Delete(config);
	free(cbytes);
	bp_steps__fetched_release(&top);
	bp_steps__fetched_release(&child);
	bp_sources__close(&src);
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
