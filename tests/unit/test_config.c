/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define J BP_CONFIG_JSON
#define T BP_CONFIG_TOML

/*
 * Files that must be refused: the format, the text, and the message,
 * which starts with "NAME:LINE:" (NAME is "f" here).
 */
struct bad_row {
	bp_config_format fmt;
	const char *text;
	const char *msg; /* the start of the message */
};

static const struct bad_row bad_rows[] = {
	/* JSON syntax: the line where cJSON stopped */
	{ J, "{", "f:1: not valid JSON" },
	{ J, "{\n \"registries\": [\n  {\"prefix\": \"a.io\",}\n ]\n}\n", "f:3: not valid JSON" },
	{ J, "{\"registries\": []}\n\n}", "f:3: unexpected text after the JSON object" },
	{ J, "[]", "f:1: the file must hold a JSON object" },
	{ J, "{\"registry\": []}", "f:1: unknown key \"registry\"" },
	{ J, "{\"registries\": {}}", "f:1: \"registries\" must be an array" },
	/* JSON types and values: the line of the element */
	{ J, "{\"registries\": [\n  1\n]}", "f:2: registries[0] must be an object" },
	{ J, "{\"registries\": [\n {\"prefix\": \"a.io\"},\n\n {\"prefix\": 5}\n]}",
	  "f:4: registries[1].prefix must be a string" },
	{ J, "{\"registries\": [{\"prefix\": \"a.io\", \"insecure\": \"true\"}]}",
	  "f:1: registries[0].insecure must be true or false" },
	{ J, "{\"registries\": [{\"prefix\": \"a.io\", \"blocked\": 1}]}",
	  "f:1: registries[0].blocked must be true or false" },
	{ J, "{\"registries\": [{\"prefx\": \"a.io\"}]}",
	  "f:1: registries[0]: unknown key \"prefx\"" },
	{ J, "{\"registries\": [{\"insecure\": true}]}",
	  "f:1: a registry entry needs a prefix or a location" },
	{ J, "{\"registries\": [\n{\"prefix\": \"beam/python\", \"location\": \"a.io\"}]}",
	  "f:2: prefix \"beam/python\" is not a registry name" },
	{ J, "{\"registries\": [{\"prefix\": \"a.io\", \"location\": \"http://b.io\"}]}",
	  "f:1: location \"http://b.io\" is not a registry name" },
	{ J, "{\"registries\": [{\"prefix\": \"a.io/Beam\"}]}", "f:1: prefix \"a.io/Beam\"" },
	{ J, "{\"registries\": [{\"prefix\": \"a.io/beam:tag\"}]}",
	  "f:1: prefix \"a.io/beam:tag\"" },
	{ J, "{\"registries\": [{\"prefix\": \"a.io/beam@sha256:00\"}]}", "f:1: prefix" },
	{ J, "{\"registries\": [{\"prefix\": \"\"}]}", "f:1: prefix \"\" is not" },
	{ J, "{\"registries\": [\n{\"prefix\": \"a.io\"},\n{\"prefix\": \"a.io\"}]}",
	  "f:3: prefix \"a.io\" is defined already on line 2" },
	{ J, "{\"registries\": [{\"prefix\": \"*.a.io\", \"location\": \"b.io\"}]}",
	  "f:1: a wildcard prefix (\"*.a.io\") cannot have a location" },
	{ J, "{\"registries\": [{\"prefix\": \"*.a.io/beam\"}]}", "f:1: prefix \"*.a.io/beam\"" },
	{ J, "{\"registries\": [{\"prefix\": \"a.io\", \"prefix\": \"b.io\"}]}",
	  "f:1: registries[0].prefix must be a string, given once" },
	/* verify-key: an absolute path, in beampush's own file only */
	{ J, "{\"registries\": [{\"prefix\": \"a.io\", \"verify-key\": \"keys/a.pub\"}]}",
	  "f:1: registries[0].verify-key must be the absolute path of a public key" },
	{ J, "{\"registries\": [{\"prefix\": \"a.io\", \"verify-key\": true}]}",
	  "f:1: registries[0].verify-key must be the absolute path" },
	{ T, "[[registry]]\nprefix = \"a.io\"\nverify-key = \"/k.pub\"\n",
	  "f:3: unknown key \"verify-key\" in [[registry]]" },
	/* TOML syntax */
	{ T, "[[registry]]\nprefix = a.io\n", "f:2: invalid value" },
	{ T, "[[registry]\nprefix = \"a.io\"\n", "f:1: a table header wants ]]" },
	{ T, "[registry]\nprefix = \"a.io\"\n", "f:1: [registry] must be written [[registry]]" },
	{ T, "# c\n\n[[registry]]\nprefix = \"a.io\n", "f:4: unterminated string" },
	{ T, "[[registry]]\nprefix \"a.io\"\n", "f:2: expected '=' after the key \"prefix\"" },
	{ T, "[[registry]]\nprefix = \"a.io\" location = \"b.io\"\n", "f:2: unexpected 'l'" },
	{ T, "[[registry]]\nprefix =\n", "f:2: a value is missing" },
	{ T, "= \"a\"\n", "f:1: unexpected '='" },
	{ T, "[[registry]]\nprefix = \"a.io\"\rlocation = \"b.io\"\n",
	  "f:2: unexpected byte 0x0d where the line should end" },
	{ T, "\x01x = 1\n", "f:1: unexpected byte 0x01 where a key should be" },
	{ T, "x = [\"a\",\n \"b\"\n\n", "f:1: the array that starts here is not closed" },
	{ T, "x = [\"a\",\n \"b\"\n\n\"c\"]", "f:4: an array wants ',' or ']'" },
	{ T, "x = [\"a\",\n \"b\" \"c\"]\n", "f:2: an array wants ',' or ']'" },
	{ T, "x = { a = 1, b }\n", "f:1: expected '=' after the key \"b\"" },
	{ T, "x = \"\\q\"\n", "f:1: unknown escape \\q" },
	{ T, "x = \"\\u12\"\n", "f:1: \\u wants 4 hex digits" },
	{ T, "x = \"\\ud800\"\n", "f:1: escape \\u names no valid character" },
	{ T, "x = \"\"\"\nlong\n\"\"\"\n", "f:1: multi-line strings are not supported" },
	{ T, "x = \"a\tb\x01\"\n", "f:1: control character 0x01" },
	{ T, "x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  "f:1: values nested too deep" },
	{ T, "a\0b = 1\n", "f:1: NUL byte" },
	{ T, "[[registry.mirror]]\nlocation = \"a.io\"\n",
	  "f:1: [[registry.mirror]] comes after a [[registry]]" },
	{ T, "[[registry]]\nprefix = \"a.io\"\n[registry.mirror]\nlocation = \"m.io\"\n",
	  "f:3: [registry.mirror] must be written [[registry.mirror]]" },
	{ T, "[[registry]]\nprefix = \"a.io\"\n[[registry.mirrors]]\n",
	  "f:3: unknown table in [[registry]]" },
	/* TOML types and values */
	{ T, "[[registry]]\nprefix = \"a.io\"\ninsecure = \"true\"\n",
	  "f:3: insecure must be true or false" },
	{ T, "[[registry]]\nprefix = \"a.io\"\nblocked = 1\n",
	  "f:3: blocked must be true or false" },
	{ T, "[[registry]]\nprefix = true\n", "f:2: prefix must be a string in quotes" },
	{ T, "[[registry]]\nprefix = \"a.io\"\nprefix = \"b.io\"\n",
	  "f:3: \"prefix\" is set twice in this [[registry]]" },
	{ T, "[[registry]]\nlocaton = \"a.io\"\n", "f:2: unknown key \"locaton\" in [[registry]]" },
	{ T, "\n[[registry]]\ninsecure = true\n",
	  "f:2: a registry entry needs a prefix or a location" },
	{ T, "[[registry]]\nprefix = \"a.io\"\nlocation = \"B.io/x y\"\n",
	  "f:3: location \"B.io/x y\" is not a registry name" },
	{ T, "[[registry]]\nlocation = \"beam\"\n", "f:2: prefix \"beam\" is not a registry name" },
	/* mirrors */
	{ T, "[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\ninsecure = true\n",
	  "f:3: a [[registry.mirror]] needs a location" },
	{ T,
	  "[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\n"
	  "location = \"https://m.io:5000\"\n",
	  "f:3: mirror location \"https://m.io:5000\" has a scheme" },
	{ T, "[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io/A b\"\n",
	  "f:3: mirror location \"m.io/A b\" is not a registry name" },
	{ T,
	  "[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\n"
	  "pull-from-mirror = \"tags\"\n",
	  "f:5: pull-from-mirror \"tags\" is not all, digest-only or tag-only" },
	{ T,
	  "[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\n"
	  "pull-from-mirror = true\n",
	  "f:5: pull-from-mirror must be a string" },
	{ T,
	  "[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\n"
	  "insecure = \"yes\"\n",
	  "f:5: insecure must be true or false" },
	{ T, "[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\nlocaton = \"m.io\"\n",
	  "f:4: unknown key \"locaton\" in [[registry.mirror]]" },
	{ T,
	  "[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\n"
	  "location = \"n.io\"\n",
	  "f:5: \"location\" is set twice in this [[registry.mirror]]" },
	{ T,
	  "[[registry]]\nprefix = \"a.io\"\nmirror-by-digest-only = true\n"
	  "[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"all\"\n",
	  "f:6: pull-from-mirror cannot be set where the [[registry]] says "
	  "mirror-by-digest-only (line 3)" },
	{ T, "[[registry]]\nprefix = \"a.io\"\npull-from-mirror = \"digest-only\"\n",
	  "f:3: pull-from-mirror belongs in a [[registry.mirror]]" },
	{ T, "[[registry]]\nprefix = \"a.io\"\nmirror = \"m.io\"\n",
	  "f:3: mirror must be an array of tables" },
	{ T, "[[registry]]\nprefix = \"a.io\"\nmirror = [{ location = \"m.io\", pull = 1 }]\n",
	  "f:3: unknown key \"pull\" in [[registry.mirror]]" },
	{ T, "[[registry]]\nprefix = \"a.io\"\nmirror-by-digest-only = \"true\"\n",
	  "f:3: mirror-by-digest-only must be true or false" },
	{ T,
	  "[[registry]]\nprefix = \"a.io\"\n[[registry]]\nprefix = \"b.io\"\n[[registry]]\n"
	  "prefix = \"a.io\"\n",
	  "f:5: prefix \"a.io\" is defined already on line 1" },
};

static void test_bad_files(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		const struct bad_row *r = &bad_rows[i];
		size_t len = strlen(r->text);
		bp_config *cfg = NULL;
		int err;

		if (strstr(r->msg, "NUL"))
			len += 4; /* "a\0b = 1\n": past the NUL */
		assert_int_equal(bp_config_new(&cfg), 0);
		err = bp_config_add(cfg, "f", r->text, len, r->fmt);
		if (err != BP_EINVAL || strncmp(bp_error_last(), r->msg, strlen(r->msg)) != 0)
			fail_msg("row %zu (%s): got %d \"%s\", want \"%s...\"", i,
				 r->fmt == J ? "json" : "toml", err, bp_error_last(), r->msg);
		bp_config_free(cfg);
	}
}

