/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "v1id.h"

#include <stdlib.h>
#include <string.h>

/*
 * The three directories of an export by dockerd 20.10 of an image of
 * three layers (FROM scratch, COPY, COPY; then a child's COPY), as `docker
 * save` wrote them, with the image's diff_ids.
 */
static char *const diff_ids[] = {
	"sha256:9f2181a20f12e7aa240b03ef671eaf08e291d5eaceb1231bbb9c139be8c9b222",
	"sha256:df1c99598c6dfc57100b2769a2dabe9738adff5b39c824c34962f9e661c1564c",
	"sha256:830856043bf8f4d0aaad56511080c119d43bef247daa845f35e7d24f1ef38a4b",
};

#define BASE_ID "b086b7dc3a9d320daa5118462bb2dc12126159dfbbde9f1d973eb8224a1a2bc3"
#define BASE_JSON                                                                                  \
	"{\"id\":\"b086b7dc3a9d320daa5118462bb2dc12126159dfbbde9f1d973eb8224a1a2bc3\",\"created\"" \
	":\"1970-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"" \
	"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":" \
	"false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\","  \
	"\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":nul" \
	"l},\"os\":\"linux\"}"

#define MIDDLE_ID "f00624f136b67e4f4a3a79d301c2d4b1747daea06f95330d92df1b9b09146c6c"
#define MIDDLE_JSON                                                                                \
	"{\"id\":\"f00624f136b67e4f4a3a79d301c2d4b1747daea06f95330d92df1b9b09146c6c\",\"parent\":" \
	"\"b086b7dc3a9d320daa5118462bb2dc12126159dfbbde9f1d973eb8224a1a2bc3\",\"created\":\"1970-" \
	"01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":"  \
	"\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,"  \
	"\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volum" \
	"es\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"os" \
	"\":\"linux\"}"

#define TOP_ID "40af71e3f2eb7e6f0b151ee045c44d89de6cc60bd156a476d4a9cf909b381948"
#define TOP_JSON                                                                                   \
	"{\"id\":\"40af71e3f2eb7e6f0b151ee045c44d89de6cc60bd156a476d4a9cf909b381948\",\"parent\":" \
	"\"f00624f136b67e4f4a3a79d301c2d4b1747daea06f95330d92df1b9b09146c6c\",\"created\":\"2026-" \
	"12-03T16:04:08.001087265Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\"," \
	"\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty"  \
	"\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/lo" \
	"cal/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) COPY dir:1" \
	"8763abd7c42ebdce6b754f89d492e732e5d135742d2f09896e95b35ca7ae53f in /b \"],\"Image\":\"sh" \
	"a256:bd6971a43388e07d331074a2d9f251bafdf6f60e48b8ba2813509f2ab5b80d91\",\"Volumes\":null" \
	",\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"docker_vers" \
	"ion\":\"20.10.24+dfsg1\",\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\"" \
	",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"Ope" \
	"nStdin\":false,\"StdinOnce\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/s" \
	"bin:/usr/bin:/sbin:/bin\"],\"Cmd\":null,\"Image\":\"sha256:bd6971a43388e07d331074a2d9f25" \
	"1bafdf6f60e48b8ba2813509f2ab5b80d91\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint"  \
	"\":null,\"OnBuild\":null,\"Labels\":null},\"architecture\":\"amd64\",\"os\":\"linux\"}"

/* The same base layer's json with one byte of a value changed. */
#define BASE_CHANGED_JSON \
	"{\"id\":\"" BASE_ID "\",\"created\":\"1970-01-01T00:00:01Z\",\"os\":\"linux\"}"

static const struct {
	const char *id;
	const char *json;
	size_t nlayers; /* of the image's, base first */
	long want;
} rows[] = {
	{ BASE_ID, BASE_JSON, 3, 0 },
	{ MIDDLE_ID, MIDDLE_JSON, 3, 1 },
	{ TOP_ID, TOP_JSON, 3, 2 },
	/* the parent image: the same base, and the middle layer as its top has another ID */
	{ BASE_ID, BASE_JSON, 2, 0 },
	{ MIDDLE_ID, MIDDLE_JSON, 2, 1 },
	{ TOP_ID, TOP_JSON, 2, -1 },
	{ BASE_ID, BASE_JSON, 0, -1 },
	/* a json that is not the one of its directory */
	{ MIDDLE_ID, BASE_JSON, 3, -1 },
	{ BASE_ID, BASE_CHANGED_JSON, 3, -1 },
	{ "b086b7dc", BASE_JSON, 3, -1 },
	/* not json docker wrote */
	{ BASE_ID, "", 3, -1 },
	{ BASE_ID, "[]", 3, -1 },
	{ BASE_ID, "{}", 3, -1 },
	{ BASE_ID, "{\"id\":", 3, -1 },
	{ BASE_ID, "{\"id\":\"x}", 3, -1 },
	{ BASE_ID, "{\"a\":{\"b\":[1,2}", 3, -1 },
	{ BASE_ID, "{\"parent\":\"abc\"}", 3, -1 },
	{ BASE_ID, "{\"a\":1 \"b\":2}", 3, -1 },
};

static void test_layer(void **state)
{
	char chain[3][BP_DIGEST_MAX];
	size_t i;

	(void)state;
	assert_int_equal(bp_v1id__chain_ids(diff_ids, 3, chain), 0);
	assert_string_equal(chain[0], diff_ids[0]);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long got = bp_v1id__layer(rows[i].id, rows[i].json, strlen(rows[i].json),
					  (const char(*)[BP_DIGEST_MAX])chain, rows[i].nlayers);

		if (got != rows[i].want)
			fail_msg("row %zu: layer %ld, want %ld", i, got, rows[i].want);
	}
}

/* Every prefix of a json is refused, never read beyond. */
static void test_truncated(void **state)
{
	char chain[3][BP_DIGEST_MAX];
	size_t n, len = strlen(TOP_JSON);

	(void)state;
	assert_int_equal(bp_v1id__chain_ids(diff_ids, 3, chain), 0);
	for (n = 0; n < len; n++) {
		/* exactly n bytes on the heap: a read past them is the sanitizer's to see */
		char *p = malloc(n ? n : 1);

		assert_non_null(p);
		memcpy(p, TOP_JSON, n);
		assert_int_equal(
			bp_v1id__layer(TOP_ID, p, n, (const char(*)[BP_DIGEST_MAX])chain, 3), -1);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layer),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
