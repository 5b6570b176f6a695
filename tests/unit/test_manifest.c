/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <beampush/manifest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define DA "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
#define DB "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
#define DC "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"
#define DD "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736"
#define DE "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"
#define DEMPTY "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* Docker v2 schema 2, as `docker push` writes it (manifest-v2-2.md example). */
static const char docker_v2[] =
	"{\n"
	"   \"schemaVersion\": 2,\n"
	"   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
	"   \"config\": {\n"
	"      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
	"      \"size\": 7023,\n"
	"      \"digest\": \"" DA "\"\n"
	"   },\n"
	"   \"layers\": [\n"
	"      {\n"
	"         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
	"         \"size\": 32654,\n"
	"         \"digest\": \"" DB "\"\n"
	"      },\n"
	"      {\n"
	"         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
	"         \"size\": 16724,\n"
	"         \"digest\": \"" DC "\"\n"
	"      },\n"
	"      {\n"
	"         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
	"         \"size\": 73109,\n"
	"         \"digest\": \"" DD "\"\n"
	"      }\n"
	"   ]\n"
	"}";

/* Docker manifest list (manifest-v2-2.md example). */
static const char docker_list[] =
	"{\n"
	"  \"schemaVersion\": 2,\n"
	"  \"mediaType\": \"application/vnd.docker.distribution.manifest.list.v2+json\",\n"
	"  \"manifests\": [\n"
	"    {\n"
	"      \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
	"      \"size\": 7143,\n"
	"      \"digest\": \"" DB "\",\n"
	"      \"platform\": {\n"
	"        \"architecture\": \"ppc64le\",\n"
	"        \"os\": \"linux\"\n"
	"      }\n"
	"    },\n"
	"    {\n"
	"      \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
	"      \"size\": 7682,\n"
	"      \"digest\": \"" DE "\",\n"
	"      \"platform\": {\n"
	"        \"architecture\": \"amd64\",\n"
	"        \"os\": \"linux\",\n"
	"        \"features\": [\n"
	"          \"sse4\"\n"
	"        ]\n"
	"      }\n"
	"    }\n"
	"  ]\n"
	"}";

/* OCI image manifest as skopeo writes it, with annotations. */
static const char oci_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	"\"digest\":\"" DA "\",\"size\":1470},"
	"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
	"\"digest\":\"" DB "\",\"size\":29124181},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
	"\"digest\":\"" DC "\",\"size\":10737418240}],"
	"\"annotations\":{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\"}}";

/* OCI index as buildx writes it: two images and an attestation manifest. */
static const char oci_index[] =
	"{\n"
	"  \"schemaVersion\": 2,\n"
	"  \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n"
	"  \"manifests\": [\n"
	"    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" DB
	"\","
	" \"size\": 1055, \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\"}},\n"
	"    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" DC
	"\","
	" \"size\": 1055, \"platform\": {\"architecture\": \"arm64\", \"os\": \"linux\","
	" \"variant\": \"v8\"}},\n"
	"    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" DD
	"\","
	" \"size\": 566, \"annotations\": {\"vnd.docker.reference.digest\": \"" DB "\","
	" \"vnd.docker.reference.type\": \"attestation-manifest\"},"
	" \"platform\": {\"architecture\": \"unknown\", \"os\": \"unknown\"}}\n"
	"  ]\n"
	"}\n";

/* An OCI layout's index.json: no mediaType in old writers, a ref name. */
static const char layout_index[] =
	"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
	"vnd.oci.image.manifest.v1+json\","
	"\"digest\":\"" DE "\",\"size\":7143,"
	"\"annotations\":{\"org.opencontainers.image.ref.name\":\"2.3.0\"}}]}";

