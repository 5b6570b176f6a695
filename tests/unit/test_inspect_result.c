/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What bp_inspect() hands over: the fields of the data result for configs
 * of every shape (a row per config), an index shown whole or picked from,
 * and the JSON form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "inspect_result.h"
#include "util/dynbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define DA D("aa")
#define DB D("bb")
#define DC D("cc")
#define DI D("11")
#define DM D("22")

static const char image_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DA
	"\",\"size\":100},\"layers\":["
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DB
	"\",\"size\":2000},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DC
	"\",\"size\":30000}]}";

static const char index_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	"\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DM
	"\",\"size\":500,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\","
	"\"variant\":\"v8\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DB
	"\",\"size\":7}]}";

struct row {
	const char *config;
	const char *os, *arch, *variant, *created, *workdir; /* NULL: none */
	/* items joined with '|', an item that is not a string as '#'; "": none */
	const char *entrypoint, *cmd, *env, *labels;
	const char *json_has; /* in the JSON form */
};

/* clang-format off */
static const struct row rows[] = {
	{ "{\"os\":\"linux\",\"architecture\":\"amd64\",\"created\":\"2023-01-01T00:00:00Z\","
	  "\"config\":{\"Entrypoint\":[\"/boot\"],\"Cmd\":[\"a\",\"b\"],\"Env\":[\"A=1\",\"B=2\"],"
	  "\"WorkingDir\":\"/w\",\"Labels\":{\"k\":\"v\",\"k2\":\"v2\"}}}",
	  "linux", "amd64", NULL, "2023-01-01T00:00:00Z", "/w",
	  "/boot", "a|b", "A=1|B=2", "k=v|k2=v2", "\"Entrypoint\":\t[\"/boot\"]" },
	/* values of other JSON types: NULL in the result, as they are in the JSON */
	{ "{\"os\":1,\"architecture\":\"arm64\",\"variant\":\"\",\"created\":5,"
	  "\"config\":{\"Entrypoint\":[\"ok\",3,null,{}],\"Cmd\":\"sh\",\"Env\":[],"
	  "\"WorkingDir\":7,\"Labels\":{\"a\":1,\"b\":\"c\"}}}",
	  NULL, "arm64", "", NULL, NULL,
	  "ok|#|#|#", "", "", "a=#|b=c", "\"Created\":\t5" },
	{ "{\"config\":null,\"Labels\":{\"x\":\"y\"}}",
	  NULL, NULL, NULL, NULL, NULL, "", "", "", "", "\"Size\":\t32100" },
	{ "{\"config\":{\"Labels\":[\"x\"],\"Env\":{\"A\":\"1\"}}}",
	  NULL, NULL, NULL, NULL, NULL, "", "", "", "", "\"Labels\":\t[\"x\"]" },
	{ "{}", NULL, NULL, NULL, NULL, NULL, "", "", "", "", "\"MediaType\":" },
	/* control characters stay as sent: the renderer makes them harmless */
	{ "{\"os\":\"li\\u001bnux\",\"config\":{\"Env\":[\"E=\\u0007\"],\"Labels\":{\"\\n\":\"\"}}}",
	  "li\033nux", NULL, NULL, NULL, NULL, "", "", "E=\007", "\n=", "\\u001b" },
};
/* clang-format on */

/* The items joined as the rows write them. */
static void join(char *buf, size_t size, const char *const *items, size_t n)
{
	bp_dynbuf b = BP_DYNBUF_INIT(size - 1);
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(
			bp_dynbuf_printf(&b, "%s%s", i ? "|" : "", items[i] ? items[i] : "#"), 0);
	snprintf(buf, size, "%s", b.ptr ? b.ptr : "");
	bp_dynbuf_release(&b);
}

static void assert_opt_string(const char *got, const char *want, size_t row)
{
	if (!want && got)
		fail_msg("row %zu: want NULL, got \"%s\"", row, got);
	if (want && (!got || strcmp(got, want) != 0))
		fail_msg("row %zu: want \"%s\", got \"%s\"", row, want, got ? got : "(null)");
}

static bp_manifest *parse(const char *json)
{
	bp_manifest *m = NULL;

	assert_int_equal(bp_manifest_parse(&m, json, strlen(json), NULL), 0);
	return m;
}

static bp_reference *ref_of(const char *s)
{
	bp_reference *ref = NULL;

	assert_int_equal(bp_reference_parse(&ref, s), 0);
	return ref;
}

