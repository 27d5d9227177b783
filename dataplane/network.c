/* network.c: the per-network devices, vx-<vni> enslaved to br-<vni>, both
 * living in dp's namespace, and the bridge's gateway addresses.
 *
 * Ensure reads both links first (one round trip) and then sends only what
 * differs: a missing device is created with every setting in the one
 * RTM_NEWLINK (MAC, MTU, master, up), a drifted MTU / master / MAC / up flag
 * is set in place, and a vxlan whose identity differs (VNI, port, local,
 * learning, proxy, a remote group) is deleted and created again, because the
 * kernel cannot change most of those on a live device.
 *
 * The bridge runs without STP and with forward delay 0, so a new port
 * forwards at once: the bridge only ever joins one vxlan and local veths,
 * there is no loop for STP to break.
 *
 * And without multicast snooping. Measured with bench/dataplane (1,000
 * endpoints on one bridge, after IPv6 went off on ve-/vx- ports, see
 * endpoint.c), total attach time over two runs each, snooping off / on:
 *   IPv4-only   1.1-1.5 s / 2.1-2.7 s  (last hundred 1.5-2.8 / 2.6-4.1 ms)
 *   dual-stack  5.4-7.2 s / 5.9-7.6 s  (noisy; both grow with N)
 *   on, with the bridge as querier: IPv4 3.5 s, dual-stack 9.3 s.
 * Why: every new port makes the bridge re-run its port state selection,
 * which with snooping on re-enables multicast on every port and restarts
 * each port's own query timer, O(ports) timer work per attach (with a
 * querier each restart sends a query, which every container answers).
 * Snooping's gain would be keeping containers' MLD reports and router
 * solicitations off the other ports, but without a querier the bridge floods
 * unknown multicast anyway, and the querier costs the above. With snooping
 * off all multicast floods, which keeps IPv6 neighbour discovery between
 * containers working with no membership state to age out; ovn's ports make
 * little multicast of their own (no IPv6 on ve-/vx-, no DAD in containers).
 * TODO: dual-stack containers still send a few MLD reports each (one per
 * solicited-node group, repeated per the robustness variable) that reach
 * every port: the remaining O(N) per attach.
 *
 * Does not: create the underlay, or program peers (fdb.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"

#define DP_MTU_MIN 68
#define DP_MTU_MAX 65535

static int net_check(const struct dp_network *n, struct ovn_err *err)
{
	if (!dp_vni_valid(n->vni))
		return ovn_err_set(err, -EINVAL, "network: VNI %u out of range 1..%u", n->vni,
				   DP_VNI_MAX);
	/* No VTEP (family 0) is allowed: a single host has no remote peers, and
	 * the vxlan device is then created without a local address. */
	if (n->vtep.family && n->vtep.family != AF_INET && n->vtep.family != AF_INET6)
		return ovn_err_set(err, -EINVAL, "network %u: bad VTEP address family", n->vni);
	if (n->mtu < DP_MTU_MIN || n->mtu > DP_MTU_MAX)
		return ovn_err_set(err, -EINVAL, "network %u: MTU %u out of range", n->vni, n->mtu);
	if (n->n_gateways < 0 || n->n_gateways > DP_MAX_ADDRS)
		return ovn_err_set(err, -EINVAL, "network %u: %d gateways, at most %d", n->vni,
				   n->n_gateways, DP_MAX_ADDRS);
	for (int i = 0; i < n->n_gateways; i++) {
		int f = n->gateways[i].ip.family;

		if ((f != AF_INET && f != AF_INET6) || n->gateways[i].len > ovn_ip_maxlen(f))
			return ovn_err_set(err, -EINVAL, "network %u: bad gateway #%d", n->vni, i);
	}
	return 0;
}

/* UDP port of vx-<vni>: 4789 unless the caller asked for another (4790 for
 * encrypted networks, so XFRM policies can select their traffic alone). */
static uint16_t net_port(const struct dp_network *n)
{
	return n->port ? n->port : DP_VXLAN_PORT;
}

/* ---- bridge ------------------------------------------------------------ */

static void bridge_data(struct nl_batch *b)
{
	struct nlattr *li, *data;

	li = nl_nest_start(b, IFLA_LINKINFO);
	nl_put_str(b, IFLA_INFO_KIND, "bridge");
	data = nl_nest_start(b, IFLA_INFO_DATA);
	nl_put_u32(b, IFLA_BR_STP_STATE, 0);
	nl_put_u32(b, IFLA_BR_FORWARD_DELAY, 0);
	nl_put_u8(b, IFLA_BR_MCAST_SNOOPING, 0);
	nl_nest_end(b, data);
	nl_nest_end(b, li);
}

