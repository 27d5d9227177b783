/* test_config.c: agent/config.c (YAML -> struct cfg) and agent/log.c.
 *
 * Config vectors are a table {yaml, expected error substring or NULL, check};
 * every error vector names the line it expects ("test.yaml:N: key: ..."). Log
 * tests point stderr at a temporary file and read back what was written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

/* ---- helpers ---- */

static void assert_prefix(const struct ovn_prefix *p, const char *want)
{
	char buf[OVN_PREFIX_STRLEN];

	assert_string_equal(ovn_prefix_str(p, buf), want);
}

static void assert_ip(const struct ovn_ip *ip, const char *want)
{
	char buf[OVN_IP_STRLEN];

	assert_string_equal(ovn_ip_str(ip, buf), want);
}

/* Load yaml over fresh defaults; returns the result and fills c and err. */
static int load(struct cfg *c, const char *yaml, struct ovn_err *err)
{
	cfg_defaults(c);
	ovn_err_clear(err);
	return cfg_load_string(c, yaml, "test.yaml", err);
}

/* ---- checks run on vectors that load ---- */

static void chk_defaults(const struct cfg *c)
{
	char host[256] = "";

	gethostname(host, sizeof(host));
	host[63] = '\0';
	assert_string_equal(c->node, host[0] ? host : "localhost");
	assert_int_equal(c->advertise.family, 0);
	assert_string_equal(c->run_dir, "/run/ovn");
	assert_string_equal(c->api.socket, "/run/ovn/ovn.sock");
	assert_string_equal(c->api.group, "");
	assert_string_equal(c->store.backend, "embedded");
	assert_string_equal(c->store.path, "/var/lib/ovn");
	assert_string_equal(c->store.prefix, "/ovn");
	assert_true(c->store.sync_interval == 0.05);
	assert_int_equal(c->mtu, 0);
	assert_int_equal(c->log.level, LOG_LVL_INFO);
	assert_prefix(&c->ipam.pool4, "10.213.0.0/16");
	assert_int_equal(c->ipam.size4, 24);
	assert_prefix(&c->ipam.pool6, "fd6f:766e::/48");
	assert_int_equal(c->ipam.size6, 64);
	assert_true(c->dns.enabled);
	assert_ip(&c->dns.address, "127.0.0.11");
	assert_int_equal(c->dns.upstreams.n, 0);
	assert_int_equal(c->dns.ttl, 10);
	assert_string_equal(c->metrics.listen, "");
	assert_true(c->egress.enabled);
	assert_true(c->egress.forwarding);
	assert_int_equal(c->dns.host_address.family, 0);
	assert_string_equal(c->docker.api, "");
	assert_true(c->security.seccomp);
	assert_true(c->security.capabilities);
	assert_int_equal(c->security.seccomp_action, SEC_ACTION_KILL);
	assert_int_equal(c->api.rate, 100);
	assert_int_equal(c->api.burst, 200);
}

static void chk_all(const struct cfg *c)
{
	assert_string_equal(c->node, "host-1.example_a");
	assert_ip(&c->advertise, "198.18.0.1");
	assert_string_equal(c->run_dir, "/tmp/ovn-run");
	assert_string_equal(c->api.socket, "/tmp/api.sock");
	assert_string_equal(c->api.group, "docker");
	assert_string_equal(c->store.backend, "redis");
	assert_string_equal(c->store.path, "/srv/ovn");
	assert_string_equal(c->store.prefix, "/a/b");
	assert_true(c->store.sync_interval == 0.25);
	assert_int_equal(c->mtu, 1350);
	assert_int_equal(c->log.level, LOG_LVL_DEBUG);
	assert_prefix(&c->ipam.pool4, "198.19.0.0/16");
	assert_int_equal(c->ipam.size4, 26);
	assert_prefix(&c->ipam.pool6, "fd00:1::/32");
	assert_int_equal(c->ipam.size6, 80);
}

static void chk_run_dir(const struct cfg *c)
{
	assert_string_equal(c->run_dir, "/tmp/r");
	assert_string_equal(c->api.socket, "/tmp/r/ovn.sock");
}

static void chk_mtu_576(const struct cfg *c) { assert_int_equal(c->mtu, 576); }
static void chk_mtu_9000(const struct cfg *c) { assert_int_equal(c->mtu, 9000); }
static void chk_sync_0(const struct cfg *c) { assert_true(c->store.sync_interval == 0); }
static void chk_sync_10(const struct cfg *c) { assert_true(c->store.sync_interval == 10); }
static void chk_sync_exp(const struct cfg *c) { assert_true(c->store.sync_interval == 0.1); }
static void chk_redis(const struct cfg *c)
{
	assert_string_equal(c->store.backend, "redis");
	assert_int_equal(c->store.endpoints.n, 2);
	assert_string_equal(c->store.endpoints.v[0], "redis://198.18.0.254:6379");
	assert_string_equal(c->store.endpoints.v[1], "redis://198.18.0.253:6379");
	assert_true(c->store.timeout == 2);
	assert_string_equal(c->store.password_file, "/etc/ovn/store.pass");
}
static void chk_one_ep(const struct cfg *c)
{
	assert_int_equal(c->store.endpoints.n, 1);
	assert_string_equal(c->store.endpoints.v[0], "http://198.18.0.254:2379");
	assert_true(c->store.timeout == 5);
}
static void chk_tls(const struct cfg *c)
{
	assert_string_equal(c->store.tls.ca, "/etc/ovn/ca.pem");
	assert_string_equal(c->store.tls.key, "/etc/ovn/k.pem");
}
static void chk_level_error(const struct cfg *c) { assert_int_equal(c->log.level, LOG_LVL_ERROR); }
static void chk_level_warn(const struct cfg *c) { assert_int_equal(c->log.level, LOG_LVL_WARN); }
static void chk_etcd(const struct cfg *c) { assert_string_equal(c->store.backend, "etcd"); }
static void chk_consul(const struct cfg *c) { assert_string_equal(c->store.backend, "consul"); }

