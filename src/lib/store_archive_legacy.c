/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The legacy layout (docker <= 24, skopeo, podman): a manifest.json entry
 * names its config <hex>.json and its layers <hex>.tar or <id>/layer.tar.
 */
#include "store_archive_int.h"

#include <stdio.h>
#include <string.h>

/* A manifest.json entry: Config, Layers and RepoTags. */
int bp_archive__resolve_legacy(bp_archive *a, const cJSON *entry, struct image **out)
{
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(entry, "Config");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(entry, "Layers"), *it;
	const struct member *m;
	struct image *img = NULL;
	char hex[HEX_LEN + 1], what[64];
	size_t i = 0;
	int rc;

	*out = NULL;
	if (!cJSON_IsObject(entry) || !cJSON_IsString(config) ||
	    !(cJSON_IsArray(layers) || (!layers || cJSON_IsNull(layers))))
		return bp_error_set(
			BP_EINVAL, "%s: a manifest.json entry lacks a Config name or a Layers list",
			a->path);
	rc = bp_archive__image_new(&img, (size_t)cJSON_GetArraySize(layers));
	if (rc)
		return rc;
	/* the config is named by its digest: the bytes must hash to it */
	if (!(CONFIG_KINDS & KIND(bp_archive__member_kind(config->valuestring, hex)))) {
		rc = bp_error_set(
			BP_EINVAL,
			"%s: manifest.json names the config \"%.200s\", not <sha256>.json "
			"or blobs/sha256/<sha256>",
			a->path, config->valuestring);
		goto done;
	}
	snprintf(img->pub.config_digest, sizeof(img->pub.config_digest), "sha256:%s", hex);
	rc = bp_archive__locate(a, config->valuestring, CONFIG_KINDS, "config", &m);
	if (!rc)
		rc = bp_archive__read_verified(a, m, img->pub.config_digest, BP_ARCHIVE_CONFIG_MAX,
					       "config", &img->config, &img->pub.config_len);
	if (rc)
		goto done;
	cJSON_ArrayForEach (it, layers) {
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if (!cJSON_IsString(it)) {
			rc = bp_error_set(BP_EINVAL, "%s: manifest.json: %s is not a string",
					  a->path, what);
			goto done;
		}
		rc = bp_archive__locate(a, it->valuestring, LAYER_KINDS, what, &m);
		if (!rc)
			rc = bp_archive__set_layer(a, img, i, m, NULL, NULL);
		if (rc)
			goto done;
		i++;
	}
	rc = bp_archive__set_diff_ids(a, img);
	if (!rc)
		rc = bp_archive__repo_tags(entry, &img->tags, &img->ntags);
done:
	if (rc) {
		bp_archive__image_free(img);
		return rc;
	}
	*out = img;
	return 0;
}

/* 1 with digest set when entry names its config by digest (<hex>.json or blobs/sha256/<hex>). */
int bp_archive__legacy_config(const cJSON *entry, char digest[BP_DIGEST_MAX])
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(entry, "Config");
	char hex[HEX_LEN + 1];

	if (!cJSON_IsString(c) ||
	    !(CONFIG_KINDS & KIND(bp_archive__member_kind(c->valuestring, hex))))
		return 0;
	snprintf(digest, BP_DIGEST_MAX, "sha256:%s", hex);
	return 1;
}

/* The manifest.json entry whose Config names this digest, or NULL. */
const cJSON *bp_archive__legacy_for_config(const bp_archive *a, const char *config_digest)
{
	const cJSON *it;
	char digest[BP_DIGEST_MAX];

	cJSON_ArrayForEach (it, a->mj) {
		if (bp_archive__legacy_config(it, digest) &&
		    strcmp(bp_digest_hex(digest), bp_digest_hex(config_digest)) == 0)
			return it;
	}
	return NULL;
}

/* The manifest.json entry named want (NULL: the only entry); *out NULL when none. */
int bp_archive__legacy_pick(const bp_archive *a, const char *want, const cJSON **out)
{
	const cJSON *it;
	int rc = 0;

	*out = NULL;
	if (!want) {
		if (cJSON_GetArraySize(a->mj) == 1)
			*out = cJSON_GetArrayItem(a->mj, 0);
		return 0;
	}
	cJSON_ArrayForEach (it, a->mj) {
		char **names = NULL;
		size_t n = 0, k;

		rc = bp_archive__repo_tags(it, &names, &n);
		for (k = 0; k < n && !rc && !*out; k++) {
			if (strcmp(names[k], want) == 0)
				*out = it;
		}
		bp_archive__free_names(names, n);
		if (rc || *out)
			break;
	}
	return rc;
}
