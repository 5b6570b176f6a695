/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cosign's formats (cosign.c): the payload byte for byte, payloads and
 * signature manifests good and hostile, key files of every kind beampush
 * reads or refuses, and signatures. The encrypted key files and the
 * signature below were made by tests/integration/cosign-fixture (Python's
 * cryptography and PyNaCl), not by beampush.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/manifest.h>
#include <beampush/sign.h>

#include "cosign.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D34 "sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f"
#define FFF "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define AAA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* sigstore's own test vector for this identity and digest (payload_test.go) */
static const char cosign_payload[] =
	"{\"critical\":{\"identity\":{\"docker-reference\":\"example.com/test/image\"},"
	"\"image\":{\"docker-manifest-digest\":\"" D34 "\"},"
	"\"type\":\"cosign container image signature\"},\"optional\":null}";

/* cosign-fixture genkey fx.key fx.pub beampush-test --params 32768,8,1 */
static const char fixture_key[] =
	"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
	"eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6\n"
	"OCwicCI6MX0sInNhbHQiOiI4NjVmbXpOTEVoczhFZTVSWGx4UWU0eGFlY0ZPbnpl\n"
	"UDRHd0hTc0JaVGlRPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94\n"
	"Iiwibm9uY2UiOiJjY01yNXFsT3BYZHlwcW1teXpGc1BTQWE0RTZaVFFnaCJ9LCJj\n"
	"aXBoZXJ0ZXh0Ijoic2l5MGNEeWZUbnVLRm5UTFVnZElpc2liVkhQZFY3dGU1VlNQ\n"
	"TjVjRzFMM1U3R0RhRHRXa0lheEh4WUp3dHI3WmczMHNzYWZTOGRDSk9oL3FnZC9K\n"
	"cjVzd202VjBDeFpYRHRwUWlSWTNlM3Z1WFQ1clVzUTFnL0x1TG93b2ZjQjE0UThw\n"
	"RTVlUFE3UFhhQmpCR3VLaXdtMTQ2YmZYQllPVHU5WTRQWmlDVGZNSjZpZDduQlVP\n"
	"VXdNWXFpWXNrY2JnNVVEemlZVS9mSmFGbXc9PSJ9\n"
	"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";

static const char fixture_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7bbVuF7elw5FkimKFlu4nnV5PQDO\n"
	"SEvUz2SZmnkqaZYBYjCEtJKyDi7tItjWEStP3EbMa2gM4JVPvQQ4/l8jlQ==\n"
	"-----END PUBLIC KEY-----\n";

/* cosign-fixture genkey ... "" --label "ENCRYPTED COSIGN PRIVATE KEY": the empty passphrase */
static const char fixture_cosign_key[] =
	"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"
	"eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6\n"
	"OCwicCI6MX0sInNhbHQiOiJxbXVUZkdtS2FYNWFwVllxRUUwd2tIVGZpeHdtRnZx\n"
	"THFKc2VOM3lpOVRJPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94\n"
	"Iiwibm9uY2UiOiJtWmthcHBOMEJYbGk0djUwdXp1MTVHL1lhcndKQlc0bSJ9LCJj\n"
	"aXBoZXJ0ZXh0IjoiMEtLZjA3aWZjUG1neVBHZkZ5VVY2emNBQmVNUmFHaUVmbzJG\n"
	"TDRzelp3NmVSWVJ2NGN0eTVrd2hOZ1plcy9TL0pBbE4rRGJwa3JhQmZSMU94MGZR\n"
	"VnowbVZ2MHFwOWQ2bUU0dWRKWG82Nnh1dEdsZzhxcktJS01HK1RIcWt2QTJrSWkv\n"
	"N2NVbDBVZ1VSOWpUeGp0My91UktmNFh5Z2RXN3p6TWVPcmJCS2t6UlVMMTlHb2Vl\n"
	"MjMwanBiKzBJVUFaV0l3dUJvTmp0TlZPYVE9PSJ9\n"
	"-----END ENCRYPTED COSIGN PRIVATE KEY-----\n";

static const char fixture_cosign_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwwqn3/ydTiKalH7RrOKFxvnAkZ5L\n"
	"dIw8NsjFsm74DzOPV5Bw/TMJ33A0tHolfn1L0yc7jXFn0ZfRreleSKR1VQ==\n"
	"-----END PUBLIC KEY-----\n";

