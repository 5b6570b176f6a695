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

/* tags/list answers: the tags handed over, joined by ',', or rc -1 for not a list. */
static const struct {
	const char *body;
	int rc;
	const char *tags;
} tag_rows[] = {
	{ "{\"name\":\"beam/python\",\"tags\":[\"2.55.0\",\"latest\"]}", 0, "2.55.0,latest" },
	{ "{\"name\":\"beam/python\",\"tags\":null}", 0, "" },
	{ "{\"name\":\"beam/python\"}", 0, "" },
	{ "{\"tags\":[]}", 0, "" },
	{ "{\"tags\":[\"a\",1,null,{\"x\":1},\"b\"]}", 0, "a,b" },
	{ "{\"tags\":[\"a\",\"stop\",\"c\"]}", 1, "a,stop" },
	{ "{\"tags\":\"latest\"}", -1, "" },
	{ "{\"tags\":{\"0\":\"latest\"}}", -1, "" },
	{ "[\"latest\"]", -1, "" },
	{ "{\"tags\":[\"a\"]", -1, "" },
	{ "", -1, "" },
	{ "<html>nope</html>", -1, "" },
};

static int collect(const char *tag, void *payload)
{
	char *out = payload;

	if (*out)
		strcat(out, ",");
	strcat(out, tag);
	return strcmp(tag, "stop") == 0;
}

static void test_parse_tags_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(tag_rows) / sizeof(tag_rows[0]); i++) {
		char out[256] = "";
		int rc = bp_registry__parse_tags(tag_rows[i].body, strlen(tag_rows[i].body), collect,
						 out);

		if (rc != tag_rows[i].rc)
			fail_msg("row %zu (%s): rc %d, want %d", i, tag_rows[i].body, rc,
				 tag_rows[i].rc);
		if (strcmp(out, tag_rows[i].tags) != 0)
			fail_msg("row %zu (%s): tags \"%s\", want \"%s\"", i, tag_rows[i].body, out,
				 tag_rows[i].tags);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_next_table),
		cmocka_unit_test(test_parse_tags_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
