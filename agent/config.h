/* config.h: ovnagent's configuration (/etc/ovn/agent.yaml), read with libyaml.
 * Every key is optional; defaults are listed in docs/config.md and filled by
 * cfg_defaults(). Keys are a table {path, type, offset, validate}; an unknown
 * key, a wrong type or a bad value fails with "FILE:LINE: key: reason". */
#ifndef OVN_CONFIG_H
#define OVN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "ovn_err.h"

#define CFG_LIST_MAX 8

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum sec_action { SEC_ACTION_KILL, SEC_ACTION_LOG, SEC_ACTION_TRAP };

struct cfg {
	char node[64];			/* default: gethostname() */
	struct ovn_ip advertise;	/* family 0: first global IPv4 of the host */
	char run_dir[256];		/* default /run/ovn */
	struct {
		char socket[256];	/* default <run_dir>/ovn.sock */
		char group[64];		/* default "" = root's group */
		uint32_t rate;		/* requests/s per peer uid, default 100; 0 = no limit */
		uint32_t burst;		/* bucket size, default 200 */
	} api;
	struct {
		char backend[32];	/* default "embedded" */
		char path[256];		/* default /var/lib/ovn */
		char prefix[128];	/* default /ovn */
		double sync_interval;	/* seconds, default 0.05 */
		struct cfg_strlist {	/* redis://h:p, http(s)://h:p */
			char v[CFG_LIST_MAX][256];
			unsigned n;
		} endpoints;
		char password_file[256];	/* "" = none */
		struct {
			char ca[256], cert[256], key[256];
		} tls;
		double timeout;		/* seconds per request, default 5 */
	} store;
	uint32_t mtu;			/* 0 = underlay MTU - 50 */
	struct {
		enum log_level level;	/* default info */
	} log;
	struct {
		struct ovn_prefix pool4;	/* default 10.213.0.0/16 */
		uint8_t size4;			/* default 24 */
		struct ovn_prefix pool6;	/* default fd6f:766e::/48 */
		uint8_t size6;			/* default 64 */
	} ipam;
	struct {			/* embedded DNS for containers (agent/dnsint.c) */
		bool enabled;			/* default true */
		struct ovn_ip address;		/* default 127.0.0.11, in each container */
		struct cfg_strlist upstreams;	/* "IP" or "IP:PORT"; [] = /etc/resolv.conf */
		uint32_t ttl;			/* seconds, default 10 */
		struct ovn_ip host_address;	/* family 0 (default) = none; else a
						 * listener in the agent's netns */
	} dns;
	struct {			/* membership and endpoint events (agent/cluster.c) */
		uint32_t port;			/* UDP+TCP; 0 (default) = gossip off */
		struct cfg_strlist join;	/* seeds: "IPv4" or "IPv4:PORT" */
		char keyring[256];		/* JSON array of base64 keys; "" = plain */
	} gossip;
	struct {			/* libnetwork remote driver (agent/docker.c) */
		char socket[256];		/* "" (default) = no plugin */
		uint32_t reservation_ttl;	/* seconds, default 900 */
		char api[256];			/* dockerd's Engine API socket; "" = no names */
	} docker;
	struct {			/* IPsec of encrypted networks (agent/ipsec.c) */
		uint32_t rotate_interval;	/* seconds, default 3600; 0 = never */
		uint32_t grace;			/* seconds an old inbound key stays, 30 */
	} encryption;
	struct {			/* Prometheus text over TCP (agent/metrics_tcp.c) */
		char listen[64];		/* "IPv4:PORT" | "[IPv6]:PORT"; "" = off */
	} metrics;
	struct {			/* egress NAT, isolation, ports (agent/egress.c) */
		bool enabled;			/* default true: manage table inet ovn */
		bool forwarding;		/* default true: switch IP forwarding on */
	} egress;
	struct {			/* lockdown after start-up (agent/security.c) */
		bool capabilities;		/* default true: keep only what is used */
		bool seccomp;			/* default true: syscall allow-list */
		enum sec_action seccomp_action;	/* default kill; log, trap: debugging */
	} security;
};

/* Fill every field with its default (node from gethostname). */
void cfg_defaults(struct cfg *c);
/* Read FILE over the defaults already in c. On error c is left unchanged and
 * err->msg is "FILE:LINE: key: reason". 0 or -errno. */
int cfg_load(struct cfg *c, const char *path, struct ovn_err *err);
/* Same, from a string (tests); name is used in messages. */
int cfg_load_string(struct cfg *c, const char *yaml, const char *name, struct ovn_err *err);
/* "error" | "warn" | "info" | "debug" -> level; -EINVAL otherwise. */
int cfg_log_level_parse(const char *s, enum log_level *out);

#endif
