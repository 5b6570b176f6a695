/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Upload sessions. The bytes live in ROOT/uploads/<uuid>; this table keeps
 * what is not on disk: the repository the session belongs to, its newest
 * _state token (the only one accepted, as distribution's HMAC'd state
 * catches clients that rebuild the URL), and whether a request is using
 * it right now. Sessions live as long as the process.
 */
#include "mock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

struct mock_upload {
	char uuid[MOCK_UUID_LEN + 1];
	char state[MOCK_TOKEN_LEN + 1];
	char *repo;
	int busy;
	struct mock_upload *next;
};

struct mock_uploads {
	pthread_mutex_t lock;
	struct mock_upload *head;
};

/* An empty table; NULL when out of memory. */
struct mock_uploads *mock_uploads_new(void)
{
	struct mock_uploads *u = calloc(1, sizeof(*u));

	if (u)
		pthread_mutex_init(&u->lock, NULL);
	return u;
}

static void upload_free(struct mock_upload *up)
{
	free(up->repo);
	free(up);
}

/* Frees the table and every session; NULL-safe. */
void mock_uploads_free(struct mock_uploads *u)
{
	struct mock_upload *up, *next;

	if (!u)
		return;
	for (up = u->head; up; up = next) {
		next = up->next;
		upload_free(up);
	}
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* A random version-4 uuid. */
static int make_uuid(char out[MOCK_UUID_LEN + 1])
{
	char hex[33];

	if (mock_random_hex(hex, 16) < 0)
		return -1;
	hex[12] = '4'; /* version 4, RFC 4122 variant */
	hex[16] = "89ab"[hex[16] & 3];
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
	return 0;
}

/* Registers a session for repo with a fresh uuid and _state. */
int mock_uploads_create(struct mock_uploads *u, const char *repo, char uuid[MOCK_UUID_LEN + 1],
			char state[MOCK_TOKEN_LEN + 1])
{
	struct mock_upload *up = calloc(1, sizeof(*up));

	if (!up || make_uuid(up->uuid) < 0 || mock_random_hex(up->state, MOCK_TOKEN_LEN / 2) < 0 ||
	    !(up->repo = bp_strdup(repo))) {
		if (up)
			upload_free(up);
		return -1;
	}
	memcpy(uuid, up->uuid, sizeof(up->uuid));
	memcpy(state, up->state, sizeof(up->state));
	pthread_mutex_lock(&u->lock);
	up->next = u->head;
	u->head = up;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static struct mock_upload *find(struct mock_uploads *u, const char *uuid)
{
	struct mock_upload *up;

	for (up = u->head; up; up = up->next)
		if (strcmp(up->uuid, uuid) == 0)
			return up;
	return NULL;
}

/* Claims the session for one request when uuid, repo and _state match. */
enum mock_claim mock_uploads_claim(struct mock_uploads *u, const char *repo, const char *uuid,
				   const char *state, struct mock_upload **out)
{
	struct mock_upload *up;
	enum mock_claim rc;

	pthread_mutex_lock(&u->lock);
	up = find(u, uuid);
	if (!up || strcmp(up->repo, repo) != 0)
		rc = MOCK_CLAIM_UNKNOWN;
	else if (!state || strcmp(up->state, state) != 0)
		rc = MOCK_CLAIM_STATE;
	else if (up->busy)
		rc = MOCK_CLAIM_BUSY;
	else
		rc = MOCK_CLAIM_OK;
	if (rc == MOCK_CLAIM_OK) {
		up->busy = 1;
		*out = up;
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

/* New _state for a claimed session; the old one stops working. */
int mock_uploads_rotate(struct mock_uploads *u, struct mock_upload *up,
			char state[MOCK_TOKEN_LEN + 1])
{
	char fresh[MOCK_TOKEN_LEN + 1];

	if (mock_random_hex(fresh, MOCK_TOKEN_LEN / 2) < 0)
		return -1;
	pthread_mutex_lock(&u->lock);
	memcpy(up->state, fresh, sizeof(fresh));
	pthread_mutex_unlock(&u->lock);
	memcpy(state, fresh, sizeof(fresh));
	return 0;
}

/* The current _state of a claimed session. */
void mock_uploads_state(struct mock_uploads *u, struct mock_upload *up,
			char state[MOCK_TOKEN_LEN + 1])
{
	pthread_mutex_lock(&u->lock);
	memcpy(state, up->state, sizeof(up->state));
	pthread_mutex_unlock(&u->lock);
}

static void unlink_entry(struct mock_uploads *u, struct mock_upload *up)
{
	struct mock_upload **pp;

	for (pp = &u->head; *pp; pp = &(*pp)->next) {
		if (*pp == up) {
			*pp = up->next;
			upload_free(up);
			return;
		}
	}
}

/* Ends a claim; with remove, the session is gone for good. */
void mock_uploads_release(struct mock_uploads *u, struct mock_upload *up, int remove)
{
	if (!up)
		return;
	pthread_mutex_lock(&u->lock);
	up->busy = 0;
	if (remove)
		unlink_entry(u, up);
	pthread_mutex_unlock(&u->lock);
}

/* The uuid of a session (borrowed from it). */
const char *mock_upload_uuid(const struct mock_upload *up)
{
	return up->uuid;
}
