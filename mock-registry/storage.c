/* SPDX-License-Identifier: Apache-2.0 */
/*
 * On-disk layout (tests read and corrupt these files directly):
 *   ROOT/blobs/sha256/<hex>              blob bytes
 *   ROOT/repos/<name>/_layers/<hex>      empty: blob linked into <name>
 *   ROOT/repos/<name>/_manifests/<hex>   manifest bytes (+ <hex>.type)
 *   ROOT/repos/<name>/_tags/<tag>        "sha256:<hex>"
 *   ROOT/uploads/<uuid>                  upload in progress
 * Temporary files start with '.', which no tag, hex or uuid can.
 * Every path component here has been validated by the mock_valid_*
 * functions first, so no '..' or stray '/' can reach the filesystem.
 */
#include "mock.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/strutil.h"

static int lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_hex_lower(int c)
{
	return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*; returns its end. */
static const char *name_component(const char *p)
{
	if (!lower_alnum((unsigned char)*p))
		return NULL;
	while (lower_alnum((unsigned char)*p))
		p++;
	for (;;) {
		const char *q = p;

		if (*q == '.') {
			q++;
		} else if (*q == '_') {
			q++;
			if (*q == '_')
				q++;
		} else if (*q == '-') {
			while (*q == '-')
				q++;
		} else {
			return p;
		}
		if (!lower_alnum((unsigned char)*q))
			return NULL;
		while (lower_alnum((unsigned char)*q))
			q++;
		p = q;
	}
}

/* 1 when s matches the distribution repository name grammar (<=255). */
int mock_valid_name(const char *s)
{
	const char *p;

	if (!s || strlen(s) > MOCK_NAME_MAX)
		return 0;
	p = name_component(s);
	while (p && *p == '/')
		p = name_component(p + 1);
	return p && *p == '\0';
}

/* 1 when s is a tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
int mock_valid_tag(const char *s)
{
	size_t i;

	if (!s || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= MOCK_TAG_MAX)
			return 0;
		if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* The hex part of "sha256:<64 lowercase hex>", else NULL. */
const char *mock_valid_digest(const char *s)
{
	const char *hex = s ? bp_strprefix(s, "sha256:") : NULL;
	size_t i;

	if (!hex)
		return NULL;
	for (i = 0; i < MOCK_HEX_LEN; i++)
		if (!is_hex_lower((unsigned char)hex[i]))
			return NULL;
	return hex[MOCK_HEX_LEN] == '\0' ? hex : NULL;
}

/* 1 when s looks like the uuids we hand out (8-4-4-4-12 lowercase hex). */
int mock_valid_uuid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != MOCK_UUID_LEN)
		return 0;
	for (i = 0; i < MOCK_UUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !is_hex_lower((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int mkdir_one(const char *path)
{
	struct stat st;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return -1;
}

/* mkdir -p of path itself. */
static int mkdirs(const char *path)
{
	char *copy = bp_strdup(path);
	char *p;
	int rc = -1;

	if (!copy)
		goto done;
	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_one(copy) < 0)
			goto done;
		*p = '/';
	}
	rc = mkdir_one(copy);
done:
	free(copy);
	return rc;
}

/* mkdir -p of every directory above path. */
int mock_mkdirs_for(const char *path)
{
	char *dir = bp_strdup(path);
	char *slash;
	int rc = -1;

	if (!dir)
		return -1;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = mkdirs(dir);
	} else {
		rc = 0;
	}
	free(dir);
	return rc;
}

