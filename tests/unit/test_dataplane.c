/* test_dataplane.c: dataplane/ against the real kernel, in a world of its own.
 *
 * Needs root (every test skips without it). main() unshares the network
 * namespace first, so this process's "host" is a fresh namespace: nothing
 * it makes can leak into the machine's, and all of it vanishes when the
 * process exits, pass or fail. Containers are namespaces made by a thread
 * that unshares and opens /proc/thread-self/ns/net; each lives as long as
 * its fd. The host gets a veth underlay ul0 (198.18.0.1/24, MTU 1400).
 *
 * Reading back goes through the module's own netlink layer (nl_int.h,
 * dp_int.h) with sockets opened in each namespace; the traffic tests send
 * real UDP datagrams (IPv4 and IPv6) between two containers on one bridge,
 * to the gateway, and between two "hosts" (namespaces joined by a veth
 * underlay) over VxLAN, through the peer and flood entries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp_int.h"
#include "util.h"

#define VNI 4097
#define MTU 1350

static bool root;
static struct dp *dp;
static struct nl_sock hs;		/* the test's own reader in the host ns */
static struct ovn_err E;

#define NEED_ROOT() do { if (!root) skip(); } while (0)

/* Run a dp call, print its error text when it fails, expect 0. */
#define OK(expr) do {							\
	int r_;								\
	ovn_err_clear(&E);						\
	r_ = (expr);							\
	if (r_)								\
		print_error("%s: %d %s\n", #expr, r_, E.msg);		\
	assert_int_equal(r_, 0);					\
} while (0)

/* ---- values ------------------------------------------------------------ */

static struct ovn_ip ip_of(const char *s)
{
	struct ovn_ip ip;

	assert_int_equal(ovn_ip_parse(&ip, s), 0);
	return ip;
}

static struct ovn_prefix pfx_of(const char *s)
{
	struct ovn_prefix p;

	assert_int_equal(ovn_prefix_parse(&p, s, true), 0);
	return p;
}

static struct ovn_mac mac_of(const char *s)
{
	struct ovn_mac m;

	assert_int_equal(ovn_mac_parse(&m, s, true), 0);
	return m;
}

static void net_init(struct dp_network *n, uint32_t vni)
{
	memset(n, 0, sizeof(*n));
	n->vni = vni;
	n->vtep = ip_of("198.18.0.1");
	n->mtu = MTU;
	n->bridge_mac = mac_of("02:00:00:00:10:01");
	n->n_gateways = 2;
	n->gateways[0] = pfx_of("198.19.1.1/24");
	n->gateways[1] = pfx_of("fd00:1::1/64");
}

/* Endpoint number i: 198.19.1.<i>/24, fd00:1::<i>/64, MAC from the IPv4. */
static void ep_init(struct dp_endpoint *ep, const char *host, int i)
{
	char buf[64];

	memset(ep, 0, sizeof(*ep));
	ep->vni = VNI;
	snprintf(ep->host_ifname, sizeof(ep->host_ifname), "%s", host);
	ep->mtu = MTU;
	ep->n_addrs = 2;
	snprintf(buf, sizeof(buf), "198.19.1.%d/24", i);
	ep->addrs[0] = pfx_of(buf);
	snprintf(buf, sizeof(buf), "fd00:1::%d/64", i);
	ep->addrs[1] = pfx_of(buf);
	ovn_mac_from_ip(&ep->mac, &ep->addrs[0].ip);
	ep->gw4 = ip_of("198.19.1.1");
	ep->gw6 = ip_of("fd00:1::1");
}

/* ---- namespaces ---------------------------------------------------------- */

static void *netns_thread(void *arg)
{
	int *fd = arg;

	if (unshare(CLONE_NEWNET) < 0)
		*fd = -errno;
	else
		*fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return NULL;
}

/* A fresh network namespace, alive while the fd is open. */
static int netns_new(void)
{
	pthread_t t;
	int fd = -1;

	assert_int_equal(pthread_create(&t, NULL, netns_thread, &fd), 0);
	pthread_join(t, NULL);
	assert_true(fd >= 0);
	return fd;
}

struct sock_job {
	int netns, family, fd;
};

static void *sock_thread(void *arg)
{
	struct sock_job *j = arg;

	j->fd = -1;
	if (j->netns < 0 || setns(j->netns, CLONE_NEWNET) == 0)
		j->fd = socket(j->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return NULL;
}

/* A UDP socket in netns (-1: the host). */
static int udp_in(int netns, int family)
{
	struct sock_job j = { netns, family, -1 };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, sock_thread, &j), 0);
	pthread_join(t, NULL);
	assert_true(j.fd >= 0);
	return j.fd;
}

/* ---- reading back -------------------------------------------------------- */

static int link_get(struct nl_sock *sk, const char *name, struct dp_lnk *l)
{
	OK(lnk_get(sk, name, 0, l, &E));
	return l->ifindex;
}

static int link_count(struct nl_sock *sk)
{
	struct dp_lnk *l = NULL;
	int n = 0;

	OK(lnk_dump(sk, &l, &n, &E));
	free(l);
	return n;
}

/* Global addresses of ifindex, sorted by family then address, as strings. */
static int addrs_of(struct nl_sock *sk, int ifindex, char out[][OVN_PREFIX_STRLEN], int max)
{
	struct dp_addr *a = NULL;
	int n = 0, k = 0;

	OK(addr_dump(sk, AF_UNSPEC, ifindex, &a, &n, &E));
	for (int i = 0; i < n && k < max; i++) {
		if (a[i].scope == RT_SCOPE_UNIVERSE)
			ovn_prefix_str(&a[i].p, out[k++]);
	}
	free(a);
	for (int i = 0; i < k; i++)		/* tiny: insertion sort on text */
		for (int j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
			char t[OVN_PREFIX_STRLEN];

			memcpy(t, out[j], sizeof(t));
			memcpy(out[j], out[j - 1], sizeof(t));
			memcpy(out[j - 1], t, sizeof(t));
		}
	return k;
}

/* IPv6 addresses of ifindex, any scope, with the IFA_F_* flags the kernel
 * reports (IFA_FLAGS when present: it carries the bits past 8). */
struct a6 {
	struct ovn_prefix p;
	uint32_t flags;
};

struct a6s {
	int ifindex, n, max;
	struct a6 *v;
};

static const struct nl_want a6_want[IFA_MAX + 1] = {
	[IFA_ADDRESS] = { MNL_TYPE_BINARY, 16 },
	[IFA_FLAGS] = { MNL_TYPE_U32 },
};

