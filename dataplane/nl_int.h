/* nl_int.h: the one netlink layer of dataplane/ (private).
 *
 * A struct nl_sock is a libmnl rtnetlink socket bound to the namespace it was
 * opened in, with its own sequence counter. Requests go out in batches: many
 * messages in one buffer, one sendmsg(), then one ACK collected per message
 * (every message carries NLM_F_ACK). A message may also take a reply callback
 * (RTM_GET* without NLM_F_DUMP), run before its ACK arrives.
 *
 * Building never overflows: the batch buffer is fixed and every put goes
 * through libmnl's *_check variants; the first failure marks the batch, later
 * puts are no-ops and nl_batch_run() refuses to send it (-EMSGSIZE). So the
 * builders in link.c, addr.c, ... only check nl_msg() for NULL.
 *
 * Does not: subscribe to multicast groups, split an oversized batch by itself
 * (TODO when a caller needs thousands of entries in one call: send what fits,
 * resume at the cursor).
 */
#ifndef OVN_DP_NL_INT_H
#define OVN_DP_NL_INT_H

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ovn_err.h"

#define NL_BATCH_MAX	64		/* messages per batch */
#define NL_BATCH_BUF	16384		/* bytes per batch */
#define NL_RECV_BUF	32768		/* one datagram of a dump */
#define NL_WHAT_LEN	48

struct nl_sock {
	struct mnl_socket *mnl;
	uint32_t portid;
	uint32_t seq;
	char *rbuf;			/* NL_RECV_BUF bytes */
};

/* Open an rtnetlink socket in the calling thread's network namespace. */
int nl_open(struct nl_sock *sk, struct ovn_err *err);
/* The same for another netlink family (NETLINK_XFRM). */
int nl_open_proto(struct nl_sock *sk, int proto, struct ovn_err *err);
void nl_close(struct nl_sock *sk);

/* Which errors of one message count as success. */
enum {
	NL_OK_EXIST = 1 << 0,		/* -EEXIST: creating what is there */
	NL_OK_NOENT = 1 << 1,		/* -ENOENT, -ENODEV, -ESRCH, -EADDRNOTAVAIL */
};

/* Reply callback for one message: 0 or -errno (recorded as the batch error). */
typedef int (*nl_reply_fn)(const struct nlmsghdr *nlh, void *arg);

struct nl_req {
	uint32_t seq;
	unsigned int ok;
	nl_reply_fn fn;
	void *arg;
	char what[NL_WHAT_LEN];		/* "create vx-4097", for the error text */
	int rc;				/* the kernel's answer; 1 = none (yet) */
};

struct nl_batch {
	struct nl_sock *sk;
	struct nlmsghdr *cur;		/* message being built, or NULL */
	size_t len;			/* bytes of finished messages */
	int n;
	int err;			/* sticky build error */
	struct nl_req req[NL_BATCH_MAX];
	char buf[NL_BATCH_BUF] __attribute__((aligned(8)));
};

void nl_batch_init(struct nl_batch *b, struct nl_sock *sk);
/* Start a message: type, extra flags (NLM_F_REQUEST|NLM_F_ACK are added), the
 * family header of hdrlen bytes (zeroed; returned), the errors that count as
 * success, an optional reply callback, and a printf label for messages.
 * NULL when the batch is full (the batch then fails in nl_batch_run). */
void *nl_msg(struct nl_batch *b, uint16_t type, uint16_t flags, size_t hdrlen,
	     unsigned int ok, nl_reply_fn fn, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
void nl_put(struct nl_batch *b, uint16_t type, size_t len, const void *data);
void nl_put_u8(struct nl_batch *b, uint16_t type, uint8_t v);
void nl_put_u16(struct nl_batch *b, uint16_t type, uint16_t v);
void nl_put_u32(struct nl_batch *b, uint16_t type, uint32_t v);
void nl_put_str(struct nl_batch *b, uint16_t type, const char *s);
/* Raw, zeroed bytes appended to the message (a header inside a nest). */
void *nl_reserve(struct nl_batch *b, size_t len);
struct nlattr *nl_nest_start(struct nl_batch *b, uint16_t type);
void nl_nest_end(struct nl_batch *b, struct nlattr *nest);
/* Send the batch in one sendmsg and wait for every ACK. Returns 0 or the
 * first error (with "what: reason[: kernel text]" in err). The batch is
 * empty again afterwards. */
int nl_batch_run(struct nl_batch *b, struct ovn_err *err);
/* The raw answer to message i of the batch last run (0, -errno, or 1 when
 * none came), for a caller that must know which step failed. */
int nl_batch_rc(const struct nl_batch *b, int i);

/* Dump: hdr (hdrlen bytes, e.g. a struct ifinfomsg) is sent with NLM_F_DUMP
 * and fn runs for every answer. A nonzero fn return stops the callbacks (the
 * rest of the dump is still read, so the socket stays in step) and is
 * returned. When the kernel flags the dump inconsistent (NLM_F_DUMP_INTR, a
 * concurrent change) and reset is given, reset(arg) runs and the dump starts
 * over, a few times at most, then -EAGAIN; without reset the partial results
 * are kept, as wireguard-tools does, rather than retrying indefinitely. */
int nl_dump(struct nl_sock *sk, uint16_t type, const void *hdr, size_t hdrlen,
	    nl_reply_fn fn, void (*reset)(void *arg), void *arg, struct ovn_err *err);

/* ---- parsing with want-tables ----------------------------------------- */

/* One entry per attribute type: the MNL data type and, when nonzero, the
 * exact payload length. Type 0 (MNL_TYPE_UNSPEC) means "not wanted": skipped. */
struct nl_want {
	uint8_t type;
	uint8_t len;
};

/* Fill tb[0..max] from the attributes after offset bytes of payload (or inside
 * nest). A wanted attribute with a wrong type or size rejects the message:
 * -EINVAL; unknown ones are skipped. */
int nl_parse(const struct nlmsghdr *nlh, size_t offset, const struct nl_want *want,
	     uint16_t max, const struct nlattr **tb);
int nl_parse_nested(const struct nlattr *nest, const struct nl_want *want, uint16_t max,
		    const struct nlattr **tb);

#endif
