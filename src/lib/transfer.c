/* SPDX-License-Identifier: Apache-2.0 */
/*
 * push and pull: the three transports each way. What they share with
 * copy and inspect (the destination, the blob step, the verified manifest
 * fetch and PUT, the platform pick) is in steps.c.
 */
#include <beampush/client.h>
#include <beampush/manifest.h>
#include <beampush/store_oci.h>
#include <beampush/transport.h>

#include "client.h"
#include "compress.h"
#include "gunzip.h"
#include "jobs.h"
#include "push_docker.h"
#include "registry.h"
#include "steps.h"
#include "store_archive.h"
#include "store_daemon.h"
#include "tar.h"
#include "util/dynbuf.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MANIFEST_DEPTH_MAX 2

/* Where the blobs come from, and where they go. */
typedef struct {
	bp_dest dest;
	bp_oci *oci;	     /* the blobs come from a layout, */
	bp_archive *archive; /* or from a Docker 25+ archive's blobs/sha256 */
} push_ctx;

/* A manifest of the source, read whole and verified. */
static int read_source_manifest(push_ctx *x, const bp_descriptor *d, char **bytes, size_t *len)
{
	if (x->archive)
		return bp_archive__read_blob(x->archive, d->digest, d->size, BP_MANIFEST_MAX, bytes,
					     len);
	return bp_oci_blob_read(x->oci, d->digest, BP_MANIFEST_MAX, bytes, len);
}

/*
 * Where the bytes of a source blob are: *fd (to close when *owned) from
 * *offset on, checked to be d->size long.
 */
static int open_source_blob(push_ctx *x, const bp_descriptor *d, int *fd, int64_t *offset,
			    int *owned)
{
	uint64_t off;
	int64_t local;
	int err;

	*owned = 0;
	*offset = 0;
	if (x->archive) {
		if ((err = bp_archive__blob(x->archive, d->digest, d->size, &off)))
			return err;
		*fd = bp_archive__fd(x->archive);
		*offset = (int64_t)off;
		return 0;
	}
	if ((err = bp_oci_blob_open(x->oci, d->digest, fd, &local)))
		return err;
	*owned = 1;
	if (local != d->size)
		return bp_error_set(BP_EINTEGRITY, "blob %s: %lld bytes in the layout, descriptor says %lld",
				    d->digest, (long long)local, (long long)d->size);
	return 0;
}

/* One blob of the source, sent from its file descriptor. */
typedef struct {
	push_ctx *x;
	const bp_descriptor *d;
	progress_ctx pc;
	int fd, owned;
	int64_t offset;
} file_blob;

static int file_open(bp_client *c, bp_dest *d, bp_blob_step *s)
{
	file_blob *f = s->payload;

	(void)c;
	(void)d;
	return open_source_blob(f->x, f->d, &f->fd, &f->offset, &f->owned);
}

static int file_send(bp_client *c, bp_dest *d, bp_blob_step *s)
{
	file_blob *f = s->payload;
	bp_upload_options uo = { .session = s->session,
				 .offset = f->offset,
				 .chunk_size = c->opts.chunk_size,
				 .monolithic_max = c->opts.monolithic_max,
				 .progress = bp_jobs__progress,
				 .payload = &f->pc };
	int err;

	if ((err = bp_registry__blob_upload(d->reg, d->repo, f->d->digest, f->d->size, f->fd, &uo)))
		return err;
	bp_strlcpy(s->out_digest, f->d->digest, BP_DIGEST_MAX);
	s->out_size = f->d->size;
	return 0;
}

static void file_close(bp_blob_step *s)
{
	file_blob *f = s->payload;

	if (f->owned && f->fd >= 0)
		close(f->fd);
}

/* A source blob takes the session a refused mount opened: the upload goes by fd. */
static const bp_blob_source file_source = { file_open, file_send, file_close, 1 };

static int push_blob(bp_client *c, job *j)
{
	push_ctx *x = j->ctx;
	file_blob f = { x, j->desc, { c, j->desc->digest, j->kind }, -1, 0, 0 };
	bp_blob_step s;

	bp_steps__blob_init(&s, j->desc->digest, j->desc->size, j->kind, &file_source, &f);
	return bp_steps__blob_put(c, &x->dest, &s);
}

/*
 * Push the manifest desc names (and everything it references) under ref
 * (a tag, or NULL: by digest). An index pushes each manifest it lists
 * first. out gets the digest the registry confirmed.
 */