static int a6_collect(const struct nlmsghdr *nlh, void *arg)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1];
	struct a6s *s = arg;
	struct a6 *a;

	if (nl_parse(nlh, sizeof(*ifa), a6_want, IFA_MAX, tb) || ifa->ifa_family != AF_INET6 ||
	    (int)ifa->ifa_index != s->ifindex || !tb[IFA_ADDRESS])
		return 0;
	if (s->n++ >= s->max)
		return 0;
	a = &s->v[s->n - 1];
	memset(a, 0, sizeof(*a));
	a->p.ip.family = AF_INET6;
	a->p.len = ifa->ifa_prefixlen;
	memcpy(a->p.ip.b, mnl_attr_get_payload(tb[IFA_ADDRESS]), 16);
	a->flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	return 0;
}

/* How many IPv6 addresses ifindex has (the first max of them in out). */
static int v6_addrs(struct nl_sock *sk, int ifindex, struct a6 *out, int max)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET6, .ifa_index = ifindex };
	struct a6s s = { .ifindex = ifindex, .max = max, .v = out };

	OK(nl_dump(sk, RTM_GETADDR, &ifa, sizeof(ifa), a6_collect, NULL, &s, &E));
	return s.n;
}

struct rts {
	int n;
	struct {
		struct ovn_ip gw;
		int oif;
	} v[8];
};

static const struct nl_want rt_want[RTA_MAX + 1] = {
	[RTA_GATEWAY] = { MNL_TYPE_BINARY },
	[RTA_OIF] = { MNL_TYPE_U32 },
	[RTA_TABLE] = { MNL_TYPE_U32 },
};

static int rt_collect(const struct nlmsghdr *nlh, void *arg)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1];
	struct rts *r = arg;

	if (nl_parse(nlh, sizeof(*rtm), rt_want, RTA_MAX, tb) || rtm->rtm_dst_len ||
	    rtm->rtm_table != RT_TABLE_MAIN || !tb[RTA_GATEWAY] || r->n == 8)
		return 0;
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	r->v[r->n].gw.family = rtm->rtm_family;
	memcpy(r->v[r->n].gw.b, mnl_attr_get_payload(tb[RTA_GATEWAY]),
	       mnl_attr_get_payload_len(tb[RTA_GATEWAY]));
	r->v[r->n].oif = tb[RTA_OIF] ? (int)mnl_attr_get_u32(tb[RTA_OIF]) : 0;
	r->n++;
	return 0;
}

/* Default routes (with a gateway) of one family. */
static void default_routes(struct nl_sock *sk, int family, struct rts *r)
{
	struct rtmsg rtm = { .rtm_family = family };

	memset(r, 0, sizeof(*r));
	OK(nl_dump(sk, RTM_GETROUTE, &rtm, sizeof(rtm), rt_collect, NULL, r, &E));
}

struct nbs {
	int ifindex, n;
	struct {
		struct ovn_mac mac;
		struct ovn_ip dst;
		uint16_t state;
		uint8_t flags;
	} v[16];
};

static const struct nl_want nb_want[NDA_MAX + 1] = {
	[NDA_DST] = { MNL_TYPE_BINARY },
	[NDA_LLADDR] = { MNL_TYPE_BINARY },
};

static int nb_collect(const struct nlmsghdr *nlh, void *arg)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NDA_MAX + 1];
	struct nbs *s = arg;
	size_t dl;

	if (nl_parse(nlh, sizeof(*ndm), nb_want, NDA_MAX, tb) || ndm->ndm_ifindex != s->ifindex ||
	    !tb[NDA_LLADDR] || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6 || s->n == 16)
		return 0;
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	memcpy(s->v[s->n].mac.b, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
	if (tb[NDA_DST]) {
		dl = mnl_attr_get_payload_len(tb[NDA_DST]);
		s->v[s->n].dst.family = dl == 4 ? AF_INET : AF_INET6;
		memcpy(s->v[s->n].dst.b, mnl_attr_get_payload(tb[NDA_DST]), dl);
	}
	s->v[s->n].state = ndm->ndm_state;
	s->v[s->n].flags = ndm->ndm_flags;
	s->n++;
	return 0;
}

static void neigh_dump(int family, int ifindex, struct nbs *s)
{
	struct ndmsg ndm = { .ndm_family = family };

	memset(s, 0, sizeof(*s));
	s->ifindex = ifindex;
	OK(nl_dump(&hs, RTM_GETNEIGH, &ndm, sizeof(ndm), nb_collect, NULL, s, &E));
}

/* Index of the entry with this MAC (and dst, when given) or -1. */
static int nb_find(const struct nbs *s, const char *mac, const char *dst, uint8_t flag)
{
	struct ovn_mac m = mac_of(mac);
	struct ovn_ip d = { 0 };

	if (dst)
		d = ip_of(dst);
	for (int i = 0; i < s->n; i++) {
		if (memcmp(s->v[i].mac.b, m.b, 6) || (flag && !(s->v[i].flags & flag)))
			continue;
		if (!dst || ovn_ip_equal(&s->v[i].dst, &d))
			return i;
	}
	return -1;
}

static int nb_find_zero(const struct nbs *s, const char *dst)
{
	struct ovn_ip d = ip_of(dst);

	for (int i = 0; i < s->n; i++) {
		static const uint8_t z[6];

		if (!memcmp(s->v[i].mac.b, z, 6) && ovn_ip_equal(&s->v[i].dst, &d) &&
		    (s->v[i].flags & NTF_SELF))
			return i;
	}
	return -1;
}

/* ---- host setup ---------------------------------------------------------- */

/* Veth pair a/b in the host, both up, a with MTU mtu and address addr. */
static void underlay_pair(const char *a, const char *b, uint32_t mtu, const char *addr)
{
	struct nlattr *li, *data, *peer;
	struct ovn_prefix p = pfx_of(addr);
	struct ifinfomsg *ifm;
	struct nl_batch *bt = malloc(sizeof(*bt));
	struct dp_lnk l;

	assert_non_null(bt);
	nl_batch_init(bt, &hs);
	ifm = nl_msg(bt, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifm), 0, NULL, NULL,
		     "create %s", a);
	assert_non_null(ifm);
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	nl_put_str(bt, IFLA_IFNAME, a);
	nl_put_u32(bt, IFLA_MTU, mtu);
	li = nl_nest_start(bt, IFLA_LINKINFO);
	nl_put_str(bt, IFLA_INFO_KIND, "veth");
	data = nl_nest_start(bt, IFLA_INFO_DATA);
	peer = nl_nest_start(bt, VETH_INFO_PEER);
	nl_reserve(bt, sizeof(struct ifinfomsg));
	nl_put_str(bt, IFLA_IFNAME, b);
	nl_nest_end(bt, peer);
	nl_nest_end(bt, data);
	nl_nest_end(bt, li);
	lnk_up_msg(bt, 0, b, 0);
	lnk_get_msg(bt, a, 0, &l);
	OK(nl_batch_run(bt, &E));
	addr_add_msg(bt, l.ifindex, &p);
	OK(nl_batch_run(bt, &E));
	free(bt);
}

