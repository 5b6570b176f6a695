/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pushing images whose layers are not registry blobs yet: a `docker save`
 * archive (and, through the same per-layer work, the Docker daemon). Each
 * uncompressed layer is gzip-compressed on every core while it streams to
 * the registry; a layer already compressed goes as it is. The config goes
 * byte for byte, so the image ID on the registry is the local one. The
 * cache remembers what each diff_id became on each registry, so an
 * unchanged layer is neither compressed nor uploaded again.
 */
#include <beampush/client.h>
#include <beampush/manifest.h>

#include "cache.h"
#include "client.h"
#include "compress.h"
#include "jobs.h"
#include "push_docker.h"
#include "registry.h"
#include "store_archive.h"
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BUF (1024 * 1024)
#define GZIP_LEVEL 6

/* One layer's work and its result. */
typedef struct {
	bp_push_docker *p;
	const bp_archive_layer *layer;
	bp_descriptor out;       /* what the manifest lists */
	int have_out;
} layer_job;

/* Compressed bytes go straight into the upload. */
static int to_upload(const void *data, size_t len, void *payload)
{
	return bp_registry__upload_write(payload, data, len);
}

/* Is the blob there with this size? 1 yes, 0 no, <0 error. */
static int registry_has(bp_push_docker *p, const char *digest, int64_t size)
{
	int64_t have = -1;
	int err = bp_registry__blob_exists(p->reg, p->repo, digest, &have);

	if (err == BP_ENOTFOUND)
		return 0;
	if (err)
		return err;
	return have < 0 || size < 0 || have == size;
}

/*
 * A layer the cache says was pushed as some blob, which the registry still
 * has: 1 and out filled; 0 when it must be pushed; <0 on error.
 */
int bp_push_docker__known(bp_client *c, bp_push_docker *p, const char *diff_id, const char *kind,
			  bp_descriptor *out)
{
	char cached[BP_DIGEST_MAX];
	int64_t size;
	int has;

	if (!p->cache || bp_cache__compressed(p->cache, p->registry, diff_id, cached, &size) != 0)
		return 0;
	if ((has = registry_has(p, cached, size)) != 1)
		return has;
	bp_strlcpy(out->digest, cached, BP_DIGEST_MAX);
	out->size = size;
	bp_client__emit(c, BP_EVENT_BLOB_EXISTS, cached, kind, size, size, NULL);
	return 1;
}

/* Reads a layer of the source from its start, for stream_layer(). */
typedef struct {
	bp_push_docker *p;
	const bp_archive_layer *l;
	uint64_t off;
} layer_reader;

static long layer_read(void *buf, size_t len, void *payload)
{
	layer_reader *r = payload;
	long n;

	if ((int64_t)r->off >= r->l->size)
		return 0;
	if ((int64_t)len > r->l->size - (int64_t)r->off)
		len = (size_t)(r->l->size - (int64_t)r->off);
	n = r->p->read_at(r->p->src, r->l, r->off, buf, len);
	if (n == 0)
		return bp_error_set(BP_EIO, "layer %s: source ended early", r->l->diff_id), -1;
	if (n > 0)
		r->off += (uint64_t)n;
	return n;
}

/*
 * Upload what rd gives (head first, when the caller already read it):
 * gzip-compressed on every core when compress is set, else as it is.
 * digest and size get the blob's; diff_id, when compressing, the sha256
 * of what went in. total (or -1) is for progress only.
 */
