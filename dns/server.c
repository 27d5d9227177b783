/* server.c: the DNS server core. A query in -> a local answer out, or a
 * forward to upstream resolvers whose reply (or a SERVFAIL) comes out later.
 *
 * Pure: time is a parameter, sending and randomness are callbacks (struct
 * dns_server_ops), so unit tests and the fuzzer drive it without sockets.
 * Allocates only at creation: the in-flight table, an ID map and the scratch
 * buffers live in struct dns_server.
 *
 * Local answers (RFC 1035, 2308, 4074, 6891, 8020): AA set, the question
 * echoed in its original case, A/AAAA rotated per reply, NODATA vs NXDOMAIN
 * with the zone's SOA in authority, TC when an answer record does not fit the
 * client's size (512 without EDNS, at most our 1232 over UDP), OPT only when
 * the query had one.
 *
 * Forwarding, one entry per query:
 *
 *     query --> UDP(up) --reply ok--------------------------> relay, free
 *                 |  |---reply TC--> TCP(up) --reply ok-----> relay, free
 *                 |  '---SERVFAIL/REFUSED/send error: errs++ -.
 *                 '------attempt timeout (attempt_ms) ---------+--> UDP(next up)
 *     errs == n_upstreams or deadline_ms passed ---------------> SERVFAIL (EDE 22)
 *
 * Upstreams are tried in configured order, skipping one marked down (3
 * timeouts in a row: down for 5 s, unless all are down). Each try uses a fresh
 * random ID (RFC 5452); a reply is accepted only from the upstream and the
 * transport it was sent to, with the same ID and question, else dropped and
 * counted. We build our own OPT upstream (size upstream_udp_size, the
 * client's DO and CD bits); the reply is relayed with the client's ID and
 * question, our OPT size when the client did EDNS and no OPT when it did not.
 * The in-flight table is bounded: over the cap, REFUSED (counted).
 *
 * Does not: cache forwarded answers; limit in-flight queries per view.
 * TODO: a small positive/negative cache (RFC 2308); per-view fairness.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns_int.h"

#define DOWN_AFTER 3
#define DOWN_MS 5000
#define EDE_NO_REACHABLE 22

enum { P_FREE, P_UDP, P_TCP };

struct pending {
	uint8_t state;
	uint8_t up;			/* upstream being tried */
	uint8_t errs;			/* upstreams that failed outright */
	uint16_t up_id;
	uint64_t start, deadline;
	struct dns_client client;
	struct dns_query q;
};

struct upstream {
	unsigned int timeouts;		/* in a row */
	uint64_t down_until;
};

struct dns_server {
	struct dns_table *t;
	struct dns_server_cfg cfg;
	struct dns_server_ops ops;
	void *ctx;
	struct dns_counters c;
	struct upstream up[DNS_MAX_UPSTREAMS];
	unsigned int cap, used;
	uint64_t next_due;		/* earliest deadline set, maybe stale-early */
	struct pending *p;
	unsigned int *free_idx;		/* stack of free slots */
	uint16_t *by_id;		/* upstream ID -> slot + 1, 0 = none */
	uint8_t qbuf[DNS_HDR_LEN + DNS_NAME_MAX + 4 + DNS_OPT_LEN];
	uint8_t scratch[DNS_MSG_MAX];
	uint64_t now;			/* now_ms of the public call running */
};

const unsigned int dns_lat_bounds_ms[DNS_LAT_BUCKETS - 1] = {
	1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
};

static void lat_record(struct dns_server *s, uint64_t ms)
{
	unsigned int i = 0;

	while (i < DNS_LAT_BUCKETS - 1 && ms > dns_lat_bounds_ms[i])
		i++;
	s->c.latency[i]++;
	s->c.latency_sum_ms += ms;
}

/* ------------------------------------------------------------ life cycle */
static void cfg_defaults(struct dns_server_cfg *c)
{
	if (!c->ttl)
		c->ttl = 10;
	if (!c->max_pending)
		c->max_pending = 1024;
	if (c->max_pending > 16384)
		c->max_pending = 16384;
	if (!c->attempt_ms)
		c->attempt_ms = 1000;
	if (!c->deadline_ms)
		c->deadline_ms = 2500;
	if (c->upstream_udp_size < DNS_UDP_MIN)
		c->upstream_udp_size = DNS_UDP_SIZE;
	if (c->n_upstreams > DNS_MAX_UPSTREAMS)
		c->n_upstreams = DNS_MAX_UPSTREAMS;
}