static void link_delete(const char *name)
{
	struct nl_batch *bt = malloc(sizeof(*bt));

	assert_non_null(bt);
	nl_batch_init(bt, &hs);
	lnk_del_msg(bt, 0, name);
	OK(nl_batch_run(bt, &E));
	free(bt);
}

static int group_setup(void **state)
{
	if (!root)
		return 0;
	if (dp_open(&dp, &E) || nl_open(&hs, &E)) {
		print_error("open: %s\n", E.msg);
		return -1;
	}
	underlay_pair("ul0", "ul1", 1400, "198.18.0.1/24");
	return 0;
}

static int group_teardown(void **state)
{
	dp_close(dp);
	if (hs.mnl)
		nl_close(&hs);
	return 0;
}

/* ---- networks ------------------------------------------------------------ */

static void check_network(const struct dp_network *n)
{
	char vxn[IF_NAMESIZE], brn[IF_NAMESIZE];
	struct dp_lnk vx, br;

	dp_vx_name(vxn, n->vni);
	dp_br_name(brn, n->vni);
	assert_true(link_get(&hs, vxn, &vx));
	assert_true(link_get(&hs, brn, &br));
	assert_string_equal(vx.kind, "vxlan");
	assert_int_equal(vx.vni, n->vni);
	assert_int_equal(vx.port, 4789);
	assert_true(ovn_ip_equal(&vx.local, &n->vtep));
	assert_int_equal(vx.learning, 0);
	assert_int_equal(vx.proxy, 1);
	assert_false(vx.has_group);
	assert_int_equal(vx.v6_gen_mode, IN6_ADDR_GEN_MODE_NONE);
	assert_int_equal(vx.master, br.ifindex);
	assert_int_equal(vx.mtu, n->mtu);
	assert_true(vx.flags & IFF_UP);
	assert_string_equal(br.kind, "bridge");
	assert_true(br.has_mac);
	assert_memory_equal(br.mac.b, n->bridge_mac.b, 6);
	assert_int_equal(br.mtu, n->mtu);
	assert_int_equal(br.stp_state, 0);
	assert_int_equal(br.fwd_delay, 0);
	assert_int_equal(br.mcast_snooping, 0);
	assert_true(br.flags & IFF_UP);
	assert_int_equal(v6_addrs(&hs, vx.ifindex, NULL, 0), 0);
}

static void test_network_ensure(void **state)
{
	char a[8][OVN_PREFIX_STRLEN];
	struct dp_network n;
	struct dp_lnk vx, br, vx2;

	NEED_ROOT();
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	check_network(&n);
	link_get(&hs, "vx-4097", &vx);
	link_get(&hs, "br-4097", &br);

	/* Twice: nothing is recreated. */
	OK(dp_network_ensure(dp, &n, &E));
	check_network(&n);
	link_get(&hs, "vx-4097", &vx2);
	assert_int_equal(vx2.ifindex, vx.ifindex);
	assert_int_equal(addrs_of(&hs, br.ifindex, a, 8), 2);
	assert_string_equal(a[0], "198.19.1.1/24");
	assert_string_equal(a[1], "fd00:1::1/64");

	/* Another gateway set: the extra goes, the new one comes. */
	n.gateways[1] = pfx_of("198.19.2.1/24");
	OK(dp_network_ensure(dp, &n, &E));
	assert_int_equal(addrs_of(&hs, br.ifindex, a, 8), 2);
	assert_string_equal(a[0], "198.19.1.1/24");
	assert_string_equal(a[1], "198.19.2.1/24");

	/* Drift: MTU and MAC are set in place, a new VTEP replaces vx-. */
	n.mtu = 1300;
	n.bridge_mac = mac_of("02:00:00:00:10:02");
	n.vtep = ip_of("198.18.0.9");
	OK(dp_network_ensure(dp, &n, &E));
	check_network(&n);
	link_get(&hs, "br-4097", &vx2);
	assert_int_equal(vx2.ifindex, br.ifindex);

	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	check_network(&n);
	assert_int_equal(addrs_of(&hs, br.ifindex, a, 8), 2);
	OK(dp_network_remove(dp, VNI, &E));
	assert_int_equal(link_get(&hs, "vx-4097", &vx), 0);
	assert_int_equal(link_get(&hs, "br-4097", &br), 0);
	OK(dp_network_remove(dp, VNI, &E));
}

/* A device ovn did not make: a bridge, or a vxlan with this VNI. */
static void link_foreign(const char *name, const char *kind, uint32_t vni)
{
	struct nl_batch *bt = malloc(sizeof(*bt));
	struct nlattr *li, *data;
	struct ifinfomsg *ifm;

	assert_non_null(bt);
	nl_batch_init(bt, &hs);
	ifm = nl_msg(bt, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifm), 0, NULL, NULL,
		     "create %s", name);
	assert_non_null(ifm);
	nl_put_str(bt, IFLA_IFNAME, name);
	li = nl_nest_start(bt, IFLA_LINKINFO);
	nl_put_str(bt, IFLA_INFO_KIND, kind);
	if (!strcmp(kind, "vxlan")) {
		data = nl_nest_start(bt, IFLA_INFO_DATA);
		nl_put_u32(bt, IFLA_VXLAN_ID, vni);
		nl_put_u16(bt, IFLA_VXLAN_PORT, htons(4789));
		nl_nest_end(bt, data);
	}
	nl_nest_end(bt, li);
	OK(nl_batch_run(bt, &E));
	free(bt);
}

/* Building never overflows: a full batch fails before anything is sent. */
static void test_batch_overflow(void **state)
{
	struct nl_sock sk = { 0 };
	struct nl_batch *b = malloc(sizeof(*b));
	char big[NL_BATCH_BUF];
	int i;

	assert_non_null(b);
	nl_batch_init(b, &sk);
	for (i = 0; i < NL_BATCH_MAX; i++)
		assert_non_null(nl_msg(b, RTM_GETLINK, 0, sizeof(struct ifinfomsg), 0, NULL, NULL,
				       "get %d", i));
	assert_null(nl_msg(b, RTM_GETLINK, 0, sizeof(struct ifinfomsg), 0, NULL, NULL, "one more"));
	ovn_err_clear(&E);
	assert_int_equal(nl_batch_run(b, &E), -EMSGSIZE);
	assert_non_null(strstr(E.msg, "too large"));

	/* An attribute larger than the room left: refused, batch marked. */
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	assert_non_null(nl_msg(b, RTM_GETLINK, 0, sizeof(struct ifinfomsg), 0, NULL, NULL, "big"));
	nl_put_u32(b, IFLA_MTU, 1500);
	nl_put_str(b, IFLA_IFNAME, big);
	assert_null(nl_nest_start(b, IFLA_LINKINFO));
	assert_int_equal(nl_batch_run(b, NULL), -EMSGSIZE);
	/* And the batch is usable again afterwards. */
	assert_non_null(nl_msg(b, RTM_GETLINK, 0, sizeof(struct ifinfomsg), 0, NULL, NULL, "ok"));
	assert_int_equal(b->err, 0);
	free(b);
}

