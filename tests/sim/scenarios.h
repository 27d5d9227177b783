/* scenarios.h: the simulator's scenarios. Each prints its figures as
 * `key value` lines (prefixed with the scenario name) and returns 0 when
 * every assertion held, 1 otherwise. */
#ifndef OVN_SIM_SCENARIOS_H
#define OVN_SIM_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>

struct scenario {
	const char *name;
	int (*fn)(uint64_t seed);
	const char *help;
	bool bench;	/* long: runs only when named, not by default */
};

extern const struct scenario sim_scenarios[];
extern const unsigned sim_nscenarios;

#endif
