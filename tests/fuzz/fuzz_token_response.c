/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: token endpoint response bodies. */
#include "auth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;
	char *token = NULL, *refresh = NULL;
	long expires = 0;

	if (size > BP_TOKEN_RESPONSE_MAX)
		return 0;
	/* An exact-size copy, no NUL: the parser takes (body, len). */
	body = malloc(size ? size : 1);
	if (!body)
		return 0;
	memcpy(body, data, size);
	if (bp_auth__parse_token_response(body, size, &token, &expires, &refresh) == 0)
		(void)strlen(token);
	free(token);
	free(refresh);
	token = NULL;
	if (bp_auth__parse_token_response(body, size, &token, &expires, NULL) == 0)
		(void)strlen(token);
	free(token);
	free(body);
	return 0;
}