/* OCI manifest without mediaType (allowed by the image spec). */
static const char oci_no_mediatype[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":"
				       "\"application/vnd.oci.image.config.v1+json\","
				       "\"digest\":\"" DA "\",\"size\":2},\"layers\":[]}";

#define OCI_CFG                                                                        \
	"{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DA \
	"\",\"size\":2}"
#define OCI_HEAD \
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
#define LAYER(dig, size)                                                                   \
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" dig \
	"\",\"size\":" size "}"
#define WITH_LAYER(l) OCI_HEAD "\"config\":" OCI_CFG ",\"layers\":[" l "]}"
#define WITH_SIZE(s) WITH_LAYER(LAYER(DB, s))
#define IDX_HEAD "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
#define WITH_ENTRY(e) IDX_HEAD "\"manifests\":[" e "]}"
#define ENTRY(extra)                                                                     \
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DB \
	"\",\"size\":5" extra "}"

#define CT_DOCKER BP_MEDIA_DOCKER_MANIFEST
#define CT_LIST BP_MEDIA_DOCKER_LIST
#define CT_OCI BP_MEDIA_OCI_MANIFEST
#define CT_INDEX BP_MEDIA_OCI_INDEX

static const struct {
	const char *name;
	const char *body;
	const char *content_type;
	int code;
	bp_manifest_kind kind; /* when code is 0 */
	size_t count;	       /* when code is 0 */
	const char *msg;       /* when code is not 0: a piece of the message */
} parse_rows[] = {
	/* the four kinds */
	{ "docker v2", docker_v2, NULL, 0, BP_MANIFEST_DOCKER_V2, 3, NULL },
	{ "docker v2 + ct", docker_v2, CT_DOCKER, 0, BP_MANIFEST_DOCKER_V2, 3, NULL },
	{ "docker list", docker_list, CT_LIST, 0, BP_MANIFEST_DOCKER_LIST, 2, NULL },
	{ "oci manifest", oci_manifest, CT_OCI, 0, BP_MANIFEST_OCI, 2, NULL },
	{ "oci index", oci_index, CT_INDEX, 0, BP_MANIFEST_OCI_INDEX, 3, NULL },
	{ "layout index, no mediaType, no ct", layout_index, NULL, 0, BP_MANIFEST_OCI_INDEX, 1,
	  NULL },
	{ "layout index, ct given", layout_index, CT_INDEX, 0, BP_MANIFEST_OCI_INDEX, 1, NULL },
	/* content type handling */
	{ "no mediaType, ct decides", oci_no_mediatype, CT_OCI, 0, BP_MANIFEST_OCI, 0, NULL },
	{ "no mediaType, ct with params", oci_no_mediatype,
	  " application/vnd.oci.image.manifest.v1+json ; charset=utf-8", 0, BP_MANIFEST_OCI, 0,
	  NULL },
	{ "no mediaType, ct upper case", oci_no_mediatype,
	  "Application/VND.OCI.Image.Manifest.v1+JSON", 0, BP_MANIFEST_OCI, 0, NULL },
	{ "no mediaType, generic ct", oci_no_mediatype, "application/json", 0, BP_MANIFEST_OCI, 0,
	  NULL },
	{ "no mediaType, empty ct", oci_no_mediatype, "", 0, BP_MANIFEST_OCI, 0, NULL },
	{ "mediaType wins over generic ct", docker_v2, "application/octet-stream", 0,
	  BP_MANIFEST_DOCKER_V2, 3, NULL },
	{ "mediaType wins over unknown ct", docker_v2, "application/x-foo", 0,
	  BP_MANIFEST_DOCKER_V2, 3, NULL },
	{ "mediaType vs ct mismatch", docker_v2, CT_OCI, BP_EINVAL, 0, 0,
	  "manifest mediaType \"" CT_DOCKER "\" does not match its content type \"" CT_OCI "\"" },
	{ "index mediaType vs list ct", oci_index, CT_LIST, BP_EINVAL, 0, 0, "does not match" },
	{ "no mediaType, index ct on manifest body", oci_no_mediatype, CT_INDEX, BP_EINVAL, 0, 0,
	  "manifest has no manifests" },
	{ "unknown mediaType",
	  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\"}", NULL,
	  BP_EUNSUPPORTED, 0, 0,
	  "unsupported manifest media type \"application/vnd.cncf.helm.config.v1+json\"" },
	{ "unknown ct without mediaType", oci_no_mediatype,
	  "application/vnd.docker.distribution.manifest.v1+prettyjws", BP_EUNSUPPORTED, 0, 0,
	  "unsupported manifest media type "
	  "\"application/vnd.docker.distribution.manifest.v1+prettyjws\"" },
	{ "schema 1 sniffed", "{\"schemaVersion\":1,\"name\":\"a\",\"tag\":\"b\",\"fsLayers\":[]}",
	  NULL, BP_EUNSUPPORTED, 0, 0, "schema 1" },
	{ "mediaType not a string", "{\"schemaVersion\":2,\"mediaType\":2}", NULL, BP_EINVAL, 0, 0,
	  "mediaType is not a string" },
	{ "shape unknown", "{\"schemaVersion\":2}", NULL, BP_EINVAL, 0, 0,
	  "neither config nor manifests" },
	/* JSON itself */
	{ "not JSON", "hello", CT_OCI, BP_EINVAL, 0, 0, "not valid JSON" },
	{ "truncated JSON", "{\"schemaVersion\":2,", CT_OCI, BP_EINVAL, 0, 0, "not valid JSON" },
	{ "trailing data", "{\"schemaVersion\":2} x", CT_OCI, BP_EINVAL, 0, 0,
	  "data after its JSON value at byte 20" },
	{ "array", "[1,2]", CT_OCI, BP_EINVAL, 0, 0, "not a JSON object" },
	{ "string", "\"x\"", CT_OCI, BP_EINVAL, 0, 0, "not a JSON object" },
	{ "empty", "", CT_OCI, BP_EINVAL, 0, 0, "manifest is empty" },
	/* schemaVersion */
	{ "no schemaVersion", "{\"mediaType\":\"" CT_OCI "\",\"config\":" OCI_CFG ",\"layers\":[]}",
	  NULL, BP_EINVAL, 0, 0, "no schemaVersion" },
	{ "schemaVersion 3", "{\"schemaVersion\":3,\"mediaType\":\"" CT_OCI "\"}", NULL, BP_EINVAL,
	  0, 0, "schemaVersion is 3, want 2" },
	{ "schemaVersion 2.5", "{\"schemaVersion\":2.5,\"mediaType\":\"" CT_OCI "\"}", NULL,
	  BP_EINVAL, 0, 0, "want 2" },
	{ "schemaVersion string", "{\"schemaVersion\":\"2\",\"mediaType\":\"" CT_OCI "\"}", NULL,
	  BP_EINVAL, 0, 0, "schemaVersion is not a number" },
	/* image manifest structure */
	{ "no config", OCI_HEAD "\"layers\":[]}", NULL, BP_EINVAL, 0, 0, "manifest has no config" },
	{ "config not object", OCI_HEAD "\"config\":[],\"layers\":[]}", NULL, BP_EINVAL, 0, 0,
	  "config: not a JSON object" },
	{ "no layers", OCI_HEAD "\"config\":" OCI_CFG "}", NULL, BP_EINVAL, 0, 0,
	  "manifest has no layers" },
	{ "layers not array", OCI_HEAD "\"config\":" OCI_CFG ",\"layers\":{}}", NULL, BP_EINVAL, 0,
	  0, "layers is not an array" },
	{ "empty layers", WITH_LAYER(""), NULL, 0, BP_MANIFEST_OCI, 0, NULL },
	{ "layer not object", WITH_LAYER("1"), NULL, BP_EINVAL, 0, 0,
	  "layers[0]: not a JSON object" },
	/* descriptors */
	{ "no mediaType in layer", WITH_LAYER("{\"digest\":\"" DB "\",\"size\":1}"), NULL,
	  BP_EINVAL, 0, 0, "layers[0]: no mediaType" },
	{ "empty mediaType in layer",
	  WITH_LAYER("{\"mediaType\":\"\",\"digest\":\"" DB "\",\"size\":1}"), NULL, BP_EINVAL, 0,
	  0, "layers[0]: mediaType is empty" },
	{ "no digest", WITH_LAYER(LAYER(DB, "1") ",{\"mediaType\":\"x\",\"size\":1}"), NULL,
	  BP_EINVAL, 0, 0, "layers[1]: no digest" },
	{ "digest not string", WITH_LAYER("{\"mediaType\":\"x\",\"digest\":7,\"size\":1}"), NULL,
	  BP_EINVAL, 0, 0, "layers[0]: digest is not a string" },
	{ "short digest", WITH_LAYER(LAYER("sha256:abc", "1")), NULL, BP_EINVAL, 0, 0,
	  "manifest layers[0]: invalid digest \"sha256:abc\"" },
	{ "upper-case digest",
	  WITH_LAYER(LAYER(
		  "sha256:B5B2B2C507A0944348E0303114D8D93AAAA081732B86451D9BCE1F432A537BC7", "1")),
	  NULL, BP_EINVAL, 0, 0, "lowercase hex" },
	{ "no algorithm",
	  WITH_LAYER(
		  LAYER("b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7", "1")),
	  NULL, BP_EINVAL, 0, 0, "invalid digest" },
	{ "sha512 digest",
	  WITH_LAYER(LAYER("sha512:"
			   "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
			   "fffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			   "1")),
	  NULL, BP_EUNSUPPORTED, 0, 0, "layers[0]: unsupported digest algorithm \"sha512\"" },
	{ "bad config digest",
	  OCI_HEAD
	  "\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:\",\"size\":1},\"layers\":[]}",
	  NULL, BP_EINVAL, 0, 0, "manifest config: invalid digest" },
	/* sizes */
	{ "size 0", WITH_SIZE("0"), NULL, 0, BP_MANIFEST_OCI, 1, NULL },
	{ "size 2^53-1", WITH_SIZE("9007199254740991"), NULL, 0, BP_MANIFEST_OCI, 1, NULL },
	{ "size 2^53", WITH_SIZE("9007199254740992"), NULL, BP_EINVAL, 0, 0,
	  "too large to be exact" },
	{ "size 2^63", WITH_SIZE("9223372036854775808"), NULL, BP_EINVAL, 0, 0,
	  "too large to be exact" },
	{ "size 2^64", WITH_SIZE("18446744073709551616"), NULL, BP_EINVAL, 0, 0, "too large" },
	{ "size 1e400", WITH_SIZE("1e400"), NULL, BP_EINVAL, 0, 0, "too large" },
	{ "size negative", WITH_SIZE("-1"), NULL, BP_EINVAL, 0, 0,
	  "layers[0]: size -1 is negative" },
	{ "size fractional", WITH_SIZE("1.5"), NULL, BP_EINVAL, 0, 0,
	  "size 1.5 is not a whole number" },
	{ "size string", WITH_SIZE("\"12\""), NULL, BP_EINVAL, 0, 0, "size is not a number" },
	{ "size null", WITH_SIZE("null"), NULL, BP_EINVAL, 0, 0, "size is not a number" },
	{ "size missing", WITH_LAYER("{\"mediaType\":\"x\",\"digest\":\"" DB "\"}"), NULL,
	  BP_EINVAL, 0, 0, "layers[0]: no size" },
	/* index structure */
	{ "index without manifests", IDX_HEAD "\"x\":1}", NULL, BP_EINVAL, 0, 0,
	  "manifest has no manifests" },
	{ "index manifests not array", IDX_HEAD "\"manifests\":{}}", NULL, BP_EINVAL, 0, 0,
	  "manifests is not an array" },
	{ "empty index", WITH_ENTRY(""), NULL, 0, BP_MANIFEST_OCI_INDEX, 0, NULL },
	{ "entry without platform", WITH_ENTRY(ENTRY("")), NULL, 0, BP_MANIFEST_OCI_INDEX, 1,
	  NULL },
	{ "platform not object", WITH_ENTRY(ENTRY(",\"platform\":\"linux/amd64\"")), NULL,
	  BP_EINVAL, 0, 0, "manifests[0]: platform is not an object" },
	{ "platform without os", WITH_ENTRY(ENTRY(",\"platform\":{\"architecture\":\"amd64\"}")),
	  NULL, BP_EINVAL, 0, 0, "manifests[0].platform: no os" },
	{ "platform without architecture", WITH_ENTRY(ENTRY(",\"platform\":{\"os\":\"linux\"}")),
	  NULL, BP_EINVAL, 0, 0, "manifests[0].platform: no architecture" },
	{ "variant not string",
	  WITH_ENTRY(
		  ENTRY(",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":7}")),
	  NULL, BP_EINVAL, 0, 0, "variant is not a string" },
	{ "annotations not object", WITH_ENTRY(ENTRY(",\"annotations\":[]")), NULL, BP_EINVAL, 0, 0,
	  "manifests[0]: annotations is not an object" },
	{ "ref name not string",
	  WITH_ENTRY(ENTRY(",\"annotations\":{\"org.opencontainers.image.ref.name\":1}")), NULL,
	  BP_EINVAL, 0, 0, "is not a string" },
	{ "entry bad digest", WITH_ENTRY("{\"mediaType\":\"x\",\"digest\":\"md5:abc\",\"size\":1}"),
	  NULL, BP_EUNSUPPORTED, 0, 0, "manifests[0]: unsupported digest algorithm \"md5\"" },
};

static void test_parse_table(void **state)
{
	size_t i;
	int failed = 0;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		bp_manifest *m = (bp_manifest *)1;
		int r;

		bp_error_clear();
		r = bp_manifest_parse(&m, parse_rows[i].body, strlen(parse_rows[i].body),
				      parse_rows[i].content_type);
		if (r != parse_rows[i].code) {
			print_error("row %zu %s: got %d (%s), want %d\n", i, parse_rows[i].name, r,
				    bp_error_last(), parse_rows[i].code);
			failed++;
		} else if (r == 0) {
			if (bp_manifest_kind_get(m) != parse_rows[i].kind ||
			    bp_manifest_count(m) != parse_rows[i].count ||
			    bp_manifest_kind_of(bp_manifest_media_type(m)) != parse_rows[i].kind) {
				print_error("row %zu %s: kind %d count %zu\n", i,
					    parse_rows[i].name, bp_manifest_kind_get(m),
					    bp_manifest_count(m));
				failed++;
			}
		} else if (m != NULL || !strstr(bp_error_last(), parse_rows[i].msg)) {
			print_error("row %zu %s: message \"%s\" lacks \"%s\"\n", i,
				    parse_rows[i].name, bp_error_last(), parse_rows[i].msg);
			failed++;
		}
		if (r == 0)
			bp_manifest_free(m);
	}
	print_message("# %zu parse rows\n", sizeof(parse_rows) / sizeof(parse_rows[0]));
	assert_int_equal(failed, 0);
}

static void test_docker_v2_fields(void **state)
{
	bp_manifest *m;
	const bp_descriptor *d;

	assert_int_equal(bp_manifest_parse(&m, docker_v2, strlen(docker_v2), CT_DOCKER), 0);
	assert_string_equal(bp_manifest_media_type(m), CT_DOCKER);
	d = bp_manifest_config(m);
	assert_non_null(d);
	assert_string_equal(d->media_type, BP_MEDIA_DOCKER_CONFIG);
	assert_string_equal(d->digest, DA);
	assert_int_equal(d->size, 7023);
	assert_null(d->os);
	d = bp_manifest_item(m, 2);
	assert_string_equal(d->media_type, BP_MEDIA_DOCKER_LAYER);
	assert_string_equal(d->digest, DD);
	assert_int_equal(d->size, 73109);
	assert_null(bp_manifest_item(m, 3));
	bp_manifest_free(m);

	assert_int_equal(bp_manifest_parse(&m, oci_manifest, strlen(oci_manifest), NULL), 0);
	d = bp_manifest_item(m, 1);
	assert_string_equal(d->media_type, BP_MEDIA_OCI_LAYER_ZSTD);
	assert_true(d->size == INT64_C(10737418240));
	bp_manifest_free(m);
	bp_manifest_free(NULL);
}

static void test_index_fields(void **state)
{
	bp_manifest *m;
	const bp_descriptor *d;

	assert_int_equal(bp_manifest_parse(&m, oci_index, strlen(oci_index), CT_INDEX), 0);
	assert_null(bp_manifest_config(m));
	d = bp_manifest_item(m, 1);
	assert_string_equal(d->os, "linux");
	assert_string_equal(d->arch, "arm64");
	assert_string_equal(d->variant, "v8");
	assert_string_equal(d->digest, DC);
	assert_int_equal(d->size, 1055);
	assert_null(d->ref_name);
	d = bp_manifest_item(m, 0);
	assert_null(d->variant);
	bp_manifest_free(m);

	assert_int_equal(bp_manifest_parse(&m, docker_list, strlen(docker_list), NULL), 0);
	d = bp_manifest_item(m, 0);
	assert_string_equal(d->arch, "ppc64le");
	assert_string_equal(d->media_type, CT_DOCKER);
	bp_manifest_free(m);

	assert_int_equal(bp_manifest_parse(&m, layout_index, strlen(layout_index), NULL), 0);
	assert_string_equal(bp_manifest_media_type(m), CT_INDEX);
	d = bp_manifest_item(m, 0);
	assert_string_equal(d->ref_name, "2.3.0");
	assert_null(d->os);
	assert_null(d->arch);
	bp_manifest_free(m);
}

/* The body is measured with len, not NUL: bytes after len are never read. */
static void test_length_not_nul(void **state)
{
	bp_manifest *m;
	char *buf = malloc(sizeof(oci_manifest) + 10);

	assert_non_null(buf);
	memcpy(buf, oci_manifest, strlen(oci_manifest));
	memcpy(buf + strlen(oci_manifest), "garbage!!!", 10);
	assert_int_equal(bp_manifest_parse(&m, buf, strlen(oci_manifest), NULL), 0);
	bp_manifest_free(m);
	/* and a NUL inside len is trailing data */
	buf[strlen(oci_manifest)] = '\0';
	assert_int_equal(bp_manifest_parse(&m, buf, strlen(oci_manifest) + 1, NULL), BP_EINVAL);
	free(buf);
}

static void test_size_limit(void **state)
{
	size_t n = BP_MANIFEST_MAX;
	char *buf = malloc(n + 1);
	bp_manifest *m;

	assert_non_null(buf);
	/* exactly the limit: a valid manifest padded with blanks */
	memset(buf, ' ', n + 1);
	memcpy(buf, oci_manifest, strlen(oci_manifest));
	assert_int_equal(bp_manifest_parse(&m, buf, n, NULL), 0);
	bp_manifest_free(m);
	/* one byte more */
	assert_int_equal(bp_manifest_parse(&m, buf, n + 1, NULL), BP_EINVAL);
	assert_null(m);
	assert_non_null(strstr(bp_error_last(), "4194305 bytes, more than the 4194304 byte limit"));
	free(buf);

	assert_int_equal(bp_manifest_parse(&m, NULL, 0, NULL), BP_EINVAL);
}

static const bp_descriptor layers3[] = {
	{ BP_MEDIA_DOCKER_LAYER, DB, 32654, NULL, NULL, NULL, NULL },
	{ BP_MEDIA_DOCKER_LAYER, DC, 16724, NULL, NULL, NULL, NULL },
	{ BP_MEDIA_DOCKER_LAYER, DD, INT64_C(10737418240), NULL, NULL, NULL, NULL },
};

static void test_build_manifest(void **state)
{
	const bp_descriptor cfg = { BP_MEDIA_DOCKER_CONFIG, DA, 7023, NULL, NULL, NULL, NULL };
	const char *want =
		"{\"schemaVersion\":2,\"mediaType\":\"application/"
		"vnd.docker.distribution.manifest.v2+json\","
		"\"config\":{\"mediaType\":\"application/"
		"vnd.docker.container.image.v1+json\",\"size\":7023,"
		"\"digest\":\"" DA "\"},\"layers\":["
		"{\"mediaType\":\"application/"
		"vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":32654,\"digest\":\"" DB "\"},"
		"{\"mediaType\":\"application/"
		"vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":16724,\"digest\":\"" DC "\"},"
		"{\"mediaType\":\"application/"
		"vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":10737418240,\"digest\":\"" DD
		"\"}]}";
	char *out, *again;
	size_t len, len2;
	bp_manifest *m;
	size_t i;

	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_DOCKER_V2, &cfg, layers3, 3), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));

	/* build -> parse -> build is byte-exact */
	assert_int_equal(bp_manifest_parse(&m, out, len, CT_DOCKER), 0);
	assert_int_equal(bp_manifest_count(m), 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(bp_manifest_item(m, i)->digest, layers3[i].digest);
		assert_true(bp_manifest_item(m, i)->size == layers3[i].size);
	}
	assert_int_equal(bp_manifest_build(&again, &len2, bp_manifest_kind_get(m),
					   bp_manifest_config(m), bp_manifest_item(m, 0),
					   bp_manifest_count(m)),
			 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, out, len);
	free(again);
	bp_manifest_free(m);
	free(out);

	/* OCI, no layers, and a Docker config in an OCI manifest (caller's choice) */
	assert_int_equal(bp_manifest_build(&out, NULL, BP_MANIFEST_OCI, &cfg, NULL, 0), 0);
	assert_string_equal(
		out,
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/"
		"vnd.docker.container.image.v1+json\",\"size\":7023,"
		"\"digest\":\"" DA "\"},\"layers\":[]}");
	assert_int_equal(bp_manifest_parse(&m, out, strlen(out), NULL), 0);
	assert_int_equal(bp_manifest_kind_get(m), BP_MANIFEST_OCI);
	bp_manifest_free(m);
	free(out);
}

