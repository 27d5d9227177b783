/* kv_etcd.c: the etcd v3 backend, over etcd's JSON gateway (/v3/kv/range,
 * /v3/kv/txn, /v3/watch, /v3/auth/authenticate) with the shared libcurl-on-
 * libuv client (kv_http.c). Wire format in kv_etcd_wire.c.
 *
 * Mapping: get and list are ranges (list: [prefix, prefix+1), key order);
 * mod_rev is the key's mod_revision and a result's rev the header revision.
 * A transaction is one /v3/kv/txn: ABSENT is "create_revision == 0", REV
 * "mod_revision == rev", PRESENT "create_revision > 0"; writes are
 * request_put / request_delete_range; a false "succeeded" is -ECANCELED.
 * Two writes to one key are refused up front (-EINVAL), as etcd would.
 *
 * Endpoints: requests go to the current endpoint; one that cannot be
 * reached (no connection made, so nothing was sent) makes the request move
 * on to the next, and the next requests start there. A request that
 * reached a server and then failed is not retried: a write may have been
 * applied. Each attempt has the full cfg->timeout; the connect timeout is
 * shortened with several endpoints so a silent host does not eat it all.
 *
 * Watches: one streaming POST /v3/watch per watch. The next revision to
 * deliver is tracked, so a dropped stream reconnects (backoff 100 ms
 * doubling to 2 s) and resumes exactly there. A start revision etcd has
 * compacted away gives cb(NULL) (re-list), then the watch goes on from the
 * revision current when it was created.
 *
 * Auth: password_file holds "user:password"; requests wait for a token from
 * /v3/auth/authenticate, sent as the Authorization header; a request
 * refused for its token triggers one re-authentication and one retry.
 *
 * Close: watches end at once (no callback after close), requests in flight
 * get -ECANCELED from the HTTP client's close, then the close callback.
 *
 * Does not: leases, keep-alive of the gateway's watch by progress requests
 * (TCP keepalive detects dead peers), history replay beyond what etcd keeps.
 *
 * TODO: retry idempotent reads on another endpoint after a mid-request
 * failure; report which compare failed (etcd does not say).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_etcd_int.h"
#include "kv_http_int.h"
#include "kv_int.h"
#include "util.h"

#define ETCD_ERR_LEN		(ETCD_MSG_LEN + 128)

enum etcd_kind { ETCD_GET, ETCD_LIST, ETCD_TXN, ETCD_AUTH };

static const char *const etcd_paths[] = {
	[ETCD_GET] = "/v3/kv/range",
	[ETCD_LIST] = "/v3/kv/range",
	[ETCD_TXN] = "/v3/kv/txn",
	[ETCD_AUTH] = "/v3/auth/authenticate",
};

struct etcd;

struct etcd_op {
	struct etcd_op *next;		/* e->waiting */
	struct etcd *e;
	enum etcd_kind kind;
	char *body;
	char *key;			/* for messages: user's key or prefix */
	kv_cb cb;
	void *arg;
	size_t tries;			/* endpoints tried */
	size_t ep;			/* endpoint of the current attempt */
	bool auth_retried;
	char msg[ETCD_ERR_LEN];
};

struct etcd_watch {
	struct kvh_watch kw;		/* first: kv_http.c frees us through it */
	char *prefix;			/* full: store prefix included */
	uint64_t next_rev;		/* first revision not yet delivered; 0 = now */
	uint64_t created_rev;		/* current revision when the stream began */
	unsigned int gen;		/* bumped per stream: stale data is dropped */
	char *buf;			/* partial line of the stream */
	size_t len, cap;
	bool auth_wait;
};

struct etcd {
	struct kvh_backend b;		/* first; b.token_hdr: "Authorization: <token>" */
	char *user, *password;		/* NULL: no auth */
	bool authing;
	struct etcd_op *waiting, **waiting_tail;	/* for a token */
};

static inline struct etcd *etcd_of(struct kvh_backend *b)
{
	return (struct etcd *)b;
}

static inline struct etcd_watch *etcd_watch_of(struct kvh_watch *kw)
{
	return (struct etcd_watch *)kw;
}

