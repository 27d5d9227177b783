/* dnsint.c: the embedded DNS wired into the agent (see dnsint.h).
 *
 * What it does:
 *  - Names. Every endpoint netmgr knows (local or remote, once committed)
 *    puts its name and aliases with its addresses into its network of the
 *    dns/ table (network id = VNI, zone = network name: "web" and
 *    "web.net1"). What was put in is remembered per endpoint id, so removal
 *    takes out exactly that, and a hook called twice does nothing twice.
 *  - Listeners. Each local container namespace (netns_id) gets one UDP and
 *    one TCP socket bound to dns.address:53 inside it (nsock.c), served
 *    with a view = the networks that namespace is attached to, in attach
 *    order; a view of internal networks only never forwards. The listener
 *    identifies the asker: nothing in the query is trusted for that.
 *  - Host listener (dns.host_address, for dockerd). A UDP and a TCP socket
 *    on that loopback address in the agent's own namespace, open while the
 *    transport runs, with a view of the networks of local Docker endpoints
 *    (in join order) that always forwards. dockerd's 127.0.0.11 dials it as
 *    its loopback upstream (docs/docker.md). An upstream equal to it is
 *    left out: forwarding to ourselves would loop.
 *  - resolv.conf. A namespace attached by name (/run/netns/NAME) gets
 *    /etc/netns/NAME/resolv.conf, which `ip netns exec NAME` mounts over
 *    /etc/resolv.conf. The file starts with a marker line; a file without it
 *    is never touched, and only a file with it is removed on the last
 *    detach (with the directory, when the marker says we created it).
 *  - Upstreams: dns.upstreams, or the host's /etc/resolv.conf nameservers,
 *    re-read on every reconcile (start, every 30 s, SIGHUP). A change
 *    restarts the dns_uv transport: its sockets are closed, and the
 *    container listeners reopened once the old ones are gone (a gap of one
 *    loop turn where queries are refused; upstream changes are rare).
 *    Upstreams the host has no route to are left out (dns_uv would refuse
 *    to start, taking the local names down too) until a reconcile finds
 *    them routable.
 *
 * Listeners pin their namespace (a socket holds a reference to it): a
 * namespace its owner deleted stays alive while we serve it, so dnsint, not
 * the veth vanishing, notices that it is gone (forget_dead).
 *
 * Restart: nothing is kept across an agent restart but the files; the
 * store load calls dnsint_ep_added for every endpoint again, which reopens
 * the listeners of the namespaces still alive and adopts the marked files.
 *
 * Does not: answer for a container whose namespace is attached by PID after
 * that process is gone (netmgr forgets it at the next reconcile); write
 * files for PID attaches; keep forwarding counters across an upstream
 * change (they restart at zero).
 * TODO: listeners on the container's IPv6 loopback; per-network SRV.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "dns.h"
#include "dnsint.h"
#include "log.h"
#include "netmgr_int.h"
#include "nsock.h"
#include "util.h"

#define VIEW_FIRST (1u << 24)		/* above every VNI: views never shadow a network */
#define VIEW_HOST VIEW_FIRST		/* the host listener's (dns.host_address) */
#define NS_NETS_MAX 64			/* dns_table_view_set's limit */
#define NETNS_ETC "/etc/netns"
#define RESOLV_MARK "# ovnagent: embedded DNS of this container, removed on its last detach"
#define RESOLV_DIR_MARK "# ovnagent: created this directory"
#define HOST_RESOLV "/etc/resolv.conf"

struct dns_ns;

/* What one endpoint put into the table. */
struct dns_ep {
	struct dns_ep *next;		/* hash chain */
	char id[NM_ID_LEN + 1];
	uint32_t net;			/* VNI */
	struct ovn_ip ips[2];
	int n_ips;
	struct dns_ns *ns;		/* local endpoints: their namespace */
	size_t names_len;
	char names[];			/* "name\0alias\0..." */
};

/* One local container namespace and its listeners. */
struct dns_ns {
	struct dns_ns *next;
	char netns_id[48];
	char *path;			/* owned */
	const char *name;		/* NAME of /run/netns/NAME, in path; "" = no file */
	uint32_t view;
	/* The networks it is on, in attach order, and per network its
	 * endpoints and whether it is internal; cap_nets grows to NS_NETS_MAX
	 * (most containers are on one or two). */
	uint32_t *nets;
	uint16_t *refs;
	bool *internal;
	size_t n_nets, cap_nets;
	struct dns_listener *udp, *tcp;
	bool resolv_ours;		/* the file is ours: remove it at the end */
	bool warned;			/* a listener failure was logged */
	bool dead;			/* its path no longer names it */
	bool foreign;			/* someone else's resolv.conf is there (logged) */
};

