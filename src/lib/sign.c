/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signatures on a registry (see sign.h): sign a digest as `cosign sign
 * --key` does, list an image's signatures, and require one that a key
 * verifies, as `cosign verify --key` checks it. The formats are
 * cosign.c's; this file holds what talks to the registry.
 */
#include <beampush/sign.h>

#include "client.h"
#include "cosign.h"
#include "registry.h"
#include "steps.h"
#include "util/dynbuf.h"
#include "util/fileutil.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Both hold their key as the first member, which hold() fills. */
struct bp_sign_key {
	EVP_PKEY *pkey;
};

struct bp_verify_key {
	EVP_PKEY *pkey;
};

EVP_PKEY *bp_sign__pkey(const bp_sign_key *k)
{
	return k->pkey;
}

EVP_PKEY *bp_verify__pkey(const bp_verify_key *k)
{
	return k->pkey;
}

/* ---- keys ---- */

/*
 * A key file's bytes (data, or the file at path when data is NULL) parsed
 * into *pkey; the file's bytes are wiped. BP_EINVAL naming a file that
 * cannot be read.
 */
static int key_of(EVP_PKEY **pkey, int private, const char *path, const char *data, size_t len,
		  const char *name, bp_passphrase_cb passphrase, void *payload)
{
	char *file = NULL;
	int err;

	*pkey = NULL;
	if (!data && bp_read_file(path, BP_COSIGN_KEY_FILE_MAX, &file, &len) < 0) {
		if (errno == EFBIG)
			return bp_error_set(BP_EINVAL, "%s: larger than %d KiB, not a key file",
					    path, BP_COSIGN_KEY_FILE_MAX / 1024);
		return bp_error_set(BP_EINVAL, "cannot read the key %s: %s", path, strerror(errno));
	}
	err = bp_cosign__key_parse(pkey, private, data ? data : file, len, name, passphrase,
				   payload);
	if (file)
		OPENSSL_cleanse(file, len);
	free(file);
	return err;
}

/* A handle holding pkey (freed when there is no memory for it): a key of either kind. */
static void *hold(EVP_PKEY *pkey, size_t size)
{
	EVP_PKEY **k = calloc(1, size);

	if (!k) {
		EVP_PKEY_free(pkey);
		bp_error_set(BP_ENOMEM, "out of memory");
		return NULL;
	}
	*k = pkey;
	return k;
}

/* Parse a private key; see sign.h. */
int bp_sign_key_parse(bp_sign_key **out, const char *data, size_t len, const char *name,
		      bp_passphrase_cb passphrase, void *payload)
{
	EVP_PKEY *pkey;
	int err = key_of(&pkey, 1, NULL, data, len, name, passphrase, payload);

	*out = err ? NULL : hold(pkey, sizeof(**out));
	return err ? err : *out ? 0 : BP_ENOMEM;
}

/* Load a private key; see sign.h. */
int bp_sign_key_load(bp_sign_key **out, const char *path, bp_passphrase_cb passphrase,
		     void *payload)
{
	EVP_PKEY *pkey;
	int err = key_of(&pkey, 1, path, NULL, 0, path, passphrase, payload);

	*out = err ? NULL : hold(pkey, sizeof(**out));
	return err ? err : *out ? 0 : BP_ENOMEM;
}

