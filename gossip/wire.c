/* wire.c: encode and decode the gossip wire format (wire.h). Pure functions:
 * no state, no allocation except a growing gw_buf.
 *
 * Decoding follows one rule: a per-type want-table gives the fixed size,
 * the decoder checks fixed + variable lengths == body length before it reads
 * a field, and a packet is validated whole before any message is handed on.
 * Lengths must match exactly: a later version that needs more fields bumps
 * GW_VERSION rather than relying on trailing bytes.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wire.h"

/* ---- output buffer ---- */

static uint8_t *gw_claim(struct gw_buf *b, size_t n)
{
	uint8_t *p;
	size_t cap;

	if (b->len + n > b->cap) {
		if (!b->grow || b->len + n > b->max)
			return NULL;
		cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		p = realloc(b->p, cap);
		if (!p)
			return NULL;
		b->p = p;
		b->cap = cap;
	}
	p = b->p + b->len;
	b->len += n;
	return p;
}

int gw_put(struct gw_buf *b, const void *data, size_t len)
{
	uint8_t *p = gw_claim(b, len);

	if (!p)
		return -ENOSPC;
	memcpy(p, data, len);
	return 0;
}

/* Claim room for a message header plus body_len bytes; the header is filled
 * and the body pointer returned. */
static uint8_t *gw_claim_msg(struct gw_buf *b, uint8_t type, uint8_t flags, size_t body_len)
{
	struct gw_msg_hdr h = { .type = type, .flags = flags, .len = htobe16(body_len) };
	uint8_t *p;

	if (body_len > UINT16_MAX)
		return NULL;
	p = gw_claim(b, sizeof(h) + body_len);
	if (!p)
		return NULL;
	memcpy(p, &h, sizeof(h));
	return p + sizeof(h);
}

static void gw_addr_to_wire(struct gw_addr *w, const struct gossip_addr *a)
{
	memset(w, 0, sizeof(*w));
	w->family = a->family == AF_INET6 ? 6 : 4;
	w->port = htobe16(a->port);
	memcpy(w->ip, a->ip, a->family == AF_INET6 ? 16 : 4);
}

static int gw_addr_from_wire(struct gossip_addr *a, const struct gw_addr *w)
{
	memset(a, 0, sizeof(*a));
	if (w->family == 4) {
		a->family = AF_INET;
		memcpy(a->ip, w->ip, 4);
	} else if (w->family == 6) {
		a->family = AF_INET6;
		memcpy(a->ip, w->ip, 16);
	} else {
		return -EBADMSG;
	}
	a->port = be16toh(w->port);
	return 0;
}

bool gw_name_ok(const uint8_t *s, size_t len)
{
	return len >= 1 && len <= GOSSIP_NAME_MAX && !memchr(s, 0, len);
}

void gw_str_copy(char *dst, const struct gw_str *s)
{
	size_t n = s->len > GOSSIP_NAME_MAX ? GOSSIP_NAME_MAX : s->len;

	memcpy(dst, s->p, n);
	dst[n] = 0;
}

static size_t gw_name_len(const char *name)
{
	size_t n = strnlen(name, GOSSIP_NAME_MAX + 1);

	return n >= 1 && n <= GOSSIP_NAME_MAX ? n : 0;
}

/* ---- encoders ---- */

int gw_put_ping(struct gw_buf *b, uint32_t seq, const char *target, const char *from)
{
	size_t nl = gw_name_len(target), fl = gw_name_len(from);
	struct gw_ping h = { .seq = htobe32(seq), .name_len = nl, .from_len = fl };
	uint8_t *p;

	if (!nl || !fl)
		return -EINVAL;
	p = gw_claim_msg(b, GW_PING, 0, sizeof(h) + nl + fl);
	if (!p)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), target, nl);
	memcpy(p + sizeof(h) + nl, from, fl);
	return 0;
}

