/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The multi handle of a share, and the one thread that drives it: every
 * https transfer of a registry runs on it, so the transfers to one host
 * share one HTTP/2 connection, many streams at once (or a few kept-alive
 * HTTP/1.1 connections when the host offers no HTTP/2).
 *
 * A worker hands its easy handle over and waits, as curl_easy_perform
 * would. The thread only moves bytes: it parses response headers, keeps
 * error bodies, sends request bodies from memory, and copies the body
 * bytes meant for the request's sink into a buffer that the worker empties
 * into the sink on its own thread. So hashing and writing blobs stay on
 * the workers' cores and the errors they set on the workers' threads; and
 * when a worker falls behind, its transfer is paused, never the thread, so
 * a sink that waits on another transfer (a blob copied within a registry)
 * cannot stop the others.
 */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

/* What a transfer's buffer holds before it pauses until its worker catches up. */
#define BUF_MAX (256 * 1024)

/* What a worker asks of the thread. */
enum { WANT_ADD = 1, WANT_UNPAUSE = 2, WANT_CANCEL = 4 };

typedef struct mux_xfer {
	struct mux_xfer *qnext; /* in the queue of requests to the thread */
	bp_mux *m;
	CURL *curl;
	xfer *x;
	pthread_cond_t cond;
	/* under m->lock */
	int queued;
	int want;
	int done;   /* set by the thread alone; the worker may then leave */
	int paused; /* the thread refused bytes: they come again once unpaused */
	int ever_paused;
	int failed; /* the sink failed: the rest of the body is not wanted */
	int nomem;
	CURLcode rc;
	char *in; /* filled by the thread */
	size_t in_len, in_cap;
} mux_xfer;

struct bp_mux {
	CURLM *multi;
	pthread_t thread;
	pthread_mutex_t lock; /* the queue, stop, pauses and every mux_xfer's locked fields */
	mux_xfer *qhead, *qtail;
	int stop;
	long pauses;
};

/* Ask the thread for what (m->lock held); the caller wakes it up. */
static void request(bp_mux *m, mux_xfer *t, int what)
{
	t->want |= what;
	if (t->queued)
		return;
	t->queued = 1;
	t->qnext = NULL;
	if (m->qtail)
		m->qtail->qnext = t;
	else
		m->qhead = t;
	m->qtail = t;
}

static void unqueue(bp_mux *m, mux_xfer *t)
{
	mux_xfer **p, *prev = NULL;

	for (p = &m->qhead; *p; prev = *p, p = &(*p)->qnext) {
		if (*p == t) {
			*p = t->qnext;
			if (m->qtail == t)
				m->qtail = prev;
			break;
		}
	}
	t->queued = 0;
}

/* The transfer is over: its worker may go (and t with it) once the lock is released. */
static void finish(bp_mux *m, mux_xfer *t, CURLcode rc)
{
	pthread_mutex_lock(&m->lock);
	if (t->queued)
		unqueue(m, t);
	t->rc = rc;
	t->done = 1;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&m->lock);
}

/* CURLOPT_WRITEFUNCTION on the thread: error bodies kept, the sink's bytes queued. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	mux_xfer *t = p;
	bp_mux *m = t->m;
	xfer *x = t->x;
	size_t len = size * nmemb;

	if (bp_http__body_route(x) == 2) {
		if (!bp_dynbuf_full(&x->resp->err_body, len))
			bp_dynbuf_add(&x->resp->err_body, data, len);
		return len;
	}
	if (!x->req->write_fn && !x->req->resp)
		return len;
	pthread_mutex_lock(&m->lock);
	if (t->failed) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	if (t->in_len && t->in_len + len > BUF_MAX) {
		t->paused = 1;
		t->ever_paused = 1;
		m->pauses++;
		pthread_mutex_unlock(&m->lock);
		return CURL_WRITEFUNC_PAUSE;
	}
	if (t->in_len + len > t->in_cap) {
		size_t cap = t->in_len + len > BUF_MAX ? t->in_len + len : BUF_MAX;
		char *n = realloc(t->in, cap);

		if (!n) {
			t->nomem = 1;
			pthread_mutex_unlock(&m->lock);
			return 0;
		}
		t->in = n;
		t->in_cap = cap;
	}
	memcpy(t->in + t->in_len, data, len);
	t->in_len += len;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&m->lock);
	return len;
}

/* Do what workers asked for; m->lock held, and held again on return. */
static void serve_requests(bp_mux *m)
{
	mux_xfer *t;

	while ((t = m->qhead)) {
		int want = t->want;

		m->qhead = t->qnext;
		if (!m->qhead)
			m->qtail = NULL;
		t->queued = 0;
		t->want = 0;
		pthread_mutex_unlock(&m->lock);
		/* t lives until finish(): only this thread calls it */
		if (want & WANT_ADD) {
			if (curl_multi_add_handle(m->multi, t->curl) != CURLM_OK) {
				finish(m, t, CURLE_OUT_OF_MEMORY);
				pthread_mutex_lock(&m->lock);
				continue;
			}
		}
		if (want & WANT_CANCEL) {
			curl_multi_remove_handle(m->multi, t->curl);
			finish(m, t, CURLE_ABORTED_BY_CALLBACK);
		} else if (want & WANT_UNPAUSE) {
			/* may call on_body at once, which takes the lock */
			curl_easy_pause(t->curl, CURLPAUSE_CONT);
		}
		pthread_mutex_lock(&m->lock);
	}
}

