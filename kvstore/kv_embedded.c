/* kv_embedded.c: the embedded store, ovn's default backend for one host. The
 * whole data set lives in memory (kv_emb_map.c); a checksummed append log
 * and a snapshot in cfg->path make it survive restarts (kv_emb_disk.c).
 *
 * Files in cfg->path (created 0700 if missing):
 *	lock		flock()ed for the store's lifetime: one agent per directory
 *	snapshot	the state at some revision, replaced atomically
 *	log		one record per committed transaction after the snapshot
 *	log.new		the active log while a compaction is running
 * Open loads the snapshot, replays log then log.new up to the first torn
 * record (cut away: that is what a crash mid-write leaves), and finishes an
 * interrupted compaction.
 *
 * Durability rule: a transaction's record reaches the log with write()
 * before its callback runs, so a killed agent (kill -9, crash) never loses
 * an acknowledged write. fdatasync runs on the libuv threadpool, batched:
 * every cfg->sync_interval seconds, so a power loss loses at most about
 * that much; with sync_interval 0 each callback waits for an fdatasync that
 * covers its record (group commit: one sync serves every record written
 * before it started). An fdatasync or compaction I/O error disables writes
 * (-EIO) until restart, because after a failed fsync the kernel may already
 * have dropped the data and the log can no longer be trusted.
 *
 * Requests: a call checks its arguments, copies them and queues the request;
 * a uv_idle + uv_check pair runs the queue in the same loop iteration or the
 * next (check right after the poll phase that made the request, idle before
 * the poll of the next one, so the loop never sleeps with work queued). Run
 * requests move to a delivery queue that is drained in order; with sync
 * interval 0 an item waits there until the log is synced past its record.
 * Watch events follow the callback of the transaction that caused them.
 *
 * Compaction starts after an fdatasync when the log has grown past
 * max(1 MiB, 2x live data): the loop serialises the map and switches writes
 * to log.new; a threadpool job syncs the old log and writes the snapshot
 * (temp file, fsync, rename, fsync directory); back on the loop log.new is
 * renamed over log. Syncs pause while it runs.
 *
 * Keys: the store prefix is prepended to every key, on disk too, and
 * stripped from results. list() and watch() match a plain string prefix
 * ("/a/b" matches "/a/bc"); end the prefix with '/' to mean a directory.
 * "" means every key under the store prefix.
 *
 * Close runs every request not yet run with -ECANCELED, delivers the real
 * result of those already run (after a final fdatasync) and ends every
 * watch: no watch callback runs after close(), and kv_watch_stop() must not
 * be called on the store's watches any more.
 *
 * Does not: keep history (a watch from a past revision gets ev == NULL, the
 * re-list signal), share a directory between processes, or bound memory.
 *
 * Files: this one holds requests, transactions, watches and close;
 * kv_emb_sync.c fdatasync and compaction; kv_emb_open.c open and recovery;
 * kv_emb_disk.c the file formats; kv_emb_map.c the sorted map.
 *
 * TODO: retry a failed compaction instead of disabling writes; expose
 * counters (log size, compactions, sync latency) to agent metrics.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv_emb_int.h"
#include "kv_int.h"
#include "util.h"

static void emb_idle_cb(uv_idle_t *h);
static void emb_check_cb(uv_check_t *h);

/* ---- requests and queues ---- */

static struct emb_req *emb_req_new(enum emb_kind kind, size_t nops, size_t extra)
{
	struct emb_req *r;

	r = calloc(1, sizeof(*r) + nops * sizeof(struct kv_op) + extra);
	if (!r)
		return NULL;
	r->kind = kind;
	r->res.msg = "";
	r->nops = nops;
	r->ops = (struct kv_op *)(r + 1);
	r->data = (char *)(r->ops + nops);
	return r;
}

