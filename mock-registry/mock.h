/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MOCK_REGISTRY_MOCK_H
#define MOCK_REGISTRY_MOCK_H

/*
 * The mock registry: a small Docker Registry HTTP API v2 server and token
 * service for tests. Written independently of src/lib on purpose, so that
 * a protocol mistake in the client is not mirrored here.
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <microhttpd.h>

#include "util/dynbuf.h"

#define MOCK_SERVICE "mock-registry"
#define MOCK_MANIFEST_MAX (4 * 1024 * 1024)
#define MOCK_NAME_MAX 255
#define MOCK_TAG_MAX 128
#define MOCK_HEX_LEN 64
#define MOCK_UUID_LEN 36
#define MOCK_TOKEN_LEN 64
#define MOCK_FORM_MAX (64 * 1024) /* an OAuth2 POST /token body */

/* What the --fault kinds send (see faults.c). */
#define MOCK_HUGE_MANIFEST (5 * 1024 * 1024)
#define MOCK_UNKNOWN_TYPE "application/vnd.example.unknown+json"
#define MOCK_TOKEN_HUGE (100 * 1024)
#define MOCK_BAD_LOCATION "http://[::1"
#define MOCK_ERROR_JUNK (64 * 1024 + 1)

/* Repository actions, as bits. */
#define MOCK_PULL 1u
#define MOCK_PUSH 2u
#define MOCK_DELETE 4u
#define MOCK_ALL (MOCK_PULL | MOCK_PUSH | MOCK_DELETE)

enum mock_auth_mode { MOCK_AUTH_NONE, MOCK_AUTH_BASIC, MOCK_AUTH_TOKEN };

/* --monolithic-post: store (201, stored), drop (202 and a session, as distribution), lie (201). */
enum mock_post_mode { MOCK_POST_STORE, MOCK_POST_DROP, MOCK_POST_LIE };

/* --fault KIND, as bits of mock_config.faults; faults.c names and documents them. */
enum mock_fault {
	MOCK_FAULT_MANIFEST_HUGE = 1u << 0,
	MOCK_FAULT_MANIFEST_UNKNOWN_TYPE = 1u << 1,
	MOCK_FAULT_TOKEN_HUGE = 1u << 2,
	MOCK_FAULT_TOKEN_NOT_JSON = 1u << 3,
	MOCK_FAULT_ERROR_BODY_HTML = 1u << 4,
	MOCK_FAULT_ERROR_BODY_BINARY = 1u << 5,
	MOCK_FAULT_LOCATION_NOT_URL = 1u << 6,
	MOCK_FAULT_DIGEST_HEADER_WRONG = 1u << 7,
	MOCK_FAULT_BLOB_ENDLESS = 1u << 8,
	MOCK_FAULT_MANIFEST_ENDLESS = 1u << 9,
	MOCK_FAULT_TOKEN_ENDLESS = 1u << 10,
	MOCK_FAULT_BLOB_REDIRECT_LOOP = 1u << 11,
	MOCK_FAULT_UPLOAD_RANGE_AHEAD = 1u << 12,
	MOCK_FAULT_UPLOAD_RANGE_BACKWARDS = 1u << 13,
	MOCK_FAULT_UPLOAD_ELSEWHERE = 1u << 14,
	MOCK_FAULT_RETRY_AFTER_DATE = 1u << 15,
	MOCK_FAULT_LINK_LOOP = 1u << 16,
	MOCK_FAULT_MANY_TAGS = 1u << 17,
	MOCK_FAULT_LINK_ABSOLUTE = 1u << 18,
	MOCK_FAULT_LINK_FOREIGN = 1u << 19,
	MOCK_FAULT_TAGS_ENDLESS = 1u << 20,
	MOCK_FAULT_REFERRERS_ENDLESS = 1u << 21,
	MOCK_FAULT_REFERRERS_LOOP = 1u << 22,
	MOCK_FAULT_REFERRERS_SELF = 1u << 23,
	MOCK_FAULT_REFERRERS_HUGE = 1u << 24,
	MOCK_FAULT_REFERRERS_DEEP = 1u << 25
};

/* --fault tags-endless: a page holds this many tags without ?n= or --tags-page. */
#define MOCK_ENDLESS_PAGE 100

/* --fault many-tags: this many tags t00000..t09999 beside the stored ones. */
#define MOCK_MANY_TAGS 10000

struct mock_fault_kind {
	const char *name; /* the KIND of --fault KIND */
	enum mock_fault bit;
	const char *help; /* one line for --help */
};

