/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmicrohttpd glue. A request lives from the URI log callback (which
 * keeps the URI exactly as received, for the log) to the completion
 * notice. The access handler is called once with the headers (route,
 * validate, authorize, maybe answer at once), then once per body piece
 * (streamed to a file or a capped buffer), then once more with the body
 * complete (r->finish answers).
 */
#include "mock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "util/strutil.h"

/* Logs the request and hands resp to MHD. */
static enum MHD_Result queue(struct mock_req *r, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	mock_log_request(r->srv->log, r, status);
	r->logged = 1;
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct mock_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->srv = cls;
	r->conn = conn;
	r->fd = -1;
	r->uri = bp_strdup(uri);
	bp_dynbuf_init(&r->body, MOCK_MANIFEST_MAX);
	return r;
}

/* As on_uri, for the storage port. */
static void *on_uri_storage(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct mock_req *r = on_uri(cls, uri, conn);

	if (r)
		r->storage = 1;
	return r;
}

static void req_free(struct mock_req *r)
{
	/* Cut off before its answer went out: logged with the status it was to get, or 000. */
	if (r->started && !r->logged)
		mock_log_request(r->srv->log, r, r->pending ? r->pending_status : 0);
	if (r->fd >= 0)
		close(r->fd);
	if (r->pending)
		MHD_destroy_response(r->pending);
	mock_uploads_release(r->srv->uploads, r->up, 0);
	bp_dynbuf_release(&r->body);
	free(r->uri);
	free(r->name);
	free(r->ref);
	free(r);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	if (*con_cls)
		req_free(*con_cls);
	*con_cls = NULL;
}

static void body_feed(struct mock_req *r, const char *data, size_t size)
{
	r->received += (int64_t)size;
	if (r->body_error)
		return;
	if (r->body_mode == MOCK_BODY_FILE && mock_write_all(r->fd, data, size) < 0)
		r->body_error = 1;
	if (r->body_mode == MOCK_BODY_BUFFER && bp_dynbuf_add(&r->body, data, size) < 0)
		r->body_error = 1;
}

/* --max-body: 1 when the declared Content-Length is over the cap. */
static int body_too_large(struct mock_req *r)
{
	const char *cl = mock_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t n;

	return r->srv->cfg.max_body >= 0 && cl && bp_parse_int64(cl, 0, INT64_MAX, &n) == 0 &&
	       n > r->srv->cfg.max_body;
}

/* 413 SIZE_INVALID, as GHCR answers a body over its cap. */
static enum MHD_Result reply_too_large(struct mock_req *r)
{
	return mock_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
				"request body too large", NULL);
}

/*
 * --tls-client-ca: libmicrohttpd asks for a client certificate but lets a
 * connection without one through; refuse it here as a server that
 * requires one does, with a TLS alert, before anything is logged.
 */
static int client_cert_ok(struct mock_req *r)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t s;
	unsigned status = 0;
	unsigned n = 0;

	if (!r->srv->cfg.tls_client_ca)
		return 1;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return 0;
	s = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_get_peers(s, &n) && n &&
	    gnutls_certificate_verify_peers2(s, &status) == GNUTLS_E_SUCCESS && status == 0)
		return 1;
	fprintf(stderr, "mock-registry: refused a connection without a trusted client "
			"certificate\n");
	gnutls_alert_send(s, GNUTLS_AL_FATAL,
			  n ? GNUTLS_A_BAD_CERTIFICATE : GNUTLS_A_CERTIFICATE_REQUIRED);
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct mock_req *r = *con_cls;

	if (!r || !r->uri)
		return MHD_NO;
	if (!r->started) {
		enum MHD_Result res;

		if (!client_cert_ok(r))
			return MHD_NO;
		r->started = 1;
		r->method = method;
		mock_auth_identify(r);
		r->in_first = 1;
		if (body_too_large(r))
			res = reply_too_large(r);
		else
			res = r->storage ? mock_route_storage(r, url) : mock_route(r, url);
		r->in_first = 0;
		return res;
	}
	if (*size && !r->answered && r->srv->cfg.max_body >= 0 &&
	    r->received + (int64_t)*size > r->srv->cfg.max_body && !r->too_large) {
		/* a body without Content-Length passed the cap: undo what this request stored */
		r->too_large = 1;
		if (r->fd >= 0 && ftruncate(r->fd, (off_t)r->base_size) < 0)
			r->body_error = 1;
		r->body_mode = MOCK_BODY_DISCARD;
	}
	if (*size) {
		size_t keep;

		if (mock_fault_cut_upload(r, *size, &keep)) {
			/* the bytes before the cut are kept; the session is free for a status GET
			 */
			body_feed(r, data, keep);
			if (r->fd >= 0)
				close(r->fd);
			r->fd = -1;
			mock_uploads_release(r->srv->uploads, r->up, 0);
			r->up = NULL;
			return MHD_NO;
		}
		body_feed(r, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (r->pending) {
		struct MHD_Response *resp = r->pending;

		r->pending = NULL;
		return queue(r, r->pending_status, resp);
	}
	if (r->answered)
		return MHD_YES;
	if (r->too_large)
		return reply_too_large(r);
	if (!r->finish)
		return mock_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
					"request not routed", NULL);
	return r->finish(r);
}

