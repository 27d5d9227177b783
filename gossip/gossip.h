/* gossip.h: ovn's cluster membership, failure detection and event
 * dissemination. A SWIM protocol core with HashiCorp Lifeguard's extensions,
 * after memberlist + Serf (research notes: shared specs/gossip.md).
 *
 * The core is a pure state machine: it consumes packets, stream requests and
 * timer ticks and produces packets, stream requests and callbacks. I/O, time
 * and randomness are injected (struct gossip_io), so the same code runs in the
 * agent (gossip_uv.c) and in the deterministic simulator (tests/sim).
 *
 * Member states, as seen by one node (incarnations only grow; only the member
 * itself raises its own, to refute):
 *
 *	         alive(i > j)                  suspicion timer fires
 *	 (new) ----------------> ALIVE ---> SUSPECT ------------------> DEAD
 *	                          ^  | suspect(i >= j)   |                 |
 *	                          |  +-------------------+--> dead(i >= j) |
 *	                          +---- alive(i > j) (refuted) <-----------+
 *	                          |  dead(from == itself)
 *	                          +--------------------------> LEFT
 *	DEAD and LEFT records are kept gossip_to_dead_ms, then reaped; reaped DEAD
 *	members are retried (push-pull) for reconnect_timeout_ms so the two halves
 *	of a healed partition find each other again.
 *
 * Driving the core: call gossip_tick() whenever now >= gossip_next_deadline()
 * (and after any call, the deadline may have moved earlier); feed every UDP
 * datagram to gossip_input() and every inbound stream request to
 * gossip_stream_serve(); report the outcome of each io->stream() request with
 * gossip_stream_done(). All calls are for one thread.
 *
 * Callbacks run from inside gossip_input/gossip_tick/gossip_stream_*; the
 * member and strings they get are borrowed until they return. They may call
 * gossip_event_send() and the read-only calls, never gossip_free().
 */
#ifndef OVN_GOSSIP_H
#define OVN_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOSSIP_NAME_MAX		64	/* node name, bytes, no NUL inside */
#define GOSSIP_META_MAX		512	/* node metadata (tags), bytes */
#define GOSSIP_EVENT_NAME_MAX	64
#define GOSSIP_EVENT_MAX	512	/* event name + payload, bytes */
#define GOSSIP_KEY_LEN		32	/* XChaCha20-Poly1305 key */
#define GOSSIP_KEYS_MAX		8	/* installed keys */
#define GOSSIP_PACKET_MAX	1400	/* default UDP budget, crypto included */

struct gossip;

/* An underlay endpoint. ip is in network byte order (IPv4 in ip[0..3]). */
struct gossip_addr {
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint16_t port;			/* host byte order */
	uint8_t ip[16];
};

enum gossip_state {
	GOSSIP_ALIVE,
	GOSSIP_SUSPECT,
	GOSSIP_DEAD,
	GOSSIP_LEFT,
};

/* A view of one member; pointers are borrowed (see the header comment). */
struct gossip_member {
	const char *name;
	struct gossip_addr addr;
	uint32_t incarnation;
	enum gossip_state state;
	const uint8_t *meta;		/* tags, see gossip_tags_encode() */
	size_t meta_len;
	bool is_self;
	int32_t rtt_ms;			/* last direct probe's round trip, -1 unknown */
};

/* Timing and sizes; gossip_config_lan() fills memberlist's LAN defaults
 * (specs/gossip.md section 5). Times in milliseconds. */
