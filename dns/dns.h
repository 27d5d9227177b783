/* dns.h: ovn's embedded DNS: container names per network, answered locally,
 * everything else forwarded to upstream resolvers.
 *
 * Four layers, each usable alone:
 *   codec   (codec.c)   RFC 1035/6891 wire format: parse queries, build replies.
 *   table   (table.c)   the names the agent feeds: per network, name -> addresses.
 *   server  (server.c)  pure core: a query in, a reply out or a forward; the
 *                       forwarding state machine. Time, randomness and sending
 *                       are injected, so tests drive it deterministically.
 *   dns_uv  (dns_uv.c)  the only libuv part: UDP/TCP listeners on fds the agent
 *                       opened inside container namespaces, upstream sockets.
 *
 * Model. A *network* (uint32_t id, e.g. an index the agent owns) holds names
 * ("web", "c1", an alias shared by several endpoints) each with one or more
 * addresses, and has a zone name ("net1"): "web" is also "web.net1". A *view*
 * is the ordered set of networks one container is attached to: the listener
 * in that container's namespace serves that view, so the asker is identified
 * by the socket it reached, never by the query. A view id that was never
 * defined but equals a network id means "just that network".
 *
 * Ownership: the table is the agent's; the server and dns_uv borrow it (it
 * must outlive them). Every call runs on the agent's one loop: no locks.
 */
#ifndef OVN_DNS_H
#define OVN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "ovn_err.h"

/* ------------------------------------------------------------ wire constants */
enum {
	DNS_HDR_LEN = 12,
	DNS_NAME_MAX = 255,		/* wire form, root label included */
	DNS_LABEL_MAX = 63,
	DNS_UDP_MIN = 512,		/* without EDNS (RFC 1035) */
	DNS_UDP_SIZE = 1232,		/* what we advertise (DNS flag day 2020) */
	DNS_MSG_MAX = 65535,		/* TCP */
};

enum dns_type {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
	DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33,
	DNS_T_OPT = 41, DNS_T_IXFR = 251, DNS_T_AXFR = 252, DNS_T_ANY = 255,
};

enum dns_rcode {
	DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3, DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5,
	DNS_R_BADVERS = 16,		/* extended: needs an OPT record */
};

#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_CLASS_IN 1

/* ------------------------------------------------------------ codec */
/* A parsed query (or the header + question of an upstream reply). */
struct dns_query {
	uint16_t id;
	uint16_t flags;			/* raw header flags word */
	uint16_t qtype, qclass;
	uint16_t qname_len;		/* wire length, 0 = no question parsed */
	uint8_t qname[DNS_NAME_MAX];	/* as received: case kept (RFC 4343) */
	bool has_opt;			/* an EDNS OPT record was present */
	bool do_bit;			/* EDNS DO (DNSSEC OK) */
	uint8_t edns_version;
	uint16_t udp_size;		/* client's size, >= 512 */
	uint16_t ancount, nscount, arcount;
	uint16_t opt_off;		/* replies: offset of the OPT RR, 0 = none */
	uint16_t opt_idx;		/* replies: its index in the additional section */
	uint16_t msg_len;		/* replies: end of the last RR */
};

/* Parse a query. Returns 0 when well formed, a DNS rcode > 0 the query
 * deserves instead (FORMERR, NOTIMP, BADVERS; q holds what could be read so
 * the reply echoes ID, RD and, if parsed, the question), or -EBADMSG when no
 * reply may be sent at all (shorter than a header, or QR set). */
int dns_query_parse(const uint8_t *pkt, size_t len, struct dns_query *q);
/* Parse an upstream reply the same way (QR must be set); every RR is walked
 * and bounds-checked. 0 or -EBADMSG. */
int dns_reply_parse(const uint8_t *pkt, size_t len, struct dns_query *r);

/* "web.net1." or "web.net1" -> wire form (case kept); "." or "" is the root.
 * Returns the wire length or -EINVAL. */
int dns_name_from_text(const char *s, uint8_t *wire, size_t cap);
/* Wire form -> "web.net1." (always a trailing dot). Length or -ENOSPC. */
int dns_name_to_text(const uint8_t *wire, size_t len, char *buf, size_t cap);
/* Read the (possibly compressed) name at off of a message: pointers must
 * point backward, at most 32 hops. out gets the uncompressed wire form;
 * *next the offset after the name in place. Wire length or -EBADMSG. */
