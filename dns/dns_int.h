/* dns_int.h: what the dns/ files share and nobody else sees: the reply
 * builder of codec.c and the table's lookup result and record layout. */
#ifndef OVN_DNS_INT_H
#define OVN_DNS_INT_H

#include "dns.h"

static inline uint16_t dns_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void dns_wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void dns_wr32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static inline uint8_t dns_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Lower-case a wire name in place. Length octets are <= 63, below 'A', so a
 * byte-wise pass never touches them. */
static inline void dns_name_lower(uint8_t *w, size_t len)
{
	for (size_t i = 0; i < len; i++)
		w[i] = dns_lower(w[i]);
}

bool dns_name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* ------------------------------------------------------------ reply builder */
enum dns_section { DNS_SEC_AN, DNS_SEC_NS, DNS_SEC_AR };

#define DNS_DICT_MAX 32
#define DNS_OPT_LEN 11			/* root owner, type, class, ttl, rdlen */
#define DNS_EDE_LEN 6			/* option code, len, info code */
#define DNS_QNAME_OFF DNS_HDR_LEN

struct dns_msg {
	uint8_t *buf;
	size_t len;
	size_t limit;			/* room for records; OPT room held back */
	uint16_t count[3];
	bool truncated;			/* an answer record did not fit */
	bool opt;			/* write an OPT at finish */
	uint8_t ndict;
	uint16_t dict[DNS_DICT_MAX];	/* offsets of names written, for compression */
};

/* Header + question of a reply to q (question echoed when q has one), with
 * flags (QR is added) and rcode. limit = the most the reply may take. */
int dns_msg_start(struct dns_msg *m, uint8_t *buf, size_t limit, const struct dns_query *q,
		  uint16_t flags, int rcode);
/* One RR owned by the name at message offset owner (a pointer). rdata is
 * copied. 0, or -ENOSPC when it does not fit (nothing written). */
int dns_msg_rr(struct dns_msg *m, enum dns_section sec, uint16_t owner, uint16_t type,
	       uint32_t ttl, const uint8_t *rdata, size_t rdlen);
/* A PTR/CNAME-like RR whose rdata is the name a||b (compressed). */
int dns_msg_rr_name(struct dns_msg *m, enum dns_section sec, uint16_t owner, uint16_t type,
		    uint32_t ttl, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* An SOA for zone (wire, owner compressed against what is written):
 * MNAME = zone, RNAME = hostmaster.zone, TTL and MINIMUM = ttl. */
int dns_msg_soa(struct dns_msg *m, enum dns_section sec, const uint8_t *zone, size_t zlen,
		uint32_t ttl);
/* Write counts, TC and the OPT (with extended rcode and an Extended DNS Error
 * info code when ede >= 0). Returns the message length. */
size_t dns_msg_finish(struct dns_msg *m, int rcode, int ede);

/* ------------------------------------------------------------ table internals */
/* Intrusive chained hash link: first member of every hashed object. */
struct hlink {
	struct hlink *next;
	uint32_t hash;
};

struct dns_rec {
	struct hlink link;		/* in the address hash: (net, ip) */
	struct dns_rec *next;		/* the owner's records, insertion order */
	struct dns_name *owner;
	uint64_t seq;			/* insertion order, for PTR choice */
	struct ovn_ip ip;
};

struct dns_name {
	struct hlink link;		/* in the name hash: (net, wire) */
	uint32_t net;
	uint16_t n4, n6;
	uint16_t rr;			/* round-robin cursor */
	struct dns_rec *recs;
	uint8_t len;			/* wire length without the root label */
	uint8_t wire[];			/* lower-cased labels, no root label */
};

enum dns_hit {
	DNS_HIT_FORWARD,		/* not ours */
	DNS_HIT_NAME,			/* name: answer its addresses */
	DNS_HIT_PTR,			/* name is the PTR target (+ zone) */
	DNS_HIT_NODATA,			/* exists, nothing of that kind */
	DNS_HIT_NXDOMAIN,
	DNS_HIT_LOCALHOST,		/* RFC 6761: loopback */
};

struct dns_lookup {
	enum dns_hit hit;
	struct dns_name *name;
	const uint8_t *zone;		/* the net's zone (PTR target suffix) */
	size_t zone_len;		/* wire length without root label */
	const uint8_t *soa;		/* SOA owner to cite (wire, root included) */
	size_t soa_len;			/* 0 = no SOA */
	unsigned int view_flags;
	bool bare;			/* FORWARD of a single-label name */
};

/* Look up a lower-cased wire query name (root label included) for view.
 * Never allocates. The caller may advance out->name's round-robin cursor. */
void dns_table_lookup(struct dns_table *t, uint32_t view, const uint8_t *lname, size_t len,
		      struct dns_lookup *out);

#endif
