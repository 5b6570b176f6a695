/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/delayline: a TCP byte pipe on loopback that behaves like a long
 * link. Each connection accepted on --listen is joined to a new connection
 * to --to, and whatever either side sends reaches the other RTT/2 later.
 * It does not limit throughput: every chunk read is stamped and queued,
 * reading goes on while earlier chunks wait, and a chunk is written out
 * when it is due. A new connection costs one RTT before its first bytes
 * leave, as a TCP handshake would (the kernel completes the real one at
 * once). --rate caps each direction of the whole line (all connections
 * together, as on a shared link) with a token bucket after the delay.
 * A half-close (FIN) is forwarded once the data queued before it is out,
 * so HTTP/1.1, HTTP/2 and TLS pass through it unchanged.
 *
 *   delayline [--listen ADDR:PORT] --to ADDR:PORT [--rtt MS] [--rate BYTES_PER_SEC]
 *             [--queue BYTES] [--port-file F] [--stats-file F]
 *
 * --listen defaults to 127.0.0.1:0 (a free port, written to --port-file
 * once listening); --queue bounds the bytes waiting in one direction of
 * one connection (default 4 MiB: that side is not read while it is full).
 * --stats-file is rewritten whenever a connection ends and on SIGTERM or
 * SIGINT, before exiting, as "key value" lines: connections (accepted),
 * bytes_up (read from clients), bytes_down (read from the target). Driven
 * by bench/wan; tested by tests/integration/t16-delayline.sh.
 */
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_MAX (64 * 1024)
#define MAX_CONNS 400
/* under a rate cap, wait for this many tokens (or the rest of the chunk) before a write */
#define MIN_WRITE (16 * 1024)

/* Bytes read from one side at one time; len 0 is the FIN that side sent. */
struct chunk {
	struct chunk *next;
	int64_t due; /* CLOCK_MONOTONIC ns */
	size_t len;
	size_t off; /* written so far */
	unsigned char data[];
};

/* One direction of a connection: read from fd[i], written to fd[1 - i]. */
struct half {
	struct chunk *head, *tail;
	size_t queued;	/* bytes read, not yet written */
	int64_t floor;	/* nothing is due before this (the emulated handshake) */
	bool read_eof;	/* FIN or error read: no more reading */
	bool wrote_eof; /* FIN forwarded */
	bool blocked;	/* the last write would block: wait for POLLOUT */
};

/* fd[0] the client, fd[1] the target; h[0] goes up (client to target), h[1] down. */
struct conn {
	struct conn *next;
	int fd[2];
	struct half h[2];
	bool connecting; /* fd[1]'s connect is under way */
	bool dead;	 /* an error: close both sides now */
};

/* A token bucket per direction, shared by every connection. */
struct bucket {
	int64_t tokens;
	int64_t at; /* when tokens was last refilled */
};

static struct {
	int64_t half_rtt; /* ns */
	int64_t rtt;	  /* ns */
	int64_t rate;	  /* bytes per second, 0: none */
	int64_t burst;
	size_t queue_max;
	const char *stats_file;
	struct sockaddr_storage to;
	socklen_t to_len;
} cfg;

static struct bucket buckets[2];
static struct conn *conns;
static int nconns;
static uint64_t accepted, bytes[2];
static volatile sig_atomic_t stopping;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig)
{
	stopping = sig;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: delayline [--listen ADDR:PORT] --to ADDR:PORT [--rtt MS] "
		"[--rate BYTES_PER_SEC]\n"
		"                 [--queue BYTES] [--port-file FILE] [--stats-file FILE]\n");
	exit(2);
}

