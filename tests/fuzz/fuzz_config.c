/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the endpoint mapping files, config.json (cJSON plus the
 * line finder) and registries.conf (the TOML subset parser). The first byte
 * picks the format; a file that parses resolves a few names and names their
 * mirrors.
 */
#include <beampush/config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#define HEX64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	static const char *const names[] = { "alice-docker-apache.bintray.io/beam/python:latest",
					     "a.io/x/y:1",
					     ("docker.io/library/python@sha256:" HEX64),
					     "127.0.0.1:5000/beam/go:2.3.0", "x.b.io/c" };
	static const char *const hosts[] = { "alice-docker-apache.bintray.io", "a.io",
					     "docker.io" };
	bp_config *cfg = NULL;
	char *copy;
	size_t i;

	if (size < 1 || bp_config_new(&cfg))
		return 0;
	/* an exact-size copy, not terminated: the parsers must respect the length */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy) {
		bp_config_free(cfg);
		return 0;
	}
	memcpy(copy, data + 1, size - 1);
	if (bp_config_add(cfg, "fuzz", copy, size - 1,
			  data[0] & 1 ? BP_CONFIG_JSON : BP_CONFIG_TOML) == 0) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			bp_reference *in = NULL, *out = NULL;
			bp_config_match m;

			bp_mirror *mv = NULL;
			size_t nm = 0, j;

			if (bp_reference_parse(&in, names[i]) == 0 &&
			    bp_config_resolve(cfg, in, &out, &m) == 0)
				(void)strlen(bp_reference_string(out));
			if (in && bp_config_mirrors(cfg, in, &mv, &nm) == 0)
				for (j = 0; j < nm; j++)
					(void)(strlen(mv[j].prefix) + strlen(mv[j].location));
			bp_config_mirrors_free(mv, nm);
			bp_reference_free(in);
			bp_reference_free(out);
		}
		for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
			char *h = NULL;

			if (bp_config_resolve_host(cfg, hosts[i], &h, NULL) == 0)
				(void)strlen(h);
			free(h);
		}
	}
	free(copy);
	bp_config_free(cfg);
	return 0;
}
