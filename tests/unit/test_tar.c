/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/common.h>

#include "tar.h"
#include "util/strutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[] = "/tmp/bp-test-tar-XXXXXX";

/* ---- in-memory sink and source ---- */

struct sink {
	unsigned char *p;
	size_t len, alloc;
	int fail_after; /* fail the nth write (0: never) */
	int writes;
};

static int sink_write(const void *buf, size_t len, void *payload)
{
	struct sink *s = payload;

	if (s->fail_after && ++s->writes >= s->fail_after) {
		bp_error_set(BP_EIO, "disk full");
		return -1;
	}
	if (s->len + len > s->alloc) {
		s->alloc = (s->len + len) * 2;
		s->p = realloc(s->p, s->alloc);
		assert_non_null(s->p);
	}
	memcpy(s->p + s->len, buf, len);
	s->len += len;
	return 0;
}

static int sink_patch(const void *buf, size_t len, uint64_t off, void *payload)
{
	struct sink *s = payload;

	assert_true(off + len <= s->len);
	memcpy(s->p + off, buf, len);
	return 0;
}

struct source {
	const unsigned char *p;
	size_t len, pos;
	size_t chunk; /* at most this much per read (0: any) */
};

static long source_read(void *buf, size_t len, void *payload)
{
	struct source *s = payload;
	size_t n = s->len - s->pos;

	if (n > len)
		n = len;
	if (s->chunk && n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (long)n;
}

static int64_t source_skip(uint64_t len, void *payload)
{
	struct source *s = payload;
	uint64_t n = s->len - s->pos;

	if (n > len)
		n = len;
	s->pos += (size_t)n;
	return (int64_t)n;
}

/* ---- reading a whole archive ---- */

struct got {
	char *name;
	char *link;
	bp_tar_type type;
	unsigned char *data;
	size_t len;
	uint32_t mode;
	int64_t mtime;
};

static void got_free(struct got *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(g[i].name);
		free(g[i].link);
		free(g[i].data);
	}
	free(g);
}

/* Read every member and its data; the reader's code (0 at the end). */
static int read_all(const unsigned char *p, size_t len, size_t chunk, int use_skip, unsigned flags,
		    struct got **out, size_t *n)
{
	struct source src = { p, len, 0, chunk };
	const bp_tar_entry *e;
	struct got *g = NULL;
	bp_tar *t;
	int rc;

	*n = 0;
	assert_int_equal(bp_tar__new(&t, source_read, use_skip ? source_skip : NULL, &src, flags),
			 0);
	while ((rc = bp_tar__next(t, &e)) > 0) {
		unsigned char buf[333];
		long k;

		g = realloc(g, (*n + 1) * sizeof(*g));
		assert_non_null(g);
		memset(&g[*n], 0, sizeof(*g));
		g[*n].name = bp_strdup(e->name);
		g[*n].link = bp_strdup(e->linkname);
		g[*n].type = e->type;
		g[*n].mode = e->mode;
		g[*n].mtime = e->mtime;
		g[*n].data = malloc(e->size + 1);
		assert_non_null(g[*n].data);
		(*n)++;
		assert_int_equal(e->offset % BP_TAR_BLOCK, 0);
		while ((k = bp_tar__read(t, buf, sizeof(buf))) > 0) {
			assert_true(g[*n - 1].len + (size_t)k <= e->size);
			memcpy(g[*n - 1].data + g[*n - 1].len, buf, (size_t)k);
			g[*n - 1].len += (size_t)k;
		}
		if (k < 0) {
			rc = bp_error_last_code();
			break;
		}
		assert_int_equal(g[*n - 1].len, e->size);
	}
	if (rc == 0) {
		/* the end stays the end */
		assert_int_equal(bp_tar__next(t, &e), 0);
		assert_null(e);
	} else if (rc < 0) {
		/* errors are sticky */
		assert_int_equal(bp_tar__next(t, &e), rc);
	}
	bp_tar__free(t);
	*out = g;
	return rc;
}

/* ---- writing ---- */

struct member {
	const char *name; /* NULL: generated, see make_name */
	size_t name_len;  /* for generated names */
	int slashes;	  /* generated names: with '/' every 40 bytes */
	bp_tar_type type;
	size_t size;
	const char *expect; /* the name read back, NULL: the same */
};

