/* kv_redis_uv.c: the event hooks that run a hiredis async context on the
 * agent's libuv loop (one uv_poll_t per connection).
 *
 * Why not hiredis's own adapters/libuv.h: in 0.14 its poll callback
 * returns without a word when libuv reports an error status. libuv does
 * that (and stops the handle) on POLLERR, which is exactly what a refused
 * connect or a reset socket produces, so with that adapter such a
 * connection is never seen to fail: a refused connect just sits there
 * until some timeout. Here an error status is handed to hiredis as the
 * readiness we were waiting for; its read, write or connect check then
 * meets the socket error and disconnects properly. Everything else
 * follows the original: hooks are idempotent, cleanup forgets the context
 * (a late callback is harmless) and the struct is freed only in the
 * handle's close callback.
 */
#include <errno.h>
#include <stdlib.h>

#include "kv_redis_int.h"

struct rds_uv {
	redisAsyncContext *ac;
	uv_poll_t poll;
	int events;
};

static void rds_uv_poll_cb(uv_poll_t *h, int status, int events)
{
	struct rds_uv *p = h->data;

	if (status < 0)
		events = p->events;
	if (p->ac && (events & UV_READABLE))
		redisAsyncHandleRead(p->ac);
	if (p->ac && (events & UV_WRITABLE))
		redisAsyncHandleWrite(p->ac);
}

static void rds_uv_update(struct rds_uv *p, int events)
{
	p->events = events;
	if (events)
		uv_poll_start(&p->poll, events, rds_uv_poll_cb);
	else
		uv_poll_stop(&p->poll);
}

static void rds_uv_add_read(void *data)
{
	struct rds_uv *p = data;

	rds_uv_update(p, p->events | UV_READABLE);
}

static void rds_uv_del_read(void *data)
{
	struct rds_uv *p = data;

	rds_uv_update(p, p->events & ~UV_READABLE);
}

static void rds_uv_add_write(void *data)
{
	struct rds_uv *p = data;

	rds_uv_update(p, p->events | UV_WRITABLE);
}

static void rds_uv_del_write(void *data)
{
	struct rds_uv *p = data;

	rds_uv_update(p, p->events & ~UV_WRITABLE);
}

static void rds_uv_closed(uv_handle_t *h)
{
	free(h->data);
}

static void rds_uv_cleanup(void *data)
{
	struct rds_uv *p = data;

	p->ac = NULL;
	uv_close((uv_handle_t *)&p->poll, rds_uv_closed);
}

int rds_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	struct rds_uv *p;

	if (ac->ev.data)
		return -EEXIST;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (uv_poll_init(loop, &p->poll, ac->c.fd) < 0) {
		free(p);
		return -EBADF;
	}
	p->ac = ac;
	p->poll.data = p;
	ac->ev.data = p;
	ac->ev.addRead = rds_uv_add_read;
	ac->ev.delRead = rds_uv_del_read;
	ac->ev.addWrite = rds_uv_add_write;
	ac->ev.delWrite = rds_uv_del_write;
	ac->ev.cleanup = rds_uv_cleanup;
	return 0;
}
