/* stats.h: the agent's counters and latency histograms, kept by netmgr and
 * peers, rendered as Prometheus text by metrics.c. Plain integers touched
 * only from the loop thread: no atomics needed. */
#ifndef OVN_STATS_H
#define OVN_STATS_H

#include <stdint.h>

/* Upper bounds in seconds; the last bucket is +Inf. */
#define STATS_BUCKETS 12
extern const double stats_bounds[STATS_BUCKETS - 1];

struct stats_hist {
	uint64_t count[STATS_BUCKETS];	/* per bucket, not cumulative */
	uint64_t n;
	double sum;			/* seconds */
};

void stats_observe(struct stats_hist *h, double seconds);

struct nm_stats {
	uint64_t attach_ok, attach_err, detach_ok, detach_err;
	uint64_t attach_races_lost;	/* address taken by another agent, retried */
	uint64_t create_ok, create_err, remove_ok, remove_err;
	uint64_t dp_errors;		/* failed dataplane calls */
	uint64_t store_errors;		/* failed store requests */
	uint64_t reconcile_runs, orphans_removed, endpoints_restored, endpoints_forgotten;
	uint64_t watch_events, resyncs;
	uint64_t gossip_applied;	/* endpoint events gossip delivered first */
	uint64_t gossip_replays_dropped;	/* "ep+" the store did not confirm */
	uint64_t peers_withdrawn;	/* entries pruned for failed hosts */
	struct stats_hist attach, detach, store_txn;
};

#endif