/* Python's signature of cosign_payload with fixture_key */
static const char fixture_sig[] = "MEUCID5J7rGONaqkyLAKKb066AHPD6GvWmuEnuU/HN81EadeAiEA2FyqGivDq"
				  "ev99/rK6yDT5GWn6SOg6eeaow+RrSCm4F0=";

/* ---- payload ---- */

static void test_payload_bytes(void **state)
{
	static const struct {
		const char *domain, *path, *identity;
	} rows[] = {
		{ "example.com", "test/image", "example.com/test/image" },
		{ "docker.io", "library/python", "index.docker.io/library/python" },
		{ "127.0.0.1:5000", "beam/python", "127.0.0.1:5000/beam/python" },
		{ "[::1]:5000", "a/b", "[::1]:5000/a/b" },
	};
	char *id, *out = NULL, tag[BP_SIGNATURE_TAG_MAX];
	size_t i, len;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		id = bp_cosign__identity(rows[i].domain, rows[i].path);
		assert_string_equal(id, rows[i].identity);
		free(id);
	}
	assert_int_equal(bp_cosign__payload("example.com/test/image", D34, &out, &len), 0);
	assert_string_equal(out, cosign_payload);
	assert_int_equal(len, strlen(cosign_payload));
	free(out);
	assert_int_equal(bp_cosign__payload("a\"b", D34, &out, &len), BP_EINVAL);
	assert_null(out);
	bp_cosign__tag(tag, D34);
	assert_string_equal(tag, "sha256-d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd"
				 "34db33f.sig");
}

/* Payloads: the text, 0 or the message's start, and the digest and identity read. */
struct payload_row {
	const char *text;
	const char *msg;
	const char *image, *identity;
};

#define CRIT(inner) "{\"critical\":{" inner "},\"optional\":null}"
#define TYPE "\"type\":\"cosign container image signature\""
#define IMAGE(d) "\"image\":{\"docker-manifest-digest\":\"" d "\"}"

static const struct payload_row payload_rows[] = {
	{ cosign_payload, NULL, D34, "example.com/test/image" },
	{ CRIT(IMAGE(D34) "," TYPE), NULL, D34, NULL },
	{ CRIT(IMAGE(D34) "," TYPE) "\n", NULL, D34, NULL },
	/* another algorithm's digest is read (and will not match) */
	{ CRIT(IMAGE("sha512:"
		     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
		     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff") "," TYPE),
	  NULL, "sha512:", NULL },
	{ "", "payload is not JSON", NULL, NULL },
	{ "{\"critical\":", "payload is not JSON", NULL, NULL },
	{ CRIT(IMAGE(D34) "," TYPE) "x", "payload is not JSON", NULL, NULL },
	{ "[\"cosign container image signature\"]", "payload is not a simple signing object", NULL,
	  NULL },
	{ "\"" D34 "\"", "payload is not a simple signing object", NULL, NULL },
	{ "{\"critical\":[]}", "payload is not a simple signing object", NULL, NULL },
	{ CRIT(IMAGE(D34) ",\"type\":\"atomic container signature\""),
	  "payload is not a cosign container image signature (type atomic", NULL, NULL },
	{ CRIT(IMAGE(D34)), "payload is not a cosign container image signature (type unknown)",
	  NULL, NULL },
	{ CRIT(TYPE), "payload names no image digest", NULL, NULL },
	{ CRIT("\"image\":{\"docker-manifest-digest\":5}," TYPE), "payload names no image digest",
	  NULL, NULL },
	{ CRIT(IMAGE("sha256:D34DB33F") "," TYPE), "payload names no image digest", NULL, NULL },
	{ CRIT(IMAGE(D34) "," TYPE ",\"identity\":{\"docker-reference\":7}"), NULL, D34, NULL },
};

static void test_payload_parse(void **state)
{
	bp_dynbuf deep = BP_DYNBUF_INIT(1 << 20), big = BP_DYNBUF_INIT(1 << 20);
	char *image, *identity;
	size_t i;
	int err;

	for (i = 0; i < sizeof(payload_rows) / sizeof(payload_rows[0]); i++) {
		const struct payload_row *r = &payload_rows[i];

		err = bp_cosign__payload_parse(r->text, strlen(r->text), &image, &identity);
		if (r->msg) {
			if (err != BP_EPROTO || !bp_strprefix(bp_error_last(), r->msg))
				fail_msg("row %zu: got %d \"%s\", want \"%s...\"", i, err,
					 bp_error_last(), r->msg);
			assert_null(image);
			assert_null(identity);
			continue;
		}
		if (err)
			fail_msg("row %zu: %s", i, bp_error_last());
		assert_true(bp_strprefix(image, r->image) != NULL);
		if (r->identity)
			assert_string_equal(identity, r->identity);
		else
			assert_null(identity);
		free(image);
		free(identity);
	}
	/* nested 20000 deep, within the size read: refused, not a stack overflow */
	for (i = 0; i < 20000; i++)
		assert_int_equal(bp_dynbuf_adds(&deep, "["), 0);
	for (i = 0; i < 20000; i++)
		assert_int_equal(bp_dynbuf_adds(&deep, "]"), 0);
	assert_int_equal(bp_cosign__payload_parse(deep.ptr, deep.len, &image, &identity),
			 BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "nested deeper"));
	/* megabytes: refused before parsing */
	assert_int_equal(bp_dynbuf_adds(&big, cosign_payload), 0);
	while (big.len < 3 * 100000)
		assert_int_equal(bp_dynbuf_adds(&big, "          "), 0);
	assert_int_equal(bp_cosign__payload_parse(big.ptr, big.len, &image, &identity), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "more than the 65536 read"));
	bp_dynbuf_release(&deep);
	bp_dynbuf_release(&big);
}

