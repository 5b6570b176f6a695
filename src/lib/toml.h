/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_TOML_H
#define BP_LIB_TOML_H

#include <beampush/common.h>

#include <stddef.h>

/*
 * The part of TOML that containers' registries.conf and containerd's
 * hosts.toml are written in, read in one pass and handed to callbacks:
 * table headers ([a.b], [[a.b]]), keys (bare, quoted, dotted), strings on
 * one line (basic and literal), booleans, arrays over several lines,
 * inline tables on one. Numbers, dates and times are recognised and kept
 * as BP_TOML_OTHER; multi-line strings are refused. Every error is
 * BP_EINVAL with "FILE:LINE: what is wrong".
 */

typedef enum {
	BP_TOML_STRING,
	BP_TOML_BOOL,
	BP_TOML_ARRAY, /* items in v[0..n) */
	BP_TOML_TABLE, /* an inline table: keys[i] = v[i], dotted keys joined with '.' */
	BP_TOML_OTHER  /* a number, a date or a time */
} bp_toml_type;

typedef struct bp_toml_value bp_toml_value;

struct bp_toml_value {
	bp_toml_type type;
	char *s;	  /* STRING */
	int b;		  /* BOOL */
	bp_toml_value *v; /* ARRAY, TABLE */
	char **keys;	  /* TABLE */
	size_t n;
};

/* A key or a table name, part by part: [host."https://m.io".header] has three. */
typedef struct {
	char **parts;
	size_t n;
} bp_toml_key;

typedef struct {
	/* A header: [name] (array 0) or [[name]] (array 1), at line. */
	int (*table)(const bp_toml_key *name, int array, int line, void *payload);
	/*
	 * key = value under table (the last header's name; no parts before
	 * the first header). v is the handler's to take from (set v->s to
	 * NULL to keep the string); the rest is freed after the call.
	 */
	int (*keyval)(const bp_toml_key *table, const bp_toml_key *key, bp_toml_value *v, int line,
		      void *payload);
} bp_toml_handler;

/*
 * Read len bytes of data (not terminated; a NUL byte is an error), named
 * file in messages, calling h's functions in the order of the text. The
 * first non-zero a callback returns stops the reading and is returned.
 */
int bp_toml__parse(const char *file, const char *data, size_t len, const bp_toml_handler *h,
		   void *payload);

/* BP_EINVAL with "file:line: message". */
int bp_toml__error(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 1 when k is exactly the parts given, then NULL: bp_toml__key_is(k, "registry", NULL). */
int bp_toml__key_is(const bp_toml_key *k, ...);

/* Free what v holds (not v itself). */
void bp_toml__value_release(bp_toml_value *v);

#endif