static void *mux_main(void *p)
{
	bp_mux *m = p;
	int running;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		CURLMsg *msg;
		int left;

		serve_requests(m);
		pthread_mutex_unlock(&m->lock);
		curl_multi_perform(m->multi, &running);
		while ((msg = curl_multi_info_read(m->multi, &left))) {
			CURL *e = msg->easy_handle;
			CURLcode rc = msg->data.result;
			char *priv = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
			curl_multi_remove_handle(m->multi, e);
			finish(m, (mux_xfer *)(void *)priv, rc);
		}
		/* woken by a socket, a timer of curl's, or curl_multi_wakeup from a worker */
		curl_multi_poll(m->multi, NULL, 0, 1000, NULL);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* See http_int.h. */
int bp_mux__new(bp_mux **out)
{
	bp_mux *m = calloc(1, sizeof(*m));

	if (!m)
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (!(m->multi = curl_multi_init())) {
		free(m);
		return bp_error_set(BP_ERROR, "libcurl: cannot create a multi handle");
	}
	curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/*
	 * Two connections to a host at most: HTTP/2 multiplexes on them (a
	 * host found to speak only HTTP/1.1 leaves the multi handle, http.c).
	 */
	curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 2L);
	curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, 16L);
	/*
	 * Go's HTTP/2 server (distribution) lets 1 MiB of request bodies be in
	 * flight per connection: past 16 streams at once a second connection
	 * opens, and small uploads go twice as fast over a long round trip.
	 */
	curl_multi_setopt(m->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, 16L);
	pthread_mutex_init(&m->lock, NULL);
	if (pthread_create(&m->thread, NULL, mux_main, m) != 0) {
		pthread_mutex_destroy(&m->lock);
		curl_multi_cleanup(m->multi);
		free(m);
		return bp_error_set(BP_ERROR, "cannot start the HTTP thread");
	}
	*out = m;
	return 0;
}

/* See http_int.h. */
void bp_mux__free(bp_mux *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	pthread_mutex_unlock(&m->lock);
	curl_multi_wakeup(m->multi);
	pthread_join(m->thread, NULL);
	curl_multi_cleanup(m->multi);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* See http_int.h. */
long bp_mux__pauses(bp_mux *m)
{
	long n;

	pthread_mutex_lock(&m->lock);
	n = m->pauses;
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* See http_int.h. */
CURLcode bp_mux__perform(bp_mux *m, CURL *curl, xfer *x, int *spent)
{
	mux_xfer t;
	char *out = NULL;
	size_t out_cap = 0;
	CURLcode rc;

	memset(&t, 0, sizeof(t));
	t.m = m;
	t.curl = curl;
	t.x = x;
	pthread_cond_init(&t.cond, NULL);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(curl, CURLOPT_PRIVATE, (char *)(void *)&t);

	pthread_mutex_lock(&m->lock);
	request(m, &t, WANT_ADD);
	pthread_mutex_unlock(&m->lock);
	curl_multi_wakeup(m->multi);

	pthread_mutex_lock(&m->lock);
	for (;;) {
		if (t.in_len) {
			/* take the buffer (the thread fills the other one meanwhile) */
			char *data = t.in;
			size_t n = t.in_len, cap = t.in_cap;
			int resume = t.paused && !t.done;

			t.in = out;
			t.in_cap = out_cap;
			t.in_len = 0;
			out = data;
			out_cap = cap;
			t.paused = 0;
			if (resume)
				request(m, &t, WANT_UNPAUSE);
			pthread_mutex_unlock(&m->lock);
			if (resume)
				curl_multi_wakeup(m->multi);
			if (!x->cb_error) {
				int err = bp_http__body_sink(x, data, n);

				if (err) {
					x->cb_error = err;
					pthread_mutex_lock(&m->lock);
					t.failed = 1;
					if (!t.done)
						request(m, &t, WANT_CANCEL);
					pthread_mutex_unlock(&m->lock);
					curl_multi_wakeup(m->multi);
				}
			}
			pthread_mutex_lock(&m->lock);
			continue;
		}
		if (t.done)
			break;
		pthread_cond_wait(&t.cond, &m->lock);
	}
	rc = t.rc;
	if (t.nomem && !x->cb_error)
		x->cb_error = bp_error_set(BP_ENOMEM, "out of memory");
	/* libcurl keeps what a paused transfer was not given, even past its end */
	*spent = t.ever_paused || t.failed || t.nomem;
	pthread_mutex_unlock(&m->lock);
	free(t.in);
	free(out);
	pthread_cond_destroy(&t.cond);
	curl_easy_setopt(curl, CURLOPT_PRIVATE, NULL);
	return rc;
}
