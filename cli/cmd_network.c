/* cmd_network.c: the `ovnctl network` leaves: create, ls, inspect, rm,
 * attach, detach. Each is a struct cli_leaf (options, build, show) and a
 * one-line cmd_network_<verb>() that hands it to cli_leaf_run().
 *
 * Builders check what can be checked without the agent (syntax of names,
 * CIDRs, addresses, MACs; one subnet per family; gateway inside its
 * subnet; exactly one target) so mistakes are usage errors (exit 2) with
 * the option named. Policy that needs state (overlaps, VNI in use, MTU per
 * family, prefix lengths the pools allow) is left to the agent: its
 * answer is printed as is.
 *
 * Static names carry a net_ prefix: the unit test includes every cli .c file
 * into one translation unit.
 */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "model.h"
#include "util.h"

#define PID_MAX 4194304UL	/* PID_MAX_LIMIT on 64-bit Linux */
#define VNI_MAX 16777215UL
#define MAX_LABELS 64
#define MAX_LABEL_KEY 128
#define MAX_ALIASES 16
#define IFNAMSIZ_MAX 15

static const char *fam_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* A request about network NAME, the first positional argument: method on
 * /v1/networks/NAME + suffix, with an empty JSON body to fill when
 * with_body. */
static int net_req(const struct cli_args *a, struct cli_req *req, const char *method,
		   const char *suffix, bool with_body, struct ovn_err *err)
{
	int r = cli_check_network_name(a->pos[0], err);

	if (r < 0)
		return r;
	req->method = method;
	/* The name passed cli_check_network_name (<= 64 safe characters), so
	 * it fits and needs no percent-encoding. */
	snprintf(req->path, sizeof(req->path), "/v1/networks/%s%s", a->pos[0], suffix);
	if (!with_body)
		return 0;
	req->body = json_object();
	return req->body ? 0 : -ENOMEM;
}

/* ---------------------------------------------------------------- create */

enum { NC_SUBNET, NC_GATEWAY, NC_VNI, NC_MTU, NC_INTERNAL, NC_IPV6, NC_LABEL, NC_ENCRYPTED };

static const struct cli_opt net_create_opts[] = {
	[NC_SUBNET] = { "subnet", CLI_OPT_ARG | CLI_OPT_MULTI },
	[NC_GATEWAY] = { "gateway", CLI_OPT_ARG | CLI_OPT_MULTI },
	[NC_VNI] = { "vni", CLI_OPT_ARG },
	[NC_MTU] = { "mtu", CLI_OPT_ARG },
	[NC_INTERNAL] = { "internal", 0 },
	[NC_IPV6] = { "ipv6", 0 },
	[NC_LABEL] = { "label", CLI_OPT_ARG | CLI_OPT_MULTI },
	[NC_ENCRYPTED] = { "encrypted", 0 },
};

/* The subnet of one family, index 0 = IPv4, 1 = IPv6. */
struct net_subnet {
	struct ovn_prefix prefix;
	char cidr[OVN_PREFIX_STRLEN];
	char gateway[OVN_IP_STRLEN];	/* "" = agent's default */
};

static int net_add_subnet(struct net_subnet sn[2], const char *s, struct ovn_err *err)
{
	char buf[OVN_PREFIX_STRLEN];
	struct ovn_prefix p;
	int k;

	if (ovn_prefix_parse(&p, s, true) < 0)
		return ovn_err_set(err, -EINVAL,
				   "--subnet '%s' is not a CIDR (like 198.19.1.0/24 or fd00:1::/64)", s);
	if (!ovn_prefix_is_network(&p)) {
		ovn_prefix_mask(&p);
		return ovn_err_set(err, -EINVAL, "--subnet %s has host bits set: did you mean %s?",
				   s, ovn_prefix_str(&p, buf));
	}
	k = p.ip.family == AF_INET6;
	if (sn[k].cidr[0])
		return ovn_err_set(err, -EINVAL,
				   "more than one %s --subnet (%s, %s): give at most one per family",
				   fam_name(p.ip.family), sn[k].cidr, s);
	sn[k].prefix = p;
	ovn_prefix_str(&p, sn[k].cidr);
	return 0;
}

