/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/dynbuf.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[] = "/tmp/bp-test-fileutil-XXXXXX";

/* The names in base, sorted, joined by ' '. */
static char *listing(void)
{
	struct dirent **names;
	bp_dynbuf b = BP_DYNBUF_INIT(4096);
	int n, i;

	n = scandir(base, &names, NULL, alphasort);
	assert_true(n >= 0);
	assert_int_equal(bp_dynbuf_adds(&b, ""), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
			assert_int_equal(
				bp_dynbuf_printf(&b, "%s%s", b.len ? " " : "", names[i]->d_name),
				0);
		free(names[i]);
	}
	free(names);
	return bp_dynbuf_detach(&b, NULL);
}

static char *contents(const char *path)
{
	char *data = NULL;
	size_t len;

	if (bp_read_file(path, 1024, &data, &len) < 0)
		return NULL;
	return data;
}

/*
 * A bp_tmpfile: what is at the target and in its directory after each way
 * of ending it (commit, release without commit), with or without an old
 * file there.
 */
static const struct {
	const char *old;  /* the target's bytes before, NULL: none */
	int commit;	  /* 1: commit, 0: release only */
	const char *want; /* the target's bytes after, NULL: none */
} rows[] = {
	{ NULL, 1, "new" },
	{ "old", 1, "new" },
	{ NULL, 0, NULL },
	{ "old", 0, "old" },
};

static void test_tmpfile(void **state)
{
	char *target = bp_aprintf("%s/out.tar", base), *got, *names;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bp_tmpfile t = BP_TMPFILE_INIT;
		struct stat st;

		unlink(target);
		if (rows[i].old)
			assert_int_equal(bp_write_file_atomic(target, rows[i].old, 3, 0644), 0);
		assert_int_equal(bp_tmpfile_open(&t, target, 0640), 0);
		assert_int_equal(fstat(t.fd, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0640);
		/* the temporary file is beside the target, hidden */
		assert_non_null(strstr(t.tmp, "/.out.tar.tmp-"));
		assert_int_equal(bp_write_all(t.fd, "new", 3), 0);
		if (rows[i].commit)
			assert_int_equal(bp_tmpfile_commit(&t), 0);
		bp_tmpfile_release(&t);
		bp_tmpfile_release(&t); /* twice is harmless */
		got = contents(target);
		if (!rows[i].want && got)
			fail_msg("row %zu: %s holds \"%s\", want nothing", i, target, got);
		if (rows[i].want && (!got || strcmp(got, rows[i].want) != 0))
			fail_msg("row %zu: %s holds \"%s\", want \"%s\"", i, target,
				 got ? got : "(nothing)", rows[i].want);
		free(got);
		/* nothing but the target is left */
		names = listing();
		assert_string_equal(names, rows[i].want ? "out.tar" : "");
		free(names);
	}
	unlink(target);
	free(target);
}

static void test_tmpfile_missing_dir(void **state)
{
	char *target = bp_aprintf("%s/nodir/out.tar", base), *dir = bp_aprintf("%s/nodir", base);
	bp_tmpfile t = BP_TMPFILE_INIT;

	(void)state;
	assert_int_equal(bp_tmpfile_open(&t, target, 0644), -1);
	assert_int_equal(errno, ENOENT);
	/* the directory is named, for the message */
	assert_string_equal(t.dir, dir);
	assert_null(t.tmp);
	assert_int_equal(t.fd, -1);
	bp_tmpfile_release(&t);
	free(target);
	free(dir);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tmpfile),
		cmocka_unit_test(test_tmpfile_missing_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
