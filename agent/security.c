/* security.c: ovnagent's lockdown after start-up: capabilities and seccomp.
 *
 * What it does: once the API and plugin sockets are bound and chowned, the
 * agent keeps only the capabilities its steady state uses and loads a
 * seccomp allow-list of the syscalls it makes; anything else kills the
 * whole process (SCMP_ACT_KILL_PROCESS) unless security.seccomp_action is
 * "log" (allowed, and reported by the kernel's audit log / dmesg as
 * "type=SECCOMP ... syscall=N"), or "trap" (a SIGSYS handler writes the
 * syscall's name to the agent's stderr, then the agent dies by SIGSYS):
 * the two ways a missing entry is found.
 *
 * Why kill and not EPERM: the agent's code never expects a syscall to be
 * refused by policy; an unexpected EPERM would send it down an error path
 * nobody tested (half-made kernel objects, a store write without its
 * netlink twin). A dead agent is restarted by systemd and its reconcile
 * pass repairs the kernel, which is the path that is tested (kill -9 at any
 * moment). And a violation means either a bug in this list or code doing
 * what it never does: both want a loud failure, not a quiet errno.
 *
 * Capabilities kept, and why (everything else goes from every set, the
 * bounding set included, and no_new_privs is set, so nothing gets them
 * back even through a setuid binary; the agent execs nothing anyway):
 *   CAP_NET_ADMIN         every netlink change: links, addresses, routes,
 *                         FDB and neighbour entries, namespaces' devices.
 *   CAP_SYS_ADMIN         setns(CLONE_NEWNET) into a container's namespace
 *                         (dataplane/netns.c, agent/nsock.c): no narrower
 *                         capability allows it.
 *   CAP_NET_BIND_SERVICE  the embedded DNS server binds port 53 inside each
 *                         container namespace.
 *   CAP_SYS_PTRACE        opening /proc/PID/ns/net of a container process
 *                         (`--netns /proc/PID/ns/net`, podman/CNI paths) is
 *                         a ptrace access check: a root process whose
 *                         permitted set is not a superset of the target's
 *                         needs CAP_SYS_PTRACE (ptrace(2), "ptrace access
 *                         mode checking"). Without it the open fails EACCES.
 * Not kept: CAP_CHOWN and CAP_FOWNER (sockets are chowned before the drop),
 * CAP_DAC_OVERRIDE/READ_SEARCH (everything the agent touches is root's),
 * CAP_NET_RAW (no raw or packet sockets; netlink needs none), CAP_SETPCAP
 * (only used here to shrink the bounding set).
 *
 * Threads: capabilities are per thread, so the drop applies to the calling
 * (loop) thread and to threads created later (namespace helpers, libuv's
 * pool started after start-up). Threads that exist already (none in the
 * agent's start-up today) keep theirs; a debug line says how many there
 * are. The seccomp filter is synchronised to all threads (TSYNC).
 *
 * How the list was made: strace -f over the netns scenarios (single host,
 * multi host, dns, gossip, docker, podman, metrics) with the plain and the
 * ASan agent, plus the variants the same libc/libuv paths take on other
 * kernels (epoll_pwait for epoll_wait, newfstatat/statx/fstat, ...). The
 * sanitizer runtime's own calls (ptrace for LeakSanitizer, sigaltstack, ...)
 * are allowed only in a sanitizer build.
 *
 * Does not: filter syscall arguments (ioctl and setsockopt stay open;
 * netlink requests are the agent's job), or sandbox the filesystem.
 * TODO: argument filters for socket() families and clone flags.
 */
#include <dirent.h>
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "log.h"
#include "security.h"
#include "util.h"

static const cap_value_t caps_kept[] = {
	CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_NET_BIND_SERVICE, CAP_SYS_PTRACE,
};

/* The syscalls of the agent's steady state, by name (resolved for the
 * running architecture; a name the architecture lacks is skipped). Grouped
 * by what uses them. */