struct dnsint {
	uv_loop_t *loop;
	const struct cfg *cfg;
	struct dns_table *t;
	struct dns_uv *u;		/* NULL while restarting or after a failure */
	struct dns_uv_cfg ucfg;
	struct dns_ep **buckets;
	size_t nb, count;
	struct dns_ns *nss;
	struct dns_ns *host;		/* dns.host_address: for dockerd; NULL = none */
	uint32_t next_view;
	int closing;			/* dns_uv instances still closing */
	bool freeing;
};

/* ---- upstream addresses --------------------------------------------------- */

int dnsint_addr_parse(const char *s, struct sockaddr_storage *ss)
{
	char host[64];
	const char *port = NULL, *end;
	struct ovn_ip ip;
	unsigned long p = 53;
	char *pe;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		port = end[1] ? end + 2 : NULL;
		s++;
	} else {
		end = strchr(s, ':');
		if (end && strchr(end + 1, ':'))
			end = s + strlen(s);	/* a bare IPv6 address */
		else if (end)
			port = end + 1;
		else
			end = s + strlen(s);
	}
	if ((size_t)(end - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(end - s));
	host[end - s] = '\0';
	if (ovn_ip_parse(&ip, host) < 0)
		return -EINVAL;
	if (port) {
		p = strtoul(port, &pe, 10);
		if (!*port || *pe || p == 0 || p > 65535)
			return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	if (ip.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		memcpy(&in->sin_addr, ip.b, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		memcpy(&in6->sin6_addr, ip.b, 16);
	}
	return 0;
}

/* The "nameserver" lines of the host's resolv.conf, at most max. */
static unsigned int host_nameservers(struct sockaddr_storage *out, unsigned int max)
{
	char line[512], addr[128];
	unsigned int n = 0;
	FILE *f = fopen(HOST_RESOLV, "re");

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, " nameserver %127s", addr) == 1 &&
		    dnsint_addr_parse(addr, &out[n]) == 0)
			n++;
	fclose(f);
	return n;
}

/* An upstream the host has no route to (at boot, or on a host with no
 * default route) would make dns_uv_new fail and take the local names down
 * with it; such an upstream is left out until a reconcile finds it
 * reachable (the set then differs and the transport restarts). */
static bool upstream_routable(const struct sockaddr_storage *ss)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (const struct sockaddr *)ss, len) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Keep the routable upstreams of u[0..n); returns how many. */
static unsigned int upstreams_routable(struct sockaddr_storage *u, unsigned int n)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++)
		if (upstream_routable(&u[i]))
			u[k++] = u[i];
	memset(&u[k], 0, (DNS_MAX_UPSTREAMS - k) * sizeof(u[0]));
	return k;
}

/* dockerd's resolv.conf names the host listener, and the agent usually
 * reads the same file: forwarding to it would loop. Returns how many of
 * u[0..n) are kept. */
static unsigned int upstreams_not_self(const struct cfg *c, struct sockaddr_storage *u,
				       unsigned int n)
{
	const struct ovn_ip *self = &c->dns.host_address;
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&u[i];

		if (self->family && in->sin_family == AF_INET && in->sin_port == htons(53) &&
		    !memcmp(&in->sin_addr, self->b, 4))
			continue;
		u[k++] = u[i];
	}
	memset(&u[k], 0, (DNS_MAX_UPSTREAMS - k) * sizeof(u[0]));
	return k;
}

/* The upstreams the configuration asks for now, into ucfg; *dropped gets
 * how many were left out as unroutable. */
static void upstreams_load(const struct cfg *c, struct dns_uv_cfg *ucfg, unsigned int *dropped)
{
	const struct cfg_strlist *l = &c->dns.upstreams;
	unsigned int n = 0, k;

	memset(ucfg->upstreams, 0, sizeof(ucfg->upstreams));
	if (l->n == 0) {
		n = host_nameservers(ucfg->upstreams, DNS_MAX_UPSTREAMS);
	} else {
		for (unsigned int i = 0; i < l->n && n < DNS_MAX_UPSTREAMS; i++)
			if (dnsint_addr_parse(l->v[i], &ucfg->upstreams[n]) == 0)
				n++;
	}
	n = upstreams_not_self(c, ucfg->upstreams, n);
	k = upstreams_routable(ucfg->upstreams, n);
	*dropped = n - k;
	ucfg->server.n_upstreams = k;
}

