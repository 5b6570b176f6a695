/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"
#include "userdirs.h"

#include <beampush/digest.h>

#include "util/dynbuf.h"
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
#define HOST_FILE_MAX 16384

/* $XDG_STATE_HOME/beampush/sub, made (with its parents) when create says so. */
static char *state_dir(const char *sub, int create)
{
	char *base = bp_userdirs__xdg(BP_XDG_STATE, "beampush"), *dir;

	if (!base)
		return NULL;
	dir = bp_aprintf("%s/%s", base, sub);
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

/* The file for id in sub: its name is a hash, so nothing of the inputs reaches a path. */
static char *hashed_file(const char *sub, const char *id, int create)
{
	char key[BP_DIGEST_MAX], *dir = state_dir(sub, create), *out = NULL;

	if (id && dir && bp_digest_buf(key, id, strlen(id)) == 0)
		out = bp_aprintf("%s/%s", dir, bp_digest_hex(key));
	free(dir);
	return out;
}

static char *session_file(const char *registry, const char *repo, const char *digest,
			  int create)
{
	char *id = bp_aprintf("%s\n%s\n%s", registry, repo, digest);
	char *out = hashed_file("uploads", id, create);

	free(id);
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

/* ---- what was learnt of a registry host ---- */

/* 1 when s is one printable word (no space, no control byte), as a value must be. */
static int word_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

/* See state.h. */
void bp_state__host_release(bp_state_host *h)
{
	free(h->realm);
	free(h->service);
	*h = (bp_state_host)BP_STATE_HOST_INIT;
}

/* One "key value" line of a host file into h; lines not understood are skipped. */
static void host_line(bp_state_host *h, const char *host, char *line, int *same_host)
{
	char *v = strchr(line, ' ');

	if (!v)
		return;
	*v++ = '\0';
	if (!word_ok(v))
		return;
	if (strcmp(line, "host") == 0) {
		*same_host = strcmp(v, host) == 0;
	} else if (strcmp(line, "scheme") == 0 && (!strcmp(v, "http") || !strcmp(v, "https"))) {
		bp_strlcpy(h->scheme, v, sizeof(h->scheme));
	} else if (strcmp(line, "auth") == 0 &&
		   (!strcmp(v, "none") || !strcmp(v, "basic") || !strcmp(v, "bearer"))) {
		bp_strlcpy(h->auth, v, sizeof(h->auth));
	} else if (strcmp(line, "realm") == 0 &&
		   (bp_strprefix(v, "http://") || bp_strprefix(v, "https://"))) {
		free(h->realm);
		h->realm = bp_strdup(v);
	} else if (strcmp(line, "service") == 0) {
		free(h->service);
		h->service = bp_strdup(v);
	} else if (strcmp(line, "post-stores") == 0 && (!strcmp(v, "0") || !strcmp(v, "1"))) {
		h->post_stores = v[0] == '1';
	}
}

/* See state.h. */
int bp_state__host_get(const char *host, bp_state_host *h)
{
	char *path = hashed_file("registries", host, 0), *data = NULL, *line, *next;
	size_t len = 0;
	int same_host = 0;

	*h = (bp_state_host)BP_STATE_HOST_INIT;
	if (!path || bp_read_file(path, HOST_FILE_MAX, &data, &len) != 0) {
		free(path);
		bp_error_clear();
		return BP_ENOTFOUND;
	}
	free(path);
	for (line = data; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		host_line(h, host, line, &same_host);
	}
	free(data);
	/* a bearer challenge without its realm is no challenge */
	if (!same_host || (!strcmp(h->auth, "bearer") && !h->realm)) {
		bp_state__host_release(h);
		return BP_ENOTFOUND;
	}
	if (strcmp(h->auth, "bearer") != 0) {
		free(h->realm);
		free(h->service);
		h->realm = h->service = NULL;
	}
	return 0;
}

/* See state.h. */
void bp_state__host_put(const char *host, const bp_state_host *h)
{
	char *path = hashed_file("registries", host, 1);
	bp_dynbuf b = BP_DYNBUF_INIT(HOST_FILE_MAX);
	int bad = !path || !word_ok(host);

	bad = bad || bp_dynbuf_printf(&b, "host %s\n", host) < 0;
	if (!bad && h->scheme[0])
		bad = bp_dynbuf_printf(&b, "scheme %s\n", h->scheme) < 0;
	if (!bad && h->auth[0])
		bad = bp_dynbuf_printf(&b, "auth %s\n", h->auth) < 0;
	if (!bad && h->realm && word_ok(h->realm))
		bad = bp_dynbuf_printf(&b, "realm %s\n", h->realm) < 0;
	if (!bad && h->service && word_ok(h->service))
		bad = bp_dynbuf_printf(&b, "service %s\n", h->service) < 0;
	if (!bad && h->post_stores >= 0)
		bad = bp_dynbuf_printf(&b, "post-stores %d\n", h->post_stores) < 0;
	if (!bad)
		(void)bp_write_file_atomic(path, b.ptr, b.len, 0600);
	bp_dynbuf_release(&b);
	free(path);
}

/* See state.h. */
void bp_state__host_drop(const char *host)
{
	char *path = hashed_file("registries", host, 0);

	if (path)
		unlink(path);
	free(path);
}
