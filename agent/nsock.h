/* nsock.h: sockets created inside another network namespace.
 *
 * A socket belongs for its whole life to the namespace it was created in,
 * whichever thread uses it later. nsock creates and binds sockets inside a
 * container's namespace from a short-lived helper thread, so the agent's
 * loop thread never changes namespace; the fds then serve from the loop
 * like any other. */
#ifndef OVN_NSOCK_H
#define OVN_NSOCK_H

#include <stddef.h>
#include <sys/socket.h>

#include "ovn_err.h"

/* One socket to make: socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
 * bound to addr. Stream sockets get SO_REUSEADDR (a restarted agent rebinds
 * past TIME_WAIT); IPv4/IPv6 sockets get IP_FREEBIND, so an address on a
 * loopback that is still down binds anyway. */
struct nsock_spec {
	int family;
	int type;			/* SOCK_DGRAM or SOCK_STREAM */
	const struct sockaddr *addr;
	socklen_t addrlen;
};

#define NSOCK_MAX 4

/* Create n (<= NSOCK_MAX) sockets inside the network namespace netns_fd
 * (borrowed) and put them in fds[0..n). All or nothing: on failure nothing
 * is left open, err says which socket and why. 0 or -errno. Blocks the
 * caller for one thread start (tens of microseconds). */
int nsock_open(int netns_fd, const struct nsock_spec *specs, size_t n, int *fds,
	       struct ovn_err *err);

#endif
