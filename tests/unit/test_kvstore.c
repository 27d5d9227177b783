/* test_kvstore.c: the kvstore registry and the embedded backend, against a
 * real directory made with mkdtemp (removed at teardown). Needs no root.
 *
 * Every test runs the loop to completion and ends with uv_loop_close() == 0,
 * so a leaked handle or request fails it. The crash test forks a writer,
 * SIGKILLs it at a random moment and checks every write it acknowledged.
 * The latency figure at the end is printed, not asserted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kv_emb_int.h"
#include "kvstore.h"
#include "util.h"

#define PREFIX "/ovn"

struct fx {
	uv_loop_t loop;
	char dir[64];
	struct kv *kv;
};

/* What a kv_cb saw. */
struct cap {
	int calls;
	int status;
	uint64_t rev;
	size_t n;
	char msg[256];
	char val[2048];
	size_t len;
	uint64_t mod_rev;
	char keys[16][64];
	int order;		/* value of the global sequence at the call */
};

static int seq;			/* orders callbacks and events in one test */

static void cap_cb(const struct kv_result *res, void *arg)
{
	struct cap *c = arg;

	c->calls++;
	c->order = ++seq;
	c->status = res->status;
	c->rev = res->rev;
	c->n = res->n;
	snprintf(c->msg, sizeof(c->msg), "%s", res->msg);
	assert_non_null(res->msg);
	if (res->status == 0)
		assert_string_equal(res->msg, "");
	for (size_t i = 0; i < res->n && i < ARRAY_SIZE(c->keys); i++)
		snprintf(c->keys[i], sizeof(c->keys[i]), "%s", res->entries[i].key);
	if (res->n >= 1) {
		assert_true(res->entries[0].len < sizeof(c->val));
		memcpy(c->val, res->entries[0].value, res->entries[0].len);
		c->val[res->entries[0].len] = '\0';
		c->len = res->entries[0].len;
		c->mod_rev = res->entries[0].mod_rev;
	}
}

static void run(struct fx *f)
{
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void fx_open_err(struct fx *f, double interval, int expect, struct ovn_err *err)
{
	struct kv_config cfg = {
		.backend = "embedded",
		.path = f->dir,
		.prefix = PREFIX,
		.sync_interval = interval,
	};
	struct kv *kv = NULL;

	ovn_err_clear(err);
	assert_int_equal(kv_open(&kv, &f->loop, &cfg, err), expect);
	if (expect == 0)
		f->kv = kv;
}

static void fx_open(struct fx *f, double interval)
{
	struct ovn_err err;

	fx_open_err(f, interval, 0, &err);
}

static void set_flag(void *arg)
{
	(*(int *)arg)++;
}

static void fx_close(struct fx *f)
{
	int closed = 0;

	kv_close(f->kv, set_flag, &closed);
	assert_int_equal(closed, 0);
	run(f);
	assert_int_equal(closed, 1);
	f->kv = NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/ovn-kvtest.XXXXXX");
	if (!mkdtemp(f->dir) || uv_loop_init(&f->loop) < 0)
		return -1;
	seq = 0;
	*state = f;
	return 0;
}

/* The store is opened by each test (some need special settings). */
static int teardown(void **state)
{
	struct fx *f = *state;
	int ret;

	if (f->kv)
		fx_close(f);
	run(f);
	ret = uv_loop_close(&f->loop);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	assert_int_equal(ret, 0);
	return 0;
}

static uint64_t put_ok(struct fx *f, const char *key, const char *val)
{
	struct cap c = { 0 };

	assert_int_equal(kv_put(f->kv, key, val, strlen(val), cap_cb, &c), 0);
	run(f);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, 0);
	return c.rev;
}

static void get(struct fx *f, const char *key, struct cap *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(kv_get(f->kv, key, cap_cb, c), 0);
	run(f);
	assert_int_equal(c->calls, 1);
}

static void list(struct fx *f, const char *prefix, struct cap *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(kv_list(f->kv, prefix, cap_cb, c), 0);
	run(f);
	assert_int_equal(c->calls, 1);
	assert_int_equal(c->status, 0);
}

static void txn(struct fx *f, const struct kv_op *ops, size_t n, struct cap *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(kv_txn(f->kv, ops, n, cap_cb, c), 0);
	run(f);
	assert_int_equal(c->calls, 1);
}