/* ---- the signature manifest ---- */

#define LAYER(d, size, sig)                                                                     \
	"{\"mediaType\":\"" BP_COSIGN_PAYLOAD_TYPE "\",\"size\":" size ",\"digest\":\"" d "\"," \
	"\"annotations\":{\"" BP_COSIGN_SIGNATURE_ANNOTATION "\":\"" sig "\"}}"
#define MANIFEST(layers)                                                                       \
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","   \
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":233," \
	"\"digest\":\"" AAA "\"},\"layers\":[" layers "]}"

struct manifest_row {
	const char *text;
	const char *msg;     /* the whole manifest refused: the message's start */
	size_t n;	     /* else: its layers */
	const char *problem; /* and the first layer's problem (NULL: none) */
};

static const struct manifest_row manifest_rows[] = {
	{ MANIFEST(LAYER(FFF, "243", "c2ln")), NULL, 1, NULL },
	{ MANIFEST(LAYER(FFF, "243", "c2ln") "," LAYER(D34, "1", "c2ln")), NULL, 2, NULL },
	{ MANIFEST(""), NULL, 0, NULL },
	{ "{\"schemaVersion\":2}", NULL, 0, NULL },
	{ "{\"schemaVersion\":2,\"mediaType\":\"" BP_MEDIA_DOCKER_MANIFEST "\",\"layers\":[]}",
	  NULL, 0, NULL },
	{ "", "manifest is not JSON", 0, NULL },
	{ MANIFEST("") "]", "manifest is not JSON", 0, NULL },
	{ "[]", "not an image manifest (schemaVersion 2)", 0, NULL },
	{ "{\"schemaVersion\":1,\"layers\":[]}", "not an image manifest", 0, NULL },
	{ "{\"schemaVersion\":2,\"mediaType\":\"" BP_MEDIA_OCI_INDEX "\",\"manifests\":[]}",
	  "a manifest of media type application/vnd.oci.image.index.v1+json", 0, NULL },
	{ "{\"schemaVersion\":2,\"mediaType\":7}", "a manifest of media type unknown", 0, NULL },
	{ "{\"schemaVersion\":2,\"layers\":{}}", "\"layers\" is not an array", 0, NULL },
	/* a layer that cannot be used is kept, with its problem */
	{ MANIFEST("5"), NULL, 1, "layer descriptor is not an object" },
	{ MANIFEST(LAYER("sha256:00", "243", "c2ln")), NULL, 1, "layer has no sha256 digest" },
	{ MANIFEST(LAYER(FFF, "-1", "c2ln")), NULL, 1, "layer has no size" },
	{ MANIFEST(LAYER(FFF, "1.5", "c2ln")), NULL, 1, "layer has no size" },
	{ MANIFEST(LAYER(FFF, "9007199254740993", "c2ln")), NULL, 1, "layer has no size" },
	{ MANIFEST("{\"mediaType\":\"" BP_MEDIA_OCI_LAYER_GZIP "\",\"size\":1,\"digest\":\"" FFF
		   "\"}"),
	  NULL, 1, "layer is not a simple signing payload" },
	{ MANIFEST("{\"mediaType\":\"" BP_COSIGN_PAYLOAD_TYPE "\",\"size\":1,\"digest\":\"" FFF
		   "\",\"annotations\":{}}"),
	  NULL, 1, "layer has no dev.cosignproject.cosign/signature annotation" },
};