static int push_manifest(bp_client *c, push_ctx *x, const bp_descriptor *desc, const char *ref,
			 int depth, char out[BP_DIGEST_MAX])
{
	bp_manifest *m = NULL;
	char *bytes = NULL;
	size_t len, i, n;
	job *jobs = NULL;
	int err, index;

	if (depth > MANIFEST_DEPTH_MAX)
		return bp_error_set(BP_EINVAL, "manifest %s: indexes nested too deep",
				    desc->digest);
	if ((err = read_source_manifest(x, desc, &bytes, &len)))
		goto done;
	if ((err = bp_manifest_parse(&m, bytes, len, desc->media_type))) {
		bp_error_prefix("manifest %s in the %s", desc->digest,
				x->archive ? "archive" : "layout");
		goto done;
	}
	/* the registry has this very manifest under ref already: so it has all it needs */
	if (bp_steps__manifest_there(c, &x->dest, m, ref ? ref : desc->digest, desc->digest)) {
		bp_strlcpy(out, desc->digest, BP_DIGEST_MAX);
		goto done;
	}
	index = bp_manifest_kind_is_index(bp_manifest_kind_get(m));
	if (index) {
		for (i = 0; i < bp_manifest_count(m); i++) {
			char child[BP_DIGEST_MAX];

			if ((err = push_manifest(c, x, bp_manifest_item(m, i), NULL, depth + 1,
						 child)))
				goto done;
		}
	} else {
		if (!(jobs = bp_steps__image_jobs(m, x, &n))) {
			err = BP_ENOMEM;
			goto done;
		}
		if ((err = bp_jobs__run(c, jobs, n, push_blob)))
			goto done;
	}
	err = bp_steps__manifest_put(c, &x->dest, ref, bytes, len, bp_manifest_media_type(m),
				     desc->digest, index ? "index" : "manifest");
	if (!err)
		bp_strlcpy(out, desc->digest, BP_DIGEST_MAX);
done:
	free(jobs);
	bp_manifest_free(m);
	free(bytes);
	return err;
}

static long archive_read_at(void *src, const bp_archive_layer *l, uint64_t off, void *buf,
			    size_t len)
{
	return bp_archive__read_at(src, l, off, buf, len);
}

/*
 * Push the manifest desc names, and all it references, from x's source
 * (a layout or an archive) to dst under its tag; the destination is
 * opened for it and closed after.
 */
static int push_tree(bp_client *c, push_ctx *x, const bp_descriptor *desc, const bp_reference *dst,
		     char digest[BP_DIGEST_MAX])
{
	int err;

	if (!(err = bp_steps__dest_open(c, &x->dest, dst)))
		err = push_manifest(c, x, desc, bp_reference_tag(dst), 0, digest);
	bp_steps__dest_close(c, &x->dest);
	return err;
}

/*
 * 1 when the archive holds every blob of every platform of the index desc
 * names (docker save may have only this machine's), else 0.
 */
static int archive_index_complete(bp_client *c, push_ctx *x, const bp_descriptor *desc)
{
	bp_manifest *idx = NULL;
	char *bytes = NULL;
	size_t len, i, k;
	uint64_t off;
	int ok = 0;

	if (read_source_manifest(x, desc, &bytes, &len) ||
	    bp_manifest_parse(&idx, bytes, len, desc->media_type) ||
	    !bp_manifest_kind_is_index(bp_manifest_kind_get(idx)))
		goto done;
	for (i = 0; i < bp_manifest_count(idx); i++) {
		const bp_descriptor *d = bp_manifest_item(idx, i);
		bp_manifest *m = NULL;
		char *mb = NULL;
		size_t ml;
		int here;

		here = read_source_manifest(x, d, &mb, &ml) == 0 &&
		       bp_manifest_parse(&m, mb, ml, d->media_type) == 0 &&
		       !bp_manifest_kind_is_index(bp_manifest_kind_get(m)) &&
		       bp_manifest_config(m) &&
		       bp_archive__blob(x->archive, bp_manifest_config(m)->digest,
					bp_manifest_config(m)->size, &off) == 0;
		for (k = 0; here && k < bp_manifest_count(m); k++)
			here = bp_archive__blob(x->archive, bp_manifest_item(m, k)->digest,
						bp_manifest_item(m, k)->size, &off) == 0;
		if (!here)
			bp_client__debug(c, "index %s: the archive lacks blobs of %s: %s", desc->digest,
					 d->digest, bp_error_last());
		bp_manifest_free(m);
		free(mb);
		if (!here)
			goto done;
	}
	ok = 1;
done:
	bp_error_clear();
	bp_manifest_free(idx);
	free(bytes);
	return ok;
}

/*
 * Push the whole index of a Docker 25+ archive, every platform as it is
 * stored (the digests stay those of the index), when the archive has all
 * of it. 1 when it did not try (the caller pushes one platform).
 */
