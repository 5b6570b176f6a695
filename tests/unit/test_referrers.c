/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "referrers.h"
#include "registry_int.h"

#include <beampush/client.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "127.0.0.1:5000"
#define BASE "http://127.0.0.1:5000"
#define REPO "beam/python"
#define SUBJECT "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define HEX1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define MT "application/vnd.oci.image.manifest.v1+json"
#define IDX "application/vnd.oci.image.index.v1+json"
#define ENTRY_A "{\"mediaType\":\"" MT "\",\"digest\":\"" D_A "\",\"size\":12"
#define ENTRY_B "{\"mediaType\":\"" MT "\",\"digest\":\"" D_B "\",\"size\":34"
#define INDEX_OF(entries) \
	"{\"schemaVersion\":2,\"mediaType\":\"" IDX "\",\"manifests\":[" entries "]}"

/* ---- the referrers tag schema ---- */

static const struct {
	const char *digest, *tag;
} tags[] = {
	{ SUBJECT, "sha256-" HEX1 },
	/* the encoded part cut to 64 */
	{ "sha512:" HEX1 HEX1, "sha512-" HEX1 },
	/* the spec's own example: the algorithm cut to 32, '+' and '=' made '-' */
	{ "test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+"
	  "truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharacters"
	  "ToExcerciseEncodedTruncation",
	  "test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAnd"
	  "LotsAndLot" },
};

static void test_tag_table(void **state)
{
	char out[BP_REFERRERS_TAG_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		bp_referrers__tag(tags[i].digest, out);
		if (strcmp(out, tags[i].tag) != 0)
			fail_msg("row %zu: tag %s, want %s", i, out, tags[i].tag);
	}
}

/* ---- parsing an index of referrers ---- */

static const struct {
	const char *body;
	int rc;
	size_t n;		 /* entries then */
	const char *type0;	 /* the first's artifactType, or NULL */
	size_t nann0;		 /* its annotations */
	const char *want_in_msg; /* a piece of the message, on error */
} parses[] = {
	{ INDEX_OF(""), 0, 0, NULL, 0, NULL },
	{ INDEX_OF(ENTRY_A ",\"artifactType\":\"x/y\",\"annotations\":{\"k\":\"v\",\"l\":\"w\"}}"),
	  0, 1, "x/y", 2, NULL },
	/* a second entry for a digest listed: kept once */
	{ INDEX_OF(ENTRY_A "}," ENTRY_B "}," ENTRY_A ",\"artifactType\":\"dup\"}"), 0, 2, NULL, 0,
	  NULL },
	/* mediaType may be left out, as the OCI index allows */
	{ "{\"schemaVersion\":2,\"manifests\":[" ENTRY_A "}]} \n", 0, 1, NULL, 0, NULL },
	/* not an index at all */
	{ "", BP_EUNSUPPORTED, 0, NULL, 0, "empty" },
	{ "<html>Welcome</html>", BP_EUNSUPPORTED, 0, NULL, 0, "not JSON" },
	{ INDEX_OF("") "x", BP_EUNSUPPORTED, 0, NULL, 0, "not JSON" },
	{ "[1,2]", BP_EUNSUPPORTED, 0, NULL, 0, "without a manifests array" },
	{ "{\"schemaVersion\":2,\"manifests\":{}}", BP_EUNSUPPORTED, 0, NULL, 0,
	  "manifests array" },
	{ "{\"mediaType\":\"" MT "\",\"config\":{},\"layers\":[]}", BP_EUNSUPPORTED, 0, NULL, 0,
	  "of media type " MT },
	{ "{\"mediaType\":\"" MT "\",\"manifests\":[]}", BP_EUNSUPPORTED, 0, NULL, 0,
	  "media type" },
	{ "{\"mediaType\":7,\"manifests\":[]}", BP_EUNSUPPORTED, 0, NULL, 0, "manifests array" },
	/* an index whose entries are wrong */
	{ INDEX_OF("7"), BP_EPROTO, 0, NULL, 0, "manifests[0]: not a JSON object" },
	{ INDEX_OF(ENTRY_A "}, {\"digest\":\"" D_B "\",\"size\":1}"), BP_EPROTO, 0, NULL, 0,
	  "manifests[1]: no mediaType" },
	{ INDEX_OF("{\"mediaType\":\"" MT "\",\"digest\":\"sha256:12\",\"size\":1}"), BP_EPROTO, 0,
	  NULL, 0, "no valid digest" },
	{ INDEX_OF("{\"mediaType\":\"" MT "\",\"digest\":\"" D_A "\",\"size\":-1}"), BP_EPROTO, 0,
	  NULL, 0, "no valid size" },
	{ INDEX_OF("{\"mediaType\":\"" MT "\",\"digest\":\"" D_A "\",\"size\":1.5}"), BP_EPROTO, 0,
	  NULL, 0, "no valid size" },
	{ INDEX_OF("{\"mediaType\":\"" MT "\",\"digest\":\"" D_A "\",\"size\":1e300}"), BP_EPROTO,
	  0, NULL, 0, "no valid size" },
	{ INDEX_OF(ENTRY_A ",\"artifactType\":5}"), BP_EPROTO, 0, NULL, 0,
	  "artifactType is not a string" },
	{ INDEX_OF(ENTRY_A ",\"annotations\":[]}"), BP_EPROTO, 0, NULL, 0,
	  "annotations is not an object" },
	{ INDEX_OF(ENTRY_A ",\"annotations\":{\"k\":{\"deep\":1}}}"), BP_EPROTO, 0, NULL, 0,
	  "an annotation is not a string" },
	/* one that names its own subject */
	{ INDEX_OF(ENTRY_A "},{\"mediaType\":\"" MT "\",\"digest\":\"" SUBJECT "\",\"size\":3}"),
	  BP_EPROTO, 0, NULL, 0, "manifests[1] is " SUBJECT " itself" },
};

