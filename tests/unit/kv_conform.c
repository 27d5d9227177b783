/* kv_conform.c: the kvstore conformance tests (API and usage in
 * kv_conform.h). Not a test binary by itself: a tests/unit/test_*.c file
 * #includes it once.
 *
 * Callbacks only record what they saw (cmocka asserts inside a libuv
 * callback would longjmp through the backend); tests assert after the loop
 * ran. Time limits are generous (seconds) so a slow sanitizer build or a
 * remote server still passes; only the outage test checks a bound, against
 * cfg.timeout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kv_conform.h"
#include "kvstore.h"

#define KVC_WAIT	10.0		/* seconds any single request may take */
#define KVC_RACE_KEYS	300
#define KVC_RACE_CLIENTS 3
#define KVC_RACE_WINDOW	50		/* keys in flight at once in the race */

static struct kv_fixture *kvc_fixture;
static unsigned int kvc_seq;
/* Set around every kvstore call: a callback that sees it set ran inside
 * the call, which the contract forbids. */
static int kvc_in_call;
static int kvc_sync_calls;

#define KVC_CALL(expr) ({ int _r; kvc_in_call = 1; _r = (expr); kvc_in_call = 0; _r; })

/* ---- recording callbacks ---- */

static char *kvc_dup(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	assert_non_null(p);
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void kvc_res_clear(struct kvc_res *r)
{
	for (size_t i = 0; i < r->n && r->e; i++) {
		free(r->e[i].key);
		free(r->e[i].val);
	}
	free(r->e);
	memset(r, 0, sizeof(*r));
}

void kvc_res_cb(const struct kv_result *res, void *arg)
{
	struct kvc_res *r = arg;

	if (kvc_in_call)
		kvc_sync_calls++;
	if (r->calls++) {
		/* a second call: keep the first result, the count tells */
		return;
	}
	r->status = res->status;
	r->rev = res->rev;
	r->n = res->n;
	snprintf(r->msg, sizeof(r->msg), "%s", res->msg ? res->msg : "(null msg)");
	r->e = res->n ? calloc(res->n, sizeof(*r->e)) : NULL;
	for (size_t i = 0; i < res->n; i++) {
		const struct kv_entry *e = &res->entries[i];

		r->e[i].key = kvc_dup(e->key, strlen(e->key));
		r->e[i].val = kvc_dup(e->value, e->len);
		r->e[i].len = e->len;
		r->e[i].mod_rev = e->mod_rev;
	}
}

void kvc_watch_clear(struct kvc_watch *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->ev[i].key);
		free(w->ev[i].val);
	}
	free(w->ev);
	w->ev = NULL;
	w->n = w->cap = 0;
}

void kvc_watch_cb(const struct kv_event *ev, void *arg)
{
	struct kvc_watch *w = arg;
	struct kvc_ev *e;

	if (kvc_in_call)
		kvc_sync_calls++;
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		w->ev = realloc(w->ev, w->cap * sizeof(*w->ev));
		assert_non_null(w->ev);
	}
	e = &w->ev[w->n++];
	memset(e, 0, sizeof(*e));
	if (!ev) {
		e->type = -1;
		return;
	}
	e->type = ev->type;
	e->key = kvc_dup(ev->entry.key, strlen(ev->entry.key));
	e->val = ev->entry.value ? kvc_dup(ev->entry.value, ev->entry.len) : NULL;
	e->len = ev->entry.len;
	e->rev = ev->entry.mod_rev;
}

/* ---- loop and fixture plumbing ---- */

static void kvc_guard_cb(uv_timer_t *t)
{
	(void)t;	/* only there so uv_run(ONCE) never sleeps long */
}

bool kvc_run_until(struct kvc *c, const int *done, int want, double secs)
{
	uint64_t end;

	uv_update_time(&c->loop);
	end = uv_now(&c->loop) + (uint64_t)(secs * 1000);
	uv_timer_start(&c->guard, kvc_guard_cb, 50, 50);
	while (*done < want && uv_now(&c->loop) < end)
		uv_run(&c->loop, UV_RUN_ONCE);
	uv_timer_stop(&c->guard);
	return *done >= want;
}

/* Let the loop turn for secs (to see that nothing more arrives). */
static void kvc_settle(struct kvc *c, double secs)
{
	int never = 0;

	kvc_run_until(c, &never, 1, secs);
}

const char *kvc_key(struct kvc *c, const char *suffix)
{
	char *k = c->keys[c->nkey++ % 8];

	snprintf(k, sizeof(c->keys[0]), "%s/%s", c->pfx, suffix);
	return k;
}

struct kv *kvc_open_cfg(struct kvc *c, const struct kv_config *cfg)
{
	struct ovn_err err = { 0 };
	struct kv *kv = NULL;
	int ret;

	ret = kv_open(&kv, &c->loop, cfg, &err);
	if (ret < 0)
		fail_msg("%s: kv_open: %d (%s)", c->f->name, ret, err.msg);
	return kv;
}

static struct kv *kvc_open(struct kvc *c)
{
	return kvc_open_cfg(c, &c->cfg);
}

static void kvc_closed_cb(void *arg)
{
	(*(int *)arg)++;
}

/* Close kv and wait for its callback. */
void kvc_close(struct kvc *c, struct kv *kv)
{
	int closed = 0;

	kv_close(kv, kvc_closed_cb, &closed);
	assert_int_equal(closed, 0);
	assert_true(kvc_run_until(c, &closed, 1, KVC_WAIT));
	assert_int_equal(closed, 1);
}

