/* xfrm.c: IPsec ESP states and policies for encrypted networks, over
 * NETLINK_XFRM (the same batches and dumps as rtnetlink, see nl.c).
 *
 * What ovn installs between its VTEP L and a remote VTEP R (all IPv4):
 *   state  L->R  ESP transport, rfc4106(gcm(aes)) 256-bit key + salt, ICV 16
 *   state  R->L  the same for the other direction (its own key and SPI)
 *   policy out  L->R  UDP dport 4790  tmpl ESP transport reqid "ovn"
 *   policy in   R->L  UDP dport 4790  tmpl ESP transport reqid "ovn"
 * and once per host, whatever the peers:
 *   policy out  L->any UDP dport 4790  block
 *   policy in   any->L UDP dport 4790  block
 * The per-pair policies have the lower priority number, so they win for a
 * known peer; everything else on port 4790 is dropped. An out policy whose
 * state is missing also drops (the kernel finds no SA), so VxLAN of an
 * encrypted network never leaves or enters the host in clear.
 *
 * States have an all-zero selector (match any flow the policy hands them)
 * and no lifetime limits: rotation (agent/ipsec.c) replaces them long
 * before the 2^32 sequence numbers of a 32-bit ESP counter run out at any
 * rate this VM reaches. Inbound states keep a 32-packet replay window.
 *
 * Ownership: states carry reqid DP_XFRM_REQID; policies carry one of ovn's
 * two priorities and select UDP dport 4790, so the dumps return only ovn's
 * objects and reconciliation never touches an IKE daemon's.
 *
 * Does not: IPv6 VTEPs, ESN, NAT traversal, tunnel mode, offload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "util.h"

#define XFRM_AEAD_NAME	"rfc4106(gcm(aes))"
#define XFRM_ICV_BITS	128
#define XFRM_REPLAY	32
#define XFRM_PROBE_SPI	255

struct aead_buf {
	struct xfrm_algo_aead a;
	unsigned char key[DP_SA_KEY_LEN];
};

static void lft_inf(struct xfrm_lifetime_cfg *l)
{
	l->soft_byte_limit = XFRM_INF;
	l->hard_byte_limit = XFRM_INF;
	l->soft_packet_limit = XFRM_INF;
	l->hard_packet_limit = XFRM_INF;
}

static void addr_put(xfrm_address_t *x, const struct ovn_ip *ip)
{
	memset(x, 0, sizeof(*x));
	if (ip->family == AF_INET)
		memcpy(&x->a4, ip->b, 4);
}

static void addr_get(struct ovn_ip *ip, const xfrm_address_t *x)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = AF_INET;
	memcpy(ip->b, &x->a4, 4);
}

static int xs_check(struct dp *dp, struct ovn_err *err)
{
	if (dp->xs.mnl)
		return 0;
	return ovn_err_set(err, dp->xs_err ? dp->xs_err : -EPROTONOSUPPORT,
			   "xfrm: no NETLINK_XFRM socket (kernel without CONFIG_XFRM_USER?)");
}

static int sa_check(const struct dp_sa *sa, struct ovn_err *err)
{
	if (sa->src.family != AF_INET || sa->dst.family != AF_INET)
		return ovn_err_set(err, -EAFNOSUPPORT, "xfrm: state needs IPv4 VTEPs");
	return 0;
}

/* ---- states ------------------------------------------------------------ */

/* The family headers of XFRM hold 64-bit fields, but a message inside a
 * batch or a dump is only 4-byte aligned: they are built and read in a
 * local copy, never in place. */

void xfrm_sa_add_msg(struct nl_batch *b, const struct dp_sa *sa)
{
	struct xfrm_usersa_info xs;
	struct aead_buf ab;
	char s[OVN_IP_STRLEN];
	void *hdr;

	hdr = nl_msg(b, XFRM_MSG_NEWSA, 0, sizeof(xs), NL_OK_EXIST, NULL, NULL,
		     "xfrm state spi 0x%x to %s", sa->spi, ovn_ip_str(&sa->dst, s));
	if (!hdr)
		return;
	memset(&xs, 0, sizeof(xs));
	addr_put(&xs.id.daddr, &sa->dst);
	addr_put(&xs.saddr, &sa->src);
	xs.id.spi = htonl(sa->spi);
	xs.id.proto = IPPROTO_ESP;
	xs.family = AF_INET;
	xs.mode = XFRM_MODE_TRANSPORT;
	xs.reqid = DP_XFRM_REQID;
	xs.replay_window = XFRM_REPLAY;
	lft_inf(&xs.lft);
	memcpy(hdr, &xs, sizeof(xs));

	memset(&ab, 0, sizeof(ab));
	strcpy(ab.a.alg_name, XFRM_AEAD_NAME);
	ab.a.alg_key_len = DP_SA_KEY_LEN * 8;
	ab.a.alg_icv_len = XFRM_ICV_BITS;
	memcpy(ab.key, sa->key, DP_SA_KEY_LEN);
	nl_put(b, XFRMA_ALG_AEAD, sizeof(ab), &ab);
	/* The key stays in the batch buffer until the next message overwrites
	 * it; the agent's own memory is root-only either way. */
	explicit_bzero(&ab, sizeof(ab));
}