/* ---- endpoints: what each put in the table -------------------------------- */

static size_t id_hash(const char *id, size_t nb)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*id)
		h = (h ^ (uint8_t)*id++) * 1099511628211ULL;
	return (size_t)h & (nb - 1);
}

static struct dns_ep *dep_find(struct dnsint *d, const char *id)
{
	for (struct dns_ep *x = d->buckets[id_hash(id, d->nb)]; x; x = x->next)
		if (!strcmp(x->id, id))
			return x;
	return NULL;
}

/* Double the buckets when the chains grow past one entry on average. */
static void dep_grow(struct dnsint *d)
{
	size_t nb = d->nb * 2;
	struct dns_ep **b = calloc(nb, sizeof(*b));

	if (!b)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < d->nb; i++)
		for (struct dns_ep *x = d->buckets[i], *next; x; x = next) {
			next = x->next;
			x->next = b[id_hash(x->id, nb)];
			b[id_hash(x->id, nb)] = x;
		}
	free(d->buckets);
	d->buckets = b;
	d->nb = nb;
}

static void dep_link(struct dnsint *d, struct dns_ep *x)
{
	struct dns_ep **head;

	if (d->count >= d->nb)
		dep_grow(d);
	head = &d->buckets[id_hash(x->id, d->nb)];
	x->next = *head;
	*head = x;
	d->count++;
}

static void dep_unlink(struct dnsint *d, struct dns_ep *x)
{
	for (struct dns_ep **pp = &d->buckets[id_hash(x->id, d->nb)]; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			d->count--;
			return;
		}
}

/* Copy e's names and addresses. */
static struct dns_ep *dep_new(const struct ep *e)
{
	const struct nm_endpoint *r = &e->rec;
	size_t len = r->name[0] ? strlen(r->name) + 1 : 0, i;
	struct dns_ep *x;
	json_t *a;
	char *p;

	json_array_foreach(r->aliases, i, a)
		if (json_is_string(a))
			len += strlen(json_string_value(a)) + 1;
	x = calloc(1, sizeof(*x) + len);
	if (!x)
		return NULL;
	memcpy(x->id, r->id, sizeof(x->id));
	x->net = e->net->rec.vni;
	if (r->ipv4.ip.family)
		x->ips[x->n_ips++] = r->ipv4.ip;
	if (r->ipv6.ip.family)
		x->ips[x->n_ips++] = r->ipv6.ip;
	p = x->names;
	if (r->name[0])
		p = stpcpy(p, r->name) + 1;	/* first: its PTR answer */
	json_array_foreach(r->aliases, i, a)
		if (json_is_string(a))
			p = stpcpy(p, json_string_value(a)) + 1;
	x->names_len = len;
	return x;
}

static void dep_apply(struct dnsint *d, const struct dns_ep *x, bool add)
{
	for (const char *nm = x->names; nm < x->names + x->names_len; nm += strlen(nm) + 1)
		for (int i = 0; i < x->n_ips; i++) {
			int r = add ? dns_table_add(d->t, x->net, nm, &x->ips[i])
				    : dns_table_del(d->t, x->net, nm, &x->ips[i]);

			if (r < 0)
				log_warn("dns: endpoint %s: %s name '%s': %s", x->id,
					 add ? "adding" : "removing", nm, strerror(-r));
		}
}

/* ---- resolv.conf of containers attached by name ---------------------------- */

/* NAME when path is /run/netns/NAME (what `ip netns exec NAME` reads
 * /etc/netns/NAME for), else "". */
static const char *netns_name_of(const char *path)
{
	static const char *const dirs[] = { "/run/netns/", "/var/run/netns/" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		const char *n = path + strlen(dirs[i]);

		if (!strncmp(path, dirs[i], strlen(dirs[i])) && *n && !strchr(n, '/') &&
		    strcmp(n, ".") && strcmp(n, ".."))
			return n;
	}
	return "";
}

/* 1 when the file starts with our marker (and *dir_ours says whether the
 * directory is ours too), 0 when it is someone else's, -errno. */
