/* docker.c: the libnetwork remote network driver and IPAM driver (see
 * docker.h; the protocol as dockerd 20.10 speaks it is recorded in
 * docs/docker.md).
 *
 * What it does:
 *  - Serves Plugin.Activate, every NetworkDriver.* and IpamDriver.* call
 *    with agent/http.c on docker.socket (keep-alive: dockerd sends all its
 *    calls over one connection). Errors go out as HTTP 500 with the text in
 *    both "Err" (what NetworkDriver reads) and "Error" (what IpamDriver
 *    reads).
 *  - IPAM: PoolID is "ovn/<cidr>", derived from the subnet alone, so it
 *    needs no state and survives restarts. The gateway request is answered
 *    from the ovn network when it exists (its gateway, never held), else
 *    with the asked address or the first host address (CreateNetwork then
 *    creates the network with it). Container addresses are held in the
 *    store as /ipam/<net>/<ip> = {"docker": node, "created": time} from
 *    RequestAddress to ReleaseAddress; the endpoint record owns none.
 *  - CreateNetwork binds the Docker network to the ovn network named by
 *    -o ovn.network (created on first use with the label ovn.docker=created,
 *    else its subnets, gateway and internal flag must match). The binding
 *    /docker/networks/<NetworkID> = {"network", "node"} is in the store.
 *    DeleteNetwork drops the binding and removes the ovn network only when
 *    the plugin created it, no binding of any host is left and it has no
 *    endpoint.
 *  - CreateEndpoint checks and remembers the address and MAC (answering
 *    02:42+IPv4 when Docker gave none) and Docker's -p port map (decoded by
 *    docker_portmap_parse, checked as an attach's "publish" so that
 *    `docker run` shows a refusal); Join makes the ovn endpoint
 *    (netmgr_attach_docker) and answers SrcName dk-<id12>; DeleteEndpoint
 *    detaches it (deleting the veth wherever dockerd left its other end).
 *    Leave does nothing: dockerd moves the interface back after Leave, and
 *    deleting it before would make that move fail.
 *  - A sweep every minute deletes this node's reservations older than
 *    docker.reservation_ttl that no endpoint uses (Docker died between
 *    RequestAddress and Join, or lost its state).
 *
 *  - Names: dockerd never sends the container's name to drivers; with
 *    docker.api set, docker_names.c asks dockerd for it after each Join.
 *
 * Does not: support --ip-range (SubPool), --aux-address on a network not
 * yet created, IPAM without --subnet, Swarm (global scope), or -p without a
 * host port or with a host port range (the API cannot report a port the
 * driver chose).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define SWEEP_MS 60000

/* A Docker network bound to an ovn network on this host. */
struct binding {
	char nid[DOCKER_ID_LEN + 1];
	char network[NM_NAME_MAX + 1];
	struct binding *next;
};

/* Between CreateEndpoint and Join: what only CreateEndpoint says. */
struct pending_ep {
	char eid[DOCKER_ID_LEN + 1];
	char network[NM_NAME_MAX + 1];
	struct ovn_prefix ipv4, ipv6;
	struct ovn_mac mac;
	int n_publish;			/* Docker's -p, from CreateEndpoint */
	struct nm_publish *publish;	/* owned */
	struct pending_ep *next;
};

struct docker {
	uv_loop_t *loop;
	const struct cfg *cfg;
	struct netmgr *nm;
	struct kv *kv;
	struct http_server *http;
	struct binding *binds;
	struct pending_ep *pending;
	uv_timer_t *sweep;
	struct docker_names *names;	/* NULL: docker.api unset */
	int n_binds;
	bool loading, closing;
	void (*closed_cb)(void *arg);
	void *closed_arg;
};

/* ---- codecs ---------------------------------------------------------------- */

char *docker_error_body(const char *msg)
{
	json_t *j = json_pack("{s:s, s:s}", "Err", msg, "Error", msg);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

bool docker_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == DOCKER_ID_LEN;
}

static int cidr_parse(const char *s, struct ovn_prefix *p, const char *what,
		      struct ovn_err *err)
{
	if (ovn_prefix_parse(p, s, true) < 0 || !ovn_prefix_is_network(p))
		return ovn_err_set(err, -EINVAL, "%s: '%s' is not a network address in CIDR "
				   "form (like 198.19.1.0/24)", what, s);
	return 0;
}

int docker_pool_id_parse(const char *pool_id, struct ovn_prefix *p, struct ovn_err *err)
{
	size_t n = strlen(DOCKER_POOL_PREFIX);

	if (!pool_id || strncmp(pool_id, DOCKER_POOL_PREFIX, n))
		return ovn_err_set(err, -EINVAL, "unknown PoolID '%s': ovn's pools are "
				   "'" DOCKER_POOL_PREFIX "<cidr>'", pool_id ? pool_id : "");
	return cidr_parse(pool_id + n, p, "PoolID", err);
}

void docker_pool_id_format(const struct ovn_prefix *p, char *buf, size_t size)
{
	char s[OVN_PREFIX_STRLEN];

	snprintf(buf, size, DOCKER_POOL_PREFIX "%s", ovn_prefix_str(p, s));
}

/* A string member: required or not; "" when absent or null. */
static int get_s(const json_t *j, const char *key, bool required, const char **out,
		 struct ovn_err *err)
{
	json_t *v = json_object_get(j, key);

	*out = "";
	if ((!v || json_is_null(v)) && !required)
		return 0;
	if (!json_is_string(v) || (required && !json_string_length(v)))
		return ovn_err_set(err, -EINVAL, "%s: %s", key, v ? "not a non-empty string" :
				   "missing");
	*out = json_string_value(v);
	return 0;
}

static int get_id(const json_t *j, const char *key, char out[DOCKER_ID_LEN + 1],
		  struct ovn_err *err)
{
	const char *s;
	int r = get_s(j, key, true, &s, err);

	if (r < 0)
		return r;
	if (!docker_id_ok(s))
		return ovn_err_set(err, -EINVAL, "%s: '%.80s' is not a Docker ID (64 hex digits)",
				   key, s);
	memcpy(out, s, DOCKER_ID_LEN + 1);
	return 0;
}

/* One IPAMData: {"Pool": cidr, "Gateway": "ip/len"?, ...}. */
static int ipam_data_parse(const json_t *j, int family, struct nm_subnet *s,
			   struct ovn_err *err)
{
	struct ovn_prefix gw;
	const char *v;
	int r;

