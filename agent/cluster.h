/* cluster.h: the agent on gossip (gossip/): host membership, endpoint events
 * ahead of the store, failed hosts withdrawn, and the gossip keyring.
 * Everything runs on the agent's loop. Calls taking a NULL cluster (gossip
 * off) do nothing. */
#ifndef OVN_CLUSTER_H
#define OVN_CLUSTER_H

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "gossip.h"
#include "netmgr.h"

struct cluster;
struct nm_endpoint;

/* Start gossip on cfg->advertise:cfg->gossip.port and join the seeds; the
 * keyring file, when set, must exist. 0 or -errno with err. */
int cluster_new(struct cluster **out, uv_loop_t *loop, const struct cfg *cfg,
		struct netmgr *nm, struct ovn_err *err);
/* Announce a graceful leave, let it spread (about half a second), close,
 * free, then cb(arg). */
void cluster_leave(struct cluster *c, void (*cb)(void *arg), void *arg);

/* netmgr: a local endpoint was committed to the store / removed from it. */
void cluster_ep_up(struct cluster *c, const struct nm_endpoint *rec);
void cluster_ep_down(struct cluster *c, const char *net, const char *id);

/* API (docs/api.md): GET /v1/members, GET /v1/keys, POST /v1/keys. The
 * callback has netmgr's signature so api.c answers both alike. */
void cluster_members(struct cluster *c, netmgr_cb cb, void *arg);
void cluster_keys_list(struct cluster *c, netmgr_cb cb, void *arg);
/* op "install" | "use" | "remove"; key: base64 (install) or base64 or the
 * 8-hex fingerprint `keys list` shows (use, remove). Answers once every live
 * member shows the change, or after 5 s with the count so far (-ETIMEDOUT). */
void cluster_keys_op(struct cluster *c, const json_t *req, netmgr_cb cb, void *arg);

/* For /metrics. */
const struct gossip_stats *cluster_stats(const struct cluster *c);
size_t cluster_member_count(const struct cluster *c, enum gossip_state state);
uint64_t cluster_events_oversize(const struct cluster *c);

#endif
