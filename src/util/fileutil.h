/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_UTIL_FILEUTIL_H
#define BP_UTIL_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Write all of data, going on after EINTR and short writes. 0, or -1 with errno. */
int bp_write_all(int fd, const void *data, size_t len);

/*
 * The mode a new regular file gets: 0644 less the umask. mkstemp makes
 * files 0600; what we rename into place should read like any other file.
 * The umask is read from /proc, since umask() sets it to read it, which
 * races with other threads creating files.
 */
mode_t bp_file_mode(void);

/*
 * A file that appears at its path only once it is complete: written as a
 * temporary file ".NAME.tmp-XXXXXX" in the same directory, then fsynced,
 * renamed over path (a symbolic link there is replaced, not followed) and
 * the directory fsynced. Readers see the old file or the new one, never a
 * part, and a failure leaves nothing behind.
 */
typedef struct {
	char *path; /* the target */
	char *dir;  /* its directory */
	char *tmp;  /* the temporary file, while it exists */
	int fd;	    /* open on tmp, -1 once closed */
} bp_tmpfile;

#define BP_TMPFILE_INIT              \
	{                            \
		NULL, NULL, NULL, -1 \
	}

/*
 * Create the temporary file for path, mode mode. 0, or -1 with errno
 * (nothing made; t->dir names the directory, when there was memory for
 * it, for the message). Release t either way.
 */
int bp_tmpfile_open(bp_tmpfile *t, const char *path, mode_t mode);

/*
 * fsync and close t->fd, rename the file over t->path, fsync the
 * directory. 0, or -1 with errno (the temporary file is then gone).
 */
int bp_tmpfile_commit(bp_tmpfile *t);

/* Remove the temporary file if it is still there and free t's strings; NULL-safe fields. */
void bp_tmpfile_release(bp_tmpfile *t);

/*
 * Replace path with len bytes of data, mode mode, through a bp_tmpfile.
 * 0, or -1 with errno (nothing left behind).
 */
int bp_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Read the whole file at path into *data (new buffer, NUL-terminated, *len
 * bytes before the NUL), at most max bytes. 0, or -1 with errno: EFBIG when
 * the file holds more than max bytes, else what open or read said.
 */
int bp_read_file(const char *path, size_t max, char **data, size_t *len);

/* Make a rename in dir durable. Some file systems refuse fsync on a directory: ignored. */
void bp_fsync_dir(const char *dir);

#endif