static void etcd_op_done(const struct kvh_resp *resp, void *arg);
static void etcd_auth_start(struct etcd *e);
static void etcd_watch_connect(struct etcd_watch *w);
static void etcd_watch_backoff(struct etcd_watch *w);

/* ---- requests ---- */

static void etcd_op_free(struct etcd_op *op)
{
	free(op->body);
	free(op->key);
	free(op);
}

static void etcd_op_finish(struct etcd_op *op, struct kv_result *res)
{
	if (op->cb)
		op->cb(res, op->arg);
	etcd_op_free(op);
}

static void etcd_op_fail(struct etcd_op *op, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void etcd_op_fail(struct etcd_op *op, int status, const char *fmt, ...)
{
	struct kv_result res = { .status = status, .msg = op->msg };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
	va_end(ap);
	etcd_op_finish(op, &res);
}

/* Fail with the message already in op->msg. */
static void etcd_op_fail_msg(struct etcd_op *op, int status)
{
	struct kv_result res = { .status = status, .msg = op->msg };

	etcd_op_finish(op, &res);
}

/* Start one attempt at the current endpoint. */
static int etcd_send(struct etcd *e, struct etcd_op *op)
{
	const char *hdrs[3];
	char url[1024];
	struct kvh_call call = {
		.method = "POST",
		.url = url,
		.body = op->body,
		.len = strlen(op->body),
		.headers = hdrs,
		.timeout_ms = e->b.timeout_ms,
		.connect_timeout_ms = e->b.connect_ms,
	};

	op->ep = e->b.cur;
	snprintf(url, sizeof(url), "%s%s", e->b.eps[op->ep], etcd_paths[op->kind]);
	kvh_backend_headers(&e->b, hdrs);
	return kvh_request(e->b.http, &call, etcd_op_done, op, NULL);
}

/* Send now, or queue until a token is there. */
static int etcd_submit(struct etcd *e, struct etcd_op *op)
{
	if (!e->user || e->b.token_hdr || op->kind == ETCD_AUTH)
		return etcd_send(e, op);
	op->next = NULL;
	*e->waiting_tail = op;
	e->waiting_tail = &op->next;
	etcd_auth_start(e);
	return 0;
}

static void etcd_resubmit(struct etcd *e, struct etcd_op *op)
{
	int ret = etcd_submit(e, op);

	if (ret < 0)
		etcd_op_fail(op, ret, "etcd: cannot send the request: %s", strerror(-ret));
}

static struct etcd_op *etcd_op_new(struct etcd *e, enum etcd_kind kind, const char *key,
				   kv_cb cb, void *arg)
{
	struct etcd_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->e = e;
	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	op->key = strdup(key);
	if (!op->key) {
		free(op);
		return NULL;
	}
	return op;
}

/* ---- answers ---- */

static void etcd_done_range(struct etcd *e, struct etcd_op *op, const struct kvh_resp *resp)
{
	struct kv_result res = { .msg = "" };
	struct kvh_rows rows = { 0 };
	char why[ETCD_MSG_LEN];
	int ret;

	ret = etcd_parse_range(resp->body, resp->len, e->b.plen, &res.rev, &rows, why);
	if (ret < 0) {
		kvh_rows_free(&rows);
		etcd_op_fail(op, ret, "etcd %s: %s", e->b.eps[op->ep], why);
		return;
	}
	kvh_rows_result(&rows, op->kind == ETCD_GET, op->key, op->msg, sizeof(op->msg), &res);
	etcd_op_finish(op, &res);
	kvh_rows_free(&rows);
}

static void etcd_done_txn(struct etcd *e, struct etcd_op *op, const struct kvh_resp *resp)
{
	struct kv_result res = { .msg = "" };
	char why[ETCD_MSG_LEN];
	bool ok = false;
	int ret;

	ret = etcd_parse_txn(resp->body, resp->len, &res.rev, &ok, why);
	if (ret < 0) {
		etcd_op_fail(op, ret, "etcd %s: %s", e->b.eps[op->ep], why);
		return;
	}
	if (!ok) {
		snprintf(op->msg, sizeof(op->msg),
			 "txn: compare failed (first compared key '%s')", op->key);
		res.status = -ECANCELED;
		res.msg = op->msg;
	}
	etcd_op_finish(op, &res);
}

/* Hand every request waiting for a token to the server, or fail them. */
static void etcd_auth_flush(struct etcd *e, int status, const char *why)
{
	struct etcd_op *list = e->waiting;

	/* Watches first: one started "from now" before a write was queued must
	 * see that write, so its create request goes out before the write's.
	 * (Two connections: this narrows the window; a watch from an explicit
	 * revision, as the agent uses, has none.) */
	for (struct kvh_watch *kw = e->b.watches; kw; kw = kw->next) {
		struct etcd_watch *w = etcd_watch_of(kw);

		if (!w->auth_wait)
			continue;
		w->auth_wait = false;
		if (status == 0)
			etcd_watch_connect(w);
		else
			etcd_watch_backoff(w);
	}
	e->waiting = NULL;
	e->waiting_tail = &e->waiting;
	while (list) {
		struct etcd_op *op = list;

		list = op->next;
		if (status == 0) {
			etcd_resubmit(e, op);
		} else {
			snprintf(op->msg, sizeof(op->msg), "%s", why);
			etcd_op_fail_msg(op, status);
		}
	}
}

static void etcd_done_auth(struct etcd *e, struct etcd_op *op, int status,
			   const struct kvh_resp *resp)
{
	char why[ETCD_MSG_LEN], *token = NULL;

	e->authing = false;
	if (status == 0)
		status = etcd_parse_auth(resp->body, resp->len, &token, why);
	if (status == 0 && asprintf(&e->b.token_hdr, "Authorization: %s", token) < 0) {
		e->b.token_hdr = NULL;
		status = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
	}
	free(token);
	if (status < 0 && status != -ECANCELED) {
		char prev[ETCD_ERR_LEN];

		if (op->msg[0])
			snprintf(prev, sizeof(prev), "%s", op->msg);
		else
			snprintf(prev, sizeof(prev), "etcd %s: %s", e->b.eps[op->ep], why);
		snprintf(op->msg, sizeof(op->msg), "authenticate as '%.64s': %.280s", e->user,
			 prev);
	}
	etcd_auth_flush(e, status, op->msg);
	etcd_op_free(op);
}

/* A transport failure: move on to the next endpoint if nothing was sent. */
static bool etcd_failover(struct etcd *e, struct etcd_op *op, const struct kvh_resp *resp)
{
	bool read = op->kind == ETCD_GET || op->kind == ETCD_LIST;

	if (!kvh_backend_failover(&e->b, resp, op->ep, &op->tries, read))
		return false;
	etcd_resubmit(e, op);
	return true;
}

/* An error answer: maybe the token expired; else report. */
static int etcd_done_error(struct etcd *e, struct etcd_op *op, const struct kvh_resp *resp)
{
	char why[ETCD_MSG_LEN];
	int ret = etcd_parse_error(resp->body, resp->len, resp->code, why);

	if (ret == -EACCES && e->user && op->kind != ETCD_AUTH && !op->auth_retried &&
	    !e->b.closing) {
		op->auth_retried = true;
		free(e->b.token_hdr);
		e->b.token_hdr = NULL;
		etcd_resubmit(e, op);
		return 0;
	}
	snprintf(op->msg, sizeof(op->msg), "etcd %s: %s", e->b.eps[op->ep], why);
	return ret;
}

static void etcd_op_done(const struct kvh_resp *resp, void *arg)
{
	struct etcd_op *op = arg;
	struct etcd *e = op->e;
	int status = resp->status;

	if (status == -ECANCELED)
		snprintf(op->msg, sizeof(op->msg), "store: closed before the operation completed");
	else if (status < 0 && etcd_failover(e, op, resp))
		return;
	else if (status < 0)
		snprintf(op->msg, sizeof(op->msg), "etcd %s: %s", e->b.eps[op->ep], resp->msg);
	else if (resp->code != 200 && (status = etcd_done_error(e, op, resp)) == 0)
		return;
	if (op->kind == ETCD_AUTH) {
		etcd_done_auth(e, op, status, resp);
		return;
	}
	if (status < 0) {
		etcd_op_fail_msg(op, status);
		return;
	}
	if (op->kind == ETCD_TXN)
		etcd_done_txn(e, op, resp);
	else
		etcd_done_range(e, op, resp);
}

static void etcd_auth_start(struct etcd *e)
{
	struct etcd_op *op;
	int ret = -ENOMEM;

	if (e->authing)
		return;
	op = etcd_op_new(e, ETCD_AUTH, e->user, NULL, NULL);
	if (op)
		op->body = etcd_auth_body(e->user, e->password);
	if (op && op->body)
		ret = etcd_send(e, op);
	if (ret == 0) {
		e->authing = true;
		return;
	}
	if (op)
		etcd_op_free(op);
	etcd_auth_flush(e, ret, "etcd: cannot start authentication");
}

/* ---- the vtable's request entry points ---- */

static int etcd_start(struct etcd *e, enum etcd_kind kind, const char *key, char *body,
		      kv_cb cb, void *arg)
{
	struct etcd_op *op;
	int ret;

	if (!body)
		return -ENOMEM;
	op = etcd_op_new(e, kind, key, cb, arg);
	if (!op) {
		free(body);
		return -ENOMEM;
	}
	op->body = body;
	ret = etcd_submit(e, op);
	if (ret < 0)
		etcd_op_free(op);
	return ret;
}

static int etcd_read(struct kv *base, enum etcd_kind kind, const char *key, kv_cb cb,
		     void *arg)
{
	struct etcd *e = (struct etcd *)base;
	char *full = NULL, *body;
	int ret;

	ret = kvh_backend_read_key(&e->b, key, kind == ETCD_LIST, cb, &full);
	if (ret < 0)
		return ret;
	body = etcd_range_body(full, kind == ETCD_LIST);
	free(full);
	return etcd_start(e, kind, key, body, cb, arg);
}

static int etcd_get(struct kv *base, const char *key, kv_cb cb, void *arg)
{
	return etcd_read(base, ETCD_GET, key, cb, arg);
}

static int etcd_list(struct kv *base, const char *prefix, kv_cb cb, void *arg)
{
	return etcd_read(base, ETCD_LIST, prefix, cb, arg);
}

static int etcd_txn(struct kv *base, const struct kv_op *ops, size_t n, kv_cb cb, void *arg)
{
	struct etcd *e = (struct etcd *)base;
	const char *first = NULL;
	int ret;

	ret = kvh_backend_txn_check(&e->b, ops, n, cb);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n && !first; i++)
		if (ops[i].cmp != KV_CMP_NONE)
			first = ops[i].key;
	return etcd_start(e, ETCD_TXN, first ? first : ops[0].key,
			  etcd_txn_body(e->b.prefix, ops, n), cb, arg);
}

