/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "util/strutil.h"

#include <beampush/version.h>

#include <stdlib.h>
#include <string.h>

static const cli_command commands[] = {
	{ "login", cmd_login, "[-u USER] [--password-stdin] [SERVER]",
	  "check credentials and store them in the login keyring" },
	{ "logout", cmd_logout, "[SERVER]", "remove stored credentials" },
	{ "push", cmd_push, "[--from SOURCE] REF", "push an image to a registry" },
	{ "pull", cmd_pull, "[--to DEST] REF", "pull an image, verifying every digest" },
	{ "copy", cmd_copy, "SRC-REF DST-REF", "copy an image between registries, disk untouched" },
	{ "inspect", cmd_inspect, "[--raw | --config | --format json] REF",
	  "show a manifest and its config" },
	{ "tags", cmd_tags, "REPO", "list the tags of a repository" },
	{ "referrers", cmd_referrers, "[--artifact-type TYPE] [--format json] REF",
	  "list an image's signatures, SBOMs and other referrers" },
	{ "delete", cmd_delete, "REF", "delete a manifest (by digest, or the one a tag names)" },
	{ "version", cmd_version, "", "print the versions of beampush and its libraries" },
	{ NULL, NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	const cli_command *c;

	fprintf(f,
		"usage: beampush [GLOBAL OPTIONS] COMMAND [OPTIONS] ARGS\n"
		"\n"
		"A client for container registries (Docker Registry HTTP API v2, OCI Distribution).\n"
		"\ncommands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f,
		"\nglobal options:\n"
		"  --insecure-registry HOST   allow HOST[:PORT] over plain http or unverified TLS\n"
		"                             (http://HOST[:PORT]: plain http, no TLS tried)\n"
		"  --tls-verify=false         do not verify registry certificates\n"
		"  --jobs N                   blobs moved at once (default 4)\n"
		"  --retries N                retry passing failures (429, 5xx, resets) N times (default 4)\n"
		"  --platform OS/ARCH[/VAR]   platform to pull from an index (default: this machine's)\n"
		"  --progress MODE            auto, plain, json or none (default auto)\n"
		"  -q, --quiet                print only the digest\n"
		"  --debug                    trace requests on stderr (never secrets)\n"
		"  --digestfile FILE          push: write the pushed digest to FILE\n"
		"  -h, --help                 this help; beampush COMMAND --help for a command\n"
		"  --version                  same as beampush version\n"
		"\ntransports: oci:DIR[:TAG], oci-archive:FILE[:REF], docker-archive:FILE[:REF],\n"
		"            docker-daemon:REF\n"
		"endpoint mapping: ~/.config/beampush/config.json, then containers registries.conf\n"
		"                  (see beampush-config(5))\n"
		"mirrors (reads): registries.conf [[registry.mirror]], then\n"
		"                 /etc/containerd/certs.d/HOST[:PORT]/hosts.toml ($BEAMPUSH_HOSTS_D)\n"
		"exit status: 0 done, 1 failed, 2 usage, 3 authentication refused, 4 not found,\n"
		"             5 integrity failure (nothing unverified was kept),\n"
		"             6 no valid signature (nothing was written)\n");
}

static int parse_global(global_opts *g, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

#define VALUE(name)                                                                  \
	(strcmp(a, name) == 0 ? (i + 1 < argc ? (v = argv[++i]) : NULL)                  \
			      : bp_strprefix(a, name "=") ? (v = a + sizeof(name)) : NULL)
		if (a[0] != '-')
			return i;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return -2;
		}
		if (strcmp(a, "--version") == 0)
			return -3;
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			g->quiet = 1;
		} else if (strcmp(a, "--debug") == 0) {
			g->debug = 1;
		} else if (strcmp(a, "--tls-verify=false") == 0) {
			g->tls_verify = 0;
		} else if (strcmp(a, "--tls-verify=true") == 0 || strcmp(a, "--tls-verify") == 0) {
			g->tls_verify = 1;
		} else if (VALUE("--insecure-registry")) {
			const char *host = bp_strprefix(v, "http://") ? v + 7 : v;

			/* HOST[:PORT], or http://HOST[:PORT] for plain http without a TLS try */
			if (!*host || strchr(host, '/') ||
			    strstr(v, "://") != (host == v ? NULL : v + 4)) {
				cli_error("--insecure-registry wants HOST[:PORT] or "
					  "http://HOST[:PORT], not \"%s\"",
					  v);
				return -1;
			}
			if (g->ninsecure == sizeof(g->insecure) / sizeof(g->insecure[0])) {
				cli_error("too many --insecure-registry options");
				return -1;
			}
			g->insecure[g->ninsecure++] = v;
		} else if (VALUE("--jobs")) {
			int64_t n;

			if (bp_parse_int64(v, 1, 32, &n) < 0) {
				cli_error("--jobs wants a number from 1 to 32, not \"%s\"", v);
				return -1;
			}
			g->jobs = (int)n;
		} else if (VALUE("--retries")) {
			int64_t n;

			if (bp_parse_int64(v, 0, 100, &n) < 0) {
				cli_error("--retries wants a number from 0 to 100, not \"%s\"", v);
				return -1;
			}
			g->retries = (int)n;
		} else if (VALUE("--platform")) {
			g->platform = v;
		} else if (VALUE("--digestfile")) {
			g->digestfile = v;
		} else if (VALUE("--progress")) {
			if (strcmp(v, "auto") == 0)
				g->progress = PROGRESS_AUTO;
			else if (strcmp(v, "plain") == 0)
				g->progress = PROGRESS_PLAIN;
			else if (strcmp(v, "json") == 0)
				g->progress = PROGRESS_JSON;
			else if (strcmp(v, "none") == 0)
				g->progress = PROGRESS_NONE;
			else {
				cli_error("--progress wants auto, plain, json or none, not \"%s\"", v);
				return -1;
			}
		} else {
			cli_error("unknown global option %s (see beampush --help)", a);
			return -1;
		}
#undef VALUE
	}
	return i;
}

/* beampush version */
int cmd_version(global_opts *g, int argc, char **argv)
{
	const cli_option opts[] = { { NULL, NULL, OPT_FLAG, NULL, NULL, NULL } };
	int i;

	if (argv) {
		i = cli_parse("version", "",
			      "Print the versions of beampush and of the libraries it runs with.",
			      opts, argc, argv);
		if (i < 0)
			return i == -2 ? EXIT_OK : EXIT_USAGE;
		if (i < argc) {
			cli_error("version: takes no arguments (see beampush version --help)");
			return EXIT_USAGE;
		}
	}
	printf("beampush %s\n", BP_VERSION);
	printf("%s\n", bp_library_versions());
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	global_opts g;
	const cli_command *c;
	int i;

	memset(&g, 0, sizeof(g));
	g.tls_verify = 1;
	g.retries = BP_RETRIES_DEFAULT;
	i = parse_global(&g, argc, argv);
	if (i == -2)
		return EXIT_OK;
	if (i == -3)
		return cmd_version(&g, 0, NULL);
	if (i < 0)
		return EXIT_USAGE;
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (c = commands; c->name; c++)
		if (strcmp(c->name, argv[i]) == 0)
			return c->fn(&g, argc - i, argv + i);
	cli_error("unknown command \"%s\" (see beampush --help)", argv[i]);
	return EXIT_USAGE;
}
