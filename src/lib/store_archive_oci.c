/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Docker 25+ layout: an OCI image layout inside the tar (oci-layout,
 * index.json, blobs/sha256/<hex>); an index.json entry leads to an image
 * manifest, or to an index whose platform entry does.
 */
#include "store_archive_int.h"

#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* integers a JSON number (a double) holds exactly */
#define JSON_INT_MAX 9007199254740992.0

/* The usable entries of index.json. */
int bp_archive__load_index_entries(bp_archive *a)
{
	const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(a->ij, "manifests"), *it;
	size_t cap = (size_t)cJSON_GetArraySize(manifests);
	int rc = 0;

	a->ie = calloc(cap ? cap : 1, sizeof(*a->ie));
	if (!a->ie)
		return bp_archive__oom();
	cJSON_ArrayForEach (it, manifests) {
		const cJSON *digest = cJSON_GetObjectItemCaseSensitive(it, "digest");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
		const cJSON *mt = cJSON_GetObjectItemCaseSensitive(it, "mediaType");
		struct ientry *e = &a->ie[a->nie];

		/* entries we cannot use are not images we can find */
		if (!cJSON_IsString(digest) || bp_digest_validate(digest->valuestring) ||
		    !cJSON_IsNumber(size) || size->valuedouble < 0 ||
		    size->valuedouble > JSON_INT_MAX)
			continue;
		bp_strlcpy(e->d.digest, digest->valuestring, sizeof(e->d.digest));
		e->d.size = (int64_t)size->valuedouble;
		e->d.media_type = cJSON_IsString(mt) ? mt->valuestring : NULL;
		a->nie++;
		rc = bp_archive__entry_names(it, e);
		if (rc)
			break;
	}
	bp_error_clear();
	return rc;
}

/*
 * The image manifest desc leads to: itself, or the platform's entry of an
 * index. Verified bytes in *data, parsed in *mf, its digest in used.
 */
static int oci_manifest(bp_archive *a, const bp_descriptor *desc, const char *platform, char **data,
			size_t *len, bp_manifest **mf, char used[BP_DIGEST_MAX])
{
	const bp_descriptor *pick;
	bp_manifest *m = NULL;
	char *buf = NULL;
	size_t n = 0;
	int rc;

	*data = NULL;
	*mf = NULL;
	rc = bp_archive__read_blob_as(a, desc->digest, desc->size, BP_MANIFEST_MAX, "manifest",
				      &buf, &n);
	if (!rc)
		rc = bp_manifest_parse(&m, buf, n, desc->media_type);
	if (rc)
		goto done;
	bp_strlcpy(used, desc->digest, BP_DIGEST_MAX);
	if (bp_manifest_kind_is_index(bp_manifest_kind_get(m))) {
		const char *plat = platform ? platform : bp_platform_default();

		rc = bp_manifest_select_platform(m, plat, &pick);
		if (rc) {
			bp_error_prefix("%s: index %s", a->path, desc->digest);
			goto done;
		}
		bp_strlcpy(used, pick->digest, BP_DIGEST_MAX);
		free(buf);
		buf = NULL;
		rc = bp_archive__read_blob_as(a, pick->digest, pick->size, BP_MANIFEST_MAX,
					      "manifest", &buf, &n);
		if (rc) {
			bp_error_prefix("platform %s", plat);
			goto done;
		}
		/* pick belongs to m: parse the new bytes with its media type first */
		{
			bp_manifest *inner = NULL;

			rc = bp_manifest_parse(&inner, buf, n, pick->media_type);
			bp_manifest_free(m);
			m = inner;
		}
		if (rc)
			goto done;
		if (bp_manifest_kind_is_index(bp_manifest_kind_get(m))) {
			rc = bp_error_set(BP_EUNSUPPORTED, "%s: nested index %s for platform %s",
					  a->path, used, plat);
			goto done;
		}
	}
	*data = buf;
	*len = n;
	*mf = m;
	buf = NULL;
	m = NULL;
done:
	free(buf);
	bp_manifest_free(m);
	return rc;
}

/* An index.json entry: manifest (through an index by platform), config, layers. */
int bp_archive__resolve_oci(bp_archive *a, const bp_descriptor *desc, const char *platform,
			    struct image **out)
{
	const bp_descriptor *cfg, *ld;
	const struct member *m;
	bp_manifest *mf = NULL;
	char used[BP_DIGEST_MAX] = "";
	struct image *img = NULL;
	char *data = NULL, what[64];
	size_t len = 0, i, nl;
	int rc;

