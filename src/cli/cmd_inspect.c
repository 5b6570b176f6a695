/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"

#include <beampush/inspect.h>
#include <beampush/reference.h>

#include <stdlib.h>
#include <string.h>

/* beampush inspect [--raw | --config | --format text|json] REF */
int cmd_inspect(global_opts *g, int argc, char **argv)
{
	int raw = 0, config = 0, json = 0;
	const char *format = NULL;
	const cli_option opts[] = {
		{ "--raw", NULL, OPT_FLAG, &raw, NULL,
		  "print the manifest bytes exactly as served (an index: the index)" },
		{ "--config", NULL, OPT_FLAG, &config, NULL,
		  "print the config blob, verified against its digest" },
		{ "--format", NULL, OPT_STRING, &format, "FORMAT",
		  "text (default) or json: the summary's format" },
		{ "--json", NULL, OPT_FLAG, &json, NULL, "same as --format json" },
		{ "--platform", NULL, OPT_STRING, &g->platform, "OS/ARCH[/VARIANT]",
		  "from an index, the platform to show (default: the index itself)" },
		{ NULL, NULL, OPT_FLAG, NULL, NULL, NULL }
	};
	bp_inspect_options io = BP_INSPECT_OPTIONS_INIT;
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_client *c = NULL;
	bp_reference *ref = NULL;
	char *out = NULL;
	size_t len = 0;
	int i, err, rc;

	i = cli_parse("inspect", "REF",
		      "Show an image's manifest and config: digest, platforms, entrypoint, "
		      "environment, layers.",
		      opts, argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 1) {
		cli_error("inspect: expected one REF, got %d (see beampush inspect --help)",
			  argc - i);
		return EXIT_USAGE;
	}
	if (format && strcmp(format, "json") == 0) {
		json = 1;
	} else if (format && strcmp(format, "text") != 0) {
		cli_error("inspect: --format wants text or json, not \"%s\"", format);
		return EXIT_USAGE;
	}
	if (raw + config + json > 1) {
		cli_error("inspect: --raw, --config and --format json exclude each other");
		return EXIT_USAGE;
	}
	io.format = raw	     ? BP_INSPECT_RAW
		    : config ? BP_INSPECT_CONFIG
		    : json   ? BP_INSPECT_JSON
			     : BP_INSPECT_TEXT;
	io.platform = g->platform;
	if ((rc = cli_reference(g, "inspect", argv[i], 0, &ref)))
		return rc;
	cli_client_options(g, &co);
	if ((err = bp_client_new(&c, &co)) || (err = bp_inspect(c, ref, &io, &out, &len))) {
		rc = cli_fail(err);
		goto done;
	}
	if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0) {
		cli_error("inspect: cannot write the output");
		rc = EXIT_FAIL;
		goto done;
	}
	rc = EXIT_OK;
done:
	free(out);
	bp_reference_free(ref);
	bp_client_free(c);
	return rc;
}
