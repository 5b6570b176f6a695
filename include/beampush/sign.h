/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_SIGN_H
#define BEAMPUSH_SIGN_H

#include <beampush/client.h>
#include <beampush/common.h>
#include <beampush/digest.h>
#include <beampush/reference.h>

/*
 * cosign signatures, in the format cosign writes by default up to its
 * version 2 (and version 3 with --new-bundle-format=false): beside an
 * image of digest sha256:HEX, an OCI image manifest tagged
 * "sha256-HEX.sig" in the same repository, one layer per signature. A
 * layer is a "simple signing" payload, a small JSON document that names
 * the image's digest (application/vnd.dev.cosign.simplesigning.v1+json),
 * and its annotation dev.cosignproject.cosign/signature holds the base64
 * ECDSA P-256 / SHA-256 signature (DER) of the payload's bytes. No
 * transparency log (Rekor) entry and no certificate: a signature is
 * checked against a public key the caller trusts, and nothing else.
 */

/* A private key to sign with: ECDSA on P-256. */
typedef struct bp_sign_key bp_sign_key;

/* A public key to check signatures with: ECDSA on P-256. */
typedef struct bp_verify_key bp_verify_key;

/* The tag of the signatures of a digest: "sha256-" + 64 hex + ".sig" + NUL. */
#define BP_SIGNATURE_TAG_MAX 76

/* A passphrase is at most this long (bytes, without the NUL). */
#define BP_PASSPHRASE_MAX 1023

/*
 * Asked for the passphrase of an encrypted key file named name: write it,
 * NUL-terminated, into buf (size bytes) and return 0; or return a
 * negative BP_E* code with the message set (bp_error_set()), which the
 * load then returns. buf is wiped after use.
 */
typedef int (*bp_passphrase_cb)(const char *name, char *buf, size_t size, void *payload);

/*
 * Parse a private key from len bytes of PEM: a PKCS#8 "PRIVATE KEY" or a
 * SEC 1 "EC PRIVATE KEY", unencrypted; or cosign's encrypted key file
 * ("ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE KEY", as
 * `cosign generate-key-pair` writes it: scrypt with one of the parameter
 * sets cosign uses, then NaCl secretbox), whose passphrase passphrase
 * gives (called only for such a file; NULL: such a file is BP_EINVAL).
 * name names the key in messages. BP_EINVAL when the bytes hold no such
 * key, the key is not ECDSA on P-256, the KDF or cipher or its parameters
 * are not cosign's, or the passphrase is wrong; the message says which.
 * *out: a new key, freed with bp_sign_key_free().
 */
int bp_sign_key_parse(bp_sign_key **out, const char *data, size_t len, const char *name,
		      bp_passphrase_cb passphrase, void *payload);

/* bp_sign_key_parse() of the file at path (at most 64 KiB; BP_EINVAL when not readable). */
int bp_sign_key_load(bp_sign_key **out, const char *path, bp_passphrase_cb passphrase,
		     void *payload);

/* Free k, wiping it; NULL is fine. */
void bp_sign_key_free(bp_sign_key *k);

/*
 * Parse a public key from len bytes of PEM ("PUBLIC KEY", as cosign.pub
 * holds it). BP_EINVAL when there is none or it is not ECDSA on P-256.
 * *out: a new key, freed with bp_verify_key_free().
 */
int bp_verify_key_parse(bp_verify_key **out, const char *data, size_t len, const char *name);

/* bp_verify_key_parse() of the file at path (at most 64 KiB; BP_EINVAL when not readable). */
int bp_verify_key_load(bp_verify_key **out, const char *path);

/* Free k; NULL is fine. */
void bp_verify_key_free(bp_verify_key *k);

/* What bp_sign() did. */
typedef struct {
	char tag[BP_SIGNATURE_TAG_MAX]; /* "sha256-HEX.sig" */
	char digest[BP_DIGEST_MAX];	/* of the signature manifest now at tag */
	size_t count;			/* the signatures it holds */
	int added;			/* 0: key had signed the digest already; nothing was sent */
} bp_sign_result;