void xfrm_sa_del_msg(struct nl_batch *b, const struct dp_sa *sa)
{
	struct xfrm_usersa_id id;
	char s[OVN_IP_STRLEN];
	void *hdr;

	hdr = nl_msg(b, XFRM_MSG_DELSA, 0, sizeof(id), NL_OK_NOENT, NULL, NULL,
		     "delete xfrm state spi 0x%x to %s", sa->spi, ovn_ip_str(&sa->dst, s));
	if (!hdr)
		return;
	memset(&id, 0, sizeof(id));
	addr_put(&id.daddr, &sa->dst);
	id.spi = htonl(sa->spi);
	id.family = AF_INET;
	id.proto = IPPROTO_ESP;
	memcpy(hdr, &id, sizeof(id));
}

int xfrm_sa_parse(const struct nlmsghdr *nlh, struct dp_sa *sa)
{
	struct xfrm_usersa_info xs;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA || mnl_nlmsg_get_payload_len(nlh) < sizeof(xs))
		return -EINVAL;
	memcpy(&xs, mnl_nlmsg_get_payload(nlh), sizeof(xs));
	if (xs.reqid != DP_XFRM_REQID || xs.id.proto != IPPROTO_ESP || xs.family != AF_INET)
		return 0;
	memset(sa, 0, sizeof(*sa));
	addr_get(&sa->src, &xs.saddr);
	addr_get(&sa->dst, &xs.id.daddr);
	sa->spi = ntohl(xs.id.spi);
	return 1;
}

static int run_one(struct dp *dp, void (*build)(struct nl_batch *, const void *), const void *obj,
		   struct ovn_err *err)
{
	struct nl_batch *b;
	int ret;

	ret = xs_check(dp, err);
	if (ret)
		return ret;
	/* A batch is 16 KiB: too big for the stack of a libuv callback chain. */
	b = malloc(sizeof(*b));
	if (!b)
		return ovn_err_set(err, -ENOMEM, "xfrm: out of memory");
	nl_batch_init(b, &dp->xs);
	build(b, obj);
	ret = nl_batch_run(b, err);
	explicit_bzero(b->buf, sizeof(b->buf));
	free(b);
	return ret;
}

static void sa_add_b(struct nl_batch *b, const void *o)
{
	xfrm_sa_add_msg(b, o);
}

static void sa_del_b(struct nl_batch *b, const void *o)
{
	xfrm_sa_del_msg(b, o);
}

int dp_sa_add(struct dp *dp, const struct dp_sa *sa, struct ovn_err *err)
{
	int ret = sa_check(sa, err);

	return ret ? ret : run_one(dp, sa_add_b, sa, err);
}

int dp_sa_del(struct dp *dp, const struct dp_sa *sa, struct ovn_err *err)
{
	int ret = sa_check(sa, err);

	return ret ? ret : run_one(dp, sa_del_b, sa, err);
}

int dp_xfrm_probe(struct dp *dp, struct ovn_err *err)
{
	struct dp_sa sa = { .spi = XFRM_PROBE_SPI };
	struct ovn_err e2 = { 0 };
	int ret;

	ovn_ip_parse(&sa.src, "127.0.0.1");
	sa.dst = sa.src;
	ret = dp_sa_add(dp, &sa, &e2);
	if (ret)
		return ovn_err_set(err, ret, "this kernel cannot do IPsec ESP with AES-GCM "
				   "(needs CONFIG_INET_ESP and CONFIG_CRYPTO_GCM): %s", e2.msg);
	/* Left behind only by a crash in between: reconcile deletes every ovn
	 * state it does not want, this one included. */
	return dp_sa_del(dp, &sa, err);
}

struct sa_list {
	struct dp_sa *v;
	int n, cap;
};

static int sa_collect(const struct nlmsghdr *nlh, void *arg)
{
	struct sa_list *l = arg;
	struct dp_sa sa;
	int r = xfrm_sa_parse(nlh, &sa);

	if (r <= 0)
		return 0;	/* another's state, or one the kernel garbled: skip */
	if (dp_grow((void **)&l->v, l->n, &l->cap, sizeof(*l->v)))
		return -ENOMEM;
	l->v[l->n++] = sa;
	return 0;
}

