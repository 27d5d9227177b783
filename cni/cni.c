/* cni.c: decoders and encoders of ovn-cni (see cni.h).
 *
 * Decoders check form only and say which variable or field is wrong, with
 * the spec's error code for it; whether a network or an address is usable
 * is the agent's decision, so the plugin never second-guesses netmgr.
 *
 * Does not: merge a prevResult into an ADD result (ovn-cni creates the
 * interface, so it must be the first plugin of a chain; a prevResult given
 * to ADD is ignored). TODO: portMappings (no NAT in ovn yet).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni.h"
#include "model.h"
#include "util.h"

const char *const cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", NULL };

int cni_err_set(struct cni_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code)
		return -EINVAL;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool cni_version_supported(const char *v)
{
	for (const char *const *p = cni_versions; *p; p++)
		if (!strcmp(*p, v))
			return true;
	return false;
}

/* ---- environment ----------------------------------------------------- */

static const struct {
	const char *name;
	enum cni_cmd cmd;
} cmds[] = {
	{ "ADD", CNI_CMD_ADD },
	{ "DEL", CNI_CMD_DEL },
	{ "CHECK", CNI_CMD_CHECK },
	{ "VERSION", CNI_CMD_VERSION },
};

/* The spec's container id: alphanumerics, '_', '.', '-', starting alnum. */
static bool container_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CNI_ID_MAX || !((s[0] >= '0' && s[0] <= '9') ||
					 (s[0] >= 'a' && s[0] <= 'z') ||
					 (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int env_cmd(struct cni_env *env, const char *v, struct cni_err *err)
{
	if (!v || !v[0])
		return cni_err_set(err, CNI_ERR_ENV, "CNI_COMMAND: missing (ADD, DEL, CHECK or "
				   "VERSION)");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i].name, v)) {
			env->cmd = cmds[i].cmd;
			return 0;
		}
	return cni_err_set(err, CNI_ERR_ENV, "CNI_COMMAND: '%.64s' is not ADD, DEL, CHECK or "
			   "VERSION", v);
}

int cni_env_parse(struct cni_env *env, const char *(*get)(const char *name, void *arg),
		  void *arg, struct cni_err *err)
{
	const char *id, *ns, *ifn, *args;
	int r;

	memset(env, 0, sizeof(*env));
	if ((r = env_cmd(env, get("CNI_COMMAND", arg), err)) < 0)
		return r;
	if (env->cmd == CNI_CMD_VERSION)
		return 0;
	id = get("CNI_CONTAINERID", arg);
	ns = get("CNI_NETNS", arg);
	ifn = get("CNI_IFNAME", arg);
	args = get("CNI_ARGS", arg);
	if (!id || !container_id_ok(id))
		return cni_err_set(err, CNI_ERR_ENV, "CNI_CONTAINERID: '%.64s' is not a container "
				   "id (1-255 of A-Z a-z 0-9 _ . -)", id ? id : "");
	snprintf(env->container_id, sizeof(env->container_id), "%s", id);
	if (!ifn || !model_ifname_ok(ifn))
		return cni_err_set(err, CNI_ERR_ENV, "CNI_IFNAME: '%.64s' is not an interface name "
				   "(1-15 characters, no '/', ':' or spaces)", ifn ? ifn : "");
	snprintf(env->ifname, sizeof(env->ifname), "%s", ifn);
	/* DEL may come after the namespace is gone, with CNI_NETNS empty. */
	if ((!ns || !ns[0]) && env->cmd != CNI_CMD_DEL)
		return cni_err_set(err, CNI_ERR_ENV, "CNI_NETNS: missing (the path of the "
				   "container's network namespace)");
	if (ns && ns[0] && (ns[0] != '/' || ovn_strlcpy(env->netns, ns, sizeof(env->netns)) < 0))
		return cni_err_set(err, CNI_ERR_ENV, "CNI_NETNS: '%.64s' is not an absolute path "
				   "of at most %d characters", ns, CNI_PATH_MAX);
	return args ? cni_args_parse(env, args, err) : 0;
}

