/* gossip_int.h: the core's private state, shared by the gossip/ sources:
 *	gossip.c	lifecycle, input dispatch, timers, public getters
 *	member.c	member table, alive/suspect/dead rules, refutation, reaping
 *	suspicion.c	Lifeguard suspicion timers
 *	probe.c		probe cycle, indirect probes and relays, local health
 *	dissem.c	broadcast queue, piggybacking, gossip rounds
 *	event.c		user events: Lamport clock, de-duplication ring
 *	pushpull.c	streams: push-pull sync, join, reconnect, TCP ping
 *	keyring.c	keys and AEAD envelopes;	wire.c	the codec
 */
#ifndef OVN_GOSSIP_INT_H
#define OVN_GOSSIP_INT_H

#include <string.h>
#include <sys/socket.h>

#include "gossip.h"
#include "keyring_int.h"
#include "wire.h"

#define GSUSP_ACCUSERS_MAX	16	/* confirmations remembered per suspicion */
#define GPROBE_RELAYS_MAX	64	/* indirect pings we relay at once */
#define GSTREAMS_MAX		128	/* stream requests in flight */
#define GFAILED_MAX		1024	/* reaped failed members kept for reconnect */
#define GJOIN_SEEDS_MAX		16
#define GJOIN_RETRY_MAX_MS	30000
#define GPKT_IN_MAX		9216	/* largest datagram accepted (jumbo) */

struct gsusp;

/* One member as this node knows it. Every node holds one per member of the
 * cluster, so the record is kept small (the simulator runs 10,000 nodes of
 * 10,000 members each): the name is stored inline at its exact length, the
 * name index needs no chain pointer, the rare suspicion timer is found
 * through g->susp, and the public view (struct gossip_member) is built on
 * demand by gm_view(). 48 bytes plus the name and its NUL, against 176 when
 * it embedded the view and a 65-byte name. */
struct gmember {
	uint8_t *meta;			/* meta_len bytes; NULL when empty */
	uint64_t state_ms;		/* when state last changed */
	uint32_t inc;			/* incarnation */
	int32_t rtt_ms;			/* last direct probe's round trip, -1 unknown */
	struct gossip_addr addr;
	uint16_t meta_len;		/* <= GOSSIP_META_MAX */
	uint8_t state;			/* enum gossip_state */
	uint8_t name_len;		/* <= GOSSIP_NAME_MAX */
	char name[];			/* name_len bytes + NUL */
};

/* Lifeguard LHA-Suspicion: starts at max, shrinks with each independent
 * confirmation towards min (specs/gossip.md 4.3). */
struct gsusp {
	struct gmember *m;
	uint32_t inc;			/* incarnation suspected */
	uint32_t k;			/* confirmations expected */
	uint32_t n;			/* confirmations so far */
	uint32_t pings;			/* last-chance pings sent */
	uint64_t start_ms, min_ms, max_ms, deadline_ms;
	uint32_t accusers[GSUSP_ACCUSERS_MAX];	/* name hashes */
	size_t nacc;
};

/* A queued piggyback message. Every node queues one per member it learns
 * (thousands while a big cluster forms), so it is allocated at its exact
 * size and its length is read from the message header (gd_len()). */
struct gbcast {
	uint64_t id;			/* insertion order: larger is newer */
	uint64_t key;			/* node name hash (membership), 0 = none */
	uint16_t transmits;		/* saturates: limits above 65535 never end */
	uint8_t msg[];			/* gw_msg_hdr + body */
};

/* The probe this node is running (one at a time, as SWIM). */
struct gprobe {
	bool active, acked, indirect;
	uint32_t seq;
	char target[GOSSIP_NAME_MAX + 1];
	uint64_t start_ms, ack_deadline_ms, end_ms;
	uint32_t expected_nacks, nacks;
};

/* An indirect ping we relay: our own ping to the target, answered upstream. */
struct grelay {
	uint32_t seq;			/* our ping's */
	uint32_t orig_seq;		/* the requester's */
	struct gossip_addr requester;
	bool nack;
	uint64_t deadline_ms;
};

enum gstream_kind { GSTREAM_PUSHPULL, GSTREAM_JOIN, GSTREAM_PING };

struct gstream {
	uint64_t token;
	enum gstream_kind kind;
	uint32_t seq;			/* GSTREAM_PING: the probe's seq */
	uint64_t deadline_ms;
};

