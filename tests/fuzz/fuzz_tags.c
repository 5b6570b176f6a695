/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: a registry's tags/list answer ({"name": ..., "tags":
 * [...]}), as `beampush tags` reads each page of it.
 */
#include "registry.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const char *tag, void *payload)
{
	size_t *n = payload;

	*n += strlen(tag) + 1;
	/* a caller that stops early, sometimes */
	return tag[0] == 's';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;

	if (size > 1024 * 1024)
		return 0;
	(void)bp_registry__parse_tags((const char *)data, size, count, &n);
	return 0;
}
