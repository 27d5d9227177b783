/* metrics.c: GET /metrics in the Prometheus text format (0.0.4): gauges of
 * what netmgr holds, counters and histograms from struct nm_stats, and the
 * process's resident memory. Rendered into one buffer per request; a few KB.
 * The same text is served on the API socket and, when metrics.listen is
 * set, on a TCP address by metrics_tcp.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "dns.h"
#include "dnsint.h"
#include "metrics.h"
#include "netmgr_int.h"

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap *= 2;
	}
}

static void metric(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	metric(b, name, "counter", help);
	put(b, "%s %llu\n", name, (unsigned long long)v);
}

static void hist(struct buf *b, const char *name, const char *help, const struct stats_hist *h)
{
	uint64_t cum = 0;

	metric(b, name, "histogram", help);
	for (int i = 0; i < STATS_BUCKETS; i++) {
		cum += h->count[i];
		if (i < STATS_BUCKETS - 1)
			put(b, "%s_bucket{le=\"%g\"} %llu\n", name, stats_bounds[i],
			    (unsigned long long)cum);
		else
			put(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	}
	put(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->n);
}

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * 4096;
}

static void gauges(struct buf *b, struct netmgr *nm)
{
	uint64_t nets = 0, local = 0, remote = 0, peers = 0, up = 0;

	for (struct net *n = nm->nets; n; n = n->next) {
		nets++;
		up += n->dp_up;
		for (struct ep *e = n->eps; e; e = e->next) {
			if (e->pending)
				continue;
			e->local ? local++ : remote++;
			peers += !e->local && n->dp_up;
		}
	}
	metric(b, "ovn_networks", "gauge", "Networks known to this agent.");
	put(b, "ovn_networks %llu\n", (unsigned long long)nets);
	metric(b, "ovn_networks_local", "gauge", "Networks with devices on this host.");
	put(b, "ovn_networks_local %llu\n", (unsigned long long)up);
	metric(b, "ovn_endpoints", "gauge", "Endpoints by where they run.");
	put(b, "ovn_endpoints{scope=\"local\"} %llu\n", (unsigned long long)local);
	put(b, "ovn_endpoints{scope=\"remote\"} %llu\n", (unsigned long long)remote);
	metric(b, "ovn_peers_programmed", "gauge",
	       "Remote endpoints programmed as FDB/neighbour entries here.");
	put(b, "ovn_peers_programmed %llu\n", (unsigned long long)peers);
	metric(b, "ovn_process_resident_memory_bytes", "gauge", "Resident memory of ovnagent.");
	put(b, "ovn_process_resident_memory_bytes %ld\n", rss_bytes());
}

static void counters(struct buf *b, const struct nm_stats *s)
{
	counter(b, "ovn_attach_total", "Successful attaches.", s->attach_ok);
	counter(b, "ovn_attach_errors_total", "Failed attaches.", s->attach_err);
	counter(b, "ovn_detach_total", "Successful detaches.", s->detach_ok);
	counter(b, "ovn_detach_errors_total", "Failed detaches.", s->detach_err);
	counter(b, "ovn_attach_address_races_total",
		"Attaches that lost an address to another agent and chose again.",
		s->attach_races_lost);
	counter(b, "ovn_network_create_total", "Networks created here.", s->create_ok);
	counter(b, "ovn_network_remove_total", "Networks removed here.", s->remove_ok);
	counter(b, "ovn_netlink_errors_total", "Failed dataplane (netlink) operations.",
		s->dp_errors);
	counter(b, "ovn_store_errors_total", "Failed store requests.", s->store_errors);
	counter(b, "ovn_reconcile_runs_total", "Reconcile passes.", s->reconcile_runs);
	counter(b, "ovn_reconcile_orphans_removed_total", "Links without a record deleted.",
		s->orphans_removed);
	counter(b, "ovn_reconcile_endpoints_restored_total", "Endpoints whose veth was recreated.",
		s->endpoints_restored);
	counter(b, "ovn_reconcile_endpoints_forgotten_total",
		"Endpoints dropped because their namespace was gone.", s->endpoints_forgotten);
	counter(b, "ovn_store_watch_events_total", "Store change events received.",
		s->watch_events);
	counter(b, "ovn_store_resyncs_total", "Full re-lists after a gap in the watch.",
		s->resyncs);
	hist(b, "ovn_attach_duration_seconds", "Attach time inside the agent.", &s->attach);
	hist(b, "ovn_detach_duration_seconds", "Detach time inside the agent.", &s->detach);
	hist(b, "ovn_store_txn_duration_seconds", "Store transaction round trips.", &s->store_txn);
}

/* Time from a query's arrival to its answer (dns.h: local answers in the
 * first bucket, forwarded ones with their upstream's round trip). */