static void emb_req_fail(struct emb_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void emb_req_fail(struct emb_req *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->res.status = status;
	r->res.msg = r->msg;
	r->res.n = 0;
	r->res.entries = NULL;
}

static void emb_watch_unref(struct emb_watch *w)
{
	if (--w->refs == 0)
		free(w);
}

static void emb_req_free(struct emb_req *r)
{
	if (r->kind == EMB_EVENT)
		emb_watch_unref(r->w);
	free(r->ents);
	free(r->blob);
	free(r);
}

/* Run the user's callback, then free the request. */
static void emb_req_finish(struct emb_req *r)
{
	if (r->kind == EMB_EVENT) {
		if (!r->w->dead)
			r->w->cb(r->relist ? NULL : &r->ev, r->w->arg);
	} else if (r->cb) {
		r->cb(&r->res, r->arg);
	}
	emb_req_free(r);
}

static struct emb_req *emb_pop(struct emb_req **head, struct emb_req ***tail)
{
	struct emb_req *r = *head;

	*head = r->next;
	if (!*head)
		*tail = head;
	r->next = NULL;
	return r;
}

static void emb_done_push(struct emb *kv, struct emb_req *r)
{
	*kv->done_tail = r;
	kv->done_tail = &r->next;
}

/* Have the loop call emb_drain soon. */
static void emb_kick(struct emb *kv)
{
	uv_idle_start(&kv->idle, emb_idle_cb);
	uv_check_start(&kv->check, emb_check_cb);
}

static void emb_submit(struct emb *kv, struct emb_req *r)
{
	*kv->pend_tail = r;
	kv->pend_tail = &r->next;
	emb_kick(kv);
}

static bool emb_deliverable(const struct emb *kv, const struct emb_req *r)
{
	return r->wait_seq <= kv->sseq || kv->broken;
}

static void emb_handles_update(struct emb *kv)
{
	if (kv->pend || (kv->done && emb_deliverable(kv, kv->done))) {
		emb_kick(kv);
		return;
	}
	uv_idle_stop(&kv->idle);
	uv_check_stop(&kv->check);
}

void emb_set_broken(struct emb *kv, int err, const char *fmt, ...)
{
	va_list ap;

	if (kv->broken)
		return;
	kv->broken = err;
	va_start(ap, fmt);
	vsnprintf(kv->broken_msg, sizeof(kv->broken_msg), fmt, ap);
	va_end(ap);
}

/* ---- argument checks (at call time) ---- */

/* Length of the full key (store prefix + key), or -errno. An empty key is
 * only allowed as a list/watch prefix, where it stands for "/". */
static int emb_key_len(const struct emb *kv, const char *key, bool as_prefix)
{
	size_t len;

	if (!key || (!key[0] && !as_prefix) || (key[0] && key[0] != '/'))
		return -EINVAL;
	len = kv->plen + (key[0] ? strlen(key) : 1);
	if (len > EMB_KEY_MAX)
		return -ENAMETOOLONG;
	return len;
}

static char *emb_key_build(const struct emb *kv, char *dst, const char *key)
{
	memcpy(dst, kv->prefix, kv->plen);
	strcpy(dst + kv->plen, key[0] ? key : "/");
	return dst;
}

/* Bytes an op's copy needs, or -errno. */
static int emb_op_check(const struct emb *kv, const struct kv_op *op)
{
	int klen;

	if ((unsigned int)op->type > KV_OP_CHECK || (unsigned int)op->cmp > KV_CMP_PRESENT)
		return -EINVAL;
	if (op->type == KV_OP_CHECK && op->cmp == KV_CMP_NONE)
		return -EINVAL;
	klen = emb_key_len(kv, op->key, false);
	if (klen < 0 || op->type != KV_OP_PUT)
		return klen < 0 ? klen : klen + 1;
	if (!op->value && op->len)
		return -EINVAL;
	if (op->len > EMB_VAL_MAX)
		return -E2BIG;
	return klen + 1 + op->len + 1;
}

static bool emb_op_writes(const struct kv_op *op)
{
	return op->type == KV_OP_PUT || op->type == KV_OP_DEL;
}

/* Two writes to one key in a transaction are refused (as etcd does): the
 * result would depend on an ordering nobody meant to rely on. */
static bool emb_ops_dup(const struct kv_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (emb_op_writes(&ops[i]) && emb_op_writes(&ops[j]) &&
			    strcmp(ops[i].key, ops[j].key) == 0)
				return true;
	return false;
}

static int emb_txn_check(const struct emb *kv, const struct kv_op *ops, size_t n,
			 size_t *extra)
{
	*extra = 0;
	if (!ops || n == 0 || n > KV_TXN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int len = emb_op_check(kv, &ops[i]);

		if (len < 0)
			return len;
		*extra += len;
	}
	return emb_ops_dup(ops, n) ? -EINVAL : 0;
}

/* Copy the ops and their keys/values into the request. */
static void emb_txn_copy(const struct emb *kv, struct emb_req *r, const struct kv_op *ops)
{
	char *p = r->data;

	for (size_t i = 0; i < r->nops; i++) {
		struct kv_op *op = &r->ops[i];

		*op = ops[i];
		op->key = emb_key_build(kv, p, ops[i].key);
		p += strlen(p) + 1;
		if (op->type != KV_OP_PUT) {
			op->value = NULL;
			op->len = 0;
			continue;
		}
		if (op->len)
			memcpy(p, ops[i].value, op->len);
		p[op->len] = '\0';
		op->value = p;
		p += op->len + 1;
	}
}

/* ---- the vtable's request entry points ---- */

static int emb_read_submit(struct emb *kv, enum emb_kind kind, const char *key, kv_cb cb,
			   void *arg)
{
	struct emb_req *r;
	int len;

	len = emb_key_len(kv, key, kind == EMB_LIST);
	if (len < 0)
		return len;
	if (!cb)
		return -EINVAL;
	if (kv->closing)
		return -ESHUTDOWN;
	r = emb_req_new(kind, 0, len + 1);
	if (!r)
		return -ENOMEM;
	emb_key_build(kv, r->data, key);
	r->cb = cb;
	r->arg = arg;
	emb_submit(kv, r);
	return 0;
}

static int emb_get(struct kv *base, const char *key, kv_cb cb, void *arg)
{
	return emb_read_submit((struct emb *)base, EMB_GET, key, cb, arg);
}

static int emb_list(struct kv *base, const char *prefix, kv_cb cb, void *arg)
{
	return emb_read_submit((struct emb *)base, EMB_LIST, prefix, cb, arg);
}

static int emb_txn(struct kv *base, const struct kv_op *ops, size_t n, kv_cb cb, void *arg)
{
	struct emb *kv = (struct emb *)base;
	struct emb_req *r;
	size_t extra;
	int ret;

	ret = emb_txn_check(kv, ops, n, &extra);
	if (ret < 0)
		return ret;
	if (kv->closing)
		return -ESHUTDOWN;
	r = emb_req_new(EMB_TXN, n, extra);
	if (!r)
		return -ENOMEM;
	emb_txn_copy(kv, r, ops);
	r->cb = cb;
	r->arg = arg;
	emb_submit(kv, r);
	return 0;
}

/* ---- running reads ---- */

static void emb_run_get(struct emb *kv, struct emb_req *r)
{
	const struct emb_ent *e = emb_map_get(&kv->map, r->data);

	r->res.rev = kv->rev;
	if (!e) {
		emb_req_fail(r, -ENOENT, "'%s': not found", r->data + kv->plen);
		return;
	}
	r->blob = malloc(e->vlen + 1);
	if (!r->blob) {
		emb_req_fail(r, -ENOMEM, "store: out of memory");
		return;
	}
	memcpy(r->blob, e->val, e->vlen + 1);
	r->one = (struct kv_entry){
		.key = r->data + kv->plen,
		.value = r->blob,
		.len = e->vlen,
		.mod_rev = e->mod_rev,
	};
	r->res.n = 1;
	r->res.entries = &r->one;
}

/* Copy entries [first, first + n) into the request, keys without the store
 * prefix: the map may change before the callback runs. */
static int emb_list_copy(struct emb *kv, struct emb_req *r, size_t first, size_t n,
			 size_t bytes)
{
	char *p;

	r->ents = calloc(n, sizeof(*r->ents));
	r->blob = malloc(bytes);
	if (!r->ents || !r->blob)
		return -ENOMEM;
	p = r->blob;
	for (size_t i = 0; i < n; i++) {
		const struct emb_ent *e = kv->map.v[first + i];
		size_t klen = e->klen - kv->plen;
		char *key = p, *val = p + klen + 1;

		memcpy(key, e->key + kv->plen, klen + 1);
		memcpy(val, e->val, e->vlen + 1);
		r->ents[i] = (struct kv_entry){
			.key = key,
			.value = val,
			.len = e->vlen,
			.mod_rev = e->mod_rev,
		};
		p = val + e->vlen + 1;
	}
	r->res.n = n;
	r->res.entries = r->ents;
	return 0;
}

static void emb_run_list(struct emb *kv, struct emb_req *r)
{
	size_t plen = strlen(r->data), first, end, bytes = 0;

	r->res.rev = kv->rev;
	first = emb_map_lower(&kv->map, r->data);
	for (end = first; end < kv->map.n; end++) {
		const struct emb_ent *e = kv->map.v[end];

		if (strncmp(e->key, r->data, plen) != 0)
			break;
		bytes += e->klen - kv->plen + 1 + e->vlen + 1;
	}
	if (end > first && emb_list_copy(kv, r, first, end - first, bytes) < 0)
		emb_req_fail(r, -ENOMEM, "store: out of memory");
}

/* ---- running transactions ---- */

/* What a transaction allocates before it writes anything, so that after the
 * log write nothing can fail and memory always matches the log. */
struct emb_staged {
	struct emb_ent *ents[KV_TXN_MAX];
	struct emb_req *events, **tail;
};

static bool emb_cmp_holds(const struct kv_op *op, const struct emb_ent *e)
{
	switch (op->cmp) {
	case KV_CMP_NONE:
		return true;
	case KV_CMP_ABSENT:
		return !e;
	case KV_CMP_REV:
		return e && e->mod_rev == op->rev;
	case KV_CMP_PRESENT:
		return e;
	}
	return false;
}

static int emb_txn_compare(const struct emb *kv, struct emb_req *r)
{
	for (size_t i = 0; i < r->nops; i++) {
		const struct kv_op *op = &r->ops[i];

		if (!emb_cmp_holds(op, emb_map_get(&kv->map, op->key))) {
			emb_req_fail(r, -ECANCELED, "txn: compare failed on '%s' (op %zu)",
				     op->key + kv->plen, i);
			return -ECANCELED;
		}
	}
	return 0;
}

/* The writes that change something, as log ops. Deleting an absent key is
 * not a change: it writes no record and bumps no revision. */
static size_t emb_txn_collect(const struct emb *kv, const struct emb_req *r,
			      struct emb_rec_op *rops)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nops; i++) {
		const struct kv_op *op = &r->ops[i];

		if (op->type == KV_OP_CHECK)
			continue;
		if (op->type == KV_OP_DEL && !emb_map_get(&kv->map, op->key))
			continue;
		rops[n++] = (struct emb_rec_op){
			.type = op->type == KV_OP_PUT ? EMB_REC_PUT : EMB_REC_DEL,
			.klen = strlen(op->key),
			.vlen = op->len,
			.key = op->key,
			.val = op->value,
		};
	}
	return n;
}

