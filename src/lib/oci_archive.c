/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OCI image layout as a tar, from a verified layout (oci_archive.h):
 * the tree under one descriptor walked from the top, each blob copied
 * once and hashed on the way, into a file renamed into place at the end.
 */
#include "oci_archive.h"

#include <beampush/manifest.h>

#include "store_archive.h"
#include "tar.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* an index of images, no deeper (as a push takes them) */
#define DEPTH_MAX 2

#define ANN_IMAGE_NAME "io.containerd.image.name"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"

/* The archive being written. */
typedef struct {
	bp_oci *oci;
	bp_tmpfile f;
	bp_tarw *tw;
	char (*done)[BP_DIGEST_MAX]; /* the blobs in the tar already */
	size_t ndone;
} writer;

static int oom(void)
{
	return bp_error_set(BP_ENOMEM, "out of memory");
}

/* The tar writer's sink: the temporary file. */
static int file_sink(const void *buf, size_t len, void *payload)
{
	writer *w = payload;

	if (bp_write_all(w->f.fd, buf, len) < 0)
		return bp_error_set(BP_EIO, "cannot write %s: %s", w->f.path, strerror(errno));
	return 0;
}

/* 1 when digest is in the tar already, else 0 after noting that it will be; <0 on no memory. */
static int seen(writer *w, const char *digest)
{
	char(*nd)[BP_DIGEST_MAX];
	size_t i;

	for (i = 0; i < w->ndone; i++) {
		if (bp_digest_equal(w->done[i], digest))
			return 1;
	}
	if (!(nd = realloc(w->done, (w->ndone + 1) * sizeof(*nd))))
		return oom();
	w->done = nd;
	bp_strlcpy(w->done[w->ndone++], digest, BP_DIGEST_MAX);
	return 0;
}

/* A blob's bytes, read from its file and hashed as they go by. */
typedef struct {
	int fd;
	bp_hasher *h;
} hashed_file;