static off_t file_size(struct fx *f, const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* ---- tests ---- */

static void test_crc32(void **state)
{
	static const struct {
		const char *in;
		uint32_t crc;
	} vec[] = {
		{ "", 0 },
		{ "a", 0xe8b7be43 },
		{ "123456789", 0xcbf43926 },
		{ "The quick brown fox jumps over the lazy dog", 0x414fa339 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(vec); i++)
		assert_int_equal(emb_crc32(vec[i].in, strlen(vec[i].in)), vec[i].crc);
}

static int dummy_open(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
		      struct ovn_err *err)
{
	return -ENOTSUP;
}

static void test_registry(void **state)
{
	static const struct kv_ops dummy = { .name = "dummy", .open = dummy_open };
	static const struct kv_ops dup = { .name = "embedded", .open = dummy_open };
	struct kv_config cfg = { .backend = "zookeeper", .path = "/nonexistent" };
	struct fx *f = *state;
	struct ovn_err err;
	struct kv *kv;

	assert_non_null(kv_ops_by_name("embedded"));
	assert_null(kv_ops_by_name("nope"));
	assert_int_equal(kv_register(&dup), -EEXIST);
	assert_int_equal(kv_register(&dummy), 0);
	assert_int_equal(kv_register(&dummy), -EEXIST);
	assert_ptr_equal(kv_ops_by_name("dummy"), &dummy);

	ovn_err_clear(&err);
	assert_int_equal(kv_open(&kv, &f->loop, &cfg, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "store.backend: unknown backend 'zookeeper' (known: embedded, redis, etcd, consul, dummy)");
}

static void test_bad_config(void **state)
{
	static const struct {
		const char *path, *prefix;
		double interval;
	} vec[] = {
		{ NULL, PREFIX, 0 },
		{ "", PREFIX, 0 },
		{ "/tmp/x", "ovn", 0 },
		{ "/tmp/x", "/ovn/", 0 },
		{ "/tmp/x", PREFIX, -1 },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
		struct kv_config cfg = { .path = vec[i].path, .prefix = vec[i].prefix,
					  .sync_interval = vec[i].interval };
		struct ovn_err err = { 0 };
		struct kv *kv;

		assert_int_equal(kv_open(&kv, &f->loop, &cfg, &err), -EINVAL);
		assert_int_equal(err.code, -EINVAL);
		assert_true(strncmp(err.msg, "store.", 6) == 0);
	}
}

static void test_put_get(void **state)
{
	struct fx *f = *state;
	struct cap c;
	uint64_t rev;

	fx_open(f, 0);
	rev = put_ok(f, "/networks/web", "{\"vni\":42}");
	assert_int_equal(rev, 1);
	get(f, "/networks/web", &c);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.keys[0], "/networks/web");
	assert_string_equal(c.val, "{\"vni\":42}");
	assert_int_equal(c.len, 10);
	assert_int_equal(c.mod_rev, 1);
	assert_int_equal(c.rev, 1);

	get(f, "/networks/db", &c);
	assert_int_equal(c.status, -ENOENT);
	assert_int_equal(c.n, 0);
	assert_non_null(strstr(c.msg, "/networks/db"));

	/* Empty values are values. */
	put_ok(f, "/empty", "");
	get(f, "/empty", &c);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.len, 0);
}

static void test_bad_input(void **state)
{
	struct fx *f = *state;
	struct kv_op ops[KV_TXN_MAX + 1];
	struct cap c = { 0 };
	struct kv_watch *w;

	fx_open(f, 0);
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		ops[i] = (struct kv_op){ .type = KV_OP_PUT, .key = "/k", .value = "v", .len = 1 };

	assert_int_equal(kv_put(f->kv, NULL, "v", 1, cap_cb, &c), -EINVAL);
	assert_int_equal(kv_put(f->kv, "", "v", 1, cap_cb, &c), -EINVAL);
	assert_int_equal(kv_put(f->kv, "noslash", "v", 1, cap_cb, &c), -EINVAL);
	assert_int_equal(kv_put(f->kv, "/k", NULL, 3, cap_cb, &c), -EINVAL);
	assert_int_equal(kv_get(f->kv, NULL, cap_cb, &c), -EINVAL);
	assert_int_equal(kv_get(f->kv, "", cap_cb, &c), -EINVAL);
	assert_int_equal(kv_get(f->kv, "k", cap_cb, &c), -EINVAL);
	assert_int_equal(kv_list(f->kv, "k", cap_cb, &c), -EINVAL);
	assert_int_equal(kv_del(f->kv, "", cap_cb, &c), -EINVAL);
	assert_int_equal(kv_txn(f->kv, ops, 0, cap_cb, &c), -EINVAL);
	assert_int_equal(kv_txn(f->kv, NULL, 1, cap_cb, &c), -EINVAL);
	assert_int_equal(kv_txn(f->kv, ops, KV_TXN_MAX + 1, cap_cb, &c), -EINVAL);
	/* Two writes to one key in one transaction. */
	assert_int_equal(kv_txn(f->kv, ops, 2, cap_cb, &c), -EINVAL);
	ops[1].type = KV_OP_CHECK;
	ops[1].cmp = KV_CMP_NONE;
	assert_int_equal(kv_txn(f->kv, ops, 2, cap_cb, &c), -EINVAL);
	assert_int_equal(kv_watch_start(f->kv, "x", 0, NULL, NULL, &w), -EINVAL);
	run(f);
	assert_int_equal(c.calls, 0);
}

static void test_list_prefix(void **state)
{
	static const char *const keys[] = {
		"/a/bc/x", "/b", "/a/b", "/a/bc/", "/a/a", "/a/b/c", "/a/bcd",
	};
	static const struct {
		const char *prefix;
		const char *want[8];
	} vec[] = {
		{ "/a/bc/", { "/a/bc/", "/a/bc/x" } },
		{ "/a/b/", { "/a/b/c" } },
		/* Plain string prefix: "/a/b" takes "/a/bc..." too. */
		{ "/a/b", { "/a/b", "/a/b/c", "/a/bc/", "/a/bc/x", "/a/bcd" } },
		{ "", { "/a/a", "/a/b", "/a/b/c", "/a/bc/", "/a/bc/x", "/a/bcd", "/b" } },
		{ "/", { "/a/a", "/a/b", "/a/b/c", "/a/bc/", "/a/bc/x", "/a/bcd", "/b" } },
		{ "/a/bc/x/", { NULL } },
		{ "/c", { NULL } },
	};
	struct fx *f = *state;
	struct cap c;

	fx_open(f, 0);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		put_ok(f, keys[i], keys[i]);
	for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
		size_t n = 0;

		list(f, vec[i].prefix, &c);
		while (vec[i].want[n])
			n++;
		assert_int_equal(c.n, n);
		for (size_t j = 0; j < n; j++)
			assert_string_equal(c.keys[j], vec[i].want[j]);
		assert_int_equal(c.rev, ARRAY_SIZE(keys));
	}
}

