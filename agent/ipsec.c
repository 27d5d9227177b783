/* ipsec.c: VxLAN of encrypted networks inside IPsec ESP (transport mode,
 * AES-256-GCM), per host pair, with keys from the store and rotation.
 *
 * Desired kernel state, recomputed from scratch on every sync (level-
 * triggered, so a restart or a kill -9 converges to the same objects):
 *   peers   = VTEPs of remote endpoints on encrypted networks whose devices
 *             exist here (VxLAN UDP is per host pair, so one state pair and
 *             one policy pair per peer serve all encrypted networks)
 *   blocks  = the two catch-all block policies, while any encrypted
 *             network's devices exist here
 *   per peer P: policies out/in; inbound state P -> me under my current
 *             key (and my previous one during its grace); outbound state
 *             me -> P under P's current key, once P's record is known.
 * A sync dumps ovn's states and policies (dataplane/xfrm.c), adds what is
 * missing (policies, then inbound, then outbound states), then deletes
 * what is not wanted (states, then per-peer policies, then blocks), so at
 * no point is a packet to or from port 4790 let through in clear.
 *
 * Keys (docs/encryption.md): each host H owns the record /keys/<H> with a
 * random 32-byte secret and a generation. The state S -> H is derived by
 * both S and H from H's secret (keyed BLAKE2b over both VTEPs and the
 * generation), so every direction of every pair has its own key and SPI:
 * two senders never share a GCM key, and so never a nonce.
 * The store is trusted with these secrets as it is with everything else
 * (a store with TLS and ACLs is the operator's choice; see the doc).
 *
 * Rotation, every encryption.rotate_interval seconds, by the receiver:
 *   1. new secret, generation + 1; the old one becomes "prev" for
 *      encryption.grace seconds
 *   2. sync: the new inbound states go in next to the old ones
 *   3. write the record; each sender sees it (watch), adds its new outbound
 *      state (the kernel prefers the newest matching state) and deletes
 *      the old one
 *   4. after the grace period the old inbound states go.
 * No packet meets a missing key on that path, which the netns test checks
 * with a ping flood across rotations.
 *
 * Does not: IPv6 VTEPs; protect against a store that leaks (the secrets
 * are in clear there); pick SPIs with a guarantee: a derived SPI collides
 * with another of the same receiver with probability about n^2 / 2^33 for
 * n senders; the receiver detects it and rotates at once.
 * TODO: encrypt the records with the gossip keyring when gossip is on.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipsec.h"
#include "log.h"
#include "netmgr_int.h"
#include "util.h"

#define IPSEC_TICK_MS 1000
#define IPSEC_MAX_PEERS 1024
#define IPSEC_CTX "ovn-esp-v1"

struct ipsec {
	struct netmgr *nm;
	int supported;			/* 0 or -errno */
	char why[OVN_ERR_LEN];
	bool listed;			/* key records read once */
	bool listing;
	bool loaded;			/* netmgr has its networks (ipsec_start) */
	bool dirty;			/* own record to (re)write */
	bool writing;
	bool kicked;
	bool closing;
	int pending;			/* store calls in flight */
	struct ipsec_host self;
	struct ipsec_host *hosts;	/* other hosts' records */
	unsigned n_hosts;
	uv_timer_t *tick, *kick;
	int timers_open;
	uint64_t rotations, changes, sync_errors;
	unsigned n_peers, n_states, n_policies;	/* after the last sync */
};

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

/* ---- keys -------------------------------------------------------------- */

void ipsec_derive(const struct ipsec_key *k, const struct ovn_ip *src, const struct ovn_ip *dst,
		  struct dp_sa *sa)
{
	uint8_t msg[sizeof(IPSEC_CTX) + 4 + 4 + 4], out[DP_SA_KEY_LEN + 4];
	uint32_t spi;

	memcpy(msg, IPSEC_CTX, sizeof(IPSEC_CTX));
	memcpy(msg + sizeof(IPSEC_CTX), src->b, 4);
	memcpy(msg + sizeof(IPSEC_CTX) + 4, dst->b, 4);
	for (int i = 0; i < 4; i++)
		msg[sizeof(IPSEC_CTX) + 8 + i] = (uint8_t)(k->gen >> (24 - 8 * i));
	crypto_generichash(out, sizeof(out), msg, sizeof(msg), k->secret, sizeof(k->secret));
	memset(sa, 0, sizeof(*sa));
	sa->src = *src;
	sa->dst = *dst;
	memcpy(sa->key, out, DP_SA_KEY_LEN);
	spi = (uint32_t)out[DP_SA_KEY_LEN] << 24 | (uint32_t)out[DP_SA_KEY_LEN + 1] << 16 |
	      (uint32_t)out[DP_SA_KEY_LEN + 2] << 8 | out[DP_SA_KEY_LEN + 3];
	sa->spi = DP_XFRM_SPI_MIN + spi % (UINT32_MAX - DP_XFRM_SPI_MIN);
	sodium_memzero(out, sizeof(out));
}