static void test_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parses) / sizeof(parses[0]); i++) {
		bp_referrers_list l = BP_REFERRERS_LIST_INIT;
		const char *b = parses[i].body;
		int rc = bp_referrers__parse(b, strlen(b), SUBJECT, &l);

		if (rc != parses[i].rc || l.n != parses[i].n)
			fail_msg("row %zu: rc %d n %zu (%s), want %d %zu", i, rc, l.n,
				 bp_error_last(), parses[i].rc, parses[i].n);
		if (parses[i].want_in_msg && !strstr(bp_error_last(), parses[i].want_in_msg))
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, bp_error_last(),
				 parses[i].want_in_msg);
		if (l.n && ((parses[i].type0 == NULL) != (l.v[0].artifact_type == NULL) ||
			    (parses[i].type0 && strcmp(parses[i].type0, l.v[0].artifact_type)) ||
			    l.v[0].nannotations != parses[i].nann0))
			fail_msg("row %zu: first entry's type %s, %zu annotations", i,
				 l.v[0].artifact_type ? l.v[0].artifact_type : "(none)",
				 l.v[0].nannotations);
		bp_referrers__list_release(&l);
	}
}

/* Pages are added to one list: a page that fails leaves what the others gave. */
static void test_parse_pages(void **state)
{
	static const char one[] = INDEX_OF(ENTRY_A "}");
	static const char two[] = INDEX_OF(ENTRY_B "}," ENTRY_A "}");
	static const char bad[] = INDEX_OF("{\"mediaType\":\"" MT "\"}");
	bp_referrers_list l = BP_REFERRERS_LIST_INIT;

	(void)state;
	assert_int_equal(bp_referrers__parse(one, strlen(one), NULL, &l), 0);
	assert_int_equal(bp_referrers__parse(two, strlen(two), NULL, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].digest, D_B);
	assert_int_equal(bp_referrers__parse(bad, strlen(bad), NULL, &l), BP_EPROTO);
	assert_int_equal(l.n, 2);
	assert_true(bp_referrers__list_has(&l, D_A) && bp_referrers__list_has(&l, D_B));
	assert_false(bp_referrers__list_has(&l, SUBJECT));
	bp_referrers__list_release(&l);
}

