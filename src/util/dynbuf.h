/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_UTIL_DYNBUF_H
#define BP_UTIL_DYNBUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable byte buffer with a size cap fixed at init, as curl's dynbuf.
 * The content is always NUL-terminated (the NUL is not counted in len).
 * Every body read from the network goes into one, so a hostile peer can
 * never make us allocate more than the cap.
 */
typedef struct {
	char *ptr;
	size_t len;
	size_t alloc;
	size_t cap;
} bp_dynbuf;

#define BP_DYNBUF_INIT(c) { NULL, 0, 0, (c) }

void bp_dynbuf_init(bp_dynbuf *b, size_t cap);
void bp_dynbuf_release(bp_dynbuf *b);
void bp_dynbuf_reset(bp_dynbuf *b);
/* 0, or -1 when the cap would be exceeded or memory ran out (buffer kept). */
int bp_dynbuf_add(bp_dynbuf *b, const void *data, size_t len);
int bp_dynbuf_adds(bp_dynbuf *b, const char *s);
/*
 * Add s (NULL: nothing) with each control character (C0 or DEL) made a
 * '?': text from a registry, which must not send escape sequences to a
 * terminal. 0, or -1 as bp_dynbuf_add (nothing of s added).
 */
int bp_dynbuf_add_printable(bp_dynbuf *b, const char *s);
int bp_dynbuf_printf(bp_dynbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int bp_dynbuf_vprintf(bp_dynbuf *b, const char *fmt, va_list ap);
/* Hands the content to the caller (never NULL on success) and empties b. */
char *bp_dynbuf_detach(bp_dynbuf *b, size_t *len);
/* 1 when the last add failed because of the cap. */
int bp_dynbuf_full(const bp_dynbuf *b, size_t more);

#endif
