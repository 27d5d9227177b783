/* test_metrics_tcp.c: the metrics TCP listener (agent/metrics_tcp.c) on a
 * real socket on 127.0.0.1, and its address parser.
 *
 * The server runs on a uv loop in the test's thread with a render callback
 * that counts its calls; a client thread talks to it with blocking sockets
 * and raw bytes, records what it got, and wakes the loop with a uv_async when
 * done. Assertions run in the test's thread after the client is joined.
 * Every run ends with the server closed and uv_loop_close() == 0, so a
 * leaked handle fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "util.h"

#define BODY "# TYPE ovn_test gauge\novn_test 1\n"

/* ---- address parser: a table of {input, family, port} (0 = refused) ---- */

static void test_addr_parse(void **state)
{
	static const struct {
		const char *in;
		int family;
		int port;
	} v[] = {
		{ "198.18.0.1:9464", AF_INET, 9464 },
		{ "0.0.0.0:1", AF_INET, 1 },
		{ "127.0.0.1:0", AF_INET, 0 },
		{ "[fd00:18::1]:9465", AF_INET6, 9465 },
		{ "[::]:65535", AF_INET6, 65535 },
		{ "198.18.0.1", 0, 0 },
		{ "198.18.0.1:", 0, 0 },
		{ "198.18.0.1:65536", 0, 0 },
		{ "198.18.0.1:-1", 0, 0 },
		{ "198.18.0.1:+80", 0, 0 },
		{ "198.18.0.1:80x", 0, 0 },
		{ "198.18.0.256:80", 0, 0 },
		{ ":80", 0, 0 },
		{ "fd00::1:80", 0, 0 },
		{ "[fd00::1]", 0, 0 },
		{ "[fd00::1]80", 0, 0 },
		{ "[198.18.0.1]:80", 0, 0 },
		{ "localhost:80", 0, 0 },
		{ "", 0, 0 },
	};
	struct sockaddr_storage ss;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		int r = metrics_addr_parse(v[i].in, &ss);

		if (!v[i].family) {
			if (r != -EINVAL)
				fail_msg("'%s' accepted", v[i].in);
			continue;
		}
		if (r != 0)
			fail_msg("'%s' refused", v[i].in);
		assert_int_equal(ss.ss_family, v[i].family);
		assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), v[i].port);
	}
}

/* ---- server fixture ---- */

struct xcase;

struct fx {
	uv_loop_t loop;
	const struct xcase *xc;		/* table cases */
	struct metrics_srv *srv;
	uv_async_t done;
	pthread_t th;
	int port;
	void (*client)(struct fx *f);
	int renders;
	bool render_fails;
	/* client results */
	char got[8][8192];
	ssize_t got_len[8];
	double secs;
};

static int render(void *arg, char **out, size_t *len)
{
	struct fx *f = arg;

	f->renders++;
	if (f->render_fails)
		return -ENOMEM;
	*out = strdup(BODY);
	*len = strlen(BODY);
	return *out ? 0 : -ENOMEM;
}

static int cli_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read until EOF (or error/timeout): bytes read, or -1 on a reset/timeout
 * before any byte. */
static ssize_t cli_read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len ? (ssize_t)len : (n == 0 ? 0 : -1);
}

/* One connection: send req (in full), optionally half-close, read all. */
static void exchange(struct fx *f, int slot, const char *req, bool shut)
{
	int fd = cli_connect(f->port);

	f->got_len[slot] = -2;
	if (fd < 0)
		return;
	if (write(fd, req, strlen(req)) < 0)
		f->got_len[slot] = -3;
	if (shut)
		shutdown(fd, SHUT_WR);
	f->got_len[slot] = cli_read_all(fd, f->got[slot], sizeof(f->got[slot]));
	close(fd);
}

static void *client_main(void *arg)
{
	struct fx *f = arg;

	f->client(f);
	uv_async_send(&f->done);
	return NULL;
}

static void on_done(uv_async_t *a)
{
	struct fx *f = a->data;

	metrics_srv_close(TAKE_PTR(f->srv));
	uv_close((uv_handle_t *)&f->done, NULL);
}

