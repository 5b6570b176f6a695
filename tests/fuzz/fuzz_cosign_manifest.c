/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the manifest at a .sig tag, read (every layer's
 * descriptor and signature annotation) and written again with a layer more.
 */
#include "cosign.h"

#include <beampush/manifest.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define D "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bp_cosign_manifest m = BP_COSIGN_MANIFEST_INIT;
	const char *mt;
	char *copy, *out = NULL;
	size_t i, len;

	if (size > BP_MANIFEST_MAX || !(copy = malloc(size ? size : 1)))
		return 0;
	memcpy(copy, data, size);
	if (bp_cosign__manifest_parse(&m, copy, size) == 0) {
		for (i = 0; i < m.n; i++) {
			unsigned char *der = NULL;
			size_t derlen;

			if (m.layers[i].signature &&
			    bp_cosign__signature_decode(m.layers[i].signature, &der, &derlen) == 0)
				free(der);
		}
		if (bp_cosign__manifest_add(&m, D, 1, "c2ln", D, 2, &out, &len, &mt) == 0)
			(void)strlen(mt);
		free(out);
	}
	bp_cosign__manifest_release(&m);
	free(copy);
	return 0;
}
