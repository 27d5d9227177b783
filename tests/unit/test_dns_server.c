/* test_dns_server.c: the DNS server core (dns/server.c) with a fake clock,
 * a fake transport and fake randomness: local answers (NODATA vs NXDOMAIN,
 * SOA, round robin, TC, EDNS, case echo, error rcodes) and the forwarding
 * state machine (retries across upstreams, timeouts -> SERVFAIL, ID and
 * question checks, TCP retry on TC, OPT rewriting, the in-flight cap).
 * Prints (does not assert) the core's answers per CPU second. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dns_int.h"
#include "util.h"

enum { NET1 = 1 };

/* ------------------------------------------------------------ fake transport */
struct sent {
	unsigned int up;
	bool tcp;
	size_t len;
	uint8_t pkt[600];
};

struct fake {
	struct sent sent[16];
	int nsent;
	int send_fail_up;		/* upstream whose send fails, -1 none */
	uint8_t reply[DNS_MSG_MAX];
	size_t reply_len;
	int nreplies;
	struct dns_client reply_to;
	uint32_t rnd;
};

static struct fake F;

static int f_send(void *ctx, unsigned int up, bool tcp, const uint8_t *pkt, size_t len)
{
	struct sent *s = &F.sent[F.nsent % 16];

	if ((int)up == F.send_fail_up)
		return -ENETUNREACH;
	s->up = up;
	s->tcp = tcp;
	s->len = len;
	memcpy(s->pkt, pkt, len);
	F.nsent++;
	return 0;
}

static void f_reply(void *ctx, const struct dns_client *c, const uint8_t *pkt, size_t len)
{
	memcpy(F.reply, pkt, len);
	F.reply_len = len;
	F.reply_to = *c;
	F.nreplies++;
}

static uint32_t f_random(void *ctx)
{
	F.rnd = F.rnd * 1103515245u + 12345u;
	return F.rnd >> 8;
}

static const struct dns_server_ops OPS = { f_send, f_reply, f_random };

/* ------------------------------------------------------------ packets */
struct qopt {
	uint16_t id;
	uint16_t type;
	int edns;		/* 0 none, else the size */
	bool do_bit;
};

static size_t mkquery(uint8_t *b, const char *name, const struct qopt *o)
{
	size_t n = 12;
	int l;

	memset(b, 0, 12);
	dns_wr16(b, o->id ? o->id : 0x4242);
	dns_wr16(b + 2, DNS_F_RD);
	dns_wr16(b + 4, 1);
	dns_wr16(b + 10, o->edns ? 1 : 0);
	l = dns_name_from_text(name, b + n, DNS_NAME_MAX);
	assert_true(l > 0);
	n += (size_t)l;
	dns_wr16(b + n, o->type ? o->type : DNS_T_A);
	dns_wr16(b + n + 2, DNS_CLASS_IN);
	n += 4;
	if (o->edns) {
		b[n] = 0;
		dns_wr16(b + n + 1, DNS_T_OPT);
		dns_wr16(b + n + 3, (uint16_t)o->edns);
		dns_wr32(b + n + 5, o->do_bit ? 0x8000 : 0);
		dns_wr16(b + n + 9, 0);
		n += 11;
	}
	return n;
}

/* A parsed reply, enough to check what a client would see. */
struct rr {
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
	size_t rdoff;
};

struct resp {
	uint16_t id, flags;
	int rcode;		/* with the extended bits */
	uint16_t an, ns, ar;
	struct rr rr[128];	/* all sections */
	bool opt;
	uint16_t opt_size;
	char qname[300];
};

