/* main.c: ovnagent: read the config, open the dataplane and the store, load
 * and reconcile (netmgr), then serve the API on one libuv loop. Once every
 * socket is up it locks itself down (security.c: capabilities, seccomp).
 *
 * Signals: SIGTERM/SIGINT stop cleanly (kernel state stays, so containers
 * keep their network across an agent restart); SIGHUP re-reads log.level
 * from the config file and runs a reconcile pass. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cluster.h"
#include "config.h"
#include "docker.h"
#include "dataplane.h"
#include "http.h"
#include "kvstore.h"
#include "log.h"
#include "metrics.h"
#include "netmgr.h"
#include "security.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/ovn/agent.yaml"
#define VXLAN_OVERHEAD 50	/* outer Ethernet 14 + IPv4 20 + UDP 8 + VxLAN 8 */

struct agent {
	uv_loop_t *loop;
	const char *config_path;
	struct cfg cfg;
	struct dp *dp;
	struct kv *kv;
	struct netmgr *nm;
	struct cluster *cluster;	/* NULL: gossip off */
	struct http_server *http;
	struct docker *docker;	/* NULL: no docker.socket */
	struct metrics_srv *metrics;	/* metrics.listen; NULL when off */
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t retry;	/* start again while a cluster store is away */
	char pid_path[300];
	int exit_code;
	bool stopping;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ovnagent [--config FILE] [--check-config | --print-seccomp]\n"
		   "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ", if present)\n"
		   "      --check-config  read the configuration, report errors, and exit\n"
		   "      --print-seccomp print the syscall allow-list and kept capabilities\n"
		   "  -V, --version       print the version\n"
		   "  -h, --help          this help\n");
}

static int load_config(struct agent *a, bool check_only)
{
	struct ovn_err err = { 0 };

	cfg_defaults(&a->cfg);
	if (!a->config_path && access(DEFAULT_CONFIG, F_OK) == 0)
		a->config_path = DEFAULT_CONFIG;
	if (a->config_path && cfg_load(&a->cfg, a->config_path, &err) < 0) {
		fprintf(stderr, "ovnagent: %s\n", err.msg);
		return -1;
	}
	if (check_only)
		printf("%s: ok\n", a->config_path ? a->config_path : "(defaults)");
	return 0;
}

static void close_signals(struct agent *a)
{
	uv_close((uv_handle_t *)&a->sig_term, NULL);
	uv_close((uv_handle_t *)&a->sig_int, NULL);
	uv_close((uv_handle_t *)&a->sig_hup, NULL);
	uv_close((uv_handle_t *)&a->retry, NULL);
}

static void kv_closed(void *arg)
{
	struct agent *a = arg;

	close_signals(a);
}

static void http_closed(void *arg)
{
	struct agent *a = arg;

	a->http = NULL;
	netmgr_free(a->nm);
	a->nm = NULL;
	if (a->kv)
		kv_close(a->kv, kv_closed, a);
	else
		close_signals(a);
}

static void cluster_left(void *arg)
{
	struct agent *a = arg;

	a->cluster = NULL;
	if (a->http)
		http_server_close(a->http, http_closed, a);
	else
		http_closed(a);
}

static void docker_closed(void *arg)
{
	struct agent *a = arg;

	a->docker = NULL;
	cluster_leave(a->cluster, cluster_left, a);
}

/* The plugin goes first (its socket unlinked: dockerd must never find a
 * stale one, each call to it costs 15 s), then gossip (its leave
 * announcement needs the loop a little longer), the API, netmgr, the store. */
static void agent_stop(struct agent *a, int code)
{
	if (a->stopping)
		return;
	a->stopping = true;
	a->exit_code = code;
	log_info("stopping");
	metrics_srv_close(TAKE_PTR(a->metrics));
	docker_free(a->docker, docker_closed, a);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct agent *a = h->data;
	struct ovn_err err = { 0 };
	struct cfg fresh;

	if (signum != SIGHUP)
		return agent_stop(a, 0);
	if (!a->config_path)
		return;
	cfg_defaults(&fresh);
	if (cfg_load(&fresh, a->config_path, &err) < 0) {
		log_warn("SIGHUP: keeping the current settings: %s", err.msg);
		return;
	}
	static const char *const names[] = { "error", "warn", "info", "debug" };

	/* Said before switching, so the line shows at the old level. */
	log_info("SIGHUP: log level %s -> %s; reconciling", names[a->cfg.log.level],
		 names[fresh.log.level]);
	a->cfg.log.level = fresh.log.level;
	log_set_level(fresh.log.level);
	if (a->nm)
		netmgr_reconcile(a->nm);
}

