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
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A config blob larger than this is not read (real ones are a few KiB). */
#define CONFIG_MAX (8 * 1024 * 1024)

/* One manifest as fetched and checked. */
typedef struct {
	char *bytes;
	size_t len;
	char *ctype;
	char digest[BP_DIGEST_MAX];
	bp_manifest *m;
} fetched;

static void fetched_release(fetched *f)
{
	free(f->bytes);
	free(f->ctype);
	bp_manifest_free(f->m);
	memset(f, 0, sizeof(*f));
}

/*
 * GET a manifest and check it: by digest, the bytes must hash to it; by
 * tag, to the Docker-Content-Digest when one was sent. Then parse it,
 * unless parse is 0 (--raw prints manifests of any type).
 */
static int fetch(bp_registry *reg, const char *domain, const char *repo, const char *ref,
		 int by_digest, int parse, fetched *f)
{
	char sent[BP_DIGEST_MAX];
	int err;

	memset(f, 0, sizeof(*f));
	if ((err = bp_registry__manifest_get(reg, repo, ref, &f->bytes, &f->len, &f->ctype, sent)))
		return err;
	if ((err = bp_digest_buf(f->digest, f->bytes, f->len)))
		return err;
	if (by_digest && !bp_digest_equal(f->digest, ref))
		return bp_error_set(BP_EINTEGRITY,
				    "manifest %s: registry sent bytes that hash to %s", ref,
				    f->digest);
	if (sent[0] && !bp_digest_equal(sent, f->digest))
		return bp_error_set(BP_EINTEGRITY,
				    "manifest %s: Docker-Content-Digest %s, but the "
				    "bytes hash to %s",
				    ref, sent, f->digest);
	if (parse && (err = bp_manifest_parse(&f->m, f->bytes, f->len, f->ctype)))
		return bp_error_prefix("%s/%s manifest %s", domain, repo, ref);
	return 0;
}

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
	const char *domain = bp_reference_domain(ref), *repo = bp_reference_path(ref);
	const char *platform;
	bp_registry *reg = NULL;
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
	if ((err = bp_client__open_registry(c, domain, NULL, 0, &reg)))
		goto done;
	err = fetch(reg, domain, repo, bp_reference_object(ref), bp_reference_digest(ref) != NULL,
		    opts->format != BP_INSPECT_RAW || platform, &top);
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
		if ((err = bp_manifest_select_platform(top.m, platform, &pick))) {
			bp_error_prefix("%s", bp_reference_string(ref));
			goto done;
		}
		bp_client__debug(c, "index %s: platform %s is %s", top.digest, platform,
				 pick->digest);
		if ((err = fetch(reg, domain, repo, pick->digest, 1, 1, &child)))
			goto done;
		if (bp_manifest_kind_is_index(bp_manifest_kind_get(child.m))) {
			err = bp_error_set(BP_EUNSUPPORTED, "%s: index within an index",
					   bp_reference_string(ref));
			goto done;
		}
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
		if ((err = fetch_config(reg, repo, s.config_desc, &cbytes, &clen)))
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
	fetched_release(&top);
	fetched_release(&child);
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
	fetched f = { 0 };
	char sent[BP_DIGEST_MAX];
	int err;

	digest[0] = '\0';
	if ((err = bp_client__open_registry(c, domain, NULL, 0, &reg)))
		goto done;
	if (bp_reference_digest(ref)) {
		bp_strlcpy(digest, bp_reference_digest(ref), BP_DIGEST_MAX);
	} else {
		/* the digest of the bytes the tag names, which the registry must agree with */
		err = bp_registry__manifest_get(reg, repo, bp_reference_tag(ref), &f.bytes, &f.len,
						NULL, sent);
		if (err)
			goto done;
		if ((err = bp_digest_buf(digest, f.bytes, f.len)))
			goto done;
		if (sent[0] && !bp_digest_equal(sent, digest)) {
			err = bp_error_set(BP_EINTEGRITY,
					   "manifest %s: Docker-Content-Digest %s, but "
					   "the bytes hash to %s: nothing deleted",
					   bp_reference_tag(ref), sent, digest);
			goto done;
		}
		bp_client__debug(c, "%s is %s", bp_reference_string(ref), digest);
	}
	err = bp_registry__manifest_delete(reg, repo, digest);
done:
	fetched_release(&f);
	bp_registry__free(reg);
	return err;
}
