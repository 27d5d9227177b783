/* route.c: default routes inside containers, and the underlay MTU (the MTU
 * of the device holding the VTEP address, else of the default route's).
 *
 * Does not: manage other routes or policy routing; only the main table is
 * read and written.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"

void route_default_msg(struct nl_batch *b, int ifindex, const struct ovn_ip *gw)
{
	char buf[OVN_IP_STRLEN];
	struct rtmsg *rtm;

	/* REPLACE: attaching again, or to a new gateway, is one idempotent step. */
	rtm = nl_msg(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, sizeof(*rtm), 0, NULL, NULL,
		     "add default route via %s", ovn_ip_str(gw, buf));
	if (!rtm)
		return;
	rtm->rtm_family = gw->family;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	dp_put_ip(b, RTA_GATEWAY, gw);
	nl_put_u32(b, RTA_OIF, (uint32_t)ifindex);
}

static const struct nl_want route_want[RTA_MAX + 1] = {
	[RTA_OIF]	= { MNL_TYPE_U32 },
	[RTA_PRIORITY]	= { MNL_TYPE_U32 },
	[RTA_TABLE]	= { MNL_TYPE_U32 },
	[RTA_MULTIPATH]	= { MNL_TYPE_BINARY },
};

struct route_best {
	int ifindex;
	uint32_t metric;
};

/* Output device of a route: RTA_OIF, or the first hop of a multipath one. */
static int route_oif(const struct nlattr **tb)
{
	const struct rtnexthop *nh;

	if (tb[RTA_OIF])
		return (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (!tb[RTA_MULTIPATH] || mnl_attr_get_payload_len(tb[RTA_MULTIPATH]) < sizeof(*nh))
		return 0;
	nh = mnl_attr_get_payload(tb[RTA_MULTIPATH]);
	return nh->rtnh_ifindex;
}

static int route_pick_default(const struct nlmsghdr *nlh, void *arg)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1];
	struct route_best *best = arg;
	uint32_t table, metric;
	int oif;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nl_parse(nlh, sizeof(*rtm), route_want, RTA_MAX, tb))
		return 0;
	table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table != RT_TABLE_MAIN || rtm->rtm_dst_len || rtm->rtm_type != RTN_UNICAST)
		return 0;
	oif = route_oif(tb);
	metric = tb[RTA_PRIORITY] ? mnl_attr_get_u32(tb[RTA_PRIORITY]) : 0;
	if (oif && (!best->ifindex || metric < best->metric)) {
		best->ifindex = oif;
		best->metric = metric;
	}
	return 0;
}

static void route_reset(void *arg)
{
	memset(arg, 0, sizeof(struct route_best));
}

/* ifindex of the device holding ip, 0 if none. */
static int underlay_by_addr(struct nl_sock *sk, const struct ovn_ip *ip, int *ifindex,
			    struct ovn_err *err)
{
	struct dp_addr *a = NULL;
	int n = 0, ret;

	*ifindex = 0;
	ret = addr_dump(sk, ip->family, 0, &a, &n, err);
	for (int i = 0; !ret && i < n; i++) {
		if (ovn_ip_equal(&a[i].p.ip, ip)) {
			*ifindex = a[i].ifindex;
			break;
		}
	}
	free(a);
	return ret;
}

int dp_underlay_mtu(struct dp *dp, const struct ovn_ip *vtep, uint32_t *mtu,
		    struct ovn_err *err)
{
	struct rtmsg rtm = { .rtm_family = vtep->family };
	struct route_best best = { 0 };
	char buf[OVN_IP_STRLEN];
	struct dp_lnk l;
	int ret;

	if (vtep->family != AF_INET && vtep->family != AF_INET6)
		return ovn_err_set(err, -EINVAL, "underlay MTU: VTEP address not set");
	ret = underlay_by_addr(&dp->sk, vtep, &best.ifindex, err);
	if (!ret && !best.ifindex)
		ret = nl_dump(&dp->sk, RTM_GETROUTE, &rtm, sizeof(rtm), route_pick_default,
			      route_reset, &best, err);
	if (ret)
		return ret;
	if (!best.ifindex)
		return ovn_err_set(err, -ENOENT, "underlay MTU: no device holds %s and there "
				   "is no default route", ovn_ip_str(vtep, buf));
	ret = lnk_get(&dp->sk, NULL, best.ifindex, &l, err);
	if (ret)
		return ret;
	if (!l.ifindex || !l.mtu)
		return ovn_err_set(err, -ENOENT, "underlay MTU: device %d vanished", best.ifindex);
	*mtu = l.mtu;
	return 0;
}
