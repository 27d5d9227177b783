/* nft.c: ovn's own nftables table ("table inet ovn"), written through
 * libnftables: egress masquerade, isolation between networks, published
 * ports (DNAT) with hairpin. docs/egress.md explains every rule.
 *
 * What it does: turns plain structs (networks, port mappings) into nft
 * batches with pure functions, and runs a batch atomically. The whole table
 * is replaced in one transaction ("add table; delete table; table {...}"),
 * so a restart or a repair never duplicates or loses a rule; one port
 * mapping is one map element, added or removed alone.
 *
 * Why sets and maps: every per-network or per-port fact is an element of a
 * set or map, never a rule, so each packet meets a fixed handful of rules
 * and hash lookups however many networks and ports there are.
 *
 * What it does not: decide anything (the agent passes what should exist),
 * exec nft, or touch any other table. A drop in another table (Docker's
 * FORWARD policy, a firewall) still wins over our accepts: nftables runs
 * every base chain of a hook.
 *
 * TODO: 127.0.0.1:PORT from the host itself is not published (it would need
 * route_localnet, which opens the loopback range to the network).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include "dataplane.h"
#include "util.h"

/* A libnftables context lives for one batch only: it keeps its parser's
 * buffers (about 650 KB) for as long as it exists, and the agent runs a
 * batch only when a network or a published port changes. Making one costs
 * a few allocations; the ruleset cache is fetched per batch either way. */
struct dp_nft {
	unsigned long batches;		/* run, accepted or not */
};

static struct nft_ctx *ctx_new(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	/* Capture both streams: errors become ovn_err text, and a successful
	 * batch prints nothing we want on the agent's stdout. */
	if (ctx && (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)) {
		nft_ctx_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

int dp_nft_open(struct dp_nft **out, struct ovn_err *err)
{
	struct dp_nft *nft = calloc(1, sizeof(*nft));
	struct nft_ctx *probe;

	*out = NULL;
	if (!nft)
		return ovn_err_set(err, -ENOMEM, "nftables: out of memory");
	/* Fail at start-up, not at the first batch. */
	probe = ctx_new();
	if (!probe) {
		free(nft);
		return ovn_err_set(err, -ENOMEM, "nftables: cannot create a context");
	}
	nft_ctx_free(probe);
	*out = nft;
	return 0;
}

void dp_nft_close(struct dp_nft *nft)
{
	free(nft);
}

/* ---- text --------------------------------------------------------------- */

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : NULL;
}

/* "pub4" / "pub4any" / "pub6" / "pub6any": the map holding m. */
static void map_name(const struct dp_portmap *m, char buf[16])
{
	snprintf(buf, 16, "pub%c%s", m->ctr_ip.family == AF_INET ? '4' : '6',
		 m->host_ip.family ? "" : "any");
}

static int portmap_ok(const struct dp_portmap *m)
{
	if (!proto_name(m->proto) || !m->host_port || !m->ctr_port)
		return -EINVAL;
	if (m->ctr_ip.family != AF_INET && m->ctr_ip.family != AF_INET6)
		return -EINVAL;
	if (m->host_ip.family && m->host_ip.family != m->ctr_ip.family)
		return -EINVAL;
	return 0;
}

/* "tcp . 198.18.0.1 . 8080 : 198.19.1.2 . 80" (no host address: any). */
static void put_element(FILE *f, const struct dp_portmap *m)
{
	char h[OVN_IP_STRLEN], c[OVN_IP_STRLEN];

	fprintf(f, "%s . ", proto_name(m->proto));
	if (m->host_ip.family)
		fprintf(f, "%s . ", ovn_ip_str(&m->host_ip, h));
	fprintf(f, "%u : %s . %u", m->host_port, ovn_ip_str(&m->ctr_ip, c), m->ctr_port);
}

/* Elements of one map among maps[], or nothing when it has none. */
static void put_map_elements(FILE *f, const char *name, const struct dp_portmap *maps,
			     size_t n)
{
	char mn[16];
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		map_name(&maps[i], mn);
		if (strcmp(mn, name))
			continue;
		fputs(first ? "; elements = { " : ", ", f);
		put_element(f, &maps[i]);
		first = false;
	}
	if (!first)
		fputs(" }", f);
}

