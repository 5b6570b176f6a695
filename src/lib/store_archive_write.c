/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing an archive in the legacy layout, as skopeo does: <hex>.json
 * configs, <diffid-hex>.tar layers, manifest.json and repositories, into
 * a temporary file renamed into place at commit.
 */
#include "store_archive_int.h"

#include "util/fileutil.h"
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- writing ---- */

struct wimage {
	char hex[HEX_LEN + 1]; /* of the config */
	char **tags;	       /* normalised name:tag */
	size_t ntags;
	char (*diff_ids)[HEX_LEN + 1]; /* from the config */
	size_t ndiff;
	size_t nlayers; /* added so far */
};

struct bp_archive_writer {
	bp_tmpfile f; /* the archive, until it is renamed to f.path */
	bp_tarw *tw;
	int err;
	char errmsg[1024];
	struct wimage *img;
	size_t nimg;
	char (*layers)[HEX_LEN + 1]; /* diff_ids of the layers written */
	size_t nlayers;
};

static int w_sticky(bp_archive_writer *w, int code)
{
	w->err = code;
	bp_strlcpy(w->errmsg, bp_error_last(), sizeof(w->errmsg));
	return code;
}

static int fd_write(const void *buf, size_t len, void *payload)
{
	bp_archive_writer *w = payload;

	if (bp_write_all(w->f.fd, buf, len) == 0)
		return 0;
	bp_error_set(BP_EIO, "cannot write %s: %s", w->f.tmp, strerror(errno));
	return -1;
}