	*out = NULL;
	rc = oci_manifest(a, desc, platform, &data, &len, &mf, used);
	if (rc)
		return rc;
	nl = bp_manifest_count(mf);
	rc = bp_archive__image_new(&img, nl);
	if (rc)
		goto done;
	img->manifest = data;
	data = NULL;
	img->pub.manifest = img->manifest;
	img->pub.manifest_len = len;
	bp_strlcpy(img->pub.manifest_digest, used, sizeof(img->pub.manifest_digest));
	img->manifest_media_type = bp_strdup(bp_manifest_media_type(mf));
	img->pub.manifest_media_type = img->manifest_media_type;
	/* reached through an index: remember it, a push may want all of it */
	if (!bp_digest_equal(used, desc->digest)) {
		bp_strlcpy(img->pub.index_digest, desc->digest, sizeof(img->pub.index_digest));
		img->pub.index_size = desc->size;
	}

	cfg = bp_manifest_config(mf);
	if (!cfg) {
		rc = bp_error_set(BP_EINVAL, "%s: manifest %s has no config", a->path, used);
		goto done;
	}
	bp_strlcpy(img->pub.config_digest, cfg->digest, sizeof(img->pub.config_digest));
	if (cfg->media_type) {
		img->config_media_type = bp_strdup(cfg->media_type);
		img->pub.config_media_type = img->config_media_type;
	}
	rc = bp_archive__read_blob_as(a, cfg->digest, cfg->size, BP_ARCHIVE_CONFIG_MAX, "config",
				      &img->config, &img->pub.config_len);
	if (rc)
		goto done;
	for (i = 0; i < nl; i++) {
		ld = bp_manifest_item(mf, i);
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		rc = bp_archive__blob_member(a, ld->digest, ld->size, what, &m);
		if (!rc)
			rc = bp_archive__set_layer(a, img, i, m, ld->media_type, ld->digest);
		if (rc)
			goto done;
	}
	rc = bp_archive__set_diff_ids(a, img);
done:
	free(data);
	bp_manifest_free(mf);
	if (rc) {
		bp_archive__image_free(img);
		return rc;
	}
	*out = img;
	return 0;
}

/* The index.json entry named want; with want NULL, the one image all entries are. */
const struct ientry *bp_archive__oci_pick(const bp_archive *a, const char *want)
{
	size_t i, k;

	if (!want) {
		for (k = 1; k < a->nie; k++) {
			if (!bp_digest_equal(a->ie[k].d.digest, a->ie[0].d.digest))
				return NULL;
		}
		return a->nie ? &a->ie[0] : NULL;
	}
	for (i = 0; i < a->nie; i++) {
		for (k = 0; k < a->ie[i].nnames; k++) {
			if (strcmp(a->ie[i].names[k], want) == 0)
				return &a->ie[i];
		}
	}
	return NULL;
}

/* The index.json entry whose image has this config, or NULL. */
const struct ientry *bp_archive__entry_for_config(bp_archive *a, const char *config_digest,
						  const char *platform)
{
	size_t i;

	for (i = 0; i < a->nie; i++) {
		bp_manifest *mf = NULL;
		char used[BP_DIGEST_MAX];
		char *data = NULL;
		size_t len = 0;
		int same;

		if (oci_manifest(a, &a->ie[i].d, platform, &data, &len, &mf, used))
			continue;
		same = bp_manifest_config(mf) &&
		       bp_digest_equal(bp_manifest_config(mf)->digest, config_digest);
		free(data);
		bp_manifest_free(mf);
		if (same)
			return &a->ie[i];
	}
	bp_error_clear();
	return NULL;
}

/* The oci-archive: entry ref names; see store_archive.h. */
int bp_archive__layout_pick(bp_archive *a, const char *ref, const bp_descriptor **out)
{
	const struct ientry *hit = NULL;
	char *norm = NULL, *list;
	size_t i, images;
	int rc;

	*out = NULL;
	if ((rc = bp_archive__load_layout_index(a)))
		return rc;
	if (!ref) {
		hit = bp_archive__oci_pick(a, NULL);
	} else {
		/* skopeo's rule first: the ref.name as stored, a tag or a whole name */
		for (i = 0; i < a->nie && !hit; i++) {
			if (a->ie[i].ref_name && strcmp(a->ie[i].ref_name, ref) == 0)
				hit = &a->ie[i];
		}
		/* then as a name: containerd's annotation, or a ref.name that is one */
		if (!hit && (norm = bp_archive__normalise_tag(ref)))
			hit = bp_archive__oci_pick(a, norm);
		free(norm);
	}
	if (hit) {
		*out = &hit->d;
		return 0;
	}
	if (!(list = bp_archive__layout_names(a, &images)))
		return bp_archive__oom();
	if (ref)
		rc = bp_error_set(BP_ENOTFOUND, "%s is not in archive %s (%s)", ref, a->path, list);
	else if (!images)
		rc = bp_error_set(BP_ENOTFOUND, "archive %s holds no image", a->path);
	else
		rc = bp_error_set(
			BP_EINVAL,
			"archive %s holds %zu images; name one as oci-archive:%s:REF (%s)", a->path,
			images, a->path, list);
	free(list);
	return rc;
}
