/* SPDX-License-Identifier: Apache-2.0 */
#include "userdirs.h"

#include "util/strutil.h"

#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

/* The variable and the default under the home directory of each base directory. */
static const struct {
	const char *var;
	const char *home_default; /* NULL: none */
} bases[] = {
	[BP_XDG_CONFIG] = { "XDG_CONFIG_HOME", ".config" },
	[BP_XDG_CACHE] = { "XDG_CACHE_HOME", ".cache" },
	[BP_XDG_STATE] = { "XDG_STATE_HOME", ".local/state" },
	[BP_XDG_RUNTIME] = { "XDG_RUNTIME_DIR", NULL },
};

/* The variable's value when it is an absolute path, else NULL. */
static const char *absolute_env(const char *name)
{
	const char *v = secure_getenv(name);

	return v && v[0] == '/' ? v : NULL;
}

/* See userdirs.h. */
char *bp_userdirs__home(const char *rest)
{
	const char *dir = absolute_env("HOME");
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (dir)
		return bp_aprintf("%s/%s", dir, rest);
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) || !res || !res->pw_dir ||
	    res->pw_dir[0] != '/')
		return NULL;
	return bp_aprintf("%s/%s", res->pw_dir, rest);
}

/* See userdirs.h. */
char *bp_userdirs__xdg(bp_xdg_dir dir, const char *rest)
{
	const char *base;
	char *under, *out;

	if ((unsigned)dir >= sizeof(bases) / sizeof(bases[0]))
		return NULL;
	if ((base = absolute_env(bases[dir].var)))
		return bp_aprintf("%s/%s", base, rest);
	if (!bases[dir].home_default)
		return NULL;
	if (!(under = bp_aprintf("%s/%s", bases[dir].home_default, rest)))
		return NULL;
	out = bp_userdirs__home(under);
	free(under);
	return out;
}
