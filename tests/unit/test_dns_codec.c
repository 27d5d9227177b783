/* test_dns_codec.c: DNS wire codec (dns/codec.c): names, query parsing of good
 * and bad packets, EDNS rules, reply building with compression and TC. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "dns_int.h"
#include "util.h"

static void test_name_text(void **state)
{
	static const struct {
		const char *in;
		int len;
		const char *wire;
		const char *back;
	} v[] = {
		{ "web", 5, "\3web", "web." },
		{ "web.net1", 10, "\3web\4net1", "web.net1." },
		{ "Web.Net1.", 10, "\3Web\4Net1", "Web.Net1." },
		{ ".", 1, "", "." },
		{ "", 1, "", "." },
		{ "a..b", -EINVAL, NULL, NULL },
		{ ".a", -EINVAL, NULL, NULL },
		{ "a.b..", -EINVAL, NULL, NULL },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -EINVAL, NULL,
		  NULL },	/* 64-octet label */
	};
	uint8_t w[DNS_NAME_MAX];
	char txt[300];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		int n = dns_name_from_text(v[i].in, w, sizeof(w));

		assert_int_equal(n, v[i].len);
		if (n < 0)
			continue;
		assert_memory_equal(w, v[i].wire, (size_t)n);	/* literal NUL = root */
		assert_int_equal(dns_name_to_text(w, (size_t)n, txt, sizeof(txt)),
				 (int)strlen(v[i].back));
		assert_string_equal(txt, v[i].back);
	}
}

static void test_name_too_long(void **state)
{
	char s[300];
	uint8_t w[DNS_NAME_MAX];

	/* 63 x "a." = 126 bytes of text, wire 2 bytes a label: 4 x 63-label
	 * names of 64 wire bytes each = 256 + root: one too many */
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 4; i++) {
		memset(s + i * 64, 'a', 63);
		s[i * 64 + 63] = '.';
	}
	assert_int_equal(dns_name_from_text(s, w, sizeof(w)), -EINVAL);
	s[3 * 64 + 61] = '\0';	/* 3 x 64 + 62 + 1 = 255: fits exactly */
	assert_int_equal(dns_name_from_text(s, w, sizeof(w)), 255);
}

/* ------------------------------------------------------------ query parsing */
struct qspec {
	uint16_t flags;
	uint16_t qd, an, ar;
	const char *name;
	uint16_t qtype;
	int opts;		/* number of OPT RRs in additional */
	uint16_t size;
	uint8_t version;
	bool do_bit;
};

static size_t put_opt(uint8_t *p, uint16_t size, uint8_t version, bool do_bit)
{
	p[0] = 0;
	dns_wr16(p + 1, DNS_T_OPT);
	dns_wr16(p + 3, size);
	dns_wr32(p + 5, (uint32_t)version << 16 | (do_bit ? 0x8000 : 0));
	dns_wr16(p + 9, 0);
	return 11;
}

static size_t build(uint8_t *b, const struct qspec *s)
{
	size_t o = 12;
	int n;

	dns_wr16(b, 0x1234);
	dns_wr16(b + 2, s->flags);
	dns_wr16(b + 4, s->qd);
	dns_wr16(b + 6, s->an);
	dns_wr16(b + 8, 0);
	dns_wr16(b + 10, s->ar + (uint16_t)s->opts);
	n = dns_name_from_text(s->name, b + o, DNS_NAME_MAX);
	assert_true(n > 0);
	o += (size_t)n;
	dns_wr16(b + o, s->qtype);
	dns_wr16(b + o + 2, DNS_CLASS_IN);
	o += 4;
	for (int i = 0; i < s->opts; i++)
		o += put_opt(b + o, s->size, s->version, s->do_bit);
	return o;
}

