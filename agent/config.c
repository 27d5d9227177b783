/* config.c: read ovnagent's YAML configuration into struct cfg.
 *
 * What it does: loads one YAML document with libyaml's document API, walks
 * its mappings against a static key table {path, type, offset, size, limits,
 * check} and writes each value into a working copy of the caller's struct
 * cfg. Cross-key rules (IPAM sizes against pools, the socket path derived
 * from run_dir) run after the walk; the copy replaces the caller's struct
 * only when everything passed, so a bad file changes nothing.
 *
 * Every failure is one line, "FILE:LINE: key: reason", LINE 1-based from
 * libyaml's marks: unknown key (with "did you mean" when one is close),
 * duplicate key, a mapping where a scalar belongs (or the reverse), a value
 * out of range, a YAML syntax error, a top level that is not a mapping.
 *
 * What it does not: resolve names (api.group is looked up when the socket is
 * made; advertise unset is resolved by the agent from the host's addresses),
 * check that the chosen store backend is built in (the store code refuses
 * it), or accept sequences (no key needs one yet).
 *
 * Value syntax is deliberately narrower than YAML's: numbers are decimal
 * (no 0x, no .inf), a key with no value is an error rather than "null"
 * (a mapping key such as `api:` with no value is an empty mapping), and a
 * key may not contain '.', so every setting has one spelling.
 *
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "dnsint.h"
#include "fsperm.h"
#include "metrics.h"
#include "util.h"

/* A config file is a few hundred bytes; the cap only stops a wrong path
 * (a log, a device) from being read whole into memory. */
#define CFG_MAX_FILE (1 << 20)
#define WHY_LEN 200
/* Room for a user value quoted back in a message. */
#define QUOTE_LEN 64
#define SOCK_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

enum ktype { T_MAP, T_STR, T_IP4, T_PREFIX, T_UINT, T_DOUBLE, T_ENUM, T_STRLIST, T_BOOL };

struct key;
/* Extra rule on a value already parsed into field; fills why on failure. */
typedef int (*check_fn)(const struct key *k, const void *field, char *why);

struct key {
	const char *path;		/* dotted, e.g. "store.backend" */
	enum ktype type;
	size_t off;			/* offsetof(struct cfg, field) */
	size_t size;			/* sizeof the field */
	double min, max;		/* T_UINT, T_DOUBLE range; T_PREFIX lengths */
	int family;			/* T_PREFIX */
	const char *const *names;	/* T_ENUM; allowed values of a T_STR */
	check_fn check;
};

static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const sec_action_names[] = { "kill", "log", "trap", NULL };
static const char *const backend_names[] = { "embedded", "redis", "etcd", "consul", NULL };

static int check_node(const struct key *k, const void *field, char *why);
static int check_abs_path(const struct key *k, const void *field, char *why);
static int check_socket(const struct key *k, const void *field, char *why);
static int check_group(const struct key *k, const void *field, char *why);
static int check_store_prefix(const struct key *k, const void *field, char *why);
static int check_mtu(const struct key *k, const void *field, char *why);
static int check_advertise(const struct key *k, const void *field, char *why);
static int check_loopback(const struct key *k, const void *field, char *why);
static int check_endpoint(const struct key *k, const void *field, char *why);
static int check_upstream(const struct key *k, const void *field, char *why);
static int check_seed(const struct key *k, const void *field, char *why);
static int check_metrics_listen(const struct key *k, const void *field, char *why);

#define F(f) .off = offsetof(struct cfg, f), .size = sizeof(((struct cfg *)0)->f)

/* Every key the file may hold. A T_MAP entry is a section whose children
 * are the entries whose path starts with "section.". docs/config.md is the
 * user's view of this table: keep them in step. */