static void test_network_bad(void **state)
{
	struct dp_network n;

	NEED_ROOT();
	net_init(&n, 0);
	assert_int_equal(dp_network_ensure(dp, &n, &E), -EINVAL);
	net_init(&n, DP_VNI_MAX + 1);
	assert_int_equal(dp_network_ensure(dp, &n, NULL), -EINVAL);
	net_init(&n, VNI);
	n.vtep.family = AF_UNIX;	/* not an address family of a VTEP */
	assert_int_equal(dp_network_ensure(dp, &n, NULL), -EINVAL);
	/* No VTEP at all is a single host: the vxlan has no local address. */
	net_init(&n, VNI);
	n.vtep.family = 0;
	OK(dp_network_ensure(dp, &n, &E));
	OK(dp_network_ensure(dp, &n, &E));	/* and is stable */
	OK(dp_network_remove(dp, VNI, &E));
	net_init(&n, VNI);
	n.n_gateways = DP_MAX_ADDRS + 1;
	assert_int_equal(dp_network_ensure(dp, &n, NULL), -EINVAL);

	/* The VNI is taken by a foreign vxlan: the kernel's extended-ack text
	 * reaches the caller with our label. */
	link_foreign("vxdup", "vxlan", VNI);
	net_init(&n, VNI);
	ovn_err_clear(&E);
	assert_int_equal(dp_network_ensure(dp, &n, &E), -EEXIST);
	print_message("expected error: %s\n", E.msg);
	assert_true(strstr(E.msg, "create vx-4097: File exists (") == E.msg);
	link_delete("vxdup");
	OK(dp_network_remove(dp, VNI, &E));
}

static void test_underlay_mtu(void **state)
{
	struct ovn_ip vtep = ip_of("198.18.0.1"), other = ip_of("198.18.7.7");
	struct ovn_ip gw = ip_of("198.18.1.254");
	struct nl_batch *b;
	struct dp_lnk l;
	uint32_t mtu = 0;

	NEED_ROOT();
	OK(dp_underlay_mtu(dp, &vtep, &mtu, &E));
	assert_int_equal(mtu, 1400);
	ovn_err_clear(&E);
	assert_int_equal(dp_underlay_mtu(dp, &other, &mtu, &E), -ENOENT);
	assert_true(strstr(E.msg, "no default route") != NULL);

	/* A default route via another device: its MTU. */
	underlay_pair("ul2", "ul3", 1450, "198.18.1.1/24");
	b = malloc(sizeof(*b));
	assert_non_null(b);
	nl_batch_init(b, &hs);
	route_default_msg(b, link_get(&hs, "ul2", &l), &gw);
	OK(nl_batch_run(b, &E));
	free(b);
	OK(dp_underlay_mtu(dp, &other, &mtu, &E));
	assert_int_equal(mtu, 1450);
	link_delete("ul2");
	assert_int_equal(dp_underlay_mtu(dp, &other, &mtu, NULL), -ENOENT);
}

/* ---- endpoints ----------------------------------------------------------- */

/* Only what ovn asked for: with IPv6 addresses, exactly the EUI-64
 * link-local of the MAC and those, none tentative; with none, no IPv6 at
 * all. Either way the kernel's own address generation is off. */