static int resolv_is_ours(const char *file, bool *dir_ours)
{
	char line[256];
	int ours = 0;
	FILE *f = fopen(file, "re");

	if (!f)
		return -errno;
	*dir_ours = false;
	if (fgets(line, sizeof(line), f) && !strncmp(line, RESOLV_MARK, strlen(RESOLV_MARK)))
		ours = 1;
	while (ours && fgets(line, sizeof(line), f))
		if (!strncmp(line, RESOLV_DIR_MARK, strlen(RESOLV_DIR_MARK)))
			*dir_ours = true;
	fclose(f);
	return ours;
}

/* Create /etc/netns/NAME/resolv.conf unless a file is there (O_EXCL: we
 * never overwrite one); a file with our marker is adopted (agent restart).
 * Run again by every reconcile: it puts back a file removed meanwhile. */
static void resolv_write(struct dnsint *d, struct dns_ns *ns)
{
	char dir[300], file[320], addr[OVN_IP_STRLEN], buf[512];
	bool dir_made, dir_ours;
	int fd, n;

	if (!ns->name[0])
		return;
	snprintf(dir, sizeof(dir), NETNS_ETC "/%s", ns->name);
	snprintf(file, sizeof(file), "%s/resolv.conf", dir);
	if (mkdir(NETNS_ETC, 0755) < 0 && errno != EEXIST)
		goto fail;
	dir_made = mkdir(dir, 0755) == 0;
	if (!dir_made && errno != EEXIST)
		goto fail;
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		ns->resolv_ours = resolv_is_ours(file, &dir_ours) == 1;
		if (!ns->resolv_ours && !ns->foreign)
			log_info("dns: %s exists and is not ovnagent's: left as it is", file);
		ns->foreign = !ns->resolv_ours;
		return;
	}
	if (fd < 0)
		goto fail;
	n = snprintf(buf, sizeof(buf), RESOLV_MARK "\n%snameserver %s\noptions ndots:0\n",
		     dir_made ? RESOLV_DIR_MARK "\n" : "", ovn_ip_str(&d->cfg->dns.address, addr));
	if (write(fd, buf, (size_t)n) != n) {
		log_warn("dns: writing %s: %s", file, strerror(errno));
		close(fd);
		unlink(file);
		if (dir_made)
			rmdir(dir);
		return;
	}
	close(fd);
	ns->resolv_ours = true;
	log_debug("dns: wrote %s", file);
	return;
fail:
	log_warn("dns: creating %s: %s", file, strerror(errno));
}

static void resolv_remove(struct dns_ns *ns)
{
	char dir[300], file[320];
	bool dir_ours = false;

	if (!ns->resolv_ours)
		return;
	snprintf(dir, sizeof(dir), NETNS_ETC "/%s", ns->name);
	snprintf(file, sizeof(file), "%s/resolv.conf", dir);
	/* Checked again: someone may have replaced it since. */
	if (resolv_is_ours(file, &dir_ours) != 1)
		return;
	if (unlink(file) < 0)
		log_warn("dns: removing %s: %s", file, strerror(errno));
	if (dir_ours && rmdir(dir) < 0 && errno != ENOTEMPTY)
		log_warn("dns: removing %s: %s", dir, strerror(errno));
	ns->resolv_ours = false;
}

/* ---- container namespaces and their listeners ------------------------------ */

/* The host listener: UDP and TCP on dns.host_address:53 in the agent's own
 * namespace (dockerd's), serving the networks of local Docker endpoints.
 * Open while the transport runs, networks or not: dockerd sends it every
 * name its own resolver does not know, and the rest goes upstream. */
static void host_listen(struct dnsint *d, struct dns_ns *ns)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct ovn_err err = { 0 };

	if (!d->u || ns->udp)
		return;
	memcpy(&sa.sin_addr, d->cfg->dns.host_address.b, 4);
	ns->udp = dns_uv_listen_addr(d->u, ns->view, (struct sockaddr *)&sa, DNS_UDP, NULL, &err);
	if (ns->udp)
		ns->tcp = dns_uv_listen_addr(d->u, ns->view, (struct sockaddr *)&sa, DNS_TCP, NULL,
					     &err);
	if (!ns->udp || !ns->tcp) {
		if (ns->udp)
			dns_uv_listener_close(ns->udp);
		ns->udp = ns->tcp = NULL;
		if (!ns->warned)
			log_warn("dns: no host listener on %s: %s (reconcile retries)", ns->path,
				 err.msg);
		ns->warned = true;
		return;
	}
	ns->warned = false;
	log_info("dns: host listener on %s", ns->path);
}