static void chk_egress_off(const struct cfg *c)
{
	assert_false(c->egress.enabled);
	assert_true(c->egress.forwarding);
}

static void chk_host_names(const struct cfg *c)
{
	assert_ip(&c->dns.host_address, "127.0.0.53");
	assert_string_equal(c->docker.api, "/run/docker.sock");
}

static void chk_dns(const struct cfg *c)
{
	assert_false(c->dns.enabled);
	assert_ip(&c->dns.address, "127.0.0.53");
	assert_int_equal(c->dns.upstreams.n, 3);
	assert_string_equal(c->dns.upstreams.v[0], "198.18.0.253");
	assert_string_equal(c->dns.upstreams.v[1], "198.18.0.252:5353");
	assert_string_equal(c->dns.upstreams.v[2], "[fd00::1]:53");
	assert_int_equal(c->dns.ttl, 30);
}
static void chk_dns_v6(const struct cfg *c)
{
	assert_int_equal(c->dns.upstreams.n, 1);
	assert_string_equal(c->dns.upstreams.v[0], "fd00::53");
}

static void chk_gossip(const struct cfg *c)
{
	assert_int_equal(c->gossip.port, 7946);
	assert_int_equal(c->gossip.join.n, 2);
	assert_string_equal(c->gossip.join.v[0], "198.18.0.1");
	assert_string_equal(c->gossip.join.v[1], "198.18.0.2:7000");
	assert_string_equal(c->gossip.keyring, "/etc/ovn/keyring.json");
}
static void chk_metrics4(const struct cfg *c)
{
	assert_string_equal(c->metrics.listen, "198.18.0.1:9464");
}
static void chk_metrics6(const struct cfg *c)
{
	assert_string_equal(c->metrics.listen, "[fd00:18::1]:9465");
}

static void chk_security(const struct cfg *c)
{
	assert_false(c->security.seccomp);
	assert_true(c->security.capabilities);
	assert_int_equal(c->security.seccomp_action, SEC_ACTION_LOG);
	assert_int_equal(c->api.rate, 5);
	assert_int_equal(c->api.burst, 10);
}

static void chk_small_pools(const struct cfg *c)
{
	assert_prefix(&c->ipam.pool4, "198.19.0.0/28");
	assert_int_equal(c->ipam.size4, 30);
	assert_prefix(&c->ipam.pool6, "fd00::/120");
	assert_int_equal(c->ipam.size6, 124);
}

#define ALL_BLOCK                                                      \
	"# every key\n"                                                \
	"node: host-1.example_a\n"                                     \
	"advertise: 198.18.0.1\n"                                      \
	"run_dir: /tmp/ovn-run\n"                                      \
	"mtu: 1350\n"                                                  \
	"api:\n"                                                       \
	"  socket: /tmp/api.sock\n"                                    \
	"  group: docker\n"                                            \
	"store:\n"                                                     \
	"  backend: redis\n"                                           \
	"  path: /srv/ovn\n"                                           \
	"  prefix: /a/b\n"                                             \
	"  sync_interval: 0.25\n"                                      \
	"  endpoints: [redis://198.18.0.254:6379]\n"                  \
	"log:\n"                                                       \
	"  level: debug\n"                                             \
	"ipam:\n"                                                      \
	"  pool4: 198.19.0.0/16\n"                                     \
	"  size4: 26\n"                                                \
	"  pool6: fd00:1::/32\n"                                       \
	"  size6: 80\n"

#define ALL_FLOW                                                                        \
	"{node: host-1.example_a, advertise: 198.18.0.1, run_dir: /tmp/ovn-run, mtu: 1350, " \
	"api: {socket: /tmp/api.sock, group: docker}, "                                  \
	"store: {backend: redis, path: /srv/ovn, prefix: /a/b, sync_interval: 0.25, "     \
	"endpoints: [redis://198.18.0.254:6379]}, "                                        \
	"log: {level: debug}, "                                                          \
	"ipam: {pool4: 198.19.0.0/16, size4: 26, pool6: 'fd00:1::/32', size6: 80}}\n"

struct vec {
	const char *yaml;
	const char *err;	/* NULL: loads; else a substring of err.msg */
	void (*check)(const struct cfg *c);
};