static void parse(const uint8_t *b, size_t len, struct resp *r)
{
	struct dns_query q;
	uint8_t w[DNS_NAME_MAX];
	size_t off, nrr;
	int qn;

	memset(r, 0, sizeof(*r));
	if (dns_rd16(b + 4) == 0) {	/* FORMERR without a question */
		r->id = dns_rd16(b);
		r->flags = dns_rd16(b + 2);
		r->rcode = r->flags & 0xf;
		return;
	}
	assert_int_equal(dns_reply_parse(b, len, &q), 0);
	r->id = q.id;
	r->flags = q.flags;
	r->rcode = q.flags & 0xf;
	r->an = q.ancount;
	r->ns = q.nscount;
	r->ar = q.arcount;
	assert_true(dns_name_to_text(q.qname, q.qname_len, r->qname, sizeof(r->qname)) > 0);
	off = 12 + q.qname_len + 4u;
	nrr = (size_t)r->an + r->ns + r->ar;
	assert_true(nrr <= 128);
	for (size_t i = 0; i < nrr; i++) {
		struct rr *x = &r->rr[i];

		qn = dns_name_read(b, len, off, w, &off);
		assert_true(qn > 0);
		x->type = dns_rd16(b + off);
		x->ttl = (uint32_t)dns_rd16(b + off + 4) << 16 | dns_rd16(b + off + 6);
		x->rdlen = dns_rd16(b + off + 8);
		x->rdata = b + off + 10;
		x->rdoff = off + 10;
		if (x->type == DNS_T_OPT) {
			r->opt = true;
			r->opt_size = dns_rd16(b + off + 2);
			r->rcode |= (b[off + 4] << 4);
		}
		off += 10 + x->rdlen;
	}
	assert_int_equal(off, len);
}

/* ------------------------------------------------------------ fixture */
struct fx {
	struct dns_table *t;
	struct dns_server *s;
	uint8_t out[DNS_MSG_MAX];
	struct resp r;
	uint64_t now;
};

static struct ovn_ip I(const char *s)
{
	struct ovn_ip ip;

	assert_int_equal(ovn_ip_parse(&ip, s), 0);
	return ip;
}

static void add(struct dns_table *t, const char *name, const char *ip)
{
	struct ovn_ip a = I(ip);

	assert_int_equal(dns_table_add(t, NET1, name, &a), 0);
}

static int setup_n(void **state, unsigned int nup, unsigned int cap)
{
	static struct fx fx;
	struct dns_server_cfg cfg = { .ttl = 30, .n_upstreams = nup, .max_pending = cap,
				      .attempt_ms = 1000, .deadline_ms = 2500 };
	char name[32], ip[32];

	memset(&F, 0, sizeof(F));
	F.send_fail_up = -1;
	memset(&fx, 0, sizeof(fx));
	fx.now = 1000000;
	fx.t = dns_table_new();
	assert_int_equal(dns_table_net_set(fx.t, NET1, "net1"), 0);
	add(fx.t, "web", "198.19.1.10");
	add(fx.t, "web", "198.19.1.11");
	add(fx.t, "web", "198.19.1.12");
	add(fx.t, "web", "fd00:1::10");
	add(fx.t, "v4only", "198.19.1.20");
	for (int i = 0; i < 60; i++) {	/* a big alias: 60 A records */
		snprintf(ip, sizeof(ip), "198.19.2.%d", i + 1);
		add(fx.t, "big", ip);
	}
	snprintf(name, sizeof(name), "c0001");
	add(fx.t, name, "198.19.3.1");
	fx.s = dns_server_new(fx.t, &cfg, &OPS, NULL);
	assert_non_null(fx.s);
	*state = &fx;
	return 0;
}

static int setup(void **state)
{
	return setup_n(state, 2, 0);
}

static int setup_cap2(void **state)
{
	return setup_n(state, 1, 2);
}

static int setup_noup(void **state)
{
	return setup_n(state, 0, 0);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	dns_server_free(fx->s);
	dns_table_free(fx->t);
	return 0;
}

static const struct dns_client UDP = { .conn = (void *)1, .view = NET1 };
static const struct dns_client TCP = { .conn = (void *)2, .view = NET1, .tcp = true };

