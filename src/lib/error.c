/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/common.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[1024];
static _Thread_local int last_code;

const char *bp_error_last(void)
{
	return last_msg[0] ? last_msg : "unknown error";
}

int bp_error_last_code(void)
{
	return last_code;
}

void bp_error_clear(void)
{
	last_msg[0] = '\0';
	last_code = 0;
}

int bp_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	last_code = code;
	return code;
}

int bp_error_prefix(const char *fmt, ...)
{
	char old[sizeof(last_msg)];
	size_t n;
	va_list ap;

	memcpy(old, last_msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	n = strlen(last_msg);
	if (n + 2 < sizeof(last_msg)) {
		size_t rest = strnlen(old, sizeof(old));

		memcpy(last_msg + n, ": ", 2);
		n += 2;
		if (rest > sizeof(last_msg) - 1 - n)
			rest = sizeof(last_msg) - 1 - n;
		memcpy(last_msg + n, old, rest);
		last_msg[n + rest] = '\0';
	}
	return last_code;
}

const char *bp_error_name(int code)
{
	switch (code) {
	case BP_OK: return "ok";
	case BP_ENOTFOUND: return "not found";
	case BP_EAUTH: return "authentication";
	case BP_EINTEGRITY: return "integrity";
	case BP_ENET: return "network";
	case BP_ETLS: return "tls";
	case BP_EPROTO: return "protocol";
	case BP_EINVAL: return "invalid input";
	case BP_ENOMEM: return "out of memory";
	case BP_EIO: return "i/o";
	case BP_EUNSUPPORTED: return "unsupported";
	case BP_ESIGNATURE: return "no valid signature";
	default: return "error";
	}
}
