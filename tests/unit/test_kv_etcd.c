/* test_kv_etcd.c: the etcd backend (kvstore/kv_etcd.c, kv_etcd_wire.c).
 *
 * Wire vectors run everywhere. With an `etcd` binary on PATH the test starts
 * a private etcd (fork+exec, data dir from mkdtemp, loopback ports picked
 * free), runs the backend-independent conformance suite against it
 * (kv_conform.c, outage tests included: the fixture stops and restarts
 * etcd on the same data dir), then etcd-specific tests: watch across a
 * compaction, failover from a dead endpoint, authentication, and a latency
 * figure that is printed, not asserted. etcd is stopped with SIGTERM and
 * waitpid by PID and its directory removed at the end; it also gets
 * PR_SET_PDEATHSIG, so a crashing test does not leave it behind.
 * Without etcd, everything but the wire vectors is skipped, loudly.
 */
#include "kv_conform.c"

#include <curl/curl.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kv_etcd_int.h"
#include "kv_http_int.h"
#include "util.h"

#define PREFIX "/ovn-test"

struct etcd_srv {
	pid_t pid;
	char dir[64];
	uint16_t cport, pport;
	char url[64];
	const char *eps[2];
	char dead_url[64];
};

static struct etcd_srv srv = { .pid = -1 };

/* ---- running etcd ---- */

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	struct { char *buf; size_t len, cap; } *o = ud;
	size_t len = size * n;

	if (o->len + len < o->cap) {
		memcpy(o->buf + o->len, p, len);
		o->len += len;
		o->buf[o->len] = '\0';
	}
	return len;
}

/* Blocking POST for the harness only (the code under test never blocks). */
static long http_post(const char *url, const char *body, char *out, size_t size)
{
	struct { char *buf; size_t len, cap; } o = { out, 0, size };
	CURL *e = curl_easy_init();
	long code = 0;

	if (size)
		out[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &o);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	return code;
}

static int etcd_start(void)
{
	char curl_s[48], purl[48], cluster[64], path[128], body[512];
	pid_t pid;

	snprintf(curl_s, sizeof(curl_s), "http://127.0.0.1:%u", srv.cport);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%u", srv.pport);
	snprintf(cluster, sizeof(cluster), "t=%s", purl);
	snprintf(path, sizeof(path), "%s/data", srv.dir);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char log[128];
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		snprintf(log, sizeof(log), "%s/etcd.log", srv.dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("etcd", "etcd", "--name", "t", "--data-dir", path,
		       "--listen-client-urls", curl_s, "--advertise-client-urls", curl_s,
		       "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
		       "--initial-cluster", cluster, (char *)NULL);
		_exit(127);
	}
	srv.pid = pid;
	/* Ready when a range answers (it needs a leader). */
	snprintf(path, sizeof(path), "%s/v3/kv/range", srv.url);
	for (int i = 0; i < 300; i++) {
		if (http_post(path, "{\"key\":\"AA==\"}", body, sizeof(body)) == 200)
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			srv.pid = -1;
			return -ECHILD;
		}
		usleep(50 * 1000);
	}
	return -ETIMEDOUT;
}

