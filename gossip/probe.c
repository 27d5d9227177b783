/* probe.c: SWIM failure detection with Lifeguard's local health
 * (specs/gossip.md 4.1, 4.2, 4.4). One probe at a time:
 *
 *	start: ping target (+ suspect message if we suspect it: "buddy system")
 *	probe_timeout later, no ack: indirect pings through indirect_checks
 *	    alive members (nack wanted) and a stream (TCP) ping
 *	end = start + probe_interval * (health + 1), still no ack: health +=
 *	    missed nacks (or 1 when none were expected); suspect the target
 *	an ack at any point: health -= 1, done
 *
 * Targets are taken round-robin over the shuffled member list (member.c),
 * which bounds the time to first detection by about two rounds.
 *
 * We also relay other members' indirect pings: our own ping to their target,
 * its ack forwarded, a nack after probe_timeout when they asked for one.
 */
#include <string.h>

#include "gossip_int.h"

void gp_health_add(struct gossip *g, int delta)
{
	int h = (int)g->health + delta;

	if (h < 0)
		h = 0;
	if (h > (int)g->cfg.awareness_max - 1)
		h = g->cfg.awareness_max - 1;
	g->health = h;
}

static uint64_t gp_scaled_interval(const struct gossip *g)
{
	return (uint64_t)g->cfg.probe_interval_ms * (g->health + 1);
}

/* The next member to probe, or NULL when there is none. */
static struct gmember *gp_next_target(struct gossip *g)
{
	struct gmember *m;
	size_t checks;

	for (checks = 0; checks <= g->nmem; checks++) {
		if (g->probe_idx >= g->nmem) {
			gm_reset_probe_list(g);
			continue;
		}
		m = g->mem[g->probe_idx++];
		if (m != g->self && gm_is_live(m))
			return m;
	}
	return NULL;
}

void gp_send_ping(struct gossip *g, const struct gmember *m, uint32_t seq)
{
	struct gw_buf b = { .p = g->pkt, .cap = g_pkt_budget(g) };

	gw_pkt_begin(&b);
	/* The suspicion goes first: the target refutes (queues its alive)
	 * before it answers the ping, so the ack carries the refutation. */
	if (m->state == GOSSIP_SUSPECT &&
	    !gw_put_suspect(&b, GW_SUSPECT, m->inc, m->name, g->self->name))
		gw_pkt_inc(&b);
	if (gw_put_ping(&b, seq, m->name, g->self->name))
		return;
	gw_pkt_inc(&b);
	g_send_pkt(g, &m->addr, &b);
}

static void gp_start(struct gossip *g)
{
	struct gmember *m;

	g->t_probe = g->now + gp_scaled_interval(g);
	m = gp_next_target(g);
	if (!m)
		return;
	g->probe = (struct gprobe){
		.active = true,
		.seq = ++g->seq,
		.start_ms = g->now,
		.ack_deadline_ms = g->now + g->cfg.probe_timeout_ms,
		.end_ms = g->now + gp_scaled_interval(g),
	};
	memcpy(g->probe.target, m->name, m->name_len + 1);
	g->stats.probes++;
	gp_send_ping(g, m, g->probe.seq);
}

static bool gp_relay_ok(struct gossip *g, const struct gmember *m, const void *arg)
{
	return m->state == GOSSIP_ALIVE && m != arg;
}

static void gp_indirect(struct gossip *g)
{
	uint8_t msg[sizeof(struct gw_msg_hdr) + sizeof(struct gw_iping) + GOSSIP_NAME_MAX];
	struct gmember *relays[16], *m;
	size_t n, i, k = g->cfg.indirect_checks;
	struct gw_buf b;

	g->probe.indirect = true;
	m = gm_find(g, (const uint8_t *)g->probe.target, strlen(g->probe.target));
	if (!m)
		return;
	if (k > 16)
		k = 16;
	n = gm_random(g, k, gp_relay_ok, m, relays);
	b = (struct gw_buf){ .p = msg, .cap = sizeof(msg) };
	if (gw_put_iping(&b, g->probe.seq, true, &m->addr, m->name))
		return;
	for (i = 0; i < n; i++)
		g_send_msg(g, &relays[i]->addr, msg, b.len);
	g->probe.expected_nacks = n;
	g->stats.indirect_probes += n;
	if (g->cfg.tcp_ping)
		gpp_tcp_ping(g, &m->addr, m->name, g->probe.seq);
}

static void gp_fail(struct gossip *g)
{
	struct gw_str name, self;
	struct gmember *m;
	uint32_t exp = g->probe.expected_nacks;

	g->probe.active = false;
	g->stats.probe_failures++;
	/* Missing nacks mean our relays did not answer either: likely we
	 * are the slow or cut-off one, so we slow down before accusing. */
	gp_health_add(g, exp ? (int)(exp - (g->probe.nacks < exp ? g->probe.nacks : exp)) : 1);
	m = gm_find(g, (const uint8_t *)g->probe.target, strlen(g->probe.target));
	if (!m || !gm_is_live(m))
		return;
	if (m->state == GOSSIP_ALIVE)
		g->stats.suspicions++;
	name = (struct gw_str){ (const uint8_t *)m->name, m->name_len };
	self = (struct gw_str){ (const uint8_t *)g->self->name, g->self->name_len };
	gm_on_suspect(g, m->inc, &name, &self);
}