static int net_add_gateway(struct net_subnet sn[2], const char *s, struct ovn_err *err)
{
	struct ovn_ip ip;
	int k;

	if (ovn_ip_parse(&ip, s) < 0)
		return ovn_err_set(err, -EINVAL, "--gateway '%s' is not an IP address", s);
	k = ip.family == AF_INET6;
	if (!sn[k].cidr[0])
		return ovn_err_set(err, -EINVAL,
				   "--gateway %s has no %s subnet: add --subnet CIDR of that family",
				   s, fam_name(ip.family));
	if (sn[k].gateway[0])
		return ovn_err_set(err, -EINVAL,
				   "more than one %s --gateway (%s, %s): give one per subnet",
				   fam_name(ip.family), sn[k].gateway, s);
	if (!ovn_prefix_contains(&sn[k].prefix, &ip))
		return ovn_err_set(err, -EINVAL, "--gateway %s is outside --subnet %s", s,
				   sn[k].cidr);
	ovn_ip_str(&ip, sn[k].gateway);
	return 0;
}

static int net_subnets_json(const struct net_subnet sn[2], json_t *body)
{
	json_t *list = json_array(), *one;
	int ret = -ENOMEM;

	if (!list)
		return -ENOMEM;
	for (int k = 0; k < 2; k++) {
		if (!sn[k].cidr[0])
			continue;
		one = json_object();
		if (!one || json_array_append_new(list, one) ||
		    cli_json_set(one, "subnet", json_string(sn[k].cidr)) ||
		    (sn[k].gateway[0] && cli_json_set(one, "gateway", json_string(sn[k].gateway))))
			goto out;
	}
	return cli_json_set(body, "subnets", list);
out:
	json_decref(list);
	return ret;
}

static int net_build_subnets(const struct cli_args *a, json_t *body, struct ovn_err *err)
{
	struct net_subnet sn[2] = { 0 };
	const char *v;
	int r;

	for (int i = 0; (v = cli_arg_next(a, NC_SUBNET, &i));)
		if ((r = net_add_subnet(sn, v, err)) < 0)
			return r;
	for (int i = 0; (v = cli_arg_next(a, NC_GATEWAY, &i));)
		if ((r = net_add_gateway(sn, v, err)) < 0)
			return r;
	if (!sn[0].cidr[0] && !sn[1].cidr[0])
		return 0;
	return net_subnets_json(sn, body);
}

static int net_add_label(json_t *labels, const char *s, struct ovn_err *err)
{
	const char *eq = strchr(s, '=');
	size_t klen = eq ? (size_t)(eq - s) : 0;
	char key[MAX_LABEL_KEY + 1];

	if (!klen)
		return ovn_err_set(err, -EINVAL, "--label '%s': expected KEY=VALUE", s);
	if (klen > MAX_LABEL_KEY)
		return ovn_err_set(err, -EINVAL, "--label key '%.*s...' is longer than %d",
				   20, s, MAX_LABEL_KEY);
	memcpy(key, s, klen);
	key[klen] = '\0';
	if (json_object_get(labels, key))
		return ovn_err_set(err, -EINVAL, "--label %s given twice", key);
	if (json_object_size(labels) == MAX_LABELS)
		return ovn_err_set(err, -EINVAL, "too many --label (at most %d)", MAX_LABELS);
	return cli_json_set_str(labels, key, "--label", eq + 1, err);
}

static int net_build_labels(const struct cli_args *a, json_t *body, struct ovn_err *err)
{
	json_t *labels;
	const char *v;
	int r = 0;

	if (!cli_arg_count(a, NC_LABEL))
		return 0;
	labels = json_object();
	if (!labels)
		return -ENOMEM;
	for (int i = 0; !r && (v = cli_arg_next(a, NC_LABEL, &i));)
		r = net_add_label(labels, v, err);
	if (r < 0) {
		json_decref(labels);
		return r;
	}
	return cli_json_set(body, "labels", labels);
}

