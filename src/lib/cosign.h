/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_COSIGN_H
#define BP_LIB_COSIGN_H

/*
 * cosign's formats, without the network: the simple signing payload, the
 * signature manifest at a digest's .sig tag (read, and written with one
 * signature more), key files, and the ECDSA signature of a payload. What
 * signs, lists and verifies on a registry (sign.c) stands on these, and
 * so can whatever else moves signatures (a copy that carries them along).
 * The parsers take untrusted bytes: each is bounded and has a fuzz
 * harness (tests/fuzz/fuzz_cosign_*.c).
 */

#include <beampush/common.h>
#include <beampush/digest.h>
#include <beampush/sign.h>

#include "registry.h"

#include <openssl/evp.h>

#define BP_COSIGN_PAYLOAD_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define BP_COSIGN_SIGNATURE_ANNOTATION "dev.cosignproject.cosign/signature"
#define BP_COSIGN_SIGNATURE_TYPE "cosign container image signature"

/* cosign refuses a signature manifest of more layers (pkg/oci/mutate: maxLayers). */
#define BP_COSIGN_LAYERS_MAX 1000
/* A payload larger than this is not read: cosign's are a few hundred bytes. */
#define BP_COSIGN_PAYLOAD_MAX (64 * 1024)
/* A key file larger than this is not one. */
#define BP_COSIGN_KEY_FILE_MAX (64 * 1024)
/* A DER ECDSA P-256 signature is at most 72 bytes; anything far larger is not one. */
#define BP_COSIGN_SIGNATURE_MAX 256

/* "sha256-HEX.sig" for a validated digest, into tag. */
void bp_cosign__tag(char tag[BP_SIGNATURE_TAG_MAX], const char *digest);

/*
 * The docker-reference cosign writes for a repository: "domain/path",
 * Docker Hub as "index.docker.io". New string, or NULL (no memory).
 */
char *bp_cosign__identity(const char *domain, const char *path);

/*
 * The payload cosign signs for digest under identity, byte for byte as
 * cosign writes it (compact JSON, its field order, "optional":null). New
 * string in *out (*len bytes). BP_EINVAL when identity or digest would
 * need escaping in JSON (they never do when valid), BP_ENOMEM.
 */
int bp_cosign__payload(const char *identity, const char *digest, char **out, size_t *len);

/*
 * Read a simple signing payload: a JSON object whose critical.type is
 * cosign's, with critical.image.docker-manifest-digest a digest and
 * critical.identity.docker-reference a string when there. *image and
 * *identity (NULL when absent): new strings. BP_EPROTO with the message
 * saying what is wrong (not JSON, too deep, not an object, another type,
 * no digest); more than BP_COSIGN_PAYLOAD_MAX bytes is BP_EPROTO too.
 */
int bp_cosign__payload_parse(const char *data, size_t len, char **image, char **identity);

/* One layer of a signature manifest, as its descriptor says. */
typedef struct {
	char *media_type;	    /* NULL when not a string */
	char digest[BP_DIGEST_MAX]; /* "" when not a sha256 digest */
	int64_t size;		    /* -1 when not a size */
	char *signature;	    /* the signature annotation, or NULL */
	const char *problem;	    /* a descriptor that cannot be used: why; else NULL */
} bp_cosign_layer;

/* A signature manifest, parsed. */
typedef struct {
	void *root; /* the JSON, kept to write it again with a layer more */
	bp_cosign_layer *layers;
	size_t n;
} bp_cosign_manifest;

#define BP_COSIGN_MANIFEST_INIT \
	{                       \
		NULL, NULL, 0   \
	}

/*
 * Parse len bytes as a signature manifest: a JSON object with
 * schemaVersion 2, a mediaType (when given) of an image manifest (OCI or
 * Docker v2), "layers" an array (absent: none) of at most
 * BP_COSIGN_LAYERS_MAX objects. A layer whose descriptor is malformed is
 * kept with its problem set. BP_EPROTO with the message saying what is
 * wrong; m holds nothing then. Release m either way.
 */
int bp_cosign__manifest_parse(bp_cosign_manifest *m, const char *data, size_t len);

void bp_cosign__manifest_release(bp_cosign_manifest *m);

/*
 * The config cosign gives a signature manifest of the layers of digests
 * (go-containerregistry's empty image with a layer appended for each: its
 * diff_id the payload's digest, a history entry, the zero time). New
 * string in *out (*len bytes). BP_ENOMEM.
 */
int bp_cosign__config(const char *const *digests, size_t n, char **out, size_t *len);

/*
 * The signature manifest m (NULL: none yet) with one layer more: a
 * payload of payload_size bytes and digest payload_digest, signed
 * signature (base64), and config_digest / config_size for its config. The
 * layers m has are kept as they are. New string in *out (*len bytes), and
 * *media_type (borrowed: from m, or the OCI manifest type) for the PUT.
 * BP_EPROTO when a layer of m is malformed (nothing would say what it
 * was), BP_ENOMEM.
 */
int bp_cosign__manifest_add(const bp_cosign_manifest *m, const char *payload_digest,
			    int64_t payload_size, const char *signature, const char *config_digest,
			    int64_t config_size, char **out, size_t *len, const char **media_type);

/*
 * Parse a key file (see bp_sign_key_parse(); want_private 0: a public
 * key, as bp_verify_key_parse()). *out: a new EVP_PKEY, ECDSA on P-256.
 */
int bp_cosign__key_parse(EVP_PKEY **out, int want_private, const char *data, size_t len,
			 const char *name, bp_passphrase_cb passphrase, void *payload);

/*
 * Decode a signature annotation: base64 of a DER ECDSA-Sig-Value. *der:
 * new buffer of *len bytes. BP_EPROTO when it is not base64, or not DER
 * (the message says which).
 */
int bp_cosign__signature_decode(const char *b64, unsigned char **der, size_t *len);

/* Sign len bytes of data with key (SHA-256, DER): *b64 the base64 signature, new string. */
int bp_cosign__sign(EVP_PKEY *key, const char *data, size_t len, char **b64);

/* 1 when der (len bytes) is key's signature of data; else 0. */
int bp_cosign__verify(EVP_PKEY *key, const char *data, size_t len, const unsigned char *der,
		      size_t derlen);

/* The EVP_PKEY of a key (borrowed), for the modules that sign and verify. */
EVP_PKEY *bp_sign__pkey(const bp_sign_key *k);
EVP_PKEY *bp_verify__pkey(const bp_verify_key *k);

/* ---- on a registry (sign.c) ---- */

/*
 * bp_signatures_verify() with c's required key (bp_client_require_signature())
 * on a registry open already, for repo: what pull calls before it writes.
 */
int bp_sign__require(bp_client *c, bp_registry *reg, const char *repo, const char *digest);

#endif
