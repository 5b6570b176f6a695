/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "compress.h"

#include <beampush/digest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer for outputs. */
struct buf {
	unsigned char *p;
	size_t len;
	size_t cap;
};

static void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + len)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void buf_release(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static uint32_t rng_next(uint32_t *x)
{
	/* xorshift32: the same bytes on every run */
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

enum kind { RANDOM, TEXT, ZEROS };

/* len bytes of incompressible, text-like (about 3:1) or all-zero data. */
static unsigned char *make_data(enum kind kind, size_t len, uint32_t seed)
{
	static const char *const words[] = {
		"beam",	   "python", "java",  "container", "layer",	 "registry", "push",
		"the",	   "of",     "and",   "sdk",	   "harness",	 "runner",   "pipeline",
		"flink",   "spark",  "index", "manifest",  "digest",	 "sha256",   "gzip",
		"a",	   "to",     "is",    "usr/lib/",  "share/doc/", "/etc/",    "import",
		"return;", "{",	     "}",     "(void)",	   "0x1f8b",	 "\t",	     "  ",
	};
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = seed | 1;
	size_t i = 0;

	assert_non_null(p);
	switch (kind) {
	case RANDOM:
		for (i = 0; i < len; i++)
			p[i] = (unsigned char)(rng_next(&x) >> 11);
		break;
	case TEXT:
		while (i < len) {
			uint32_t r = rng_next(&x);
			const char *w = words[r % NELEM(words)];
			size_t n = strlen(w);

			if (n > len - i)
				n = len - i;
			memcpy(p + i, w, n);
			i += n;
			if (i < len)
				p[i++] = (r >> 8) % 11 == 0 ? '\n' : ' ';
		}
		break;
	case ZEROS:
		memset(p, 0, len);
		break;
	}
	return p;
}

/* zlib's gunzip of every member in turn (inflateReset after each Z_STREAM_END). */
static int gunzip(const unsigned char *in, size_t len, struct buf *out, int *members)
{
	unsigned char chunk[65536];
	z_stream s;
	int r;

	memset(&s, 0, sizeof(s));
	*members = 0;
	if (inflateInit2(&s, 16 + 15) != Z_OK)
		return -1;
	s.next_in = (unsigned char *)in;
	s.avail_in = (uInt)len;
	for (;;) {
		s.next_out = chunk;
		s.avail_out = sizeof(chunk);
		r = inflate(&s, Z_NO_FLUSH);
		buf_add(out, chunk, sizeof(chunk) - s.avail_out);
		if (r == Z_STREAM_END) {
			++*members;
			if (s.avail_in == 0)
				break;
			inflateReset(&s);
			continue;
		}
		/* Z_BUF_ERROR with no input left: a truncated stream */
		if (r != Z_OK) {
			inflateEnd(&s);
			return -1;
		}
	}
	inflateEnd(&s);
	return 0;
}

/* How a test feeds the input to bp_gzip__write(). */
enum split { WHOLE, ONE_BYTE, PRIME, RANDOM_SIZES, BLOCK_SIZED, BLOCK_PLUS_ONE };

static const char *const split_names[] = { "whole",	   "1-byte",	  "4093-byte",
					   "random sizes", "block-sized", "block+1-sized" };

/* The configurations every row is compressed with: all must give the same bytes. */
static const struct {
	int threads;
	int hash_thread;
} configs[] = { { 1, 0 }, { 2, 0 }, { 4, 0 }, { 2, 1 } };

static int collect(const void *data, size_t len, void *payload)
{
	buf_add(payload, data, len);
	return 0;
}

/* Compress data through a new stream; out gets the bytes, diff_id the digest. */
static void compress_with(const unsigned char *data, size_t len, int level, int threads,
			  int hash_thread, size_t block, enum split split, struct buf *out,
			  char diff_id[BP_DIGEST_MAX])
{
	uint32_t x = 0x9e3779b9u;
	size_t b = block ? block : BP_GZIP_BLOCK_DEFAULT;
	bp_gzip *z;
	size_t off = 0;

	assert_int_equal(bp_gzip__new(&z, level, threads, block, collect, out), 0);
	assert_int_equal(bp_gzip__set_hash_thread(z, hash_thread), 0);
	/* an empty input is written once, as zero bytes, when whole */
	if (len == 0 && split == WHOLE)
		assert_int_equal(bp_gzip__write(z, data, 0), 0);
	while (off < len) {
		size_t n;

		switch (split) {
		case ONE_BYTE:
			n = 1;
			break;
		case PRIME:
			n = 4093;
			break;
		case RANDOM_SIZES:
			/* zero-length writes included */
			n = rng_next(&x) % (3 * b + 1);
			break;
		case BLOCK_SIZED:
			n = b;
			break;
		case BLOCK_PLUS_ONE:
			n = b + 1;
			break;
		default:
			n = len;
			break;
		}
		if (n > len - off)
			n = len - off;
		assert_int_equal(bp_gzip__write(z, data + off, n), 0);
		off += n;
	}
	assert_int_equal(bp_gzip__in_bytes(z), (int64_t)len);
	assert_int_equal(bp_gzip__finish(z), 0);
	assert_int_equal(bp_gzip__out_bytes(z), (int64_t)out->len);
	assert_int_equal(bp_gzip__diff_id(z, diff_id), 0);
	bp_gzip__free(z);
}

static const struct round_trip {
	enum kind kind;
	size_t size;
	size_t block; /* 0: the default 1 MiB */
	int level;
} round_trips[] = {
	{ TEXT, 0, 0, 6 },
	{ RANDOM, 0, 1 * KiB, 1 },
	{ TEXT, 1, 0, 6 },
	{ TEXT, 1 * MiB - 1, 0, 6 },
	{ TEXT, 1 * MiB, 0, 6 },
	{ TEXT, 1 * MiB + 1, 0, 6 },
	{ RANDOM, 1 * MiB + 1, 0, 1 },
	{ TEXT, 1 * KiB - 1, 1 * KiB, 6 },
	{ TEXT, 1 * KiB, 1 * KiB, 6 },
	{ TEXT, 1 * KiB + 1, 1 * KiB, 6 },
	{ TEXT, 200 * KiB + 17, 1 * KiB, 9 }, /* 201 tiny members: many hand-overs */
	{ TEXT, 37 * 4 * KiB + 5, 4 * KiB, 6 },
	{ TEXT, 100 * KiB, 64 * KiB, 12 },
	{ TEXT, 3 * MiB + 12345, 64 * KiB, 1 }, /* several MiB, many blocks */
	{ RANDOM, 2 * MiB + 7, 64 * KiB, 6 },
	{ ZEROS, 5 * MiB, 0, 6 },
	{ TEXT, 6 * MiB + 3, 0, 1 },
	{ RANDOM, 4 * MiB, 0, 6 },
};

static void test_round_trips(void **state)
{
	size_t i, c, sp;

	for (i = 0; i < NELEM(round_trips); i++) {
		const struct round_trip *t = &round_trips[i];
		size_t block = t->block ? t->block : BP_GZIP_BLOCK_DEFAULT;
		unsigned char *data = make_data(t->kind, t->size, (uint32_t)(i + 1));
		struct buf ref = { 0 }, plain = { 0 };
		char want_id[BP_DIGEST_MAX], ref_id[BP_DIGEST_MAX];
		size_t want_members = t->size ? (t->size + block - 1) / block : 1;
		int members;

		assert_int_equal(bp_digest_buf(want_id, data, t->size), 0);
		compress_with(data, t->size, t->level, 1, 0, t->block, WHOLE, &ref, ref_id);
		assert_string_equal(ref_id, want_id);
		/* the fixed header: deflate, no flags, mtime 0, xfl 0, OS unknown */
		assert_true(ref.len >= 18);
		assert_memory_equal(ref.p, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
		assert_int_equal(bp_compress__detect(ref.p, ref.len), BP_COMPRESSION_GZIP);
		assert_int_equal(gunzip(ref.p, ref.len, &plain, &members), 0);
		assert_int_equal(plain.len, t->size);
		if (t->size)
			assert_memory_equal(plain.p, data, t->size);
		assert_int_equal(members, (int)want_members);

		for (c = 0; c < NELEM(configs); c++) {
			for (sp = 0; sp < NELEM(split_names); sp++) {
				struct buf out = { 0 };
				char id[BP_DIGEST_MAX];

				/* a call per byte is slow under the sanitizers: small rows only */
				if (sp == ONE_BYTE && t->size > 300 * KiB)
					continue;
				compress_with(data, t->size, t->level, configs[c].threads,
					      configs[c].hash_thread, t->block, (enum split)sp,
					      &out, id);
				if (out.len != ref.len || memcmp(out.p, ref.p, ref.len) != 0)
					fail_msg("row %zu (%zu bytes, block %zu, level %d): "
						 "threads %d"
						 "%s, %s writes: output differs (%zu vs %zu bytes)",
						 i, t->size, block, t->level, configs[c].threads,
						 configs[c].hash_thread ? " + hash thread" : "",
						 split_names[sp], out.len, ref.len);
				assert_string_equal(id, want_id);
				buf_release(&out);
			}
		}
		buf_release(&ref);
		buf_release(&plain);
		free(data);
	}
}

/* Every member decodes on its own, to its own block; ISIZE is the block's size. */
static void test_members_are_independent(void **state)
{
	const size_t block = 4 * KiB, size = 5 * block + 100;
	unsigned char *data = make_data(TEXT, size, 7);
	struct buf out = { 0 };
	char id[BP_DIGEST_MAX];
	size_t off = 0, k = 0;

	compress_with(data, size, 6, 2, 0, block, PRIME, &out, id);
	while (off < out.len) {
		struct buf plain = { 0 };
		size_t want = k * block + block <= size ? block : size - k * block;
		unsigned char tmp[8192];
		z_stream s;
		int r;

		memset(&s, 0, sizeof(s));
		assert_int_equal(inflateInit2(&s, 16 + 15), Z_OK);
		s.next_in = out.p + off;
		s.avail_in = (uInt)(out.len - off);
		do {
			s.next_out = tmp;
			s.avail_out = sizeof(tmp);
			r = inflate(&s, Z_NO_FLUSH);
			assert_true(r == Z_OK || r == Z_STREAM_END);
			buf_add(&plain, tmp, sizeof(tmp) - s.avail_out);
		} while (r != Z_STREAM_END);
		assert_int_equal(plain.len, want);
		assert_memory_equal(plain.p, data + k * block, want);
		off = out.len - s.avail_in;
		inflateEnd(&s);
		buf_release(&plain);
		k++;
	}
	assert_int_equal(k, 6);
	buf_release(&out);
	free(data);
}

/* gzip(1) accepts the stream and gives the input back. */
static void test_gzip_tool(void **state)
{
	const size_t size = 3 * MiB + 5;
	unsigned char *data = make_data(TEXT, size, 42);
	char path[] = "/tmp/beampush-test-compress-XXXXXX";
	char cmd[256];
	struct buf out = { 0 };
	char id[BP_DIGEST_MAX];
	FILE *f;
	int fd;

	if (system("command -v gzip >/dev/null 2>&1") != 0)
		skip();
	compress_with(data, size, 6, 2, 0, 256 * KiB, RANDOM_SIZES, &out, id);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(out.p, 1, out.len, f), out.len);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "gzip -t < %s", path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "test \"$(gzip -dc < %s | wc -c)\" = %zu", path, size);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "gzip -dc < %s | sha256sum | grep -q %s", path,
		 bp_digest_hex(id));
	assert_int_equal(system(cmd), 0);
	unlink(path);
	buf_release(&out);
	free(data);
}

