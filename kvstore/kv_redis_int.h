/* kv_redis_int.h: internals shared by the Redis backend's files:
 * kv_redis.c (open, requests, replies, close), kv_redis_conn.c (the two
 * connections: handshake, timeouts, loss, backoff, delivery queue),
 * kv_redis_watch.c (watches on the event stream), kv_redis_lua.c (the
 * server-side scripts) and kv_redis_uv.c (hiredis on the libuv loop). Nothing outside kvstore/ includes this file.
 */
#ifndef OVN_KV_REDIS_INT_H
#define OVN_KV_REDIS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "kvstore.h"
#include "ovn_err.h"

#define RDS_KEY_MAX		4096		/* store prefix + key */
#define RDS_VAL_MAX		(16u << 20)
#define RDS_INFLIGHT_MAX	10000		/* then calls return -EAGAIN */
#define RDS_BACKOFF_MIN		100		/* ms, doubled per failed attempt */
#define RDS_BACKOFF_MAX		5000
#define RDS_STREAM_MAXLEN	"100000"	/* events kept for late watchers */
#define RDS_PAGE		512		/* stream entries per catch-up read */
#define RDS_XREAD_COUNT		"1000"		/* per live read */
#define RDS_ARGC_MAX		(8 + 5 * KV_TXN_MAX)

/* Server-side scripts, loaded with SCRIPT LOAD at every connect. */
enum rds_script { RDS_LUA_TXN, RDS_LUA_GET, RDS_LUA_LIST, RDS_LUA_WREAD, RDS_LUA_N };

extern const char *const rds_lua_src[RDS_LUA_N];

enum rds_conn_id { RDS_CMD, RDS_WATCH, RDS_NCONN };

/*
 *            open / backoff timer
 *   DOWN ------------------------------> CONNECTING
 *    ^  \                                 |  all handshake replies OK
 *    |   `- requests: -ENOTCONN at once   v
 *    +--------- loss, timeout, error --- UP
 * close() from any state: CLOSED (contexts freed, requests -ECANCELED).
 */
enum rds_state { RDS_DOWN, RDS_CONNECTING, RDS_UP, RDS_CLOSED };

enum rds_kind {
	RDS_GET,
	RDS_LIST,
	RDS_TXN,
	RDS_WREAD,		/* a watch's catch-up read (internal) */
	RDS_EVENT,		/* a watch event waiting for delivery */
};

/* A position in the event stream: entry IDs are "<rev>-<op index>". */
struct rds_id {
	uint64_t rev;
	uint64_t seq;
};

/* The arguments of a command after EVALSHA's sha, copied into one buffer
 * (kept so a NOSCRIPT reply can be answered by re-sending with EVAL). */
struct rds_cmd {
	enum rds_script script;
	int argc;
	size_t off[RDS_ARGC_MAX];
	size_t len[RDS_ARGC_MAX];
	char *buf;
	size_t used, cap;
};

struct rds;
struct rds_watch;

/* Reference holders of a request: it is freed when both are gone. */
enum { RDS_HOLD_USER = 1, RDS_HOLD_REDIS = 2 };

struct rds_req {
	struct rds *kv;
	enum rds_kind kind;
	unsigned int holds;
	int redis_refs;			/* hiredis callbacks still to come */
	bool answered;			/* result fixed; no reply may change it */
	bool sent;			/* handed to the command connection */
	bool eval;			/* NOSCRIPT seen: send the source */
	struct rds_req *next;		/* done queue */
	struct rds_req *lprev, *lnext;	/* kv->live, in deadline order */
	uint64_t deadline;		/* uv_now() ms */
	uint64_t rx_mark;		/* kv->rx_count when sent */
	kv_cb cb;
	void *arg;
	struct rds_watch *w;		/* WREAD, EVENT */
	bool relist;			/* EVENT: deliver cb(NULL) */
	struct kv_event ev;
	struct rds_cmd cmd;
	struct kv_result res;
	struct kv_entry one;
	struct kv_entry *ents;
	char *blob;
	char msg[OVN_ERR_LEN];
};

enum rds_wstate {
	RDS_W_WAIT,		/* for the connection */
	RDS_W_CATCHUP,		/* reading the stream on the command connection */
	RDS_W_LIVE,		/* fed by the shared XREAD loop */
};

