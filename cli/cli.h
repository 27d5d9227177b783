/* cli.h: what the ovnctl source files share: the run context, the
 * table-driven option parser, the leaf-command runner, client-side value
 * checks, output helpers and the command entry points.
 *
 * A leaf command (`network attach`) is data: a struct cli_leaf with its
 * usage text, option table, a build function that turns parsed arguments
 * into one API request (method, path, JSON body), and a show function that
 * prints the agent's answer for humans. cli_leaf_run() does the rest the
 * same way for every leaf, so exit codes and error lines cannot drift apart
 * between commands.
 *
 * Not here: HTTP (client.h). Everything is internal to ovnctl; nothing in
 * this header is a stable API.
 */
#ifndef OVN_CLI_H
#define OVN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "ovn_err.h"

#ifndef OVN_VERSION
#define OVN_VERSION "0.1.0"
#endif

#define CLI_DEFAULT_SOCKET "/run/ovn/ovn.sock"
#define CLI_TIMEOUT_MS 30000

/* Exit codes (DESIGN.md: ok / operation failed / usage error). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,
	CLI_EXIT_USAGE = 2,
};

struct cli_ctx {
	const char *socket;	/* API socket path, borrowed */
	bool json;		/* print answers as pretty JSON */
	int timeout_ms;		/* whole request, connect to last byte */
	FILE *out;		/* results, --help */
	FILE *err;		/* the one error line */
};

/* --- option parsing (args.c) --- */

#define CLI_OPT_ARG	0x1	/* takes a value: --opt VALUE or --opt=VALUE */
#define CLI_OPT_MULTI	0x2	/* may be repeated; values kept in order */

struct cli_opt {
	const char *name;	/* long name without the leading "--" */
	unsigned flags;
};

#define CLI_MAX_POS 4
#define CLI_MAX_VALS 128

struct cli_optval {
	int opt;		/* index in the option table */
	const char *val;	/* points into argv; "" for a flag */
};

/* Parsed arguments; every string points into argv (borrowed). --help, -h
 * and --json are understood by every parser and never need a table entry. */
struct cli_args {
	const char *pos[CLI_MAX_POS];
	int n_pos;
	struct cli_optval vals[CLI_MAX_VALS];
	int n_vals;
	int next;		/* stop_at_pos: index of the first positional */
	bool help;
	bool json;
};

/* Parse argv[1..argc-1] (argv[0] is the command's own name). With
 * stop_at_pos, stop at the first positional argument (global options);
 * else positionals and options may be mixed and "--" ends options.
 * Returns 0, or -EINVAL with a usage message in err. */
int cli_args_parse(struct cli_args *a, const struct cli_opt *opts, size_t n_opts, int argc,
		   char **argv, bool stop_at_pos, struct ovn_err *err);
/* The last value given for option opt, or NULL when absent. */
const char *cli_arg_get(const struct cli_args *a, int opt);
/* How many times option opt was given. */
int cli_arg_count(const struct cli_args *a, int opt);
/* Values of a repeatable option in order: start with *cursor = 0; NULL at
 * the end. for (int i = 0; (v = cli_arg_next(a, OPT, &i));) ... */
const char *cli_arg_next(const struct cli_args *a, int opt, int *cursor);

/* --- client-side checks (args.c); 0 or -EINVAL with a message naming the
 * option and the fix. The agent validates everything again. --- */
int cli_check_network_name(const char *name, struct ovn_err *err);
int cli_check_dns_name(const char *opt, const char *name, struct ovn_err *err);
int cli_parse_uint(const char *opt, const char *s, unsigned long min, unsigned long max,
		   unsigned long *out, struct ovn_err *err);

/* obj[key] = v (reference stolen); -ENOMEM when v is NULL or on failure. */
int cli_json_set(json_t *obj, const char *key, json_t *v);
/* obj[key] = string s; -EINVAL naming opt when s is not UTF-8 (JSON
 * cannot carry it), -ENOMEM. */
int cli_json_set_str(json_t *obj, const char *key, const char *opt, const char *s,
		     struct ovn_err *err);

/* --- leaf commands (args.c) --- */

/* One API request. path is built into the fixed buffer. */
struct cli_req {
	const char *method;
	char path[256];
	json_t *body;		/* owned; NULL when the request has no body */
};

