/* docker.h: the libnetwork remote network driver and IPAM driver (plugin
 * API v1) served on docker.socket, plus the pure request/answer codecs the
 * unit tests exercise. docs/docker.md is the user's view.
 *
 * The driver is local-scope with global connectivity: each dockerd host
 * creates its own Docker network, bound by `-o ovn.network=NAME` to the one
 * cluster-wide ovn network NAME. Bindings live in the store
 * (/docker/networks/<NetworkID>), so an agent restart (which Docker never
 * notices: no re-activation) finds them again; endpoint ids and names of
 * kernel objects derive from Docker's IDs. */
#ifndef OVN_DOCKER_H
#define OVN_DOCKER_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "addr.h"
#include "kvstore.h"
#include "model.h"
#include "netmgr.h"
#include "ovn_err.h"

#define DOCKER_ID_LEN 64		/* Docker's NetworkID / EndpointID: 64 hex */
#define DOCKER_NET_OPT "ovn.network"	/* -o ovn.network=NAME */
#define DOCKER_POOL_PREFIX "ovn/"	/* PoolID = "ovn/<cidr>" */
#define DOCKER_LABEL "ovn.docker"	/* on networks the plugin created */

struct docker;

/* NULL in *out (0 returned) when cfg->docker.socket is empty. Loads the
 * bindings, then listens; the socket file is removed by docker_free. */
int docker_new(struct docker **out, uv_loop_t *loop, const struct cfg *cfg, struct netmgr *nm,
	       struct kv *kv, struct ovn_err *err);
/* Close the listener and unlink the socket; cb(arg) once closed (at once
 * when d is NULL). */
void docker_free(struct docker *d, void (*cb)(void *arg), void *arg);

/* ---- codecs (no I/O) ---- */

/* {"Err": msg, "Error": msg}: NetworkDriver reads Err, IpamDriver Error. */
char *docker_error_body(const char *msg);
/* 64 lowercase hex chars. */
bool docker_id_ok(const char *s);
/* "ovn/<cidr>" <-> prefix (host bits zero). -EINVAL with a message. */
int docker_pool_id_parse(const char *pool_id, struct ovn_prefix *p, struct ovn_err *err);
void docker_pool_id_format(const struct ovn_prefix *p, char *buf, size_t size);

struct docker_create_req {
	char network_id[DOCKER_ID_LEN + 1];
	char name[NM_NAME_MAX + 1];	/* from -o ovn.network */
	bool internal, ipv6;
	int n_subnets;
	struct nm_subnet subnets[2];	/* gateway family 0 = not given */
};
int docker_create_req_parse(const json_t *j, struct docker_create_req *r, struct ovn_err *err);

/* CreateEndpoint, Join, Leave, DeleteEndpoint, EndpointOperInfo, ... */
struct docker_ep_req {
	char network_id[DOCKER_ID_LEN + 1];
	char endpoint_id[DOCKER_ID_LEN + 1];
	char sandbox[256];		/* Join only */
	struct ovn_prefix ipv4, ipv6;	/* CreateEndpoint's Interface */
	bool has_mac;
	struct ovn_mac mac;
};
/* want_sandbox: Join (SandboxKey required). */
int docker_ep_req_parse(const json_t *j, bool want_sandbox, struct docker_ep_req *r,
			struct ovn_err *err);

/* The "com.docker.network.portmap" member of CreateEndpoint's (and Join's)
 * Options: [{"Proto":6|17,"IP":"","Port":80,"HostIP":"","HostPort":8080,
 * "HostPortEnd":8080}, ...] -> *out (malloc'd, NULL when *n is 0). Options
 * or the member absent or null: no ports. Refused with -EINVAL and a
 * message dockerd shows: a HostPort of 0 (the driver would have to choose
 * one), a range (HostPortEnd other than 0 or HostPort), a protocol other
 * than tcp/udp, a bad HostIP, wrong types, two entries on the same host
 * port with different container ports, more than NM_PUBLISH_MAX. Entries
 * equal after normalising ("0.0.0.0" and "::" are every address, as "")
 * are kept once. */
int docker_portmap_parse(const json_t *options, struct nm_publish **out, int *n,
			 struct ovn_err *err);

struct docker_pool_req {
	struct ovn_prefix pool;
	bool v6;
};
int docker_pool_req_parse(const json_t *j, struct docker_pool_req *r, struct ovn_err *err);

struct docker_addr_req {
	struct ovn_prefix pool;		/* from PoolID */
	struct ovn_ip addr;		/* family 0 = any */
	bool gateway;			/* RequestAddressType = gateway */
};
/* RequestAddress (and ReleaseAddress: Address required). */
int docker_addr_req_parse(const json_t *j, bool release, struct docker_addr_req *r,
			  struct ovn_err *err);

/* Join's answer: SrcName/DstPrefix "eth", Gateway(IPv6) (family 0 = none),
 * DisableGatewayService when internal. */
json_t *docker_join_answer(const char *src_name, const struct ovn_ip *gw4,
			   const struct ovn_ip *gw6, bool internal);

/* ---- container names from dockerd's Engine API (docker_names.c) ---- */

struct docker_names;

/* NULL in *out (0 returned) when cfg->docker.api is empty; -ENOMEM. */
int docker_names_new(struct docker_names **out, uv_loop_t *loop, const struct cfg *cfg,
		     struct netmgr *nm);
/* After a Join was answered: find the container of Docker endpoint eid
 * (64 hex) in the background, retrying for a while, and name ovn endpoint
 * eid[0..16) on network after it. dn may be NULL (no-op). */
void docker_names_lookup(struct docker_names *dn, const char *network, const char *eid);
/* Stop; cb(arg) once every job has ended (at once when dn is NULL). */
void docker_names_free(struct docker_names *dn, void (*cb)(void *arg), void *arg);

/* The body of an HTTP/1.x answer with status 200 read to EOF; -EPROTO with
 * a message otherwise (chunked bodies are refused: we ask HTTP/1.0). */
int docker_http_body(const char *resp, size_t len, const char **body, size_t *blen,
		     struct ovn_err *err);
/* In the JSON answer of GET /containers/json, the container holding Docker
 * endpoint endpoint_id: its name (without the leading '/') and a copy of
 * that endpoint's Aliases (an array, maybe empty; the caller owns it).
 * 0, -ENOENT (not listed), -EINVAL with a message, -ENOMEM. */
int docker_name_from_list(const char *body, size_t len, const char *endpoint_id, char *name,
			  size_t size, json_t **aliases, struct ovn_err *err);

#endif
