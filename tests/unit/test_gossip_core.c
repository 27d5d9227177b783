/* test_gossip_core.c: the gossip core's behaviours, driven by a small
 * in-test network of up to four cores with virtual time (1 ms per hop, no
 * loss unless a link is cut). The large-scale and statistical checks live in
 * tests/sim; these pin down one rule each. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gossip_int.h"

#define NN 4

enum { PKT, SREQ, SREP };

struct item {
	uint64_t t;
	int kind, from, to, status;
	uint64_t token;
	uint8_t *buf;
	size_t len;
};

struct node {
	struct net *net;
	int idx;
	unsigned joins, leaves, fails, updates, events;
	char last_event[64];
	uint64_t last_ltime;
	uint64_t rng;
};

struct net {
	uint64_t now;
	struct gossip *g[NN];
	struct node nd[NN];
	struct gossip_addr addr[NN];
	bool cut[NN][NN];		/* drop datagrams and streams i -> j */
	bool udp_cut[NN][NN];		/* drop datagrams only */
	struct item *q;
	size_t nq, capq;
	struct gossip_config cfg;
	const uint8_t *key;		/* installed at start when set */
};

static void q_push(struct net *n, struct item it)
{
	if (n->nq == n->capq) {
		n->capq = n->capq ? 2 * n->capq : 64;
		n->q = realloc(n->q, n->capq * sizeof(*n->q));
		assert_non_null(n->q);
	}
	n->q[n->nq++] = it;
}

static int idx_of(const struct gossip_addr *a)
{
	return a->ip[3] - 1;
}

static uint8_t *dup_buf(const void *buf, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, buf, len);
	return p;
}

static int io_send(void *ctx, const struct gossip_addr *to, const void *buf, size_t len)
{
	struct node *nd = ctx;
	struct net *n = nd->net;
	int dst = idx_of(to);

	if (dst < 0 || dst >= NN || n->cut[nd->idx][dst] || n->udp_cut[nd->idx][dst])
		return 0;
	q_push(n, (struct item){ .t = n->now + 1, .kind = PKT, .from = nd->idx, .to = dst,
				 .buf = dup_buf(buf, len), .len = len });
	return 0;
}

static int io_stream(void *ctx, const struct gossip_addr *to, const void *buf, size_t len,
		     uint64_t token)
{
	struct node *nd = ctx;
	struct net *n = nd->net;
	int dst = idx_of(to);

	if (dst < 0 || dst >= NN || n->cut[nd->idx][dst])
		return 0;
	q_push(n, (struct item){ .t = n->now + 1, .kind = SREQ, .from = nd->idx, .to = dst,
				 .token = token, .buf = dup_buf(buf, len), .len = len });
	return 0;
}

static uint64_t io_now(void *ctx)
{
	return ((struct node *)ctx)->net->now;
}

static uint32_t io_rand(void *ctx)
{
	struct node *nd = ctx;

	nd->rng = nd->rng * 6364136223846793005ull + 1442695040888963407ull;
	return nd->rng >> 32;
}

static void cb_join(void *arg, const struct gossip_member *m)
{
	((struct node *)arg)->joins++;
}

static void cb_leave(void *arg, const struct gossip_member *m)
{
	((struct node *)arg)->leaves++;
}

static void cb_fail(void *arg, const struct gossip_member *m)
{
	((struct node *)arg)->fails++;
}

static void cb_update(void *arg, const struct gossip_member *m)
{
	((struct node *)arg)->updates++;
}

static void cb_event(void *arg, const char *name, const void *p, size_t len, uint64_t ltime)
{
	struct node *nd = arg;

	nd->events++;
	snprintf(nd->last_event, sizeof(nd->last_event), "%s:%.*s", name, (int)len,
		 (const char *)p);
	nd->last_ltime = ltime;
}

static struct net *net_new(void)
{
	struct net *n = calloc(1, sizeof(*n));
	int i;

	assert_non_null(n);
	gossip_config_lan(&n->cfg);
	for (i = 0; i < NN; i++) {
		n->nd[i] = (struct node){ .net = n, .idx = i, .rng = 1234 + i };
		n->addr[i] = (struct gossip_addr){ .family = AF_INET, .port = 7946,
						   .ip = { 198, 18, 0, i + 1 } };
	}
	return n;
}

