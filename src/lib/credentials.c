/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/credentials.h>

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#define HUB_KEY "https://index.docker.io/v1/"
#define TOKEN_USERNAME "<token>"
/* docker's config.json is small; anything bigger is not one */
#define CONFIG_MAX (4 * 1024 * 1024)

/*
 * One lookup: the host asked for, its key, and docker's config.json,
 * loaded once on first use and shared by every source that reads it
 * (auths today; credHelpers and credsStore later).
 */
struct lookup {
	const char *host;
	char *key;
	char *config_path;
	cJSON *config;
	int config_rc; /* 1: not tried yet; else what loading returned */
};

/*
 * A source fills out and returns 0, returns BP_ENOTFOUND to let the next
 * source try, or another error that ends the lookup.
 */
typedef int (*source_fn)(struct lookup *l, bp_credentials *out);

static int from_config_auths(struct lookup *l, bp_credentials *out);

/*
 * Tried in order. DESIGN.md's full order is: credHelpers for the host,
 * the login keyring, credsStore, config.json auths, containers auth.json.
 */
static const struct {
	const char *name;
	source_fn fn;
} sources[] = {
	{ "config.json auths", from_config_auths },
};

static const char *const hub_hosts[] = {
	"docker.io",
	"index.docker.io",
	"registry-1.docker.io",
};

static int is_hub(const char *host, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(hub_hosts) / sizeof(hub_hosts[0]); i++) {
		if (strlen(hub_hosts[i]) == len && strncasecmp(hub_hosts[i], host, len) == 0)
			return 1;
	}
	return 0;
}

/* Wipe the string, then free it. */
static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Wipe and free credentials; NULL-safe, leaves c empty. */
void bp_credentials_release(bp_credentials *c)
{
	if (!c)
		return;
	free_secret(c->secret);
	free(c->username);
	free(c->source);
	c->username = c->secret = c->source = NULL;
}

/* 1 when username is docker's identity-token marker. */
int bp_credentials_is_token(const bp_credentials *c)
{
	return c && c->username && strcmp(c->username, TOKEN_USERNAME) == 0;
}

/* docker's config.json key for host; new string, NULL on no memory. */
char *bp_credentials_server_key(const char *host)
{
	if (!host)
		return NULL;
	return bp_strdup(is_hub(host, strlen(host)) ? HUB_KEY : host);
}

/* A parsed config.json holds secrets: wipe every string before freeing. */
static void wipe_json(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->valuestring)
			explicit_bzero(item->valuestring, strlen(item->valuestring));
		wipe_json(item->child);
	}
}

static void free_json(cJSON *root)
{
	wipe_json(root);
	cJSON_Delete(root);
}

static int config_path(char **out)
{
	const char *dir = secure_getenv("DOCKER_CONFIG");
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (dir && *dir) {
		*out = bp_aprintf("%s/config.json", dir);
	} else {
		dir = secure_getenv("HOME");
		if (!dir || !*dir) {
			if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) || !res ||
			    !res->pw_dir || !*res->pw_dir)
				return bp_error_set(BP_ENOTFOUND, "no docker config.json: neither "
								  "DOCKER_CONFIG nor HOME is set");
			dir = res->pw_dir;
		}
		*out = bp_aprintf("%s/.docker/config.json", dir);
	}
	return *out ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
}

static int read_config(const char *path, bp_dynbuf *b)
{
	char chunk[8192];
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return bp_error_set(BP_ENOTFOUND, "%s does not exist", path);
		return bp_error_set(BP_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = bp_error_set(BP_EIO, "cannot read %s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (bp_dynbuf_add(b, chunk, (size_t)n) < 0) {
			rc = bp_dynbuf_full(b, (size_t)n)
				     ? bp_error_set(BP_EINVAL, "%s is larger than %d MiB", path,
						    CONFIG_MAX / (1024 * 1024))
				     : bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
	}
done:
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	return rc;
}

/* Load config.json into l once; BP_ENOTFOUND when there is none. */
static int load_config(struct lookup *l)
{
	bp_dynbuf b = BP_DYNBUF_INIT(CONFIG_MAX);
	int rc;

	if (l->config_rc != 1)
		return l->config_rc;
	rc = config_path(&l->config_path);
	if (rc)
		goto done;
	rc = read_config(l->config_path, &b);
	if (rc)
		goto done;
	/* docker reads an empty file as an empty config (it ignores io.EOF) */
	if (!b.ptr || strspn(b.ptr, " \t\r\n") == b.len) {
		rc = BP_ENOTFOUND;
		goto done;
	}
	l->config = cJSON_ParseWithLength(b.ptr, b.len);
	if (!l->config) {
		rc = bp_error_set(BP_EINVAL, "%s is not valid JSON", l->config_path);
		goto done;
	}
	if (!cJSON_IsObject(l->config)) {
		rc = bp_error_set(BP_EINVAL, "%s is not a JSON object", l->config_path);
		goto done;
	}
done:
	if (b.ptr)
		explicit_bzero(b.ptr, b.len);
	bp_dynbuf_release(&b);
	l->config_rc = rc;
	return rc;
}

/* docker's ConvertToHostname: drop http(s):// and any path. */
static void key_hostname(const char *key, const char **host, size_t *len)
{
	const char *p = bp_strcaseprefix(key, "https://");

	if (!p)
		p = bp_strcaseprefix(key, "http://");
	if (!p)
		p = key;
	*host = p;
	*len = strcspn(p, "/");
}

/* The auths entry for l: the exact key, else a legacy key for the host. */
static const cJSON *find_entry(const cJSON *auths, const struct lookup *l)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(auths, l->key);
	size_t hlen = strlen(l->host);

	if (e)
		return e;
	cJSON_ArrayForEach (e, auths) {
		const char *h;
		size_t len;

		if (!e->string)
			continue;
		key_hostname(e->string, &h, &len);
		if (is_hub(l->host, hlen) ? is_hub(h, len)
					  : len == hlen && strncasecmp(h, l->host, len) == 0)
			return e;
	}
	return NULL;
}