static int push_archive_index(bp_client *c, bp_archive *a, const bp_archive_image *img,
			      const bp_reference *dst, char digest[BP_DIGEST_MAX])
{
	push_ctx x = { { NULL, NULL, NULL, NULL }, NULL, a };
	bp_descriptor desc;
	int err;

	memset(&desc, 0, sizeof(desc));
	bp_strlcpy(desc.digest, img->index_digest, sizeof(desc.digest));
	desc.size = img->index_size;
	if (!archive_index_complete(c, &x, &desc))
		return 1;
	bp_client__debug(c, "pushing the whole index %s of the archive", desc.digest);
	err = push_tree(c, &x, &desc, dst, digest);
	if (!err && bp_reference_digest(dst) && !bp_digest_equal(bp_reference_digest(dst), digest))
		err = bp_error_set(BP_EINVAL, "%s names digest %s, but the pushed index is %s",
				   bp_reference_string(dst), bp_reference_digest(dst), digest);
	return err;
}

/* Push an image from a `docker save` archive. */
static int push_archive(bp_client *c, const bp_transport *t, const bp_reference *dst,
			char digest[BP_DIGEST_MAX])
{
	bp_archive *a = NULL;
	const bp_archive_image *img;
	bp_dest dest = { NULL, NULL, NULL, NULL };
	bp_push_docker p = { &dest, NULL, archive_read_at };
	bp_push_docker_image pi;
	int err;

	/* the archive's own messages name its path already */
	if ((err = bp_archive__open(&a, t->path)) ||
	    (err = bp_archive__find(a, t->ref, c->opts.platform, &img)))
		goto done;
	/* a multi-platform image goes whole, unless a platform was asked for */
	if (img->index_digest[0] && !c->opts.platform &&
	    (err = push_archive_index(c, a, img, dst, digest)) != 1)
		goto done;
	p.src = a;
	if ((err = bp_steps__dest_open(c, &dest, dst)))
		goto done;
	pi.config = img->config;
	pi.config_len = img->config_len;
	pi.config_digest = img->config_digest;
	pi.layers = img->layers;
	pi.nlayers = img->nlayers;
	pi.oci = img->manifest_media_type &&
		 strcmp(img->manifest_media_type, BP_MEDIA_OCI_MANIFEST) == 0;
	err = bp_push_docker__image(c, &p, &pi, bp_reference_tag(dst), digest);
	if (!err && bp_reference_digest(dst) && !bp_digest_equal(bp_reference_digest(dst), digest))
		err = bp_error_set(BP_EINVAL, "%s names digest %s, but the pushed manifest is %s",
				   bp_reference_string(dst), bp_reference_digest(dst), digest);
done:
	bp_steps__dest_close(c, &dest);
	bp_archive__free(a);
	return err;
}

/* Push an image of the Docker daemon (or podman's Engine API). */
static int push_daemon(bp_client *c, const bp_transport *t, const bp_reference *dst,
		       char digest[BP_DIGEST_MAX])
{
	bp_dest dest = { NULL, NULL, NULL, NULL };
	bp_push_docker p = { &dest, NULL, NULL };
	bp_daemon *d = NULL;
	int err;

	if ((err = bp_daemon__open(&d))) {
		/* no daemon is a failure (1), not an image not found (4) */
		if (err == BP_ENOTFOUND) {
			char why[300];

			bp_strlcpy(why, bp_error_last(), sizeof(why));
			err = bp_error_set(BP_ERROR,
					   "cannot push %s from the daemon: %s; use --from "
					   "oci:DIR or --from docker-archive:FILE",
					   t->ref, why);
		}
		return err;
	}
	bp_client__debug(c, "Docker daemon at %s", bp_daemon__socket(d));
	if (!(err = bp_steps__dest_open(c, &dest, dst)))
		err = bp_push_docker__daemon(c, &p, d, t->ref, bp_reference_tag(dst), digest);
	bp_steps__dest_close(c, &dest);
	bp_daemon__free(d);
	return err;
}

/* Push an OCI layout's image. */
static int push_oci(bp_client *c, const bp_transport *t, const bp_reference *dst,
		    char digest[BP_DIGEST_MAX])
{
	push_ctx x = { { NULL, NULL, NULL, NULL }, NULL, NULL };
	const bp_descriptor *desc;
	int err;

	if ((err = bp_oci_open(&x.oci, t->path, 0)))
		goto done;
	if ((err = bp_oci_resolve(x.oci, t->ref, &desc)))
		goto done;
	if (bp_reference_digest(dst) && !bp_digest_equal(bp_reference_digest(dst), desc->digest)) {
		err = bp_error_set(BP_EINVAL, "%s names digest %s, but the image in oci:%s is %s",
				   bp_reference_string(dst), bp_reference_digest(dst), t->path,
				   desc->digest);
		goto done;
	}
	err = push_tree(c, &x, desc, dst, digest);
done:
	bp_oci_free(x.oci);
	return err;
}