static char *make_name(const struct member *m)
{
	char *s;
	size_t i;

	if (m->name)
		return bp_strdup(m->name);
	s = malloc(m->name_len + 1);
	assert_non_null(s);
	for (i = 0; i < m->name_len; i++)
		s[i] = (m->slashes && i % 40 == 39 && i + 1 < m->name_len) ? '/'
									   : (char)('a' + i % 26);
	s[m->name_len] = '\0';
	return s;
}

static unsigned char *make_data(size_t n, unsigned seed)
{
	unsigned char *d = malloc(n ? n : 1);
	size_t i;

	assert_non_null(d);
	for (i = 0; i < n; i++)
		d[i] = (unsigned char)(i * 131 + seed * 7 + (i >> 9));
	return d;
}

/* A source that yields a buffer in chunks, for add_from. */
struct chunks {
	const unsigned char *p;
	size_t len, pos;
};

static long chunks_read(void *buf, size_t len, void *payload)
{
	struct chunks *c = payload;
	size_t n = c->len - c->pos;

	if (n > len)
		n = len;
	if (n > 1000)
		n = 1000;
	memcpy(buf, c->p + c->pos, n);
	c->pos += n;
	return (long)n;
}

static const struct member members[] = {
	{ "a.txt", 0, 0, BP_TAR_REG, 5, NULL },
	{ "empty", 0, 0, BP_TAR_REG, 0, NULL },
	{ "dir", 0, 0, BP_TAR_DIR, 0, "dir/" },
	{ "dir/sub/", 0, 0, BP_TAR_DIR, 0, NULL },
	{ "one-block", 0, 0, BP_TAR_REG, 512, NULL },
	{ "padded", 0, 0, BP_TAR_REG, 513, NULL },
	{ "bigger", 0, 0, BP_TAR_REG, 70000, NULL },
	/* exactly 100 bytes: fills ustar's name field, no NUL */
	{ NULL, 100, 0, BP_TAR_REG, 3, NULL },
	/* 101 bytes, no '/': PAX */
	{ NULL, 101, 0, BP_TAR_REG, 17, NULL },
	/* 200 bytes with '/': the ustar prefix */
	{ NULL, 200, 1, BP_TAR_REG, 9, NULL },
	/* 300 bytes: no prefix split fits, PAX */
	{ NULL, 300, 1, BP_TAR_REG, 1025, NULL },
	{ NULL, 4096, 1, BP_TAR_REG, 2, NULL },
	{ NULL, 3000, 0, BP_TAR_DIR, 0, NULL },
	{ "./dotted/name.json", 0, 0, BP_TAR_REG, 12, NULL },
};
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

/* Write the table; how: 0 add(), 1 add_from(known size), 2 add_from(unknown size). */
static void write_table(struct sink *s, int how)
{
	bp_tarw *w;
	size_t i;

	memset(s, 0, sizeof(*s));
	assert_int_equal(bp_tarw__new(&w, sink_write, sink_patch, s), 0);
	for (i = 0; i < NMEMBERS; i++) {
		char *name = make_name(&members[i]);
		unsigned char *data = make_data(members[i].size, (unsigned)i);
		struct chunks c = { data, members[i].size, 0 };

		if (members[i].type == BP_TAR_DIR) {
			assert_int_equal(bp_tarw__begin(w, name, BP_TAR_DIR, 0), 0);
			assert_int_equal(bp_tarw__end(w), 0);
		} else if (how == 0) {
			assert_int_equal(bp_tarw__add(w, name, data, members[i].size), 0);
		} else {
			assert_int_equal(bp_tarw__add_from(w, name,
							   how == 1 ? (int64_t)members[i].size : -1,
							   chunks_read, &c),
					 0);
		}
		assert_int_equal(bp_tarw__offset(w) % BP_TAR_BLOCK, 0);
		free(name);
		free(data);
	}
	assert_int_equal(bp_tarw__finish(w), 0);
	assert_int_equal(bp_tarw__offset(w), s->len);
	bp_tarw__free(w);
}

static void check_table(const struct got *g, size_t n)
{
	size_t i;

	assert_int_equal(n, NMEMBERS);
	for (i = 0; i < n; i++) {
		char *name = make_name(&members[i]);
		unsigned char *data = make_data(members[i].size, (unsigned)i);

		if (members[i].expect)
			assert_string_equal(g[i].name, members[i].expect);
		else if (members[i].type == BP_TAR_DIR && !bp_strsuffix(name, "/"))
			assert_true(strncmp(g[i].name, name, strlen(name)) == 0 &&
				    strcmp(g[i].name + strlen(name), "/") == 0);
		else
			assert_string_equal(g[i].name, name);
		assert_int_equal(g[i].type, members[i].type);
		assert_int_equal(g[i].len, members[i].type == BP_TAR_DIR ? 0 : members[i].size);
		assert_memory_equal(g[i].data, data, g[i].len);
		assert_int_equal(g[i].mode, members[i].type == BP_TAR_DIR ? 0755 : 0644);
		assert_int_equal(g[i].mtime, 0);
		free(name);
		free(data);
	}
}