/*
 * Names resolved against a config: the input and what the network sees
 * (or the error code and a piece of the message).
 */
struct resolve_row {
	const char *in;
	const char *out; /* or a piece of the message */
	int code;
	int insecure;
	int line; /* the line of the entry that applied; 0: none */
};

/* registries.conf of this test, read first; then a config.json of lower precedence */
static const char toml_text[] =
	"# containers/registries.conf\n"			       /* 1 */
	"unqualified-search-registries = ['docker.io', \"quay.io\"]\n" /* 2 */
	"\n"							       /* 3 */
	"[[registry]]\n"					       /* 4 */
	"prefix = \"alice-docker-apache.bintray.io/beam\"\n"	       /* 5 */
	"location = \"127.0.0.1:5000/beam\"\n"			       /* 6 */
	"insecure = true\n"					       /* 7 */
	"\n"							       /* 8 */
	"[[registry]]\n"					       /* 9 */
	"prefix = \"alice-docker-apache.bintray.io/beam/go\"\n"	       /* 10 */
	"location = \"localhost:5001\"\n"			       /* 11 */
	"[[registry.mirror]]\n"					       /* 12 */
	"location = \"mirror.example/never\"\n"			       /* 13 */
	"insecure = true\n"					       /* 14 */
	"\n"							       /* 15 */
	"[[registry]]\n"					       /* 16 */
	"location = \"blocked.example/secret\"\n"		       /* 17 */
	"blocked = true\n"					       /* 18 */
	"[[registry]]\n"					       /* 19 */
	"prefix = \"*.internal.example\"\n"			       /* 20 */
	"insecure = true\n"					       /* 21 */
	"[[registry]]\n"					       /* 22 */
	"prefix = \"docker.io\"\n"				       /* 23 */
	"location = \"mirror.gcr.io\"\n"			       /* 24 */
	"[[registry]]\n"					       /* 25 */
	"prefix = \"x.internal.example/y\"\n"			       /* 26 */
	"location = \"z.example/y\"\n"				       /* 27 */
	"[[registry]]\n"					       /* 28 */
	"prefix = \"one.example/repo\"\n"			       /* 29 */
	"location = \"bare.example\"\n"				       /* 30 */
	"[aliases]\n"						       /* 31 */
	"\"python\" = \"docker.io/library/python\"\n";		       /* 32 */