/* Ask and parse the immediate reply; returns its length (0 = none). */
static int ask(struct fx *fx, const struct dns_client *c, const char *name, struct qopt o)
{
	uint8_t q[600];
	size_t n = mkquery(q, name, &o);
	int r = dns_server_query(fx->s, c, q, n, fx->out, c->tcp ? DNS_MSG_MAX : 1232, fx->now);

	assert_true(r >= 0);
	if (r > 0)
		parse(fx->out, (size_t)r, &fx->r);
	return r;
}

/* ------------------------------------------------------------ local answers */
static void test_local_vectors(void **state)
{
	static const struct {
		const char *q;
		uint16_t type;
		int edns;
		int rcode;
		uint16_t an, ns;	/* ns = SOA cited */
		bool tc;
	} v[] = {
		{ "web.net1", DNS_T_A, 0, DNS_R_NOERROR, 3, 0, false },
		{ "WEB", DNS_T_AAAA, 0, DNS_R_NOERROR, 1, 0, false },
		{ "web", DNS_T_ANY, 0, DNS_R_NOERROR, 4, 0, false },
		{ "v4only.net1", DNS_T_AAAA, 0, DNS_R_NOERROR, 0, 1, false },	/* RFC 4074 */
		{ "web.net1", DNS_T_TXT, 0, DNS_R_NOERROR, 0, 1, false },
		{ "web.net1", DNS_T_MX, 0, DNS_R_NOERROR, 0, 1, false },
		{ "net1", DNS_T_A, 0, DNS_R_NOERROR, 0, 1, false },		/* apex */
		{ "nosuch.net1", DNS_T_A, 0, DNS_R_NXDOMAIN, 0, 1, false },
		{ "nosuch", DNS_T_A, 0, DNS_R_NXDOMAIN, 0, 0, false },		/* bare */
		{ "10.1.19.198.in-addr.arpa", DNS_T_PTR, 0, DNS_R_NOERROR, 1, 0, false },
		{ "10.1.19.198.in-addr.arpa", DNS_T_A, 0, DNS_R_NOERROR, 0, 1, false },
		{ "77.1.19.198.in-addr.arpa", DNS_T_PTR, 0, DNS_R_NXDOMAIN, 0, 1, false },
		{ "localhost", DNS_T_A, 0, DNS_R_NOERROR, 1, 0, false },
		{ "big.net1", DNS_T_A, 0, DNS_R_NOERROR, 30, 0, true },	/* 512 bytes */
		{ "big.net1", DNS_T_A, 1232, DNS_R_NOERROR, 60, 0, false },
		{ "big.net1", DNS_T_A, 600, DNS_R_NOERROR, 34, 0, true },
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct qopt o = { .type = v[i].type, .edns = v[i].edns };
		int n = ask(fx, &UDP, v[i].q, o);
		struct resp *r = &fx->r;

		assert_true(n > 0);
		if (r->rcode != v[i].rcode || r->an != v[i].an || r->ns != v[i].ns)
			fail_msg("%s/%u: rcode %d an %u ns %u", v[i].q, v[i].type, r->rcode, r->an,
				 r->ns);
		assert_true(r->flags & DNS_F_AA);
		assert_true(r->flags & DNS_F_RD);
		assert_true(r->flags & DNS_F_RA);	/* upstreams configured */
		assert_int_equal(!!(r->flags & DNS_F_TC), v[i].tc);
		assert_int_equal(r->opt, v[i].edns != 0);
		if (r->opt)
			assert_int_equal(r->opt_size, DNS_UDP_SIZE);
		assert_true((size_t)n <= (v[i].edns ? (size_t)v[i].edns : 512u));
		if (r->ns)	/* negative TTL = the SOA's */
			assert_int_equal(r->rr[r->an].type, DNS_T_SOA);
		if (r->an)
			assert_int_equal(r->rr[0].ttl, 30);
	}
	assert_int_equal(dns_server_counters(fx->s)->local, ARRAY_SIZE(v));
	assert_int_equal(dns_server_counters(fx->s)->rcode[DNS_R_NXDOMAIN], 3);
	assert_int_equal(dns_server_counters(fx->s)->truncated, 2);
	assert_int_equal(dns_server_counters(fx->s)->forwarded, 0);
	/* answered in the call: all in the first latency bucket */
	assert_int_equal(dns_server_counters(fx->s)->latency[0], ARRAY_SIZE(v));
	assert_int_equal(dns_server_counters(fx->s)->latency_sum_ms, 0);
}

