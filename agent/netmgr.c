/* netmgr.c: networks, endpoints and IPAM over the store and the dataplane
 * (see netmgr.h for the ordering rules that make it crash-safe).
 *
 * Store layout (keys relative to the store prefix):
 *   /networks/<name>          network record (JSON)
 *   /vni/<vni>                <name>: makes VNIs unique with an ABSENT compare
 *   /endpoints/<net>/<id>     endpoint record (JSON)
 *   /ipam/<net>/<address>     <endpoint id>: makes addresses unique
 *
 * Devices of a network (vx-, br-) exist on a host only while it has local
 * endpoints on it; they are created on the first attach and removed after
 * the last detach, like Docker's overlay sandboxes.
 *
 * Where the devices live: in the agent's own network namespace (the host's),
 * not in a sandbox namespace per network. Nothing to bind-mount, so nothing
 * vanishes with the agent's mount namespace; the price is that subnets may
 * never overlap (checked here) and inter-network forwarding must be blocked
 * (bridges are separate L2 domains; routed isolation is egress's job).
 *
 * TODO: subnet overlap is checked against this agent's view only; with a
 * shared store two hosts racing to create overlapping subnets need a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <signal.h>

#include "cluster.h"
#include "dnsint.h"
#include "ipam.h"
#include "log.h"
#include "netmgr.h"
#include "netmgr_int.h"
#include "util.h"

#define VNI_AUTO_FIRST 4096
/* How long a Docker endpoint may wait for its sandbox file (see
 * reconcile_docker_ep). */
#define DOCKER_SANDBOX_GRACE_S 60

/* One asynchronous operation: what it needs across its store round trip. */
struct op {
	struct netmgr *nm;
	uint64_t t0;			/* uv_hrtime() at the request */
	uint64_t t_txn;			/* uv_hrtime() when the txn was sent */
	int lat_kind;			/* LAT_* or -1 */
	netmgr_cb cb;
	void *arg;
	struct ovn_err err;
	struct net *net;
	struct ep *ep;
	struct nm_network rec;		/* create */
	char *keys[KV_TXN_MAX];		/* strings the txn points at */
	char *vals[KV_TXN_MAX];
	struct kv_op ops[KV_TXN_MAX];
	size_t n_ops;
	json_t *result;
	int count;			/* force-remove: endpoints left */
	bool auto4, auto6, auto_mac;	/* attach: chosen here, may be rechosen */
	int retries;			/* attach: address races lost so far */
};

/* An attach that loses the race for an address to another agent (the
 * store's ABSENT compare fails) picks new addresses and tries again, this
 * many times at most. */
#define ATTACH_RETRIES 8

/* ---- helpers ------------------------------------------------------------ */

/* Fault injection for the crash tests: OVN_CRASH_AT names a point between two
 * steps of an operation where the agent kills itself (SIGKILL, no cleanup),
 * so tests can hit exactly the windows the ordering rules are about:
 *   attach-kernel  veth made, store not yet written
 *   attach-store   store txn submitted, answer not sent
 *   detach-store   store record deleted, veth not yet deleted */
static void crash_point(const char *name)
{
	static const char *at;
	static bool read;

	if (!read) {
		at = getenv("OVN_CRASH_AT");
		read = true;
	}
	if (at && !strcmp(at, name)) {
		log_warn("OVN_CRASH_AT=%s: killing myself", name);
		raise(SIGKILL);
	}
}

/* Forget the steps of a transaction already run, to build the next one. */
static void op_clear_txn(struct op *op)
{
	for (size_t i = 0; i < op->n_ops; i++) {
		free(op->keys[i]);
		free(op->vals[i]);
	}
	op->n_ops = 0;
}

static struct op *op_new(struct netmgr *nm, netmgr_cb cb, void *arg)
{
	struct op *op = calloc(1, sizeof(*op));

	if (!op) {
		struct ovn_err e = { .code = -ENOMEM, .msg = "out of memory" };

		cb(-ENOMEM, &e, NULL, arg);
		return NULL;
	}
	op->nm = nm;
	op->cb = cb;
	op->arg = arg;
	op->t0 = uv_hrtime();
	op->lat_kind = -1;
	return op;
}

static void op_free(struct op *op)
{
	op_clear_txn(op);
	nm_network_free(&op->rec);
	json_decref(op->result);
	free(op);
}

/* Detaching frees a few KB per endpoint in the middle of the heap; after a
 * burst of them (a host draining its containers) hand the pages back once
 * the agent has been quiet for a moment. */
#define TRIM_IDLE_MS 2000

static void trim_fire(uv_timer_t *t)
{
	(void)t;
	malloc_trim(0);
}

/* Answer and free the operation. */
static void op_done(struct op *op, int status)
{
	struct nm_stats *st = &op->nm->stats;
	double secs = (double)(uv_hrtime() - op->t0) / 1e9;

	if (status == 0 && op->lat_kind >= 0) {
		struct lat_ring *l = &op->nm->lat[op->lat_kind];

		l->us[l->n++ % LAT_SAMPLES] = (uint32_t)(secs * 1e6);
	}
	if (op->lat_kind == LAT_ATTACH) {
		status == 0 ? st->attach_ok++ : st->attach_err++;
		if (status == 0)
			stats_observe(&st->attach, secs);
	} else if (op->lat_kind == LAT_DETACH) {
		status == 0 ? st->detach_ok++ : st->detach_err++;
		if (status == 0) {
			stats_observe(&st->detach, secs);
			uv_timer_start(op->nm->trim, trim_fire, TRIM_IDLE_MS, 0);
		}
	}
	if (status < 0 && !op->err.code)
		ovn_err_set(&op->err, status, "%s", strerror(-status));
	op->cb(status, &op->err, status < 0 ? NULL : op->result, op->arg);
	op_free(op);
}