struct dns_server *dns_server_new(struct dns_table *t, const struct dns_server_cfg *cfg,
				  const struct dns_server_ops *ops, void *ctx)
{
	struct dns_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->t = t;
	s->cfg = *cfg;
	cfg_defaults(&s->cfg);
	s->ops = *ops;
	s->ctx = ctx;
	s->cap = s->cfg.max_pending;
	s->p = calloc(s->cap, sizeof(*s->p));
	s->free_idx = calloc(s->cap, sizeof(*s->free_idx));
	s->by_id = calloc(65536, sizeof(*s->by_id));
	if (!s->p || !s->free_idx || !s->by_id) {
		dns_server_free(s);
		return NULL;
	}
	for (unsigned int i = 0; i < s->cap; i++)
		s->free_idx[i] = s->cap - 1 - i;
	s->next_due = UINT64_MAX;
	return s;
}

void dns_server_free(struct dns_server *s)
{
	if (!s)
		return;
	free(s->p);
	free(s->free_idx);
	free(s->by_id);
	free(s);
}

const struct dns_counters *dns_server_counters(const struct dns_server *s)
{
	return &s->c;
}

unsigned int dns_server_pending(const struct dns_server *s)
{
	return s->used;
}

/* ------------------------------------------------------------ local answers */
static size_t client_limit(const struct dns_query *q, bool tcp, size_t outcap)
{
	size_t lim = DNS_UDP_MIN;

	if (tcp)
		lim = DNS_MSG_MAX;
	else if (q->has_opt)
		lim = q->udp_size < DNS_UDP_SIZE ? q->udp_size : DNS_UDP_SIZE;
	return lim < outcap ? lim : outcap;
}

static bool may_forward(const struct dns_server *s, unsigned int view_flags)
{
	return s->cfg.n_upstreams > 0 && !(view_flags & DNS_VIEW_NO_FORWARD);
}

static void count_reply(struct dns_server *s, const uint8_t *msg, int rcode)
{
	s->c.rcode[rcode < 24 ? rcode : 23]++;
	if (msg[2] & (DNS_F_TC >> 8))
		s->c.truncated++;
}

/* A reply carrying only a header, the question (if parsed) and an OPT. */
static size_t reply_error(struct dns_server *s, const struct dns_query *q, int rcode, int ede,
			  bool ra, uint8_t *out, size_t limit)
{
	struct dns_msg m;
	size_t n;

	if (dns_msg_start(&m, out, limit, q, (q->flags & (DNS_F_RD | DNS_F_CD)) |
			  (ra ? DNS_F_RA : 0), rcode) < 0)
		return 0;
	n = dns_msg_finish(&m, rcode, ede);
	count_reply(s, out, rcode);
	return n;
}

/* The addresses of one family, rotated: start at the cursor, wrap around. */
static void put_addrs(struct dns_msg *m, const struct dns_name *n, int family, uint16_t rr,
		      uint32_t ttl)
{
	unsigned int count = family == AF_INET ? n->n4 : n->n6, start, idx;
	uint16_t type = family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	size_t len = family == AF_INET ? 4 : 16;

	if (!count)
		return;
	start = rr % count;
	for (int pass = 0; pass < 2; pass++) {
		idx = 0;
		for (const struct dns_rec *r = n->recs; r; r = r->next) {
			if (r->ip.family != family)
				continue;
			if ((pass == 0) == (idx >= start) &&
			    dns_msg_rr(m, DNS_SEC_AN, DNS_QNAME_OFF, type, ttl, r->ip.b, len) < 0)
				return;
			idx++;
		}
	}
}

static void put_localhost(struct dns_msg *m, uint16_t qtype, uint32_t ttl)
{
	static const uint8_t v4[4] = { 127, 0, 0, 1 };
	static const uint8_t v6[16] = { [15] = 1 };

	if (qtype == DNS_T_A || qtype == DNS_T_ANY)
		dns_msg_rr(m, DNS_SEC_AN, DNS_QNAME_OFF, DNS_T_A, ttl, v4, 4);
	if (qtype == DNS_T_AAAA || qtype == DNS_T_ANY)
		dns_msg_rr(m, DNS_SEC_AN, DNS_QNAME_OFF, DNS_T_AAAA, ttl, v6, 16);
}

