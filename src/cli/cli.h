/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_CLI_H
#define BP_CLI_H

#include <beampush/client.h>
#include <beampush/transport.h>

#include <stdint.h>

/* Exit statuses: what scripts rely on, as EXIT STATUS in man/beampush.1 lists them. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_AUTH = 3,
	EXIT_NOTFOUND = 4,
	EXIT_INTEGRITY = 5,
	EXIT_SIGNATURE = 6
};

typedef enum { PROGRESS_AUTO, PROGRESS_PLAIN, PROGRESS_JSON, PROGRESS_NONE } progress_mode;

/* Options that come before the command. */
typedef struct {
	const char *insecure[32];
	size_t ninsecure;
	int tls_verify;
	int jobs;
	const char *platform;
	progress_mode progress;
	int quiet;
	int debug;
	const char *digestfile;
	int retries;
	const char *verify_key; /* the config's verify-key for the last reference resolved */
	/* the registries.conf mirrors of the references resolved (cli_reference) */
	const bp_mirror *mirrors;
	size_t nmirrors;
} global_opts;

/* One option of a command: drives both parsing and --help. */
/* OPT_SIZE: 512K, 16M (int64_t bytes); OPT_SECONDS: 90s, 30m, 6h (int64_t seconds). */
typedef enum { OPT_FLAG, OPT_STRING, OPT_INT, OPT_SIZE, OPT_SECONDS } opt_type;

typedef struct {
	const char *name;      /* "--from" */
	const char *shortname; /* "-q" or NULL */
	opt_type type;
	void *value;           /* int *, const char **, int64_t * */
	const char *arg;       /* "SOURCE" */
	const char *help;
} cli_option;

typedef struct {
	const char *name;
	int (*fn)(global_opts *g, int argc, char **argv);
	const char *args;
	const char *summary;
} cli_command;

/*
 * Parse argv against opts (stops at the first non-option or "--").
 * Returns the index of the first argument, -1 after printing a usage
 * error, -2 after printing help.
 */
int cli_parse(const char *cmd, const char *args, const char *summary, const cli_option *opts,
	      int argc, char **argv);
void cli_usage(FILE *f, const char *cmd, const char *args, const char *summary,
	       const cli_option *opts);

/* 0, or -1 after a usage error, when spec names no transport we know. */
int cli_check_transport(const char *cmd, const char *opt, const char *spec);
/* The kind of transport spec names (bp_transport_parse()'s), BP_TRANSPORT_NONE when none. */
bp_transport_kind cli_transport_kind(const char *spec);

/*
 * A line of f (at most 64 KiB) as a new string without its line end; NULL
 * at the end of f, or when too long (*too_long set).
 */
char *cli_read_line(FILE *f, int *too_long);
/* Ask on /dev/tty (echo off when secret): NULL when there is none (*no_tty set) or at EOF. */
char *cli_ask(const char *prompt, int secret, int *no_tty);
/* Wipe and free a secret string; NULL is fine. */
void cli_wipe(char *s);
/*
 * A bp_passphrase_cb: COSIGN_PASSWORD when set (even empty, as cosign),
 * else asked on the terminal, not echoed.
 */
int cli_passphrase(const char *name, char *buf, size_t size, void *payload);

/* Print "beampush: msg" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the library's last error and return the exit status for err. */
int cli_fail(int err);
/* The exit status for a library error code. */
int cli_exit_code(int err);

/*
 * Parse arg as a reference (a repository when repository is 1) and apply the
 * endpoint mapping of config.json and registries.conf (beampush-config(5)):
 * *out gets the reference to use on the network (caller frees). The config
 * is loaded on first use; a location it marks insecure joins g's insecure
 * registries, its verify-key (or NULL) is g->verify_key, and the mirrors of
 * arg's entry join g's mirrors. The hosts.toml that applies to the registry
 * (containerd's hosts directory) is checked too. 0, or the exit status
 * after printing the error: 2 for a malformed reference or config file, 1
 * for a blocked registry.
 */
int cli_reference(global_opts *g, const char *cmd, const char *arg, int repository,
		  bp_reference **out);
/* The same for a registry host (login, logout): *out gets the host to use (caller frees). */
int cli_server(global_opts *g, const char *cmd, const char *host, char **out);

/* Fill client options from the global ones and the progress renderer. */
void cli_client_options(global_opts *g, bp_client_options *o);
/* "Pushing" or "Pulling", for the terminal display. */
void cli_progress_verb(const char *verb);
/* Many images at once: by default one line per image, not per blob. */
void cli_progress_images(void);
/* Finish the progress display (newline etc.). */
void cli_progress_end(void);

/* Write digest and a newline to file: 0, or EXIT_FAIL after saying why. */
int cli_write_digestfile(const char *file, const char *digest);

int cmd_copy(global_opts *g, int argc, char **argv);
int cmd_push(global_opts *g, int argc, char **argv);
int cmd_pull(global_opts *g, int argc, char **argv);
int cmd_login(global_opts *g, int argc, char **argv);
int cmd_logout(global_opts *g, int argc, char **argv);
int cmd_inspect(global_opts *g, int argc, char **argv);
int cmd_tags(global_opts *g, int argc, char **argv);
int cmd_referrers(global_opts *g, int argc, char **argv);
int cmd_delete(global_opts *g, int argc, char **argv);
int cmd_version(global_opts *g, int argc, char **argv);

#endif