/* Open the UDP and TCP sockets inside ns and serve its view on them. Failures
 * are logged once and retried by dnsint_reconcile. */
static void ns_listen(struct dnsint *d, struct dns_ns *ns)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct nsock_spec specs[2] = {
		{ AF_INET, SOCK_DGRAM, (struct sockaddr *)&sa, sizeof(sa) },
		{ AF_INET, SOCK_STREAM, (struct sockaddr *)&sa, sizeof(sa) },
	};
	struct ovn_err err = { 0 };
	char id[48] = "";
	int nsfd, fds[2];

	if (ns == d->host)
		return host_listen(d, ns);
	if (!d->u || ns->udp)
		return;
	memcpy(&sa.sin_addr, d->cfg->dns.address.b, 4);
	nsfd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		ovn_err_set(&err, -errno, "%s: %s", ns->path, strerror(errno));
		goto fail;
	}
	/* A path can outlive its namespace (a PID reused, a name recreated):
	 * serve only the namespace the endpoint was attached in. */
	if (netns_id_of(nsfd, id, sizeof(id)) < 0 || strcmp(id, ns->netns_id)) {
		close(nsfd);
		ovn_err_set(&err, -ESTALE, "%s is another namespace now", ns->path);
		goto fail;
	}
	if (nsock_open(nsfd, specs, 2, fds, &err) < 0) {
		close(nsfd);
		goto fail;
	}
	close(nsfd);
	ns->udp = dns_uv_listen_fd(d->u, ns->view, fds[0], DNS_UDP, &err);
	ns->tcp = dns_uv_listen_fd(d->u, ns->view, fds[1], DNS_TCP, &err);
	if (!ns->udp || !ns->tcp) {
		if (ns->udp)
			dns_uv_listener_close(ns->udp);
		if (ns->tcp)
			dns_uv_listener_close(ns->tcp);
		ns->udp = ns->tcp = NULL;
		goto fail;
	}
	ns->warned = false;
	log_debug("dns: serving %s (view %u, %zu networks)", ns->path, ns->view, ns->n_nets);
	resolv_write(d, ns);
	return;
fail:
	if (!ns->warned)
		log_warn("dns: no listener in %s: %s (reconcile retries)", ns->path, err.msg);
	ns->warned = true;
}

static void ns_view_update(struct dnsint *d, struct dns_ns *ns)
{
	unsigned int flags = DNS_VIEW_NO_FORWARD;
	int r;

	for (size_t i = 0; i < ns->n_nets; i++)
		if (!ns->internal[i])
			flags = 0;
	/* dockerd forwards for all its containers (and decides itself what an
	 * internal network's container may ask). */
	if (ns == d->host)
		flags = 0;
	r = dns_table_view_set(d->t, ns->view, ns->nets, ns->n_nets, flags);
	if (r < 0)
		log_warn("dns: view of %s: %s", ns->path, strerror(-r));
}

/* A marked file left from before a restart belongs to this namespace even
 * if it never gets a listener again (it died while the agent was down):
 * then forgetting its endpoints removes the file too. */
static void ns_adopt_file(struct dns_ns *ns)
{
	char file[320];
	bool dir_ours;

	if (!ns->name[0])
		return;
	snprintf(file, sizeof(file), NETNS_ETC "/%s/resolv.conf", ns->name);
	ns->resolv_ours = resolv_is_ours(file, &dir_ours) == 1;
}

static struct dns_ns *ns_get(struct dnsint *d, const struct ep *e)
{
	struct dns_ns *ns;

	for (ns = d->nss; ns; ns = ns->next)
		if (!strcmp(ns->netns_id, e->rec.netns_id))
			return ns;
	ns = calloc(1, sizeof(*ns));
	if (!ns || !(ns->path = strdup(e->rec.netns))) {
		free(ns);
		return NULL;
	}
	memcpy(ns->netns_id, e->rec.netns_id, sizeof(ns->netns_id));
	ns->name = netns_name_of(ns->path);
	ns_adopt_file(ns);
	ns->view = d->next_view++;
	if (d->next_view <= VIEW_HOST)
		d->next_view = VIEW_HOST + 1;	/* wrapped after 4 billion namespaces */
	ns->next = d->nss;
	d->nss = ns;
	return ns;
}

