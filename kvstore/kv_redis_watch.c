/* kv_redis_watch.c: watches for the Redis backend, read from the event
 * stream "<prefix>\0ev" whose entry IDs are "<rev>-<op index>" and whose
 * entries say how many ops their revision has (field n). So the entry
 * after (rev, i) is exactly (rev, i + 1) or (rev + 1, 0): each watch keeps
 * the ID it expects next, and anything else is a hole (the stream was
 * trimmed, or the server lost data), reported as cb(NULL), the re-list
 * signal, after which delivery goes on.
 *
 * A watch lives in three states (kv_redis_int.h): WAIT for a connection;
 * CATCHUP, reading from its position with XRANGE pages on the command
 * connection (a script that also returns the revision counter, so "the
 * stream is empty because nothing happened" and "because it was lost"
 * differ); LIVE, fed by the one blocking XREAD loop on the watch
 * connection that all live watches share. A catch-up ends only when it
 * has reached the live loop's position, so nothing falls between the two
 * readers; the live loop skips, per watch, what a catch-up already gave.
 * after_rev 0 ("from now") is a catch-up that only reads the counter: a
 * write this client makes after kv_watch_start() runs after that read on
 * the same connection, so its event is seen.
 *
 * After a reconnect every watch goes back through a catch-up from the
 * last event it delivered, so an outage loses nothing the stream still
 * holds. Events are queued with the requests' answers and delivered from
 * the loop, in stream order per watch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_redis_int.h"
#include "util.h"

/* One stream entry, pointing into the reply. */
struct rds_ent {
	struct rds_id id;
	bool put;
	const char *key, *val;
	size_t klen, vlen;
	uint64_t n;
};

static int rds_id_cmp(const struct rds_id *a, const struct rds_id *b)
{
	if (a->rev != b->rev)
		return a->rev < b->rev ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static struct rds_id rds_ent_succ(const struct rds_ent *e)
{
	if (e->id.seq + 1 < e->n)
		return (struct rds_id){ e->id.rev, e->id.seq + 1 };
	return (struct rds_id){ e->id.rev + 1, 0 };
}

static bool rds_id_parse(const redisReply *r, struct rds_id *id)
{
	char buf[48], *end;

	if (r->type != REDIS_REPLY_STRING || r->len == 0 || (size_t)r->len >= sizeof(buf))
		return false;
	memcpy(buf, r->str, r->len);
	buf[r->len] = '\0';
	id->rev = strtoull(buf, &end, 10);
	if (*end != '-')
		return false;
	id->seq = strtoull(end + 1, &end, 10);
	return *end == '\0';
}

static bool rds_field_is(const redisReply *f, const char *name)
{
	return f->type == REDIS_REPLY_STRING && (size_t)f->len == strlen(name) &&
	       memcmp(f->str, name, f->len) == 0;
}

/* [id, [field, value, ...]] as the txn script writes it. */
static bool rds_ent_parse(const struct rds *kv, const redisReply *e, struct rds_ent *out)
{
	const redisReply *fl;
	bool have_t = false;

	memset(out, 0, sizeof(*out));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || !rds_id_parse(e->element[0], &out->id))
		return false;
	fl = e->element[1];
	if (fl->type != REDIS_REPLY_ARRAY || fl->elements % 2)
		return false;
	for (size_t i = 0; i < fl->elements; i += 2) {
		const redisReply *f = fl->element[i], *v = fl->element[i + 1];

		if (v->type != REDIS_REPLY_STRING)
			return false;
		if (rds_field_is(f, "t")) {
			out->put = v->len == 1 && v->str[0] == 'p';
			have_t = true;
		} else if (rds_field_is(f, "k")) {
			out->key = v->str;
			out->klen = v->len;
		} else if (rds_field_is(f, "v")) {
			out->val = v->str;
			out->vlen = v->len;
		} else if (rds_field_is(f, "n")) {
			out->n = strtoull(v->str, NULL, 10);
		}
	}
	return have_t && out->key && out->klen >= kv->plen && out->n > 0 &&
	       out->id.seq < out->n;
}

