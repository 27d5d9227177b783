/* test_cli.c: ovnctl without root and without an agent.
 *
 * The Makefile links unit tests with libovn.a only, not cli/, so this file
 * includes every cli .c file (ovnctl.c with OVNCTL_NO_MAIN, which leaves
 * main() out) and sees their statics: the leaves' build functions are
 * called directly. Statics in cli/ therefore carry per-file prefixes.
 *
 * Covered: the option parser; argv -> (method, path, JSON body) for every
 * leaf, and the usage errors; exit codes and error lines of ovnctl_run()
 * for usage errors; HTTP head parsing; table, key/value and value
 * formatting; and end to end, a tiny HTTP responder on a unix socket in a
 * mkdtemp directory (a thread answering one canned response per case) to
 * check request bytes, status -> exit code and error printing, plus the
 * request timeout and an unreachable socket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>

#define OVNCTL_NO_MAIN
#include "../../cli/args.c"
#include "../../cli/client.c"
#include "../../cli/output.c"
#include "../../cli/cmd_status.c"
#include "../../cli/cmd_network.c"
#include "../../cli/cmd_endpoint.c"
#include "../../cli/cmd_gossip.c"
#include "../../cli/ovnctl.c"

static int count_argv(const char *const *argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

/* ------------------------------------------------------------ the parser */

enum { T_A, T_B, T_F };

static const struct cli_opt t_opts[] = {
	[T_A] = { "aa", CLI_OPT_ARG },
	[T_B] = { "bb", CLI_OPT_ARG | CLI_OPT_MULTI },
	[T_F] = { "ff", 0 },
};

