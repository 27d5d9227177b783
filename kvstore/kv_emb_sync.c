/* kv_emb_sync.c: the embedded store's durability machinery: fdatasync on
 * the libuv threadpool (group commit when sync_interval is 0, a one-shot
 * timer otherwise) and background compaction. The rules it keeps are in
 * the header of kv_embedded.c.
 *
 * Invariant: at most one of {an fdatasync, a compaction} is in flight, so
 * the log fd a job uses is never switched or closed under it; syncs wait
 * while a compaction runs and the job's completion restarts them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv_emb_int.h"
#include "util.h"

static void emb_after_sync(struct emb *kv);

static void emb_sync_done(uv_fs_t *req)
{
	struct emb *kv = req->data;
	ssize_t res = req->result;

	uv_fs_req_cleanup(req);
	kv->syncing = false;
	if (res < 0)
		emb_set_broken(kv, (int)res, "store: fdatasync of %s/%s failed: %s", kv->path,
			       EMB_LOG, uv_strerror((int)res));
	else
		kv->sseq = kv->sync_target;
	emb_after_sync(kv);
}

/* Sync everything written so far, unless a sync or compaction is running
 * (their completion calls back here). */
static void emb_sync_kick(struct emb *kv)
{
	int ret;

	if (kv->syncing || kv->compacting || kv->broken || kv->wseq == kv->sseq)
		return;
	kv->sync_target = kv->wseq;
	kv->sync_req.data = kv;
	ret = uv_fs_fdatasync(kv->loop, &kv->sync_req, kv->logfd, emb_sync_done);
	if (ret < 0)
		emb_set_broken(kv, ret, "store: cannot queue fdatasync: %s", uv_strerror(ret));
	else
		kv->syncing = true;
}

static void emb_timer_cb(uv_timer_t *t)
{
	emb_sync_kick(t->data);
}

/* More was written than is synced: sync now (interval 0) or arm the timer. */
void emb_sync_more(struct emb *kv)
{
	uint64_t ms;

	if (kv->wseq == kv->sseq)
		return;
	if (kv->sync_interval == 0) {
		emb_sync_kick(kv);
		return;
	}
	if (uv_is_active((uv_handle_t *)&kv->timer))
		return;
	ms = (uint64_t)(kv->sync_interval * 1000 + 0.5);
	uv_timer_start(&kv->timer, emb_timer_cb, ms ? ms : 1, 0);
}

/* Runs on a threadpool thread: touches only the job. */
static void emb_compact_work(uv_work_t *work)
{
	struct emb *kv = work->data;
	struct emb_compact *cj = &kv->cj;

	cj->step = "fdatasync " EMB_LOG;
	cj->ret = fdatasync(cj->old_fd) < 0 ? -errno : 0;
	if (cj->ret == 0)
		cj->ret = emb_snap_write(cj->dirfd, cj->buf, cj->len, &cj->step);
}

static void emb_compact_after(uv_work_t *work, int status)
{
	struct emb *kv = work->data;
	struct emb_compact *cj = &kv->cj;

	free(TAKE_PTR(cj->buf));
	close(TAKE_FD(cj->old_fd));
	kv->compacting = false;
	if (status < 0) {
		cj->ret = status;
		cj->step = "run the compaction job";
	}
	if (cj->ret == 0 && renameat(kv->dirfd, EMB_LOG_NEW, kv->dirfd, EMB_LOG) < 0) {
		cj->ret = -errno;
		cj->step = "rename " EMB_LOG_NEW;
	}
	if (cj->ret < 0)
		emb_set_broken(kv, -EIO, "store: compaction in %s failed (%s): %s", kv->path,
			       cj->step, strerror(-cj->ret));
	else if (kv->sseq < cj->switch_seq)
		kv->sseq = cj->switch_seq;	/* the job synced the old log */
	emb_after_sync(kv);
}

static bool emb_compact_due(const struct emb *kv)
{
	size_t limit = 2 * kv->map.bytes;

	if (limit < EMB_COMPACT_MIN)
		limit = EMB_COMPACT_MIN;
	return (size_t)kv->log_size > limit;
}

/* Switch writes to log.new and snapshot the map in the background. Called
 * with no sync in flight, so the old log fd is the job's alone. Failing to
 * start is harmless: the next sync tries again. */
static void emb_maybe_compact(struct emb *kv)
{
	struct emb_compact *cj = &kv->cj;
	int fd;

	if (kv->compacting || kv->syncing || kv->broken || !emb_compact_due(kv))
		return;
	if (emb_snap_encode(&kv->map, kv->rev, &cj->buf, &cj->len) < 0)
		return;
	fd = openat(kv->dirfd, EMB_LOG_NEW, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		    0600);
	if (fd < 0)
		goto fail;
	cj->dirfd = kv->dirfd;
	cj->old_fd = kv->logfd;
	cj->switch_seq = kv->wseq;
	cj->work.data = kv;
	if (uv_queue_work(kv->loop, &cj->work, emb_compact_work, emb_compact_after) < 0)
		goto fail;
	kv->logfd = fd;
	kv->log_size = 0;
	kv->compacting = true;
	return;
fail:
	if (fd >= 0) {
		close(fd);
		unlinkat(kv->dirfd, EMB_LOG_NEW, 0);
	}
	free(TAKE_PTR(cj->buf));
}

static void emb_after_sync(struct emb *kv)
{
	if (!kv->closing) {
		emb_maybe_compact(kv);
		emb_sync_more(kv);
	}
	emb_drain(kv);
}
