/* http.c: a small HTTP/1.1 server on a libuv unix-socket listener (http.h).
 *
 * What it does: accepts up to HTTP_MAX_CONNS connections, parses each
 * request itself (request line, headers, Content-Length body), dispatches it
 * through the route table and writes the handler's answer. One request per
 * connection is with a handler at a time; bytes of pipelined requests that
 * arrive meanwhile are kept in the connection buffer (up to one more header
 * block) and parsed once the current answer is queued, so answers leave in
 * request order. Errors found while parsing (4xx, 501, 505) are answered
 * with {"error":"..."} and "Connection: close", then the connection closes:
 * after a framing error we cannot tell where the next request starts.
 *
 * Memory: one growing buffer per connection holds the raw bytes. The parser
 * writes NULs into the header block and records offsets; at dispatch a NUL
 * byte is inserted after the body (moving pipelined bytes one to the right),
 * so method, path, query, content_type and body all point into that buffer.
 * Decoded "*" params go to a second per-connection scratch buffer, reused
 * across requests. The request itself is embedded in the connection. While a
 * request is with its handler the buffer never moves (reads stop when it is
 * full), so the pointers handed out stay valid.
 *
 * Ownership and lifetimes (STYLE.md 7): a connection holds two handles (pipe
 * and idle timer). Its memory is freed when both close callbacks have run AND
 * no request is with a handler; whichever comes last frees it (on_conn_close
 * or http_reply). When the handles close, the connection is unlinked from the
 * server and forgets it (c->srv = NULL), so a late http_reply never touches
 * the server: it sees c->closing, drops the answer and frees the connection.
 * The server counts its open handles (listener, two per connection, rejected
 * connections being closed) and is freed, then its close callback called,
 * when the count reaches zero after http_server_close(). Hence requests still
 * pending at that point may be answered later without use after free.
 *
 * Timeouts: a connection that is not waiting on a handler must deliver a
 * complete request within the idle timeout (60 s) of its last answer (or of
 * being accepted); the timer is not pushed back by partial reads, so a client
 * trickling bytes cannot hold a slot forever. A client that does not read its
 * answers is closed by the same timer.
 *
 * Peers that go away: EOF or a read error while a request is with its handler
 * closes the connection at once (the answer will be dropped); otherwise the
 * answers already queued are flushed first (half-closing clients still get
 * them).
 *
 * Peers: credentials are read once at accept (SO_PEERCRED; SO_PEERGROUPS for
 * the supplementary groups, so membership counts as the kernel counted it
 * for the socket's mode). A peer that is not root, not us and not in the
 * socket's group is answered 403 and closed. The rate limit is a token
 * bucket per uid, not per connection: a client opening a connection per
 * request (ovnctl, curl) must not get a fresh bucket each time. Buckets
 * live in a small table (HTTP_RATE_SLOTS); when it is full the least
 * recently used one is recycled, so a peer may reset its bucket only by
 * driving that many other uids, which needs those users to exist. Root is
 * exempt by default: root can stop the agent anyway, and the root clients
 * (dockerd, kubelet's CNI runs, bench's keep-alive batches) are the ones
 * that legitimately go fast.
 *
 * Does not: chunked or compressed request bodies (501), trailers, HTTP/2,
 * TCP or TLS listeners, Host header checks, absolute-form targets, streaming
 * responses. Process-wide, listening sets SIGPIPE to ignored: libuv writes
 * with write(2), and a peer that closed must give EPIPE, not kill the agent.
 *
 * TODO: lingering close after an error answer (a peer still sending its body
 * may see ECONNRESET instead of EOF after reading our answer); a per-server
 * cap on memory held by pipelined bytes.
 */
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "http.h"
#include "http_int.h"
#include "log.h"
#include "util.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define READ_CHUNK	65536

/* What the parser learnt about the request at the front of the buffer.
 * Positions are offsets (0 = absent for query and ctype, which can never
 * start at offset 0) because the buffer may still move. */
struct parse {
	size_t scanned;			/* bytes searched for the head's end */
	size_t head_len;		/* 0 until the head is parsed */
	size_t body_len;		/* Content-Length */
	size_t method, path, query, ctype;
	bool has_clen;
	bool http10;
	bool conn_close;		/* "Connection: close" seen */
	bool conn_keep;			/* "Connection: keep-alive" seen */
	bool keep_alive;		/* outcome for this request */
	bool expect;			/* Expect: 100-continue */
	bool sent_continue;
	bool no_body;			/* HEAD: answer without the body */
	const char *why;		/* reason for an error answer */
};

struct conn {
	uv_pipe_t pipe;
	uv_timer_t timer;		/* idle timeout */
	struct http_server *srv;	/* NULL once both handles closed */
	struct conn *prev, *next;
	char *buf;			/* raw bytes; request at the front */
	size_t len, cap;
	char *scratch;			/* decoded params */
	size_t scratch_cap;
	struct parse p;
	struct http_req req;		/* valid while busy */
	struct http_peer peer;		/* read at accept */
	bool peer_ok;			/* root, us, or in the socket's group */
	char why[200];			/* a composed error reason (p.why) */
	int n_writes;			/* answers queued, not yet written */
	int closes;			/* close callbacks still to come */
	bool reading;
	bool busy;			/* req is with a handler */
	bool in_handler;		/* inside the synchronous handler call */
	bool big_answer;		/* the handler answered HTTP_TRIM_AFTER or more */
	bool close_after_write;
	bool closing;			/* uv_close called */
	bool closed;			/* both close callbacks ran */
};

