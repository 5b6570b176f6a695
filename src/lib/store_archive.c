/* SPDX-License-Identifier: Apache-2.0 */
#include "store_archive.h"

#include <beampush/manifest.h>
#include <beampush/reference.h>

#include "util/fileutil.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define HEX_LEN 64
/* symbolic or hard links followed for one name */
#define LINKS_MAX 8
#define ANN_IMAGE_NAME "io.containerd.image.name"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"
/* integers a JSON number (a double) holds exactly */
#define JSON_INT_MAX 9007199254740992.0

#define KIND(k) (1u << (k))
#define CONFIG_KINDS (KIND(BP_ARCHIVE_CONFIG) | KIND(BP_ARCHIVE_BLOB))
#define LAYER_KINDS (KIND(BP_ARCHIVE_LAYER) | KIND(BP_ARCHIVE_V1_LAYER) | KIND(BP_ARCHIVE_BLOB))

/* A member of a known shape, as indexed at open. */
struct member {
	char *name; /* normalised: no leading "./", no trailing '/' */
	bp_tar_type type;
	char *link; /* link target as stored, or NULL */
	uint64_t offset;
	uint64_t size;
	size_t seq; /* position in the archive: the last of a name wins */
};

/* An image handed out by find, with the storage its fields point into. */
struct image {
	bp_archive_image pub;
	char *config;
	char *config_media_type;
	bp_archive_layer *layers;
	char **layer_media_types;
	char **tags;
	size_t ntags;
	char *manifest;
	char *manifest_media_type;
	struct image *next;
};

/* A usable manifests[] entry of index.json. */
struct ientry {
	bp_descriptor d; /* strings borrowed from the parsed index.json */
	char **names;	 /* normalised references */
	size_t nnames;
};

struct bp_archive {
	char *path;
	int fd;
	uint64_t file_size;
	struct member *m;
	size_t n;
	int meta_loaded;
	cJSON *mj; /* manifest.json (an array), or NULL */
	cJSON *ij; /* index.json, or NULL */
	struct ientry *ie;
	size_t nie;
	struct image *images;
};

static int oom(void)
{
	return bp_error_set(BP_ENOMEM, "out of memory");
}

/* ---- member names ---- */

/* name without leading "./" and trailing '/': a view, *len bytes long. */
static const char *norm_view(const char *name, size_t *len)
{
	while (name[0] == '.' && name[1] == '/') {
		name += 2;
		while (*name == '/')
			name++;
	}
	*len = strlen(name);
	while (*len && name[*len - 1] == '/')
		(*len)--;
	return name;
}

static int is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < HEX_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