/* ---- CNI_ARGS ---------------------------------------------------------- */

static int arg_ip(struct cni_env *env, const char *v, struct cni_err *err)
{
	char buf[256], *save = NULL, *tok;
	struct ovn_ip ip;

	if (ovn_strlcpy(buf, v, sizeof(buf)) < 0 || !v[0])
		return cni_err_set(err, CNI_ERR_ENV, "CNI_ARGS: IP: expected one IPv4 and/or one "
				   "IPv6 address, comma separated");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct ovn_ip *slot;

		if (ovn_ip_parse(&ip, tok) < 0)
			return cni_err_set(err, CNI_ERR_ENV, "CNI_ARGS: IP: '%.64s' is not an IP "
					   "address", tok);
		slot = ip.family == AF_INET ? &env->ipv4 : &env->ipv6;
		if (slot->family)
			return cni_err_set(err, CNI_ERR_ENV, "CNI_ARGS: IP: more than one IPv%c "
					   "address", ip.family == AF_INET ? '4' : '6');
		*slot = ip;
	}
	return 0;
}

static int arg_mac(struct cni_env *env, const char *v, struct cni_err *err)
{
	if (ovn_mac_parse(&env->mac, v, true) < 0)
		return cni_err_set(err, CNI_ERR_ENV, "CNI_ARGS: MAC: '%.64s' is not a unicast MAC "
				   "address (aa:bb:cc:dd:ee:ff)", v);
	env->has_mac = true;
	return 0;
}

static int arg_pod_name(struct cni_env *env, const char *v, struct cni_err *err)
{
	if (ovn_strlcpy(env->pod_name, v, sizeof(env->pod_name)) < 0)
		return cni_err_set(err, CNI_ERR_ENV, "CNI_ARGS: K8S_POD_NAME: longer than %d "
				   "characters", CNI_NAME_MAX);
	return 0;
}

static int arg_ignore(struct cni_env *env, const char *v, struct cni_err *err)
{
	return 0;
}

static const struct {
	const char *key;
	int (*fn)(struct cni_env *env, const char *v, struct cni_err *err);
} arg_keys[] = {
	{ "IP", arg_ip },
	{ "MAC", arg_mac },
	{ "K8S_POD_NAME", arg_pod_name },
	{ "K8S_POD_NAMESPACE", arg_ignore },
	{ "K8S_POD_INFRA_CONTAINER_ID", arg_ignore },
	{ "K8S_POD_UID", arg_ignore },
	{ "IgnoreUnknown", arg_ignore },
};

/* IgnoreUnknown may come anywhere in the list, so look for it first. */
static bool args_ignore_unknown(const char *args)
{
	const char *p = args;

	while (p && *p) {
		if (!strncmp(p, "IgnoreUnknown=", 14)) {
			const char *v = p + 14;
			size_t n = strcspn(v, ";");

			return (n == 1 && v[0] == '1') || (n == 4 && !strncasecmp(v, "true", 4));
		}
		p = strchr(p, ';');
		p = p ? p + 1 : NULL;
	}
	return false;
}

static int arg_one(struct cni_env *env, char *kv, bool ignore, struct cni_err *err)
{
	char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return cni_err_set(err, CNI_ERR_ENV, "CNI_ARGS: '%.64s' is not KEY=VALUE", kv);
	*eq = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(arg_keys); i++)
		if (!strcmp(arg_keys[i].key, kv))
			return arg_keys[i].fn(env, eq + 1, err);
	if (ignore)
		return 0;
	return cni_err_set(err, CNI_ERR_ENV, "CNI_ARGS: unknown key '%.64s' (add "
			   "IgnoreUnknown=1 to pass keys for other plugins)", kv);
}

int cni_args_parse(struct cni_env *env, const char *args, struct cni_err *err)
{
	bool ignore = args_ignore_unknown(args);
	char *copy = strdup(args), *save = NULL, *kv;
	int r = 0;

	if (!copy)
		return cni_err_set(err, CNI_ERR_OTHER, "out of memory");
	for (kv = strtok_r(copy, ";", &save); kv && !r; kv = strtok_r(NULL, ";", &save))
		r = arg_one(env, kv, ignore, err);
	free(copy);
	return r;
}

