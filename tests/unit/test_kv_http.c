/* test_kv_http.c: the libcurl-on-libuv HTTP client (kvstore/kv_http.c)
 * against a tiny HTTP/1.1 server running in a thread on 127.0.0.1 (loopback
 * only, an ephemeral port). Needs no root.
 *
 * Server paths: /echo answers "<METHOD> <body>" with a header X-Test-Index,
 * keep-alive; /slow answers after 3 s; /stream sends three chunks 30 ms
 * apart; /hang sends one chunk and waits for the client to go away.
 *
 * Every test ends with uv_loop_close() == 0, so a leaked handle fails it,
 * and joins every server thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kv_http_int.h"
#include "util.h"

/* ---- the server ---- */

#define SRV_CONNS 512

struct srv {
	int lfd;
	uint16_t port;
	pthread_t acceptor;
	pthread_t conns[SRV_CONNS];
	int fds[SRV_CONNS];
	atomic_int nconns;
	atomic_int closed_by_peer;	/* /hang saw the client leave */
	atomic_bool stop;
};

struct conn_arg {
	struct srv *s;
	int fd;
};

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Wait for input up to ms; -1 when stopping. */
static int wait_in(struct srv *s, int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (ms > 0 && !atomic_load(&s->stop)) {
		int r = poll(&p, 1, 20);

		if (r != 0)
			return r;
		ms -= 20;
	}
	return atomic_load(&s->stop) ? -1 : 0;
}

/* Read one request: headers, then Content-Length bytes. */
static int read_req(struct srv *s, int fd, char *buf, size_t size, char **body, size_t *blen)
{
	size_t len = 0;
	char *end = NULL, *cl;

	while (!end || len < (size_t)(end + 4 - buf) + *blen) {
		ssize_t n;

		if (wait_in(s, fd, 10000) <= 0)
			return -1;
		n = recv(fd, buf + len, size - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += n;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "Content-Length:");
			*blen = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
		}
	}
	*body = end + 4;
	(*body)[*blen] = '\0';
	return 0;
}

static void reply_echo(int fd, const char *req, const char *body)
{
	char out[8192], payload[4096];
	int n;

	n = snprintf(payload, sizeof(payload), "%.*s %s", (int)strcspn(req, " "), req, body);
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Test-Index: 42\r\n"
		     "Content-Type: text/plain\r\n\r\n%s", n, payload);
	send_all(fd, out, n);
}

static void reply_stream(struct srv *s, int fd, bool hang)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	char c;

	send_all(fd, head, strlen(head));
	for (int i = 0; i < 3; i++) {
		char chunk[16];

		snprintf(chunk, sizeof(chunk), "2\r\n%c\n\r\n", 'a' + i);
		send_all(fd, chunk, strlen(chunk));
		if (hang) {
			/* Block until the client goes away or the server stops. */
			if (wait_in(s, fd, 10000) > 0 && recv(fd, &c, 1, 0) == 0)
				atomic_fetch_add(&s->closed_by_peer, 1);
			return;
		}
		wait_in(s, fd, 30);
	}
	send_all(fd, "0\r\n\r\n", 5);
}

static void *conn_main(void *p)
{
	struct conn_arg *a = p;
	struct srv *s = a->s;
	int fd = a->fd;
	char buf[8192], *body;
	size_t blen;

	free(a);
	while (read_req(s, fd, buf, sizeof(buf), &body, &blen) == 0) {
		if (strstr(buf, " /echo ")) {
			reply_echo(fd, buf, body);
		} else if (strstr(buf, " /slow ")) {
			wait_in(s, fd, 3000);
			reply_echo(fd, buf, body);
		} else if (strstr(buf, " /stream ")) {
			reply_stream(s, fd, false);
		} else if (strstr(buf, " /hang ")) {
			reply_stream(s, fd, true);
			break;
		} else {
			send_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45);
		}
	}
	return NULL;
}

