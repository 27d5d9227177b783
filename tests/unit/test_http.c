/* test_http.c: the HTTP/1.1 server (agent/http.c) on a real unix socket.
 *
 * The server runs on a uv loop in the test's thread; a client thread talks to
 * it with plain blocking sockets and raw bytes, records what it got, and
 * wakes the loop with a uv_async when done. Assertions run in the test's
 * thread after the client is joined (cmocka's longjmp must not cross
 * threads). Every run ends with the server closed and uv_loop_close() == 0.
 *
 * Most cases are rows of one table: the bytes sent (in up to three steps),
 * the answers expected (status, a substring of the head and of the body) and
 * whether the server must close afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "http_int.h"
#include "util.h"

#define MAX_RESP	4
#define N_CONNS		(HTTP_MAX_CONNS + 1)

struct resp {
	int status;
	char head[1024];
	char body[1024];
};

struct step {
	const char *send;
	int n_resp;			/* answers to read after sending */
	bool no_body;			/* HEAD: answers carry no body */
	int pause_ms;			/* before sending */
};

struct xcase {
	const char *name;
	struct step steps[3];
	bool shut_wr;			/* half-close after the last step */
	int status[MAX_RESP];
	const char *head[MAX_RESP];	/* substring of the answer's head */
	const char *body[MAX_RESP];	/* substring of its body */
	bool eof;			/* server closes after the answers */
};

struct fx {
	uv_loop_t loop;
	struct http_server *srv;
	char dir[64];
	char path[128];
	uv_async_t done;
	pthread_t th;
	void (*client)(struct fx *f);
	bool srv_closing;
	bool srv_closed;
	/* client thread results */
	const struct xcase *xc;
	struct resp r[MAX_RESP];
	int n_resp;
	bool eof;
	int eof_conn;			/* max conns: the one closed at once */
	int ok_after;			/* max conns: status on a kept one */
	double idle_secs;
	/* server side */
	struct http_req *held;
	unsigned keep_conns;		/* connections the held client keeps */
	uv_timer_t poll;
	int replied_late;		/* answered after the client left */
	int dropped_after_close;	/* answered after server close */
	/* peer tests: who the client thread becomes, what it got */
	int opts_uid;			/* -1 = stay root */
	unsigned cli_gid;
	unsigned cli_groups[2];
	int n_cli_groups;
	int n_reqs;
	int statuses[8];
	char last_body[1024];
	char last_head[1024];
};

/* ---- client side (client thread) ---- */

struct cli {
	int fd;
	char buf[65536];
	size_t len;
};

static int cli_open(struct cli *k, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };

	k->len = 0;
	k->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->fd < 0)
		return -errno;
	setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	strcpy(sa.sun_path, path);
	if (connect(k->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(TAKE_FD(k->fd));
		return -errno;
	}
	return 0;
}

