/* kv_conform.h: the backend-independent conformance suite for kvstore.h.
 *
 * HOW TO USE: the Makefile links only tests/unit/test_*.c as mains, so a
 * backend's test binary compiles the suite in with
 *
 *	#include "kv_conform.c"
 *
 * (exactly once per binary), fills a struct kv_fixture and calls
 * kv_conform_run(). See test_kv_conform_embedded.c for the smallest user and
 * test_kv_redis.c for one with a real server and outage tests.
 *
 * Every test gets a fresh libuv loop, one store opened from the config the
 * fixture's setup() filled, and a unique key prefix (kvc_key()), so tests
 * never see each other's keys even when the fixture reuses one server and
 * one store prefix. Teardown closes the store and asserts uv_loop_close()
 * == 0, so a leaked handle fails the test that leaked it.
 *
 * What is checked (one cmocka test each): put/get, get of a missing key,
 * list (sorted, plain string prefix, empty), every compare kind and
 * KV_OP_CHECK, all-or-nothing transactions, CAS, delete, monotonic
 * revisions, callbacks never synchronous, watches (order, types, prefix
 * filter, replay from after_rev or cb(NULL), two watchers, stop), three
 * clients racing to create the same 300 keys (each created exactly once),
 * close with pending requests (-ECANCELED) and, when the fixture can stop
 * its server, outages (bounded failure, reconnect, watch survives).
 *
 * The API below is stable: other backends' tests depend on it.
 */
#ifndef OVN_KV_CONFORM_H
#define OVN_KV_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "kvstore.h"

/* setup() returns this (or any positive value) when the backend cannot be
 * tested here (server not installed): every test is then skipped. The
 * runner asks once, before the tests; during the tests a non-zero setup()
 * fails the test. */
#define KV_FIX_SKIP 1

/* Fixture flags. */
enum {
	/* Only one store object may be open per config (the embedded store
	 * flocks its directory): the race test then runs its three "agents"
	 * on one client. */
	KV_FIX_ONE_CLIENT = 1 << 0,
};

struct kv_fixture {
	const char *name;		/* "redis", shown in cmocka's output */
	unsigned int flags;		/* KV_FIX_* */
	/* Called before each test (and once more up front, see
	 * KV_FIX_SKIP): start or reuse a server, fill cfg (the strings must
	 * stay valid until teardown). 0, KV_FIX_SKIP, or -errno (fails the
	 * test). cfg->timeout should be small (1 s) so the outage tests
	 * finish quickly. */
	int (*setup)(struct kv_fixture *f, struct kv_config *cfg);
	/* Called after each test, after every store is closed. May be NULL. */
	void (*teardown)(struct kv_fixture *f);
	/* Optional (NULL: the outage test is skipped). Stop the server so
	 * that connections fail, and start it again on the same address.
	 * 0 or -errno. */
	int (*server_stop)(struct kv_fixture *f);
	int (*server_start)(struct kv_fixture *f);
	void *priv;			/* the fixture's own state */
};

/* Run every conformance test against f; returns cmocka's result (the
 * number of failed tests). */
int kv_conform_run(struct kv_fixture *f);

/* ---- helpers, also usable by a backend's own extra tests ---- */

/* Per-test state; cmocka's *state while a conformance test runs. */
struct kvc {
	struct kv_fixture *f;
	struct kv_config cfg;
	uv_loop_t loop;
	uv_timer_t guard;		/* bounds each loop pass to 50 ms */
	struct kv *kv;
	char pfx[96];			/* unique key prefix of this test */
	char keys[8][512];		/* ring of kvc_key() results */
	unsigned int nkey;
};

/* What one kv_cb saw (copied: results are borrowed). */
struct kvc_ent {
	char *key;
	char *val;
	size_t len;
	uint64_t mod_rev;
};

struct kvc_res {
	int calls;			/* times the callback ran: must end as 1 */
	int status;
	uint64_t rev;
	size_t n;
	struct kvc_ent *e;
	char msg[256];
};

/* Events one watch saw. type -1 stands for cb(NULL), the re-list signal. */
struct kvc_ev {
	int type;
	char *key;
	char *val;
	size_t len;
	uint64_t rev;
};

struct kvc_watch {
	struct kv_watch *w;
	size_t n, cap;
	struct kvc_ev *ev;
};

/* A backend's own extra tests can use the same per-test state: build an
 * array of KVC_TEST(fn) (fn gets struct kvc * as *state, with c->kv open)
 * and run it with kvc_run_group(), which skips them all when the fixture
 * says KV_FIX_SKIP. Returns cmocka's result. */
#define KVC_TEST(fn) cmocka_unit_test_setup_teardown(fn, kvc_setup, kvc_teardown)
struct CMUnitTest;
int kvc_run_group(const char *name, struct CMUnitTest *tests, size_t n,
		  struct kv_fixture *f);
int kvc_setup(void **state);
int kvc_teardown(void **state);
/* Open another store on c's loop (fails the test on error); close it with
 * kvc_close(), which waits for the close callback. */
struct kv *kvc_open_cfg(struct kvc *c, const struct kv_config *cfg);
void kvc_close(struct kvc *c, struct kv *kv);
/* Run c's loop until *done is true or secs pass; true when done. */
bool kvc_run_until(struct kvc *c, const int *done, int want, double secs);
/* "<unique test prefix>/<suffix>"; valid for the next 7 calls. */
const char *kvc_key(struct kvc *c, const char *suffix);

void kvc_res_cb(const struct kv_result *res, void *arg);
void kvc_res_clear(struct kvc_res *r);
void kvc_watch_cb(const struct kv_event *ev, void *arg);
void kvc_watch_clear(struct kvc_watch *w);

/* Synchronous wrappers: issue, run the loop until the callback (10 s at
 * most) and return its status; they fail the test if the callback never
 * comes or comes twice. res may be NULL. */
int kvc_txn_wait(struct kvc *c, struct kv *kv, const struct kv_op *ops, size_t n,
		 struct kvc_res *res);
int kvc_put_wait(struct kvc *c, const char *key, const char *val, uint64_t *rev);
int kvc_get_wait(struct kvc *c, const char *key, struct kvc_res *res);
int kvc_list_wait(struct kvc *c, const char *prefix, struct kvc_res *res);

/* For fixtures that start a real server: is an executable on PATH; a free
 * TCP port on 127.0.0.1 (0 if none could be had). */
bool kvc_on_path(const char *name);
uint16_t kvc_free_port(void);

#endif
