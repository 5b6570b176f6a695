/* SPDX-License-Identifier: Apache-2.0 */
#include "compress.h"

#include <libdeflate.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The pipeline is a ring of threads + 1 slots; block number seq lives in
 * slot seq % nslots. The caller fills block `submitted` (fill bytes so
 * far), hands it to the workers by incrementing `submitted`, and passes
 * finished blocks to the callback in order, incrementing `emitted`. A
 * slot is free again once its block is emitted, so at most nslots
 * blocks are in flight and a caller that outruns the workers waits for
 * the oldest. Workers take blocks in order (`taken`) and only ever touch
 * the slot they took; every hand-over happens under `lock`. With
 * hash_thread, a dedicated thread hashes blocks in order (`hash_seq`) and a
 * block is emitted only once hashed as well; otherwise the caller hashes
 * the bytes as it copies them in.
 */

#define GZIP_HEADER 10
#define GZIP_TRAILER 8
#define SLOT_FIRST_ALLOC ((size_t)64 << 10)

struct slot {
	unsigned char *in; /* the block's uncompressed bytes */
	size_t in_cap;
	size_t in_len;
	unsigned char *out; /* one whole gzip member */
	size_t out_cap;
	size_t out_len;
	int compressed; /* set by a worker, cleared when emitted */
	int hashed;	/* set by the hash thread, cleared when emitted */
	int err;	/* a worker's BP_E* code, with its message in msg */
	char msg[256];
};

struct worker {
	bp_gzip *z;
	struct libdeflate_compressor *c;
	pthread_t tid;
	int started;
};

struct bp_gzip {
	bp_gzip_out_fn fn;
	void *payload;
	size_t block_size;
	size_t nslots;
	struct slot *slots;
	int nworkers;
	struct worker *workers;
	bp_hasher *hasher;
	int hash_thread;
	pthread_t hash_tid;
	int hash_started;

	pthread_mutex_t lock;
	pthread_cond_t work;  /* workers and the hash thread: a block was submitted, or stop */
	pthread_cond_t ready; /* the caller: a block was compressed or hashed */
	uint64_t submitted;   /* under lock, written by the caller */
	uint64_t taken;	      /* under lock: next block for a worker */
	uint64_t hash_seq;    /* under lock: next block for the hash thread */
	uint64_t emitted;     /* under lock, written by the caller */
	int stop;	      /* under lock: threads exit */

	/* the caller's thread only */
	size_t fill;
	int64_t in_bytes;
	int64_t out_bytes;
	int err;
	char errmsg[1024];
	int finished;
	char diff_id[BP_DIGEST_MAX];
};

/* What the first bytes of a blob say it is compressed with. */
bp_compression bp_compress__detect(const void *head, size_t len)
{
	static const unsigned char gzip_magic[] = { 0x1f, 0x8b };
	static const unsigned char zstd_magic[] = { 0x28, 0xb5, 0x2f, 0xfd };

	if (!head)
		return BP_COMPRESSION_NONE;
	if (len >= sizeof(gzip_magic) && memcmp(head, gzip_magic, sizeof(gzip_magic)) == 0)
		return BP_COMPRESSION_GZIP;
	if (len >= sizeof(zstd_magic) && memcmp(head, zstd_magic, sizeof(zstd_magic)) == 0)
		return BP_COMPRESSION_ZSTD;
	return BP_COMPRESSION_NONE;
}

/* A short name for a compression. */
const char *bp_compress__name(bp_compression c)
{
	switch (c) {
	case BP_COMPRESSION_GZIP:
		return "gzip";
	case BP_COMPRESSION_ZSTD:
		return "zstd";
	default:
		return "none";
	}
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* One gzip member for the slot's block; runs on a worker, touches only s. */
static void compress_block(struct libdeflate_compressor *c, struct slot *s)
{
	/* CM deflate, no flags, mtime 0, no extra flags, OS unknown: the same bytes everywhere */
	static const unsigned char header[GZIP_HEADER] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };
	size_t n;

	memcpy(s->out, header, GZIP_HEADER);
	n = libdeflate_deflate_compress(c, s->in, s->in_len, s->out + GZIP_HEADER,
					s->out_cap - GZIP_HEADER - GZIP_TRAILER);
	if (n == 0) {
		/* cannot happen: out_cap holds libdeflate's bound */
		s->err = BP_ERROR;
		snprintf(s->msg, sizeof(s->msg),
			 "gzip: libdeflate could not compress a block of %zu bytes into %zu",
			 s->in_len, s->out_cap);
		return;
	}
	put_le32(s->out + GZIP_HEADER + n, libdeflate_crc32(0, s->in, s->in_len));
	put_le32(s->out + GZIP_HEADER + n + 4, (uint32_t)s->in_len);
	s->out_len = GZIP_HEADER + n + GZIP_TRAILER;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	bp_gzip *z = w->z;

	pthread_mutex_lock(&z->lock);
	for (;;) {
		struct slot *s;

		while (!z->stop && z->taken == z->submitted)
			pthread_cond_wait(&z->work, &z->lock);
		if (z->stop)
			break;
		s = &z->slots[z->taken++ % z->nslots];
		pthread_mutex_unlock(&z->lock);
		compress_block(w->c, s);
		pthread_mutex_lock(&z->lock);
		s->compressed = 1;
		pthread_cond_signal(&z->ready);
	}
	pthread_mutex_unlock(&z->lock);
	return NULL;
}

