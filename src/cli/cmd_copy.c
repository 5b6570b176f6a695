/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"

#include <beampush/reference.h>

#include <stdlib.h>
#include <string.h>

/* beampush copy SRC-REF DST-REF */
int cmd_copy(global_opts *g, int argc, char **argv)
{
	const cli_option opts[] = {
		{ "--platform", NULL, OPT_STRING, &g->platform, "OS/ARCH[/VARIANT]",
		  "from an index, copy only this platform's image (default: the whole index)" },
		{ "--digestfile", NULL, OPT_STRING, &g->digestfile, "FILE",
		  "write the digest of the copied manifest to FILE" },
		{ NULL, NULL, OPT_FLAG, NULL, NULL, NULL }
	};
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_client *c = NULL;
	bp_reference *src = NULL, *dst = NULL;
	char digest[BP_DIGEST_MAX], *pinned = NULL;
	int i, err, rc;

	i = cli_parse("copy", "SRC-REF DST-REF",
		      "Copy an image from one registry (or repository) to another, without "
		      "touching the disk.", opts, argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 2) {
		cli_error("copy: expected SRC-REF and DST-REF, got %d argument%s (see beampush copy "
			  "--help)", argc - i, argc - i == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	if ((rc = cli_reference(g, "copy", argv[i], 0, &src)) ||
	    (rc = cli_reference(g, "copy", argv[i + 1], 0, &dst)))
		goto done;
	cli_client_options(g, &co);
	cli_progress_verb("Copying");
	if ((err = bp_client_new(&c, &co)) || (err = bp_copy(c, src, dst, digest))) {
		rc = cli_fail(err);
		goto done;
	}
	cli_progress_end();
	pinned = bp_reference_pinned(dst, digest);
	if (g->quiet)
		printf("%s\n", digest);
	else
		printf("copied %s\nto %s\ndigest: %s\npinned: %s\n", bp_reference_string(src),
		       bp_reference_string(dst), digest, pinned ? pinned : "");
	rc = g->digestfile ? cli_write_digestfile(g->digestfile, digest) : EXIT_OK;
done:
	free(pinned);
	bp_reference_free(src);
	bp_reference_free(dst);
	bp_client_free(c);
	return rc;
}
