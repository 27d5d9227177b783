/* run.c: tests/sim/run [-s SEED] [SCENARIO...]: run the simulator's
 * scenarios (all by default), print their `key value` figures and one
 * closing line; exit 0 when every assertion held, 1 otherwise, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scenarios.h"

int sim_failures(void);

static void usage(void)
{
	unsigned i;

	fprintf(stderr, "usage: run [-s SEED] [SCENARIO...]\nscenarios:\n");
	for (i = 0; i < sim_nscenarios; i++)
		fprintf(stderr, "  %-6s %s\n", sim_scenarios[i].name, sim_scenarios[i].help);
	exit(2);
}

static int run_one(const struct scenario *sc, uint64_t seed)
{
	struct timespec a, b;
	int before = sim_failures();

	clock_gettime(CLOCK_MONOTONIC, &a);
	sc->fn(seed);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%s.wall_s %.1f\n", sc->name,
	       (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	printf("%s %s\n", sc->name, sim_failures() == before ? "ok" : "FAILED");
	fflush(stdout);
	return sim_failures() != before;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	unsigned i, ran = 0, failed = 0;
	int c, a;

	while ((c = getopt(argc, argv, "s:h")) != -1) {
		if (c == 's')
			seed = strtoull(optarg, NULL, 0);
		else
			usage();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);	/* progress visible through a pipe */
	printf("seed %llu\n", (unsigned long long)seed);
	for (i = 0; i < sim_nscenarios; i++) {
		if (optind < argc) {
			for (a = optind; a < argc && strcmp(argv[a], sim_scenarios[i].name); a++)
				;
			if (a == argc)
				continue;
		} else if (sim_scenarios[i].bench) {
			continue;
		}
		failed += run_one(&sim_scenarios[i], seed);
		ran++;
	}
	if (!ran)
		usage();
	printf("sim: %u scenarios, %u passed, %u failed\n", ran, ran - failed, failed);
	return failed ? 1 : 0;
}
