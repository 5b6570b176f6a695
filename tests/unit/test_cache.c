/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/bp-cache-XXXXXX");
	assert_non_null(mkdtemp(dir));
	setenv("XDG_CACHE_HOME", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void write_file(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/beampush", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/beampush/blobs", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_round_trip(void **state)
{
	bp_cache *c;
	char d[BP_DIGEST_MAX];
	int64_t size = 0;
	struct stat st;
	char path[128];

	assert_int_equal(bp_cache__open(&c), 0);
	assert_int_equal(bp_cache__compressed(c, "reg:5000", D1, d, &size), BP_ENOTFOUND);
	assert_int_equal(bp_cache__add_compressed(c, "reg:5000", D1, D2, 1234), 0);
	assert_int_equal(bp_cache__save(c), 0);
	bp_cache__free(c);

	snprintf(path, sizeof(path), "%s/beampush", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	assert_int_equal(bp_cache__open(&c), 0);
	assert_int_equal(bp_cache__compressed(c, "reg:5000", D1, d, &size), 0);
	assert_string_equal(d, D2);
	assert_int_equal(size, 1234);
	/* per registry */
	assert_int_equal(bp_cache__compressed(c, "other:5000", D1, d, &size), BP_ENOTFOUND);
	bp_cache__free(c);
}

/* Two processes that add at once both keep what they added. */
static void test_merge(void **state)
{
	bp_cache *a, *b, *c;
	char d[BP_DIGEST_MAX];
	int64_t size;

	assert_int_equal(bp_cache__open(&a), 0);
	assert_int_equal(bp_cache__open(&b), 0);
	assert_int_equal(bp_cache__add_compressed(a, "r", D1, D2, 1), 0);
	assert_int_equal(bp_cache__add_compressed(b, "r", D2, D3, 2), 0);
	assert_int_equal(bp_cache__save(a), 0);
	assert_int_equal(bp_cache__save(b), 0);
	assert_int_equal(bp_cache__open(&c), 0);
	assert_int_equal(bp_cache__compressed(c, "r", D1, d, &size), 0);
	assert_string_equal(d, D2);
	assert_int_equal(bp_cache__compressed(c, "r", D2, d, &size), 0);
	assert_string_equal(d, D3);
	bp_cache__free(a);
	bp_cache__free(b);
	bp_cache__free(c);
}

static int collect(const char *repo, void *payload)
{
	char *buf = payload;

	strncat(buf, repo, 200);
	strncat(buf, ",", 2);
	return 0;
}

static void test_repos(void **state)
{
	bp_cache *c;
	char got[256] = "";

	assert_int_equal(bp_cache__open(&c), 0);
	assert_int_equal(bp_cache__add_repo(c, "r", D1, "beam/java"), 0);
	assert_int_equal(bp_cache__add_repo(c, "r", D1, "beam/go"), 0);
	assert_int_equal(bp_cache__add_repo(c, "r", D1, "beam/python"), 0);
	assert_int_equal(bp_cache__add_repo(c, "other", D1, "x/y"), 0);
	/* again: moves to the newest place, not a duplicate */
	assert_int_equal(bp_cache__add_repo(c, "r", D1, "beam/java"), 0);
	bp_cache__repos(c, "r", D1, "beam/python", collect, got);
	assert_string_equal(got, "beam/java,beam/go,");
	assert_int_equal(bp_cache__add_repo(c, "bad registry", D1, "a"), BP_EINVAL);
	assert_int_equal(bp_cache__add_repo(c, "r", "sha256:12", "a"), BP_EINVAL);
	bp_cache__free(c);
}

/* A damaged file costs nothing but the damaged lines. */
static const char *const damaged[] = {
	"C r " D1 " " D2 " 10\n",                 /* kept */
	"C r " D2 " " D3 "\n",                     /* no size */
	"C r " D2 " sha256:zz 5\n",                /* bad digest */
	"C r " D3 " " D1 " -5\n",                  /* negative size */
	"X r " D1 " " D2 " 1\n",                   /* unknown kind */
	"R r " D1 " beam/python extra\n",          /* too many fields */
	"R r " D1 " beam/go\n",                    /* kept */
	"C r " D3 " " D1 " 7",                     /* cut: no newline */
};

static void test_damaged(void **state)
{
	char text[2048] = "", got[128] = "", d[BP_DIGEST_MAX];
	bp_cache *c;
	int64_t size;
	size_t i;

	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++)
		strncat(text, damaged[i], sizeof(text) - strlen(text) - 1);
	write_file(text);
	assert_int_equal(bp_cache__open(&c), 0);
	assert_int_equal(bp_cache__compressed(c, "r", D1, d, &size), 0);
	assert_int_equal(size, 10);
	assert_int_equal(bp_cache__compressed(c, "r", D2, d, &size), BP_ENOTFOUND);
	assert_int_equal(bp_cache__compressed(c, "r", D3, d, &size), BP_ENOTFOUND);
	bp_cache__repos(c, "r", D1, NULL, collect, got);
	assert_string_equal(got, "beam/go,");
	bp_cache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repos, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
