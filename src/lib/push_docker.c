/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pushing images whose layers are not registry blobs yet: a `docker save`
 * archive (and, through the same per-layer work, the Docker daemon). Each
 * uncompressed layer is gzip-compressed on every core while it streams to
 * the registry; a layer already compressed goes as it is. The config goes
 * byte for byte, so the image ID on the registry is the local one. The
 * cache remembers what each diff_id became on each registry, so an
 * unchanged layer is neither compressed nor uploaded again. Each blob
 * goes through the shared blob step (steps.h); the caller (push.c) opens
 * the destination and closes it, which saves the cache.
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
#include "store_daemon.h"
#include "tar.h"
#include "v1id.h"
#include "util/dynbuf.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a pipe gives at most 64 KiB a read */
#define READ_BUF (64 * 1024)
/*
 * Blocks of 256 KiB keep the compressor's buffers (three blocks in and out
 * on two cores) near 1.5 MiB; the output is under 1% larger than with 1 MiB.
 */
#define GZIP_BLOCK ((size_t)256 << 10)

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

/*
 * A layer the cache says was pushed as some blob, which the registry
 * still has or mounts: 1 and out filled; 0 when it must be pushed; <0 on
 * error.
 */
static int known(bp_client *c, bp_push_docker *p, const char *diff_id, const char *kind,
		 bp_descriptor *out)
{
	bp_dest *d = p->dest;
	char cached[BP_DIGEST_MAX];
	bp_blob_step s;
	int64_t size;
	int err;

	if (!d->cache || bp_cache__compressed(d->cache, d->domain, diff_id, cached, &size) != 0)
		return 0;
	bp_steps__blob_init(&s, cached, size, kind, NULL, NULL);
	if ((err = bp_steps__blob_there(c, d, &s)) == 1) {
		bp_strlcpy(out->digest, s.out_digest, BP_DIGEST_MAX);
		out->size = s.out_size;
	}
	return err;
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
 * of what went in: when it is not expect (if given), BP_EINTEGRITY and
 * the upload is cancelled, never closed. total (or -1) and label are for
 * progress only.
 */
static int stream(bp_client *c, bp_push_docker *p, long (*rd)(void *, size_t, void *), void *rp,
		  const void *head, size_t headlen, int64_t total, int compress, const char *kind,
		  const char *label, const char *expect, char digest[BP_DIGEST_MAX], int64_t *size,
		  char diff_id[BP_DIGEST_MAX])
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
	if ((err = bp_registry__upload_begin(p->dest->reg, p->dest->repo, c->stream_chunk, NULL,
					     NULL, &u)))
		goto done;
	if (compress && (err = bp_gzip__new(&z, c->opts.compression_level, 0, GZIP_BLOCK, to_upload, u)))
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
	/* bytes that are not the layer the config names are not even closed: the upload is cancelled */
	if (expect && z && !bp_digest_equal(diff_id, expect)) {
		err = bp_error_set(BP_EINTEGRITY, "layer %s: its bytes hash to %s", expect, diff_id);
		goto done;
	}
	err = bp_registry__upload_finish(u, digest, size);
done:
	bp_gzip__free(z);
	bp_registry__upload_free(u);
	free(buf);
	return err;
}

/* An uncompressed layer, gzip-compressed on the way; the cache learns what it became. */
static int uncompressed_send(bp_client *c, bp_dest *d, bp_blob_step *s, void *payload)
{
	layer_job *lj = payload;
	const bp_archive_layer *l = lj->layer;
	layer_reader rd = { lj->p, l, 0 };
	char diff_id[BP_DIGEST_MAX];
	int err;

	err = stream(c, lj->p, layer_read, &rd, NULL, 0, l->size, 1, s->kind, l->diff_id,
		     l->diff_id, s->out_digest, &s->out_size, diff_id);
	if (!err && d->cache)
		bp_cache__add_compressed(d->cache, d->domain, l->diff_id, s->out_digest,
					 s->out_size);
	return err;
}