static const struct vec vecs[] = {
	/* loads */
	{ "", NULL, chk_defaults },
	{ "# only comments\n\n   # and blanks\n", NULL, chk_defaults },
	{ "---\n", NULL, chk_defaults },
	{ "{}\n", NULL, chk_defaults },
	{ "api:\nstore: {}\n", NULL, chk_defaults },
	{ ALL_BLOCK, NULL, chk_all },
	{ ALL_FLOW, NULL, chk_all },
	{ "run_dir: /tmp/r\n", NULL, chk_run_dir },
	{ "run_dir: /tmp/r\napi: {socket: \"\"}\n", NULL, chk_run_dir },
	{ "mtu: 0\n", NULL, chk_defaults },
	{ "mtu: 576\n", NULL, chk_mtu_576 },
	{ "mtu: '9000'\n", NULL, chk_mtu_9000 },
	{ "store: {sync_interval: 0}\n", NULL, chk_sync_0 },
	{ "store:\n  backend: redis\n  endpoints:\n    - redis://198.18.0.254:6379\n"
	  "    - redis://198.18.0.253:6379\n  timeout: 2\n  password_file: /etc/ovn/store.pass\n",
	  NULL, chk_redis },
	{ "store: {backend: etcd, endpoints: http://198.18.0.254:2379}\n", NULL, chk_one_ep },
	{ "store: {tls: {ca: /etc/ovn/ca.pem, key: /etc/ovn/k.pem}}\n", NULL, chk_tls },
	{ "store:\n  backend: etcd\n", "test.yaml:2: store.backend: a cluster store needs store.endpoints",
	  NULL },
	{ "store:\n  endpoints: [ftp://x]\n", "test.yaml:2: store.endpoints: 'ftp://x' is not", NULL },
	{ "store:\n  endpoints: [redis://]\n", "store.endpoints", NULL },
	{ "store:\n  endpoints: [[a]]\n", "store.endpoints: list items must be scalars", NULL },
	{ "store:\n  endpoints: {a: b}\n", "store.endpoints: expected a list", NULL },
	{ "store: {endpoints: [redis://a, redis://a, redis://a, redis://a, redis://a, redis://a, "
	  "redis://a, redis://a, redis://a]}\n", "store.endpoints: at most 8 entries", NULL },
	{ "store: {timeout: 0}\n", "store.timeout", NULL },
	{ "store: {timeout: 61}\n", "store.timeout", NULL },
	{ "store: {password_file: relative}\n", "store.password_file", NULL },
	{ "store: {tls: {cert: x.pem}}\n", "store.tls.cert", NULL },
	{ "store: {tls: {bogus: 1}}\n", "store.tls.bogus: unknown key", NULL },
	{ "store: {sync_interval: 10}\n", NULL, chk_sync_10 },
	{ "store: {sync_interval: 1e-1}\n", NULL, chk_sync_exp },
	{ "log: {level: error}\n", NULL, chk_level_error },
	{ "log: {level: warn}\n", NULL, chk_level_warn },
	{ "store: {backend: etcd, endpoints: [\"http://198.18.0.254:2379\"]}\n", NULL, chk_etcd },
	{ "store:\n  backend: consul\n  endpoints: [http://198.18.0.254:8500]\n", NULL, chk_consul },
	{ "ipam: {pool4: 198.19.0.0/28, size4: 30, pool6: 'fd00::/120', size6: 124}\n", NULL,
	  chk_small_pools },

	/* egress */
	{ "egress: {enabled: false}\n", NULL, chk_egress_off },
	{ "egress:\n  forwarding: 1\n", "test.yaml:2: egress.forwarding: '1' is not true or false",
	  NULL },
	{ "egress: {nat: true}\n", "test.yaml:1: egress.nat: unknown key", NULL },

	/* dns */
	{ "dns:\n  enabled: false\n  address: 127.0.0.53\n  upstreams:\n    - 198.18.0.253\n"
	  "    - 198.18.0.252:5353\n    - \"[fd00::1]:53\"\n  ttl: 30\n", NULL, chk_dns },
	{ "dns: {upstreams: \"fd00::53\"}\n", NULL, chk_dns_v6 },
	{ "dns: {upstreams: []}\n", NULL, chk_defaults },
	{ "dns: {enabled: yes}\n", "test.yaml:1: dns.enabled: 'yes' is not true or false", NULL },
	{ "dns: {address: 0.0.0.0}\n", "test.yaml:1: dns.address: '0.0.0.0' is not a unicast", NULL },
	{ "dns: {address: fd00::1}\n", "test.yaml:1: dns.address: 'fd00::1' is not an IPv4", NULL },
	{ "dns: {host_address: 127.0.0.53}\ndocker: {api: /run/docker.sock}\n", NULL,
	  chk_host_names },
	{ "dns: {host_address: 198.18.0.1}\n",
	  "test.yaml:1: dns.host_address: '198.18.0.1' is not a loopback address", NULL },
	{ "docker: {api: docker.sock}\n", "test.yaml:1: docker.api:", NULL },
	{ "dns:\n  upstreams: [198.18.0.253:0]\n",
	  "test.yaml:2: dns.upstreams: '198.18.0.253:0' is not IP, IPv4:PORT or [IPv6]:PORT", NULL },
	{ "dns: {upstreams: [resolver.example]}\n", "dns.upstreams: 'resolver.example' is not IP",
	  NULL },
	{ "dns: {upstreams: [\"[fd00::1\"]}\n", "dns.upstreams: '[fd00::1' is not IP", NULL },
	{ "dns: {upstreams: [\"1.2.3.4:53x\"]}\n", "dns.upstreams: '1.2.3.4:53x' is not IP", NULL },
	{ "dns: {ttl: 0}\n", "test.yaml:1: dns.ttl: '0' is out of range 1-86400", NULL },
	/* metrics */
	{ "metrics:\n  listen: 198.18.0.1:9464\n", NULL, chk_metrics4 },
	{ "metrics: {listen: \"[fd00:18::1]:9465\"}\n", NULL, chk_metrics6 },
	{ "metrics: {listen: \"\"}\n", NULL, chk_defaults },
	{ "metrics:\n  listen: 198.18.0.1\n",
	  "test.yaml:2: metrics.listen: '198.18.0.1' is not IPv4:PORT or [IPv6]:PORT", NULL },
	{ "metrics: {listen: \"198.18.0.1:0\"}\n", "metrics.listen: '198.18.0.1:0' is not", NULL },
	{ "metrics: {listen: \"fd00::1:9464\"}\n", "metrics.listen: 'fd00::1:9464' is not", NULL },
	{ "metrics: {listen: [\"198.18.0.1:1\"]}\n", "test.yaml:1: metrics.listen:", NULL },
	{ "metrics: {lisen: \"198.18.0.1:1\"}\n", "did you mean 'listen'?", NULL },
	{ "dns: {tll: 5}\n", "test.yaml:1: dns.tll: unknown key, did you mean 'ttl'?", NULL },

	/* gossip */
	{ "advertise: 198.18.0.3\ngossip:\n  port: 7946\n  join: [198.18.0.1, \"198.18.0.2:7000\"]\n"
	  "  keyring: /etc/ovn/keyring.json\n", NULL, chk_gossip },
	{ "gossip: {port: 7946}\n", "test.yaml:1: gossip.port: gossip needs advertise", NULL },
	{ "advertise: 198.18.0.3\ngossip:\n  join: [198.18.0.1]\n",
	  "test.yaml:3: gossip.join: gossip is off: set gossip.port", NULL },
	{ "advertise: 198.18.0.3\ngossip: {port: 7946, join: [h1.example]}\n",
	  "test.yaml:2: gossip.join: 'h1.example' is not IPv4 or IPv4:PORT", NULL },
	{ "advertise: 198.18.0.3\ngossip: {port: 7946, join: [\"198.18.0.1:0\"]}\n",
	  "gossip.join: '198.18.0.1:0' is not IPv4 or IPv4:PORT", NULL },
	{ "advertise: 198.18.0.3\ngossip: {port: 7946, join: [\"fd00::1\"]}\n",
	  "gossip.join: 'fd00::1' is not IPv4", NULL },
	{ "gossip: {port: 70000}\n", "gossip.port: '70000' is out of range", NULL },
	{ "gossip: {keyring: keys.json}\n", "gossip.keyring: 'keys.json' is not an absolute", NULL },

	/* security, API limits */
	{ "security: {seccomp: false, seccomp_action: log}\napi: {rate: 5, burst: 10}\n", NULL,
	  chk_security },
	{ "security: {seccomp_action: errno}\n", "test.yaml:1: security.seccomp_action:", NULL },
	{ "security: {seccomp: yes}\n", "test.yaml:1: security.seccomp:", NULL },
	{ "api: {burst: 0}\n", "test.yaml:1: api.burst: '0' is out of range", NULL },

	/* addresses */
	{ "advertise: 1.2.3\n", "test.yaml:1: advertise: '1.2.3' is not an IPv4 address", NULL },
	{ "mtu: 1400\nadvertise: fd00::1\n",
	  "test.yaml:2: advertise: 'fd00::1' is not an IPv4 address (the VxLAN underlay is IPv4 only", NULL },
	{ "advertise: 0.0.0.0\n",
	  "test.yaml:1: advertise: '0.0.0.0' is not a unicast address", NULL },
	{ "advertise: 224.0.0.1\n", "test.yaml:1: advertise: '224.0.0.1' is not a unicast", NULL },
	{ "advertise: 198.18.0.1/24\n",
	  "test.yaml:1: advertise: '198.18.0.1/24' is not an IPv4", NULL },

	/* strings */
	{ "node: \"\"\n", "test.yaml:1: node: '' must be 1-63 characters", NULL },
	{ "node: a b\n", "test.yaml:1: node: 'a b' must be 1-63 characters", NULL },
	{ "node: \"a\\nb\"\n", "test.yaml:1: node: 'a\\x0ab' contains control characters", NULL },
	{ "node: \"a\\0b\"\n", "test.yaml:1: node: value contains a NUL byte", NULL },
	{ "node: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "test.yaml:1: node: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer "
	  "than 63 bytes", NULL },
	{ "run_dir: run/ovn\n", "test.yaml:1: run_dir: 'run/ovn' is not an absolute path", NULL },
	{ "store:\n  path: relative\n",
	  "test.yaml:2: store.path: 'relative' is not an absolute", NULL },
	{ "api: {socket: sock}\n",
	  "test.yaml:1: api.socket: 'sock' is not an absolute path", NULL },
	{ "api: {socket: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n",
	  "test.yaml:1: api.socket: path is longer than 107 bytes", NULL },
	{ "api:\n  group: 'a:b'\n", "test.yaml:2: api.group: 'a:b' is not a group name", NULL },
	{ "store: {backend: mysql}\n",
	  "test.yaml:1: store.backend: 'mysql' is not one of embedded, redis, etcd, consul", NULL },
	{ "store: {prefix: ovn}\n", "test.yaml:1: store.prefix: 'ovn' must start with '/'", NULL },
	{ "store: {prefix: /ovn/}\n", "test.yaml:1: store.prefix: '/ovn/' must start", NULL },
	{ "store: {prefix: /}\n", "test.yaml:1: store.prefix: '/' must start", NULL },
	{ "store: {prefix: /a//b}\n", "test.yaml:1: store.prefix: '/a//b' must start", NULL },

	/* numbers */
	{ "mtu: 575\n",
	  "test.yaml:1: mtu: 575 is out of range: 0 (underlay MTU - 50) or 576-9000", NULL },
	{ "mtu: 1\n", "test.yaml:1: mtu: 1 is out of range", NULL },
	{ "mtu: 9001\n", "test.yaml:1: mtu: '9001' is out of range 0-9000", NULL },
	{ "mtu: 99999999999999999999\n",
	  "test.yaml:1: mtu: '99999999999999999999' is out of range", NULL },
	{ "mtu: -5\n", "test.yaml:1: mtu: '-5' is not a decimal number", NULL },
	{ "mtu: 1.5e3\n", "test.yaml:1: mtu: '1.5e3' is not a decimal number", NULL },
	{ "mtu: 0x500\n", "test.yaml:1: mtu: '0x500' is not a decimal number", NULL },
	{ "mtu: ''\n", "test.yaml:1: mtu: '' is not a decimal number", NULL },
	{ "store: {sync_interval: 11}\n",
	  "test.yaml:1: store.sync_interval: '11' is out of range 0-10", NULL },
	{ "store: {sync_interval: -0.5}\n",
	  "test.yaml:1: store.sync_interval: '-0.5' is out of range", NULL },
	{ "store: {sync_interval: .inf}\n",
	  "test.yaml:1: store.sync_interval: '.inf' is not a number", NULL },
	{ "store: {sync_interval: nan}\n",
	  "test.yaml:1: store.sync_interval: 'nan' is not a number", NULL },
	{ "store: {sync_interval: 0x1}\n",
	  "test.yaml:1: store.sync_interval: '0x1' is not a number", NULL },
	{ "store: {sync_interval: 1e999}\n",
	  "test.yaml:1: store.sync_interval: '1e999' is not a number", NULL },
	{ "store: {sync_interval: 1..2}\n",
	  "test.yaml:1: store.sync_interval: '1..2' is not a number", NULL },

	/* enum */
	{ "log:\n  level: warning\n",
	  "test.yaml:2: log.level: 'warning' is not one of error, warn, info, debug", NULL },
	{ "log: {level: INFO}\n", "test.yaml:1: log.level: 'INFO' is not one of", NULL },

	/* prefixes and sizes */
	{ "ipam:\n  pool4: 10.213.0.1/16\n",
	  "test.yaml:2: ipam.pool4: '10.213.0.1/16' has host bits set (did you mean '10.213.0.0/16'?)", NULL },
	{ "ipam: {pool4: 10.0.0.0/7}\n",
	  "test.yaml:1: ipam.pool4: '10.0.0.0/7': length must be 8-28", NULL },
	{ "ipam: {pool4: 10.0.0.0/29}\n",
	  "test.yaml:1: ipam.pool4: '10.0.0.0/29': length must be 8-28", NULL },
	{ "ipam: {pool4: 10.0.0.0}\n",
	  "test.yaml:1: ipam.pool4: '10.0.0.0' is not an IPv4 prefix", NULL },
	{ "ipam: {pool4: 'fd00::/48'}\n",
	  "test.yaml:1: ipam.pool4: 'fd00::/48' is not an IPv4 prefix", NULL },
	{ "ipam: {pool6: 10.0.0.0/8}\n",
	  "test.yaml:1: ipam.pool6: '10.0.0.0/8' is not an IPv6 prefix", NULL },
	{ "ipam: {pool6: 'fd00::/7'}\n",
	  "test.yaml:1: ipam.pool6: 'fd00::/7': length must be 8-120", NULL },
	{ "ipam: {pool6: 'fd00::/121'}\n",
	  "test.yaml:1: ipam.pool6: 'fd00::/121': length must be", NULL },
	{ "ipam: {pool6: 'fd00::1/64'}\n",
	  "test.yaml:1: ipam.pool6: 'fd00::1/64' has host bits set (did you mean 'fd00::/64'?)", NULL },
	{ "ipam: {size4: 15}\n", "test.yaml:1: ipam.size4: '15' is out of range 16-30", NULL },
	{ "ipam: {size4: 31}\n", "test.yaml:1: ipam.size4: '31' is out of range 16-30", NULL },
	{ "ipam: {size6: 47}\n", "test.yaml:1: ipam.size6: '47' is out of range 48-124", NULL },
	{ "ipam: {size6: 125}\n", "test.yaml:1: ipam.size6: '125' is out of range 48-124", NULL },
	{ "ipam:\n  size4: 16\n",
	  "test.yaml:2: ipam.size4: /16 must be longer than the pool 10.213.0.0/16", NULL },
	{ "\nipam:\n  pool4: 198.19.0.0/24\n",
	  "test.yaml:3: ipam.size4: /24 must be longer than the pool 198.19.0.0/24", NULL },
	{ "ipam: {size6: 48}\n",
	  "test.yaml:1: ipam.size6: /48 must be longer than the pool fd6f:766e::/48", NULL },

	/* keys */
	{ "api:\n  socket: /x\n  grop: wheel\n",
	  "test.yaml:3: api.grop: unknown key, did you mean 'group'?", NULL },
	{ "mtu: 1400\nstor:\n  path: /x\n",
	  "test.yaml:2: stor: unknown key, did you mean 'store'?", NULL },
	{ "socket: /x\n", "test.yaml:1: socket: unknown key, did you mean 'api.socket'?", NULL },
	{ "store:\n  socket: /x\n",
	  "test.yaml:2: store.socket: unknown key, did you mean 'api.socket'?", NULL },
	{ "store: {bakend: redis}\n",
	  "test.yaml:1: store.bakend: unknown key, did you mean 'backend'?", NULL },
	{ "zzz: 1\n", "test.yaml:1: zzz: unknown key", NULL },
	{ "store.backend: redis\n", "test.yaml:1: store.backend: a key may not contain '.'", NULL },
	{ "mtu: 1400\nmtu: 1500\n", "test.yaml:2: mtu: duplicate key (first set on line 1)", NULL },
	{ "api: {}\nlog: {}\napi: {group: x}\n",
	  "test.yaml:3: api: duplicate key (first set on line 1)", NULL },
	{ "ipam:\n  size4: 24\n  size4: 25\n",
	  "test.yaml:3: ipam.size4: duplicate key (first set on line 2)", NULL },
	{ "[a]: 1\n", "test.yaml:1: (top level): a key must be a name, got a sequence", NULL },

	/* node types */
	{ "api: /x\n", "test.yaml:1: api: expected a mapping, got a scalar", NULL },
	{ "store:\n  - a\n", "test.yaml:2: store: expected a mapping, got a sequence", NULL },
	{ "mtu: [1]\n", "test.yaml:1: mtu: expected a scalar value, got a sequence", NULL },
	{ "log:\n  level:\n    debug: 1\n",
	  "test.yaml:3: log.level: expected a scalar value, got a mapping", NULL },
	{ "mtu:\n", "test.yaml:1: mtu: missing value", NULL },
	{ "node: ~\n", "test.yaml:1: node: missing value", NULL },

	/* documents and syntax */
	{ "- a\n- b\n", "test.yaml:1: (top level): must be a mapping of keys", NULL },
	{ "hello\n", "test.yaml:1: (top level): must be a mapping of keys", NULL },
	{ "mtu: 1400\n---\nmtu: 1500\n",
	  "test.yaml:3: (document): only one YAML document is allowed", NULL },
	{ "node: a: b\n",
	  "test.yaml:1: syntax error: mapping values are not allowed in this context", NULL },
	{ "api:\n  socket: /x\n\tgroup: y\n", "test.yaml:3: syntax error:", NULL },
	{ "mtu: 1400\nlog: {level: debug\n", "test.yaml:3: syntax error:", NULL },
	{ "node: \"abc\n", "test.yaml:2: syntax error: found unexpected end of stream", NULL },
	{ "mtu: 1400\nnode: \xff\n", "test.yaml:2: syntax error: invalid ", NULL },
	{ "api: *nope\n", "test.yaml:1: syntax error: found undefined alias", NULL },
};