/* ---- delivery ---- */

void rds_watch_unref(struct rds_watch *w)
{
	if (--w->refs == 0)
		free(w);
}

static struct rds_req *rds_event_new(struct rds_watch *w, size_t extra)
{
	struct rds_req *r = rds_req_new(w->kv, RDS_EVENT);

	if (!r)
		return NULL;
	if (extra) {
		r->blob = malloc(extra);
		if (!r->blob) {
			free(r);
			return NULL;
		}
	}
	r->w = w;
	w->refs++;
	return r;
}

/* Queue cb(NULL). If even that cannot be allocated, the watch is
 * stopped rather than left silently incomplete. */
static void rds_relist(struct rds_watch *w)
{
	struct rds_req *r = rds_event_new(w, 0);

	if (!r) {
		w->dead = true;
		return;
	}
	r->relist = true;
	rds_done_push(w->kv, r);
}

static void rds_event(struct rds_watch *w, const struct rds_ent *e)
{
	size_t klen = e->klen - w->kv->plen;
	struct rds_req *r = rds_event_new(w, klen + 1 + e->vlen + 1);
	char *key, *val;

	if (!r) {
		rds_relist(w);
		return;
	}
	key = r->blob;
	val = key + klen + 1;
	memcpy(key, e->key + w->kv->plen, klen);
	key[klen] = '\0';
	if (e->vlen)
		memcpy(val, e->val, e->vlen);
	val[e->vlen] = '\0';
	r->ev.type = e->put ? KV_EV_PUT : KV_EV_DEL;
	r->ev.entry = (struct kv_entry){
		.key = key,
		.value = e->put ? val : NULL,
		.len = e->put ? e->vlen : 0,
		.mod_rev = e->id.rev,
	};
	rds_done_push(w->kv, r);
}

/* Give w the entry if it is the one w expects next; an entry past it
 * means a hole, reported before the entry. Earlier ones were delivered. */
static void rds_watch_feed(struct rds_watch *w, const struct rds_ent *e)
{
	int c = rds_id_cmp(&e->id, &w->next_id);

	if (c < 0 || w->dead)
		return;
	if (c > 0)
		rds_relist(w);
	if (e->klen >= w->plen && memcmp(e->key, w->prefix, w->plen) == 0)
		rds_event(w, e);
	w->next_id = rds_ent_succ(e);
}

/* ---- the live XREAD loop (watch connection) ---- */

static void rds_xread(struct rds *kv);

static bool rds_any_live(const struct rds *kv)
{
	for (const struct rds_watch *w = kv->watches; w; w = w->next)
		if (w->state == RDS_W_LIVE)
			return true;
	return false;
}

static void rds_live_feed(struct rds *kv, const redisReply *entries)
{
	struct rds_ent e;

	for (size_t i = 0; i < entries->elements; i++) {
		if (!rds_ent_parse(kv, entries->element[i], &e))
			continue;	/* not ours: the next one shows the hole */
		for (struct rds_watch *w = kv->watches; w; w = w->next)
			if (w->state == RDS_W_LIVE)
				rds_watch_feed(w, &e);
		if (rds_id_cmp(&e.id, &kv->lnext) >= 0)
			kv->lnext = rds_ent_succ(&e);
	}
}

static void rds_xread_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rds *kv = privdata;
	const redisReply *rep = reply;

	if (!rep) {
		rds_ctx_lost(kv, ac, "connection lost");
		return;
	}
	if (kv->ac[RDS_WATCH] != ac || !kv->xread_on)
		return;
	uv_timer_stop(&kv->xtmo);
	if (rep->type == REDIS_REPLY_ERROR) {
		rds_drop(kv, rds_status_of(rep->str), "store: %s: watch: %s", kv->url, rep->str);
		return;
	}
	/* [[stream, [entry, ...]]], or nil when BLOCK ran out */
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2 &&
	    rep->element[0]->element[1]->type == REDIS_REPLY_ARRAY)
		rds_live_feed(kv, rep->element[0]->element[1]);
	if (!rds_any_live(kv)) {
		kv->xread_on = false;
		return;
	}
	rds_xread(kv);
}