static void test_case_echo_and_ptr(void **state)
{
	struct fx *fx = *state;
	uint8_t w[DNS_NAME_MAX];
	char txt[300];

	ask(fx, &UDP, "WeB.NeT1", (struct qopt){ .type = DNS_T_A });
	assert_string_equal(fx->r.qname, "WeB.NeT1.");
	ask(fx, &UDP, "10.1.19.198.in-addr.arpa", (struct qopt){ .type = DNS_T_PTR });
	assert_int_equal(fx->r.an, 1);
	assert_true(dns_name_read(fx->out, 512, fx->r.rr[0].rdoff, w, NULL) > 0);
	dns_name_to_text(w, DNS_NAME_MAX, txt, sizeof(txt));
	assert_string_equal(txt, "web.net1.");
}

static void test_round_robin(void **state)
{
	struct fx *fx = *state;
	uint8_t firsts[3];

	for (int i = 0; i < 3; i++) {
		ask(fx, &UDP, "web", (struct qopt){ .type = DNS_T_A });
		assert_int_equal(fx->r.an, 3);
		firsts[i] = fx->r.rr[0].rdata[3];
		/* all three present in every answer */
		assert_int_equal(fx->r.rr[0].rdata[3] + fx->r.rr[1].rdata[3] +
				 fx->r.rr[2].rdata[3], 10 + 11 + 12);
	}
	assert_true(firsts[0] != firsts[1] && firsts[1] != firsts[2] && firsts[0] != firsts[2]);
}

static void test_error_rcodes(void **state)
{
	struct fx *fx = *state;
	uint8_t q[600];
	size_t n;
	int r;

	/* EDNS version 1: BADVERS, OPT echoed */
	n = mkquery(q, "web", &(struct qopt){ .edns = 1232 });
	q[n - 11 + 6] = 1;
	r = dns_server_query(fx->s, &UDP, q, n, fx->out, 1232, fx->now);
	parse(fx->out, (size_t)r, &fx->r);
	assert_int_equal(fx->r.rcode, DNS_R_BADVERS);
	/* opcode STATUS: NOTIMP */
	n = mkquery(q, "web", &(struct qopt){ 0 });
	q[2] |= 2 << 3;
	r = dns_server_query(fx->s, &UDP, q, n, fx->out, 1232, fx->now);
	parse(fx->out, (size_t)r, &fx->r);
	assert_int_equal(fx->r.rcode, DNS_R_NOTIMP);
	/* two questions: FORMERR */
	n = mkquery(q, "web", &(struct qopt){ 0 });
	q[5] = 2;
	r = dns_server_query(fx->s, &UDP, q, n, fx->out, 1232, fx->now);
	parse(fx->out, (size_t)r, &fx->r);
	assert_int_equal(fx->r.rcode, DNS_R_FORMERR);
	/* CHAOS class and AXFR: REFUSED */
	n = mkquery(q, "version.bind", &(struct qopt){ .type = DNS_T_TXT });
	q[n - 1] = 3;
	r = dns_server_query(fx->s, &UDP, q, n, fx->out, 1232, fx->now);
	parse(fx->out, (size_t)r, &fx->r);
	assert_int_equal(fx->r.rcode, DNS_R_REFUSED);
	ask(fx, &TCP, "net1", (struct qopt){ .type = DNS_T_AXFR });
	assert_int_equal(fx->r.rcode, DNS_R_REFUSED);
	/* a response, or a runt: dropped silently, counted */
	n = mkquery(q, "web", &(struct qopt){ 0 });
	q[2] |= 0x80;
	assert_int_equal(dns_server_query(fx->s, &UDP, q, n, fx->out, 1232, fx->now), 0);
	assert_int_equal(dns_server_query(fx->s, &UDP, q, 5, fx->out, 1232, fx->now), 0);
	assert_int_equal(dns_server_counters(fx->s)->malformed, 2);
	/* buffers too small for the transport */
	assert_int_equal(dns_server_query(fx->s, &TCP, q, n, fx->out, 1232, fx->now), -ENOBUFS);
}

