/* cmd_status.c: `ovnctl status`, the agent's node, version, advertised
 * address, counts and uptime (GET /v1/status), as a key/value table.
 *
 * Static names carry a st_ prefix: the unit test includes every cli .c file
 * into one translation unit.
 */
#include <errno.h>

#include "cli.h"
#include "util.h"

static int st_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/v1/status");
	return 0;
}

/* 93784 -> "1d 2h 3m 4s"; leading zero units are dropped. */
static void st_fmt_uptime(FILE *f, const json_t *v)
{
	static const struct {
		json_int_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	json_int_t left;
	bool started = false;

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		cli_fmt_value(f, v);
		return;
	}
	left = json_integer_value(v);
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		json_int_t n = left / units[i].secs;

		left %= units[i].secs;
		if (!n && !started && units[i].secs > 1)
			continue;
		fprintf(f, "%s%" JSON_INTEGER_FORMAT "%c", started ? " " : "", n, units[i].unit);
		started = true;
	}
}

static int st_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	static const struct cli_col fmts[] = {
		{ "uptime", "uptime_s", st_fmt_uptime },
	};

	return cli_print_kv(out, answer, fmts, ARRAY_SIZE(fmts), err);
}

static const struct cli_leaf st_leaf = {
	.name = "status",
	.usage =
		"Usage: ovnctl status [--json]\n"
		"\n"
		"Show the agent's node name, version, advertised address, how many\n"
		"networks and endpoints it knows, and its uptime.\n"
		"\n"
		"Options:\n"
		CLI_USAGE_JSON,
	.n_pos = 0,
	.build = st_build,
	.show = st_show,
};

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &st_leaf, argc, argv);
}
