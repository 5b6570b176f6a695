/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_UTIL_STRUTIL_H
#define BP_UTIL_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

/* strdup that returns NULL for NULL. */
char *bp_strdup(const char *s);
char *bp_strndup(const char *s, size_t n);
/* Allocating printf; NULL when out of memory. */
char *bp_aprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Bounded copy that always terminates; returns strlen(src). */
size_t bp_strlcpy(char *dst, const char *src, size_t size);
/* Case-insensitive prefix test; returns the rest or NULL. */
const char *bp_strcaseprefix(const char *s, const char *prefix);
const char *bp_strprefix(const char *s, const char *prefix);
int bp_strsuffix(const char *s, const char *suffix);
/* Decimal parse of a whole string into [min, max]; 0 or -1. */
int bp_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Standard base64 (RFC 4648, padded). Encode never fails but for memory. */
char *bp_base64_encode(const void *data, size_t len);
/* Decode into a new NUL-terminated buffer; NULL on bad input. */
unsigned char *bp_base64_decode(const char *s, size_t *len);
/* Percent-encode everything but RFC 3986 unreserved characters. */
char *bp_urlencode(const char *s);

#endif
