/* table.c: the names the agent feeds the DNS server, and their lookup.
 *
 * Networks hold names; each name holds one or more addresses (an alias shared
 * by several endpoints has several). Views are ordered sets of networks (what
 * one container sees). Two hashes do the work: (net, lower-cased wire name) ->
 * name, and (net, address) -> records for PTR. Lookups never allocate.
 *
 * Lookup rules, in order (first match wins):
 *   1. RFC 6761: *.localhost -> loopback; *.invalid and *.local (mDNS,
 *      RFC 6762) -> NXDOMAIN; never forwarded.
 *   2. Reverse names (in-addr.arpa, ip6.arpa): a known address in one of the
 *      view's networks -> PTR to "<first name>.<zone>". Unknown addresses in
 *      private space (RFC 6303: 10/8, 172.16/12, 192.168/16, 127/8,
 *      169.254/16, 198.18/15, fc00::/7, fe80::/10, ::1) are answered here,
 *      NXDOMAIN or NODATA with the reverse zone's SOA; others are forwarded.
 *   3. The whole name in each network of the view, in view order ("web").
 *   4. A network's zone: "net1" itself -> NODATA (the apex exists, RFC 8020),
 *      "web.net1" -> "web" in net1, anything else below it -> NXDOMAIN.
 *   5. Everything else is not ours (the server forwards it; single-label
 *      names are marked so the server may answer them locally).
 *
 * Does not: hold SRV/TXT/CNAME data; find empty non-terminals inside a zone
 * other than the apex (a name "a.b" does not make "b.net1" exist).
 * TODO: SRV for published ports; a subnet list per network so unknown
 * addresses of public overlay subnets are answered locally too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns_int.h"

#define MAX_VIEW_NETS 64

struct dns_net {
	struct hlink link;
	uint32_t id;
	uint8_t zlen;			/* zone wire length without root, 0 = none */
	uint8_t zone[DNS_NAME_MAX];	/* lower-cased, root label appended */
};

struct dns_view {
	struct hlink link;
	uint32_t id;
	unsigned int flags;
	size_t n;
	uint32_t nets[];
};

struct htab {
	struct hlink **b;
	size_t mask;			/* buckets - 1 */
	size_t n;
};

struct dns_table {
	struct htab names, ips, nets, views;
	size_t nrecs;
	uint64_t seq;
	size_t bytes;
};

/* ------------------------------------------------------------ hashing */
static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* murmur3's finaliser: spreads the net id into every bit */
static uint32_t mix(uint32_t h, uint32_t net)
{
	h ^= net * 0x9e3779b1u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static int htab_init(struct dns_table *t, struct htab *h, size_t buckets)
{
	h->b = calloc(buckets, sizeof(*h->b));
	if (!h->b)
		return -ENOMEM;
	h->mask = buckets - 1;
	h->n = 0;
	t->bytes += buckets * sizeof(*h->b);
	return 0;
}

/* Double the buckets when the load passes 1; a failed grow only costs speed. */
static void htab_grow(struct dns_table *t, struct htab *h)
{
	size_t nb = (h->mask + 1) * 2;
	struct hlink **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i <= h->mask; i++) {
		struct hlink *e = h->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	t->bytes += (nb - h->mask - 1) * sizeof(*b);
	free(h->b);
	h->b = b;
	h->mask = nb - 1;
}

static void htab_add(struct dns_table *t, struct htab *h, struct hlink *e)
{
	if (h->n > h->mask)
		htab_grow(t, h);
	e->next = h->b[e->hash & h->mask];
	h->b[e->hash & h->mask] = e;
	h->n++;
}

static void htab_del(struct htab *h, struct hlink *e)
{
	struct hlink **pp = &h->b[e->hash & h->mask];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			h->n--;
			return;
		}
	}
}

#define first(h, hash) ((h)->b[(hash) & (h)->mask])
#define entry(ptr, type) ((type *)(void *)(ptr))	/* link is the first member */

/* ------------------------------------------------------------ finding */
static struct dns_net *net_find(const struct dns_table *t, uint32_t id)
{
	uint32_t h = mix(0, id);

	for (struct hlink *e = first(&t->nets, h); e; e = e->next)
		if (e->hash == h && entry(e, struct dns_net)->id == id)
			return entry(e, struct dns_net);
	return NULL;
}