	if (!json_is_object(j))
		return ovn_err_set(err, -EINVAL, "IPAMData: not an object");
	if ((r = get_s(j, "Pool", true, &v, err)) < 0 || (r = cidr_parse(v, &s->prefix, "Pool",
									  err)) < 0)
		return r;
	if (s->prefix.ip.family != family)
		return ovn_err_set(err, -EINVAL, "Pool %s: wrong address family", v);
	if ((r = get_s(j, "Gateway", false, &v, err)) < 0)
		return r;
	if (v[0] && (ovn_prefix_parse(&gw, v, false) < 0 ||
		     !ovn_prefix_contains(&s->prefix, &gw.ip)))
		return ovn_err_set(err, -EINVAL, "Gateway '%s' is not an address of %s", v,
				   json_string_value(json_object_get(j, "Pool")));
	if (v[0])
		s->gateway = gw.ip;
	if (json_object_size(json_object_get(j, "AuxAddresses")))
		return ovn_err_set(err, -EINVAL, "--aux-address is not supported by ovn");
	return 0;
}

static int ipam_list_parse(const json_t *j, const char *key, int family,
			   struct docker_create_req *r, struct ovn_err *err)
{
	json_t *a = json_object_get(j, key);

	if (!a || json_is_null(a) || (json_is_array(a) && !json_array_size(a)))
		return 0;
	if (!json_is_array(a))
		return ovn_err_set(err, -EINVAL, "%s: not an array", key);
	if (json_array_size(a) > 1)
		return ovn_err_set(err, -EINVAL, "%s: ovn networks have one subnet per family",
				   key);
	return ipam_data_parse(json_array_get(a, 0), family, &r->subnets[r->n_subnets++], err);
}

int docker_create_req_parse(const json_t *j, struct docker_create_req *r, struct ovn_err *err)
{
	json_t *opts, *gen, *v;
	const char *name;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j))
		return ovn_err_set(err, -EINVAL, "request body is not a JSON object");
	if ((rc = get_id(j, "NetworkID", r->network_id, err)) < 0)
		return rc;
	opts = json_object_get(j, "Options");
	gen = json_object_get(opts, "com.docker.network.generic");
	if ((rc = get_s(gen, DOCKER_NET_OPT, false, &name, err)) < 0)
		return rc;
	if (!name[0])
		return ovn_err_set(err, -EINVAL, "missing -o " DOCKER_NET_OPT "=NAME: the ovn "
				   "network this Docker network joins");
	if (!model_network_name_ok(name))
		return ovn_err_set(err, -EINVAL, DOCKER_NET_OPT " '%.80s': 1-64 characters of "
				   "[A-Za-z0-9_.-], starting with a letter or digit", name);
	snprintf(r->name, sizeof(r->name), "%s", name);
	v = json_object_get(opts, "com.docker.network.internal");
	r->internal = json_is_true(v);
	v = json_object_get(opts, "com.docker.network.enable_ipv6");
	r->ipv6 = json_is_true(v);
	if ((rc = ipam_list_parse(j, "IPv4Data", AF_INET, r, err)) < 0 ||
	    (rc = ipam_list_parse(j, "IPv6Data", AF_INET6, r, err)) < 0)
		return rc;
	if (!r->n_subnets)
		return ovn_err_set(err, -EINVAL, "no subnet: use --ipam-driver ovn --subnet CIDR");
	return 0;
}

static int iface_parse(const json_t *j, struct docker_ep_req *r, struct ovn_err *err)
{
	const char *v;
	int rc;

	if (!j || json_is_null(j))
		return 0;
	if ((rc = get_s(j, "Address", false, &v, err)) < 0)
		return rc;
	if (v[0] && (ovn_prefix_parse(&r->ipv4, v, true) < 0 || r->ipv4.ip.family != AF_INET))
		return ovn_err_set(err, -EINVAL, "Interface.Address '%.60s' is not IPv4/len", v);
	if ((rc = get_s(j, "AddressIPv6", false, &v, err)) < 0)
		return rc;
	if (v[0] && (ovn_prefix_parse(&r->ipv6, v, true) < 0 || r->ipv6.ip.family != AF_INET6))
		return ovn_err_set(err, -EINVAL, "Interface.AddressIPv6 '%.60s' is not IPv6/len",
				   v);
	if ((rc = get_s(j, "MacAddress", false, &v, err)) < 0)
		return rc;
	if (v[0] && ovn_mac_parse(&r->mac, v, true) < 0)
		return ovn_err_set(err, -EINVAL, "Interface.MacAddress '%.40s' is not a unicast "
				   "MAC", v);
	r->has_mac = v[0];
	return 0;
}

int docker_ep_req_parse(const json_t *j, bool want_sandbox, struct docker_ep_req *r,
			struct ovn_err *err)
{
	const char *v;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j))
		return ovn_err_set(err, -EINVAL, "request body is not a JSON object");
	if ((rc = get_id(j, "NetworkID", r->network_id, err)) < 0 ||
	    (rc = get_id(j, "EndpointID", r->endpoint_id, err)) < 0 ||
	    (rc = iface_parse(json_object_get(j, "Interface"), r, err)) < 0)
		return rc;
	if (!want_sandbox)
		return 0;
	if ((rc = get_s(j, "SandboxKey", true, &v, err)) < 0)
		return rc;
	if (v[0] != '/' || strlen(v) >= sizeof(r->sandbox))
		return ovn_err_set(err, -EINVAL, "SandboxKey '%.80s' is not an absolute path", v);
	snprintf(r->sandbox, sizeof(r->sandbox), "%s", v);
	return 0;
}

#define PORTMAP_OPT "com.docker.network.portmap"

/* An integer member in [0, 65535]; 0 when absent or null. */
static int get_u16(const json_t *j, const char *key, size_t i, unsigned *out,
		   struct ovn_err *err)
{
	json_t *v = json_object_get(j, key);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535)
		return ovn_err_set(err, -EINVAL, "%s[%zu].%s: not an integer from 0 to 65535",
				   PORTMAP_OPT, i, key);
	*out = (unsigned)json_integer_value(v);
	return 0;
}

/* One entry -> p. "IP" (the container's address) is ignored: the endpoint
 * has its own addresses, and dockerd leaves it empty here anyway. */