static void test_round_trip(void **state)
{
	static const size_t chunks[] = { 0, 1, 7, 512, 100000 };
	struct sink s[3];
	size_t i, c, n;
	int how;

	for (how = 0; how < 3; how++) {
		write_table(&s[how], how);
		if (how)
			/* the same bytes however the data came */
			assert_memory_equal(s[how].p, s[0].p, s[0].len);
		assert_int_equal(s[how].len, s[0].len);
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			for (i = 0; i < 2; i++) {
				struct got *g = NULL;

				assert_int_equal(read_all(s[how].p, s[how].len, chunks[c], (int)i,
							  0, &g, &n),
						 0);
				check_table(g, n);
				got_free(g, n);
			}
		}
	}
	for (how = 0; how < 3; how++)
		free(s[how].p);
}

/* Reading part of a member, or none of it, and going on. */
static void test_skip_unread(void **state)
{
	struct source src;
	const bp_tar_entry *e;
	struct sink s;
	unsigned char buf[10];
	bp_tar *t;
	size_t i;

	write_table(&s, 0);
	for (i = 0; i < 2; i++) {
		size_t k = 0;

		src = (struct source){ s.p, s.len, 0, 0 };
		assert_int_equal(bp_tar__new(&t, source_read, i ? source_skip : NULL, &src, 0), 0);
		while (bp_tar__next(t, &e) > 0) {
			char *name = make_name(&members[k]);

			/* names prove the position; every other member is partly read */
			assert_true(strncmp(e->name, name, strlen(name)) == 0);
			if (k % 2 && members[k].size) {
				unsigned char *data = make_data(members[k].size, (unsigned)k);
				long n = bp_tar__read(t, buf, sizeof(buf));

				assert_true(n > 0);
				assert_memory_equal(buf, data, (size_t)n);
				free(data);
			}
			free(name);
			k++;
		}
		assert_int_equal(k, NMEMBERS);
		bp_tar__free(t);
	}
	free(s.p);
}

/* What GNU tar makes of what we write: the same names, the same bytes. */
static void test_gnu_tar_reads_ours(void **state)
{
	char *path = bp_aprintf("%s/ours.tar", base), *cmd, line[8192];
	struct sink s;
	FILE *f;
	size_t i = 0;

	write_table(&s, 2);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(s.p, 1, s.len, f), s.len);
	assert_int_equal(fclose(f), 0);
	cmd = bp_aprintf("tar -tf %s", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *name = make_name(&members[i]);

		line[strcspn(line, "\n")] = '\0';
		assert_true(i < NMEMBERS);
		/* GNU tar lists a directory with its '/' */
		assert_true(strncmp(line, name, strlen(name)) == 0);
		free(name);
		i++;
	}
	assert_int_equal(pclose(f), 0);
	assert_int_equal(i, NMEMBERS);
	free(cmd);
	/* the data of every regular member, byte for byte */
	for (i = 0; i < NMEMBERS; i++) {
		char *name = make_name(&members[i]), *expect = bp_aprintf("%s/expect", base);
		unsigned char *data = make_data(members[i].size, (unsigned)i);
		FILE *e;

		if (members[i].type == BP_TAR_DIR) {
			free(name);
			free(expect);
			free(data);
			continue;
		}
		e = fopen(expect, "w");
		assert_non_null(e);
		assert_int_equal(fwrite(data, 1, members[i].size, e), members[i].size);
		assert_int_equal(fclose(e), 0);
		cmd = bp_aprintf("tar -xOf %s '%s' | cmp -s - %s", path, name, expect);
		assert_int_equal(system(cmd), 0);
		free(cmd);
		free(name);
		free(expect);
		free(data);
	}
	free(path);
	free(s.p);
}

/* ---- archives made by GNU tar ---- */

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	unsigned char *p;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static const struct got *find_got(const struct got *g, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(g[i].name, name) == 0)
			return &g[i];
	}
	fail_msg("member %s not found", name);
	return NULL;
}

static const struct {
	const char *format;
	int long_names; /* the format can store names over 100 bytes without a '/' split */
} gnu_formats[] = {
	{ "gnu", 1 }, { "pax", 1 }, { "posix", 1 }, { "ustar", 0 }, { "oldgnu", 1 }, { "v7", 0 },
};

