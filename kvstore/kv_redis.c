/* kv_redis.c: the Redis backend of kvstore.h, for clusters of agents that
 * share one Redis server (standalone, 5.0 or newer; 7.0 is tested).
 *
 * Data model, all under the store prefix P (cfg->prefix, "" if unset):
 *	P<key>		hash {v: value, r: mod_rev} per key
 *	P\0idx		sorted set of all keys, score 0, so list(prefix) is one
 *			ZRANGEBYLEX [Pprefix (Pprefix+1 in byte order
 *	P\0rev		the store-wide revision counter
 *	P\0ev		stream of committed writes, entry ID "<rev>-<op index>",
 *			fields {t: p|d, k: key, v: value, n: ops in the txn},
 *			trimmed to about 100,000 entries
 * (keys never contain NUL, so the three \0 names cannot collide with one).
 *
 * Every request is one EVALSHA of a Lua script (kv_redis_lua.c), which
 * Redis runs atomically: a transaction checks all its compares, then bumps
 * the revision once and applies every op, the index and the stream with
 * that revision; a failed compare writes nothing (-ECANCELED). That is a
 * real multi-key compare-and-swap: two agents creating the same key with
 * KV_CMP_ABSENT cannot both succeed. get and list are scripts too, so a
 * list is one consistent snapshot and both report the store revision.
 * Scripts are loaded at every connect; a NOSCRIPT reply (the server's
 * script cache was flushed) is answered by re-sending the source with EVAL.
 * A transaction that changes nothing (checks only, deletes of absent keys)
 * does not bump the revision, so every revision has stream entries and a
 * watcher can tell a hole in the stream from a quiet store.
 *
 * Two connections through hiredis's async API on the agent's loop:
 * commands, and the watches' blocking XREAD, which would otherwise hold up
 * every command behind it (kv_redis_conn.c, kv_redis_watch.c). The loop
 * hooks are our own (kv_redis_uv.c) because hiredis 0.14's libuv adapter
 * ignores socket errors.
 *
 * Failure behaviour: every request has a deadline (cfg->timeout, 5 s by
 * default) and fails -ETIMEDOUT when it passes (a late reply is ignored);
 * at most 10,000 requests are outstanding, then calls return -EAGAIN. When
 * the connection is lost, requests sent on it fail -ECONNRESET; while it
 * is down, new ones fail at once with -ENOTCONN, "store: redis://...: not
 * connected (reconnecting...)"; reconnects back off from 100 ms to 5 s with
 * jitter. Watches resume from the last event they delivered, or report
 * cb(NULL) when the stream no longer holds what they missed.
 *
 * Config: cfg->endpoints[0] = "redis://HOST:PORT[/DB]" (HOST an address or
 * [IPv6]; a name is resolved with a blocking lookup at each connect), AUTH
 * with the first line of cfg->password_file.
 *
 * Does not: TLS (hiredis 0.14 has none: a cfg->tls setting is refused
 * with -ENOTSUP; use a TLS tunnel such as stunnel, or the etcd backend),
 * Redis Cluster (the scripts touch keys they do not declare), Sentinel
 * failover, or ACL user names (AUTH takes the password only). The counter
 * and stream are only as durable as the server's persistence: a server
 * restarted without its data starts revisions again, which watchers see as
 * a gap (cb(NULL)), but mod_revs handed out before are meaningless then.
 *
 * TODO: several endpoints with failover via Sentinel; counters for agent
 * metrics (reconnects, timeouts, queue depth).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsperm.h"
#include "kv_int.h"
#include "kv_redis_int.h"
#include "util.h"

/* ---- commands ---- */

int rds_cmd_add(struct rds_cmd *c, const void *p, size_t len)
{
	if (c->argc == RDS_ARGC_MAX)
		return -E2BIG;
	if (c->used + len + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 256;
		char *buf;

		while (cap < c->used + len + 1)
			cap *= 2;
		buf = realloc(c->buf, cap);
		if (!buf)
			return -ENOMEM;
		c->buf = buf;
		c->cap = cap;
	}
	if (len)
		memcpy(c->buf + c->used, p, len);
	c->buf[c->used + len] = '\0';
	c->off[c->argc] = c->used;
	c->len[c->argc++] = len;
	c->used += len + 1;
	return 0;
}

