/* scale.c: how attaching many endpoints to one network scales, through the
 * dataplane library alone (no agent, no store).
 *
 * The process unshares its network namespace first, so the "host" is a fresh
 * namespace and everything it makes (bridge, vxlan, veths, N container
 * namespaces held by fds) dies with the process. Steps:
 *   1. N container namespaces (a thread unshares, opens its ns, exits)
 *   2. dp_network_ensure: br-100 / vx-100, gateways 198.19.0.1/20 (+fd00::1/64)
 *   3. N x dp_endpoint_attach, one per container, timed per block
 *   4. N x dp_endpoint_detach, timed per block
 *   5. with -I: the same veth pairs made and deleted by one `ip -batch`
 *      process, the kernel's floor for step 3's link work (see ip_batch())
 * Before step 1 (and before 5) it waits until the kernel is quiet: namespace
 * teardown of an earlier run goes on asynchronously (cleanup_net holds rtnl
 * for a long while after the namespaces are gone), and timing against it
 * measures the previous run, not this one.
 *
 * Output: "key value" lines on stdout (dp_attach_ms_block_<k> = mean ms per
 * attach in block k, 1-based; dp_attach_total_s; dp_detach_total_s; ...).
 * Usage: scale [-n N] [-b BLOCK] [-4] [-m 0|1|2] [-I] | scale -w
 *   -4     IPv4-only endpoints (default dual-stack)
 *   -m X   experiments, after ensure: br-100's multicast snooping off (0),
 *          on (1), or on with the bridge as querier (2: response interval
 *          1 s, then 2 s of settling so snooping is in force); without -m,
 *          what dataplane/network.c chooses
 *   -w     only wait for the kernel to be quiet, in the caller's namespace
 * Needs root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataplane.h"

#define VNI		100
#define MTU		1350
#define QUIET_TIMEOUT_S	600
#define QUIET_ROUNDS	3		/* consecutive quiet samples */
#define QUIET_CPU	0.10		/* busy fraction of all CPUs */
#define QUIET_RTNL_MS	2.0		/* slowest of a few no-op rtnl requests */

struct opts {
	int n, block;
	bool v4only, ip_cmp, wait_only;
	int snoop;			/* -1: leave as dataplane made it */
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- waiting for a quiet kernel ---------------------------------------- */

/* A kworker running the netns workqueue right now ("kworker/u8:2+netns"):
 * namespace teardown in progress. */
static bool netns_cleanup_running(void)
{
	struct dirent *de;
	bool busy = false;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return false;
	while (!busy && (de = readdir(d))) {
		char path[300], comm[64] = "";
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			busy = !strncmp(comm, "kworker", 7) && strstr(comm, "+netns");
		fclose(f);
	}
	closedir(d);
	return busy;
}

static bool cpu_times(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return false;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return false;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	*busy = *total - v[3] - v[4];	/* minus idle, iowait */
	return true;
}

/* Slowest of a few RTM_NEWLINK on lo that change nothing: each one takes
 * the rtnl mutex, so it waits for whoever holds it. */
static double rtnl_probe_ms(struct mnl_socket *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	double worst = 0;

	for (int i = 0; i < 5; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct ifinfomsg *ifm;
		double t0 = now();

		nlh->nlmsg_type = RTM_NEWLINK;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		nlh->nlmsg_seq = (uint32_t)i + 1;
		ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
		ifm->ifi_index = (int)if_nametoindex("lo");
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ||
		    mnl_socket_recvfrom(nl, buf, sizeof(buf)) < 0)
			return 1e9;
		if (now() - t0 > worst)
			worst = now() - t0;
	}
	return worst * 1e3;
}

/* Seconds waited, or -1 on timeout (numbers after that are suspect). */
static double wait_quiet(void)
{
	unsigned long long b0, t0, b1, t1;
	double start = now(), cpu = 1, rtnl = 0;
	struct mnl_socket *nl;
	int quiet = 0;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("netlink");
		exit(1);
	}
	while (quiet < QUIET_ROUNDS && now() - start < QUIET_TIMEOUT_S) {
		if (!cpu_times(&b0, &t0))
			break;
		usleep(250 * 1000);
		if (!cpu_times(&b1, &t1))
			break;
		cpu = t1 > t0 ? (double)(b1 - b0) / (double)(t1 - t0) : 0;
		rtnl = rtnl_probe_ms(nl);
		if (cpu < QUIET_CPU && rtnl < QUIET_RTNL_MS && !netns_cleanup_running())
			quiet++;
		else
			quiet = 0;
	}
	mnl_socket_close(nl);
	if (quiet < QUIET_ROUNDS) {
		fprintf(stderr, "kernel not quiet after %d s (cpu %.0f%%, rtnl %.1f ms)\n",
			QUIET_TIMEOUT_S, cpu * 100, rtnl);
		return -1;
	}
	return now() - start;
}

