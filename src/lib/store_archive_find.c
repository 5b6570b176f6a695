/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding an image: manifest.json and index.json read once, the entry
 * chosen by REF (index.json first), and the image both layouts fill in.
 */
#include "store_archive_int.h"

#include <beampush/reference.h>

#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- metadata ---- */

/* Read and parse a JSON member, if there is one (*out NULL otherwise). */
static int read_json(bp_archive *a, const char *name, bp_archive_member_kind kind, cJSON **out)
{
	const struct member *m;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!bp_archive__lookup(a, name))
		return 0;
	rc = bp_archive__locate(a, name, KIND(kind), name, &m);
	if (!rc)
		rc = bp_archive__read_member(a, m, BP_ARCHIVE_JSON_MAX, name, &data, &len);
	if (rc)
		return rc;
	*out = cJSON_ParseWithLength(data, len);
	free(data);
	if (!*out)
		return bp_error_set(BP_EINVAL, "%s: %s is not valid JSON", a->path, name);
	return 0;
}

/* manifest.json and index.json, once: either may be missing or unusable, not both. */
static int load_meta(bp_archive *a)
{
	int rc_mj, rc_ij = 0;
	const cJSON *manifests;

	if (a->meta_loaded)
		return 0;
	rc_mj = read_json(a, "manifest.json", BP_ARCHIVE_MANIFEST_JSON, &a->mj);
	if (!rc_mj && a->mj && !cJSON_IsArray(a->mj))
		rc_mj = bp_error_set(BP_EINVAL, "%s: manifest.json is not a JSON array", a->path);
	if (rc_mj) {
		char msg[1024];

		/* keep the message: index.json may still be fine */
		bp_strlcpy(msg, bp_error_last(), sizeof(msg));
		cJSON_Delete(a->mj);
		a->mj = NULL;
		rc_ij = read_json(a, "index.json", BP_ARCHIVE_INDEX_JSON, &a->ij);
		if (rc_ij || !a->ij) {
			cJSON_Delete(a->ij);
			a->ij = NULL;
			return bp_error_set(rc_mj, "%s", msg);
		}
	} else {
		rc_ij = read_json(a, "index.json", BP_ARCHIVE_INDEX_JSON, &a->ij);
	}
	if (a->ij) {
		manifests = cJSON_GetObjectItemCaseSensitive(a->ij, "manifests");
		if (!cJSON_IsObject(a->ij) || !cJSON_IsArray(manifests))
			rc_ij = bp_error_set(BP_EINVAL, "%s: index.json has no manifests array",
					     a->path);
	}
	if (rc_ij) {
		cJSON_Delete(a->ij);
		a->ij = NULL;
		/* manifest.json describes the same images */
		if (!a->mj)
			return rc_ij;
	}
	if (!a->mj && !a->ij)
		return bp_error_set(BP_EINVAL,
				    "%s is not a docker save archive: it has neither manifest.json "
				    "nor index.json",
				    a->path);
	if (a->ij) {
		int rc = bp_archive__load_index_entries(a);

		if (rc)
			return rc;
	}
	a->meta_loaded = 1;
	return 0;
}

/* index.json alone, strictly, once; see store_archive_int.h. */
int bp_archive__load_layout_index(bp_archive *a)
{
	const cJSON *manifests;
	int rc;

	if (a->ij)
		return 0;
	if (!bp_archive__lookup(a, "index.json"))
		return bp_error_set(BP_EINVAL, "%s is not an OCI archive: it has no index.json%s",
				    a->path,
				    bp_archive__lookup(a, "manifest.json")
					    ? " (a docker save archive is docker-archive:FILE)"
					    : "");
	if ((rc = read_json(a, "index.json", BP_ARCHIVE_INDEX_JSON, &a->ij)))
		return rc;
	manifests = cJSON_GetObjectItemCaseSensitive(a->ij, "manifests");
	if (!cJSON_IsObject(a->ij) || !cJSON_IsArray(manifests)) {
		cJSON_Delete(a->ij);
		a->ij = NULL;
		return bp_error_set(BP_EINVAL, "%s: index.json has no manifests array", a->path);
	}
	return bp_archive__load_index_entries(a);
}

/* ---- the image handed out ---- */