int kvc_setup(void **state)
{
	struct kvc *c = calloc(1, sizeof(*c));
	int ret;

	assert_non_null(c);
	c->f = kvc_fixture;
	snprintf(c->pfx, sizeof(c->pfx), "/conform-%ld-%d-%u", (long)time(NULL),
		 (int)getpid(), ++kvc_seq);
	ret = c->f->setup(c->f, &c->cfg);
	if (ret != 0) {
		free(c);
		fail_msg("%s: fixture setup: %d", kvc_fixture->name, ret);
	}
	assert_int_equal(uv_loop_init(&c->loop), 0);
	assert_int_equal(uv_timer_init(&c->loop, &c->guard), 0);
	kvc_sync_calls = 0;
	c->kv = kvc_open(c);
	*state = c;
	return 0;
}

static void kvc_walk_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	fprintf(stderr, "leaked handle: type %s, active %d, closing %d\n",
		uv_handle_type_name(uv_handle_get_type(h)), uv_is_active(h),
		uv_is_closing(h));
}

int kvc_teardown(void **state)
{
	struct kvc *c = *state;
	int ret;

	if (c->kv)
		kvc_close(c, c->kv);
	uv_close((uv_handle_t *)&c->guard, NULL);
	for (int i = 0; i < 100 && uv_run(&c->loop, UV_RUN_NOWAIT); i++)
		usleep(1000);
	ret = uv_loop_close(&c->loop);
	if (ret != 0)
		uv_walk(&c->loop, kvc_walk_cb, NULL);
	if (c->f->teardown)
		c->f->teardown(c->f);
	assert_int_equal(ret, 0);
	assert_int_equal(kvc_sync_calls, 0);
	free(c);
	return 0;
}

/* ---- synchronous wrappers ---- */

static int kvc_finish(struct kvc *c, int ret, struct kvc_res *r, struct kvc_res *keep)
{
	if (ret < 0) {
		kvc_res_clear(r);
		r->status = ret;
	} else {
		assert_true(kvc_run_until(c, &r->calls, 1, KVC_WAIT));
		kvc_settle(c, 0);
		assert_int_equal(r->calls, 1);
	}
	ret = r->status;
	if (keep)
		*keep = *r;
	else
		kvc_res_clear(r);
	return ret;
}

int kvc_txn_wait(struct kvc *c, struct kv *kv, const struct kv_op *ops, size_t n,
		 struct kvc_res *res)
{
	struct kvc_res r = { 0 };

	return kvc_finish(c, KVC_CALL(kv_txn(kv, ops, n, kvc_res_cb, &r)), &r, res);
}

int kvc_put_wait(struct kvc *c, const char *key, const char *val, uint64_t *rev)
{
	struct kvc_res r = { 0 };
	int ret;

	ret = KVC_CALL(kv_put(c->kv, key, val, strlen(val), kvc_res_cb, &r));
	ret = kvc_finish(c, ret, &r, &r);
	if (rev)
		*rev = r.rev;
	kvc_res_clear(&r);
	return ret;
}

int kvc_get_wait(struct kvc *c, const char *key, struct kvc_res *res)
{
	struct kvc_res r = { 0 };

	return kvc_finish(c, KVC_CALL(kv_get(c->kv, key, kvc_res_cb, &r)), &r, res);
}

int kvc_list_wait(struct kvc *c, const char *prefix, struct kvc_res *res)
{
	struct kvc_res r = { 0 };

	return kvc_finish(c, KVC_CALL(kv_list(c->kv, prefix, kvc_res_cb, &r)), &r, res);
}

static int kvc_del_wait(struct kvc *c, const char *key, uint64_t *rev)
{
	struct kvc_res r = { 0 };
	int ret;

	ret = kvc_finish(c, KVC_CALL(kv_del(c->kv, key, kvc_res_cb, &r)), &r, &r);
	if (rev)
		*rev = r.rev;
	kvc_res_clear(&r);
	return ret;
}

static int kvc_cas_wait(struct kvc *c, const char *key, const char *val, uint64_t rev,
			uint64_t *new_rev)
{
	struct kvc_res r = { 0 };
	int ret;

	ret = KVC_CALL(kv_cas(c->kv, key, val, strlen(val), rev, kvc_res_cb, &r));
	ret = kvc_finish(c, ret, &r, &r);
	if (new_rev)
		*new_rev = r.rev;
	kvc_res_clear(&r);
	return ret;
}

static void kvc_watch_start(struct kvc *c, const char *prefix, uint64_t after,
			    struct kvc_watch *w)
{
	int ret = KVC_CALL(kv_watch_start(c->kv, prefix, after, kvc_watch_cb, w, &w->w));

	assert_int_equal(ret, 0);
	assert_non_null(w->w);
}

