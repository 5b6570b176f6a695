/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_KEYRING_H
#define BP_LIB_KEYRING_H

/*
 * The login keyring: the Secret Service (gnome-keyring, KWallet, KeePassXC)
 * through libsecret, with the item schema of docker-credential-secretservice
 * (schema io.docker.Credentials; attributes label "Docker Credentials",
 * server, username, docker_cli "1"), so that docker and beampush share one
 * login. keyring.c is the only file that includes libsecret or glib.
 *
 * server is docker's key: "https://index.docker.io/v1/" for Docker Hub,
 * else host[:port]. Every call is bounded by bp_keyring__timeout_ms.
 * BP_EUNSUPPORTED means no usable Secret Service; its message then is only
 * the reason ("no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set", "the
 * keyring's default collection is locked"), for the caller to put in a
 * sentence. get and erase tell apart a keyring that is not there at all (no
 * session bus, no Secret Service on it: BP_ENOTFOUND, as it holds nothing)
 * from one that is there but cannot be used (locked, not answering, failing:
 * BP_EUNSUPPORTED).
 */

/* What the keyring is called in messages and in bp_credentials.source. */
#define BP_KEYRING_NAME "the login keyring (Secret Service)"

/* The limit for one call, all D-Bus round trips included (5000). */
extern int bp_keyring__timeout_ms;

/*
 * The credentials stored for server: new strings in *username and *secret
 * (wipe the secret). The most recently modified item wins when there are
 * several. BP_ENOTFOUND when there is none or no keyring at all;
 * BP_EUNSUPPORTED when the keyring fails or every matching item is locked.
 */
int bp_keyring__get(const char *server, char **username, char **secret);

/*
 * Store username/secret for server in the default collection, replacing
 * what was there for server (under any username). BP_EUNSUPPORTED when the
 * keyring is unavailable, has no default collection or it is locked (no
 * unlock prompt is ever shown); BP_EIO when the service refuses the item.
 */
int bp_keyring__store(const char *server, const char *username, const char *secret);

/*
 * Delete every item for server. 0 when something was deleted, BP_ENOTFOUND
 * when nothing was there (or no keyring at all), BP_EUNSUPPORTED when the
 * keyring fails or an item is locked.
 */
int bp_keyring__erase(const char *server);

/* "0.20.5": the libsecret beampush was built with (it has no runtime version). Static. */
const char *bp_keyring__version(void);

#endif
