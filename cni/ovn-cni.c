/* ovn-cni.c: the CNI plugin binary. The runtime (podman, kubelet's
 * runtime, ...) executes it once per operation with CNI_* in the
 * environment and the network configuration on stdin; it asks the local
 * ovnagent over its API socket (docs/api.md) and prints one JSON answer.
 *
 *   ADD     GET the network (a clear code 7 when it does not exist), GET
 *           status (the resolver address, unless "dns": false), POST an
 *           attach with owner "cni:<container id>/<ifname>"; print the
 *           result. The attach is the last agent call, so nothing needs
 *           undoing when an earlier one fails.
 *   DEL     POST detach by that owner. "No such network/endpoint" is
 *           success: DEL is idempotent and may come after a failed ADD,
 *           twice, or after the namespace is gone (the agent forgets an
 *           endpoint whose namespace vanished at its next reconcile).
 *   CHECK   the agent still has the endpoint, its addresses are the
 *           prevResult's, and the interface in the namespace has them.
 *   VERSION the versions of cni.c.
 * Failures print {"cniVersion","code","msg"} on stdout and exit 1; an
 * unreachable agent is code 11 (try again later).
 *
 * Does not: log to files, retry (the runtime does), or keep state: the
 * agent is the only record, so a plugin killed at any point leaves what
 * the agent's own attach/detach ordering leaves (nothing, after reconcile).
 * The HTTP client is ovnctl's (cli/client.c), shared as an object.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client.h"
#include "cni.h"
#include "model.h"
#include "util.h"

/* An attach does a store transaction; the agent bounds that by its own
 * store timeout, so this only catches a wedged agent. */
#define AGENT_TIMEOUT_MS 30000
#define STDIN_MAX (1u << 20)

static const char *env_get(const char *name, void *arg)
{
	return getenv(name);
}

static int read_stdin(char **out, size_t *len, struct cni_err *err)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *p;
	ssize_t r;

	while (buf) {
		if (n == cap) {
			if (cap >= STDIN_MAX)
				break;
			p = realloc(buf, cap * 2);
			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return cni_err_set(err, CNI_ERR_IO, "stdin: %s", strerror(errno));
		}
		if (r == 0) {
			*out = buf;
			*len = n;
			return 0;
		}
		n += (size_t)r;
	}
	free(buf);
	return cni_err_set(err, CNI_ERR_IO, "stdin: network configuration over 1 MiB or out "
			   "of memory");
}

/* ---- agent calls --------------------------------------------------------- */

/* One request; *answer is the parsed body (NULL if none or not JSON) and
 * the return the HTTP status, or -errno with err filled (code 11 when the
 * agent cannot be reached: it may be restarting). */
static int agent_call(const struct cni_conf *c, const char *method, const char *path,
		      json_t *body, json_t **answer, struct cni_err *err)
{
	struct ovn_err oe = { 0 };
	struct cli_resp resp = { 0 };
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int r;

	*answer = NULL;
	if (body && !s)
		return cni_err_set(err, CNI_ERR_OTHER, "out of memory");
	r = cli_http_request(c->socket, AGENT_TIMEOUT_MS, method, path, s, &resp, &oe);
	free(s);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EAGAIN) {
		cni_err_set(err, CNI_ERR_AGAIN, "ovnagent is not reachable at %s: %s (is it "
			    "running? the conf's \"socket\" names its API socket)", c->socket,
			    strerror(-r));
		snprintf(err->details, sizeof(err->details), "%s", oe.msg);
		goto out;
	}
	if (r < 0) {
		cni_err_set(err, CNI_ERR_OTHER, "%s", oe.msg);
		goto out;
	}
	*answer = json_loads(resp.body, 0, NULL);
	r = resp.status;
out:
	cli_resp_free(&resp);
	return r;
}

/* Turn a failed status into err, with the agent's own message. */
static int agent_fail(int status, json_t *answer, const char *what, struct cni_err *err)
{
	const char *m = json_string_value(json_object_get(answer, "error"));

	if (status < 0)
		return status;
	return cni_err_set(err, status == 503 ? CNI_ERR_AGAIN : CNI_ERR_OTHER, "%s: %s", what,
			   m ? m : "the agent answered without a message");
}

