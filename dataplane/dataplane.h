/* dataplane.h: kernel plumbing for ovn over rtnetlink (libmnl). No policy:
 * the agent decides what should exist; this library makes the kernel match.
 *
 * Every call is idempotent ("ensure" semantics): creating what exists with the
 * same parameters succeeds, deleting what is absent succeeds. Calls return 0 or
 * a negative errno, and fill err (when not NULL) with "what: why", including
 * the kernel's extended-ack text when it sent one.
 *
 * Objects, all named predictably from the network's VNI or endpoint id, and
 * all living in the namespace the struct dp was opened in (the "host"):
 *   vx-<vni>   VxLAN device: learning off, ARP/ND proxy on, UDP 4789 (4790
 *              for encrypted networks, see xfrm.c below), local = VTEP
 *              address, enslaved to br-<vni>
 *   br-<vni>   bridge holding the network's gateway addresses (if any)
 *   ve-<id>    host end of a container's veth pair, enslaved to br-<vni>;
 *              its peer lives in the container's namespace (eth0, eth1, ...)
 * Calls are synchronous: each is a handful of netlink round trips (about a
 * millisecond in all), cheap enough for the agent's loop.
 */
#ifndef OVN_DATAPLANE_H
#define OVN_DATAPLANE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "ovn_err.h"

#define DP_VNI_MAX 0xffffff
#define DP_MAX_ADDRS 4
#define DP_VXLAN_PORT 4789

struct dp;

/* Open a netlink context in the calling thread's current network namespace. */
int dp_open(struct dp **out, struct ovn_err *err);
void dp_close(struct dp *dp);

/* ---- networks ---------------------------------------------------------- */

struct dp_network {
	uint32_t vni;			/* 1..DP_VNI_MAX */
	struct ovn_ip vtep;		/* local underlay address; family 0: none
					 * (one host, no remote peers) */
	uint32_t mtu;			/* MTU of vx-, br- and every endpoint */
	uint16_t port;			/* VxLAN UDP port; 0 = DP_VXLAN_PORT */
	struct ovn_mac bridge_mac;	/* deterministic, same on every host */
	int n_gateways;
	struct ovn_prefix gateways[DP_MAX_ADDRS];	/* e.g. 198.19.1.1/24 */
};

/* Ensure vx-<vni> and br-<vni> exist with these settings, vx- enslaved to br-,
 * both up, gateway addresses on br- (IPv6 without DAD); gateways present on
 * br- but not in n->gateways are removed. An existing vx- with a different
 * VNI/port/local is replaced. */
int dp_network_ensure(struct dp *dp, const struct dp_network *n, struct ovn_err *err);
/* Delete vx-<vni> and br-<vni> (and so every ve- still enslaved). */
int dp_network_remove(struct dp *dp, uint32_t vni, struct ovn_err *err);

/* ---- endpoints --------------------------------------------------------- */

struct dp_endpoint {
	uint32_t vni;			/* network the endpoint joins */
	char host_ifname[IF_NAMESIZE];	/* "ve-<id prefix>", set by the caller */
	char ifname[IF_NAMESIZE];	/* in the container; "" = next free ethN
					 * (filled in on return) */
	struct ovn_mac mac;		/* container side */
	uint32_t mtu;
	int n_addrs;
	struct ovn_prefix addrs[DP_MAX_ADDRS];	/* with the subnet's length */
	struct ovn_ip gw4, gw6;		/* default routes; family 0 = none */
	bool hairpin;			/* bridge port may send a frame back out
					 * the port it came in on (published
					 * ports: see nft.c) */
};

/* Create the veth pair: host end ep->host_ifname (enslaved to br-<vni>, up),
 * peer created directly inside the namespace netns_fd with ep->ifname, MAC,
 * MTU, addresses (IPv6 without DAD), default routes via gw4/gw6, and lo and
 * the interface up. If host_ifname already exists and its peer is in netns_fd
 * configured as asked, nothing changes; if it exists but differs, it is
 * recreated. Fails with -EEXIST if ep->ifname is taken in the container by a
 * device that is not ours. On failure nothing is left behind. */
int dp_endpoint_attach(struct dp *dp, int netns_fd, struct dp_endpoint *ep,
		       struct ovn_err *err);
/* Delete the veth pair by its host end (the peer goes with it). */
int dp_endpoint_detach(struct dp *dp, const char *host_ifname, struct ovn_err *err);

/* ---- remote endpoints (multi-host) -------------------------------------- */

struct dp_peer {
	struct ovn_mac mac;
	struct ovn_ip ip;		/* family 0: FDB entry only */
	struct ovn_ip vtep;		/* remote host's underlay address */
};

