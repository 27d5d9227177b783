/* pushpull.c: everything that travels over the injected stream transport
 * (one request, one answer, like memberlist's TCP exchanges):
 *	push-pull	full state both ways (members, recent events, event
 *			clock): on join, every pushpull_interval (stretched
 *			above 32 members) with one random member, and every
 *			reconnect_interval with a reaped failed member (Serf's
 *			reconnect: how a healed partition merges again)
 *	join		push-pull with each seed; retried with backoff until
 *			one answers
 *	TCP ping	the fallback probe when UDP probes fail
 *
 * Remote SUSPECT and DEAD records are merged as suspicions, never as facts,
 * so a push-pull alone cannot kill a live member (specs/gossip.md 4.6).
 * Streams are sealed whole when keyed; a plain stream is then refused.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"

/* ---- encoding our state ---- */

struct gpp_enc {
	struct gw_buf *b;
	uint32_t n;
	int err;
};

static void gpp_count_ev(void *arg, uint64_t ltime, const struct gev *e)
{
	((struct gpp_enc *)arg)->n++;
}

static void gpp_put_ev(void *arg, uint64_t ltime, const struct gev *e)
{
	struct gpp_enc *c = arg;

	if (!c->err)
		c->err = gw_put_event(c->b, ltime, (const char *)e->data, e->name_len,
				      e->data + e->name_len, e->len);
}

static int gpp_encode(struct gossip *g, uint8_t flags, struct gw_buf *b)
{
	struct gpp_enc c = { .b = b };
	struct gw_pp_rec r;
	struct gmember *m;
	size_t i;
	int err;

	*b = (struct gw_buf){ .grow = true, .max = GW_STREAM_MAX };
	ge_foreach(g, gpp_count_ev, &c);
	err = gw_stream_begin(b, GW_PUSHPULL, flags);
	if (!err)
		err = gw_pp_put_hdr(b, g->nmem, c.n, g->ev_clock);
	for (i = 0; !err && i < g->nmem; i++) {
		m = g->mem[i];
		r = (struct gw_pp_rec){
			.state = m->state,
			.inc = m->inc,
			.addr = m->addr,
			.name = { (const uint8_t *)m->name, m->name_len },
			.meta = { m->meta, m->meta_len },
		};
		err = gw_pp_put_member(b, &r);
	}
	ge_foreach(g, gpp_put_ev, &c);
	if (!err)
		err = c.err;
	if (err) {
		free(b->p);
		b->p = NULL;
		return err == -ENOSPC ? -EMSGSIZE : err;
	}
	gw_stream_end(b);
	return 0;
}

/* ---- merging a remote state ---- */

struct gpp_merge {
	struct gossip *g;
	bool join;
};

static void gpp_merge_hdr(void *arg, uint64_t ltime)
{
	struct gpp_merge *c = arg;
	struct gossip *g = c->g;

	/* Joining: what happened before we arrived is history (Serf's
	 * default), unless the config asks for a replay. */
	if (c->join && !g->cfg.event_replay_on_join && ltime > g->ev_min)
		g->ev_min = ltime;
	if (ltime > g->ev_clock)
		g->ev_clock = ltime;
}

static void gpp_merge_member(void *arg, const struct gw_pp_rec *r)
{
	struct gossip *g = ((struct gpp_merge *)arg)->g;
	struct gw_str self = { (const uint8_t *)g->self->name, g->self->name_len };

	switch (r->state) {
	case GOSSIP_ALIVE:
		gm_on_alive(g, r->inc, &r->addr, &r->name, &r->meta);
		break;
	case GOSSIP_LEFT:
		gm_on_dead(g, r->inc, &r->name, &r->name);
		break;
	default:
		gm_on_suspect(g, r->inc, &r->name, &self);
		break;
	}
}

static void gpp_merge_event(void *arg, const struct gw_msg *m)
{
	ge_on_event(((struct gpp_merge *)arg)->g, m);
}

