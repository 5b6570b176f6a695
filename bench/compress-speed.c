/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/compress-speed: stream a file through bp_gzip (src/lib/compress.c)
 * as the push engine will, reading it in 256 KiB pieces, and print one
 * line: level, threads, where the sha256 runs, sizes, seconds, MB/s of
 * input (MB = 10^6 bytes), ratio and CPU use (100% = one core busy).
 *
 *   compress-speed [-l LEVEL] [-t THREADS] [-b BLOCK] [-H] [-r RUNS] [-o OUT] FILE
 *
 * -H hashes on a dedicated thread instead of the caller's; -r runs it RUNS
 * times and prints the fastest (other programs share this machine's
 * cores); -o writes the compressed stream to OUT (else it is only
 * counted); the diff_id goes to stderr. Driven by bench/compress.
 */
#include "compress.h"

#include <beampush/common.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int out_fd = -1;

static int sink(const void *data, size_t len, void *payload)
{
	const char *p = data;

	while (out_fd >= 0 && len > 0) {
		ssize_t n = write(out_fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bp_error_set(BP_EIO, "write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long number(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "compress-speed: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return v;
}

struct result {
	double secs;
	double cpu;
	int64_t in;
	int64_t out;
	int threads;
	char diff_id[BP_DIGEST_MAX];
};

/* Compress the file at path into out_fd (when open), measuring. */
static int run(const char *path, int level, int threads, size_t block, int hash_thread,
	       struct result *res)
{
	static unsigned char buf[256 * 1024];
	double t0, c0;
	bp_gzip *z = NULL;
	int fd, r;

	if (out_fd >= 0 && (lseek(out_fd, 0, SEEK_SET) < 0 || ftruncate(out_fd, 0) < 0))
		return bp_error_set(BP_EIO, "truncating the output: %s", strerror(errno));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return bp_error_set(BP_EIO, "%s: %s", path, strerror(errno));
	t0 = now();
	c0 = cpu_seconds();
	if ((r = bp_gzip__new(&z, level, threads, block, sink, NULL)) < 0 ||
	    (r = bp_gzip__set_hash_thread(z, hash_thread)) < 0)
		goto done;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = bp_error_set(BP_EIO, "%s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if ((r = bp_gzip__write(z, buf, (size_t)n)) < 0)
			goto done;
	}
	if ((r = bp_gzip__finish(z)) < 0 || (r = bp_gzip__diff_id(z, res->diff_id)) < 0)
		goto done;
	res->secs = now() - t0;
	res->cpu = cpu_seconds() - c0;
	res->in = bp_gzip__in_bytes(z);
	res->out = bp_gzip__out_bytes(z);
	res->threads = bp_gzip__threads(z);
done:
	bp_gzip__free(z);
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	int level = 6, threads = 0, hash_thread = 0, runs = 1, opt, i, r = 0;
	size_t block = 0;
	const char *out_path = NULL;
	struct result best = { 0 };

	while ((opt = getopt(argc, argv, "l:t:b:Hr:o:")) != -1) {
		switch (opt) {
		case 'l':
			level = (int)number(optarg, "level");
			break;
		case 't':
			threads = (int)number(optarg, "thread count");
			break;
		case 'b':
			block = (size_t)number(optarg, "block size");
			break;
		case 'H':
			hash_thread = 1;
			break;
		case 'r':
			runs = (int)number(optarg, "run count");
			break;
		case 'o':
			out_path = optarg;
			break;
		default:
			fprintf(stderr, "usage: compress-speed [-l LEVEL] [-t THREADS] [-b BLOCK] "
					"[-H] [-r RUNS] [-o OUT] FILE\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "compress-speed: one input FILE expected\n");
		return 2;
	}
	if (out_path) {
		out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out_fd < 0) {
			fprintf(stderr, "compress-speed: %s: %s\n", out_path, strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < runs && r == 0; i++) {
		struct result res;

		r = run(argv[optind], level, threads, block, hash_thread, &res);
		if (r == 0 && (i == 0 || res.secs < best.secs))
			best = res;
	}
	if (r == 0) {
		printf("libdeflate -%-2d threads %d hash %-6s %7.1f MB -> %7.1f MB %6.2f s "
		       "%6.1f MB/s  ratio %.3f  cpu %3.0f%%\n",
		       level, best.threads, hash_thread ? "thread" : "caller",
		       (double)best.in / 1e6, (double)best.out / 1e6, best.secs,
		       (double)best.in / 1e6 / best.secs,
		       best.out ? (double)best.in / (double)best.out : 0.0,
		       100.0 * best.cpu / best.secs);
		fprintf(stderr, "%s\n", best.diff_id);
	}
	if (r == 0 && out_fd >= 0 && close(out_fd) < 0)
		r = bp_error_set(BP_EIO, "%s: %s", out_path, strerror(errno));
	if (r < 0) {
		fprintf(stderr, "compress-speed: %s\n", bp_error_last());
		return 1;
	}
	return 0;
}
