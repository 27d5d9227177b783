/* wire.h: the gossip wire format (version 1), private to gossip/.
 *
 * A compact binary format of our own (not memberlist's msgpack): fixed packed
 * headers, big-endian integers, strings as (length, bytes) without NUL. The
 * header layouts are pinned with static_assert because mixed versions talk
 * during a rolling upgrade.
 *
 * UDP packet (plain):   gw_pkt_hdr | count x (gw_msg_hdr | body)
 * UDP packet (sealed):  GW_SEALED_PKT | nonce(24) | AEAD(plain packet) | tag(16)
 * Stream (plain):       gw_stream_hdr | body
 * Stream (sealed):      GW_SEALED_STREAM | len(4, BE) | nonce(24) | AEAD | tag(16)
 *
 * Decoding checks each message's length against its type's fixed part and
 * its variable parts before reading any field; unknown message types are
 * skipped by length; a packet with any malformed message is dropped whole,
 * before anything in it is acted upon.
 *
 * Not here (memberlist has them): compression, CRC (AEAD covers integrity
 * when keyed, the UDP checksum otherwise), cluster labels.
 */
#ifndef OVN_GOSSIP_WIRE_H
#define OVN_GOSSIP_WIRE_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

#define GW_VERSION		1
#define GW_SEALED_PKT		0x81	/* first byte of a sealed datagram */
#define GW_SEALED_STREAM	0x82	/* first byte of a sealed stream */
#define GW_STREAM_MAX		(20u << 20)	/* push-pull state limit */
#define GW_MSGS_MAX		255	/* messages in one packet */

enum gw_type {
	GW_PING = 1,		/* seq, target name, sender name */
	GW_INDIRECT_PING,	/* seq, nack wanted, target addr + name */
	GW_ACK,			/* seq */
	GW_NACK,		/* seq: relay could not reach the target */
	GW_ALIVE,		/* incarnation, addr, name, meta */
	GW_SUSPECT,		/* incarnation, name, accuser */
	GW_DEAD,		/* incarnation, name, accuser (== name: left) */
	GW_EVENT,		/* Lamport time, name, payload */
	GW_TYPE_MAX,
	/* stream only */
	GW_PUSHPULL = 16,	/* full state, request and answer */
};

#define GW_IPING_NACK	0x01	/* gw_iping.flags */
#define GW_PP_JOIN	0x01	/* gw_stream_hdr.flags: push-pull of a join */
#define GW_PP_ANSWER	0x02	/* gw_stream_hdr.flags: the answering side */

struct gw_pkt_hdr {
	uint8_t version;	/* GW_VERSION */
	uint8_t count;		/* messages that follow */
	uint16_t reserved;	/* sent 0, ignored */
} __attribute__((packed));

struct gw_msg_hdr {
	uint8_t type;
	uint8_t flags;		/* per type; unused ones sent 0, ignored */
	uint16_t len;		/* body bytes after this header */
} __attribute__((packed));

struct gw_addr {
	uint8_t family;		/* 4 or 6 on the wire */
	uint8_t reserved;
	uint16_t port;
	uint8_t ip[16];
} __attribute__((packed));

struct gw_ping {
	uint32_t seq;
	uint8_t name_len;	/* + target name */
	uint8_t from_len;	/* + sender name */
	uint16_t reserved;
} __attribute__((packed));

struct gw_iping {
	uint32_t seq;
	uint8_t flags;		/* GW_IPING_NACK */
	uint8_t name_len;	/* + target name */
	uint16_t reserved;
	struct gw_addr target;
} __attribute__((packed));

struct gw_ack {
	uint32_t seq;
} __attribute__((packed));

struct gw_alive {
	uint32_t incarnation;
	struct gw_addr addr;
	uint8_t name_len;	/* + name */
	uint8_t reserved;
	uint16_t meta_len;	/* + meta */
} __attribute__((packed));

struct gw_suspect {		/* also dead */
	uint32_t incarnation;
	uint8_t name_len;	/* + name */
	uint8_t from_len;	/* + accuser name */
	uint16_t reserved;
} __attribute__((packed));

