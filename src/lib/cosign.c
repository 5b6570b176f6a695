/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cosign's formats (see cosign.h): what sigstore's payload package and
 * go-containerregistry write for `cosign sign --key`, and the key files
 * of `cosign generate-key-pair` (go-securesystemslib's "encrypted":
 * scrypt, then NaCl secretbox, in a JSON document inside a PEM block).
 * The cryptography is OpenSSL's (ECDSA, SHA-256, scrypt, PEM and DER) and
 * libsodium's (secretbox); JSON is cJSON's.
 */
#include "cosign.h"

#include <beampush/manifest.h>

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* scrypt needs 128 * r * N bytes: 128 MiB for cosign's largest N. */
#define SCRYPT_MAXMEM (256u * 1024 * 1024)
#define SECRETBOX_KEY 32
#define SECRETBOX_NONCE 24
#define SALT_MAX 1024
/* 2^53: above it a JSON number is no longer an exact integer */
#define SIZE_LIMIT 9007199254740992.0

/* "sha256-HEX.sig"; see cosign.h. */
void bp_cosign__tag(char tag[BP_SIGNATURE_TAG_MAX], const char *digest)
{
	snprintf(tag, BP_SIGNATURE_TAG_MAX, "sha256-%.64s.sig", bp_digest_hex(digest));
}

/* The docker-reference of a repository; see cosign.h. */
char *bp_cosign__identity(const char *domain, const char *path)
{
	/* go-containerregistry names Docker Hub by its index host */
	if (strcmp(domain, "docker.io") == 0)
		domain = "index.docker.io";
	return bp_aprintf("%s/%s", domain, path);
}

