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

#define READ_BUF (1024 * 1024)

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
	if ((err = bp_registry__upload_begin(p->dest->reg, p->dest->repo,
					     c->opts.chunk_size < BP_STREAM_CHUNK_MAX
						     ? c->opts.chunk_size
						     : BP_STREAM_CHUNK_MAX,
					     NULL, NULL, &u)))
		goto done;
	if (compress && (err = bp_gzip__new(&z, c->opts.compression_level, 0, 0, to_upload, u)))
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
	/*
	 * Each layer's compression keeps every core busy: two layers at a time
	 * overlap one's upload with the other's compression, more only cost
	 * memory (a compressor and a chunk buffer each).
	 */
	if ((err = bp_jobs__run_max(c, jobs, img->nlayers, push_layer, 2)))
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
	 * When the reader stops early (a failed upload), the write into the
	 * closed pipe must fail with EPIPE in this thread, not kill the process
	 * with SIGPIPE: blocked here, the signal stays pending on this thread
	 * and goes with it.
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

/* What one member of the export became. */
typedef struct {
	char diff_id[BP_DIGEST_MAX];
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

/* What the walk keeps besides the layers found by their diff_ids. */
typedef struct {
	bp_dynbuf manifest_json;
	compressed_member *cm;
	size_t ncm;
} export_state;

static void export_state_release(export_state *st)
{
	size_t i;

	for (i = 0; i < st->ncm; i++)
		free(st->cm[i].member);
	free(st->cm);
	bp_dynbuf_release(&st->manifest_json);
}

/* Read the rest of the current member into b. */
static int read_member(bp_tar *t, bp_dynbuf *b, const char *what)
{
	char buf[8192];
	long n;

	while ((n = bp_tar__read(t, buf, sizeof(buf))) > 0)
		if (bp_dynbuf_add(b, buf, (size_t)n) < 0)
			return bp_error_set(BP_EPROTO, "export: %s larger than %zu bytes", what, b->cap);
	return n < 0 ? bp_error_last_code() : 0;
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
static int push_compressed_member(bp_client *c, bp_push_docker *p, bp_tar *t,
				  const bp_tar_entry *e, const char *name_id, const char *head,
				  size_t headlen, export_state *st)
{
	compressed_member *cm = realloc(st->cm, (st->ncm + 1) * sizeof(*cm));
	member_blob mb = { p, t, e, name_id, head, headlen };
	compressed_member *m;
	bp_blob_step s;
	int err;

	if (!cm)
		return bp_error_set(BP_ENOMEM, "out of memory");
	st->cm = cm;
	m = &cm[st->ncm];
	memset(m, 0, sizeof(*m));
	if (!(m->member = bp_strdup(e->name)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	st->ncm++;
	m->compression = bp_compress__detect(head, headlen);
	bp_steps__blob_init(&s, name_id, (int64_t)e->size, "layer", &member_source, &mb);
	s.label = name_id ? name_id : e->name;
	s.no_mount = 1;
	if ((err = bp_steps__blob_put(c, p->dest, &s)))
		return err;
	bp_strlcpy(m->out.digest, s.out_digest, BP_DIGEST_MAX);
	m->out.size = s.out_size;
	return 0;
}

/*
 * Place the compressed layers: manifest.json's entry for the image lists
 * its layer members in order, base first.
 */
static int place_compressed(const bp_daemon_image *img, daemon_layer *layers, export_state *st)
{
	cJSON *root, *entry, *cfg, *list, *l;
	size_t i = 0, k;
	int err = 0;

	if (!st->ncm)
		return 0;
	root = cJSON_ParseWithLength(st->manifest_json.ptr ? st->manifest_json.ptr : "",
				     st->manifest_json.len);
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
		err = bp_error_set(BP_EPROTO, "export: manifest.json does not list the layers of %s",
				   img->id);
		goto done;
	}
	cJSON_ArrayForEach(l, list) {
		if (!layers[i].done && cJSON_IsString(l)) {
			for (k = 0; k < st->ncm; k++)
				if (strcmp(st->cm[k].member, l->valuestring) == 0)
					break;
			if (k < st->ncm) {
				if (st->cm[k].compression == BP_COMPRESSION_ZSTD) {
					err = bp_error_set(BP_EUNSUPPORTED, "export: layer %s is zstd; a "
							   "Docker v2 manifest cannot name it",
							   l->valuestring);
					goto done;
				}
				layers[i].out = st->cm[k].out;
				layers[i].done = 1;
			}
		}
		i++;
	}
done:
	cJSON_Delete(root);
	return err;
}

/*
 * Walk the export: the config by its name (the image ID), layers as they
 * come. An uncompressed layer named by its diff_id that the cache and the
 * registry know is skipped unread; any other is compressed and uploaded
 * while it streams, and matched to the image's diff_ids by its hash.
 */
static int walk_export(bp_client *c, bp_push_docker *p, const bp_daemon_image *img, bp_tar *t,
		       daemon_layer *layers, char **config, size_t *config_len, export_state *st)
{
	const bp_tar_entry *e;
	int err;

	while ((err = bp_tar__next(t, &e)) == 1) {
		char hex[65], head[4], diff_id[BP_DIGEST_MAX], name_id[BP_DIGEST_MAX];
		bp_archive_member_kind kind = bp_archive__member_kind(e->name, hex);
		bp_descriptor out;
		long idx, n;

		if (e->type != BP_TAR_REG)
			continue;
		snprintf(name_id, sizeof(name_id), "sha256:%s", hex);
		if ((kind == BP_ARCHIVE_CONFIG || kind == BP_ARCHIVE_BLOB) && hex[0] &&
		    bp_digest_equal(name_id, img->id)) {
			bp_dynbuf b = BP_DYNBUF_INIT(BP_ARCHIVE_CONFIG_MAX);
			char buf[8192];

			while ((n = bp_tar__read(t, buf, sizeof(buf))) > 0)
				if (bp_dynbuf_add(&b, buf, (size_t)n) < 0) {
					bp_dynbuf_release(&b);
					return bp_error_set(BP_EPROTO, "export: config larger than 16 MiB");
				}
			if (n < 0) {
				bp_dynbuf_release(&b);
				return bp_error_last_code();
			}
			free(*config);
			*config = bp_dynbuf_detach(&b, config_len);
			continue;
		}
		if (kind == BP_ARCHIVE_MANIFEST_JSON) {
			bp_dynbuf_reset(&st->manifest_json);
			if ((err = read_member(t, &st->manifest_json, "manifest.json")))
				return err;
			continue;
		}
		if (kind != BP_ARCHIVE_LAYER && kind != BP_ARCHIVE_V1_LAYER && kind != BP_ARCHIVE_BLOB)
			continue;
		/* named by its diff_id, known on the registry: not even read */
		idx = hex[0] ? layer_index(img, name_id) : -1;
		memset(&out, 0, sizeof(out));
		if (idx >= 0 && !layers[idx].done) {
			if ((err = known(c, p, name_id, "layer", &out)) < 0)
				return err;
			if (err == 1) {
				bp_strlcpy(layers[idx].diff_id, name_id, BP_DIGEST_MAX);
				layers[idx].out = out;
				layers[idx].done = 1;
				continue;
			}
		}
		n = bp_tar__read(t, head, sizeof(head));
		if (n < 0)
			return bp_error_last_code();
		/* JSON blobs (manifests, indexes) of a Docker 25+ export are not layers */
		if (n == 0 || head[0] == '{')
			continue;
		if (bp_compress__detect(head, (size_t)n) != BP_COMPRESSION_NONE) {
			err = push_compressed_member(c, p, t, e, kind == BP_ARCHIVE_BLOB && hex[0]
								      ? name_id : NULL,
						     head, (size_t)n, st);
			if (err)
				return err;
			continue;
		}
		/*
		 * Not bp_steps__blob_put(): which blob this is, and whether it is one
		 * of the image's at all, is known only once its bytes are hashed.
		 */
		bp_client__emit(c, BP_EVENT_BLOB_START, hex[0] ? name_id : e->name, "layer", 0,
				(int64_t)e->size, NULL);
		err = stream(c, p, member_read, t, head, (size_t)n, (int64_t)e->size, 1, "layer",
			     hex[0] ? name_id : e->name, NULL, out.digest, &out.size, diff_id);
		if (err)
			return err;
		if ((idx = layer_index(img, diff_id)) < 0)
			continue; /* not one of ours; the registry drops the blob in time */
		bp_strlcpy(layers[idx].diff_id, diff_id, BP_DIGEST_MAX);
		layers[idx].out = out;
		layers[idx].done = 1;
		if (p->dest->cache)
			bp_cache__add_compressed(p->dest->cache, p->dest->domain, diff_id,
						 out.digest, out.size);
		bp_steps__remember(p->dest, out.digest);
		bp_client__emit(c, BP_EVENT_BLOB_DONE, hex[0] ? name_id : e->name, "layer", out.size,
				out.size, NULL);
	}
	return err < 0 ? err : 0;
}

/* Build and put the manifest from the layers' results. */
static int put_daemon_manifest(bp_client *c, bp_push_docker *p, const bp_daemon_image *img,
			       const daemon_layer *layers, int64_t config_size, const char *tag,
			       char digest[BP_DIGEST_MAX])
{
	bp_descriptor config, *descs = calloc(img->ndiff_ids ? img->ndiff_ids : 1, sizeof(*descs));
	char *manifest = NULL;
	size_t len, i;
	int err;

	if (!descs)
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (i = 0; i < img->ndiff_ids; i++) {
		descs[i] = layers[i].out;
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
		err = bp_steps__manifest_put(c, p->dest, tag, manifest, len,
					     BP_MEDIA_DOCKER_MANIFEST, digest, "manifest");
	free(manifest);
	free(descs);
	return err;
}

/* Push an image of the daemon; see push_docker.h. */
int bp_push_docker__daemon(bp_client *c, bp_push_docker *p, bp_daemon *d, const char *name,
			   const char *tag, char digest[BP_DIGEST_MAX])
{
	bp_daemon_image img;
	daemon_layer *layers = NULL;
	exporter ex = { d, name, -1, 0, "" };
	pthread_t th;
	int fds[2] = { -1, -1 }, started = 0, err;
	char *config = NULL;
	size_t config_len = 0, i;
	int64_t config_size = -1;
	bp_tar *t = NULL;
	export_state st;

	memset(&st, 0, sizeof(st));
	bp_dynbuf_init(&st.manifest_json, BP_ARCHIVE_JSON_MAX);
	if ((err = bp_daemon__inspect(d, name, &img)))
		return err;
	if (!(layers = calloc(img.ndiff_ids ? img.ndiff_ids : 1, sizeof(*layers)))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	/*
	 * Exporting is slow (the daemon writes the whole image out): when the
	 * registry has the config and the cache knows every layer and the
	 * registry has them too, the manifest is all there is to push.
	 */
	if (bp_registry__blob_exists(p->dest->reg, p->dest->repo, img.id, &config_size) == 0 &&
	    config_size > 0) {
		for (i = 0; i < img.ndiff_ids; i++) {
			err = known(c, p, img.diff_ids[i], "layer", &layers[i].out);
			if (err != 1)
				break;
			layers[i].done = 1;
		}
		if (err < 0)
			goto done;
		if (i == img.ndiff_ids) {
			bp_client__debug(c, "%s: every blob is on the registry; not exporting", name);
			bp_client__emit(c, BP_EVENT_BLOB_EXISTS, img.id, "config", config_size,
					config_size, NULL);
			bp_steps__remember(p->dest, img.id);
			err = put_daemon_manifest(c, p, &img, layers, config_size, tag, digest);
			goto done;
		}
	}
	bp_error_clear();
	if (pipe(fds) < 0) {
		err = bp_error_set(BP_EIO, "pipe: %s", strerror(errno));
		goto done;
	}
	ex.fd = fds[1];
	if (pthread_create(&th, NULL, export_main, &ex) != 0) {
		err = bp_error_set(BP_ERROR, "cannot start the export thread");
		goto done;
	}
	started = 1;
	fds[1] = -1; /* the thread closes it */
	if ((err = bp_tar__new(&t, fd_read, NULL, &fds[0], 0)))
		goto done;
	err = walk_export(c, p, &img, t, layers, &config, &config_len, &st);
done:
	if (started) {
		/* unblock the exporter if we stopped reading early */
		if (fds[0] >= 0) {
			close(fds[0]);
			fds[0] = -1;
		}
		pthread_join(th, NULL);
		if (!err && ex.err)
			err = bp_error_set(ex.err, "%s", ex.msg);
		if (!err) {
			char got[BP_DIGEST_MAX];

			if (!config)
				err = bp_error_set(BP_EPROTO, "export of %s has no config %s", name, img.id);
			else if ((err = bp_digest_buf(got, config, config_len)) == 0 &&
				 !bp_digest_equal(got, img.id))
				err = bp_error_set(BP_EINTEGRITY, "export of %s: config hashes to %s, not %s",
						   name, got, img.id);
			if (!err)
				err = place_compressed(&img, layers, &st);
			/* a layer the image lists twice is exported (and pushed) once */
			for (i = 0; i < img.ndiff_ids; i++) {
				long first = layer_index(&img, img.diff_ids[i]);

				if (!layers[i].done && first >= 0 && layers[first].done)
					layers[i] = layers[first];
			}
			for (i = 0; !err && i < img.ndiff_ids; i++)
				if (!layers[i].done)
					err = bp_error_set(BP_EPROTO, "export of %s has no layer %s", name,
							   img.diff_ids[i]);
			if (!err)
				err = push_config(c, p, config, config_len, img.id);
			if (!err)
				err = put_daemon_manifest(c, p, &img, layers, (int64_t)config_len, tag,
							  digest);
		}
	}
	bp_tar__free(t);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	free(config);
	free(layers);
	export_state_release(&st);
	bp_daemon__image_release(&img);
	return err;
}
