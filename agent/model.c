/* model.c: JSON codecs for networks and endpoints (see model.h).
 *
 * Decoders are strict: every object is checked against a list of allowed
 * keys first, so a misspelt field is an error instead of a silent default,
 * and every field error names the field ("subnets[1].gateway: ..."). */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "model.h"
#include "util.h"

/* ---- small field helpers ------------------------------------------------ */

static int check_keys(const json_t *obj, const char *what, const char *const *allowed,
		      struct ovn_err *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return ovn_err_set(err, -EINVAL, "%s: expected a JSON object", what);
	json_object_foreach((json_t *)obj, key, v) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, key); a++)
			;
		if (!*a)
			return ovn_err_set(err, -EINVAL, "%s: unknown field '%s'", what, key);
	}
	return 0;
}

/* Copy string field key of obj into buf; absent is fine unless required. */
static int get_str(const json_t *obj, const char *key, char *buf, size_t size, bool required,
		   struct ovn_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		if (required)
			return ovn_err_set(err, -EINVAL, "%s: missing", key);
		buf[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return ovn_err_set(err, -EINVAL, "%s: expected a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ovn_err_set(err, -EINVAL, "%s: contains a NUL byte", key);
	if (ovn_strlcpy(buf, json_string_value(v), size) < 0)
		return ovn_err_set(err, -EINVAL, "%s: longer than %zu characters", key, size - 1);
	return 0;
}

static int get_uint(const json_t *obj, const char *key, uint64_t max, uint64_t *out,
		    struct ovn_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return ovn_err_set(err, -EINVAL, "%s: expected an integer from 0 to %llu", key,
				   (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_bool(const json_t *obj, const char *key, bool *out, struct ovn_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return ovn_err_set(err, -EINVAL, "%s: expected true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int get_ip(const json_t *obj, const char *key, int family, struct ovn_ip *ip,
		  struct ovn_err *err)
{
	char buf[OVN_IP_STRLEN];
	int r = get_str(obj, key, buf, sizeof(buf), false, err);

	if (r < 0 || !buf[0])
		return r;
	if (ovn_ip_parse(ip, buf) < 0 || (family && ip->family != family))
		return ovn_err_set(err, -EINVAL, "%s: '%s' is not an %s address", key, buf,
				   family == AF_INET6 ? "IPv6" : family == AF_INET ? "IPv4" : "IP");
	return 0;
}

static int get_prefix(const json_t *obj, const char *key, struct ovn_prefix *p,
		      struct ovn_err *err)
{
	char buf[OVN_PREFIX_STRLEN];
	int r = get_str(obj, key, buf, sizeof(buf), false, err);

	if (r < 0 || !buf[0])
		return r;
	if (ovn_prefix_parse(p, buf, true) < 0)
		return ovn_err_set(err, -EINVAL, "%s: '%s' is not an address/length", key, buf);
	return 0;
}

/* An array of DNS names (aliases), copied; never NULL on success. */
static int get_names(const json_t *obj, const char *key, json_t **out, struct ovn_err *err)
{
	json_t *v = json_object_get(obj, key), *item;
	size_t i;

	*out = json_array();
	if (!*out)
		return -ENOMEM;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return ovn_err_set(err, -EINVAL, "%s: expected an array of names", key);
	if (json_array_size(v) > NM_ALIASES_MAX)
		return ovn_err_set(err, -EINVAL, "%s: at most %d", key, NM_ALIASES_MAX);
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || !model_dns_name_ok(json_string_value(item)))
			return ovn_err_set(err, -EINVAL,
					   "%s[%zu]: not a DNS name (labels of 1-63 letters, "
					   "digits, '-')", key, i);
		json_array_append(*out, item);
	}
	return 0;
}

static int get_labels(const json_t *obj, json_t **out, struct ovn_err *err)
{
	json_t *v = json_object_get(obj, "labels"), *item;
	const char *k;

	*out = json_object();
	if (!*out)
		return -ENOMEM;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return ovn_err_set(err, -EINVAL, "labels: expected an object of strings");
	if (json_object_size(v) > NM_LABELS_MAX)
		return ovn_err_set(err, -EINVAL, "labels: at most %d", NM_LABELS_MAX);
	json_object_foreach(v, k, item) {
		if (!*k || strlen(k) > 128)
			return ovn_err_set(err, -EINVAL, "labels: keys must be 1-128 characters");
		if (!json_is_string(item) || json_string_length(item) > 1024)
			return ovn_err_set(err, -EINVAL,
					   "labels.%s: expected a string of at most 1024 chars", k);
		json_object_set(*out, k, item);
	}
	return 0;
}

/* ---- names -------------------------------------------------------------- */

bool model_network_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > NM_NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

bool model_dns_name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n < 1 || n > NM_DNS_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && !(c == '-' && label > 0))
			return false;
		label++;
	}
	return true;
}

bool model_ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) ||
		    !isprint((unsigned char)s[i]))
			return false;
	return true;
}