static void put_maps(FILE *f, const struct dp_portmap *maps, size_t n)
{
	static const struct {
		const char *name, *key, *data;
	} defs[] = {
		{ "pub4", "inet_proto . ipv4_addr . inet_service", "ipv4_addr . inet_service" },
		{ "pub4any", "inet_proto . inet_service", "ipv4_addr . inet_service" },
		{ "pub6", "inet_proto . ipv6_addr . inet_service", "ipv6_addr . inet_service" },
		{ "pub6any", "inet_proto . inet_service", "ipv6_addr . inet_service" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(defs); i++) {
		fprintf(f, "\tmap %s { type %s : %s", defs[i].name, defs[i].key, defs[i].data);
		put_map_elements(f, defs[i].name, maps, n);
		fputs("; }\n", f);
	}
}

/* A set of bridge names: all networks, or only internal ones. */
static void put_bridges(FILE *f, const char *name, const struct dp_nft_net *nets, size_t n,
			bool internal_only, bool pairs)
{
	bool first = true;

	fprintf(f, "\tset %s { type ifname%s", name, pairs ? " . ifname" : "");
	for (size_t i = 0; i < n; i++) {
		if (internal_only && !nets[i].internal)
			continue;
		fputs(first ? "; elements = { " : ", ", f);
		if (pairs)
			fprintf(f, "\"br-%u\" . \"br-%u\"", nets[i].vni, nets[i].vni);
		else
			fprintf(f, "\"br-%u\"", nets[i].vni);
		first = false;
	}
	fputs(first ? "; }\n" : " }; }\n", f);
}

/* Subnets of the non-internal networks of one family. */
static void put_subnets(FILE *f, const struct dp_nft_net *nets, size_t n, int family)
{
	char p[OVN_PREFIX_STRLEN];
	bool first = true;

	fprintf(f, "\tset nets%c { type %s; flags interval", family == AF_INET ? '4' : '6',
		family == AF_INET ? "ipv4_addr" : "ipv6_addr");
	for (size_t i = 0; i < n; i++) {
		if (nets[i].internal)
			continue;
		for (int k = 0; k < nets[i].n_subnets; k++) {
			if (nets[i].subnets[k].ip.family != family)
				continue;
			fputs(first ? "; elements = { " : ", ", f);
			fputs(ovn_prefix_str(&nets[i].subnets[k], p), f);
			first = false;
		}
	}
	fputs(first ? "; }\n" : " }; }\n", f);
}

/* The fixed chains. Order in forward matters and is explained in
 * docs/egress.md: internal first (nothing in or out), then same-bridge
 * (routed hairpin on one network), replies and published ports, then the
 * drop between two ovn bridges, egress out, and nothing else in. */
static const char chains[] =
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname @internal drop\n"
	"\t\toifname @internal drop\n"
	"\t\tiifname . oifname @same accept\n"
	"\t\tct state established,related accept\n"
	"\t\tct status dnat accept\n"
	"\t\tiifname @bridges oifname @bridges drop\n"
	"\t\tiifname @bridges accept\n"
	"\t\toifname @bridges drop\n"
	"\t}\n"
	"\tchain publish {\n"
	"\t\tdnat ip to meta l4proto . ip daddr . th dport map @pub4\n"
	"\t\tdnat ip to meta l4proto . th dport map @pub4any\n"
	"\t\tdnat ip6 to meta l4proto . ip6 daddr . th dport map @pub6\n"
	"\t\tdnat ip6 to meta l4proto . th dport map @pub6any\n"
	"\t}\n"
	"\tchain prerouting {\n"
	"\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	"\t\tfib daddr type local jump publish\n"
	"\t}\n"
	"\tchain output {\n"
	"\t\ttype nat hook output priority -100; policy accept;\n"
	"\t\tip daddr != 127.0.0.0/8 fib daddr type local jump publish\n"
	"\t\tip6 daddr != ::1 fib daddr type local jump publish\n"
	"\t}\n"
	"\tchain postrouting {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tip saddr @nets4 oifname != @bridges masquerade\n"
	"\t\tip6 saddr @nets6 oifname != @bridges masquerade\n"
	"\t\tct status dnat ip saddr @nets4 oifname @bridges masquerade\n"
	"\t\tct status dnat ip6 saddr @nets6 oifname @bridges masquerade\n"
	"\t}\n";

static int text_close(FILE *f, char **buf, char **out)
{
	bool bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		free(*buf);
		return -ENOMEM;
	}
	*out = *buf;
	return 0;
}

int dp_nft_ruleset_text(char **out, const struct dp_nft_net *nets, size_t n_nets,
			const struct dp_portmap *maps, size_t n_maps)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	*out = NULL;
	for (size_t i = 0; i < n_maps; i++)
		if (portmap_ok(&maps[i]) < 0)
			return -EINVAL;
	if (n_maps && !n_nets)
		return -EINVAL;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	/* "add" first makes the "delete" valid when the table is absent. */
	fputs("add table " DP_NFT_FAMILY " " DP_NFT_TABLE "\n"
	      "delete table " DP_NFT_FAMILY " " DP_NFT_TABLE "\n", f);
	if (n_nets) {
		fputs("table " DP_NFT_FAMILY " " DP_NFT_TABLE " {\n", f);
		put_bridges(f, "bridges", nets, n_nets, false, false);
		put_bridges(f, "internal", nets, n_nets, true, false);
		put_bridges(f, "same", nets, n_nets, false, true);
		put_subnets(f, nets, n_nets, AF_INET);
		put_subnets(f, nets, n_nets, AF_INET6);
		put_maps(f, maps, n_maps);
		fputs(chains, f);
		fputs("}\n", f);
	}
	return text_close(f, &buf, out);
}