static void test_args_parse(void **state)
{
	static const struct {
		const char *argv[10];
		int rc;
		const char *err;
		int n_pos, n_b;
		const char *a;
		bool help, json, flag;
	} v[] = {
		{ { "x", "p", "--aa", "1", "--bb=2", "--bb", "3", "--ff", NULL },
		  .n_pos = 1, .n_b = 2, .a = "1", .flag = true },
		{ { "x", "--aa=", NULL }, .rc = -EINVAL, .err = "option '--aa' needs a value" },
		{ { "x", "--aa", NULL }, .rc = -EINVAL, .err = "option '--aa' needs a value" },
		{ { "x", "--aa", "--ff", NULL }, .rc = -EINVAL, .err = "option '--aa' needs a value" },
		{ { "x", "--aa", "1", "--aa", "2", NULL }, .rc = -EINVAL, .err = "option '--aa' given twice" },
		{ { "x", "--ff=1", NULL }, .rc = -EINVAL, .err = "option '--ff' takes no value" },
		{ { "x", "--json=1", NULL }, .rc = -EINVAL, .err = "option '--json' takes no value" },
		{ { "x", "--a", "1", NULL }, .rc = -EINVAL, .err = "unknown option '--a'" },
		{ { "x", "-a", NULL }, .rc = -EINVAL, .err = "unknown option '-a'" },
		{ { "x", "--zz=3", NULL }, .rc = -EINVAL, .err = "unknown option '--zz'" },
		{ { "x", "-h", "--zz", NULL }, .help = true },
		{ { "x", "p", "--json", "q", NULL }, .n_pos = 2, .json = true },
		{ { "x", "--", "--aa", "-", NULL }, .n_pos = 2 },
		{ { "x", "1", "2", "3", "4", "5", NULL }, .rc = -EINVAL, .err = "unexpected argument '5'" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct ovn_err err = { 0 };
		struct cli_args a;
		int r = cli_args_parse(&a, t_opts, ARRAY_SIZE(t_opts), count_argv(v[i].argv),
				       (char **)v[i].argv, false, &err);

		print_message("parse case %zu\n", i);
		assert_int_equal(r, v[i].rc);
		if (r < 0) {
			assert_string_equal(err.msg, v[i].err);
			continue;
		}
		assert_int_equal(a.n_pos, v[i].n_pos);
		assert_int_equal(cli_arg_count(&a, T_B), v[i].n_b);
		if (v[i].a)
			assert_string_equal(cli_arg_get(&a, T_A), v[i].a);
		else
			assert_null(cli_arg_get(&a, T_A));
		assert_int_equal(a.help, v[i].help);
		assert_int_equal(a.json, v[i].json);
		assert_int_equal(cli_arg_count(&a, T_F) > 0, v[i].flag);
	}
}

static void test_args_stop_at_pos(void **state)
{
	const char *argv[] = { "ovnctl", "--socket", "/x", "--json", "network", "--ff", NULL };
	struct ovn_err err = { 0 };
	struct cli_args a;
	const char *v;
	int i = 0;

	assert_int_equal(cli_args_parse(&a, global_opts, ARRAY_SIZE(global_opts), 6,
					(char **)argv, true, &err), 0);
	assert_int_equal(a.next, 4);
	assert_true(a.json);
	assert_string_equal(cli_arg_get(&a, G_SOCKET), "/x");
	v = cli_arg_next(&a, G_SOCKET, &i);
	assert_string_equal(v, "/x");
	assert_null(cli_arg_next(&a, G_SOCKET, &i));
}

static void test_parse_uint(void **state)
{
	static const struct {
		const char *s;
		unsigned long min, max;
		int rc;
		unsigned long n;
	} v[] = {
		{ "1", 1, 10, 0, 1 }, { "10", 1, 10, 0, 10 }, { "0", 1, 10, .rc = -EINVAL },
		{ "11", 1, 10, .rc = -EINVAL }, { "", 0, 10, .rc = -EINVAL }, { "+1", 0, 10, .rc = -EINVAL },
		{ "-1", 0, 10, .rc = -EINVAL }, { " 1", 0, 10, .rc = -EINVAL }, { "0x1", 0, 10, .rc = -EINVAL },
		{ "16777215", 1, 16777215, 0, 16777215 }, { "99999999999", 0, ~0UL, .rc = -EINVAL },
		{ "007", 0, 10, 0, 7 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct ovn_err err = { 0 };
		unsigned long n = 0;

		assert_int_equal(cli_parse_uint("--n", v[i].s, v[i].min, v[i].max, &n, &err),
				 v[i].rc);
		if (!v[i].rc)
			assert_int_equal(n, v[i].n);
	}
}

static void test_names(void **state)
{
	static const struct {
		const char *s;
		bool net_ok, dns_ok;
	} v[] = {
		{ "web", true, true }, { "a", true, true }, { "web-1.prod_x", true, false },
		{ "-web", false, true }, { ".web", false, false }, { "", false, false },
		{ "a b", false, false }, { "api.svc", true, true }, { "a..b", true, false },
		{ "a.", true, false }, { "web/x", false, false }, { "über", false, false },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct ovn_err err = { 0 };

		print_message("name '%s'\n", v[i].s);
		assert_int_equal(cli_check_network_name(v[i].s, &err) == 0, v[i].net_ok);
		assert_int_equal(cli_check_dns_name("--name", v[i].s, &err) == 0, v[i].dns_ok);
	}
}

/* ------------------------------------------------ argv -> (method, path, body) */

struct build_vec {
	const struct cli_leaf *leaf;
	const char *argv[24];
	int rc;
	const char *method;
	const char *path;
	const char *body;	/* expected JSON, NULL = no body */
	const char *err;	/* expected message when rc < 0 */
};

static const struct build_vec build_vecs[] = {
	{ &st_leaf, { "status", NULL }, .rc = 0, .method = "GET", "/v1/status" },
	{ &gs_members_leaf, { "members", NULL }, .rc = 0, .method = "GET", "/v1/members" },
	{ &gs_list_leaf, { "list", NULL }, .rc = 0, .method = "GET", "/v1/keys" },
	{ &gs_install_leaf, { "install", "AAAA", NULL }, .rc = 0, .method = "POST", "/v1/keys",
	  "{\"op\":\"install\",\"key\":\"AAAA\"}" },
	{ &gs_use_leaf, { "use", "0a1b2c3d", NULL }, .rc = 0, .method = "POST", "/v1/keys",
	  "{\"op\":\"use\",\"key\":\"0a1b2c3d\"}" },
	{ &gs_remove_leaf, { "remove", "k", NULL }, .rc = 0, .method = "POST", "/v1/keys",
	  "{\"op\":\"remove\",\"key\":\"k\"}" },
	{ &gs_install_leaf, { "install", NULL }, .rc = -EINVAL,
	  .err = "keys install needs a KEY" },
	{ &gs_members_leaf, { "members", "x", NULL }, .rc = -EINVAL,
	  .err = "unexpected argument 'x'" },
	{ &net_create_leaf, { "create", "web", NULL }, .rc = 0, .method = "POST", "/v1/networks",
	  "{\"name\":\"web\"}" },
	{ &net_create_leaf,
	  { "create", "--subnet", "198.19.1.0/24", "web", "--gateway", "198.19.1.254",
	    "--subnet=fd00:1::/64", "--vni=5000", "--mtu", "1400", "--internal", "--ipv6",
	    "--label", "team=a", "--label=env=prod=x", "--label", "empty=", NULL },
	  .rc = 0, .method = "POST", "/v1/networks",
	  "{\"name\":\"web\",\"subnets\":[{\"subnet\":\"198.19.1.0/24\",\"gateway\":\"198.19.1.254\"},"
	  "{\"subnet\":\"fd00:1::/64\"}],\"vni\":5000,\"mtu\":1400,\"internal\":true,"
	  "\"ipv6\":true,\"labels\":{\"team\":\"a\",\"env\":\"prod=x\",\"empty\":\"\"}}" },
	{ &net_create_leaf,
	  { "create", "web", "--gateway", "FD00:1::1", "--subnet", "fd00:1::/64", NULL }, .rc = 0,
	  .method = "POST", "/v1/networks",
	  "{\"name\":\"web\",\"subnets\":[{\"subnet\":\"fd00:1::/64\",\"gateway\":\"fd00:1::1\"}]}" },
	{ &net_create_leaf, { "create", "web", "--json", NULL }, .rc = 0, .method = "POST", "/v1/networks",
	  "{\"name\":\"web\"}" },
	{ &net_create_leaf, { "create", "--help", NULL }, .rc = 1 },
	{ &net_create_leaf, { "create", NULL }, .rc = -EINVAL, .err = "network create needs a network NAME" },
	{ &net_create_leaf, { "create", "web", "db", NULL }, -EINVAL,
	  .err = "unexpected argument 'db'" },
	{ &net_create_leaf, { "create", "we b", NULL }, -EINVAL,
	  .err = "bad network name 'we b': use 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit" },
	{ &net_create_leaf, { "create", "web", "--subnet", "nope", NULL }, -EINVAL,
	  .err = "--subnet 'nope' is not a CIDR (like 198.19.1.0/24 or fd00:1::/64)" },
	{ &net_create_leaf, { "create", "web", "--subnet", "198.19.1.0", NULL }, -EINVAL,
	  .err = "--subnet '198.19.1.0' is not a CIDR (like 198.19.1.0/24 or fd00:1::/64)" },
	{ &net_create_leaf, { "create", "web", "--subnet", "198.19.1.0/33", NULL }, -EINVAL,
	  .err = "--subnet '198.19.1.0/33' is not a CIDR (like 198.19.1.0/24 or fd00:1::/64)" },
	{ &net_create_leaf, { "create", "web", "--subnet", "fd00:1::1/64", NULL }, -EINVAL,
	  .err = "--subnet fd00:1::1/64 has host bits set: did you mean fd00:1::/64?" },
	{ &net_create_leaf,
	  { "create", "web", "--subnet", "fd00:1::/64", "--subnet", "fd00:2::/64", NULL },
	  -EINVAL,
	  .err = "more than one IPv6 --subnet (fd00:1::/64, fd00:2::/64): give at most one per family" },
	{ &net_create_leaf,
	  { "create", "web", "--subnet", "198.19.1.0/24", "--gateway", "fd00:1::1", NULL },
	  -EINVAL,
	  .err = "--gateway fd00:1::1 has no IPv6 subnet: add --subnet CIDR of that family" },
	{ &net_create_leaf,
	  { "create", "web", "--subnet", "198.19.1.0/24", "--gateway", "198.19.1.1",
	    "--gateway", "198.19.1.2", NULL },
	  -EINVAL,
	  .err = "more than one IPv4 --gateway (198.19.1.1, 198.19.1.2): give one per subnet" },
	{ &net_create_leaf,
	  { "create", "web", "--subnet", "198.19.1.0/24", "--gateway", "198.19.2.1", NULL },
	  .rc = -EINVAL, .err = "--gateway 198.19.2.1 is outside --subnet 198.19.1.0/24" },
	{ &net_create_leaf, { "create", "web", "--gateway", "x", NULL }, -EINVAL,
	  .err = "--gateway 'x' is not an IP address" },
	{ &net_create_leaf, { "create", "web", "--vni", "16777216", NULL }, -EINVAL,
	  .err = "--vni 16777216 is out of range (1-16777215)" },
	{ &net_create_leaf, { "create", "web", "--vni", "-1", NULL }, -EINVAL,
	  .err = "--vni '-1' is not a number" },
	{ &net_create_leaf, { "create", "web", "--vni", "1", "--vni", "2", NULL }, -EINVAL,
	  .err = "option '--vni' given twice" },
	{ &net_create_leaf, { "create", "web", "--mtu", "575", NULL }, -EINVAL,
	  .err = "--mtu 575 is out of range (576-9000)" },
	{ &net_create_leaf, { "create", "web", "--label", "=x", NULL }, -EINVAL,
	  .err = "--label '=x': expected KEY=VALUE" },
	{ &net_create_leaf, { "create", "web", "--label", "a=1", "--label", "a=2", NULL },
	  .rc = -EINVAL, .err = "--label a given twice" },
	{ &net_create_leaf, { "create", "web", "--internal=yes", NULL }, -EINVAL,
	  .err = "option '--internal' takes no value" },
	{ &net_create_leaf, { "create", "web", "--frob", NULL }, -EINVAL,
	  .err = "unknown option '--frob'" },
	{ &net_ls_leaf, { "ls", NULL }, .rc = 0, .method = "GET", "/v1/networks" },
	{ &net_ls_leaf, { "ls", "--subnet", "x", NULL }, -EINVAL,
	  .err = "unknown option '--subnet'" },
	{ &net_inspect_leaf, { "inspect", "web", NULL }, .rc = 0, .method = "GET", "/v1/networks/web" },
	{ &net_inspect_leaf, { "inspect", NULL }, -EINVAL,
	  .err = "network inspect needs a network NAME" },
	{ &net_rm_leaf, { "rm", "web", NULL }, .rc = 0, .method = "DELETE", "/v1/networks/web" },
	{ &net_rm_leaf, { "rm", "--force", "web", NULL }, .rc = 0, .method = "DELETE",
	  "/v1/networks/web?force=true" },
	{ &net_attach_leaf,
	  { "attach", "web", "--netns", "c1", "--name", "api", "--alias", "a1", "--alias=a2.svc",
	    "--ip", "198.19.1.5", "--ip6", "FD00:1::5", "--ifname", "eth1", "--mac",
	    "02:42:C6:13:01:05", NULL },
	  .rc = 0, .method = "POST", "/v1/networks/web/endpoints",
	  "{\"netns\":\"c1\",\"name\":\"api\",\"aliases\":[\"a1\",\"a2.svc\"],"
	  "\"ipv4\":\"198.19.1.5\",\"ipv6\":\"fd00:1::5\",\"ifname\":\"eth1\","
	  "\"mac\":\"02:42:c6:13:01:05\"}" },
	{ &net_attach_leaf, { "attach", "web", "--pid", "1234", NULL }, .rc = 0, .method = "POST",
	  "/v1/networks/web/endpoints", "{\"pid\":1234}" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "/proc/1/ns/net", NULL }, .rc = 0, .method = "POST",
	  "/v1/networks/web/endpoints", "{\"netns\":\"/proc/1/ns/net\"}" },
	{ &net_attach_leaf, { "attach", "web", NULL }, -EINVAL,
	  .err = "network attach needs --netns NAME|PATH or --pid PID" },
	{ &net_attach_leaf, { "attach", "--pid", "1", "web", "--netns", "c1", NULL }, -EINVAL,
	  .err = "--netns and --pid conflict: give only one" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--endpoint", "x", NULL },
	  .rc = -EINVAL, .err = "unknown option '--endpoint'" },
	{ &net_attach_leaf, { "attach", "web", "--pid", "0", NULL }, -EINVAL,
	  .err = "--pid 0 is out of range (1-4194304)" },
	{ &net_attach_leaf, { "attach", "web", "--pid", "12x", NULL }, -EINVAL,
	  .err = "--pid '12x' is not a number" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "run/c1", NULL }, -EINVAL,
	  .err = "--netns 'run/c1': give a name under /run/netns or an absolute path" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--ip", "fd00::1", NULL },
	  .rc = -EINVAL, .err = "--ip 'fd00::1' is not an IPv4 address" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--ip", "198.19.1.5/24", NULL },
	  -EINVAL,
	  .err = "--ip 198.19.1.5/24: give a bare address; the prefix comes from the network's subnet" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--ip6", "198.19.1.5", NULL },
	  .rc = -EINVAL, .err = "--ip6 '198.19.1.5' is not an IPv6 address" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--mac", "ff:ff:ff:ff:ff:ff", NULL },
	  .rc = -EINVAL, .err = "--mac 'ff:ff:ff:ff:ff:ff' is not a unicast MAC (like 02:42:c6:13:01:02)" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--ifname", "abcdefghijklmnop", NULL },
	  .rc = -EINVAL, .err = "--ifname 'abcdefghijklmnop': use 1-15 characters without '/', ':' or spaces" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--ifname", "eth0:1", NULL },
	  .rc = -EINVAL, .err = "--ifname 'eth0:1': use 1-15 characters without '/', ':' or spaces" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--name", "a_b", NULL }, -EINVAL,
	  .err = "bad --name 'a_b': use DNS labels of 1-63 of A-Z a-z 0-9 - with dots between them" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--alias", "a..b", NULL }, -EINVAL,
	  .err = "bad --alias 'a..b': use DNS labels of 1-63 of A-Z a-z 0-9 - with dots between them" },
	{ &net_attach_leaf,
	  { "attach", "web", "--netns", "c1", "--alias", "a", "--alias", "a", "--alias", "a",
	    "--alias", "a", "--alias", "a", "--alias", "a", "--alias", "a", "--alias", "a",
	    "--alias", "a", NULL },
	  .rc = 0, .method = "POST", "/v1/networks/web/endpoints",
	  "{\"netns\":\"c1\",\"aliases\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}" },
	{ &net_attach_leaf,
	  { "attach", "web", "--netns", "c1", "--publish", "8080:80", "--publish",
	    "198.18.0.1:53:5353/udp", "--publish=[FD00::1]:443:8443/tcp", NULL },
	  .rc = 0, .method = "POST", "/v1/networks/web/endpoints",
	  "{\"netns\":\"c1\",\"publish\":[\"8080:80/tcp\",\"198.18.0.1:53:5353/udp\","
	  "\"[fd00::1]:443:8443/tcp\"]}" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--publish", "70000:80", NULL },
	  .rc = -EINVAL,
	  .err = "publish '70000:80': ports must be numbers from 1 to 65535 (expected "
		 "[HOST_IP:]HOST_PORT:PORT[/tcp|udp])" },
	{ &net_attach_leaf, { "attach", "web", "--netns", "c1", "--publish", "80:80/sctp", NULL },
	  .rc = -EINVAL, .err = "publish '80:80/sctp': protocol must be tcp or udp" },
	{ &net_detach_leaf, { "detach", "web", "--endpoint", "9a3e0f1c2b4d6e8f", NULL }, .rc = 0, .method = "POST",
	  "/v1/networks/web/detach", "{\"endpoint\":\"9a3e0f1c2b4d6e8f\"}" },
	{ &net_detach_leaf, { "detach", "web", "--netns=c1", NULL }, .rc = 0, .method = "POST",
	  "/v1/networks/web/detach", "{\"netns\":\"c1\"}" },
	{ &net_detach_leaf, { "detach", "web", "--pid", "7", "--endpoint", "x", NULL }, -EINVAL,
	  .err = "--pid and --endpoint conflict: give only one" },
	{ &net_detach_leaf, { "detach", "web", NULL }, -EINVAL,
	  .err = "network detach needs --netns NAME|PATH, --pid PID or --endpoint ID" },
	{ &ep_ls_leaf, { "ls", NULL }, .rc = 0, .method = "GET", "/v1/endpoints" },
	{ &ep_ls_leaf, { "ls", "--network", "web", NULL }, .rc = 0, .method = "GET", "/v1/endpoints?network=web" },
	{ &ep_ls_leaf, { "ls", "--network", "web&x=1", NULL }, -EINVAL,
	  .err = "bad network name 'web&x=1': use 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit" },
};

