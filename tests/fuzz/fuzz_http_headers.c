/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: response headers, from the bytes curl hands over to
 * what the registry code makes of them: http.c's header callback (status
 * line, Location, Range, Content-Range, Link, Retry-After, Content-Length,
 * WWW-Authenticate ...), then registry.c's readers of those values: the
 * upload Location, the Range of an upload status, Retry-After, the Link of
 * tag pages and the Content-Range check of a resumed download. The parsers
 * are static: this file includes both sources, so that neither needs to
 * export them (the library's http.o and registry.o are then not linked).
 */
#include "../../src/lib/http.c"
#include "../../src/lib/registry.c"

#include <stdint.h>

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
	bp_http_request req = BP_HTTP_REQUEST_INIT;
	bp_http_response resp = { 0 };
	xfer x;
	char *copy, *line, *loc = NULL, *next, *with;
	size_t off = 0, total = 0;
	range_sink rs;

	if (size > 64 * 1024)
		return 0;
	memset(&x, 0, sizeof(x));
	x.req = &req;
	x.resp = &resp;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	resp.content_length = -1;
	bp_dynbuf_init(&resp.err_body, ERR_BODY_MAX);
	/* one call per header line, each an exact-size buffer as curl's */
	while (off < size) {
		const char *nl = memchr(copy + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (copy + off)) + 1 : size - off;

		line = malloc(n);
		if (!line)
			break;
		memcpy(line, copy + off, n);
		if (on_header(line, 1, n, &x) != n)
			abort();
		free(line);
		off += n;
	}
	resp.url = bp_strdup("https://registry.example.com/v2/beam/app/tags/list?n=2");
	if (next_location(&resp, &loc) == 0) {
		char *origin = bp_http__origin(loc);

		free(origin);
		with = with_digest(loc, "sha256:"
					"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		free(with);
	}
	free(loc);
	(void)range_end(resp.range);
	(void)range_end(resp.content_range);
	{
		double asked;

		(void)whole_secs(retry_delay(&resp, 0, &asked));
		(void)whole_secs(retry_delay(&resp, 40, &asked));
	}
	next = NULL;
	(void)bp_registry__link_next(resp.url, resp.link, &next);
	free(next);
	/* a download resumed at byte 4, and one from the start */
	rs = (range_sink){ sink, &total, &resp, 4, -1 };
	if (range_write(body, sizeof(body), &rs) == 0)
		(void)range_write(body, sizeof(body), &rs);
	rs = (range_sink){ sink, &total, &resp, 0, -1 };
	(void)range_write(body, sizeof(body), &rs);
	bp_http__response_release(&resp);
	free(copy);
	return 0;
}
