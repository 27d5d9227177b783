/* dissem.c: infection-style dissemination (specs/gossip.md 4.5). Membership
 * messages and user events wait in one bounded queue and ride on every
 * packet we send (piggyback), plus a gossip round every gossip_interval to
 * gossip_nodes random members (including the recently dead, so they can
 * refute). Each is sent retransmit_mult * ceil(log10(n + 1)) times.
 *
 * The queue is kept sorted fewest-sent first, newest first among equals,
 * without re-sorting: new entries go to the front, and after a fill the sent
 * entries (still in order, one more send each) are merged back in O(n).
 * System and user messages share that order, so user events are not starved
 * behind membership churn at scale (memberlist#299). A newer message about a
 * node replaces the queued one (same key). Over queue_max, the most-sent
 * (then oldest) entries are dropped.
 *
 * Does not: split messages bigger than a packet (events are capped at
 * GOSSIP_EVENT_MAX so one always fits).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "gossip_int.h"

uint32_t gd_retransmit_limit(const struct gossip *g)
{
	uint32_t digits = 0;	/* ceil(log10(n + 1)) == decimal digits of n */
	size_t n = g->nmem;

	while (n) {
		digits++;
		n /= 10;
	}
	return g->cfg.retransmit_mult * (digits ? digits : 1);
}

/* Bytes of a queued message: its header and the body the header counts. */
static size_t gd_len(const struct gbcast *e)
{
	struct gw_msg_hdr h;

	memcpy(&h, e->msg, sizeof(h));
	return sizeof(h) + be16toh(h.len);
}

/* a comes after b in the queue order */
static bool gd_after(const struct gbcast *a, const struct gbcast *b)
{
	return a->transmits > b->transmits || (a->transmits == b->transmits && a->id < b->id);
}

static void gd_remove_at(struct gossip *g, size_t i)
{
	free(g->bq[i]);
	memmove(&g->bq[i], &g->bq[i + 1], (g->nbq - i - 1) * sizeof(g->bq[0]));
	g->nbq--;
}

int gd_queue(struct gossip *g, uint64_t key, const void *msg, size_t len)
{
	struct gbcast *b, **v;
	struct gw_msg_hdr h;
	size_t i, cap;

	/* One whole message: gd_len() reads its length back from the header. */
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, msg, sizeof(h));
	if (len != sizeof(h) + be16toh(h.len))
		return -EINVAL;
	if (key) {
		for (i = 0; i < g->nbq; i++) {
			if (g->bq[i]->key == key) {
				gd_remove_at(g, i);
				break;
			}
		}
	}
	if (g->nbq == g->capbq) {
		/* Doubling, but no further than the queue can grow (one over
		 * queue_max, for a moment). */
		cap = g->capbq ? g->capbq * 2 : 32;
		if (cap > (size_t)g->cfg.queue_max + 1)
			cap = (size_t)g->cfg.queue_max + 1;
		v = realloc(g->bq, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->bq = v;
		g->capbq = cap;
	}
	b = malloc(offsetof(struct gbcast, msg) + len);
	if (!b)
		return -ENOMEM;
	b->id = ++g->bq_id;
	b->key = key;
	b->transmits = 0;
	memcpy(b->msg, msg, len);
	memmove(&g->bq[1], &g->bq[0], g->nbq * sizeof(g->bq[0]));
	g->bq[0] = b;
	if (!g->nbq || len < g->bq_minlen)
		g->bq_minlen = len;
	g->nbq++;
	while (g->nbq > g->cfg.queue_max) {
		free(g->bq[--g->nbq]);
		g->stats.broadcasts_dropped++;
	}
	return 0;
}

/* Merge the sent entries (sent[0..k), in order) back into the queue, whose
 * unsent entries are compacted in bq[0..u). Newest last: each finds its
 * place by binary search and the entries after it move up as a block, so
 * a long queue costs k log u reads of entries, not one per entry. */
static void gd_merge(struct gossip *g, struct gbcast **sent, size_t k, size_t u)
{
	size_t j = k, lo, hi, mid;

	while (j--) {
		for (lo = 0, hi = u; lo < hi;) {
			mid = lo + (hi - lo) / 2;
			if (gd_after(g->bq[mid], sent[j]))
				hi = mid;
			else
				lo = mid + 1;
		}
		memmove(&g->bq[lo + j + 1], &g->bq[lo], (u - lo) * sizeof(g->bq[0]));
		g->bq[lo + j] = sent[j];
		u = lo;
	}
}

void gd_fill(struct gossip *g, struct gw_buf *b, size_t budget)
{
	struct gbcast *sent[GW_MSGS_MAX], *e;
	uint32_t limit = gd_retransmit_limit(g);
	size_t i, u = 0, k = 0, len, minlen = SIZE_MAX, n = g->nbq;

	if (!n)
		return;
	for (i = 0; i < n; i++) {
		/* Full (no queued message is shorter than bq_minlen): the
		 * rest stays as it is, unread. */
		if (gw_pkt_count(b) >= GW_MSGS_MAX || b->len + g->bq_minlen > budget) {
			memmove(&g->bq[u], &g->bq[i], (n - i) * sizeof(g->bq[0]));
			u += n - i;
			break;
		}
		e = g->bq[i];
		len = gd_len(e);
		if (len < minlen)
			minlen = len;
		if (gw_pkt_count(b) < GW_MSGS_MAX && b->len + len <= budget &&
		    !gw_pkt_add(b, e->msg, len)) {
			if (e->transmits < UINT16_MAX)
				e->transmits++;
			if (e->transmits >= limit)
				free(e);
			else
				sent[k++] = e;
			continue;
		}
		g->bq[u++] = e;
	}
	if (i == n)		/* every entry read: the bound is exact again */
		g->bq_minlen = minlen;
	gd_merge(g, sent, k, u);
	g->nbq = u + k;
}

static bool gd_target_ok(struct gossip *g, const struct gmember *m, const void *arg)
{
	if (gm_is_live(m))
		return true;
	return g->now - m->state_ms < g->cfg.gossip_to_dead_ms;
}

void gd_round(struct gossip *g)
{
	struct gmember *to[16];
	size_t n, i, k = g->cfg.gossip_nodes;
	struct gw_buf b;

	if (k > 16)
		k = 16;
	n = gm_random(g, k, gd_target_ok, NULL, to);
	for (i = 0; i < n && g->nbq; i++) {
		b = (struct gw_buf){ .p = g->pkt, .cap = g_pkt_budget(g) };
		gw_pkt_begin(&b);
		g_send_pkt(g, &to[i]->addr, &b);
	}
}

void gd_free_all(struct gossip *g)
{
	size_t i;

	for (i = 0; i < g->nbq; i++)
		free(g->bq[i]);
	free(g->bq);
}
