/* args.c: the machinery every ovnctl command shares: a table-driven long
 * option parser, client-side value checks, and cli_leaf_run(), which turns
 * one leaf command's arguments into one API request, sends it and prints
 * the answer, mapping every outcome to exit code 0, 1 or 2.
 *
 * Options are long only ("--subnet CIDR" or "--subnet=CIDR"), plus -h; no
 * abbreviations, so scripts never change meaning when an option is added.
 * Options and positionals may be mixed; "--" ends options.
 *
 * Does not: know any command (cmd_*.c), speak HTTP (client.c), format
 * tables (output.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "util.h"

static int find_opt(const struct cli_opt *opts, size_t n_opts, const char *name, size_t nlen)
{
	for (size_t i = 0; i < n_opts; i++)
		if (!strncmp(opts[i].name, name, nlen) && !opts[i].name[nlen])
			return (int)i;
	return -1;
}

static int add_val(struct cli_args *a, int opt, const char *val, struct ovn_err *err)
{
	if (a->n_vals == CLI_MAX_VALS)
		return ovn_err_set(err, -EINVAL, "too many options (at most %d)", CLI_MAX_VALS);
	a->vals[a->n_vals].opt = opt;
	a->vals[a->n_vals].val = val;
	a->n_vals++;
	return 0;
}

/* --help and --json belong to every command. Returns 1 when s was one. */
static int parse_builtin(struct cli_args *a, const char *name, size_t nlen, bool has_eq,
			 struct ovn_err *err)
{
	bool *flag;

	if (nlen == 4 && !strncmp(name, "help", 4))
		flag = &a->help;
	else if (nlen == 4 && !strncmp(name, "json", 4))
		flag = &a->json;
	else
		return 0;
	if (has_eq)
		return ovn_err_set(err, -EINVAL, "option '--%.*s' takes no value", (int)nlen, name);
	*flag = true;
	return 1;
}

/* Parse argv[*i], an option; consumes argv[*i + 1] when it is the value. */
static int parse_opt(struct cli_args *a, const struct cli_opt *opts, size_t n_opts, int argc,
		     char **argv, int *i, struct ovn_err *err)
{
	const char *s = argv[*i], *name = s + 2, *eq, *val;
	size_t nlen;
	int k, r;

	if (!strcmp(s, "-h")) {
		a->help = true;
		return 0;
	}
	if (s[1] != '-')
		return ovn_err_set(err, -EINVAL, "unknown option '%s'", s);
	eq = strchr(name, '=');
	nlen = eq ? (size_t)(eq - name) : strlen(name);
	r = parse_builtin(a, name, nlen, eq != NULL, err);
	if (r)
		return r < 0 ? r : 0;
	k = find_opt(opts, n_opts, name, nlen);
	if (k < 0)
		return ovn_err_set(err, -EINVAL, "unknown option '--%.*s'", (int)nlen, name);
	if (!(opts[k].flags & CLI_OPT_ARG)) {
		if (eq)
			return ovn_err_set(err, -EINVAL, "option '--%s' takes no value",
					   opts[k].name);
		return add_val(a, k, "", err);
	}
	/* "--name --ip X" is a forgotten value, not a name "--ip". */
	if (!eq && (*i + 1 >= argc || !strncmp(argv[*i + 1], "--", 2)))
		return ovn_err_set(err, -EINVAL, "option '--%s' needs a value", opts[k].name);
	val = eq ? eq + 1 : argv[++*i];
	if (!*val)
		return ovn_err_set(err, -EINVAL, "option '--%s' needs a value", opts[k].name);
	if (!(opts[k].flags & CLI_OPT_MULTI) && cli_arg_count(a, k))
		return ovn_err_set(err, -EINVAL, "option '--%s' given twice", opts[k].name);
	return add_val(a, k, val, err);
}