void bp_sign_key_free(bp_sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* Parse a public key; see sign.h. */
int bp_verify_key_parse(bp_verify_key **out, const char *data, size_t len, const char *name)
{
	EVP_PKEY *pkey;
	int err = key_of(&pkey, 0, NULL, data, len, name, NULL, NULL);

	*out = err ? NULL : hold(pkey, sizeof(**out));
	return err ? err : *out ? 0 : BP_ENOMEM;
}

/* Load a public key; see sign.h. */
int bp_verify_key_load(bp_verify_key **out, const char *path)
{
	EVP_PKEY *pkey;
	int err = key_of(&pkey, 0, path, NULL, 0, path, NULL, NULL);

	*out = err ? NULL : hold(pkey, sizeof(**out));
	return err ? err : *out ? 0 : BP_ENOMEM;
}

void bp_verify_key_free(bp_verify_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* Require a signature on every pull; see sign.h. */
void bp_client_require_signature(bp_client *c, const bp_verify_key *key)
{
	c->verify_key = key;
}

/* ---- blobs ---- */

/* A payload into a buffer capped at its declared size. */
static int capped_write(const void *data, size_t len, void *payload)
{
	bp_dynbuf *b = payload;

	if (bp_dynbuf_add(b, data, len) == 0)
		return 0;
	return bp_error_set(bp_dynbuf_full(b, len) ? BP_EINTEGRITY : BP_ENOMEM,
			    bp_dynbuf_full(b, len) ? "registry sent more bytes than the "
						     "descriptor gives"
						   : "out of memory");
}

/* 1 when err says this one blob is not to be had (the others may be); else the fetch failed. */
static int blob_unusable(int err)
{
	return err == BP_ENOTFOUND || err == BP_EINTEGRITY || err == BP_EPROTO ||
	       err == BP_EUNSUPPORTED;
}

/*
 * The payload l names, verified against its size and digest: 0 and *out
 * (new buffer of *len bytes); 1 when it cannot be had, *problem saying
 * why (new string); < 0 when the registry failed otherwise.
 */
static int fetch_payload(bp_registry *reg, const char *repo, const bp_cosign_layer *l, char **out,
			 size_t *len, char **problem)
{
	bp_dynbuf b = BP_DYNBUF_INIT((size_t)l->size);
	char got[BP_DIGEST_MAX];
	int err;

	*out = NULL;
	if (l->size > BP_COSIGN_PAYLOAD_MAX) {
		*problem = bp_aprintf("payload of %" PRId64 " bytes, more than the %d read",
				      l->size, BP_COSIGN_PAYLOAD_MAX);
		return 1;
	}
	err = bp_registry__blob_get(reg, repo, l->digest, l->size, 0, capped_write, &b);
	if (!err && (int64_t)b.len != l->size)
		err = bp_error_set(BP_EINTEGRITY,
				   "registry sent %zu bytes, the descriptor gives %" PRId64, b.len,
				   l->size);
	if (!err && !(err = bp_digest_buf(got, b.ptr ? b.ptr : "", b.len)) &&
	    !bp_digest_equal(got, l->digest))
		err = bp_error_set(BP_EINTEGRITY, "registry sent bytes that hash to %s", got);
	if (!err) {
		if (!b.ptr && bp_dynbuf_add(&b, "", 0) < 0)
			err = bp_error_set(BP_ENOMEM, "out of memory");
		else
			*out = bp_dynbuf_detach(&b, len);
	} else if (blob_unusable(err)) {
		*problem = bp_aprintf("payload blob: %s", bp_error_last());
		err = 1;
	}
	bp_dynbuf_release(&b);
	return err;
}

/* ---- a digest's signatures ---- */

/* The list behind a bp_signatures: the public view first. */
typedef struct {
	bp_signatures pub;
	bp_cosign_manifest m;
	bp_signature *v;
	char **owned; /* image, identity, problem of each signature: 3 * m.n */
} sig_list;

void bp_signatures_free(bp_signatures *s)
{
	sig_list *l = (sig_list *)s;
	size_t i;

	if (!l)
		return;
	for (i = 0; l->owned && i < 3 * l->m.n; i++)
		free(l->owned[i]);
	free(l->owned);
	free(l->v);
	bp_cosign__manifest_release(&l->m);
	free(l);
}

/*
 * Check layer i of l, into l->v[i]: fetch its payload, verify its
 * signature with key (when given) and compare the digest it names with
 * want. 0, or < 0 when the registry failed.
 */
static int check_layer(bp_registry *reg, const char *repo, sig_list *l, size_t i,
		       const bp_verify_key *key, const char *want)
{
	const bp_cosign_layer *layer = &l->m.layers[i];
	bp_signature *s = &l->v[i];
	char **image = &l->owned[3 * i], **identity = &l->owned[3 * i + 1],
	     **problem = &l->owned[3 * i + 2];
	unsigned char *der = NULL;
	char *payload = NULL;
	size_t derlen = 0, len = 0;
	int err = 0, good;

	s->digest = layer->digest[0] ? layer->digest : NULL;
	s->state = BP_SIGNATURE_MALFORMED;
	if (layer->problem) {
		s->problem = layer->problem;
		return 0;
	}
	/* what costs no request first: a thousand bad layers are refused quickly */
	if (bp_cosign__signature_decode(layer->signature, &der, &derlen)) {
		*problem = bp_strdup(bp_error_last());
		goto done;
	}
	if ((err = fetch_payload(reg, repo, layer, &payload, &len, problem))) {
		err = err > 0 ? 0 : err;
		goto done;
	}
	good = key && bp_cosign__verify(bp_verify__pkey(key), payload, len, der, derlen);
	if (bp_cosign__payload_parse(payload, len, image, identity)) {
		/* another key's payload is its business; the key's must be readable */
		if (key && !good)
			s->state = BP_SIGNATURE_OTHER_KEY;
		else
			*problem = bp_strdup(bp_error_last());
		goto done;
	}
	if (!key)
		s->state = BP_SIGNATURE_UNCHECKED;
	else if (!good)
		s->state = BP_SIGNATURE_OTHER_KEY;
	else
		s->state = bp_digest_equal(*image, want) ? BP_SIGNATURE_VERIFIED
							 : BP_SIGNATURE_OTHER_DIGEST;
done:
	bp_error_clear();
	s->image = *image;
	s->identity = *identity;
	s->problem = s->state == BP_SIGNATURE_MALFORMED ? *problem : NULL;
	if (s->state == BP_SIGNATURE_MALFORMED && !s->problem)
		s->problem = "out of memory";
	free(der);
	free(payload);
	return err;
}

/*
 * The signatures of digest in repo, each checked with key (when given);
 * with until_verified, the list ends at the first that verifies. A
 * manifest at the tag that is no signature manifest is BP_ESIGNATURE.
 */
static int list_signatures(bp_registry *reg, const char *repo, const char *digest,
			   const bp_verify_key *key, int until_verified, sig_list **out)
{
	bp_fetched f = { NULL, 0, NULL, "", NULL };
	sig_list *l;
	size_t i;
	int err;

	*out = NULL;
	if (bp_digest_validate(digest))
		return bp_error_last_code();
	if (!(l = calloc(1, sizeof(*l))))
		return bp_error_set(BP_ENOMEM, "out of memory");
	bp_cosign__tag(l->pub.tag, digest);
	err = bp_steps__manifest_fetch(reg, repo, l->pub.tag, 0, BP_FETCH_BYTES, NULL, &f);
	if (err == BP_ENOTFOUND) {
		bp_error_clear();
		err = 0;
		goto done;
	}
	if (err)
		goto done;
	l->pub.found = 1;
	if (bp_cosign__manifest_parse(&l->m, f.bytes, f.len)) {
		char why[512];

		bp_strlcpy(why, bp_error_last(), sizeof(why));
		err = bp_error_set(BP_ESIGNATURE,
				   "the manifest at tag %s is no signature manifest: %s",
				   l->pub.tag, why);
		goto done;
	}
	if (l->m.n && (!(l->v = calloc(l->m.n, sizeof(*l->v))) ||
		       !(l->owned = calloc(3 * l->m.n, sizeof(*l->owned))))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < l->m.n; i++) {
		if ((err = check_layer(reg, repo, l, i, key, digest)))
			goto done;
		l->pub.n = i + 1;
		if (until_verified && l->v[i].state == BP_SIGNATURE_VERIFIED)
			break;
	}
	l->pub.v = l->v;
done:
	bp_steps__fetched_release(&f);
	if (err)
		bp_signatures_free(&l->pub);
	else
		*out = l;
	return err;
}

/* List signatures; see sign.h. */
int bp_signatures_list(bp_client *c, const bp_reference *ref, const char *digest,
		       const bp_verify_key *key, bp_signatures **out)
{
	bp_registry *reg = NULL;
	sig_list *l = NULL;
	int err;

	*out = NULL;
	if (!(err = bp_client__open_registry(c, bp_reference_domain(ref), NULL, 0, &reg)))
		err = list_signatures(reg, bp_reference_path(ref), digest, key, 0, &l);
	bp_registry__free(reg);
	if (!err)
		*out = &l->pub;
	return err;
}

static const char *state_name(bp_signature_state s)
{
	switch (s) {
	case BP_SIGNATURE_UNCHECKED:
		return "unchecked";
	case BP_SIGNATURE_VERIFIED:
		return "verified";
	case BP_SIGNATURE_OTHER_KEY:
		return "other key";
	case BP_SIGNATURE_OTHER_DIGEST:
		return "other digest";
	default:
		return "malformed";
	}
}

/* A string member, or null for NULL. */
static int add_string(cJSON *o, const char *key, const char *s)
{
	return (s ? cJSON_AddStringToObject(o, key, s) : cJSON_AddNullToObject(o, key)) != NULL;
}

/* The list as JSON; see sign.h. */
int bp_signatures_json(const bp_signatures *s, char **out, size_t *len)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	size_t i;
	int ok = arr != NULL;

	*out = NULL;
	for (i = 0; ok && i < s->n; i++) {
		const bp_signature *v = &s->v[i];

		ok = (o = cJSON_CreateObject()) && cJSON_AddItemToArray(arr, o) &&
		     add_string(o, "Digest", v->digest) && add_string(o, "Image", v->image) &&
		     add_string(o, "Identity", v->identity) &&
		     add_string(o, "State", state_name(v->state)) &&
		     add_string(o, "Problem", v->problem);
	}
	if (ok)
		ok = (*out = cJSON_PrintUnformatted(arr)) != NULL;
	cJSON_Delete(arr);
	if (!ok)
		return bp_error_set(BP_ENOMEM, "out of memory");
	*len = strlen(*out);
	return 0;
}

/*
 * 0 when one of s verified; else BP_ESIGNATURE saying what was found,
 * counted by kind, with the first of each kind's detail.
 */
int bp_signatures_check(const bp_signatures *l, const char *digest)
{
	size_t other_key = 0, other_digest = 0, malformed = 0, i;
	const char *digest_seen = NULL, *problem = NULL;
	char what[700] = "";
	size_t w = 0;

	for (i = 0; i < l->n; i++)
		if (l->v[i].state == BP_SIGNATURE_VERIFIED)
			return 0;
	if (!l->found)
		return bp_error_set(BP_ESIGNATURE,
				    "no valid signature for %s: it has no signature (no tag %s)",
				    digest, l->tag);
	if (!l->n)
		return bp_error_set(BP_ESIGNATURE,
				    "no valid signature for %s: the manifest at tag %s lists no "
				    "signature",
				    digest, l->tag);
	for (i = 0; i < l->n; i++) {
		const bp_signature *s = &l->v[i];

		if (s->state == BP_SIGNATURE_OTHER_KEY) {
			other_key++;
		} else if (s->state == BP_SIGNATURE_OTHER_DIGEST) {
			if (!other_digest++)
				digest_seen = s->image;
		} else if (!malformed++) {
			problem = s->problem;
		}
	}
	if (other_key)
		w += (size_t)snprintf(what + w, sizeof(what) - w, "%zu by another key", other_key);
	if (other_digest && w < sizeof(what))
		w += (size_t)snprintf(what + w, sizeof(what) - w, "%s%zu naming another image (%s)",
				      w ? ", " : "", other_digest, digest_seen);
	if (malformed && w < sizeof(what))
		snprintf(what + w, sizeof(what) - w, "%s%zu malformed (%s)", w ? ", " : "",
			 malformed, problem);
	return bp_error_set(BP_ESIGNATURE,
			    "no valid signature for %s: %zu signature%s at tag %s, none made "
			    "with the key for this digest: %s",
			    digest, l->n, l->n == 1 ? "" : "s", l->tag, what);
}

/* Require a signature of digest in an open registry; see cosign.h. */
int bp_sign__require(bp_client *c, bp_registry *reg, const char *repo, const char *digest)
{
	sig_list *l = NULL;
	size_t i;
	int err;

	if ((err = list_signatures(reg, repo, digest, c->verify_key, 1, &l)))
		return err;
	for (i = 0; i < l->pub.n; i++)
		if (l->pub.v[i].state == BP_SIGNATURE_VERIFIED)
			bp_client__debug(c, "%s: signature %zu at tag %s (payload %s) verifies",
					 digest, i + 1, l->pub.tag, l->pub.v[i].digest);
	err = bp_signatures_check(&l->pub, digest);
	bp_signatures_free(&l->pub);
	return err;
}

/* Verify; see sign.h. */
int bp_signatures_verify(bp_client *c, const bp_reference *ref, const char *digest,
			 const bp_verify_key *key)
{
	const bp_verify_key *was = c->verify_key;
	bp_registry *reg = NULL;
	int err;

	if (!(err = bp_client__open_registry(c, bp_reference_domain(ref), NULL, 0, &reg))) {
		c->verify_key = key;
		err = bp_sign__require(c, reg, bp_reference_path(ref), digest);
		c->verify_key = was;
	}
	bp_registry__free(reg);
	return err;
}

/* ---- signing ---- */

/* Put len bytes as blob digest into repo, unless it is there. */
static int put_blob(bp_client *c, bp_registry *reg, const char *repo, const char *bytes, size_t len,
		    const char *digest)
{
	char got[BP_DIGEST_MAX];
	bp_upload *u = NULL;
	int64_t size = 0;
	int err;

	if (bp_registry__blob_exists(reg, repo, digest, NULL) == 0)
		return 0;
	bp_error_clear();
	if (!(err = bp_registry__upload_begin(reg, repo, c->stream_chunk, NULL, NULL, &u)) &&
	    !(err = bp_registry__upload_write(u, bytes, len)) &&
	    !(err = bp_registry__upload_finish(u, got, &size)) && !bp_digest_equal(got, digest))
		err = bp_error_set(BP_EINTEGRITY, "blob %s: the registry stored %s", digest, got);
	bp_registry__upload_free(u);
	return err;
}

/* 1 when a layer of m is key's signature of payload already (cosign's duplicate check). */
static int signed_already(const bp_cosign_manifest *m, const char *payload, size_t len,
			  const char *payload_digest, EVP_PKEY *key)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const bp_cosign_layer *l = &m->layers[i];
		unsigned char *der = NULL;
		size_t derlen = 0;
		int same;

		if (l->problem || !bp_digest_equal(l->digest, payload_digest) ||
		    bp_cosign__signature_decode(l->signature, &der, &derlen))
			continue;
		same = bp_cosign__verify(key, payload, len, der, derlen);
		free(der);
		if (same)
			return 1;
	}
	bp_error_clear();
	return 0;
}

