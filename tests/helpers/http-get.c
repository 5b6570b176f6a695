/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http-get: GET each URL through one bp_http_share, JOBS threads at once
 * (a bp_http each), as the registry's workers do; for
 * tests/integration/t83-http2.sh. Prints, in the order given, "DIGEST SIZE
 * STATUS URL" for each body, then one line of what the share did:
 * "requests=N connections=N h2=N resumed=N pauses=N multiplexed=N".
 *
 *   http-get [--jobs N] [--slow] [--fail-after BYTES] [--size-hint BYTES]
 *            [--no-verify] URL...
 *
 * --slow: the sink takes a millisecond a call, as a slow disk would, so a
 * transfer on the multi handle outruns it and must wait for it.
 * --fail-after: the sink of the first URL fails once it has BYTES (as a
 * full disk would): that transfer is abandoned, the others go on.
 * --size-hint: the size_hint of every request (a blob's descriptor size).
 * Exit 0 when every URL answered 200, 1 otherwise.
 */
#include <beampush/digest.h>

#include "http.h"
#include "util/strutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOBS_MAX 32

typedef struct {
	char **urls;
	int n;
	int next;
	int slow;
	int64_t fail_after; /* -1: never */
	int verify;
	int64_t size_hint;
	char (*lines)[1200];
	int failed;
	bp_http_share *share;
	pthread_mutex_t lock;
} run;

typedef struct {
	bp_hasher *h;
	int64_t size;
	int slow;
	int64_t fail_after;
} sink;

static int on_data(const void *data, size_t len, void *p)
{
	sink *s = p;

	if (s->slow) {
		struct timespec ts = { 0, 1000000L };

		nanosleep(&ts, NULL);
	}
	if (s->fail_after >= 0 && s->size + (int64_t)len > s->fail_after)
		return bp_error_set(BP_EIO, "sink full after %lld bytes", (long long)s->size);
	bp_hasher_update(s->h, data, len);
	s->size += (int64_t)len;
	return 0;
}

static void *worker(void *p)
{
	run *r = p;
	bp_http_options ho = { 0 };
	bp_http *h = NULL;
	int i;

	ho.tls_verify = r->verify;
	ho.share = r->share;
	if (bp_http__new(&h, &ho)) {
		pthread_mutex_lock(&r->lock);
		r->failed = 1;
		pthread_mutex_unlock(&r->lock);
		return NULL;
	}
	for (;;) {
		bp_http_request req = BP_HTTP_REQUEST_INIT;
		bp_http_response resp = { 0 };
		char digest[BP_DIGEST_MAX] = "-";
		sink s = { NULL, 0, r->slow, -1 };
		int err;

		pthread_mutex_lock(&r->lock);
		i = r->next < r->n ? r->next++ : -1;
		pthread_mutex_unlock(&r->lock);
		if (i < 0)
			break;
		if (bp_hasher_new(&s.h))
			break;
		if (i == 0)
			s.fail_after = r->fail_after;
		req.url = r->urls[i];
		req.size_hint = r->size_hint;
		req.write_fn = on_data;
		req.write_payload = &s;
		err = bp_http__perform(h, &req, &resp);
		bp_hasher_final(s.h, digest);
		bp_hasher_free(s.h);
		if (err)
			snprintf(r->lines[i], sizeof(r->lines[i]), "error %s %s", bp_error_last(),
				 r->urls[i]);
		else
			snprintf(r->lines[i], sizeof(r->lines[i]), "%s %lld %ld %s", digest,
				 (long long)s.size, resp.status, r->urls[i]);
		if (err || resp.status != 200) {
			pthread_mutex_lock(&r->lock);
			r->failed = 1;
			pthread_mutex_unlock(&r->lock);
		}
		bp_http__response_release(&resp);
	}
	bp_http__free(h);
	return NULL;
}

int main(int argc, char **argv)
{
	bp_http_share_options so = { 0 };
	bp_http_share_stats st;
	pthread_t th[JOBS_MAX];
	run r;
	int64_t v;
	int i, jobs = 4;

	memset(&r, 0, sizeof(r));
	r.verify = 1;
	r.fail_after = -1;
	for (i = 1; i < argc && bp_strprefix(argv[i], "--"); i++) {
		if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc &&
		    bp_parse_int64(argv[i + 1], 1, JOBS_MAX, &v) == 0) {
			jobs = (int)v;
			i++;
		} else if (strcmp(argv[i], "--size-hint") == 0 && i + 1 < argc &&
			   bp_parse_int64(argv[i + 1], 0, INT64_MAX, &v) == 0) {
			r.size_hint = v;
			i++;
		} else if (strcmp(argv[i], "--fail-after") == 0 && i + 1 < argc &&
			   bp_parse_int64(argv[i + 1], 0, INT64_MAX, &v) == 0) {
			r.fail_after = v;
			i++;
		} else if (strcmp(argv[i], "--slow") == 0) {
			r.slow = 1;
		} else if (strcmp(argv[i], "--no-verify") == 0) {
			r.verify = 0;
		} else {
			fprintf(stderr, "http-get: bad option %s\n", argv[i]);
			return 2;
		}
	}
	r.urls = argv + i;
	r.n = argc - i;
	if (!r.n || !(r.lines = calloc((size_t)r.n, sizeof(*r.lines)))) {
		fprintf(stderr, "usage: http-get [--jobs N] [--slow] [--fail-after BYTES] "
				"[--size-hint BYTES] [--no-verify] URL...\n");
		return 2;
	}
	if (bp_http__share_new(&r.share, &so)) {
		fprintf(stderr, "http-get: %s\n", bp_error_last());
		return 1;
	}
	pthread_mutex_init(&r.lock, NULL);
	for (i = 0; i < jobs; i++)
		pthread_create(&th[i], NULL, worker, &r);
	for (i = 0; i < jobs; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < r.n; i++)
		printf("%s\n", r.lines[i][0] ? r.lines[i] : "error not fetched");
	bp_http__share_stats(r.share, &st);
	printf("requests=%ld connections=%ld h2=%ld resumed=%ld pauses=%ld multiplexed=%ld\n",
	       st.requests, st.connections, st.h2_connections, st.tls_resumed, st.pauses,
	       st.multiplexed);
	bp_http__share_free(r.share);
	pthread_mutex_destroy(&r.lock);
	free(r.lines);
	return r.failed;
}
