/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's formats from a verified OCI layout, for a pull into an archive
 * or the daemon: a `docker save` archive (legacy, layers as the tars their
 * diff_ids name) or the archive Docker 25+ saves (an OCI layout with a
 * manifest.json), which the daemon loads. Knows layouts, archives and
 * tars; nothing of registries.
 */
#include <beampush/manifest.h>
#include <beampush/store_oci.h>

#include "client.h"
#include "compress.h"
#include "gunzip.h"
#include "pull_docker.h"
#include "store_archive.h"
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

/* Remove a layout this process made; see pull_docker.h. */
void bp_pull_docker__remove(const char *dir)
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

/* A private directory for the layout; see pull_docker.h. */
int bp_pull_docker__tmpdir(const bp_transport *t, char **out)
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

/* Write the layout's image out in docker's formats; see pull_docker.h. */
int bp_pull_docker__write(bp_client *c, const char *dir, const char *tag, const bp_transport *t,
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
