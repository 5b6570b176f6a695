/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running docker-credential-<name>: posix_spawnp, no shell, a socket for
 * stdin (so that writing to a helper that has exited is EPIPE, never
 * SIGPIPE), pipes for stdout and stderr, one poll loop with a deadline.
 */
#include "credhelper.h"

#include <beampush/common.h>

#include "util/strutil.h"

#include <cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "docker-credential-"
#define NOT_FOUND_TEXT "credentials not found in native keychain"
/* how much of stderr's first line a message quotes */
#define ERRLINE_MAX 200

extern char **environ;

int bp_credhelper__timeout_ms = 30000;

/* What one run produced. */
struct run {
	const char *name;
	const char *action;
	char *out; /* stdout, NUL-terminated, BP_CREDHELPER_OUTPUT_MAX + 1 bytes */
	size_t outlen;
	char errline[ERRLINE_MAX + 1]; /* stderr's first line */
	size_t errlen;
	int errline_done;
	int status; /* from waitpid */
};

/* 1 when name is [A-Za-z0-9_.-]+. */
int bp_credhelper__valid_name(const char *name)
{
	if (!name || !*name || strlen(name) > 200)
		return 0;
	return name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789_.-")] == '\0';
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Keep our ends of the pipes away from 0-2: were stdin closed, a pipe
 * could land on fd 0, and dup2(0, 0) would leave it close-on-exec.
 */
static int high_fd(int *fd)
{
	int n;

	if (*fd > 2)
		return 0;
	n = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (n < 0)
		return -1;
	close(*fd);
	*fd = n;
	return 0;
}

/* Keep the first line of stderr (printable bytes only); drop the rest. */
static void keep_errline(struct run *r, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n && !r->errline_done; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch == '\n') {
			r->errline_done = r->errlen > 0;
			continue;
		}
		if (r->errlen == ERRLINE_MAX) {
			r->errline_done = 1;
			break;
		}
		if (ch == '\r' || (ch == ' ' && r->errlen == 0))
			continue;
		r->errline[r->errlen++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		r->errline[r->errlen] = '\0';
	}
}

/* Read what fd has; close it at EOF. -1 when stdout outgrew the cap. */
static int drain(struct run *r, int *fd, int is_out)
{
	char chunk[4096];

	while (*fd >= 0) {
		ssize_t n;

		if (is_out)
			n = read(*fd, r->out + r->outlen, BP_CREDHELPER_OUTPUT_MAX + 1 - r->outlen);
		else
			n = read(*fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			close_fd(fd);
			return 0;
		}
		if (is_out) {
			r->outlen += (size_t)n;
			if (r->outlen > BP_CREDHELPER_OUTPUT_MAX)
				return -1;
		} else {
			keep_errline(r, chunk, (size_t)n);
		}
	}
	return 0;
}

static int too_big(const struct run *r)
{
	return bp_error_set(BP_EPROTO, PREFIX "%s %s: answered more than %d KiB", r->name,
			    r->action, BP_CREDHELPER_OUTPUT_MAX / 1024);
}

static void kill_and_reap(pid_t pid, int *status)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/*
 * Run docker-credential-<r->name> <r->action> with input on stdin; fills
 * r->out and r->status. Errors here are about running it at all.
 */
