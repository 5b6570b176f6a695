/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_GUNZIP_H
#define BP_LIB_GUNZIP_H

#include <stddef.h>

/*
 * Decompressing gzip on the fly, as a read callback over another one:
 * every member of a multi-member stream (as pigz and our compressor write
 * them), CRCs checked by zlib. For turning pulled layers back into the
 * uncompressed tars `docker load` wants.
 */
typedef struct bp_gunzip bp_gunzip;

/* Read from src (bytes, 0 at the end, -1 error), as in tar.h. */
int bp_gunzip__new(bp_gunzip **out, long (*src)(void *buf, size_t len, void *payload),
		   void *payload);
void bp_gunzip__free(bp_gunzip *g);

/* Up to len decompressed bytes; 0 at the end of the last member; -1 on an error (set). */
long bp_gunzip__read(void *buf, size_t len, void *g);

/* The version of the zlib beampush runs with (zlibVersion()). Static. */
const char *bp_gunzip__zlib_version(void);

#endif