/* ---- configuration ------------------------------------------------------ */

static int conf_str(const json_t *j, const char *key, char *buf, size_t size, bool required,
		    struct cni_err *err)
{
	json_t *v = json_object_get(j, key);

	buf[0] = '\0';
	if (!v && !required)
		return 0;
	if (!v)
		return cni_err_set(err, CNI_ERR_CONFIG, "%s: missing", key);
	if (!json_is_string(v) || !json_string_length(v))
		return cni_err_set(err, CNI_ERR_CONFIG, "%s: expected a non-empty string", key);
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    ovn_strlcpy(buf, json_string_value(v), size) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, "%s: longer than %zu characters or has a "
				   "NUL byte", key, size - 1);
	return 0;
}

/* runtimeConfig.aliases is {"<network name>": ["a", ...]}: keep ours. */
static int conf_aliases(struct cni_conf *c, const json_t *j, struct cni_err *err)
{
	json_t *rc = json_object_get(j, "runtimeConfig"), *al, *mine, *v;
	size_t i;

	c->aliases = json_array();
	if (!c->aliases)
		return cni_err_set(err, CNI_ERR_OTHER, "out of memory");
	if (!rc)
		return 0;
	if (!json_is_object(rc))
		return cni_err_set(err, CNI_ERR_CONFIG, "runtimeConfig: expected an object");
	al = json_object_get(rc, "aliases");
	if (!al)
		return 0;
	if (!json_is_object(al))
		return cni_err_set(err, CNI_ERR_CONFIG, "runtimeConfig.aliases: expected an object "
				   "of network name -> [names]");
	mine = json_object_get(al, c->name);
	if (!mine)
		return 0;
	if (!json_is_array(mine))
		return cni_err_set(err, CNI_ERR_CONFIG, "runtimeConfig.aliases.%s: expected an "
				   "array of names", c->name);
	json_array_foreach(mine, i, v) {
		if (!json_is_string(v))
			return cni_err_set(err, CNI_ERR_CONFIG, "runtimeConfig.aliases.%s[%zu]: "
					   "expected a string", c->name, i);
		json_array_append(c->aliases, v);
	}
	return 0;
}

static int conf_fields(struct cni_conf *c, const json_t *j, struct cni_err *err)
{
	json_t *dns = json_object_get(j, "dns"), *prev = json_object_get(j, "prevResult");
	char type[CNI_NAME_MAX + 1];
	int r;

	if ((r = conf_str(j, "name", c->name, sizeof(c->name), true, err)) < 0 ||
	    (r = conf_str(j, "type", type, sizeof(type), true, err)) < 0 ||
	    (r = conf_str(j, "network", c->network, sizeof(c->network), false, err)) < 0 ||
	    (r = conf_str(j, "socket", c->socket, sizeof(c->socket), false, err)) < 0)
		return r;
	if (json_object_get(j, "ipam"))
		return cni_err_set(err, CNI_ERR_UNSUPPORTED, "ipam: ovn-cni takes addresses from "
				   "the ovn network's own IPAM (remove the ipam section)");
	if (dns && !json_is_boolean(dns))
		return cni_err_set(err, CNI_ERR_CONFIG, "dns: expected true or false (the ovn "
				   "resolver in results; \"dns\" objects are not supported)");
	c->dns = !dns || json_is_true(dns);
	if (prev && !json_is_object(prev))
		return cni_err_set(err, CNI_ERR_CONFIG, "prevResult: expected an object");
	c->prev = json_incref(prev);
	return conf_aliases(c, j, err);
}

