/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a mirror's requests look like (registry options api, query and
 * headers, from a hosts.toml host): the URL of each manifest and blob
 * request and the header lines sent, through the registry seam.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST "sha256:4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865"

typedef struct {
	char url[512];
	int has_header; /* the host's header line went with the request */
	int accept;	/* and the request's own Accept, when it has one */
} seen;

static int on_send(const bp_http_request *req, bp_http_response *resp, void *payload)
{
	seen *s = payload;
	const char *line;
	size_t i;

	snprintf(s->url, sizeof(s->url), "%s", req->url);
	for (i = 0; req->headers && req->headers[i]; i++) {
		s->has_header |= strcmp(req->headers[i], "X-Dragonfly-Registry: https://x") == 0;
		s->accept |= strncmp(req->headers[i], "Accept: ", 8) == 0;
	}
	bp_http__response_release(resp);
	resp->url = strdup(req->url);
	line = "HTTP/1.1 404 Not Found\r\n";
	return bp_http__parse_header(resp, line, strlen(line));
}

static void nap(double secs, void *payload)
{
}

struct row {
	const char *api, *query;
	int blob; /* a blob GET; else a manifest GET */
	const char *url;
};

static const struct row rows[] = {
	{ NULL, NULL, 0, "http://m:5000/v2/library/python/manifests/latest" },
	{ "/v2", "ns=docker.io", 0,
	  "http://m:5000/v2/library/python/manifests/latest?ns=docker.io" },
	{ "/us/v2", "ns=docker.io", 1,
	  "http://m:5000/us/v2/library/python/blobs/" DIGEST "?ns=docker.io" },
	/* override_path: the path is the API root (a Harbor proxy project) */
	{ "/v2/hub-proxy", "ns=127.0.0.1%3A5000", 1,
	  "http://m:5000/v2/hub-proxy/library/python/blobs/" DIGEST "?ns=127.0.0.1%3A5000" },
};

static int drop(const void *data, size_t len, void *payload)
{
	return 0;
}

static void test_urls_and_headers(void **state)
{
	static const char *const headers[] = { "X-Dragonfly-Registry: https://x", NULL };
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		bp_registry_options opts = { 0 };
		seen s = { "", 0, 0 };
		bp_registry_seam seam = { on_send, nap, &s };
		bp_registry *r = NULL;
		char *body = NULL;
		size_t len;
		int err;

		opts.api = w->api;
		opts.query = w->query;
		opts.headers = i ? headers : NULL;
		assert_int_equal(bp_registry__new(&r, "m:5000", NULL, &opts), 0);
		assert_int_equal(bp_registry__set_seam(r, "http://m:5000", &seam), 0);
		if (w->blob)
			err = bp_registry__blob_get(r, "library/python", DIGEST, 10, 0, drop, NULL);
		else
			err = bp_registry__manifest_get(r, "library/python", "latest", &body, &len,
							NULL, NULL);
		assert_int_equal(err, BP_ENOTFOUND);
		if (strcmp(s.url, w->url) != 0)
			fail_msg("row %zu: %s, want %s", i, s.url, w->url);
		assert_int_equal(s.has_header, i ? 1 : 0);
		assert_int_equal(s.accept, w->blob ? 0 : 1);
		free(body);
		bp_registry__free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls_and_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
