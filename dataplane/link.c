/* link.c: links as ovn sees them: parse RTM_NEWLINK (with the vxlan and
 * bridge details ensure compares), and the get / delete / set-up / IPv6-off
 * requests every other file builds on.
 *
 * IPv6 off means address generation mode "none": the link keeps its IPv6
 * stack (so addresses can still be added by hand) but makes no link-local
 * address when it comes up, hence no DAD, no MLD reports and no router
 * solicitations of its own. It only matters before the link first comes up
 * (turning it off later leaves the link-local address in place), and the
 * kernel refuses IFLA_AF_SPEC in the request that creates a link
 * (-EAFNOSUPPORT, seen on 6.18). So the order is always: create down, IPv6
 * off, up: three messages of one batch, one round trip, and an order that
 * does not hang on how the kernel sequences the attributes of one request.
 *
 * Does not: create links (network.c makes vx-/br-, endpoint.c the veths).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "util.h"

static const struct nl_want link_want[IFLA_MAX + 1] = {
	[IFLA_IFNAME]		= { MNL_TYPE_NUL_STRING },
	[IFLA_MTU]		= { MNL_TYPE_U32 },
	[IFLA_MASTER]		= { MNL_TYPE_U32 },
	[IFLA_LINK]		= { MNL_TYPE_U32 },
	[IFLA_LINK_NETNSID]	= { MNL_TYPE_U32 },
	/* any length: tunnels carry 4 or 16 bytes, checked where used */
	[IFLA_ADDRESS]		= { MNL_TYPE_BINARY },
	[IFLA_LINKINFO]		= { MNL_TYPE_NESTED },
	[IFLA_AF_SPEC]		= { MNL_TYPE_NESTED },
};

static const struct nl_want info_want[IFLA_INFO_MAX + 1] = {
	[IFLA_INFO_KIND]	= { MNL_TYPE_NUL_STRING },
	[IFLA_INFO_DATA]	= { MNL_TYPE_NESTED },
};

static const struct nl_want vxlan_want[IFLA_VXLAN_MAX + 1] = {
	[IFLA_VXLAN_ID]		= { MNL_TYPE_U32 },
	[IFLA_VXLAN_GROUP]	= { MNL_TYPE_BINARY, 4 },
	[IFLA_VXLAN_GROUP6]	= { MNL_TYPE_BINARY, 16 },
	[IFLA_VXLAN_LOCAL]	= { MNL_TYPE_BINARY, 4 },
	[IFLA_VXLAN_LOCAL6]	= { MNL_TYPE_BINARY, 16 },
	[IFLA_VXLAN_PORT]	= { MNL_TYPE_U16 },
	[IFLA_VXLAN_LEARNING]	= { MNL_TYPE_U8 },
	[IFLA_VXLAN_PROXY]	= { MNL_TYPE_U8 },
};

static const struct nl_want bridge_want[IFLA_BR_MAX + 1] = {
	[IFLA_BR_FORWARD_DELAY]	= { MNL_TYPE_U32 },
	[IFLA_BR_STP_STATE]	= { MNL_TYPE_U32 },
	[IFLA_BR_MCAST_SNOOPING] = { MNL_TYPE_U8 },
};

/* IFLA_AF_SPEC holds one nest per address family, typed by AF_*. */
static const struct nl_want af_want[AF_INET6 + 1] = {
	[AF_INET6]		= { MNL_TYPE_NESTED },
};

static const struct nl_want inet6_want[IFLA_INET6_MAX + 1] = {
	[IFLA_INET6_ADDR_GEN_MODE] = { MNL_TYPE_U8 },
};