static const char json_text[] =
	"{\"registries\": [\n"
	"  {\"prefix\": \"alice-docker-apache.bintray.io/beam\", \"location\": "
	"\"json.example/beam\"},\n"
	"  {\"prefix\": \"gcr.io/proj\", \"location\": \"[::1]:5000/proj\", \"insecure\": true}\n"
	"]}\n";

static const struct resolve_row resolve_rows[] = {
	/* the Beam page's names */
	{ "alice-docker-apache.bintray.io/beam/python:latest", "127.0.0.1:5000/beam/python:latest",
	  0, 1, 4 },
	{ "alice-docker-apache.bintray.io/beam/java@sha256:"
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "127.0.0.1:5000/beam/java@sha256:"
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  0, 1, 4 },
	/* the longest prefix wins, at a path boundary */
	{ "alice-docker-apache.bintray.io/beam/go:2.3.0", "which names no repository", BP_EINVAL, 0,
	  9 },
	{ "alice-docker-apache.bintray.io/beam/go/sdk:1", "localhost:5001/sdk:1", 0, 0, 9 },
	{ "alice-docker-apache.bintray.io/beam/gopher:1", "127.0.0.1:5000/beam/gopher:1", 0, 1, 4 },
	{ "alice-docker-apache.bintray.io/beamer/python:1",
	  "alice-docker-apache.bintray.io/beamer/python:1", 0, 0, 0 },
	{ "alice-docker-apache.bintray.io/beam:1", "127.0.0.1:5000/beam:1", 0, 1, 4 },
	/* blocked */
	{ "blocked.example/secret/x:1", "blocked.example/secret/x is blocked by f.conf:16",
	  BP_EUNSUPPORTED, 0, 16 },
	{ "blocked.example/secret:1", "is blocked", BP_EUNSUPPORTED, 0, 16 },
	{ "blocked.example/secrets:1", "blocked.example/secrets:1", 0, 0, 0 },
	/* wildcards: the name as it is, insecure; an exact prefix beats a wildcard */
	{ "a.b.internal.example/p:1", "a.b.internal.example/p:1", 0, 1, 19 },
	{ "internal.example/p:1", "internal.example/p:1", 0, 0, 0 },
	{ "x.internal.example/y/z:1", "z.example/y/z:1", 0, 0, 25 },
	/* Docker Hub names are normalised before they are matched */
	{ "python", "mirror.gcr.io/library/python:latest", 0, 0, 22 },
	{ "beam/python:2.3.0", "mirror.gcr.io/beam/python:2.3.0", 0, 0, 22 },
	/* a location that is a bare domain */
	{ "one.example/repo/a:1", "bare.example/a:1", 0, 0, 28 },
	{ "one.example/repo:1", "which names no repository", BP_EINVAL, 0, 28 },
	/* no entry: unchanged */
	{ "quay.io/a/b:c", "quay.io/a/b:c", 0, 0, 0 },
};

