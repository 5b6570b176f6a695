/* SPDX-License-Identifier: Apache-2.0 */
#include "cache.h"
#include "userdirs.h"

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The newest records are kept; older ones fall off past this many. */
#define CACHE_MAX_RECORDS 20000
#define CACHE_FILE_MAX (16 * 1024 * 1024)
#define FIELD_MAX 512

typedef enum { REC_COMPRESSED = 'C', REC_REPO = 'R' } rec_kind;

typedef struct {
	char kind;
	char *registry;
	char *key;    /* C: diff_id; R: digest */
	char *value;  /* C: compressed digest; R: repository */
	int64_t size; /* C only */
} record;

struct bp_cache {
	pthread_mutex_t lock; /* the push workers share one cache */
	char *dir;
	char *file;
	record *recs;   /* oldest first */
	size_t n, alloc;
	size_t added;   /* the last `added` records are new in this process */
};

static void record_release(record *r)
{
	free(r->registry);
	free(r->key);
	free(r->value);
}

/* Fields are written by us, but read back as untrusted: no blanks, bounded, printable. */
static int field_ok(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] >= 0x7f || n >= FIELD_MAX)
			return 0;
	return 1;
}

static int push_record(bp_cache *c, char kind, const char *registry, const char *key,
		       const char *value, int64_t size)
{
	record *r;
	size_t i;

	/* the same fact again: move it to the newest place */
	for (i = 0; i < c->n; i++) {
		r = &c->recs[i];
		if (r->kind == kind && strcmp(r->registry, registry) == 0 &&
		    strcmp(r->key, key) == 0 &&
		    (kind == REC_COMPRESSED || strcmp(r->value, value) == 0)) {
			record keep = *r;

			memmove(r, r + 1, (c->n - i - 1) * sizeof(*r));
			c->recs[c->n - 1] = keep;
			r = &c->recs[c->n - 1];
			if (kind == REC_COMPRESSED && strcmp(r->value, value) != 0) {
				char *v = bp_strdup(value);

				if (!v)
					return bp_error_set(BP_ENOMEM, "out of memory");
				free(r->value);
				r->value = v;
			}
			r->size = size;
			return 0;
		}
	}
	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 64;
		record *nr = realloc(c->recs, na * sizeof(*nr));

		if (!nr)
			return bp_error_set(BP_ENOMEM, "out of memory");
		c->recs = nr;
		c->alloc = na;
	}
	r = &c->recs[c->n];
	r->kind = kind;
	r->registry = bp_strdup(registry);
	r->key = bp_strdup(key);
	r->value = bp_strdup(value);
	r->size = size;
	if (!r->registry || !r->key || !r->value) {
		record_release(r);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	c->n++;
	return 0;
}

/* Parse one line; 1 when it was a record we keep. */
static int parse_line(bp_cache *c, char *line)
{
	char *f[5], *save = NULL, *p;
	int nf = 0;
	int64_t size = 0;

	for (p = strtok_r(line, " ", &save); p && nf < 5; p = strtok_r(NULL, " ", &save))
		f[nf++] = p;
	if (p || nf < 4)
		return 0;
	if (strcmp(f[0], "C") == 0 && nf == 5) {
		if (!field_ok(f[1]) || bp_digest_validate(f[2]) || bp_digest_validate(f[3]) ||
		    bp_parse_int64(f[4], 0, INT64_MAX, &size))
			return 0;
		return push_record(c, REC_COMPRESSED, f[1], f[2], f[3], size) == 0;
	}
	if (strcmp(f[0], "R") == 0 && nf == 4) {
		if (!field_ok(f[1]) || bp_digest_validate(f[2]) || !field_ok(f[3]))
			return 0;
		return push_record(c, REC_REPO, f[1], f[2], f[3], 0) == 0;
	}
	return 0;
}

static int load(bp_cache *c)
{
	FILE *f = fopen(c->file, "r");
	char line[4 * FIELD_MAX], msg[1024];
	size_t total = 0;
	int code = bp_error_last_code();

	if (!f)
		return 0;
	/* a save on the way out of a failed push must not lose that failure's message */
	bp_strlcpy(msg, code ? bp_error_last() : "", sizeof(msg));
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		total += n;
		if (total > CACHE_FILE_MAX)
			break;
		if (!n || line[n - 1] != '\n')
			continue; /* too long or cut: skip it */
		line[n - 1] = '\0';
		parse_line(c, line);
	}
	fclose(f);
	/* the lines skipped leave no error behind; the caller's stays */
	if (code)
		bp_error_set(code, "%s", msg);
	else
		bp_error_clear();
	return 0;
}

