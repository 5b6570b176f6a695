/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "util/strutil.h"

#include <beampush/config.h>

#include <stdlib.h>
#include <string.h>

/* Loaded once, on the first reference or server a command resolves; lives until exit. */
static bp_config *config;
static int config_err;

/* Locations marked insecure by the config; g->insecure points here. */
static char insecure_hosts[8][256];
static size_t ninsecure_hosts;

/* The mirrors of the references resolved; g->mirrors points here. */
static bp_mirror *mirrors;
static size_t nmirrors;

/* Load the config once. 0, or the exit status after printing why. */
static int load(const char *cmd)
{
	if (!config && !config_err && (config_err = bp_config_load(&config)))
		cli_error("%s: %s", cmd, bp_error_last());
	if (config_err)
		return config_err == BP_EINVAL ? EXIT_USAGE : EXIT_FAIL;
	return 0;
}

/* An insecure = true entry lets its location's domain use plain http or unverified TLS. */
static int allow_insecure(global_opts *g, const char *cmd, const char *domain)
{
	size_t i;

	for (i = 0; i < g->ninsecure; i++)
		if (strcmp(g->insecure[i], domain) == 0)
			return 0;
	if (g->ninsecure == sizeof(g->insecure) / sizeof(g->insecure[0]) ||
	    ninsecure_hosts == sizeof(insecure_hosts) / sizeof(insecure_hosts[0]) ||
	    strlen(domain) >= sizeof(insecure_hosts[0])) {
		cli_error("%s: too many insecure registries", cmd);
		return EXIT_USAGE;
	}
	bp_strlcpy(insecure_hosts[ninsecure_hosts], domain, sizeof(insecure_hosts[0]));
	g->insecure[g->ninsecure++] = insecure_hosts[ninsecure_hosts++];
	return 0;
}

static int fail_status(int err)
{
	return err == BP_EINVAL ? EXIT_USAGE : cli_exit_code(err);
}

/*
 * The registries.conf mirrors of in (resolved to out) join g's, and the
 * hosts.toml of out's registry is checked. 0, or the exit status after
 * printing the error.
 */
static int add_mirrors(global_opts *g, const char *cmd, const bp_reference *in,
		       const bp_reference *out)
{
	bp_mirror *m = NULL, *nv;
	size_t n = 0, i;
	int err;

	if ((err = bp_config_check_hosts(bp_reference_domain(out))) ||
	    (err = bp_config_mirrors(config, in, &m, &n))) {
		cli_error("%s: %s", cmd, bp_error_last());
		return fail_status(err);
	}
	if (!n)
		return 0;
	if (!(nv = realloc(mirrors, (nmirrors + n) * sizeof(*nv)))) {
		bp_config_mirrors_free(m, n);
		cli_error("%s: out of memory", cmd);
		return EXIT_FAIL;
	}
	mirrors = nv;
	for (i = 0; i < n; i++) {
		if (g->debug)
			fprintf(stderr, "debug: %s: %s has mirror %s%s (%s:%d)\n", cmd, m[i].prefix,
				m[i].location,
				m[i].pull == BP_MIRROR_DIGEST_ONLY ? ", digest-only"
				: m[i].pull == BP_MIRROR_TAG_ONLY  ? ", tag-only"
								   : "",
				m[i].file, m[i].line);
		mirrors[nmirrors++] = m[i];
	}
	/* the strings now belong to the table, which lives until exit */
	free(m);
	g->mirrors = mirrors;
	g->nmirrors = nmirrors;
	return 0;
}

/* See cli.h. */
int cli_reference(global_opts *g, const char *cmd, const char *arg, int repository,
		  bp_reference **out)
{
	bp_reference *ref = NULL;
	bp_config_match m;
	int err, rc;

	*out = NULL;
	err = repository ? bp_reference_parse_repository(&ref, arg) : bp_reference_parse(&ref, arg);
	if (err) {
		cli_error("%s", bp_error_last());
		return EXIT_USAGE;
	}
	if ((rc = load(cmd)))
		goto done;
	if ((err = bp_config_resolve(config, ref, out, &m))) {
		cli_error("%s: %s", cmd, bp_error_last());
		rc = fail_status(err);
		goto done;
	}
	if (m.matched && g->debug)
		fprintf(stderr, "debug: %s: %s maps to %s (%s:%d)\n", cmd, bp_reference_string(ref),
			bp_reference_string(*out), m.file, m.line);
	g->verify_key = m.matched ? m.verify_key : NULL;
	if (m.insecure)
		rc = allow_insecure(g, cmd, bp_reference_domain(*out));
	if (!rc)
		rc = add_mirrors(g, cmd, ref, *out);
done:
	if (rc) {
		bp_reference_free(*out);
		*out = NULL;
	}
	bp_reference_free(ref);
	return rc;
}

/* See cli.h. */
int cli_server(global_opts *g, const char *cmd, const char *host, char **out)
{
	bp_config_match m;
	int err, rc;

	*out = NULL;
	if ((rc = load(cmd)))
		return rc;
	if ((err = bp_config_resolve_host(config, host, out, &m))) {
		cli_error("%s: %s", cmd, bp_error_last());
		return fail_status(err);
	}
	if (m.matched && g->debug)
		fprintf(stderr, "debug: %s: %s maps to %s (%s:%d)\n", cmd, host, *out, m.file,
			m.line);
	if (m.insecure && (rc = allow_insecure(g, cmd, *out))) {
		free(*out);
		*out = NULL;
	}
	return rc;
}
