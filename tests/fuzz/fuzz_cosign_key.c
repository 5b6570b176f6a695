/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: key files, as --sign-key and --verify-key read them
 * (PEM, PKCS#8, SEC 1, cosign's encrypted JSON), private and public.
 */
#include "cosign.h"

#include "util/strutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passphrase(const char *name, char *buf, size_t size, void *payload)
{
	bp_strlcpy(buf, "beampush-test", size);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *k = NULL;
	char *copy;

	if (size > 2 * BP_COSIGN_KEY_FILE_MAX || !(copy = malloc(size ? size : 1)))
		return 0;
	memcpy(copy, data, size);
	if (bp_cosign__key_parse(&k, 1, copy, size, "key", passphrase, NULL) == 0)
		EVP_PKEY_free(k);
	k = NULL;
	if (bp_cosign__key_parse(&k, 0, copy, size, "key", NULL, NULL) == 0)
		EVP_PKEY_free(k);
	free(copy);
	return 0;
}