/* A signature manifest of n layers, each LAYER(FFF, "243", "c2ln"). */
static char *manifest_of(size_t n)
{
	bp_dynbuf b = BP_DYNBUF_INIT(64 << 20);
	size_t i;

	assert_int_equal(bp_dynbuf_adds(&b, "{\"schemaVersion\":2,\"layers\":["), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(bp_dynbuf_printf(&b, "%s" LAYER(FFF, "243", "c2ln"), i ? "," : ""),
				 0);
	assert_int_equal(bp_dynbuf_adds(&b, "]}"), 0);
	return bp_dynbuf_detach(&b, NULL);
}

static void test_manifest_parse(void **state)
{
	bp_cosign_manifest m = BP_COSIGN_MANIFEST_INIT;
	char *text;
	size_t i;
	int err;

	for (i = 0; i < sizeof(manifest_rows) / sizeof(manifest_rows[0]); i++) {
		const struct manifest_row *r = &manifest_rows[i];

		err = bp_cosign__manifest_parse(&m, r->text, strlen(r->text));
		if (r->msg) {
			if (err != BP_EPROTO || !bp_strprefix(bp_error_last(), r->msg))
				fail_msg("row %zu: got %d \"%s\", want \"%s...\"", i, err,
					 bp_error_last(), r->msg);
			assert_int_equal(m.n, 0);
			assert_null(m.root);
			continue;
		}
		if (err)
			fail_msg("row %zu: %s", i, bp_error_last());
		assert_int_equal(m.n, r->n);
		if (r->n && (r->problem ? !m.layers[0].problem ||
						  !bp_strprefix(m.layers[0].problem, r->problem)
					: m.layers[0].problem != NULL))
			fail_msg("row %zu: problem \"%s\", want \"%s\"", i,
				 m.layers[0].problem ? m.layers[0].problem : "(none)",
				 r->problem ? r->problem : "(none)");
		bp_cosign__manifest_release(&m);
	}
	/* the first good row, read */
	assert_int_equal(
		bp_cosign__manifest_parse(&m, manifest_rows[0].text, strlen(manifest_rows[0].text)),
		0);
	assert_string_equal(m.layers[0].digest, FFF);
	assert_int_equal(m.layers[0].size, 243);
	assert_string_equal(m.layers[0].signature, "c2ln");
	assert_string_equal(m.layers[0].media_type, BP_COSIGN_PAYLOAD_TYPE);
	bp_cosign__manifest_release(&m);
	/* cosign's limit: a thousand layers are read, one more is refused */
	text = manifest_of(BP_COSIGN_LAYERS_MAX);
	assert_int_equal(bp_cosign__manifest_parse(&m, text, strlen(text)), 0);
	assert_int_equal(m.n, BP_COSIGN_LAYERS_MAX);
	bp_cosign__manifest_release(&m);
	free(text);
	text = manifest_of(BP_COSIGN_LAYERS_MAX + 1);
	assert_int_equal(bp_cosign__manifest_parse(&m, text, strlen(text)), BP_EPROTO);
	assert_string_equal(bp_error_last(), "1001 layers, more than the 1000 cosign allows");
	free(text);
}

/* The config and the manifest as cosign writes them, and a layer added to one there. */
static void test_manifest_write(void **state)
{
	const char *digests[] = { FFF, D34 }, *mt;
	bp_cosign_manifest m = BP_COSIGN_MANIFEST_INIT;
	char *out, *again;
	size_t len, len2;

	assert_int_equal(bp_cosign__config(digests, 1, &out, &len), 0);
	assert_string_equal(out, "{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\","
				 "\"history\":[{\"created\":\"0001-01-01T00:00:00Z\"}],\"os\":\"\","
				 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" FFF "\"]},"
				 "\"config\":{}}");
	free(out);
	assert_int_equal(bp_cosign__config(digests, 2, &out, &len), 0);
	assert_non_null(strstr(out, "\"history\":[{\"created\":\"0001-01-01T00:00:00Z\"},{\"created"
				    "\":\"0001-01-01T00:00:00Z\"}]"));
	assert_non_null(strstr(out, "\"diff_ids\":[\"" FFF "\",\"" D34 "\"]"));
	free(out);
	/* a new one: go-containerregistry's field order */
	assert_int_equal(bp_cosign__manifest_add(NULL, FFF, 243, "c2ln", AAA, 233, &out, &len, &mt),
			 0);
	assert_string_equal(out, MANIFEST(LAYER(FFF, "243", "c2ln")));
	assert_string_equal(mt, BP_MEDIA_OCI_MANIFEST);
	/* a layer added: the one there stays as it is, the config is replaced */
	assert_int_equal(bp_cosign__manifest_parse(&m, out, len), 0);
	assert_int_equal(bp_cosign__manifest_add(&m, D34, 1, "c2ln", AAA, 233, &again, &len2, &mt),
			 0);
	assert_string_equal(again, MANIFEST(LAYER(FFF, "243", "c2ln") "," LAYER(D34, "1", "c2ln")));
	bp_cosign__manifest_release(&m);
	free(out);
	free(again);
	/* a Docker v2 signature manifest stays one */
	out = "{\"schemaVersion\":2,\"mediaType\":\"" BP_MEDIA_DOCKER_MANIFEST "\",\"config\":{"
	      "\"mediaType\":\"" BP_MEDIA_DOCKER_CONFIG "\",\"size\":2,\"digest\":\"" AAA "\"},"
	      "\"layers\":[]}";
	assert_int_equal(bp_cosign__manifest_parse(&m, out, strlen(out)), 0);
	assert_int_equal(bp_cosign__manifest_add(&m, D34, 1, "c2ln", FFF, 9, &again, &len2, &mt),
			 0);
	assert_string_equal(mt, BP_MEDIA_DOCKER_MANIFEST);
	assert_non_null(strstr(again, "\"config\":{\"mediaType\":\"" BP_MEDIA_DOCKER_CONFIG
				      "\",\"size\":9,\"digest\":\"" FFF "\"}"));
	bp_cosign__manifest_release(&m);
	free(again);
	/* a malformed layer would be lost: refused */
	out = MANIFEST(LAYER("sha256:00", "243", "c2ln"));
	assert_int_equal(bp_cosign__manifest_parse(&m, out, strlen(out)), 0);
	assert_int_equal(bp_cosign__manifest_add(&m, D34, 1, "c2ln", FFF, 9, &again, &len2, &mt),
			 BP_EPROTO);
	bp_cosign__manifest_release(&m);
}

/* ---- keys ---- */

typedef struct {
	const char *pass; /* NULL: refuse to give one */
	int calls;
} pass_state;

static int give_pass(const char *name, char *buf, size_t size, void *payload)
{
	pass_state *p = payload;

	p->calls++;
	if (!p->pass)
		return bp_error_set(BP_EINVAL, "no passphrase here");
	bp_strlcpy(buf, p->pass, size);
	return 0;
}

/* A PEM of pkey: private as PKCS#8 (sec1: as SEC 1), or the public key. New string. */
static char *pem_of(EVP_PKEY *pkey, int private, int sec1)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(bio);
	if (!private)
		assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
	else if (sec1)
		assert_int_equal(
			PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL),
			1);
	else
		assert_int_equal(
			PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	out = bp_strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

/* An encrypted cosign key file around doc, a JSON text. New string. */
static char *encrypted_of(const char *doc)
{
	char *b64 = bp_base64_encode(doc, strlen(doc)), *out;

	out = bp_aprintf("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n%s\n"
			 "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
			 b64);
	free(b64);
	return out;
}

#define SALT "ODY1Zm16TkxFaHM4RWU1UlhseFFlNHhhZWNGT256ZVA0R3dIU3NCWlRpUT0="
#define NONCE "Y2NNcjVxbE9wWGR5cHFtbXl6RnNQU0FhNEU2WlRRZ2g="
#define ENC(kdf, params, cipher, nonce)                                                \
	"{\"kdf\":{\"name\":\"" kdf "\",\"params\":" params ",\"salt\":\"" SALT "\"}," \
	"\"cipher\":{\"name\":\"" cipher "\",\"nonce\":\"" nonce "\"},\"ciphertext\":" \
	"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}"
#define P15 "{\"N\":32768,\"r\":8,\"p\":1}"

/* Key files refused: the text, private or public wanted, the message's start. */
struct key_row {
	const char *text;
	int private;
	const char *msg;
};

static const struct key_row key_rows[] = {
	{ "", 1, "k: not a key file (no PEM block)" },
	{ "this is not a key\n", 0, "k: not a key file (no PEM block)" },
	{ "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 1,
	  "k: the PRIVATE KEY block does not hold a valid key" },
	{ "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", 0,
	  "k: not a key file (no PEM block)" },
	{ "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 1,
	  "k: a PEM block of type CERTIFICATE, not a private key" },
	{ "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0,
	  "k: a PEM block of type CERTIFICATE, not a public key" },
	{ "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", 1,
	  "k: an encrypted PKCS#8 key" },
	{ fixture_pub, 1, "k is a public key: signing needs the private key" },
	{ fixture_key, 0, "k is a private key: verifying needs the public key" },
	{ "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
	  "00000000000000000000000000000000\n\nAAAA\n-----END EC PRIVATE KEY-----\n",
	  1, "k: a PEM block with headers" },
};

/* Encrypted key files refused before any passphrase is asked for: the JSON inside, the message. */
static const struct {
	const char *doc;
	const char *msg;
} enc_rows[] = {
	{ "not json", "k: not cosign's encrypted key format" },
	{ "[1]", "k: not cosign's encrypted key format" },
	{ ENC("argon2", P15, "nacl/secretbox", NONCE), "k: key derivation argon2 is not cosign's" },
	{ ENC("scrypt", "{\"N\":1048576,\"r\":8,\"p\":1}", "nacl/secretbox", NONCE),
	  "k: scrypt parameters N=1048576 r=8 p=1 are not ones cosign writes" },
	{ ENC("scrypt", "{\"N\":32768,\"r\":8,\"p\":16}", "nacl/secretbox", NONCE),
	  "k: scrypt parameters N=32768 r=8 p=16" },
	{ ENC("scrypt", "{\"N\":32768,\"r\":8}", "nacl/secretbox", NONCE),
	  "k: scrypt parameters N, r and p missing" },
	{ ENC("scrypt", P15, "aes-gcm", NONCE), "k: cipher aes-gcm is not cosign's" },
	{ ENC("scrypt", P15, "nacl/secretbox", "AAAA"),
	  "k: the secretbox nonce is not base64 of 24" },
	{ ENC("scrypt", P15, "nacl/secretbox", "not base64!"),
	  "k: the secretbox nonce is not base64" },
};

static void test_key_refused(void **state)
{
	pass_state p = { "beampush-test", 0 };
	bp_dynbuf big = BP_DYNBUF_INIT(1 << 20);
	EVP_PKEY *k = NULL, *other;
	char *text;
	size_t i;
	int err;

	for (i = 0; i < sizeof(key_rows) / sizeof(key_rows[0]); i++) {
		const struct key_row *r = &key_rows[i];

		err = bp_cosign__key_parse(&k, r->private, r->text, strlen(r->text), "k", give_pass,
					   &p);
		if (err != BP_EINVAL || !bp_strprefix(bp_error_last(), r->msg))
			fail_msg("row %zu: got %d \"%s\", want \"%s...\"", i, err, bp_error_last(),
				 r->msg);
		assert_null(k);
	}
	for (i = 0; i < sizeof(enc_rows) / sizeof(enc_rows[0]); i++) {
		text = encrypted_of(enc_rows[i].doc);
		err = bp_cosign__key_parse(&k, 1, text, strlen(text), "k", give_pass, &p);
		if (err != BP_EINVAL || !bp_strprefix(bp_error_last(), enc_rows[i].msg))
			fail_msg("encrypted row %zu: got %d \"%s\", want \"%s...\"", i, err,
				 bp_error_last(), enc_rows[i].msg);
		assert_null(k);
		free(text);
	}
	assert_int_equal(p.calls, 0);
	/* other keys than ECDSA on P-256 */
	other = EVP_EC_gen("P-384");
	text = pem_of(other, 1, 0);
	assert_int_equal(bp_cosign__key_parse(&k, 1, text, strlen(text), "k", NULL, NULL),
			 BP_EINVAL);
	assert_string_equal(bp_error_last(),
			    "k: an ECDSA key on P-256 is needed (cosign's), not EC on secp384r1");
	free(text);
	text = pem_of(other, 0, 0);
	assert_int_equal(bp_cosign__key_parse(&k, 0, text, strlen(text), "k", NULL, NULL),
			 BP_EINVAL);
	free(text);
	EVP_PKEY_free(other);
	other = EVP_RSA_gen(1024);
	text = pem_of(other, 1, 0);
	assert_int_equal(bp_cosign__key_parse(&k, 1, text, strlen(text), "k", NULL, NULL),
			 BP_EINVAL);
	assert_string_equal(bp_error_last(),
			    "k: an ECDSA key on P-256 is needed (cosign's), not RSA");
	free(text);
	EVP_PKEY_free(other);
	/* larger than a key file is */
	while (big.len <= BP_COSIGN_KEY_FILE_MAX)
		assert_int_equal(bp_dynbuf_adds(&big, "################################"), 0);
	assert_int_equal(bp_cosign__key_parse(&k, 1, big.ptr, big.len, "k", NULL, NULL), BP_EINVAL);
	assert_string_equal(bp_error_last(), "k: larger than 64 KiB, not a key file");
	bp_dynbuf_release(&big);
}

/* The encrypted fixtures, with the passphrase and without; and keys OpenSSL writes. */
static void test_key_read(void **state)
{
	pass_state right = { "beampush-test", 0 }, wrong = { "beampush-tesT", 0 },
		   none = { NULL, 0 }, empty = { "", 0 };
	EVP_PKEY *k = NULL, *pub = NULL, *gen;
	char *text;

	assert_int_equal(
		bp_cosign__key_parse(&pub, 0, fixture_pub, strlen(fixture_pub), "p", NULL, NULL),
		0);
	assert_int_equal(bp_cosign__key_parse(&k, 1, fixture_key, strlen(fixture_key), "k",
					      give_pass, &right),
			 0);
	assert_int_equal(right.calls, 1);
	/* the private key is the one of the public key Python wrote beside it */
	assert_int_equal(EVP_PKEY_eq(k, pub), 1);
	EVP_PKEY_free(k);
	assert_int_equal(bp_cosign__key_parse(&k, 1, fixture_key, strlen(fixture_key), "k",
					      give_pass, &wrong),
			 BP_EINVAL);
	assert_string_equal(bp_error_last(), "k: wrong passphrase (or a damaged key file)");
	assert_null(k);
	assert_int_equal(bp_cosign__key_parse(&k, 1, fixture_key, strlen(fixture_key), "k",
					      give_pass, &none),
			 BP_EINVAL);
	assert_string_equal(bp_error_last(), "no passphrase here");
	assert_int_equal(
		bp_cosign__key_parse(&k, 1, fixture_key, strlen(fixture_key), "k", NULL, NULL),
		BP_EINVAL);
	assert_string_equal(bp_error_last(), "k is encrypted: a passphrase is needed");
	EVP_PKEY_free(pub);
	/* cosign's older label, and the empty passphrase */
	assert_int_equal(bp_cosign__key_parse(&k, 1, fixture_cosign_key, strlen(fixture_cosign_key),
					      "k", give_pass, &empty),
			 0);
	assert_int_equal(bp_cosign__key_parse(&pub, 0, fixture_cosign_pub,
					      strlen(fixture_cosign_pub), "p", NULL, NULL),
			 0);
	assert_int_equal(EVP_PKEY_eq(k, pub), 1);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pub);
	/* PKCS#8 and SEC 1, unencrypted, with text before the block */
	gen = EVP_EC_gen("P-256");
	text = pem_of(gen, 1, 0);
	assert_int_equal(bp_cosign__key_parse(&k, 1, text, strlen(text), "k", NULL, NULL), 0);
	assert_int_equal(EVP_PKEY_eq(k, gen), 1);
	EVP_PKEY_free(k);
	free(text);
	text = pem_of(gen, 1, 1);
	assert_non_null(strstr(text, "BEGIN EC PRIVATE KEY"));
	assert_int_equal(bp_cosign__key_parse(&k, 1, text, strlen(text), "k", NULL, NULL), 0);
	EVP_PKEY_free(k);
	free(text);
	text = pem_of(gen, 0, 0);
	assert_int_equal(bp_cosign__key_parse(&k, 0, text, strlen(text), "k", NULL, NULL), 0);
	assert_int_equal(EVP_PKEY_eq(k, gen), 1);
	EVP_PKEY_free(k);
	free(text);
	EVP_PKEY_free(gen);
}