/* ---- containers -------------------------------------------------------- */

static void *netns_thread(void *arg)
{
	int *fd = arg;

	*fd = unshare(CLONE_NEWNET) < 0 ? -1 : open("/proc/thread-self/ns/net",
						      O_RDONLY | O_CLOEXEC);
	return NULL;
}

static int netns_new(void)
{
	int fd = -1;
	pthread_t t;

	if (pthread_create(&t, NULL, netns_thread, &fd))
		return -1;
	pthread_join(t, NULL);
	return fd;
}

/* ---- the dataplane run ------------------------------------------------- */

static void die_err(const char *what, const struct ovn_err *err)
{
	fprintf(stderr, "%s: %s\n", what, err->msg);
	exit(1);
}

static void net_setup(struct dp *dp, const struct opts *o)
{
	struct dp_network net = { .vni = VNI, .mtu = MTU, .n_gateways = 1 };
	struct ovn_err err = { 0 };
	char cmd[128];

	ovn_ip_parse(&net.vtep, "198.18.0.1");
	ovn_prefix_parse(&net.gateways[0], "198.19.0.1/20", true);
	if (!o->v4only) {
		net.n_gateways = 2;
		ovn_prefix_parse(&net.gateways[1], "fd00::1/64", true);
	}
	ovn_mac_parse(&net.bridge_mac, "02:42:c6:13:00:01", true);
	if (dp_network_ensure(dp, &net, &err))
		die_err("network", &err);
	if (o->snoop < 0)
		return;
	snprintf(cmd, sizeof(cmd), "ip link set br-%d type bridge mcast_snooping %d%s", VNI,
		 o->snoop > 0,
		 o->snoop == 2 ? " mcast_querier 1 mcast_query_response_interval 100" : "");
	if (system(cmd)) {
		fprintf(stderr, "%s: failed\n", cmd);
		exit(1);
	}
	if (o->snoop == 2)
		sleep(2);
}

/* Endpoint i: 198.19.0.(i+2)/20 (+ fd00::(i+2)/64), MAC from the IPv4. */
static void ep_fill(struct dp_endpoint *ep, int i, const struct opts *o)
{
	memset(ep, 0, sizeof(*ep));
	ep->vni = VNI;
	ep->mtu = MTU;
	snprintf(ep->host_ifname, sizeof(ep->host_ifname), "ve-%d", i);
	ovn_prefix_parse(&ep->addrs[0], "198.19.0.0/20", true);
	ovn_prefix_nth(&ep->addrs[0], (uint64_t)i + 2, &ep->addrs[0].ip);
	ovn_ip_parse(&ep->gw4, "198.19.0.1");
	ep->n_addrs = 1;
	if (!o->v4only) {
		ovn_prefix_parse(&ep->addrs[1], "fd00::/64", true);
		ovn_prefix_nth(&ep->addrs[1], (uint64_t)i + 2, &ep->addrs[1].ip);
		ovn_ip_parse(&ep->gw6, "fd00::1");
		ep->n_addrs = 2;
	}
	ovn_mac_from_ip(&ep->mac, &ep->addrs[0].ip);
}

/* One timed line per block, the total at the end. */
struct timer {
	const char *what;
	int block, done;
	double start, t_block;
};

static void timer_start(struct timer *t, const char *what, int block)
{
	t->what = what;
	t->block = block;
	t->done = 0;
	t->start = t->t_block = now();
}

static void timer_tick(struct timer *t)
{
	double t1;

	if (++t->done % t->block)
		return;
	t1 = now();
	printf("%s_ms_block_%d %.3f\n", t->what, t->done / t->block,
	       (t1 - t->t_block) * 1e3 / t->block);
	fflush(stdout);
	t->t_block = t1;
}

static void timer_end(struct timer *t)
{
	double total = now() - t->start;

	printf("%s_total_s %.3f\n%s_mean_ms %.3f\n", t->what, total, t->what,
	       t->done ? total * 1e3 / t->done : 0);
}

static void dp_run(const int *fds, const struct opts *o)
{
	struct ovn_err err = { 0 };
	struct dp_endpoint ep;
	struct timer t;
	struct dp *dp;

	if (dp_open(&dp, &err))
		die_err("open", &err);
	net_setup(dp, o);
	timer_start(&t, "dp_attach", o->block);
	for (int i = 0; i < o->n; i++) {
		ep_fill(&ep, i, o);
		if (dp_endpoint_attach(dp, fds[i], &ep, &err))
			die_err("attach", &err);
		timer_tick(&t);
	}
	timer_end(&t);
	timer_start(&t, "dp_detach", o->block);
	for (int i = 0; i < o->n; i++) {
		ep_fill(&ep, i, o);
		if (dp_endpoint_detach(dp, ep.host_ifname, &err))
			die_err("detach", &err);
		timer_tick(&t);
	}
	timer_end(&t);
	if (dp_network_remove(dp, VNI, &err))
		die_err("network remove", &err);
	dp_close(dp);
}

