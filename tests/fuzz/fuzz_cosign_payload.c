/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: cosign simple signing payloads, as a registry serves them. */
#include "cosign.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *image = NULL, *identity = NULL;

	/* an exact-size copy, no NUL: the parser takes (data, len), and refuses what is too large
	 */
	if (size > 2 * BP_COSIGN_PAYLOAD_MAX || !(copy = malloc(size ? size : 1)))
		return 0;
	memcpy(copy, data, size);
	if (bp_cosign__payload_parse(copy, size, &image, &identity) == 0) {
		(void)strlen(image);
		if (identity)
			(void)strlen(identity);
	}
	free(image);
	free(identity);
	free(copy);
	return 0;
}
