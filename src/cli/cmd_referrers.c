/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "util/dynbuf.h"

#include <beampush/referrers.h>
#include <beampush/reference.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The text listing: 10000 referrers of a few annotations each stay well below. */
#define LIST_MAX (64 * 1024 * 1024)

/*
 * One referrer a line, "DIGEST  ARTIFACT-TYPE  SIZE  MEDIA-TYPE" ("-"
 * for no artifact type), each annotation on a line of its own below,
 * "  KEY=VALUE"; control characters from the registry made '?'.
 * 0, or -1 out of memory.
 */
static int render(bp_dynbuf *b, const bp_referrers_result *r)
{
	size_t i, k;
	int bad = 0;

	for (i = 0; i < r->n && !bad; i++) {
		const bp_referrer *e = &r->referrers[i];

		bad = bp_dynbuf_printf(b, "%s  ", e->digest) < 0 ||
		      bp_dynbuf_add_printable(b, e->artifact_type ? e->artifact_type : "-") < 0 ||
		      bp_dynbuf_printf(b, "  %" PRId64 "  ", e->size) < 0 ||
		      bp_dynbuf_add_printable(b, e->media_type) < 0 || bp_dynbuf_adds(b, "\n") < 0;
		for (k = 0; k < e->nannotations && !bad; k++)
			bad = bp_dynbuf_adds(b, "  ") < 0 ||
			      bp_dynbuf_add_printable(b, e->annotations[k].key) < 0 ||
			      bp_dynbuf_adds(b, "=") < 0 ||
			      bp_dynbuf_add_printable(b, e->annotations[k].value) < 0 ||
			      bp_dynbuf_adds(b, "\n") < 0;
	}
	return bad ? -1 : 0;
}

/* Where the listing came from, on stderr, unless the API gave it: worth knowing. */
static void say_source(const global_opts *g, const bp_referrers_result *r)
{
	bp_dynbuf b = BP_DYNBUF_INIT(4096);

	if (g->quiet || r->source == BP_REFERRERS_FROM_API)
		return;
	if (r->source == BP_REFERRERS_FROM_TAG)
		bp_dynbuf_printf(&b, "from the tag %s (the registry has no referrers API)",
				 r->fallback_tag);
	else if (r->tag_ignored && r->note)
		bp_dynbuf_printf(&b, "none: ");
	else
		bp_dynbuf_printf(&b, "none (no referrers API, no tag %s)", r->fallback_tag);
	if (r->tag_ignored && r->note)
		bp_dynbuf_add_printable(&b, r->note);
	if (b.len)
		fprintf(stderr, "beampush: referrers: %s\n", b.ptr);
	bp_dynbuf_release(&b);
}

/* beampush referrers [--artifact-type TYPE] [--format text|json] REF */
int cmd_referrers(global_opts *g, int argc, char **argv)
{
	const char *format = NULL, *type = NULL;
	int json = 0;
	const cli_option opts[] = { { "--artifact-type", NULL, OPT_STRING, &type, "TYPE",
				      "only the referrers of this artifactType (a media type)" },
				    { "--format", NULL, OPT_STRING, &format, "FORMAT",
				      "text (default) or json: the listing's format" },
				    { "--json", NULL, OPT_FLAG, &json, NULL,
				      "same as --format json" },
				    { NULL, NULL, OPT_FLAG, NULL, NULL, NULL } };
	bp_referrers_options ro = BP_REFERRERS_OPTIONS_INIT;
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_client *c = NULL;
	bp_reference *ref = NULL;
	bp_referrers_result *res = NULL;
	bp_dynbuf text = BP_DYNBUF_INIT(LIST_MAX);
	char *json_text = NULL;
	const char *out;
	size_t len;
	int i, err, rc;

	i = cli_parse("referrers", "REF",
		      "List the referrers of an image: the signatures, SBOMs and attestations "
		      "whose subject it is (OCI referrers API, else the referrers tag).",
		      opts, argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 1) {
		cli_error("referrers: expected one REF, got %d (see beampush referrers --help)",
			  argc - i);
		return EXIT_USAGE;
	}
	if (format && strcmp(format, "json") == 0) {
		json = 1;
	} else if (format && strcmp(format, "text") != 0) {
		cli_error("referrers: --format wants text or json, not \"%s\"", format);
		return EXIT_USAGE;
	}
	if (type && (!*type || strchr(type, '/') == NULL || strpbrk(type, " \t\r\n"))) {
		cli_error("referrers: --artifact-type wants a media type (as "
			  "application/vnd.dev.cosign.artifact.sig.v1+json), not \"%s\"",
			  type);
		return EXIT_USAGE;
	}
	ro.artifact_type = type;
	if ((rc = cli_reference(g, "referrers", argv[i], 0, &ref)))
		return rc;
	cli_client_options(g, &co);
	if ((err = bp_client_new(&c, &co)) || (err = bp_referrers(c, ref, &ro, &res)) ||
	    (json && (err = bp_referrers_result_json(res, &json_text, &len)))) {
		rc = cli_fail(err);
		goto done;
	}
	if (json) {
		out = json_text;
	} else if (render(&text, res) == 0) {
		out = text.ptr ? text.ptr : "";
		len = text.len;
		say_source(g, res);
	} else {
		cli_error("referrers: out of memory rendering the listing");
		rc = EXIT_FAIL;
		goto done;
	}
	if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0) {
		cli_error("referrers: cannot write the output");
		rc = EXIT_FAIL;
		goto done;
	}
	rc = EXIT_OK;
done:
	bp_dynbuf_release(&text);
	free(json_text);
	bp_referrers_result_free(res);
	bp_reference_free(ref);
	bp_client_free(c);
	return rc;
}