/* More than BP_REFERRERS_MAX referrers: refused, the list as it was. */
static void test_parse_too_many(void **state)
{
	bp_referrers_list l = BP_REFERRERS_LIST_INIT;
	size_t i, n = BP_REFERRERS_MAX + 1, cap = n * 200 + 200, o;
	char *body = malloc(cap);

	(void)state;
	assert_non_null(body);
	o = (size_t)snprintf(body, cap, "{\"manifests\":[");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(
			body + o, cap - o,
			"%s{\"mediaType\":\"%s\",\"digest\":\"sha256:%064zx\",\"size\":1}",
			i ? "," : "", MT, i);
	o += (size_t)snprintf(body + o, cap - o, "]}");
	assert_int_equal(bp_referrers__parse(body, o, NULL, &l), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "more than 10000 referrers"));
	assert_int_equal(l.n, 0);
	bp_referrers__list_release(&l);
	free(body);
}

/* ---- the entry a manifest gets ---- */

static const struct {
	const char *media_type, *body;
	int rc;
	const char *type; /* artifactType of the entry, or NULL */
	size_t nann;
	const char *subject; /* "" when none */
} describes[] = {
	{ MT,
	  "{\"artifactType\":\"application/spdx+json\",\"config\":{\"mediaType\":\"x/c\"},"
	  "\"subject\":{\"digest\":\"" SUBJECT "\"},\"annotations\":{\"a\":\"b\"}}",
	  0, "application/spdx+json", 1, SUBJECT },
	/* no artifactType: an image manifest's config says */
	{ MT, "{\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\"}}", 0,
	  "application/vnd.oci.empty.v1+json", 0, "" },
	/* an empty artifactType is none */
	{ MT, "{\"artifactType\":\"\",\"config\":{\"mediaType\":\"x/c\"}}", 0, "x/c", 0, "" },
	/* an index has none unless it says */
	{ IDX, "{\"manifests\":[],\"subject\":{\"digest\":\"" SUBJECT "\"}}", 0, NULL, 0, SUBJECT },
	/* a subject that is no digest is none */
	{ MT, "{\"subject\":{\"digest\":\"md5:1\"}}", 0, NULL, 0, "" },
	{ MT, "[]", BP_EPROTO, NULL, 0, "" },
	{ MT, "{\"artifactType\":1}", BP_EPROTO, NULL, 0, "" },
	{ MT, "{\"annotations\":{\"a\":1}}", BP_EPROTO, NULL, 0, "" },
};

static void test_describe_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(describes) / sizeof(describes[0]); i++) {
		bp_referrers_list l = BP_REFERRERS_LIST_INIT;
		char subject[BP_DIGEST_MAX] = "x";
		const char *b = describes[i].body;
		int rc = bp_referrers__describe(b, strlen(b), describes[i].media_type, D_A, &l,
						subject);

		if (rc != describes[i].rc)
			fail_msg("row %zu: rc %d (%s), want %d", i, rc, bp_error_last(),
				 describes[i].rc);
		if (rc == 0 &&
		    (l.n != 1 || l.v[0].size != (int64_t)strlen(b) ||
		     strcmp(l.v[0].media_type, describes[i].media_type) ||
		     (describes[i].type == NULL) != (l.v[0].artifact_type == NULL) ||
		     (describes[i].type && strcmp(describes[i].type, l.v[0].artifact_type)) ||
		     l.v[0].nannotations != describes[i].nann ||
		     strcmp(subject, describes[i].subject)))
			fail_msg("row %zu: entry %s %s, subject %s", i,
				 l.n ? l.v[0].media_type : "-",
				 l.n && l.v[0].artifact_type ? l.v[0].artifact_type : "-", subject);
		bp_referrers__list_release(&l);
	}
}

/* ---- a registry behind the seam ---- */

/* One canned answer. */
typedef struct {
	long status;
	const char *ctype; /* NULL: none */
	const char *body;
	const char *etag; /* NULL: none */
} answer;

