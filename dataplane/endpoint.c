/* endpoint.c: a container's veth pair: the host end ve-<id> on br-<vni>, the
 * peer created directly inside the container's namespace.
 *
 * The attach path is built for round trips, not code paths; on a first
 * attach it is:
 *   1. host:      get br-<vni>, get ve-<id>, get the container's nsid
 *   2. container: (only when no ifname was given) dump links, pick ethN
 *   3. host:      one RTM_NEWLINK makes the pair: host end enslaved (down),
 *                 peer inside the namespace (IFLA_NET_NS_FD) with its name,
 *                 MAC and MTU; then, same send, host end IPv6 off and up, and
 *                 get ve-<id> for the peer's ifindex (IFLA_LINK)
 *   4. container: lo up, peer IPv6 off, its link-local address when it has
 *                 IPv6, addresses, peer up, default routes, one batch
 * The kernel's own veth creation dominates (most of a millisecond).
 *
 * Why IPv6 off (link.c): every interface that comes up with the kernel's
 * address generation makes a link-local address, runs DAD, sends MLD reports
 * and router solicitations, all multicast, which the bridge floods to every
 * port and every container's stack receives: O(N) work per attach, O(N^2)
 * for N endpoints, measured as attach time growing from 1 to 15 ms between
 * the first and the tenth hundred (bench/dataplane). The host end needs no
 * IPv6 address at all. A container without IPv6 addresses gets none either
 * (as Docker does for IPv4-only networks). A container with IPv6 gets the
 * very link-local address the kernel would have made (EUI-64 from its MAC)
 * but with IFA_F_NODAD, like its global ones: no DAD. What it still sends
 * are MLD reports for its solicited-node groups (a few, each naming all
 * groups, as the addresses are in place before the link comes up) and a
 * router solicitation; network.c says why the bridge floods them anyway.
 *
 * Idempotency: an existing ve-<id> is kept only when its peer sits in the
 * given namespace (nsid), links back to it, and has the asked name, MAC and
 * MTU, with the host end on the right bridge, up, same MTU; addresses and
 * routes are then applied again (REPLACE: no change when equal). Anything
 * else deletes the pair and makes it anew. Addresses the container end has
 * beyond the asked ones are left alone.
 *
 * Does not: allocate addresses or names of host ends (the agent does).
 */
#include <errno.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "util.h"

#define DP_ETH_MAX 1024		/* container ifnames eth0..eth1023 */
_Static_assert(DP_ETH_MAX % 8 == 0, "bitmap in whole bytes");

static bool name_ok(const char *s, bool empty_ok)
{
	size_t n = strnlen(s, IF_NAMESIZE);

	return n < IF_NAMESIZE && (n || empty_ok) && !strchr(s, '/') && !strchr(s, ' ');
}

