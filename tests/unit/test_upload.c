/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blob upload protocol against scripted registries: each row is one
 * upload (from a file, or streamed) and the exchange it must have, request
 * by request. The registry's network is replaced by the seam of
 * registry_int.h: every request is checked against the next step of the
 * script (method, URL, Content-Range, Content-Length and the body bytes
 * themselves) and answered with that step's status and header lines, which
 * go through http.c's header parser as a server's would. The first table
 * runs whole uploads; the second (trows) single transitions of the state
 * machine of registry_upload.h, from a state set by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_upload.h"
#include "state.h"
#include "util/strutil.h"

#include <beampush/digest.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#define DOMAIN "127.0.0.1:5000"
#define BASE "http://" DOMAIN
#define REPO "beam/app"
/* fd uploads do not hash: any digest does (this one is of no bytes) */
#define HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DIGEST "sha256:" HEX
#define HEX_OTHER "f3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHORT "blob sha256:e3b0c44298fc"
#define U(x) BASE "/v2/" REPO "/blobs/uploads/" x
#define L(x) "Location: /v2/" REPO "/blobs/uploads/" x
#define CUT_MSG "connection closed while sending the request body"
#define UNSUPPORTED                                                                   \
	"{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"chunked upload is not " \
	"supported\"}]}"
#define STEPS_MAX 24

/*
 * One request and its answer. url: "@D" stands for the url-encoded digest.
 * crange: the Content-Range sent (NULL: none); len: the Content-Length
 * (-1: no body). status 0: no answer, the connection breaks after cut body
 * bytes. headers: the answer's header lines, '\n' between them.
 */
typedef struct {
	const char *method;
	const char *url;
	const char *crange;
	int64_t len;
	long status;
	const char *headers;
	const char *body;
	int64_t cut;
} step;

/* clang-format off */
#define POST(st, h) { "POST", U(""), NULL, -1, st, h, NULL, 0 }
#define PATCH(url, cr, n, st, h) { "PATCH", url, cr, n, st, h, NULL, 0 }
#define PATCH_ERR(url, cr, n, st, body) { "PATCH", url, cr, n, st, NULL, body, 0 }
#define PATCH_CUT(url, cr, n, after) { "PATCH", url, cr, n, 0, NULL, NULL, after }
#define PUT(url, n, st, h) { "PUT", url, NULL, n, st, h, NULL, 0 }
#define PUT_ERR(url, n, st, body) { "PUT", url, NULL, n, st, NULL, body, 0 }
#define PUT_CUT(url, n, after) { "PUT", url, NULL, n, 0, NULL, NULL, after }
#define PUT_CR(url, cr, n, st, h) { "PUT", url, cr, n, st, h, NULL, 0 }
#define PUT_CR_ERR(url, cr, n, st, body) { "PUT", url, cr, n, st, NULL, body, 0 }
#define PUT_CR_CUT(url, cr, n, after) { "PUT", url, cr, n, 0, NULL, NULL, after }
#define MONO(st, h) { "POST", U("?digest=@D"), NULL, 1000, st, h, NULL, 0 }
#define STATUS(url, st, h) { "GET", url, NULL, -1, st, h, NULL, 0 }
#define HEAD_BLOB(st, h) { "HEAD", BASE "/v2/" REPO "/blobs/" DIGEST, NULL, -1, st, h, NULL, 0 }
#define HEAD_STREAMED(st, h) { "HEAD", BASE "/v2/" REPO "/blobs/@R", NULL, -1, st, h, NULL, 0 }
#define DELETE(url, st) { "DELETE", url, NULL, -1, st, NULL, NULL, 0 }
#define STORED "Docker-Content-Digest: " DIGEST
/* clang-format on */

typedef struct {
	const char *name;
	int stream; /* 0: bp_registry__blob_upload from a file; 1: begin/write/finish */
	int64_t size;
	int64_t chunk;	     /* chunk_size */
	int64_t mono;	     /* monolithic_max (fd uploads) */
	int64_t offset;	     /* the blob starts this far into the file */
	int attempts;	     /* retries + 1; 0: the default 5 */
	const char *session; /* a refused mount's session */
	const char *saved;   /* a session an earlier run left */
	const char *expect;  /* streamed: the digest promised */
	step steps[STEPS_MAX];
	int rc;
	const char *msg;     /* in the error message */
	const char *said[4]; /* each in what the upload said (retry and debug lines) */
	int sleeps;	     /* waits before a retry */
	const char *state;   /* fd uploads: the session saved afterwards (NULL: none) */
	int post;	     /* the host's POST ?digest= as learnt: 0 (here the default) it does
				not store, 1 it stores, -1 not known yet (this upload tries) */
	int host;	     /* fd uploads with .post set: post_stores saved afterwards */
} row;

