/* SPDX-License-Identifier: Apache-2.0 */
#include "util/fileutil.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* See fileutil.h. */
int bp_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* See fileutil.h. */
mode_t bp_file_mode(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");
	mode_t mask = (mode_t)-1;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			const char *v = bp_strprefix(line, "Umask:");

			if (v) {
				mask = (mode_t)strtoul(v, NULL, 8);
				break;
			}
		}
		fclose(f);
	}
	if (mask == (mode_t)-1) {
		mask = umask(022);
		umask(mask);
	}
	return 0644 & ~mask;
}

/* See fileutil.h. */
void bp_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* See fileutil.h. */
int bp_tmpfile_open(bp_tmpfile *t, const char *path, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	int e;

	t->fd = -1;
	t->path = bp_strdup(path);
	t->dir = slash ? bp_strndup(path, slash == path ? 1 : (size_t)(slash - path))
		       : bp_strdup(".");
	t->tmp = bp_aprintf("%s/.%s.tmp-XXXXXX", t->dir ? t->dir : "", slash ? slash + 1 : path);
	if (!t->path || !t->dir || !t->tmp) {
		free(t->tmp);
		t->tmp = NULL;
		errno = ENOMEM;
		return -1;
	}
	t->fd = mkostemp(t->tmp, O_CLOEXEC);
	if (t->fd < 0) {
		e = errno;
		free(t->tmp);
		t->tmp = NULL;
		errno = e;
		return -1;
	}
	if (fchmod(t->fd, mode) < 0) {
		e = errno;
		close(t->fd);
		t->fd = -1;
		unlink(t->tmp);
		free(t->tmp);
		t->tmp = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

/* See fileutil.h. */
int bp_tmpfile_commit(bp_tmpfile *t)
{
	int e, rc = fsync(t->fd);

	e = errno;
	if (close(t->fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	t->fd = -1;
	if (rc == 0 && rename(t->tmp, t->path) < 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		unlink(t->tmp);
		errno = e;
	} else {
		bp_fsync_dir(t->dir);
	}
	free(t->tmp);
	t->tmp = NULL;
	return rc;
}

/* See fileutil.h. */
void bp_tmpfile_release(bp_tmpfile *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->tmp)
		unlink(t->tmp);
	free(t->tmp);
	free(t->dir);
	free(t->path);
	t->tmp = t->dir = t->path = NULL;
	t->fd = -1;
}

/* See fileutil.h. */
int bp_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	bp_tmpfile t = BP_TMPFILE_INIT;
	int rc = -1, e;

	if (bp_tmpfile_open(&t, path, mode) == 0 && bp_write_all(t.fd, data, len) == 0)
		rc = bp_tmpfile_commit(&t);
	e = errno;
	bp_tmpfile_release(&t);
	errno = e;
	return rc;
}

/* See fileutil.h. */
int bp_read_file(const char *path, size_t max, char **data, size_t *len)
{
	bp_dynbuf b = BP_DYNBUF_INIT(max);
	char chunk[16384];
	int fd, e = 0;
	ssize_t n;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			break;
		}
		if (bp_dynbuf_add(&b, chunk, (size_t)n) < 0) {
			e = bp_dynbuf_full(&b, (size_t)n) ? EFBIG : ENOMEM;
			break;
		}
	}
	close(fd);
	if (!e && !(*data = bp_dynbuf_detach(&b, len)))
		e = ENOMEM;
	bp_dynbuf_release(&b);
	errno = e;
	return e ? -1 : 0;
}
