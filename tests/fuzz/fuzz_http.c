/* fuzz_http.c: libFuzzer target for the agent's HTTP/1.1 server
 * (agent/http.c) as a peer of the API socket sees it: the input is the
 * byte stream one client sends on one connection (pipelined requests,
 * bodies, garbage), then it half-closes. The real server runs on a libuv
 * loop on a unix socket in a private directory under /tmp; the routes
 * answer at once or one loop turn later (as the agent's asynchronous
 * handlers do), and use the captured path segments and query parameters.
 *
 * Checks beyond ASan/UBSan: the server always ends the connection (EOF
 * within a bounded number of loop turns, else abort: a hang is a bug), and
 * every byte it sends back is a sequence of well-formed status lines
 * ("HTTP/1.1 NNN ") at the starts of its answers. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "http_int.h"
#include "log.h"
#include "util.h"

#define MAX_LATER 16
#define MAX_TURNS 200000

static uv_loop_t loop;
static struct http_server *srv;
static char dir[64], path[128];
static struct http_req *later[MAX_LATER];
static int n_later;
static uv_timer_t later_timer;

static void reply_fmt(struct http_req *req, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_fmt(struct http_req *req, int status, const char *fmt, ...)
{
	char body[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(body))
		n = sizeof(body) - 1;
	http_reply(req, status, NULL, body, (size_t)n);
}

static void h_echo(struct http_req *req, void *arg)
{
	char x[64];
	const char *q = http_query_get(req, "x", x, sizeof(x));

	reply_fmt(req, 200, "{\"p\":\"%.100s\",\"x\":\"%.60s\"}", req->params[0], q ? q : "");
}

static void h_body(struct http_req *req, void *arg)
{
	reply_fmt(req, req->body_len ? 201 : 204, "{\"len\":%zu,\"type\":\"%.60s\",\"uid\":%u}",
		  req->body_len, req->content_type, req->peer ? req->peer->uid : 0);
}

static void h_two(struct http_req *req, void *arg)
{
	reply_fmt(req, 200, "%.60s/%.60s", req->params[0], req->params[1]);
}

static void on_later(uv_timer_t *t)
{
	int i, n = n_later;

	n_later = 0;
	for (i = 0; i < n; i++)
		reply_fmt(later[i], 202, "{\"later\":%d}", i);
}

static void h_later(struct http_req *req, void *arg)
{
	if (n_later == MAX_LATER) {
		reply_fmt(req, 503, "{}");
		return;
	}
	later[n_later++] = req;
	uv_timer_start(&later_timer, on_later, 0, 0);
}

static const struct http_route routes[] = {
	{ "GET", "/v1/echo/*", h_echo },
	{ "POST", "/v1/body", h_body },
	{ "PUT", "/a/*/b/*", h_two },
	{ "DELETE", "/v1/later/*", h_later },
	{ "GET", "/v1/later/*", h_later },
};

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void setup(void)
{
	/* A token bucket that never runs dry: the limiter's code runs on
	 * every request without refusing the fuzzer's inputs. */
	struct http_config cfg = { .routes = routes, .n_routes = ARRAY_SIZE(routes),
				   .max_body = 4096, .name = "fuzz", .rate = 1000000,
				   .burst = 1000000, .limit_root = true };
	struct ovn_err err = { 0 };

	log_init(LOG_LVL_ERROR);
	if (uv_loop_init(&loop) < 0)
		abort();
	uv_timer_init(&loop, &later_timer);
	snprintf(dir, sizeof(dir), "/tmp/ovn-fuzz-http-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	if (http_server_listen_unix(&srv, &loop, path, 0600, -1, &cfg, &err) < 0) {
		fprintf(stderr, "fuzz_http: %s\n", err.msg);
		abort();
	}
	atexit(cleanup);
}

/* Status lines at the start of each answer: the first bytes, and after
 * each blank line that ends a head plus its Content-Length of body. */
static void check_answers(const char *b, size_t n)
{
	size_t off = 0, clen;
	const char *end, *cl;

	while (off < n) {
		if (n - off < 13 || memcmp(b + off, "HTTP/1.1 ", 9))
			abort();
		end = memmem(b + off, n - off, "\r\n\r\n", 4);
		if (!end)
			abort();
		cl = memmem(b + off, end - (b + off), "Content-Length: ", 16);
		clen = cl ? strtoul(cl + 16, NULL, 10) : 0;
		off = (size_t)(end - b) + 4;
		/* 1xx answers carry no body, nor do answers to HEAD (which
		 * announce the length they would have): our bodies are JSON or
		 * short text, never a status line, so a status line (or the
		 * end) right after the head means there was no body. */
		if (off == n || (n - off >= 9 && !memcmp(b + off, "HTTP/1.1 ", 9)))
			clen = 0;
		if (clen > n - off)
			abort();	/* a body cut short */
		off += clen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char out[1 << 20];
	size_t got = 0, sent = 0;
	int fd, turns = 0;
	ssize_t r;

	if (!srv)
		setup();
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	for (;;) {
		if (sent < size) {
			r = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (r > 0)
				sent += (size_t)r;
			else if (errno == EPIPE || errno == ECONNRESET)
				sent = size;
			if (sent == size)
				shutdown(fd, SHUT_WR);
		} else if (!size && !turns) {
			shutdown(fd, SHUT_WR);
		}
		uv_run(&loop, UV_RUN_NOWAIT);
		r = recv(fd, out + got, sizeof(out) - got, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			break;
		if (r > 0)
			got += (size_t)r;
		if (got == sizeof(out) || ++turns > MAX_TURNS)
			abort();	/* the server never closed: a hang */
	}
	close(fd);
	/* Let the server finish closing its end (and answer late requests). */
	for (turns = 0; n_later || http_server_conn_count(srv); turns++) {
		if (turns > MAX_TURNS)
			abort();
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	check_answers(out, got);
	return 0;
}
