/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names of archived images, normalised the docker way
 * ("beam/python:latest" is "docker.io/beam/python:latest"): RepoTags of
 * manifest.json, image name annotations of index.json.
 */
#include "store_archive_int.h"

#include <beampush/reference.h>

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <stdlib.h>
#include <string.h>

#define ANN_IMAGE_NAME "io.containerd.image.name"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"

/* The normalised form of a reference with a tag, new string; NULL if invalid. */
char *bp_archive__normalise_tag(const char *s)
{
	bp_reference *r = NULL;
	char *out = NULL;

	if (s && bp_reference_parse(&r, s) == 0 && bp_reference_tag(r) && !bp_reference_digest(r))
		out = bp_strdup(bp_reference_string(r));
	bp_reference_free(r);
	return out;
}

/* Add a copy of norm to a name list, once. */
int bp_archive__add_name(char ***names, size_t *n, const char *norm)
{
	char **nn;
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*names)[i], norm) == 0)
			return 0;
	}
	nn = realloc(*names, (*n + 1) * sizeof(*nn));
	if (!nn)
		return bp_archive__oom();
	*names = nn;
	nn[*n] = bp_strdup(norm);
	if (!nn[*n])
		return bp_archive__oom();
	(*n)++;
	return 0;
}

/* Add the normalised form of raw, when it is a valid tag reference. */
static int add_raw_name(char ***names, size_t *n, const char *raw)
{
	char *norm = bp_archive__normalise_tag(raw);
	int rc;

	if (!norm)
		return 0;
	rc = bp_archive__add_name(names, n, norm);
	free(norm);
	return rc;
}

/* Free a name list. */
void bp_archive__free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The names of an index.json entry: its image name annotations. */
int bp_archive__entry_names(const cJSON *it, struct ientry *e)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(it, "annotations");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(ann, ANN_IMAGE_NAME);
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(ann, ANN_REF_NAME);
	int rc = 0;

	e->image_name = cJSON_IsString(name) ? name->valuestring : NULL;
	e->ref_name = cJSON_IsString(ref) ? ref->valuestring : NULL;
	if (cJSON_IsString(name))
		rc = add_raw_name(&e->names, &e->nnames, name->valuestring);
	/* Docker puts the bare tag here; other tools may put a whole reference */
	if (!rc && cJSON_IsString(ref) && strpbrk(ref->valuestring, "/:"))
		rc = add_raw_name(&e->names, &e->nnames, ref->valuestring);
	return rc;
}

/* The RepoTags of a manifest.json entry, normalised. */
int bp_archive__repo_tags(const cJSON *entry, char ***names, size_t *n)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(entry, "RepoTags"), *t;
	int rc = 0;

	cJSON_ArrayForEach (t, tags) {
		if (cJSON_IsString(t) && (rc = add_raw_name(names, n, t->valuestring)) != 0)
			break;
	}
	return rc;
}

/* "tags: a, b" of every image, for messages; NULL when out of memory. */
char *bp_archive__all_names(const bp_archive *a, size_t *images)
{
	bp_dynbuf b = BP_DYNBUF_INIT(2048);
	char **names = NULL;
	size_t n = 0, i, k;
	const cJSON *it;

	*images = 0;
	for (i = 0; i < a->nie; i++) {
		for (k = 0; k < i && !bp_digest_equal(a->ie[k].d.digest, a->ie[i].d.digest); k++)
			;
		if (k == i)
			(*images)++;
		for (k = 0; k < a->ie[i].nnames; k++)
			bp_archive__add_name(&names, &n, a->ie[i].names[k]);
	}
	if (a->mj) {
		if (!a->nie)
			*images = (size_t)cJSON_GetArraySize(a->mj);
		cJSON_ArrayForEach (it, a->mj)
			bp_archive__repo_tags(it, &names, &n);
	}
	bp_dynbuf_add(&b, "", 0);
	for (i = 0; i < n; i++) {
		if (bp_dynbuf_printf(&b, "%s%s", i ? ", " : "tags: ", names[i]) < 0) {
			bp_dynbuf_adds(&b, ", ...");
			break;
		}
	}
	if (!n)
		bp_dynbuf_adds(&b, "no tags");
	bp_archive__free_names(names, n);
	return bp_dynbuf_detach(&b, NULL);
}

/* Add ", " and s printable to a message's list, unless that makes it longer than max. */
static int add_listed(bp_dynbuf *b, const char *sep, const char *s, size_t max)
{
	if (b->len + strlen(sep) + strlen(s) > max)
		return -1;
	return bp_dynbuf_adds(b, sep) < 0 || bp_dynbuf_add_printable(b, s) < 0 ? -1 : 0;
}

/* "it holds: a, b" of index.json's entries, for messages; NULL when out of memory. */
char *bp_archive__layout_names(const bp_archive *a, size_t *images)
{
	bp_dynbuf b = BP_DYNBUF_INIT(1024);
	size_t i, k;
	int full = 0;

	*images = 0;
	bp_dynbuf_adds(&b, "it holds: ");
	for (i = 0; i < a->nie; i++) {
		const struct ientry *e = &a->ie[i];

		for (k = 0; k < i && !bp_digest_equal(a->ie[k].d.digest, e->d.digest); k++)
			;
		if (k == i)
			(*images)++;
		if (full)
			continue;
		/* names as stored: what the user types after oci-archive:FILE: */
		full = add_listed(&b, i ? ", " : "",
				  e->ref_name	  ? e->ref_name
				  : e->image_name ? e->image_name
						  : e->d.digest,
				  600) < 0;
		if (!full && e->ref_name && e->image_name)
			full = add_listed(&b, " (", e->image_name, 600) < 0 ||
			       bp_dynbuf_adds(&b, ")") < 0;
	}
	if (full)
		bp_dynbuf_adds(&b, ", ...");
	if (!a->nie)
		bp_dynbuf_adds(&b, "nothing");
	return bp_dynbuf_detach(&b, NULL);
}
