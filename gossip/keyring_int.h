/* keyring_int.h: the gossip keyring and AEAD envelopes, private to gossip/.
 *
 * Cipher: XChaCha20-Poly1305 (IETF) from libsodium, 32-byte keys, 24-byte
 * random nonces (safe to draw at random, unlike GCM's 12 bytes). We do not
 * pick AES-256-GCM even where the CPU has it: libsodium offers it only with
 * AES-NI, and every member must speak the same cipher whatever its CPU.
 *
 *   packet:  GW_SEALED_PKT | nonce(24) | ciphertext | tag(16)
 *            additional data: the first byte
 *   stream:  GW_SEALED_STREAM | len(4, BE, bytes after it) | nonce | ct | tag
 *            additional data: the first five bytes
 *
 * keys[0] is the primary (seals); opening tries every key, primary first.
 * No replay protection (as memberlist): the protocol's rules are idempotent.
 */
#ifndef OVN_GOSSIP_KEYRING_INT_H
#define OVN_GOSSIP_KEYRING_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

#define GK_NONCE_LEN		24
#define GK_TAG_LEN		16
#define GK_PKT_OVERHEAD		(1 + GK_NONCE_LEN + GK_TAG_LEN)
#define GK_STREAM_OVERHEAD	(1 + 4 + GK_NONCE_LEN + GK_TAG_LEN)

struct gkeyring {
	uint8_t key[GOSSIP_KEYS_MAX][GOSSIP_KEY_LEN];
	size_t n;
};

int gk_init(void);	/* sodium_init(); 0 or -EIO */
int gk_install(struct gkeyring *kr, const uint8_t *key);
int gk_use(struct gkeyring *kr, const uint8_t *key);
int gk_remove(struct gkeyring *kr, const uint8_t *key);
void gk_wipe(struct gkeyring *kr);

/* Seal len bytes into out (cap >= len + GK_PKT_OVERHEAD). 0, -ENOKEY, -ENOSPC. */
int gk_seal_pkt(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		size_t cap, size_t *out_len);
/* Open a sealed packet into out (cap >= len). 0, -EBADMSG (no key opened it). */
int gk_open_pkt(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t *out,
		size_t cap, size_t *out_len);
/* Streams: *out is malloc()ed. 0, -ENOKEY, -EBADMSG, -EMSGSIZE, -ENOMEM. */
int gk_seal_stream(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t **out,
		   size_t *out_len);
int gk_open_stream(const struct gkeyring *kr, const uint8_t *in, size_t len, uint8_t **out,
		   size_t *out_len);

#endif
