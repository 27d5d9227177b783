/* kvstore.h: ovn's pluggable key-value store. Keys are strings ("/ovn/networks/web"),
 * values are opaque bytes (JSON in practice). Every key carries the store-wide
 * revision at which it was last modified (mod_rev); revisions only grow.
 *
 * All operations are asynchronous: they queue work and return 0 (or -errno if
 * the request could not even be queued), and the callback runs later on the
 * store's libuv loop, never from inside the call. Results and the data they
 * point to are borrowed until the callback returns: copy what you keep.
 *
 * Backends are const vtables (struct kv_ops) registered by name; kv_open picks
 * one from the config. Callers use the inline wrappers only.
 */
#ifndef OVN_KVSTORE_H
#define OVN_KVSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ovn_err.h"

struct kv;

struct kv_entry {
	const char *key;
	const char *value;		/* not NUL-terminated in general: use len */
	size_t len;
	uint64_t mod_rev;
};

struct kv_result {
	int status;			/* 0, -ENOENT (get), -ECANCELED (compare
					 * failed), -ETIMEDOUT, -ECONNREFUSED, ... */
	const char *msg;		/* human reason when status < 0, else "" */
	uint64_t rev;			/* store revision after a write */
	size_t n;			/* entries (get: 0 or 1; list: all) */
	const struct kv_entry *entries;
};

typedef void (*kv_cb)(const struct kv_result *res, void *arg);

/* One step of an atomic transaction: all compares hold and all writes apply,
 * or nothing changes and the result is -ECANCELED. */
enum kv_op_type {
	KV_OP_PUT,		/* write value */
	KV_OP_DEL,		/* delete (absent is fine unless compared) */
	KV_OP_CHECK,		/* compare only, write nothing */
};

enum kv_cmp {
	KV_CMP_NONE,		/* unconditional */
	KV_CMP_ABSENT,		/* key must not exist */
	KV_CMP_REV,		/* key must exist with mod_rev == rev */
	KV_CMP_PRESENT,		/* key must exist, any revision */
};

struct kv_op {
	enum kv_op_type type;
	enum kv_cmp cmp;
	const char *key;
	const char *value;
	size_t len;
	uint64_t rev;		/* for KV_CMP_REV */
};

#define KV_TXN_MAX 16

enum kv_event_type { KV_EV_PUT, KV_EV_DEL };

struct kv_event {
	enum kv_event_type type;
	struct kv_entry entry;		/* for DEL: value NULL, len 0 */
};

/* Watch callback: events in revision order. On a gap the backend cannot fill
 * (compaction, reconnect), it calls with ev == NULL: the watcher must re-list. */
typedef void (*kv_watch_cb)(const struct kv_event *ev, void *arg);

struct kv_watch;

struct kv_config {
	const char *backend;		/* "embedded", "redis", "etcd", "consul" */
	const char *path;		/* embedded: directory of the data files */
	const char *prefix;		/* prepended to every key, e.g. "/ovn"; keys
					 * in calls and results never include it */
	/* embedded: seconds between background fdatasync (0 = fdatasync
	 * before every callback). Writes reach the file before the callback
	 * either way, so a killed agent loses nothing it acknowledged. */
	double sync_interval;
	/* cluster backends (redis, etcd, consul) */
	const char *const *endpoints;	/* "redis://198.18.0.254:6379",
					 * "http://198.18.0.254:2379", ... */
	size_t n_endpoints;
	const char *password_file;	/* redis AUTH / etcd user:password /
					 * consul ACL token, first line; NULL = none */
	struct {
		const char *ca, *cert, *key;	/* PEM files; NULL = plain TCP */
	} tls;
	double timeout;			/* seconds per request; 0 = 5 */
};

struct kv_ops {
	const char *name;
	/* lifecycle */
	int (*open)(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
		    struct ovn_err *err);
	/* Asynchronous: pending callbacks run with -ECANCELED, then cb(arg). */
	void (*close)(struct kv *kv, void (*cb)(void *arg), void *arg);
	/* reads */
	int (*get)(struct kv *kv, const char *key, kv_cb cb, void *arg);
	int (*list)(struct kv *kv, const char *prefix, kv_cb cb, void *arg);
	/* writes */
	int (*txn)(struct kv *kv, const struct kv_op *ops, size_t n, kv_cb cb, void *arg);
	/* change notification for keys under prefix, starting after rev
	 * (0 = from now) */
	int (*watch)(struct kv *kv, const char *prefix, uint64_t after_rev,
		     kv_watch_cb cb, void *arg, struct kv_watch **out);
	void (*unwatch)(struct kv *kv, struct kv_watch *w);
};

/* Every store object starts with this header so the wrappers can dispatch. */
struct kv {
	const struct kv_ops *ops;
};

/* Registry. The built-in backends are registered on first use. */
int kv_register(const struct kv_ops *ops);		/* -EEXIST on a duplicate name */
const struct kv_ops *kv_ops_by_name(const char *name);

int kv_open(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
	    struct ovn_err *err);

static inline void kv_close(struct kv *kv, void (*cb)(void *arg), void *arg)
{
	kv->ops->close(kv, cb, arg);
}
static inline int kv_get(struct kv *kv, const char *key, kv_cb cb, void *arg)
{
	return kv->ops->get(kv, key, cb, arg);
}
static inline int kv_list(struct kv *kv, const char *prefix, kv_cb cb, void *arg)
{
	return kv->ops->list(kv, prefix, cb, arg);
}
static inline int kv_txn(struct kv *kv, const struct kv_op *ops, size_t n, kv_cb cb, void *arg)
{
	return kv->ops->txn(kv, ops, n, cb, arg);
}
/* Single-key conveniences built on txn. */
int kv_put(struct kv *kv, const char *key, const char *value, size_t len, kv_cb cb, void *arg);
int kv_del(struct kv *kv, const char *key, kv_cb cb, void *arg);
/* Write value only if key's mod_rev is rev (rev 0: only if key is absent). */
int kv_cas(struct kv *kv, const char *key, const char *value, size_t len, uint64_t rev,
	   kv_cb cb, void *arg);
static inline int kv_watch_start(struct kv *kv, const char *prefix, uint64_t after_rev,
				 kv_watch_cb cb, void *arg, struct kv_watch **out)
{
	return kv->ops->watch(kv, prefix, after_rev, cb, arg, out);
}
static inline void kv_watch_stop(struct kv *kv, struct kv_watch *w)
{
	kv->ops->unwatch(kv, w);
}

#endif
