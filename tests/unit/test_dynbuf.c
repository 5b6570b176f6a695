/* SPDX-License-Identifier: Apache-2.0 */
/* bp_dynbuf_add_printable: text from a registry, made safe for a terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/dynbuf.h"

#include <string.h>

static const struct {
	const char *in; /* NULL: adds nothing */
	const char *out;
} rows[] = {
	{ "linux/amd64", "linux/amd64" },
	{ "", "" },
	{ NULL, "" },
	{ "\033[31mred\033[0m", "?[31mred?[0m" },
	{ "a\nb\tc\rd", "a?b?c?d" },
	{ "\001\037 ~\177", "?? ~?" },
	{ "caf\303\251 \342\202\254", "caf\303\251 \342\202\254" }, /* UTF-8 stays */
};

static void test_printable_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bp_dynbuf b = BP_DYNBUF_INIT(64);

		assert_int_equal(bp_dynbuf_adds(&b, ">"), 0);
		assert_int_equal(bp_dynbuf_add_printable(&b, rows[i].in), 0);
		assert_string_equal(b.ptr + 1, rows[i].out);
		assert_int_equal(b.len, 1 + strlen(rows[i].out));
		bp_dynbuf_release(&b);
	}
}

/* Over the cap nothing of the string is added, and what was there stays. */
static void test_printable_cap(void **state)
{
	bp_dynbuf b = BP_DYNBUF_INIT(8);

	assert_int_equal(bp_dynbuf_add_printable(&b, "\033abc"), 0);
	assert_int_equal(bp_dynbuf_add_printable(&b, "\033defgh"), -1);
	assert_string_equal(b.ptr, "?abc");
	assert_int_equal(b.len, 4);
	bp_dynbuf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable_table),
		cmocka_unit_test(test_printable_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
