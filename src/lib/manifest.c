/* SPDX-License-Identifier: Apache-2.0 */
#include <beampush/manifest.h>

#include "util/dynbuf.h"
#include "util/strutil.h"

#include <cjson/cJSON.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

/* Sizes at or above 2^53 cannot be told apart from their neighbours in a double. */
#define SIZE_EXACT_LIMIT 9007199254740992.0

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

struct bp_manifest {
	bp_manifest_kind kind;
	const char *media_type; /* one of the BP_MEDIA_* literals */
	int has_config;
	bp_descriptor config;
	bp_descriptor *items;
	size_t n;
};

static const struct {
	const char *type;
	bp_manifest_kind kind;
} kinds[] = {
	{ BP_MEDIA_DOCKER_MANIFEST, BP_MANIFEST_DOCKER_V2 },
	{ BP_MEDIA_DOCKER_LIST, BP_MANIFEST_DOCKER_LIST },
	{ BP_MEDIA_OCI_MANIFEST, BP_MANIFEST_OCI },
	{ BP_MEDIA_OCI_INDEX, BP_MANIFEST_OCI_INDEX },
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The kind for an exact media type string. */
bp_manifest_kind bp_manifest_kind_of(const char *media_type)
{
	size_t i;

	if (!media_type)
		return BP_MANIFEST_UNKNOWN;
	for (i = 0; i < NKINDS; i++) {
		if (strcmp(media_type, kinds[i].type) == 0)
			return kinds[i].kind;
	}
	return BP_MANIFEST_UNKNOWN;
}

/* 1 for an index or a manifest list. */
int bp_manifest_kind_is_index(bp_manifest_kind k)
{
	return k == BP_MANIFEST_DOCKER_LIST || k == BP_MANIFEST_OCI_INDEX;
}

static const char *kind_media_type(bp_manifest_kind k)
{
	size_t i;

	for (i = 0; i < NKINDS; i++) {
		if (kinds[i].kind == k)
			return kinds[i].type;
	}
	return NULL;
}

/*
 * The bare media type of a Content-Type header value: parameters and
 * surrounding blanks dropped. Sets *len; returns its start.
 */
static const char *bare_media_type(const char *ct, size_t *len)
{
	const char *end;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	end = strchr(ct, ';');
	if (!end)
		end = ct + strlen(ct);
	while (end > ct && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*len = (size_t)(end - ct);
	return ct;
}

/* Media types are case-insensitive on the wire (RFC 9110). */
static bp_manifest_kind kind_of_n(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < NKINDS; i++) {
		if (strlen(kinds[i].type) == n && strncasecmp(s, kinds[i].type, n) == 0)
			return kinds[i].kind;
	}
	return BP_MANIFEST_UNKNOWN;
}

/* A Content-Type that says nothing about which manifest this is. */
static int generic_type(const char *s, size_t n)
{
	static const char *const generic[] = {
		"application/json",
		"application/octet-stream",
		"text/plain",
	};
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
		if (strlen(generic[i]) == n && strncasecmp(s, generic[i], n) == 0)
			return 1;
	}
	return 0;
}

static void descriptor_release(bp_descriptor *d)
{
	free((char *)d->media_type);
	free((char *)d->os);
	free((char *)d->arch);
	free((char *)d->variant);
	free((char *)d->ref_name);
	memset(d, 0, sizeof(*d));
}

/*
 * Copy the string member key of obj into *out. Absent: *out stays NULL and,
 * when required, BP_EINVAL. where names the object in messages.
 */
static int get_string(const cJSON *obj, const char *key, int required, const char *where,
		      const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!v) {
		if (required)
			return bp_error_set(BP_EINVAL, "manifest %s: no %s", where, key);
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return bp_error_set(BP_EINVAL, "manifest %s: %s is not a string", where, key);
	if (required && !*v->valuestring)
		return bp_error_set(BP_EINVAL, "manifest %s: %s is empty", where, key);
	*out = bp_strdup(v->valuestring);
	if (!*out)
		return bp_error_set(BP_ENOMEM, "out of memory parsing manifest");
	return 0;
}