/* The registry the seam plays: the API's first answer, the referrers tag, its writes. */
typedef struct {
	answer api;	   /* GET .../referrers/<digest> */
	int endless;	   /* the API pages without end, each page empty */
	const char *tag;   /* the index under the referrers tag; NULL: none */
	char etag[80];	   /* the tag's ETag ("" with etag_off) */
	int etag_off;	   /* the registry sends no ETag */
	int conflicts;	   /* PUTs of the tag answered 412 still */
	char *stored;	   /* what the last good PUT stored */
	char if_match[80]; /* the If-Match the last PUT of the tag sent, or "" */
	size_t api_gets, tag_gets, tag_heads, tag_puts;
} fake;

static void header(bp_http_response *resp, const char *fmt, const char *v)
{
	char line[512];

	snprintf(line, sizeof(line), fmt, v);
	assert_int_equal(bp_http__parse_header(resp, line, strlen(line)), 0);
}

/* Fill resp with a (body to req->resp, or to err_body when not 2xx). */
static void give(const bp_http_request *req, bp_http_response *resp, const answer *a)
{
	char status[64];

	snprintf(status, sizeof(status), "HTTP/1.1 %ld X\r\n", a->status);
	header(resp, "%s", status);
	if (a->ctype)
		header(resp, "Content-Type: %s\r\n", a->ctype);
	if (a->etag)
		header(resp, "ETag: %s\r\n", a->etag);
	if (!a->body || !strcmp(req->method, "HEAD"))
		return;
	if (a->status >= 200 && a->status < 300 && req->resp)
		assert_int_equal(bp_dynbuf_adds(req->resp, a->body), 0);
	else
		bp_dynbuf_adds(&resp->err_body, a->body);
}

static const char *if_match(const bp_http_request *req)
{
	const char *const *h;

	for (h = req->headers; h && *h; h++)
		if (!strncmp(*h, "If-Match: ", 10))
			return *h + 10;
	return NULL;
}

static int fake_send(const bp_http_request *req, bp_http_response *resp, void *payload)
{
	fake *f = payload;
	answer a = { 404, "application/json", "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}",
		     NULL };

	bp_http__response_release(resp);
	resp->url = strdup(req->url);
	if (strstr(req->url, "/referrers/")) {
		f->api_gets++;
		if (f->endless) {
			char link[200];

			give(req, resp, &(answer){ 200, IDX, INDEX_OF(""), NULL });
			snprintf(link, sizeof(link),
				 "Link: </v2/" REPO "/referrers/" SUBJECT
				 "?page=%zu>; rel=\"next\"\r\n",
				 f->api_gets);
			header(resp, "%s", link);
			return 0;
		}
		give(req, resp, &f->api);
		return 0;
	}
	assert_non_null(strstr(req->url, "/manifests/sha256-" HEX1));
	if (!strcmp(req->method, "PUT")) {
		const char *im = if_match(req);

		f->tag_puts++;
		snprintf(f->if_match, sizeof(f->if_match), "%s", im ? im : "");
		if (f->conflicts > 0) {
			f->conflicts--;
			give(req, resp,
			     &(answer){ 412, "application/json",
					"{\"errors\":[{\"code\":\"PRECONDITION\"}]}", NULL });
			return 0;
		}
		free(f->stored);
		f->stored = strndup(req->body, (size_t)req->body_len);
		give(req, resp, &(answer){ 201, NULL, NULL, NULL });
		return 0;
	}
	if (!strcmp(req->method, "HEAD"))
		f->tag_heads++;
	else
		f->tag_gets++;
	if (f->tag) {
		a.status = 200;
		a.ctype = IDX;
		a.body = f->tag;
		a.etag = f->etag_off ? NULL : f->etag;
	}
	give(req, resp, &a);
	return 0;
}

static void nap(double secs, void *payload)
{
	(void)secs;
	(void)payload;
}

static bp_registry *seamed(fake *f)
{
	static bp_registry_seam seam;
	bp_registry_options opts = { 0 };
	bp_registry *r = NULL;

	seam = (bp_registry_seam){ fake_send, nap, f };
	assert_int_equal(bp_registry__new(&r, DOMAIN, NULL, &opts), 0);
	assert_int_equal(bp_registry__set_seam(r, BASE, &seam), 0);
	return r;
}

