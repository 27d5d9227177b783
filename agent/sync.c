/* sync.c: keep netmgr's view in step with a store other agents write too.
 *
 * One watch on the whole prefix ("/"), so events arrive in the store's
 * revision order: a network always before the endpoints on it. Events of
 * this agent's own writes come back too; they are recognised (same network
 * id, an endpoint already known) and ignored, so applying an event is
 * idempotent. When the backend reports a gap it cannot fill (ev == NULL:
 * compaction, a stream trimmed while disconnected), netmgr re-lists
 * networks and endpoints and diffs them against what it knows.
 *
 * Endpoints that are pending or removing belong to an operation in flight
 * and are never touched from here; an event about one is only noted
 * (store_put, store_deleted) for that operation, whose store answer may be
 * lost after the write landed (netmgr.c, attached() and delete_landed()).
 * Gossip announcements (netmgr_gossip_endpoint) go through the same path
 * and are confirmed with a store get.
 * TODO: a network deleted and recreated under the same name elsewhere while
 * this agent holds local endpoints on the old one keeps the old record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsint.h"
#include "log.h"
#include "netmgr_int.h"

static void ep_names_update(struct netmgr *nm, struct ep *e, struct nm_endpoint *rec);

static struct ep *ep_find_id(struct net *n, const char *id)
{
	for (struct ep *e = n->eps; e; e = e->next)
		if (!strcmp(e->rec.id, id))
			return e;
	return NULL;
}

/* Another agent removed network n: take our endpoints off it and forget it.
 * Endpoints of operations in flight keep it alive until they finish. */
static void net_gone(struct netmgr *nm, struct net *n)
{
	struct ep *e, *next;

	log_info("network %s removed by another agent", n->rec.name);
	for (e = n->eps; e; e = next) {
		next = e->next;
		if (!e->pending && !e->removing)
			ep_kernel_remove(nm, e);
	}
	if (n->eps)
		return;
	net_unlink(nm, n);
	n->n_local = 0;
	net_dp_release(nm, n);
	net_free(n);
}

static void on_network(struct netmgr *nm, const char *name, const struct kv_event *ev)
{
	struct net *n = net_find(nm, name);
	struct nm_network rec;
	struct ovn_err err = { 0 };
	json_t *j;

	if (ev->type == KV_EV_DEL) {
		if (n && !n->removing)
			net_gone(nm, n);
		return;
	}
	j = json_loadb(ev->entry.value, ev->entry.len, 0, NULL);
	if (!j || model_network_from_json(&rec, j, &err) < 0) {
		log_warn("store: bad network record %s: %s", ev->entry.key, j ? err.msg : "not JSON");
		json_decref(j);
		return;
	}
	json_decref(j);
	if (n) {
		if (strcmp(n->rec.id, rec.id))
			log_warn("network %s was recreated elsewhere; keeping the old one here "
				 "until its endpoints are gone", name);
		nm_network_free(&rec);
		return;
	}
	n = net_add(nm, &rec);
	if (n)
		log_info("network %s learned from the store vni=%u", name, n->rec.vni);
	nm_network_free(&rec);
}

static void on_endpoint(struct netmgr *nm, const char *net, const char *id,
			const struct kv_event *ev)
{
	struct net *n = net_find(nm, net);
	struct nm_endpoint rec;
	struct ovn_err err = { 0 };
	struct ep *e;
	json_t *j;

	if (!n)
		return;		/* its network is gone or not yet known */
	e = ep_find_id(n, id);
	if (ev->type == KV_EV_DEL) {
		if (e && e->removing)
			e->store_deleted = true;	/* the operation decides */
		else if (e && !e->pending)
			ep_kernel_remove(nm, e);
		return;
	}
	if (e && (e->local || e->pending || e->removing)) {
		if (e->pending)
			e->store_put = true;	/* our attach landed (see attached()) */
		return;		/* ours: netmgr applied it already */
	}
	j = json_loadb(ev->entry.value, ev->entry.len, 0, NULL);
	if (!j || model_endpoint_from_json(&rec, j, &err) < 0) {
		log_warn("store: bad endpoint record %s: %s", ev->entry.key, j ? err.msg : "not JSON");
		json_decref(j);
		return;
	}
	json_decref(j);
	if (e) {
		ep_names_update(nm, e, &rec);
		nm_endpoint_free(&rec);
		return;
	}
	e = ep_add(nm, n, &rec);
	nm_endpoint_free(&rec);
	if (!e)
		return;
	if (e->local && aborted_has(nm, e->rec.id)) {
		/* Our attach timed out and was answered as failed; its write
		 * landed after all. Make the store agree with the answer. */
		ep_forget(nm, e, "its attach had been answered as failed (store timeout)");
		return;
	}
	if (!e->local)
		peers_add(nm, e);
	else
		netmgr_reconcile(nm);	/* ours but unknown: plumb it now */
}

