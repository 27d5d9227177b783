/* fdb.c: remote endpoints on vx-<vni>: an FDB entry MAC -> VTEP (AF_BRIDGE,
 * NTF_SELF, so the vxlan driver's own table, not the bridge's) and a
 * permanent neighbour entry IP -> MAC on the same device, which the vxlan
 * ARP/ND proxy answers from, so no broadcast crosses the underlay for a
 * known peer. Flood entries (all-zero MAC, one per remote VTEP, appended)
 * carry the rest of the BUM traffic.
 *
 * A delete must not undo a newer add: when a peer moved to another host
 * (same MAC, new VTEP, already re-added) a late delete for the old VTEP finds
 * the FDB entry pointing elsewhere and leaves both entries alone.
 *
 * dp_entry_dump/dp_entry_del let reconcile prune entries that no endpoint
 * accounts for (a peer removed while the agent was down).
 * Does not: batch whole peer tables (TODO: dp_peers_replace, see nl_int.h).
 */
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"

static const struct ovn_mac zero_mac;

static int vx_index(struct dp *dp, uint32_t vni, int *ifindex, struct ovn_err *err)
{
	char name[IF_NAMESIZE];
	struct dp_lnk l;
	int ret;

	*ifindex = 0;
	if (!dp_vni_valid(vni))
		return ovn_err_set(err, -EINVAL, "peer: VNI %u out of range", vni);
	dp_vx_name(name, vni);
	ret = lnk_get(&dp->sk, name, 0, &l, err);
	if (ret)
		return ret;
	if (l.ifindex && strcmp(l.kind, "vxlan"))
		return ovn_err_set(err, -EEXIST, "peer: %s is not a vxlan device", name);
	*ifindex = l.ifindex;
	return 0;
}

static int vtep_check(const struct ovn_ip *vtep, struct ovn_err *err)
{
	if (vtep->family != AF_INET && vtep->family != AF_INET6)
		return ovn_err_set(err, -EINVAL, "peer: VTEP address not set");
	return 0;
}

static void fdb_msg(struct nl_batch *b, uint16_t type, uint16_t flags, int ifindex,
		    const struct ovn_mac *mac, const struct ovn_ip *vtep)
{
	char ms[OVN_MAC_STRLEN], vs[OVN_IP_STRLEN];
	struct ndmsg *ndm;

	ndm = nl_msg(b, type, flags, sizeof(*ndm), type == RTM_DELNEIGH ? NL_OK_NOENT : 0, NULL,
		     NULL, "%s fdb %s dst %s", type == RTM_DELNEIGH ? "delete" : "add",
		     ovn_mac_str(mac, ms), ovn_ip_str(vtep, vs));
	if (!ndm)
		return;
	ndm->ndm_family = AF_BRIDGE;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_NOARP | NUD_PERMANENT;
	ndm->ndm_flags = NTF_SELF;
	nl_put(b, NDA_LLADDR, sizeof(mac->b), mac->b);
	dp_put_ip(b, NDA_DST, vtep);
}

static void neigh_msg(struct nl_batch *b, uint16_t type, int ifindex, const struct ovn_ip *ip,
		      const struct ovn_mac *mac)
{
	char is[OVN_IP_STRLEN];
	struct ndmsg *ndm;
	bool add = type == RTM_NEWNEIGH;

	ndm = nl_msg(b, type, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, sizeof(*ndm),
		     add ? 0 : NL_OK_NOENT, NULL, NULL, "%s neighbour %s",
		     add ? "add" : "delete", ovn_ip_str(ip, is));
	if (!ndm)
		return;
	ndm->ndm_family = ip->family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_PERMANENT;
	dp_put_ip(b, NDA_DST, ip);
	if (add)
		nl_put(b, NDA_LLADDR, sizeof(mac->b), mac->b);
}

static int peer_check(const struct dp_peer *p, struct ovn_err *err)
{
	if (p->ip.family && p->ip.family != AF_INET && p->ip.family != AF_INET6)
		return ovn_err_set(err, -EINVAL, "peer: bad IP family");
	if ((p->mac.b[0] & 1) || !memcmp(p->mac.b, zero_mac.b, sizeof(p->mac.b)))
		return ovn_err_set(err, -EINVAL, "peer: MAC is not unicast");
	return vtep_check(&p->vtep, err);
}

