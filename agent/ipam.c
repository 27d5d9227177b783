/* ipam.c: see ipam.h. The used set is a linear-probing hash of offsets with
 * tombstone-free deletion (backward shift), sized to stay under half full:
 * an IPv6 /64 cannot be a bitmap, and a /16 bitmap would cost 8 KiB per
 * network for nothing on the common small network. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static bool offset_reserved(const struct ipam_pool *p, uint64_t off)
{
	uint64_t gw;

	if (off == 0)
		return true;
	if (p->subnet.ip.family == AF_INET && off == p->size - 1 && p->size > 2)
		return true;
	if (p->gateway.family && !ovn_prefix_offset(&p->subnet, &p->gateway, &gw) && gw == off)
		return true;
	return false;
}

static uint64_t *slot_find(const struct ipam_pool *p, uint64_t off)
{
	uint64_t mask = p->n_slots - 1, i = hash64(off) & mask;

	while (p->slots[i] && p->slots[i] != off + 1)
		i = (i + 1) & mask;
	return &p->slots[i];
}

static int slots_grow(struct ipam_pool *p)
{
	uint64_t *old = p->slots, n_old = p->n_slots;
	uint64_t n_new = n_old ? n_old * 2 : 64;

	p->slots = calloc(n_new, sizeof(*p->slots));
	if (!p->slots) {
		p->slots = old;
		return -ENOMEM;
	}
	p->n_slots = n_new;
	for (uint64_t i = 0; i < n_old; i++)
		if (old[i])
			*slot_find(p, old[i] - 1) = old[i];
	free(old);
	return 0;
}

int ipam_pool_init(struct ipam_pool *p, const struct ovn_prefix *subnet,
		   const struct ovn_ip *gateway)
{
	memset(p, 0, sizeof(*p));
	p->subnet = *subnet;
	ovn_prefix_mask(&p->subnet);
	if (gateway)
		p->gateway = *gateway;
	p->size = ovn_prefix_size(&p->subnet);
	p->cursor = 1;
	return slots_grow(p);
}

void ipam_pool_seed(struct ipam_pool *p, uint64_t seed)
{
	/* Within the first 64Ki addresses: an IPv6 /64 stays readable. */
	uint64_t span = p->size - 2 < 65536 ? p->size - 2 : 65536;

	if (p->size > 2)
		p->cursor = 1 + seed % span;
}

void ipam_pool_free(struct ipam_pool *p)
{
	free(p->slots);
	p->slots = NULL;
	p->n_slots = 0;
}

static int mark_used(struct ipam_pool *p, uint64_t off)
{
	uint64_t *s;
	int r;

	if ((p->n_used + 1) * 2 > p->n_slots) {
		r = slots_grow(p);
		if (r < 0)
			return r;
	}
	s = slot_find(p, off);
	if (*s)
		return -EADDRINUSE;
	*s = off + 1;
	p->n_used++;
	return 0;
}

int ipam_reserve(struct ipam_pool *p, const struct ovn_ip *ip)
{
	uint64_t off;

	if (ovn_prefix_offset(&p->subnet, ip, &off) < 0)
		return -ERANGE;
	if (offset_reserved(p, off))
		return -EADDRNOTAVAIL;
	return mark_used(p, off);
}

uint64_t ipam_capacity(const struct ipam_pool *p)
{
	uint64_t n = p->size - 1;	/* offset 0 */

	if (p->subnet.ip.family == AF_INET && p->size > 2)
		n--;			/* broadcast */
	if (p->gateway.family)
		n--;
	return n;
}

int ipam_alloc(struct ipam_pool *p, struct ovn_ip *ip)
{
	if (p->n_used >= ipam_capacity(p))
		return -ENOSPC;
	/* Terminates: at least one non-reserved offset is free. */
	for (;; p->cursor++) {
		if (p->cursor >= p->size)
			p->cursor = 1;
		if (offset_reserved(p, p->cursor) || *slot_find(p, p->cursor))
			continue;
		int r = mark_used(p, p->cursor);

		if (r < 0)
			return r;
		ovn_prefix_nth(&p->subnet, p->cursor++, ip);
		return 0;
	}
}

bool ipam_is_used(const struct ipam_pool *p, const struct ovn_ip *ip)
{
	uint64_t off;

	if (ovn_prefix_offset(&p->subnet, ip, &off) < 0)
		return false;
	return *slot_find(p, off) != 0;
}

void ipam_release(struct ipam_pool *p, const struct ovn_ip *ip)
{
	uint64_t off, mask = p->n_slots - 1, i, j, want;

	if (ovn_prefix_offset(&p->subnet, ip, &off) < 0)
		return;
	uint64_t *s = slot_find(p, off);

	if (!*s)
		return;
	*s = 0;
	p->n_used--;
	/* Backward-shift the probe chain that followed the freed slot. */
	i = (uint64_t)(s - p->slots);
	for (j = (i + 1) & mask; p->slots[j]; j = (j + 1) & mask) {
		want = hash64(p->slots[j] - 1) & mask;
		/* Move slots[j] into the hole at i unless its home lies
		 * cyclically in (i, j]. */
		if ((j > i && (want <= i || want > j)) || (j < i && want <= i && want > j)) {
			p->slots[i] = p->slots[j];
			p->slots[j] = 0;
			i = j;
		}
	}
}

/* The i-th subnet of length len inside pool: i's bits go right above the
 * subnet's host bits. They never overlap the pool's network bits, so this is
 * an OR, never an addition with carry. */
static void subnet_nth(const struct ovn_prefix *pool, uint8_t len, uint64_t i,
		       struct ovn_prefix *out)
{
	int n = ovn_ip_bytes(&pool->ip), host = ovn_ip_maxlen(pool->ip.family) - len;

	*out = *pool;
	out->len = len;
	ovn_prefix_mask(out);
	for (int k = 0; k < 64 && (i >> k); k++) {
		int bit = host + k;

		if ((i >> k) & 1)
			out->ip.b[n - 1 - bit / 8] |= (uint8_t)(1u << (bit % 8));
	}
}

int ipam_subnet_pick(const struct ovn_prefix *pool, uint8_t len, const struct ovn_prefix *taken,
		     size_t n, struct ovn_prefix *out)
{
	uint64_t count, i;

	if (len < pool->len || len > ovn_ip_maxlen(pool->ip.family))
		return -EINVAL;
	/* Bounded scan: a pool is carved into at most 2^20 candidates. */
	count = len - pool->len >= 20 ? (uint64_t)1 << 20 : (uint64_t)1 << (len - pool->len);
	for (i = 0; i < count; i++) {
		struct ovn_prefix cand;
		bool clash = false;

		subnet_nth(pool, len, i, &cand);
		for (size_t t = 0; t < n && !clash; t++)
			clash = ovn_prefix_overlaps(&cand, &taken[t]);
		if (!clash) {
			*out = cand;
			return 0;
		}
	}
	return -ENOSPC;
}