/* Expect key with exactly val and mod_rev (0: any). */
static void kvc_expect(struct kvc *c, const char *key, const char *val, size_t len,
		       uint64_t mod_rev)
{
	struct kvc_res r = { 0 };

	assert_int_equal(kvc_get_wait(c, key, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.e[0].key, key);
	assert_int_equal(r.e[0].len, len);
	assert_memory_equal(r.e[0].val, val, len);
	if (mod_rev)
		assert_int_equal(r.e[0].mod_rev, mod_rev);
	kvc_res_clear(&r);
}

static void kvc_expect_absent(struct kvc *c, const char *key)
{
	struct kvc_res r = { 0 };

	assert_int_equal(kvc_get_wait(c, key, &r), -ENOENT);
	assert_int_equal(r.n, 0);
	kvc_res_clear(&r);
}

/* ---- basic reads and writes ---- */

static void t_put_get(void **state)
{
	struct kvc *c = *state;
	static const char bin[] = { 'a', '\0', 'b', '\xff', '\n' };
	struct kvc_res r = { 0 };
	uint64_t r1, r2;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "a"), "hello", &r1), 0);
	assert_true(r1 > 0);
	kvc_expect(c, kvc_key(c, "a"), "hello", 5, r1);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "a"), "{\"x\":1}", &r2), 0);
	assert_true(r2 > r1);
	kvc_expect(c, kvc_key(c, "a"), "{\"x\":1}", 7, r2);

	/* values are bytes with a length, not C strings */
	assert_int_equal(KVC_CALL(kv_put(c->kv, kvc_key(c, "bin"), bin, sizeof(bin),
					 kvc_res_cb, &r)), 0);
	assert_int_equal(kvc_finish(c, 0, &r, NULL), 0);
	kvc_expect(c, kvc_key(c, "bin"), bin, sizeof(bin), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "empty"), "", NULL), 0);
	kvc_expect(c, kvc_key(c, "empty"), "", 0, 0);
}

static void t_get_missing(void **state)
{
	struct kvc *c = *state;
	struct kvc_res r = { 0 };

	assert_int_equal(kvc_get_wait(c, kvc_key(c, "nope"), &r), -ENOENT);
	assert_int_equal(r.n, 0);
	assert_true(r.msg[0] != '\0');
	kvc_res_clear(&r);
}

static void t_list(void **state)
{
	static const char *const put[] = { "l/b", "l/a", "l/c/x", "l/ab", "lx", "m" };
	static const char *const all[] = { "l/a", "l/ab", "l/b", "l/c/x" };
	struct kvc *c = *state;
	struct kvc_res r = { 0 };
	uint64_t revs[6];

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(kvc_put_wait(c, kvc_key(c, put[i]), put[i], &revs[i]), 0);

	assert_int_equal(kvc_list_wait(c, kvc_key(c, "l/"), &r), 0);
	assert_int_equal(r.n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(r.e[i].key, kvc_key(c, all[i]));
		assert_int_equal(r.e[i].len, strlen(all[i]));
		assert_memory_equal(r.e[i].val, all[i], r.e[i].len);
	}
	assert_int_equal(r.e[0].mod_rev, revs[1]);	/* l/a */
	assert_int_equal(r.e[3].mod_rev, revs[2]);	/* l/c/x */
	assert_true(r.rev >= revs[5]);
	kvc_res_clear(&r);

	/* a plain string prefix, not a directory */
	assert_int_equal(kvc_list_wait(c, kvc_key(c, "l/a"), &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.e[0].key, kvc_key(c, "l/a"));
	assert_string_equal(r.e[1].key, kvc_key(c, "l/ab"));
	kvc_res_clear(&r);
	assert_int_equal(kvc_list_wait(c, kvc_key(c, "l"), &r), 0);
	assert_int_equal(r.n, 5);
	kvc_res_clear(&r);

	assert_int_equal(kvc_list_wait(c, kvc_key(c, "none/"), &r), 0);
	assert_int_equal(r.n, 0);
	kvc_res_clear(&r);
}

/* ---- transactions ---- */

/* One compare vector: op kind and compare on key "x" (present, at rev R)
 * or "y" (absent), rev = R + rev_delta; then whether the txn commits. */
struct kvc_cmp_vec {
	enum kv_op_type type;
	enum kv_cmp cmp;
	const char *key;
	int rev_delta;
	bool ok;
};

static const struct kvc_cmp_vec kvc_cmp_vecs[] = {
	{ KV_OP_CHECK, KV_CMP_ABSENT, "y", 0, true },
	{ KV_OP_CHECK, KV_CMP_ABSENT, "x", 0, false },
	{ KV_OP_CHECK, KV_CMP_PRESENT, "x", 0, true },
	{ KV_OP_CHECK, KV_CMP_PRESENT, "y", 0, false },
	{ KV_OP_CHECK, KV_CMP_REV, "x", 0, true },
	{ KV_OP_CHECK, KV_CMP_REV, "x", 1000, false },
	{ KV_OP_CHECK, KV_CMP_REV, "x", -1, false },
	{ KV_OP_CHECK, KV_CMP_REV, "y", 0, false },
	{ KV_OP_PUT, KV_CMP_NONE, "x", 0, true },
	{ KV_OP_PUT, KV_CMP_NONE, "y", 0, true },
	{ KV_OP_PUT, KV_CMP_ABSENT, "y", 0, true },
	{ KV_OP_PUT, KV_CMP_ABSENT, "x", 0, false },
	{ KV_OP_PUT, KV_CMP_PRESENT, "x", 0, true },
	{ KV_OP_PUT, KV_CMP_PRESENT, "y", 0, false },
	{ KV_OP_PUT, KV_CMP_REV, "x", 0, true },
	{ KV_OP_PUT, KV_CMP_REV, "x", 5, false },
	{ KV_OP_DEL, KV_CMP_NONE, "y", 0, true },
	{ KV_OP_DEL, KV_CMP_PRESENT, "x", 0, true },
	{ KV_OP_DEL, KV_CMP_PRESENT, "y", 0, false },
	{ KV_OP_DEL, KV_CMP_REV, "x", 0, true },
	{ KV_OP_DEL, KV_CMP_REV, "x", 2, false },
	{ KV_OP_DEL, KV_CMP_ABSENT, "x", 0, false },
};

static void kvc_cmp_one(struct kvc *c, size_t i, const struct kvc_cmp_vec *v)
{
	char sx[32], sy[32], so[32], target[32];
	struct kvc_res r = { 0 };
	uint64_t rx;
	int ret;

	snprintf(sx, sizeof(sx), "v%zu/x", i);
	snprintf(sy, sizeof(sy), "v%zu/y", i);
	snprintf(so, sizeof(so), "v%zu/out", i);
	snprintf(target, sizeof(target), "v%zu/%s", i, v->key);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, sx), "x0", &rx), 0);

	struct kv_op ops[2] = {
		{ .type = v->type, .cmp = v->cmp, .key = kvc_key(c, target),
		  .value = "new", .len = 3, .rev = rx + v->rev_delta },
		{ .type = KV_OP_PUT, .cmp = KV_CMP_NONE, .key = kvc_key(c, so),
		  .value = "out", .len = 3 },
	};
	ret = kvc_txn_wait(c, c->kv, ops, 2, &r);
	if (ret != (v->ok ? 0 : -ECANCELED))
		fail_msg("vector %zu: status %d (%s), want %s", i, ret, r.msg,
			 v->ok ? "0" : "-ECANCELED");
	if (v->ok) {
		assert_true(r.rev > rx);
		kvc_expect(c, kvc_key(c, so), "out", 3, r.rev);
	} else {
		assert_true(r.msg[0] != '\0');
		kvc_expect_absent(c, kvc_key(c, so));
		kvc_expect(c, kvc_key(c, sx), "x0", 2, rx);
		kvc_expect_absent(c, kvc_key(c, sy));
	}
	kvc_res_clear(&r);
}

