/* sim.c: the simulator's network, clock and event loop (see sim.h). One
 * binary heap orders packets, stream halves and node timers by (time,
 * insertion sequence); ties never depend on memory addresses, so a seed
 * fixes the whole run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sim.h"

enum sim_kind { SIM_PKT, SIM_STREAM_REQ, SIM_STREAM_REPLY, SIM_TICK };

struct sim_ev {
	uint64_t t, seq;
	enum sim_kind kind;
	int to, from;
	uint64_t token;
	int status;
	void *buf;
	size_t len;
};

/* ---- randomness: splitmix64 ---- */

static uint64_t sm64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t sim_rand(struct sim *s)
{
	return sm64(&s->rng) >> 32;
}

static bool sim_chance(struct sim *s, double p)
{
	return p > 0 && (sim_rand(s) / 4294967296.0) < p;
}

/* ---- heap ---- */

static bool ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(struct sim *s, struct sim_ev ev)
{
	struct sim_ev tmp;
	size_t i;

	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? s->capheap * 2 : 1024;
		s->heap = realloc(s->heap, s->capheap * sizeof(*s->heap));
		if (!s->heap)
			abort();
	}
	ev.seq = s->seq++;
	i = s->nheap++;
	s->heap[i] = ev;
	while (i && ev_before(&s->heap[i], &s->heap[(i - 1) / 2])) {
		tmp = s->heap[i];
		s->heap[i] = s->heap[(i - 1) / 2];
		s->heap[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static struct sim_ev heap_pop(struct sim *s)
{
	struct sim_ev top = s->heap[0], tmp;
	size_t i = 0, l, m;

	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < s->nheap && ev_before(&s->heap[l], &s->heap[m]))
			m = l;
		if (l + 1 < s->nheap && ev_before(&s->heap[l + 1], &s->heap[m]))
			m = l + 1;
		if (m == i)
			break;
		tmp = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = tmp;
		i = m;
	}
	return top;
}

/* ---- the injected I/O of one node ---- */

static int sim_idx_of(const struct sim *s, const struct gossip_addr *a)
{
	int i = (a->ip[2] << 8 | a->ip[3]) - 1;

	if (a->family != AF_INET || a->ip[0] != 198 || a->ip[1] != 18 || i < 0 ||
	    (size_t)i >= s->n)
		return -1;
	return i;
}

static uint64_t sim_latency(struct sim *s)
{
	return s->lat_min_ms + (s->jitter_ms ? sim_rand(s) % (s->jitter_ms + 1) : 0);
}

static bool sim_reachable(const struct sim *s, int from, int to)
{
	return to >= 0 && s->node[to].g && s->node[from].group == s->node[to].group;
}

static int io_send(void *ctx, const struct gossip_addr *to, const void *buf, size_t len)
{
	struct sim_node *nd = ctx;
	struct sim *s = nd->sim;
	int dst = sim_idx_of(s, to);
	struct sim_ev ev = { .kind = SIM_PKT, .from = nd->idx, .to = dst, .len = len };

	nd->pkts_sent++;
	nd->bytes_sent += len;
	s->pkts++;
	s->bytes += len;
	if (!sim_reachable(s, nd->idx, dst)) {
		s->pkts_cut++;
		return 0;
	}
	if (sim_chance(s, s->loss)) {
		s->pkts_lost++;
		return 0;
	}
	ev.buf = malloc(len);
	if (!ev.buf)
		return -ENOMEM;
	memcpy(ev.buf, buf, len);
	ev.t = s->now + sim_latency(s);
	heap_push(s, ev);
	return 0;
}

/* One way of a stream: latency plus an RTO per lost segment. */
static uint64_t sim_stream_delay(struct sim *s)
{
	uint64_t d = sim_latency(s);
	int tries = 0;

	while (sim_chance(s, s->loss) && tries++ < 6)
		d += 200;
	return d;
}

