/* nl.c: rtnetlink socket, request batches with one ACK each, dumps, and
 * attribute parsing with want-tables. See nl_int.h for the contract.
 *
 * Every reply is matched by portid and by sequence number against the batch
 * in flight; anything else (the tail of an earlier, aborted exchange) is
 * dropped. NLMSG_ERROR becomes -errno, and the kernel's extended-ack text
 * (NETLINK_EXT_ACK) travels into the ovn_err with the label of the message.
 *
 * Does not: retry a failed batch, or block forever: a receive timeout turns a
 * lost answer into -ETIMEDOUT (rtnetlink answers within the sendmsg itself,
 * so the timeout only ever fires on a kernel or socket buffer fault).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "nl_int.h"
#include "util.h"

#define NL_RECV_TIMEOUT_S	5
#define NL_DUMP_RETRIES		3

static void nl_setopt(struct nl_sock *sk, int opt)
{
	int one = 1;

	/* Best effort: older kernels lack some of these, which only costs
	 * error text (EXT_ACK), ACK size (CAP_ACK) or dump filtering (STRICT). */
	mnl_socket_setsockopt(sk->mnl, opt, &one, sizeof(one));
}

int nl_open(struct nl_sock *sk, struct ovn_err *err)
{
	return nl_open_proto(sk, NETLINK_ROUTE, err);
}