/* A known remote endpoint's record rewritten: only its names may change
 * (a Docker endpoint is named after Join, netmgr_docker_ep_name). */
static void ep_names_update(struct netmgr *nm, struct ep *e, struct nm_endpoint *rec)
{
	if (!strcmp(e->rec.name, rec->name) && json_equal(e->rec.aliases, rec->aliases))
		return;
	dnsint_ep_removed(nm, e);
	memcpy(e->rec.name, rec->name, sizeof(e->rec.name));
	json_decref(e->rec.aliases);
	e->rec.aliases = json_incref(rec->aliases);
	dnsint_ep_added(nm, e);
	log_debug("endpoint %s on %s: name %s", e->rec.id, e->net->rec.name, e->rec.name);
}

static bool gone_has(const struct netmgr *nm, const char *id)
{
	unsigned n = nm->n_gone < NM_GONE ? nm->n_gone : NM_GONE;

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(nm->gone[i], id))
			return true;
	return false;
}

static void gone_add(struct netmgr *nm, const char *id)
{
	if (gone_has(nm, id))
		return;
	snprintf(nm->gone[nm->n_gone % NM_GONE], sizeof(nm->gone[0]), "%s", id);
	nm->n_gone++;
}

/* A gossip announcement may only get ahead of the store, never outvote it.
 * Push-pull hands over the sender's recent events in no particular order,
 * so an "ep+" can arrive after its own "ep-", or long after both to an
 * agent that restarted since and remembers no removal (merging two sides
 * of a partition does exactly that). The record is written before it is
 * announced, so once an announcement is applied the store must have it: a
 * get answering -ENOENT means a replayed one, and it is dropped again. Any
 * other failure (store away, which is when gossip matters) leaves it to the
 * watch or the re-list after the reconnect. */
struct gossip_check {
	struct netmgr *nm;
	char net[NM_NAME_MAX + 1];
	char id[NM_ID_LEN + 1];
};

static void gossip_checked(const struct kv_result *res, void *arg)
{
	struct gossip_check *c = arg;
	struct net *n;
	struct ep *e;

	if (res->status == -ENOENT && (n = net_find(c->nm, c->net)) &&
	    (e = ep_find_id(n, c->id)) && !e->local && !e->pending && !e->removing) {
		log_info("gossip: endpoint %s on %s is not in the store (a replayed "
			 "announcement); dropped", c->id, c->net);
		c->nm->stats.gossip_replays_dropped++;
		ep_kernel_remove(c->nm, e);
	}
	free(c);
}

static void gossip_check(struct netmgr *nm, const char *net, const char *id)
{
	struct gossip_check *c = calloc(1, sizeof(*c));
	char key[16 + NM_NAME_MAX + NM_ID_LEN];

	if (!c)
		return;		/* the watch or a re-list still corrects it */
	c->nm = nm;
	snprintf(c->net, sizeof(c->net), "%s", net);
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(key, sizeof(key), "/endpoints/%s/%s", net, id);
	if (kv_get(nm->kv, key, gossip_checked, c) < 0)
		free(c);
}

/* An endpoint event of another host, by gossip. Only remote endpoints: a
 * record naming this node, or the removal of one of ours, is the store's
 * business alone. */
void netmgr_gossip_endpoint(struct netmgr *nm, const char *net, const char *id, const char *json,
			    size_t len)
{
	struct kv_event ev = { .type = json ? KV_EV_PUT : KV_EV_DEL,
			       .entry = { .key = "", .value = json, .len = len } };
	struct net *n = net_find(nm, net);
	struct ep *e = n ? ep_find_id(n, id) : NULL;
	struct nm_endpoint rec;
	struct ovn_err err = { 0 };
	bool foreign;
	json_t *j;

	if (!n || (e && e->local))
		return;
	if (!json) {
		if (e) {
			nm->stats.gossip_applied++;
			on_endpoint(nm, net, id, &ev);
		}
		/* Ids are never reused: an "ep+" of this one arriving
		 * later is stale whatever the order gossip delivered in. */
		gone_add(nm, id);
		return;
	}
	if (e || gone_has(nm, id))
		return;		/* known already, or removed since */
	j = json_loadb(json, len, 0, NULL);
	if (!j || model_endpoint_from_json(&rec, j, &err) < 0) {
		json_decref(j);
		log_warn("gossip: bad endpoint announcement %s on %s: %s", id, net,
			 err.msg[0] ? err.msg : "not JSON");
		return;
	}
	json_decref(j);
	foreign = strcmp(rec.id, id) == 0 && strcmp(rec.network, net) == 0 &&
		       strcmp(rec.node, nm->cfg->node) != 0;

	nm_endpoint_free(&rec);
	if (!foreign) {
		log_warn("gossip: endpoint announcement %s on %s is not another host's", id, net);
		return;
	}
	nm->stats.gossip_applied++;
	on_endpoint(nm, net, id, &ev);
	gossip_check(nm, net, id);
}

