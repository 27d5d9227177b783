/* addr.h: IPv4/IPv6 addresses, prefixes and MAC addresses: parse, format,
 * compare, arithmetic. Pure functions; no allocation. */
#ifndef OVN_ADDR_H
#define OVN_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define OVN_IP_STRLEN 46	/* INET6_ADDRSTRLEN */
#define OVN_PREFIX_STRLEN 50	/* address + "/128" */
#define OVN_MAC_STRLEN 18

struct ovn_ip {
	int family;		/* AF_INET, AF_INET6, or 0 = unset */
	union {
		uint8_t b[16];	/* network byte order; IPv4 uses b[0..3] */
		uint32_t v4;
	};
};

struct ovn_prefix {
	struct ovn_ip ip;
	uint8_t len;
};

struct ovn_mac {
	uint8_t b[6];
};

/* Parse "a.b.c.d" or an IPv6 literal. 0 or -EINVAL. */
int ovn_ip_parse(struct ovn_ip *ip, const char *s);
/* Parse "addr/len"; with require_len false a bare address gets the full length.
 * The address keeps its host bits (use ovn_prefix_mask for the network). */
int ovn_prefix_parse(struct ovn_prefix *p, const char *s, bool require_len);
const char *ovn_ip_str(const struct ovn_ip *ip, char buf[OVN_IP_STRLEN]);
const char *ovn_prefix_str(const struct ovn_prefix *p, char buf[OVN_PREFIX_STRLEN]);

static inline int ovn_ip_bytes(const struct ovn_ip *ip)
{
	return ip->family == AF_INET ? 4 : ip->family == AF_INET6 ? 16 : 0;
}
static inline int ovn_ip_maxlen(int family)
{
	return family == AF_INET ? 32 : 128;
}
bool ovn_ip_equal(const struct ovn_ip *a, const struct ovn_ip *b);
/* memcmp-style order within one family; families order AF_INET first. */
int ovn_ip_cmp(const struct ovn_ip *a, const struct ovn_ip *b);

/* Zero the host bits of p->ip. */
void ovn_prefix_mask(struct ovn_prefix *p);
/* True when p's host bits are all zero. */
bool ovn_prefix_is_network(const struct ovn_prefix *p);
bool ovn_prefix_contains(const struct ovn_prefix *p, const struct ovn_ip *ip);
bool ovn_prefix_overlaps(const struct ovn_prefix *a, const struct ovn_prefix *b);
/* ip = network of p + offset (offset counts host addresses; only the low 64
 * bits of an IPv6 host part are addressed). -ERANGE when outside p. */
int ovn_prefix_nth(const struct ovn_prefix *p, uint64_t offset, struct ovn_ip *ip);
/* Offset of ip within p (inverse of ovn_prefix_nth); -ERANGE when outside. */
int ovn_prefix_offset(const struct ovn_prefix *p, const struct ovn_ip *ip, uint64_t *offset);
/* Number of host addresses of p, capped at 2^63. */
uint64_t ovn_prefix_size(const struct ovn_prefix *p);

/* Parse "aa:bb:cc:dd:ee:ff" (case-insensitive). Rejects multicast and
 * all-zero addresses for unicast use when unicast is true. */
int ovn_mac_parse(struct ovn_mac *mac, const char *s, bool unicast);
const char *ovn_mac_str(const struct ovn_mac *mac, char buf[OVN_MAC_STRLEN]);
/* The MAC every host computes for a container: 02:42 + IPv4 when the
 * endpoint has one, else 06: + 5 bytes of a hash of the IPv6 address. */
void ovn_mac_from_ip(struct ovn_mac *mac, const struct ovn_ip *ip);

#endif