/* --vni and --mtu: strict integers; the agent refines the MTU by family. */
static int net_build_numbers(const struct cli_args *a, json_t *body, struct ovn_err *err)
{
	static const struct {
		int opt;
		const char *key, *label;
		unsigned long min, max;
	} nums[] = {
		{ NC_VNI, "vni", "--vni", 1, VNI_MAX },
		{ NC_MTU, "mtu", "--mtu", 576, 9000 },
	};
	unsigned long n;
	const char *v;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
		v = cli_arg_get(a, nums[i].opt);
		if (!v)
			continue;
		r = cli_parse_uint(nums[i].label, v, nums[i].min, nums[i].max, &n, err);
		if (!r)
			r = cli_json_set(body, nums[i].key, json_integer((json_int_t)n));
		if (r < 0)
			return r;
	}
	return 0;
}

static int net_create_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	const char *name = a->pos[0];
	int r;

	r = cli_check_network_name(name, err);
	if (r < 0)
		return r;
	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/v1/networks");
	req->body = json_object();
	if (!req->body)
		return -ENOMEM;
	r = cli_json_set(req->body, "name", json_string(name));
	if (!r)
		r = net_build_subnets(a, req->body, err);
	if (!r)
		r = net_build_numbers(a, req->body, err);
	if (!r && cli_arg_count(a, NC_INTERNAL))
		r = cli_json_set(req->body, "internal", json_true());
	if (!r && cli_arg_count(a, NC_IPV6))
		r = cli_json_set(req->body, "ipv6", json_true());
	if (!r && cli_arg_count(a, NC_ENCRYPTED))
		r = cli_json_set(req->body, "encrypted", json_true());
	if (!r)
		r = net_build_labels(a, req->body, err);
	return r;
}

/* "198.19.1.0/24 gw 198.19.1.1, fd00:1::/64 gw fd00:1::1" */
static void net_fmt_subnets_gw(FILE *f, const json_t *v)
{
	json_t *sn;
	size_t i;

	if (!json_array_size(v)) {
		fputc('-', f);
		return;
	}
	json_array_foreach(v, i, sn) {
		fputs(i ? ", " : "", f);
		cli_fmt_value(f, json_object_get(sn, "subnet"));
		if (json_object_get(sn, "gateway")) {
			fputs(" gw ", f);
			cli_fmt_value(f, json_object_get(sn, "gateway"));
		}
	}
}

static int net_create_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	static const struct cli_col fmts[] = {
		{ "subnets", "subnets", net_fmt_subnets_gw },
	};

	return cli_print_kv(out, answer, fmts, ARRAY_SIZE(fmts), err);
}

static const struct cli_leaf net_create_leaf = {
	.name = "network create",
	.usage =
		"Usage: ovnctl network create NAME [OPTIONS]\n"
		"\n"
		"Create an overlay network; prints it (or its JSON with --json).\n"
		"\n"
		"Options:\n"
		"  --subnet CIDR       subnet, at most one IPv4 and one IPv6\n"
		"                      (default: an IPv4 subnet from the agent's pool)\n"
		"  --gateway IP        gateway of the --subnet of its family\n"
		"                      (default: the subnet's first host address)\n"
		"  --vni N             VxLAN id, 1-16777215 (default: allocated from 4096)\n"
		"  --mtu N             576-9000, 1280-9000 with IPv6 (default: underlay MTU - 50,\n"
		"                      and 40 less for --encrypted)\n"
		"  --internal          mark the network internal (no route outside the overlay)\n"
		"  --encrypted         carry its VxLAN between hosts in IPsec ESP (AES-GCM)\n"
		"  --ipv6              also allocate an IPv6 subnet from the agent's pool\n"
		"  --label KEY=VALUE   metadata, repeatable (at most 64)\n"
		CLI_USAGE_JSON,
	.opts = net_create_opts,
	.n_opts = ARRAY_SIZE(net_create_opts),
	.n_pos = 1,
	.pos_desc = "a network NAME",
	.build = net_create_build,
	.show = net_create_show,
};