#define TAG_INDEX INDEX_OF(ENTRY_B ",\"artifactType\":\"t/b\"}")

/* How registries answer the API, and where the list then comes from. */
static const struct {
	answer api;
	int rc;
	bp_referrers_source source;
	size_t n;
} finds[] = {
	{ { 200, IDX, INDEX_OF(ENTRY_A "}"), NULL }, 0, BP_REFERRERS_FROM_API, 1 },
	{ { 200, IDX, INDEX_OF(""), NULL }, 0, BP_REFERRERS_FROM_API, 0 },
	/* no API, said in each of the usual ways */
	{ { 404, "text/plain", "404 page not found\n", NULL }, 0, BP_REFERRERS_FROM_TAG, 1 },
	{ { 400, "application/json", "{\"errors\":[{\"code\":\"TAG_INVALID\"}]}", NULL },
	  0,
	  BP_REFERRERS_FROM_TAG,
	  1 },
	{ { 405, NULL, NULL, NULL }, 0, BP_REFERRERS_FROM_TAG, 1 },
	{ { 406, NULL, NULL, NULL }, 0, BP_REFERRERS_FROM_TAG, 1 },
	{ { 501, NULL, NULL, NULL }, 0, BP_REFERRERS_FROM_TAG, 1 },
	{ { 409, "application/json", "{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}", NULL },
	  0,
	  BP_REFERRERS_FROM_TAG,
	  1 },
	{ { 410, "application/json", "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}", NULL },
	  0,
	  BP_REFERRERS_FROM_TAG,
	  1 },
	{ { 200, "text/html", "<html>registry</html>", NULL }, 0, BP_REFERRERS_FROM_TAG, 1 },
	{ { 200, IDX, "{\"manifests\":null}", NULL }, 0, BP_REFERRERS_FROM_TAG, 1 },
	{ { 200, MT, "{\"mediaType\":\"" MT "\",\"layers\":[]}", NULL },
	  0,
	  BP_REFERRERS_FROM_TAG,
	  1 },
	/* what is no verdict on the API */
	{ { 403, "application/json", "{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}", NULL },
	  BP_EAUTH,
	  0,
	  0 },
	{ { 429, "application/json", "{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}", NULL },
	  BP_ERROR,
	  0,
	  0 },
	{ { 409, "application/json", "{\"errors\":[{\"code\":\"CONFLICT\"}]}", NULL },
	  BP_ERROR,
	  0,
	  0 },
	{ { 500, NULL, NULL, NULL }, BP_ERROR, 0, 0 },
	{ { 200, IDX, INDEX_OF("{\"mediaType\":\"" MT "\"}"), NULL }, BP_EPROTO, 0, 0 },
};

static void test_find_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(finds) / sizeof(finds[0]); i++) {
		fake f;
		bp_registry *r;
		bp_referrers_found got;
		int api = BP_REFERRERS_API_UNKNOWN, rc;
		bp_referrers_query q = { NULL, NULL, NULL, NULL, &api };

		memset(&f, 0, sizeof(f));
		f.api = finds[i].api;
		f.tag = TAG_INDEX;
		r = seamed(&f);
		rc = bp_referrers__find(r, REPO, SUBJECT, &q, &got);
		if (rc != finds[i].rc ||
		    (!rc && (got.source != finds[i].source || got.list.n != finds[i].n)))
			fail_msg("row %zu (%ld): rc %d (%s) source %d n %zu, want %d %d %zu", i,
				 finds[i].api.status, rc, bp_error_last(),
				 rc ? -1 : (int)got.source, rc ? 0 : got.list.n, finds[i].rc,
				 finds[i].source, finds[i].n);
		if (!rc && got.source == BP_REFERRERS_FROM_TAG &&
		    (api != BP_REFERRERS_API_NO || !got.note || f.tag_heads != 1 ||
		     f.tag_gets != 1 || strcmp(got.list.v[0].artifact_type, "t/b")))
			fail_msg("row %zu: from the tag, api %d, note %s, %zu HEAD %zu GET", i, api,
				 got.note ? got.note : "(none)", f.tag_heads, f.tag_gets);
		if (!rc && got.source == BP_REFERRERS_FROM_API &&
		    (api != BP_REFERRERS_API_YES || f.tag_heads || f.tag_gets))
			fail_msg("row %zu: from the API, api %d, the tag asked", i, api);
		if (!rc)
			bp_referrers__found_release(&got);
		/* known to have no API, the next find asks the tag only */
		if (!rc && api == BP_REFERRERS_API_NO) {
			f.api_gets = 0;
			assert_int_equal(bp_referrers__find(r, REPO, SUBJECT, &q, &got), 0);
			assert_int_equal(f.api_gets, 0);
			bp_referrers__found_release(&got);
		}
		bp_registry__free(r);
	}
}

