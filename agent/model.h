/* model.h: networks and endpoints as the agent keeps them, and their JSON
 * forms. The same JSON is the store record and the API answer, so one codec
 * serves both; request bodies have their own strict decoders (unknown fields
 * and wrong types are refused with a message naming the field). */
#ifndef OVN_MODEL_H
#define OVN_MODEL_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "ovn_err.h"

#define NM_NAME_MAX 64		/* network name */
#define NM_DNS_MAX 253		/* endpoint name / alias */
#define NM_ALIASES_MAX 16
#define NM_LABELS_MAX 64
#define NM_ID_LEN 16		/* hex chars */
#define NM_TIME_LEN 32
#define NM_OWNER_MAX 160	/* opaque caller tag, e.g. "cni:<64 hex>/eth0" */
#define NM_PATH_MAX 255		/* namespace path */
#define NM_PUBLISH_MAX 32	/* published ports per endpoint */
#define NM_PUBLISH_STRLEN 72	/* "[IPv6]:65535:65535/tcp" */

/* One published port: [HOST_IP:]HOST_PORT:PORT[/tcp|udp]. */
struct nm_publish {
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	struct ovn_ip host_ip;		/* family 0 = every local address */
	uint16_t host_port, port;	/* 1-65535 */
};

struct nm_subnet {
	struct ovn_prefix prefix;	/* network address, host bits zero */
	struct ovn_ip gateway;
};

struct nm_network {
	char name[NM_NAME_MAX + 1];
	char id[NM_ID_LEN + 1];
	uint32_t vni;
	uint32_t mtu;
	bool internal;
	bool encrypted;			/* VxLAN between hosts in IPsec ESP (ipsec.c) */
	int n_subnets;			/* at most one per family */
	struct nm_subnet subnets[2];
	json_t *labels;			/* object of strings, owned; never NULL */
	char created[NM_TIME_LEN];
};

struct nm_endpoint {
	char id[NM_ID_LEN + 1];
	char network[NM_NAME_MAX + 1];
	char name[NM_DNS_MAX + 1];	/* "" = none */
	json_t *aliases;		/* array of strings, owned; never NULL */
	char *netns;			/* path of the namespace; owned, never NULL once
					 * decoded or built */
	char netns_id[48];		/* "dev:ino" of the namespace file */
	char ifname[IF_NAMESIZE];
	char host_ifname[IF_NAMESIZE];
	struct ovn_mac mac;
	struct ovn_prefix ipv4, ipv6;	/* family 0 = none; len = subnet's */
	char node[64];
	struct ovn_ip vtep;
	char created[NM_TIME_LEN];
	char *owner;			/* owned, NULL = none; see model_owner_ok() */
	/* Made for Docker (agent/docker.c): the container end was left in the
	 * host namespace as ifname for dockerd to move; its addresses are held
	 * by the IPAM driver's reservations, not by this record. */
	bool docker;
	int n_publish;
	struct nm_publish *publish;	/* owned; NULL when n_publish is 0 */
};

/* Request bodies, decoded and checked for form (not for conflicts). */
struct nm_network_spec {
	char name[NM_NAME_MAX + 1];
	int n_subnets;
	struct nm_subnet subnets[2];	/* gateway family 0 = default */
	uint32_t vni, mtu;		/* 0 = choose */
	bool internal, ipv6, encrypted;
	json_t *labels;			/* owned, never NULL */
};

struct nm_attach_spec {
	char netns[256];		/* "" when pid is used */
	int pid;			/* 0 when netns is used */
	char name[NM_DNS_MAX + 1];
	json_t *aliases;		/* owned, never NULL */
	struct ovn_ip ipv4, ipv6;	/* family 0 = allocate */
	char ifname[IF_NAMESIZE];
	bool has_mac;
	struct ovn_mac mac;
	char owner[NM_OWNER_MAX + 1];
	int n_publish;
	struct nm_publish *publish;	/* owned; NULL when n_publish is 0 */
};

struct nm_detach_spec {
	char netns[256];
	int pid;
	char endpoint[NM_ID_LEN + 1];
	char owner[NM_OWNER_MAX + 1];
};

void nm_network_free(struct nm_network *n);		/* frees members only */
void nm_endpoint_free(struct nm_endpoint *e);
void nm_network_spec_free(struct nm_network_spec *s);
void nm_attach_spec_free(struct nm_attach_spec *s);

json_t *model_network_to_json(const struct nm_network *n);
json_t *model_endpoint_to_json(const struct nm_endpoint *e);
/* Store records: 0, or -EINVAL with err naming the bad field. */
int model_network_from_json(struct nm_network *n, const json_t *j, struct ovn_err *err);
int model_endpoint_from_json(struct nm_endpoint *e, const json_t *j, struct ovn_err *err);

int model_network_spec_from_json(struct nm_network_spec *s, const json_t *j,
				 struct ovn_err *err);
int model_attach_spec_from_json(struct nm_attach_spec *s, const json_t *j, struct ovn_err *err);
int model_detach_spec_from_json(struct nm_detach_spec *s, const json_t *j, struct ovn_err *err);

/* Form checks shared with the CLI and the netmgr. */
bool model_network_name_ok(const char *s);
bool model_dns_name_ok(const char *s);
bool model_ifname_ok(const char *s);
/* An endpoint owner: 1-160 printable ASCII characters, no spaces. It lets a
 * caller that keeps its own identity for an attach (CNI: container id +
 * ifname) find and detach exactly that endpoint later. */
bool model_owner_ok(const char *s);

/* Parse "[HOST_IP:]HOST_PORT:PORT[/tcp|udp]" (IPv6 HOST_IP in brackets;
 * 0.0.0.0 and [::] mean every address). 0 or -EINVAL with err naming the
 * problem. Locality and conflicts are the agent's to check. */
int model_publish_parse(struct nm_publish *p, const char *s, struct ovn_err *err);
/* Canonical form, always with the protocol: "198.18.0.1:8080:80/tcp". */
const char *model_publish_str(const struct nm_publish *p, char buf[NM_PUBLISH_STRLEN]);
/* Two mappings that cannot both exist on one host (same protocol and host
 * port, and the same host address or one of them on every address). */
bool model_publish_clash(const struct nm_publish *a, const struct nm_publish *b);

/* Current time as "2026-11-23T17:00:00Z". */
void model_now(char buf[NM_TIME_LEN]);
/* 16 random hex chars (getrandom). */
int model_new_id(char buf[NM_ID_LEN + 1]);

#endif