/* --status-fault METHOD:SUBSTR:STATUS:COUNT[:RETRY-AFTER] (faults.c). */
struct mock_status_fault {
	char *method; /* "*" for any */
	char *substr; /* matched against the request URI, path and query */
	unsigned status;
	long count;	  /* 0: every matching request */
	long retry_after; /* seconds; -1: no Retry-After header */
	long used;	  /* answered so far, under the faults lock */
};

struct mock_user {
	char *name;
	char *pass;
	unsigned actions;
};

struct mock_config {
	char *root;
	char listen[64]; /* a loopback address, as text */
	int ipv6;
	uint16_t port;
	char *port_file;
	char *log_path;
	enum mock_auth_mode auth;
	struct mock_user *users;
	size_t nusers;
	unsigned anon_actions;
	long token_expiry;
	int relative_location;
	int64_t chunk_min_length; /* -1: header not sent */
	unsigned faults;	  /* enum mock_fault bits */
	int no_oauth;		  /* POST /token answers 404 */
	int no_refresh_tokens;	  /* the token service never returns refresh_token */
	int revoke_refresh;	  /* every refresh token is refused (401) */
	struct mock_status_fault *status_faults;
	size_t nstatus_faults;
	int64_t cut_upload_after;   /* -1: off */
	int64_t cut_download_after; /* -1: off */
	int no_ranges;		    /* blob GETs ignore Range */
	int no_upload_status;	    /* GET on an upload Location answers 404 */
	int storage_redirect;	    /* blob GETs answer 307 to the storage port */
	int no_chunked_upload;	    /* PATCH on an upload answers 405 */
	int patch_created;	    /* PATCH answers 201, its Range stuck (as ECR) */
	int64_t slow_ms;	    /* every answer waits this long first; 0: off */
	int64_t max_body;	    /* -1: off; larger request bodies get 413 */
	char *tls_cert;		    /* --tls-cert: PEM contents; NULL: plain http */
	char *tls_key;
	char *tls_client_ca; /* --tls-client-ca: a client certificate is required */
	int64_t tags_page;	    /* tags/list without ?n=: this many a page; 0: all */
	int no_delete;		    /* DELETE of manifests and blobs answers 405 UNSUPPORTED */
	enum mock_post_mode monolithic_post; /* POST ?digest= with the blob (--monolithic-post) */
	long ratelimit_limit;	    /* --ratelimit: manifest GETs a window allows; -1: off */
	long ratelimit_window;	    /* its seconds */
	int referrers_api;	    /* --referrers-api: GET .../referrers/D and OCI-Subject */
	int64_t referrers_page;	    /* referrers a page without ?n=; 0: all */
	unsigned referrers_missing_status; /* without the API: the answer's status (404) */
	char referrers_missing_code[40];   /* and its error code; "": a plain-text 404 body */
};

struct mock_log;
struct mock_tokens;
struct mock_uploads;

struct mock_server {
	struct mock_config cfg;
	uint16_t port;
	char host[72];	    /* 127.0.0.1 or [::1] */
	char base_url[96];  /* http://HOST:PORT, https:// with --tls-cert */
	const char *scheme; /* "http" or "https" */
	struct mock_log *log;
	struct mock_tokens *tokens;
	struct mock_uploads *uploads;
	struct MHD_Daemon *daemon;
	struct MHD_Daemon *storage; /* --storage-redirect: the second port */
	uint16_t storage_port;
	int cut_upload_done; /* the --cut-* switches act once; under the faults lock */
	int cut_download_done;
	long ratelimit_used;	    /* --ratelimit: GETs counted in this window; faults lock */
	struct timespec ratelimit_start; /* when the window began (CLOCK_MONOTONIC) */
};

/* Who sent a request, decided once from its Authorization header. */
enum mock_ident_kind {
	MOCK_ID_NONE,	/* no Authorization header */
	MOCK_ID_BASIC,	/* valid basic credentials */
	MOCK_ID_BEARER, /* valid, unexpired token */
	MOCK_ID_BAD	/* present but invalid or expired */
};

struct mock_ident {
	enum mock_ident_kind kind;
	int bearer_scheme;		 /* header used the Bearer scheme */
	char user[128];			 /* empty unless BASIC or BEARER */
	char token[MOCK_TOKEN_LEN + 1];	 /* BEARER only */
	const struct mock_user *account; /* BASIC only */
};

struct mock_upload;
struct mock_req;

/* Called with the whole body received; queues the reply. */
typedef enum MHD_Result (*mock_finish_fn)(struct mock_req *r);

enum mock_body_mode {
	MOCK_BODY_DISCARD, /* any body is read and dropped */
	MOCK_BODY_FILE,	   /* appended to r->fd */
	MOCK_BODY_BUFFER   /* kept in r->body, capped */
};