static struct emb_req *emb_event_new(const struct emb *kv, struct emb_watch *w,
				     const struct emb_rec_op *rop, uint64_t rev)
{
	size_t klen = rop->klen - kv->plen;
	struct emb_req *r;
	char *key, *val;

	r = emb_req_new(EMB_EVENT, 0, klen + 1 + rop->vlen + 1);
	if (!r)
		return NULL;
	key = r->data;
	val = key + klen + 1;
	memcpy(key, rop->key + kv->plen, klen);
	key[klen] = '\0';
	if (rop->vlen)
		memcpy(val, rop->val, rop->vlen);
	val[rop->vlen] = '\0';
	r->w = w;
	w->refs++;
	r->ev.type = rop->type == EMB_REC_PUT ? KV_EV_PUT : KV_EV_DEL;
	r->ev.entry = (struct kv_entry){
		.key = key,
		.value = rop->type == EMB_REC_PUT ? val : NULL,
		.len = rop->vlen,
		.mod_rev = rev,
	};
	return r;
}

static int emb_stage_events(const struct emb *kv, const struct emb_rec_op *rop,
			    uint64_t rev, struct emb_staged *st)
{
	for (struct emb_watch *w = kv->watches; w; w = w->next) {
		struct emb_req *ev;

		if (rop->klen < w->plen || memcmp(rop->key, w->prefix, w->plen) != 0)
			continue;
		ev = emb_event_new(kv, w, rop, rev);
		if (!ev)
			return -ENOMEM;
		*st->tail = ev;
		st->tail = &ev->next;
	}
	return 0;
}