/* NULL-safe; img must not be on a's list yet. */
void bp_archive__image_free(struct image *img)
{
	size_t i;

	if (!img)
		return;
	free(img->config);
	free(img->config_media_type);
	if (img->layer_media_types) {
		for (i = 0; i < img->pub.nlayers; i++)
			free(img->layer_media_types[i]);
	}
	free(img->layer_media_types);
	free(img->layers);
	bp_archive__free_names(img->tags, img->ntags);
	free(img->manifest);
	free(img->manifest_media_type);
	free(img);
}

/* A new image with room for nlayers layers. */
int bp_archive__image_new(struct image **out, size_t nlayers)
{
	struct image *img = calloc(1, sizeof(*img));

	*out = NULL;
	if (!img)
		return bp_archive__oom();
	img->layers = calloc(nlayers ? nlayers : 1, sizeof(*img->layers));
	img->layer_media_types = calloc(nlayers ? nlayers : 1, sizeof(char *));
	if (!img->layers || !img->layer_media_types) {
		bp_archive__image_free(img);
		return bp_archive__oom();
	}
	img->pub.nlayers = nlayers;
	*out = img;
	return 0;
}

/* The compression of a layer by its first bytes. */
static bp_compression detect(const unsigned char *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return BP_COMPRESSION_GZIP;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return BP_COMPRESSION_ZSTD;
	return BP_COMPRESSION_NONE;
}

/* Layer i of img is member m: where it is, its magic bytes. */
int bp_archive__set_layer(bp_archive *a, struct image *img, size_t i, const struct member *m,
			  const char *media_type, const char *digest)
{
	bp_archive_layer *l = &img->layers[i];
	unsigned char head[4];
	size_t n = m->size < sizeof(head) ? (size_t)m->size : sizeof(head);
	char hex[HEX_LEN + 1];
	int rc;

	l->member = m->name;
	l->offset = m->offset;
	l->size = (int64_t)m->size;
	if (digest)
		bp_strlcpy(l->digest, digest, sizeof(l->digest));
	else if (bp_archive__member_kind(m->name, hex) == BP_ARCHIVE_BLOB)
		snprintf(l->digest, sizeof(l->digest), "sha256:%s", hex);
	if (media_type) {
		img->layer_media_types[i] = bp_strdup(media_type);
		if (!img->layer_media_types[i])
			return bp_archive__oom();
		l->media_type = img->layer_media_types[i];
	}
	rc = bp_archive__pread_full(a, head, n, m->offset);
	if (rc)
		return rc;
	l->compression = detect(head, n);
	return 0;
}

/* The config's rootfs.diff_ids onto the layers; their counts must agree. */
int bp_archive__set_diff_ids(bp_archive *a, struct image *img)
{
	cJSON *config = cJSON_ParseWithLength(img->config, img->pub.config_len);
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(config, "rootfs");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids"), *it;
	size_t i = 0, n;
	int rc = 0;

	if (!cJSON_IsObject(config)) {
		rc = bp_error_set(BP_EINVAL, "%s: config %s is not a JSON object", a->path,
				  img->pub.config_digest);
		goto done;
	}
	if (!cJSON_IsArray(ids) && !(img->pub.nlayers == 0 && (!ids || cJSON_IsNull(ids)))) {
		rc = bp_error_set(BP_EINVAL, "%s: config %s has no rootfs.diff_ids array", a->path,
				  img->pub.config_digest);
		goto done;
	}
	n = (size_t)cJSON_GetArraySize(ids);
	if (n != img->pub.nlayers) {
		rc = bp_error_set(BP_EINVAL,
				  "%s: config %s lists %zu diff_ids but the image has %zu layers",
				  a->path, img->pub.config_digest, n, img->pub.nlayers);
		goto done;
	}
	cJSON_ArrayForEach (it, ids) {
		if (!cJSON_IsString(it) || bp_digest_validate(it->valuestring)) {
			rc = bp_error_set(BP_EINVAL,
					  "%s: config %s: diff_ids[%zu] is not a sha256 digest",
					  a->path, img->pub.config_digest, i);
			goto done;
		}
		bp_strlcpy(img->layers[i++].diff_id, it->valuestring,
			   sizeof(img->layers[0].diff_id));
	}
done:
	cJSON_Delete(config);
	return rc;
}

