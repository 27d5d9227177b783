/* ovnctl.c: the ovnctl program: global options, the command tables (which
 * are also the usage text) and main().
 *
 * ovnctl [--socket PATH] [--json] COMMAND [ARGS...]; a command is a leaf
 * (status, members) or a group (network, endpoint, keys) whose second word picks the
 * leaf. Global options must come before the command; --json and --help
 * are also accepted after it. The socket is --socket, else $OVN_SOCKET,
 * else /run/ovn/ovn.sock.
 *
 * Exit status: 0 ok, 1 the agent refused or could not be reached, 2 usage.
 *
 * TODO: bash completion generated from these tables.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli_ctx *ctx, int argc, char **argv);
	const char *help;
};

struct cli_group {
	const char *name;
	const char *summary;
	const struct cli_cmd *cmds;
	size_t n_cmds;
};

static const struct cli_cmd network_cmds[] = {
	{ "create", cmd_network_create, "create a network" },
	{ "ls", cmd_network_ls, "list networks" },
	{ "inspect", cmd_network_inspect, "print one network as JSON" },
	{ "rm", cmd_network_rm, "remove a network" },
	{ "attach", cmd_network_attach, "attach a network namespace to a network" },
	{ "detach", cmd_network_detach, "detach endpoints from a network" },
};

static const struct cli_cmd endpoint_cmds[] = {
	{ "ls", cmd_endpoint_ls, "list endpoints" },
};

static const struct cli_cmd keys_cmds[] = {
	{ "list", cmd_keys_list, "list the gossip keyring by fingerprint" },
	{ "install", cmd_keys_install, "install a key on every member" },
	{ "use", cmd_keys_use, "make a key the primary key everywhere" },
	{ "remove", cmd_keys_remove, "remove a key from every member" },
	{ "generate", cmd_keys_generate, "print a new random key" },
};

static const struct cli_group keys_group = {
	"keys", "Rotate the gossip encryption keys across the cluster.", keys_cmds,
	ARRAY_SIZE(keys_cmds),
};

static const struct cli_group network_group = {
	"network", "Manage overlay networks and their attachments.", network_cmds,
	ARRAY_SIZE(network_cmds),
};

static const struct cli_group endpoint_group = {
	"endpoint", "Look at endpoints (network attachments).", endpoint_cmds,
	ARRAY_SIZE(endpoint_cmds),
};

static int cmd_network(struct cli_ctx *ctx, int argc, char **argv);
static int cmd_endpoint(struct cli_ctx *ctx, int argc, char **argv);
static int cmd_keys(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd top_cmds[] = {
	{ "status", cmd_status, "show the agent's node, version and counts" },
	{ "network", cmd_network, "create, list, inspect, remove, attach, detach networks" },
	{ "endpoint", cmd_endpoint, "list endpoints" },
	{ "members", cmd_members, "list the cluster's hosts as gossip sees them" },
	{ "keys", cmd_keys, "list, install, use, remove gossip encryption keys" },
};

enum { G_SOCKET, G_VERSION };

static const struct cli_opt global_opts[] = {
	[G_SOCKET] = { "socket", CLI_OPT_ARG },
	[G_VERSION] = { "version", 0 },
};

static const struct cli_cmd *find_cmd(const struct cli_cmd *cmds, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void print_cmds(FILE *f, const struct cli_cmd *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
}

/* "missing command (one of: a, b, c)" */
static void missing_cmd(struct cli_ctx *ctx, const struct cli_cmd *cmds, size_t n,
			const char *hint)
{
	char msg[256];
	size_t len;

	len = (size_t)snprintf(msg, sizeof(msg), "missing command (one of:");
	for (size_t i = 0; i < n && len < sizeof(msg); i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s %s", i ? "," : "",
					cmds[i].name);
	if (len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len, ")");
	cli_error(ctx, msg, hint);
}

static void print_usage(FILE *f)
{
	fputs("Usage: ovnctl [--socket PATH] [--json] COMMAND [ARGS...]\n"
	      "\n"
	      "Manage ovn overlay networks through the local ovnagent.\n"
	      "\n"
	      "Commands:\n", f);
	print_cmds(f, top_cmds, ARRAY_SIZE(top_cmds));
	fputs("\n"
	      "Global options:\n"
	      "  --socket PATH   agent API socket (default: $OVN_SOCKET, else "
	      CLI_DEFAULT_SOCKET ")\n"
	      "  --json          print the agent's answers as JSON\n"
	      "  -h, --help      show this help\n"
	      "  --version       show ovnctl's version\n"
	      "\n"
	      "Run 'ovnctl COMMAND --help' for more on a command.\n"
	      "Exit status: 0 ok, 1 refused or failed, 2 usage error.\n", f);
}