static void dns_latency(struct buf *b, const struct dns_counters *c)
{
	const char *name = "ovn_dns_answer_duration_seconds";
	uint64_t cum = 0;

	metric(b, name, "histogram", "DNS answer latency inside the agent.");
	for (int i = 0; i < DNS_LAT_BUCKETS; i++) {
		cum += c->latency[i];
		if (i < DNS_LAT_BUCKETS - 1)
			put(b, "%s_bucket{le=\"%g\"} %llu\n", name, dns_lat_bounds_ms[i] / 1000.0,
			    (unsigned long long)cum);
		else
			put(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	}
	put(b, "%s_sum %.3f\n%s_count %llu\n", name, c->latency_sum_ms / 1000.0, name,
	    (unsigned long long)cum);
}

/* The embedded DNS server's counters (dnsint.c); nothing when it is off. */
static void dns_series(struct buf *b, const struct dns_counters *c)
{
	static const char *const rc[] = { "noerror", "formerr", "servfail", "nxdomain",
					  "notimp", "refused" };

	if (!c)
		return;
	counter(b, "ovn_dns_queries_total", "DNS queries received (UDP and TCP).", c->queries);
	metric(b, "ovn_dns_responses_total", "counter", "DNS replies sent, by rcode.");
	for (size_t i = 0; i < sizeof(rc) / sizeof(rc[0]); i++)
		put(b, "ovn_dns_responses_total{rcode=\"%s\"} %llu\n", rc[i],
		    (unsigned long long)c->rcode[i]);
	counter(b, "ovn_dns_forwarded_total", "DNS queries forwarded upstream.", c->forwarded);
	counter(b, "ovn_dns_upstream_timeouts_total", "Upstream attempts that timed out.",
		c->upstream_timeouts);
	counter(b, "ovn_dns_malformed_total", "DNS queries dropped unanswered.", c->malformed);
	dns_latency(b, c);
}

/* Gossip (cluster.c); nothing when it is off. */
static void gossip_series(struct buf *b, struct netmgr *nm)
{
	static const char *const states[] = { "alive", "suspect", "failed", "left" };
	struct cluster *c = nm->gossip;
	const struct gossip_stats *s;

	counter(b, "ovn_gossip_endpoint_events_applied_total",
		"Endpoint changes gossip delivered before the store's watch.",
		nm->stats.gossip_applied);
	counter(b, "ovn_gossip_endpoint_replays_dropped_total",
		"Endpoints announced by gossip that the store did not have (stale replays).",
		nm->stats.gossip_replays_dropped);
	counter(b, "ovn_gossip_peers_withdrawn_total",
		"FDB/neighbour entries withdrawn because their host failed.",
		nm->stats.peers_withdrawn);
	if (!c)
		return;
	s = cluster_stats(c);
	metric(b, "ovn_gossip_members", "gauge", "Gossip members by state, this host included.");
	for (int i = GOSSIP_ALIVE; i <= GOSSIP_LEFT; i++)
		put(b, "ovn_gossip_members{state=\"%s\"} %zu\n", states[i],
		    cluster_member_count(c, (enum gossip_state)i));
	metric(b, "ovn_gossip_bytes_total", "counter", "Gossip UDP bytes, sealed.");
	put(b, "ovn_gossip_bytes_total{dir=\"out\"} %llu\n", (unsigned long long)s->bytes_out);
	put(b, "ovn_gossip_bytes_total{dir=\"in\"} %llu\n", (unsigned long long)s->bytes_in);
	metric(b, "ovn_gossip_packets_total", "counter", "Gossip UDP packets.");
	put(b, "ovn_gossip_packets_total{dir=\"out\"} %llu\n", (unsigned long long)s->pkts_out);
	put(b, "ovn_gossip_packets_total{dir=\"in\"} %llu\n", (unsigned long long)s->pkts_in);
	counter(b, "ovn_gossip_auth_failures_total",
		"Gossip input dropped because no installed key opened it.", s->auth_failures);
	counter(b, "ovn_gossip_malformed_total", "Gossip input dropped by the decoder.",
		s->malformed);
	counter(b, "ovn_gossip_suspicions_total", "Members this host suspected.", s->suspicions);
	counter(b, "ovn_gossip_declared_dead_total", "Suspicions that ran out here.",
		s->declared_dead);
	counter(b, "ovn_gossip_events_received_total", "User events received (new).",
		s->events_in);
	counter(b, "ovn_gossip_events_oversize_total",
		"Endpoint records too big for one gossip event (the store carried them).",
		cluster_events_oversize(c));
}

int metrics_render(void *arg, char **out, size_t *len)
{
	struct netmgr *nm = arg;
	struct buf b = { .p = malloc(8192), .cap = 8192 };

	*out = NULL;
	*len = 0;
	if (!b.p)
		return -ENOMEM;
	b.p[0] = '\0';
	gauges(&b, nm);
	counters(&b, &nm->stats);
	dns_series(&b, dnsint_counters(nm));
	gossip_series(&b, nm);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

void metrics_get(struct http_req *req, void *arg)
{
	char *text;
	size_t len;

	if (metrics_render(arg, &text, &len) < 0) {
		http_reply(req, 500, NULL, "{\"error\":\"out of memory\"}", 25);
		return;
	}
	http_reply(req, 200, "text/plain; version=0.0.4", text, len);
	free(text);
}
