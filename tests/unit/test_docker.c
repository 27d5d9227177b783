/* test_docker.c: the libnetwork plugin codecs of agent/docker.c: what
 * dockerd 20.10 sends (bodies as captured in docs/docker.md) is decoded,
 * bad bodies are refused with a message naming the field, and answers have
 * the fields dockerd reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "util.h"

#define NID "4f1c0a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170605f4e3"
#define EID "9de7c7d70209aa11bb22cc33dd44ee55ff66778899aabbccddeeff0011223344"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		fail_msg("bad test JSON %s: %s", s, e.text);
	return j;
}

static void test_error_body(void **state)
{
	char *s = docker_error_body("no \"such\" pool");
	json_t *j = J(s);

	(void)state;
	/* Both interfaces: NetworkDriver reads Err, IpamDriver Error. */
	assert_string_equal(json_string_value(json_object_get(j, "Err")), "no \"such\" pool");
	assert_string_equal(json_string_value(json_object_get(j, "Error")), "no \"such\" pool");
	json_decref(j);
	free(s);
}

static void test_pool_id(void **state)
{
	struct ovn_err err = { 0 };
	struct ovn_prefix p;
	char buf[64];

	(void)state;
	assert_int_equal(docker_pool_id_parse("ovn/198.19.7.0/24", &p, &err), 0);
	docker_pool_id_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "ovn/198.19.7.0/24");
	assert_int_equal(docker_pool_id_parse("ovn/fd00:7::/64", &p, &err), 0);
	assert_int_equal(docker_pool_id_parse("LocalDefault/10.0.0.0/8", &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown PoolID"));
	assert_int_equal(docker_pool_id_parse("ovn/198.19.7.1/24", &p, &err), -EINVAL);
	assert_int_equal(docker_pool_id_parse("ovn/", &p, &err), -EINVAL);
	assert_int_equal(docker_pool_id_parse(NULL, &p, &err), -EINVAL);
}

static void test_create_network(void **state)
{
	static const struct { const char *body; int code; const char *msg; } v[] = {
		{ "{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.enable_ipv6\":false,"
		  "\"com.docker.network.generic\":{\"ovn.network\":\"blue\"}},\"IPv4Data\":[{"
		  "\"AddressSpace\":\"ovn\",\"Gateway\":\"198.19.7.1/24\",\"Pool\":\"198.19.7.0/24\"}],"
		  "\"IPv6Data\":[]}", 0, NULL },
		{ "{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.generic\":{}},"
		  "\"IPv4Data\":[{\"Pool\":\"198.19.7.0/24\"}]}", -EINVAL, "-o ovn.network=NAME" },
		{ "{\"NetworkID\":\"abc\",\"Options\":{}}", -EINVAL, "not a Docker ID" },
		{ "{\"Options\":{}}", -EINVAL, "NetworkID: missing" },
		{ "[]", -EINVAL, "not a JSON object" },
		{ "{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.generic\":{"
		  "\"ovn.network\":\"b/c\"}},\"IPv4Data\":[{\"Pool\":\"198.19.7.0/24\"}]}", -EINVAL,
		  "ovn.network 'b/c'" },
		{ "{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.generic\":{"
		  "\"ovn.network\":\"blue\"}},\"IPv4Data\":[{\"Pool\":\"198.19.7.1/24\"}]}", -EINVAL,
		  "not a network address" },
		{ "{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.generic\":{"
		  "\"ovn.network\":\"blue\"}},\"IPv4Data\":[{\"Pool\":\"198.19.7.0/24\","
		  "\"Gateway\":\"198.19.8.1/24\"}]}", -EINVAL, "Gateway" },
		{ "{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.generic\":{"
		  "\"ovn.network\":\"blue\"}},\"IPv4Data\":[{\"Pool\":\"198.19.7.0/24\","
		  "\"AuxAddresses\":{\"r\":\"198.19.7.5/24\"}}]}", -EINVAL, "aux-address" },
		{ "{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.generic\":{"
		  "\"ovn.network\":\"blue\"}},\"IPv4Data\":[]}", -EINVAL, "no subnet" },
	};
	struct docker_create_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct ovn_err err = { 0 };
		json_t *j = J(v[i].body);
		int rc = docker_create_req_parse(j, &r, &err);

		json_decref(j);
		if (rc != v[i].code || (v[i].msg && !strstr(err.msg, v[i].msg)))
			fail_msg("#%zu: %d '%s'", i, rc, err.msg);
	}
}

