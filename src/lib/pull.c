/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pull: an image from a registry into an OCI layout, every blob verified
 * before it is kept and the manifest and tag written last, so a reader
 * never sees a half image. Into an oci-archive, a `docker save` archive
 * or the daemon, the image is pulled into a private layout first and
 * then written out: as a tar of a layout (oci_archive.c) or in docker's
 * formats (pull_docker.c). Stands on the shared steps
 * (steps.h) for the verified fetch and the platform pick.
 */
#include <beampush/client.h>
#include <beampush/manifest.h>
#include <beampush/store_oci.h>
#include <beampush/transport.h>

#include "client.h"
#include "cosign.h"
#include "jobs.h"
#include "oci_archive.h"
#include "pull_docker.h"
#include "registry.h"
#include "steps.h"
#include "store_daemon.h"
#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	bp_sources src; /* the mirrors, then the registry */
	bp_oci *oci;
} pull_ctx;

typedef struct {
	bp_oci_writer *w;
	const bp_descriptor *d;
	progress_ctx *pc;
	int local_failed; /* the layout could not take the bytes: no other source helps */
} sink;

static int sink_write(const void *data, size_t len, void *payload)
{
	sink *s = payload;
	int64_t have = bp_oci_writer_count(s->w);

	/* never take more than the descriptor promised */
	if ((int64_t)len > s->d->size - have)
		return bp_error_set(BP_EINTEGRITY, "blob %s: registry sent more than its %lld bytes",
				    s->d->digest, (long long)s->d->size);
	if (bp_oci_writer_write(s->w, data, len)) {
		s->local_failed = 1;
		return bp_error_last_code() ? bp_error_last_code() : BP_EIO;
	}
	bp_client__emit(s->pc->c, BP_EVENT_BLOB_PROGRESS, s->d->digest, s->pc->kind, have + (int64_t)len,
	     s->d->size, NULL);
	return 0;
}

/*
 * Download one blob into w from where it stands. A cut download goes on
 * from where it stopped, the hash carried over.
 */
static int download(bp_client *c, bp_source_try *t, sink *s)
{
	const bp_descriptor *d = s->d;
	int err, tries;

	for (tries = 0;; tries++) {
		int64_t have = bp_oci_writer_count(s->w);

		/* all there from an earlier run: commit will tell whether it is right */
		if (have > 0 && have >= d->size)
			return 0;
		err = bp_registry__blob_get(t->reg, t->repo, d->digest, d->size, have, sink_write, s);
		/* a mirror is not asked twice: the next source is its retry */
		if (err != BP_ENET || t->mirror || tries >= c->opts.retries ||
		    bp_oci_writer_count(s->w) == have)
			return err;
		bp_client__debug(c, "blob %s: cut off at byte %lld, resuming", d->digest,
				 (long long)bp_oci_writer_count(s->w));
	}
}

/* One blob's pull. */
typedef struct {
	pull_ctx *x;
	sink *s;
} blob_pull;

/*
 * One source's try at a blob: from where the partial file stands (a
 * source before this one may have failed it, and then it starts over),
 * committed only when size and digest match.
 */
static int pull_from(bp_client *c, bp_source_try *t, void *payload)
{
	blob_pull *b = payload;
	sink *s = b->s;
	const bp_descriptor *d = s->d;
	int64_t resumed;
	int err;

	if (!s->w && (err = bp_oci_blob_begin(b->x->oci, &s->w, d->digest, d->size)))
		goto local;
	resumed = bp_oci_writer_resumed(s->w);
	s->local_failed = 0;
	if ((err = download(c, t, s))) {
		if (s->local_failed)
			t->not_source = 1;
		/* what arrived stays for the next run, unless it cannot be of use */
		if (t->mirror || err == BP_EINTEGRITY || err == BP_ENOTFOUND ||
		    bp_oci_writer_count(s->w) == 0)
			bp_oci_writer_abort(s->w);
		else
			bp_oci_writer_keep(s->w);
		s->w = NULL;
		return err;
	}
	/* commit checks size and digest, and keeps nothing that does not match */
	err = bp_oci_blob_commit(s->w);
	s->w = NULL;
	if (err == BP_EINTEGRITY && resumed > 0) {
		/* the earlier run's bytes may be what was wrong: once more, from nothing */
		bp_client__debug(c, "blob %s: %s; downloading it whole", d->digest, bp_error_last());
		if ((err = bp_oci_blob_begin(b->x->oci, &s->w, d->digest, d->size)))
			goto local;
		if ((err = download(c, t, s))) {
			t->not_source = s->local_failed;
			bp_oci_writer_abort(s->w);
			s->w = NULL;
			return err;
		}
		err = bp_oci_blob_commit(s->w);
		s->w = NULL;
	}
	return err;
local:
	t->not_source = 1;
	return err;
}

