/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Renders the library's events on stderr: plain (one line per event, for
 * logs), json (one object per line, for tools), none, or auto: on a
 * terminal one line per blob redrawn in place, as docker users know it
 * (short digest, what it is, a bar, bytes, rate, time left), else plain.
 */
static progress_mode mode;
static int on_tty;
static int debug_on;
static int line_open;
static struct timespec last_draw;
static const char *verb = "Moving";
static int images_only; /* auto: lines per image, none per blob */

#define ROWS_MAX 64

/* The terminal board: one row per blob, redrawn in place. */
static struct row {
	char id[16];
	char kind[12];
	char note[64];   /* "Already exists", "Mounted from beam/java", "Pushed" */
	int64_t done, total;
	struct timespec start;
	int finished;
} rows[ROWS_MAX];
static int nrows, drawn;

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static const char *short_digest(const char *d)
{
	static _Thread_local char buf[16];
	const char *hex = d ? strchr(d, ':') : NULL;

	snprintf(buf, sizeof(buf), "%.12s", hex ? hex + 1 : d ? d : "-");
	return buf;
}

static void human(char *buf, size_t n, int64_t v)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", d, u[i]);
}

static int throttled(void);

static struct row *row_for(const char *id, const char *kind)
{
	int i;

	for (i = 0; i < nrows; i++)
		if (strcmp(rows[i].id, id) == 0)
			return &rows[i];
	if (nrows == ROWS_MAX)
		return NULL;
	memset(&rows[nrows], 0, sizeof(rows[0]));
	snprintf(rows[nrows].id, sizeof(rows[0].id), "%s", id);
	snprintf(rows[nrows].kind, sizeof(rows[0].kind), "%s", kind ? kind : "");
	clock_gettime(CLOCK_MONOTONIC, &rows[nrows].start);
	return &rows[nrows++];
}

static void draw_row(const struct row *r)
{
	char a[32], b[32], rate[32] = "", eta[32] = "", bar[24];
	double t = since(&r->start), bps;
	int i, fill;

	fprintf(stderr, "\r\033[K%s: %-6s ", r->id, r->kind);
	if (r->finished || r->note[0]) {
		fprintf(stderr, "%s\n", r->note);
		return;
	}
	human(a, sizeof(a), r->done);
	bps = t > 0.2 ? (double)r->done / t : 0;
	if (bps > 0) {
		human(rate, sizeof(rate), (int64_t)bps);
		if (r->total > 0 && r->done < r->total)
			snprintf(eta, sizeof(eta), " %.0fs", (double)(r->total - r->done) / bps + 0.5);
	}
	if (r->total > 0) {
		human(b, sizeof(b), r->total);
		fill = (int)(20 * (double)r->done / (double)r->total);
		for (i = 0; i < 20; i++)
			bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
		bar[20] = '\0';
		fprintf(stderr, "%s [%s] %s / %s", verb, bar, a, b);
	} else {
		fprintf(stderr, "%s %s", verb, a);
	}
	if (rate[0])
		fprintf(stderr, "  %s/s%s", rate, eta);
	fputc('\n', stderr);
}

static void draw_board(void)
{
	int i;

	if (drawn)
		fprintf(stderr, "\033[%dA", drawn);
	for (i = 0; i < nrows; i++)
		draw_row(&rows[i]);
	drawn = nrows;
	fflush(stderr);
}