static void check_container_v6(struct nl_sock *cs, const struct dp_endpoint *ep,
			       const struct dp_lnk *l)
{
	struct a6 a[8];
	struct ovn_prefix ll = pfx_of("fe80::/64");
	int n, n6 = 0, found = 0;

	ll.ip.b[8] = ep->mac.b[0] ^ 0x02;
	ll.ip.b[9] = ep->mac.b[1];
	ll.ip.b[10] = ep->mac.b[2];
	ll.ip.b[11] = 0xff;
	ll.ip.b[12] = 0xfe;
	memcpy(ll.ip.b + 13, ep->mac.b + 3, 3);
	for (int i = 0; i < ep->n_addrs; i++)
		n6 += ep->addrs[i].ip.family == AF_INET6;
	assert_int_equal(l->v6_gen_mode, IN6_ADDR_GEN_MODE_NONE);
	n = v6_addrs(cs, l->ifindex, a, 8);
	assert_int_equal(n, n6 ? n6 + 1 : 0);
	for (int i = 0; i < n && i < 8; i++) {
		assert_false(a[i].flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
		if (a[i].p.len == 64 && ovn_ip_equal(&a[i].p.ip, &ll.ip))
			found |= 1;
		for (int k = 0; k < ep->n_addrs; k++) {
			if (a[i].p.len == ep->addrs[k].len &&
			    ovn_ip_equal(&a[i].p.ip, &ep->addrs[k].ip))
				found |= 2;
		}
	}
	if (n6)
		assert_int_equal(found, 3);
}

/* The container end as asked: name, MAC, MTU, up, addresses, routes. */
static void check_container(int netns, const struct dp_endpoint *ep)
{
	char a[8][OVN_PREFIX_STRLEN], want[2][OVN_PREFIX_STRLEN];
	struct nl_sock cs;
	struct dp_lnk l, lo;
	struct rts r;

	OK(ns_nl_open(netns, &cs, &E));
	assert_true(link_get(&cs, ep->ifname, &l));
	assert_string_equal(l.kind, "veth");
	assert_memory_equal(l.mac.b, ep->mac.b, 6);
	assert_int_equal(l.mtu, ep->mtu);
	assert_true(l.flags & IFF_UP);
	assert_true(link_get(&cs, "lo", &lo));
	assert_true(lo.flags & IFF_UP);
	assert_int_equal(addrs_of(&cs, l.ifindex, a, 8), 2);
	ovn_prefix_str(&ep->addrs[0], want[0]);
	ovn_prefix_str(&ep->addrs[1], want[1]);
	assert_string_equal(a[0], want[0]);
	assert_string_equal(a[1], want[1]);
	default_routes(&cs, AF_INET, &r);
	assert_int_equal(r.n, 1);
	assert_true(ovn_ip_equal(&r.v[0].gw, &ep->gw4));
	assert_int_equal(r.v[0].oif, l.ifindex);
	default_routes(&cs, AF_INET6, &r);
	assert_int_equal(r.n, 1);
	assert_true(ovn_ip_equal(&r.v[0].gw, &ep->gw6));
	assert_int_equal(r.v[0].oif, l.ifindex);
	check_container_v6(&cs, ep, &l);
	nl_close(&cs);
}

static void check_host_end(const struct dp_endpoint *ep, struct dp_lnk *h)
{
	struct dp_lnk br;

	assert_true(link_get(&hs, ep->host_ifname, h));
	link_get(&hs, "br-4097", &br);
	assert_string_equal(h->kind, "veth");
	assert_int_equal(h->master, br.ifindex);
	assert_int_equal(h->mtu, ep->mtu);
	assert_true(h->flags & IFF_UP);
	assert_int_equal(h->v6_gen_mode, IN6_ADDR_GEN_MODE_NONE);
	assert_int_equal(v6_addrs(&hs, h->ifindex, NULL, 0), 0);
}

static void test_attach(void **state)
{
	struct dp_endpoint a, b, c, a2;
	struct dp_network n;
	struct dp_lnk h1, h2;
	struct nl_sock cs;
	int c1, nlinks;

	NEED_ROOT();
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	c1 = netns_new();

	ep_init(&a, "ve-aaaa", 2);
	OK(dp_endpoint_attach(dp, c1, &a, &E));
	assert_string_equal(a.ifname, "eth0");
	check_container(c1, &a);
	check_host_end(&a, &h1);

	/* Again, with the name now filled in, and with "" again: unchanged. */
	OK(dp_endpoint_attach(dp, c1, &a, &E));
	check_host_end(&a, &h2);
	assert_int_equal(h2.ifindex, h1.ifindex);
	a2 = a;
	a2.ifname[0] = '\0';
	OK(dp_endpoint_attach(dp, c1, &a2, &E));
	assert_string_equal(a2.ifname, "eth0");
	check_host_end(&a, &h2);
	assert_int_equal(h2.ifindex, h1.ifindex);

	/* A second endpoint gets eth1. */
	ep_init(&b, "ve-bbbb", 3);
	b.gw4.family = b.gw6.family = 0;
	OK(dp_endpoint_attach(dp, c1, &b, &E));
	assert_string_equal(b.ifname, "eth1");

	/* A drifted pair (another MTU asked) is made anew, same name. */
	a.mtu = 1300;
	OK(dp_endpoint_attach(dp, c1, &a, &E));
	check_host_end(&a, &h2);
	assert_int_not_equal(h2.ifindex, h1.ifindex);
	assert_string_equal(a.ifname, "eth0");
	check_container(c1, &a);

	/* The asked name is taken by a device that is not ours: -EEXIST, and
	 * nothing is left behind. */
	OK(ns_nl_open(c1, &cs, &E));
	nlinks = link_count(&cs);
	ep_init(&c, "ve-cccc", 4);
	snprintf(c.ifname, sizeof(c.ifname), "eth1");
	ovn_err_clear(&E);
	assert_int_equal(dp_endpoint_attach(dp, c1, &c, &E), -EEXIST);
	assert_true(strstr(E.msg, "ve-cccc") != NULL);
	assert_int_equal(link_get(&hs, "ve-cccc", &h2), 0);
	assert_int_equal(link_count(&cs), nlinks);

	/* Detach removes both ends; absent is fine; a non-veth is refused. */
	OK(dp_endpoint_detach(dp, "ve-aaaa", &E));
	assert_int_equal(link_get(&hs, "ve-aaaa", &h2), 0);
	assert_int_equal(link_get(&cs, "eth0", &h2), 0);
	OK(dp_endpoint_detach(dp, "ve-aaaa", &E));
	assert_int_equal(dp_endpoint_detach(dp, "br-4097", NULL), -EINVAL);
	assert_int_equal(dp_endpoint_detach(dp, "lo", NULL), -EINVAL);
	assert_true(link_get(&hs, "br-4097", &h2));
	OK(dp_endpoint_detach(dp, "ve-bbbb", &E));
	assert_int_equal(link_count(&cs), nlinks - 2);	/* lo only */
	nl_close(&cs);
	close(c1);
	OK(dp_network_remove(dp, VNI, &E));
}

/* The link-local address ovn writes: RFC 4291 appendix A, by table. */
static void test_ll_of_mac(void **state)
{
	static const struct {
		const char *mac, *ll;
	} v[] = {
		{ "02:42:c6:13:01:02", "fe80::42:c6ff:fe13:102/64" },
		{ "00:00:00:00:00:01", "fe80::200:ff:fe00:1/64" },
		{ "fe:ff:ff:ff:ff:ff", "fe80::fcff:ffff:feff:ffff/64" },
		{ "02:00:00:00:00:00", "fe80::ff:fe00:0/64" },
	};
	char buf[OVN_PREFIX_STRLEN];
	struct ovn_prefix p;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct ovn_mac m = mac_of(v[i].mac);

		addr_ll_of_mac(&p, &m);
		assert_string_equal(ovn_prefix_str(&p, buf), v[i].ll);
	}
}

static void test_attach_bad_netns(void **state)
{
	struct dp_endpoint ep;
	struct dp_network n;
	int before, cbefore, fd;
	struct nl_sock cs;
	struct dp_lnk l;

	NEED_ROOT();
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	before = link_count(&hs);
	ep_init(&ep, "ve-bad", 5);

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(dp_endpoint_attach(dp, fd, &ep, &E) < 0);
	close(fd);
	fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(dp_endpoint_attach(dp, fd, &ep, NULL) < 0);
	close(fd);
	assert_int_equal(dp_endpoint_attach(dp, -1, &ep, NULL) < 0, 1);
	assert_int_equal(link_get(&hs, "ve-bad", &l), 0);
	assert_int_equal(link_count(&hs), before);

	/* Failing after the pair exists (a gateway outside the subnet cannot
	 * be routed to): the pair goes again, in both namespaces. */
	fd = netns_new();
	OK(ns_nl_open(fd, &cs, &E));
	cbefore = link_count(&cs);
	ep.gw4 = ip_of("198.19.9.1");
	ovn_err_clear(&E);
	assert_true(dp_endpoint_attach(dp, fd, &ep, &E) < 0);
	print_message("expected error: %s\n", E.msg);
	assert_int_equal(link_get(&hs, "ve-bad", &l), 0);
	assert_int_equal(link_count(&hs), before);
	assert_int_equal(link_count(&cs), cbefore);
	nl_close(&cs);
	ep.gw4 = ip_of("198.19.1.1");

	/* No network: -ENODEV, nothing made. */
	ep.vni = 4098;
	assert_int_equal(dp_endpoint_attach(dp, fd, &ep, NULL), -ENODEV);
	assert_int_equal(link_count(&hs), before);
	close(fd);
	OK(dp_network_remove(dp, VNI, &E));
}

static void test_netns_open(void **state)
{
	char path[64];
	int fd;

	NEED_ROOT();
	snprintf(path, sizeof(path), "/proc/%d/ns/net", getpid());
	fd = dp_netns_open(path, &E);
	assert_true(fd >= 0);
	close(fd);
	fd = dp_netns_open_pid(getpid(), &E);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(dp_netns_open("/proc/self/ns/uts", NULL), -EINVAL);
	assert_int_equal(dp_netns_open("/dev/null", NULL), -EINVAL);
	assert_int_equal(dp_netns_open("../etc", NULL), -EINVAL);
	assert_int_equal(dp_netns_open("", NULL), -EINVAL);
	assert_int_equal(dp_netns_open("ovn-no-such-ns", NULL), -ENOENT);
	assert_int_equal(dp_netns_open_pid(0, NULL), -EINVAL);
}