static const struct key keys[] = {
	{ "node", T_STR, F(node), .check = check_node },
	{ "advertise", T_IP4, F(advertise), .check = check_advertise },
	{ "run_dir", T_STR, F(run_dir), .check = check_abs_path },
	{ "mtu", T_UINT, F(mtu), .min = 0, .max = 9000, .check = check_mtu },
	{ .path = "api", .type = T_MAP },
	{ "api.socket", T_STR, F(api.socket), .check = check_socket },
	{ "api.group", T_STR, F(api.group), .check = check_group },
	{ "api.rate", T_UINT, F(api.rate), .min = 0, .max = 1000000 },
	{ "api.burst", T_UINT, F(api.burst), .min = 1, .max = 1000000 },
	{ .path = "store", .type = T_MAP },
	{ "store.backend", T_STR, F(store.backend), .names = backend_names },
	{ "store.path", T_STR, F(store.path), .check = check_abs_path },
	{ "store.prefix", T_STR, F(store.prefix), .check = check_store_prefix },
	{ "store.sync_interval", T_DOUBLE, F(store.sync_interval), .min = 0, .max = 10 },
	{ "store.endpoints", T_STRLIST, F(store.endpoints), .check = check_endpoint },
	{ "store.password_file", T_STR, F(store.password_file), .check = check_abs_path },
	{ "store.timeout", T_DOUBLE, F(store.timeout), .min = 0.1, .max = 60 },
	{ .path = "store.tls", .type = T_MAP },
	{ "store.tls.ca", T_STR, F(store.tls.ca), .check = check_abs_path },
	{ "store.tls.cert", T_STR, F(store.tls.cert), .check = check_abs_path },
	{ "store.tls.key", T_STR, F(store.tls.key), .check = check_abs_path },
	{ .path = "log", .type = T_MAP },
	{ "log.level", T_ENUM, F(log.level), .names = level_names },
	{ .path = "ipam", .type = T_MAP },
	{ "ipam.pool4", T_PREFIX, F(ipam.pool4), .family = AF_INET, .min = 8, .max = 28 },
	{ "ipam.size4", T_UINT, F(ipam.size4), .min = 16, .max = 30 },
	{ "ipam.pool6", T_PREFIX, F(ipam.pool6), .family = AF_INET6, .min = 8, .max = 120 },
	{ "ipam.size6", T_UINT, F(ipam.size6), .min = 48, .max = 124 },
	{ .path = "dns", .type = T_MAP },
	{ "dns.enabled", T_BOOL, F(dns.enabled) },
	{ "dns.address", T_IP4, F(dns.address), .check = check_advertise },
	{ "dns.upstreams", T_STRLIST, F(dns.upstreams), .check = check_upstream },
	{ "dns.ttl", T_UINT, F(dns.ttl), .min = 1, .max = 86400 },
	{ "dns.host_address", T_IP4, F(dns.host_address), .check = check_loopback },
	{ .path = "gossip", .type = T_MAP },
	{ "gossip.port", T_UINT, F(gossip.port), .min = 0, .max = 65535 },
	{ "gossip.join", T_STRLIST, F(gossip.join), .check = check_seed },
	{ "gossip.keyring", T_STR, F(gossip.keyring), .check = check_abs_path },
	{ .path = "docker", .type = T_MAP },
	{ "docker.socket", T_STR, F(docker.socket), .check = check_socket },
	{ "docker.reservation_ttl", T_UINT, F(docker.reservation_ttl), .min = 60, .max = 604800 },
	{ "docker.api", T_STR, F(docker.api), .check = check_socket },
	{ .path = "encryption", .type = T_MAP },
	{ "encryption.rotate_interval", T_UINT, F(encryption.rotate_interval), .min = 0,
	  .max = 2592000 },
	{ "encryption.grace", T_UINT, F(encryption.grace), .min = 1, .max = 3600 },
	{ .path = "metrics", .type = T_MAP },
	{ "metrics.listen", T_STR, F(metrics.listen), .check = check_metrics_listen },
	{ .path = "egress", .type = T_MAP },
	{ "egress.enabled", T_BOOL, F(egress.enabled) },
	{ "egress.forwarding", T_BOOL, F(egress.forwarding) },
	{ .path = "security", .type = T_MAP },
	{ "security.capabilities", T_BOOL, F(security.capabilities) },
	{ "security.seccomp", T_BOOL, F(security.seccomp) },
	{ "security.seccomp_action", T_ENUM, F(security.seccomp_action), .names = sec_action_names },
};

#undef F

#define NKEYS ARRAY_SIZE(keys)

/* parse_enum stores the index through an int. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum log_level is not an int");
_Static_assert(sizeof(enum sec_action) == sizeof(int), "enum sec_action is not an int");

struct loader {
	const char *name;		/* file name for messages */
	const char *buf;		/* the input, for reader-error line counts */
	size_t len;
	struct cfg c;			/* working copy, committed on success */
	yaml_document_t doc;
	size_t line[NKEYS];		/* 1-based line a key was set on, 0 = not set */
	struct ovn_err *err;
};

/* ---- messages ---- */

/* Quote a user value for a message: cut to fit QUOTE_LEN with "...",
 * control characters escaped, so a hostile file cannot forge log lines. */
static const char *quote(char out[QUOTE_LEN], const char *s, size_t len)
{
	const size_t limit = QUOTE_LEN - 8;	/* room for "\xHH", "..." and NUL */
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (o >= limit) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	return out;
}

