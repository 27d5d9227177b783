/* gossip.c: the gossip core's lifecycle, input dispatch, timers and getters.
 * The protocol itself lives in member.c, probe.c, suspicion.c, dissem.c,
 * event.c and pushpull.c (map in gossip_int.h).
 *
 * Every entry point reads the injected clock once into g->now, so one call
 * sees one instant; nothing here blocks or sleeps.
 *
 * TODO: compression of large packets; a cluster label as AEAD additional
 * data; Serf's queries (key management is local, see gossip.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"
#include "util.h"

void gossip_config_lan(struct gossip_config *cfg)
{
	*cfg = (struct gossip_config){
		.probe_interval_ms = 1000,
		.probe_timeout_ms = 500,
		.indirect_checks = 3,
		.retransmit_mult = 4,
		.suspicion_mult = 4,
		.suspicion_max_mult = 6,
		.awareness_max = 8,
		.gossip_interval_ms = 200,
		.gossip_nodes = 3,
		.gossip_to_dead_ms = 30000,
		.pushpull_interval_ms = 30000,
		.stream_timeout_ms = 10000,
		.reconnect_interval_ms = 30000,
		.reconnect_timeout_ms = 24ull * 3600 * 1000,
		.dead_reclaim_ms = 0,
		.join_retry_ms = 1000,
		.packet_max = GOSSIP_PACKET_MAX,
		.queue_max = 4096,
		.event_buffer = 512,
		.tcp_ping = true,
		.suspicion_pings = 2,
	};
}

void gossip_config_ovn(struct gossip_config *cfg)
{
	gossip_config_lan(cfg);
	/* Chosen with bench/gossip (real nodes, N = 50) and tests/sim (ten
	 * virtual minutes at 10% loss, eight seeds): a probe every 333 ms
	 * costs ~600 B/s per node sealed (serf: ~300 B/s plain, 354 B/s
	 * encrypted); suspicion_mult 1 still lets Lifeguard's confirmations
	 * and refutation keep false failures at zero there, and detection
	 * lands near 1.3 s. 200 ms probes with mult 3 detected in ~1.4 s but
	 * sent 1 KB/s and had a false failure at 10% loss. */
	cfg->probe_interval_ms = 333;
	cfg->probe_timeout_ms = 150;
	cfg->suspicion_mult = 1;
	/* Eager events to 5 members at once: with 3, about 5% of 50 nodes
	 * waited for a gossip round (event p99 ~110 ms); with 5, p99 ~7 ms. */
	cfg->gossip_nodes = 5;
	cfg->eager_events = true;
	/* A partition longer than gossip_to_dead heals through reconnect:
	 * one push-pull with a reaped member every 10 s, not 30. */
	cfg->reconnect_interval_ms = 10000;
}

/* ---- helpers shared by the core ---- */

uint32_t g_rand(struct gossip *g)
{
	return g->io.rand(g->io.ctx);
}

uint32_t g_rand_n(struct gossip *g, uint32_t n)
{
	return n ? (uint32_t)(((uint64_t)g_rand(g) * n) >> 32) : 0;
}

