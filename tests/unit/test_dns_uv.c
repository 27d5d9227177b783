/* test_dns_uv.c: the DNS server end to end over real sockets on 127.0.0.1
 * (dns/dns_uv.c with the core and table): dig against a UDP+TCP listener on
 * an ephemeral port, hand-built pipelined TCP queries, forwarding to a real
 * dnsmasq this test starts on another loopback port (killed by its PID),
 * truncated upstream answers retried over TCP, SERVFAIL from a second server
 * whose only upstream is dead.
 *
 * The libuv loop runs in a helper thread; the test thread only talks to it
 * through sockets, and stops it with a uv_async (which also copies the
 * counters out). Loopback only, no root. Skips what dig/dnsmasq it lacks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <uv.h>

#include "dns_int.h"
#include "util.h"

#define DNSMASQ "/usr/sbin/dnsmasq"
#define BIG_RECORDS 100

extern char **environ;

enum { NET1 = 1 };

static struct {
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t thread;
	bool running;
	struct dns_table *t;
	struct dns_uv *u, *dead;
	uint16_t port, dead_port, up_port;
	pid_t dnsmasq;
	bool have_dig;
	struct dns_counters c;		/* copied out at stop */
	int closed;
} E;

/* ------------------------------------------------------------ helpers */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct sockaddr_in lo(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* A port that is free for both UDP and TCP right now. */
static uint16_t free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = lo(0);
		socklen_t al = sizeof(a);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		bool ok = bind(u, (struct sockaddr *)&a, al) == 0 &&
			  getsockname(u, (struct sockaddr *)&a, &al) == 0 &&
			  bind(t, (struct sockaddr *)&a, al) == 0;

		close(u);
		close(t);
		if (ok)
			return ntohs(a.sin_port);
	}
	return 0;
}

static size_t mkquery(uint8_t *b, uint16_t id, const char *name, uint16_t type)
{
	int n;

	memset(b, 0, 12);
	dns_wr16(b, id);
	dns_wr16(b + 2, DNS_F_RD);
	dns_wr16(b + 4, 1);
	n = dns_name_from_text(name, b + 12, DNS_NAME_MAX);
	assert_true(n > 0);
	dns_wr16(b + 12 + n, type);
	dns_wr16(b + 14 + n, DNS_CLASS_IN);
	return 16 + (size_t)n;
}

/* One UDP query, blocking with a timeout. Reply length or -1. */
static int udp_ask(uint16_t port, const char *name, uint16_t type, uint8_t *out, size_t cap,
		   int timeout_ms)
{
	struct sockaddr_in a = lo(port);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	uint8_t q[300];
	size_t n = mkquery(q, 0x5151, name, type);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r = -1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, q, n, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)n)
		r = (int)recv(fd, out, cap, 0);
	close(fd);
	return r;
}

/* Run dig against port with extra arguments; returns its stdout. */
static char *dig(uint16_t port, const char *args)
{
	static char out[65536];
	char cmd[512];
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "dig @127.0.0.1 -p %u +time=2 +tries=1 %s 2>&1", port, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n < sizeof(out) - 1 && fgets(out + n, (int)(sizeof(out) - n), p))
		n += strlen(out + n);
	pclose(p);
	out[n] = '\0';
	return out;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ------------------------------------------------------------ dnsmasq */