struct http_server {
	uv_loop_t *loop;
	uv_pipe_t listener;
	struct http_config cfg;		/* routes borrowed from the caller */
	char *path;
	struct conn *conns;
	unsigned n_conns;
	unsigned n_handles;		/* open handles, freed at zero */
	uint64_t idle_ms;
	gid_t group;			/* the socket's group: its members are served */
	struct bucket {			/* rate limit per peer uid */
		unsigned uid;
		bool used;
		double tokens;
		uint64_t last_ms;
	} buckets[HTTP_RATE_SLOTS];
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

/* One queued write: the uv request and the bytes, in one allocation. */
struct wbuf {
	uv_write_t wr;
	struct conn *c;
	char data[];
};

static const struct {
	int code;
	const char *text;
} reasons[] = {
	{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 204, "No Content" }, { 304, "Not Modified" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 408, "Request Timeout" }, { 409, "Conflict" },
	{ 410, "Gone" }, { 412, "Precondition Failed" }, { 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" }, { 417, "Expectation Failed" },
	{ 422, "Unprocessable Content" }, { 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
	{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
};

/* Methods we know; any other token is answered 501, a known one without a
 * route for the path 405. */
static const char *const known_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
};

static void conn_process(struct conn *c);
static void conn_close(struct conn *c);
static void on_idle(uv_timer_t *t);

/* ---- small helpers ---- */

static const char *reason_text(int code)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(reasons); i++)
		if (reasons[i].code == code)
			return reasons[i].text;
	return "Unknown";
}

static bool is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch);
}

static bool token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_tchar(*s))
			return false;
	return true;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode one character at *s (a %XX escape, '+' as space when plus) and
 * advance *s. Returns the byte (1..255), or -1 for a malformed escape or %00:
 * a NUL would silently cut the C string a handler sees. */
static int pct_next(const char **s, const char *end, bool plus)
{
	const char *p = *s;
	int hi, lo;

	if (*p == '%') {
		if (end - p < 3 || (hi = hexval(p[1])) < 0 || (lo = hexval(p[2])) < 0)
			return -1;
		if (!hi && !lo)
			return -1;
		*s = p + 3;
		return hi << 4 | lo;
	}
	*s = p + 1;
	return plus && *p == '+' ? ' ' : (unsigned char)*p;
}

/* Decode [src, src+n) into dst (may be NULL to only validate); returns the
 * decoded length or -1. dst never needs more than n bytes. */
static ssize_t pct_decode(char *dst, const char *src, size_t n, bool plus)
{
	const char *end = src + n;
	ssize_t o = 0;
	int ch;

	while (src < end) {
		ch = pct_next(&src, end, plus);
		if (ch < 0)
			return -1;
		if (dst)
			dst[o] = (char)ch;
		o++;
	}
	return o;
}

/* ---- server handle accounting ---- */

static void srv_handles_put(struct http_server *s, unsigned n)
{
	void (*cb)(void *arg);
	void *arg;

	s->n_handles -= n;
	if (!s->closing || s->n_handles)
		return;
	cb = s->close_cb;
	arg = s->close_arg;
	free(s->path);
	free(s);
	if (cb)
		cb(arg);
}

static void on_listener_close(uv_handle_t *h)
{
	srv_handles_put(h->data, 1);
}

/* ---- connection buffer and flow control ---- */

/* Make room for extra more bytes. Only called while no request is with a
 * handler: the buffer may move. */
static int conn_reserve(struct conn *c, size_t extra)
{
	size_t cap = c->cap ? c->cap : 1024;
	char *nb;

	if (c->cap - c->len >= extra)
		return 0;
	while (cap - c->len < extra)
		cap *= 2;
	nb = realloc(c->buf, cap);
	if (!nb)
		return -ENOMEM;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

/* How far we let the buffer fill: the current request plus one header block
 * of the next, so a pipelining client is buffered but not without bound. */
static size_t conn_read_limit(const struct conn *c)
{
	if (!c->p.head_len)
		return HTTP_MAX_HEAD;
	return c->p.head_len + c->p.body_len + 1 + HTTP_MAX_HEAD;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);

/* Read while there is room and a use for the bytes. */
static void conn_flow(struct conn *c)
{
	bool want = !c->closing && !c->close_after_write && c->len < conn_read_limit(c) &&
		    (!c->busy || c->len < c->cap);

	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0) {
			conn_close(c);
			return;
		}
		c->reading = true;
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct conn *c = h->data;
	size_t limit = conn_read_limit(c), want;

	*b = uv_buf_init(NULL, 0);
	if (c->len >= limit)
		return;
	want = limit - c->len;
	if (want > READ_CHUNK)
		want = READ_CHUNK;
	if (c->busy) {
		/* The buffer must not move now: use what is left of it. */
		if (c->cap - c->len < want)
			want = c->cap - c->len;
	} else if (conn_reserve(c, want) < 0) {
		return;
	}
	*b = uv_buf_init(c->buf + c->len, want);
}