bool model_owner_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > NM_OWNER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]))
			return false;
	return true;
}

/* Optional "owner" (model_owner_ok), present means non-empty. */
static int get_owner(const json_t *j, char *buf, size_t size, struct ovn_err *err)
{
	int r = get_str(j, "owner", buf, size, false, err);

	if (r < 0)
		return r;
	if (json_object_get(j, "owner") && !model_owner_ok(buf))
		return ovn_err_set(err, -EINVAL, "owner: '%s' is not an owner tag (1-%d printable "
				   "characters, no spaces)", buf, NM_OWNER_MAX);
	return 0;
}

void model_now(char buf[NM_TIME_LEN])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, NM_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int model_new_id(char buf[NM_ID_LEN + 1])
{
	uint8_t b[NM_ID_LEN / 2];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -errno;
	for (size_t i = 0; i < sizeof(b); i++)
		sprintf(buf + 2 * i, "%02x", b[i]);
	return 0;
}

/* ---- published ports ---------------------------------------------------- */

/* "1".."65535", digits only (no sign, no spaces, no leading zero tricks
 * beyond what strtoul reads). */
static int port_parse(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int proto_parse(const char *s, uint8_t *out)
{
	if (!strcmp(s, "tcp"))
		*out = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*out = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

/* HOST_IP part: "a.b.c.d" or "[v6]"; unspecified means every address. */
static int host_parse(struct nm_publish *p, const char *s, size_t len)
{
	char buf[OVN_IP_STRLEN + 2];

	if (len + 1 > sizeof(buf))
		return -EINVAL;
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return -EINVAL;
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = '\0';
		if (ovn_ip_parse(&p->host_ip, buf) < 0 || p->host_ip.family != AF_INET6)
			return -EINVAL;
	} else {
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (ovn_ip_parse(&p->host_ip, buf) < 0 || p->host_ip.family != AF_INET)
			return -EINVAL;
	}
	for (int i = 0; i < ovn_ip_bytes(&p->host_ip); i++)
		if (p->host_ip.b[i])
			return 0;
	memset(&p->host_ip, 0, sizeof(p->host_ip));	/* 0.0.0.0 / [::] */
	return 0;
}

int model_publish_parse(struct nm_publish *p, const char *s, struct ovn_err *err)
{
	static const char usage[] = "expected [HOST_IP:]HOST_PORT:PORT[/tcp|udp]";
	const char *slash, *c1, *c2, *ports;
	size_t len;

	memset(p, 0, sizeof(*p));
	p->proto = IPPROTO_TCP;
	len = strlen(s);
	slash = strchr(s, '/');
	if (slash) {
		if (proto_parse(slash + 1, &p->proto) < 0)
			return ovn_err_set(err, -EINVAL, "publish '%s': protocol must be tcp or udp",
					   s);
		len = (size_t)(slash - s);
	}
	/* The last two colons separate the ports; what is before is the host
	 * address (an IPv6 one in brackets, so its colons come earlier). */
	c2 = memrchr(s, ':', len);
	c1 = c2 ? memrchr(s, ':', (size_t)(c2 - s)) : NULL;
	if (!c2)
		return ovn_err_set(err, -EINVAL, "publish '%s': %s", s, usage);
	ports = c1 ? c1 + 1 : s;
	if (c1 && s[0] != '[' && memchr(s, ':', (size_t)(c1 - s)))
		return ovn_err_set(err, -EINVAL, "publish '%s': put an IPv6 host address in "
				   "brackets ([fd00::1]:8080:80)", s);
	if (c1 && host_parse(p, s, (size_t)(c1 - s)) < 0)
		return ovn_err_set(err, -EINVAL, "publish '%s': host address '%.*s' is not an "
				   "IPv4 address or a bracketed IPv6 one", s, (int)(c1 - s), s);
	if (port_parse(ports, (size_t)(c2 - ports), &p->host_port) < 0 ||
	    port_parse(c2 + 1, (size_t)(s + len - c2 - 1), &p->port) < 0)
		return ovn_err_set(err, -EINVAL, "publish '%s': ports must be numbers from 1 to "
				   "65535 (%s)", s, usage);
	return 0;
}

const char *model_publish_str(const struct nm_publish *p, char buf[NM_PUBLISH_STRLEN])
{
	char ip[OVN_IP_STRLEN];
	const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";

	if (p->host_ip.family == AF_INET6)
		snprintf(buf, NM_PUBLISH_STRLEN, "[%s]:%u:%u/%s", ovn_ip_str(&p->host_ip, ip),
			 p->host_port, p->port, proto);
	else if (p->host_ip.family == AF_INET)
		snprintf(buf, NM_PUBLISH_STRLEN, "%s:%u:%u/%s", ovn_ip_str(&p->host_ip, ip),
			 p->host_port, p->port, proto);
	else
		snprintf(buf, NM_PUBLISH_STRLEN, "%u:%u/%s", p->host_port, p->port, proto);
	return buf;
}

bool model_publish_clash(const struct nm_publish *a, const struct nm_publish *b)
{
	if (a->proto != b->proto || a->host_port != b->host_port)
		return false;
	return !a->host_ip.family || !b->host_ip.family || ovn_ip_equal(&a->host_ip, &b->host_ip);
}

/* "publish": array of strings, parsed and checked against each other. */
static int get_publish(const json_t *obj, struct nm_publish **out, int *n, struct ovn_err *err)
{
	json_t *v = json_object_get(obj, "publish"), *item;
	struct nm_publish *p;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return ovn_err_set(err, -EINVAL, "publish: expected an array of strings");
	if (json_array_size(v) > NM_PUBLISH_MAX)
		return ovn_err_set(err, -EINVAL, "publish: at most %d ports", NM_PUBLISH_MAX);
	if (!json_array_size(v))
		return 0;
	p = calloc(json_array_size(v), sizeof(*p));
	if (!p)
		return ovn_err_set(err, -ENOMEM, "out of memory");
	*out = p;
	json_array_foreach(v, i, item) {
		char a[NM_PUBLISH_STRLEN];
		int r;

		if (!json_is_string(item))
			return ovn_err_set(err, -EINVAL, "publish[%zu]: expected a string", i);
		r = model_publish_parse(&p[i], json_string_value(item), err);
		if (r < 0)
			return r;
		for (size_t k = 0; k < i; k++)
			if (model_publish_clash(&p[k], &p[i]))
				return ovn_err_set(err, -EINVAL, "publish: %s and %s use the same "
						   "host port", model_publish_str(&p[k], a),
						   json_string_value(item));
		*n = (int)i + 1;
	}
	return 0;
}

static json_t *publish_to_json(const struct nm_publish *p, int n)
{
	char buf[NM_PUBLISH_STRLEN];
	json_t *a = json_array();

	for (int i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(model_publish_str(&p[i], buf)));
	return a;
}

/* ---- records ------------------------------------------------------------ */

void nm_network_free(struct nm_network *n)
{
	json_decref(n->labels);
	n->labels = NULL;
}

void nm_endpoint_free(struct nm_endpoint *e)
{
	json_decref(e->aliases);
	e->aliases = NULL;
	free(e->netns);
	e->netns = NULL;
	free(e->owner);
	e->owner = NULL;
	free(e->publish);
	e->publish = NULL;
	e->n_publish = 0;
}

void nm_network_spec_free(struct nm_network_spec *s)
{
	json_decref(s->labels);
	s->labels = NULL;
}

void nm_attach_spec_free(struct nm_attach_spec *s)
{
	json_decref(s->aliases);
	s->aliases = NULL;
	free(s->publish);
	s->publish = NULL;
	s->n_publish = 0;
}

static json_t *subnets_to_json(const struct nm_subnet *s, int n)
{
	json_t *a = json_array();
	char p[OVN_PREFIX_STRLEN], g[OVN_IP_STRLEN];

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "subnet",
						   ovn_prefix_str(&s[i].prefix, p), "gateway",
						   ovn_ip_str(&s[i].gateway, g)));
	return a;
}

