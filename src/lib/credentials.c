/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where credentials come from and go to: docker's config.json (credHelpers,
 * credsStore, auths), the login keyring (keyring.c), docker's credential
 * helpers (credhelper.c) and containers' auth.json. Each is read as the
 * tools that own it read it: config.json keys Docker Hub as
 * "https://index.docker.io/v1/" and any other registry as host[:port],
 * "auth" holds base64(user:password) and the username "<token>" marks an
 * identity token (the docker CLI's rules); auth.json is searched from its
 * most specific key (host/ns/repo) down to the host, as
 * containers-auth.json(5) describes.
 */
#include <beampush/credentials.h>

#include "credhelper.h"
#include "keyring.h"
#include "userdirs.h"
#include "util/fileutil.h"
#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define HUB_KEY "https://index.docker.io/v1/"
#define HUB_NAME "docker.io"
#define TOKEN_USERNAME "<token>"
/* docker's config.json is small; anything bigger is not one */
#define CONFIG_MAX (4 * 1024 * 1024)
#define NOTES_MAX 1024
#define NO_KEYRING_HELP                                                                      \
	"start gnome-keyring (or another Secret Service), configure a credential helper in " \
	"~/.docker/config.json, or use --store file"

/*
 * One lookup, store or erase: the host asked for, its key, and docker's
 * config.json, loaded once on first use and shared by every source that
 * reads it (credHelpers, credsStore, auths).
 */
struct lookup {
	char *host;	  /* registry host[:port] */
	const char *path; /* host[/repository] as asked, for auth.json */
	char *key;	  /* docker's key for host */
	char *config_path;
	cJSON *config;
	int config_rc;	 /* 1: not tried yet; else what loading returned */
	bp_dynbuf notes; /* sources skipped, for --debug */
};

/* clang-format off */
#define LOOKUP_INIT { .config_rc = 1, .notes = BP_DYNBUF_INIT(NOTES_MAX) }
/* clang-format on */

/*
 * A source fills out and returns 0, returns BP_ENOTFOUND to let the next
 * source try, or another error that ends the lookup.
 */
typedef int (*source_fn)(struct lookup *l, bp_credentials *out);

static int from_cred_helpers(struct lookup *l, bp_credentials *out);
static int from_keyring(struct lookup *l, bp_credentials *out);
static int from_creds_store(struct lookup *l, bp_credentials *out);
static int from_config_auths(struct lookup *l, bp_credentials *out);
static int from_auth_json(struct lookup *l, bp_credentials *out);

/*
 * Tried in order, the first that knows the host answering (credentials.h
 * gives callers the same list): a host's own credHelpers entry wins, as in
 * docker; then the login keyring, where login stores by preference; then
 * docker's credsStore and plain auths; podman's and skopeo's auth.json last.
 */
static const struct {
	const char *name;
	source_fn fn;
} sources[] = {
	{ "config.json credHelpers", from_cred_helpers },
	{ "the login keyring", from_keyring },
	{ "config.json credsStore", from_creds_store },
	{ "config.json auths", from_config_auths },
	{ "containers auth.json", from_auth_json },
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

/* Two registry host names: equal ignoring case, every Docker Hub name one. */
static int same_registry(const char *a, size_t alen, const char *b, size_t blen)
{
	if (is_hub(a, alen))
		return is_hub(b, blen);
	return alen == blen && strncasecmp(a, b, alen) == 0;
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

/* NULL when h (lowercase) is host[:port] or [IPv6][:port]; else why not. */
static const char *check_hostport(const char *h)
{
	const char *port = NULL, *p, *label;

	if (*h == '[') {
		const char *end = strchr(h, ']');
		size_t n = strspn(h + 1, "0123456789abcdef:.");

		if (!end || h + 1 + n != end || n < 2 || !memchr(h + 1, ':', n))
			return "not an IPv6 address in brackets";
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return "unexpected text after the IPv6 address";
	} else {
		size_t hostlen = strcspn(h, ":");

		if (hostlen == 0)
			return "no host name";
		if (h[hostlen] == ':')
			port = h + hostlen + 1;
		/* labels of letters, digits and '-', not at either end */
		for (label = p = h;; p++) {
			if (p == h + hostlen || *p == '.') {
				if (p == label || *label == '-' || p[-1] == '-')
					return "not a valid host name";
				if (p == h + hostlen)
					break;
				label = p + 1;
			} else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
				     *p == '-')) {
				return "not a valid host name";
			}
		}
	}
	if (port) {
		int64_t v;

		if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
		    bp_parse_int64(port, 1, 65535, &v) < 0)
			return "the port must be a number from 1 to 65535";
	}
	return NULL;
}

