/* kv_consul.c: the Consul backend, over Consul's KV HTTP API (/v1/kv,
 * /v1/txn) with the shared libcurl-on-libuv client (kv_http.c). Wire format
 * and the watch diff in kv_consul_wire.c.
 *
 * Revisions are Consul's Raft indexes: an entry's mod_rev is its
 * ModifyIndex. A get's rev is the X-Consul-Index of the answer, which for
 * one key is the index of the whole KV table (tombstones included).
 * A recursive list's X-Consul-Index only covers its prefix, so a list
 * first reads the table index with a single-key GET, then the entries, and
 * reports the larger of the two: any revision between the prefix's last
 * change and the moment of the read names the listed state, and the first
 * read cannot be later than the second.
 *
 * Transactions: one PUT /v1/txn, compares first (check-not-exists,
 * check-index, get), then set/delete; 409 is -ECANCELED. Its rev is the
 * highest ModifyIndex among the results when the transaction sets a key;
 * otherwise (deletes and checks only, whose results carry no index) one
 * more single-key GET reads the table index.
 *
 * Watches: blocking queries, GET /v1/kv/<prefix>?recurse&index=N&wait=30s,
 * each answer diffed against the previous snapshot (consul_diff): PUT for a
 * new ModifyIndex, DEL for a key gone, whose revision is the answer's
 * index (Consul does not say when a key died). A watch from after_rev
 * whose prefix changed since then gets cb(NULL) (re-list): Consul keeps no
 * history to replay. An index that goes backwards (snapshot restore) also
 * gives cb(NULL). Errors retry with backoff and keep the snapshot, so
 * nothing is missed across an outage.
 *
 * ACL: password_file holds the token, sent as X-Consul-Token.
 * Endpoints: failover as in kv_etcd.c (only when no connection was made).
 *
 * Does not: sessions, locks, flags, ?consistent reads (default mode: the
 * leader answers without a quorum round), datacenters (?dc).
 *
 * TODO: tested against a real Consul only where a consul binary exists
 * (tests/unit/test_kv_consul.c); in CI here the HTTP paths only compile.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_consul_int.h"
#include "kv_http_int.h"
#include "kv_int.h"
#include "util.h"

#define CONSUL_WAIT_S		30
#define CONSUL_ERR_LEN		(CONSUL_MSG_LEN + 128)

/* What a request is doing now; LIST and TXN may take two steps. */
enum consul_step {
	CONSUL_GET,		/* GET /v1/kv/<key> */
	CONSUL_LIST_INDEX,	/* GET /v1/kv/<prefix> for the table index */
	CONSUL_LIST,		/* GET /v1/kv/<prefix>?recurse */
	CONSUL_TXN,		/* PUT /v1/txn */
	CONSUL_TXN_INDEX,	/* GET /v1/kv/<key> for the table index */
};

struct consul;

struct consul_op {
	struct consul *c;
	enum consul_step step;
	char *path;			/* consul path of the key or prefix */
	char *body;			/* txn */
	char *key;			/* user's key, for messages */
	bool has_set;
	uint64_t rev;			/* index learned so far */
	kv_cb cb;
	void *arg;
	size_t tries, ep;
	char msg[CONSUL_ERR_LEN];
};

struct consul_watch {
	struct kvh_watch kw;		/* first: kv_http.c frees us through it */
	char *path;			/* consul path of the prefix */
	uint64_t after_rev;
	uint64_t index;			/* X-Consul-Index of the snapshot */
	bool primed;			/* snapshot valid */
	struct kvh_rows snap;
};

/* All of it is shared with etcd; b.token_hdr is "X-Consul-Token: ...". */
struct consul {
	struct kvh_backend b;
};

static inline struct consul_watch *consul_watch_of(struct kvh_watch *kw)
{
	return (struct consul_watch *)kw;
}

static void consul_op_done(const struct kvh_resp *resp, void *arg);

/* ---- requests ---- */

static void consul_op_free(struct consul_op *op)
{
	free(op->path);
	free(op->body);
	free(op->key);
	free(op);
}

static void consul_op_finish(struct consul_op *op, struct kv_result *res)
{
	op->cb(res, op->arg);
	consul_op_free(op);
}

