/* suspicion.c: Lifeguard's LHA-Suspicion timers (specs/gossip.md 4.3), as
 * memberlist computes them:
 *	min = suspicion_mult * max(1, log10(max(1, n))) * probe_interval
 *	max = suspicion_max_mult * min
 *	k   = suspicion_mult - 2 expected confirmations (0 when n - 2 < k)
 * The timer starts at max (min when k = 0); after C independent
 * confirmations it is max - log(C + 1) / log(k + 1) * (max - min), never
 * below min, counted from the start. When it fires the member is declared
 * dead. Timers live in a small list: only suspected members have one.
 *
 * Our addition: in the last cfg.suspicion_pings probe timeouts before the deadline
 * we ping the suspect ourselves, our suspicion in front (buddy system). A
 * live suspect answers with its refutation piggybacked on the ack, so a
 * member that missed the gossiped refutation (the retransmit budget leaves
 * a tail, specs/gossip.md 11.3-11.4) does not declare a live member dead.
 * A dead suspect does not answer, and the deadline does not move.
 * The logarithms are computed here (gs_ln) so the core needs no libm.
 */
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"

/* Natural log for x >= 1: x = m * 2^e with m in [1, 2), then
 * ln m = 2 atanh((m - 1) / (m + 1)), a series that converges fast for
 * |z| <= 1/3. Accurate to ~1e-12, far below a millisecond here. */
double gs_ln(double x)
{
	double z, z2, term, sum = 0;
	int e = 0, i;

	while (x >= 2.0) {
		x /= 2.0;
		e++;
	}
	z = (x - 1.0) / (x + 1.0);
	z2 = z * z;
	term = z;
	for (i = 1; i < 40; i += 2) {
		sum += term / i;
		term *= z2;
	}
	return e * 0.69314718055994530942 + 2.0 * sum;
}

uint64_t gs_min_ms(const struct gossip_config *cfg, size_t nmembers)
{
	double scale = gs_ln(nmembers > 1 ? (double)nmembers : 1.0) / gs_ln(10.0);

	if (scale < 1.0)
		scale = 1.0;
	/* Milli-units as memberlist truncates them. */
	return (uint64_t)(scale * 1000.0) * cfg->suspicion_mult * cfg->probe_interval_ms / 1000;
}

uint64_t gs_timeout(uint64_t min_ms, uint64_t max_ms, uint32_t k, uint32_t n)
{
	double frac, raw;

	if (!k)
		return min_ms;
	frac = gs_ln((double)n + 1.0) / gs_ln((double)k + 1.0);
	raw = (double)max_ms - frac * (double)(max_ms - min_ms);
	if (raw < (double)min_ms)
		return min_ms;
	return (uint64_t)raw;	/* raw > 0: truncation is floor */
}

void gs_start(struct gossip *g, struct gmember *m, uint32_t inc, const char *from)
{
	struct gsusp *s, **v;
	size_t cap;
	uint32_t k;

	if (g->nsusp == g->capsusp) {
		cap = g->capsusp ? g->capsusp * 2 : 8;
		v = realloc(g->susp, cap * sizeof(*v));
		if (!v)
			return;
		g->susp = v;
		g->capsusp = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	k = g->cfg.suspicion_mult > 2 ? g->cfg.suspicion_mult - 2 : 0;
	if (g->nmem < (size_t)k + 2)
		k = 0;
	s->m = m;
	s->inc = inc;
	s->k = k;
	s->start_ms = g->now;
	s->min_ms = gs_min_ms(&g->cfg, g->nmem);
	s->max_ms = s->min_ms * g->cfg.suspicion_max_mult;
	s->deadline_ms = g->now + gs_timeout(s->min_ms, s->max_ms, k, 0);
	s->accusers[s->nacc++] = g_hash(from, strlen(from));
	g->susp[g->nsusp++] = s;
}

/* Few members are suspect at once: a scan beats a pointer in every record. */
static size_t gs_index(const struct gossip *g, const struct gmember *m)
{
	size_t i;

	for (i = 0; i < g->nsusp && g->susp[i]->m != m; i++)
		;
	return i;
}

struct gsusp *gs_find(const struct gossip *g, const struct gmember *m)
{
	size_t i = gs_index(g, m);

	return i < g->nsusp ? g->susp[i] : NULL;
}

bool gs_confirm(struct gossip *g, struct gmember *m, const char *from, size_t from_len)
{
	struct gsusp *s = gs_find(g, m);
	uint32_t h = g_hash(from, from_len);
	size_t i;

	if (s->n >= s->k)
		return false;
	for (i = 0; i < s->nacc; i++)
		if (s->accusers[i] == h)
			return false;
	if (s->nacc < GSUSP_ACCUSERS_MAX)
		s->accusers[s->nacc++] = h;
	s->n++;
	s->deadline_ms = s->start_ms + gs_timeout(s->min_ms, s->max_ms, s->k, s->n);
	return true;
}

void gs_stop(struct gossip *g, struct gmember *m)
{
	size_t i = gs_index(g, m);

	if (i == g->nsusp)
		return;
	free(g->susp[i]);
	g->susp[i] = g->susp[--g->nsusp];
}

void gs_free_all(struct gossip *g)
{
	size_t i;

	for (i = 0; i < g->nsusp; i++)
		free(g->susp[i]);
	free(g->susp);
}

/* When the next last-chance ping of s is due. */
static uint64_t gs_ping_due(const struct gossip *g, const struct gsusp *s)
{
	uint64_t lead;

	if (s->pings >= g->cfg.suspicion_pings)
		return UINT64_MAX;
	lead = (uint64_t)(g->cfg.suspicion_pings - s->pings) * g->cfg.probe_timeout_ms;
	return s->deadline_ms > lead ? s->deadline_ms - lead : 0;
}

void gs_tick(struct gossip *g)
{
	struct gw_str name, self;
	struct gsusp *s;
	struct gmember *m;
	size_t i = 0;

	self = (struct gw_str){ (const uint8_t *)g->self->name, g->self->name_len };
	while (i < g->nsusp) {
		s = g->susp[i];
		if (s->deadline_ms > g->now) {
			if (gs_ping_due(g, s) <= g->now) {
				s->pings++;
				gp_send_ping(g, s->m, ++g->seq);
			}
			i++;
			continue;
		}
		/* gm_on_dead stops the timer: slot i now holds another one. */
		m = s->m;
		name = (struct gw_str){ (const uint8_t *)m->name, m->name_len };
		g->stats.declared_dead++;
		gm_on_dead(g, m->inc, &name, &self);
		gs_stop(g, m);
	}
}

uint64_t gs_next(const struct gossip *g)
{
	uint64_t t = UINT64_MAX, p;
	size_t i;

	for (i = 0; i < g->nsusp; i++) {
		if (g->susp[i]->deadline_ms < t)
			t = g->susp[i]->deadline_ms;
		p = gs_ping_due(g, g->susp[i]);
		if (p < t)
			t = p;
	}
	return t;
}