static int view_is(const char *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

/* The shape of a member name; hex gets its 64 hex digits or "". */
bp_archive_member_kind bp_archive__member_kind(const char *name, char *hex)
{
	bp_archive_member_kind k = BP_ARCHIVE_OTHER;
	const char *p, *h = NULL;
	size_t len;

	if (hex)
		hex[0] = '\0';
	if (!name)
		return k;
	p = norm_view(name, &len);
	if (view_is(p, len, "manifest.json"))
		k = BP_ARCHIVE_MANIFEST_JSON;
	else if (view_is(p, len, "index.json"))
		k = BP_ARCHIVE_INDEX_JSON;
	else if (view_is(p, len, "oci-layout"))
		k = BP_ARCHIVE_OCI_LAYOUT;
	else if (view_is(p, len, "repositories"))
		k = BP_ARCHIVE_REPOSITORIES;
	else if (view_is(p, len, "blobs") || view_is(p, len, "blobs/sha256"))
		k = BP_ARCHIVE_BLOBS_DIR;
	else if (len == 13 + HEX_LEN && memcmp(p, "blobs/sha256/", 13) == 0 && is_hex64(p + 13))
		k = BP_ARCHIVE_BLOB, h = p + 13;
	else if (len >= HEX_LEN && is_hex64(p)) {
		const char *r = p + HEX_LEN;
		size_t rl = len - HEX_LEN;

		h = p;
		if (rl == 0)
			k = BP_ARCHIVE_V1_DIR;
		else if (view_is(r, rl, ".json"))
			k = BP_ARCHIVE_CONFIG;
		else if (view_is(r, rl, ".tar"))
			k = BP_ARCHIVE_LAYER;
		else if (view_is(r, rl, "/layer.tar"))
			k = BP_ARCHIVE_V1_LAYER;
		else if (view_is(r, rl, "/json"))
			k = BP_ARCHIVE_V1_JSON;
		else if (view_is(r, rl, "/VERSION"))
			k = BP_ARCHIVE_V1_VERSION;
		else
			h = NULL;
	}
	if (hex && h && k != BP_ARCHIVE_OTHER) {
		memcpy(hex, h, HEX_LEN);
		hex[HEX_LEN] = '\0';
	}
	return k;
}

/* ---- the member index ---- */

static int member_cmp(const void *x, const void *y)
{
	const struct member *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The member with this normalised name, or NULL. */
static const struct member *lookup(const bp_archive *a, const char *name)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(a->m[mid].name, name);

		if (c == 0)
			return &a->m[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct source {
	int fd;
	uint64_t pos;
	uint64_t size;
	const char *path;
};

static long source_read(void *buf, size_t len, void *payload)
{
	struct source *s = payload;
	ssize_t n;

	do
		n = read(s->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		bp_error_set(BP_EIO, "cannot read %s: %s", s->path, strerror(errno));
		return -1;
	}
	s->pos += (uint64_t)n;
	return (long)n;
}

/* Skip with lseek, never past the end of the file. */
static int64_t source_skip(uint64_t len, void *payload)
{
	struct source *s = payload;
	uint64_t left = s->pos < s->size ? s->size - s->pos : 0;

	if (len > left)
		len = left;
	if (len > (uint64_t)INT64_MAX || lseek(s->fd, (off_t)len, SEEK_CUR) < 0) {
		bp_error_set(BP_EIO, "cannot seek in %s: %s", s->path, strerror(errno));
		return -1;
	}
	s->pos += len;
	return (int64_t)len;
}

/* Record e in a's index when its name has a known shape. */
static int index_member(bp_archive *a, const bp_tar_entry *e, size_t seq, size_t *alloc)
{
	struct member *m;
	const char *p;
	size_t len;

	if (bp_archive__member_kind(e->name, NULL) == BP_ARCHIVE_OTHER)
		return 0;
	if (a->n == BP_ARCHIVE_MEMBERS_MAX)
		return bp_error_set(BP_EINVAL, "%s has more than %d image members", a->path,
				    BP_ARCHIVE_MEMBERS_MAX);
	if (a->n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 64;
		struct member *nm = realloc(a->m, na * sizeof(*nm));

		if (!nm)
			return oom();
		a->m = nm;
		*alloc = na;
	}
	p = norm_view(e->name, &len);
	m = &a->m[a->n];
	memset(m, 0, sizeof(*m));
	m->name = bp_strndup(p, len);
	if (!m->name)
		return oom();
	a->n++;
	if (e->type == BP_TAR_SYMLINK || e->type == BP_TAR_HARDLINK) {
		m->link = bp_strdup(e->linkname);
		if (!m->link)
			return oom();
	}
	m->type = e->type;
	m->offset = e->offset;
	m->size = e->size;
	m->seq = seq;
	return 0;
}

/* Read every header once; keep the members of known shapes, sorted. */
static int build_index(bp_archive *a)
{
	struct source src = { a->fd, 0, a->file_size, a->path };
	const bp_tar_entry *e;
	bp_tar *t = NULL;
	size_t alloc = 0, seq = 0, i, k;
	int rc;

	rc = bp_tar__new(&t, source_read, source_skip, &src, 0);
	if (rc)
		return rc;
	while ((rc = bp_tar__next(t, &e)) > 0) {
		rc = index_member(a, e, seq++, &alloc);
		if (rc)
			goto done;
	}
	if (rc < 0) {
		bp_error_prefix("%s", a->path);
		goto done;
	}
	if (a->n) /* qsort wants an array, even of nothing */
		qsort(a->m, a->n, sizeof(*a->m), member_cmp);
	/* as when extracted, a later member of the same name replaces one before */
	for (i = 0, k = 0; i < a->n; i++) {
		if (i + 1 < a->n && strcmp(a->m[i].name, a->m[i + 1].name) == 0) {
			free(a->m[i].name);
			free(a->m[i].link);
			continue;
		}
		a->m[k++] = a->m[i];
	}
	a->n = k;
done:
	bp_tar__free(t);
	return rc;
}

/* ---- reading members ---- */

static int pread_full(bp_archive *a, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(a->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bp_error_set(BP_EIO, "cannot read %s: %s", a->path, strerror(errno));
		if (n == 0)
			return bp_error_set(BP_EIO, "%s was truncated while being read", a->path);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* The target of link m (named from) into out: -1 when it leaves the archive. */
static int link_target(const char *from, const struct member *m, char *out, size_t cap)
{
	const char *p = m->link;
	size_t n = 0;

	out[0] = '\0';
	if (!p || p[0] == '/')
		return -1;
	/* a symbolic link is relative to its directory, a hard link to the root */
	if (m->type == BP_TAR_SYMLINK) {
		const char *slash = strrchr(from, '/');

		if (slash) {
			n = (size_t)(slash - from);
			if (n >= cap)
				return -1;
			memcpy(out, from, n);
			out[n] = '\0';
		}
	}
	while (*p) {
		const char *e = strchr(p, '/');
		size_t k = e ? (size_t)(e - p) : strlen(p);

		if (k == 2 && p[0] == '.' && p[1] == '.') {
			char *s;

			if (n == 0)
				return -1;
			s = memrchr(out, '/', n);
			n = s ? (size_t)(s - out) : 0;
			out[n] = '\0';
		} else if (k && !(k == 1 && p[0] == '.')) {
			if (n + 1 + k >= cap)
				return -1;
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, k);
			n += k;
			out[n] = '\0';
		}
		p += k;
		if (*p == '/')
			p++;
	}
	return n ? 0 : -1;
}

/*
 * The regular member that name (as manifest.json or index.json says it)
 * stands for, following links inside the archive. Every name on the way
 * must have one of the shapes in kinds. what says what it is for messages.
 */
static int locate(bp_archive *a, const char *name, unsigned kinds, const char *what,
		  const struct member **out)
{
	char cur[BP_TAR_NAME_MAX + 1], next[BP_TAR_NAME_MAX + 1];
	const struct member *m;
	const char *p;
	size_t len;
	int hops;

	*out = NULL;
	p = norm_view(name, &len);
	if (len > BP_TAR_NAME_MAX)
		return bp_error_set(BP_EINVAL, "%s: %s names an overlong member", a->path, what);
	memcpy(cur, p, len);
	cur[len] = '\0';
	for (hops = 0;; hops++) {
		if (!(kinds & KIND(bp_archive__member_kind(cur, NULL))))
			return bp_error_set(BP_EINVAL,
					    "%s: %s is \"%.200s\", which is not a name a docker "
					    "archive uses for it",
					    a->path, what, cur);
		m = lookup(a, cur);
		if (!m)
			return bp_error_set(BP_EINVAL, "%s: %s %.200s is not in the archive",
					    a->path, what, cur);
		if (m->type == BP_TAR_REG)
			break;
		if (m->type != BP_TAR_SYMLINK && m->type != BP_TAR_HARDLINK)
			return bp_error_set(BP_EINVAL, "%s: %s %.200s is not a regular file",
					    a->path, what, cur);
		if (hops == LINKS_MAX)
			return bp_error_set(BP_EPROTO, "%s: %s %.200s: more than %d links", a->path,
					    what, name, LINKS_MAX);
		if (link_target(cur, m, next, sizeof(next)) < 0)
			return bp_error_set(BP_EPROTO,
					    "%s: %s %.200s is a link to \"%.200s\", outside the "
					    "archive",
					    a->path, what, cur, m->link);
		memcpy(cur, next, sizeof(cur));
	}
	*out = m;
	return 0;
}

/* Read a whole member of at most max bytes, NUL-terminated. */
static int read_member(bp_archive *a, const struct member *m, size_t max, const char *what,
		       char **data, size_t *len)
{
	char *buf;
	int rc;

	*data = NULL;
	*len = 0;
	if (m->size > max)
		return bp_error_set(BP_EINVAL, "%s: %s %.200s is larger than %zu bytes", a->path,
				    what, m->name, max);
	buf = malloc((size_t)m->size + 1);
	if (!buf)
		return oom();
	rc = pread_full(a, buf, (size_t)m->size, m->offset);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[m->size] = '\0';
	*data = buf;
	*len = (size_t)m->size;
	return 0;
}

/* A member that must hash to "sha256:<hex>": read it and check. */
static int read_verified(bp_archive *a, const struct member *m, const char *digest, size_t max,
			 const char *what, char **data, size_t *len)
{
	char got[BP_DIGEST_MAX];
	int rc = read_member(a, m, max, what, data, len);

	if (!rc)
		rc = bp_digest_buf(got, *data, *len);
	if (!rc && !bp_digest_equal(got, digest))
		rc = bp_error_set(BP_EINTEGRITY,
				  "%s: %s %s: digest mismatch (the bytes hash to %s)", a->path,
				  what, digest, got);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

/* The member blobs/sha256/<hex> for digest, with size (-1: any) checked. */
static int blob_member(bp_archive *a, const char *digest, int64_t size, const char *what,
		       const struct member **out)
{
	char name[16 + HEX_LEN];
	int rc = bp_digest_validate(digest);

	*out = NULL;
	if (rc)
		return bp_error_prefix("%s: %s", a->path, what);
	snprintf(name, sizeof(name), "blobs/sha256/%s", bp_digest_hex(digest));
	rc = locate(a, name, KIND(BP_ARCHIVE_BLOB), what, out);
	if (rc)
		return rc;
	if (size >= 0 && (*out)->size != (uint64_t)size) {
		rc = bp_error_set(BP_EINTEGRITY,
				  "%s: %s %s: size mismatch (%llu bytes, expected %lld)", a->path,
				  what, digest, (unsigned long long)(*out)->size, (long long)size);
		*out = NULL;
	}
	return rc;
}

/* See store_archive.h. */
int bp_archive__blob(bp_archive *a, const char *digest, int64_t size, uint64_t *offset)
{
	const struct member *m;
	int rc = blob_member(a, digest, size, "blob", &m);

	if (!rc)
		*offset = m->offset;
	return rc;
}

/* See store_archive.h. */
int bp_archive__fd(const bp_archive *a)
{
	return a->fd;
}

/* A small blob, verified: manifests and configs. */
static int read_blob(bp_archive *a, const char *digest, int64_t size, size_t max, const char *what,
		     char **data, size_t *len)
{
	const struct member *m;
	int rc = blob_member(a, digest, size, what, &m);

	if (rc)
		return rc;
	return read_verified(a, m, digest, max, what, data, len);
}

/* See store_archive.h. */
int bp_archive__read_blob(bp_archive *a, const char *digest, int64_t size, size_t max, char **data,
			  size_t *len)
{
	return read_blob(a, digest, size, max, "blob", data, len);
}

/* ---- names ---- */

/* The normalised form of a reference with a tag, new string; NULL if invalid. */
static char *normalise_tag(const char *s)
{
	bp_reference *r = NULL;
	char *out = NULL;

	if (s && bp_reference_parse(&r, s) == 0 && bp_reference_tag(r) && !bp_reference_digest(r))
		out = bp_strdup(bp_reference_string(r));
	bp_reference_free(r);
	return out;
}

/* Add a copy of norm to a name list, once. */
static int add_name(char ***names, size_t *n, const char *norm)
{
	char **nn;
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*names)[i], norm) == 0)
			return 0;
	}
	nn = realloc(*names, (*n + 1) * sizeof(*nn));
	if (!nn)
		return oom();
	*names = nn;
	nn[*n] = bp_strdup(norm);
	if (!nn[*n])
		return oom();
	(*n)++;
	return 0;
}

/* Add the normalised form of raw, when it is a valid tag reference. */
static int add_raw_name(char ***names, size_t *n, const char *raw)
{
	char *norm = normalise_tag(raw);
	int rc;

	if (!norm)
		return 0;
	rc = add_name(names, n, norm);
	free(norm);
	return rc;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The names of an index.json entry: its image name annotations. */
static int entry_names(const cJSON *it, struct ientry *e)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(it, "annotations");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(ann, ANN_IMAGE_NAME);
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(ann, ANN_REF_NAME);
	int rc = 0;

	if (cJSON_IsString(name))
		rc = add_raw_name(&e->names, &e->nnames, name->valuestring);
	/* Docker puts the bare tag here; other tools may put a whole reference */
	if (!rc && cJSON_IsString(ref) && strpbrk(ref->valuestring, "/:"))
		rc = add_raw_name(&e->names, &e->nnames, ref->valuestring);
	return rc;
}

/* The RepoTags of a manifest.json entry, normalised. */
static int repo_tags(const cJSON *entry, char ***names, size_t *n)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(entry, "RepoTags"), *t;
	int rc = 0;

	cJSON_ArrayForEach (t, tags) {
		if (cJSON_IsString(t) && (rc = add_raw_name(names, n, t->valuestring)) != 0)
			break;
	}
	return rc;
}