static void op_fail(struct op *op, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void op_fail(struct op *op, int code, const char *fmt, ...)
{
	va_list ap;

	if (!op->err.code) {
		op->err.code = code;
		va_start(ap, fmt);
		vsnprintf(op->err.msg, sizeof(op->err.msg), fmt, ap);
		va_end(ap);
	}
	op_done(op, code);
}

/* Add one step to op's transaction; key and value are formatted/copied. */
static int op_add(struct op *op, enum kv_op_type type, enum kv_cmp cmp, char *key, char *val)
{
	struct kv_op *o;

	if (!key || (type == KV_OP_PUT && !val) || op->n_ops == KV_TXN_MAX) {
		free(key);
		free(val);
		return -ENOMEM;
	}
	o = &op->ops[op->n_ops];
	op->keys[op->n_ops] = key;
	op->vals[op->n_ops] = val;
	op->n_ops++;
	*o = (struct kv_op){ .type = type, .cmp = cmp, .key = key, .value = val,
			     .len = val ? strlen(val) : 0 };
	return 0;
}

/* Send op's transaction; its callback gets op and calls txn_seen first. */
static int op_txn(struct op *op, kv_cb cb)
{
	op->t_txn = uv_hrtime();
	return kv_txn(op->nm->kv, op->ops, op->n_ops, cb, op);
}

static void txn_seen(struct op *op, const struct kv_result *res)
{
	stats_observe(&op->nm->stats.store_txn, (double)(uv_hrtime() - op->t_txn) / 1e9);
	if (res->status < 0 && res->status != -ECANCELED)
		op->nm->stats.store_errors++;
}

/* A write whose answer never came may still be applied later (its bytes
 * may sit in a socket): say so, since the caller cannot know. */
static bool outcome_unknown(int status)
{
	return status == -ETIMEDOUT || status == -ECONNRESET || status == -EPIPE;
}

/* The code a failed store request is answered with. The store's own
 * resource errors (embedded log on a full disk: -ENOSPC, Redis OOM, etcd's
 * quota, a read-only or failing disk) must not read as the caller's fault:
 * -ENOSPC is also "pool exhausted" and the API answers it 409, which tells
 * a client to change its request. The store cannot take writes now: that
 * is 503, "store unavailable", with the store's message naming why. */
static int store_code(int status)
{
	switch (status) {
	case -ENOSPC: case -EDQUOT: case -EROFS: case -EIO:
		return -EAGAIN;
	default:
		return status;
	}
}

/* Fail op with the store's own message (backends already name the store).
 * An attach's late write is undone (sync.c); other writes may stand. */
static void op_store_fail(struct op *op, const struct kv_result *res)
{
	const char *m = res->msg && res->msg[0] ? res->msg : strerror(-res->status);
	bool attach = op->lat_kind == LAT_ATTACH;

	op_fail(op, store_code(res->status), "%s%s%s", strncmp(m, "store", 5) ? "store: " : "", m,
		!outcome_unknown(res->status) ? "" : attach ?
		" (if the write lands later, it is undone)" :
		" (the write may still be applied when the store answers)");
}

/* A delete of e failed with res, but the store may have applied it and
 * only the answer was lost (a timeout under packet loss): the watch, which
 * leaves an endpoint being removed alone, noted the record's deletion in
 * e->store_deleted. Then the delete did happen, and the operation goes on
 * as a success; failing it would keep a veth and addresses the store no
 * longer accounts for, and no later event would ever remove them. */
static bool delete_landed(struct ep *e, const struct kv_result *res)
{
	if (!e->store_deleted)
		return false;
	log_info("endpoint %s: the store's answer was lost (%s) but its watch shows the "
		 "record deleted", e->rec.id, res->msg && res->msg[0] ? res->msg :
		 strerror(-res->status));
	return true;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static char *json_str(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

static const char *ip_s(const struct ovn_ip *ip, char buf[OVN_IP_STRLEN])
{
	return ovn_ip_str(ip, buf);
}

struct net *net_find(struct netmgr *nm, const char *name)
{
	for (struct net *n = nm->nets; n; n = n->next)
		if (!strcmp(n->rec.name, name))
			return n;
	return NULL;
}

struct net *net_find_vni(struct netmgr *nm, uint32_t vni)
{
	for (struct net *n = nm->nets; n; n = n->next)
		if (n->rec.vni == vni)
			return n;
	return NULL;
}

static int net_count_eps(const struct net *n)
{
	int c = 0;

	for (struct ep *e = n->eps; e; e = e->next)
		c += !e->pending;
	return c;
}

struct ipam_pool *net_pool(struct net *n, int family)
{
	for (int i = 0; i < n->rec.n_subnets; i++)
		if (n->rec.subnets[i].prefix.ip.family == family)
			return &n->pools[i];
	return NULL;
}

void net_free(struct net *n)
{
	struct ep *e, *next;

	for (e = n->eps; e; e = next) {
		next = e->next;
		nm_endpoint_free(&e->rec);
		free(e);
	}
	for (int i = 0; i < n->rec.n_subnets; i++)
		ipam_pool_free(&n->pools[i]);
	nm_network_free(&n->rec);
	free(n);
}

static uint64_t node_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ULL;
	return h;
}

/* A network appeared or went: the table's sets follow (after the start,
 * which builds the table once from the whole store). */
static void egress_net_changed(struct netmgr *nm)
{
	struct ovn_err err = { 0 };

	if (egress_sync(nm, &err) < 0)
		log_warn("egress: %s (reconcile retries)", err.msg);
}

/* Takes ownership of rec's members. */
struct net *net_add(struct netmgr *nm, struct nm_network *rec)
{
	struct net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->rec = *rec;
	memset(rec, 0, sizeof(*rec));
	for (int i = 0; i < n->rec.n_subnets; i++) {
		if (ipam_pool_init(&n->pools[i], &n->rec.subnets[i].prefix,
				   &n->rec.subnets[i].gateway) < 0) {
			n->rec.n_subnets = i;
			net_free(n);
			return NULL;
		}
	}
	/* Agents sharing a store start allocating at different places (a hash
	 * of the node name), so concurrent attaches on several hosts rarely
	 * propose the same address; the store's compare decides when they do. */
	if (nm->cluster)
		for (int i = 0; i < n->rec.n_subnets; i++)
			ipam_pool_seed(&n->pools[i], node_hash(nm->cfg->node));
	n->next = nm->nets;
	nm->nets = n;
	dnsint_net_added(nm, n);
	egress_net_changed(nm);
	return n;
}

void net_unlink(struct netmgr *nm, struct net *n)
{
	dnsint_net_removed(nm, n);
	for (struct net **pp = &nm->nets; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	egress_net_changed(nm);
}

static void ep_release_addrs(struct ep *e)
{
	struct ipam_pool *p;

	if (e->rec.ipv4.ip.family && (p = net_pool(e->net, AF_INET)))
		ipam_release(p, &e->rec.ipv4.ip);
	if (e->rec.ipv6.ip.family && (p = net_pool(e->net, AF_INET6)))
		ipam_release(p, &e->rec.ipv6.ip);
}

/* Insert an endpoint (taking rec's members) and reserve its addresses. */
struct ep *ep_add(struct netmgr *nm, struct net *n, struct nm_endpoint *rec)
{
	struct ep *e = calloc(1, sizeof(*e));
	struct ipam_pool *p;

	if (!e)
		return NULL;
	e->rec = *rec;
	memset(rec, 0, sizeof(*rec));
	e->net = n;
	e->local = !strcmp(e->rec.node, nm->cfg->node);
	if (e->rec.ipv4.ip.family && (p = net_pool(n, AF_INET)))
		ipam_reserve(p, &e->rec.ipv4.ip);
	if (e->rec.ipv6.ip.family && (p = net_pool(n, AF_INET6)))
		ipam_reserve(p, &e->rec.ipv6.ip);
	e->next = n->eps;
	n->eps = e;
	n->n_local += e->local;
	dnsint_ep_added(nm, e);
	return e;
}

/* Unlink, release addresses, free. */
void ep_drop(struct netmgr *nm, struct ep *e)
{
	struct net *n = e->net;

	dnsint_ep_removed(nm, e);
	if (!e->local) {
		snprintf(nm->gone[nm->n_gone % NM_GONE], sizeof(nm->gone[0]), "%s", e->rec.id);
		nm->n_gone++;
	}
	for (struct ep **pp = &n->eps; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	egress_ep_del(nm, e);	/* unlinked first: a repair rebuild leaves it out */
	n->n_local -= e->local;
	ep_release_addrs(e);
	nm_endpoint_free(&e->rec);
	free(e);
}

static struct ep *ep_find_host_ifname(struct netmgr *nm, const char *ifname)
{
	for (struct net *n = nm->nets; n; n = n->next)
		for (struct ep *e = n->eps; e; e = e->next)
			if (e->local && !strcmp(e->rec.host_ifname, ifname))
				return e;
	return NULL;
}

static void dp_network_of(struct netmgr *nm, const struct net *n, struct dp_network *d)
{
	memset(d, 0, sizeof(*d));
	d->vni = n->rec.vni;
	d->vtep = nm->cfg->advertise;
	d->mtu = n->rec.mtu;
	/* Encrypted networks on their own port, so the XFRM policies select
	 * exactly their traffic (ipsec.c). */
	d->port = n->rec.encrypted ? DP_VXLAN_PORT_ENC : DP_VXLAN_PORT;
	ovn_mac_from_ip(&d->bridge_mac, &n->rec.subnets[0].gateway);
	if (n->rec.internal)
		return;		/* no gateway: nothing leaves the overlay */
	for (int i = 0; i < n->rec.n_subnets; i++) {
		d->gateways[i].ip = n->rec.subnets[i].gateway;
		d->gateways[i].len = n->rec.subnets[i].prefix.len;
	}
	d->n_gateways = n->rec.n_subnets;
}

int net_dp_ensure(struct netmgr *nm, struct net *n, struct ovn_err *err)
{
	struct dp_network d;
	int r;

	dp_network_of(nm, n, &d);
	/* Block policies before the device: not one clear packet. */
	r = n->rec.encrypted ? ipsec_prepare(nm, err) : 0;
	if (r == 0)
		r = dp_network_ensure(nm->dp, &d, err);
	if (r < 0)
		nm->stats.dp_errors++;
	if (r == 0 && !n->dp_up) {
		n->dp_up = true;
		peers_sync_net(nm, n);
		if (n->rec.encrypted)
			ipsec_kick(nm);
	}
	return r;
}

/* Remove the network's devices once no local endpoint needs them. */
void net_dp_release(struct netmgr *nm, struct net *n)
{
	struct ovn_err err = { 0 };

	if (n->n_local > 0)
		return;
	if (dp_network_remove(nm->dp, n->rec.vni, &err) < 0 && ++nm->stats.dp_errors)
		log_warn("network %s: removing vx-%u/br-%u: %s", n->rec.name, n->rec.vni,
			 n->rec.vni, err.msg);
	n->dp_up = false;
	if (n->rec.encrypted)
		ipsec_kick(nm);	/* its peers' SAs and policies may go */
}

static void dp_endpoint_of(const struct ep *e, struct dp_endpoint *d)
{
	const struct net *n = e->net;

	memset(d, 0, sizeof(*d));
	d->vni = n->rec.vni;
	ovn_strlcpy(d->host_ifname, e->rec.host_ifname, sizeof(d->host_ifname));
	ovn_strlcpy(d->ifname, e->rec.ifname, sizeof(d->ifname));
	d->mac = e->rec.mac;
	d->mtu = n->rec.mtu;
	if (e->rec.docker)
		return;		/* dockerd sets addresses and routes after its move */
	if (e->rec.ipv4.ip.family)
		d->addrs[d->n_addrs++] = e->rec.ipv4;
	if (e->rec.ipv6.ip.family)
		d->addrs[d->n_addrs++] = e->rec.ipv6;
	d->hairpin = e->rec.n_publish > 0;
	if (n->rec.internal)
		return;
	for (int i = 0; i < n->rec.n_subnets; i++) {
		const struct ovn_ip *gw = &n->rec.subnets[i].gateway;

		if (gw->family == AF_INET && e->rec.ipv4.ip.family)
			d->gw4 = *gw;
		if (gw->family == AF_INET6 && e->rec.ipv6.ip.family)
			d->gw6 = *gw;
	}
}

/* Identity of a namespace file, to tell "same namespace" after a restart. */
int netns_id_of(int fd, char *buf, size_t size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	snprintf(buf, size, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	return 0;
}

/* Open the namespace a request names; path gets what to record. */
static int target_open(const char *netns, int pid, char *path, size_t size, struct ovn_err *err)
{
	if (pid) {
		snprintf(path, size, "/proc/%d/ns/net", pid);
		return dp_netns_open_pid(pid, err);
	}
	if (netns[0] == '/')
		snprintf(path, size, "%s", netns);
	else
		snprintf(path, size, "/run/netns/%s", netns);
	return dp_netns_open(netns, err);
}

static int errno_status(int r)
{
	return r == -ENOENT ? -ENOENT : r == -EEXIST ? -EEXIST : r;
}

/* ---- store watch-free loading ------------------------------------------- */

static void start_done(struct netmgr *nm, int status, struct ovn_err *err)
{
	netmgr_cb cb = nm->start_cb;

	nm->start_cb = NULL;
	if (cb)
		cb(status, err, NULL, nm->start_arg);
}

static void on_timer(uv_timer_t *t)
{
	netmgr_reconcile(t->data);
}

static void loaded_endpoints(const struct kv_result *res, void *arg)
{
	struct netmgr *nm = arg;
	struct ovn_err err = { 0 };

	if (res->status < 0) {
		ovn_err_set(&err, res->status, "store: listing endpoints: %s", res->msg);
		start_done(nm, res->status, &err);
		return;
	}
	for (size_t i = 0; i < res->n; i++) {
		const struct kv_entry *en = &res->entries[i];
		json_t *j = json_loadb(en->value, en->len, 0, NULL);
		struct nm_endpoint rec;
		struct ovn_err e2 = { 0 };
		struct net *n;

		if (!j || model_endpoint_from_json(&rec, j, &e2) < 0) {
			log_warn("store: skipping bad endpoint record %s: %s", en->key,
				 j ? e2.msg : "not JSON");
			json_decref(j);
			continue;
		}
		json_decref(j);
		n = net_find(nm, rec.network);
		if (!n) {
			log_warn("store: endpoint %s of unknown network %s: skipped", rec.id,
				 rec.network);
			nm_endpoint_free(&rec);
			continue;
		}
		if (!ep_add(nm, n, &rec))
			nm_endpoint_free(&rec);
	}
	egress_ready(nm);	/* reconcile builds the table from all of it */
	netmgr_reconcile(nm);
	ipsec_start(nm);
	if (sync_start(nm, nm->load_rev) < 0)
		log_warn("store: cannot watch for changes; other agents' endpoints will only be "
			 "seen after a restart");
	uv_timer_start(nm->timer, on_timer, NETMGR_RECONCILE_S * 1000, NETMGR_RECONCILE_S * 1000);
	start_done(nm, 0, NULL);
}

static void loaded_networks(const struct kv_result *res, void *arg)
{
	struct netmgr *nm = arg;
	struct ovn_err err = { 0 };
	int r;

	if (res->status < 0) {
		ovn_err_set(&err, res->status, "store: listing networks: %s", res->msg);
		start_done(nm, res->status, &err);
		return;
	}
	for (size_t i = 0; i < res->n; i++) {
		const struct kv_entry *en = &res->entries[i];
		json_t *j = json_loadb(en->value, en->len, 0, NULL);
		struct nm_network rec;
		struct ovn_err e2 = { 0 };

		if (!j || model_network_from_json(&rec, j, &e2) < 0) {
			log_warn("store: skipping bad network record %s: %s", en->key,
				 j ? e2.msg : "not JSON");
			json_decref(j);
			continue;
		}
		json_decref(j);
		if (net_find(nm, rec.name) || !net_add(nm, &rec))
			nm_network_free(&rec);
	}
	nm->load_rev = res->rev;
	r = kv_list(nm->kv, "/endpoints/", loaded_endpoints, nm);
	if (r < 0) {
		ovn_err_set(&err, r, "store: listing endpoints: %s", strerror(-r));
		start_done(nm, r, &err);
	}
}

int netmgr_new(struct netmgr **out, uv_loop_t *loop, const struct cfg *cfg, struct kv *kv,
	       struct dp *dp, uint32_t mtu, struct ovn_err *err)
{
	struct netmgr *nm = calloc(1, sizeof(*nm));
	struct ovn_err dns_err = { 0 };

	if (!nm)
		return ovn_err_set(err, -ENOMEM, "out of memory");
	nm->timer = calloc(1, sizeof(*nm->timer));
	nm->trim = calloc(1, sizeof(*nm->trim));
	if (!nm->timer || !nm->trim) {
		free(nm->timer);
		free(nm->trim);
		free(nm);
		return ovn_err_set(err, -ENOMEM, "out of memory");
	}
	nm->loop = loop;
	nm->cfg = cfg;
	nm->kv = kv;
	nm->dp = dp;
	nm->mtu = mtu;
	nm->started_ms = uv_now(loop);
	nm->cluster = strcmp(cfg->store.backend, "embedded") != 0;
	if (egress_new(&nm->egress, cfg, err) < 0) {
		free(nm->timer);
		free(nm->trim);
		free(nm);
		return err->code;
	}
	uv_timer_init(loop, nm->timer);
	nm->timer->data = nm;
	uv_timer_init(loop, nm->trim);
	nm->trim->data = nm;
	if (dnsint_new(&nm->dns, loop, cfg, &dns_err) < 0)
		log_warn("%s: containers get no embedded DNS", dns_err.msg);
	if (ipsec_new(nm) < 0) {
		netmgr_free(nm);
		return ovn_err_set(err, -ENOMEM, "encryption: out of memory");
	}
	*out = nm;
	return 0;
}

void netmgr_start(struct netmgr *nm, netmgr_cb cb, void *arg)
{
	struct ovn_err err = { 0 };
	int r;

	nm->start_cb = cb;
	nm->start_arg = arg;
	r = kv_list(nm->kv, "/networks/", loaded_networks, nm);
	if (r < 0) {
		ovn_err_set(&err, r, "store: listing networks: %s", strerror(-r));
		start_done(nm, r, &err);
	}
}

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

void netmgr_free(struct netmgr *nm)
{
	struct net *n, *next;

	if (!nm)
		return;
	sync_stop(nm);
	ipsec_free(nm);
	uv_close((uv_handle_t *)nm->timer, timer_closed);
	uv_close((uv_handle_t *)nm->trim, timer_closed);
	dnsint_free(TAKE_PTR(nm->dns));	/* closes on the loop; files stay */
	for (n = nm->nets; n; n = next) {
		next = n->next;
		net_free(n);
	}
	free(nm->down);
	egress_free(nm->egress);	/* the table stays: containers keep egress */
	free(nm);
}

void netmgr_set_cluster(struct netmgr *nm, struct cluster *c)
{
	nm->gossip = c;
}

struct cluster *netmgr_cluster(const struct netmgr *nm)
{
	return nm->gossip;
}

/* ---- reconcile ---------------------------------------------------------- */

struct link_list {
	struct dp_link *v;
	size_t n, cap;
};

static int collect_link(const struct dp_link *l, void *arg)
{
	struct link_list *ll = arg;

	if (ll->n == ll->cap) {
		size_t cap = ll->cap ? ll->cap * 2 : 64;
		struct dp_link *v = realloc(ll->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ll->v = v;
		ll->cap = cap;
	}
	ll->v[ll->n++] = *l;
	return 0;
}

static const struct dp_link *link_by_name(const struct link_list *ll, const char *name)
{
	for (size_t i = 0; i < ll->n; i++)
		if (!strcmp(ll->v[i].name, name))
			return &ll->v[i];
	return NULL;
}

static void forget_done(const struct kv_result *res, void *arg)
{
	char *id = arg;

	if (res->status < 0)
		log_warn("endpoint %s: deleting its record: %s (next reconcile retries)", id,
			 res->msg);
	free(id);
}

/* The endpoint's namespace is gone (container exited): drop its record and
 * addresses. */
void ep_forget(struct netmgr *nm, struct ep *e, const char *why)
{
	struct op tmp = { 0 };
	char ip[OVN_IP_STRLEN];
	char *id = strdup(e->rec.id);
	int r = 0;

	log_info("endpoint %s (%s on %s) removed: %s", e->rec.id, e->rec.name, e->net->rec.name,
		 why);
	nm->stats.endpoints_forgotten++;
	if (e->local)
		cluster_ep_down(nm->gossip, e->net->rec.name, e->rec.id);
	r |= op_add(&tmp, KV_OP_DEL, KV_CMP_NONE,
		    fmt("/endpoints/%s/%s", e->net->rec.name, e->rec.id), NULL);
	if (e->rec.docker)
		;	/* its addresses are the IPAM driver's reservations */
	else if (e->rec.ipv4.ip.family)
		r |= op_add(&tmp, KV_OP_DEL, KV_CMP_NONE,
			    fmt("/ipam/%s/%s", e->net->rec.name, ip_s(&e->rec.ipv4.ip, ip)), NULL);
	if (e->rec.ipv6.ip.family && !e->rec.docker)
		r |= op_add(&tmp, KV_OP_DEL, KV_CMP_NONE,
			    fmt("/ipam/%s/%s", e->net->rec.name, ip_s(&e->rec.ipv6.ip, ip)), NULL);
	if (e->local && e->rec.docker) {
		struct ovn_err e2 = { 0 };

		/* Nobody else deletes it: dockerd hands the container end back
		 * to the host namespace and leaves it there. */
		dp_endpoint_detach(nm->dp, e->rec.host_ifname, &e2);
	}
	if (r == 0 && id && kv_txn(nm->kv, tmp.ops, tmp.n_ops, forget_done, id) == 0)
		id = NULL;
	free(id);
	for (size_t i = 0; i < tmp.n_ops; i++)
		free(tmp.keys[i]);
	ep_drop(nm, e);
}

/* A Docker endpoint cannot be restored: dockerd moves the container end
 * once, after Join, and never again. Its veth is legitimately in either
 * place (host namespace before dockerd's move or after its hand-back, the
 * sandbox in between), so only two things end it: the sandbox is gone (the
 * container stopped while DeleteEndpoint could not reach us), or the veth
 * is (deleted by hand): then the record and any half left go. */
static void reconcile_docker_ep(struct netmgr *nm, struct ep *e, bool linked)
{
	struct tm tm = { 0 };
	struct stat st;
	time_t made = 0;

	if (!linked)
		return ep_forget(nm, e, "its veth is gone");
	if (stat(e->rec.netns, &st) == 0)
		return;
	/* The sandbox file appears only after Join (in the container's
	 * prestart hook): give dockerd a minute before calling it gone. */
	if (strptime(e->rec.created, "%Y-%m-%dT%H:%M:%SZ", &tm))
		made = timegm(&tm);
	if (made && time(NULL) - made > DOCKER_SANDBOX_GRACE_S)
		ep_forget(nm, e, "its Docker sandbox no longer exists");
}

/* Make one local endpoint's kernel state exist, or forget it if its
 * namespace is gone. */
static void reconcile_ep(struct netmgr *nm, struct ep *e, const struct link_list *ll)
{
	const struct dp_link *l = link_by_name(ll, e->rec.host_ifname);
	const struct dp_link *br;
	struct ovn_err err = { 0 };
	struct dp_endpoint d;
	char id[48];
	char name[IF_NAMESIZE];
	int fd;

	snprintf(name, sizeof(name), "br-%u", e->net->rec.vni);
	br = link_by_name(ll, name);
	if (e->rec.docker)
		return reconcile_docker_ep(nm, e, l && br && l->master == br->ifindex);
	if (l && br && l->master == br->ifindex)
		return;		/* present and enslaved: trust it */
	fd = open(e->rec.netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || netns_id_of(fd, id, sizeof(id)) < 0 || strcmp(id, e->rec.netns_id)) {
		if (fd >= 0)
			close(fd);
		ep_forget(nm, e, "its network namespace no longer exists");
		return;
	}
	if (net_dp_ensure(nm, e->net, &err) == 0) {
		dp_endpoint_of(e, &d);
		if (dp_endpoint_attach(nm->dp, fd, &d, &err) == 0 && ++nm->stats.endpoints_restored)
			log_info("endpoint %s (%s on %s) restored", e->rec.id, e->rec.name,
				 e->net->rec.name);
	}
	if (err.code)
		log_warn("endpoint %s: restoring: %s", e->rec.id, err.msg);
	close(fd);
}

void netmgr_reconcile(struct netmgr *nm)
{
	struct link_list ll = { 0 };
	struct ovn_err err = { 0 };
	struct ep *e, *next;

	nm->stats.reconcile_runs++;
	dnsint_reconcile(nm);	/* first: may forget endpoints its sockets kept alive */
	if (dp_link_dump(nm->dp, collect_link, &ll, &err) < 0) {
		log_warn("reconcile: listing links: %s", err.msg);
		free(ll.v);
		return;
	}
	/* 1. ve- links with no endpoint record: leftovers of a crash or of a
	 * detach whose kernel step never ran. */
	for (size_t i = 0; i < ll.n; i++) {
		struct dp_link *l = &ll.v[i];

		if (l->kind != DP_LINK_VETH || ep_find_host_ifname(nm, l->name))
			continue;
		ovn_err_clear(&err);
		if (dp_endpoint_detach(nm->dp, l->name, &err) < 0)
			log_warn("reconcile: deleting orphan %s: %s", l->name, err.msg);
		else
			log_info("reconcile: deleted orphan link %s", l->name);
		nm->stats.orphans_removed++;
	}
	/* 2. local endpoints: present, restored, or forgotten. */
	for (struct net *n = nm->nets; n; n = n->next)
		for (e = n->eps; e; e = next) {
			next = e->next;
			if (e->local && !e->pending && !e->removing)
				reconcile_ep(nm, e, &ll);
		}
	/* 3. devices and remote peers of networks with local endpoints:
	 * re-asserted every pass (all idempotent), repairing drift. */
	for (struct net *n = nm->nets; n; n = n->next) {
		if (n->n_local <= 0)
			continue;
		ovn_err_clear(&err);
		if (net_dp_ensure(nm, n, &err) < 0) {
			log_warn("reconcile: network %s: %s", n->rec.name, err.msg);
		} else {
			peers_sync_net(nm, n);
			nm->stats.orphans_removed += (uint64_t)peers_prune(nm, n);
		}
	}
	/* 4. vx-/br- of networks without local endpoints here. */
	for (size_t i = 0; i < ll.n; i++) {
		struct dp_link *l = &ll.v[i];
		struct net *n = l->kind == DP_LINK_VETH ? NULL : net_find_vni(nm, l->vni);

		if (l->kind == DP_LINK_VETH || (n && n->n_local > 0))
			continue;
		ovn_err_clear(&err);
		if (dp_network_remove(nm->dp, l->vni, &err) < 0)
			log_warn("reconcile: removing %s: %s", l->name, err.msg);
		else
			log_info("reconcile: removed unused %s", l->name);
		if (n)
			n->dp_up = false;
	}
	free(ll.v);
	/* 5. the nftables table, rebuilt whole if anything touched nftables
	 * since our last write: repairs a flushed ruleset or a lost element. */
	ovn_err_clear(&err);
	if (egress_reconcile(nm, &err) < 0)
		log_warn("reconcile: %s", err.msg);
	/* 6. IPsec of encrypted networks: keys re-read (a missed watch event
	 * costs at most one pass) and the kernel's XFRM objects converged. */
	ipsec_relist(nm);
	ipsec_kick(nm);
}

/* ---- networks ----------------------------------------------------------- */

static int pick_vni(struct netmgr *nm, uint32_t *vni)
{
	for (uint32_t v = VNI_AUTO_FIRST; v <= DP_VNI_MAX; v++)
		if (!net_find_vni(nm, v)) {
			*vni = v;
			return 0;
		}
	return -ENOSPC;
}

static int collect_subnets(struct netmgr *nm, struct ovn_prefix *taken, size_t max)
{
	size_t n = 0;

	for (struct net *net = nm->nets; net; net = net->next)
		for (int i = 0; i < net->rec.n_subnets && n < max; i++)
			taken[n++] = net->rec.subnets[i].prefix;
	return (int)n;
}

/* Check one requested subnet for form, overlap and gateway; fill defaults. */
static int subnet_check(struct netmgr *nm, struct nm_subnet *s, struct ovn_err *err)
{
	char p[OVN_PREFIX_STRLEN], g[OVN_PREFIX_STRLEN];
	bool v4 = s->prefix.ip.family == AF_INET;
	uint64_t off;

	ovn_prefix_str(&s->prefix, p);
	if (!ovn_prefix_is_network(&s->prefix))
		return ovn_err_set(err, -EINVAL, "subnet %s has host bits set (did you mean "
				   "the network address?)", p);
	if (v4 ? (s->prefix.len < 8 || s->prefix.len > 30)
	       : (s->prefix.len < 48 || s->prefix.len > 120))
		return ovn_err_set(err, -EINVAL, "subnet %s: prefix length must be %s", p,
				   v4 ? "8 to 30" : "48 to 120");
	for (struct net *n = nm->nets; n; n = n->next)
		for (int i = 0; i < n->rec.n_subnets; i++)
			if (ovn_prefix_overlaps(&s->prefix, &n->rec.subnets[i].prefix))
				return ovn_err_set(err, -EEXIST, "subnet %s overlaps %s of network "
						   "%s: choose another subnet", p,
						   ovn_prefix_str(&n->rec.subnets[i].prefix, g),
						   n->rec.name);
	if (!s->gateway.family)
		return ovn_prefix_nth(&s->prefix, 1, &s->gateway);
	ovn_ip_str(&s->gateway, g);
	if (ovn_prefix_offset(&s->prefix, &s->gateway, &off) < 0 || off == 0 ||
	    (v4 && off == ovn_prefix_size(&s->prefix) - 1))
		return ovn_err_set(err, -EINVAL, "gateway %s is not a host address of subnet %s",
				   g, p);
	return 0;
}

/* Default subnets from the agent's pools for families not given. */
static int subnets_default(struct netmgr *nm, struct nm_network_spec *s, struct ovn_err *err)
{
	struct ovn_prefix taken[256];
	int n = collect_subnets(nm, taken, ARRAY_SIZE(taken));
	bool want4 = s->n_subnets == 0, want6 = s->n_subnets == 0 && s->ipv6;

	for (int i = 0; i < s->n_subnets; i++)
		if (s->ipv6 && s->subnets[i].prefix.ip.family == AF_INET)
			want6 = true;
	for (int i = 0; i < s->n_subnets; i++)
		if (s->subnets[i].prefix.ip.family == AF_INET6)
			want6 = false;
	if (want4) {
		struct nm_subnet *sub = &s->subnets[s->n_subnets];

		memset(sub, 0, sizeof(*sub));
		if (ipam_subnet_pick(&nm->cfg->ipam.pool4, nm->cfg->ipam.size4, taken, n,
				     &sub->prefix) < 0)
			return ovn_err_set(err, -ENOSPC, "the IPv4 pool is exhausted: give "
					   "--subnet or widen ipam.pool4");
		s->n_subnets++;
	}
	if (want6) {
		struct nm_subnet *sub = &s->subnets[s->n_subnets];

		memset(sub, 0, sizeof(*sub));
		if (ipam_subnet_pick(&nm->cfg->ipam.pool6, nm->cfg->ipam.size6, taken, n,
				     &sub->prefix) < 0)
			return ovn_err_set(err, -ENOSPC, "the IPv6 pool is exhausted: give "
					   "--subnet or widen ipam.pool6");
		s->n_subnets++;
	}
	return 0;
}

static int network_build(struct netmgr *nm, struct nm_network_spec *s, struct nm_network *rec,
			 struct ovn_err *err)
{
	bool v6 = false;
	int r;

	if (net_find(nm, s->name))
		return ovn_err_set(err, -EEXIST, "network %s already exists", s->name);
	if (s->vni && net_find_vni(nm, s->vni))
		return ovn_err_set(err, -EEXIST, "vni %u is used by network %s: choose another "
				   "or leave it out", s->vni, net_find_vni(nm, s->vni)->rec.name);
	if ((r = subnets_default(nm, s, err)) < 0)
		return r;
	for (int i = 0; i < s->n_subnets; i++) {
		if ((r = subnet_check(nm, &s->subnets[i], err)) < 0)
			return r;
		v6 |= s->subnets[i].prefix.ip.family == AF_INET6;
	}
	if (v6 && s->mtu && s->mtu < 1280)
		return ovn_err_set(err, -EINVAL, "mtu %u is below IPv6's minimum of 1280", s->mtu);
	if (s->encrypted && (r = ipsec_supported(nm, err)) < 0)
		return r;
	memset(rec, 0, sizeof(*rec));
	memcpy(rec->name, s->name, sizeof(rec->name));
	if ((r = model_new_id(rec->id)) < 0)
		return ovn_err_set(err, r, "random id: %s", strerror(-r));
	if (!s->vni && pick_vni(nm, &s->vni) < 0)
		return ovn_err_set(err, -ENOSPC, "no free VNI left");
	rec->vni = s->vni;
	/* ESP costs IPSEC_OVERHEAD more bytes per packet on the underlay. */
	rec->mtu = s->mtu ? s->mtu : s->encrypted ? nm->mtu - IPSEC_OVERHEAD : nm->mtu;
	rec->internal = s->internal;
	rec->encrypted = s->encrypted;
	rec->n_subnets = s->n_subnets;
	memcpy(rec->subnets, s->subnets, sizeof(rec->subnets));
	rec->labels = json_incref(s->labels);
	model_now(rec->created);
	return 0;
}

static json_t *network_json(const struct net *n)
{
	json_t *j = model_network_to_json(&n->rec);

	if (j)
		json_object_set_new(j, "endpoints", json_integer(net_count_eps(n)));
	return j;
}

static void created(const struct kv_result *res, void *arg)
{
	struct op *op = arg;
	struct net *n;

	txn_seen(op, res);

	if (res->status == -ECANCELED)
		return op_fail(op, -EEXIST, "network %s or vni %u was just taken by another "
			       "agent: retry", op->rec.name, op->rec.vni);
	if (res->status < 0)
		return op_store_fail(op, res);
	n = net_find(op->nm, op->rec.name);
	if (n && strcmp(n->rec.id, op->rec.id))
		return op_fail(op, -EEXIST, "network %s already exists", op->rec.name);
	/* With a shared store the watch may have brought our own record first. */
	if (!n)
		n = net_add(op->nm, &op->rec);
	if (!n)
		return op_fail(op, -ENOMEM, "out of memory");
	op->result = network_json(n);
	op->nm->stats.create_ok++;
	log_info("network %s created vni=%u", n->rec.name, n->rec.vni);
	op_done(op, 0);
}

void netmgr_network_create(struct netmgr *nm, const json_t *req, netmgr_cb cb, void *arg)
{
	struct nm_network_spec spec;
	struct op *op = op_new(nm, cb, arg);
	int r;

	if (!op)
		return;
	r = model_network_spec_from_json(&spec, req, &op->err);
	if (r < 0)
		return op_done(op, r);
	r = network_build(nm, &spec, &op->rec, &op->err);
	nm_network_spec_free(&spec);
	if (r < 0)
		return op_done(op, r);
	r = op_add(op, KV_OP_PUT, KV_CMP_ABSENT, fmt("/networks/%s", op->rec.name),
		   json_str(model_network_to_json(&op->rec)));
	r = r ?: op_add(op, KV_OP_PUT, KV_CMP_ABSENT, fmt("/vni/%u", op->rec.vni),
			strdup(op->rec.name));
	r = r ?: op_txn(op, created);
	if (r < 0)
		op_fail(op, r, "store: %s", strerror(-r));
}

void netmgr_network_list(struct netmgr *nm, netmgr_cb cb, void *arg)
{
	json_t *a = json_array();
	size_t n = 0, i = 0;
	struct net **v;

	for (struct net *net = nm->nets; net; net = net->next)
		n++;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!a || !v) {
		struct ovn_err e = { .code = -ENOMEM, .msg = "out of memory" };

		free(v);
		json_decref(a);
		return cb(-ENOMEM, &e, NULL, arg);
	}
	for (struct net *net = nm->nets; net; net = net->next)
		v[i++] = net;
	/* sorted by name: small n, insertion sort keeps it short */
	for (i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(v[k - 1]->rec.name, v[k]->rec.name) > 0; k--) {
			struct net *t = v[k];

			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	for (i = 0; i < n; i++)
		json_array_append_new(a, network_json(v[i]));
	free(v);
	cb(0, NULL, a, arg);
	json_decref(a);
}

static void not_found(netmgr_cb cb, void *arg, const char *what, const char *name)
{
	struct ovn_err e = { 0 };

	ovn_err_set(&e, -ENOENT, "no such %s: %s (see 'ovnctl %s ls')", what, name, what);
	cb(-ENOENT, &e, NULL, arg);
}

void netmgr_network_get(struct netmgr *nm, const char *name, netmgr_cb cb, void *arg)
{
	struct net *n = net_find(nm, name);
	json_t *j;

	if (!n || n->removing)
		return not_found(cb, arg, "network", name);
	j = network_json(n);
	cb(0, NULL, j, arg);
	json_decref(j);
}

static void removed_network(const struct kv_result *res, void *arg)
{
	struct op *op = arg;
	struct net *n = op->net;

	txn_seen(op, res);

	if (res->status < 0) {
		n->removing = false;
		return op_store_fail(op, res);
	}
	net_unlink(op->nm, n);
	n->n_local = 0;
	net_dp_release(op->nm, n);
	op->nm->stats.remove_ok++;
	log_info("network %s removed (%d endpoints)", n->rec.name, op->count);
	op->result = json_pack("{s:s, s:i}", "removed", n->rec.name, "endpoints_removed",
			       op->count);
	net_free(n);
	op_done(op, 0);
}

static void remove_network_record(struct op *op)
{
	struct net *n = op->net;
	int r;

	op_clear_txn(op);
	r = op_add(op, KV_OP_DEL, KV_CMP_PRESENT, fmt("/networks/%s", n->rec.name), NULL);
	r = r ?: op_add(op, KV_OP_DEL, KV_CMP_NONE, fmt("/vni/%u", n->rec.vni), NULL);
	r = r ?: op_txn(op, removed_network);
	if (r < 0) {
		n->removing = false;
		op_fail(op, r, "store: %s", strerror(-r));
	}
}

static int ep_delete_txn(struct netmgr *nm, struct ep *e, kv_cb cb, void *arg, struct op *op);

/* force: delete endpoint records one transaction at a time, then the
 * network's. */
static void force_step(const struct kv_result *res, void *arg)
{
	struct op *op = arg;
	struct net *n = op->net;
	struct ep *e = op->ep;

	if (res)
		txn_seen(op, res);
	if (res && res->status < 0 && !delete_landed(e, res)) {
		e->removing = false;
		n->removing = false;
		return op_fail(op, store_code(res->status), "store: removing endpoint %s: %s",
			       e->rec.id, res->msg);
	}
	if (res) {
		ep_kernel_remove(op->nm, e);
		op->count++;
	}
	for (e = n->eps; e && e->pending; e = e->next)
		;
	op->ep = e;
	if (!e)
		return remove_network_record(op);
	e->removing = true;
	if (ep_delete_txn(op->nm, e, force_step, op, op) < 0) {
		e->removing = false;
		n->removing = false;
		op_fail(op, -EIO, "store: removing endpoint %s failed", e->rec.id);
	}
}

void netmgr_network_remove(struct netmgr *nm, const char *name, bool force, netmgr_cb cb,
			   void *arg)
{
	struct net *n = net_find(nm, name);
	struct op *op;
	int count;

	if (!n || n->removing)
		return not_found(cb, arg, "network", name);
	count = net_count_eps(n);
	if (count && !force) {
		struct ovn_err e = { 0 };

		ovn_err_set(&e, -EBUSY, "network %s has %d endpoint%s: detach them or use "
			    "--force", name, count, count == 1 ? "" : "s");
		return cb(-EBUSY, &e, NULL, arg);
	}
	op = op_new(nm, cb, arg);
	if (!op)
		return;
	op->net = n;
	n->removing = true;
	force_step(NULL, op);
}

/* ---- endpoints ---------------------------------------------------------- */

static int ep_delete_txn(struct netmgr *nm, struct ep *e, kv_cb cb, void *arg, struct op *op)
{
	char ip[OVN_IP_STRLEN];
	int r;

	op_clear_txn(op);
	r = op_add(op, KV_OP_DEL, KV_CMP_NONE,
		   fmt("/endpoints/%s/%s", e->net->rec.name, e->rec.id), NULL);
	if (e->rec.docker)
		;	/* its addresses are the IPAM driver's reservations */
	else if (!r && e->rec.ipv4.ip.family)
		r = op_add(op, KV_OP_DEL, KV_CMP_NONE,
			   fmt("/ipam/%s/%s", e->net->rec.name, ip_s(&e->rec.ipv4.ip, ip)), NULL);
	if (!r && e->rec.ipv6.ip.family && !e->rec.docker)
		r = op_add(op, KV_OP_DEL, KV_CMP_NONE,
			   fmt("/ipam/%s/%s", e->net->rec.name, ip_s(&e->rec.ipv6.ip, ip)), NULL);
	(void)nm;
	(void)arg;	/* always op: the callback's argument */
	return r ?: op_txn(op, cb);
}

/* After the store forgot e: delete its veth, maybe the network's devices. */
void ep_kernel_remove(struct netmgr *nm, struct ep *e)
{
	struct net *n = e->net;
	struct ovn_err err = { 0 };
	bool local = e->local;

	if (local && dp_endpoint_detach(nm->dp, e->rec.host_ifname, &err) < 0 &&
	    ++nm->stats.dp_errors)
		log_warn("endpoint %s: deleting %s: %s (reconcile retries)", e->rec.id,
			 e->rec.host_ifname, err.msg);
	if (!local)
		peers_del(nm, e);
	log_info("endpoint %s detached from %s", e->rec.id, n->rec.name);
	ep_drop(nm, e);
	if (local)
		net_dp_release(nm, n);
}

static int attach_addr(struct net *n, int family, const struct ovn_ip *want,
		       struct ovn_prefix *out, struct ovn_err *err)
{
	struct ipam_pool *p = net_pool(n, family);
	char ip[OVN_IP_STRLEN], sub[OVN_PREFIX_STRLEN];
	int r;

	memset(out, 0, sizeof(*out));
	if (!p) {
		if (want->family)
			return ovn_err_set(err, -EINVAL, "network %s has no %s subnet", n->rec.name,
					   family == AF_INET ? "IPv4" : "IPv6");
		return 0;
	}
	if (!want->family) {
		r = ipam_alloc(p, &out->ip);
		if (r < 0)
			return ovn_err_set(err, -ENOSPC, "subnet %s of %s is full",
					   ovn_prefix_str(&p->subnet, sub), n->rec.name);
	} else {
		r = ipam_reserve(p, want);
		ovn_ip_str(want, ip);
		ovn_prefix_str(&p->subnet, sub);
		if (r == -ERANGE)
			return ovn_err_set(err, -EINVAL, "address %s is outside subnet %s", ip, sub);
		if (r == -EADDRNOTAVAIL)
			return ovn_err_set(err, -EINVAL, "address %s is reserved in %s (network, "
					   "broadcast or gateway)", ip, sub);
		if (r == -EADDRINUSE)
			return ovn_err_set(err, -EEXIST, "address %s is already in use on %s", ip,
					   n->rec.name);
		if (r < 0)
			return ovn_err_set(err, r, "ipam: %s", strerror(-r));
		out->ip = *want;
	}
	out->len = p->subnet.len;
	return 0;
}

static bool name_taken(const struct net *n, const char *name)
{
	size_t i;
	json_t *a;

	for (const struct ep *e = n->eps; e; e = e->next) {
		if (!strcasecmp(e->rec.name, name))
			return true;
		json_array_foreach(e->rec.aliases, i, a)
			if (!strcasecmp(json_string_value(a), name))
				return true;
	}
	return false;
}

/* Aliases may be shared (DNS answers every endpoint holding one, round
 * robin, for simple load spreading as with Docker's network aliases), but
 * an alias never shadows another endpoint's own name. */
static bool alias_clashes(const struct net *n, const char *alias)
{
	for (const struct ep *e = n->eps; e; e = e->next)
		if (!strcasecmp(e->rec.name, alias))
			return true;
	return false;
}

/* Check the request against the network and fill e->rec (addresses reserved). */
static int attach_build(struct netmgr *nm, struct net *n, struct nm_attach_spec *s, int fd,
			const char *path, struct ep *e, struct ovn_err *err)
{
	struct nm_endpoint *r = &e->rec;
	size_t i;
	json_t *a;
	int rc;

	if (s->name[0] && name_taken(n, s->name))
		return ovn_err_set(err, -EEXIST, "name %s is already used on network %s",
				   s->name, n->rec.name);
	json_array_foreach(s->aliases, i, a)
		if (alias_clashes(n, json_string_value(a)))
			return ovn_err_set(err, -EEXIST, "alias %s is the name of another endpoint on "
					   "network %s", json_string_value(a), n->rec.name);
	for (struct ep *o = n->eps; s->owner[0] && o; o = o->next)
		if (o->rec.owner && !strcmp(o->rec.owner, s->owner))
			return ovn_err_set(err, -EEXIST, "owner %s already has endpoint %s on %s",
					   s->owner, o->rec.id, n->rec.name);
	if ((rc = netns_id_of(fd, r->netns_id, sizeof(r->netns_id))) < 0)
		return ovn_err_set(err, rc, "namespace %s: %s", path, strerror(-rc));
	for (struct ep *o = n->eps; o; o = o->next)
		if (o->local && !strcmp(o->rec.netns_id, r->netns_id))
			return ovn_err_set(err, -EEXIST, "namespace %s is already attached to %s "
					   "(endpoint %s)", path, n->rec.name, o->rec.id);
	if ((rc = model_new_id(r->id)) < 0)
		return ovn_err_set(err, rc, "random id: %s", strerror(-rc));
	snprintf(r->host_ifname, sizeof(r->host_ifname), "ve-%.12s", r->id);
	memcpy(r->network, n->rec.name, sizeof(r->network));
	memcpy(r->name, s->name, sizeof(r->name));
	r->aliases = json_incref(s->aliases);
	memcpy(r->ifname, s->ifname, sizeof(r->ifname));
	r->netns = strdup(path);
	r->owner = s->owner[0] ? strdup(s->owner) : NULL;
	if (!r->netns || (s->owner[0] && !r->owner))
		return ovn_err_set(err, -ENOMEM, "endpoint: out of memory");
	snprintf(r->node, sizeof(r->node), "%s", nm->cfg->node);
	r->vtep = nm->cfg->advertise;
	model_now(r->created);
	if ((rc = attach_addr(n, AF_INET, &s->ipv4, &r->ipv4, err)) < 0)
		return rc;
	if ((rc = attach_addr(n, AF_INET6, &s->ipv6, &r->ipv6, err)) < 0) {
		if (r->ipv4.ip.family)
			ipam_release(net_pool(n, AF_INET), &r->ipv4.ip);
		r->ipv4.ip.family = 0;
		return rc;
	}
	if (s->has_mac)
		r->mac = s->mac;
	else
		ovn_mac_from_ip(&r->mac, r->ipv4.ip.family ? &r->ipv4.ip : &r->ipv6.ip);
	r->publish = TAKE_PTR(s->publish);
	r->n_publish = s->n_publish;
	s->n_publish = 0;
	if ((rc = egress_publish_check(nm, e, err)) < 0) {
		ep_release_addrs(e);
		r->ipv4.ip.family = r->ipv6.ip.family = 0;
		return rc;
	}
	return 0;
}

static int attach_kernel(struct netmgr *nm, struct ep *e, int fd, struct ovn_err *err);
static int attach_commit(struct op *op);

/* Attaches this agent answered as failed though their write may land
 * later; sync.c undoes such a write when the watch shows it. A small ring:
 * only the last few matter, the store answers or is declared down within
 * its timeout. Forgotten across restarts (then reconcile plumbs the record
 * instead, which is also consistent). */
void aborted_add(struct netmgr *nm, const char *id)
{
	snprintf(nm->aborted[nm->n_aborted++ % NM_ABORTED], NM_ID_LEN + 1, "%s", id);
}

bool aborted_has(struct netmgr *nm, const char *id)
{
	for (int i = 0; i < NM_ABORTED; i++)
		if (!strcmp(nm->aborted[i], id))
			return true;
	return false;
}

/* Lost a race for an address. The addresses we proposed stay reserved here
 * (the winner's record arrives through the watch and holds them; TODO: when
 * only one of a v4+v6 pair was lost, the other stays reserved too until
 * restart). Pick new ones and redo the kernel half, whose veth carries the
 * old address and MAC. */
static int attach_retry(struct op *op)
{
	struct ep *e = op->ep;
	struct net *n = e->net;
	struct ovn_ip none = { 0 };
	struct ovn_err err = { 0 };
	int fd, r;

	if (!(op->auto4 || op->auto6) || ++op->retries > ATTACH_RETRIES)
		return -EEXIST;
	egress_ep_del(op->nm, e);	/* its mappings name the old address */
	dp_endpoint_detach(op->nm->dp, e->rec.host_ifname, &err);
	if (op->auto4 && (r = attach_addr(n, AF_INET, &none, &e->rec.ipv4, &op->err)) < 0)
		return r;
	if (op->auto6 && (r = attach_addr(n, AF_INET6, &none, &e->rec.ipv6, &op->err)) < 0)
		return r;
	if (op->auto_mac)
		ovn_mac_from_ip(&e->rec.mac, e->rec.ipv4.ip.family ? &e->rec.ipv4.ip : &e->rec.ipv6.ip);
	fd = open(e->rec.netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	op_clear_txn(op);
	r = attach_kernel(op->nm, e, fd, &op->err);
	close(fd);
	if (r < 0)
		return r;
	e->pending = true;
	op->nm->stats.attach_races_lost++;
	log_debug("endpoint %s: address race lost, retry %d", e->rec.id, op->retries);
	r = attach_commit(op);
	if (r < 0)
		e->pending = false;
	return r;
}

static void attached(const struct kv_result *res, void *arg)
{
	struct op *op = arg;
	struct ep *e = op->ep;
	struct ovn_err err = { 0 };

	txn_seen(op, res);

	e->pending = false;
	if (res->status == -ECANCELED && attach_retry(op) == 0)
		return;		/* in flight again with other addresses */
	if (res->status < 0 && e->store_put) {
		/* The answer was lost but the watch brought the record: the
		 * attach did commit, and undoing the kernel half now would
		 * leave a record (and its /ipam keys) nothing removes. */
		log_info("endpoint %s: the store's answer was lost (%s) but its watch shows "
			 "the record written", e->rec.id, res->msg && res->msg[0] ? res->msg :
			 strerror(-res->status));
	} else if (res->status < 0) {
		/* Undo the kernel half; the store never knew. */
		if (dp_endpoint_detach(op->nm->dp, e->rec.host_ifname, &err) < 0)
			log_warn("endpoint %s: undoing %s: %s", e->rec.id, e->rec.host_ifname,
				 err.msg);
		struct net *n = e->net;

		/* Only a failed compare proves nothing was written: after a
		 * timeout or a dropped connection the write may still land. */
		if (res->status != -ECANCELED)
			aborted_add(op->nm, e->rec.id);
		ep_drop(op->nm, e);
		net_dp_release(op->nm, n);
		if (res->status == -ECANCELED)
			return op_fail(op, -EEXIST, "the address was taken by another agent at the "
				       "same moment%s", op->retries ? " (retries exhausted)" :
				       ": choose another");
		return op_store_fail(op, res);
	}
	crash_point("attach-store");
	dnsint_ep_added(op->nm, e);	/* committed: now its names exist */
	cluster_ep_up(op->nm->gossip, &e->rec);
	op->result = model_endpoint_to_json(&e->rec);
	log_info("endpoint %s attached to %s name=%s if=%s", e->rec.id, e->net->rec.name,
		 e->rec.name, e->rec.ifname);
	op_done(op, 0);
}

static int attach_commit(struct op *op)
{
	struct ep *e = op->ep;
	struct net *n = e->net;
	char ip[OVN_IP_STRLEN];
	int r;

	r = op_add(op, KV_OP_PUT, KV_CMP_ABSENT, fmt("/endpoints/%s/%s", n->rec.name, e->rec.id),
		   json_str(model_endpoint_to_json(&e->rec)));
	if (e->rec.docker)
		return r ?: op_txn(op, attached);	/* addresses held by reservations */
	if (!r && e->rec.ipv4.ip.family)
		r = op_add(op, KV_OP_PUT, KV_CMP_ABSENT,
			   fmt("/ipam/%s/%s", n->rec.name, ip_s(&e->rec.ipv4.ip, ip)),
			   strdup(e->rec.id));
	if (!r && e->rec.ipv6.ip.family)
		r = op_add(op, KV_OP_PUT, KV_CMP_ABSENT,
			   fmt("/ipam/%s/%s", n->rec.name, ip_s(&e->rec.ipv6.ip, ip)),
			   strdup(e->rec.id));
	return r ?: op_txn(op, attached);
}

/* The kernel half of an attach: devices of the network, then the veth. */
static int attach_kernel(struct netmgr *nm, struct ep *e, int fd, struct ovn_err *err)
{
	struct dp_endpoint d;
	int r;

	if (!e->net->dp_up && (r = net_dp_ensure(nm, e->net, err)) < 0)
		return r;
	dp_endpoint_of(e, &d);
	r = dp_endpoint_attach(nm->dp, fd, &d, err);
	if (r < 0)
		nm->stats.dp_errors++;
	if (r == 0)
		memcpy(e->rec.ifname, d.ifname, sizeof(e->rec.ifname));
	if (r == 0 && (r = egress_ep_add(nm, e, err)) < 0) {
		struct ovn_err e2 = { 0 };

		dp_endpoint_detach(nm->dp, e->rec.host_ifname, &e2);
	}
	return r;
}

/* Link e in as pending (concurrent attaches see its names; reconcile leaves
 * its veth alone until the store has it), make its kernel half from the
 * namespace fd (< 0: the error opening it) and send the store transaction.
 * On failure everything is undone and e is freed. */
static int attach_run(struct op *op, struct net *n, struct ep *e, int fd)
{
	struct netmgr *nm = op->nm;
	struct ovn_err e2 = { 0 };
	int r;

	e->local = true;
	e->pending = true;
	e->next = n->eps;
	n->eps = e;
	n->n_local++;
	op->ep = e;
	r = fd < 0 ? fd : attach_kernel(nm, e, fd, &op->err);
	if (r == 0) {
		crash_point("attach-kernel");
		r = attach_commit(op);
	}
	if (r < 0) {
		dp_endpoint_detach(nm->dp, e->rec.host_ifname, &e2);
		ep_drop(nm, e);
		net_dp_release(nm, n);
	}
	return r;
}

void netmgr_attach(struct netmgr *nm, const char *net, const json_t *req, netmgr_cb cb,
		   void *arg)
{
	struct net *n = net_find(nm, net);
	struct nm_attach_spec spec = { 0 };
	char path[256];
	struct op *op;
	struct ep *e;
	int fd = -1, r;

	if (!n || n->removing)
		return not_found(cb, arg, "network", net);
	op = op_new(nm, cb, arg);
	if (!op)
		return;
	op->lat_kind = LAT_ATTACH;
	r = model_attach_spec_from_json(&spec, req, &op->err);
	if (r < 0)
		goto fail;
	fd = r = target_open(spec.netns, spec.pid, path, sizeof(path), &op->err);
	if (r < 0)
		goto fail;
	e = calloc(1, sizeof(*e));
	r = -ENOMEM;
	if (!e)
		goto fail;
	e->net = n;
	r = attach_build(nm, n, &spec, fd, path, e, &op->err);
	if (r < 0) {
		nm_endpoint_free(&e->rec);
		free(e);
		goto fail;
	}
	op->auto4 = !spec.ipv4.family;
	op->auto6 = !spec.ipv6.family;
	op->auto_mac = !spec.has_mac;
	r = attach_run(op, n, e, fd);
	if (r < 0)
		goto fail;
	close(fd);
	nm_attach_spec_free(&spec);
	return;
fail:
	if (fd >= 0)
		close(fd);
	nm_attach_spec_free(&spec);
	op_done(op, errno_status(r));
}

static void detached(const struct kv_result *res, void *arg)
{
	struct op *op = arg;
	struct ep *e = op->ep;

	txn_seen(op, res);

	if (res->status < 0 && !delete_landed(e, res)) {
		e->removing = false;
		return op_store_fail(op, res);
	}
	crash_point("detach-store");
	op->result = json_pack("{s:[s]}", "removed", e->rec.id);
	cluster_ep_down(op->nm->gossip, e->net->rec.name, e->rec.id);
	ep_kernel_remove(op->nm, e);
	op_done(op, 0);
}

/* Which endpoint of n a detach request means. */
static struct ep *detach_target(struct net *n, struct nm_detach_spec *s, struct ovn_err *err)
{
	char path[256], id[48] = "";
	struct ovn_err e2 = { 0 };
	int fd = -1;

	if (s->endpoint[0]) {
		for (struct ep *e = n->eps; e; e = e->next)
			if (!e->pending && !e->removing && (!strcmp(e->rec.id, s->endpoint) ||
			    !strncmp(e->rec.id, s->endpoint, strlen(s->endpoint))))
				return e;
		ovn_err_set(err, -ENOENT, "no endpoint %s on network %s", s->endpoint,
			    n->rec.name);
		return NULL;
	}
	if (s->owner[0]) {
		for (struct ep *e = n->eps; e; e = e->next)
			if (e->local && !e->pending && !e->removing && e->rec.owner &&
			    !strcmp(e->rec.owner, s->owner))
				return e;
		ovn_err_set(err, -ENOENT, "no endpoint of owner %s on network %s", s->owner,
			    n->rec.name);
		return NULL;
	}
	/* A namespace already gone still matches by the path it was attached by. */
	fd = target_open(s->netns, s->pid, path, sizeof(path), &e2);
	if (fd >= 0) {
		netns_id_of(fd, id, sizeof(id));
		close(fd);
	}
	for (struct ep *e = n->eps; e; e = e->next)
		if (e->local && !e->pending && !e->removing &&
		    (id[0] ? !strcmp(e->rec.netns_id, id) : !strcmp(e->rec.netns, path)))
			return e;
	ovn_err_set(err, -ENOENT, "%s is not attached to network %s", s->pid ? path : s->netns,
		    n->rec.name);
	return NULL;
}

void netmgr_detach(struct netmgr *nm, const char *net, const json_t *req, netmgr_cb cb,
		   void *arg)
{
	struct net *n = net_find(nm, net);
	struct nm_detach_spec spec;
	struct op *op;
	struct ep *e;
	int r;

	if (!n || n->removing)
		return not_found(cb, arg, "network", net);
	op = op_new(nm, cb, arg);
	if (!op)
		return;
	op->lat_kind = LAT_DETACH;
	r = model_detach_spec_from_json(&spec, req, &op->err);
	if (r < 0)
		return op_done(op, r);
	e = detach_target(n, &spec, &op->err);
	if (!e)
		return op_done(op, -ENOENT);
	op->ep = e;
	e->removing = true;
	r = ep_delete_txn(nm, e, detached, op, op);
	if (r < 0) {
		e->removing = false;
		op_fail(op, r, "store: %s", strerror(-r));
	}
}

void netmgr_endpoint_list(struct netmgr *nm, const char *network, netmgr_cb cb, void *arg)
{
	json_t *a = json_array();

	if (network && network[0] && !net_find(nm, network)) {
		json_decref(a);
		return not_found(cb, arg, "network", network);
	}
	for (struct net *n = nm->nets; n; n = n->next) {
		if (network && network[0] && strcmp(n->rec.name, network))
			continue;
		for (struct ep *e = n->eps; e; e = e->next)
			if (!e->pending)
				json_array_append_new(a, model_endpoint_to_json(&e->rec));
	}
	cb(0, NULL, a, arg);
	json_decref(a);
}

void netmgr_encryption_rotate(struct netmgr *nm, netmgr_cb cb, void *arg)
{
	struct ovn_err err = { 0 };
	json_t *j;
	int r = ipsec_rotate(nm, &err);

	if (r < 0) {
		cb(r, &err, NULL, arg);
		return;
	}
	j = ipsec_status(nm);
	cb(0, NULL, j, arg);
	json_decref(j);
}

void netmgr_status(struct netmgr *nm, netmgr_cb cb, void *arg)
{
	int nets = 0, eps = 0;
	char v[OVN_IP_STRLEN];
	json_t *j;

	for (struct net *n = nm->nets; n; n = n->next) {
		nets++;
		eps += net_count_eps(n);
	}
	j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:I}", "node", nm->cfg->node, "version",
		      OVN_VERSION, "advertise", ovn_ip_str(&nm->cfg->advertise, v), "networks", nets,
		      "endpoints", eps, "uptime_s",
		      (json_int_t)((uv_now(nm->loop) - nm->started_ms) / 1000), "mtu",
		      (json_int_t)nm->mtu);
	/* The containers' resolver address, for runtimes that write their
	 * own resolv.conf (CNI results carry it as dns.nameservers). */
	if (j && nm->cfg->dns.enabled)
		json_object_set_new(j, "dns", json_string(ovn_ip_str(&nm->cfg->dns.address, v)));
	if (j)
		json_object_set_new(j, "encryption", ipsec_status(nm));
	cb(0, NULL, j, arg);
	json_decref(j);
}

static json_t *lat_json(const struct lat_ring *l)
{
	uint64_t n = l->n < LAT_SAMPLES ? l->n : LAT_SAMPLES;
	json_t *a = json_array();

	/* oldest first */
	for (uint64_t i = l->n - n; i < l->n; i++)
		json_array_append_new(a, json_integer(l->us[i % LAT_SAMPLES]));
	return json_pack("{s:I, s:o}", "count", (json_int_t)l->n, "recent_us", a);
}

void netmgr_latency(struct netmgr *nm, netmgr_cb cb, void *arg)
{
	json_t *j = json_pack("{s:o, s:o}", "attach", lat_json(&nm->lat[LAT_ATTACH]), "detach",
			      lat_json(&nm->lat[LAT_DETACH]));

	cb(0, NULL, j, arg);
	json_decref(j);
}

/* ---- Docker (agent/docker.c) -------------------------------------------- */

const struct nm_network *netmgr_net_peek(struct netmgr *nm, const char *name)
{
	struct net *n = net_find(nm, name);

	return n && !n->removing ? &n->rec : NULL;
}

const struct nm_network *netmgr_net_by_subnet(struct netmgr *nm, const struct ovn_prefix *p)
{
	for (struct net *n = nm->nets; n; n = n->next)
		for (int i = 0; !n->removing && i < n->rec.n_subnets; i++)
			if (n->rec.subnets[i].prefix.len == p->len &&
			    ovn_ip_equal(&n->rec.subnets[i].prefix.ip, &p->ip))
				return &n->rec;
	return NULL;
}

int netmgr_net_endpoints(struct netmgr *nm, const char *name)
{
	struct net *n = net_find(nm, name);

	return n ? net_count_eps(n) : -ENOENT;
}

static struct ep *ep_find_id(struct net *n, const char *id)
{
	for (struct ep *e = n->eps; e; e = e->next)
		if (!strcmp(e->rec.id, id))
			return e;
	return NULL;
}

static struct ep *ep_find_ip(struct net *n, const struct ovn_ip *ip)
{
	for (struct ep *e = n->eps; e; e = e->next)
		if (ovn_ip_equal(&e->rec.ipv4.ip, ip) || ovn_ip_equal(&e->rec.ipv6.ip, ip))
			return e;
	return NULL;
}

bool netmgr_addr_has_endpoint(struct netmgr *nm, const char *net, const struct ovn_ip *ip)
{
	struct net *n = net_find(nm, net);

	return n && ep_find_ip(n, ip);
}

/* The kernel half runs with dp's own namespace as the "container": the
 * peer is made next to the host end, where dockerd finds it by name. */
static int own_netns_open(struct ovn_err *err)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ovn_err_set(err, -errno, "/proc/self/ns/net: %s", strerror(errno));
	return fd;
}

int netmgr_publish_check(struct netmgr *nm, const char *net, const struct ovn_prefix *ipv4,
			 const struct ovn_prefix *ipv6, const struct nm_publish *p, int n,
			 struct ovn_err *err)
{
	struct net *nt = net_find(nm, net);
	struct ep e = { 0 };

	if (!nt || nt->removing)
		return ovn_err_set(err, -ENOENT, "no network %s", net);
	/* A throwaway endpoint: the checks read only its network, addresses
	 * and ports, and it is linked nowhere, so it clashes with nothing of
	 * its own. */
	e.net = nt;
	e.rec.ipv4 = *ipv4;
	e.rec.ipv6 = *ipv6;
	e.rec.n_publish = n;
	e.rec.publish = (struct nm_publish *)p;
	return egress_publish_check(nm, &e, err);
}

void netmgr_attach_docker(struct netmgr *nm, const struct nm_docker_attach *a, netmgr_cb cb,
			  void *arg)
{
	struct net *n = net_find(nm, a->network);
	struct op *op;
	struct ep *e;
	int fd = -1, r;

	if (!n || n->removing)
		return not_found(cb, arg, "network", a->network);
	op = op_new(nm, cb, arg);
	if (!op)
		return;
	op->lat_kind = LAT_ATTACH;
	e = ep_find_id(n, a->id);
	if (e) {
		/* Join repeated for the same endpoint: answer what exists. */
		if (!e->local || !e->rec.docker || e->pending || e->removing)
			return op_fail(op, -EEXIST, "endpoint %s already exists on %s", a->id,
				       n->rec.name);
		op->result = model_endpoint_to_json(&e->rec);
		return op_done(op, 0);
	}
	e = calloc(1, sizeof(*e));
	r = -ENOMEM;
	if (!e)
		goto fail;
	e->net = n;
	/* The SandboxKey file does not exist yet at Join (dockerd makes the
	 * namespace in the container's prestart hook): only its path is kept. */
	memcpy(e->rec.id, a->id, sizeof(e->rec.id));
	memcpy(e->rec.network, n->rec.name, sizeof(e->rec.network));
	snprintf(e->rec.host_ifname, sizeof(e->rec.host_ifname), "ve-%.12s", a->id);
	snprintf(e->rec.ifname, sizeof(e->rec.ifname), "dk-%.12s", a->id);
	e->rec.netns = strdup(a->sandbox);
	snprintf(e->rec.name, sizeof(e->rec.name), "%s", a->name);
	snprintf(e->rec.node, sizeof(e->rec.node), "%s", nm->cfg->node);
	e->rec.aliases = json_array();
	e->rec.vtep = nm->cfg->advertise;
	e->rec.mac = a->mac;
	e->rec.ipv4 = a->ipv4;
	e->rec.ipv6 = a->ipv6;
	e->rec.docker = true;
	model_now(e->rec.created);
	r = -ENOMEM;
	if (!e->rec.netns || !e->rec.aliases) {
		ovn_err_set(&op->err, r, "out of memory");
		goto fail_ep;
	}
	if (a->n_publish) {
		e->rec.publish = calloc((size_t)a->n_publish, sizeof(*e->rec.publish));
		if (!e->rec.publish) {
			ovn_err_set(&op->err, r, "out of memory");
			goto fail_ep;
		}
		memcpy(e->rec.publish, a->publish, (size_t)a->n_publish * sizeof(*a->publish));
		e->rec.n_publish = a->n_publish;
	}
	if ((r = egress_publish_check(nm, e, &op->err)) < 0)
		goto fail_ep;
	fd = own_netns_open(&op->err);
	r = attach_run(op, n, e, fd);
	if (r < 0)
		goto fail;
	close(fd);
	return;
fail_ep:
	/* Not linked yet: attach_run has not taken it over. */
	nm_endpoint_free(&e->rec);
	free(e);
fail:
	if (fd >= 0)
		close(fd);
	op_done(op, errno_status(r));
}

void netmgr_detach_docker(struct netmgr *nm, const char *net, const char *id, netmgr_cb cb,
			  void *arg)
{
	struct net *n = net_find(nm, net);
	struct ep *e = n ? ep_find_id(n, id) : NULL;
	struct op *op;
	int r;

	if (!e || !e->local || !e->rec.docker || e->pending || e->removing)
		return not_found(cb, arg, "endpoint", id);
	op = op_new(nm, cb, arg);
	if (!op)
		return;
	op->lat_kind = LAT_DETACH;
	op->ep = e;
	e->removing = true;
	r = ep_delete_txn(nm, e, detached, op, op);
	if (r < 0) {
		e->removing = false;
		op_fail(op, r, "store: %s", strerror(-r));
	}
}

/* ---- Docker IPAM reservations ---- */

static char *hold_value(struct netmgr *nm)
{
	char now[NM_TIME_LEN];

	model_now(now);
	return json_str(json_pack("{s:s, s:s}", "docker", nm->cfg->node, "created", now));
}

static int hold_send(struct op *op);

static void held(const struct kv_result *res, void *arg)
{
	struct op *op = arg;
	struct ipam_pool *p = net_pool(op->net, op->rec.subnets[0].gateway.family);
	char a[OVN_PREFIX_STRLEN];

	txn_seen(op, res);
	if (res->status == -ECANCELED && op->auto4 && ++op->retries <= ATTACH_RETRIES) {
		/* Taken elsewhere: it stays marked here (its holder's record
		 * says so to the store, not to us) and we pick the next. */
		op_clear_txn(op);
		if (ipam_alloc(p, &op->rec.subnets[0].gateway) == 0 && hold_send(op) == 0)
			return;
	}
	if (res->status < 0) {
		if (res->status != -ECANCELED)
			ipam_release(p, &op->rec.subnets[0].gateway);
		if (res->status == -ECANCELED)
			return op_fail(op, -EEXIST, "address %s is already in use on %s",
				       ip_s(&op->rec.subnets[0].gateway, a), op->net->rec.name);
		return op_store_fail(op, res);
	}
	op->result = json_pack("{s:s}", "address",
			       ovn_prefix_str(&(struct ovn_prefix){ op->rec.subnets[0].gateway,
								     p->subnet.len }, a));
	op_done(op, 0);
}

static int hold_send(struct op *op)
{
	char ip[OVN_IP_STRLEN];
	int r;

	r = op_add(op, KV_OP_PUT, KV_CMP_ABSENT,
		   fmt("/ipam/%s/%s", op->net->rec.name, ip_s(&op->rec.subnets[0].gateway, ip)),
		   hold_value(op->nm));
	return r ?: op_txn(op, held);
}

/* Hold an address of net's subnet of family for a Docker RequestAddress:
 * want (family 0: any free one). The store key /ipam/<net>/<ip> makes it
 * the cluster's; the value names the holder. */
void netmgr_addr_hold(struct netmgr *nm, const char *net, int family, const struct ovn_ip *want,
		      netmgr_cb cb, void *arg)
{
	struct net *n = net_find(nm, net);
	struct ipam_pool *p = n && !n->removing ? net_pool(n, family) : NULL;
	struct op *op;
	int r;

	if (!p)
		return not_found(cb, arg, family == AF_INET ? "IPv4 subnet of network" :
				 "IPv6 subnet of network", net);
	op = op_new(nm, cb, arg);
	if (!op)
		return;
	op->net = n;
	op->auto4 = !want->family;
	/* op->rec is unused by holds: its first gateway slot carries the address. */
	r = attach_addr(n, family, want, &op->rec.subnets[0].prefix, &op->err);
	if (r < 0)
		return op_done(op, r);
	op->rec.subnets[0].gateway = op->rec.subnets[0].prefix.ip;
	r = hold_send(op);
	if (r < 0) {
		ipam_release(p, &op->rec.subnets[0].gateway);
		op_fail(op, r, "store: %s", strerror(-r));
	}
}

static void unheld(const struct kv_result *res, void *arg)
{
	struct op *op = arg;

	txn_seen(op, res);
	if (res->status < 0)
		return op_store_fail(op, res);
	if (!ep_find_ip(op->net, &op->rec.subnets[0].gateway))
		ipam_release(net_pool(op->net, op->rec.subnets[0].gateway.family),
			     &op->rec.subnets[0].gateway);
	op->result = json_object();
	op_done(op, 0);
}

/* Release what netmgr_addr_hold held. An address held by an ovn endpoint
 * that is not Docker's is refused (-EBUSY): a stray ReleaseAddress must not
 * free someone else's address. A key already gone is fine. */
void netmgr_addr_unhold(struct netmgr *nm, const char *net, const struct ovn_ip *ip,
			netmgr_cb cb, void *arg)
{
	struct net *n = net_find(nm, net);
	struct ep *e = n ? ep_find_ip(n, ip) : NULL;
	char s[OVN_IP_STRLEN];
	struct op *op;
	int r;

	if (!n)
		return not_found(cb, arg, "network", net);
	op = op_new(nm, cb, arg);
	if (!op)
		return;
	if (e && !e->rec.docker)
		return op_fail(op, -EBUSY, "address %s on %s belongs to endpoint %s, not to Docker",
			       ip_s(ip, s), net, e->rec.id);
	op->net = n;
	op->rec.subnets[0].gateway = *ip;
	r = op_add(op, KV_OP_DEL, KV_CMP_NONE, fmt("/ipam/%s/%s", net, ip_s(ip, s)), NULL);
	r = r ?: op_txn(op, unheld);
	if (r < 0)
		op_fail(op, r, "store: %s", strerror(-r));
}

/* ---- Docker endpoint names ---- */

static void renamed(const struct kv_result *res, void *arg)
{
	struct op *op = arg;
	struct nm_endpoint rec;
	struct ovn_err err = { 0 };
	struct net *n;
	struct ep *e;

	txn_seen(op, res);
	if (res->status < 0)
		return op_store_fail(op, res);
	/* Looked up again: a detach may have run meanwhile. */
	if (model_endpoint_from_json(&rec, op->result, &err) < 0)
		return op_fail(op, err.code, "%s", err.msg);
	n = net_find(op->nm, rec.network);
	e = n ? ep_find_id(n, rec.id) : NULL;
	if (e && !e->removing) {
		dnsint_ep_removed(op->nm, e);
		memcpy(e->rec.name, rec.name, sizeof(e->rec.name));
		json_decref(e->rec.aliases);
		e->rec.aliases = TAKE_PTR(rec.aliases);
		dnsint_ep_added(op->nm, e);
		log_info("endpoint %s on %s: name %s", e->rec.id, n->rec.name, e->rec.name);
	}
	nm_endpoint_free(&rec);
	op_done(op, 0);
}

/* Keep the aliases that are DNS names and do not shadow another endpoint's
 * name, name excluded; at most NM_ALIASES_MAX. */
static json_t *aliases_usable(const struct net *n, const char *name, const json_t *aliases)
{
	json_t *out = json_array(), *a;
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(aliases, i, a) {
		const char *s = json_string_value(a);

		if (!s || !model_dns_name_ok(s) || !strcasecmp(s, name) || alias_clashes(n, s) ||
		    json_array_size(out) >= NM_ALIASES_MAX)
			continue;
		json_array_append_new(out, json_string(s));
	}
	return out;
}

void netmgr_docker_ep_name(struct netmgr *nm, const char *net, const char *id, const char *name,
			   const json_t *aliases, netmgr_cb cb, void *arg)
{
	struct net *n = net_find(nm, net);
	struct ep *e = n ? ep_find_id(n, id) : NULL;
	json_t *j = NULL, *al = NULL;
	struct op *op;
	int r;

	if (!e || !e->local || !e->rec.docker || e->pending || e->removing)
		return not_found(cb, arg, "endpoint", id);
	op = op_new(nm, cb, arg);
	if (!op)
		return;
	if (!model_dns_name_ok(name))
		return op_fail(op, -EINVAL, "'%s' is not a DNS name (labels of 1-63 letters, "
			       "digits, '-')", name);
	if (!strcasecmp(e->rec.name, name))
		return op_done(op, 0);	/* known already */
	if (e->rec.name[0])
		return op_fail(op, -EEXIST, "endpoint %s is named %s already", id, e->rec.name);
	if (name_taken(n, name))
		return op_fail(op, -EEXIST, "name %s is taken on %s", name, n->rec.name);
	j = model_endpoint_to_json(&e->rec);
	al = aliases_usable(n, name, aliases);
	r = -ENOMEM;
	if (!j || !al)
		goto fail;
	json_object_set_new(j, "name", json_string(name));
	json_object_set_new(j, "aliases", TAKE_PTR(al));
	/* PRESENT: a detach that deleted the record first wins; the name
	 * never brings it back. */
	r = op_add(op, KV_OP_PUT, KV_CMP_PRESENT, fmt("/endpoints/%s/%s", n->rec.name, id),
		   json_dumps(j, JSON_COMPACT));
	if (!r) {
		op->result = TAKE_PTR(j);
		r = op_txn(op, renamed);
	}
fail:
	json_decref(j);
	json_decref(al);
	if (r < 0)
		op_fail(op, r, "%s", strerror(-r));
}