/* 1 when s can stand in a JSON string as it is: printable ASCII, no quote or backslash. */
static int json_plain(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* The payload bytes; see cosign.h. */
int bp_cosign__payload(const char *identity, const char *digest, char **out, size_t *len)
{
	*out = NULL;
	if (!json_plain(identity) || !json_plain(digest))
		return bp_error_set(BP_EINVAL, "%.200s: not a name a signature payload can hold",
				    identity);
	/* Go's encoding/json of sigstore's SimpleContainerImage: its field order, no spaces */
	*out = bp_aprintf("{\"critical\":{\"identity\":{\"docker-reference\":\"%s\"},"
			  "\"image\":{\"docker-manifest-digest\":\"%s\"},"
			  "\"type\":\"" BP_COSIGN_SIGNATURE_TYPE "\"},\"optional\":null}",
			  identity, digest);
	if (!*out)
		return bp_error_set(BP_ENOMEM, "out of memory");
	*len = strlen(*out);
	return 0;
}

/* A JSON document of len bytes, nothing after it but white space; NULL when not. */
static cJSON *parse_whole(const char *data, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, 0);

	if (!root)
		return NULL;
	while (end && end < data + len &&
	       (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!end || end != data + len) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* The string member key of object o, or NULL. */
static const char *member_string(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Read a payload; see cosign.h. */
int bp_cosign__payload_parse(const char *data, size_t len, char **image, char **identity)
{
	const cJSON *crit, *img, *id;
	const char *type, *digest, *ref;
	cJSON *root = NULL;
	int err = BP_EPROTO, valid;

	*image = *identity = NULL;
	if (len > BP_COSIGN_PAYLOAD_MAX)
		return bp_error_set(BP_EPROTO, "payload of %zu bytes, more than the %d read", len,
				    BP_COSIGN_PAYLOAD_MAX);
	if (!(root = parse_whole(data, len))) {
		bp_error_set(err, "payload is not JSON (or nested deeper than %d)",
			     CJSON_NESTING_LIMIT);
		goto done;
	}
	if (!cJSON_IsObject(root) ||
	    !cJSON_IsObject(crit = cJSON_GetObjectItemCaseSensitive(root, "critical"))) {
		bp_error_set(err, "payload is not a simple signing object (no \"critical\")");
		goto done;
	}
	type = member_string(crit, "type");
	if (!type || strcmp(type, BP_COSIGN_SIGNATURE_TYPE) != 0) {
		bp_error_set(err, "payload is not a cosign container image signature (type %s)",
			     type && json_plain(type) && strlen(type) < 80 ? type : "unknown");
		goto done;
	}
	img = cJSON_GetObjectItemCaseSensitive(crit, "image");
	digest = cJSON_IsObject(img) ? member_string(img, "docker-manifest-digest") : NULL;
	/* a well-formed digest, of any algorithm: it is compared, and shown */
	valid = digest ? bp_digest_validate(digest) : BP_EINVAL;
	if (valid != 0 && valid != BP_EUNSUPPORTED) {
		bp_error_set(err, "payload names no image digest (critical.image."
				  "docker-manifest-digest)");
		goto done;
	}
	bp_error_clear();
	id = cJSON_GetObjectItemCaseSensitive(crit, "identity");
	ref = cJSON_IsObject(id) ? member_string(id, "docker-reference") : NULL;
	if (!(*image = bp_strdup(digest)) ||
	    (ref && json_plain(ref) && !(*identity = bp_strdup(ref)))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	err = 0;
done:
	if (err) {
		free(*image);
		free(*identity);
		*image = *identity = NULL;
	}
	cJSON_Delete(root);
	return err;
}

/* ---- the signature manifest ---- */

/* An integral JSON number from 0 up to 2^53 (exact, unlike what rounds to it), or -1. */
static int64_t json_size(const cJSON *v)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!(d >= 0 && d < SIZE_LIMIT) || (double)(int64_t)d != d)
		return -1;
	return (int64_t)d;
}

/* One layer descriptor into l; l->problem says what makes it unusable. */
static int read_layer(bp_cosign_layer *l, const cJSON *d)
{
	const cJSON *ann;
	const char *s;

	l->size = -1;
	if (!cJSON_IsObject(d)) {
		l->problem = "layer descriptor is not an object";
		return 0;
	}
	if ((s = member_string(d, "mediaType")) && !(l->media_type = bp_strdup(s)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	s = member_string(d, "digest");
	if (s && bp_digest_validate(s) == 0)
		bp_strlcpy(l->digest, s, sizeof(l->digest));
	bp_error_clear();
	l->size = json_size(cJSON_GetObjectItemCaseSensitive(d, "size"));
	ann = cJSON_GetObjectItemCaseSensitive(d, "annotations");
	if (cJSON_IsObject(ann) && (s = member_string(ann, BP_COSIGN_SIGNATURE_ANNOTATION)) &&
	    !(l->signature = bp_strdup(s)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (!l->digest[0])
		l->problem = "layer has no sha256 digest";
	else if (l->size < 0)
		l->problem = "layer has no size";
	else if (!l->media_type || strcmp(l->media_type, BP_COSIGN_PAYLOAD_TYPE) != 0)
		l->problem = "layer is not a simple signing payload (media type)";
	else if (!l->signature)
		l->problem = "layer has no " BP_COSIGN_SIGNATURE_ANNOTATION " annotation";
	return 0;
}

/* Parse a signature manifest; see cosign.h. */
int bp_cosign__manifest_parse(bp_cosign_manifest *m, const char *data, size_t len)
{
	const cJSON *v, *layers, *d;
	const char *mt;
	cJSON *root;
	int err = BP_EPROTO, n;
	size_t i = 0;

	memset(m, 0, sizeof(*m));
	if (len > BP_MANIFEST_MAX)
		return bp_error_set(err, "manifest of %zu bytes, more than 4 MiB", len);
	if (!(root = parse_whole(data, len)))
		return bp_error_set(err, "manifest is not JSON");
	m->root = root;
	v = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
	if (!cJSON_IsObject(root) || !cJSON_IsNumber(v) || v->valuedouble != 2) {
		bp_error_set(err, "not an image manifest (schemaVersion 2)");
		goto done;
	}
	mt = member_string(root, "mediaType");
	if (cJSON_GetObjectItemCaseSensitive(root, "mediaType") &&
	    (!mt || (strcmp(mt, BP_MEDIA_OCI_MANIFEST) != 0 &&
		     strcmp(mt, BP_MEDIA_DOCKER_MANIFEST) != 0))) {
		bp_error_set(err, "a manifest of media type %s, not an image manifest",
			     mt && json_plain(mt) && strlen(mt) < 100 ? mt : "unknown");
		goto done;
	}
	layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
	if (layers && !cJSON_IsArray(layers)) {
		bp_error_set(err, "\"layers\" is not an array");
		goto done;
	}
	n = layers ? cJSON_GetArraySize(layers) : 0;
	if (n > BP_COSIGN_LAYERS_MAX) {
		bp_error_set(err, "%d layers, more than the %d cosign allows", n,
			     BP_COSIGN_LAYERS_MAX);
		goto done;
	}
	if (n && !(m->layers = calloc((size_t)n, sizeof(*m->layers)))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	cJSON_ArrayForEach (d, layers) {
		m->n = i + 1;
		if ((err = read_layer(&m->layers[i++], d)))
			goto done;
	}
	err = 0;
done:
	if (err)
		bp_cosign__manifest_release(m);
	return err;
}

void bp_cosign__manifest_release(bp_cosign_manifest *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->layers[i].media_type);
		free(m->layers[i].signature);
	}
	free(m->layers);
	cJSON_Delete(m->root);
	memset(m, 0, sizeof(*m));
}

/* The config; see cosign.h. */
int bp_cosign__config(const char *const *digests, size_t n, char **out, size_t *len)
{
	bp_dynbuf b = BP_DYNBUF_INIT((n + 1) * 256);
	size_t i;
	int bad;

	/* go-containerregistry's ConfigFile, marshalled: zero times, empty strings kept */
	bad = bp_dynbuf_adds(&b, "{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\","
				 "\"history\":[");
	for (i = 0; i < n && !bad; i++)
		bad = bp_dynbuf_printf(&b, "%s{\"created\":\"0001-01-01T00:00:00Z\"}",
				       i ? "," : "");
	bad = bad || bp_dynbuf_adds(&b, "],\"os\":\"\",\"rootfs\":{\"type\":\"layers\","
					"\"diff_ids\":[");
	for (i = 0; i < n && !bad; i++)
		bad = bp_dynbuf_printf(&b, "%s\"%s\"", i ? "," : "", digests[i]);
	bad = bad || bp_dynbuf_adds(&b, "]},\"config\":{}}");
	if (bad) {
		bp_dynbuf_release(&b);
		return bp_error_set(BP_ENOMEM, "out of memory");
	}
	*out = bp_dynbuf_detach(&b, len);
	return 0;
}

/* {"mediaType", "size", "digest"}: a descriptor in go-containerregistry's field order. */
static cJSON *descriptor(const char *media_type, int64_t size, const char *digest)
{
	cJSON *d = cJSON_CreateObject();

	if (d && cJSON_AddStringToObject(d, "mediaType", media_type) &&
	    cJSON_AddNumberToObject(d, "size", (double)size) &&
	    cJSON_AddStringToObject(d, "digest", digest))
		return d;
	cJSON_Delete(d);
	return NULL;
}

/* A signature manifest with one layer more; see cosign.h. */
int bp_cosign__manifest_add(const bp_cosign_manifest *m, const char *payload_digest,
			    int64_t payload_size, const char *signature, const char *config_digest,
			    int64_t config_size, char **out, size_t *len, const char **media_type)
{
	const char *config_type = BP_MEDIA_OCI_CONFIG, *mt;
	cJSON *root = NULL, *layers, *layer = NULL, *ann, *config;
	int err = bp_error_set(BP_ENOMEM, "out of memory");
	size_t i;

	*out = NULL;
	*media_type = BP_MEDIA_OCI_MANIFEST;
	for (i = 0; m && i < m->n; i++)
		if (!m->layers[i].digest[0] || m->layers[i].size < 0)
			return bp_error_set(BP_EPROTO, "layer %zu of the signature manifest: %s",
					    i + 1, m->layers[i].problem);
	if (m) {
		if (!(root = cJSON_Duplicate(m->root, 1)))
			goto done;
		/* as it is: a Docker v2 signature manifest stays one */
		if ((mt = member_string(root, "mediaType")))
			*media_type = member_string(m->root, "mediaType");
		config = cJSON_GetObjectItemCaseSensitive(root, "config");
		if (cJSON_IsObject(config) && member_string(config, "mediaType"))
			config_type = member_string(
				cJSON_GetObjectItemCaseSensitive(m->root, "config"), "mediaType");
	} else if (!(root = cJSON_CreateObject()) ||
		   !cJSON_AddNumberToObject(root, "schemaVersion", 2) ||
		   !cJSON_AddStringToObject(root, "mediaType", BP_MEDIA_OCI_MANIFEST)) {
		goto done;
	}
	if (!(config = descriptor(config_type, config_size, config_digest)))
		goto done;
	if (cJSON_GetObjectItemCaseSensitive(root, "config")) {
		cJSON_ReplaceItemInObjectCaseSensitive(root, "config", config);
	} else if (!cJSON_AddItemToObject(root, "config", config)) {
		cJSON_Delete(config);
		goto done;
	}
	if (!(layers = cJSON_GetObjectItemCaseSensitive(root, "layers")) &&
	    !(layers = cJSON_AddArrayToObject(root, "layers")))
		goto done;
	if (!(layer = descriptor(BP_COSIGN_PAYLOAD_TYPE, payload_size, payload_digest)) ||
	    !(ann = cJSON_AddObjectToObject(layer, "annotations")) ||
	    !cJSON_AddStringToObject(ann, BP_COSIGN_SIGNATURE_ANNOTATION, signature) ||
	    !cJSON_AddItemToArray(layers, layer))
		goto done;
	layer = NULL;
	if (!(*out = cJSON_PrintUnformatted(root)))
		goto done;
	*len = strlen(*out);
	err = 0;
	bp_error_clear();
done:
	cJSON_Delete(layer);
	cJSON_Delete(root);
	return err;
}

/* ---- keys ---- */

/* s for a message: itself when short and printable, else what. */
static const char *shown(const char *s, const char *what)
{
	return s && json_plain(s) && strlen(s) < 80 ? s : what;
}

/* An EVP_PKEY of ECDSA on P-256, or BP_EINVAL naming what it is instead (pkey freed). */
static int check_p256(EVP_PKEY **pkey, const char *name)
{
	char group[80] = "";
	size_t glen = 0;

	if (EVP_PKEY_is_a(*pkey, "EC") &&
	    EVP_PKEY_get_utf8_string_param(*pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   &glen) == 1 &&
	    strcmp(group, "prime256v1") == 0)
		return 0;
	bp_error_set(BP_EINVAL, "%s: an ECDSA key on P-256 is needed (cosign's), not %s%s%s", name,
		     shown(EVP_PKEY_get0_type_name(*pkey), "this kind"), group[0] ? " on " : "",
		     shown(group, "another curve"));
	EVP_PKEY_free(*pkey);
	*pkey = NULL;
	return BP_EINVAL;
}

/* A PKCS#8 PrivateKeyInfo of len bytes, nothing after it. */
static EVP_PKEY *pkcs8_key(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	EVP_PKEY *pkey = p8 && p == der + len ? EVP_PKCS82PKEY(p8) : NULL;

	PKCS8_PRIV_KEY_INFO_free(p8);
	return pkey;
}

/* base64 member key of o into a new buffer of *len bytes, between min and max; NULL when not. */
static unsigned char *member_bytes(const cJSON *o, const char *key, size_t min, size_t max,
				   size_t *len)
{
	const char *s = cJSON_IsObject(o) ? member_string(o, key) : NULL;
	unsigned char *b;

	if (!s || strlen(s) > max / 3 * 4 + 4 || !(b = bp_base64_decode(s, len)))
		return NULL;
	if (*len < min || *len > max) {
		free(b);
		return NULL;
	}
	return b;
}

/* 1 when N, r, p are a parameter set cosign writes (go-securesystemslib's three). */
static int cosign_params(double n, double r, double p)
{
	return (n == 32768 || n == 65536 || n == 131072) && r == 8 && p == 1;
}

/*
 * Decrypt the JSON of an encrypted cosign key (json, jlen bytes): *plain
 * gets the PKCS#8 key, new buffer of *plen bytes, to wipe.
 */
static int cosign_decrypt(const unsigned char *json, size_t jlen, const char *name,
			  bp_passphrase_cb passphrase, void *payload, unsigned char **plain,
			  size_t *plen)
{
	const cJSON *kdf, *params, *cipher, *n, *r, *p;
	unsigned char *salt = NULL, *nonce = NULL, *ct = NULL, key[SECRETBOX_KEY];
	char pass[BP_PASSPHRASE_MAX + 1];
	size_t saltlen, noncelen, ctlen;
	cJSON *root;
	int err = BP_EINVAL;

	*plain = NULL;
	pass[0] = '\0';
	if (!(root = parse_whole((const char *)json, jlen)) || !cJSON_IsObject(root)) {
		bp_error_set(err, "%s: not cosign's encrypted key format (no JSON object inside)",
			     name);
		goto done;
	}
	kdf = cJSON_GetObjectItemCaseSensitive(root, "kdf");
	if (!member_string(kdf, "name") || strcmp(member_string(kdf, "name"), "scrypt") != 0) {
		bp_error_set(err, "%s: key derivation %s is not cosign's (scrypt)", name,
			     shown(member_string(kdf, "name"), "unknown"));
		goto done;
	}
	params = cJSON_GetObjectItemCaseSensitive(kdf, "params");
	n = cJSON_GetObjectItemCaseSensitive(params, "N");
	r = cJSON_GetObjectItemCaseSensitive(params, "r");
	p = cJSON_GetObjectItemCaseSensitive(params, "p");
	if (!cJSON_IsNumber(n) || !cJSON_IsNumber(r) || !cJSON_IsNumber(p)) {
		bp_error_set(err, "%s: scrypt parameters N, r and p missing", name);
		goto done;
	}
	/* anything else could make scrypt take all the memory or time there is */
	if (!cosign_params(n->valuedouble, r->valuedouble, p->valuedouble)) {
		bp_error_set(err,
			     "%s: scrypt parameters N=%.0f r=%.0f p=%.0f are not ones cosign "
			     "writes (N 32768, 65536 or 131072, r 8, p 1)",
			     name, n->valuedouble, r->valuedouble, p->valuedouble);
		goto done;
	}
	if (!(salt = member_bytes(kdf, "salt", 1, SALT_MAX, &saltlen))) {
		bp_error_set(err, "%s: the scrypt salt is not base64 of 1 to %d bytes", name,
			     SALT_MAX);
		goto done;
	}
	cipher = cJSON_GetObjectItemCaseSensitive(root, "cipher");
	if (!member_string(cipher, "name") ||
	    strcmp(member_string(cipher, "name"), "nacl/secretbox") != 0) {
		bp_error_set(err, "%s: cipher %s is not cosign's (nacl/secretbox)", name,
			     shown(member_string(cipher, "name"), "unknown"));
		goto done;
	}
	if (!(nonce = member_bytes(cipher, "nonce", SECRETBOX_NONCE, SECRETBOX_NONCE, &noncelen))) {
		bp_error_set(err, "%s: the secretbox nonce is not base64 of %d bytes", name,
			     SECRETBOX_NONCE);
		goto done;
	}
	if (!(ct = member_bytes(root, "ciphertext", crypto_secretbox_MACBYTES + 1,
				BP_COSIGN_KEY_FILE_MAX, &ctlen))) {
		bp_error_set(err, "%s: the ciphertext is not base64 of a sealed key", name);
		goto done;
	}
	if (!passphrase) {
		bp_error_set(err, "%s is encrypted: a passphrase is needed", name);
		goto done;
	}
	if ((err = passphrase(name, pass, sizeof(pass), payload)))
		goto done;
	pass[sizeof(pass) - 1] = '\0';
	err = BP_EINVAL;
	if (EVP_PBE_scrypt(pass, strlen(pass), salt, saltlen, (uint64_t)n->valuedouble,
			   (uint64_t)r->valuedouble, (uint64_t)p->valuedouble, SCRYPT_MAXMEM, key,
			   sizeof(key)) != 1) {
		err = bp_error_set(BP_ENOMEM, "%s: scrypt failed (out of memory?)", name);
		goto done;
	}
	if (sodium_init() < 0) {
		err = bp_error_set(BP_ERROR, "libsodium cannot start");
		goto done;
	}
	*plen = ctlen - crypto_secretbox_MACBYTES;
	if (!(*plain = malloc(*plen))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if (crypto_secretbox_open_easy(*plain, ct, ctlen, nonce, key) != 0) {
		free(*plain);
		*plain = NULL;
		bp_error_set(err, "%s: wrong passphrase (or a damaged key file)", name);
		goto done;
	}
	err = 0;
done:
	sodium_memzero(pass, sizeof(pass));
	sodium_memzero(key, sizeof(key));
	free(salt);
	free(nonce);
	free(ct);
	cJSON_Delete(root);
	return err;
}

/* The private key of a PEM block of type label; see bp_cosign__key_parse(). */
static int private_key(EVP_PKEY **out, const char *label, const unsigned char *der, size_t len,
		       const char *name, bp_passphrase_cb passphrase, void *payload)
{
	const unsigned char *p = der;
	unsigned char *plain = NULL;
	size_t plen = 0;
	int err;

	if (strcmp(label, "PRIVATE KEY") == 0) {
		*out = pkcs8_key(der, len);
	} else if (strcmp(label, "EC PRIVATE KEY") == 0) {
		*out = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)len);
		if (*out && p != der + len) {
			EVP_PKEY_free(*out);
			*out = NULL;
		}
	} else if (strcmp(label, "ENCRYPTED SIGSTORE PRIVATE KEY") == 0 ||
		   strcmp(label, "ENCRYPTED COSIGN PRIVATE KEY") == 0) {
		if ((err = cosign_decrypt(der, len, name, passphrase, payload, &plain, &plen)))
			return err;
		*out = pkcs8_key(plain, plen);
		OPENSSL_cleanse(plain, plen);
		free(plain);
	} else if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0) {
		return bp_error_set(BP_EINVAL,
				    "%s: an encrypted PKCS#8 key, which beampush does not read: "
				    "use cosign's key file, or decrypt it (openssl pkey)",
				    name);
	} else if (strcmp(label, "PUBLIC KEY") == 0) {
		return bp_error_set(BP_EINVAL, "%s is a public key: signing needs the private key",
				    name);
	} else {
		return bp_error_set(BP_EINVAL, "%s: a PEM block of type %s, not a private key",
				    name, shown(label, "unknown"));
	}
	if (!*out)
		return bp_error_set(BP_EINVAL, "%s: the %s block does not hold a valid key", name,
				    label);
	return 0;
}

/* Parse a key file; see cosign.h. */
int bp_cosign__key_parse(EVP_PKEY **out, int want_private, const char *data, size_t len,
			 const char *name, bp_passphrase_cb passphrase, void *payload)
{
	char *label = NULL, *header = NULL;
	unsigned char *der = NULL;
	long derlen = 0;
	BIO *bio = NULL;
	int err;

	*out = NULL;
	if (len > BP_COSIGN_KEY_FILE_MAX)
		return bp_error_set(BP_EINVAL, "%s: larger than %d KiB, not a key file", name,
				    BP_COSIGN_KEY_FILE_MAX / 1024);
	if (!(bio = BIO_new_mem_buf(data, (int)len)))
		return bp_error_set(BP_ENOMEM, "out of memory");
	if (PEM_read_bio(bio, &label, &header, &der, &derlen) != 1 || derlen <= 0) {
		err = bp_error_set(BP_EINVAL, "%s: not a key file (no PEM block)", name);
		goto done;
	}
	if (header && *header) {
		err = bp_error_set(BP_EINVAL,
				   "%s: a PEM block with headers (legacy encryption), "
				   "which beampush does not read",
				   name);
		goto done;
	}
	if (want_private) {
		err = private_key(out, label, der, (size_t)derlen, name, passphrase, payload);
	} else if (strcmp(label, "PUBLIC KEY") == 0) {
		const unsigned char *p = der;

		*out = d2i_PUBKEY(NULL, &p, derlen);
		if (*out && p != der + derlen) {
			EVP_PKEY_free(*out);
			*out = NULL;
		}
		err = *out ? 0
			   : bp_error_set(BP_EINVAL,
					  "%s: the PUBLIC KEY block does not hold a "
					  "valid key",
					  name);
	} else if (strstr(label, "PRIVATE KEY")) {
		err = bp_error_set(BP_EINVAL,
				   "%s is a private key: verifying needs the public "
				   "key (cosign.pub)",
				   name);
	} else {
		err = bp_error_set(BP_EINVAL, "%s: a PEM block of type %s, not a public key", name,
				   shown(label, "unknown"));
	}
	if (!err)
		err = check_p256(out, name);
done:
	if (der)
		OPENSSL_cleanse(der, (size_t)derlen);
	OPENSSL_free(der);
	OPENSSL_free(label);
	OPENSSL_free(header);
	BIO_free(bio);
	ERR_clear_error();
	return err;
}

/* ---- signatures ---- */

/* Decode a signature annotation; see cosign.h. */
int bp_cosign__signature_decode(const char *b64, unsigned char **der, size_t *len)
{
	const unsigned char *p;
	ECDSA_SIG *sig = NULL;
	int ok;

	*der = NULL;
	if (strlen(b64) > BP_COSIGN_SIGNATURE_MAX / 3 * 4 + 4 ||
	    !(*der = bp_base64_decode(b64, len)))
		return bp_error_set(BP_EPROTO, "signature annotation is not base64");
	p = *der;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)*len);
	/* strict DER: all of it, and encoded back to as many bytes */
	ok = sig && p == *der + *len && i2d_ECDSA_SIG(sig, NULL) == (int)*len;
	ECDSA_SIG_free(sig);
	ERR_clear_error();
	if (ok)
		return 0;
	free(*der);
	*der = NULL;
	return bp_error_set(BP_EPROTO, "signature is not a DER ECDSA signature");
}

/* Sign; see cosign.h. */
int bp_cosign__sign(EVP_PKEY *key, const char *data, size_t len, char **b64)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int err = 0;

	*b64 = NULL;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, len) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, len) != 1)
		err = bp_error_set(BP_ERROR, "cannot sign the payload (OpenSSL)");
	else if (!(*b64 = bp_base64_encode(sig, siglen)))
		err = bp_error_set(BP_ENOMEM, "out of memory");
	free(sig);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return err;
}

/* Verify; see cosign.h. */
int bp_cosign__verify(EVP_PKEY *key, const char *data, size_t len, const unsigned char *der,
		      size_t derlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
		 EVP_DigestVerify(ctx, der, derlen, (const unsigned char *)data, len) == 1;

	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}