static struct dns_view *view_find(const struct dns_table *t, uint32_t id)
{
	uint32_t h = mix(1, id);

	for (struct hlink *e = first(&t->views, h); e; e = e->next)
		if (e->hash == h && entry(e, struct dns_view)->id == id)
			return entry(e, struct dns_view);
	return NULL;
}

/* w: lower-cased labels without root, fh = fnv(w, len) */
static struct dns_name *name_find(const struct dns_table *t, uint32_t net, const uint8_t *w,
				  size_t len, uint32_t fh)
{
	uint32_t h = mix(fh, net);

	for (struct hlink *e = first(&t->names, h); e; e = e->next) {
		struct dns_name *n = entry(e, struct dns_name);

		if (e->hash == h && n->net == net && n->len == len && !memcmp(n->wire, w, len))
			return n;
	}
	return NULL;
}

static uint32_t ip_hash(uint32_t net, const struct ovn_ip *ip)
{
	return mix(fnv(ip->b, (size_t)ovn_ip_bytes(ip)), net);
}

/* The record of ip in net that was added first: the PTR target. */
static struct dns_rec *ptr_find(const struct dns_table *t, uint32_t net, const struct ovn_ip *ip)
{
	uint32_t h = ip_hash(net, ip);
	struct dns_rec *best = NULL;

	for (struct hlink *e = first(&t->ips, h); e; e = e->next) {
		struct dns_rec *r = entry(e, struct dns_rec);

		if (e->hash == h && r->owner->net == net && ovn_ip_equal(&r->ip, ip) &&
		    (!best || r->seq < best->seq))
			best = r;
	}
	return best;
}

/* ------------------------------------------------------------ life cycle */
struct dns_table *dns_table_new(void)
{
	struct dns_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->bytes = sizeof(*t);
	if (htab_init(t, &t->names, 256) < 0 || htab_init(t, &t->ips, 256) < 0 ||
	    htab_init(t, &t->nets, 16) < 0 || htab_init(t, &t->views, 16) < 0) {
		dns_table_free(t);
		return NULL;
	}
	return t;
}

