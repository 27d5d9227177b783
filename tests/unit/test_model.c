/* test_model.c: JSON codecs of agent/model.c: records round-trip, request
 * bodies are refused field by field with messages naming the field. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

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

static void test_network_spec(void **state)
{
	static const struct { const char *body; int code; const char *msg; } v[] = {
		{ "{\"name\":\"web\"}", 0, NULL },
		{ "{\"name\":\"web\",\"subnets\":[{\"subnet\":\"198.19.1.0/24\",\"gateway\":"
		  "\"198.19.1.1\"},{\"subnet\":\"fd00:1::/64\"}],\"vni\":42,\"mtu\":1400,"
		  "\"internal\":true,\"labels\":{\"a\":\"b\"}}", 0, NULL },
		{ "{}", -EINVAL, "name: missing" },
		{ "{\"name\":\"-web\"}", -EINVAL, "not a network name" },
		{ "{\"name\":\"w/b\"}", -EINVAL, "not a network name" },
		{ "{\"name\":5}", -EINVAL, "name: expected a string" },
		{ "{\"name\":\"web\",\"nmae\":1}", -EINVAL, "unknown field 'nmae'" },
		{ "{\"name\":\"web\",\"vni\":0}", -EINVAL, "vni" },
		{ "{\"name\":\"web\",\"vni\":16777216}", -EINVAL, "vni" },
		{ "{\"name\":\"web\",\"vni\":\"5\"}", -EINVAL, "vni" },
		{ "{\"name\":\"web\",\"mtu\":100}", -EINVAL, "mtu" },
		{ "{\"name\":\"web\",\"mtu\":9001}", -EINVAL, "mtu" },
		{ "{\"name\":\"web\",\"internal\":1}", -EINVAL, "internal: expected true or false" },
		{ "{\"name\":\"web\",\"subnets\":{}}", -EINVAL, "subnets: expected an array" },
		{ "{\"name\":\"web\",\"subnets\":[{\"subnet\":\"198.19.1.0\"}]}", -EINVAL,
		  "subnets[0].subnet" },
		{ "{\"name\":\"web\",\"subnets\":[{\"gateway\":\"198.19.1.1\"}]}", -EINVAL,
		  "subnets[0].subnet: missing" },
		{ "{\"name\":\"web\",\"subnets\":[{\"subnet\":\"198.19.1.0/24\",\"x\":1}]}", -EINVAL,
		  "subnets[0]: unknown field 'x'" },
		{ "{\"name\":\"web\",\"subnets\":[{\"subnet\":\"198.19.1.0/24\"},{\"subnet\":"
		  "\"198.19.2.0/24\"}]}", -EINVAL, "one subnet per address family" },
		{ "{\"name\":\"web\",\"labels\":{\"a\":1}}", -EINVAL, "labels.a" },
		{ "[1]", -EINVAL, "expected a JSON object" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct nm_network_spec s;
		struct ovn_err err = { 0 };
		json_t *j = J(v[i].body);
		int r = model_network_spec_from_json(&s, j, &err);

		if (r != v[i].code)
			fail_msg("case %zu (%s): got %d (%s)", i, v[i].body, r, err.msg);
		if (v[i].msg && !strstr(err.msg, v[i].msg))
			fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, v[i].msg);
		if (r == 0)
			nm_network_spec_free(&s);
		json_decref(j);
	}
}

static void test_attach_spec(void **state)
{
	static const struct { const char *body; int code; const char *msg; } v[] = {
		{ "{\"netns\":\"c1\"}", 0, NULL },
		{ "{\"pid\":1,\"name\":\"api\",\"aliases\":[\"a\",\"b.c\"],\"ipv4\":\"198.19.1.5\","
		  "\"ipv6\":\"fd00:1::5\",\"ifname\":\"eth3\",\"mac\":\"02:00:00:00:00:01\"}", 0, NULL },
		{ "{\"netns\":\"/run/netns/c1\"}", 0, NULL },
		{ "{}", -EINVAL, "exactly one of netns, pid" },
		{ "{\"netns\":\"c1\",\"pid\":5}", -EINVAL, "exactly one" },
		{ "{\"netns\":\"a/b\"}", -EINVAL, "neither a name" },
		{ "{\"netns\":\"..\"}", -EINVAL, "neither a name" },
		{ "{\"pid\":0}", -EINVAL, "pid" },
		{ "{\"pid\":-4}", -EINVAL, "pid" },
		{ "{\"netns\":\"c1\",\"ipv4\":\"fd00::1\"}", -EINVAL, "not an IPv4 address" },
		{ "{\"netns\":\"c1\",\"ipv6\":\"198.19.1.1\"}", -EINVAL, "not an IPv6 address" },
		{ "{\"netns\":\"c1\",\"mac\":\"01:00:00:00:00:01\"}", -EINVAL, "unicast MAC" },
		{ "{\"netns\":\"c1\",\"ifname\":\"a/b\"}", -EINVAL, "interface name" },
		{ "{\"netns\":\"c1\",\"ifname\":\"abcdefghijklmnop\"}", -EINVAL, "ifname" },
		{ "{\"netns\":\"c1\",\"name\":\"bad_name\"}", -EINVAL, "not a DNS name" },
		{ "{\"netns\":\"c1\",\"aliases\":[\"-x\"]}", -EINVAL, "aliases[0]" },
		{ "{\"netns\":\"c1\",\"aliases\":\"x\"}", -EINVAL, "aliases" },
		{ "{\"netns\":\"c1\",\"bogus\":true}", -EINVAL, "unknown field 'bogus'" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct nm_attach_spec s;
		struct ovn_err err = { 0 };
		json_t *j = J(v[i].body);
		int r = model_attach_spec_from_json(&s, j, &err);

		if (r != v[i].code)
			fail_msg("case %zu (%s): got %d (%s)", i, v[i].body, r, err.msg);
		if (v[i].msg && !strstr(err.msg, v[i].msg))
			fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, v[i].msg);
		if (r == 0)
			nm_attach_spec_free(&s);
		json_decref(j);
	}
}

static void test_detach_spec(void **state)
{
	struct nm_detach_spec s;
	struct ovn_err err = { 0 };
	json_t *j = J("{\"endpoint\":\"abcd\"}");

	assert_int_equal(model_detach_spec_from_json(&s, j, &err), 0);
	assert_string_equal(s.endpoint, "abcd");
	json_decref(j);
	j = J("{\"endpoint\":\"abcd\",\"netns\":\"c1\"}");
	assert_int_equal(model_detach_spec_from_json(&s, j, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "endpoint"));
	json_decref(j);
}

static void test_records_roundtrip(void **state)
{
	struct nm_network n = { 0 }, n2;
	struct nm_endpoint e = { 0 }, e2;
	struct ovn_err err = { 0 };
	json_t *j, *k;

	strcpy(n.name, "web");
	strcpy(n.id, "0123456789abcdef");
	n.vni = 4097;
	n.mtu = 1350;
	n.n_subnets = 2;
	ovn_prefix_parse(&n.subnets[0].prefix, "198.19.1.0/24", true);
	ovn_ip_parse(&n.subnets[0].gateway, "198.19.1.1");
	ovn_prefix_parse(&n.subnets[1].prefix, "fd00:1::/64", true);
	ovn_ip_parse(&n.subnets[1].gateway, "fd00:1::1");
	n.labels = json_pack("{s:s}", "team", "a");
	model_now(n.created);
	j = model_network_to_json(&n);
	assert_int_equal(model_network_from_json(&n2, j, &err), 0);
	k = model_network_to_json(&n2);
	assert_true(json_equal(j, k));
	json_decref(j);
	json_decref(k);
	nm_network_free(&n);
	nm_network_free(&n2);

	assert_int_equal(model_new_id(e.id), 0);
	assert_int_equal(strlen(e.id), NM_ID_LEN);
	strcpy(e.network, "web");
	strcpy(e.name, "api");
	e.aliases = json_pack("[s]", "a1");
	e.netns = strdup("/run/netns/c1");
	strcpy(e.netns_id, "3:4026532");
	strcpy(e.ifname, "eth0");
	strcpy(e.host_ifname, "ve-0123456789ab");
	ovn_mac_parse(&e.mac, "02:42:c6:13:01:02", true);
	ovn_prefix_parse(&e.ipv4, "198.19.1.2/24", true);
	strcpy(e.node, "host1");
	j = model_endpoint_to_json(&e);
	assert_null(json_object_get(j, "ipv6"));
	if (model_endpoint_from_json(&e2, j, &err) < 0)
		fail_msg("%s", err.msg);
	k = model_endpoint_to_json(&e2);
	assert_true(json_equal(j, k));
	json_decref(j);
	json_decref(k);
	nm_endpoint_free(&e);
	nm_endpoint_free(&e2);
}

static void test_names(void **state)
{
	assert_true(model_dns_name_ok("api"));
	assert_true(model_dns_name_ok("a-1.b"));
	assert_false(model_dns_name_ok("a..b"));
	assert_false(model_dns_name_ok("a-"));
	assert_false(model_dns_name_ok("-a"));
	assert_false(model_dns_name_ok(""));
	assert_false(model_dns_name_ok("a_b"));
	assert_true(model_network_name_ok("net_1.a-b"));
	assert_false(model_network_name_ok(".net"));
	assert_true(model_ifname_ok("eth0"));
	assert_false(model_ifname_ok("a:b"));
	assert_false(model_ifname_ok(".."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_spec),
		cmocka_unit_test(test_attach_spec),
		cmocka_unit_test(test_detach_spec),
		cmocka_unit_test(test_records_roundtrip),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
