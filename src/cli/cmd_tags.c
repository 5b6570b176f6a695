/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "util/dynbuf.h"

#include <beampush/inspect.h>
#include <beampush/reference.h>

#include <stdlib.h>
#include <string.h>

/* All the tags, printed once every page has come: a failed listing prints none. */
#define TAGS_OUT_MAX (256 * 1024 * 1024)

/* One tag a line; a control character from the registry never reaches the terminal. */
typedef struct {
	bp_dynbuf b;
	int full;
} tag_out;

static int add_tag(const char *tag, void *payload)
{
	tag_out *o = payload;

	if (bp_dynbuf_add_printable(&o->b, tag) == 0 && bp_dynbuf_add(&o->b, "\n", 1) == 0)
		return 0;
	o->full = 1;
	return 1;
}

/* beampush tags REPO */
int cmd_tags(global_opts *g, int argc, char **argv)
{
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_client *c = NULL;
	bp_reference *repo = NULL;
	tag_out out = { BP_DYNBUF_INIT(TAGS_OUT_MAX), 0 };
	int i, err, rc;

	i = cli_parse("tags", "REPO",
		      "List the tags of a repository, one a line, in the registry's order.", NULL,
		      argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 1) {
		cli_error("tags: expected one REPO, got %d (see beampush tags --help)", argc - i);
		return EXIT_USAGE;
	}
	if ((rc = cli_reference(g, "tags", argv[i], 1, &repo)))
		return rc;
	cli_client_options(g, &co);
	if ((err = bp_client_new(&c, &co)) || (err = bp_tags(c, repo, add_tag, &out))) {
		rc = cli_fail(err);
		goto done;
	}
	if (out.full) {
		cli_error("tags: more than %d bytes of tags, or out of memory", TAGS_OUT_MAX);
		rc = EXIT_FAIL;
		goto done;
	}
	if ((out.b.len && fwrite(out.b.ptr, 1, out.b.len, stdout) != out.b.len) ||
	    fflush(stdout) != 0) {
		cli_error("tags: cannot write the output");
		rc = EXIT_FAIL;
		goto done;
	}
	rc = EXIT_OK;
done:
	bp_dynbuf_release(&out.b);
	bp_reference_free(repo);
	bp_client_free(c);
	return rc;
}