/* ---- signatures ---- */

static void test_signatures(void **state)
{
	static const char *const bad_b64[] = { "", "not base64!", "c2ln=x", "c2lu===" };
	pass_state right = { "beampush-test", 0 };
	EVP_PKEY *k = NULL, *pub = NULL, *other = EVP_EC_gen("P-256");
	unsigned char *der = NULL;
	char *b64 = NULL, *bad;
	size_t len, i;

	assert_int_equal(
		bp_cosign__key_parse(&pub, 0, fixture_pub, strlen(fixture_pub), "p", NULL, NULL),
		0);
	/* Python's signature verifies */
	assert_int_equal(bp_cosign__signature_decode(fixture_sig, &der, &len), 0);
	assert_int_equal(bp_cosign__verify(pub, cosign_payload, strlen(cosign_payload), der, len),
			 1);
	assert_int_equal(bp_cosign__verify(other, cosign_payload, strlen(cosign_payload), der, len),
			 0);
	assert_int_equal(
		bp_cosign__verify(pub, cosign_payload, strlen(cosign_payload) - 1, der, len), 0);
	free(der);
	/* and one made here verifies with the public key */
	assert_int_equal(bp_cosign__key_parse(&k, 1, fixture_key, strlen(fixture_key), "k",
					      give_pass, &right),
			 0);
	assert_int_equal(bp_cosign__sign(k, cosign_payload, strlen(cosign_payload), &b64), 0);
	assert_int_equal(bp_cosign__signature_decode(b64, &der, &len), 0);
	assert_int_equal(bp_cosign__verify(pub, cosign_payload, strlen(cosign_payload), der, len),
			 1);
	free(der);
	free(b64);
	/* annotations that are not base64, or not DER */
	for (i = 0; i < sizeof(bad_b64) / sizeof(bad_b64[0]); i++) {
		int err = bp_cosign__signature_decode(bad_b64[i], &der, &len);

		assert_int_equal(err, BP_EPROTO);
		assert_null(der);
	}
	assert_int_equal(bp_cosign__signature_decode("MAMCAQ==", &der, &len), BP_EPROTO);
	assert_string_equal(bp_error_last(), "signature is not a DER ECDSA signature");
	/* DER, and a byte after it */
	der = bp_base64_decode(fixture_sig, &len);
	assert_non_null(der);
	der = realloc(der, len + 1);
	der[len] = 0;
	bad = bp_base64_encode(der, len + 1);
	free(der);
	assert_int_equal(bp_cosign__signature_decode(bad, &der, &len), BP_EPROTO);
	assert_string_equal(bp_error_last(), "signature is not a DER ECDSA signature");
	free(bad);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_bytes),  cmocka_unit_test(test_payload_parse),
		cmocka_unit_test(test_manifest_parse), cmocka_unit_test(test_manifest_write),
		cmocka_unit_test(test_key_refused),    cmocka_unit_test(test_key_read),
		cmocka_unit_test(test_signatures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
