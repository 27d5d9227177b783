/* cmd_gossip.c: `ovnctl members` (GET /v1/members) and `ovnctl keys
 * list|install|use|remove|generate` (GET/POST /v1/keys): the gossip view of
 * the cluster and the rotation of its encryption keys.
 *
 * Rotation is three steps, each waiting until every live member shows it:
 * install the new key everywhere, use it everywhere, remove the old one.
 * `keys generate` needs no agent: it prints a fresh random key.
 *
 * Static names carry a gs_ prefix: the unit test includes every cli .c file
 * into one translation unit.
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static int gs_members_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/v1/members");
	return 0;
}

/* Round trip in ms; -1 (not probed yet, or this host) shows as '-'. */
static void gs_fmt_rtt(FILE *f, const json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		fprintf(f, "%" JSON_INTEGER_FORMAT "ms", json_integer_value(v));
	else
		fputc('-', f);
}

static int gs_members_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	static const struct cli_col cols[] = {
		{ "NAME", "name", NULL },
		{ "ADDRESS", "address", NULL },
		{ "PORT", "port", NULL },
		{ "STATUS", "status", NULL },
		{ "RTT", "rtt_ms", gs_fmt_rtt },
		{ "TAGS", "tags", NULL },
	};

	return cli_print_table(out, answer, cols, ARRAY_SIZE(cols), err);
}

static const struct cli_leaf gs_members_leaf = {
	.name = "members",
	.usage =
		"Usage: ovnctl members [--json]\n"
		"\n"
		"List the hosts gossip knows, this one included: name, underlay address,\n"
		"status (alive, suspect, failed, left), round trip of the last direct\n"
		"probe, and tags (vtep, fingerprints of the keys it holds, primary starred).\n"
		"\n"
		"Options:\n"
		CLI_USAGE_JSON,
	.n_pos = 0,
	.build = gs_members_build,
	.show = gs_members_show,
};

int cmd_members(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &gs_members_leaf, argc, argv);
}

static int gs_list_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/v1/keys");
	return 0;
}

static int gs_list_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	static const struct cli_col cols[] = {
		{ "FINGERPRINT", "fingerprint", NULL },
		{ "PRIMARY", "primary", NULL },
		{ "MEMBERS", "members", NULL },
		{ "PRIMARY_ON", "primary_on", NULL },
		{ "LIVE", "live", NULL },
	};

	return cli_print_table(out, answer, cols, ARRAY_SIZE(cols), err);
}

static const struct cli_leaf gs_list_leaf = {
	.name = "keys list",
	.usage =
		"Usage: ovnctl keys list [--json]\n"
		"\n"
		"The keys of this host's gossip keyring (by fingerprint; keys are never\n"
		"shown), the primary first, and on how many live members each is installed\n"
		"and primary.\n"
		"\n"
		"Options:\n"
		CLI_USAGE_JSON,
	.n_pos = 0,
	.build = gs_list_build,
	.show = gs_list_show,
};

static int gs_op_build(const char *op, const struct cli_args *a, struct cli_req *req,
		       struct ovn_err *err)
{
	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/v1/keys");
	req->body = json_pack("{s:s}", "op", op);
	if (!req->body)
		return -ENOMEM;
	return cli_json_set_str(req->body, "key", "KEY", a->pos[0], err);
}

static int gs_install_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	return gs_op_build("install", a, req, err);
}

static int gs_use_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	return gs_op_build("use", a, req, err);
}

static int gs_remove_build(const struct cli_args *a, struct cli_req *req, struct ovn_err *err)
{
	return gs_op_build("remove", a, req, err);
}

static int gs_op_show(FILE *out, const json_t *answer, struct ovn_err *err)
{
	const char *op = NULL, *fp = NULL;
	json_int_t done = 0, live = 0;

	if (json_unpack((json_t *)answer, "{s:s, s:s, s:I, s:I}", "op", &op, "fingerprint", &fp,
			"done", &done, "live", &live) < 0)
		return ovn_err_set(err, -EPROTO, "unexpected answer from the agent");
	fprintf(out, "key %s: %s on %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
		" live members\n", fp, op, done, live);
	return 0;
}

#define GS_OP_LEAF(var, verb, text)						\
	static const struct cli_leaf var = {					\
		.name = "keys " #verb,						\
		.usage = "Usage: ovnctl keys " #verb " KEY [--json]\n\n" text	\
			 "\nOptions:\n" CLI_USAGE_JSON,				\
		.n_pos = 1,							\
		.pos_desc = "a KEY",						\
		.build = gs_##verb##_build,					\
		.show = gs_op_show,						\
	}

GS_OP_LEAF(gs_install_leaf, install,
	   "Install KEY (base64, 32 bytes: see 'keys generate') on every member. It\n"
	   "opens packets from then on; what is sent stays sealed with the primary key.\n"
	   "Waits until every live member holds it (5 s at most; exit 1 if not).\n");
GS_OP_LEAF(gs_use_leaf, use,
	   "Make KEY (base64, or its fingerprint) the primary key everywhere: the key\n"
	   "every packet is sealed with. Refused unless every live member holds it.\n");
GS_OP_LEAF(gs_remove_leaf, remove,
	   "Remove KEY (base64, or its fingerprint) from every member. Refused while it\n"
	   "is the primary key of any live member.\n");

int cmd_keys_generate(struct cli_ctx *ctx, int argc, char **argv)
{
	uint8_t key[32];
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs("Usage: ovnctl keys generate\n\n"
		      "Print a new random gossip key (32 bytes, base64). A keyring file is a JSON\n"
		      "array of such keys, the primary first: [\"KEY\"].\n", ctx->out);
		return CLI_EXIT_OK;
	}
	if (argc > 1) {
		cli_error(ctx, "keys generate takes no arguments", "keys generate");
		return CLI_EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		cli_error(ctx, "libsodium failed to initialise", NULL);
		return CLI_EXIT_FAIL;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	fprintf(ctx->out, "%s\n", b64);
	return CLI_EXIT_OK;
}

int cmd_keys_list(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &gs_list_leaf, argc, argv);
}

int cmd_keys_install(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &gs_install_leaf, argc, argv);
}

int cmd_keys_use(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &gs_use_leaf, argc, argv);
}

int cmd_keys_remove(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_leaf_run(ctx, &gs_remove_leaf, argc, argv);
}