/* Open (if sealed), check, and return the plain stream in *plain (to be
 * freed with *owned). Keyed members refuse plain streams. */
static int gpp_open(struct gossip *g, const uint8_t *buf, size_t len, const uint8_t **plain,
		    size_t *plen, uint8_t **owned)
{
	int r;

	*owned = NULL;
	if (!len)
		return -EBADMSG;
	if (!g->keys.n && buf[0] != GW_SEALED_STREAM) {
		*plain = buf;
		*plen = len;
		return 0;
	}
	r = gk_open_stream(&g->keys, buf, len, owned, plen);
	if (r) {
		g->stats.auth_failures++;
		return r;
	}
	*plain = *owned;
	return 0;
}

static int gpp_merge(struct gossip *g, const uint8_t *body, size_t len, bool join)
{
	struct gpp_merge c = { .g = g, .join = join };
	struct gw_pp_fns fns = { gpp_merge_hdr, gpp_merge_member, gpp_merge_event, &c };
	int r = gw_pp_parse(body, len, &fns);

	if (r)
		g->stats.malformed++;
	else
		g->stats.pushpulls++;
	return r;
}

/* ---- requests we send ---- */

static uint32_t gpp_interval(const struct gossip *g)
{
	uint32_t bits = 0, mult = 1;
	size_t n = g->nmem;

	/* memberlist: x (ceil(log2 n) - 5 + 1) above 32 members */
	if (n > 32) {
		while ((1ull << bits) < n)
			bits++;
		mult = bits - 4;
	}
	return g->cfg.pushpull_interval_ms * mult;
}

/* Seal (when keyed) and hand one request to the transport. */
static int gpp_request(struct gossip *g, const struct gossip_addr *to, enum gstream_kind kind,
		       uint32_t seq, struct gw_buf *b)
{
	uint8_t *sealed = NULL;
	const uint8_t *out = b->p;
	size_t len = b->len;
	struct gstream *s;
	int r;

	if (g->nstream == GSTREAMS_MAX)
		return -EBUSY;
	if (g->keys.n) {
		r = gk_seal_stream(&g->keys, b->p, b->len, &sealed, &len);
		if (r)
			return r;
		out = sealed;
	}
	s = &g->stream[g->nstream++];
	*s = (struct gstream){ .token = ++g->stream_token, .kind = kind, .seq = seq,
			       .deadline_ms = g->now + g->cfg.stream_timeout_ms };
	g->stats.streams_out++;
	r = g->io.stream(g->io.ctx, to, out, len, s->token);
	free(sealed);
	if (r < 0)
		g->nstream--;
	return r < 0 ? r : 0;
}

static int gpp_pushpull(struct gossip *g, const struct gossip_addr *to, bool join)
{
	struct gw_buf b;
	int r;

	r = gpp_encode(g, join ? GW_PP_JOIN : 0, &b);
	if (r)
		return r;
	r = gpp_request(g, to, join ? GSTREAM_JOIN : GSTREAM_PUSHPULL, 0, &b);
	free(b.p);
	return r;
}

int gpp_tcp_ping(struct gossip *g, const struct gossip_addr *to, const char *target,
		 uint32_t seq)
{
	uint8_t buf[sizeof(struct gw_stream_hdr) + sizeof(struct gw_msg_hdr) +
		    sizeof(struct gw_ping) + GOSSIP_NAME_MAX];
	struct gw_buf b = { .p = buf, .cap = sizeof(buf) };

	if (gw_stream_begin(&b, GW_PING, 0) || gw_put_ping(&b, seq, target, g->self->name))
		return -EINVAL;
	gw_stream_end(&b);
	return gpp_request(g, to, GSTREAM_PING, seq, &b);
}

/* At most one such sync a second: a storm of joins must not become a
 * storm of full-state exchanges. */
void gpp_sync_unknown(struct gossip *g, const struct gossip_addr *to)
{
	if (g->leaving || g->now < g->t_sync_unknown)
		return;
	g->t_sync_unknown = g->now + 1000;
	gpp_pushpull(g, to, false);
}