/* ------------------------------------------------------------ forwarding */
/* Turn the last query sent upstream into a reply with rcode, flags and one
 * A record 198.51.100.7 (or none when a == 0), optionally with an OPT. */
static size_t upstream_answer(const struct sent *s, uint8_t *b, int rcode, uint16_t flags,
			      int a, bool opt)
{
	struct dns_query q;
	size_t n;

	assert_int_equal(dns_query_parse(s->pkt, s->len, &q), 0);
	n = 12 + q.qname_len + 4u;
	memcpy(b, s->pkt, n);
	dns_wr16(b + 2, DNS_F_QR | DNS_F_RD | DNS_F_RA | flags | (uint16_t)rcode);
	dns_wr16(b + 6, a ? 1 : 0);
	dns_wr16(b + 10, opt ? 1 : 0);
	if (a) {
		memcpy(b + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x33\x64\x07", 16);
		n += 16;
	}
	if (opt) {
		memcpy(b + n, "\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11);
		n += 11;
	}
	return n;
}

static const struct sent *last_sent(void)
{
	assert_true(F.nsent > 0);
	return &F.sent[(F.nsent - 1) % 16];
}

static void test_forward_basic(void **state)
{
	struct fx *fx = *state;
	uint8_t b[600];
	struct dns_query uq;
	size_t n;

	assert_int_equal(ask(fx, &UDP, "Example.COM", (struct qopt){ .id = 77, .edns = 4096,
								    .do_bit = true }), 0);
	assert_int_equal(F.nsent, 1);
	assert_int_equal(last_sent()->up, 0);
	assert_false(last_sent()->tcp);
	/* our own ID and OPT upstream, the client's DO bit and name case */
	assert_int_equal(dns_query_parse(last_sent()->pkt, last_sent()->len, &uq), 0);
	assert_true(uq.id != 77);
	assert_true(uq.has_opt && uq.do_bit);
	assert_int_equal(uq.udp_size, DNS_UDP_SIZE);
	assert_memory_equal(uq.qname, "\7Example\3COM", 13);
	assert_int_equal(dns_server_pending(fx->s), 1);
	assert_int_equal(dns_server_next_deadline(fx->s), fx->now + 1000);
	/* upstream answers (in lower case, without OPT): relayed with the
	 * client's ID and case, and our OPT added */
	n = upstream_answer(last_sent(), b, 0, 0, 1, false);
	memcpy(b + 12, "\7example\3com", 12);
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now + 5);
	assert_int_equal(F.nreplies, 1);
	assert_ptr_equal(F.reply_to.conn, UDP.conn);
	parse(F.reply, F.reply_len, &fx->r);
	assert_int_equal(fx->r.id, 77);
	assert_string_equal(fx->r.qname, "Example.COM.");
	assert_int_equal(fx->r.an, 1);
	assert_true(fx->r.opt);
	assert_int_equal(fx->r.opt_size, DNS_UDP_SIZE);
	assert_false(fx->r.flags & DNS_F_AA);
	assert_int_equal(dns_server_pending(fx->s), 0);
	assert_int_equal(dns_server_tick(fx->s, fx->now + 10000), UINT64_MAX);
	assert_int_equal(F.nreplies, 1);
	/* answered 5 ms after it came: the 1 < ms <= 5 bucket */
	assert_int_equal(dns_server_counters(fx->s)->latency[1], 1);
	assert_int_equal(dns_server_counters(fx->s)->latency_sum_ms, 5);
}

static void test_forward_strips_opt(void **state)
{
	struct fx *fx = *state;
	uint8_t b[600];
	size_t n;

	ask(fx, &UDP, "example.com", (struct qopt){ 0 });
	n = upstream_answer(last_sent(), b, 0, 0, 1, true);
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);
	parse(F.reply, F.reply_len, &fx->r);
	assert_false(fx->r.opt);
	assert_int_equal(fx->r.ar, 0);
	assert_int_equal(fx->r.an, 1);
}