/* clang-format off */
static const row rows[] = {
	{ .name = "monolithic PUT",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { POST(202, L("u1?_state=a") "\nDocker-Upload-UUID: u1"),
		     PUT(U("u1?_state=a&digest=@D"), 1000, 201, STORED) } },
	{ .name = "monolithic PUT of a blob at an offset of its file",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .offset = 4096,
	  .steps = { POST(202, L("u1")),
		     PUT(U("u1?digest=@D"), 1000, 201, STORED) } },
	{ .name = "a blob larger than a chunk, up to the single-PUT limit: one PUT",
	  .size = 150000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { POST(202, L("u1")),
		     PUT(U("u1?digest=@D"), 150000, 201, STORED) } },
	{ .name = "POST, PATCH chunks, the last one with the closing PUT; each newest Location used",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1") "\nRange: 0-0\nDocker-Upload-UUID: u1"),
		     PATCH(U("u1"), "0-65535", 65536, 202, L("u1?_state=1") "\nRange: 0-65535"),
		     PATCH(U("u1?_state=1"), "65536-131071", 65536, 202, L("u1?_state=2") "\nRange: 0-131071"),
		     PUT_CR(U("u1?_state=2&digest=@D"), "131072-149999", 18928, 201, STORED) } },
	{ .name = "a chunked blob of exactly two chunks: one PATCH, the PUT with the second",
	  .size = 131072, .chunk = 65536, .mono = 0,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-65535"),
		     PUT_CR(U("u1?digest=@D"), "65536-131071", 65536, 201, STORED) } },
	{ .name = "monolithic_max -1: a small blob in the closing PUT, with its Content-Range",
	  .size = 1000, .chunk = 65536, .mono = -1,
	  .steps = { POST(202, L("u1")),
		     PUT_CR(U("u1?digest=@D"), "0-999", 1000, 201, NULL) } },
	{ .name = "absolute Location on another host",
	  .size = 100000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, "Location: http://127.0.0.1:5001/store/up9?sig=x"),
		     PATCH("http://127.0.0.1:5001/store/up9?sig=x", "0-65535", 65536, 202, "Range: 0-65535"),
		     PUT_CR("http://127.0.0.1:5001/store/up9?sig=x&digest=@D", "65536-99999", 34464, 201, STORED) } },
	{ .name = "relative-path Location",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { POST(202, "Location: u7?x=1"),
		     PUT(U("u7?x=1&digest=@D"), 1000, 201, NULL) } },
	{ .name = "POST answered without a Location",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { POST(202, "Docker-Upload-UUID: u1") },
	  .rc = BP_EPROTO, .msg = "upload: registry answered 202 without a Location" },
	{ .name = "POST refused",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { { "POST", U(""), NULL, -1, 403, NULL,
		       "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"no\"}]}", 0 } },
	  .rc = BP_EAUTH, .msg = "upload start: registry answered 403 DENIED: no" },
	{ .name = "a refused mount's session takes the upload",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .session = U("m1?_state=m"),
	  .steps = { PUT(U("m1?_state=m&digest=@D"), 1000, 201, STORED) } },
	{ .name = "a refused mount's session, the host storing a POST: the session all the same",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .session = U("m1?_state=m"), .post = 1,
	  .steps = { PUT(U("m1?_state=m&digest=@D"), 1000, 201, STORED) }, .host = 1 },

	/* POST ?digest= with the whole blob: one request where the registry stores it */
	{ .name = "POST ?digest=, the host known to store it: 201, done in one request",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(201, STORED) }, .host = 1 },
	{ .name = "POST ?digest= tried on a new host: 201, the HEAD finds it, learnt",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .steps = { MONO(201, STORED), HEAD_BLOB(200, "Content-Length: 1000") },
	  .said = { "registry " DOMAIN " stores a blob sent in one POST ?digest=" }, .host = 1 },
	{ .name = "POST ?digest= tried: 202 (distribution drops the body), the blob PUT again",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .steps = { MONO(202, L("u1?_state=a")),
		     PUT(U("u1?_state=a&digest=@D"), 1000, 201, STORED) },
	  .said = { "does not store a blob sent in one POST ?digest=: POST and PUT from now on" },
	  .host = 0 },
	{ .name = "POST ?digest= tried: 201, but the HEAD does not find it: POST and PUT, learnt",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .steps = { MONO(201, STORED), HEAD_BLOB(404, NULL),
		     POST(202, L("u1")),
		     PUT(U("u1?digest=@D"), 1000, 201, STORED) },
	  .said = { "registry " DOMAIN " answered 201 to a blob sent in one POST but does not "
		    "hold it: sending blobs in POST and PUT" },
	  .host = 0 },
	{ .name = "POST ?digest=: 201 without Docker-Content-Digest is checked, and not trusted",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(201, NULL), HEAD_BLOB(200, "Content-Length: 1000") }, .host = 0 },
	{ .name = "POST ?digest=: 201 naming another digest: an integrity error",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(201, "Docker-Content-Digest: sha256:" HEX_OTHER) },
	  .rc = BP_EINTEGRITY, .msg = "registry stored it as sha256:" HEX_OTHER, .host = 0 },
	{ .name = "POST ?digest= answered 400: a plain POST and PUT, learnt",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .steps = { { "POST", U("?digest=@D"), NULL, 1000, 400, NULL,
		       "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"no\"}]}", 0 },
		     POST(202, L("u1")),
		     PUT(U("u1?digest=@D"), 1000, 201, STORED) },
	  .host = 0 },
	{ .name = "POST ?digest= refused (403): the error, nothing learnt",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .steps = { { "POST", U("?digest=@D"), NULL, 1000, 403, NULL,
		       "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"no\"}]}", 0 } },
	  .rc = BP_EAUTH, .msg = "upload start: registry answered 403 DENIED: no", .host = -1 },
	{ .name = "POST ?digest= not tried with a blob over 1 MiB while nobody knows",
	  .size = (1 << 20) + 1, .chunk = 1 << 22, .mono = 1 << 22, .post = -1,
	  .steps = { POST(202, L("u1")),
		     PUT(U("u1?digest=@D"), (1 << 20) + 1, 201, STORED) },
	  .host = -1 },
	{ .name = "POST ?digest= not sent for a blob over the single-PUT limit",
	  .size = 150000, .chunk = 65536, .mono = 65536, .post = 1,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, NULL),
		     PATCH(U("u1"), "65536-131071", 65536, 202, NULL),
		     PUT_CR(U("u1?digest=@D"), "131072-149999", 18928, 201, STORED) },
	  .host = 1 },

	{ .name = "PATCH refused (405): the session takes one PUT",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 405, UNSUPPORTED),
		     PUT(U("u1?digest=@D"), 150000, 201, STORED) },
	  .said = { "registry " DOMAIN " refuses chunked uploads (PATCH answered 405): "
		    "sending each blob in one PUT" } },
	{ .name = "PATCH refused (400 UNSUPPORTED): one PUT",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 400, UNSUPPORTED),
		     PUT(U("u1?digest=@D"), 150000, 201, STORED) },
	  .said = { "refuses chunked uploads (PATCH answered 400)" } },
	{ .name = "PATCH refused, and the one PUT too large: a clear error",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 405, UNSUPPORTED),
		     PUT_ERR(U("u1?digest=@D"), 150000, 413, NULL) },
	  .rc = BP_ERROR,
	  .msg = "blob " DIGEST ": registry refuses chunked uploads and a body of 150000 bytes "
		 "in one PUT (answered 413)",
	  .state = U("u1") },
	{ .name = "201 on PATCH with a Range that stops advancing (ECR): accepted",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 201, "Range: 0-65535"),
		     PATCH(U("u1"), "65536-131071", 65536, 201, "Range: 0-65535"),
		     PUT_CR(U("u1?digest=@D"), "131072-149999", 18928, 201, STORED) } },
	{ .name = "413 on PATCH: the chunk halved, resumed where the status says",
	  .size = 300000, .chunk = 262144, .mono = -1,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-262143", 262144, 413, NULL),
		     STATUS(U("u1"), 204, "Range: 0-0"),
		     PATCH(U("u1"), "0-131071", 131072, 202, "Range: 0-131071"),
		     PATCH(U("u1"), "131072-262143", 131072, 202, "Range: 0-262143"),
		     PUT_CR(U("u1?digest=@D"), "262144-299999", 37856, 201, STORED) },
	  .said = { "registry " DOMAIN " refused a request body as too large (413): "
		    "sending chunks of at most 131072 bytes" } },
	{ .name = "416 \"too large\" on PATCH (GHCR): halved like a 413",
	  .size = 300000, .chunk = 262144, .mono = -1,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-262143", 262144, 416,
			       "{\"errors\":[{\"code\":\"SIZE_INVALID\",\"message\":\"request body too large\"}]}"),
		     STATUS(U("u1"), 204, NULL),
		     PATCH(U("u1"), "0-131071", 131072, 202, NULL),
		     PATCH(U("u1"), "131072-262143", 131072, 202, NULL),
		     PUT_CR(U("u1?digest=@D"), "262144-299999", 37856, 201, STORED) },
	  .said = { "too large (416): sending chunks of at most 131072 bytes" } },
	{ .name = "413 on the closing PUT with the rest: smaller chunks from where it stands",
	  .size = 200000, .chunk = 262144, .mono = -1,
	  .steps = { POST(202, L("u1")),
		     PUT_CR_ERR(U("u1?digest=@D"), "0-199999", 200000, 413, NULL),
		     STATUS(U("u1"), 204, "Range: 0-0"),
		     PATCH(U("u1"), "0-99999", 100000, 202, NULL),
		     PUT_CR(U("u1?digest=@D"), "100000-199999", 100000, 201, STORED) },
	  .said = { "too large (413): sending chunks of at most 100000 bytes" } },
	{ .name = "413 at the chunk floor: the registry's error",
	  .size = 100000, .chunk = 65536, .mono = -1,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 413, NULL) },
	  .rc = BP_ERROR, .msg = "upload chunk: registry answered 413", .state = U("u1") },
	{ .name = "413 then a status past what was sent: the blob starts over",
	  .size = 300000, .chunk = 262144, .mono = -1,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-262143", 262144, 413, NULL),
		     STATUS(U("u1"), 204, "Range: 0-299999"),
		     POST(202, L("u2")),
		     PATCH(U("u2"), "0-131071", 131072, 202, NULL),
		     PATCH(U("u2"), "131072-262143", 131072, 202, NULL),
		     PUT_CR(U("u2?digest=@D"), "262144-299999", 37856, 201, STORED) },
	  .said = { SHORT ": registry says the upload holds 300000 bytes, but only 262144 were "
		    "sent; starting the blob over" } },
	{ .name = "one PUT too large: chunks in a new session",
	  .size = 200000, .chunk = 262144, .mono = 1 << 20,
	  .steps = { POST(202, L("u1")),
		     PUT_ERR(U("u1?digest=@D"), 200000, 413, NULL),
		     POST(202, L("u2")),
		     PATCH(U("u2"), "0-99999", 100000, 202, NULL),
		     PUT_CR(U("u2?digest=@D"), "100000-199999", 100000, 201, STORED) },
	  .said = { "too large (413): sending chunks of at most 100000 bytes" } },
	{ .name = "OCI-Chunk-Min-Length raises the chunk",
	  .size = 250000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1") "\nOCI-Chunk-Min-Length: 100000"),
		     PATCH(U("u1"), "0-99999", 100000, 202, "Range: 0-99999"),
		     PATCH(U("u1"), "100000-199999", 100000, 202, "Range: 0-199999"),
		     PUT_CR(U("u1?digest=@D"), "200000-249999", 50000, 201, STORED) },
	  .said = { "registry wants chunks of at least 100000 bytes" } },
	{ .name = "a PATCH cut off: the status's Range, then on from there",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_CUT(U("u1"), "0-65535", 65536, 40000),
		     STATUS(U("u1"), 204, "Range: 0-39999\n" L("u1?_state=s")),
		     PATCH(U("u1?_state=s"), "40000-105535", 65536, 202, "Range: 0-105535"),
		     PUT_CR(U("u1?_state=s&digest=@D"), "105536-149999", 44464, 201, STORED) },
	  .said = { "retrying in 1s (attempt 2 of 5): " SHORT ": chunk 0-65535: " CUT_MSG,
		    "blob " DIGEST ": resuming the upload at byte 40000" },
	  .sleeps = 1 },
	{ .name = "the closing PUT with the rest cut off: the status's Range, then the rest again",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, NULL),
		     PATCH(U("u1"), "65536-131071", 65536, 202, NULL),
		     PUT_CR_CUT(U("u1?digest=@D"), "131072-149999", 18928, 5000),
		     HEAD_BLOB(404, NULL),
		     STATUS(U("u1"), 204, "Range: 0-136071\n" L("u1?_state=s")),
		     PUT_CR(U("u1?_state=s&digest=@D"), "136072-149999", 13928, 201, STORED) },
	  .said = { "retrying in 1s (attempt 2 of 5): " SHORT ": closing PUT: " CUT_MSG,
		    "blob " DIGEST ": resuming the upload at byte 136072" },
	  .sleeps = 1 },
	{ .name = "416 range refused: the status's Range, then on from there",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-65535"),
		     PATCH_ERR(U("u1"), "65536-131071", 65536, 416, NULL),
		     STATUS(U("u1"), 204, "Range: 0-65535"),
		     PATCH(U("u1"), "65536-131071", 65536, 202, "Range: 0-131071"),
		     PUT_CR(U("u1?digest=@D"), "131072-149999", 18928, 201, STORED) },
	  .said = { "retrying in 1s (attempt 2 of 5): " SHORT ": chunk 65536-131071: range refused" },
	  .sleeps = 1 },
	{ .name = "a cut, and the status 404 (public ECR): the blob starts over",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_CUT(U("u1"), "0-65535", 65536, 40000),
		     STATUS(U("u1"), 404, NULL),
		     POST(202, L("u2")),
		     PATCH(U("u2"), "0-65535", 65536, 202, NULL),
		     PATCH(U("u2"), "65536-131071", 65536, 202, NULL),
		     PUT_CR(U("u2?digest=@D"), "131072-149999", 18928, 201, STORED) },
	  .said = { "blob " DIGEST ": the registry cannot say where the upload stands; starting it over" },
	  .sleeps = 1 },
	{ .name = "a cut, and a status past what was sent: the blob starts over",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_CUT(U("u1"), "0-65535", 65536, 40000),
		     STATUS(U("u1"), 204, "Range: 0-99999"),
		     POST(202, L("u2")),
		     PATCH(U("u2"), "0-65535", 65536, 202, NULL),
		     PATCH(U("u2"), "65536-131071", 65536, 202, NULL),
		     PUT_CR(U("u2?digest=@D"), "131072-149999", 18928, 201, STORED) },
	  .said = { SHORT ": registry says the upload holds 100000 bytes, but only 65536 were "
		    "sent; starting the blob over" },
	  .sleeps = 1 },
	{ .name = "a PATCH answer whose Range goes backwards fails",
	  .size = 200000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-65535\n" L("u1?_state=1")),
		     PATCH(U("u1?_state=1"), "65536-131071", 65536, 202, "Range: 0-32767") },
	  .rc = BP_EPROTO, .msg = "upload chunk 65536-131071: registry says it holds bytes 0-32767",
	  .state = U("u1?_state=1") },
	{ .name = "a PATCH answer whose Range runs ahead fails",
	  .size = 200000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-99999") },
	  .rc = BP_EPROTO, .msg = "upload chunk 0-65535: registry says it holds bytes 0-99999",
	  .state = U("u1") },
	{ .name = "retries exhausted on PATCH (--retries 1)",
	  .size = 150000, .chunk = 65536, .mono = 65536, .attempts = 2,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 503, NULL),
		     STATUS(U("u1"), 204, "Range: 0-0"),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 503, NULL) },
	  .rc = BP_ERROR, .msg = "upload chunk: registry answered 503",
	  .said = { "retrying in 1s (attempt 2 of 2): " SHORT ": chunk 0-65535: failed" },
	  .sleeps = 1, .state = U("u1") },
	{ .name = "a 4xx on PATCH is not retried",
	  .size = 150000, .chunk = 65536, .mono = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 400,
			       "{\"errors\":[{\"code\":\"BLOB_UPLOAD_INVALID\",\"message\":\"bad\"}]}") },
	  .rc = BP_ERROR, .msg = "upload chunk: registry answered 400 BLOB_UPLOAD_INVALID: bad",
	  .state = U("u1") },
	{ .name = "a 503 on the closing PUT is sent again as it was",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { POST(202, L("u1")),
		     PUT_ERR(U("u1?digest=@D"), 1000, 503, NULL),
		     PUT(U("u1?digest=@D"), 1000, 201, STORED) },
	  .said = { "retrying in 1s (attempt 2 of 5): PUT answered 503" },
	  .sleeps = 1 },
	{ .name = "the closing PUT cut off (--retries 0), but the blob landed: done",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .attempts = 1,
	  .steps = { POST(202, L("u1")),
		     PUT_CUT(U("u1?digest=@D"), 1000, 500),
		     HEAD_BLOB(200, "Content-Length: 1000") } },
	{ .name = "the closing PUT cut off twice, the blob not there: a new session",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .attempts = 2,
	  .steps = { POST(202, L("u1")),
		     PUT_CUT(U("u1?digest=@D"), 1000, 500),
		     PUT_CUT(U("u1?digest=@D"), 1000, 700),
		     HEAD_BLOB(404, NULL),
		     POST(202, L("u2")),
		     PUT(U("u2?digest=@D"), 1000, 201, STORED) },
	  .said = { "retrying in 1s (attempt 2 of 2): PUT " U("u1?digest=sha256%3A") HEX ": " CUT_MSG,
		    "retrying in 1s (attempt 2 of 2): " SHORT ": closing PUT: " CUT_MSG },
	  .sleeps = 2 },
	{ .name = "the closing PUT cut off, retries exhausted",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20, .attempts = 1,
	  .steps = { POST(202, L("u1")),
		     PUT_CUT(U("u1?digest=@D"), 1000, 500),
		     HEAD_BLOB(404, NULL) },
	  .rc = BP_ENET, .msg = "blob " DIGEST " not in " REPO },
	{ .name = "the registry stores another digest",
	  .size = 1000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { POST(202, L("u1")),
		     PUT(U("u1?digest=@D"), 1000, 201, "Docker-Content-Digest: sha256:" HEX "0") },
	  .rc = BP_EINTEGRITY, .msg = "blob " DIGEST ": registry stored it as sha256:" HEX "0" },
	{ .name = "an earlier run's session: resumed at its Range",
	  .size = 150000, .chunk = 65536, .mono = 1 << 20, .saved = U("s1?_state=old"),
	  .steps = { STATUS(U("s1?_state=old"), 204, "Range: 0-65535\n" L("s1?_state=new")),
		     PATCH(U("s1?_state=new"), "65536-131071", 65536, 202, "Range: 0-131071"),
		     PUT_CR(U("s1?_state=new&digest=@D"), "131072-149999", 18928, 201, STORED) },
	  .said = { SHORT ": resuming the upload of an earlier run at byte 65536 of 150000" } },
	{ .name = "an earlier run's session the registry forgot: a new one",
	  .size = 150000, .chunk = 65536, .mono = 65536, .saved = U("s1?_state=old"),
	  .steps = { STATUS(U("s1?_state=old"), 404, NULL),
		     POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, NULL),
		     PATCH(U("u1"), "65536-131071", 65536, 202, NULL),
		     PUT_CR(U("u1?digest=@D"), "131072-149999", 18928, 201, STORED) } },

	/* streamed: the digest known at the end, each chunk in memory until the registry has it */
	{ .name = "streamed: POST, PATCH chunks, the chunk in hand with the closing PUT",
	  .stream = 1, .size = 150000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-65535\n" L("u1?_state=1")),
		     PATCH(U("u1?_state=1"), "65536-131071", 65536, 202, "Range: 0-131071"),
		     PUT_CR(U("u1?_state=1&digest=@D"), "131072-149999", 18928, 201, NULL) } },
	{ .name = "streamed: exactly two chunks: one PATCH, the second with the closing PUT",
	  .stream = 1, .size = 131072, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-65535"),
		     PUT_CR(U("u1?digest=@D"), "65536-131071", 65536, 201, NULL) } },
	{ .name = "streamed: less than a chunk: POST and one PUT",
	  .stream = 1, .size = 1000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PUT_CR(U("u1?digest=@D"), "0-999", 1000, 201, NULL) } },
	{ .name = "streamed: OCI-Chunk-Min-Length raises the chunk",
	  .stream = 1, .size = 150000, .chunk = 65536,
	  .steps = { POST(202, L("u1") "\nOCI-Chunk-Min-Length: 100000"),
		     PATCH(U("u1"), "0-99999", 100000, 202, "Range: 0-99999"),
		     PUT_CR(U("u1?digest=@D"), "100000-149999", 50000, 201, NULL) } },
	{ .name = "streamed: 201 on PATCH with a stuck Range: accepted",
	  .stream = 1, .size = 150000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 201, "Range: 0-65535"),
		     PATCH(U("u1"), "65536-131071", 65536, 201, "Range: 0-65535"),
		     PUT_CR(U("u1?digest=@D"), "131072-149999", 18928, 201, NULL) } },
	{ .name = "streamed: a cut the registry kept nothing of: the chunk again",
	  .stream = 1, .size = 150000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-65535"),
		     PATCH_CUT(U("u1"), "65536-131071", 65536, 1000),
		     STATUS(U("u1"), 204, "Range: 0-65535\n" L("u1?_state=2")),
		     PATCH(U("u1?_state=2"), "65536-131071", 65536, 202, "Range: 0-131071"),
		     PUT_CR(U("u1?_state=2&digest=@D"), "131072-149999", 18928, 201, NULL) },
	  .said = { "retrying in 1s (attempt 2 of 5): blob (streamed): chunk 65536-131071: " CUT_MSG },
	  .sleeps = 1 },
	{ .name = "streamed: the closing PUT cut off: HEAD, the status, the chunk in hand again",
	  .stream = 1, .size = 100000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-65535"),
		     PUT_CR_CUT(U("u1?digest=@D"), "65536-99999", 34464, 1000),
		     HEAD_STREAMED(404, NULL),
		     STATUS(U("u1"), 204, "Range: 0-65535\n" L("u1?_state=2")),
		     PUT_CR(U("u1?_state=2&digest=@D"), "65536-99999", 34464, 201, NULL) },
	  .said = { ": closing PUT: " CUT_MSG },
	  .sleeps = 1 },
	{ .name = "streamed: a cut the registry kept part of: the layer must be sent again",
	  .stream = 1, .size = 100000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_CUT(U("u1"), "0-65535", 65536, 40000),
		     STATUS(U("u1"), 204, "Range: 0-39999"),
		     DELETE(U("u1"), 204) },
	  .rc = BP_EPROTO,
	  .msg = "upload: registry holds 40000 bytes, expected 0; the layer must be sent again",
	  .sleeps = 1 },
	{ .name = "streamed: a cut and the status 404: fails, cancelled",
	  .stream = 1, .size = 100000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_CUT(U("u1"), "0-65535", 65536, 40000),
		     STATUS(U("u1"), 404, NULL),
		     DELETE(U("u1"), 404) },
	  .rc = BP_ENOTFOUND, .msg = "upload status: registry answered 404", .sleeps = 1 },
	{ .name = "streamed: PATCH refused: a clear error, cancelled",
	  .stream = 1, .size = 100000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 405, UNSUPPORTED),
		     DELETE(U("u1"), 405) },
	  .rc = BP_ERROR,
	  .msg = "upload: registry " DOMAIN " refuses chunked uploads (PATCH: registry answered "
		 "405 UNSUPPORTED: chunked upload is not supported); a layer compressed on the fly "
		 "cannot be sent in one PUT" },
	{ .name = "streamed: 413: a clear error, cancelled",
	  .stream = 1, .size = 150000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, NULL),
		     PATCH_ERR(U("u1"), "65536-131071", 65536, 413, NULL),
		     DELETE(U("u1"), 204) },
	  .rc = BP_ERROR,
	  .msg = "upload chunk 65536-131071: registry " DOMAIN " refused the body as too large "
		 "(PATCH: registry answered 413); try a smaller --chunk-size" },
	{ .name = "streamed: 413 on the closing PUT with the chunk in hand: a clear error",
	  .stream = 1, .size = 100000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, NULL),
		     PUT_CR_ERR(U("u1?digest=@D"), "65536-99999", 34464, 413, NULL),
		     DELETE(U("u1"), 204) },
	  .rc = BP_ERROR,
	  .msg = "upload chunk 65536-99999: registry " DOMAIN " refused the body as too large "
		 "(PUT: registry answered 413); try a smaller --chunk-size" },
	{ .name = "streamed: a PATCH answer whose Range goes backwards fails",
	  .stream = 1, .size = 150000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, "Range: 0-65535"),
		     PATCH(U("u1"), "65536-131071", 65536, 202, "Range: 0-32767"),
		     DELETE(U("u1"), 204) },
	  .rc = BP_EPROTO, .msg = "upload chunk 65536-131071: registry says it holds bytes 0-32767" },
	{ .name = "streamed: retries exhausted (--retries 1)",
	  .stream = 1, .size = 100000, .chunk = 65536, .attempts = 2,
	  .steps = { POST(202, L("u1")),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 502, NULL),
		     STATUS(U("u1"), 204, NULL),
		     PATCH_ERR(U("u1"), "0-65535", 65536, 502, NULL),
		     DELETE(U("u1"), 204) },
	  .rc = BP_ERROR, .msg = "upload chunk: registry answered 502", .sleeps = 1 },
	{ .name = "streamed: bytes that are not the digest promised: cancelled, not closed",
	  .stream = 1, .size = 100000, .chunk = 65536, .expect = DIGEST,
	  .steps = { POST(202, L("u1")),
		     PATCH(U("u1"), "0-65535", 65536, 202, L("u1?_state=2")),
		     DELETE(U("u1?_state=2"), 204) },
	  .rc = BP_EINTEGRITY, .msg = "blob " DIGEST ": the bytes hash to sha256:" },
	{ .name = "streamed: the closing PUT refused",
	  .stream = 1, .size = 1000, .chunk = 65536,
	  .steps = { POST(202, L("u1")),
		     PUT_CR_ERR(U("u1?digest=@D"), "0-999", 1000, 400,
				"{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"digest did not match\"}]}"),
		     DELETE(U("u1"), 204) },
	  .rc = BP_EINTEGRITY, .msg = ": registry answered 400 DIGEST_INVALID: digest did not match" },
};
/* clang-format on */