static void consul_op_fail(struct consul_op *op, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void consul_op_fail(struct consul_op *op, int status, const char *fmt, ...)
{
	struct kv_result res = { .status = status, .msg = op->msg, .rev = op->rev };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
	va_end(ap);
	consul_op_finish(op, &res);
}

static int consul_send(struct consul *c, struct consul_op *op)
{
	const char *hdrs[3];
	char *url = NULL;
	int ret, n;
	struct kvh_call call = {
		.method = op->step == CONSUL_TXN ? "PUT" : "GET",
		.body = op->step == CONSUL_TXN ? op->body : NULL,
		.len = op->step == CONSUL_TXN ? strlen(op->body) : 0,
		.headers = hdrs,
		.timeout_ms = c->b.timeout_ms,
		.connect_timeout_ms = c->b.connect_ms,
	};

	op->ep = c->b.cur;
	kvh_backend_headers(&c->b, hdrs);
	if (op->step == CONSUL_TXN)
		n = asprintf(&url, "%s/v1/txn", c->b.eps[op->ep]);
	else
		n = asprintf(&url, "%s/v1/kv/%s%s", c->b.eps[op->ep], op->path,
			     op->step == CONSUL_LIST ? "?recurse" : "");
	if (n < 0)
		return -ENOMEM;
	call.url = url;
	ret = kvh_request(c->b.http, &call, consul_op_done, op, NULL);
	free(url);
	return ret;
}

static void consul_resend(struct consul *c, struct consul_op *op)
{
	int ret = consul_send(c, op);

	if (ret < 0)
		consul_op_fail(op, ret, "consul: cannot send the request: %s", strerror(-ret));
}

/* Move to the next step of the same request. */
static void consul_next_step(struct consul *c, struct consul_op *op, enum consul_step step)
{
	op->step = step;
	op->tries = 0;
	consul_resend(c, op);
}

static uint64_t consul_index(const struct kvh_resp *resp)
{
	char buf[32];

	return kvh_header(resp, "X-Consul-Index", buf, sizeof(buf)) ?
	       strtoull(buf, NULL, 10) : 0;
}

/* ---- answers ---- */

static void consul_done_kv(struct consul *c, struct consul_op *op, const struct kvh_resp *resp)
{
	struct kv_result res = { .msg = "" };
	struct kvh_rows rows = { 0 };
	char why[CONSUL_MSG_LEN];
	uint64_t index = consul_index(resp);
	int ret = 0;

	if (resp->code == 200)
		ret = consul_parse_kvs(resp->body, resp->len, c->b.plen, &rows, why);
	if (ret < 0) {
		kvh_rows_free(&rows);
		consul_op_fail(op, ret, "consul %s: %s", c->b.eps[op->ep], why);
		return;
	}
	res.rev = index > op->rev ? index : op->rev;
	kvh_rows_result(&rows, op->step == CONSUL_GET, op->key, op->msg, sizeof(op->msg), &res);
	consul_op_finish(op, &res);
	kvh_rows_free(&rows);
}

static void consul_done_txn(struct consul *c, struct consul_op *op, const struct kvh_resp *resp)
{
	struct kv_result res = { .msg = "" };
	char why[CONSUL_MSG_LEN];
	uint64_t index = 0;
	int ret;

	ret = consul_parse_txn(resp->body, resp->len, resp->code, &index, why);
	if (ret == -ECANCELED) {
		/* The store did not change: report the index we know of. */
		op->rev = consul_index(resp);
		consul_op_fail(op, ret, "%s (first key '%s')", why, op->key);
		return;
	}
	if (ret < 0) {
		consul_op_fail(op, ret, "consul %s: %s", c->b.eps[op->ep], why);
		return;
	}
	if (!op->has_set || index == 0) {
		consul_next_step(c, op, CONSUL_TXN_INDEX);
		return;
	}
	res.rev = index;
	consul_op_finish(op, &res);
}

static bool consul_failover(struct consul *c, struct consul_op *op, const struct kvh_resp *resp)
{
	if (!kvh_backend_failover(&c->b, resp, op->ep, &op->tries, op->step != CONSUL_TXN))
		return false;
	consul_resend(c, op);
	return true;
}

static void consul_op_done(const struct kvh_resp *resp, void *arg)
{
	struct consul_op *op = arg;
	struct consul *c = op->c;

	if (resp->status == -ECANCELED) {
		consul_op_fail(op, -ECANCELED, "store: closed before the operation completed");
		return;
	}
	if (resp->status < 0) {
		if (!consul_failover(c, op, resp))
			consul_op_fail(op, resp->status, "consul %s: %s", c->b.eps[op->ep],
				       resp->msg);
		return;
	}
	if (op->step == CONSUL_TXN) {
		consul_done_txn(c, op, resp);
		return;
	}
	if (resp->code != 200 && resp->code != 404) {
		consul_op_fail(op, resp->code == 403 ? -EACCES : -EIO, "consul %s: HTTP %ld: %.*s",
			       c->b.eps[op->ep], resp->code, (int)(resp->len > 160 ? 160 : resp->len),
			       resp->body);
		return;
	}
	if (op->step == CONSUL_LIST_INDEX) {
		op->rev = consul_index(resp);
		consul_next_step(c, op, CONSUL_LIST);
		return;
	}
	if (op->step == CONSUL_TXN_INDEX) {
		struct kv_result res = { .msg = "", .rev = consul_index(resp) };

		consul_op_finish(op, &res);
		return;
	}
	consul_done_kv(c, op, resp);
}

/* ---- the vtable's request entry points ---- */

/* Takes ownership of body. */
static int consul_start(struct consul *c, enum consul_step step, const char *key,
			const char *full, char *body, bool has_set, kv_cb cb, void *arg)
{
	struct consul_op *op = calloc(1, sizeof(*op));
	int ret = -ENOMEM;

	if (!op)
		goto fail;
	op->c = c;
	op->step = step;
	op->cb = cb;
	op->arg = arg;
	op->body = TAKE_PTR(body);
	op->has_set = has_set;
	op->key = strdup(key);
	op->path = consul_kv_path(full);
	if (!op->key || !op->path)
		goto fail;
	ret = consul_send(c, op);
	if (ret == 0)
		return 0;
fail:
	if (op)
		consul_op_free(op);
	free(body);
	return ret;
}

static int consul_read(struct kv *base, enum consul_step step, const char *key, kv_cb cb,
		       void *arg)
{
	struct consul *c = (struct consul *)base;
	char *full = NULL;
	int ret;

	ret = kvh_backend_read_key(&c->b, key, step != CONSUL_GET, cb, &full);
	if (ret < 0)
		return ret;
	ret = consul_start(c, step, key, full, NULL, false, cb, arg);
	free(full);
	return ret;
}

static int consul_get(struct kv *base, const char *key, kv_cb cb, void *arg)
{
	return consul_read(base, CONSUL_GET, key, cb, arg);
}

static int consul_list(struct kv *base, const char *prefix, kv_cb cb, void *arg)
{
	return consul_read(base, CONSUL_LIST_INDEX, prefix, cb, arg);
}

static int consul_txn(struct kv *base, const struct kv_op *ops, size_t n, kv_cb cb, void *arg)
{
	struct consul *c = (struct consul *)base;
	char *body, *full = NULL;
	bool has_set = false;
	int ret;

	ret = kvh_backend_txn_check(&c->b, ops, n, cb);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		has_set |= ops[i].type == KV_OP_PUT;
	/* NULL: no memory, or a key that is not UTF-8 (JSON cannot carry it). */
	body = consul_txn_body(c->b.prefix, ops, n);
	if (!body)
		return -EINVAL;
	ret = kvh_key_full(c->b.prefix, ops[0].key, false, &full);
	if (ret == 0)
		ret = consul_start(c, CONSUL_TXN, ops[0].key, full, body, has_set, cb, arg);
	else
		free(body);
	free(full);
	return ret;
}

/* ---- watches ---- */

static void consul_watch_poll(struct consul_watch *w);

static void consul_watch_backoff(struct consul_watch *w)
{
	kvh_watch_retry(&w->kw, kvh_watch_next_delay(&w->kw));
}

static void consul_watch_events(struct consul_watch *w, const struct kvh_rows *cur,
				uint64_t index)
{
	struct consul_ev *ev = NULL;
	size_t n = 0;

	if (consul_diff(&w->snap, cur, index, &ev, &n) < 0) {
		/* Cannot tell what changed: have the watcher re-list. */
		w->kw.cb(NULL, w->kw.arg);
		return;
	}
	for (size_t i = 0; i < n && !w->kw.dead; i++) {
		struct kv_event kev = {
			.type = ev[i].type,
			.entry = {
				.key = ev[i].e->key,
				.value = ev[i].type == KV_EV_PUT ? ev[i].e->value : NULL,
				.len = ev[i].type == KV_EV_PUT ? ev[i].e->len : 0,
				.mod_rev = ev[i].rev,
			},
		};

		w->kw.cb(&kev, w->kw.arg);
	}
	free(ev);
}

/* A new snapshot at index: events or a re-list signal, then keep it. */
static void consul_watch_update(struct consul_watch *w, struct kvh_rows *cur, uint64_t index)
{
	bool relist;

	if (!w->primed)
		relist = w->after_rev && index > w->after_rev;
	else
		relist = index < w->index;
	if (relist)
		w->kw.cb(NULL, w->kw.arg);
	else if (w->primed)
		consul_watch_events(w, cur, index);
	kvh_rows_free(&w->snap);
	w->snap = *cur;
	*cur = (struct kvh_rows){ 0 };
	w->index = index;
	w->primed = true;
}

static void consul_watch_done(const struct kvh_resp *resp, void *arg)
{
	struct consul_watch *w = arg;
	struct consul *c = (struct consul *)w->kw.b;
	struct kvh_rows cur = { 0 };
	char why[CONSUL_MSG_LEN];
	uint64_t index;

	w->kw.req = NULL;
	if (resp->status == -ECANCELED || w->kw.dead)
		return;
	if (resp->status < 0 || (resp->code != 200 && resp->code != 404) ||
	    (resp->code == 200 && consul_parse_kvs(resp->body, resp->len, c->b.plen, &cur, why) < 0)) {
		kvh_watch_failed(&w->kw, resp);
		kvh_rows_free(&cur);
		consul_watch_backoff(w);
		return;
	}
	index = consul_index(resp);
	kvh_rows_sort(&cur);
	consul_watch_update(w, &cur, index ? index : 1);
	kvh_rows_free(&cur);
	if (w->kw.dead)
		return;
	w->kw.backoff_ms = KVH_BACKOFF_MIN_MS;
	consul_watch_poll(w);
}

static void consul_watch_poll(struct consul_watch *w)
{
	struct consul *c = (struct consul *)w->kw.b;
	const char *hdrs[] = { c->b.token_hdr, NULL };
	char *url = NULL;
	struct kvh_call call = {
		.method = "GET",
		.headers = hdrs,
		.connect_timeout_ms = c->b.connect_ms,
		.timeout_ms = c->b.timeout_ms,
	};
	int n, ret = -ENOMEM;

	if (w->kw.dead || w->kw.req)
		return;
	w->kw.ep = c->b.cur;
	if (w->primed) {
		/* Consul adds up to wait/16 of jitter: allow for it. */
		call.timeout_ms = CONSUL_WAIT_S * 1000 + CONSUL_WAIT_S * 1000 / 16 + c->b.timeout_ms;
		n = asprintf(&url, "%s/v1/kv/%s?recurse&index=%llu&wait=%ds", c->b.eps[w->kw.ep],
			     w->path, (unsigned long long)w->index, CONSUL_WAIT_S);
	} else {
		n = asprintf(&url, "%s/v1/kv/%s?recurse", c->b.eps[w->kw.ep], w->path);
	}
	if (n >= 0) {
		call.url = url;
		ret = kvh_request(c->b.http, &call, consul_watch_done, w, &w->kw.req);
		free(url);
	}
	if (ret < 0)
		consul_watch_backoff(w);
}

static void consul_watch_timer(struct kvh_watch *kw)
{
	consul_watch_poll(consul_watch_of(kw));
}

static void consul_watch_free(struct kvh_watch *kw)
{
	struct consul_watch *w = consul_watch_of(kw);

	kvh_rows_free(&w->snap);
	free(w->path);
}

static int consul_watch(struct kv *base, const char *prefix, uint64_t after_rev,
			kv_watch_cb cb, void *arg, struct kv_watch **out)
{
	struct consul *c = (struct consul *)base;
	struct consul_watch *w;
	char *full = NULL;
	int ret;

	ret = kvh_watch_check(&c->b, cb, out);
	if (ret < 0)
		return ret;
	ret = kvh_key_full(c->b.prefix, prefix, true, &full);
	if (ret < 0)
		return ret;
	w = calloc(1, sizeof(*w));
	if (w)
		w->path = consul_kv_path(full);
	free(full);
	if (!w || !w->path) {
		free(w);
		return -ENOMEM;
	}
	w->after_rev = after_rev;
	kvh_watch_add(&c->b, &w->kw, cb, arg, out);
	return 0;
}

/* ---- lifecycle ---- */

/* The ACL token from the first line of the file. */
static int consul_load_token(struct kvh_backend *b, const char *path, struct ovn_err *err)
{
	char *token = NULL;
	int ret;

	ret = kvh_read_secret(path, &token, err);
	if (ret < 0)
		return ret;
	ret = asprintf(&b->token_hdr, "X-Consul-Token: %s", token);
	free(token);
	if (ret < 0) {
		b->token_hdr = NULL;
		return ovn_err_set(err, -ENOMEM, "consul: out of memory");
	}
	return 0;
}

static const struct kvh_backend_ops consul_backend_ops = {
	.load_secret = consul_load_token,
	.watch_connect = consul_watch_timer,
	.watch_free = consul_watch_free,
};

static int consul_open(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
		       struct ovn_err *err)
{
	struct kvh_backend *b;
	int ret;

	ret = kvh_backend_open(&b, sizeof(struct consul), &kv_consul_ops, &consul_backend_ops,
			       loop, cfg, err);
	if (ret < 0)
		return ret;
	*out = &b->base;
	return 0;
}

const struct kv_ops kv_consul_ops = {
	.name = "consul",
	.open = consul_open,
	.close = kvh_backend_close,
	.get = consul_get,
	.list = consul_list,
	.txn = consul_txn,
	.watch = consul_watch,
	.unwatch = kvh_unwatch,
};
