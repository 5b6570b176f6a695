/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: `docker save` archives as bp_archive reads them:
 * manifest.json, index.json, oci-layout, repositories, configs, links
 * between members. The tar bytes themselves are fuzz_tar's business: here
 * the input describes the members and this harness writes a well-formed
 * tar of them, so that mutations reach the JSON and the names. Input:
 * members, each starting with a line
 *   "--- NAME" (a file, its data the lines up to the next member line),
 *   "--s NAME TARGET" (a symbolic link), "--h NAME TARGET" (a hard link),
 *   "--d NAME" (a directory).
 * In names, targets and data, "@HEXk@" (k a digit) becomes the sha256 hex
 * of member k's data as given, so that configs and blobs can be named by
 * their digests.
 */
#include "store_archive.h"

#include <beampush/digest.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEMBERS_MAX 16

struct member {
	char type; /* '-' file, 's' symlink, 'h' hard link, 'd' directory */
	const char *line;
	size_t line_len;
	const char *data;
	size_t len;
	char hex[65];
};

static char path[64];

static void cleanup(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/tmp/bp-fuzz-archive-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	atexit(cleanup);
	return 0;
}

/* s[0..n) with every @HEXk@ replaced, into a new NUL-terminated buffer. */
static char *expand(const char *s, size_t n, const struct member *m, size_t nm, size_t *out_len)
{
	char *o = malloc(n * 11 + 1);
	size_t i = 0, j = 0;

	if (!o)
		return NULL;
	while (i < n) {
		if (n - i >= 6 && memcmp(s + i, "@HEX", 4) == 0 && s[i + 4] >= '0' &&
		    s[i + 4] <= '9' && s[i + 5] == '@' && (size_t)(s[i + 4] - '0') < nm) {
			memcpy(o + j, m[s[i + 4] - '0'].hex, 64);
			j += 64;
			i += 6;
		} else {
			o[j++] = s[i++];
		}
	}
	o[j] = '\0';
	*out_len = j;
	return o;
}

static void octal(char *field, size_t width, uint64_t v)
{
	snprintf(field, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

/* One ustar header (names cut to fit) and the data, padded. */
static int add(FILE *f, char type, const char *name, const char *link, const char *data,
	       size_t len)
{
	unsigned char h[512];
	unsigned sum = 0;
	size_t i;

	memset(h, 0, sizeof(h));
	strncpy((char *)h, name, 100);
	octal((char *)h + 100, 8, type == 'd' ? 0755 : 0644);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, type == '-' ? len : 0);
	octal((char *)h + 136, 12, 0);
	h[156] = type == '-' ? '0' : type == 's' ? '2' : type == 'h' ? '1' : '5';
	if (link)
		strncpy((char *)h + 157, link, 100);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	if (fwrite(h, 1, sizeof(h), f) != sizeof(h))
		return -1;
	if (type != '-' || !len)
		return 0;
	if (fwrite(data, 1, len, f) != len)
		return -1;
	memset(h, 0, sizeof(h));
	if (len % 512 && fwrite(h, 1, 512 - len % 512, f) != 512 - len % 512)
		return -1;
	return 0;
}

/* "--- ", "--s ", "--h " or "--d " at p. */
static int member_line(const char *p, const char *end)
{
	return end - p >= 4 && p[0] == '-' && p[1] == '-' && p[3] == ' ' &&
	       (p[2] == '-' || p[2] == 's' || p[2] == 'h' || p[2] == 'd');
}

static int write_tar(const char *in, size_t size)
{
	struct member m[MEMBERS_MAX];
	size_t nm = 0, i, off = 0;
	char zero[1024];
	FILE *f;
	int rc = 0;

	/* split into members */
	while (off < size && nm < MEMBERS_MAX) {
		const char *line = in + off, *end = in + size, *nl, *p;

		if (!member_line(line, end))
			return -1;
		nl = memchr(line, '\n', (size_t)(end - line));
		m[nm].type = line[2];
		m[nm].line = line + 4;
		m[nm].line_len = (size_t)((nl ? nl : end) - line) - 4;
		m[nm].data = nl ? nl + 1 : end;
		/* the data runs up to the newline before the next member line */
		if (member_line(m[nm].data, end)) {
			p = m[nm].data;
			m[nm].len = 0;
		} else {
			for (p = m[nm].data; (p = memchr(p, '\n', (size_t)(end - p))); p++)
				if (member_line(p + 1, end))
					break;
			m[nm].len = (size_t)((p ? p : end) - m[nm].data);
			if (p)
				p++;
		}
		off = p ? (size_t)(p - in) : size;
		nm++;
	}
	for (i = 0; i < nm; i++) {
		char d[BP_DIGEST_MAX];

		if (bp_digest_buf(d, m[i].data, m[i].len) != 0)
			return -1;
		memcpy(m[i].hex, bp_digest_hex(d), 65);
	}
	f = fopen(path, "wb");
	if (!f)
		return -1;
	for (i = 0; i < nm && !rc; i++) {
		size_t llen, dlen;
		char *line = expand(m[i].line, m[i].line_len, m, nm, &llen);
		char *data = expand(m[i].data, m[i].len, m, nm, &dlen);
		char *name = line, *target = NULL;

		if (!line || !data) {
			rc = -1;
		} else {
			if (m[i].type == 's' || m[i].type == 'h') {
				target = strchr(line, ' ');
				if (target)
					*target++ = '\0';
			}
			rc = add(f, m[i].type, name, target, data, dlen);
		}
		free(line);
		free(data);
	}
	memset(zero, 0, sizeof(zero));
	if (fwrite(zero, 1, sizeof(zero), f) != sizeof(zero))
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static void use(bp_archive *a, const bp_archive_image *img)
{
	char buf[4096];
	size_t i;

	(void)strlen(img->config_digest);
	for (i = 0; i < img->ntags; i++)
		(void)strlen(img->tags[i]);
	for (i = 0; i < img->nlayers; i++) {
		bp_archive_cursor c;
		long n;
		int rounds = 0;

		(void)strlen(img->layers[i].member);
		bp_archive__cursor_init(&c, a, &img->layers[i]);
		do
			n = bp_archive__cursor_read(buf, sizeof(buf), &c);
		while (n > 0 && ++rounds < 64);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char *ref, *platform;
	} finds[] = {
		{ NULL, NULL },
		{ "beam/app:1", NULL },
		{ "docker.io/beam/app:latest", "linux/arm64/v8" },
	};
	bp_archive *a = NULL;
	size_t i;

	if (size > 256 * 1024 || write_tar((const char *)data, size) != 0)
		return 0;
	if (bp_archive__open(&a, path) != 0)
		return 0;
	for (i = 0; i < sizeof(finds) / sizeof(finds[0]); i++) {
		const bp_archive_image *img;

		if (bp_archive__find(a, finds[i].ref, finds[i].platform, &img) == 0)
			use(a, img);
	}
	bp_archive__free(a);
	return 0;
}