int gw_put_iping(struct gw_buf *b, uint32_t seq, bool nack, const struct gossip_addr *addr,
		 const char *target)
{
	size_t nl = gw_name_len(target);
	struct gw_iping h = { .seq = htobe32(seq), .flags = nack ? GW_IPING_NACK : 0,
			      .name_len = nl };
	uint8_t *p;

	if (!nl)
		return -EINVAL;
	gw_addr_to_wire(&h.target, addr);
	p = gw_claim_msg(b, GW_INDIRECT_PING, 0, sizeof(h) + nl);
	if (!p)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), target, nl);
	return 0;
}

int gw_put_ack(struct gw_buf *b, uint8_t type, uint32_t seq)
{
	struct gw_ack h = { .seq = htobe32(seq) };
	uint8_t *p;

	if (type != GW_ACK && type != GW_NACK)
		return -EINVAL;
	p = gw_claim_msg(b, type, 0, sizeof(h));
	if (!p)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	return 0;
}

int gw_put_alive(struct gw_buf *b, uint32_t inc, const struct gossip_addr *addr,
		 const char *name, const uint8_t *meta, size_t meta_len)
{
	size_t nl = gw_name_len(name);
	struct gw_alive h = { .incarnation = htobe32(inc), .name_len = nl,
			      .meta_len = htobe16(meta_len) };
	uint8_t *p;

	if (!nl || meta_len > GOSSIP_META_MAX)
		return -EINVAL;
	gw_addr_to_wire(&h.addr, addr);
	p = gw_claim_msg(b, GW_ALIVE, 0, sizeof(h) + nl + meta_len);
	if (!p)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), name, nl);
	if (meta_len)
		memcpy(p + sizeof(h) + nl, meta, meta_len);
	return 0;
}

int gw_put_suspect(struct gw_buf *b, uint8_t type, uint32_t inc, const char *name,
		   const char *from)
{
	size_t nl = gw_name_len(name), fl = gw_name_len(from);
	struct gw_suspect h = { .incarnation = htobe32(inc), .name_len = nl, .from_len = fl };
	uint8_t *p;

	if (!nl || !fl || (type != GW_SUSPECT && type != GW_DEAD))
		return -EINVAL;
	p = gw_claim_msg(b, type, 0, sizeof(h) + nl + fl);
	if (!p)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), name, nl);
	memcpy(p + sizeof(h) + nl, from, fl);
	return 0;
}

int gw_put_event(struct gw_buf *b, uint64_t ltime, const char *name, size_t name_len,
		 const void *payload, size_t len)
{
	struct gw_event h = { .ltime = htobe64(ltime), .name_len = name_len,
			      .payload_len = htobe16(len) };
	uint8_t *p;

	if (!gw_name_ok((const uint8_t *)name, name_len) || name_len + len > GOSSIP_EVENT_MAX)
		return -EINVAL;
	p = gw_claim_msg(b, GW_EVENT, 0, sizeof(h) + name_len + len);
	if (!p)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), name, name_len);
	if (len)
		memcpy(p + sizeof(h) + name_len, payload, len);
	return 0;
}

int gw_pkt_begin(struct gw_buf *b)
{
	struct gw_pkt_hdr h = { .version = GW_VERSION };

	b->len = 0;
	return gw_put(b, &h, sizeof(h));
}

int gw_pkt_add(struct gw_buf *b, const void *msg, size_t len)
{
	if (b->len < sizeof(struct gw_pkt_hdr) || b->p[1] >= GW_MSGS_MAX)
		return -ENOSPC;
	if (gw_put(b, msg, len))
		return -ENOSPC;
	b->p[1]++;
	return 0;
}

/* ---- decoders: one per type, called with len >= the fixed size ---- */

/* The two names after a fixed header hl bytes long (ping: target and
 * sender; suspect: suspect and accuser): they must fill the message exactly
 * and both be valid names. */
static int dec_two_names(const uint8_t *q, size_t len, size_t hl, uint8_t nl, uint8_t fl,
			 struct gw_str *name, struct gw_str *from)
{
	const uint8_t *n = q + hl, *f = n + nl;