/* Creates ROOT, ROOT/blobs/sha256, ROOT/repos and ROOT/uploads. */
int mock_store_init(const char *root)
{
	static const char *const subs[] = { "blobs/sha256", "repos", "uploads" };
	size_t i;

	if (mkdirs(root) < 0)
		return -1;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *p = bp_aprintf("%s/%s", root, subs[i]);
		int rc = p ? mkdirs(p) : -1;

		free(p);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Writes all of len bytes to fd, retrying on EINTR and short writes. */
int mock_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes data to path via "<dir>/.tmp-<random>" and rename(2). */
int mock_write_atomic(const char *path, const void *data, size_t len)
{
	char rnd[17];
	char *tmp = NULL;
	const char *slash = strrchr(path, '/');
	int fd = -1, rc = -1;

	if (!slash || mock_random_hex(rnd, 8) < 0 || mock_mkdirs_for(path) < 0)
		goto done;
	tmp = bp_aprintf("%.*s/.tmp-%s", (int)(slash - path), path, rnd);
	if (!tmp)
		goto done;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || mock_write_all(fd, data, len) < 0)
		goto done;
	if (close(fd) < 0) {
		fd = -1;
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto done;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Reads a whole file into out, whose cap bounds the size. */
int mock_read_small(const char *path, bp_dynbuf *out)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0)
			break;
		if (bp_dynbuf_add(out, buf, (size_t)n) < 0)
			goto done;
	}
	if (bp_dynbuf_add(out, "", 0) < 0)
		goto done;
	rc = 0;
done:
	close(fd);
	return rc;
}

/* 1 when path exists as a regular file. */
int mock_file_exists(const char *path)
{
	struct stat st;

	return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* 1 when path is a directory. */
int mock_dir_exists(const char *path)
{
	struct stat st;

	return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void to_hex(const unsigned char *md, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

/* sha256 of a file, streamed in 64 KiB reads. */
int mock_sha256_file(const char *path, char hex[MOCK_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *buf = malloc(65536);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	if (!ctx || !buf || fd < 0 || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto done;
	for (;;) {
		ssize_t n = read(fd, buf, 65536);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			goto done;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)
		goto done;
	to_hex(md, 32, hex);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* sha256 of a buffer as 64 lowercase hex. */
int mock_sha256_buf(const void *data, size_t len, char hex[MOCK_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -1;
	to_hex(md, 32, hex);
	return 0;
}

/* size random bytes from OpenSSL's CSPRNG, as hex. */
int mock_random_hex(char *out, size_t size)
{
	unsigned char raw[64];

	if (size > sizeof(raw) || RAND_bytes(raw, (int)size) != 1)
		return -1;
	to_hex(raw, size, out);
	return 0;
}

/* ROOT/blobs/sha256/<hex>. */
char *mock_path_blob(const struct mock_server *s, const char *hex)
{
	return bp_aprintf("%s/blobs/sha256/%s", s->cfg.root, hex);
}

/* ROOT/uploads/<uuid>. */
char *mock_path_upload(const struct mock_server *s, const char *uuid)
{
	return bp_aprintf("%s/uploads/%s", s->cfg.root, uuid);
}

/* ROOT/repos/<name>/<sub>[/<leaf>]. */
char *mock_path_repo(const struct mock_server *s, const char *name, const char *sub,
		     const char *leaf)
{
	if (!leaf)
		return bp_aprintf("%s/repos/%s/%s", s->cfg.root, name, sub);
	return bp_aprintf("%s/repos/%s/%s/%s", s->cfg.root, name, sub, leaf);
}

/* 1 when _layers/<hex> exists in repo and the blob is in the store. */
int mock_blob_linked(const struct mock_server *s, const char *name, const char *hex)
{
	char *link = mock_path_repo(s, name, "_layers", hex);
	char *blob = mock_path_blob(s, hex);
	int ok = mock_file_exists(link) && mock_file_exists(blob);

	free(link);
	free(blob);
	return ok;
}

/* Creates the empty _layers/<hex> link file. */
int mock_blob_link(const struct mock_server *s, const char *name, const char *hex)
{
	char *link = mock_path_repo(s, name, "_layers", hex);
	int fd = -1;

	if (link && mock_mkdirs_for(link) == 0)
		fd = open(link, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	free(link);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* 1 when ROOT/repos/<name> has _layers, _manifests or _tags. */
int mock_repo_exists(const struct mock_server *s, const char *name)
{
	static const char *const subs[] = { "_layers", "_manifests", "_tags" };
	size_t i;
	int found = 0;

	for (i = 0; i < 3 && !found; i++) {
		char *p = mock_path_repo(s, name, subs[i], NULL);

		found = mock_dir_exists(p);
		free(p);
	}
	return found;
}
