/* SPDX-License-Identifier: Apache-2.0 */
/*
 * push: an image to a registry from where beampush finds it, the
 * transports of bp_push(). The blobs of an OCI layout (a directory, or a
 * tar of one: oci-archive), and of the whole index a Docker 25+ archive
 * holds, are registry blobs already: they go as they lie, each by its
 * file descriptor (a tar's at its offset), manifests byte for byte. A
 * `docker save` archive's single image and the daemon's images hold
 * layers that are not blobs yet: those go to the docker-image push
 * (push_docker.c). Both stand on the shared steps (steps.h).
 */
#include <beampush/client.h>
#include <beampush/manifest.h>
#include <beampush/store_oci.h>
#include <beampush/transport.h>

#include "client.h"
#include "jobs.h"
#include "push_docker.h"
#include "steps.h"
#include "store_archive.h"
#include "store_daemon.h"
#include "util/strutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MANIFEST_DEPTH_MAX 2

/* Where the blobs come from, and where they go. */
typedef struct {
	bp_dest dest;
	bp_oci *oci;	     /* the blobs come from a layout, */
	bp_archive *archive; /* or from a tar's blobs/sha256 (oci-archive, Docker 25+) */
	const job *jobs;     /* the image's blobs being pushed, */
	const char *found;   /* and which of them the registry has (bp_steps__blobs_check) */
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

static int file_open(bp_client *c, bp_dest *d, bp_blob_step *s, void *payload)
{
	file_blob *f = payload;

	return open_source_blob(f->x, f->d, &f->fd, &f->offset, &f->owned);
}

/*
 * The registry found the bytes of an archive's blob wrong: when they do
 * not hash to its digest the archive is at fault, and the message says so
 * (naming it); else the registry's message stays. BP_EINTEGRITY.
 */
static int blame_archive(bp_archive *a, const char *digest)
{
	char why[1024];

	bp_strlcpy(why, bp_error_last(), sizeof(why));
	if (bp_archive__check_blob(a, digest) == BP_EINTEGRITY)
		return BP_EINTEGRITY;
	return bp_error_set(BP_EINTEGRITY, "%s", why);
}

static int file_send(bp_client *c, bp_dest *d, bp_blob_step *s, void *payload)
{
	file_blob *f = payload;
	bp_upload_options uo = { .session = s->session,
				 .offset = f->offset,
				 .chunk_size = c->opts.chunk_size,
				 .monolithic_max = c->opts.monolithic_max,
				 .progress = bp_jobs__progress,
				 .payload = &f->pc };
	int err;

	err = bp_registry__blob_upload(d->reg, d->repo, f->d->digest, f->d->size, f->fd, &uo);
	if (err == BP_EINTEGRITY && f->x->archive)
		err = blame_archive(f->x->archive, f->d->digest);
	if (err)
		return err;
	bp_strlcpy(s->out_digest, f->d->digest, BP_DIGEST_MAX);
	s->out_size = f->d->size;
	return 0;
}

static void file_close(void *payload)
{
	file_blob *f = payload;

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

	if (x->found[j - x->jobs])
		return 0;
	bp_steps__blob_init(&s, j->desc->digest, j->desc->size, j->kind, &file_source, &f);
	s.checked = 1;
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
	char *bytes = NULL, *found = NULL;
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
		if (!(jobs = bp_steps__image_jobs(m, x, &n)) || !(found = calloc(n, 1))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
		/* every HEAD first, at once: then only what is missing waits for its turn */
		if ((err = bp_steps__blobs_check(c, &x->dest, jobs, n, found)))
			goto done;
		x->jobs = jobs;
		x->found = found;
		err = bp_jobs__run_wide(c, jobs, n, push_blob,
					bp_registry__multiplexed(x->dest.reg));
		x->jobs = NULL;
		x->found = NULL;
		if (err)
			goto done;
	}
	err = bp_steps__manifest_put(c, &x->dest, ref, bytes, len, bp_manifest_media_type(m),
				     desc->digest, index ? "index" : "manifest");
	if (!err)
		bp_strlcpy(out, desc->digest, BP_DIGEST_MAX);
done:
	free(found);
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
	push_ctx x = { { NULL, NULL, NULL, NULL }, NULL, a, NULL, NULL };
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

/*
 * Push the image of an OCI image layout, a directory (oci:) or a tar
 * (oci-archive:): the manifest or the whole index it names, as stored.
 */
static int push_layout(bp_client *c, const bp_transport *t, const bp_reference *dst,
		       char digest[BP_DIGEST_MAX])
{
	push_ctx x = { { NULL, NULL, NULL, NULL }, NULL, NULL, NULL, NULL };
	const bp_descriptor *desc;
	int err, dir = t->kind == BP_TRANSPORT_OCI;

	/* the archive's messages name its path already */
	if (dir) {
		if ((err = bp_oci_open(&x.oci, t->path, 0)) ||
		    (err = bp_oci_resolve(x.oci, t->ref, &desc)))
			goto done;
	} else if ((err = bp_archive__open(&x.archive, t->path)) ||
		   (err = bp_archive__layout_pick(x.archive, t->ref, &desc))) {
		goto done;
	}
	if (bp_reference_digest(dst) && !bp_digest_equal(bp_reference_digest(dst), desc->digest)) {
		err = bp_error_set(BP_EINVAL, "%s names digest %s, but the image in %s:%s is %s",
				   bp_reference_string(dst), bp_reference_digest(dst),
				   dir ? "oci" : "oci-archive", t->path, desc->digest);
		goto done;
	}
	err = push_tree(c, &x, desc, dst, digest);
done:
	bp_oci_free(x.oci);
	bp_archive__free(x.archive);
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
	case BP_TRANSPORT_OCI_ARCHIVE:
		err = push_layout(c, &t, dst, digest);
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

