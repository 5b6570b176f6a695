/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: what a docker-credential-* helper prints. The first
 * byte picks how it "exited" (0, 1, or killed); its stdout is the rest,
 * read as the JSON answer of a "get" and as the message of a failure.
 */
#include "credhelper.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* waitpid statuses: exited 0, exited 1, killed by SIGSEGV */
	static const int statuses[] = { 0, 1 << 8, SIGSEGV };
	char *out, *user = NULL, *secret = NULL;
	size_t len;
	int status;

	if (size < 1 || size > BP_CREDHELPER_OUTPUT_MAX + 1)
		return 0;
	status = statuses[data[0] % 3];
	len = size - 1;
	/* as run_helper leaves it: the bytes, then a NUL */
	out = malloc(len + 1);
	if (!out)
		return 0;
	memcpy(out, data + 1, len);
	out[len] = '\0';
	if (bp_credhelper__exit_error("fuzz", "get", status, out, len, "stderr line", 11) == 0 &&
	    bp_credhelper__parse_get("fuzz", "https://index.docker.io/v1/", out, len, &user,
				     &secret) == 0) {
		(void)strlen(user);
		(void)strlen(secret);
	}
	free(user);
	free(secret);
	free(out);
	return 0;
}