static const struct {
	const char *bytes;
	size_t len;
	bp_compression want;
} detects[] = {
	{ "", 0, BP_COMPRESSION_NONE },
	{ "\x1f", 1, BP_COMPRESSION_NONE },
	{ "\x1f\x8b", 2, BP_COMPRESSION_GZIP },
	{ "\x1f\x8b\x08\x00", 4, BP_COMPRESSION_GZIP },
	{ "\x1f\x8c\x08\x00", 4, BP_COMPRESSION_NONE },
	{ "\x8b\x1f", 2, BP_COMPRESSION_NONE },
	{ "\x28\xb5\x2f\xfd", 4, BP_COMPRESSION_ZSTD },
	{ "\x28\xb5\x2f\xfd\x04\x58", 6, BP_COMPRESSION_ZSTD },
	{ "\x28\xb5\x2f", 3, BP_COMPRESSION_NONE },
	{ "\x28\xb5\x2f\xfe", 4, BP_COMPRESSION_NONE },
	{ "usr/\0\0\0\0", 8, BP_COMPRESSION_NONE },		/* a tar */
	{ "\x42\x5a\x68", 3, BP_COMPRESSION_NONE },		/* bzip2: not ours */
	{ "\xfd\x37\x7a\x58\x5a\x00", 6, BP_COMPRESSION_NONE }, /* xz */
};