/* A JSON number that is a whole byte count, exactly representable. */
static int get_size(const cJSON *obj, const char *where, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "size");
	double d;

	if (!v)
		return bp_error_set(BP_EINVAL, "manifest %s: no size", where);
	if (!cJSON_IsNumber(v))
		return bp_error_set(BP_EINVAL, "manifest %s: size is not a number", where);
	d = v->valuedouble;
	if (!(d >= 0))
		return bp_error_set(BP_EINVAL, "manifest %s: size %g is negative", where, d);
	/* Checked before the cast below, which would be undefined past int64. */
	if (d >= SIZE_EXACT_LIMIT)
		return bp_error_set(
			BP_EINVAL,
			"manifest %s: size %g is too large to be exact (2^53 bytes or more)", where,
			d);
	if ((double)(int64_t)d != d)
		return bp_error_set(BP_EINVAL, "manifest %s: size %g is not a whole number", where,
				    d);
	*out = (int64_t)d;
	return 0;
}

/* Fill d from the descriptor object j; index entries also read platform and ref name. */
static int parse_descriptor(bp_descriptor *d, const cJSON *j, const char *where, int entry)
{
	const cJSON *v;
	const char *digest = NULL;
	int r;

	if (!cJSON_IsObject(j))
		return bp_error_set(BP_EINVAL, "manifest %s: not a JSON object", where);
	if ((r = get_string(j, "mediaType", 1, where, &d->media_type)) < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(j, "digest");
	if (!v)
		return bp_error_set(BP_EINVAL, "manifest %s: no digest", where);
	if (!cJSON_IsString(v) || !v->valuestring)
		return bp_error_set(BP_EINVAL, "manifest %s: digest is not a string", where);
	digest = v->valuestring;
	if ((r = bp_digest_validate(digest)) < 0)
		return bp_error_prefix("manifest %s", where);
	bp_strlcpy(d->digest, digest, sizeof(d->digest));
	if ((r = get_size(j, where, &d->size)) < 0)
		return r;
	if (!entry)
		return 0;

	v = cJSON_GetObjectItemCaseSensitive(j, "platform");
	if (v) {
		char pwhere[64];

		if (!cJSON_IsObject(v))
			return bp_error_set(BP_EINVAL, "manifest %s: platform is not an object",
					    where);
		snprintf(pwhere, sizeof(pwhere), "%s.platform", where);
		if ((r = get_string(v, "os", 1, pwhere, &d->os)) < 0 ||
		    (r = get_string(v, "architecture", 1, pwhere, &d->arch)) < 0 ||
		    (r = get_string(v, "variant", 0, pwhere, &d->variant)) < 0)
			return r;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "annotations");
	if (v) {
		char awhere[64];

		if (!cJSON_IsObject(v))
			return bp_error_set(BP_EINVAL, "manifest %s: annotations is not an object",
					    where);
		snprintf(awhere, sizeof(awhere), "%s.annotations", where);
		if ((r = get_string(v, REF_NAME_ANNOTATION, 0, awhere, &d->ref_name)) < 0)
			return r;
	}
	return 0;
}

/* Parse the array member key of root into m->items. */
static int parse_list(bp_manifest *m, const cJSON *root, const char *key, int entries)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key), *it;
	int n;

	if (!arr)
		return bp_error_set(BP_EINVAL, "manifest has no %s", key);
	if (!cJSON_IsArray(arr))
		return bp_error_set(BP_EINVAL, "manifest %s is not an array", key);
	n = cJSON_GetArraySize(arr);
	if (n > 0) {
		m->items = calloc((size_t)n, sizeof(*m->items));
		if (!m->items)
			return bp_error_set(BP_ENOMEM, "out of memory parsing manifest");
	}
	cJSON_ArrayForEach (it, arr) {
		char where[64];
		int r;

		snprintf(where, sizeof(where), "%s[%zu]", key, m->n);
		/* Counted first, so that free releases a half-filled entry. */
		m->n++;
		if ((r = parse_descriptor(&m->items[m->n - 1], it, where, entries)) < 0)
			return r;
	}
	return 0;
}

/*
 * Decide the kind: the mediaType field wins; else the Content-Type; else,
 * with no usable Content-Type either, the shape of the body.
 */