/* ---- watches ---- */

/* Drop the stream (if any) and connect again after delay_ms. */
static void etcd_watch_restart(struct etcd_watch *w, unsigned int delay_ms)
{
	if (w->kw.req) {
		kvh_cancel(w->kw.b->http, w->kw.req);
		w->kw.req = NULL;
	}
	w->gen++;
	w->len = 0;
	kvh_watch_retry(&w->kw, delay_ms);
}

static void etcd_watch_backoff(struct etcd_watch *w)
{
	etcd_watch_restart(w, kvh_watch_next_delay(&w->kw));
}

/* Deliver the events of one answer; false when the watch died meanwhile. */
static bool etcd_watch_deliver(struct etcd_watch *w, const struct kvh_rows *ev)
{
	uint64_t from = w->next_rev, top = 0;

	for (size_t i = 0; i < ev->n && !w->kw.dead; i++) {
		const struct kv_entry *en = &ev->v[i];
		struct kv_event kev = {
			.type = en->value ? KV_EV_PUT : KV_EV_DEL,
			.entry = *en,
		};

		/* Repeats after a reconnect are dropped. */
		if (en->mod_rev < from)
			continue;
		w->kw.cb(&kev, w->kw.arg);
		if (en->mod_rev > top)
			top = en->mod_rev;
	}
	if (top >= w->next_rev)
		w->next_rev = top + 1;
	return !w->kw.dead;
}

