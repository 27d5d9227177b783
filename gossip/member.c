/* member.c: the member table and memberlist's rules for alive, suspect and
 * dead messages (specs/gossip.md 3.1): incarnations decide, only a member
 * raises its own (refutation), DEAD and LEFT records are kept
 * gossip_to_dead_ms and then reaped at the next wrap of the probe list.
 *
 * The table is an array in probe order (shuffled at each wrap, new members
 * inserted at a random place, as memberlist does) plus an open-addressed
 * index by name. Reaped DEAD members go to a "failed" list that pushpull.c
 * retries, so two halves of a long partition merge again (Serf's reconnect).
 *
 * Does not: resolve name conflicts by vote (Serf); a known name announced
 * from another address is refused unless the record is LEFT, or DEAD for
 * longer than dead_reclaim_ms.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"

/* ---- table ---- */

/* The name index is open addressing with linear probing (no chain pointer
 * in the records): nslot is a power of two, at most 3/4 full. Each slot has
 * 16 bits of the name's hash beside it (tag[]), so a probe reads a member
 * only when those match: one cache miss per lookup, not one per probe. */
static size_t gm_home(const struct gossip *g, const void *name, size_t len, uint16_t *tag)
{
	uint32_t h = g_hash(name, len);

	*tag = h >> 16;
	return (h ^ h >> 16) & (g->nslot - 1);	/* FNV's low bits mix poorly */
}

struct gmember *gm_find(const struct gossip *g, const uint8_t *name, size_t len)
{
	uint16_t t;
	size_t i = gm_home(g, name, len, &t);
	struct gmember *m;

	for (; (m = g->slot[i]); i = (i + 1) & (g->nslot - 1))
		if (g->tag[i] == t && m->name_len == len && !memcmp(m->name, name, len))
			return m;
	return NULL;
}

static void gm_index(struct gossip *g, struct gmember *m)
{
	uint16_t t;
	size_t i = gm_home(g, m->name, m->name_len, &t);

	while (g->slot[i])
		i = (i + 1) & (g->nslot - 1);
	g->slot[i] = m;
	g->tag[i] = t;
}

/* Delete by backward shift: each later member of the run moves into the
 * hole unless its home lies cyclically in (hole, its slot]. */
static void gm_unindex(struct gossip *g, const struct gmember *m)
{
	size_t mask = g->nslot - 1, i, j, k;
	uint16_t t;

	i = gm_home(g, m->name, m->name_len, &t);
	while (g->slot[i] != m)
		i = (i + 1) & mask;
	for (j = (i + 1) & mask; g->slot[j]; j = (j + 1) & mask) {
		k = gm_home(g, g->slot[j]->name, g->slot[j]->name_len, &t);
		if (((j - k) & mask) >= ((j - i) & mask)) {
			g->slot[i] = g->slot[j];
			g->tag[i] = g->tag[j];
			i = j;
		}
	}
	g->slot[i] = NULL;
}

void gm_view(const struct gossip *g, const struct gmember *m, struct gossip_member *out)
{
	*out = (struct gossip_member){
		.name = m->name,
		.addr = m->addr,
		.incarnation = m->inc,
		.state = m->state,
		.meta = m->meta,
		.meta_len = m->meta_len,
		.is_self = m == g->self,
		.rtt_ms = m->rtt_ms,
	};
}

static int gm_rehash(struct gossip *g, size_t nslot)
{
	/* One allocation: the slots, then their tags. */
	struct gmember **v = calloc(nslot, sizeof(*v) + sizeof(*g->tag));
	size_t i;

	if (!v)
		return -ENOMEM;
	free(g->slot);
	g->slot = v;
	g->tag = (uint16_t *)(v + nslot);
	g->nslot = nslot;
	for (i = 0; i < g->nmem; i++)
		gm_index(g, g->mem[i]);
	return 0;
}