json_t *model_network_to_json(const struct nm_network *n)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:b, s:b, s:o, s:O, s:s}", "name", n->name, "id",
			 n->id, "vni", (json_int_t)n->vni, "mtu", (json_int_t)n->mtu, "internal",
			 n->internal, "encrypted", n->encrypted,
			 "subnets", subnets_to_json(n->subnets, n->n_subnets),
			 "labels", n->labels, "created", n->created);
}

json_t *model_endpoint_to_json(const struct nm_endpoint *e)
{
	char mac[OVN_MAC_STRLEN], p[OVN_PREFIX_STRLEN], v[OVN_IP_STRLEN];
	json_t *j = json_pack("{s:s, s:s, s:O, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
			      e->id, "network", e->network, "aliases", e->aliases, "netns",
			      e->netns ? e->netns : "", "netns_id", e->netns_id, "ifname",
			      e->ifname, "host_ifname", e->host_ifname, "mac",
			      ovn_mac_str(&e->mac, mac), "node", e->node, "created", e->created);

	if (!j)
		return NULL;
	if (e->name[0])
		json_object_set_new(j, "name", json_string(e->name));
	if (e->vtep.family)
		json_object_set_new(j, "vtep", json_string(ovn_ip_str(&e->vtep, v)));
	if (e->ipv4.ip.family)
		json_object_set_new(j, "ipv4", json_string(ovn_prefix_str(&e->ipv4, p)));
	if (e->ipv6.ip.family)
		json_object_set_new(j, "ipv6", json_string(ovn_prefix_str(&e->ipv6, p)));
	if (e->owner)
		json_object_set_new(j, "owner", json_string(e->owner));
	if (e->docker)
		json_object_set_new(j, "docker", json_true());
	if (e->n_publish)
		json_object_set_new(j, "publish", publish_to_json(e->publish, e->n_publish));
	return j;
}