/* The signature manifest with a layer more, its blobs put, and the manifest put under tag. */
static int add_signature(bp_client *c, bp_registry *reg, const char *repo,
			 const bp_cosign_manifest *m, const char *payload, size_t plen,
			 const char *payload_digest, const char *signature, bp_sign_result *r)
{
	const char **digests = calloc((m ? m->n : 0) + 1, sizeof(*digests));
	char *config = NULL, *manifest = NULL, config_digest[BP_DIGEST_MAX], got[BP_DIGEST_MAX];
	const char *media_type;
	size_t clen = 0, mlen = 0, n = 0, i;
	int err;

	if (!digests)
		return bp_error_set(BP_ENOMEM, "out of memory");
	/* one more would make a manifest cosign (and beampush) refuse to read */
	if (m && m->n >= BP_COSIGN_LAYERS_MAX) {
		err = bp_error_set(BP_EUNSUPPORTED,
				   "the signature manifest holds %zu signatures already, the most "
				   "cosign reads",
				   m->n);
		goto done;
	}
	for (i = 0; m && i < m->n; i++) {
		/* the config lists every layer's digest: a layer without one cannot be kept */
		if (!m->layers[i].digest[0] || m->layers[i].size < 0) {
			err = bp_error_set(BP_EPROTO,
					   "layer %zu of the signature manifest: %s, "
					   "left as it is",
					   i + 1, m->layers[i].problem);
			goto done;
		}
		digests[n++] = m->layers[i].digest;
	}
	digests[n++] = payload_digest;
	if ((err = bp_cosign__config(digests, n, &config, &clen)) ||
	    (err = bp_digest_buf(config_digest, config, clen)) ||
	    (err = bp_cosign__manifest_add(m, payload_digest, (int64_t)plen, signature,
					   config_digest, (int64_t)clen, &manifest, &mlen,
					   &media_type)) ||
	    (err = bp_digest_buf(r->digest, manifest, mlen)) ||
	    (err = put_blob(c, reg, repo, payload, plen, payload_digest)) ||
	    (err = put_blob(c, reg, repo, config, clen, config_digest)) ||
	    (err = bp_registry__manifest_put(reg, repo, r->tag, manifest, mlen, media_type, got)))
		goto done;
	if (got[0] && !bp_digest_equal(got, r->digest)) {
		err = bp_error_set(
			BP_EINTEGRITY,
			"signature manifest %s: registry answered Docker-Content-Digest %s",
			r->digest, got);
		goto done;
	}
	r->count = n;
	r->added = 1;
done:
	free(digests);
	free(config);
	free(manifest);
	return err;
}