static const char *const syscalls[] = {
	/* memory, threads, signals (libc, libuv, malloc) */
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise",
	"clone", "clone3", "set_robust_list", "rseq", "set_tid_address", "exit", "exit_group",
	"futex", "sched_yield", "gettid", "getpid", "tgkill",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "restart_syscall",
	"getrandom", "uname", "sysinfo", "prlimit64", "getrlimit",
	"clock_gettime", "clock_getres", "gettimeofday", "nanosleep", "clock_nanosleep",
	"getuid", "geteuid", "getgid", "getegid", "capget",
	/* the loop: epoll, eventfd, pipes, signals through a self-pipe */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"eventfd2", "pipe2", "poll", "ppoll", "select", "pselect6", "timerfd_create",
	"timerfd_settime",
	/* files: config, store, keyring, pid file, /proc, /run/netns */
	"openat", "open", "close", "read", "pread64", "readv", "write", "pwrite64", "writev",
	"lseek", "fstat", "newfstatat", "stat", "lstat", "statx", "access", "faccessat",
	"faccessat2", "fcntl", "flock", "fsync", "fdatasync", "ftruncate", "fallocate",
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir",
	"chmod", "fchmod", "getdents64", "readlink", "readlinkat", "getcwd", "dup", "dup3",
	"ioctl",
	/* sockets: netlink, unix (API, plugin), UDP/TCP (gossip, DNS, store, metrics) */
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "shutdown",
	"getsockname", "getpeername", "getsockopt", "setsockopt",
	"sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg",
	/* namespaces: a helper thread joins a container's netns */
	"setns",
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SEC_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SEC_SANITIZER 1
#endif
#endif

#ifdef SEC_SANITIZER
/* ASan/UBSan/LSan runtime: alternate signal stacks, reports, and the leak
 * checker's tracer (a clone that ptraces the process's threads at exit).
 * That tracer is a separate process with every signal blocked, so a call
 * missing here kills only it and leaves the agent spinning at exit: how
 * getdents (its thread lister) was found, with the default action set to
 * an errno for a run so that LSan could say what failed. */
static const char *const syscalls_sanitizer[] = {
	"sigaltstack", "prctl", "ptrace", "wait4", "waitid", "kill", "sched_getaffinity", "getdents",
	"getppid", "readlink", "execve", "arch_prctl", "process_vm_readv", "msync",
	"getrusage", "times", "setrlimit", "mincore",
};
#endif

static const char *action_name(const struct cfg *cfg)
{
	switch (cfg->security.seccomp_action) {
	case SEC_ACTION_LOG: return "log";
	case SEC_ACTION_TRAP: return "trap (name it on stderr, then die by SIGSYS)";
	default: return "kill process";
	}
}

/* trap mode: syscall names resolved before the filter is loaded, since
 * the handler may not allocate. */
#define SEC_NR_MAX 512
static const char *trap_names[SEC_NR_MAX];

static void put_str(char *buf, size_t *n, size_t size, const char *s)
{
	while (*s && *n < size)
		buf[(*n)++] = *s++;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char buf[200], num[12];
	int nr = si->si_syscall, i = sizeof(num);
	unsigned v = nr < 0 ? 0 : (unsigned)nr;
	size_t n = 0;

	num[--i] = '\0';
	do {
		num[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put_str(buf, &n, sizeof(buf) - 1, "ovnagent: seccomp: syscall ");
	put_str(buf, &n, sizeof(buf) - 1, nr >= 0 && nr < SEC_NR_MAX && trap_names[nr] ?
					   trap_names[nr] : "?");
	put_str(buf, &n, sizeof(buf) - 1, " (");
	put_str(buf, &n, sizeof(buf) - 1, num + i);
	put_str(buf, &n, sizeof(buf) - 1, ") is not in the allow-list; dying\n");
	if (write(STDERR_FILENO, buf, n) < 0)
		n = 0;
	signal(SIGSYS, SIG_DFL);
	raise(SIGSYS);
}

static int trap_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

	for (int nr = 0; nr < SEC_NR_MAX; nr++)
		trap_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

/* Shrink the bounding set to caps_kept. Needs CAP_SETPCAP: a service
 * manager that already narrowed the set (the shipped systemd unit) usually
 * leaves it out, and then the set stays as that manager made it. That is
 * acceptable, not an error: with no_new_privs the bounding set only limits
 * what an exec could gain, and the agent execs nothing. */
static int caps_drop_bounding(void)
{
	bool may = false;
	cap_t have = cap_get_proc();
	cap_flag_value_t v;
	int c, ret = 0;

	if (have && cap_get_flag(have, CAP_SETPCAP, CAP_EFFECTIVE, &v) == 0)
		may = v == CAP_SET;
	cap_free(have);
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = false;

		for (size_t i = 0; i < ARRAY_SIZE(caps_kept); i++)
			keep |= caps_kept[i] == c;
		if (keep || CAP_IS_SUPPORTED(c) == 0 || cap_get_bound(c) != 1)
			continue;
		if (!may) {
			log_info("capabilities: no CAP_SETPCAP, the bounding set stays as given");
			return 0;
		}
		if (cap_drop_bound(c) < 0)
			ret = -errno;
	}
	return ret;
}

/* Keep caps_kept (those we hold) in permitted and effective; none
 * inheritable, none ambient. */
static int caps_drop(struct ovn_err *err)
{
	cap_t have = cap_get_proc(), want = cap_init();
	cap_flag_value_t v;
	int ret = -ENOMEM;

	if (!have || !want)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(caps_kept); i++) {
		if (cap_get_flag(have, caps_kept[i], CAP_PERMITTED, &v) < 0 || v != CAP_SET)
			continue;
		cap_set_flag(want, CAP_PERMITTED, 1, &caps_kept[i], CAP_SET);
		cap_set_flag(want, CAP_EFFECTIVE, 1, &caps_kept[i], CAP_SET);
	}
	/* The bounding set needs CAP_SETPCAP, which goes next: first. */
	ret = caps_drop_bounding();
	if (ret < 0) {
		ovn_err_set(err, ret, "capabilities: dropping the bounding set: %s",
			    strerror(-ret));
		goto out;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (cap_set_proc(want) < 0) {
		ret = ovn_err_set(err, -errno, "capabilities: capset: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (!have || !want)
		ovn_err_set(err, ret, "capabilities: out of memory");
	cap_free(have);
	cap_free(want);
	return ret;
}

static int filter_add(scmp_filter_ctx ctx, const char *name, struct ovn_err *err)
{
	int nr = seccomp_syscall_resolve_name(name), ret;

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not a syscall on this architecture */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	if (ret < 0)
		return ovn_err_set(err, ret, "seccomp: allowing %s: %s", name, strerror(-ret));
	return 0;
}

static int filter_load(const struct cfg *cfg, struct ovn_err *err)
{
	uint32_t dflt = cfg->security.seccomp_action == SEC_ACTION_LOG ? SCMP_ACT_LOG :
			cfg->security.seccomp_action == SEC_ACTION_TRAP ? SCMP_ACT_TRAP :
			SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	size_t i;
	int ret = -ENOMEM;

	if (cfg->security.seccomp_action == SEC_ACTION_TRAP && (ret = trap_install()) < 0)
		return ovn_err_set(err, ret, "seccomp: SIGSYS handler: %s", strerror(-ret));
	ctx = seccomp_init(dflt);
	if (!ctx)
		return ovn_err_set(err, ret, "seccomp: out of memory");
	/* Every thread (libuv's pool, namespace helpers), not only this one. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; !ret && i < ARRAY_SIZE(syscalls); i++)
		ret = filter_add(ctx, syscalls[i], err);
#ifdef SEC_SANITIZER
	for (i = 0; !ret && i < ARRAY_SIZE(syscalls_sanitizer); i++)
		ret = filter_add(ctx, syscalls_sanitizer[i], err);
#endif
	if (!ret) {
		ret = seccomp_load(ctx);
		if (ret < 0)
			ovn_err_set(err, ret, "seccomp: loading the filter: %s", strerror(-ret));
	} else {
		ovn_err_set(err, ret, "seccomp: %s", strerror(-ret));
	}
	seccomp_release(ctx);
	return ret;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int sec_lockdown(const struct cfg *cfg, struct ovn_err *err)
{
	int ret, threads = count_threads();

	if (threads > 1)
		log_debug("lockdown: %d threads; the others keep their capabilities", threads);
	if (cfg->security.capabilities) {
		ret = caps_drop(err);
		if (ret < 0)
			return ret;
	}
	/* Also what lets an unprivileged process load a filter; set even with
	 * seccomp off: the agent never needs to gain privileges by exec. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return ovn_err_set(err, -errno, "no_new_privs: %s", strerror(errno));
	if (cfg->security.seccomp) {
		ret = filter_load(cfg, err);
		if (ret < 0)
			return ret;
	}
	log_info("lockdown: capabilities=%s seccomp=%s",
		 cfg->security.capabilities ? "net_admin,sys_admin,net_bind_service,sys_ptrace"
					    : "all",
		 cfg->security.seccomp ? action_name(cfg) : "off");
	return 0;
}

void sec_print(FILE *f, const struct cfg *cfg)
{
	size_t i, n = ARRAY_SIZE(syscalls);

	fprintf(f, "# ovnagent seccomp allow-list (native architecture); any other syscall: %s\n",
		cfg->security.seccomp ? action_name(cfg) : "allowed (security.seccomp: false)");
	fprintf(f, "# capabilities kept: %s\n",
		cfg->security.capabilities ? "cap_net_admin cap_sys_admin cap_net_bind_service "
					     "cap_sys_ptrace" : "all (security.capabilities: false)");
	for (i = 0; i < ARRAY_SIZE(syscalls); i++)
		fprintf(f, "%s%s\n", syscalls[i],
			seccomp_syscall_resolve_name(syscalls[i]) == __NR_SCMP_ERROR ?
			" (not on this architecture)" : "");
#ifdef SEC_SANITIZER
	for (i = 0; i < ARRAY_SIZE(syscalls_sanitizer); i++)
		fprintf(f, "%s (sanitizer build only)\n", syscalls_sanitizer[i]);
	n += ARRAY_SIZE(syscalls_sanitizer);
#endif
	fprintf(f, "# %zu entries\n", n);
}
