/* peers.c: endpoints of other hosts, programmed into this host's copy of the
 * network so nothing floods or learns (DESIGN: remote endpoint = two kernel
 * entries):
 *   FDB  mac -> remote VTEP on vx-<vni> (static)
 *   neighbour  ipv4/ipv6 -> mac on vx-<vni> (permanent; the VxLAN ARP/ND
 *              proxy answers the local containers from it)
 *   flood  00:00:00:00:00:00 -> VTEP, one per remote host that has endpoints
 *          on the network, for the broadcast and multicast left over.
 * Only hosts with local endpoints on a network have its devices, so only
 * they carry these entries; peers_sync_net programs them all when a
 * network's devices appear here.
 *
 * Every call is idempotent (the dataplane replaces or ignores), so the
 * watch, a resync and reconcile may all repeat one.
 *
 * A host gossip declares failed keeps its endpoints in the model (the store
 * has them) but they count as not remote here: its entries are pruned, so
 * traffic to it fails fast instead of vanishing into a dead VTEP, and come
 * back when gossip sees it alive again. A host that left gracefully (an
 * agent restart) keeps its entries: its kernel still forwards.
 * TODO: stale entries of endpoints removed while this agent was down stay
 * until the network's devices are recreated (needs an FDB dump to diff). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netmgr_int.h"

bool node_is_down(const struct netmgr *nm, const char *node)
{
	for (unsigned i = 0; i < nm->n_down; i++)
		if (!strcmp(nm->down[i], node))
			return true;
	return false;
}

bool ep_is_remote(struct netmgr *nm, const struct ep *e)
{
	return !e->local && e->rec.vtep.family == AF_INET &&
	       !ovn_ip_equal(&e->rec.vtep, &nm->cfg->advertise) &&
	       !(nm->n_down && node_is_down(nm, e->rec.node));
}

static int down_set(struct netmgr *nm, const char *node, bool down)
{
	char (*v)[64];
	unsigned i;

	for (i = 0; i < nm->n_down && strcmp(nm->down[i], node); i++)
		;
	if (!down) {
		if (i == nm->n_down)
			return 0;
		memmove(nm->down[i], nm->down[i + 1], (nm->n_down - i - 1) * sizeof(nm->down[0]));
		nm->n_down--;
		return 1;
	}
	if (i < nm->n_down)
		return 0;
	v = realloc(nm->down, (nm->n_down + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	nm->down = v;
	snprintf(nm->down[nm->n_down++], sizeof(nm->down[0]), "%s", node);
	return 1;
}

void netmgr_node_state(struct netmgr *nm, const char *node, bool up)
{
	int r = down_set(nm, node, !up);

	if (r <= 0 || !strcmp(node, nm->cfg->node))
		return;
	log_info("host %s %s: %s its endpoints' entries", node, up ? "is back" : "failed",
		 up ? "programming" : "withdrawing");
	for (struct net *n = nm->nets; n; n = n->next) {
		if (up)
			peers_sync_net(nm, n);
		else
			nm->stats.peers_withdrawn += peers_prune(nm, n);
	}
}

/* Other remote endpoints of e's network behind the same VTEP. */
static bool vtep_still_used(struct netmgr *nm, const struct ep *e)
{
	for (const struct ep *o = e->net->eps; o; o = o->next)
		if (o != e && ep_is_remote(nm, o) && ovn_ip_equal(&o->rec.vtep, &e->rec.vtep))
			return true;
	return false;
}

static void peer_op(struct netmgr *nm, const struct ep *e, bool add)
{
	const struct ovn_prefix *ips[2] = { &e->rec.ipv4, &e->rec.ipv6 };
	struct dp_peer p = { .mac = e->rec.mac, .vtep = e->rec.vtep };
	uint32_t vni = e->net->rec.vni;
	struct ovn_err err = { 0 };
	int n = 0, r;

	for (int i = 0; i < 2; i++) {
		if (!ips[i]->ip.family)
			continue;
		p.ip = ips[i]->ip;
		r = add ? dp_peer_add(nm->dp, vni, &p, &err) : dp_peer_del(nm->dp, vni, &p, &err);
		if (r < 0 && ++nm->stats.dp_errors)
			log_warn("peer %s on %s: %s", e->rec.id, e->net->rec.name, err.msg);
		n++;
	}
	if (n == 0) {		/* no address: the FDB entry alone */
		memset(&p.ip, 0, sizeof(p.ip));
		r = add ? dp_peer_add(nm->dp, vni, &p, &err) : dp_peer_del(nm->dp, vni, &p, &err);
		if (r < 0)
			log_warn("peer %s on %s: %s", e->rec.id, e->net->rec.name, err.msg);
	}
}

