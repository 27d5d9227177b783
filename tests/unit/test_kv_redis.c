/* test_kv_redis.c: the Redis backend against a real redis-server that this
 * binary starts itself: 127.0.0.1 on a free port, in a mkdtemp directory,
 * appendonly on (so the outage test's restart keeps the data, as a real
 * deployment would) and no RDB snapshots. The server runs with
 * PR_SET_PDEATHSIG, so it dies with the test even on a crash; at the end
 * it gets SIGTERM (by PID) and the directory is removed.
 *
 * Runs the conformance suite (kv_conform.c, outage tests included: stop
 * and restart on the same port), then Redis-specific tests: config errors,
 * AUTH, an unreachable server, a flushed script cache, a lost stream, a
 * frozen server (SIGSTOP: timeouts and reconnect), the in-flight bound,
 * and prints latency figures (not asserted).
 *
 * Without redis-server in PATH it prints "SKIP: redis-server not found"
 * and every test skips.
 */
#include "kv_conform.c"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>

#include "kv_redis_int.h"	/* RDS_INFLIGHT_MAX */
#include "util.h"

struct rsrv {
	bool have;		/* redis-server found */
	pid_t pid;
	int port;
	char dir[64];
	char url[64];
	char prefix[32];
	unsigned int n;
};

static struct rsrv srv = { .pid = -1 };

/* ---- the server ---- */

static bool rsrv_found(void)
{
	return kvc_on_path("redis-server");
}

/* A synchronous admin connection (hiredis blocking API). */
static redisContext *rsrv_admin(void)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);

	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Run one admin command; true when it did not answer an error. */
static bool rsrv_cmd(const char *fmt, ...)
{
	redisContext *c = rsrv_admin();
	redisReply *r;
	va_list ap;
	bool ok;

	if (!c)
		return false;
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	ok = r && r->type != REDIS_REPLY_ERROR;
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return ok;
}

static bool rsrv_pings(void)
{
	return rsrv_cmd("PING");
}

static void rsrv_exec(void)
{
	char port[16], log[96];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	snprintf(port, sizeof(port), "%d", srv.port);
	snprintf(log, sizeof(log), "%s/redis.log", srv.dir);
	execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
	       "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
	       "--dir", srv.dir, "--logfile", log, "--daemonize", "no", (char *)NULL);
	_exit(127);
}