static int board_event(const bp_event *ev)
{
	char id[16];
	struct row *r;
	const char *hex = ev->digest ? strchr(ev->digest, ':') : NULL;

	if (!ev->digest || ev->type == BP_EVENT_RETRY || ev->type == BP_EVENT_DEBUG)
		return 0;
	snprintf(id, sizeof(id), "%.12s", hex ? hex + 1 : ev->digest);
	if (!(r = row_for(id, ev->kind)))
		return 1;
	switch (ev->type) {
	case BP_EVENT_BLOB_START:
		r->total = ev->total;
		break;
	case BP_EVENT_BLOB_PROGRESS:
		r->done = ev->done;
		if (ev->total > 0)
			r->total = ev->total;
		if (throttled())
			return 1;
		break;
	case BP_EVENT_BLOB_EXISTS:
		snprintf(r->note, sizeof(r->note), "%s",
			 ev->message ? ev->message : "Already exists");
		if (r->note[0] >= 'a' && r->note[0] <= 'z')
			r->note[0] = (char)(r->note[0] - 'a' + 'A');
		r->finished = 1;
		break;
	case BP_EVENT_BLOB_DONE:
		snprintf(r->note, sizeof(r->note), "%s", strcmp(verb, "Pushing") == 0 ? "Pushed"
							 : "Pulled");
		r->finished = 1;
		break;
	case BP_EVENT_MANIFEST:
		snprintf(r->note, sizeof(r->note), "%s", "Written");
		r->finished = 1;
		break;
	default:
		break;
	}
	draw_board();
	return 1;
}

/* "Pushing" or "Pulling": what the board says of blobs on the move. */
void cli_progress_verb(const char *v)
{
	verb = v;
}

/* Many images: in auto mode, a line per image instead of the blobs. */
void cli_progress_images(void)
{
	images_only = 1;
}

static int throttled(void)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - last_draw.tv_sec) * 1000 + (now.tv_nsec - last_draw.tv_nsec) / 1000000;
	if (ms < 200)
		return 1;
	last_draw = now;
	return 0;
}

/* End an in-place line before anything else is printed. */
void cli_progress_end(void)
{
	if (line_open) {
		fputs("\r\033[K", stderr);
		line_open = 0;
	}
}

static void json_string(const char *s)
{
	fputc('"', stderr);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20)
			fprintf(stderr, "\\u%04x", c);
		else
			fputc(c, stderr);
	}
	fputc('"', stderr);
}

static const char *type_name(bp_event_type t)
{
	switch (t) {
	case BP_EVENT_BLOB_START: return "start";
	case BP_EVENT_BLOB_EXISTS: return "exists";
	case BP_EVENT_BLOB_PROGRESS: return "progress";
	case BP_EVENT_BLOB_DONE: return "done";
	case BP_EVENT_MANIFEST: return "manifest";
	case BP_EVENT_RETRY: return "retry";
	case BP_EVENT_IMAGE_START: return "image-start";
	case BP_EVENT_IMAGE_DONE: return "image-done";
	case BP_EVENT_REFERRER: return "referrer";
	default: return "debug";
	}
}

/* "[3/30] 2.55: copied 0123456789ab": an image of many, started or done with. */
static void image_line(const bp_event *ev)
{
	const char *kind = ev->kind ? ev->kind : "";

	cli_progress_end();
	if (ev->type == BP_EVENT_IMAGE_START)
		fprintf(stderr, "%s: copying %s %s\n", ev->message ? ev->message : "", kind,
			short_digest(ev->digest));
	else if (strcmp(kind, "failed") == 0 || strcmp(kind, "skipped") == 0)
		fprintf(stderr, "[%lld/%lld] %s\n", (long long)ev->done, (long long)ev->total,
			ev->message ? ev->message : "");
	else
		fprintf(stderr, "[%lld/%lld] %s: %s %s\n", (long long)ev->done,
			(long long)ev->total, ev->message ? ev->message : "",
			strcmp(kind, "present") == 0 ? "there already," : kind,
			short_digest(ev->digest));
}

/*
 * "referrer 0123456789ab (signature sha256-....sig): on the destination",
 * or "... skipped: why": a referrer a copy carried. Its texts come from
 * the registry: control characters are made '?'.
 */
static void referrer_line(const bp_event *ev)
{
	const char *kind = ev->kind ? ev->kind : "", *m = ev->message ? ev->message : "";
	int skip = strcmp(kind, "skipped") == 0;

	cli_progress_end();
	fprintf(stderr, "referrer %s (%s%s", short_digest(ev->digest), skip ? "listed" : kind,
		*m && !skip ? " " : "");
	for (; *m && !skip; m++)
		fputc((unsigned char)*m < 0x20 || *m == 0x7f ? '?' : *m, stderr);
	fputs(skip ? "): not carried: " : "): on the destination\n", stderr);
	for (m = skip && ev->message ? ev->message : ""; *m; m++)
		fputc((unsigned char)*m < 0x20 || *m == 0x7f ? '?' : *m, stderr);
	if (skip)
		fputc('\n', stderr);
}

