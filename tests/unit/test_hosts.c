/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hosts.h"

#include <beampush/common.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALL (BP_HOST_PULL | BP_HOST_RESOLVE | BP_HOST_PUSH)

/* What one host of a file should come out as; NULL strings are not checked. */
struct want_host {
	const char *url, *scheme, *hostport, *path;
	unsigned caps;
	int skip_verify;
	const char *ca0, *cert, *key, *header0, *header1;
	long dial_ms;
};

struct good_row {
	const char *text;
	struct want_host server;
	size_t n;
	struct want_host hosts[3];
};

/* A host's URL, scheme, host[:port], API root and capabilities; the rest by name after it. */
#define H(u, sc, hp, p, c) .url = u, .scheme = sc, .hostport = hp, .path = p, .caps = c
#define NOSERVER                               \
	{                                      \
		H(NULL, NULL, NULL, NULL, ALL) \
	}

static const struct good_row good_rows[] = {
	/* containerd's docs: Docker Hub with a public and a private mirror */
	{ "server = \"https://registry-1.docker.io\"    # the upstream\n"
	  "\n"
	  "[host.\"https://public-mirror.example.com\"]\n"
	  "  capabilities = [\"pull\"]\n"
	  "[host.\"https://docker-mirror.internal\"]\n"
	  "  capabilities = [\"pull\", \"resolve\"]\n"
	  "  ca = \"docker-mirror.crt\"\n",
	  { H("https://registry-1.docker.io", "https", "registry-1.docker.io", "/v2", ALL) },
	  2,
	  { { H("https://public-mirror.example.com", "https", "public-mirror.example.com", "/v2",
		BP_HOST_PULL) },
	    { H("https://docker-mirror.internal", "https", "docker-mirror.internal", "/v2",
		BP_HOST_PULL | BP_HOST_RESOLVE),
	      .ca0 = "/etc/hosts.d/docker.io/docker-mirror.crt" } } },
	/* Spegel's: a plain-http agent on this node, no server: the registry itself */
	{ "[host.\"http://127.0.0.1:30020\"]\n"
	  "  capabilities = [\"pull\", \"resolve\"]\n"
	  "  dial_timeout = \"200ms\"\n",
	  NOSERVER,
	  1,
	  { { H("http://127.0.0.1:30020", "http", "127.0.0.1:30020", "/v2",
		BP_HOST_PULL | BP_HOST_RESOLVE),
	      .dial_ms = 200 } } },
	/* Dragonfly's: a header for the peer, as a table and inline; values as arrays */
	{ "server = \"https://index.docker.io\"\n"
	  "[host.\"http://127.0.0.1:65001\"]\n"
	  "  capabilities = [\"pull\", \"resolve\"]\n"
	  "  [host.\"http://127.0.0.1:65001\".header]\n"
	  "    X-Dragonfly-Registry = \"https://index.docker.io\"\n"
	  "[host.\"https://m.example\"]\n"
	  "  header = { X-A = [\"1\", \"2\"] }\n",
	  { H("https://index.docker.io", "https", "index.docker.io", "/v2", ALL) },
	  2,
	  { { H("http://127.0.0.1:65001", "http", "127.0.0.1:65001", "/v2",
		BP_HOST_PULL | BP_HOST_RESOLVE),
	      .header0 = "X-Dragonfly-Registry: https://index.docker.io" },
	    { H("https://m.example", "https", "m.example", "/v2", ALL), .header0 = "X-A: 1",
	      .header1 = "X-A: 2" } } },
	/* paths: /v2 added, kept, or the path is the root (Harbor's proxy projects) */
	{ "[host.\"https://mirror-bak.registry/us/\"]\n"
	  "[host.\"mirror.registry:5000\"]\n"
	  "  skip_verify = true\n"
	  "[host.\"https://harbor.example/v2/dockerhub-proxy\"]\n"
	  "  override_path = true\n",
	  NOSERVER,
	  3,
	  { { H("https://mirror-bak.registry/us/", "https", "mirror-bak.registry", "/us/v2", ALL) },
	    { H("mirror.registry:5000", "https", "mirror.registry:5000", "/v2", ALL),
	      .skip_verify = 1 },
	    { H("https://harbor.example/v2/dockerhub-proxy", "https", "harbor.example",
		"/v2/dockerhub-proxy", ALL) } } },
	/* client certificates, every way of writing them; the server's own settings */
	{ "server = \"https://reg.example:8443/v2\"\n"
	  "capabilities = [\"pull\", \"resolve\", \"push\"]\n"
	  "client = [[\"/c/client.cert\", \"/c/client.key\"], [\"/c/other.pem\", \"\"]]\n"
	  "ca = [\"/c/a.pem\", \"b.pem\"]\n"
	  "[header]\n"
	  "  x-custom-1 = \"custom header\"\n"
	  "[host.\"https://t2.example\"]\n"
	  "  client = \"/c/both.pem\"\n"
	  "[host.\"https://t3.example\"]\n"
	  "  client = [\"/c/one.pem\", \"/c/two.pem\"]\n"
	  "  capabilities = []\n",
	  { H("https://reg.example:8443/v2", "https", "reg.example:8443", "/v2", ALL),
	    .ca0 = "/c/a.pem", .cert = "/c/client.cert", .key = "/c/client.key",
	    .header0 = "x-custom-1: custom header" },
	  2,
	  { { H("https://t2.example", "https", "t2.example", "/v2", ALL), .cert = "/c/both.pem" },
	    { H("https://t3.example", "https", "t3.example", "/v2", 0), .cert = "/c/one.pem" } } },
	/* dotted keys under [host] */
	{ "[host]\n\"http://[::1]:5000\".capabilities = [\"pull\"]\n",
	  NOSERVER,
	  1,
	  { { H("http://[::1]:5000", "http", "[::1]:5000", "/v2", BP_HOST_PULL) } } },
	{ "", NOSERVER, 0, { { H(NULL, NULL, NULL, NULL, 0) } } },
};