/* ---- metadata ---- */

/* Read and parse a JSON member, if there is one (*out NULL otherwise). */
static int read_json(bp_archive *a, const char *name, bp_archive_member_kind kind, cJSON **out)
{
	const struct member *m;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!lookup(a, name))
		return 0;
	rc = locate(a, name, KIND(kind), name, &m);
	if (!rc)
		rc = read_member(a, m, BP_ARCHIVE_JSON_MAX, name, &data, &len);
	if (rc)
		return rc;
	*out = cJSON_ParseWithLength(data, len);
	free(data);
	if (!*out)
		return bp_error_set(BP_EINVAL, "%s: %s is not valid JSON", a->path, name);
	return 0;
}

/* The usable entries of index.json. */
static int load_index_entries(bp_archive *a)
{
	const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(a->ij, "manifests"), *it;
	size_t cap = (size_t)cJSON_GetArraySize(manifests);
	int rc = 0;

	a->ie = calloc(cap ? cap : 1, sizeof(*a->ie));
	if (!a->ie)
		return oom();
	cJSON_ArrayForEach (it, manifests) {
		const cJSON *digest = cJSON_GetObjectItemCaseSensitive(it, "digest");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
		const cJSON *mt = cJSON_GetObjectItemCaseSensitive(it, "mediaType");
		struct ientry *e = &a->ie[a->nie];

		/* entries we cannot use are not images we can find */
		if (!cJSON_IsString(digest) || bp_digest_validate(digest->valuestring) ||
		    !cJSON_IsNumber(size) || size->valuedouble < 0 ||
		    size->valuedouble > JSON_INT_MAX)
			continue;
		bp_strlcpy(e->d.digest, digest->valuestring, sizeof(e->d.digest));
		e->d.size = (int64_t)size->valuedouble;
		e->d.media_type = cJSON_IsString(mt) ? mt->valuestring : NULL;
		a->nie++;
		rc = entry_names(it, e);
		if (rc)
			break;
	}
	bp_error_clear();
	return rc;
}

/* manifest.json and index.json, once: either may be missing or unusable, not both. */
static int load_meta(bp_archive *a)
{
	int rc_mj, rc_ij = 0;
	const cJSON *manifests;

	if (a->meta_loaded)
		return 0;
	rc_mj = read_json(a, "manifest.json", BP_ARCHIVE_MANIFEST_JSON, &a->mj);
	if (!rc_mj && a->mj && !cJSON_IsArray(a->mj))
		rc_mj = bp_error_set(BP_EINVAL, "%s: manifest.json is not a JSON array", a->path);
	if (rc_mj) {
		char msg[1024];

		/* keep the message: index.json may still be fine */
		bp_strlcpy(msg, bp_error_last(), sizeof(msg));
		cJSON_Delete(a->mj);
		a->mj = NULL;
		rc_ij = read_json(a, "index.json", BP_ARCHIVE_INDEX_JSON, &a->ij);
		if (rc_ij || !a->ij) {
			cJSON_Delete(a->ij);
			a->ij = NULL;
			return bp_error_set(rc_mj, "%s", msg);
		}
	} else {
		rc_ij = read_json(a, "index.json", BP_ARCHIVE_INDEX_JSON, &a->ij);
	}
	if (a->ij) {
		manifests = cJSON_GetObjectItemCaseSensitive(a->ij, "manifests");
		if (!cJSON_IsObject(a->ij) || !cJSON_IsArray(manifests))
			rc_ij = bp_error_set(BP_EINVAL, "%s: index.json has no manifests array",
					     a->path);
	}
	if (rc_ij) {
		cJSON_Delete(a->ij);
		a->ij = NULL;
		/* manifest.json describes the same images */
		if (!a->mj)
			return rc_ij;
	}
	if (!a->mj && !a->ij)
		return bp_error_set(BP_EINVAL,
				    "%s is not a docker save archive: it has neither manifest.json "
				    "nor index.json",
				    a->path);
	if (a->ij) {
		int rc = load_index_entries(a);

		if (rc)
			return rc;
	}
	a->meta_loaded = 1;
	return 0;
}

/* ---- images ---- */

static void image_free(struct image *img)
{
	size_t i;

	if (!img)
		return;
	free(img->config);
	free(img->config_media_type);
	if (img->layer_media_types) {
		for (i = 0; i < img->pub.nlayers; i++)
			free(img->layer_media_types[i]);
	}
	free(img->layer_media_types);
	free(img->layers);
	free_names(img->tags, img->ntags);
	free(img->manifest);
	free(img->manifest_media_type);
	free(img);
}