int rds_cmd_addf(struct rds_cmd *c, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(tmp))
		return -EINVAL;
	return rds_cmd_add(c, tmp, len);
}

/* An argument made of the store prefix and a key (or key prefix). */
static int rds_cmd_key(struct rds_cmd *c, const struct rds *kv, const char *lead,
		       const char *key)
{
	size_t ll = strlen(lead), kl = strlen(key);
	char *tmp = malloc(ll + kv->plen + kl + 1);
	int ret;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, lead, ll);
	memcpy(tmp + ll, kv->prefix, kv->plen);
	memcpy(tmp + ll + kv->plen, key, kl);
	ret = rds_cmd_add(c, tmp, ll + kv->plen + kl);
	free(tmp);
	return ret;
}

/* ---- requests ---- */

struct rds_req *rds_req_new(struct rds *kv, enum rds_kind kind)
{
	struct rds_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->kv = kv;
	r->kind = kind;
	r->holds = RDS_HOLD_USER;
	r->res.msg = "";
	if (kind == RDS_GET || kind == RDS_LIST || kind == RDS_TXN)
		kv->nreqs++;
	return r;
}

void rds_req_release(struct rds_req *r, unsigned int hold)
{
	r->holds &= ~hold;
	if (r->holds)
		return;
	if (r->kind == RDS_GET || r->kind == RDS_LIST || r->kind == RDS_TXN)
		r->kv->nreqs--;
	if (r->w)
		rds_watch_unref(r->w);
	free(r->cmd.buf);
	free(r->ents);
	free(r->blob);
	free(r);
}

/* Redis error prefixes that mean something to a caller. */
static const struct {
	const char *prefix;
	int status;
} rds_errors[] = {
	{ "NOAUTH", -EACCES },
	{ "WRONGPASS", -EACCES },
	{ "NOPERM", -EACCES },
	{ "ERR AUTH", -EACCES },
	{ "ERR invalid password", -EACCES },
	{ "LOADING", -EAGAIN },
	{ "BUSY", -EBUSY },
	{ "READONLY", -EROFS },
	{ "OOM", -ENOSPC },
};

int rds_status_of(const char *redis_err)
{
	for (size_t i = 0; i < ARRAY_SIZE(rds_errors); i++)
		if (strncmp(redis_err, rds_errors[i].prefix, strlen(rds_errors[i].prefix)) == 0)
			return rds_errors[i].status;
	return -EIO;
}

/* Submit a request whose arguments were built, or free it on error. */
static int rds_start(struct rds *kv, struct rds_req *r, int built, kv_cb cb, void *arg)
{
	if (built < 0) {
		rds_req_release(r, RDS_HOLD_USER);
		return built;
	}
	r->cb = cb;
	r->arg = arg;
	rds_submit(kv, r);
	return 0;
}

/* ---- argument checks ---- */