static void test_forward_retry_then_servfail(void **state)
{
	struct fx *fx = *state;
	uint64_t t0 = fx->now;

	ask(fx, &UDP, "slow.example", (struct qopt){ .id = 9 });
	assert_int_equal(last_sent()->up, 0);
	assert_int_equal(dns_server_tick(fx->s, t0 + 999), t0 + 1000);
	assert_int_equal(F.nsent, 1);
	/* up0 times out: up1 */
	assert_int_equal(dns_server_tick(fx->s, t0 + 1000), t0 + 2000);
	assert_int_equal(F.nsent, 2);
	assert_int_equal(last_sent()->up, 1);
	/* up1 times out: back to up0, cut at the deadline */
	assert_int_equal(dns_server_tick(fx->s, t0 + 2000), t0 + 2500);
	assert_int_equal(last_sent()->up, 0);
	assert_int_equal(F.nreplies, 0);
	assert_int_equal(dns_server_tick(fx->s, t0 + 2500), UINT64_MAX);
	assert_int_equal(F.nreplies, 1);
	parse(F.reply, F.reply_len, &fx->r);
	assert_int_equal(fx->r.rcode, DNS_R_SERVFAIL);
	assert_int_equal(fx->r.id, 9);
	assert_string_equal(fx->r.qname, "slow.example.");
	assert_int_equal(dns_server_counters(fx->s)->upstream_timeouts, 3);
	assert_int_equal(dns_server_counters(fx->s)->servfail_deadline, 1);
	assert_int_equal(dns_server_pending(fx->s), 0);
	/* the SERVFAIL left 2.5 s after the query: the 1000 < ms <= 2500 bucket */
	assert_int_equal(dns_server_counters(fx->s)->latency[9], 1);
	assert_int_equal(dns_server_counters(fx->s)->latency_sum_ms, 2500);
}

static void test_forward_servfail_moves_on(void **state)
{
	struct fx *fx = *state;
	uint8_t b[600];
	size_t n;

	ask(fx, &UDP, "example.com", (struct qopt){ 0 });
	n = upstream_answer(last_sent(), b, DNS_R_SERVFAIL, 0, 0, false);
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);
	assert_int_equal(F.nsent, 2);
	assert_int_equal(last_sent()->up, 1);
	assert_int_equal(F.nreplies, 0);
	/* NXDOMAIN is an answer: passed through, no fail-over */
	n = upstream_answer(last_sent(), b, DNS_R_NXDOMAIN, 0, 0, false);
	dns_server_upstream_reply(fx->s, 1, false, b, n, fx->now);
	assert_int_equal(F.nreplies, 1);
	parse(F.reply, F.reply_len, &fx->r);
	assert_int_equal(fx->r.rcode, DNS_R_NXDOMAIN);
	/* both refuse: SERVFAIL at once, without waiting for the deadline */
	ask(fx, &UDP, "example.org", (struct qopt){ 0 });
	n = upstream_answer(last_sent(), b, DNS_R_REFUSED, 0, 0, false);
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);
	n = upstream_answer(last_sent(), b, DNS_R_REFUSED, 0, 0, false);
	dns_server_upstream_reply(fx->s, 1, false, b, n, fx->now);
	assert_int_equal(F.nreplies, 2);
	parse(F.reply, F.reply_len, &fx->r);
	assert_int_equal(fx->r.rcode, DNS_R_SERVFAIL);
}

