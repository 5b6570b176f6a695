/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: containerd's hosts.toml (hosts.c over the TOML
 * reader): every URL, path, header and duration of a file that parses.
 */
#include "hosts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bp_hosts h;
	char *copy;
	size_t i, j;

	/* an exact-size copy, not terminated: the parser must respect the length */
	if (!(copy = malloc(size ? size : 1)))
		return 0;
	memcpy(copy, data, size);
	if (bp_hosts__parse(&h, "/etc/containerd/certs.d/docker.io/hosts.toml", copy, size) == 0) {
		for (i = 0; i <= h.n; i++) {
			const bp_host *x = i < h.n ? &h.hosts[i] : &h.server;

			if (x->url)
				(void)(strlen(x->scheme) + strlen(x->hostport) + strlen(x->path));
			for (j = 0; j < x->nheaders; j++)
				(void)strlen(x->headers[j]);
		}
		bp_hosts__release(&h);
	}
	free(copy);
	return 0;
}
