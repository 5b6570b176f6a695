/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The retry policy of every request: which failures pass, how long to wait
 * (the server's Retry-After, else backoff with jitter), and the line that
 * says a retry is coming.
 */
#include "retry.h"
#include "util/strutil.h"

#include <beampush/common.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Statuses that say "try again later". */
int bp_retry__retriable(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	       status == 504;
}

/* A time-out, a reset or a refused connection passes; so does a retriable status. */
int bp_retry__passing(int err, long status)
{
	return err ? err == BP_ENET : bp_retry__retriable(status);
}

/* Retry-After in seconds (a number, or an HTTP date from now); -1 when absent or odd. */
static double retry_after(const char *value)
{
	struct tm tm;
	const char *end;
	int64_t secs;
	double want;

	if (!value)
		return -1;
	if (bp_parse_int64(value, 0, INT64_MAX, &secs) == 0)
		return (double)secs;
	memset(&tm, 0, sizeof(tm));
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	want = difftime(timegm(&tm), time(NULL));
	return want < 0 ? 0 : want;
}

/* See retry.h. */
double bp_retry__delay(const bp_http_response *resp, int n, double *asked)
{
	double d = 0.5, cap = 30, want = resp ? retry_after(resp->retry_after) : -1;
	int i;

	*asked = -1;
	if (want >= 0) {
		if (want <= BP_RETRY_AFTER_CAP)
			return want;
		*asked = want;
		return BP_RETRY_AFTER_CAP;
	}
	for (i = 0; i < n && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* up to a quarter more, so that parallel workers do not retry in step */
	return d + d * 0.25 * ((double)(rand() % 1000) / 1000.0);
}

/* A wait as the whole seconds a message says: rounded up. */
long bp_retry__whole_secs(double secs)
{
	long s = (long)secs;

	return (double)s < secs ? s + 1 : s;
}

/* Wait before a retry; a test seam only counts the wait. */
void bp_retry__sleep(const bp_retry *p, double secs)
{
	struct timespec ts;

	if (p && p->sleep) {
		p->sleep(secs, p->sleep_payload);
		return;
	}
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The line through the policy's callback. */
void bp_retry__say(const bp_retry *p, const char *message)
{
	if (p && p->say)
		p->say(message, p->payload);
}

/* See retry.h. */
int bp_retry__should(const bp_retry *p, const char *what, int err, const bp_http_response *resp,
		     int n)
{
	char msg[600], capped[96] = "";
	double d, asked;

	if (!p || n >= p->retries || !bp_retry__passing(err, err ? 0 : resp->status))
		return 0;
	d = bp_retry__delay(err ? NULL : resp, n, &asked);
	if (asked >= 0)
		snprintf(capped, sizeof(capped),
			 " (Retry-After capped at %ds; the registry asked for %.0fs)",
			 BP_RETRY_AFTER_CAP, asked);
	if (err)
		snprintf(msg, sizeof(msg), "retrying in %lds (attempt %d of %d): %s %.300s",
			 bp_retry__whole_secs(d), n + 2, p->retries + 1, what, bp_error_last());
	else
		snprintf(msg, sizeof(msg), "retrying in %lds (attempt %d of %d): %s answered %ld%s",
			 bp_retry__whole_secs(d), n + 2, p->retries + 1, what, resp->status,
			 capped);
	bp_retry__say(p, msg);
	bp_retry__sleep(p, d);
	return 1;
}
