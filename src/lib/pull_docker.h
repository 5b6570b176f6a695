/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_PULL_DOCKER_H
#define BP_LIB_PULL_DOCKER_H

#include <beampush/client.h>
#include <beampush/transport.h>

#include "store_daemon.h"

/*
 * A new private directory for the layout a pull into t fills first: next
 * to t's FILE for an archive (the same file system, and its directory
 * must be writable anyway), else in $TMPDIR or /tmp. *out: new string.
 * BP_EIO names the directory that cannot be written.
 */
int bp_pull_docker__tmpdir(const bp_transport *t, char **out);

/* Remove a layout this process made at dir: its files, then the directories. */
void bp_pull_docker__remove(const char *dir);

/*
 * Write the image tagged tag in the (verified) layout at dir into t: a
 * `docker save` archive at t->path (config as it is, layers decompressed
 * to the tars their diff_ids name), or for the daemon d the archive
 * Docker 25+ saves, loaded into d. name (may be NULL) is the image's.
 * For the daemon, out gets the loaded image's ID and whether the daemon
 * finds it by out->pinned, which the caller filled (bp_pull_image());
 * else out is untouched.
 */
int bp_pull_docker__write(bp_client *c, const char *dir, const char *tag, const bp_transport *t,
			  const char *name, bp_daemon *d, bp_pull_result *out);

#endif