int cmd_network_create(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &net_create_leaf, argc, argv);
}

/* -------------------------------------------------------------------- ls */

static int net_ls_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/v1/networks");
	return 0;
}

/* "198.19.1.0/24,fd00:1::/64" */
static void net_fmt_subnet_list(FILE *f, const json_t *v)
{
	json_t *sn;
	size_t i;

	if (!json_array_size(v)) {
		fputc('-', f);
		return;
	}
	json_array_foreach(v, i, sn) {
		fputs(i ? "," : "", f);
		cli_fmt_value(f, json_object_get(sn, "subnet"));
	}
}

static int net_ls_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	static const struct cli_col cols[] = {
		{ "NAME", "name", NULL },
		{ "VNI", "vni", NULL },
		{ "SUBNETS", "subnets", net_fmt_subnet_list },
		{ "MTU", "mtu", NULL },
		{ "ENDPOINTS", "endpoints", NULL },
		{ "INTERNAL", "internal", NULL },
		{ "ENCRYPTED", "encrypted", NULL },
	};

	return cli_print_table(out, answer, cols, ARRAY_SIZE(cols), err);
}

static const struct cli_leaf net_ls_leaf = {
	.name = "network ls",
	.usage =
		"Usage: ovnctl network ls [--json]\n"
		"\n"
		"List networks, sorted by name.\n"
		"\n"
		"Columns: NAME VNI SUBNETS MTU ENDPOINTS INTERNAL ENCRYPTED; ENDPOINTS counts the\n"
		"endpoints in this host's view of the store.\n"
		"\n"
		"Options:\n"
		CLI_USAGE_JSON,
	.n_pos = 0,
	.build = net_ls_build,
	.show = net_ls_show,
};

int cmd_network_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &net_ls_leaf, argc, argv);
}

/* --------------------------------------------------------------- inspect */

static int net_inspect_build(const struct cli_args *a, struct cli_req *req,
			     struct ovn_err *err)
{
	return net_req(a, req, "GET", "", false, err);
}

static const struct cli_leaf net_inspect_leaf = {
	.name = "network inspect",
	.usage =
		"Usage: ovnctl network inspect NAME\n"
		"\n"
		"Print one network as indented JSON (always JSON, like docker inspect).\n"
		"\n"
		"Options:\n"
		CLI_USAGE_HELP,
	.n_pos = 1,
	.pos_desc = "a network NAME",
	.build = net_inspect_build,
	.show = cli_show_json,
};

int cmd_network_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &net_inspect_leaf, argc, argv);
}

/* -------------------------------------------------------------------- rm */

enum { NR_FORCE };

static const struct cli_opt net_rm_opts[] = {
	[NR_FORCE] = { "force", 0 },
};

static int net_rm_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	return net_req(a, req, "DELETE", cli_arg_count(a, NR_FORCE) ? "?force=true" : "", false,
		       err);
}

static int net_rm_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	const char *name = json_string_value(json_object_get(answer, "removed"));
	json_int_t n = json_integer_value(json_object_get(answer, "endpoints_removed"));

	if (!name)
		return ovn_err_set(err, -EPROTO,
				   "bad answer from ovnagent: no \"removed\" network name");
	cli_fmt_value(out, json_object_get(answer, "removed"));
	if (n > 0)
		fprintf(out, " (%" JSON_INTEGER_FORMAT " endpoint%s removed)", n, n == 1 ? "" : "s");
	fputc('\n', out);
	return 0;
}

static const struct cli_leaf net_rm_leaf = {
	.name = "network rm",
	.usage =
		"Usage: ovnctl network rm NAME [--force]\n"
		"\n"
		"Remove a network. It must have no endpoints unless --force is given;\n"
		"prints the name (and how many endpoints --force removed).\n"
		"\n"
		"Options:\n"
		"  --force             detach every endpoint first\n"
		CLI_USAGE_JSON,
	.opts = net_rm_opts,
	.n_opts = ARRAY_SIZE(net_rm_opts),
	.n_pos = 1,
	.pos_desc = "a network NAME",
	.build = net_rm_build,
	.show = net_rm_show,
};