	if (hl + nl + fl != len || !gw_name_ok(n, nl) || !gw_name_ok(f, fl))
		return -EBADMSG;
	*name = (struct gw_str){ n, nl };
	*from = (struct gw_str){ f, fl };
	return 0;
}

static int dec_ping(const uint8_t *q, size_t len, struct gw_msg *m)
{
	struct gw_ping h;

	memcpy(&h, q, sizeof(h));
	m->ping.seq = be32toh(h.seq);
	return dec_two_names(q, len, sizeof(h), h.name_len, h.from_len, &m->ping.target,
			     &m->ping.from);
}

static int dec_iping(const uint8_t *q, size_t len, struct gw_msg *m)
{
	struct gw_iping h;

	memcpy(&h, q, sizeof(h));
	if (sizeof(h) + h.name_len != len || !gw_name_ok(q + sizeof(h), h.name_len))
		return -EBADMSG;
	if (gw_addr_from_wire(&m->iping.addr, &h.target))
		return -EBADMSG;
	m->iping.seq = be32toh(h.seq);
	m->iping.nack = h.flags & GW_IPING_NACK;
	m->iping.target = (struct gw_str){ q + sizeof(h), h.name_len };
	return 0;
}

static int dec_ack(const uint8_t *q, size_t len, struct gw_msg *m)
{
	struct gw_ack h;

	if (len != sizeof(h))
		return -EBADMSG;
	memcpy(&h, q, sizeof(h));
	m->ack.seq = be32toh(h.seq);
	return 0;
}

static int dec_alive(const uint8_t *q, size_t len, struct gw_msg *m)
{
	struct gw_alive h;
	size_t ml;

	memcpy(&h, q, sizeof(h));
	ml = be16toh(h.meta_len);
	if (sizeof(h) + h.name_len + ml != len || ml > GOSSIP_META_MAX ||
	    !gw_name_ok(q + sizeof(h), h.name_len))
		return -EBADMSG;
	if (gw_addr_from_wire(&m->alive.addr, &h.addr))
		return -EBADMSG;
	m->alive.inc = be32toh(h.incarnation);
	m->alive.name = (struct gw_str){ q + sizeof(h), h.name_len };
	m->alive.meta = (struct gw_str){ q + sizeof(h) + h.name_len, ml };
	return 0;
}

static int dec_suspect(const uint8_t *q, size_t len, struct gw_msg *m)
{
	struct gw_suspect h;

	memcpy(&h, q, sizeof(h));
	m->suspect.inc = be32toh(h.incarnation);
	return dec_two_names(q, len, sizeof(h), h.name_len, h.from_len, &m->suspect.name,
			     &m->suspect.from);
}

static int dec_event(const uint8_t *q, size_t len, struct gw_msg *m)
{
	struct gw_event h;
	size_t pl;

	memcpy(&h, q, sizeof(h));
	pl = be16toh(h.payload_len);
	if (sizeof(h) + h.name_len + pl != len || h.name_len + pl > GOSSIP_EVENT_MAX ||
	    !gw_name_ok(q + sizeof(h), h.name_len))
		return -EBADMSG;
	m->event.ltime = be64toh(h.ltime);
	m->event.name = (struct gw_str){ q + sizeof(h), h.name_len };
	m->event.payload = (struct gw_str){ q + sizeof(h) + h.name_len, pl };
	return 0;
}

static const struct gw_want {
	size_t fixed;
	int (*dec)(const uint8_t *q, size_t len, struct gw_msg *m);
} gw_want[GW_TYPE_MAX] = {
	[GW_PING]		= { sizeof(struct gw_ping), dec_ping },
	[GW_INDIRECT_PING]	= { sizeof(struct gw_iping), dec_iping },
	[GW_ACK]		= { sizeof(struct gw_ack), dec_ack },
	[GW_NACK]		= { sizeof(struct gw_ack), dec_ack },
	[GW_ALIVE]		= { sizeof(struct gw_alive), dec_alive },
	[GW_SUSPECT]		= { sizeof(struct gw_suspect), dec_suspect },
	[GW_DEAD]		= { sizeof(struct gw_suspect), dec_suspect },
	[GW_EVENT]		= { sizeof(struct gw_event), dec_event },
};

