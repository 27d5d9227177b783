/* scenarios.c: what tests/sim/run checks, each against the figures in the
 * shared spec (specs/gossip.md sections 4, 9 and 11):
 *	join	100 members join through one seed within 1 s: 99.9 % of the
 *		pairs know each other at 5 s, all within 60 s; then one more
 *		joins and we time how fast the others learn it (serf, 11.2:
 *		269/515 ms at 50)
 *	kill	a member crashes (N = 50, 5 trials): time for all others to mark
 *		it failed vs SWIM's 1.58 periods + the suspicion minimum; no
 *		false positives without loss
 *	loss	10 % loss on every datagram for 10 virtual minutes: no live
 *		member declared failed; variants without the TCP ping, without
 *		our last-chance pings and without Lifeguard for comparison
 *	split	two halves cut apart for 90 s (beyond suspicion and reaping),
 *		then healed: both halves merge again (reconnect)
 *	event	an event from one member reaches all N = 1000, time and packets
 *		per member vs Serf's simulator (1.0 s to 50 %, 2.2 s to 99.99 %)
 *	keys	key rotation (install, use, remove) across a running, encrypted
 *		cluster loses no member and fails no packet; a member with only
 *		the old key stays out
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios.h"
#include "sim.h"

#define SEC 1000ull

static int failures;

#define CHECK(scn, cond) do {							\
	if (!(cond)) {								\
		printf("%s.assert_failed \"%s\" (%s:%d)\n", scn, #cond,		\
		       __FILE__, __LINE__);					\
		failures++;							\
	}									\
} while (0)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile of v[0..n) (sorts v). */
static uint64_t pct(uint64_t *v, size_t n, unsigned p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) * p / 100];
}

/* Share of (member, member) pairs known live 5 s into the last build(). */
static double build_known_5s;

static double known_share(struct sim *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += sim_live_count(s, i);
	return (double)k / ((double)n * n);
}

/* Start node 0 alone and nodes 1..n-1 at random times within spread_ms,
 * each joining through node 0; run until converged or the deadline.
 * Returns the convergence time (from t0), or 0 when it did not converge. */
static uint64_t build(struct sim *s, size_t n, uint64_t spread_ms, uint64_t deadline_ms)
{
	uint64_t t0 = s->now, *at = calloc(n, sizeof(*at));
	size_t i, seed = 0;

	if (!at)
		return 0;
	for (i = 1; i < n; i++)
		at[i] = t0 + (spread_ms ? sim_rand(s) % spread_ms : 0);
	sim_start(s, 0, NULL, 0);
	/* Nodes in start-time order; ties by index. */
	for (;;) {
		size_t next = 0;

		for (i = 1; i < n; i++)
			if (!s->node[i].g && !s->node[i].started_ms && (!next || at[i] < at[next]))
				next = i;
		if (!next)
			break;
		sim_run_until(s, at[next]);
		sim_start(s, next, &seed, 1);
		s->node[next].started_ms = s->now ? s->now : 1;
	}
	free(at);
	/* Convergence checks cost O(n^2): look less often in big clusters. */
	build_known_5s = 0;
	while (s->now < t0 + deadline_ms) {
		sim_run_until(s, s->now + (n >= 500 ? 500 : 100));
		if (!build_known_5s && s->now >= t0 + 5 * SEC)
			build_known_5s = known_share(s, n);
		if (sim_converged(s)) {
			if (!build_known_5s)
				build_known_5s = 1.0;
			return s->now - t0;
		}
	}
	return 0;
}

/* ---- 1. join ---- */

struct join_watch {
	const char *name;
	uint64_t t0, *seen;
};

static void join_seen(struct sim *s, struct sim_node *at, const struct gossip_member *m)
{
	struct join_watch *w = s->hooks.arg;

	if (w && w->name && !strcmp(m->name, w->name) && !w->seen[at->idx])
		w->seen[at->idx] = s->now - w->t0 + 1;
}

