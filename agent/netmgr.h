/* netmgr.h: the agent's orchestration: networks, endpoints and their
 * addresses. Desired state lives in the store; netmgr keeps an in-memory
 * view of it, decides there (names, overlaps, free addresses), commits each
 * decision with one store transaction, and makes the kernel match through
 * the dataplane. Everything runs on the agent's loop; no locks.
 *
 * Ordering, so that a kill -9 at any instant is repaired by reconcile:
 *   attach: reserve addresses in memory -> kernel (veth) -> store txn
 *           (endpoint + its /ipam keys, all-or-nothing) -> answer.
 *           A crash before the txn leaves a ve- link with no record: deleted.
 *   detach: store txn (delete endpoint + /ipam keys) -> kernel -> answer.
 *           A crash before the kernel step leaves a ve- link with no record.
 * Reconcile (at start and every NETMGR_RECONCILE_S seconds) deletes ovn
 * links with no record, recreates missing ones whose namespace still
 * exists, and forgets endpoints whose namespace is gone.
 *
 * Operations answer through a callback with 0 or -errno, a message, and a
 * JSON result (owned by the callee: borrowed until the callback returns).
 */
#ifndef OVN_NETMGR_H
#define OVN_NETMGR_H

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "dataplane.h"
#include "kvstore.h"
#include "model.h"
#include "ovn_err.h"

#define NETMGR_RECONCILE_S 30

struct netmgr;

typedef void (*netmgr_cb)(int status, const struct ovn_err *err, json_t *result, void *arg);

/* cfg, kv and dp are borrowed for netmgr's lifetime. */
int netmgr_new(struct netmgr **out, uv_loop_t *loop, const struct cfg *cfg, struct kv *kv,
	       struct dp *dp, uint32_t mtu, struct ovn_err *err);
/* Load the store, reconcile the kernel, start the periodic reconcile; cb
 * runs once (result NULL). */
void netmgr_start(struct netmgr *nm, netmgr_cb cb, void *arg);
/* Stop timers; kernel state is left as it is (containers keep their
 * network while the agent restarts). Frees nm. */
void netmgr_free(struct netmgr *nm);

void netmgr_network_create(struct netmgr *nm, const json_t *req, netmgr_cb cb, void *arg);
void netmgr_network_list(struct netmgr *nm, netmgr_cb cb, void *arg);
void netmgr_network_get(struct netmgr *nm, const char *name, netmgr_cb cb, void *arg);
void netmgr_network_remove(struct netmgr *nm, const char *name, bool force, netmgr_cb cb,
			   void *arg);
void netmgr_attach(struct netmgr *nm, const char *net, const json_t *req, netmgr_cb cb,
		   void *arg);
void netmgr_detach(struct netmgr *nm, const char *net, const json_t *req, netmgr_cb cb,
		   void *arg);
/* network NULL = all networks */
void netmgr_endpoint_list(struct netmgr *nm, const char *network, netmgr_cb cb, void *arg);
void netmgr_status(struct netmgr *nm, netmgr_cb cb, void *arg);

/* Recent attach/detach durations inside the agent, in microseconds:
 * {"attach": {"count": N, "recent_us": [...]}, "detach": {...}}. */
void netmgr_latency(struct netmgr *nm, netmgr_cb cb, void *arg);

/* Rotate this host's IPsec key now (agent/ipsec.c): result {"generation"}.
 * -EOPNOTSUPP when this kernel cannot do ESP. */
void netmgr_encryption_rotate(struct netmgr *nm, netmgr_cb cb, void *arg);

/* Run a reconcile pass now (tests, SIGHUP). */
void netmgr_reconcile(struct netmgr *nm);

/* Gossip (agent/cluster.c) tells netmgr what it learns ahead of the store:
 * an endpoint record of another host (JSON as stored; NULL = removed) and
 * hosts found failed or back. The store stays the truth: its watch confirms
 * or repairs whatever gossip said. */
