/* SPDX-License-Identifier: Apache-2.0 */
#include "certs.h"
#include "userdirs.h"
#include "util/strutil.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERT_FILE_MAX (1024 * 1024)
#define DIR_ENTRIES_MAX 256

struct bp_certs {
	char *dir;              /* where the first file was found */
	STACK_OF(X509) *cas;    /* every *.crt */
	char *cert_path;        /* the client pair, when there is one */
	X509 *cert;
	STACK_OF(X509) *chain;  /* the rest of the .cert file */
	EVP_PKEY *key;
};

/* A registry's host[:port] as one path component, nothing else. */
static int usable_hostport(const char *hp)
{
	const char *p;

	if (!hp || !*hp || *hp == '.' || strlen(hp) > 300)
		return 0;
	for (p = hp; *p; p++)
		if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x21 || *p == 0x7f)
			return 0;
	return 1;
}

/* $XDG_CONFIG_HOME/docker/certs.d, or ~/.config/docker/certs.d; NULL without either. */
static char *user_certs_d(void)
{
	return bp_userdirs__xdg(BP_XDG_CONFIG, "docker/certs.d");
}

/* See certs.h. */
size_t bp_certs__dirs(const char *hostport, char *dirs[BP_CERTS_DIRS_MAX])
{
	const char *env = secure_getenv("BEAMPUSH_CERTS_D");
	char *user;
	size_t n = 0;

	if (!usable_hostport(hostport))
		return 0;
	if (env && *env) {
		if ((dirs[0] = bp_aprintf("%s/%s", env, hostport)))
			n = 1;
		return n;
	}
	if ((user = user_certs_d())) {
		if ((dirs[n] = bp_aprintf("%s/%s", user, hostport)))
			n++;
		free(user);
	}
	if ((dirs[n] = bp_aprintf("/etc/docker/certs.d/%s", hostport)))
		n++;
	return n;
}

/* See certs.h. */
char *bp_certs__suggest_dir(const char *hostport)
{
	const char *env = secure_getenv("BEAMPUSH_CERTS_D");
	char *user, *out;

	if (!usable_hostport(hostport))
		return NULL;
	if (env && *env)
		return bp_aprintf("%s/%s", env, hostport);
	if (geteuid() == 0 || !(user = user_certs_d()))
		return bp_aprintf("/etc/docker/certs.d/%s", hostport);
	out = bp_aprintf("%s/%s", user, hostport);
	free(user);
	return out;
}

/* Never ask a terminal for a pass phrase: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* The whole of a small file as a memory BIO; NULL with the error set. */
static BIO *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	BIO *b = NULL;

	if (!f) {
		bp_error_set(BP_EIO, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CERT_FILE_MAX + 1);
	if (!buf) {
		bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	n = fread(buf, 1, CERT_FILE_MAX + 1, f);
	if (ferror(f)) {
		bp_error_set(BP_EIO, "cannot read %s: %s", path, strerror(errno));
		goto done;
	}
	if (n > CERT_FILE_MAX) {
		bp_error_set(BP_ERROR, "%s: larger than %d bytes, not a certificate file", path,
			     CERT_FILE_MAX);
		goto done;
	}
	b = BIO_new(BIO_s_mem());
	if (!b || BIO_write(b, buf, (int)n) != (int)n) {
		BIO_free(b);
		b = NULL;
		bp_error_set(BP_ENOMEM, "out of memory");
	}
done:
	free(buf);
	fclose(f);
	return b;
}

/* Every PEM certificate of path appended to *sk; how many, or -1 with the error set. */
static int read_certs(const char *path, STACK_OF(X509) **sk)
{
	BIO *b = read_file(path);
	X509 *x;
	int n = 0;

	if (!b)
		return -1;
	if (!*sk && !(*sk = sk_X509_new_null())) {
		BIO_free(b);
		bp_error_set(BP_ENOMEM, "out of memory");
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL))) {
		if (!sk_X509_push(*sk, x)) {
			X509_free(x);
			BIO_free(b);
			bp_error_set(BP_ENOMEM, "out of memory");
			return -1;
		}
		n++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (!n)
		bp_error_set(BP_ERROR, "%s: no PEM certificate in it", path);
	return n ? n : -1;
}