int dns_name_read(const uint8_t *pkt, size_t len, size_t off, uint8_t out[DNS_NAME_MAX],
		  size_t *next);

/* ------------------------------------------------------------ table */
struct dns_table;

struct dns_table *dns_table_new(void);
void dns_table_free(struct dns_table *t);

/* Create or rename network net with zone name zone ("net1"; NULL = no zone,
 * so its names answer only bare). 0, -EINVAL (bad name), -ENOMEM. */
int dns_table_net_set(struct dns_table *t, uint32_t net, const char *zone);
/* Remove net and every name in it. 0 (also when absent). */
int dns_table_net_del(struct dns_table *t, uint32_t net);

enum {
	DNS_VIEW_NO_FORWARD = 1 << 0,	/* internal network: never forward */
};
/* Define view as the ordered networks nets[0..n) (copied); searched in that
 * order. n <= 64. 0, -EINVAL, -ENOMEM. */
int dns_table_view_set(struct dns_table *t, uint32_t view, const uint32_t *nets, size_t n,
		       unsigned int flags);
int dns_table_view_del(struct dns_table *t, uint32_t view);

/* Give name (text, "web" or "web.", case-insensitive) the address ip in
 * network net (created without a zone if unknown). Idempotent. The first name
 * added for an address is the one its PTR answers, until it is deleted. */
int dns_table_add(struct dns_table *t, uint32_t net, const char *name, const struct ovn_ip *ip);
/* Remove the address ip from name (ip NULL: every address of name). A name
 * with no address left stops existing. 0 (also when absent) or -EINVAL. */
int dns_table_del(struct dns_table *t, uint32_t net, const char *name, const struct ovn_ip *ip);

struct dns_table_stats {
	size_t nets, views, names, records;
	size_t bytes;			/* heap held by the table */
};
void dns_table_stats(const struct dns_table *t, struct dns_table_stats *st);

/* ------------------------------------------------------------ server core */
struct dns_server;

#define DNS_MAX_UPSTREAMS 4

struct dns_server_cfg {
	uint32_t ttl;			/* local answers and negative TTL; 0 = 10 s */
	unsigned int max_pending;	/* forwarded queries in flight; 0 = 1024 */
	unsigned int attempt_ms;	/* per upstream try; 0 = 1000 */
	unsigned int deadline_ms;	/* whole forward, then SERVFAIL; 0 = 2500 */
	uint16_t upstream_udp_size;	/* EDNS size sent upstream; 0 = 1232 */
	unsigned int n_upstreams;	/* 0 = no forwarding: SERVFAIL */
	bool forward_bare;		/* unknown single-label names go upstream
					 * (default: NXDOMAIN locally) */
};

/* Who asked: the core copies it into a forwarded query and hands it back
 * to ops->reply. conn is the transport's (listener or TCP connection). */
struct dns_client {
	void *conn;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} peer;				/* UDP: where to answer */
	socklen_t peer_len;
	uint32_t view;
	bool tcp;
};

struct dns_server_ops {
	/* Send a query to upstream up (0..n_upstreams-1), over TCP when tcp.
	 * 0 or -errno (then the next upstream is tried). Borrowed until return. */
	int (*upstream_send)(void *ctx, unsigned int up, bool tcp, const uint8_t *pkt, size_t len);
	/* Deliver a late reply (forwarded, or SERVFAIL) to a client. */
	void (*reply)(void *ctx, const struct dns_client *c, const uint8_t *pkt, size_t len);
	/* 32 unpredictable bits (forwarded query IDs, RFC 5452). */
	uint32_t (*random)(void *ctx);
};

/* Answer latency buckets (upper bounds, ms; the last is +Inf): the time from
 * a query's arrival in the server to its answer. Local answers are made in
 * the call that receives the query and count in the first bucket; a
 * forwarded query's time includes the upstream and any retries. */
#define DNS_LAT_BUCKETS 12
extern const unsigned int dns_lat_bounds_ms[DNS_LAT_BUCKETS - 1];

