/* test_ipam.c: address arithmetic (lib/addr.c) and the IPAM pool. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "ipam.h"
#include "util.h"

static struct ovn_prefix P(const char *s)
{
	struct ovn_prefix p;

	assert_int_equal(ovn_prefix_parse(&p, s, true), 0);
	return p;
}

static struct ovn_ip I(const char *s)
{
	struct ovn_ip ip;

	assert_int_equal(ovn_ip_parse(&ip, s), 0);
	return ip;
}

static void test_prefix_parse(void **state)
{
	static const struct { const char *in; bool need_len; int ok; const char *out; } v[] = {
		{ "198.19.1.0/24", true, 0, "198.19.1.0/24" },
		{ "198.19.1.7/24", true, 0, "198.19.1.7/24" },
		{ "198.19.1.0", true, -EINVAL, NULL },
		{ "198.19.1.0", false, 0, "198.19.1.0/32" },
		{ "198.19.1.0/33", true, -EINVAL, NULL },
		{ "198.19.1.0/-1", true, -EINVAL, NULL },
		{ "198.19.1.0/", true, -EINVAL, NULL },
		{ "198.19.1.0/2x", true, -EINVAL, NULL },
		{ "fd00:1::/64", true, 0, "fd00:1::/64" },
		{ "fd00:1::/129", true, -EINVAL, NULL },
		{ "300.1.1.1/8", true, -EINVAL, NULL },
		{ "", true, -EINVAL, NULL },
		{ "/24", true, -EINVAL, NULL },
	};
	char buf[OVN_PREFIX_STRLEN];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct ovn_prefix p;

		assert_int_equal(ovn_prefix_parse(&p, v[i].in, v[i].need_len), v[i].ok);
		if (v[i].out)
			assert_string_equal(ovn_prefix_str(&p, buf), v[i].out);
	}
}

static void test_prefix_math(void **state)
{
	struct ovn_prefix a = P("198.19.0.0/16"), b = P("198.19.4.0/24"), c = P("198.20.0.0/24");
	struct ovn_prefix d = P("fd00:1::/64");
	struct ovn_ip ip;
	uint64_t off;
	char buf[OVN_IP_STRLEN];

	assert_true(ovn_prefix_overlaps(&a, &b));
	assert_true(ovn_prefix_overlaps(&b, &a));
	assert_false(ovn_prefix_overlaps(&a, &c));
	assert_false(ovn_prefix_overlaps(&a, &d));
	assert_int_equal(ovn_prefix_size(&b), 256);
	assert_int_equal(ovn_prefix_nth(&b, 255, &ip), 0);
	assert_string_equal(ovn_ip_str(&ip, buf), "198.19.4.255");
	assert_int_equal(ovn_prefix_nth(&b, 256, &ip), -ERANGE);
	assert_int_equal(ovn_prefix_nth(&d, 0x10002, &ip), 0);
	assert_string_equal(ovn_ip_str(&ip, buf), "fd00:1::1:2");
	assert_int_equal(ovn_prefix_offset(&d, &ip, &off), 0);
	assert_int_equal(off, 0x10002);
	ip = I("198.19.5.1");
	assert_int_equal(ovn_prefix_offset(&b, &ip, &off), -ERANGE);
	assert_false(ovn_prefix_is_network(&(struct ovn_prefix){ I("198.19.4.1"), 24 }));
	assert_true(ovn_prefix_is_network(&b));
}

static void test_mac(void **state)
{
	static const struct { const char *in; bool unicast; int ok; } v[] = {
		{ "02:42:c6:13:01:02", true, 0 },
		{ "02:42:C6:13:01:02", true, 0 },
		{ "01:00:5e:00:00:01", true, -EINVAL },	/* multicast */
		{ "00:00:00:00:00:00", true, -EINVAL },
		{ "00:00:00:00:00:00", false, 0 },
		{ "02:42:c6:13:01", true, -EINVAL },
		{ "02:42:c6:13:01:02:03", true, -EINVAL },
		{ "02-42-c6-13-01-02", true, -EINVAL },
		{ "02:42:c6:13:01:0g", true, -EINVAL },
		{ " 2:42:c6:13:01:02", true, -EINVAL },
	};
	struct ovn_mac m;
	char buf[OVN_MAC_STRLEN];
	struct ovn_ip v4 = I("198.19.1.2"), v6 = I("fd00::5");

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		assert_int_equal(ovn_mac_parse(&m, v[i].in, v[i].unicast), v[i].ok);
	ovn_mac_from_ip(&m, &v4);
	assert_string_equal(ovn_mac_str(&m, buf), "02:42:c6:13:01:02");
	ovn_mac_from_ip(&m, &v6);
	assert_int_equal(m.b[0], 0x06);
	struct ovn_mac m2;

	ovn_mac_from_ip(&m2, &v6);
	assert_memory_equal(m.b, m2.b, 6);	/* every host computes the same */
}