/* The peer closed (or the socket failed). */
static void conn_on_eof(struct conn *c)
{
	c->reading = false;
	if (c->busy || !c->n_writes) {
		conn_close(c);
		return;
	}
	c->close_after_write = true;
	conn_flow(c);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = st->data;

	if (n == UV_ENOBUFS && c->busy) {
		conn_flow(c);
		return;
	}
	if (n < 0) {
		conn_on_eof(c);
		return;
	}
	c->len += n;
	if (c->busy)
		conn_flow(c);
	else
		conn_process(c);
}

/* ---- writing answers ---- */

static void on_write(uv_write_t *wr, int status)
{
	struct wbuf *w = container_of(wr, struct wbuf, wr);
	struct conn *c = w->c;

	free(w);
	c->n_writes--;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->closing)
		return;
	if (c->close_after_write) {
		if (!c->n_writes)
			conn_close(c);
		return;
	}
	/* Parsing may have paused at HTTP_MAX_WRITES answers in flight. */
	if (!c->busy)
		conn_process(c);
}

/* Format fmt into a new wbuf with room for extra more bytes after it;
 * *len gets the formatted length. */
static struct wbuf *wbuf_printf(size_t extra, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct wbuf *wbuf_printf(size_t extra, size_t *len, const char *fmt, ...)
{
	struct wbuf *w;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	w = malloc(sizeof(*w) + n + 1 + extra);
	if (!w)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(w->data, n + 1, fmt, ap);
	va_end(ap);
	*len = n;
	return w;
}

static int conn_write(struct conn *c, struct wbuf *w, size_t len)
{
	uv_buf_t b = uv_buf_init(w->data, len);
	int ret;

	w->c = c;
	ret = uv_write(&w->wr, (uv_stream_t *)&c->pipe, &b, 1, on_write);
	if (ret < 0) {
		free(w);
		return ret;
	}
	c->n_writes++;
	return 0;
}

#define RESP_CLOSE	0x1		/* announce and then close */
#define RESP_NO_BODY	0x2		/* HEAD: headers only */

static int conn_respond(struct conn *c, int status, const char *ctype, const char *extra,
			const char *body, size_t len, unsigned flags)
{
	const char *conn_hdr = "";
	struct wbuf *w;
	size_t n;

	if (flags & RESP_CLOSE)
		conn_hdr = "Connection: close\r\n";
	else if (c->p.http10)
		conn_hdr = "Connection: keep-alive\r\n";
	/* A handler's content type must not smuggle header lines in. */
	if (strpbrk(ctype, "\r\n"))
		ctype = "application/octet-stream";
	if (status == 204 || status == 304) {
		/* These carry no body and no Content-Length (RFC 9110 8.6). */
		w = wbuf_printf(0, &n, "HTTP/1.1 %d %s\r\nServer: ovnagent\r\n%s%s\r\n", status,
				reason_text(status), extra, conn_hdr);
		len = 0;
	} else {
		w = wbuf_printf(len, &n,
				"HTTP/1.1 %d %s\r\nServer: ovnagent\r\nContent-Type: %s\r\n"
				"Content-Length: %zu\r\n%s%s\r\n",
				status, reason_text(status), ctype, len, extra, conn_hdr);
		if (flags & RESP_NO_BODY)
			len = 0;
	}
	if (!w)
		return -ENOMEM;
	memcpy(w->data + n, body, len);
	return conn_write(c, w, n + len);
}

/* Drop the answered request from the front of the buffer. */
static void conn_consume(struct conn *c)
{
	size_t n = c->p.head_len + c->p.body_len + 1;

	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	memset(&c->p, 0, sizeof(c->p));
	memset(&c->req, 0, sizeof(c->req));
}

/* Answer the request with its handler (or a built-in answer to it). */
static void conn_answer(struct conn *c, int status, const char *ctype, const char *extra,
			const char *body, size_t len)
{
	unsigned flags = 0;

	c->busy = false;
	if (c->closing)
		return;
	if (len >= HTTP_TRIM_AFTER)
		c->big_answer = true;
	if (!c->p.keep_alive)
		flags |= RESP_CLOSE;
	if (c->p.no_body)
		flags |= RESP_NO_BODY;
	if (conn_respond(c, status, ctype, extra, body, len, flags) < 0) {
		conn_close(c);
		return;
	}
	conn_consume(c);
	/* Idle again: also bounds how long a peer may take to read this. */
	uv_timer_start(&c->timer, on_idle, c->srv->idle_ms, 0);
	if (flags & RESP_CLOSE) {
		c->close_after_write = true;
		conn_flow(c);
	}
}

/* Answer a request we could not parse, then close. */
static void conn_fail(struct conn *c, int status)
{
	char body[128];
	int n;

	n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", c->p.why ? c->p.why : "bad request");
	if (conn_respond(c, status, "application/json", "", body, n, RESP_CLOSE) < 0) {
		conn_close(c);
		return;
	}
	c->close_after_write = true;
	conn_flow(c);
}

/* Tell an "Expect: 100-continue" client to send its body. */
static void conn_continue(struct conn *c)
{
	struct wbuf *w;
	size_t n;

	if (!c->p.expect || c->p.sent_continue || c->p.http10)
		return;
	c->p.sent_continue = true;
	w = wbuf_printf(0, &n, "HTTP/1.1 100 Continue\r\n\r\n");
	/* conn_write frees w when it fails. */
	if (!w || conn_write(c, w, n) < 0)
		conn_close(c);
}

/* ---- parsing the request head ---- */

static int bad(struct conn *c, int status, const char *why)
{
	c->p.why = why;
	return status;
}

/* Every CR must start a CRLF, every LF end one; no other control byte
 * (HTAB aside, which header values may hold) and no DEL. NULs are refused
 * here, so the string functions below see the whole line. */
static int head_check_bytes(struct conn *c)
{
	const unsigned char *b = (const unsigned char *)c->buf;
	size_t i;

	for (i = 0; i < c->p.head_len; i++) {
		if (b[i] == '\r') {
			if (b[i + 1] != '\n')
				return bad(c, 400, "bare CR in request head");
			i++;
		} else if ((b[i] < 0x20 && b[i] != '\t') || b[i] == 0x7f) {
			return bad(c, 400, "control character in request head");
		}
	}
	return 0;
}

static int version_parse(struct conn *c, const char *v)
{
	if (!strcmp(v, "HTTP/1.1"))
		return 0;
	if (!strcmp(v, "HTTP/1.0")) {
		c->p.http10 = true;
		return 0;
	}
	if (strlen(v) == 8 && !strncmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' &&
	    v[6] == '.' && v[7] >= '0' && v[7] <= '9')
		return bad(c, 505, "HTTP version not supported");
	return bad(c, 400, "malformed HTTP version");
}

/* origin-form only: "/path[?query]", printable ASCII, escapes well formed. */
static int target_parse(struct conn *c, char *t)
{
	char *q;
	const unsigned char *s;

	if (t[0] != '/')
		return bad(c, 400, "request target must start with '/'");
	for (s = (const unsigned char *)t; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '#')
			return bad(c, 400, "invalid character in request target");
	q = strchr(t, '?');
	if (q) {
		*q = '\0';
		c->p.query = q + 1 - c->buf;
	}
	if (pct_decode(NULL, t, strlen(t), false) < 0)
		return bad(c, 400, "malformed percent-encoding in path");
	c->p.path = t - c->buf;
	return 0;
}

/* "METHOD SP target SP HTTP/x.y", single spaces. */
static int reqline_parse(struct conn *c, char *line)
{
	char *target, *version;
	int ret;

	target = strchr(line, ' ');
	if (!target)
		return bad(c, 400, "malformed request line");
	*target++ = '\0';
	version = strchr(target, ' ');
	if (!version)
		return bad(c, 400, "malformed request line");
	*version++ = '\0';
	if (!token_ok(line))
		return bad(c, 400, "malformed method");
	c->p.method = 0;
	ret = version_parse(c, version);
	if (ret)
		return ret;
	return target_parse(c, target);
}

static int hdr_content_length(struct conn *c, char *v)
{
	size_t n = 0;
	bool over = false;

	if (c->p.has_clen)
		return bad(c, 400, "more than one Content-Length");
	c->p.has_clen = true;
	if (!*v)
		return bad(c, 400, "malformed Content-Length");
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return bad(c, 400, "malformed Content-Length");
		if (!over)
			n = n * 10 + (*v - '0');
		/* Check every step so n cannot wrap. */
		if (n > c->srv->cfg.max_body)
			over = true;
	}
	if (over)
		return bad(c, 413, "request body too large");
	c->p.body_len = n;
	return 0;
}