static void print_group_usage(FILE *f, const struct cli_group *g)
{
	fprintf(f, "Usage: ovnctl %s COMMAND [ARGS...]\n\n%s\n\nCommands:\n", g->name,
		g->summary);
	print_cmds(f, g->cmds, g->n_cmds);
	fprintf(f, "\nRun 'ovnctl %s COMMAND --help' for more on a command.\n", g->name);
}

/* argv[0] is the group's name, argv[1] the leaf's. */
static int run_group(struct cli_ctx *ctx, const struct cli_group *g, int argc, char **argv)
{
	const struct cli_cmd *cmd;
	char msg[128];

	if (argc < 2) {
		missing_cmd(ctx, g->cmds, g->n_cmds, g->name);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_group_usage(ctx->out, g);
		return CLI_EXIT_OK;
	}
	cmd = find_cmd(g->cmds, g->n_cmds, argv[1]);
	if (!cmd && argv[1][0] == '-') {
		snprintf(msg, sizeof(msg), "option '%.64s' must follow 'ovnctl %s COMMAND'",
			 argv[1], g->name);
		cli_error(ctx, msg, g->name);
		return CLI_EXIT_USAGE;
	}
	if (!cmd) {
		snprintf(msg, sizeof(msg), "unknown command '%s %.64s'", g->name, argv[1]);
		cli_error(ctx, msg, g->name);
		return CLI_EXIT_USAGE;
	}
	return cmd->fn(ctx, argc - 1, argv + 1);
}

static int cmd_network(struct cli_ctx *ctx, int argc, char **argv)
{
	return run_group(ctx, &network_group, argc, argv);
}

static int cmd_endpoint(struct cli_ctx *ctx, int argc, char **argv)
{
	return run_group(ctx, &endpoint_group, argc, argv);
}

static int cmd_keys(struct cli_ctx *ctx, int argc, char **argv)
{
	return run_group(ctx, &keys_group, argc, argv);
}

static int run_command(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd;
	char msg[128];

	if (argc < 1) {
		missing_cmd(ctx, top_cmds, ARRAY_SIZE(top_cmds), "");
		return CLI_EXIT_USAGE;
	}
	cmd = find_cmd(top_cmds, ARRAY_SIZE(top_cmds), argv[0]);
	if (!cmd) {
		snprintf(msg, sizeof(msg), "unknown command '%.64s'", argv[0]);
		cli_error(ctx, msg, "");
		return CLI_EXIT_USAGE;
	}
	return cmd->fn(ctx, argc, argv);
}

int ovnctl_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct cli_ctx ctx = { .out = out, .err = err, .timeout_ms = CLI_TIMEOUT_MS };
	struct ovn_err e = { 0 };
	struct cli_args a;
	const char *env;
	int ret;

	if (cli_args_parse(&a, global_opts, ARRAY_SIZE(global_opts), argc, argv, true, &e) < 0) {
		cli_error(&ctx, e.msg, "");
		return CLI_EXIT_USAGE;
	}
	if (a.help) {
		print_usage(out);
		return CLI_EXIT_OK;
	}
	if (cli_arg_count(&a, G_VERSION)) {
		fprintf(out, "ovnctl %s\n", OVN_VERSION);
		return CLI_EXIT_OK;
	}
	ctx.json = a.json;
	ctx.socket = cli_arg_get(&a, G_SOCKET);
	env = getenv("OVN_SOCKET");
	if (!ctx.socket)
		ctx.socket = env && *env ? env : CLI_DEFAULT_SOCKET;
	ret = run_command(&ctx, argc - a.next, argv + a.next);
	/* A full disk or closed pipe must not pass for success. */
	if (fflush(out) == EOF && ret == CLI_EXIT_OK) {
		cli_error(&ctx, "cannot write the output", NULL);
		ret = CLI_EXIT_FAIL;
	}
	return ret;
}

#ifndef OVNCTL_NO_MAIN
int main(int argc, char **argv)
{
	return ovnctl_run(argc, argv, stdout, stderr);
}
#endif