static void test_pool_v4(void **state)
{
	struct ovn_prefix sub = P("198.19.1.0/29");
	struct ovn_ip gw = I("198.19.1.1"), ip;
	struct ipam_pool p;
	char buf[OVN_IP_STRLEN];
	const char *want[] = { "198.19.1.2", "198.19.1.3", "198.19.1.4", "198.19.1.5",
			       "198.19.1.6" };

	assert_int_equal(ipam_pool_init(&p, &sub, &gw), 0);
	assert_int_equal(ipam_capacity(&p), 5);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		assert_int_equal(ipam_alloc(&p, &ip), 0);
		assert_string_equal(ovn_ip_str(&ip, buf), want[i]);
	}
	assert_int_equal(ipam_alloc(&p, &ip), -ENOSPC);
	ip = I("198.19.1.3");
	ipam_release(&p, &ip);
	assert_false(ipam_is_used(&p, &ip));
	assert_int_equal(ipam_alloc(&p, &ip), 0);
	assert_string_equal(ovn_ip_str(&ip, buf), "198.19.1.3");
	ip = I("198.19.1.0");
	assert_int_equal(ipam_reserve(&p, &ip), -EADDRNOTAVAIL);
	ip = I("198.19.1.7");
	assert_int_equal(ipam_reserve(&p, &ip), -EADDRNOTAVAIL);
	ip = I("198.19.1.1");
	assert_int_equal(ipam_reserve(&p, &ip), -EADDRNOTAVAIL);
	ip = I("198.19.1.8");
	assert_int_equal(ipam_reserve(&p, &ip), -ERANGE);
	ip = I("198.19.1.4");
	assert_int_equal(ipam_reserve(&p, &ip), -EADDRINUSE);
	ipam_pool_free(&p);
}

/* Next-fit: a released address is not reused before the cursor wraps. */
static void test_pool_next_fit(void **state)
{
	struct ovn_prefix sub = P("198.19.2.0/24");
	struct ovn_ip gw = I("198.19.2.1"), a, b;
	struct ipam_pool p;

	assert_int_equal(ipam_pool_init(&p, &sub, &gw), 0);
	assert_int_equal(ipam_alloc(&p, &a), 0);
	ipam_release(&p, &a);
	assert_int_equal(ipam_alloc(&p, &b), 0);
	assert_false(ovn_ip_equal(&a, &b));
	ipam_pool_free(&p);
}

/* Many reserves and releases in random order keep the set exact (exercises
 * growth and backward-shift deletion). */
static void test_pool_churn(void **state)
{
	struct ovn_prefix sub = P("fd00:9::/64");
	struct ovn_ip gw = I("fd00:9::1"), ip;
	static bool used[5000];
	struct ipam_pool p;
	uint32_t seed = 12345;

	memset(used, 0, sizeof(used));
	assert_int_equal(ipam_pool_init(&p, &sub, &gw), 0);
	for (int round = 0; round < 100000; round++) {
		uint32_t k;

		seed = seed * 1103515245 + 12345;
		k = 2 + (seed >> 8) % 4998;
		assert_int_equal(ovn_prefix_nth(&sub, k, &ip), 0);
		if (used[k]) {
			ipam_release(&p, &ip);
			used[k] = false;
		} else {
			assert_int_equal(ipam_reserve(&p, &ip), 0);
			used[k] = true;
		}
	}
	for (uint32_t k = 2; k < 5000; k++) {
		assert_int_equal(ovn_prefix_nth(&sub, k, &ip), 0);
		assert_int_equal(ipam_is_used(&p, &ip), used[k]);
	}
	ipam_pool_free(&p);
}

static void test_subnet_pick(void **state)
{
	struct ovn_prefix pool = P("198.19.0.0/16"), out;
	struct ovn_prefix taken[] = { P("198.19.0.0/24"), P("198.19.1.0/25"), P("198.19.3.0/24") };
	struct ovn_prefix pool6 = P("fd00:198:19::/48");
	char buf[OVN_PREFIX_STRLEN];

	assert_int_equal(ipam_subnet_pick(&pool, 24, taken, 3, &out), 0);
	assert_string_equal(ovn_prefix_str(&out, buf), "198.19.2.0/24");
	assert_int_equal(ipam_subnet_pick(&pool6, 64, NULL, 0, &out), 0);
	assert_string_equal(ovn_prefix_str(&out, buf), "fd00:198:19::/64");
	struct ovn_prefix t6 = out;

	assert_int_equal(ipam_subnet_pick(&pool6, 64, &t6, 1, &out), 0);
	assert_string_equal(ovn_prefix_str(&out, buf), "fd00:198:19:1::/64");
	struct ovn_prefix all = P("198.19.0.0/16");

	assert_int_equal(ipam_subnet_pick(&pool, 24, &all, 1, &out), -ENOSPC);
	assert_int_equal(ipam_subnet_pick(&pool, 8, NULL, 0, &out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_math),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_pool_v4),
		cmocka_unit_test(test_pool_next_fit),
		cmocka_unit_test(test_pool_churn),
		cmocka_unit_test(test_subnet_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
