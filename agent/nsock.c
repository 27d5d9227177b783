/* nsock.c: create and bind sockets inside another network namespace (see
 * nsock.h).
 *
 * Why a helper thread rather than setns() there and back on the caller's
 * thread: the caller is the event loop; with a helper it never runs an
 * instruction in a container's namespace, and a failing way back (setns
 * can fail) cannot strand it there. Network namespaces are per thread, so
 * the helper's setns() changes nothing for the rest of the process; the
 * helper exits right after.
 *
 * Does not: create, mount or name namespaces; listen() (the DNS transport
 * does that when it takes the fd).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "nsock.h"
#include "util.h"

struct job {
	int netns_fd;
	const struct nsock_spec *specs;
	size_t n;
	int *fds;
	struct ovn_err err;
	int ret;
};

static int one_socket(const struct nsock_spec *s, struct ovn_err *err)
{
	const char *what = s->type == SOCK_STREAM ? "tcp" : "udp";
	int one = 1, fd, r;

	fd = socket(s->family, s->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ovn_err_set(err, -errno, "%s socket: %s", what, strerror(errno));
	if (s->type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	else if (s->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	if (bind(fd, s->addr, s->addrlen) < 0) {
		r = -errno;
		close(fd);
		return ovn_err_set(err, r, "%s bind: %s", what, strerror(-r));
	}
	return fd;
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	size_t i;
	int fd;

	if (setns(j->netns_fd, CLONE_NEWNET) < 0) {
		j->ret = ovn_err_set(&j->err, -errno, "setns: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < j->n; i++) {
		fd = one_socket(&j->specs[i], &j->err);
		if (fd < 0) {
			j->ret = fd;
			break;
		}
		j->fds[i] = fd;
	}
	if (j->ret < 0)
		while (i-- > 0)
			close(TAKE_FD(j->fds[i]));
	return NULL;
}

int nsock_open(int netns_fd, const struct nsock_spec *specs, size_t n, int *fds,
	       struct ovn_err *err)
{
	struct job j = { .netns_fd = netns_fd, .specs = specs, .n = n, .fds = fds };
	pthread_t t;
	int r;

	if (n == 0 || n > NSOCK_MAX)
		return ovn_err_set(err, -EINVAL, "nsock: %zu sockets asked, 1-%d allowed", n,
				   NSOCK_MAX);
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	r = pthread_create(&t, NULL, job_run, &j);
	if (r)
		return ovn_err_set(err, -r, "nsock: thread: %s", strerror(r));
	pthread_join(t, NULL);
	if (j.ret < 0)
		return ovn_err_set(err, j.ret, "%s", j.err.msg);
	return 0;
}