static void test_image_rows(void **state)
{
	bp_reference *ref = ref_of("registry.example/beam/python:2.5");
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		bp_inspect_result *r = NULL;
		bp_manifest *m = parse(image_manifest);
		cJSON *config = cJSON_Parse(w->config);
		char buf[256], labels[256] = "", *json = NULL;
		size_t k, len;

		assert_non_null(config);
		assert_int_equal(bp_inspect__result_new(&r, ref), 0);
		assert_int_equal(bp_inspect__result_take_summary(r, m, DM, m, DM, config), 0);
		assert_string_equal(r->name, "registry.example/beam/python");
		assert_string_equal(r->tag, "2.5");
		assert_null(r->bytes);
		assert_int_equal(r->is_index, 0);
		assert_string_equal(r->digest, DM);
		assert_null(r->index_digest);
		assert_string_equal(r->media_type, "application/vnd.oci.image.manifest.v1+json");
		assert_string_equal(r->config->digest, DA);
		assert_int_equal(r->nlayers, 2);
		assert_string_equal(r->layers[1].digest, DC);
		assert_int_equal(r->size, 100 + 2000 + 30000);
		assert_opt_string(r->os, w->os, i);
		assert_opt_string(r->architecture, w->arch, i);
		assert_opt_string(r->variant, w->variant, i);
		assert_opt_string(r->created, w->created, i);
		assert_opt_string(r->working_dir, w->workdir, i);
		join(buf, sizeof(buf), r->entrypoint, r->nentrypoint);
		assert_string_equal(buf, w->entrypoint);
		join(buf, sizeof(buf), r->cmd, r->ncmd);
		assert_string_equal(buf, w->cmd);
		join(buf, sizeof(buf), r->env, r->nenv);
		assert_string_equal(buf, w->env);
		for (k = 0; k < r->nlabels; k++)
			snprintf(labels + strlen(labels), sizeof(labels) - strlen(labels),
				 "%s%s=%s", k ? "|" : "", r->labels[k].key,
				 r->labels[k].value ? r->labels[k].value : "#");
		assert_string_equal(labels, w->labels);
		assert_int_equal(bp_inspect_result_json(r, &json, &len), 0);
		assert_int_equal(strlen(json), len);
		assert_int_equal(json[len - 1], '\n');
		if (!strstr(json, w->json_has))
			fail_msg("row %zu: JSON lacks %s:\n%s", i, w->json_has, json);
		assert_non_null(strstr(json, "\"Name\":\t\"registry.example/beam/python\""));
		assert_null(strstr(json, "\"Index\""));
		free(json);
		bp_inspect_result_free(r);
	}
	bp_reference_free(ref);
}

static void test_index_whole_and_picked(void **state)
{
	bp_reference *ref = ref_of("registry.example/beam/python@" DI);
	bp_inspect_result *r = NULL;
	char *json = NULL;
	size_t len;

	assert_int_equal(bp_inspect__result_new(&r, ref), 0);
	assert_int_equal(
		bp_inspect__result_take_summary(r, parse(index_manifest), DI, NULL, NULL, NULL), 0);
	assert_null(r->tag);
	assert_int_equal(r->is_index, 1);
	assert_string_equal(r->digest, DI);
	assert_string_equal(r->media_type, "application/vnd.oci.image.index.v1+json");
	assert_int_equal(r->nmanifests, 2);
	assert_string_equal(r->manifests[0].os, "linux");
	assert_string_equal(r->manifests[0].variant, "v8");
	assert_null(r->manifests[1].os);
	assert_int_equal(r->manifests[1].size, 7);
	assert_int_equal(r->nlayers, 0);
	assert_null(r->config);
	assert_int_equal(bp_inspect_result_json(r, &json, &len), 0);
	assert_non_null(strstr(json, "\"Manifests\":"));
	assert_non_null(strstr(json, "\"variant\":\t\"v8\""));
	assert_null(strstr(json, "\"Tag\""));
	free(json);
	bp_inspect_result_free(r);

	assert_int_equal(bp_inspect__result_new(&r, ref), 0);
	assert_int_equal(bp_inspect__result_take_summary(r, parse(index_manifest), DI,
							 parse(image_manifest), DM,
							 cJSON_Parse("{\"os\":\"linux\"}")),
			 0);
	assert_int_equal(r->is_index, 0);
	assert_string_equal(r->digest, DM);
	assert_string_equal(r->index_digest, DI);
	assert_int_equal(r->nmanifests, 0);
	assert_int_equal(bp_inspect_result_json(r, &json, &len), 0);
	assert_non_null(strstr(json, "\"Index\":\t\"" DI "\""));
	free(json);
	bp_inspect_result_free(r);
	bp_reference_free(ref);
}

static void test_bytes_have_no_json(void **state)
{
	bp_reference *ref = ref_of("registry.example/beam/python");
	bp_inspect_result *r = NULL;
	char *json = (char *)"x";
	size_t len = 1;

	assert_int_equal(bp_inspect__result_new(&r, ref), 0);
	bp_inspect__result_take_bytes(r, strdup("{}"), 2);
	assert_string_equal(r->bytes, "{}");
	assert_int_equal(r->len, 2);
	assert_int_equal(bp_inspect_result_json(r, &json, &len), BP_EINVAL);
	assert_null(json);
	assert_int_equal(len, 0);
	bp_inspect_result_free(r);
	bp_inspect_result_free(NULL);
	bp_reference_free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_rows),
		cmocka_unit_test(test_index_whole_and_picked),
		cmocka_unit_test(test_bytes_have_no_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
