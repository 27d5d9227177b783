/* test_kv_consul.c: the Consul backend (kvstore/kv_consul.c,
 * kv_consul_wire.c).
 *
 * The wire layer (key paths, txn bodies, answer parsers) and the snapshot
 * diff behind watches are pure and run everywhere, on vector tables. With
 * a `consul` binary on PATH the test also starts a private dev agent
 * (loopback only, every port picked free, PR_SET_PDEATHSIG) and runs the
 * backend-independent conformance suite against it; without one it says
 * so loudly: the Consul HTTP paths are then only compiled, not run.
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

#include "kv_consul_int.h"
#include "kv_http_int.h"
#include "util.h"

#define PREFIX "/ovn-test"

/* ---- wire vectors ---- */

static void test_kv_path(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "/ovn/networks/web", "ovn/networks/web" },
		{ "/", "" },
		{ "/a b/%?&#", "a%20b/%25%3F%26%23" },
		{ "/x-y_z.~1", "x-y_z.~1" },
		{ "/\xc3\xa9", "%C3%A9" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *p = consul_kv_path(v[i].in);

		assert_non_null(p);
		assert_string_equal(p, v[i].out);
		free(p);
	}
}

static void test_txn_body(void **state)
{
	const struct kv_op ops[] = {
		{ .type = KV_OP_PUT, .cmp = KV_CMP_ABSENT, .key = "/a", .value = "v", .len = 1 },
		{ .type = KV_OP_DEL, .cmp = KV_CMP_REV, .key = "/b", .rev = 7 },
		{ .type = KV_OP_CHECK, .cmp = KV_CMP_PRESENT, .key = "/c" },
		{ .type = KV_OP_PUT, .key = "/d", .value = NULL, .len = 0 },
	};
	char *s = consul_txn_body("/p", ops, ARRAY_SIZE(ops));

	assert_non_null(s);
	/* Compares first, in op order; then the writes. */
	assert_string_equal(s,
		"[{\"KV\":{\"Verb\":\"check-not-exists\",\"Key\":\"p/a\"}},"
		"{\"KV\":{\"Verb\":\"check-index\",\"Key\":\"p/b\",\"Index\":7}},"
		"{\"KV\":{\"Verb\":\"get\",\"Key\":\"p/c\"}},"
		"{\"KV\":{\"Verb\":\"set\",\"Key\":\"p/a\",\"Value\":\"dg==\"}},"
		"{\"KV\":{\"Verb\":\"delete\",\"Key\":\"p/b\"}},"
		"{\"KV\":{\"Verb\":\"set\",\"Key\":\"p/d\",\"Value\":\"\"}}]");
	free(s);
}

static void test_parse_kvs(void **state)
{
	static const char body[] =
		"[{\"LockIndex\":0,\"Key\":\"p/a\",\"Flags\":0,\"Value\":\"aGVsbG8=\","
		"\"CreateIndex\":5,\"ModifyIndex\":9},"
		"{\"Key\":\"p/b/\",\"Value\":null,\"ModifyIndex\":11}]";
	static const char *const bad[] = {
		"{}", "[{\"Value\":\"eA==\"}]", "[{\"Key\":\"p/a\",\"Value\":\"!!\"}]", "[1]", "nope",
	};
	struct kvh_rows rows = { 0 };
	char msg[CONSUL_MSG_LEN];

	assert_int_equal(consul_parse_kvs(body, strlen(body), 2, &rows, msg), 0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.v[0].key, "/a");
	assert_int_equal(rows.v[0].len, 5);
	assert_memory_equal(rows.v[0].value, "hello", 5);
	assert_int_equal(rows.v[0].mod_rev, 9);
	assert_string_equal(rows.v[1].key, "/b/");
	assert_int_equal(rows.v[1].len, 0);
	assert_int_equal(rows.v[1].mod_rev, 11);
	kvh_rows_free(&rows);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(consul_parse_kvs(bad[i], strlen(bad[i]), 2, &rows, msg), -EIO);
		kvh_rows_free(&rows);
	}
}

static void test_parse_txn(void **state)
{
	static const struct {
		long code;
		const char *body;
		int ret;
		uint64_t index;
		const char *msg;
	} v[] = {
		{ 200, "{\"Results\":[{\"KV\":{\"Key\":\"p/a\",\"ModifyIndex\":12}},"
		       "{\"KV\":{\"Key\":\"p/c\",\"ModifyIndex\":3}}],\"Errors\":null}", 0, 12, NULL },
		{ 200, "{\"Results\":null,\"Errors\":null}", 0, 0, NULL },
		{ 409, "{\"Results\":null,\"Errors\":[{\"OpIndex\":1,"
		       "\"What\":\"failed to set key \\\"p/b\\\", index is stale\"}]}",
		  -ECANCELED, 0, "op 1: failed to set key \"p/b\", index is stale" },
		{ 409, "{}", -ECANCELED, 0, "rolled back" },
		{ 403, "Permission denied", -EACCES, 0, "Permission denied" },
		{ 500, "rpc error", -EIO, 0, "HTTP 500" },
		{ 200, "[]", -EIO, 0, "bad JSON" },
	};
	char msg[CONSUL_MSG_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		uint64_t index = 99;

		msg[0] = '\0';
		assert_int_equal(consul_parse_txn(v[i].body, strlen(v[i].body), v[i].code, &index,
						  msg), v[i].ret);
		if (v[i].ret == 0)
			assert_int_equal(index, v[i].index);
		if (v[i].msg)
			assert_non_null(strstr(msg, v[i].msg));
	}
}