static int conf_check(struct cni_conf *c, struct cni_err *err)
{
	if (!c->network[0])
		memcpy(c->network, c->name, sizeof(c->network));
	if (!model_network_name_ok(c->network))
		return cni_err_set(err, CNI_ERR_CONFIG, "network: '%.64s' is not an ovn network "
				   "name (1-64 of A-Z a-z 0-9 _ . -; set \"network\" when the CNI "
				   "name is not one)", c->network);
	if (!c->socket[0])
		snprintf(c->socket, sizeof(c->socket), "%s", CNI_DEFAULT_SOCKET);
	/* sockaddr_un.sun_path holds 107 characters */
	if (c->socket[0] != '/' || strlen(c->socket) > 107)
		return cni_err_set(err, CNI_ERR_CONFIG, "socket: '%.64s' is not an absolute path "
				   "of at most 107 characters", c->socket);
	return 0;
}

int cni_conf_parse(struct cni_conf *c, const char *buf, size_t len, struct cni_err *err)
{
	json_error_t je;
	json_t *j;
	int r;

	memset(c, 0, sizeof(*c));
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return cni_err_set(err, CNI_ERR_DECODE, "network configuration: invalid JSON at "
				   "line %d column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(j)) {
		r = cni_err_set(err, CNI_ERR_DECODE, "network configuration: expected a JSON "
				"object");
		goto out;
	}
	if ((r = conf_str(j, "cniVersion", c->version, sizeof(c->version), true, err)) < 0)
		goto out;
	if (!cni_version_supported(c->version)) {
		r = cni_err_set(err, CNI_ERR_VERSION, "cniVersion: '%s' is not supported (0.3.0, "
				"0.3.1, 0.4.0, 1.0.0)", c->version);
		goto out;
	}
	if ((r = conf_fields(c, j, err)) < 0)
		goto out;
	r = conf_check(c, err);
out:
	json_decref(j);
	if (r < 0)
		cni_conf_free(c);
	return r;
}

void cni_conf_free(struct cni_conf *c)
{
	json_decref(c->aliases);
	json_decref(c->prev);
	c->aliases = c->prev = NULL;
}

/* ---- answers ------------------------------------------------------------ */

json_t *cni_version_json(const char *asked)
{
	json_t *j, *a = json_array();

	for (const char *const *p = cni_versions; a && *p; p++)
		json_array_append_new(a, json_string(*p));
	j = json_pack("{s:s, s:o}", "cniVersion",
		      asked && cni_version_supported(asked) ? asked : "1.0.0",
		      "supportedVersions", a);
	return j;
}

json_t *cni_error_json(const char *version, const struct cni_err *err)
{
	json_t *j = json_pack("{s:s, s:i, s:s}", "cniVersion",
			      version && cni_version_supported(version) ? version : "1.0.0",
			      "code", err->code ? err->code : CNI_ERR_OTHER, "msg",
			      err->msg[0] ? err->msg : "failed");

	if (j && err->details[0])
		json_object_set_new(j, "details", json_string(err->details));
	return j;
}

int cni_owner(char *buf, size_t size, const struct cni_env *env)
{
	int n = snprintf(buf, size, "cni:%s/%s", env->container_id, env->ifname);

	return n < 0 || (size_t)n >= size || n > NM_OWNER_MAX ? -ENAMETOOLONG : 0;
}