/* Keys are paths: "/..." ; a list or watch prefix may be "" (all keys). */
int rds_key_check(const struct rds *kv, const char *key, bool as_prefix)
{
	if (!key || (!key[0] && !as_prefix) || (key[0] && key[0] != '/'))
		return -EINVAL;
	if (kv->plen + strlen(key) > RDS_KEY_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int rds_call_check(const struct rds *kv, const char *key, bool as_prefix, kv_cb cb)
{
	if (!cb)
		return -EINVAL;
	if (kv->closing)
		return -ESHUTDOWN;
	if (kv->nreqs >= RDS_INFLIGHT_MAX)
		return -EAGAIN;
	return rds_key_check(kv, key, as_prefix);
}

static bool rds_op_writes(const struct kv_op *op)
{
	return op->type == KV_OP_PUT || op->type == KV_OP_DEL;
}

static int rds_op_check(const struct rds *kv, const struct kv_op *op)
{
	if ((unsigned int)op->type > KV_OP_CHECK || (unsigned int)op->cmp > KV_CMP_PRESENT)
		return -EINVAL;
	if (op->type == KV_OP_CHECK && op->cmp == KV_CMP_NONE)
		return -EINVAL;
	if (op->type == KV_OP_PUT && ((!op->value && op->len) || op->len > RDS_VAL_MAX))
		return op->len > RDS_VAL_MAX ? -E2BIG : -EINVAL;
	return rds_key_check(kv, op->key, false);
}

/* Two writes to one key in a transaction are refused (as etcd and the
 * embedded store do): the outcome would hang on an order nobody meant. */
static int rds_txn_check(const struct rds *kv, const struct kv_op *ops, size_t n)
{
	if (kv->closing)
		return -ESHUTDOWN;
	if (!ops || n == 0 || n > KV_TXN_MAX)
		return -EINVAL;
	if (kv->nreqs >= RDS_INFLIGHT_MAX)
		return -EAGAIN;
	for (size_t i = 0; i < n; i++) {
		int ret = rds_op_check(kv, &ops[i]);

		if (ret < 0)
			return ret;
		for (size_t j = 0; j < i; j++)
			if (rds_op_writes(&ops[i]) && rds_op_writes(&ops[j]) &&
			    strcmp(ops[i].key, ops[j].key) == 0)
				return -EINVAL;
	}
	return 0;
}

/* ---- get ---- */

static int rds_get(struct kv *base, const char *key, kv_cb cb, void *arg)
{
	struct rds *kv = (struct rds *)base;
	struct rds_req *r;
	int ret;

	ret = rds_call_check(kv, key, false, cb);
	if (ret < 0)
		return ret;
	r = rds_req_new(kv, RDS_GET);
	if (!r)
		return -ENOMEM;
	r->cmd.script = RDS_LUA_GET;
	ret = rds_cmd_add(&r->cmd, "2", 1);
	if (ret == 0)
		ret = rds_cmd_key(&r->cmd, kv, "", key);
	if (ret == 0)
		ret = rds_cmd_add(&r->cmd, kv->key_rev, kv->klen_rev);
	return rds_start(kv, r, ret, cb, arg);
}

bool rds_u64_reply(const redisReply *e, uint64_t *out)
{
	char *end;

	if (e->type == REDIS_REPLY_INTEGER && e->integer >= 0) {
		*out = e->integer;
		return true;
	}
	if (e->type != REDIS_REPLY_STRING || e->len == 0)
		return false;
	*out = strtoull(e->str, &end, 10);
	return end == e->str + e->len;
}

/* {store rev, value or nil, mod_rev or nil} */
static void rds_get_reply(struct rds *kv, struct rds_req *r, const redisReply *rep)
{
	const char *key = r->cmd.buf + r->cmd.off[1] + kv->plen;
	size_t klen = r->cmd.len[1] - kv->plen;
	const redisReply *v, *mr;
	char *p;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    !rds_u64_reply(rep->element[0], &r->res.rev))
		goto bad;
	v = rep->element[1];
	mr = rep->element[2];
	if (v->type == REDIS_REPLY_NIL) {
		rds_answer(r, -ENOENT, "'%s': not found", key);
		return;
	}
	if (v->type != REDIS_REPLY_STRING || !rds_u64_reply(mr, &r->one.mod_rev))
		goto bad;
	p = r->blob = malloc(klen + 1 + v->len + 1);
	if (!p) {
		rds_answer(r, -ENOMEM, "store: out of memory");
		return;
	}
	memcpy(p, key, klen + 1);
	memcpy(p + klen + 1, v->str, v->len);
	p[klen + 1 + v->len] = '\0';
	r->one.key = p;
	r->one.value = p + klen + 1;
	r->one.len = v->len;
	r->res.n = 1;
	r->res.entries = &r->one;
	rds_answer_ok(r);
	return;
bad:
	rds_answer(r, -EPROTO, "store: %s: unexpected reply to get", kv->url);
}

/* ---- list ---- */

/* The exclusive upper bound of every string starting with the argument
 * c holds (last byte + 1, trailing 0xff bytes dropped); "+" when none. */
static int rds_cmd_upper(struct rds_cmd *c)
{
	size_t i = c->argc - 1, len = c->len[i];
	unsigned char *min = (unsigned char *)c->buf + c->off[i] + 1;	/* after '[' */
	char *tmp;
	int ret;

	len--;
	while (len && min[len - 1] == 0xff)
		len--;
	if (!len)
		return rds_cmd_add(c, "+", 1);
	tmp = malloc(len + 1);
	if (!tmp)
		return -ENOMEM;
	tmp[0] = '(';
	memcpy(tmp + 1, min, len);
	tmp[len] = (char)(min[len - 1] + 1);
	ret = rds_cmd_add(c, tmp, len + 1);
	free(tmp);
	return ret;
}

static int rds_list(struct kv *base, const char *prefix, kv_cb cb, void *arg)
{
	struct rds *kv = (struct rds *)base;
	struct rds_req *r;
	int ret;

	ret = rds_call_check(kv, prefix, true, cb);
	if (ret < 0)
		return ret;
	r = rds_req_new(kv, RDS_LIST);
	if (!r)
		return -ENOMEM;
	r->cmd.script = RDS_LUA_LIST;
	ret = rds_cmd_add(&r->cmd, "2", 1);
	if (ret == 0)
		ret = rds_cmd_add(&r->cmd, kv->key_idx, kv->klen_idx);
	if (ret == 0)
		ret = rds_cmd_add(&r->cmd, kv->key_rev, kv->klen_rev);
	if (ret == 0)
		ret = rds_cmd_key(&r->cmd, kv, "[", prefix[0] ? prefix : "/");
	if (ret == 0)
		ret = rds_cmd_upper(&r->cmd);
	return rds_start(kv, r, ret, cb, arg);
}

static bool rds_list_valid(const struct rds *kv, const redisReply *rep, size_t *bytes)
{
	*bytes = 0;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 3 != 1)
		return false;
	for (size_t i = 1; i < rep->elements; i += 3) {
		const redisReply *k = rep->element[i], *v = rep->element[i + 1];
		uint64_t rev;

		if (k->type != REDIS_REPLY_STRING || (size_t)k->len < kv->plen ||
		    v->type != REDIS_REPLY_STRING || !rds_u64_reply(rep->element[i + 2], &rev))
			return false;
		*bytes += k->len - kv->plen + 1 + v->len + 1;
	}
	return true;
}