static void test_detect(void **state)
{
	size_t i;

	for (i = 0; i < NELEM(detects); i++) {
		if (bp_compress__detect(detects[i].bytes, detects[i].len) != detects[i].want)
			fail_msg("detect row %zu: want %s", i, bp_compress__name(detects[i].want));
	}
	assert_int_equal(bp_compress__detect(NULL, 0), BP_COMPRESSION_NONE);
	assert_string_equal(bp_compress__name(BP_COMPRESSION_NONE), "none");
	assert_string_equal(bp_compress__name(BP_COMPRESSION_GZIP), "gzip");
	assert_string_equal(bp_compress__name(BP_COMPRESSION_ZSTD), "zstd");
}

static const struct {
	int level;
	int threads;
	size_t block;
	int fn;
	const char *msg;
} bad_args[] = {
	{ 0, 1, 0, 1, "level 0" },
	{ 13, 1, 0, 1, "level 13" },
	{ -1, 1, 0, 1, "level -1" },
	{ 6, -1, 0, 1, "thread count -1" },
	{ 6, BP_GZIP_THREADS_MAX + 1, 0, 1, "thread count 257" },
	{ 6, 1, BP_GZIP_BLOCK_MIN - 1, 1, "block size 1023" },
	{ 6, 1, BP_GZIP_BLOCK_MAX + 1, 1, "block size" },
	{ 6, 1, 0, 0, "no output callback" },
};