static void ns_mem_free(struct dns_ns *ns)
{
	if (!ns)
		return;
	free(ns->path);
	free(ns->nets);
	free(ns->refs);
	free(ns->internal);
	free(ns);
}

/* Room for one more network; false when full or out of memory. */
static bool ns_nets_room(struct dns_ns *ns)
{
	size_t cap = ns->cap_nets ? ns->cap_nets * 2 : 2;
	uint32_t *nets;
	uint16_t *refs;
	bool *internal;

	if (ns->n_nets < ns->cap_nets)
		return true;
	if (cap > NS_NETS_MAX)
		return false;
	nets = realloc(ns->nets, cap * sizeof(*nets));
	if (nets)
		ns->nets = nets;
	refs = realloc(ns->refs, cap * sizeof(*refs));
	if (refs)
		ns->refs = refs;
	internal = realloc(ns->internal, cap * sizeof(*internal));
	if (internal)
		ns->internal = internal;
	if (!nets || !refs || !internal)
		return false;
	ns->cap_nets = cap;
	return true;
}

static void ns_free(struct dnsint *d, struct dns_ns *ns)
{
	for (struct dns_ns **pp = &d->nss; *pp; pp = &(*pp)->next)
		if (*pp == ns) {
			*pp = ns->next;
			break;
		}
	dns_table_view_del(d->t, ns->view);
	if (ns->udp)
		dns_uv_listener_close(ns->udp);
	if (ns->tcp)
		dns_uv_listener_close(ns->tcp);
	resolv_remove(ns);
	log_debug("dns: stopped serving %s", ns->path);
	ns_mem_free(ns);
}

/* A local endpoint x (of e) joins its namespace's view. */
static void ns_join(struct dnsint *d, struct dns_ep *x, const struct ep *e)
{
	struct dns_ns *ns = e->rec.docker ? d->host : ns_get(d, e);
	size_t i;

	if (!ns) {
		log_warn("dns: endpoint %s: out of memory", x->id);
		return;
	}
	for (i = 0; i < ns->n_nets && ns->nets[i] != x->net; i++)
		;
	if (i == ns->n_nets && !ns_nets_room(ns)) {
		log_warn("dns: %s is on more than %d networks (or out of memory): %s is not "
			 "searched", ns->path, NS_NETS_MAX, e->net->rec.name);
	} else {
		if (i == ns->n_nets) {
			ns->nets[i] = x->net;
			ns->refs[i] = 0;
			ns->internal[i] = e->net->rec.internal;
			ns->n_nets++;
		}
		ns->refs[i]++;
	}
	x->ns = ns;
	ns_view_update(d, ns);
	ns_listen(d, ns);
}

static void ns_leave(struct dnsint *d, struct dns_ep *x)
{
	struct dns_ns *ns = x->ns;
	size_t i;

	x->ns = NULL;
	for (i = 0; i < ns->n_nets && ns->nets[i] != x->net; i++)
		;
	if (i < ns->n_nets && --ns->refs[i] == 0) {
		memmove(&ns->nets[i], &ns->nets[i + 1], (ns->n_nets - i - 1) * sizeof(ns->nets[0]));
		memmove(&ns->refs[i], &ns->refs[i + 1], (ns->n_nets - i - 1) * sizeof(ns->refs[0]));
		memmove(&ns->internal[i], &ns->internal[i + 1],
			(ns->n_nets - i - 1) * sizeof(ns->internal[0]));
		ns->n_nets--;
	}
	if (ns->n_nets == 0 && ns != d->host)
		ns_free(d, ns);
	else
		ns_view_update(d, ns);
}

/* ---- the transport and its lifetime --------------------------------------- */

static void maybe_free(struct dnsint *d)
{
	if (!d->freeing || d->closing)
		return;
	dns_table_free(d->t);
	free(d->buckets);
	ns_mem_free(d->host);
	free(d);
}

static void transport_start(struct dnsint *d)
{
	struct ovn_err err = { 0 };

	d->u = dns_uv_new(d->loop, d->t, &d->ucfg, &err);
	if (!d->u) {
		log_warn("%s (reconcile retries)", err.msg);
		return;
	}
	for (struct dns_ns *ns = d->nss; ns; ns = ns->next)
		ns_listen(d, ns);
	if (d->host)
		ns_listen(d, d->host);
}