static int decide_kind(const cJSON *root, const char *content_type, bp_manifest_kind *out)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "mediaType");
	const cJSON *sv;
	const char *ct = "";
	size_t ctlen = 0;
	bp_manifest_kind ck = BP_MANIFEST_UNKNOWN, k;

	if (content_type) {
		ct = bare_media_type(content_type, &ctlen);
		ck = kind_of_n(ct, ctlen);
	}
	if (mt) {
		if (!cJSON_IsString(mt) || !mt->valuestring)
			return bp_error_set(BP_EINVAL, "manifest mediaType is not a string");
		k = bp_manifest_kind_of(mt->valuestring);
		if (k == BP_MANIFEST_UNKNOWN)
			return bp_error_set(BP_EUNSUPPORTED,
					    "unsupported manifest media type \"%.200s\"",
					    mt->valuestring);
		if (ck != BP_MANIFEST_UNKNOWN && ck != k)
			return bp_error_set(BP_EINVAL,
					    "manifest mediaType \"%s\" does not match its content "
					    "type \"%.*s\"",
					    mt->valuestring, (int)ctlen, ct);
		*out = k;
		return 0;
	}
	if (!generic_type(ct, ctlen)) {
		if (ck == BP_MANIFEST_UNKNOWN)
			return bp_error_set(BP_EUNSUPPORTED,
					    "unsupported manifest media type \"%.*s\"",
					    (int)(ctlen > 200 ? 200 : ctlen), ct);
		*out = ck;
		return 0;
	}
	/* OCI made mediaType optional; an OCI layout says the type in its index instead. */
	sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
	if (cJSON_IsNumber(sv) && sv->valuedouble == 1)
		return bp_error_set(BP_EUNSUPPORTED, "docker schema 1 manifests are not supported");
	if (cJSON_GetObjectItemCaseSensitive(root, "manifests")) {
		*out = BP_MANIFEST_OCI_INDEX;
		return 0;
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "config")) {
		*out = BP_MANIFEST_OCI;
		return 0;
	}
	return bp_error_set(BP_EINVAL, "manifest has no mediaType, no content type was given, and "
				       "it has neither config nor manifests");
}

/* Parse and check manifest bytes of any of the four kinds. */
int bp_manifest_parse(bp_manifest **out, const void *data, size_t len, const char *content_type)
{
	cJSON *root = NULL;
	const cJSON *sv;
	const char *end = NULL, *p;
	bp_manifest *m = NULL;
	bp_manifest_kind kind = BP_MANIFEST_UNKNOWN;
	int r;

	*out = NULL;
	if (len > BP_MANIFEST_MAX)
		return bp_error_set(BP_EINVAL, "manifest is %zu bytes, more than the %d byte limit",
				    len, BP_MANIFEST_MAX);
	if (!data || len == 0)
		return bp_error_set(BP_EINVAL, "manifest is empty");
	root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	if (!root) {
		r = bp_error_set(BP_EINVAL, "manifest is not valid JSON (error at byte %zu)",
				 end ? (size_t)(end - (const char *)data) : (size_t)0);
		goto done;
	}
	for (p = end; p < (const char *)data + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			r = bp_error_set(BP_EINVAL,
					 "manifest has data after its JSON value at byte %zu",
					 (size_t)(p - (const char *)data));
			goto done;
		}
	}
	if (!cJSON_IsObject(root)) {
		r = bp_error_set(BP_EINVAL, "manifest is not a JSON object");
		goto done;
	}
	if ((r = decide_kind(root, content_type, &kind)) < 0)
		goto done;
	sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
	if (!sv) {
		r = bp_error_set(BP_EINVAL, "manifest has no schemaVersion");
		goto done;
	}
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
		r = cJSON_IsNumber(sv)
			    ? bp_error_set(BP_EINVAL, "manifest schemaVersion is %g, want 2",
					   sv->valuedouble)
			    : bp_error_set(BP_EINVAL, "manifest schemaVersion is not a number");
		goto done;
	}

	m = calloc(1, sizeof(*m));
	if (!m) {
		r = bp_error_set(BP_ENOMEM, "out of memory parsing manifest");
		goto done;
	}
	m->kind = kind;
	m->media_type = kind_media_type(kind);
	if (bp_manifest_kind_is_index(kind)) {
		r = parse_list(m, root, "manifests", 1);
	} else {
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");

		if (!cfg) {
			r = bp_error_set(BP_EINVAL, "manifest has no config");
			goto done;
		}
		m->has_config = 1;
		if ((r = parse_descriptor(&m->config, cfg, "config", 0)) < 0)
			goto done;
		r = parse_list(m, root, "layers", 0);
	}
	if (r < 0)
		goto done;
	*out = m;
	m = NULL;
	r = 0;