static int image_new(struct image **out, size_t nlayers)
{
	struct image *img = calloc(1, sizeof(*img));

	*out = NULL;
	if (!img)
		return oom();
	img->layers = calloc(nlayers ? nlayers : 1, sizeof(*img->layers));
	img->layer_media_types = calloc(nlayers ? nlayers : 1, sizeof(char *));
	if (!img->layers || !img->layer_media_types) {
		image_free(img);
		return oom();
	}
	img->pub.nlayers = nlayers;
	*out = img;
	return 0;
}

static bp_compression detect(const unsigned char *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return BP_COMPRESSION_GZIP;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return BP_COMPRESSION_ZSTD;
	return BP_COMPRESSION_NONE;
}

/* Layer i of img is member m: where it is, its magic bytes. */
static int set_layer(bp_archive *a, struct image *img, size_t i, const struct member *m,
		     const char *media_type, const char *digest)
{
	bp_archive_layer *l = &img->layers[i];
	unsigned char head[4];
	size_t n = m->size < sizeof(head) ? (size_t)m->size : sizeof(head);
	char hex[HEX_LEN + 1];
	int rc;

	l->member = m->name;
	l->offset = m->offset;
	l->size = (int64_t)m->size;
	if (digest)
		bp_strlcpy(l->digest, digest, sizeof(l->digest));
	else if (bp_archive__member_kind(m->name, hex) == BP_ARCHIVE_BLOB)
		snprintf(l->digest, sizeof(l->digest), "sha256:%s", hex);
	if (media_type) {
		img->layer_media_types[i] = bp_strdup(media_type);
		if (!img->layer_media_types[i])
			return oom();
		l->media_type = img->layer_media_types[i];
	}
	rc = pread_full(a, head, n, m->offset);
	if (rc)
		return rc;
	l->compression = detect(head, n);
	return 0;
}

/* The config's rootfs.diff_ids onto the layers; their counts must agree. */
static int set_diff_ids(bp_archive *a, struct image *img)
{
	cJSON *config = cJSON_ParseWithLength(img->config, img->pub.config_len);
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(config, "rootfs");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids"), *it;
	size_t i = 0, n;
	int rc = 0;

	if (!cJSON_IsObject(config)) {
		rc = bp_error_set(BP_EINVAL, "%s: config %s is not a JSON object", a->path,
				  img->pub.config_digest);
		goto done;
	}
	if (!cJSON_IsArray(ids) && !(img->pub.nlayers == 0 && (!ids || cJSON_IsNull(ids)))) {
		rc = bp_error_set(BP_EINVAL, "%s: config %s has no rootfs.diff_ids array", a->path,
				  img->pub.config_digest);
		goto done;
	}
	n = (size_t)cJSON_GetArraySize(ids);
	if (n != img->pub.nlayers) {
		rc = bp_error_set(BP_EINVAL,
				  "%s: config %s lists %zu diff_ids but the image has %zu layers",
				  a->path, img->pub.config_digest, n, img->pub.nlayers);
		goto done;
	}
	cJSON_ArrayForEach (it, ids) {
		if (!cJSON_IsString(it) || bp_digest_validate(it->valuestring)) {
			rc = bp_error_set(BP_EINVAL,
					  "%s: config %s: diff_ids[%zu] is not a sha256 digest",
					  a->path, img->pub.config_digest, i);
			goto done;
		}
		bp_strlcpy(img->layers[i++].diff_id, it->valuestring,
			   sizeof(img->layers[0].diff_id));
	}
done:
	cJSON_Delete(config);
	return rc;
}

/* A manifest.json entry: Config, Layers and RepoTags. */
static int resolve_legacy(bp_archive *a, const cJSON *entry, struct image **out)
{
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(entry, "Config");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(entry, "Layers"), *it;
	const struct member *m;
	struct image *img = NULL;
	char hex[HEX_LEN + 1], what[64];
	size_t i = 0;
	int rc;

	*out = NULL;
	if (!cJSON_IsObject(entry) || !cJSON_IsString(config) ||
	    !(cJSON_IsArray(layers) || (!layers || cJSON_IsNull(layers))))
		return bp_error_set(
			BP_EINVAL, "%s: a manifest.json entry lacks a Config name or a Layers list",
			a->path);
	rc = image_new(&img, (size_t)cJSON_GetArraySize(layers));
	if (rc)
		return rc;
	/* the config is named by its digest: the bytes must hash to it */
	if (!(CONFIG_KINDS & KIND(bp_archive__member_kind(config->valuestring, hex)))) {
		rc = bp_error_set(
			BP_EINVAL,
			"%s: manifest.json names the config \"%.200s\", not <sha256>.json "
			"or blobs/sha256/<sha256>",
			a->path, config->valuestring);
		goto done;
	}
	snprintf(img->pub.config_digest, sizeof(img->pub.config_digest), "sha256:%s", hex);
	rc = locate(a, config->valuestring, CONFIG_KINDS, "config", &m);
	if (!rc)
		rc = read_verified(a, m, img->pub.config_digest, BP_ARCHIVE_CONFIG_MAX, "config",
				   &img->config, &img->pub.config_len);
	if (rc)
		goto done;
	cJSON_ArrayForEach (it, layers) {
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if (!cJSON_IsString(it)) {
			rc = bp_error_set(BP_EINVAL, "%s: manifest.json: %s is not a string",
					  a->path, what);
			goto done;
		}
		rc = locate(a, it->valuestring, LAYER_KINDS, what, &m);
		if (!rc)
			rc = set_layer(a, img, i, m, NULL, NULL);
		if (rc)
			goto done;
		i++;
	}
	rc = set_diff_ids(a, img);
	if (!rc)
		rc = repo_tags(entry, &img->tags, &img->ntags);
done:
	if (rc) {
		image_free(img);
		return rc;
	}
	*out = img;
	return 0;
}

/*
 * The image manifest desc leads to: itself, or the platform's entry of an
 * index. Verified bytes in *data, parsed in *mf, its digest in used.
 */
static int oci_manifest(bp_archive *a, const bp_descriptor *desc, const char *platform, char **data,
			size_t *len, bp_manifest **mf, char used[BP_DIGEST_MAX])
{
	const bp_descriptor *pick;
	bp_manifest *m = NULL;
	char *buf = NULL;
	size_t n = 0;
	int rc;

	*data = NULL;
	*mf = NULL;
	rc = read_blob(a, desc->digest, desc->size, BP_MANIFEST_MAX, "manifest", &buf, &n);
	if (!rc)
		rc = bp_manifest_parse(&m, buf, n, desc->media_type);
	if (rc)
		goto done;
	bp_strlcpy(used, desc->digest, BP_DIGEST_MAX);
	if (bp_manifest_kind_is_index(bp_manifest_kind_get(m))) {
		const char *plat = platform ? platform : bp_platform_default();

		rc = bp_manifest_select_platform(m, plat, &pick);
		if (rc) {
			bp_error_prefix("%s: index %s", a->path, desc->digest);
			goto done;
		}
		bp_strlcpy(used, pick->digest, BP_DIGEST_MAX);
		free(buf);
		buf = NULL;
		rc = read_blob(a, pick->digest, pick->size, BP_MANIFEST_MAX, "manifest", &buf, &n);
		if (rc) {
			bp_error_prefix("platform %s", plat);
			goto done;
		}
		/* pick belongs to m: parse the new bytes with its media type first */
		{
			bp_manifest *inner = NULL;

			rc = bp_manifest_parse(&inner, buf, n, pick->media_type);
			bp_manifest_free(m);
			m = inner;
		}
		if (rc)
			goto done;
		if (bp_manifest_kind_is_index(bp_manifest_kind_get(m))) {
			rc = bp_error_set(BP_EUNSUPPORTED, "%s: nested index %s for platform %s",
					  a->path, used, plat);
			goto done;
		}
	}
	*data = buf;
	*len = n;
	*mf = m;
	buf = NULL;
	m = NULL;
done:
	free(buf);
	bp_manifest_free(m);
	return rc;
}