static void check_resolve(const bp_config *cfg, const struct resolve_row *r, const char *file)
{
	bp_reference *in = NULL, *out = NULL;
	bp_config_match m;
	int err;

	assert_int_equal(bp_reference_parse(&in, r->in), 0);
	err = bp_config_resolve(cfg, in, &out, &m);
	if (err != r->code)
		fail_msg("%s: got %d (%s), want %d", r->in, err, bp_error_last(), r->code);
	if (r->code) {
		assert_null(out);
		if (!strstr(bp_error_last(), r->out))
			fail_msg("%s: message \"%s\" lacks \"%s\"", r->in, bp_error_last(), r->out);
	} else {
		if (strcmp(bp_reference_string(out), r->out) != 0)
			fail_msg("%s: got %s, want %s", r->in, bp_reference_string(out), r->out);
		assert_int_equal(m.insecure, r->insecure);
	}
	assert_int_equal(m.matched, r->line != 0);
	if (r->line) {
		assert_int_equal(m.line, r->line);
		assert_string_equal(m.file, file);
	}
	bp_reference_free(in);
	bp_reference_free(out);
}

static void test_resolve(void **state)
{
	bp_config *cfg = NULL;
	size_t i;

	assert_int_equal(bp_config_new(&cfg), 0);
	assert_int_equal(bp_config_add(cfg, "f.conf", toml_text, strlen(toml_text), T), 0);
	for (i = 0; i < sizeof(resolve_rows) / sizeof(resolve_rows[0]); i++)
		check_resolve(cfg, &resolve_rows[i], "f.conf");
	bp_config_free(cfg);
}