/* ---- join ---- */

static void gpp_join_attempt(struct gossip *g)
{
	size_t i;

	g->join_pending = 0;
	for (i = 0; i < g->nseeds; i++)
		if (!gpp_pushpull(g, &g->seeds[i], true))
			g->join_pending++;
	if (!g->join_pending)
		g->t_join = g->now + g->join_backoff_ms;
}

static void gpp_join_result(struct gossip *g, bool ok)
{
	if (!g->joining)
		return;
	if (ok) {
		g->joining = false;
		g->t_join = UINT64_MAX;
		return;
	}
	if (g->join_pending && --g->join_pending)
		return;
	g->t_join = g->now + g->join_backoff_ms;
	g->join_backoff_ms *= 2;
	if (g->join_backoff_ms > GJOIN_RETRY_MAX_MS)
		g->join_backoff_ms = GJOIN_RETRY_MAX_MS;
}

int gpp_join(struct gossip *g, const struct gossip_addr *seeds, size_t n)
{
	size_t i;

	if (n > GJOIN_SEEDS_MAX)
		return -EINVAL;
	g->nseeds = 0;
	for (i = 0; i < n; i++)
		if (!g_addr_eq(&seeds[i], &g->self->addr))
			g->seeds[g->nseeds++] = seeds[i];
	if (!g->nseeds)
		return 0;	/* the first member: nobody to join */
	g->joining = true;
	g->join_backoff_ms = g->cfg.join_retry_ms;
	gpp_join_attempt(g);
	return 0;
}

/* ---- timers ---- */

static bool gpp_peer_ok(struct gossip *g, const struct gmember *m, const void *arg)
{
	return m->state == GOSSIP_ALIVE;
}

static void gpp_expire(struct gossip *g)
{
	size_t i = 0;
	enum gstream_kind kind;

	while (i < g->nstream) {
		if (g->stream[i].deadline_ms > g->now) {
			i++;
			continue;
		}
		kind = g->stream[i].kind;
		g->stream[i] = g->stream[--g->nstream];
		if (kind == GSTREAM_JOIN)
			gpp_join_result(g, false);
	}
}

void gpp_tick(struct gossip *g)
{
	struct gmember *peer;
	struct gfailed f;

	gpp_expire(g);
	if (g->joining && g->now >= g->t_join) {
		g->t_join = UINT64_MAX;
		gpp_join_attempt(g);
	}
	if (g->leaving)
		return;
	if (g->now >= g->t_pushpull) {
		g->t_pushpull = g->now + gpp_interval(g);
		if (gm_random(g, 1, gpp_peer_ok, NULL, &peer))
			gpp_pushpull(g, &peer->addr, false);
	}
	if (g->now >= g->t_reconnect) {
		g->t_reconnect = g->now + g->cfg.reconnect_interval_ms;
		if (gm_failed_pick(g, &f))
			gpp_pushpull(g, &f.addr, false);
	}
}

uint64_t gpp_next(const struct gossip *g)
{
	uint64_t t = UINT64_MAX;
	size_t i;

	for (i = 0; i < g->nstream; i++)
		if (g->stream[i].deadline_ms < t)
			t = g->stream[i].deadline_ms;
	if (g->joining && g->t_join < t)
		t = g->t_join;
	if (g->leaving)
		return t;
	if (g->t_pushpull < t)
		t = g->t_pushpull;
	if (g->t_reconnect < t)
		t = g->t_reconnect;
	return t;
}

/* ---- the serving side ---- */

/* The single message in a stream body of type GW_PING or GW_ACK. */
static int gpp_one_msg(const uint8_t *body, size_t len, uint8_t type, struct gw_msg *m)
{
	struct gw_msg_hdr h;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, body, sizeof(h));
	if (h.type != type || (size_t)be16toh(h.len) != len - sizeof(h))
		return -EBADMSG;
	return gw_msg_decode(type, body + sizeof(h), len - sizeof(h), m);
}