static int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* certfile and keyfile as the client pair of c. */
static int load_pair(bp_certs *c, const char *certfile, const char *keyfile)
{
	STACK_OF(X509) *sk = NULL;
	BIO *b;
	int err = 0;

	if (read_certs(certfile, &sk) < 0) {
		sk_X509_pop_free(sk, X509_free);
		return bp_error_last_code();
	}
	if (!(b = read_file(keyfile))) {
		sk_X509_pop_free(sk, X509_free);
		return bp_error_last_code();
	}
	c->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	ERR_clear_error();
	BIO_free(b);
	if (!c->key) {
		err = bp_error_set(BP_ERROR, "%s: not a PEM private key (an encrypted key is not "
				   "supported)", keyfile);
		goto done;
	}
	c->cert = sk_X509_shift(sk);
	c->chain = sk;
	sk = NULL;
	if (X509_check_private_key(c->cert, c->key) != 1) {
		ERR_clear_error();
		err = bp_error_set(BP_ERROR, "client certificate %s does not match the key %s",
				   certfile, keyfile);
		goto done;
	}
	if (!(c->cert_path = bp_strdup(certfile)))
		err = bp_error_set(BP_ENOMEM, "out of memory");
done:
	sk_X509_pop_free(sk, X509_free);
	return err;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.crt, *.cert and *.key names of dir, sorted; -1 with the error set. */
static int list_dir(const char *dir, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **l = NULL;

	*names = NULL;
	*n = 0;
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return bp_error_set(BP_EIO, "cannot read %s: %s", dir, strerror(errno));
	}
	while ((e = readdir(d))) {
		char **t;

		if (e->d_name[0] == '.' ||
		    !(bp_strsuffix(e->d_name, ".crt") || bp_strsuffix(e->d_name, ".cert") ||
		      bp_strsuffix(e->d_name, ".key")))
			continue;
		if (*n == DIR_ENTRIES_MAX)
			break;
		if (!(t = realloc(l, (*n + 1) * sizeof(*l))) || !(t[*n] = bp_strdup(e->d_name))) {
			if (t)
				l = t;
			closedir(d);
			while (*n)
				free(l[--*n]);
			free(l);
			return bp_error_set(BP_ENOMEM, "out of memory");
		}
		l = t;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(l, *n, sizeof(*l), cmp_names);
	*names = l;
	return 0;
}

/* Read one directory's files into c. */
static int load_dir(bp_certs *c, const char *dir)
{
	char **names = NULL, *path = NULL, *other = NULL;
	size_t n, i;
	int err;

	if ((err = list_dir(dir, &names, &n)))
		return err;
	if (n && !c->dir && !(c->dir = bp_strdup(dir))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n && !err; i++) {
		const char *name = names[i];
		size_t len = strlen(name);

		free(path);
		free(other);
		other = NULL;
		if (!(path = bp_aprintf("%s/%s", dir, name))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			break;
		}
		if (bp_strsuffix(name, ".crt")) {
			if (read_certs(path, &c->cas) < 0)
				err = bp_error_last_code();
		} else if (bp_strsuffix(name, ".cert")) {
			if (!(other = bp_aprintf("%s/%.*s.key", dir, (int)(len - 5), name))) {
				err = bp_error_set(BP_ENOMEM, "out of memory");
			} else if (!file_exists(other)) {
				err = bp_error_set(BP_ERROR, "missing key %s for client certificate %s "
						   "(a CA certificate must be named *.crt)",
						   other, path);
			} else if (!c->cert) {
				err = load_pair(c, path, other);
			}
		} else {
			if (!(other = bp_aprintf("%s/%.*s.cert", dir, (int)(len - 4), name)))
				err = bp_error_set(BP_ENOMEM, "out of memory");
			else if (!file_exists(other))
				err = bp_error_set(BP_ERROR, "missing client certificate %s for key %s",
						   other, path);
		}
	}
done:
	free(path);
	free(other);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

/* See certs.h. */
int bp_certs__load(bp_certs **out, const char *hostport)
{
	char *dirs[BP_CERTS_DIRS_MAX];
	size_t n = bp_certs__dirs(hostport, dirs), i;
	bp_certs *c = calloc(1, sizeof(*c));
	int err = 0;

	*out = NULL;
	if (!c) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n && !err; i++)
		err = load_dir(c, dirs[i]);
	if (!err && c->dir) {
		*out = c;
		c = NULL;
	}
done:
	for (i = 0; i < n; i++)
		free(dirs[i]);
	bp_certs__free(c);
	return err;
}

/* See certs.h. */
int bp_certs__load_files(bp_certs **out, const char *origin, const char *const *cas, size_t nca,
			 const char *cert, const char *key)
{
	bp_certs *c = calloc(1, sizeof(*c));
	size_t i;
	int err = 0;

	*out = NULL;
	if (!c || !(c->dir = bp_strdup(origin))) {
		bp_certs__free(c);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	for (i = 0; i < nca && !err; i++)
		if (read_certs(cas[i], &c->cas) < 0)
			err = bp_error_last_code();
	if (!err && cert)
		err = load_pair(c, cert, key ? key : cert);
	if (err) {
		bp_error_prefix("%s", origin);
		bp_certs__free(c);
		return err;
	}
	*out = c;
	return 0;
}

/* Free c; NULL is fine. */
void bp_certs__free(bp_certs *c)
{
	if (!c)
		return;
	sk_X509_pop_free(c->cas, X509_free);
	sk_X509_pop_free(c->chain, X509_free);
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	free(c->cert_path);
	free(c->dir);
	free(c);
}

/* See certs.h. */
size_t bp_certs__ncas(const bp_certs *c)
{
	return c && c->cas ? (size_t)sk_X509_num(c->cas) : 0;
}

/* See certs.h. */
const char *bp_certs__client_cert(const bp_certs *c)
{
	return c ? c->cert_path : NULL;
}

/* See certs.h. */
const char *bp_certs__dir(const bp_certs *c)
{
	return c ? c->dir : NULL;
}

/* See certs.h. */
int bp_certs__apply(const bp_certs *c, void *ssl_ctx)
{
	SSL_CTX *ctx = ssl_ctx;
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	int i;

	for (i = 0; c->cas && i < sk_X509_num(c->cas); i++) {
		/* a CA the system already trusts is no error */
		if (!st || !X509_STORE_add_cert(st, sk_X509_value(c->cas, i))) {
			unsigned long e = ERR_peek_last_error();

			if (!st || ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
				ERR_clear_error();
				return bp_error_set(BP_ETLS, "cannot add the CAs of %s", c->dir);
			}
			ERR_clear_error();
		}
	}
	if (!c->cert)
		return 0;
	if (SSL_CTX_use_certificate(ctx, c->cert) != 1 || SSL_CTX_use_PrivateKey(ctx, c->key) != 1)
		goto bad;
	for (i = 0; c->chain && i < sk_X509_num(c->chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(c->chain, i)) != 1)
			goto bad;
	return 0;
bad:
	ERR_clear_error();
	return bp_error_set(BP_ETLS, "the TLS library refused the client certificate %s",
			    c->cert_path);
}
