/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_JOBS_H
#define BP_LIB_JOBS_H

#include <beampush/client.h>
#include <beampush/manifest.h>

/*
 * Blobs move in parallel: a list of jobs run in order on up to
 * opts.jobs threads of a client, the first error stopping the rest. Small
 * blobs (1 MiB and less, a descriptor's size) cost round trips rather than
 * bytes: when a list has them it runs on up to 4 x opts.jobs threads (at
 * most JOBS_MAX; opts.jobs 1 stays one), of which at most opts.jobs run
 * other jobs.
 */
typedef struct job job;
typedef int (*job_fn)(bp_client *c, job *j);

struct job {
	const bp_descriptor *desc;
	const char *kind;   /* "config", "layer" */
	void *ctx;          /* what the job works on */
	int light;          /* a request, not a transfer: runs as a small blob does */
	int err;
	char msg[1024];
};

/* Run fn over jobs; 0, or the first failed job's error with its message. */
int bp_jobs__run(bp_client *c, job *jobs, size_t n, job_fn fn);

/*
 * The same; with wide (the registry's requests share one multiplexed
 * connection, so another at once costs no connection) small blobs go up
 * to JOBS_MAX at once, whatever opts.jobs (but 1).
 */
int bp_jobs__run_wide(bp_client *c, job *jobs, size_t n, job_fn fn, int wide);

/*
 * The same on at most max threads (jobs that each keep every core busy
 * already), at most opts.jobs of them on jobs that are not small.
 */
int bp_jobs__run_max(bp_client *c, job *jobs, size_t n, job_fn fn, size_t max);

/* Progress of one blob, turned into BP_EVENT_BLOB_PROGRESS events. */
typedef struct {
	bp_client *c;
	const char *digest;
	const char *kind;
} progress_ctx;

/* A bp_registry_progress_fn whose payload is a progress_ctx. */
void bp_jobs__progress(int64_t done, int64_t total, void *payload);

#endif