static void test_build_escapes(void **state)
{
	const bp_descriptor cfg = { "a\"b\\c<d>&\n\x01", DEMPTY, 2, NULL, NULL, NULL, NULL };
	char *out;
	bp_manifest *m;

	assert_int_equal(bp_manifest_build(&out, NULL, BP_MANIFEST_OCI, &cfg, NULL, 0), 0);
	assert_non_null(
		strstr(out, "\"mediaType\":\"a\\\"b\\\\c\\u003cd\\u003e\\u0026\\n\\u0001\""));
	assert_int_equal(bp_manifest_parse(&m, out, strlen(out), NULL), 0);
	assert_string_equal(bp_manifest_config(m)->media_type, cfg.media_type);
	bp_manifest_free(m);
	free(out);
}

static void test_build_index(void **state)
{
	const bp_descriptor entries[] = {
		{ BP_MEDIA_OCI_MANIFEST, DB, 1055, "linux", "amd64", NULL, NULL },
		{ BP_MEDIA_OCI_MANIFEST, DC, 1056, "linux", "arm64", "v8", NULL },
		{ BP_MEDIA_OCI_MANIFEST, DD, 7, NULL, NULL, NULL, "2.3.0" },
	};
	const char *want =
		"{\"schemaVersion\":2,\"mediaType\":\"application/"
		"vnd.oci.image.index.v1+json\",\"manifests\":["
		"{\"mediaType\":\"application/"
		"vnd.oci.image.manifest.v1+json\",\"size\":1055,\"digest\":\"" DB "\","
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
		"{\"mediaType\":\"application/"
		"vnd.oci.image.manifest.v1+json\",\"size\":1056,\"digest\":\"" DC "\","
		"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
		"{\"mediaType\":\"application/"
		"vnd.oci.image.manifest.v1+json\",\"size\":7,\"digest\":\"" DD "\","
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"2.3.0\"}}]}";
	char *out, *again;
	size_t len, len2;
	bp_manifest *m;

	assert_int_equal(bp_manifest_build_index(&out, &len, BP_MANIFEST_OCI_INDEX, entries, 3), 0);
	assert_string_equal(out, want);
	assert_int_equal(bp_manifest_parse(&m, out, len, CT_INDEX), 0);
	assert_string_equal(bp_manifest_item(m, 1)->variant, "v8");
	assert_string_equal(bp_manifest_item(m, 2)->ref_name, "2.3.0");
	assert_int_equal(bp_manifest_build_index(&again, &len2, BP_MANIFEST_OCI_INDEX,
						 bp_manifest_item(m, 0), bp_manifest_count(m)),
			 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, out, len);
	free(again);
	bp_manifest_free(m);
	free(out);

	/* a Docker manifest list round trip, and the parsed spec example rebuilt */
	assert_int_equal(bp_manifest_build_index(&out, &len, BP_MANIFEST_DOCKER_LIST, entries, 2),
			 0);
	assert_non_null(strstr(out, "\"mediaType\":\"" CT_LIST "\""));
	assert_int_equal(bp_manifest_parse(&m, out, len, CT_LIST), 0);
	assert_int_equal(bp_manifest_kind_get(m), BP_MANIFEST_DOCKER_LIST);
	bp_manifest_free(m);
	free(out);

	/* empty index */
	assert_int_equal(bp_manifest_build_index(&out, &len, BP_MANIFEST_OCI_INDEX, NULL, 0), 0);
	assert_string_equal(out, "{\"schemaVersion\":2,\"mediaType\":\"" CT_INDEX
				 "\",\"manifests\":[]}");
	free(out);
}