void rds_xtmo_cb(uv_timer_t *t)
{
	struct rds *kv = t->data;

	rds_drop(kv, -ETIMEDOUT, "store: %s: watch connection silent for %.1f s, reconnecting",
		 kv->url, 2 * kv->timeout_ms / 1000.0);
}

/* XREAD BLOCK from just before kv->lnext. The block time is the request
 * timeout; no reply within twice that means the connection is dead. */
static void rds_xread(struct rds *kv)
{
	char block[24], from[48];
	const char *argv[] = { "XREAD", "COUNT", RDS_XREAD_COUNT, "BLOCK", block,
			       "STREAMS", kv->key_ev, from };
	size_t len[ARRAY_SIZE(argv)];
	const struct rds_id *n = &kv->lnext;

	snprintf(block, sizeof(block), "%llu", (unsigned long long)kv->timeout_ms);
	if (n->seq)
		snprintf(from, sizeof(from), "%llu-%llu", (unsigned long long)n->rev,
			 (unsigned long long)n->seq - 1);
	else
		snprintf(from, sizeof(from), "%llu-%llu", (unsigned long long)n->rev - 1,
			 (unsigned long long)UINT64_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(argv); i++)
		len[i] = i == 6 ? kv->klen_ev : strlen(argv[i]);
	if (!kv->ac[RDS_WATCH] ||
	    redisAsyncCommandArgv(kv->ac[RDS_WATCH], rds_xread_cb, kv, ARRAY_SIZE(argv), argv,
				  len) != REDIS_OK) {
		rds_drop(kv, -ENOTCONN, "store: %s: watch: cannot send XREAD", kv->url);
		return;
	}
	kv->xread_on = true;
	uv_timer_start(&kv->xtmo, rds_xtmo_cb, 2 * kv->timeout_ms, 0);
}

/* ---- catch-up reads (command connection) ---- */

static void rds_catchup(struct rds_watch *w);

/* Live when the catch-up reached the live loop's position (or there is
 * no live loop yet: then start one from here). */
static void rds_watch_try_live(struct rds_watch *w)
{
	struct rds *kv = w->kv;

	if (kv->xread_on && rds_id_cmp(&w->next_id, &kv->lnext) < 0) {
		rds_catchup(w);
		return;
	}
	w->state = RDS_W_LIVE;
	if (!kv->xread_on) {
		kv->lnext = w->next_id;
		rds_xread(kv);
	}
}

static void rds_catchup(struct rds_watch *w)
{
	struct rds *kv = w->kv;
	struct rds_req *r = rds_req_new(kv, RDS_WREAD);
	struct rds_cmd *c;
	int ret;

	if (!r) {
		rds_drop(kv, -ENOMEM, "store: out of memory");
		return;
	}
	r->w = w;
	w->refs++;
	w->state = RDS_W_CATCHUP;
	c = &r->cmd;
	c->script = RDS_LUA_WREAD;
	ret = rds_cmd_add(c, "2", 1);
	if (ret == 0)
		ret = rds_cmd_add(c, kv->key_ev, kv->klen_ev);
	if (ret == 0)
		ret = rds_cmd_add(c, kv->key_rev, kv->klen_rev);
	if (ret == 0 && w->positioned)
		ret = rds_cmd_addf(c, "%llu-%llu", (unsigned long long)w->next_id.rev,
				   (unsigned long long)w->next_id.seq);
	else if (ret == 0)
		ret = rds_cmd_add(c, "", 0);
	if (ret == 0)
		ret = rds_cmd_addf(c, "%d", RDS_PAGE);
	if (ret < 0) {
		rds_req_release(r, RDS_HOLD_USER);
		rds_drop(kv, ret, "store: out of memory");
		return;
	}
	rds_submit(kv, r);
}

/* A catch-up that failed while the connection looks up means the server
 * misbehaves: reconnecting (with backoff) resumes every watch cleanly. */