static void cli_send(struct cli *k, const char *s)
{
	size_t n = strlen(s), off = 0;
	ssize_t w;

	/* The server may close mid-send (413, 431): EPIPE is expected then. */
	while (off < n) {
		w = send(k->fd, s + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		off += w;
	}
}

/* Returns bytes read, 0 at EOF (or reset: the server closed with our bytes
 * unread), -1 on timeout or error. */
static int cli_fill(struct cli *k)
{
	ssize_t n = recv(k->fd, k->buf + k->len, sizeof(k->buf) - k->len, 0);

	if (n < 0)
		return errno == ECONNRESET ? 0 : -1;
	k->len += n;
	return n;
}

static int cli_resp_body(struct cli *k, struct resp *r, bool no_body)
{
	size_t hl, bl = 0;
	char *e, *cl;

	while (!(e = memmem(k->buf, k->len, "\r\n\r\n", 4)))
		if (cli_fill(k) <= 0)
			return -1;
	hl = e - k->buf + 4;
	if (hl >= sizeof(r->head))
		return -1;
	memcpy(r->head, k->buf, hl);
	r->head[hl] = '\0';
	if (sscanf(r->head, "HTTP/1.1 %d ", &r->status) != 1)
		return -1;
	cl = strcasestr(r->head, "\r\nContent-Length: ");
	if (cl && !no_body)
		bl = strtoul(cl + 18, NULL, 10);
	if (bl >= sizeof(r->body))
		return -1;
	while (k->len < hl + bl)
		if (cli_fill(k) <= 0)
			return -1;
	memcpy(r->body, k->buf + hl, bl);
	r->body[bl] = '\0';
	memmove(k->buf, k->buf + hl + bl, k->len - hl - bl);
	k->len -= hl + bl;
	return 0;
}

static int cli_resp(struct cli *k, struct resp *r)
{
	return cli_resp_body(k, r, false);
}

static bool cli_eof(struct cli *k)
{
	return !k->len && cli_fill(k) == 0;
}

static void *client_main(void *arg)
{
	struct fx *f = arg;

	f->client(f);
	uv_async_send(&f->done);
	return NULL;
}

/* ---- server side (test thread) ---- */

static void reply_str(struct http_req *req, int status, const char *ctype, const char *s)
{
	http_reply(req, status, ctype, s, strlen(s));
}

static void h_path(struct http_req *req, void *arg)
{
	char b[256];

	snprintf(b, sizeof(b), "{\"path\":\"%s\"}", req->path);
	reply_str(req, 200, NULL, b);
}

static void h_endpoint(struct http_req *req, void *arg)
{
	char b[256];

	assert_int_equal(req->n_params, 2);
	snprintf(b, sizeof(b), "{\"net\":\"%s\",\"ep\":\"%s\"}", req->params[0], req->params[1]);
	reply_str(req, 200, NULL, b);
}

static void h_echo(struct http_req *req, void *arg)
{
	assert_int_equal(strlen(req->body), req->body_len);
	http_reply(req, 200, *req->content_type ? req->content_type : NULL, req->body,
		   req->body_len);
}

static void h_query(struct http_req *req, void *arg)
{
	char force[16], x[32], b[64];

	snprintf(b, sizeof(b), "%s|%s",
		 http_query_get(req, "force", force, sizeof(force)) ?: "-",
		 http_query_get(req, "x", x, sizeof(x)) ?: "-");
	reply_str(req, 200, "text/plain", b);
}

static void h_nocontent(struct http_req *req, void *arg)
{
	http_reply(req, 204, NULL, NULL, 0);
}

struct later {
	uv_timer_t t;
	struct http_req *req;
};

static void on_later_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_later(uv_timer_t *t)
{
	struct later *l = t->data;

	reply_str(l->req, 200, "text/plain", "slow");
	uv_close((uv_handle_t *)t, on_later_closed);
}

/* Answers 30 ms later from a timer. */
static void h_slow(struct http_req *req, void *arg)
{
	struct fx *f = arg;
	struct later *l = malloc(sizeof(*l));

	assert_non_null(l);
	l->req = req;
	uv_timer_init(&f->loop, &l->t);
	l->t.data = l;
	uv_timer_start(&l->t, on_later, 30, 0);
}

/* Once the server has closed the connection, answer the held request. */
static void on_held_poll(uv_timer_t *t)
{
	struct fx *f = t->data;

	if (http_server_conn_count(f->srv) > f->keep_conns)
		return;
	reply_str(TAKE_PTR(f->held), 200, NULL, "{}");
	__atomic_store_n(&f->replied_late, 1, __ATOMIC_SEQ_CST);
	uv_close((uv_handle_t *)t, NULL);
}

static void h_held(struct http_req *req, void *arg)
{
	struct fx *f = arg;

	f->held = req;
	uv_timer_init(&f->loop, &f->poll);
	f->poll.data = f;
	uv_timer_start(&f->poll, on_held_poll, 5, 5);
}

static void on_srv_closed(void *arg)
{
	struct fx *f = arg;

	f->srv_closed = true;
	if (f->held) {
		/* The server is gone: this answer must be dropped safely. */
		reply_str(TAKE_PTR(f->held), 200, NULL, "{}");
		f->dropped_after_close++;
	}
}

/* Close the server from inside a handler, with this request pending. */
static void h_closesrv(struct http_req *req, void *arg)
{
	struct fx *f = arg;

	f->held = req;
	f->srv_closing = true;
	http_server_close(f->srv, on_srv_closed, f);
}

static const struct http_route routes[] = {
	{ "GET", "/v1/networks/*/endpoints/*", h_endpoint },
	{ "GET", "/v1/networks/*", h_path },
	{ "DELETE", "/v1/networks/*", h_path },
	{ "POST", "/v1/echo", h_echo },
	{ "GET", "/v1/query", h_query },
	{ "GET", "/v1/slow", h_slow },
	{ "GET", "/v1/held", h_held },
	{ "GET", "/v1/closesrv", h_closesrv },
	{ "DELETE", "/v1/*/x", h_path },	/* a second DELETE for the Allow list */
	{ "HEAD", "/v1/head", h_path },
	{ "GET", "/v1/nocontent", h_nocontent },
	{ "GET", "/", h_path },
};

static void on_client_done(uv_async_t *a)
{
	struct fx *f = a->data;

	uv_close((uv_handle_t *)a, NULL);
	if (!f->srv_closing) {
		f->srv_closing = true;
		http_server_close(f->srv, on_srv_closed, f);
	}
}

/* Server knobs of the peer tests; NULL in fx_init = defaults. */
struct fx_opts {
	unsigned mode;
	int gid;
	unsigned rate, burst;
	bool limit_root;
};

static void fx_init_opts(struct fx *f, const struct fx_opts *o)
{
	struct http_config cfg = {
		.routes = routes,
		.n_routes = ARRAY_SIZE(routes),
		.arg = f,
		.name = "test",
		.rate = o ? o->rate : 0,
		.burst = o ? o->burst : 0,
		.limit_root = o && o->limit_root,
	};
	struct ovn_err err = { 0 };

	memset(f, 0, sizeof(*f));
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	strcpy(f->dir, "/tmp/ovn-http-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	/* Other users must reach the socket in the peer tests. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(http_server_listen_unix(&f->srv, &f->loop, f->path, o ? o->mode : 0660,
						 o ? o->gid : -1, &cfg, &err), 0);
	f->opts_uid = -1;
}

