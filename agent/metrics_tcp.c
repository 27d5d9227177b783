/* metrics_tcp.c: the optional TCP listener for Prometheus (metrics.listen).
 *
 * What it does: listens on one IPv4 or IPv6 host:port and answers exactly
 * one request per connection: `GET /metrics` gets the text a render
 * callback produces (metrics.c), anything else a short error (400, 404,
 * 405, 431). Then it half-closes and drops the connection.
 *
 * Why a server of its own and not a second listener of agent/http.c: the
 * API socket is a unix socket guarded by file permissions; a TCP port has no
 * such guard, so nothing of the API may be reachable there. A separate tiny
 * server that knows one path cannot expose another by a routing slip, and
 * its limits are sized for scrapes, not for API clients:
 *   - at most METRICS_TCP_MAX_CONNS connections; more are accepted and
 *     closed at once (libuv stops accepting until we do);
 *   - the request head (request line + headers) is at most
 *     METRICS_TCP_MAX_REQ bytes (431 past it); bodies are never read;
 *   - a connection lives at most METRICS_TCP_TIMEOUT_MS from accept,
 *     whatever it sends (a client trickling bytes cannot hold a slot).
 *
 * Closing: after the answer is written the write side is shut down and the
 * rest of what the client sends is read and discarded until its EOF (or
 * the timeout), because closing with unread bytes in the receive queue
 * makes the kernel send a reset that may destroy the answer in flight.
 *
 * Lifetimes: a connection owns two handles (socket, timer) and is freed in
 * the second close callback. The server is freed once it is closing, its
 * listener has closed and no connection is left; it never calls back.
 *
 * Does not: keep-alive, HEAD, TLS, authentication, gzip. Put it on an
 * address only the monitoring network reaches.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "metrics.h"
#include "util.h"

struct mconn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	uv_shutdown_t sd;
	struct metrics_srv *srv;
	struct mconn *next, *prev;
	char *out;			/* the answer being written */
	int closes;			/* handles still open */
	bool answered, closing;
	bool peer_eof;			/* EOF seen while the answer was in flight */
	size_t len;
	char req[METRICS_TCP_MAX_REQ + 1];
};

struct metrics_srv {
	uv_loop_t *loop;
	uv_tcp_t listener;
	metrics_render_fn render;
	void *arg;
	struct mconn *conns;
	unsigned n_conns;
	uint64_t timeout_ms;
	bool closing, listener_open;
};

static void srv_maybe_free(struct metrics_srv *s)
{
	if (s->closing && !s->listener_open && !s->n_conns)
		free(s);
}

/* ---- address ---- */

int metrics_addr_parse(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	const char *colon;
	char host[INET6_ADDRSTRLEN];
	unsigned long port;
	size_t hl;
	bool v6 = s[0] == '[';	/* brackets hold an IPv6 address, nothing else */
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		colon = strchr(s, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		hl = (size_t)(colon - s - 1);
		s++;
		colon++;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))	/* IPv6 needs brackets */
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;
	if (!v6 && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (v6 && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -EINVAL;
}

/* ---- one connection ---- */

static void conn_free_if_closed(struct mconn *c)
{
	struct metrics_srv *s = c->srv;

	if (--c->closes)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	free(c->out);
	free(c);
	srv_maybe_free(s);
}

static void on_conn_close(uv_handle_t *h)
{
	conn_free_if_closed(h->data);
}

static void conn_close(struct mconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_conn_close);
	uv_close((uv_handle_t *)&c->timer, on_conn_close);
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *sd, int status)
{
	struct mconn *c = sd->data;

	/* Reading goes on (and discards) until the client's EOF or the timer. */
	if (status < 0)
		conn_close(c);
}