/* A snapshot from "key@rev" strings. */
static void rows_of(struct kvh_rows *r, const char *const *spec, size_t n)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		char *key = strdup(spec[i]), *at = strchr(key, '@');

		*at = '\0';
		assert_int_equal(kvh_rows_push(r, key, 0, strdup(key), strlen(key),
					       strtoull(at + 1, NULL, 10)), 0);
	}
}

static void test_diff(void **state)
{
	static const struct {
		const char *old[4], *cur[4];
		uint64_t index;
		const char *want[6];	/* "P key@rev" / "D key@rev" */
	} v[] = {
		{ { "/a@1", "/b@2", "/c@3" }, { "/a@1", "/b@5", "/d@6" }, 7,
		  { "P /b@5", "P /d@6", "D /c@7" } },
		/* a delete and a put seen at one index: the delete first */
		{ { "/a@1" }, { "/b@7" }, 7, { "D /a@7", "P /b@7" } },
		/* one transaction: one revision, key order */
		{ { NULL }, { "/x@4", "/y@4" }, 4, { "P /x@4", "P /y@4" } },
		{ { "/a@1" }, { "/a@1" }, 9, { NULL } },
		{ { NULL }, { NULL }, 3, { NULL } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct kvh_rows old, cur;
		struct consul_ev *ev;
		size_t nold = 0, ncur = 0, nwant = 0, n;

		while (nold < 4 && v[i].old[nold])
			nold++;
		while (ncur < 4 && v[i].cur[ncur])
			ncur++;
		while (nwant < 6 && v[i].want[nwant])
			nwant++;
		rows_of(&old, v[i].old, nold);
		rows_of(&cur, v[i].cur, ncur);
		assert_int_equal(consul_diff(&old, &cur, v[i].index, &ev, &n), 0);
		assert_int_equal(n, nwant);
		for (size_t j = 0; j < n; j++) {
			char got[64];

			snprintf(got, sizeof(got), "%c %s@%llu", ev[j].type == KV_EV_PUT ? 'P' : 'D',
				 ev[j].e->key, (unsigned long long)ev[j].rev);
			assert_string_equal(got, v[i].want[j]);
		}
		free(ev);
		kvh_rows_free(&old);
		kvh_rows_free(&cur);
	}
}

static void test_bad_config(void **state)
{
	uv_loop_t loop;
	struct ovn_err err = { 0 };
	const char *eps[] = { "consul://127.0.0.1:8500" };
	struct kv_config cfg = { .backend = "consul", .prefix = PREFIX };
	struct kv *kv = NULL;
	int closed = 0;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(kv_open(&kv, &loop, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "endpoints"));
	ovn_err_clear(&err);
	cfg.endpoints = eps;
	cfg.n_endpoints = 1;
	assert_int_equal(kv_open(&kv, &loop, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "consul://"));
	ovn_err_clear(&err);
	cfg.password_file = "/nonexistent/ovn-token";
	eps[0] = "http://127.0.0.1:1";
	assert_int_equal(kv_open(&kv, &loop, &cfg, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/ovn-token"));

	/* No server needed to see argument checks and close. */
	cfg.password_file = NULL;
	assert_int_equal(kv_open(&kv, &loop, &cfg, &err), 0);
	struct kv_op dup[] = {
		{ .type = KV_OP_PUT, .key = "/k", .value = "1", .len = 1 },
		{ .type = KV_OP_DEL, .key = "/k" },
	};
	assert_int_equal(kv_txn(kv, dup, 2, kvc_res_cb, NULL), -EINVAL);
	assert_int_equal(kv_get(kv, "k", kvc_res_cb, NULL), -EINVAL);
	kv_close(kv, kvc_closed_cb, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(closed, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* A refused connection comes back as -ECONNREFUSED naming the endpoint. */
static void test_refused(void **state)
{
	uv_loop_t loop;
	struct ovn_err err = { 0 };
	const char *eps[] = { "http://127.0.0.1:1" };
	struct kv_config cfg = { .backend = "consul", .prefix = PREFIX, .endpoints = eps,
				 .n_endpoints = 1, .timeout = 1 };
	struct kvc_res r = { 0 };
	struct kv *kv = NULL;
	int closed = 0;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(kv_open(&kv, &loop, &cfg, &err), 0);
	assert_int_equal(kv_list(kv, "/x/", kvc_res_cb, &r), 0);
	assert_int_equal(r.calls, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ECONNREFUSED);
	assert_non_null(strstr(r.msg, "http://127.0.0.1:1"));
	kvc_res_clear(&r);
	kv_close(kv, kvc_closed_cb, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(closed, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- a real agent, when there is one ---- */

struct consul_srv {
	pid_t pid;
	char dir[64];
	char url[64];
	uint16_t http, dns, serf_lan, serf_wan, server, grpc;
	const char *eps[1];
};

static struct consul_srv srv = { .pid = -1 };

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	size_t *got = ud;

	*got += size * n;
	return size * n;
}

/* Ready when the agent knows a leader: /v1/status/leader is not "". */
static bool consul_ready(void)
{
	char url[128];
	size_t got = 0;
	long code = 0;
	CURL *e = curl_easy_init();

	snprintf(url, sizeof(url), "%s/v1/status/leader", srv.url);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	return code == 200 && got > 2;
}

static void consul_exec(void)
{
	char p[6][8], data[128], log[128];
	int fd;

	snprintf(p[0], 8, "%u", srv.http);
	snprintf(p[1], 8, "%u", srv.dns);
	snprintf(p[2], 8, "%u", srv.serf_lan);
	snprintf(p[3], 8, "%u", srv.serf_wan);
	snprintf(p[4], 8, "%u", srv.server);
	snprintf(p[5], 8, "%u", srv.grpc);
	snprintf(data, sizeof(data), "%s/data", srv.dir);
	snprintf(log, sizeof(log), "%s/consul.log", srv.dir);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execlp("consul", "consul", "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
	       "-http-port", p[0], "-dns-port", p[1], "-serf-lan-port", p[2],
	       "-serf-wan-port", p[3], "-server-port", p[4], "-grpc-port", p[5],
	       "-data-dir", data, (char *)NULL);
	_exit(127);
}

static int consul_start(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		consul_exec();
	srv.pid = pid;
	for (int i = 0; i < 600; i++) {
		if (consul_ready())
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			srv.pid = -1;
			return -ECHILD;
		}
		usleep(50 * 1000);
	}
	return -ETIMEDOUT;
}

static int consul_stop(void)
{
	if (srv.pid < 0)
		return 0;
	kill(srv.pid, SIGTERM);
	if (waitpid(srv.pid, NULL, 0) != srv.pid)
		return -errno;
	srv.pid = -1;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int consul_init(void)
{
	strcpy(srv.dir, "/tmp/ovn-consultest.XXXXXX");
	if (!mkdtemp(srv.dir))
		return -errno;
	srv.http = kvc_free_port();
	srv.dns = kvc_free_port();
	srv.serf_lan = kvc_free_port();
	srv.serf_wan = kvc_free_port();
	srv.server = kvc_free_port();
	srv.grpc = kvc_free_port();
	snprintf(srv.url, sizeof(srv.url), "http://127.0.0.1:%u", srv.http);
	return consul_start();
}

static int fix_setup(struct kv_fixture *f, struct kv_config *cfg)
{
	if (srv.pid < 0 && consul_start() < 0)
		return -EIO;
	srv.eps[0] = srv.url;
	*cfg = (struct kv_config){
		.backend = "consul",
		.prefix = PREFIX,
		.endpoints = srv.eps,
		.n_endpoints = 1,
		.timeout = 1.0,
	};
	return 0;
}

static int fix_stop(struct kv_fixture *f)
{
	return consul_stop();
}

static int fix_start(struct kv_fixture *f)
{
	return consul_start();
}

static struct kv_fixture fixture = {
	.name = "consul",
	.setup = fix_setup,
	.server_stop = fix_stop,
	.server_start = fix_start,
};

int main(void)
{
	const struct CMUnitTest wire[] = {
		cmocka_unit_test(test_kv_path),
		cmocka_unit_test(test_txn_body),
		cmocka_unit_test(test_parse_kvs),
		cmocka_unit_test(test_parse_txn),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_refused),
	};
	int fails, ret;

	fails = cmocka_run_group_tests_name("consul wire", wire, NULL, NULL);
	if (!kvc_on_path("consul")) {
		fprintf(stderr, "\n*** SKIP: consul not found on PATH: Consul backend conformance "
				"NOT run ***\n\n");
		return fails;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = consul_init();
	if (ret < 0) {
		fprintf(stderr, "cannot start consul (%s): see %s/consul.log\n", strerror(-ret),
			srv.dir);
		consul_stop();
		return 1;
	}
	fails += kv_conform_run(&fixture);
	consul_stop();
	nftw(srv.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	curl_global_cleanup();
	return fails;
}
