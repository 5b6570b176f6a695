/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "util/strutil.h"

#include <beampush/credentials.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* beampush login [-u USER] [--password-stdin] [--store WHERE] [SERVER] */
int cmd_login(global_opts *g, int argc, char **argv)
{
	const char *user = NULL, *store = "auto";
	int password_stdin = 0;
	const cli_option opts[] = {
		{ "--username", "-u", OPT_STRING, &user, "USER", "the user name (asked when absent)" },
		{ "--password-stdin", NULL, OPT_FLAG, &password_stdin, NULL,
		  "read the password from the first line of standard input" },
		{ "--store", NULL, OPT_STRING, &store, "WHERE",
		  "auto (default): credential helper or login keyring; keyring; "
		  "file: docker's config.json, unencrypted" },
		{ NULL, NULL, OPT_FLAG, NULL, NULL, NULL }
	};
	bp_client_options co = BP_CLIENT_OPTIONS_INIT;
	bp_credentials cred = BP_CREDENTIALS_INIT, keep = BP_CREDENTIALS_INIT;
	bp_cred_store where_to;
	bp_client *c = NULL;
	char *host = NULL, *name = NULL, *password = NULL, *token = NULL, *where = NULL;
	int i, err, rc = EXIT_FAIL, no_tty, too_long;

	i = cli_parse("login", "[SERVER]",
		      "Check credentials against a registry and store them (default server docker.io).",
		      opts, argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i > 1) {
		cli_error("login: expected at most one SERVER, got %d", argc - i);
		return EXIT_USAGE;
	}
	if (strcmp(store, "auto") == 0)
		where_to = BP_CRED_STORE_AUTO;
	else if (strcmp(store, "keyring") == 0)
		where_to = BP_CRED_STORE_KEYRING;
	else if (strcmp(store, "file") == 0)
		where_to = BP_CRED_STORE_FILE;
	else {
		cli_error("login: --store wants auto, keyring or file, not \"%s\"", store);
		return EXIT_USAGE;
	}
	if ((err = bp_credentials_normalize_server(i < argc ? argv[i] : "docker.io", &name))) {
		cli_error("login: %s", bp_error_last());
		return EXIT_USAGE;
	}
	/* the registry the endpoint mapping sends that server's names to */
	rc = cli_server(g, "login", name, &host);
	free(name);
	name = NULL;
	if (rc)
		goto done;
	rc = EXIT_FAIL;

	if (user) {
		name = bp_strdup(user);
	} else if (password_stdin) {
		cli_error("login: --password-stdin needs --username");
		rc = EXIT_USAGE;
		goto done;
	} else {
		name = cli_ask("Username: ", 0, &no_tty);
		if (!name) {
			cli_error("login: %s", no_tty ? "no terminal to ask for the user name: use -u USER"
						      : "no user name given");
			rc = EXIT_USAGE;
			goto done;
		}
	}
	if (!name || !*name) {
		cli_error("login: the user name is empty");
		rc = EXIT_USAGE;
		goto done;
	}
	if (password_stdin) {
		password = cli_read_line(stdin, &too_long);
		if (!password) {
			cli_error("login: %s", too_long ? "the password on standard input is too long"
							: "no password on standard input");
			rc = EXIT_USAGE;
			goto done;
		}
	} else {
		password = cli_ask("Password: ", 1, &no_tty);
		if (!password) {
			cli_error("login: %s", no_tty ? "no terminal to ask for the password: "
							"use --password-stdin"
						      : "no password given");
			rc = EXIT_USAGE;
			goto done;
		}
	}
	if (!*password) {
		cli_error("login: the password is empty");
		rc = EXIT_USAGE;
		goto done;
	}

	cli_client_options(g, &co);
	if ((err = bp_client_new(&c, &co))) {
		rc = cli_fail(err);
		goto done;
	}
	cred.username = name;
	cred.secret = password;
	cred.source = (char *)"the command line";
	if ((err = bp_login(c, host, &cred, &token))) {
		if (err == BP_EAUTH)
			cli_error("login refused, nothing stored: %s", bp_error_last());
		else
			cli_error("login failed, nothing stored: %s", bp_error_last());
		rc = cli_exit_code(err);
		goto done;
	}
	/* a refresh token is kept instead of the password, as docker does */
	keep.username = token ? (char *)"<token>" : name;
	keep.secret = token ? token : password;
	if ((err = bp_credentials_store(host, &keep, where_to, &where))) {
		rc = cli_fail(err);
		goto done;
	}
	if (where_to == BP_CRED_STORE_FILE)
		fprintf(stderr, "beampush: warning: the %s is stored unencrypted in %s\n",
			token ? "identity token" : "password", where);
	printf("Login succeeded: %s for %s stored in %s\n",
	       token ? "an identity token" : "the credentials", host, where);
	rc = EXIT_OK;
done:
	bp_client_free(c);
	cli_wipe(name);
	cli_wipe(password);
	cli_wipe(token);
	free(host);
	free(where);
	return rc;
}

/* beampush logout [SERVER] */
int cmd_logout(global_opts *g, int argc, char **argv)
{
	const cli_option opts[] = { { NULL, NULL, OPT_FLAG, NULL, NULL, NULL } };
	char *host = NULL, *where = NULL;
	int i, err, rc;

	i = cli_parse("logout", "[SERVER]",
		      "Remove the stored credentials for a registry (default server docker.io).", opts,
		      argc, argv);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i > 1) {
		cli_error("logout: expected at most one SERVER, got %d", argc - i);
		return EXIT_USAGE;
	}
	if ((err = bp_credentials_normalize_server(i < argc ? argv[i] : "docker.io", &where))) {
		cli_error("logout: %s", bp_error_last());
		return EXIT_USAGE;
	}
	rc = cli_server(g, "logout", where, &host);
	free(where);
	where = NULL;
	if (rc)
		return rc;
	err = bp_credentials_erase(host, &where);
	if (err == BP_ENOTFOUND) {
		printf("Not logged in to %s: no stored credentials\n", host);
		rc = EXIT_OK;
	} else if (err) {
		rc = cli_fail(err);
	} else {
		printf("Removed the credentials for %s from %s\n", host, where);
		rc = EXIT_OK;
	}
	free(host);
	free(where);
	return rc;
}