static int pull_blob(bp_client *c, job *j)
{
	pull_ctx *x = j->ctx;
	const bp_descriptor *d = j->desc;
	progress_ctx pc = { c, d->digest, j->kind };
	sink s = { NULL, d, &pc, 0 };
	blob_pull b = { x, &s };
	char label[BP_DIGEST_MAX + 8];
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
	snprintf(label, sizeof(label), "blob %s", d->digest);
	err = bp_sources__try(&x->src, BP_SOURCE_PULL, label, pull_from, &b);
	if (s.w)
		bp_oci_writer_abort(s.w);
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
	if (!(err = bp_jobs__run_wide(c, jobs, n, pull_blob, bp_sources__multiplexed(&x->src))))
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
		err = bp_steps__manifest_read(&x->src, d->digest, 1, BP_FETCH_IMAGE,
					      bp_reference_string(src), &f);
		if (!err)
			err = pull_image(c, x, f.m, f.bytes, f.len, d->digest);
		bp_steps__fetched_release(&f);
	}
	return err;
}

/* bp_sign__require() on one source of the read. */
static int signature_from(bp_client *c, bp_source_try *t, void *payload)
{
	return bp_sign__require(c, t->reg, t->repo, payload);
}

/*
 * A signature of digest that the client's key verifies, looked up by its
 * tag on the sources that may answer a tag: a mirror cannot forge one, and
 * one without it leaves the question to the next source.
 */
static int require_signature(bp_client *c, bp_sources *src, char *digest)
{
	char label[BP_DIGEST_MAX + 16];

	snprintf(label, sizeof(label), "signature of %s", digest);
	return bp_sources__try(src, BP_SOURCE_RESOLVE, label, signature_from, digest);
}