static void test_bad_arguments(void **state)
{
	size_t i;

	for (i = 0; i < NELEM(bad_args); i++) {
		bp_gzip *z = (bp_gzip *)&z;

		assert_int_equal(bp_gzip__new(&z, bad_args[i].level, bad_args[i].threads,
					      bad_args[i].block, bad_args[i].fn ? collect : NULL,
					      NULL),
				 BP_EINVAL);
		assert_null(z);
		if (!strstr(bp_error_last(), bad_args[i].msg))
			fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, bp_error_last(),
				 bad_args[i].msg);
	}
}

static void test_defaults_and_misuse(void **state)
{
	unsigned char *data = make_data(TEXT, 3 * MiB, 3);
	struct buf out = { 0 };
	char id[BP_DIGEST_MAX];
	bp_gzip *z;

	bp_gzip__free(NULL);
	assert_int_equal(bp_gzip__new(&z, 6, 0, 0, collect, &out), 0);
	assert_true(bp_gzip__threads(z) >= 1);
	assert_int_equal(bp_gzip__diff_id(z, id), BP_EINVAL);
	assert_string_equal(id, "");
	assert_int_equal(bp_gzip__write(z, "abc", 3), 0);
	assert_int_equal(bp_gzip__set_hash_thread(z, 1), BP_EINVAL);
	assert_int_equal(bp_gzip__write(z, NULL, 0), 0);
	assert_int_equal(bp_gzip__finish(z), 0);
	assert_int_equal(bp_gzip__diff_id(z, id), 0);
	assert_string_equal(
		id, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(bp_gzip__write(z, "d", 1), BP_EINVAL);
	assert_int_equal(bp_gzip__finish(z), BP_EINVAL);
	assert_int_equal(bp_gzip__in_bytes(z), 3);
	assert_int_equal(bp_gzip__out_bytes(z), (int64_t)out.len);
	bp_gzip__free(z);
	buf_release(&out);

	/* freed without finish, with blocks in flight: the threads are joined */
	assert_int_equal(bp_gzip__new(&z, 6, 2, 64 * KiB, collect, &out), 0);
	assert_int_equal(bp_gzip__set_hash_thread(z, 1), 0);
	assert_int_equal(bp_gzip__write(z, data, 3 * MiB), 0);
	bp_gzip__free(z);
	buf_release(&out);
	free(data);
}

struct abort_state {
	int calls;
	int stop_at; /* the call that fails */
	int ret;     /* what it returns */
	int set_msg; /* whether it sets a message */
};

static int aborting(const void *data, size_t len, void *payload)
{
	struct abort_state *a = payload;

	if (++a->calls < a->stop_at)
		return 0;
	if (a->set_msg)
		return bp_error_set(a->ret, "upload refused by test");
	return a->ret;
}

static const struct {
	size_t size;
	int threads;
	int stop_at;
	int ret;
	int set_msg;
	int want;
	const char *msg;
	int in_finish; /* the abort happens in finish(), not write() */
} aborts[] = {
	{ 8 * MiB, 2, 3, BP_ENET, 1, BP_ENET, "upload refused by test", 0 },
	{ 8 * MiB, 1, 1, BP_EIO, 1, BP_EIO, "upload refused by test", 0 },
	{ 8 * MiB, 4, 2, BP_EAUTH, 0, BP_EAUTH, "output callback stopped", 0 },
	{ 8 * MiB, 2, 2, 1, 0, BP_ERROR, "output callback stopped the stream (1)", 0 },
	{ 100, 2, 1, BP_ENET, 1, BP_ENET, "upload refused by test", 1 },
	{ 0, 1, 1, BP_EPROTO, 1, BP_EPROTO, "upload refused by test", 1 },
};

static void test_callback_abort(void **state)
{
	size_t i;

	for (i = 0; i < NELEM(aborts); i++) {
		struct abort_state a = { 0, aborts[i].stop_at, aborts[i].ret, aborts[i].set_msg };
		unsigned char *data = make_data(TEXT, aborts[i].size, 9);
		size_t off = 0, chunk = 100 * KiB;
		int r = 0;
		bp_gzip *z;

		assert_int_equal(bp_gzip__new(&z, 1, aborts[i].threads, 64 * KiB, aborting, &a), 0);
		while (off < aborts[i].size && r == 0) {
			size_t n = aborts[i].size - off < chunk ? aborts[i].size - off : chunk;

			r = bp_gzip__write(z, data + off, n);
			off += n;
		}
		if (aborts[i].in_finish) {
			assert_int_equal(r, 0);
			r = bp_gzip__finish(z);
		}
		assert_int_equal(r, aborts[i].want);
		if (!strstr(bp_error_last(), aborts[i].msg))
			fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, bp_error_last(),
				 aborts[i].msg);
		assert_int_equal(a.calls, aborts[i].stop_at);
		/* the stream stays dead, with the same error, and never calls back again */
		bp_error_clear();
		assert_int_equal(bp_gzip__write(z, "x", 1), aborts[i].want);
		assert_non_null(strstr(bp_error_last(), aborts[i].msg));
		assert_int_equal(bp_gzip__finish(z), aborts[i].want);
		assert_int_equal(a.calls, aborts[i].stop_at);
		bp_gzip__free(z);
		free(data);
	}
}

