/* SPDX-License-Identifier: Apache-2.0 */
#include "util/fileutil.h"
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