static int io_stream(void *ctx, const struct gossip_addr *to, const void *buf, size_t len,
		     uint64_t token)
{
	struct sim_node *nd = ctx;
	struct sim *s = nd->sim;
	int dst = sim_idx_of(s, to);
	struct sim_ev ev = { .kind = SIM_STREAM_REQ, .from = nd->idx, .to = dst,
			     .token = token, .len = len };

	s->streams++;
	nd->bytes_sent += len;
	if (dst < 0 || s->node[nd->idx].group != s->node[dst].group)
		return 0;	/* silence: the core's stream timeout fires */
	if (!s->node[dst].g) {
		/* refused by the host: RST after one round trip */
		ev = (struct sim_ev){ .kind = SIM_STREAM_REPLY, .to = nd->idx, .from = dst,
				      .token = token, .status = -ECONNREFUSED,
				      .t = s->now + 2 * sim_latency(s) };
		heap_push(s, ev);
		return 0;
	}
	ev.buf = malloc(len);
	if (!ev.buf)
		return -ENOMEM;
	memcpy(ev.buf, buf, len);
	ev.t = s->now + sim_stream_delay(s);
	heap_push(s, ev);
	return 0;
}

static uint64_t io_now(void *ctx)
{
	return ((struct sim_node *)ctx)->sim->now;
}

static uint32_t io_rand(void *ctx)
{
	return sm64(&((struct sim_node *)ctx)->rng) >> 32;
}

/* ---- callbacks into scenario hooks ---- */

static void cb_join(void *arg, const struct gossip_member *m)
{
	struct sim_node *nd = arg;

	nd->live++;
	if (nd->sim->hooks.on_join)
		nd->sim->hooks.on_join(nd->sim, nd, m);
}

static void cb_fail(void *arg, const struct gossip_member *m)
{
	struct sim_node *nd = arg, *victim = sim_node_by_name(nd->sim, m->name);

	nd->live--;
	nd->sim->fails++;
	if (victim && victim->g)
		nd->sim->false_fails++;
	if (nd->sim->hooks.on_fail)
		nd->sim->hooks.on_fail(nd->sim, nd, m);
}

static void cb_leave(void *arg, const struct gossip_member *m)
{
	struct sim_node *nd = arg;

	nd->live--;
	nd->sim->leaves++;
	if (nd->sim->hooks.on_leave)
		nd->sim->hooks.on_leave(nd->sim, nd, m);
}

static void cb_event(void *arg, const char *name, const void *payload, size_t len,
		     uint64_t ltime)
{
	struct sim_node *nd = arg;

	nd->events_recv++;
	if (nd->sim->hooks.on_event)
		nd->sim->hooks.on_event(nd->sim, nd, name, payload, len, ltime);
}

/* ---- nodes ---- */

struct sim *sim_new(size_t n, uint64_t seed)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct sim_node *nd;
	size_t i;

	if (!s)
		return NULL;
	s->node = calloc(n, sizeof(*s->node));
	if (!s->node) {
		free(s);
		return NULL;
	}
	s->n = n;
	s->rng = seed;
	s->lat_min_ms = 1;
	s->jitter_ms = 1;
	gossip_config_lan(&s->base);
	for (i = 0; i < n; i++) {
		nd = &s->node[i];
		nd->sim = s;
		nd->idx = i;
		snprintf(nd->name, sizeof(nd->name), "n%u", (unsigned)i);
		nd->addr = (struct gossip_addr){ .family = AF_INET, .port = 7946,
						 .ip = { 198, 18, (i + 1) >> 8, (i + 1) & 0xff } };
		nd->rng = seed ^ (0x5bd1e995ull * (i + 1));
		nd->scheduled = UINT64_MAX;
	}
	return s;
}

void sim_free(struct sim *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		gossip_free(s->node[i].g);
	for (i = 0; i < s->nheap; i++)
		free(s->heap[i].buf);
	free(s->heap);
	free(s->node);
	free(s);
}

struct sim_node *sim_node_by_name(struct sim *s, const char *name)
{
	char *end;
	unsigned long i;

	if (name[0] != 'n')
		return NULL;
	i = strtoul(name + 1, &end, 10);
	return *end || i >= s->n ? NULL : &s->node[i];
}

void sim_touch(struct sim *s, size_t i)
{
	struct sim_node *nd = &s->node[i];
	uint64_t d;

	if (!nd->g)
		return;
	d = gossip_next_deadline(nd->g);
	if (d == nd->scheduled)
		return;
	if (d < s->now)
		d = s->now;
	nd->scheduled = d;
	if (d != UINT64_MAX)
		heap_push(s, (struct sim_ev){ .t = d, .kind = SIM_TICK, .to = i });
}