static void net_start(struct net *n, int i, int seed)
{
	struct gossip_io io = { io_send, io_stream, io_now, io_rand, &n->nd[i] };
	struct gossip_cb cb = { cb_join, cb_leave, cb_fail, cb_update, cb_event, &n->nd[i] };
	struct gossip_config cfg = n->cfg;

	snprintf(cfg.name, sizeof(cfg.name), "n%d", i);
	cfg.addr = n->addr[i];
	assert_int_equal(gossip_new(&cfg, &io, &cb, &n->g[i]), 0);
	if (n->key)
		assert_int_equal(gossip_key_install(n->g[i], n->key), 0);
	if (seed >= 0)
		assert_int_equal(gossip_join(n->g[i], &n->addr[seed], 1), 0);
}

static void net_kill(struct net *n, int i)
{
	gossip_free(n->g[i]);
	n->g[i] = NULL;
}

static void net_free(struct net *n)
{
	size_t i;

	for (i = 0; i < NN; i++)
		gossip_free(n->g[i]);
	for (i = 0; i < n->nq; i++)
		free(n->q[i].buf);
	free(n->q);
	free(n);
}

static void deliver(struct net *n, struct item *it)
{
	struct gossip *g = n->g[it->to];
	void *resp = NULL;
	size_t len = 0;
	int r;

	if (it->kind == PKT) {
		if (g)
			gossip_input(g, &n->addr[it->from], it->buf, it->len);
	} else if (it->kind == SREQ) {
		r = g ? gossip_stream_serve(g, &n->addr[it->from], it->buf, it->len, &resp, &len)
		      : -ECONNREFUSED;
		if (n->cut[it->to][it->from])
			r = -ETIMEDOUT;
		q_push(n, (struct item){ .t = n->now + 1, .kind = SREP, .from = it->to,
					 .to = it->from, .token = it->token, .status = r,
					 .buf = resp, .len = len });
	} else if (g) {
		gossip_stream_done(g, it->token, it->status, it->buf, it->len);
	}
}

/* Run every packet and timer up to t, in time order. */
static void net_run(struct net *n, uint64_t t)
{
	for (;;) {
		uint64_t best = UINT64_MAX, d;
		int bi = -1, bn = -1;
		size_t i;
		struct item it;

		for (i = 0; i < n->nq; i++)
			if (n->q[i].t < best)
				best = n->q[i].t, bi = i;
		for (i = 0; i < NN; i++) {
			if (!n->g[i])
				continue;
			d = gossip_next_deadline(n->g[i]);
			if (d < best)
				best = d, bn = i, bi = -1;
		}
		if (best > t)
			break;
		if (best > n->now)
			n->now = best;
		if (bi >= 0) {
			it = n->q[bi];
			n->q[bi] = n->q[--n->nq];
			deliver(n, &it);
			free(it.buf);
		} else {
			gossip_tick(n->g[bn]);
		}
	}
	n->now = t;
}

static unsigned live(struct net *n, int i)
{
	return gossip_member_count(n->g[i], GOSSIP_MASK_LIVE);
}

static enum gossip_state state_of(struct net *n, int at, const char *name)
{
	struct gossip_member m;

	assert_true(gossip_member_find(n->g[at], name, &m));
	return m.state;
}

/* Three members joined through n0 and settled. */
static struct net *net3(void)
{
	struct net *n = net_new();

	net_start(n, 0, -1);
	net_start(n, 1, 0);
	net_start(n, 2, 0);
	net_run(n, 3000);
	return n;
}

/* Feed one plain packet holding the message built by put into node i. */
static int inject(struct net *n, int i, int from, int (*put)(struct gw_buf *, void *),
		  void *arg)
{
	uint8_t msg[700], pkt[800];
	struct gw_buf m = { .p = msg, .cap = sizeof(msg) }, p = { .p = pkt, .cap = sizeof(pkt) };

	assert_int_equal(put(&m, arg), 0);
	gw_pkt_begin(&p);
	assert_int_equal(gw_pkt_add(&p, msg, m.len), 0);
	return gossip_input(n->g[i], &n->addr[from], pkt, p.len);
}

/* ---- tests ---- */

static void test_config(void **state)
{
	struct gossip_io io = { io_send, io_stream, io_now, io_rand, NULL };
	struct gossip_config cfg;
	struct gossip *g;

	gossip_config_lan(&cfg);
	cfg.addr.family = AF_INET;
	assert_int_equal(gossip_new(&cfg, &io, NULL, &g), -EINVAL);	/* no name */
	strcpy(cfg.name, "n0");
	cfg.packet_max = 100;
	assert_int_equal(gossip_new(&cfg, &io, NULL, &g), -EINVAL);
	cfg.packet_max = 1400;
	cfg.addr.family = 0;
	assert_int_equal(gossip_new(&cfg, &io, NULL, &g), -EINVAL);
	cfg.addr.family = AF_INET;
	io.rand = NULL;
	assert_int_equal(gossip_new(&cfg, &io, NULL, &g), -EINVAL);
}