static void test_build_errors(void **state)
{
	const bp_descriptor cfg = { BP_MEDIA_OCI_CONFIG, DA, 2, NULL, NULL, NULL, NULL };
	const bp_descriptor bad_digest = {
		BP_MEDIA_OCI_LAYER, "sha256:abc", 2, NULL, NULL, NULL, NULL
	};
	const bp_descriptor sha512 = {
		BP_MEDIA_OCI_LAYER,
		"sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		2,
		NULL,
		NULL,
		NULL,
		NULL
	};
	const bp_descriptor negative = { BP_MEDIA_OCI_LAYER, DB, -1, NULL, NULL, NULL, NULL };
	const bp_descriptor no_type = { NULL, DB, 1, NULL, NULL, NULL, NULL };
	const bp_descriptor os_only = { BP_MEDIA_OCI_MANIFEST, DB, 1, "linux", NULL, NULL, NULL };
	const bp_descriptor variant_only = { BP_MEDIA_OCI_MANIFEST, DB, 1, NULL, NULL, "v8", NULL };
	char *out = (char *)1;
	size_t len = 99;

	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_OCI_INDEX, &cfg, NULL, 0),
			 BP_EINVAL);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_non_null(strstr(bp_error_last(), "not an image manifest"));
	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_UNKNOWN, &cfg, NULL, 0),
			 BP_EINVAL);
	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_OCI, NULL, NULL, 0), BP_EINVAL);
	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_OCI, &cfg, &bad_digest, 1),
			 BP_EINVAL);
	assert_non_null(
		strstr(bp_error_last(), "cannot build manifest: layers[0]: invalid digest"));
	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_OCI, &bad_digest, NULL, 0),
			 BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "config: invalid digest"));
	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_OCI, &cfg, &sha512, 1),
			 BP_EUNSUPPORTED);
	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_OCI, &cfg, &negative, 1),
			 BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "layers[0] has negative size -1"));
	assert_int_equal(bp_manifest_build(&out, &len, BP_MANIFEST_OCI, &cfg, &no_type, 1),
			 BP_EINVAL);
	assert_non_null(strstr(bp_error_last(), "layers[0] has no media type"));
	assert_int_equal(bp_manifest_build_index(&out, &len, BP_MANIFEST_OCI, &cfg, 1), BP_EINVAL);
	assert_int_equal(bp_manifest_build_index(&out, &len, BP_MANIFEST_OCI_INDEX, &os_only, 1),
			 BP_EINVAL);
	assert_non_null(
		strstr(bp_error_last(), "manifests[0] platform needs both os and architecture"));
	assert_int_equal(
		bp_manifest_build_index(&out, &len, BP_MANIFEST_OCI_INDEX, &variant_only, 1),
		BP_EINVAL);
	assert_null(out);
}