static void t_txn_compares(void **state)
{
	for (size_t i = 0; i < sizeof(kvc_cmp_vecs) / sizeof(kvc_cmp_vecs[0]); i++)
		kvc_cmp_one(*state, i, &kvc_cmp_vecs[i]);
}

static void t_txn_atomic(void **state)
{
	struct kvc *c = *state;
	struct kvc_res r = { 0 };
	uint64_t rk, rnext;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "keep"), "k", &rk), 0);

	/* the failing compare comes last: nothing before it may stick */
	struct kv_op bad[] = {
		{ .type = KV_OP_PUT, .key = kvc_key(c, "p1"), .value = "1", .len = 1 },
		{ .type = KV_OP_PUT, .key = kvc_key(c, "p2"), .value = "2", .len = 1 },
		{ .type = KV_OP_DEL, .key = kvc_key(c, "keep") },
		{ .type = KV_OP_CHECK, .cmp = KV_CMP_PRESENT, .key = kvc_key(c, "ghost") },
	};
	assert_int_equal(kvc_txn_wait(c, c->kv, bad, 4, &r), -ECANCELED);
	kvc_res_clear(&r);
	kvc_expect_absent(c, kvc_key(c, "p1"));
	kvc_expect_absent(c, kvc_key(c, "p2"));
	kvc_expect(c, kvc_key(c, "keep"), "k", 1, rk);

	/* the same without the failing check: all ops share one revision */
	assert_int_equal(kvc_txn_wait(c, c->kv, bad, 3, &r), 0);
	assert_true(r.rev > rk);
	kvc_expect(c, kvc_key(c, "p1"), "1", 1, r.rev);
	kvc_expect(c, kvc_key(c, "p2"), "2", 1, r.rev);
	kvc_expect_absent(c, kvc_key(c, "keep"));
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "after"), "a", &rnext), 0);
	assert_true(rnext > r.rev);
	kvc_res_clear(&r);
}

static void t_txn_bad_args(void **state)
{
	struct kvc *c = *state;
	struct kv_op ops[KV_TXN_MAX + 1];
	struct kvc_res r = { 0 };

	for (size_t i = 0; i < KV_TXN_MAX + 1; i++)
		ops[i] = (struct kv_op){ .type = KV_OP_PUT, .key = kvc_key(c, "z"),
					 .value = "v", .len = 1 };
	assert_true(KVC_CALL(kv_txn(c->kv, ops, 0, kvc_res_cb, &r)) < 0);
	assert_true(KVC_CALL(kv_txn(c->kv, ops, KV_TXN_MAX + 1, kvc_res_cb, &r)) < 0);
	kvc_settle(c, 0.1);
	assert_int_equal(r.calls, 0);	/* refused calls never call back */
}

static void t_cas(void **state)
{
	struct kvc *c = *state;
	const char *k = kvc_key(c, "cas");
	uint64_t r1, r2, rx;

	assert_int_equal(kvc_cas_wait(c, k, "one", 0, &r1), 0);
	assert_int_equal(kvc_cas_wait(c, k, "again", 0, &rx), -ECANCELED);
	assert_int_equal(kvc_cas_wait(c, k, "two", r1, &r2), 0);
	assert_true(r2 > r1);
	assert_int_equal(kvc_cas_wait(c, k, "stale", r1, &rx), -ECANCELED);
	kvc_expect(c, k, "two", 3, r2);
}