/* An index.json entry: manifest (through an index by platform), config, layers. */
static int resolve_oci(bp_archive *a, const bp_descriptor *desc, const char *platform,
		       struct image **out)
{
	const bp_descriptor *cfg, *ld;
	const struct member *m;
	bp_manifest *mf = NULL;
	char used[BP_DIGEST_MAX] = "";
	struct image *img = NULL;
	char *data = NULL, what[64];
	size_t len = 0, i, nl;
	int rc;

	*out = NULL;
	rc = oci_manifest(a, desc, platform, &data, &len, &mf, used);
	if (rc)
		return rc;
	nl = bp_manifest_count(mf);
	rc = image_new(&img, nl);
	if (rc)
		goto done;
	img->manifest = data;
	data = NULL;
	img->pub.manifest = img->manifest;
	img->pub.manifest_len = len;
	bp_strlcpy(img->pub.manifest_digest, used, sizeof(img->pub.manifest_digest));
	img->manifest_media_type = bp_strdup(bp_manifest_media_type(mf));
	img->pub.manifest_media_type = img->manifest_media_type;
	/* reached through an index: remember it, a push may want all of it */
	if (!bp_digest_equal(used, desc->digest)) {
		bp_strlcpy(img->pub.index_digest, desc->digest, sizeof(img->pub.index_digest));
		img->pub.index_size = desc->size;
	}

	cfg = bp_manifest_config(mf);
	if (!cfg) {
		rc = bp_error_set(BP_EINVAL, "%s: manifest %s has no config", a->path, used);
		goto done;
	}
	bp_strlcpy(img->pub.config_digest, cfg->digest, sizeof(img->pub.config_digest));
	if (cfg->media_type) {
		img->config_media_type = bp_strdup(cfg->media_type);
		img->pub.config_media_type = img->config_media_type;
	}
	rc = read_blob(a, cfg->digest, cfg->size, BP_ARCHIVE_CONFIG_MAX, "config", &img->config,
		       &img->pub.config_len);
	if (rc)
		goto done;
	for (i = 0; i < nl; i++) {
		ld = bp_manifest_item(mf, i);
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		rc = blob_member(a, ld->digest, ld->size, what, &m);
		if (!rc)
			rc = set_layer(a, img, i, m, ld->media_type, ld->digest);
		if (rc)
			goto done;
	}
	rc = set_diff_ids(a, img);
done:
	free(data);
	bp_manifest_free(mf);
	if (rc) {
		image_free(img);
		return rc;
	}
	*out = img;
	return 0;
}

/* The index.json entry whose image has this config, or NULL. */
static const struct ientry *entry_for_config(bp_archive *a, const char *config_digest,
					     const char *platform)
{
	size_t i;

	for (i = 0; i < a->nie; i++) {
		bp_manifest *mf = NULL;
		char used[BP_DIGEST_MAX];
		char *data = NULL;
		size_t len = 0;
		int same;

		if (oci_manifest(a, &a->ie[i].d, platform, &data, &len, &mf, used))
			continue;
		same = bp_manifest_config(mf) &&
		       bp_digest_equal(bp_manifest_config(mf)->digest, config_digest);
		free(data);
		bp_manifest_free(mf);
		if (same)
			return &a->ie[i];
	}
	bp_error_clear();
	return NULL;
}

/* The manifest.json entry whose Config names this digest, or NULL. */
static const cJSON *legacy_for_config(const bp_archive *a, const char *config_digest)
{
	const cJSON *it;
	char hex[HEX_LEN + 1];

	cJSON_ArrayForEach (it, a->mj) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "Config");

		if (cJSON_IsString(c) &&
		    (CONFIG_KINDS & KIND(bp_archive__member_kind(c->valuestring, hex))) &&
		    strcmp(hex, bp_digest_hex(config_digest)) == 0)
			return it;
	}
	return NULL;
}

/* Every name of img: index.json entries of its manifest, RepoTags of its config. */
static int image_names(bp_archive *a, struct image *img, const char *index_digest)
{
	const cJSON *legacy;
	size_t i, k;
	int rc = 0;

	for (i = 0; i < a->nie && index_digest; i++) {
		if (!bp_digest_equal(a->ie[i].d.digest, index_digest))
			continue;
		for (k = 0; k < a->ie[i].nnames && !rc; k++)
			rc = add_name(&img->tags, &img->ntags, a->ie[i].names[k]);
	}
	legacy = a->mj ? legacy_for_config(a, img->pub.config_digest) : NULL;
	if (!rc && legacy)
		rc = repo_tags(legacy, &img->tags, &img->ntags);
	return rc;
}

/* "tags: a, b" of every image, for messages; NULL when out of memory. */
static char *all_names(const bp_archive *a, size_t *images)
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
			add_name(&names, &n, a->ie[i].names[k]);
	}
	if (a->mj) {
		if (!a->nie)
			*images = (size_t)cJSON_GetArraySize(a->mj);
		cJSON_ArrayForEach (it, a->mj)
			repo_tags(it, &names, &n);
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
	free_names(names, n);
	return bp_dynbuf_detach(&b, NULL);
}

