/* codec.c: DNS wire format. Parses queries and upstream replies (RFC 1035
 * header, one question per RFC 9619, the EDNS(0) OPT record of RFC 6891) and
 * builds replies with name compression.
 *
 * Pure: no I/O, no allocation; every buffer is the caller's. Every length is
 * checked before the bytes are read; a malformed message gives an error code,
 * never a partial read past the end.
 *
 * Does not: decode RDATA of records it only walks (upstream replies are
 * relayed as they are); accept compression pointers in a question (nothing
 * precedes it for them to point at); follow pointers while walking records
 * (it checks they point backward, at a name after the header) - only
 * dns_name_read follows them, with bounded hops.
 */
#include <errno.h>
#include <string.h>

#include "dns_int.h"

#define PTR_MASK 0xc0
#define MAX_HOPS 32

bool dns_name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (dns_lower(a[i]) != dns_lower(b[i]))
			return false;
	return true;
}

int dns_name_from_text(const char *s, uint8_t *wire, size_t cap)
{
	size_t n = 0;
	const char *p = s;

	if (strcmp(s, ".") == 0)
		p = "";
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > DNS_LABEL_MAX || n + l + 2 > DNS_NAME_MAX || n + l + 2 > cap)
			return -EINVAL;	/* empty label ("a..b", ".a"), too long */
		wire[n++] = (uint8_t)l;
		memcpy(wire + n, p, l);
		n += l;
		p = dot ? dot + 1 : p + l;
	}
	if (n + 1 > cap)
		return -EINVAL;
	wire[n++] = 0;
	return (int)n;
}

int dns_name_to_text(const uint8_t *wire, size_t len, char *buf, size_t cap)
{
	size_t o = 0, i = 0;

	if (cap < 2)
		return -ENOSPC;
	while (i < len && wire[i]) {
		size_t l = wire[i];

		if (i + 1 + l > len || o + l + 2 > cap)
			return -ENOSPC;
		memcpy(buf + o, wire + i + 1, l);
		o += l;
		buf[o++] = '.';
		i += l + 1;
	}
	if (o == 0)
		buf[o++] = '.';
	buf[o] = '\0';
	return (int)o;
}

int dns_name_read(const uint8_t *pkt, size_t len, size_t off, uint8_t out[DNS_NAME_MAX],
		  size_t *next)
{
	size_t n = 0, lim = off, hops = 0;
	bool jumped = false;

	for (;;) {
		uint8_t c;

		if (off >= len)
			return -EBADMSG;
		c = pkt[off];
		if ((c & PTR_MASK) == PTR_MASK) {
			size_t to;

			if (off + 1 >= len)
				return -EBADMSG;
			to = (size_t)(c & 0x3f) << 8 | pkt[off + 1];
			/* strictly backward from the last jump: loops are impossible,
			 * and the hop bound caps the work anyway */
			if (to < DNS_HDR_LEN || to >= lim || ++hops > MAX_HOPS)
				return -EBADMSG;
			if (!jumped && next)
				*next = off + 2;
			jumped = true;
			lim = to;
			off = to;
			continue;
		}
		if (c & PTR_MASK)
			return -EBADMSG;	/* 0x40/0x80 label types: obsolete */
		if (n + 1 + c > DNS_NAME_MAX || off + 1 + c > len)
			return -EBADMSG;
		out[n++] = c;
		if (c == 0)
			break;
		memcpy(out + n, pkt + off + 1, c);
		n += c;
		off += 1 + c;
	}
	if (!jumped && next)
		*next = off + 1;
	return (int)n;
}

/* Skip the name starting at off without following pointers. */
static int name_skip(const uint8_t *pkt, size_t len, size_t off, size_t *next)
{
	size_t start = off, n = 0;

	for (;;) {
		uint8_t c;

		if (off >= len)
			return -EBADMSG;
		c = pkt[off];
		if ((c & PTR_MASK) == PTR_MASK) {
			size_t to;

			if (off + 1 >= len)
				return -EBADMSG;
			to = (size_t)(c & 0x3f) << 8 | pkt[off + 1];
			if (to < DNS_HDR_LEN || to >= start)
				return -EBADMSG;
			*next = off + 2;
			return 0;
		}
		if (c & PTR_MASK)
			return -EBADMSG;
		n += 1 + c;
		if (n > DNS_NAME_MAX || off + 1 + c > len)
			return -EBADMSG;
		if (c == 0) {
			*next = off + 1;
			return 0;
		}
		off += 1 + c;
	}
}

