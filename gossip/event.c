/* event.c: user events (Serf, specs/gossip.md 7.1-7.2). Each carries a
 * Lamport time from the event clock: sending stamps the current time and
 * increments it, receiving witnesses (clock = max(clock, t + 1)).
 *
 * De-duplication: a ring of event_buffer slots indexed by LTime mod size,
 * each holding copies of the (name, payload) pairs seen at that time. An
 * event older than clock - event_buffer is dropped as too old, one below
 * ev_min (set on join, unless event_replay_on_join) as history. The copies
 * also travel in push-pull, oldest first, so a member that missed the gossip
 * gets the events, in Lamport order (Serf does not order them: serf#448).
 *
 * Does not: coalesce events, run queries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"

int ge_init(struct gossip *g)
{
	g->ev_ring = calloc(g->cfg.event_buffer, sizeof(*g->ev_ring));
	return g->ev_ring ? 0 : -ENOMEM;
}

static void ge_slot_clear(struct gev_slot *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].data);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

void ge_free(struct gossip *g)
{
	size_t i;

	if (!g->ev_ring)
		return;
	for (i = 0; i < g->cfg.event_buffer; i++)
		ge_slot_clear(&g->ev_ring[i]);
	free(g->ev_ring);
}

void ge_witness(struct gossip *g, uint64_t ltime)
{
	if (ltime >= g->ev_clock)
		g->ev_clock = ltime + 1;
}

static uint64_t ge_hash(const struct gw_str *name, const struct gw_str *payload)
{
	return g_hash64(name->p, name->len) * 31 + g_hash64(payload->p, payload->len);
}

/* Record the event in the ring: 0 new, -EEXIST seen, -ENOMEM. */
static int ge_remember(struct gossip *g, uint64_t ltime, const struct gw_str *name,
		       const struct gw_str *payload)
{
	struct gev_slot *s = &g->ev_ring[ltime % g->cfg.event_buffer];
	uint64_t h = ge_hash(name, payload);
	struct gev *v, *e;
	size_t i;

	if (s->ltime != ltime) {
		ge_slot_clear(s);
		s->ltime = ltime;
	}
	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		if (e->hash == h && e->name_len == name->len && e->len == payload->len &&
		    !memcmp(e->data, name->p, name->len) &&
		    !memcmp(e->data + name->len, payload->p, payload->len))
			return -EEXIST;
	}
	v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	e = &v[s->n];
	e->data = malloc(name->len + payload->len + 1);
	if (!e->data)
		return -ENOMEM;
	memcpy(e->data, name->p, name->len);
	if (payload->len)
		memcpy(e->data + name->len, payload->p, payload->len);
	e->hash = h;
	e->name_len = name->len;
	e->len = payload->len;
	s->n++;
	return 0;
}

static void ge_broadcast(struct gossip *g, uint64_t ltime, const struct gw_str *name,
			 const struct gw_str *payload)
{
	uint8_t buf[sizeof(struct gw_msg_hdr) + sizeof(struct gw_event) + GOSSIP_EVENT_MAX];
	struct gw_buf b = { .p = buf, .cap = sizeof(buf) };

	if (gw_put_event(&b, ltime, (const char *)name->p, name->len, payload->p, payload->len))
		return;
	gd_queue(g, 0, buf, b.len);
	/* ovn's latency target: do not wait for the next round. */
	if (g->cfg.eager_events)
		gd_round(g);
}

void ge_on_event(struct gossip *g, const struct gw_msg *m)
{
	uint64_t t = m->event.ltime, buf = g->cfg.event_buffer;
	char name[GOSSIP_EVENT_NAME_MAX + 1];

	g->stats.events_in++;
	ge_witness(g, t);
	if (t < g->ev_min || (g->ev_clock > buf && t < g->ev_clock - buf)) {
		g->stats.events_old++;
		return;
	}
	if (ge_remember(g, t, &m->event.name, &m->event.payload)) {
		g->stats.events_dup++;
		return;
	}
	ge_broadcast(g, t, &m->event.name, &m->event.payload);
	gw_str_copy(name, &m->event.name);
	if (g->cb.on_event)
		g->cb.on_event(g->cb.arg, name, m->event.payload.p, m->event.payload.len, t);
}

int ge_send(struct gossip *g, const char *name, const void *payload, size_t len)
{
	struct gw_str n = { (const uint8_t *)name, strnlen(name, GOSSIP_EVENT_NAME_MAX + 1) };
	struct gw_str p = { len ? payload : (const uint8_t *)"", len };
	uint64_t t;
	int r;

	if (!gw_name_ok(n.p, n.len) || (len && !payload))
		return -EINVAL;
	if (n.len + len > GOSSIP_EVENT_MAX)
		return -EMSGSIZE;
	t = g->ev_clock++;
	r = ge_remember(g, t, &n, &p);
	if (r)
		return r;
	ge_broadcast(g, t, &n, &p);
	return 0;
}

void ge_foreach(const struct gossip *g, void (*fn)(void *arg, uint64_t ltime,
		const struct gev *e), void *arg)
{
	uint64_t buf = g->cfg.event_buffer, t;
	const struct gev_slot *s;
	size_t i;

	for (t = g->ev_clock > buf ? g->ev_clock - buf : 0; t < g->ev_clock; t++) {
		s = &g->ev_ring[t % buf];
		if (s->ltime != t)
			continue;
		for (i = 0; i < s->n; i++)
			fn(arg, t, &s->v[i]);
	}
}