static void t_delete(void **state)
{
	struct kvc *c = *state;
	struct kvc_res r = { 0 };
	uint64_t rp, rd;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "d/a"), "a", &rp), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "d/b"), "b", NULL), 0);
	assert_int_equal(kvc_del_wait(c, kvc_key(c, "d/a"), &rd), 0);
	assert_true(rd > rp);
	kvc_expect_absent(c, kvc_key(c, "d/a"));
	assert_int_equal(kvc_list_wait(c, kvc_key(c, "d/"), &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.e[0].key, kvc_key(c, "d/b"));
	kvc_res_clear(&r);
	/* deleting what is not there is fine */
	assert_int_equal(kvc_del_wait(c, kvc_key(c, "d/none"), NULL), 0);
}

static void t_revisions(void **state)
{
	enum { N = 50 };
	struct kvc *c = *state;
	struct kvc_res r[N] = { 0 };
	uint64_t prev = 0, rev;
	char name[32];

	for (int i = 0; i < 20; i++) {
		assert_int_equal(kvc_put_wait(c, kvc_key(c, "seq"), "v", &rev), 0);
		assert_true(rev > prev);
		prev = rev;
	}
	/* many at once: distinct revisions, each the key's mod_rev */
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many/%d", i);
		assert_int_equal(KVC_CALL(kv_put(c->kv, kvc_key(c, name), "m", 1, kvc_res_cb,
						 &r[i])), 0);
	}
	for (int i = 0; i < N; i++)
		assert_true(kvc_run_until(c, &r[i].calls, 1, KVC_WAIT));
	kvc_settle(c, 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_true(r[i].rev > prev);
		for (int j = 0; j < i; j++)
			assert_true(r[i].rev != r[j].rev);
		snprintf(name, sizeof(name), "many/%d", i);
		kvc_expect(c, kvc_key(c, name), "m", 1, r[i].rev);
		kvc_res_clear(&r[i]);
	}
}

/* Every entry point answers later, never from inside the call. The
 * recording callbacks count synchronous calls; teardown asserts zero. */
static void t_async(void **state)
{
	struct kvc *c = *state;
	struct kvc_res r[5] = { 0 };
	struct kvc_watch w = { 0 };
	struct kv_op op = { .type = KV_OP_PUT, .cmp = KV_CMP_ABSENT, .key = kvc_key(c, "as"),
			    .value = "1", .len = 1 };

	assert_int_equal(KVC_CALL(kv_get(c->kv, kvc_key(c, "none"), kvc_res_cb, &r[0])), 0);
	assert_int_equal(KVC_CALL(kv_list(c->kv, kvc_key(c, ""), kvc_res_cb, &r[1])), 0);
	assert_int_equal(KVC_CALL(kv_txn(c->kv, &op, 1, kvc_res_cb, &r[2])), 0);
	assert_int_equal(KVC_CALL(kv_txn(c->kv, &op, 1, kvc_res_cb, &r[3])), 0);
	kvc_watch_start(c, kvc_key(c, ""), 1, &w);
	assert_int_equal(r[0].calls + r[1].calls + r[2].calls + r[3].calls, 0);
	for (int i = 0; i < 4; i++)
		assert_true(kvc_run_until(c, &r[i].calls, 1, KVC_WAIT));
	assert_int_equal(r[0].status, -ENOENT);
	assert_int_equal(r[1].status, 0);
	/* a backend may run one client's requests in parallel: one wins */
	assert_int_equal(r[2].status + r[3].status, -ECANCELED);
	assert_int_equal(kvc_sync_calls, 0);
	kv_watch_stop(c->kv, w.w);
	for (int i = 0; i < 5; i++)
		kvc_res_clear(&r[i]);
	kvc_watch_clear(&w);
}

/* ---- watches ---- */

/* Wait until w has n events (NULLs included). */
static void kvc_watch_wait(struct kvc *c, struct kvc_watch *w, size_t n)
{
	int have;
	uint64_t end;

	uv_update_time(&c->loop);
	end = uv_now(&c->loop) + (uint64_t)(KVC_WAIT * 1000);
	do {
		have = (int)w->n;
		kvc_run_until(c, &have, have + 1, 0.05);
		if (w->n >= n)
			return;
	} while (uv_now(&c->loop) < end);
	fail_msg("watch saw %zu events, want %zu", w->n, n);
}

static void kvc_ev_check(struct kvc *c, const struct kvc_ev *e, int type, const char *key,
			 const char *val, uint64_t rev)
{
	assert_int_equal(e->type, type);
	assert_string_equal(e->key, kvc_key(c, key));
	if (type == KV_EV_PUT) {
		assert_non_null(e->val);
		assert_int_equal(e->len, strlen(val));
		assert_memory_equal(e->val, val, e->len);
	} else {
		assert_int_equal(e->len, 0);
	}
	if (rev)
		assert_int_equal(e->rev, rev);
}

