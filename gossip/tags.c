/* tags.c: the key=value metadata convention ovn puts in a member's meta
 * (e.g. "vtep" -> "198.18.0.3", "networks" -> "web,db"). The core carries
 * meta as opaque bytes; these helpers only give it a shape:
 *	repeated [klen:1][key][vlen:2, big-endian][value]
 */
#include <errno.h>
#include <string.h>

#include "gossip.h"

int gossip_tags_encode(const struct gossip_tag *tags, size_t n, uint8_t *out, size_t cap)
{
	size_t i, kl, vl, off = 0;

	for (i = 0; i < n; i++) {
		kl = strlen(tags[i].key);
		vl = strlen(tags[i].value);
		if (!kl || kl > 255 || vl > 65535)
			return -EINVAL;
		if (cap - off < 3 + kl + vl || off + 3 + kl + vl > GOSSIP_META_MAX)
			return -EMSGSIZE;
		out[off++] = kl;
		memcpy(out + off, tags[i].key, kl);
		off += kl;
		out[off++] = vl >> 8;
		out[off++] = vl & 0xff;
		memcpy(out + off, tags[i].value, vl);
		off += vl;
	}
	return off;
}

int gossip_tag_get(const uint8_t *meta, size_t len, const char *key, char *buf, size_t size)
{
	size_t off = 0, kl, vl, want = strlen(key);

	while (off < len) {
		kl = meta[off++];
		if (len - off < kl + 2)
			return -EBADMSG;
		vl = (size_t)meta[off + kl] << 8 | meta[off + kl + 1];
		if (len - off - kl - 2 < vl)
			return -EBADMSG;
		if (kl == want && !memcmp(meta + off, key, kl)) {
			if (vl >= size)
				return -ENAMETOOLONG;
			memcpy(buf, meta + off + kl + 2, vl);
			buf[vl] = 0;
			return vl;
		}
		off += kl + 2 + vl;
	}
	return -ENOENT;
}
