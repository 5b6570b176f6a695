/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: choosing a platform from an index or manifest list
 * (the platform fields of its entries, and a --platform string), and the
 * diff_ids of an image config. Input: a platform string, a newline, the
 * JSON document.
 */
#include <beampush/manifest.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = { BP_MEDIA_OCI_INDEX, BP_MEDIA_DOCKER_LIST, NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	char *platform, *doc;
	size_t plen, dlen, i;
	char **ids = NULL;
	size_t n = 0;

	if (size > BP_MANIFEST_MAX)
		return 0;
	nl = memchr(data, '\n', size);
	plen = nl ? (size_t)(nl - data) : 0;
	dlen = nl ? size - plen - 1 : size;
	platform = malloc(plen + 1);
	doc = malloc(dlen ? dlen : 1);
	if (!platform || !doc)
		goto done;
	memcpy(platform, data, plen);
	platform[plen] = '\0';
	memcpy(doc, nl ? nl + 1 : data, dlen);
	for (i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
		bp_manifest *m = NULL;
		const bp_descriptor *d;

		if (bp_manifest_parse(&m, doc, dlen, content_types[i]) == 0 &&
		    bp_manifest_kind_is_index(bp_manifest_kind_get(m))) {
			if (bp_manifest_select_platform(m, platform, &d) == 0)
				(void)strlen(d->digest);
			if (bp_manifest_select_platform(m, bp_platform_default(), &d) == 0)
				(void)strlen(d->digest);
		}
		bp_manifest_free(m);
	}
	if (bp_config_diff_ids(doc, dlen, &ids, &n) == 0) {
		for (i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
	}
done:
	free(platform);
	free(doc);
	return 0;
}