static int portmap_entry(const json_t *j, size_t i, struct nm_publish *p, struct ovn_err *err)
{
	unsigned proto, port, host_port, end;
	const char *hip;
	json_t *v;
	int r;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(j))
		return ovn_err_set(err, -EINVAL, "%s[%zu]: not an object", PORTMAP_OPT, i);
	if ((r = get_u16(j, "Proto", i, &proto, err)) < 0 ||
	    (r = get_u16(j, "Port", i, &port, err)) < 0 ||
	    (r = get_u16(j, "HostPort", i, &host_port, err)) < 0 ||
	    (r = get_u16(j, "HostPortEnd", i, &end, err)) < 0)
		return r;
	v = json_object_get(j, "HostIP");
	if (v && !json_is_null(v) && !json_is_string(v))
		return ovn_err_set(err, -EINVAL, "%s[%zu].HostIP: not a string", PORTMAP_OPT, i);
	hip = json_is_string(v) ? json_string_value(v) : "";
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return ovn_err_set(err, -EINVAL, "published port %u: protocol %u is not supported "
				   "by the ovn driver (only tcp and udp)", port, proto);
	if (!port)
		return ovn_err_set(err, -EINVAL, "%s[%zu]: no container Port", PORTMAP_OPT, i);
	/* Docker's own driver picks a free host port for "-p 80" and for a
	 * range; ours would have to tell dockerd which one it took, and the
	 * remote driver API has no answer field for that. */
	if (!host_port)
		return ovn_err_set(err, -EINVAL, "published port %u: the ovn driver does not "
				   "choose host ports; give one: -p HOST_PORT:%u", port, port);
	if (end && end != host_port)
		return ovn_err_set(err, -EINVAL, "published port %u: host port ranges (%u-%u) "
				   "are not supported by the ovn driver; give one host port: "
				   "-p HOST_PORT:%u", port, host_port, end, port);
	p->proto = (uint8_t)proto;
	p->port = (uint16_t)port;
	p->host_port = (uint16_t)host_port;
	if (hip[0] && ovn_ip_parse(&p->host_ip, hip) < 0)
		return ovn_err_set(err, -EINVAL, "published port %u: HostIP '%.60s' is not an IP "
				   "address", port, hip);
	for (int k = 0; k < ovn_ip_bytes(&p->host_ip); k++)
		if (p->host_ip.b[k])
			return 0;
	memset(&p->host_ip, 0, sizeof(p->host_ip));	/* "", 0.0.0.0, :: */
	return 0;
}

static bool publish_same(const struct nm_publish *a, const struct nm_publish *b)
{
	return a->proto == b->proto && a->host_port == b->host_port && a->port == b->port &&
	       a->host_ip.family == b->host_ip.family &&
	       (!a->host_ip.family || ovn_ip_equal(&a->host_ip, &b->host_ip));
}

/* Append p to list unless an equal entry is there; a clashing one is an
 * error (the same host port cannot lead to two container ports). */
static int portmap_add(struct nm_publish *list, int *n, const struct nm_publish *p,
		       struct ovn_err *err)
{
	char a[NM_PUBLISH_STRLEN], b[NM_PUBLISH_STRLEN];

	for (int k = 0; k < *n; k++) {
		if (publish_same(&list[k], p))
			return 0;
		if (model_publish_clash(&list[k], p))
			return ovn_err_set(err, -EINVAL, "published ports %s and %s use the same "
					   "host port", model_publish_str(&list[k], a),
					   model_publish_str(p, b));
	}
	list[(*n)++] = *p;
	return 0;
}

int docker_portmap_parse(const json_t *options, struct nm_publish **out, int *n,
			 struct ovn_err *err)
{
	json_t *v = json_is_object(options) ? json_object_get(options, PORTMAP_OPT) : NULL;
	struct nm_publish *list = NULL, p;
	size_t i;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (options && !json_is_null(options) && !json_is_object(options))
		return ovn_err_set(err, -EINVAL, "Options: not an object");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return ovn_err_set(err, -EINVAL, "%s: not an array", PORTMAP_OPT);
	if (json_array_size(v) > NM_PUBLISH_MAX)
		return ovn_err_set(err, -EINVAL, "at most %d published ports per container",
				   NM_PUBLISH_MAX);
	if (!json_array_size(v))
		return 0;
	list = calloc(json_array_size(v), sizeof(*list));
	if (!list)
		return ovn_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < json_array_size(v) && r == 0; i++) {
		r = portmap_entry(json_array_get(v, i), i, &p, err);
		if (r == 0)
			r = portmap_add(list, n, &p, err);
	}
	if (r < 0) {
		free(list);
		*n = 0;
		return r;
	}
	*out = list;
	return 0;
}

int docker_pool_req_parse(const json_t *j, struct docker_pool_req *r, struct ovn_err *err)
{
	const char *v;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j))
		return ovn_err_set(err, -EINVAL, "request body is not a JSON object");
	r->v6 = json_is_true(json_object_get(j, "V6"));
	if ((rc = get_s(j, "SubPool", false, &v, err)) < 0)
		return rc;
	if (v[0])
		return ovn_err_set(err, -EINVAL, "--ip-range is not supported by ovn: addresses "
				   "come from the whole subnet");
	if ((rc = get_s(j, "Pool", false, &v, err)) < 0)
		return rc;
	if (!v[0])
		return ovn_err_set(err, -EINVAL, "no subnet: give --subnet (the same on every "
				   "host)");
	if ((rc = cidr_parse(v, &r->pool, "Pool", err)) < 0)
		return rc;
	if ((r->pool.ip.family == AF_INET6) != r->v6)
		return ovn_err_set(err, -EINVAL, "Pool %s: wrong address family", v);
	return 0;
}

int docker_addr_req_parse(const json_t *j, bool release, struct docker_addr_req *r,
			  struct ovn_err *err)
{
	const char *v, *pool;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j))
		return ovn_err_set(err, -EINVAL, "request body is not a JSON object");
	if ((rc = get_s(j, "PoolID", true, &pool, err)) < 0 ||
	    (rc = docker_pool_id_parse(pool, &r->pool, err)) < 0 ||
	    (rc = get_s(j, "Address", release, &v, err)) < 0)
		return rc;
	if (v[0] && (ovn_ip_parse(&r->addr, v) < 0 || !ovn_prefix_contains(&r->pool, &r->addr)))
		return ovn_err_set(err, -EINVAL, "Address '%.60s' is not an address of %s", v,
				   pool + strlen(DOCKER_POOL_PREFIX));
	v = json_string_value(json_object_get(json_object_get(j, "Options"),
					      "RequestAddressType"));
	r->gateway = v && !strcmp(v, "com.docker.network.gateway");
	return 0;
}

