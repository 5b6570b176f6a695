/* SPDX-License-Identifier: Apache-2.0 */
/* Where the user's files live: XDG variables and HOME set, unset, empty or relative. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "userdirs.h"
#include "util/strutil.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOME_ONLY (-1) /* the row asks bp_userdirs__home(), not bp_userdirs__xdg() */

struct row {
	int dir;	  /* a bp_xdg_dir, or HOME_ONLY */
	const char *xdg;  /* the value of that directory's variable; NULL: unset */
	const char *home; /* HOME; NULL: unset */
	const char *rest;
	/* NULL: none; a leading "~" stands for the password database's home */
	const char *want;
};

/* clang-format off */
static const struct row rows[] = {
	{ BP_XDG_CONFIG, "/x", "/h", "beampush/config.json", "/x/beampush/config.json" },
	{ BP_XDG_CONFIG, NULL, "/h", "beampush/config.json", "/h/.config/beampush/config.json" },
	{ BP_XDG_CONFIG, "", "/h", "docker/certs.d", "/h/.config/docker/certs.d" },
	{ BP_XDG_CONFIG, "x", "/h", "docker/certs.d", "/h/.config/docker/certs.d" },
	{ BP_XDG_CONFIG, "./x", "/h", "docker/certs.d", "/h/.config/docker/certs.d" },
	{ BP_XDG_CONFIG, "/x", NULL, "containers/auth.json", "/x/containers/auth.json" },
	{ BP_XDG_CONFIG, NULL, NULL, "containers/auth.json", "~/.config/containers/auth.json" },
	{ BP_XDG_CONFIG, NULL, "", "containers/auth.json", "~/.config/containers/auth.json" },
	{ BP_XDG_CONFIG, "rel", "rel", "containers/auth.json", "~/.config/containers/auth.json" },
	{ BP_XDG_CACHE, "/c", "/h", "beampush", "/c/beampush" },
	{ BP_XDG_CACHE, NULL, "/h", "beampush", "/h/.cache/beampush" },
	{ BP_XDG_CACHE, "", "/h", "beampush", "/h/.cache/beampush" },
	{ BP_XDG_CACHE, "cache", "/h", "beampush", "/h/.cache/beampush" },
	{ BP_XDG_STATE, "/s", "/h", "beampush", "/s/beampush" },
	{ BP_XDG_STATE, NULL, "/h", "beampush", "/h/.local/state/beampush" },
	{ BP_XDG_STATE, "state", "/h", "beampush", "/h/.local/state/beampush" },
	{ BP_XDG_RUNTIME, "/run/user/1", "/h", "bus", "/run/user/1/bus" },
	{ BP_XDG_RUNTIME, NULL, "/h", "bus", NULL },
	{ BP_XDG_RUNTIME, "", "/h", "containers/auth.json", NULL },
	{ BP_XDG_RUNTIME, "run", "/h", "bus", NULL },
	{ HOME_ONLY, NULL, "/h", ".docker/config.json", "/h/.docker/config.json" },
	{ HOME_ONLY, NULL, "/home/a b", ".docker/config.json", "/home/a b/.docker/config.json" },
	{ HOME_ONLY, NULL, NULL, ".docker/config.json", "~/.docker/config.json" },
	{ HOME_ONLY, NULL, "", ".docker/config.json", "~/.docker/config.json" },
	{ HOME_ONLY, NULL, "h", ".docker/config.json", "~/.docker/config.json" },
};
/* clang-format on */

static const char *const vars[] = { "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
				    "XDG_RUNTIME_DIR", "HOME" };
#define NVARS (sizeof(vars) / sizeof(vars[0]))

static void set_or_unset(const char *name, const char *v)
{
	if (v)
		assert_int_equal(setenv(name, v, 1), 0);
	else
		assert_int_equal(unsetenv(name), 0);
}

/* The home directory the password database gives, or NULL (then "~" rows want NULL). */
static char *passwd_home(void)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) || !res || !res->pw_dir ||
	    res->pw_dir[0] != '/')
		return NULL;
	return bp_strdup(res->pw_dir);
}

static void test_table(void **state)
{
	char *saved[NVARS], *pwhome = passwd_home();
	size_t i;

	for (i = 0; i < NVARS; i++)
		saved[i] = bp_strdup(getenv(vars[i]));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char *want = NULL, *got;
		size_t v;

		for (v = 0; v < NVARS; v++)
			set_or_unset(vars[v], NULL);
		if (r->dir != HOME_ONLY)
			set_or_unset(vars[r->dir], r->xdg);
		set_or_unset("HOME", r->home);
		if (r->want && r->want[0] == '~')
			want = pwhome ? bp_aprintf("%s%s", pwhome, r->want + 1) : NULL;
		else
			want = bp_strdup(r->want);
		got = r->dir == HOME_ONLY ? bp_userdirs__home(r->rest)
					  : bp_userdirs__xdg((bp_xdg_dir)r->dir, r->rest);
		if (!want) {
			if (got)
				fail_msg("row %zu: want none, got %s", i, got);
		} else {
			if (!got)
				fail_msg("row %zu: want %s, got none", i, want);
			if (strcmp(got, want) != 0)
				fail_msg("row %zu: want %s, got %s", i, want, got);
		}
		free(got);
		free(want);
	}
	for (i = 0; i < NVARS; i++) {
		set_or_unset(vars[i], saved[i]);
		free(saved[i]);
	}
	free(pwhome);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
