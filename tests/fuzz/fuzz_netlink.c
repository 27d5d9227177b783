/* fuzz_netlink.c: libFuzzer target for everything the dataplane reads from
 * the kernel: dump replies (links, FDB and neighbour entries, routes,
 * addresses) and the replies and ACKs of request batches (extended-ack
 * text included), through the real code paths: dp_link_dump,
 * dp_entry_dump, dp_underlay_mtu.
 *
 * How: the target is linked with -Wl,--wrap for mnl_socket_sendto and
 * mnl_socket_recvfrom, so dataplane/nl.c talks to a fake kernel here: a
 * send records the sequence numbers of the request(s); each receive hands
 * out the next datagram of the fuzz input (2-byte little-endian length,
 * then the bytes) after rewriting, in every well-formed header, the port id
 * to ours and the sequence to the recorded one picked by the header's own
 * sequence (modulo the number recorded), so the fuzzer reaches the parsers
 * instead of being dropped as stray. End of input is a receive timeout,
 * which ends every wait in nl.c. A netlink socket is really opened
 * (dp_open: no privilege needed) but never used for I/O.
 *
 * Input: one selector byte, then the datagrams. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"

#define MAX_SEQS 256

static struct {
	const uint8_t *p;
	size_t left;
	uint32_t seqs[MAX_SEQS];
	unsigned n_seqs;
} fk;

/* As dataplane/nl.c checks: libmnl's own check lets nlmsg_len >= 2^31 by. */
static bool msg_ok(const struct nlmsghdr *nlh, int len)
{
	return mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
}

ssize_t __real_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;

	fk.n_seqs = 0;
	for (; msg_ok(nlh, left) && fk.n_seqs < MAX_SEQS; nlh = mnl_nlmsg_next(nlh, &left))
		fk.seqs[fk.n_seqs++] = nlh->nlmsg_seq;
	return (ssize_t)len;
}

ssize_t __real_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t size);
ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t size)
{
	struct nlmsghdr *nlh = buf;
	size_t n;
	int left;

	if (fk.left < 2) {
		errno = EAGAIN;		/* SO_RCVTIMEO expired */
		return -1;
	}
	n = fk.p[0] | (size_t)fk.p[1] << 8;
	fk.p += 2;
	fk.left -= 2;
	if (n > fk.left)
		n = fk.left;
	if (n > size)
		n = size;
	memcpy(buf, fk.p, n);
	fk.p += n;
	fk.left -= n;
	left = (int)n;
	for (; msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		nlh->nlmsg_pid = mnl_socket_get_portid(nl);
		if (fk.n_seqs)
			nlh->nlmsg_seq = fk.seqs[nlh->nlmsg_seq % fk.n_seqs];
	}
	return (ssize_t)n;
}

static int on_link(const struct dp_link *l, void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

static int on_entry(const struct dp_entry *e, void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp *dp;
	struct ovn_err err = { 0 };
	struct ovn_ip vtep;
	unsigned count = 0;
	uint32_t mtu = 0;

	if (!dp && dp_open(&dp, &err) < 0)
		abort();	/* no netlink socket at all: nothing to fuzz */
	if (size < 1)
		return 0;
	fk.p = data + 1;
	fk.left = size - 1;
	fk.n_seqs = 0;
	switch (data[0] % 4) {
	case 0:
		dp_link_dump(dp, on_link, &count, &err);
		break;
	case 1:
		dp_entry_dump(dp, 1 + data[0] / 4, on_entry, &count, &err);
		break;
	case 2:
		ovn_ip_parse(&vtep, "198.18.0.1");
		dp_underlay_mtu(dp, &vtep, &mtu, &err);
		break;
	case 3:
		ovn_ip_parse(&vtep, "fd00::1");
		dp_underlay_mtu(dp, &vtep, &mtu, &err);
		break;
	}
	return 0;
}