static void on_event(const bp_event *ev, void *payload)
{
	char a[32], b[32];

	if (ev->type == BP_EVENT_DEBUG) {
		if (debug_on) {
			cli_progress_end();
			fprintf(stderr, "debug: %s\n", ev->message);
		}
		return;
	}
	if (ev->type == BP_EVENT_RETRY && mode != PROGRESS_JSON) {
		cli_progress_end();
		fprintf(stderr, "beampush: %s\n", ev->message);
		return;
	}
	if (mode == PROGRESS_NONE)
		return;
	if (mode == PROGRESS_JSON) {
		if (ev->type == BP_EVENT_BLOB_PROGRESS && ev->done < ev->total && throttled())
			return;
		fprintf(stderr, "{\"event\":\"%s\"", type_name(ev->type));
		if (ev->digest) {
			fputs(",\"digest\":", stderr);
			json_string(ev->digest);
		}
		if (ev->kind) {
			fputs(",\"kind\":", stderr);
			json_string(ev->kind);
		}
		fprintf(stderr, ",\"done\":%lld,\"total\":%lld", (long long)ev->done,
			(long long)ev->total);
		if (ev->message) {
			fputs(",\"message\":", stderr);
			json_string(ev->message);
		}
		fputs("}\n", stderr);
		return;
	}
	if (ev->type == BP_EVENT_IMAGE_START || ev->type == BP_EVENT_IMAGE_DONE) {
		image_line(ev);
		return;
	}
	if (ev->type == BP_EVENT_REFERRER && !(images_only && mode == PROGRESS_AUTO)) {
		referrer_line(ev);
		return;
	}
	if (images_only && mode == PROGRESS_AUTO)
		return;
	if (on_tty && mode == PROGRESS_AUTO && board_event(ev))
		return;
	human(a, sizeof(a), ev->done);
	human(b, sizeof(b), ev->total);
	switch (ev->type) {
	case BP_EVENT_BLOB_PROGRESS:
		if (!on_tty || mode != PROGRESS_AUTO || throttled())
			return;
		fprintf(stderr, "\r\033[K%s: %s %s / %s", short_digest(ev->digest), ev->kind, a, b);
		line_open = 1;
		return;
	case BP_EVENT_BLOB_START:
		cli_progress_end();
		fprintf(stderr, "%s: %s, %s, started\n", short_digest(ev->digest), ev->kind, b);
		return;
	case BP_EVENT_BLOB_EXISTS:
		cli_progress_end();
		fprintf(stderr, "%s: %s, %s\n", short_digest(ev->digest), ev->kind,
			ev->message ? ev->message : "already exists");
		return;
	case BP_EVENT_BLOB_DONE:
		cli_progress_end();
		fprintf(stderr, "%s: %s, %s, done\n", short_digest(ev->digest), ev->kind, b);
		return;
	case BP_EVENT_MANIFEST:
		cli_progress_end();
		fprintf(stderr, "%s: %s written\n", short_digest(ev->digest), ev->kind);
		return;
	default:
		cli_progress_end();
		fprintf(stderr, "%s\n", ev->message ? ev->message : "");
		return;
	}
}

/* Client options from the global ones. */
void cli_client_options(global_opts *g, bp_client_options *o)
{
	mode = g->quiet ? PROGRESS_NONE : g->progress;
	on_tty = isatty(STDERR_FILENO);
	debug_on = g->debug;
	o->tls_verify = g->tls_verify;
	o->insecure = g->insecure;
	o->ninsecure = g->ninsecure;
	o->jobs = g->jobs;
	o->platform = g->platform;
	o->debug = g->debug;
	o->retries = g->retries;
	o->on_event = on_event;
	o->payload = NULL;
	o->mirrors = g->mirrors;
	o->nmirrors = g->nmirrors;
}
