/* test_cni.c: the pure half of ovn-cni (cni/cni.c): CNI_* environment,
 * CNI_ARGS, network configuration, result/VERSION/error encoding and
 * prevResult decoding, as vector tables including bad input. Also the
 * "owner" field the plugin relies on in the agent's model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "cni.h"
#include "model.h"
#include "util.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		fail_msg("bad test JSON %s: %s", s, e.text);
	return j;
}

/* An environment as a NULL-terminated list of "NAME=VALUE". */
static const char *env_lookup(const char *name, void *arg)
{
	const char *const *kv = arg;
	size_t n = strlen(name);

	for (; *kv; kv++)
		if (!strncmp(*kv, name, n) && (*kv)[n] == '=')
			return *kv + n + 1;
	return NULL;
}

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_env(void **state)
{
	static const struct {
		const char *env[8];
		int code;		/* CNI code, 0 = ok */
		const char *msg;
	} v[] = {
		{ { "CNI_COMMAND=VERSION" }, 0, NULL },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=" ID64, "CNI_NETNS=/run/netns/x",
		    "CNI_IFNAME=eth0" }, 0, NULL },
		{ { "CNI_COMMAND=DEL", "CNI_CONTAINERID=abc", "CNI_NETNS=", "CNI_IFNAME=eth1" },
		  0, NULL },
		{ { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=a_b.c-d", "CNI_NETNS=/proc/1/ns/net",
		    "CNI_IFNAME=eth0", "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=web" }, 0, NULL },
		{ { NULL }, CNI_ERR_ENV, "CNI_COMMAND: missing" },
		{ { "CNI_COMMAND=add" }, CNI_ERR_ENV, "'add' is not ADD" },
		{ { "CNI_COMMAND=ADD", "CNI_NETNS=/x", "CNI_IFNAME=eth0" }, CNI_ERR_ENV,
		  "CNI_CONTAINERID" },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=-x", "CNI_NETNS=/x", "CNI_IFNAME=eth0" },
		  CNI_ERR_ENV, "CNI_CONTAINERID: '-x'" },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=a b", "CNI_NETNS=/x", "CNI_IFNAME=eth0" },
		  CNI_ERR_ENV, "CNI_CONTAINERID" },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_NETNS=/x" }, CNI_ERR_ENV,
		  "CNI_IFNAME" },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_NETNS=/x",
		    "CNI_IFNAME=a-very-long-ifname" }, CNI_ERR_ENV, "CNI_IFNAME" },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_NETNS=/x", "CNI_IFNAME=e/0" },
		  CNI_ERR_ENV, "CNI_IFNAME" },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_IFNAME=eth0" }, CNI_ERR_ENV,
		  "CNI_NETNS: missing" },
		{ { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=x", "CNI_NETNS=", "CNI_IFNAME=eth0" },
		  CNI_ERR_ENV, "CNI_NETNS: missing" },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_NETNS=netns-1",
		    "CNI_IFNAME=eth0" }, CNI_ERR_ENV, "not an absolute path" },
		{ { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x", "CNI_NETNS=/x", "CNI_IFNAME=eth0",
		    "CNI_ARGS=FOO=1" }, CNI_ERR_ENV, "unknown key 'FOO'" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct cni_err err = { 0 };
		struct cni_env env;
		int r = cni_env_parse(&env, env_lookup, (void *)v[i].env, &err);

		if (v[i].code != err.code || (r < 0) != (v[i].code != 0))
			fail_msg("vector %zu: r=%d code=%d (want %d) msg=%s", i, r, err.code,
				 v[i].code, err.msg);
		if (v[i].msg && !strstr(err.msg, v[i].msg))
			fail_msg("vector %zu: message '%s' lacks '%s'", i, err.msg, v[i].msg);
	}
}

