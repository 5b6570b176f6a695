/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/version.h>

#include "compress.h"
#include "gunzip.h"
#include "http.h"
#include "keyring.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>

/*
 * One line per library, built on first call. The runtime versions where the
 * library can tell (the shared library actually loaded); libdeflate and
 * libsecret have no such function, so theirs are the headers' at build time.
 */
const char *bp_library_versions(void)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "libcurl:    %s\n"
		 "OpenSSL:    %s\n"
		 "cJSON:      %s\n"
		 "zlib:       %s\n"
		 "libdeflate: %s (built with; it has no runtime version)\n"
		 "libsecret:  %s (built with; it has no runtime version)\n"
		 "libsodium:  %s",
		 bp_http__curl_version(), OpenSSL_version(OPENSSL_VERSION), cJSON_Version(),
		 bp_gunzip__zlib_version(), bp_compress__libdeflate_version(),
		 bp_keyring__version(), sodium_version_string());
	return buf;
}