/* Push the image in source to dst. */
int bp_push(bp_client *c, const char *source, const bp_reference *dst, char digest[BP_DIGEST_MAX])
{
	bp_transport t = BP_TRANSPORT_INIT;
	int err;

	if ((err = bp_transport_parse(&t, source)))
		return err;
	switch (t.kind) {
	case BP_TRANSPORT_OCI:
		err = push_oci(c, &t, dst, digest);
		break;
	case BP_TRANSPORT_ARCHIVE:
		err = push_archive(c, &t, dst, digest);
		break;
	case BP_TRANSPORT_DAEMON:
		err = push_daemon(c, &t, dst, digest);
		break;
	case BP_TRANSPORT_NONE: /* refused by the parse */
		break;
	}
	bp_transport_release(&t);
	return err;
}


/* ---- pull into docker's formats ---- */

/* Remove a layout this process made: its files, then the directories. */
static void remove_layout(const char *dir)
{
	char *blobs = bp_aprintf("%s/blobs/sha256", dir);
	DIR *d = blobs ? opendir(blobs) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *f;

		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if ((f = bp_aprintf("%s/%s", blobs, e->d_name))) {
			unlink(f);
			free(f);
		}
	}
	if (d)
		closedir(d);
	if (blobs) {
		rmdir(blobs);
		free(blobs);
	}
	{
		static const char *const names[] = { "blobs", "index.json", "oci-layout",
						     "image.tar" };
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char *f = bp_aprintf("%s/%s", dir, names[i]);

			if (f) {
				if (unlink(f) < 0)
					rmdir(f);
				free(f);
			}
		}
	}
	rmdir(dir);
}

/* Reads a blob of a layout from its fd. */
static long blob_read(void *buf, size_t len, void *payload)
{
	int fd = *(int *)payload;
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return bp_error_set(BP_EIO, "read: %s", strerror(errno)), -1;
	return (long)n;
}

/*
 * Write the image tagged tag in the (verified) layout as a `docker save`
 * archive at path, named name: config as it is, layers decompressed to
 * the tars their diff_ids name (the writer checks each).
 */
static int layout_to_archive(bp_oci *oci, const char *tag, const char *name, const char *path)
{
	const bp_descriptor *desc;
	bp_manifest *m = NULL;
	bp_archive_writer *w = NULL;
	char *mbytes = NULL, *config = NULL, **diff_ids = NULL;
	size_t mlen, clen, ndiff = 0, i;
	int err;

	if ((err = bp_oci_resolve(oci, tag, &desc)) ||
	    (err = bp_oci_blob_read(oci, desc->digest, BP_MANIFEST_MAX, &mbytes, &mlen)) ||
	    (err = bp_manifest_parse(&m, mbytes, mlen, desc->media_type)) ||
	    (err = bp_oci_blob_read(oci, bp_manifest_config(m)->digest, 16 * 1024 * 1024, &config,
				    &clen)) ||
	    (err = bp_config_diff_ids(config, clen, &diff_ids, &ndiff)))
		goto done;
	if (ndiff != bp_manifest_count(m)) {
		err = bp_error_set(BP_EINVAL, "image %s: %zu layers but %zu diff_ids", desc->digest,
				   bp_manifest_count(m), ndiff);
		goto done;
	}
	if ((err = bp_archive__create(&w, path)) ||
	    (err = bp_archive__add_image(w, config, clen, bp_manifest_config(m)->digest, &name,
					 name ? 1 : 0)))
		goto done;
	for (i = 0; i < ndiff; i++) {
		const bp_descriptor *l = bp_manifest_item(m, i);
		unsigned char head[4];
		bp_gunzip *g = NULL;
		int64_t size;
		int fd;

		if (bp_archive__has_layer(w, diff_ids[i]))
			continue;
		if ((err = bp_oci_blob_open(oci, l->digest, &fd, &size)))
			goto done;
		switch (bp_compress__detect(head, (size_t)pread(fd, head, sizeof(head), 0) > 0
							 ? sizeof(head) : 0)) {
		case BP_COMPRESSION_NONE:
			err = bp_archive__add_layer(w, diff_ids[i], size, blob_read, &fd);
			break;
		case BP_COMPRESSION_GZIP:
			if (!(err = bp_gunzip__new(&g, blob_read, &fd)))
				err = bp_archive__add_layer(w, diff_ids[i], -1, bp_gunzip__read, g);
			bp_gunzip__free(g);
			break;
		default:
			err = bp_error_set(BP_EUNSUPPORTED, "layer %s is zstd-compressed: docker "
					   "archives are written from gzip or plain layers only",
					   l->digest);
			break;
		}
		close(fd);
		if (err)
			goto done;
	}
	err = bp_archive__commit(w);
	w = NULL;
done:
	bp_archive__abort(w);
	for (i = 0; i < ndiff; i++)
		free(diff_ids[i]);
	free(diff_ids);
	bp_manifest_free(m);
	free(mbytes);
	free(config);
	return err;
}

/* The tar writer's sink: a file descriptor. */
static int fd_sink(const void *buf, size_t len, void *payload)
{
	if (bp_write_all(*(int *)payload, buf, len) < 0)
		return bp_error_set(BP_EIO, "write: %s", strerror(errno));
	return 0;
}

