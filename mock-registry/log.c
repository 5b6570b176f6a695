/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request log that integration tests grep. One line per request:
 *   METHOD URI STATUS auth=A ct=CT cr=CR cl=CL range=RANGE
 * then host=HOST when it came through a proxy and if-match=ETAG when it
 * was conditional, prefixed with "storage " for a request to the
 * --storage-redirect port.
 * STATUS is 000 for a request cut off before it was answered.
 * Each line goes out in a single write(2) on an O_APPEND descriptor, so
 * lines from concurrent connections never interleave and a reader sees a
 * line as soon as the client has its response.
 */
#include "mock.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/dynbuf.h"

struct mock_log {
	int fd;
	pthread_mutex_t lock;
};

/* Opens path for appending (created 0644); NULL path: a log that drops lines. */
struct mock_log *mock_log_open(const char *path)
{
	struct mock_log *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->fd = -1;
	if (path) {
		l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (l->fd < 0) {
			free(l);
			return NULL;
		}
	}
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

/* Closes the log; NULL-safe. */
void mock_log_close(struct mock_log *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Appends v, or "-" when absent; control bytes become '?' so one request is one line. */
static void add_field(bp_dynbuf *b, const char *key, const char *v)
{
	if (key)
		bp_dynbuf_printf(b, " %s=", key);
	if (!v || !*v) {
		bp_dynbuf_adds(b, "-");
		return;
	}
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		bp_dynbuf_add(b, c < 0x20 || c == 0x7f ? "?" : v, 1);
	}
}

/* Appends one line for r answered with status. */
void mock_log_request(struct mock_log *l, struct mock_req *r, unsigned status)
{
	bp_dynbuf b = BP_DYNBUF_INIT(64 * 1024);
	const char *host, *own;
	char auth[160];

	if (!l || l->fd < 0)
		return;
	mock_auth_label(r, auth, sizeof(auth));
	if (r->storage)
		bp_dynbuf_adds(&b, "storage ");
	add_field(&b, NULL, r->method);
	bp_dynbuf_adds(&b, " ");
	add_field(&b, NULL, r->uri);
	bp_dynbuf_printf(&b, " %03u auth=%s", status, auth);
	add_field(&b, "ct", mock_header(r, MHD_HTTP_HEADER_CONTENT_TYPE));
	add_field(&b, "cr", mock_header(r, "Content-Range"));
	add_field(&b, "cl", mock_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH));
	add_field(&b, "range", mock_header(r, MHD_HTTP_HEADER_RANGE));
	/* a request that came through a proxy names another origin: say which */
	host = mock_header(r, MHD_HTTP_HEADER_HOST);
	own = strstr(r->srv->base_url, "://");
	if (host && own && strcmp(host, own + 3) != 0)
		add_field(&b, "host", host);
	/* a conditional PUT (a referrers index merged and written back) */
	if (mock_header(r, MHD_HTTP_HEADER_IF_MATCH))
		add_field(&b, "if-match", mock_header(r, MHD_HTTP_HEADER_IF_MATCH));
	bp_dynbuf_adds(&b, "\n");
	if (b.len && b.ptr[b.len - 1] == '\n') {
		pthread_mutex_lock(&l->lock);
		(void)mock_write_all(l->fd, b.ptr, b.len);
		pthread_mutex_unlock(&l->lock);
	}
	bp_dynbuf_release(&b);
}
