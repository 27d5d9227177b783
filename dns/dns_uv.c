/* dns_uv.c: the DNS server's sockets on the agent's libuv loop; the only
 * dns/ file that knows libuv.
 *
 * - UDP listeners: uv_poll on the raw fd, then recvmmsg/sendmmsg in batches
 *   of 32, so a busy socket costs two syscalls per batch and an idle one a
 *   wakeup per query (the figure that matters for a mostly idle resolver).
 * - TCP listeners (RFC 7766): length-prefixed messages, several per
 *   connection, answered as they come (forwarded ones out of order), an idle
 *   timeout, a cap on connections. Replies go out with uv_try_write of the
 *   prefix and message together; only a partial write allocates.
 * - Upstreams: one connected UDP socket each (the kernel picks a random
 *   source port and drops datagrams from anyone else), and a TCP connection
 *   opened on demand for truncated replies, pipelined, closed once nothing
 *   is in flight on it.
 * - One timer runs the core's forwarding deadlines.
 *
 * Lifetimes: a listener is freed once its handle and all its connections
 * are closed (reference count); a connection once both its handles are
 * closed; the whole object once every handle is closed (dns_uv_close).
 *
 * Does not: open sockets in other namespaces (the agent passes fds bound
 * there); use IP_PKTINFO (bind a specific address, not a wildcard).
 * TODO: several sockets per upstream; IP_PKTINFO for wildcard binds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <uv.h>

#include "dns_int.h"
#include "util.h"

#define BATCH 32
#define RX_SLOT 4096
#define ROUNDS 8			/* batches per wakeup before yielding */
#define TCP_WQ_MAX (1u << 20)		/* unread replies before we hang up */

union sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

struct conn;

struct dns_listener {
	struct dns_uv *u;
	struct dns_listener *next, **pprev;
	uint32_t view;
	enum dns_proto proto;
	int fd;
	int refs;			/* handle + connections */
	bool closing;
	bool own_fd;			/* close fd ourselves (the handle does not) */
	/* Both kinds are a poll handle on our own socket (a TCP listener
	 * accepts itself): 90 bytes less than a uv_tcp_t, per container. */
	uv_poll_t h;
	struct conn *conns;
};

struct conn {
	struct dns_listener *l;
	struct conn *next, **pprev;
	uv_tcp_t tcp;
	uv_timer_t idle;
	int handles;
	bool closing;
	uint8_t *buf;
	size_t len, cap;
};

struct up_tcp {
	struct dns_uv *u;
	unsigned int idx;
	uv_tcp_t tcp;
	uv_connect_t creq;
	bool closing;
	unsigned int inflight;		/* queries written, not yet answered */
	uint8_t *buf;
	size_t len, cap;
};

struct upstream {
	struct dns_uv *u;
	int fd;
	bool polling;
	uv_poll_t poll;
	struct up_tcp *tcp;
};

struct dns_uv {
	uv_loop_t *loop;
	struct dns_server *srv;
	struct dns_uv_cfg cfg;
	struct upstream ups[DNS_MAX_UPSTREAMS];
	uv_timer_t timer;
	uint64_t due;
	struct dns_listener *listeners;
	unsigned int nconns;
	unsigned int handles;		/* open handles, for close */
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
	uint32_t rnd[64];
	unsigned int nrnd;
	struct mmsghdr rmsg[BATCH], tmsg[BATCH];
	struct iovec riov[BATCH], tiov[BATCH];
	union sa raddr[BATCH];
	uint8_t rbuf[BATCH][RX_SLOT];
	uint8_t tbuf[BATCH][DNS_UDP_SIZE];
	uint8_t tcpbuf[2 + DNS_MSG_MAX];
};

static void maybe_done(struct dns_uv *u);
static void on_timer(uv_timer_t *t);