static void test_args(void **state)
{
	static const struct {
		const char *args;
		int code;
		const char *ip4, *ip6, *mac, *pod;
	} v[] = {
		{ "", 0, NULL, NULL, NULL, "" },
		{ "IgnoreUnknown=1;K8S_POD_NAME=web", 0, NULL, NULL, NULL, "web" },
		{ "IgnoreUnknown=1;K8S_POD_NAME=web;MAC=02:00:00:00:00:01;IP=198.19.1.5", 0,
		  "198.19.1.5", NULL, "02:00:00:00:00:01", "web" },
		{ "IP=198.19.1.5,fd00:1::5", 0, "198.19.1.5", "fd00:1::5", NULL, "" },
		{ "IP=fd00:1::5", 0, NULL, "fd00:1::5", NULL, "" },
		{ "FOO=bar;IgnoreUnknown=true", 0, NULL, NULL, NULL, "" },
		{ "K8S_POD_NAMESPACE=default;K8S_POD_UID=1;K8S_POD_INFRA_CONTAINER_ID=x", 0,
		  NULL, NULL, NULL, "" },
		{ "FOO=bar", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
		{ "FOO=bar;IgnoreUnknown=0", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
		{ "IP=198.19.1.300", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
		{ "IP=", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
		{ "IP=198.19.1.5,198.19.1.6", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
		{ "MAC=01:00:00:00:00:01", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
		{ "MAC=zz", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
		{ "novalue", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
		{ "=x", CNI_ERR_ENV, NULL, NULL, NULL, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct cni_err err = { 0 };
		struct cni_env env = { 0 };
		char s[OVN_IP_STRLEN];
		int r = cni_args_parse(&env, v[i].args, &err);

		if (v[i].code != err.code || (r < 0) != (v[i].code != 0))
			fail_msg("vector %zu (%s): r=%d code=%d msg=%s", i, v[i].args, r, err.code,
				 err.msg);
		if (r < 0)
			continue;
		assert_string_equal(env.ipv4.family ? ovn_ip_str(&env.ipv4, s) : "",
				    v[i].ip4 ? v[i].ip4 : "");
		assert_string_equal(env.ipv6.family ? ovn_ip_str(&env.ipv6, s) : "",
				    v[i].ip6 ? v[i].ip6 : "");
		assert_string_equal(env.has_mac ? ovn_mac_str(&env.mac, s) : "",
				    v[i].mac ? v[i].mac : "");
		assert_string_equal(env.pod_name, v[i].pod);
	}
}

static void test_conf(void **state)
{
	static const struct {
		const char *conf;
		int code;
		const char *network, *socket;
		bool dns;
		size_t n_aliases;
	} v[] = {
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\"}", 0, "web",
		  CNI_DEFAULT_SOCKET, true, 0 },
		{ "{\"cniVersion\":\"0.4.0\",\"name\":\"k8s-pod-network\",\"type\":\"ovn-cni\","
		  "\"network\":\"pods\",\"socket\":\"/run/x.sock\",\"dns\":false}", 0, "pods",
		  "/run/x.sock", false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\","
		  "\"runtimeConfig\":{\"aliases\":{\"web\":[\"a\",\"b\"],\"other\":[\"c\"]},"
		  "\"portMappings\":[]},\"prevResult\":{\"ips\":[]},\"capabilities\":{}}", 0,
		  "web", CNI_DEFAULT_SOCKET, true, 2 },
		{ "{\"cniVersion\":\"1.0.0\"", CNI_ERR_DECODE, NULL, NULL, false, 0 },
		{ "[1]", CNI_ERR_DECODE, NULL, NULL, false, 0 },
		{ "{\"name\":\"web\",\"type\":\"ovn-cni\"}", CNI_ERR_CONFIG, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"1.1.0\",\"name\":\"web\",\"type\":\"ovn-cni\"}",
		  CNI_ERR_VERSION, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"0.2.0\",\"name\":\"web\",\"type\":\"ovn-cni\"}",
		  CNI_ERR_VERSION, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"type\":\"ovn-cni\"}", CNI_ERR_CONFIG, NULL, NULL,
		  false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\"}", CNI_ERR_CONFIG, NULL, NULL,
		  false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s pods\",\"type\":\"ovn-cni\"}",
		  CNI_ERR_CONFIG, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\","
		  "\"network\":\"a/b\"}", CNI_ERR_CONFIG, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\","
		  "\"socket\":\"rel.sock\"}", CNI_ERR_CONFIG, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\","
		  "\"dns\":{\"nameservers\":[]}}", CNI_ERR_CONFIG, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\","
		  "\"ipam\":{\"type\":\"host-local\"}}", CNI_ERR_UNSUPPORTED, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\","
		  "\"prevResult\":[]}", CNI_ERR_CONFIG, NULL, NULL, false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\","
		  "\"runtimeConfig\":{\"aliases\":{\"web\":\"a\"}}}", CNI_ERR_CONFIG, NULL, NULL,
		  false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"type\":\"ovn-cni\","
		  "\"runtimeConfig\":{\"aliases\":{\"web\":[1]}}}", CNI_ERR_CONFIG, NULL, NULL,
		  false, 0 },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"web\",\"name\":\"x\",\"type\":\"ovn-cni\"}",
		  CNI_ERR_DECODE, NULL, NULL, false, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct cni_err err = { 0 };
		struct cni_conf c;
		int r = cni_conf_parse(&c, v[i].conf, strlen(v[i].conf), &err);

		if (v[i].code != err.code || (r < 0) != (v[i].code != 0))
			fail_msg("vector %zu: r=%d code=%d (want %d) msg=%s", i, r, err.code,
				 v[i].code, err.msg);
		if (r < 0) {
			assert_null(c.aliases);
			assert_null(c.prev);
			continue;
		}
		assert_string_equal(c.network, v[i].network);
		assert_string_equal(c.socket, v[i].socket);
		assert_int_equal(c.dns, v[i].dns);
		assert_int_equal(json_array_size(c.aliases), v[i].n_aliases);
		cni_conf_free(&c);
	}
}

static const char *NET_J =
	"{\"name\":\"web\",\"internal\":false,\"subnets\":["
	"{\"subnet\":\"198.19.1.0/24\",\"gateway\":\"198.19.1.1\"},"
	"{\"subnet\":\"fd00:1::/64\",\"gateway\":\"fd00:1::1\"}]}";
static const char *EP_J =
	"{\"id\":\"9a3e0f1c2b4d6e8f\",\"host_ifname\":\"ve-9a3e0f1c2b4d\",\"ifname\":\"eth0\","
	"\"mac\":\"02:42:c6:13:01:02\",\"netns\":\"/run/netns/c1\","
	"\"ipv4\":\"198.19.1.2/24\",\"ipv6\":\"fd00:1::2/64\"}";

static void test_result(void **state)
{
	static const struct {
		const char *version, *net, *ep, *dns, *want;
	} v[] = {
		{ "1.0.0", NULL, NULL, "127.0.0.11",
		  "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"ve-9a3e0f1c2b4d\"},"
		  "{\"name\":\"eth0\",\"mac\":\"02:42:c6:13:01:02\",\"sandbox\":\"/run/netns/c1\"}],"
		  "\"ips\":[{\"address\":\"198.19.1.2/24\",\"gateway\":\"198.19.1.1\","
		  "\"interface\":1},{\"address\":\"fd00:1::2/64\",\"gateway\":\"fd00:1::1\","
		  "\"interface\":1}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"198.19.1.1\"},"
		  "{\"dst\":\"::/0\",\"gw\":\"fd00:1::1\"}],\"dns\":{\"nameservers\":"
		  "[\"127.0.0.11\"],\"search\":[\"web\"]}}" },
		{ "0.3.1", NULL,
		  "{\"host_ifname\":\"ve-1\",\"ifname\":\"eth1\",\"mac\":\"02:42:c6:13:01:03\","
		  "\"netns\":\"/n\",\"ipv4\":\"198.19.1.3/24\"}", NULL,
		  "{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"ve-1\"},"
		  "{\"name\":\"eth1\",\"mac\":\"02:42:c6:13:01:03\",\"sandbox\":\"/n\"}],"
		  "\"ips\":[{\"address\":\"198.19.1.3/24\",\"gateway\":\"198.19.1.1\","
		  "\"interface\":1,\"version\":\"4\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
		  "\"gw\":\"198.19.1.1\"}]}" },
		{ "0.4.0",
		  "{\"name\":\"in\",\"internal\":true,\"subnets\":[{\"subnet\":\"fd00:2::/64\","
		  "\"gateway\":\"fd00:2::1\"}]}",
		  "{\"host_ifname\":\"ve-2\",\"ifname\":\"eth0\",\"mac\":\"06:00:00:00:00:01\","
		  "\"netns\":\"/n\",\"ipv6\":\"fd00:2::9/64\"}", "127.0.0.11",
		  "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"ve-2\"},"
		  "{\"name\":\"eth0\",\"mac\":\"06:00:00:00:00:01\",\"sandbox\":\"/n\"}],"
		  "\"ips\":[{\"address\":\"fd00:2::9/64\",\"gateway\":\"fd00:2::1\","
		  "\"interface\":1,\"version\":\"6\"}],\"routes\":[],\"dns\":{\"nameservers\":"
		  "[\"127.0.0.11\"],\"search\":[\"in\"]}}" },
		/* malformed agent answers */
		{ "1.0.0", NULL, "{\"ifname\":\"eth0\"}", NULL, NULL },
		{ "1.0.0", "{\"name\":\"web\",\"subnets\":[]}", NULL, NULL, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		json_t *net = J(v[i].net ? v[i].net : NET_J), *ep = J(v[i].ep ? v[i].ep : EP_J);
		struct cni_err err = { 0 };
		json_t *res = cni_result_build(v[i].version, net, ep, v[i].dns, &err);

		if (!v[i].want) {
			assert_null(res);
			assert_int_equal(err.code, CNI_ERR_OTHER);
		} else {
			json_t *want = J(v[i].want);

			if (!res || !json_equal(res, want)) {
				char *got = res ? json_dumps(res, JSON_COMPACT) : NULL;

				fail_msg("vector %zu: got %s (%s)", i, got ? got : "NULL", err.msg);
			}
			json_decref(want);
		}
		json_decref(res);
		json_decref(net);
		json_decref(ep);
	}
}

static void test_version_error(void **state)
{
	struct cni_err err = { 0 };
	json_t *j = cni_version_json("0.4.0"), *want;

	want = J("{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\","
		 "\"0.4.0\",\"1.0.0\"]}");
	assert_true(json_equal(j, want));
	json_decref(j);
	json_decref(want);
	j = cni_version_json("7.0.0");
	assert_string_equal(json_string_value(json_object_get(j, "cniVersion")), "1.0.0");
	json_decref(j);

	assert_int_equal(cni_err_set(&err, CNI_ERR_AGAIN, "agent %s", "away"), -EINVAL);
	cni_err_set(&err, CNI_ERR_OTHER, "second");	/* the first error wins */
	snprintf(err.details, sizeof(err.details), "connect: refused");
	j = cni_error_json("0.3.1", &err);
	want = J("{\"cniVersion\":\"0.3.1\",\"code\":11,\"msg\":\"agent away\","
		 "\"details\":\"connect: refused\"}");
	assert_true(json_equal(j, want));
	json_decref(j);
	json_decref(want);
	memset(&err, 0, sizeof(err));
	j = cni_error_json(NULL, &err);
	want = J("{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"failed\"}");
	assert_true(json_equal(j, want));
	json_decref(j);
	json_decref(want);
}

static void test_prev_addrs(void **state)
{
	static const struct {
		const char *prev, *ifname;
		int code, n;
		const char *first;
	} v[] = {
		{ "{\"interfaces\":[{\"name\":\"ve-1\"},{\"name\":\"eth0\"}],\"ips\":["
		  "{\"address\":\"198.19.1.2/24\",\"interface\":1},"
		  "{\"address\":\"fd00:1::2/64\",\"interface\":1}]}", "eth0", 0, 2,
		  "198.19.1.2/24" },
		{ "{\"interfaces\":[{\"name\":\"ve-1\"},{\"name\":\"eth0\"},{\"name\":\"eth1\"}],"
		  "\"ips\":[{\"address\":\"198.19.1.2/24\",\"interface\":1},"
		  "{\"address\":\"198.19.2.2/24\",\"interface\":2}]}", "eth1", 0, 1,
		  "198.19.2.2/24" },
		{ "{\"ips\":[{\"address\":\"198.19.1.2/24\"}]}", "eth0", 0, 1, "198.19.1.2/24" },
		{ "{}", "eth0", 0, 0, NULL },
		{ "{\"ips\":{}}", "eth0", CNI_ERR_DECODE, 0, NULL },
		{ "{\"ips\":[{\"address\":\"198.19.1.2\"}]}", "eth0", CNI_ERR_DECODE, 0, NULL },
		{ "{\"ips\":[{\"address\":\"198.19.1.2/24\",\"interface\":3}]}", "eth0",
		  CNI_ERR_DECODE, 0, NULL },
		{ "{\"ips\":[{\"address\":\"198.19.1.2/24\"},{\"address\":\"198.19.1.3/24\"},"
		  "{\"address\":\"198.19.1.4/24\"}]}", "eth0", CNI_ERR_DECODE, 0, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct ovn_prefix p[2];
		struct cni_err err = { 0 };
		char s[OVN_PREFIX_STRLEN];
		json_t *prev = J(v[i].prev);
		int n = (int)ARRAY_SIZE(p);
		int r = cni_prev_addrs(prev, v[i].ifname, p, &n, &err);

		json_decref(prev);
		if (v[i].code != err.code || (r < 0) != (v[i].code != 0))
			fail_msg("vector %zu: r=%d code=%d msg=%s", i, r, err.code, err.msg);
		if (r < 0)
			continue;
		assert_int_equal(n, v[i].n);
		if (v[i].first)
			assert_string_equal(ovn_prefix_str(&p[0], s), v[i].first);
	}
}

static void test_owner(void **state)
{
	struct cni_env env = { .ifname = "eth0" };
	char buf[NM_OWNER_MAX + 1];
	struct nm_detach_spec d;
	struct ovn_err err = { 0 };
	json_t *j;

	snprintf(env.container_id, sizeof(env.container_id), "%s", ID64);
	assert_int_equal(cni_owner(buf, sizeof(buf), &env), 0);
	assert_string_equal(buf, "cni:" ID64 "/eth0");
	assert_true(model_owner_ok(buf));
	memset(env.container_id, 'a', CNI_ID_MAX);
	env.container_id[CNI_ID_MAX] = '\0';
	assert_int_equal(cni_owner(buf, sizeof(buf), &env), -ENAMETOOLONG);
	assert_false(model_owner_ok(""));
	assert_false(model_owner_ok("a b"));

	/* the agent's detach selector: exactly one of netns, pid, endpoint, owner */
	j = J("{\"owner\":\"cni:x/eth0\"}");
	assert_int_equal(model_detach_spec_from_json(&d, j, &err), 0);
	assert_string_equal(d.owner, "cni:x/eth0");
	json_decref(j);
	j = J("{\"owner\":\"cni:x/eth0\",\"netns\":\"c1\"}");
	assert_int_equal(model_detach_spec_from_json(&d, j, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exactly one"));
	json_decref(j);
	ovn_err_clear(&err);
	j = J("{\"owner\":\"has space\"}");
	assert_int_equal(model_detach_spec_from_json(&d, j, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "owner"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_version_error),
		cmocka_unit_test(test_prev_addrs),
		cmocka_unit_test(test_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