static int get_network(const struct cni_conf *c, json_t **net, struct cni_err *err)
{
	char path[320];
	int st;

	snprintf(path, sizeof(path), "/v1/networks/%s", c->network);
	st = agent_call(c, "GET", path, NULL, net, err);
	if (st == 200 && json_is_object(*net))
		return 0;
	if (st == 404)
		cni_err_set(err, CNI_ERR_CONFIG, "network %s does not exist in ovn (create it first: "
			    "ovnctl network create %s --subnet ...)", c->network, c->network);
	agent_fail(st, *net, "network", err);
	json_decref(*net);
	*net = NULL;
	return -EINVAL;
}

/* The containers' resolver, or NULL when the agent serves none. */
static int get_dns(const struct cni_conf *c, char *buf, size_t size, struct cni_err *err)
{
	json_t *st_j = NULL;
	const char *d;
	int st, ret = 0;

	buf[0] = '\0';
	if (!c->dns)
		return 0;
	st = agent_call(c, "GET", "/v1/status", NULL, &st_j, err);
	if (st != 200) {
		ret = agent_fail(st, st_j, "status", err);
		goto out;
	}
	d = json_string_value(json_object_get(st_j, "dns"));
	if (d)
		snprintf(buf, size, "%s", d);
out:
	json_decref(st_j);
	return ret;
}

/* ---- ADD ------------------------------------------------------------------ */

/* K8S_POD_NAME when it is a DNS name (podman's container name), else the
 * short container id, else none. */
static const char *ep_name(const struct cni_env *env, char *buf, size_t size)
{
	if (env->pod_name[0] && strlen(env->pod_name) <= 63 && model_dns_name_ok(env->pod_name))
		return env->pod_name;
	snprintf(buf, size, "%.12s", env->container_id);
	return model_dns_name_ok(buf) ? buf : NULL;
}

/* Aliases but the name itself and repeats (podman lists the container
 * name among them). */
static json_t *ep_aliases(const struct cni_conf *c, const char *name)
{
	json_t *out = json_array(), *v, *w;
	size_t i, k;

	json_array_foreach(c->aliases, i, v) {
		bool dup = name && !strcasecmp(json_string_value(v), name);

		json_array_foreach(out, k, w)
			dup = dup || !strcasecmp(json_string_value(v), json_string_value(w));
		if (!dup)
			json_array_append(out, v);
	}
	return out;
}

static json_t *attach_body(const struct cni_env *env, const struct cni_conf *c,
			   const char *owner)
{
	char nbuf[16], s[OVN_IP_STRLEN];
	const char *name = ep_name(env, nbuf, sizeof(nbuf));
	json_t *b = json_pack("{s:s, s:s, s:s, s:o}", "netns", env->netns, "ifname",
			      env->ifname, "owner", owner, "aliases", ep_aliases(c, name));

	if (!b)
		return NULL;
	if (name)
		json_object_set_new(b, "name", json_string(name));
	if (env->ipv4.family)
		json_object_set_new(b, "ipv4", json_string(ovn_ip_str(&env->ipv4, s)));
	if (env->ipv6.family)
		json_object_set_new(b, "ipv6", json_string(ovn_ip_str(&env->ipv6, s)));
	if (env->has_mac)
		json_object_set_new(b, "mac", json_string(ovn_mac_str(&env->mac, s)));
	return b;
}

static int cmd_add(const struct cni_env *env, const struct cni_conf *c, json_t **out,
		   struct cni_err *err)
{
	json_t *net = NULL, *body = NULL, *ep = NULL;
	char owner[NM_OWNER_MAX + 1], dns[OVN_IP_STRLEN], path[320];
	int st, ret;