static void t_watch(void **state)
{
	struct kvc *c = *state;
	struct kvc_watch w = { 0 };
	uint64_t base, ra, rb, rd, rc;
	struct kvc_res r = { 0 };

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "base"), "0", &base), 0);
	kvc_watch_start(c, kvc_key(c, "w/"), base, &w);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "w/a"), "A", &ra), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "w/b"), "B", &rb), 0);
	assert_int_equal(kvc_del_wait(c, kvc_key(c, "w/a"), &rd), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "wx"), "outside", NULL), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "other/w/a"), "outside", NULL), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "w/c"), "C", &rc), 0);

	struct kv_op two[] = {
		{ .type = KV_OP_PUT, .key = kvc_key(c, "w/d"), .value = "D", .len = 1 },
		{ .type = KV_OP_PUT, .key = kvc_key(c, "w/e"), .value = "E", .len = 1 },
	};
	assert_int_equal(kvc_txn_wait(c, c->kv, two, 2, &r), 0);

	kvc_watch_wait(c, &w, 6);
	kvc_settle(c, 0.2);
	assert_int_equal(w.n, 6);
	kvc_ev_check(c, &w.ev[0], KV_EV_PUT, "w/a", "A", ra);
	kvc_ev_check(c, &w.ev[1], KV_EV_PUT, "w/b", "B", rb);
	kvc_ev_check(c, &w.ev[2], KV_EV_DEL, "w/a", NULL, rd);
	kvc_ev_check(c, &w.ev[3], KV_EV_PUT, "w/c", "C", rc);
	/* one transaction: one revision, ops in order */
	kvc_ev_check(c, &w.ev[4], KV_EV_PUT, "w/d", "D", r.rev);
	kvc_ev_check(c, &w.ev[5], KV_EV_PUT, "w/e", "E", r.rev);

	/* stopped: nothing more */
	kv_watch_stop(c->kv, w.w);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "w/f"), "F", NULL), 0);
	kvc_settle(c, 0.3);
	assert_int_equal(w.n, 6);
	kvc_res_clear(&r);
	kvc_watch_clear(&w);
}

/* From an older revision a backend either replays what happened after it or
 * says cb(NULL) (re-list); either way it then delivers what comes next. */
static void t_watch_replay(void **state)
{
	struct kvc *c = *state;
	struct kvc_watch w = { 0 };
	uint64_t r1, r2, r3, r4;
	size_t i;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "h/1"), "1", &r1), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "h/2"), "2", &r2), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "h/3"), "3", &r3), 0);
	kvc_watch_start(c, kvc_key(c, "h/"), r1, &w);
	kvc_watch_wait(c, &w, 1);
	if (w.ev[0].type == -1) {
		i = 1;
	} else {
		kvc_watch_wait(c, &w, 2);
		kvc_ev_check(c, &w.ev[0], KV_EV_PUT, "h/2", "2", r2);
		kvc_ev_check(c, &w.ev[1], KV_EV_PUT, "h/3", "3", r3);
		i = 2;
	}
	print_message("%s: watch from an old revision %s\n", c->f->name,
		      i == 1 ? "asks for a re-list" : "replays history");
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "h/4"), "4", &r4), 0);
	kvc_watch_wait(c, &w, i + 1);
	kvc_settle(c, 0.2);
	assert_int_equal(w.n, i + 1);
	kvc_ev_check(c, &w.ev[i], KV_EV_PUT, "h/4", "4", r4);
	kv_watch_stop(c->kv, w.w);
	kvc_watch_clear(&w);
}

static void t_watch_two(void **state)
{
	struct kvc *c = *state;
	struct kvc_watch a = { 0 }, b = { 0 };
	uint64_t base, r1, r2, r3;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "base"), "0", &base), 0);
	kvc_watch_start(c, kvc_key(c, "t/"), base, &a);
	kvc_watch_start(c, kvc_key(c, "t/b/"), base, &b);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "t/a/1"), "1", &r1), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "t/b/1"), "2", &r2), 0);
	kvc_watch_wait(c, &a, 2);
	kvc_watch_wait(c, &b, 1);
	kvc_settle(c, 0.2);
	assert_int_equal(a.n, 2);
	assert_int_equal(b.n, 1);
	kvc_ev_check(c, &a.ev[0], KV_EV_PUT, "t/a/1", "1", r1);
	kvc_ev_check(c, &a.ev[1], KV_EV_PUT, "t/b/1", "2", r2);
	kvc_ev_check(c, &b.ev[0], KV_EV_PUT, "t/b/1", "2", r2);

	kv_watch_stop(c->kv, a.w);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "t/b/2"), "3", &r3), 0);
	kvc_watch_wait(c, &b, 2);
	kvc_settle(c, 0.2);
	assert_int_equal(a.n, 2);
	assert_int_equal(b.n, 2);
	kvc_ev_check(c, &b.ev[1], KV_EV_PUT, "t/b/2", "3", r3);
	kv_watch_stop(c->kv, b.w);
	kvc_watch_clear(&a);
	kvc_watch_clear(&b);
}

/* ---- three agents racing for the same keys ---- */

struct kvc_race;

struct kvc_race_req {
	struct kvc_race *race;
	int calls;
	int status;
};

struct kvc_race {
	struct kvc_race_req req[KVC_RACE_CLIENTS][KVC_RACE_KEYS];
	int done;
};

static void kvc_race_cb(const struct kv_result *res, void *arg)
{
	struct kvc_race_req *r = arg;

	if (kvc_in_call)
		kvc_sync_calls++;
	r->calls++;
	r->status = res->status;
	r->race->done++;
}

