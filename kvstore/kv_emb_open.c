/* kv_emb_open.c: opening the embedded store: check the config, create and
 * lock the directory, load the snapshot, replay the logs, cut off a torn
 * tail and finish a compaction a crash interrupted (file layout in
 * kv_embedded.c, formats in kv_emb_disk.c). Also the final release.
 *
 * Open runs on the caller's thread and may block on disk for as long as
 * replay takes; it happens once, before the agent serves anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv_emb_int.h"
#include "kv_int.h"
#include "util.h"

void emb_release(struct emb *kv)
{
	if (kv->logfd >= 0)
		close(kv->logfd);
	if (kv->dirfd >= 0)
		close(kv->dirfd);
	if (kv->lockfd >= 0)
		close(kv->lockfd);	/* drops the flock */
	emb_map_free(&kv->map);
	free(kv->scratch);
	free(kv->path);
	free(kv);
}

static int emb_cfg_check(const struct kv_config *cfg, struct ovn_err *err)
{
	const char *p = cfg->prefix ? cfg->prefix : "";
	size_t plen = strlen(p);

	if (!cfg->path || !cfg->path[0])
		return ovn_err_set(err, -EINVAL, "store.path: required by the embedded backend");
	if (plen && (p[0] != '/' || p[plen - 1] == '/'))
		return ovn_err_set(err, -EINVAL, "store.prefix: '%s' must be empty or start "
				   "with '/' and not end with '/'", p);
	if (plen > EMB_PREFIX_MAX)
		return ovn_err_set(err, -EINVAL, "store.prefix: longer than %d bytes",
				   EMB_PREFIX_MAX);
	if (!(cfg->sync_interval >= 0 && cfg->sync_interval <= 3600))
		return ovn_err_set(err, -EINVAL, "store.sync_interval: %g is not between 0 "
				   "and 3600 seconds", cfg->sync_interval);
	return 0;
}

static int emb_mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (ovn_strlcpy(buf, path, sizeof(buf)) < 0)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int emb_dir_lock(struct emb *kv, struct ovn_err *err)
{
	int ret;

	ret = emb_mkdir_p(kv->path);
	if (ret < 0)
		return ovn_err_set(err, ret, "store.path: cannot create %s: %s", kv->path,
				   strerror(-ret));
	kv->dirfd = open(kv->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (kv->dirfd < 0)
		return ovn_err_set(err, -errno, "store.path: cannot open %s: %s", kv->path,
				   strerror(errno));
	kv->lockfd = openat(kv->dirfd, EMB_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (kv->lockfd < 0)
		return ovn_err_set(err, -errno, "store.path: cannot create %s/%s: %s",
				   kv->path, EMB_LOCK, strerror(errno));
	if (flock(kv->lockfd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return ovn_err_set(err, -EBUSY, "store.path: %s is in use by another ovnagent",
				   kv->path);
	return ovn_err_set(err, -errno, "store.path: cannot lock %s/%s: %s", kv->path,
			   EMB_LOCK, strerror(errno));
}

/* Open the log for appending and cut off what replay did not accept. */
static int emb_log_open(struct emb *kv, off_t good, struct ovn_err *err)
{
	struct stat st;

	kv->logfd = openat(kv->dirfd, EMB_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (kv->logfd < 0 || fstat(kv->logfd, &st) < 0)
		return ovn_err_set(err, -errno, "store.path: cannot open %s/%s: %s", kv->path,
				   EMB_LOG, strerror(errno));
	if (st.st_size > good && ftruncate(kv->logfd, good) < 0)
		return ovn_err_set(err, -errno, "store.path: cannot truncate %s/%s: %s",
				   kv->path, EMB_LOG, strerror(errno));
	/* The log may be new: make its name durable before any fdatasync. */
	if (fsync(kv->dirfd) < 0)
		return ovn_err_set(err, -errno, "store.path: fsync %s: %s", kv->path,
				   strerror(errno));
	kv->log_size = good;
	return 0;
}

/* log.new survived: a compaction was interrupted. Both logs are replayed by
 * now, so finish it the simple way, synchronously: snapshot, empty log. */
static int emb_recover_compaction(struct emb *kv, struct ovn_err *err)
{
	const char *step;
	char *buf;
	size_t len;
	int ret;

	ret = emb_snap_encode(&kv->map, kv->rev, &buf, &len);
	if (ret < 0)
		return ovn_err_set(err, ret, "store: out of memory");
	ret = emb_snap_write(kv->dirfd, buf, len, &step);
	free(buf);
	if (ret < 0)
		return ovn_err_set(err, ret, "store.path: %s in %s: %s", step, kv->path,
				   strerror(-ret));
	kv->logfd = openat(kv->dirfd, EMB_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
			   O_CLOEXEC, 0600);
	if (kv->logfd < 0)
		return ovn_err_set(err, -errno, "store.path: cannot open %s/%s: %s", kv->path,
				   EMB_LOG, strerror(errno));
	if (unlinkat(kv->dirfd, EMB_LOG_NEW, 0) < 0 || fsync(kv->dirfd) < 0)
		return ovn_err_set(err, -errno, "store.path: finishing compaction in %s: %s",
				   kv->path, strerror(errno));
	return 0;
}

static int emb_recover(struct emb *kv, struct ovn_err *err)
{
	off_t good = 0, good_new = 0;
	int ret;

	unlinkat(kv->dirfd, EMB_SNAP_TMP, 0);	/* left by a crashed compaction */
	ret = emb_snap_load(kv->dirfd, kv->path, &kv->map, &kv->rev, err);
	if (ret < 0)
		return ret;
	ret = emb_log_replay(kv->dirfd, EMB_LOG, &kv->map, &kv->rev, &good, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	ret = emb_log_replay(kv->dirfd, EMB_LOG_NEW, &kv->map, &kv->rev, &good_new, err);
	if (ret == 0)
		return emb_recover_compaction(kv, err);
	if (ret != -ENOENT)
		return ret;
	return emb_log_open(kv, good, err);
}

static void emb_handles_init(struct emb *kv)
{
	uv_idle_init(kv->loop, &kv->idle);
	uv_check_init(kv->loop, &kv->check);
	uv_timer_init(kv->loop, &kv->timer);
	kv->idle.data = kv;
	kv->check.data = kv;
	kv->timer.data = kv;
	kv->handles = 3;
}

int emb_open(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
		    struct ovn_err *err)
{
	struct emb *kv;
	int ret;

	ret = emb_cfg_check(cfg, err);
	if (ret < 0)
		return ret;
	ret = -ENOMEM;
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		goto nomem;
	kv->dirfd = kv->lockfd = kv->logfd = -1;
	kv->base.ops = &kv_embedded_ops;
	kv->loop = loop;
	kv->pend_tail = &kv->pend;
	kv->done_tail = &kv->done;
	kv->sync_interval = cfg->sync_interval;
	kv->plen = cfg->prefix ? strlen(cfg->prefix) : 0;
	memcpy(kv->prefix, cfg->prefix ? cfg->prefix : "", kv->plen + 1);
	kv->path = strdup(cfg->path);
	kv->scratch = malloc(EMB_SCRATCH);
	if (!kv->path || !kv->scratch)
		goto nomem;
	ret = emb_dir_lock(kv, err);
	if (ret < 0)
		goto fail;
	ret = emb_recover(kv, err);
	if (ret < 0)
		goto fail;
	emb_handles_init(kv);
	*out = &kv->base;
	return 0;
nomem:
	ovn_err_set(err, ret, "store: out of memory");
fail:
	if (kv)
		emb_release(kv);
	return ret;
}
