/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"

#include <beampush/inspect.h>
#include <beampush/reference.h>
#include <beampush/sign.h>

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The text summary: a 4 MiB manifest of tiny layers stays well below. */
#define TEXT_MAX (64 * 1024 * 1024)

/* The text summary, built whole before it is printed; an add that fails is remembered. */
typedef struct {
	bp_dynbuf b;
	int failed;
} text_out;

static void out_adds(text_out *o, const char *s)
{
	if (bp_dynbuf_adds(&o->b, s) < 0)
		o->failed = 1;
}

/* Text from the registry, with control characters (escape sequences) made harmless. */
static void out_safe(text_out *o, const char *s)
{
	if (bp_dynbuf_add_printable(&o->b, s) < 0)
		o->failed = 1;
}

static void out_printf(text_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(text_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (bp_dynbuf_vprintf(&o->b, fmt, ap) < 0)
		o->failed = 1;
	va_end(ap);
}

/* "Name:        value", the names aligned. */
static void put_field(text_out *o, const char *name, const char *value)
{
	out_printf(o, "%-12s ", name);
	out_safe(o, value);
	out_adds(o, "\n");
}

/* A list, one item a line under the field name (an item that is not a string: "?"). */
static void put_list(text_out *o, const char *name, const char *const *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		put_field(o, i == 0 ? name : "", items[i] ? items[i] : "?");
}

/* "digest  size  media type" of a descriptor, after what the caller put first. */
static void put_descriptor(text_out *o, const bp_descriptor *d)
{
	out_printf(o, "%s  %" PRId64 "  ", d->digest, d->size);
	out_safe(o, d->media_type);
	out_adds(o, "\n");
}

/* "os/arch[/variant]", "?" for what is missing. */
static void platform(char *buf, size_t size, const char *os, const char *arch, const char *variant)
{
	snprintf(buf, size, "%s/%s%s%s", os ? os : "?", arch ? arch : "?",
		 variant && *variant ? "/" : "", variant && *variant ? variant : "");
}

/* An index shown whole: its platforms and their manifests. */
static void render_index(text_out *o, const bp_inspect_result *r)
{
	char plat[160];
	size_t i;

	put_field(o, "MediaType:", r->media_type);
	out_printf(o, "%-12s %zu\n", "Platforms:", r->nmanifests);
	for (i = 0; i < r->nmanifests; i++) {
		const bp_descriptor *d = &r->manifests[i];

		if (d->os || d->arch)
			platform(plat, sizeof(plat), d->os, d->arch, d->variant);
		else
			bp_strlcpy(plat, "-", sizeof(plat));
		out_adds(o, "  ");
		out_safe(o, plat);
		out_adds(o, "  ");
		put_descriptor(o, d);
	}
}

/* An image: its config's fields, its config and layers. */
static void render_image(text_out *o, const bp_inspect_result *r)
{
	char plat[160];
	size_t i;

	if (r->index_digest)
		put_field(o, "Index:", r->index_digest);
	put_field(o, "MediaType:", r->media_type);
	if (r->os || r->architecture) {
		platform(plat, sizeof(plat), r->os, r->architecture, r->variant);
		put_field(o, "Platform:", plat);
	}
	if (r->created)
		put_field(o, "Created:", r->created);
	put_list(o, "Entrypoint:", r->entrypoint, r->nentrypoint);
	put_list(o, "Cmd:", r->cmd, r->ncmd);
	put_list(o, "Env:", r->env, r->nenv);
	if (r->working_dir && *r->working_dir)
		put_field(o, "WorkingDir:", r->working_dir);
	for (i = 0; i < r->nlabels; i++) {
		out_printf(o, "%-12s ", i == 0 ? "Labels:" : "");
		out_safe(o, r->labels[i].key);
		out_adds(o, "=");
		out_safe(o, r->labels[i].value ? r->labels[i].value : "?");
		out_adds(o, "\n");
	}
	out_printf(o, "%-12s ", "Config:");
	put_descriptor(o, r->config);
	out_printf(o, "%-12s %zu\n", "Layers:", r->nlayers);
	for (i = 0; i < r->nlayers; i++) {
		out_adds(o, "  ");
		put_descriptor(o, &r->layers[i]);
	}
	out_printf(o, "%-12s %" PRId64 "\n", "Size:", r->size);
}

/* The signatures, one a line: the payload's digest and what checking it found. */
static void render_signatures(text_out *o, const bp_signatures *s, const char *why)
{
	static const char *const state[] = { "unchecked (no --verify-key)", "verified",
					     "not made with this key", "made with this key for",
					     "malformed:" };
	size_t i;

	if (why) {
		put_field(o, "Signatures:", why);
		return;
	}
	out_printf(o, "%-12s %zu", "Signatures:", s->n);
	if (s->found)
		out_printf(o, " (tag %s)", s->tag);
	out_adds(o, "\n");
	for (i = 0; i < s->n; i++) {
		const bp_signature *v = &s->v[i];

		out_adds(o, "  ");
		out_safe(o, v->digest ? v->digest : "-");
		out_printf(o, "  %s", state[v->state]);
		if (v->state == BP_SIGNATURE_MALFORMED) {
			out_adds(o, " ");
			out_safe(o, v->problem);
		} else if (v->image && v->state != BP_SIGNATURE_VERIFIED) {
			out_adds(o, v->state == BP_SIGNATURE_OTHER_DIGEST ? " " : ", names ");
			out_safe(o, v->image);
		}
		out_adds(o, "\n");
	}
}

/* The summary for people, one "Field: value" a line. 0, or -1 out of memory. */
static int render_text(text_out *o, const bp_inspect_result *r, const bp_signatures *sigs,
		       const char *sigs_why)
{
	put_field(o, "Name:", r->name);
	if (r->tag)
		put_field(o, "Tag:", r->tag);
	put_field(o, "Digest:", r->digest);
	if (r->is_index)
		render_index(o, r);
	else
		render_image(o, r);
	render_signatures(o, sigs, sigs_why);
	return o->failed ? -1 : 0;
}

/*
 * The summary's JSON object with "Signatures" added: an array, or null
 * when they could not be read (sigs NULL). *json (ending "}\n", as
 * bp_inspect_result_json() makes it) is replaced. 0, or -1 out of memory.
 */
static int json_signatures(char **json, size_t *len, const bp_signatures *sigs)
{
	bp_dynbuf b = BP_DYNBUF_INIT(SIZE_MAX / 2);
	char *arr = NULL;
	size_t alen = 0;
	int bad;

	if (*len < 2 || (*json)[*len - 2] != '}' || (sigs && bp_signatures_json(sigs, &arr, &alen)))
		return -1;
	bad = bp_dynbuf_add(&b, *json, *len - 2) || bp_dynbuf_adds(&b, ",\"Signatures\":") ||
	      bp_dynbuf_adds(&b, arr ? arr : "null") || bp_dynbuf_adds(&b, "}\n");
	free(arr);
	if (bad) {
		bp_dynbuf_release(&b);
		return -1;
	}
	free(*json);
	*json = bp_dynbuf_detach(&b, len);
	return 0;
}

/* beampush inspect [--raw | --config | --format text|json] REF */
int cmd_inspect(global_opts *g, int argc, char **argv)
{
	int raw = 0, config = 0, json = 0;
	const char *format = NULL, *verify = NULL, *sigs_why = NULL;
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
		{ "--verify-key", NULL, OPT_STRING, &verify, "PUB",
		  "check the image's cosign signatures with public key PUB (exit 6 when none "
		  "verifies)" },
		{ NULL, NULL, OPT_FLAG, NULL, NULL, NULL }
	};
	bp_signatures *sigs = NULL;
	bp_verify_key *key = NULL;
	char sigs_msg[1024];
	bp_inspect_options io = BP_INSPECT_OPTIONS_INIT;
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_client *c = NULL;
	bp_reference *ref = NULL;
	bp_inspect_result *res = NULL;
	text_out text = { BP_DYNBUF_INIT(TEXT_MAX), 0 };
	char *json_text = NULL;
	const char *out;
	size_t len;
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
	if (verify && (raw || config)) {
		cli_error("inspect: --verify-key shows its findings in the summary: not with --raw "
			  "or --config");
		return EXIT_USAGE;
	}
	if (verify && bp_verify_key_load(&key, verify)) {
		cli_error("inspect: %s", bp_error_last());
		return EXIT_USAGE;
	}
	io.format = raw ? BP_INSPECT_RAW : config ? BP_INSPECT_CONFIG : BP_INSPECT_SUMMARY;
	io.platform = g->platform;
	if ((rc = cli_reference(g, "inspect", argv[i], 0, &ref)))
		goto done;
	cli_client_options(g, &co);
	if ((err = bp_client_new(&c, &co)) || (err = bp_inspect(c, ref, &io, &res)) ||
	    (json && (err = bp_inspect_result_json(res, &json_text, &len)))) {
		rc = cli_fail(err);
		goto done;
	}
	/* the signatures of what ref names: of an index, the index's */
	if (io.format == BP_INSPECT_SUMMARY &&
	    (err = bp_signatures_list(c, ref, res->index_digest ? res->index_digest : res->digest,
				      key, &sigs))) {
		if (err != BP_ESIGNATURE) {
			rc = cli_fail(err);
			goto done;
		}
		bp_strlcpy(sigs_msg, bp_error_last(), sizeof(sigs_msg));
		sigs_why = sigs_msg;
	}
	if (json && json_signatures(&json_text, &len, sigs)) {
		cli_error("inspect: out of memory rendering the summary");
		rc = EXIT_FAIL;
		goto done;
	}
	if (io.format != BP_INSPECT_SUMMARY) {
		out = res->bytes;
		len = res->len;
	} else if (json) {
		out = json_text;
	} else if (render_text(&text, res, sigs, sigs_why) == 0) {
		out = text.b.ptr;
		len = text.b.len;
	} else {
		cli_error("inspect: out of memory rendering the summary");
		rc = EXIT_FAIL;
		goto done;
	}
	if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0) {
		cli_error("inspect: cannot write the output");
		rc = EXIT_FAIL;
		goto done;
	}
	rc = EXIT_OK;
	/* with a key, the exit status says whether one of them verifies, as pull would find */
	if (key && !sigs) {
		cli_error("inspect: %s", sigs_why);
		rc = EXIT_SIGNATURE;
	} else if (key && (err = bp_signatures_check(sigs, res->index_digest ? res->index_digest
									     : res->digest))) {
		rc = cli_fail(err);
	} else if (json && sigs_why) {
		cli_error("inspect: %s", sigs_why);
	}
done:
	bp_dynbuf_release(&text.b);
	free(json_text);
	bp_inspect_result_free(res);
	bp_signatures_free(sigs);
	bp_verify_key_free(key);
	bp_reference_free(ref);
	bp_client_free(c);
	return rc;
}