static void test_vectors(void **state)
{
	struct ovn_err err;
	struct cfg c;

	for (size_t i = 0; i < ARRAY_SIZE(vecs); i++) {
		const struct vec *v = &vecs[i];
		int r = load(&c, v->yaml, &err);

		if (v->err ? r == 0 || !strstr(err.msg, v->err) : r != 0) {
			print_error("vector %zu: yaml=\"%s\"\n  got r=%d msg=\"%s\"\n  want \"%s\"\n",
				    i, v->yaml, r, err.msg, v->err ? v->err : "(success)");
			fail();
		}
		if (v->err)
			assert_int_equal(r, -EINVAL);
		if (v->check)
			v->check(&c);
	}
}

/* A failure anywhere, even after good keys, leaves the caller's cfg as it was. */
static void test_no_change_on_error(void **state)
{
	static const char *const bad[] = {
		"mtu: 1400\nrun_dir: /tmp/x\nnode: 'bad name'\n",
		"mtu: 1400\nipam: {size4: 16}\n",
		"mtu: 1400\nrun_dir: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"mtu: 1400\nlog: {level: debug}\n---\nmtu: 1\n",
		"mtu: 1400\nnode: [\n",
	};
	struct ovn_err err;
	struct cfg c, before;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cfg_defaults(&c);
		snprintf(c.node, sizeof(c.node), "keep-me");
		before = c;
		ovn_err_clear(&err);
		assert_int_equal(cfg_load_string(&c, bad[i], "t.yaml", &err), -EINVAL);
		assert_true(strncmp(err.msg, "t.yaml:", 7) == 0);
		assert_memory_equal(&c, &before, sizeof(c));
	}
}