static void *accept_main(void *p)
{
	struct srv *s = p;

	while (!atomic_load(&s->stop)) {
		struct conn_arg *a;
		int fd, i;

		if (wait_in(s, s->lfd, 1000) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		i = atomic_load(&s->nconns);
		a = malloc(sizeof(*a));
		if (i == SRV_CONNS || !a) {
			free(a);
			close(fd);
			continue;
		}
		a->s = s;
		a->fd = fd;
		s->fds[i] = fd;
		if (pthread_create(&s->conns[i], NULL, conn_main, a) != 0) {
			free(a);
			close(fd);
			continue;
		}
		atomic_fetch_add(&s->nconns, 1);
	}
	return NULL;
}

static int srv_start(struct srv *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->lfd, 1024) < 0 || getsockname(s->lfd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	s->port = ntohs(sa.sin_port);
	return pthread_create(&s->acceptor, NULL, accept_main, s);
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->acceptor, NULL);
	for (int i = 0; i < atomic_load(&s->nconns); i++) {
		pthread_join(s->conns[i], NULL);
		close(s->fds[i]);
	}
	close(s->lfd);
}

/* A loopback port nobody listens on: bind, read the port, close. */
static uint16_t dead_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- fixture ---- */

struct fx {
	uv_loop_t loop;
	struct srv srv;
	struct kvh *h;
	int closed;
};

struct got {
	int calls;
	int status;
	bool sent;
	long code;
	char body[4096];
	char index[32];
	char msg[256];
	char chunks[256];
	int nchunks;
	struct fx *f;
	struct kvh_req *req;
	bool cancel_in_chunk, close_in_done;
};