static int gpp_answer(struct gossip *g, struct gw_buf *b, void **resp, size_t *resp_len)
{
	uint8_t *sealed;
	size_t len;
	int r;

	if (!g->keys.n) {
		*resp = b->p;
		*resp_len = b->len;
		return 0;
	}
	r = gk_seal_stream(&g->keys, b->p, b->len, &sealed, &len);
	free(b->p);
	if (r)
		return r;
	*resp = sealed;
	*resp_len = len;
	return 0;
}

static int gpp_serve_ping(struct gossip *g, const uint8_t *body, size_t len, void **resp,
			  size_t *resp_len)
{
	struct gw_buf b = { .grow = true, .max = 64 };
	struct gw_msg m;
	int r;

	r = gpp_one_msg(body, len, GW_PING, &m);
	if (r)
		return r;
	if (!g_str_eq(&m.ping.target, g->self->name))
		return -ENOENT;
	r = gw_stream_begin(&b, GW_ACK, 0);
	if (!r)
		r = gw_put_ack(&b, GW_ACK, m.ping.seq);
	if (r) {
		free(b.p);
		return -ENOMEM;
	}
	gw_stream_end(&b);
	return gpp_answer(g, &b, resp, resp_len);
}

int gpp_serve(struct gossip *g, const struct gossip_addr *from, const uint8_t *req,
	      size_t len, void **resp, size_t *resp_len)
{
	const uint8_t *plain, *body;
	struct gw_stream_hdr h;
	struct gw_buf b;
	uint8_t *owned;
	size_t plen;
	int r;

	g->stats.streams_in++;
	r = gpp_open(g, req, len, &plain, &plen, &owned);
	if (r)
		return r;
	r = gw_stream_parse(plain, plen, &h, &body);
	if (r)
		goto out;
	if (h.type == GW_PING) {
		r = gpp_serve_ping(g, body, h.len, resp, resp_len);
		goto out;
	}
	r = -EPROTO;
	if (h.type != GW_PUSHPULL || (h.flags & GW_PP_ANSWER))
		goto out;
	r = gpp_merge(g, body, h.len, false);
	if (r)
		goto out;
	r = gpp_encode(g, GW_PP_ANSWER, &b);
	if (!r)
		r = gpp_answer(g, &b, resp, resp_len);
out:
	free(owned);
	return r;
}

/* ---- answers to our requests ---- */

static int gpp_answer_in(struct gossip *g, const struct gstream *s, const uint8_t *buf,
			 size_t len)
{
	const uint8_t *plain, *body;
	struct gw_stream_hdr h;
	struct gw_msg m;
	uint8_t *owned;
	size_t plen;
	int r;

	r = gpp_open(g, buf, len, &plain, &plen, &owned);
	if (r)
		return r;
	r = gw_stream_parse(plain, plen, &h, &body);
	if (r)
		goto out;
	if (s->kind == GSTREAM_PING) {
		r = h.type == GW_ACK ? gpp_one_msg(body, h.len, GW_ACK, &m) : -EPROTO;
		if (!r)
			gp_on_tcp_ack(g, m.ack.seq);
		goto out;
	}
	r = -EPROTO;
	if (h.type == GW_PUSHPULL && (h.flags & GW_PP_ANSWER))
		r = gpp_merge(g, body, h.len, s->kind == GSTREAM_JOIN);
out:
	free(owned);
	return r;
}

void gpp_done(struct gossip *g, uint64_t token, int status, const uint8_t *buf, size_t len)
{
	struct gstream s;
	size_t i;

	for (i = 0; i < g->nstream && g->stream[i].token != token; i++)
		;
	if (i == g->nstream)
		return;	/* timed out already */
	s = g->stream[i];
	g->stream[i] = g->stream[--g->nstream];
	if (!status)
		status = gpp_answer_in(g, &s, buf, len);
	if (s.kind == GSTREAM_JOIN)
		gpp_join_result(g, !status);
}