/* Start on srv.port and wait (5 s at most) until it answers PING. */
static int rsrv_start(void)
{
	int status;

	srv.pid = fork();
	if (srv.pid < 0)
		return -errno;
	if (srv.pid == 0)
		rsrv_exec();
	for (int i = 0; i < 500; i++) {
		if (rsrv_pings())
			return 0;
		if (waitpid(srv.pid, &status, WNOHANG) == srv.pid) {
			srv.pid = -1;
			return -EADDRINUSE;	/* most likely: the port was taken */
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static int rsrv_stop(void)
{
	int status;

	if (srv.pid <= 0)
		return 0;
	kill(srv.pid, SIGTERM);
	kill(srv.pid, SIGCONT);		/* in case a test left it stopped */
	waitpid(srv.pid, &status, 0);
	srv.pid = -1;
	return 0;
}

static int rsrv_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int rsrv_up(void)
{
	int ret = -EADDRINUSE;

	snprintf(srv.dir, sizeof(srv.dir), "/tmp/ovn-redis-XXXXXX");
	if (!mkdtemp(srv.dir))
		return -errno;
	for (int i = 0; i < 5 && ret == -EADDRINUSE; i++) {
		srv.port = kvc_free_port();
		ret = rsrv_start();
	}
	snprintf(srv.url, sizeof(srv.url), "redis://127.0.0.1:%d", srv.port);
	return ret;
}

static void rsrv_down(void)
{
	rsrv_stop();
	if (srv.dir[0])
		nftw(srv.dir, rsrv_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- the fixture ---- */

static const char *rfix_endpoints[1];

static int rfix_setup(struct kv_fixture *f, struct kv_config *cfg)
{
	(void)f;
	if (!srv.have)
		return KV_FIX_SKIP;
	if (srv.pid <= 0 && rsrv_start() < 0)
		return -EIO;
	/* a store prefix per test on top of the suite's key prefix */
	snprintf(srv.prefix, sizeof(srv.prefix), "/ovn%u", ++srv.n);
	rfix_endpoints[0] = srv.url;
	*cfg = (struct kv_config){
		.backend = "redis",
		.prefix = srv.prefix,
		.endpoints = rfix_endpoints,
		.n_endpoints = 1,
		.timeout = 1,
	};
	return 0;
}

static int rfix_stop(struct kv_fixture *f)
{
	(void)f;
	return rsrv_stop();
}

static int rfix_start(struct kv_fixture *f)
{
	(void)f;
	return rsrv_start();
}

static struct kv_fixture rfix = {
	.name = "redis",
	.setup = rfix_setup,
	.server_stop = rfix_stop,
	.server_start = rfix_start,
};

/* ---- config ---- */

static const struct {
	const char *url;
	int ret;
} url_vecs[] = {
	{ "redis://127.0.0.1:6379", 0 },
	{ "redis://127.0.0.1:6379/3", 0 },
	{ "redis://127.0.0.1", 0 },
	{ "redis://[::1]:6379/", 0 },
	{ "http://127.0.0.1:6379", -EINVAL },
	{ "redis://", -EINVAL },
	{ "redis://:6379", -EINVAL },
	{ "redis://h:0", -EINVAL },
	{ "redis://h:70000", -EINVAL },
	{ "redis://h:12x", -EINVAL },
	{ "redis://h:1/db", -EINVAL },
	{ "redis://[::1:6379", -EINVAL },
};

static int cfg_open(struct kvc *c, struct kv_config *cfg, struct ovn_err *err)
{
	struct kv *kv = NULL;
	int ret;

	memset(err, 0, sizeof(*err));
	ret = kv_open(&kv, &c->loop, cfg, err);
	if (ret == 0)
		kvc_close(c, kv);
	return ret;
}

static void t_cfg(void **state)
{
	struct kvc *c = *state;
	struct kv_config cfg = c->cfg;
	const char *eps[2] = { srv.url, srv.url };
	struct ovn_err err;

	for (size_t i = 0; i < ARRAY_SIZE(url_vecs); i++) {
		eps[0] = url_vecs[i].url;
		cfg.endpoints = eps;
		if (cfg_open(c, &cfg, &err) != url_vecs[i].ret)
			fail_msg("'%s': %d (%s)", url_vecs[i].url, err.code, err.msg);
	}
	eps[0] = srv.url;
	cfg.n_endpoints = 2;
	assert_int_equal(cfg_open(c, &cfg, &err), -EINVAL);
	cfg.n_endpoints = 1;
	cfg.tls.ca = "/etc/ssl/ca.pem";
	assert_int_equal(cfg_open(c, &cfg, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "TLS"));
	cfg.tls.ca = NULL;
	cfg.password_file = "/nonexistent/ovn-pw";
	assert_int_equal(cfg_open(c, &cfg, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/ovn-pw"));
}

/* ---- AUTH ---- */

static void t_auth(void **state)
{
	struct kvc *c = *state;
	char pwfile[96];
	struct kv_config cfg = c->cfg;
	struct kvc_res r = { 0 };
	redisContext *adm;
	redisReply *rep;
	struct kv *kv;
	FILE *f;

	snprintf(pwfile, sizeof(pwfile), "%s/pw", srv.dir);
	f = fopen(pwfile, "w");
	assert_non_null(f);
	fputs("s3cret\n", f);
	fclose(f);
	assert_true(rsrv_cmd("CONFIG SET requirepass s3cret"));

	/* without the password: every request fails with -EACCES */
	kv = kvc_open_cfg(c, &cfg);
	assert_int_equal(KVC_CALL(kv_get(kv, kvc_key(c, "x"), kvc_res_cb, &r)), 0);
	assert_true(kvc_run_until(c, &r.calls, 1, KVC_WAIT));
	print_message("redis: without the password: %d %s\n", r.status, r.msg);
	assert_int_equal(r.status, -EACCES);
	kvc_res_clear(&r);
	kvc_close(c, kv);
	/* with it, once the file is private: a readable one is refused */
	cfg.password_file = pwfile;
	{
		struct ovn_err err = { 0 };

		assert_int_equal(kv_open(&kv, &c->loop, &cfg, &err), -EPERM);
		assert_non_null(strstr(err.msg, "fix: chmod 600"));
	}
	assert_int_equal(chmod(pwfile, 0600), 0);
	kv = kvc_open_cfg(c, &cfg);
	assert_int_equal(KVC_CALL(kv_put(kv, kvc_key(c, "x"), "1", 1, kvc_res_cb, &r)), 0);
	assert_true(kvc_run_until(c, &r.calls, 1, KVC_WAIT));
	assert_int_equal(r.status, 0);
	kvc_res_clear(&r);
	kvc_close(c, kv);

	adm = rsrv_admin();
	assert_non_null(adm);
	rep = redisCommand(adm, "AUTH s3cret");
	freeReplyObject(rep);
	rep = redisCommand(adm, "CONFIG SET requirepass %s", "");
	assert_int_not_equal(rep->type, REDIS_REPLY_ERROR);
	freeReplyObject(rep);
	redisFree(adm);
	unlink(pwfile);
}

/* ---- failure modes ---- */

static void t_unreachable(void **state)
{
	struct kvc *c = *state;
	char url[64];
	const char *eps[] = { url };
	struct kv_config cfg = c->cfg;
	struct kvc_res r = { 0 };
	struct kv *kv;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", kvc_free_port());
	cfg.endpoints = eps;
	kv = kvc_open_cfg(c, &cfg);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(KVC_CALL(kv_get(kv, "/x", kvc_res_cb, &r)), 0);
		assert_true(kvc_run_until(c, &r.calls, 1, 3));
		print_message("redis: unreachable: %d %s\n", r.status, r.msg);
		assert_true(r.status == -ECONNREFUSED || r.status == -ENOTCONN);
		kvc_res_clear(&r);
	}
	kvc_close(c, kv);
}

/* SCRIPT FLUSH empties the server's cache: EVALSHA gets NOSCRIPT and the
 * backend re-sends the source. */
static void t_noscript(void **state)
{
	struct kvc *c = *state;
	uint64_t rev;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "a"), "1", &rev), 0);
	assert_true(rsrv_cmd("SCRIPT FLUSH"));
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "a"), "2", &rev), 0);
	kvc_expect(c, kvc_key(c, "a"), "2", 1, rev);
}

