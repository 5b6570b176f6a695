/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The result of bp_inspect(): the manifests and the config it fetched, held
 * as data for the caller to render (the beampush tool renders the text), and
 * the one rendering done here, JSON: it carries the config's own JSON values
 * as they are, which the tool has no JSON library to do.
 */
#include "inspect_result.h"

#include "util/strutil.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	bp_inspect_result pub; /* first: what the caller holds */
	char *name;
	char *tag;
	char *bytes;
	bp_manifest *top;   /* the manifest ref names */
	bp_manifest *image; /* the image manifest summarised (may be top), or NULL */
	char top_digest[BP_DIGEST_MAX];
	char image_digest[BP_DIGEST_MAX];
	cJSON *config; /* image's config, parsed */
	bp_descriptor
		*descs; /* the index entries or the layers (strings borrowed from a manifest) */
	const char **entrypoint;
	const char **cmd;
	const char **env;
	bp_inspect_label *labels;
} result;

/* See inspect_result.h. */
int bp_inspect__result_new(bp_inspect_result **out, const bp_reference *ref)
{
	result *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (!(x->name = bp_strdup(bp_reference_name(ref))) ||
	    (bp_reference_tag(ref) && !(x->tag = bp_strdup(bp_reference_tag(ref))))) {
		bp_inspect_result_free(&x->pub);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	x->pub.name = x->name;
	x->pub.tag = x->tag;
	*out = &x->pub;
	return 0;
}

/* See inspect_result.h. */
void bp_inspect__result_take_bytes(bp_inspect_result *r, char *bytes, size_t len)
{
	result *x = (result *)r;

	free(x->bytes);
	x->bytes = bytes;
	r->bytes = bytes;
	r->len = len;
}

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The layers or entries of m, copied into an array of r's. 0, or -1 out of memory. */
static int copy_items(result *x, const bp_manifest *m, const bp_descriptor **out, size_t *n)
{
	size_t i, count = bp_manifest_count(m);

	if (count && !(x->descs = calloc(count, sizeof(*x->descs))))
		return -1;
	for (i = 0; i < count; i++)
		x->descs[i] = *bp_manifest_item(m, i);
	*out = x->descs;
	*n = count;
	return 0;
}

/* The strings of a JSON array, NULL for an element of another type; none when not an array. */
static int string_list(const cJSON *arr, const char ***store, const char *const **out, size_t *n)
{
	const cJSON *v;
	size_t i = 0;
	int count;

	if (!cJSON_IsArray(arr) || (count = cJSON_GetArraySize(arr)) <= 0)
		return 0;
	if (!(*store = calloc((size_t)count, sizeof(**store))))
		return -1;
	cJSON_ArrayForEach (v, arr)
		(*store)[i++] = cJSON_IsString(v) ? v->valuestring : NULL;
	*out = *store;
	*n = i;
	return 0;
}

/* The members of the config's Labels object; none when it is not an object. */
static int label_list(result *x, const cJSON *labels)
{
	const cJSON *l;
	size_t i = 0;
	int count;

	if (!cJSON_IsObject(labels) || (count = cJSON_GetArraySize(labels)) <= 0)
		return 0;
	if (!(x->labels = calloc((size_t)count, sizeof(*x->labels))))
		return -1;
	cJSON_ArrayForEach (l, labels) {
		x->labels[i].key = l->string;
		x->labels[i].value = cJSON_IsString(l) ? l->valuestring : NULL;
		i++;
	}
	x->pub.labels = x->labels;
	x->pub.nlabels = i;
	return 0;
}

/* The image fields, from its manifest and its config. 0, or -1 out of memory. */
static int fill_image(result *x)
{
	bp_inspect_result *r = &x->pub;
	const cJSON *cc = cJSON_GetObjectItemCaseSensitive(x->config, "config");
	size_t i;

	r->digest = x->image_digest;
	if (x->image != x->top)
		r->index_digest = x->top_digest;
	r->media_type = bp_manifest_media_type(x->image);
	r->config = bp_manifest_config(x->image);
	if (copy_items(x, x->image, &r->layers, &r->nlayers) < 0)
		return -1;
	r->size = r->config->size;
	for (i = 0; i < r->nlayers; i++)
		r->size += r->layers[i].size;
	r->os = jstr(x->config, "os");
	r->architecture = jstr(x->config, "architecture");
	r->variant = jstr(x->config, "variant");
	r->created = jstr(x->config, "created");
	r->working_dir = jstr(cc, "WorkingDir");
	if (string_list(cJSON_GetObjectItemCaseSensitive(cc, "Entrypoint"), &x->entrypoint,
			&r->entrypoint, &r->nentrypoint) < 0 ||
	    string_list(cJSON_GetObjectItemCaseSensitive(cc, "Cmd"), &x->cmd, &r->cmd, &r->ncmd) <
		    0 ||
	    string_list(cJSON_GetObjectItemCaseSensitive(cc, "Env"), &x->env, &r->env, &r->nenv) <
		    0)
		return -1;
	return label_list(x, cJSON_GetObjectItemCaseSensitive(cc, "Labels"));
}

/* See inspect_result.h. */
int bp_inspect__result_take_summary(bp_inspect_result *r, bp_manifest *top, const char *top_digest,
				    bp_manifest *image, const char *image_digest, cJSON *config)
{
	result *x = (result *)r;
	int failed;

	x->top = top;
	x->image = image;
	x->config = config;
	bp_strlcpy(x->top_digest, top_digest, sizeof(x->top_digest));
	if (image) {
		bp_strlcpy(x->image_digest, image_digest, sizeof(x->image_digest));
		failed = fill_image(x);
	} else {
		r->is_index = 1;
		r->digest = x->top_digest;
		r->media_type = bp_manifest_media_type(top);
		failed = copy_items(x, top, &r->manifests, &r->nmanifests);
	}
	return failed ? bp_error_set(BP_ENOMEM, "out of memory") : 0;
}

/* Free a result; see inspect.h. */
void bp_inspect_result_free(bp_inspect_result *r)
{
	result *x = (result *)r;

	if (!x)
		return;
	free(x->name);
	free(x->tag);
	free(x->bytes);
	if (x->image != x->top)
		bp_manifest_free(x->image);
	bp_manifest_free(x->top);
	cJSON_Delete(x->config);
	free(x->descs);
	free(x->entrypoint);
	free(x->cmd);
	free(x->env);
	free(x->labels);
	free(x);
}

/* ---- JSON ---- */

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

/* descs as an array member name of o. 0, or -1 out of memory. */
static int descriptors_json(cJSON *o, const char *name, const bp_descriptor *descs, size_t n,
			    int platform)
{
	cJSON *arr = cJSON_AddArrayToObject(o, name), *d;
	size_t i;

	if (!arr)
		return -1;
	for (i = 0; i < n; i++) {
		if (!(d = descriptor_json(&descs[i], platform)))
			return -1;
		cJSON_AddItemToArray(arr, d);
	}
	return 0;
}

/* The members of an image's summary. 0, or -1 out of memory. */
static int image_json(cJSON *o, const result *x)
{
	const bp_inspect_result *r = &x->pub;
	const cJSON *cc = cJSON_GetObjectItemCaseSensitive(x->config, "config");
	cJSON *d;

	if (!cJSON_AddStringToObject(o, "Digest", r->digest) ||
	    (r->index_digest && !cJSON_AddStringToObject(o, "Index", r->index_digest)) ||
	    !cJSON_AddStringToObject(o, "MediaType", r->media_type) ||
	    copy_member(o, "Os", x->config, "os") < 0 ||
	    copy_member(o, "Architecture", x->config, "architecture") < 0 ||
	    copy_member(o, "Variant", x->config, "variant") < 0 ||
	    copy_member(o, "Created", x->config, "created") < 0 ||
	    copy_member(o, "Entrypoint", cc, "Entrypoint") < 0 ||
	    copy_member(o, "Cmd", cc, "Cmd") < 0 || copy_member(o, "Env", cc, "Env") < 0 ||
	    copy_member(o, "WorkingDir", cc, "WorkingDir") < 0 ||
	    copy_member(o, "Labels", cc, "Labels") < 0)
		return -1;
	if (!(d = descriptor_json(r->config, 0)))
		return -1;
	cJSON_AddItemToObject(o, "Config", d);
	if (descriptors_json(o, "Layers", r->layers, r->nlayers, 0) < 0 ||
	    !cJSON_AddNumberToObject(o, "Size", (double)r->size))
		return -1;
	return 0;
}

/* The members of an index's summary. 0, or -1 out of memory. */
static int index_json(cJSON *o, const bp_inspect_result *r)
{
	if (!cJSON_AddStringToObject(o, "Digest", r->digest) ||
	    !cJSON_AddStringToObject(o, "MediaType", r->media_type))
		return -1;
	return descriptors_json(o, "Manifests", r->manifests, r->nmanifests, 1);
}

/* The summary as JSON; see inspect.h. */
int bp_inspect_result_json(const bp_inspect_result *r, char **out, size_t *len)
{
	const result *x = (const result *)r;
	cJSON *o = NULL;
	char *text = NULL;
	int ok;

	*out = NULL;
	*len = 0;
	if (!x->top)
		return bp_error_set(BP_EINVAL, "inspect: only a summary has a JSON form");
	ok = (o = cJSON_CreateObject()) && cJSON_AddStringToObject(o, "Name", r->name) &&
	     (!r->tag || cJSON_AddStringToObject(o, "Tag", r->tag)) &&
	     (r->is_index ? index_json(o, r) : image_json(o, x)) == 0 && (text = cJSON_Print(o)) &&
	     (*out = bp_aprintf("%s\n", text));
	cJSON_free(text);
	cJSON_Delete(o);
	if (!ok)
		return bp_error_set(BP_ENOMEM, "out of memory rendering the summary");
	*len = strlen(*out);
	return 0;
}