void peers_add(struct netmgr *nm, struct ep *e)
{
	struct ovn_err err = { 0 };

	if (!ep_is_remote(nm, e) || !e->net->dp_up)
		return;
	peer_op(nm, e, true);
	if (dp_flood_add(nm->dp, e->net->rec.vni, &e->rec.vtep, &err) < 0)
		log_warn("flood entry on %s: %s", e->net->rec.name, err.msg);
	if (e->net->rec.encrypted)
		ipsec_kick(nm);		/* maybe a new peer host: its SAs */
	log_debug("peer %s of %s programmed on vx-%u", e->rec.id, e->rec.node, e->net->rec.vni);
}

void peers_del(struct netmgr *nm, struct ep *e)
{
	struct ovn_err err = { 0 };

	if (!ep_is_remote(nm, e) || !e->net->dp_up)
		return;
	peer_op(nm, e, false);
	if (!vtep_still_used(nm, e) &&
	    dp_flood_del(nm->dp, e->net->rec.vni, &e->rec.vtep, &err) < 0)
		log_warn("flood entry on %s: %s", e->net->rec.name, err.msg);
	if (e->net->rec.encrypted)
		ipsec_kick(nm);		/* maybe the pair's last endpoint */
	log_debug("peer %s of %s removed from vx-%u", e->rec.id, e->rec.node, e->net->rec.vni);
}

void peers_sync_net(struct netmgr *nm, struct net *n)
{
	for (struct ep *e = n->eps; e; e = e->next)
		if (!e->removing)
			peers_add(nm, e);
}

/* An entry on vx- that some remote endpoint (or, for a flood entry, some
 * remote host with endpoints) of n accounts for. */
static bool entry_wanted(struct netmgr *nm, struct net *n, const struct dp_entry *d)
{
	static const struct ovn_mac zero;

	for (struct ep *e = n->eps; e; e = e->next) {
		if (!ep_is_remote(nm, e) || e->removing)
			continue;
		if (d->kind == DP_ENTRY_FDB) {
			if (!ovn_ip_equal(&d->vtep, &e->rec.vtep))
				continue;
			if (!memcmp(d->mac.b, zero.b, 6) || !memcmp(d->mac.b, e->rec.mac.b, 6))
				return true;
		} else if (!memcmp(d->mac.b, e->rec.mac.b, 6) &&
			   (ovn_ip_equal(&d->ip, &e->rec.ipv4.ip) ||
			    ovn_ip_equal(&d->ip, &e->rec.ipv6.ip))) {
			return true;
		}
	}
	return false;
}

struct prune {
	struct netmgr *nm;
	struct net *n;
	int removed;
};

static int prune_one(const struct dp_entry *d, void *arg)
{
	struct prune *p = arg;
	struct ovn_err err = { 0 };
	char a[OVN_IP_STRLEN], m[OVN_MAC_STRLEN];

	if (entry_wanted(p->nm, p->n, d))
		return 0;
	if (dp_entry_del(p->nm->dp, p->n->rec.vni, d, &err) < 0) {
		p->nm->stats.dp_errors++;
		log_warn("prune on vx-%u: %s", p->n->rec.vni, err.msg);
		return 0;
	}
	p->removed++;
	log_info("reconcile: removed stale %s %s %s on vx-%u",
		 d->kind == DP_ENTRY_FDB ? "fdb" : "neighbour", ovn_mac_str(&d->mac, m),
		 ovn_ip_str(d->kind == DP_ENTRY_FDB ? &d->vtep : &d->ip, a), p->n->rec.vni);
	return 0;
}

int peers_prune(struct netmgr *nm, struct net *n)
{
	struct prune p = { .nm = nm, .n = n };
	struct ovn_err err = { 0 };

	if (!n->dp_up)
		return 0;
	if (dp_entry_dump(nm->dp, n->rec.vni, prune_one, &p, &err) < 0) {
		nm->stats.dp_errors++;
		log_warn("prune on vx-%u: %s", n->rec.vni, err.msg);
	}
	return p.removed;
}