static void sa_reset(void *arg)
{
	((struct sa_list *)arg)->n = 0;
}

int dp_sa_dump(struct dp *dp, int (*fn)(const struct dp_sa *sa, void *arg), void *arg,
	       struct ovn_err *err)
{
	struct sa_list l = { 0 };
	int ret;

	ret = xs_check(dp, err);
	if (ret)
		return ret;
	ret = nl_dump(&dp->xs, XFRM_MSG_GETSA, &l, 0, sa_collect, sa_reset, &l, err);
	for (int i = 0; !ret && i < l.n; i++)
		ret = fn(&l.v[i], arg);
	free(l.v);
	return ret;
}

/* ---- policies ---------------------------------------------------------- */

static bool pol_block(enum dp_pol_kind k)
{
	return k == DP_POL_BLOCK_OUT || k == DP_POL_BLOCK_IN;
}

static bool pol_out(enum dp_pol_kind k)
{
	return k == DP_POL_OUT || k == DP_POL_BLOCK_OUT;
}

/* UDP dport 4790 from local to remote (out) or remote to local (in); a
 * BLOCK kind leaves the far side as 0.0.0.0/0. */
static void pol_sel(struct xfrm_selector *sel, const struct dp_pol *p)
{
	xfrm_address_t *near = pol_out(p->kind) ? &sel->saddr : &sel->daddr;
	xfrm_address_t *far = pol_out(p->kind) ? &sel->daddr : &sel->saddr;
	uint8_t *far_len = pol_out(p->kind) ? &sel->prefixlen_d : &sel->prefixlen_s;

	memset(sel, 0, sizeof(*sel));
	sel->family = AF_INET;
	sel->proto = IPPROTO_UDP;
	sel->dport = htons(DP_VXLAN_PORT_ENC);
	sel->dport_mask = 0xffff;
	addr_put(near, &p->local);
	if (pol_out(p->kind))
		sel->prefixlen_s = 32;
	else
		sel->prefixlen_d = 32;
	if (!pol_block(p->kind)) {
		addr_put(far, &p->remote);
		*far_len = 32;
	}
}

static const char *pol_name(enum dp_pol_kind k)
{
	static const char *const names[] = {
		[DP_POL_OUT] = "out", [DP_POL_IN] = "in",
		[DP_POL_BLOCK_OUT] = "block-out", [DP_POL_BLOCK_IN] = "block-in",
	};

	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : "?";
}

void xfrm_pol_add_msg(struct nl_batch *b, const struct dp_pol *p)
{
	struct xfrm_userpolicy_info pi;
	struct xfrm_user_tmpl t;
	char s[OVN_IP_STRLEN];
	void *hdr;

	/* NEWPOLICY, existing counts as done: an UPDPOLICY would replace the
	 * policy, a new object (add time, index) where nothing changed, which
	 * a restart must not do. Same selector + priority = ovn's own. */
	hdr = nl_msg(b, XFRM_MSG_NEWPOLICY, 0, sizeof(pi), NL_OK_EXIST, NULL, NULL,
		     "xfrm policy %s %s", pol_name(p->kind),
		     ovn_ip_str(pol_block(p->kind) ? &p->local : &p->remote, s));
	if (!hdr)
		return;
	memset(&pi, 0, sizeof(pi));
	pol_sel(&pi.sel, p);
	lft_inf(&pi.lft);
	pi.dir = pol_out(p->kind) ? XFRM_POLICY_OUT : XFRM_POLICY_IN;
	pi.priority = pol_block(p->kind) ? DP_XFRM_PRIO_BLOCK : DP_XFRM_PRIO_PEER;
	pi.action = pol_block(p->kind) ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
	memcpy(hdr, &pi, sizeof(pi));
	if (pol_block(p->kind))
		return;
	memset(&t, 0, sizeof(t));
	t.id.proto = IPPROTO_ESP;
	t.family = AF_INET;
	t.reqid = DP_XFRM_REQID;
	t.mode = XFRM_MODE_TRANSPORT;
	t.aalgos = t.ealgos = t.calgos = ~0u;
	nl_put(b, XFRMA_TMPL, sizeof(t), &t);
}