/* Subnets array, for both the record and the create request. Gateways are
 * optional in a request (gw_required false) and filled in later. */
static int subnets_from_json(const json_t *obj, struct nm_subnet *out, int *n, bool gw_required,
			     struct ovn_err *err)
{
	static const char *const keys[] = { "subnet", "gateway", NULL };
	json_t *a = json_object_get(obj, "subnets"), *item;
	size_t i;
	int r;

	*n = 0;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return ovn_err_set(err, -EINVAL, "subnets: expected an array");
	if (json_array_size(a) > 2)
		return ovn_err_set(err, -EINVAL, "subnets: at most one IPv4 and one IPv6 subnet");
	json_array_foreach(a, i, item) {
		struct nm_subnet *s = &out[i];
		char what[32];
		struct ovn_err e2 = { 0 };

		snprintf(what, sizeof(what), "subnets[%zu]", i);
		r = check_keys(item, what, keys, err);
		if (r < 0)
			return r;
		memset(s, 0, sizeof(*s));
		if (!json_object_get(item, "subnet"))
			return ovn_err_set(err, -EINVAL, "%s.subnet: missing", what);
		if (get_prefix(item, "subnet", &s->prefix, &e2) < 0 ||
		    get_ip(item, "gateway", 0, &s->gateway, &e2) < 0)
			return ovn_err_set(err, -EINVAL, "%s.%s", what, e2.msg);
		if (gw_required && !s->gateway.family)
			return ovn_err_set(err, -EINVAL, "%s.gateway: missing", what);
		if (i == 1 && out[0].prefix.ip.family == s->prefix.ip.family)
			return ovn_err_set(err, -EINVAL,
					   "subnets: at most one subnet per address family");
	}
	*n = (int)json_array_size(a);
	return 0;
}

