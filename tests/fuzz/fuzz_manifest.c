/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: manifests, indexes and image configs from a registry. */
#include <beampush/manifest.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
	BP_MEDIA_DOCKER_MANIFEST, BP_MEDIA_DOCKER_LIST, BP_MEDIA_OCI_MANIFEST,
	BP_MEDIA_OCI_INDEX, NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	char **ids = NULL;
	size_t n = 0, i;

	if (size > BP_MANIFEST_MAX)
		return 0;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	for (i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
		bp_manifest *m = NULL;

		if (bp_manifest_parse(&m, copy, size, content_types[i]) == 0)
			(void)bp_manifest_media_type(m);
		bp_manifest_free(m);
	}
	if (bp_config_diff_ids(copy, size, &ids, &n) == 0) {
		for (i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
	}
	free(copy);
	return 0;
}