/* The file is read over what c already holds: keys it lacks stay. */
static void test_overlay(void **state)
{
	struct ovn_err err = { 0 };
	struct cfg c;

	cfg_defaults(&c);
	c.mtu = 1400;
	snprintf(c.api.socket, sizeof(c.api.socket), "/tmp/keep.sock");
	assert_int_equal(cfg_load_string(&c, "run_dir: /tmp/r\n", "t", &err), 0);
	assert_int_equal(c.mtu, 1400);
	assert_string_equal(c.api.socket, "/tmp/keep.sock");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/ovn-test-config-XXXXXX", path[128];
	struct ovn_err err;
	struct cfg c;
	int r;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/agent.yaml", dir);

	cfg_defaults(&c);
	ovn_err_clear(&err);
	write_file(path, "mtu: 1400\napi:\n  sock: /x\n");
	r = cfg_load(&c, path, &err);
	assert_int_equal(r, -EINVAL);
	assert_true(strncmp(err.msg, path, strlen(path)) == 0);
	assert_non_null(strstr(err.msg, ":3: api.sock: unknown key, did you mean 'socket'?"));
	assert_int_equal(c.mtu, 0);

	ovn_err_clear(&err);
	write_file(path, ALL_BLOCK);
	assert_int_equal(cfg_load(&c, path, &err), 0);
	chk_all(&c);

	cfg_defaults(&c);
	ovn_err_clear(&err);
	write_file(path, "");
	assert_int_equal(cfg_load(&c, path, &err), 0);
	chk_defaults(&c);
	unlink(path);

	ovn_err_clear(&err);
	assert_int_equal(cfg_load(&c, path, &err), -ENOENT);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ": No such file or directory");
	assert_string_equal(err.msg, path);

	ovn_err_clear(&err);
	assert_int_equal(cfg_load(&c, dir, &err), -EISDIR);
	assert_non_null(strstr(err.msg, ": Is a directory"));
	rmdir(dir);
}

