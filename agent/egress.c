/* egress.c: egress NAT, isolation between networks and published ports,
 * from netmgr's model to the agent's nftables table (dataplane/nft.c).
 *
 * What it does:
 *   - keeps "table inet ovn" equal to the model: every network known to
 *     the store (its bridge name, internal or not, its subnets) and the
 *     published ports of this host's endpoints. The whole table is rebuilt
 *     atomically at start and when a network appears or goes, and on a
 *     reconcile (30 s, SIGHUP) when its text or the ruleset generation
 *     moved since our last write (repair); one endpoint's ports are added
 *     or removed as map elements, exactly what a rebuild would produce.
 *   - switches IP forwarding on (egress.forwarding) once the table holding
 *     the isolation rules is in place and a non-internal network exists,
 *     never before: forwarding without the table would route between
 *     networks.
 *   - checks published ports before an attach changes anything.
 *
 * What it does not: switch forwarding off again (another service of the
 * host may rely on it, and after a restart we cannot know who switched it
 * on; Docker makes the same choice), or publish on 127.0.0.1 (no userland
 * proxy, see nft.c).
 * TODO: a local endpoint record that arrives only through the watch gets its
 * ports at the next reconcile, not at once.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "log.h"
#include "netmgr_int.h"
#include "util.h"

struct egress {
	const struct cfg *cfg;
	struct dp_nft *nft;		/* NULL when egress.enabled is false */
	bool ready;			/* model loaded: network changes rebuild */
	bool fwd_done[2];		/* [0] IPv4, [1] IPv6 switched on (or was on) */
	char *last_text;		/* the last whole table written, and the */
	uint32_t last_gen;		/* ruleset generation right after it */
};

int egress_new(struct egress **out, const struct cfg *cfg, struct ovn_err *err)
{
	struct egress *eg = calloc(1, sizeof(*eg));
	int r;

	*out = NULL;
	if (!eg)
		return ovn_err_set(err, -ENOMEM, "out of memory");
	eg->cfg = cfg;
	if (cfg->egress.enabled && (r = dp_nft_open(&eg->nft, err)) < 0) {
		free(eg);
		return r;
	}
	*out = eg;
	return 0;
}

void egress_free(struct egress *eg)
{
	if (!eg)
		return;
	dp_nft_close(eg->nft);
	free(eg->last_text);
	free(eg);
}

/* ---- port mappings of one endpoint --------------------------------------- */

static const struct ovn_ip *ep_addr(const struct ep *e, int family)
{
	const struct ovn_prefix *p = family == AF_INET ? &e->rec.ipv4 : &e->rec.ipv6;

	return p->ip.family ? &p->ip : NULL;
}

/* The kernel mappings of one published port: one per address family it
 * applies to (a port on every host address maps IPv4 and IPv6 when the
 * container has both). Returns how many (0..2) were written to out. */
static int publish_maps(const struct ep *e, const struct nm_publish *p, struct dp_portmap out[2])
{
	static const int families[] = { AF_INET, AF_INET6 };
	int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		const struct ovn_ip *ip = ep_addr(e, families[i]);

		if (!ip || (p->host_ip.family && p->host_ip.family != families[i]))
			continue;
		out[n] = (struct dp_portmap){ .proto = p->proto, .host_ip = p->host_ip,
					      .host_port = p->host_port, .ctr_ip = *ip,
					      .ctr_port = p->port };
		n++;
	}
	return n;
}

int egress_portmap_add(struct egress *eg, const struct dp_portmap *m, struct ovn_err *err)
{
	if (!eg->nft)
		return ovn_err_set(err, -EOPNOTSUPP, "published ports need egress.enabled: true "
				   "in the agent's configuration");
	return dp_nft_portmap_add(eg->nft, m, err);
}

int egress_portmap_del(struct egress *eg, const struct dp_portmap *m, struct ovn_err *err)
{
	if (!eg->nft)
		return 0;
	return dp_nft_portmap_del(eg->nft, m, err);
}

static void table_remember(struct netmgr *nm);

/* Remove the first `upto` published ports of e (all when upto < 0). */
static int ep_maps_del(struct netmgr *nm, struct ep *e, int upto)
{
	int failed = 0;

	for (int i = 0; i < e->rec.n_publish && (upto < 0 || i < upto); i++) {
		struct dp_portmap m[2];
		int n = publish_maps(e, &e->rec.publish[i], m);

		for (int k = 0; k < n; k++) {
			struct ovn_err err = { 0 };

			if (egress_portmap_del(nm->egress, &m[k], &err) < 0) {
				log_warn("endpoint %s: removing a published port: %s", e->rec.id,
					 err.msg);
				failed++;
			}
		}
	}
	return failed;
}