static void test_create_network_fields(void **state)
{
	struct docker_create_req r;
	struct ovn_err err = { 0 };
	char buf[64];
	json_t *j = J("{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.internal\":true,"
		      "\"com.docker.network.enable_ipv6\":true,\"com.docker.network.generic\":{"
		      "\"ovn.network\":\"green\",\"foo\":\"bar\"}},\"IPv4Data\":[{\"Pool\":"
		      "\"198.19.8.0/24\",\"Gateway\":\"198.19.8.1/24\"}],\"IPv6Data\":[{\"Pool\":"
		      "\"fd00:8::/64\"}]}");

	(void)state;
	assert_int_equal(docker_create_req_parse(j, &r, &err), 0);
	json_decref(j);
	assert_string_equal(r.name, "green");
	assert_string_equal(r.network_id, NID);
	assert_true(r.internal);
	assert_true(r.ipv6);
	assert_int_equal(r.n_subnets, 2);
	assert_string_equal(ovn_ip_str(&r.subnets[0].gateway, buf), "198.19.8.1");
	assert_int_equal(r.subnets[1].gateway.family, 0);
	assert_string_equal(ovn_prefix_str(&r.subnets[1].prefix, buf), "fd00:8::/64");
}

static void test_endpoint(void **state)
{
	struct docker_ep_req r;
	struct ovn_err err = { 0 };
	char buf[64];
	json_t *j;

	(void)state;
	j = J("{\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\",\"Interface\":{\"Address\":"
	      "\"198.19.7.2/24\",\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{"
	      "\"com.docker.network.endpoint.exposedports\":[],\"com.docker.network.portmap\":[]}}");
	ovn_err_clear(&err);
	assert_int_equal(docker_ep_req_parse(j, false, &r, &err), 0);
	json_decref(j);
	assert_string_equal(ovn_prefix_str(&r.ipv4, buf), "198.19.7.2/24");
	assert_int_equal(r.ipv6.ip.family, 0);
	assert_false(r.has_mac);

	j = J("{\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\",\"SandboxKey\":"
	      "\"/var/run/docker/netns/c8786322b225\",\"Options\":{}}");
	ovn_err_clear(&err);
	assert_int_equal(docker_ep_req_parse(j, true, &r, &err), 0);
	assert_string_equal(r.sandbox, "/var/run/docker/netns/c8786322b225");
	json_decref(j);

	j = J("{\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\"}");
	ovn_err_clear(&err);
	assert_int_equal(docker_ep_req_parse(j, true, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "SandboxKey"));
	json_decref(j);

	j = J("{\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\",\"Interface\":{\"Address\":"
	      "\"198.19.7.2/24\",\"MacAddress\":\"01:00:5e:00:00:01\"}}");
	ovn_err_clear(&err);
	assert_int_equal(docker_ep_req_parse(j, false, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "MacAddress"));
	json_decref(j);

	j = J("{\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\",\"Interface\":{\"Address\":"
	      "\"fd00::2/64\"}}");
	ovn_err_clear(&err);
	assert_int_equal(docker_ep_req_parse(j, false, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "Interface.Address"));
	json_decref(j);
}

