/* test_ipsec.c: the pure parts of agent/ipsec.c and the "encrypted" field
 * of the network model: key and SPI derivation (deterministic, different
 * per direction, generation and secret, never a reserved SPI), the key
 * record's JSON both ways and its refusals, and the network record and
 * create request carrying "encrypted".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec.h"
#include "model.h"
#include "util.h"

static struct ovn_ip ip4(const char *s)
{
	struct ovn_ip ip;

	assert_int_equal(ovn_ip_parse(&ip, s), 0);
	return ip;
}

static void test_derive(void **state)
{
	struct ipsec_key k = { .gen = 1 }, k2;
	struct ovn_ip a = ip4("198.18.0.1"), b = ip4("198.18.0.2");
	struct dp_sa ab, ab2, ba, gen2, other;

	(void)state;
	memset(k.secret, 7, sizeof(k.secret));
	ipsec_derive(&k, &a, &b, &ab);
	ipsec_derive(&k, &a, &b, &ab2);
	assert_memory_equal(&ab, &ab2, sizeof(ab));		/* both ends agree */
	assert_true(ovn_ip_equal(&ab.src, &a) && ovn_ip_equal(&ab.dst, &b));
	ipsec_derive(&k, &b, &a, &ba);
	assert_memory_not_equal(ab.key, ba.key, DP_SA_KEY_LEN);	/* per direction */
	assert_int_not_equal(ab.spi, ba.spi);
	k2 = k;
	k2.gen = 2;
	ipsec_derive(&k2, &a, &b, &gen2);
	assert_memory_not_equal(ab.key, gen2.key, DP_SA_KEY_LEN);	/* per generation */
	assert_int_not_equal(ab.spi, gen2.spi);
	k2 = k;
	k2.secret[31] ^= 1;
	ipsec_derive(&k2, &a, &b, &other);
	assert_memory_not_equal(ab.key, other.key, DP_SA_KEY_LEN);	/* per secret */
	for (uint32_t g = 1; g < 2000; g++) {
		k2.gen = g;
		ipsec_derive(&k2, &a, &b, &other);
		assert_true(other.spi >= DP_XFRM_SPI_MIN);
	}
}

static void test_record_roundtrip(void **state)
{
	struct ipsec_host h = { .node = "h1", .rotated = 1700000000 }, got;
	struct ovn_err err = { 0 };
	json_t *j;

	(void)state;
	h.vtep = ip4("198.18.0.1");
	h.cur.gen = 5;
	randombytes_buf(h.cur.secret, sizeof(h.cur.secret));
	j = ipsec_host_to_json(&h);
	assert_non_null(j);
	assert_null(json_object_get(j, "prev_gen"));
	assert_int_equal(ipsec_host_from_json(&got, j, &err), 0);
	assert_memory_equal(&got, &h, sizeof(h));
	json_decref(j);

	h.prev.gen = 4;
	memset(h.prev.secret, 0xab, sizeof(h.prev.secret));
	h.prev_until = 1700000030;
	j = ipsec_host_to_json(&h);
	assert_int_equal(ipsec_host_from_json(&got, j, &err), 0);
	assert_memory_equal(&got, &h, sizeof(h));
	json_decref(j);
}

static void test_record_bad(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"vtep\":\"198.18.0.1\",\"gen\":1,\"key\":\"%s\"}",		/* no node */
		"{\"node\":\"h\",\"vtep\":\"fd00::1\",\"gen\":1,\"key\":\"%s\"}",	/* IPv6 */
		"{\"node\":\"h\",\"vtep\":\"198.18.0.1\",\"gen\":0,\"key\":\"%s\"}",
		"{\"node\":\"h\",\"vtep\":\"198.18.0.1\",\"gen\":\"1\",\"key\":\"%s\"}",
		"{\"node\":\"h\",\"vtep\":\"198.18.0.1\",\"gen\":1,\"key\":\"%s00\"}",
		"{\"node\":\"h\",\"vtep\":\"198.18.0.1\",\"gen\":1,\"key\":\"x%s\"}",
		"{\"node\":\"h\",\"vtep\":\"198.18.0.1\",\"gen\":1,\"key\":\"%s\",\"prev_gen\":1,"
		"\"prev_key\":\"%s\"}",
		"{\"node\":\"h\",\"vtep\":\"198.18.0.1\",\"gen\":1,\"key\":\"%s\",\"prev_gen\":2}",
		"{\"node\":\"h\",\"vtep\":\"198.18.0.1\",\"gen\":1,\"key\":\"%s\",\"rotated\":-1}",
	};
	char hex[65], text[512];
	struct ipsec_host h, keep;

	(void)state;
	memset(hex, 'a', 64);
	hex[64] = '\0';
	memset(&h, 0x5c, sizeof(h));
	keep = h;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ovn_err err = { 0 };
		json_t *j;

		snprintf(text, sizeof(text), bad[i], hex, hex);
		j = json_loads(text, 0, NULL);
		assert_non_null(j);
		assert_int_equal(ipsec_host_from_json(&h, j, &err), -EINVAL);
		assert_true(err.msg[0] != '\0');
		assert_memory_equal(&h, &keep, sizeof(h));	/* untouched */
		json_decref(j);
	}
}

static void test_network_encrypted(void **state)
{
	struct nm_network n = { .name = "sec", .id = "0123456789abcdef", .vni = 4100,
				.mtu = 1310, .encrypted = true, .n_subnets = 1 }, got;
	struct nm_network_spec s;
	struct ovn_err err = { 0 };
	json_t *j;

	(void)state;
	n.subnets[0].prefix.ip = ip4("198.19.5.0");
	n.subnets[0].prefix.len = 24;
	n.subnets[0].gateway = ip4("198.19.5.1");
	n.labels = json_object();
	j = model_network_to_json(&n);
	assert_true(json_is_true(json_object_get(j, "encrypted")));
	assert_int_equal(model_network_from_json(&got, j, &err), 0);
	assert_true(got.encrypted);
	nm_network_free(&got);
	json_object_del(j, "encrypted");	/* records from before the field */
	assert_int_equal(model_network_from_json(&got, j, &err), 0);
	assert_false(got.encrypted);
	nm_network_free(&got);
	json_decref(j);
	nm_network_free(&n);

	j = json_loads("{\"name\":\"sec\",\"encrypted\":true}", 0, NULL);
	assert_int_equal(model_network_spec_from_json(&s, j, &err), 0);
	assert_true(s.encrypted);
	nm_network_spec_free(&s);
	json_decref(j);
	j = json_loads("{\"name\":\"sec\",\"encrypted\":\"yes\"}", 0, NULL);
	assert_int_equal(model_network_spec_from_json(&s, j, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "encrypted"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_bad),
		cmocka_unit_test(test_network_encrypted),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