static int etcd_stop(void)
{
	int st;

	if (srv.pid < 0)
		return 0;
	kill(srv.pid, SIGTERM);
	if (waitpid(srv.pid, &st, 0) != srv.pid)
		return -errno;
	srv.pid = -1;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int etcd_init(void)
{
	strcpy(srv.dir, "/tmp/ovn-etcdtest.XXXXXX");
	if (!mkdtemp(srv.dir))
		return -errno;
	srv.cport = kvc_free_port();
	srv.pport = kvc_free_port();
	snprintf(srv.url, sizeof(srv.url), "http://127.0.0.1:%u", srv.cport);
	snprintf(srv.dead_url, sizeof(srv.dead_url), "http://127.0.0.1:%u", kvc_free_port());
	return etcd_start();
}

static void etcd_fini(void)
{
	etcd_stop();
	if (srv.dir[0])
		nftw(srv.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	srv.dir[0] = '\0';
}

/* ---- the conformance fixture ---- */

static int fix_setup(struct kv_fixture *f, struct kv_config *cfg)
{
	if (!srv.dir[0])
		return KV_FIX_SKIP;
	/* A failed outage test may have left it stopped. */
	if (srv.pid < 0 && etcd_start() < 0)
		return -EIO;
	srv.eps[0] = srv.url;
	*cfg = (struct kv_config){
		.backend = "etcd",
		.prefix = PREFIX,
		.endpoints = srv.eps,
		.n_endpoints = 1,
		.timeout = 1.0,
	};
	return 0;
}

static int fix_stop(struct kv_fixture *f)
{
	return etcd_stop();
}

static int fix_start(struct kv_fixture *f)
{
	return etcd_start();
}

static struct kv_fixture fixture = {
	.name = "etcd",
	.setup = fix_setup,
	.server_stop = fix_stop,
	.server_start = fix_start,
};

/* ---- wire vectors (no server) ---- */

static void test_range_end(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
		size_t olen;
	} v[] = {
		{ "/a/", 3, "/a0", 3 },
		{ "a", 1, "b", 1 },
		{ "a\xff", 2, "b", 1 },
		{ "\xff\xff", 2, "\0", 1 },
		{ "", 0, "\0", 1 },
	};
	char out[8];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		assert_int_equal(etcd_range_end(v[i].in, v[i].len, out), v[i].olen);
		assert_memory_equal(out, v[i].out, v[i].olen);
	}
}

static void test_wire_bodies(void **state)
{
	const struct kv_op ops[] = {
		{ .type = KV_OP_PUT, .cmp = KV_CMP_ABSENT, .key = "/a", .value = "v", .len = 1 },
		{ .type = KV_OP_DEL, .cmp = KV_CMP_REV, .key = "/b", .rev = 7 },
		{ .type = KV_OP_CHECK, .cmp = KV_CMP_PRESENT, .key = "/c" },
	};
	char *s;

	/* "/p/a" = L3AvYQ==, "v" = dg==, "/p/b" = L3AvYg==, "/p/c" = L3AvYw== */
	s = etcd_txn_body("/p", ops, 3);
	assert_non_null(s);
	assert_string_equal(s,
		"{\"compare\":["
		"{\"key\":\"L3AvYQ==\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"},"
		"{\"key\":\"L3AvYg==\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"7\"},"
		"{\"key\":\"L3AvYw==\",\"target\":\"CREATE\",\"result\":\"GREATER\",\"create_revision\":\"0\"}],"
		"\"success\":["
		"{\"request_put\":{\"key\":\"L3AvYQ==\",\"value\":\"dg==\"}},"
		"{\"request_delete_range\":{\"key\":\"L3AvYg==\"}}]}");
	free(s);
	s = etcd_watch_body("/a/", 5);
	assert_string_equal(s, "{\"create_request\":{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\","
			       "\"start_revision\":\"5\"}}");
	free(s);
	s = etcd_watch_body("/a/", 0);
	assert_null(strstr(s, "start_revision"));
	free(s);
	s = etcd_range_body("/a", false);
	assert_string_equal(s, "{\"key\":\"L2E=\"}");
	free(s);
}