static int fail_at(struct loader *l, size_t line, const char *what, const char *why)
{
	if (line)
		return ovn_err_set(l->err, -EINVAL, "%s:%zu: %s: %s", l->name, line, what, why);
	return ovn_err_set(l->err, -EINVAL, "%s: %s: %s", l->name, what, why);
}

static size_t node_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* ---- did you mean ---- */

/* Edit distance between short strings; longer ones count as far apart. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], up;

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = diag + (a[i - 1] != b[j - 1]);

			up = row[j];
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static const char *leaf(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

/* The key closest to what was typed (path = prefix.name): a small edit away,
 * or the same name in another section ("socket" -> "api.socket"). NULL when
 * nothing is close enough to be a plausible typo. */
static const struct key *closest_key(const char *path, const char *name)
{
	const struct key *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < NKEYS; i++) {
		size_t d = strcmp(leaf(keys[i].path), name) ? distance(path, keys[i].path) : 0;

		if (d < best_d) {
			best_d = d;
			best = &keys[i];
		}
	}
	if (best_d > 2 || best_d >= strlen(name))
		return NULL;
	return best;
}

static int fail_unknown(struct loader *l, size_t line, const char *prefix, const char *path,
			const char *name)
{
	char why[WHY_LEN];
	const struct key *k = closest_key(path, name);
	size_t plen = prefix ? strlen(prefix) : 0;

	if (!k) {
		snprintf(why, sizeof(why), "unknown key");
	} else if (prefix ? !strncmp(k->path, prefix, plen) && k->path[plen] == '.' &&
				    !strchr(k->path + plen + 1, '.')
			  : !strchr(k->path, '.')) {
		/* A sibling: name it as the user would write it here. */
		snprintf(why, sizeof(why), "unknown key, did you mean '%s'?", leaf(k->path));
	} else {
		snprintf(why, sizeof(why), "unknown key, did you mean '%s'?", k->path);
	}
	return fail_at(l, line, path, why);
}

/* ---- value parsers, one per type: text -> field, or a reason ---- */

static bool has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool in_names(const char *const *names, const char *s, size_t *idx)
{
	for (size_t i = 0; names[i]; i++) {
		if (!strcmp(names[i], s)) {
			if (idx)
				*idx = i;
			return true;
		}
	}
	return false;
}

static void names_list(char *out, size_t n, const char *const *names)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; names[i] && o < n; i++)
		o += snprintf(out + o, n - o, "%s%s", i ? ", " : "", names[i]);
}

static int not_one_of(const struct key *k, const char *v, char *why)
{
	char q[QUOTE_LEN], list[96];

	names_list(list, sizeof(list), k->names);
	snprintf(why, WHY_LEN, "'%s' is not one of %s", quote(q, v, strlen(v)), list);
	return -EINVAL;
}

static int parse_str(const struct key *k, const char *v, void *field, char *why)
{
	char q[QUOTE_LEN];

	if (has_ctrl(v)) {
		snprintf(why, WHY_LEN, "'%s' contains control characters",
			 quote(q, v, strlen(v)));
		return -EINVAL;
	}
	if (k->names && !in_names(k->names, v, NULL))
		return not_one_of(k, v, why);
	if (ovn_strlcpy(field, v, k->size) < 0) {
		snprintf(why, WHY_LEN, "'%s' is longer than %zu bytes",
			 quote(q, v, strlen(v)), k->size - 1);
		return -EINVAL;
	}
	return 0;
}

/* advertise is the VTEP address peers send VxLAN to; the underlay is IPv4
 * only for now, so an IPv6 literal is refused with that reason. */
static int parse_ip4(const struct key *k, const char *v, void *field, char *why)
{
	char q[QUOTE_LEN];
	struct ovn_ip ip;

	if (ovn_ip_parse(&ip, v) < 0 || ip.family != AF_INET) {
		snprintf(why, WHY_LEN, "'%s' is not an IPv4 address%s",
			 quote(q, v, strlen(v)),
			 ip.family == AF_INET6 ? " (the VxLAN underlay is IPv4 only for now)" : "");
		return -EINVAL;
	}
	memcpy(field, &ip, sizeof(ip));
	return 0;
}

static int parse_prefix(const struct key *k, const char *v, void *field, char *why)
{
	const char *fam = k->family == AF_INET ? "IPv4" : "IPv6";
	char q[QUOTE_LEN];
	struct ovn_prefix p;

	quote(q, v, strlen(v));
	if (ovn_prefix_parse(&p, v, true) < 0 || p.ip.family != k->family) {
		snprintf(why, WHY_LEN, "'%s' is not an %s prefix (address/length)", q, fam);
		return -EINVAL;
	}
	if (p.len < k->min || p.len > k->max) {
		snprintf(why, WHY_LEN, "'%s': length must be %g-%g", q, k->min, k->max);
		return -EINVAL;
	}
	if (!ovn_prefix_is_network(&p)) {
		char net[OVN_PREFIX_STRLEN];

		ovn_prefix_mask(&p);
		snprintf(why, WHY_LEN, "'%s' has host bits set (did you mean '%s'?)", q,
			 ovn_prefix_str(&p, net));
		return -EINVAL;
	}
	memcpy(field, &p, sizeof(p));
	return 0;
}

