/* netns.c: network namespace fds, and netlink sockets opened inside them.
 *
 * A netlink socket belongs to the namespace it was created in, for its whole
 * life, whichever thread uses it later. So to talk to a container we create
 * the socket inside the container's namespace once, from a short-lived helper
 * thread: the thread setns()es into the target, opens the socket and exits.
 * Why a thread rather than setns() there and back on the caller's thread: the
 * caller is the agent's event loop; with a helper, it never runs a single
 * instruction in a foreign namespace, and a failing way back (setns can fail,
 * e.g. -ENOMEM) cannot strand it there. The price is one thread start
 * (tens of microseconds) per call.
 *
 * Does not: create or mount namespaces (that is the container runtime's job).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dp_int.h"

#define NETNS_RUN_DIR "/run/netns"

/* fd must be a network namespace: anything else is refused before use. */
static int netns_check(int fd, const char *what, struct ovn_err *err)
{
	int type = ioctl(fd, NS_GET_NSTYPE);

	if (type < 0 && errno == ENOTTY)
		return ovn_err_set(err, -EINVAL, "%s: not a namespace", what);
	if (type < 0)
		return ovn_err_set(err, -errno, "%s: %s", what, strerror(errno));
	if (type != CLONE_NEWNET)
		return ovn_err_set(err, -EINVAL, "%s: not a network namespace", what);
	return 0;
}

static int netns_open_path(const char *path, struct ovn_err *err)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ovn_err_set(err, -errno, "open network namespace %s: %s", path,
				   strerror(errno));
	ret = netns_check(fd, path, err);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int dp_netns_open(const char *name_or_path, struct ovn_err *err)
{
	char path[256];

	if (!name_or_path || !*name_or_path)
		return ovn_err_set(err, -EINVAL, "network namespace: empty name");
	if (name_or_path[0] == '/')
		return netns_open_path(name_or_path, err);
	if (strchr(name_or_path, '/') || !strcmp(name_or_path, ".") ||
	    !strcmp(name_or_path, ".."))
		return ovn_err_set(err, -EINVAL, "network namespace `%s': not a name",
				   name_or_path);
	if (snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name_or_path) >= (int)sizeof(path))
		return ovn_err_set(err, -ENAMETOOLONG, "network namespace `%s': name too long",
				   name_or_path);
	return netns_open_path(path, err);
}

int dp_netns_open_pid(int pid, struct ovn_err *err)
{
	char path[64];

	if (pid <= 0)
		return ovn_err_set(err, -EINVAL, "network namespace of pid %d: bad pid", pid);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	return netns_open_path(path, err);
}

struct ns_job {
	int netns_fd;
	struct nl_sock *sk;
	struct ovn_err *err;		/* only this thread writes it until joined */
	int ret;
};

static void *ns_job_run(void *arg)
{
	struct ns_job *j = arg;

	if (setns(j->netns_fd, CLONE_NEWNET) < 0) {
		j->ret = ovn_err_set(j->err, -errno, "enter network namespace (fd %d): %s",
				     j->netns_fd, strerror(errno));
		return NULL;
	}
	j->ret = nl_open(j->sk, j->err);
	return NULL;
}

int ns_nl_open(int netns_fd, struct nl_sock *sk, struct ovn_err *err)
{
	struct ns_job j = { .netns_fd = netns_fd, .sk = sk, .err = err };
	pthread_t t;
	int ret;

	memset(sk, 0, sizeof(*sk));
	ret = pthread_create(&t, NULL, ns_job_run, &j);
	if (ret)
		return ovn_err_set(err, -ret, "network namespace helper thread: %s",
				   strerror(ret));
	pthread_join(t, NULL);
	return j.ret;
}