static int run_helper(struct run *r, const char *input, size_t inlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, pipe_only;
	char *prog = NULL;
	char *argv[3];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int rc = 0, spawned = 0, reaped = 0, have_fa = 0, have_attr = 0;
	size_t off = 0;
	long long deadline;
	pid_t pid = -1;

	prog = bp_aprintf(PREFIX "%s", r->name);
	r->out = malloc(BP_CREDHELPER_OUTPUT_MAX + 1);
	if (!prog || !r->out) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	r->out[0] = '\0';
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || high_fd(&in[1]) < 0 ||
	    high_fd(&out[1]) < 0 || high_fd(&err[1]) < 0) {
		rc = bp_error_set(BP_ERROR, "cannot run %s: %s", prog, strerror(errno));
		goto done;
	}
	have_fa = posix_spawn_file_actions_init(&fa) == 0;
	have_attr = posix_spawnattr_init(&attr) == 0;
	if (!have_fa || !have_attr || posix_spawn_file_actions_adddup2(&fa, in[1], 0) ||
	    posix_spawn_file_actions_adddup2(&fa, out[1], 1) ||
	    posix_spawn_file_actions_adddup2(&fa, err[1], 2)) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	/* a clean signal state: SIGPIPE back to its default, nothing blocked */
	sigemptyset(&none);
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &pipe_only);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	argv[0] = prog;
	argv[1] = (char *)r->action;
	argv[2] = NULL;
	rc = posix_spawnp(&pid, prog, &fa, &attr, argv, environ);
	if (rc == ENOENT) {
		rc = bp_error_set(BP_EUNSUPPORTED, "%s is not in PATH", prog);
		goto done;
	}
	if (rc) {
		rc = bp_error_set(BP_ERROR, "cannot run %s: %s", prog, strerror(rc));
		goto done;
	}
	spawned = 1;
	close_fd(&in[1]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	if (inlen == 0)
		close_fd(&in[0]);

	deadline = now_ms() + bp_credhelper__timeout_ms;
	for (;;) {
		struct pollfd pf[3];
		nfds_t n = 0;
		long long left = deadline - now_ms();
		int i, slice;

		if (!reaped) {
			pid_t w = waitpid(pid, &r->status, WNOHANG);

			/* ECHILD: the application ignores SIGCHLD, the status is lost */
			if (w < 0 && errno == ECHILD)
				r->status = 0;
			reaped = w == pid || (w < 0 && errno == ECHILD);
		}
		if (reaped) {
			/* what it wrote is in the pipes; a grandchild may hold them open */
			if (drain(r, &out[0], 1) < 0)
				rc = too_big(r);
			drain(r, &err[0], 0);
			break;
		}
		if (left <= 0) {
			kill_and_reap(pid, &r->status);
			reaped = 1;
			rc = bp_error_set(BP_ERROR, "%s %s: no answer within %d s; stopped it",
					  prog, r->action,
					  (bp_credhelper__timeout_ms + 999) / 1000);
			goto done;
		}
		if (in[0] >= 0)
			pf[n++] = (struct pollfd){ in[0], POLLOUT, 0 };
		if (out[0] >= 0)
			pf[n++] = (struct pollfd){ out[0], POLLIN, 0 };
		if (err[0] >= 0)
			pf[n++] = (struct pollfd){ err[0], POLLIN, 0 };
		/* with every pipe closed it is about to exit: look again soon */
		slice = n ? 50 : 5;
		/* short slices: the exit is noticed by waitpid, not by a signal */
		if (poll(pf, n, left < slice ? (int)left : slice) < 0 && errno != EINTR) {
			rc = bp_error_set(BP_ERROR, "%s %s: poll: %s", prog, r->action,
					  strerror(errno));
			goto done;
		}
		for (i = 0; i < (int)n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == in[0]) {
				ssize_t w = send(in[0], input + off, inlen - off,
						 MSG_NOSIGNAL | MSG_DONTWAIT);

				if (w > 0)
					off += (size_t)w;
				/* EPIPE: it stopped reading; its answer says why */
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == inlen)
					close_fd(&in[0]);
			} else if (pf[i].fd == out[0]) {
				if (drain(r, &out[0], 1) < 0) {
					rc = too_big(r);
					goto done;
				}
			} else {
				drain(r, &err[0], 0);
			}
		}
	}
	r->out[r->outlen < BP_CREDHELPER_OUTPUT_MAX ? r->outlen : BP_CREDHELPER_OUTPUT_MAX] = '\0';
done:
	if (spawned && !reaped)
		kill_and_reap(pid, &r->status);
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	if (have_attr)
		posix_spawnattr_destroy(&attr);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	free(prog);
	return rc;
}

static void run_release(struct run *r)
{
	if (r->out) {
		explicit_bzero(r->out, BP_CREDHELPER_OUTPUT_MAX + 1);
		free(r->out);
		r->out = NULL;
	}
}

/* s without surrounding white space, as a (ptr, len) pair. */
static void trim(const char *s, size_t len, const char **p, size_t *n)
{
	while (len && strchr(" \t\r\n", *s)) {
		s++;
		len--;
	}
	while (len && strchr(" \t\r\n", s[len - 1]))
		len--;
	*p = s;
	*n = len;
}

/*
 * The helper's exit: 0 when it succeeded, BP_ENOTFOUND for docker's
 * not-found answer, else BP_ERROR quoting its message (on stdout, by the
 * protocol, or else on stderr), at most one line of it.
 */
int bp_credhelper__exit_error(const char *name, const char *action, int status, const char *out,
			      size_t outlen, const char *errline, size_t errlen)
{
	const char *msg;
	char line[ERRLINE_MAX + 1];
	size_t n, i;

	if (WIFSIGNALED(status))
		return bp_error_set(BP_ERROR, PREFIX "%s %s: killed by signal %d (%s)%s%s", name,
				    action, WTERMSIG(status), strsignal(WTERMSIG(status)),
				    errlen ? ": " : "", errline);
	if (!WIFEXITED(status))
		return bp_error_set(BP_ERROR, PREFIX "%s %s: did not exit", name, action);
	if (WEXITSTATUS(status) == 0)
		return 0;
	trim(out, outlen, &msg, &n);
	if (n == strlen(NOT_FOUND_TEXT) && memcmp(msg, NOT_FOUND_TEXT, n) == 0)
		return bp_error_set(BP_ENOTFOUND, PREFIX "%s: %s", name, NOT_FOUND_TEXT);
	n = strcspn(msg, "\n");
	if (n > ERRLINE_MAX)
		n = ERRLINE_MAX;
	for (i = 0; i < n; i++)
		line[i] = (unsigned char)msg[i] < 0x20 ? '?' : msg[i];
	line[n] = '\0';
	while (n && line[n - 1] == '?')
		line[--n] = '\0';
	if (!n)
		bp_strlcpy(line, errline, sizeof(line));
	return bp_error_set(BP_ERROR, PREFIX "%s %s failed (exit status %d)%s%s", name, action,
			    WEXITSTATUS(status), line[0] ? ": " : "", line);
}