/* Pull src into the OCI layout at path, tagged tag (NULL: src's tag). */
static int pull_oci(bp_client *c, const bp_reference *src, const char *path, const char *tag,
		    char digest[BP_DIGEST_MAX])
{
	pull_ctx x;
	const char *platform = c->opts.platform ? c->opts.platform : bp_platform_default();
	const char *name = bp_reference_string(src);
	bp_fetched top = { NULL, 0, NULL, "", NULL }, child = { NULL, 0, NULL, "", NULL };
	const bp_fetched *img = &top; /* what is tagged: the image, or the whole index */
	bp_descriptor mdesc;
	int err, whole = 0;

	x.oci = NULL;
	if ((err = bp_sources__open(c, src, &x.src)))
		goto done;
	/* name:tag@digest is pulled by digest, as docker does */
	err = bp_steps__manifest_read(&x.src, bp_reference_object(src),
				      bp_reference_digest(src) != NULL, BP_FETCH_PARSE, name, &top);
	if (err)
		goto done;
	/* a required signature names what the reference names, and comes before any write */
	if (c->verify_key && (err = require_signature(c, &x.src, top.digest))) {
		bp_error_prefix("%s", name);
		goto done;
	}
	if (bp_manifest_kind_is_index(bp_manifest_kind_get(top.m))) {
		const bp_descriptor *pick;

		whole = c->opts.all_platforms;
		if (!whole &&
		    ((err = bp_steps__platform_pick(c, top.m, top.digest, platform, name, &pick)) ||
		     (err = bp_steps__manifest_read(&x.src, pick->digest, 1, BP_FETCH_IMAGE, name,
						    &child))))
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
	bp_sources__close(&x.src);
	bp_oci_free(x.oci);
	return err;
}

/* ---- through a private layout: archives and the daemon ---- */

/* "name:tag", new string in *out; BP_ENOMEM. */
static int name_tag(const char *name, const char *tag, char **out)
{
	if (!(*out = bp_aprintf("%s:%s", name, tag)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

/*
 * The name a docker archive or the daemon gives the image: the one asked
 * for, else the pulled reference's; pulled by digest alone, none (as
 * docker pull by digest). *name: new string or NULL.
 */
static int docker_name(const bp_reference *src, const char *ref, char **name)
{
	bp_reference *r = NULL;
	int err;

	*name = NULL;
	if (!ref)
		return bp_reference_tag(src)
			       ? name_tag(bp_reference_name(src), bp_reference_tag(src), name)
			       : 0;
	/*
	 * A name can be loaded with a tag only: NAME@DIGEST (the default
	 * destination of a pull by digest) loads the image untagged, and
	 * NAME:TAG@DIGEST as NAME:TAG. check_dest_name parsed it already.
	 */
	if ((err = bp_reference_parse(&r, ref)))
		return err;
	if (!bp_reference_digest(r))
		err = (*name = bp_strdup(ref)) ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
	else if (bp_reference_tag(r))
		err = name_tag(bp_reference_name(r), bp_reference_tag(r), name);
	bp_reference_free(r);
	return err;
}

/* 1 when an oci-archive's REF is a whole name rather than a tag. */
static int ref_is_name(const char *ref)
{
	return strpbrk(ref, "/:") != NULL;
}

/*
 * The names an oci-archive gives the image (oci_archive.h). ref.name: REF
 * as given, so that skopeo finds the image under the same REF, else the
 * pulled tag. io.containerd.image.name, which containerd and podman name
 * the image by: REF normalised when it is a whole name, else the pulled
 * repository with REF (or the pulled tag) as its tag. Pulled by digest
 * alone and no REF: neither. New strings or NULL.
 */
static int archive_names(const bp_reference *src, const char *ref, char **ref_name,
			 char **image_name)
{
	const char *tag = ref ? ref : bp_reference_tag(src);
	bp_reference *r = NULL;
	int err = 0;

	*ref_name = *image_name = NULL;
	if (!tag)
		return 0;
	if (!(*ref_name = bp_strdup(tag)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (!ref || !ref_is_name(ref))
		err = name_tag(bp_reference_name(src), tag, image_name);
	/* check_dest_name let it through: it parses, and has a tag and no digest */
	else if ((err = bp_reference_parse(&r, ref)) == 0)
		err = name_tag(bp_reference_name(r), bp_reference_tag(r), image_name);
	bp_reference_free(r);
	return err;
}

/*
 * out->pinned for a pull into the daemon: NAME@DIGEST (out->digest), NAME
 * the repository of ref (docker-daemon:REF's, check_dest_name parsed it),
 * else src's.
 */
static int daemon_pinned(const bp_reference *src, const char *ref, bp_pull_result *out)
{
	bp_reference *r = NULL;
	char *pinned;
	int err;

	if (ref && (err = bp_reference_parse(&r, ref)))
		return err;
	pinned = bp_reference_pinned(r ? r : src, out->digest);
	bp_reference_free(r);
	if (!pinned)
		return bp_error_set(BP_ENOMEM, "out of memory");
	bp_strlcpy(out->pinned, pinned, sizeof(out->pinned));
	free(pinned);
	return 0;
}

/*
 * Pull into an oci-archive, a `docker save` archive or the daemon:
 * everything is pulled and verified into a private layout first, so
 * nothing unverified is ever written to the archive or handed to the
 * daemon, and then written out whole (the archives renamed into place
 * only when complete).
 */
static int pull_via_layout(bp_client *c, const bp_reference *src, const bp_transport *t,
			   bp_pull_result *out)
{
	char *tmp = NULL, *name = NULL, *ref_name = NULL;
	bp_daemon *d = NULL;
	bp_oci *oci = NULL;
	int err, oci_archive = t->kind == BP_TRANSPORT_OCI_ARCHIVE;

	/* the daemon first: an unreachable one should fail before any download */
	if (t->kind == BP_TRANSPORT_DAEMON && (err = bp_daemon__open(&d)))
		return err;
	if ((err = oci_archive ? archive_names(src, t->ref, &ref_name, &name)
			       : docker_name(src, t->ref, &name)) ||
	    (err = bp_pull_docker__tmpdir(t, &tmp)) ||
	    (err = pull_oci(c, src, tmp, "pulled", out->digest)))
		goto done;
	if (oci_archive) {
		bp_oci_archive_opts o = { ref_name, name, 0 };

		if (!(err = bp_oci_open(&oci, tmp, 0)))
			err = bp_oci_archive__write(oci, "pulled", &o, t->path);
	} else if (!(err = t->kind == BP_TRANSPORT_DAEMON ? daemon_pinned(src, t->ref, out) : 0)) {
		err = bp_pull_docker__write(c, tmp, "pulled", t, name, d, out);
	}
done:
	bp_oci_free(oci);
	if (tmp) {
		bp_pull_docker__remove(tmp);
		free(tmp);
	}
	bp_daemon__free(d);
	free(name);
	free(ref_name);
	return err;
}

/* 1 when tag has docker's tag grammar: no '/', no leading '.' or '-', at most 128. */
static int tag_valid(const char *tag)
{
	bp_reference *r = NULL;
	char *s = bp_aprintf("t:%s", tag);
	int ok = s && bp_reference_parse(&r, s) == 0 && bp_reference_tag(r) &&
		 strcmp(bp_reference_tag(r), tag) == 0;

	bp_reference_free(r);
	free(s);
	bp_error_clear();
	return ok;
}

/*
 * The name dest records (a layout's tag, an archive's or the daemon's
 * reference, an oci-archive's tag or reference), checked before anything
 * is fetched: a bad one would otherwise be refused only after the whole
 * download.
 */
static int check_dest_name(const bp_transport *t)
{
	bp_reference *r = NULL;
	int err = 0;

	if (!t->ref)
		return 0;
	if (t->kind == BP_TRANSPORT_OCI ||
	    (t->kind == BP_TRANSPORT_OCI_ARCHIVE && !ref_is_name(t->ref))) {
		if (!tag_valid(t->ref))
			return bp_error_set(
				BP_EINVAL,
				"destination tag \"%.200s\" is invalid: use up to 128 "
				"letters, digits, '_', '.' and '-', not starting with '.' "
				"or '-'%s",
				t->ref,
				t->kind == BP_TRANSPORT_OCI_ARCHIVE
					? ", or a whole name such as beam/python:2.55"
					: "");
		return 0;
	}
	if ((err = bp_reference_parse(&r, t->ref)))
		bp_error_prefix("destination");
	else if (t->kind == BP_TRANSPORT_OCI_ARCHIVE && bp_reference_digest(r))
		err = bp_error_set(BP_EINVAL,
				   "destination \"%.200s\": name the image by tag, not digest",
				   t->ref);
	bp_reference_free(r);
	return err;
}

/* Pull src into dest, saying what was written. */
int bp_pull_image(bp_client *c, const bp_reference *src, const char *dest, bp_pull_result *out)
{
	bp_transport t = BP_TRANSPORT_INIT;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = bp_transport_parse(&t, dest)))
		return err;
	err = check_dest_name(&t);
	if (!err && t.kind == BP_TRANSPORT_OCI)
		err = pull_oci(c, src, t.path, t.ref, out->digest);
	else if (!err && c->opts.all_platforms && t.kind != BP_TRANSPORT_OCI_ARCHIVE)
		err = bp_error_set(BP_EINVAL,
				   "every platform of an index goes into an OCI layout "
				   "only (--to oci:DIR or oci-archive:FILE), not into %s",
				   dest);
	else if (!err)
		err = pull_via_layout(c, src, &t, out);
	bp_transport_release(&t);
	return err;
}

/* Pull src into dest. */
int bp_pull(bp_client *c, const bp_reference *src, const char *dest, char digest[BP_DIGEST_MAX])
{
	bp_pull_result r;
	int err = bp_pull_image(c, src, dest, &r);

	memcpy(digest, r.digest, BP_DIGEST_MAX);
	return err;
}