static void test_store_prefix(void **state)
{
	struct kv_config cfg = { .backend = "embedded", .prefix = "/other" };
	struct fx *f = *state;
	struct ovn_err err;
	struct cap c;

	fx_open(f, 0);
	put_ok(f, "/x", "1");
	fx_close(f);

	cfg.path = f->dir;
	assert_int_equal(kv_open(&f->kv, &f->loop, &cfg, &err), 0);
	get(f, "/x", &c);
	assert_int_equal(c.status, -ENOENT);
	list(f, "", &c);
	assert_int_equal(c.n, 0);
	fx_close(f);

	fx_open(f, 0);
	get(f, "/x", &c);
	assert_int_equal(c.status, 0);
	assert_string_equal(c.keys[0], "/x");
}

static void test_txn_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct cap c;
	uint64_t r1;

	fx_open(f, 0);
	r1 = put_ok(f, "/x", "x1");

	/* The second compare fails: the first put must not happen. */
	struct kv_op bad[] = {
		{ .type = KV_OP_PUT, .key = "/t1", .value = "t", .len = 1 },
		{ .type = KV_OP_PUT, .cmp = KV_CMP_REV, .key = "/x", .value = "x2", .len = 2,
		  .rev = r1 + 100 },
	};
	txn(f, bad, ARRAY_SIZE(bad), &c);
	assert_int_equal(c.status, -ECANCELED);
	assert_non_null(strstr(c.msg, "/x"));
	assert_int_equal(c.rev, r1);
	get(f, "/t1", &c);
	assert_int_equal(c.status, -ENOENT);
	get(f, "/x", &c);
	assert_string_equal(c.val, "x1");

	struct kv_op good[] = {
		{ .type = KV_OP_CHECK, .cmp = KV_CMP_PRESENT, .key = "/x" },
		{ .type = KV_OP_PUT, .cmp = KV_CMP_ABSENT, .key = "/t1", .value = "t", .len = 1 },
		{ .type = KV_OP_PUT, .key = "/t2", .value = "u", .len = 1 },
		{ .type = KV_OP_DEL, .cmp = KV_CMP_REV, .key = "/x", .rev = r1 },
	};
	txn(f, good, ARRAY_SIZE(good), &c);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.rev, r1 + 1);
	get(f, "/x", &c);
	assert_int_equal(c.status, -ENOENT);
	get(f, "/t1", &c);
	assert_int_equal(c.mod_rev, r1 + 1);
	get(f, "/t2", &c);
	assert_int_equal(c.mod_rev, r1 + 1);

	/* Compare-only transactions change nothing, not even the revision. */
	struct kv_op check[] = {
		{ .type = KV_OP_CHECK, .cmp = KV_CMP_ABSENT, .key = "/x" },
	};
	txn(f, check, 1, &c);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.rev, r1 + 1);
}

