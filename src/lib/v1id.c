/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The legacy v1 IDs of a classic docker save export; see v1id.h. The json
 * member is docker's own encoding of the same fields the ID was hashed
 * from, so its top-level values are taken as they are, byte for byte, and
 * only the keys are put in order: nothing of Go's encoding is imitated.
 */
#include "v1id.h"

#include "util/dynbuf.h"

#include <stdio.h>
#include <string.h>

/* A v1 json has about fifteen top-level keys; more is not one. */
#define PAIRS_MAX 64
#define HEX_LEN 64

/* One top-level member: the key's bytes between its quotes, the value's raw bytes. */
typedef struct {
	const char *k;
	size_t klen;
	const char *v;
	size_t vlen;
} pair;

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* Index just past the string that starts at s[i] (a '"'), or 0 when it does not end. */
static size_t string_end(const char *s, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* Index just past the value that starts at s[i], or 0 when it is not one. */
static size_t value_end(const char *s, size_t i, size_t n)
{
	size_t depth = 0;

	if (i >= n)
		return 0;
	if (s[i] == '"')
		return string_end(s, i, n);
	if (s[i] != '{' && s[i] != '[') {
		/* a number, true, false or null: up to what ends it */
		while (i < n && !strchr(",}] \t\r\n", s[i]))
			i++;
		return i;
	}
	while (i < n) {
		if (s[i] == '"') {
			if (!(i = string_end(s, i, n)))
				return 0;
			continue;
		}
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return 0;
}

/* The top-level members of the object in s; their count, or -1 when s is not one. */
static long parse_pairs(const char *s, size_t n, pair *p, size_t max)
{
	size_t i = skip_ws(s, 0, n), np = 0, e;

	if (i >= n || s[i] != '{')
		return -1;
	i = skip_ws(s, i + 1, n);
	if (i < n && s[i] == '}')
		return 0;
	while (i < n) {
		if (np == max || s[i] != '"' || !(e = string_end(s, i, n)))
			return -1;
		p[np].k = s + i + 1;
		p[np].klen = e - i - 2;
		i = skip_ws(s, e, n);
		if (i >= n || s[i] != ':')
			return -1;
		i = skip_ws(s, i + 1, n);
		if (!(e = value_end(s, i, n)) || e == i)
			return -1;
		p[np].v = s + i;
		p[np].vlen = e - i;
		np++;
		i = skip_ws(s, e, n);
		if (i < n && s[i] == '}')
			return (long)np;
		if (i >= n || s[i] != ',')
			return -1;
		i = skip_ws(s, i + 1, n);
	}
	return -1;
}

static int key_is(const pair *p, const char *k)
{
	return p->klen == strlen(k) && memcmp(p->k, k, p->klen) == 0;
}

/* Go orders map keys as byte strings. */
static int key_cmp(const pair *a, const pair *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->k, b->k, n);

	if (c)
		return c;
	return a->klen < b->klen ? -1 : a->klen > b->klen;
}

static void sort_pairs(pair *p, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		pair x = p[i];

		for (j = i; j > 0 && key_cmp(&p[j - 1], &x) > 0; j--)
			p[j] = p[j - 1];
		p[j] = x;
	}
}

/* The object of pairs p, in order, as docker hashed it; 0 or -1 (cap, memory). */
static int encode(bp_dynbuf *b, const pair *p, size_t n)
{
	size_t i;

	bp_dynbuf_reset(b);
	if (bp_dynbuf_add(b, "{", 1) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if ((i && bp_dynbuf_add(b, ",", 1) < 0) || bp_dynbuf_add(b, "\"", 1) < 0 ||
		    bp_dynbuf_add(b, p[i].k, p[i].klen) < 0 || bp_dynbuf_add(b, "\":", 2) < 0 ||
		    bp_dynbuf_add(b, p[i].v, p[i].vlen) < 0)
			return -1;
	return bp_dynbuf_add(b, "}", 1);
}

/* Chain IDs; see v1id.h. */
int bp_v1id__chain_ids(char *const *diff_ids, size_t n, char (*out)[BP_DIGEST_MAX])
{
	char both[2 * BP_DIGEST_MAX + 1];
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		if (i == 0) {
			snprintf(out[0], BP_DIGEST_MAX, "%s", diff_ids[0]);
			continue;
		}
		snprintf(both, sizeof(both), "%s %s", out[i - 1], diff_ids[i]);
		if ((err = bp_digest_buf(out[i], both, strlen(both))))
			return err;
	}
	return 0;
}

/* Which layer a json member describes; see v1id.h. */
long bp_v1id__layer(const char *v1_hex, const char *json, size_t len,
		    const char (*chain)[BP_DIGEST_MAX], size_t n)
{
	pair in[PAIRS_MAX], out[PAIRS_MAX + 2];
	char want[BP_DIGEST_MAX], got[BP_DIGEST_MAX], layer_id[BP_DIGEST_MAX + 2];
	char parent[BP_DIGEST_MAX + 2] = "";
	bp_dynbuf b = BP_DYNBUF_INIT(len + 4 * BP_DIGEST_MAX);
	long np = parse_pairs(json, len, in, PAIRS_MAX), found = -1;
	size_t i, k, no, first, last;
	int drop_os;

	if (np < 0 || strlen(v1_hex) != HEX_LEN)
		return -1;
	snprintf(want, sizeof(want), "sha256:%s", v1_hex);
	for (k = 0; k < (size_t)np; k++) {
		if (!key_is(&in[k], "parent"))
			continue;
		/* "parent":"<64 hex>", hashed as the digest "sha256:<hex>" */
		if (in[k].vlen != HEX_LEN + 2 || in[k].v[0] != '"')
			return -1;
		snprintf(parent, sizeof(parent), "\"sha256:%.*s\"", HEX_LEN, in[k].v + 1);
	}
	/* the base layer alone has no parent */
	first = parent[0] ? 1 : 0;
	last = parent[0] ? n : (n ? 1 : 0);
	/* docker adds "os" after hashing, to every layer but the top, which has it already */
	for (drop_os = 0; found < 0 && drop_os <= 1; drop_os++) {
		for (i = first; found < 0 && i < last; i++) {
			no = 0;
			for (k = 0; k < (size_t)np; k++)
				if (!key_is(&in[k], "id") && !key_is(&in[k], "parent") &&
				    !(drop_os && key_is(&in[k], "os")))
					out[no++] = in[k];
			snprintf(layer_id, sizeof(layer_id), "\"%s\"", chain[i]);
			out[no++] = (pair){ "layer_id", 8, layer_id, strlen(layer_id) };
			if (parent[0])
				out[no++] = (pair){ "parent", 6, parent, strlen(parent) };
			sort_pairs(out, no);
			if (encode(&b, out, no) == 0 && bp_digest_buf(got, b.ptr, b.len) == 0 &&
			    bp_digest_equal(got, want))
				found = (long)i;
		}
	}
	bp_dynbuf_release(&b);
	return found;
}
