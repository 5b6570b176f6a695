/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_RETRY_H
#define BP_LIB_RETRY_H

/*
 * When a failed request is tried again, how long to wait first, and the
 * line that says so: one policy for every request the library sends to a
 * registry or its token service (the ping, token requests, blobs,
 * manifests, tags, uploads).
 */

#include "http.h"

/*
 * A retry policy. All of it may be zero: no retries, nothing said, a real
 * wait.
 */
typedef struct {
	/* passing failures are tried again this many times */
	int retries;
	/* "retrying in 2s (attempt 2 of 5): ...", with payload */
	void (*say)(const char *message, void *payload);
	void *payload;
	/* a test seam: counts the wait instead, with sleep_payload */
	void (*sleep)(double secs, void *payload);
	void *sleep_payload;
} bp_retry;

/* The longest wait a Retry-After gets: a server asking for more is not waited for that long. */
#define BP_RETRY_AFTER_CAP 60

/* 1 for a status that says "try again later" (408, 429, 500, 502, 503, 504). */
int bp_retry__retriable(long status);

/* 1 when an outcome passes: a network error (BP_ENET), or (err 0) a retriable status. */
int bp_retry__passing(int err, long status);

/*
 * Seconds to wait before retry number n (0-based): the Retry-After of resp
 * (may be NULL; seconds or an HTTP date) capped at BP_RETRY_AFTER_CAP
 * (*asked gets what was asked for when capped, else -1), else exponential
 * backoff from half a second with jitter, capped at 30 s.
 */
double bp_retry__delay(const bp_http_response *resp, int n, double *asked);

/* A wait as the whole seconds a message says: rounded up, so 0.5 s is "1s" and 1 s is "1s". */
long bp_retry__whole_secs(double secs);

/* Wait secs (or let the policy's test seam count it). */
void bp_retry__sleep(const bp_retry *p, double secs);

/* Pass message to the policy's say callback, when it has one. */
void bp_retry__say(const bp_retry *p, const char *message);

/*
 * Whether to try again after attempt n (0-based) of the request named by
 * what ("GET", "GET /v2/", "token service POST") ended with err (and resp
 * when err is 0): 1 when the failure passes and retries are left, after
 * saying "retrying in Ns (attempt n+2 of N): WHAT answered STATUS" (or
 * "WHAT <the error>") and waiting. 0 otherwise; p may be NULL (no retries).
 */
int bp_retry__should(const bp_retry *p, const char *what, int err, const bp_http_response *resp,
		     int n);

#endif