static int parse_uint(const struct key *k, const char *v, void *field, char *why)
{
	char q[QUOTE_LEN];
	unsigned long long n = 0;
	const char *s = v;

	quote(q, v, strlen(v));
	if (!*s)
		goto bad;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			goto bad;
		n = n * 10 + (unsigned)(*s - '0');
		if (n > UINT32_MAX)
			goto range;
	}
	if (n < k->min || n > k->max)
		goto range;
	if (k->size == sizeof(uint8_t))
		*(uint8_t *)field = (uint8_t)n;
	else
		*(uint32_t *)field = (uint32_t)n;
	return 0;
bad:
	snprintf(why, WHY_LEN, "'%s' is not a decimal number", q);
	return -EINVAL;
range:
	snprintf(why, WHY_LEN, "'%s' is out of range %g-%g", q, k->min, k->max);
	return -EINVAL;
}

static int parse_double(const struct key *k, const char *v, void *field, char *why)
{
	char q[QUOTE_LEN];
	char *end;
	double d;

	quote(q, v, strlen(v));
	/* strtod alone would take "inf", "nan", hex and leading blanks. */
	if (!*v || strspn(v, "0123456789.eE+-") != strlen(v)) {
		snprintf(why, WHY_LEN, "'%s' is not a number", q);
		return -EINVAL;
	}
	errno = 0;
	d = strtod(v, &end);
	if (*end || errno == ERANGE || !isfinite(d)) {
		snprintf(why, WHY_LEN, "'%s' is not a number", q);
		return -EINVAL;
	}
	if (d < k->min || d > k->max) {
		snprintf(why, WHY_LEN, "'%s' is out of range %g-%g", q, k->min, k->max);
		return -EINVAL;
	}
	*(double *)field = d;
	return 0;
}

static int parse_enum(const struct key *k, const char *v, void *field, char *why)
{
	size_t idx;

	if (!in_names(k->names, v, &idx))
		return not_one_of(k, v, why);
	*(int *)field = (int)idx;
	return 0;
}

/* YAML 1.2 core booleans only: "yes"/"on" stay errors, not surprises. */
static int parse_bool(const struct key *k, const char *v, void *field, char *why)
{
	char q[QUOTE_LEN];

	if (strcmp(v, "true") && strcmp(v, "false")) {
		snprintf(why, WHY_LEN, "'%s' is not true or false", quote(q, v, strlen(v)));
		return -EINVAL;
	}
	*(bool *)field = v[0] == 't';
	return 0;
}

typedef int (*parse_fn)(const struct key *k, const char *v, void *field, char *why);

static const parse_fn parsers[] = {
	[T_STR] = parse_str,
	[T_IP4] = parse_ip4,
	[T_PREFIX] = parse_prefix,
	[T_UINT] = parse_uint,
	[T_DOUBLE] = parse_double,
	[T_ENUM] = parse_enum,
	[T_BOOL] = parse_bool,
};

/* ---- per-key rules on parsed values ---- */

/* One store endpoint URL (a T_STRLIST item, parsed as a string). */
static int check_endpoint(const struct key *k, const void *field, char *why)
{
	static const char *const schemes[] = { "redis://", "http://", "https://" };
	const char *v = field;

	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++)
		if (!strncmp(v, schemes[i], strlen(schemes[i])) && v[strlen(schemes[i])])
			return 0;
	snprintf(why, WHY_LEN, "'%.64s' is not a redis://HOST:PORT or http(s)://HOST:PORT URL", v);
	return -EINVAL;
}

/* One DNS upstream (a T_STRLIST item): "IP" or "IP:PORT" ("[IPv6]:PORT"). */
static int check_upstream(const struct key *k, const void *field, char *why)
{
	struct sockaddr_storage ss;

	if (dnsint_addr_parse(field, &ss) == 0)
		return 0;
	snprintf(why, WHY_LEN, "'%.64s' is not IP, IPv4:PORT or [IPv6]:PORT", (const char *)field);
	return -EINVAL;
}

