/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/digest.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <stdlib.h>
#include <string.h>

struct bp_hasher {
	EVP_MD_CTX *ctx;
	uint64_t count;
	int done;   /* final was called */
	int failed; /* an EVP call failed; final reports it */
};

static const char hexdigits[] = "0123456789abcdef";

/* Allocate a hasher with a fresh sha256 context. */
int bp_hasher_new(bp_hasher **out)
{
	bp_hasher *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return bp_error_set(BP_ENOMEM, "out of memory allocating a hasher");
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx) {
		free(h);
		return bp_error_set(BP_ENOMEM, "out of memory allocating a sha256 context");
	}
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		bp_hasher_free(h);
		return bp_error_set(BP_ERROR, "openssl could not start a sha256 digest");
	}
	*out = h;
	return 0;
}

/* Feed len bytes; a no-op after final. Failures surface in final. */
void bp_hasher_update(bp_hasher *h, const void *data, size_t len)
{
	if (!h || h->done || len == 0)
		return;
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		h->failed = 1;
	h->count += len;
}

/* Bytes fed so far. */
uint64_t bp_hasher_count(const bp_hasher *h)
{
	return h ? h->count : 0;
}

/* Finish and write "sha256:<64 hex>" into out. */
int bp_hasher_final(bp_hasher *h, char out[BP_DIGEST_MAX])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int mdlen = 0;
	size_t i, o;

	out[0] = '\0';
	if (h->done)
		return bp_error_set(BP_ERROR, "sha256 hasher already finalised");
	h->done = 1;
	if (h->failed)
		return bp_error_set(BP_ERROR, "openssl failed while hashing");
	if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
		return bp_error_set(BP_ERROR, "openssl could not finish a sha256 digest");
	memcpy(out, "sha256:", 7);
	o = 7;
	for (i = 0; i < mdlen; i++) {
		out[o++] = hexdigits[md[i] >> 4];
		out[o++] = hexdigits[md[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

/* A new hasher with a copy of h's state, so a prefix can be continued twice. */
int bp_hasher_dup(bp_hasher **out, const bp_hasher *h)
{
	bp_hasher *c;

	*out = NULL;
	if (h->done)
		return bp_error_set(BP_EINVAL, "cannot copy a finalised sha256 hasher");
	c = calloc(1, sizeof(*c));
	if (!c)
		return bp_error_set(BP_ENOMEM, "out of memory copying a hasher");
	c->ctx = EVP_MD_CTX_new();
	if (!c->ctx) {
		free(c);
		return bp_error_set(BP_ENOMEM, "out of memory copying a sha256 context");
	}
	if (EVP_MD_CTX_copy_ex(c->ctx, h->ctx) != 1) {
		bp_hasher_free(c);
		return bp_error_set(BP_ERROR, "openssl could not copy a sha256 context");
	}
	c->count = h->count;
	c->failed = h->failed;
	*out = c;
	return 0;
}

/* Free h; NULL is fine. */
void bp_hasher_free(bp_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

/* sha256 of a whole buffer into out. */
int bp_digest_buf(char out[BP_DIGEST_MAX], const void *data, size_t len)
{
	bp_hasher *h;
	int r;

	out[0] = '\0';
	if ((r = bp_hasher_new(&h)) < 0)
		return r;
	bp_hasher_update(h, data, len);
	r = bp_hasher_final(h, out);
	bp_hasher_free(h);
	return r;
}

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_encoded_char(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-';
}

/*
 * Length of the algorithm part when s starts with an OCI algorithm,
 * [a-z0-9]+([+._-][a-z0-9]+)*, followed by ':'; 0 otherwise.
 */
static size_t algorithm_len(const char *s)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;

		while (is_lower_alnum(s[i]))
			i++;
		if (i == start)
			return 0;
		if (s[i] == ':')
			return i;
		if (s[i] != '+' && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
		i++;
	}
}

/* 0 for "sha256:" + 64 lowercase hex; BP_EUNSUPPORTED for other algorithms. */
int bp_digest_validate(const char *s)
{
	size_t alen, i;
	const char *enc;

	if (!s)
		return bp_error_set(BP_EINVAL, "missing digest");
	if (!*s)
		return bp_error_set(BP_EINVAL, "empty digest");
	alen = algorithm_len(s);
	if (!alen)
		return bp_error_set(
			BP_EINVAL,
			"invalid digest \"%.100s\": want algorithm:hex, as sha256:<64 hex digits>",
			s);
	enc = s + alen + 1;
	if (alen == 6 && memcmp(s, "sha256", 6) == 0) {
		for (i = 0; enc[i]; i++) {
			if (!((enc[i] >= '0' && enc[i] <= '9') || (enc[i] >= 'a' && enc[i] <= 'f')))
				return bp_error_set(BP_EINVAL,
						    "invalid digest \"%.100s\": sha256 needs 64 "
						    "lowercase hex digits, found '%c'",
						    s, enc[i]);
		}
		if (i != 64)
			return bp_error_set(
				BP_EINVAL,
				"invalid digest \"%.100s\": sha256 needs 64 hex digits, got %zu", s,
				i);
		return 0;
	}
	if (!*enc)
		return bp_error_set(BP_EINVAL, "invalid digest \"%.100s\": nothing after ':'", s);
	for (i = 0; enc[i]; i++) {
		if (!is_encoded_char(enc[i]))
			return bp_error_set(
				BP_EINVAL,
				"invalid digest \"%.100s\": invalid character in the encoded part",
				s);
	}
	return bp_error_set(
		BP_EUNSUPPORTED,
		"unsupported digest algorithm \"%.*s\" in \"%.100s\": only sha256 is supported",
		(int)alen, s, s);
}

/* The part after ':' (the whole string when there is none). */
const char *bp_digest_hex(const char *digest)
{
	const char *p;

	if (!digest)
		return NULL;
	p = strchr(digest, ':');
	return p ? p + 1 : digest;
}

/* 1 when both are non-NULL and equal. */
int bp_digest_equal(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}