/* The shipped example must load and equal the defaults. */
static void test_example(void **state)
{
	const char *src = getenv("OVN_SRCDIR");
	char path[512];
	struct ovn_err err = { 0 };
	struct cfg c;

	snprintf(path, sizeof(path), "%s/etc/agent.yaml.example", src ? src : ".");
	if (access(path, R_OK) < 0)
		skip();
	cfg_defaults(&c);
	if (cfg_load(&c, path, &err) < 0)
		fail_msg("%s", err.msg);
	chk_defaults(&c);
}

static void test_log_level_parse(void **state)
{
	static const struct {
		const char *s;
		int r;
		enum log_level lvl;
	} v[] = {
		{ "error", 0, LOG_LVL_ERROR }, { "warn", 0, LOG_LVL_WARN },
		{ "info", 0, LOG_LVL_INFO },   { "debug", 0, LOG_LVL_DEBUG },
		{ "", -EINVAL, 0 },	       { "warning", -EINVAL, 0 },
		{ "Info", -EINVAL, 0 },	       { "debug ", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		enum log_level lvl = LOG_LVL_ERROR;

		assert_int_equal(cfg_log_level_parse(v[i].s, &lvl), v[i].r);
		if (!v[i].r)
			assert_int_equal(lvl, v[i].lvl);
	}
	assert_int_equal(cfg_log_level_parse(NULL, NULL), -EINVAL);
}

/* ---- log ---- */

struct capture {
	FILE *f;
	int saved;
};

static void capture_start(struct capture *cap)
{
	cap->f = tmpfile();
	assert_non_null(cap->f);
	fflush(stderr);
	cap->saved = dup(STDERR_FILENO);
	assert_true(cap->saved >= 0);
	assert_true(dup2(fileno(cap->f), STDERR_FILENO) >= 0);
}

/* Restore stderr; return what was written (caller frees). */
static char *capture_end(struct capture *cap)
{
	char *buf = calloc(1, 8192);
	size_t n;

	assert_non_null(buf);
	dup2(cap->saved, STDERR_FILENO);
	close(cap->saved);
	rewind(cap->f);
	n = fread(buf, 1, 8191, cap->f);
	buf[n] = '\0';
	fclose(cap->f);
	return buf;
}

/* "ts=2026-11-23T17:40:01.123Z " (TS_LEN bytes) */
#define TS_LEN 28
static void assert_timestamp(const char *s)
{
	const char *pat = "ts=dddd-dd-ddTdd:dd:dd.dddZ ";

	for (size_t i = 0; pat[i]; i++) {
		if (pat[i] == 'd')
			assert_true(s[i] >= '0' && s[i] <= '9');
		else
			assert_int_equal(s[i], pat[i]);
	}
}

static void test_log_levels(void **state)
{
	struct capture cap;
	char *out;

	unsetenv("JOURNAL_STREAM");
	capture_start(&cap);
	log_init(LOG_LVL_WARN);
	assert_int_equal(log_get_level(), LOG_LVL_WARN);
	log_debug("hidden %d", 1);
	log_info("hidden %d", 2);
	log_warn("shown %d", 3);
	log_error("shown %s", "four");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("now shown");
	out = capture_end(&cap);

	assert_null(strstr(out, "hidden"));
	assert_timestamp(out);
	assert_true(strncmp(out + TS_LEN, "level=warn msg=\"shown 3\"\n", 25) == 0);
	/* Three lines of the same shape. */
	{
		char *l2 = strchr(out, '\n') + 1, *l3 = strchr(l2, '\n') + 1;

		assert_timestamp(l2);
		assert_true(strncmp(l2 + TS_LEN, "level=error msg=\"shown four\"\n", 29) == 0);
		assert_timestamp(l3);
		assert_string_equal(l3 + TS_LEN, "level=debug msg=\"now shown\"\n");
	}
	free(out);
	log_init(LOG_LVL_INFO);
}

static void test_log_escape(void **state)
{
	struct capture cap;
	char *out;

	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LVL_INFO);
	capture_start(&cap);
	log_info("name=%s id=%d", "evil\ninfo forged\r\t\x01\x7f\\n", 7);
	out = capture_end(&cap);
	assert_string_equal(out + TS_LEN, "level=info msg=\"name=evil\\ninfo forged\\r\\t\\x01"
					  "\\x7f\\n\" id=7\n");
	free(out);
}