/* One gossip seed (a T_STRLIST item): "IPv4" or "IPv4:PORT". */
static int check_seed(const struct key *k, const void *field, char *why)
{
	char host[OVN_IP_STRLEN];
	const char *v = field, *colon = strchr(v, ':');
	struct ovn_ip ip;
	char *end;
	long port;

	if (colon && (size_t)(colon - v) < sizeof(host)) {
		memcpy(host, v, (size_t)(colon - v));
		host[colon - v] = '\0';
		port = strtol(colon + 1, &end, 10);
		if (ovn_ip_parse(&ip, host) == 0 && ip.family == AF_INET && colon[1] && !*end &&
		    port > 0 && port < 65536)
			return 0;
	} else if (!colon && ovn_ip_parse(&ip, v) == 0 && ip.family == AF_INET) {
		return 0;
	}
	snprintf(why, WHY_LEN, "'%.64s' is not IPv4 or IPv4:PORT", v);
	return -EINVAL;
}

/* The metrics TCP address: "" (off), IPv4:PORT or [IPv6]:PORT, port 1-65535.
 * Whether it can be bound is only known at start. */
static int check_metrics_listen(const struct key *k, const void *field, char *why)
{
	const char *v = field;
	struct sockaddr_storage ss;

	if (!v[0])
		return 0;
	if (metrics_addr_parse(v, &ss) == 0 &&
	    ((struct sockaddr_in *)&ss)->sin_port != 0)	/* same offset in sockaddr_in6 */
		return 0;
	snprintf(why, WHY_LEN, "'%.64s' is not IPv4:PORT or [IPv6]:PORT (port 1-65535)", v);
	return -EINVAL;
}

static int check_node(const struct key *k, const void *field, char *why)
{
	const char *s = field;
	char q[QUOTE_LEN];
	size_t n = strlen(s);

	if (n < 1 || n > 63 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n) {
		snprintf(why, WHY_LEN, "'%s' must be 1-63 characters of A-Z a-z 0-9 . _ -",
			 quote(q, s, n));
		return -EINVAL;
	}
	return 0;
}

static int check_abs_path(const struct key *k, const void *field, char *why)
{
	const char *s = field;
	char q[QUOTE_LEN];

	if (s[0] != '/') {
		snprintf(why, WHY_LEN, "'%s' is not an absolute path", quote(q, s, strlen(s)));
		return -EINVAL;
	}
	return 0;
}

/* "" means <run_dir>/ovn.sock, filled after loading. */
static int check_socket(const struct key *k, const void *field, char *why)
{
	const char *s = field;

	if (!s[0])
		return 0;
	if (check_abs_path(k, field, why) < 0)
		return -EINVAL;
	if (strlen(s) > SOCK_MAX) {
		snprintf(why, WHY_LEN, "path is longer than %zu bytes, the limit of a unix socket",
			 SOCK_MAX);
		return -EINVAL;
	}
	return 0;
}

/* A group name or number, looked up when the socket is created. */
static int check_group(const struct key *k, const void *field, char *why)
{
	const char *s = field;
	char q[QUOTE_LEN];

	if (strpbrk(s, " :/\\\t")) {
		snprintf(why, WHY_LEN, "'%s' is not a group name", quote(q, s, strlen(s)));
		return -EINVAL;
	}
	return 0;
}

/* Store keys are "<prefix>/networks/...": one leading '/', none trailing,
 * no empty segment. */
static int check_store_prefix(const struct key *k, const void *field, char *why)
{
	const char *s = field;
	char q[QUOTE_LEN];
	size_t n = strlen(s);

	if (n < 2 || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//") || strchr(s, ' ')) {
		snprintf(why, WHY_LEN,
			 "'%s' must start with '/', not end with '/' and have no empty or blank segment",
			 quote(q, s, n));
		return -EINVAL;
	}
	return 0;
}

static int check_mtu(const struct key *k, const void *field, char *why)
{
	uint32_t mtu = *(const uint32_t *)field;

	if (mtu && mtu < 576) {
		snprintf(why, WHY_LEN, "%u is out of range: 0 (underlay MTU - 50) or 576-9000", mtu);
		return -EINVAL;
	}
	return 0;
}

/* The address other hosts send VxLAN to must be a unicast one. */
static int check_advertise(const struct key *k, const void *field, char *why)
{
	const struct ovn_ip *ip = field;
	char s[OVN_IP_STRLEN];

	if (ip->b[0] == 0 || ip->b[0] >= 224) {
		snprintf(why, WHY_LEN, "'%s' is not a unicast address", ovn_ip_str(ip, s));
		return -EINVAL;
	}
	return 0;
}

/* The host listener serves dockerd's loopback nameserver: a routable
 * address would answer the network, which the names are not meant for. */