int egress_ep_add(struct netmgr *nm, struct ep *e, struct ovn_err *err)
{
	int i, r = 0;

	for (i = 0; i < e->rec.n_publish && r == 0; i++) {
		struct dp_portmap m[2];
		int n = publish_maps(e, &e->rec.publish[i], m);

		for (int k = 0; k < n && r == 0; k++)
			r = egress_portmap_add(nm->egress, &m[k], err);
	}
	if (r < 0) {
		ep_maps_del(nm, e, i);	/* the failed one included: add-then-delete */
		return r;
	}
	e->published = e->rec.n_publish > 0;
	if (e->published)
		table_remember(nm);
	return 0;
}

void egress_ep_del(struct netmgr *nm, struct ep *e)
{
	struct ovn_err err = { 0 };

	if (!e->published)
		return;
	e->published = false;
	if (!ep_maps_del(nm, e, -1))
		table_remember(nm);
	else if (egress_sync(nm, &err) < 0)
		log_warn("egress: rebuilding the table: %s", err.msg);
}

/* ---- checks -------------------------------------------------------------- */

static bool addr_is_local(const struct ovn_ip *ip)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		struct ovn_ip a = { 0 };

		if (!i->ifa_addr || i->ifa_addr->sa_family != ip->family)
			continue;
		a.family = ip->family;
		if (ip->family == AF_INET)
			memcpy(a.b, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		else
			memcpy(a.b, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		found = ovn_ip_equal(&a, ip);
	}
	freeifaddrs(ifa);
	return found;
}

/* Another local endpoint (any network) publishing a clashing port. */
static const struct ep *port_owner(struct netmgr *nm, const struct ep *self,
				   const struct nm_publish *p)
{
	for (struct net *n = nm->nets; n; n = n->next)
		for (struct ep *o = n->eps; o; o = o->next) {
			if (o == self || !o->local)
				continue;
			for (int i = 0; i < o->rec.n_publish; i++)
				if (model_publish_clash(&o->rec.publish[i], p))
					return o;
		}
	return NULL;
}

static int publish_check_one(struct netmgr *nm, const struct ep *e, const struct nm_publish *p,
			     struct ovn_err *err)
{
	char s[NM_PUBLISH_STRLEN], ip[OVN_IP_STRLEN];
	struct dp_portmap m[2];
	const struct ep *o;

	model_publish_str(p, s);
	if (p->host_ip.family && !addr_is_local(&p->host_ip))
		return ovn_err_set(err, -EINVAL, "publish %s: %s is not an address of this host "
				   "(leave it out to use every address)", s,
				   ovn_ip_str(&p->host_ip, ip));
	if (publish_maps(e, p, m) == 0)
		return ovn_err_set(err, -EINVAL, "publish %s: the endpoint has no %s address", s,
				   p->host_ip.family == AF_INET6 ? "IPv6" : "IPv4");
	o = port_owner(nm, e, p);
	if (o)
		return ovn_err_set(err, -EEXIST, "publish %s: host port %u/%s is already published "
				   "by endpoint %s on network %s", s, p->host_port,
				   p->proto == IPPROTO_UDP ? "udp" : "tcp", o->rec.id,
				   o->net->rec.name);
	return 0;
}

int egress_publish_check(struct netmgr *nm, const struct ep *e, struct ovn_err *err)
{
	int r;

	if (!e->rec.n_publish)
		return 0;
	if (!nm->egress->nft)
		return ovn_err_set(err, -EINVAL, "published ports need egress.enabled: true in "
				   "the agent's configuration");
	if (e->net->rec.internal)
		return ovn_err_set(err, -EINVAL, "network %s is internal: nothing enters it from "
				   "the host, so it cannot publish ports", e->net->rec.name);
	for (int i = 0; i < e->rec.n_publish; i++)
		if ((r = publish_check_one(nm, e, &e->rec.publish[i], err)) < 0)
			return r;
	return 0;
}

/* ---- whole table --------------------------------------------------------- */

struct model_view {
	struct dp_nft_net *nets;
	size_t n_nets;
	struct dp_portmap *maps;
	size_t n_maps, cap_maps;
	bool need4, need6;		/* a non-internal network of that family */
};