static void *hash_main(void *arg)
{
	bp_gzip *z = arg;

	pthread_mutex_lock(&z->lock);
	for (;;) {
		struct slot *s;

		while (!z->stop && z->hash_seq == z->submitted)
			pthread_cond_wait(&z->work, &z->lock);
		if (z->stop)
			break;
		s = &z->slots[z->hash_seq % z->nslots];
		pthread_mutex_unlock(&z->lock);
		bp_hasher_update(z->hasher, s->in, s->in_len);
		pthread_mutex_lock(&z->lock);
		s->hashed = 1;
		z->hash_seq++;
		pthread_cond_signal(&z->ready);
	}
	pthread_mutex_unlock(&z->lock);
	return NULL;
}

/* Record the error just set on this thread as the stream's; later calls repeat it. */
static int fail(bp_gzip *z, int code)
{
	z->err = code;
	snprintf(z->errmsg, sizeof(z->errmsg), "%s", bp_error_last());
	return code;
}

static int failed_before(bp_gzip *z)
{
	return bp_error_set(z->err, "%s", z->errmsg);
}

static int slot_ready(const bp_gzip *z, const struct slot *s)
{
	return s->compressed && (!z->hash_thread || s->hashed);
}

/*
 * Pass finished blocks to the callback in order: waiting for each block
 * below `until`, then any others already finished. Called with the lock
 * free; the callback runs with the lock free.
 */
static int drain(bp_gzip *z, uint64_t until)
{
	int r = 0;

	pthread_mutex_lock(&z->lock);
	while (z->emitted < z->submitted) {
		struct slot *s = &z->slots[z->emitted % z->nslots];

		if (!slot_ready(z, s)) {
			if (z->emitted >= until)
				break;
			pthread_cond_wait(&z->ready, &z->lock);
			continue;
		}
		pthread_mutex_unlock(&z->lock);
		if (s->err) {
			bp_error_set(s->err, "%s", s->msg);
			return fail(z, s->err);
		}
		bp_error_clear();
		r = z->fn(s->out, s->out_len, z->payload);
		if (r != 0) {
			int code = r < 0 ? r : BP_ERROR;

			if (bp_error_last_code() != code)
				bp_error_set(code,
					     "gzip: the output callback stopped the stream (%d)",
					     r);
			return fail(z, code);
		}
		z->out_bytes += (int64_t)s->out_len;
		pthread_mutex_lock(&z->lock);
		s->compressed = 0;
		s->hashed = 0;
		z->emitted++;
	}
	pthread_mutex_unlock(&z->lock);
	return 0;
}

/* Grow *buf to hold need bytes, doubling from SLOT_FIRST_ALLOC, never beyond max. */
static int reserve(unsigned char **buf, size_t *cap, size_t need, size_t max)
{
	unsigned char *p;
	size_t c;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap : SLOT_FIRST_ALLOC;
	while (c < need)
		c *= 2;
	if (c > max)
		c = max;
	p = realloc(*buf, c);
	if (!p)
		return bp_error_set(BP_ENOMEM, "gzip: out of memory for a %zu-byte buffer", c);
	*buf = p;
	*cap = c;
	return 0;
}

/* Make the slot of block `submitted` ours: wait until the block nslots back is emitted. */
static int claim_slot(bp_gzip *z)
{
	if (z->submitted - z->emitted < z->nslots)
		return 0;
	return drain(z, z->submitted - z->nslots + 1);
}

