/* cmd_endpoint.c: `ovnctl endpoint ls [--network NAME]`, the endpoints of
 * every network (or one) as a table, from GET /v1/endpoints.
 *
 * Static names carry an ep_ prefix: the unit test includes every cli .c file
 * into one translation unit.
 */
#include <errno.h>

#include "cli.h"
#include "util.h"

enum { EL_NETWORK };

static const struct cli_opt ep_ls_opts[] = {
	[EL_NETWORK] = { "network", CLI_OPT_ARG },
};

static int ep_ls_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	const char *net = cli_arg_get(a, EL_NETWORK);
	int r;

	req->method = "GET";
	if (!net) {
		snprintf(req->path, sizeof(req->path), "/v1/endpoints");
		return 0;
	}
	/* A valid network name is made of URL-safe characters only. */
	r = cli_check_network_name(net, err);
	if (r < 0)
		return r;
	snprintf(req->path, sizeof(req->path), "/v1/endpoints?network=%s", net);
	return 0;
}

static int ep_ls_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	static const struct cli_col cols[] = {
		{ "ID", "id", NULL },
		{ "NETWORK", "network", NULL },
		{ "NAME", "name", NULL },
		{ "IPV4", "ipv4", NULL },
		{ "IPV6", "ipv6", NULL },
		{ "MAC", "mac", NULL },
		{ "NETNS", "netns", NULL },
		{ "IFNAME", "ifname", NULL },
	};

	return cli_print_table(out, answer, cols, ARRAY_SIZE(cols), err);
}

static const struct cli_leaf ep_ls_leaf = {
	.name = "endpoint ls",
	.usage =
		"Usage: ovnctl endpoint ls [--network NAME]\n"
		"\n"
		"List endpoints of every network, or of one.\n"
		"\n"
		"Columns: ID NETWORK NAME IPV4 IPV6 MAC NETNS IFNAME; '-' marks an unset value.\n"
		"\n"
		"Options:\n"
		"  --network NAME      only the endpoints of this network\n"
		CLI_USAGE_JSON,
	.opts = ep_ls_opts,
	.n_opts = ARRAY_SIZE(ep_ls_opts),
	.n_pos = 0,
	.build = ep_ls_build,
	.show = ep_ls_show,
};

int cmd_endpoint_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &ep_ls_leaf, argc, argv);
}