struct gossip_config {
	char name[GOSSIP_NAME_MAX + 1];	/* unique in the cluster */
	struct gossip_addr addr;	/* advertised UDP+TCP endpoint */
	uint32_t probe_interval_ms;	/* 1000: one probe per interval */
	uint32_t probe_timeout_ms;	/* 500: wait for a direct ack */
	uint32_t indirect_checks;	/* 3: relays for an indirect probe */
	uint32_t retransmit_mult;	/* 4: sends = mult * ceil(log10(n + 1)) */
	uint32_t suspicion_mult;	/* 4: min = mult * max(1, log10 n) * interval */
	uint32_t suspicion_max_mult;	/* 6: max = mult * min */
	uint32_t awareness_max;		/* 8: probe interval up to 8x when unhealthy */
	uint32_t gossip_interval_ms;	/* 200 */
	uint32_t gossip_nodes;		/* 3: fan-out of a gossip round */
	uint32_t gossip_to_dead_ms;	/* 30000: keep and gossip to the dead */
	uint32_t pushpull_interval_ms;	/* 30000, stretched above 32 members */
	uint32_t stream_timeout_ms;	/* 10000: a stream request gives up */
	uint32_t reconnect_interval_ms;	/* 30000: retry one failed member */
	uint64_t reconnect_timeout_ms;	/* 24 h: forget a failed member */
	uint64_t dead_reclaim_ms;	/* 0 = a dead name never moves address */
	uint32_t join_retry_ms;		/* 1000, doubling up to 30 s */
	uint32_t packet_max;		/* 1400: UDP bytes per packet, sealed */
	uint32_t queue_max;		/* 4096: queued broadcasts */
	uint32_t event_buffer;		/* 512: de-duplication window (LTimes) */
	bool tcp_ping;			/* true: stream ping when UDP probes fail */
	/* Ours, not memberlist's (0 there): pings a suspect gets from each
	 * member holding a suspicion timer, in the last probe timeouts before
	 * the timer fires, so a missed refutation still arrives (2). */
	uint32_t suspicion_pings;
	/* false (memberlist): events wait for the next gossip round. true: a
	 * new event is sent to gossip_nodes members at once, by its origin and
	 * by every node that receives it first (ovn's latency target). */
	bool eager_events;
	/* false (Serf's join default): events older than the seed's clock at
	 * join time are not replayed to a joining node. */
	bool event_replay_on_join;
};

struct gossip_io {
	/* One UDP datagram. The result is only counted. */
	int (*send)(void *ctx, const struct gossip_addr *to, const void *buf, size_t len);
	/* One request/response exchange over a stream (TCP): deliver buf to
	 * the peer's gossip_stream_serve(), then report its answer (or the
	 * failure) with gossip_stream_done(g, token, ...), never from inside
	 * this call. The buffer is borrowed until return. */
	int (*stream)(void *ctx, const struct gossip_addr *to, const void *buf, size_t len,
		      uint64_t token);
	uint64_t (*now_ms)(void *ctx);	/* monotonic */
	uint32_t (*rand)(void *ctx);	/* protocol choices, not key material */
	void *ctx;
};

struct gossip_cb {
	void (*on_member_join)(void *arg, const struct gossip_member *m);
	void (*on_member_leave)(void *arg, const struct gossip_member *m);
	void (*on_member_fail)(void *arg, const struct gossip_member *m);
	void (*on_member_update)(void *arg, const struct gossip_member *m);
	/* A user event from another member, once per (ltime, name, payload).
	 * The sender does not get its own events. name is NUL-terminated.
	 * Events can arrive out of Lamport order (two in one packet go newest
	 * first; push-pull replays oldest first): a receiver that keeps state
	 * per key (an endpoint) must compare ltime, not trust arrival order. */
	void (*on_event)(void *arg, const char *name, const void *payload, size_t len,
			 uint64_t ltime);
	void *arg;
};

struct gossip_stats {
	uint64_t pkts_out, pkts_in, bytes_out, bytes_in;
	uint64_t streams_out, streams_in;
	uint64_t auth_failures;		/* sealed input no key opened, or plain
					 * input while keyed (no downgrade) */
	uint64_t malformed;		/* dropped by the decoder */
	uint64_t probes, probe_failures, indirect_probes, tcp_ping_rescues;
	uint64_t suspicions;		/* members this node suspected itself */
	uint64_t refutations;		/* times this node refuted a suspicion */
	uint64_t declared_dead;		/* suspicion timers that fired here */
	uint64_t broadcasts_dropped;	/* queue over queue_max */
	uint64_t events_in, events_dup, events_old;
	uint64_t pushpulls;		/* completed, both directions */
};

void gossip_config_lan(struct gossip_config *cfg);
/* ovn's profile, what the agent runs: the LAN defaults with 333 ms probes
 * (150 ms timeout), suspicion_mult 1, eager events to 5 members and a 10 s
 * reconnect interval: failures confirmed in about 1.3 s at 50 members for
 * about 2x serf's idle bytes (gossip.c says how it was chosen). */
void gossip_config_ovn(struct gossip_config *cfg);

/* Copies cfg, io and cb. 0, -EINVAL (bad name/config), -ENOMEM. */
int gossip_new(const struct gossip_config *cfg, const struct gossip_io *io,
	       const struct gossip_cb *cb, struct gossip **out);
void gossip_free(struct gossip *g);

/* Push-pull with every seed (addresses; our own is skipped); retried with
 * backoff until one answers. Asynchronous: 0 or -EINVAL/-ENOMEM. */
int gossip_join(struct gossip *g, const struct gossip_addr *seeds, size_t n);
/* Announce a graceful leave (others see LEFT, not DEAD) and stop probing.
 * Keep ticking the core ~1 s so the announcement spreads, then free it. */
int gossip_leave(struct gossip *g);