static int lnk_parse_vxlan(const struct nlattr *data, struct dp_lnk *l)
{
	const struct nlattr *tb[IFLA_VXLAN_MAX + 1];

	if (nl_parse_nested(data, vxlan_want, IFLA_VXLAN_MAX, tb))
		return -EINVAL;
	if (tb[IFLA_VXLAN_ID])
		l->vni = mnl_attr_get_u32(tb[IFLA_VXLAN_ID]);
	if (tb[IFLA_VXLAN_PORT])
		l->port = ntohs(mnl_attr_get_u16(tb[IFLA_VXLAN_PORT]));
	if (tb[IFLA_VXLAN_LEARNING])
		l->learning = mnl_attr_get_u8(tb[IFLA_VXLAN_LEARNING]);
	if (tb[IFLA_VXLAN_PROXY])
		l->proxy = mnl_attr_get_u8(tb[IFLA_VXLAN_PROXY]);
	l->has_group = tb[IFLA_VXLAN_GROUP] || tb[IFLA_VXLAN_GROUP6];
	if (tb[IFLA_VXLAN_LOCAL]) {
		l->local.family = AF_INET;
		memcpy(l->local.b, mnl_attr_get_payload(tb[IFLA_VXLAN_LOCAL]), 4);
	} else if (tb[IFLA_VXLAN_LOCAL6]) {
		l->local.family = AF_INET6;
		memcpy(l->local.b, mnl_attr_get_payload(tb[IFLA_VXLAN_LOCAL6]), 16);
	}
	return 0;
}

static int lnk_parse_bridge(const struct nlattr *data, struct dp_lnk *l)
{
	const struct nlattr *tb[IFLA_BR_MAX + 1];

	if (nl_parse_nested(data, bridge_want, IFLA_BR_MAX, tb))
		return -EINVAL;
	if (tb[IFLA_BR_STP_STATE])
		l->stp_state = mnl_attr_get_u32(tb[IFLA_BR_STP_STATE]);
	if (tb[IFLA_BR_FORWARD_DELAY])
		l->fwd_delay = mnl_attr_get_u32(tb[IFLA_BR_FORWARD_DELAY]);
	if (tb[IFLA_BR_MCAST_SNOOPING])
		l->mcast_snooping = mnl_attr_get_u8(tb[IFLA_BR_MCAST_SNOOPING]);
	return 0;
}

/* The IPv6 address generation mode; absent when the link has no IPv6 at
 * all (MTU below 1280, or IPv6 disabled). */
static int lnk_parse_af(const struct nlattr *spec, struct dp_lnk *l)
{
	const struct nlattr *tb[AF_INET6 + 1], *tb6[IFLA_INET6_MAX + 1];

	if (nl_parse_nested(spec, af_want, AF_INET6, tb))
		return -EINVAL;
	if (!tb[AF_INET6])
		return 0;
	if (nl_parse_nested(tb[AF_INET6], inet6_want, IFLA_INET6_MAX, tb6))
		return -EINVAL;
	if (tb6[IFLA_INET6_ADDR_GEN_MODE])
		l->v6_gen_mode = mnl_attr_get_u8(tb6[IFLA_INET6_ADDR_GEN_MODE]);
	return 0;
}

static int lnk_parse_info(const struct nlattr *info, struct dp_lnk *l)
{
	const struct nlattr *tb[IFLA_INFO_MAX + 1];
	const struct nlattr *data;

	if (nl_parse_nested(info, info_want, IFLA_INFO_MAX, tb))
		return -EINVAL;
	if (tb[IFLA_INFO_KIND])
		ovn_strlcpy(l->kind, mnl_attr_get_str(tb[IFLA_INFO_KIND]), sizeof(l->kind));
	data = tb[IFLA_INFO_DATA];
	if (!data)
		return 0;
	if (!strcmp(l->kind, "vxlan"))
		return lnk_parse_vxlan(data, l);
	if (!strcmp(l->kind, "bridge"))
		return lnk_parse_bridge(data, l);
	return 0;
}

int lnk_parse(const struct nlmsghdr *nlh, struct dp_lnk *l)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1];

	memset(l, 0, sizeof(*l));
	l->link_nsid = -1;
	l->learning = l->proxy = -1;
	l->stp_state = l->fwd_delay = -1;
	l->mcast_snooping = l->v6_gen_mode = -1;
	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nl_parse(nlh, sizeof(*ifm), link_want, IFLA_MAX, tb) || !tb[IFLA_IFNAME])
		return -EINVAL;
	l->flags = ifm->ifi_flags;
	if (ovn_strlcpy(l->name, mnl_attr_get_str(tb[IFLA_IFNAME]), sizeof(l->name)))
		return -EINVAL;
	if (tb[IFLA_MTU])
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER])
		l->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINK])
		l->link = (int)mnl_attr_get_u32(tb[IFLA_LINK]);
	if (tb[IFLA_LINK_NETNSID])
		l->link_nsid = (int)mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
		l->has_mac = true;
		memcpy(l->mac.b, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
	}
	if (tb[IFLA_LINKINFO] && lnk_parse_info(tb[IFLA_LINKINFO], l))
		return -EINVAL;
	if (tb[IFLA_AF_SPEC] && lnk_parse_af(tb[IFLA_AF_SPEC], l))
		return -EINVAL;
	/* Set last: ifindex != 0 is what tells callers "found and valid". */
	l->ifindex = ifm->ifi_index;
	return 0;
}