/* Sign a digest; see sign.h. */
int bp_sign(bp_client *c, const bp_reference *ref, const char *digest, const bp_sign_key *key,
	    bp_sign_result *out)
{
	const char *repo = bp_reference_path(ref);
	bp_cosign_manifest m = BP_COSIGN_MANIFEST_INIT;
	bp_fetched f = { NULL, 0, NULL, "", NULL };
	char *identity = NULL, *payload = NULL, *signature = NULL, pdigest[BP_DIGEST_MAX];
	bp_registry *reg = NULL;
	bp_sign_result r;
	size_t plen = 0;
	int err, have;

	memset(&r, 0, sizeof(r));
	if ((err = bp_digest_validate(digest)))
		goto done;
	bp_cosign__tag(r.tag, digest);
	if (!(identity = bp_cosign__identity(bp_reference_domain(ref), repo))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = bp_cosign__payload(identity, digest, &payload, &plen)) ||
	    (err = bp_digest_buf(pdigest, payload, plen)) ||
	    (err = bp_cosign__sign(key->pkey, payload, plen, &signature)) ||
	    (err = bp_client__open_registry(c, bp_reference_domain(ref), NULL, 1, &reg)))
		goto done;
	err = bp_steps__manifest_fetch(reg, repo, r.tag, 0, BP_FETCH_BYTES, NULL, &f);
	have = !err;
	if (err == BP_ENOTFOUND) {
		bp_error_clear();
		err = 0;
	}
	if (err)
		goto done;
	if (have && bp_cosign__manifest_parse(&m, f.bytes, f.len)) {
		err = bp_error_prefix("the manifest at tag %s of %s is no signature manifest, "
				      "left as it is",
				      r.tag, bp_reference_name(ref));
		goto done;
	}
	if (have && signed_already(&m, payload, plen, pdigest, key->pkey)) {
		bp_strlcpy(r.digest, f.digest, sizeof(r.digest));
		r.count = m.n;
		bp_client__debug(c, "%s: signed with this key already (tag %s)", digest, r.tag);
		goto done;
	}
	if ((err = add_signature(c, reg, repo, have ? &m : NULL, payload, plen, pdigest, signature,
				 &r))) {
		bp_error_prefix("signing %s at tag %s", digest, r.tag);
		goto done;
	}
	bp_client__debug(c, "%s: signature %zu put at tag %s (%s)", digest, r.count, r.tag,
			 r.digest);
done:
	if (!err && out)
		*out = r;
	bp_cosign__manifest_release(&m);
	bp_steps__fetched_release(&f);
	bp_registry__free(reg);
	free(identity);
	free(payload);
	free(signature);
	return err;
}
