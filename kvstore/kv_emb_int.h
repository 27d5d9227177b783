/* kv_emb_int.h: internals shared by the embedded backend's files:
 * kv_emb_map.c (the sorted in-memory map), kv_emb_disk.c (file formats,
 * CRC32, replay, snapshots) and kv_embedded.c (the backend on the loop).
 * Nothing outside kvstore/ includes this file except the unit test. */
#ifndef OVN_KV_EMB_INT_H
#define OVN_KV_EMB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "kvstore.h"
#include "ovn_err.h"

#define EMB_KEY_MAX	4096		/* full key, store prefix included */
#define EMB_VAL_MAX	(16u << 20)

/* File names inside cfg->path (see the layout in kv_embedded.c). */
#define EMB_LOCK	"lock"
#define EMB_SNAP	"snapshot"
#define EMB_SNAP_TMP	"snapshot.tmp"
#define EMB_LOG		"log"
#define EMB_LOG_NEW	"log.new"

/* One key. The key, a NUL, the value and a NUL share one allocation, so an
 * overwrite is one malloc and one free. */
struct emb_ent {
	uint64_t mod_rev;
	uint32_t klen;
	uint32_t vlen;
	char *val;
	char key[];
};

/* Sorted array of entry pointers: binary search for get, a contiguous run
 * for list(prefix). Inserting is a memmove of pointers, which stays in the
 * microseconds for the tens of thousands of keys an agent holds. */
struct emb_map {
	struct emb_ent **v;
	size_t n, cap;
	size_t bytes;		/* live data as the snapshot stores it */
};

struct emb_ent *emb_ent_new(const char *key, size_t klen, const char *val, size_t vlen,
			    uint64_t rev);
size_t emb_map_lower(const struct emb_map *m, const char *key);
struct emb_ent *emb_map_get(const struct emb_map *m, const char *key);
int emb_map_reserve(struct emb_map *m, size_t extra);
void emb_map_put(struct emb_map *m, struct emb_ent *e);	/* after reserve: cannot fail */
bool emb_map_del(struct emb_map *m, const char *key);
void emb_map_free(struct emb_map *m);

/* One write of a log record; a record is one whole transaction. */
enum emb_rec_type { EMB_REC_PUT = 1, EMB_REC_DEL = 2 };

struct emb_rec_op {
	uint8_t type;
	uint32_t klen;
	uint32_t vlen;
	const char *key;	/* not NUL-terminated when decoded */
	const char *val;
};

uint32_t emb_crc32(const void *buf, size_t len);
int emb_write_all(int fd, const char *buf, size_t len);

size_t emb_rec_size(const struct emb_rec_op *ops, size_t n);
void emb_rec_encode(char *buf, uint64_t rev, const struct emb_rec_op *ops, size_t n);
int emb_log_replay(int dirfd, const char *name, struct emb_map *m, uint64_t *rev,
		   off_t *good_len, struct ovn_err *err);

int emb_snap_encode(const struct emb_map *m, uint64_t rev, char **buf, size_t *len);
int emb_snap_write(int dirfd, const char *buf, size_t len, const char **step);
int emb_snap_load(int dirfd, const char *path, struct emb_map *m, uint64_t *rev,
		  struct ovn_err *err);

/* ---- the backend object (kv_embedded.c, kv_emb_sync.c, kv_emb_open.c) ---- */

#define EMB_PREFIX_MAX	256
#define EMB_COMPACT_MIN	(1u << 20)
#define EMB_SCRATCH	(64u << 10)
#define EMB_MSG_LEN	192

enum emb_kind { EMB_GET, EMB_LIST, EMB_TXN, EMB_EVENT };

struct emb_watch {
	struct emb_watch *next;
	kv_watch_cb cb;
	void *arg;
	int refs;		/* the watch list + queued events */
	bool dead;		/* unwatched or store closed: deliver nothing */
	size_t plen;
	char prefix[];		/* full match prefix, store prefix included */
};

/* One request from call to callback, or one watch event. Copies of keys and
 * values follow the struct in the same allocation. */
struct emb_req {
	struct emb_req *next;
	enum emb_kind kind;
	uint64_t wait_seq;	/* deliver once the log is synced this far */
	kv_cb cb;
	void *arg;
	struct emb_watch *w;	/* EVENT */
	bool relist;		/* EVENT with ev == NULL */
	struct kv_event ev;	/* EVENT */
	struct kv_result res;
	struct kv_entry one;	/* GET */
	struct kv_entry *ents;	/* LIST */
	char *blob;		/* result bytes owned by the request */
	size_t nops;
	struct kv_op *ops;	/* TXN */
	char *data;		/* GET/LIST: full key or prefix; EVENT: key, value */
	char msg[EMB_MSG_LEN];
};

struct emb_compact {
	uv_work_t work;
	int dirfd;
	int old_fd;
	char *buf;
	size_t len;
	uint64_t switch_seq;	/* last record written to the old log */
	int ret;
	const char *step;
};

struct emb {
	struct kv base;		/* first: the kv_* wrappers cast */
	uv_loop_t *loop;
	char *path;
	char prefix[EMB_PREFIX_MAX + 1];
	size_t plen;
	double sync_interval;
	int dirfd, lockfd, logfd;
	off_t log_size;
	struct emb_map map;
	uint64_t rev;
	char *scratch;

	struct emb_req *pend, **pend_tail;	/* accepted, not yet run */
	struct emb_req *done, **done_tail;	/* run, not yet delivered */
	struct emb_watch *watches;

	uint64_t wseq, sseq, sync_target;	/* records written / synced */
	bool syncing, compacting;
	uv_fs_t sync_req;
	uv_timer_t timer;
	uv_idle_t idle;
	uv_check_t check;
	struct emb_compact cj;

	int broken;		/* -errno once writes are disabled */
	char broken_msg[EMB_MSG_LEN];

	bool closing, close_started;
	int handles;		/* open uv handles, freed when 0 */
	void (*close_cb)(void *arg);
	void *close_arg;
};

/* kv_embedded.c */
void emb_drain(struct emb *kv);
void emb_set_broken(struct emb *kv, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* kv_emb_sync.c: schedule an fdatasync of what was written (now when
 * sync_interval is 0, else on the timer). */
void emb_sync_more(struct emb *kv);

/* kv_emb_open.c */
int emb_open(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
	     struct ovn_err *err);
void emb_release(struct emb *kv);	/* fds and memory, after the handles closed */

#endif