static void key_hex(const struct ipsec_key *k, char hex[IPSEC_SECRET_LEN * 2 + 1])
{
	sodium_bin2hex(hex, IPSEC_SECRET_LEN * 2 + 1, k->secret, IPSEC_SECRET_LEN);
}

json_t *ipsec_host_to_json(const struct ipsec_host *h)
{
	char v[OVN_IP_STRLEN], hex[IPSEC_SECRET_LEN * 2 + 1];
	json_t *j;

	key_hex(&h->cur, hex);
	j = json_pack("{s:s, s:s, s:I, s:s, s:I}", "node", h->node, "vtep",
		      ovn_ip_str(&h->vtep, v), "gen", (json_int_t)h->cur.gen, "key", hex,
		      "rotated", (json_int_t)h->rotated);
	if (j && h->prev.gen) {
		key_hex(&h->prev, hex);
		json_object_set_new(j, "prev_gen", json_integer(h->prev.gen));
		json_object_set_new(j, "prev_key", json_string(hex));
		json_object_set_new(j, "prev_until", json_integer((json_int_t)h->prev_until));
	}
	sodium_memzero(hex, sizeof(hex));
	return j;
}

static int key_from_json(const json_t *j, const char *gk, const char *kk, struct ipsec_key *k,
			 struct ovn_err *err)
{
	json_t *g = json_object_get(j, gk), *s = json_object_get(j, kk);
	size_t n = 0;

	if (!json_is_integer(g) || json_integer_value(g) < 1 ||
	    json_integer_value(g) > UINT32_MAX)
		return ovn_err_set(err, -EINVAL, "%s: expected 1 to 4294967295", gk);
	if (!json_is_string(s) || json_string_length(s) != IPSEC_SECRET_LEN * 2 ||
	    sodium_hex2bin(k->secret, sizeof(k->secret), json_string_value(s),
			   json_string_length(s), NULL, &n, NULL) < 0 || n != IPSEC_SECRET_LEN)
		return ovn_err_set(err, -EINVAL, "%s: expected %d hex digits", kk,
				   IPSEC_SECRET_LEN * 2);
	k->gen = (uint32_t)json_integer_value(g);
	return 0;
}