/* Hand the block being filled to the workers. */
static int submit(bp_gzip *z)
{
	struct slot *s = &z->slots[z->submitted % z->nslots];
	size_t bound = libdeflate_deflate_compress_bound(NULL, z->fill), need;
	int r;

	/* even an empty block gets a buffer: libdeflate is not handed NULL */
	if ((r = reserve(&s->in, &s->in_cap, 1, z->block_size)) < 0)
		return fail(z, r);
	/* exactly the bound: a full block's is the same every time, so this allocates once */
	need = bound + GZIP_HEADER + GZIP_TRAILER;
	if ((r = reserve(&s->out, &s->out_cap, need, need)) < 0)
		return fail(z, r);
	s->in_len = z->fill;
	s->out_len = 0;
	s->err = 0;
	z->fill = 0;
	pthread_mutex_lock(&z->lock);
	z->submitted++;
	pthread_cond_broadcast(&z->work);
	pthread_mutex_unlock(&z->lock);
	return 0;
}

/* Tell the threads to stop after their current block and join them. */
static void stop_threads(bp_gzip *z)
{
	int i;

	pthread_mutex_lock(&z->lock);
	z->stop = 1;
	pthread_cond_broadcast(&z->work);
	pthread_mutex_unlock(&z->lock);
	for (i = 0; i < z->nworkers; i++) {
		if (z->workers[i].started)
			pthread_join(z->workers[i].tid, NULL);
		z->workers[i].started = 0;
	}
	if (z->hash_started)
		pthread_join(z->hash_tid, NULL);
	z->hash_started = 0;
}