static void kvc_race_issue(struct kvc *c, struct kv *kvs[], struct kvc_race *race, int key)
{
	char name[32], val[16];

	snprintf(name, sizeof(name), "race/%04d", key);
	for (int i = 0; i < KVC_RACE_CLIENTS; i++) {
		struct kvc_race_req *r = &race->req[i][key];

		snprintf(val, sizeof(val), "agent%d", i);
		struct kv_op op = { .type = KV_OP_PUT, .cmp = KV_CMP_ABSENT,
				    .key = kvc_key(c, name), .value = val, .len = strlen(val) };

		r->race = race;
		assert_int_equal(KVC_CALL(kv_txn(kvs[i], &op, 1, kvc_race_cb, r)), 0);
	}
}

static void kvc_race_check(struct kvc *c, struct kvc_race *race)
{
	struct kvc_res l = { 0 };
	int winner[KVC_RACE_KEYS];

	for (int k = 0; k < KVC_RACE_KEYS; k++) {
		winner[k] = -1;
		for (int i = 0; i < KVC_RACE_CLIENTS; i++) {
			const struct kvc_race_req *r = &race->req[i][k];

			assert_int_equal(r->calls, 1);
			if (r->status == 0) {
				if (winner[k] >= 0)
					fail_msg("key %d created twice (agents %d and %d)", k,
						 winner[k], i);
				winner[k] = i;
			} else if (r->status != -ECANCELED) {
				fail_msg("key %d agent %d: status %d", k, i, r->status);
			}
		}
		if (winner[k] < 0)
			fail_msg("key %d never created", k);
	}
	assert_int_equal(kvc_list_wait(c, kvc_key(c, "race/"), &l), 0);
	assert_int_equal(l.n, KVC_RACE_KEYS);
	for (int k = 0; k < KVC_RACE_KEYS; k++) {
		char val[16];

		snprintf(val, sizeof(val), "agent%d", winner[k]);
		assert_int_equal(l.e[k].len, strlen(val));
		assert_memory_equal(l.e[k].val, val, l.e[k].len);
	}
	kvc_res_clear(&l);
}

static void t_race(void **state)
{
	struct kvc *c = *state;
	struct kvc_race *race = calloc(1, sizeof(*race));
	struct kv *kvs[KVC_RACE_CLIENTS];
	bool one = c->f->flags & KV_FIX_ONE_CLIENT;
	int next = 0;

	assert_non_null(race);
	for (int i = 0; i < KVC_RACE_CLIENTS; i++)
		kvs[i] = (i == 0 || one) ? c->kv : kvc_open(c);
	/* a window of keys in flight, all three agents on each key at once */
	while (next < KVC_RACE_KEYS || race->done < KVC_RACE_CLIENTS * KVC_RACE_KEYS) {
		while (next < KVC_RACE_KEYS &&
		       next * KVC_RACE_CLIENTS - race->done < KVC_RACE_WINDOW * KVC_RACE_CLIENTS)
			kvc_race_issue(c, kvs, race, next++);
		int want = race->done + 1;

		if (!kvc_run_until(c, &race->done, want, KVC_WAIT))
			fail_msg("race stalled at %d of %d answers", race->done,
				 KVC_RACE_CLIENTS * KVC_RACE_KEYS);
	}
	kvc_race_check(c, race);
	for (int i = 1; i < KVC_RACE_CLIENTS; i++)
		if (!one)
			kvc_close(c, kvs[i]);
	free(race);
}

/* ---- close ---- */

static void t_close_pending(void **state)
{
	struct kvc *c = *state;
	struct kvc_res r[22] = { 0 };
	struct kvc_watch w = { 0 };
	int closed = 0;
	char name[16];

	/* the store must be usable first, so the requests are really queued
	 * on a live connection and not refused for not being connected */
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "c/0"), "0", NULL), 0);
	kvc_watch_start(c, kvc_key(c, "c/"), 0, &w);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "c/%d", i + 1);
		assert_int_equal(KVC_CALL(kv_put(c->kv, kvc_key(c, name), "x", 1, kvc_res_cb,
						 &r[i])), 0);
	}
	assert_int_equal(KVC_CALL(kv_get(c->kv, kvc_key(c, "c/0"), kvc_res_cb, &r[20])), 0);
	assert_int_equal(KVC_CALL(kv_list(c->kv, kvc_key(c, "c/"), kvc_res_cb, &r[21])), 0);
	kv_close(c->kv, kvc_closed_cb, &closed);
	c->kv = NULL;
	assert_int_equal(closed, 0);
	for (int i = 0; i < 22; i++)
		assert_int_equal(r[i].calls, 0);
	assert_true(kvc_run_until(c, &closed, 1, KVC_WAIT));
	kvc_settle(c, 0.1);
	for (int i = 0; i < 22; i++) {
		if (r[i].calls != 1 || r[i].status != -ECANCELED)
			fail_msg("request %d: %d calls, status %d (%s)", i, r[i].calls,
				 r[i].status, r[i].msg);
		kvc_res_clear(&r[i]);
	}
	assert_int_equal(closed, 1);
	/* watches end with close: no event of the cancelled writes */
	for (size_t i = 0; i < w.n; i++)
		assert_int_not_equal(w.ev[i].type, KV_EV_PUT);
	kvc_watch_clear(&w);
}

/* ---- outages ---- */

/* Issue a get and time it: it must fail (negative status) within the
 * configured timeout plus slack. */