static void test_gnu_tar_archives(void **state)
{
	char *src = bp_aprintf("%s/src", base), *tarf = bp_aprintf("%s/gnu.tar", base);
	char longname[160], deep[400];
	size_t f, n, i, len;

	memset(longname, 'L', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	/* 5 directories of 60 bytes, and a file: over 256 bytes */
	for (i = 0, len = 0; i < 5; i++) {
		memset(deep + len, (int)('p' + i), 60);
		len += 60;
		deep[len++] = '/';
	}
	memcpy(deep + len, "leaf.txt", 9);
	run("rm -rf %s && mkdir -p %s/d/e %s/%.*s && printf 'hello' > %s/d/hello.txt && "
	    ": > %s/d/empty && ln -s hello.txt %s/d/sym && ln %s/d/hello.txt %s/d/zz-hard && "
	    "printf 'deep' > %s/%s && head -c 5000 /dev/zero | tr '\\0' x > %s/d/e/big",
	    src, src, src, (int)len - 1, deep, src, src, src, src, src, src, deep, src);
	run("printf 'long' > %s/%s", src, longname);

	for (f = 0; f < sizeof(gnu_formats) / sizeof(gnu_formats[0]); f++) {
		struct got *g = NULL;
		unsigned char *p;
		const struct got *x;

		if (strcmp(gnu_formats[f].format, "v7") == 0 ||
		    strcmp(gnu_formats[f].format, "ustar") == 0)
			run("tar --format=%s --sort=name -C %s -cf %s d", gnu_formats[f].format,
			    src, tarf);
		else
			run("tar --format=%s --sort=name -C %s -cf %s d %s %s",
			    gnu_formats[f].format, src, tarf, longname, deep);
		p = slurp(tarf, &len);
		assert_int_equal(read_all(p, len, 0, 1, 0, &g, &n), 0);
		x = find_got(g, n, "d/hello.txt");
		assert_int_equal(x->type, BP_TAR_REG);
		assert_int_equal(x->len, 5);
		assert_memory_equal(x->data, "hello", 5);
		x = find_got(g, n, "d/empty");
		assert_int_equal(x->len, 0);
		x = find_got(g, n, "d/sym");
		assert_int_equal(x->type, BP_TAR_SYMLINK);
		assert_string_equal(x->link, "hello.txt");
		x = find_got(g, n, "d/zz-hard");
		assert_int_equal(x->type, BP_TAR_HARDLINK);
		assert_string_equal(x->link, "d/hello.txt");
		assert_int_equal(x->len, 0);
		x = find_got(g, n, "d/e/big");
		assert_int_equal(x->len, 5000);
		assert_int_equal(x->data[4999], 'x');
		x = find_got(g, n, "d/e/");
		assert_int_equal(x->type, BP_TAR_DIR);
		if (gnu_formats[f].long_names) {
			x = find_got(g, n, longname);
			assert_memory_equal(x->data, "long", 4);
			x = find_got(g, n, deep);
			assert_memory_equal(x->data, "deep", 4);
		}
		got_free(g, n);
		free(p);
	}
	free(src);
	free(tarf);
}

/* ---- bad input ---- */

/* A raw header with a valid checksum; size_field NULL: octal size. */
static void raw_header(unsigned char *h, const char *name, char flag, uint64_t size,
		       const unsigned char *size_field)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, BP_TAR_BLOCK);
	memcpy(h, name, strnlen(name, 100));
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	if (size_field)
		memcpy(h + 124, size_field, 12);
	else
		snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	memcpy(h + 136, "00000000000", 12);
	h[156] = (unsigned char)flag;
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < BP_TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* An archive: a header, then data blocks of 'd', then n zero blocks. */
static unsigned char *archive_of(const unsigned char *hdr, size_t nhdr, size_t data_blocks,
				 size_t zero_blocks, size_t *len)
{
	unsigned char *p;

	*len = (nhdr + data_blocks + zero_blocks) * BP_TAR_BLOCK;
	p = calloc(1, *len);
	assert_non_null(p);
	memcpy(p, hdr, nhdr * BP_TAR_BLOCK);
	memset(p + nhdr * BP_TAR_BLOCK, 'd', data_blocks * BP_TAR_BLOCK);
	return p;
}