/* What one run saw. */
typedef struct {
	const char *name;
	const step *steps; /* STEPS_MAX of them */
	const unsigned char *data;
	char digest_enc[BP_DIGEST_MAX * 3];
	char digest[BP_DIGEST_MAX];
	size_t next; /* the step the next request must match */
	int sleeps;
	char said[8192];
	int64_t done, total; /* the last progress */
} script;

static unsigned char byte_at(int64_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static void say(const char *line, void *payload)
{
	script *s = payload;
	size_t n = strlen(s->said);

	snprintf(s->said + n, sizeof(s->said) - n, "%s\n", line);
}

static void nap(double secs, void *payload)
{
	script *s = payload;

	s->sleeps++;
}

static void on_progress(int64_t done, int64_t total, void *payload)
{
	script *s = payload;

	s->done = done;
	s->total = total;
}

/* want with "@D" replaced by the encoded digest, "@R" by the digest as it is. */
static void expand(char *out, size_t cap, const char *want, const script *s)
{
	const char *at = strstr(want, "@D"), *raw = strstr(want, "@R");

	if (!at && !raw) {
		snprintf(out, cap, "%s", want);
		return;
	}
	if (raw)
		at = raw;
	snprintf(out, cap, "%.*s%s%s", (int)(at - want), want, raw ? s->digest : s->digest_enc,
		 at + 2);
}

/* The value of header name among req's, or NULL. */
static const char *header_of(const bp_http_request *req, const char *name)
{
	size_t n = strlen(name);
	const char *const *h;

	for (h = req->headers; h && *h; h++)
		if (strncmp(*h, name, n) == 0 && (*h)[n] == ':')
			return *h + n + 2;
	return NULL;
}

/* Read the request's body as curl would (up to cut bytes) and check each byte. */
static int64_t take_body(script *s, const bp_http_request *req, const step *st)
{
	int64_t start = 0, got = 0, limit = st->status ? req->body_len : st->cut;
	long long a, b;
	char buf[16384];

	if (st->crange && sscanf(st->crange, "%lld-%lld", &a, &b) == 2)
		start = a;
	if (req->body) {
		const unsigned char *p = req->body;

		for (got = 0; got < limit; got++)
			if (p[got] != s->data[start + got])
				fail_msg("%s: step %zu: body byte %lld is wrong", s->name, s->next,
					 (long long)got);
		return got;
	}
	while (req->read_fn && got < limit) {
		size_t want =
			limit - got < (int64_t)sizeof(buf) ? (size_t)(limit - got) : sizeof(buf);
		long n = req->read_fn(buf, want, req->read_payload);

		assert_true(n >= 0);
		if (n == 0)
			break;
		for (long i = 0; i < n; i++)
			if ((unsigned char)buf[i] != s->data[start + got + i])
				fail_msg("%s: step %zu: body byte %lld is wrong", s->name, s->next,
					 (long long)(got + i));
		got += n;
	}
	return got;
}

/* The seam's send: check req against the next step and answer as it says. */
static int fake_send(const bp_http_request *req, bp_http_response *resp, void *payload)
{
	script *s = payload;
	const step *st;
	char url[1024], line[1024];
	const char *cr, *p;
	int64_t got;

	if (s->next >= STEPS_MAX || !s->steps[s->next].method)
		fail_msg("%s: request %zu (%s %s) is not in the script", s->name, s->next,
			 req->method, req->url);
	st = &s->steps[s->next];
	expand(url, sizeof(url), st->url, s);
	if (strcmp(req->method, st->method) != 0 || strcmp(req->url, url) != 0)
		fail_msg("%s: step %zu: %s %s, want %s %s", s->name, s->next, req->method, req->url,
			 st->method, url);
	cr = header_of(req, "Content-Range");
	if ((cr == NULL) != (st->crange == NULL) || (cr && strcmp(cr, st->crange) != 0))
		fail_msg("%s: step %zu: Content-Range %s, want %s", s->name, s->next,
			 cr ? cr : "(none)", st->crange ? st->crange : "(none)");
	if (req->body_len != st->len)
		fail_msg("%s: step %zu: Content-Length %lld, want %lld", s->name, s->next,
			 (long long)req->body_len, (long long)st->len);
	if (st->len >= 0) {
		const char *ct = header_of(req, "Content-Type");

		if (!ct || strcmp(ct, "application/octet-stream") != 0)
			fail_msg("%s: step %zu: Content-Type %s", s->name, s->next,
				 ct ? ct : "(none)");
		got = take_body(s, req, st);
		if (got != (st->status ? st->len : st->cut))
			fail_msg("%s: step %zu: %lld body bytes read", s->name, s->next,
				 (long long)got);
	}
	s->next++;
	bp_http__response_release(resp);
	resp->url = strdup(req->url);
	if (!st->status)
		return bp_error_set(BP_ENET, "%s: " CUT_MSG, req->url);
	snprintf(line, sizeof(line), "HTTP/1.1 %ld X\r\n", st->status);
	assert_int_equal(bp_http__parse_header(resp, line, strlen(line)), 0);
	for (p = st->headers; p && *p;) {
		size_t n = strcspn(p, "\n");

		snprintf(line, sizeof(line), "%.*s\r\n", (int)n, p);
		assert_int_equal(bp_http__parse_header(resp, line, strlen(line)), 0);
		p += n;
		if (*p)
			p++;
	}
	if (st->body)
		bp_dynbuf_add(&resp->err_body, st->body, strlen(st->body));
	return 0;
}

/* The blob's bytes in a file (after offset bytes of something else), open for reading. */
static int blob_file(int64_t size, int64_t offset, const unsigned char *data)
{
	char path[] = "/tmp/test_upload.XXXXXX";
	int fd = mkstemp(path);
	unsigned char junk[4096];

	assert_true(fd >= 0);
	unlink(path);
	memset(junk, 0xee, sizeof(junk));
	for (int64_t left = offset; left > 0; left -= (int64_t)sizeof(junk))
		assert_true(write(fd, junk, left < 4096 ? (size_t)left : sizeof(junk)) > 0);
	assert_int_equal(write(fd, data, (size_t)size), size);
	return fd;
}

/* A registry answered by s's script; attempts: retries + 1 (0: the default 5). */
static bp_registry *scripted_registry(script *s, int attempts)
{
	bp_registry_options opts = { 0 };
	bp_registry_seam seam = { fake_send, nap, s };
	bp_registry *r = NULL;

	opts.push = 1;
	opts.retries = attempts ? attempts - 1 : 4;
	opts.retry_cb = say;
	opts.debug = 1;
	opts.log_cb = say;
	opts.payload = s;
	assert_int_equal(bp_registry__new(&r, DOMAIN, NULL, &opts), 0);
	assert_int_equal(bp_registry__set_seam(r, BASE, &seam), 0);
	bp_error_clear();
	return r;
}

static int run_fd(bp_registry *r, const row *w, script *s)
{
	bp_upload_options o = { w->session, w->offset, w->chunk, w->mono, on_progress, s };
	int fd = blob_file(w->size, w->offset, s->data), err;

	if (w->saved)
		bp_state__upload_put(DOMAIN, REPO, DIGEST, w->saved);
	err = bp_registry__blob_upload(r, REPO, DIGEST, w->size, fd, &o);
	close(fd);
	return err;
}

static int run_stream(bp_registry *r, const row *w, script *s, const char *digest)
{
	bp_upload *u = NULL;
	char got[BP_DIGEST_MAX];
	int64_t off = 0, size = -1;
	int err;

	if ((err = bp_registry__upload_begin(r, REPO, w->chunk, on_progress, s, &u)))
		return err;
	if (w->expect)
		bp_registry__upload_expect(u, w->expect);
	/* in pieces that do not line up with the chunks */
	while (!err && off < w->size) {
		size_t n = w->size - off < 10000 ? (size_t)(w->size - off) : 10000;

		err = bp_registry__upload_write(u, s->data + off, n);
		off += (int64_t)n;
	}
	if (!err && !(err = bp_registry__upload_finish(u, got, &size))) {
		assert_string_equal(got, digest);
		assert_int_equal(size, w->size);
	}
	bp_registry__upload_free(u);
	return err;
}

static void test_row(void **state)
{
	const row *w = *state;
	static script s;
	bp_registry *r;
	unsigned char *data = malloc((size_t)w->size);
	char digest[BP_DIGEST_MAX], *enc, *left;
	int err;

	assert_non_null(data);
	for (int64_t i = 0; i < w->size; i++)
		data[i] = byte_at(i);
	memset(&s, 0, sizeof(s));
	s.name = w->name;
	s.steps = w->steps;
	s.data = data;
	s.total = -7;
	if (w->stream)
		assert_int_equal(bp_digest_buf(digest, data, (size_t)w->size), 0);
	else
		snprintf(digest, sizeof(digest), "%s", DIGEST);
	enc = bp_urlencode(digest);
	snprintf(s.digest_enc, sizeof(s.digest_enc), "%s", enc);
	snprintf(s.digest, sizeof(s.digest), "%s", digest);
	free(enc);
	bp_state__upload_drop(DOMAIN, REPO, DIGEST);
	bp_state__host_drop(DOMAIN);

	r = scripted_registry(&s, w->attempts);
	r->known.post_stores = w->post;
	err = w->stream ? run_stream(r, w, &s, digest) : run_fd(r, w, &s);

	if (err != w->rc)
		fail_msg("%s: rc %d (%s), want %d", w->name, err, bp_error_last(), w->rc);
	if (w->msg && !strstr(bp_error_last(), w->msg))
		fail_msg("%s: error \"%s\", want \"%s\" in it", w->name, bp_error_last(), w->msg);
	if (s.next < STEPS_MAX && w->steps[s.next].method)
		fail_msg("%s: %zu requests made, the script has more (%s %s)", w->name, s.next,
			 w->steps[s.next].method, w->steps[s.next].url);
	for (size_t i = 0; i < 4 && w->said[i]; i++)
		if (!strstr(s.said, w->said[i]))
			fail_msg("%s: \"%s\" not said; said:\n%s", w->name, w->said[i], s.said);
	if (s.sleeps != w->sleeps)
		fail_msg("%s: %d waits, want %d; said:\n%s", w->name, s.sleeps, w->sleeps, s.said);
	if (!w->rc && (s.done != w->size || s.total != (w->stream ? -1 : w->size)))
		fail_msg("%s: progress ended at %lld of %lld", w->name, (long long)s.done,
			 (long long)s.total);
	if (!w->stream) {
		left = bp_state__upload_get(DOMAIN, REPO, DIGEST);
		if ((left == NULL) != (w->state == NULL) || (left && strcmp(left, w->state) != 0))
			fail_msg("%s: saved session %s, want %s", w->name, left ? left : "(none)",
				 w->state ? w->state : "(none)");
		free(left);
	}
	if (w->post) {
		bp_state_host h;

		if (r->known.post_stores != w->host)
			fail_msg("%s: POST ?digest= learnt as %d, want %d", w->name,
				 r->known.post_stores, w->host);
		/* what was learnt is saved for the next run */
		if (w->post < 0 && w->host >= 0 &&
		    (bp_state__host_get(DOMAIN, &h) != 0 || h.post_stores != w->host))
			fail_msg("%s: POST ?digest= not saved as %d", w->name, w->host);
		if (w->post < 0 && w->host >= 0)
			bp_state__host_release(&h);
	}
	bp_registry__free(r);
	free(data);
}

/*
 * Single transitions: a machine put in a state (the fields a row sets; the
 * rest as bp_upload__init_* leaves them), one bp_upload__step with the
 * requests it makes, and where the machine is then. want_chunk 0 and
 * want_loc NULL: unchanged.
 */
typedef struct {
	const char *name;
	int stream;
	bp_up_state from;
	int64_t size; /* a file's blob; a stream's bytes in hand */
	int64_t chunk, mono, off, inflight, cap;
	int chunked, no_patch, force_chunks, shrunk, tries, closing, attempts;
	int post; /* the host's POST ?digest=: 0 (the default here) does not store, 1, -1 */
	const char *loc, *session, *expect;
	step steps[4];
	bp_up_state to;
	int rc;
	int64_t want_off, want_chunk;
	int want_chunked, want_no_patch, want_force, want_tries;
	const char *want_loc;
} trow;

#define BIG .size = 200000, .chunk = 65536, .mono = 65536
/* clang-format off */
static const trow trows[] = {
	{ .name = "OPEN, a blob larger than the single-PUT limit: CHUNK", BIG, .from = BP_UP_OPEN,
	  .steps = { POST(202, L("u1")) },
	  .to = BP_UP_CHUNK, .want_chunked = 1, .want_loc = U("u1") },
	{ .name = "OPEN, a blob larger than a chunk, within the single-PUT limit: CLOSE",
	  .from = BP_UP_OPEN, .size = 200000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { POST(202, L("u1")) },
	  .to = BP_UP_CLOSE, .want_loc = U("u1") },
	{ .name = "OPEN, a small blob, the host storing POST ?digest=: POST, no request",
	  .from = BP_UP_OPEN, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .to = BP_UP_POST },
	{ .name = "OPEN, a small blob, nobody knows yet: POST, this upload tries",
	  .from = BP_UP_OPEN, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .to = BP_UP_POST },
	{ .name = "OPEN, a blob over 1 MiB, nobody knows yet: a plain POST",
	  .from = BP_UP_OPEN, .size = (1 << 20) + 1, .chunk = 65536, .mono = 1 << 21, .post = -1,
	  .steps = { POST(202, L("u1")) },
	  .to = BP_UP_CLOSE, .want_loc = U("u1") },
	{ .name = "OPEN, the host storing POST ?digest=, a blob over the limit: a plain POST", BIG,
	  .from = BP_UP_OPEN, .post = 1,
	  .steps = { POST(202, L("u1")) },
	  .to = BP_UP_CHUNK, .want_chunked = 1, .want_loc = U("u1") },
	{ .name = "OPEN, a small blob: CLOSE with it in one PUT",
	  .from = BP_UP_OPEN, .size = 1000, .chunk = 65536, .mono = 1 << 20,
	  .steps = { POST(202, L("u1")) },
	  .to = BP_UP_CLOSE, .want_loc = U("u1") },
	{ .name = "OPEN, OCI-Chunk-Min-Length above the chunk: the chunk raised", BIG,
	  .from = BP_UP_OPEN,
	  .steps = { POST(202, L("u1") "\nOCI-Chunk-Min-Length: 100000") },
	  .to = BP_UP_CHUNK, .want_chunked = 1, .want_chunk = 100000, .want_loc = U("u1") },
	{ .name = "OPEN, a body cap learnt before: the chunk kept under it",
	  .from = BP_UP_OPEN, .size = 300000, .chunk = 262144, .mono = 1 << 20, .cap = 100000,
	  .steps = { POST(202, L("u1")) },
	  .to = BP_UP_CHUNK, .want_chunked = 1, .want_chunk = 100000, .want_loc = U("u1") },
	{ .name = "OPEN, PATCH refused before: one PUT even for a large blob", BIG,
	  .from = BP_UP_OPEN, .no_patch = 1,
	  .steps = { POST(202, L("u1")) },
	  .to = BP_UP_CLOSE, .want_no_patch = 1, .want_loc = U("u1") },
	{ .name = "OPEN, after a PUT too large: chunks even for a small blob",
	  .from = BP_UP_OPEN, .size = 1000, .chunk = 65536, .mono = 1 << 20, .force_chunks = 1,
	  .steps = { POST(202, L("u2")) },
	  .to = BP_UP_CHUNK, .want_chunked = 1, .want_force = 1, .want_loc = U("u2") },
	{ .name = "OPEN, a refused mount's session: taken, no request", BIG,
	  .from = BP_UP_OPEN, .session = U("m1"), .post = 1,
	  .to = BP_UP_CHUNK, .want_chunked = 1, .want_loc = U("m1") },
	{ .name = "OPEN refused", BIG, .from = BP_UP_OPEN,
	  .steps = { { "POST", U(""), NULL, -1, 404, NULL, NULL, 0 } },
	  .to = BP_UP_FAILED, .rc = BP_ENOTFOUND },
	{ .name = "OPEN, streamed: the buffer as large as OCI-Chunk-Min-Length",
	  .stream = 1, .from = BP_UP_OPEN, .chunk = 65536,
	  .steps = { POST(202, L("u1") "\nOCI-Chunk-Min-Length: 100000") },
	  .to = BP_UP_CHUNK, .want_chunked = 1, .want_chunk = 100000, .want_loc = U("u1") },

	{ .name = "CHUNK taken (202, Range agrees): on at the new Location", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 65536, .loc = U("u1"),
	  .steps = { PATCH(U("u1"), "65536-131071", 65536, 202, "Range: 0-131071\n" L("u1?_state=2")) },
	  .to = BP_UP_CHUNK, .want_off = 131072, .want_chunked = 1, .want_loc = U("u1?_state=2") },
	{ .name = "CHUNK taken (201, Range stuck: ECR)", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 65536, .loc = U("u1"),
	  .steps = { PATCH(U("u1"), "65536-131071", 65536, 201, "Range: 0-65535") },
	  .to = BP_UP_CHUNK, .want_off = 131072, .want_chunked = 1 },
	{ .name = "CHUNK taken (204, no Range)", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 131072, .loc = U("u1"),
	  .steps = { PATCH(U("u1"), "131072-196607", 65536, 204, NULL) },
	  .to = BP_UP_CHUNK, .want_off = 196608, .want_chunked = 1 },
	{ .name = "CHUNK, the rest within a chunk: CLOSE (it goes with the PUT), no request", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 196608, .loc = U("u1"),
	  .to = BP_UP_CLOSE, .want_off = 196608, .want_chunked = 1 },
	{ .name = "CHUNK, the rest exactly a chunk: CLOSE, no request", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 200000 - 65536, .loc = U("u1"),
	  .to = BP_UP_CLOSE, .want_off = 200000 - 65536, .want_chunked = 1 },
	{ .name = "CHUNK with nothing left: CLOSE, no request", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 200000, .loc = U("u1"),
	  .to = BP_UP_CLOSE, .want_off = 200000, .want_chunked = 1 },
	{ .name = "CHUNK, a 202 Range behind the chunk: FAILED", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 65536, .loc = U("u1"),
	  .steps = { PATCH(U("u1"), "65536-131071", 65536, 202, "Range: 0-32767") },
	  .to = BP_UP_FAILED, .rc = BP_EPROTO, .want_off = 65536, .want_chunked = 1 },
	{ .name = "CHUNK, a 202 Range ahead of the chunk: FAILED", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 0, .loc = U("u1"),
	  .steps = { PATCH(U("u1"), "0-65535", 65536, 202, "Range: bytes=0-70000") },
	  .to = BP_UP_FAILED, .rc = BP_EPROTO, .want_chunked = 1 },
	{ .name = "CHUNK, the first PATCH refused (405): CLOSE in one PUT", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "0-65535", 65536, 405, NULL) },
	  .to = BP_UP_CLOSE, .want_no_patch = 1 },
	{ .name = "CHUNK, the first PATCH refused (404): CLOSE in one PUT", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "0-65535", 65536, 404, NULL) },
	  .to = BP_UP_CLOSE, .want_no_patch = 1 },
	{ .name = "CHUNK, a later PATCH answered 405: FAILED, not a refusal", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 65536, .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "65536-131071", 65536, 405, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ERROR, .want_off = 65536, .want_chunked = 1 },
	{ .name = "CHUNK refused after a PUT too large: FAILED", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .force_chunks = 1, .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "0-65535", 65536, 405, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ERROR, .want_chunked = 1, .want_force = 1 },
	{ .name = "CHUNK too large (413): STATUS, the chunk halved",
	  .from = BP_UP_CHUNK, .size = 300000, .chunk = 262144, .mono = -1, .chunked = 1,
	  .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "0-262143", 262144, 413, NULL) },
	  .to = BP_UP_STATUS, .want_chunked = 1, .want_chunk = 131072 },
	{ .name = "CHUNK too large, halved to the 64 KiB floor",
	  .from = BP_UP_CHUNK, .size = 300000, .chunk = 100000, .mono = -1, .chunked = 1,
	  .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "0-99999", 100000, 413, NULL) },
	  .to = BP_UP_STATUS, .want_chunked = 1, .want_chunk = 65536 },
	{ .name = "CHUNK too large at the floor: FAILED", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "0-65535", 65536, 413, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ERROR, .want_chunked = 1 },
	{ .name = "CHUNK cut off: STATUS, one retry taken", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .loc = U("u1"),
	  .steps = { PATCH_CUT(U("u1"), "0-65535", 65536, 100) },
	  .to = BP_UP_STATUS, .want_chunked = 1, .want_tries = 1 },
	{ .name = "CHUNK 416 (range refused): STATUS", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .off = 65536, .loc = U("u1"), .tries = 1,
	  .steps = { PATCH_ERR(U("u1"), "65536-131071", 65536, 416, NULL) },
	  .to = BP_UP_STATUS, .want_off = 65536, .want_chunked = 1, .want_tries = 2 },
	{ .name = "CHUNK 429 with the retries spent: FAILED", BIG,
	  .from = BP_UP_CHUNK, .chunked = 1, .loc = U("u1"), .tries = 4,
	  .steps = { PATCH_ERR(U("u1"), "0-65535", 65536, 429, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ERROR, .want_chunked = 1, .want_tries = 4 },
	{ .name = "CHUNK, a stream not full yet: waits, no request",
	  .stream = 1, .from = BP_UP_CHUNK, .size = 1000, .chunk = 65536, .loc = U("u1"),
	  .to = BP_UP_CHUNK, .want_chunked = 1 },
	{ .name = "CHUNK, a stream's last bytes when it closes: sealed, CLOSE, no request",
	  .stream = 1, .from = BP_UP_CHUNK, .size = 1000, .chunk = 65536, .off = 65536,
	  .closing = 1, .loc = U("u1"),
	  .to = BP_UP_CLOSE, .want_off = 65536, .want_chunked = 1 },
	{ .name = "CHUNK, a stream with a full chunk when it closes: CLOSE, no request",
	  .stream = 1, .from = BP_UP_CHUNK, .size = 65536, .chunk = 65536, .closing = 1,
	  .loc = U("u1"),
	  .to = BP_UP_CLOSE, .want_chunked = 1 },
	{ .name = "CHUNK, a stream closed and sent: sealed, CLOSE",
	  .stream = 1, .from = BP_UP_CHUNK, .chunk = 65536, .closing = 1, .expect = DIGEST,
	  .loc = U("u1"),
	  .to = BP_UP_CLOSE, .want_chunked = 1 },
	{ .name = "CHUNK, a stream whose bytes are not the digest promised: FAILED",
	  .stream = 1, .from = BP_UP_CHUNK, .chunk = 65536, .closing = 1,
	  .expect = "sha256:" HEX_OTHER, .loc = U("u1"),
	  .to = BP_UP_FAILED, .rc = BP_EINTEGRITY, .want_chunked = 1 },
	{ .name = "CHUNK, a stream's PATCH refused: FAILED",
	  .stream = 1, .from = BP_UP_CHUNK, .size = 65536, .chunk = 65536, .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "0-65535", 65536, 405, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ERROR, .want_chunked = 1 },
	{ .name = "CHUNK, a stream's chunk too large: FAILED",
	  .stream = 1, .from = BP_UP_CHUNK, .size = 65536, .chunk = 65536, .loc = U("u1"),
	  .steps = { PATCH_ERR(U("u1"), "0-65535", 65536, 413, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ERROR, .want_chunked = 1 },

	{ .name = "STATUS after a cut: CHUNK from its Range", BIG,
	  .from = BP_UP_STATUS, .chunked = 1, .inflight = 65536, .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 204, "Range: 0-39999\n" L("u1?_state=s")) },
	  .to = BP_UP_CHUNK, .want_off = 40000, .want_chunked = 1, .want_loc = U("u1?_state=s") },
	{ .name = "STATUS, Range 0-0: from the start", BIG,
	  .from = BP_UP_STATUS, .chunked = 1, .inflight = 65536, .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 204, "Range: 0-0") },
	  .to = BP_UP_CHUNK, .want_chunked = 1 },
	{ .name = "STATUS, Range before what was taken: CHUNK from there", BIG,
	  .from = BP_UP_STATUS, .chunked = 1, .off = 131072, .inflight = 65536, .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 200, "Range: 0-65535") },
	  .to = BP_UP_CHUNK, .want_off = 65536, .want_chunked = 1 },
	{ .name = "STATUS, Range at the chunk's end: CHUNK after it", BIG,
	  .from = BP_UP_STATUS, .chunked = 1, .inflight = 65536, .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 204, "Range: 0-65535") },
	  .to = BP_UP_CHUNK, .want_off = 65536, .want_chunked = 1 },
	{ .name = "STATUS, Range past the chunk's end: OPEN (start over)", BIG,
	  .from = BP_UP_STATUS, .chunked = 1, .inflight = 65536, .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 204, "Range: 0-65536") },
	  .to = BP_UP_OPEN, .want_chunked = 1 },
	{ .name = "STATUS 404 (public ECR): OPEN (start over)", BIG,
	  .from = BP_UP_STATUS, .chunked = 1, .inflight = 65536, .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 404, NULL) },
	  .to = BP_UP_OPEN, .want_chunked = 1 },
	{ .name = "STATUS, a stream at its chunk's start: CHUNK again",
	  .stream = 1, .from = BP_UP_STATUS, .chunk = 65536, .off = 65536, .inflight = 65536,
	  .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 204, "Range: 0-65535") },
	  .to = BP_UP_CHUNK, .want_off = 65536, .want_chunked = 1 },
	{ .name = "STATUS, a stream that holds part of its chunk: FAILED",
	  .stream = 1, .from = BP_UP_STATUS, .chunk = 65536, .off = 65536, .inflight = 65536,
	  .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 204, "Range: 0-70000") },
	  .to = BP_UP_FAILED, .rc = BP_EPROTO, .want_off = 65536, .want_chunked = 1 },
	{ .name = "STATUS 404 for a stream: FAILED",
	  .stream = 1, .from = BP_UP_STATUS, .chunk = 65536, .inflight = 65536, .loc = U("u1"),
	  .steps = { STATUS(U("u1"), 404, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ENOTFOUND, .want_chunked = 1 },

	{ .name = "RESUME, Range inside the blob: CHUNK from there", BIG,
	  .from = BP_UP_RESUME, .loc = U("s1"),
	  .steps = { STATUS(U("s1"), 204, "Range: 0-99999") },
	  .to = BP_UP_CHUNK, .want_off = 100000, .want_chunked = 1 },
	{ .name = "RESUME, Range 0-0: OPEN", BIG,
	  .from = BP_UP_RESUME, .loc = U("s1"),
	  .steps = { STATUS(U("s1"), 204, "Range: 0-0") },
	  .to = BP_UP_OPEN },
	{ .name = "RESUME, Range covering the blob: OPEN", BIG,
	  .from = BP_UP_RESUME, .loc = U("s1"),
	  .steps = { STATUS(U("s1"), 204, "Range: 0-199999") },
	  .to = BP_UP_OPEN },
	{ .name = "RESUME, the session unknown: OPEN", BIG,
	  .from = BP_UP_RESUME, .loc = U("s1"),
	  .steps = { STATUS(U("s1"), 404, NULL) },
	  .to = BP_UP_OPEN },

	{ .name = "CLOSE after the chunks: DONE", BIG,
	  .from = BP_UP_CLOSE, .chunked = 1, .off = 200000, .loc = U("u1"),
	  .steps = { PUT(U("u1?digest=@D"), -1, 201, STORED) },
	  .to = BP_UP_DONE, .want_off = 200000, .want_chunked = 1 },
	{ .name = "CLOSE with the whole blob: DONE", BIG,
	  .from = BP_UP_CLOSE, .loc = U("u1"),
	  .steps = { PUT(U("u1?digest=@D"), 200000, 201, NULL) },
	  .to = BP_UP_DONE },
	{ .name = "CLOSE, the whole blob too large: OPEN, chunks of half of it",
	  .from = BP_UP_CLOSE, .size = 200000, .chunk = 262144, .mono = 1 << 20, .loc = U("u1"),
	  .steps = { PUT_ERR(U("u1?digest=@D"), 200000, 413, NULL) },
	  .to = BP_UP_OPEN, .want_chunk = 100000, .want_force = 1 },
	{ .name = "CLOSE, too large with PATCH refused: FAILED", BIG,
	  .from = BP_UP_CLOSE, .no_patch = 1, .loc = U("u1"),
	  .steps = { PUT_ERR(U("u1?digest=@D"), 200000, 413, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ERROR, .want_no_patch = 1 },
	{ .name = "CLOSE cut off, the blob there after all: DONE", BIG,
	  .from = BP_UP_CLOSE, .attempts = 1, .loc = U("u1"),
	  .steps = { PUT_CUT(U("u1?digest=@D"), 200000, 10),
		     HEAD_BLOB(200, "Content-Length: 200000") },
	  .to = BP_UP_DONE },
	{ .name = "CLOSE 502, the blob not there: STATUS after a wait", BIG,
	  .from = BP_UP_CLOSE, .chunked = 1, .off = 200000, .attempts = 2, .loc = U("u1"),
	  .steps = { PUT_ERR(U("u1?digest=@D"), -1, 502, NULL),
		     PUT_ERR(U("u1?digest=@D"), -1, 502, NULL),
		     HEAD_BLOB(200, "Content-Length: 100") },
	  .to = BP_UP_STATUS, .want_off = 200000, .want_chunked = 1, .want_tries = 1 },
	{ .name = "CLOSE with the rest: PUT with its Content-Range, DONE", BIG,
	  .from = BP_UP_CLOSE, .chunked = 1, .off = 196608, .loc = U("u1"),
	  .steps = { PUT_CR(U("u1?digest=@D"), "196608-199999", 3392, 201, STORED) },
	  .to = BP_UP_DONE, .want_off = 196608, .want_chunked = 1 },
	{ .name = "CLOSE with the rest cut off: HEAD, then STATUS after a wait", BIG,
	  .from = BP_UP_CLOSE, .chunked = 1, .off = 196608, .loc = U("u1"),
	  .steps = { PUT_CR_CUT(U("u1?digest=@D"), "196608-199999", 3392, 100),
		     HEAD_BLOB(404, NULL) },
	  .to = BP_UP_STATUS, .want_off = 196608, .want_chunked = 1, .want_tries = 1 },
	{ .name = "CLOSE with the rest too large: STATUS quietly, the chunk halved",
	  .from = BP_UP_CLOSE, .size = 300000, .chunk = 262144, .mono = -1, .chunked = 1,
	  .off = 100000, .loc = U("u1"),
	  .steps = { PUT_CR_ERR(U("u1?digest=@D"), "100000-299999", 200000, 413, NULL) },
	  .to = BP_UP_STATUS, .want_off = 100000, .want_chunked = 1, .want_chunk = 100000 },
	{ .name = "CLOSE refused (400): FAILED", BIG,
	  .from = BP_UP_CLOSE, .chunked = 1, .off = 200000, .loc = U("u1"),
	  .steps = { PUT_ERR(U("u1?digest=@D"), -1, 400, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ERROR, .want_off = 200000, .want_chunked = 1 },
	{ .name = "CLOSE, a stream: DONE",
	  .stream = 1, .from = BP_UP_CLOSE, .chunk = 65536, .off = 1000, .loc = U("u1"),
	  .steps = { PUT(U("u1?digest=@D"), -1, 201, NULL) },
	  .to = BP_UP_DONE, .want_off = 1000, .want_chunked = 1 },
	{ .name = "CLOSE, a stream cut off, no retries left: HEAD, FAILED",
	  .stream = 1, .from = BP_UP_CLOSE, .chunk = 65536, .off = 1000, .attempts = 1,
	  .loc = U("u1"),
	  .steps = { PUT_CUT(U("u1?digest=@D"), -1, 0), HEAD_BLOB(404, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_ENET, .want_off = 1000, .want_chunked = 1 },
	{ .name = "CLOSE, a stream with its chunk in hand: PUT with it, DONE",
	  .stream = 1, .from = BP_UP_CLOSE, .size = 1000, .chunk = 65536, .off = 65536,
	  .loc = U("u1"),
	  .steps = { PUT_CR(U("u1?digest=@D"), "65536-66535", 1000, 201, NULL) },
	  .to = BP_UP_DONE, .want_off = 66536, .want_chunked = 1 },
	{ .name = "CLOSE, a stream's PUT with its chunk cut off: STATUS after a wait",
	  .stream = 1, .from = BP_UP_CLOSE, .size = 1000, .chunk = 65536, .off = 65536,
	  .loc = U("u1"),
	  .steps = { PUT_CR_CUT(U("u1?digest=@D"), "65536-66535", 1000, 10), HEAD_BLOB(404, NULL) },
	  .to = BP_UP_STATUS, .want_off = 65536, .want_chunked = 1, .want_tries = 1 },

	{ .name = "POST ?digest=, known to store: 201 with our digest, DONE",
	  .from = BP_UP_POST, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(201, STORED) },
	  .to = BP_UP_DONE },
	{ .name = "POST ?digest=, 201 without our digest: VERIFY",
	  .from = BP_UP_POST, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(201, NULL) },
	  .to = BP_UP_VERIFY },
	{ .name = "POST ?digest=, 201 naming another digest: FAILED",
	  .from = BP_UP_POST, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(201, "Docker-Content-Digest: sha256:" HEX_OTHER) },
	  .to = BP_UP_FAILED, .rc = BP_EINTEGRITY },
	{ .name = "POST ?digest=, 202 with a session (the body dropped): CLOSE in it, one PUT",
	  .from = BP_UP_POST, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(202, L("u1")) },
	  .to = BP_UP_CLOSE, .want_loc = U("u1") },
	{ .name = "POST ?digest=, 405: OPEN (a plain POST)",
	  .from = BP_UP_POST, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(405, NULL) },
	  .to = BP_UP_OPEN },
	{ .name = "POST ?digest=, 403: FAILED",
	  .from = BP_UP_POST, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = 1,
	  .steps = { MONO(403, NULL) },
	  .to = BP_UP_FAILED, .rc = BP_EAUTH },
	{ .name = "VERIFY, the blob there: DONE",
	  .from = BP_UP_VERIFY, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .steps = { HEAD_BLOB(200, "Content-Length: 1000") },
	  .to = BP_UP_DONE },
	{ .name = "VERIFY, the blob not there: OPEN",
	  .from = BP_UP_VERIFY, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .steps = { HEAD_BLOB(404, NULL) },
	  .to = BP_UP_OPEN },
	{ .name = "VERIFY, another size there: OPEN",
	  .from = BP_UP_VERIFY, .size = 1000, .chunk = 65536, .mono = 1 << 20, .post = -1,
	  .steps = { HEAD_BLOB(200, "Content-Length: 999") },
	  .to = BP_UP_OPEN },
	{ .name = "DONE stays DONE: no request", BIG,
	  .from = BP_UP_DONE, .loc = U("u1"), .to = BP_UP_DONE },
};
/* clang-format on */

static void test_transition(void **state)
{
	const trow *w = *state;
	static script s;
	bp_upload_options o = { w->session, 0, w->chunk, w->mono, on_progress, &s };
	unsigned char *data = malloc((size_t)(w->off + w->size + 1));
	bp_registry *r;
	bp_upload u;
	int fd = -1, err;

	assert_non_null(data);
	for (int64_t i = 0; i < w->off + w->size; i++)
		data[i] = byte_at(i);
	memset(&s, 0, sizeof(s));
	s.name = w->name;
	s.steps = w->steps;
	s.data = data;
	snprintf(s.digest_enc, sizeof(s.digest_enc), "sha256%%3A%s", HEX);
	bp_state__upload_drop(DOMAIN, REPO, DIGEST);
	r = scripted_registry(&s, w->attempts);
	r->body_cap = w->cap;
	r->no_patch = w->no_patch;
	r->known.post_stores = w->post;
	if (w->stream) {
		assert_int_equal(bp_upload__init_stream(&u, r, REPO, w->chunk, on_progress, &s), 0);
		if (w->expect)
			bp_strlcpy(u.expect, w->expect, sizeof(u.expect));
		u.buf = malloc((size_t)w->chunk);
		assert_non_null(u.buf);
		memcpy(u.buf, data + w->off, (size_t)w->size);
		u.len = (size_t)w->size;
		if (w->from == BP_UP_CLOSE)
			u.digest = DIGEST;
	} else {
		fd = blob_file(w->size, 0, data);
		assert_int_equal(bp_upload__init_fd(&u, r, REPO, DIGEST, w->size, fd, &o), 0);
		u.chunked = w->chunked;
	}
	u.state = w->from;
	u.off = w->off;
	u.inflight = w->inflight;
	u.no_patch = w->no_patch;
	u.force_chunks = w->force_chunks;
	u.shrunk = w->shrunk;
	u.tries = w->tries;
	u.closing = w->closing;
	free(u.loc);
	u.loc = w->loc ? bp_strdup(w->loc) : NULL;

	err = bp_upload__step(&u);
	if (err != w->rc || u.state != w->to)
		fail_msg("%s: rc %d, state %d (%s); want rc %d, state %d", w->name, err, u.state,
			 bp_error_last(), w->rc, w->to);
	if (s.next < STEPS_MAX && w->steps[s.next].method)
		fail_msg("%s: %zu requests made, the step should make more", w->name, s.next);
	assert_int_equal(u.off, w->want_off);
	assert_int_equal(u.chunk, w->want_chunk ? w->want_chunk : w->chunk);
	assert_int_equal(u.chunked, w->want_chunked);
	assert_int_equal(u.no_patch, w->want_no_patch);
	assert_int_equal(u.force_chunks, w->want_force);
	assert_int_equal(u.tries, w->want_tries);
	if (strcmp(u.loc ? u.loc : "", w->want_loc ? w->want_loc : w->loc ? w->loc : "") != 0)
		fail_msg("%s: Location %s, want %s", w->name, u.loc ? u.loc : "(none)",
			 w->want_loc ? w->want_loc : w->loc);
	bp_upload__release(&u);
	bp_registry__free(r);
	if (fd >= 0)
		close(fd);
	free(data);
}

static char tmpdir[] = "/tmp/test_upload_state.XXXXXX";

/*
 * The stream's chunks go out on the upload's own thread: write() returns
 * once a whole chunk is handed over, and the caller fills the next while
 * the first PATCH is still unanswered. The first PATCH waits (ten seconds
 * at most) for the caller to say it wrote on; a write() that PATCHed on
 * the caller's thread would never get there.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wrote_on;
	int held; /* the PATCH was held until the caller wrote on */
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };

static int gated_send(const bp_http_request *req, bp_http_response *resp, void *payload)
{
	script *s = payload;

	if (s->next == 1) { /* the first PATCH */
		struct timespec until;
		int rc = 0;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		pthread_mutex_lock(&gate.lock);
		while (!gate.wrote_on && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&gate.cond, &gate.lock, &until);
		gate.held = gate.wrote_on;
		pthread_mutex_unlock(&gate.lock);
	}
	return fake_send(req, resp, payload);
}

static void test_stream_overlaps(void **state)
{
	static const step steps[] = {
		POST(202, L("u1")),
		PATCH(U("u1"), "0-65535", 65536, 202, L("u1?_state=1") "\nRange: 0-65535"),
		PUT_CR(U("u1?_state=1&digest=@D"), "65536-99999", 34464, 201, NULL),
	};
	static script s;
	static unsigned char data[100000];
	bp_registry_options opts = { 0 };
	bp_registry_seam seam = { gated_send, nap, &s };
	char digest[BP_DIGEST_MAX], got[BP_DIGEST_MAX], *enc;
	step script_steps[STEPS_MAX] = { 0 };
	bp_registry *r = NULL;
	bp_upload *u = NULL;
	int64_t size = -1;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = byte_at((int64_t)i);
	memcpy(script_steps, steps, sizeof(steps));
	memset(&s, 0, sizeof(s));
	s.name = "overlap";
	s.steps = script_steps;
	s.data = data;
	assert_int_equal(bp_digest_buf(digest, data, sizeof(data)), 0);
	enc = bp_urlencode(digest);
	snprintf(s.digest_enc, sizeof(s.digest_enc), "%s", enc);
	free(enc);
	opts.push = 1;
	opts.payload = &s;
	assert_int_equal(bp_registry__new(&r, DOMAIN, NULL, &opts), 0);
	assert_int_equal(bp_registry__set_seam(r, BASE, &seam), 0);

	assert_int_equal(bp_registry__upload_begin(r, REPO, 65536, NULL, NULL, &u), 0);
	/* the first chunk whole (handed over), then part of the second */
	assert_int_equal(bp_registry__upload_write(u, data, 65536), 0);
	assert_int_equal(bp_registry__upload_write(u, data + 65536, 1000), 0);
	pthread_mutex_lock(&gate.lock);
	gate.wrote_on = 1;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
	assert_int_equal(bp_registry__upload_write(u, data + 66536, sizeof(data) - 66536), 0);
	if (bp_registry__upload_finish(u, got, &size) != 0)
		fail_msg("finish: %s", bp_error_last());
	assert_string_equal(got, digest);
	assert_int_equal(size, (int64_t)sizeof(data));
	assert_true(gate.held);
	assert_int_equal(s.next, 3);
	bp_registry__upload_free(u);
	bp_registry__free(r);
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	return setenv("XDG_STATE_HOME", tmpdir, 1);
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	size_t nrows = sizeof(rows) / sizeof(rows[0]), ntrows = sizeof(trows) / sizeof(trows[0]);
	size_t n = nrows + ntrows + 1, i;
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int rc;

	if (!tests)
		return 1;
	for (i = 0; i < nrows; i++) {
		tests[i].name = rows[i].name;
		tests[i].test_func = test_row;
		tests[i].initial_state = (void *)&rows[i];
	}
	for (i = 0; i < ntrows; i++) {
		tests[nrows + i].name = trows[i].name;
		tests[nrows + i].test_func = test_transition;
		tests[nrows + i].initial_state = (void *)&trows[i];
	}
	tests[n - 1].name = "streamed: the next chunk fills while a PATCH is unanswered";
	tests[n - 1].test_func = test_stream_overlaps;
	rc = _cmocka_run_group_tests("test_upload", tests, n, setup, teardown);
	free(tests);
	return rc;
}