/* Last lines of every leaf's usage: the options cli_leaf_build handles
 * itself, so each leaf's help says them in the same words. */
#define CLI_USAGE_HELP	"  -h, --help          show this help\n"
#define CLI_USAGE_JSON	"  --json              print the agent's answer as JSON\n" CLI_USAGE_HELP

struct cli_leaf {
	const char *name;	/* "network attach", for messages */
	const char *usage;	/* printed by --help */
	const struct cli_opt *opts;
	size_t n_opts;
	int n_pos;		/* exact number of positional arguments */
	const char *pos_desc;	/* "a network NAME", for "needs" messages */
	/* Turn parsed arguments into req. 0, or -EINVAL (usage) / -ENOMEM. */
	int (*build)(const struct cli_args *a, struct cli_req *req, struct ovn_err *err);
	/* Print a 2xx answer for humans; NULL prints it as JSON. 0 or
	 * -EPROTO when the answer does not have the expected shape. */
	int (*show)(FILE *out, const json_t *answer, struct ovn_err *err);
};

/* argv -> request: 0 = req built (free with cli_req_clear), 1 = --help
 * was asked, -EINVAL = usage error (message in err), -ENOMEM. a receives
 * the parsed arguments (so --json after the command can be honoured). */
int cli_leaf_build(const struct cli_leaf *leaf, int argc, char **argv, struct cli_args *a,
		   struct cli_req *req, struct ovn_err *err);
void cli_req_clear(struct cli_req *req);
/* Parse, send, print; returns the process exit code. */
int cli_leaf_run(struct cli_ctx *ctx, const struct cli_leaf *leaf, int argc, char **argv);
/* Print "ovnctl: msg" on one line (control characters blanked) and, when
 * hint_cmd is not NULL, "Run 'ovnctl <hint_cmd> --help'" ("" = top level). */
void cli_error(struct cli_ctx *ctx, const char *msg, const char *hint_cmd);

/* --- output (output.c) --- */

/* Writes a human rendering of v to f; v is NULL when the member is absent. */
typedef void (*cli_fmt_fn)(FILE *f, const json_t *v);

struct cli_col {
	const char *title;	/* column header, or the key label in kv tables */
	const char *key;	/* member of each JSON object */
	cli_fmt_fn fmt;		/* NULL = cli_fmt_value */
};

/* Scalars as text, arrays joined by ",", objects as k=v joined by ",",
 * null or absent as "-". Control characters become '?'. */
void cli_fmt_value(FILE *f, const json_t *v);
/* rows must be an array of objects; column widths come from the data. */
int cli_print_table(FILE *out, const json_t *rows, const struct cli_col *cols, size_t n_cols,
		    struct ovn_err *err);
/* Two columns: each member of obj in order, key then value; fmts may
 * override the label and format of some keys (n_fmts may be 0). */
int cli_print_kv(FILE *out, const json_t *obj, const struct cli_col *fmts, size_t n_fmts,
		 struct ovn_err *err);
/* Pretty JSON, two-space indent, newline at the end. */
int cli_print_json(FILE *out, const json_t *v, struct ovn_err *err);
/* show function printing the answer as JSON (network inspect). */
int cli_show_json(FILE *out, const json_t *answer, struct ovn_err *err);

/* --- commands (cmd_*.c); argv[0] is the leaf's own name --- */
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_ls(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_inspect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_rm(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_attach(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_detach(struct cli_ctx *ctx, int argc, char **argv);
int cmd_endpoint_ls(struct cli_ctx *ctx, int argc, char **argv);
int cmd_members(struct cli_ctx *ctx, int argc, char **argv);
int cmd_keys_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_keys_install(struct cli_ctx *ctx, int argc, char **argv);
int cmd_keys_use(struct cli_ctx *ctx, int argc, char **argv);
int cmd_keys_remove(struct cli_ctx *ctx, int argc, char **argv);
int cmd_keys_generate(struct cli_ctx *ctx, int argc, char **argv);

/* ovnctl.c: the whole program with its streams injected (main() calls it
 * with stdout/stderr; tests with memory streams). */
int ovnctl_run(int argc, char **argv, FILE *out, FILE *err);

#endif
