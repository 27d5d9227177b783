/* kv_redis_conn.c: the Redis backend's two connections (commands, and the
 * blocking stream reads of watches) and everything about their health:
 * connect and handshake, request deadlines, loss, reconnect with backoff,
 * and the queue that delivers answers on the loop (never inside a call).
 *
 * The two connections live and die together: when either is lost both
 * are dropped, every request sent on them fails with the reason, and one
 * reconnect brings both back. That keeps one state for the whole store
 * (kv_redis_int.h draws it) instead of four combinations.
 *
 * Deadlines: every request gets now + timeout when it is made. All share
 * one timeout, so the list of unanswered requests (kv->live) is in
 * deadline order and one timer on its head serves all of them. An expired
 * request is answered -ETIMEDOUT and its late reply ignored. If no reply
 * at all came back since the expired request was sent (a counter of
 * replies tells), the connection is taken for dead (a peer gone without a
 * FIN, a frozen server) and dropped. A connect whose handshake gets no
 * reply within the timeout is dropped the same way (the retry timer
 * doubles as its deadline).
 *
 * hiredis rules this file relies on (0.14): redisAsyncFree() runs every
 * pending callback with a NULL reply, synchronously, or right after the
 * current callback of that context returns when called from inside one;
 * a context that fails to connect or loses its connection is freed by
 * hiredis itself after our connect/disconnect callback, so those only
 * forget the pointer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_redis_int.h"
#include "util.h"

static void rds_drain(struct rds *kv);

uint64_t rds_now(struct rds *kv)
{
	uv_update_time(kv->loop);
	return uv_now(kv->loop);
}

/* ---- the done queue: answers reach the caller from the loop ---- */

static void rds_idle_cb(uv_idle_t *h)
{
	rds_drain(h->data);
}

static void rds_check_cb(uv_check_t *h)
{
	rds_drain(h->data);
}

/* The check handle runs right after the poll phase that produced the
 * answers; the idle handle keeps the loop from sleeping in poll when they
 * were produced elsewhere (a timer, a call). */
void rds_kick(struct rds *kv)
{
	if (kv->close_started)
		return;
	uv_idle_start(&kv->idle, rds_idle_cb);
	uv_check_start(&kv->check, rds_check_cb);
}

void rds_done_push(struct rds *kv, struct rds_req *r)
{
	r->next = NULL;
	*kv->done_tail = r;
	kv->done_tail = &r->next;
	rds_kick(kv);
}

static void rds_deliver(struct rds_req *r)
{
	if (r->kind == RDS_EVENT) {
		if (!r->w->dead)
			r->w->cb(r->relist ? NULL : &r->ev, r->w->arg);
	} else if (r->cb) {
		r->cb(&r->res, r->arg);
	}
	rds_req_release(r, RDS_HOLD_USER);
}

/* Deliver what is queued now; answers queued by these callbacks wait for
 * the next pass, so a callback that always re-queues cannot starve the
 * loop. */
static void rds_drain(struct rds *kv)
{
	struct rds_req *batch = kv->done;

	kv->done = NULL;
	kv->done_tail = &kv->done;
	while (batch) {
		struct rds_req *r = batch;

		batch = r->next;
		rds_deliver(r);
	}
	if (kv->done)
		return;
	uv_idle_stop(&kv->idle);
	uv_check_stop(&kv->check);
	if (kv->closing)
		rds_close_handles(kv);
}

/* ---- answers and deadlines ---- */

static void rds_tmo_cb(uv_timer_t *t);

static void rds_tmo_arm(struct rds *kv)
{
	uint64_t now = uv_now(kv->loop);
	struct rds_req *r = kv->live_head;

	if (!r || kv->close_started) {
		uv_timer_stop(&kv->tmo);
		return;
	}
	uv_timer_start(&kv->tmo, rds_tmo_cb, r->deadline > now ? r->deadline - now : 0, 0);
}

static void rds_live_add(struct rds *kv, struct rds_req *r)
{
	r->lprev = kv->live_tail;
	r->lnext = NULL;
	if (kv->live_tail)
		kv->live_tail->lnext = r;
	else
		kv->live_head = r;
	kv->live_tail = r;
	if (kv->live_head == r)
		rds_tmo_arm(kv);
}

