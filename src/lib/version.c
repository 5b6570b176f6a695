/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/version.h>

#include "http.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>

/* "libcurl/7.88.1 OpenSSL/3.0.11 ... cJSON/1.7.15", built on first call. */
const char *bp_library_versions(void)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s cJSON/%s (%s)", bp_http__curl_version(), cJSON_Version(),
		 OpenSSL_version(OPENSSL_VERSION));
	return buf;
}