static void uv_closed(void *arg)
{
	struct dnsint *d = arg;

	d->closing--;
	if (d->freeing)
		return maybe_free(d);
	if (!d->u && !d->closing)
		transport_start(d);
}

/* Close the transport; its listeners go with it. */
static void transport_stop(struct dnsint *d)
{
	if (!d->u)
		return;
	for (struct dns_ns *ns = d->nss; ns; ns = ns->next)
		ns->udp = ns->tcp = NULL;
	if (d->host)
		d->host->udp = d->host->tcp = NULL;
	d->closing++;
	dns_uv_close(TAKE_PTR(d->u), uv_closed, d);
}

static void upstreams_log(struct dnsint *d, unsigned int dropped)
{
	if (dropped)
		log_warn("dns: %u upstream resolver%s without a route from this host: left out "
			 "until reachable", dropped, dropped == 1 ? "" : "s");
	if (!d->ucfg.server.n_upstreams)
		log_warn("dns: no usable upstream resolver (dns.upstreams, else " HOST_RESOLV
			 "): names outside the networks get SERVFAIL");
}

static int host_new(struct dnsint *d)
{
	char addr[OVN_IP_STRLEN];

	d->host = calloc(1, sizeof(*d->host));
	if (!d->host || asprintf(&d->host->path, "%s:53",
				 ovn_ip_str(&d->cfg->dns.host_address, addr)) < 0) {
		free(d->host);
		d->host = NULL;
		return -ENOMEM;
	}
	d->host->name = "";
	d->host->view = VIEW_HOST;
	ns_view_update(d, d->host);
	return 0;
}

int dnsint_new(struct dnsint **out, uv_loop_t *loop, const struct cfg *cfg, struct ovn_err *err)
{
	struct dnsint *d;
	unsigned int dropped;

	*out = NULL;
	if (!cfg->dns.enabled)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ovn_err_set(err, -ENOMEM, "dns: out of memory");
	d->loop = loop;
	d->cfg = cfg;
	d->nb = 64;
	d->next_view = VIEW_HOST + 1;
	d->buckets = calloc(d->nb, sizeof(*d->buckets));
	d->t = dns_table_new();
	if (!d->buckets || !d->t) {
		dns_table_free(d->t);
		free(d->buckets);
		free(d);
		return ovn_err_set(err, -ENOMEM, "dns: out of memory");
	}
	d->ucfg.server.ttl = cfg->dns.ttl;
	if (cfg->dns.upstreams.n > DNS_MAX_UPSTREAMS)
		log_warn("dns.upstreams: only the first %d are used", DNS_MAX_UPSTREAMS);
	if (cfg->dns.host_address.family && host_new(d) < 0) {
		dns_table_free(d->t);
		free(d->buckets);
		free(d);
		return ovn_err_set(err, -ENOMEM, "dns: out of memory");
	}
	upstreams_load(cfg, &d->ucfg, &dropped);
	upstreams_log(d, dropped);
	transport_start(d);
	*out = d;
	return 0;
}

void dnsint_free(struct dnsint *d)
{
	if (!d)
		return;
	d->freeing = true;
	transport_stop(d);
	while (d->nss) {
		struct dns_ns *ns = d->nss;

		d->nss = ns->next;
		ns_mem_free(ns);	/* listeners closed with the transport; files stay */
	}
	for (size_t i = 0; i < d->nb; i++)
		for (struct dns_ep *x = d->buckets[i], *next; x; x = next) {
			next = x->next;
			free(x);
		}
	memset(d->buckets, 0, d->nb * sizeof(*d->buckets));
	maybe_free(d);
}

/* ---- hooks ------------------------------------------------------------------ */

void dnsint_ep_added(struct netmgr *nm, struct ep *e)
{
	struct dnsint *d = nm->dns;
	struct dns_ep *x;

	if (!d || e->pending || dep_find(d, e->rec.id))
		return;
	x = dep_new(e);
	if (!x) {
		log_warn("dns: endpoint %s: out of memory; its names are missing", e->rec.id);
		return;
	}
	dep_link(d, x);
	dep_apply(d, x, true);
	/* A Docker sandbox has dockerd's 127.0.0.11 already (docs/docker.md),
	 * which forwards what it does not know to the host listener. */
	if (e->local && (!e->rec.docker || d->host))
		ns_join(d, x, e);
}

