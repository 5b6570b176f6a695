/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: a registry's error bodies
 * ({"errors":[{"code","message","detail"}]} or anything else), as the
 * messages and the decisions made from them (error code, "too large",
 * PATCH refused) read them. The first byte picks the status. The readers
 * are internals of the library (registry_int.h).
 */
#include "registry_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 400, 401, 403, 404, 405, 413, 416, 500 };
	bp_http_response resp = { 0 };

	if (size < 1 || size > 64 * 1024 + 1)
		return 0;
	resp.status = statuses[data[0] & 7];
	resp.content_length = -1;
	/* as http.c keeps an error body: capped, no NUL promised after it */
	resp.err_body.cap = 64 * 1024;
	if (size > 1) {
		resp.err_body.ptr = malloc(size - 1);
		if (!resp.err_body.ptr)
			return 0;
		memcpy(resp.err_body.ptr, data + 1, size - 1);
		resp.err_body.len = resp.err_body.alloc = size - 1;
	}
	(void)bp_registry__status_error(&resp, "sha256:0123");
	(void)bp_registry__error_code_is(&resp, "UNSUPPORTED");
	(void)bp_registry__error_code_is(&resp, "BLOB_UPLOAD_INVALID");
	(void)bp_registry__too_large(&resp);
	(void)bp_registry__patch_refused(&resp);
	bp_http__response_release(&resp);
	return 0;
}