/* Add one blob of the layout as blobs/sha256/<hex>. */
static int add_blob(bp_tarw *tw, bp_oci *oci, const char *digest)
{
	char name[96];
	int64_t size;
	int fd, err;

	if ((err = bp_oci_blob_open(oci, digest, &fd, &size)))
		return err;
	snprintf(name, sizeof(name), "blobs/sha256/%s", bp_digest_hex(digest));
	err = bp_tarw__add_from(tw, name, size, blob_read, &fd);
	close(fd);
	return err;
}

/*
 * Write the image tagged tag in the (verified) layout as the archive
 * Docker 25+ saves: an OCI layout (the pulled manifest and blobs, byte for
 * byte) plus manifest.json for older loaders. Loaded from it, the image
 * keeps the registry's manifest: its RepoDigests hold the pulled digest
 * (podman, Docker 25+), where a legacy archive would make the loader
 * write a manifest of its own. name (may be NULL) is the image's name.
 */
static int layout_to_oci_archive(bp_oci *oci, const char *tag, const char *name,
				 const char *path)
{
	const bp_descriptor *desc;
	bp_manifest *m = NULL;
	bp_tarw *tw = NULL;
	bp_dynbuf idx = BP_DYNBUF_INIT(1024 * 1024), mj = BP_DYNBUF_INIT(1024 * 1024);
	char *mbytes = NULL;
	size_t mlen, i;
	int fd = -1, err;

	if ((err = bp_oci_resolve(oci, tag, &desc)) ||
	    (err = bp_oci_blob_read(oci, desc->digest, BP_MANIFEST_MAX, &mbytes, &mlen)) ||
	    (err = bp_manifest_parse(&m, mbytes, mlen, desc->media_type)))
		goto done;
	/* names come from a parsed reference: no quote or backslash to escape */
	if (bp_dynbuf_printf(&idx, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{"
			     "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld",
			     BP_MEDIA_OCI_INDEX, bp_manifest_media_type(m), desc->digest,
			     (long long)desc->size) < 0 ||
	    (name && bp_dynbuf_printf(&idx, ",\"annotations\":{\"io.containerd.image.name\":\"%s\","
				      "\"org.opencontainers.image.ref.name\":\"%s\"}", name,
				      name) < 0) ||
	    bp_dynbuf_adds(&idx, "}]}") < 0 ||
	    bp_dynbuf_printf(&mj, "[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[",
			     bp_digest_hex(bp_manifest_config(m)->digest)) < 0 ||
	    (name && bp_dynbuf_printf(&mj, "\"%s\"", name) < 0) ||
	    bp_dynbuf_adds(&mj, "],\"Layers\":[") < 0) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < bp_manifest_count(m); i++)
		if (bp_dynbuf_printf(&mj, "%s\"blobs/sha256/%s\"", i ? "," : "",
				     bp_digest_hex(bp_manifest_item(m, i)->digest)) < 0) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
	if (bp_dynbuf_adds(&mj, "]}]") < 0) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = bp_error_set(BP_EIO, "%s: %s", path, strerror(errno));
		goto done;
	}
	if ((err = bp_tarw__new(&tw, fd_sink, NULL, &fd)) ||
	    (err = bp_tarw__add(tw, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30)) ||
	    (err = bp_tarw__add(tw, "index.json", idx.ptr, idx.len)) ||
	    (err = bp_tarw__add(tw, "manifest.json", mj.ptr, mj.len)) ||
	    (err = bp_tarw__begin(tw, "blobs", BP_TAR_DIR, 0)) || (err = bp_tarw__end(tw)) ||
	    (err = bp_tarw__begin(tw, "blobs/sha256", BP_TAR_DIR, 0)) || (err = bp_tarw__end(tw)) ||
	    (err = add_blob(tw, oci, desc->digest)) ||
	    (err = add_blob(tw, oci, bp_manifest_config(m)->digest)))
		goto done;
	for (i = 0; i < bp_manifest_count(m); i++) {
		size_t k;

		/* a layer listed twice goes in once */
		for (k = 0; k < i; k++)
			if (bp_digest_equal(bp_manifest_item(m, k)->digest,
					    bp_manifest_item(m, i)->digest))
				break;
		if (k == i && (err = add_blob(tw, oci, bp_manifest_item(m, i)->digest)))
			goto done;
	}
	err = bp_tarw__finish(tw);
done:
	bp_tarw__free(tw);
	if (fd >= 0)
		close(fd);
	bp_dynbuf_release(&idx);
	bp_dynbuf_release(&mj);
	bp_manifest_free(m);
	free(mbytes);
	return err;
}

/* Loads read the archive file. */
static long file_read(char *buf, size_t len, void *payload)
{
	return blob_read(buf, len, payload);
}

/*
 * A new private directory for the layout a pull into t fills first: next
 * to t's FILE for an archive, else in $TMPDIR or /tmp. *out: new string.
 */