/* {store rev, key1, value1, rev1, ...}: copied, keys without the prefix. */
static void rds_list_reply(struct rds *kv, struct rds_req *r, const redisReply *rep)
{
	size_t bytes, n;
	char *p;

	if (!rds_list_valid(kv, rep, &bytes) || !rds_u64_reply(rep->element[0], &r->res.rev)) {
		rds_answer(r, -EPROTO, "store: %s: unexpected reply to list", kv->url);
		return;
	}
	n = rep->elements / 3;
	if (n) {
		r->ents = calloc(n, sizeof(*r->ents));
		p = r->blob = malloc(bytes);
		if (!r->ents || !p) {
			rds_answer(r, -ENOMEM, "store: out of memory");
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const redisReply *k = rep->element[1 + 3 * i], *v = rep->element[2 + 3 * i];
		size_t klen = k->len - kv->plen;

		r->ents[i].key = p;
		memcpy(p, k->str + kv->plen, klen);
		p[klen] = '\0';
		p += klen + 1;
		r->ents[i].value = p;
		memcpy(p, v->str, v->len);
		p[v->len] = '\0';
		p += v->len + 1;
		r->ents[i].len = v->len;
		rds_u64_reply(rep->element[3 + 3 * i], &r->ents[i].mod_rev);
	}
	r->res.n = n;
	r->res.entries = r->ents;
	rds_answer_ok(r);
}

/* ---- transactions ---- */

static const char rds_op_code[] = { [KV_OP_PUT] = 'p', [KV_OP_DEL] = 'd', [KV_OP_CHECK] = 'c' };
static const char rds_cmp_code[] = {
	[KV_CMP_NONE] = 'n', [KV_CMP_ABSENT] = 'a', [KV_CMP_REV] = 'r', [KV_CMP_PRESENT] = 'p',
};

static int rds_txn_build(struct rds *kv, struct rds_cmd *c, const struct kv_op *ops, size_t n)
{
	int ret;

	c->script = RDS_LUA_TXN;
	ret = rds_cmd_addf(c, "%zu", 3 + n);
	if (ret == 0)
		ret = rds_cmd_add(c, kv->key_rev, kv->klen_rev);
	if (ret == 0)
		ret = rds_cmd_add(c, kv->key_idx, kv->klen_idx);
	if (ret == 0)
		ret = rds_cmd_add(c, kv->key_ev, kv->klen_ev);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = rds_cmd_key(c, kv, "", ops[i].key);
	if (ret == 0)
		ret = rds_cmd_add(c, RDS_STREAM_MAXLEN, strlen(RDS_STREAM_MAXLEN));
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct kv_op *op = &ops[i];
		bool put = op->type == KV_OP_PUT;

		ret = rds_cmd_add(c, &rds_op_code[op->type], 1);
		if (ret == 0)
			ret = rds_cmd_add(c, &rds_cmp_code[op->cmp], 1);
		if (ret == 0)
			ret = rds_cmd_addf(c, "%llu", (unsigned long long)op->rev);
		if (ret == 0)
			ret = rds_cmd_add(c, put ? op->value : "", put ? op->len : 0);
	}
	return ret;
}