/* Listen on 127.0.0.1:<any>, run client in a thread, close everything. */
static void run(struct fx *f, void (*client)(struct fx *f), uint64_t timeout_ms)
{
	struct ovn_err err = { 0 };

	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(metrics_srv_listen(&f->srv, &f->loop, "127.0.0.1:0", render, f, &err), 0);
	if (timeout_ms)
		metrics_srv_set_timeout(f->srv, timeout_ms);
	f->port = metrics_srv_port(f->srv);
	assert_true(f->port > 0);
	f->client = client;
	uv_async_init(&f->loop, &f->done, on_done);
	f->done.data = f;
	assert_int_equal(pthread_create(&f->th, NULL, client_main, f), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	pthread_join(f->th, NULL);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* ---- request/answer table ---- */

static const struct xcase {
	const char *name;
	const char *req;
	bool shut;			/* half-close after sending */
	const char *status_line;
	const char *contains;		/* in the head or body */
	int renders;
} cases[] = {
	{ "GET /metrics", "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", false,
	  "HTTP/1.1 200 OK\r\n", "Content-Length: 33\r\n", 1 },
	{ "body is the rendered text", "GET /metrics HTTP/1.0\r\n\r\n", false,
	  "HTTP/1.1 200 OK\r\n", "\r\n\r\n" BODY, 1 },
	{ "Prometheus content type", "GET /metrics HTTP/1.1\r\n\r\n", false,
	  "HTTP/1.1 200", "Content-Type: text/plain; version=0.0.4", 1 },
	{ "query ignored", "GET /metrics?x=1 HTTP/1.1\r\n\r\n", false, "HTTP/1.1 200", BODY, 1 },
	{ "bare LF lines", "GET /metrics HTTP/1.1\nHost: x\n\n", false, "HTTP/1.1 200", BODY, 1 },
	{ "half-closing client answered", "GET /metrics HTTP/1.1\r\n\r\n", true,
	  "HTTP/1.1 200", BODY, 1 },
	{ "API path 404", "GET /v1/status HTTP/1.1\r\n\r\n", false, "HTTP/1.1 404", "only GET", 0 },
	{ "root 404", "GET / HTTP/1.1\r\n\r\n", false, "HTTP/1.1 404", "Connection: close", 0 },
	{ "POST 405", "POST /v1/networks HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", false,
	  "HTTP/1.1 405", "Allow: GET\r\n", 0 },
	{ "DELETE 405", "DELETE /metrics HTTP/1.1\r\n\r\n", false, "HTTP/1.1 405", "Allow: GET", 0 },
	{ "no version 400", "GET /metrics\r\n\r\n", false, "HTTP/1.1 400", "malformed", 0 },
	{ "HTTP/2 400", "GET /metrics HTTP/2.0\r\n\r\n", false, "HTTP/1.1 400", "malformed", 0 },
	{ "extra token 400", "GET /metrics HTTP/1.1 x\r\n\r\n", false, "HTTP/1.1 400", "", 0 },
	{ "garbage 400", "\x01\x02\x03\r\n\r\n", false, "HTTP/1.1 400", "", 0 },
};

static void case_client(struct fx *f)
{
	exchange(f, 0, f->xc->req, f->xc->shut);
}

static void test_case(void **state)
{
	const struct xcase *xc = *state;
	struct fx f = { .xc = xc };

	run(&f, case_client, 0);
	if (f.got_len[0] <= 0)
		fail_msg("%s: no answer (%zd)", xc->name, f.got_len[0]);
	if (strncmp(f.got[0], xc->status_line, strlen(xc->status_line)))
		fail_msg("%s: answer starts '%.40s'", xc->name, f.got[0]);
	if (!strstr(f.got[0], xc->contains))
		fail_msg("%s: '%s' not in '%s'", xc->name, xc->contains, f.got[0]);
	assert_int_equal(f.renders, xc->renders);
}

/* ---- fixed scenarios ---- */

static void big_head_client(struct fx *f)
{
	char req[METRICS_TCP_MAX_REQ + 200];

	memset(req, 'a', sizeof(req) - 1);
	req[sizeof(req) - 1] = '\0';
	memcpy(req, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
	exchange(f, 0, req, false);
}

static void test_head_too_large(void **state)
{
	struct fx f = { 0 };

	run(&f, big_head_client, 0);
	assert_true(f.got_len[0] > 0);
	assert_memory_equal(f.got[0], "HTTP/1.1 431", 12);
	assert_int_equal(f.renders, 0);
}

static void test_render_failure(void **state)
{
	struct fx f = { .render_fails = true, .xc = &cases[0] };

	run(&f, case_client, 0);
	assert_memory_equal(f.got[0], "HTTP/1.1 500", 12);
	assert_int_equal(f.renders, 1);
}

/* A client that sends half a request and waits: closed by the timeout. */
static void slow_client(struct fx *f)
{
	struct timespec t0, t1;
	int fd = cli_connect(f->port);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fd < 0 || write(fd, "GET /metr", 9) < 0)
		return;
	f->got_len[0] = cli_read_all(fd, f->got[0], sizeof(f->got[0]));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	close(fd);
}

static void test_timeout(void **state)
{
	struct fx f = { 0 };

	run(&f, slow_client, 200);
	assert_int_equal(f.got_len[0], 0);	/* EOF, no answer */
	assert_true(f.secs >= 0.15 && f.secs < 3);
	assert_int_equal(f.renders, 0);
}

/* METRICS_TCP_MAX_CONNS idle connections are held; one more is closed at
 * once without an answer; after they go, a scrape works again. */
static void max_conns_client(struct fx *f)
{
	int held[METRICS_TCP_MAX_CONNS], fd;
	char buf[64];

	for (int i = 0; i < METRICS_TCP_MAX_CONNS; i++)
		held[i] = cli_connect(f->port);
	/* connect() returns before the server accepts: let the loop catch up */
	usleep(200 * 1000);
	fd = cli_connect(f->port);
	f->got_len[0] = fd < 0 ? -2 : cli_read_all(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < METRICS_TCP_MAX_CONNS; i++)
		if (held[i] >= 0)
			close(held[i]);
	usleep(200 * 1000);
	exchange(f, 1, "GET /metrics HTTP/1.1\r\n\r\n", false);
}

static void test_max_connections(void **state)
{
	struct fx f = { 0 };

	run(&f, max_conns_client, 0);
	assert_true(f.got_len[0] <= 0);	/* EOF or reset: no answer */
	assert_true(f.got_len[1] > 0);
	assert_memory_equal(f.got[1], "HTTP/1.1 200", 12);
	assert_int_equal(f.renders, 1);
}

/* Closing the server while connections are open closes them all. */
static void open_conns_client(struct fx *f)
{
	for (int i = 0; i < 3; i++)
		f->got_len[i] = cli_connect(f->port);
	usleep(100 * 1000);
}

static void test_close_with_connections(void **state)
{
	struct fx f = { 0 };

	run(&f, open_conns_client, 0);	/* uv_loop_close() == 0 asserted inside */
	for (int i = 0; i < 3; i++)
		if (f.got_len[i] >= 0)
			close((int)f.got_len[i]);
}

static void test_bind_failure(void **state)
{
	struct ovn_err err = { 0 };
	struct metrics_srv *s = (void *)1;
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	/* 192.0.2.1 (TEST-NET-1) is on no interface here: bind only, no traffic */
	assert_true(metrics_srv_listen(&s, &loop, "192.0.2.1:9464", render, NULL, &err) < 0);
	assert_null(s);
	assert_non_null(strstr(err.msg, "metrics.listen 192.0.2.1:9464: address not available"));
	ovn_err_clear(&err);
	assert_int_equal(metrics_srv_listen(&s, &loop, "nope", render, NULL, &err), -EINVAL);
	assert_null(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_render_failure),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_close_with_connections),
		cmocka_unit_test(test_bind_failure),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(cases)];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[i] = fixed[i];
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		tests[ARRAY_SIZE(fixed) + i] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = test_case,
			.initial_state = (void *)&cases[i],
		};
	return cmocka_run_group_tests_name("metrics_tcp", tests, NULL, NULL);
}
