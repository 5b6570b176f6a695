/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_COMMON_H
#define BEAMPUSH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/*
 * Error codes. Every library function returns 0 or one of these; the
 * message that explains it is kept per thread and read with
 * bp_error_last(), as libgit2's git_error_last().
 */
enum {
	BP_OK = 0,
	BP_ERROR = -1,       /* anything not below */
	BP_ENOTFOUND = -2,   /* blob, manifest, tag, repository, file */
	BP_EAUTH = -3,       /* credentials refused or missing */
	BP_EINTEGRITY = -4,  /* a digest or size did not match */
	BP_ENET = -5,        /* connection, DNS, time-out */
	BP_ETLS = -6,        /* certificate or handshake */
	BP_EPROTO = -7,      /* the peer broke the protocol */
	BP_EINVAL = -8,      /* bad input from the user */
	BP_ENOMEM = -9,
	BP_EIO = -10,        /* local file system */
	BP_EUNSUPPORTED = -11, /* valid, but not something we handle */
	BP_ESIGNATURE = -12    /* no signature verifies with the key required (sign.h) */
};

/* The message of the last error on this thread; never NULL. */
const char *bp_error_last(void);

/* The code of the last error on this thread (0 when none). */
int bp_error_last_code(void);

/* Forget the last error of this thread. */
void bp_error_clear(void);

/*
 * Record an error for this thread and return code, so that callers can
 * write `return bp_error_set(BP_EINVAL, "bad %s", x);`.
 */
int bp_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the current message with "context: ". Returns the current code. */
int bp_error_prefix(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* A short name for an error code ("not found", "integrity", ...). */
const char *bp_error_name(int code);

#endif