static void test_log_long(void **state)
{
	char *big = malloc(5000);
	struct capture cap;
	char *out;
	size_t n;

	assert_non_null(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	big[1000] = '\n';	/* escapes count toward the cap */
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LVL_INFO);
	capture_start(&cap);
	log_info("%s", big);
	log_info("after");
	out = capture_end(&cap);
	n = strchr(out, '\n') - out + 1;
	assert_int_equal(n, 2048);
	assert_true(strncmp(out + n - 5, "...\"\n", 5) == 0);
	assert_non_null(strstr(out, "\\n"));
	assert_string_equal(out + n + TS_LEN, "level=info msg=\"after\"\n");
	free(out);
	free(big);
}

static void test_log_journal(void **state)
{
	const char *want = "<3>level=error msg=\"e\"\n<4>level=warn msg=\"w\"\n"
			   "<6>level=info msg=\"i x\\ny\"\n<7>level=debug msg=\"d\"\n";
	struct capture cap;
	struct stat st;
	char env[64], *out;
	size_t n;

	capture_start(&cap);
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init(LOG_LVL_DEBUG);
	log_error("e");
	log_warn("w");
	log_info("i %s", "x\ny");
	log_debug("d");
	/* Inherited but naming another file: not the journal. */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log_init(LOG_LVL_INFO);
	log_info("plain");
	out = capture_end(&cap);
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LVL_INFO);

	n = strlen(want);
	assert_true(strncmp(out, want, n) == 0);
	assert_timestamp(out + n);
	assert_string_equal(out + n + TS_LEN, "level=info msg=\"plain\"\n");
	free(out);
}