/* ------------------------------------------------------------ timer, random */
static void arm(struct dns_uv *u)
{
	uint64_t d = dns_server_next_deadline(u->srv), now = uv_now(u->loop);

	if (u->closing || d == UINT64_MAX)
		return;
	if (uv_is_active((uv_handle_t *)&u->timer) && u->due <= d)
		return;
	u->due = d;
	uv_timer_start(&u->timer, on_timer, d > now ? d - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct dns_uv *u = t->data;

	u->due = UINT64_MAX;
	dns_server_tick(u->srv, uv_now(u->loop));
	arm(u);
}

static uint32_t rnd32(void *ctx)
{
	struct dns_uv *u = ctx;

	if (u->nrnd == 0) {
		/* getrandom never fails for a small request once the pool is
		 * initialised; the fallback keeps IDs changing if it does */
		if (getrandom(u->rnd, sizeof(u->rnd), 0) != sizeof(u->rnd))
			for (unsigned int i = 0; i < ARRAY_SIZE(u->rnd); i++)
				u->rnd[i] = u->rnd[i] * 1664525u + 1013904223u + i;
		u->nrnd = ARRAY_SIZE(u->rnd);
	}
	return u->rnd[--u->nrnd];
}

/* ------------------------------------------------------------ closing */
static void maybe_done(struct dns_uv *u)
{
	void (*cb)(void *arg) = u->close_cb;
	void *arg = u->close_arg;

	if (!u->closing || u->handles)
		return;
	dns_server_free(u->srv);
	free(u);
	if (cb)
		cb(arg);
}

static void listener_unref(struct dns_listener *l)
{
	struct dns_uv *u = l->u;

	if (--l->refs == 0) {
		free(l);
		maybe_done(u);
	}
}

static void listener_closed(uv_handle_t *h)
{
	struct dns_listener *l = h->data;

	if (l->own_fd)
		close(l->fd);
	l->u->handles--;
	listener_unref(l);
}

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct dns_listener *l = c->l;

	l->u->handles--;
	if (--c->handles > 0)
		return;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	l->u->nconns--;
	free(c->buf);
	free(c);
	listener_unref(l);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	dns_server_forget(c->l->u->srv, c);
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->idle, conn_closed);
}

void dns_uv_listener_close(struct dns_listener *l)
{
	if (l->closing)
		return;
	l->closing = true;
	*l->pprev = l->next;
	if (l->next)
		l->next->pprev = l->pprev;
	dns_server_forget(l->u->srv, l);
	for (struct conn *c = l->conns; c; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&l->h, listener_closed);
}

static void up_tcp_closed(uv_handle_t *h)
{
	struct up_tcp *t = h->data;
	struct dns_uv *u = t->u;

	if (u->ups[t->idx].tcp == t)
		u->ups[t->idx].tcp = NULL;
	free(t->buf);
	free(t);
	u->handles--;
	maybe_done(u);
}

static void up_tcp_close(struct up_tcp *t)
{
	if (t->closing)
		return;
	t->closing = true;
	if (t->u->ups[t->idx].tcp == t)
		t->u->ups[t->idx].tcp = NULL;	/* the next send reconnects */
	uv_close((uv_handle_t *)&t->tcp, up_tcp_closed);
}

static void up_poll_closed(uv_handle_t *h)
{
	struct upstream *up = h->data;
	struct dns_uv *u = up->u;

	close(up->fd);
	up->fd = -1;
	u->handles--;
	maybe_done(u);
}

static void timer_closed(uv_handle_t *h)
{
	struct dns_uv *u = h->data;

	u->handles--;
	maybe_done(u);
}

void dns_uv_close(struct dns_uv *u, void (*cb)(void *arg), void *arg)
{
	if (u->closing)
		return;
	u->closing = true;
	u->close_cb = cb;
	u->close_arg = arg;
	while (u->listeners)
		dns_uv_listener_close(u->listeners);
	for (unsigned int i = 0; i < DNS_MAX_UPSTREAMS; i++) {
		struct upstream *up = &u->ups[i];

		if (up->tcp)
			up_tcp_close(up->tcp);
		if (up->polling)
			uv_close((uv_handle_t *)&up->poll, up_poll_closed);
		else if (up->fd >= 0)
			close(up->fd);
	}
	uv_close((uv_handle_t *)&u->timer, timer_closed);
}

/* ------------------------------------------------------------ TCP framing */
/* Make room for at least one more read; a buffer holds at most one whole
 * message plus a read's worth. */