static void bridge_create_msg(struct nl_batch *b, const char *name, const struct dp_network *n)
{
	struct ifinfomsg *ifm;

	ifm = nl_msg(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifm), 0, NULL, NULL,
		     "create %s", name);
	if (!ifm)
		return;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	nl_put_str(b, IFLA_IFNAME, name);
	nl_put(b, IFLA_ADDRESS, sizeof(n->bridge_mac.b), n->bridge_mac.b);
	nl_put_u32(b, IFLA_MTU, n->mtu);
	bridge_data(b);
}

static bool bridge_same(const struct dp_lnk *br, const struct dp_network *n)
{
	return (br->flags & IFF_UP) && br->mtu == n->mtu && br->stp_state == 0 &&
	       br->fwd_delay == 0 && br->mcast_snooping == 0 && br->has_mac &&
	       !memcmp(br->mac.b, n->bridge_mac.b, sizeof(br->mac.b));
}

/* Set what drifted on an existing bridge. */
static void bridge_fix_msg(struct nl_batch *b, const struct dp_lnk *br, const struct dp_network *n)
{
	struct ifinfomsg *ifm;

	ifm = nl_msg(b, RTM_NEWLINK, 0, sizeof(*ifm), 0, NULL, NULL, "update %s", br->name);
	if (!ifm)
		return;
	ifm->ifi_index = br->ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (!br->has_mac || memcmp(br->mac.b, n->bridge_mac.b, sizeof(br->mac.b)))
		nl_put(b, IFLA_ADDRESS, sizeof(n->bridge_mac.b), n->bridge_mac.b);
	if (br->mtu != n->mtu)
		nl_put_u32(b, IFLA_MTU, n->mtu);
	if (br->stp_state != 0 || br->fwd_delay != 0 || br->mcast_snooping != 0)
		bridge_data(b);
}

/* br: as read; on return, the bridge as it now is. */
static int bridge_ensure(struct dp *dp, const struct dp_network *n, struct dp_lnk *br,
			 const char *name, struct ovn_err *err)
{
	struct nl_batch b;
	int ret;

	if (br->ifindex && strcmp(br->kind, "bridge"))
		return ovn_err_set(err, -EEXIST, "%s exists and is not a bridge (kind `%s')",
				   name, br->kind);
	if (br->ifindex && bridge_same(br, n))
		return 0;
	nl_batch_init(&b, &dp->sk);
	if (br->ifindex) {
		bridge_fix_msg(&b, br, n);
		return nl_batch_run(&b, err);
	}
	bridge_create_msg(&b, name, n);
	lnk_get_msg(&b, name, 0, br);
	ret = nl_batch_run(&b, err);
	if (!ret && !br->ifindex)
		ret = ovn_err_set(err, -ENODEV, "%s vanished right after creation", name);
	return ret;
}

/* ---- vxlan ------------------------------------------------------------- */

static void vxlan_create_msg(struct nl_batch *b, const char *name, const struct dp_network *n,
			     int br_ifindex)
{
	struct nlattr *li, *data;
	struct ifinfomsg *ifm;

	/* Down: vxlan_ensure turns its IPv6 off, then up (link.c). */
	ifm = nl_msg(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifm), 0, NULL, NULL,
		     "create %s", name);
	if (!ifm)
		return;
	nl_put_str(b, IFLA_IFNAME, name);
	nl_put_u32(b, IFLA_MTU, n->mtu);
	nl_put_u32(b, IFLA_MASTER, (uint32_t)br_ifindex);
	li = nl_nest_start(b, IFLA_LINKINFO);
	nl_put_str(b, IFLA_INFO_KIND, "vxlan");
	data = nl_nest_start(b, IFLA_INFO_DATA);
	nl_put_u32(b, IFLA_VXLAN_ID, n->vni);
	if (n->vtep.family)
		dp_put_ip(b, n->vtep.family == AF_INET ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6,
			  &n->vtep);
	nl_put_u16(b, IFLA_VXLAN_PORT, htons(net_port(n)));
	nl_put_u8(b, IFLA_VXLAN_LEARNING, 0);
	nl_put_u8(b, IFLA_VXLAN_PROXY, 1);
	nl_nest_end(b, data);
	nl_nest_end(b, li);
}

/* Identity: what cannot be changed in place. */
static bool vxlan_same(const struct dp_lnk *vx, const struct dp_network *n)
{
	return vx->vni == n->vni && vx->port == net_port(n) &&
	       ovn_ip_equal(&vx->local, &n->vtep) && vx->learning == 0 && vx->proxy == 1 &&
	       !vx->has_group;
}