	ret = cni_owner(owner, sizeof(owner), env);
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_ENV, "CNI_CONTAINERID: too long for an owner tag");
		goto out;
	}
	if ((ret = get_network(c, &net, err)) < 0 || (ret = get_dns(c, dns, sizeof(dns), err)) < 0)
		goto out;
	ret = -EINVAL;
	body = attach_body(env, c, owner);
	if (!body) {
		cni_err_set(err, CNI_ERR_OTHER, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/networks/%s/endpoints", c->network);
	st = agent_call(c, "POST", path, body, &ep, err);
	if (st != 201) {
		agent_fail(st, ep, "attach", err);
		goto out;
	}
	*out = cni_result_build(c->version, net, ep, dns[0] ? dns : NULL, err);
	ret = *out ? 0 : -EINVAL;
out:
	json_decref(net);
	json_decref(body);
	json_decref(ep);
	return ret;
}

/* ---- DEL ------------------------------------------------------------------ */

static int cmd_del(const struct cni_env *env, const struct cni_conf *c, struct cni_err *err)
{
	char owner[NM_OWNER_MAX + 1], path[320];
	json_t *body, *ans = NULL;
	int st;

	/* An id too long for an owner tag was never attached. */
	if (cni_owner(owner, sizeof(owner), env) < 0)
		return 0;
	body = json_pack("{s:s}", "owner", owner);
	if (!body)
		return cni_err_set(err, CNI_ERR_OTHER, "out of memory");
	snprintf(path, sizeof(path), "/v1/networks/%s/detach", c->network);
	st = agent_call(c, "POST", path, body, &ans, err);
	json_decref(body);
	if (st != 200 && st != 404)
		agent_fail(st, ans, "detach", err);
	json_decref(ans);
	return st == 200 || st == 404 ? 0 : -EINVAL;
}

/* ---- CHECK ---------------------------------------------------------------- */

static json_t *find_owned(json_t *eps, const char *owner)
{
	json_t *e;
	size_t i;

	json_array_foreach(eps, i, e)
		if (json_string_value(json_object_get(e, "owner")) &&
		    !strcmp(json_string_value(json_object_get(e, "owner")), owner))
			return e;
	return NULL;
}

static bool prefix_in(const struct ovn_prefix *p, const struct ovn_prefix *set, int n)
{
	for (int i = 0; i < n; i++)
		if (set[i].len == p->len && ovn_ip_equal(&set[i].ip, &p->ip))
			return true;
	return false;
}

static const char *ep_id(const json_t *ep)
{
	const char *id = json_string_value(json_object_get(ep, "id"));

	return id ? id : "?";
}

/* The agent's endpoint has exactly the addresses of prevResult. */
static int check_record(const json_t *ep, const struct ovn_prefix *want, int n,
			struct cni_err *err)
{
	static const char *const keys[] = { "ipv4", "ipv6" };
	struct ovn_prefix have[2];
	int nh = 0;

	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		const char *a = json_string_value(json_object_get(ep, keys[k]));

		if (!a)
			continue;
		if (ovn_prefix_parse(&have[nh], a, true) < 0 || !prefix_in(&have[nh], want, n))
			return cni_err_set(err, CNI_ERR_OTHER, "endpoint %s has %s, which "
					   "prevResult does not list", ep_id(ep), a);
		nh++;
	}
	for (int i = 0; i < n; i++)
		if (!prefix_in(&want[i], have, nh))
			return cni_err_set(err, CNI_ERR_OTHER, "prevResult lists an address the "
					   "agent's endpoint %s does not have", ep_id(ep));
	return 0;
}

/* Addresses on ifname inside the current network namespace. */
static int ifaddrs_of(const char *ifname, struct ovn_prefix *out, int cap, int *n, bool *up)
{
	struct ifaddrs *ifa = NULL;
	struct ovn_prefix m;

	*n = 0;
	*up = false;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		int fam = i->ifa_addr ? i->ifa_addr->sa_family : 0;

		if (strcmp(i->ifa_name, ifname))
			continue;
		*up = *up || (i->ifa_flags & IFF_UP);
		if ((fam != AF_INET && fam != AF_INET6) || *n == cap || !i->ifa_netmask)
			continue;
		out[*n] = (struct ovn_prefix){ .ip.family = fam };
		memset(&m, 0, sizeof(m));
		if (fam == AF_INET) {
			memcpy(out[*n].ip.b, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			memcpy(m.ip.b, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr, 4);
		} else {
			memcpy(out[*n].ip.b, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			memcpy(m.ip.b, &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, 16);
		}
		for (int b = 0; b < 16; b++)
			out[*n].len += (uint8_t)__builtin_popcount(m.ip.b[b]);
		(*n)++;
	}
	freeifaddrs(ifa);
	return 0;
}

/* Enter the container's namespace (this process is single-threaded and
 * exits right after) and compare its interface with prevResult. */
static int check_netns(const struct cni_env *env, const struct ovn_prefix *want, int n,
		       struct cni_err *err)
{
	struct ovn_prefix have[32];
	char s[OVN_PREFIX_STRLEN];
	int fd, nh = 0, r;
	bool up;

	fd = open(env->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_NO_CONTAINER, "CNI_NETNS %s: %s", env->netns,
				   strerror(errno));
	r = setns(fd, CLONE_NEWNET);
	close(fd);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_NO_CONTAINER, "CNI_NETNS %s: setns: %s",
				   env->netns, strerror(errno));
	r = ifaddrs_of(env->ifname, have, (int)ARRAY_SIZE(have), &nh, &up);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_OTHER, "addresses in %s: %s", env->netns,
				   strerror(-r));
	if (!up)
		return cni_err_set(err, CNI_ERR_OTHER, "interface %s in %s is missing or down",
				   env->ifname, env->netns);
	for (int i = 0; i < n; i++)
		if (!prefix_in(&want[i], have, nh))
			return cni_err_set(err, CNI_ERR_OTHER, "interface %s in %s lacks %s",
					   env->ifname, env->netns, ovn_prefix_str(&want[i], s));
	return 0;
}