static void kvc_down_get(struct kvc *c, const char *key)
{
	double limit = (c->cfg.timeout > 0 ? c->cfg.timeout : 5) + 2.0;
	struct kvc_res r = { 0 };
	uint64_t t0;
	int ret;

	uv_update_time(&c->loop);
	t0 = uv_now(&c->loop);
	ret = KVC_CALL(kv_get(c->kv, key, kvc_res_cb, &r));
	if (ret == 0) {
		if (!kvc_run_until(c, &r.calls, 1, limit))
			fail_msg("a get while the server is down hangs for %.1f s", limit);
		ret = r.status;
	}
	uv_update_time(&c->loop);
	print_message("%s: get while down: %d (%s) after %llu ms\n", c->f->name, ret, r.msg,
		      (unsigned long long)(uv_now(&c->loop) - t0));
	assert_true(ret < 0);
	assert_int_not_equal(ret, -ENOENT);
	kvc_res_clear(&r);
}

/* Retry a put until it succeeds, as an agent would. */
static uint64_t kvc_put_retry(struct kvc *c, const char *key, const char *val, double secs)
{
	uint64_t end, rev = 0;
	int ret;

	uv_update_time(&c->loop);
	end = uv_now(&c->loop) + (uint64_t)(secs * 1000);
	while ((ret = kvc_put_wait(c, key, val, &rev)) != 0) {
		if (uv_now(&c->loop) > end)
			fail_msg("no successful put %.0f s after the restart (last: %d)", secs,
				 ret);
		kvc_settle(c, 0.2);
	}
	return rev;
}

/* Wait until w shows a PUT of key at index from or later; re-list signals
 * and repeats of earlier events may come first (after a reconnect). */
static size_t kvc_watch_find(struct kvc *c, struct kvc_watch *w, size_t from,
			     const char *key)
{
	for (size_t i = from;; i++) {
		kvc_watch_wait(c, w, i + 1);
		if (w->ev[i].type == KV_EV_PUT && strcmp(w->ev[i].key, kvc_key(c, key)) == 0)
			return i;
	}
}

static void t_outage(void **state)
{
	struct kvc *c = *state;
	struct kvc_watch w = { 0 };
	uint64_t base, r1, r2, r3;
	size_t i;

	if (!c->f->server_stop || !c->f->server_start)
		skip();
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "base"), "0", &base), 0);
	kvc_watch_start(c, kvc_key(c, "o/"), base, &w);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "o/1"), "1", &r1), 0);
	kvc_watch_wait(c, &w, 1);
	kvc_ev_check(c, &w.ev[0], KV_EV_PUT, "o/1", "1", r1);

	assert_int_equal(c->f->server_stop(c->f), 0);
	kvc_down_get(c, kvc_key(c, "o/1"));
	kvc_down_get(c, kvc_key(c, "o/1"));	/* also once the loss is known */
	assert_int_equal(c->f->server_start(c->f), 0);

	r2 = kvc_put_retry(c, kvc_key(c, "o/2"), "2", 20);
	i = kvc_watch_find(c, &w, 1, "o/2");
	kvc_ev_check(c, &w.ev[i], KV_EV_PUT, "o/2", "2", r2);
	r3 = kvc_put_retry(c, kvc_key(c, "o/3"), "3", 5);
	i = kvc_watch_find(c, &w, i + 1, "o/3");
	kvc_ev_check(c, &w.ev[i], KV_EV_PUT, "o/3", "3", r3);
	kv_watch_stop(c->kv, w.w);
	kvc_watch_clear(&w);
}

/* ---- runner ---- */

static void kvc_skipped(void **state)
{
	(void)state;
	skip();
}

/* Ask the fixture once whether it can run at all (cmocka reports a skip
 * from a setup function as an error, so a skip is decided here). */
static bool kvc_fixture_usable(struct kv_fixture *f)
{
	struct kv_config cfg = { 0 };
	int ret = f->setup(f, &cfg);

	if (ret == 0 && f->teardown)
		f->teardown(f);
	return ret <= 0;
}

int kvc_run_group(const char *name, struct CMUnitTest *tests, size_t n, struct kv_fixture *f)
{
	kvc_fixture = f;
	if (!kvc_fixture_usable(f)) {
		for (size_t i = 0; i < n; i++)
			tests[i] = (struct CMUnitTest){ .name = tests[i].name,
							.test_func = kvc_skipped };
	}
	return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

int kv_conform_run(struct kv_fixture *f)
{
	struct CMUnitTest tests[] = {
		KVC_TEST(t_put_get),
		KVC_TEST(t_get_missing),
		KVC_TEST(t_list),
		KVC_TEST(t_txn_compares),
		KVC_TEST(t_txn_atomic),
		KVC_TEST(t_txn_bad_args),
		KVC_TEST(t_cas),
		KVC_TEST(t_delete),
		KVC_TEST(t_revisions),
		KVC_TEST(t_async),
		KVC_TEST(t_watch),
		KVC_TEST(t_watch_replay),
		KVC_TEST(t_watch_two),
		KVC_TEST(t_race),
		KVC_TEST(t_close_pending),
		KVC_TEST(t_outage),
	};
	char name[64];

	snprintf(name, sizeof(name), "kv_conform(%s)", f->name);
	return kvc_run_group(name, tests, sizeof(tests) / sizeof(tests[0]), f);
}

/* ---- helpers for the backends' own server fixtures ---- */

bool kvc_on_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL, *dir;

	snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char file[4200];

		snprintf(file, sizeof(file), "%s/%s", dir, name);
		if (access(file, X_OK) == 0)
			return true;
	}
	return false;
}

uint16_t kvc_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