static void test_forward_send_error(void **state)
{
	struct fx *fx = *state;

	F.send_fail_up = 0;
	ask(fx, &UDP, "example.com", (struct qopt){ 0 });
	assert_int_equal(F.nsent, 1);
	assert_int_equal(last_sent()->up, 1);
	assert_int_equal(dns_server_counters(fx->s)->upstream_errors, 1);
}

static void test_forward_mismatch_dropped(void **state)
{
	struct fx *fx = *state;
	uint8_t b[600];
	size_t n;

	ask(fx, &UDP, "example.com", (struct qopt){ 0 });
	n = upstream_answer(last_sent(), b, 0, 0, 1, false);
	dns_server_upstream_reply(fx->s, 1, false, b, n, fx->now);	/* wrong upstream */
	dns_server_upstream_reply(fx->s, 0, true, b, n, fx->now);	/* wrong transport */
	b[0] ^= 0x55;							/* wrong ID */
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);
	b[0] ^= 0x55;
	b[13] = 'X';							/* wrong question */
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);
	b[13] = 'e';
	dns_server_upstream_reply(fx->s, 0, false, b, n - 3, fx->now);	/* cut short */
	dns_server_upstream_reply(fx->s, 0, false, b, 4, fx->now);	/* runt */
	b[2] &= 0x7f;							/* not a reply */
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);
	b[2] |= 0x80;
	assert_int_equal(F.nreplies, 0);
	assert_int_equal(dns_server_counters(fx->s)->upstream_bad, 7);
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);	/* the real one */
	assert_int_equal(F.nreplies, 1);
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);	/* duplicate */
	assert_int_equal(dns_server_counters(fx->s)->upstream_bad, 8);
}

