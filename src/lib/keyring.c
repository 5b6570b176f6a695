/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The login keyring through libsecret, item for item as
 * docker-credential-secretservice (docker/docker-credential-helpers,
 * secretservice/secretservice.c) writes and reads it. The only file that
 * includes libsecret and glib: nothing of theirs leaves it.
 *
 * libsecret has no time limit of its own: a Secret Service that hangs (a
 * stopped daemon, an unlock prompt nobody answers) blocks for the D-Bus
 * timeout or forever. So every call runs with a GCancellable that a
 * watchdog thread cancels at the deadline, and nothing here ever asks to
 * unlock, which could show a prompt.
 */
#include "keyring.h"

#include <beampush/common.h>

#include "userdirs.h"
#include "util/strutil.h"

#include <libsecret/secret.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SCHEMA_NAME "io.docker.Credentials"
#define ITEM_ATTR_LABEL "Docker Credentials"
#define ITEM_LABEL_PREFIX "Registry credentials for "

int bp_keyring__timeout_ms = 5000;

/* docker-credential-secretservice's schema, attribute for attribute. */
static const SecretSchema docker_schema = {
	.name = SCHEMA_NAME,
	.flags = SECRET_SCHEMA_NONE,
	.attributes = {
		{ "label", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "docker_cli", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
};

/* Cancels its GCancellable when the deadline passes before stop. */
struct watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	GCancellable *cancel;
	struct timespec deadline;
	int stop;
	int fired;
};

/* One keyring call: the bus, the service and the watchdog bounding both. */
struct call {
	struct watchdog wd;
	int wd_running;
	GDBusConnection *bus;
	SecretService *service;
	int absent; /* no bus, or no Secret Service on it: nothing stored there */
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	int fire = 0;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		if (pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline) == ETIMEDOUT) {
			fire = !w->stop;
			w->fired = fire;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	/* outside the lock: cancelling runs handlers that may take glib's locks */
	if (fire)
		g_cancellable_cancel(w->cancel);
	return NULL;
}

static int watchdog_start(struct watchdog *w, int ms)
{
	pthread_condattr_t ca;
	int rc;

	memset(w, 0, sizeof(*w));
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->deadline.tv_sec += ms / 1000;
	w->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (w->deadline.tv_nsec >= 1000000000L) {
		w->deadline.tv_sec++;
		w->deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->cancel = g_cancellable_new();
	rc = pthread_create(&w->thread, NULL, watchdog_main, w);
	if (rc) {
		g_object_unref(w->cancel);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return bp_error_set(BP_EUNSUPPORTED, "cannot start a thread: %s", strerror(rc));
	}
	return 0;
}

static void watchdog_stop(struct watchdog *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	g_object_unref(w->cancel);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

/*
 * Is there a session bus to talk to? Without DBUS_SESSION_BUS_ADDRESS and
 * without $XDG_RUNTIME_DIR/bus, GDBus would try to autolaunch a bus
 * through X11 (dbus-launch): never let it.
 */
static int have_session_bus(void)
{
	const char *addr = secure_getenv("DBUS_SESSION_BUS_ADDRESS");
	struct stat st;
	char *path;
	int ok;

	if (addr && *addr)
		return 0;
	path = bp_userdirs__xdg(BP_XDG_RUNTIME, "bus");
	ok = path && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
	free(path);
	return ok ? 0
		  : bp_error_set(BP_EUNSUPPORTED,
				 "no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set");
}

/* Turn a GError from the bus or the service into BP_EUNSUPPORTED + why. */
static int unavailable(struct call *c, const char *what, GError *err)
{
	gchar *remote = NULL;
	int rc;

	if (c->wd.fired || g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		rc = bp_error_set(BP_EUNSUPPORTED, "%s did not answer within %d s",
				  c->bus ? "the Secret Service" : "the D-Bus session bus",
				  (bp_keyring__timeout_ms + 999) / 1000);
		goto done;
	}
	if (!err)
		return bp_error_set(BP_EUNSUPPORTED, "%s", what);
	remote = g_dbus_error_get_remote_error(err);
	if (remote && (strcmp(remote, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
		       strcmp(remote, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)) {
		c->absent = 1;
		rc = bp_error_set(BP_EUNSUPPORTED,
				  "no Secret Service is running on the D-Bus session bus");
		goto done;
	}
	/* a stale address (a closed ssh session's bus) is no bus at all */
	c->absent = !c->bus;
	g_dbus_error_strip_remote_error(err);
	rc = bp_error_set(BP_EUNSUPPORTED, "%s: %s", what, err->message);
done:
	g_free(remote);
	return rc;
}

static void call_end(struct call *c)
{
	if (c->service)
		g_object_unref(c->service);
	if (c->bus)
		g_object_unref(c->bus);
	if (c->wd_running)
		watchdog_stop(&c->wd);
	c->service = NULL;
	c->bus = NULL;
	c->wd_running = 0;
}

/*
 * For get and erase, a keyring that is not there at all holds nothing:
 * BP_EUNSUPPORTED becomes BP_ENOTFOUND, the message kept.
 */
static int absent_is_empty(const struct call *c, int rc)
{
	char msg[512];

	if (rc != BP_EUNSUPPORTED || !c->absent)
		return rc;
	bp_strlcpy(msg, bp_error_last(), sizeof(msg));
	return bp_error_set(BP_ENOTFOUND, "%s", msg);
}

/* Connect to the session bus and the Secret Service, within the time limit. */
static int call_begin(struct call *c, SecretServiceFlags flags)
{
	GError *err = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = have_session_bus();
	if (rc) {
		c->absent = 1;
		return rc;
	}
	rc = watchdog_start(&c->wd, bp_keyring__timeout_ms);
	if (rc)
		return rc;
	c->wd_running = 1;
	/* first on its own, to tell "no bus" from "no keyring on the bus" */
	c->bus = g_bus_get_sync(G_BUS_TYPE_SESSION, c->wd.cancel, &err);
	if (!c->bus) {
		rc = unavailable(c, "cannot connect to the D-Bus session bus", err);
		goto done;
	}
	/* glib's shared connection would end the process when the bus goes away */
	g_dbus_connection_set_exit_on_close(c->bus, FALSE);
	/* a private instance, not libsecret's shared one: nothing outlives the call */
	c->service = secret_service_open_sync(SECRET_TYPE_SERVICE, NULL, flags, c->wd.cancel, &err);
	if (!c->service)
		rc = unavailable(c, "the Secret Service failed", err);
done:
	if (err)
		g_error_free(err);
	if (rc)
		call_end(c);
	return rc;
}

/* The items of our schema for server, in every collection. */
static GList *search(struct call *c, const char *server, SecretSearchFlags flags, int *rc)
{
	GHashTable *attrs = g_hash_table_new(g_str_hash, g_str_equal);
	GError *err = NULL;
	GList *items;

	g_hash_table_insert(attrs, (gpointer) "server", (gpointer)server);
	g_hash_table_insert(attrs, (gpointer) "docker_cli", (gpointer) "1");
	items = secret_service_search_sync(c->service, &docker_schema, attrs,
					   SECRET_SEARCH_ALL | flags, c->wd.cancel, &err);
	g_hash_table_unref(attrs);
	*rc = 0;
	if (err) {
		*rc = unavailable(c, "the Secret Service failed to search", err);
		g_error_free(err);
	}
	return items;
}

/* The item's username attribute; new string or NULL. */
static char *item_username(SecretItem *item)
{
	GHashTable *attrs = secret_item_get_attributes(item);
	char *u = attrs ? bp_strdup(g_hash_table_lookup(attrs, "username")) : NULL;

	if (attrs)
		g_hash_table_unref(attrs);
	return u;
}

/* docker-credential-secretservice also checks the item's schema name. */
static int is_docker_item(SecretItem *item)
{
	gchar *name = secret_item_get_schema_name(item);
	int ok = name && strcmp(name, SCHEMA_NAME) == 0;

	g_free(name);
	return ok;
}

/* Copy the secret of item; 0, or -1 when it has none loaded (locked). */
static int item_secret(SecretItem *item, char **out)
{
	SecretValue *v = secret_item_get_secret(item);
	const gchar *data;
	gsize len = 0;

	*out = NULL;
	if (!v)
		return -1;
	data = secret_value_get(v, &len);
	*out = data ? bp_strndup(data, strnlen(data, len)) : NULL;
	/* libsecret keeps the value in non-pageable memory and wipes it on free */
	secret_value_unref(v);
	return *out ? 0 : -1;
}

/* The newest unlocked item for server: new username and secret. */
int bp_keyring__get(const char *server, char **username, char **secret)
{
	struct call c;
	GList *items = NULL, *l;
	SecretItem *best = NULL;
	guint64 best_time = 0;
	int rc, locked = 0;

	*username = *secret = NULL;
	rc = call_begin(&c, SECRET_SERVICE_OPEN_SESSION);
	if (rc)
		return absent_is_empty(&c, rc);
	items = search(&c, server, SECRET_SEARCH_LOAD_SECRETS, &rc);
	if (rc) {
		rc = absent_is_empty(&c, rc);
		goto done;
	}
	for (l = items; l; l = l->next) {
		SecretItem *it = l->data;

		if (!is_docker_item(it))
			continue;
		if (secret_item_get_locked(it)) {
			locked++;
			continue;
		}
		/* on a tie the last one, as docker-credential-secretservice picks */
		if (!best || secret_item_get_modified(it) >= best_time) {
			best = it;
			best_time = secret_item_get_modified(it);
		}
	}
	if (!best) {
		rc = locked ? bp_error_set(BP_EUNSUPPORTED, "the keyring is locked")
			    : bp_error_set(BP_ENOTFOUND,
					   "no credentials for %s in " BP_KEYRING_NAME, server);
		goto done;
	}
	*username = item_username(best);
	if (!*username || !**username || item_secret(best, secret) < 0) {
		rc = bp_error_set(BP_EUNSUPPORTED, "the keyring item for %s has no %s", server,
				  *username && **username ? "secret (locked?)" : "username");
		goto done;
	}
done:
	if (rc) {
		free(*username);
		*username = NULL;
	}
	g_list_free_full(items, g_object_unref);
	call_end(&c);
	return rc;
}

/* Delete the items for server under another username than keep (NULL: all). */
static int delete_items(struct call *c, const char *server, const char *keep, int *deleted,
			int *locked)
{
	GList *items, *l;
	GError *err = NULL;
	int rc;

	items = search(c, server, SECRET_SEARCH_NONE, &rc);
	if (rc)
		return rc;
	for (l = items; l; l = l->next) {
		SecretItem *it = l->data;
		char *u;

		if (!is_docker_item(it))
			continue;
		if (keep) {
			u = item_username(it);
			if (u && strcmp(u, keep) == 0) {
				free(u);
				continue;
			}
			free(u);
		}
		if (secret_item_get_locked(it)) {
			(*locked)++;
			continue;
		}
		if (!secret_item_delete_sync(it, c->wd.cancel, &err)) {
			rc = c->wd.fired ? unavailable(c, "the Secret Service failed", err)
					 : bp_error_set(BP_EIO,
							"the Secret Service failed to delete "
							"the item for %s: %s",
							server, err->message);
			g_error_free(err);
			break;
		}
		(*deleted)++;
	}
	g_list_free_full(items, g_object_unref);
	return rc;
}

/* Store in the default collection, replacing what server had. */
int bp_keyring__store(const char *server, const char *username, const char *secret)
{
	struct call c;
	SecretCollection *coll = NULL;
	SecretItem *item = NULL;
	SecretValue *value = NULL;
	GHashTable *attrs = NULL;
	GError *err = NULL;
	char *label = NULL;
	int rc, deleted = 0, locked = 0;

	rc = call_begin(&c, SECRET_SERVICE_OPEN_SESSION);
	if (rc)
		return rc;
	coll = secret_collection_for_alias_sync(c.service, SECRET_COLLECTION_DEFAULT,
						SECRET_COLLECTION_NONE, c.wd.cancel, &err);
	if (err) {
		rc = unavailable(&c, "the Secret Service failed", err);
		goto done;
	}
	/* creating or unlocking one would show a prompt: say so instead */
	if (!coll) {
		rc = bp_error_set(BP_EUNSUPPORTED, "the keyring has no default collection");
		goto done;
	}
	if (secret_collection_get_locked(coll)) {
		rc = bp_error_set(BP_EUNSUPPORTED, "the keyring's default collection is locked");
		goto done;
	}
	label = bp_aprintf(ITEM_LABEL_PREFIX "%s", server);
	if (!label) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(attrs, (gpointer) "label", (gpointer)ITEM_ATTR_LABEL);
	g_hash_table_insert(attrs, (gpointer) "server", (gpointer)server);
	g_hash_table_insert(attrs, (gpointer) "username", (gpointer)username);
	g_hash_table_insert(attrs, (gpointer) "docker_cli", (gpointer) "1");
	value = secret_value_new(secret, -1, "text/plain");
	item = secret_item_create_sync(coll, &docker_schema, attrs, label, value,
				       SECRET_ITEM_CREATE_REPLACE, c.wd.cancel, &err);
	if (!item) {
		rc = c.wd.fired ? unavailable(&c, "the Secret Service failed", err)
				: bp_error_set(BP_EIO,
					       "the Secret Service refused to store the "
					       "credentials for %s: %s",
					       server, err ? err->message : "unknown error");
		goto done;
	}
	/* one login per server, as a lookup expects: drop other usernames' items, if we can */
	delete_items(&c, server, username, &deleted, &locked);
	rc = 0;
done:
	if (err)
		g_error_free(err);
	if (item)
		g_object_unref(item);
	if (value)
		secret_value_unref(value);
	if (attrs)
		g_hash_table_unref(attrs);
	if (coll)
		g_object_unref(coll);
	free(label);
	call_end(&c);
	return rc;
}

/* Delete every item for server. */
int bp_keyring__erase(const char *server)
{
	struct call c;
	int rc, deleted = 0, locked = 0;

	rc = call_begin(&c, SECRET_SERVICE_NONE);
	if (rc)
		return absent_is_empty(&c, rc);
	rc = delete_items(&c, server, NULL, &deleted, &locked);
	if (rc) {
		rc = absent_is_empty(&c, rc);
		goto done;
	}
	if (locked)
		rc = bp_error_set(BP_EUNSUPPORTED, "the keyring is locked");
	else if (!deleted)
		rc = bp_error_set(BP_ENOTFOUND, "no credentials for %s in " BP_KEYRING_NAME,
				  server);
done:
	call_end(&c);
	return rc;
}

/* See keyring.h. */
const char *bp_keyring__version(void)
{
	static char v[32];

	snprintf(v, sizeof(v), "%d.%d.%d", SECRET_MAJOR_VERSION, SECRET_MINOR_VERSION,
		 SECRET_MICRO_VERSION);
	return v;
}
