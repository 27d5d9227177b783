/* kv_http_int.h: the HTTP client the etcd and Consul backends share
 * (kv_http.c): libcurl's multi interface driven by a libuv loop, plus the
 * base64 codec both wire formats need. Nothing outside kvstore/ includes
 * this file except the unit tests.
 *
 * Callbacks (done and chunk) always run from the loop with no libcurl call
 * on the stack, so they may start, cancel or close anything, the client
 * included. Data handed to a callback is borrowed until it returns.
 */
#ifndef OVN_KV_HTTP_INT_H
#define OVN_KV_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "kvstore.h"
#include "ovn_err.h"

#define KVH_MAX_INFLIGHT	10000		/* kvh_request: -EAGAIN beyond */
#define KVH_BODY_MAX		(256u << 20)	/* a bigger answer is -EMSGSIZE */

struct kvh;
struct kvh_req;

struct kvh_tls {
	const char *ca, *cert, *key;	/* PEM files; NULL = curl's defaults */
};

struct kvh_resp {
	int status;		/* 0 when an HTTP answer arrived (any code);
				 * -ECONNREFUSED (no connection), -ETIMEDOUT,
				 * -ECANCELED (client closed), -EMSGSIZE, -EIO */
	const char *msg;	/* transport reason when status < 0, else "" */
	bool sent;		/* the request reached a server: a write may
				 * have been applied even if status < 0 */
	long code;		/* HTTP status, 0 without an answer */
	const char *body;	/* NUL-terminated; streaming: what is left */
	size_t len;
	const char *headers;	/* raw header block of the final answer */
	size_t hlen;
};

typedef void (*kvh_done_cb)(const struct kvh_resp *resp, void *arg);
typedef void (*kvh_chunk_cb)(const char *buf, size_t len, void *arg);

/* One request; everything is copied by kvh_request. */
struct kvh_call {
	const char *method;		/* "GET", "POST", "PUT", "DELETE" */
	const char *url;
	const char *body;		/* NULL = none */
	size_t len;
	const char *const *headers;	/* "Name: value", NULL-terminated */
	long timeout_ms;		/* whole request; 0 = none (streams) */
	long connect_timeout_ms;	/* 0 = timeout_ms, or curl's default */
	/* Streaming: the body goes to on_chunk as it arrives instead of
	 * being collected; TCP keepalive notices a dead peer. */
	kvh_chunk_cb on_chunk;
};

int kvh_new(struct kvh **out, uv_loop_t *loop, const struct kvh_tls *tls,
	    struct ovn_err *err);
/* Asynchronous: every request still running gets its done callback with
 * -ECANCELED (from the loop, not from this call), the handles close, then
 * cb(arg). Requests made after this fail with -ESHUTDOWN. */
void kvh_close(struct kvh *h, void (*cb)(void *arg), void *arg);

/* 0 and *out (may be NULL) set, or -EAGAIN (too many in flight), -EINVAL,
 * -ESHUTDOWN, -ENOMEM. cb runs exactly once unless kvh_cancel is called. */
int kvh_request(struct kvh *h, const struct kvh_call *call, kvh_done_cb cb, void *arg,
		struct kvh_req **out);
/* Stop a request; its callbacks never run. r must still be in flight. */
void kvh_cancel(struct kvh *h, struct kvh_req *r);
size_t kvh_inflight(const struct kvh *h);

/* Value of header name (case-insensitive) in resp, trimmed, copied into out;
 * false when absent or too long. */
bool kvh_header(const struct kvh_resp *resp, const char *name, char *out, size_t size);

/* Base64 (RFC 4648, padded). encode writes kvh_b64_len(n) bytes plus a NUL;
 * decode needs n / 4 * 3 bytes of room and returns the length or -EINVAL. */
static inline size_t kvh_b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}
void kvh_b64_encode(const void *in, size_t n, char *out);
long kvh_b64_decode(const char *in, size_t n, char *out);
/* Malloc'd copies: encode NUL-terminated; decode NUL-terminated with *len
 * set; NULL on bad input or no memory. */
char *kvh_b64_enc_dup(const void *in, size_t n);
char *kvh_b64_dec_dup(const char *in, size_t n, size_t *len);

/* ---- helpers the cluster backends share ---- */

#define KVH_KEY_MAX	4096		/* full key, store prefix included */

/* Store prefix + key, malloc'd, or -EINVAL (key must start with '/'; ""
 * only as a list/watch prefix, where it means "/"), -ENAMETOOLONG, -ENOMEM. */
int kvh_key_full(const char *prefix, const char *key, bool as_prefix, char **out);

/* Entries decoded from an answer, each key and value its own allocation
 * (key without the store prefix, value NUL-terminated). */
struct kvh_rows {
	struct kv_entry *v;
	size_t n, cap;
};

/* Takes ownership of key and val (both freed on failure too); strips the
 * first skip bytes of key. val NULL: a deletion (watch events). */
int kvh_rows_push(struct kvh_rows *r, char *key, size_t skip, char *val, size_t vlen,
		  uint64_t mod_rev);
void kvh_rows_sort(struct kvh_rows *r);		/* by key */
void kvh_rows_free(struct kvh_rows *r);

/* Two writes to one key in a transaction: refused by every backend (etcd
 * itself rejects them), since the outcome would hang on an order nobody
 * meant to rely on. */
bool kvh_ops_dup(const struct kv_op *ops, size_t n);

/* First line of path, without the newline, into a malloc'd string. */
int kvh_read_secret(const char *path, char **out, struct ovn_err *err);

/* Duplicate endpoint URLs without trailing '/'; each must start with
 * http:// or https://. what names the backend in messages. */
int kvh_endpoints_dup(const char *what, const char *const *eps, size_t n, char ***out,
		      struct ovn_err *err);
void kvh_endpoints_free(char **eps, size_t n);

#endif