static int read_code(const unsigned char *p, size_t len, unsigned flags)
{
	struct got *g = NULL;
	size_t n;
	int rc = read_all(p, len, 0, 0, flags, &g, &n);

	got_free(g, n);
	return rc;
}

static void test_truncated_everywhere(void **state)
{
	struct sink s;
	bp_tarw *w;
	char longname[300];
	size_t cut, n;
	int skip;

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(&s, 0, sizeof(s));
	assert_int_equal(bp_tarw__new(&w, sink_write, sink_patch, &s), 0);
	assert_int_equal(bp_tarw__add(w, "first", "0123456789", 10), 0);
	assert_int_equal(bp_tarw__begin(w, "d", BP_TAR_DIR, 0), 0);
	assert_int_equal(bp_tarw__end(w), 0);
	assert_int_equal(bp_tarw__add(w, longname, "x", 1), 0);
	assert_int_equal(bp_tarw__add(w, "empty", "", 0), 0);
	assert_int_equal(bp_tarw__finish(w), 0);
	bp_tarw__free(w);

	for (skip = 0; skip < 2; skip++) {
		struct got *g = NULL;

		assert_int_equal(read_all(s.p, s.len, 0, skip, 0, &g, &n), 0);
		assert_int_equal(n, 4);
		got_free(g, n);
		for (cut = 0; cut < s.len; cut++) {
			int rc;

			g = NULL;
			rc = read_all(s.p, cut, 3, skip, 0, &g, &n);
			got_free(g, n);
			if (rc != BP_EPROTO)
				fail_msg("cut at %zu: %d (%s)", cut, rc, bp_error_last());
		}
	}
	/* the message says where */
	assert_int_equal(read_code(s.p, 530, 0), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "\"first\""));
	assert_non_null(strstr(bp_error_last(), "offset 0"));
	assert_int_equal(read_code(s.p, 1024 + 100, 0), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "after member \"first\""));
	assert_non_null(strstr(bp_error_last(), "offset 1024"));
	free(s.p);
}

static void test_garbage(void **state)
{
	unsigned char *p = malloc(8192);
	size_t i;
	unsigned x = 12345;

	assert_non_null(p);
	for (i = 0; i < 8192; i++) {
		x = x * 1103515245 + 12345;
		p[i] = (unsigned char)(x >> 16);
	}
	assert_int_equal(read_code(p, 8192, 0), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "checksum"));
	/* text is not tar either */
	assert_int_equal(read_code((const unsigned char *)"{\"json\": true}", 14, 0), BP_EPROTO);
	free(p);
}

/* One bad header each, then what the reader says. */
static void test_bad_headers(void **state)
{
	static const unsigned char neg[12] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	static const unsigned char huge[12] = { 0x80, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 };
	static const unsigned char over[12] = { 0x80, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const unsigned char small256[12] = { 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 };
	static const unsigned char badoct[12] = "0000000009 ";
	static const struct {
		const char *what;
		const char *name;
		char flag;
		uint64_t size;
		const unsigned char *size_field;
		size_t data_blocks;
		unsigned flags;
		int rc;
		const char *msg;
	} rows[] = {
		{ "ok", "fine", '0', 5, NULL, 1, 0, 0, NULL },
		{ "size past the end", "big", '0', 100000, NULL, 1, 0, BP_EPROTO, "\"big\"" },
		{ "negative base-256 size", "neg", '0', 0, neg, 0, 0, BP_EPROTO, "negative" },
		{ "base-256 size past the end", "huge", '0', 0, huge, 0, 0, BP_EPROTO,
		  "truncated" },
		{ "base-256 size over int64", "over", '0', 0, over, 0, 0, BP_EPROTO, "size" },
		{ "base-256 small size", "small", '0', 0, small256, 1, 0, 0, NULL },
		{ "bad octal", "oct", '0', 0, badoct, 0, 0, BP_EPROTO, "size" },
		{ "dot-dot", "../etc/passwd", '0', 1, NULL, 1, 0, BP_EPROTO, "unsafe" },
		{ "dot-dot inside", "a/../../b", '0', 1, NULL, 1, 0, BP_EPROTO, "unsafe" },
		{ "absolute", "/etc/passwd", '0', 1, NULL, 1, 0, BP_EPROTO, "unsafe" },
		{ "dot-dot allowed", "../x", '0', 1, NULL, 1, BP_TAR_ANY_NAME, 0, NULL },
		{ "sparse", "sp", 'S', 1, NULL, 1, 0, BP_EUNSUPPORTED, "sparse" },
		{ "multi-volume", "mv", 'M', 1, NULL, 1, 0, BP_EUNSUPPORTED, "multi-volume" },
		{ "GNU long name too long", "././@LongLink", 'L', 5000, NULL, 10, 0, BP_EPROTO,
		  "larger" },
		{ "PAX header too large", "pax", 'x', BP_TAR_PAX_MAX + 1, NULL, 130, 0, BP_EPROTO,
		  "PAX" },
		{ "empty name", "", '0', 0, NULL, 0, 0, BP_EPROTO, "without a name" },
	};
	unsigned char h[BP_TAR_BLOCK];
	size_t i, len;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned char *p;
		int rc;

		raw_header(h, rows[i].name, rows[i].flag, rows[i].size, rows[i].size_field);
		p = archive_of(h, 1, rows[i].data_blocks, 2, &len);
		rc = read_code(p, len, rows[i].flags);
		if (rc != rows[i].rc)
			fail_msg("%s: got %d (%s), want %d", rows[i].what, rc, bp_error_last(),
				 rows[i].rc);
		if (rows[i].msg && !strstr(bp_error_last(), rows[i].msg))
			fail_msg("%s: message \"%s\" lacks \"%s\"", rows[i].what, bp_error_last(),
				 rows[i].msg);
		free(p);
	}

	/* a bad checksum */
	raw_header(h, "fine", '0', 5, NULL);
	h[0] = 'F';
	{
		unsigned char *p = archive_of(h, 1, 1, 2, &len);

		assert_int_equal(read_code(p, len, 0), BP_EPROTO);
		assert_non_null(strstr(bp_error_last(), "checksum"));
		assert_non_null(strstr(bp_error_last(), "offset 0"));
		free(p);
	}
}