/* ---- traffic ------------------------------------------------------------- */

static void sa_of(struct sockaddr_storage *ss, socklen_t *len, const struct ovn_ip *ip,
		  uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip->b, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip->b, 16);
		*len = sizeof(*s6);
	}
}

/* A datagram from namespace from to dst (bound in namespace to; -1 =
 * host) arrives. Resent a few times: the first may wait on ARP/ND. */
static void udp_check(int from, int to, const struct ovn_ip *dst)
{
	int tx = udp_in(from, dst->family), rx = udp_in(to, dst->family);
	struct sockaddr_storage ss;
	struct pollfd pfd = { .fd = rx, .events = POLLIN };
	char buf[16] = { 0 };
	socklen_t len;
	int i;

	sa_of(&ss, &len, dst, 7777);
	assert_int_equal(bind(rx, (struct sockaddr *)&ss, len), 0);
	for (i = 0; i < 20; i++) {
		assert_int_equal(sendto(tx, "hello", 5, 0, (struct sockaddr *)&ss, len), 5);
		if (poll(&pfd, 1, 100) == 1)
			break;
	}
	assert_true(i < 20);
	assert_int_equal(recv(rx, buf, sizeof(buf), 0), 5);
	assert_string_equal(buf, "hello");
	close(tx);
	close(rx);
}

static void test_traffic(void **state)
{
	struct dp_endpoint a, b;
	struct dp_network n;
	int c1, c2;

	NEED_ROOT();
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	c1 = netns_new();
	c2 = netns_new();
	ep_init(&a, "ve-t1", 10);
	ep_init(&b, "ve-t2", 11);
	OK(dp_endpoint_attach(dp, c1, &a, &E));
	OK(dp_endpoint_attach(dp, c2, &b, &E));
	udp_check(c1, c2, &b.addrs[0].ip);
	udp_check(c1, c2, &b.addrs[1].ip);
	udp_check(c2, c1, &a.addrs[1].ip);
	udp_check(c1, -1, &n.gateways[0].ip);
	udp_check(c2, -1, &n.gateways[1].ip);
	OK(dp_network_remove(dp, VNI, &E));
	close(c1);
	close(c2);
}

/* IPv4 only: the container end has no IPv6 address at all, not even a
 * link-local one, and IPv4 still flows to a neighbour and the gateway. */
static void test_attach_v4only(void **state)
{
	struct dp_endpoint a, b;
	struct dp_network n;
	struct nl_sock cs;
	struct dp_lnk l, h;
	int c1, c2;

	NEED_ROOT();
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	c1 = netns_new();
	c2 = netns_new();
	ep_init(&a, "ve-v4a", 20);
	ep_init(&b, "ve-v4b", 21);
	a.n_addrs = b.n_addrs = 1;
	a.gw6.family = b.gw6.family = 0;
	OK(dp_endpoint_attach(dp, c1, &a, &E));
	OK(dp_endpoint_attach(dp, c2, &b, &E));
	check_host_end(&a, &h);
	OK(ns_nl_open(c1, &cs, &E));
	assert_true(link_get(&cs, a.ifname, &l));
	assert_true(l.flags & IFF_UP);
	check_container_v6(&cs, &a, &l);
	assert_int_equal(v6_addrs(&cs, l.ifindex, NULL, 0), 0);
	nl_close(&cs);
	udp_check(c1, c2, &b.addrs[0].ip);
	udp_check(c2, -1, &n.gateways[0].ip);
	OK(dp_network_remove(dp, VNI, &E));
	close(c1);
	close(c2);
}

struct dp_job {
	int netns;
	struct dp *dp;
};

static void *dp_thread(void *arg)
{
	struct dp_job *j = arg;

	if (setns(j->netns, CLONE_NEWNET) == 0)
		dp_open(&j->dp, NULL);
	return NULL;
}

/* A struct dp working in namespace netns (its socket stays there). */
static struct dp *dp_in(int netns)
{
	struct dp_job j = { netns, NULL };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, dp_thread, &j), 0);
	pthread_join(t, NULL);
	assert_non_null(j.dp);
	return j.dp;
}

/* Underlay between the host (198.18.2.1) and host B (198.18.2.2): a veth
 * whose far end is created inside B, then addressed and set up from there. */
static void underlay_to(int netns_b)
{
	struct ovn_prefix pa = pfx_of("198.18.2.1/24"), pb = pfx_of("198.18.2.2/24");
	struct nl_batch *bt = malloc(sizeof(*bt));
	struct nlattr *li, *data, *peer;
	struct ifinfomsg *ifm;
	struct nl_sock bs;
	struct dp_lnk l;

	assert_non_null(bt);
	nl_batch_init(bt, &hs);
	ifm = nl_msg(bt, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifm), 0, NULL, NULL,
		     "create ulb0");
	assert_non_null(ifm);
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	nl_put_str(bt, IFLA_IFNAME, "ulb0");
	li = nl_nest_start(bt, IFLA_LINKINFO);
	nl_put_str(bt, IFLA_INFO_KIND, "veth");
	data = nl_nest_start(bt, IFLA_INFO_DATA);
	peer = nl_nest_start(bt, VETH_INFO_PEER);
	nl_reserve(bt, sizeof(struct ifinfomsg));
	nl_put_str(bt, IFLA_IFNAME, "ulb1");
	nl_put_u32(bt, IFLA_NET_NS_FD, (uint32_t)netns_b);
	nl_nest_end(bt, peer);
	nl_nest_end(bt, data);
	nl_nest_end(bt, li);
	lnk_get_msg(bt, "ulb0", 0, &l);
	OK(nl_batch_run(bt, &E));
	addr_add_msg(bt, l.ifindex, &pa);
	OK(nl_batch_run(bt, &E));

	OK(ns_nl_open(netns_b, &bs, &E));
	nl_batch_init(bt, &bs);
	lnk_up_msg(bt, 0, "ulb1", 0);
	lnk_get_msg(bt, "ulb1", 0, &l);
	OK(nl_batch_run(bt, &E));
	addr_add_msg(bt, l.ifindex, &pb);
	OK(nl_batch_run(bt, &E));
	nl_close(&bs);
	free(bt);
}

static struct dp_peer peer_of(const struct dp_endpoint *ep, int addr, const char *vtep)
{
	struct dp_peer p = { .mac = ep->mac, .ip = ep->addrs[addr].ip };

	p.vtep = ip_of(vtep);
	return p;
}

/* Two hosts, one container each, across VxLAN: ARP/ND answered by the
 * proxies from the peer entries, frames sent by the FDB entries. */