static void test_query_parse(void **state)
{
	static const struct {
		struct qspec s;
		int rc;
		bool has_opt;
		uint16_t size;
		bool do_bit;
	} v[] = {
		{ { .qd = 1, .name = "web.net1", .qtype = 1 }, 0, false, 512, false },
		{ { .flags = DNS_F_RD, .qd = 1, .name = "WEB", .qtype = 28 }, 0, false, 512, false },
		{ { .qd = 1, .name = "w", .qtype = 1, .opts = 1, .size = 4096, .do_bit = true },
		  0, true, 4096, true },
		{ { .qd = 1, .name = "w", .qtype = 1, .opts = 1, .size = 100 }, 0, true, 512, false },
		{ { .qd = 1, .name = "w", .qtype = 1, .opts = 1, .size = 1232, .version = 1 },
		  DNS_R_BADVERS, true, 1232, false },
		{ { .qd = 1, .name = "w", .qtype = 1, .opts = 2, .size = 1232 }, DNS_R_FORMERR, false, 0, false },
		{ { .qd = 0, .name = "w", .qtype = 1 }, DNS_R_FORMERR, false, 0, false },
		{ { .qd = 2, .name = "w", .qtype = 1 }, DNS_R_FORMERR, false, 0, false },
		{ { .flags = 2 << 11, .qd = 1, .name = "w", .qtype = 1 }, DNS_R_NOTIMP, false, 0, false },
		{ { .flags = DNS_F_QR, .qd = 1, .name = "w", .qtype = 1 }, -EBADMSG, false, 0, false },
		{ { .qd = 1, .name = "w", .qtype = DNS_T_OPT }, DNS_R_FORMERR, false, 0, false },
		/* an answer count with nothing behind it */
		{ { .qd = 1, .an = 1, .name = "w", .qtype = 1 }, DNS_R_FORMERR, false, 0, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		uint8_t b[600];
		struct dns_query q;
		size_t n = build(b, &v[i].s);

		assert_int_equal(dns_query_parse(b, n, &q), v[i].rc);
		if (v[i].rc != 0 && v[i].rc != DNS_R_BADVERS)
			continue;
		assert_int_equal(q.id, 0x1234);
		assert_int_equal(q.has_opt, v[i].has_opt);
		assert_int_equal(q.udp_size, v[i].size);
		assert_int_equal(q.do_bit, v[i].do_bit);
		assert_int_equal(q.qtype, v[i].s.qtype);
	}
}

/* Hand-written bad packets: each must give FORMERR or a drop, never a crash. */
static void test_query_bad_bytes(void **state)
{
	static const struct {
		const char *what;
		size_t len;
		const uint8_t b[40];
		int rc;
	} v[] = {
		{ "short header", 11, { 0 }, -EBADMSG },
		{ "empty question", 12, { 0, 1, 0, 0, 0, 1 }, DNS_R_FORMERR },
		{ "label past end", 16, { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a', 'b', 'c' },
		  DNS_R_FORMERR },
		{ "no type/class", 15, { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0 },
		  DNS_R_FORMERR },
		{ "pointer in question", 18,
		  { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 }, DNS_R_FORMERR },
		{ "0x40 label type", 19,
		  { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1 }, DNS_R_FORMERR },
		{ "OPT owner not root", 30,
		  { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,
		    1, 'x', 0, 0, 41, 2, 0, 0, 0, 0, 0 }, DNS_R_FORMERR },
		{ "OPT rdlen past end", 30,
		  { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,
		    0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 9 }, DNS_R_FORMERR },
		{ "OPT option overruns rdata", 34,
		  { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,
		    0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 4, 0, 10, 0, 9 }, DNS_R_FORMERR },
		{ "forward pointer in additional", 33,
		  { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,
		    0xc0, 30, 0, 1, 0, 1, 0, 0, 0, 0, 0, 2, 1, 1 }, DNS_R_FORMERR },
		{ "pointer into header", 33,
		  { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,
		    0xc0, 2, 0, 1, 0, 1, 0, 0, 0, 0, 0, 2, 1, 1 }, DNS_R_FORMERR },
		{ "OPT in answer section", 30,
		  { 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1,
		    0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0 }, DNS_R_FORMERR },
		{ "backward pointer ok", 33,
		  { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,
		    0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 2, 1, 1 }, 0 },
	};
	struct dns_query q;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		int rc = dns_query_parse(v[i].b, v[i].len, &q);

		if (rc != v[i].rc)
			fail_msg("%s: got %d want %d", v[i].what, rc, v[i].rc);
	}
}

static void test_name_read(void **state)
{
	/* header, then "a.b" at 12, "c" + ptr(14: "b") at 17, ptr loop at 21 */
	static const uint8_t m[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 'a', 1, 'b', 0,
		1, 'c', 0xc0, 14,
		0xc0, 21,	/* points at itself */
		0xc0, 30,	/* forward */
	};
	uint8_t out[DNS_NAME_MAX];
	size_t next = 0;

	assert_int_equal(dns_name_read(m, sizeof(m), 17, out, &next), 5);
	assert_memory_equal(out, "\1c\1b", 5);
	assert_int_equal(next, 21);
	assert_int_equal(dns_name_read(m, sizeof(m), 21, out, &next), -EBADMSG);
	assert_int_equal(dns_name_read(m, sizeof(m), 23, out, &next), -EBADMSG);
	assert_int_equal(dns_name_read(m, sizeof(m), 12, out, &next), 5);
	assert_int_equal(next, 17);
}

/* ------------------------------------------------------------ building */
static void start(struct dns_msg *m, uint8_t *buf, size_t limit, const char *name, bool edns)
{
	struct dns_query q = { .id = 7, .flags = DNS_F_RD, .qtype = DNS_T_A,
			       .qclass = DNS_CLASS_IN, .has_opt = edns, .udp_size = 1232 };
	int n = dns_name_from_text(name, q.qname, sizeof(q.qname));

	q.qname_len = (uint16_t)n;
	assert_int_equal(dns_msg_start(m, buf, limit, &q, DNS_F_AA | DNS_F_RD, 0), 0);
}

static void test_compression(void **state)
{
	uint8_t buf[512], zone[DNS_NAME_MAX];
	struct dns_msg m;
	size_t qend = 12 + 15 + 4, at;
	int zl;

	start(&m, buf, sizeof(buf), "a.example.net", false);
	assert_int_equal(m.len, qend);
	/* PTR target "b.example.net": "\1b" + pointer to "example" at 14 */
	assert_int_equal(dns_msg_rr_name(&m, DNS_SEC_AN, DNS_QNAME_OFF, DNS_T_PTR, 5,
					 (const uint8_t *)"\1b", 2,
					 (const uint8_t *)"\7example\3net", 12), 0);
	assert_memory_equal(buf + qend, "\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\x05\x00\x04", 12);
	assert_memory_equal(buf + qend + 12, "\1b\xc0\x0e", 4);
	/* the SOA of "example.net": every name points back */
	zl = dns_name_from_text("example.net", zone, sizeof(zone));
	at = m.len;
	assert_int_equal(dns_msg_soa(&m, DNS_SEC_NS, zone, (size_t)zl, 30), 0);
	assert_memory_equal(buf + at, "\xc0\x0e\x00\x06", 4);
	assert_memory_equal(buf + at + 10, "\x00\x23\xc0\x0e\x0ahostmaster\xc0\x0e", 18);
	assert_int_equal(m.len, at + 12 + 35);
	assert_int_equal(dns_msg_finish(&m, DNS_R_NXDOMAIN, -1), m.len);
	assert_int_equal(dns_rd16(buf + 6), 1);
	assert_int_equal(dns_rd16(buf + 8), 1);
	assert_int_equal(buf[3] & 0xf, DNS_R_NXDOMAIN);
	/* and the whole reply parses back */
	{
		struct dns_query r;

		buf[2] |= 0x80;
		assert_int_equal(dns_reply_parse(buf, m.len, &r), 0);
		assert_int_equal(r.msg_len, m.len);
	}
}

static void test_truncation_and_opt(void **state)
{
	static const struct {
		bool edns;
		size_t limit;
		int want;
		bool tc;
	} v[] = {
		/* 12 + 7 + 4 = 23 bytes of header+question, 16 per A record */
		{ false, 512, (512 - 23) / 16, true },
		{ true, 512, (512 - 23 - 17) / 16, true },
		{ true, 1232, 40, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		uint8_t buf[1232];
		struct dns_msg m;
		size_t n;

		start(&m, buf, v[i].limit, "c.net", v[i].edns);
		for (int k = 0; k < 40; k++) {
			uint8_t a[4] = { 198, 19, 0, (uint8_t)k };

			dns_msg_rr(&m, DNS_SEC_AN, DNS_QNAME_OFF, DNS_T_A, 5, a, 4);
		}
		n = dns_msg_finish(&m, DNS_R_NOERROR, -1);
		assert_true(n <= v[i].limit);
		assert_int_equal(dns_rd16(buf + 6), v[i].want);
		assert_int_equal(!!(buf[2] & (DNS_F_TC >> 8)), v[i].tc);
		assert_int_equal(dns_rd16(buf + 10), v[i].edns ? 1 : 0);
		if (v[i].edns) {	/* our OPT: root, type 41, size 1232 */
			assert_memory_equal(buf + n - 11, "\0\0\x29\x04\xd0", 5);
		}
	}
}

static void test_badvers_and_ede(void **state)
{
	uint8_t buf[512];
	struct dns_msg m;
	size_t n;

	start(&m, buf, sizeof(buf), "x", true);
	n = dns_msg_finish(&m, DNS_R_BADVERS, -1);
	assert_int_equal(buf[3] & 0xf, 0);		/* 16 = ext 1, header 0 */
	assert_int_equal(buf[n - 11 + 5], 1);		/* extended rcode byte */
	start(&m, buf, sizeof(buf), "x", true);
	n = dns_msg_finish(&m, DNS_R_SERVFAIL, 22);
	assert_int_equal(buf[3] & 0xf, DNS_R_SERVFAIL);
	assert_memory_equal(buf + n - 6, "\x00\x0f\x00\x02\x00\x16", 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_text),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_query_bad_bytes),
		cmocka_unit_test(test_name_read),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_truncation_and_opt),
		cmocka_unit_test(test_badvers_and_ede),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