static int pull_tmpdir(const bp_transport *t, char **out)
{
	const char *base = t->kind == BP_TRANSPORT_ARCHIVE ? t->path : secure_getenv("TMPDIR");
	char *tmp;

	*out = NULL;
	if (t->kind == BP_TRANSPORT_ARCHIVE) {
		const char *slash = strrchr(base, '/');

		tmp = slash ? bp_aprintf("%.*s/.beampush-pull-XXXXXX", (int)(slash - base), base)
			    : bp_strdup(".beampush-pull-XXXXXX");
	} else {
		tmp = bp_aprintf("%s/beampush-pull-XXXXXX", base && *base == '/' ? base : "/tmp");
	}
	if (!tmp)
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (!mkdtemp(tmp)) {
		/* name the directory the user gave, not our temporary name in it */
		const char *slash = strrchr(tmp, '/');
		int err = bp_error_set(BP_EIO, "cannot write in %.*s: %s",
				       slash ? (int)(slash - tmp) : 1, slash ? tmp : ".",
				       strerror(errno));

		free(tmp);
		return err;
	}
	*out = tmp;
	return 0;
}

/*
 * Write the image tagged tag in the (verified) layout at dir into t: a
 * `docker save` archive at t->path, or the archive Docker 25+ saves,
 * loaded into the daemon d. name (may be NULL) is the image's.
 */
static int write_docker(bp_client *c, const char *dir, const char *tag, const bp_transport *t,
			const char *name, bp_daemon *d)
{
	char *archive = NULL;
	bp_oci *oci = NULL;
	int fd = -1, err;

	if ((err = bp_oci_open(&oci, dir, 0)))
		goto done;
	archive = t->kind == BP_TRANSPORT_ARCHIVE ? bp_strdup(t->path)
						  : bp_aprintf("%s/image.tar", dir);
	if (!archive) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	err = t->kind == BP_TRANSPORT_ARCHIVE ? layout_to_archive(oci, tag, name, archive)
					      : layout_to_oci_archive(oci, tag, name, archive);
	if (err || t->kind != BP_TRANSPORT_DAEMON)
		goto done;
	if ((fd = open(archive, O_RDONLY | O_CLOEXEC)) < 0) {
		err = bp_error_set(BP_EIO, "%s: %s", archive, strerror(errno));
		goto done;
	}
	bp_client__debug(c, "loading %s into the daemon at %s", name, bp_daemon__socket(d));
	err = bp_daemon__load(d, file_read, &fd);
done:
	if (fd >= 0)
		close(fd);
	bp_oci_free(oci);
	free(archive);
	return err;
}

/* ---- pull ---- */

typedef struct {
	bp_registry *reg;
	bp_oci *oci;
	const char *repo;
} pull_ctx;

typedef struct {
	bp_oci_writer *w;
	const bp_descriptor *d;
	progress_ctx *pc;
} sink;

static int sink_write(const void *data, size_t len, void *payload)
{
	sink *s = payload;
	int64_t have = bp_oci_writer_count(s->w);

	/* never take more than the descriptor promised */
	if ((int64_t)len > s->d->size - have)
		return bp_error_set(BP_EINTEGRITY, "blob %s: registry sent more than its %lld bytes",
				    s->d->digest, (long long)s->d->size);
	if (bp_oci_writer_write(s->w, data, len))
		return bp_error_last_code() ? bp_error_last_code() : BP_EIO;
	bp_client__emit(s->pc->c, BP_EVENT_BLOB_PROGRESS, s->d->digest, s->pc->kind, have + (int64_t)len,
	     s->d->size, NULL);
	return 0;
}

/*
 * Download one blob into w from where it stands. A cut download goes on
 * from where it stopped, the hash carried over.
 */
static int download(bp_client *c, pull_ctx *x, sink *s)
{
	const bp_descriptor *d = s->d;
	int err, tries;

	for (tries = 0;; tries++) {
		int64_t have = bp_oci_writer_count(s->w);

		/* all there from an earlier run: commit will tell whether it is right */
		if (have > 0 && have >= d->size)
			return 0;
		err = bp_registry__blob_get(x->reg, x->repo, d->digest, have, sink_write, s);
		if (err != BP_ENET || tries >= c->opts.retries || bp_oci_writer_count(s->w) == have)
			return err;
		bp_client__debug(c, "blob %s: cut off at byte %lld, resuming", d->digest,
				 (long long)bp_oci_writer_count(s->w));
	}
}