static int hdr_transfer_encoding(struct conn *c, char *v)
{
	return bad(c, 501, "Transfer-Encoding not supported");
}

/* A comma-separated token list; only close and keep-alive matter. */
static int hdr_connection(struct conn *c, char *v)
{
	char *tok, *save = NULL;
	size_t n;

	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok += strspn(tok, " \t");
		n = strcspn(tok, " \t");
		if (n == 5 && !strncasecmp(tok, "close", 5))
			c->p.conn_close = true;
		else if (n == 10 && !strncasecmp(tok, "keep-alive", 10))
			c->p.conn_keep = true;
	}
	return 0;
}

static int hdr_expect(struct conn *c, char *v)
{
	if (strcasecmp(v, "100-continue"))
		return bad(c, 417, "unsupported expectation");
	c->p.expect = true;
	return 0;
}

static int hdr_content_type(struct conn *c, char *v)
{
	if (!c->p.ctype)
		c->p.ctype = v - c->buf;
	return 0;
}

/* The headers we act on; the rest are skipped. */
static const struct {
	const char *name;
	int (*fn)(struct conn *c, char *value);
} hdr_rules[] = {
	{ "Content-Length", hdr_content_length },
	{ "Transfer-Encoding", hdr_transfer_encoding },
	{ "Connection", hdr_connection },
	{ "Expect", hdr_expect },
	{ "Content-Type", hdr_content_type },
};