uint32_t g_hash(const void *s, size_t len)
{
	const uint8_t *p = s;
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

uint64_t g_hash64(const void *s, size_t len)
{
	const uint8_t *p = s;
	uint64_t h = 14695981039346656037ull;

	while (len--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

size_t g_pkt_budget(const struct gossip *g)
{
	return g->cfg.packet_max - (g->keys.n ? GK_PKT_OVERHEAD : 0);
}

int g_send_pkt(struct gossip *g, const struct gossip_addr *to, struct gw_buf *b)
{
	const uint8_t *out = b->p;
	size_t len = b->len;
	int r;

	gd_fill(g, b, g_pkt_budget(g));
	if (!gw_pkt_count(b))
		return 0;
	len = b->len;
	if (g->keys.n) {
		r = gk_seal_pkt(&g->keys, b->p, b->len, g->sealed, GPKT_IN_MAX, &len);
		if (r)
			return r;
		out = g->sealed;
	}
	g->stats.pkts_out++;
	g->stats.bytes_out += len;
	return g->io.send(g->io.ctx, to, out, len);
}

int g_send_msg(struct gossip *g, const struct gossip_addr *to, const void *msg, size_t len)
{
	struct gw_buf b = { .p = g->pkt, .cap = g_pkt_budget(g) };

	if (gw_pkt_begin(&b) || gw_pkt_add(&b, msg, len))
		return -EMSGSIZE;
	return g_send_pkt(g, to, &b);
}

/* ---- lifecycle ---- */

static int g_config_check(const struct gossip_config *c)
{
	if (!gw_name_ok((const uint8_t *)c->name, strnlen(c->name, sizeof(c->name))) ||
	    strnlen(c->name, sizeof(c->name)) > GOSSIP_NAME_MAX)
		return -EINVAL;
	if (c->addr.family != AF_INET && c->addr.family != AF_INET6)
		return -EINVAL;
	if (!c->probe_interval_ms || !c->probe_timeout_ms ||
	    c->probe_timeout_ms > c->probe_interval_ms || !c->gossip_interval_ms ||
	    !c->pushpull_interval_ms || !c->reconnect_interval_ms || !c->stream_timeout_ms ||
	    !c->join_retry_ms)
		return -EINVAL;
	if (c->packet_max < 256 || c->packet_max > GPKT_IN_MAX || !c->event_buffer ||
	    !c->queue_max || !c->awareness_max || !c->suspicion_mult ||
	    !c->suspicion_max_mult || !c->retransmit_mult || c->suspicion_pings > 8)
		return -EINVAL;
	return 0;
}

int gossip_new(const struct gossip_config *cfg, const struct gossip_io *io,
	       const struct gossip_cb *cb, struct gossip **out)
{
	struct gossip *g = NULL;
	int r;

	r = g_config_check(cfg);
	if (r)
		return r;
	if (!io || !io->send || !io->stream || !io->now_ms || !io->rand)
		return -EINVAL;
	r = gk_init();
	if (r)
		return r;
	r = -ENOMEM;
	g = calloc(1, sizeof(*g));
	if (!g)
		goto out;
	g->cfg = *cfg;
	g->io = *io;
	if (cb)
		g->cb = *cb;
	g->now = io->now_ms(io->ctx);
	r = gm_add_self(g);
	if (r)
		goto out;
	r = ge_init(g);
	if (r)
		goto out;
	/* Random phases, so members started together do not tick together. */
	g->t_probe = g->now + g_rand_n(g, cfg->probe_interval_ms);
	g->t_gossip = g->now + g_rand_n(g, cfg->gossip_interval_ms);
	g->t_pushpull = g->now + cfg->pushpull_interval_ms + g_rand_n(g, cfg->pushpull_interval_ms);
	g->t_reconnect = g->now + cfg->reconnect_interval_ms;
	g->t_join = UINT64_MAX;
	*out = TAKE_PTR(g);
	r = 0;
out:
	gossip_free(g);
	return r;
}

void gossip_free(struct gossip *g)
{
	if (!g)
		return;
	gs_free_all(g);
	gm_free_all(g);
	gd_free_all(g);
	ge_free(g);
	free(g->failed);
	gk_wipe(&g->keys);
	free(g->sealed);
	free(g);
}

int gossip_join(struct gossip *g, const struct gossip_addr *seeds, size_t n)
{
	g->now = g->io.now_ms(g->io.ctx);
	return gpp_join(g, seeds, n);
}

int gossip_leave(struct gossip *g)
{
	uint8_t buf[128];
	struct gw_buf b = { .p = buf, .cap = sizeof(buf) };
	int r;

	if (g->leaving)
		return -EALREADY;
	g->now = g->io.now_ms(g->io.ctx);
	g->leaving = true;
	g->self->state = GOSSIP_LEFT;
	g->self->state_ms = g->now;
	r = gw_put_suspect(&b, GW_DEAD, g->self->inc, g->self->name, g->self->name);
	if (!r)
		r = gd_queue(g, g_bkey(g->self->name, g->self->name_len), buf, b.len);
	if (!r)
		gd_round(g);
	return r;
}

/* ---- input ---- */

struct g_input_ctx {
	struct gossip *g;
	const struct gossip_addr *from;
};

static int g_dispatch(void *arg, const struct gw_msg *m)
{
	struct g_input_ctx *c = arg;
	struct gossip *g = c->g;

	switch (m->type) {
	case GW_PING:
		gp_on_ping(g, c->from, m);
		break;
	case GW_INDIRECT_PING:
		gp_on_iping(g, c->from, m);
		break;
	case GW_ACK:
		gp_on_ack(g, m);
		break;
	case GW_NACK:
		gp_on_nack(g, m);
		break;
	case GW_ALIVE:
		gm_on_alive(g, m->alive.inc, &m->alive.addr, &m->alive.name, &m->alive.meta);
		break;
	case GW_SUSPECT:
		gm_on_suspect(g, m->suspect.inc, &m->suspect.name, &m->suspect.from);
		break;
	case GW_DEAD:
		gm_on_dead(g, m->suspect.inc, &m->suspect.name, &m->suspect.from);
		break;
	case GW_EVENT:
		ge_on_event(g, m);
		break;
	}
	return 0;
}

int gossip_input(struct gossip *g, const struct gossip_addr *from, const void *buf, size_t len)
{
	struct g_input_ctx c = { g, from };
	const uint8_t *p = buf;
	size_t plen = len;
	int r;

	g->now = g->io.now_ms(g->io.ctx);
	g->stats.pkts_in++;
	g->stats.bytes_in += len;
	if (!len || len > GPKT_IN_MAX) {
		g->stats.malformed++;
		return -EBADMSG;
	}
	/* Once keyed, plain input is refused: no downgrade. */
	if (g->keys.n || p[0] == GW_SEALED_PKT) {
		if (!g->in || gk_open_pkt(&g->keys, p, len, g->in, GPKT_IN_MAX, &plen)) {
			g->stats.auth_failures++;
			return -EBADMSG;
		}
		p = g->in;
	}
	r = gw_pkt_parse(p, plen, g_dispatch, &c);
	if (r)
		g->stats.malformed++;
	return r;
}

int gossip_stream_serve(struct gossip *g, const struct gossip_addr *from, const void *req,
			size_t len, void **resp, size_t *resp_len)
{
	g->now = g->io.now_ms(g->io.ctx);
	return gpp_serve(g, from, req, len, resp, resp_len);
}

void gossip_stream_done(struct gossip *g, uint64_t token, int status, const void *buf,
			size_t len)
{
	g->now = g->io.now_ms(g->io.ctx);
	gpp_done(g, token, status, buf, len);
}

/* ---- timers ---- */

/* The next gossip round on the gossip_interval grid, seen from g->now. */
static uint64_t g_gossip_due(const struct gossip *g)
{
	uint64_t t = g->t_gossip, iv = g->cfg.gossip_interval_ms;

	if (t < g->now)
		t += (g->now - t + iv - 1) / iv * iv;
	return t;
}

void gossip_tick(struct gossip *g)
{
	uint64_t iv = g->cfg.gossip_interval_ms;

	g->now = g->io.now_ms(g->io.ctx);
	gp_tick(g);
	gs_tick(g);
	if (g->t_gossip <= g->now) {
		if (g->nbq)
			gd_round(g);
		g->t_gossip += (g->now - g->t_gossip) / iv * iv + iv;
	}
	gpp_tick(g);
}

static uint64_t g_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t gossip_next_deadline(const struct gossip *g)
{
	uint64_t t = g_min(gp_next(g), gs_next(g));

	t = g_min(t, gpp_next(g));
	/* An empty queue needs no gossip round: idle members only probe. */
	if (g->nbq)
		t = g_min(t, g_gossip_due(g));
	return t;
}

/* ---- the rest of the public face ---- */

int gossip_event_send(struct gossip *g, const char *name, const void *payload, size_t len)
{
	g->now = g->io.now_ms(g->io.ctx);
	return ge_send(g, name, payload, len);
}

int gossip_set_meta(struct gossip *g, const void *meta, size_t len)
{
	g->now = g->io.now_ms(g->io.ctx);
	return gm_self_update(g, meta, len);
}

int gossip_key_install(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN])
{
	if (!g->sealed) {
		g->sealed = malloc(2 * GPKT_IN_MAX);
		if (!g->sealed)
			return -ENOMEM;
		g->in = g->sealed + GPKT_IN_MAX;
	}
	return gk_install(&g->keys, key);
}

int gossip_key_use(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN])
{
	return gk_use(&g->keys, key);
}

int gossip_key_remove(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN])
{
	return gk_remove(&g->keys, key);
}

size_t gossip_key_count(const struct gossip *g)
{
	return g->keys.n;
}

bool gossip_member_find(const struct gossip *g, const char *name, struct gossip_member *out)
{
	struct gmember *m = gm_find(g, (const uint8_t *)name, strlen(name));

	if (!m)
		return false;
	if (out)
		gm_view(g, m, out);
	return true;
}

void gossip_members_foreach(const struct gossip *g,
			    void (*fn)(void *arg, const struct gossip_member *m), void *arg)
{
	struct gossip_member v;
	size_t i;

	for (i = 0; i < g->nmem; i++) {
		gm_view(g, g->mem[i], &v);
		fn(arg, &v);
	}
}

size_t gossip_member_count(const struct gossip *g, unsigned mask)
{
	return gm_count(g, mask);
}

const struct gossip_stats *gossip_stats(const struct gossip *g)
{
	return &g->stats;
}

unsigned gossip_health(const struct gossip *g)
{
	return g->health;
}

uint32_t gossip_incarnation(const struct gossip *g)
{
	return g->self->inc;
}

uint64_t gossip_event_clock(const struct gossip *g)
{
	return g->ev_clock;
}