/* Load the cache; see cache.h. */
int bp_cache__open(bp_cache **out)
{
	bp_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return bp_error_set(BP_ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	c->dir = bp_userdirs__xdg(BP_XDG_CACHE, "beampush");
	c->file = c->dir ? bp_aprintf("%s/blobs", c->dir) : NULL;
	if (c->file)
		load(c);
	c->added = 0;
	*out = c;
	return 0;
}

/* Free c; NULL is fine. */
void bp_cache__free(bp_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		record_release(&c->recs[i]);
	free(c->recs);
	free(c->dir);
	free(c->file);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Look up a compressed blob; see cache.h. */
int bp_cache__compressed(bp_cache *c, const char *registry, const char *diff_id,
			 char digest[BP_DIGEST_MAX], int64_t *size)
{
	size_t i;
	int err = BP_ENOTFOUND;

	pthread_mutex_lock(&c->lock);
	for (i = c->n; i-- > 0;) {
		const record *r = &c->recs[i];

		if (r->kind == REC_COMPRESSED && strcmp(r->registry, registry) == 0 &&
		    strcmp(r->key, diff_id) == 0) {
			bp_strlcpy(digest, r->value, BP_DIGEST_MAX);
			*size = r->size;
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

static int add(bp_cache *c, char kind, const char *registry, const char *key, const char *value,
	       int64_t size)
{
	int err;

	if (!field_ok(registry) || !field_ok(value) || bp_digest_validate(key))
		return bp_error_set(BP_EINVAL, "cache: refusing a malformed record");
	pthread_mutex_lock(&c->lock);
	if (!(err = push_record(c, kind, registry, key, value, size)))
		c->added++;
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* Remember a compressed blob; see cache.h. */
int bp_cache__add_compressed(bp_cache *c, const char *registry, const char *diff_id,
			     const char *digest, int64_t size)
{
	if (bp_digest_validate(digest))
		return bp_error_set(BP_EINVAL, "cache: refusing a malformed record");
	return add(c, REC_COMPRESSED, registry, diff_id, digest, size);
}

/* Remember a repository holding a blob; see cache.h. */
int bp_cache__add_repo(bp_cache *c, const char *registry, const char *digest, const char *repo)
{
	return add(c, REC_REPO, registry, digest, repo, 0);
}

/* Walk the repositories holding a blob; see cache.h. */
void bp_cache__repos(bp_cache *c, const char *registry, const char *digest, const char *except,
		     int (*fn)(const char *repo, void *payload), void *payload)
{
	char *found[8];
	size_t i, n = 0;

	/* collect under the lock, call fn without it (fn talks to the registry) */
	pthread_mutex_lock(&c->lock);
	for (i = c->n; i-- > 0 && n < sizeof(found) / sizeof(found[0]);) {
		const record *r = &c->recs[i];

		if (r->kind == REC_REPO && strcmp(r->registry, registry) == 0 &&
		    strcmp(r->key, digest) == 0 && (!except || strcmp(r->value, except) != 0) &&
		    (found[n] = bp_strdup(r->value)))
			n++;
	}
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < n; i++)
		if (fn(found[i], payload))
			break;
	for (i = 0; i < n; i++)
		free(found[i]);
}

static int write_records(FILE *f, const record *recs, size_t n)
{
	size_t i, start = n > CACHE_MAX_RECORDS ? n - CACHE_MAX_RECORDS : 0;

	for (i = start; i < n; i++) {
		const record *r = &recs[i];
		int w = r->kind == REC_COMPRESSED
				? fprintf(f, "C %s %s %s %lld\n", r->registry, r->key, r->value,
					  (long long)r->size)
				: fprintf(f, "R %s %s %s\n", r->registry, r->key, r->value);

		if (w < 0)
			return -1;
	}
	return 0;
}

/* Merge and write; see cache.h. */
int bp_cache__save(bp_cache *c)
{
	bp_cache *disk = NULL;
	char *lock = NULL, *tmp = NULL;
	FILE *f = NULL;
	int lfd = -1, tfd = -1, err = 0;
	size_t i;

	pthread_mutex_lock(&c->lock);
	if (!c->added || !c->file) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	if (mkdir(c->dir, 0700) < 0 && errno != EEXIST) {
		/* the parent (~/.cache) may be missing too */
		char *parent = bp_strndup(c->dir, strlen(c->dir) - strlen("/beampush"));

		if (parent)
			mkdir(parent, 0700);
		free(parent);
		if (mkdir(c->dir, 0700) < 0 && errno != EEXIST) {
			err = bp_error_set(BP_EIO, "cache %s: %s", c->dir, strerror(errno));
			goto done;
		}
	}
	lock = bp_aprintf("%s/blobs.lock", c->dir);
	tmp = bp_aprintf("%s/.blobs.XXXXXX", c->dir);
	if (!lock || !tmp) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		err = bp_error_set(BP_EIO, "cache %s: %s", lock, strerror(errno));
		goto done;
	}
	/* what others wrote since we loaded, then ours on top (newest last) */
	if ((err = bp_cache__open(&disk)))
		goto done;
	for (i = c->n - c->added; i < c->n; i++) {
		const record *r = &c->recs[i];

		if ((err = push_record(disk, r->kind, r->registry, r->key, r->value, r->size)))
			goto done;
	}
	tfd = mkstemp(tmp);
	if (tfd < 0 || !(f = fdopen(tfd, "w"))) {
		err = bp_error_set(BP_EIO, "cache %s: %s", c->dir, strerror(errno));
		goto done;
	}
	tfd = -1;
	if (write_records(f, disk->recs, disk->n) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0) {
		err = bp_error_set(BP_EIO, "cache %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (fclose(f) != 0) {
		f = NULL;
		err = bp_error_set(BP_EIO, "cache %s: %s", tmp, strerror(errno));
		goto done;
	}
	f = NULL;
	if (rename(tmp, c->file) < 0) {
		err = bp_error_set(BP_EIO, "cache %s: %s", c->file, strerror(errno));
		goto done;
	}
	free(tmp);
	tmp = NULL;
	c->added = 0;
done:
	if (f)
		fclose(f);
	if (tfd >= 0)
		close(tfd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (lfd >= 0)
		close(lfd);
	free(lock);
	bp_cache__free(disk);
	pthread_mutex_unlock(&c->lock);
	return err;
}