int cmd_network_rm(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &net_rm_leaf, argc, argv);
}

/* --------------------------------------------------------- attach/detach */

/* Both leaves start their option tables with the target options, in this
 * order, so net_build_target() serves both. */
enum { NT_NETNS, NT_PID, NT_ENDPOINT };
enum { NA_NAME = NT_PID + 1, NA_ALIAS, NA_IP, NA_IP6, NA_IFNAME, NA_MAC, NA_PUBLISH };

static int net_check_netns(const char *s, struct ovn_err *err)
{
	/* A relative path would be resolved in the agent's cwd, not ours. */
	if ((strchr(s, '/') && s[0] != '/') || !strcmp(s, ".") || !strcmp(s, ".."))
		return ovn_err_set(err, -EINVAL,
				   "--netns '%s': give a name under /run/netns or an absolute path", s);
	return 0;
}

/* Exactly one of the first n_kinds target options. */
static int net_build_target(const struct cli_args *a, int n_kinds, const char *missing,
			    json_t *body, struct ovn_err *err)
{
	static const char *const names[] = { "netns", "pid", "endpoint" };
	static const char *const labels[] = { "--netns", "--pid", "--endpoint" };
	unsigned long pid;
	int given = -1, r;

	for (int k = 0; k < n_kinds; k++) {
		if (!cli_arg_count(a, k))
			continue;
		if (given >= 0)
			return ovn_err_set(err, -EINVAL, "%s and %s conflict: give only one",
					   labels[given], labels[k]);
		given = k;
	}
	if (given < 0)
		return ovn_err_set(err, -EINVAL, "%s", missing);
	if (given == NT_PID) {
		r = cli_parse_uint("--pid", cli_arg_get(a, NT_PID), 1, PID_MAX, &pid, err);
		return r < 0 ? r : cli_json_set(body, "pid", json_integer((json_int_t)pid));
	}
	if (given == NT_NETNS && (r = net_check_netns(cli_arg_get(a, NT_NETNS), err)) < 0)
		return r;
	return cli_json_set_str(body, names[given], labels[given], cli_arg_get(a, given), err);
}

/* --ip / --ip6: a bare address of one family, sent in canonical form. */
static int net_build_addr(const struct cli_args *a, int opt, int family, json_t *body,
			  struct ovn_err *err)
{
	const char *label = family == AF_INET ? "--ip" : "--ip6";
	const char *s = cli_arg_get(a, opt);
	char buf[OVN_IP_STRLEN];
	struct ovn_ip ip;

	if (!s)
		return 0;
	if (strchr(s, '/'))
		return ovn_err_set(err, -EINVAL,
				   "%s %s: give a bare address; the prefix comes from the network's subnet",
				   label, s);
	if (ovn_ip_parse(&ip, s) < 0 || ip.family != family)
		return ovn_err_set(err, -EINVAL, "%s '%s' is not an %s address", label, s,
				   fam_name(family));
	return cli_json_set(body, family == AF_INET ? "ipv4" : "ipv6",
			    json_string(ovn_ip_str(&ip, buf)));
}

static int net_build_mac(const struct cli_args *a, json_t *body, struct ovn_err *err)
{
	const char *s = cli_arg_get(a, NA_MAC);
	char buf[OVN_MAC_STRLEN];
	struct ovn_mac mac;

	if (!s)
		return 0;
	if (ovn_mac_parse(&mac, s, true) < 0)
		return ovn_err_set(err, -EINVAL,
				   "--mac '%s' is not a unicast MAC (like 02:42:c6:13:01:02)", s);
	return cli_json_set(body, "mac", json_string(ovn_mac_str(&mac, buf)));
}