/* An index offering the usual platforms, and an attestation entry. */
#define PLAT(os, arch) ENTRY(",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"}")
#define PLATV(os, arch, v)                                                                      \
	ENTRY(",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\",\"variant\":\"" v \
	      "\"}")

/* clang-format off */
static const char platforms_index[] = IDX_HEAD "\"manifests\":["
	PLAT("linux", "amd64") ","
	PLATV("linux", "arm64", "v8") ","
	PLATV("linux", "arm", "v7") ","
	PLATV("linux", "arm", "v6") ","
	PLAT("linux", "ppc64le") ","
	PLAT("windows", "amd64") ","
	PLAT("unknown", "unknown") ","
	ENTRY("") "]}";

/* An index whose arm64 and arm entries have no variant. */
static const char novariant_index[] = IDX_HEAD "\"manifests\":["
	PLAT("linux", "arm64") ","
	PLAT("linux", "arm") ","
	PLATV("linux", "amd64", "v3") "]}";
/* clang-format on */

static const struct {
	const char *index;
	const char *platform;
	int code;
	int want; /* the entry picked */
} platform_rows[] = {
	{ platforms_index, "linux/amd64", 0, 0 },
	{ platforms_index, "linux/arm64", 0, 1 },
	{ platforms_index, "linux/arm64/v8", 0, 1 },
	{ platforms_index, "linux/arm", 0, 2 },
	{ platforms_index, "linux/arm/v7", 0, 2 },
	{ platforms_index, "linux/arm/v6", 0, 3 },
	{ platforms_index, "linux/ppc64le", 0, 4 },
	{ platforms_index, "windows/amd64", 0, 5 },
	{ platforms_index, "linux/x86_64", 0, 0 },
	{ platforms_index, "linux/aarch64", 0, 1 },
	{ platforms_index, "linux/amd64/v1", 0, 0 },
	{ platforms_index, "linux/s390x", BP_ENOTFOUND, -1 },
	{ platforms_index, "linux/arm64/v9", BP_ENOTFOUND, -1 },
	{ platforms_index, "linux/arm/v5", BP_ENOTFOUND, -1 },
	{ platforms_index, "linux/amd64/v3", BP_ENOTFOUND, -1 },
	{ platforms_index, "darwin/amd64", BP_ENOTFOUND, -1 },
	{ platforms_index, "Linux/amd64", BP_ENOTFOUND, -1 },
	{ platforms_index, "linux", BP_EINVAL, -1 },
	{ platforms_index, "linux/", BP_EINVAL, -1 },
	{ platforms_index, "/amd64", BP_EINVAL, -1 },
	{ platforms_index, "linux/arm/", BP_EINVAL, -1 },
	{ platforms_index, "linux/arm/v7/x", BP_EINVAL, -1 },
	{ platforms_index, "", BP_EINVAL, -1 },
	{ novariant_index, "linux/arm64", 0, 0 },
	{ novariant_index, "linux/arm64/v8", 0, 0 },
	{ novariant_index, "linux/arm", 0, 1 },
	{ novariant_index, "linux/arm/v7", 0, 1 },
	{ novariant_index, "linux/arm/v6", BP_ENOTFOUND, -1 },
	{ novariant_index, "linux/amd64", BP_ENOTFOUND, -1 },
	{ novariant_index, "linux/amd64/v3", 0, 2 },
};