/* PAX records: lengths, keys, values. */
static void test_pax_records(void **state)
{
	static const struct {
		const char *records;
		int rc;
		const char *name; /* expected member name when rc == 0 */
	} rows[] = {
		{ "19 path=pax/a/name\n", 0, "pax/a/name" },
		{ "8 path=\n", 0, "plain" },
		{ "30 mtime=1700000000.123456789\n", 0, "plain" },
		{ "20 path=pax/a/name\n", BP_EPROTO, NULL }, /* length too long */
		{ "18 path=pax/a/name\n", BP_EPROTO, NULL }, /* too short */
		{ "x path=a\n", BP_EPROTO, NULL },	     /* no length */
		{ "10 pathab\n", BP_EPROTO, NULL },	     /* no '=' */
		{ "13 path=../x\n", BP_EPROTO, NULL },	     /* unsafe */
		{ "11 size=-1\n", BP_EPROTO, NULL },	     /* negative size */
		{ "22 GNU.sparse.major=1\n", BP_EUNSUPPORTED, NULL },
		{ "99999999999999999999999 path=x\n", BP_EPROTO, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t rlen = strlen(rows[i].records), len, n;
		size_t pax_blocks = (rlen + 511) / 512;
		unsigned char *p = calloc(1, (2 + pax_blocks + 1 + 2) * BP_TAR_BLOCK);
		struct got *g = NULL;
		int rc;

		assert_non_null(p);
		raw_header(p, "PaxHeader", 'x', rlen, NULL);
		memcpy(p + BP_TAR_BLOCK, rows[i].records, rlen);
		raw_header(p + (1 + pax_blocks) * BP_TAR_BLOCK, "plain", '0', 3, NULL);
		memcpy(p + (2 + pax_blocks) * BP_TAR_BLOCK, "abc", 3);
		len = (2 + pax_blocks + 1 + 2) * BP_TAR_BLOCK;
		rc = read_all(p, len, 0, 0, 0, &g, &n);
		if (rc != rows[i].rc)
			fail_msg("row %zu: got %d (%s), want %d", i, rc, bp_error_last(),
				 rows[i].rc);
		if (rc == 0) {
			assert_int_equal(n, 1);
			assert_string_equal(g[0].name, rows[i].name);
			assert_memory_equal(g[0].data, "abc", 3);
		}
		got_free(g, n);
		free(p);
	}
}

/* The end-of-archive marker: two zero blocks, nothing less. */
static void test_end_marker(void **state)
{
	unsigned char h[BP_TAR_BLOCK], *p;
	size_t len;

	raw_header(h, "a", '0', 1, NULL);
	p = archive_of(h, 1, 1, 1, &len);
	assert_int_equal(read_code(p, len, 0), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "lone zero block"));
	free(p);
	p = archive_of(h, 1, 1, 0, &len);
	assert_int_equal(read_code(p, len, 0), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "end-of-archive"));
	free(p);
	/* a zero block, then a header */
	p = archive_of(h, 1, 1, 3, &len);
	memcpy(p + 3 * BP_TAR_BLOCK, h, BP_TAR_BLOCK);
	assert_int_equal(read_code(p, len, 0), BP_EPROTO);
	free(p);
	/* trailing record padding after the marker is never read */
	p = archive_of(h, 1, 1, 20, &len);
	assert_int_equal(read_code(p, len, 0), 0);
	free(p);
	/* an empty archive */
	p = archive_of(h, 0, 0, 2, &len);
	assert_int_equal(read_code(p, len, 0), 0);
	free(p);
}