static int check_exit(const struct run *r)
{
	return bp_credhelper__exit_error(r->name, r->action, r->status, r->out, r->outlen,
					 r->errline, r->errlen);
}

/* The helper's answer held secrets: wipe every string before freeing. */
static void wipe_json(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->valuestring)
			explicit_bzero(item->valuestring, strlen(item->valuestring));
		wipe_json(item->child);
	}
}

static int start(struct run *r, const char *name, const char *action)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->action = action;
	if (!bp_credhelper__valid_name(name))
		return bp_error_set(BP_EINVAL,
				    "\"%s\" is not a credential helper name (letters, digits, "
				    "'.', '_' and '-')",
				    name ? name : "");
	return 0;
}

/* The JSON answer of a "get" that succeeded: username and secret. */
int bp_credhelper__parse_get(const char *name, const char *server, const char *out,
			     size_t outlen, char **username, char **secret)
{
	cJSON *json;
	const cJSON *u, *s;
	int rc = 0;

	*username = *secret = NULL;
	json = cJSON_ParseWithLength(out, outlen);
	if (!cJSON_IsObject(json)) {
		rc = bp_error_set(BP_EPROTO, PREFIX "%s get: the answer is not a JSON object",
				  name);
		goto done;
	}
	u = cJSON_GetObjectItemCaseSensitive(json, "Username");
	s = cJSON_GetObjectItemCaseSensitive(json, "Secret");
	if (!cJSON_IsString(u) || !cJSON_IsString(s)) {
		rc = bp_error_set(BP_EPROTO,
				  PREFIX "%s get: the answer has no Username or no Secret string",
				  name);
		goto done;
	}
	/* docker reads an empty answer as no credentials */
	if (!*u->valuestring && !*s->valuestring) {
		rc = bp_error_set(BP_ENOTFOUND, PREFIX "%s: no credentials for %s", name, server);
		goto done;
	}
	if (!*u->valuestring || !*s->valuestring) {
		rc = bp_error_set(BP_EPROTO, PREFIX "%s get: the answer has an empty %s", name,
				  *u->valuestring ? "Secret" : "Username");
		goto done;
	}
	*username = bp_strdup(u->valuestring);
	*secret = bp_strdup(s->valuestring);
	if (!*username || !*secret) {
		free(*username);
		free(*secret);
		*username = *secret = NULL;
		rc = bp_error_set(BP_ENOMEM, "out of memory");
	}
done:
	wipe_json(json);
	cJSON_Delete(json);
	return rc;
}

/* "get" for server: username and secret from its JSON answer. */
int bp_credhelper__get(const char *name, const char *server, char **username, char **secret)
{
	struct run r;
	int rc;

	*username = *secret = NULL;
	rc = start(&r, name, "get");
	if (rc)
		return rc;
	rc = run_helper(&r, server, strlen(server));
	if (!rc)
		rc = check_exit(&r);
	if (!rc)
		rc = bp_credhelper__parse_get(name, server, r.out, r.outlen, username, secret);
	run_release(&r);
	return rc;
}

/* "store" {"ServerURL","Username","Secret"}. */
int bp_credhelper__store(const char *name, const char *server, const char *username,
			 const char *secret)
{
	struct run r;
	cJSON *req = NULL;
	char *body = NULL;
	int rc;

	rc = start(&r, name, "store");
	if (rc)
		return rc;
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "ServerURL", server) ||
	    !cJSON_AddStringToObject(req, "Username", username) ||
	    !cJSON_AddStringToObject(req, "Secret", secret) ||
	    !(body = cJSON_PrintUnformatted(req))) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	rc = run_helper(&r, body, strlen(body));
	if (rc)
		goto done;
	rc = check_exit(&r);
	/* "not found" from a store is a failure like any other */
	if (rc == BP_ENOTFOUND)
		rc = bp_error_set(BP_ERROR, PREFIX "%s store failed: %s", name, NOT_FOUND_TEXT);
done:
	if (body) {
		explicit_bzero(body, strlen(body));
		cJSON_free(body);
	}
	wipe_json(req);
	cJSON_Delete(req);
	run_release(&r);
	return rc;
}

/* "erase" server. */
int bp_credhelper__erase(const char *name, const char *server)
{
	struct run r;
	int rc;

	rc = start(&r, name, "erase");
	if (rc)
		return rc;
	rc = run_helper(&r, server, strlen(server));
	if (!rc)
		rc = check_exit(&r);
	run_release(&r);
	return rc;
}