static const bp_blob_source uncompressed_source = { NULL, uncompressed_send, NULL, 0 };

/* An uncompressed layer: the cache's answer if the registry confirms it, else gzip on the way. */
static int push_uncompressed(bp_client *c, layer_job *lj, const char *kind)
{
	const bp_archive_layer *l = lj->layer;
	bp_blob_step s;
	int err;

	if ((err = known(c, lj->p, l->diff_id, kind, &lj->out)) != 0)
		return err < 0 ? err : 0;
	/* the blob is known once sent: named by its diff_id until then */
	bp_steps__blob_init(&s, NULL, l->size, kind, &uncompressed_source, lj);
	s.label = l->diff_id;
	if ((err = bp_steps__blob_put(c, lj->p->dest, &s)))
		return err;
	bp_strlcpy(lj->out.digest, s.out_digest, BP_DIGEST_MAX);
	lj->out.size = s.out_size;
	return 0;
}

/* A layer already compressed goes as it is, checked against its digest (when it has one). */
static int compressed_send(bp_client *c, bp_dest *d, bp_blob_step *s, void *payload)
{
	layer_job *lj = payload;
	const bp_archive_layer *l = lj->layer;
	layer_reader rd = { lj->p, l, 0 };
	int err;

	err = stream(c, lj->p, layer_read, &rd, NULL, 0, l->size, 0, s->kind, s->label, NULL,
		     s->out_digest, &s->out_size, NULL);
	if (!err && l->digest[0] && !bp_digest_equal(s->out_digest, l->digest))
		err = bp_error_set(BP_EINTEGRITY, "layer %s: its bytes hash to %s", l->digest,
				   s->out_digest);
	return err;
}

static const bp_blob_source compressed_source = { NULL, compressed_send, NULL, 0 };

