/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: WWW-Authenticate header values from a registry. */
#include "auth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	bp_auth_challenge *list = NULL;
	size_t n = 0, i;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bp_auth__parse_challenges(s, &list, &n) == 0) {
		for (i = 0; i < n; i++) {
			if (list[i].scheme)
				(void)strlen(list[i].scheme);
			if (list[i].realm)
				(void)strlen(list[i].realm);
			if (list[i].service)
				(void)strlen(list[i].service);
			if (list[i].scope)
				(void)strlen(list[i].scope);
			if (list[i].error)
				(void)strlen(list[i].error);
		}
		bp_auth__challenges_free(list, n);
	}
	free(s);
	return 0;
}
