/* test_egress.c: the pure halves of egress: the --publish parser and its
 * canonical form (agent/model.c), clash rules, the endpoint record's
 * "publish" field, and the nftables text dataplane/nft.c generates for a
 * model (vector tables; the netns test runs the text in a real kernel). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "model.h"
#include "util.h"

static void test_publish_parse(void **state)
{
	static const struct {
		const char *in;
		int code;
		const char *out;	/* canonical form, or a piece of the error */
	} v[] = {
		{ "8080:80", 0, "8080:80/tcp" },
		{ "8080:80/tcp", 0, "8080:80/tcp" },
		{ "53:5353/udp", 0, "53:5353/udp" },
		{ "1:65535", 0, "1:65535/tcp" },
		{ "198.18.0.1:8080:80", 0, "198.18.0.1:8080:80/tcp" },
		{ "0.0.0.0:8080:80/udp", 0, "8080:80/udp" },
		{ "[fd00::1]:443:8443", 0, "[fd00::1]:443:8443/tcp" },
		{ "[FD00:0::1]:443:8443/udp", 0, "[fd00::1]:443:8443/udp" },
		{ "[::]:443:8443", 0, "443:8443/tcp" },
		{ "", -EINVAL, "expected [HOST_IP:]HOST_PORT:PORT" },
		{ "8080", -EINVAL, "expected [HOST_IP:]HOST_PORT:PORT" },
		{ "8080:", -EINVAL, "ports must be numbers" },
		{ ":80", -EINVAL, "ports must be numbers" },
		{ "0:80", -EINVAL, "ports must be numbers" },
		{ "80:0", -EINVAL, "ports must be numbers" },
		{ "65536:80", -EINVAL, "ports must be numbers" },
		{ "080000:80", -EINVAL, "ports must be numbers" },
		{ "+80:80", -EINVAL, "ports must be numbers" },
		{ "80:8 0", -EINVAL, "ports must be numbers" },
		{ "a:80", -EINVAL, "ports must be numbers" },
		{ "80:80/", -EINVAL, "protocol must be tcp or udp" },
		{ "80:80/TCP", -EINVAL, "protocol must be tcp or udp" },
		{ "80:80/sctp", -EINVAL, "protocol must be tcp or udp" },
		{ "80:80/tcp/udp", -EINVAL, "protocol must be tcp or udp" },
		{ "1.2.3:80:80", -EINVAL, "host address '1.2.3' is not" },
		{ "host:80:80", -EINVAL, "host address 'host' is not" },
		{ "fd00::1:443:80", -EINVAL, "put an IPv6 host address in brackets" },
		{ "[198.18.0.1]:80:80", -EINVAL, "host address" },
		{ "[fd00::1:443:80", -EINVAL, "host address" },
		{ ":80:80", -EINVAL, "host address" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct ovn_err err = { 0 };
		char buf[NM_PUBLISH_STRLEN];
		struct nm_publish p;
		int r = model_publish_parse(&p, v[i].in, &err);

		if (r != v[i].code)
			fail_msg("'%s': got %d (%s), want %d", v[i].in, r, err.msg, v[i].code);
		if (r == 0 && strcmp(model_publish_str(&p, buf), v[i].out))
			fail_msg("'%s': canonical '%s', want '%s'", v[i].in, buf, v[i].out);
		if (r < 0 && !strstr(err.msg, v[i].out))
			fail_msg("'%s': message '%s' lacks '%s'", v[i].in, err.msg, v[i].out);
	}
	(void)state;
}