static int gm_reserve(struct gossip *g)
{
	struct gmember **v;
	size_t cap;

	if (g->nmem == g->capmem) {
		/* 1.5x, not 2x: every node of a big cluster holds one. */
		cap = g->capmem ? g->capmem + g->capmem / 2 : 16;
		v = realloc(g->mem, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->mem = v;
		g->capmem = cap;
	}
	if (4 * (g->nmem + 1) > 3 * g->nslot)
		return gm_rehash(g, g->nslot ? g->nslot * 2 : 16);
	return 0;
}

static struct gmember *gm_insert(struct gossip *g, const struct gw_str *name,
				 const struct gossip_addr *addr)
{
	size_t len = name->len > GOSSIP_NAME_MAX ? GOSSIP_NAME_MAX : name->len, j;
	struct gmember *m;

	if (gm_reserve(g))
		return NULL;
	m = calloc(1, offsetof(struct gmember, name) + len + 1);
	if (!m)
		return NULL;
	memcpy(m->name, name->p, len);
	m->name_len = len;
	m->rtt_ms = -1;
	m->addr = *addr;
	m->state = GOSSIP_ALIVE;
	gm_index(g, m);
	/* A random place in the probe order, the displaced member to the end. */
	j = g_rand_n(g, g->nmem + 1);
	g->mem[g->nmem++] = g->mem[j];
	g->mem[j] = m;
	return m;
}

static void gm_destroy(struct gmember *m)
{
	free(m->meta);
	free(m);
}

void gm_free_all(struct gossip *g)
{
	size_t i;

	for (i = 0; i < g->nmem; i++)
		gm_destroy(g->mem[i]);
	free(g->mem);
	free(g->slot);
}

static int gm_set_meta(struct gmember *m, const uint8_t *meta, size_t len)
{
	uint8_t *p = NULL;

	if (len) {
		p = malloc(len);
		if (!p)
			return -ENOMEM;
		memcpy(p, meta, len);
	}
	free(m->meta);
	m->meta = p;
	m->meta_len = len;
	return 0;
}

static bool gm_meta_eq(const struct gmember *m, const struct gw_str *meta)
{
	return m->meta_len == meta->len && (!meta->len || !memcmp(m->meta, meta->p, meta->len));
}

bool gm_is_live(const struct gmember *m)
{
	return m->state == GOSSIP_ALIVE || m->state == GOSSIP_SUSPECT;
}

size_t gm_count(const struct gossip *g, unsigned mask)
{
	size_t i, n = 0;

	for (i = 0; i < g->nmem; i++)
		n += !!(mask & (1u << g->mem[i]->state));
	return n;
}

size_t gm_random(struct gossip *g, size_t k, bool (*ok)(struct gossip *g,
		 const struct gmember *m, const void *arg), const void *arg,
		 struct gmember **out)
{
	size_t n = 0, tries, i;
	struct gmember *m;

	/* Bounded random picks (memberlist's kRandomNodes): cheap when most
	 * members qualify, and gives up rather than scan when few do. */
	for (tries = 0; tries < 3 * g->nmem && n < k; tries++) {
		m = g->mem[g_rand_n(g, g->nmem)];
		if (m == g->self || !ok(g, m, arg))
			continue;
		for (i = 0; i < n && out[i] != m; i++)
			;
		if (i == n)
			out[n++] = m;
	}
	return n;
}

static void gm_notify(struct gossip *g, void (*fn)(void *, const struct gossip_member *),
		      const struct gmember *m)
{
	struct gossip_member v;

	if (!fn)
		return;
	gm_view(g, m, &v);
	fn(g->cb.arg, &v);
}

/* ---- broadcasts about members ---- */

static void gm_queue_alive(struct gossip *g, const struct gmember *m)
{
	uint8_t buf[sizeof(struct gw_msg_hdr) + sizeof(struct gw_alive) + GOSSIP_NAME_MAX +
		    GOSSIP_META_MAX];
	struct gw_buf b = { .p = buf, .cap = sizeof(buf) };

	if (!gw_put_alive(&b, m->inc, &m->addr, m->name, m->meta, m->meta_len))
		gd_queue(g, g_bkey(m->name, m->name_len), buf, b.len);
}

static void gm_queue_accuse(struct gossip *g, uint8_t type, uint32_t inc, const char *name,
			    const char *from)
{
	uint8_t buf[sizeof(struct gw_msg_hdr) + sizeof(struct gw_suspect) + 2 * GOSSIP_NAME_MAX];
	struct gw_buf b = { .p = buf, .cap = sizeof(buf) };

	if (!gw_put_suspect(&b, type, inc, name, from))
		gd_queue(g, g_bkey(name, strlen(name)), buf, b.len);
}

void gm_announce_self(struct gossip *g)
{
	gm_queue_alive(g, g->self);
}

int gm_add_self(struct gossip *g)
{
	struct gw_str name = { (const uint8_t *)g->cfg.name, strlen(g->cfg.name) };

	g->self = gm_insert(g, &name, &g->cfg.addr);
	if (!g->self)
		return -ENOMEM;
	g->self->inc = 1;
	g->self->state_ms = g->now;
	gm_announce_self(g);
	return 0;
}

int gm_self_update(struct gossip *g, const void *meta, size_t len)
{
	int r;

	if (len > GOSSIP_META_MAX)
		return -EMSGSIZE;
	r = gm_set_meta(g->self, meta, len);
	if (r)
		return r;
	g->self->inc++;
	gm_announce_self(g);
	return 0;
}

/* Someone doubts us: outbid the accusation and say so (Lifeguard counts
 * it against our own health: we may be the slow one). */
static void gm_refute(struct gossip *g, uint32_t accused)
{
	uint32_t inc = g->self->inc + 1;

	if (accused >= inc)
		inc = accused + 1;
	g->self->inc = inc;
	g->stats.refutations++;
	gp_health_add(g, 1);
	gm_announce_self(g);
}

/* A suspect or dead message names us. At or above our incarnation: refute.
 * Below it: we refuted already, but the sender's part of the cluster missed
 * it (loss, or the fixed retransmit budget ran out), so announce our
 * current state again instead of staying quiet as memberlist does; it
 * replaces our queued alive, so this cannot grow the queue. */
static void gm_accused(struct gossip *g, uint32_t inc)
{
	if (g->leaving)
		return;
	if (inc >= g->self->inc)
		gm_refute(g, inc);
	else
		gm_announce_self(g);
}

/* ---- failed members kept for reconnect ---- */

static void gm_failed_del(struct gossip *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->nfailed; i++) {
		if (!strcmp(g->failed[i].name, name)) {
			g->failed[i] = g->failed[--g->nfailed];
			return;
		}
	}
}