static int vxlan_ensure(struct dp *dp, const struct dp_network *n, const struct dp_lnk *vx,
			const char *name, int br_ifindex, struct ovn_err *err)
{
	struct nl_batch b;
	bool exists = vx->ifindex != 0;

	if (exists && strcmp(vx->kind, "vxlan"))
		return ovn_err_set(err, -EEXIST, "%s exists and is not a vxlan device (kind `%s')",
				   name, vx->kind);
	nl_batch_init(&b, &dp->sk);
	if (exists && !vxlan_same(vx, n)) {
		lnk_del_msg(&b, vx->ifindex, name);
		exists = false;
	}
	if (!exists) {
		vxlan_create_msg(&b, name, n, br_ifindex);
		lnk_v6_off_msg(&b, 0, name);
		lnk_up_msg(&b, 0, name, 0);
	} else if (vx->mtu != n->mtu || vx->master != br_ifindex || !(vx->flags & IFF_UP)) {
		lnk_up_msg(&b, vx->ifindex, name, n->mtu);
		nl_put_u32(&b, IFLA_MASTER, (uint32_t)br_ifindex);
	}
	return nl_batch_run(&b, err);
}

/* The bridge must not learn on the vx- port: every remote MAC is already an
 * FDB entry of the vxlan device, and learned copies on the bridge would
 * outlive the endpoints they came from. (Same for VxLAN learning, off.) */
static int vxlan_port_nolearn(struct dp *dp, const char *name, struct ovn_err *err)
{
	struct ifinfomsg *ifm;
	struct nlattr *pi;
	struct nl_batch b;
	struct dp_lnk vx;
	int ret;

	ret = lnk_get(&dp->sk, name, 0, &vx, err);
	if (ret || !vx.ifindex)
		return ret;
	nl_batch_init(&b, &dp->sk);
	ifm = nl_msg(&b, RTM_SETLINK, 0, sizeof(*ifm), 0, NULL, NULL, "%s: bridge port learning off",
		     name);
	if (ifm) {
		ifm->ifi_family = AF_BRIDGE;
		ifm->ifi_index = vx.ifindex;
	}
	pi = nl_nest_start(&b, IFLA_PROTINFO | NLA_F_NESTED);
	nl_put_u8(&b, IFLA_BRPORT_LEARNING, 0);
	nl_nest_end(&b, pi);
	return nl_batch_run(&b, err);
}

int dp_network_ensure(struct dp *dp, const struct dp_network *n, struct ovn_err *err)
{
	char vxn[IF_NAMESIZE], brn[IF_NAMESIZE];
	struct dp_lnk vx, br;
	struct nl_batch b;
	int ret;

	ret = net_check(n, err);
	if (ret)
		return ret;
	dp_vx_name(vxn, n->vni);
	dp_br_name(brn, n->vni);
	nl_batch_init(&b, &dp->sk);
	lnk_get_msg(&b, vxn, 0, &vx);
	lnk_get_msg(&b, brn, 0, &br);
	ret = nl_batch_run(&b, err);
	if (!ret)
		ret = bridge_ensure(dp, n, &br, brn, err);
	if (!ret)
		ret = vxlan_ensure(dp, n, &vx, vxn, br.ifindex, err);
	if (!ret)
		ret = vxlan_port_nolearn(dp, vxn, err);
	if (!ret)
		ret = addr_reconcile(&dp->sk, br.ifindex, n->gateways, n->n_gateways, err);
	return ret;
}

/* ---- remove ------------------------------------------------------------ */

static bool is_ours(const struct dp_lnk *l, const char *name, const char *kind)
{
	return !strcmp(l->name, name) && !strcmp(l->kind, kind);
}

int dp_network_remove(struct dp *dp, uint32_t vni, struct ovn_err *err)
{
	char vxn[IF_NAMESIZE], brn[IF_NAMESIZE];
	struct dp_lnk *links = NULL;
	int n = 0, br = 0, ret;
	struct nl_batch b;

	if (!dp_vni_valid(vni))
		return ovn_err_set(err, -EINVAL, "network: VNI %u out of range", vni);
	dp_vx_name(vxn, vni);
	dp_br_name(brn, vni);
	ret = lnk_dump(&dp->sk, &links, &n, err);
	if (ret)
		goto out;
	for (int i = 0; i < n; i++) {
		if (is_ours(&links[i], brn, "bridge"))
			br = links[i].ifindex;
	}
	/* Deleting a bridge only releases its ports; the ve- ends are ours and
	 * would linger, so they go explicitly, a batch at a time. */
	nl_batch_init(&b, &dp->sk);
	for (int i = 0; i < n && !ret; i++) {
		const struct dp_lnk *l = &links[i];

		if ((br && l->master == br && !strncmp(l->name, "ve-", 3) &&
		     !strcmp(l->kind, "veth")) || is_ours(l, vxn, "vxlan"))
			lnk_del_msg(&b, l->ifindex, l->name);
		if (b.n == NL_BATCH_MAX - 1)
			ret = nl_batch_run(&b, err);
	}
	if (!ret && br)
		lnk_del_msg(&b, br, brn);
	if (!ret)
		ret = nl_batch_run(&b, err);
out:
	free(links);
	return ret;
}
