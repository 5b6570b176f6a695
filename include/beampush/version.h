/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_VERSION_H
#define BEAMPUSH_VERSION_H

#define BP_VERSION "0.1.0"

/*
 * The versions of the libraries beampush runs with, one "name: version"
 * line each (no final newline): libcurl (curl_version(), with its TLS and
 * compression libraries), OpenSSL, cJSON and zlib as loaded at run time;
 * libdeflate and libsecret as built with (they have no runtime version).
 * Static.
 */
const char *bp_library_versions(void);

#endif