static int scn_join(uint64_t seed)
{
	const size_t n = 100;
	struct sim *s = sim_new(n + 1, seed);
	struct join_watch w = { 0 };
	uint64_t conv, lat[128];
	size_t i, k = 0, seed0 = 0;

	conv = build(s, n, 1000, 120 * SEC);
	printf("join.nodes %zu\njoin.converge_ms %llu\n", n, (unsigned long long)conv);
	printf("join.known_pairs_at_5s %.5f\n", build_known_5s);
	/* Gossip alone leaves a rare tail (a member no copy reached, spec
	 * 11.4); a ping from the unknown member or push-pull closes it. */
	CHECK("join", build_known_5s >= 0.999);
	CHECK("join", conv && conv <= 60 * SEC);
	w = (struct join_watch){ .name = s->node[n].name, .t0 = s->now,
				 .seen = calloc(n + 1, sizeof(uint64_t)) };
	s->hooks = (struct sim_hooks){ .on_join = join_seen, .arg = &w };
	sim_start(s, n, &seed0, 1);
	sim_run_until(s, s->now + 10 * SEC);
	for (i = 0; i < n; i++)
		if (w.seen[i])
			lat[k++] = w.seen[i] - 1;
	printf("join.late_joiner_seen_by %zu\n", k);
	printf("join.late_joiner_p50_ms %llu\n", (unsigned long long)pct(lat, k, 50));
	printf("join.late_joiner_max_ms %llu\n", (unsigned long long)pct(lat, k, 100));
	printf("join.serf_measured_n50_p50_max_ms 269/515\n");
	CHECK("join", k == n);
	CHECK("join", s->false_fails == 0);
	free(w.seen);
	sim_free(s);
	return 0;
}

/* ---- 2. kill ---- */

struct kill_watch {
	const char *victim;
	uint64_t t0, *seen;
};

static void kill_seen(struct sim *s, struct sim_node *at, const struct gossip_member *m)
{
	struct kill_watch *w = s->hooks.arg;

	if (!strcmp(m->name, w->victim) && !w->seen[at->idx])
		w->seen[at->idx] = s->now - w->t0;
}

/* One trial: the detection times of the survivors in lat[], count returned. */
static size_t kill_trial(uint64_t seed, size_t n, const struct gossip_config *cfg,
			 uint64_t *lat, uint64_t *false_fails)
{
	struct sim *s = sim_new(n, seed);
	struct kill_watch w;
	size_t i, k = 0, victim;

	if (cfg)
		s->base = *cfg;
	if (!build(s, n, 1000, 60 * SEC)) {
		sim_free(s);
		return 0;
	}
	sim_run_until(s, s->now + 5 * SEC);
	victim = 1 + sim_rand(s) % (n - 1);
	w = (struct kill_watch){ .victim = s->node[victim].name, .t0 = s->now,
				 .seen = calloc(n, sizeof(uint64_t)) };
	s->hooks = (struct sim_hooks){ .on_fail = kill_seen, .arg = &w };
	sim_kill(s, victim);
	for (i = 0; i < 600 && k < n - 1; i++) {
		sim_run_until(s, s->now + 100);
		for (k = 0, victim = 0; victim < n; victim++)
			k += w.seen[victim] != 0;
	}
	for (i = 0, k = 0; i < n; i++)
		if (w.seen[i])
			lat[k++] = w.seen[i];
	*false_fails += s->false_fails;
	free(w.seen);
	sim_free(s);
	return k;
}

static void kill_report(const char *pre, uint64_t seed, size_t n, int trials,
			const struct gossip_config *cfg, uint64_t *all_med, uint64_t *ff)
{
	uint64_t lat[64], first[8], p50[8], all[8];
	int t, ok = 0;
	size_t k;

	*ff = 0;
	for (t = 0; t < trials; t++) {
		k = kill_trial(seed + t, n, cfg, lat, ff);
		if (k != n - 1)
			continue;
		first[ok] = pct(lat, k, 0);
		p50[ok] = pct(lat, k, 50);
		all[ok] = pct(lat, k, 100);
		ok++;
	}
	printf("%s.trials_all_detected %d/%d\n", pre, ok, trials);
	printf("%s.detect_first_ms %llu\n", pre, (unsigned long long)pct(first, ok, 50));
	printf("%s.detect_p50_ms %llu\n", pre, (unsigned long long)pct(p50, ok, 50));
	printf("%s.detect_all_ms %llu [%llu-%llu]\n", pre,
	       (unsigned long long)pct(all, ok, 50), (unsigned long long)pct(all, ok, 0),
	       (unsigned long long)pct(all, ok, 100));
	printf("%s.false_fails %llu\n", pre, (unsigned long long)*ff);
	*all_med = ok == trials ? pct(all, ok, 50) : 0;
}

