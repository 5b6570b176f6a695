/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's formats from a verified OCI layout, for a pull into an archive
 * or the daemon: a `docker save` archive (legacy, layers as the tars their
 * diff_ids name) or the archive Docker 25+ saves (an OCI layout with a
 * manifest.json, oci_archive.h), which the daemon loads. Knows layouts,
 * archives and tars; nothing of registries.
 */
#include <beampush/manifest.h>
#include <beampush/store_oci.h>

#include "client.h"
#include "compress.h"
#include "gunzip.h"
#include "oci_archive.h"
#include "pull_docker.h"
#include "store_archive.h"
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

/* Loads read the archive file. */
static long file_read(char *buf, size_t len, void *payload)
{
	return blob_read(buf, len, payload);
}

/* A private directory for the layout; see pull_docker.h. */
int bp_pull_docker__tmpdir(const bp_transport *t, char **out)
{
	int beside = t->kind == BP_TRANSPORT_ARCHIVE || t->kind == BP_TRANSPORT_OCI_ARCHIVE;
	const char *base = beside ? t->path : secure_getenv("TMPDIR");
	char *tmp;

	*out = NULL;
	if (beside) {
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

/* The manifest and config digests of the image tagged tag in the (verified) layout. */
static int image_digests(bp_oci *oci, const char *tag, char manifest[BP_DIGEST_MAX],
			 char config[BP_DIGEST_MAX])
{
	const bp_descriptor *desc;
	bp_manifest *m = NULL;
	char *mbytes = NULL;
	size_t mlen;
	int err;

	if (!(err = bp_oci_resolve(oci, tag, &desc)) &&
	    !(err = bp_oci_blob_read(oci, desc->digest, BP_MANIFEST_MAX, &mbytes, &mlen)) &&
	    !(err = bp_manifest_parse(&m, mbytes, mlen, desc->media_type))) {
		bp_strlcpy(manifest, desc->digest, BP_DIGEST_MAX);
		bp_strlcpy(config, bp_manifest_config(m)->digest, BP_DIGEST_MAX);
	}
	bp_manifest_free(m);
	free(mbytes);
	return err;
}

/* 1 when the daemon finds image id by ref: inspected, it is that image. */
static int daemon_finds(bp_daemon *d, const char *ref, const char *id)
{
	bp_daemon_image img;
	int found = bp_daemon__inspect(d, ref, &img) == 0 && bp_digest_equal(img.id, id);

	bp_daemon__image_release(&img);
	bp_error_clear();
	return found;
}

/*
 * What the daemon made of the image it loaded: inspected by its name, or
 * by its config digest when it was loaded untagged. Its ID must be the
 * pulled image's: the config digest (docker's classic store, podman) or
 * the manifest digest (a containerd-backed store names images by it).
 */
static int loaded_image(bp_client *c, bp_daemon *d, const char *name, const char *manifest,
			const char *config, bp_pull_result *out)
{
	const char *what = name ? name : config;
	bp_daemon_image img;
	int err;

	if ((err = bp_daemon__inspect(d, what, &img))) {
		bp_error_prefix("after the load into the daemon at %s", bp_daemon__socket(d));
		return err;
	}
	if (!bp_digest_equal(img.id, config) && !bp_digest_equal(img.id, manifest)) {
		err = bp_error_set(BP_ERROR, "Docker daemon at %s: after the load, %s is image %s, "
				   "not the one pulled (config %s, manifest %s)",
				   bp_daemon__socket(d), what, img.id, config, manifest);
		goto done;
	}
	bp_strlcpy(out->image_id, img.id, sizeof(out->image_id));
	out->pinned_found = out->pinned[0] && daemon_finds(d, out->pinned, img.id);
	bp_client__debug(c, "loaded as image %s; %s %s it", img.id, out->pinned,
			 out->pinned_found ? "names" : "does not name");
done:
	bp_daemon__image_release(&img);
	return err;
}

/* Write the layout's image out in docker's formats; see pull_docker.h. */
int bp_pull_docker__write(bp_client *c, const char *dir, const char *tag, const bp_transport *t,
			  const char *name, bp_daemon *d, bp_pull_result *out)
{
	char manifest[BP_DIGEST_MAX], config[BP_DIGEST_MAX], *archive = NULL;
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
	if (t->kind == BP_TRANSPORT_ARCHIVE) {
		err = layout_to_archive(oci, tag, name, archive);
	} else {
		/*
		 * The archive Docker 25+ saves: loaded from it, the image keeps
		 * the registry's manifest, so its RepoDigests hold the pulled
		 * digest (podman, Docker 25+), where a legacy archive would
		 * make the loader write a manifest of its own.
		 */
		bp_oci_archive_opts ao = { name, name, 1 };

		err = bp_oci_archive__write(oci, tag, &ao, archive);
	}
	if (err || t->kind != BP_TRANSPORT_DAEMON || (err = image_digests(oci, tag, manifest, config)))
		goto done;
	if ((fd = open(archive, O_RDONLY | O_CLOEXEC)) < 0) {
		err = bp_error_set(BP_EIO, "%s: %s", archive, strerror(errno));
		goto done;
	}
	bp_client__debug(c, "loading %s into the daemon at %s (Engine API %s)",
			 name ? name : config, bp_daemon__socket(d), bp_daemon__api(d));
	if (!(err = bp_daemon__load(d, file_read, &fd)))
		err = loaded_image(c, d, name, manifest, config, out);
done:
	if (fd >= 0)
		close(fd);
	bp_oci_free(oci);
	free(archive);
	return err;
}