/* Find an image by tag reference (NULL: the only one); see the header. */
int bp_archive__find(bp_archive *a, const char *ref, const char *platform,
		     const bp_archive_image **out)
{
	const struct ientry *pick = NULL;
	const cJSON *legacy = NULL, *it;
	struct image *img = NULL;
	bp_reference *r = NULL;
	char *want = NULL, *list = NULL;
	size_t i, k, images;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!a || !out)
		return bp_error_set(BP_EINVAL, "no archive to find an image in");
	if (ref) {
		rc = bp_reference_parse(&r, ref);
		if (rc) {
			bp_error_prefix("image reference for %s", a->path);
			goto done;
		}
		if (bp_reference_digest(r)) {
			rc = bp_error_set(BP_EINVAL,
					  "%s: name the image by tag, not digest: \"%s\" cannot "
					  "be looked up in a docker archive",
					  a->path, ref);
			goto done;
		}
		want = bp_strdup(bp_reference_string(r));
		if (!want) {
			rc = oom();
			goto done;
		}
	}
	rc = load_meta(a);
	if (rc)
		goto done;

	/* index.json first; without a ref, its entries must all be one image */
	if (!want && a->nie) {
		pick = &a->ie[0];
		for (k = 1; k < a->nie && pick; k++) {
			if (!bp_digest_equal(a->ie[k].d.digest, pick->d.digest))
				pick = NULL;
		}
	}
	for (i = 0; want && i < a->nie && !pick; i++) {
		for (k = 0; k < a->ie[i].nnames && !pick; k++) {
			if (strcmp(a->ie[i].names[k], want) == 0)
				pick = &a->ie[i];
		}
	}
	/* then manifest.json, and its index.json entry when there is one */
	if (!pick && a->mj) {
		if (!want && cJSON_GetArraySize(a->mj) == 1)
			legacy = cJSON_GetArrayItem(a->mj, 0);
		cJSON_ArrayForEach (it, a->mj) {
			char **names = NULL;
			size_t n = 0;

			if (!want || legacy)
				break;
			rc = repo_tags(it, &names, &n);
			for (k = 0; k < n && !rc; k++) {
				if (strcmp(names[k], want) == 0)
					legacy = it;
			}
			free_names(names, n);
			if (rc)
				goto done;
		}
		if (legacy && a->nie) {
			const cJSON *c = cJSON_GetObjectItemCaseSensitive(legacy, "Config");
			char hex[HEX_LEN + 1], digest[BP_DIGEST_MAX];

			if (cJSON_IsString(c) &&
			    (CONFIG_KINDS & KIND(bp_archive__member_kind(c->valuestring, hex)))) {
				snprintf(digest, sizeof(digest), "sha256:%s", hex);
				pick = entry_for_config(a, digest, platform);
			}
		}
	}
	if (pick) {
		rc = resolve_oci(a, &pick->d, platform, &img);
		if (!rc)
			rc = image_names(a, img, pick->d.digest);
	} else if (legacy) {
		rc = resolve_legacy(a, legacy, &img);
		if (!rc)
			rc = image_names(a, img, NULL);
	} else {
		list = all_names(a, &images);
		if (!list)
			rc = oom();
		else if (want)
			rc = bp_error_set(BP_ENOTFOUND, "%s is not in archive %s (%s)", want,
					  a->path, list);
		else if (!images)
			rc = bp_error_set(BP_ENOTFOUND, "archive %s holds no image", a->path);
		else
			rc = bp_error_set(BP_EINVAL,
					  "archive %s holds %zu images; name one as "
					  "docker-archive:%s:REF (%s)",
					  a->path, images, a->path, list);
		goto done;
	}
	if (rc)
		goto done;
	img->pub.config = img->config;
	img->pub.layers = img->layers;
	img->pub.tags = (const char *const *)img->tags;
	img->pub.ntags = img->ntags;
	img->next = a->images;
	a->images = img;
	*out = &img->pub;
	img = NULL;
done:
	image_free(img);
	bp_reference_free(r);
	free(want);
	free(list);
	return rc;
}

/* ---- open, read, free ---- */