static void test_cas(void **state)
{
	struct fx *f = *state;
	struct cap c = { 0 };
	uint64_t r1, r2;

	fx_open(f, 0);
	assert_int_equal(kv_cas(f->kv, "/ipam/web/10.0.0.2", "a", 1, 0, cap_cb, &c), 0);
	run(f);
	assert_int_equal(c.status, 0);
	r1 = c.rev;

	memset(&c, 0, sizeof(c));
	assert_int_equal(kv_cas(f->kv, "/ipam/web/10.0.0.2", "b", 1, 0, cap_cb, &c), 0);
	run(f);
	assert_int_equal(c.status, -ECANCELED);

	memset(&c, 0, sizeof(c));
	assert_int_equal(kv_cas(f->kv, "/ipam/web/10.0.0.2", "c", 1, r1, cap_cb, &c), 0);
	run(f);
	assert_int_equal(c.status, 0);
	r2 = c.rev;
	assert_true(r2 > r1);

	memset(&c, 0, sizeof(c));
	assert_int_equal(kv_cas(f->kv, "/ipam/web/10.0.0.2", "d", 1, r1, cap_cb, &c), 0);
	run(f);
	assert_int_equal(c.status, -ECANCELED);

	get(f, "/ipam/web/10.0.0.2", &c);
	assert_string_equal(c.val, "c");
	assert_int_equal(c.mod_rev, r2);
}

static void test_compare_kinds(void **state)
{
	static const struct {
		enum kv_cmp cmp;
		const char *key;
		uint64_t rev;
		int status;
	} vec[] = {
		{ KV_CMP_ABSENT, "/here", 0, -ECANCELED },
		{ KV_CMP_ABSENT, "/gone", 0, 0 },
		{ KV_CMP_PRESENT, "/here", 0, 0 },
		{ KV_CMP_PRESENT, "/gone", 0, -ECANCELED },
		{ KV_CMP_REV, "/here", 1, 0 },
		{ KV_CMP_REV, "/here", 2, -ECANCELED },
		{ KV_CMP_REV, "/gone", 0, -ECANCELED },
	};
	struct fx *f = *state;
	struct cap c;

	fx_open(f, 0);
	put_ok(f, "/here", "1");
	for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
		struct kv_op op = { KV_OP_CHECK, vec[i].cmp, vec[i].key, NULL, 0, vec[i].rev };

		txn(f, &op, 1, &c);
		assert_int_equal(c.status, vec[i].status);
	}
}

static void test_delete(void **state)
{
	struct fx *f = *state;
	struct cap c = { 0 };

	fx_open(f, 0);
	put_ok(f, "/d", "1");
	assert_int_equal(kv_del(f->kv, "/d", cap_cb, &c), 0);
	run(f);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.rev, 2);
	get(f, "/d", &c);
	assert_int_equal(c.status, -ENOENT);

	/* Deleting an absent key succeeds and changes nothing. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(kv_del(f->kv, "/d", cap_cb, &c), 0);
	run(f);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.rev, 2);
}

static void test_revisions(void **state)
{
	struct fx *f = *state;
	struct cap c[50];
	char key[32];

	fx_open(f, 0.01);
	/* Queued all at once: revisions follow submission order. */
	memset(c, 0, sizeof(c));
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		snprintf(key, sizeof(key), "/r/%zu", i % 7);
		assert_int_equal(kv_put(f->kv, key, "v", 1, cap_cb, &c[i]), 0);
	}
	run(f);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		assert_int_equal(c[i].status, 0);
		assert_int_equal(c[i].rev, i + 1);
		assert_int_equal(c[i].order, (int)i + 1);
	}
	get(f, "/r/0", &c[0]);
	assert_int_equal(c[0].rev, 50);
	assert_int_equal(c[0].mod_rev, 50);
}

static void set_int(const struct kv_result *res, void *arg)
{
	*(int *)arg = 1;
}

static void watch_noop(const struct kv_event *ev, void *arg)
{
	(*(int *)arg)++;
}

static void test_never_synchronous(void **state)
{
	struct fx *f = *state;
	struct kv_op op = { .type = KV_OP_CHECK, .cmp = KV_CMP_PRESENT, .key = "/none" };
	struct kv_watch *w;
	int called[5] = { 0 };
	int relist = 0;

	fx_open(f, 0);
	assert_int_equal(kv_put(f->kv, "/s", "1", 1, set_int, &called[0]), 0);
	assert_int_equal(kv_get(f->kv, "/s", set_int, &called[1]), 0);
	assert_int_equal(kv_get(f->kv, "/missing", set_int, &called[2]), 0);
	assert_int_equal(kv_list(f->kv, "", set_int, &called[3]), 0);
	assert_int_equal(kv_txn(f->kv, &op, 1, set_int, &called[4]), 0);
	assert_int_equal(kv_watch_start(f->kv, "/zzz/", 99, watch_noop, &relist, &w), 0);
	for (size_t i = 0; i < ARRAY_SIZE(called); i++)
		assert_int_equal(called[i], 0);
	assert_int_equal(relist, 0);
	run(f);
	for (size_t i = 0; i < ARRAY_SIZE(called); i++)
		assert_int_equal(called[i], 1);
	assert_int_equal(relist, 1);
	kv_watch_stop(f->kv, w);
}