static void put_answers(struct dns_msg *m, const struct dns_query *q, struct dns_lookup *lk,
			uint32_t ttl)
{
	uint16_t t = q->qtype;
	bool any = t == DNS_T_ANY;

	switch (lk->hit) {
	case DNS_HIT_NAME:
		if (t == DNS_T_A || any)
			put_addrs(m, lk->name, AF_INET, lk->name->rr, ttl);
		if (t == DNS_T_AAAA || any)
			put_addrs(m, lk->name, AF_INET6, lk->name->rr, ttl);
		lk->name->rr++;
		break;
	case DNS_HIT_PTR:
		if (t == DNS_T_PTR || any)
			dns_msg_rr_name(m, DNS_SEC_AN, DNS_QNAME_OFF, DNS_T_PTR, ttl,
					lk->name->wire, lk->name->len, lk->zone, lk->zone_len);
		break;
	case DNS_HIT_LOCALHOST:
		put_localhost(m, t, ttl);
		break;
	default:
		break;
	}
}

static int answer_local(struct dns_server *s, const struct dns_query *q, struct dns_lookup *lk,
			uint8_t *out, size_t limit)
{
	int rcode = lk->hit == DNS_HIT_NXDOMAIN ? DNS_R_NXDOMAIN : DNS_R_NOERROR;
	uint16_t flags = DNS_F_AA | (q->flags & (DNS_F_RD | DNS_F_CD));
	struct dns_msg m;

	if (may_forward(s, lk->view_flags))
		flags |= DNS_F_RA;
	if (dns_msg_start(&m, out, limit, q, flags, rcode) < 0)
		return 0;
	put_answers(&m, q, lk, s->cfg.ttl);
	/* RFC 2308: negative answers cite the zone so resolvers may cache them */
	if (m.count[DNS_SEC_AN] == 0 && !m.truncated && lk->soa_len)
		dns_msg_soa(&m, DNS_SEC_NS, lk->soa, lk->soa_len, s->cfg.ttl);
	s->c.local++;
	dns_msg_finish(&m, rcode, -1);
	count_reply(s, out, rcode);
	return (int)m.len;
}

/* ------------------------------------------------------------ forwarding */
static size_t upstream_query(struct dns_server *s, const struct pending *p)
{
	const struct dns_query *q = &p->q;
	uint8_t *b = s->qbuf;
	size_t o = DNS_HDR_LEN;

	dns_wr16(b, p->up_id);
	dns_wr16(b + 2, DNS_F_RD | (q->flags & DNS_F_CD));
	dns_wr16(b + 4, 1);
	dns_wr16(b + 6, 0);
	dns_wr16(b + 8, 0);
	dns_wr16(b + 10, 1);
	memcpy(b + o, q->qname, q->qname_len);
	o += q->qname_len;
	dns_wr16(b + o, q->qtype);
	dns_wr16(b + o + 2, q->qclass);
	o += 4;
	b[o] = 0;
	dns_wr16(b + o + 1, DNS_T_OPT);
	dns_wr16(b + o + 3, s->cfg.upstream_udp_size);
	dns_wr32(b + o + 5, q->do_bit ? 0x8000 : 0);
	dns_wr16(b + o + 9, 0);
	return o + DNS_OPT_LEN;
}

static void pending_free(struct dns_server *s, struct pending *p)
{
	s->by_id[p->up_id] = 0;
	p->state = P_FREE;
	s->free_idx[s->cap - s->used] = (unsigned int)(p - s->p);
	s->used--;
}

static void new_id(struct dns_server *s, struct pending *p)
{
	uint16_t id;

	if (p->state != P_FREE)
		s->by_id[p->up_id] = 0;
	do
		id = (uint16_t)s->ops.random(s->ctx);
	while (s->by_id[id]);
	p->up_id = id;
	s->by_id[id] = (uint16_t)(p - s->p + 1);
}

static void fail(struct dns_server *s, struct pending *p)
{
	size_t n;

	s->c.servfail_deadline++;
	lat_record(s, s->now - p->start);
	n = reply_error(s, &p->q, DNS_R_SERVFAIL, EDE_NO_REACHABLE, true, s->scratch,
			client_limit(&p->q, p->client.tcp, sizeof(s->scratch)));
	if (n)
		s->ops.reply(s->ctx, &p->client, s->scratch, n);
	pending_free(s, p);
}

static unsigned int first_up(const struct dns_server *s, uint64_t now)
{
	for (unsigned int i = 0; i < s->cfg.n_upstreams; i++)
		if (s->up[i].down_until <= now)
			return i;
	return 0;
}

/* Send p to upstream up (trying the next ones on send errors). Frees p with a
 * SERVFAIL when nothing is left to try. */