static void rds_live_del(struct rds *kv, struct rds_req *r)
{
	bool head = kv->live_head == r;

	if (r->lprev)
		r->lprev->lnext = r->lnext;
	else
		kv->live_head = r->lnext;
	if (r->lnext)
		r->lnext->lprev = r->lprev;
	else
		kv->live_tail = r->lprev;
	r->lprev = r->lnext = NULL;
	if (head)
		rds_tmo_arm(kv);
}

/* Fix r's result (once) and queue it for its caller. A catch-up read
 * belongs to its watch, which decides what a failure means. */
void rds_answer(struct rds_req *r, int status, const char *fmt, ...)
{
	struct rds *kv = r->kv;
	va_list ap;

	if (r->answered)
		return;
	r->answered = true;
	rds_live_del(kv, r);
	if (status < 0) {
		va_start(ap, fmt);
		vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
		va_end(ap);
		r->res.status = status;
		r->res.msg = r->msg;
		r->res.n = 0;
		r->res.entries = NULL;
	}
	if (r->kind == RDS_WREAD) {
		if (status < 0)
			rds_wread_failed(r);
		rds_req_release(r, RDS_HOLD_USER);
		return;
	}
	rds_done_push(kv, r);
}

void rds_answer_ok(struct rds_req *r)
{
	rds_answer(r, 0, "%s", "");
}

static void rds_tmo_cb(uv_timer_t *t)
{
	struct rds *kv = t->data;
	uint64_t now = uv_now(kv->loop);
	struct rds_req *r = kv->live_head;
	double secs = kv->timeout_ms / 1000.0;

	if (r && r->deadline <= now && r->sent && kv->rx_count == r->rx_mark) {
		rds_drop(kv, -ETIMEDOUT, "store: %s: no reply within %.1f s, reconnecting",
			 kv->url, secs);
		return;
	}
	while ((r = kv->live_head) && r->deadline <= now)
		rds_answer(r, -ETIMEDOUT, "store: %s: no reply within %.1f s", kv->url, secs);
	rds_tmo_arm(kv);
}

/* ---- sending ---- */

/* Hand r to the command connection: EVALSHA <sha> (or EVAL <source>
 * after a NOSCRIPT) followed by the request's own arguments. */
int rds_send(struct rds *kv, struct rds_req *r)
{
	const char *argv[RDS_ARGC_MAX + 2];
	size_t len[RDS_ARGC_MAX + 2];
	const struct rds_cmd *c = &r->cmd;

	argv[0] = r->eval ? "EVAL" : "EVALSHA";
	argv[1] = r->eval ? rds_lua_src[c->script] : kv->sha[c->script];
	len[0] = strlen(argv[0]);
	len[1] = strlen(argv[1]);
	for (int i = 0; i < c->argc; i++) {
		argv[i + 2] = c->buf + c->off[i];
		len[i + 2] = c->len[i];
	}
	if (!kv->ac[RDS_CMD] ||
	    redisAsyncCommandArgv(kv->ac[RDS_CMD], rds_reply_cb, r, c->argc + 2, argv, len)
	    != REDIS_OK)
		return -ENOTCONN;
	r->holds |= RDS_HOLD_REDIS;
	r->redis_refs++;
	r->sent = true;
	r->rx_mark = kv->rx_count;
	return 0;
}

static void rds_send_or_fail(struct rds *kv, struct rds_req *r)
{
	if (rds_send(kv, r) < 0)
		rds_answer(r, -ENOTCONN, "store: %s: not connected", kv->url);
}

/* The last error without its "store: <url>: " lead, to quote it. */
static const char *rds_last_err(const struct rds *kv)
{
	size_t ul = strlen(kv->url);
	const char *e = kv->last_err;

	if (strncmp(e, "store: ", 7) == 0 && strncmp(e + 7, kv->url, ul) == 0 &&
	    strncmp(e + 7 + ul, ": ", 2) == 0)
		return e + 9 + ul;
	return e;
}

/* A new request: sent now when up, held while connecting, refused at
 * once (through the queue) while down. */
void rds_submit(struct rds *kv, struct rds_req *r)
{
	r->deadline = rds_now(kv) + kv->timeout_ms;
	rds_live_add(kv, r);
	if (kv->state == RDS_UP)
		rds_send_or_fail(kv, r);
	else if (kv->state != RDS_CONNECTING)
		rds_answer(r, -ENOTCONN, "store: %s: not connected (reconnecting%s%s)", kv->url,
			   kv->last_err[0] ? "; last error: " : "", rds_last_err(kv));
}