static void test_pool_and_address(void **state)
{
	struct docker_pool_req p;
	struct docker_addr_req a;
	struct ovn_err err = { 0 };
	char buf[64];
	json_t *j;

	(void)state;
	j = J("{\"AddressSpace\":\"ovn\",\"Pool\":\"198.19.7.0/24\",\"SubPool\":\"\","
	      "\"Options\":{},\"V6\":false}");
	ovn_err_clear(&err);
	assert_int_equal(docker_pool_req_parse(j, &p, &err), 0);
	json_decref(j);
	assert_string_equal(ovn_prefix_str(&p.pool, buf), "198.19.7.0/24");
	j = J("{\"Pool\":\"198.19.7.0/24\",\"SubPool\":\"198.19.7.128/25\"}");
	ovn_err_clear(&err);
	assert_int_equal(docker_pool_req_parse(j, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--ip-range"));
	json_decref(j);
	j = J("{\"Pool\":\"\"}");
	ovn_err_clear(&err);
	assert_int_equal(docker_pool_req_parse(j, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--subnet"));
	json_decref(j);
	j = J("{\"Pool\":\"fd00::/64\",\"V6\":false}");
	ovn_err_clear(&err);
	assert_int_equal(docker_pool_req_parse(j, &p, &err), -EINVAL);
	json_decref(j);

	j = J("{\"PoolID\":\"ovn/198.19.7.0/24\",\"Address\":\"\",\"Options\":"
	      "{\"RequestAddressType\":\"com.docker.network.gateway\"}}");
	ovn_err_clear(&err);
	assert_int_equal(docker_addr_req_parse(j, false, &a, &err), 0);
	assert_true(a.gateway);
	assert_int_equal(a.addr.family, 0);
	json_decref(j);
	j = J("{\"PoolID\":\"ovn/198.19.7.0/24\",\"Address\":\"198.19.7.77\",\"Options\":null}");
	ovn_err_clear(&err);
	assert_int_equal(docker_addr_req_parse(j, false, &a, &err), 0);
	assert_false(a.gateway);
	assert_string_equal(ovn_ip_str(&a.addr, buf), "198.19.7.77");
	json_decref(j);
	j = J("{\"PoolID\":\"ovn/198.19.7.0/24\",\"Address\":\"198.19.9.1\"}");
	ovn_err_clear(&err);
	assert_int_equal(docker_addr_req_parse(j, false, &a, &err), -EINVAL);
	json_decref(j);
	j = J("{\"PoolID\":\"ovn/198.19.7.0/24\"}");
	ovn_err_clear(&err);
	assert_int_equal(docker_addr_req_parse(j, true, &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "Address"));
	json_decref(j);
}

static void test_join_answer(void **state)
{
	struct ovn_ip gw4, gw6 = { 0 };
	char *s;
	json_t *j;

	(void)state;
	ovn_ip_parse(&gw4, "198.19.7.1");
	j = docker_join_answer("dk-9de7c7d70209", &gw4, &gw6, false);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"Gateway\":\"198.19.7.1\",\"InterfaceName\":{\"DstPrefix\":"
			    "\"eth\",\"SrcName\":\"dk-9de7c7d70209\"}}");
	free(s);
	json_decref(j);
	/* Internal: no gateway and no docker_gwbridge. */
	j = docker_join_answer("dk-9de7c7d70209", &gw4, &gw6, true);
	assert_null(json_object_get(j, "Gateway"));
	assert_true(json_is_true(json_object_get(j, "DisableGatewayService")));
	json_decref(j);
}

/* GET /containers/json?all=1 as dockerd 20.10 answers it (trimmed): c1 on
 * "blue" with our endpoint, another container elsewhere. */
#define LIST "[{\"Id\":\"aa11\",\"Names\":[\"/other\"],\"NetworkSettings\":{\"Networks\":" \
	"{\"blue\":{\"Aliases\":null,\"EndpointID\":\"1111\"}}}}," \
	"{\"Id\":\"bb22\",\"Names\":[\"/c1\"],\"State\":\"created\",\"NetworkSettings\":" \
	"{\"Networks\":{\"green\":{\"EndpointID\":\"\"},\"blue\":{\"Aliases\":[\"web\"," \
	"\"bb22\"],\"EndpointID\":\"" EID "\"}}}}]"

static void test_name_from_list(void **state)
{
	struct ovn_err err = { 0 };
	char name[64];
	json_t *al;

	(void)state;
	assert_int_equal(docker_name_from_list(LIST, strlen(LIST), EID, name, sizeof(name), &al,
					       &err), 0);
	assert_string_equal(name, "c1");
	assert_int_equal(json_array_size(al), 2);
	assert_string_equal(json_string_value(json_array_get(al, 0)), "web");
	json_decref(al);
	/* Not listed yet (the Join is still running): -ENOENT, no message. */
	assert_int_equal(docker_name_from_list(LIST, strlen(LIST), NID, name, sizeof(name), &al,
					       &err), -ENOENT);
	assert_null(al);
	assert_int_equal(docker_name_from_list("[]", 2, EID, name, sizeof(name), &al, &err),
			 -ENOENT);
	/* Null aliases: an empty array. */
	assert_int_equal(docker_name_from_list(LIST, strlen(LIST), "1111", name, sizeof(name),
					       &al, &err), 0);
	assert_string_equal(name, "other");
	assert_int_equal(json_array_size(al), 0);
	json_decref(al);
}

static void test_name_from_list_bad(void **state)
{
	static const char *const bad[] = {
		"{\"message\":\"page not found\"}",
		"[{\"Names\":[\"/a",
		"[{\"Names\":[\"c1\"],\"NetworkSettings\":{\"Networks\":{\"b\":{\"EndpointID\":\""
			EID "\"}}}}]",
		"[{\"Names\":[],\"NetworkSettings\":{\"Networks\":{\"b\":{\"EndpointID\":\""
			EID "\"}}}}]",
		"[{\"Names\":[\"/x/y\"],\"NetworkSettings\":{\"Networks\":{\"b\":{\"EndpointID\":\""
			EID "\"}}}}]",
	};
	struct ovn_err err = { 0 };
	char name[64] = "";
	json_t *al;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(docker_name_from_list(bad[i], strlen(bad[i]), EID, name,
						       sizeof(name), &al, &err), -EINVAL);
		assert_null(al);
		assert_non_null(strstr(err.msg, "docker API"));
	}
	/* A name longer than the caller's buffer is refused, not cut. */
	assert_int_equal(docker_name_from_list(LIST, strlen(LIST), EID, name, 2, &al, &err),
			 -EINVAL);
}

/* Docker's -p as CreateEndpoint carries it (docs/docker.md). */
static void test_portmap(void **state)
{
	json_t *j = J("{\"com.docker.network.endpoint.exposedports\":[{\"Proto\":6,\"Port\":9000},"
		      "{\"Proto\":6,\"Port\":80}],\"com.docker.network.portmap\":["
		      "{\"Proto\":6,\"IP\":\"\",\"Port\":80,\"HostIP\":\"\",\"HostPort\":8080,"
		      "\"HostPortEnd\":8080},"
		      "{\"Proto\":17,\"IP\":\"\",\"Port\":53,\"HostIP\":\"198.18.0.1\","
		      "\"HostPort\":5353,\"HostPortEnd\":0},"
		      "{\"Proto\":6,\"Port\":443,\"HostIP\":\"fd00::1\",\"HostPort\":8443},"
		      "{\"Proto\":6,\"IP\":\"\",\"Port\":80,\"HostIP\":\"0.0.0.0\","
		      "\"HostPort\":8080,"
		      "\"HostPortEnd\":8080},"
		      "{\"Proto\":6,\"IP\":\"\",\"Port\":80,\"HostIP\":\"::\",\"HostPort\":8080,"
		      "\"HostPortEnd\":8080}]}");
	struct ovn_err err = { 0 };
	struct nm_publish *p = NULL;
	char buf[NM_PUBLISH_STRLEN];
	int n = -1;

	(void)state;
	assert_int_equal(docker_portmap_parse(j, &p, &n, &err), 0);
	/* 0.0.0.0 and :: are every address, as "": the same entry, kept once. */
	assert_int_equal(n, 3);
	assert_string_equal(model_publish_str(&p[0], buf), "8080:80/tcp");
	assert_string_equal(model_publish_str(&p[1], buf), "198.18.0.1:5353:53/udp");
	assert_string_equal(model_publish_str(&p[2], buf), "[fd00::1]:8443:443/tcp");
	free(p);
	json_decref(j);

	/* No ports: empty list, member null or absent, Options null/absent. */
	static const char *const none[] = {
		"{\"com.docker.network.portmap\":[]}",
		"{\"com.docker.network.portmap\":null}",
		"{}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(none); i++) {
		j = J(none[i]);
		n = -1;
		p = (struct nm_publish *)&err;	/* must be reset */
		assert_int_equal(docker_portmap_parse(j, &p, &n, &err), 0);
		assert_int_equal(n, 0);
		assert_null(p);
		json_decref(j);
	}
	assert_int_equal(docker_portmap_parse(NULL, &p, &n, &err), 0);
	assert_int_equal(n, 0);
	j = json_null();
	assert_int_equal(docker_portmap_parse(j, &p, &n, &err), 0);
	assert_int_equal(n, 0);
	json_decref(j);
}

static void test_portmap_bad(void **state)
{
	static const struct {
		const char *body, *msg;
	} bad[] = {
		{ "[{\"Proto\":6,\"Port\":80,\"HostPort\":0}]", "give one: -p HOST_PORT:80" },
		{ "[{\"Proto\":6,\"Port\":80}]", "give one: -p HOST_PORT:80" },
		{ "[{\"Proto\":6,\"Port\":80,\"HostPort\":8080,\"HostPortEnd\":8090}]",
		  "ranges (8080-8090) are not supported" },
		{ "[{\"Proto\":132,\"Port\":80,\"HostPort\":8080}]",
		  "protocol 132 is not supported" },
		{ "[{\"Proto\":6,\"Port\":0,\"HostPort\":8080}]", "no container Port" },
		{ "[{\"Proto\":6,\"Port\":80,\"HostPort\":70000}]", "].HostPort: not an integer" },
		{ "[{\"Proto\":6,\"Port\":80,\"HostPort\":-1}]", "].HostPort: not an integer" },
		{ "[{\"Proto\":\"tcp\",\"Port\":80,\"HostPort\":8080}]",
		  "].Proto: not an integer" },
		{ "[{\"Proto\":6,\"Port\":\"80\",\"HostPort\":8080}]", "].Port: not an integer" },
		{ "[{\"Proto\":6,\"Port\":80.5,\"HostPort\":8080}]", "].Port: not an integer" },
		{ "[{\"Proto\":6,\"Port\":80,\"HostPort\":8080,\"HostIP\":\"fd00::zz\"}]",
		  "HostIP 'fd00::zz' is not an IP" },
		{ "[{\"Proto\":6,\"Port\":80,\"HostPort\":8080,\"HostIP\":7}]",
		  "HostIP: not a string" },
		{ "[{\"Proto\":6,\"Port\":80,\"HostPort\":8080},{\"Proto\":6,\"Port\":81,"
		  "\"HostPort\":8080,\"HostIP\":\"198.18.0.1\"}]",
		  "8080:80/tcp and 198.18.0.1:8080:81/tcp use the same host port" },
		{ "[7]", "portmap[0]: not an object" },
		{ "{\"Proto\":6}", "portmap: not an array" },
		{ "\"8080:80\"", "portmap: not an array" },
	};
	char body[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ovn_err err = { 0 };
		struct nm_publish *p = NULL;
		int n = -1;
		json_t *j;

		snprintf(body, sizeof(body), "{\"com.docker.network.portmap\":%s}", bad[i].body);
		j = J(body);
		assert_int_equal(docker_portmap_parse(j, &p, &n, &err), -EINVAL);
		assert_null(p);
		assert_int_equal(n, 0);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s: message '%s' lacks '%s'", bad[i].body, err.msg, bad[i].msg);
		json_decref(j);
	}
	/* Options itself of the wrong type. */
	{
		struct ovn_err err = { 0 };
		struct nm_publish *p = NULL;
		int n = -1;
		json_t *j = J("[1]");

		assert_int_equal(docker_portmap_parse(j, &p, &n, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "Options"));
		json_decref(j);
	}
	/* More than NM_PUBLISH_MAX entries. */
	{
		struct ovn_err err = { 0 };
		struct nm_publish *p = NULL;
		json_t *a = json_array(), *o = json_object();
		int n = -1;

		for (int i = 0; i <= NM_PUBLISH_MAX; i++)
			json_array_append_new(a, json_pack("{s:i,s:i,s:i}", "Proto", 6, "Port", 80,
							   "HostPort", 8000 + i));
		json_object_set_new(o, "com.docker.network.portmap", a);
		assert_int_equal(docker_portmap_parse(o, &p, &n, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "at most"));
		json_decref(o);
	}
}

static void test_http_body(void **state)
{
	static const char ok[] = "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
				 "Api-Version: 1.41\r\n\r\n[]\n";
	struct ovn_err err = { 0 };
	const char *body;
	size_t len;

	(void)state;
	assert_int_equal(docker_http_body(ok, strlen(ok), &body, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(body, "[]\n", 3);
	assert_int_equal(docker_http_body("HTTP/1.1 404 Not Found\r\n\r\n{}", 29, &body, &len,
					  &err), -EPROTO);
	assert_non_null(strstr(err.msg, "404"));
	assert_int_equal(docker_http_body("garbage", 7, &body, &len, &err), -EPROTO);
	assert_int_equal(docker_http_body("HTTP/1.0 200 OK\r\nX: y", 22, &body, &len, &err),
			 -EPROTO);
	assert_int_equal(docker_http_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
					  "2\r\n[]\r\n0\r\n\r\n", 59, &body, &len, &err), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_pool_id),
		cmocka_unit_test(test_create_network),
		cmocka_unit_test(test_create_network_fields),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_pool_and_address),
		cmocka_unit_test(test_join_answer),
		cmocka_unit_test(test_name_from_list),
		cmocka_unit_test(test_name_from_list_bad),
		cmocka_unit_test(test_http_body),
		cmocka_unit_test(test_portmap),
		cmocka_unit_test(test_portmap_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