struct gw_event {
	uint64_t ltime;
	uint8_t name_len;	/* + name */
	uint8_t reserved;
	uint16_t payload_len;	/* + payload */
} __attribute__((packed));

struct gw_stream_hdr {
	uint8_t version;	/* GW_VERSION */
	uint8_t type;		/* GW_PING, GW_ACK, GW_PUSHPULL */
	uint8_t flags;		/* GW_PP_* */
	uint8_t reserved;
	uint32_t len;		/* body bytes */
} __attribute__((packed));

/* Push-pull body: gw_pp_hdr | members x (gw_pp_member | name | meta)
 *                 | events x (gw_msg_hdr | gw_event | name | payload), the
 *                   same encoding as a gossiped event */
struct gw_pp_hdr {
	uint32_t members;
	uint32_t events;
	uint64_t event_ltime;	/* sender's event clock */
} __attribute__((packed));

struct gw_pp_member {
	uint8_t state;		/* enum gossip_state */
	uint8_t name_len;
	uint16_t meta_len;
	uint32_t incarnation;
	struct gw_addr addr;
} __attribute__((packed));

static_assert(sizeof(struct gw_pkt_hdr) == 4, "gw_pkt_hdr");
static_assert(sizeof(struct gw_msg_hdr) == 4, "gw_msg_hdr");
static_assert(offsetof(struct gw_msg_hdr, len) == 2, "gw_msg_hdr.len");
static_assert(sizeof(struct gw_addr) == 20, "gw_addr");
static_assert(offsetof(struct gw_addr, ip) == 4, "gw_addr.ip");
static_assert(sizeof(struct gw_ping) == 8, "gw_ping");
static_assert(offsetof(struct gw_ping, from_len) == 5, "gw_ping.from_len");
static_assert(sizeof(struct gw_iping) == 28, "gw_iping");
static_assert(offsetof(struct gw_iping, target) == 8, "gw_iping.target");
static_assert(sizeof(struct gw_ack) == 4, "gw_ack");
static_assert(sizeof(struct gw_alive) == 28, "gw_alive");
static_assert(offsetof(struct gw_alive, meta_len) == 26, "gw_alive.meta_len");
static_assert(sizeof(struct gw_suspect) == 8, "gw_suspect");
static_assert(sizeof(struct gw_event) == 12, "gw_event");
static_assert(offsetof(struct gw_event, payload_len) == 10, "gw_event.payload_len");
static_assert(sizeof(struct gw_stream_hdr) == 8, "gw_stream_hdr");
static_assert(sizeof(struct gw_pp_hdr) == 16, "gw_pp_hdr");
static_assert(sizeof(struct gw_pp_member) == 28, "gw_pp_member");
static_assert(offsetof(struct gw_pp_member, addr) == 8, "gw_pp_member.addr");

/* A borrowed byte string inside a packet (not NUL-terminated). */
struct gw_str {
	const uint8_t *p;
	size_t len;
};

/* One decoded message; strings point into the packet. */
struct gw_msg {
	uint8_t type;
	union {
		struct { uint32_t seq; struct gw_str target, from; } ping;
		struct { uint32_t seq; bool nack; struct gossip_addr addr;
			 struct gw_str target; } iping;
		struct { uint32_t seq; } ack;		/* ack and nack */
		struct { uint32_t inc; struct gossip_addr addr; struct gw_str name;
			 struct gw_str meta; } alive;
		struct { uint32_t inc; struct gw_str name, from; } suspect; /* + dead */
		struct { uint64_t ltime; struct gw_str name, payload; } event;
	};
};

/* One member record of a push-pull. */
struct gw_pp_rec {
	enum gossip_state state;
	uint32_t inc;
	struct gossip_addr addr;
	struct gw_str name, meta;
};

/* An output buffer: fixed (cap) or growing up to max when grow is set. */
struct gw_buf {
	uint8_t *p;
	size_t len, cap, max;
	bool grow;
};

