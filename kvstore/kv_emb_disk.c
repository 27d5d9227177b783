/* kv_emb_disk.c: the embedded store's file formats. Pure byte and file work,
 * no libuv and no store state, so the compaction worker thread may call
 * emb_snap_write() while the loop keeps running.
 *
 * Log record (one per committed transaction, little-endian):
 *
 *	u32 len     bytes of body
 *	u32 crc     CRC32 (IEEE, reflected 0xEDB88320) of body
 *	body:	u64 rev, u32 nops,
 *		nops x { u8 op (1 put, 2 del), u32 klen, u32 vlen, key, value }
 *
 * A transaction is one record written with one write(), so replay applies
 * it whole or not at all. Replay stops at the first record that is short,
 * fails its CRC or does not parse: that is the expected shape of a crash in
 * the middle of a write (or of a power loss that kept the new file size but
 * not the data), and everything before it was acknowledged in order.
 * Revisions must follow on: records at or below the current revision are
 * skipped (an interrupted compaction leaves them behind), and a record that
 * jumps ahead also ends replay, so a lost tail never leaves a hole.
 *
 * Snapshot: "OVNKVS\0\1", u64 rev, u64 count, count x { u64 mod_rev,
 * u32 klen, u32 vlen, key, value } in key order, then u32 CRC32 of all that.
 * It is written whole to a temp file, fsynced and renamed over, so it is
 * never torn: a bad snapshot is reported, not repaired.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv_emb_int.h"

#define REC_HDR		8	/* len, crc */
#define REC_BODY_HDR	12	/* rev, nops */
#define REC_OP_HDR	9	/* op, klen, vlen */
#define SNAP_HDR	24	/* magic, rev, count */
#define SNAP_ENT_HDR	16	/* mod_rev, klen, vlen */
#define SNAP_MAGIC	"OVNKVS\0\1"

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t emb_crc32(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = 0xffffffffu;

	pthread_once(&crc_once, crc_table_init);
	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void put_u32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

static void put_u64(char *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24;
}

static uint64_t get_u64(const char *p)
{
	return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

int emb_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		buf += w;
		len -= w;
	}
	return 0;
}

/* Read a whole file into memory. -ENOENT when it does not exist. */
static int read_file(int dirfd, const char *name, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd, ret;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = -errno;
	if (fstat(fd, &st) < 0)
		goto out;
	ret = -ENOMEM;
	*buf = malloc(st.st_size ? st.st_size : 1);
	if (!*buf)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, *buf + got, st.st_size - got, got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;		/* shrank under us: use what we have */
		got += r;
	}
	*len = got;
	ret = 0;
out:
	close(fd);
	return ret;
}

size_t emb_rec_size(const struct emb_rec_op *ops, size_t n)
{
	size_t s = REC_HDR + REC_BODY_HDR;

	for (size_t i = 0; i < n; i++)
		s += REC_OP_HDR + ops[i].klen + ops[i].vlen;
	return s;
}

void emb_rec_encode(char *buf, uint64_t rev, const struct emb_rec_op *ops, size_t n)
{
	char *body = buf + REC_HDR, *p = body;

	put_u64(p, rev);
	put_u32(p + 8, n);
	p += REC_BODY_HDR;
	for (size_t i = 0; i < n; i++) {
		*p = ops[i].type;
		put_u32(p + 1, ops[i].klen);
		put_u32(p + 5, ops[i].vlen);
		p += REC_OP_HDR;
		memcpy(p, ops[i].key, ops[i].klen);
		p += ops[i].klen;
		if (ops[i].vlen)
			memcpy(p, ops[i].val, ops[i].vlen);
		p += ops[i].vlen;
	}
	put_u32(buf, p - body);
	put_u32(buf + 4, emb_crc32(body, p - body));
}

/* Decode one op at body[*pos]; -EINVAL when it does not fit or make sense. */
static int rec_parse_op(const char *body, size_t len, size_t *pos, struct emb_rec_op *op)
{
	const char *p = body + *pos;

	if (len - *pos < REC_OP_HDR)
		return -EINVAL;
	op->type = (uint8_t)p[0];
	op->klen = get_u32(p + 1);
	op->vlen = get_u32(p + 5);
	if (op->type != EMB_REC_PUT && op->type != EMB_REC_DEL)
		return -EINVAL;
	if (op->klen == 0 || op->klen > EMB_KEY_MAX || op->vlen > EMB_VAL_MAX)
		return -EINVAL;
	if (op->type == EMB_REC_DEL && op->vlen)
		return -EINVAL;
	if (len - *pos - REC_OP_HDR < (size_t)op->klen + op->vlen)
		return -EINVAL;
	op->key = p + REC_OP_HDR;
	op->val = op->key + op->klen;
	if (memchr(op->key, '\0', op->klen))
		return -EINVAL;
	*pos += REC_OP_HDR + op->klen + op->vlen;
	return 0;
}