static int cmd_check(const struct cni_env *env, const struct cni_conf *c, struct cni_err *err)
{
	struct ovn_prefix want[8];
	char owner[NM_OWNER_MAX + 1], path[320];
	json_t *net = NULL, *eps = NULL, *ep;
	int n = (int)ARRAY_SIZE(want), st, ret;

	if (!strncmp(c->version, "0.3.", 4))
		return cni_err_set(err, CNI_ERR_VERSION, "CHECK needs cniVersion 0.4.0 or later "
				   "(the conf says %s)", c->version);
	if (!c->prev)
		return cni_err_set(err, CNI_ERR_CONFIG, "CHECK needs prevResult");
	if ((ret = cni_prev_addrs(c->prev, env->ifname, want, &n, err)) < 0 ||
	    (ret = cni_owner(owner, sizeof(owner), env)) < 0 ||
	    (ret = get_network(c, &net, err)) < 0)
		goto out;
	snprintf(path, sizeof(path), "/v1/endpoints?network=%s", c->network);
	st = agent_call(c, "GET", path, NULL, &eps, err);
	ret = -EINVAL;
	if (st != 200) {
		agent_fail(st, eps, "endpoints", err);
		goto out;
	}
	ep = find_owned(eps, owner);
	if (!ep) {
		cni_err_set(err, CNI_ERR_OTHER, "ovn has no endpoint of container %.12s (%s) on "
			    "network %s", env->container_id, env->ifname, c->network);
		goto out;
	}
	if ((ret = check_record(ep, want, n, err)) < 0)
		goto out;
	ret = check_netns(env, want, n, err);
out:
	if (ret < 0 && !err->code)
		cni_err_set(err, CNI_ERR_OTHER, "check failed: %s", strerror(-ret));
	json_decref(net);
	json_decref(eps);
	return ret;
}

/* ---- main ------------------------------------------------------------------ */

/* VERSION reads only cniVersion; a broken stdin still gets the list. */
static json_t *cmd_version(const char *in, size_t len)
{
	json_t *j = json_loadb(in, len, 0, NULL);
	json_t *out = cni_version_json(json_string_value(json_object_get(j, "cniVersion")));

	json_decref(j);
	return out;
}

static int print_json(json_t *j)
{
	if (!j || json_dumpf(j, stdout, JSON_COMPACT) < 0)
		return -EIO;
	fputc('\n', stdout);
	return fflush(stdout) ? -EIO : 0;
}

int main(void)
{
	struct cni_err err = { 0 };
	struct cni_conf conf = { 0 };
	struct cni_env env;
	json_t *out = NULL;
	char *in = NULL;
	size_t len = 0;
	int ret;

	if ((ret = cni_env_parse(&env, env_get, NULL, &err)) < 0 ||
	    (ret = read_stdin(&in, &len, &err)) < 0)
		goto out;
	if (env.cmd == CNI_CMD_VERSION) {
		out = cmd_version(in, len);
		goto out;
	}
	if ((ret = cni_conf_parse(&conf, in, len, &err)) < 0)
		goto out;
	if (env.cmd == CNI_CMD_ADD)
		ret = cmd_add(&env, &conf, &out, &err);
	else if (env.cmd == CNI_CMD_DEL)
		ret = cmd_del(&env, &conf, &err);
	else
		ret = cmd_check(&env, &conf, &err);
out:
	if (ret < 0) {
		json_decref(out);
		out = cni_error_json(conf.version, &err);
	}
	if (out && print_json(out) < 0 && !ret)
		ret = -EIO;
	json_decref(out);
	cni_conf_free(&conf);
	free(in);
	return ret < 0 ? 1 : 0;
}