static int rds_txn(struct kv *base, const struct kv_op *ops, size_t n, kv_cb cb, void *arg)
{
	struct rds *kv = (struct rds *)base;
	struct rds_req *r;
	int ret;

	ret = rds_txn_check(kv, ops, n);
	if (ret < 0)
		return ret;
	r = rds_req_new(kv, RDS_TXN);
	if (!r)
		return -ENOMEM;
	return rds_start(kv, r, rds_txn_build(kv, &r->cmd, ops, n), cb, arg);
}

/* {1, rev} or {0, index of the failed compare} */
static void rds_txn_reply(struct rds *kv, struct rds_req *r, const redisReply *rep)
{
	const redisReply *ok, *x;
	size_t nops = r->cmd.argc > 4 ? (r->cmd.argc - 5) / 5 : 0;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
		goto bad;
	ok = rep->element[0];
	x = rep->element[1];
	if (ok->type != REDIS_REPLY_INTEGER || x->type != REDIS_REPLY_INTEGER || x->integer < 0)
		goto bad;
	if (ok->integer == 1) {
		r->res.rev = x->integer;
		rds_answer_ok(r);
		return;
	}
	if ((size_t)x->integer >= nops)
		goto bad;
	rds_answer(r, -ECANCELED, "txn: compare failed on '%s' (op %lld)",
		   r->cmd.buf + r->cmd.off[4 + x->integer] + kv->plen, x->integer);
	return;
bad:
	rds_answer(r, -EPROTO, "store: %s: unexpected reply to txn", kv->url);
}

/* ---- replies ---- */

static void rds_reply_handle(struct rds *kv, struct rds_req *r, const redisReply *rep)
{
	if (rep->type == REDIS_REPLY_ERROR) {
		/* the server's script cache was flushed: send the source */
		if (strncmp(rep->str, "NOSCRIPT", 8) == 0 && !r->eval) {
			r->eval = true;
			if (rds_send(kv, r) == 0)
				return;
		}
		if (r->kind == RDS_WREAD) {
			rds_drop(kv, rds_status_of(rep->str), "store: %s: watch read: %s",
				 kv->url, rep->str);
			return;
		}
		rds_answer(r, rds_status_of(rep->str), "store: %s: %s", kv->url, rep->str);
		return;
	}
	switch (r->kind) {
	case RDS_GET:
		rds_get_reply(kv, r, rep);
		break;
	case RDS_LIST:
		rds_list_reply(kv, r, rep);
		break;
	case RDS_TXN:
		rds_txn_reply(kv, r, rep);
		break;
	case RDS_WREAD:
		rds_wread_reply(r, rep);
		break;
	case RDS_EVENT:
		break;
	}
}

/* hiredis's callback for every request on the command connection. A
 * NULL reply means the context is going away (lost or freed by us). */
