/* SPDX-License-Identifier: Apache-2.0 */
#include "gunzip.h"

#include <beampush/common.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IN_BUF (256 * 1024)

struct bp_gunzip {
	z_stream z;
	long (*src)(void *buf, size_t len, void *payload);
	void *payload;
	unsigned char *in;
	int in_eof;
	int member_done; /* the last member ended; more input means another member */
	int finished;
};

/* A decompressing reader over src; see gunzip.h. */
int bp_gunzip__new(bp_gunzip **out, long (*src)(void *buf, size_t len, void *payload),
		   void *payload)
{
	bp_gunzip *g = calloc(1, sizeof(*g));

	if (!g || !(g->in = malloc(IN_BUF))) {
		free(g);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	g->src = src;
	g->payload = payload;
	/* 16 + MAX_WBITS: gzip only, header and CRC checked */
	if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
		free(g->in);
		free(g);
		return bp_error_set(BP_ENOMEM, "zlib: cannot start inflate");
	}
	*out = g;
	return 0;
}

/* Free g; NULL is fine. */
void bp_gunzip__free(bp_gunzip *g)
{
	if (!g)
		return;
	inflateEnd(&g->z);
	free(g->in);
	free(g);
}

static int fill(bp_gunzip *g)
{
	long n;

	if (g->z.avail_in || g->in_eof)
		return 0;
	n = g->src(g->in, IN_BUF, g->payload);
	if (n < 0)
		return -1;
	if (n == 0)
		g->in_eof = 1;
	g->z.next_in = g->in;
	g->z.avail_in = (uInt)n;
	return 0;
}

/* Decompressed bytes; see gunzip.h. */
long bp_gunzip__read(void *buf, size_t len, void *p)
{
	bp_gunzip *g = p;

	if (g->finished || !len)
		return 0;
	if (len > (1u << 30))
		len = 1u << 30;
	g->z.next_out = buf;
	g->z.avail_out = (uInt)len;
	while (g->z.avail_out == len) {
		int rc;

		if (fill(g) < 0)
			return -1;
		if (g->member_done) {
			if (!g->z.avail_in && g->in_eof) {
				g->finished = 1;
				return 0;
			}
			if (!g->z.avail_in)
				continue;
			/* the next member of a multi-member stream */
			inflateReset(&g->z);
			g->member_done = 0;
		}
		if (!g->z.avail_in && g->in_eof) {
			bp_error_set(BP_EINTEGRITY, "gzip stream cut short");
			return -1;
		}
		rc = inflate(&g->z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END) {
			g->member_done = 1;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			bp_error_set(BP_EINTEGRITY, "gzip: %s", g->z.msg ? g->z.msg : "corrupt data");
			return -1;
		}
	}
	return (long)(len - g->z.avail_out);
}

/* See gunzip.h. */
const char *bp_gunzip__zlib_version(void)
{
	return zlibVersion();
}
