/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_VERSION_H
#define BEAMPUSH_VERSION_H

#define BP_VERSION "0.1.0"

/* The versions of the libraries beampush runs with, one line. Static. */
const char *bp_library_versions(void);

#endif