static int push_compressed(bp_client *c, layer_job *lj, const char *kind)
{
	const bp_archive_layer *l = lj->layer;
	bp_blob_step s;
	int err;

	bp_steps__blob_init(&s, l->digest[0] ? l->digest : NULL, l->size, kind, &compressed_source,
			    lj);
	s.label = l->digest[0] ? l->digest : l->diff_id;
	s.no_mount = 1;
	if ((err = bp_steps__blob_put(c, lj->p->dest, &s)))
		return err;
	bp_strlcpy(lj->out.digest, s.out_digest, BP_DIGEST_MAX);
	lj->out.size = s.out_size;
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
typedef struct {
	const char *bytes;
	size_t len;
} config_blob;

static int config_send(bp_client *c, bp_dest *d, bp_blob_step *s, void *payload)
{
	const config_blob *b = payload;
	bp_upload *u = NULL;
	int err;

	if (!(err = bp_registry__upload_begin(d->reg, d->repo, c->opts.chunk_size, NULL, NULL,
					      &u)) &&
	    !(err = bp_registry__upload_write(u, b->bytes, b->len)) &&
	    !(err = bp_registry__upload_finish(u, s->out_digest, &s->out_size)) &&
	    !bp_digest_equal(s->out_digest, s->digest))
		err = bp_error_set(BP_EINTEGRITY, "config %s: its bytes hash to %s", s->digest,
				   s->out_digest);
	bp_registry__upload_free(u);
	s->out_size = (int64_t)b->len;
	return err;
}

static const bp_blob_source config_source = { NULL, config_send, NULL, 0 };

static int push_config(bp_client *c, bp_push_docker *p, const char *config, size_t len,
		       const char *digest)
{
	config_blob b = { config, len };
	bp_blob_step s;

	bp_steps__blob_init(&s, digest, (int64_t)len, "config", &config_source, &b);
	return bp_steps__blob_put(c, p->dest, &s);
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
	char *manifest = NULL;
	size_t len, i;
	int oci = img->oci, at_once = 2, err;

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
	/*
	 * A layer's compression keeps every core busy and its upload runs on a
	 * thread of its own: a second layer compressing beside it would only
	 * double the memory (a compressor and two chunks each) for some 10%.
	 * Layers already compressed only stream: two at a time.
	 */
	for (i = 0; i < img->nlayers; i++)
		if (img->layers[i].compression == BP_COMPRESSION_NONE)
			at_once = 1;
	if ((err = bp_jobs__run_max(c, jobs, img->nlayers, push_layer, at_once)))
		goto done;
	for (i = 0; i < img->nlayers; i++) {
		layers[i] = ljs[i].out;
		layers[i].media_type = layer_media_type(oci, &img->layers[i]);
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
	err = bp_steps__manifest_put(c, p->dest, tag, manifest, len,
				     oci ? BP_MEDIA_OCI_MANIFEST : BP_MEDIA_DOCKER_MANIFEST, digest,
				     "manifest");
done:
	free(manifest);
	free(layers);
	free(jobs);
	free(ljs);
	return err;
}

/* ---- from the Docker daemon ---- */

/* The export runs on its own thread, writing into a pipe the tar reader reads. */
typedef struct {
	bp_daemon *d;
	const char *name;
	int fd;
	int err;
	char msg[512];
} exporter;

static int pipe_write(const void *data, size_t len, void *payload)
{
	exporter *e = payload;

	if (bp_write_all(e->fd, data, len) < 0)
		return bp_error_set(BP_EIO, "export: %s", strerror(errno));
	return 0;
}

static void *export_main(void *arg)
{
	exporter *e = arg;
	sigset_t pipe_only;

	/*
	 * When the reader stops early (a failed upload, or nothing more
	 * needed), the write into the closed pipe must fail with EPIPE in this
	 * thread, not kill the process with SIGPIPE: blocked here, the signal
	 * stays pending on this thread and goes with it.
	 */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
	e->err = bp_daemon__export(e->d, e->name, pipe_write, e);
	if (e->err)
		bp_strlcpy(e->msg, bp_error_last(), sizeof(e->msg));
	close(e->fd);
	return NULL;
}

static long fd_read(void *buf, size_t len, void *payload)
{
	int fd = *(int *)payload;
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return bp_error_set(BP_EIO, "export: %s", strerror(errno)), -1;
	return (long)n;
}

/* What one layer of the image became. */
typedef struct {
	bp_descriptor out;
	int done;
} daemon_layer;

/* Reading the rest of a member (after its head) for stream_layer(). */
static long member_read(void *buf, size_t len, void *payload)
{
	return bp_tar__read(payload, buf, len);
}

/* Index of diff_id among the image's layers, or -1. */
static long layer_index(const bp_daemon_image *img, const char *diff_id)
{
	size_t i;

	for (i = 0; i < img->ndiff_ids; i++)
		if (bp_digest_equal(img->diff_ids[i], diff_id))
			return (long)i;
	return -1;
}

/* A compressed layer met in the export, placed by manifest.json at the end. */
typedef struct {
	char *member;
	bp_descriptor out;
	bp_compression compression;
} compressed_member;

/* One push from the daemon: the image, what became of its layers, what the export gave. */
typedef struct {
	bp_client *c;
	bp_push_docker *p;
	const bp_daemon_image *img;
	daemon_layer *layers;
	char (*chain)[BP_DIGEST_MAX]; /* the layers' chain IDs, which tell the v1 directories */
	char (*v1)[65];		      /* each layer's v1 directory, once its json told */
	char *config;
	size_t config_len;
	bp_dynbuf manifest_json;
	compressed_member *cm;
	size_t ncm;
} daemon_push;

static void daemon_push_release(daemon_push *dp)
{
	size_t i;

	for (i = 0; i < dp->ncm; i++)
		free(dp->cm[i].member);
	free(dp->cm);
	bp_dynbuf_release(&dp->manifest_json);
	free(dp->config);
	free(dp->v1);
	free(dp->chain);
	free(dp->layers);
}

/*
 * A layer the image lists twice is exported (and pushed) once: the later
 * ones take the first's result. 1 when every layer has one.
 */
static int layers_done(daemon_push *dp)
{
	const bp_daemon_image *img = dp->img;
	size_t i;
	int all = 1;

	for (i = 0; i < img->ndiff_ids; i++) {
		long first = layer_index(img, img->diff_ids[i]);

		if (!dp->layers[i].done && first >= 0 && dp->layers[first].done)
			dp->layers[i] = dp->layers[first];
		all &= dp->layers[i].done;
	}
	return all;
}

/*
 * Before any export: each layer the cache says was pushed as some blob
 * that the registry still has, or mounts, is done. 0 or the first error.
 */
static int known_layers(daemon_push *dp)
{
	const bp_daemon_image *img = dp->img;
	size_t i;
	int err;

	for (i = 0; i < img->ndiff_ids; i++) {
		if (layer_index(img, img->diff_ids[i]) < (long)i)
			continue; /* a layer listed twice is asked for once */
		err = known(dp->c, dp->p, img->diff_ids[i], "layer", &dp->layers[i].out);
		if (err < 0)
			return err;
		dp->layers[i].done = err;
	}
	bp_error_clear();
	return 0;
}

/* Read the rest of the current member into b. */
static int read_member(bp_tar *t, bp_dynbuf *b, const char *what)
{
	char buf[8192];
	long n;

	while ((n = bp_tar__read(t, buf, sizeof(buf))) > 0)
		if (bp_dynbuf_add(b, buf, (size_t)n) < 0)
			return bp_error_set(BP_EPROTO, "export: %s larger than %zu bytes", what,
					    b->cap);
	return n < 0 ? bp_error_last_code() : 0;
}

/* The config member: kept, to be checked and pushed once the export is read. */
static int read_config(daemon_push *dp, bp_tar *t)
{
	bp_dynbuf b = BP_DYNBUF_INIT(BP_ARCHIVE_CONFIG_MAX);
	int err;

	if ((err = read_member(t, &b, "config"))) {
		bp_dynbuf_release(&b);
		return err;
	}
	free(dp->config);
	dp->config = bp_dynbuf_detach(&b, &dp->config_len);
	return 0;
}

/* A <v1-id>/json member: which layer its directory holds, when it tells (v1id.h). */
static int read_v1_json(daemon_push *dp, bp_tar *t, const char *hex)
{
	bp_dynbuf b = BP_DYNBUF_INIT(BP_ARCHIVE_CONFIG_MAX);
	long idx;
	int err;

	if (!(err = read_member(t, &b, hex))) {
		idx = bp_v1id__layer(hex, b.ptr ? b.ptr : "", b.len,
				     (const char(*)[BP_DIGEST_MAX])dp->chain, dp->img->ndiff_ids);
		if (idx >= 0)
			bp_strlcpy(dp->v1[idx], hex, sizeof(dp->v1[idx]));
	}
	bp_dynbuf_release(&b);
	return err;
}

/*
 * The layer a member is, known before it is read: by its name (a diff_id)
 * or by its v1 directory; -1 when not known.
 */
static long member_layer(const daemon_push *dp, bp_archive_member_kind kind, const char *hex)
{
	char name_id[BP_DIGEST_MAX];
	size_t i;

	if (!hex[0])
		return -1;
	if (kind == BP_ARCHIVE_V1_LAYER) {
		for (i = 0; i < dp->img->ndiff_ids; i++)
			if (strcmp(dp->v1[i], hex) == 0)
				return (long)i;
		return -1;
	}
	snprintf(name_id, sizeof(name_id), "sha256:%s", hex);
	return layer_index(dp->img, name_id);
}

/* A member of the export sent as it is: the rest of it after the head already read. */
typedef struct {
	bp_push_docker *p;
	bp_tar *t;
	const bp_tar_entry *e;
	const char *name_id; /* the digest its name gives, or NULL */
	const char *head;
	size_t headlen;
} member_blob;

static int member_send(bp_client *c, bp_dest *d, bp_blob_step *s, void *payload)
{
	const member_blob *mb = payload;
	int err;

	err = stream(c, mb->p, member_read, mb->t, mb->head, mb->headlen, (int64_t)mb->e->size, 0,
		     s->kind, s->label, NULL, s->out_digest, &s->out_size, NULL);
	if (!err && mb->name_id && !bp_digest_equal(mb->name_id, s->out_digest))
		err = bp_error_set(BP_EINTEGRITY, "export: %s hashes to %s", mb->e->name,
				   s->out_digest);
	return err;
}

static const bp_blob_source member_source = { NULL, member_send, NULL, 0 };

/*
 * A layer already compressed (a Docker 25+ export from the containerd
 * store) goes as it is; manifest.json, at the end of the export, says
 * which diff_id it is. Its name, when a digest, must be its hash.
 */
static int push_compressed_member(daemon_push *dp, bp_tar *t, const bp_tar_entry *e,
				  const char *name_id, const char *head, size_t headlen)
{
	compressed_member *cm = realloc(dp->cm, (dp->ncm + 1) * sizeof(*cm));
	member_blob mb = { dp->p, t, e, name_id, head, headlen };
	compressed_member *m;
	bp_blob_step s;
	int err;

	if (!cm)
		return bp_error_set(BP_ENOMEM, "out of memory");
	dp->cm = cm;
	m = &cm[dp->ncm];
	memset(m, 0, sizeof(*m));
	if (!(m->member = bp_strdup(e->name)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	dp->ncm++;
	m->compression = bp_compress__detect(head, headlen);
	bp_steps__blob_init(&s, name_id, (int64_t)e->size, "layer", &member_source, &mb);
	s.label = name_id ? name_id : e->name;
	s.no_mount = 1;
	if ((err = bp_steps__blob_put(dp->c, dp->p->dest, &s)))
		return err;
	bp_strlcpy(m->out.digest, s.out_digest, BP_DIGEST_MAX);
	m->out.size = s.out_size;
	return 0;
}

/*
 * Place the compressed layers: manifest.json's entry for the image lists
 * its layer members in order, base first.
 */
static int place_compressed(daemon_push *dp)
{
	const bp_daemon_image *img = dp->img;
	cJSON *root, *entry, *cfg, *list, *l;
	size_t i = 0, k;
	int err = 0;

	if (!dp->ncm)
		return 0;
	root = cJSON_ParseWithLength(dp->manifest_json.ptr ? dp->manifest_json.ptr : "",
				     dp->manifest_json.len);
	entry = NULL;
	if (cJSON_IsArray(root)) {
		cJSON_ArrayForEach(entry, root) {
			cfg = cJSON_GetObjectItemCaseSensitive(entry, "Config");
			if (cJSON_IsString(cfg) && strstr(cfg->valuestring, bp_digest_hex(img->id)))
				break;
		}
	}
	list = cJSON_GetObjectItemCaseSensitive(entry, "Layers");
	if (!cJSON_IsArray(list) || (size_t)cJSON_GetArraySize(list) != img->ndiff_ids) {
		err = bp_error_set(BP_EPROTO,
				   "export: manifest.json does not list the layers of %s", img->id);
		goto done;
	}
	cJSON_ArrayForEach(l, list) {
		if (!dp->layers[i].done && cJSON_IsString(l)) {
			for (k = 0; k < dp->ncm; k++)
				if (strcmp(dp->cm[k].member, l->valuestring) == 0)
					break;
			if (k < dp->ncm) {
				if (dp->cm[k].compression == BP_COMPRESSION_ZSTD) {
					err = bp_error_set(BP_EUNSUPPORTED,
							   "export: layer %s is zstd; a "
							   "Docker v2 manifest cannot name it",
							   l->valuestring);
					goto done;
				}
				dp->layers[i].out = dp->cm[k].out;
				dp->layers[i].done = 1;
			}
		}
		i++;
	}
done:
	cJSON_Delete(root);
	return err;
}

/*
 * A layer member. One the registry has (found before the export) is
 * skipped unread; one already compressed goes as it is; any other is
 * compressed and uploaded while it streams, found among the image's
 * layers by its hash, which must be the diff_id it was known as.
 */
static int walk_layer(daemon_push *dp, bp_tar *t, const bp_tar_entry *e,
		      bp_archive_member_kind kind, const char *hex)
{
	const bp_daemon_image *img = dp->img;
	char head[4], diff_id[BP_DIGEST_MAX], name_id[BP_DIGEST_MAX];
	long idx = member_layer(dp, kind, hex), n;
	const char *label = e->name;
	bp_descriptor out;
	int err;

	if (idx >= 0 && dp->layers[idx].done)
		return 0; /* on the registry already: not even read */
	n = bp_tar__read(t, head, sizeof(head));
	if (n < 0)
		return bp_error_last_code();
	/* JSON blobs (manifests, indexes) of a Docker 25+ export are not layers */
	if (n == 0 || head[0] == '{')
		return 0;
	snprintf(name_id, sizeof(name_id), "sha256:%s", hex);
	if (bp_compress__detect(head, (size_t)n) != BP_COMPRESSION_NONE)
		return push_compressed_member(dp, t, e,
					      kind == BP_ARCHIVE_BLOB && hex[0] ? name_id : NULL,
					      head, (size_t)n);
	if (idx >= 0)
		label = img->diff_ids[idx];
	else if (hex[0] && kind != BP_ARCHIVE_V1_LAYER)
		label = name_id;
	/*
	 * Not bp_steps__blob_put(): which blob this is, and whether it is one
	 * of the image's at all, is known only once its bytes are hashed.
	 */
	memset(&out, 0, sizeof(out));
	bp_client__emit(dp->c, BP_EVENT_BLOB_START, label, "layer", 0, (int64_t)e->size, NULL);
	err = stream(dp->c, dp->p, member_read, t, head, (size_t)n, (int64_t)e->size, 1, "layer",
		     label, idx >= 0 ? img->diff_ids[idx] : NULL, out.digest, &out.size, diff_id);
	if (err)
		return err;
	if (idx < 0 && (idx = layer_index(img, diff_id)) < 0)
		return 0; /* not one of ours; the registry drops the blob in time */
	dp->layers[idx].out = out;
	dp->layers[idx].done = 1;
	if (dp->p->dest->cache)
		bp_cache__add_compressed(dp->p->dest->cache, dp->p->dest->domain, diff_id,
					 out.digest, out.size);
	bp_steps__remember(dp->p->dest, out.digest);
	bp_client__emit(dp->c, BP_EVENT_BLOB_DONE, label, "layer", out.size, out.size, NULL);
	return 0;
}

/*
 * Walk the export: the config by its name (the image ID), the v1 json
 * that tells which layer its directory holds, layers as they come. Stops
 * (*stopped set) once the config and every layer are in hand, or at the
 * archive's end: what follows is not needed.
 */
static int walk_export(daemon_push *dp, bp_tar *t, int *stopped)
{
	const bp_tar_entry *e;
	int err;

	while ((err = bp_tar__next(t, &e)) == 1) {
		char hex[65], name_id[BP_DIGEST_MAX];
		bp_archive_member_kind kind = bp_archive__member_kind(e->name, hex);

		if (e->type != BP_TAR_REG)
			continue;
		err = 0;
		snprintf(name_id, sizeof(name_id), "sha256:%s", hex);
		if ((kind == BP_ARCHIVE_CONFIG || kind == BP_ARCHIVE_BLOB) && hex[0] &&
		    bp_digest_equal(name_id, dp->img->id)) {
			err = read_config(dp, t);
		} else if (kind == BP_ARCHIVE_MANIFEST_JSON) {
			bp_dynbuf_reset(&dp->manifest_json);
			err = read_member(t, &dp->manifest_json, "manifest.json");
		} else if (kind == BP_ARCHIVE_V1_JSON) {
			err = read_v1_json(dp, t, hex);
		} else if (kind == BP_ARCHIVE_LAYER || kind == BP_ARCHIVE_V1_LAYER ||
			   kind == BP_ARCHIVE_BLOB) {
			err = walk_layer(dp, t, e, kind, hex);
		}
		if (err)
			return err;
		if (dp->config && layers_done(dp)) {
			*stopped = 1;
			return 0;
		}
	}
	/* at the end-of-archive marker the export is whole: padding may follow, unread */
	if (err == 0)
		*stopped = 1;
	return err < 0 ? err : 0;
}

/* Build and put the manifest from the layers' results. */
static int put_daemon_manifest(daemon_push *dp, int64_t config_size, const char *tag,
			       char digest[BP_DIGEST_MAX])
{
	const bp_daemon_image *img = dp->img;
	bp_descriptor config, *descs = calloc(img->ndiff_ids ? img->ndiff_ids : 1, sizeof(*descs));
	char *manifest = NULL;
	size_t len, i;
	int err;

	if (!descs)
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (i = 0; i < img->ndiff_ids; i++) {
		descs[i] = dp->layers[i].out;
		descs[i].media_type = BP_MEDIA_DOCKER_LAYER;
	}
	memset(&config, 0, sizeof(config));
	config.media_type = BP_MEDIA_DOCKER_CONFIG;
	bp_strlcpy(config.digest, img->id, BP_DIGEST_MAX);
	config.size = config_size;
	err = bp_manifest_build(&manifest, &len, BP_MANIFEST_DOCKER_V2, &config, descs,
				img->ndiff_ids);
	if (!err)
		err = bp_digest_buf(digest, manifest, len);
	if (!err)
		err = bp_steps__manifest_put(dp->c, dp->p->dest, tag, manifest, len,
					     BP_MEDIA_DOCKER_MANIFEST, digest, "manifest");
	free(manifest);
	free(descs);
	return err;
}

/*
 * Export name and walk it, the export on a thread of its own. When the
 * walk stopped because it had all it needed, the export's failure to
 * write the rest is none.
 */
static int export_walk(daemon_push *dp, bp_daemon *d, const char *name)
{
	exporter ex = { d, name, -1, 0, "" };
	int fds[2] = { -1, -1 }, stopped = 0, err;
	bp_tar *t = NULL;
	pthread_t th;

	if (pipe(fds) < 0)
		return bp_error_set(BP_EIO, "pipe: %s", strerror(errno));
	ex.fd = fds[1];
	if (pthread_create(&th, NULL, export_main, &ex) != 0) {
		close(fds[0]);
		close(fds[1]);
		return bp_error_set(BP_ERROR, "cannot start the export thread");
	}
	if (!(err = bp_tar__new(&t, fd_read, NULL, &fds[0], 0)))
		err = walk_export(dp, t, &stopped);
	/* unblock the exporter if we stopped reading early */
	close(fds[0]);
	pthread_join(th, NULL);
	bp_tar__free(t);
	/*
	 * An export cut off (the daemon died, the connection closed) is the
	 * cause, whatever the walk made of the stream that stopped short; an
	 * export that failed to write because the walk stopped reading is not.
	 */
	if ((!err || ex.err == BP_ENET) && ex.err && !stopped)
		err = bp_error_set(ex.err, "export of %s from the Docker daemon at %s: %s", name,
				   bp_daemon__socket(d), ex.msg);
	return err;
}

/* After the export: the config checked, every layer placed, then config and manifest pushed. */
static int push_exported(daemon_push *dp, const char *name, const char *tag,
			 char digest[BP_DIGEST_MAX])
{
	const bp_daemon_image *img = dp->img;
	char got[BP_DIGEST_MAX];
	size_t i;
	int err;

	if (!dp->config)
		return bp_error_set(BP_EPROTO, "export of %s has no config %s", name, img->id);
	if ((err = bp_digest_buf(got, dp->config, dp->config_len)))
		return err;
	if (!bp_digest_equal(got, img->id))
		return bp_error_set(BP_EINTEGRITY, "export of %s: config hashes to %s, not %s",
				    name, got, img->id);
	if ((err = place_compressed(dp)))
		return err;
	layers_done(dp);
	for (i = 0; i < img->ndiff_ids; i++)
		if (!dp->layers[i].done)
			return bp_error_set(BP_EPROTO, "export of %s has no layer %s", name,
					    img->diff_ids[i]);
	if ((err = push_config(dp->c, dp->p, dp->config, dp->config_len, img->id)))
		return err;
	return put_daemon_manifest(dp, (int64_t)dp->config_len, tag, digest);
}

/*
 * Once every layer is there: the registry has the image's config too, or
 * mounts it from a repository the cache names. 1 and *size set, or 0.
 */
static int config_there(daemon_push *dp, int64_t *size)
{
	bp_dest *d = dp->p->dest;
	bp_blob_step s;
	int err;

	if (bp_registry__blob_exists(d->reg, d->repo, dp->img->id, size) == 0 && *size > 0) {
		bp_client__emit(dp->c, BP_EVENT_BLOB_EXISTS, dp->img->id, "config", *size, *size,
				NULL);
		bp_steps__remember(d, dp->img->id);
		return 1;
	}
	bp_error_clear();
	bp_steps__blob_init(&s, dp->img->id, -1, "config", NULL, NULL);
	if ((err = bp_steps__blob_there(dp->c, d, &s)) != 1 ||
	    bp_registry__blob_exists(d->reg, d->repo, dp->img->id, size) != 0 || *size <= 0) {
		bp_error_clear();
		return 0;
	}
	return 1;
}

/* Push an image of the daemon; see push_docker.h. */
int bp_push_docker__daemon(bp_client *c, bp_push_docker *p, bp_daemon *d, const char *name,
			   const char *tag, char digest[BP_DIGEST_MAX])
{
	bp_daemon_image img;
	daemon_push dp;
	int64_t config_size = -1;
	size_t n;
	int err;

	if ((err = bp_daemon__inspect(d, name, &img)))
		return err;
	memset(&dp, 0, sizeof(dp));
	dp.c = c;
	dp.p = p;
	dp.img = &img;
	bp_dynbuf_init(&dp.manifest_json, BP_ARCHIVE_JSON_MAX);
	n = img.ndiff_ids ? img.ndiff_ids : 1;
	dp.layers = calloc(n, sizeof(*dp.layers));
	dp.chain = calloc(n, sizeof(*dp.chain));
	dp.v1 = calloc(n, sizeof(*dp.v1));
	if (!dp.layers || !dp.chain || !dp.v1) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if (img.ndiff_ids && (err = bp_v1id__chain_ids(img.diff_ids, img.ndiff_ids, dp.chain)))
		goto done;
	if ((err = known_layers(&dp)))
		goto done;
	/*
	 * Exporting is slow (the daemon writes the whole image out): when the
	 * registry has every layer and the config, the manifest is all there is
	 * to push. The Engine API gives the config's bytes only in an export:
	 * without it, the export is read up to the config, its layers unread.
	 */
	if (layers_done(&dp)) {
		if (config_there(&dp, &config_size)) {
			bp_client__debug(c, "%s: every blob is on the registry; not exporting",
					 name);
			err = put_daemon_manifest(&dp, config_size, tag, digest);
			goto done;
		}
		bp_client__debug(c, "%s: every layer is on the registry; exporting for the config",
				 name);
	}
	if (!(err = export_walk(&dp, d, name)))
		err = push_exported(&dp, name, tag, digest);
done:
	daemon_push_release(&dp);
	bp_daemon__image_release(&img);
	return err;
}