/* No API, and the tag: absent, or holding no index (ignored, noted). */
static void test_find_tag_absent_or_not_index(void **state)
{
	fake f;
	bp_registry *r;
	bp_referrers_found got;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.api = (answer){ 404, NULL, NULL, NULL };
	r = seamed(&f);
	assert_int_equal(bp_referrers__find(r, REPO, SUBJECT, NULL, &got), 0);
	assert_int_equal(got.source, BP_REFERRERS_FROM_NONE);
	assert_int_equal(got.tag_ignored, 0);
	assert_int_equal(f.tag_gets, 0);
	bp_referrers__found_release(&got);
	f.tag = "{\"schemaVersion\":2,\"mediaType\":\"" MT "\",\"config\":{},\"layers\":[]}";
	assert_int_equal(bp_referrers__find(r, REPO, SUBJECT, NULL, &got), 0);
	assert_int_equal(got.source, BP_REFERRERS_FROM_NONE);
	assert_int_equal(got.tag_ignored, 1);
	assert_non_null(strstr(got.note, "holds no index of referrers: ignored (of media type"));
	bp_referrers__found_release(&got);
	bp_registry__free(r);
}

/* A list whose pages never end, each empty: cut at BP_REFERRERS_PAGES_MAX pages. */
static void test_pages_forever(void **state)
{
	fake f;
	bp_registry *r;
	bp_referrers_found got;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.endless = 1;
	r = seamed(&f);
	assert_int_equal(bp_referrers__find(r, REPO, SUBJECT, NULL, &got), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "more than 1000 pages, giving up"));
	assert_int_equal(f.api_gets, BP_REFERRERS_PAGES_MAX);
	bp_registry__free(r);
}

/* ---- keeping the index under the tag ---- */

/* A list of referrers, from an index's bytes. */
static bp_referrers_list list_of(const char *index)
{
	bp_referrers_list l = BP_REFERRERS_LIST_INIT;

	assert_int_equal(bp_referrers__parse(index, strlen(index), NULL, &l), 0);
	return l;
}