/* One line per callback or event: "cb 3", "put /w/a 1", "del /w/a 3", "relist". */
struct trace {
	char lines[16][64];
	int n;
	struct fx *f;
	struct kv_watch *stop_me;
};

static void trace_ev(const struct kv_event *ev, void *arg)
{
	struct trace *t = arg;

	assert_true(t->n < 16);
	if (!ev) {
		snprintf(t->lines[t->n++], 64, "relist");
		return;
	}
	if (ev->type == KV_EV_PUT)
		snprintf(t->lines[t->n++], 64, "put %s %.*s %llu", ev->entry.key,
			 (int)ev->entry.len, ev->entry.value,
			 (unsigned long long)ev->entry.mod_rev);
	else
		snprintf(t->lines[t->n++], 64, "del %s %llu", ev->entry.key,
			 (unsigned long long)ev->entry.mod_rev);
	assert_true(ev->type == KV_EV_PUT || ev->entry.value == NULL);
}

static void trace_cb(const struct kv_result *res, void *arg)
{
	struct trace *t = arg;

	assert_int_equal(res->status, 0);
	snprintf(t->lines[t->n++], 64, "cb %llu", (unsigned long long)res->rev);
}

static void test_watch(void **state)
{
	static const char *const want[] = {
		"cb 1", "put /w/a A 1", "cb 2", "cb 3", "put /w/b B 3", "del /w/a 3",
		"cb 4", "del /w/b 4",
	};
	struct kv_op two[] = {
		{ .type = KV_OP_PUT, .key = "/w/b", .value = "B", .len = 1 },
		{ .type = KV_OP_DEL, .key = "/w/a" },
		{ .type = KV_OP_DEL, .key = "/w/never" },
	};
	struct fx *f = *state;
	struct trace t = { .f = f };
	struct kv_watch *w, *w2;

	fx_open(f, 0);
	assert_int_equal(kv_watch_start(f->kv, "/w/", 0, trace_ev, &t, &w), 0);
	assert_int_equal(kv_put(f->kv, "/w/a", "A", 1, trace_cb, &t), 0);
	assert_int_equal(kv_put(f->kv, "/x", "X", 1, trace_cb, &t), 0);
	assert_int_equal(kv_txn(f->kv, two, ARRAY_SIZE(two), trace_cb, &t), 0);
	assert_int_equal(kv_del(f->kv, "/w/b", trace_cb, &t), 0);
	run(f);
	assert_int_equal(t.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(t.lines[i], want[i]);

	/* Unwatched: silent, even for events queued before the unwatch. */
	t.n = 0;
	assert_int_equal(kv_put(f->kv, "/w/c", "C", 1, NULL, NULL), 0);
	kv_watch_stop(f->kv, w);
	run(f);
	assert_int_equal(t.n, 0);

	/* From the current revision: nothing to re-list. From a past one: one
	 * ev == NULL before anything else. */
	assert_int_equal(kv_watch_start(f->kv, "/w/", 5, trace_ev, &t, &w), 0);
	assert_int_equal(kv_watch_start(f->kv, "/w/", 2, trace_ev, &t, &w2), 0);
	assert_int_equal(kv_put(f->kv, "/w/d", "D", 1, NULL, NULL), 0);
	run(f);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.lines[0], "relist");
	assert_string_equal(t.lines[1], "put /w/d D 6");
	assert_string_equal(t.lines[2], "put /w/d D 6");
	kv_watch_stop(f->kv, w);
	kv_watch_stop(f->kv, w2);
}

static void test_reopen(void **state)
{
	struct fx *f = *state;
	struct cap c;

	fx_open(f, 0.01);
	put_ok(f, "/a", "1");
	put_ok(f, "/b", "2");
	put_ok(f, "/a", "3");
	assert_int_equal(kv_del(f->kv, "/b", NULL, NULL), 0);
	run(f);
	fx_close(f);

	fx_open(f, 0.01);
	get(f, "/a", &c);
	assert_string_equal(c.val, "3");
	assert_int_equal(c.mod_rev, 3);
	assert_int_equal(c.rev, 4);
	get(f, "/b", &c);
	assert_int_equal(c.status, -ENOENT);
	assert_int_equal(put_ok(f, "/c", "4"), 5);
}

static void log_append_garbage(struct fx *f)
{
	static const char junk[] = "\x20\x00\x00\x00garbage-after-a-crash";
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, EMB_LOG);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk) - 1), sizeof(junk) - 1);
	close(fd);
}