done:
	bp_manifest_free(m);
	cJSON_Delete(root);
	return r;
}

/* Free m and every descriptor string; NULL is fine. */
void bp_manifest_free(bp_manifest *m)
{
	size_t i;

	if (!m)
		return;
	descriptor_release(&m->config);
	for (i = 0; i < m->n; i++)
		descriptor_release(&m->items[i]);
	free(m->items);
	free(m);
}

/* The kind decided at parse time. */
bp_manifest_kind bp_manifest_kind_get(const bp_manifest *m)
{
	return m->kind;
}

/* The canonical media type of the kind. */
const char *bp_manifest_media_type(const bp_manifest *m)
{
	return m->media_type;
}

/* The config descriptor of an image manifest, NULL for an index. */
const bp_descriptor *bp_manifest_config(const bp_manifest *m)
{
	return m->has_config ? &m->config : NULL;
}

/* Number of layers (image manifest) or entries (index). */
size_t bp_manifest_count(const bp_manifest *m)
{
	return m->n;
}

/* Layer or entry i, NULL when out of range. */
const bp_descriptor *bp_manifest_item(const bp_manifest *m, size_t i)
{
	return i < m->n ? &m->items[i] : NULL;
}

/* The GOARCH name for an architecture alias. */
static const char *arch_canonical(const char *arch)
{
	static const struct {
		const char *alias, *name;
	} aliases[] = {
		{ "x86_64", "amd64" }, { "x86-64", "amd64" }, { "aarch64", "arm64" },
		{ "i386", "386" },     { "i686", "386" },     { "armhf", "arm" },
		{ "armel", "arm" },
	};
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(arch, aliases[i].alias) == 0)
			return aliases[i].name;
	}
	return arch;
}

/* An empty variant means the architecture's baseline (as containerd normalises). */
static const char *variant_canonical(const char *arch, const char *variant)
{
	if (variant && *variant)
		return variant;
	if (strcmp(arch, "arm64") == 0)
		return "v8";
	if (strcmp(arch, "arm") == 0)
		return "v7";
	if (strcmp(arch, "amd64") == 0)
		return "v1";
	return "";
}

static int platform_matches(const bp_descriptor *d, const char *os, const char *arch,
			    const char *variant)
{
	const char *darch;

	if (!d->os || !d->arch || strcmp(d->os, os) != 0)
		return 0;
	darch = arch_canonical(d->arch);
	if (strcmp(darch, arch) != 0)
		return 0;
	return strcmp(variant_canonical(darch, d->variant), variant_canonical(arch, variant)) == 0;
}