static int view_add_map(struct model_view *v, const struct dp_portmap *m)
{
	if (v->n_maps == v->cap_maps) {
		size_t cap = v->cap_maps ? v->cap_maps * 2 : 16;
		struct dp_portmap *nm = reallocarray(v->maps, cap, sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		v->maps = nm;
		v->cap_maps = cap;
	}
	v->maps[v->n_maps++] = *m;
	return 0;
}

static void view_net(struct model_view *v, const struct net *n)
{
	struct dp_nft_net *d = &v->nets[v->n_nets++];

	memset(d, 0, sizeof(*d));
	d->vni = n->rec.vni;
	d->internal = n->rec.internal;
	d->n_subnets = n->rec.n_subnets;
	for (int i = 0; i < n->rec.n_subnets; i++) {
		d->subnets[i] = n->rec.subnets[i].prefix;
		if (!d->internal && d->subnets[i].ip.family == AF_INET)
			v->need4 = true;
		if (!d->internal && d->subnets[i].ip.family == AF_INET6)
			v->need6 = true;
	}
}

/* Networks, and the ports of local endpoints (pending ones too: their
 * attach installed them already). */
static int view_build(struct netmgr *nm, struct model_view *v)
{
	size_t count = 0;

	memset(v, 0, sizeof(*v));
	for (struct net *n = nm->nets; n; n = n->next)
		count++;
	v->nets = calloc(count ? count : 1, sizeof(*v->nets));
	if (!v->nets)
		return -ENOMEM;
	for (struct net *n = nm->nets; n; n = n->next) {
		view_net(v, n);
		for (struct ep *e = n->eps; e; e = e->next) {
			if (!e->local || n->rec.internal)
				continue;
			for (int i = 0; i < e->rec.n_publish; i++) {
				struct dp_portmap m[2];
				int k = publish_maps(e, &e->rec.publish[i], m);

				for (int j = 0; j < k; j++)
					if (view_add_map(v, &m[j]) < 0)
						return -ENOMEM;
			}
		}
	}
	return 0;
}

static void view_mark_published(struct netmgr *nm)
{
	for (struct net *n = nm->nets; n; n = n->next)
		for (struct ep *e = n->eps; e; e = e->next)
			e->published = e->local && !n->rec.internal && e->rec.n_publish > 0;
}

static void forwarding_on(struct egress *eg, int family)
{
	bool *done = &eg->fwd_done[family == AF_INET6];
	struct ovn_err err = { 0 };
	bool on = false;

	if (*done || !eg->cfg->egress.forwarding)
		return;
	if (dp_forwarding_get(family, &on, &err) == 0 && !on &&
	    dp_forwarding_enable(family, &err) == 0)
		log_info("egress: %s forwarding switched on",
			 family == AF_INET ? "IPv4" : "IPv6");
	if (err.code) {
		log_warn("egress: %s (containers of non-internal networks cannot leave the host)",
			 err.msg);
		return;
	}
	*done = true;
}

/* The table we would write is the one we wrote last, and no nftables
 * change at all happened since: nothing to repair. */
static bool table_unchanged(struct egress *eg, const char *text)
{
	uint32_t gen;

	return eg->last_text && !strcmp(eg->last_text, text) &&
	       dp_nft_genid(eg->nft, &gen, NULL) == 0 && gen == eg->last_gen;
}

static int table_sync(struct netmgr *nm, bool force, struct ovn_err *err)
{
	struct egress *eg = nm->egress;
	struct model_view v;
	char *text = NULL;
	int r;

	if (!eg->nft || !eg->ready)
		return 0;
	r = view_build(nm, &v);
	if (r == 0)
		r = dp_nft_ruleset_text(&text, v.nets, v.n_nets, v.maps, v.n_maps);
	if (r < 0) {
		ovn_err_set(err, r, "egress: cannot build the table (%s)", strerror(-r));
		goto out;
	}
	if (!force && table_unchanged(eg, text))
		goto done;
	r = dp_nft_run(eg->nft, text, err);
	if (r < 0)
		goto out;
	if (!force && eg->last_text && !strcmp(eg->last_text, text))
		log_info("egress: nftables changed since our last write; table inet ovn rewritten");
	log_debug("egress: table inet ovn written (%zu networks, %zu port mappings)", v.n_nets,
		  v.n_maps);
	free(eg->last_text);
	eg->last_text = TAKE_PTR(text);
	if (dp_nft_genid(eg->nft, &eg->last_gen, NULL) < 0)
		free(TAKE_PTR(eg->last_text));	/* unknown: rebuild next time */
done:
	view_mark_published(nm);
	if (v.need4)
		forwarding_on(eg, AF_INET);
	if (v.need6)
		forwarding_on(eg, AF_INET6);
out:
	free(text);
	free(v.nets);
	free(v.maps);
	return r;
}

/* After an incremental change that succeeded the table is what a rebuild
 * would write now: record that, so the next reconcile need not rewrite it. */
static void table_remember(struct netmgr *nm)
{
	struct egress *eg = nm->egress;
	struct model_view v;
	char *text = NULL;

	free(TAKE_PTR(eg->last_text));
	if (view_build(nm, &v) == 0 &&
	    dp_nft_ruleset_text(&text, v.nets, v.n_nets, v.maps, v.n_maps) == 0 &&
	    dp_nft_genid(eg->nft, &eg->last_gen, NULL) == 0)
		eg->last_text = TAKE_PTR(text);
	free(text);
	free(v.nets);
	free(v.maps);
}

int egress_sync(struct netmgr *nm, struct ovn_err *err)
{
	return table_sync(nm, true, err);
}

int egress_reconcile(struct netmgr *nm, struct ovn_err *err)
{
	return table_sync(nm, false, err);
}

void egress_ready(struct netmgr *nm)
{
	nm->egress->ready = true;
}