static pid_t dnsmasq_start(uint16_t port)
{
	char portarg[32], *argv[32 + BIG_RECORDS];
	static char recs[BIG_RECORDS][48];
	posix_spawn_file_actions_t fa;
	int a = 0;
	pid_t pid;

	snprintf(portarg, sizeof(portarg), "--port=%u", port);
	argv[a++] = DNSMASQ;
	/* -k, not --no-daemon: in debug mode dnsmasq serves TCP in its only
	 * process and stops answering UDP while a TCP connection is open */
	argv[a++] = "--keep-in-foreground";
	argv[a++] = "--no-resolv";
	argv[a++] = "--no-hosts";
	argv[a++] = "--conf-file=/dev/null";
	argv[a++] = "--pid-file=";
	argv[a++] = "--address=/fwd.test/198.19.99.1";
	argv[a++] = portarg;
	argv[a++] = "--listen-address=127.0.0.1";
	argv[a++] = "--bind-interfaces";
	argv[a++] = "--log-facility=/dev/null";
	for (int i = 0; i < BIG_RECORDS; i++) {
		snprintf(recs[i], sizeof(recs[i]), "--host-record=big.test,198.19.98.%d", i + 1);
		argv[a++] = recs[i];
	}
	argv[a] = NULL;
	/* quiet: its start-up lines would go to our output */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, DNSMASQ, &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static void dnsmasq_stop(void)
{
	if (E.dnsmasq <= 0)
		return;
	kill(E.dnsmasq, SIGTERM);
	waitpid(E.dnsmasq, NULL, 0);
	E.dnsmasq = 0;
}

/* Poll until dnsmasq answers fwd.test, at most 5 s. */
static bool dnsmasq_ready(uint16_t port)
{
	uint64_t end = now_ms() + 5000;
	uint8_t b[512];

	while (now_ms() < end) {
		if (waitpid(E.dnsmasq, NULL, WNOHANG) == E.dnsmasq) {
			E.dnsmasq = 0;
			return false;
		}
		if (udp_ask(port, "fwd.test", DNS_T_A, b, sizeof(b), 100) > 12)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ the loop thread */
static void *loop_main(void *arg)
{
	uv_run(&E.loop, UV_RUN_DEFAULT);
	return NULL;
}

static void closed_cb(void *arg)
{
	E.closed++;
}

static void on_stop(uv_async_t *a)
{
	E.c = *dns_server_counters(dns_uv_server(E.u));
	dns_uv_close(E.u, closed_cb, NULL);
	dns_uv_close(E.dead, closed_cb, NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void stop_loop(void)
{
	if (!E.running)
		return;
	uv_async_send(&E.stop);
	pthread_join(E.thread, NULL);
	E.running = false;
	assert_int_equal(E.closed, 2);
	assert_int_equal(uv_loop_close(&E.loop), 0);
}

/* ------------------------------------------------------------ fixture */
static void fill_table(struct dns_table *t)
{
	char name[32], ip[64];
	struct ovn_ip a;

	assert_int_equal(dns_table_net_set(t, NET1, "net1"), 0);
	for (int i = 1; i <= 10; i++) {
		snprintf(name, sizeof(name), "c%04d", i);
		snprintf(ip, sizeof(ip), "198.19.0.%d", i);
		assert_int_equal(ovn_ip_parse(&a, ip), 0);
		assert_int_equal(dns_table_add(t, NET1, name, &a), 0);
		snprintf(ip, sizeof(ip), "fd00:1::%x", i);
		assert_int_equal(ovn_ip_parse(&a, ip), 0);
		assert_int_equal(dns_table_add(t, NET1, name, &a), 0);
	}
	assert_int_equal(ovn_ip_parse(&a, "198.19.0.200"), 0);
	assert_int_equal(dns_table_add(t, NET1, "v4only", &a), 0);
}

/* UDP and TCP on the same ephemeral port, as dig expects. */
static uint16_t listen_both(struct dns_uv *u)
{
	for (int tries = 0; tries < 20; tries++) {
		struct ovn_err err = { 0 };
		struct sockaddr_in a = lo(0);
		struct dns_listener *lu;
		uint16_t port = 0;

		lu = dns_uv_listen_addr(u, NET1, (struct sockaddr *)&a, DNS_UDP, &port, &err);
		assert_non_null(lu);
		a = lo(port);
		if (dns_uv_listen_addr(u, NET1, (struct sockaddr *)&a, DNS_TCP, NULL, &err))
			return port;
		dns_uv_listener_close(lu);	/* port taken for TCP: try another */
	}
	return 0;
}

static int setup(void **state)
{
	struct dns_uv_cfg cfg = { .server = { .ttl = 30, .n_upstreams = 1 } };
	struct dns_uv_cfg dcfg = { .server = { .n_upstreams = 1, .attempt_ms = 200,
					       .deadline_ms = 500 } };
	struct sockaddr_in up;
	struct ovn_err err = { 0 };

	signal(SIGPIPE, SIG_IGN);
	E.have_dig = system("command -v dig >/dev/null 2>&1") == 0;
	E.t = dns_table_new();
	fill_table(E.t);
	if (access(DNSMASQ, X_OK) == 0) {
		E.up_port = free_port();
		E.dnsmasq = dnsmasq_start(E.up_port);
		if (E.dnsmasq > 0 && !dnsmasq_ready(E.up_port))
			dnsmasq_stop();
	}
	assert_int_equal(uv_loop_init(&E.loop), 0);
	up = lo(E.up_port ? E.up_port : 9);
	memcpy(&cfg.upstreams[0], &up, sizeof(up));
	E.u = dns_uv_new(&E.loop, E.t, &cfg, &err);
	assert_non_null(E.u);
	/* a second server whose upstream is a port nobody listens on */
	up = lo(free_port());
	memcpy(&dcfg.upstreams[0], &up, sizeof(up));
	E.dead = dns_uv_new(&E.loop, E.t, &dcfg, &err);
	assert_non_null(E.dead);
	E.port = listen_both(E.u);
	E.dead_port = listen_both(E.dead);
	assert_true(E.port && E.dead_port);
	assert_int_equal(uv_async_init(&E.loop, &E.stop, on_stop), 0);
	assert_int_equal(pthread_create(&E.thread, NULL, loop_main, NULL), 0);
	E.running = true;
	if (getenv("DNS_TEST_HOLD")) {
		fprintf(stderr, "port %u dead %u up %u\n", E.port, E.dead_port, E.up_port);
		sleep(atoi(getenv("DNS_TEST_HOLD")));
	}
	return 0;
}

static int teardown(void **state)
{
	stop_loop();
	dnsmasq_stop();
	dns_table_free(E.t);
	return 0;
}

/* ------------------------------------------------------------ tests */
static void test_dig_local(void **state)
{
	static const struct {
		const char *args;
		const char *want[3];
		const char *not;
	} v[] = {
		{ "+short c0001.net1 A", { "198.19.0.1\n" }, NULL },
		{ "+short c0002 AAAA", { "fd00:1::2\n" }, NULL },
		{ "v4only.net1 AAAA", { "status: NOERROR", "ANSWER: 0", "AUTHORITY: 1" }, NULL },
		{ "nosuch.net1 A", { "status: NXDOMAIN", "AUTHORITY: 1", "IN\tSOA\tnet1." }, NULL },
		{ "c0001.net1 TXT", { "status: NOERROR", "ANSWER: 0", "flags: qr aa rd ra" }, NULL },
		{ "net1 A", { "status: NOERROR", "ANSWER: 0" }, NULL },
		{ "+short -x 198.19.0.3", { "c0003.net1.\n" }, NULL },
		{ "-x fd00:1::4", { "ANSWER: 1", "PTR c0004.net1." }, NULL },
		{ "+short +tcp c0005.net1", { "198.19.0.5\n" }, NULL },
		{ "C0006.NeT1 A", { "\nC0006.NeT1.\t", "30\tIN\tA\t198.19.0.6" }, NULL },
		{ "c0001.net1", { "; EDNS: version: 0, flags:; udp: 1232" }, NULL },
		{ "+noedns c0001.net1", { "status: NOERROR" }, "OPT PSEUDOSECTION" },
		{ "+short localhost", { "127.0.0.1\n" }, NULL },
	};

	if (!E.have_dig)
		skip();
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		const char *out = dig(E.port, v[i].args);

		for (int k = 0; k < 3 && v[i].want[k]; k++)
			if (!strstr(out, v[i].want[k]))
				fail_msg("dig %s: no \"%s\" in:\n%s", v[i].args, v[i].want[k], out);
		if (v[i].not && strstr(out, v[i].not))
			fail_msg("dig %s: unexpected \"%s\" in:\n%s", v[i].args, v[i].not, out);
	}
}

static void test_dig_forward(void **state)
{
	const char *out;

	if (!E.have_dig || !E.dnsmasq)
		skip();
	out = dig(E.port, "+short fwd.test");
	assert_string_equal(out, "198.19.99.1\n");
	out = dig(E.port, "FWD.test A");
	if (!strstr(out, "FWD.test.") || !strstr(out, "status: NOERROR"))
		fail_msg("forwarded case/status:\n%s", out);
	/* dnsmasq truncates 100 records at 1232 bytes; we retry upstream over
	 * TCP, the UDP client gets TC and retries over TCP itself */
	out = dig(E.port, "+short big.test");
	assert_int_equal(count_lines(out), BIG_RECORDS);
	out = dig(E.port, "+short +tcp big.test");
	assert_int_equal(count_lines(out), BIG_RECORDS);
}

static void test_dead_upstream_servfail(void **state)
{
	uint64_t t0 = now_ms();
	uint8_t b[512];
	int n = udp_ask(E.dead_port, "fwd.test", DNS_T_A, b, sizeof(b), 3000);

	assert_true(n >= 12);
	assert_int_equal(b[3] & 0xf, DNS_R_SERVFAIL);
	assert_true(now_ms() - t0 < 1500);
	/* local names do not wait for the dead upstream */
	n = udp_ask(E.dead_port, "c0001.net1", DNS_T_A, b, sizeof(b), 1000);
	assert_true(n > 12);
	assert_int_equal(b[3] & 0xf, DNS_R_NOERROR);
}

/* Several queries in one TCP write; replies matched by ID, any order. */
static void test_tcp_pipelining(void **state)
{
	static const struct {
		const char *name;
		uint16_t type;
		int rcode;
		int an;
		bool fwd;
	} v[] = {
		{ "c0001.net1", DNS_T_A, DNS_R_NOERROR, 1, false },
		{ "fwd.test", DNS_T_A, DNS_R_NOERROR, 1, true },
		{ "nosuch.net1", DNS_T_A, DNS_R_NXDOMAIN, 0, false },
		{ "v4only.net1", DNS_T_AAAA, DNS_R_NOERROR, 0, false },
		{ "c0002.net1", DNS_T_AAAA, DNS_R_NOERROR, 1, false },
	};
	struct sockaddr_in a = lo(E.port);
	struct timeval tv = { 3, 0 };
	uint8_t out[4096], in[8192];
	size_t n = 0, got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), seen = 0, want = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		size_t l = mkquery(out + n + 2, (uint16_t)(100 + i), v[i].name, v[i].type);

		dns_wr16(out + n, (uint16_t)l);
		n += 2 + l;
		if (!v[i].fwd || E.dnsmasq)
			want |= 1 << i;
	}
	assert_int_equal(send(fd, out, n, 0), (ssize_t)n);
	while (seen != want) {
		ssize_t r = recv(fd, in + got, sizeof(in) - got, 0);
		size_t off = 0;

		assert_true(r > 0);
		got += (size_t)r;
		while (got - off >= 2 && got - off >= 2u + dns_rd16(in + off)) {
			const uint8_t *m = in + off + 2;
			unsigned int i = dns_rd16(m) - 100u;

			assert_true(i < ARRAY_SIZE(v));
			assert_int_equal(m[3] & 0xf, v[i].rcode);
			assert_int_equal(dns_rd16(m + 6), v[i].an);
			seen |= 1 << i;
			off += 2u + dns_rd16(in + off);
		}
		memmove(in, in + off, got - off);
		got -= off;
	}
	close(fd);
}

/* Junk on UDP and a half message then EOF on TCP must not hurt. */
static void test_garbage(void **state)
{
	struct sockaddr_in a = lo(E.port);
	uint8_t b[512];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sendto(fd, "\x01\x02\x03", 3, 0, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	send(fd, "\x00\x40\x12\x34", 4, 0);
	close(fd);
	assert_true(udp_ask(E.port, "c0003.net1", DNS_T_A, b, sizeof(b), 1000) > 12);
}

static void test_counters_after_stop(void **state)
{
	stop_loop();
	print_message("counters: queries %lu (tcp %lu) local %lu forwarded %lu upstream_tcp_retries %lu "
		      "truncated %lu malformed %lu\n",
		      (unsigned long)E.c.queries, (unsigned long)E.c.queries_tcp,
		      (unsigned long)E.c.local, (unsigned long)E.c.forwarded,
		      (unsigned long)E.c.upstream_tcp_retries, (unsigned long)E.c.truncated,
		      (unsigned long)E.c.malformed);
	assert_true(E.c.queries > 0);
	assert_true(E.c.queries_tcp > 0);
	assert_true(E.c.malformed >= 1);
	if (E.dnsmasq && E.have_dig) {
		assert_true(E.c.forwarded >= 4);
		assert_true(E.c.upstream_tcp_retries >= 2);
		assert_true(E.c.truncated >= 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dig_local),
		cmocka_unit_test(test_dig_forward),
		cmocka_unit_test(test_dead_upstream_servfail),
		cmocka_unit_test(test_tcp_pipelining),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_counters_after_stop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