/* The index entry for "os/arch[/variant]"; BP_ENOTFOUND lists what is offered. */
int bp_manifest_select_platform(const bp_manifest *m, const char *platform,
				const bp_descriptor **out)
{
	char buf[128];
	char *os, *arch, *variant = NULL;
	const char *canon;
	bp_dynbuf offered = BP_DYNBUF_INIT(4096);
	size_t i;
	int r;

	*out = NULL;
	if (!bp_manifest_kind_is_index(m->kind))
		return bp_error_set(
			BP_EINVAL,
			"manifest is an image, not an index: it has no platforms to choose from");
	if (!platform || bp_strlcpy(buf, platform, sizeof(buf)) >= sizeof(buf))
		return bp_error_set(
			BP_EINVAL,
			"invalid platform \"%.100s\": want os/arch[/variant], as linux/amd64",
			platform ? platform : "");
	os = buf;
	arch = strchr(buf, '/');
	if (arch) {
		*arch++ = '\0';
		variant = strchr(arch, '/');
		if (variant)
			*variant++ = '\0';
	}
	if (!*os || !arch || !*arch || (variant && (!*variant || strchr(variant, '/'))))
		return bp_error_set(
			BP_EINVAL,
			"invalid platform \"%s\": want os/arch[/variant], as linux/amd64",
			platform);
	canon = arch_canonical(arch);

	for (i = 0; i < m->n; i++) {
		if (platform_matches(&m->items[i], os, canon, variant)) {
			*out = &m->items[i];
			return 0;
		}
	}

	for (i = 0; i < m->n; i++) {
		const bp_descriptor *d = &m->items[i];

		/* Attestation manifests (buildx) carry unknown/unknown: not a choice. */
		if (!d->os || !d->arch ||
		    (strcmp(d->os, "unknown") == 0 && strcmp(d->arch, "unknown") == 0))
			continue;
		bp_dynbuf_printf(&offered, "%s%s/%s%s%s", offered.len ? ", " : "", d->os, d->arch,
				 d->variant && *d->variant ? "/" : "",
				 d->variant && *d->variant ? d->variant : "");
	}
	r = bp_error_set(BP_ENOTFOUND, "platform %s not in index; it offers %s", platform,
			 offered.len ? offered.ptr : "no platforms");
	bp_dynbuf_release(&offered);
	return r;
}

static char default_platform[160];
static pthread_once_t default_platform_once = PTHREAD_ONCE_INIT;

static void default_platform_init(void)
{
	static const struct {
		const char *machine, *arch;
	} machines[] = {
		{ "x86_64", "amd64" },	  { "amd64", "amd64" },	    { "aarch64", "arm64" },
		{ "arm64", "arm64" },	  { "armv8l", "arm/v7" },   { "armv7l", "arm/v7" },
		{ "armv6l", "arm/v6" },	  { "armv5tel", "arm/v5" }, { "i386", "386" },
		{ "i486", "386" },	  { "i586", "386" },	    { "i686", "386" },
		{ "ppc64le", "ppc64le" }, { "ppc64", "ppc64" },	    { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "mips64", "mips64" },   { "loongarch64", "loong64" },
	};
	struct utsname u;
	const char *arch;
	char os[64];
	size_t i;

	if (uname(&u) < 0) {
		bp_strlcpy(default_platform, "linux/amd64", sizeof(default_platform));
		return;
	}
	bp_strlcpy(os, u.sysname, sizeof(os));
	for (i = 0; os[i]; i++) {
		if (os[i] >= 'A' && os[i] <= 'Z')
			os[i] = (char)(os[i] - 'A' + 'a');
	}
	arch = u.machine;
	for (i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
		if (strcmp(u.machine, machines[i].machine) == 0) {
			arch = machines[i].arch;
			break;
		}
	}
	snprintf(default_platform, sizeof(default_platform), "%s/%s", os, arch);
}

/* This machine's platform from uname, as "linux/amd64". */
const char *bp_platform_default(void)
{
	pthread_once(&default_platform_once, default_platform_init);
	return default_platform;
}

/* Append s as a JSON string, escaped as Go's encoding/json does. */
static int put_string(bp_dynbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int r = bp_dynbuf_add(b, "\"", 1);

	for (; *p && r == 0; p++) {
		switch (*p) {
		case '"':
			r = bp_dynbuf_adds(b, "\\\"");
			break;
		case '\\':
			r = bp_dynbuf_adds(b, "\\\\");
			break;
		case '\n':
			r = bp_dynbuf_adds(b, "\\n");
			break;
		case '\r':
			r = bp_dynbuf_adds(b, "\\r");
			break;
		case '\t':
			r = bp_dynbuf_adds(b, "\\t");
			break;
		case '<':
		case '>':
		case '&':
			r = bp_dynbuf_printf(b, "\\u%04x", *p);
			break;
		default:
			if (*p < 0x20) {
				r = bp_dynbuf_printf(b, "\\u%04x", *p);
			} else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
				/* U+2028 and U+2029, which break JavaScript */
				r = bp_dynbuf_printf(b, "\\u%04x", p[2] == 0xa8 ? 0x2028 : 0x2029);
				p += 2;
			} else {
				r = bp_dynbuf_add(b, p, 1);
			}
		}
	}
	return r == 0 ? bp_dynbuf_add(b, "\"", 1) : r;
}