static int header_parse(struct conn *c, char *line)
{
	char *colon, *v, *e;
	size_t i;

	if (*line == ' ' || *line == '\t')
		return bad(c, 400, "obsolete header line folding");
	colon = strchr(line, ':');
	if (!colon)
		return bad(c, 400, "malformed header line");
	*colon = '\0';
	if (!token_ok(line))
		return bad(c, 400, "malformed header name");
	v = colon + 1 + strspn(colon + 1, " \t");
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	for (i = 0; i < ARRAY_SIZE(hdr_rules); i++)
		if (!strcasecmp(line, hdr_rules[i].name))
			return hdr_rules[i].fn(c, v);
	return 0;
}

/* Lines end in CRLF (head_check_bytes made sure); returns the CR. */
static char *line_end(char *line)
{
	return (char *)rawmemchr(line, '\n') - 1;
}

static int head_parse(struct conn *c)
{
	char *end = c->buf + c->p.head_len - 2;	/* the blank line */
	char *line, *eol;
	int ret;

	ret = head_check_bytes(c);
	if (ret)
		return ret;
	eol = line_end(c->buf);
	*eol = '\0';
	ret = reqline_parse(c, c->buf);
	for (line = eol + 2; !ret && line < end; line = eol + 2) {
		eol = line_end(line);
		*eol = '\0';
		ret = header_parse(c, line);
	}
	if (ret)
		return ret;
	if (c->p.http10)
		c->p.keep_alive = c->p.conn_keep && !c->p.conn_close;
	else
		c->p.keep_alive = !c->p.conn_close;
	return 0;
}

/* Find the blank line ending the head within the first HTTP_MAX_HEAD bytes.
 * Empty lines before a request line are skipped (RFC 9112 2.2). */
static int head_find(struct conn *c)
{
	size_t lim, from, skip = 0;
	char *e;

	while (c->len - skip >= 2 && c->buf[skip] == '\r' && c->buf[skip + 1] == '\n')
		skip += 2;
	if (skip) {
		memmove(c->buf, c->buf + skip, c->len - skip);
		c->len -= skip;
		c->p.scanned = 0;
	}
	if (!c->len)
		return -EAGAIN;
	lim = c->len < HTTP_MAX_HEAD ? c->len : HTTP_MAX_HEAD;
	from = c->p.scanned > 3 ? c->p.scanned - 3 : 0;
	e = memmem(c->buf + from, lim - from, "\r\n\r\n", 4);
	if (e) {
		c->p.head_len = e - c->buf + 4;
		return 0;
	}
	c->p.scanned = lim;
	if (c->len >= HTTP_MAX_HEAD)
		return bad(c, 431, "request header block too large");
	return -EAGAIN;
}

/* Returns 0 when a whole request is at the front of the buffer, -EAGAIN when
 * more bytes are needed, or the HTTP status to refuse it with. */
static int req_parse(struct conn *c)
{
	int ret;

	if (!c->p.head_len) {
		ret = head_find(c);
		if (ret)
			return ret;
		ret = head_parse(c);
		if (ret)
			return ret;
	}
	if (c->len >= c->p.head_len + c->p.body_len)
		return 0;
	conn_continue(c);
	return -EAGAIN;
}

/* ---- routing and dispatch ---- */

struct seg {
	const char *s;
	size_t len;
};

/* Match a raw path against a pattern, one "/"-separated segment at a time;
 * "*" takes one non-empty segment. Returns the captures or -1. */
static int route_match(const char *pat, const char *path, struct seg *caps)
{
	size_t pl, sl;
	int n = 0;

	for (;;) {
		if (*pat != '/' || *path != '/')
			return -1;
		pat++;
		path++;
		pl = strcspn(pat, "/");
		sl = strcspn(path, "/");
		if (pl == 1 && *pat == '*') {
			if (!sl || n == HTTP_MAX_PARAMS)
				return -1;
			caps[n].s = path;
			caps[n++].len = sl;
		} else if (pl != sl || memcmp(pat, path, sl)) {
			return -1;
		}
		pat += pl;
		path += sl;
		if (!*pat && !*path)
			return n;
	}
}

static int params_decode(struct conn *c, const struct seg *caps, int n)
{
	size_t need = strlen(c->req.path) + HTTP_MAX_PARAMS, off = 0;
	ssize_t dl;
	char *nb;
	int i;

	if (c->scratch_cap < need) {
		nb = realloc(c->scratch, need);
		if (!nb)
			return bad(c, 500, "out of memory");
		c->scratch = nb;
		c->scratch_cap = need;
	}
	for (i = 0; i < n; i++) {
		dl = pct_decode(c->scratch + off, caps[i].s, caps[i].len, false);
		if (dl < 0)
			return bad(c, 400, "malformed percent-encoding in path");
		c->scratch[off + dl] = '\0';
		c->req.params[i] = c->scratch + off;
		off += dl + 1;
	}
	c->req.n_params = n;
	return 0;
}

static bool method_known(const char *m)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_methods); i++)
		if (!strcmp(m, known_methods[i]))
			return true;
	return false;
}

