/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public options structs: their _INIT macros, their _init() functions
 * and the version check of the functions that take them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/client.h>
#include <beampush/inspect.h>
#include <beampush/reference.h>

#include <stdio.h>
#include <string.h>

/* A version and what the library makes of it. */
static const struct {
	unsigned int version;
	int want; /* 0 or BP_EINVAL */
} versions[] = {
	{ BP_CLIENT_OPTIONS_VERSION, 0 },
	{ 0, BP_EINVAL }, /* a struct zeroed by hand, or a positional initializer */
	{ BP_CLIENT_OPTIONS_VERSION + 1, BP_EINVAL },
	{ 0xffffffffu, BP_EINVAL },
};

#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

static void test_init_macro_defaults(void **state)
{
	bp_client_options o = BP_CLIENT_OPTIONS_INIT;

	assert_int_equal(o.version, BP_CLIENT_OPTIONS_VERSION);
	assert_int_equal(o.tls_verify, 1);
	assert_int_equal(o.retries, BP_RETRIES_DEFAULT);
	assert_null(o.insecure);
	assert_int_equal(o.ninsecure, 0);
	assert_int_equal(o.jobs, 0);
	assert_int_equal(o.chunk_size, 0);
	assert_int_equal(o.monolithic_max, 0);
	assert_null(o.platform);
	assert_int_equal(o.debug, 0);
	assert_null(o.on_event);
	assert_null(o.payload);
	assert_int_equal(o.compression_level, 0);
	assert_int_equal(o.all_platforms, 0);
}

static void test_options_init_table(void **state)
{
	const bp_client_options want = BP_CLIENT_OPTIONS_INIT;
	size_t i;

	for (i = 0; i < NVERSIONS; i++) {
		bp_client_options o;

		memset(&o, 0x5a, sizeof(o));
		bp_error_clear();
		assert_int_equal(bp_client_options_init(&o, versions[i].version), versions[i].want);
		if (versions[i].want) {
			unsigned char untouched[sizeof(o)];

			memset(untouched, 0x5a, sizeof(untouched));
			assert_memory_equal(&o, untouched, sizeof(o));
			assert_non_null(strstr(bp_error_last(), "bp_client_options version"));
			assert_non_null(strstr(bp_error_last(), "bp_client_options_init()"));
			continue;
		}
		assert_int_equal(o.version, want.version);
		assert_int_equal(o.tls_verify, want.tls_verify);
		assert_int_equal(o.retries, want.retries);
		assert_null(o.insecure);
		assert_null(o.platform);
		assert_null(o.on_event);
	}
}

static void test_client_new_checks_version(void **state)
{
	size_t i;

	for (i = 0; i < NVERSIONS; i++) {
		bp_client_options o = BP_CLIENT_OPTIONS_INIT;
		bp_client *c = (bp_client *)&o; /* must be reset to NULL on failure */
		char want[128];

		o.version = versions[i].version;
		bp_error_clear();
		assert_int_equal(bp_client_new(&c, &o), versions[i].want);
		if (!versions[i].want) {
			assert_non_null(c);
			bp_client_free(c);
			continue;
		}
		assert_null(c);
		snprintf(want, sizeof(want),
			 "bp_client_options version %u is not one this library "
			 "knows (%d)",
			 versions[i].version, BP_CLIENT_OPTIONS_VERSION);
		assert_non_null(strstr(bp_error_last(), want));
		assert_int_equal(bp_error_last_code(), BP_EINVAL);
	}
}

static void test_client_new_null_options(void **state)
{
	bp_client *c = NULL;

	assert_int_equal(bp_client_new(&c, NULL), 0);
	assert_non_null(c);
	bp_client_free(c);
	bp_client_free(NULL);
}

static void test_inspect_options(void **state)
{
	const bp_inspect_options want = BP_INSPECT_OPTIONS_INIT;
	bp_reference *ref = NULL;
	bp_client *c = NULL;
	size_t i;

	assert_int_equal(want.version, BP_INSPECT_OPTIONS_VERSION);
	assert_int_equal(want.format, BP_INSPECT_SUMMARY);
	assert_null(want.platform);
	assert_int_equal(bp_reference_parse(&ref, "127.0.0.1:1/beam/python:latest"), 0);
	assert_int_equal(bp_client_new(&c, NULL), 0);
	for (i = 0; i < NVERSIONS; i++) {
		/* the client version table serves: both structs are at version 1 */
		unsigned int v = versions[i].version;
		bp_inspect_options o;
		bp_inspect_result *res = (bp_inspect_result *)&o;

		memset(&o, 0x5a, sizeof(o));
		assert_int_equal(bp_inspect_options_init(&o, v), versions[i].want);
		if (!versions[i].want) {
			assert_int_equal(o.version, want.version);
			assert_int_equal(o.format, want.format);
			assert_null(o.platform);
			continue;
		}
		assert_non_null(strstr(bp_error_last(), "bp_inspect_options version"));
		/* refused before any connection is tried (nothing listens on port 1) */
		o = want;
		o.version = v;
		assert_int_equal(bp_inspect(c, ref, &o, &res), BP_EINVAL);
		assert_null(res);
		assert_non_null(strstr(bp_error_last(), "bp_inspect_options version"));
	}
	bp_client_free(c);
	bp_reference_free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_macro_defaults),
		cmocka_unit_test(test_options_init_table),
		cmocka_unit_test(test_client_new_checks_version),
		cmocka_unit_test(test_client_new_null_options),
		cmocka_unit_test(test_inspect_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
