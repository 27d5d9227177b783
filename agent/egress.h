/* egress.h: the agent's policy for traffic leaving and entering its
 * networks (docs/egress.md): which nftables rules, port mappings and
 * forwarding sysctls this host needs, derived from netmgr's model and
 * applied through dataplane/nft.c. Runs on the agent's loop. */
#ifndef OVN_EGRESS_H
#define OVN_EGRESS_H

#include "config.h"
#include "dataplane.h"
#include "ovn_err.h"

struct egress;
struct netmgr;
struct net;
struct ep;

/* cfg is borrowed for egress's lifetime. With egress.enabled false nothing
 * is ever written and publishing is refused. */
int egress_new(struct egress **out, const struct cfg *cfg, struct ovn_err *err);
void egress_free(struct egress *eg);

/* The model is loaded: from now on network changes rebuild the table. */
void egress_ready(struct netmgr *nm);
/* Replace the whole table with what the model says (start, reconcile,
 * network created or removed); then switch forwarding on if needed. */
int egress_sync(struct netmgr *nm, struct ovn_err *err);
/* The same, skipped when the table would not change and no nftables
 * change happened since the last write (periodic reconcile: a rebuild of a
 * large table costs tens of milliseconds of the loop). */
int egress_reconcile(struct netmgr *nm, struct ovn_err *err);

/* Check e's published ports (e->rec.publish, addresses already chosen) on
 * this host: network not internal, HOST_IP local, family present, host
 * port not published by another local endpoint. Nothing is changed. */
int egress_publish_check(struct netmgr *nm, const struct ep *e, struct ovn_err *err);
/* Install e's port mappings (all or none). */
int egress_ep_add(struct netmgr *nm, struct ep *e, struct ovn_err *err);
/* Remove them (idempotent; a failure is repaired by a rebuild). */
void egress_ep_del(struct netmgr *nm, struct ep *e);

/* One mapping from a plain struct: the kernel half only. A mapping that
 * must survive a rebuild (restart, reconcile) belongs in the endpoint's
 * record instead: fill nm_attach_spec.publish (plain struct nm_publish)
 * and the attach installs it through these. */
int egress_portmap_add(struct egress *eg, const struct dp_portmap *m, struct ovn_err *err);
int egress_portmap_del(struct egress *eg, const struct dp_portmap *m, struct ovn_err *err);

#endif