/* Append method to the "Allow: ..." header unless listed already. */
static void allow_add(char *allow, size_t size, const char *m)
{
	size_t len = strlen(allow);
	const char *p;

	for (p = strstr(allow, m); p; p = strstr(p + 1, m))
		if (p > allow && p[-1] == ' ' && (p[strlen(m)] == ',' || p[strlen(m)] == '\r'))
			return;
	/* Never cut the header short of its CRLF; an incomplete list is fine. */
	if (len + strlen(m) + sizeof("Allow: , \r\n") > size)
		return;
	if (!len)
		snprintf(allow, size, "Allow: %s\r\n", m);
	else if (len >= 2)
		snprintf(allow + len - 2, size - len + 2, ", %s\r\n", m);
}

/* Find the route for the request; 0 with *out set, or the status of the
 * built-in answer (404, 405 with allow filled, 501, 400). */
static int route_find(struct conn *c, const struct http_route **out, char *allow,
		      size_t size)
{
	const struct http_config *cfg = &c->srv->cfg;
	struct seg caps[HTTP_MAX_PARAMS];
	size_t i;
	int n;

	if (!method_known(c->req.method))
		return bad(c, 501, "method not implemented");
	for (i = 0; i < cfg->n_routes; i++) {
		n = route_match(cfg->routes[i].pattern, c->req.path, caps);
		if (n < 0)
			continue;
		if (strcmp(cfg->routes[i].method, c->req.method)) {
			allow_add(allow, size, cfg->routes[i].method);
			continue;
		}
		*out = &cfg->routes[i];
		return params_decode(c, caps, n);
	}
	return *allow ? bad(c, 405, "method not allowed") : bad(c, 404, "not found");
}

/* Point the embedded request into the buffer: end the body with a NUL by
 * shifting whatever follows it (pipelined bytes) one byte right. */
static int req_fill(struct conn *c)
{
	size_t end = c->p.head_len + c->p.body_len;
	int ret;

	ret = conn_reserve(c, 1 + HTTP_MAX_HEAD);
	if (ret)
		return ret;
	memmove(c->buf + end + 1, c->buf + end, c->len - end);
	c->buf[end] = '\0';
	c->len++;
	memset(&c->req, 0, sizeof(c->req));
	c->req.method = c->buf + c->p.method;
	c->req.path = c->buf + c->p.path;
	c->req.query = c->p.query ? c->buf + c->p.query : "";
	c->req.content_type = c->p.ctype ? c->buf + c->p.ctype : "";
	c->req.body = c->buf + c->p.head_len;
	c->req.body_len = c->p.body_len;
	c->p.no_body = !strcmp(c->req.method, "HEAD");
	return 0;
}

/* ---- peers: who may ask, how fast ---- */

static const char *srv_name(const struct http_server *s)
{
	return s->cfg.name ? s->cfg.name : "http";
}

/* Is gid among the peer's supplementary groups (SO_PEERGROUPS)? */
static bool peer_in_groups(int fd, gid_t gid)
{
	gid_t small[64], *g = small;
	socklen_t len = sizeof(small);
	bool found = false;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE || !(g = malloc(len)))
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0)
			len = 0;
	}
	for (i = 0; i < len / sizeof(gid_t); i++)
		found |= g[i] == gid;
	if (g != small)
		free(g);
	return found;
}

static void conn_peer_read(struct conn *c)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	uv_os_fd_t fd;

	c->peer_ok = false;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return;
	c->peer = (struct http_peer){ .pid = uc.pid, .uid = uc.uid, .gid = uc.gid };
	c->peer_ok = uc.uid == 0 || uc.uid == geteuid() || uc.gid == c->srv->group ||
		     peer_in_groups(fd, c->srv->group);
}

/* Take a token from uid's bucket, making one if it has none. */
static bool rate_take(struct http_server *s, unsigned uid)
{
	uint64_t now = uv_now(s->loop);
	double burst = s->cfg.burst ? s->cfg.burst : s->cfg.rate;
	struct bucket *b = NULL, *lru = &s->buckets[0];
	size_t i;

	for (i = 0; i < HTTP_RATE_SLOTS && !b; i++) {
		if (s->buckets[i].used && s->buckets[i].uid == uid)
			b = &s->buckets[i];
		else if (!s->buckets[i].used ||
			 (lru->used && s->buckets[i].last_ms < lru->last_ms))
			lru = &s->buckets[i];
	}
	if (!b) {
		b = lru;
		*b = (struct bucket){ .uid = uid, .used = true, .tokens = burst, .last_ms = now };
	}
	b->tokens += (double)(now - b->last_ms) * s->cfg.rate / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last_ms = now;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

static bool method_changes(const char *m)
{
	return strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "OPTIONS");
}

/* 0 to go on, or the status to refuse the request with (p.why set). */
static int conn_gate(struct conn *c)
{
	struct http_server *s = c->srv;
	const struct http_peer *p = &c->peer;

	c->req.peer = p;
	if (!c->peer_ok) {
		log_warn("%s: refused %s %s from uid=%u gid=%u pid=%d: not root and not in "
			 "group %u", srv_name(s), c->req.method, c->req.path, p->uid, p->gid,
			 p->pid, (unsigned)s->group);
		snprintf(c->why, sizeof(c->why), "permission denied: uid %u is neither root nor "
			 "a member of group %u, the socket's group", p->uid, (unsigned)s->group);
		c->p.why = c->why;
		c->p.keep_alive = false;
		return 403;
	}
	if (s->cfg.rate && (p->uid != 0 || s->cfg.limit_root) && !rate_take(s, p->uid)) {
		log_warn("%s: rate limit: %s %s from uid=%u pid=%d refused", srv_name(s),
			 c->req.method, c->req.path, p->uid, p->pid);
		snprintf(c->why, sizeof(c->why), "rate limit: uid %u sent more than %u requests/s "
			 "(burst %u); retry later", p->uid, s->cfg.rate,
			 s->cfg.burst ? s->cfg.burst : s->cfg.rate);
		c->p.why = c->why;
		return 429;
	}
	if (method_changes(c->req.method))
		log_info("%s: %s %s uid=%u gid=%u pid=%d", srv_name(s), c->req.method,
			 c->req.path, p->uid, p->gid, p->pid);
	return 0;
}

