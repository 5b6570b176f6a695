/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_DIGEST_H
#define BEAMPUSH_DIGEST_H

#include <beampush/common.h>

/* "sha256:" + 64 hex + NUL */
#define BP_DIGEST_MAX 72

/* Streaming sha256 (OpenSSL EVP inside). */
typedef struct bp_hasher bp_hasher;

/* New hasher; BP_ENOMEM on failure. Free with bp_hasher_free(). */
int bp_hasher_new(bp_hasher **out);
void bp_hasher_update(bp_hasher *h, const void *data, size_t len);
/* Bytes fed so far. */
uint64_t bp_hasher_count(const bp_hasher *h);
/* Writes "sha256:<hex>" into out. The hasher may not be updated after. */
int bp_hasher_final(bp_hasher *h, char out[BP_DIGEST_MAX]);
/* A copy of the state, to continue from one prefix twice. */
int bp_hasher_dup(bp_hasher **out, const bp_hasher *h);
void bp_hasher_free(bp_hasher *h);

/* Digest of a whole buffer. */
int bp_digest_buf(char out[BP_DIGEST_MAX], const void *data, size_t len);

/*
 * Check that s is a digest we can verify: "sha256:" and 64 lowercase hex.
 * BP_EUNSUPPORTED (message names it) for a well-formed digest of another
 * algorithm (sha512:...), BP_EINVAL for anything malformed.
 */
int bp_digest_validate(const char *s);

/* The hex part of a validated digest. */
const char *bp_digest_hex(const char *digest);

/* 1 when equal. */
int bp_digest_equal(const char *a, const char *b);

#endif