/* Every name of img: index.json entries of its manifest, RepoTags of its config. */
static int image_names(bp_archive *a, struct image *img, const char *index_digest)
{
	const cJSON *legacy;
	size_t i, k;
	int rc = 0;

	for (i = 0; i < a->nie && index_digest; i++) {
		if (!bp_digest_equal(a->ie[i].d.digest, index_digest))
			continue;
		for (k = 0; k < a->ie[i].nnames && !rc; k++)
			rc = bp_archive__add_name(&img->tags, &img->ntags, a->ie[i].names[k]);
	}
	legacy = a->mj ? bp_archive__legacy_for_config(a, img->pub.config_digest) : NULL;
	if (!rc && legacy)
		rc = bp_archive__repo_tags(legacy, &img->tags, &img->ntags);
	return rc;
}

/* ref as the normalised tag reference to look for; *want NULL when ref is. */
static int wanted(const bp_archive *a, const char *ref, char **want)
{
	bp_reference *r = NULL;
	int rc;

	*want = NULL;
	if (!ref)
		return 0;
	rc = bp_reference_parse(&r, ref);
	if (rc) {
		bp_error_prefix("image reference for %s", a->path);
		goto done;
	}
	if (bp_reference_digest(r)) {
		rc = bp_error_set(BP_EINVAL,
				  "%s: name the image by tag, not digest: \"%s\" cannot "
				  "be looked up in a docker archive",
				  a->path, ref);
		goto done;
	}
	*want = bp_strdup(bp_reference_string(r));
	if (!*want)
		rc = bp_archive__oom();
done:
	bp_reference_free(r);
	return rc;
}

/* Why no image was found: want is not there, there is none, or several. */
static int not_found(const bp_archive *a, const char *want)
{
	size_t images;
	char *list = bp_archive__all_names(a, &images);
	int rc;

	if (!list)
		return bp_archive__oom();
	if (want)
		rc = bp_error_set(BP_ENOTFOUND, "%s is not in archive %s (%s)", want, a->path,
				  list);
	else if (!images)
		rc = bp_error_set(BP_ENOTFOUND, "archive %s holds no image", a->path);
	else
		rc = bp_error_set(BP_EINVAL,
				  "archive %s holds %zu images; name one as "
				  "docker-archive:%s:REF (%s)",
				  a->path, images, a->path, list);
	free(list);
	return rc;
}

/* Hand img out: its public fields point into it, and a keeps it until free. */
static const bp_archive_image *keep(bp_archive *a, struct image *img)
{
	img->pub.config = img->config;
	img->pub.layers = img->layers;
	img->pub.tags = (const char *const *)img->tags;
	img->pub.ntags = img->ntags;
	img->next = a->images;
	a->images = img;
	return &img->pub;
}

/* Find an image by tag reference (NULL: the only one); see the header. */
int bp_archive__find(bp_archive *a, const char *ref, const char *platform,
		     const bp_archive_image **out)
{
	const struct ientry *pick = NULL;
	const cJSON *legacy = NULL;
	struct image *img = NULL;
	char *want = NULL, digest[BP_DIGEST_MAX];
	int rc;

	if (out)
		*out = NULL;
	if (!a || !out)
		return bp_error_set(BP_EINVAL, "no archive to find an image in");
	rc = wanted(a, ref, &want);
	if (!rc)
		rc = load_meta(a);
	if (rc)
		goto done;
	/* index.json first; then manifest.json, and its index.json entry when there is one */
	pick = bp_archive__oci_pick(a, want);
	if (!pick && a->mj) {
		rc = bp_archive__legacy_pick(a, want, &legacy);
		if (rc)
			goto done;
		if (legacy && a->nie && bp_archive__legacy_config(legacy, digest))
			pick = bp_archive__entry_for_config(a, digest, platform);
	}
	if (pick) {
		rc = bp_archive__resolve_oci(a, &pick->d, platform, &img);
		if (!rc)
			rc = image_names(a, img, pick->d.digest);
	} else if (legacy) {
		rc = bp_archive__resolve_legacy(a, legacy, &img);
		if (!rc)
			rc = image_names(a, img, NULL);
	} else {
		rc = not_found(a, want);
	}
	if (!rc) {
		*out = keep(a, img);
		img = NULL;
	}
done:
	bp_archive__image_free(img);
	free(want);
	return rc;
}