static void conn_dispatch(struct conn *c)
{
	const struct http_route *rt = NULL;
	char allow[128] = "", body[256];
	int status, n;

	if (req_fill(c) < 0) {
		conn_close(c);
		return;
	}
	c->busy = true;
	uv_timer_stop(&c->timer);
	status = conn_gate(c);
	if (!status)
		status = route_find(c, &rt, allow, sizeof(allow));
	if (status) {
		/* A path we could not decode is a parse error: close as for one. */
		if (status == 400)
			c->p.keep_alive = false;
		if (status == 429)
			snprintf(allow, sizeof(allow), "Retry-After: 1\r\n");
		n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", c->p.why);
		conn_answer(c, status, "application/json", allow, body, n);
		return;
	}
	c->in_handler = true;
	c->big_answer = false;
	rt->fn(&c->req, c->srv->cfg.arg);
	c->in_handler = false;
	/* A big answer (a list of a thousand endpoints) was built from many
	 * small blocks, freed by now in the middle of the heap: give those
	 * pages back instead of keeping the peak resident. Microseconds on a
	 * heap of a few MB; only after such answers. */
	if (c->big_answer) {
		c->big_answer = false;
		malloc_trim(0);
	}
}

/* Parse and dispatch what the buffer holds, one request at a time. */
static void conn_process(struct conn *c)
{
	int ret;

	while (!c->busy && !c->closing && !c->close_after_write &&
	       c->n_writes < HTTP_MAX_WRITES) {
		ret = req_parse(c);
		if (ret == -EAGAIN)
			break;
		if (ret > 0) {
			conn_fail(c, ret);
			break;
		}
		conn_dispatch(c);
	}
	if (!c->closing)
		conn_flow(c);
}

/* ---- connection lifecycle ---- */

static void conn_free(struct conn *c)
{
	free(c->buf);
	free(c->scratch);
	free(c);
}

static void on_conn_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct http_server *s = c->srv;

	if (--c->closes)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	c->srv = NULL;
	c->closed = true;
	if (!c->busy)
		conn_free(c);
	srv_handles_put(s, 2);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->reading = false;
	uv_close((uv_handle_t *)&c->pipe, on_conn_close);
	uv_close((uv_handle_t *)&c->timer, on_conn_close);
}

static void on_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_reject_close(uv_handle_t *h)
{
	struct http_server *s = h->data;

	free(h);
	srv_handles_put(s, 1);
}

/* Over the connection limit: accept (libuv stops accepting until we do)
 * and close at once. */
static void conn_reject(struct http_server *s)
{
	uv_pipe_t *p = malloc(sizeof(*p));

	if (!p)
		return;
	uv_pipe_init(s->loop, p, 0);
	p->data = s;
	s->n_handles++;
	uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)p);
	uv_close((uv_handle_t *)p, on_reject_close);
}

static void conn_accept(struct http_server *s)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		conn_reject(s);
		return;
	}
	uv_pipe_init(s->loop, &c->pipe, 0);
	uv_timer_init(s->loop, &c->timer);
	c->pipe.data = c;
	c->timer.data = c;
	c->srv = s;
	c->closes = 2;
	s->n_handles += 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->pipe) < 0) {
		conn_close(c);
		return;
	}
	conn_peer_read(c);
	uv_timer_start(&c->timer, on_idle, s->idle_ms, 0);
	conn_flow(c);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct http_server *s = l->data;

	if (status < 0 || s->closing)
		return;
	if (s->n_conns >= HTTP_MAX_CONNS)
		conn_reject(s);
	else
		conn_accept(s);
}

/* ---- listening ---- */

static int routes_check(const struct http_config *cfg, struct ovn_err *err)
{
	const struct http_route *r;
	const char *p;
	size_t i;
	int stars;

	for (i = 0; i < cfg->n_routes; i++) {
		r = &cfg->routes[i];
		if (!r->method || !r->pattern || !r->fn || r->pattern[0] != '/' ||
		    !token_ok(r->method))
			return ovn_err_set(err, -EINVAL,
					   "http route %zu: incomplete or not absolute", i);
		for (stars = 0, p = r->pattern; (p = strstr(p, "/*")); p += 2)
			if (p[2] == '/' || !p[2])
				stars++;
		if (stars > HTTP_MAX_PARAMS)
			return ovn_err_set(err, -EINVAL, "http route %s: more than %d wildcards",
					   r->pattern, HTTP_MAX_PARAMS);
	}
	return 0;
}