static void gm_failed_add(struct gossip *g, const struct gmember *m)
{
	if (!g->failed) {
		g->failed = calloc(GFAILED_MAX, sizeof(*g->failed));
		if (!g->failed)
			return;
	}
	gm_failed_del(g, m->name);
	if (g->nfailed == GFAILED_MAX)
		return;
	memcpy(g->failed[g->nfailed].name, m->name, m->name_len + 1);
	g->failed[g->nfailed].addr = m->addr;
	g->failed[g->nfailed].since_ms = m->state_ms;
	g->nfailed++;
}

bool gm_failed_pick(struct gossip *g, struct gfailed *out)
{
	size_t i = 0, alive;

	while (i < g->nfailed) {
		if (g->now - g->failed[i].since_ms > g->cfg.reconnect_timeout_ms)
			g->failed[i] = g->failed[--g->nfailed];
		else
			i++;
	}
	if (!g->nfailed)
		return false;
	/* Serf: try with probability failed/alive, so a big healthy cluster
	 * does not hammer one dead member from every node. */
	alive = gm_count(g, GOSSIP_MASK_LIVE);
	if (alive > g->nfailed && g_rand_n(g, alive) >= g->nfailed)
		return false;
	*out = g->failed[g_rand_n(g, g->nfailed)];
	return true;
}

/* ---- reaping and the probe order ---- */

void gm_reset_probe_list(struct gossip *g)
{
	size_t i, j, n = 0;
	struct gmember *m;

	for (i = 0; i < g->nmem; i++) {
		m = g->mem[i];
		if (!gm_is_live(m) && m != g->self &&
		    g->now - m->state_ms > g->cfg.gossip_to_dead_ms) {
			if (m->state == GOSSIP_DEAD)
				gm_failed_add(g, m);
			gm_unindex(g, m);
			gm_destroy(m);
			continue;
		}
		g->mem[n++] = m;
	}
	g->nmem = n;
	for (i = n; i > 1; i--) {
		j = g_rand_n(g, i);
		m = g->mem[i - 1];
		g->mem[i - 1] = g->mem[j];
		g->mem[j] = m;
	}
	g->probe_idx = 0;
}

/* ---- the rules ---- */