static long hashed_read(void *buf, size_t len, void *payload)
{
	hashed_file *hf = payload;
	ssize_t n;

	do
		n = read(hf->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return bp_error_set(BP_EIO, "read: %s", strerror(errno)), -1;
	bp_hasher_update(hf->h, buf, (size_t)n);
	return (long)n;
}

/* Copy the layout's blob digest into the tar, once; its bytes must hash to it. */
static int add_blob(writer *w, const char *digest)
{
	hashed_file hf = { -1, NULL };
	char name[96], got[BP_DIGEST_MAX];
	int64_t size;
	int err;

	if ((err = seen(w, digest)) != 0)
		return err < 0 ? err : 0;
	if ((err = bp_oci_blob_open(w->oci, digest, &hf.fd, &size)) || (err = bp_hasher_new(&hf.h)))
		goto done;
	snprintf(name, sizeof(name), "blobs/sha256/%s", bp_digest_hex(digest));
	if ((err = bp_tarw__add_from(w->tw, name, size, hashed_read, &hf)) ||
	    (err = bp_hasher_final(hf.h, got)))
		goto done;
	if (!bp_digest_equal(got, digest))
		err = bp_error_set(BP_EINTEGRITY, "blob %s: the bytes in the layout hash to %s",
				   digest, got);
done:
	if (hf.fd >= 0)
		close(hf.fd);
	bp_hasher_free(hf.h);
	return err;
}

/* The manifest or index d and all it reaches, into the tar; the manifest first. */
static int add_tree(writer *w, const bp_descriptor *d, int depth)
{
	bp_manifest *m = NULL;
	char name[96], *bytes = NULL;
	size_t len, i;
	int err;

	if (depth > DEPTH_MAX)
		return bp_error_set(BP_EINVAL, "manifest %s: indexes nested too deep", d->digest);
	if ((err = seen(w, d->digest)) != 0)
		return err < 0 ? err : 0;
	/* read whole, and verified: a manifest is small */
	if ((err = bp_oci_blob_read(w->oci, d->digest, BP_MANIFEST_MAX, &bytes, &len)) ||
	    (err = bp_manifest_parse(&m, bytes, len, d->media_type)))
		goto done;
	snprintf(name, sizeof(name), "blobs/sha256/%s", bp_digest_hex(d->digest));
	if ((err = bp_tarw__add(w->tw, name, bytes, len)))
		goto done;
	if (bp_manifest_kind_is_index(bp_manifest_kind_get(m))) {
		for (i = 0; i < bp_manifest_count(m) && !err; i++)
			err = add_tree(w, bp_manifest_item(m, i), depth + 1);
		goto done;
	}
	if (bp_manifest_config(m))
		err = add_blob(w, bp_manifest_config(m)->digest);
	for (i = 0; i < bp_manifest_count(m) && !err; i++)
		err = add_blob(w, bp_manifest_item(m, i)->digest);
done:
	bp_manifest_free(m);
	free(bytes);
	return err;
}

/* index.json: the one descriptor, with o's names. */
static char *index_json(const char *digest, size_t size, const char *media_type,
			const bp_oci_archive_opts *o)
{
	cJSON *root = cJSON_CreateObject(), *list, *e, *ann;
	char *text = NULL;

	if (!root || !cJSON_AddNumberToObject(root, "schemaVersion", 2) ||
	    !cJSON_AddStringToObject(root, "mediaType", BP_MEDIA_OCI_INDEX) ||
	    !(list = cJSON_AddArrayToObject(root, "manifests")) || !(e = cJSON_CreateObject()))
		goto done;
	cJSON_AddItemToArray(list, e);
	if (!cJSON_AddStringToObject(e, "mediaType", media_type) ||
	    !cJSON_AddStringToObject(e, "digest", digest) ||
	    !cJSON_AddNumberToObject(e, "size", (double)size))
		goto done;
	if (o->image_name || o->ref_name) {
		if (!(ann = cJSON_AddObjectToObject(e, "annotations")) ||
		    (o->image_name &&
		     !cJSON_AddStringToObject(ann, ANN_IMAGE_NAME, o->image_name)) ||
		    (o->ref_name && !cJSON_AddStringToObject(ann, ANN_REF_NAME, o->ref_name)))
			goto done;
	}
	text = cJSON_PrintUnformatted(root);
done:
	cJSON_Delete(root);
	return text;
}

/* manifest.json for docker's loaders: the image m's config and layers, named image_name. */
static char *docker_json(const bp_manifest *m, const char *image_name)
{
	cJSON *root = cJSON_CreateArray(), *e = cJSON_CreateObject(), *tags, *layers;
	char name[96], *text = NULL;
	size_t i;

	if (!root || !e) {
		cJSON_Delete(e);
		goto done;
	}
	cJSON_AddItemToArray(root, e);
	snprintf(name, sizeof(name), "blobs/sha256/%s",
		 bp_digest_hex(bp_manifest_config(m)->digest));
	if (!cJSON_AddStringToObject(e, "Config", name) ||
	    !(tags = cJSON_AddArrayToObject(e, "RepoTags")) ||
	    (image_name && !cJSON_AddItemToArray(tags, cJSON_CreateString(image_name))) ||
	    !(layers = cJSON_AddArrayToObject(e, "Layers")))
		goto done;
	for (i = 0; i < bp_manifest_count(m); i++) {
		snprintf(name, sizeof(name), "blobs/sha256/%s",
			 bp_digest_hex(bp_manifest_item(m, i)->digest));
		if (!cJSON_AddItemToArray(layers, cJSON_CreateString(name)))
			goto done;
	}
	text = cJSON_PrintUnformatted(root);
done:
	cJSON_Delete(root);
	return text;
}

/*
 * The metadata members of the tag's image: index.json, and manifest.json
 * when asked for (the image, not an index, must then have a config).
 * *top is the tagged descriptor.
 */
static int metadata(writer *w, const char *tag, const bp_oci_archive_opts *o,
		    const bp_descriptor **top, char **index, char **docker)
{
	bp_manifest *m = NULL;
	char *bytes = NULL;
	size_t len;
	int err;

	*index = *docker = NULL;
	if ((err = bp_oci_resolve(w->oci, tag, top)) ||
	    (err = bp_oci_blob_read(w->oci, (*top)->digest, BP_MANIFEST_MAX, &bytes, &len)) ||
	    (err = bp_manifest_parse(&m, bytes, len, (*top)->media_type)))
		goto done;
	if (o->docker &&
	    (bp_manifest_kind_is_index(bp_manifest_kind_get(m)) || !bp_manifest_config(m))) {
		err = bp_error_set(
			BP_EINVAL,
			"%s is not an image manifest: docker's manifest.json names one image",
			(*top)->digest);
		goto done;
	}
	/* the media type and size as the manifest has them, whatever index.json said */
	if (!(*index = index_json((*top)->digest, len, bp_manifest_media_type(m), o)) ||
	    (o->docker && !(*docker = docker_json(m, o->image_name))))
		err = oom();
done:
	bp_manifest_free(m);
	free(bytes);
	return err;
}

/* Write the tag's tree as a tar at path; see oci_archive.h. */
int bp_oci_archive__write(bp_oci *oci, const char *tag, const bp_oci_archive_opts *o,
			  const char *path)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	writer w = { oci, BP_TMPFILE_INIT, NULL, NULL, 0 };
	const bp_descriptor *top;
	char *index = NULL, *docker = NULL;
	int err;

	if ((err = metadata(&w, tag, o, &top, &index, &docker)) ||
	    (err = bp_archive__tmpfile(&w.f, path)) ||
	    (err = bp_tarw__new(&w.tw, file_sink, NULL, &w)) ||
	    (err = bp_tarw__add(w.tw, "oci-layout", layout, sizeof(layout) - 1)) ||
	    (err = bp_tarw__add(w.tw, "index.json", index, strlen(index))) ||
	    (docker && (err = bp_tarw__add(w.tw, "manifest.json", docker, strlen(docker)))) ||
	    (err = bp_tarw__begin(w.tw, "blobs", BP_TAR_DIR, 0)) || (err = bp_tarw__end(w.tw)) ||
	    (err = bp_tarw__begin(w.tw, "blobs/sha256", BP_TAR_DIR, 0)) ||
	    (err = bp_tarw__end(w.tw)) || (err = add_tree(&w, top, 0)) ||
	    (err = bp_tarw__finish(w.tw)))
		goto done;
	if (bp_tmpfile_commit(&w.f) < 0)
		err = bp_error_set(BP_EIO, "cannot write %s: %s", path, strerror(errno));
done:
	bp_tarw__free(w.tw);
	bp_tmpfile_release(&w.f);
	free(w.done);
	cJSON_free(index);
	cJSON_free(docker);
	return err;
}