static int pull_blob(bp_client *c, job *j)
{
	pull_ctx *x = j->ctx;
	const bp_descriptor *d = j->desc;
	progress_ctx pc = { c, d->digest, j->kind };
	sink s = { NULL, d, &pc };
	int64_t resumed;
	int err;

	if (bp_oci_blob_exists(x->oci, d->digest, d->size) == 1) {
		bp_client__emit(c, BP_EVENT_BLOB_EXISTS, d->digest, j->kind, d->size, d->size, NULL);
		return 0;
	}
	bp_client__emit(c, BP_EVENT_BLOB_START, d->digest, j->kind, 0, d->size, NULL);
	/* what an earlier run left of this blob is taken over (and hashed again) */
	if ((err = bp_oci_blob_resume(x->oci, &s.w, d->digest, d->size)))
		return err;
	if ((resumed = bp_oci_writer_resumed(s.w)) > 0)
		bp_client__debug(c, "blob %s: %lld bytes left by an earlier pull, resuming", d->digest,
				 (long long)resumed);
	if ((err = download(c, x, &s))) {
		/* what arrived stays for the next run, unless it cannot be of use */
		if (err == BP_EINTEGRITY || err == BP_ENOTFOUND || bp_oci_writer_count(s.w) == 0)
			bp_oci_writer_abort(s.w);
		else
			bp_oci_writer_keep(s.w);
		return err;
	}
	/* commit checks size and digest, and keeps nothing that does not match */
	err = bp_oci_blob_commit(s.w);
	if (err == BP_EINTEGRITY && resumed > 0) {
		/* the earlier run's bytes may be what was wrong: once more, from nothing */
		bp_client__debug(c, "blob %s: %s; downloading it whole", d->digest, bp_error_last());
		if ((err = bp_oci_blob_begin(x->oci, &s.w, d->digest, d->size)))
			return err;
		if ((err = download(c, x, &s))) {
			bp_oci_writer_abort(s.w);
			return err;
		}
		err = bp_oci_blob_commit(s.w);
	}
	if (err)
		return err;
	bp_client__emit(c, BP_EVENT_BLOB_DONE, d->digest, j->kind, d->size, d->size, NULL);
	return 0;
}

/*
 * Pull an image manifest's blobs into the layout, then the manifest itself
 * (untagged): a reader never sees a half image.
 */
static int pull_image(bp_client *c, pull_ctx *x, const bp_manifest *m, const char *bytes,
		      size_t len, const char *digest)
{
	job *jobs;
	size_t n;
	int err;

	if (!(jobs = bp_steps__image_jobs(m, x, &n)))
		return BP_ENOMEM;
	if (!(err = bp_jobs__run(c, jobs, n, pull_blob)))
		err = bp_oci_blob_put(x->oci, digest, bytes, len);
	free(jobs);
	return err;
}

/* Every platform of an index, then the index itself. */
static int pull_index(bp_client *c, pull_ctx *x, const bp_reference *src, const bp_manifest *idx)
{
	size_t i;
	int err = 0;

	for (i = 0; i < bp_manifest_count(idx) && !err; i++) {
		const bp_descriptor *d = bp_manifest_item(idx, i);
		bp_fetched f;

		if (bp_oci_blob_exists(x->oci, d->digest, d->size) == 1) {
			/* the manifest is written last: its blobs are there already */
			bp_client__emit(c, BP_EVENT_BLOB_EXISTS, d->digest, "manifest", d->size,
					d->size, NULL);
			continue;
		}
		err = bp_steps__manifest_fetch(x->reg, x->repo, d->digest, 1, BP_FETCH_IMAGE,
					       bp_reference_string(src), &f);
		if (!err)
			err = pull_image(c, x, f.m, f.bytes, f.len, d->digest);
		bp_steps__fetched_release(&f);
	}
	return err;
}