/* The question name: labels only, no pointers. */
static int qname_read(const uint8_t *pkt, size_t len, size_t off, struct dns_query *q)
{
	size_t n = 0;

	for (;;) {
		uint8_t c;

		if (off >= len)
			return -EBADMSG;
		c = pkt[off];
		if (c & PTR_MASK)
			return -EBADMSG;
		if (n + 1 + c > DNS_NAME_MAX || off + 1 + c > len)
			return -EBADMSG;
		memcpy(q->qname + n, pkt + off, 1 + c);
		n += 1 + c;
		off += 1 + c;
		if (c == 0)
			break;
	}
	q->qname_len = (uint16_t)n;
	return (int)off;
}

/* EDNS options: each a 4-byte header and its data, exactly filling rdata.
 * Unknown options are ignored (RFC 6891 6.1.2), only their framing counts. */
static int opt_options_check(const uint8_t *p, size_t rdlen)
{
	size_t o = 0;

	while (o < rdlen) {
		if (rdlen - o < 4)
			return -EBADMSG;
		o += 4 + dns_rd16(p + o + 2);
		if (o > rdlen)
			return -EBADMSG;
	}
	return 0;
}

static int opt_read(const uint8_t *pkt, size_t name_off, size_t f, uint16_t rdlen,
		    struct dns_query *q)
{
	uint32_t ttl = (uint32_t)dns_rd16(pkt + f + 4) << 16 | dns_rd16(pkt + f + 6);
	uint16_t size = dns_rd16(pkt + f + 2);

	if (q->has_opt || pkt[name_off] != 0 || f != name_off + 1)
		return -EBADMSG;	/* two OPTs, or an owner other than root */
	if (opt_options_check(pkt + f + 10, rdlen) < 0)
		return -EBADMSG;
	q->has_opt = true;
	q->udp_size = size < DNS_UDP_MIN ? DNS_UDP_MIN : size;
	q->edns_version = (ttl >> 16) & 0xff;
	q->do_bit = ttl & 0x8000;
	q->opt_off = (uint16_t)name_off;
	return 0;
}

/* Walk every RR after the question; note the OPT (only in additional). */
static int rrs_walk(const uint8_t *pkt, size_t len, size_t off, struct dns_query *q)
{
	unsigned int total = q->ancount + q->nscount + q->arcount;
	unsigned int first_ar = q->ancount + q->nscount;

	for (unsigned int i = 0; i < total; i++) {
		size_t f, start = off;
		uint16_t type, rdlen;

		if (name_skip(pkt, len, off, &f) < 0 || len - f < 10)
			return -EBADMSG;
		type = dns_rd16(pkt + f);
		rdlen = dns_rd16(pkt + f + 8);
		if (len - f - 10 < rdlen)
			return -EBADMSG;
		if (type == DNS_T_OPT) {
			if (i < first_ar || opt_read(pkt, start, f, rdlen, q) < 0)
				return -EBADMSG;
			q->opt_idx = (uint16_t)(i - first_ar);
		}
		off = f + 10 + rdlen;
	}
	q->msg_len = (uint16_t)off;
	return 0;
}

static void header_read(const uint8_t *pkt, struct dns_query *q)
{
	q->id = dns_rd16(pkt);
	q->flags = dns_rd16(pkt + 2);
	q->ancount = dns_rd16(pkt + 6);
	q->nscount = dns_rd16(pkt + 8);
	q->arcount = dns_rd16(pkt + 10);
	q->qtype = 0;
	q->qclass = 0;
	q->qname_len = 0;
	q->has_opt = false;
	q->do_bit = false;
	q->edns_version = 0;
	q->udp_size = DNS_UDP_MIN;
	q->opt_off = 0;
	q->opt_idx = 0;
	q->msg_len = 0;
}

static int question_and_rrs(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	int off = qname_read(pkt, len, DNS_HDR_LEN, q);

	if (off < 0 || len - (size_t)off < 4) {
		q->qname_len = 0;
		return -EBADMSG;
	}
	q->qtype = dns_rd16(pkt + off);
	q->qclass = dns_rd16(pkt + off + 2);
	return rrs_walk(pkt, len, (size_t)off + 4, q);
}

int dns_query_parse(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return -EBADMSG;
	header_read(pkt, q);
	if (q->flags & DNS_F_QR)
		return -EBADMSG;	/* a response: answering could loop */
	if ((q->flags >> 11 & 0xf) != 0) {
		/* echo the question when there is a readable one */
		if (dns_rd16(pkt + 4) == 1)
			question_and_rrs(pkt, len, q);
		return DNS_R_NOTIMP;
	}
	if (dns_rd16(pkt + 4) != 1)
		return DNS_R_FORMERR;	/* RFC 9619: exactly one question */
	if (question_and_rrs(pkt, len, q) < 0)
		return DNS_R_FORMERR;
	if (q->has_opt && q->edns_version > 0)
		return DNS_R_BADVERS;
	if (q->qtype == DNS_T_OPT)
		return DNS_R_FORMERR;
	return 0;
}

