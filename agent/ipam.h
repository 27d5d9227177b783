/* ipam.h: address allocation within one subnet, in memory. The store is the
 * arbiter across hosts (an /ipam/<net>/<ip> key is created with an ABSENT
 * compare in the same transaction as the endpoint); this pool only keeps the
 * agent from proposing addresses it already knows are taken.
 *
 * Allocation is sequential from a cursor that keeps moving (next-fit), so an
 * address just released is not handed out again soon: stale ARP/ND caches
 * and DNS answers elsewhere in the cluster age out first.
 *
 * Reserved, never allocated: the network address (IPv4) / subnet-router
 * anycast (IPv6), the IPv4 broadcast address, and the gateway. */
#ifndef OVN_IPAM_H
#define OVN_IPAM_H

#include <stdint.h>

#include "addr.h"

struct ipam_pool {
	struct ovn_prefix subnet;	/* network address, host bits zero */
	struct ovn_ip gateway;		/* family 0: none */
	uint64_t size;			/* host addresses in subnet */
	uint64_t cursor;		/* next offset to try */
	uint64_t n_used;
	/* open-addressing set of used offsets (+1, so 0 marks a free slot) */
	uint64_t *slots;
	uint64_t n_slots;
};

int ipam_pool_init(struct ipam_pool *p, const struct ovn_prefix *subnet,
		   const struct ovn_ip *gateway);
void ipam_pool_free(struct ipam_pool *p);
/* Start the allocation cursor at a place derived from seed. */
void ipam_pool_seed(struct ipam_pool *p, uint64_t seed);
/* Mark ip used. -ERANGE outside the subnet, -EADDRNOTAVAIL for a reserved
 * address, -EADDRINUSE when already used, -ENOMEM. */
int ipam_reserve(struct ipam_pool *p, const struct ovn_ip *ip);
/* Pick the next free address and mark it used; -ENOSPC when full. */
int ipam_alloc(struct ipam_pool *p, struct ovn_ip *ip);
/* Mark ip free (no-op when not used). */
void ipam_release(struct ipam_pool *p, const struct ovn_ip *ip);
bool ipam_is_used(const struct ipam_pool *p, const struct ovn_ip *ip);
/* Usable addresses (size minus reserved ones). */
uint64_t ipam_capacity(const struct ipam_pool *p);

/* Carve the first subnet of length len out of pool that overlaps none of
 * taken[0..n). -ENOSPC when none is left. */
int ipam_subnet_pick(const struct ovn_prefix *pool, uint8_t len, const struct ovn_prefix *taken,
		     size_t n, struct ovn_prefix *out);

#endif
