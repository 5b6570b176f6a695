/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: docker's config.json and containers' auth.json, read
 * the way a lookup, a store (--store file) and an erase read them. The
 * first byte picks the file and the host, the rest is the file. Everything
 * happens in a private directory: DOCKER_CONFIG, REGISTRY_AUTH_FILE, HOME
 * and the XDG directories point there, PATH holds no credential helper and
 * there is no D-Bus session, so no helper or keyring is ever reached.
 */
#include <beampush/credentials.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], config[96], authfile[96];

static const char *const hosts[] = {
	"registry.example.com", "docker.io", "localhost:5000", "quay.io/org/repo",
};

static void cleanup(void)
{
	unlink(config);
	unlink(authfile);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/bp-fuzz-creds-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(config, sizeof(config), "%s/config.json", dir);
	snprintf(authfile, sizeof(authfile), "%s/auth.json", dir);
	setenv("DOCKER_CONFIG", dir, 1);
	setenv("REGISTRY_AUTH_FILE", authfile, 1);
	setenv("HOME", dir, 1);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	/* an absolute directory without any docker-credential-* in it */
	setenv("PATH", dir, 1);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	atexit(cleanup);
	return 0;
}

static int put(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, size);
	close(fd);
	return n == (ssize_t)size ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bp_credentials c = BP_CREDENTIALS_INIT;
	const bp_credentials mine = { "fuzz", "s3cret", NULL };
	const char *host;
	char *where = NULL;
	unsigned sel;

	if (size < 1 || size > 256 * 1024)
		return 0;
	sel = data[0];
	host = hosts[(sel >> 1) & 3];
	unlink(config);
	unlink(authfile);
	if (put((sel & 1) ? authfile : config, data + 1, size - 1) < 0)
		return 0;
	if (bp_credentials_lookup(&c, host) == 0) {
		(void)strlen(c.username);
		(void)strlen(c.secret);
		(void)strlen(c.source);
	}
	bp_credentials_release(&c);
	if (!(sel & 1) && (sel & 8)) {
		if (bp_credentials_store(host, &mine, BP_CRED_STORE_FILE, &where) == 0)
			(void)strlen(where);
		free(where);
		where = NULL;
		if (bp_credentials_erase(host, &where) == 0)
			(void)strlen(where);
		free(where);
	}
	return 0;
}