/*
 * Sign the manifest digest in ref's repository (ref's tag and digest are
 * not used) with key, as `cosign sign --key` does: the payload names the
 * digest and, as docker-reference, the repository (docker.io as cosign
 * writes it, "index.docker.io/library/python"). The signature is added as
 * a layer to the manifest at the digest's .sig tag, after the ones there
 * (a new one is made when there is none); as cosign does, nothing is sent
 * when a layer there has the same payload and a signature key verifies.
 * Two signers at once may lose one of the signatures (the last manifest
 * PUT wins), as with cosign. BP_EPROTO when the manifest at the tag is
 * not a signature manifest (it is left as it is); the registry's errors
 * otherwise. out (may be NULL) says what was done.
 */
int bp_sign(bp_client *c, const bp_reference *ref, const char *digest, const bp_sign_key *key,
	    bp_sign_result *out);

typedef enum {
	BP_SIGNATURE_UNCHECKED,	   /* no key was given to check it with */
	BP_SIGNATURE_VERIFIED,	   /* made with the key, and names the digest */
	BP_SIGNATURE_OTHER_KEY,	   /* does not verify with the key */
	BP_SIGNATURE_OTHER_DIGEST, /* made with the key, but names another image */
	BP_SIGNATURE_MALFORMED	   /* cannot be checked: problem says why */
} bp_signature_state;

/* One signature of an image, as found. Strings borrowed from the list. */
typedef struct {
	const char *digest;   /* the payload's (the layer's) digest; NULL when the layer has none */
	const char *image;    /* the docker-manifest-digest the payload names, or NULL */
	const char *identity; /* its docker-reference, or NULL */
	bp_signature_state state;
	const char *problem; /* MALFORMED: what is wrong; else NULL */
} bp_signature;

/* The signatures found for a digest. */
typedef struct {
	char tag[BP_SIGNATURE_TAG_MAX];
	int found;	       /* 0: no manifest at tag (no signature at all) */
	const bp_signature *v; /* in the manifest's order */
	size_t n;
} bp_signatures;

/*
 * The signatures of the manifest digest in ref's repository, each checked
 * with key when one is given (NULL: all BP_SIGNATURE_UNCHECKED, their
 * payloads read all the same). A manifest at the tag that is not one of
 * signatures (not JSON, more than 1000 layers: cosign's limit, an index)
 * is BP_ESIGNATURE saying why. Payloads are read up to 64 KiB each and
 * verified against their digests. *out: a new list, freed with
 * bp_signatures_free(); the registry's errors otherwise.
 */
int bp_signatures_list(bp_client *c, const bp_reference *ref, const char *digest,
		       const bp_verify_key *key, bp_signatures **out);

/* Free s; NULL is fine. */
void bp_signatures_free(bp_signatures *s);

/*
 * The signatures s holds as a JSON array of objects (Digest, Image,
 * Identity, State: "unchecked", "verified", "other key", "other digest"
 * or "malformed", Problem), for programs. *out: a new NUL-terminated
 * string of *len bytes. BP_ENOMEM.
 */
int bp_signatures_json(const bp_signatures *s, char **out, size_t *len);

/*
 * 0 when one of s is BP_SIGNATURE_VERIFIED; else BP_ESIGNATURE with the
 * message bp_signatures_verify() gives, for digest (the one s was listed
 * for).
 */
int bp_signatures_check(const bp_signatures *s, const char *digest);

/*
 * 0 when a signature of the manifest digest in ref's repository verifies
 * with key and names digest (checked as cosign verify does: the identity,
 * docker-reference, is not compared); else BP_ESIGNATURE, whose message
 * says what was found: no signature, signatures by another key, a payload
 * naming another digest, a malformed one. The registry's errors otherwise.
 */
int bp_signatures_verify(bp_client *c, const bp_reference *ref, const char *digest,
			 const bp_verify_key *key);

/*
 * From now on, every pull c makes accepts an image only when
 * bp_signatures_verify() with key accepts the digest its reference names
 * (for an index: the index's), checked before anything is written to the
 * destination; else the pull fails with that error. NULL: no longer. key
 * must outlive c (or the next call).
 */
void bp_client_require_signature(bp_client *c, const bp_verify_key *key);

#endif
