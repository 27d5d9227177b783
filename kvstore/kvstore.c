/* kvstore.c: the backend registry, kv_open, and the single-key helpers
 * (put, del, cas) expressed as one-op transactions.
 *
 * Does: keep a small table of const vtables by name, register the built-in
 * backends on first use, pick one from cfg->backend ("embedded" when unset).
 * Does not: any I/O; everything else is the backend's.
 *
 * The registry is meant to be filled from the main thread before stores are
 * opened; only the lazy built-in registration is guarded (pthread_once).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kv_int.h"
#include "kvstore.h"
#include "util.h"

#define KV_BACKENDS_MAX 8
#define KV_DEFAULT_BACKEND "embedded"

static const struct kv_ops *kv_backends[KV_BACKENDS_MAX];
static size_t kv_nbackends;
static pthread_once_t kv_builtin_once = PTHREAD_ONCE_INIT;

static const struct kv_ops *const kv_builtin[] = {
	&kv_embedded_ops,
	&kv_redis_ops,
	&kv_etcd_ops,
	&kv_consul_ops,
};

static const struct kv_ops *kv_find(const char *name)
{
	for (size_t i = 0; i < kv_nbackends; i++)
		if (strcmp(kv_backends[i]->name, name) == 0)
			return kv_backends[i];
	return NULL;
}

static int kv_add(const struct kv_ops *ops)
{
	if (!ops || !ops->name || !ops->name[0] || !ops->open)
		return -EINVAL;
	if (kv_find(ops->name))
		return -EEXIST;
	if (kv_nbackends == KV_BACKENDS_MAX)
		return -ENOSPC;
	kv_backends[kv_nbackends++] = ops;
	return 0;
}

static void kv_builtin_init(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(kv_builtin); i++)
		kv_add(kv_builtin[i]);
}

int kv_register(const struct kv_ops *ops)
{
	pthread_once(&kv_builtin_once, kv_builtin_init);
	return kv_add(ops);
}

const struct kv_ops *kv_ops_by_name(const char *name)
{
	pthread_once(&kv_builtin_once, kv_builtin_init);
	return name ? kv_find(name) : NULL;
}

/* "embedded, redis" for the unknown-backend message. */
static void kv_known_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < kv_nbackends && used < size; i++)
		used += snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
				 kv_backends[i]->name);
}

int kv_open(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
	    struct ovn_err *err)
{
	const struct kv_ops *ops;
	const char *name;
	char known[128];

	if (!out || !loop || !cfg)
		return ovn_err_set(err, -EINVAL, "store: kv_open needs out, loop and cfg");
	name = cfg->backend && cfg->backend[0] ? cfg->backend : KV_DEFAULT_BACKEND;
	ops = kv_ops_by_name(name);
	if (!ops) {
		kv_known_names(known, sizeof(known));
		return ovn_err_set(err, -EINVAL, "store.backend: unknown backend '%s' (known: %s)",
				   name, known);
	}
	return ops->open(out, loop, cfg, err);
}

int kv_put(struct kv *kv, const char *key, const char *value, size_t len, kv_cb cb, void *arg)
{
	const struct kv_op op = {
		.type = KV_OP_PUT,
		.cmp = KV_CMP_NONE,
		.key = key,
		.value = value,
		.len = len,
	};

	return kv_txn(kv, &op, 1, cb, arg);
}

int kv_del(struct kv *kv, const char *key, kv_cb cb, void *arg)
{
	const struct kv_op op = {
		.type = KV_OP_DEL,
		.cmp = KV_CMP_NONE,
		.key = key,
	};

	return kv_txn(kv, &op, 1, cb, arg);
}

int kv_cas(struct kv *kv, const char *key, const char *value, size_t len, uint64_t rev,
	   kv_cb cb, void *arg)
{
	const struct kv_op op = {
		.type = KV_OP_PUT,
		.cmp = rev ? KV_CMP_REV : KV_CMP_ABSENT,
		.key = key,
		.value = value,
		.len = len,
		.rev = rev,
	};

	return kv_txn(kv, &op, 1, cb, arg);
}