static int net_build_ifname(const struct cli_args *a, json_t *body, struct ovn_err *err)
{
	const char *s = cli_arg_get(a, NA_IFNAME);

	if (!s)
		return 0;
	/* The kernel's dev_valid_name() rules. */
	if (strlen(s) > IFNAMSIZ_MAX || strpbrk(s, "/: \t\n\r\v\f") || !strcmp(s, ".") ||
	    !strcmp(s, ".."))
		return ovn_err_set(err, -EINVAL,
				   "--ifname '%s': use 1-15 characters without '/', ':' or spaces", s);
	return cli_json_set_str(body, "ifname", "--ifname", s, err);
}

static int net_build_names(const struct cli_args *a, json_t *body, struct ovn_err *err)
{
	const char *name = cli_arg_get(a, NA_NAME), *v;
	json_t *aliases;
	int r;

	if (name && ((r = cli_check_dns_name("--name", name, err)) < 0 ||
		     (r = cli_json_set(body, "name", json_string(name))) < 0))
		return r;
	if (!cli_arg_count(a, NA_ALIAS))
		return 0;
	if (cli_arg_count(a, NA_ALIAS) > MAX_ALIASES)
		return ovn_err_set(err, -EINVAL, "too many --alias (at most %d)", MAX_ALIASES);
	aliases = json_array();
	if (!aliases)
		return -ENOMEM;
	r = 0;
	for (int i = 0; !r && (v = cli_arg_next(a, NA_ALIAS, &i));) {
		r = cli_check_dns_name("--alias", v, err);
		if (!r && json_array_append_new(aliases, json_string(v)))
			r = -ENOMEM;
	}
	if (r < 0) {
		json_decref(aliases);
		return r;
	}
	return cli_json_set(body, "aliases", aliases);
}

/* --publish [HOST_IP:]HOST_PORT:PORT[/tcp|udp], repeatable: checked here
 * with the agent's own parser (so a typo fails before any request) and sent
 * in canonical form; locality and conflicts are the agent's to judge. */
static int net_build_publish(const struct cli_args *a, json_t *body, struct ovn_err *err)
{
	char buf[NM_PUBLISH_STRLEN];
	struct nm_publish p;
	const char *v;
	json_t *list;
	int r = 0;

	if (!cli_arg_count(a, NA_PUBLISH))
		return 0;
	if (cli_arg_count(a, NA_PUBLISH) > NM_PUBLISH_MAX)
		return ovn_err_set(err, -EINVAL, "too many --publish (at most %d)", NM_PUBLISH_MAX);
	list = json_array();
	if (!list)
		return -ENOMEM;
	for (int i = 0; !r && (v = cli_arg_next(a, NA_PUBLISH, &i));) {
		r = model_publish_parse(&p, v, err);
		if (!r && json_array_append_new(list, json_string(model_publish_str(&p, buf))))
			r = -ENOMEM;
	}
	if (r < 0) {
		json_decref(list);
		return r;
	}
	return cli_json_set(body, "publish", list);
}

static const struct cli_opt net_attach_opts[] = {
	[NT_NETNS] = { "netns", CLI_OPT_ARG },
	[NT_PID] = { "pid", CLI_OPT_ARG },
	[NA_NAME] = { "name", CLI_OPT_ARG },
	[NA_ALIAS] = { "alias", CLI_OPT_ARG | CLI_OPT_MULTI },
	[NA_IP] = { "ip", CLI_OPT_ARG },
	[NA_IP6] = { "ip6", CLI_OPT_ARG },
	[NA_IFNAME] = { "ifname", CLI_OPT_ARG },
	[NA_MAC] = { "mac", CLI_OPT_ARG },
	[NA_PUBLISH] = { "publish", CLI_OPT_ARG | CLI_OPT_MULTI },
};