/* A source whose read fails: its error comes back. */
static long failing_read(void *buf, size_t len, void *payload)
{
	int *calls = payload;

	if ((*calls)++ == 0) {
		memset(buf, 0, len);
		bp_error_set(BP_ENET, "connection reset by peer");
		return -1;
	}
	return 0;
}

static void test_source_error(void **state)
{
	const bp_tar_entry *e;
	bp_tar *t;
	int calls = 0;

	assert_int_equal(bp_tar__new(&t, failing_read, NULL, &calls, 0), 0);
	assert_int_equal(bp_tar__next(t, &e), BP_ENET);
	assert_non_null(strstr(bp_error_last(), "connection reset"));
	assert_int_equal(bp_tar__next(t, &e), BP_ENET);
	bp_tar__free(t);
	assert_int_equal(bp_tar__new(&t, NULL, NULL, NULL, 0), BP_EINVAL);
}

/* A virtual stream: header bytes, then n virtual zero bytes, then more bytes. */
struct virt {
	const unsigned char *head;
	size_t head_len;
	uint64_t zeros;
	const unsigned char *tail;
	size_t tail_len;
	uint64_t pos;
};

static long virt_read(void *buf, size_t len, void *payload)
{
	struct virt *v = payload;
	uint64_t total = v->head_len + v->zeros + v->tail_len;
	size_t n = 0;

	while (n < len && v->pos < total) {
		unsigned char c = 0;

		if (v->pos < v->head_len)
			c = v->head[v->pos];
		else if (v->pos >= v->head_len + v->zeros)
			c = v->tail[v->pos - v->head_len - v->zeros];
		((unsigned char *)buf)[n++] = c;
		v->pos++;
	}
	return (long)n;
}

static int64_t virt_skip(uint64_t len, void *payload)
{
	struct virt *v = payload;
	uint64_t total = v->head_len + v->zeros + v->tail_len, n = total - v->pos;

	if (n > len)
		n = len;
	v->pos += n;
	return (int64_t)n;
}

struct discard {
	unsigned char first[2 * BP_TAR_BLOCK];
	uint64_t len;
};

static int discard_write(const void *buf, size_t len, void *payload)
{
	struct discard *d = payload;

	if (d->len < sizeof(d->first)) {
		size_t k = sizeof(d->first) - (size_t)d->len;

		memcpy(d->first + d->len, buf, len < k ? len : k);
	}
	d->len += len;
	return 0;
}

static int discard_patch(const void *buf, size_t len, uint64_t off, void *payload)
{
	struct discard *d = payload;

	assert_true(off + len <= sizeof(d->first));
	memcpy(d->first + off, buf, len);
	return 0;
}

/* Sizes of 8 GiB and more: base-256 in the header, read back. */
static void test_large_size(void **state)
{
	static unsigned char zero_chunk[1 << 20];
	const uint64_t size = ((uint64_t)8 << 30) + 3;
	static const unsigned char tail[BP_TAR_BLOCK * 3];
	const bp_tar_entry *e;
	struct discard d;
	struct virt v;
	bp_tarw *w;
	bp_tar *t;
	uint64_t left = size;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		memset(&d, 0, sizeof(d));
		left = size;
		assert_int_equal(bp_tarw__new(&w, discard_write, discard_patch, &d), 0);
		assert_int_equal(
			bp_tarw__begin(w, "huge.tar", BP_TAR_REG, pass ? -1 : (int64_t)size), 0);
		while (left) {
			size_t k = left < sizeof(zero_chunk) ? (size_t)left : sizeof(zero_chunk);

			assert_int_equal(bp_tarw__write(w, zero_chunk, k), 0);
			left -= k;
		}
		assert_int_equal(bp_tarw__end(w), 0);
		assert_int_equal(bp_tarw__finish(w), 0);
		bp_tarw__free(w);
		assert_int_equal(d.first[124], 0x80);

		/* header, the data (virtual), padding 509 bytes and two zero blocks */
		v = (struct virt){ d.first, BP_TAR_BLOCK, size, tail, 509 + 2 * BP_TAR_BLOCK, 0 };
		assert_int_equal(bp_tar__new(&t, virt_read, virt_skip, &v, 0), 0);
		assert_int_equal(bp_tar__next(t, &e), 1);
		assert_int_equal(e->size, size);
		assert_string_equal(e->name, "huge.tar");
		assert_int_equal(bp_tar__next(t, &e), 0);
		bp_tar__free(t);
	}
}