json_t *docker_join_answer(const char *src_name, const struct ovn_ip *gw4,
			   const struct ovn_ip *gw6, bool internal)
{
	char s[OVN_IP_STRLEN];
	json_t *j = json_pack("{s:{s:s, s:s}}", "InterfaceName", "SrcName", src_name,
			      "DstPrefix", "eth");

	if (!j)
		return NULL;
	if (internal) {
		/* No gateway and no docker_gwbridge: nothing leaves the network. */
		json_object_set_new(j, "DisableGatewayService", json_true());
		return j;
	}
	if (gw4 && gw4->family)
		json_object_set_new(j, "Gateway", json_string(ovn_ip_str(gw4, s)));
	if (gw6 && gw6->family)
		json_object_set_new(j, "GatewayIPv6", json_string(ovn_ip_str(gw6, s)));
	return j;
}

/* ---- replies ---------------------------------------------------------------- */

static void reply_json(struct http_req *req, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s)
		return http_reply(req, 500, NULL, "{\"Err\":\"out of memory\",\"Error\":\"out of "
				  "memory\"}", 45);
	http_reply(req, 200, NULL, s, strlen(s));
	free(s);
}

static void reply_ok(struct http_req *req)
{
	http_reply(req, 200, NULL, "{}", 2);
}

/* HTTP 500 with the text in both fields: the one form every dockerd
 * interface reads as "failed, because msg". */
static void reply_err(struct http_req *req, const char *msg)
{
	char *s = docker_error_body(msg);

	log_info("docker: %s: %s", req->path, msg);
	if (!s)
		return http_reply(req, 500, NULL, "{}", 2);
	http_reply(req, 500, NULL, s, strlen(s));
	free(s);
}

/* Parse the body; NULL after answering when it is not JSON. */
static json_t *body_json(struct http_req *req)
{
	json_error_t je;
	json_t *j;

	if (!req->body_len)
		return json_object();
	j = json_loadb(req->body, req->body_len, 0, &je);
	if (!j) {
		char m[256];

		snprintf(m, sizeof(m), "malformed JSON: %s (line %d, column %d)", je.text,
			 je.line, je.column);
		reply_err(req, m);
	}
	return j;
}

/* netmgr answers come here; req->user is unused. */
static void nm_reply_ok(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	(void)result;
	if (status < 0)
		return reply_err(arg, err->msg);
	reply_ok(arg);
}

/* ---- bindings ---------------------------------------------------------------- */

static struct binding *bind_find(struct docker *d, const char *nid)
{
	for (struct binding *b = d->binds; b; b = b->next)
		if (!strcmp(b->nid, nid))
			return b;
	return NULL;
}

static int bind_add(struct docker *d, const char *nid, const char *network)
{
	struct binding *b = bind_find(d, nid);

	if (b)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	snprintf(b->nid, sizeof(b->nid), "%s", nid);
	snprintf(b->network, sizeof(b->network), "%s", network);
	b->next = d->binds;
	d->binds = b;
	return 0;
}

static void bind_del(struct docker *d, struct binding *b)
{
	for (struct binding **pp = &d->binds; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			free(b);
			return;
		}
}

/* The ovn network a NetworkID is bound to; answers the error itself. */
static const struct nm_network *bound_net(struct docker *d, struct http_req *req,
					  const char *nid)
{
	struct binding *b = bind_find(d, nid);
	const struct nm_network *n = b ? netmgr_net_peek(d->nm, b->network) : NULL;
	char m[256];

	if (!b)
		snprintf(m, sizeof(m), "network %.12s was not created by this ovn agent", nid);
	else if (!n)
		snprintf(m, sizeof(m), "ovn network %s (of Docker network %.12s) no longer "
			 "exists", b->network, nid);
	if (!n)
		reply_err(req, m);
	return n;
}

/* ---- NetworkDriver ------------------------------------------------------------ */

struct create_ctx {
	struct http_req *req;
	struct docker *d;
	char nid[DOCKER_ID_LEN + 1];
	char name[NM_NAME_MAX + 1];
	char *key, *val;
};

static void create_ctx_free(struct create_ctx *c)
{
	free(c->key);
	free(c->val);
	free(c);
}

static void bound(const struct kv_result *res, void *arg)
{
	struct create_ctx *c = arg;

	if (res->status < 0) {
		reply_err(c->req, res->msg && res->msg[0] ? res->msg : strerror(-res->status));
	} else if (bind_add(c->d, c->nid, c->name) < 0) {
		reply_err(c->req, "out of memory");
	} else {
		log_info("docker: network %.12s bound to %s", c->nid, c->name);
		reply_ok(c->req);
	}
	create_ctx_free(c);
}

static void bind_write(struct create_ctx *c)
{
	c->key = NULL;
	if (asprintf(&c->key, "/docker/networks/%s", c->nid) < 0)
		c->key = NULL;
	c->val = NULL;
	{
		json_t *j = json_pack("{s:s, s:s}", "network", c->name, "node",
				      c->d->cfg->node);

		c->val = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
	}
	if (!c->key || !c->val || kv_put(c->d->kv, c->key, c->val, strlen(c->val), bound, c) < 0) {
		reply_err(c->req, "store: cannot write the binding");
		create_ctx_free(c);
	}
}

static void net_created(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	struct create_ctx *c = arg;

	(void)result;
	if (status < 0) {
		reply_err(c->req, err->msg);
		return create_ctx_free(c);
	}
	bind_write(c);
}

/* The existing ovn network must be what Docker was told. */
static int net_matches(const struct nm_network *n, const struct docker_create_req *r,
		       char *m, size_t size)
{
	char a[OVN_PREFIX_STRLEN], b[OVN_PREFIX_STRLEN], g[OVN_IP_STRLEN];

	if (n->internal != r->internal) {
		snprintf(m, size, "ovn network %s is %sinternal: %s --internal", n->name,
			 n->internal ? "" : "not ", n->internal ? "add" : "drop");
		return -EINVAL;
	}
	for (int i = 0; i < r->n_subnets; i++) {
		const struct nm_subnet *want = &r->subnets[i];
		const struct nm_subnet *have = NULL;

		for (int k = 0; k < n->n_subnets; k++)
			if (n->subnets[k].prefix.ip.family == want->prefix.ip.family)
				have = &n->subnets[k];
		if (!have || have->prefix.len != want->prefix.len ||
		    !ovn_ip_equal(&have->prefix.ip, &want->prefix.ip)) {
			snprintf(m, size, "ovn network %s has subnet %s, not %s: use --subnet %s",
				 n->name, have ? ovn_prefix_str(&have->prefix, a) : "(none)",
				 ovn_prefix_str(&want->prefix, b),
				 have ? a : "of the same family");
			return -EINVAL;
		}
		if (want->gateway.family && !ovn_ip_equal(&want->gateway, &have->gateway)) {
			snprintf(m, size, "ovn network %s has gateway %s: drop --gateway or use it",
				 n->name, ovn_ip_str(&have->gateway, g));
			return -EINVAL;
		}
	}
	return 0;
}