int cli_args_parse(struct cli_args *a, const struct cli_opt *opts, size_t n_opts, int argc,
		   char **argv, bool stop_at_pos, struct ovn_err *err)
{
	bool opts_done = false;
	int r;

	memset(a, 0, sizeof(*a));
	a->next = argc;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!opts_done && !strcmp(s, "--")) {
			opts_done = true;
			continue;
		}
		if (opts_done || s[0] != '-' || !s[1]) {
			if (stop_at_pos) {
				a->next = i;
				return 0;
			}
			if (a->n_pos == CLI_MAX_POS)
				return ovn_err_set(err, -EINVAL, "unexpected argument '%s'", s);
			a->pos[a->n_pos++] = s;
			continue;
		}
		r = parse_opt(a, opts, n_opts, argc, argv, &i, err);
		if (r < 0)
			return r;
		if (a->help)
			return 0;
	}
	return 0;
}

const char *cli_arg_get(const struct cli_args *a, int opt)
{
	const char *val = NULL;

	for (int i = 0; i < a->n_vals; i++)
		if (a->vals[i].opt == opt)
			val = a->vals[i].val;
	return val;
}

int cli_arg_count(const struct cli_args *a, int opt)
{
	int n = 0;

	for (int i = 0; i < a->n_vals; i++)
		n += a->vals[i].opt == opt;
	return n;
}

const char *cli_arg_next(const struct cli_args *a, int opt, int *cursor)
{
	while (*cursor < a->n_vals) {
		const struct cli_optval *v = &a->vals[(*cursor)++];

		if (v->opt == opt)
			return v->val;
	}
	return NULL;
}

int cli_json_set(json_t *obj, const char *key, json_t *v)
{
	/* json_object_set_new() drops v itself when it fails. */
	if (!v || json_object_set_new(obj, key, v))
		return -ENOMEM;
	return 0;
}

int cli_json_set_str(json_t *obj, const char *key, const char *opt, const char *s,
		     struct ovn_err *err)
{
	json_t *v = json_string(s);

	/* json_string() fails on invalid UTF-8 (or, far less likely, out of
	 * memory); the first is the user's to fix, so say that. */
	if (!v)
		return ovn_err_set(err, -EINVAL, "%s '%s' is not valid UTF-8", opt, s);
	return cli_json_set(obj, key, v);
}

/* --- value checks: the same rules as docs/api.md, checked here only to
 * give the error before a round trip, with the option's name in it. --- */

int cli_check_network_name(const char *name, struct ovn_err *err)
{
	size_t len = strlen(name);
	bool ok = len >= 1 && len <= 64 && isalnum((unsigned char)name[0]);

	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char)name[i]) || strchr("_.-", name[i]);
	if (ok)
		return 0;
	return ovn_err_set(err, -EINVAL,
			   "bad network name '%s': use 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit",
			   name);
}

int cli_check_dns_name(const char *opt, const char *name, struct ovn_err *err)
{
	size_t len = strlen(name), label = 0;
	bool ok = len >= 1 && len <= 253;

	for (size_t i = 0; ok && i <= len; i++) {
		if (i == len || name[i] == '.') {
			ok = label >= 1 && label <= 63;
			label = 0;
			continue;
		}
		ok = isalnum((unsigned char)name[i]) || name[i] == '-';
		label++;
	}
	if (ok)
		return 0;
	return ovn_err_set(err, -EINVAL,
			   "bad %s '%s': use DNS labels of 1-63 of A-Z a-z 0-9 - with dots between them",
			   opt, name);
}

int cli_parse_uint(const char *opt, const char *s, unsigned long min, unsigned long max,
		   unsigned long *out, struct ovn_err *err)
{
	unsigned long n = 0;
	size_t len = strlen(s);

	/* Digits only: strtoul would take " 12", "+12", "-1" and "0x10". */
	if (!len || len > 10 || strspn(s, "0123456789") != len)
		return ovn_err_set(err, -EINVAL, "%s '%s' is not a number", opt, s);
	for (size_t i = 0; i < len; i++)
		n = n * 10 + (unsigned long)(s[i] - '0');
	if (n < min || n > max)
		return ovn_err_set(err, -EINVAL, "%s %s is out of range (%lu-%lu)", opt, s, min,
				   max);
	*out = n;
	return 0;
}

/* --- leaf commands --- */

void cli_req_clear(struct cli_req *req)
{
	json_decref(req->body);
	req->body = NULL;
}

int cli_leaf_build(const struct cli_leaf *leaf, int argc, char **argv, struct cli_args *a,
		   struct cli_req *req, struct ovn_err *err)
{
	int r;