int dns_reply_parse(const uint8_t *pkt, size_t len, struct dns_query *r)
{
	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return -EBADMSG;
	header_read(pkt, r);
	if (!(r->flags & DNS_F_QR) || dns_rd16(pkt + 4) != 1)
		return -EBADMSG;
	return question_and_rrs(pkt, len, r);
}

/* ------------------------------------------------------------ builder */
int dns_msg_start(struct dns_msg *m, uint8_t *buf, size_t limit, const struct dns_query *q,
		  uint16_t flags, int rcode)
{
	size_t need = DNS_HDR_LEN + (q->qname_len ? q->qname_len + 4u : 0);

	m->buf = buf;
	m->opt = q->has_opt;
	m->limit = limit > DNS_MSG_MAX ? DNS_MSG_MAX : limit;
	if (m->limit < DNS_HDR_LEN + DNS_OPT_LEN + DNS_EDE_LEN)
		return -ENOSPC;
	if (m->opt)
		m->limit -= DNS_OPT_LEN + DNS_EDE_LEN;
	if (need > m->limit)
		return -ENOSPC;
	memset(m->count, 0, sizeof(m->count));
	m->truncated = false;
	m->ndict = 0;
	dns_wr16(buf, q->id);
	/* the opcode is echoed (RFC 1035 4.1.1), whatever the caller passes */
	dns_wr16(buf + 2, DNS_F_QR | (q->flags & 0x7800) | (flags & ~0x780f) | (rcode & 0xf));
	dns_wr16(buf + 4, q->qname_len ? 1 : 0);
	memset(buf + 6, 0, 6);
	m->len = DNS_HDR_LEN;
	if (q->qname_len) {
		memcpy(buf + m->len, q->qname, q->qname_len);
		m->dict[m->ndict++] = DNS_QNAME_OFF;
		m->len += q->qname_len;
		dns_wr16(buf + m->len, q->qtype);
		dns_wr16(buf + m->len + 2, q->qclass);
		m->len += 4;
	}
	return 0;
}

static int rr_head(struct dns_msg *m, uint16_t owner, uint16_t type, uint32_t ttl,
		   size_t rdlen)
{
	uint8_t *p = m->buf + m->len;

	if (m->len + 12 + rdlen > m->limit)
		return -ENOSPC;
	dns_wr16(p, 0xc000 | owner);
	dns_wr16(p + 2, type);
	dns_wr16(p + 4, DNS_CLASS_IN);
	dns_wr32(p + 6, ttl);
	dns_wr16(p + 10, (uint16_t)rdlen);
	return 0;
}

static int rr_fail(struct dns_msg *m, enum dns_section sec)
{
	if (sec == DNS_SEC_AN)
		m->truncated = true;
	return -ENOSPC;
}

int dns_msg_rr(struct dns_msg *m, enum dns_section sec, uint16_t owner, uint16_t type,
	       uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	if (rr_head(m, owner, type, ttl, rdlen) < 0)
		return rr_fail(m, sec);
	memcpy(m->buf + m->len + 12, rdata, rdlen);
	m->len += 12 + rdlen;
	m->count[sec]++;
	return 0;
}

/* Does the name at message offset off (our own output, pointers allowed)
 * equal the wire name w (root label included)? */
static bool name_at_eq(const struct dns_msg *m, size_t off, const uint8_t *w)
{
	for (int hops = 0; hops < MAX_HOPS;) {
		uint8_t c = m->buf[off];

		if ((c & PTR_MASK) == PTR_MASK) {
			off = (size_t)(c & 0x3f) << 8 | m->buf[off + 1];
			hops++;
			continue;
		}
		if (c != *w)
			return false;
		if (c == 0)
			return true;
		for (int i = 1; i <= c; i++)
			if (dns_lower(m->buf[off + i]) != dns_lower(w[i]))
				return false;
		off += 1 + c;
		w += 1 + c;
	}
	return false;
}

