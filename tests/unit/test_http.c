/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http.h"

/* Location resolution (RFC 3986) as registries send them. */
static const struct {
	const char *base;
	const char *ref;
	const char *want; /* NULL: refused */
} resolve_rows[] = {
	{ "http://127.0.0.1:5000/v2/beam/python/blobs/uploads/",
	  "/v2/beam/python/blobs/uploads/abc?_state=xyz",
	  "http://127.0.0.1:5000/v2/beam/python/blobs/uploads/abc?_state=xyz" },
	{ "https://r.example/v2/a/blobs/uploads/",
	  "https://r.example/v2/a/blobs/uploads/u1?_state=s%2Bt%3D",
	  "https://r.example/v2/a/blobs/uploads/u1?_state=s%2Bt%3D" },
	{ "https://r.example/v2/a/blobs/uploads/", "u2", "https://r.example/v2/a/blobs/uploads/u2" },
	{ "https://r.example/v2/a/blobs/uploads/", "//other.example/up/1",
	  "https://other.example/up/1" },
	{ "https://r.example:443/v2/a/blobs/uploads/", "https://storage.example/x?sig=1&t=2",
	  "https://storage.example/x?sig=1&t=2" },
	{ "http://[::1]:5000/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u",
	  "http://[::1]:5000/v2/a/blobs/uploads/u" },
	{ "https://r.example/v2/a/tags/list", "/v2/a/tags/list?last=b&n=2",
	  "https://r.example/v2/a/tags/list?last=b&n=2" },
	{ "https://r.example/v2/", "ftp://r.example/file", NULL },
	{ "https://r.example/v2/", "file:///etc/passwd", NULL },
	{ "https://r.example/v2/", "", "https://r.example/v2/" },
	{ "https://r.example/v2/", "http://", NULL },
};

static void test_resolve(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(resolve_rows) / sizeof(resolve_rows[0]); i++) {
		char *got = bp_http__resolve(resolve_rows[i].base, resolve_rows[i].ref);

		if (resolve_rows[i].want) {
			assert_non_null(got);
			assert_string_equal(got, resolve_rows[i].want);
		} else {
			assert_null(got);
		}
		free(got);
	}
}

/* Origins decide where a credential may go. */
static const struct {
	const char *url;
	const char *want;
} origin_rows[] = {
	{ "https://Registry.Example/v2/", "https://registry.example:443" },
	{ "https://registry.example:443/v2/x", "https://registry.example:443" },
	{ "http://registry.example/v2/", "http://registry.example:80" },
	{ "http://127.0.0.1:5000/v2/a?b=c", "http://127.0.0.1:5000" },
	{ "http://[::1]:5000/v2/", "http://[::1]:5000" },
	{ "/v2/relative", NULL },
	{ "not a url", NULL },
};

static void test_origin(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(origin_rows) / sizeof(origin_rows[0]); i++) {
		char *got = bp_http__origin(origin_rows[i].url);

		if (origin_rows[i].want) {
			assert_non_null(got);
			assert_string_equal(got, origin_rows[i].want);
		} else {
			assert_null(got);
		}
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_origin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
