/* gossip_uv.c: the libuv transport of the gossip core, the only file in
 * gossip/ that knows libuv (API at the end of gossip.h).
 *
 *	UDP	one socket on cfg->addr; every datagram goes to gossip_input,
 *		sends are uv_udp_try_send (a full socket buffer drops the
 *		datagram: UDP is lossy anyway and the protocol expects it)
 *	TCP	a listener on the same port. Each connection carries exactly
 *		one stream frame each way (gw_frame_len finds its end), then
 *		closes: the server answers with gossip_stream_serve, the client
 *		reports the answer with gossip_stream_done. stream_timeout_ms
 *		bounds every connection.
 *	timer	re-armed from gossip_next_deadline in a prepare handle, i.e.
 *		before every poll, so calls into the core from anywhere on the
 *		loop's thread are covered without a "kick" call
 *
 * Lifetimes (STYLE 7): a connection owns two handles (tcp, timer) and is
 * freed in the second close callback; gossip_uv_close closes everything and
 * frees the core only when the last handle is closed.
 *
 * Does not: keep connections open for reuse, or drain a graceful leave for
 * the caller (call gossip_leave, run the loop ~1 s, then close).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "gossip_int.h"

struct guv_conn {
	struct gossip_uv *u;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	uv_write_t write;
	int open_handles;
	bool client, done, closing;
	uint64_t token;
	uint8_t *out;			/* request (client) or answer (server) */
	size_t out_len;
	uint8_t *in;
	size_t in_len, in_cap;
	struct guv_conn *next;
};

struct gossip_uv {
	uv_loop_t *loop;
	struct gossip *g;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_prepare_t prepare;
	int open_handles;
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
	struct guv_conn *conns;
	struct gossip_addr addr;
	uint8_t rbuf[GPKT_IN_MAX];
};

/* ---- addresses ---- */

static socklen_t guv_to_sa(const struct gossip_addr *a, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof(*s4);
}

static void guv_from_sa(struct gossip_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		a->family = AF_INET6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->ip, &s6->sin6_addr, 16);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		a->family = AF_INET;
		a->port = ntohs(s4->sin_port);
		memcpy(a->ip, &s4->sin_addr, 4);
	}
}

/* ---- teardown ---- */

static void guv_maybe_done(struct gossip_uv *u)
{
	void (*cb)(void *) = u->close_cb;
	void *arg = u->close_arg;

	if (!u->closing || u->open_handles || u->conns)
		return;
	gossip_free(u->g);
	free(u);
	if (cb)
		cb(arg);
}

static void guv_conn_closed(uv_handle_t *h)
{
	struct guv_conn *c = h->data, **pp;
	struct gossip_uv *u = c->u;

	if (--c->open_handles)
		return;
	for (pp = &u->conns; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	free(c->out);
	free(c->in);
	free(c);
	guv_maybe_done(u);
}

/* Tell the core how a request of ours ended (once; never while closing). */
static void guv_report(struct guv_conn *c, int status)
{
	if (!c->client || c->done || c->u->closing)
		return;
	c->done = true;
	gossip_stream_done(c->u->g, c->token, status, c->in, status ? 0 : c->in_len);
}

static void guv_conn_close(struct guv_conn *c, int status)
{
	if (c->closing)
		return;
	c->closing = true;
	guv_report(c, status);
	uv_close((uv_handle_t *)&c->tcp, guv_conn_closed);
	uv_close((uv_handle_t *)&c->timer, guv_conn_closed);
}

static void guv_handle_closed(uv_handle_t *h)
{
	struct gossip_uv *u = h->data;

	u->open_handles--;
	guv_maybe_done(u);
}

void gossip_uv_close(struct gossip_uv *u, void (*cb)(void *arg), void *arg)
{
	struct guv_conn *c;

	u->closing = true;
	u->close_cb = cb;
	u->close_arg = arg;
	for (c = u->conns; c; c = c->next)
		guv_conn_close(c, -ECANCELED);
	uv_close((uv_handle_t *)&u->udp, guv_handle_closed);
	uv_close((uv_handle_t *)&u->tcp, guv_handle_closed);
	uv_close((uv_handle_t *)&u->timer, guv_handle_closed);
	uv_close((uv_handle_t *)&u->prepare, guv_handle_closed);
}

/* ---- streams ---- */

static void guv_timeout(uv_timer_t *t)
{
	guv_conn_close(t->data, -ETIMEDOUT);
}

static struct guv_conn *guv_conn_new(struct gossip_uv *u, bool client)
{
	struct guv_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->u = u;
	c->client = client;
	uv_tcp_init(u->loop, &c->tcp);
	uv_timer_init(u->loop, &c->timer);
	c->tcp.data = c->timer.data = c->connect.data = c->write.data = c;
	c->open_handles = 2;
	c->next = u->conns;
	u->conns = c;
	uv_timer_start(&c->timer, guv_timeout, u->g->cfg.stream_timeout_ms, 0);
	return c;
}

static void guv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct guv_conn *c = h->data;
	size_t want = c->in_len + 65536;
	uint8_t *p;

	if (want > c->in_cap) {
		p = realloc(c->in, want);
		if (!p) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		c->in = p;
		c->in_cap = want;
	}
	*buf = uv_buf_init((char *)c->in + c->in_len, c->in_cap - c->in_len);
}

