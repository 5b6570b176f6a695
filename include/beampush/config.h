/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BEAMPUSH_CONFIG_H
#define BEAMPUSH_CONFIG_H

#include <beampush/common.h>
#include <beampush/mirror.h>
#include <beampush/reference.h>

/*
 * Endpoint mapping: which registry a name really lives on.
 *
 * Each entry maps a prefix ("alice-docker-apache.bintray.io/beam") to a
 * location ("127.0.0.1:5000/beam"), with the semantics of
 * containers-registries.conf(5): the longest prefix that matches at a path
 * boundary wins ("host/beam" matches "host/beam/python", not
 * "host/beamer"), and the matched prefix is replaced by the location in
 * the name used on the network. An entry may also mark its location
 * insecure (plain http or unverified TLS allowed) or blocked (refused).
 * A prefix "*.example.com" matches every domain under example.com; such an
 * entry has no location (the name is used as it is).
 *
 * Entries come from sources added in order of precedence: the first source
 * (file) with a matching prefix decides, and the longest match inside it.
 *
 * A registries.conf entry may list mirrors ([[registry.mirror]]: location,
 * insecure, pull-from-mirror; mirror-by-digest-only in the entry), which
 * bp_config_mirrors() hands out for a client's reads (see mirror.h).
 */
typedef struct bp_config bp_config;

typedef enum {
	/* {"registries": [{"prefix", "location", "insecure", "blocked", "verify-key"}]} */
	BP_CONFIG_JSON,
	/* containers registries.conf v2: [[registry]] and [[registry.mirror]] tables */
	BP_CONFIG_TOML
} bp_config_format;

/* What bp_config_resolve found. Strings are borrowed from the config. */
typedef struct {
	int matched;	  /* 1 when an entry applied */
	int insecure;	  /* the entry says insecure = true */
	const char *file; /* the file of that entry */
	int line;	  /* and its line */
	const char *prefix;
	const char *location; /* NULL for a wildcard entry */
	/* config.json only: the public key a pull of a name under prefix needs a signature of */
	const char *verify_key;
} bp_config_match;

/* An empty config (no entries): every name resolves to itself. */
int bp_config_new(bp_config **out);

/* Free cfg; NULL is fine. */
void bp_config_free(bp_config *cfg);

/*
 * Parse len bytes of data in format fmt and add them as the next source.
 * name is the file name used in error messages. On a syntax error, a value
 * of the wrong type, an unknown key in a registry entry, a prefix or
 * location that is not a valid name, or a prefix defined twice: BP_EINVAL
 * with "NAME:LINE: what is wrong", and nothing of data is added.
 */
int bp_config_add(bp_config *cfg, const char *name, const char *data, size_t len,
		  bp_config_format fmt);

/*
 * Read path and add it as bp_config_add does. A file that does not exist
 * adds nothing when missing_ok, else it is BP_EINVAL naming the file;
 * BP_EIO when it cannot be read; BP_EINVAL when larger than 1 MiB.
 */
int bp_config_add_file(bp_config *cfg, const char *path, bp_config_format fmt, int missing_ok);

/*
 * Load the default sources, in this order of precedence:
 *   1. $BEAMPUSH_CONFIG if set (must exist), else
 *      ${XDG_CONFIG_HOME:-~/.config}/beampush/config.json (if it exists);
 *   2. $CONTAINERS_REGISTRIES_CONF if set (must exist), else
 *      ${XDG_CONFIG_HOME:-~/.config}/containers/registries.conf if it
 *      exists, else /etc/containers/registries.conf (if it exists).
 * *out gets a new config (caller frees) or stays NULL on error.
 */
int bp_config_load(bp_config **out);

/*
 * Resolve in: *out gets a new reference (caller frees) with the matched
 * prefix replaced by the location, or a copy of in when no entry applies.
 * m (may be NULL) says which entry applied. BP_EUNSUPPORTED when the entry
 * says blocked = true (the message names the file and line); BP_EINVAL
 * when the result is not a valid reference.
 */
int bp_config_resolve(const bp_config *cfg, const bp_reference *in, bp_reference **out,
		      bp_config_match *m);

/*
 * The mirrors of the entry that applies to in, in their order, as
 * bp_client_options.mirrors takes them: each with prefix the name in
 * resolves to (bp_config_resolve()'s) and location what the mirror calls
 * it: its location with the rest of the name after the matched prefix
 * (for a wildcard entry, after the domain) appended. *out: a new array of
 * *n (0 and NULL when there are none, or the entry is blocked), freed with
 * bp_config_mirrors_free(); file is borrowed from cfg. BP_EINVAL, naming
 * the mirror's file and line, when a mirror's name for in is no valid
 * repository name.
 */
int bp_config_mirrors(const bp_config *cfg, const bp_reference *in, bp_mirror **out, size_t *n);

/* Free what bp_config_mirrors() gave; NULL is fine. */
void bp_config_mirrors_free(bp_mirror *m, size_t n);

/*
 * Read the hosts.toml of containerd's hosts directory that applies to a
 * registry's host[:port] ($BEAMPUSH_HOSTS_D, else /etc/containerd/certs.d;
 * see beampush-config(5)), only to check it before any request: 0 when
 * there is none or it is valid, else its error (BP_EINVAL with
 * "FILE:LINE: what", BP_EIO).
 */
int bp_config_check_hosts(const char *hostport);

/*
 * Resolve a registry host ("alice-docker-apache.bintray.io"), for login
 * and logout: the entry whose prefix is the host itself, else the entries
 * whose prefix starts with "host/" when their locations all name one
 * domain. *out gets that domain (new string), or a copy of host.
 * BP_EUNSUPPORTED when the entry is blocked; BP_EINVAL when the entries
 * of host map to different registries (the message names them).
 */
int bp_config_resolve_host(const bp_config *cfg, const char *host, char **out, bp_config_match *m);

#endif