static void test_tag_add(void **state)
{
	bp_client *c = NULL;
	bp_registry *r;
	bp_referrers_list add =
		list_of(INDEX_OF(ENTRY_A ",\"artifactType\":\"t/a\","
					 "\"annotations\":{\"k\":\"v\"}}," ENTRY_B "}"));
	fake f;
	size_t added = 9;

	(void)state;
	assert_int_equal(bp_client_new(&c, NULL), 0);
	memset(&f, 0, sizeof(f));
	r = seamed(&f);

	/* none yet: an index of both, unconditional (no ETag to match) */
	assert_int_equal(bp_referrers__tag_add(c, r, REPO, SUBJECT, &add, &added), 0);
	assert_int_equal(added, 2);
	assert_int_equal(f.tag_puts, 1);
	assert_string_equal(f.if_match, "");
	assert_string_equal(f.stored,
			    INDEX_OF(ENTRY_A ",\"artifactType\":\"t/a\","
					     "\"annotations\":{\"k\":\"v\"}}," ENTRY_B "}"));

	/* one there with a member of its own: kept as it is, first; If-Match its ETag */
	f.tag = "{\"schemaVersion\":2,\"manifests\":[" ENTRY_B
		",\"x\":1}],\"annotations\":{\"o\":\"p\"}}";
	snprintf(f.etag, sizeof(f.etag), "\"sha256:0123\"");
	assert_int_equal(bp_referrers__tag_add(c, r, REPO, SUBJECT, &add, &added), 0);
	assert_int_equal(added, 1);
	assert_string_equal(f.if_match, "\"sha256:0123\"");
	assert_string_equal(f.stored,
			    "{\"schemaVersion\":2,\"manifests\":[" ENTRY_B ",\"x\":1}," ENTRY_A
			    ",\"artifactType\":\"t/a\",\"annotations\":{\"k\":"
			    "\"v\"}}],\"annotations\":{\"o\":\"p\"}}");

	/* every entry there: nothing written */
	f.tag = INDEX_OF(ENTRY_B "}," ENTRY_A "}");
	f.tag_puts = 0;
	assert_int_equal(bp_referrers__tag_add(c, r, REPO, SUBJECT, &add, &added), 0);
	assert_int_equal(added, 0);
	assert_int_equal(f.tag_puts, 0);

	/* two races lost: read and merged again, the third write goes */
	f.tag = INDEX_OF("");
	f.conflicts = 2;
	f.tag_gets = f.tag_puts = 0;
	assert_int_equal(bp_referrers__tag_add(c, r, REPO, SUBJECT, &add, &added), 0);
	assert_int_equal(f.tag_puts, 3);
	assert_int_equal(f.tag_gets, 3);

	/* every race lost: an error that says so, nothing more tried */
	f.conflicts = 100;
	f.tag_gets = f.tag_puts = 0;
	assert_int_equal(bp_referrers__tag_add(c, r, REPO, SUBJECT, &add, &added), BP_ERROR);
	assert_non_null(strstr(bp_error_last(), "changed under each of 3 writes"));
	assert_int_equal(f.tag_puts, BP_REFERRERS_TAG_TRIES);
	assert_int_equal(added, 0);

	/* the tag holds no index, or a bad one: not overwritten */
	f.conflicts = 0;
	f.tag_puts = 0;
	f.tag = "{\"schemaVersion\":2,\"mediaType\":\"" MT "\",\"config\":{},\"layers\":[]}";
	assert_int_equal(bp_referrers__tag_add(c, r, REPO, SUBJECT, &add, &added), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "not an image index: not overwritten"));
	f.tag = INDEX_OF("{\"digest\":\"" D_A "\"}");
	assert_int_equal(bp_referrers__tag_add(c, r, REPO, SUBJECT, &add, &added), BP_EPROTO);
	assert_non_null(strstr(bp_error_last(), "no mediaType: not overwritten"));
	assert_int_equal(f.tag_puts, 0);

	free(f.stored);
	bp_referrers__list_release(&add);
	bp_registry__free(r);
	bp_client_free(c);
}

/* ---- the digest set ---- */

static void test_set(void **state)
{
	bp_digest_set s;
	char d[BP_DIGEST_MAX];
	size_t i;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 1000; i++) {
		snprintf(d, sizeof(d), "sha256:%064zx", i);
		assert_int_equal(bp_referrers__set_add(&s, d), 1);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(d, sizeof(d), "sha256:%064zx", i);
		assert_int_equal(bp_referrers__set_add(&s, d), 0);
		assert_true(bp_referrers__set_has(&s, d));
	}
	assert_false(bp_referrers__set_has(&s, SUBJECT));
	assert_int_equal(s.n, 1000);
	bp_referrers__set_release(&s);
	assert_false(bp_referrers__set_has(&s, SUBJECT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_table),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_pages),
		cmocka_unit_test(test_parse_too_many),
		cmocka_unit_test(test_describe_table),
		cmocka_unit_test(test_find_table),
		cmocka_unit_test(test_find_tag_absent_or_not_index),
		cmocka_unit_test(test_pages_forever),
		cmocka_unit_test(test_tag_add),
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