static void test_wire_parse(void **state)
{
	static const char range[] =
		"{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"L3AvYQ==\","
		"\"mod_revision\":\"3\",\"value\":\"aGVsbG8=\"},{\"key\":\"L3AvYg==\","
		"\"mod_revision\":\"4\"}],\"count\":\"2\"}";
	static const char watch[] =
		"{\"result\":{\"header\":{\"revision\":\"5\"},\"events\":[{\"kv\":{\"key\":"
		"\"L3AvYQ==\",\"mod_revision\":\"5\",\"value\":\"eA==\"}},{\"type\":\"DELETE\","
		"\"kv\":{\"key\":\"L3AvYg==\",\"mod_revision\":\"5\"}}]}}";
	static const char compacted[] =
		"{\"result\":{\"header\":{\"raft_term\":\"2\"},\"canceled\":true,"
		"\"compact_revision\":\"4\"}}";
	static const char err[] = "{\"error\":\"etcdserver: duplicate key given in txn request\","
				  "\"message\":\"etcdserver: duplicate key given in txn request\","
				  "\"code\":3}";
	struct kvh_rows rows = { 0 };
	struct etcd_wresp wr;
	char msg[ETCD_MSG_LEN];
	uint64_t rev;
	bool ok = true;

	assert_int_equal(etcd_parse_range(range, strlen(range), 2, &rev, &rows, msg), 0);
	assert_int_equal(rev, 9);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.v[0].key, "/a");
	assert_int_equal(rows.v[0].len, 5);
	assert_memory_equal(rows.v[0].value, "hello", 5);
	assert_int_equal(rows.v[0].mod_rev, 3);
	assert_int_equal(rows.v[1].len, 0);	/* proto3 leaves out "" */
	kvh_rows_free(&rows);

	assert_int_equal(etcd_parse_txn("{\"header\":{\"revision\":\"3\"}}", 27, &rev, &ok, msg), 0);
	assert_false(ok);			/* missing "succeeded" is false */
	assert_int_equal(rev, 3);

	assert_int_equal(etcd_parse_watch(watch, strlen(watch), 2, &wr, msg), 0);
	assert_int_equal(wr.ev.n, 2);
	assert_non_null(wr.ev.v[0].value);	/* no type: PUT */
	assert_null(wr.ev.v[1].value);		/* DELETE */
	assert_string_equal(wr.ev.v[1].key, "/b");
	etcd_wresp_free(&wr);
	assert_int_equal(etcd_parse_watch(compacted, strlen(compacted), 2, &wr, msg), 0);
	assert_true(wr.canceled);
	assert_int_equal(wr.compact_rev, 4);
	etcd_wresp_free(&wr);

	assert_int_equal(etcd_parse_error(err, strlen(err), 400, msg), -EINVAL);
	assert_non_null(strstr(msg, "duplicate key"));
	assert_int_equal(etcd_parse_error("oops", 4, 503, msg), -EIO);
	assert_int_equal(etcd_parse_range("[1]", 3, 0, &rev, &rows, msg), -EIO);
	assert_int_equal(etcd_parse_watch("{\"x\":1}", 7, 0, &wr, msg), -EIO);
}

/* ---- etcd-specific tests against the server ---- */

/* The suite's per-test state and helpers serve these tests too. */
static int ft_setup(void **state)
{
	kvc_fixture = &fixture;
	return kvc_setup(state);
}

static int ft_teardown(void **state)
{
	return kvc_teardown(state);
}

static void compact_now(uint64_t rev)
{
	char url[128], body[64], out[512];

	snprintf(url, sizeof(url), "%s/v3/kv/compaction", srv.url);
	snprintf(body, sizeof(body), "{\"revision\":\"%llu\",\"physical\":true}",
		 (unsigned long long)rev);
	assert_int_equal(http_post(url, body, out, sizeof(out)), 200);
}

static void test_watch_compacted(void **state)
{
	struct kvc *c = *state;
	struct kvc_watch w = { 0 };
	uint64_t r1, r2, r3;

	assert_int_equal(kvc_put_wait(c, kvc_key(c, "k/1"), "1", &r1), 0);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "k/2"), "2", &r2), 0);
	compact_now(r2);
	/* From before the compaction: cb(NULL), then what comes next. */
	kvc_watch_start(c, kvc_key(c, "k/"), r1 - 1, &w);
	kvc_watch_wait(c, &w, 1);
	assert_int_equal(w.ev[0].type, -1);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "k/3"), "3", &r3), 0);
	kvc_watch_wait(c, &w, 2);
	kvc_settle(c, 0.2);
	assert_int_equal(w.n, 2);
	kvc_ev_check(c, &w.ev[1], KV_EV_PUT, "k/3", "3", r3);
	kv_watch_stop(c->kv, w.w);
	kvc_watch_clear(&w);
}