/* A watch from before a lost stream gets cb(NULL), then new events. */
static void t_stream_lost(void **state)
{
	struct kvc *c = *state;
	struct kvc_watch w = { 0 };
	char ev[64];
	uint64_t r1, r3;
	size_t i;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "s/1"), "1", &r1), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "s/2"), "2", NULL), 0);
	memcpy(ev, srv.prefix, strlen(srv.prefix));
	memcpy(ev + strlen(srv.prefix), "\0ev", 3);
	assert_true(rsrv_cmd("DEL %b", ev, strlen(srv.prefix) + 3));
	kvc_watch_start(c, kvc_key(c, "s/"), r1, &w);
	kvc_watch_wait(c, &w, 1);
	assert_int_equal(w.ev[0].type, -1);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "s/3"), "3", &r3), 0);
	i = kvc_watch_find(c, &w, 1, "s/3");
	kvc_ev_check(c, &w.ev[i], KV_EV_PUT, "s/3", "3", r3);
	kv_watch_stop(c->kv, w.w);
	kvc_watch_clear(&w);
}

/* A frozen server (SIGSTOP) answers nothing but keeps the TCP connection:
 * requests time out, the connection is taken for dead and redone. */
static void t_frozen(void **state)
{
	struct kvc *c = *state;
	struct kvc_res r = { 0 };
	uint64_t t0;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "f"), "1", NULL), 0);
	kill(srv.pid, SIGSTOP);
	uv_update_time(&c->loop);
	t0 = uv_now(&c->loop);
	assert_int_equal(KVC_CALL(kv_get(c->kv, kvc_key(c, "f"), kvc_res_cb, &r)), 0);
	assert_true(kvc_run_until(c, &r.calls, 1, 3));
	uv_update_time(&c->loop);
	print_message("redis: frozen server: %d (%s) after %llu ms\n", r.status, r.msg,
		      (unsigned long long)(uv_now(&c->loop) - t0));
	assert_int_equal(r.status, -ETIMEDOUT);
	kvc_res_clear(&r);
	kill(srv.pid, SIGCONT);
	kvc_put_retry(c, kvc_key(c, "f"), "2", 10);
	kvc_expect(c, kvc_key(c, "f"), "2", 1, 0);
}