static const char *jstr(const json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* Gateway of network's subnet of that family, or NULL. */
static const char *gateway_of(const json_t *network, int family)
{
	json_t *subnets = json_object_get(network, "subnets"), *s;
	struct ovn_prefix p;
	size_t i;

	json_array_foreach(subnets, i, s) {
		const char *sub = jstr(s, "subnet");

		if (sub && ovn_prefix_parse(&p, sub, true) == 0 && p.ip.family == family)
			return jstr(s, "gateway");
	}
	return NULL;
}

/* One ips[] entry (+ its default route) for the endpoint's address key. */
static int result_ip(json_t *res, const char *version, const json_t *network,
		     const json_t *ep, int family, struct cni_err *err)
{
	const char *addr = jstr(ep, family == AF_INET ? "ipv4" : "ipv6");
	const char *gw = gateway_of(network, family);
	json_t *ip;

	if (!addr)
		return 0;
	if (!gw)
		return cni_err_set(err, CNI_ERR_OTHER, "agent answer: no IPv%c gateway on network "
				   "%s", family == AF_INET ? '4' : '6', jstr(network, "name"));
	ip = json_pack("{s:s, s:s, s:i}", "address", addr, "gateway", gw, "interface", 1);
	if (ip && strcmp(version, "1.0.0"))
		json_object_set_new(ip, "version", json_string(family == AF_INET ? "4" : "6"));
	json_array_append_new(json_object_get(res, "ips"), ip);
	if (!json_is_true(json_object_get(network, "internal")))
		json_array_append_new(json_object_get(res, "routes"),
				      json_pack("{s:s, s:s}", "dst", family == AF_INET ?
						"0.0.0.0/0" : "::/0", "gw", gw));
	return 0;
}

json_t *cni_result_build(const char *version, const json_t *network, const json_t *ep,
			 const char *dns, struct cni_err *err)
{
	const char *host = jstr(ep, "host_ifname"), *ifn = jstr(ep, "ifname");
	const char *mac = jstr(ep, "mac"), *ns = jstr(ep, "netns"), *net = jstr(network, "name");
	json_t *res;

	if (!host || !ifn || !mac || !ns || !net) {
		cni_err_set(err, CNI_ERR_OTHER, "agent answer: endpoint or network lacks "
			    "host_ifname, ifname, mac, netns or name");
		return NULL;
	}
	res = json_pack("{s:s, s:[{s:s}, {s:s, s:s, s:s}], s:[], s:[]}", "cniVersion", version,
			"interfaces", "name", host, "name", ifn, "mac", mac, "sandbox", ns,
			"ips", "routes");
	if (!res) {
		cni_err_set(err, CNI_ERR_OTHER, "out of memory");
		return NULL;
	}
	if (result_ip(res, version, network, ep, AF_INET, err) < 0 ||
	    result_ip(res, version, network, ep, AF_INET6, err) < 0) {
		json_decref(res);
		return NULL;
	}
	/* search: "name.<network>" answers too, so a bare name resolves
	 * whatever the resolver's ndots. */
	if (dns && dns[0])
		json_object_set_new(res, "dns", json_pack("{s:[s], s:[s]}", "nameservers", dns,
							  "search", net));
	return res;
}

/* Whether ips[] entry ip belongs to the interface named ifname. */
static int prev_ip_is(const json_t *prev, const json_t *ip, const char *ifname, bool *mine,
		      struct cni_err *err)
{
	json_t *idx = json_object_get(ip, "interface"), *ifs, *it;

	*mine = true;
	if (!idx)
		return 0;
	ifs = json_object_get(prev, "interfaces");
	if (!json_is_integer(idx) || !json_is_array(ifs) || json_integer_value(idx) < 0 ||
	    (size_t)json_integer_value(idx) >= json_array_size(ifs))
		return cni_err_set(err, CNI_ERR_DECODE, "prevResult: ips[].interface is not an "
				   "index of interfaces[]");
	it = json_array_get(ifs, (size_t)json_integer_value(idx));
	*mine = jstr(it, "name") && !strcmp(jstr(it, "name"), ifname);
	return 0;
}

int cni_prev_addrs(const json_t *prev, const char *ifname, struct ovn_prefix *out, int *n,
		   struct cni_err *err)
{
	json_t *ips = json_object_get(prev, "ips"), *ip;
	int cap = *n, r;
	size_t i;
	bool mine;

	*n = 0;
	if (!json_is_object(prev) || (ips && !json_is_array(ips)))
		return cni_err_set(err, CNI_ERR_DECODE, "prevResult: expected an object with an "
				   "ips array");
	json_array_foreach(ips, i, ip) {
		const char *a = jstr(ip, "address");

		if ((r = prev_ip_is(prev, ip, ifname, &mine, err)) < 0)
			return r;
		if (!mine)
			continue;
		if (*n == cap)
			return cni_err_set(err, CNI_ERR_DECODE, "prevResult: more than %d "
					   "addresses on %s", cap, ifname);
		if (!a || ovn_prefix_parse(&out[*n], a, true) < 0)
			return cni_err_set(err, CNI_ERR_DECODE, "prevResult: ips[%zu].address is "
					   "not an address/length", i);
		(*n)++;
	}
	return 0;
}
