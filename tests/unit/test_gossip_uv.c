/* test_gossip_uv.c: the libuv transport (gossip/gossip_uv.c) over loopback:
 * two cores on 127.0.0.1 (ports picked by the kernel) join over TCP
 * push-pull, probe each other over UDP, pass a user event, with and without
 * a key; every handle is closed and the loop closes cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "gossip.h"

struct side {
	struct gossip_uv *u;
	unsigned joins, events;
	char last[64];
};

static int closed;

static void on_join(void *arg, const struct gossip_member *m)
{
	((struct side *)arg)->joins++;
}

static void on_event(void *arg, const char *name, const void *p, size_t len, uint64_t ltime)
{
	struct side *s = arg;

	s->events++;
	snprintf(s->last, sizeof(s->last), "%s=%.*s", name, (int)len, (const char *)p);
}

static void on_closed(void *arg)
{
	closed++;
}

static void start(uv_loop_t *loop, struct side *s, const char *name, const uint8_t *key)
{
	struct gossip_cb cb = { .on_member_join = on_join, .on_event = on_event, .arg = s };
	struct gossip_config cfg;

	gossip_config_lan(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.addr = (struct gossip_addr){ .family = AF_INET, .ip = { 127, 0, 0, 1 } };
	cfg.probe_interval_ms = 200;
	cfg.probe_timeout_ms = 100;
	assert_int_equal(gossip_uv_new(loop, &cfg, &cb, &s->u), 0);
	assert_int_not_equal(gossip_uv_addr(s->u)->port, 0);
	if (key)
		assert_int_equal(gossip_key_install(gossip_uv_core(s->u), key), 0);
}

struct wait {
	bool (*done)(void *arg);
	void *arg;
	int polls;
};

static void poll_cb(uv_timer_t *t)
{
	struct wait *w = t->data;

	if (w->done(w->arg) || ++w->polls > 500)
		uv_stop(t->loop);
}

/* Run the loop until done() or 5 s. */
static void run_until(uv_loop_t *loop, bool (*done)(void *), void *arg)
{
	struct wait w = { done, arg, 0 };
	uv_timer_t t;

	uv_timer_init(loop, &t);
	t.data = &w;
	uv_timer_start(&t, poll_cb, 10, 10);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

static bool both_joined(void *arg)
{
	struct side *s = arg;

	return s[0].joins == 1 && s[1].joins == 1;
}

static bool got_event(void *arg)
{
	return ((struct side *)arg)[1].events == 1;
}

static bool all_closed(void *arg)
{
	return closed == 2;
}

static void pair(const uint8_t *key)
{
	struct side s[2] = { 0 };
	uv_loop_t loop;

	closed = 0;
	assert_int_equal(uv_loop_init(&loop), 0);
	start(&loop, &s[0], "a", key);
	start(&loop, &s[1], "b", key);
	assert_int_equal(gossip_join(gossip_uv_core(s[1].u), gossip_uv_addr(s[0].u), 1), 0);
	run_until(&loop, both_joined, s);
	assert_int_equal(s[0].joins, 1);
	assert_int_equal(s[1].joins, 1);
	assert_int_equal(gossip_event_send(gossip_uv_core(s[0].u), "ep.join", "web", 3), 0);
	run_until(&loop, got_event, s);
	assert_string_equal(s[1].last, "ep.join=web");
	/* Probes flowed over UDP both ways, and nothing was refused. */
	assert_true(gossip_stats(gossip_uv_core(s[1].u))->pkts_in > 0);
	assert_int_equal(gossip_stats(gossip_uv_core(s[0].u))->auth_failures, 0);
	assert_int_equal(gossip_member_count(gossip_uv_core(s[0].u), GOSSIP_MASK_LIVE), 2);
	gossip_uv_close(s[0].u, on_closed, NULL);
	gossip_uv_close(s[1].u, on_closed, NULL);
	run_until(&loop, all_closed, NULL);
	assert_int_equal(closed, 2);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_plain(void **state)
{
	pair(NULL);
}

static void test_encrypted(void **state)
{
	static const uint8_t key[GOSSIP_KEY_LEN] = { 0x42 };

	pair(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_encrypted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
