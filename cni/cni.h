/* cni.h: the pure half of ovn-cni, the CNI plugin (cni/ovn-cni.c is the
 * other half: process, agent requests, namespace checks).
 *
 * Here: decode what the runtime hands a plugin (CNI_* environment,
 * CNI_ARGS, the network configuration on stdin), and encode what the
 * plugin prints (results in the shape of the requested cniVersion, the
 * VERSION answer, errors). No I/O, no global state, so tests/unit/test_cni.c
 * drives every function with vector tables.
 *
 * Spec followed: CNI 1.0.0 (github.com/containernetworking/cni SPEC.md),
 * with the result and ips[].version forms of 0.3.0, 0.3.1 and 0.4.0.
 */
#ifndef OVN_CNI_H
#define OVN_CNI_H

#include <jansson.h>
#include <stdbool.h>

#include "addr.h"
#include "ovn_err.h"

/* Error codes of the spec (section "Error"); 999 is the generic one. */
enum cni_code {
	CNI_ERR_VERSION = 1,		/* incompatible CNI version */
	CNI_ERR_UNSUPPORTED = 2,	/* unsupported field in the config */
	CNI_ERR_NO_CONTAINER = 3,	/* container unknown or gone */
	CNI_ERR_ENV = 4,		/* invalid CNI_* environment variable */
	CNI_ERR_IO = 5,			/* I/O failure (stdin) */
	CNI_ERR_DECODE = 6,		/* failed to decode content */
	CNI_ERR_CONFIG = 7,		/* invalid network configuration */
	CNI_ERR_AGAIN = 11,		/* try again later (agent unreachable) */
	CNI_ERR_OTHER = 999,
};

#define CNI_DEFAULT_SOCKET "/run/ovn/ovn.sock"
#define CNI_ID_MAX 255
#define CNI_PATH_MAX 255
#define CNI_NAME_MAX 253

/* The message a CNI error carries; code 0 = no error. */
struct cni_err {
	int code;
	char msg[OVN_ERR_LEN];
	char details[OVN_ERR_LEN];
};

/* Record code and message unless an error is already recorded; returns
 * -EINVAL so callers can `return cni_err_set(...)`. */
int cni_err_set(struct cni_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum cni_cmd { CNI_CMD_ADD = 1, CNI_CMD_DEL, CNI_CMD_CHECK, CNI_CMD_VERSION };

/* The CNI_* environment and what CNI_ARGS told us. */
struct cni_env {
	enum cni_cmd cmd;
	char container_id[CNI_ID_MAX + 1];
	char netns[CNI_PATH_MAX + 1];	/* "" allowed for DEL */
	char ifname[16];
	char pod_name[CNI_NAME_MAX + 1];	/* K8S_POD_NAME, "" = none */
	struct ovn_ip ipv4, ipv6;	/* IP=..., family 0 = none */
	bool has_mac;
	struct ovn_mac mac;		/* MAC=... */
};

/* Read the environment through get (getenv in the plugin, a table in
 * tests). 0, or -EINVAL with err (code 4, naming the variable). */
int cni_env_parse(struct cni_env *env, const char *(*get)(const char *name, void *arg),
		  void *arg, struct cni_err *err);

/* "K=V;K=V" of CNI_ARGS into env: IP (comma list, at most one address per
 * family), MAC, K8S_POD_NAME; K8S_POD_NAMESPACE/UID/INFRA_CONTAINER_ID are
 * known and unused; other keys are refused unless IgnoreUnknown=1|true. */
int cni_args_parse(struct cni_env *env, const char *args, struct cni_err *err);

/* The network configuration given on stdin. */
struct cni_conf {
	char version[16];		/* cniVersion, one of cni_versions */
	char name[CNI_NAME_MAX + 1];	/* the CNI network name */
	char network[CNI_NAME_MAX + 1];	/* ovn network: "network" or name */
	char socket[CNI_PATH_MAX + 1];	/* agent API socket */
	bool dns;			/* put the agent's resolver in results */
	json_t *aliases;		/* runtimeConfig.aliases[name]: array, owned */
	json_t *prev;			/* prevResult, owned; NULL = none */
};

/* Parse and check the configuration (bytes, not NUL-terminated). 0, or
 * -EINVAL with err: 6 (not JSON), 1 (cniVersion not supported), 2 (an ipam
 * section: ovn allocates addresses itself), 7 (a bad value). */
int cni_conf_parse(struct cni_conf *conf, const char *buf, size_t len, struct cni_err *err);
void cni_conf_free(struct cni_conf *conf);

/* Versions we speak, in VERSION's supportedVersions order. */
extern const char *const cni_versions[];
bool cni_version_supported(const char *v);

/* {"cniVersion": v, "supportedVersions": [...]} where v is the asked
 * version when we support it, else "1.0.0". New reference. */
json_t *cni_version_json(const char *asked);

/* {"cniVersion","code","msg","details"?}. New reference. */
json_t *cni_error_json(const char *version, const struct cni_err *err);

/* The owner tag of an attach, "cni:<container id>/<ifname>", which is what
 * DEL and CHECK find the endpoint by. -ENAMETOOLONG if it does not fit. */
int cni_owner(char *buf, size_t size, const struct cni_env *env);

/* The ADD result in the shape of version, from the agent's network and
 * endpoint objects (docs/api.md) and its resolver address (NULL = none).
 * Routes: a default route per family via the gateway unless the network is
 * internal. NULL with err on a malformed agent answer. New reference. */
json_t *cni_result_build(const char *version, const json_t *network, const json_t *endpoint,
			 const char *dns, struct cni_err *err);

/* The addresses of prevResult's ips[] that belong to the container
 * interface ifname (entries without "interface" count as its own), as
 * prefixes; *n in: capacity, out: count. -EINVAL with err (code 6) when
 * prevResult is malformed. */
int cni_prev_addrs(const json_t *prev, const char *ifname, struct ovn_prefix *out, int *n,
		   struct cni_err *err);

#endif