/* Say "delayline: " fmt (one %s, arg) and exit with status code. */
static void die(int code, const char *fmt, const char *arg)
{
	fprintf(stderr, "delayline: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(code);
}

/* "HOST:PORT" (an address or a name; the port a number) into *ss. 0 or -1. */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	const char *colon = strrchr(s, ':');
	char *host;
	int rc;

	if (!colon || colon == s || !colon[1])
		return -1;
	host = bp_strndup(s, (size_t)(colon - s));
	if (!host)
		return -1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	free(host);
	if (rc != 0 || !ai)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int64_t number(const char *s, int64_t max, const char *what)
{
	int64_t v;

	if (bp_parse_int64(s, 0, max, &v) < 0) {
		fprintf(stderr, "delayline: bad %s \"%s\" (a whole number from 0 to %lld)\n", what,
			s, (long long)max);
		exit(2);
	}
	return v;
}

/* Replace path with text, through a temporary file beside it and a rename. 0 or -1. */
static int write_file(const char *path, const char *text)
{
	char *tmp = bp_aprintf("%s.tmp", path);
	FILE *f;
	int rc = -1;

	if (!tmp)
		return -1;
	if ((f = fopen(tmp, "w"))) {
		fputs(text, f);
		if (fclose(f) == 0 && rename(tmp, path) == 0)
			rc = 0;
	}
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static void write_stats(void)
{
	char text[256];

	if (!cfg.stats_file)
		return;
	snprintf(text, sizeof(text), "connections %llu\nbytes_up %llu\nbytes_down %llu\n",
		 (unsigned long long)accepted, (unsigned long long)bytes[0],
		 (unsigned long long)bytes[1]);
	if (write_file(cfg.stats_file, text) < 0)
		fprintf(stderr, "delayline: cannot write %s: %s\n", cfg.stats_file,
			strerror(errno));
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* the line must not add Nagle's wait to what the endpoints chose */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void push_chunk(struct half *h, const void *data, size_t len, int64_t now)
{
	struct chunk *c = malloc(sizeof(*c) + len);

	if (!c) {
		fprintf(stderr, "delayline: out of memory\n");
		exit(1);
	}
	c->next = NULL;
	c->due = (now > h->floor ? now : h->floor) + cfg.half_rtt;
	c->len = len;
	c->off = 0;
	if (len)
		memcpy(c->data, data, len);
	if (h->tail)
		h->tail->next = c;
	else
		h->head = c;
	h->tail = c;
	h->queued += len;
}

static void pop_chunk(struct half *h)
{
	struct chunk *c = h->head;

	h->head = c->next;
	if (!h->head)
		h->tail = NULL;
	free(c);
}

/* Accept a connection and start its connect to the target; false when none was waiting. */
static bool accept_one(int lfd, int64_t now)
{
	struct conn *c;
	int cfd, tfd;

	cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			fprintf(stderr, "delayline: accept: %s\n", strerror(errno));
		return false;
	}
	accepted++;
	tfd = socket(cfg.to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tfd < 0 ||
	    (connect(tfd, (struct sockaddr *)&cfg.to, cfg.to_len) < 0 && errno != EINPROGRESS)) {
		fprintf(stderr, "delayline: connect to the target: %s\n", strerror(errno));
		if (tfd >= 0)
			close(tfd);
		close(cfd);
		write_stats();
		return true;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		fprintf(stderr, "delayline: out of memory\n");
		exit(1);
	}
	set_nodelay(cfd);
	set_nodelay(tfd);
	c->fd[0] = cfd;
	c->fd[1] = tfd;
	c->connecting = true;
	/* the client could send once its handshake was done, one RTT in; the target could
	 * answer once that handshake reached it, RTT/2 later */
	c->h[0].floor = now + cfg.rtt;
	c->h[1].floor = now + cfg.rtt + cfg.half_rtt;
	c->next = conns;
	conns = c;
	nconns++;
	return true;
}

/* Read what side i has, up to the queue bound. */
static void read_side(struct conn *c, int i, int64_t now)
{
	static unsigned char buf[READ_MAX];
	struct half *h = &c->h[i];

	while (!h->read_eof && h->queued < cfg.queue_max) {
		ssize_t n = read(c->fd[i], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* a reset ends this direction like a FIN: the other side learns of it
			 * when it writes */
			push_chunk(h, NULL, 0, now);
			h->read_eof = true;
			return;
		}
		bytes[i] += (uint64_t)n;
		push_chunk(h, buf, (size_t)n, now);
	}
}

static void refill(struct bucket *b, int64_t now)
{
	int64_t dt = now - b->at, add;

	if (dt > 1000000000) {
		/* the bucket was full long ago: keep the product below in range */
		dt = 1000000000;
		b->at = now - dt;
	}
	add = dt * cfg.rate / 1000000000;
	if (add <= 0)
		return;
	b->tokens = b->tokens + add > cfg.burst ? cfg.burst : b->tokens + add;
	/* advance by the time the tokens given stand for, keeping the remainder */
	b->at = b->tokens == cfg.burst ? now : b->at + add * 1000000000 / cfg.rate;
}

/*
 * Write what is due of direction i. Returns when it would block, waits
 * for tokens or has nothing due; *wake is lowered to when it next needs
 * to run (INT64_MAX: not on a timer).
 */
static void flush_side(struct conn *c, int i, int64_t now, int64_t *wake)
{
	struct half *h = &c->h[i];
	int out = c->fd[1 - i];

	if (h->blocked || (i == 0 && c->connecting))
		return;
	while (h->head) {
		struct chunk *k = h->head;
		size_t want = k->len - k->off;
		ssize_t n;

		if (k->due > now) {
			if (k->due < *wake)
				*wake = k->due;
			return;
		}
		if (k->len == 0) {
			shutdown(out, SHUT_WR);
			h->wrote_eof = true;
			pop_chunk(h);
			continue;
		}
		if (cfg.rate) {
			struct bucket *b = &buckets[i];
			int64_t need = want < MIN_WRITE ? (int64_t)want : MIN_WRITE;

			refill(b, now);
			if (b->tokens < need) {
				int64_t t = b->at + (need - b->tokens) * 1000000000 / cfg.rate + 1;

				if (t < *wake)
					*wake = t;
				return;
			}
			if ((int64_t)want > b->tokens)
				want = (size_t)b->tokens;
		}
		n = send(out, k->data + k->off, want, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			h->blocked = true;
			return;
		}
		if (n < 0) {
			c->dead = true;
			return;
		}
		if (cfg.rate)
			buckets[i].tokens -= n;
		k->off += (size_t)n;
		h->queued -= (size_t)n;
		if (k->off == k->len)
			pop_chunk(h);
	}
}

/*
 * Under a rate cap the first connection flushed takes the tokens there
 * are: a different one goes first every round, so that a bulk transfer
 * does not starve the small requests beside it.
 */
static void rotate(void)
{
	struct conn *first = conns, *last;

	if (!first || !first->next)
		return;
	for (last = first; last->next; last = last->next)
		;
	conns = first->next;
	first->next = NULL;
	last->next = first;
}

static void close_conn(struct conn **link)
{
	struct conn *c = *link;
	int i;

	*link = c->next;
	for (i = 0; i < 2; i++) {
		while (c->h[i].head)
			pop_chunk(&c->h[i]);
		close(c->fd[i]);
	}
	free(c);
	nconns--;
	write_stats();
}

static void finish_connect(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS)
		return;
	if (err) {
		fprintf(stderr, "delayline: connect to the target: %s\n", strerror(err));
		c->dead = true;
		return;
	}
	c->connecting = false;
}

/* Events wanted on fd[i]: read it while its queue has room, write it while blocked. */
static short wanted(const struct conn *c, int i)
{
	short ev = 0;

	if (i == 1 && c->connecting)
		return POLLOUT;
	if (!c->h[i].read_eof && c->h[i].queued < cfg.queue_max)
		ev |= POLLIN;
	if (c->h[1 - i].blocked)
		ev |= POLLOUT;
	return ev;
}

static int listen_on(const char *spec, const char *port_file)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;
	char text[32];

	if (parse_addr(spec, &ss, &len) < 0)
		die(2, "bad --listen address \"%s\" (HOST:PORT)", spec);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(1, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0)
		die(1, "cannot listen: %s", strerror(errno));
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die(1, "getsockname: %s", strerror(errno));
	snprintf(text, sizeof(text), "%u\n",
		 ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port));
	if (port_file && write_file(port_file, text) < 0)
		die(1, "cannot write the port file: %s", strerror(errno));
	return fd;
}

