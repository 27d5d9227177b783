/* test_dns_table.c: the DNS name table (dns/table.c): names per network,
 * views, aliases with several addresses, PTR v4/v6, case, zone suffix,
 * NODATA vs NXDOMAIN, special and private reverse names, memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns_int.h"
#include "util.h"

enum { NET1 = 1, NET2 = 2, VIEW_C1 = 100 };

static struct ovn_ip I(const char *s)
{
	struct ovn_ip ip;

	assert_int_equal(ovn_ip_parse(&ip, s), 0);
	return ip;
}

static void add(struct dns_table *t, uint32_t net, const char *name, const char *ip)
{
	struct ovn_ip a = I(ip);

	assert_int_equal(dns_table_add(t, net, name, &a), 0);
}

/* Look a text name up the way the server does (lower-cased wire form).
 * The lookup's pointers (zone, soa) may point into the query name, so it
 * lives on past the call (valgrind found them read from a dead frame);
 * valid until the next look(). */
static struct dns_lookup look(struct dns_table *t, uint32_t view, const char *name)
{
	static uint8_t w[DNS_NAME_MAX];
	int n = dns_name_from_text(name, w, sizeof(w));
	struct dns_lookup lk;

	assert_true(n > 0);
	dns_name_lower(w, (size_t)n);
	dns_table_lookup(t, view, w, (size_t)n, &lk);
	return lk;
}

static const char *text(const uint8_t *w, size_t len)
{
	static char buf[300];

	assert_true(dns_name_to_text(w, len, buf, sizeof(buf)) > 0);
	return buf;
}

static int setup(void **state)
{
	struct dns_table *t = dns_table_new();
	uint32_t nets[] = { NET1, NET2 };

	assert_non_null(t);
	assert_int_equal(dns_table_net_set(t, NET1, "net1"), 0);
	assert_int_equal(dns_table_net_set(t, NET2, "Net2."), 0);
	assert_int_equal(dns_table_view_set(t, VIEW_C1, nets, 2, 0), 0);
	add(t, NET1, "web", "198.19.1.10");
	add(t, NET1, "web", "198.19.1.11");
	add(t, NET1, "web", "fd00:1::10");
	add(t, NET1, "db", "198.19.1.20");
	add(t, NET1, "db-alias", "198.19.1.20");	/* second name: not the PTR */
	add(t, NET1, "v6only", "fd00:1::30");
	add(t, NET2, "WEB.", "198.19.2.10");		/* same name, other network */
	add(t, NET2, "cache", "198.19.2.20");
	add(t, NET2, "pub", "203.0.113.5");
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	dns_table_free(*state);
	return 0;
}

static void test_lookup_vectors(void **state)
{
	static const struct {
		uint32_t view;
		const char *q;
		enum dns_hit hit;
		uint32_t net;		/* of the name found */
		uint16_t n4, n6;
		const char *soa;	/* zone cited, NULL = none */
	} v[] = {
		/* a network alone is a view of itself */
		{ NET1, "web", DNS_HIT_NAME, NET1, 2, 1, "net1." },
		{ NET1, "WeB", DNS_HIT_NAME, NET1, 2, 1, "net1." },
		{ NET1, "web.net1", DNS_HIT_NAME, NET1, 2, 1, "net1." },
		{ NET1, "web.NET1.", DNS_HIT_NAME, NET1, 2, 1, "net1." },
		{ NET1, "v6only", DNS_HIT_NAME, NET1, 0, 1, "net1." },
		{ NET1, "net1", DNS_HIT_NODATA, 0, 0, 0, "net1." },
		{ NET1, "nosuch.net1", DNS_HIT_NXDOMAIN, 0, 0, 0, "net1." },
		{ NET1, "a.b.net1", DNS_HIT_NXDOMAIN, 0, 0, 0, "net1." },
		{ NET1, "cache", DNS_HIT_FORWARD, 0, 0, 0, NULL },	/* not in net1's view */
		{ NET1, "cache.net2", DNS_HIT_FORWARD, 0, 0, 0, NULL },
		{ NET1, "example.com", DNS_HIT_FORWARD, 0, 0, 0, NULL },
		/* the container view: net1 first, then net2 */
		{ VIEW_C1, "web", DNS_HIT_NAME, NET1, 2, 1, "net1." },
		{ VIEW_C1, "web.net2", DNS_HIT_NAME, NET2, 1, 0, "net2." },
		{ VIEW_C1, "cache", DNS_HIT_NAME, NET2, 1, 0, "net2." },
		{ VIEW_C1, "cache.net2", DNS_HIT_NAME, NET2, 1, 0, "net2." },
		{ VIEW_C1, "cache.net1", DNS_HIT_NXDOMAIN, 0, 0, 0, "net1." },
		{ VIEW_C1, "net2", DNS_HIT_NODATA, 0, 0, 0, "net2." },
		/* an unknown view sees nothing */
		{ 999, "web", DNS_HIT_FORWARD, 0, 0, 0, NULL },
		/* RFC 6761 names */
		{ NET1, "localhost", DNS_HIT_LOCALHOST, 0, 0, 0, NULL },
		{ NET1, "x.LocalHost.", DNS_HIT_LOCALHOST, 0, 0, 0, NULL },
		{ NET1, "foo.invalid", DNS_HIT_NXDOMAIN, 0, 0, 0, NULL },
		{ NET1, "printer.local", DNS_HIT_NXDOMAIN, 0, 0, 0, NULL },
	};
	struct dns_table *t = *state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct dns_lookup lk = look(t, v[i].view, v[i].q);

		if (lk.hit != v[i].hit)
			fail_msg("%s in view %u: hit %d, want %d", v[i].q, v[i].view, lk.hit,
				 v[i].hit);
		if (v[i].hit == DNS_HIT_NAME) {
			assert_int_equal(lk.name->net, v[i].net);
			assert_int_equal(lk.name->n4, v[i].n4);
			assert_int_equal(lk.name->n6, v[i].n6);
		}
		if (v[i].soa)
			assert_string_equal(text(lk.soa, lk.soa_len), v[i].soa);
		else
			assert_int_equal(lk.soa_len, 0);
	}
	assert_true(look(t, NET1, "nosuchbare").bare);
	assert_false(look(t, NET1, "example.com").bare);
}