static void test_publish_clash(void **state)
{
	static const struct {
		const char *a, *b;
		bool clash;
	} v[] = {
		{ "8080:80", "8080:81", true },
		{ "8080:80", "8080:80/udp", false },
		{ "8080:80", "8081:80", false },
		{ "198.18.0.1:8080:80", "8080:80", true },
		{ "198.18.0.1:8080:80", "198.18.0.2:8080:80", false },
		{ "198.18.0.1:8080:80", "198.18.0.1:8080:90", true },
		{ "[fd00::1]:8080:80", "198.18.0.1:8080:80", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct nm_publish a, b;

		assert_int_equal(model_publish_parse(&a, v[i].a, NULL), 0);
		assert_int_equal(model_publish_parse(&b, v[i].b, NULL), 0);
		if (model_publish_clash(&a, &b) != v[i].clash ||
		    model_publish_clash(&b, &a) != v[i].clash)
			fail_msg("%s vs %s: clash should be %d", v[i].a, v[i].b, v[i].clash);
	}
	(void)state;
}

/* The request field: parsed, refused with the field named, duplicates
 * inside one request refused; the record round-trips canonically. */
static void test_publish_json(void **state)
{
	static const struct {
		const char *body;
		int code;
		const char *msg;
	} v[] = {
		{ "{\"netns\":\"c1\",\"publish\":[\"8080:80\",\"53:53/udp\"]}", 0, NULL },
		{ "{\"netns\":\"c1\",\"publish\":[]}", 0, NULL },
		{ "{\"netns\":\"c1\",\"publish\":\"8080:80\"}", -EINVAL, "publish: expected an array" },
		{ "{\"netns\":\"c1\",\"publish\":[8080]}", -EINVAL, "publish[0]: expected a string" },
		{ "{\"netns\":\"c1\",\"publish\":[\"8080:80\",\"x\"]}", -EINVAL, "publish 'x'" },
		{ "{\"netns\":\"c1\",\"publish\":[\"8080:80\",\"198.18.0.1:8080:81\"]}", -EINVAL,
		  "use the same host port" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct nm_attach_spec s;
		struct ovn_err err = { 0 };
		json_t *j = json_loads(v[i].body, 0, NULL);
		int r;

		assert_non_null(j);
		r = model_attach_spec_from_json(&s, j, &err);
		json_decref(j);
		if (r != v[i].code || (r < 0 && !strstr(err.msg, v[i].msg)))
			fail_msg("%s: got %d '%s'", v[i].body, r, err.msg);
		if (r == 0)
			nm_attach_spec_free(&s);
	}
	(void)state;
}

static void test_publish_record(void **state)
{
	static const char rec[] =
		"{\"id\":\"9a3e0f1c2b4d6e8f\",\"network\":\"web\",\"host_ifname\":\"ve-9a3e0f1c2b4d\","
		"\"mac\":\"02:42:c6:13:01:02\",\"ipv4\":\"198.19.1.2/24\","
		"\"publish\":[\"0.0.0.0:8080:80\",\"[fd00::1]:53:53/udp\"]}";
	struct nm_endpoint e;
	struct ovn_err err = { 0 };
	json_t *j = json_loads(rec, 0, NULL), *out;
	char *s;

	assert_int_equal(model_endpoint_from_json(&e, j, &err), 0);
	json_decref(j);
	assert_int_equal(e.n_publish, 2);
	out = model_endpoint_to_json(&e);
	s = json_dumps(json_object_get(out, "publish"), JSON_COMPACT);
	assert_string_equal(s, "[\"8080:80/tcp\",\"[fd00::1]:53:53/udp\"]");
	free(s);
	json_decref(out);
	nm_endpoint_free(&e);
	(void)state;
}

/* ---- ruleset text -------------------------------------------------------- */

static struct ovn_prefix P(const char *s)
{
	struct ovn_prefix p;

	assert_int_equal(ovn_prefix_parse(&p, s, true), 0);
	return p;
}

static struct ovn_ip IP(const char *s)
{
	struct ovn_ip ip = { 0 };

	if (s)
		assert_int_equal(ovn_ip_parse(&ip, s), 0);
	return ip;
}

static struct dp_portmap PM(uint8_t proto, const char *host, uint16_t hp, const char *ctr,
			    uint16_t cp)
{
	return (struct dp_portmap){ .proto = proto, .host_ip = IP(host), .host_port = hp,
				    .ctr_ip = IP(ctr), .ctr_port = cp };
}

static const char head[] = "add table inet ovn\ndelete table inet ovn\n";

/* Each vector: a model and lines the text must hold, in this order. */
static void test_ruleset_text(void **state)
{
	struct dp_nft_net nets[3] = {
		{ .vni = 4097, .n_subnets = 2, .subnets = { P("198.19.1.0/24"), P("fd00:1::/64") } },
		{ .vni = 4098, .internal = true, .n_subnets = 1, .subnets = { P("198.19.2.0/24") } },
		{ .vni = 4099, .n_subnets = 1, .subnets = { P("198.19.3.0/24") } },
	};
	struct dp_portmap maps[3] = {
		PM(IPPROTO_TCP, NULL, 8080, "198.19.1.2", 80),
		PM(IPPROTO_UDP, "198.18.0.1", 5353, "198.19.1.2", 53),
		PM(IPPROTO_TCP, NULL, 8080, "fd00:1::2", 80),
	};
	static const char *const want[] = {
		"table inet ovn {\n",
		"\tset bridges { type ifname; elements = { \"br-4097\", \"br-4098\", \"br-4099\" }; }\n",
		"\tset internal { type ifname; elements = { \"br-4098\" }; }\n",
		"\tset same { type ifname . ifname; elements = { \"br-4097\" . \"br-4097\", "
		"\"br-4098\" . \"br-4098\", \"br-4099\" . \"br-4099\" }; }\n",
		"\tset nets4 { type ipv4_addr; flags interval; elements = { 198.19.1.0/24, "
		"198.19.3.0/24 }; }\n",
		"\tset nets6 { type ipv6_addr; flags interval; elements = { fd00:1::/64 }; }\n",
		"\tmap pub4 { type inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service; "
		"elements = { udp . 198.18.0.1 . 5353 : 198.19.1.2 . 53 }; }\n",
		"\tmap pub4any { type inet_proto . inet_service : ipv4_addr . inet_service; "
		"elements = { tcp . 8080 : 198.19.1.2 . 80 }; }\n",
		"\tmap pub6 { type inet_proto . ipv6_addr . inet_service : ipv6_addr . inet_service; }\n",
		"\tmap pub6any { type inet_proto . inet_service : ipv6_addr . inet_service; "
		"elements = { tcp . 8080 : fd00:1::2 . 80 }; }\n",
		"\t\tiifname @internal drop\n",
		"\t\tiifname . oifname @same accept\n",
		"\t\tct status dnat accept\n",
		"\t\tiifname @bridges oifname @bridges drop\n",
		"\t\tiifname @bridges accept\n",
		"\t\toifname @bridges drop\n",
		"\t\tfib daddr type local jump publish\n",
		"\t\tip saddr @nets4 oifname != @bridges masquerade\n",
		"\t\tct status dnat ip saddr @nets4 oifname @bridges masquerade\n",
		"}\n",
	};
	const char *at;
	char *text;

	assert_int_equal(dp_nft_ruleset_text(&text, nets, 3, maps, 3), 0);
	assert_memory_equal(text, head, strlen(head));
	at = text;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const char *f = strstr(at, want[i]);

		if (!f)
			fail_msg("line %zu missing or out of order:\n%s\nin:\n%s", i, want[i], text);
		at = f + strlen(want[i]);
	}
	free(text);
	(void)state;
}

/* No network: the batch only removes the table; empty sets have no
 * elements clause (nft refuses "elements = { }"). */
static void test_ruleset_edges(void **state)
{
	struct dp_nft_net only_internal = { .vni = 7, .internal = true, .n_subnets = 1,
					    .subnets = { P("198.19.9.0/24") } };
	struct dp_portmap bad[] = {
		PM(IPPROTO_ICMP, NULL, 1, "198.19.1.2", 1),
		PM(IPPROTO_TCP, NULL, 0, "198.19.1.2", 80),
		PM(IPPROTO_TCP, NULL, 80, "198.19.1.2", 0),
		PM(IPPROTO_TCP, "fd00::1", 80, "198.19.1.2", 80),
		PM(IPPROTO_TCP, NULL, 80, NULL, 80),
	};
	char *text;

	assert_int_equal(dp_nft_ruleset_text(&text, NULL, 0, NULL, 0), 0);
	assert_string_equal(text, head);
	free(text);
	assert_int_equal(dp_nft_ruleset_text(&text, &only_internal, 1, NULL, 0), 0);
	assert_non_null(strstr(text, "\tset nets4 { type ipv4_addr; flags interval; }\n"));
	assert_non_null(strstr(text, "\tmap pub4any { type inet_proto . inet_service : "
				     "ipv4_addr . inet_service; }\n"));
	free(text);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(dp_nft_ruleset_text(&text, &only_internal, 1, &bad[i], 1), -EINVAL);
		assert_null(text);
		assert_int_equal(dp_nft_portmap_text(&text, &bad[i], true), -EINVAL);
	}
	/* ports without a network cannot be */
	assert_int_equal(dp_nft_ruleset_text(&text, NULL, 0, (struct dp_portmap[]){
		PM(IPPROTO_TCP, NULL, 80, "198.19.1.2", 80) }, 1), -EINVAL);
	(void)state;
}