int gw_msg_decode(uint8_t type, const uint8_t *body, size_t len, struct gw_msg *m)
{
	const struct gw_want *w;

	if (type >= GW_TYPE_MAX || !gw_want[type].dec)
		return -ENOENT;
	w = &gw_want[type];
	if (len < w->fixed)
		return -EBADMSG;
	memset(m, 0, sizeof(*m));
	m->type = type;
	return w->dec(body, len, m);
}

/* Walk the messages of a packet; with fn NULL only validate. */
static int gw_pkt_walk(const uint8_t *buf, size_t len, gw_msg_fn fn, void *arg)
{
	struct gw_pkt_hdr ph;
	struct gw_msg_hdr mh;
	struct gw_msg m;
	size_t off = sizeof(ph), blen;
	unsigned i;
	int r;

	memcpy(&ph, buf, sizeof(ph));
	for (i = 0; i < ph.count; i++) {
		if (len - off < sizeof(mh))
			return -EBADMSG;
		memcpy(&mh, buf + off, sizeof(mh));
		off += sizeof(mh);
		blen = be16toh(mh.len);
		if (len - off < blen)
			return -EBADMSG;
		r = gw_msg_decode(mh.type, buf + off, blen, &m);
		off += blen;
		if (r == -ENOENT)
			continue;
		if (r)
			return r;
		if (fn && fn(arg, &m))
			return 0;
	}
	return off == len ? 0 : -EBADMSG;
}

int gw_pkt_parse(const uint8_t *buf, size_t len, gw_msg_fn fn, void *arg)
{
	int r;

	if (len < sizeof(struct gw_pkt_hdr))
		return -EBADMSG;
	if (buf[0] != GW_VERSION)
		return -EPROTO;
	r = gw_pkt_walk(buf, len, NULL, NULL);
	if (r || !fn)
		return r;
	return gw_pkt_walk(buf, len, fn, arg);
}

/* ---- streams ---- */

int gw_stream_begin(struct gw_buf *b, uint8_t type, uint8_t flags)
{
	struct gw_stream_hdr h = { .version = GW_VERSION, .type = type, .flags = flags };

	b->len = 0;
	return gw_put(b, &h, sizeof(h));
}

void gw_stream_end(struct gw_buf *b)
{
	uint32_t n = htobe32(b->len - sizeof(struct gw_stream_hdr));

	memcpy(b->p + offsetof(struct gw_stream_hdr, len), &n, sizeof(n));
}

int gw_stream_parse(const uint8_t *buf, size_t len, struct gw_stream_hdr *h,
		    const uint8_t **body)
{
	if (len < sizeof(*h) || len > GW_STREAM_MAX)
		return -EBADMSG;
	memcpy(h, buf, sizeof(*h));
	if (h->version != GW_VERSION)
		return -EPROTO;
	h->len = be32toh(h->len);
	if (h->len != len - sizeof(*h))
		return -EBADMSG;
	*body = buf + sizeof(*h);
	return 0;
}

long gw_frame_len(const uint8_t *buf, size_t have)
{
	size_t hdr = 0, off = 0;
	uint32_t n;

	if (!have)
		return 0;
	if (buf[0] == GW_SEALED_STREAM)
		hdr = 5, off = 1;
	else if (buf[0] == GW_VERSION)
		hdr = sizeof(struct gw_stream_hdr), off = offsetof(struct gw_stream_hdr, len);
	else
		return -EBADMSG;
	if (have < hdr)
		return 0;
	memcpy(&n, buf + off, sizeof(n));
	n = be32toh(n);
	/* room for the AEAD envelope around a maximal stream */
	if (n > GW_STREAM_MAX + 64)
		return -EMSGSIZE;
	return hdr + n;
}

int gw_pp_put_hdr(struct gw_buf *b, uint32_t members, uint32_t events, uint64_t ltime)
{
	struct gw_pp_hdr h = { .members = htobe32(members), .events = htobe32(events),
			       .event_ltime = htobe64(ltime) };

	return gw_put(b, &h, sizeof(h));
}