/* The first source with a match decides, even when a later one has a longer prefix. */
/* The verify-key of the entry that applies, and none where the entry that applies has none. */
static void test_verify_key(void **state)
{
	static const char text[] =
		"{\"registries\": [\n"
		"  {\"prefix\": \"beam.example/beam\", \"location\": \"127.0.0.1:5000/beam\",\n"
		"   \"verify-key\": \"/etc/beampush/beam.pub\"},\n"
		"  {\"prefix\": \"beam.example/beam/dev\"},\n"
		"  {\"prefix\": \"*.signed.example\", \"verify-key\": \"/k/signed.pub\"}\n"
		"]}\n";
	static const struct {
		const char *in, *key;
	} rows[] = {
		{ "beam.example/beam/python:1", "/etc/beampush/beam.pub" },
		{ "beam.example/beam:1", "/etc/beampush/beam.pub" },
		{ "beam.example/beam/dev/python:1", NULL },
		{ "beam.example/other:1", NULL },
		{ "a.signed.example/x:1", "/k/signed.pub" },
	};
	bp_config *cfg = NULL;
	size_t i;

	assert_int_equal(bp_config_new(&cfg), 0);
	assert_int_equal(bp_config_add(cfg, "c.json", text, strlen(text), J), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bp_reference *in = NULL, *out = NULL;
		bp_config_match m;

		assert_int_equal(bp_reference_parse(&in, rows[i].in), 0);
		assert_int_equal(bp_config_resolve(cfg, in, &out, &m), 0);
		if (rows[i].key)
			assert_string_equal(m.verify_key, rows[i].key);
		else
			assert_null(m.verify_key);
		bp_reference_free(in);
		bp_reference_free(out);
	}
	bp_config_free(cfg);
}