static void test_join(void **state)
{
	struct net *n = net3();
	int i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(live(n, i), 3);
		assert_int_equal(n->nd[i].joins, 2);	/* not ourselves */
		assert_true(gossip_next_deadline(n->g[i]) > n->now);
	}
	assert_int_equal(state_of(n, 2, "n1"), GOSSIP_ALIVE);
	net_free(n);
}

/* The seed is down at first: the joiner retries with backoff. */
static void test_join_retry(void **state)
{
	struct net *n = net_new();

	net_start(n, 1, 0);
	net_run(n, 2500);
	assert_int_equal(live(n, 1), 1);
	net_start(n, 0, -1);
	net_run(n, 10000);
	assert_int_equal(live(n, 1), 2);
	assert_int_equal(live(n, 0), 2);
	net_free(n);
}

/* A crashed member is suspected, then declared dead after the suspicion
 * timeout (n = 3: k = 0, so min = 4 s); nobody else is touched. */
static void test_failure_detection(void **state)
{
	struct net *n = net3();

	net_kill(n, 2);
	net_run(n, n->now + 2500);
	assert_int_equal(n->nd[0].fails + n->nd[1].fails, 0);
	net_run(n, n->now + 8000);
	assert_int_equal(n->nd[0].fails, 1);
	assert_int_equal(n->nd[1].fails, 1);
	assert_int_equal(state_of(n, 0, "n2"), GOSSIP_DEAD);
	assert_int_equal(state_of(n, 1, "n1"), GOSSIP_ALIVE);
	assert_int_equal(live(n, 0), 2);
	/* Reaped after gossip_to_dead, at a wrap of the probe list. */
	net_run(n, n->now + 40000);
	assert_false(gossip_member_find(n->g[0], "n2", NULL));
	net_free(n);
}

struct accuse {
	uint8_t type;
	uint32_t inc;
	const char *name, *from;
};

static int put_accuse(struct gw_buf *b, void *arg)
{
	struct accuse *a = arg;

	return gw_put_suspect(b, a->type, a->inc, a->name, a->from);
}

/* Suspected (or declared dead) while alive: the member outbids the
 * accusation and its health score goes up. */
static void test_refutation(void **state)
{
	struct net *n = net3();
	struct accuse a = { GW_SUSPECT, gossip_incarnation(n->g[1]), "n1", "n0" };
	uint32_t inc = a.inc;

	assert_int_equal(inject(n, 1, 0, put_accuse, &a), 0);
	assert_int_equal(gossip_incarnation(n->g[1]), inc + 1);
	assert_int_equal(gossip_stats(n->g[1])->refutations, 1);
	assert_int_equal(gossip_health(n->g[1]), 1);
	a = (struct accuse){ GW_DEAD, inc + 5, "n1", "n2" };
	assert_int_equal(inject(n, 1, 2, put_accuse, &a), 0);
	assert_int_equal(gossip_incarnation(n->g[1]), inc + 6);
	net_run(n, n->now + 2000);
	assert_int_equal(state_of(n, 0, "n1"), GOSSIP_ALIVE);
	assert_int_equal(n->nd[0].fails + n->nd[2].fails, 0);
	net_free(n);
}

/* A suspicion about another member spreads and is refuted by it. */
static void test_suspicion_refuted_by_target(void **state)
{
	struct net *n = net3();
	struct accuse a = { GW_SUSPECT, 0, "n2", "n1" };
	struct gossip_member m;

	assert_true(gossip_member_find(n->g[0], "n2", &m));
	a.inc = m.incarnation;
	assert_int_equal(inject(n, 0, 1, put_accuse, &a), 0);
	assert_int_equal(state_of(n, 0, "n2"), GOSSIP_SUSPECT);
	net_run(n, n->now + 3000);
	assert_int_equal(state_of(n, 0, "n2"), GOSSIP_ALIVE);
	assert_true(gossip_incarnation(n->g[2]) > a.inc);
	/* Lower incarnation than known: ignored. */
	a.inc = 0;
	assert_int_equal(inject(n, 0, 1, put_accuse, &a), 0);
	assert_int_equal(state_of(n, 0, "n2"), GOSSIP_ALIVE);
	net_free(n);
}