static void frame_alloc(uint8_t **buf, size_t len, size_t *cap, uv_buf_t *out)
{
	if (*cap - len < 4096 && *cap < 2 + DNS_MSG_MAX + 4096) {
		size_t ncap = *cap ? *cap * 2 : 4096;
		uint8_t *nb;

		if (ncap > 2 + DNS_MSG_MAX + 4096)
			ncap = 2 + DNS_MSG_MAX + 4096;
		nb = realloc(*buf, ncap);
		if (nb) {
			*buf = nb;
			*cap = ncap;
		}
	}
	*out = uv_buf_init((char *)*buf + len, (unsigned int)(*cap - len));
}

/* Call fn for each complete message; keep the partial tail. stop() says the
 * owner started closing. */
static void frames_eat(uint8_t *buf, size_t *len, void (*fn)(void *obj, const uint8_t *m, size_t n),
		       bool (*stop)(void *obj), void *obj)
{
	size_t off = 0;

	while (*len - off >= 2 && !stop(obj)) {
		size_t n = dns_rd16(buf + off);

		if (*len - off < 2 + n)
			break;
		fn(obj, buf + off + 2, n);
		off += 2 + n;
	}
	memmove(buf, buf + off, *len - off);
	*len -= off;
}

struct wreq {
	uv_write_t req;
	uint8_t data[];
};

static void write_done(uv_write_t *req, int status)
{
	free(req);
}

/* Write the prefix and message in one go; copy only what the kernel did not
 * take at once. -errno when the stream cannot be written. */
static int stream_send(uv_stream_t *s, const uint8_t *msg, size_t n)
{
	uint8_t hdr[2];
	uv_buf_t b[2] = { uv_buf_init((char *)hdr, 2), uv_buf_init((char *)msg, (unsigned int)n) };
	struct wreq *w;
	size_t done = 0, rest;
	int r;

	dns_wr16(hdr, (uint16_t)n);
	r = uv_try_write(s, b, 2);
	if (r < 0 && r != UV_EAGAIN)
		return r;
	done = r > 0 ? (size_t)r : 0;
	if (done == n + 2)
		return 0;
	rest = n + 2 - done;
	w = malloc(sizeof(*w) + rest);
	if (!w)
		return -ENOMEM;
	if (done < 2) {
		memcpy(w->data, hdr + done, 2 - done);
		memcpy(w->data + 2 - done, msg, n);
	} else {
		memcpy(w->data, msg + done - 2, rest);
	}
	b[0] = uv_buf_init((char *)w->data, (unsigned int)rest);
	r = uv_write(&w->req, s, b, 1, write_done);
	if (r < 0)
		free(w);
	return r;
}

/* ------------------------------------------------------------ client TCP */
static void conn_send(struct conn *c, const uint8_t *msg, size_t n)
{
	if (c->closing)
		return;
	if (stream_send((uv_stream_t *)&c->tcp, msg, n) < 0 ||
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > TCP_WQ_MAX)
		conn_close(c);
}

static bool conn_stopping(void *obj)
{
	return ((struct conn *)obj)->closing;
}

static void conn_message(void *obj, const uint8_t *m, size_t n)
{
	struct conn *c = obj;
	struct dns_uv *u = c->l->u;
	struct dns_client cl = { .conn = c, .view = c->l->view, .tcp = true };
	int r = dns_server_query(u->srv, &cl, m, n, u->tcpbuf, DNS_MSG_MAX, uv_now(u->loop));

	if (r > 0)
		conn_send(c, u->tcpbuf, (size_t)r);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct conn *c = h->data;

	frame_alloc(&c->buf, c->len, &c->cap, b);
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = s->data;
	struct dns_uv *u = c->l->u;

	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	frames_eat(c->buf, &c->len, conn_message, conn_stopping, c);
	if (!c->closing)
		uv_timer_again(&c->idle);
	arm(u);
}

static void conn_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

/* One accepted connection (fd is ours until the handle takes it). */
static void conn_new(struct dns_listener *l, int fd)
{
	struct dns_uv *u = l->u;
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->l = l;
	uv_tcp_init(u->loop, &c->tcp);
	uv_timer_init(u->loop, &c->idle);
	c->tcp.data = c->idle.data = c;
	c->handles = 2;
	u->handles += 2;
	u->nconns++;
	l->refs++;
	c->next = l->conns;
	c->pprev = &l->conns;
	if (l->conns)
		l->conns->pprev = &c->next;
	l->conns = c;
	if (uv_tcp_open(&c->tcp, fd) < 0) {
		close(fd);
		conn_close(c);
		return;
	}
	if (u->nconns > u->cfg.max_tcp_conns ||
	    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) < 0) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->idle, conn_idle, u->cfg.tcp_idle_ms, u->cfg.tcp_idle_ms);
}