/* Writer misuse: errors, not bad archives. */
static void test_writer_errors(void **state)
{
	struct sink s;
	bp_tarw *w;
	struct chunks c = { (const unsigned char *)"0123456789", 10, 0 };
	char big[BP_TAR_NAME_MAX + 2];

	memset(&s, 0, sizeof(s));
	assert_int_equal(bp_tarw__new(&w, sink_write, NULL, &s), 0);
	assert_int_equal(bp_tarw__begin(w, "../x", BP_TAR_REG, 1), BP_EINVAL);
	assert_int_equal(bp_tarw__begin(w, "/x", BP_TAR_REG, 1), BP_EINVAL);
	assert_int_equal(bp_tarw__begin(w, "", BP_TAR_REG, 1), BP_EINVAL);
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(bp_tarw__begin(w, big, BP_TAR_REG, 1), BP_EINVAL);
	assert_int_equal(bp_tarw__begin(w, "x", BP_TAR_SYMLINK, 0), BP_EINVAL);
	/* an unknown size needs patch */
	assert_int_equal(bp_tarw__begin(w, "x", BP_TAR_REG, -1), BP_EINVAL);
	assert_int_equal(s.len, 0);
	assert_int_equal(bp_tarw__write(w, "x", 1), BP_EINVAL);
	assert_int_equal(bp_tarw__finish(w), 0);
	assert_int_equal(bp_tarw__add(w, "late", "x", 1), BP_EINVAL);
	bp_tarw__free(w);
	free(s.p);

	/* more data than declared, and less: sticky */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bp_tarw__new(&w, sink_write, sink_patch, &s), 0);
	assert_int_equal(bp_tarw__add_from(w, "short", 5, chunks_read, &c), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "more than 5"));
	assert_int_equal(bp_tarw__finish(w), BP_EINVAL);
	bp_tarw__free(w);
	free(s.p);
	memset(&s, 0, sizeof(s));
	c.pos = 0;
	assert_int_equal(bp_tarw__new(&w, sink_write, sink_patch, &s), 0);
	assert_int_equal(bp_tarw__add_from(w, "long", 11, chunks_read, &c), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "after 10 of 11"));
	bp_tarw__free(w);
	free(s.p);

	/* a failing sink */
	memset(&s, 0, sizeof(s));
	s.fail_after = 2;
	assert_int_equal(bp_tarw__new(&w, sink_write, sink_patch, &s), 0);
	assert_int_equal(bp_tarw__add(w, "a", "abc", 3), BP_EIO);
	assert_non_null(strstr(bp_error_last(), "disk full"));
	assert_int_equal(bp_tarw__add(w, "b", "abc", 3), BP_EIO);
	bp_tarw__free(w);
	free(s.p);
}

static void test_name_safe(void **state)
{
	static const struct {
		const char *name;
		int safe;
	} rows[] = {
		{ "a", 1 },	 { "a/b/c", 1 },  { "./a", 1 },	    { "a/", 1 },
		{ "..a/b", 1 },	 { "a/b..", 1 },  { "a/.../b", 1 }, { "", 0 },
		{ "/a", 0 },	 { "..", 0 },	  { "../a", 0 },    { "a/..", 0 },
		{ "a/../b", 0 }, { "./../a", 0 }, { "a/../", 0 },   { "a//../b", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (bp_tar__name_safe(rows[i].name) != rows[i].safe)
			fail_msg("\"%s\": want %d", rows[i].name, rows[i].safe);
	}
	assert_int_equal(bp_tar__name_safe(NULL), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_skip_unread),
		cmocka_unit_test(test_gnu_tar_reads_ours),
		cmocka_unit_test(test_gnu_tar_archives),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_pax_records),
		cmocka_unit_test(test_end_marker),
		cmocka_unit_test(test_source_error),
		cmocka_unit_test(test_large_size),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_name_safe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