/* One HTTP request, from the URI log callback to the completion notice. */
struct mock_req {
	struct mock_server *srv;
	struct MHD_Connection *conn;
	int storage; /* arrived on the storage port */
	char *uri;   /* path?query exactly as received */
	const char *method;
	int started;
	int in_first; /* inside the first (headers) call */
	int answered;
	int logged;
	struct MHD_Response *pending; /* decided early, queued at the end */
	unsigned pending_status;
	struct mock_ident ident;
	char *name; /* repository, validated */
	char *ref;  /* tag, digest or uuid after the route prefix */
	mock_finish_fn finish;
	enum mock_body_mode body_mode;
	int fd;
	int64_t base_size; /* upload size before this request's bytes */
	int64_t received;
	int body_error; /* write failure or cap exceeded */
	int too_large;	/* --max-body passed by a body without Content-Length */
	bp_dynbuf body;
	struct mock_upload *up;	  /* claimed upload session, if any */
	int64_t cr_start, cr_end; /* Content-Range, when has_cr */
	int has_cr;
	char grant[160]; /* POST /token: "GRANT:USER" for the log's auth= field */
};

/* server.c */
/* Starts the HTTP daemon on cfg's address; 0 or -1 with a message on stderr. */
int mock_server_start(struct mock_server *srv);
/* Stops the daemon, waiting for every connection to finish. */
void mock_server_stop(struct mock_server *srv);
/* A request header value, or NULL (borrowed from MHD). */
const char *mock_header(struct mock_req *r, const char *name);
/* A decoded query parameter (the first one), or NULL. */
const char *mock_query(struct mock_req *r, const char *key);
/* An empty response (Content-Length: 0), or NULL when out of memory. */
struct MHD_Response *mock_resp_empty(void);
/* A response owning a copy of len bytes, with the given Content-Type. */
struct MHD_Response *mock_resp_bytes(const char *data, size_t len, const char *ctype);
/* Logs and queues resp with status, then drops our reference. */
enum MHD_Result mock_reply(struct mock_req *r, unsigned status, struct MHD_Response *resp);
/* {"errors":[{code,message[,detail]}]} as an application/json response. */
struct MHD_Response *mock_resp_error_body(const char *code, const char *message,
					  const char *detail);
/* Replies with a registry JSON error; detail may be NULL. */
enum MHD_Result mock_reply_error(struct mock_req *r, unsigned status, const char *code,
				 const char *message, const char *detail);
/* Builds a Location value for path: relative per config, else on the origin the client asked for. */
char *mock_location(struct mock_req *r, const char *path);

/* routes.c */
/* First call for a request: route, validate, authorize, prepare the body. */
enum MHD_Result mock_route(struct mock_req *r, const char *url);
/* First call for a request on the storage port: the blob GET or an upload-elsewhere session. */
enum MHD_Result mock_route_storage(struct mock_req *r, const char *url);

/* blobs.c */
enum MHD_Result mock_blob_get(struct mock_req *r);
enum MHD_Result mock_blob_delete(struct mock_req *r);
/* GET/HEAD /blob/<hex>?sig=S on the storage port (no authorization: the URL is signed). */
enum MHD_Result mock_storage_get(struct mock_req *r, const char *url);
/* A bare {"error":MSG} body with status, as S3-style storage answers. */
enum MHD_Result mock_storage_error(struct mock_req *r, unsigned status, const char *msg);
/* POST .../blobs/uploads/ (plain, monolithic or mount): set up or reply. */
enum MHD_Result mock_upload_post(struct mock_req *r);
/* PATCH, PUT, GET, DELETE on an upload session: set up or reply. */
enum MHD_Result mock_upload_session(struct mock_req *r);

/* manifests.c */
enum MHD_Result mock_manifest_get(struct mock_req *r);
enum MHD_Result mock_manifest_put(struct mock_req *r);
enum MHD_Result mock_manifest_delete(struct mock_req *r);
enum MHD_Result mock_tags_list(struct mock_req *r);

/* referrers.c */
/* GET/HEAD /v2/NAME/referrers/DIGEST: the list (--referrers-api), or what a registry without it says. */
enum MHD_Result mock_referrers_get(struct mock_req *r);
/* Parses --referrers-missing STATUS[:CODE] into c; 0 or -1. */
int mock_referrers_missing_parse(const char *spec, struct mock_config *c);
struct cJSON;
/*
 * With --referrers-api, OCI-Subject: DIGEST onto resp (NULL is fine) when
 * the manifest put has a subject; 0, or -1 out of memory.
 */