void rds_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rds_req *r = privdata;
	struct rds *kv = r->kv;

	if (!reply) {
		rds_ctx_lost(kv, ac, "connection lost");
		rds_answer(r, kv->drop_status, "%s", kv->last_err);
	} else {
		kv->rx_count++;
		if (!r->answered)
			rds_reply_handle(kv, r, reply);
	}
	if (--r->redis_refs == 0)
		rds_req_release(r, RDS_HOLD_REDIS);
}

/* ---- open ---- */

/* "redis://HOST[:PORT][/DB]", HOST may be "[v6 address]". */
static int rds_url_parse(struct rds *kv, const char *url, struct ovn_err *err)
{
	const char *h, *end, *p;
	size_t hlen;
	char *e;
	long v;

	if (strncmp(url, "redis://", 8) != 0)
		goto bad;
	h = url + 8;
	if (*h == '[') {
		end = strchr(++h, ']');
		if (!end)
			goto bad;
		p = end + 1;
	} else {
		end = h + strcspn(h, ":/");
		p = end;
	}
	hlen = end - h;
	if (hlen == 0 || hlen >= sizeof(kv->host))
		goto bad;
	memcpy(kv->host, h, hlen);
	kv->host[hlen] = '\0';
	kv->port = 6379;
	if (*p == ':') {
		v = strtol(p + 1, &e, 10);
		if (e == p + 1 || v < 1 || v > 65535)
			goto bad;
		kv->port = v;
		p = e;
	}
	if (*p == '/' && p[1]) {
		v = strtol(p + 1, &e, 10);
		if (e == p + 1 || v < 0 || v > 1000000 || *e)
			goto bad;
		kv->db = v;
	} else if (*p && strcmp(p, "/") != 0) {
		goto bad;
	}
	snprintf(kv->url, sizeof(kv->url), "%s", url);
	return 0;
bad:
	return ovn_err_set(err, -EINVAL,
			   "store.endpoints: '%s' is not redis://HOST[:PORT][/DB]", url);
}

static int rds_password_read(struct rds *kv, const char *path, struct ovn_err *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return ovn_err_set(err, -errno, "store.password_file: %s: %s", path,
				   strerror(errno));
	if (fsperm_check_fd(fileno(f), path, "store.password_file", FSPERM_SECRET, err) < 0) {
		fclose(f);
		return -EPERM;
	}
	len = getline(&line, &cap, f);
	fclose(f);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (len <= 0) {
		free(line);
		return ovn_err_set(err, -EINVAL, "store.password_file: %s: first line is empty",
				   path);
	}
	kv->password = line;
	return 0;
}

static int rds_cfg_check(const struct kv_config *cfg, struct ovn_err *err)
{
	if (cfg->tls.ca || cfg->tls.cert || cfg->tls.key)
		return ovn_err_set(err, -ENOTSUP,
				   "store.tls: the redis backend has no TLS (hiredis 0.14); "
				   "use a TLS tunnel (stunnel) or the etcd backend");
	if (cfg->n_endpoints != 1 || !cfg->endpoints || !cfg->endpoints[0])
		return ovn_err_set(err, -EINVAL,
				   "store.endpoints: the redis backend takes exactly one "
				   "endpoint, redis://HOST[:PORT][/DB]");
	if (cfg->timeout < 0 || cfg->timeout > 3600)
		return ovn_err_set(err, -EINVAL, "store.timeout: %g is not 0..3600 seconds",
				   cfg->timeout);
	return 0;
}

/* "<prefix>\0<name>": a Redis key no user key can be (keys hold no NUL). */
static char *rds_meta_key(const struct rds *kv, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	char *k = malloc(kv->plen + 1 + nl);

	if (!k)
		return NULL;
	memcpy(k, kv->prefix, kv->plen);
	k[kv->plen] = '\0';
	memcpy(k + kv->plen + 1, name, nl);
	*len = kv->plen + 1 + nl;
	return k;
}

static void rds_free(struct rds *kv)
{
	free(kv->password);
	free(kv->prefix);
	free(kv->key_rev);
	free(kv->key_idx);
	free(kv->key_ev);
	free(kv);
}

