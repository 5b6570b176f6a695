/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: digest strings from manifests and headers. */
#include <beampush/digest.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bp_digest_validate(s) == 0) {
		(void)strlen(bp_digest_hex(s));
		(void)bp_digest_equal(s, s);
	}
	free(s);
	return 0;
}
