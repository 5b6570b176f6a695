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

/* The manifest.json entry whose Config names this digest, or NULL. */
const cJSON *bp_archive__legacy_for_config(const bp_archive *a, const char *config_digest)
{
	const cJSON *it;
	char hex[HEX_LEN + 1];

	cJSON_ArrayForEach (it, a->mj) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "Config");

		if (cJSON_IsString(c) &&
		    (CONFIG_KINDS & KIND(bp_archive__member_kind(c->valuestring, hex))) &&
		    strcmp(hex, bp_digest_hex(config_digest)) == 0)
			return it;
	}
	return NULL;
}