static int net_attach_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	int r = net_req(a, req, "POST", "/endpoints", true, err);

	if (!r)
		r = net_build_target(a, 2, "network attach needs --netns NAME|PATH or --pid PID",
				     req->body, err);
	if (!r)
		r = net_build_names(a, req->body, err);
	if (!r)
		r = net_build_addr(a, NA_IP, AF_INET, req->body, err);
	if (!r)
		r = net_build_addr(a, NA_IP6, AF_INET6, req->body, err);
	if (!r)
		r = net_build_ifname(a, req->body, err);
	if (!r)
		r = net_build_mac(a, req->body, err);
	if (!r)
		r = net_build_publish(a, req->body, err);
	return r;
}

static int net_attach_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	return cli_print_kv(out, answer, NULL, 0, err);
}

static const struct cli_leaf net_attach_leaf = {
	.name = "network attach",
	.usage =
		"Usage: ovnctl network attach NAME (--netns NAME|PATH | --pid PID) [OPTIONS]\n"
		"\n"
		"Attach a network namespace to a network: creates a veth in it with an\n"
		"address from the network's subnets; prints the endpoint.\n"
		"\n"
		"Options:\n"
		"  --netns NAME|PATH   namespace: a name under /run/netns or an absolute path\n"
		"  --pid PID           namespace of a running process\n"
		"  --name CNAME        DNS name of the endpoint in the network\n"
		"  --alias A           extra DNS name, repeatable (at most 16)\n"
		"  --ip IPV4           IPv4 address (default: allocated)\n"
		"  --ip6 IPV6          IPv6 address (default: allocated on IPv6 networks)\n"
		"  --ifname IF         interface name in the namespace (default: first free ethN)\n"
		"  --mac MAC           MAC address (default: derived from the IPv4 address)\n"
		"  --publish [HOST_IP:]HOST_PORT:PORT[/tcp|udp]\n"
		"                      make PORT reachable on this host's address (all of\n"
		"                      them, or HOST_IP), repeatable (at most 32)\n"
		CLI_USAGE_JSON,
	.opts = net_attach_opts,
	.n_opts = ARRAY_SIZE(net_attach_opts),
	.n_pos = 1,
	.pos_desc = "a network NAME",
	.build = net_attach_build,
	.show = net_attach_show,
};

int cmd_network_attach(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &net_attach_leaf, argc, argv);
}

static const struct cli_opt net_detach_opts[] = {
	[NT_NETNS] = { "netns", CLI_OPT_ARG },
	[NT_PID] = { "pid", CLI_OPT_ARG },
	[NT_ENDPOINT] = { "endpoint", CLI_OPT_ARG },
};

static int net_detach_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	int r = net_req(a, req, "POST", "/detach", true, err);

	if (r < 0)
		return r;
	return net_build_target(a, 3,
				"network detach needs --netns NAME|PATH, --pid PID or --endpoint ID",
				req->body, err);
}

/* One removed endpoint id per line. */
static int net_detach_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	json_t *ids = json_object_get(answer, "removed"), *id;
	size_t i;

	if (!json_is_array(ids))
		return ovn_err_set(err, -EPROTO,
				   "bad answer from ovnagent: no \"removed\" list of endpoints");
	json_array_foreach(ids, i, id) {
		cli_fmt_value(out, id);
		fputc('\n', out);
	}
	return 0;
}

static const struct cli_leaf net_detach_leaf = {
	.name = "network detach",
	.usage =
		"Usage: ovnctl network detach NAME (--netns NAME|PATH | --pid PID | --endpoint ID)\n"
		"\n"
		"Detach endpoints from a network: the one with that ID, or every endpoint of\n"
		"the network in that namespace; prints the removed endpoint ids.\n"
		"\n"
		"Options:\n"
		"  --netns NAME|PATH   namespace: a name under /run/netns or an absolute path\n"
		"  --pid PID           namespace of a running process\n"
		"  --endpoint ID       endpoint id (see 'ovnctl endpoint ls')\n"
		CLI_USAGE_JSON,
	.opts = net_detach_opts,
	.n_opts = ARRAY_SIZE(net_detach_opts),
	.n_pos = 1,
	.pos_desc = "a network NAME",
	.build = net_detach_build,
	.show = net_detach_show,
};

int cmd_network_detach(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &net_detach_leaf, argc, argv);
}