static const char *nonempty_string(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) && it->valuestring[0] ? it->valuestring : NULL;
}

/* Split base64(user:password) as docker's decodeAuth does. */
static int decode_auth(const struct lookup *l, const char *key, const char *auth, char **user,
		       char **secret)
{
	unsigned char *raw;
	const char *colon, *pw;
	size_t len = 0, pwlen;
	int rc = 0;

	raw = bp_base64_decode(auth, &len);
	if (!raw)
		return bp_error_set(BP_EINVAL, "%s: auths entry \"%s\": auth is not valid base64",
				    l->config_path, key);
	colon = memchr(raw, ':', len);
	if (!colon) {
		rc = bp_error_set(BP_EINVAL,
				  "%s: auths entry \"%s\": auth is not base64 of user:password",
				  l->config_path, key);
		goto done;
	}
	if (colon == (const char *)raw) {
		rc = bp_error_set(
			BP_EINVAL,
			"%s: auths entry \"%s\": auth has an empty user name; log in again",
			l->config_path, key);
		goto done;
	}
	/* docker trims NULs around the password */
	pw = colon + 1;
	pwlen = len - (size_t)(pw - (const char *)raw);
	while (pwlen && *pw == '\0') {
		pw++;
		pwlen--;
	}
	while (pwlen && pw[pwlen - 1] == '\0')
		pwlen--;
	*user = bp_strndup((const char *)raw, (size_t)(colon - (const char *)raw));
	*secret = bp_strndup(pw, pwlen);
	if (!*user || !*secret) {
		free(*user);
		free_secret(*secret);
		*user = *secret = NULL;
		rc = bp_error_set(BP_ENOMEM, "out of memory");
	}
done:
	explicit_bzero(raw, len);
	free(raw);
	return rc;
}

/* config.json "auths": identitytoken, else auth, else username/password. */
static int from_config_auths(struct lookup *l, bp_credentials *out)
{
	const cJSON *auths, *entry;
	const char *tok, *auth, *user, *pass;
	char *u = NULL, *s = NULL;
	int rc;

	rc = load_config(l);
	if (rc)
		return rc;
	auths = cJSON_GetObjectItemCaseSensitive(l->config, "auths");
	if (!auths || cJSON_IsNull(auths))
		return BP_ENOTFOUND;
	if (!cJSON_IsObject(auths))
		return bp_error_set(BP_EINVAL, "%s: auths is not a JSON object", l->config_path);
	entry = find_entry(auths, l);
	if (!entry)
		return BP_ENOTFOUND;
	if (!cJSON_IsObject(entry))
		return bp_error_set(BP_EINVAL, "%s: auths entry \"%s\" is not a JSON object",
				    l->config_path, entry->string);

	tok = nonempty_string(entry, "identitytoken");
	auth = nonempty_string(entry, "auth");
	user = nonempty_string(entry, "username");
	pass = nonempty_string(entry, "password");
	if (tok) {
		u = bp_strdup(TOKEN_USERNAME);
		s = bp_strdup(tok);
	} else if (auth) {
		rc = decode_auth(l, entry->string, auth, &u, &s);
		if (rc)
			goto done;
	} else if (user && pass) {
		u = bp_strdup(user);
		s = bp_strdup(pass);
	} else {
		/* "{}": a placeholder left by docker for a credential store */
		rc = BP_ENOTFOUND;
		goto done;
	}
	out->source = bp_aprintf("config.json auths (%s)", l->config_path);
	if (!u || !s || !out->source) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	out->username = u;
	out->secret = s;
	u = s = NULL;
done:
	free(u);
	free_secret(s);
	return rc;
}

/* Try each source in order for host; 0, BP_ENOTFOUND, or the first error. */
int bp_credentials_lookup(bp_credentials *out, const char *host)
{
	struct lookup l = { host, NULL, NULL, NULL, 1 };
	bp_credentials got = BP_CREDENTIALS_INIT;
	size_t i;
	int rc = BP_ENOTFOUND;

	if (!out || !host || !*host)
		return bp_error_set(BP_EINVAL, "no registry host to look up credentials for");
	l.key = bp_credentials_server_key(host);
	if (!l.key) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		rc = sources[i].fn(&l, &got);
		if (rc != BP_ENOTFOUND)
			break;
	}
	if (rc == BP_ENOTFOUND) {
		bp_error_set(BP_ENOTFOUND, "no credentials for %s", host);
		goto done;
	}
	if (rc)
		goto done;
	*out = got;
	got = (bp_credentials)BP_CREDENTIALS_INIT;
done:
	bp_credentials_release(&got);
	free_json(l.config);
	free(l.config_path);
	free(l.key);
	return rc;
}