static void resync(struct netmgr *nm);

static void on_event(const struct kv_event *ev, void *arg)
{
	struct netmgr *nm = arg;
	char buf[512], *net, *id;

	nm->stats.watch_events++;
	if (!ev) {
		nm->stats.resyncs++;
		log_warn("store: watch lost events; re-listing");
		resync(nm);
		return;
	}
	if (ev->entry.key[0] != '/' || strlen(ev->entry.key) >= sizeof(buf))
		return;
	strcpy(buf, ev->entry.key + 1);
	net = strchr(buf, '/');
	if (!net)
		return;
	*net++ = '\0';
	if (!strcmp(buf, "networks") && !strchr(net, '/')) {
		on_network(nm, net, ev);
	} else if (!strcmp(buf, "endpoints") && (id = strchr(net, '/')) && !strchr(id + 1, '/')) {
		*id++ = '\0';
		on_endpoint(nm, net, id, ev);
	} else if (!strcmp(buf, "keys") && !strchr(net, '/')) {
		ipsec_on_key(nm, net, ev);
	}
}

/* ---- re-list after a gap ------------------------------------------------- */

static bool listed(const struct kv_result *res, const char *key)
{
	for (size_t i = 0; i < res->n; i++)
		if (!strcmp(res->entries[i].key, key))
			return true;
	return false;
}

/* Feed every entry of a listing through the event path, then drop what the
 * listing no longer has. */
static void apply_listing(struct netmgr *nm, const struct kv_result *res, bool networks)
{
	char key[512];

	for (size_t i = 0; i < res->n; i++) {
		struct kv_event ev = { .type = KV_EV_PUT, .entry = res->entries[i] };

		on_event(&ev, nm);
	}
	for (struct net *n = nm->nets, *nn; n; n = nn) {
		nn = n->next;
		if (networks) {
			snprintf(key, sizeof(key), "/networks/%s", n->rec.name);
			if (!n->removing && !listed(res, key))
				net_gone(nm, n);
			continue;
		}
		for (struct ep *e = n->eps, *en; e; e = en) {
			en = e->next;
			snprintf(key, sizeof(key), "/endpoints/%s/%s", n->rec.name, e->rec.id);
			if (!e->pending && !e->removing && !listed(res, key))
				ep_kernel_remove(nm, e);
		}
	}
}

static void relisted_endpoints(const struct kv_result *res, void *arg)
{
	struct netmgr *nm = arg;

	nm->resyncing = false;
	if (res->status < 0) {
		log_warn("store: re-listing endpoints: %s (next gap or restart retries)", res->msg);
		return;
	}
	apply_listing(nm, res, false);
	netmgr_reconcile(nm);
	log_info("store: re-listed %zu endpoints at revision %llu", res->n,
		 (unsigned long long)res->rev);
}

static void relisted_networks(const struct kv_result *res, void *arg)
{
	struct netmgr *nm = arg;

	if (res->status < 0) {
		nm->resyncing = false;
		log_warn("store: re-listing networks: %s", res->msg);
		return;
	}
	apply_listing(nm, res, true);
	if (kv_list(nm->kv, "/endpoints/", relisted_endpoints, nm) < 0)
		nm->resyncing = false;
}

static void resync(struct netmgr *nm)
{
	if (nm->resyncing)
		return;
	nm->resyncing = true;
	ipsec_relist(nm);
	if (kv_list(nm->kv, "/networks/", relisted_networks, nm) < 0)
		nm->resyncing = false;
}

int sync_start(struct netmgr *nm, uint64_t after_rev)
{
	return kv_watch_start(nm->kv, "/", after_rev, on_event, nm, &nm->watch);
}

void sync_stop(struct netmgr *nm)
{
	if (nm->watch)
		kv_watch_stop(nm->kv, nm->watch);
	nm->watch = NULL;
}
