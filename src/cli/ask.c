/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets from the user: a line of standard input or the terminal, and a key's passphrase. */
#include <stdio.h>

#include "cli.h"
#include "util/strutil.h"

#include <beampush/sign.h>

#include <stdlib.h>
#include <string.h>
#include <termios.h>

#define SECRET_MAX 65536

/* Read one line of f; see cli.h. */
char *cli_read_line(FILE *f, int *too_long)
{
	char *buf = malloc(SECRET_MAX + 2);
	size_t n;

	*too_long = 0;
	if (!buf)
		return NULL;
	if (!fgets(buf, SECRET_MAX + 2, f)) {
		free(buf);
		return NULL;
	}
	n = strlen(buf);
	if (n > SECRET_MAX) {
		*too_long = 1;
		explicit_bzero(buf, n);
		free(buf);
		return NULL;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

/* Ask on the terminal; see cli.h. */
char *cli_ask(const char *prompt, int secret, int *no_tty)
{
	struct termios old, quiet;
	FILE *tty;
	char *line;
	int too_long, restore = 0;

	*no_tty = 0;
	tty = fopen("/dev/tty", "r+");
	if (!tty) {
		*no_tty = 1;
		return NULL;
	}
	fputs(prompt, tty);
	fflush(tty);
	if (secret && tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
	}
	line = cli_read_line(tty, &too_long);
	if (restore) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fputc('\n', tty);
	}
	fclose(tty);
	return line;
}

/* Wipe and free; see cli.h. */
void cli_wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* The passphrase of an encrypted key, for bp_sign_key_load(); see cli.h. */
int cli_passphrase(const char *name, char *buf, size_t size, void *payload)
{
	const char *env = getenv("COSIGN_PASSWORD");
	char *line, *prompt;
	int no_tty;

	/* as cosign: set, even empty, it is the passphrase */
	if (env) {
		if (strlen(env) >= size)
			return bp_error_set(BP_EINVAL, "COSIGN_PASSWORD is longer than %zu bytes",
					    size - 1);
		bp_strlcpy(buf, env, size);
		return 0;
	}
	if (!(prompt = bp_aprintf("Enter the passphrase of %s: ", name)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	line = cli_ask(prompt, 1, &no_tty);
	free(prompt);
	if (!line)
		return bp_error_set(BP_EINVAL,
				    no_tty ? "%s is encrypted: set COSIGN_PASSWORD, or run on a "
					     "terminal to be asked"
					   : "%s: no passphrase given",
				    name);
	if (strlen(line) >= size) {
		cli_wipe(line);
		return bp_error_set(BP_EINVAL, "the passphrase is longer than %zu bytes", size - 1);
	}
	bp_strlcpy(buf, line, size);
	cli_wipe(line);
	return 0;
}