static void test_failover(void **state)
{
	struct kvc *c = *state;
	struct kvc_watch w = { 0 };
	uint64_t r0, r1, r2;

	kvc_close(c, c->kv);
	srv.eps[0] = srv.dead_url;
	srv.eps[1] = srv.url;
	c->cfg.n_endpoints = 2;
	c->kv = kvc_open(c);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "f/0"), "0", &r0), 0);
	kvc_watch_start(c, kvc_key(c, "f/"), r0, &w);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "f/1"), "1", &r1), 0);
	kvc_expect(c, kvc_key(c, "f/1"), "1", 1, r1);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "f/2"), "2", &r2), 0);
	kvc_watch_wait(c, &w, 2);
	kvc_ev_check(c, &w.ev[0], KV_EV_PUT, "f/1", "1", r1);
	kvc_ev_check(c, &w.ev[1], KV_EV_PUT, "f/2", "2", r2);
	kv_watch_stop(c->kv, w.w);
	kvc_watch_clear(&w);

	/* Both dead: a clear error naming an endpoint, quickly. */
	kvc_close(c, c->kv);
	srv.eps[1] = srv.dead_url;
	c->kv = kvc_open(c);
	struct kvc_res r = { 0 };

	assert_int_equal(kvc_get_wait(c, kvc_key(c, "f/1"), &r), -ECONNREFUSED);
	assert_non_null(strstr(r.msg, srv.dead_url));
	print_message("both endpoints dead: %s\n", r.msg);
	kvc_res_clear(&r);
	srv.eps[0] = srv.url;
	c->cfg.n_endpoints = 1;
}

static void test_dup_keys(void **state)
{
	struct kvc *c = *state;
	struct kvc_res r = { 0 };
	const struct kv_op ops[] = {
		{ .type = KV_OP_PUT, .key = kvc_key(c, "d"), .value = "1", .len = 1 },
		{ .type = KV_OP_DEL, .key = kvc_key(c, "d") },
	};

	assert_int_equal(kv_txn(c->kv, ops, 2, kvc_res_cb, &r), -EINVAL);
	assert_int_equal(kv_get(c->kv, "no-slash", kvc_res_cb, &r), -EINVAL);
	kvc_settle(c, 0.05);
	assert_int_equal(r.calls, 0);
}

static void test_bad_config(void **state)
{
	uv_loop_t loop;
	struct ovn_err err = { 0 };
	const char *bad[] = { "redis://127.0.0.1:1" };
	struct kv_config cfg = { .backend = "etcd", .prefix = PREFIX };
	struct kv *kv = NULL;
	char pw[] = "/tmp/ovn-etcdpw.XXXXXX";
	int fd;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(kv_open(&kv, &loop, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "endpoints"));
	ovn_err_clear(&err);
	cfg.endpoints = bad;
	cfg.n_endpoints = 1;
	assert_int_equal(kv_open(&kv, &loop, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "redis://"));
	fd = mkstemp(pw);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "nocolon\n", 8), 8);
	close(fd);
	ovn_err_clear(&err);
	bad[0] = "http://127.0.0.1:1";
	cfg.password_file = pw;
	assert_int_equal(kv_open(&kv, &loop, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "user:password"));
	unlink(pw);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static int etcdctl(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "etcdctl --endpoints=%s %s >/dev/null 2>&1", srv.url, args);
	return system(cmd);
}