struct gfailed {
	char name[GOSSIP_NAME_MAX + 1];
	struct gossip_addr addr;
	uint64_t since_ms;
};

/* One LTime slot of the de-duplication ring: the events seen at that time. */
struct gev {
	uint64_t hash;
	uint16_t name_len, len;
	uint8_t *data;			/* name then payload */
};
struct gev_slot {
	uint64_t ltime;
	size_t n;
	struct gev *v;
};

struct gossip {
	struct gossip_config cfg;
	struct gossip_io io;
	struct gossip_cb cb;
	struct gossip_stats stats;
	uint64_t now;			/* io->now_ms at entry of the current call */

	/* members, in probe order (shuffled at each wrap); hash by name */
	struct gmember *self;
	struct gmember **mem;
	size_t nmem, capmem;
	struct gmember **slot;		/* name index, see gm_find() */
	uint16_t *tag;			/* per slot: hash bits of its name */
	size_t nslot;			/* power of two */
	size_t probe_idx;

	struct gsusp **susp;
	size_t nsusp, capsusp;

	struct gprobe probe;
	uint32_t seq;
	unsigned health;
	struct grelay relay[GPROBE_RELAYS_MAX];
	size_t nrelay;

	struct gbcast **bq;
	size_t nbq, capbq;
	uint64_t bq_id;
	size_t bq_minlen;		/* no queued message is shorter */
	bool bq_sorted;

	uint64_t ev_clock;		/* next LTime to stamp */
	uint64_t ev_min;		/* drop events below (join ignore) */
	struct gev_slot *ev_ring;	/* cfg.event_buffer slots */

	struct gstream stream[GSTREAMS_MAX];
	size_t nstream;
	uint64_t stream_token;
	struct gossip_addr seeds[GJOIN_SEEDS_MAX];
	size_t nseeds, join_pending;
	bool joining;
	uint32_t join_backoff_ms;

	struct gfailed *failed;
	size_t nfailed;

	struct gkeyring keys;
	bool leaving;

	uint64_t t_probe, t_gossip, t_pushpull, t_reconnect, t_join;
	uint64_t t_sync_unknown;	/* no sync with unknown pingers before */
	uint8_t pkt[GPKT_IN_MAX];	/* the packet being built */
	/* GPKT_IN_MAX bytes each, allocated with the first key (an unkeyed
	 * core, every simulated one, does without them): */
	uint8_t *sealed;		/* the packet built, sealed */
	uint8_t *in;			/* an input packet, opened */
};

/* gossip.c */
uint32_t g_rand(struct gossip *g);
uint32_t g_rand_n(struct gossip *g, uint32_t n);	/* 0 .. n-1 */
uint32_t g_hash(const void *s, size_t len);
uint64_t g_hash64(const void *s, size_t len);
/* Broadcast queue key of a membership message about a node (never 0). */
static inline uint64_t g_bkey(const void *name, size_t len)
{
	return g_hash64(name, len) | 1;
}
/* Budget for plain bytes in one packet, crypto overhead taken off. */
size_t g_pkt_budget(const struct gossip *g);
/* Fill packet b (begun, with its own messages) with broadcasts, seal if
 * keyed, send. 0 or -errno. */
int g_send_pkt(struct gossip *g, const struct gossip_addr *to, struct gw_buf *b);
/* One message plus piggyback to one member. */
int g_send_msg(struct gossip *g, const struct gossip_addr *to, const void *msg, size_t len);

/* member.c */
struct gmember *gm_find(const struct gossip *g, const uint8_t *name, size_t len);
/* The public view of m; its pointers are borrowed from m. */
void gm_view(const struct gossip *g, const struct gmember *m, struct gossip_member *out);
int gm_add_self(struct gossip *g);
void gm_free_all(struct gossip *g);
void gm_on_alive(struct gossip *g, uint32_t inc, const struct gossip_addr *addr,
		 const struct gw_str *name, const struct gw_str *meta);
void gm_on_suspect(struct gossip *g, uint32_t inc, const struct gw_str *name,
		   const struct gw_str *from);
void gm_on_dead(struct gossip *g, uint32_t inc, const struct gw_str *name,
		const struct gw_str *from);