/* Accept what the backlog holds, a bounded number per wakeup so one busy
 * listener cannot starve the loop. */
static void tcp_acceptable(uv_poll_t *h, int status, int events)
{
	struct dns_listener *l = h->data;

	(void)events;
	if (status < 0 || l->closing)
		return;
	for (int i = 0; i < 32; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;	/* EAGAIN, or out of fds: the next wakeup retries */
		}
		conn_new(l, fd);
	}
}

/* ------------------------------------------------------------ client UDP */
static void udp_batch_send(int fd, struct mmsghdr *m, unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		int r = sendmmsg(fd, m + done, n - done, MSG_DONTWAIT);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return;	/* socket full: UDP replies are droppable */
		}
		done += (unsigned int)r;
	}
}

static int rx_batch(struct dns_uv *u, int fd)
{
	for (int i = 0; i < BATCH; i++) {
		u->riov[i] = (struct iovec){ u->rbuf[i], RX_SLOT };
		u->rmsg[i].msg_hdr = (struct msghdr){
			.msg_name = &u->raddr[i], .msg_namelen = sizeof(u->raddr[i]),
			.msg_iov = &u->riov[i], .msg_iovlen = 1,
		};
	}
	return recvmmsg(fd, u->rmsg, BATCH, MSG_DONTWAIT, NULL);
}

static unsigned int udp_answer(struct dns_listener *l, int n)
{
	struct dns_uv *u = l->u;
	uint64_t now = uv_now(u->loop);
	unsigned int nt = 0;

	for (int i = 0; i < n; i++) {
		struct dns_client cl = { .conn = l, .view = l->view };
		socklen_t al = u->rmsg[i].msg_hdr.msg_namelen;
		int r;

		if ((u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) || al > sizeof(cl.peer))
			continue;	/* 4 KiB query: not DNS we answer */
		memcpy(&cl.peer, &u->raddr[i], al);
		cl.peer_len = al;
		r = dns_server_query(u->srv, &cl, u->rbuf[i], u->rmsg[i].msg_len, u->tbuf[nt],
				     DNS_UDP_SIZE, now);
		if (r <= 0)
			continue;
		u->tiov[nt] = (struct iovec){ u->tbuf[nt], (size_t)r };
		u->tmsg[nt].msg_hdr = (struct msghdr){
			.msg_name = &u->raddr[i], .msg_namelen = al,
			.msg_iov = &u->tiov[nt], .msg_iovlen = 1,
		};
		nt++;
	}
	return nt;
}

static void udp_readable(uv_poll_t *p, int status, int events)
{
	struct dns_listener *l = p->data;

	for (int round = 0; round < ROUNDS && !l->closing; round++) {
		int n = rx_batch(l->u, l->fd);
		unsigned int nt;

		if (n <= 0)
			break;
		nt = udp_answer(l, n);
		udp_batch_send(l->fd, l->u->tmsg, nt);
		if (n < BATCH)
			break;
	}
	arm(l->u);
}

/* ------------------------------------------------------------ listeners */
static struct dns_listener *listener_new(struct dns_uv *u, uint32_t view, int fd,
					 enum dns_proto proto)
{
	struct dns_listener *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->u = u;
	l->view = view;
	l->proto = proto;
	l->fd = fd;
	l->refs = 1;
	l->own_fd = true;
	return l;
}

static void listener_link(struct dns_uv *u, struct dns_listener *l)
{
	l->h.data = l;
	l->next = u->listeners;
	l->pprev = &u->listeners;
	if (u->listeners)
		u->listeners->pprev = &l->next;
	u->listeners = l;
	u->handles++;
}

static int listen_udp(struct dns_uv *u, struct dns_listener *l, struct ovn_err *err)
{
	int r = uv_poll_init(u->loop, &l->h, l->fd);

	if (r < 0)
		return ovn_err_set(err, r, "dns: poll udp fd %d: %s", l->fd, uv_strerror(r));
	listener_link(u, l);
	uv_poll_start(&l->h, UV_READABLE, udp_readable);
	return 0;
}