int dp_peer_add(struct dp *dp, uint32_t vni, const struct dp_peer *p, struct ovn_err *err)
{
	struct nl_batch b;
	int ret, vx;

	ret = peer_check(p, err);
	if (!ret)
		ret = vx_index(dp, vni, &vx, err);
	if (ret)
		return ret;
	if (!vx)
		return ovn_err_set(err, -ENODEV, "peer: vx-%u does not exist", vni);
	nl_batch_init(&b, &dp->sk);
	/* REPLACE: the same add again, or a peer that moved, is one step. */
	fdb_msg(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, vx, &p->mac, &p->vtep);
	if (p->ip.family)
		neigh_msg(&b, RTM_NEWNEIGH, vx, &p->ip, &p->mac);
	return nl_batch_run(&b, err);
}

static const struct nl_want fdb_want[NDA_MAX + 1] = {
	[NDA_DST]	= { MNL_TYPE_BINARY },
};

struct fdb_dst {
	bool found;
	struct ovn_ip dst;
};

static int fdb_reply(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[NDA_MAX + 1];
	struct fdb_dst *f = arg;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || nl_parse(nlh, sizeof(struct ndmsg), fdb_want,
							NDA_MAX, tb))
		return -EBADMSG;
	f->found = true;
	if (!tb[NDA_DST])
		return 0;
	len = mnl_attr_get_payload_len(tb[NDA_DST]);
	if (len != 4 && len != 16)
		return -EBADMSG;
	f->dst.family = len == 4 ? AF_INET : AF_INET6;
	memcpy(f->dst.b, mnl_attr_get_payload(tb[NDA_DST]), len);
	return 0;
}

/* Where the FDB entry for mac on vx points now (f->found false: none). */
static int fdb_lookup(struct dp *dp, int vx, const struct ovn_mac *mac, struct fdb_dst *f,
		      struct ovn_err *err)
{
	char ms[OVN_MAC_STRLEN];
	struct nl_batch b;
	struct ndmsg *ndm;

	memset(f, 0, sizeof(*f));
	nl_batch_init(&b, &dp->sk);
	ndm = nl_msg(&b, RTM_GETNEIGH, 0, sizeof(*ndm), NL_OK_NOENT, fdb_reply, f, "get fdb %s",
		     ovn_mac_str(mac, ms));
	if (ndm) {
		ndm->ndm_family = AF_BRIDGE;
		ndm->ndm_ifindex = vx;
		ndm->ndm_flags = NTF_SELF;
	}
	nl_put(&b, NDA_LLADDR, sizeof(mac->b), mac->b);
	return nl_batch_run(&b, err);
}

int dp_peer_del(struct dp *dp, uint32_t vni, const struct dp_peer *p, struct ovn_err *err)
{
	struct fdb_dst f;
	struct nl_batch b;
	int ret, vx;

	ret = peer_check(p, err);
	if (!ret)
		ret = vx_index(dp, vni, &vx, err);
	if (!ret && vx)
		ret = fdb_lookup(dp, vx, &p->mac, &f, err);
	if (ret || !vx)
		return ret;
	if (f.found && f.dst.family && !ovn_ip_equal(&f.dst, &p->vtep))
		return 0;	/* moved elsewhere since: not ours to delete */
	nl_batch_init(&b, &dp->sk);
	if (f.found)
		fdb_msg(&b, RTM_DELNEIGH, 0, vx, &p->mac, &p->vtep);
	if (p->ip.family)
		neigh_msg(&b, RTM_DELNEIGH, vx, &p->ip, &p->mac);
	return nl_batch_run(&b, err);
}

int dp_flood_add(struct dp *dp, uint32_t vni, const struct ovn_ip *vtep, struct ovn_err *err)
{
	struct nl_batch b;
	int ret, vx;

	ret = vtep_check(vtep, err);
	if (!ret)
		ret = vx_index(dp, vni, &vx, err);
	if (ret)
		return ret;
	if (!vx)
		return ovn_err_set(err, -ENODEV, "flood: vx-%u does not exist", vni);
	nl_batch_init(&b, &dp->sk);
	/* APPEND: the all-zero entry holds one remote per VTEP; adding one that
	 * is there already changes nothing. */
	fdb_msg(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, vx, &zero_mac, vtep);
	return nl_batch_run(&b, err);
}

int dp_flood_del(struct dp *dp, uint32_t vni, const struct ovn_ip *vtep, struct ovn_err *err)
{
	struct nl_batch b;
	int ret, vx;

	ret = vtep_check(vtep, err);
	if (!ret)
		ret = vx_index(dp, vni, &vx, err);
	if (ret || !vx)
		return ret;
	nl_batch_init(&b, &dp->sk);
	fdb_msg(&b, RTM_DELNEIGH, 0, vx, &zero_mac, vtep);
	return nl_batch_run(&b, err);
}