static void test_select_platform_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(platform_rows) / sizeof(platform_rows[0]); i++) {
		const bp_descriptor *d = (const bp_descriptor *)1;
		bp_manifest *m;
		int r;

		assert_int_equal(bp_manifest_parse(&m, platform_rows[i].index,
						   strlen(platform_rows[i].index), NULL),
				 0);
		r = bp_manifest_select_platform(m, platform_rows[i].platform, &d);
		if (r != platform_rows[i].code)
			fail_msg("platform row %zu %s: got %d (%s)", i, platform_rows[i].platform,
				 r, bp_error_last());
		if (r == 0 && d != bp_manifest_item(m, (size_t)platform_rows[i].want))
			fail_msg("platform row %zu %s: wrong entry", i, platform_rows[i].platform);
		if (r != 0)
			assert_null(d);
		bp_manifest_free(m);
	}
	print_message("# %zu platform rows\n", sizeof(platform_rows) / sizeof(platform_rows[0]));
}

static void test_select_platform_message(void **state)
{
	/* clang-format off */
	static const char two[] = IDX_HEAD "\"manifests\":["
		PLAT("linux", "amd64") ","
		PLATV("linux", "arm64", "v8") ","
		PLAT("unknown", "unknown") "]}";
	/* clang-format on */
	const bp_descriptor *d;
	bp_manifest *m;

	assert_int_equal(bp_manifest_parse(&m, two, strlen(two), NULL), 0);
	assert_int_equal(bp_manifest_select_platform(m, "linux/s390x", &d), BP_ENOTFOUND);
	assert_string_equal(
		bp_error_last(),
		"platform linux/s390x not in index; it offers linux/amd64, linux/arm64/v8");
	assert_int_equal(bp_error_last_code(), BP_ENOTFOUND);
	assert_int_equal(bp_manifest_select_platform(m, "linux", &d), BP_EINVAL);
	assert_string_equal(bp_error_last(),
			    "invalid platform \"linux\": want os/arch[/variant], as linux/amd64");
	bp_manifest_free(m);

	assert_int_equal(bp_manifest_parse(&m, layout_index, strlen(layout_index), NULL), 0);
	assert_int_equal(bp_manifest_select_platform(m, "linux/amd64", &d), BP_ENOTFOUND);
	assert_string_equal(bp_error_last(),
			    "platform linux/amd64 not in index; it offers no platforms");
	bp_manifest_free(m);

	/* an image manifest has no platforms to choose from */
	assert_int_equal(bp_manifest_parse(&m, docker_v2, strlen(docker_v2), NULL), 0);
	assert_int_equal(bp_manifest_select_platform(m, "linux/amd64", &d), BP_EINVAL);
	assert_null(d);
	bp_manifest_free(m);
}