static void check_build(const struct build_vec *v)
{
	struct ovn_err err = { 0 };
	struct cli_args a;
	struct cli_req req;
	json_t *want;
	int r;

	r = cli_leaf_build(v->leaf, count_argv(v->argv), (char **)v->argv, &a, &req, &err);
	assert_int_equal(r, v->rc);
	if (r < 0) {
		assert_string_equal(err.msg, v->err);
		assert_null(req.body);
		return;
	}
	if (r == 1)
		return;
	assert_string_equal(req.method, v->method);
	assert_string_equal(req.path, v->path);
	if (!v->body) {
		assert_null(req.body);
		return;
	}
	want = json_loads(v->body, 0, NULL);
	assert_non_null(want);
	if (!json_equal(want, req.body)) {
		char *got = json_dumps(req.body, JSON_COMPACT);

		print_message("got  %s\nwant %s\n", got, v->body);
		free(got);
		fail();
	}
	json_decref(want);
	cli_req_clear(&req);
}

static void test_build(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(build_vecs); i++) {
		print_message("build case %zu: %s %s\n", i, build_vecs[i].leaf->name,
			      build_vecs[i].argv[1] ? build_vecs[i].argv[1] : "");
		check_build(&build_vecs[i]);
	}
}

static void test_build_limits(void **state)
{
	const char *argv[CLI_MAX_VALS + 8] = { "attach", "web", "--netns", "c1" };
	struct ovn_err err = { 0 };
	struct cli_args a;
	struct cli_req req;
	int n = 4;

	for (int i = 0; i < MAX_ALIASES + 1; i++) {
		argv[n++] = "--alias";
		argv[n++] = "x";
	}
	argv[n] = NULL;
	assert_int_equal(cli_leaf_build(&net_attach_leaf, n, (char **)argv, &a, &req, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "too many --alias (at most 16)");

	/* The --json after the command reaches the caller. */
	ovn_err_clear(&err);
	argv[4] = "--json";
	assert_int_equal(cli_leaf_build(&net_attach_leaf, 5, (char **)argv, &a, &req, &err), 0);
	assert_true(a.json);
	cli_req_clear(&req);
}

/* ----------------------------------------------- ovnctl_run, no server */

struct capture {
	FILE *out, *err;
	char *out_buf, *err_buf;
	size_t out_len, err_len;
};

static void cap_open(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	c->out = open_memstream(&c->out_buf, &c->out_len);
	c->err = open_memstream(&c->err_buf, &c->err_len);
	assert_non_null(c->out);
	assert_non_null(c->err);
}

static void cap_close(struct capture *c)
{
	fclose(c->out);
	fclose(c->err);
}

static void cap_free(struct capture *c)
{
	free(c->out_buf);
	free(c->err_buf);
}

static int run_ovnctl(const char *const *argv, struct capture *c)
{
	int r;

	cap_open(c);
	r = ovnctl_run(count_argv(argv), (char **)argv, c->out, c->err);
	cap_close(c);
	return r;
}

static void test_run_usage(void **state)
{
	static const struct {
		const char *argv[12];
		int code;
		const char *out;	/* prefix of stdout */
		const char *err;	/* all of stderr */
	} v[] = {
		{ { "ovnctl", NULL }, 2, "",
		  "ovnctl: missing command (one of: status, network, endpoint, members, keys)\nRun 'ovnctl --help'\n" },
		{ { "ovnctl", "--help", NULL }, 0, "Usage: ovnctl [--socket PATH]", "" },
		{ { "ovnctl", "-h", "network", NULL }, 0, "Usage: ovnctl [--socket PATH]", "" },
		{ { "ovnctl", "--version", NULL }, 0, "ovnctl " OVN_VERSION "\n", "" },
		{ { "ovnctl", "--frob", "status", NULL }, 2, "",
		  "ovnctl: unknown option '--frob'\nRun 'ovnctl --help'\n" },
		{ { "ovnctl", "--socket", NULL }, 2, "",
		  "ovnctl: option '--socket' needs a value\nRun 'ovnctl --help'\n" },
		{ { "ovnctl", "frob", NULL }, 2, "",
		  "ovnctl: unknown command 'frob'\nRun 'ovnctl --help'\n" },
		{ { "ovnctl", "network", NULL }, 2, "",
		  "ovnctl: missing command (one of: create, ls, inspect, rm, attach, detach)\n"
		  "Run 'ovnctl network --help'\n" },
		{ { "ovnctl", "network", "--help", NULL }, 0, "Usage: ovnctl network COMMAND", "" },
		{ { "ovnctl", "network", "--json", "ls", NULL }, 2, "",
		  "ovnctl: option '--json' must follow 'ovnctl network COMMAND'\n"
		  "Run 'ovnctl network --help'\n" },
		{ { "ovnctl", "endpoint", "rm", NULL }, 2, "",
		  "ovnctl: unknown command 'endpoint rm'\nRun 'ovnctl endpoint --help'\n" },
		{ { "ovnctl", "network", "attach", "--help", NULL }, 0,
		  "Usage: ovnctl network attach NAME (--netns NAME|PATH | --pid PID)", "" },
		{ { "ovnctl", "--socket=/nonexistent/ovn.sock", "network", "attach", "web", "--netns",
		    "c1", "--pid", "1", NULL }, 2, "",
		  "ovnctl: --netns and --pid conflict: give only one\n"
		  "Run 'ovnctl network attach --help'\n" },
		{ { "ovnctl", "network", "create", "web", "--vni", "x", NULL }, 2, "",
		  "ovnctl: --vni 'x' is not a number\nRun 'ovnctl network create --help'\n" },
		{ { "ovnctl", "endpoint", "ls", "x", NULL }, 2, "",
		  "ovnctl: unexpected argument 'x'\nRun 'ovnctl endpoint ls --help'\n" },
		{ { "ovnctl", "--socket", "/nonexistent/ovn.sock", "status", NULL }, 1, "",
		  "ovnctl: cannot reach ovnagent at /nonexistent/ovn.sock: No such file or directory "
		  "(is ovnagent running? set --socket or OVN_SOCKET)\n" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct capture c;

		print_message("run case %zu: %s\n", i, v[i].argv[1] ? v[i].argv[1] : "");
		assert_int_equal(run_ovnctl(v[i].argv, &c), v[i].code);
		assert_true(!strncmp(c.out_buf, v[i].out, strlen(v[i].out)));
		assert_string_equal(c.err_buf, v[i].err);
		cap_free(&c);
	}
}

/* ------------------------------------------------------- HTTP head parse */

static void test_parse_head(void **state)
{
	static const struct {
		const char *in;
		int rc;
		int status;
		const char *reason;
		long long clen;
		size_t head_len;
	} v[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, 200, "OK", 2, 38 },
		{ "HTTP/1.1 404 Not Found\r\ncontent-length:  0 \r\nX: y\r\n\r\n", 0, 404,
		  "Not Found", 0, 53 },
		{ "HTTP/1.0 500\r\n\r\n", 0, 500, "", -1, 16 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", .rc = -EAGAIN },
		{ "", .rc = -EAGAIN },
		{ "HTTP/2 200 OK\r\n\r\n", .rc = -EPROTO },
		{ "HTTP/1.1 20 OK\r\n\r\n", .rc = -EPROTO },
		{ "HTTP/1.1 700 What\r\n\r\n", .rc = -EPROTO },
		{ "HTTP/1.1 200OK\r\n\r\n", .rc = -EPROTO },
		{ "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", .rc = -EPROTO },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", .rc = -EPROTO },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .rc = -EPROTO },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", 0, 200, "OK",
		  2, 57 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .rc = -EPROTO },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct cli_resp resp = { 0 };
		struct ovn_err err = { 0 };
		size_t head_len = 0;
		long long clen = 0;
		int r = cli_http_parse_head(v[i].in, strlen(v[i].in), &resp, &head_len, &clen, &err);

		print_message("head case %zu\n", i);
		assert_int_equal(r, v[i].rc);
		if (r)
			continue;
		assert_int_equal(resp.status, v[i].status);
		assert_string_equal(resp.reason, v[i].reason);
		assert_int_equal(clen, v[i].clen);
		assert_int_equal(head_len, v[i].head_len);
	}
}

/* ---------------------------------------------------------------- output */

static char *show_to_string(int (*show)(FILE *, const json_t *, struct ovn_err *),
			    const char *json, int *rc)
{
	struct ovn_err err = { 0 };
	json_t *v = json_loads(json, 0, NULL);
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(v);
	assert_non_null(f);
	*rc = show(f, v, &err);
	fclose(f);
	json_decref(v);
	return buf;
}

static void test_output(void **state)
{
	static const struct {
		int (*show)(FILE *, const json_t *, struct ovn_err *);
		const char *in;
		int rc;
		const char *out;
	} v[] = {
		{ net_ls_show,
		  "[{\"name\":\"web\",\"vni\":4097,\"mtu\":1350,\"internal\":false,"
		  "\"subnets\":[{\"subnet\":\"198.19.1.0/24\",\"gateway\":\"198.19.1.1\"},"
		  "{\"subnet\":\"fd00:1::/64\",\"gateway\":\"fd00:1::1\"}],\"endpoints\":2},"
		  "{\"name\":\"db-internal\",\"vni\":4098,\"mtu\":1310,\"internal\":true,"
		  "\"encrypted\":true,"
		  "\"subnets\":[{\"subnet\":\"198.19.2.0/24\"}],\"endpoints\":0}]",
		  0,
		  "NAME          VNI    SUBNETS                     MTU    ENDPOINTS   INTERNAL   "
		  "ENCRYPTED\n"
		  "web           4097   198.19.1.0/24,fd00:1::/64   1350   2           false      -\n"
		  "db-internal   4098   198.19.2.0/24               1310   0           true       "
		  "true\n" },
		{ net_ls_show, "[]", 0,
		  "NAME   VNI   SUBNETS   MTU   ENDPOINTS   INTERNAL   ENCRYPTED\n" },
		{ net_ls_show, "{}", -EPROTO, "" },
		{ net_ls_show, "[1]", -EPROTO, "" },
		{ ep_ls_show,
		  "[{\"id\":\"9a3e0f1c2b4d6e8f\",\"network\":\"web\",\"name\":\"api\","
		  "\"netns\":\"/run/netns/c1\",\"ifname\":\"eth0\",\"mac\":\"02:42:c6:13:01:02\","
		  "\"ipv4\":\"198.19.1.2/24\",\"ipv6\":\"fd00:1::2/64\"},"
		  "{\"id\":\"11\",\"network\":\"web\",\"name\":\"x\\ny\",\"netns\":\"/proc/7/ns/net\","
		  "\"ifname\":\"eth1\",\"mac\":\"06:aa:bb:cc:dd:ee\",\"ipv6\":\"fd00:1::3/64\"}]",
		  0,
		  "ID                 NETWORK   NAME   IPV4            IPV6           MAC                 NETNS            IFNAME\n"
		  "9a3e0f1c2b4d6e8f   web       api    198.19.1.2/24   fd00:1::2/64   02:42:c6:13:01:02   /run/netns/c1    eth0\n"
		  "11                 web       x?y    -               fd00:1::3/64   06:aa:bb:cc:dd:ee   /proc/7/ns/net   eth1\n" },
		{ st_show,
		  "{\"node\":\"host1\",\"version\":\"0.1.0\",\"advertise\":\"198.18.0.1\","
		  "\"networks\":2,\"endpoints\":3,\"uptime_s\":93784}",
		  0,
		  "node        host1\n"
		  "version     0.1.0\n"
		  "advertise   198.18.0.1\n"
		  "networks    2\n"
		  "endpoints   3\n"
		  "uptime      1d 2h 3m 4s\n" },
		{ st_show, "{\"uptime_s\":59}", 0, "uptime   59s\n" },
		{ st_show, "{\"uptime_s\":3600}", 0, "uptime   1h 0m 0s\n" },
		{ net_create_show,
		  "{\"name\":\"web\",\"vni\":4097,\"subnets\":[{\"subnet\":\"198.19.1.0/24\","
		  "\"gateway\":\"198.19.1.1\"},{\"subnet\":\"fd00:1::/64\"}],\"labels\":{\"a\":\"1\","
		  "\"b\":\"2\"},\"internal\":false}",
		  0,
		  "name       web\n"
		  "vni        4097\n"
		  "subnets    198.19.1.0/24 gw 198.19.1.1, fd00:1::/64\n"
		  "labels     a=1,b=2\n"
		  "internal   false\n" },
		{ net_attach_show,
		  "{\"id\":\"9a3e\",\"aliases\":[\"a1\",\"a2\"],\"name\":\"api\",\"extra\":null,"
		  "\"none\":[],\"ratio\":0.5}",
		  0,
		  "id        9a3e\n"
		  "aliases   a1,a2\n"
		  "name      api\n"
		  "extra     -\n"
		  "none      -\n"
		  "ratio     0.5\n" },
		{ net_attach_show, "[]", -EPROTO, "" },
		{ net_rm_show, "{\"removed\":\"web\",\"endpoints_removed\":0}", 0, "web\n" },
		{ net_rm_show, "{\"removed\":\"web\",\"endpoints_removed\":1}", 0,
		  "web (1 endpoint removed)\n" },
		{ net_rm_show, "{\"removed\":\"web\",\"endpoints_removed\":3}", 0,
		  "web (3 endpoints removed)\n" },
		{ net_rm_show, "{}", -EPROTO, "" },
		{ net_detach_show, "{\"removed\":[\"a\",\"b\"]}", 0, "a\nb\n" },
		{ net_detach_show, "{\"removed\":7}", -EPROTO, "" },
		{ cli_show_json, "{\"a\":[1,{\"b\":\"c\"}]}", 0,
		  "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"c\"\n    }\n  ]\n}\n" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		int rc;
		char *got = show_to_string(v[i].show, v[i].in, &rc);

		print_message("output case %zu\n", i);
		assert_int_equal(rc, v[i].rc);
		assert_string_equal(got, v[i].out);
		free(got);
	}
}

static void test_text_width(void **state)
{
	assert_int_equal(text_width("abc"), 3);
	assert_int_equal(text_width("\xc3\xbc" "ber"), 4);
	assert_int_equal(text_width(""), 0);
}

/* ------------------------------------------------ end to end, canned agent */

struct srv {
	char dir[64];
	char path[128];
	int lfd;
	pthread_t thr;
	const char *answer;	/* raw bytes to send; NULL = never answer */
	char req[16384];	/* what the client sent */
	size_t req_len;
};

/* Read the request head and its Content-Length body. */
static void srv_read_request(struct srv *s, int fd)
{
	const char *end, *cl;
	size_t want = SIZE_MAX;
	ssize_t n;

	while (s->req_len < want && s->req_len < sizeof(s->req) - 1) {
		n = read(fd, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len);
		if (n <= 0)
			break;
		s->req_len += (size_t)n;
		s->req[s->req_len] = '\0';
		end = strstr(s->req, "\r\n\r\n");
		cl = strcasestr(s->req, "\r\nContent-Length:");
		if (end && cl)
			want = (size_t)(end + 4 - s->req) + strtoul(cl + 17, NULL, 10);
	}
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd p = { .fd = s->lfd, .events = POLLIN };
	char buf[256];
	int fd;

	/* Never block the test forever if the client did not come. */
	if (poll(&p, 1, 5000) != 1)
		return NULL;
	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	srv_read_request(s, fd);
	if (s->answer) {
		if (write(fd, s->answer, strlen(s->answer)) < 0)
			perror("srv write");
	} else {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
	close(fd);
	return NULL;
}

static int srv_setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct srv *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	strcpy(s->dir, "/tmp/test_cli.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/ovn.sock", s->dir);
	strcpy(sa.sun_path, s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	*state = s;
	return 0;
}

static int srv_teardown(void **state)
{
	struct srv *s = *state;

	close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
	free(s);
	return 0;
}

static void srv_start(struct srv *s, const char *answer)
{
	s->answer = answer;
	s->req_len = 0;
	s->req[0] = '\0';
	assert_int_equal(pthread_create(&s->thr, NULL, srv_main, s), 0);
}

static void srv_join(struct srv *s)
{
	assert_int_equal(pthread_join(s->thr, NULL), 0);
}

#define JSON_HEAD(code, reason, len) \
	"HTTP/1.1 " #code " " reason "\r\nContent-Type: application/json\r\n" \
	"Content-Length: " #len "\r\n\r\n"

struct e2e_vec {
	const char *argv[12];	/* after "ovnctl --socket PATH" */
	const char *answer;
	int code;
	const char *req_line;	/* first line the agent must see */
	const char *req_body;	/* JSON it must see, NULL = empty */
	const char *out;	/* all of stdout */
	const char *err;	/* stderr prefix, "" = empty */
};

static const struct e2e_vec e2e_vecs[] = {
	{ { "status", NULL },
	  JSON_HEAD(200, "OK", 43) "{\"node\":\"host1\",\"networks\":2,\"uptime_s\":61}",
	  0, "GET /v1/status HTTP/1.1", NULL,
	  "node       host1\nnetworks   2\nuptime     1m 1s\n", "" },
	{ { "network", "create", "web", "--subnet", "198.19.1.0/24", "--json", NULL },
	  JSON_HEAD(201, "Created", 22) "{\"name\":\"web\",\"vni\":7}",
	  0, "POST /v1/networks HTTP/1.1",
	  "{\"name\":\"web\",\"subnets\":[{\"subnet\":\"198.19.1.0/24\"}]}",
	  "{\n  \"name\": \"web\",\n  \"vni\": 7\n}\n", "" },
	{ { "network", "rm", "web", NULL },
	  JSON_HEAD(409, "Conflict", 64) "{\"error\":\"network web has 2 endpoints: use --force\"}"
	  "            ",
	  1, "DELETE /v1/networks/web HTTP/1.1", NULL, "",
	  "ovnctl: network web has 2 endpoints: use --force\n" },
	{ { "network", "inspect", "nope", NULL },
	  JSON_HEAD(404, "Not Found", 44) "{\"error\":\"no network nope\\nsee ovnctl ls\"}\n\n",
	  1, "GET /v1/networks/nope HTTP/1.1", NULL, "",
	  "ovnctl: no network nope see ovnctl ls\n" },
	{ { "network", "ls", NULL },
	  "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom",
	  1, "GET /v1/networks HTTP/1.1", NULL, "",
	  "ovnctl: ovnagent answered 500 Internal Server Error\n" },
	{ { "network", "ls", NULL }, JSON_HEAD(200, "OK", 3) "{x}",
	  1, "GET /v1/networks HTTP/1.1", NULL, "", "ovnctl: bad answer from ovnagent at " },
	{ { "endpoint", "ls", "--network", "web", NULL }, "HTTP/1.1 200 OK\r\n\r\n[]",
	  0, "GET /v1/endpoints?network=web HTTP/1.1", NULL,
	  "ID   NETWORK   NAME   IPV4   IPV6   MAC   NETNS   IFNAME\n", "" },
	{ { "network", "detach", "web", "--pid", "42", NULL },
	  JSON_HEAD(200, "OK", 17) "{\"removed\":[\"a\"]}",
	  0, "POST /v1/networks/web/detach HTTP/1.1", "{\"pid\":42}", "a\n", "" },
	{ { "network", "attach", "web", "--netns", "c1", NULL },
	  JSON_HEAD(201, "Created", 28) "{\"id\":\"9a\",\"ipv4\":\"1.2.3.4\"}",
	  0, "POST /v1/networks/web/endpoints HTTP/1.1", "{\"netns\":\"c1\"}",
	  "id     9a\nipv4   1.2.3.4\n", "" },
	{ { "status", NULL }, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
	  1, "GET /v1/status HTTP/1.1", NULL, "",
	  "ovnctl: bad answer from ovnagent at " },
	{ { "status", NULL }, "garbage\r\n\r\n",
	  1, "GET /v1/status HTTP/1.1", NULL, "", "ovnctl: bad answer from ovnagent at " },
	{ { "status", NULL }, "",
	  1, "GET /v1/status HTTP/1.1", NULL, "", "ovnctl: bad answer from ovnagent at " },
};

static void check_request(const struct srv *s, const struct e2e_vec *v)
{
	const char *body = strstr(s->req, "\r\n\r\n");
	json_t *want, *got;

	assert_true(!strncmp(s->req, v->req_line, strlen(v->req_line)));
	assert_non_null(strstr(s->req, "\r\nConnection: close\r\n"));
	assert_non_null(body);
	body += 4;
	if (!v->req_body) {
		assert_string_equal(body, "");
		assert_non_null(strstr(s->req, "\r\nContent-Length: 0\r\n"));
		return;
	}
	assert_non_null(strstr(s->req, "\r\nContent-Type: application/json\r\n"));
	want = json_loads(v->req_body, 0, NULL);
	got = json_loads(body, 0, NULL);
	assert_non_null(got);
	assert_true(json_equal(want, got));
	json_decref(want);
	json_decref(got);
}

static void test_e2e(void **state)
{
	struct srv *s = *state;

	for (size_t i = 0; i < ARRAY_SIZE(e2e_vecs); i++) {
		const struct e2e_vec *v = &e2e_vecs[i];
		const char *argv[16] = { "ovnctl", "--socket", s->path };
		struct capture c;
		int n = 3, code;

		for (int k = 0; v->argv[k]; k++)
			argv[n++] = v->argv[k];
		print_message("e2e case %zu: %s\n", i, v->req_line);
		srv_start(s, v->answer);
		code = run_ovnctl(argv, &c);
		srv_join(s);
		check_request(s, v);
		assert_string_equal(c.out_buf, v->out);
		assert_true(!strncmp(c.err_buf, v->err, strlen(v->err)));
		/* Errors are one line. */
		assert_true(!*c.err_buf || strchr(c.err_buf, '\n') == c.err_buf + c.err_len - 1);
		assert_int_equal(code, v->code);
		cap_free(&c);
	}
}

static void test_e2e_env_socket(void **state)
{
	struct srv *s = *state;
	const char *argv[] = { "ovnctl", "status", "--json", NULL };
	struct capture c;

	setenv("OVN_SOCKET", s->path, 1);
	srv_start(s, JSON_HEAD(200, "OK", 2) "[]");
	assert_int_equal(run_ovnctl(argv, &c), 0);
	srv_join(s);
	unsetenv("OVN_SOCKET");
	assert_string_equal(c.out_buf, "[]\n");
	cap_free(&c);
}

static void test_e2e_timeout(void **state)
{
	struct srv *s = *state;
	char *argv[] = { "status", NULL };
	struct cli_ctx ctx = { .socket = s->path, .timeout_ms = 200 };
	struct capture c;
	char want[256];

	cap_open(&c);
	ctx.out = c.out;
	ctx.err = c.err;
	srv_start(s, NULL);
	assert_int_equal(cmd_status(&ctx, 1, argv), CLI_EXIT_FAIL);
	srv_join(s);
	cap_close(&c);
	snprintf(want, sizeof(want),
		 "ovnctl: ovnagent at %s did not answer within 200 ms (is it stuck? check its log)\n",
		 s->path);
	assert_string_equal(c.err_buf, want);
	cap_free(&c);
}

static void test_e2e_refused(void **state)
{
	struct srv *s = *state;
	char path[160], want[320];
	const char *argv[] = { "ovnctl", "--socket", path, "network", "ls", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct capture c;
	int fd;

	/* A socket file nobody listens on: what a crashed agent leaves. */
	snprintf(path, sizeof(path), "%s/stale.sock", s->dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(run_ovnctl(argv, &c), 1);
	unlink(path);
	snprintf(want, sizeof(want),
		 "ovnctl: cannot reach ovnagent at %s: Connection refused "
		 "(is ovnagent running? set --socket or OVN_SOCKET)\n", path);
	assert_string_equal(c.err_buf, want);
	assert_string_equal(c.out_buf, "");
	cap_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_parse),
		cmocka_unit_test(test_args_stop_at_pos),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_limits),
		cmocka_unit_test(test_run_usage),
		cmocka_unit_test(test_parse_head),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_text_width),
		cmocka_unit_test_setup_teardown(test_e2e, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_env_socket, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_timeout, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_refused, srv_setup, srv_teardown),
	};

	/* A stale OVN_SOCKET in the caller's environment must not leak in. */
	unsetenv("OVN_SOCKET");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