static void attempt(struct dns_server *s, struct pending *p, unsigned int up, bool tcp,
		    uint64_t now)
{
	uint64_t end = p->start + s->cfg.deadline_ms;

	while (p->errs < s->cfg.n_upstreams && now < end) {
		new_id(s, p);
		p->up = (uint8_t)up;
		p->state = tcp ? P_TCP : P_UDP;
		p->deadline = now + s->cfg.attempt_ms < end ? now + s->cfg.attempt_ms : end;
		if (p->deadline < s->next_due)
			s->next_due = p->deadline;
		s->c.upstream_sends++;
		if (s->ops.upstream_send(s->ctx, up, tcp, s->qbuf, upstream_query(s, p)) == 0)
			return;
		s->c.upstream_errors++;
		p->errs++;
		up = (up + 1) % s->cfg.n_upstreams;
		tcp = false;
	}
	fail(s, p);
}

static int forward(struct dns_server *s, const struct dns_client *c, const struct dns_query *q,
		   unsigned int view_flags, uint8_t *out, size_t limit, uint64_t now)
{
	struct pending *p;

	if (!may_forward(s, view_flags)) {
		bool refuse = s->cfg.n_upstreams > 0;	/* internal view: by policy */

		return (int)reply_error(s, q, refuse ? DNS_R_REFUSED : DNS_R_SERVFAIL,
					refuse ? -1 : EDE_NO_REACHABLE, false, out, limit);
	}
	if (s->used == s->cap) {
		s->c.overload++;
		return (int)reply_error(s, q, DNS_R_REFUSED, -1, true, out, limit);
	}
	p = &s->p[s->free_idx[s->cap - 1 - s->used]];
	s->used++;
	p->state = P_FREE;
	p->q = *q;
	p->client = *c;
	p->start = now;
	p->errs = 0;
	s->c.forwarded++;
	attempt(s, p, first_up(s, now), false, now);
	return 0;
}

/* n > 0: an answer made in this call (bucket 0 of the latency histogram). */
static int answered_now(struct dns_server *s, int n)
{
	if (n > 0)
		lat_record(s, 0);
	return n;
}

int dns_server_query(struct dns_server *s, const struct dns_client *c, const uint8_t *pkt,
		     size_t len, uint8_t *out, size_t outcap, uint64_t now_ms)
{
	uint8_t lname[DNS_NAME_MAX];
	struct dns_lookup lk;
	struct dns_query q;
	size_t limit;
	int rc;

	if (outcap < (c->tcp ? DNS_MSG_MAX : DNS_UDP_MIN))
		return -ENOBUFS;
	s->now = now_ms;
	s->c.queries++;
	if (c->tcp)
		s->c.queries_tcp++;
	rc = dns_query_parse(pkt, len, &q);
	if (rc < 0) {
		s->c.malformed++;
		return 0;
	}
	limit = client_limit(&q, c->tcp, outcap);
	if (rc > 0)
		return answered_now(s, (int)reply_error(s, &q, rc, -1, false, out, limit));
	if (q.qclass != DNS_CLASS_IN || q.qtype == DNS_T_AXFR || q.qtype == DNS_T_IXFR)
		return answered_now(s, (int)reply_error(s, &q, DNS_R_REFUSED, -1, false, out,
							limit));
	memcpy(lname, q.qname, q.qname_len);
	dns_name_lower(lname, q.qname_len);
	dns_table_lookup(s->t, c->view, lname, q.qname_len, &lk);
	if (lk.hit == DNS_HIT_FORWARD && lk.bare && !s->cfg.forward_bare)
		lk.hit = DNS_HIT_NXDOMAIN;
	if (lk.hit == DNS_HIT_FORWARD)
		return answered_now(s, forward(s, c, &q, lk.view_flags, out, limit, now_ms));
	return answered_now(s, (int)answer_local(s, &q, &lk, out, limit));
}

/* ------------------------------------------------------------ upstream replies */
static bool same_question(const struct dns_query *a, const struct dns_query *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass &&
	       dns_name_eq(a->qname, a->qname_len, b->qname, b->qname_len);
}

static size_t put_opt(uint8_t *p)
{
	p[0] = 0;
	dns_wr16(p + 1, DNS_T_OPT);
	dns_wr16(p + 3, DNS_UDP_SIZE);
	dns_wr32(p + 5, 0);
	dns_wr16(p + 9, 0);
	return DNS_OPT_LEN;
}