int bp_push_docker__stream(bp_client *c, bp_push_docker *p, long (*rd)(void *, size_t, void *),
			   void *rp, const void *head, size_t headlen, int64_t total, int compress,
			   const char *kind, const char *label, char digest[BP_DIGEST_MAX],
			   int64_t *size, char diff_id[BP_DIGEST_MAX])
{
	progress_ctx pc = { c, label, kind };
	bp_upload *u = NULL;
	bp_gzip *z = NULL;
	char *buf = NULL;
	int64_t in = 0;
	long n;
	int err;

	if (!(buf = malloc(READ_BUF)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	if ((err = bp_registry__upload_begin(p->reg, p->repo, c->opts.chunk_size, NULL, NULL, &u)))
		goto done;
	if (compress && (err = bp_gzip__new(&z, GZIP_LEVEL, 0, 0, to_upload, u)))
		goto done;
	if (headlen) {
		err = z ? bp_gzip__write(z, head, headlen) : bp_registry__upload_write(u, head, headlen);
		if (err)
			goto done;
		in += (int64_t)headlen;
	}
	while ((n = rd(buf, READ_BUF, rp)) > 0) {
		err = z ? bp_gzip__write(z, buf, (size_t)n) : bp_registry__upload_write(u, buf, (size_t)n);
		if (err)
			goto done;
		in += n;
		bp_jobs__progress(in, total, &pc);
	}
	if (n < 0) {
		err = bp_error_last_code() ? bp_error_last_code() : BP_EIO;
		goto done;
	}
	if (z && ((err = bp_gzip__finish(z)) || (err = bp_gzip__diff_id(z, diff_id))))
		goto done;
	err = bp_registry__upload_finish(u, digest, size);
done:
	bp_gzip__free(z);
	bp_registry__upload_free(u);
	free(buf);
	return err;
}

/* An uncompressed layer: the cache's answer if the registry confirms it, else gzip on the way. */
static int push_uncompressed(bp_client *c, layer_job *lj, const char *kind)
{
	bp_push_docker *p = lj->p;
	const bp_archive_layer *l = lj->layer;
	layer_reader rd = { p, l, 0 };
	char diff_id[BP_DIGEST_MAX];
	int err;

	if ((err = bp_push_docker__known(c, p, l->diff_id, kind, &lj->out)) != 0)
		return err < 0 ? err : 0;
	bp_client__emit(c, BP_EVENT_BLOB_START, l->diff_id, kind, 0, l->size, NULL);
	err = bp_push_docker__stream(c, p, layer_read, &rd, NULL, 0, l->size, 1, kind, l->diff_id,
				     lj->out.digest, &lj->out.size, diff_id);
	if (err)
		return err;
	/* what we compressed must be the layer the config names */
	if (!bp_digest_equal(diff_id, l->diff_id))
		return bp_error_set(BP_EINTEGRITY, "layer %s: its bytes hash to %s", l->diff_id,
				    diff_id);
	if (p->cache)
		bp_cache__add_compressed(p->cache, p->registry, l->diff_id, lj->out.digest,
					 lj->out.size);
	bp_client__emit(c, BP_EVENT_BLOB_DONE, lj->out.digest, kind, lj->out.size, lj->out.size,
			NULL);
	return 0;
}

/* A layer already compressed goes as it is, checked against its digest. */
static int push_compressed(bp_client *c, layer_job *lj, const char *kind)
{
	bp_push_docker *p = lj->p;
	const bp_archive_layer *l = lj->layer;
	layer_reader rd = { p, l, 0 };
	const char *label = l->digest[0] ? l->digest : l->diff_id;
	char got[BP_DIGEST_MAX];
	int64_t size;
	int err;

	lj->out.size = l->size;
	if (l->digest[0]) {
		bp_strlcpy(lj->out.digest, l->digest, BP_DIGEST_MAX);
		if ((err = registry_has(p, l->digest, l->size)) < 0)
			return err;
		if (err == 1) {
			bp_client__emit(c, BP_EVENT_BLOB_EXISTS, l->digest, kind, l->size, l->size, NULL);
			return 0;
		}
	}
	bp_client__emit(c, BP_EVENT_BLOB_START, label, kind, 0, l->size, NULL);
	err = bp_push_docker__stream(c, p, layer_read, &rd, NULL, 0, l->size, 0, kind, label, got,
				     &size, NULL);
	if (err)
		return err;
	if (l->digest[0] && !bp_digest_equal(got, l->digest))
		return bp_error_set(BP_EINTEGRITY, "layer %s: its bytes hash to %s", l->digest, got);
	bp_strlcpy(lj->out.digest, got, BP_DIGEST_MAX);
	bp_client__emit(c, BP_EVENT_BLOB_DONE, got, kind, size, size, NULL);
	return 0;
}

static int push_layer(bp_client *c, job *j)
{
	layer_job *lj = j->ctx;

	if (lj->layer->compression == BP_COMPRESSION_NONE)
		return push_uncompressed(c, lj, j->kind);
	return push_compressed(c, lj, j->kind);
}

/* The config, byte for byte: its digest is the image ID. */
static int push_config(bp_client *c, bp_push_docker *p, const char *config, size_t len,
		       const char *digest)
{
	bp_upload *u = NULL;
	char got[BP_DIGEST_MAX];
	int64_t size;
	int err;

	if ((err = registry_has(p, digest, (int64_t)len)) < 0)
		return err;
	if (err == 1) {
		bp_client__emit(c, BP_EVENT_BLOB_EXISTS, digest, "config", (int64_t)len, (int64_t)len,
				NULL);
		return 0;
	}
	bp_client__emit(c, BP_EVENT_BLOB_START, digest, "config", 0, (int64_t)len, NULL);
	if (!(err = bp_registry__upload_begin(p->reg, p->repo, c->opts.chunk_size, NULL, NULL, &u)) &&
	    !(err = bp_registry__upload_write(u, config, len)) &&
	    !(err = bp_registry__upload_finish(u, got, &size)) && !bp_digest_equal(got, digest))
		err = bp_error_set(BP_EINTEGRITY, "config %s: its bytes hash to %s", digest, got);
	bp_registry__upload_free(u);
	if (!err)
		bp_client__emit(c, BP_EVENT_BLOB_DONE, digest, "config", (int64_t)len, (int64_t)len,
				NULL);
	return err;
}

/* The media type a pushed layer gets: the source's family, gzip unless it was zstd. */
static const char *layer_media_type(int oci, const bp_archive_layer *l)
{
	if (l->compression == BP_COMPRESSION_ZSTD)
		return BP_MEDIA_OCI_LAYER_ZSTD;
	return oci ? BP_MEDIA_OCI_LAYER_GZIP : BP_MEDIA_DOCKER_LAYER;
}

/* Push one image; see push_docker.h. */
int bp_push_docker__image(bp_client *c, bp_push_docker *p, const bp_push_docker_image *img,
			  const char *tag, char digest[BP_DIGEST_MAX])
{
	bp_descriptor config, *layers = NULL;
	layer_job *ljs = NULL;
	job *jobs = NULL;
	char *manifest = NULL, got[BP_DIGEST_MAX];
	size_t len, i;
	int oci = img->oci, err;

	/* zstd has no Docker media type: such an image goes as OCI */
	for (i = 0; i < img->nlayers; i++)
		if (img->layers[i].compression == BP_COMPRESSION_ZSTD)
			oci = 1;
	ljs = calloc(img->nlayers ? img->nlayers : 1, sizeof(*ljs));
	jobs = calloc(img->nlayers ? img->nlayers : 1, sizeof(*jobs));
	layers = calloc(img->nlayers ? img->nlayers : 1, sizeof(*layers));
	if (!ljs || !jobs || !layers) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = push_config(c, p, img->config, img->config_len, img->config_digest)))
		goto done;
	for (i = 0; i < img->nlayers; i++) {
		ljs[i].p = p;
		ljs[i].layer = &img->layers[i];
		jobs[i].kind = "layer";
		jobs[i].ctx = &ljs[i];
	}
	if ((err = bp_jobs__run(c, jobs, img->nlayers, push_layer)))
		goto done;
	for (i = 0; i < img->nlayers; i++) {
		layers[i] = ljs[i].out;
		layers[i].media_type = layer_media_type(oci, &img->layers[i]);
		if (p->cache)
			bp_cache__add_repo(p->cache, p->registry, layers[i].digest, p->repo);
	}
	memset(&config, 0, sizeof(config));
	config.media_type = oci ? BP_MEDIA_OCI_CONFIG : BP_MEDIA_DOCKER_CONFIG;
	bp_strlcpy(config.digest, img->config_digest, BP_DIGEST_MAX);
	config.size = (int64_t)img->config_len;
	err = bp_manifest_build(&manifest, &len, oci ? BP_MANIFEST_OCI : BP_MANIFEST_DOCKER_V2,
				&config, layers, img->nlayers);
	if (err)
		goto done;
	if ((err = bp_digest_buf(digest, manifest, len)))
		goto done;
	err = bp_registry__manifest_put(p->reg, p->repo, tag ? tag : digest, manifest, len,
					oci ? BP_MEDIA_OCI_MANIFEST : BP_MEDIA_DOCKER_MANIFEST, got);
	if (err)
		goto done;
	if (got[0] && !bp_digest_equal(got, digest)) {
		err = bp_error_set(BP_EINTEGRITY, "manifest %s: registry answered Docker-Content-Digest %s",
				   digest, got);
		goto done;
	}
	bp_client__emit(c, BP_EVENT_MANIFEST, digest, "manifest", (int64_t)len, (int64_t)len, NULL);
done:
	if (p->cache && bp_cache__save(p->cache))
		bp_client__debug(c, "cache not saved: %s", bp_error_last());
	free(manifest);
	free(layers);
	free(jobs);
	free(ljs);
	return err;
}
