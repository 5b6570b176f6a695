/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: Docker Engine API answers: the image inspect JSON and
 * the {"message": ...} body of a failed answer.
 */
#include "store_daemon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 404, 500, 409, 400 };
	bp_daemon_image img;
	bp_http_response resp = { 0 };
	char *copy;

	if (size < 1 || size > 4 * 1024 * 1024)
		return 0;
	/* an exact-size copy, no NUL: both take (body, len) */
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (bp_daemon__parse_inspect(copy + 1, size - 1, "beam/app:1", &img) == 0) {
		size_t i;

		(void)strlen(img.id);
		for (i = 0; i < img.ndiff_ids; i++)
			(void)strlen(img.diff_ids[i]);
		for (i = 0; i < img.nrepo_digests; i++)
			(void)strlen(img.repo_digests[i]);
		bp_daemon__image_release(&img);
	}
	resp.status = statuses[data[0] & 3];
	bp_dynbuf_init(&resp.err_body, 64 * 1024);
	if (bp_dynbuf_add(&resp.err_body, copy + 1, size - 1) == 0)
		(void)bp_daemon__error(&resp, "no image", "beam/app:1");
	bp_http__response_release(&resp);
	free(copy);
	return 0;
}
