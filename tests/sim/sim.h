/* sim.h: a deterministic discrete-event simulator for the gossip core.
 *
 * N cores run in one process against virtual time (ms). The network delivers
 * datagrams after a latency drawn from [lat_min_ms, lat_min_ms + jitter_ms],
 * drops a share `loss` of them, and drops everything between nodes in
 * different partition groups or to a node that is down. Streams (push-pull,
 * TCP ping) are reliable but pay a 200 ms retransmission per lost segment
 * (drawn from the same loss), are refused by a down node, and vanish across
 * a partition (the core's own stream timeout fires). Everything random comes
 * from one seed, so a run is reproducible bit for bit.
 *
 * Node i is 198.18.(i+1)/256.(i+1)%256 port 7946, named "n<i>".
 */
#ifndef OVN_SIM_H
#define OVN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

struct sim;

struct sim_node {
	struct sim *sim;
	int idx;
	char name[24];
	struct gossip_addr addr;
	struct gossip *g;		/* NULL when down */
	int group;			/* partition group */
	uint64_t rng;
	uint64_t scheduled;		/* tick time queued, UINT64_MAX none */
	uint64_t pkts_sent, bytes_sent, pkts_recv;
	uint64_t events_recv;
	uint64_t started_ms;
	/* Members the core sees live, self included, counted from its join,
	 * fail and leave callbacks: sim_converged() skips its O(N^2) check
	 * while any node's count is off. */
	size_t live;
};

/* Scenario hooks; any may be NULL. `at` is the observing node. */
struct sim_hooks {
	void (*on_join)(struct sim *s, struct sim_node *at, const struct gossip_member *m);
	void (*on_fail)(struct sim *s, struct sim_node *at, const struct gossip_member *m);
	void (*on_leave)(struct sim *s, struct sim_node *at, const struct gossip_member *m);
	void (*on_event)(struct sim *s, struct sim_node *at, const char *name,
			 const void *payload, size_t len, uint64_t ltime);
	void *arg;
};

struct sim {
	uint64_t now;
	uint64_t rng;
	struct sim_node *node;
	size_t n;
	struct gossip_config base;	/* every node's config, name/addr set per node */
	struct sim_hooks hooks;
	double loss;
	uint32_t lat_min_ms, jitter_ms;
	/* counters */
	uint64_t pkts, pkts_lost, pkts_cut, bytes, streams;
	uint64_t false_fails;		/* on_fail about a member that is up */
	uint64_t fails, leaves;
	/* event queue (binary heap) */
	struct sim_ev *heap;
	size_t nheap, capheap;
	uint64_t seq;
};

struct sim *sim_new(size_t n, uint64_t seed);
void sim_free(struct sim *s);
uint32_t sim_rand(struct sim *s);

/* Start node i (gossip_new with s->base) and join it to the given seeds. */
int sim_start(struct sim *s, size_t i, const size_t *seeds, size_t nseeds);
/* Crash node i: no leave, no more packets. */
void sim_kill(struct sim *s, size_t i);
/* Graceful leave of node i (it keeps running until killed). */
void sim_leave(struct sim *s, size_t i);
/* Process every event up to and including time t; s->now = t after. */
void sim_run_until(struct sim *s, uint64_t t);
/* Call the core of node i from a scenario (reschedules its timer). */
void sim_touch(struct sim *s, size_t i);

/* Members of node i in state mask, and whether every up node sees exactly
 * the up nodes as live. */
size_t sim_live_count(struct sim *s, size_t i);
bool sim_converged(struct sim *s);
struct sim_node *sim_node_by_name(struct sim *s, const char *name);

#endif