static int emb_txn_stage(struct emb *kv, uint64_t rev, const struct emb_rec_op *rops,
			 size_t n, struct emb_staged *st)
{
	if (emb_map_reserve(&kv->map, n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (rops[i].type == EMB_REC_PUT) {
			st->ents[i] = emb_ent_new(rops[i].key, rops[i].klen, rops[i].val,
						  rops[i].vlen, rev);
			if (!st->ents[i])
				return -ENOMEM;
		}
		if (emb_stage_events(kv, &rops[i], rev, st) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void emb_staged_free(struct emb_staged *st)
{
	for (size_t i = 0; i < KV_TXN_MAX; i++)
		free(st->ents[i]);
	while (st->events)
		emb_req_free(emb_pop(&st->events, &st->tail));
}

/* Append one record. A failed or short write is cut off again, because a
 * partial record ends replay and would hide every record after it; if even
 * that fails, writes are disabled. */
static int emb_log_append(struct emb *kv, uint64_t rev, const struct emb_rec_op *rops,
			  size_t n, struct emb_req *r)
{
	size_t len = emb_rec_size(rops, n);
	char *buf = len <= EMB_SCRATCH ? kv->scratch : malloc(len);
	int ret;

	if (!buf) {
		emb_req_fail(r, -ENOMEM, "store: out of memory");
		return -ENOMEM;
	}
	emb_rec_encode(buf, rev, rops, n);
	ret = emb_write_all(kv->logfd, buf, len);
	if (buf != kv->scratch)
		free(buf);
	if (ret == 0) {
		kv->log_size += len;
		kv->wseq++;
		return 0;
	}
	if (ftruncate(kv->logfd, kv->log_size) < 0)
		emb_set_broken(kv, -EIO, "store: cannot cut a failed write off %s/%s: %s",
			       kv->path, EMB_LOG, strerror(errno));
	emb_req_fail(r, ret, "store: writing %s/%s: %s", kv->path, EMB_LOG, strerror(-ret));
	return ret;
}

static void emb_txn_apply(struct emb *kv, const struct emb_rec_op *rops, size_t n,
			  struct emb_staged *st)
{
	for (size_t i = 0; i < n; i++) {
		if (rops[i].type == EMB_REC_PUT)
			emb_map_put(&kv->map, TAKE_PTR(st->ents[i]));
		else
			emb_map_del(&kv->map, rops[i].key);
	}
}

/* Queue the result, then the watch events it caused, in that order. */
static void emb_txn_done(struct emb *kv, struct emb_req *r, struct emb_staged *st)
{
	emb_done_push(kv, r);
	if (r->res.status < 0)
		return;
	while (st->events) {
		struct emb_req *ev = emb_pop(&st->events, &st->tail);

		ev->wait_seq = r->wait_seq;
		emb_done_push(kv, ev);
	}
}

static void emb_run_txn(struct emb *kv, struct emb_req *r)
{
	struct emb_staged st = { .tail = &st.events };
	struct emb_rec_op rops[KV_TXN_MAX];
	size_t n;

	r->res.rev = kv->rev;
	if (emb_txn_compare(kv, r) < 0)
		goto out;
	n = emb_txn_collect(kv, r, rops);
	if (n == 0)
		goto out;
	if (kv->broken) {
		emb_req_fail(r, -EIO, "%s; restart the agent", kv->broken_msg);
		goto out;
	}
	if (emb_txn_stage(kv, kv->rev + 1, rops, n, &st) < 0) {
		emb_req_fail(r, -ENOMEM, "store: out of memory");
		goto out;
	}
	if (emb_log_append(kv, kv->rev + 1, rops, n, r) < 0)
		goto out;
	emb_txn_apply(kv, rops, n, &st);
	r->res.rev = ++kv->rev;
	if (kv->sync_interval == 0)
		r->wait_seq = kv->wseq;
out:
	emb_txn_done(kv, r, &st);
	emb_staged_free(&st);
}

/* Run everything queued so far; requests made by callbacks meanwhile wait
 * for the next pass, so a callback that always re-queues cannot starve the
 * loop. */
static void emb_run_pending(struct emb *kv)
{
	struct emb_req *batch = kv->pend;

	kv->pend = NULL;
	kv->pend_tail = &kv->pend;
	while (batch) {
		struct emb_req *r = batch;

		batch = r->next;
		r->next = NULL;
		if (r->kind == EMB_GET)
			emb_run_get(kv, r);
		else if (r->kind == EMB_LIST)
			emb_run_list(kv, r);
		else
			emb_run_txn(kv, r);
		if (r->kind != EMB_TXN)
			emb_done_push(kv, r);
	}
}

static void emb_deliver(struct emb *kv)
{
	while (kv->done && emb_deliverable(kv, kv->done) && !kv->closing) {
		struct emb_req *r = emb_pop(&kv->done, &kv->done_tail);

		/* Only reached when broken: the record may not be durable. */
		if (r->kind == EMB_TXN && r->wait_seq > kv->sseq && r->res.status == 0)
			emb_req_fail(r, kv->broken, "%s", kv->broken_msg);
		emb_req_finish(r);
	}
}

/* ---- close ---- */

static void emb_handle_closed(uv_handle_t *h)
{
	struct emb *kv = h->data;
	void (*cb)(void *arg) = kv->close_cb;
	void *arg = kv->close_arg;

	if (--kv->handles > 0)
		return;
	emb_release(kv);
	if (cb)
		cb(arg);
}

static void emb_cancel_pending(struct emb *kv)
{
	while (kv->pend) {
		struct emb_req *r = emb_pop(&kv->pend, &kv->pend_tail);

		emb_req_fail(r, -ECANCELED, "store: closed before the operation ran");
		emb_req_finish(r);
	}
}

static void emb_watches_kill(struct emb *kv)
{
	while (kv->watches) {
		struct emb_watch *w = kv->watches;

		kv->watches = w->next;
		w->dead = true;
		emb_watch_unref(w);
	}
}

/* Requests that already ran get their real result (a committed write stays
 * committed); their events are dropped, since watches end with close. */
static void emb_flush_done(struct emb *kv)
{
	if (kv->wseq > kv->sseq && !kv->broken) {
		if (fdatasync(kv->logfd) < 0)
			emb_set_broken(kv, -errno, "store: fdatasync of %s/%s failed: %s",
				       kv->path, EMB_LOG, strerror(errno));
		else
			kv->sseq = kv->wseq;
	}
	while (kv->done) {
		struct emb_req *r = emb_pop(&kv->done, &kv->done_tail);

		if (r->kind == EMB_TXN && r->wait_seq > kv->sseq && r->res.status == 0)
			emb_req_fail(r, kv->broken, "%s", kv->broken_msg);
		emb_req_finish(r);
	}
}

static void emb_close_step(struct emb *kv)
{
	if (kv->close_started)
		return;
	emb_cancel_pending(kv);
	if (kv->syncing || kv->compacting) {
		/* Their completion comes back through emb_drain. */
		uv_idle_stop(&kv->idle);
		uv_check_stop(&kv->check);
		return;
	}
	kv->close_started = true;
	emb_watches_kill(kv);
	emb_flush_done(kv);
	uv_close((uv_handle_t *)&kv->idle, emb_handle_closed);
	uv_close((uv_handle_t *)&kv->check, emb_handle_closed);
	uv_close((uv_handle_t *)&kv->timer, emb_handle_closed);
}

static void emb_close(struct kv *base, void (*cb)(void *arg), void *arg)
{
	struct emb *kv = (struct emb *)base;

	if (kv->closing)
		return;		/* a second close is a caller bug: keep the first */
	kv->closing = true;
	kv->close_cb = cb;
	kv->close_arg = arg;
	emb_kick(kv);
}

/* ---- the loop side ---- */

void emb_drain(struct emb *kv)
{
	if (!kv->closing) {
		uint64_t wseq = kv->wseq;

		emb_run_pending(kv);
		if (kv->wseq != wseq)
			emb_sync_more(kv);
		emb_deliver(kv);
	}
	if (kv->closing) {
		emb_close_step(kv);
		return;
	}
	emb_handles_update(kv);
}

static void emb_idle_cb(uv_idle_t *h)
{
	emb_drain(h->data);
}

static void emb_check_cb(uv_check_t *h)
{
	emb_drain(h->data);
}

/* ---- watches ---- */

static int emb_watch(struct kv *base, const char *prefix, uint64_t after_rev,
		     kv_watch_cb cb, void *arg, struct kv_watch **out)
{
	struct emb *kv = (struct emb *)base;
	struct emb_watch *w;
	int len;

	len = emb_key_len(kv, prefix, true);
	if (len < 0)
		return len;
	if (!cb || !out)
		return -EINVAL;
	if (kv->closing)
		return -ESHUTDOWN;
	w = calloc(1, sizeof(*w) + len + 1);
	if (!w)
		return -ENOMEM;
	emb_key_build(kv, w->prefix, prefix);
	w->plen = len;
	w->cb = cb;
	w->arg = arg;
	w->refs = 1;
	/* No history is kept: any other starting point needs a re-list. */
	if (after_rev && after_rev != kv->rev) {
		struct emb_req *r = emb_req_new(EMB_EVENT, 0, 0);

		if (!r) {
			free(w);
			return -ENOMEM;
		}
		r->w = w;
		r->relist = true;
		w->refs++;
		emb_done_push(kv, r);
		emb_handles_update(kv);
	}
	w->next = kv->watches;
	kv->watches = w;
	*out = (struct kv_watch *)w;
	return 0;
}

static void emb_unwatch(struct kv *base, struct kv_watch *handle)
{
	struct emb *kv = (struct emb *)base;
	struct emb_watch *w = (struct emb_watch *)handle, **pp;

	if (!w)
		return;
	for (pp = &kv->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			w->dead = true;
			emb_watch_unref(w);	/* queued events keep it until delivered */
			return;
		}
	}
}

const struct kv_ops kv_embedded_ops = {
	.name = "embedded",
	.open = emb_open,
	.close = emb_close,
	.get = emb_get,
	.list = emb_list,
	.txn = emb_txn,
	.watch = emb_watch,
	.unwatch = emb_unwatch,
};