static int check_loopback(const struct key *k, const void *field, char *why)
{
	const struct ovn_ip *ip = field;
	char s[OVN_IP_STRLEN];

	(void)k;
	if (ip->b[0] != 127) {
		snprintf(why, WHY_LEN, "'%s' is not a loopback address (127.0.0.0/8)",
			 ovn_ip_str(ip, s));
		return -EINVAL;
	}
	return 0;
}

/* ---- the walk ---- */

static const struct key *key_find(const char *path)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].path, path))
			return &keys[i];
	return NULL;
}

/* YAML's null: an unquoted empty value, "~" or "null". */
static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!v[0] || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
		!strcmp(v, "NULL"));
}

static int load_map(struct loader *l, const yaml_node_t *map, const char *prefix);

static int load_scalar(struct loader *l, const struct key *k, const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	char why[WHY_LEN];
	void *field = (char *)&l->c + k->off;
	int r;

	if (is_null(n))
		return fail_at(l, node_line(n), k->path, "missing value");
	if (strlen(v) != n->data.scalar.length)
		return fail_at(l, node_line(n), k->path, "value contains a NUL byte");
	r = parsers[k->type](k, v, field, why);
	if (r == 0 && k->check)
		r = k->check(k, field, why);
	if (r < 0)
		return fail_at(l, node_line(n), k->path, why);
	return 0;
}

/* A list of strings: a YAML sequence of scalars, or one scalar. Each item
 * goes through the key's check. */
static int load_strlist(struct loader *l, const struct key *k, const yaml_node_t *n)
{
	struct cfg_strlist *list = (void *)((char *)&l->c + k->off);
	struct key item = { .path = k->path, .type = T_STR, .size = sizeof(list->v[0]),
			    .check = k->check };
	const yaml_node_item_t *it;
	char why[WHY_LEN];
	int r;

	list->n = 0;
	if (n->type == YAML_SCALAR_NODE) {
		item.off = k->off;
		r = load_scalar(l, &item, n);
		list->n = r == 0;
		return r;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		snprintf(why, sizeof(why), "expected a list, got %s", node_kind(n));
		return fail_at(l, node_line(n), k->path, why);
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		const yaml_node_t *in = yaml_document_get_node(&l->doc, *it);

		if (list->n == CFG_LIST_MAX) {
			snprintf(why, sizeof(why), "at most %d entries", CFG_LIST_MAX);
			return fail_at(l, node_line(in), k->path, why);
		}
		if (in->type != YAML_SCALAR_NODE) {
			snprintf(why, sizeof(why), "list items must be scalars, got %s",
				 node_kind(in));
			return fail_at(l, node_line(in), k->path, why);
		}
		item.off = k->off + list->n * sizeof(list->v[0]);
		r = load_scalar(l, &item, in);
		if (r < 0)
			return r;
		list->n++;
	}
	return 0;
}

static int load_value(struct loader *l, const struct key *k, const yaml_node_t *n)
{
	char why[WHY_LEN];
	bool want_map = k->type == T_MAP;

	if (k->type == T_STRLIST)
		return load_strlist(l, k, n);

	if (want_map && is_null(n))
		return 0;	/* "api:" alone: an empty section */
	if (want_map ? n->type != YAML_MAPPING_NODE : n->type != YAML_SCALAR_NODE) {
		snprintf(why, sizeof(why), "expected %s, got %s",
			 want_map ? "a mapping" : "a scalar value", node_kind(n));
		return fail_at(l, node_line(n), k->path, why);
	}
	if (want_map)
		return load_map(l, n, k->path);
	return load_scalar(l, k, n);
}

static int load_pair(struct loader *l, const yaml_node_pair_t *pair, const char *prefix)
{
	const yaml_node_t *kn = yaml_document_get_node(&l->doc, pair->key);
	const yaml_node_t *vn = yaml_document_get_node(&l->doc, pair->value);
	char path[128], why[WHY_LEN], q[QUOTE_LEN];
	const struct key *k;
	const char *name;
	size_t i;

	if (kn->type != YAML_SCALAR_NODE) {
		snprintf(why, sizeof(why), "a key must be a name, got %s", node_kind(kn));
		return fail_at(l, node_line(kn), prefix ? prefix : "(top level)", why);
	}
	name = quote(q, (const char *)kn->data.scalar.value, kn->data.scalar.length);
	snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix ? "." : "", name);
	if (strchr(name, '.'))
		return fail_at(l, node_line(kn), path,
			       "a key may not contain '.'; nest it as a mapping");
	k = key_find(path);
	if (!k)
		return fail_unknown(l, node_line(kn), prefix, path, name);
	i = (size_t)(k - keys);
	if (l->line[i]) {
		snprintf(why, sizeof(why), "duplicate key (first set on line %zu)", l->line[i]);
		return fail_at(l, node_line(kn), k->path, why);
	}
	l->line[i] = node_line(kn);
	return load_value(l, k, vn);
}