static void check_host(const char *row, const bp_host *h, const struct want_host *w)
{
	if ((w->url && (!h->url || strcmp(h->url, w->url))) || (!w->url && h->url))
		fail_msg("%s: url %s, want %s", row, h->url ? h->url : "(none)",
			 w->url ? w->url : "(none)");
	if (w->scheme)
		assert_string_equal(h->scheme, w->scheme);
	if (w->hostport)
		assert_string_equal(h->hostport, w->hostport);
	if (w->path && strcmp(h->path, w->path) != 0)
		fail_msg("%s: path %s, want %s", row, h->path, w->path);
	if (h->caps != w->caps)
		fail_msg("%s: caps %u, want %u", row, h->caps, w->caps);
	assert_int_equal(h->skip_verify, w->skip_verify);
	if (w->ca0)
		assert_string_equal(h->nca ? h->ca[0] : "", w->ca0);
	if (w->cert)
		assert_string_equal(h->client_cert, w->cert);
	if (w->key)
		assert_string_equal(h->client_key, w->key);
	else if (w->cert)
		assert_null(h->client_key);
	if (w->header0)
		assert_string_equal(h->nheaders ? h->headers[0] : "", w->header0);
	if (w->header1)
		assert_string_equal(h->nheaders > 1 ? h->headers[1] : "", w->header1);
	if (!w->header0)
		assert_int_equal(h->nheaders, 0);
	assert_int_equal(h->dial_timeout_ms, w->dial_ms);
}

static void test_good(void **state)
{
	size_t i, j;

	for (i = 0; i < sizeof(good_rows) / sizeof(good_rows[0]); i++) {
		const struct good_row *r = &good_rows[i];
		char name[32];
		bp_hosts h;

		snprintf(name, sizeof(name), "row %zu", i);
		if (bp_hosts__parse(&h, "/etc/hosts.d/docker.io/hosts.toml", r->text,
				    strlen(r->text)))
			fail_msg("%s: %s", name, bp_error_last());
		check_host(name, &h.server, &r->server);
		if (h.n != r->n)
			fail_msg("%s: %zu hosts, want %zu", name, h.n, r->n);
		for (j = 0; j < h.n; j++)
			check_host(name, &h.hosts[j], &r->hosts[j]);
		bp_hosts__release(&h);
	}
}

struct bad_row {
	const char *text;
	const char *msg; /* the start of the message; the file is "f" */
};