static void set_flag(void *arg)
{
	(*(int *)arg)++;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ovn_err err = { 0 };

	if (!f || uv_loop_init(&f->loop) < 0 || srv_start(&f->srv) != 0)
		return -1;
	if (kvh_new(&f->h, &f->loop, NULL, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int ret;

	if (f->h) {
		kvh_close(f->h, set_flag, &f->closed);
		uv_run(&f->loop, UV_RUN_DEFAULT);
		assert_int_equal(f->closed, 1);
	}
	uv_run(&f->loop, UV_RUN_DEFAULT);
	ret = uv_loop_close(&f->loop);
	srv_stop(&f->srv);
	free(f);
	assert_int_equal(ret, 0);
	return 0;
}

static void done_cb(const struct kvh_resp *resp, void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->status = resp->status;
	g->sent = resp->sent;
	g->code = resp->code;
	assert_non_null(resp->msg);
	assert_int_equal(resp->body[resp->len], '\0');
	snprintf(g->body, sizeof(g->body), "%s", resp->body);
	snprintf(g->msg, sizeof(g->msg), "%s", resp->msg);
	if (!kvh_header(resp, "x-test-index", g->index, sizeof(g->index)))
		g->index[0] = '\0';
	if (g->close_in_done) {
		kvh_close(g->f->h, set_flag, &g->f->closed);
		g->f->h = NULL;
	}
}

static void chunk_cb(const char *buf, size_t len, void *arg)
{
	struct got *g = arg;
	size_t used = strlen(g->chunks);

	g->nchunks++;
	assert_true(used + len < sizeof(g->chunks));
	memcpy(g->chunks + used, buf, len);
	g->chunks[used + len] = '\0';
	if (g->cancel_in_chunk) {
		kvh_cancel(g->f->h, g->req);
		/* The buffer must stay readable after cancelling. */
		assert_int_equal(buf[0], 'a');
	}
}

static void url(struct fx *f, char *buf, size_t size, const char *path)
{
	snprintf(buf, size, "http://127.0.0.1:%u%s", f->srv.port, path);
}

static int start(struct fx *f, const char *method, const char *path, const char *body,
		 long timeout_ms, struct got *g)
{
	static const char *const hdrs[] = { "Content-Type: application/json", NULL };
	char u[128];
	struct kvh_call call = {
		.method = method,
		.url = u,
		.body = body,
		.len = body ? strlen(body) : 0,
		.headers = hdrs,
		.timeout_ms = timeout_ms,
	};

	url(f, u, sizeof(u), path);
	g->f = f;
	return kvh_request(f->h, &call, done_cb, g, &g->req);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- tests ---- */

static void test_b64(void **state)
{
	static const struct {
		const char *plain, *enc;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
		{ "/ovn/x\xff", "L292bi94/w==" },
	};
	static const char *const bad[] = { "Z", "Zm9v!", "Zm=v", "Zm9vY" };
	char out[64];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		size_t n = strlen(v[i].plain);
		long len;

		kvh_b64_encode(v[i].plain, n, out);
		assert_string_equal(out, v[i].enc);
		assert_int_equal(strlen(out), kvh_b64_len(n));
		len = kvh_b64_decode(v[i].enc, strlen(v[i].enc), out);
		assert_int_equal(len, n);
		assert_memory_equal(out, v[i].plain, n);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(kvh_b64_decode(bad[i], strlen(bad[i]), out), -EINVAL);
}

static void test_request(void **state)
{
	struct fx *f = *state;
	struct got a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

	assert_int_equal(start(f, "POST", "/echo", "{\"k\":1}", 2000, &a), 0);
	assert_int_equal(a.calls, 0);	/* never from inside the call */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_true(a.sent);
	assert_int_equal(a.code, 200);
	assert_string_equal(a.body, "POST {\"k\":1}");
	assert_string_equal(a.index, "42");

	assert_int_equal(start(f, "GET", "/echo", NULL, 2000, &b), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_string_equal(b.body, "GET ");
	assert_int_equal(start(f, "PUT", "/echo", "v", 2000, &c), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_string_equal(c.body, "PUT v");
	assert_int_equal(start(f, "DELETE", "/nothing", NULL, 2000, &d), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.code, 404);
	/* Sequential requests share one kept-alive connection. */
	assert_int_equal(atomic_load(&f->srv.nconns), 1);
	assert_int_equal(kvh_inflight(f->h), 0);
}

/* OVN_TEST_TIME_SCALE (make check-valgrind sets 10): deadlines of tests
 * that measure throughput, not timeouts, stretched for slow runs. */
static unsigned time_scale(void)
{
	const char *s = getenv("OVN_TEST_TIME_SCALE");
	unsigned v = s ? (unsigned)strtoul(s, NULL, 10) : 1;

	return v ? v : 1;
}

static void test_parallel(void **state)
{
	struct fx *f = *state;
	static struct got g[300];

	memset(g, 0, sizeof(g));
	for (size_t i = 0; i < ARRAY_SIZE(g); i++)
		assert_int_equal(start(f, "POST", "/echo", "x", 5000 * time_scale(), &g[i]), 0);
	assert_int_equal(kvh_inflight(f->h), ARRAY_SIZE(g));
	uv_run(&f->loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < ARRAY_SIZE(g); i++) {
		assert_int_equal(g[i].calls, 1);
		assert_int_equal(g[i].status, 0);
		assert_string_equal(g[i].body, "POST x");
	}
}

static void test_timeout(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	double t0 = now_s();

	assert_int_equal(start(f, "POST", "/slow", "x", 200, &g), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, -ETIMEDOUT);
	assert_true(g.sent);
	assert_true(now_s() - t0 < 2.0);
	assert_true(g.msg[0] != '\0');
}

static void test_refused(void **state)
{
	struct fx *f = *state;
	char u[64];
	struct got g = { .f = f };
	struct kvh_call call = { .method = "GET", .url = u, .timeout_ms = 2000 };

	snprintf(u, sizeof(u), "http://127.0.0.1:%u/", dead_port());
	assert_int_equal(kvh_request(f->h, &call, done_cb, &g, NULL), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, -ECONNREFUSED);
	assert_false(g.sent);
	assert_int_equal(g.code, 0);
	assert_non_null(strstr(g.msg, "127.0.0.1"));
}

static int start_stream(struct fx *f, const char *path, struct got *g)
{
	char u[128];
	struct kvh_call call = { .method = "POST", .url = u, .body = "{}", .len = 2,
				 .connect_timeout_ms = 2000, .on_chunk = chunk_cb };

	url(f, u, sizeof(u), path);
	g->f = f;
	return kvh_request(f->h, &call, done_cb, g, &g->req);
}

static void test_stream(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };

	assert_int_equal(start_stream(f, "/stream", &g), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_string_equal(g.chunks, "a\nb\nc\n");
	/* 30 ms apart: they cannot all arrive in one read. */
	assert_true(g.nchunks >= 2);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, 0);
	assert_int_equal(g.code, 200);
	assert_string_equal(g.body, "");
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	struct got s = { .cancel_in_chunk = true }, p = { 0 };
	double t0 = now_s();

	/* A stream cancelled from its own chunk callback. */
	assert_int_equal(start_stream(f, "/hang", &s), 0);
	/* A plain request cancelled before the loop ever ran. */
	assert_int_equal(start(f, "POST", "/slow", "x", 5000, &p), 0);
	kvh_cancel(f->h, p.req);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(s.nchunks, 1);
	assert_int_equal(s.calls, 0);
	assert_int_equal(p.calls, 0);
	assert_int_equal(kvh_inflight(f->h), 0);
	/* The server saw the stream's connection closed. */
	while (atomic_load(&f->srv.closed_by_peer) == 0 && now_s() - t0 < 5)
		usleep(10000);
	assert_int_equal(atomic_load(&f->srv.closed_by_peer), 1);
}

static void test_close_pending(void **state)
{
	struct fx *f = *state;
	struct got a = { 0 }, b = { 0 }, c = { 0 };

	assert_int_equal(start(f, "POST", "/slow", "x", 5000, &a), 0);
	assert_int_equal(start_stream(f, "/hang", &b), 0);
	assert_int_equal(start(f, "POST", "/echo", "x", 5000, &c), 0);
	kvh_close(f->h, set_flag, &f->closed);
	assert_int_equal(start(f, "POST", "/echo", "x", 5000, &c), -ESHUTDOWN);
	f->h = NULL;
	assert_int_equal(a.calls, 0);	/* not from inside kvh_close */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->closed, 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, -ECANCELED);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.status, -ECANCELED);
	assert_int_equal(c.calls, 1);
}

static void test_close_in_callback(void **state)
{
	struct fx *f = *state;
	struct got a = { .close_in_done = true }, b = { 0 };

	assert_int_equal(start(f, "POST", "/echo", "x", 5000, &a), 0);
	assert_int_equal(start(f, "POST", "/slow", "x", 5000, &b), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.status, -ECANCELED);
	assert_int_equal(f->closed, 1);
}

static void test_inflight_bound(void **state)
{
	struct fx *f = *state;
	struct got *g = calloc(KVH_MAX_INFLIGHT + 1, sizeof(*g));
	char u[64];
	struct kvh_call call = { .method = "GET", .url = u, .timeout_ms = 5000 };

	assert_non_null(g);
	url(f, u, sizeof(u), "/echo");
	for (size_t i = 0; i < KVH_MAX_INFLIGHT; i++)
		assert_int_equal(kvh_request(f->h, &call, done_cb, &g[i], NULL), 0);
	assert_int_equal(kvh_request(f->h, &call, done_cb, &g[KVH_MAX_INFLIGHT], NULL),
			 -EAGAIN);
	/* Close before the loop runs: every one is cancelled, none leaks. */
	kvh_close(f->h, set_flag, &f->closed);
	f->h = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < KVH_MAX_INFLIGHT; i++)
		assert_int_equal(g[i].status, -ECANCELED);
	assert_int_equal(g[KVH_MAX_INFLIGHT].calls, 0);
	free(g);
}

static void test_bad_args(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	struct kvh_call call = { .method = "PATCH", .url = "http://127.0.0.1:1/" };

	assert_int_equal(kvh_request(f->h, &call, done_cb, &g, NULL), -EINVAL);
	call.method = NULL;
	assert_int_equal(kvh_request(f->h, &call, done_cb, &g, NULL), -EINVAL);
	call.method = "GET";
	assert_int_equal(kvh_request(f->h, &call, NULL, &g, NULL), -EINVAL);
	assert_int_equal(kvh_inflight(f->h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test_setup_teardown(test_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_in_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