/* What a user types as SERVER, as docker normalises it. */
int bp_credentials_normalize_server(const char *server, char **out)
{
	const char *p, *why;
	char *h;
	size_t len, i;

	if (!out)
		return bp_error_set(BP_EINVAL, "no place for the normalised server");
	*out = NULL;
	if (!server || !*server)
		return bp_error_set(BP_EINVAL, "no registry server given");
	/* never echo a URL with user:password@ in it */
	if (strchr(server, '@'))
		return bp_error_set(BP_EINVAL, "a registry server cannot hold a user name or "
					       "password: give them separately");
	p = bp_strcaseprefix(server, "https://");
	if (!p)
		p = bp_strcaseprefix(server, "http://");
	if (!p)
		p = server;
	len = strcspn(p, "/");
	h = bp_strndup(p, len);
	if (!h)
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (i = 0; i < len; i++)
		if (h[i] >= 'A' && h[i] <= 'Z')
			h[i] = (char)(h[i] - 'A' + 'a');
	why = len ? check_hostport(h) : "no host name";
	if (why) {
		free(h);
		return bp_error_set(BP_EINVAL, "invalid registry server \"%s\": %s", server, why);
	}
	if (is_hub(h, len)) {
		free(h);
		h = bp_strdup(HUB_NAME);
		if (!h)
			return bp_error_set(BP_ENOMEM, "out of memory");
	}
	*out = h;
	return 0;
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

	if (dir && *dir) {
		*out = bp_aprintf("%s/config.json", dir);
		return *out ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
	}
	if (!(*out = bp_userdirs__home(".docker/config.json")))
		return bp_error_set(BP_ENOTFOUND, "no docker config.json: neither "
						  "DOCKER_CONFIG nor HOME is set");
	return 0;
}

