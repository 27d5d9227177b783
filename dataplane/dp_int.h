/* dp_int.h: what the files of dataplane/ share (private): the struct dp, a
 * parsed link, and the request builders each file offers the others.
 *
 *   nl.c        netlink socket, batches, dumps, want-table parsing
 *   dp.c        dp_open/dp_close, small growable arrays
 *   link.c      links: parse, get, delete, dump into an array
 *   network.c   vx-<vni> and br-<vni> (dp_network_ensure/remove)
 *   endpoint.c  veth pairs into containers (dp_endpoint_attach/detach)
 *   addr.c      addresses: add/delete builders, dump, reconcile a set
 *   route.c     default routes, underlay MTU
 *   fdb.c       FDB and neighbour entries for remote endpoints
 *   netns.c     namespace fds and netlink sockets inside them
 *   dump.c      dp_link_dump
 *   xfrm.c      IPsec ESP states and policies (NETLINK_XFRM)
 */
#ifndef OVN_DP_INT_H
#define OVN_DP_INT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "dataplane.h"
#include "nl_int.h"

struct dp {
	struct nl_sock sk;		/* in the namespace dp was opened in */
	struct nl_sock xs;		/* NETLINK_XFRM there; mnl NULL: none */
	int xs_err;			/* why xs could not be opened */
};

#define DP_KIND_LEN 16

/* A link as the kernel reports it (RTM_NEWLINK), the fields ovn looks at. */
struct dp_lnk {
	int ifindex;			/* 0: not found */
	unsigned int flags;		/* IFF_* */
	char name[IF_NAMESIZE];
	char kind[DP_KIND_LEN];		/* IFLA_INFO_KIND, "" if none */
	uint32_t mtu;
	int master;
	int link;			/* IFLA_LINK: a veth's peer ifindex */
	int link_nsid;			/* peer's namespace id, -1 when local */
	bool has_mac;
	struct ovn_mac mac;
	/* vxlan */
	uint32_t vni;
	uint16_t port;			/* host order */
	struct ovn_ip local;
	bool has_group;
	int learning, proxy;		/* -1 when absent */
	/* bridge */
	int64_t stp_state, fwd_delay;	/* -1 when absent */
	int mcast_snooping;		/* -1 when absent */
	int v6_gen_mode;		/* IN6_ADDR_GEN_MODE_*, -1 when absent */
};

/* link.c */
int lnk_parse(const struct nlmsghdr *nlh, struct dp_lnk *l);
/* Queue RTM_GETLINK by name (or by ifindex when name is NULL); on return of
 * the batch l is filled, or l->ifindex is 0 when there is no such link. */
void lnk_get_msg(struct nl_batch *b, const char *name, int ifindex, struct dp_lnk *l);
/* Queue RTM_DELLINK by ifindex (or name when ifindex is 0); absent is fine. */
void lnk_del_msg(struct nl_batch *b, int ifindex, const char *name);
/* Queue "set up" (and MTU when mtu is nonzero) for a link by ifindex or name. */
void lnk_up_msg(struct nl_batch *b, int ifindex, const char *name, uint32_t mtu);
/* Queue "IPv6 address generation off" (IN6_ADDR_GEN_MODE_NONE); only
 * effective before the link first comes up (see link.c). */
void lnk_v6_off_msg(struct nl_batch *b, int ifindex, const char *name);
/* All links of sk's namespace into *out (caller frees). */
int lnk_dump(struct nl_sock *sk, struct dp_lnk **out, int *n, struct ovn_err *err);
/* One link by name/ifindex in its own round trip. */
int lnk_get(struct nl_sock *sk, const char *name, int ifindex, struct dp_lnk *l,
	    struct ovn_err *err);

/* addr.c */
struct dp_addr {
	int ifindex;
	unsigned char scope;
	struct ovn_prefix p;
};

void addr_add_msg(struct nl_batch *b, int ifindex, const struct ovn_prefix *p);
void addr_del_msg(struct nl_batch *b, int ifindex, const struct ovn_prefix *p);
/* fe80::/64 with the modified EUI-64 interface id of mac. */
void addr_ll_of_mac(struct ovn_prefix *p, const struct ovn_mac *mac);
/* Addresses of family (AF_UNSPEC: all) on ifindex (0: every link). */
int addr_dump(struct nl_sock *sk, int family, int ifindex, struct dp_addr **out, int *n,
	      struct ovn_err *err);
/* Make the global addresses of ifindex exactly want[0..n-1]. */
int addr_reconcile(struct nl_sock *sk, int ifindex, const struct ovn_prefix *want, int n,
		   struct ovn_err *err);

/* route.c */
void route_default_msg(struct nl_batch *b, int ifindex, const struct ovn_ip *gw);

/* xfrm.c: message builders and parsers, apart for unit tests. A parse
 * returns 1 for one of ovn's objects, 0 for another's, -EINVAL for junk. */
void xfrm_sa_add_msg(struct nl_batch *b, const struct dp_sa *sa);
void xfrm_sa_del_msg(struct nl_batch *b, const struct dp_sa *sa);
void xfrm_pol_add_msg(struct nl_batch *b, const struct dp_pol *p);
void xfrm_pol_del_msg(struct nl_batch *b, const struct dp_pol *p);
int xfrm_sa_parse(const struct nlmsghdr *nlh, struct dp_sa *sa);
int xfrm_pol_parse(const struct nlmsghdr *nlh, struct dp_pol *p);

/* netns.c */
/* Open sk inside the network namespace netns_fd. */
int ns_nl_open(int netns_fd, struct nl_sock *sk, struct ovn_err *err);

/* dp.c */
/* Make room for one more element of size in *v (n used, *cap allocated). */
int dp_grow(void **v, int n, int *cap, size_t size);
/* "vx-<vni>" / "br-<vni>" */
void dp_vx_name(char name[IF_NAMESIZE], uint32_t vni);
void dp_br_name(char name[IF_NAMESIZE], uint32_t vni);
bool dp_vni_valid(uint32_t vni);
/* Prefix err's message with context ("attach ve-1: ...") when this call set
 * it (fresh: err was empty when the call began). */
void dp_err_prefix(struct ovn_err *err, bool fresh, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Family-sized copy of ip into an attribute. */
void dp_put_ip(struct nl_batch *b, uint16_t type, const struct ovn_ip *ip);

#endif