static void test_auth(void **state)
{
	struct kvc *c = *state;
	char pw[] = "/tmp/ovn-etcdpw.XXXXXX";
	struct kvc_watch w = { 0 };
	struct kvc_res r = { 0 };
	uint64_t r1;
	int fd;

	if (!kvc_on_path("etcdctl"))
		skip();
	assert_int_equal(etcdctl("user add root:s3cret"), 0);
	assert_int_equal(etcdctl("user grant-role root root"), 0);
	assert_int_equal(etcdctl("auth enable"), 0);

	/* Without credentials: refused with etcd's reason. */
	assert_int_equal(kvc_get_wait(c, kvc_key(c, "a"), &r), -EACCES);
	print_message("no credentials: %s\n", r.msg);
	kvc_res_clear(&r);

	fd = mkstemp(pw);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "root:s3cret\n", 12), 12);
	close(fd);
	kvc_close(c, c->kv);
	c->cfg.password_file = pw;
	c->kv = kvc_open(c);
	unlink(pw);		/* read at open only; gone even if a check fails */
	kvc_watch_start(c, kvc_key(c, ""), 0, &w);
	assert_int_equal(kvc_put_wait(c, kvc_key(c, "a"), "1", &r1), 0);
	kvc_expect(c, kvc_key(c, "a"), "1", 1, r1);
	kvc_watch_wait(c, &w, 1);
	kvc_ev_check(c, &w.ev[0], KV_EV_PUT, "a", "1", r1);
	kv_watch_stop(c->kv, w.w);
	kvc_watch_clear(&w);

	/* A wrong password: -EACCES naming the user. */
	kvc_close(c, c->kv);
	fd = open(pw, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "root:wrong\n", 11), 11);
	close(fd);
	c->kv = kvc_open(c);
	unlink(pw);
	assert_int_equal(kvc_get_wait(c, kvc_key(c, "a"), &r), -EACCES);
	assert_non_null(strstr(r.msg, "root"));
	print_message("wrong password: %s\n", r.msg);
	kvc_res_clear(&r);
	c->cfg.password_file = NULL;
	assert_int_equal(etcdctl("--user root:s3cret auth disable"), 0);
	assert_int_equal(etcdctl("user delete root"), 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_latency(void **state)
{
	enum { N = 1000 };
	struct kvc *c = *state;
	char k[3][32];
	double t0, one, three;

	t0 = now_s();
	for (int i = 0; i < N; i++) {
		snprintf(k[0], sizeof(k[0]), "lat/%d", i % 50);
		assert_int_equal(kvc_put_wait(c, kvc_key(c, k[0]), "{\"v\":1}", NULL), 0);
	}
	one = (now_s() - t0) / N;
	t0 = now_s();
	for (int i = 0; i < N; i++) {
		struct kv_op ops[3];

		for (int j = 0; j < 3; j++) {
			snprintf(k[j], sizeof(k[j]), "lat3/%d/%d", i % 50, j);
			ops[j] = (struct kv_op){ .type = KV_OP_PUT, .key = kvc_key(c, k[j]),
						 .value = "{\"v\":3}", .len = 7 };
		}
		assert_int_equal(kvc_txn_wait(c, c->kv, ops, 3, NULL), 0);
	}
	three = (now_s() - t0) / N;
	print_message("etcd latency (local, sequential): 1-put txn %.3f ms, 3-op txn %.3f ms\n",
		      one * 1e3, three * 1e3);
}

/* ---- TLS: a second etcd that demands client certificates ---- */

/* A CA, a server certificate for 127.0.0.1 and a client certificate, made
 * with the openssl command for this test only. */
static int make_certs(const char *d)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && exec >/dev/null 2>&1 && "
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ovn-test-ca "
		 "-keyout ca.key -out ca.pem && "
		 "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr && "
		 "printf 'subjectAltName=IP:127.0.0.1' > san.ext && "
		 "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
		 "-extfile san.ext -out srv.pem && "
		 "openssl req -newkey rsa:2048 -nodes -subj /CN=ovn-agent -keyout cli.key -out cli.csr && "
		 "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
		 "-out cli.pem && "
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca "
		 "-keyout other.key -out other.pem", d);
	return system(cmd) == 0 ? 0 : -EIO;
}