static int dict_find(const struct dns_msg *m, const uint8_t *w)
{
	for (int i = 0; i < m->ndict; i++) {
		/* every suffix of a recorded name is a candidate too */
		size_t off = m->dict[i];

		while (m->buf[off] != 0 && (m->buf[off] & PTR_MASK) != PTR_MASK) {
			if (name_at_eq(m, off, w))
				return (int)off;
			off += 1 + m->buf[off];
		}
	}
	return -1;
}

/* Append the wire name w (root included, n bytes), compressed against the
 * names already written. Caller checked room for n bytes. */
static void name_put(struct dns_msg *m, const uint8_t *w, size_t n)
{
	size_t i = 0;
	uint16_t start = (uint16_t)m->len;

	while (w[i] != 0) {
		int at = dict_find(m, w + i);

		if (at >= 0) {
			memcpy(m->buf + m->len, w, i);
			m->len += i;
			dns_wr16(m->buf + m->len, 0xc000 | (uint16_t)at);
			m->len += 2;
			goto out;
		}
		i += 1 + w[i];
	}
	memcpy(m->buf + m->len, w, n);
	m->len += n;
out:
	if (start < 0x3fff && m->ndict < DNS_DICT_MAX && w[0] != 0)
		m->dict[m->ndict++] = start;
}

int dns_msg_rr_name(struct dns_msg *m, enum dns_section sec, uint16_t owner, uint16_t type,
		    uint32_t ttl, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t w[DNS_NAME_MAX];
	size_t n = alen + blen + 1, at;

	if (n > DNS_NAME_MAX)
		return -EINVAL;
	memcpy(w, a, alen);
	memcpy(w + alen, b, blen);
	w[n - 1] = 0;
	if (rr_head(m, owner, type, ttl, n) < 0)
		return rr_fail(m, sec);
	at = m->len;
	m->len += 12;
	name_put(m, w, n);
	dns_wr16(m->buf + at + 10, (uint16_t)(m->len - at - 12));
	m->count[sec]++;
	return 0;
}

int dns_msg_soa(struct dns_msg *m, enum dns_section sec, const uint8_t *zone, size_t zlen,
		uint32_t ttl)
{
	static const uint8_t hm[] = "\x0ahostmaster";
	uint8_t rname[DNS_NAME_MAX];
	size_t rd_at, worst = 3 * zlen + sizeof(hm) + 10 + 20;
	const uint32_t times[] = { 1, 3600, 600, 86400, ttl };

	if (zlen + sizeof(hm) - 1 > DNS_NAME_MAX)
		return -EINVAL;
	if (m->len + worst > m->limit)
		return rr_fail(m, sec);
	name_put(m, zone, zlen);
	rd_at = m->len;
	dns_wr16(m->buf + rd_at, DNS_T_SOA);
	dns_wr16(m->buf + rd_at + 2, DNS_CLASS_IN);
	dns_wr32(m->buf + rd_at + 4, ttl);
	m->len += 10;
	name_put(m, zone, zlen);
	memcpy(rname, hm, sizeof(hm) - 1);
	memcpy(rname + sizeof(hm) - 1, zone, zlen);
	name_put(m, rname, sizeof(hm) - 1 + zlen);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++, m->len += 4)
		dns_wr32(m->buf + m->len, times[i]);
	dns_wr16(m->buf + rd_at + 8, (uint16_t)(m->len - rd_at - 10));
	m->count[sec]++;
	return 0;
}

size_t dns_msg_finish(struct dns_msg *m, int rcode, int ede)
{
	uint8_t *p;

	dns_wr16(m->buf + 6, m->count[DNS_SEC_AN]);
	dns_wr16(m->buf + 8, m->count[DNS_SEC_NS]);
	dns_wr16(m->buf + 10, m->count[DNS_SEC_AR] + (m->opt ? 1 : 0));
	if (m->truncated)
		m->buf[2] |= DNS_F_TC >> 8;
	m->buf[3] = (m->buf[3] & 0xf0) | (rcode & 0xf);
	if (!m->opt)
		return m->len;
	p = m->buf + m->len;
	p[0] = 0;
	dns_wr16(p + 1, DNS_T_OPT);
	dns_wr16(p + 3, DNS_UDP_SIZE);
	dns_wr32(p + 5, (uint32_t)(rcode >> 4 & 0xff) << 24);
	dns_wr16(p + 9, ede >= 0 ? DNS_EDE_LEN : 0);
	m->len += DNS_OPT_LEN;
	if (ede >= 0) {
		dns_wr16(p + 11, 15);	/* RFC 8914 Extended DNS Error */
		dns_wr16(p + 13, 2);
		dns_wr16(p + 15, (uint16_t)ede);
		m->len += DNS_EDE_LEN;
	}
	return m->len;
}