int model_network_from_json(struct nm_network *n, const json_t *j, struct ovn_err *err)
{
	static const char *const keys[] = { "name", "id", "vni", "mtu", "internal", "encrypted",
					    "subnets", "labels", "created", "endpoints", NULL };
	uint64_t vni = 0, mtu = 0;
	int r;

	memset(n, 0, sizeof(*n));
	if ((r = check_keys(j, "network", keys, err)) < 0 ||
	    (r = get_str(j, "name", n->name, sizeof(n->name), true, err)) < 0 ||
	    (r = get_str(j, "id", n->id, sizeof(n->id), true, err)) < 0 ||
	    (r = get_uint(j, "vni", 0xffffff, &vni, err)) < 0 ||
	    (r = get_uint(j, "mtu", 65535, &mtu, err)) < 0 ||
	    (r = get_bool(j, "internal", &n->internal, err)) < 0 ||
	    (r = get_bool(j, "encrypted", &n->encrypted, err)) < 0 ||
	    (r = subnets_from_json(j, n->subnets, &n->n_subnets, true, err)) < 0 ||
	    (r = get_labels(j, &n->labels, err)) < 0 ||
	    (r = get_str(j, "created", n->created, sizeof(n->created), false, err)) < 0)
		goto fail;
	n->vni = (uint32_t)vni;
	n->mtu = (uint32_t)mtu;
	if (!vni || !model_network_name_ok(n->name)) {
		r = ovn_err_set(err, -EINVAL, "network: bad name or vni");
		goto fail;
	}
	return 0;
fail:
	nm_network_free(n);
	return r;
}