	memset(req, 0, sizeof(*req));
	r = cli_args_parse(a, leaf->opts, leaf->n_opts, argc, argv, false, err);
	if (r < 0)
		return r;
	if (a->help)
		return 1;
	if (a->n_pos < leaf->n_pos)
		return ovn_err_set(err, -EINVAL, "%s needs %s", leaf->name, leaf->pos_desc);
	if (a->n_pos > leaf->n_pos)
		return ovn_err_set(err, -EINVAL, "unexpected argument '%s'", a->pos[leaf->n_pos]);
	r = leaf->build(a, req, err);
	if (r < 0)
		cli_req_clear(req);
	if (r == -ENOMEM)
		ovn_err_set(err, r, "out of memory");
	return r;
}

void cli_error(struct cli_ctx *ctx, const char *msg, const char *hint_cmd)
{
	/* One line whatever the agent put in its message. */
	fputs("ovnctl: ", ctx->err);
	for (const char *p = msg; *p; p++)
		fputc(iscntrl((unsigned char)*p) ? ' ' : *p, ctx->err);
	fputc('\n', ctx->err);
	if (hint_cmd)
		fprintf(ctx->err, "Run 'ovnctl %s%s--help'\n", hint_cmd, *hint_cmd ? " " : "");
}

/* A non-2xx answer: the agent's own "error" text when it sent one. */
static int api_error(const struct cli_resp *resp, struct ovn_err *err)
{
	json_t *body = json_loadb(resp->body, resp->body_len, 0, NULL);
	const char *msg = json_string_value(json_object_get(body, "error"));

	if (msg && *msg)
		ovn_err_set(err, -EREMOTEIO, "%s", msg);
	else
		ovn_err_set(err, -EREMOTEIO, "ovnagent answered %d %s", resp->status,
			    resp->reason);
	json_decref(body);
	return -EREMOTEIO;
}

/* Send req; on a 2xx answer set *answer (NULL for an empty body). */
static int leaf_exchange(const struct cli_ctx *ctx, const struct cli_req *req, json_t **answer,
			 struct ovn_err *err)
{
	struct cli_resp resp = { 0 };
	json_error_t jerr;
	char *body = NULL;
	int ret = -ENOMEM;

	if (req->body) {
		body = json_dumps(req->body, JSON_COMPACT);
		if (!body)
			goto out;
	}
	ret = cli_http_request(ctx->socket, ctx->timeout_ms, req->method, req->path, body, &resp,
			       err);
	if (ret < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		ret = api_error(&resp, err);
		goto out;
	}
	if (!resp.body_len)
		goto out;
	*answer = json_loadb(resp.body, resp.body_len, 0, &jerr);
	if (!*answer)
		ret = ovn_err_set(err, -EPROTO, "bad answer from ovnagent at %s: not JSON (%s)",
				  ctx->socket, jerr.text);
out:
	if (ret == -ENOMEM)
		ovn_err_set(err, ret, "out of memory");
	cli_resp_free(&resp);
	free(body);
	return ret;
}

int cli_leaf_run(struct cli_ctx *ctx, const struct cli_leaf *leaf, int argc, char **argv)
{
	struct ovn_err err = { 0 };
	json_t *answer = NULL;
	struct cli_args a;
	struct cli_req req;
	int ret = CLI_EXIT_FAIL;
	int r;

	r = cli_leaf_build(leaf, argc, argv, &a, &req, &err);
	if (r == 1) {
		fputs(leaf->usage, ctx->out);
		return CLI_EXIT_OK;
	}
	if (r < 0) {
		cli_error(ctx, err.msg, r == -EINVAL ? leaf->name : NULL);
		return r == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
	}
	if (a.json)
		ctx->json = true;
	r = leaf_exchange(ctx, &req, &answer, &err);
	if (r < 0 || !answer)
		goto out;
	if (ctx->json || !leaf->show)
		r = cli_print_json(ctx->out, answer, &err);
	else
		r = leaf->show(ctx->out, answer, &err);
out:
	if (r < 0)
		cli_error(ctx, err.msg, NULL);
	else
		ret = CLI_EXIT_OK;
	json_decref(answer);
	cli_req_clear(&req);
	return ret;
}