/* Open path and index its members. */
int bp_archive__open(bp_archive **out, const char *path)
{
	bp_archive *a = NULL;
	struct stat st;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!out || !path || !*path)
		return bp_error_set(BP_EINVAL, "no archive file given");
	a = calloc(1, sizeof(*a));
	if (!a)
		return oom();
	a->fd = -1;
	a->path = bp_strdup(path);
	if (!a->path) {
		rc = oom();
		goto done;
	}
	a->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (a->fd < 0) {
		rc = errno == ENOENT
			     ? bp_error_set(BP_ENOTFOUND, "archive %s does not exist", path)
			     : bp_error_set(BP_EIO, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = bp_error_set(BP_EINVAL, "%s is not a regular file, so not a docker archive",
				  path);
		goto done;
	}
	a->file_size = (uint64_t)st.st_size;
	rc = build_index(a);
done:
	if (rc) {
		bp_archive__free(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* Close the file and free everything handed out. */
void bp_archive__free(bp_archive *a)
{
	size_t i;

	if (!a)
		return;
	while (a->images) {
		struct image *next = a->images->next;

		image_free(a->images);
		a->images = next;
	}
	for (i = 0; i < a->nie; i++)
		free_names(a->ie[i].names, a->ie[i].nnames);
	free(a->ie);
	cJSON_Delete(a->mj);
	cJSON_Delete(a->ij);
	for (i = 0; i < a->n; i++) {
		free(a->m[i].name);
		free(a->m[i].link);
	}
	free(a->m);
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	free(a);
}

/* The path given to open. */
const char *bp_archive__path(const bp_archive *a)
{
	return a ? a->path : NULL;
}

/* pread inside layer l's window. */
long bp_archive__read_at(bp_archive *a, const bp_archive_layer *l, uint64_t off, void *buf,
			 size_t len)
{
	ssize_t n;

	if (!a || !l || l->size < 0) {
		bp_error_set(BP_EINVAL, "no archive layer to read");
		return -1;
	}
	if (off >= (uint64_t)l->size || !len)
		return 0;
	if (len > (uint64_t)l->size - off)
		len = (size_t)((uint64_t)l->size - off);
	if (len > LONG_MAX)
		len = LONG_MAX;
	do
		n = pread(a->fd, buf, len, (off_t)(l->offset + off));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		bp_error_set(BP_EIO, "cannot read %s: %s", a->path, strerror(errno));
		return -1;
	}
	if (n == 0) {
		bp_error_set(BP_EIO, "%s was truncated: layer %s ends early", a->path, l->member);
		return -1;
	}
	return (long)n;
}

/* Start a cursor at the first byte of l. */
void bp_archive__cursor_init(bp_archive_cursor *c, bp_archive *a, const bp_archive_layer *l)
{
	c->a = a;
	c->l = l;
	c->pos = 0;
}

/* Sequential read through a cursor; the shape of bp_tar_read_fn. */
long bp_archive__cursor_read(void *buf, size_t len, void *payload)
{
	bp_archive_cursor *c = payload;
	long n = bp_archive__read_at(c->a, c->l, c->pos, buf, len);

	if (n > 0)
		c->pos += (uint64_t)n;
	return n;
}

/* ---- writing ---- */

struct wimage {
	char hex[HEX_LEN + 1]; /* of the config */
	char **tags;	       /* normalised name:tag */
	size_t ntags;
	char (*diff_ids)[HEX_LEN + 1]; /* from the config */
	size_t ndiff;
	size_t nlayers; /* added so far */
};

struct bp_archive_writer {
	char *path;
	char *dir;
	char *tmp; /* while it exists */
	int fd;
	bp_tarw *tw;
	int err;
	char errmsg[1024];
	struct wimage *img;
	size_t nimg;
	char (*layers)[HEX_LEN + 1]; /* diff_ids of the layers written */
	size_t nlayers;
};

static int w_sticky(bp_archive_writer *w, int code)
{
	w->err = code;
	bp_strlcpy(w->errmsg, bp_error_last(), sizeof(w->errmsg));
	return code;
}

static int fd_write(const void *buf, size_t len, void *payload)
{
	bp_archive_writer *w = payload;
	const char *p = buf;

	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bp_error_set(BP_EIO, "cannot write %s: %s", w->tmp, strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_patch(const void *buf, size_t len, uint64_t off, void *payload)
{
	bp_archive_writer *w = payload;
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(w->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			bp_error_set(BP_EIO, "cannot write %s: %s", w->tmp,
				     n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void writer_free(bp_archive_writer *w)
{
	size_t i;

	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	bp_tarw__free(w->tw);
	for (i = 0; i < w->nimg; i++) {
		free_names(w->img[i].tags, w->img[i].ntags);
		free(w->img[i].diff_ids);
	}
	free(w->img);
	free(w->layers);
	free(w->tmp);
	free(w->dir);
	free(w->path);
	free(w);
}

/* Start writing an archive that becomes path at commit. */
int bp_archive__create(bp_archive_writer **out, const char *path)
{
	bp_archive_writer *w = NULL;
	const char *slash, *base;
	struct stat st;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!out || !path || !*path)
		return bp_error_set(BP_EINVAL, "no archive file given");
	if (bp_strsuffix(path, "/") || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return bp_error_set(BP_EINVAL,
				    "%s is a directory; give a file name for the archive", path);
	w = calloc(1, sizeof(*w));
	if (!w)
		return oom();
	w->fd = -1;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	w->path = bp_strdup(path);
	w->dir = slash ? bp_strndup(path, slash == path ? 1 : (size_t)(slash - path))
		       : bp_strdup(".");
	w->tmp = bp_aprintf("%s/.%s.tmp-XXXXXX", w->dir ? w->dir : "", base);
	if (!w->path || !w->dir || !w->tmp) {
		rc = oom();
		goto done;
	}
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		rc = errno == ENOENT
			     ? bp_error_set(BP_ENOTFOUND, "directory %s does not exist", w->dir)
			     : bp_error_set(BP_EIO, "cannot create a file in %s: %s", w->dir,
					    strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		goto done;
	}
	if (fchmod(w->fd, bp_file_mode()) < 0) {
		rc = bp_error_set(BP_EIO, "cannot chmod %s: %s", w->tmp, strerror(errno));
		goto done;
	}
	rc = bp_tarw__new(&w->tw, fd_write, fd_patch, w);
done:
	if (rc) {
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* The config's diff_ids as hex strings. */
static int config_diff_ids(const void *config, size_t len, struct wimage *img)
{
	cJSON *root = cJSON_ParseWithLength(config, len);
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(root, "rootfs");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids"), *it;
	size_t i = 0;
	int rc = 0;

	if (!cJSON_IsObject(root) || !(cJSON_IsArray(ids) || !ids || cJSON_IsNull(ids))) {
		rc = bp_error_set(BP_EINVAL, "config sha256:%s has no rootfs.diff_ids array",
				  img->hex);
		goto done;
	}
	img->ndiff = (size_t)cJSON_GetArraySize(ids);
	img->diff_ids = calloc(img->ndiff ? img->ndiff : 1, sizeof(*img->diff_ids));
	if (!img->diff_ids) {
		rc = oom();
		goto done;
	}
	cJSON_ArrayForEach (it, ids) {
		if (!cJSON_IsString(it) || bp_digest_validate(it->valuestring)) {
			rc = bp_error_set(BP_EINVAL,
					  "config sha256:%s: diff_ids[%zu] is not a sha256 digest",
					  img->hex, i);
			goto done;
		}
		bp_strlcpy(img->diff_ids[i++], bp_digest_hex(it->valuestring), HEX_LEN + 1);
	}
done:
	cJSON_Delete(root);
	return rc;
}

/* Tags normalised, each once and never given to another image. */
static int image_tags(const bp_archive_writer *w, const char *const *tags, size_t ntags,
		      struct wimage *img)
{
	size_t i, j, k;

	for (i = 0; i < ntags; i++) {
		char *norm = normalise_tag(tags ? tags[i] : NULL);
		int rc;

		if (!norm)
			return bp_error_set(BP_EINVAL,
					    "\"%.200s\" is not an image reference with a tag (as "
					    "beam/python:latest)",
					    tags && tags[i] ? tags[i] : "");
		for (j = 0; j < w->nimg; j++) {
			for (k = 0; k < w->img[j].ntags; k++) {
				if (strcmp(w->img[j].tags[k], norm) == 0) {
					free(norm);
					return bp_error_set(BP_EINVAL,
							    "tag %s is already given to image "
							    "sha256:%s in this archive",
							    w->img[j].tags[k], w->img[j].hex);
				}
			}
		}
		rc = add_name(&img->tags, &img->ntags, norm);
		free(norm);
		if (rc)
			return rc;
	}
	return 0;
}

/* Begin an image: config now, tags kept for manifest.json. */
int bp_archive__add_image(bp_archive_writer *w, const void *config, size_t len,
			  const char *config_digest, const char *const *tags, size_t ntags)
{
	struct wimage img, *grown;
	char digest[BP_DIGEST_MAX], name[HEX_LEN + 8];
	size_t i;
	int rc, written = 0;

	memset(&img, 0, sizeof(img));
	if (!w)
		return bp_error_set(BP_EINVAL, "no archive writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	if (!config || len > BP_ARCHIVE_CONFIG_MAX)
		return bp_error_set(BP_EINVAL, "image config missing or larger than %d bytes",
				    BP_ARCHIVE_CONFIG_MAX);
	if (w->nimg && w->img[w->nimg - 1].nlayers != w->img[w->nimg - 1].ndiff)
		return bp_error_set(BP_EINVAL,
				    "image sha256:%s has %zu of its %zu layers: add them first",
				    w->img[w->nimg - 1].hex, w->img[w->nimg - 1].nlayers,
				    w->img[w->nimg - 1].ndiff);
	rc = bp_digest_buf(digest, config, len);
	if (rc)
		return rc;
	if (config_digest && !bp_digest_equal(digest, config_digest))
		return bp_error_set(BP_EINTEGRITY,
				    "config %s: digest mismatch (the bytes hash to %s)",
				    config_digest, digest);
	bp_strlcpy(img.hex, bp_digest_hex(digest), sizeof(img.hex));
	rc = config_diff_ids(config, len, &img);
	if (!rc)
		rc = image_tags(w, tags, ntags, &img);
	if (rc)
		goto done;
	grown = realloc(w->img, (w->nimg + 1) * sizeof(*grown));
	if (!grown) {
		rc = oom();
		goto done;
	}
	w->img = grown;
	for (i = 0; i < w->nimg; i++)
		written |= strcmp(w->img[i].hex, img.hex) == 0;
	if (!written) {
		snprintf(name, sizeof(name), "%s.json", img.hex);
		rc = bp_tarw__add(w->tw, name, config, len);
		if (rc) {
			w_sticky(w, rc);
			goto done;
		}
	}
	w->img[w->nimg++] = img;
	memset(&img, 0, sizeof(img));
done:
	free_names(img.tags, img.ntags);
	free(img.diff_ids);
	return rc;
}

/* 1 when a layer with this diff_id was written. */
int bp_archive__has_layer(const bp_archive_writer *w, const char *diff_id)
{
	size_t i;

	if (!w || bp_digest_validate(diff_id))
		return 0;
	for (i = 0; i < w->nlayers; i++) {
		if (strcmp(w->layers[i], bp_digest_hex(diff_id)) == 0)
			return 1;
	}
	return 0;
}

struct hashing {
	bp_tar_read_fn read;
	void *payload;
	bp_hasher *h;
};

static long hashing_read(void *buf, size_t len, void *payload)
{
	struct hashing *s = payload;
	long n = s->read(buf, len, s->payload);

	if (n > 0 && (size_t)n <= len)
		bp_hasher_update(s->h, buf, (size_t)n);
	return n;
}

/* The next layer of the current image, hashed while written. */
int bp_archive__add_layer(bp_archive_writer *w, const char *diff_id, int64_t size,
			  bp_tar_read_fn read, void *payload)
{
	struct hashing hs = { read, payload, NULL };
	char got[BP_DIGEST_MAX], name[HEX_LEN + 8];
	struct wimage *img;
	void *grown;
	int rc;

	if (!w)
		return bp_error_set(BP_EINVAL, "no archive writer");
	if (w->err)
		return bp_error_set(w->err, "%s", w->errmsg);
	rc = bp_digest_validate(diff_id);
	if (rc)
		return rc;
	if (!w->nimg)
		return bp_error_set(BP_EINVAL, "layer %s: add its image first", diff_id);
	img = &w->img[w->nimg - 1];
	if (img->nlayers == img->ndiff)
		return bp_error_set(BP_EINVAL, "layer %s: config sha256:%s lists only %zu layers",
				    diff_id, img->hex, img->ndiff);
	if (strcmp(bp_digest_hex(diff_id), img->diff_ids[img->nlayers]) != 0)
		return bp_error_set(
			BP_EINVAL, "layer %zu is %s, but config sha256:%s lists sha256:%s there",
			img->nlayers + 1, diff_id, img->hex, img->diff_ids[img->nlayers]);
	if (bp_archive__has_layer(w, diff_id)) {
		img->nlayers++;
		return 0;
	}
	if (!read || size < -1)
		return bp_error_set(BP_EINVAL, "layer %s: no data source or an invalid size",
				    diff_id);
	grown = realloc(w->layers, (w->nlayers + 1) * sizeof(*w->layers));
	if (!grown)
		return oom();
	w->layers = grown;
	rc = bp_hasher_new(&hs.h);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "%s.tar", bp_digest_hex(diff_id));
	rc = bp_tarw__add_from(w->tw, name, size, hashing_read, &hs);
	if (rc == BP_EINVAL) {
		/* the arguments were checked: this is the source's length */
		char why[512];

		bp_strlcpy(why, bp_error_last(), sizeof(why));
		rc = bp_error_set(BP_EINTEGRITY, "layer %s: size mismatch: %s", diff_id, why);
	} else if (rc) {
		bp_error_prefix("layer %s", diff_id);
	}
	if (!rc) {
		rc = bp_hasher_final(hs.h, got);
		if (!rc && !bp_digest_equal(got, diff_id))
			rc = bp_error_set(BP_EINTEGRITY,
					  "layer %s: diff_id mismatch (the bytes hash to %s)",
					  diff_id, got);
	}
	bp_hasher_free(hs.h);
	if (rc)
		return w_sticky(w, rc);
	bp_strlcpy(w->layers[w->nlayers++], bp_digest_hex(diff_id), HEX_LEN + 1);
	img->nlayers++;
	return 0;
}

/* manifest.json: [{"Config","RepoTags","Layers"}], as skopeo writes it. */
static char *manifest_json(const bp_archive_writer *w)
{
	cJSON *root = cJSON_CreateArray();
	char name[HEX_LEN + 8], *text = NULL;
	size_t i, k;

	if (!root)
		return NULL;
	for (i = 0; i < w->nimg; i++) {
		const struct wimage *img = &w->img[i];
		cJSON *e = cJSON_CreateObject(), *tags, *layers;

		if (!e)
			goto done;
		cJSON_AddItemToArray(root, e);
		snprintf(name, sizeof(name), "%s.json", img->hex);
		if (!cJSON_AddStringToObject(e, "Config", name) ||
		    !(tags = cJSON_AddArrayToObject(e, "RepoTags")) ||
		    !(layers = cJSON_AddArrayToObject(e, "Layers")))
			goto done;
		for (k = 0; k < img->ntags; k++) {
			cJSON *s = cJSON_CreateString(img->tags[k]);

			if (!s)
				goto done;
			cJSON_AddItemToArray(tags, s);
		}
		for (k = 0; k < img->ndiff; k++) {
			cJSON *s;

			snprintf(name, sizeof(name), "%s.tar", img->diff_ids[k]);
			s = cJSON_CreateString(name);
			if (!s)
				goto done;
			cJSON_AddItemToArray(layers, s);
		}
	}
	text = cJSON_PrintUnformatted(root);
done:
	cJSON_Delete(root);
	return text;
}

/* repositories: {"<repo>":{"<tag>":"<top layer hex>"}}. */
static char *repositories_json(const bp_archive_writer *w)
{
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	size_t i, k;

	if (!root)
		return NULL;
	for (i = 0; i < w->nimg; i++) {
		const struct wimage *img = &w->img[i];

		if (!img->ndiff)
			continue;
		for (k = 0; k < img->ntags; k++) {
			/* the tag follows the last ':' (a port's comes before a '/') */
			char *repo = bp_strdup(img->tags[k]), *colon;
			cJSON *tags;

			if (!repo)
				goto done;
			colon = strrchr(repo, ':');
			if (colon)
				*colon = '\0';
			tags = cJSON_GetObjectItemCaseSensitive(root, repo);
			if (!tags)
				tags = cJSON_AddObjectToObject(root, repo);
			if (!tags || !colon ||
			    !cJSON_AddStringToObject(tags, colon + 1,
						     img->diff_ids[img->ndiff - 1])) {
				free(repo);
				goto done;
			}
			free(repo);
		}
	}
	text = cJSON_PrintUnformatted(root);
done:
	cJSON_Delete(root);
	return text;
}

/* Finish the tar and rename it into place; frees w. */
int bp_archive__commit(bp_archive_writer *w)
{
	char *manifest = NULL, *repos = NULL;
	size_t i;
	int rc = 0;

	if (!w)
		return bp_error_set(BP_EINVAL, "no archive writer");
	if (w->err) {
		rc = bp_error_set(w->err, "%s", w->errmsg);
		goto done;
	}
	if (!w->nimg) {
		rc = bp_error_set(BP_EINVAL, "archive %s: no image was added", w->path);
		goto done;
	}
	for (i = 0; i < w->nimg; i++) {
		if (w->img[i].nlayers != w->img[i].ndiff) {
			rc = bp_error_set(
				BP_EINVAL, "archive %s: image sha256:%s has %zu of its %zu layers",
				w->path, w->img[i].hex, w->img[i].nlayers, w->img[i].ndiff);
			goto done;
		}
	}
	manifest = manifest_json(w);
	repos = repositories_json(w);
	if (!manifest || !repos) {
		rc = oom();
		goto done;
	}
	rc = bp_tarw__add(w->tw, "manifest.json", manifest, strlen(manifest));
	if (!rc)
		rc = bp_tarw__add(w->tw, "repositories", repos, strlen(repos));
	if (!rc)
		rc = bp_tarw__finish(w->tw);
	if (rc)
		goto done;
	if (fsync(w->fd) < 0) {
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", w->tmp, strerror(errno));
		goto done;
	}
	rc = close(w->fd);
	w->fd = -1;
	if (rc < 0) {
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", w->tmp, strerror(errno));
		goto done;
	}
	if (rename(w->tmp, w->path) < 0) {
		rc = bp_error_set(BP_EIO, "cannot rename %s to %s: %s", w->tmp, w->path,
				  strerror(errno));
		goto done;
	}
	free(w->tmp);
	w->tmp = NULL;
	/* make the rename durable; some file systems refuse fsync on a directory */
	{
		int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
done:
	cJSON_free(manifest);
	cJSON_free(repos);
	writer_free(w);
	return rc;
}

/* Delete the temporary file and free w. */
void bp_archive__abort(bp_archive_writer *w)
{
	writer_free(w);
}
