/* netmgr_int.h: the state netmgr.c, peers.c and sync.c share. Not for use
 * outside agent/netmgr*, peers.c and sync.c.
 *
 * Lifetimes: a struct netmgr owns its networks; a network owns its
 * endpoints (local and remote) and its address pools. An endpoint is
 * "pending" while an attach's store transaction is in flight and "removing"
 * while a detach's is: such endpoints belong to that operation, and the
 * watch and reconcile leave them alone. */
#ifndef OVN_NETMGR_INT_H
#define OVN_NETMGR_INT_H

#include "egress.h"
#include "ipam.h"
#include "ipsec.h"
#include "netmgr.h"
#include "stats.h"

struct ep {
	struct nm_endpoint rec;
	bool local;		/* rec.node is this agent's node */
	bool pending;		/* kernel done, store txn in flight */
	bool removing;		/* store delete in flight */
	bool published;		/* its port mappings are in the nft table */
	/* The watch brought this record's deletion while a delete was in
	 * flight: it landed even if its own answer is lost (timeout). */
	bool store_deleted;
	/* The same for an attach: the watch brought the record while the
	 * put was in flight. */
	bool store_put;
	struct net *net;
	struct ep *next;
};

struct net {
	struct nm_network rec;
	struct ipam_pool pools[2];	/* parallel to rec.subnets */
	struct ep *eps;
	int n_local;
	bool dp_up;		/* vx-/br- ensured on this host */
	bool removing;
	struct net *next;
};

/* Recent operation durations inside the agent (request in -> answer out), in
 * microseconds, for bench/ and /v1/debug/latency. */
#define LAT_SAMPLES 4096
enum { LAT_ATTACH, LAT_DETACH, LAT_KINDS };

struct lat_ring {
	uint32_t us[LAT_SAMPLES];
	uint64_t n;		/* samples ever recorded */
};

struct netmgr {
	struct lat_ring lat[LAT_KINDS];
	struct nm_stats stats;
	uv_loop_t *loop;
	const struct cfg *cfg;
	struct kv *kv;
	struct dp *dp;
	uint32_t mtu;
	struct net *nets;
	uv_timer_t *timer;	/* heap: freed in its close callback */
	uv_timer_t *trim;	/* heap trim once detaches pause (TRIM_IDLE_MS) */
	uint64_t started_ms;
	netmgr_cb start_cb;
	void *start_arg;
	uint64_t load_rev;	/* store revision of the first listing */
	struct kv_watch *watch;
	struct dnsint *dns;	/* NULL: DNS disabled (dnsint.h) */
	struct egress *egress;	/* nftables policy (egress.h), never NULL */
	bool resyncing;		/* a re-list after a watch gap is running */
	bool cluster;		/* shared store: other agents write too */
#define NM_ABORTED 64
	char aborted[NM_ABORTED][NM_ID_LEN + 1];
	unsigned n_aborted;
	struct cluster *gossip;	/* NULL: gossip off (cluster.h) */
	/* Remote endpoints removed lately: a gossip announcement that arrives
	 * after the removal (events are not ordered) must not revive one. */
#define NM_GONE 512
	char gone[NM_GONE][NM_ID_LEN + 1];
	unsigned n_gone;
	/* Hosts gossip found failed: their endpoints stay known (the store
	 * still has them) but are not programmed until the host is back. */
	char (*down)[64];
	unsigned n_down;
	struct ipsec *ipsec;	/* ipsec.c; never NULL after netmgr_new */
};


/* netmgr.c */
struct net *net_find(struct netmgr *nm, const char *name);
struct net *net_find_vni(struct netmgr *nm, uint32_t vni);
struct ipam_pool *net_pool(struct net *n, int family);
/* Takes ownership of rec's members. */
struct net *net_add(struct netmgr *nm, struct nm_network *rec);
void net_unlink(struct netmgr *nm, struct net *n);
void net_free(struct net *n);
/* Takes ownership of rec's members; reserves its addresses. */
struct ep *ep_add(struct netmgr *nm, struct net *n, struct nm_endpoint *rec);
/* Unlink, release addresses, free. */
void ep_drop(struct netmgr *nm, struct ep *e);
/* Devices of n exist and carry every remote peer (idempotent). */
int net_dp_ensure(struct netmgr *nm, struct net *n, struct ovn_err *err);
void net_dp_release(struct netmgr *nm, struct net *n);
/* After the store forgot e: its veth (if local) or its peer entries go. */
void ep_kernel_remove(struct netmgr *nm, struct ep *e);
int netns_id_of(int fd, char *buf, size_t size);
/* Drop e and delete its record (its namespace is gone, or its attach was
 * answered as failed). */
void ep_forget(struct netmgr *nm, struct ep *e, const char *why);
void aborted_add(struct netmgr *nm, const char *id);
bool aborted_has(struct netmgr *nm, const char *id);

/* peers.c: remote endpoints as FDB, neighbour and flood entries on vx-. */
bool node_is_down(const struct netmgr *nm, const char *node);
/* e is another host's endpoint this host should reach (its host is not
 * failed, its VTEP is not ours). */
bool ep_is_remote(struct netmgr *nm, const struct ep *e);
void peers_add(struct netmgr *nm, struct ep *e);
void peers_del(struct netmgr *nm, struct ep *e);
/* All remote endpoints of n (after its devices were created). */
void peers_sync_net(struct netmgr *nm, struct net *n);
/* Delete entries on vx- no remote endpoint accounts for (endpoints removed
 * while this agent was down); returns how many. */
int peers_prune(struct netmgr *nm, struct net *n);

/* sync.c: follow the store (watch), re-list on gaps. */
int sync_start(struct netmgr *nm, uint64_t after_rev);
void sync_stop(struct netmgr *nm);

#endif