static void test_traffic_vxlan(void **state)
{
	struct ovn_ip va = ip_of("198.18.2.1"), vb = ip_of("198.18.2.2");
	struct dp_endpoint a, b;
	struct dp_network n;
	struct dp_peer p;
	struct dp *dpb;
	int hb, c1, c2;

	NEED_ROOT();
	hb = netns_new();
	underlay_to(hb);
	dpb = dp_in(hb);
	net_init(&n, VNI);
	n.vtep = va;
	OK(dp_network_ensure(dp, &n, &E));
	n.vtep = vb;
	OK(dp_network_ensure(dpb, &n, &E));
	c1 = netns_new();
	c2 = netns_new();
	ep_init(&a, "ve-x1", 40);
	ep_init(&b, "ve-x2", 41);
	OK(dp_endpoint_attach(dp, c1, &a, &E));
	OK(dp_endpoint_attach(dpb, c2, &b, &E));
	for (int i = 0; i < 2; i++) {
		p = peer_of(&b, i, "198.18.2.2");
		OK(dp_peer_add(dp, VNI, &p, &E));
		p = peer_of(&a, i, "198.18.2.1");
		OK(dp_peer_add(dpb, VNI, &p, &E));
	}
	OK(dp_flood_add(dp, VNI, &vb, &E));
	OK(dp_flood_add(dpb, VNI, &va, &E));
	udp_check(c1, c2, &b.addrs[0].ip);
	udp_check(c2, c1, &a.addrs[0].ip);
	udp_check(c1, c2, &b.addrs[1].ip);
	udp_check(c2, c1, &a.addrs[1].ip);

	OK(dp_network_remove(dpb, VNI, &E));
	OK(dp_network_remove(dp, VNI, &E));
	dp_close(dpb);
	link_delete("ulb0");
	close(c1);
	close(c2);
	close(hb);
}

/* ---- peers --------------------------------------------------------------- */

static void test_peers(void **state)
{
	struct dp_peer p = { 0 }, p6 = { 0 };
	struct ovn_ip v2 = ip_of("198.18.0.2"), v3 = ip_of("198.18.0.3");
	struct dp_network n;
	struct dp_lnk vx;
	struct nbs f, nb;
	int i;

	NEED_ROOT();
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	link_get(&hs, "vx-4097", &vx);
	p.mac = mac_of("02:42:c6:13:01:63");
	p.ip = ip_of("198.19.1.99");
	p.vtep = v2;
	p6 = p;
	p6.ip = ip_of("fd00:1::99");
	OK(dp_peer_add(dp, VNI, &p, &E));
	OK(dp_peer_add(dp, VNI, &p, &E));
	OK(dp_peer_add(dp, VNI, &p6, &E));
	OK(dp_flood_add(dp, VNI, &v2, &E));
	OK(dp_flood_add(dp, VNI, &v2, &E));
	OK(dp_flood_add(dp, VNI, &v3, &E));

	neigh_dump(AF_BRIDGE, vx.ifindex, &f);
	i = nb_find(&f, "02:42:c6:13:01:63", "198.18.0.2", NTF_SELF);
	assert_true(i >= 0);
	assert_int_equal(f.v[i].state & (NUD_PERMANENT | NUD_NOARP), NUD_PERMANENT | NUD_NOARP);
	assert_true(nb_find_zero(&f, "198.18.0.2") >= 0);
	assert_true(nb_find_zero(&f, "198.18.0.3") >= 0);
	neigh_dump(AF_INET, vx.ifindex, &nb);
	assert_int_equal(nb.n, 1);
	assert_true(ovn_ip_equal(&nb.v[0].dst, &p.ip));
	assert_memory_equal(nb.v[0].mac.b, p.mac.b, 6);
	assert_true(nb.v[0].state & NUD_PERMANENT);
	neigh_dump(AF_INET6, vx.ifindex, &nb);
	assert_true(nb_find(&nb, "02:42:c6:13:01:63", "fd00:1::99", 0) >= 0);

	/* Moved to .3: a late delete for .2 leaves the new entries alone. */
	p.vtep = v3;
	OK(dp_peer_add(dp, VNI, &p, &E));
	p.vtep = v2;
	OK(dp_peer_del(dp, VNI, &p, &E));
	neigh_dump(AF_BRIDGE, vx.ifindex, &f);
	assert_true(nb_find(&f, "02:42:c6:13:01:63", "198.18.0.3", NTF_SELF) >= 0);
	neigh_dump(AF_INET, vx.ifindex, &nb);
	assert_int_equal(nb.n, 1);

	p.vtep = v3;
	p6.vtep = v3;
	OK(dp_peer_del(dp, VNI, &p, &E));
	OK(dp_peer_del(dp, VNI, &p6, &E));
	OK(dp_peer_del(dp, VNI, &p, &E));
	neigh_dump(AF_BRIDGE, vx.ifindex, &f);
	assert_int_equal(nb_find(&f, "02:42:c6:13:01:63", NULL, NTF_SELF), -1);
	neigh_dump(AF_INET, vx.ifindex, &nb);
	assert_int_equal(nb.n, 0);
	neigh_dump(AF_INET6, vx.ifindex, &nb);
	assert_int_equal(nb_find(&nb, "02:42:c6:13:01:63", NULL, 0), -1);

	OK(dp_flood_del(dp, VNI, &v2, &E));
	OK(dp_flood_del(dp, VNI, &v2, &E));
	neigh_dump(AF_BRIDGE, vx.ifindex, &f);
	assert_int_equal(nb_find_zero(&f, "198.18.0.2"), -1);
	assert_true(nb_find_zero(&f, "198.18.0.3") >= 0);

	/* No such network: adds fail with -ENODEV, deletes succeed. */
	assert_int_equal(dp_peer_add(dp, 4098, &p, NULL), -ENODEV);
	assert_int_equal(dp_flood_add(dp, 4098, &v2, NULL), -ENODEV);
	OK(dp_peer_del(dp, 4098, &p, &E));
	OK(dp_flood_del(dp, 4098, &v2, &E));
	OK(dp_network_remove(dp, VNI, &E));
}

/* ---- dump, remove -------------------------------------------------------- */

struct seen {
	int n;
	struct dp_link v[8];
};

static int seen_add(const struct dp_link *l, void *arg)
{
	struct seen *s = arg;

	if (s->n == 8)
		return -E2BIG;
	s->v[s->n++] = *l;
	return 0;
}

static int stop_at_first(const struct dp_link *l, void *arg)
{
	(*(int *)arg)++;
	return 42;
}