static void fx_init(struct fx *f)
{
	fx_init_opts(f, NULL);
}

/* Run the client thread against the server until both are done. */
static void fx_run(struct fx *f, void (*client)(struct fx *f))
{
	f->client = client;
	assert_int_equal(uv_async_init(&f->loop, &f->done, on_client_done), 0);
	f->done.data = f;
	assert_int_equal(pthread_create(&f->th, NULL, client_main, f), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	pthread_join(f->th, NULL);
	assert_true(f->srv_closed);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	rmdir(f->dir);
}

/* ---- table cases ---- */

/* One step: bytes to send, answers to read, options. */
#define S(str, n, ...) { .send = (str), .n_resp = (n), __VA_ARGS__ }

static char big_head[HTTP_MAX_HEAD + 100];	/* one byte too many and more */
static char fit_head[HTTP_MAX_HEAD + 1];	/* exactly HTTP_MAX_HEAD */

static const struct xcase cases[] = {
	{ "route_params_decoded",
	  { S("GET /v1/networks/a%20b/endpoints/e%2F1 HTTP/1.1\r\nHost: x\r\n\r\n", 1) },
	  .status = { 200 }, .body = { "{\"net\":\"a b\",\"ep\":\"e/1\"}" },
	  .head = { "Server: ovnagent\r\n" } },
	{ "not_found_keeps_alive",
	  { S("GET /v2/x HTTP/1.1\r\n\r\n", 1), S("GET /v1/networks/n HTTP/1.1\r\n\r\n", 1) },
	  .status = { 404, 200 }, .body = { "{\"error\":\"not found\"}", "/v1/networks/n" } },
	{ "method_not_allowed",
	  { S("PUT /v1/networks/x HTTP/1.1\r\n\r\n", 1) },
	  .status = { 405 }, .head = { "Allow: GET, DELETE\r\n" } },
	{ "trailing_slash_404",
	  { S("GET /v1/networks/x/ HTTP/1.1\r\n\r\n", 1) }, .status = { 404 } },
	{ "empty_segment_404",
	  { S("GET /v1/networks//endpoints/e HTTP/1.1\r\n\r\n", 1) }, .status = { 404 } },
	{ "post_body",
	  { S("POST /v1/echo HTTP/1.1\r\nContent-Type: text/plain\r\n"
	      "Content-Length: 11\r\n\r\nhello world", 1) },
	  .status = { 200 }, .body = { "hello world" },
	  .head = { "Content-Type: text/plain\r\nContent-Length: 11\r\n" } },
	{ "header_names_any_case",
	  { S("POST /v1/echo HTTP/1.1\r\ncontent-LENGTH: 3\r\n"
	      "CONTENT-TYPE:  text/x \r\n\r\nabc", 1) },
	  .status = { 200 }, .body = { "abc" }, .head = { "Content-Type: text/x\r\n" } },
	{ "body_split_over_sends",
	  { S("POST /v1/echo HTTP/1.1\r\nContent-Length: 6\r\n\r\nab", 0), S("cdef", 1) },
	  .status = { 200 }, .body = { "abcdef" } },
	{ "keep_alive_two_requests",
	  { S("GET /v1/networks/a HTTP/1.1\r\n\r\n", 1),
	    S("GET /v1/networks/b HTTP/1.1\r\n\r\n", 1) },
	  .status = { 200, 200 }, .body = { "/v1/networks/a", "/v1/networks/b" } },
	{ "pipelined_in_order",
	  { S("GET /v1/slow HTTP/1.1\r\n\r\nGET /v1/networks/p HTTP/1.1\r\n\r\n"
	      "POST /v1/echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
	      "GET /nope HTTP/1.1\r\n\r\n", 4) },
	  .status = { 200, 200, 200, 404 },
	  .body = { "slow", "/v1/networks/p", "xyz", "not found" } },
	{ "pipelined_while_pending",
	  { S("GET /v1/slow HTTP/1.1\r\n\r\n", 0),
	    S("GET /v1/networks/q HTTP/1.1\r\n\r\n", 2, .pause_ms = 10) },
	  .status = { 200, 200 }, .body = { "slow", "/v1/networks/q" } },
	{ "head_without_body",
	  { S("HEAD /v1/head HTTP/1.1\r\n\r\n", 1, .no_body = true),
	    S("GET /v1/networks/h HTTP/1.1\r\n\r\n", 1) },
	  .status = { 200, 200 }, .head = { "Content-Length: 19\r\n" },
	  .body = { NULL, "/v1/networks/h" } },
	{ "no_content_204",
	  { S("GET /v1/nocontent HTTP/1.1\r\n\r\n", 1), S("GET / HTTP/1.1\r\n\r\n", 1) },
	  .status = { 204, 200 } },
	{ "async_handler",
	  { S("GET /v1/slow HTTP/1.1\r\n\r\n", 1) }, .status = { 200 }, .body = { "slow" } },
	{ "query_decoding",
	  { S("GET /v1/query?force=true&x=a%20b+c HTTP/1.1\r\n\r\n", 1) },
	  .status = { 200 }, .body = { "true|a b c" } },
	{ "leading_empty_line",
	  { S("\r\nGET / HTTP/1.1\r\n\r\n", 1) }, .status = { 200 } },
	{ "head_block_exactly_max", { S(fit_head, 1) }, .status = { 200 } },
	{ "body_too_large_413",
	  { S("POST /v1/echo HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 1) },
	  .status = { 413 }, .head = { "Connection: close\r\n" },
	  .body = { "{\"error\":\"request body too large\"}" }, .eof = true },
	{ "head_block_too_large_431", { S(big_head, 1) },
	  .status = { 431 }, .body = { "{\"error\":" }, .eof = true },
	{ "chunked_501",
	  { S("POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "5\r\nhello\r\n0\r\n\r\n", 1) },
	  .status = { 501 }, .eof = true },
	{ "request_line_no_space",
	  { S("GET/ HTTP/1.1\r\n\r\n", 1) }, .status = { 400 },
	  .body = { "{\"error\":\"malformed request line\"}" }, .eof = true },
	{ "request_line_double_space",
	  { S("GET  / HTTP/1.1\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "request_line_garbage",
	  { S("hello\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "http_version_505",
	  { S("GET / HTTP/2.0\r\n\r\n", 1) }, .status = { 505 }, .eof = true },
	{ "absolute_form_400",
	  { S("GET http://h/ HTTP/1.1\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "malformed_escape_400",
	  { S("GET /v1/networks/a%zz HTTP/1.1\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "truncated_escape_400",
	  { S("GET /v1/networks/a%4 HTTP/1.1\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "nul_escape_400",
	  { S("GET /v1/networks/a%00b HTTP/1.1\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "control_char_400",
	  { S("GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "bare_cr_400",
	  { S("GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "raw_8bit_target_400",
	  { S("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "bad_method_token_400",
	  { S("G(T / HTTP/1.1\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "header_without_colon_400",
	  { S("GET / HTTP/1.1\r\nHost\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "content_length_empty",
	  { S("POST /v1/echo HTTP/1.1\r\nContent-Length:\r\n\r\n", 1) },
	  .status = { 400 }, .eof = true },
	{ "bare_lf_400",
	  { S("GET / HTTP/1.1\nHost: x\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "content_length_not_digits",
	  { S("POST /v1/echo HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 1) },
	  .status = { 400 }, .eof = true },
	{ "content_length_signed",
	  { S("POST /v1/echo HTTP/1.1\r\nContent-Length: +1\r\n\r\nx", 1) },
	  .status = { 400 }, .eof = true },
	{ "content_length_twice",
	  { S("POST /v1/echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 1) },
	  .status = { 400 }, .eof = true },
	{ "content_length_list",
	  { S("POST /v1/echo HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx", 1) },
	  .status = { 400 }, .eof = true },
	{ "header_name_space",
	  { S("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "header_folding",
	  { S("GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", 1) }, .status = { 400 }, .eof = true },
	{ "expect_unknown_417",
	  { S("GET / HTTP/1.1\r\nExpect: magic\r\n\r\n", 1) }, .status = { 417 }, .eof = true },
	{ "unknown_method_501_keeps_alive",
	  { S("BREW / HTTP/1.1\r\n\r\n", 1), S("GET / HTTP/1.1\r\n\r\n", 1) },
	  .status = { 501, 200 } },
	{ "http10_closes",
	  { S("GET /v1/networks/x HTTP/1.0\r\n\r\n", 1) },
	  .status = { 200 }, .head = { "Connection: close\r\n" }, .eof = true },
	{ "http10_keep_alive",
	  { S("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1),
	    S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1) },
	  .status = { 200, 200 },
	  .head = { "Connection: keep-alive\r\n", "Connection: keep-alive\r\n" } },
	{ "connection_close",
	  { S("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", 1) },
	  .status = { 200 }, .head = { "Connection: close\r\n" }, .eof = true },
	{ "expect_100_continue",
	  { S("POST /v1/echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", 1),
	    S("hello", 1) },
	  .status = { 100, 200 }, .body = { NULL, "hello" } },
	{ "half_close_still_answered",
	  { S("GET / HTTP/1.1\r\n\r\n", 1) }, .shut_wr = true, .status = { 200 }, .eof = true },
};

static void client_table(struct fx *f)
{
	const struct xcase *xc = f->xc;
	struct cli *k = malloc(sizeof(*k));
	size_t i;
	int j;

	if (!k || cli_open(k, f->path) < 0)
		goto out;
	for (i = 0; i < ARRAY_SIZE(xc->steps) && xc->steps[i].send; i++) {
		usleep(xc->steps[i].pause_ms * 1000);
		cli_send(k, xc->steps[i].send);
		if (i + 1 == ARRAY_SIZE(xc->steps) || !xc->steps[i + 1].send)
			if (xc->shut_wr)
				shutdown(k->fd, SHUT_WR);
		for (j = 0; j < xc->steps[i].n_resp && f->n_resp < MAX_RESP; j++) {
			if (cli_resp_body(k, &f->r[f->n_resp], xc->steps[i].no_body) < 0)
				goto close;
			f->n_resp++;
		}
	}
	if (xc->eof)
		f->eof = cli_eof(k);
close:
	close(k->fd);
out:
	free(k);
}

static void test_case(void **state)
{
	const struct xcase *xc = *state;
	struct fx f;
	int i, want = 0;

	fx_init(&f);
	f.xc = xc;
	fx_run(&f, client_table);
	for (i = 0; i < (int)ARRAY_SIZE(xc->steps); i++)
		want += xc->steps[i].n_resp;
	assert_int_equal(f.n_resp, want);
	for (i = 0; i < want; i++) {
		assert_int_equal(f.r[i].status, xc->status[i]);
		if (xc->head[i])
			assert_non_null(strstr(f.r[i].head, xc->head[i]));
		if (xc->body[i])
			assert_non_null(strstr(f.r[i].body, xc->body[i]));
		/* A half-closing client was answered before its EOF arrived. */
		if (xc->eof && !xc->shut_wr)
			assert_non_null(strstr(f.r[i].head, "Connection: close\r\n"));
	}
	assert_int_equal(f.eof, xc->eof);
}

/* ---- scenarios that need more than one connection or the clock ---- */

static void client_disconnect(struct fx *f)
{
	struct cli *k = calloc(2, sizeof(*k));
	struct resp r;
	int i;

	/* k[1] stays open (and is accepted after k[0]), so the connection
	 * that goes is not the newest one in the server's list. */
	if (!k)
		return;
	k[0].fd = k[1].fd = -1;
	if (cli_open(&k[0], f->path) || cli_open(&k[1], f->path))
		goto out;
	cli_send(&k[1], "GET / HTTP/1.1\r\n\r\n");
	if (cli_resp(&k[1], &r) < 0)
		goto out;
	cli_send(&k[0], "GET /v1/held HTTP/1.1\r\n\r\n");
	close(TAKE_FD(k[0].fd));
	/* The server answers once it has seen us go; wait for that. */
	for (i = 0; i < 500 && !__atomic_load_n(&f->replied_late, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
out:
	if (k[0].fd >= 0)
		close(k[0].fd);
	if (k[1].fd >= 0)
		close(k[1].fd);
	free(k);
}

static void test_client_disconnects_before_answer(void **state)
{
	struct fx f;

	fx_init(&f);
	f.keep_conns = 1;
	fx_run(&f, client_disconnect);
	assert_int_equal(f.replied_late, 1);
	assert_null(f.held);
}

/* Many requests arrive while one is pending: the server buffers what fits,
 * stops reading, and answers all of them in order afterwards. */
#define FLOOD 300

static void client_flood(struct fx *f)
{
	static const char one[] = "GET /v1/networks/f HTTP/1.1\r\n\r\n";
	struct cli *k = malloc(sizeof(*k));
	char *req = malloc(FLOOD * (sizeof(one) - 1) + 1);
	struct resp r;
	int i;

	if (!k || !req || cli_open(k, f->path) < 0)
		goto out;
	for (i = 0; i < FLOOD; i++)
		memcpy(req + i * (sizeof(one) - 1), one, sizeof(one) - 1);
	req[FLOOD * (sizeof(one) - 1)] = '\0';
	cli_send(k, "GET /v1/slow HTTP/1.1\r\n\r\n");
	usleep(10000);
	cli_send(k, req);
	if (cli_resp(k, &r) < 0 || strcmp(r.body, "slow"))
		goto close;
	for (i = 0; i < FLOOD; i++) {
		if (cli_resp(k, &r) < 0 || r.status != 200 || !strstr(r.body, "/v1/networks/f"))
			break;
		f->n_resp++;
	}
close:
	close(k->fd);
out:
	free(req);
	free(k);
}

static void test_pipeline_flood_while_pending(void **state)
{
	struct fx f;

	fx_init(&f);
	fx_run(&f, client_flood);
	assert_int_equal(f.n_resp, FLOOD);
}

static void client_close_pending(struct fx *f)
{
	struct cli *k = malloc(sizeof(*k));
	struct resp r;

	if (k && !cli_open(k, f->path)) {
		cli_send(k, "GET /v1/closesrv HTTP/1.1\r\n\r\n");
		/* No answer: the server closed with the request pending. */
		f->eof = cli_resp(k, &r) < 0 && !k->len;
		close(k->fd);
	}
	free(k);
}

static void test_server_close_with_pending_request(void **state)
{
	struct fx f;

	fx_init(&f);
	fx_run(&f, client_close_pending);
	assert_true(f.eof);
	assert_int_equal(f.dropped_after_close, 1);
}

static void client_max_conns(struct fx *f)
{
	struct cli *k = calloc(N_CONNS, sizeof(*k));
	struct resp r;
	int i, n;

	if (!k)
		return;
	for (n = 0; n < N_CONNS; n++)
		if (cli_open(&k[n], f->path) < 0)
			break;
	/* Accepts happen in connect order: the last one is over the limit. */
	if (n == N_CONNS && cli_eof(&k[N_CONNS - 1]))
		f->eof_conn = N_CONNS - 1;
	if (n == N_CONNS) {
		cli_send(&k[0], "GET / HTTP/1.1\r\n\r\n");
		if (!cli_resp(&k[0], &r))
			f->ok_after = r.status;
	}
	for (i = 0; i < n; i++)
		close(k[i].fd);
	free(k);
}

static void test_max_connections(void **state)
{
	struct fx f;

	fx_init(&f);
	fx_run(&f, client_max_conns);
	assert_int_equal(f.eof_conn, N_CONNS - 1);
	assert_int_equal(f.ok_after, 200);
}

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void client_idle(struct fx *f)
{
	struct cli *k = malloc(sizeof(*k));
	struct resp r;
	double t0;

	if (!k || cli_open(k, f->path) < 0)
		goto out;
	/* One request answered, then a partial one left hanging. */
	cli_send(k, "GET / HTTP/1.1\r\n\r\n");
	if (cli_resp(k, &r) < 0)
		goto close;
	t0 = now_secs();
	cli_send(k, "GET / HT");
	f->eof = cli_eof(k);
	f->idle_secs = now_secs() - t0;
close:
	close(k->fd);
out:
	free(k);
}

static void test_idle_timeout(void **state)
{
	struct fx f;

	fx_init(&f);
	http_server_set_idle_timeout(f.srv, 100);
	fx_run(&f, client_idle);
	assert_true(f.eof);
	assert_true(f.idle_secs >= 0.05 && f.idle_secs < 3);
}

/* ---- peers: credentials and rate limits ---- */

/* Become another user in this thread only: the raw syscalls, since glibc's
 * wrappers would change every thread of the process (the server's too). */
static int become(struct fx *f)
{
	gid_t groups[2] = { f->cli_groups[0], f->cli_groups[1] };

	if (f->opts_uid < 0)
		return 0;
	if (syscall(SYS_setgroups, (size_t)f->n_cli_groups, groups) < 0 ||
	    syscall(SYS_setresgid, f->cli_gid, f->cli_gid, f->cli_gid) < 0 ||
	    syscall(SYS_setresuid, f->opts_uid, f->opts_uid, f->opts_uid) < 0)
		return -errno;
	return 0;
}

/* n_reqs GETs on one keep-alive connection; statuses recorded. */
static void client_as(struct fx *f)
{
	struct cli *k = malloc(sizeof(*k));
	struct resp r;
	int i;

	if (!k || become(f) < 0 || cli_open(k, f->path) < 0)
		goto out;
	for (i = 0; i < f->n_reqs; i++) {
		cli_send(k, "GET / HTTP/1.1\r\n\r\n");
		if (cli_resp(k, &r) < 0)
			break;
		f->statuses[i] = r.status;
		snprintf(f->last_body, sizeof(f->last_body), "%s", r.body);
		snprintf(f->last_head, sizeof(f->last_head), "%s", r.head);
	}
	/* Only a refused peer is closed on; a kept connection would make
	 * cli_eof wait out its receive timeout. */
	if (i && f->statuses[i - 1] == 403)
		f->eof = cli_eof(k);
	close(k->fd);
out:
	free(k);
}

static void peer_run(struct fx *f, const struct fx_opts *o, int uid, unsigned gid,
		     int n_groups, unsigned g0, int n_reqs)
{
	fx_init_opts(f, o);
	f->opts_uid = uid;
	f->cli_gid = gid;
	f->n_cli_groups = n_groups;
	f->cli_groups[0] = g0;
	f->n_reqs = n_reqs;
	fx_run(f, client_as);
}

#define NOBODY 65534

/* A user neither root nor in the socket's group: 403 naming the uid, then
 * the connection closes (the socket's mode is opened to everyone here, so
 * only the credential check stands in the way). */
static void test_peer_refused(void **state)
{
	struct fx_opts o = { .mode = 0666, .gid = 4242 };
	struct fx f;

	if (geteuid() != 0)
		skip();
	peer_run(&f, &o, NOBODY, NOBODY, 0, 0, 2);
	assert_int_equal(f.statuses[0], 403);
	assert_int_equal(f.statuses[1], 0);
	assert_non_null(strstr(f.last_body, "uid 65534 is neither root nor a member of group 4242"));
	assert_true(f.eof);
}

/* Membership by primary group and by a supplementary one (SO_PEERGROUPS)
 * both count; the bucket (rate 1/s, burst 3) refuses the fourth request
 * with 429 and Retry-After, and the connection stays open. */
static void test_peer_group_and_rate(void **state)
{
	struct fx_opts o = { .mode = 0666, .gid = 4242, .rate = 1, .burst = 3 };
	struct fx f;

	if (geteuid() != 0)
		skip();
	peer_run(&f, &o, NOBODY, 4242, 0, 0, 5);
	assert_int_equal(f.statuses[0], 200);
	assert_int_equal(f.statuses[2], 200);
	assert_int_equal(f.statuses[3], 429);
	assert_int_equal(f.statuses[4], 429);
	assert_non_null(strstr(f.last_head, "Retry-After: 1\r\n"));
	assert_non_null(strstr(f.last_body, "rate limit: uid 65534 sent more than 1 requests/s"));

	peer_run(&f, &o, NOBODY, NOBODY, 1, 4242, 2);
	assert_int_equal(f.statuses[0], 200);
	assert_int_equal(f.statuses[1], 200);
}

/* Root is not limited unless asked. */
static void test_rate_root(void **state)
{
	struct fx_opts o = { .mode = 0660, .gid = -1, .rate = 1, .burst = 1 };
	struct fx f;

	peer_run(&f, &o, -1, 0, 0, 0, 4);
	if (geteuid() == 0)
		assert_int_equal(f.statuses[3], 200);
	o.limit_root = true;
	peer_run(&f, &o, -1, 0, 0, 0, 2);
	assert_int_equal(f.statuses[0], 200);
	assert_int_equal(f.statuses[1], 429);
}

/* ---- listening ---- */

static void on_closed_flag(void *arg)
{
	*(bool *)arg = true;
}

static int listen_at(uv_loop_t *loop, struct http_server **s, const char *path, int gid)
{
	struct http_config cfg = { .routes = routes, .n_routes = ARRAY_SIZE(routes) };
	struct ovn_err err = { 0 };
	int ret;

	ret = http_server_listen_unix(s, loop, path, 0660, gid, &cfg, &err);
	if (ret)
		assert_int_equal(err.code, ret);
	return ret;
}

static void test_listen_path_rules(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct http_server *s = NULL, *s2 = NULL;
	char dir[] = "/tmp/ovn-http-XXXXXX", path[128], longp[200];
	bool closed = false;
	struct stat st;
	uv_loop_t loop;
	int fd;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/api.sock", dir);

	/* Not a socket: left alone. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(listen_at(&loop, &s, path, -1), -EEXIST);
	assert_null(s);
	unlink(path);

	/* A stale socket (bound, nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(listen_at(&loop, &s, path, (int)getgid()), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, getgid());

	/* A live one is not. */
	assert_int_equal(listen_at(&loop, &s2, path, -1), -EADDRINUSE);
	assert_null(s2);

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(listen_at(&loop, &s2, longp, -1), -ENAMETOOLONG);

	http_server_close(s, on_closed_flag, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(closed);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_bad_routes_refused(void **state)
{
	static const struct http_route too_many[] = {
		{ "GET", "/*/*/*/*/*", h_path },
	};
	static const struct http_route relative[] = {
		{ "GET", "v1/x", h_path },
	};
	struct http_config cfg = { .routes = too_many, .n_routes = 1 };
	struct http_server *s = NULL;
	struct ovn_err err = { 0 };
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(http_server_listen_unix(&s, &loop, "/tmp/unused.sock", 0600, -1, &cfg,
						 &err), -EINVAL);
	assert_non_null(strstr(err.msg, "wildcards"));
	cfg.routes = relative;
	assert_int_equal(http_server_listen_unix(&s, &loop, "/tmp/unused.sock", 0600, -1, &cfg,
						 NULL), -EINVAL);
	assert_null(s);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- http_query_get, no server ---- */

static void test_query_get(void **state)
{
	static const struct {
		const char *query, *name, *want;
	} v[] = {
		{ "force=true&x=1", "force", "true" },
		{ "force=true&x=1", "x", "1" },
		{ "force=true&x=1", "y", NULL },
		{ "a=b%20c", "a", "b c" },
		{ "a=b+c", "a", "b c" },
		{ "a=%2B%26%3D", "a", "+&=" },
		{ "flag", "flag", "" },
		{ "flag&x=2", "flag", "" },
		{ "a=", "a", "" },
		{ "a%62=1", "ab", "1" },
		{ "ab=1", "a", NULL },
		{ "a=1&a=2", "a", "1" },
		{ "&&a=1&", "a", "1" },
		{ "a=%zz", "a", NULL },
		{ "a=%00", "a", NULL },
		{ "a=%4", "a", NULL },
		{ "a=0123456789abcdef", "a", NULL },	/* does not fit buf */
		{ "", "a", NULL },
	};
	struct http_req req = { 0 };
	char buf[16];
	const char *got;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		req.query = v[i].query;
		got = http_query_get(&req, v[i].name, buf, sizeof(buf));
		if (!v[i].want) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		assert_string_equal(got, v[i].want);
	}
}

static void heads_init(void)
{
	static const char pre[] = "GET / HTTP/1.1\r\nX-Pad: ";
	size_t n;

	/* fit_head: HTTP_MAX_HEAD bytes including the final blank line. */
	n = HTTP_MAX_HEAD - strlen(pre) - 4;
	strcpy(fit_head, pre);
	memset(fit_head + strlen(pre), 'a', n);
	strcpy(fit_head + strlen(pre) + n, "\r\n\r\n");
	/* big_head: one header byte more than allowed. */
	strcpy(big_head, pre);
	memset(big_head + strlen(pre), 'a', n + 1);
	strcpy(big_head + strlen(pre) + n + 1, "\r\n\r\n");
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_query_get),
		cmocka_unit_test(test_listen_path_rules),
		cmocka_unit_test(test_bad_routes_refused),
		cmocka_unit_test(test_client_disconnects_before_answer),
		cmocka_unit_test(test_server_close_with_pending_request),
		cmocka_unit_test(test_pipeline_flood_while_pending),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_peer_refused),
		cmocka_unit_test(test_peer_group_and_rate),
		cmocka_unit_test(test_rate_root),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(cases)];
	size_t i;

	heads_init();
	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[i] = fixed[i];
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		tests[ARRAY_SIZE(fixed) + i] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = test_case,
			.initial_state = (void *)&cases[i],
		};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