static void etcd_watch_compacted(struct etcd_watch *w, const struct etcd_wresp *wr)
{
	uint64_t from = w->created_rev > wr->compact_rev ? w->created_rev : wr->compact_rev;

	w->kw.cb(NULL, w->kw.arg);
	if (w->kw.dead)
		return;
	/* The re-list the watcher does now sees at least this revision. */
	w->next_rev = from + 1;
	etcd_watch_restart(w, 0);
}

/* One object of the stream. */
static void etcd_watch_line(struct etcd_watch *w, const char *line, size_t len)
{
	struct etcd *e = etcd_of(w->kw.b);
	struct etcd_wresp wr;
	char why[ETCD_MSG_LEN];

	if (etcd_parse_watch(line, len, e->b.plen, &wr, why) < 0) {
		etcd_watch_backoff(w);
		return;
	}
	if (wr.error) {
		if (wr.err == -EACCES && e->b.token_hdr) {
			free(e->b.token_hdr);
			e->b.token_hdr = NULL;
		}
		etcd_watch_backoff(w);
	} else if (wr.created) {
		w->created_rev = wr.rev;
		if (!w->next_rev)
			w->next_rev = wr.rev + 1;
		w->kw.backoff_ms = KVH_BACKOFF_MIN_MS;
	} else if (wr.compact_rev) {
		etcd_watch_compacted(w, &wr);
	} else if (wr.canceled) {
		etcd_watch_backoff(w);
	} else {
		etcd_watch_deliver(w, &wr.ev);
	}
	etcd_wresp_free(&wr);
}