/* Trailing key=value words become logfmt fields; the rest is msg. */
static void test_log_fields(void **state)
{
	static const struct {
		const char *text;
		const char *want;	/* after the timestamp */
	} v[] = {
		{ "network web created vni=4096", "msg=\"network web created\" vni=4096" },
		{ "ready node=h1 socket=/run/ovn/ovn.sock",
		  "msg=\"ready\" node=h1 socket=/run/ovn/ovn.sock" },
		{ "attached to web name= if=eth0", "msg=\"attached to web\" name= if=eth0" },
		{ "name=x id=7", "msg=\"name=x\" id=7" },	/* the first word stays */
		{ "ready path=/a b id=3", "msg=\"ready path=/a b\" id=3" },
		{ "say \"hi\" k=\"v\"", "msg=\"say \\\"hi\\\" k=\\\"v\\\"\"" },
		{ "odd Key=1 k.x-y_2=2", "msg=\"odd Key=1\" k.x-y_2=2" },
		{ "trailing space k=1 ", "msg=\"trailing space k=1 \"" },
		{ "", "msg=\"\"" },
	};
	struct capture cap;
	char *out, *line;

	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LVL_INFO);
	capture_start(&cap);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		log_info("%s", v[i].text);
	out = capture_end(&cap);
	line = out;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *nl = strchr(line, '\n');

		assert_non_null(nl);
		*nl = '\0';
		assert_timestamp(line);
		if (strncmp(line + TS_LEN, "level=info ", 11) || strcmp(line + TS_LEN + 11, v[i].want))
			fail_msg("'%s' gave '%s', want '%s'", v[i].text, line + TS_LEN, v[i].want);
		line = nl + 1;
	}
	free(out);
}

/* Callers log and then report errno (or use %m): logging keeps it. */
static void test_log_errno(void **state)
{
	struct capture cap;
	char *out;

	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LVL_INFO);
	capture_start(&cap);
	errno = ENOENT;
	log_error("open: %m");
	assert_int_equal(errno, ENOENT);
	out = capture_end(&cap);
	assert_string_equal(out + TS_LEN, "level=error msg=\"open: No such file or directory\"\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_no_change_on_error),
		cmocka_unit_test(test_overlay),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_log_long),
		cmocka_unit_test(test_log_journal),
		cmocka_unit_test(test_log_errno),
		cmocka_unit_test(test_log_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
