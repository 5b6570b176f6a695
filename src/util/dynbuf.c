/* SPDX-License-Identifier: Apache-2.0 */
#include "util/dynbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bp_dynbuf_init(bp_dynbuf *b, size_t cap)
{
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void bp_dynbuf_release(bp_dynbuf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->alloc = 0;
}

void bp_dynbuf_reset(bp_dynbuf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

int bp_dynbuf_full(const bp_dynbuf *b, size_t more)
{
	return more > b->cap || b->len > b->cap - more;
}

static int grow(bp_dynbuf *b, size_t more)
{
	size_t need, n;
	char *p;

	if (bp_dynbuf_full(b, more))
		return -1;
	need = b->len + more + 1;
	if (need <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < need)
		n *= 2;
	if (n > b->cap + 1)
		n = b->cap + 1;
	p = realloc(b->ptr, n);
	if (!p)
		return -1;
	b->ptr = p;
	b->alloc = n;
	return 0;
}

int bp_dynbuf_add(bp_dynbuf *b, const void *data, size_t len)
{
	if (grow(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int bp_dynbuf_adds(bp_dynbuf *b, const char *s)
{
	return bp_dynbuf_add(b, s, strlen(s));
}

int bp_dynbuf_add_printable(bp_dynbuf *b, const char *s)
{
	size_t i = b->len;

	if (bp_dynbuf_add(b, s, s ? strlen(s) : 0) < 0)
		return -1;
	for (; i < b->len; i++)
		if ((unsigned char)b->ptr[i] < 0x20 || b->ptr[i] == 0x7f)
			b->ptr[i] = '?';
	return 0;
}

int bp_dynbuf_vprintf(bp_dynbuf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int bp_dynbuf_printf(bp_dynbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = bp_dynbuf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *bp_dynbuf_detach(bp_dynbuf *b, size_t *len)
{
	char *p;

	if (!b->ptr && grow(b, 0) < 0)
		return NULL;
	p = b->ptr;
	if (len)
		*len = b->len;
	b->ptr = NULL;
	b->len = b->alloc = 0;
	return p;
}