/* Pull src into the OCI layout at path, tagged tag (NULL: src's tag). */
static int pull_oci(bp_client *c, const bp_reference *src, const char *path, const char *tag,
		    char digest[BP_DIGEST_MAX])
{
	pull_ctx x = { NULL, NULL, bp_reference_path(src) };
	const char *platform = c->opts.platform ? c->opts.platform : bp_platform_default();
	const char *name = bp_reference_string(src);
	bp_fetched top = { NULL, 0, NULL, "", NULL }, child = { NULL, 0, NULL, "", NULL };
	const bp_fetched *img = &top; /* what is tagged: the image, or the whole index */
	bp_descriptor mdesc;
	int err, whole = 0;

	if ((err = bp_client__open_registry(c, bp_reference_domain(src), NULL, 0, &x.reg)))
		goto done;
	/* name:tag@digest is pulled by digest, as docker does */
	err = bp_steps__manifest_fetch(x.reg, x.repo, bp_reference_object(src),
				       bp_reference_digest(src) != NULL, BP_FETCH_PARSE, name,
				       &top);
	if (err)
		goto done;
	if (bp_manifest_kind_is_index(bp_manifest_kind_get(top.m))) {
		const bp_descriptor *pick;

		whole = c->opts.all_platforms;
		if (!whole &&
		    ((err = bp_steps__platform_pick(c, top.m, top.digest, platform, name, &pick)) ||
		     (err = bp_steps__manifest_fetch(x.reg, x.repo, pick->digest, 1, BP_FETCH_IMAGE,
						     name, &child))))
			goto done;
		if (!whole)
			img = &child;
	}
	if ((err = bp_oci_open(&x.oci, path, 1)))
		goto done;
	/* an index last, after every manifest it lists */
	if (whole && !(err = pull_index(c, &x, src, top.m)))
		err = bp_oci_blob_put(x.oci, top.digest, top.bytes, top.len);
	else if (!whole)
		err = pull_image(c, &x, img->m, img->bytes, img->len, img->digest);
	if (err)
		goto done;
	/* the tag last: a reader never sees a half image */
	memset(&mdesc, 0, sizeof(mdesc));
	mdesc.media_type = bp_manifest_media_type(img->m);
	bp_strlcpy(mdesc.digest, img->digest, sizeof(mdesc.digest));
	mdesc.size = (int64_t)img->len;
	if ((err = bp_oci_tag(x.oci, &mdesc, tag ? tag : bp_reference_tag(src))))
		goto done;
	bp_client__emit(c, BP_EVENT_MANIFEST, img->digest, whole ? "index" : "manifest",
			(int64_t)img->len, (int64_t)img->len, NULL);
	bp_strlcpy(digest, img->digest, BP_DIGEST_MAX);
done:
	bp_steps__fetched_release(&top);
	bp_steps__fetched_release(&child);
	bp_registry__free(x.reg);
	bp_oci_free(x.oci);
	return err;
}

/* ---- into docker's formats ---- */

/*
 * Pull into a `docker save` archive or the daemon: everything is pulled
 * and verified into a private layout first, so nothing unverified is ever
 * written to the archive or handed to the daemon.
 */
static int pull_docker(bp_client *c, const bp_reference *src, const bp_transport *t,
		       char digest[BP_DIGEST_MAX])
{
	char *tmp = NULL, *name = NULL;
	bp_daemon *d = NULL;
	int err;

	/* the daemon first: an unreachable one should fail before any download */
	if (t->kind == BP_TRANSPORT_DAEMON && (err = bp_daemon__open(&d)))
		return err;
	/*
	 * The name the image gets: the one asked for, else the pulled
	 * reference's; pulled by digest alone, none (as docker pull by digest).
	 */
	if (t->ref)
		name = bp_strdup(t->ref);
	else if (bp_reference_tag(src))
		name = bp_aprintf("%s:%s", bp_reference_name(src), bp_reference_tag(src));
	if ((t->ref || bp_reference_tag(src)) && !name) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = pull_tmpdir(t, &tmp)) ||
	    (err = pull_oci(c, src, tmp, "pulled", digest)))
		goto done;
	err = write_docker(c, tmp, "pulled", t, name, d);
done:
	if (tmp) {
		remove_layout(tmp);
		free(tmp);
	}
	bp_daemon__free(d);
	free(name);
	return err;
}

/*
 * The name dest records (a layout's tag, an archive's or the daemon's
 * reference), checked before anything is fetched: a bad one would
 * otherwise be refused only after the whole download.
 */
static int check_dest_name(const bp_transport *t)
{
	bp_reference *r = NULL;
	char *s;
	int err, ok;

	if (!t->ref)
		return 0;
	if (t->kind != BP_TRANSPORT_OCI) {
		if ((err = bp_reference_parse(&r, t->ref)))
			bp_error_prefix("destination");
		bp_reference_free(r);
		return err;
	}
	/* a layout's tag has docker's tag grammar: no '/', no leading '.' */
	if (!(s = bp_aprintf("t:%s", t->ref)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	ok = bp_reference_parse(&r, s) == 0 && bp_reference_tag(r) &&
	     strcmp(bp_reference_tag(r), t->ref) == 0;
	bp_reference_free(r);
	free(s);
	bp_error_clear();
	if (!ok)
		return bp_error_set(BP_EINVAL, "destination tag \"%.200s\" is invalid: use up to 128 "
				    "letters, digits, '_', '.' and '-', not starting with '.' or '-'",
				    t->ref);
	return 0;
}

/* Pull src into dest. */
int bp_pull(bp_client *c, const bp_reference *src, const char *dest, char digest[BP_DIGEST_MAX])
{
	bp_transport t = BP_TRANSPORT_INIT;
	int err;

	if ((err = bp_transport_parse(&t, dest)))
		return err;
	err = check_dest_name(&t);
	if (!err && t.kind == BP_TRANSPORT_OCI)
		err = pull_oci(c, src, t.path, t.ref, digest);
	else if (!err && c->opts.all_platforms)
		err = bp_error_set(BP_EINVAL, "every platform of an index goes into an OCI layout "
				   "only (--to oci:DIR), not into %s", dest);
	else if (!err)
		err = pull_docker(c, src, &t, digest);
	bp_transport_release(&t);
	return err;
}