static void t_bound(void **state)
{
	struct kvc *c = *state;
	struct kvc_res *r = calloc(RDS_INFLIGHT_MAX, sizeof(*r));
	struct kvc_res extra = { 0 };

	assert_non_null(r);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "b"), "1", NULL), 0);
	for (int i = 0; i < RDS_INFLIGHT_MAX; i++)
		assert_int_equal(kv_get(c->kv, kvc_key(c, "b"), kvc_res_cb, &r[i]), 0);
	assert_int_equal(kv_get(c->kv, kvc_key(c, "b"), kvc_res_cb, &extra), -EAGAIN);
	assert_true(kvc_run_until(c, &r[RDS_INFLIGHT_MAX - 1].calls, 1, KVC_WAIT));
	for (int i = 0; i < RDS_INFLIGHT_MAX; i++) {
		assert_int_equal(r[i].status, 0);
		kvc_res_clear(&r[i]);
	}
	free(r);
	assert_int_equal(kvc_get_wait(c, kvc_key(c, "b"), NULL), 0);
}

/* ---- latency (printed) ---- */

static double mean_us(struct kvc *c, size_t nops, int rounds)
{
	struct kv_op ops[3];
	char keys[3][160];
	uint64_t t0 = uv_hrtime();

	for (int i = 0; i < rounds; i++) {
		for (size_t j = 0; j < nops; j++) {
			snprintf(keys[j], sizeof(keys[j]), "%s/lat/%zu/%d", c->pfx, j, i % 100);
			ops[j] = (struct kv_op){ .type = KV_OP_PUT, .key = keys[j],
						 .value = "{\"ip\":\"198.19.0.1\"}", .len = 19 };
		}
		if (kvc_txn_wait(c, c->kv, ops, nops, NULL) != 0)
			fail_msg("latency txn %d failed", i);
	}
	return (uv_hrtime() - t0) / 1000.0 / rounds;
}

static void t_latency(void **state)
{
	struct kvc *c = *state;
	double one = mean_us(c, 1, 10000), three = mean_us(c, 3, 1000);

	print_message("redis: mean latency, local redis-server: single-put txn %.1f us "
		      "(10,000), 3-op txn %.1f us (1,000)\n", one, three);
}

/* ---- runner ---- */

int main(void)
{
	struct CMUnitTest tests[] = {
		KVC_TEST(t_cfg),
		KVC_TEST(t_auth),
		KVC_TEST(t_unreachable),
		KVC_TEST(t_noscript),
		KVC_TEST(t_stream_lost),
		KVC_TEST(t_frozen),
		KVC_TEST(t_bound),
		KVC_TEST(t_latency),
	};
	int fails;

	signal(SIGPIPE, SIG_IGN);
	srv.have = rsrv_found();
	if (!srv.have) {
		fprintf(stderr, "SKIP: redis-server not found\n");
	} else if (rsrv_up() < 0) {
		fprintf(stderr, "test_kv_redis: cannot start redis-server (see %s)\n", srv.dir);
		rsrv_down();
		return 1;
	}
	fails = kv_conform_run(&rfix);
	fails += kvc_run_group("kv_redis", tests, ARRAY_SIZE(tests), &rfix);
	rsrv_down();
	return fails;
}