int model_endpoint_from_json(struct nm_endpoint *e, const json_t *j, struct ovn_err *err)
{
	static const char *const keys[] = { "id", "network", "name", "aliases", "netns",
					    "netns_id", "ifname", "host_ifname", "mac", "ipv4",
					    "ipv6", "node", "vtep", "created", "owner",
					    "docker", "publish", NULL };
	char mac[OVN_MAC_STRLEN + 1], netns[NM_PATH_MAX + 1], owner[NM_OWNER_MAX + 1];
	json_t *dk;
	int r;

	memset(e, 0, sizeof(*e));
	if ((r = check_keys(j, "endpoint", keys, err)) < 0 ||
	    (r = get_str(j, "id", e->id, sizeof(e->id), true, err)) < 0 ||
	    (r = get_str(j, "network", e->network, sizeof(e->network), true, err)) < 0 ||
	    (r = get_str(j, "name", e->name, sizeof(e->name), false, err)) < 0 ||
	    (r = get_names(j, "aliases", &e->aliases, err)) < 0 ||
	    (r = get_str(j, "netns", netns, sizeof(netns), false, err)) < 0 ||
	    (r = get_str(j, "netns_id", e->netns_id, sizeof(e->netns_id), false, err)) < 0 ||
	    (r = get_str(j, "ifname", e->ifname, sizeof(e->ifname), false, err)) < 0 ||
	    (r = get_str(j, "host_ifname", e->host_ifname, sizeof(e->host_ifname), true, err)) < 0 ||
	    (r = get_str(j, "mac", mac, sizeof(mac), true, err)) < 0 ||
	    (r = get_prefix(j, "ipv4", &e->ipv4, err)) < 0 ||
	    (r = get_prefix(j, "ipv6", &e->ipv6, err)) < 0 ||
	    (r = get_str(j, "node", e->node, sizeof(e->node), false, err)) < 0 ||
	    (r = get_ip(j, "vtep", 0, &e->vtep, err)) < 0 ||
	    (r = get_str(j, "created", e->created, sizeof(e->created), false, err)) < 0 ||
	    (r = get_owner(j, owner, sizeof(owner), err)) < 0 ||
	    (r = get_publish(j, &e->publish, &e->n_publish, err)) < 0)
		goto fail;
	if (ovn_mac_parse(&e->mac, mac, false) < 0) {
		r = ovn_err_set(err, -EINVAL, "mac: '%s' is not a MAC address", mac);
		goto fail;
	}
	if ((e->ipv4.ip.family && e->ipv4.ip.family != AF_INET) ||
	    (e->ipv6.ip.family && e->ipv6.ip.family != AF_INET6)) {
		r = ovn_err_set(err, -EINVAL, "ipv4/ipv6: wrong address family");
		goto fail;
	}
	dk = json_object_get(j, "docker");
	if (dk && !json_is_boolean(dk)) {
		r = ovn_err_set(err, -EINVAL, "docker: not a boolean");
		goto fail;
	}
	e->docker = json_is_true(dk);
	/* Held at their length: a thousand endpoints are kept in memory. */
	e->netns = strdup(netns);
	if (owner[0])
		e->owner = strdup(owner);
	if (!e->netns || (owner[0] && !e->owner)) {
		r = ovn_err_set(err, -ENOMEM, "endpoint: out of memory");
		goto fail;
	}
	return 0;
fail:
	nm_endpoint_free(e);
	return r;
}

/* ---- requests ----------------------------------------------------------- */

int model_network_spec_from_json(struct nm_network_spec *s, const json_t *j,
				 struct ovn_err *err)
{
	static const char *const keys[] = { "name", "subnets", "vni", "mtu", "internal", "ipv6",
					    "encrypted", "labels", NULL };
	uint64_t vni = 0, mtu = 0;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = check_keys(j, "request", keys, err)) < 0 ||
	    (r = get_str(j, "name", s->name, sizeof(s->name), true, err)) < 0 ||
	    (r = subnets_from_json(j, s->subnets, &s->n_subnets, false, err)) < 0 ||
	    (r = get_uint(j, "vni", 0xffffff, &vni, err)) < 0 ||
	    (r = get_uint(j, "mtu", 9000, &mtu, err)) < 0 ||
	    (r = get_bool(j, "internal", &s->internal, err)) < 0 ||
	    (r = get_bool(j, "ipv6", &s->ipv6, err)) < 0 ||
	    (r = get_bool(j, "encrypted", &s->encrypted, err)) < 0 ||
	    (r = get_labels(j, &s->labels, err)) < 0)
		goto fail;
	if (!model_network_name_ok(s->name)) {
		r = ovn_err_set(err, -EINVAL,
				"name: '%s' is not a network name (1-64 of A-Z a-z 0-9 _ . -, "
				"starting with a letter or digit)", s->name);
		goto fail;
	}
	if (json_object_get(j, "vni") && vni == 0) {
		r = ovn_err_set(err, -EINVAL, "vni: expected 1 to 16777215");
		goto fail;
	}
	if (json_object_get(j, "mtu") && mtu < 576) {
		r = ovn_err_set(err, -EINVAL, "mtu: expected 576 to 9000 (1280 with IPv6)");
		goto fail;
	}
	s->vni = (uint32_t)vni;
	s->mtu = (uint32_t)mtu;
	return 0;
fail:
	nm_network_spec_free(s);
	return r;
}