static int ep_check(const struct dp_endpoint *ep, struct ovn_err *err)
{
	if (!dp_vni_valid(ep->vni))
		return ovn_err_set(err, -EINVAL, "VNI %u out of range", ep->vni);
	if (!name_ok(ep->host_ifname, false) || !name_ok(ep->ifname, true))
		return ovn_err_set(err, -EINVAL, "bad interface name");
	if (ep->mtu < 68 || ep->mtu > 65535)
		return ovn_err_set(err, -EINVAL, "MTU %u out of range", ep->mtu);
	if ((ep->mac.b[0] & 1) || !(ep->mac.b[0] | ep->mac.b[1] | ep->mac.b[2] | ep->mac.b[3] |
				     ep->mac.b[4] | ep->mac.b[5]))
		return ovn_err_set(err, -EINVAL, "MAC is not unicast");
	if (ep->n_addrs < 0 || ep->n_addrs > DP_MAX_ADDRS)
		return ovn_err_set(err, -EINVAL, "%d addresses, at most %d", ep->n_addrs,
				   DP_MAX_ADDRS);
	for (int i = 0; i < ep->n_addrs; i++) {
		int f = ep->addrs[i].ip.family;

		if ((f != AF_INET && f != AF_INET6) || ep->addrs[i].len > ovn_ip_maxlen(f))
			return ovn_err_set(err, -EINVAL, "bad address #%d", i);
	}
	if ((ep->gw4.family && ep->gw4.family != AF_INET) ||
	    (ep->gw6.family && ep->gw6.family != AF_INET6))
		return ovn_err_set(err, -EINVAL, "bad gateway family");
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

static const struct nl_want nsid_want[NETNSA_MAX + 1] = {
	[NETNSA_NSID] = { MNL_TYPE_U32 },
};

static int nsid_reply(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[NETNSA_MAX + 1];

	if (nlh->nlmsg_type != RTM_NEWNSID ||
	    nl_parse(nlh, sizeof(struct rtgenmsg), nsid_want, NETNSA_MAX, tb) || !tb[NETNSA_NSID])
		return -EBADMSG;
	*(int *)arg = (int)mnl_attr_get_u32(tb[NETNSA_NSID]);
	return 0;
}

/* The id dp's namespace gives netns_fd (-1: none yet, so no peer is there). */
static void nsid_get_msg(struct nl_batch *b, int netns_fd, int *nsid)
{
	struct rtgenmsg *g;

	*nsid = -1;
	g = nl_msg(b, RTM_GETNSID, 0, sizeof(*g), 0, nsid_reply, nsid, "get namespace id");
	if (!g)
		return;
	g->rtgen_family = AF_UNSPEC;
	nl_put_u32(b, NETNSA_FD, (uint32_t)netns_fd);
}

static void veth_peer(struct nl_batch *b, int netns_fd, const struct dp_endpoint *ep)
{
	struct nlattr *peer;

	/* The peer's own ifinfomsg stays zero: the kernel applies its flags
	 * before the two ends are linked, and a veth refuses to come up
	 * without its peer (-ENOTCONN). The container batch sets it up. */
	peer = nl_nest_start(b, VETH_INFO_PEER);
	nl_reserve(b, sizeof(struct ifinfomsg));
	nl_put_str(b, IFLA_IFNAME, ep->ifname);
	nl_put(b, IFLA_ADDRESS, sizeof(ep->mac.b), ep->mac.b);
	nl_put_u32(b, IFLA_MTU, ep->mtu);
	nl_put_u32(b, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	nl_nest_end(b, peer);
}

static void veth_create_msg(struct nl_batch *b, int netns_fd, const struct dp_endpoint *ep,
			    int br_ifindex)
{
	struct nlattr *li, *data;
	struct ifinfomsg *ifm;

	/* Down: it comes up after its IPv6 is off (link.c). */
	ifm = nl_msg(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifm), 0, NULL, NULL,
		     "create %s (peer %s)", ep->host_ifname, ep->ifname);
	if (!ifm)
		return;
	nl_put_str(b, IFLA_IFNAME, ep->host_ifname);
	nl_put_u32(b, IFLA_MTU, ep->mtu);
	nl_put_u32(b, IFLA_MASTER, (uint32_t)br_ifindex);
	li = nl_nest_start(b, IFLA_LINKINFO);
	nl_put_str(b, IFLA_INFO_KIND, "veth");
	data = nl_nest_start(b, IFLA_INFO_DATA);
	veth_peer(b, netns_fd, ep);
	nl_nest_end(b, data);
	nl_nest_end(b, li);
}

/* ---- steps -------------------------------------------------------------- */

/* Lowest ethN not taken in the container. */
static int ep_pick_ifname(struct nl_sock *cs, char name[IF_NAMESIZE], struct ovn_err *err)
{
	uint8_t used[DP_ETH_MAX / 8] = { 0 };
	struct dp_lnk *links = NULL;
	int n = 0, ret;

	ret = lnk_dump(cs, &links, &n, err);
	for (int i = 0; !ret && i < n; i++) {
		const char *s = links[i].name;
		char *end;
		unsigned long v;

		if (strncmp(s, "eth", 3) || s[3] < '0' || s[3] > '9' || (s[3] == '0' && s[4]))
			continue;
		v = strtoul(s + 3, &end, 10);
		if (!*end && v < DP_ETH_MAX)
			used[v / 8] |= (uint8_t)(1 << (v % 8));
	}
	free(links);
	if (ret)
		return ret;
	for (int v = 0; v < DP_ETH_MAX; v++) {
		if (!(used[v / 8] & (1 << (v % 8)))) {
			snprintf(name, IF_NAMESIZE, "eth%d", v);
			return 0;
		}
	}
	return ovn_err_set(err, -ENOSPC, "eth0..eth%d all taken", DP_ETH_MAX - 1);
}

/* 1: the existing pair is as asked (peer filled); 0: recreate it. */
static int ep_match(struct nl_sock *cs, const struct dp_endpoint *ep, const struct dp_lnk *host,
		    int br_ifindex, int nsid, struct dp_lnk *peer, struct ovn_err *err)
{
	int ret;

	if (strcmp(host->kind, "veth"))
		return ovn_err_set(err, -EEXIST, "%s exists and is not a veth", ep->host_ifname);
	if (nsid < 0 || host->link_nsid != nsid || !host->link || host->master != br_ifindex ||
	    host->mtu != ep->mtu || !(host->flags & IFF_UP))
		return 0;
	ret = lnk_get(cs, NULL, host->link, peer, err);
	if (ret)
		return ret;
	if (!peer->ifindex || strcmp(peer->kind, "veth") || peer->link != host->ifindex)
		return 0;
	if (ep->ifname[0] && strcmp(peer->name, ep->ifname))
		return 0;
	return peer->has_mac && !memcmp(peer->mac.b, ep->mac.b, sizeof(ep->mac.b)) &&
	       peer->mtu == ep->mtu;
}

static bool ep_has_v6(const struct dp_endpoint *ep)
{
	for (int i = 0; i < ep->n_addrs; i++) {
		if (ep->addrs[i].ip.family == AF_INET6)
			return true;
	}
	return false;
}

static int ep_configure(struct nl_sock *cs, const struct dp_endpoint *ep, int ifindex,
			struct ovn_err *err)
{
	struct ovn_prefix ll;
	struct nl_batch b;

	nl_batch_init(&b, cs);
	lnk_up_msg(&b, 0, "lo", 0);
	lnk_v6_off_msg(&b, ifindex, ep->ifname);
	/* Addresses before up: the kernel then joins all their multicast
	 * groups at once when the link comes up, and its MLD reports carry
	 * them together rather than one series per address. */
	if (ep_has_v6(ep)) {
		addr_ll_of_mac(&ll, &ep->mac);
		addr_add_msg(&b, ifindex, &ll);
	}
	for (int i = 0; i < ep->n_addrs; i++)
		addr_add_msg(&b, ifindex, &ep->addrs[i]);
	lnk_up_msg(&b, ifindex, ep->ifname, 0);
	if (ep->gw4.family)
		route_default_msg(&b, ifindex, &ep->gw4);
	if (ep->gw6.family)
		route_default_msg(&b, ifindex, &ep->gw6);
	return nl_batch_run(&b, err);
}

/* Bridge port hairpin mode of the host end, on or off (idempotent). Needed
 * by a container reaching its own published port when br_netfilter is
 * loaded: the DNATed packet is then bridged straight back to the port it
 * came from ("bridged DNAT"), which a bridge refuses unless the port is in
 * hairpin mode (Docker sets it for the same reason). */
static void hairpin_msg(struct nl_batch *b, const char *name, bool on)
{
	struct nlattr *li, *data;
	struct ifinfomsg *ifm;

	ifm = nl_msg(b, RTM_NEWLINK, 0, sizeof(*ifm), 0, NULL, NULL, "set %s hairpin %s", name,
		     on ? "on" : "off");
	if (!ifm)
		return;
	ifm->ifi_family = AF_UNSPEC;
	nl_put_str(b, IFLA_IFNAME, name);
	li = nl_nest_start(b, IFLA_LINKINFO);
	nl_put_str(b, IFLA_INFO_SLAVE_KIND, "bridge");
	data = nl_nest_start(b, IFLA_INFO_SLAVE_DATA);
	nl_put_u8(b, IFLA_BRPORT_MODE, on ? BRIDGE_MODE_HAIRPIN : 0);
	nl_nest_end(b, data);
	nl_nest_end(b, li);
}

static int ep_hairpin(struct dp *dp, const struct dp_endpoint *ep, struct ovn_err *err)
{
	struct nl_batch b;

	nl_batch_init(&b, &dp->sk);
	hairpin_msg(&b, ep->host_ifname, ep->hairpin);
	return nl_batch_run(&b, err);
}

/* Create the pair; host is then the host end, host->link the peer's ifindex.
 * *created tells whether the pair exists now, whatever else failed. */
static int ep_create(struct dp *dp, int netns_fd, const struct dp_endpoint *ep, int br_ifindex,
		     struct dp_lnk *host, bool *created, struct ovn_err *err)
{
	struct nl_batch b;
	int ret;

	nl_batch_init(&b, &dp->sk);
	veth_create_msg(&b, netns_fd, ep, br_ifindex);
	lnk_v6_off_msg(&b, 0, ep->host_ifname);
	lnk_up_msg(&b, 0, ep->host_ifname, 0);
	hairpin_msg(&b, ep->host_ifname, ep->hairpin);
	lnk_get_msg(&b, ep->host_ifname, 0, host);
	ret = nl_batch_run(&b, err);
	*created = nl_batch_rc(&b, 0) == 0;
	if (!ret && (!host->ifindex || !host->link))
		ret = ovn_err_set(err, -ENODEV, "%s vanished right after creation", ep->host_ifname);
	return ret;
}

static void ep_delete(struct dp *dp, int ifindex, const char *name)
{
	struct nl_batch b;

	nl_batch_init(&b, &dp->sk);
	lnk_del_msg(&b, ifindex, name);
	nl_batch_run(&b, NULL);
}

int dp_endpoint_attach(struct dp *dp, int netns_fd, struct dp_endpoint *ep,
		       struct ovn_err *err)
{
	bool fresh = err && !err->code, created = false;
	struct nl_sock cs = { 0 };
	struct dp_lnk br, host, peer;
	char brn[IF_NAMESIZE];
	struct nl_batch b;
	int ret, nsid;

	ret = ep_check(ep, err);
	if (ret)
		goto out;
	/* First: a bad netns_fd fails here, before anything exists. */
	ret = ns_nl_open(netns_fd, &cs, err);
	if (ret)
		goto out;
	dp_br_name(brn, ep->vni);
	nl_batch_init(&b, &dp->sk);
	lnk_get_msg(&b, brn, 0, &br);
	lnk_get_msg(&b, ep->host_ifname, 0, &host);
	nsid_get_msg(&b, netns_fd, &nsid);
	ret = nl_batch_run(&b, err);
	if (ret)
		goto out;
	if (!br.ifindex || strcmp(br.kind, "bridge")) {
		ret = ovn_err_set(err, -ENODEV, "no bridge %s (ensure the network first)", brn);
		goto out;
	}
	if (host.ifindex) {
		ret = ep_match(&cs, ep, &host, br.ifindex, nsid, &peer, err);
		if (ret < 0)
			goto out;
		if (ret == 1) {
			ovn_strlcpy(ep->ifname, peer.name, sizeof(ep->ifname));
			ret = ep_hairpin(dp, ep, err) ?: ep_configure(&cs, ep, peer.ifindex, err);
			goto out;
		}
		ep_delete(dp, host.ifindex, ep->host_ifname);
	}
	if (!ep->ifname[0]) {
		ret = ep_pick_ifname(&cs, ep->ifname, err);
		if (ret)
			goto out;
	}
	ret = ep_create(dp, netns_fd, ep, br.ifindex, &host, &created, err);
	if (!ret)
		ret = ep_configure(&cs, ep, host.link, err);
out:
	if (ret && created)
		ep_delete(dp, host.ifindex, ep->host_ifname);
	nl_close(&cs);
	dp_err_prefix(err, fresh, "attach %.*s", IF_NAMESIZE, ep->host_ifname);
	return ret;
}

int dp_endpoint_detach(struct dp *dp, const char *host_ifname, struct ovn_err *err)
{
	struct dp_lnk host;
	struct nl_batch b;
	int ret;

	if (!host_ifname || !name_ok(host_ifname, false))
		return ovn_err_set(err, -EINVAL, "detach: bad interface name");
	ret = lnk_get(&dp->sk, host_ifname, 0, &host, err);
	if (ret || !host.ifindex)
		return ret;
	/* The name is the caller's; the kind check keeps a typo from deleting
	 * a real NIC. */
	if (strcmp(host.kind, "veth"))
		return ovn_err_set(err, -EINVAL, "detach: %s is a %s device, not a veth",
				   host_ifname, host.kind[0] ? host.kind : "plain");
	nl_batch_init(&b, &dp->sk);
	lnk_del_msg(&b, host.ifindex, host_ifname);
	return nl_batch_run(&b, err);
}