static void test_graceful_leave(void **state)
{
	struct net *n = net3();

	assert_int_equal(gossip_leave(n->g[2]), 0);
	assert_int_equal(gossip_leave(n->g[2]), -EALREADY);
	net_run(n, n->now + 1000);
	net_kill(n, 2);
	net_run(n, n->now + 15000);
	assert_int_equal(n->nd[0].leaves, 1);
	assert_int_equal(n->nd[1].leaves, 1);
	assert_int_equal(n->nd[0].fails + n->nd[1].fails, 0);
	assert_int_equal(state_of(n, 1, "n2"), GOSSIP_LEFT);
	net_free(n);
}

static void test_events(void **state)
{
	struct net *n = net3();
	char big[GOSSIP_EVENT_MAX];

	assert_int_equal(gossip_event_send(n->g[0], "ep.join", "web", 3), 0);
	assert_int_equal(gossip_event_send(n->g[0], "ep.leave", "db", 2), 0);
	net_run(n, n->now + 2000);
	assert_int_equal(n->nd[0].events, 0);	/* not to the sender */
	assert_int_equal(n->nd[1].events, 2);
	assert_int_equal(n->nd[2].events, 2);
	/* Both in one packet, newest first (queue order): receivers order by
	 * ltime themselves (see gossip.h). */
	assert_string_equal(n->nd[1].last_event, "ep.join:web");
	assert_int_equal(n->nd[1].last_ltime, 0);
	assert_int_equal(gossip_event_clock(n->g[2]), 2);	/* witnessed */
	/* Lamport: the next event from n2 is stamped after what it saw. */
	assert_int_equal(gossip_event_send(n->g[2], "x", NULL, 0), 0);
	net_run(n, n->now + 2000);
	assert_int_equal(n->nd[0].last_ltime, 2);
	memset(big, 'a', sizeof(big));
	assert_int_equal(gossip_event_send(n->g[0], "e", big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(gossip_event_send(n->g[0], "", "", 0), -EINVAL);
	net_free(n);
}

struct ev {
	uint64_t ltime;
	const char *name, *payload;
};

static int put_event(struct gw_buf *b, void *arg)
{
	struct ev *e = arg;

	return gw_put_event(b, e->ltime, e->name, strlen(e->name), e->payload,
			    strlen(e->payload));
}

/* The same (ltime, name, payload) is delivered once; a different payload at
 * the same time is another event; one older than the window is dropped. */
static void test_event_dedup(void **state)
{
	struct net *n = net3();
	struct ev e = { 5, "ep.join", "a" };

	assert_int_equal(inject(n, 1, 0, put_event, &e), 0);
	assert_int_equal(inject(n, 1, 0, put_event, &e), 0);
	assert_int_equal(n->nd[1].events, 1);
	e.payload = "b";
	assert_int_equal(inject(n, 1, 0, put_event, &e), 0);
	assert_int_equal(n->nd[1].events, 2);
	e.ltime = 5000;
	assert_int_equal(inject(n, 1, 0, put_event, &e), 0);
	e.ltime = 6;
	assert_int_equal(inject(n, 1, 0, put_event, &e), 0);
	assert_int_equal(n->nd[1].events, 3);
	assert_int_equal(gossip_stats(n->g[1])->events_dup, 1);
	assert_int_equal(gossip_stats(n->g[1])->events_old, 1);
	net_free(n);
}

/* A member that joins later gets the recent events by push-pull only with
 * event_replay_on_join; by default history is not replayed. */
static void test_event_join_replay(void **state)
{
	struct net *n = net3();

	assert_int_equal(gossip_event_send(n->g[0], "old", "1", 1), 0);
	net_run(n, n->now + 2000);
	net_start(n, 3, 0);
	net_run(n, n->now + 2000);
	assert_int_equal(n->nd[3].events, 0);
	net_kill(n, 3);
	n->cfg.event_replay_on_join = true;
	n->nd[3].events = 0;
	net_start(n, 3, 1);
	net_run(n, n->now + 2000);
	assert_int_equal(n->nd[3].events, 1);
	assert_string_equal(n->nd[3].last_event, "old:1");
	net_free(n);
}

static void test_meta_update(void **state)
{
	struct net *n = net3();
	const struct gossip_tag tags[] = { { "vtep", "198.18.0.2" } };
	uint8_t meta[64];
	struct gossip_member m;
	char v[32];
	int len;

	len = gossip_tags_encode(tags, 1, meta, sizeof(meta));
	assert_true(len > 0);
	assert_int_equal(gossip_set_meta(n->g[1], meta, len), 0);
	net_run(n, n->now + 2000);
	assert_int_equal(n->nd[0].updates, 1);
	assert_int_equal(n->nd[2].updates, 1);
	assert_true(gossip_member_find(n->g[2], "n1", &m));
	assert_int_equal(gossip_tag_get(m.meta, m.meta_len, "vtep", v, sizeof(v)), 10);
	assert_string_equal(v, "198.18.0.2");
	net_free(n);
}

struct alive {
	uint32_t inc;
	struct gossip_addr addr;
};

static int put_alive(struct gw_buf *b, void *arg)
{
	struct alive *a = arg;

	return gw_put_alive(b, a->inc, &a->addr, "n1", NULL, 0);
}

/* A known live name announced from another address is refused. */
static void test_address_conflict(void **state)
{
	struct net *n = net3();
	struct alive a = { 100, n->addr[3] };
	struct gossip_member m;

	assert_int_equal(inject(n, 0, 3, put_alive, &a), 0);
	assert_true(gossip_member_find(n->g[0], "n1", &m));
	assert_memory_equal(m.addr.ip, n->addr[1].ip, 4);
	assert_true(m.incarnation < 100);
	net_free(n);
}

/* Remote DEAD records are merged as suspicions, never as facts. */
static void test_pushpull_merge_suspects(void **state)
{
	struct net *n = net3();
	struct gw_buf b = { .grow = true, .max = GW_STREAM_MAX };
	struct gw_pp_rec r = { .state = GOSSIP_DEAD, .addr = n->addr[2],
			       .name = { (const uint8_t *)"n2", 2 } };
	struct gw_stream_hdr h;
	const uint8_t *body;
	struct gossip_member m;
	void *resp;
	size_t len;

	assert_true(gossip_member_find(n->g[0], "n2", &m));
	r.inc = m.incarnation;
	gw_stream_begin(&b, GW_PUSHPULL, 0);
	gw_pp_put_hdr(&b, 1, 0, 0);
	assert_int_equal(gw_pp_put_member(&b, &r), 0);
	gw_stream_end(&b);
	assert_int_equal(gossip_stream_serve(n->g[0], &n->addr[3], b.p, b.len, &resp, &len), 0);
	assert_int_equal(state_of(n, 0, "n2"), GOSSIP_SUSPECT);
	assert_int_equal(n->nd[0].fails, 0);
	/* The answer is our full state. */
	assert_int_equal(gw_stream_parse(resp, len, &h, &body), 0);
	assert_int_equal(h.type, GW_PUSHPULL);
	assert_true(h.flags & GW_PP_ANSWER);
	assert_int_equal(gw_pp_parse(body, h.len, NULL), 0);
	free(resp);
	/* A garbled request is refused and changes nothing. */
	b.p[b.len - 1] ^= 0xff;
	b.len -= 3;
	assert_true(gossip_stream_serve(n->g[0], &n->addr[3], b.p, b.len, &resp, &len) < 0);
	free(b.p);
	net_run(n, n->now + 3000);
	assert_int_equal(state_of(n, 0, "n2"), GOSSIP_ALIVE);
	net_free(n);
}

/* Lifeguard: a member whose probes all go unanswered (its own links are
 * cut) raises its health score, and so slows its probing; it recovers when
 * its probes succeed again. */
static void test_local_health(void **state)
{
	struct net *n = net3();
	uint64_t probes = gossip_stats(n->g[0])->probes;
	int j;

	for (j = 1; j < 3; j++)
		n->cut[j][0] = true;	/* nothing reaches n0 */
	/* Failed probes at 1 s, 3 s, 6 s, ...: each adds a missed nack. */
	net_run(n, n->now + 10000);
	assert_true(gossip_health(n->g[0]) >= 3);
	assert_true(gossip_stats(n->g[0])->probes - probes <= 5);	/* not 10 */
	for (j = 1; j < 3; j++)
		n->cut[j][0] = false;
	net_run(n, n->now + 60000);
	assert_int_equal(gossip_health(n->g[0]), 0);
	net_free(n);
}

/* A member whose datagrams are all lost (UDP blocked, consul#5195) but
 * whose streams work: the indirect probes fail, the TCP ping gets through,
 * so it is not declared dead; without the TCP ping it is. */
static void tcp_ping_case(bool tcp_ping)
{
	struct net *n = net_new();
	int i;

	n->cfg.tcp_ping = tcp_ping;
	for (i = 0; i < 3; i++)
		net_start(n, i, i ? 0 : -1);
	net_run(n, 3000);
	for (i = 0; i < 2; i++)
		n->udp_cut[i][2] = n->udp_cut[2][i] = true;
	net_run(n, n->now + 30000);
	if (tcp_ping) {
		assert_true(gossip_stats(n->g[0])->tcp_ping_rescues > 0);
		assert_int_equal(n->nd[0].fails + n->nd[1].fails, 0);
		assert_int_equal(state_of(n, 0, "n2"), GOSSIP_ALIVE);
	} else {
		assert_int_equal(n->nd[0].fails, 1);
		assert_int_equal(n->nd[1].fails, 1);
	}
	net_free(n);
}

static void test_tcp_ping_fallback(void **state)
{
	tcp_ping_case(true);
	tcp_ping_case(false);
}

static const uint8_t KEY1[GOSSIP_KEY_LEN] = { 1, 2, 3 };
static const uint8_t KEY2[GOSSIP_KEY_LEN] = { 4, 5, 6 };

static void test_encrypted_cluster(void **state)
{
	struct net *n = net_new();
	uint8_t plain[] = { GW_VERSION, 0, 0, 0 };

	n->key = KEY1;
	net_start(n, 0, -1);
	net_start(n, 1, 0);
	net_start(n, 2, 0);
	net_run(n, 3000);
	assert_int_equal(live(n, 2), 3);
	assert_int_equal(gossip_stats(n->g[0])->auth_failures, 0);
	/* Plain input to a keyed member: refused and counted. */
	assert_int_equal(gossip_input(n->g[0], &n->addr[1], plain, sizeof(plain)), -EBADMSG);
	assert_int_equal(gossip_stats(n->g[0])->auth_failures, 1);
	/* A member with another key cannot join. */
	n->key = KEY2;
	net_start(n, 3, 0);
	net_run(n, 10000);
	assert_int_equal(live(n, 3), 1);
	assert_int_equal(live(n, 0), 3);
	assert_true(gossip_stats(n->g[0])->auth_failures > 1);
	net_free(n);
}

static void test_key_rotation(void **state)
{
	struct net *n = net_new();
	int i;

	n->key = KEY1;
	for (i = 0; i < 3; i++)
		net_start(n, i, i ? 0 : -1);
	net_run(n, 3000);
	for (i = 0; i < 3; i++) {
		assert_int_equal(gossip_key_install(n->g[i], KEY2), 0);
		net_run(n, n->now + 300);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(gossip_key_use(n->g[i], KEY2), 0);
		net_run(n, n->now + 300);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(gossip_key_remove(n->g[i], KEY1), 0);
		assert_int_equal(gossip_key_count(n->g[i]), 1);
		net_run(n, n->now + 300);
	}
	net_run(n, n->now + 20000);
	for (i = 0; i < 3; i++) {
		assert_int_equal(live(n, i), 3);
		assert_int_equal(gossip_stats(n->g[i])->auth_failures, 0);
		assert_int_equal(n->nd[i].fails, 0);
	}
	net_free(n);
}

/* Packets bigger than one datagram never leave: the queue drains by
 * retransmit count, and piggybacking respects the packet budget. */
static void test_dissemination_budget(void **state)
{
	struct net *n = net3();
	char payload[400];
	int i;

	memset(payload, 'p', sizeof(payload));
	for (i = 0; i < 20; i++)
		assert_int_equal(gossip_event_send(n->g[0], "bulk", payload, sizeof(payload) - i),
				 0);
	assert_int_equal(gd_retransmit_limit(n->g[0]), 4);
	net_run(n, n->now + 5000);
	assert_int_equal(n->nd[1].events, 20);
	assert_int_equal(n->nd[2].events, 20);
	assert_int_equal(n->g[0]->nbq, 0);
	net_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_join_retry),
		cmocka_unit_test(test_failure_detection),
		cmocka_unit_test(test_refutation),
		cmocka_unit_test(test_suspicion_refuted_by_target),
		cmocka_unit_test(test_graceful_leave),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_event_dedup),
		cmocka_unit_test(test_event_join_replay),
		cmocka_unit_test(test_meta_update),
		cmocka_unit_test(test_address_conflict),
		cmocka_unit_test(test_pushpull_merge_suspects),
		cmocka_unit_test(test_local_health),
		cmocka_unit_test(test_tcp_ping_fallback),
		cmocka_unit_test(test_encrypted_cluster),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_dissemination_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