static void test_ptr_vectors(void **state)
{
	static const struct {
		uint32_t view;
		const char *q;
		enum dns_hit hit;
		const char *target;	/* name + zone */
		const char *soa;
	} v[] = {
		{ NET1, "10.1.19.198.in-addr.arpa", DNS_HIT_PTR, "web.net1.", "19.198.in-addr.arpa." },
		{ NET1, "10.1.19.198.IN-ADDR.ARPA.", DNS_HIT_PTR, "web.net1.", "19.198.in-addr.arpa." },
		{ NET1, "20.1.19.198.in-addr.arpa", DNS_HIT_PTR, "db.net1.", "19.198.in-addr.arpa." },
		{ NET1, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa",
		  DNS_HIT_PTR, "web.net1.", "d.f.ip6.arpa." },
		{ VIEW_C1, "10.2.19.198.in-addr.arpa", DNS_HIT_PTR, "web.net2.", "19.198.in-addr.arpa." },
		/* unknown address in private space: NXDOMAIN here, never forwarded */
		{ NET1, "99.1.19.198.in-addr.arpa", DNS_HIT_NXDOMAIN, NULL, "19.198.in-addr.arpa." },
		{ NET1, "1.0.0.10.in-addr.arpa", DNS_HIT_NXDOMAIN, NULL, "10.in-addr.arpa." },
		{ NET1, "5.5.16.172.in-addr.arpa", DNS_HIT_NXDOMAIN, NULL, "16.172.in-addr.arpa." },
		/* partial names inside private space: may have addresses below */
		{ NET1, "19.198.in-addr.arpa", DNS_HIT_NODATA, NULL, "19.198.in-addr.arpa." },
		/* public space: ours when known, else upstream's */
		{ VIEW_C1, "5.113.0.203.in-addr.arpa", DNS_HIT_PTR, "pub.net2.", NULL },
		{ NET1, "5.113.0.203.in-addr.arpa", DNS_HIT_FORWARD, NULL, NULL },
		{ NET1, "8.8.8.8.in-addr.arpa", DNS_HIT_FORWARD, NULL, NULL },
		{ NET1, "300.1.19.198.in-addr.arpa", DNS_HIT_FORWARD, NULL, NULL },
		{ NET1, "01.1.19.198.in-addr.arpa", DNS_HIT_FORWARD, NULL, NULL },
	};
	struct dns_table *t = *state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct dns_lookup lk = look(t, v[i].view, v[i].q);
		uint8_t w[DNS_NAME_MAX];

		if (lk.hit != v[i].hit)
			fail_msg("%s: hit %d, want %d", v[i].q, lk.hit, v[i].hit);
		if (v[i].target) {
			memcpy(w, lk.name->wire, lk.name->len);
			memcpy(w + lk.name->len, lk.zone, lk.zone_len);
			w[lk.name->len + lk.zone_len] = 0;
			assert_string_equal(text(w, lk.name->len + lk.zone_len + 1u), v[i].target);
		}
		if (v[i].soa)
			assert_string_equal(text(lk.soa, lk.soa_len), v[i].soa);
		else
			assert_int_equal(lk.soa_len, 0);
	}
}