static int load_map(struct loader *l, const yaml_node_t *map, const char *prefix)
{
	const yaml_node_pair_t *p;
	int r;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		r = load_pair(l, p, prefix);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- rules across keys, run on the complete copy ---- */

static size_t line_of(const struct loader *l, const char *path)
{
	return l->line[key_find(path) - keys];
}

/* A network's subnet is carved from the pool, so it must be longer. */
static int check_size(struct loader *l, const char *size_key, unsigned size,
		      const char *pool_key, const struct ovn_prefix *pool)
{
	size_t line = line_of(l, size_key) ? line_of(l, size_key) : line_of(l, pool_key);
	char why[WHY_LEN], p[OVN_PREFIX_STRLEN];

	if (size > pool->len)
		return 0;
	snprintf(why, sizeof(why), "/%u must be longer than the pool %s", size,
		 ovn_prefix_str(pool, p));
	return fail_at(l, line, size_key, why);
}

/* An empty api.socket follows run_dir, so moving run_dir moves the socket. */
static int fill_socket(struct loader *l)
{
	struct cfg *c = &l->c;
	char why[WHY_LEN];

	if (c->api.socket[0])
		return 0;
	if ((size_t)snprintf(c->api.socket, sizeof(c->api.socket), "%s/ovn.sock", c->run_dir) >
	    SOCK_MAX) {
		snprintf(why, sizeof(why),
			 "too long to hold ovn.sock (a unix socket path has at most %zu bytes); "
			 "set api.socket",
			 SOCK_MAX);
		return fail_at(l, line_of(l, "run_dir"), "run_dir", why);
	}
	return 0;
}

static int check_all(struct loader *l)
{
	struct cfg *c = &l->c;
	int r;

	r = check_size(l, "ipam.size4", c->ipam.size4, "ipam.pool4", &c->ipam.pool4);
	if (r == 0)
		r = check_size(l, "ipam.size6", c->ipam.size6, "ipam.pool6", &c->ipam.pool6);
	if (r == 0)
		r = fill_socket(l);
	if (r == 0 && strcmp(c->store.backend, "embedded") && c->store.endpoints.n == 0)
		r = fail_at(l, line_of(l, "store.backend"), "store.backend",
			    "a cluster store needs store.endpoints (e.g. [redis://HOST:6379])");
	if (r == 0 && c->gossip.port && !c->advertise.family)
		r = fail_at(l, line_of(l, "gossip.port"), "gossip.port",
			    "gossip needs advertise (the address other hosts reach this one at)");
	if (r == 0 && !c->gossip.port && (c->gossip.join.n || c->gossip.keyring[0]))
		r = fail_at(l, line_of(l, c->gossip.join.n ? "gossip.join" : "gossip.keyring"),
			    c->gossip.join.n ? "gossip.join" : "gossip.keyring",
			    "gossip is off: set gossip.port (e.g. 7946) to turn it on");
	return r;
}

/* ---- YAML in ---- */

static size_t offset_line(const struct loader *l, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off && i < l->len; i++)
		line += l->buf[i] == '\n';
	return line;
}

static int fail_yaml(struct loader *l, const yaml_parser_t *p)
{
	size_t line;

	if (p->error == YAML_MEMORY_ERROR)
		return ovn_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
	if (p->error == YAML_READER_ERROR)
		line = offset_line(l, p->problem_offset);
	else
		line = p->problem_mark.line + 1;
	if (p->context)
		return ovn_err_set(l->err, -EINVAL, "%s:%zu: syntax error: %s (%s on line %zu)",
				   l->name, line, p->problem ? p->problem : "?", p->context,
				   p->context_mark.line + 1);
	return ovn_err_set(l->err, -EINVAL, "%s:%zu: syntax error: %s", l->name, line,
			   p->problem ? p->problem : "?");
}

/* Parse l->buf into l->doc; refuse a second document in the stream. */
static int parse_yaml(struct loader *l)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int r = -ENOMEM;

	if (!yaml_parser_initialize(&parser))
		return ovn_err_set(l->err, -ENOMEM, "%s: out of memory", l->name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)l->buf, l->len);
	if (!yaml_parser_load(&parser, &l->doc)) {
		r = fail_yaml(l, &parser);
		goto out_parser;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		r = fail_yaml(l, &parser);
		goto out_doc;
	}
	root = yaml_document_get_root_node(&extra);
	if (root) {
		r = fail_at(l, node_line(root), "(document)", "only one YAML document is allowed");
		yaml_document_delete(&extra);
		goto out_doc;
	}
	yaml_document_delete(&extra);
	yaml_parser_delete(&parser);
	return 0;