/* ---- losing the connections ---- */

/* The retry timer doubles as the handshake deadline: a server that
 * accepts the TCP connection but never answers (stopped, overloaded)
 * must not keep the store "connecting" forever. */
static void rds_retry_cb(uv_timer_t *t)
{
	struct rds *kv = t->data;

	if (kv->state == RDS_CONNECTING)
		rds_drop(kv, -ETIMEDOUT, "store: %s: no handshake reply within %.1f s", kv->url,
			 kv->timeout_ms / 1000.0);
	else
		rds_connect(kv);
}

/* A random delay in [backoff/2, backoff], so agents that lost the same
 * server do not all come back in the same millisecond. */
static uint64_t rds_backoff_next(struct rds *kv)
{
	uint64_t b = kv->backoff_ms, d;

	kv->rng ^= kv->rng << 13;
	kv->rng ^= kv->rng >> 17;
	kv->rng ^= kv->rng << 5;
	d = b / 2 + kv->rng % (b / 2 + 1);
	kv->backoff_ms = 2 * b < RDS_BACKOFF_MAX ? 2 * b : RDS_BACKOFF_MAX;
	return d;
}

/* Forget a context hiredis is freeing by itself; drop the other. */
void rds_ctx_lost(struct rds *kv, const redisAsyncContext *ac, const char *what)
{
	for (int i = 0; i < RDS_NCONN; i++) {
		if (kv->ac[i] != ac)
			continue;
		kv->ac[i] = NULL;
		rds_drop(kv, kv->state == RDS_CONNECTING ? -ECONNREFUSED : -ECONNRESET,
			 "store: %s: %s: %s", kv->url, what,
			 ac->errstr[0] ? ac->errstr : "connection closed");
		return;
	}
}

/* Drop both connections: every unanswered request fails with status (or
 * -ECANCELED when closing), watches wait for the next connection, and a
 * reconnect is scheduled. */
void rds_drop(struct rds *kv, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kv->last_err, sizeof(kv->last_err), fmt, ap);
	va_end(ap);
	kv->drop_status = kv->closing ? -ECANCELED : status;
	kv->state = kv->closing ? RDS_CLOSED : RDS_DOWN;
	kv->xread_on = false;
	uv_timer_stop(&kv->xtmo);
	for (int i = 0; i < RDS_NCONN; i++) {
		redisAsyncContext *ac = TAKE_PTR(kv->ac[i]);

		if (ac)
			redisAsyncFree(ac);	/* NULL replies answer what was sent */
	}
	while (kv->live_head)
		rds_answer(kv->live_head, kv->drop_status, "%s", kv->last_err);
	rds_watches_pause(kv);
	if (!kv->closing)
		uv_timer_start(&kv->retry, rds_retry_cb, rds_backoff_next(kv), 0);
}

/* ---- connecting ---- */

static int rds_conn_index(struct rds *kv, const redisAsyncContext *ac)
{
	for (int i = 0; i < RDS_NCONN; i++)
		if (kv->ac[i] == ac)
			return i;
	return -1;
}

static void rds_on_connect(const redisAsyncContext *ac, int status)
{
	struct rds *kv = ac->data;

	if (status != REDIS_OK && rds_conn_index(kv, ac) >= 0)
		rds_ctx_lost(kv, ac, "connect");
}

static void rds_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rds *kv = ac->data;

	if (rds_conn_index(kv, ac) >= 0)
		rds_ctx_lost(kv, ac, "connection lost");
}

static void rds_up(struct rds *kv)
{
	kv->state = RDS_UP;
	uv_timer_stop(&kv->retry);
	kv->backoff_ms = RDS_BACKOFF_MIN;
	kv->last_err[0] = '\0';
	for (struct rds_req *r = kv->live_head, *next; r && kv->state == RDS_UP; r = next) {
		next = r->lnext;
		if (!r->sent)
			rds_send_or_fail(kv, r);
	}
	if (kv->state == RDS_UP)
		rds_watches_resume(kv);
}