/* The agent's profile, gossip_config_ovn(), with the overrides of SIM_OVN
 * ("probe_interval_ms=333,suspicion_mult=1,...": the knobs below), so a
 * candidate profile can be tried here before it goes into gossip.c. */
static void ovn_profile(struct gossip_config *c)
{
	static const struct {
		const char *name;
		size_t off;
	} knobs[] = {
#define K(f) { #f, offsetof(struct gossip_config, f) }
		K(probe_interval_ms), K(probe_timeout_ms), K(indirect_checks), K(suspicion_mult),
		K(suspicion_max_mult), K(gossip_interval_ms), K(gossip_nodes),
		K(suspicion_pings), K(retransmit_mult),
#undef K
	};
	const char *env = getenv("SIM_OVN");
	char buf[256], *tok, *save = NULL, *eq;

	gossip_config_ovn(c);
	if (!env)
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		for (size_t i = 0; eq && i < sizeof(knobs) / sizeof(knobs[0]); i++)
			if (!strncmp(tok, knobs[i].name, (size_t)(eq - tok)) &&
			    !knobs[i].name[eq - tok])
				*(uint32_t *)((char *)c + knobs[i].off) =
					(uint32_t)strtoul(eq + 1, NULL, 10);
	}
	printf("ovn_profile %s\n", env);
}

static int scn_kill(uint64_t seed)
{
	const size_t n = 50;
	struct gossip_config fast;
	uint64_t med, ff;

	printf("kill.nodes %zu\n", n);
	/* SWIM: first failed probe after 1.58 periods on average; Lifeguard:
	 * then min suspicion once k = 2 others confirmed (6.8 s at n = 50). */
	printf("kill.expected_ms %u (1.58 x 1000 ms + 6800 ms suspicion min)\n", 1580 + 6800);
	printf("kill.serf_measured_n50_all_ms 8857 [8354-10348]\n");
	kill_report("kill", seed, n, 5, NULL, &med, &ff);
	CHECK("kill", med && med >= 5 * SEC && med <= 15 * SEC);
	CHECK("kill", ff == 0);
	/* ovn's target (<= 1.5 s, spec 11.5) with the profile the agent runs
	 * (gossip_config_ovn()). */
	ovn_profile(&fast);
	kill_report("kill_fast", seed + 100, n, 5, &fast, &med, &ff);
	CHECK("kill_fast", med && med <= 3 * SEC);
	CHECK("kill_fast", ff == 0);
	return 0;
}

/* ---- 3. loss ---- */

static void loss_run(const char *pre, uint64_t seed, size_t n, const struct gossip_config *cfg,
		     bool strict)
{
	struct sim *s = sim_new(n, seed);
	uint64_t susp = 0, refute = 0, pkts0 = 0, pkts1 = 0, t0;
	size_t i;

	s->base = *cfg;
	if (!build(s, n, 1000, 60 * SEC)) {
		printf("%s.build_failed 1\n", pre);
		failures++;
		sim_free(s);
		return;
	}
	for (i = 0; i < n; i++)
		pkts0 += s->node[i].pkts_sent;
	s->loss = 0.10;
	t0 = s->now;
	sim_run_until(s, s->now + 600 * SEC);
	for (i = 0; i < n; i++) {
		const struct gossip_stats *st = gossip_stats(s->node[i].g);

		susp += st->suspicions;
		refute += st->refutations;
		pkts1 += s->node[i].pkts_sent;
	}
	printf("%s.virtual_s %llu\n", pre, (unsigned long long)(s->now - t0) / SEC);
	printf("%s.suspicions %llu\n", pre, (unsigned long long)susp);
	printf("%s.refutations %llu\n", pre, (unsigned long long)refute);
	printf("%s.false_fails %llu\n", pre, (unsigned long long)s->false_fails);
	printf("%s.pkts_per_node_per_s %.2f\n", pre,
	       (double)(pkts1 - pkts0) / n / ((s->now - t0) / 1000.0));
	printf("%s.converged_at_end %d\n", pre, sim_converged(s));
	if (strict) {
		CHECK(pre, s->false_fails == 0);
		CHECK(pre, sim_converged(s));
	}
	sim_free(s);
}