static void test_torn_tail(void **state)
{
	struct fx *f = *state;
	char key[16], path[128];
	struct cap c;
	off_t size;

	fx_open(f, 0.01);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "/t/%d", i);
		put_ok(f, key, "value");
	}
	fx_close(f);
	size = file_size(f, EMB_LOG);

	/* Garbage after the last record: everything survives, garbage goes. */
	log_append_garbage(f);
	fx_open(f, 0.01);
	list(f, "/t/", &c);
	assert_int_equal(c.n, 10);
	assert_int_equal(file_size(f, EMB_LOG), size);
	fx_close(f);

	/* The last record torn: the nine before it survive. */
	snprintf(path, sizeof(path), "%s/%s", f->dir, EMB_LOG);
	assert_int_equal(truncate(path, size - 3), 0);
	fx_open(f, 0.01);
	list(f, "/t/", &c);
	assert_int_equal(c.n, 9);
	get(f, "/t/9", &c);
	assert_int_equal(c.status, -ENOENT);
	/* New writes land after the good prefix and survive the next open. */
	assert_int_equal(put_ok(f, "/t/new", "n"), 10);
	fx_close(f);
	fx_open(f, 0.01);
	get(f, "/t/new", &c);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.rev, 10);
}

static void rm_file(struct fx *f, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(unlink(path), 0);
}

/* Copy bytes [from, to) of dir/src to dir/dst. */
static void copy_range(struct fx *f, const char *src, const char *dst, off_t from, off_t to)
{
	char path[128], *buf = malloc(to - from + 1);
	int fd;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/%s", f->dir, src);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, to - from, from), to - from);
	close(fd);
	snprintf(path, sizeof(path), "%s/%s", f->dir, dst);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, to - from), to - from);
	close(fd);
	free(buf);
}

static void put_range(struct fx *f, int from, int to)
{
	char key[16];

	for (int i = from; i < to; i++) {
		snprintf(key, sizeof(key), "/k/%02d", i);
		put_ok(f, key, key);
	}
}

/* The files a compaction leaves when the agent dies half-way, rebuilt by
 * splitting a log at record boundaries. */
static void test_interrupted_compaction(void **state)
{
	struct fx *f = *state;
	off_t s1, s2, s3;
	struct cap c;

	fx_open(f, 0.01);
	put_range(f, 0, 5);
	fx_close(f);
	s1 = file_size(f, EMB_LOG);
	fx_open(f, 0.01);
	put_range(f, 5, 10);
	fx_close(f);
	s2 = file_size(f, EMB_LOG);
	fx_open(f, 0.01);
	put_range(f, 10, 12);
	fx_close(f);
	s3 = file_size(f, EMB_LOG);
	copy_range(f, EMB_LOG, "whole", 0, s3);

	/* Died before the snapshot rename: log has 1..5, log.new 6..10. */
	copy_range(f, "whole", EMB_LOG_NEW, s1, s2);
	copy_range(f, "whole", EMB_LOG, 0, s1);
	fx_open(f, 0.01);
	assert_int_equal(file_size(f, EMB_LOG_NEW), -1);
	assert_int_equal(file_size(f, EMB_LOG), 0);
	assert_true(file_size(f, EMB_SNAP) > 0);
	list(f, "/k/", &c);
	assert_int_equal(c.n, 10);
	assert_int_equal(c.rev, 10);
	fx_close(f);

	/* Died after it: the snapshot (rev 10) covers all of log (1..5). */
	copy_range(f, "whole", EMB_LOG, 0, s1);
	copy_range(f, "whole", EMB_LOG_NEW, s2, s3);
	fx_open(f, 0.01);
	list(f, "/k/", &c);
	assert_int_equal(c.n, 12);
	assert_int_equal(c.rev, 12);
	fx_close(f);

	/* Records the snapshot already holds (6..12 under a rev-12 snapshot)
	 * are skipped. */
	copy_range(f, "whole", EMB_LOG_NEW, s1, s3);
	fx_open(f, 0.01);
	list(f, "/k/", &c);
	assert_int_equal(c.n, 12);
	assert_int_equal(c.rev, 12);
	assert_int_equal(put_ok(f, "/k/gap", "x"), 13);
	fx_close(f);
	/* A hole (log 1..5, log.new 11..12, no snapshot): replay stops at the
	 * hole rather than apply writes out of order. */
	rm_file(f, EMB_SNAP);
	copy_range(f, "whole", EMB_LOG, 0, s1);
	copy_range(f, "whole", EMB_LOG_NEW, s2, s3);
	fx_open(f, 0.01);
	list(f, "/k/", &c);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.rev, 5);
}

static void test_dir_created(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char base[64];

	memcpy(base, f->dir, sizeof(base));
	assert_true(strlen(base) + 5 <= sizeof(f->dir));
	strcat(f->dir, "/a/b");
	fx_open(f, 0);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	fx_close(f);
	memcpy(f->dir, base, sizeof(base));
}