static int resolve_group(const char *name)
{
	struct group *g;

	char *end;
	long gid;

	if (!name[0])
		return -1;
	gid = strtol(name, &end, 10);
	if (!*end && gid >= 0 && gid < 0x7fffffff)
		return (int)gid;	/* a numeric GID, as docs/config.md allows */
	g = getgrnam(name);
	if (!g) {
		log_warn("api.group: no group '%s'; the socket stays root-only", name);
		return -1;
	}
	return (int)g->gr_gid;
}

static void started(int status, const struct ovn_err *err, json_t *result, void *arg);

static void retry_start(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (!a->stopping)
		netmgr_start(a->nm, started, a);
}

static void started(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	struct agent *a = arg;
	struct ovn_err e2 = { 0 };
	struct http_config hc = { .routes = api_routes, .n_routes = api_n_routes, .arg = a->nm,
				  .name = "api", .rate = a->cfg.api.rate,
				  .burst = a->cfg.api.burst };

	if (status < 0 && strcmp(a->cfg.store.backend, "embedded") && !a->stopping) {
		/* A shared store may be down while this host boots: what the kernel
		 * already has keeps forwarding; keep trying until the store answers. */
		log_warn("start: %s; retrying in 2 s", err ? err->msg : strerror(-status));
		uv_timer_start(&a->retry, retry_start, 2000, 0);
		return;
	}
	if (status < 0) {
		log_error("start: %s", err ? err->msg : strerror(-status));
		return agent_stop(a, 1);
	}
	if (a->cfg.gossip.port && cluster_new(&a->cluster, a->loop, &a->cfg, a->nm, &e2) < 0) {
		log_error("%s", e2.msg);
		return agent_stop(a, 1);
	}
	if (http_server_listen_unix(&a->http, a->loop, a->cfg.api.socket, 0660,
				    resolve_group(a->cfg.api.group), &hc, &e2) < 0) {
		log_error("api.socket: %s", e2.msg);
		return agent_stop(a, 1);
	}
	if (docker_new(&a->docker, a->loop, &a->cfg, a->nm, a->kv, &e2) < 0) {
		log_error("%s", e2.msg);
		return agent_stop(a, 1);
	}
	if (a->cfg.metrics.listen[0] &&
	    metrics_srv_listen(&a->metrics, a->loop, a->cfg.metrics.listen, metrics_render,
			       a->nm, &e2) < 0) {
		log_error("%s", e2.msg);
		return agent_stop(a, 1);
	}
	/* Last: every socket is bound and chowned, the store open (libcurl
	 * loaded); from here on the agent needs only its steady-state rights. */
	if (sec_lockdown(&a->cfg, &e2) < 0) {
		log_error("%s (set security.capabilities/seccomp to false to run without)",
			  e2.msg);
		return agent_stop(a, 1);
	}
	log_info("ready node=%s socket=%s%s%s", a->cfg.node, a->cfg.api.socket,
		 a->metrics ? " metrics=" : "", a->metrics ? a->cfg.metrics.listen : "");
}

static uint32_t pick_mtu(struct agent *a)
{
	struct ovn_err err = { 0 };
	uint32_t under = 0;

	if (a->cfg.mtu)
		return a->cfg.mtu;
	if (dp_underlay_mtu(a->dp, &a->cfg.advertise, &under, &err) < 0 ||
	    under < 576 + VXLAN_OVERHEAD) {
		log_warn("underlay MTU unknown (%s): assuming 1500", err.msg[0] ? err.msg : "too small");
		under = 1500;
	}
	return under - VXLAN_OVERHEAD;
}