int dp_nft_portmap_text(char **out, const struct dp_portmap *m, bool add)
{
	char *buf = NULL, mn[16];
	size_t len = 0;
	FILE *f;

	*out = NULL;
	if (portmap_ok(m) < 0)
		return -EINVAL;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	map_name(m, mn);
	fprintf(f, "add element " DP_NFT_FAMILY " " DP_NFT_TABLE " %s { ", mn);
	put_element(f, m);
	fputs(" }\n", f);
	if (!add) {
		fprintf(f, "delete element " DP_NFT_FAMILY " " DP_NFT_TABLE " %s { ", mn);
		put_element(f, m);
		fputs(" }\n", f);
	}
	return text_close(f, &buf, out);
}

/* ---- running ------------------------------------------------------------ */

/* First line of libnftables' error text ("Error: Could not process rule:
 * File exists"), which is what a human needs; the rest echoes the batch. */
static void first_line(const char *s, char *buf, size_t size)
{
	size_t n = s ? strcspn(s, "\n") : 0;

	if (n >= size)
		n = size - 1;
	memcpy(buf, s ? s : "", n);
	buf[n] = '\0';
}

int dp_nft_run(struct dp_nft *nft, const char *text, struct ovn_err *err)
{
	struct nft_ctx *ctx = ctx_new();
	char msg[200];
	int r;

	nft->batches++;
	if (!ctx)
		return ovn_err_set(err, -ENOMEM, "nftables: cannot create a context");
	r = nft_run_cmd_from_buffer(ctx, text);
	if (r != 0) {
		first_line(nft_ctx_get_error_buffer(ctx), msg, sizeof(msg));
		r = ovn_err_set(err, -EIO, "nftables: %s", msg[0] ? msg : "batch refused");
	}
	nft_ctx_free(ctx);
	return r;
}

static int run_owned(struct dp_nft *nft, int r, char *text, struct ovn_err *err)
{
	if (r == 0)
		r = dp_nft_run(nft, text, err);
	else
		ovn_err_set(err, r, "nftables: invalid rules (%s)", strerror(-r));
	free(text);
	return r;
}

int dp_nft_rebuild(struct dp_nft *nft, const struct dp_nft_net *nets, size_t n_nets,
		   const struct dp_portmap *maps, size_t n_maps, struct ovn_err *err)
{
	char *text = NULL;
	int r = dp_nft_ruleset_text(&text, nets, n_nets, maps, n_maps);

	return run_owned(nft, r, text, err);
}

int dp_nft_portmap_add(struct dp_nft *nft, const struct dp_portmap *m, struct ovn_err *err)
{
	char *text = NULL;
	int r = dp_nft_portmap_text(&text, m, true);

	return run_owned(nft, r, text, err);
}

int dp_nft_portmap_del(struct dp_nft *nft, const struct dp_portmap *m, struct ovn_err *err)
{
	char *text = NULL;
	int r = dp_nft_portmap_text(&text, m, false);

	return run_owned(nft, r, text, err);
}

/* ---- generation --------------------------------------------------------- */

static int gen_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		*(uint32_t *)data = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static int gen_reply(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), gen_attr, data);
}

/* One NFT_MSG_GETGEN on a short-lived socket: a few microseconds, and no
 * socket to keep or to drain between reconciles. */
int dp_nft_genid(struct dp_nft *nft, uint32_t *gen, struct ovn_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	uint32_t seq = 1, portid;
	ssize_t n;
	int r = -EIO;

	(void)nft;
	*gen = 0;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = ovn_err_set(err, -errno, "nftables: netlink socket: %s", strerror(errno));
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = ovn_err_set(err, -errno, "nftables: asking the generation: %s", strerror(errno));
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, portid, gen_reply, gen) < 0) {
		r = ovn_err_set(err, -errno ? -errno : -EIO, "nftables: reading the generation: %s",
				strerror(errno ? errno : EIO));
		goto out;
	}
	r = 0;
out:
	if (nl)
		mnl_socket_close(nl);
	return r;
}

/* ---- forwarding sysctls ------------------------------------------------- */

static const char *fwd_path(int family)
{
	return family == AF_INET ? "/proc/sys/net/ipv4/ip_forward"
				 : "/proc/sys/net/ipv6/conf/all/forwarding";
}

int dp_forwarding_get(int family, bool *on, struct ovn_err *err)
{
	char c = '0';
	int fd = open(fwd_path(family), O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return ovn_err_set(err, -errno, "%s: %s", fwd_path(family), strerror(errno));
	if (read(fd, &c, 1) != 1)
		r = ovn_err_set(err, -EIO, "%s: cannot read", fwd_path(family));
	close(fd);
	*on = c == '1';
	return r;
}

int dp_forwarding_enable(int family, struct ovn_err *err)
{
	int fd = open(fwd_path(family), O_WRONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return ovn_err_set(err, -errno, "%s: %s", fwd_path(family), strerror(errno));
	if (write(fd, "1\n", 2) != 2)
		r = ovn_err_set(err, -errno, "%s: %s", fwd_path(family), strerror(errno));
	close(fd);
	return r;
}
