/* ovn_dns_bench.c: the dns/ library as a stand-alone server for bench/dns/run.sh.
 * Loads the benchmark's data set (names c0001..cNNNN in zone net1 with
 * A 10.1.(i/250).(i%250+1) and AAAA fd00:1::<hex i>, plus v4only.net1) and
 * serves it on 127.0.0.1:PORT, UDP and TCP, until SIGTERM/SIGINT.
 *
 * Usage: ovn_dns_bench PORT [NAMES] [TTL]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <uv.h>

#include "dns.h"

static struct dns_uv *U;
static uv_signal_t sterm, sint;

static void on_signal(uv_signal_t *s, int signum)
{
	const struct dns_counters *c = dns_server_counters(dns_uv_server(U));

	fprintf(stderr, "ovn_dns_bench: queries %llu tcp %llu local %llu noerror %llu "
		"nxdomain %llu truncated %llu malformed %llu\n",
		(unsigned long long)c->queries, (unsigned long long)c->queries_tcp,
		(unsigned long long)c->local, (unsigned long long)c->rcode[0],
		(unsigned long long)c->rcode[3], (unsigned long long)c->truncated,
		(unsigned long long)c->malformed);
	dns_uv_close(U, NULL, NULL);
	uv_close((uv_handle_t *)&sterm, NULL);
	uv_close((uv_handle_t *)&sint, NULL);
}

static int load(struct dns_table *t, int n)
{
	char name[32], ip[64];
	struct ovn_ip a;

	if (dns_table_net_set(t, 1, "net1") < 0)
		return -1;
	for (int i = 1; i <= n + 1; i++) {
		if (i <= n)
			snprintf(name, sizeof(name), "c%04d", i);
		else
			snprintf(name, sizeof(name), "v4only");
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		if (ovn_ip_parse(&a, ip) < 0 || dns_table_add(t, 1, name, &a) < 0)
			return -1;
		if (i > n)
			break;
		snprintf(ip, sizeof(ip), "fd00:1::%x", i);
		if (ovn_ip_parse(&a, ip) < 0 || dns_table_add(t, 1, name, &a) < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct dns_uv_cfg cfg = { 0 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct ovn_err err = { 0 };
	struct dns_table *t;
	uv_loop_t *loop = uv_default_loop();

	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [NAMES] [TTL]\n", argv[0]);
		return 2;
	}
	cfg.server.ttl = argc > 3 ? (uint32_t)atoi(argv[3]) : 600;
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t = dns_table_new();
	if (!t || load(t, argc > 2 ? atoi(argv[2]) : 1000) < 0)
		return 1;
	U = dns_uv_new(loop, t, &cfg, &err);
	if (!U || !dns_uv_listen_addr(U, 1, (struct sockaddr *)&a, DNS_UDP, NULL, &err) ||
	    !dns_uv_listen_addr(U, 1, (struct sockaddr *)&a, DNS_TCP, NULL, &err)) {
		fprintf(stderr, "ovn_dns_bench: %s\n", err.msg);
		return 1;
	}
	uv_signal_init(loop, &sterm);
	uv_signal_init(loop, &sint);
	uv_signal_start_oneshot(&sterm, on_signal, SIGTERM);
	uv_signal_start_oneshot(&sint, on_signal, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	dns_table_free(t);
	return 0;
}