static void test_portmap_text(void **state)
{
	static const struct {
		struct { uint8_t proto; const char *host; uint16_t hp; const char *ctr; uint16_t cp; } m;
		bool add;
		const char *want;
	} v[] = {
		{ { IPPROTO_TCP, NULL, 8080, "198.19.1.2", 80 }, true,
		  "add element inet ovn pub4any { tcp . 8080 : 198.19.1.2 . 80 }\n" },
		{ { IPPROTO_UDP, "198.18.0.1", 53, "198.19.1.2", 5353 }, true,
		  "add element inet ovn pub4 { udp . 198.18.0.1 . 53 : 198.19.1.2 . 5353 }\n" },
		{ { IPPROTO_TCP, "fd00::1", 443, "fd00:1::2", 8443 }, false,
		  "add element inet ovn pub6 { tcp . fd00::1 . 443 : fd00:1::2 . 8443 }\n"
		  "delete element inet ovn pub6 { tcp . fd00::1 . 443 : fd00:1::2 . 8443 }\n" },
		{ { IPPROTO_TCP, NULL, 80, "fd00:1::2", 80 }, false,
		  "add element inet ovn pub6any { tcp . 80 : fd00:1::2 . 80 }\n"
		  "delete element inet ovn pub6any { tcp . 80 : fd00:1::2 . 80 }\n" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct dp_portmap m = PM(v[i].m.proto, v[i].m.host, v[i].m.hp, v[i].m.ctr, v[i].m.cp);
		char *text;

		assert_int_equal(dp_nft_portmap_text(&text, &m, v[i].add), 0);
		assert_string_equal(text, v[i].want);
		free(text);
	}
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_parse),
		cmocka_unit_test(test_publish_clash),
		cmocka_unit_test(test_publish_json),
		cmocka_unit_test(test_publish_record),
		cmocka_unit_test(test_ruleset_text),
		cmocka_unit_test(test_ruleset_edges),
		cmocka_unit_test(test_portmap_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