static int lnk_reply(const struct nlmsghdr *nlh, void *arg)
{
	return lnk_parse(nlh, arg);
}

void lnk_get_msg(struct nl_batch *b, const char *name, int ifindex, struct dp_lnk *l)
{
	struct ifinfomsg *ifm;

	memset(l, 0, sizeof(*l));
	ifm = nl_msg(b, RTM_GETLINK, 0, sizeof(*ifm), NL_OK_NOENT, lnk_reply, l,
		     "get link %s", name ? name : "by index");
	if (!ifm)
		return;
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = name ? 0 : ifindex;
	if (name)
		nl_put_str(b, IFLA_IFNAME, name);
	nl_put_u32(b, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
}

int lnk_get(struct nl_sock *sk, const char *name, int ifindex, struct dp_lnk *l,
	    struct ovn_err *err)
{
	struct nl_batch b;

	nl_batch_init(&b, sk);
	lnk_get_msg(&b, name, ifindex, l);
	return nl_batch_run(&b, err);
}

void lnk_del_msg(struct nl_batch *b, int ifindex, const char *name)
{
	struct ifinfomsg *ifm;

	ifm = nl_msg(b, RTM_DELLINK, 0, sizeof(*ifm), NL_OK_NOENT, NULL, NULL, "delete %s",
		     name ? name : "link");
	if (!ifm)
		return;
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (!ifindex && name)
		nl_put_str(b, IFLA_IFNAME, name);
}

void lnk_up_msg(struct nl_batch *b, int ifindex, const char *name, uint32_t mtu)
{
	struct ifinfomsg *ifm;

	ifm = nl_msg(b, RTM_NEWLINK, 0, sizeof(*ifm), 0, NULL, NULL, "set %s up",
		     name ? name : "link");
	if (!ifm)
		return;
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (!ifindex && name)
		nl_put_str(b, IFLA_IFNAME, name);
	if (mtu)
		nl_put_u32(b, IFLA_MTU, mtu);
}

void lnk_v6_off_msg(struct nl_batch *b, int ifindex, const char *name)
{
	struct nlattr *spec, *in6;
	struct ifinfomsg *ifm;

	ifm = nl_msg(b, RTM_NEWLINK, 0, sizeof(*ifm), 0, NULL, NULL, "set %s IPv6 off",
		     name ? name : "link");
	if (!ifm)
		return;
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (!ifindex && name)
		nl_put_str(b, IFLA_IFNAME, name);
	spec = nl_nest_start(b, IFLA_AF_SPEC);
	in6 = nl_nest_start(b, AF_INET6);
	nl_put_u8(b, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	nl_nest_end(b, in6);
	nl_nest_end(b, spec);
}

struct lnk_vec {
	struct dp_lnk *v;
	int n, cap;
};

static int lnk_collect(const struct nlmsghdr *nlh, void *arg)
{
	struct lnk_vec *vec = arg;

	if (dp_grow((void **)&vec->v, vec->n, &vec->cap, sizeof(*vec->v)))
		return -ENOMEM;
	/* A link we cannot parse is not one of ours: skip it. */
	if (lnk_parse(nlh, &vec->v[vec->n]) == 0)
		vec->n++;
	return 0;
}

static void lnk_reset(void *arg)
{
	((struct lnk_vec *)arg)->n = 0;
}

int lnk_dump(struct nl_sock *sk, struct dp_lnk **out, int *n, struct ovn_err *err)
{
	struct ifinfomsg ifm = { .ifi_family = AF_UNSPEC };
	struct lnk_vec vec = { 0 };
	int ret;

	ret = nl_dump(sk, RTM_GETLINK, &ifm, sizeof(ifm), lnk_collect, lnk_reset, &vec, err);
	if (ret) {
		free(vec.v);
		return ret;
	}
	*out = vec.v;
	*n = vec.n;
	return 0;
}