static int etcd_watch_buf_add(struct etcd_watch *w, const char *data, size_t len)
{
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		char *p;

		while (cap < w->len + len)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p)
			return -ENOMEM;
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, data, len);
	w->len += len;
	return 0;
}

/* Stream data: complete lines are objects; keep the rest for later. */
static void etcd_watch_chunk(const char *data, size_t len, void *arg)
{
	struct etcd_watch *w = arg;
	unsigned int gen = w->gen;
	size_t start = 0;

	if (etcd_watch_buf_add(w, data, len) < 0) {
		etcd_watch_backoff(w);
		return;
	}
	while (!w->kw.dead && w->gen == gen) {
		char *nl = memchr(w->buf + start, '\n', w->len - start);
		size_t end;

		if (!nl)
			break;
		end = nl - w->buf;
		if (end > start)
			etcd_watch_line(w, w->buf + start, end - start);
		start = end + 1;
	}
	if (w->kw.dead || w->gen != gen)
		return;
	memmove(w->buf, w->buf + start, w->len - start);
	w->len -= start;
}

static void etcd_watch_done(const struct kvh_resp *resp, void *arg)
{
	struct etcd_watch *w = arg;
	struct etcd *e = etcd_of(w->kw.b);

	w->kw.req = NULL;
	if (resp->status == -ECANCELED || w->kw.dead)
		return;
	if (resp->status == 0 && resp->code != 200) {
		char why[ETCD_MSG_LEN];

		if (etcd_parse_error(resp->body, resp->len, resp->code, why) == -EACCES &&
		    e->b.token_hdr) {
			free(e->b.token_hdr);
			e->b.token_hdr = NULL;
		}
	}
	kvh_watch_failed(&w->kw, resp);
	etcd_watch_backoff(w);
}