struct cluster;
void netmgr_set_cluster(struct netmgr *nm, struct cluster *c);
struct cluster *netmgr_cluster(const struct netmgr *nm);
void netmgr_gossip_endpoint(struct netmgr *nm, const char *net, const char *id, const char *json,
			    size_t len);
void netmgr_node_state(struct netmgr *nm, const char *node, bool up);

/* ---- for the Docker plugin (agent/docker.c) ----
 * Borrowed views of a network record (by name, or by one of its subnets);
 * NULL when unknown. Valid until control returns to the loop. */
const struct nm_network *netmgr_net_peek(struct netmgr *nm, const char *name);
const struct nm_network *netmgr_net_by_subnet(struct netmgr *nm, const struct ovn_prefix *p);
/* Endpoints on the network in the cluster (this agent's view), -ENOENT. */
int netmgr_net_endpoints(struct netmgr *nm, const char *name);
bool netmgr_addr_has_endpoint(struct netmgr *nm, const char *net, const struct ovn_ip *ip);

/* A Docker endpoint: the veth's host end ve-<id12> goes on the bridge, the
 * container end stays in the agent's namespace as dk-<id12> with the MAC
 * and MTU and no address (dockerd moves it into the sandbox and configures
 * it). The record carries "docker": true and owns no /ipam keys: Docker's
 * IPAM reservations (netmgr_addr_hold) hold its addresses. Detach deletes
 * the pair by its host end, wherever the other end is then. */
struct nm_docker_attach {
	char network[NM_NAME_MAX + 1];
	char id[NM_ID_LEN + 1];		/* 16 hex chars of Docker's EndpointID */
	char sandbox[256];		/* Join's SandboxKey */
	char name[NM_DNS_MAX + 1];	/* "" = none */
	struct ovn_mac mac;
	struct ovn_prefix ipv4, ipv6;	/* family 0 = none */
	/* Docker's -p, copied into the record: checked again (another attach
	 * may have taken a host port since CreateEndpoint) and installed as
	 * for an attach with "publish". */
	int n_publish;
	const struct nm_publish *publish;	/* borrowed */
};

/* Would an endpoint with these addresses on net be allowed to publish
 * these ports now (the checks of an attach with "publish": egress enabled,
 * network not internal, host address local, host port free on this host)?
 * 0, or -ENOENT / -EINVAL / -EEXIST with err saying why. Changes nothing. */
int netmgr_publish_check(struct netmgr *nm, const char *net, const struct ovn_prefix *ipv4,
			 const struct ovn_prefix *ipv6, const struct nm_publish *p, int n,
			 struct ovn_err *err);

void netmgr_attach_docker(struct netmgr *nm, const struct nm_docker_attach *a, netmgr_cb cb,
			  void *arg);
/* -ENOENT when no such local Docker endpoint exists. */
void netmgr_detach_docker(struct netmgr *nm, const char *net, const char *id, netmgr_cb cb,
			  void *arg);
/* Give a local Docker endpoint its container name (and those aliases that
 * are DNS names and shadow no other endpoint's name), learned from
 * dockerd's API after Join: one store write (the record must still exist),
 * then the DNS table. -EINVAL for a name that is no DNS name, -EEXIST when
 * another endpoint of the network has it, -ENOENT when the endpoint is
 * not (or no longer) there. */
void netmgr_docker_ep_name(struct netmgr *nm, const char *net, const char *id, const char *name,
			   const json_t *aliases, netmgr_cb cb, void *arg);
/* Hold an address (want family 0: any) of the network's subnet of that
 * family in the store for Docker: result {"address": "ip/len"}. */
void netmgr_addr_hold(struct netmgr *nm, const char *net, int family, const struct ovn_ip *want,
		      netmgr_cb cb, void *arg);
void netmgr_addr_unhold(struct netmgr *nm, const char *net, const struct ovn_ip *ip,
			netmgr_cb cb, void *arg);

#endif