/* A socket file left by a dead agent is removed; one a live server answers
 * on, or a file that is not a socket, is left alone and reported. */
static int sock_path_prepare(const char *path, struct ovn_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ovn_err_set(err, -errno, "%s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return ovn_err_set(err, -EEXIST, "%s: exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ovn_err_set(err, -errno, "socket: %s", strerror(errno));
	memcpy(sa.sun_path, path, strlen(path));
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(fd);
	/* EAGAIN: a live listener whose backlog is full. */
	if (!ret || ret == -EAGAIN)
		return ovn_err_set(err, -EADDRINUSE, "%s: another server is listening", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return ovn_err_set(err, -errno, "unlink %s: %s", path, strerror(errno));
	return 0;
}

/* Bind, set owner and mode, then listen: nobody can connect before listen,
 * so the permissions are final before the first client. */
static int listener_setup(struct http_server *s, unsigned mode, int gid, struct ovn_err *err)
{
	int ret;

	ret = uv_pipe_bind(&s->listener, s->path);
	if (ret < 0)
		return ovn_err_set(err, ret, "bind %s: %s", s->path, uv_strerror(ret));
	if (chmod(s->path, mode) < 0) {
		ret = ovn_err_set(err, -errno, "chmod %s: %s", s->path, strerror(errno));
		goto out;
	}
	if (gid >= 0 && chown(s->path, (uid_t)-1, (gid_t)gid) < 0) {
		ret = ovn_err_set(err, -errno, "chown %s: %s", s->path, strerror(errno));
		goto out;
	}
	ret = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
	if (ret < 0)
		ovn_err_set(err, ret, "listen %s: %s", s->path, uv_strerror(ret));
out:
	if (ret < 0)
		unlink(s->path);
	return ret < 0 ? ret : 0;
}

int http_server_listen_unix(struct http_server **out, uv_loop_t *loop, const char *path,
			    unsigned mode, int gid, const struct http_config *cfg,
			    struct ovn_err *err)
{
	struct http_server *s = NULL;
	int ret;

	*out = NULL;
	ret = routes_check(cfg, err);
	if (ret)
		goto out;
	ret = -ENAMETOOLONG;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		ovn_err_set(err, ret, "%s: socket path too long", path);
		goto out;
	}
	ret = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)))
		goto out;
	s->loop = loop;
	s->cfg = *cfg;
	if (!s->cfg.max_body)
		s->cfg.max_body = HTTP_DEF_MAX_BODY;
	s->idle_ms = HTTP_IDLE_MS;
	s->group = gid >= 0 ? (gid_t)gid : getegid();
	ret = sock_path_prepare(path, err);
	if (ret)
		goto out;
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;
	s->n_handles = 1;
	ret = listener_setup(s, mode, gid, err);
	if (ret) {
		/* The handle exists now: its memory goes in the close callback. */
		s->closing = true;
		uv_close((uv_handle_t *)&s->listener, on_listener_close);
		s = NULL;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	*out = TAKE_PTR(s);
out:
	if (s)
		free(s->path);
	free(s);
	return ret;
}

void http_server_close(struct http_server *s, void (*cb)(void *arg), void *arg)
{
	struct conn *c;

	if (s->closing)
		abort();	/* closed twice: our own bug */
	s->closing = true;
	s->close_cb = cb;
	s->close_arg = arg;
	uv_close((uv_handle_t *)&s->listener, on_listener_close);
	unlink(s->path);
	for (c = s->conns; c; c = c->next)
		conn_close(c);
}

/* ---- public request API ---- */

void http_reply(struct http_req *req, int status, const char *content_type, const char *body,
		size_t len)
{
	struct conn *c = container_of(req, struct conn, req);

	if (!c->busy)
		abort();	/* answered twice: our own bug */
	conn_answer(c, status, content_type ? content_type : "application/json", "",
		    body ? body : "", len);
	if (c->closed) {
		/* The handles are gone already; the request was the last user. */
		conn_free(c);
		return;
	}
	if (!c->in_handler && !c->closing)
		conn_process(c);
}

/* Compare the escaped [s, end) with name once decoded. */
static bool pct_equal(const char *s, const char *end, const char *name)
{
	int ch;

	while (s < end) {
		ch = pct_next(&s, end, true);
		if (ch < 0 || ch != (unsigned char)*name++)
			return false;
	}
	return !*name;
}

const char *http_query_get(const struct http_req *req, const char *name, char *buf,
			   size_t size)
{
	const char *q = req->query, *amp, *eq, *v;
	ssize_t n;

	for (; q && *q; q = *amp ? amp + 1 : amp) {
		amp = q + strcspn(q, "&");
		eq = memchr(q, '=', amp - q);
		if (!pct_equal(q, eq ? eq : amp, name))
			continue;
		v = eq ? eq + 1 : amp;
		n = pct_decode(NULL, v, amp - v, true);
		if (n < 0 || (size_t)n >= size)
			return NULL;
		pct_decode(buf, v, amp - v, true);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

/* ---- test knobs (http_int.h) ---- */

void http_server_set_idle_timeout(struct http_server *s, uint64_t ms)
{
	s->idle_ms = ms;
}

unsigned http_server_conn_count(const struct http_server *s)
{
	return s->n_conns;
}