static json_t *create_body(const struct docker_create_req *r)
{
	char p[OVN_PREFIX_STRLEN], g[OVN_IP_STRLEN];
	json_t *subs = json_array();

	for (int i = 0; i < r->n_subnets; i++) {
		json_t *s = json_pack("{s:s}", "subnet", ovn_prefix_str(&r->subnets[i].prefix, p));

		if (s && r->subnets[i].gateway.family)
			json_object_set_new(s, "gateway",
					    json_string(ovn_ip_str(&r->subnets[i].gateway, g)));
		json_array_append_new(subs, s);
	}
	return json_pack("{s:s, s:o, s:b, s:{s:s}}", "name", r->name, "subnets", subs,
			 "internal", r->internal, "labels", DOCKER_LABEL, "created");
}

static void h_create_network(struct http_req *req, void *arg)
{
	struct docker *d = arg;
	struct docker_create_req r;
	struct ovn_err err = { 0 };
	const struct nm_network *n;
	struct create_ctx *c;
	char m[300];
	json_t *j = body_json(req), *body;

	if (!j)
		return;
	if (docker_create_req_parse(j, &r, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	n = netmgr_net_peek(d->nm, r.name);
	if (n && net_matches(n, &r, m, sizeof(m)) < 0)
		return reply_err(req, m);
	c = calloc(1, sizeof(*c));
	if (!c)
		return reply_err(req, "out of memory");
	c->req = req;
	c->d = d;
	memcpy(c->nid, r.network_id, sizeof(c->nid));
	memcpy(c->name, r.name, sizeof(c->name));
	if (n)
		return bind_write(c);
	body = create_body(&r);
	if (!body) {
		reply_err(req, "out of memory");
		return create_ctx_free(c);
	}
	log_info("docker: creating ovn network %s for Docker network %.12s", r.name, r.network_id);
	netmgr_network_create(d->nm, body, net_created, c);
	json_decref(body);
}

struct delete_ctx {
	struct http_req *req;
	struct docker *d;
	char network[NM_NAME_MAX + 1];
	char *key;
};

static void net_removed(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	char *name = arg;

	(void)result;
	if (status < 0)
		log_warn("docker: keeping ovn network %s: %s", name, err->msg);
	else
		log_info("docker: removed ovn network %s (no Docker network uses it)", name);
	free(name);
}

/* After the binding went: remove the network when nobody needs it. */
static void others_listed(const struct kv_result *res, void *arg)
{
	struct delete_ctx *c = arg;
	const struct nm_network *n = netmgr_net_peek(c->d->nm, c->network);
	json_t *label = n ? json_object_get(n->labels, DOCKER_LABEL) : NULL;
	int others = 0;

	for (size_t i = 0; res->status == 0 && i < res->n; i++) {
		json_t *j = json_loadb(res->entries[i].value, res->entries[i].len, 0, NULL);
		const char *net = json_string_value(json_object_get(j, "network"));

		others += net && !strcmp(net, c->network);
		json_decref(j);
	}
	if (res->status == 0 && n && !others && label &&
	    !strcmp(json_string_value(label) ?: "", "created") &&
	    netmgr_net_endpoints(c->d->nm, c->network) == 0) {
		char *name = strdup(c->network);

		if (name)
			netmgr_network_remove(c->d->nm, c->network, false, net_removed, name);
	}
	reply_ok(c->req);
	free(c->key);
	free(c);
}

static void unbound(const struct kv_result *res, void *arg)
{
	struct delete_ctx *c = arg;

	if (res->status < 0) {
		reply_err(c->req, res->msg && res->msg[0] ? res->msg : strerror(-res->status));
		free(c->key);
		free(c);
		return;
	}
	if (kv_list(c->d->kv, "/docker/networks/", others_listed, c) < 0) {
		reply_ok(c->req);
		free(c->key);
		free(c);
	}
}

static void h_delete_network(struct http_req *req, void *arg)
{
	struct docker *d = arg;
	char nid[DOCKER_ID_LEN + 1];
	struct ovn_err err = { 0 };
	struct delete_ctx *c;
	struct binding *b;
	json_t *j = body_json(req);

	if (!j)
		return;
	if (get_id(j, "NetworkID", nid, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	b = bind_find(d, nid);
	if (!b)
		return reply_ok(req);	/* already gone: DeleteNetwork is idempotent */
	c = calloc(1, sizeof(*c));
	if (!c)
		return reply_err(req, "out of memory");
	c->req = req;
	c->d = d;
	memcpy(c->network, b->network, sizeof(c->network));
	bind_del(d, b);
	if (asprintf(&c->key, "/docker/networks/%s", nid) < 0)
		c->key = NULL;
	if (!c->key || kv_del(d->kv, c->key, unbound, c) < 0) {
		reply_err(req, "store: cannot delete the binding");
		free(c->key);
		free(c);
	}
}

static struct pending_ep *pend_find(struct docker *d, const char *eid)
{
	for (struct pending_ep *p = d->pending; p; p = p->next)
		if (!strcmp(p->eid, eid))
			return p;
	return NULL;
}

static void pend_del(struct docker *d, const char *eid)
{
	for (struct pending_ep **pp = &d->pending; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->eid, eid)) {
			struct pending_ep *p = *pp;

			*pp = p->next;
			free(p->publish);
			free(p);
			return;
		}
}

/* A host port another CreateEndpoint of this host announced and whose
 * Join has not made the endpoint yet (netmgr knows only made ones). */
static const struct pending_ep *pend_port_owner(struct docker *d, const char *eid,
						const struct nm_publish *p, int n,
						const struct nm_publish **clash)
{
	for (struct pending_ep *o = d->pending; o; o = o->next) {
		if (!strcmp(o->eid, eid))
			continue;
		for (int i = 0; i < o->n_publish; i++)
			for (int k = 0; k < n; k++)
				if (model_publish_clash(&o->publish[i], &p[k])) {
					*clash = &p[k];
					return o;
				}
	}
	return NULL;
}

/* Docker's -p: decoded, then the checks an attach with "publish" makes,
 * here where dockerd shows the refusal ("failed to create endpoint"). */
static int ep_ports(struct docker *d, const json_t *j, const struct docker_ep_req *r,
		    const char *net, struct nm_publish **out, int *n, struct ovn_err *err)
{
	const struct nm_publish *clash = NULL;
	char s[NM_PUBLISH_STRLEN];
	int rc;

	rc = docker_portmap_parse(json_object_get(j, "Options"), out, n, err);
	if (rc < 0 || !*n)
		return rc;
	rc = netmgr_publish_check(d->nm, net, &r->ipv4, &r->ipv6, *out, *n, err);
	if (rc == 0 && pend_port_owner(d, r->endpoint_id, *out, *n, &clash))
		rc = ovn_err_set(err, -EEXIST, "publish %s: host port %u/%s is being published "
				 "by another container starting on this host",
				 model_publish_str(clash, s), clash->host_port,
				 clash->proto == IPPROTO_UDP ? "udp" : "tcp");
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static void h_create_endpoint(struct http_req *req, void *arg)
{
	struct docker *d = arg;
	const struct nm_network *n;
	struct docker_ep_req r;
	struct ovn_err err = { 0 };
	struct pending_ep *p;
	struct nm_publish *ports = NULL;
	int n_ports = 0;
	char mac[OVN_MAC_STRLEN];
	json_t *j = body_json(req);

	if (!j)
		return;
	if (docker_ep_req_parse(j, false, &r, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	if (!(n = bound_net(d, req, r.network_id))) {
		json_decref(j);
		return;
	}
	if (!r.ipv4.ip.family && !r.ipv6.ip.family) {
		json_decref(j);
		return reply_err(req, "no address: create the network with --ipam-driver ovn");
	}
	if (ep_ports(d, j, &r, n->name, &ports, &n_ports, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	p = pend_find(d, r.endpoint_id);
	if (!p && !(p = calloc(1, sizeof(*p)))) {
		free(ports);
		return reply_err(req, "out of memory");
	}
	free(p->publish);
	p->publish = TAKE_PTR(ports);
	p->n_publish = n_ports;
	if (!p->eid[0]) {
		p->next = d->pending;
		d->pending = p;
	}
	memcpy(p->eid, r.endpoint_id, sizeof(p->eid));
	memcpy(p->network, n->name, sizeof(p->network));
	p->ipv4 = r.ipv4;
	p->ipv6 = r.ipv6;
	if (r.has_mac) {
		p->mac = r.mac;
		return reply_ok(req);
	}
	/* Same rule as every ovn endpoint: every host computes the same
	 * neighbour entry. Docker lets the driver fill only empty fields. */
	ovn_mac_from_ip(&p->mac, r.ipv4.ip.family ? &r.ipv4.ip : &r.ipv6.ip);
	reply_json(req, json_pack("{s:{s:s}}", "Interface", "MacAddress",
				  ovn_mac_str(&p->mac, mac)));
}

struct join_ctx {
	struct http_req *req;
	struct docker *d;
	char eid[DOCKER_ID_LEN + 1];
	char network[NM_NAME_MAX + 1];
};

static void joined(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	struct join_ctx *c = arg;
	const struct nm_network *n = netmgr_net_peek(c->d->nm, c->network);
	struct ovn_ip gw4 = { 0 }, gw6 = { 0 };
	const char *ifname = json_string_value(json_object_get(result, "ifname"));
	bool v6 = json_object_get(result, "ipv6") != NULL;

	if (status < 0 || !n || !ifname) {
		reply_err(c->req, status < 0 ? err->msg : "network vanished during Join");
		free(c);
		return;
	}
	pend_del(c->d, c->eid);
	for (int i = 0; i < n->n_subnets; i++) {
		if (n->subnets[i].gateway.family == AF_INET)
			gw4 = n->subnets[i].gateway;
		else if (v6)
			gw6 = n->subnets[i].gateway;
	}
	reply_json(c->req, docker_join_answer(ifname, &gw4, &gw6, n->internal));
	docker_names_lookup(c->d->names, c->network, c->eid);
	free(c);
}

static void h_join(struct http_req *req, void *arg)
{
	struct docker *d = arg;
	struct nm_docker_attach a = { 0 };
	const struct nm_network *n;
	struct docker_ep_req r;
	struct ovn_err err = { 0 };
	struct pending_ep *p;
	struct join_ctx *c;
	json_t *j = body_json(req);

	if (!j)
		return;
	if (docker_ep_req_parse(j, true, &r, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	if (!(n = bound_net(d, req, r.network_id)))
		return;
	p = pend_find(d, r.endpoint_id);
	if (!p)
		return reply_err(req, "endpoint unknown: its CreateEndpoint did not reach this "
				 "agent (restarted in between?); start the container again");
	c = calloc(1, sizeof(*c));
	if (!c)
		return reply_err(req, "out of memory");
	c->req = req;
	c->d = d;
	memcpy(c->eid, r.endpoint_id, sizeof(c->eid));
	memcpy(c->network, n->name, sizeof(c->network));
	memcpy(a.network, n->name, sizeof(a.network));
	memcpy(a.id, r.endpoint_id, NM_ID_LEN);
	memcpy(a.sandbox, r.sandbox, sizeof(a.sandbox));
	a.mac = p->mac;
	a.ipv4 = p->ipv4;
	a.ipv6 = p->ipv6;
	a.n_publish = p->n_publish;
	a.publish = p->publish;
	netmgr_attach_docker(d->nm, &a, joined, c);
}

static void left(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	(void)result;
	/* Not ours (any more): DeleteEndpoint is idempotent. */
	if (status < 0 && status != -ENOENT)
		return reply_err(arg, err->msg);
	reply_ok(arg);
}

static void h_delete_endpoint(struct http_req *req, void *arg)
{
	struct docker *d = arg;
	struct binding *b;
	struct docker_ep_req r;
	struct ovn_err err = { 0 };
	char id[NM_ID_LEN + 1];
	json_t *j = body_json(req);

	if (!j)
		return;
	if (docker_ep_req_parse(j, false, &r, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	pend_del(d, r.endpoint_id);
	b = bind_find(d, r.network_id);
	if (!b)
		return reply_ok(req);
	snprintf(id, sizeof(id), "%.16s", r.endpoint_id);
	netmgr_detach_docker(d->nm, b->network, id, left, req);
}

/* Calls that only need a well-formed body. */
static void h_ep_noop(struct http_req *req, void *arg)
{
	struct docker_ep_req r;
	struct ovn_err err = { 0 };
	json_t *j = body_json(req);
	bool oper = strstr(req->path, "EndpointOperInfo") != NULL;

	(void)arg;
	if (!j)
		return;
	if (docker_ep_req_parse(j, false, &r, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	if (oper)
		return reply_json(req, json_pack("{s:{}}", "Value"));
	reply_ok(req);
}

static void h_ok(struct http_req *req, void *arg)
{
	json_t *j = body_json(req);

	(void)arg;
	if (!j)
		return;
	json_decref(j);
	if (strstr(req->path, "AllocateNetwork"))
		return reply_json(req, json_pack("{s:{}}", "Options"));
	reply_ok(req);
}

static void h_activate(struct http_req *req, void *arg)
{
	(void)arg;
	reply_json(req, json_pack("{s:[s,s]}", "Implements", "NetworkDriver", "IpamDriver"));
}

static void h_net_caps(struct http_req *req, void *arg)
{
	(void)arg;
	/* Global scope needs Swarm or a cluster store on a 20.10 engine;
	 * connectivity is global through ovn's own store. */
	reply_json(req, json_pack("{s:s, s:s}", "Scope", "local", "ConnectivityScope", "global"));
}

/* ---- IpamDriver ------------------------------------------------------------------ */

static void h_ipam_caps(struct http_req *req, void *arg)
{
	(void)arg;
	reply_json(req, json_pack("{s:b, s:b}", "RequiresMACAddress", 0,
				  "RequiresRequestReplay", 0));
}

static void h_spaces(struct http_req *req, void *arg)
{
	(void)arg;
	reply_json(req, json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", "ovn",
				  "GlobalDefaultAddressSpace", "ovn"));
}

static void h_request_pool(struct http_req *req, void *arg)
{
	struct docker *d = arg;
	const struct nm_network *n;
	struct docker_pool_req r;
	struct ovn_err err = { 0 };
	char id[OVN_PREFIX_STRLEN + 8], p[OVN_PREFIX_STRLEN];
	json_t *j = body_json(req), *data;

	if (!j)
		return;
	if (docker_pool_req_parse(j, &r, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	docker_pool_id_format(&r.pool, id, sizeof(id));
	data = json_object();
	n = netmgr_net_by_subnet(d->nm, &r.pool);
	for (int i = 0; n && i < n->n_subnets; i++) {
		struct ovn_prefix gw = { n->subnets[i].gateway, r.pool.len };

		/* Docker then skips the gateway request and uses ovn's. */
		if (n->subnets[i].gateway.family == r.pool.ip.family)
			json_object_set_new(data, "com.docker.network.gateway",
					    json_string(ovn_prefix_str(&gw, p)));
	}
	reply_json(req, json_pack("{s:s, s:s, s:o}", "PoolID", id, "Pool",
				  ovn_prefix_str(&r.pool, p), "Data", data));
}

static void h_release_pool(struct http_req *req, void *arg)
{
	struct ovn_prefix pool;
	struct ovn_err err = { 0 };
	json_t *j = body_json(req);
	const char *id;

	(void)arg;
	if (!j)
		return;
	id = json_string_value(json_object_get(j, "PoolID"));
	if (docker_pool_id_parse(id, &pool, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	reply_ok(req);		/* pools are derived, nothing to free */
}

static void addr_held(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	if (status < 0)
		return reply_err(arg, err->msg);
	reply_json(arg, json_pack("{s:O, s:{}}", "Address", json_object_get(result, "address"),
				  "Data"));
}

/* The gateway: ovn's when the network exists, else the asked or the first
 * host address, with which CreateNetwork will create it. */
static void gateway_answer(struct http_req *req, const struct nm_network *n,
			   const struct docker_addr_req *r)
{
	struct ovn_prefix gw = { .len = r->pool.len };
	char s[OVN_PREFIX_STRLEN], m[256];

	for (int i = 0; n && i < n->n_subnets; i++)
		if (n->subnets[i].gateway.family == r->pool.ip.family)
			gw.ip = n->subnets[i].gateway;
	if (n && r->addr.family && !ovn_ip_equal(&gw.ip, &r->addr)) {
		snprintf(m, sizeof(m), "ovn network %s has gateway %s: drop --gateway or use it",
			 n->name, ovn_ip_str(&gw.ip, s));
		return reply_err(req, m);
	}
	if (!n && r->addr.family)
		gw.ip = r->addr;
	else if (!n && ovn_prefix_nth(&r->pool, 1, &gw.ip) < 0)
		return reply_err(req, "subnet too small");
	reply_json(req, json_pack("{s:s, s:{}}", "Address", ovn_prefix_str(&gw, s), "Data"));
}

static void h_request_address(struct http_req *req, void *arg)
{
	struct docker *d = arg;
	const struct nm_network *n;
	struct docker_addr_req r;
	struct ovn_err err = { 0 };
	char p[OVN_PREFIX_STRLEN], m[300];
	json_t *j = body_json(req);

	if (!j)
		return;
	if (docker_addr_req_parse(j, false, &r, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	n = netmgr_net_by_subnet(d->nm, &r.pool);
	if (r.gateway)
		return gateway_answer(req, n, &r);
	if (!n) {
		snprintf(m, sizeof(m), "no ovn network has subnet %s yet (--aux-address is not "
			 "supported)", ovn_prefix_str(&r.pool, p));
		return reply_err(req, m);
	}
	netmgr_addr_hold(d->nm, n->name, r.pool.ip.family, &r.addr, addr_held, req);
}

static void h_release_address(struct http_req *req, void *arg)
{
	struct docker *d = arg;
	const struct nm_network *n;
	struct docker_addr_req r;
	struct ovn_err err = { 0 };
	json_t *j = body_json(req);

	if (!j)
		return;
	if (docker_addr_req_parse(j, true, &r, &err) < 0) {
		json_decref(j);
		return reply_err(req, err.msg);
	}
	json_decref(j);
	n = netmgr_net_by_subnet(d->nm, &r.pool);
	if (!n)
		return reply_ok(req);	/* the network went, and its addresses with it */
	for (int i = 0; i < n->n_subnets; i++)
		if (ovn_ip_equal(&n->subnets[i].gateway, &r.addr))
			return reply_ok(req);	/* the gateway is never held */
	netmgr_addr_unhold(d->nm, n->name, &r.addr, nm_reply_ok, req);
}

/* ---- routes, sweep, life cycle --------------------------------------------------- */

#define R(path, fn) { "POST", "/" path, fn }
static const struct http_route routes[] = {
	R("Plugin.Activate", h_activate),
	R("NetworkDriver.GetCapabilities", h_net_caps),
	R("NetworkDriver.CreateNetwork", h_create_network),
	R("NetworkDriver.DeleteNetwork", h_delete_network),
	R("NetworkDriver.AllocateNetwork", h_ok),
	R("NetworkDriver.FreeNetwork", h_ok),
	R("NetworkDriver.CreateEndpoint", h_create_endpoint),
	R("NetworkDriver.EndpointOperInfo", h_ep_noop),
	R("NetworkDriver.DeleteEndpoint", h_delete_endpoint),
	R("NetworkDriver.Join", h_join),
	R("NetworkDriver.Leave", h_ep_noop),
	R("NetworkDriver.ProgramExternalConnectivity", h_ep_noop),
	R("NetworkDriver.RevokeExternalConnectivity", h_ep_noop),
	R("NetworkDriver.DiscoverNew", h_ok),
	R("NetworkDriver.DiscoverDelete", h_ok),
	R("IpamDriver.GetCapabilities", h_ipam_caps),
	R("IpamDriver.GetDefaultAddressSpaces", h_spaces),
	R("IpamDriver.RequestPool", h_request_pool),
	R("IpamDriver.ReleasePool", h_release_pool),
	R("IpamDriver.RequestAddress", h_request_address),
	R("IpamDriver.ReleaseAddress", h_release_address),
};
#undef R

static void swept(const struct kv_result *res, void *arg)
{
	if (res->status < 0)
		log_warn("docker: sweeping %s: %s", (char *)arg, res->msg);
	else
		log_info("docker: released stale reservation %s", (char *)arg);
	free(arg);
}

/* "YYYY-mm-ddTHH:MM:SSZ" -> seconds since the epoch, 0 on error. */
static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };

	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return timegm(&tm);
}

/* Reservations of this node older than the TTL with no endpoint on their
 * address: Docker asked and never came back (it died, or lost its state). */
static void ipam_listed(const struct kv_result *res, void *arg)
{
	struct docker *d = arg;
	time_t now = time(NULL);

	for (size_t i = 0; res->status == 0 && i < res->n; i++) {
		const struct kv_entry *en = &res->entries[i];
		json_t *j = json_loadb(en->value, en->len, 0, NULL);
		const char *node = json_string_value(json_object_get(j, "docker"));
		time_t t = parse_time(json_string_value(json_object_get(j, "created")));
		char net[NM_NAME_MAX + 1], *slash, *key;
		struct ovn_ip ip;

		if (node && !strcmp(node, d->cfg->node) && t &&
		    now - t > (time_t)d->cfg->docker.reservation_ttl &&
		    sscanf(en->key, "/ipam/%64[^/]/", net) == 1 && (slash = strrchr(en->key, '/')) &&
		    ovn_ip_parse(&ip, slash + 1) == 0 && !netmgr_addr_has_endpoint(d->nm, net, &ip) &&
		    (key = strdup(en->key)) && kv_del(d->kv, key, swept, key) < 0)
			free(key);
		json_decref(j);
	}
}

static void on_sweep(uv_timer_t *t)
{
	struct docker *d = t->data;

	kv_list(d->kv, "/ipam/", ipam_listed, d);
}

static void sweep_closed(uv_handle_t *h)
{
	free(h);
}

static void names_closed(void *arg)
{
	struct docker *d = arg;

	if (d->closed_cb)
		d->closed_cb(d->closed_arg);
	free(d);
}

static void http_closed(void *arg)
{
	struct docker *d = arg;

	while (d->binds)
		bind_del(d, d->binds);
	while (d->pending)
		pend_del(d, d->pending->eid);
	if (d->sweep)
		uv_close((uv_handle_t *)d->sweep, sweep_closed);
	docker_names_free(TAKE_PTR(d->names), names_closed, d);
}

void docker_free(struct docker *d, void (*cb)(void *arg), void *arg)
{
	if (!d) {
		if (cb)
			cb(arg);
		return;
	}
	d->closed_cb = cb;
	d->closed_arg = arg;
	d->closing = true;
	if (d->loading)
		return;		/* binds_loaded finishes the job */
	if (d->http)
		http_server_close(d->http, http_closed, d);
	else
		http_closed(d);
}

static void listen_now(struct docker *d)
{
	struct http_config hc = { .routes = routes, .n_routes = ARRAY_SIZE(routes), .arg = d,
				  .name = "docker", .rate = d->cfg->api.rate,
				  .burst = d->cfg->api.burst };
	struct ovn_err err = { 0 };

	if (http_server_listen_unix(&d->http, d->loop, d->cfg->docker.socket, 0660, -1, &hc,
				    &err) < 0) {
		log_error("docker.socket: %s; the Docker plugin is off", err.msg);
		return;
	}
	d->sweep = malloc(sizeof(*d->sweep));
	if (d->sweep) {
		uv_timer_init(d->loop, d->sweep);
		d->sweep->data = d;
		uv_timer_start(d->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	}
	log_info("docker: plugin listening on %s (%d network bindings)", d->cfg->docker.socket,
		 d->n_binds);
}

/* Bindings first, so no call is answered from an empty view: dockerd
 * waits for the socket (and retries a missing one for 15 s). */
static void binds_loaded(const struct kv_result *res, void *arg)
{
	struct docker *d = arg;

	d->loading = false;
	if (d->closing)
		return http_closed(d);
	if (res->status < 0) {
		log_error("docker: loading bindings: %s; the Docker plugin is off", res->msg);
		return;
	}
	for (size_t i = 0; i < res->n; i++) {
		const char *nid = strrchr(res->entries[i].key, '/');
		json_t *j = json_loadb(res->entries[i].value, res->entries[i].len, 0, NULL);
		const char *net = json_string_value(json_object_get(j, "network"));
		const char *node = json_string_value(json_object_get(j, "node"));

		/* NetworkIDs are per host; only this node's are ours. */
		if (nid && net && node && !strcmp(node, d->cfg->node) && docker_id_ok(nid + 1) &&
		    bind_add(d, nid + 1, net) == 0)
			d->n_binds++;
		json_decref(j);
	}
	listen_now(d);
}

int docker_new(struct docker **out, uv_loop_t *loop, const struct cfg *cfg, struct netmgr *nm,
	       struct kv *kv, struct ovn_err *err)
{
	struct docker *d;
	int r;

	*out = NULL;
	if (!cfg->docker.socket[0])
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ovn_err_set(err, -ENOMEM, "out of memory");
	d->loop = loop;
	d->cfg = cfg;
	d->nm = nm;
	d->kv = kv;
	d->loading = true;
	if (docker_names_new(&d->names, loop, cfg, nm) < 0) {
		free(d);
		return ovn_err_set(err, -ENOMEM, "out of memory");
	}
	r = kv_list(kv, "/docker/networks/", binds_loaded, d);
	if (r < 0) {
		docker_names_free(d->names, NULL, NULL);
		free(d);
		return ovn_err_set(err, r, "docker: loading bindings: %s", strerror(-r));
	}
	*out = d;
	return 0;
}