struct dns_counters {
	uint64_t queries;		/* parsed or not, UDP + TCP */
	uint64_t queries_tcp;
	uint64_t malformed;		/* dropped unanswered (no header / QR set) */
	uint64_t rcode[24];		/* replies sent to clients, by rcode */
	uint64_t local;			/* answered from the table */
	uint64_t truncated;		/* replies sent with TC */
	uint64_t forwarded;		/* queries sent upstream (first try) */
	uint64_t upstream_sends;	/* every send, retries included */
	uint64_t upstream_replies;	/* accepted */
	uint64_t upstream_bad;		/* dropped: unknown ID, wrong question, garbage */
	uint64_t upstream_timeouts;	/* attempts that timed out */
	uint64_t upstream_tcp_retries;	/* truncated UDP reply retried over TCP */
	uint64_t upstream_errors;	/* SERVFAIL/REFUSED/send failure: next upstream */
	uint64_t servfail_deadline;	/* forwards that ran out of time or upstreams */
	uint64_t overload;		/* refused: in-flight table full */
	uint64_t orphaned;		/* reply for a client whose connection closed */
	uint64_t latency[DNS_LAT_BUCKETS];	/* answers per bucket (not cumulative) */
	uint64_t latency_sum_ms;
};

/* The table is borrowed (must outlive the server); ops and ctx are copied. */
struct dns_server *dns_server_new(struct dns_table *t, const struct dns_server_cfg *cfg,
				  const struct dns_server_ops *ops, void *ctx);
/* Frees pending forwards silently (no reply). */
void dns_server_free(struct dns_server *s);

/* Handle one query from c. Writes a reply to out and returns its length
 * (send it now), returns 0 when nothing is to be sent now (forwarded: the
 * reply comes through ops->reply; or dropped), or -ENOBUFS when out is
 * smaller than 512 bytes (UDP) / 65535 (TCP). */
int dns_server_query(struct dns_server *s, const struct dns_client *c, const uint8_t *pkt,
		     size_t len, uint8_t *out, size_t outcap, uint64_t now_ms);
/* A packet from upstream up. Matching replies go to their client through
 * ops->reply; anything else is dropped and counted. */
void dns_server_upstream_reply(struct dns_server *s, unsigned int up, bool tcp,
			       const uint8_t *pkt, size_t len, uint64_t now_ms);
/* Run timeouts due at now_ms (retries, SERVFAILs). Returns the next
 * deadline in ms, or UINT64_MAX when nothing is pending. */
uint64_t dns_server_tick(struct dns_server *s, uint64_t now_ms);
/* The earliest deadline set since the last tick (UINT64_MAX: none): when to
 * call dns_server_tick next. Never late, possibly early. */
uint64_t dns_server_next_deadline(const struct dns_server *s);
/* The transport conn is gone: late replies for it are discarded. */
void dns_server_forget(struct dns_server *s, const void *conn);
unsigned int dns_server_pending(const struct dns_server *s);
const struct dns_counters *dns_server_counters(const struct dns_server *s);

/* ------------------------------------------------------------ libuv transport */
struct uv_loop_s;
struct dns_uv;
struct dns_listener;

struct dns_uv_cfg {
	struct dns_server_cfg server;	/* n_upstreams = entries used below */
	struct sockaddr_storage upstreams[DNS_MAX_UPSTREAMS];
	unsigned int tcp_idle_ms;	/* client TCP idle timeout; 0 = 10 s */
	unsigned int max_tcp_conns;	/* 0 = 256 */
};

enum dns_proto { DNS_UDP, DNS_TCP };

/* Upstream sockets are opened in the caller's network namespace. NULL on
 * failure, with err filled; what was half made is closed through the loop,
 * so keep running it. */
struct dns_uv *dns_uv_new(struct uv_loop_s *loop, struct dns_table *t,
			  const struct dns_uv_cfg *cfg, struct ovn_err *err);
/* Serve view on fd, a bound socket of the given protocol (a TCP socket need
 * not be listening yet). Takes ownership of fd, also on failure. */
struct dns_listener *dns_uv_listen_fd(struct dns_uv *u, uint32_t view, int fd,
				      enum dns_proto proto, struct ovn_err *err);
/* Bind addr (port 0 = ephemeral) in the caller's namespace and serve view;
 * *port gets the bound port when port is not NULL. */
struct dns_listener *dns_uv_listen_addr(struct dns_uv *u, uint32_t view,
					const struct sockaddr *addr, enum dns_proto proto,
					uint16_t *port, struct ovn_err *err);
/* Stop one listener (and its TCP connections); asynchronous, freed on the loop. */
void dns_uv_listener_close(struct dns_listener *l);
struct dns_server *dns_uv_server(struct dns_uv *u);
/* Close everything; cb (may be NULL) runs once every handle is closed. */
void dns_uv_close(struct dns_uv *u, void (*cb)(void *arg), void *arg);

#endif