struct rds_watch {
	struct rds_watch *next;
	struct rds *kv;
	enum rds_wstate state;
	bool positioned;		/* next is known (after_rev given or probed) */
	bool dead;			/* stopped: deliver nothing more */
	int refs;			/* the list + queued events + a catch-up */
	struct rds_id next_id;		/* the next stream entry it expects */
	kv_watch_cb cb;
	void *arg;
	size_t plen;
	char prefix[];			/* store prefix + watch prefix */
};

/* Per-connection tag handed to hiredis as handshake privdata. */
struct rds_hello {
	struct rds *kv;
	enum rds_conn_id conn;
	int script;			/* SCRIPT LOAD index, or -1 */
	const char *what;		/* "AUTH", "SELECT", "SCRIPT LOAD" */
};

struct rds {
	struct kv base;
	uv_loop_t *loop;
	enum rds_state state;
	bool closing, close_started;
	void (*close_cb)(void *arg);
	void *close_arg;
	int handles;			/* open uv handles, for close */

	/* config */
	char url[128];			/* "redis://host:port/db", for messages */
	char host[64];
	int port;
	unsigned int db;
	char *password;
	uint64_t timeout_ms;
	size_t plen;
	char *prefix;			/* store prefix */
	char *key_rev, *key_idx, *key_ev;	/* "<prefix>\0rev" ... */
	size_t klen_rev, klen_idx, klen_ev;

	/* connections */
	redisAsyncContext *ac[RDS_NCONN];
	struct rds_hello hello[RDS_NCONN][RDS_LUA_N + 2];
	int hello_left;
	char sha[RDS_LUA_N][41];
	uint64_t backoff_ms;
	uint64_t rx_count;		/* replies seen on the command connection */
	uint32_t rng;
	int drop_status;		/* why the last connection went away */
	char last_err[OVN_ERR_LEN];

	/* requests */
	struct rds_req *live_head, *live_tail;	/* unanswered, oldest first */
	struct rds_req *done, **done_tail;	/* answered, to deliver */
	size_t nreqs;

	/* watches */
	struct rds_watch *watches;
	bool xread_on;			/* the live XREAD loop is running */
	struct rds_id lnext;		/* next entry the live loop expects */

	uv_idle_t idle;			/* idle + check: drain the done queue */
	uv_check_t check;
	uv_timer_t tmo;			/* deadline of the oldest live request */
	uv_timer_t xtmo;		/* deadline of the XREAD in flight */
	uv_timer_t retry;		/* reconnect backoff */
};

/* kv_redis.c */
void rds_req_release(struct rds_req *r, unsigned int hold);
void rds_reply_cb(redisAsyncContext *ac, void *reply, void *privdata);
struct rds_req *rds_req_new(struct rds *kv, enum rds_kind kind);
int rds_cmd_add(struct rds_cmd *c, const void *p, size_t len);
int rds_cmd_addf(struct rds_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int rds_status_of(const char *redis_err);
int rds_key_check(const struct rds *kv, const char *key, bool as_prefix);
bool rds_u64_reply(const redisReply *e, uint64_t *out);
void rds_close_handles(struct rds *kv);

/* kv_redis_conn.c */
void rds_connect(struct rds *kv);
void rds_drop(struct rds *kv, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rds_ctx_lost(struct rds *kv, const redisAsyncContext *ac, const char *what);
void rds_submit(struct rds *kv, struct rds_req *r);
int rds_send(struct rds *kv, struct rds_req *r);
void rds_answer(struct rds_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rds_answer_ok(struct rds_req *r);
void rds_done_push(struct rds *kv, struct rds_req *r);
void rds_kick(struct rds *kv);
void rds_handles_init(struct rds *kv);
uint64_t rds_now(struct rds *kv);

/* kv_redis_uv.c: hiredis event hooks on the loop; 0 or -errno */
int rds_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

/* kv_redis_watch.c */
int rds_watch(struct kv *base, const char *prefix, uint64_t after_rev, kv_watch_cb cb,
	      void *arg, struct kv_watch **out);
void rds_unwatch(struct kv *base, struct kv_watch *w);
void rds_watches_resume(struct rds *kv);
void rds_watches_pause(struct rds *kv);
void rds_watches_kill(struct rds *kv);
void rds_watch_unref(struct rds_watch *w);
void rds_wread_reply(struct rds_req *r, const redisReply *reply);
void rds_wread_failed(struct rds_req *r);
void rds_xtmo_cb(uv_timer_t *t);

#endif