/* ---- the ip -batch floor ----------------------------------------------- */

/* The link work of an attach in ip's words: the pair with the peer made in
 * the container (MAC, MTU), the host end's IPv6 off, then up. What ip cannot
 * do from one process is the container side (lo and eth0 up, addresses,
 * routes: that needs a socket in each namespace), so this is a lower bound
 * for dp_attach, not the same work. */
static int ip_batch(const int *fds, const struct opts *o, bool del, const char *path)
{
	struct dp_endpoint ep;
	char mac[OVN_MAC_STRLEN], cmd[512];
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (int i = 0; i < o->n; i++) {
		ep_fill(&ep, i, o);
		if (del) {
			fprintf(f, "link del %s\n", ep.host_ifname);
			continue;
		}
		ovn_mac_str(&ep.mac, mac);
		fprintf(f, "link add %s mtu %d master br-%d type veth peer name eth0 "
			"address %s mtu %d netns /proc/%d/fd/%d\n", ep.host_ifname, MTU, VNI,
			mac, MTU, (int)getpid(), fds[i]);
		fprintf(f, "link set %s addrgenmode none\nlink set %s up\n", ep.host_ifname,
			ep.host_ifname);
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "ip -batch %s", path);
	return system(cmd) ? -1 : 0;
}

static void ip_run(const int *fds, const struct opts *o)
{
	char path[] = "/tmp/ovn-scale-XXXXXX";
	struct ovn_err err = { 0 };
	struct dp *dp;
	double t0;
	int fd;

	fd = mkstemp(path);
	if (fd < 0 || dp_open(&dp, &err)) {
		fprintf(stderr, "ip run: setup failed\n");
		exit(1);
	}
	close(fd);
	net_setup(dp, o);
	t0 = now();
	if (ip_batch(fds, o, false, path))
		fprintf(stderr, "ip -batch add failed\n");
	printf("ip_batch_attach_total_s %.3f\n", now() - t0);
	t0 = now();
	if (ip_batch(fds, o, true, path))
		fprintf(stderr, "ip -batch del failed\n");
	printf("ip_batch_detach_total_s %.3f\n", now() - t0);
	unlink(path);
	if (dp_network_remove(dp, VNI, &err))
		die_err("network remove", &err);
	dp_close(dp);
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: scale [-n N] [-b BLOCK] [-4] [-m 0|1|2] [-I] | scale -w\n");
	exit(2);
}

static void opts_parse(struct opts *o, int argc, char **argv)
{
	int c;

	*o = (struct opts){ .n = 1000, .block = 100, .snoop = -1 };
	while ((c = getopt(argc, argv, "n:b:4m:Iw")) != -1) {
		switch (c) {
		case 'n': o->n = atoi(optarg); break;
		case 'b': o->block = atoi(optarg); break;
		case '4': o->v4only = true; break;
		case 'm': o->snoop = atoi(optarg); break;
		case 'I': o->ip_cmp = true; break;
		case 'w': o->wait_only = true; break;
		default: usage();
		}
	}
	if (o->n < 1 || o->n > 4000 || o->block < 1)
		usage();
}

int main(int argc, char **argv)
{
	struct opts o;
	double t0;
	int *fds;

	opts_parse(&o, argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.wait_only) {
		printf("kernel_quiet_wait_s %.1f\n", wait_quiet());
		return 0;
	}
	/* Single-threaded here: the whole process moves, and every thread
	 * made later starts in this namespace. */
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "scale: needs root (unshare: %s)\n", strerror(errno));
		return 4;
	}
	printf("dp_mode %s\ndp_n %d\n", o.v4only ? "ipv4" : "dual", o.n);
	printf("kernel_quiet_wait_s %.1f\n", wait_quiet());
	fds = calloc(o.n, sizeof(*fds));
	t0 = now();
	for (int i = 0; fds && i < o.n; i++) {
		fds[i] = netns_new();
		if (fds[i] < 0) {
			perror("netns");
			return 1;
		}
	}
	printf("netns_create_total_s %.3f\n", now() - t0);
	dp_run(fds, &o);
	if (o.ip_cmp) {
		printf("kernel_quiet_wait_s %.1f\n", wait_quiet());
		ip_run(fds, &o);
	}
	for (int i = 0; i < o.n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}