static void test_platform_default(void **state)
{
	const char *p = bp_platform_default();
	struct utsname u;

	assert_non_null(p);
	assert_ptr_equal(p, bp_platform_default());
	assert_non_null(strchr(p, '/'));
	assert_int_equal(uname(&u), 0);
	if (strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0)
		assert_string_equal(p, "linux/amd64");
	if (strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "aarch64") == 0)
		assert_string_equal(p, "linux/arm64");
}

static void test_kind_of(void **state)
{
	assert_int_equal(bp_manifest_kind_of(BP_MEDIA_DOCKER_MANIFEST), BP_MANIFEST_DOCKER_V2);
	assert_int_equal(bp_manifest_kind_of(BP_MEDIA_DOCKER_LIST), BP_MANIFEST_DOCKER_LIST);
	assert_int_equal(bp_manifest_kind_of(BP_MEDIA_OCI_MANIFEST), BP_MANIFEST_OCI);
	assert_int_equal(bp_manifest_kind_of(BP_MEDIA_OCI_INDEX), BP_MANIFEST_OCI_INDEX);
	assert_int_equal(bp_manifest_kind_of(BP_MEDIA_OCI_CONFIG), BP_MANIFEST_UNKNOWN);
	assert_int_equal(bp_manifest_kind_of(""), BP_MANIFEST_UNKNOWN);
	assert_int_equal(bp_manifest_kind_of(NULL), BP_MANIFEST_UNKNOWN);
	assert_true(bp_manifest_kind_is_index(BP_MANIFEST_DOCKER_LIST));
	assert_true(bp_manifest_kind_is_index(BP_MANIFEST_OCI_INDEX));
	assert_false(bp_manifest_kind_is_index(BP_MANIFEST_OCI));
	assert_false(bp_manifest_kind_is_index(BP_MANIFEST_DOCKER_V2));
	assert_false(bp_manifest_kind_is_index(BP_MANIFEST_UNKNOWN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_docker_v2_fields),
		cmocka_unit_test(test_index_fields),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_build_manifest),
		cmocka_unit_test(test_build_escapes),
		cmocka_unit_test(test_build_index),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_select_platform_table),
		cmocka_unit_test(test_select_platform_message),
		cmocka_unit_test(test_platform_default),
		cmocka_unit_test(test_kind_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
