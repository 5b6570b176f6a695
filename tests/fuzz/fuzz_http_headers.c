/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: response headers, from the bytes curl hands over to
 * what the registry code makes of them: http.c's header parser (status
 * line, Location, Range, Content-Range, Link, Retry-After, Content-Length,
 * WWW-Authenticate ...), then the registry's readers of those values: the
 * upload Location, the Range of an upload status, Retry-After, the Link of
 * tag pages and the Content-Range check of a resumed download. All of them
 * are internals of the library (http.h, registry_int.h), linked as the
 * library's other callers link them.
 */
#include "http.h"
#include "registry_int.h"
#include "util/strutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(const void *data, size_t len, void *payload)
{
	size_t *total = payload;

	(void)data;
	*total += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char body[] = "0123456789abcdef";
	bp_http_response resp = { 0 };
	char *copy, *line, *loc = NULL, *next, *with;
	size_t off = 0, total = 0;
	bp_range_sink rs;

	if (size > 64 * 1024)
		return 0;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	resp.content_length = -1;
	bp_dynbuf_init(&resp.err_body, 64 * 1024);
	/* one call per header line, each an exact-size buffer as curl's */
	while (off < size) {
		const char *nl = memchr(copy + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (copy + off)) + 1 : size - off;

		line = malloc(n);
		if (!line)
			break;
		memcpy(line, copy + off, n);
		if (bp_http__parse_header(&resp, line, n) != 0)
			abort();
		free(line);
		off += n;
	}
	resp.url = bp_strdup("https://registry.example.com/v2/beam/app/tags/list?n=2");
	if (bp_registry__next_location(&resp, &loc) == 0) {
		char *origin = bp_http__origin(loc);

		free(origin);
		with = bp_registry__with_digest(loc, "sha256:"
					"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		free(with);
	}
	free(loc);
	(void)bp_registry__range_end(resp.range);
	(void)bp_registry__range_end(resp.content_range);
	{
		double asked;

		(void)bp_retry__whole_secs(bp_retry__delay(&resp, 0, &asked));
		(void)bp_retry__whole_secs(bp_retry__delay(&resp, 40, &asked));
	}
	next = NULL;
	(void)bp_registry__link_next(resp.url, resp.link, &next);
	free(next);
	/* a download resumed at byte 4, and one from the start */
	rs = (bp_range_sink){ sink, &total, &resp, 4, -1 };
	if (bp_registry__range_write(body, sizeof(body), &rs) == 0)
		(void)bp_registry__range_write(body, sizeof(body), &rs);
	rs = (bp_range_sink){ sink, &total, &resp, 0, -1 };
	(void)bp_registry__range_write(body, sizeof(body), &rs);
	bp_http__response_release(&resp);
	free(copy);
	return 0;
}