/* netns (name or absolute path) xor pid, shared by attach and detach. */
static int get_target(const json_t *j, char *netns, size_t size, int *pid, int others,
		      struct ovn_err *err)
{
	uint64_t v = 0;
	int r;

	if ((r = get_str(j, "netns", netns, size, false, err)) < 0 ||
	    (r = get_uint(j, "pid", 0x7fffffff, &v, err)) < 0)
		return r;
	*pid = (int)v;
	if ((netns[0] != 0) + (json_object_get(j, "pid") != NULL) + others != 1)
		return ovn_err_set(err, -EINVAL, "give exactly one of netns, pid%s",
				   others ? ", endpoint, owner" : "");
	if (json_object_get(j, "pid") && v == 0)
		return ovn_err_set(err, -EINVAL, "pid: expected a positive integer");
	if (netns[0] && netns[0] != '/' && (strchr(netns, '/') || !strcmp(netns, "..") ||
					     !strcmp(netns, ".")))
		return ovn_err_set(err, -EINVAL,
				   "netns: '%s' is neither a name under /run/netns nor an "
				   "absolute path", netns);
	return 0;
}

int model_attach_spec_from_json(struct nm_attach_spec *s, const json_t *j, struct ovn_err *err)
{
	static const char *const keys[] = { "netns", "pid", "name", "aliases", "ipv4", "ipv6",
					    "ifname", "mac", "owner", "publish", NULL };
	char mac[OVN_MAC_STRLEN + 1];
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = check_keys(j, "request", keys, err)) < 0 ||
	    (r = get_target(j, s->netns, sizeof(s->netns), &s->pid, 0, err)) < 0 ||
	    (r = get_str(j, "name", s->name, sizeof(s->name), false, err)) < 0 ||
	    (r = get_names(j, "aliases", &s->aliases, err)) < 0 ||
	    (r = get_ip(j, "ipv4", AF_INET, &s->ipv4, err)) < 0 ||
	    (r = get_ip(j, "ipv6", AF_INET6, &s->ipv6, err)) < 0 ||
	    (r = get_str(j, "ifname", s->ifname, sizeof(s->ifname), false, err)) < 0 ||
	    (r = get_str(j, "mac", mac, sizeof(mac), false, err)) < 0 ||
	    (r = get_owner(j, s->owner, sizeof(s->owner), err)) < 0 ||
	    (r = get_publish(j, &s->publish, &s->n_publish, err)) < 0)
		goto fail;
	if (s->name[0] && !model_dns_name_ok(s->name)) {
		r = ovn_err_set(err, -EINVAL, "name: '%s' is not a DNS name (labels of 1-63 "
				"letters, digits, '-')", s->name);
		goto fail;
	}
	if (s->ifname[0] && !model_ifname_ok(s->ifname)) {
		r = ovn_err_set(err, -EINVAL, "ifname: '%s' is not an interface name (1-15 "
				"characters, no '/', ':' or spaces)", s->ifname);
		goto fail;
	}
	if (mac[0]) {
		if (ovn_mac_parse(&s->mac, mac, true) < 0) {
			r = ovn_err_set(err, -EINVAL, "mac: '%s' is not a unicast MAC address "
					"(aa:bb:cc:dd:ee:ff)", mac);
			goto fail;
		}
		s->has_mac = true;
	}
	return 0;
fail:
	nm_attach_spec_free(s);
	return r;
}

int model_detach_spec_from_json(struct nm_detach_spec *s, const json_t *j, struct ovn_err *err)
{
	static const char *const keys[] = { "netns", "pid", "endpoint", "owner", NULL };
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = check_keys(j, "request", keys, err)) < 0 ||
	    (r = get_str(j, "endpoint", s->endpoint, sizeof(s->endpoint), false, err)) < 0 ||
	    (r = get_owner(j, s->owner, sizeof(s->owner), err)) < 0)
		return r;
	return get_target(j, s->netns, sizeof(s->netns), &s->pid,
			  (s->endpoint[0] != 0) + (s->owner[0] != 0), err);
}