/* Rewrite the accepted upstream reply r (in pkt) for p's client into scratch. */
static size_t relay_build(struct dns_server *s, const struct pending *p, const uint8_t *pkt,
			  const struct dns_query *r)
{
	const struct dns_query *q = &p->q;
	uint8_t *b = s->scratch;
	size_t len = r->msg_len, qend = DNS_HDR_LEN + q->qname_len + 4u;
	size_t limit = client_limit(q, p->client.tcp, sizeof(s->scratch));
	uint16_t ar = r->arcount;

	memcpy(b, pkt, len);
	dns_wr16(b, q->id);
	dns_wr16(b + 2, (r->flags & ~(DNS_F_RD | DNS_F_CD)) | DNS_F_RA |
		 (q->flags & (DNS_F_RD | DNS_F_CD)));
	memcpy(b + DNS_HDR_LEN, q->qname, q->qname_len);	/* the client's case */
	if (r->opt_off && q->has_opt) {
		dns_wr16(b + r->opt_off + 3, DNS_UDP_SIZE);	/* OPT is hop by hop */
	} else if (r->opt_off) {
		/* cut from the OPT on: what follows is additional data, droppable */
		len = r->opt_off;
		ar = r->opt_idx;
	} else if (q->has_opt && len + DNS_OPT_LEN <= sizeof(s->scratch)) {
		len += put_opt(b + len);
		ar++;
	}
	dns_wr16(b + 10, ar);
	if (len > limit) {
		/* too big for the client: header + question + TC, it retries on TCP */
		len = qend;
		memset(b + 6, 0, 6);
		b[2] |= DNS_F_TC >> 8;
		if (q->has_opt) {
			len += put_opt(b + len);
			dns_wr16(b + 10, 1);
		}
	}
	return len;
}

static void relay(struct dns_server *s, struct pending *p, const uint8_t *pkt,
		  const struct dns_query *r)
{
	size_t n = relay_build(s, p, pkt, r);

	count_reply(s, s->scratch, s->scratch[3] & 0xf);
	lat_record(s, s->now - p->start);
	s->ops.reply(s->ctx, &p->client, s->scratch, n);
	pending_free(s, p);
}

static void next_upstream(struct dns_server *s, struct pending *p, uint64_t now)
{
	attempt(s, p, (p->up + 1u) % s->cfg.n_upstreams, false, now);
}

void dns_server_upstream_reply(struct dns_server *s, unsigned int up, bool tcp,
			       const uint8_t *pkt, size_t len, uint64_t now_ms)
{
	struct dns_query r;
	struct pending *p;
	unsigned int slot;
	int rcode;

	s->now = now_ms;
	if (len < DNS_HDR_LEN || !(slot = s->by_id[dns_rd16(pkt)]))
		goto bad;
	p = &s->p[slot - 1];
	if (p->up != up || (p->state == P_TCP) != tcp || dns_reply_parse(pkt, len, &r) < 0 ||
	    !same_question(&r, &p->q) || (r.flags >> 11 & 0xf) != 0)
		goto bad;
	s->c.upstream_replies++;
	s->up[up].timeouts = 0;
	s->up[up].down_until = 0;
	rcode = r.flags & 0xf;
	if (rcode == DNS_R_SERVFAIL || rcode == DNS_R_REFUSED) {
		s->c.upstream_errors++;
		p->errs++;
		next_upstream(s, p, now_ms);
	} else if ((r.flags & DNS_F_TC) && !tcp) {
		s->c.upstream_tcp_retries++;
		attempt(s, p, up, true, now_ms);
	} else {
		relay(s, p, pkt, &r);
	}
	return;
bad:
	s->c.upstream_bad++;
}

static void timeout(struct dns_server *s, struct pending *p, uint64_t now)
{
	struct upstream *u = &s->up[p->up];

	s->c.upstream_timeouts++;
	if (++u->timeouts >= DOWN_AFTER)
		u->down_until = now + DOWN_MS;
	next_upstream(s, p, now);
}

uint64_t dns_server_tick(struct dns_server *s, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;

	s->now = now_ms;
	/* a scan of the table: cheap next to the syscalls that fill it, and
	 * the timer fires once per due deadline, not per query */
	for (unsigned int i = 0; s->used && i < s->cap; i++) {
		struct pending *p = &s->p[i];

		if (p->state != P_FREE && p->deadline <= now_ms)
			timeout(s, p, now_ms);
		if (p->state != P_FREE && p->deadline < next)
			next = p->deadline;
	}
	s->next_due = next;
	return next;
}

uint64_t dns_server_next_deadline(const struct dns_server *s)
{
	return s->used ? s->next_due : UINT64_MAX;
}

void dns_server_forget(struct dns_server *s, const void *conn)
{
	for (unsigned int i = 0; s->used && i < s->cap; i++) {
		struct pending *p = &s->p[i];

		if (p->state != P_FREE && p->client.conn == conn) {
			s->c.orphaned++;
			pending_free(s, p);
		}
	}
}
