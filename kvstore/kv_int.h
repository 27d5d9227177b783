/* kv_int.h: what kvstore.c needs to know about the built-in backends. Each
 * backend exports one const vtable; kvstore.c registers them on first use.
 * Nothing outside kvstore/ includes this file. */
#ifndef OVN_KV_INT_H
#define OVN_KV_INT_H

#include "kvstore.h"

extern const struct kv_ops kv_embedded_ops;
extern const struct kv_ops kv_redis_ops;
extern const struct kv_ops kv_etcd_ops;
extern const struct kv_ops kv_consul_ops;

#endif
