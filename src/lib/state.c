/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"
#include "userdirs.h"

#include <beampush/digest.h>

#include "util/fileutil.h"
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCATION_MAX 8192

static char *uploads_dir(int create)
{
	char *base = bp_userdirs__xdg(BP_XDG_STATE, "beampush"), *dir;

	if (!base)
		return NULL;
	dir = bp_aprintf("%s/uploads", base);
	if (dir && create && mkdir(dir, 0700) < 0 && errno == ENOENT) {
		/* the parents may be missing: ~/.local/state/beampush */
		char *p;

		for (p = base + 1; (p = strchr(p, '/')); p++) {
			*p = '\0';
			mkdir(base, 0700);
			*p = '/';
		}
		mkdir(base, 0700);
		mkdir(dir, 0700);
	}
	free(base);
	return dir;
}

/* The file for a session: its name is a hash, so nothing of the inputs reaches a path. */
static char *session_file(const char *registry, const char *repo, const char *digest,
			  int create)
{
	char key[BP_DIGEST_MAX], *id = bp_aprintf("%s\n%s\n%s", registry, repo, digest);
	char *dir = uploads_dir(create), *out = NULL;

	if (id && dir && bp_digest_buf(key, id, strlen(id)) == 0)
		out = bp_aprintf("%s/%s", dir, bp_digest_hex(key));
	free(id);
	free(dir);
	return out;
}

/* See state.h. */
char *bp_state__upload_get(const char *registry, const char *repo, const char *digest)
{
	char *path = session_file(registry, repo, digest, 0), buf[LOCATION_MAX + 2];
	ssize_t n = -1;
	int fd;

	if (!path)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return NULL;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0 || n > LOCATION_MAX)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!bp_strprefix(buf, "http://") && !bp_strprefix(buf, "https://"))
		return NULL;
	return bp_strdup(buf);
}

/* See state.h. */
void bp_state__upload_put(const char *registry, const char *repo, const char *digest,
			  const char *location)
{
	char *path = session_file(registry, repo, digest, 1), *tmp = NULL;
	int fd = -1;

	if (!path || strlen(location) > LOCATION_MAX || !(tmp = bp_aprintf("%s.XXXXXX", path)))
		goto done;
	fd = mkstemp(tmp);
	if (fd < 0)
		goto done;
	if (fchmod(fd, 0600) < 0 || bp_write_all(fd, location, strlen(location)) < 0 ||
	    bp_write_all(fd, "\n", 1) < 0 || close(fd) < 0) {
		fd = -1;
		unlink(tmp);
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		unlink(tmp);
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(path);
}

/* See state.h. */
void bp_state__upload_drop(const char *registry, const char *repo, const char *digest)
{
	char *path = session_file(registry, repo, digest, 0);

	if (path)
		unlink(path);
	free(path);
}