int sim_start(struct sim *s, size_t i, const size_t *seeds, size_t nseeds)
{
	struct sim_node *nd = &s->node[i];
	struct gossip_io io = { io_send, io_stream, io_now, io_rand, nd };
	struct gossip_cb cb = { cb_join, cb_leave, cb_fail, NULL, cb_event, nd };
	struct gossip_addr addrs[16];
	struct gossip_config cfg = s->base;
	size_t k;
	int r;

	snprintf(cfg.name, sizeof(cfg.name), "%s", nd->name);
	cfg.addr = nd->addr;
	r = gossip_new(&cfg, &io, &cb, &nd->g);
	if (r)
		return r;
	nd->started_ms = s->now;
	nd->live = 1;
	for (k = 0; k < nseeds && k < 16; k++)
		addrs[k] = s->node[seeds[k]].addr;
	r = gossip_join(nd->g, addrs, k);
	sim_touch(s, i);
	return r;
}

void sim_kill(struct sim *s, size_t i)
{
	gossip_free(s->node[i].g);
	s->node[i].g = NULL;
	s->node[i].scheduled = UINT64_MAX;
}

void sim_leave(struct sim *s, size_t i)
{
	if (s->node[i].g) {
		/* Its own record is LEFT now, even when the announcement
		 * could not be queued; only a second leave changes nothing. */
		if (gossip_leave(s->node[i].g) != -EALREADY)
			s->node[i].live--;
		sim_touch(s, i);
	}
}

/* ---- the loop ---- */

static void sim_serve(struct sim *s, struct sim_ev *ev)
{
	struct sim_node *nd = &s->node[ev->to];
	struct sim_ev rep = { .kind = SIM_STREAM_REPLY, .to = ev->from, .from = ev->to,
			      .token = ev->token };
	void *resp = NULL;
	size_t len = 0;

	if (!nd->g || nd->group != s->node[ev->from].group)
		return;
	rep.status = gossip_stream_serve(nd->g, &s->node[ev->from].addr, ev->buf, ev->len,
					 &resp, &len);
	sim_touch(s, ev->to);
	nd->bytes_sent += len;
	rep.buf = resp;
	rep.len = len;
	rep.t = s->now + sim_stream_delay(s);
	heap_push(s, rep);
}

static void sim_dispatch(struct sim *s, struct sim_ev *ev)
{
	struct sim_node *nd = &s->node[ev->to];

	switch (ev->kind) {
	case SIM_PKT:
		if (!nd->g || nd->group != s->node[ev->from].group)
			break;
		nd->pkts_recv++;
		gossip_input(nd->g, &s->node[ev->from].addr, ev->buf, ev->len);
		sim_touch(s, ev->to);
		break;
	case SIM_STREAM_REQ:
		sim_serve(s, ev);
		break;
	case SIM_STREAM_REPLY:
		if (!nd->g)
			break;
		gossip_stream_done(nd->g, ev->token, ev->status, ev->buf, ev->len);
		sim_touch(s, ev->to);
		break;
	case SIM_TICK:
		if (!nd->g || nd->scheduled != ev->t)
			break;
		nd->scheduled = UINT64_MAX;
		gossip_tick(nd->g);
		sim_touch(s, ev->to);
		break;
	}
}

void sim_run_until(struct sim *s, uint64_t t)
{
	struct sim_ev ev;

	while (s->nheap && s->heap[0].t <= t) {
		ev = heap_pop(s);
		s->now = ev.t;
		sim_dispatch(s, &ev);
		free(ev.buf);
	}
	s->now = t;
}

size_t sim_live_count(struct sim *s, size_t i)
{
	return s->node[i].g ? gossip_member_count(s->node[i].g, GOSSIP_MASK_LIVE) : 0;
}

struct sim_conv {
	struct sim *s;
	bool ok;
};

static void conv_check(void *arg, const struct gossip_member *m)
{
	struct sim_conv *c = arg;
	struct sim_node *nd = sim_node_by_name(c->s, m->name);
	bool live = m->state == GOSSIP_ALIVE || m->state == GOSSIP_SUSPECT;

	if (!nd || live != (nd->g != NULL))
		c->ok = false;
}

bool sim_converged(struct sim *s)
{
	struct sim_conv c = { .s = s, .ok = true };
	size_t i, up = 0;

	for (i = 0; i < s->n; i++)
		up += s->node[i].g != NULL;
	for (i = 0; i < s->n; i++)
		if (s->node[i].g && s->node[i].live != up)
			return false;
	for (i = 0; i < s->n && c.ok; i++) {
		if (!s->node[i].g)
			continue;
		if (sim_live_count(s, i) != up)
			return false;
		gossip_members_foreach(s->node[i].g, conv_check, &c);
	}
	return c.ok;
}