/* FDB entry mac -> vtep on vx-<vni> (NTF_SELF, permanent) and neighbour entry
 * ip -> mac on vx-<vni> (permanent), so the VxLAN proxy answers ARP/ND. */
int dp_peer_add(struct dp *dp, uint32_t vni, const struct dp_peer *p, struct ovn_err *err);
int dp_peer_del(struct dp *dp, uint32_t vni, const struct dp_peer *p, struct ovn_err *err);
/* Flood entry (all-zero MAC -> vtep) for BUM traffic to one remote host. */
int dp_flood_add(struct dp *dp, uint32_t vni, const struct ovn_ip *vtep, struct ovn_err *err);
int dp_flood_del(struct dp *dp, uint32_t vni, const struct ovn_ip *vtep, struct ovn_err *err);

/* What vx-<vni> carries for remote endpoints: FDB entries (mac -> vtep; the
 * all-zero MAC is a flood entry) and permanent neighbour entries (ip -> mac). */
enum dp_entry_kind { DP_ENTRY_FDB, DP_ENTRY_NEIGH };

struct dp_entry {
	enum dp_entry_kind kind;
	struct ovn_mac mac;
	struct ovn_ip ip;		/* NEIGH */
	struct ovn_ip vtep;		/* FDB */
};

/* Call fn for each entry on vx-<vni> (none if it does not exist). The dump
 * is complete before the first call, so fn may delete entries. */
int dp_entry_dump(struct dp *dp, uint32_t vni, int (*fn)(const struct dp_entry *e, void *arg),
		  void *arg, struct ovn_err *err);
/* Delete exactly that entry (absent is fine). */
int dp_entry_del(struct dp *dp, uint32_t vni, const struct dp_entry *e, struct ovn_err *err);

/* ---- actual state, for reconciliation ----------------------------------- */

enum dp_link_kind { DP_LINK_VXLAN, DP_LINK_BRIDGE, DP_LINK_VETH };

struct dp_link {
	enum dp_link_kind kind;
	char name[IF_NAMESIZE];
	int ifindex;
	int master;			/* ifindex of the bridge, 0 if none */
	uint32_t vni;			/* vx-/br-: parsed from the name */
};

/* Call fn for every ovn link (vx-*, br-*, ve-*) in dp's namespace. A nonzero
 * return from fn stops the walk and is returned. */
int dp_link_dump(struct dp *dp, int (*fn)(const struct dp_link *l, void *arg), void *arg,
		 struct ovn_err *err);

/* MTU of the device that holds vtep, or of the default route's device when no
 * device holds it; -ENOENT when neither exists. */
int dp_underlay_mtu(struct dp *dp, const struct ovn_ip *vtep, uint32_t *mtu,
		    struct ovn_err *err);

/* ---- IPsec ESP between VTEPs (xfrm.c) ------------------------------------
 * Kernel XFRM states and policies over NETLINK_XFRM, protecting the VxLAN
 * traffic of encrypted networks (UDP port DP_VXLAN_PORT_ENC) in transport
 * mode with AES-256-GCM (rfc4106(gcm(aes)), 16-byte ICV). Every state ovn
 * makes carries reqid DP_XFRM_REQID and every policy one of ovn's two
 * priorities, which is how the dumps below tell ovn's objects from others'.
 * IPv4 VTEPs only. */

#define DP_VXLAN_PORT_ENC 4790
#define DP_SA_KEY_LEN 36		/* 32-byte AES key + 4-byte salt (RFC 4106) */
#define DP_XFRM_REQID 0x6f766e		/* "ovn" */
#define DP_XFRM_SPI_MIN 0x1000		/* SPIs below are never derived (1-255 reserved) */
#define DP_XFRM_PRIO_PEER 0x6f76	/* per-pair ESP policies ... */
#define DP_XFRM_PRIO_BLOCK 0x6f77	/* ... win over the catch-all blocks */

struct dp_sa {
	struct ovn_ip src, dst;		/* IPv4 VTEPs */
	uint32_t spi;			/* host order */
	uint8_t key[DP_SA_KEY_LEN];	/* add only; dumps leave it zero */
};

enum dp_pol_kind {
	DP_POL_OUT,		/* local -> remote, UDP dport 4790: ESP required */
	DP_POL_IN,		/* remote -> local, UDP dport 4790: must have been ESP */
	DP_POL_BLOCK_OUT,	/* local -> anyone, UDP dport 4790: drop */
	DP_POL_BLOCK_IN,	/* anyone -> local, UDP dport 4790: drop */
};

struct dp_pol {
	enum dp_pol_kind kind;
	struct ovn_ip local;
	struct ovn_ip remote;		/* family 0 for the BLOCK kinds */
};