void rds_wread_failed(struct rds_req *r)
{
	struct rds *kv = r->kv;

	if (r->w->dead)
		return;
	r->w->state = RDS_W_WAIT;
	if (kv->state == RDS_UP)
		rds_drop(kv, r->res.status, "store: %s: watch catch-up: %s", kv->url, r->msg);
}

/* {store rev, [entry, ...]} */
void rds_wread_reply(struct rds_req *r, const redisReply *rep)
{
	struct rds_watch *w = r->w;
	struct rds *kv = r->kv;
	const redisReply *ents;
	struct rds_ent e;
	uint64_t cur;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    !rds_u64_reply(rep->element[0], &cur) || rep->element[1]->type != REDIS_REPLY_ARRAY) {
		rds_answer(r, -EPROTO, "unexpected reply to a stream read");
		return;
	}
	rds_answer_ok(r);
	if (w->dead)
		return;
	ents = rep->element[1];
	if (!w->positioned) {
		w->positioned = true;
		w->next_id = (struct rds_id){ cur + 1, 0 };
	} else if (w->next_id.rev > cur + 1) {
		/* the counter went back: the server lost data */
		rds_relist(w);
		w->next_id = (struct rds_id){ cur + 1, 0 };
	}
	for (size_t i = 0; i < ents->elements; i++)
		if (rds_ent_parse(kv, ents->element[i], &e))
			rds_watch_feed(w, &e);
	if (ents->elements == 0 && cur >= w->next_id.rev) {
		/* revisions happened that the stream does not hold */
		rds_relist(w);
		w->next_id = (struct rds_id){ cur + 1, 0 };
	}
	if (ents->elements >= RDS_PAGE)
		rds_catchup(w);
	else
		rds_watch_try_live(w);
}

/* ---- connection changes ---- */

void rds_watches_pause(struct rds *kv)
{
	for (struct rds_watch *w = kv->watches; w; w = w->next)
		w->state = RDS_W_WAIT;
}

void rds_watches_resume(struct rds *kv)
{
	for (struct rds_watch *w = kv->watches; w && kv->state == RDS_UP; w = w->next)
		if (w->state == RDS_W_WAIT)
			rds_catchup(w);
}

void rds_watches_kill(struct rds *kv)
{
	while (kv->watches) {
		struct rds_watch *w = kv->watches;

		kv->watches = w->next;
		w->dead = true;
		rds_watch_unref(w);
	}
}

/* ---- the vtable's entry points ---- */

int rds_watch(struct kv *base, const char *prefix, uint64_t after_rev, kv_watch_cb cb,
	      void *arg, struct kv_watch **out)
{
	struct rds *kv = (struct rds *)base;
	const char *p;
	struct rds_watch *w;
	size_t len;
	int ret;

	ret = rds_key_check(kv, prefix, true);
	if (ret < 0)
		return ret;
	if (!cb || !out)
		return -EINVAL;
	if (kv->closing)
		return -ESHUTDOWN;
	p = prefix[0] ? prefix : "/";
	len = kv->plen + strlen(p);
	w = calloc(1, sizeof(*w) + len + 1);
	if (!w)
		return -ENOMEM;
	memcpy(w->prefix, kv->prefix, kv->plen);
	strcpy(w->prefix + kv->plen, p);
	w->plen = len;
	w->kv = kv;
	w->cb = cb;
	w->arg = arg;
	w->refs = 1;
	w->state = RDS_W_WAIT;
	if (after_rev) {
		w->positioned = true;
		w->next_id = (struct rds_id){ after_rev + 1, 0 };
	}
	w->next = kv->watches;
	kv->watches = w;
	if (kv->state == RDS_UP)
		rds_catchup(w);
	*out = (struct kv_watch *)w;
	return 0;
}

void rds_unwatch(struct kv *base, struct kv_watch *handle)
{
	struct rds *kv = (struct rds *)base;
	struct rds_watch *w = (struct rds_watch *)handle, **pp;

	for (pp = &kv->watches; w && *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			w->dead = true;
			rds_watch_unref(w);	/* queued events keep it until delivered */
			return;
		}
	}
}