int gw_pp_put_member(struct gw_buf *b, const struct gw_pp_rec *r)
{
	struct gw_pp_member h = { .state = r->state, .name_len = r->name.len,
				  .meta_len = htobe16(r->meta.len),
				  .incarnation = htobe32(r->inc) };
	uint8_t *p;

	if (!gw_name_ok(r->name.p, r->name.len) || r->meta.len > GOSSIP_META_MAX)
		return -EINVAL;
	gw_addr_to_wire(&h.addr, &r->addr);
	p = gw_claim(b, sizeof(h) + r->name.len + r->meta.len);
	if (!p)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), r->name.p, r->name.len);
	if (r->meta.len)
		memcpy(p + sizeof(h) + r->name.len, r->meta.p, r->meta.len);
	return 0;
}

static int gw_pp_member_dec(const uint8_t *q, size_t left, struct gw_pp_rec *r,
			    size_t *used)
{
	struct gw_pp_member h;
	size_t ml;

	if (left < sizeof(h))
		return -EBADMSG;
	memcpy(&h, q, sizeof(h));
	ml = be16toh(h.meta_len);
	if (left - sizeof(h) < (size_t)h.name_len + ml || ml > GOSSIP_META_MAX ||
	    h.state > GOSSIP_LEFT || !gw_name_ok(q + sizeof(h), h.name_len))
		return -EBADMSG;
	if (gw_addr_from_wire(&r->addr, &h.addr))
		return -EBADMSG;
	r->state = h.state;
	r->inc = be32toh(h.incarnation);
	r->name = (struct gw_str){ q + sizeof(h), h.name_len };
	r->meta = (struct gw_str){ q + sizeof(h) + h.name_len, ml };
	*used = sizeof(h) + h.name_len + ml;
	return 0;
}

static int gw_pp_event_dec(const uint8_t *q, size_t left, struct gw_msg *m, size_t *used)
{
	struct gw_msg_hdr mh;
	size_t blen;

	if (left < sizeof(mh))
		return -EBADMSG;
	memcpy(&mh, q, sizeof(mh));
	blen = be16toh(mh.len);
	if (mh.type != GW_EVENT || left - sizeof(mh) < blen)
		return -EBADMSG;
	*used = sizeof(mh) + blen;
	return gw_msg_decode(GW_EVENT, q + sizeof(mh), blen, m);
}

static int gw_pp_walk(const uint8_t *body, size_t len, const struct gw_pp_fns *fns)
{
	struct gw_pp_hdr h;
	struct gw_pp_rec r;
	struct gw_msg m;
	size_t off = sizeof(h), used;
	uint32_t i, nm, ne;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, body, sizeof(h));
	nm = be32toh(h.members);
	ne = be32toh(h.events);
	/* Cheap bound before walking: every record has its fixed part. */
	if ((uint64_t)nm * sizeof(struct gw_pp_member) +
	    (uint64_t)ne * (sizeof(struct gw_msg_hdr) + sizeof(struct gw_event)) > len - off)
		return -EBADMSG;
	if (fns && fns->hdr)
		fns->hdr(fns->arg, be64toh(h.event_ltime));
	for (i = 0; i < nm; i++, off += used) {
		if (gw_pp_member_dec(body + off, len - off, &r, &used))
			return -EBADMSG;
		if (fns && fns->member)
			fns->member(fns->arg, &r);
	}
	for (i = 0; i < ne; i++, off += used) {
		if (gw_pp_event_dec(body + off, len - off, &m, &used))
			return -EBADMSG;
		if (fns && fns->event)
			fns->event(fns->arg, &m);
	}
	return off == len ? 0 : -EBADMSG;
}

int gw_pp_parse(const uint8_t *body, size_t len, const struct gw_pp_fns *fns)
{
	int r = gw_pp_walk(body, len, NULL);

	if (r || !fns)
		return r;
	return gw_pp_walk(body, len, fns);
}