/* Check a descriptor the caller gave us to build from. */
static int check_descriptor(const bp_descriptor *d, const char *where, int entry)
{
	if (!d->media_type || !*d->media_type)
		return bp_error_set(BP_EINVAL, "cannot build manifest: %s has no media type",
				    where);
	if (bp_digest_validate(d->digest) < 0)
		return bp_error_prefix("cannot build manifest: %s", where);
	if (d->size < 0)
		return bp_error_set(BP_EINVAL,
				    "cannot build manifest: %s has negative size %" PRId64, where,
				    d->size);
	if (entry && (!d->os != !d->arch || (d->os && (!*d->os || !*d->arch))))
		return bp_error_set(
			BP_EINVAL,
			"cannot build manifest: %s platform needs both os and architecture", where);
	if (entry && d->variant && !d->os)
		return bp_error_set(BP_EINVAL,
				    "cannot build manifest: %s has a variant but no platform",
				    where);
	return 0;
}

/* {mediaType,size,digest[,annotations][,platform]}, the order docker and skopeo write. */
static int put_descriptor(bp_dynbuf *b, const bp_descriptor *d, int entry)
{
	if (bp_dynbuf_adds(b, "{\"mediaType\":") < 0 || put_string(b, d->media_type) < 0 ||
	    bp_dynbuf_printf(b, ",\"size\":%" PRId64 ",\"digest\":", d->size) < 0 ||
	    put_string(b, d->digest) < 0)
		return -1;
	if (entry && d->ref_name) {
		if (bp_dynbuf_adds(b, ",\"annotations\":{\"" REF_NAME_ANNOTATION "\":") < 0 ||
		    put_string(b, d->ref_name) < 0 || bp_dynbuf_adds(b, "}") < 0)
			return -1;
	}
	if (entry && d->os) {
		if (bp_dynbuf_adds(b, ",\"platform\":{\"architecture\":") < 0 ||
		    put_string(b, d->arch) < 0 || bp_dynbuf_adds(b, ",\"os\":") < 0 ||
		    put_string(b, d->os) < 0)
			return -1;
		if (d->variant && *d->variant &&
		    (bp_dynbuf_adds(b, ",\"variant\":") < 0 || put_string(b, d->variant) < 0))
			return -1;
		if (bp_dynbuf_adds(b, "}") < 0)
			return -1;
	}
	return bp_dynbuf_adds(b, "}");
}

/* Hand the built JSON to the caller, refusing what no registry would take. */
static int finish(bp_dynbuf *b, int failed, char **out, size_t *len)
{
	size_t n;

	if (failed) {
		bp_dynbuf_release(b);
		return bp_error_set(BP_ENOMEM, "out of memory building manifest");
	}
	if (b->len > BP_MANIFEST_MAX) {
		n = b->len;
		bp_dynbuf_release(b);
		return bp_error_set(BP_EINVAL,
				    "built manifest is %zu bytes, more than the %d byte limit", n,
				    BP_MANIFEST_MAX);
	}
	*out = bp_dynbuf_detach(b, &n);
	if (!*out)
		return bp_error_set(BP_ENOMEM, "out of memory building manifest");
	if (len)
		*len = n;
	return 0;
}