static pid_t etcd_tls_start(const char *d, uint16_t cport, uint16_t pport)
{
	char curl_s[64], purl[64], cluster[80], data[160], a[4][160];
	pid_t pid;

	snprintf(curl_s, sizeof(curl_s), "https://127.0.0.1:%u", cport);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%u", pport);
	snprintf(cluster, sizeof(cluster), "t=%s", purl);
	snprintf(data, sizeof(data), "%s/data", d);
	snprintf(a[0], sizeof(a[0]), "%s/srv.pem", d);
	snprintf(a[1], sizeof(a[1]), "%s/srv.key", d);
	snprintf(a[2], sizeof(a[2]), "%s/ca.pem", d);
	snprintf(a[3], sizeof(a[3]), "%s/etcd.log", d);
	pid = fork();
	if (pid == 0) {
		int fd = open(a[3], O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("etcd", "etcd", "--name", "t", "--data-dir", data, "--listen-client-urls",
		       curl_s, "--advertise-client-urls", curl_s, "--listen-peer-urls", purl,
		       "--initial-advertise-peer-urls", purl, "--initial-cluster", cluster,
		       "--cert-file", a[0], "--key-file", a[1], "--trusted-ca-file", a[2],
		       "--client-cert-auth", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* One put through a store opened with the given TLS files. */
static int tls_put(struct kvc *c, const char *url, const char *d, const char *ca,
		   const char *cert, const char *key)
{
	char fca[160], fcert[160], fkey[160];
	const char *eps[1] = { url };
	struct kv_config cfg = { .backend = "etcd", .prefix = PREFIX, .endpoints = eps,
				 .n_endpoints = 1, .timeout = 2.0 };
	struct kv_op op = { .type = KV_OP_PUT, .key = "/tls", .value = "x", .len = 1 };
	struct kv *kv;
	int r;

	snprintf(fca, sizeof(fca), "%s/%s", d, ca);
	snprintf(fcert, sizeof(fcert), "%s/%s", d, cert ? cert : "");
	snprintf(fkey, sizeof(fkey), "%s/%s", d, key ? key : "");
	cfg.tls.ca = fca;
	cfg.tls.cert = cert ? fcert : NULL;
	cfg.tls.key = key ? fkey : NULL;
	kv = kvc_open_cfg(c, &cfg);
	r = kvc_txn_wait(c, kv, &op, 1, NULL);
	kvc_close(c, kv);
	return r;
}

/* store.tls: the CA pins the server, the client certificate authenticates
 * the agent; a wrong CA or no client certificate is refused. */
static void test_tls(void **state)
{
	struct kvc *c = *state;
	char d[] = "/tmp/ovn-etcdtls.XXXXXX", url[64];
	uint16_t cport = kvc_free_port(), pport = kvc_free_port();
	pid_t pid = -1;
	int r = -1;

	if (!kvc_on_path("openssl"))
		skip();
	assert_non_null(mkdtemp(d));
	assert_int_equal(make_certs(d), 0);
	pid = etcd_tls_start(d, cport, pport);
	assert_true(pid > 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", cport);
	for (int i = 0; i < 100 && r != 0; i++) {	/* until it has a leader */
		r = tls_put(c, url, d, "ca.pem", "cli.pem", "cli.key");
		if (r != 0)
			usleep(100 * 1000);
	}
	assert_int_equal(r, 0);
	assert_true(tls_put(c, url, d, "other.pem", "cli.pem", "cli.key") < 0);
	assert_true(tls_put(c, url, d, "ca.pem", NULL, NULL) < 0);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#define FT(fn) cmocka_unit_test_setup_teardown(fn, ft_setup, ft_teardown)

int main(void)
{
	const struct CMUnitTest wire[] = {
		cmocka_unit_test(test_range_end),
		cmocka_unit_test(test_wire_bodies),
		cmocka_unit_test(test_wire_parse),
		cmocka_unit_test(test_bad_config),
	};
	const struct CMUnitTest live[] = {
		FT(test_watch_compacted),
		FT(test_failover),
		FT(test_dup_keys),
		FT(test_latency),
		FT(test_tls),
		FT(test_auth),		/* last: it turns auth on and off */
	};
	int fails, ret;

	fails = cmocka_run_group_tests_name("etcd wire", wire, NULL, NULL);
	if (!kvc_on_path("etcd")) {
		fprintf(stderr, "\n*** SKIP: etcd not found on PATH: etcd backend conformance "
				"NOT run ***\n\n");
		return fails;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = etcd_init();
	if (ret < 0) {
		fprintf(stderr, "cannot start etcd (%s): see %s/etcd.log\n", strerror(-ret),
			srv.dir);
		etcd_stop();
		return 1;
	}
	fails += kv_conform_run(&fixture);
	fails += cmocka_run_group_tests_name("etcd live", live, NULL, NULL);
	etcd_fini();
	curl_global_cleanup();
	return fails;
}
