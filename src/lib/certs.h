/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BP_LIB_CERTS_H
#define BP_LIB_CERTS_H

#include <beampush/common.h>

/*
 * Docker's certs.d: for a registry host[:port], the directories
 * $BEAMPUSH_CERTS_D/<host[:port]>/ (when that variable is set, it is the
 * only one), else $XDG_CONFIG_HOME/docker/certs.d/<host[:port]>/ (default
 * ~/.config/docker/certs.d) and /etc/docker/certs.d/<host[:port]>/.
 * In them every *.crt is an extra CA (added to the system roots), and
 * every X.cert pairs with X.key as a client certificate; an unpaired one
 * is an error. Only http.c hands the result to the TLS library.
 */
typedef struct bp_certs bp_certs;

#define BP_CERTS_DIRS_MAX 2

/*
 * The directories read for hostport, most specific first, into dirs
 * (new strings, to be freed); returns how many (0 when hostport cannot
 * be a directory name: empty, '/', a leading '.', a control character).
 */
size_t bp_certs__dirs(const char *hostport, char *dirs[BP_CERTS_DIRS_MAX]);

/*
 * Where to tell the user to put a CA for hostport (new string): the
 * BEAMPUSH_CERTS_D one when set, /etc/docker/certs.d/... for root, else
 * the user's. NULL when hostport is not usable or out of memory.
 */
char *bp_certs__suggest_dir(const char *hostport);

/*
 * Read the certs.d material of hostport. *out is NULL when no directory
 * holds any .crt, .cert or .key file (missing directories are fine).
 * BP_ERROR names the file: an unpaired .cert or .key, a .crt without a
 * PEM certificate, a key that is not PEM (or is encrypted), a pair that
 * does not match; BP_EIO when a file cannot be read.
 */
int bp_certs__load(bp_certs **out, const char *hostport);
void bp_certs__free(bp_certs *c);

/*
 * The material a hosts.toml names for one host: the CA files cas and the
 * client pair cert and key (key NULL: in cert's file; cert NULL: none).
 * origin ("FILE: host URL") names it in messages and stands for the
 * directory bp_certs__dir() gives. Errors as bp_certs__load(), prefixed
 * with origin.
 */
int bp_certs__load_files(bp_certs **out, const char *origin, const char *const *cas, size_t nca,
			 const char *cert, const char *key);

/* How many CA certificates were read. */
size_t bp_certs__ncas(const bp_certs *c);

/* The client certificate's file ("DIR/X.cert"), or NULL when there is none. */
const char *bp_certs__client_cert(const bp_certs *c);

/* The directory the first file came from (for messages). */
const char *bp_certs__dir(const bp_certs *c);

/*
 * Hand the material to an OpenSSL SSL_CTX (void * to keep OpenSSL out of
 * this header): CAs added to its store, the client key pair (and the
 * rest of the .cert file as its chain) set. BP_ETLS when OpenSSL refuses.
 */
int bp_certs__apply(const bp_certs *c, void *ssl_ctx);

#endif