static int write_pid(struct agent *a)
{
	char buf[32];
	int fd, n;

	snprintf(a->pid_path, sizeof(a->pid_path), "%s/ovnagent.pid", a->cfg.run_dir);
	fd = open(a->pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static int agent_init(struct agent *a)
{
	struct kv_config kc = { .backend = a->cfg.store.backend, .path = a->cfg.store.path,
				.prefix = a->cfg.store.prefix,
				.sync_interval = a->cfg.store.sync_interval };
	const char *eps[CFG_LIST_MAX];
	struct ovn_err err = { 0 };
	uint32_t mtu;
	int r;

	for (unsigned i = 0; i < a->cfg.store.endpoints.n; i++)
		eps[i] = a->cfg.store.endpoints.v[i];
	kc.endpoints = eps;
	kc.n_endpoints = a->cfg.store.endpoints.n;
	kc.password_file = a->cfg.store.password_file[0] ? a->cfg.store.password_file : NULL;
	kc.tls.ca = a->cfg.store.tls.ca[0] ? a->cfg.store.tls.ca : NULL;
	kc.tls.cert = a->cfg.store.tls.cert[0] ? a->cfg.store.tls.cert : NULL;
	kc.tls.key = a->cfg.store.tls.key[0] ? a->cfg.store.tls.key : NULL;
	kc.timeout = a->cfg.store.timeout;
	if (mkdir(a->cfg.run_dir, 0755) < 0 && errno != EEXIST) {
		log_error("run_dir: cannot create %s: %s", a->cfg.run_dir, strerror(errno));
		return -1;
	}
	if ((r = write_pid(a)) < 0)
		log_warn("pid file %s: %s", a->pid_path, strerror(-r));
	if (dp_open(&a->dp, &err) < 0) {
		log_error("netlink: %s", err.msg);
		return -1;
	}
	if (!a->cfg.advertise.family)
		log_warn("advertise is not set: networks work on this host only; set advertise "
			 "to this host's underlay address for a cluster");
	mtu = pick_mtu(a);
	if (kv_open(&a->kv, a->loop, &kc, &err) < 0) {
		log_error("store: %s", err.msg);
		return -1;
	}
	if (netmgr_new(&a->nm, a->loop, &a->cfg, a->kv, a->dp, mtu, &err) < 0) {
		log_error("%s", err.msg);
		return -1;
	}
	log_info("starting node=%s mtu=%u store=%s:%s", a->cfg.node, mtu, a->cfg.store.backend,
		 kc.n_endpoints ? kc.endpoints[0] : a->cfg.store.path);
	netmgr_start(a->nm, started, a);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "print-seccomp", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct agent a = { .loop = uv_default_loop() };
	bool check = false, print_sec = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a.config_path = optarg; break;
		case 'C': check = true; break;
		case 'S': print_sec = true; break;
		case 'V': printf("ovnagent %s\n", OVN_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ovnagent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (load_config(&a, check) < 0)
		return 1;
	if (print_sec)
		sec_print(stdout, &a.cfg);
	if (check || print_sec)
		return 0;
	log_init(a.cfg.log.level);
	/* One malloc arena: the core is one thread; the helper threads (thread
	 * pool, namespace sockets) would otherwise each keep an arena alive. */
	mallopt(M_ARENA_MAX, 1);
	/* Fixed thresholds (the dynamic ones let freed big buffers, such as an
	 * HTTP connection's, move onto the heap and stay resident): large
	 * blocks are mmapped and returned on free, the heap top is trimmed. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	signal(SIGPIPE, SIG_IGN);
	uv_signal_init(a.loop, &a.sig_term);
	uv_signal_init(a.loop, &a.sig_int);
	uv_signal_init(a.loop, &a.sig_hup);
	uv_timer_init(a.loop, &a.retry);
	a.retry.data = &a;
	a.sig_term.data = a.sig_int.data = a.sig_hup.data = &a;
	uv_signal_start(&a.sig_term, on_signal, SIGTERM);
	uv_signal_start(&a.sig_int, on_signal, SIGINT);
	uv_signal_start(&a.sig_hup, on_signal, SIGHUP);
	if (agent_init(&a) < 0)
		agent_stop(&a, 1);
	uv_run(a.loop, UV_RUN_DEFAULT);
	if (a.dp)
		dp_close(a.dp);
	if (a.pid_path[0])
		unlink(a.pid_path);
	if (uv_loop_close(a.loop) != 0)
		log_warn("loop closed with handles still open");
	log_info("stopped");
	return a.exit_code;
}
