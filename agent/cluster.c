/* cluster.c: the agent on gossip: one gossip node (gossip/, gossip_uv.c)
 * named after cfg.node on advertise:gossip.port.
 *
 * What it does:
 *  - tags: vtep=<advertise>, keys=<keyring fingerprints, primary first and
 *    starred>; the keys tag is how a key operation sees the cluster converge;
 *  - joins the gossip.join seeds (the core retries until one answers);
 *  - announces each local endpoint once the store has it ("ep+", its store
 *    record) and each removal ("ep-"); other hosts
 *    apply them through netmgr_gossip_endpoint() before their store watch
 *    brings the same change (which then finds it done);
 *  - a member failed: netmgr withdraws its endpoints' FDB/neighbour entries;
 *    alive again (join, refutation, update): they are programmed back. A
 *    graceful leave withdraws nothing: that is an agent restarting, and its
 *    kernel keeps forwarding meanwhile;
 *  - keyring: gossip.keyring is a JSON array of base64 keys, the first the
 *    primary (the format of serf's keyring files). install/use/remove apply
 *    here, travel to every member as a "key" event sealed with the current
 *    keys, and are written back to the file by every member, atomically.
 *
 * What it does not: decide which endpoints exist (the store does; gossip
 * only gets there first), carry networks (rare: the watch brings them; an
 * endpoint announced for a network not yet known waits for the store), or
 * let a key operation split the cluster: `use` needs the key on every live
 * member and `remove` needs it primary on none.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "fsperm.h"
#include "log.h"
#include "model.h"
#include "util.h"

#define EV_EP_UP "ep+"
#define EV_EP_DOWN "ep-"
#define EV_KEY "key"
#define LEAVE_MS 500		/* time the leave announcement gets to spread */
#define KEYOP_PRE_MS 3000
#define KEYOP_WAIT_MS 5000
#define KEYOP_POLL_MS 100
#define FP_LEN 8		/* hex digits of a key fingerprint */
#define B64_KEY_LEN 44		/* base64 of 32 bytes, padded */

struct keyop {
	char op[8];
	char fp[FP_LEN + 1];
	uint8_t key[GOSSIP_KEY_LEN];	/* until applied */
	bool applied;
	uint64_t deadline;		/* of the phase it is in */
	netmgr_cb cb;
	void *arg;
	struct keyop *next;
};

struct cluster {
	uv_loop_t *loop;
	const struct cfg *cfg;
	struct netmgr *nm;
	struct gossip_uv *gu;
	uv_timer_t *timer;	/* leave grace, key operation polling */
	uint8_t keys[GOSSIP_KEYS_MAX][GOSSIP_KEY_LEN];	/* [0] = primary */
	size_t n_keys;
	struct keyop *ops;
	uint64_t oversize;	/* endpoint records too big for one event */
	void (*left_cb)(void *arg);
	void *left_arg;
	bool leaving;
};

static struct gossip *core(struct cluster *c)
{
	return gossip_uv_core(c->gu);
}

/* ---- keys --------------------------------------------------------------- */

static void key_fp(const uint8_t key[GOSSIP_KEY_LEN], char fp[FP_LEN + 1])
{
	uint8_t h[16];

	crypto_generichash(h, sizeof(h), key, GOSSIP_KEY_LEN, NULL, 0);
	sodium_bin2hex(fp, FP_LEN + 1, h, FP_LEN / 2);
}