static int rds_setup(struct rds *kv, const struct kv_config *cfg, struct ovn_err *err)
{
	int ret;

	ret = rds_url_parse(kv, cfg->endpoints[0], err);
	if (ret == 0 && cfg->password_file)
		ret = rds_password_read(kv, cfg->password_file, err);
	if (ret < 0)
		return ret;
	kv->timeout_ms = (cfg->timeout > 0 ? cfg->timeout : 5) * 1000;
	kv->plen = cfg->prefix ? strlen(cfg->prefix) : 0;
	kv->prefix = strdup(cfg->prefix ? cfg->prefix : "");
	if (!kv->prefix)
		return ovn_err_set(err, -ENOMEM, "store: out of memory");
	kv->key_rev = rds_meta_key(kv, "rev", &kv->klen_rev);
	kv->key_idx = rds_meta_key(kv, "idx", &kv->klen_idx);
	kv->key_ev = rds_meta_key(kv, "ev", &kv->klen_ev);
	if (!kv->key_rev || !kv->key_idx || !kv->key_ev)
		return ovn_err_set(err, -ENOMEM, "store: out of memory");
	return 0;
}

/* Returns at once: the connection is made on the loop, and requests made
 * before it is up wait for it (until their deadline). */
static int rds_open(struct kv **out, uv_loop_t *loop, const struct kv_config *cfg,
		    struct ovn_err *err)
{
	struct rds *kv;
	int ret;

	ret = rds_cfg_check(cfg, err);
	if (ret < 0)
		return ret;
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return ovn_err_set(err, -ENOMEM, "store: out of memory");
	ret = rds_setup(kv, cfg, err);
	if (ret < 0) {
		rds_free(kv);
		return ret;
	}
	kv->base.ops = &kv_redis_ops;
	kv->loop = loop;
	kv->done_tail = &kv->done;
	kv->backoff_ms = RDS_BACKOFF_MIN;
	kv->rng = (uint32_t)uv_hrtime() ^ ((uint32_t)getpid() << 16) ^ (uint32_t)(uintptr_t)kv;
	if (!kv->rng)
		kv->rng = 1;
	rds_handles_init(kv);
	rds_connect(kv);
	*out = &kv->base;
	return 0;
}

/* ---- close ---- */

static void rds_handle_closed(uv_handle_t *h)
{
	struct rds *kv = h->data;
	void (*cb)(void *arg) = kv->close_cb;
	void *arg = kv->close_arg;

	if (--kv->handles > 0)
		return;
	rds_free(kv);
	if (cb)
		cb(arg);
}

/* Called by the drain once every answer was delivered. */
void rds_close_handles(struct rds *kv)
{
	if (kv->close_started)
		return;
	kv->close_started = true;
	uv_close((uv_handle_t *)&kv->idle, rds_handle_closed);
	uv_close((uv_handle_t *)&kv->check, rds_handle_closed);
	uv_close((uv_handle_t *)&kv->tmo, rds_handle_closed);
	uv_close((uv_handle_t *)&kv->xtmo, rds_handle_closed);
	uv_close((uv_handle_t *)&kv->retry, rds_handle_closed);
}

/* Everything unanswered fails -ECANCELED, answers already fixed are
 * delivered, watches end (no watch callback after close), then cb. */
static void rds_close(struct kv *base, void (*cb)(void *arg), void *arg)
{
	struct rds *kv = (struct rds *)base;

	if (kv->closing)
		return;		/* a second close is a caller bug: keep the first */
	kv->closing = true;
	kv->close_cb = cb;
	kv->close_arg = arg;
	uv_timer_stop(&kv->retry);
	rds_watches_kill(kv);
	rds_drop(kv, -ECANCELED, "store: %s: closed before the answer came", kv->url);
	rds_kick(kv);
}

const struct kv_ops kv_redis_ops = {
	.name = "redis",
	.open = rds_open,
	.close = rds_close,
	.get = rds_get,
	.list = rds_list,
	.txn = rds_txn,
	.watch = rds_watch,
	.unwatch = rds_unwatch,
};