/* One datagram (borrowed). 0, or the negative errno it was dropped for
 * (-EBADMSG malformed or unauthenticated, -EPROTO wrong version). */
int gossip_input(struct gossip *g, const struct gossip_addr *from, const void *buf, size_t len);
/* Answer one inbound stream request: *resp is malloc()ed, the caller sends
 * it back and frees it. 0 or -errno (then close the stream unanswered). */
int gossip_stream_serve(struct gossip *g, const struct gossip_addr *from, const void *req,
			size_t len, void **resp, size_t *resp_len);
/* Outcome of io->stream(token): status 0 with the peer's answer, or -errno. */
void gossip_stream_done(struct gossip *g, uint64_t token, int status, const void *buf,
			size_t len);
/* Run every timer that is due. */
void gossip_tick(struct gossip *g);
/* Absolute time (io->now_ms clock) of the next timer; UINT64_MAX if none. */
uint64_t gossip_next_deadline(const struct gossip *g);

/* Broadcast a user event (name 1..64 bytes, name + payload <= 512 bytes)
 * stamped with the event Lamport clock. 0, -EINVAL, -EMSGSIZE, -ENOMEM. */
int gossip_event_send(struct gossip *g, const char *name, const void *payload, size_t len);
/* Replace our metadata (<= GOSSIP_META_MAX) and announce it. */
int gossip_set_meta(struct gossip *g, const void *meta, size_t len);

/* Keyring: the primary key seals everything sent; every installed key is
 * tried on receipt. Once a key is installed, plain input is refused.
 * Rotation: install the new key everywhere, use it everywhere, remove the
 * old one everywhere. 0, -EEXIST/-ENOENT, -ENOSPC (full), -EBUSY (removing
 * the primary), -ENOMEM. The first key installed becomes primary. */
int gossip_key_install(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN]);
int gossip_key_use(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN]);
int gossip_key_remove(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN]);
size_t gossip_key_count(const struct gossip *g);

/* Members, self included. find: NULL when unknown. */
bool gossip_member_find(const struct gossip *g, const char *name, struct gossip_member *out);
void gossip_members_foreach(const struct gossip *g,
			    void (*fn)(void *arg, const struct gossip_member *m), void *arg);
/* Members whose state bit (1 << GOSSIP_ALIVE ...) is in mask. */
size_t gossip_member_count(const struct gossip *g, unsigned mask);
#define GOSSIP_MASK_LIVE ((1u << GOSSIP_ALIVE) | (1u << GOSSIP_SUSPECT))

const struct gossip_stats *gossip_stats(const struct gossip *g);
/* Lifeguard local health: 0 (healthy) .. awareness_max - 1. */
unsigned gossip_health(const struct gossip *g);
uint32_t gossip_incarnation(const struct gossip *g);
uint64_t gossip_event_clock(const struct gossip *g);

/* Tags: the metadata convention ovn uses (key=value pairs, e.g. "vtep",
 * "networks"). Encoded as repeated [klen:1][key][vlen:2 BE][value]. */
struct gossip_tag {
	const char *key;		/* 1..255 bytes */
	const char *value;		/* < 64 KiB */
};
/* Bytes written, -EINVAL, or -EMSGSIZE when out (size cap) is too small. */
int gossip_tags_encode(const struct gossip_tag *tags, size_t n, uint8_t *out, size_t cap);
/* Copy the value of key into buf (NUL-terminated): its length, -ENOENT,
 * -EBADMSG (malformed meta), -ENAMETOOLONG (buf too small). */
int gossip_tag_get(const uint8_t *meta, size_t len, const char *key, char *buf, size_t size);

/* ---- libuv transport (gossip_uv.c) ----
 * Runs one core on a libuv loop: UDP and TCP on cfg->addr (one port for
 * both; port 0 picks a free one, then cfg->addr.port tells it), datagrams to
 * gossip_input, each TCP connection one request/answer exchange, the core's
 * timer re-armed before every poll. Call the core (join, events, keys)
 * through gossip_uv_core() from the loop's thread. */
struct uv_loop_s;
struct gossip_uv;

int gossip_uv_new(struct uv_loop_s *loop, const struct gossip_config *cfg,
		  const struct gossip_cb *cb, struct gossip_uv **out);
struct gossip *gossip_uv_core(struct gossip_uv *u);
/* The advertised address (with the port picked when cfg asked for 0). */
const struct gossip_addr *gossip_uv_addr(const struct gossip_uv *u);
/* Asynchronous: closes every handle and frees the core, then cb(arg). */
void gossip_uv_close(struct gossip_uv *u, void (*cb)(void *arg), void *arg);

#endif