static void guv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void guv_written(uv_write_t *w, int status)
{
	struct guv_conn *c = w->data;

	if (status < 0 || !c->client) {
		guv_conn_close(c, status < 0 ? status : 0);
		return;
	}
	if (uv_read_start((uv_stream_t *)&c->tcp, guv_alloc, guv_read) < 0)
		guv_conn_close(c, -EIO);
}

static void guv_send(struct guv_conn *c)
{
	uv_buf_t b = uv_buf_init((char *)c->out, c->out_len);

	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, guv_written) < 0)
		guv_conn_close(c, -EIO);
}

/* A whole frame arrived: answer it (server) or report it (client). */
static void guv_frame(struct guv_conn *c)
{
	struct sockaddr_storage ss;
	struct gossip_addr from;
	int len = sizeof(ss), r;
	void *resp;
	size_t rlen;

	uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->client) {
		guv_conn_close(c, 0);
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0) {
		guv_conn_close(c, -EIO);
		return;
	}
	guv_from_sa(&from, (struct sockaddr *)&ss);
	r = gossip_stream_serve(c->u->g, &from, c->in, c->in_len, &resp, &rlen);
	if (r < 0) {
		guv_conn_close(c, r);
		return;
	}
	c->out = resp;
	c->out_len = rlen;
	guv_send(c);
}

static void guv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct guv_conn *c = s->data;
	long want;

	if (n < 0) {
		guv_conn_close(c, n == UV_EOF ? -ECONNRESET : (int)n);
		return;
	}
	c->in_len += n;
	want = gw_frame_len(c->in, c->in_len);
	if (want < 0 || (want && c->in_len > (size_t)want)) {
		guv_conn_close(c, -EBADMSG);
		return;
	}
	if (want && c->in_len == (size_t)want)
		guv_frame(c);
}

static void guv_accept(uv_stream_t *srv, int status)
{
	struct gossip_uv *u = srv->data;
	struct guv_conn *c;

	if (status < 0 || u->closing)
		return;
	c = guv_conn_new(u, false);
	if (!c)
		return;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, guv_alloc, guv_read) < 0)
		guv_conn_close(c, -EIO);
}

static void guv_connected(uv_connect_t *req, int status)
{
	struct guv_conn *c = req->data;

	if (status < 0) {
		guv_conn_close(c, status);
		return;
	}
	guv_send(c);
}

/* ---- the injected I/O ---- */

static int guv_io_send(void *ctx, const struct gossip_addr *to, const void *buf, size_t len)
{
	struct gossip_uv *u = ctx;
	struct sockaddr_storage ss;
	uv_buf_t b = uv_buf_init((char *)buf, len);
	int r;

	guv_to_sa(to, &ss);
	r = uv_udp_try_send(&u->udp, &b, 1, (struct sockaddr *)&ss);
	return r < 0 ? r : 0;
}

static int guv_io_stream(void *ctx, const struct gossip_addr *to, const void *buf, size_t len,
			 uint64_t token)
{
	struct gossip_uv *u = ctx;
	struct sockaddr_storage ss;
	struct guv_conn *c;
	int r;

	c = guv_conn_new(u, true);
	if (!c)
		return -ENOMEM;
	c->token = token;
	c->done = true;		/* no report while still inside this call */
	c->out = malloc(len);
	r = -ENOMEM;
	if (!c->out)
		goto fail;
	memcpy(c->out, buf, len);
	c->out_len = len;
	guv_to_sa(to, &ss);
	r = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&ss, guv_connected);
	if (r < 0)
		goto fail;
	c->done = false;
	return 0;
fail:
	guv_conn_close(c, r);
	return r;
}

static uint64_t guv_io_now(void *ctx)
{
	return uv_hrtime() / 1000000;
}

