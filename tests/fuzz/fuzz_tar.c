/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the tar reader over layer and archive bytes. */
#include "tar.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *data;
	size_t size, pos;
};

static long src_read(void *buf, size_t len, void *payload)
{
	struct src *s = payload;
	size_t left = s->size - s->pos;

	if (len > left)
		len = left;
	memcpy(buf, s->data + s->pos, len);
	s->pos += len;
	return (long)len;
}

static void run(const uint8_t *data, size_t size, unsigned flags)
{
	struct src s = {data, size, 0};
	bp_tar *t = NULL;
	const bp_tar_entry *e;
	char buf[4096];
	int members = 0;

	if (bp_tar__new(&t, src_read, NULL, &s, flags) != 0)
		return;
	while (members++ < 10000 && bp_tar__next(t, &e) == 1) {
		long r;

		(void)strlen(e->name);
		(void)strlen(e->linkname);
		(void)bp_tar__name_safe(e->name);
		do
			r = bp_tar__read(t, buf, sizeof(buf));
		while (r > 0);
		if (r < 0)
			break;
	}
	bp_tar__free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, 0);
	run(data, size, BP_TAR_ANY_NAME);
	return 0;
}