void xfrm_pol_del_msg(struct nl_batch *b, const struct dp_pol *p)
{
	struct xfrm_userpolicy_id id;
	char s[OVN_IP_STRLEN];
	void *hdr;

	hdr = nl_msg(b, XFRM_MSG_DELPOLICY, 0, sizeof(id), NL_OK_NOENT, NULL, NULL,
		     "delete xfrm policy %s %s", pol_name(p->kind),
		     ovn_ip_str(pol_block(p->kind) ? &p->local : &p->remote, s));
	if (!hdr)
		return;
	memset(&id, 0, sizeof(id));
	pol_sel(&id.sel, p);
	id.dir = pol_out(p->kind) ? XFRM_POLICY_OUT : XFRM_POLICY_IN;
	memcpy(hdr, &id, sizeof(id));
}

/* Kind from direction and priority; -1 when the policy is not ovn's. */
static int pol_kind_of(const struct xfrm_userpolicy_info *pi)
{
	const struct xfrm_selector *sel = &pi->sel;

	if (sel->family != AF_INET || sel->proto != IPPROTO_UDP ||
	    sel->dport != htons(DP_VXLAN_PORT_ENC) || sel->dport_mask != 0xffff)
		return -1;
	if (pi->dir != XFRM_POLICY_OUT && pi->dir != XFRM_POLICY_IN)
		return -1;
	if (pi->priority == DP_XFRM_PRIO_PEER)
		return pi->dir == XFRM_POLICY_OUT ? DP_POL_OUT : DP_POL_IN;
	if (pi->priority == DP_XFRM_PRIO_BLOCK)
		return pi->dir == XFRM_POLICY_OUT ? DP_POL_BLOCK_OUT : DP_POL_BLOCK_IN;
	return -1;
}

int xfrm_pol_parse(const struct nlmsghdr *nlh, struct dp_pol *p)
{
	struct xfrm_userpolicy_info pi;
	int kind;

	if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY && nlh->nlmsg_type != XFRM_MSG_UPDPOLICY)
		return -EINVAL;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(pi))
		return -EINVAL;
	memcpy(&pi, mnl_nlmsg_get_payload(nlh), sizeof(pi));
	kind = pol_kind_of(&pi);
	if (kind < 0)
		return 0;
	memset(p, 0, sizeof(*p));
	p->kind = (enum dp_pol_kind)kind;
	addr_get(&p->local, pol_out(p->kind) ? &pi.sel.saddr : &pi.sel.daddr);
	if (!pol_block(p->kind))
		addr_get(&p->remote, pol_out(p->kind) ? &pi.sel.daddr : &pi.sel.saddr);
	return 1;
}

static int pol_check(const struct dp_pol *p, struct ovn_err *err)
{
	if ((unsigned)p->kind > DP_POL_BLOCK_IN)
		return ovn_err_set(err, -EINVAL, "xfrm: bad policy kind %d", (int)p->kind);
	if (p->local.family != AF_INET || (!pol_block(p->kind) && p->remote.family != AF_INET))
		return ovn_err_set(err, -EAFNOSUPPORT, "xfrm: policy needs IPv4 VTEPs");
	return 0;
}

static void pol_add_b(struct nl_batch *b, const void *o)
{
	xfrm_pol_add_msg(b, o);
}

static void pol_del_b(struct nl_batch *b, const void *o)
{
	xfrm_pol_del_msg(b, o);
}

int dp_pol_add(struct dp *dp, const struct dp_pol *p, struct ovn_err *err)
{
	int ret = pol_check(p, err);

	return ret ? ret : run_one(dp, pol_add_b, p, err);
}

int dp_pol_del(struct dp *dp, const struct dp_pol *p, struct ovn_err *err)
{
	int ret = pol_check(p, err);

	return ret ? ret : run_one(dp, pol_del_b, p, err);
}

struct pol_list {
	struct dp_pol *v;
	int n, cap;
};

static int pol_collect(const struct nlmsghdr *nlh, void *arg)
{
	struct pol_list *l = arg;
	struct dp_pol p;

	if (xfrm_pol_parse(nlh, &p) <= 0)
		return 0;
	if (dp_grow((void **)&l->v, l->n, &l->cap, sizeof(*l->v)))
		return -ENOMEM;
	l->v[l->n++] = p;
	return 0;
}

static void pol_reset(void *arg)
{
	((struct pol_list *)arg)->n = 0;
}

int dp_pol_dump(struct dp *dp, int (*fn)(const struct dp_pol *p, void *arg), void *arg,
		struct ovn_err *err)
{
	struct pol_list l = { 0 };
	int ret;

	ret = xs_check(dp, err);
	if (ret)
		return ret;
	ret = nl_dump(&dp->xs, XFRM_MSG_GETPOLICY, &l, 0, pol_collect, pol_reset, &l, err);
	for (int i = 0; !ret && i < l.n; i++)
		ret = fn(&l.v[i], arg);
	free(l.v);
	return ret;
}