static void gm_alive_self(struct gossip *g, uint32_t inc, const struct gossip_addr *addr,
			  const struct gw_str *meta)
{
	struct gmember *s = g->self;

	if (g->leaving || inc < s->inc)
		return;
	if (inc == s->inc && gm_meta_eq(s, meta) && g_addr_eq(&s->addr, addr))
		return;	/* our own announcement, echoed */
	gm_refute(g, inc);
}

/* A known name from a new address: allowed only for a member that left, or
 * died long enough ago (memberlist's DeadNodeReclaimTime). */
static bool gm_may_move(const struct gossip *g, const struct gmember *m)
{
	if (m->state == GOSSIP_LEFT)
		return true;
	return m->state == GOSSIP_DEAD && g->cfg.dead_reclaim_ms &&
	       g->now - m->state_ms >= g->cfg.dead_reclaim_ms;
}

void gm_on_alive(struct gossip *g, uint32_t inc, const struct gossip_addr *addr,
		 const struct gw_str *name, const struct gw_str *meta)
{
	struct gmember *m = gm_find(g, name->p, name->len);
	enum gossip_state old;
	bool is_new = !m, meta_changed;

	if (m == g->self) {
		gm_alive_self(g, inc, addr, meta);
		return;
	}
	if (!m) {
		m = gm_insert(g, name, addr);
		if (!m)
			return;
		gm_failed_del(g, m->name);
		old = GOSSIP_DEAD;
	} else if (!g_addr_eq(&m->addr, addr)) {
		if (!gm_may_move(g, m))
			return;
		m->addr = *addr;
		old = m->state;
	} else if (inc <= m->inc) {
		return;
	} else {
		old = m->state;
	}
	meta_changed = !gm_meta_eq(m, meta);
	if (meta_changed && gm_set_meta(m, meta->p, meta->len))
		return;
	m->inc = inc;
	if (m->state != GOSSIP_ALIVE) {
		gs_stop(g, m);
		m->state = GOSSIP_ALIVE;
		m->state_ms = g->now;
	} else if (is_new) {
		m->state_ms = g->now;
	}
	gm_queue_alive(g, m);
	if (is_new || old == GOSSIP_DEAD || old == GOSSIP_LEFT)
		gm_notify(g, g->cb.on_member_join, m);
	else if (meta_changed)
		gm_notify(g, g->cb.on_member_update, m);
}

void gm_on_suspect(struct gossip *g, uint32_t inc, const struct gw_str *name,
		   const struct gw_str *from)
{
	struct gmember *m = gm_find(g, name->p, name->len);
	char accuser[GOSSIP_NAME_MAX + 1];

	if (m == g->self) {
		gm_accused(g, inc);
		return;
	}
	if (!m || inc < m->inc)
		return;
	gw_str_copy(accuser, from);
	if (m->state == GOSSIP_SUSPECT && gs_find(g, m)) {
		/* An independent accuser: spread it, others count it too. */
		if (gs_confirm(g, m, accuser, from->len))
			gm_queue_accuse(g, GW_SUSPECT, inc, m->name, accuser);
		return;
	}
	if (m->state != GOSSIP_ALIVE)
		return;
	m->inc = inc;
	m->state = GOSSIP_SUSPECT;
	m->state_ms = g->now;
	gm_queue_accuse(g, GW_SUSPECT, inc, m->name, accuser);
	gs_start(g, m, inc, accuser);
}

void gm_on_dead(struct gossip *g, uint32_t inc, const struct gw_str *name,
		const struct gw_str *from)
{
	struct gmember *m = gm_find(g, name->p, name->len);
	char accuser[GOSSIP_NAME_MAX + 1];
	bool left;

	if (m == g->self) {
		gm_accused(g, inc);
		return;
	}
	if (!m || inc < m->inc || !gm_is_live(m))
		return;
	gw_str_copy(accuser, from);
	left = !strcmp(accuser, m->name);
	gs_stop(g, m);
	m->inc = inc;
	m->state = left ? GOSSIP_LEFT : GOSSIP_DEAD;
	m->state_ms = g->now;
	gm_queue_accuse(g, GW_DEAD, inc, m->name, accuser);
	gm_notify(g, left ? g->cb.on_member_leave : g->cb.on_member_fail, m);
}