static int rec_parse(const char *body, size_t len, uint64_t *rev, struct emb_rec_op *ops,
		     size_t *n)
{
	size_t pos = REC_BODY_HDR;
	uint32_t nops;

	if (len < REC_BODY_HDR)
		return -EINVAL;
	*rev = get_u64(body);
	nops = get_u32(body + 8);
	if (nops == 0 || nops > KV_TXN_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < nops; i++)
		if (rec_parse_op(body, len, &pos, &ops[i]) < 0)
			return -EINVAL;
	*n = nops;
	return pos == len ? 0 : -EINVAL;
}

static int rec_apply(struct emb_map *m, uint64_t rev, const struct emb_rec_op *ops, size_t n)
{
	char key[EMB_KEY_MAX + 1];

	if (emb_map_reserve(m, n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct emb_ent *e;

		if (ops[i].type == EMB_REC_DEL) {
			memcpy(key, ops[i].key, ops[i].klen);
			key[ops[i].klen] = '\0';
			emb_map_del(m, key);
			continue;
		}
		e = emb_ent_new(ops[i].key, ops[i].klen, ops[i].val, ops[i].vlen, rev);
		if (!e)
			return -ENOMEM;
		emb_map_put(m, e);
	}
	return 0;
}

/* One record at buf[pos]: 1 applied or skipped (continue), 0 end of the good
 * prefix, < 0 a real error. */
static int replay_one(const char *buf, size_t len, size_t *pos, struct emb_map *m,
		      uint64_t *rev)
{
	struct emb_rec_op ops[KV_TXN_MAX];
	const char *body = buf + *pos + REC_HDR;
	uint32_t blen;
	uint64_t rrev;
	size_t n;
	int ret;

	if (len - *pos < REC_HDR)
		return 0;
	blen = get_u32(buf + *pos);
	if (blen > len - *pos - REC_HDR)
		return 0;
	if (emb_crc32(body, blen) != get_u32(buf + *pos + 4))
		return 0;
	if (rec_parse(body, blen, &rrev, ops, &n) < 0 || rrev > *rev + 1)
		return 0;
	if (rrev == *rev + 1) {
		ret = rec_apply(m, rrev, ops, n);
		if (ret < 0)
			return ret;
		*rev = rrev;
	}
	*pos += REC_HDR + blen;
	return 1;
}

int emb_log_replay(int dirfd, const char *name, struct emb_map *m, uint64_t *rev,
		   off_t *good_len, struct ovn_err *err)
{
	char *buf = NULL;
	size_t len = 0, pos = 0;
	int ret;

	ret = read_file(dirfd, name, &buf, &len);
	if (ret == -ENOENT)
		return ret;
	if (ret < 0)
		return ovn_err_set(err, ret, "store.path: cannot read %s: %s", name,
				   strerror(-ret));
	while ((ret = replay_one(buf, len, &pos, m, rev)) > 0)
		;
	if (ret < 0)
		ovn_err_set(err, ret, "store.path: replaying %s: %s", name, strerror(-ret));
	*good_len = pos;
	free(buf);
	return ret;
}

int emb_snap_encode(const struct emb_map *m, uint64_t rev, char **out, size_t *out_len)
{
	size_t len = SNAP_HDR + 4;
	char *buf, *p;

	for (size_t i = 0; i < m->n; i++)
		len += SNAP_ENT_HDR + m->v[i]->klen + m->v[i]->vlen;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, SNAP_MAGIC, 8);
	put_u64(buf + 8, rev);
	put_u64(buf + 16, m->n);
	p = buf + SNAP_HDR;
	for (size_t i = 0; i < m->n; i++) {
		const struct emb_ent *e = m->v[i];

		put_u64(p, e->mod_rev);
		put_u32(p + 8, e->klen);
		put_u32(p + 12, e->vlen);
		p += SNAP_ENT_HDR;
		memcpy(p, e->key, e->klen);
		memcpy(p + e->klen, e->val, e->vlen);
		p += e->klen + e->vlen;
	}
	put_u32(p, emb_crc32(buf, p - buf));
	*out = buf;
	*out_len = len;
	return 0;
}