/* ---- dump, for pruning entries no endpoint accounts for ---------------- */

static const struct nl_want entry_want[NDA_MAX + 1] = {
	[NDA_DST]	= { MNL_TYPE_BINARY },
	[NDA_LLADDR]	= { MNL_TYPE_BINARY },
};

struct entry_walk {
	int vx;
	struct dp_entry *v;
	size_t n, cap;
	size_t start;		/* first entry of the dump in progress */
	int ret;
};

static int ip_of_attr(const struct nlattr *a, struct ovn_ip *ip)
{
	size_t len = mnl_attr_get_payload_len(a);

	if (len != 4 && len != 16)
		return -EBADMSG;
	memset(ip, 0, sizeof(*ip));
	ip->family = len == 4 ? AF_INET : AF_INET6;
	memcpy(ip->b, mnl_attr_get_payload(a), len);
	return 0;
}

/* One RTM_NEWNEIGH of a dump: keep vx's own FDB entries (NTF_SELF, with a
 * destination) and its permanent neighbour entries. */
static int entry_reply(const struct nlmsghdr *nlh, void *arg)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NDA_MAX + 1];
	struct entry_walk *w = arg;
	struct dp_entry e = { 0 };

	if (nlh->nlmsg_type != RTM_NEWNEIGH || ndm->ndm_ifindex != w->vx ||
	    nl_parse(nlh, sizeof(*ndm), entry_want, NDA_MAX, tb))
		return 0;
	if (!tb[NDA_LLADDR] || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != sizeof(e.mac.b))
		return 0;
	memcpy(e.mac.b, mnl_attr_get_payload(tb[NDA_LLADDR]), sizeof(e.mac.b));
	if (ndm->ndm_family == AF_BRIDGE) {
		if (!(ndm->ndm_flags & NTF_SELF) || !tb[NDA_DST] || ip_of_attr(tb[NDA_DST], &e.vtep))
			return 0;
		e.kind = DP_ENTRY_FDB;
	} else {
		if (!(ndm->ndm_state & NUD_PERMANENT) || !tb[NDA_DST] || ip_of_attr(tb[NDA_DST], &e.ip))
			return 0;
		e.kind = DP_ENTRY_NEIGH;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct dp_entry *v = realloc(w->v, cap * sizeof(*v));

		if (!v)
			return w->ret = -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = e;
	return 0;
}

static void entry_reset(void *arg)
{
	struct entry_walk *w = arg;

	w->n = w->start;	/* a restarted dump refills only its own part */
}

int dp_entry_dump(struct dp *dp, uint32_t vni, int (*fn)(const struct dp_entry *e, void *arg),
		  void *arg, struct ovn_err *err)
{
	static const uint8_t families[] = { AF_BRIDGE, AF_UNSPEC };
	struct entry_walk w = { 0 };
	int ret;

	ret = vx_index(dp, vni, &w.vx, err);
	if (ret || !w.vx)
		return ret;
	for (size_t i = 0; i < sizeof(families) && !ret; i++) {
		/* The bridge dump filters by port in the header; a strict
		 * neighbour dump refuses a header ifindex (it would want
		 * NDA_IFINDEX), so that one is filtered in entry_reply. */
		struct ndmsg ndm = { .ndm_family = families[i],
				     .ndm_ifindex = families[i] == AF_BRIDGE ? w.vx : 0 };

		w.start = w.n;
		ret = nl_dump(&dp->sk, RTM_GETNEIGH, &ndm, sizeof(ndm), entry_reply, entry_reset,
			      &w, err);
		if (!ret)
			ret = w.ret;
	}
	for (size_t i = 0; i < w.n && !ret; i++)
		ret = fn(&w.v[i], arg);
	free(w.v);
	return ret;
}

int dp_entry_del(struct dp *dp, uint32_t vni, const struct dp_entry *e, struct ovn_err *err)
{
	struct nl_batch b;
	int ret, vx;

	ret = vx_index(dp, vni, &vx, err);
	if (ret || !vx)
		return ret;
	nl_batch_init(&b, &dp->sk);
	if (e->kind == DP_ENTRY_FDB)
		fdb_msg(&b, RTM_DELNEIGH, 0, vx, &e->mac, &e->vtep);
	else
		neigh_msg(&b, RTM_DELNEIGH, vx, &e->ip, &e->mac);
	return nl_batch_run(&b, err);
}
