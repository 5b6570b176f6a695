/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define BASE "http://127.0.0.1:5000/v2/beam/python/tags/list"

/* Link headers of tag pages: the next page each gives (NULL: none), or -1. */
static const struct {
	const char *link;
	int rc;
	const char *next;
} rows[] = {
	{ "</v2/beam/python/tags/list?last=v1&n=2>; rel=\"next\"", 1,
	  "http://127.0.0.1:5000/v2/beam/python/tags/list?last=v1&n=2" },
	{ "<http://127.0.0.1:5000/v2/beam/python/tags/list?last=a>; rel=\"next\"", 1,
	  "http://127.0.0.1:5000/v2/beam/python/tags/list?last=a" },
	{ "<https://other.example/v2/x/tags/list?last=a>; rel=\"next\"", 1,
	  "https://other.example/v2/x/tags/list?last=a" },
	{ "<list?last=b>; rel=next", 1, "http://127.0.0.1:5000/v2/beam/python/tags/list?last=b" },
	{ "</v2/p?last=a>; rel=\"prev\", </v2/n?last=z>; rel=\"next\"", 1,
	  "http://127.0.0.1:5000/v2/n?last=z" },
	{ "</v2/n?last=z>; REL=\"next\"; title=\"more\", </v2/p>; rel=\"prev\"", 1,
	  "http://127.0.0.1:5000/v2/n?last=z" },
	{ "</v2/p?last=a>; rel=\"prev\"", 0, NULL },
	{ "</v2/p?last=a>; rel=\"nextish\"", 0, NULL },
	{ "rel=\"next\"", 0, NULL },
	{ "</v2/p?last=a; rel=\"next\"", 0, NULL },
	{ "", 0, NULL },
};

static void test_link_next_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *out = (char *)"unset";
		int rc = bp_registry__link_next(BASE, rows[i].link, &out);

		if (rc != rows[i].rc)
			fail_msg("row %zu (%s): rc %d, want %d", i, rows[i].link, rc, rows[i].rc);
		if (rows[i].next)
			assert_string_equal(out, rows[i].next);
		else
			assert_null(out);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_next_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