static void dep_drop(struct dnsint *d, struct dns_ep *x, bool names)
{
	if (names)
		dep_apply(d, x, false);
	if (x->ns)
		ns_leave(d, x);
	dep_unlink(d, x);
	free(x);
}

void dnsint_ep_removed(struct netmgr *nm, struct ep *e)
{
	struct dnsint *d = nm->dns;
	struct dns_ep *x = d ? dep_find(d, e->rec.id) : NULL;

	if (x)
		dep_drop(d, x, true);
}

void dnsint_net_added(struct netmgr *nm, struct net *n)
{
	struct dnsint *d = nm->dns;

	if (!d)
		return;
	if (dns_table_net_set(d->t, n->rec.vni, n->rec.name) < 0) {
		log_warn("dns: network %s: not a DNS name; its names answer without suffix",
			 n->rec.name);
		dns_table_net_set(d->t, n->rec.vni, NULL);
	}
}

void dnsint_net_removed(struct netmgr *nm, struct net *n)
{
	struct dnsint *d = nm->dns;

	if (!d)
		return;
	for (size_t i = 0; i < d->nb; i++)
		for (struct dns_ep *x = d->buckets[i], *next; x; x = next) {
			next = x->next;
			if (x->net == n->rec.vni)
				dep_drop(d, x, false);	/* net_del takes the names */
		}
	dns_table_net_del(d->t, n->rec.vni);
}

/* Does ns->path still name the namespace we serve? Only a definite "no"
 * counts (the path is gone, or names another namespace): an fd shortage
 * says nothing about the container. */
static bool ns_gone(const struct dns_ns *ns)
{
	char id[48] = "";
	int fd = open(ns->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT;
	if (netns_id_of(fd, id, sizeof(id)) < 0)
		id[0] = '\0';
	close(fd);
	return id[0] && strcmp(id, ns->netns_id) != 0;
}

/* Our listeners pin their namespace: after its owner deleted it (ip netns
 * del, the container's process exited) it lives on, with its veth, as long
 * as they are open, so netmgr, which forgets an endpoint when its veth
 * vanishes, would never see it go. So the namespaces we pin are checked
 * here, and the endpoints of a dead one forgotten like netmgr would
 * (their records and addresses freed; the veth goes as an orphan in the
 * same reconcile pass). */
static void forget_dead(struct netmgr *nm, struct dnsint *d)
{
	char id[48];
	struct dns_ns *ns;

again:
	for (ns = d->nss; ns && (ns->dead || !ns_gone(ns)); ns = ns->next)
		;
	if (!ns)
		return;
	ns->dead = true;	/* its endpoints may be busy: do not look twice */
	memcpy(id, ns->netns_id, sizeof(id));
	for (struct net *n = nm->nets; n; n = n->next)
		for (struct ep *e = n->eps, *next; e; e = next) {
			next = e->next;
			if (e->local && !e->pending && !e->removing && !strcmp(e->rec.netns_id, id))
				ep_forget(nm, e, "its network namespace no longer exists");
		}
	goto again;	/* ns may have been freed */
}

void dnsint_reconcile(struct netmgr *nm)
{
	struct dnsint *d = nm->dns;
	struct dns_uv_cfg fresh;
	unsigned int dropped;

	if (!d)
		return;
	forget_dead(nm, d);
	fresh = d->ucfg;
	upstreams_load(d->cfg, &fresh, &dropped);
	if (fresh.server.n_upstreams != d->ucfg.server.n_upstreams ||
	    memcmp(fresh.upstreams, d->ucfg.upstreams, sizeof(fresh.upstreams))) {
		log_info("dns: upstream resolvers changed (%u now); restarting the transport",
			 fresh.server.n_upstreams);
		d->ucfg = fresh;
		upstreams_log(d, dropped);
		transport_stop(d);
	}
	if (!d->u && !d->closing)
		transport_start(d);
	for (struct dns_ns *ns = d->nss; ns; ns = ns->next) {
		if (ns->dead)
			continue;
		ns_listen(d, ns);
		if (ns->udp)
			resolv_write(d, ns);
	}
	if (d->host)
		ns_listen(d, d->host);
}

const struct dns_counters *dnsint_counters(const struct netmgr *nm)
{
	const struct dnsint *d = nm->dns;

	return d && d->u ? dns_server_counters(dns_uv_server(d->u)) : NULL;
}