static int scn_loss(uint64_t seed)
{
	struct gossip_config cfg;
	const size_t n = 50;

	printf("loss.nodes %zu\nloss.rate 0.10\n", n);
	printf("loss.serf_measured_n50 \"20 suspicions, 1 false failure in 3 runs of ~75 s\"\n");
	gossip_config_lan(&cfg);
	loss_run("loss", seed, n, &cfg, true);
	/* The agent's profile must hold too: no false failure at 10% loss. */
	ovn_profile(&cfg);
	loss_run("loss_ovn", seed, n, &cfg, true);
	gossip_config_lan(&cfg);
	/* For comparison, not asserted: without the TCP ping; then also
	 * without our last-chance pings (memberlist with UDP only); then also
	 * without Lifeguard (no health scaling, fixed suspicion timeout). */
	cfg.tcp_ping = false;
	loss_run("loss_udp_only", seed, n, &cfg, false);
	cfg.suspicion_pings = 0;
	loss_run("loss_memberlist_udp", seed, n, &cfg, false);
	cfg.awareness_max = 1;
	cfg.suspicion_max_mult = 1;
	loss_run("loss_swim", seed, n, &cfg, false);
	return 0;
}

/* ---- 4. split ---- */

static int scn_split(uint64_t seed)
{
	const size_t n = 40;
	struct sim *s = sim_new(n, seed);
	uint64_t t, detect = 0, merged = 0;
	size_t i, j, apart;

	if (!build(s, n, 1000, 60 * SEC)) {
		CHECK("split", !"cluster built");
		sim_free(s);
		return 0;
	}
	for (i = n / 2; i < n; i++)
		s->node[i].group = 1;
	t = s->now;
	while (s->now < t + 90 * SEC) {
		sim_run_until(s, s->now + 100);
		for (i = 0, apart = 0; i < n; i++)
			apart += sim_live_count(s, i) == n / 2;
		if (!detect && apart == n)
			detect = s->now - t;
	}
	for (i = 0; i < n; i++)
		s->node[i].group = 0;
	for (i = 0; i < n; i++)
		sim_touch(s, i);
	t = s->now;
	while (s->now < t + 300 * SEC && !merged) {
		sim_run_until(s, s->now + 100);
		if (sim_converged(s))
			merged = s->now - t;
	}
	for (i = 0, j = 0; i < n; i++)
		j += gossip_stats(s->node[i].g)->refutations;
	printf("split.nodes %zu\nsplit.cut_s 90\n", n);
	printf("split.halves_apart_ms %llu\n", (unsigned long long)detect);
	printf("split.merge_after_heal_ms %llu\n", (unsigned long long)merged);
	printf("split.refutations %zu\n", j);
	/* Within the cut: each half sees the other fail (up to the max
	 * suspicion, 38.4 s at n = 40, with health-slowed probes: a cut
	 * looks like local trouble to Lifeguard, and half the relays fail). */
	CHECK("split", detect);
	CHECK("split", merged && merged <= 120 * SEC);
	sim_free(s);
	return 0;
}

/* ---- 5. event ---- */

struct ev_watch {
	uint64_t t0, *seen;
};

static void ev_seen(struct sim *s, struct sim_node *at, const char *name, const void *p,
		    size_t len, uint64_t ltime)
{
	struct ev_watch *w = s->hooks.arg;

	if (!strcmp(name, "ep.join") && !w->seen[at->idx])
		w->seen[at->idx] = s->now - w->t0 + 1;
}

