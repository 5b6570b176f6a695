/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "util/strutil.h"

#include <beampush/reference.h>

#include <stdlib.h>
#include <string.h>

/* In the summary on stderr, the tags not started are named up to this many. */
#define SKIPPED_NAMED_MAX 10

/* What the copy options ask for. */
typedef struct {
	int all_tags;
	const char *tags;
	int keep_going;
	int64_t wait; /* seconds */
	int no_referrers;
} many_opts;

/* One line per tag on stdout: STATUS TAG DIGEST ("-" when there is none). */
static void print_tags(const bp_copy_tags_result *res)
{
	static const char *const words[] = { "copied", "present", "failed", "skipped" };
	size_t i;

	for (i = 0; i < res->ntags; i++) {
		const bp_copy_tag_result *t = &res->tags[i];
		int settled = t->status == BP_COPY_COPIED || t->status == BP_COPY_PRESENT;

		printf("%s %s %s\n", words[t->status], t->tag, settled ? t->digest : "-");
	}
}

/* The tags skipped for the reason msg (at most SKIPPED_NAMED_MAX named), on one line. */
static void print_skipped(const bp_copy_tags_result *res, const char *msg)
{
	size_t i, n = 0;

	for (i = 0; i < res->ntags; i++)
		if (res->tags[i].status == BP_COPY_SKIPPED &&
		    strcmp(res->tags[i].message, msg) == 0)
			n++;
	fprintf(stderr, "  %zu tag%s %s:", n, n == 1 ? "" : "s", msg);
	for (i = 0, n = 0; i < res->ntags; i++) {
		if (res->tags[i].status != BP_COPY_SKIPPED ||
		    strcmp(res->tags[i].message, msg) != 0)
			continue;
		if (n++ == SKIPPED_NAMED_MAX) {
			fputs(" ... (stdout lists every tag)", stderr);
			break;
		}
		fprintf(stderr, " %s", res->tags[i].tag);
	}
	fputc('\n', stderr);
}

/* On stderr: each tag that failed with its reason, then those skipped, by reason. */
static void print_failures(const bp_copy_tags_result *res)
{
	size_t i, j;

	for (i = 0; i < res->ntags; i++) {
		const bp_copy_tag_result *t = &res->tags[i];

		if (t->status == BP_COPY_FAILED)
			fprintf(stderr, "  %s: %s\n", t->tag, t->message ? t->message : "failed");
	}
	/* a reason is said once, where its first tag is */
	for (i = 0; i < res->ntags; i++) {
		if (res->tags[i].status != BP_COPY_SKIPPED || !res->tags[i].message)
			continue;
		for (j = 0; j < i; j++)
			if (res->tags[j].status == BP_COPY_SKIPPED && res->tags[j].message &&
			    strcmp(res->tags[j].message, res->tags[i].message) == 0)
				break;
		if (j == i)
			print_skipped(res, res->tags[i].message);
	}
}

/* beampush copy --all-tags | --tags REGEX SRC-REPO DST-REPO */
static int copy_many(global_opts *g, const many_opts *m, const char *from, const char *to)
{
	bp_copy_tags_options o = BP_COPY_TAGS_OPTIONS_INIT;
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_copy_tags_result *res = NULL;
	bp_client *c = NULL;
	bp_reference *src = NULL, *dst = NULL;
	int err, rc;

	o.ratelimit_wait = m->wait > 0 ? m->wait : 0;
	o.regex = m->tags;
	o.keep_going = m->keep_going;
	if ((rc = cli_reference(g, "copy", from, 1, &src)) ||
	    (rc = cli_reference(g, "copy", to, 1, &dst)))
		goto done;
	cli_client_options(g, &co);
	co.no_referrers = m->no_referrers;
	cli_progress_verb("Copying");
	cli_progress_images();
	if ((err = bp_client_new(&c, &co))) {
		rc = cli_fail(err);
		goto done;
	}
	err = bp_copy_tags(c, src, dst, &o, &res);
	cli_progress_end();
	if (!res) {
		/* nothing tried: a regex that does not compile is the command line's */
		cli_error("copy: %s", bp_error_last());
		rc = err == BP_EINVAL ? EXIT_USAGE : cli_exit_code(err);
		goto done;
	}
	print_tags(res);
	fflush(stdout);
	if (!err) {
		if (!g->quiet)
			fprintf(stderr,
				"beampush: copy: %zu tags of %s at %s: %zu copied, %zu there "
				"already\n",
				res->ntags, bp_reference_name(src), bp_reference_name(dst),
				res->ncopied, res->npresent);
		rc = EXIT_OK;
		goto done;
	}
	if (o.keep_going || !res->nfailed) {
		cli_error("copy: %zu of %zu tags not copied, %zu copied, %zu there already:",
			  res->nfailed + res->nskipped, res->ntags, res->ncopied, res->npresent);
		rc = EXIT_FAIL;
	} else {
		cli_error("copy: stopped at the first failure (--keep-going copies the others); "
			  "the %zu tags copied stay at %s:",
			  res->ncopied, bp_reference_name(dst));
		rc = cli_exit_code(err);
	}
	print_failures(res);
done:
	bp_copy_tags_result_free(res);
	bp_reference_free(src);
	bp_reference_free(dst);
	bp_client_free(c);
	return rc;
}

