/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"

#include <beampush/inspect.h>
#include <beampush/reference.h>

#include <stdlib.h>

/* beampush delete REF */
int cmd_delete(global_opts *g, int argc, char **argv)
{
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_client *c = NULL;
	bp_reference *ref = NULL;
	char digest[BP_DIGEST_MAX], *pinned = NULL;
	int i, err, rc;

	i = cli_parse("delete", "REF",
		      "Delete a manifest from a registry: by digest, or the manifest a tag names "
		      "(with every tag that points at it).",
		      NULL, argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 1) {
		cli_error("delete: expected one REF, got %d (see beampush delete --help)",
			  argc - i);
		return EXIT_USAGE;
	}
	if ((rc = cli_reference(g, "delete", argv[i], 0, &ref)))
		return rc;
	cli_client_options(g, &co);
	if ((err = bp_client_new(&c, &co)) || (err = bp_delete(c, ref, digest))) {
		rc = cli_fail(err);
		goto done;
	}
	if (g->quiet) {
		printf("%s\n", digest);
	} else {
		if (!(pinned = bp_reference_pinned(ref, digest))) {
			cli_error("out of memory");
			rc = EXIT_FAIL;
			goto done;
		}
		printf("Deleted: %s\n", pinned);
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
done:
	free(pinned);
	bp_reference_free(ref);
	bp_client_free(c);
	return rc;
}
