/* kv_consul_int.h: Consul's KV HTTP API as pure functions
 * (kv_consul_wire.c), shared by the backend (kv_consul.c) and its unit test.
 *
 * Keys: Consul keys have no leading '/', ours do: the full key "/ovn/a"
 * (store prefix included) is Consul's "ovn/a". Parsers put the '/' back and
 * strip skip bytes (the store prefix) from every key. Values are base64 in
 * JSON. Builders return malloc'd text or NULL (no memory).
 */
#ifndef OVN_KV_CONSUL_INT_H
#define OVN_KV_CONSUL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv_http_int.h"
#include "kvstore.h"

#define CONSUL_MSG_LEN 256

/* The URL path under /v1/kv/ for a full key: leading '/' dropped, every
 * byte but [A-Za-z0-9-._~/] percent-encoded. */
char *consul_kv_path(const char *full);

/* Body of PUT /v1/txn: every compare first (check-not-exists, check-index,
 * get), then the writes (set, delete), so compares see the state before
 * the transaction as the contract says. ops' keys lack the store prefix. */
char *consul_txn_body(const char *store_prefix, const struct kv_op *ops, size_t n);

/* A GET /v1/kv answer: a JSON array of {Key, Value, ModifyIndex, ...}. */
int consul_parse_kvs(const char *body, size_t len, size_t skip, struct kvh_rows *rows,
		     char *msg);

/* A /v1/txn answer. 200: 0 and *index = the highest ModifyIndex in the
 * results (0 if none). 409 (rolled back): -ECANCELED, msg from Errors.
 * Anything else: -EACCES (403) or -EIO, msg from the body. */
int consul_parse_txn(const char *body, size_t len, long code, uint64_t *index, char *msg);

/* A change between two snapshots of a prefix. */
struct consul_ev {
	enum kv_event_type type;
	const struct kv_entry *e;	/* PUT: new entry; DEL: old entry */
	uint64_t rev;			/* PUT: ModifyIndex; DEL: index */
};

/* Events turning old into cur (both sorted by key) as seen at X-Consul-Index
 * index: PUT for new or modified keys (ModifyIndex changed), DEL for keys
 * gone. Consul keeps no record of when a key died, so a DEL gets index:
 * an upper bound. Ordered by revision, a DEL before a PUT of the same
 * revision (it happened no later), then by key. *out is malloc'd (NULL when
 * there is nothing); -ENOMEM on failure. */
int consul_diff(const struct kvh_rows *old, const struct kvh_rows *cur, uint64_t index,
		struct consul_ev **out, size_t *n);

#endif