/* Start fn(arg) with every signal blocked, so that signals go to the caller's threads. */
static int start_thread(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(tid, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return bp_error_set(BP_ERROR, "gzip: cannot start a compression thread: %s",
				    strerror(e));
	return 0;
}

static int online_cpus(void)
{
	cpu_set_t set;
	long n;

	/* the CPUs this process may run on, which a container or taskset may limit */
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > BP_GZIP_THREADS_MAX ? BP_GZIP_THREADS_MAX : (int)n;
}

/* A gzip writer with its threads started; see compress.h. */
int bp_gzip__new(bp_gzip **out, int level, int threads, size_t block_size, bp_gzip_out_fn fn,
		 void *payload)
{
	bp_gzip *z = NULL;
	int i, r = 0;

	*out = NULL;
	if (level < 1 || level > 12)
		return bp_error_set(BP_EINVAL, "gzip: compression level %d is not in 1..12", level);
	if (threads < 0 || threads > BP_GZIP_THREADS_MAX)
		return bp_error_set(BP_EINVAL, "gzip: thread count %d is not in 0..%d", threads,
				    BP_GZIP_THREADS_MAX);
	if (block_size == 0)
		block_size = BP_GZIP_BLOCK_DEFAULT;
	if (block_size < BP_GZIP_BLOCK_MIN || block_size > BP_GZIP_BLOCK_MAX)
		return bp_error_set(BP_EINVAL, "gzip: block size %zu is not in %zu..%zu",
				    block_size, BP_GZIP_BLOCK_MIN, BP_GZIP_BLOCK_MAX);
	if (!fn)
		return bp_error_set(BP_EINVAL, "gzip: no output callback");
	if (threads == 0)
		threads = online_cpus();

	z = calloc(1, sizeof(*z));
	if (!z)
		return bp_error_set(BP_ENOMEM, "gzip: out of memory");
	z->fn = fn;
	z->payload = payload;
	z->block_size = block_size;
	z->nslots = (size_t)threads + 1;
	z->nworkers = threads;
	pthread_mutex_init(&z->lock, NULL);
	pthread_cond_init(&z->work, NULL);
	pthread_cond_init(&z->ready, NULL);
	z->slots = calloc(z->nslots, sizeof(*z->slots));
	z->workers = calloc((size_t)threads, sizeof(*z->workers));
	if (!z->slots || !z->workers) {
		r = bp_error_set(BP_ENOMEM, "gzip: out of memory");
		goto done;
	}
	if ((r = bp_hasher_new(&z->hasher)) < 0)
		goto done;
	for (i = 0; i < threads; i++) {
		z->workers[i].z = z;
		z->workers[i].c = libdeflate_alloc_compressor(level);
		if (!z->workers[i].c) {
			r = bp_error_set(BP_ENOMEM, "gzip: out of memory for a level %d compressor",
					 level);
			goto done;
		}
	}
	for (i = 0; i < threads; i++) {
		if ((r = start_thread(&z->workers[i].tid, worker_main, &z->workers[i])) < 0)
			goto done;
		z->workers[i].started = 1;
	}
	*out = z;
	z = NULL;
done:
	bp_gzip__free(z);
	return r;
}

/* Hash on a dedicated thread instead of the caller's; before the first write. */
int bp_gzip__set_hash_thread(bp_gzip *z, int on)
{
	int r;

	if (z->in_bytes || z->submitted || z->finished)
		return bp_error_set(BP_EINVAL, "gzip: the hashing thread is chosen before writing");
	if (!on || z->hash_started)
		return 0;
	z->hash_thread = 1;
	if ((r = start_thread(&z->hash_tid, hash_main, z)) < 0)
		return fail(z, r);
	z->hash_started = 1;
	return 0;
}

/* Copy data into blocks, submitting each one as it fills; see compress.h. */
int bp_gzip__write(bp_gzip *z, const void *data, size_t len)
{
	const unsigned char *p = data;
	int submitted = 0;
	int r;

	if (z->err)
		return failed_before(z);
	if (z->finished)
		return bp_error_set(BP_EINVAL, "gzip: write after finish");
	while (len > 0) {
		struct slot *s;
		size_t n = z->block_size - z->fill;

		if (n > len)
			n = len;
		if (z->fill == 0 && (r = claim_slot(z)) < 0)
			return r;
		s = &z->slots[z->submitted % z->nslots];
		if ((r = reserve(&s->in, &s->in_cap, z->fill + n, z->block_size)) < 0)
			return fail(z, r);
		memcpy(s->in + z->fill, p, n);
		if (!z->hash_thread)
			bp_hasher_update(z->hasher, p, n);
		z->fill += n;
		z->in_bytes += (int64_t)n;
		p += n;
		len -= n;
		if (z->fill == z->block_size) {
			if ((r = submit(z)) < 0)
				return r;
			submitted = 1;
		}
	}
	/* pass on whatever is finished already, without waiting */
	if (submitted)
		return drain(z, 0);
	return 0;
}

/* Submit the last block, emit everything, stop the threads; see compress.h. */
int bp_gzip__finish(bp_gzip *z)
{
	int r;

	if (z->err)
		return failed_before(z);
	if (z->finished)
		return bp_error_set(BP_EINVAL, "gzip: finish called twice");
	/* a partial last block, or the one empty member of an empty stream */
	if (z->fill > 0 || z->submitted == 0) {
		if (z->fill == 0 && (r = claim_slot(z)) < 0)
			return r;
		if ((r = submit(z)) < 0)
			return r;
	}
	if ((r = drain(z, z->submitted)) < 0)
		return r;
	stop_threads(z);
	/* every block was hashed before it was emitted */
	if ((r = bp_hasher_final(z->hasher, z->diff_id)) < 0)
		return fail(z, r);
	z->finished = 1;
	return 0;
}

/* Join the threads and free everything; NULL is fine. */
void bp_gzip__free(bp_gzip *z)
{
	size_t i;

	if (!z)
		return;
	if (z->workers) {
		stop_threads(z);
		for (i = 0; i < (size_t)z->nworkers; i++)
			libdeflate_free_compressor(z->workers[i].c);
		free(z->workers);
	}
	if (z->slots) {
		for (i = 0; i < z->nslots; i++) {
			free(z->slots[i].in);
			free(z->slots[i].out);
		}
		free(z->slots);
	}
	bp_hasher_free(z->hasher);
	pthread_cond_destroy(&z->ready);
	pthread_cond_destroy(&z->work);
	pthread_mutex_destroy(&z->lock);
	free(z);
}

/* The sha256 of the uncompressed bytes, once finished. */
int bp_gzip__diff_id(const bp_gzip *z, char out[BP_DIGEST_MAX])
{
	out[0] = '\0';
	if (!z->finished)
		return bp_error_set(BP_EINVAL, "gzip: the diff_id is known only after finish");
	memcpy(out, z->diff_id, sizeof(z->diff_id));
	return 0;
}

/* Uncompressed bytes written so far. */
int64_t bp_gzip__in_bytes(const bp_gzip *z)
{
	return z->in_bytes;
}

/* Compressed bytes passed to the callback so far. */
int64_t bp_gzip__out_bytes(const bp_gzip *z)
{
	return z->out_bytes;
}

/* Worker threads of this stream. */
int bp_gzip__threads(const bp_gzip *z)
{
	return z->nworkers;
}

/* See compress.h. */
const char *bp_compress__libdeflate_version(void)
{
	return LIBDEFLATE_VERSION_STRING;
}
