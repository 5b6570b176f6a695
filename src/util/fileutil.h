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
 * Replace path with len bytes of data, mode mode: a temporary file in the
 * same directory (".NAME.XXXXXX"), written, fsynced, renamed over path,
 * then the directory fsynced. Readers see the old file or the new one,
 * never a part; a symbolic link at path is replaced, not followed. 0, or
 * -1 with errno (nothing left behind).
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