void gm_announce_self(struct gossip *g);
void gm_reset_probe_list(struct gossip *g);	/* reap + shuffle */
bool gm_is_live(const struct gmember *m);
size_t gm_count(const struct gossip *g, unsigned mask);
/* Up to k distinct random members accepted by ok(), self excluded. */
size_t gm_random(struct gossip *g, size_t k, bool (*ok)(struct gossip *g,
		 const struct gmember *m, const void *arg), const void *arg,
		 struct gmember **out);
/* Pick a reaped failed member to retry (expired ones are dropped first). */
bool gm_failed_pick(struct gossip *g, struct gfailed *out);
int gm_self_update(struct gossip *g, const void *meta, size_t len);

/* suspicion.c */
void gs_start(struct gossip *g, struct gmember *m, uint32_t inc, const char *from);
/* A further accusation; true when it came from a new accuser. */
bool gs_confirm(struct gossip *g, struct gmember *m, const char *from, size_t from_len);
void gs_stop(struct gossip *g, struct gmember *m);
/* The running timer of m, NULL when none. */
struct gsusp *gs_find(const struct gossip *g, const struct gmember *m);
void gs_free_all(struct gossip *g);
void gs_tick(struct gossip *g);
uint64_t gs_next(const struct gossip *g);
/* Timer length after n of k confirmations (pure, for tests). */
uint64_t gs_timeout(uint64_t min_ms, uint64_t max_ms, uint32_t k, uint32_t n);
uint64_t gs_min_ms(const struct gossip_config *cfg, size_t nmembers);
double gs_ln(double x);		/* x >= 1 */

/* probe.c */
void gp_tick(struct gossip *g);
uint64_t gp_next(const struct gossip *g);
void gp_on_ping(struct gossip *g, const struct gossip_addr *from, const struct gw_msg *m);
void gp_on_iping(struct gossip *g, const struct gossip_addr *from, const struct gw_msg *m);
void gp_on_ack(struct gossip *g, const struct gw_msg *m);
void gp_on_nack(struct gossip *g, const struct gw_msg *m);
void gp_on_tcp_ack(struct gossip *g, uint32_t seq);
void gp_health_add(struct gossip *g, int delta);
/* Ping m (with our suspicion of it first, if any: Lifeguard's buddy system). */
void gp_send_ping(struct gossip *g, const struct gmember *m, uint32_t seq);

/* dissem.c */
uint32_t gd_retransmit_limit(const struct gossip *g);
/* Queue an encoded message; key != 0 replaces a queued one with that key. */
int gd_queue(struct gossip *g, uint64_t key, const void *msg, size_t len);
/* Append queued broadcasts that fit in budget bytes to packet b. */
void gd_fill(struct gossip *g, struct gw_buf *b, size_t budget);
void gd_round(struct gossip *g);	/* one gossip round to the fan-out */
void gd_free_all(struct gossip *g);

/* event.c */
int ge_init(struct gossip *g);
void ge_free(struct gossip *g);
/* A received (or replayed) event: dedup, deliver, re-broadcast. */
void ge_on_event(struct gossip *g, const struct gw_msg *m);
int ge_send(struct gossip *g, const char *name, const void *payload, size_t len);
void ge_witness(struct gossip *g, uint64_t ltime);
/* Calls fn for each buffered event, oldest LTime first. */
void ge_foreach(const struct gossip *g, void (*fn)(void *arg, uint64_t ltime,
		const struct gev *e), void *arg);

/* pushpull.c */
void gpp_tick(struct gossip *g);
uint64_t gpp_next(const struct gossip *g);
int gpp_join(struct gossip *g, const struct gossip_addr *seeds, size_t n);
int gpp_tcp_ping(struct gossip *g, const struct gossip_addr *to, const char *target,
		 uint32_t seq);
int gpp_serve(struct gossip *g, const struct gossip_addr *from, const uint8_t *req,
	      size_t len, void **resp, size_t *resp_len);
void gpp_done(struct gossip *g, uint64_t token, int status, const uint8_t *buf, size_t len);
/* Push-pull with a member that pinged us but is unknown to us (rate-limited). */
void gpp_sync_unknown(struct gossip *g, const struct gossip_addr *to);

static inline bool g_addr_eq(const struct gossip_addr *a, const struct gossip_addr *b)
{
	size_t n = a->family == AF_INET6 ? 16 : 4;

	return a->family == b->family && a->port == b->port && !memcmp(a->ip, b->ip, n);
}

static inline bool g_str_eq(const struct gw_str *s, const char *c)
{
	return strlen(c) == s->len && !memcmp(s->p, c, s->len);
}

#endif