struct bound_state {
	bp_gzip *z;
	size_t block;
	size_t nslots;
	int64_t members;
	int64_t worst; /* most input blocks seen in flight */
};

static int check_bound(const void *data, size_t len, void *payload)
{
	struct bound_state *b = payload;
	int64_t started = (bp_gzip__in_bytes(b->z) + (int64_t)b->block - 1) / (int64_t)b->block;

	if (started - b->members > b->worst)
		b->worst = started - b->members;
	b->members++;
	return 0;
}

/* The caller is held back: never more than threads + 1 blocks between input and output. */
static void test_memory_bound(void **state)
{
	static const int threads[] = { 1, 2, 4 };
	const size_t block = 16 * KiB, size = 4 * MiB;
	unsigned char *data = make_data(TEXT, size, 5);
	size_t t;

	for (t = 0; t < NELEM(threads); t++) {
		struct bound_state b = { NULL, block, (size_t)threads[t] + 1, 0, 0 };

		assert_int_equal(bp_gzip__new(&b.z, 6, threads[t], block, check_bound, &b), 0);
		/* one big write: only the pipeline's back-pressure keeps it bounded */
		assert_int_equal(bp_gzip__write(b.z, data, size), 0);
		assert_true(bp_gzip__out_bytes(b.z) > 0);
		assert_int_equal(bp_gzip__finish(b.z), 0);
		assert_int_equal(b.members, (int64_t)(size / block));
		if (b.worst > (int64_t)b.nslots)
			fail_msg("threads %d: %lld blocks in flight, more than %zu", threads[t],
				 (long long)b.worst, b.nslots);
		bp_gzip__free(b.z);
	}
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_defaults_and_misuse),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_members_are_independent),
		cmocka_unit_test(test_gzip_tool),
		cmocka_unit_test(test_callback_abort),
		cmocka_unit_test(test_memory_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