/* beampush copy SRC-REF DST-REF, or many tags of SRC-REPO into DST-REPO */
int cmd_copy(global_opts *g, int argc, char **argv)
{
	many_opts m = { 0, NULL, 0, -1, 0 };
	const cli_option opts[] = {
		{ "--platform", NULL, OPT_STRING, &g->platform, "OS/ARCH[/VARIANT]",
		  "from an index, copy only this platform's image (default: the whole index)" },
		{ "--digestfile", NULL, OPT_STRING, &g->digestfile, "FILE",
		  "write the digest of the copied manifest to FILE" },
		{ "--all-tags", NULL, OPT_FLAG, &m.all_tags, NULL,
		  "copy every tag of SRC-REPO into DST-REPO" },
		{ "--tags", NULL, OPT_STRING, &m.tags, "REGEX",
		  "copy the tags whose whole name matches REGEX (POSIX extended)" },
		{ "--keep-going", NULL, OPT_FLAG, &m.keep_going, NULL,
		  "with many tags: copy every tag it can, not stop at the first failure" },
		{ "--rate-limit-wait", NULL, OPT_SECONDS, &m.wait, "DURATION",
		  "with many tags: wait up to DURATION (90s, 30m, 6h) in all for the source's "
		  "rate limit to refill (default: stop)" },
		{ "--no-referrers", NULL, OPT_FLAG, &m.no_referrers, NULL,
		  "leave the image's signatures, attestations, SBOMs and other referrers "
		  "behind (default: they go with it)" },
		{ NULL, NULL, OPT_FLAG, NULL, NULL, NULL }
	};
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_client *c = NULL;
	bp_reference *src = NULL, *dst = NULL;
	char digest[BP_DIGEST_MAX], *pinned = NULL;
	int i, err, rc, many;

	i = cli_parse("copy", "SRC-REF DST-REF | --all-tags|--tags REGEX SRC-REPO DST-REPO",
		      "Copy an image from one registry (or repository) to another, without "
		      "touching the disk; or many tags of a repository, several at once.",
		      opts, argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	many = m.all_tags || m.tags;
	if (m.all_tags && m.tags) {
		cli_error("copy: --all-tags or --tags REGEX, not both");
		return EXIT_USAGE;
	}
	if (!many && (m.keep_going || m.wait >= 0)) {
		cli_error("copy: %s goes with --all-tags or --tags REGEX",
			  m.keep_going ? "--keep-going" : "--rate-limit-wait");
		return EXIT_USAGE;
	}
	if (many && g->digestfile) {
		cli_error("copy: --digestfile names one digest: not with many tags");
		return EXIT_USAGE;
	}
	if (argc - i != 2) {
		cli_error("copy: expected %s, got %d argument%s (see beampush copy --help)",
			  many ? "SRC-REPO and DST-REPO" : "SRC-REF and DST-REF", argc - i,
			  argc - i == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	if (many)
		return copy_many(g, &m, argv[i], argv[i + 1]);
	if ((rc = cli_reference(g, "copy", argv[i], 0, &src)) ||
	    (rc = cli_reference(g, "copy", argv[i + 1], 0, &dst)))
		goto done;
	cli_client_options(g, &co);
	co.no_referrers = m.no_referrers;
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