int nl_open_proto(struct nl_sock *sk, int proto, struct ovn_err *err)
{
	struct timeval tv = { .tv_sec = NL_RECV_TIMEOUT_S };
	int ret;

	memset(sk, 0, sizeof(*sk));
	ret = -ENOMEM;
	sk->rbuf = malloc(NL_RECV_BUF);
	if (!sk->rbuf)
		goto fail;
	sk->mnl = mnl_socket_open2(proto, SOCK_CLOEXEC);
	if (!sk->mnl) {
		ret = -errno;
		goto fail;
	}
	if (mnl_socket_bind(sk->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	nl_setopt(sk, NETLINK_CAP_ACK);
	nl_setopt(sk, NETLINK_EXT_ACK);
	nl_setopt(sk, NETLINK_GET_STRICT_CHK);
	if (setsockopt(mnl_socket_get_fd(sk->mnl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0) {
		ret = -errno;
		goto fail;
	}
	sk->portid = mnl_socket_get_portid(sk->mnl);
	sk->seq = (uint32_t)time(NULL);
	return 0;
fail:
	nl_close(sk);
	return ovn_err_set(err, ret, "netlink socket: %s", strerror(-ret));
}

void nl_close(struct nl_sock *sk)
{
	if (sk->mnl)
		mnl_socket_close(sk->mnl);
	free(sk->rbuf);
	memset(sk, 0, sizeof(*sk));
}

/* ---- building --------------------------------------------------------- */

void nl_batch_init(struct nl_batch *b, struct nl_sock *sk)
{
	b->sk = sk;
	b->cur = NULL;
	b->len = 0;
	b->n = 0;
	b->err = 0;
}

static void nl_finish_cur(struct nl_batch *b)
{
	if (!b->cur)
		return;
	b->len += MNL_ALIGN(b->cur->nlmsg_len);
	b->cur = NULL;
}

/* Room left for the message being built, counted from its header. */
static size_t nl_room(const struct nl_batch *b)
{
	return sizeof(b->buf) - b->len;
}

void *nl_msg(struct nl_batch *b, uint16_t type, uint16_t flags, size_t hdrlen,
	     unsigned int ok, nl_reply_fn fn, void *arg, const char *fmt, ...)
{
	struct nlmsghdr *nlh;
	struct nl_req *r;
	va_list ap;

	nl_finish_cur(b);
	if (b->err)
		return NULL;
	if (b->n == NL_BATCH_MAX || b->len + MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen) > sizeof(b->buf)) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++b->sk->seq;
	b->cur = nlh;

	r = &b->req[b->n++];
	r->seq = nlh->nlmsg_seq;
	r->ok = ok;
	r->fn = fn;
	r->arg = arg;
	r->rc = 1;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
	return mnl_nlmsg_put_extra_header(nlh, hdrlen);
}

static void nl_put_failed(struct nl_batch *b)
{
	if (!b->err)
		b->err = -EMSGSIZE;
}

void nl_put(struct nl_batch *b, uint16_t type, size_t len, const void *data)
{
	size_t need = MNL_ALIGN(MNL_ATTR_HDRLEN + len);

	if (b->err || !b->cur)
		return nl_put_failed(b);
	/* This libmnl leaves an attribute's alignment padding as it was: zero
	 * it first, so no stale stack bytes go to the kernel (valgrind's
	 * "sendto(msg) points to uninitialised byte(s)" on every u8). */
	if (b->cur->nlmsg_len + need <= nl_room(b))
		memset(mnl_nlmsg_get_payload_tail(b->cur), 0, need);
	if (!mnl_attr_put_check(b->cur, nl_room(b), type, len, data))
		nl_put_failed(b);
}

void nl_put_u8(struct nl_batch *b, uint16_t type, uint8_t v)
{
	nl_put(b, type, sizeof(v), &v);
}

void nl_put_u16(struct nl_batch *b, uint16_t type, uint16_t v)
{
	nl_put(b, type, sizeof(v), &v);
}

void nl_put_u32(struct nl_batch *b, uint16_t type, uint32_t v)
{
	nl_put(b, type, sizeof(v), &v);
}

void nl_put_str(struct nl_batch *b, uint16_t type, const char *s)
{
	nl_put(b, type, strlen(s) + 1, s);
}

void *nl_reserve(struct nl_batch *b, size_t len)
{
	if (b->err || !b->cur || b->cur->nlmsg_len + MNL_ALIGN(len) > nl_room(b)) {
		nl_put_failed(b);
		return NULL;
	}
	return mnl_nlmsg_put_extra_header(b->cur, len);
}

struct nlattr *nl_nest_start(struct nl_batch *b, uint16_t type)
{
	struct nlattr *nest;

	if (b->err || !b->cur) {
		nl_put_failed(b);
		return NULL;
	}
	nest = mnl_attr_nest_start_check(b->cur, nl_room(b), type);
	if (!nest)
		nl_put_failed(b);
	return nest;
}

void nl_nest_end(struct nl_batch *b, struct nlattr *nest)
{
	if (nest && !b->err)
		mnl_attr_nest_end(b->cur, nest);
}

/* ---- ACKs -------------------------------------------------------------- */

/* The kernel's extended-ack text, or NULL. */
static const char *nl_ext_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	off = MNL_ALIGN(off);
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return NULL;
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

static bool nl_err_ok(int code, unsigned int ok)
{
	if (code == -EEXIST)
		return ok & NL_OK_EXIST;
	if (code == -ENOENT || code == -ENODEV || code == -ESRCH || code == -EADDRNOTAVAIL)
		return ok & NL_OK_NOENT;
	return false;
}

/* An error code as a reply carries it, made a sane negative errno: the
 * kernel sends -1..-4095; anything else (INT_MIN, which cannot be negated
 * for strerror, found by fuzz_netlink) is a malformed reply. 0 stays 0. */
static int nl_errno(int e)
{
	if (e == 0)
		return 0;
	return e < 0 && e >= -4095 ? e : -EBADMSG;
}

static int nl_fail(struct ovn_err *err, const struct nl_req *r, int code, const char *ext)
{
	if (ext && *ext)
		return ovn_err_set(err, code, "%s: %s (%s)", r->what, strerror(-code), ext);
	return ovn_err_set(err, code, "%s: %s", r->what, strerror(-code));
}

/* One answer for batch b: returns 1 when it was an ACK, 0 for a reply or a
 * stray message. *first keeps the first error. */
static int nl_take(struct nl_batch *b, const struct nlmsghdr *nlh, uint32_t base, int *first,
		   struct ovn_err *err)
{
	const struct nlmsgerr *e;
	struct nl_req *r;
	uint32_t idx = nlh->nlmsg_seq - base;
	int code;

	if (nlh->nlmsg_pid != b->sk->portid || idx >= (uint32_t)b->n)
		return 0;
	r = &b->req[idx];
	if (nlh->nlmsg_type != NLMSG_ERROR) {
		code = r->fn ? r->fn(nlh, r->arg) : 0;
		if (code < 0 && !*first)
			*first = nl_fail(err, r, code, "bad reply");
		return 0;
	}
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		r->rc = -EBADMSG;
		if (!*first)
			*first = nl_fail(err, r, -EBADMSG, "short ACK");
		return 1;
	}
	e = mnl_nlmsg_get_payload(nlh);
	code = nl_errno(e->error);
	r->rc = code;
	if (code < 0 && !nl_err_ok(code, r->ok) && !*first)
		*first = nl_fail(err, r, code, nl_ext_msg(nlh));
	return 1;
}

/* mnl_nlmsg_ok compares nlmsg_len with the bytes left as an int, so a
 * length of 2^31 or more passes and mnl_nlmsg_next then steps outside the
 * buffer (found by tests/fuzz/fuzz_netlink). The kernel never sends one;
 * a reply is still outside input, so check it as such. */
static bool nl_msg_ok(const struct nlmsghdr *nlh, int len)
{
	return mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
}

static int nl_send(struct nl_sock *sk, const void *buf, size_t len)
{
	ssize_t n = mnl_socket_sendto(sk->mnl, buf, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int nl_recv(struct nl_sock *sk, ssize_t *len)
{
	*len = mnl_socket_recvfrom(sk->mnl, sk->rbuf, NL_RECV_BUF);
	if (*len < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	return 0;
}

int nl_batch_run(struct nl_batch *b, struct ovn_err *err)
{
	int pending = b->n, first = 0, ret, left;
	const struct nlmsghdr *nlh;
	uint32_t base;
	ssize_t len;

	nl_finish_cur(b);
	ret = b->err;
	if (ret) {
		ovn_err_set(err, ret, "netlink: request batch too large");
		goto out;
	}
	if (!b->n)
		goto out;
	base = b->req[0].seq;
	ret = nl_send(b->sk, b->buf, b->len);
	if (ret) {
		ovn_err_set(err, ret, "%s: netlink send: %s", b->req[0].what, strerror(-ret));
		goto out;
	}
	while (pending > 0) {
		ret = nl_recv(b->sk, &len);
		if (ret) {
			ovn_err_set(err, ret, "%s: netlink receive: %s", b->req[0].what,
				    strerror(-ret));
			goto out;
		}
		nlh = (const struct nlmsghdr *)b->sk->rbuf;
		left = (int)len;
		for (; nl_msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			pending -= nl_take(b, nlh, base, &first, err);
	}
	ret = first;
out:
	nl_batch_init(b, b->sk);
	return ret;
}

int nl_batch_rc(const struct nl_batch *b, int i)
{
	return i >= 0 && i < NL_BATCH_MAX ? b->req[i].rc : 1;
}

/* ---- dumps ------------------------------------------------------------- */

struct nl_dump_state {
	uint32_t seq;
	bool done, intr;
	int ret;			/* fn's stop value or an error */
};

/* Consume one datagram of a dump. */
static void nl_dump_take(struct nl_sock *sk, struct nl_dump_state *st, ssize_t len,
			 nl_reply_fn fn, void *arg)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)sk->rbuf;
	int len_i = (int)len;

	for (; nl_msg_ok(nlh, len_i); nlh = mnl_nlmsg_next(nlh, &len_i)) {
		if (nlh->nlmsg_pid != sk->portid || nlh->nlmsg_seq != st->seq)
			continue;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			st->intr = true;
		if (nlh->nlmsg_type == NLMSG_DONE) {
			/* A dump that failed once started says why in DONE's
			 * payload (e.g. a strict-mode header the kernel refuses). */
			int done_err = 0;

			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
				memcpy(&done_err, mnl_nlmsg_get_payload(nlh), sizeof(int));
			st->done = true;
			if (done_err < 0 && !st->ret)
				st->ret = nl_errno(done_err);
			return;
		}
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			st->done = true;
			if (!st->ret)
				st->ret = mnl_nlmsg_get_payload_len(nlh) < sizeof(e->error) ||
					  !e->error ? -EBADMSG : nl_errno(e->error);
			return;
		}
		if (!st->ret)
			st->ret = fn(nlh, arg);
	}
}

static int nl_dump_once(struct nl_sock *sk, uint16_t type, const void *hdr, size_t hdrlen,
			nl_reply_fn fn, void *arg, bool *intr)
{
	char buf[MNL_NLMSG_HDRLEN + 64];
	struct nl_dump_state st = { 0 };
	struct nlmsghdr *nlh;
	ssize_t len;
	int ret;

	if (hdrlen > 64)
		return -EMSGSIZE;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = st.seq = ++sk->seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, hdrlen), hdr, hdrlen);
	ret = nl_send(sk, buf, nlh->nlmsg_len);
	while (!ret && !st.done) {
		ret = nl_recv(sk, &len);
		if (!ret)
			nl_dump_take(sk, &st, len, fn, arg);
	}
	*intr = st.intr;
	return ret ? ret : st.ret;
}

int nl_dump(struct nl_sock *sk, uint16_t type, const void *hdr, size_t hdrlen,
	    nl_reply_fn fn, void (*reset)(void *arg), void *arg, struct ovn_err *err)
{
	bool intr = false;
	int ret, i;

	for (i = 0; i < NL_DUMP_RETRIES; i++) {
		ret = nl_dump_once(sk, type, hdr, hdrlen, fn, arg, &intr);
		if (ret || !intr || !reset)
			break;
		reset(arg);
	}
	if (!ret && intr && reset)
		ret = -EAGAIN;
	if (ret < 0)
		ovn_err_set(err, ret, "netlink dump (type %u): %s%s", type, strerror(-ret),
			    ret == -EAGAIN ? " (kept changing while read)" : "");
	return ret;
}

/* ---- parsing ----------------------------------------------------------- */

struct nl_parse_ctx {
	const struct nl_want *want;
	uint16_t max;
	const struct nlattr **tb;
};

static int nl_parse_attr(const struct nlattr *a, void *data)
{
	const struct nl_parse_ctx *c = data;
	uint16_t type = mnl_attr_get_type(a);
	const struct nl_want *w;

	if (type > c->max || !c->want[type].type)
		return MNL_CB_OK;
	w = &c->want[type];
	if ((w->len ? mnl_attr_validate2(a, w->type, w->len) : mnl_attr_validate(a, w->type)) < 0)
		return MNL_CB_ERROR;
	c->tb[type] = a;
	return MNL_CB_OK;
}

int nl_parse(const struct nlmsghdr *nlh, size_t offset, const struct nl_want *want,
	     uint16_t max, const struct nlattr **tb)
{
	struct nl_parse_ctx c = { want, max, tb };

	memset(tb, 0, sizeof(*tb) * (max + 1));
	if (mnl_nlmsg_get_payload_len(nlh) < offset)
		return -EINVAL;
	return mnl_attr_parse(nlh, offset, nl_parse_attr, &c) == MNL_CB_ERROR ? -EINVAL : 0;
}

int nl_parse_nested(const struct nlattr *nest, const struct nl_want *want, uint16_t max,
		    const struct nlattr **tb)
{
	struct nl_parse_ctx c = { want, max, tb };

	memset(tb, 0, sizeof(*tb) * (max + 1));
	return mnl_attr_parse_nested(nest, nl_parse_attr, &c) == MNL_CB_ERROR ? -EINVAL : 0;
}