int mock_referrers_subject(struct mock_req *r, const struct cJSON *manifest,
			   struct MHD_Response *resp);

/* auth.c */
/* Parses NAME:PASS[:ACTIONS] into u; 0 or -1. */
int mock_user_parse(struct mock_user *u, const char *spec);
/* Parses a comma list of pull,push,delete ("" or "none": nothing). */
int mock_actions_parse(const char *s, unsigned *out);
/* Writes "pull,push" style text for actions into buf. */
void mock_actions_format(unsigned actions, char *buf, size_t size);
/* Creates the token table; NULL when out of memory. */
struct mock_tokens *mock_tokens_new(void);
void mock_tokens_free(struct mock_tokens *t);
/* Fills r->ident from the Authorization header. */
void mock_auth_identify(struct mock_req *r);
/* The auth= field of the request log. */
void mock_auth_label(const struct mock_req *r, char *buf, size_t size);
/* 1 when r's identity may do actions on repo, else 0. */
int mock_auth_allows(struct mock_req *r, const char *repo, unsigned actions);
/* 0 when allowed; else queues 401/403, stores MHD's answer in *res, returns 1. */
int mock_auth_require(struct mock_req *r, const char *repo, unsigned actions, enum MHD_Result *res);
/* GET /v2/: 200 or the bare challenge. */
enum MHD_Result mock_auth_ping(struct mock_req *r);
/* GET /token: the token service. */
enum MHD_Result mock_token_endpoint(struct mock_req *r);
/* POST /token: the OAuth2 token endpoint; reads the form body, answers at its end. */
enum MHD_Result mock_token_post(struct mock_req *r);

/* uploads.c */
struct mock_uploads *mock_uploads_new(void);
void mock_uploads_free(struct mock_uploads *u);
/* Registers a new session for repo; writes uuid and state; 0 or -1. */
int mock_uploads_create(struct mock_uploads *u, const char *repo, char uuid[MOCK_UUID_LEN + 1],
			char state[MOCK_TOKEN_LEN + 1]);
enum mock_claim {
	MOCK_CLAIM_OK,
	MOCK_CLAIM_UNKNOWN, /* no such uuid in this repo */
	MOCK_CLAIM_STATE,   /* _state missing or not the newest */
	MOCK_CLAIM_BUSY	    /* another request is using it */
};
/* Marks the session busy for one request when uuid, repo and state match. */
enum mock_claim mock_uploads_claim(struct mock_uploads *u, const char *repo, const char *uuid,
				   const char *state, struct mock_upload **out);
/* Gives a new _state to a claimed session and copies it out. */
int mock_uploads_rotate(struct mock_uploads *u, struct mock_upload *up,
			char state[MOCK_TOKEN_LEN + 1]);
/* Copies the current _state of a claimed session. */
void mock_uploads_state(struct mock_uploads *u, struct mock_upload *up,
			char state[MOCK_TOKEN_LEN + 1]);
/* Ends a claim; remove drops the session for good. */
void mock_uploads_release(struct mock_uploads *u, struct mock_upload *up, int remove);
/* The uuid of a session (borrowed). */
const char *mock_upload_uuid(const struct mock_upload *up);

/* storage.c */
int mock_valid_name(const char *s);
int mock_valid_tag(const char *s);
/* Returns the hex part of a valid "sha256:<64 hex>" digest, else NULL. */
const char *mock_valid_digest(const char *s);
int mock_valid_uuid(const char *s);
/* Creates ROOT and its fixed subdirectories; 0 or -1 (errno set). */
int mock_store_init(const char *root);
/* mkdir -p of every directory above path; 0 or -1. */
int mock_mkdirs_for(const char *path);
/* Writes data to path through a temporary file and rename; 0 or -1. */
int mock_write_atomic(const char *path, const void *data, size_t len);
/* Reads a whole small file into out (its cap bounds the size); 0 or -1. */
int mock_read_small(const char *path, bp_dynbuf *out);
/* 1 when path exists as a regular file. */
int mock_file_exists(const char *path);
/* 1 when path is a directory. */
int mock_dir_exists(const char *path);
/* sha256 of a file's bytes as 64 lowercase hex; 0 or -1. */
int mock_sha256_file(const char *path, char hex[MOCK_HEX_LEN + 1]);
int mock_sha256_buf(const void *data, size_t len, char hex[MOCK_HEX_LEN + 1]);
/* size random bytes as lowercase hex into out[2*size+1]; 0 or -1. */
int mock_random_hex(char *out, size_t size);
/* Writes all of len bytes to fd, retrying on EINTR; 0 or -1. */
int mock_write_all(int fd, const void *data, size_t len);
char *mock_path_blob(const struct mock_server *s, const char *hex);
char *mock_path_upload(const struct mock_server *s, const char *uuid);
/* ROOT/repos/<name>/<sub>/<leaf> (leaf may be NULL for the directory). */
char *mock_path_repo(const struct mock_server *s, const char *name, const char *sub,
		     const char *leaf);
