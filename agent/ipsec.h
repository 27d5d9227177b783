/* ipsec.h: IPsec ESP for encrypted networks (agent/ipsec.c), the part of
 * netmgr that keeps the kernel's XFRM states and policies in step with the
 * hosts this one shares encrypted networks with, and the keys for them.
 * See docs/encryption.md for the design and its reasons.
 *
 * Key records live in the store under /keys/<node>, one per host, written
 * only by that host: the host's current inbound secret (and the previous
 * one during a rotation's grace period). The key of the direction S -> H
 * is derived from H's secret, S's and H's VTEP and the generation, so H
 * can install its inbound state before any sender has read the record.
 */
#ifndef OVN_IPSEC_H
#define OVN_IPSEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "dataplane.h"
#include "kvstore.h"
#include "ovn_err.h"

#define IPSEC_SECRET_LEN 32
/* ESP overhead in transport mode with AES-GCM: header 8 (SPI, sequence) +
 * IV 8 + ICV 16 + trailer 2 (pad length, next header) + padding up to 3 to
 * a 4-byte boundary = 37 at most, taken as 40 so the inner MTU stays a
 * multiple of 4. Encrypted networks default to the plain MTU minus this. */
#define IPSEC_OVERHEAD 40

struct ipsec_key {
	uint32_t gen;			/* 0 = none */
	uint8_t secret[IPSEC_SECRET_LEN];
};

/* One host's key record. */
struct ipsec_host {
	char node[64];
	struct ovn_ip vtep;		/* IPv4 */
	struct ipsec_key cur, prev;	/* prev.gen 0: no rotation in grace */
	uint64_t prev_until;		/* unix seconds: prev is dropped then */
	uint64_t rotated;		/* unix seconds of cur's creation */
};

/* ---- pure parts (unit-tested) ---- */

/* The state for traffic src -> dst under key k (dst's secret): SPI
 * (>= DP_XFRM_SPI_MIN) and AES-GCM key + salt, both from keyed BLAKE2b. */
void ipsec_derive(const struct ipsec_key *k, const struct ovn_ip *src, const struct ovn_ip *dst,
		  struct dp_sa *sa);
json_t *ipsec_host_to_json(const struct ipsec_host *h);
/* 0, or -EINVAL with err naming the bad field; h is untouched then. */
int ipsec_host_from_json(struct ipsec_host *h, const json_t *j, struct ovn_err *err);

/* ---- in netmgr (netmgr_int.h has the rest) ---- */
struct netmgr;
struct kv_event;

/* Probe the kernel and set up; never fails the agent (encrypted networks
 * are then refused with the reason). */
int ipsec_new(struct netmgr *nm);
/* Load key records (own one created if absent), start the tick. */
void ipsec_start(struct netmgr *nm);
/* Asynchronous: timers close on the loop; kernel state stays. */
void ipsec_free(struct netmgr *nm);
/* 0 when encrypted networks can work on this host, else -errno + why. */
int ipsec_supported(struct netmgr *nm, struct ovn_err *err);
/* Before an encrypted network's vx- device exists: the block policies, so
 * nothing on port 4790 can leave or enter in clear even for an instant. */
int ipsec_prepare(struct netmgr *nm, struct ovn_err *err);
/* Something changed (peers, devices, keys): converge soon (coalesced). */
void ipsec_kick(struct netmgr *nm);
/* Converge now; returns how many objects were added or deleted. */
int ipsec_sync(struct netmgr *nm);
/* Store watch: /keys/<node> put or deleted. */
void ipsec_on_key(struct netmgr *nm, const char *node, const struct kv_event *ev);
/* Re-read all key records (after a watch gap, and every reconcile). */
void ipsec_relist(struct netmgr *nm);
/* Rotate this host's key now (the tick does it every rotate_interval). */
int ipsec_rotate(struct netmgr *nm, struct ovn_err *err);
/* {"supported", "reason"?, "generation", "rotations", "peers", "states",
 * "policies"} for the status call. */
json_t *ipsec_status(struct netmgr *nm);

#endif
