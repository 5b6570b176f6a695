/* SPDX-License-Identifier: Apache-2.0 */
#include "util/strutil.h"
#include "util/dynbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *bp_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *bp_strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

char *bp_aprintf(const char *fmt, ...)
{
	bp_dynbuf b = BP_DYNBUF_INIT(SIZE_MAX / 2);
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = bp_dynbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (r < 0) {
		bp_dynbuf_release(&b);
		return NULL;
	}
	return bp_dynbuf_detach(&b, NULL);
}

size_t bp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

const char *bp_strcaseprefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

const char *bp_strprefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

int bp_strsuffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int bp_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *bp_base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i, o = 0;
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		out[o++] = b64[p[i] >> 2];
		out[o++] = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		out[o++] = b64[p[i + 2] & 63];
	}
	if (i < len) {
		out[o++] = b64[p[i] >> 2];
		if (i + 1 < len) {
			out[o++] = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			out[o++] = b64[(p[i + 1] & 15) << 2];
		} else {
			out[o++] = b64[(p[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int b64val(int c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

unsigned char *bp_base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	unsigned char *out;
	unsigned acc = 0;
	int bits = 0, pad = 0;

	out = malloc(n / 4 * 3 + 4);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		int v;

		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64val((unsigned char)s[i])) < 0)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (pad > 2 || (n % 4 && pad))
		goto bad;
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
bad:
	free(out);
	return NULL;
}

char *bp_urlencode(const char *s)
{
	bp_dynbuf b = BP_DYNBUF_INIT(SIZE_MAX / 2);

	if (bp_dynbuf_add(&b, "", 0) < 0)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int r;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			r = bp_dynbuf_add(&b, s, 1);
		else
			r = bp_dynbuf_printf(&b, "%%%02X", c);
		if (r < 0) {
			bp_dynbuf_release(&b);
			return NULL;
		}
	}
	return bp_dynbuf_detach(&b, NULL);
}