static void ev_run(const char *pre, uint64_t seed, size_t n, bool eager,
		   const struct gossip_config *profile)
{
	struct sim *s = sim_new(n, seed);
	uint64_t *lat = calloc(n, sizeof(*lat)), idle0 = 0, idle1 = 0, p0 = 0, p1 = 0, b0 = 0;
	uint64_t b1 = 0, conv, t_all = 0;
	struct ev_watch w = { .seen = calloc(n, sizeof(uint64_t)) };
	size_t i, k;
	const char payload[] = "net=web ip4=198.19.0.5 mac=02:42:c6:13:00:05 vtep=198.18.0.1";

	if (profile)
		s->base = *profile;
	s->base.eager_events = eager;
	conv = build(s, n, 10 * SEC, 300 * SEC);
	printf("%s.nodes %zu\n%s.build_converge_ms %llu\n", pre, n, pre, (unsigned long long)conv);
	CHECK(pre, conv);
	sim_run_until(s, s->now + 10 * SEC);
	for (i = 0; i < n; i++)
		idle0 += s->node[i].pkts_sent;
	sim_run_until(s, s->now + 10 * SEC);
	for (i = 0; i < n; i++) {
		idle1 += s->node[i].pkts_sent;
		p0 += s->node[i].pkts_sent;
		b0 += s->node[i].bytes_sent;
	}
	w.t0 = s->now;
	s->hooks = (struct sim_hooks){ .on_event = ev_seen, .arg = &w };
	gossip_event_send(s->node[0].g, "ep.join", payload, sizeof(payload) - 1);
	sim_touch(s, 0);
	while (s->now < w.t0 + 30 * SEC) {
		sim_run_until(s, s->now + 10);
		for (i = 1, k = 0; i < n; i++)
			k += w.seen[i] != 0;
		if (k == n - 1 && !t_all) {
			t_all = s->now - w.t0;
			for (i = 0; i < n; i++) {
				p1 += s->node[i].pkts_sent;
				b1 += s->node[i].bytes_sent;
			}
			break;
		}
	}
	for (i = 1, k = 0; i < n; i++)
		if (w.seen[i])
			lat[k++] = w.seen[i] - 1;
	printf("%s.reached %zu/%zu\n", pre, k, n - 1);
	printf("%s.p50_ms %llu\n%s.p99_ms %llu\n%s.max_ms %llu\n", pre,
	       (unsigned long long)pct(lat, k, 50), pre, (unsigned long long)pct(lat, k, 99), pre,
	       (unsigned long long)pct(lat, k, 100));
	printf("%s.idle_pkts_per_node_per_s %.2f\n", pre, (double)(idle1 - idle0) / n / 10.0);
	if (t_all) {
		printf("%s.pkts_per_node_until_all %.2f (idle share %.2f)\n", pre,
		       (double)(p1 - p0) / n, (double)(idle1 - idle0) / n / 10.0 * t_all / 1000.0);
		printf("%s.bytes_per_node_until_all %.0f\n", pre, (double)(b1 - b0) / n);
	}
	printf("%s.serf_sim_n1000_50pct_ms 1000\n%s.serf_sim_n1000_9999pct_ms 2200\n", pre, pre);
	CHECK(pre, k == n - 1);
	CHECK(pre, pct(lat, k, 50) <= 1000);
	free(lat);
	free(w.seen);
	sim_free(s);
}

static int scn_event(uint64_t seed)
{
	ev_run("event", seed, 1000, false, NULL);
	ev_run("event_eager", seed, 1000, true, NULL);
	return 0;
}

/* Dissemination time against N with the agent's profile (a benchmark:
 * about 20 minutes of wall time, 15 of them at 10,000). Every simulated
 * member holds a table of all N, so memory grows as N^2: with the member
 * record and the broadcast queue compacted (gossip_int.h) 10,000 peaks at
 * 12 GB (about 26 GB before); SIM_SCALE_MAX=5000 stops short, under 4 GB. */
/* MemAvailable in bytes, 0 when unknown. */
static uint64_t mem_available(void)
{
	unsigned long long kb = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

static int scn_scale(uint64_t seed)
{
	static const size_t sizes[] = { 1000, 2000, 5000, 10000 };
	const char *cap_env = getenv("SIM_SCALE_MAX");
	size_t cap = cap_env ? strtoul(cap_env, NULL, 10) : 10000;
	uint64_t avail = mem_available(), need;
	struct gossip_config cfg;
	char pre[32];

	ovn_profile(&cfg);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && sizes[i] <= cap; i++) {
		/* Peak measured at 10,000: 11.9 GB, i.e. ~120 bytes per member
		 * per node. A size that cannot fit is skipped, not swapped. */
		need = 120ull * sizes[i] * sizes[i];
		if (avail && need > avail) {
			printf("scale_n%zu.skipped needs ~%llu MB, %llu MB available\n", sizes[i],
			       (unsigned long long)(need >> 20), (unsigned long long)(avail >> 20));
			continue;
		}
		snprintf(pre, sizeof(pre), "scale_n%zu", sizes[i]);
		ev_run(pre, seed, sizes[i], true, &cfg);
	}
	return 0;
}