struct chain {
	struct fx *f;
	int next, total, keys;
	size_t vlen;
	uint64_t t0, t1;
};

static void chain_put(struct chain *ch);

static void chain_cb(const struct kv_result *res, void *arg)
{
	struct chain *ch = arg;

	assert_int_equal(res->status, 0);
	if (ch->next < ch->total)
		chain_put(ch);
	else
		ch->t1 = uv_hrtime();
}

static void chain_value(char *buf, size_t len, int i)
{
	int n = snprintf(buf, len, "v%d;", i);

	memset(buf + n, 'x', len - n);
}

static void chain_put(struct chain *ch)
{
	char key[32], val[1024];
	int i = ch->next++;

	snprintf(key, sizeof(key), "/c/%05d", i % ch->keys);
	chain_value(val, ch->vlen, i);
	assert_int_equal(kv_put(ch->f->kv, key, val, ch->vlen, chain_cb, ch), 0);
}

static void test_compaction(void **state)
{
	struct fx *f = *state;
	struct chain ch = { .f = f, .total = 3000, .keys = 64, .vlen = 1000 };
	char want[1024];
	struct cap c;

	fx_open(f, 0.005);
	/* Four writers in flight, so compaction overlaps writes. */
	for (int i = 0; i < 4; i++)
		chain_put(&ch);
	run(f);
	assert_int_equal(ch.next, ch.total);
	/* 3 MB went through the log; live data is 64 KB. */
	assert_true(file_size(f, EMB_SNAP) > 64 * 1000);
	assert_true(file_size(f, EMB_LOG) < (1 << 20));
	assert_int_equal(file_size(f, EMB_LOG_NEW), -1);
	fx_close(f);

	fx_open(f, 0.005);
	list(f, "/c/", &c);
	assert_int_equal(c.n, 64);
	for (int k = 0; k < 64; k++) {
		char key[32];

		snprintf(key, sizeof(key), "/c/%05d", k);
		get(f, key, &c);
		chain_value(want, ch.vlen, ch.total - 1 - (ch.total - 1 - k) % 64);
		want[ch.vlen] = '\0';
		assert_string_equal(c.val, want);
	}
	assert_int_equal(c.rev, ch.total);
}

static void test_busy(void **state)
{
	struct fx *f = *state;
	struct ovn_err err;
	char want[160];

	fx_open(f, 0);
	fx_open_err(f, 0, -EBUSY, &err);
	snprintf(want, sizeof(want), "store.path: %s is in use by another ovnagent", f->dir);
	assert_string_equal(err.msg, want);
}

static void test_close_pending(void **state)
{
	struct fx *f = *state;
	struct cap c[6];
	int closed = 0, ev = 0;
	struct kv_watch *w;

	fx_open(f, 0);
	memset(c, 0, sizeof(c));
	assert_int_equal(kv_watch_start(f->kv, "/", 0, watch_noop, &ev, &w), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(kv_put(f->kv, "/p", "v", 1, cap_cb, &c[i]), 0);
	assert_int_equal(kv_get(f->kv, "/p", cap_cb, &c[5]), 0);
	kv_close(f->kv, set_flag, &closed);
	assert_int_equal(kv_get(f->kv, "/p", cap_cb, &c[5]), -ESHUTDOWN);
	for (int i = 0; i < 6; i++)
		assert_int_equal(c[i].calls, 0);
	run(f);
	assert_int_equal(closed, 1);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(c[i].calls, 1);
		assert_int_equal(c[i].status, -ECANCELED);
	}
	assert_int_equal(ev, 0);
	f->kv = NULL;

	fx_open(f, 0);
	get(f, "/p", &c[0]);
	assert_int_equal(c[0].status, -ENOENT);
}

/* Closing from inside a callback, with a sync-bound write in flight. */
static void close_from_cb(const struct kv_result *res, void *arg)
{
	struct fx *f = arg;

	kv_close(f->kv, NULL, NULL);
	f->kv = NULL;
}

static void test_close_in_callback(void **state)
{
	struct fx *f = *state;
	struct cap c = { 0 };
	struct kv *kv;

	fx_open(f, 0);
	kv = f->kv;
	assert_int_equal(kv_put(kv, "/a", "1", 1, close_from_cb, f), 0);
	assert_int_equal(kv_put(kv, "/b", "2", 1, cap_cb, &c), 0);
	run(f);
	/* Already run when close came: its real result, synced by close. */
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, 0);
	fx_open(f, 0);
	get(f, "/b", &c);
	assert_int_equal(c.status, 0);
}

/* ---- crash safety ---- */

#define CRASH_KEYS 256

struct crash_op {
	struct kv *kv;
	int fd;
	uint32_t idx;
};