static int fsync_close(int fd)
{
	int ret = fsync(fd) < 0 ? -errno : 0;

	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Temp file, fsync, rename over, fsync the directory: after a crash the old
 * or the new snapshot is there, whole. *step names what failed. */
int emb_snap_write(int dirfd, const char *buf, size_t len, const char **step)
{
	int fd, ret;

	*step = "create " EMB_SNAP_TMP;
	fd = openat(dirfd, EMB_SNAP_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	*step = "write " EMB_SNAP_TMP;
	ret = emb_write_all(fd, buf, len);
	if (ret < 0) {
		close(fd);
		goto fail;
	}
	*step = "fsync " EMB_SNAP_TMP;
	ret = fsync_close(fd);
	if (ret < 0)
		goto fail;
	*step = "rename " EMB_SNAP_TMP;
	if (renameat(dirfd, EMB_SNAP_TMP, dirfd, EMB_SNAP) < 0) {
		ret = -errno;
		goto fail;
	}
	*step = "fsync the directory";
	return fsync(dirfd) < 0 ? -errno : 0;
fail:
	unlinkat(dirfd, EMB_SNAP_TMP, 0);
	return ret;
}

/* Decode one snapshot entry at buf[*pos] and add it to the map. */
static int snap_load_one(const char *buf, size_t end, size_t *pos, struct emb_map *m,
			 uint64_t rev)
{
	const char *p = buf + *pos;
	struct emb_ent *e;
	uint32_t klen, vlen;

	if (end - *pos < SNAP_ENT_HDR)
		return -EIO;
	klen = get_u32(p + 8);
	vlen = get_u32(p + 12);
	if (klen == 0 || klen > EMB_KEY_MAX || vlen > EMB_VAL_MAX ||
	    end - *pos - SNAP_ENT_HDR < (size_t)klen + vlen ||
	    memchr(p + SNAP_ENT_HDR, '\0', klen) || get_u64(p) > rev)
		return -EIO;
	e = emb_ent_new(p + SNAP_ENT_HDR, klen, p + SNAP_ENT_HDR + klen, vlen, get_u64(p));
	if (!e)
		return -ENOMEM;
	/* Written in key order: anything else is damage, not data. */
	if (m->n && strcmp(m->v[m->n - 1]->key, e->key) >= 0) {
		free(e);
		return -EIO;
	}
	m->v[m->n++] = e;
	m->bytes += SNAP_ENT_HDR + klen + vlen;
	*pos += SNAP_ENT_HDR + klen + vlen;
	return 0;
}

static int snap_parse(const char *buf, size_t len, struct emb_map *m, uint64_t *rev)
{
	size_t pos = SNAP_HDR, end = len - 4;
	uint64_t count;
	int ret;

	if (len < SNAP_HDR + 4 || memcmp(buf, SNAP_MAGIC, 8) ||
	    emb_crc32(buf, end) != get_u32(buf + end))
		return -EIO;
	*rev = get_u64(buf + 8);
	count = get_u64(buf + 16);
	if (count > (end - SNAP_HDR) / SNAP_ENT_HDR)
		return -EIO;
	ret = emb_map_reserve(m, count);
	if (ret < 0)
		return ret;
	for (uint64_t i = 0; i < count; i++) {
		ret = snap_load_one(buf, end, &pos, m, *rev);
		if (ret < 0)
			return ret;
	}
	return pos == end ? 0 : -EIO;
}

int emb_snap_load(int dirfd, const char *path, struct emb_map *m, uint64_t *rev,
		  struct ovn_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = read_file(dirfd, EMB_SNAP, &buf, &len);
	if (ret == -ENOENT)
		return 0;	/* a store that never compacted */
	if (ret < 0)
		return ovn_err_set(err, ret, "store.path: cannot read %s/%s: %s", path,
				   EMB_SNAP, strerror(-ret));
	ret = snap_parse(buf, len, m, rev);
	free(buf);
	if (ret == -EIO)
		return ovn_err_set(err, ret, "store.path: %s/%s is corrupt (checksum or "
				   "format); restore the directory from a backup or "
				   "remove it to start empty", path, EMB_SNAP);
	if (ret < 0)
		return ovn_err_set(err, ret, "store.path: loading %s/%s: %s", path, EMB_SNAP,
				   strerror(-ret));
	return 0;
}