static const struct dp_link *seen_find(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

struct entries {
	int fdb, flood, neigh4, neigh6;
};

static int count_entry(const struct dp_entry *e, void *arg)
{
	static const struct ovn_mac zero;
	struct entries *c = arg;

	if (e->kind == DP_ENTRY_FDB)
		!memcmp(e->mac.b, zero.b, 6) ? c->flood++ : c->fdb++;
	else
		e->ip.family == AF_INET ? c->neigh4++ : c->neigh6++;
	return 0;
}

/* dp_entry_dump reports exactly the peer, flood and neighbour entries of
 * vx-<vni>, and dp_entry_del removes exactly one. */
static void test_entry_dump(void **state)
{
	struct dp_peer p = { 0 };
	struct dp_entry d = { 0 };
	struct ovn_ip v2 = ip_of("198.18.0.2");
	struct dp_network n;
	struct entries c = { 0 };

	NEED_ROOT();
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	p.mac = mac_of("02:42:c6:13:01:64");
	p.ip = ip_of("198.19.1.100");
	p.vtep = v2;
	OK(dp_peer_add(dp, VNI, &p, &E));
	p.ip = ip_of("fd00:1::100");
	OK(dp_peer_add(dp, VNI, &p, &E));
	OK(dp_flood_add(dp, VNI, &v2, &E));
	OK(dp_entry_dump(dp, VNI, count_entry, &c, &E));
	assert_int_equal(c.fdb, 1);
	assert_int_equal(c.flood, 1);
	assert_int_equal(c.neigh4, 1);
	assert_int_equal(c.neigh6, 1);
	d.kind = DP_ENTRY_NEIGH;
	d.mac = p.mac;
	d.ip = ip_of("198.19.1.100");
	OK(dp_entry_del(dp, VNI, &d, &E));
	OK(dp_entry_del(dp, VNI, &d, &E));	/* absent is fine */
	d.kind = DP_ENTRY_FDB;
	d.vtep = v2;
	OK(dp_entry_del(dp, VNI, &d, &E));
	memset(&c, 0, sizeof(c));
	OK(dp_entry_dump(dp, VNI, count_entry, &c, &E));
	assert_int_equal(c.fdb, 0);
	assert_int_equal(c.flood, 1);
	assert_int_equal(c.neigh4, 0);
	assert_int_equal(c.neigh6, 1);
	OK(dp_network_remove(dp, VNI, &E));
	memset(&c, 0, sizeof(c));
	OK(dp_entry_dump(dp, VNI, count_entry, &c, &E));	/* no vx-: nothing */
	assert_int_equal(c.fdb + c.flood + c.neigh4 + c.neigh6, 0);
}

static void test_link_dump_and_remove(void **state)
{
	struct dp_endpoint a, b;
	struct dp_network n;
	struct seen s = { 0 };
	const struct dp_link *l;
	struct nl_sock cs;
	int c1, calls = 0, before, cbefore;
	struct dp_lnk br;

	NEED_ROOT();
	before = link_count(&hs);
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	c1 = netns_new();
	OK(ns_nl_open(c1, &cs, &E));
	cbefore = link_count(&cs);
	ep_init(&a, "ve-d1", 20);
	ep_init(&b, "ve-d2", 21);
	OK(dp_endpoint_attach(dp, c1, &a, &E));
	OK(dp_endpoint_attach(dp, c1, &b, &E));
	link_get(&hs, "br-4097", &br);

	/* Not ours: names that are not a decimal VNI, or the wrong kind. */
	link_foreign("br-abc", "bridge", 0);
	link_foreign("br-0123", "bridge", 0);
	link_foreign("br-16777216", "bridge", 0);
	link_foreign("vx-5", "bridge", 0);
	OK(dp_link_dump(dp, seen_add, &s, &E));
	link_delete("br-abc");
	link_delete("br-0123");
	link_delete("br-16777216");
	link_delete("vx-5");
	assert_int_equal(s.n, 4);
	l = seen_find(&s, "vx-4097");
	assert_non_null(l);
	assert_int_equal(l->kind, DP_LINK_VXLAN);
	assert_int_equal(l->vni, VNI);
	assert_int_equal(l->master, br.ifindex);
	l = seen_find(&s, "br-4097");
	assert_non_null(l);
	assert_int_equal(l->kind, DP_LINK_BRIDGE);
	assert_int_equal(l->ifindex, br.ifindex);
	assert_int_equal(l->master, 0);
	l = seen_find(&s, "ve-d1");
	assert_non_null(l);
	assert_int_equal(l->kind, DP_LINK_VETH);
	assert_int_equal(l->master, br.ifindex);
	assert_int_equal(l->vni, VNI);
	assert_non_null(seen_find(&s, "ve-d2"));
	assert_int_equal(dp_link_dump(dp, stop_at_first, &calls, NULL), 42);
	assert_int_equal(calls, 1);

	OK(dp_network_remove(dp, VNI, &E));
	assert_int_equal(link_count(&hs), before);
	assert_int_equal(link_count(&cs), cbefore);
	s.n = 0;
	OK(dp_link_dump(dp, seen_add, &s, &E));
	assert_int_equal(s.n, 0);
	OK(dp_network_remove(dp, VNI, &E));
	nl_close(&cs);
	close(c1);
}

/* ---- many ---------------------------------------------------------------- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void test_attach_detach_loop(void **state)
{
	double t_att = 0, t_det = 0, t0;
	struct dp_endpoint ep;
	struct dp_network n;
	struct nl_sock cs;
	int c1, hb, cb;
	const int rounds = 200;

	NEED_ROOT();
	net_init(&n, VNI);
	OK(dp_network_ensure(dp, &n, &E));
	c1 = netns_new();
	OK(ns_nl_open(c1, &cs, &E));
	hb = link_count(&hs);
	cb = link_count(&cs);
	for (int i = 0; i < rounds; i++) {
		ep_init(&ep, "ve-loop", 30);
		t0 = now_us();
		OK(dp_endpoint_attach(dp, c1, &ep, &E));
		t_att += now_us() - t0;
		t0 = now_us();
		OK(dp_endpoint_detach(dp, "ve-loop", &E));
		t_det += now_us() - t0;
	}
	assert_int_equal(link_count(&hs), hb);
	assert_int_equal(link_count(&cs), cb);
	print_message("attach+detach x%d: attach %.0f us, detach %.0f us mean\n", rounds,
		      t_att / rounds, t_det / rounds);
	nl_close(&cs);
	close(c1);
	OK(dp_network_remove(dp, VNI, &E));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_overflow),
		cmocka_unit_test(test_netns_open),
		cmocka_unit_test(test_network_bad),
		cmocka_unit_test(test_network_ensure),
		cmocka_unit_test(test_underlay_mtu),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_ll_of_mac),
		cmocka_unit_test(test_attach_bad_netns),
		cmocka_unit_test(test_traffic),
		cmocka_unit_test(test_attach_v4only),
		cmocka_unit_test(test_traffic_vxlan),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_entry_dump),
		cmocka_unit_test(test_link_dump_and_remove),
		cmocka_unit_test(test_attach_detach_loop),
	};

	/* A namespace of our own before anything else: all we make dies with
	 * the process. Without root (or unshare), every test skips. */
	root = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