static uint32_t guv_io_rand(void *ctx)
{
	return randombytes_random();
}

/* ---- loop hooks ---- */

static void guv_tick(uv_timer_t *t)
{
	gossip_tick(((struct gossip_uv *)t->data)->g);
}

static void guv_arm(uv_prepare_t *p)
{
	struct gossip_uv *u = p->data;
	uint64_t d = gossip_next_deadline(u->g), now = guv_io_now(u);

	if (d == UINT64_MAX) {
		uv_timer_stop(&u->timer);
		return;
	}
	uv_timer_start(&u->timer, guv_tick, d > now ? d - now : 0, 0);
}

static void guv_udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct gossip_uv *u = h->data;

	*buf = uv_buf_init((char *)u->rbuf, sizeof(u->rbuf));
}

static void guv_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
			 const struct sockaddr *sa, unsigned flags)
{
	struct gossip_uv *u = h->data;
	struct gossip_addr from;

	/* n == 0 with no address: nothing more to read right now. A
	 * truncated datagram cannot authenticate or parse: drop it. */
	if (n <= 0 || !sa || (flags & UV_UDP_PARTIAL) || u->closing)
		return;
	guv_from_sa(&from, sa);
	gossip_input(u->g, &from, buf->base, n);
}

/* ---- setup ---- */

/* Port 0: a port free for both TCP and UDP. The kernel picks a TCP port;
 * it is kept only if UDP can have the same one (else another try), and both
 * probes close just before libuv binds it. */
static int guv_pick_port(struct gossip_uv *u)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int t, d, ok;

	for (int tries = 0; tries < 32; tries++) {
		guv_to_sa(&u->addr, &ss);
		t = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		d = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		len = sizeof(ss);
		ok = t >= 0 && d >= 0 && bind(t, (struct sockaddr *)&ss, len) == 0 &&
		     getsockname(t, (struct sockaddr *)&ss, &len) == 0 &&
		     bind(d, (struct sockaddr *)&ss, len) == 0;
		if (ok)
			guv_from_sa(&u->addr, (struct sockaddr *)&ss);
		if (t >= 0)
			close(t);
		if (d >= 0)
			close(d);
		if (ok)
			return 0;
	}
	return -EADDRINUSE;
}

/* Bind UDP, then TCP on the same port. */
static int guv_bind(struct gossip_uv *u)
{
	struct sockaddr_storage ss;
	int r;

	if (!u->addr.port && (r = guv_pick_port(u)) < 0)
		return r;
	guv_to_sa(&u->addr, &ss);
	r = uv_udp_bind(&u->udp, (struct sockaddr *)&ss, 0);
	if (r < 0)
		return r;
	r = uv_tcp_bind(&u->tcp, (struct sockaddr *)&ss, 0);
	if (r < 0)
		return r;
	return uv_listen((uv_stream_t *)&u->tcp, 128, guv_accept);
}

int gossip_uv_new(struct uv_loop_s *loop, const struct gossip_config *cfg,
		  const struct gossip_cb *cb, struct gossip_uv **out)
{
	struct gossip_io io = { guv_io_send, guv_io_stream, guv_io_now, guv_io_rand, NULL };
	struct gossip_config c = *cfg;
	struct gossip_uv *u;
	int r;

	if (sodium_init() < 0)
		return -EIO;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->loop = loop;
	u->addr = cfg->addr;
	io.ctx = u;
	uv_udp_init(loop, &u->udp);
	uv_tcp_init(loop, &u->tcp);
	uv_timer_init(loop, &u->timer);
	uv_prepare_init(loop, &u->prepare);
	u->udp.data = u->tcp.data = u->timer.data = u->prepare.data = u;
	u->open_handles = 4;
	r = guv_bind(u);
	if (r < 0)
		goto fail;
	c.addr = u->addr;
	r = gossip_new(&c, &io, cb, &u->g);
	if (r < 0)
		goto fail;
	uv_prepare_start(&u->prepare, guv_arm);
	r = uv_udp_recv_start(&u->udp, guv_udp_alloc, guv_udp_recv);
	if (r < 0)
		goto fail;
	*out = u;
	return 0;
fail:
	/* Handles close asynchronously: u is freed once the loop runs. */
	gossip_uv_close(u, NULL, NULL);
	return r;
}

struct gossip *gossip_uv_core(struct gossip_uv *u)
{
	return u->g;
}

const struct gossip_addr *gossip_uv_addr(const struct gossip_uv *u)
{
	return &u->addr;
}