static int fd_patch(const void *buf, size_t len, uint64_t off, void *payload)
{
	bp_archive_writer *w = payload;
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(w->f.fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			bp_error_set(BP_EIO, "cannot write %s: %s", w->f.tmp,
				     n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void writer_free(bp_archive_writer *w)
{
	size_t i;

	if (!w)
		return;
	bp_tmpfile_release(&w->f);
	bp_tarw__free(w->tw);
	for (i = 0; i < w->nimg; i++) {
		bp_archive__free_names(w->img[i].tags, w->img[i].ntags);
		free(w->img[i].diff_ids);
	}
	free(w->img);
	free(w->layers);
	free(w);
}

/* The temporary file an archive at path is written to; see store_archive.h. */
int bp_archive__tmpfile(bp_tmpfile *f, const char *path)
{
	struct stat st;

	if (!path || !*path)
		return bp_error_set(BP_EINVAL, "no archive file given");
	if (bp_strsuffix(path, "/") || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return bp_error_set(BP_EINVAL,
				    "%s is a directory; give a file name for the archive", path);
	if (bp_tmpfile_open(f, path, bp_file_mode()) == 0)
		return 0;
	if (!f->dir)
		return bp_archive__oom();
	if (errno == ENOENT)
		return bp_error_set(BP_ENOTFOUND, "directory %s does not exist", f->dir);
	return bp_error_set(BP_EIO, "cannot create a file in %s: %s", f->dir, strerror(errno));
}

/* Start writing an archive that becomes path at commit. */
int bp_archive__create(bp_archive_writer **out, const char *path)
{
	bp_archive_writer *w = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!out)
		return bp_error_set(BP_EINVAL, "no archive file given");
	w = calloc(1, sizeof(*w));
	if (!w)
		return bp_archive__oom();
	w->f.fd = -1;
	if (!(rc = bp_archive__tmpfile(&w->f, path)))
		rc = bp_tarw__new(&w->tw, fd_write, fd_patch, w);
	if (rc) {
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* The config's diff_ids as hex strings. */
static int config_diff_ids(const void *config, size_t len, struct wimage *img)
{
	cJSON *root = cJSON_ParseWithLength(config, len);
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(root, "rootfs");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids"), *it;
	size_t i = 0;
	int rc = 0;

	if (!cJSON_IsObject(root) || !(cJSON_IsArray(ids) || !ids || cJSON_IsNull(ids))) {
		rc = bp_error_set(BP_EINVAL, "config sha256:%s has no rootfs.diff_ids array",
				  img->hex);
		goto done;
	}
	img->ndiff = (size_t)cJSON_GetArraySize(ids);
	img->diff_ids = calloc(img->ndiff ? img->ndiff : 1, sizeof(*img->diff_ids));
	if (!img->diff_ids) {
		rc = bp_archive__oom();
		goto done;
	}
	cJSON_ArrayForEach (it, ids) {
		if (!cJSON_IsString(it) || bp_digest_validate(it->valuestring)) {
			rc = bp_error_set(BP_EINVAL,
					  "config sha256:%s: diff_ids[%zu] is not a sha256 digest",
					  img->hex, i);
			goto done;
		}
		bp_strlcpy(img->diff_ids[i++], bp_digest_hex(it->valuestring), HEX_LEN + 1);
	}
done:
	cJSON_Delete(root);
	return rc;
}

/* Tags normalised, each once and never given to another image. */
static int image_tags(const bp_archive_writer *w, const char *const *tags, size_t ntags,
		      struct wimage *img)
{
	size_t i, j, k;

	for (i = 0; i < ntags; i++) {
		char *norm = bp_archive__normalise_tag(tags ? tags[i] : NULL);
		int rc;

		if (!norm)
			return bp_error_set(BP_EINVAL,
					    "\"%.200s\" is not an image reference with a tag (as "
					    "beam/python:latest)",
					    tags && tags[i] ? tags[i] : "");
		for (j = 0; j < w->nimg; j++) {
			for (k = 0; k < w->img[j].ntags; k++) {
				if (strcmp(w->img[j].tags[k], norm) == 0) {
					free(norm);
					return bp_error_set(BP_EINVAL,
							    "tag %s is already given to image "
							    "sha256:%s in this archive",
							    w->img[j].tags[k], w->img[j].hex);
				}
			}
		}
		rc = bp_archive__add_name(&img->tags, &img->ntags, norm);
		free(norm);
		if (rc)
			return rc;
	}
	return 0;
}

/* Begin an image: config now, tags kept for manifest.json. */
int bp_archive__add_image(bp_archive_writer *w, const void *config, size_t len,
			  const char *config_digest, const char *const *tags, size_t ntags)
{
	struct wimage img, *grown;
	char digest[BP_DIGEST_MAX], name[HEX_LEN + 8];
	size_t i;
	int rc, written = 0;

	memset(&img, 0, sizeof(img));
	if (!w)
		return bp_error_set(BP_EINVAL, "no archive writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	if (!config || len > BP_ARCHIVE_CONFIG_MAX)
		return bp_error_set(BP_EINVAL, "image config missing or larger than %d bytes",
				    BP_ARCHIVE_CONFIG_MAX);
	if (w->nimg && w->img[w->nimg - 1].nlayers != w->img[w->nimg - 1].ndiff)
		return bp_error_set(BP_EINVAL,
				    "image sha256:%s has %zu of its %zu layers: add them first",
				    w->img[w->nimg - 1].hex, w->img[w->nimg - 1].nlayers,
				    w->img[w->nimg - 1].ndiff);
	rc = bp_digest_buf(digest, config, len);
	if (rc)
		return rc;
	if (config_digest && !bp_digest_equal(digest, config_digest))
		return bp_error_set(BP_EINTEGRITY,
				    "config %s: digest mismatch (the bytes hash to %s)",
				    config_digest, digest);
	bp_strlcpy(img.hex, bp_digest_hex(digest), sizeof(img.hex));
	rc = config_diff_ids(config, len, &img);
	if (!rc)
		rc = image_tags(w, tags, ntags, &img);
	if (rc)
		goto done;
	grown = realloc(w->img, (w->nimg + 1) * sizeof(*grown));
	if (!grown) {
		rc = bp_archive__oom();
		goto done;
	}
	w->img = grown;
	for (i = 0; i < w->nimg; i++)
		written |= strcmp(w->img[i].hex, img.hex) == 0;
	if (!written) {
		snprintf(name, sizeof(name), "%s.json", img.hex);
		rc = bp_tarw__add(w->tw, name, config, len);
		if (rc) {
			w_sticky(w, rc);
			goto done;
		}
	}
	w->img[w->nimg++] = img;
	memset(&img, 0, sizeof(img));
done:
	bp_archive__free_names(img.tags, img.ntags);
	free(img.diff_ids);
	return rc;
}

/* 1 when a layer with this diff_id was written. */
int bp_archive__has_layer(const bp_archive_writer *w, const char *diff_id)
{
	size_t i;

	if (!w || bp_digest_validate(diff_id))
		return 0;
	for (i = 0; i < w->nlayers; i++) {
		if (strcmp(w->layers[i], bp_digest_hex(diff_id)) == 0)
			return 1;
	}
	return 0;
}

struct hashing {
	bp_tar_read_fn read;
	void *payload;
	bp_hasher *h;
};

static long hashing_read(void *buf, size_t len, void *payload)
{
	struct hashing *s = payload;
	long n = s->read(buf, len, s->payload);

	if (n > 0 && (size_t)n <= len)
		bp_hasher_update(s->h, buf, (size_t)n);
	return n;
}

/* The next layer of the current image, hashed while written. */
int bp_archive__add_layer(bp_archive_writer *w, const char *diff_id, int64_t size,
			  bp_tar_read_fn read, void *payload)
{
	struct hashing hs = { read, payload, NULL };
	char got[BP_DIGEST_MAX], name[HEX_LEN + 8];
	struct wimage *img;
	void *grown;
	int rc;

	if (!w)
		return bp_error_set(BP_EINVAL, "no archive writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	rc = bp_digest_validate(diff_id);
	if (rc)
		return rc;
	if (!w->nimg)
		return bp_error_set(BP_EINVAL, "layer %s: add its image first", diff_id);
	img = &w->img[w->nimg - 1];
	if (img->nlayers == img->ndiff)
		return bp_error_set(BP_EINVAL, "layer %s: config sha256:%s lists only %zu layers",
				    diff_id, img->hex, img->ndiff);
	if (strcmp(bp_digest_hex(diff_id), img->diff_ids[img->nlayers]) != 0)
		return bp_error_set(
			BP_EINVAL, "layer %zu is %s, but config sha256:%s lists sha256:%s there",
			img->nlayers + 1, diff_id, img->hex, img->diff_ids[img->nlayers]);
	if (bp_archive__has_layer(w, diff_id)) {
		img->nlayers++;
		return 0;
	}
	if (!read || size < -1)
		return bp_error_set(BP_EINVAL, "layer %s: no data source or an invalid size",
				    diff_id);
	grown = realloc(w->layers, (w->nlayers + 1) * sizeof(*w->layers));
	if (!grown)
		return bp_archive__oom();
	w->layers = grown;
	rc = bp_hasher_new(&hs.h);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "%s.tar", bp_digest_hex(diff_id));
	rc = bp_tarw__add_from(w->tw, name, size, hashing_read, &hs);
	if (rc == BP_EINVAL) {
		/* the arguments were checked: this is the source's length */
		char why[512];

		bp_strlcpy(why, bp_error_last(), sizeof(why));
		rc = bp_error_set(BP_EINTEGRITY, "layer %s: size mismatch: %s", diff_id, why);
	} else if (rc) {
		bp_error_prefix("layer %s", diff_id);
	}
	if (!rc) {
		rc = bp_hasher_final(hs.h, got);
		if (!rc && !bp_digest_equal(got, diff_id))
			rc = bp_error_set(BP_EINTEGRITY,
					  "layer %s: diff_id mismatch (the bytes hash to %s)",
					  diff_id, got);
	}
	bp_hasher_free(hs.h);
	if (rc)
		return w_sticky(w, rc);
	bp_strlcpy(w->layers[w->nlayers++], bp_digest_hex(diff_id), HEX_LEN + 1);
	img->nlayers++;
	return 0;
}

/* manifest.json: [{"Config","RepoTags","Layers"}], as skopeo writes it. */
static char *manifest_json(const bp_archive_writer *w)
{
	cJSON *root = cJSON_CreateArray();
	char name[HEX_LEN + 8], *text = NULL;
	size_t i, k;

	if (!root)
		return NULL;
	for (i = 0; i < w->nimg; i++) {
		const struct wimage *img = &w->img[i];
		cJSON *e = cJSON_CreateObject(), *tags, *layers;

		if (!e)
			goto done;
		cJSON_AddItemToArray(root, e);
		snprintf(name, sizeof(name), "%s.json", img->hex);
		if (!cJSON_AddStringToObject(e, "Config", name) ||
		    !(tags = cJSON_AddArrayToObject(e, "RepoTags")) ||
		    !(layers = cJSON_AddArrayToObject(e, "Layers")))
			goto done;
		for (k = 0; k < img->ntags; k++) {
			cJSON *s = cJSON_CreateString(img->tags[k]);

			if (!s)
				goto done;
			cJSON_AddItemToArray(tags, s);
		}
		for (k = 0; k < img->ndiff; k++) {
			cJSON *s;

			snprintf(name, sizeof(name), "%s.tar", img->diff_ids[k]);
			s = cJSON_CreateString(name);
			if (!s)
				goto done;
			cJSON_AddItemToArray(layers, s);
		}
	}
	text = cJSON_PrintUnformatted(root);
done:
	cJSON_Delete(root);
	return text;
}

/* repositories: {"<repo>":{"<tag>":"<top layer hex>"}}. */
static char *repositories_json(const bp_archive_writer *w)
{
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	size_t i, k;

	if (!root)
		return NULL;
	for (i = 0; i < w->nimg; i++) {
		const struct wimage *img = &w->img[i];

		if (!img->ndiff)
			continue;
		for (k = 0; k < img->ntags; k++) {
			/* the tag follows the last ':' (a port's comes before a '/') */
			char *repo = bp_strdup(img->tags[k]), *colon;
			cJSON *tags;

			if (!repo)
				goto done;
			colon = strrchr(repo, ':');
			if (colon)
				*colon = '\0';
			tags = cJSON_GetObjectItemCaseSensitive(root, repo);
			if (!tags)
				tags = cJSON_AddObjectToObject(root, repo);
			if (!tags || !colon ||
			    !cJSON_AddStringToObject(tags, colon + 1,
						     img->diff_ids[img->ndiff - 1])) {
				free(repo);
				goto done;
			}
			free(repo);
		}
	}
	text = cJSON_PrintUnformatted(root);
done:
	cJSON_Delete(root);
	return text;
}

/* Finish the tar and rename it into place; frees w. */
int bp_archive__commit(bp_archive_writer *w)
{
	char *manifest = NULL, *repos = NULL;
	size_t i;
	int rc = 0;

	if (!w)
		return bp_error_set(BP_EINVAL, "no archive writer");
	if (w->err) {
		rc = bp_error_set(w->err, "%s", w->errmsg);
		goto done;
	}
	if (!w->nimg) {
		rc = bp_error_set(BP_EINVAL, "archive %s: no image was added", w->f.path);
		goto done;
	}
	for (i = 0; i < w->nimg; i++) {
		if (w->img[i].nlayers != w->img[i].ndiff) {
			rc = bp_error_set(
				BP_EINVAL, "archive %s: image sha256:%s has %zu of its %zu layers",
				w->f.path, w->img[i].hex, w->img[i].nlayers, w->img[i].ndiff);
			goto done;
		}
	}
	manifest = manifest_json(w);
	repos = repositories_json(w);
	if (!manifest || !repos) {
		rc = bp_archive__oom();
		goto done;
	}
	rc = bp_tarw__add(w->tw, "manifest.json", manifest, strlen(manifest));
	if (!rc)
		rc = bp_tarw__add(w->tw, "repositories", repos, strlen(repos));
	if (!rc)
		rc = bp_tarw__finish(w->tw);
	if (rc)
		goto done;
	if (bp_tmpfile_commit(&w->f) < 0)
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", w->f.path, strerror(errno));
done:
	cJSON_free(manifest);
	cJSON_free(repos);
	writer_free(w);
	return rc;
}

/* Delete the temporary file and free w. */
void bp_archive__abort(bp_archive_writer *w)
{
	writer_free(w);
}
