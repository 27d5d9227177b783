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
/* The answer of a get (one key) or a list from its rows, sorted by key:
 * res->entries borrows r. A get gives at most one entry, and none is
 * -ENOENT with "'key': not found" written into msg (size bytes). */
void kvh_rows_result(struct kvh_rows *r, bool get, const char *key, char *msg, size_t size,
		     struct kv_result *res);

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

/* ---- the part of a cluster backend that etcd and Consul share ----
 *
 * Both keep an endpoint list with a current one, a store prefix, timeouts,
 * an optional auth header, and watches that each own a uv timer (reconnect
 * or poll backoff). struct kvh_backend is the first member of each
 * backend's object (so it is also the struct kv the wrappers cast) and
 * struct kvh_watch the first member of each backend's watch.
 *
 * Lifetimes: the object is freed once the HTTP client and every watch
 * timer have closed (counted in handles); a watch is freed only in its
 * timer's close callback, through kvh_backend_ops.watch_free.
 */
#define KVH_TIMEOUT_MS		5000	/* cfg->timeout 0: per request */
#define KVH_CONNECT_MIN_MS	200	/* connect timeout, split among endpoints */
#define KVH_BACKOFF_MIN_MS	100	/* watch retry: doubles up to the max */
#define KVH_BACKOFF_MAX_MS	2000

struct kvh_backend;
struct kvh_watch;

struct kvh_backend_ops {
	/* Optional: frees the backend's own fields (not the shared ones),
	 * never b. */
	void (*destroy)(struct kvh_backend *b);
	/* Reads cfg->password_file into b->token_hdr (or the backend's own
	 * fields); called only when one is configured. */
	int (*load_secret)(struct kvh_backend *b, const char *path, struct ovn_err *err);
	/* The watch timer fired: (re)connect or poll. */
	void (*watch_connect)(struct kvh_watch *w);
	/* Frees the backend's own fields of a watch, never w. */
	void (*watch_free)(struct kvh_watch *w);
	/* Optional: the HTTP client has closed (every request got its done
	 * callback); b is freed after the watches too. */
	void (*http_closed)(struct kvh_backend *b);
};

struct kvh_backend {
	struct kv base;			/* first: the kv_* wrappers cast */
	const struct kvh_backend_ops *ops;
	uv_loop_t *loop;
	struct kvh *http;
	char **eps;
	size_t n_eps, cur;		/* cur: where the next request starts */
	char *prefix;
	size_t plen;
	long timeout_ms, connect_ms;
	char *token_hdr;		/* auth header line, or NULL */
	struct kvh_watch *watches;
	bool closing;
	int handles;			/* http client + watch timers */
	void (*close_cb)(void *arg);
	void *close_arg;
};

struct kvh_watch {
	struct kvh_watch *prev, *next;	/* b->watches */
	struct kvh_backend *b;
	uv_timer_t timer;		/* connect, poll or backoff */
	kv_watch_cb cb;
	void *arg;
	struct kvh_req *req;		/* the stream or poll in flight */
	size_t ep;			/* endpoint of req */
	unsigned int backoff_ms;
	bool dead;			/* unwatched: no callback any more */
};

/* Allocate a zeroed object of size bytes (at least a struct kvh_backend,
 * which it starts with), configure it from cfg and start its HTTP client.
 * On failure everything is freed and err says why. */
int kvh_backend_open(struct kvh_backend **out, size_t size, const struct kv_ops *kv_ops,
		     const struct kvh_backend_ops *ops, uv_loop_t *loop,
		     const struct kv_config *cfg, struct ovn_err *err);
/* The kv_ops.close of both backends: kill every watch, close the client. */
void kvh_backend_close(struct kv *kv, void (*cb)(void *arg), void *arg);
/* The endpoint failed to connect: later requests start at the next one. */
void kvh_backend_ep_failed(struct kvh_backend *b, size_t ep);
/* An attempt at endpoint ep ended with resp: true when the request should
 * go again to the (new) current endpoint. Only when no connection was
 * made, or when resending is harmless (idempotent), at most once per
 * endpoint (*tries counts them). */
bool kvh_backend_failover(struct kvh_backend *b, const struct kvh_resp *resp, size_t ep,
			  size_t *tries, bool idempotent);
/* Checks common to get and list, then the full key into *full. */
int kvh_backend_read_key(struct kvh_backend *b, const char *key, bool as_prefix, kv_cb cb,
			 char **full);
/* Checks of a transaction's arguments: 0, -EINVAL or -ESHUTDOWN. */
int kvh_backend_txn_check(struct kvh_backend *b, const struct kv_op *ops, size_t n,
			  kv_cb cb);
/* "Content-Type: application/json" and the auth header, NULL-terminated. */
void kvh_backend_headers(const struct kvh_backend *b, const char *hdrs[3]);

/* Checks common to every watch call before the backend allocates one. */
int kvh_watch_check(const struct kvh_backend *b, kv_watch_cb cb, struct kv_watch **out);
/* Link w (zeroed but for the backend's fields) to b and connect it from
 * the loop. */
void kvh_watch_add(struct kvh_backend *b, struct kvh_watch *w, kv_watch_cb cb, void *arg,
		   struct kv_watch **out);
/* The kv_ops.unwatch of both backends (also used on close). */
void kvh_watch_kill(struct kvh_backend *b, struct kvh_watch *w);
void kvh_unwatch(struct kv *kv, struct kv_watch *w);
/* Run watch_connect after delay_ms. */
void kvh_watch_retry(struct kvh_watch *w, unsigned int delay_ms);
/* The current backoff delay; the next one doubles (up to the max). */
unsigned int kvh_watch_next_delay(struct kvh_watch *w);
/* A watch request failed with resp: move away from an unreachable endpoint. */
void kvh_watch_failed(struct kvh_watch *w, const struct kvh_resp *resp);

#endif
