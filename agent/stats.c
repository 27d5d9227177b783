/* stats.c: histogram buckets shared by every latency the agent reports. */
#include "stats.h"

/* 100 us .. 2.5 s: attach is ~1 ms, a remote store ~0.1-2 ms, a stuck one
 * its timeout. */
const double stats_bounds[STATS_BUCKETS - 1] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5,
};

void stats_observe(struct stats_hist *h, double seconds)
{
	int i = 0;

	while (i < STATS_BUCKETS - 1 && seconds > stats_bounds[i])
		i++;
	h->count[i]++;
	h->n++;
	h->sum += seconds;
}