static void test_forward_tc_retries_tcp(void **state)
{
	struct fx *fx = *state;
	uint8_t b[DNS_MSG_MAX];
	size_t n;
	uint16_t udp_id;

	ask(fx, &UDP, "example.com", (struct qopt){ .edns = 1232 });
	udp_id = dns_rd16(last_sent()->pkt);
	n = upstream_answer(last_sent(), b, 0, DNS_F_TC, 0, true);
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);
	assert_int_equal(F.nsent, 2);
	assert_true(last_sent()->tcp);
	assert_int_equal(last_sent()->up, 0);
	assert_true(dns_rd16(last_sent()->pkt) != udp_id);
	/* a big TCP answer: 100 A records, too big for this client: TC to it */
	n = upstream_answer(last_sent(), b, 0, 0, 0, false);
	dns_wr16(b + 6, 100);
	for (int i = 0; i < 100; i++, n += 16)
		memcpy(b + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x33\x64\x07", 16);
	dns_server_upstream_reply(fx->s, 0, true, b, n, fx->now);
	assert_int_equal(F.nreplies, 1);
	parse(F.reply, F.reply_len, &fx->r);
	assert_true(fx->r.flags & DNS_F_TC);
	assert_int_equal(fx->r.an, 0);
	assert_true(fx->r.opt);
	assert_int_equal(dns_server_counters(fx->s)->upstream_tcp_retries, 1);
	/* the same over TCP from the client: all 100 */
	ask(fx, &TCP, "example.com", (struct qopt){ 0 });
	n = upstream_answer(last_sent(), b, 0, 0, 0, false);
	dns_wr16(b + 6, 100);
	for (int i = 0; i < 100; i++, n += 16)
		memcpy(b + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x33\x64\x07", 16);
	dns_server_upstream_reply(fx->s, 0, false, b, n, fx->now);
	parse(F.reply, F.reply_len, &fx->r);
	assert_int_equal(fx->r.an, 100);
	assert_true(F.reply_to.tcp);
}

static void test_forward_cap(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(ask(fx, &UDP, "a.example", (struct qopt){ 0 }), 0);
	assert_int_equal(ask(fx, &UDP, "b.example", (struct qopt){ 0 }), 0);
	assert_true(ask(fx, &UDP, "c.example", (struct qopt){ 0 }) > 0);
	assert_int_equal(fx->r.rcode, DNS_R_REFUSED);
	assert_int_equal(dns_server_counters(fx->s)->overload, 1);
	/* local names still answer when the table is full */
	assert_true(ask(fx, &UDP, "web", (struct qopt){ 0 }) > 0);
	assert_int_equal(fx->r.an, 3);
	/* a client that goes away frees its slots */
	dns_server_forget(fx->s, UDP.conn);
	assert_int_equal(dns_server_pending(fx->s), 0);
	assert_int_equal(dns_server_counters(fx->s)->orphaned, 2);
	assert_int_equal(ask(fx, &UDP, "c.example", (struct qopt){ 0 }), 0);
}

static void test_no_upstreams(void **state)
{
	struct fx *fx = *state;

	assert_true(ask(fx, &UDP, "example.com", (struct qopt){ .edns = 1232 }) > 0);
	assert_int_equal(fx->r.rcode, DNS_R_SERVFAIL);
	assert_false(fx->r.flags & DNS_F_RA);
	ask(fx, &UDP, "web", (struct qopt){ 0 });
	assert_false(fx->r.flags & DNS_F_RA);
}

/* ------------------------------------------------------------ throughput */
static void test_throughput(void **state)
{
	struct dns_table *t = dns_table_new();
	struct dns_server_cfg cfg = { 0 };
	struct dns_server *s;
	static uint8_t q[1000][300], out[1232];
	size_t qn[1000];
	char name[32], ip[64];
	long n = 0, answers = 0;
	clock_t c0, c1;
	double secs;

	dns_table_net_set(t, 1, "net1");
	for (int i = 1; i <= 1000; i++) {
		struct ovn_ip a;

		snprintf(name, sizeof(name), "c%04d", i);
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		ovn_ip_parse(&a, ip);
		dns_table_add(t, 1, name, &a);
		snprintf(ip, sizeof(ip), "fd00:1::%x", i);
		ovn_ip_parse(&a, ip);
		dns_table_add(t, 1, name, &a);
	}
	s = dns_server_new(t, &cfg, &OPS, NULL);
	/* the benchmark's mix: 80% A hits, 10% AAAA hits, 10% NXDOMAIN */
	for (int i = 0; i < 1000; i++) {
		int k = i % 10;

		snprintf(name, sizeof(name), "%c%04d.net1", k == 9 ? 'u' : 'c', i + 1);
		qn[i] = mkquery(q[i], name, &(struct qopt){ .type = k == 8 ? DNS_T_AAAA : DNS_T_A,
							   .edns = 1232 });
	}
	c0 = clock();
	do {
		for (int i = 0; i < 1000; i++, n++)
			answers += dns_server_query(s, &UDP, q[i], qn[i], out, sizeof(out), 0) > 0;
		c1 = clock();
	} while (c1 - c0 < CLOCKS_PER_SEC / 4);
	secs = (double)(c1 - c0) / CLOCKS_PER_SEC;
	print_message("core: %ld answers in %.3f CPU s = %.0f answers/CPU-s (1,000 names)\n",
		      answers, secs, answers / secs);
	assert_int_equal(answers, n);
	dns_server_free(s);
	dns_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_echo_and_ptr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_robin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_rcodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_strips_opt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_retry_then_servfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_servfail_moves_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_send_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_mismatch_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_tc_retries_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_cap, setup_cap2, teardown),
		cmocka_unit_test_setup_teardown(test_no_upstreams, setup_noup, teardown),
		cmocka_unit_test(test_throughput),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
