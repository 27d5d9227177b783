/* keyring.c: install/use/remove of gossip keys and the AEAD envelopes for
 * packets and streams (formats in keyring_int.h). Randomness for nonces comes
 * from libsodium, never from the injected protocol rand(): nonces must not
 * repeat even in a simulator seeded the same way twice.
 *
 * Does not: persist keys (the agent's job), distribute keys (an operator or
 * the agent installs them on every member, see gossip.h).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyring_int.h"
#include "wire.h"

static_assert(GOSSIP_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");
static_assert(GK_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
static_assert(GK_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");

int gk_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

static int gk_find(const struct gkeyring *kr, const uint8_t *key)
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (!sodium_memcmp(kr->key[i], key, GOSSIP_KEY_LEN))
			return i;
	return -1;
}

int gk_install(struct gkeyring *kr, const uint8_t *key)
{
	if (gk_find(kr, key) >= 0)
		return -EEXIST;
	if (kr->n == GOSSIP_KEYS_MAX)
		return -ENOSPC;
	memcpy(kr->key[kr->n++], key, GOSSIP_KEY_LEN);
	return 0;
}

int gk_use(struct gkeyring *kr, const uint8_t *key)
{
	uint8_t tmp[GOSSIP_KEY_LEN];
	int i = gk_find(kr, key);

	if (i < 0)
		return -ENOENT;
	/* Swap into slot 0; the old primary stays installed for opening. */
	memcpy(tmp, kr->key[0], GOSSIP_KEY_LEN);
	memcpy(kr->key[0], kr->key[i], GOSSIP_KEY_LEN);
	memcpy(kr->key[i], tmp, GOSSIP_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

int gk_remove(struct gkeyring *kr, const uint8_t *key)
{
	int i = gk_find(kr, key);

	if (i < 0)
		return -ENOENT;
	if (i == 0)
		return -EBUSY;
	memmove(kr->key[i], kr->key[i + 1], (kr->n - i - 1) * GOSSIP_KEY_LEN);
	kr->n--;
	sodium_memzero(kr->key[kr->n], GOSSIP_KEY_LEN);
	return 0;
}

void gk_wipe(struct gkeyring *kr)
{
	sodium_memzero(kr, sizeof(*kr));
}

/* Seal in after the hdr_len header bytes already at out (the additional
 * data), nonce first. */
static void gk_seal(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		    size_t hdr_len)
{
	uint8_t *nonce = out + hdr_len;
	unsigned long long clen;

	randombytes_buf(nonce, GK_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + GK_NONCE_LEN, &clen, in, len, out,
						   hdr_len, NULL, nonce, kr->key[0]);
}

static int gk_open(const struct gkeyring *kr, const uint8_t *in, size_t len, size_t hdr_len,
		   uint8_t *out)
{
	const uint8_t *nonce = in + hdr_len, *ct = nonce + GK_NONCE_LEN;
	size_t clen = len - hdr_len - GK_NONCE_LEN;
	unsigned long long mlen;
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (!crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, clen, in,
								hdr_len, nonce, kr->key[i]))
			return 0;
	return -EBADMSG;
}

int gk_seal_pkt(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		size_t cap, size_t *out_len)
{
	if (!kr->n)
		return -ENOKEY;
	if (cap < len + GK_PKT_OVERHEAD)
		return -ENOSPC;
	out[0] = GW_SEALED_PKT;
	gk_seal(kr, in, len, out, 1);
	*out_len = len + GK_PKT_OVERHEAD;
	return 0;
}

int gk_open_pkt(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		size_t cap, size_t *out_len)
{
	if (len < GK_PKT_OVERHEAD || in[0] != GW_SEALED_PKT || cap < len - GK_PKT_OVERHEAD)
		return -EBADMSG;
	if (gk_open(kr, in, len, 1, out))
		return -EBADMSG;
	*out_len = len - GK_PKT_OVERHEAD;
	return 0;
}

int gk_seal_stream(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t **out,
		   size_t *out_len)
{
	uint32_t be;
	uint8_t *p;

	if (!kr->n)
		return -ENOKEY;
	if (len > GW_STREAM_MAX)
		return -EMSGSIZE;
	p = malloc(len + GK_STREAM_OVERHEAD);
	if (!p)
		return -ENOMEM;
	p[0] = GW_SEALED_STREAM;
	be = htobe32(len + GK_STREAM_OVERHEAD - 5);
	memcpy(p + 1, &be, 4);
	gk_seal(kr, in, len, p, 5);
	*out = p;
	*out_len = len + GK_STREAM_OVERHEAD;
	return 0;
}

int gk_open_stream(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t **out,
		   size_t *out_len)
{
	uint32_t be;
	uint8_t *p;

	if (len < GK_STREAM_OVERHEAD || in[0] != GW_SEALED_STREAM)
		return -EBADMSG;
	/* The length is checked against the limit before anything is read
	 * or allocated (a transport reading a real stream does the same). */
	memcpy(&be, in + 1, 4);
	be = be32toh(be);
	if (be > GW_STREAM_MAX + GK_STREAM_OVERHEAD || be != len - 5)
		return -EMSGSIZE;
	p = malloc(len - GK_STREAM_OVERHEAD + 1);
	if (!p)
		return -ENOMEM;
	if (gk_open(kr, in, len, 5, p)) {
		free(p);
		return -EBADMSG;
	}
	*out = p;
	*out_len = len - GK_STREAM_OVERHEAD;
	return 0;
}
