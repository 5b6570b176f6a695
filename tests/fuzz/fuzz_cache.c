/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the blob cache file ($XDG_CACHE_HOME/beampush/blobs)
 * as it is loaded, looked up, and merged back by a save. The file is the
 * user's own, but a damaged one must cost time, never memory safety. It
 * lives in a private directory.
 */
#include "cache.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define D1 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define D2 "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

static char dir[64], sub[80], file[96], lock[96];

static void cleanup(void)
{
	unlink(file);
	unlink(lock);
	rmdir(sub);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/bp-fuzz-cache-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(sub, sizeof(sub), "%s/beampush", dir);
	snprintf(file, sizeof(file), "%s/blobs", sub);
	snprintf(lock, sizeof(lock), "%s/blobs.lock", sub);
	if (mkdir(sub, 0700) < 0)
		abort();
	setenv("XDG_CACHE_HOME", dir, 1);
	atexit(cleanup);
	return 0;
}

static int count(const char *repo, void *payload)
{
	(void)strlen(repo);
	return ++*(int *)payload > 100;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const registries[] = { "registry.example.com", "127.0.0.1:5000" };
	char digest[BP_DIGEST_MAX];
	bp_cache *c = NULL;
	int64_t bytes;
	int fd, n = 0;
	size_t i;

	if (size > 256 * 1024)
		return 0;
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	close(fd);
	if (bp_cache__open(&c) != 0)
		return 0;
	for (i = 0; i < 2; i++) {
		if (bp_cache__compressed(c, registries[i], D1, digest, &bytes) == 0)
			(void)strlen(digest);
		bp_cache__repos(c, registries[i], D2, "beam/app", count, &n);
	}
	/* a save merges what is on disk (parsed again) with what was added */
	if (size && data[0] & 1) {
		(void)bp_cache__add_repo(c, registries[0], D2, "beam/new");
		(void)bp_cache__add_compressed(c, registries[1], D1, D2, 42);
		(void)bp_cache__save(c);
	}
	bp_cache__free(c);
	return 0;
}
