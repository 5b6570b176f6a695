/* SPDX-License-Identifier: Apache-2.0 */
/* The names of the places an image comes from or goes to; see transport.h. */
#include <beampush/transport.h>

#include "util/strutil.h"

#include <stdlib.h>
#include <string.h>

/* Free path and ref; see transport.h. */
void bp_transport_release(bp_transport *t)
{
	free(t->path);
	free(t->ref);
	t->path = t->ref = NULL;
}

/* Parse a SOURCE or DEST; see transport.h. */
int bp_transport_parse(bp_transport *t, const char *spec)
{
	static const struct {
		const char *prefix;
		bp_transport_kind kind;
	} known[] = {
		{ "oci:", BP_TRANSPORT_OCI },
		{ "oci-archive:", BP_TRANSPORT_OCI_ARCHIVE },
		{ "docker-archive:", BP_TRANSPORT_ARCHIVE },
		{ "docker-daemon:", BP_TRANSPORT_DAEMON },
	};
	const char *rest = NULL, *colon;
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < sizeof(known) / sizeof(known[0]) && !rest; i++)
		if ((rest = bp_strprefix(spec, known[i].prefix)))
			t->kind = known[i].kind;
	if (!rest)
		return bp_error_set(BP_EINVAL,
				    "\"%s\" names no transport: use oci:DIR[:TAG], "
				    "oci-archive:FILE[:REF] or docker-archive:FILE[:REF]",
				    spec);
	if (t->kind == BP_TRANSPORT_DAEMON) {
		if (!*rest)
			return bp_error_set(BP_EINVAL, "\"%s\": docker-daemon: needs an image name",
					    spec);
		return (t->ref = bp_strdup(rest)) ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
	}
	colon = strchr(rest, ':');
	t->path = colon ? bp_strndup(rest, (size_t)(colon - rest)) : bp_strdup(rest);
	if (colon && colon[1])
		t->ref = bp_strdup(colon + 1);
	if (!t->path || (colon && colon[1] && !t->ref)) {
		bp_transport_release(t);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	if (!*t->path) {
		bp_transport_release(t);
		return bp_error_set(BP_EINVAL, "\"%s\": the transport needs a %s", spec,
				    t->kind == BP_TRANSPORT_OCI ? "directory" : "file");
	}
	return 0;
}
