/* addr.c: interface addresses: add / delete requests, a dump into an array,
 * and reconciling a link's global addresses against a wanted set.
 *
 * IPv6 addresses go in with IFA_F_NODAD: ovn's addresses are unique by IPAM,
 * and DAD would leave them "tentative" (unusable) for a second or more after
 * an attach.
 *
 * The one link-local address ovn writes itself is a container's (endpoint.c
 * turns the kernel's address generation off there): the same modified EUI-64
 * address the kernel would make from the MAC, only without DAD.
 *
 * Does not: reconcile link-local or host-scope addresses (addr_reconcile only
 * looks at global ones).
 */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "util.h"

static const struct nl_want addr_want[IFA_MAX + 1] = {
	[IFA_ADDRESS]	= { MNL_TYPE_BINARY },
	[IFA_LOCAL]	= { MNL_TYPE_BINARY },
};

static void addr_msg(struct nl_batch *b, uint16_t type, uint16_t flags, unsigned int ok,
		     int ifindex, const struct ovn_prefix *p)
{
	char buf[OVN_PREFIX_STRLEN];
	struct ifaddrmsg *ifa;

	ifa = nl_msg(b, type, flags, sizeof(*ifa), ok, NULL, NULL, "%s address %s",
		     type == RTM_NEWADDR ? "add" : "delete", ovn_prefix_str(p, buf));
	if (!ifa)
		return;
	ifa->ifa_family = p->ip.family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_index = ifindex;
	if (type == RTM_NEWADDR && p->ip.family == AF_INET6) {
		ifa->ifa_flags = IFA_F_NODAD;
		nl_put_u32(b, IFA_FLAGS, IFA_F_NODAD);
	}
	dp_put_ip(b, IFA_LOCAL, &p->ip);
	dp_put_ip(b, IFA_ADDRESS, &p->ip);
}

void addr_add_msg(struct nl_batch *b, int ifindex, const struct ovn_prefix *p)
{
	addr_msg(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, 0, ifindex, p);
}

void addr_del_msg(struct nl_batch *b, int ifindex, const struct ovn_prefix *p)
{
	addr_msg(b, RTM_DELADDR, 0, NL_OK_NOENT, ifindex, p);
}

void addr_ll_of_mac(struct ovn_prefix *p, const struct ovn_mac *mac)
{
	/* RFC 4291 2.5.1 and appendix A: fe80::/64, interface id = the MAC
	 * with ff:fe in the middle and the universal/local bit inverted. */
	static const uint8_t fe80[8] = { 0xfe, 0x80 };
	uint8_t *id = p->ip.b + 8;

	memset(p, 0, sizeof(*p));
	p->ip.family = AF_INET6;
	p->len = 64;
	memcpy(p->ip.b, fe80, sizeof(fe80));
	id[0] = mac->b[0] ^ 0x02;
	id[1] = mac->b[1];
	id[2] = mac->b[2];
	id[3] = 0xff;
	id[4] = 0xfe;
	id[5] = mac->b[3];
	id[6] = mac->b[4];
	id[7] = mac->b[5];
}

struct addr_vec {
	int ifindex;
	struct dp_addr *v;
	int n, cap;
};

static int addr_parse(const struct nlmsghdr *nlh, struct dp_addr *a)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1];
	const struct nlattr *at;
	int bytes;

	if (nlh->nlmsg_type != RTM_NEWADDR || nl_parse(nlh, sizeof(*ifa), addr_want, IFA_MAX, tb))
		return -EINVAL;
	/* IPv4 puts the local address in IFA_LOCAL (IFA_ADDRESS is the peer);
	 * IPv6 only sends IFA_LOCAL for point-to-point. */
	at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	memset(a, 0, sizeof(*a));
	a->p.ip.family = ifa->ifa_family;
	bytes = ovn_ip_bytes(&a->p.ip);
	if (!at || !bytes || mnl_attr_get_payload_len(at) != bytes)
		return -EINVAL;
	memcpy(a->p.ip.b, mnl_attr_get_payload(at), bytes);
	a->p.len = ifa->ifa_prefixlen;
	a->ifindex = (int)ifa->ifa_index;
	a->scope = ifa->ifa_scope;
	return 0;
}

static int addr_collect(const struct nlmsghdr *nlh, void *arg)
{
	struct addr_vec *vec = arg;
	struct dp_addr a;

	if (addr_parse(nlh, &a) || (vec->ifindex && a.ifindex != vec->ifindex))
		return 0;
	if (dp_grow((void **)&vec->v, vec->n, &vec->cap, sizeof(*vec->v)))
		return -ENOMEM;
	vec->v[vec->n++] = a;
	return 0;
}

static void addr_reset(void *arg)
{
	((struct addr_vec *)arg)->n = 0;
}

int addr_dump(struct nl_sock *sk, int family, int ifindex, struct dp_addr **out, int *n,
	      struct ovn_err *err)
{
	/* With NETLINK_GET_STRICT_CHK the kernel filters by ifa_index itself;
	 * addr_collect filters again for kernels that ignore it. */
	struct ifaddrmsg ifa = { .ifa_family = family, .ifa_index = ifindex };
	struct addr_vec vec = { .ifindex = ifindex };
	int ret;

	ret = nl_dump(sk, RTM_GETADDR, &ifa, sizeof(ifa), addr_collect, addr_reset, &vec, err);
	if (ret) {
		free(vec.v);
		return ret;
	}
	*out = vec.v;
	*n = vec.n;
	return 0;
}

static bool addr_in(const struct ovn_prefix *p, const struct ovn_prefix *set, int n)
{
	for (int i = 0; i < n; i++) {
		if (p->len == set[i].len && ovn_ip_equal(&p->ip, &set[i].ip))
			return true;
	}
	return false;
}

int addr_reconcile(struct nl_sock *sk, int ifindex, const struct ovn_prefix *want, int n,
		   struct ovn_err *err)
{
	struct ovn_prefix have[DP_MAX_ADDRS * 4];
	struct dp_addr *cur = NULL;
	int ncur = 0, nhave = 0, ret;
	struct nl_batch b;

	ret = addr_dump(sk, AF_UNSPEC, ifindex, &cur, &ncur, err);
	if (ret)
		goto out;
	nl_batch_init(&b, sk);
	for (int i = 0; i < ncur; i++) {
		if (cur[i].scope != RT_SCOPE_UNIVERSE)
			continue;
		if (!addr_in(&cur[i].p, want, n))
			addr_del_msg(&b, ifindex, &cur[i].p);
		else if (nhave < (int)ARRAY_SIZE(have))
			have[nhave++] = cur[i].p;
	}
	for (int i = 0; i < n; i++) {
		if (!addr_in(&want[i], have, nhave))
			addr_add_msg(&b, ifindex, &want[i]);
	}
	ret = nl_batch_run(&b, err);
out:
	free(cur);
	return ret;
}