static int read_file(const char *path, bp_dynbuf *b)
{
	char chunk[8192];
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return bp_error_set(BP_ENOTFOUND, "%s does not exist", path);
		return bp_error_set(BP_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	/* one allocation of the right size: growing would leave copies of secrets behind */
	if (!b->ptr && fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= CONFIG_MAX) {
		b->ptr = malloc((size_t)st.st_size + 1);
		if (b->ptr) {
			b->alloc = (size_t)st.st_size + 1;
			b->ptr[0] = '\0';
		}
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

/*
 * Parse the JSON object in path into *out. BP_ENOTFOUND when there is no
 * file or it is empty (docker reads that as an empty config); BP_EINVAL,
 * naming the file, when it is not a JSON object.
 */
static int load_json_file(const char *path, cJSON **out)
{
	bp_dynbuf b = BP_DYNBUF_INIT(CONFIG_MAX);
	int rc;

	*out = NULL;
	rc = read_file(path, &b);
	if (rc)
		goto done;
	if (!b.ptr || strspn(b.ptr, " \t\r\n") == b.len) {
		rc = BP_ENOTFOUND;
		goto done;
	}
	*out = cJSON_ParseWithLength(b.ptr, b.len);
	if (!*out) {
		rc = bp_error_set(BP_EINVAL, "%s is not valid JSON", path);
		goto done;
	}
	if (!cJSON_IsObject(*out)) {
		free_json(*out);
		*out = NULL;
		rc = bp_error_set(BP_EINVAL, "%s is not a JSON object", path);
		goto done;
	}
done:
	if (b.ptr)
		explicit_bzero(b.ptr, b.alloc);
	bp_dynbuf_release(&b);
	return rc;
}

/* Load config.json into l once; BP_ENOTFOUND when there is none. */
static int load_config(struct lookup *l)
{
	int rc;

	if (l->config_rc != 1)
		return l->config_rc;
	rc = config_path(&l->config_path);
	if (!rc)
		rc = load_json_file(l->config_path, &l->config);
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

/* Is key (of auths or credHelpers) l's key, or a legacy key for its host? */
static int key_matches(const struct lookup *l, const char *key)
{
	const char *h;
	size_t len;

	if (strcmp(key, l->key) == 0)
		return 1;
	key_hostname(key, &h, &len);
	return same_registry(l->host, strlen(l->host), h, len);
}

/* The auths entry for l: the exact key, else a legacy key for the host. */
static const cJSON *find_entry(const cJSON *auths, const struct lookup *l)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(auths, l->key);

	if (e)
		return e;
	cJSON_ArrayForEach (e, auths) {
		if (e->string && key_matches(l, e->string))
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
static int decode_auth(const char *file, const char *key, const char *auth, char **user,
		       char **secret)
{
	unsigned char *raw;
	const char *colon, *pw;
	size_t len = 0, pwlen;
	int rc = 0;

	raw = bp_base64_decode(auth, &len);
	if (!raw)
		return bp_error_set(BP_EINVAL, "%s: auths entry \"%s\": auth is not valid base64",
				    file, key);
	colon = memchr(raw, ':', len);
	if (!colon) {
		rc = bp_error_set(BP_EINVAL,
				  "%s: auths entry \"%s\": auth is not base64 of user:password",
				  file, key);
		goto done;
	}
	if (colon == (const char *)raw) {
		rc = bp_error_set(
			BP_EINVAL,
			"%s: auths entry \"%s\": auth has an empty user name; log in again", file,
			key);
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

/*
 * The credentials of one auths entry (config.json or auth.json):
 * identitytoken, else auth, else username/password. BP_ENOTFOUND for an
 * empty entry ("{}": the placeholder docker leaves for a credential store).
 */
static int entry_credentials(const char *file, const cJSON *entry, char **u, char **s)
{
	const char *tok, *auth, *user, *pass;

	*u = *s = NULL;
	if (!cJSON_IsObject(entry))
		return bp_error_set(BP_EINVAL, "%s: auths entry \"%s\" is not a JSON object", file,
				    entry->string);
	tok = nonempty_string(entry, "identitytoken");
	auth = nonempty_string(entry, "auth");
	user = nonempty_string(entry, "username");
	pass = nonempty_string(entry, "password");
	if (tok) {
		*u = bp_strdup(TOKEN_USERNAME);
		*s = bp_strdup(tok);
	} else if (auth) {
		return decode_auth(file, entry->string, auth, u, s);
	} else if (user && pass) {
		*u = bp_strdup(user);
		*s = bp_strdup(pass);
	} else {
		return BP_ENOTFOUND;
	}
	if (!*u || !*s) {
		free(*u);
		free_secret(*s);
		*u = *s = NULL;
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	return 0;
}

/* Hand u, s and a source made from fmt to out; frees them on failure. */
static int found(bp_credentials *out, char *u, char *s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int found(bp_credentials *out, char *u, char *s, const char *fmt, ...)
{
	bp_dynbuf b = BP_DYNBUF_INIT(4096);
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bp_dynbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc < 0 || !u || !s) {
		bp_dynbuf_release(&b);
		free(u);
		free_secret(s);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	out->username = u;
	out->secret = s;
	out->source = bp_dynbuf_detach(&b, NULL);
	return 0;
}

/* Remember that a source was skipped, for --debug and "no credentials". */
static void note(struct lookup *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct lookup *l, const char *fmt, ...)
{
	va_list ap;

	if (l->notes.len)
		bp_dynbuf_adds(&l->notes, "; ");
	va_start(ap, fmt);
	bp_dynbuf_vprintf(&l->notes, fmt, ap);
	va_end(ap);
}

/* config.json "auths": identitytoken, else auth, else username/password. */
static int from_config_auths(struct lookup *l, bp_credentials *out)
{
	const cJSON *auths, *entry;
	char *u, *s;
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
	rc = entry_credentials(l->config_path, entry, &u, &s);
	if (rc)
		return rc;
	return found(out, u, s, "config.json auths (%s)", l->config_path);
}

/* Is name a helper name? BP_EINVAL naming where it was found when not. */
static int check_helper_name(const char *file, const char *field, const char *name)
{
	if (bp_credhelper__valid_name(name))
		return 0;
	return bp_error_set(BP_EINVAL,
			    "%s: %s: \"%s\" is not a credential helper name (letters, digits, "
			    "'.', '_' and '-')",
			    file, field, name);
}

/*
 * The helper config.json names for l's host: credHelpers (by key, else a
 * key for the same host) or credsStore. BP_ENOTFOUND when none.
 */
static int config_helper(struct lookup *l, const char *field, const char **name)
{
	const cJSON *f, *e, *hit = NULL;
	int rc;

	*name = NULL;
	rc = load_config(l);
	if (rc)
		return rc;
	f = cJSON_GetObjectItemCaseSensitive(l->config, field);
	if (!f || cJSON_IsNull(f))
		return BP_ENOTFOUND;
	if (strcmp(field, "credsStore") == 0) {
		if (!cJSON_IsString(f))
			return bp_error_set(BP_EINVAL, "%s: credsStore is not a string",
					    l->config_path);
		hit = f;
	} else {
		if (!cJSON_IsObject(f))
			return bp_error_set(BP_EINVAL, "%s: credHelpers is not a JSON object",
					    l->config_path);
		hit = cJSON_GetObjectItemCaseSensitive(f, l->key);
		if (!hit)
			hit = cJSON_GetObjectItemCaseSensitive(f, l->host);
		if (!hit) {
			cJSON_ArrayForEach (e, f) {
				if (e->string && key_matches(l, e->string)) {
					hit = e;
					break;
				}
			}
		}
		if (!hit)
			return BP_ENOTFOUND;
		if (!cJSON_IsString(hit))
			return bp_error_set(BP_EINVAL, "%s: credHelpers \"%s\" is not a string",
					    l->config_path, hit->string);
	}
	/* docker reads "" as unset */
	if (!hit->valuestring[0])
		return BP_ENOTFOUND;
	rc = check_helper_name(l->config_path, field, hit->valuestring);
	if (rc)
		return rc;
	*name = hit->valuestring;
	return 0;
}

/*
 * docker-credential-secretservice reads and writes exactly the items of
 * keyring.c: the keyring source stands for it, with no process to run and
 * no failure ("Cannot autolaunch D-Bus") when there is no session bus.
 */
static int is_keyring_helper(const char *name)
{
	return strcmp(name, "secretservice") == 0;
}

/*
 * Ask helper name for server. A helper that is not installed is skipped
 * with a note; one that fails is an error naming it and where it is set.
 */
static int from_helper(struct lookup *l, const char *name, const char *field, const char *file,
		       const char *server, bp_credentials *out)
{
	char *u = NULL, *s = NULL;
	int rc;

	if (is_keyring_helper(name))
		return BP_ENOTFOUND;
	rc = bp_credhelper__get(name, server, &u, &s);
	if (rc == BP_EUNSUPPORTED) {
		note(l, "%s (%s in %s)", bp_error_last(), field, file);
		return BP_ENOTFOUND;
	}
	if (rc == BP_ENOTFOUND)
		return rc;
	if (rc)
		return bp_error_prefix("%s in %s", field, file);
	return found(out, u, s, "docker-credential-%s (%s in %s)", name, field, file);
}

static int from_cred_helpers(struct lookup *l, bp_credentials *out)
{
	const char *name;
	int rc = config_helper(l, "credHelpers", &name);

	if (rc)
		return rc;
	return from_helper(l, name, "credHelpers", l->config_path, l->key, out);
}

static int from_creds_store(struct lookup *l, bp_credentials *out)
{
	const char *name;
	int rc = config_helper(l, "credsStore", &name);

	if (rc)
		return rc;
	return from_helper(l, name, "credsStore", l->config_path, l->key, out);
}

/*
 * The login keyring. Without any Secret Service it is silently skipped; a
 * keyring that is there but locked or not answering is skipped with a note.
 */
static int from_keyring(struct lookup *l, bp_credentials *out)
{
	char *u = NULL, *s = NULL;
	int rc;

	rc = bp_keyring__get(l->key, &u, &s);
	if (rc == BP_EUNSUPPORTED) {
		note(l, BP_KEYRING_NAME ": %s", bp_error_last());
		return BP_ENOTFOUND;
	}
	if (rc)
		return rc;
	return found(out, u, s, BP_KEYRING_NAME);
}

/* containers/image's registry name: every Docker Hub name is one. */
static int auth_key_matches(const struct lookup *l, const char *key)
{
	const char *p = bp_strcaseprefix(key, "https://");
	size_t len;

	if (!p)
		p = bp_strcaseprefix(key, "http://");
	/* a key with a scheme is a legacy URL: its path goes; without, a path stays */
	len = p ? strcspn(p, "/") : strlen(key);
	if (!p)
		p = key;
	return same_registry(l->host, strlen(l->host), p, len);
}

/*
 * One auth.json, as containers/image's findCredentialsInFile: credHelpers
 * for the registry; then auths keys from the most specific (host/ns/repo)
 * to the host; then keys normalised (scheme and path dropped, Docker Hub's
 * names one).
 */
static int from_auth_file(struct lookup *l, const char *file, bp_credentials *out)
{
	const cJSON *helpers, *auths, *e = NULL, *h;
	cJSON *json = NULL;
	char *key = NULL, *u, *s;
	int rc;

	rc = load_json_file(file, &json);
	if (rc)
		return rc;
	helpers = cJSON_GetObjectItemCaseSensitive(json, "credHelpers");
	if (cJSON_IsObject(helpers)) {
		const char *registry = l->host;

		h = cJSON_GetObjectItemCaseSensitive(helpers, registry);
		if (!h && is_hub(l->host, strlen(l->host))) {
			registry = HUB_NAME;
			h = cJSON_GetObjectItemCaseSensitive(helpers, registry);
		}
		if (cJSON_IsString(h) && h->valuestring[0]) {
			rc = check_helper_name(file, "credHelpers", h->valuestring);
			if (!rc)
				rc = from_helper(l, h->valuestring, "credHelpers", file, registry,
						 out);
			goto done;
		}
	}
	auths = cJSON_GetObjectItemCaseSensitive(json, "auths");
	if (!auths || cJSON_IsNull(auths)) {
		rc = BP_ENOTFOUND;
		goto done;
	}
	if (!cJSON_IsObject(auths)) {
		rc = bp_error_set(BP_EINVAL, "%s: auths is not a JSON object", file);
		goto done;
	}
	key = bp_strdup(l->path);
	if (!key) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		char *slash;

		e = cJSON_GetObjectItemCaseSensitive(auths, key);
		if (e)
			break;
		slash = strrchr(key, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	if (!e) {
		cJSON_ArrayForEach (e, auths) {
			if (e->string && auth_key_matches(l, e->string))
				break;
		}
	}
	if (!e) {
		rc = BP_ENOTFOUND;
		goto done;
	}
	rc = entry_credentials(file, e, &u, &s);
	if (rc)
		goto done;
	rc = found(out, u, s, "containers auth.json (%s)", file);
done:
	free(key);
	free_json(json);
	return rc;
}

/*
 * containers' auth.json files, as podman and skopeo read them:
 * $REGISTRY_AUTH_FILE alone when set; else the runtime one, then the
 * configuration one.
 */
static int auth_json_paths(char **paths, size_t *n)
{
	const char *env = secure_getenv("REGISTRY_AUTH_FILE");

	*n = 0;
	if (env && *env) {
		paths[(*n)++] = bp_strdup(env);
		return paths[0] ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
	}
	if (!(paths[*n] = bp_userdirs__xdg(BP_XDG_RUNTIME, "containers/auth.json")))
		paths[*n] = bp_aprintf("/run/containers/%u/auth.json", (unsigned)getuid());
	if (!paths[(*n)++])
		return bp_error_set(BP_ENOMEM, "out of memory");
	/* without a home there is no configuration one */
	if ((paths[*n] = bp_userdirs__xdg(BP_XDG_CONFIG, "containers/auth.json")))
		(*n)++;
	return 0;
}

static int from_auth_json(struct lookup *l, bp_credentials *out)
{
	char *paths[2] = { NULL, NULL };
	size_t n = 0, i;
	int rc;

	rc = auth_json_paths(paths, &n);
	if (!rc) {
		rc = BP_ENOTFOUND;
		for (i = 0; i < n && rc == BP_ENOTFOUND; i++)
			rc = from_auth_file(l, paths[i], out);
	}
	for (i = 0; i < n; i++)
		free(paths[i]);
	return rc;
}

static void lookup_release(struct lookup *l)
{
	free_json(l->config);
	free(l->config_path);
	free(l->key);
	free(l->host);
	bp_dynbuf_release(&l->notes);
}

/* Set up l for host (host[:port], maybe followed by /repository). */
static int lookup_init(struct lookup *l, const char *host)
{
	size_t len = strcspn(host, "/");

	if (!len)
		return bp_error_set(BP_EINVAL, "no registry host to look up credentials for");
	l->path = host;
	l->host = bp_strndup(host, len);
	l->key = l->host ? bp_credentials_server_key(l->host) : NULL;
	return l->key ? 0 : bp_error_set(BP_ENOMEM, "out of memory");
}

/* Try each source in order for host; 0, BP_ENOTFOUND, or the first error. */
int bp_credentials_lookup(bp_credentials *out, const char *host)
{
	struct lookup l = LOOKUP_INIT;
	bp_credentials got = BP_CREDENTIALS_INIT;
	size_t i;
	int rc = BP_ENOTFOUND;

	if (!out || !host || !*host)
		return bp_error_set(BP_EINVAL, "no registry host to look up credentials for");
	rc = lookup_init(&l, host);
	if (rc)
		goto done;
	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		rc = sources[i].fn(&l, &got);
		if (rc != BP_ENOTFOUND)
			break;
	}
	if (rc == BP_ENOTFOUND) {
		bp_error_set(BP_ENOTFOUND, "no credentials for %s%s%s", l.host,
			     l.notes.len ? "; skipped: " : "", l.notes.len ? l.notes.ptr : "");
		goto done;
	}
	if (rc)
		goto done;
	if (l.notes.len) {
		char *s = bp_aprintf("%s; skipped: %s", got.source, l.notes.ptr);

		if (!s) {
			rc = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
		free(got.source);
		got.source = s;
	}
	*out = got;
	got = (bp_credentials)BP_CREDENTIALS_INIT;
done:
	bp_credentials_release(&got);
	lookup_release(&l);
	return rc;
}

/* ---- writing config.json ---- */

/* mkdir -p dir, each new directory 0700. */
static int make_dirs(const char *dir)
{
	char *p = bp_strdup(dir), *s;
	int rc = 0;

	if (!p)
		return bp_error_set(BP_ENOMEM, "out of memory");
	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		{
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST) {
				rc = bp_error_set(BP_EIO, "cannot create %s: %s", p,
						  strerror(errno));
				break;
			}
			*s = c;
		}
		if (*s == '\0')
			break;
	}
	free(p);
	return rc;
}

/*
 * Write l->config to config.json: a temporary file in the same directory
 * (mode 0600), fsync, rename over it. A symlinked config.json (dotfiles)
 * is replaced where it points, as docker does.
 */
static int save_config(struct lookup *l)
{
	char *target = NULL, *dir = NULL, *tmp = NULL, *text = NULL, *slash;
	struct stat st;
	int fd = -1, rc = 0, dfd;

	if (lstat(l->config_path, &st) == 0 && S_ISLNK(st.st_mode)) {
		target = realpath(l->config_path, NULL);
		if (!target)
			return bp_error_set(BP_EIO, "cannot follow the symbolic link %s: %s",
					    l->config_path, strerror(errno));
	} else {
		target = bp_strdup(l->config_path);
	}
	slash = target ? strrchr(target, '/') : NULL;
	dir = slash ? bp_strndup(target, slash == target ? 1 : (size_t)(slash - target))
		    : bp_strdup(".");
	tmp = slash ? bp_aprintf("%s/.%s.XXXXXX", dir ? dir : "", slash + 1)
		    : bp_aprintf(".%s.XXXXXX", target ? target : "");
	text = cJSON_Print(l->config);
	if (!target || !dir || !tmp || !text) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	rc = make_dirs(dir);
	if (rc)
		goto done;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = bp_error_set(BP_EIO, "cannot create a temporary file in %s: %s", dir,
				  strerror(errno));
		tmp[0] = '\0';
		goto done;
	}
	if (fchmod(fd, 0600) < 0 || bp_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = bp_error_set(BP_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, target) < 0) {
		rc = bp_error_set(BP_EIO, "cannot replace %s: %s", target, strerror(errno));
		goto done;
	}
	tmp[0] = '\0';
	/* the rename itself lasts only once the directory is on disk */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc && tmp && tmp[0])
		unlink(tmp);
	if (text) {
		explicit_bzero(text, strlen(text));
		cJSON_free(text);
	}
	free(tmp);
	free(dir);
	free(target);
	return rc;
}

/* The auths object of l->config, created when absent. */
static int config_auths(struct lookup *l, cJSON **auths)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(l->config, "auths");

	if (a && !cJSON_IsNull(a) && !cJSON_IsObject(a))
		return bp_error_set(BP_EINVAL, "%s: auths is not a JSON object; not rewriting it",
				    l->config_path);
	if (!a || cJSON_IsNull(a)) {
		cJSON *n = cJSON_CreateObject();

		if (!n)
			return bp_error_set(BP_ENOMEM, "out of memory");
		if (a)
			cJSON_ReplaceItemViaPointer(l->config, a, n);
		else
			cJSON_AddItemToObject(l->config, "auths", n);
		a = n;
	}
	*auths = a;
	return 0;
}

/* config.json auths[key] = {"auth": base64(user:secret)} or {"identitytoken"}. */
static int store_file(struct lookup *l, const bp_credentials *c, char **where)
{
	cJSON *auths = NULL, *entry = NULL, *old;
	char *pair = NULL, *b64 = NULL;
	int rc;

	rc = load_config(l);
	/* a file that is there but not JSON is never rewritten */
	if (rc && !(rc == BP_ENOTFOUND && l->config_path))
		return rc;
	if (!l->config && !(l->config = cJSON_CreateObject()))
		return bp_error_set(BP_ENOMEM, "out of memory");
	rc = config_auths(l, &auths);
	if (rc)
		return rc;
	entry = cJSON_CreateObject();
	if (!entry) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if (bp_credentials_is_token(c)) {
		if (!cJSON_AddStringToObject(entry, "identitytoken", c->secret)) {
			rc = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
	} else {
		pair = bp_aprintf("%s:%s", c->username, c->secret);
		b64 = pair ? bp_base64_encode(pair, strlen(pair)) : NULL;
		if (!b64 || !cJSON_AddStringToObject(entry, "auth", b64)) {
			rc = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
	}
	/* in the place of the old entry, wiped first */
	old = cJSON_GetObjectItemCaseSensitive(auths, l->key);
	if (old) {
		wipe_json(old->child);
		if (!cJSON_ReplaceItemInObjectCaseSensitive(auths, l->key, entry)) {
			rc = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
	} else if (!cJSON_AddItemToObject(auths, l->key, entry)) {
		rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	entry = NULL;
	rc = save_config(l);
	if (!rc && where && !(*where = bp_strdup(l->config_path)))
		rc = bp_error_set(BP_ENOMEM, "out of memory");
done:
	free_json(entry);
	free_secret(pair);
	free_secret(b64);
	return rc;
}

/* ---- store and erase ---- */

/* BP_EINVAL unless c is a user name (no ':', no control character) and a secret. */
static int check_credentials(const bp_credentials *c)
{
	const unsigned char *p;

	if (!c || !c->username || !*c->username)
		return bp_error_set(BP_EINVAL, "no user name to store");
	if (!c->secret || !*c->secret)
		return bp_error_set(BP_EINVAL, "no password to store");
	for (p = (const unsigned char *)c->username; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return bp_error_set(BP_EINVAL, "the user name holds a control character");
		if (*p == ':')
			return bp_error_set(BP_EINVAL, "the user name cannot hold ':'");
	}
	return 0;
}

/* Normalise host and set l up for it. */
static int server_init(struct lookup *l, const char *host)
{
	char *server = NULL;
	int rc;

	rc = bp_credentials_normalize_server(host, &server);
	if (rc)
		return rc;
	rc = lookup_init(l, server);
	/* l->path points into server: keep them the same string */
	free(l->host);
	l->host = server;
	l->path = server;
	return rc;
}

static int store_helper(struct lookup *l, const char *name, const char *field,
			const bp_credentials *c, char **where)
{
	int rc = bp_credhelper__store(name, l->key, c->username, c->secret);

	if (rc)
		return bp_error_prefix("%s in %s", field, l->config_path);
	if (where && !(*where = bp_aprintf("docker-credential-%s", name)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	return 0;
}

/* Store c for host: AUTO, KEYRING or FILE (see credentials.h). */
int bp_credentials_store(const char *host, const bp_credentials *c, bp_cred_store store,
			 char **where)
{
	struct lookup l = LOOKUP_INIT;
	const char *name;
	char why[512] = "";
	int rc;

	if (where)
		*where = NULL;
	rc = check_credentials(c);
	if (rc)
		return rc;
	rc = server_init(&l, host);
	if (rc)
		goto done;
	switch (store) {
	case BP_CRED_STORE_FILE:
		rc = store_file(&l, c, where);
		goto done;
	case BP_CRED_STORE_KEYRING:
		break;
	case BP_CRED_STORE_AUTO:
		/* we must know where docker's config.json sends it */
		rc = config_helper(&l, "credHelpers", &name);
		if (rc == 0 && !is_keyring_helper(name)) {
			rc = store_helper(&l, name, "credHelpers", c, where);
			goto done;
		}
		if (rc && rc != BP_ENOTFOUND)
			goto done;
		break;
	default:
		rc = bp_error_set(BP_EINVAL, "unknown credential store %d", (int)store);
		goto done;
	}
	rc = bp_keyring__store(l.key, c->username, c->secret);
	if (rc == 0) {
		if (where && !(*where = bp_strdup(BP_KEYRING_NAME)))
			rc = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if (rc != BP_EUNSUPPORTED)
		goto done;
	bp_strlcpy(why, bp_error_last(), sizeof(why));
	if (store == BP_CRED_STORE_AUTO) {
		rc = config_helper(&l, "credsStore", &name);
		if (rc == 0 && !is_keyring_helper(name)) {
			rc = store_helper(&l, name, "credsStore", c, where);
			goto done;
		}
		if (rc && rc != BP_ENOTFOUND)
			goto done;
	}
	rc = bp_error_set(BP_EUNSUPPORTED, "no Secret Service keyring (%s): " NO_KEYRING_HELP, why);
done:
	lookup_release(&l);
	return rc;
}

/* An auths entry that holds credentials (not docker's "{}" placeholder). */
static int has_credentials(const cJSON *entry)
{
	return nonempty_string(entry, "identitytoken") || nonempty_string(entry, "auth") ||
	       nonempty_string(entry, "password");
}

/* Remove every auths entry for l's host that holds credentials. */
static int erase_file(struct lookup *l, int *erased)
{
	cJSON *auths, *e, *next;
	int rc;

	*erased = 0;
	rc = load_config(l);
	if (rc)
		return rc;
	auths = cJSON_GetObjectItemCaseSensitive(l->config, "auths");
	if (!auths || cJSON_IsNull(auths))
		return BP_ENOTFOUND;
	if (!cJSON_IsObject(auths))
		return bp_error_set(BP_EINVAL, "%s: auths is not a JSON object; not rewriting it",
				    l->config_path);
	for (e = auths->child; e; e = next) {
		next = e->next;
		if (e->string && key_matches(l, e->string) && has_credentials(e)) {
			cJSON_DetachItemViaPointer(auths, e);
			free_json(e);
			(*erased)++;
		}
	}
	if (!*erased)
		return BP_ENOTFOUND;
	return save_config(l);
}

/* Keep the first error of several: its code and message. */
struct first_error {
	int code;
	char msg[512];
};

static void keep_error(struct first_error *f, int rc)
{
	if (f->code)
		return;
	f->code = rc;
	bp_strlcpy(f->msg, bp_error_last(), sizeof(f->msg));
}

/* Erase from the helper that field names; its name when it had something. */
static const char *erase_helper(struct lookup *l, const char *field, struct first_error *f)
{
	const char *name;
	int rc = config_helper(l, field, &name);

	if (rc == BP_ENOTFOUND)
		return NULL;
	if (rc) {
		keep_error(f, rc);
		return NULL;
	}
	if (is_keyring_helper(name))
		return NULL;
	rc = bp_credhelper__erase(name, l->key);
	if (rc == BP_ENOTFOUND)
		return NULL;
	if (rc) {
		keep_error(f, bp_error_prefix("%s in %s", field, l->config_path));
		return NULL;
	}
	return name;
}

/* Remove host's credentials from every store; *where lists them. */
int bp_credentials_erase(const char *host, char **where)
{
	struct lookup l = LOOKUP_INIT;
	struct first_error f = { 0, "" };
	bp_dynbuf places = BP_DYNBUF_INIT(4096);
	const char *name;
	int rc, n, any;

	if (where)
		*where = NULL;
	rc = server_init(&l, host);
	if (rc)
		goto done;
	/* a config.json we cannot read may name a helper: say so, erase nothing */
	rc = load_config(&l);
	if (rc && rc != BP_ENOTFOUND)
		goto done;
	name = erase_helper(&l, "credHelpers", &f);
	if (name)
		bp_dynbuf_printf(&places, "docker-credential-%s", name);
	rc = bp_keyring__erase(l.key);
	if (rc == 0)
		bp_dynbuf_printf(&places, "%s" BP_KEYRING_NAME, places.len ? ", " : "");
	else if (rc != BP_ENOTFOUND)
		keep_error(&f, bp_error_prefix("cannot erase from " BP_KEYRING_NAME));
	name = erase_helper(&l, "credsStore", &f);
	if (name)
		bp_dynbuf_printf(&places, "%sdocker-credential-%s", places.len ? ", " : "", name);
	rc = erase_file(&l, &n);
	if (rc == 0)
		bp_dynbuf_printf(&places, "%s%s", places.len ? ", " : "", l.config_path);
	else if (rc != BP_ENOTFOUND)
		keep_error(&f, rc);
	any = places.len > 0;
	rc = 0;
	if (any && where && !(*where = bp_dynbuf_detach(&places, NULL)))
		rc = bp_error_set(BP_ENOMEM, "out of memory");
	else if (f.code)
		rc = bp_error_set(f.code, "%s", f.msg);
	else if (!any)
		rc = bp_error_set(BP_ENOTFOUND, "no credentials for %s were stored", l.host);
done:
	bp_dynbuf_release(&places);
	lookup_release(&l);
	return rc;
}