/* 1 when blob hex is linked into repo and present in the store. */
int mock_blob_linked(const struct mock_server *s, const char *name, const char *hex);
/* Links a stored blob into repo; 0 or -1. */
int mock_blob_link(const struct mock_server *s, const char *name, const char *hex);
/* 1 when the repository has any content directory. */
int mock_repo_exists(const struct mock_server *s, const char *name);

/* faults.c */
/* Every --fault KIND, ending with a NULL name. */
extern const struct mock_fault_kind mock_fault_kinds[];
/* The bit of a --fault KIND; 0 or -1 when unknown. */
int mock_fault_parse(const char *name, unsigned *bit);
/* 1 when the server runs with --fault for this kind. */
int mock_fault_on(const struct mock_req *r, enum mock_fault kind);
/*
 * For error-body-html and error-body-binary: resp (consumed) with its body
 * replaced and its other headers kept; resp itself when neither is on.
 */
struct MHD_Response *mock_fault_error_body(struct mock_req *r, struct MHD_Response *resp);
/* manifest-huge: 5 MiB of valid-looking JSON with mediaType type, streamed. */
struct MHD_Response *mock_fault_huge_manifest(const char *type);
/* manifest-unknown-type: the manifest bytes with mediaType replaced by MOCK_UNKNOWN_TYPE. */
struct MHD_Response *mock_fault_retyped_manifest(const char *data, size_t len);
/* token-not-json: 200's body, text/html. */
struct MHD_Response *mock_fault_token_html(void);
/* token-huge: the token JSON grown to MOCK_TOKEN_HUGE bytes by a padding field (cJSON_free). */
char *mock_fault_token_padded(const char *json);
/*
 * blob-endless, manifest-endless, token-endless: 200 of unknown length
 * (chunked): head_len bytes of head (copied), or the bytes of fd when fd is
 * not -1 (owned, also on failure), then fill without end, as ctype.
 */
struct MHD_Response *mock_fault_endless(const char *head, size_t head_len, int fd, char fill,
					const char *ctype);
/* Parses METHOD:SUBSTR:STATUS:COUNT[:RETRY-AFTER] into f (strings owned by f); 0 or -1. */
int mock_status_fault_parse(const char *spec, struct mock_status_fault *f);
/* Frees the strings of f. */
void mock_status_fault_release(struct mock_status_fault *f);
/* When a --status-fault matches r and has answers left: queues it, sets *res, returns 1. */
int mock_status_fault_check(struct mock_req *r, enum MHD_Result *res);
/*
 * --cut-upload-after: 1 when the size bytes arriving now take r's body past
 * the limit and the cut has not happened yet; *keep gets how many of them to
 * store before the connection is closed.
 */
int mock_fault_cut_upload(struct mock_req *r, size_t size, size_t *keep);
/* Parses --ratelimit LIMIT:WINDOW into c; 0 or -1. */
int mock_ratelimit_parse(const char *spec, struct mock_config *c);
/*
 * --ratelimit, for a manifest GET (count 1) or HEAD (count 0): 0 with
 * *remaining what the window has left after it, or -1 when a GET finds it
 * spent (nothing counted, *remaining 0).
 */
int mock_ratelimit_take(struct mock_req *r, int count, long *remaining);
/* The ratelimit-limit and ratelimit-remaining headers, onto resp (NULL is fine). */
void mock_ratelimit_headers(struct mock_req *r, struct MHD_Response *resp, long remaining);
/* --cut-download-after: 1 when a blob answer of len bytes is the one to cut. */
int mock_fault_cut_download(struct mock_req *r, int64_t len);
/*
 * len bytes of fd from offset from, announced whole (Content-Length: len)
 * but ending in an error after cut bytes, so MHD closes the connection.
 * Owns fd, also when it returns NULL.
 */
struct MHD_Response *mock_fault_cut_response(int fd, int64_t from, int64_t len, int64_t cut);

/* log.c */
/* Opens FILE for appending; NULL path gives a log that drops lines. */
struct mock_log *mock_log_open(const char *path);
void mock_log_close(struct mock_log *l);
/* Appends one request line (see --help for the format). */
void mock_log_request(struct mock_log *l, struct mock_req *r, unsigned status);

#endif