/* Compact JSON for an image manifest of kind DOCKER_V2 or OCI. */
int bp_manifest_build(char **out, size_t *len, bp_manifest_kind kind, const bp_descriptor *config,
		      const bp_descriptor *layers, size_t nlayers)
{
	bp_dynbuf b = BP_DYNBUF_INIT(SIZE_MAX / 2);
	int failed = 0, r;
	size_t i;

	*out = NULL;
	if (len)
		*len = 0;
	if (kind != BP_MANIFEST_DOCKER_V2 && kind != BP_MANIFEST_OCI)
		return bp_error_set(BP_EINVAL,
				    "cannot build manifest: kind %d is not an image manifest",
				    (int)kind);
	if (!config)
		return bp_error_set(BP_EINVAL, "cannot build manifest: no config");
	if (nlayers && !layers)
		return bp_error_set(BP_EINVAL, "cannot build manifest: no layers array");
	if ((r = check_descriptor(config, "config", 0)) < 0)
		return r;
	for (i = 0; i < nlayers; i++) {
		char where[32];

		snprintf(where, sizeof(where), "layers[%zu]", i);
		if ((r = check_descriptor(&layers[i], where, 0)) < 0)
			return r;
	}
	failed = bp_dynbuf_adds(&b, "{\"schemaVersion\":2,\"mediaType\":") < 0 ||
		 put_string(&b, kind_media_type(kind)) < 0 ||
		 bp_dynbuf_adds(&b, ",\"config\":") < 0 || put_descriptor(&b, config, 0) < 0 ||
		 bp_dynbuf_adds(&b, ",\"layers\":[") < 0;
	for (i = 0; i < nlayers && !failed; i++)
		failed =
			(i && bp_dynbuf_adds(&b, ",") < 0) || put_descriptor(&b, &layers[i], 0) < 0;
	if (!failed)
		failed = bp_dynbuf_adds(&b, "]}") < 0;
	return finish(&b, failed, out, len);
}

/* Compact JSON for an index (OCI_INDEX) or manifest list (DOCKER_LIST). */
int bp_manifest_build_index(char **out, size_t *len, bp_manifest_kind kind,
			    const bp_descriptor *entries, size_t n)
{
	bp_dynbuf b = BP_DYNBUF_INIT(SIZE_MAX / 2);
	int failed = 0, r;
	size_t i;

	*out = NULL;
	if (len)
		*len = 0;
	if (!bp_manifest_kind_is_index(kind))
		return bp_error_set(BP_EINVAL, "cannot build index: kind %d is not an index",
				    (int)kind);
	if (n && !entries)
		return bp_error_set(BP_EINVAL, "cannot build index: no entries array");
	for (i = 0; i < n; i++) {
		char where[32];

		snprintf(where, sizeof(where), "manifests[%zu]", i);
		if ((r = check_descriptor(&entries[i], where, 1)) < 0)
			return r;
	}
	failed = bp_dynbuf_adds(&b, "{\"schemaVersion\":2,\"mediaType\":") < 0 ||
		 put_string(&b, kind_media_type(kind)) < 0 ||
		 bp_dynbuf_adds(&b, ",\"manifests\":[") < 0;
	for (i = 0; i < n && !failed; i++)
		failed = (i && bp_dynbuf_adds(&b, ",") < 0) ||
			 put_descriptor(&b, &entries[i], 1) < 0;
	if (!failed)
		failed = bp_dynbuf_adds(&b, "]}") < 0;
	return finish(&b, failed, out, len);
}

/* The diff_ids of an image config; see manifest.h. */
int bp_config_diff_ids(const char *config, size_t len, char ***out, size_t *n)
{
	cJSON *root = cJSON_ParseWithLength(config, len);
	cJSON *ids = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(root, "rootfs"), "diff_ids");
	cJSON *e;
	size_t count = 0, i = 0;
	char **l = NULL;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsArray(ids)) {
		err = bp_error_set(BP_EINVAL, "image config has no rootfs.diff_ids");
		goto done;
	}
	count = (size_t)cJSON_GetArraySize(ids);
	if (count && !(l = calloc(count, sizeof(*l)))) {
		err = bp_error_set(BP_ENOMEM, "out of memory");
		goto done;
	}
	cJSON_ArrayForEach(e, ids) {
		if (!cJSON_IsString(e) || bp_digest_validate(e->valuestring)) {
			err = bp_error_set(BP_EINVAL, "image config: diff_ids[%zu] is not a digest", i);
			goto done;
		}
		if (!(l[i++] = strdup(e->valuestring))) {
			err = bp_error_set(BP_ENOMEM, "out of memory");
			goto done;
		}
	}
	*out = l;
	*n = i;
	l = NULL;
done:
	if (l) {
		while (i--)
			free(l[i]);
		free(l);
	}
	cJSON_Delete(root);
	return err;
}