static void test_del_and_ptr_fallback(void **state)
{
	struct dns_table *t = *state;
	struct ovn_ip a = I("198.19.1.20"), w10 = I("198.19.1.10");
	struct dns_lookup lk;

	/* db owns the PTR; once gone, db-alias takes over */
	assert_int_equal(dns_table_del(t, NET1, "DB", NULL), 0);
	assert_int_equal(look(t, NET1, "db.net1").hit, DNS_HIT_NXDOMAIN);
	lk = look(t, NET1, "20.1.19.198.in-addr.arpa");
	assert_int_equal(lk.hit, DNS_HIT_PTR);
	assert_memory_equal(lk.name->wire, "\x08" "db-alias", 9);
	assert_int_equal(dns_table_del(t, NET1, "db-alias", &a), 0);
	assert_int_equal(look(t, NET1, "20.1.19.198.in-addr.arpa").hit, DNS_HIT_NXDOMAIN);
	/* one address of an alias */
	assert_int_equal(dns_table_del(t, NET1, "web", &w10), 0);
	assert_int_equal(look(t, NET1, "web").name->n4, 1);
	/* idempotent add and delete */
	add(t, NET1, "web", "198.19.1.11");
	assert_int_equal(look(t, NET1, "web").name->n4, 1);
	assert_int_equal(dns_table_del(t, NET1, "nosuch", NULL), 0);
	assert_int_equal(dns_table_del(t, NET1, "a..b", NULL), -EINVAL);
	assert_int_equal(dns_table_add(t, NET1, "x", NULL), -EINVAL);
	/* a network goes with its names */
	assert_int_equal(dns_table_net_del(t, NET2), 0);
	assert_int_equal(look(t, VIEW_C1, "cache").hit, DNS_HIT_FORWARD);
	assert_int_equal(look(t, VIEW_C1, "10.2.19.198.in-addr.arpa").hit, DNS_HIT_NXDOMAIN);
}

static void test_no_zone_and_view_flags(void **state)
{
	struct dns_table *t = *state;
	uint32_t nets[] = { 7 };
	struct dns_lookup lk;

	add(t, 7, "solo", "198.19.7.1");	/* net created without a zone */
	assert_int_equal(dns_table_view_set(t, 70, nets, 1, DNS_VIEW_NO_FORWARD), 0);
	lk = look(t, 70, "solo");
	assert_int_equal(lk.hit, DNS_HIT_NAME);
	assert_int_equal(lk.soa_len, 0);
	assert_int_equal(lk.view_flags, DNS_VIEW_NO_FORWARD);
	lk = look(t, 70, "1.7.19.198.in-addr.arpa");
	assert_int_equal(lk.hit, DNS_HIT_PTR);
	assert_int_equal(lk.zone_len, 0);
	assert_int_equal(dns_table_view_set(t, 71, nets, 65, 0), -EINVAL);
	assert_int_equal(dns_table_view_del(t, 70), 0);
	assert_int_equal(look(t, 70, "solo").hit, DNS_HIT_FORWARD);
	/* A view on no network yet (the agent's host listener at start). */
	assert_int_equal(dns_table_view_set(t, 72, NULL, 0, 0), 0);
	assert_int_equal(look(t, 72, "solo").hit, DNS_HIT_FORWARD);
}

/* 1,000 names with A + AAAA, as in the benchmark: well under 6 MB. */
static void test_memory_1000(void **state)
{
	struct dns_table *t = dns_table_new();
	struct dns_table_stats st;
	char name[32], ip[64];

	assert_int_equal(dns_table_net_set(t, 1, "net1"), 0);
	for (int i = 1; i <= 1000; i++) {
		snprintf(name, sizeof(name), "c%04d", i);
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		add(t, 1, name, ip);
		snprintf(ip, sizeof(ip), "fd00:1::%x", i);
		add(t, 1, name, ip);
	}
	dns_table_stats(t, &st);
	assert_int_equal(st.names, 1000);
	assert_int_equal(st.records, 2000);
	print_message("table: 1000 names, 2000 records: %zu bytes of heap\n", st.bytes);
	assert_true(st.bytes < 6u << 20);
	for (int i = 1; i <= 1000; i++) {
		snprintf(name, sizeof(name), "c%04d", i);
		assert_int_equal(dns_table_del(t, 1, name, NULL), 0);
	}
	dns_table_stats(t, &st);
	assert_int_equal(st.names, 0);
	assert_int_equal(st.records, 0);
	dns_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_and_ptr_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_zone_and_view_flags, setup, teardown),
		cmocka_unit_test(test_memory_1000),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