/* ---- 6. keys ---- */

static void keys_all(struct sim *s, int (*op)(struct gossip *, const uint8_t *),
		     const uint8_t *key, uint64_t spread_ms)
{
	uint64_t t0 = s->now;
	size_t i;

	/* Members act one by one over spread_ms, as an operator's loop would. */
	for (i = 0; i < s->n; i++) {
		sim_run_until(s, t0 + spread_ms * i / s->n);
		if (s->node[i].g)
			CHECK("keys", op(s->node[i].g, key) == 0);
	}
}

static uint64_t keys_auth_failures(struct sim *s)
{
	uint64_t a = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->node[i].g)
			a += gossip_stats(s->node[i].g)->auth_failures;
	return a;
}

static int scn_keys(uint64_t seed)
{
	const size_t n = 30;
	struct sim *s = sim_new(n + 1, seed);
	uint8_t k1[GOSSIP_KEY_LEN], k2[GOSSIP_KEY_LEN];
	uint64_t conv, auth;
	size_t i, seed0 = 0;

	memset(k1, 0x11, sizeof(k1));
	memset(k2, 0x22, sizeof(k2));
	/* build() starts the nodes; key them before any packet is sent by
	 * starting node by node here instead. */
	sim_start(s, 0, NULL, 0);
	gossip_key_install(s->node[0].g, k1);
	for (i = 1; i < n; i++) {
		sim_run_until(s, s->now + 20);
		sim_start(s, i, &seed0, 1);
		gossip_key_install(s->node[i].g, k1);
	}
	conv = 0;
	while (!conv && s->now < 60 * SEC) {
		sim_run_until(s, s->now + 100);
		if (sim_converged(s))
			conv = s->now;
	}
	printf("keys.nodes %zu\nkeys.encrypted_converge_ms %llu\n", n, (unsigned long long)conv);
	CHECK("keys", conv);
	auth = keys_auth_failures(s);
	keys_all(s, gossip_key_install, k2, 5 * SEC);
	sim_run_until(s, s->now + 5 * SEC);
	keys_all(s, gossip_key_use, k2, 5 * SEC);
	sim_run_until(s, s->now + 5 * SEC);
	keys_all(s, gossip_key_remove, k1, 5 * SEC);
	sim_run_until(s, s->now + 30 * SEC);
	printf("keys.auth_failures_during_rotation %llu\n",
	       (unsigned long long)(keys_auth_failures(s) - auth));
	printf("keys.false_fails %llu\n", (unsigned long long)s->false_fails);
	printf("keys.converged_after_rotation %d\n", sim_converged(s));
	CHECK("keys", keys_auth_failures(s) == auth);
	CHECK("keys", s->false_fails == 0 && sim_converged(s));
	/* A member that slept through the rotation (serf#579) stays out. */
	auth = keys_auth_failures(s);
	sim_start(s, n, &seed0, 1);
	gossip_key_install(s->node[n].g, k1);
	sim_run_until(s, s->now + 30 * SEC);
	printf("keys.stale_member_sees %zu\n", sim_live_count(s, n));
	printf("keys.stale_member_auth_drops %llu\n",
	       (unsigned long long)(keys_auth_failures(s) - auth));
	CHECK("keys", sim_live_count(s, n) == 1 && sim_live_count(s, 0) == n);
	CHECK("keys", keys_auth_failures(s) > auth);
	sim_free(s);
	return 0;
}

const struct scenario sim_scenarios[] = {
	{ "join", scn_join, "100 members join via one seed; a late joiner's spread", false },
	{ "kill", scn_kill, "crash detection time at N=50, LAN and fast profiles", false },
	{ "loss", scn_loss, "10% loss for 10 virtual minutes: no false failures", false },
	{ "split", scn_split, "partition in halves for 90 s, heal, merge", false },
	{ "event", scn_event, "one event to N=1000: latency and packets per member", false },
	{ "keys", scn_keys, "key rotation without losing members", false },
	{ "scale", scn_scale, "benchmark: one event to N = 1,000..10,000 (SIM_SCALE_MAX), ovn profile",
	  .bench = true },
};
const unsigned sim_nscenarios = sizeof(sim_scenarios) / sizeof(sim_scenarios[0]);

int sim_failures(void)
{
	return failures;
}
