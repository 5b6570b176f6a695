/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: an index of referrers, as the referrers API answers
 * a page or a registry without it holds one under the referrers tag; the
 * same bytes as a referrer's manifest, whose entry a copy makes; and the
 * referrers tag of a digest.
 */
#include "referrers.h"

#include <beampush/manifest.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SUBJECT "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER "sha256:2222222222222222222222222222222222222222222222222222222222222222"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bp_referrers_list l = BP_REFERRERS_LIST_INIT;
	char subject[BP_DIGEST_MAX], tag[BP_REFERRERS_TAG_MAX], *copy, *digest;
	size_t i, k;

	if (size > BP_MANIFEST_MAX)
		return 0;
	if (!(copy = malloc(size ? size : 1)))
		return 0;
	memcpy(copy, data, size);
	/* two pages into one list, as the API's come; then every entry read */
	(void)bp_referrers__parse(copy, size, SUBJECT, &l);
	(void)bp_referrers__parse(copy, size, NULL, &l);
	for (i = 0; i < l.n; i++) {
		if (!bp_referrers__list_has(&l, l.v[i].digest))
			abort();
		for (k = 0; k < l.v[i].nannotations; k++)
			if (!l.v[i].annotations[k].key || !l.v[i].annotations[k].value)
				abort();
	}
	(void)bp_referrers__describe(copy, size, BP_MEDIA_OCI_MANIFEST, OTHER, &l, subject);
	(void)bp_referrers__describe(copy, size, BP_MEDIA_OCI_INDEX, SUBJECT, &l, subject);
	bp_referrers__list_release(&l);
	/* the tag schema on anything digest-shaped */
	if ((digest = malloc(size + 1))) {
		memcpy(digest, data, size);
		digest[size] = '\0';
		bp_referrers__tag(digest, tag);
		if (strlen(tag) > 97)
			abort();
		free(digest);
	}
	free(copy);
	return 0;
}
