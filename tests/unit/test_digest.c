/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/digest.h>

#include <stdlib.h>
#include <string.h>

#define HEX64_F "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define HEX64_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Known sha256 vectors (FIPS 180-2 examples and the empty string). */
static const struct {
	const char *input;
	const char *digest;
} vectors[] = {
	{ "", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "The quick brown fox jumps over the lazy dog",
	  "sha256:d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592" },
	{ "{}", "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" },
};

static void test_vectors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char out[BP_DIGEST_MAX];

		assert_int_equal(bp_digest_buf(out, vectors[i].input, strlen(vectors[i].input)), 0);
		assert_string_equal(out, vectors[i].digest);
		assert_int_equal(bp_digest_validate(out), 0);
	}
}

static void test_million_a(void **state)
{
	char out[BP_DIGEST_MAX];
	char chunk[1000];
	bp_hasher *h;
	int i;

	memset(chunk, 'a', sizeof(chunk));
	assert_int_equal(bp_hasher_new(&h), 0);
	for (i = 0; i < 1000; i++)
		bp_hasher_update(h, chunk, sizeof(chunk));
	assert_int_equal(bp_hasher_count(h), 1000000);
	assert_int_equal(bp_hasher_final(h, out), 0);
	assert_string_equal(
		out, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	bp_hasher_free(h);
}

/* Split points around the 64-byte block boundary and the ends. */
static const size_t splits[] = { 0, 1, 2, 55, 56, 63, 64, 65, 127, 128, 129, 500, 999, 1000 };

static void test_streaming_equals_oneshot(void **state)
{
	unsigned char buf[1000];
	char whole[BP_DIGEST_MAX];
	uint32_t x = 12345;
	size_t i;

	for (i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	assert_int_equal(bp_digest_buf(whole, buf, sizeof(buf)), 0);
	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		char part[BP_DIGEST_MAX];
		bp_hasher *h;

		assert_int_equal(bp_hasher_new(&h), 0);
		bp_hasher_update(h, buf, splits[i]);
		bp_hasher_update(h, buf + splits[i], sizeof(buf) - splits[i]);
		assert_int_equal(bp_hasher_count(h), sizeof(buf));
		assert_int_equal(bp_hasher_final(h, part), 0);
		assert_string_equal(part, whole);
		bp_hasher_free(h);
	}

	/* byte by byte */
	{
		char part[BP_DIGEST_MAX];
		bp_hasher *h;

		assert_int_equal(bp_hasher_new(&h), 0);
		for (i = 0; i < sizeof(buf); i++)
			bp_hasher_update(h, buf + i, 1);
		assert_int_equal(bp_hasher_final(h, part), 0);
		assert_string_equal(part, whole);
		bp_hasher_free(h);
	}
}

static void test_dup(void **state)
{
	char a[BP_DIGEST_MAX], b[BP_DIGEST_MAX], want[BP_DIGEST_MAX];
	bp_hasher *h, *c;

	assert_int_equal(bp_hasher_new(&h), 0);
	bp_hasher_update(h, "ab", 2);
	assert_int_equal(bp_hasher_dup(&c, h), 0);
	assert_int_equal(bp_hasher_count(c), 2);

	bp_hasher_update(h, "c", 1);
	bp_hasher_update(c, "d", 1);
	assert_int_equal(bp_hasher_final(h, a), 0);
	assert_int_equal(bp_hasher_final(c, b), 0);

	assert_int_equal(bp_digest_buf(want, "abc", 3), 0);
	assert_string_equal(a, want);
	assert_int_equal(bp_digest_buf(want, "abd", 3), 0);
	assert_string_equal(b, want);

	/* a finalised hasher cannot be copied */
	bp_hasher_free(c);
	assert_int_equal(bp_hasher_dup(&c, h), BP_EINVAL);
	assert_null(c);
	bp_hasher_free(h);
}

static void test_final_twice(void **state)
{
	char out[BP_DIGEST_MAX];
	bp_hasher *h;

	assert_int_equal(bp_hasher_new(&h), 0);
	bp_hasher_update(h, "abc", 3);
	assert_int_equal(bp_hasher_final(h, out), 0);
	/* updates after final are ignored, a second final is an error */
	bp_hasher_update(h, "more", 4);
	assert_int_equal(bp_hasher_count(h), 3);
	assert_int_equal(bp_hasher_final(h, out), BP_ERROR);
	assert_string_equal(out, "");
	bp_hasher_free(h);
	bp_hasher_free(NULL);
}

static const struct {
	const char *input;
	int code;
	const char *msg; /* substring of the message, or NULL */
} validate_rows[] = {
	{ "sha256:" HEX64_F, 0, NULL },
	{ "sha256:" HEX64_A, 0, NULL },
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, NULL },
	/* sha256 encodings that are wrong */
	{ "sha256:"
	  "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
	  BP_EINVAL, "lowercase hex" },
	{ "sha256:"
	  "Ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  BP_EINVAL, "found 'F'" },
	{ "sha256:" HEX64_F "f", BP_EINVAL, "got 65" },
	{ "sha256:"
	  "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  BP_EINVAL, "got 63" },
	{ "sha256:ffffffffffffffffffffffffffffffffff", BP_EINVAL, "got 34" },
	{ "sha256:", BP_EINVAL, "got 0" },
	{ "sha256:"
	  "gfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  BP_EINVAL, "found 'g'" },
	{ "sha256:" HEX64_F " ", BP_EINVAL, NULL },
	{ "sha256:" HEX64_F "\n", BP_EINVAL, NULL },
	/* malformed */
	{ "", BP_EINVAL, "empty digest" },
	{ HEX64_F, BP_EINVAL, "want algorithm:hex" },
	{ ":" HEX64_F, BP_EINVAL, "want algorithm:hex" },
	{ "SHA256:" HEX64_F, BP_EINVAL, "want algorithm:hex" },
	{ "sha-:" HEX64_F, BP_EINVAL, NULL },
	{ "-sha:" HEX64_F, BP_EINVAL, NULL },
	{ "sha256+:" HEX64_F, BP_EINVAL, NULL },
	{ "sha 256:" HEX64_F, BP_EINVAL, NULL },
	{ "sha512:", BP_EINVAL, "nothing after ':'" },
	{ "sha512:ab/cd", BP_EINVAL, "invalid character" },
	{ "sha512:ab:cd", BP_EINVAL, "invalid character" },
	{ "sha256" HEX64_F, BP_EINVAL, NULL },
	/* well-formed, other algorithms */
	{ "sha512:" HEX64_F HEX64_F, BP_EUNSUPPORTED, "\"sha512\"" },
	{ "sha384:" HEX64_F, BP_EUNSUPPORTED, "only sha256" },
	{ "blake3:" HEX64_F, BP_EUNSUPPORTED, "\"blake3\"" },
	{ "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", BP_EUNSUPPORTED,
	  "\"sha256+b64u\"" },
	{ "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", BP_EUNSUPPORTED,
	  NULL },
	{ "a.b_c-d:x=", BP_EUNSUPPORTED, NULL },
	{ "invaliddigest:" HEX64_F, BP_EUNSUPPORTED, NULL },
};

static void test_validate_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(validate_rows) / sizeof(validate_rows[0]); i++) {
		int r;

		bp_error_clear();
		r = bp_digest_validate(validate_rows[i].input);
		if (r != validate_rows[i].code)
			fail_msg("row %zu \"%s\": got %d (%s), want %d", i, validate_rows[i].input,
				 r, bp_error_last(), validate_rows[i].code);
		if (validate_rows[i].msg && !strstr(bp_error_last(), validate_rows[i].msg))
			fail_msg("row %zu \"%s\": message \"%s\" lacks \"%s\"", i,
				 validate_rows[i].input, bp_error_last(), validate_rows[i].msg);
	}
	assert_int_equal(bp_digest_validate(NULL), BP_EINVAL);
}

static void test_validate_message(void **state)
{
	assert_int_equal(bp_digest_validate("sha256:abc"), BP_EINVAL);
	assert_string_equal(bp_error_last(),
			    "invalid digest \"sha256:abc\": sha256 needs 64 hex digits, got 3");
	assert_int_equal(bp_digest_validate("sha512:" HEX64_F HEX64_F), BP_EUNSUPPORTED);
	assert_non_null(strstr(bp_error_last(), "unsupported digest algorithm \"sha512\""));
	assert_int_equal(bp_error_last_code(), BP_EUNSUPPORTED);
}

static void test_hex_and_equal(void **state)
{
	assert_string_equal(bp_digest_hex("sha256:" HEX64_F), HEX64_F);
	assert_string_equal(bp_digest_hex(HEX64_A), HEX64_A);
	assert_null(bp_digest_hex(NULL));

	assert_true(bp_digest_equal("sha256:" HEX64_F, "sha256:" HEX64_F));
	assert_false(bp_digest_equal("sha256:" HEX64_F, "sha256:" HEX64_A));
	assert_false(bp_digest_equal(NULL, "sha256:" HEX64_A));
	assert_false(bp_digest_equal("sha256:" HEX64_A, NULL));
	assert_false(bp_digest_equal(NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_streaming_equals_oneshot),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_final_twice),
		cmocka_unit_test(test_validate_table),
		cmocka_unit_test(test_validate_message),
		cmocka_unit_test(test_hex_and_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