static int key_decode(const char *b64, uint8_t key[GOSSIP_KEY_LEN])
{
	size_t len = 0;

	if (sodium_base642bin(key, GOSSIP_KEY_LEN, b64, strlen(b64), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 || len != GOSSIP_KEY_LEN)
		return -EINVAL;
	return 0;
}

/* Index of the key b64 or fingerprint s names, -1 if none. */
static int key_find(const struct cluster *c, const char *s)
{
	uint8_t k[GOSSIP_KEY_LEN];
	char fp[FP_LEN + 1];
	bool full = key_decode(s, k) == 0;

	for (size_t i = 0; i < c->n_keys; i++) {
		key_fp(c->keys[i], fp);
		if (full ? !sodium_memcmp(k, c->keys[i], GOSSIP_KEY_LEN) : !strcmp(fp, s))
			return (int)i;
	}
	return -1;
}

/* "fp1*,fp2,..." */
static void keys_tag(const struct cluster *c, char *out, size_t size)
{
	size_t off = 0;
	char fp[FP_LEN + 1];

	out[0] = '\0';
	for (size_t i = 0; i < c->n_keys && off < size; i++) {
		key_fp(c->keys[i], fp);
		off += (size_t)snprintf(out + off, size - off, "%s%s%s", i ? "," : "", fp,
					i ? "" : "*");
	}
}

static int publish_tags(struct cluster *c)
{
	char vtep[OVN_IP_STRLEN], keys[GOSSIP_KEYS_MAX * (FP_LEN + 2) + 1];
	struct gossip_tag tags[2] = { { "vtep", ovn_ip_str(&c->cfg->advertise, vtep) } };
	uint8_t meta[GOSSIP_META_MAX];
	size_t n = 1;
	int len;

	keys_tag(c, keys, sizeof(keys));
	if (keys[0])
		tags[n++] = (struct gossip_tag){ "keys", keys };
	len = gossip_tags_encode(tags, n, meta, sizeof(meta));
	if (len < 0)
		return len;
	return gossip_set_meta(core(c), meta, (size_t)len);
}

/* Write the keyring file: a temporary beside it, synced, renamed over. */
static int keyring_save(const struct cluster *c)
{
	const char *path = c->cfg->gossip.keyring;
	char tmp[300], b64[B64_KEY_LEN + 1];
	json_t *a = json_array();
	char *s = NULL;
	int fd = -1, r = -ENOMEM;

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_keys; i++) {
		sodium_bin2base64(b64, sizeof(b64), c->keys[i], GOSSIP_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		json_array_append_new(a, json_string(b64));
	}
	s = json_dumps(a, JSON_INDENT(2));
	if (!s)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s) || write(fd, "\n", 1) != 1 ||
	    fsync(fd) < 0 || rename(tmp, path) < 0) {
		r = -errno ?: -EIO;
		unlink(tmp);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	sodium_memzero(b64, sizeof(b64));
	if (s)
		sodium_memzero(s, strlen(s));
	free(s);
	json_decref(a);
	return r;
}

