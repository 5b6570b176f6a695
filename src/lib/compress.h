/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_COMPRESS_H
#define BP_LIB_COMPRESS_H

/*
 * Layer compression while the bytes stream: recognising what a blob is
 * compressed with, and a block-parallel gzip writer for the push engine.
 *
 * The gzip output is a series of independent gzip members (RFC 1952,
 * section 2.2), one per block_size bytes of input: a 10-byte header
 * (1f 8b 08 00, mtime 0, xfl 0, os 255), a raw deflate stream from
 * libdeflate, the CRC-32 and the size of the block. gzip, zlib (with
 * inflateReset between members), Go's compress/gzip and containers/image
 * read it as one stream. For the same input, level and block size the
 * bytes are the same whatever the thread count and however the input is
 * cut into bp_gzip__write() calls, so a layer always gets the same
 * compressed digest (with the same libdeflate version).
 */

#include <beampush/common.h>
#include <beampush/digest.h>

#include <stddef.h>
#include <stdint.h>

typedef enum { BP_COMPRESSION_NONE, BP_COMPRESSION_GZIP, BP_COMPRESSION_ZSTD } bp_compression;

/*
 * What the first bytes of a blob say it is: gzip (1f 8b), zstd (28 b5 2f
 * fd), else none. Fewer bytes than a magic number are never a match.
 */
bp_compression bp_compress__detect(const void *head, size_t len);

/* "none", "gzip" or "zstd". */
const char *bp_compress__name(bp_compression c);

/* Default, smallest and largest block sizes; the default suits layers. */
#define BP_GZIP_BLOCK_DEFAULT ((size_t)1 << 20)
#define BP_GZIP_BLOCK_MIN ((size_t)1024)
#define BP_GZIP_BLOCK_MAX ((size_t)256 << 20)
/* At most this many compression threads per stream. */
#define BP_GZIP_THREADS_MAX 256

/*
 * Receives compressed bytes, in order, always on the thread that called
 * bp_gzip__write() or bp_gzip__finish(). The data is borrowed for the
 * call. Return 0 to go on; anything else stops the stream, and a
 * negative BP_E* code (with its message set by bp_error_set()) is what
 * write() or finish() then return.
 */
typedef int (*bp_gzip_out_fn)(const void *data, size_t len, void *payload);

typedef struct bp_gzip bp_gzip;

/*
 * A gzip writer compressing blocks of block_size bytes (0: 1 MiB) at
 * libdeflate level 1..12 on threads worker threads (0: one per CPU this
 * process may run on) while the caller goes on writing. Memory: at most
 * threads + 1 blocks of input and their outputs (about 2 x (threads + 1)
 * x block_size bytes): each worker busy with one while the caller fills
 * the next, allocated as the pipeline fills, plus one libdeflate
 * compressor per thread (under 1 MB for levels 1..9, about 7 MB for
 * 10..12). fn receives the output. One stream is driven by one thread at
 * a time; streams are independent. BP_EINVAL for a bad level, thread
 * count, block size or a NULL fn; BP_ENOMEM; BP_ERROR when a thread
 * cannot be started. Free with bp_gzip__free().
 */
int bp_gzip__new(bp_gzip **out, int level, int threads, size_t block_size, bp_gzip_out_fn fn,
		 void *payload);

/*
 * Feed len uncompressed bytes, in any sizes. Compressed output may be
 * passed to fn before this returns; when threads + 1 blocks are in
 * flight this waits for the oldest. Errors: the callback's code, or one
 * carried back from a worker; after any error the stream is dead and
 * every later call returns the same code. BP_EINVAL after finish.
 */
int bp_gzip__write(bp_gzip *z, const void *data, size_t len);

/*
 * Compress what is left and pass all remaining output to fn, in order;
 * then stop the threads. An empty stream still gives one (empty) gzip
 * member. Errors as for write(); BP_EINVAL when called twice.
 */
int bp_gzip__finish(bp_gzip *z);

/* Stop and join the threads, free everything; at any point, NULL is fine. */
void bp_gzip__free(bp_gzip *z);

/*
 * "sha256:<hex>" of the uncompressed bytes (the layer's diff_id) into
 * out. BP_EINVAL before a successful finish.
 */
int bp_gzip__diff_id(const bp_gzip *z, char out[BP_DIGEST_MAX]);

/* Uncompressed bytes written so far. */
int64_t bp_gzip__in_bytes(const bp_gzip *z);

/* Compressed bytes passed to the callback so far. */
int64_t bp_gzip__out_bytes(const bp_gzip *z);

/*
 * With on, compute the diff_id on a thread of its own instead of on the
 * caller's as the bytes are copied in (the default). On 2 cores both keep
 * the cores busy; a dedicated thread may help when many workers
 * outrun one core's sha256 (about 1.4 GB/s). Only before the first
 * write: BP_EINVAL after it; BP_ERROR when the thread cannot be started.
 */
int bp_gzip__set_hash_thread(bp_gzip *z, int on);

/* The number of worker threads (threads = 0 resolved). */
int bp_gzip__threads(const bp_gzip *z);

/* "1.14": the libdeflate beampush was built with (it has no runtime version). Static. */
const char *bp_compress__libdeflate_version(void);

#endif