/* Encoders append one whole message (header + body) to b; 0, -ENOSPC when it
 * does not fit (b unchanged), -EINVAL on an oversized field. */
int gw_put(struct gw_buf *b, const void *data, size_t len);
int gw_put_ping(struct gw_buf *b, uint32_t seq, const char *target, const char *from);
int gw_put_iping(struct gw_buf *b, uint32_t seq, bool nack, const struct gossip_addr *addr,
		 const char *target);
int gw_put_ack(struct gw_buf *b, uint8_t type, uint32_t seq);
int gw_put_alive(struct gw_buf *b, uint32_t inc, const struct gossip_addr *addr,
		 const char *name, const uint8_t *meta, size_t meta_len);
int gw_put_suspect(struct gw_buf *b, uint8_t type, uint32_t inc, const char *name,
		   const char *from);
int gw_put_event(struct gw_buf *b, uint64_t ltime, const char *name, size_t name_len,
		 const void *payload, size_t len);

/* Packets: begin writes the header; add appends one encoded message and
 * counts it (-ENOSPC past the buffer or GW_MSGS_MAX). */
int gw_pkt_begin(struct gw_buf *b);
int gw_pkt_add(struct gw_buf *b, const void *msg, size_t len);
static inline unsigned gw_pkt_count(const struct gw_buf *b)
{
	return b->len >= sizeof(struct gw_pkt_hdr) ? b->p[offsetof(struct gw_pkt_hdr, count)] : 0;
}
/* Count a message an encoder appended straight after gw_pkt_begin(). */
static inline void gw_pkt_inc(struct gw_buf *b)
{
	b->p[offsetof(struct gw_pkt_hdr, count)]++;
}

/* Decode one message body of a known type: 0, -EBADMSG, or -ENOENT for a
 * type this version does not know (the caller skips it). */
int gw_msg_decode(uint8_t type, const uint8_t *body, size_t len, struct gw_msg *m);
/* Validate a whole plain packet, then call fn for each known message in
 * order. 0, -EPROTO (version), -EBADMSG (anything malformed: nothing was
 * passed to fn). fn returning nonzero stops the walk. */
typedef int (*gw_msg_fn)(void *arg, const struct gw_msg *m);
int gw_pkt_parse(const uint8_t *buf, size_t len, gw_msg_fn fn, void *arg);

/* Streams. */
int gw_stream_begin(struct gw_buf *b, uint8_t type, uint8_t flags);
void gw_stream_end(struct gw_buf *b);	/* fills in the body length */
/* Checks the header and that len matches: 0, -EPROTO, -EBADMSG. */
int gw_stream_parse(const uint8_t *buf, size_t len, struct gw_stream_hdr *h,
		    const uint8_t **body);

/* Bytes of the whole stream frame (plain or sealed) that starts at buf,
 * once have bytes are in: 0 = need more, or -EBADMSG / -EMSGSIZE. */
long gw_frame_len(const uint8_t *buf, size_t have);

/* Push-pull bodies. */
int gw_pp_put_hdr(struct gw_buf *b, uint32_t members, uint32_t events, uint64_t ltime);
int gw_pp_put_member(struct gw_buf *b, const struct gw_pp_rec *r);
/* Validate the whole body, then call the callbacks in order. 0, -EBADMSG. */
struct gw_pp_fns {
	void (*hdr)(void *arg, uint64_t event_ltime);
	void (*member)(void *arg, const struct gw_pp_rec *r);
	void (*event)(void *arg, const struct gw_msg *m);	/* type GW_EVENT */
	void *arg;
};
int gw_pp_parse(const uint8_t *body, size_t len, const struct gw_pp_fns *fns);

/* True when s is a valid node/event name: 1..GOSSIP_NAME_MAX bytes, no NUL. */
bool gw_name_ok(const uint8_t *s, size_t len);
/* Copy a wire string into a NUL-terminated buffer of GOSSIP_NAME_MAX + 1. */
void gw_str_copy(char *dst, const struct gw_str *s);

#endif