static void rds_hello_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	const struct rds_hello *h = privdata;
	struct rds *kv = h->kv;
	const redisReply *rep = reply;

	if (!rep || kv->ac[h->conn] != ac) {
		if (!rep)
			rds_ctx_lost(kv, ac, "connection lost");
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		rds_drop(kv, rds_status_of(rep->str), "store: %s: %s failed: %s", kv->url,
			 h->what, rep->str);
		return;
	}
	if (h->script >= 0) {
		if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
			rds_drop(kv, -EPROTO, "store: %s: unexpected reply to SCRIPT LOAD",
				 kv->url);
			return;
		}
		memcpy(kv->sha[h->script], rep->str, 40);
		kv->sha[h->script][40] = '\0';
	}
	if (--kv->hello_left == 0)
		rds_up(kv);
}

static int rds_hello_send(struct rds *kv, enum rds_conn_id conn, int slot, int script,
			  const char *what, int argc, const char **argv)
{
	struct rds_hello *h = &kv->hello[conn][slot];

	*h = (struct rds_hello){ .kv = kv, .conn = conn, .script = script, .what = what };
	if (redisAsyncCommandArgv(kv->ac[conn], rds_hello_cb, h, argc, argv, NULL) != REDIS_OK)
		return -ENOTCONN;
	kv->hello_left++;
	return 0;
}

/* AUTH and SELECT on both connections, the scripts on the command one.
 * hiredis queues them until the TCP connect completes. */
static int rds_hello(struct rds *kv)
{
	char db[16];
	const char *auth[] = { "AUTH", kv->password };
	const char *sel[] = { "SELECT", db };
	int ret = 0;

	snprintf(db, sizeof(db), "%u", kv->db);
	for (int c = 0; c < RDS_NCONN && ret == 0; c++) {
		if (kv->password)
			ret = rds_hello_send(kv, c, 0, -1, "AUTH", 2, auth);
		if (ret == 0 && kv->db)
			ret = rds_hello_send(kv, c, 1, -1, "SELECT", 2, sel);
	}
	for (int s = 0; s < RDS_LUA_N && ret == 0; s++) {
		const char *load[] = { "SCRIPT", "LOAD", rds_lua_src[s] };

		ret = rds_hello_send(kv, RDS_CMD, 2 + s, s, "SCRIPT LOAD", 3, load);
	}
	return ret;
}

static int rds_ctx_open(struct rds *kv, enum rds_conn_id i)
{
	redisAsyncContext *ac = redisAsyncConnect(kv->host, kv->port);

	if (!ac) {
		rds_drop(kv, -ENOMEM, "store: %s: out of memory", kv->url);
		return -ENOMEM;
	}
	if (ac->err) {
		rds_drop(kv, -ECONNREFUSED, "store: %s: connect: %s", kv->url, ac->errstr);
		redisAsyncFree(ac);
		return -ECONNREFUSED;
	}
	ac->data = kv;
	if (rds_uv_attach(ac, kv->loop) < 0) {
		redisAsyncFree(ac);
		rds_drop(kv, -ENOMEM, "store: %s: cannot attach to the loop", kv->url);
		return -ENOMEM;
	}
	redisAsyncSetConnectCallback(ac, rds_on_connect);
	redisAsyncSetDisconnectCallback(ac, rds_on_disconnect);
	kv->ac[i] = ac;
	return 0;
}

/* Start a connection attempt; requests made meanwhile wait for it. */
void rds_connect(struct rds *kv)
{
	if (kv->closing)
		return;
	kv->state = RDS_CONNECTING;
	kv->hello_left = 0;
	uv_timer_start(&kv->retry, rds_retry_cb, kv->timeout_ms, 0);
	for (int i = 0; i < RDS_NCONN; i++)
		if (rds_ctx_open(kv, i) < 0)
			return;
	if (rds_hello(kv) < 0)
		rds_drop(kv, -ENOTCONN, "store: %s: cannot queue the handshake", kv->url);
}

/* ---- handles ---- */

void rds_handles_init(struct rds *kv)
{
	uv_idle_init(kv->loop, &kv->idle);
	uv_check_init(kv->loop, &kv->check);
	uv_timer_init(kv->loop, &kv->tmo);
	uv_timer_init(kv->loop, &kv->xtmo);
	uv_timer_init(kv->loop, &kv->retry);
	kv->idle.data = kv->check.data = kv->tmo.data = kv->xtmo.data = kv->retry.data = kv;
	kv->handles = 5;
}