static const struct bad_row bad_rows[] = {
	/* syntax, as registries.conf's */
	{ "server = https://a\n", "f:1: invalid value" },
	{ "[host.\"https://a\"\ncapabilities = [\"pull\"]\n", "f:1: a table header wants ]" },
	{ "x = \"\x01\"\n", "f:1: control character 0x01" },
	/* URLs */
	{ "server = \"ftp://a.example\"\n",
	  "f:1: \"ftp://a.example\": scheme ftp is not one beampush speaks (http, https)" },
	{ "[host.\"oci://m.example\"]\n", "f:1: \"oci://m.example\": scheme oci" },
	{ "\n[host.\"https://user:pw@m.example\"]\n",
	  "f:2: \"https://user:pw@m.example\": no user" },
	{ "[host.\"https://m.example/v2?x=1\"]\n", "f:1: \"https://m.example/v2?x=1\": a host URL "
						   "has no query or fragment" },
	{ "[host.\"https://\"]\n", "f:1: \"https://\" is not a URL" },
	{ "[host.\"https://m.example:port\"]\n", "f:1: \"https://m.example:port\" is not a URL" },
	{ "[host.\"https://m.example/a/../b\"]\n", "f:1: \"https://m.example/a/../b\": . or .." },
	{ "server = \"https://a\"\nserver = \"https://b\"\n", "f:2: server is set twice" },
	{ "server = true\n", "f:1: server must be a URL" },
	/* keys and values */
	{ "[host.\"https://m\"]\ncapabilities = [\"pull\", \"fetch\"]\n",
	  "f:2: capability \"fetch\" is not pull, resolve or push" },
	{ "capabilities = \"pull\"\n", "f:1: capabilities must be an array of strings" },
	{ "[host.\"https://m\"]\nskip_verify = \"yes\"\n",
	  "f:2: skip_verify must be true or false" },
	{ "[host.\"https://m\"]\ncapabilities = []\ncapabilities = []\n",
	  "f:3: capabilities is set twice" },
	{ "[host.\"https://m\"]\ndial_timeout = \"soon\"\n",
	  "f:2: dial_timeout must be a duration" },
	{ "[host.\"https://m\"]\ndial_timeout = 5\n", "f:2: dial_timeout must be a duration" },
	{ "[host.\"https://m\"]\nclient = [[1]]\n", "f:2: client must be a path" },
	{ "ca = 1\n", "f:1: ca must be a path or an array of paths" },
	{ "[host.\"https://m\"]\ncapabilites = [\"pull\"]\n",
	  "f:2: unknown key \"host.https://m.capabilites\"" },
	{ "proxy = \"http://p:8080\"\n", "f:1: proxy is not supported" },
	{ "[header]\n\"bad header\" = \"v\"\n", "f:2: \"bad header\" is not a header name" },
	{ "[header]\nx-a = \"v\\r\\nInjected: 1\"\n", "f:2: header x-a: a control character" },
	{ "[header]\nAuthorization = \"Bearer t\"\n", "f:2: header Authorization is beampush's" },
	{ "[header]\nx-a = 1\n", "f:2: header x-a must be a string or an array of strings" },
	/* tables */
	{ "[host.\"https://m\"]\n[host.\"https://m\"]\n",
	  "f:2: [host.\"https://m\"] is defined already on line 1" },
	{ "[[host]]\n", "f:1: hosts.toml has no [[arrays of tables]]" },
	{ "[host.\"http://a\"]\n[host.\"http://a\".host.\"http://b\"]\n", "f:2: unknown table" },
	{ "[registry]\n", "f:1: unknown table" },
};

static void test_bad(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		const struct bad_row *r = &bad_rows[i];
		bp_hosts h;
		int err = bp_hosts__parse(&h, "f", r->text, strlen(r->text));

		if (err != BP_EINVAL || strncmp(bp_error_last(), r->msg, strlen(r->msg)) != 0)
			fail_msg("row %zu: got %d \"%s\", want \"%s...\"", i, err, bp_error_last(),
				 r->msg);
		assert_null(h.file);
		assert_int_equal(h.n, 0);
	}
}

static void put(const char *dir, const char *sub, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s/hosts.toml", dir, sub);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void gone(const char *dir, const char *sub)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/hosts.toml", dir, sub);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	rmdir(path);
}

/* Which file applies: HOST_PORT_, then HOST:PORT, then _default; none is no error. */
static void test_load(void **state)
{
	char dir[] = "/tmp/bp-test-hosts.XXXXXX", want[512];
	bp_hosts h;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(setenv("BEAMPUSH_HOSTS_D", dir, 1), 0);
	assert_int_equal(bp_hosts__load(&h, "reg.example:5000"), 0);
	assert_null(h.file);

	put(dir, "_default", "[host.\"http://d\"]\n");
	put(dir, "reg.example:5000", "[host.\"http://colon\"]\n");
	put(dir, "reg.example_5000_", "[host.\"http://underscore\"]\n");
	assert_int_equal(bp_hosts__load(&h, "reg.example:5000"), 0);
	snprintf(want, sizeof(want), "%s/reg.example_5000_/hosts.toml", dir);
	assert_string_equal(h.file, want);
	assert_string_equal(h.hosts[0].url, "http://underscore");
	bp_hosts__release(&h);
	gone(dir, "reg.example_5000_");
	assert_int_equal(bp_hosts__load(&h, "reg.example:5000"), 0);
	assert_string_equal(h.hosts[0].url, "http://colon");
	bp_hosts__release(&h);
	assert_int_equal(bp_hosts__load(&h, "docker.io"), 0);
	assert_string_equal(h.hosts[0].url, "http://d");
	bp_hosts__release(&h);
	/* a name that is no directory name reads nothing */
	assert_int_equal(bp_hosts__load(&h, "../etc"), 0);
	assert_null(h.file);
	/* a file that does not parse is an error naming it and its line */
	put(dir, "bad.example", "\n[host.\"gopher://x\"]\n");
	assert_int_equal(bp_hosts__load(&h, "bad.example"), BP_EINVAL);
	snprintf(want, sizeof(want), "%s/bad.example/hosts.toml:2: ", dir);
	if (strncmp(bp_error_last(), want, strlen(want)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", bp_error_last(), want);
	gone(dir, "bad.example");
	gone(dir, "reg.example:5000");
	gone(dir, "_default");
	rmdir(dir);
	unsetenv("BEAMPUSH_HOSTS_D");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
