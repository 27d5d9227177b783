/* dnsint.h: the agent's side of the embedded DNS (dns/): feeds the name
 * table from netmgr's endpoints, serves each local container from a UDP and
 * a TCP socket bound to dns.address:53 inside its own namespace, and writes
 * /etc/netns/NAME/resolv.conf for containers attached by name.
 *
 * netmgr calls the hooks below as endpoints and networks become known or
 * go away; every hook is idempotent and a no-op when DNS is disabled
 * (nm->dns NULL). All of it runs on the agent's loop. docs/dns.md is the
 * user's view. */
#ifndef OVN_DNSINT_H
#define OVN_DNSINT_H

#include <sys/socket.h>

#include "ovn_err.h"

struct cfg;
struct dns_counters;
struct ep;
struct net;
struct netmgr;
struct uv_loop_s;
struct dnsint;

/* NULL in *out when cfg->dns.enabled is false (0 returned). cfg and loop
 * are borrowed for the object's lifetime. */
int dnsint_new(struct dnsint **out, struct uv_loop_s *loop, const struct cfg *cfg,
	       struct ovn_err *err);
/* Close every socket (asynchronously: the loop keeps running until they
 * are closed) and free. Files written for containers stay: they keep
 * running across an agent restart. d may be NULL. */
void dnsint_free(struct dnsint *d);

/* e's names enter its network; a local endpoint's namespace gets its
 * listeners (or an updated view). Pending endpoints are ignored: call
 * again once their attach committed. */
void dnsint_ep_added(struct netmgr *nm, struct ep *e);
/* What dnsint_ep_added put in goes (the last endpoint of a namespace
 * takes its listeners and resolv.conf with it). Before e is freed. */
void dnsint_ep_removed(struct netmgr *nm, struct ep *e);
void dnsint_net_added(struct netmgr *nm, struct net *n);
/* n is leaving netmgr: its names and its place in every view go. */
void dnsint_net_removed(struct netmgr *nm, struct net *n);
/* Forget (ep_forget) the endpoints of namespaces our listeners keep alive
 * after their owner deleted them; retry listeners that could not be
 * opened; re-read the host's resolv.conf when dns.upstreams is empty (and
 * switch upstreams when they changed). First step of netmgr's reconcile
 * pass (start, periodic, SIGHUP). */
void dnsint_reconcile(struct netmgr *nm);

/* The server's counters, NULL when DNS is disabled or restarting. */
const struct dns_counters *dnsint_counters(const struct netmgr *nm);

/* "IP", "IPv4:PORT" or "[IPv6]:PORT" (port 53 by default) -> ss.
 * 0 or -EINVAL. */
int dnsint_addr_parse(const char *s, struct sockaddr_storage *ss);

#endif