/* 0 when this kernel can hold an ESP state with AES-GCM (adds and deletes a
 * probe state, SPI 255); else -errno with the kernel's reason in err. */
int dp_xfrm_probe(struct dp *dp, struct ovn_err *err);
/* Add a transport-mode ESP state (an existing one with the same dst + SPI
 * counts as done: ovn derives the key from them). */
int dp_sa_add(struct dp *dp, const struct dp_sa *sa, struct ovn_err *err);
/* Delete the state dst + SPI (absent is fine). */
int dp_sa_del(struct dp *dp, const struct dp_sa *sa, struct ovn_err *err);
/* Call fn for each of ovn's states (reqid DP_XFRM_REQID); the dump is
 * complete before the first call. A nonzero fn return stops the walk. */
int dp_sa_dump(struct dp *dp, int (*fn)(const struct dp_sa *sa, void *arg), void *arg,
	       struct ovn_err *err);
/* Add a policy (an existing one counts as done); delete one (absent is fine). */
int dp_pol_add(struct dp *dp, const struct dp_pol *p, struct ovn_err *err);
int dp_pol_del(struct dp *dp, const struct dp_pol *p, struct ovn_err *err);
int dp_pol_dump(struct dp *dp, int (*fn)(const struct dp_pol *p, void *arg), void *arg,
		struct ovn_err *err);

/* ---- namespaces -------------------------------------------------------- */

/* Open a network namespace for use as netns_fd: "NAME" = /run/netns/NAME,
 * an absolute path as is. Returns an O_RDONLY|O_CLOEXEC fd or -errno. */
int dp_netns_open(const char *name_or_path, struct ovn_err *err);
int dp_netns_open_pid(int pid, struct ovn_err *err);

/* ---- nftables: egress NAT, isolation, published ports (nft.c) ----------- */

/* The agent's own table, "table inet ovn"; nothing else is ever touched.
 * Text is built by pure functions (unit-tested) and applied through
 * libnftables, one atomic batch per change. */
#define DP_NFT_TABLE "ovn"
#define DP_NFT_FAMILY "inet"

struct dp_nft;

/* One network as the rules see it. */
struct dp_nft_net {
	uint32_t vni;			/* bridge br-<vni> */
	bool internal;			/* no way in or out through the host */
	int n_subnets;
	struct ovn_prefix subnets[2];	/* network addresses */
};

/* One published port: traffic to host_ip:host_port (any local address when
 * host_ip.family is 0) goes to ctr_ip:ctr_port. Plain struct so every
 * caller (API, Docker driver) fills it the same way. */
struct dp_portmap {
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	struct ovn_ip host_ip;		/* family 0 = every local address */
	uint16_t host_port;
	struct ovn_ip ctr_ip;		/* the container's address (same family
					 * as host_ip when that is set) */
	uint16_t ctr_port;
};

/* A libnftables context in the calling thread's network namespace. */
int dp_nft_open(struct dp_nft **out, struct ovn_err *err);
void dp_nft_close(struct dp_nft *nft);

/* The whole table as one batch that replaces any previous version of it
 * atomically (add + delete + define); with no network at all the batch only
 * deletes it. *out is malloc()ed. 0 or -ENOMEM/-EINVAL. */
int dp_nft_ruleset_text(char **out, const struct dp_nft_net *nets, size_t n_nets,
			const struct dp_portmap *maps, size_t n_maps);
/* The batch adding (add true) or removing one port mapping; removing is
 * written as add-then-delete so that it succeeds when the element is
 * already gone. */
int dp_nft_portmap_text(char **out, const struct dp_portmap *m, bool add);

/* The namespace's nftables ruleset generation: bumped by every committed
 * change to any table, so an unchanged value proves nobody touched ours
 * since we last wrote it. */
int dp_nft_genid(struct dp_nft *nft, uint32_t *gen, struct ovn_err *err);

/* Run a batch (all or nothing); err gets libnftables' own message. */
int dp_nft_run(struct dp_nft *nft, const char *text, struct ovn_err *err);
int dp_nft_rebuild(struct dp_nft *nft, const struct dp_nft_net *nets, size_t n_nets,
		   const struct dp_portmap *maps, size_t n_maps, struct ovn_err *err);
int dp_nft_portmap_add(struct dp_nft *nft, const struct dp_portmap *m, struct ovn_err *err);
int dp_nft_portmap_del(struct dp_nft *nft, const struct dp_portmap *m, struct ovn_err *err);

/* net.ipv4.ip_forward (family AF_INET) or net.ipv6.conf.all.forwarding
 * (AF_INET6) of the calling thread's namespace: read (*on) or switch on. */
int dp_forwarding_get(int family, bool *on, struct ovn_err *err);
int dp_forwarding_enable(int family, struct ovn_err *err);

#endif