static void on_written(uv_write_t *wr, int status)
{
	struct mconn *c = wr->data;

	free(TAKE_PTR(c->out));
	if (status < 0 || c->closing || c->peer_eof) {
		conn_close(c);
		return;
	}
	c->sd.data = c;
	if (uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		conn_close(c);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

/* Queue the whole answer (head + body) in one write; takes body. */
static void conn_answer(struct mconn *c, int status, const char *ctype, char *body, size_t blen)
{
	char head[256];
	uv_buf_t b;
	int hl;

	c->answered = true;
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "%sConnection: close\r\n\r\n",
		      status, status_text(status), ctype, blen,
		      status == 405 ? "Allow: GET\r\n" : "");
	c->out = malloc((size_t)hl + blen);
	if (!c->out) {
		free(body);
		conn_close(c);
		return;
	}
	memcpy(c->out, head, (size_t)hl);
	if (blen)
		memcpy(c->out + hl, body, blen);
	free(body);
	b = uv_buf_init(c->out, (unsigned)((size_t)hl + blen));
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
		conn_close(c);
}

static void conn_error(struct mconn *c, int status, const char *why)
{
	char *body = strdup(why);

	conn_answer(c, status, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
}

/* The request line of a complete head: "GET /metrics HTTP/1.1". Header
 * fields are not needed for the one thing this server does. */
static void conn_request(struct mconn *c)
{
	char *method, *target, *version, *save = NULL, *eol, *q;
	char *body = NULL;
	size_t blen = 0;

	eol = strpbrk(c->req, "\r\n");
	*eol = '\0';
	method = strtok_r(c->req, " ", &save);
	target = strtok_r(NULL, " ", &save);
	version = strtok_r(NULL, " ", &save);
	if (!method || !target || !version || strtok_r(NULL, " ", &save) ||
	    strncmp(version, "HTTP/1.", 7) || !version[7] || version[8])
		return conn_error(c, 400, "malformed request line\n");
	if (strcmp(method, "GET"))
		return conn_error(c, 405, "only GET /metrics is served here\n");
	q = strchr(target, '?');
	if (q)
		*q = '\0';	/* a scraper's query parameters change nothing */
	if (strcmp(target, "/metrics"))
		return conn_error(c, 404, "only GET /metrics is served here\n");
	if (c->srv->render(c->srv->arg, &body, &blen) < 0)
		return conn_error(c, 500, "out of memory\n");
	conn_answer(c, 200, "text/plain; version=0.0.4; charset=utf-8", body, blen);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct mconn *c = h->data;
	static char sink[1024];	/* after the answer: bytes read only to be dropped */

	if (c->answered)
		*b = uv_buf_init(sink, sizeof(sink));
	else
		*b = uv_buf_init(c->req + c->len, (unsigned)(METRICS_TCP_MAX_REQ - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct mconn *c = st->data;

	if (n < 0 && c->out) {
		c->peer_eof = true;	/* a half-closing client still gets it */
		return;
	}
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (c->answered || c->closing || !n)
		return;
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		conn_request(c);
	else if (c->len >= METRICS_TCP_MAX_REQ)
		conn_error(c, 431, "request head too large\n");
}

static void conn_reject(struct metrics_srv *s)
{
	uv_tcp_t *t = malloc(sizeof(*t));

	if (!t)
		return;
	uv_tcp_init(s->loop, t);
	uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void conn_accept(struct metrics_srv *s)
{
	struct mconn *c = calloc(1, sizeof(*c));

	if (!c) {
		conn_reject(s);
		return;
	}
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->srv = s;
	c->closes = 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	uv_timer_start(&c->timer, on_timeout, s->timeout_ms, 0);
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct metrics_srv *s = l->data;

	if (status < 0 || s->closing)
		return;
	if (s->n_conns >= METRICS_TCP_MAX_CONNS)
		conn_reject(s);
	else
		conn_accept(s);
}

/* ---- the server ---- */

static void on_listener_close(uv_handle_t *h)
{
	struct metrics_srv *s = h->data;

	s->listener_open = false;
	srv_maybe_free(s);
}

int metrics_srv_listen(struct metrics_srv **out, uv_loop_t *loop, const char *addr,
		       metrics_render_fn render, void *arg, struct ovn_err *err)
{
	struct sockaddr_storage ss;
	struct metrics_srv *s;
	int ret;

	*out = NULL;
	if (metrics_addr_parse(addr, &ss) < 0)
		return ovn_err_set(err, -EINVAL, "metrics.listen: '%s' is not IPv4:PORT or "
				   "[IPv6]:PORT", addr);
	ret = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ovn_err_set(err, ret, "metrics.listen: out of memory");
	s->loop = loop;
	s->render = render;
	s->arg = arg;
	s->timeout_ms = METRICS_TCP_TIMEOUT_MS;
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	s->listener_open = true;
	ret = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss,
			  ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (!ret)
		ret = uv_listen((uv_stream_t *)&s->listener, 64, on_connection);
	if (ret < 0) {
		ovn_err_set(err, ret, "metrics.listen %s: %s", addr, uv_strerror(ret));
		s->closing = true;
		uv_close((uv_handle_t *)&s->listener, on_listener_close);
		return ret;
	}
	*out = s;
	return 0;
}

void metrics_srv_close(struct metrics_srv *s)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	for (struct mconn *c = s->conns; c; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&s->listener, on_listener_close);
}

int metrics_srv_port(const struct metrics_srv *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

unsigned metrics_srv_conn_count(const struct metrics_srv *s)
{
	return s->n_conns;
}

void metrics_srv_set_timeout(struct metrics_srv *s, uint64_t ms)
{
	s->timeout_ms = ms;
}
