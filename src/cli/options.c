/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "util/strutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* "-q" / "--from" / "--from=x" matching. */
static const cli_option *find(const cli_option *opts, const char *arg, const char **inline_val)
{
	const cli_option *o;

	*inline_val = NULL;
	for (o = opts; o && o->name; o++) {
		size_t n = strlen(o->name);

		if (o->shortname && strcmp(arg, o->shortname) == 0)
			return o;
		if (strncmp(arg, o->name, n) == 0) {
			if (arg[n] == '\0')
				return o;
			if (arg[n] == '=') {
				*inline_val = arg + n + 1;
				return o;
			}
		}
	}
	return NULL;
}

/* A suffix of a number and what it multiplies by. */
typedef struct {
	char suffix;
	int64_t mult;
} unit;

/* Sizes: K, M or G (powers of 1024), either case. */
static const unit size_units[] = {
	{ 'K', 1024 }, { 'M', 1024 * 1024 }, { 'G', 1024 * 1024 * 1024 }, { 0, 0 }
};
/* Durations: s, m or h. */
static const unit time_units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 0, 0 } };

/* A number of at least min with an optional suffix of units (fold: either case); 0 or -1. */
static int parse_units(const char *s, const unit *units, int fold, int64_t min, int64_t *out)
{
	char buf[32];
	size_t n = strlen(s);
	int64_t mult = 1, v;
	const unit *u;

	if (!n || n >= sizeof(buf))
		return -1;
	bp_strlcpy(buf, s, sizeof(buf));
	for (u = units; u->suffix; u++) {
		if (buf[n - 1] == u->suffix ||
		    (fold && toupper((unsigned char)buf[n - 1]) == u->suffix)) {
			mult = u->mult;
			buf[n - 1] = '\0';
			break;
		}
	}
	if (bp_parse_int64(buf, min, INT64_MAX / mult, &v) < 0)
		return -1;
	*out = v * mult;
	return 0;
}

/* Print usage for a command from its option table. */
void cli_usage(FILE *f, const char *cmd, const char *args, const char *summary,
	       const cli_option *opts)
{
	const cli_option *o;

	fprintf(f, "usage: beampush [GLOBAL OPTIONS] %s [OPTIONS]%s%s\n\n%s\n", cmd, *args ? " " : "",
		args, summary);
	if (opts && opts->name)
		fprintf(f, "\noptions:\n");
	for (o = opts; o && o->name; o++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%s%s%s%s", o->shortname ? o->shortname : "",
			 o->shortname ? ", " : "", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
	fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
}

/* Parse options; see cli.h. */
int cli_parse(const char *cmd, const char *args, const char *summary, const cli_option *opts,
	      int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		const cli_option *o;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cli_usage(stdout, cmd, args, summary, opts);
			return -2;
		}
		if (!(o = find(opts, a, &v))) {
			cli_error("%s: unknown option %s (see beampush %s --help)", cmd, a, cmd);
			return -1;
		}
		if (o->type == OPT_FLAG) {
			if (v) {
				cli_error("%s: %s takes no value", cmd, o->name);
				return -1;
			}
			*(int *)o->value = 1;
			continue;
		}
		if (!v) {
			if (i + 1 >= argc) {
				cli_error("%s: %s needs %s", cmd, o->name, o->arg);
				return -1;
			}
			v = argv[++i];
		}
		if (o->type == OPT_STRING) {
			*(const char **)o->value = v;
		} else if (o->type == OPT_INT) {
			int64_t n;

			if (bp_parse_int64(v, 1, 1000, &n) < 0) {
				cli_error("%s: %s wants a number from 1 to 1000, not \"%s\"", cmd, o->name, v);
				return -1;
			}
			*(int *)o->value = (int)n;
		} else if (o->type == OPT_SECONDS) {
			if (parse_units(v, time_units, 0, 0, (int64_t *)o->value) < 0) {
				cli_error("%s: %s wants seconds, or a number with s, m or h "
					  "(90s, 30m, 6h), not \"%s\"",
					  cmd, o->name, v);
				return -1;
			}
		} else {
			if (parse_units(v, size_units, 1, 1, (int64_t *)o->value) < 0) {
				cli_error("%s: %s wants a size such as 65536, 512K or 16M, not \"%s\"",
					  cmd, o->name, v);
				return -1;
			}
		}
	}
	return i;
}

/* Print an error line. */
void cli_error(const char *fmt, ...)
{
	va_list ap;

	cli_progress_end();
	fputs("beampush: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Exit status for a library error code. */
int cli_exit_code(int err)
{
	switch (err) {
	case 0: return EXIT_OK;
	case BP_EAUTH: return EXIT_AUTH;
	case BP_ENOTFOUND: return EXIT_NOTFOUND;
	case BP_EINTEGRITY: return EXIT_INTEGRITY;
	case BP_ESIGNATURE: return EXIT_SIGNATURE;
	default: return EXIT_FAIL;
	}
}

/* Report the library's error and map it to an exit status. */
int cli_fail(int err)
{
	cli_error("%s", bp_error_last());
	return cli_exit_code(err);
}

/* The transport spec names, by the library's own parse; BP_TRANSPORT_NONE when none. */
bp_transport_kind cli_transport_kind(const char *spec)
{
	bp_transport t = BP_TRANSPORT_INIT;

	/* a known prefix with a bad rest is the command's to report, when it runs */
	bp_transport_parse(&t, spec);
	bp_transport_release(&t);
	bp_error_clear();
	return t.kind;
}

/* A SOURCE or DEST must name a transport we know; anything else is a usage error. */
int cli_check_transport(const char *cmd, const char *opt, const char *spec)
{
	if (cli_transport_kind(spec) != BP_TRANSPORT_NONE)
		return 0;
	cli_error("%s: %s \"%s\" names no transport: use oci:DIR[:TAG], oci-archive:FILE[:REF], "
		  "docker-archive:FILE[:REF] or docker-daemon:REF",
		  cmd, opt, spec);
	return -1;
}