/* The request header name (case-insensitive), or NULL. */
const char *mock_header(struct mock_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The first query parameter key, percent-decoded by MHD, or NULL. */
const char *mock_query(struct mock_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* An empty body; MHD sends Content-Length: 0. */
struct MHD_Response *mock_resp_empty(void)
{
	return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

/* A copy of data as the body, with Content-Type ctype. */
struct MHD_Response *mock_resp_bytes(const char *data, size_t len, const char *ctype)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (resp && ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return resp;
}

/* The registry error body as a response. */
struct MHD_Response *mock_resp_error_body(const char *code, const char *message, const char *detail)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *errors = cJSON_AddArrayToObject(root, "errors");
	cJSON *e = cJSON_CreateObject();
	struct MHD_Response *resp = NULL;
	char *text = NULL;

	if (!root || !errors || !e) {
		cJSON_Delete(e);
		goto done;
	}
	cJSON_AddItemToArray(errors, e);
	if (!cJSON_AddStringToObject(e, "code", code) ||
	    !cJSON_AddStringToObject(e, "message", message) ||
	    (detail && !cJSON_AddStringToObject(e, "detail", detail)))
		goto done;
	text = cJSON_PrintUnformatted(root);
	if (text)
		resp = mock_resp_bytes(text, strlen(text), "application/json");
done:
	cJSON_free(text);
	cJSON_Delete(root);
	return resp;
}

/*
 * Answers r with status and resp (consumed; NULL means out of memory).
 * MHD closes the connection after a response queued before the body was
 * read, so an answer decided on the first call is kept until the body
 * (if any) has been read and dropped, and the connection stays alive.
 * A client that sent "Expect: 100-continue" gets it at once instead, as
 * Go's net/http does, and does not send the body.
 */
enum MHD_Result mock_reply(struct mock_req *r, unsigned status, struct MHD_Response *resp)
{
	const char *expect = mock_header(r, MHD_HTTP_HEADER_EXPECT);

	/* --slow: a registry far away (each connection has its own thread) */
	if (r->srv->cfg.slow_ms > 0) {
		struct timespec ts = { (time_t)(r->srv->cfg.slow_ms / 1000),
				       (long)(r->srv->cfg.slow_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	/* Free the session before the client can see the answer and reuse it. */
	mock_uploads_release(r->srv->uploads, r->up, 0);
	r->up = NULL;
	r->answered = 1;
	r->body_mode = MOCK_BODY_DISCARD;
	if (resp && status >= 400)
		resp = mock_fault_error_body(r, resp);
	if (!resp) {
		mock_log_request(r->srv->log, r, MHD_HTTP_INTERNAL_SERVER_ERROR);
		r->logged = 1;
		return MHD_NO;
	}
	if (bp_strprefix(r->uri, "/v2/") || strcmp(r->uri, "/v2") == 0)
		MHD_add_response_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
	if (r->in_first && !(expect && strcasecmp(expect, "100-continue") == 0)) {
		r->pending = resp;
		r->pending_status = status;
		return MHD_YES;
	}
	return queue(r, status, resp);
}

/* A JSON error reply. */
enum MHD_Result mock_reply_error(struct mock_req *r, unsigned status, const char *code,
				 const char *message, const char *detail)
{
	return mock_reply(r, status, mock_resp_error_body(code, message, detail));
}

/* A Host value fit to stand in a URL: host name, IPv4, [IPv6], an optional :port. */
static int host_ok(const char *h, size_t len)
{
	size_t i;

	if (len == 0 || len > 255)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && !strchr(".-:[]_", h[i]))
			return 0;
	return 1;
}

/*
 * path as a Location: relative with --relative-location, else absolute
 * on the origin the client asked for, as distribution builds its URLs:
 * X-Forwarded-Proto and the first X-Forwarded-Host when a proxy set them,
 * else the Host header, so that a client behind a proxy stays behind it.
 * Without a usable Host, the mock's own address.
 */
char *mock_location(struct mock_req *r, const char *path)
{
	const char *proto = mock_header(r, "X-Forwarded-Proto");
	const char *host = mock_header(r, "X-Forwarded-Host");
	size_t len;

	if (r->srv->cfg.relative_location)
		return bp_strdup(path);
	if (!host)
		host = mock_header(r, MHD_HTTP_HEADER_HOST);
	len = host ? strcspn(host, ", ") : 0;
	if (!host || !host_ok(host, len))
		return bp_aprintf("%s%s", r->srv->base_url, path);
	if (!proto || (strcmp(proto, "http") != 0 && strcmp(proto, "https") != 0))
		proto = r->srv->scheme;
	return bp_aprintf("%s://%.*s%s", proto, (int)len, host, path);
}

/* MHD's own diagnostics (bad requests, resource limits) go to stderr, marked. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	fputs("mock-registry: microhttpd: ", stderr);
	vfprintf(stderr, fmt, ap);
}

static int fill_addr(const struct mock_config *c, struct sockaddr_storage *ss)
{
	const char *host = c->listen;

	memset(ss, 0, sizeof(*ss));
	if (c->ipv6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(c->port);
		return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(c->port);
		return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
	}
}

/* MHD_OPTION_URI_LOG_CALLBACK's function type. */
typedef void *(*uri_fn)(void *cls, const char *uri, struct MHD_Connection *conn);

/* One daemon on cfg's address and port (0: a free one); NULL with a message on stderr. */
static struct MHD_Daemon *start_daemon(struct mock_server *srv, uint16_t port, uri_fn uri_cb,
				       uint16_t *bound)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	struct MHD_OptionItem tls[4];
	size_t nt = 0;
	unsigned flags =
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;

	if (fill_addr(&srv->cfg, &ss) < 0)
		return NULL;
	if (srv->cfg.ipv6)
		flags |= MHD_USE_IPv6;
	/* fill_addr used cfg.port; the storage port is another one */
	if (srv->cfg.ipv6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	if (srv->cfg.tls_cert) {
		flags |= MHD_USE_TLS;
		tls[nt++] =
			(struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cfg.tls_cert };
		tls[nt++] =
			(struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->cfg.tls_key };
		if (srv->cfg.tls_client_ca)
			tls[nt++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
							     srv->cfg.tls_client_ca };
	}
	tls[nt] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	d = MHD_start_daemon(flags, port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
			     mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_URI_LOG_CALLBACK, uri_cb, srv, MHD_OPTION_NOTIFY_COMPLETED,
			     on_done, srv, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_ARRAY, tls,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "mock-registry: cannot listen on %s port %u\n", srv->cfg.listen,
			(unsigned)port);
		return NULL;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*bound = info ? info->port : port;
	return d;
}

/* Binds and starts the daemon threads (and the storage port's); fills port, host and base_url. */
int mock_server_start(struct mock_server *srv)
{
	srv->scheme = srv->cfg.tls_cert ? "https" : "http";
	srv->daemon = start_daemon(srv, srv->cfg.port, on_uri, &srv->port);
	if (!srv->daemon)
		return -1;
	if ((srv->cfg.storage_redirect || (srv->cfg.faults & MOCK_FAULT_UPLOAD_ELSEWHERE)) &&
	    !(srv->storage = start_daemon(srv, 0, on_uri_storage, &srv->storage_port)))
		return -1;
	snprintf(srv->host, sizeof(srv->host), srv->cfg.ipv6 ? "[%s]" : "%s", srv->cfg.listen);
	snprintf(srv->base_url, sizeof(srv->base_url), "%s://%s:%u", srv->scheme, srv->host,
		 (unsigned)srv->port);
	return 0;
}

/* Stops accepting, waits for every connection thread; NULL-safe. */
void mock_server_stop(struct mock_server *srv)
{
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	if (srv->storage)
		MHD_stop_daemon(srv->storage);
	srv->daemon = NULL;
	srv->storage = NULL;
}