static void htab_free_all(struct htab *h)
{
	for (size_t i = 0; h->b && i <= h->mask; i++) {
		struct hlink *e = h->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(h->b);
}

void dns_table_free(struct dns_table *t)
{
	if (!t)
		return;
	htab_free_all(&t->ips);		/* records */
	htab_free_all(&t->names);
	htab_free_all(&t->nets);
	htab_free_all(&t->views);
	free(t);
}

void dns_table_stats(const struct dns_table *t, struct dns_table_stats *st)
{
	st->nets = t->nets.n;
	st->views = t->views.n;
	st->names = t->names.n;
	st->records = t->nrecs;
	st->bytes = t->bytes;
}

/* Text name -> lower-cased labels without root. Length (>= 1) or -EINVAL. */
static int key_from_text(const char *s, uint8_t w[DNS_NAME_MAX])
{
	int n = dns_name_from_text(s, w, DNS_NAME_MAX);

	if (n <= 1)
		return -EINVAL;
	dns_name_lower(w, (size_t)n);
	return n - 1;
}

static struct dns_net *net_ensure(struct dns_table *t, uint32_t id)
{
	struct dns_net *n = net_find(t, id);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->id = id;
	n->link.hash = mix(0, id);
	htab_add(t, &t->nets, &n->link);
	t->bytes += sizeof(*n);
	return n;
}

int dns_table_net_set(struct dns_table *t, uint32_t net, const char *zone)
{
	uint8_t w[DNS_NAME_MAX];
	int zl = 0;
	struct dns_net *n;

	if (zone && (zl = key_from_text(zone, w)) < 0)
		return -EINVAL;
	n = net_ensure(t, net);
	if (!n)
		return -ENOMEM;
	memcpy(n->zone, w, (size_t)zl);
	n->zone[zl] = 0;
	n->zlen = (uint8_t)zl;
	return 0;
}

/* ------------------------------------------------------------ records */
static void rec_unlink(struct dns_table *t, struct dns_name *n, struct dns_rec *r)
{
	struct dns_rec **pp = &n->recs;

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	htab_del(&t->ips, &r->link);
	if (r->ip.family == AF_INET)
		n->n4--;
	else
		n->n6--;
	t->nrecs--;
	t->bytes -= sizeof(*r);
	free(r);
}

static void name_drop(struct dns_table *t, struct dns_name *n)
{
	while (n->recs)
		rec_unlink(t, n, n->recs);
	htab_del(&t->names, &n->link);
	t->bytes -= sizeof(*n) + n->len;
	free(n);
}

int dns_table_net_del(struct dns_table *t, uint32_t net)
{
	struct dns_net *n = net_find(t, net);

	for (size_t i = 0; i <= t->names.mask; i++) {
		struct hlink *e = t->names.b[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (entry(e, struct dns_name)->net == net)
				name_drop(t, entry(e, struct dns_name));
		}
	}
	if (n) {
		htab_del(&t->nets, &n->link);
		t->bytes -= sizeof(*n);
		free(n);
	}
	return 0;
}

int dns_table_view_set(struct dns_table *t, uint32_t view, const uint32_t *nets, size_t n,
		       unsigned int flags)
{
	struct dns_view *v;

	if (n > MAX_VIEW_NETS)
		return -EINVAL;
	v = malloc(sizeof(*v) + n * sizeof(v->nets[0]));
	if (!v)
		return -ENOMEM;
	v->id = view;
	v->flags = flags;
	v->n = n;
	if (n)
		memcpy(v->nets, nets, n * sizeof(v->nets[0]));	/* nets may be NULL when n is 0 */
	v->link.hash = mix(1, view);
	dns_table_view_del(t, view);
	htab_add(t, &t->views, &v->link);
	t->bytes += sizeof(*v) + n * sizeof(v->nets[0]);
	return 0;
}

int dns_table_view_del(struct dns_table *t, uint32_t view)
{
	struct dns_view *v = view_find(t, view);

	if (v) {
		htab_del(&t->views, &v->link);
		t->bytes -= sizeof(*v) + v->n * sizeof(v->nets[0]);
		free(v);
	}
	return 0;
}

static struct dns_name *name_new(struct dns_table *t, uint32_t net, const uint8_t *w,
				 size_t len, uint32_t fh)
{
	struct dns_name *n = calloc(1, sizeof(*n) + len);

	if (!n)
		return NULL;
	n->net = net;
	n->len = (uint8_t)len;
	memcpy(n->wire, w, len);
	n->link.hash = mix(fh, net);
	htab_add(t, &t->names, &n->link);
	t->bytes += sizeof(*n) + len;
	return n;
}

int dns_table_add(struct dns_table *t, uint32_t net, const char *name, const struct ovn_ip *ip)
{
	uint8_t w[DNS_NAME_MAX];
	int len = key_from_text(name, w);
	struct dns_name *n;
	struct dns_rec *r, **tail;
	uint32_t fh;

	if (len < 0 || !ip || (ip->family != AF_INET && ip->family != AF_INET6))
		return -EINVAL;
	if (!net_ensure(t, net))
		return -ENOMEM;
	fh = fnv(w, (size_t)len);
	n = name_find(t, net, w, (size_t)len, fh);
	if (!n && !(n = name_new(t, net, w, (size_t)len, fh)))
		return -ENOMEM;
	for (tail = &n->recs; *tail; tail = &(*tail)->next)
		if (ovn_ip_equal(&(*tail)->ip, ip))
			return 0;
	r = calloc(1, sizeof(*r));
	if (!r) {
		if (!n->recs)
			name_drop(t, n);
		return -ENOMEM;
	}
	r->owner = n;
	r->seq = ++t->seq;
	r->ip = *ip;
	r->link.hash = ip_hash(net, ip);
	*tail = r;
	htab_add(t, &t->ips, &r->link);
	if (ip->family == AF_INET)
		n->n4++;
	else
		n->n6++;
	t->nrecs++;
	t->bytes += sizeof(*r);
	return 0;
}

int dns_table_del(struct dns_table *t, uint32_t net, const char *name, const struct ovn_ip *ip)
{
	uint8_t w[DNS_NAME_MAX];
	int len = key_from_text(name, w);
	struct dns_name *n;
	struct dns_rec *r, *next;

	if (len < 0)
		return -EINVAL;
	n = name_find(t, net, w, (size_t)len, fnv(w, (size_t)len));
	if (!n)
		return 0;
	for (r = n->recs; r; r = next) {
		next = r->next;
		if (!ip || ovn_ip_equal(&r->ip, ip))
			rec_unlink(t, n, r);
	}
	if (!n->recs)
		name_drop(t, n);
	return 0;
}

/* ------------------------------------------------------------ lookup */
struct qname {
	const uint8_t *w;		/* lower-cased, root included */
	size_t len;			/* without root */
	uint8_t nlab;
	uint8_t lab[128];		/* label offsets */
};

static void qname_split(struct qname *q, const uint8_t *w, size_t len)
{
	q->w = w;
	q->len = len - 1;
	q->nlab = 0;
	for (size_t i = 0; i < q->len && q->nlab < sizeof(q->lab); i += 1 + w[i])
		q->lab[q->nlab++] = (uint8_t)i;
}

/* Does the name end with the labels sfx (root included, slen bytes)?
 * Returns the label index where the suffix starts, or -1. */
static int ends_with(const struct qname *q, const uint8_t *sfx, size_t slen)
{
	for (int i = q->nlab - 1; i >= 0; i--) {
		size_t rest = q->len + 1 - q->lab[i];

		if (rest == slen)
			return memcmp(q->w + q->lab[i], sfx, slen) ? -1 : i;
		if (rest > slen)
			return -1;
	}
	return slen == 1 ? q->nlab : -1;
}

static bool special(const struct qname *q, struct dns_lookup *out)
{
	static const struct {
		const char *sfx;
		size_t len;
		enum dns_hit hit;
	} v[] = {
		{ "\x09localhost", 11, DNS_HIT_LOCALHOST },
		{ "\x07invalid", 9, DNS_HIT_NXDOMAIN },
		{ "\x05local", 7, DNS_HIT_NXDOMAIN },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (ends_with(q, (const uint8_t *)v[i].sfx, v[i].len) >= 0) {
			out->hit = v[i].hit;
			return true;
		}
	}
	return false;
}

/* RFC 6303 private reverse space, answered locally */
static const struct {
	int family;
	uint8_t b[2];
	uint8_t bits;
} private_nets[] = {
	{ AF_INET, { 10 }, 8 },		{ AF_INET, { 127 }, 8 },
	{ AF_INET, { 172, 16 }, 12 },	{ AF_INET, { 192, 168 }, 16 },
	{ AF_INET, { 169, 254 }, 16 },	{ AF_INET, { 198, 18 }, 15 },
	{ AF_INET6, { 0xfc }, 7 },	{ AF_INET6, { 0xfe, 0x80 }, 10 },
};

struct rev {
	struct ovn_ip ip;
	unsigned int known;		/* leading bits given by the name */
	unsigned int nlab;		/* address labels in the name */
	unsigned int per;		/* bits per label: 8 or 4 */
};

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Labels [0, nlab) of q are an address written backwards. */
static int rev_parse(const struct qname *q, unsigned int nlab, bool v6, struct rev *r)
{
	memset(r, 0, sizeof(*r));
	r->ip.family = v6 ? AF_INET6 : AF_INET;
	r->per = v6 ? 4 : 8;
	r->nlab = nlab;
	if (nlab > (v6 ? 32u : 4u))
		return -EINVAL;
	for (unsigned int i = 0; i < nlab; i++) {
		const uint8_t *l = q->w + q->lab[nlab - 1 - i];
		unsigned int val = 0, k;

		if (v6) {
			if (l[0] != 1 || hexval(l[1]) < 0)
				return -EINVAL;
			r->ip.b[i / 2] |= (uint8_t)(hexval(l[1]) << (i % 2 ? 0 : 4));
			continue;
		}
		if (l[0] < 1 || l[0] > 3 || (l[0] > 1 && l[1] == '0'))
			return -EINVAL;
		for (k = 1; k <= l[0]; k++) {
			if (l[k] < '0' || l[k] > '9')
				return -EINVAL;
			val = val * 10 + (l[k] - '0');
		}
		if (val > 255)
			return -EINVAL;
		r->ip.b[i] = (uint8_t)val;
	}
	r->known = nlab * r->per;
	return 0;
}

/* The private zone containing r, as the label index of its apex in the
 * query name (the SOA owner), or -1. */
static int rev_private(const struct rev *r)
{
	for (size_t i = 0; i < sizeof(private_nets) / sizeof(private_nets[0]); i++) {
		unsigned int bits = private_nets[i].bits, zl = (bits + r->per - 1) / r->per;
		struct ovn_prefix p = { .ip = { .family = private_nets[i].family }, .len = (uint8_t)bits };
		struct ovn_ip ip = r->ip;

		if (p.ip.family != r->ip.family || r->known < zl * r->per)
			continue;
		memcpy(p.ip.b, private_nets[i].b, sizeof(private_nets[i].b));
		if (ovn_prefix_contains(&p, &ip))
			return (int)(r->nlab - zl);
	}
	return -1;
}

static void set_soa_label(struct dns_lookup *out, const struct qname *q, int lab)
{
	out->soa = q->w + q->lab[lab];
	out->soa_len = q->len + 1 - q->lab[lab];
}

static bool reverse(struct dns_table *t, const uint32_t *nets, size_t n, const struct qname *q,
		    struct dns_lookup *out)
{
	int at4 = ends_with(q, (const uint8_t *)"\x07in-addr\x04" "arpa", 14);
	int at6 = at4 < 0 ? ends_with(q, (const uint8_t *)"\x03ip6\x04" "arpa", 10) : -1;
	int at = at4 >= 0 ? at4 : at6, zone;
	struct rev r;

	if (at < 0)
		return false;
	if (rev_parse(q, (unsigned int)at, at6 >= 0, &r) < 0)
		return true;	/* not an address: FORWARD */
	zone = rev_private(&r);
	if (zone >= 0)
		set_soa_label(out, q, zone);
	if (r.known == (r.ip.family == AF_INET ? 32u : 128u)) {
		for (size_t i = 0; i < n; i++) {
			struct dns_rec *rec = ptr_find(t, nets[i], &r.ip);
			struct dns_net *net;

			if (!rec)
				continue;
			net = net_find(t, nets[i]);
			out->hit = DNS_HIT_PTR;
			out->name = rec->owner;
			out->zone = net ? net->zone : (const uint8_t *)"";
			out->zone_len = net ? net->zlen : 0;
			return true;
		}
		if (zone >= 0)
			out->hit = DNS_HIT_NXDOMAIN;
		return true;
	}
	if (zone >= 0)
		out->hit = DNS_HIT_NODATA;	/* may have addresses below: not NX */
	return true;
}

static void hit_name(struct dns_lookup *out, struct dns_name *name, const struct dns_net *net)
{
	out->hit = DNS_HIT_NAME;
	out->name = name;
	if (net && net->zlen) {
		out->zone = net->zone;
		out->zone_len = net->zlen;
		out->soa = net->zone;
		out->soa_len = net->zlen + 1u;
	}
}

static bool in_zone(struct dns_table *t, struct dns_net *net, const struct qname *q,
		    struct dns_lookup *out)
{
	int at = ends_with(q, net->zone, net->zlen + 1u);
	struct dns_name *name;
	size_t rest;

	if (at < 0)
		return false;
	out->soa = net->zone;
	out->soa_len = net->zlen + 1u;
	if (at == 0) {
		out->hit = DNS_HIT_NODATA;
		return true;
	}
	rest = q->lab[at];
	name = name_find(t, net->id, q->w, rest, fnv(q->w, rest));
	if (name)
		hit_name(out, name, net);
	else
		out->hit = DNS_HIT_NXDOMAIN;
	return true;
}

void dns_table_lookup(struct dns_table *t, uint32_t view, const uint8_t *lname, size_t len,
		      struct dns_lookup *out)
{
	struct dns_view *v = view_find(t, view);
	const uint32_t *nets = v ? v->nets : &view;
	size_t n = v ? v->n : net_find(t, view) ? 1 : 0;
	struct qname q;
	uint32_t fh;

	memset(out, 0, sizeof(*out));
	out->view_flags = v ? v->flags : 0;
	if (len < 1)
		return;
	qname_split(&q, lname, len);
	if (special(&q, out) || reverse(t, nets, n, &q, out))
		return;
	fh = fnv(q.w, q.len);
	for (size_t i = 0; i < n; i++) {
		struct dns_name *name = name_find(t, nets[i], q.w, q.len, fh);

		if (name) {
			hit_name(out, name, net_find(t, nets[i]));
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct dns_net *net = net_find(t, nets[i]);

		if (net && net->zlen && in_zone(t, net, &q, out))
			return;
	}
	out->bare = q.nlab == 1;
}