static int listen_tcp(struct dns_uv *u, struct dns_listener *l, struct ovn_err *err)
{
	int r = listen(l->fd, 128) < 0 ? -errno : 0;

	if (r == 0)
		r = uv_poll_init(u->loop, &l->h, l->fd);
	if (r < 0)
		return ovn_err_set(err, r, "dns: listen tcp fd %d: %s", l->fd, strerror(-r));
	listener_link(u, l);
	uv_poll_start(&l->h, UV_READABLE, tcp_acceptable);
	return 0;
}

struct dns_listener *dns_uv_listen_fd(struct dns_uv *u, uint32_t view, int fd,
				      enum dns_proto proto, struct ovn_err *err)
{
	struct dns_listener *l = NULL;
	int r;

	if (u->closing) {
		ovn_err_set(err, -ESHUTDOWN, "dns: server is closing");
		goto fail;
	}
	l = listener_new(u, view, fd, proto);
	if (!l) {
		ovn_err_set(err, -ENOMEM, "dns: listener: out of memory");
		goto fail;
	}
	r = proto == DNS_UDP ? listen_udp(u, l, err) : listen_tcp(u, l, err);
	if (r == 0)
		return l;
fail:
	free(l);
	close(fd);
	return NULL;
}

struct dns_listener *dns_uv_listen_addr(struct dns_uv *u, uint32_t view,
					const struct sockaddr *addr, enum dns_proto proto,
					uint16_t *port, struct ovn_err *err)
{
	socklen_t al = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						   : sizeof(struct sockaddr_in);
	int one = 1, fd;
	union sa bound;

	fd = socket(addr->sa_family, (proto == DNS_UDP ? SOCK_DGRAM : SOCK_STREAM) |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ovn_err_set(err, -errno, "dns: socket: %s", strerror(errno));
		return NULL;
	}
	if (proto == DNS_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, addr, al) < 0 || getsockname(fd, &bound.sa, &al) < 0) {
		ovn_err_set(err, -errno, "dns: bind: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (port)
		*port = ntohs(bound.sa.sa_family == AF_INET6 ? bound.in6.sin6_port
							     : bound.in.sin_port);
	return dns_uv_listen_fd(u, view, fd, proto, err);
}

/* ------------------------------------------------------------ upstream */
static void up_udp_readable(uv_poll_t *p, int status, int events)
{
	struct upstream *up = p->data;
	struct dns_uv *u = up->u;
	unsigned int idx = (unsigned int)(up - u->ups);

	for (int round = 0; round < ROUNDS; round++) {
		int n = rx_batch(u, up->fd);

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			if (!(u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC))
				dns_server_upstream_reply(u->srv, idx, false, u->rbuf[i],
							  u->rmsg[i].msg_len, uv_now(u->loop));
		if (n < BATCH)
			break;
	}
	arm(u);
}

static bool up_tcp_stopping(void *obj)
{
	return ((struct up_tcp *)obj)->u->ups[((struct up_tcp *)obj)->idx].tcp != obj;
}

static void up_tcp_message(void *obj, const uint8_t *m, size_t n)
{
	struct up_tcp *t = obj;

	dns_server_upstream_reply(t->u->srv, t->idx, true, m, n, uv_now(t->u->loop));
	/* TCP is only for truncated answers, which are rare: hang up when
	 * idle rather than hold a connection (and maybe a forked server
	 * process) open upstream */
	if (t->inflight && --t->inflight == 0)
		up_tcp_close(t);
}

static void up_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct up_tcp *t = h->data;

	frame_alloc(&t->buf, t->len, &t->cap, b);
}

static void up_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct up_tcp *t = s->data;
	struct dns_uv *u = t->u;

	if (nread < 0) {
		up_tcp_close(t);
		return;
	}
	t->len += (size_t)nread;
	frames_eat(t->buf, &t->len, up_tcp_message, up_tcp_stopping, t);
	arm(u);
}

static void up_tcp_connected(uv_connect_t *req, int status)
{
	struct up_tcp *t = req->data;

	if (status < 0) {
		if (status != UV_ECANCELED)
			up_tcp_close(t);
		return;
	}
	if (uv_read_start((uv_stream_t *)&t->tcp, up_tcp_alloc, up_tcp_read) < 0)
		up_tcp_close(t);
}