static void etcd_watch_connect(struct etcd_watch *w)
{
	struct etcd *e = etcd_of(w->kw.b);
	const char *hdrs[3];
	char url[1024], *body;
	struct kvh_call call = {
		.method = "POST",
		.url = url,
		.headers = hdrs,
		.connect_timeout_ms = e->b.connect_ms,
		.on_chunk = etcd_watch_chunk,
	};
	int ret = -ENOMEM;

	if (w->kw.dead || w->kw.req)
		return;
	if (e->user && !e->b.token_hdr) {
		w->auth_wait = true;
		etcd_auth_start(e);
		return;
	}
	w->gen++;
	w->len = 0;
	body = etcd_watch_body(w->prefix, w->next_rev);
	if (body) {
		w->kw.ep = e->b.cur;
		snprintf(url, sizeof(url), "%s/v3/watch", e->b.eps[w->kw.ep]);
		kvh_backend_headers(&e->b, hdrs);
		call.body = body;
		call.len = strlen(body);
		ret = kvh_request(e->b.http, &call, etcd_watch_done, w, &w->kw.req);
		free(body);
	}
	if (ret < 0)
		etcd_watch_backoff(w);
}

static void etcd_watch_timer(struct kvh_watch *kw)
{
	etcd_watch_connect(etcd_watch_of(kw));
}

static void etcd_watch_free(struct kvh_watch *kw)
{
	struct etcd_watch *w = etcd_watch_of(kw);

	free(w->buf);
	free(w->prefix);
}

static int etcd_watch(struct kv *base, const char *prefix, uint64_t after_rev,
		      kv_watch_cb cb, void *arg, struct kv_watch **out)
{
	struct etcd *e = (struct etcd *)base;
	struct etcd_watch *w;
	int ret;

	ret = kvh_watch_check(&e->b, cb, out);
	if (ret < 0)
		return ret;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	ret = kvh_key_full(e->b.prefix, prefix, true, &w->prefix);
	if (ret < 0) {
		free(w);
		return ret;
	}
	w->next_rev = after_rev ? after_rev + 1 : 0;
	kvh_watch_add(&e->b, &w->kw, cb, arg, out);
	return 0;
}

/* ---- lifecycle ---- */

static void etcd_destroy(struct kvh_backend *b)
{
	struct etcd *e = etcd_of(b);

	free(e->user);
	free(e->password);
}

static void etcd_http_closed(struct kvh_backend *b)
{
	/* Normally empty: the authenticate request's cancel failed them. */
	etcd_auth_flush(etcd_of(b), -ECANCELED, "store: closed before the operation completed");
}

/* "user:password" from the first line of the file. */
static int etcd_load_auth(struct kvh_backend *b, const char *path, struct ovn_err *err)
{
	struct etcd *e = etcd_of(b);
	char *line = NULL, *colon;
	int ret;

	ret = kvh_read_secret(path, &line, err);
	if (ret < 0)
		return ret;
	colon = strchr(line, ':');
	if (!colon || colon == line) {
		free(line);
		return ovn_err_set(err, -EINVAL,
				   "store.password_file: %s: etcd wants 'user:password'", path);
	}
	*colon = '\0';
	e->password = strdup(colon + 1);
	e->user = line;
	if (!e->password)
		return ovn_err_set(err, -ENOMEM, "etcd: out of memory");
	return 0;
}

static const struct kvh_backend_ops etcd_backend_ops = {
	.destroy = etcd_destroy,
	.load_secret = etcd_load_auth,
	.watch_connect = etcd_watch_timer,
	.watch_free = etcd_watch_free,
	.http_closed = etcd_http_closed,
};

static int etcd_open(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
		     struct ovn_err *err)
{
	struct kvh_backend *b;
	struct etcd *e;
	int ret;

	ret = kvh_backend_open(&b, sizeof(*e), &kv_etcd_ops, &etcd_backend_ops, loop, cfg, err);
	if (ret < 0)
		return ret;
	e = etcd_of(b);
	e->waiting_tail = &e->waiting;
	*out = &b->base;
	return 0;
}

const struct kv_ops kv_etcd_ops = {
	.name = "etcd",
	.open = etcd_open,
	.close = kvh_backend_close,
	.get = etcd_get,
	.list = etcd_list,
	.txn = etcd_txn,
	.watch = etcd_watch,
	.unwatch = kvh_unwatch,
};
