/* addr.c: see addr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int ovn_ip_parse(struct ovn_ip *ip, const char *s)
{
	memset(ip, 0, sizeof(*ip));
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, ip->b) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->b) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int ovn_prefix_parse(struct ovn_prefix *p, const char *s, bool require_len)
{
	char buf[OVN_PREFIX_STRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	char *end;
	long len;
	int r;

	memset(p, 0, sizeof(*p));
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	if (!slash) {
		if (require_len)
			return -EINVAL;
		r = ovn_ip_parse(&p->ip, s);
		p->len = ovn_ip_maxlen(p->ip.family);
		return r;
	}
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	r = ovn_ip_parse(&p->ip, buf);
	if (r < 0)
		return r;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end || len < 0 || len > ovn_ip_maxlen(p->ip.family))
		return -EINVAL;
	p->len = (uint8_t)len;
	return 0;
}

const char *ovn_ip_str(const struct ovn_ip *ip, char buf[OVN_IP_STRLEN])
{
	if (!ip->family || !inet_ntop(ip->family, ip->b, buf, OVN_IP_STRLEN))
		snprintf(buf, OVN_IP_STRLEN, "-");
	return buf;
}

const char *ovn_prefix_str(const struct ovn_prefix *p, char buf[OVN_PREFIX_STRLEN])
{
	char ip[OVN_IP_STRLEN];

	snprintf(buf, OVN_PREFIX_STRLEN, "%s/%u", ovn_ip_str(&p->ip, ip), p->len);
	return buf;
}

bool ovn_ip_equal(const struct ovn_ip *a, const struct ovn_ip *b)
{
	return a->family == b->family && !memcmp(a->b, b->b, ovn_ip_bytes(a));
}

int ovn_ip_cmp(const struct ovn_ip *a, const struct ovn_ip *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(a->b, b->b, ovn_ip_bytes(a));
}

/* Keep the first len bits of b (of n bytes), zero the rest. */
static void mask_bits(uint8_t *b, int n, int len)
{
	for (int i = 0; i < n; i++) {
		int keep = len - i * 8;

		if (keep <= 0)
			b[i] = 0;
		else if (keep < 8)
			b[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

void ovn_prefix_mask(struct ovn_prefix *p)
{
	mask_bits(p->ip.b, ovn_ip_bytes(&p->ip), p->len);
}

bool ovn_prefix_is_network(const struct ovn_prefix *p)
{
	struct ovn_prefix m = *p;

	ovn_prefix_mask(&m);
	return ovn_ip_equal(&m.ip, &p->ip);
}

bool ovn_prefix_contains(const struct ovn_prefix *p, const struct ovn_ip *ip)
{
	struct ovn_prefix a = *p, b = { .ip = *ip, .len = p->len };

	if (ip->family != p->ip.family)
		return false;
	ovn_prefix_mask(&a);
	ovn_prefix_mask(&b);
	return ovn_ip_equal(&a.ip, &b.ip);
}

bool ovn_prefix_overlaps(const struct ovn_prefix *a, const struct ovn_prefix *b)
{
	if (a->ip.family != b->ip.family)
		return false;
	return a->len <= b->len ? ovn_prefix_contains(a, &b->ip)
				: ovn_prefix_contains(b, &a->ip);
}

static uint64_t load_low64(const struct ovn_ip *ip)
{
	int n = ovn_ip_bytes(ip);
	uint64_t v = 0;

	for (int i = n > 8 ? n - 8 : 0; i < n; i++)
		v = (v << 8) | ip->b[i];
	return v;
}

static void store_low64(struct ovn_ip *ip, uint64_t v)
{
	int n = ovn_ip_bytes(ip);

	for (int i = n - 1; i >= (n > 8 ? n - 8 : 0); i--, v >>= 8)
		ip->b[i] = (uint8_t)v;
}

uint64_t ovn_prefix_size(const struct ovn_prefix *p)
{
	int host = ovn_ip_maxlen(p->ip.family) - p->len;

	return host >= 63 ? (uint64_t)1 << 63 : (uint64_t)1 << host;
}

int ovn_prefix_nth(const struct ovn_prefix *p, uint64_t offset, struct ovn_ip *ip)
{
	struct ovn_prefix net = *p;

	if (offset >= ovn_prefix_size(p))
		return -ERANGE;
	ovn_prefix_mask(&net);
	*ip = net.ip;
	store_low64(ip, load_low64(ip) + offset);
	return 0;
}

int ovn_prefix_offset(const struct ovn_prefix *p, const struct ovn_ip *ip, uint64_t *offset)
{
	struct ovn_prefix net = *p;
	uint64_t off;

	if (!ovn_prefix_contains(p, ip))
		return -ERANGE;
	ovn_prefix_mask(&net);
	off = load_low64(ip) - load_low64(&net.ip);
	if (off >= ovn_prefix_size(p))
		return -ERANGE;	/* beyond the low 64 bits we address */
	*offset = off;
	return 0;
}

int ovn_mac_parse(struct ovn_mac *mac, const char *s, bool unicast)
{
	static const uint8_t zero[6];
	unsigned v[6];
	char tail;

	if (!s || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3] == ' ' || s[i * 3] == '+' || s[i * 3] == '-')
			return -EINVAL;
		mac->b[i] = (uint8_t)v[i];
	}
	if (unicast && ((mac->b[0] & 1) || !memcmp(mac->b, zero, 6)))
		return -EINVAL;
	return 0;
}

const char *ovn_mac_str(const struct ovn_mac *mac, char buf[OVN_MAC_STRLEN])
{
	snprintf(buf, OVN_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac->b[0], mac->b[1],
		 mac->b[2], mac->b[3], mac->b[4], mac->b[5]);
	return buf;
}

void ovn_mac_from_ip(struct ovn_mac *mac, const struct ovn_ip *ip)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a 64 */

	if (ip->family == AF_INET) {
		mac->b[0] = 0x02;
		mac->b[1] = 0x42;
		memcpy(mac->b + 2, ip->b, 4);
		return;
	}
	for (int i = 0; i < 16; i++)
		h = (h ^ ip->b[i]) * 1099511628211ULL;
	mac->b[0] = 0x06;	/* locally administered, unicast, apart from 02:42 */
	for (int i = 1; i < 6; i++, h >>= 8)
		mac->b[i] = (uint8_t)h;
}