out_doc:
	yaml_document_delete(&l->doc);
out_parser:
	yaml_parser_delete(&parser);
	return r;
}

static int load_buf(struct cfg *c, const char *buf, size_t len, const char *name,
		    struct ovn_err *err)
{
	struct loader *l;
	yaml_node_t *root;
	int r = -ENOMEM;

	/* The loader holds a whole struct cfg; keep it off the stack. */
	l = calloc(1, sizeof(*l));
	if (!l)
		return ovn_err_set(err, r, "%s: out of memory", name);
	*l = (struct loader){ .name = name, .buf = buf, .len = len, .c = *c, .err = err };
	r = parse_yaml(l);
	if (r < 0)
		goto out;
	root = yaml_document_get_root_node(&l->doc);
	if (root && root->type == YAML_MAPPING_NODE)
		r = load_map(l, root, NULL);
	else if (root && !is_null(root))
		r = fail_at(l, node_line(root), "(top level)", "must be a mapping of keys");
	if (r == 0)
		r = check_all(l);
	if (r == 0)
		*c = l->c;
	yaml_document_delete(&l->doc);
out:
	free(l);
	return r;
}

int cfg_load_string(struct cfg *c, const char *yaml, const char *name, struct ovn_err *err)
{
	return load_buf(c, yaml, strlen(yaml), name, err);
}

/* Read at most CFG_MAX_FILE bytes of path into a fresh buffer. */
static int read_file(const char *path, char **out, size_t *outlen, struct ovn_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		return ovn_err_set(err, r, "%s: %s", path, strerror(-r));
	}
	/* The agent runs as root: a config others can write is a way in. */
	r = fsperm_check_fd(fd, path, "config", FSPERM_CONFIG, err);
	if (r)
		goto out;
	r = -ENOMEM;
	buf = malloc(CFG_MAX_FILE + 1);
	if (!buf) {
		ovn_err_set(err, r, "%s: out of memory", path);
		goto out;
	}
	while (len <= CFG_MAX_FILE) {
		n = read(fd, buf + len, CFG_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			ovn_err_set(err, r, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CFG_MAX_FILE) {
		r = ovn_err_set(err, -EFBIG, "%s: larger than %d bytes, not a config file", path,
				CFG_MAX_FILE);
		goto out;
	}
	*out = TAKE_PTR(buf);
	*outlen = len;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int cfg_load(struct cfg *c, const char *path, struct ovn_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, &buf, &len, err);
	if (r == 0)
		r = load_buf(c, buf, len, path, err);
	free(buf);
	return r;
}

int cfg_log_level_parse(const char *s, enum log_level *out)
{
	size_t idx;

	if (!s || !in_names(level_names, s, &idx))
		return -EINVAL;
	*out = (enum log_level)idx;
	return 0;
}

/* node defaults to the host name, cut to what the field and a node name
 * allow; an unnamed host is "localhost" rather than an invalid "". */
static void default_node(char *node, size_t size)
{
	char host[HOST_NAME_MAX + 1] = "";

	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (!host[0])
		snprintf(host, sizeof(host), "localhost");
	snprintf(node, size, "%.63s", host);
}

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	default_node(c->node, sizeof(c->node));
	snprintf(c->run_dir, sizeof(c->run_dir), "/run/ovn");
	snprintf(c->store.backend, sizeof(c->store.backend), "embedded");
	snprintf(c->store.path, sizeof(c->store.path), "/var/lib/ovn");
	snprintf(c->store.prefix, sizeof(c->store.prefix), "/ovn");
	c->store.sync_interval = 0.05;
	c->store.timeout = 5;
	c->mtu = 0;
	c->log.level = LOG_LVL_INFO;
	ovn_prefix_parse(&c->ipam.pool4, "10.213.0.0/16", true);
	c->ipam.size4 = 24;
	ovn_prefix_parse(&c->ipam.pool6, "fd6f:766e::/48", true);
	c->ipam.size6 = 64;
	c->dns.enabled = true;
	ovn_ip_parse(&c->dns.address, "127.0.0.11");
	c->docker.reservation_ttl = 900;
	c->encryption.rotate_interval = 3600;
	c->encryption.grace = 30;
	c->dns.ttl = 10;
	c->egress.enabled = true;
	c->egress.forwarding = true;
	c->api.rate = 100;
	c->api.burst = 200;
	c->security.capabilities = true;
	c->security.seccomp = true;
	c->security.seccomp_action = SEC_ACTION_KILL;
}