static int uint_opt(const json_t *j, const char *key, uint64_t *out, struct ovn_err *err)
{
	json_t *v = json_object_get(j, key);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return ovn_err_set(err, -EINVAL, "%s: expected a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int ipsec_host_from_json(struct ipsec_host *out, const json_t *j, struct ovn_err *err)
{
	struct ipsec_host h;
	json_t *node = json_object_get(j, "node"), *vtep = json_object_get(j, "vtep");
	int r;

	memset(&h, 0, sizeof(h));
	if (!json_is_object(j))
		return ovn_err_set(err, -EINVAL, "key record: expected an object");
	if (!json_is_string(node) || !json_string_length(node) ||
	    json_string_length(node) >= sizeof(h.node))
		return ovn_err_set(err, -EINVAL, "node: expected a host name");
	ovn_strlcpy(h.node, json_string_value(node), sizeof(h.node));
	if (!json_is_string(vtep) || ovn_ip_parse(&h.vtep, json_string_value(vtep)) < 0 ||
	    h.vtep.family != AF_INET)
		return ovn_err_set(err, -EINVAL, "vtep: expected an IPv4 address");
	r = key_from_json(j, "gen", "key", &h.cur, err);
	if (!r && json_object_get(j, "prev_gen"))
		r = key_from_json(j, "prev_gen", "prev_key", &h.prev, err);
	if (!r)
		r = uint_opt(j, "prev_until", &h.prev_until, err);
	if (!r)
		r = uint_opt(j, "rotated", &h.rotated, err);
	if (!r && h.prev.gen && h.prev.gen == h.cur.gen)
		r = ovn_err_set(err, -EINVAL, "prev_gen: equals gen");
	if (!r)
		*out = h;
	sodium_memzero(&h, sizeof(h));
	return r;
}

/* ---- desired state ----------------------------------------------------- */

static const struct ovn_ip *self_vtep(struct netmgr *nm)
{
	return &nm->cfg->advertise;
}

static bool have_vtep(struct netmgr *nm)
{
	return self_vtep(nm)->family == AF_INET;
}

static struct ipsec_host *host_by_vtep(struct ipsec *ip, const struct ovn_ip *vtep)
{
	for (unsigned i = 0; i < ip->n_hosts; i++)
		if (ovn_ip_equal(&ip->hosts[i].vtep, vtep))
			return &ip->hosts[i];
	return NULL;
}

static bool any_encrypted_up(struct netmgr *nm)
{
	for (struct net *n = nm->nets; n; n = n->next)
		if (n->rec.encrypted && n->dp_up)
			return true;
	return false;
}

/* Unique VTEPs of the remote endpoints on encrypted networks up here.
 * A host gossip declares failed keeps its states and policies: its FDB
 * entries are withdrawn already (peers.c), nothing is sent to it, and on
 * its return (often a restart) the same keys apply, so removing them
 * would only churn the kernel. Its endpoints leaving the store removes
 * them. */
static int peers_collect(struct netmgr *nm, struct ovn_ip *v, int max)
{
	int n = 0;

	for (struct net *net = nm->nets; net; net = net->next) {
		if (!net->rec.encrypted || !net->dp_up)
			continue;
		for (struct ep *e = net->eps; e; e = e->next) {
			bool dup = false;

			if (e->removing || e->local || e->rec.vtep.family != AF_INET ||
			    ovn_ip_equal(&e->rec.vtep, self_vtep(nm)))
				continue;
			for (int i = 0; i < n && !dup; i++)
				dup = ovn_ip_equal(&v[i], &e->rec.vtep);
			if (!dup && n < max)
				v[n++] = e->rec.vtep;
		}
	}
	return n;
}

struct want {
	struct dp_pol pol[2 + 2 * IPSEC_MAX_PEERS];
	int n_pol;
	struct dp_sa sa[3 * IPSEC_MAX_PEERS];
	int n_sa;
	bool spi_clash;
};

static void want_sa(struct want *w, const struct ipsec_key *k, const struct ovn_ip *src,
		    const struct ovn_ip *dst, bool inbound)
{
	struct dp_sa *sa = &w->sa[w->n_sa];

	ipsec_derive(k, src, dst, sa);
	for (int i = 0; inbound && i < w->n_sa; i++)
		if (ovn_ip_equal(&w->sa[i].dst, dst) && w->sa[i].spi == sa->spi)
			w->spi_clash = true;
	w->n_sa++;
}

static void want_pol(struct want *w, enum dp_pol_kind kind, const struct ovn_ip *local,
		     const struct ovn_ip *remote)
{
	struct dp_pol *p = &w->pol[w->n_pol++];

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->local = *local;
	if (remote)
		p->remote = *remote;
}

/* with_sas false: policies only (keys not known yet). */
static void want_build(struct netmgr *nm, struct want *w, bool with_sas)
{
	struct ipsec *ip = nm->ipsec;
	const struct ovn_ip *me = self_vtep(nm);
	struct ovn_ip peers[IPSEC_MAX_PEERS];
	int n;

	w->n_pol = w->n_sa = 0;
	w->spi_clash = false;
	if (!have_vtep(nm) || !any_encrypted_up(nm))
		return;
	want_pol(w, DP_POL_BLOCK_OUT, me, NULL);
	want_pol(w, DP_POL_BLOCK_IN, me, NULL);
	n = peers_collect(nm, peers, IPSEC_MAX_PEERS);
	ip->n_peers = (unsigned)n;
	for (int i = 0; i < n; i++) {
		const struct ipsec_host *h = host_by_vtep(ip, &peers[i]);

		want_pol(w, DP_POL_OUT, me, &peers[i]);
		want_pol(w, DP_POL_IN, me, &peers[i]);
		if (!with_sas)
			continue;
		want_sa(w, &ip->self.cur, &peers[i], me, true);
		if (ip->self.prev.gen)
			want_sa(w, &ip->self.prev, &peers[i], me, true);
		if (h)
			want_sa(w, &h->cur, me, &peers[i], false);
	}
}

/* ---- converge ---------------------------------------------------------- */

struct have {
	struct dp_pol *pol;
	int n_pol, cap_pol;
	struct dp_sa *sa;
	int n_sa, cap_sa;
};

static int have_pol(const struct dp_pol *p, void *arg)
{
	struct have *h = arg;

	if (h->n_pol == h->cap_pol) {
		int cap = h->cap_pol ? h->cap_pol * 2 : 16;
		struct dp_pol *v = reallocarray(h->pol, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->pol = v;
		h->cap_pol = cap;
	}
	h->pol[h->n_pol++] = *p;
	return 0;
}

static int have_sa(const struct dp_sa *sa, void *arg)
{
	struct have *h = arg;

	if (h->n_sa == h->cap_sa) {
		int cap = h->cap_sa ? h->cap_sa * 2 : 16;
		struct dp_sa *v = reallocarray(h->sa, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->sa = v;
		h->cap_sa = cap;
	}
	h->sa[h->n_sa++] = *sa;
	return 0;
}

static bool pol_eq(const struct dp_pol *a, const struct dp_pol *b)
{
	return a->kind == b->kind && ovn_ip_equal(&a->local, &b->local) &&
	       (a->kind >= DP_POL_BLOCK_OUT || ovn_ip_equal(&a->remote, &b->remote));
}

static bool sa_eq(const struct dp_sa *a, const struct dp_sa *b)
{
	return a->spi == b->spi && ovn_ip_equal(&a->dst, &b->dst) && ovn_ip_equal(&a->src, &b->src);
}

static bool pol_in(const struct dp_pol *p, const struct dp_pol *v, int n)
{
	for (int i = 0; i < n; i++)
		if (pol_eq(p, &v[i]))
			return true;
	return false;
}

static bool sa_in(const struct dp_sa *sa, const struct dp_sa *v, int n)
{
	for (int i = 0; i < n; i++)
		if (sa_eq(sa, &v[i]))
			return true;
	return false;
}

static int step(struct ipsec *ip, int r, const char *what, const struct ovn_err *err)
{
	if (r < 0) {
		ip->sync_errors++;
		ip->nm->stats.dp_errors++;
		log_warn("ipsec: %s: %s", what, err->msg);
		return 0;
	}
	return 1;
}

/* Adds in the order that never opens a hole: policies (blocks first), then
 * inbound states, then outbound ones. */
static int apply_adds(struct ipsec *ip, const struct want *w, const struct have *h)
{
	const struct ovn_ip *me = self_vtep(ip->nm);
	struct ovn_err err = { 0 };
	int n = 0;

	for (int i = 0; i < w->n_pol; i++)
		if (!pol_in(&w->pol[i], h->pol, h->n_pol))
			n += step(ip, dp_pol_add(ip->nm->dp, &w->pol[i], &err), "add policy", &err);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < w->n_sa; i++) {
			bool inbound = ovn_ip_equal(&w->sa[i].dst, me);

			if (inbound != (pass == 0) || sa_in(&w->sa[i], h->sa, h->n_sa))
				continue;
			n += step(ip, dp_sa_add(ip->nm->dp, &w->sa[i], &err), "add state", &err);
		}
	return n;
}

/* Deletes: states, then per-pair policies, then blocks (the reverse). */
static int apply_dels(struct ipsec *ip, const struct want *w, const struct have *h, bool states)
{
	struct ovn_err err = { 0 };
	int n = 0;

	for (int i = 0; states && i < h->n_sa; i++)
		if (!sa_in(&h->sa[i], w->sa, w->n_sa))
			n += step(ip, dp_sa_del(ip->nm->dp, &h->sa[i], &err), "delete state", &err);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < h->n_pol; i++) {
			bool block = h->pol[i].kind >= DP_POL_BLOCK_OUT;

			if (block != (pass == 1) || pol_in(&h->pol[i], w->pol, w->n_pol))
				continue;
			n += step(ip, dp_pol_del(ip->nm->dp, &h->pol[i], &err), "delete policy",
				  &err);
		}
	return n;
}

static void rotate_soon(struct ipsec *ip);

int ipsec_sync(struct netmgr *nm)
{
	struct ipsec *ip = nm->ipsec;
	struct have h = { 0 };
	struct ovn_err err = { 0 };
	struct want *w;
	bool full;
	int n = 0;

	if (!ip || ip->supported)
		return 0;
	/* Before the keys and the networks are known only additions are safe:
	 * deleting then would tear down what a restart should keep. */
	full = ip->listed && ip->loaded;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	want_build(nm, w, full);
	if (dp_pol_dump(nm->dp, have_pol, &h, &err) < 0 ||
	    dp_sa_dump(nm->dp, have_sa, &h, &err) < 0) {
		ip->sync_errors++;
		log_warn("ipsec: reading the kernel's state: %s", err.msg);
		goto out;
	}
	n += apply_adds(ip, w, &h);
	if (full)
		n += apply_dels(ip, w, &h, true);
	ip->n_states = (unsigned)w->n_sa;
	ip->n_policies = (unsigned)w->n_pol;
	ip->changes += (uint64_t)n;
	if (n)
		log_info("ipsec: %d change(s): %u peer(s), %d state(s), %d policies", n,
			 ip->n_peers, w->n_sa, w->n_pol);
	if (full && w->spi_clash) {
		log_warn("ipsec: two inbound states derived the same SPI: rotating the key");
		rotate_soon(ip);
	}
out:
	free(h.pol);
	free(h.sa);
	sodium_memzero(w, sizeof(*w));
	free(w);
	return n;
}

int ipsec_prepare(struct netmgr *nm, struct ovn_err *err)
{
	struct dp_pol p = { .kind = DP_POL_BLOCK_OUT };
	int r;

	if ((r = ipsec_supported(nm, err)) < 0)
		return r;
	if (!have_vtep(nm))
		return 0;	/* one host, no VTEP: nothing crosses an underlay */
	p.local = *self_vtep(nm);
	r = dp_pol_add(nm->dp, &p, err);
	p.kind = DP_POL_BLOCK_IN;
	if (!r)
		r = dp_pol_add(nm->dp, &p, err);
	return r;
}

static void kick_cb(uv_timer_t *t)
{
	struct ipsec *ip = t->data;

	ip->kicked = false;
	ipsec_sync(ip->nm);
}

void ipsec_kick(struct netmgr *nm)
{
	struct ipsec *ip = nm->ipsec;

	if (!ip || ip->supported || ip->kicked || ip->closing)
		return;
	ip->kicked = true;
	uv_timer_start(ip->kick, kick_cb, 0, 0);
}

/* ---- the store ----------------------------------------------------------- */

static void maybe_free(struct ipsec *ip)
{
	if (ip->closing && !ip->timers_open && !ip->pending) {
		free(ip->hosts);
		sodium_memzero(ip, sizeof(*ip));
		free(ip);
	}
}

static void written(const struct kv_result *res, void *arg)
{
	struct ipsec *ip = arg;

	ip->pending--;
	ip->writing = false;
	if (ip->closing)
		return maybe_free(ip);
	if (res->status < 0) {
		log_warn("ipsec: writing key record: %s (retrying)", res->msg);
		return;
	}
	ip->dirty = false;
	log_info("ipsec: key record generation %u published", ip->self.cur.gen);
}

static void write_self(struct ipsec *ip)
{
	char key[128], *s;
	json_t *j;

	if (ip->writing || !ip->dirty)
		return;
	j = ipsec_host_to_json(&ip->self);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return;
	snprintf(key, sizeof(key), "/keys/%s", ip->self.node);
	if (kv_put(ip->nm->kv, key, s, strlen(s), written, ip) == 0) {
		ip->pending++;
		ip->writing = true;
	}
	sodium_memzero(s, strlen(s));
	free(s);
}

static void new_key(struct ipsec_key *k, uint32_t gen)
{
	k->gen = gen;
	randombytes_buf(k->secret, sizeof(k->secret));
}

/* Another host's record: replace what we had; true when it changed. */
static bool host_set(struct ipsec *ip, const struct ipsec_host *h)
{
	struct ipsec_host *v;

	for (unsigned i = 0; i < ip->n_hosts; i++) {
		if (strcmp(ip->hosts[i].node, h->node))
			continue;
		if (!memcmp(&ip->hosts[i], h, sizeof(*h)))
			return false;
		ip->hosts[i] = *h;
		return true;
	}
	v = reallocarray(ip->hosts, ip->n_hosts + 1, sizeof(*v));
	if (!v)
		return false;
	ip->hosts = v;
	ip->hosts[ip->n_hosts++] = *h;
	return true;
}

static void host_del(struct ipsec *ip, const char *node)
{
	for (unsigned i = 0; i < ip->n_hosts; i++)
		if (!strcmp(ip->hosts[i].node, node)) {
			ip->hosts[i] = ip->hosts[--ip->n_hosts];
			return;
		}
}

/* Our own record as the store has it: adopted at start (so a restart keeps
 * the same keys and so the same states), ignored later (we wrote it). */
static void self_loaded(struct ipsec *ip, const struct ipsec_host *h)
{
	if (!ovn_ip_equal(&h->vtep, self_vtep(ip->nm))) {
		log_info("ipsec: VTEP changed since the key record was written: new key");
		return;
	}
	ip->self = *h;
	ip->dirty = false;
}

static void take_record(struct ipsec *ip, const struct kv_entry *en, bool initial)
{
	const char *node = strrchr(en->key, '/');
	json_t *j = json_loadb(en->value, en->len, 0, NULL);
	struct ovn_err err = { 0 };
	struct ipsec_host h;

	if (!node || !j || ipsec_host_from_json(&h, j, &err) < 0 || strcmp(h.node, node + 1)) {
		log_warn("ipsec: skipping bad key record %s: %s", en->key,
			 !j ? "not JSON" : err.msg[0] ? err.msg : "node differs from the key");
		json_decref(j);
		return;
	}
	json_decref(j);
	if (!strcmp(h.node, ip->nm->cfg->node)) {
		if (initial)
			self_loaded(ip, &h);
	} else if (host_set(ip, &h)) {
		log_debug("ipsec: key of %s at generation %u", h.node, h.cur.gen);
		ipsec_kick(ip->nm);
	}
	sodium_memzero(&h, sizeof(h));
}

static void listed(const struct kv_result *res, void *arg)
{
	struct ipsec *ip = arg;
	bool initial;

	ip->pending--;
	ip->listing = false;
	if (ip->closing)
		return maybe_free(ip);
	if (res->status < 0) {
		log_warn("ipsec: listing key records: %s (retrying)", res->msg);
		return;
	}
	initial = !ip->listed;
	if (initial)
		ip->self.cur.gen = 0;	/* the record, if any, decides */
	for (size_t i = 0; i < res->n; i++)
		take_record(ip, &res->entries[i], initial);
	if (initial && !ip->self.cur.gen) {
		new_key(&ip->self.cur, 1);
		ip->self.rotated = now_s();
		ip->dirty = true;
	}
	ip->listed = true;
	write_self(ip);
	ipsec_kick(ip->nm);
}

void ipsec_relist(struct netmgr *nm)
{
	struct ipsec *ip = nm->ipsec;

	if (!ip || ip->supported || ip->listing || ip->closing || !have_vtep(nm))
		return;
	if (kv_list(nm->kv, "/keys/", listed, ip) == 0) {
		ip->pending++;
		ip->listing = true;
	}
}

void ipsec_on_key(struct netmgr *nm, const char *node, const struct kv_event *ev)
{
	struct ipsec *ip = nm->ipsec;

	if (!ip || ip->supported || !ip->listed)
		return;		/* the first listing will read it */
	if (ev->type == KV_EV_DEL) {
		if (!strcmp(node, nm->cfg->node)) {
			log_warn("ipsec: own key record deleted in the store: writing it again");
			ip->dirty = true;
			write_self(ip);
			return;
		}
		host_del(ip, node);
		ipsec_kick(nm);
		return;
	}
	take_record(ip, &ev->entry, false);
}

/* ---- rotation ------------------------------------------------------------ */

static void rotate_now(struct ipsec *ip)
{
	ip->self.prev = ip->self.cur;
	ip->self.prev_until = now_s() + ip->nm->cfg->encryption.grace;
	new_key(&ip->self.cur, ip->self.prev.gen + 1 ? ip->self.prev.gen + 1 : 1);
	ip->self.rotated = now_s();
	ip->rotations++;
	/* New inbound states first, then tell the senders. */
	ipsec_sync(ip->nm);
	ip->dirty = true;
	write_self(ip);
	log_info("ipsec: key rotated to generation %u (previous kept %us)", ip->self.cur.gen,
		 ip->nm->cfg->encryption.grace);
}

static void rotate_soon(struct ipsec *ip)
{
	ip->self.rotated = 0;	/* the next tick rotates */
}

int ipsec_rotate(struct netmgr *nm, struct ovn_err *err)
{
	struct ipsec *ip = nm->ipsec;
	int r = ipsec_supported(nm, err);

	if (r < 0)
		return r;
	if (!ip->listed)
		return ovn_err_set(err, -EAGAIN, "encryption keys not loaded from the store yet");
	rotate_now(ip);
	return 0;
}

static void tick_cb(uv_timer_t *t)
{
	struct ipsec *ip = t->data;
	const struct cfg *c = ip->nm->cfg;
	uint64_t now = now_s();

	if (!ip->listed) {
		ipsec_relist(ip->nm);
		return;
	}
	if (ip->self.prev.gen && now >= ip->self.prev_until) {
		log_info("ipsec: grace over: generation %u's inbound states go", ip->self.prev.gen);
		memset(&ip->self.prev, 0, sizeof(ip->self.prev));
		ip->self.prev_until = 0;
		ip->dirty = true;
		ipsec_kick(ip->nm);
	}
	if (ip->loaded && c->encryption.rotate_interval && any_encrypted_up(ip->nm) &&
	    now >= ip->self.rotated + c->encryption.rotate_interval)
		rotate_now(ip);
	write_self(ip);
}

/* ---- life ---------------------------------------------------------------- */

int ipsec_supported(struct netmgr *nm, struct ovn_err *err)
{
	struct ipsec *ip = nm->ipsec;

	if (!ip)
		return ovn_err_set(err, -ENOMEM, "encryption: not initialised");
	if (ip->supported)
		return ovn_err_set(err, -EOPNOTSUPP, "encrypted networks are not available on "
				   "host %s: %s", nm->cfg->node, ip->why);
	return 0;
}

int ipsec_new(struct netmgr *nm)
{
	struct ovn_err err = { 0 };
	struct ipsec *ip;

	if (sodium_init() < 0)
		return -EIO;
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		return -ENOMEM;
	ip->tick = calloc(1, sizeof(*ip->tick));
	ip->kick = calloc(1, sizeof(*ip->kick));
	if (!ip->tick || !ip->kick) {
		free(ip->tick);
		free(ip->kick);
		free(ip);
		return -ENOMEM;
	}
	ip->nm = nm;
	ovn_strlcpy(ip->self.node, nm->cfg->node, sizeof(ip->self.node));
	ip->self.vtep = *self_vtep(nm);
	uv_timer_init(nm->loop, ip->tick);
	uv_timer_init(nm->loop, ip->kick);
	ip->tick->data = ip->kick->data = ip;
	ip->timers_open = 2;
	ip->supported = dp_xfrm_probe(nm->dp, &err);
	if (ip->supported) {
		ovn_strlcpy(ip->why, err.msg, sizeof(ip->why));
		log_warn("ipsec: %s: encrypted networks are refused on this host", err.msg);
	}
	nm->ipsec = ip;
	return 0;
}

void ipsec_start(struct netmgr *nm)
{
	struct ipsec *ip = nm->ipsec;

	if (!ip || ip->supported)
		return;
	ip->loaded = true;
	ipsec_relist(nm);
	uv_timer_start(ip->tick, tick_cb, IPSEC_TICK_MS, IPSEC_TICK_MS);
	ipsec_kick(nm);
}

static void timer_closed(uv_handle_t *h)
{
	struct ipsec *ip = h->data;

	free(h);
	ip->timers_open--;
	maybe_free(ip);
}

void ipsec_free(struct netmgr *nm)
{
	struct ipsec *ip = TAKE_PTR(nm->ipsec);

	if (!ip)
		return;
	ip->closing = true;
	uv_close((uv_handle_t *)ip->tick, timer_closed);
	uv_close((uv_handle_t *)ip->kick, timer_closed);
}

json_t *ipsec_status(struct netmgr *nm)
{
	struct ipsec *ip = nm->ipsec;
	json_t *j;

	if (!ip)
		return json_null();
	if (ip->supported)
		return json_pack("{s:b, s:s}", "supported", 0, "reason", ip->why);
	j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "supported", 1, "generation",
		      (json_int_t)ip->self.cur.gen, "rotations", (json_int_t)ip->rotations,
		      "peers", (json_int_t)ip->n_peers, "states", (json_int_t)ip->n_states,
		      "policies", (json_int_t)ip->n_policies, "changes", (json_int_t)ip->changes);
	if (j && ip->self.prev.gen)
		json_object_set_new(j, "previous_generation", json_integer(ip->self.prev.gen));
	return j;
}