enum { O_LISTEN = 1, O_TO, O_RTT, O_RATE, O_QUEUE, O_PORT_FILE, O_STATS_FILE };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "to", required_argument, NULL, O_TO },
		{ "rtt", required_argument, NULL, O_RTT },
		{ "rate", required_argument, NULL, O_RATE },
		{ "queue", required_argument, NULL, O_QUEUE },
		{ "port-file", required_argument, NULL, O_PORT_FILE },
		{ "stats-file", required_argument, NULL, O_STATS_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_spec = "127.0.0.1:0", *to_spec = NULL, *port_file = NULL;
	struct pollfd *pfd = NULL;
	struct sigaction sa = { 0 };
	sigset_t block, unblocked;
	int lfd, opt, cap = 0;

	cfg.queue_max = 4 * 1024 * 1024;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case O_LISTEN:
			listen_spec = optarg;
			break;
		case O_TO:
			to_spec = optarg;
			break;
		case O_RTT:
			cfg.rtt = number(optarg, 3600 * 1000, "--rtt") * 1000000;
			break;
		case O_RATE:
			cfg.rate = number(optarg, INT64_MAX / 1000000000, "--rate");
			break;
		case O_QUEUE:
			cfg.queue_max = (size_t)number(optarg, (int64_t)1 << 40, "--queue");
			break;
		case O_PORT_FILE:
			port_file = optarg;
			break;
		case O_STATS_FILE:
			cfg.stats_file = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !to_spec)
		usage();
	if (cfg.queue_max < READ_MAX)
		cfg.queue_max = READ_MAX;
	cfg.half_rtt = cfg.rtt / 2;
	if (parse_addr(to_spec, &cfg.to, &cfg.to_len) < 0)
		die(2, "bad --to address \"%s\" (HOST:PORT)", to_spec);
	if (cfg.rate) {
		/* 5 ms worth of bytes, at least one full read */
		cfg.burst = cfg.rate / 200 > READ_MAX ? cfg.rate / 200 : READ_MAX;
		buckets[0].tokens = buckets[1].tokens = cfg.burst;
		buckets[0].at = buckets[1].at = now_ns();
	}

	/* the signals arrive only inside ppoll, so none is lost between a check and the wait */
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGINT);

	lfd = listen_on(listen_spec, port_file);
	write_stats();
	while (!stopping) {
		int64_t now = now_ns(), wake = INT64_MAX;
		struct timespec ts, *tsp = NULL;
		struct conn **link, *c;
		int n = 0, i, k;

		if (cfg.rate)
			rotate();
		for (c = conns; c; c = c->next)
			for (i = 0; i < 2; i++)
				flush_side(c, i, now, &wake);
		for (link = &conns; *link;) {
			c = *link;
			if (c->dead || (c->h[0].wrote_eof && c->h[1].wrote_eof))
				close_conn(link);
			else
				link = &c->next;
		}
		if (cap < 1 + 2 * nconns) {
			cap = 2 * (1 + 2 * nconns);
			if (!(pfd = realloc(pfd, (size_t)cap * sizeof(*pfd)))) {
				fprintf(stderr, "delayline: out of memory\n");
				return 1;
			}
		}
		pfd[n].fd = nconns < MAX_CONNS ? lfd : -1;
		pfd[n++].events = POLLIN;
		for (c = conns; c; c = c->next)
			for (i = 0; i < 2; i++) {
				short ev = wanted(c, i);

				/* an fd with nothing wanted is left out: a hang-up there would
				 * wake the loop forever */
				pfd[n].fd = ev ? c->fd[i] : -1;
				pfd[n].revents = 0;
				pfd[n++].events = ev;
			}
		if (wake != INT64_MAX) {
			int64_t d = wake > now ? wake - now : 0;

			ts.tv_sec = d / 1000000000;
			ts.tv_nsec = d % 1000000000;
			tsp = &ts;
		}
		if (ppoll(pfd, (nfds_t)n, tsp, &unblocked) < 0) {
			if (errno == EINTR)
				continue;
			die(1, "poll: %s", strerror(errno));
		}
		now = now_ns();
		k = 1;
		for (c = conns; c; c = c->next)
			for (i = 0; i < 2; i++, k++) {
				short re = pfd[k].revents;

				if (!re)
					continue;
				if (i == 1 && c->connecting) {
					finish_connect(c);
					continue;
				}
				if (re & (POLLOUT | POLLERR | POLLHUP))
					c->h[1 - i].blocked = false;
				if (re & (POLLIN | POLLHUP | POLLERR))
					read_side(c, i, now);
			}
		/* accepted last: the new connections were not in this round's pfd */
		if (pfd[0].revents & POLLIN)
			while (nconns < MAX_CONNS && accept_one(lfd, now))
				;
	}
	write_stats();
	return 0;
}