static struct up_tcp *up_tcp_get(struct dns_uv *u, unsigned int idx)
{
	struct up_tcp *t = u->ups[idx].tcp;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->u = u;
	t->idx = idx;
	uv_tcp_init(u->loop, &t->tcp);
	t->tcp.data = t;
	t->creq.data = t;
	u->handles++;
	u->ups[idx].tcp = t;
	if (uv_tcp_connect(&t->creq, &t->tcp, (struct sockaddr *)&u->cfg.upstreams[idx],
			   up_tcp_connected) < 0) {
		up_tcp_close(t);
		return NULL;
	}
	return t;
}

/* Writes queue behind a connect in progress, so no queue of our own. */
static int up_send(void *ctx, unsigned int idx, bool tcp, const uint8_t *pkt, size_t len)
{
	struct dns_uv *u = ctx;
	struct up_tcp *t;
	int r;

	if (!tcp)
		return send(u->ups[idx].fd, pkt, len, MSG_DONTWAIT) == (ssize_t)len ? 0 : -errno;
	t = up_tcp_get(u, idx);
	if (!t)
		return -ECONNREFUSED;
	r = stream_send((uv_stream_t *)&t->tcp, pkt, len);
	if (r == 0)
		t->inflight++;
	return r;
}

static void client_reply(void *ctx, const struct dns_client *c, const uint8_t *pkt, size_t len)
{
	if (c->tcp) {
		conn_send(c->conn, pkt, len);
		return;
	}
	sendto(((struct dns_listener *)c->conn)->fd, pkt, len, MSG_DONTWAIT, &c->peer.sa,
	       c->peer_len);
}

static int up_open(struct dns_uv *u, unsigned int i, struct ovn_err *err)
{
	struct upstream *up = &u->ups[i];
	const struct sockaddr *sa = (const struct sockaddr *)&u->cfg.upstreams[i];
	socklen_t al = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	int r;

	up->fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (up->fd < 0 || connect(up->fd, sa, al) < 0)
		return ovn_err_set(err, -errno, "dns: upstream %u: %s", i, strerror(errno));
	r = uv_poll_init(u->loop, &up->poll, up->fd);
	if (r < 0)
		return ovn_err_set(err, r, "dns: upstream %u: %s", i, uv_strerror(r));
	up->poll.data = up;
	up->polling = true;
	u->handles++;
	uv_poll_start(&up->poll, UV_READABLE, up_udp_readable);
	return 0;
}

/* ------------------------------------------------------------ creation */
struct dns_server *dns_uv_server(struct dns_uv *u)
{
	return u->srv;
}

struct dns_uv *dns_uv_new(struct uv_loop_s *loop, struct dns_table *t,
			  const struct dns_uv_cfg *cfg, struct ovn_err *err)
{
	static const struct dns_server_ops ops = {
		.upstream_send = up_send,
		.reply = client_reply,
		.random = rnd32,
	};
	struct dns_uv *u = calloc(1, sizeof(*u));

	if (!u) {
		ovn_err_set(err, -ENOMEM, "dns: out of memory");
		return NULL;
	}
	u->loop = loop;
	u->cfg = *cfg;
	if (!u->cfg.tcp_idle_ms)
		u->cfg.tcp_idle_ms = 10000;
	if (!u->cfg.max_tcp_conns)
		u->cfg.max_tcp_conns = 256;
	if (u->cfg.server.n_upstreams > DNS_MAX_UPSTREAMS)
		u->cfg.server.n_upstreams = DNS_MAX_UPSTREAMS;
	u->due = UINT64_MAX;
	for (unsigned int i = 0; i < DNS_MAX_UPSTREAMS; i++) {
		u->ups[i].u = u;
		u->ups[i].fd = -1;
	}
	uv_timer_init(loop, &u->timer);
	u->timer.data = u;
	u->handles = 1;
	u->srv = dns_server_new(t, &u->cfg.server, &ops, u);
	if (!u->srv) {
		ovn_err_set(err, -ENOMEM, "dns: out of memory");
		goto fail;
	}
	for (unsigned int i = 0; i < u->cfg.server.n_upstreams; i++)
		if (up_open(u, i, err) < 0)
			goto fail;
	return u;
fail:
	/* handles exist: close through the loop; u is freed there */
	dns_uv_close(u, NULL, NULL);
	return NULL;
}