static void gp_relays_tick(struct gossip *g)
{
	struct grelay *r;
	uint8_t msg[sizeof(struct gw_msg_hdr) + sizeof(struct gw_ack)];
	struct gw_buf b;
	size_t i = 0;

	while (i < g->nrelay) {
		r = &g->relay[i];
		if (r->deadline_ms > g->now) {
			i++;
			continue;
		}
		b = (struct gw_buf){ .p = msg, .cap = sizeof(msg) };
		if (r->nack && !gw_put_ack(&b, GW_NACK, r->orig_seq))
			g_send_msg(g, &r->requester, msg, b.len);
		g->relay[i] = g->relay[--g->nrelay];
	}
}

void gp_tick(struct gossip *g)
{
	struct gprobe *p = &g->probe;

	gp_relays_tick(g);
	if (p->active && !p->indirect && g->now >= p->ack_deadline_ms)
		gp_indirect(g);
	if (p->active && g->now >= p->end_ms)
		gp_fail(g);
	if (!g->leaving && g->now >= g->t_probe)
		gp_start(g);
}

uint64_t gp_next(const struct gossip *g)
{
	const struct gprobe *p = &g->probe;
	uint64_t t = g->leaving ? UINT64_MAX : g->t_probe;
	size_t i;

	if (p->active && !p->indirect && p->ack_deadline_ms < t)
		t = p->ack_deadline_ms;
	if (p->active && p->end_ms < t)
		t = p->end_ms;
	for (i = 0; i < g->nrelay; i++)
		if (g->relay[i].deadline_ms < t)
			t = g->relay[i].deadline_ms;
	return t;
}

/* ---- input ---- */

void gp_on_ping(struct gossip *g, const struct gossip_addr *from, const struct gw_msg *m)
{
	uint8_t msg[sizeof(struct gw_msg_hdr) + sizeof(struct gw_ack)];
	struct gw_buf b = { .p = msg, .cap = sizeof(msg) };

	/* A ping for another name reached a restarted address: stay quiet. */
	if (!g_str_eq(&m->ping.target, g->self->name))
		return;
	if (!gw_put_ack(&b, GW_ACK, m->ping.seq))
		g_send_msg(g, from, msg, b.len);
	/* A member we never heard of knows us: the gossip that announced it
	 * missed us (a fixed retransmit budget leaves a tail, spec 11.4), so
	 * sync with it now rather than at the next push-pull. */
	if (!gm_find(g, m->ping.from.p, m->ping.from.len))
		gpp_sync_unknown(g, from);
}

void gp_on_iping(struct gossip *g, const struct gossip_addr *from, const struct gw_msg *m)
{
	uint8_t msg[sizeof(struct gw_msg_hdr) + sizeof(struct gw_ping) + GOSSIP_NAME_MAX];
	struct gw_buf b = { .p = msg, .cap = sizeof(msg) };
	char target[GOSSIP_NAME_MAX + 1];
	struct grelay *r;

	if (g->nrelay == GPROBE_RELAYS_MAX)
		return;
	gw_str_copy(target, &m->iping.target);
	r = &g->relay[g->nrelay];
	*r = (struct grelay){
		.seq = ++g->seq,
		.orig_seq = m->iping.seq,
		.requester = *from,
		.nack = m->iping.nack,
		.deadline_ms = g->now + g->cfg.probe_timeout_ms,
	};
	if (gw_put_ping(&b, r->seq, target, g->self->name))
		return;
	g->nrelay++;
	g_send_msg(g, &m->iping.addr, msg, b.len);
}

static bool gp_relay_ack(struct gossip *g, uint32_t seq)
{
	uint8_t msg[sizeof(struct gw_msg_hdr) + sizeof(struct gw_ack)];
	struct gw_buf b = { .p = msg, .cap = sizeof(msg) };
	size_t i;

	for (i = 0; i < g->nrelay; i++) {
		if (g->relay[i].seq != seq)
			continue;
		if (!gw_put_ack(&b, GW_ACK, g->relay[i].orig_seq))
			g_send_msg(g, &g->relay[i].requester, msg, b.len);
		g->relay[i] = g->relay[--g->nrelay];
		return true;
	}
	return false;
}

static void gp_acked(struct gossip *g)
{
	struct gmember *m;

	/* Only a direct ack times the path to the target; one relayed by an
	 * indirect probe includes the relay's two legs. */
	if (!g->probe.indirect &&
	    (m = gm_find(g, (const uint8_t *)g->probe.target, strlen(g->probe.target))))
		m->rtt_ms = (int32_t)(g->now - g->probe.start_ms);
	g->probe.active = false;
	g->probe.acked = true;
	gp_health_add(g, -1);
}

void gp_on_ack(struct gossip *g, const struct gw_msg *m)
{
	if (gp_relay_ack(g, m->ack.seq))
		return;
	if (g->probe.active && m->ack.seq == g->probe.seq)
		gp_acked(g);
}

void gp_on_nack(struct gossip *g, const struct gw_msg *m)
{
	if (g->probe.active && m->ack.seq == g->probe.seq)
		g->probe.nacks++;
}

void gp_on_tcp_ack(struct gossip *g, uint32_t seq)
{
	/* UDP failed where TCP worked: a firewall or NAT problem rather than
	 * a dead member (consul#5195). Not a health signal either way. */
	if (!g->probe.active || seq != g->probe.seq)
		return;
	g->probe.active = false;
	g->probe.acked = true;
	g->stats.tcp_ping_rescues++;
}