static void test_precedence(void **state)
{
	static const struct resolve_row rows[] = {
		{ "alice-docker-apache.bintray.io/beam/go/x:1", "json.example/beam/go/x:1", 0, 0,
		  2 },
		{ "gcr.io/proj/img:1", "[::1]:5000/proj/img:1", 0, 1, 3 },
		{ "gcr.io/project/img:1", "gcr.io/project/img:1", 0, 0, 0 },
	};
	bp_config *cfg = NULL;
	size_t i;

	assert_int_equal(bp_config_new(&cfg), 0);
	assert_int_equal(bp_config_add(cfg, "c.json", json_text, strlen(json_text), J), 0);
	assert_int_equal(bp_config_add(cfg, "f.conf", toml_text, strlen(toml_text), T), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_resolve(cfg, &rows[i], "c.json");
	/* the second source still answers for what the first does not map */
	check_resolve(cfg, &resolve_rows[13], "f.conf");
	bp_config_free(cfg);
}

/* Repositories stay repositories (tags REPO): no tag is added. */
static void test_repository(void **state)
{
	bp_reference *in = NULL, *out = NULL;
	bp_config *cfg = NULL;

	assert_int_equal(bp_config_new(&cfg), 0);
	assert_int_equal(bp_config_add(cfg, "f.conf", toml_text, strlen(toml_text), T), 0);
	assert_int_equal(
		bp_reference_parse_repository(&in, "alice-docker-apache.bintray.io/beam/python"),
		0);
	assert_int_equal(bp_config_resolve(cfg, in, &out, NULL), 0);
	assert_string_equal(bp_reference_string(out), "127.0.0.1:5000/beam/python");
	assert_null(bp_reference_tag(out));
	bp_reference_free(in);
	bp_reference_free(out);
	bp_config_free(cfg);
}

/* login and logout: a host resolves through its own entry or its repositories' entries. */
static void test_resolve_host(void **state)
{
	static const char text[] = "[[registry]]\n"
				   "prefix = \"a.example/beam\"\n"
				   "location = \"127.0.0.1:5000/beam\"\n"
				   "insecure = true\n"
				   "[[registry]]\n"
				   "prefix = \"a.example/other\"\n"
				   "location = \"127.0.0.1:5000/x\"\n"
				   "[[registry]]\n"
				   "prefix = \"b.example/one\"\n"
				   "location = \"one.example/x\"\n"
				   "[[registry]]\n"
				   "prefix = \"b.example/two\"\n"
				   "location = \"two.example\"\n"
				   "[[registry]]\n"
				   "prefix = \"c.example\"\n"
				   "location = \"c-mirror.example:8443/path\"\n"
				   "[[registry]]\n"
				   "prefix = \"d.example\"\n"
				   "blocked = true\n";
	static const struct {
		const char *host, *out;
		int code, insecure, line;
	} rows[] = {
		{ "a.example", "127.0.0.1:5000", 0, 1, 1 },
		{ "b.example", "more than one registry: one.example (f:8) and two.example (f:11)",
		  BP_EINVAL, 0, 0 },
		{ "c.example", "c-mirror.example:8443", 0, 0, 14 },
		{ "d.example", "d.example is blocked by f:17", BP_EUNSUPPORTED, 0, 0 },
		{ "e.example", "e.example", 0, 0, 0 },
	};
	bp_config *cfg = NULL;
	size_t i;

	assert_int_equal(bp_config_new(&cfg), 0);
	assert_int_equal(bp_config_add(cfg, "f", text, strlen(text), T), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bp_config_match m;
		char *out = NULL;
		int err = bp_config_resolve_host(cfg, rows[i].host, &out, &m);

		if (err != rows[i].code)
			fail_msg("%s: got %d (%s)", rows[i].host, err, bp_error_last());
		if (err) {
			assert_null(out);
			if (!strstr(bp_error_last(), rows[i].out))
				fail_msg("%s: \"%s\" lacks \"%s\"", rows[i].host, bp_error_last(),
					 rows[i].out);
			continue;
		}
		assert_string_equal(out, rows[i].out);
		assert_int_equal(m.insecure, rows[i].insecure);
		assert_int_equal(m.line, rows[i].line);
		free(out);
	}
	bp_config_free(cfg);
}

/* Files that are valid: what real registries.conf files hold parses, and counts as no entry. */
static void test_good_files(void **state)
{
	static const struct {
		bp_config_format fmt;
		const char *text;
	} rows[] = {
		{ J, "" },
		{ J, " \n\t\n" },
		{ J, "{}" },
		{ J, "{\"registries\": []}" },
		{ T, "" },
		{ T, "# only comments\n# and more\n" },
		{ T, "\xef\xbb\xbf# a BOM\r\nkey = 'literal \\ string'\r\n" },
		{ T,
		  "unqualified-search-registries = [\n  \"docker.io\", # hub\n  'quay.io',\n]\n" },
		{ T, "short-name-mode=\"enforcing\"\ncredential-helpers = "
		     "[\"containers-auth.json\"]\n" },
		{ T, "[aliases]\n  \"fedora\" = \"registry.fedoraproject.org/fedora\"\n"
		     "  'opensuse/leap' = \"registry.opensuse.org/opensuse/leap\"\n" },
		{ T, "[registries.search]\nregistries = ['docker.io']\n[registries.insecure]\n"
		     "registries = []\n" },
		{ T, "a.b.c = 1\nd = -2\ne = 1979-05-27T07:32:00Z\nf = 3.5\ng = inf\nh = nan\n"
		     "i = { x = 1, y = [ true, false ], z = {} }\nj = [[1, 2], ['a']]\n"
		     "k = \"\\u00e9\\U0001F600\\t\\\"\"\nl = \"\"\n" },
		{ T, "[[registry]]\nlocation = \"a.io\"\nmirror-by-digest-only = true\n"
		     "mirror = [{ location = \"m.io\" }]\n"
		     "[[registry.mirror]]\nlocation = \"m2.io\"\ninsecure = true\n"
		     "[aliases]\n[[registry.mirror]]\nlocation = \"m3.io/after/aliases\"\n" },
		{ T, "[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\n"
		     "pull-from-mirror = \"tag-only\"\n[[registry.mirror]]\nlocation = \"n.io\"\n"
		     "pull-from-mirror = \"\"\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bp_config *cfg = NULL;
		int err;

		assert_int_equal(bp_config_new(&cfg), 0);
		err = bp_config_add(cfg, "f", rows[i].text, strlen(rows[i].text), rows[i].fmt);
		if (err)
			fail_msg("row %zu: %s", i, bp_error_last());
		bp_config_free(cfg);
	}
}

/* registries.conf with mirrors, for test_mirrors */
static const char mirror_text[] = "[[registry]]\n"					 /* 1 */
				  "prefix = \"example.com/foo\"\n"			 /* 2 */
				  "location = \"internal.example.net/bar\"\n"		 /* 3 */
				  "[[registry.mirror]]\n"				 /* 4 */
				  "location = \"mirror-0.local/mirror-for-foo\"\n"	 /* 5 */
				  "[[registry.mirror]]\n"				 /* 6 */
				  "location = \"mirror-1.local:5000/mirrors/foo\"\n"	 /* 7 */
				  "insecure = true\n"					 /* 8 */
				  "pull-from-mirror = \"tag-only\"\n"			 /* 9 */
				  "[[registry]]\n"					 /* 10 */
				  "location = \"docker.io\"\n"				 /* 11 */
				  "mirror-by-digest-only = true\n"			 /* 12 */
				  "mirror = [{ location = \"hub-cache.local:5000\" }]\n" /* 13 */
				  "[[registry]]\n"					 /* 14 */
				  "prefix = \"*.corp.example\"\n"			 /* 15 */
				  "[[registry.mirror]]\n"				 /* 16 */
				  "location = \"cache.corp.example/all\"\n"		 /* 17 */
				  "pull-from-mirror = \"digest-only\"\n"		 /* 18 */
				  "[[registry]]\n"					 /* 19 */
				  "location = \"blocked.example\"\n"			 /* 20 */
				  "blocked = true\n"					 /* 21 */
				  "[[registry.mirror]]\n"				 /* 22 */
				  "location = \"never.example\"\n";			 /* 23 */

struct mirror_row {
	const char *in;
	size_t n;
	struct {
		const char *prefix, *location;
		int insecure;
		bp_mirror_pull pull;
		int line;
	} m[2];
};

static const struct mirror_row mirror_rows[] = {
	/* the man page's example: the rest of the name after each mirror's location */
	{ "example.com/foo/image:latest",
	  2,
	  { { "internal.example.net/bar/image", "mirror-0.local/mirror-for-foo/image", 0,
	      BP_MIRROR_ALL, 4 },
	    { "internal.example.net/bar/image", "mirror-1.local:5000/mirrors/foo/image", 1,
	      BP_MIRROR_TAG_ONLY, 6 } } },
	/* Docker Hub's names are normalised first; mirror-by-digest-only makes them digest-only */
	{ "python:3.11",
	  1,
	  { { "docker.io/library/python", "hub-cache.local:5000/library/python", 0,
	      BP_MIRROR_DIGEST_ONLY, 13 } } },
	/* a wildcard: the name as it is, and the mirror takes what follows the domain */
	{ "git.corp.example/team/app:1",
	  1,
	  { { "git.corp.example/team/app", "cache.corp.example/all/team/app", 0,
	      BP_MIRROR_DIGEST_ONLY, 16 } } },
	/* blocked, other names, a prefix at no path boundary: none */
	{ "blocked.example/x:1", 0, { { NULL } } },
	{ "quay.io/a/b:c", 0, { { NULL } } },
	{ "example.com/foobar/x:1", 0, { { NULL } } },
};

static void test_mirrors(void **state)
{
	bp_config *cfg = NULL;
	size_t i, j;

	assert_int_equal(bp_config_new(&cfg), 0);
	if (bp_config_add(cfg, "r.conf", mirror_text, strlen(mirror_text), T))
		fail_msg("%s", bp_error_last());
	for (i = 0; i < sizeof(mirror_rows) / sizeof(mirror_rows[0]); i++) {
		const struct mirror_row *r = &mirror_rows[i];
		bp_reference *in = NULL;
		bp_mirror *m = (bp_mirror *)1;
		size_t n = 99;

		assert_int_equal(bp_reference_parse(&in, r->in), 0);
		if (bp_config_mirrors(cfg, in, &m, &n))
			fail_msg("%s: %s", r->in, bp_error_last());
		if (n != r->n)
			fail_msg("%s: %zu mirrors, want %zu", r->in, n, r->n);
		for (j = 0; j < n; j++) {
			if (strcmp(m[j].prefix, r->m[j].prefix) != 0 ||
			    strcmp(m[j].location, r->m[j].location) != 0)
				fail_msg("%s: mirror %zu is %s -> %s, want %s -> %s", r->in, j,
					 m[j].prefix, m[j].location, r->m[j].prefix,
					 r->m[j].location);
			assert_int_equal(m[j].insecure, r->m[j].insecure);
			assert_int_equal(m[j].pull, r->m[j].pull);
			assert_int_equal(m[j].line, r->m[j].line);
			assert_string_equal(m[j].file, "r.conf");
		}
		if (!n)
			assert_null(m);
		bp_config_mirrors_free(m, n);
		bp_reference_free(in);
	}
	bp_config_free(cfg);
}

/* A file that fails adds nothing; the files on disk: missing_ok, BEAMPUSH_CONFIG. */
static void test_files(void **state)
{
	char dir[] = "/tmp/bp-test-config.XXXXXX", path[256], conf[256];
	bp_reference *in = NULL, *out = NULL;
	bp_config *cfg = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.json", dir);
	snprintf(conf, sizeof(conf), "%s/r.conf", dir);
	assert_int_equal(bp_config_new(&cfg), 0);
	assert_int_equal(bp_config_add_file(cfg, path, J, 1), 0);
	assert_int_equal(bp_config_add_file(cfg, path, J, 0), BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), path));
	bp_config_free(cfg);

	assert_non_null(f = fopen(path, "w"));
	fputs("{\"registries\": [{\"prefix\": \"a.io\", \"location\": \"b.io\"}]}", f);
	fclose(f);
	assert_non_null(f = fopen(conf, "w"));
	fputs("[[registry]]\nprefix = \"a.io\"\nlocation = \"c.io\"\n"
	      "[[registry]]\nprefix = \"d.io\"\nlocation = \"e.io\"\n",
	      f);
	fclose(f);
	assert_int_equal(setenv("BEAMPUSH_CONFIG", path, 1), 0);
	assert_int_equal(setenv("CONTAINERS_REGISTRIES_CONF", conf, 1), 0);
	assert_int_equal(bp_config_load(&cfg), 0);
	assert_int_equal(bp_reference_parse(&in, "a.io/x/y:1"), 0);
	assert_int_equal(bp_config_resolve(cfg, in, &out, NULL), 0);
	assert_string_equal(bp_reference_string(out), "b.io/x/y:1");
	bp_reference_free(in);
	bp_reference_free(out);
	assert_int_equal(bp_reference_parse(&in, "d.io/x:1"), 0);
	assert_int_equal(bp_config_resolve(cfg, in, &out, NULL), 0);
	assert_string_equal(bp_reference_string(out), "e.io/x:1");
	bp_reference_free(in);
	bp_reference_free(out);
	bp_config_free(cfg);

	/* a broken file fails the load, naming it */
	assert_non_null(f = fopen(conf, "w"));
	fputs("[[registry]]\nprefix = \"a.io\"\nbogus\n", f);
	fclose(f);
	cfg = (bp_config *)1;
	assert_int_equal(bp_config_load(&cfg), BP_EINVAL);
	assert_null(cfg);
	assert_non_null(strstr(bp_error_last(), conf));
	assert_non_null(strstr(bp_error_last(), ":3: "));
	unsetenv("BEAMPUSH_CONFIG");
	unsetenv("CONTAINERS_REGISTRIES_CONF");
	unlink(path);
	unlink(conf);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_files),  cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_resolve),	   cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_repository), cmocka_unit_test(test_resolve_host),
		cmocka_unit_test(test_files),	   cmocka_unit_test(test_verify_key),
		cmocka_unit_test(test_mirrors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