static void crash_put(struct kv *kv, int fd, uint32_t idx);
static uint32_t crash_next;

static void crash_cb(const struct kv_result *res, void *arg)
{
	struct crash_op *op = arg;

	if (res->status != 0)
		_exit(3);
	/* Acknowledged: tell the parent, then go on. */
	if (write(op->fd, &op->idx, sizeof(op->idx)) != sizeof(op->idx))
		_exit(4);
	crash_put(op->kv, op->fd, crash_next++);
	free(op);
}

static void crash_put(struct kv *kv, int fd, uint32_t idx)
{
	struct crash_op *op = malloc(sizeof(*op));
	char key[32], val[200];

	if (!op)
		_exit(5);
	*op = (struct crash_op){ kv, fd, idx };
	snprintf(key, sizeof(key), "/crash/%u", idx % CRASH_KEYS);
	chain_value(val, sizeof(val), idx);
	if (kv_put(kv, key, val, sizeof(val), crash_cb, op) != 0)
		_exit(6);
}

static void crash_child(const char *dir, int fd)
{
	struct kv_config cfg = { .backend = "embedded", .path = dir, .prefix = PREFIX,
				  .sync_interval = 0.05 };
	struct ovn_err err;
	uv_loop_t loop;
	struct kv *kv;

	if (uv_loop_init(&loop) < 0 || kv_open(&kv, &loop, &cfg, &err) < 0)
		_exit(2);
	for (int i = 0; i < 4; i++)
		crash_put(kv, fd, crash_next++);
	uv_run(&loop, UV_RUN_DEFAULT);
	_exit(7);
}

/* Read acknowledged indices until the deadline (ms, 0 = until EOF). */
static void crash_collect(int fd, int64_t *last, uint32_t *count, uint64_t deadline_ms)
{
	static char buf[4096];
	static size_t have;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int timeout = -1;
		ssize_t r;

		if (deadline_ms) {
			uint64_t now = uv_hrtime() / 1000000;

			if (now >= deadline_ms)
				return;
			timeout = deadline_ms - now;
		}
		if (poll(&p, 1, timeout) <= 0)
			continue;
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r <= 0)
			return;
		have += r;
		for (size_t off = 0; off + 4 <= have; off += 4) {
			uint32_t idx;

			memcpy(&idx, buf + off, 4);
			last[idx % CRASH_KEYS] = idx;
			(*count)++;
		}
		memmove(buf, buf + (have & ~3ul), have & 3);
		have &= 3;
	}
}

static void test_crash_safety(void **state)
{
	struct fx *f = *state;
	int64_t last[CRASH_KEYS];
	uint32_t count = 0;
	unsigned int delay;
	int fds[2], status;
	struct cap c;
	pid_t pid;

	srand(time(NULL) ^ getpid());
	delay = 30 + rand() % 400;
	for (int i = 0; i < CRASH_KEYS; i++)
		last[i] = -1;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(f->dir, fds[1]);
	}
	close(fds[1]);
	crash_collect(fds[0], last, &count, uv_hrtime() / 1000000 + delay);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	crash_collect(fds[0], last, &count, 0);
	close(fds[0]);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	print_message("crash: killed after %u ms and %u acknowledged writes\n", delay, count);
	assert_true(count > 0);

	fx_open(f, 0);
	for (int k = 0; k < CRASH_KEYS; k++) {
		char key[32];
		unsigned long idx;

		if (last[k] < 0)
			continue;
		snprintf(key, sizeof(key), "/crash/%d", k);
		get(f, key, &c);
		assert_int_equal(c.status, 0);
		/* This write or a later (unacknowledged) one to the same key. */
		assert_int_equal(sscanf(c.val, "v%lu;", &idx), 1);
		assert_true((int64_t)idx >= last[k]);
		assert_int_equal(idx % CRASH_KEYS, (unsigned long)k);
	}
}

static void test_sync_each(void **state)
{
	struct fx *f = *state;
	struct cap c;

	/* Interval 0: every callback waits for its fdatasync. */
	fx_open(f, 0);
	for (int i = 0; i < 20; i++)
		put_ok(f, "/s", "x");
	get(f, "/s", &c);
	assert_int_equal(c.mod_rev, 20);
}

static void test_latency(void **state)
{
	struct fx *f = *state;
	struct chain ch = { .f = f, .total = 10000, .keys = 10000, .vlen = 100 };

	fx_open(f, 0.05);
	ch.t0 = uv_hrtime();
	chain_put(&ch);
	run(f);
	assert_int_equal(ch.next, ch.total);
	print_message("latency: %.1f us mean over %d single-put txns (sync_interval 0.05)\n",
		      (ch.t1 - ch.t0) / 1000.0 / ch.total, ch.total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compare_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_synchronous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_in_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latency, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
