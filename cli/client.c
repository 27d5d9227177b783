/* client.c: one blocking HTTP/1.1 request over a unix stream socket.
 *
 * Writes the request with Content-Length and "Connection: close", then reads
 * the status line, the headers and a Content-Length body (or, without one,
 * everything until the agent closes). One monotonic deadline covers connect,
 * write and read, so a wedged agent costs the user at most timeout_ms.
 *
 * Does not: keep connections alive, follow redirects, decode chunked
 * bodies (ovnagent's server always sends Content-Length; an answer using
 * Transfer-Encoding is refused as unsupported rather than misread).
 * Errors are worded for the person at the terminal: every message says
 * where we tried to connect and what to try next.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "util.h"

#define RUN_HINT "(is ovnagent running? set --socket or OVN_SOCKET)"

struct conn {
	const char *path;
	int fd;
	int timeout_ms;
	long long deadline;	/* CLOCK_MONOTONIC, ms */
};

struct rbuf {
	char *p;
	size_t len;
	size_t cap;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int timeout_err(const struct conn *c, struct ovn_err *err)
{
	if (c->timeout_ms % 1000)
		return ovn_err_set(err, -ETIMEDOUT,
				   "ovnagent at %s did not answer within %d ms (is it stuck? check its log)",
				   c->path, c->timeout_ms);
	return ovn_err_set(err, -ETIMEDOUT,
			   "ovnagent at %s did not answer within %d s (is it stuck? check its log)",
			   c->path, c->timeout_ms / 1000);
}

/* Word a connect() failure so that it names the fix. */
static int connect_err(const struct conn *c, int code, struct ovn_err *err)
{
	const char *hint = RUN_HINT;

	if (code == -EAGAIN || code == -ETIMEDOUT)
		return timeout_err(c, err);
	if (code == -EACCES || code == -EPERM)
		hint = "(run ovnctl as root or as a member of the socket's group)";
	else if (code == -ENOTSOCK)
		hint = "(not a socket: set --socket or OVN_SOCKET to ovnagent's API socket)";
	return ovn_err_set(err, code, "cannot reach ovnagent at %s: %s %s", c->path,
			   strerror(-code), hint);
}

static int io_err(const struct conn *c, int code, struct ovn_err *err)
{
	if (code == -ETIMEDOUT)
		return timeout_err(c, err);
	if (code == -ENOMEM)
		return ovn_err_set(err, code, "out of memory");
	return ovn_err_set(err, code, "lost the connection to ovnagent at %s: %s (check its log)",
			   c->path, strerror(-code));
}

static int conn_open(struct conn *c, struct ovn_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = {
		.tv_sec = c->timeout_ms / 1000,
		.tv_usec = (c->timeout_ms % 1000) * 1000,
	};

	if (ovn_strlcpy(sa.sun_path, c->path, sizeof(sa.sun_path)) < 0)
		return ovn_err_set(err, -ENAMETOOLONG,
				   "socket path %s is longer than %zu bytes (use a shorter --socket)",
				   c->path, sizeof(sa.sun_path) - 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return ovn_err_set(err, -errno, "socket: %s", strerror(errno));
	/* A unix connect() blocks only while the agent's backlog is full;
	 * SO_SNDTIMEO bounds that wait (it fails with EAGAIN). */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return connect_err(c, -errno, err);
	return 0;
}

/* Wait until fd is ready for events or the deadline passes. */
static int conn_wait(const struct conn *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	long long left;
	int r;

	do {
		left = c->deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r ? 0 : -ETIMEDOUT;
}

static int conn_send_all(const struct conn *c, const char *buf, size_t len)
{
	ssize_t n;
	int r;

	while (len) {
		r = conn_wait(c, POLLOUT);
		if (r < 0)
			return r;
		/* MSG_NOSIGNAL: an agent that hung up must not kill us with
		 * SIGPIPE before we can say so. */
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more bytes into b, never holding more than limit (plus a NUL).
 * Returns the count read, 0 at end of stream, -EFBIG at the limit, or a
 * negative errno. */
static ssize_t conn_recv_more(const struct conn *c, struct rbuf *b, size_t limit)
{
	size_t want;
	ssize_t n;
	char *p;
	int r;

	if (b->len >= limit)
		return -EFBIG;
	if (b->cap - b->len < 2) {
		want = b->cap ? b->cap * 2 : 4096;
		if (want > limit + 1)
			want = limit + 1;
		p = realloc(b->p, want);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = want;
	}
	for (;;) {
		r = conn_wait(c, POLLIN);
		if (r < 0)
			return r;
		n = recv(c->fd, b->p + b->len, b->cap - 1 - b->len, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	b->len += (size_t)n;
	return n;
}

static int proto_err(const struct conn *c, int code, const char *why, struct ovn_err *err)
{
	return ovn_err_set(err, code, "bad answer from ovnagent at %s: %s (check its log)",
			   c->path, why);
}

/* Read until the head is complete; its bytes stay at the start of b. */
static int read_head(const struct conn *c, struct rbuf *b, struct cli_resp *resp,
		     size_t *head_len, long long *clen, struct ovn_err *err)
{
	struct ovn_err perr = { 0 };
	ssize_t n;
	int r;

	for (;;) {
		r = cli_http_parse_head(b->p, b->len, resp, head_len, clen, &perr);
		if (r != -EAGAIN)
			break;
		n = conn_recv_more(c, b, CLI_MAX_HEAD);
		if (n == -EFBIG)
			return proto_err(c, -EPROTO, "header block over 16 KiB", err);
		if (n < 0)
			return io_err(c, (int)n, err);
		if (n == 0)
			return proto_err(c, -EPROTO, b->len ? "the answer was cut short"
					 : "it closed the connection without answering", err);
	}
	if (r < 0)
		return proto_err(c, r, perr.msg, err);
	return 0;
}

/* Read the body after the head and hand it to resp. */
static int read_body(const struct conn *c, struct rbuf *b, struct cli_resp *resp,
		     size_t head_len, long long clen, struct ovn_err *err)
{
	size_t limit = head_len + (clen < 0 ? CLI_MAX_BODY : (size_t)clen);
	size_t blen;
	ssize_t n;

	if (clen > (long long)CLI_MAX_BODY)
		return proto_err(c, -EFBIG, "the body is over the 64 MiB limit", err);
	while (clen < 0 || b->len - head_len < (size_t)clen) {
		n = conn_recv_more(c, b, limit);
		if (n == -EFBIG)
			return proto_err(c, -EFBIG, "the body is over the 64 MiB limit", err);
		if (n < 0)
			return io_err(c, (int)n, err);
		if (n == 0 && clen < 0)
			break;
		if (n == 0)
			return proto_err(c, -EPROTO, "the answer was cut short", err);
	}
	blen = b->len - head_len;
	if (clen >= 0)
		blen = (size_t)clen;
	if (!b->p) {
		b->p = malloc(1);
		if (!b->p)
			return ovn_err_set(err, -ENOMEM, "out of memory");
	}
	memmove(b->p, b->p + head_len, blen);
	b->p[blen] = '\0';
	resp->body = TAKE_PTR(b->p);
	resp->body_len = blen;
	return 0;
}

static int send_request(const struct conn *c, const char *method, const char *path,
			const char *body, struct ovn_err *err)
{
	size_t blen = body ? strlen(body) : 0;
	char *head = NULL;
	int n, r;

	n = asprintf(&head,
		     "%s %s HTTP/1.1\r\n"
		     "Host: ovnagent\r\n"
		     "User-Agent: ovnctl/" OVN_VERSION "\r\n"
		     "Accept: application/json\r\n"
		     "Connection: close\r\n"
		     "%s"
		     "Content-Length: %zu\r\n\r\n",
		     method, path, body ? "Content-Type: application/json\r\n" : "", blen);
	if (n < 0)
		return ovn_err_set(err, -ENOMEM, "out of memory");
	r = conn_send_all(c, head, (size_t)n);
	if (!r && blen)
		r = conn_send_all(c, body, blen);
	free(head);
	/* An agent refusing the request (413) may answer and close before
	 * reading all of it: then the answer, not EPIPE, is the news. */
	if (r == -EPIPE || r == -ECONNRESET)
		return 0;
	if (r < 0)
		return io_err(c, r, err);
	return 0;
}

int cli_http_request(const char *sock_path, int timeout_ms, const char *method,
		     const char *path, const char *body, struct cli_resp *resp,
		     struct ovn_err *err)
{
	struct conn c = {
		.path = sock_path,
		.fd = -1,
		.timeout_ms = timeout_ms,
		.deadline = now_ms() + timeout_ms,
	};
	struct rbuf b = { 0 };
	size_t head_len = 0;
	long long clen = -1;
	int ret;

	memset(resp, 0, sizeof(*resp));
	ret = conn_open(&c, err);
	if (ret < 0)
		goto out;
	ret = send_request(&c, method, path, body, err);
	if (ret < 0)
		goto out;
	ret = read_head(&c, &b, resp, &head_len, &clen, err);
	if (ret < 0)
		goto out;
	ret = read_body(&c, &b, resp, head_len, clen, err);
out:
	free(b.p);
	if (c.fd >= 0)
		close(c.fd);
	return ret;
}

void cli_resp_free(struct cli_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

/* "HTTP/1.1 404 Not Found" */
static int parse_status_line(const char *s, size_t len, struct cli_resp *resp,
			     struct ovn_err *err)
{
	size_t rlen;

	if (len < 12 || memcmp(s, "HTTP/1.", 7) || s[7] < '0' || s[7] > '9' || s[8] != ' ' ||
	    s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' ||
	    s[11] > '9' || (len > 12 && s[12] != ' '))
		return ovn_err_set(err, -EPROTO, "malformed status line");
	resp->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	rlen = len > 13 ? len - 13 : 0;
	if (rlen >= sizeof(resp->reason))
		rlen = sizeof(resp->reason) - 1;
	memcpy(resp->reason, s + 13, rlen);
	resp->reason[rlen] = '\0';
	return 0;
}

static bool header_is(const char *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && !strncasecmp(name, want, nlen);
}

static int parse_content_length(const char *v, size_t vlen, long long *clen,
				struct ovn_err *err)
{
	long long n = 0;

	if (!vlen || vlen > 18)
		return ovn_err_set(err, -EPROTO, "bad Content-Length");
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return ovn_err_set(err, -EPROTO, "bad Content-Length");
		n = n * 10 + (v[i] - '0');
	}
	/* Two different lengths would make the body boundary ambiguous. */
	if (*clen >= 0 && *clen != n)
		return ovn_err_set(err, -EPROTO, "conflicting Content-Length headers");
	*clen = n;
	return 0;
}

static int parse_header(const char *s, size_t len, long long *clen, struct ovn_err *err)
{
	const char *colon = memchr(s, ':', len);
	const char *v;
	size_t nlen, vlen;

	if (!colon || colon == s)
		return ovn_err_set(err, -EPROTO, "malformed header line");
	nlen = (size_t)(colon - s);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (header_is(s, nlen, "Content-Length"))
		return parse_content_length(v, vlen, clen, err);
	if (header_is(s, nlen, "Transfer-Encoding"))
		return ovn_err_set(err, -EPROTO, "Transfer-Encoding is not supported");
	return 0;
}

int cli_http_parse_head(const char *buf, size_t len, struct cli_resp *resp, size_t *head_len,
			long long *clen, struct ovn_err *err)
{
	const char *end = buf ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
	const char *line, *eol, *stop;
	int r;

	if (!end)
		return -EAGAIN;
	*head_len = (size_t)(end - buf) + 4;
	*clen = -1;
	stop = end + 2;		/* just past the last line's CRLF */
	eol = memmem(buf, (size_t)(stop - buf), "\r\n", 2);
	r = parse_status_line(buf, (size_t)(eol - buf), resp, err);
	for (line = eol + 2; !r && line < stop; line = eol + 2) {
		eol = memmem(line, (size_t)(stop - line), "\r\n", 2);
		r = parse_header(line, (size_t)(eol - line), clen, err);
	}
	return r;
}