static int keyring_load(struct cluster *c, struct ovn_err *err)
{
	const char *path = c->cfg->gossip.keyring;
	json_error_t je;
	json_t *a = NULL, *v;
	size_t i;
	int fd, r = 0;

	/* Opened once and checked by fd: the keys read are the file checked. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ovn_err_set(err, -errno, "gossip.keyring: %s: %s (create it with: echo "
				   "\"[\\\"$(ovnctl keys generate)\\\"]\" > %s; chmod 600 %s, same "
				   "file on every host)", path, strerror(errno), path, path);
	r = fsperm_check_fd(fd, path, "gossip.keyring", FSPERM_SECRET, err);
	if (r == 0)
		a = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	if (r)
		return r;
	if (!a)
		return ovn_err_set(err, -EINVAL, "gossip.keyring: %s: %s (create it with: echo "
				   "\"[\\\"$(ovnctl keys generate)\\\"]\" > %s, same file on every host)",
				   path, je.text, path);
	if (!json_is_array(a) || json_array_size(a) < 1 ||
	    json_array_size(a) > GOSSIP_KEYS_MAX) {
		r = ovn_err_set(err, -EINVAL, "gossip.keyring: %s: expected an array of 1 to %d "
				"base64 keys", path, GOSSIP_KEYS_MAX);
		goto out;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || key_decode(json_string_value(v), c->keys[i]) < 0) {
			r = ovn_err_set(err, -EINVAL, "gossip.keyring: %s: entry %zu is not a "
					"base64 32-byte key", path, i + 1);
			goto out;
		}
		if ((r = gossip_key_install(core(c), c->keys[i])) < 0) {
			r = ovn_err_set(err, r, "gossip.keyring: %s: entry %zu: %s", path, i + 1,
					r == -EEXIST ? "duplicate key" : strerror(-r));
			goto out;
		}
	}
	c->n_keys = json_array_size(a);
out:
	json_decref(a);
	return r;
}

/* Apply one key operation to the core, the mirror, the file and the tags. */
static int key_apply(struct cluster *c, const char *op, const uint8_t key[GOSSIP_KEY_LEN])
{
	char b64[B64_KEY_LEN + 1];
	int i, r;

	sodium_bin2base64(b64, sizeof(b64), key, GOSSIP_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	i = key_find(c, b64);
	sodium_memzero(b64, sizeof(b64));
	if (!strcmp(op, "install")) {
		if (i >= 0)
			return 0;
		if ((r = gossip_key_install(core(c), key)) < 0)
			return r;
		memcpy(c->keys[c->n_keys++], key, GOSSIP_KEY_LEN);
	} else if (!strcmp(op, "use")) {
		if (i < 0)
			return -ENOENT;
		if ((r = gossip_key_use(core(c), key)) < 0)
			return r;
		uint8_t k[GOSSIP_KEY_LEN];

		memcpy(k, c->keys[i], sizeof(k));
		memmove(c->keys[1], c->keys[0], (size_t)i * GOSSIP_KEY_LEN);
		memcpy(c->keys[0], k, sizeof(k));
		sodium_memzero(k, sizeof(k));
	} else {
		if (i < 0)
			return 0;
		if ((r = gossip_key_remove(core(c), key)) < 0)
			return r;
		memmove(c->keys[i], c->keys[i + 1], (c->n_keys - (size_t)i - 1) * GOSSIP_KEY_LEN);
		sodium_memzero(c->keys[--c->n_keys], GOSSIP_KEY_LEN);
	}
	if ((r = keyring_save(c)) < 0)
		log_warn("gossip.keyring: saving %s: %s (the change holds until restart)",
			 c->cfg->gossip.keyring, strerror(-r));
	publish_tags(c);
	return 0;
}

/* A key event from another member. */
static void on_key_event(struct cluster *c, const void *payload, size_t len)
{
	json_t *j = json_loadb(payload, len, 0, NULL);
	const char *op = NULL, *b64 = NULL;
	uint8_t key[GOSSIP_KEY_LEN];
	char fp[FP_LEN + 1];
	int r;

	if (!j || json_unpack(j, "{s:s, s:s}", "op", &op, "key", &b64) < 0 ||
	    (strcmp(op, "install") && strcmp(op, "use") && strcmp(op, "remove")) ||
	    key_decode(b64, key) < 0) {
		log_warn("gossip: malformed key event dropped");
		goto out;
	}
	key_fp(key, fp);
	r = key_apply(c, op, key);
	if (r < 0)
		log_warn("gossip: key %s %s: %s", op, fp, strerror(-r));
	else
		log_info("gossip: key %s %s (from the cluster)", op, fp);
	sodium_memzero(key, sizeof(key));
out:
	json_decref(j);
}

/* ---- membership and events ---------------------------------------------- */

static void on_join(void *arg, const struct gossip_member *m)
{
	struct cluster *c = arg;

	log_info("gossip: member %s joined", m->name);
	netmgr_node_state(c->nm, m->name, true);
}

static void on_update(void *arg, const struct gossip_member *m)
{
	struct cluster *c = arg;

	if (m->state == GOSSIP_ALIVE)
		netmgr_node_state(c->nm, m->name, true);
}

static void on_fail(void *arg, const struct gossip_member *m)
{
	struct cluster *c = arg;

	log_warn("gossip: member %s failed", m->name);
	netmgr_node_state(c->nm, m->name, false);
}

static void on_leave(void *arg, const struct gossip_member *m)
{
	log_info("gossip: member %s left", m->name);
	(void)arg;
}

static void on_event(void *arg, const char *name, const void *payload, size_t len,
		     uint64_t ltime)
{
	struct cluster *c = arg;
	const char *net = NULL, *id = NULL;
	json_t *j;

	(void)ltime;	/* endpoint ids are never reused: no per-key ordering needed */
	if (!strcmp(name, EV_KEY))
		return on_key_event(c, payload, len);
	if (strcmp(name, EV_EP_UP) && strcmp(name, EV_EP_DOWN))
		return;
	j = json_loadb(payload, len, 0, NULL);
	if (!j || json_unpack(j, "{s:s, s:s}", "network", &net, "id", &id) < 0) {
		log_warn("gossip: malformed %s event dropped", name);
	} else if (!strcmp(name, EV_EP_UP)) {
		netmgr_gossip_endpoint(c->nm, net, id, payload, len);
	} else {
		netmgr_gossip_endpoint(c->nm, net, id, NULL, 0);
	}
	json_decref(j);
}

static void send_event(struct cluster *c, const char *name, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int r = s ? gossip_event_send(core(c), name, s, strlen(s)) : -ENOMEM;

	if (r == -EMSGSIZE)
		c->oversize++;	/* the store's watch carries it instead */
	else if (r < 0)
		log_warn("gossip: sending %s: %s", name, strerror(-r));
	free(s);
	json_decref(j);
}

/* The whole record, as the store has it: a host that learns it here lists
 * it exactly as it would from the store (whose copy then finds it known). */
void cluster_ep_up(struct cluster *c, const struct nm_endpoint *rec)
{
	if (!c || c->leaving)
		return;
	send_event(c, EV_EP_UP, model_endpoint_to_json(rec));
}

void cluster_ep_down(struct cluster *c, const char *net, const char *id)
{
	if (!c || c->leaving)
		return;
	send_event(c, EV_EP_DOWN, json_pack("{s:s, s:s}", "network", net, "id", id));
}

/* ---- lifecycle ---------------------------------------------------------- */

static int seed_parse(const char *s, uint16_t def_port, struct gossip_addr *out)
{
	char host[OVN_IP_STRLEN];
	const char *colon = strchr(s, ':');
	struct ovn_ip ip;
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (ovn_ip_parse(&ip, host) < 0 || ip.family != AF_INET)
		return -EINVAL;
	*out = (struct gossip_addr){ .family = AF_INET,
				     .port = colon ? (uint16_t)atoi(colon + 1) : def_port };
	memcpy(out->ip, &ip.v4, 4);
	return 0;
}

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

static void gossip_closed(void *arg)
{
	struct cluster *c = arg;
	void (*cb)(void *) = c->left_cb;
	void *cb_arg = c->left_arg;

	uv_close((uv_handle_t *)c->timer, timer_closed);
	sodium_memzero(c->keys, sizeof(c->keys));
	free(c);
	if (cb)
		cb(cb_arg);
}

int cluster_new(struct cluster **out, uv_loop_t *loop, const struct cfg *cfg,
		struct netmgr *nm, struct ovn_err *err)
{
	struct gossip_cb cb = { .on_member_join = on_join, .on_member_leave = on_leave,
				.on_member_fail = on_fail, .on_member_update = on_update,
				.on_event = on_event };
	struct gossip_addr seeds[CFG_LIST_MAX];
	struct gossip_config gc;
	struct cluster *c;
	int r;

	if (sodium_init() < 0)
		return ovn_err_set(err, -EIO, "gossip: libsodium failed to initialise");
	c = calloc(1, sizeof(*c));
	if (!c || !(c->timer = calloc(1, sizeof(*c->timer)))) {
		free(c);
		return ovn_err_set(err, -ENOMEM, "gossip: out of memory");
	}
	c->loop = loop;
	c->cfg = cfg;
	c->nm = nm;
	cb.arg = c;
	uv_timer_init(loop, c->timer);
	c->timer->data = c;
	gossip_config_ovn(&gc);
	snprintf(gc.name, sizeof(gc.name), "%s", cfg->node);
	gc.addr = (struct gossip_addr){ .family = AF_INET, .port = (uint16_t)cfg->gossip.port };
	memcpy(gc.addr.ip, &cfg->advertise.v4, 4);
	r = gossip_uv_new(loop, &gc, &cb, &c->gu);
	if (r < 0) {
		uv_close((uv_handle_t *)c->timer, timer_closed);
		free(c);
		return ovn_err_set(err, r, "gossip: listening on %s:%u: %s",
				   ovn_ip_str(&cfg->advertise, (char[OVN_IP_STRLEN]){ 0 }),
				   cfg->gossip.port, strerror(-r));
	}
	if (cfg->gossip.keyring[0])
		r = keyring_load(c, err);
	else
		log_warn("gossip.keyring is not set: gossip is neither encrypted nor "
			 "authenticated; any host that reaches port %u can join", cfg->gossip.port);
	if (r == 0 && (r = publish_tags(c)) < 0)
		ovn_err_set(err, r, "gossip: tags: %s", strerror(-r));
	for (unsigned i = 0; r == 0 && i < cfg->gossip.join.n; i++)
		if (seed_parse(cfg->gossip.join.v[i], (uint16_t)cfg->gossip.port, &seeds[i]) < 0)
			r = ovn_err_set(err, -EINVAL, "gossip.join: bad seed %s",
					cfg->gossip.join.v[i]);
	if (r == 0 && cfg->gossip.join.n)
		r = gossip_join(core(c), seeds, cfg->gossip.join.n);
	if (r < 0) {
		if (!err->msg[0])
			ovn_err_set(err, r, "gossip: %s", strerror(-r));
		gossip_uv_close(c->gu, gossip_closed, c);
		return r;
	}
	netmgr_set_cluster(nm, c);
	log_info("gossip: %s on %s:%u, %zu key(s), %u seed(s)", cfg->node,
		 ovn_ip_str(&cfg->advertise, (char[OVN_IP_STRLEN]){ 0 }), cfg->gossip.port,
		 c->n_keys, cfg->gossip.join.n);
	*out = c;
	return 0;
}

static void keyops_fail_all(struct cluster *c, int status, const char *why);

static void leave_done(uv_timer_t *t)
{
	struct cluster *c = t->data;

	gossip_uv_close(c->gu, gossip_closed, c);
}

void cluster_leave(struct cluster *c, void (*cb)(void *arg), void *arg)
{
	if (!c) {
		if (cb)
			cb(arg);
		return;
	}
	c->leaving = true;
	c->left_cb = cb;
	c->left_arg = arg;
	netmgr_set_cluster(c->nm, NULL);
	keyops_fail_all(c, -ECANCELED, "the agent is stopping");
	if (gossip_leave(core(c)) < 0)
		return leave_done(c->timer);
	uv_timer_start(c->timer, leave_done, LEAVE_MS, 0);
}

/* ---- API ---------------------------------------------------------------- */

static const char *state_name(enum gossip_state s)
{
	static const char *const names[] = { "alive", "suspect", "failed", "left" };

	return s <= GOSSIP_LEFT ? names[s] : "?";
}

static void member_json(void *arg, const struct gossip_member *m)
{
	static const char *const tag_keys[] = { "vtep", "keys" };
	char ip[OVN_IP_STRLEN], val[256];
	struct ovn_ip a = { .family = AF_INET };
	json_t *tags = json_object();

	memcpy(&a.v4, m->addr.ip, 4);
	for (size_t i = 0; i < ARRAY_SIZE(tag_keys); i++)
		if (gossip_tag_get(m->meta, m->meta_len, tag_keys[i], val, sizeof(val)) >= 0)
			json_object_set_new(tags, tag_keys[i], json_string(val));
	json_array_append_new(arg, json_pack("{s:s, s:s, s:i, s:s, s:I, s:o, s:i, s:b}",
					     "name", m->name, "address", ovn_ip_str(&a, ip),
					     "port", m->addr.port, "status", state_name(m->state),
					     "incarnation", (json_int_t)m->incarnation,
					     "tags", tags, "rtt_ms", m->rtt_ms, "self", m->is_self));
}

void cluster_members(struct cluster *c, netmgr_cb cb, void *arg)
{
	json_t *a = json_array();

	gossip_members_foreach(core(c), member_json, a);
	cb(0, NULL, a, arg);
	json_decref(a);
}

struct key_count {
	const char *fp;
	size_t have, primary, live;
};

static void count_key(void *arg, const struct gossip_member *m)
{
	struct key_count *k = arg;
	char tag[GOSSIP_KEYS_MAX * (FP_LEN + 2) + 1], *p;

	if (m->state != GOSSIP_ALIVE && m->state != GOSSIP_SUSPECT)
		return;
	k->live++;
	if (gossip_tag_get(m->meta, m->meta_len, "keys", tag, sizeof(tag)) < 0)
		return;
	p = strstr(tag, k->fp);
	if (!p)
		return;
	k->have++;
	k->primary += p == tag && p[FP_LEN] == '*';
}

static struct key_count key_count(struct cluster *c, const char *fp)
{
	struct key_count k = { .fp = fp };

	gossip_members_foreach(core(c), count_key, &k);
	return k;
}

void cluster_keys_list(struct cluster *c, netmgr_cb cb, void *arg)
{
	json_t *a = json_array();
	char fp[FP_LEN + 1];
	struct key_count k;

	for (size_t i = 0; i < c->n_keys; i++) {
		key_fp(c->keys[i], fp);
		k = key_count(c, fp);
		json_array_append_new(a, json_pack("{s:s, s:b, s:I, s:I, s:I}", "fingerprint", fp,
						   "primary", i == 0, "members", (json_int_t)k.have,
						   "primary_on", (json_int_t)k.primary,
						   "live", (json_int_t)k.live));
	}
	cb(0, NULL, a, arg);
	json_decref(a);
}

/* A key operation runs in two phases, each polled every 100 ms:
 *  pre:  wait (3 s at most) until the cluster allows it, as this host sees
 *        it: `use` needs the key on every live member, `remove` needs it
 *        primary on none. Another host's last step may not have reached
 *        this one's view yet, so a refusal waits a little first.
 *  post: applied here and sent; wait (5 s at most) until every live member
 *        shows it in its keys tag. */
static bool keyop_ready(struct cluster *c, const struct keyop *o, struct key_count *k)
{
	*k = key_count(c, o->fp);
	if (!strcmp(o->op, "use"))
		return k->have == k->live;
	if (!strcmp(o->op, "remove"))
		return k->primary == 0;
	return true;
}

static bool keyop_converged(struct cluster *c, const struct keyop *o, struct key_count *k)
{
	*k = key_count(c, o->fp);
	if (!strcmp(o->op, "install"))
		return k->have == k->live;
	if (!strcmp(o->op, "use"))
		return k->primary == k->live;
	return k->have == 0;
}

static void keyop_answer(struct keyop *o, int status, const struct key_count *k,
			 const char *why)
{
	struct ovn_err err = { 0 };
	size_t done = !strcmp(o->op, "install") ? k->have :
		      !strcmp(o->op, "use") ? k->primary : k->live - k->have;
	json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "op", o->op, "fingerprint", o->fp, "done",
			      (json_int_t)done, "live", (json_int_t)k->live);

	if (status == -EBUSY && !strcmp(o->op, "use"))
		ovn_err_set(&err, status, "key %s is installed on %zu of %zu live members: "
			    "install it everywhere first", o->fp, k->have, k->live);
	else if (status == -EBUSY)
		ovn_err_set(&err, status, "key %s is the primary key of %zu live member(s): use "
			    "another key first", o->fp, k->primary);
	else if (status < 0)
		ovn_err_set(&err, status, "key %s %s: %s (done on %zu of %zu live members)", o->op,
			    o->fp, why, done, k->live);
	o->cb(status, &err, j, o->arg);
	json_decref(j);
}

/* Apply o here and tell the cluster. */
static int keyop_apply(struct cluster *c, struct keyop *o, struct ovn_err *err)
{
	char b64[B64_KEY_LEN + 1];
	int r = key_apply(c, o->op, o->key);

	if (r < 0)
		return ovn_err_set(err, r, "key %s %s: %s", o->op, o->fp, strerror(-r));
	sodium_bin2base64(b64, sizeof(b64), o->key, GOSSIP_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	send_event(c, EV_KEY, json_pack("{s:s, s:s}", "op", o->op, "key", b64));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(o->key, sizeof(o->key));
	log_info("gossip: key %s %s (requested here)", o->op, o->fp);
	o->applied = true;
	o->deadline = uv_now(c->loop) + KEYOP_WAIT_MS;
	return 0;
}

static void keyop_free(struct keyop *o)
{
	sodium_memzero(o, sizeof(*o));
	free(o);
}

/* One step of o: true when it is finished (answered). */
static bool keyop_step(struct cluster *c, struct keyop *o, uint64_t now)
{
	struct ovn_err err = { 0 };
	struct key_count k;

	if (!o->applied) {
		if (!keyop_ready(c, o, &k)) {
			if (now < o->deadline)
				return false;
			keyop_answer(o, -EBUSY, &k, NULL);
			return true;
		}
		if (keyop_apply(c, o, &err) < 0) {
			o->cb(err.code, &err, NULL, o->arg);
			return true;
		}
	}
	if (keyop_converged(c, o, &k)) {
		keyop_answer(o, 0, &k, NULL);
		return true;
	}
	if (now < o->deadline)
		return false;
	keyop_answer(o, -ETIMEDOUT, &k, "not every member confirmed in time");
	return true;
}

static void keyops_poll(uv_timer_t *t)
{
	struct cluster *c = t->data;
	uint64_t now = uv_now(c->loop);
	struct keyop **pp = &c->ops, *o;

	while ((o = *pp)) {
		if (!keyop_step(c, o, now)) {
			pp = &o->next;
			continue;
		}
		*pp = o->next;
		keyop_free(o);
	}
	if (c->ops)
		uv_timer_start(c->timer, keyops_poll, KEYOP_POLL_MS, 0);
}

static void keyops_fail_all(struct cluster *c, int status, const char *why)
{
	struct key_count k;
	struct keyop *o;

	uv_timer_stop(c->timer);
	while ((o = c->ops)) {
		c->ops = o->next;
		k = key_count(c, o->fp);
		keyop_answer(o, status, &k, why);
		keyop_free(o);
	}
}

/* Form and existence; the cluster's state is keyop_ready's. */
static int keyop_check(struct cluster *c, struct keyop *o, const char *ks, struct ovn_err *err)
{
	int i;

	if (!c->cfg->gossip.keyring[0])
		return ovn_err_set(err, -EINVAL, "gossip runs without encryption (gossip.keyring "
				   "is not set): there is no keyring to change");
	if (!strcmp(o->op, "install")) {
		if (key_decode(ks, o->key) < 0)
			return ovn_err_set(err, -EINVAL, "key: expected 32 bytes in base64 (ovnctl "
					   "keys generate makes one)");
		if (key_find(c, ks) < 0 && c->n_keys == GOSSIP_KEYS_MAX)
			return ovn_err_set(err, -ENOSPC, "the keyring is full (%d keys): remove "
					   "one first", GOSSIP_KEYS_MAX);
		key_fp(o->key, o->fp);
		return 0;
	}
	if (strcmp(o->op, "use") && strcmp(o->op, "remove"))
		return ovn_err_set(err, -EINVAL, "op: expected install, use or remove");
	i = key_find(c, ks);
	if (i < 0)
		return ovn_err_set(err, -ENOENT, "no installed key %s", ks);
	memcpy(o->key, c->keys[i], GOSSIP_KEY_LEN);
	key_fp(o->key, o->fp);
	return 0;
}

void cluster_keys_op(struct cluster *c, const json_t *req, netmgr_cb cb, void *arg)
{
	const char *op = NULL, *ks = NULL;
	struct ovn_err err = { 0 };
	struct keyop *o;
	json_error_t je;
	int r;

	if (json_unpack_ex((json_t *)req, &je, JSON_STRICT, "{s:s, s:s}", "op", &op, "key",
			   &ks) < 0) {
		ovn_err_set(&err, -EINVAL, "request: %s", je.text);
		return cb(-EINVAL, &err, NULL, arg);
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		ovn_err_set(&err, -ENOMEM, "out of memory");
		return cb(-ENOMEM, &err, NULL, arg);
	}
	snprintf(o->op, sizeof(o->op), "%.7s", op);
	r = strlen(op) < sizeof(o->op) ? keyop_check(c, o, ks, &err) :
	    ovn_err_set(&err, -EINVAL, "op: expected install, use or remove");
	if (r < 0) {
		keyop_free(o);
		return cb(r, &err, NULL, arg);
	}
	o->deadline = uv_now(c->loop) + KEYOP_PRE_MS;
	o->cb = cb;
	o->arg = arg;
	o->next = c->ops;
	c->ops = o;
	keyops_poll(c->timer);
}

/* ---- metrics ------------------------------------------------------------ */

const struct gossip_stats *cluster_stats(const struct cluster *c)
{
	return gossip_stats(gossip_uv_core(c->gu));
}

size_t cluster_member_count(const struct cluster *c, enum gossip_state state)
{
	return gossip_member_count(gossip_uv_core(c->gu), 1u << state);
}

uint64_t cluster_events_oversize(const struct cluster *c)
{
	return c->oversize;
}
