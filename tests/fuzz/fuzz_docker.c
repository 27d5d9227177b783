/* fuzz_docker.c: libFuzzer target for the libnetwork remote driver's
 * request decoders (agent/docker.c): CreateNetwork, the endpoint calls
 * (CreateEndpoint, Join, Leave, DeleteEndpoint), RequestPool,
 * RequestAddress/ReleaseAddress and the pool id. dockerd sends these over
 * docker.socket; whatever can write to that socket reaches them.
 *
 * Input: one selector byte, then the JSON body (or the pool id text). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

static void pool_id(const uint8_t *data, size_t size)
{
	struct ovn_err err = { 0 };
	struct ovn_prefix p;
	char *s = strndup((const char *)data, size), back[128];

	if (!s)
		return;
	if (docker_pool_id_parse(s, &p, &err) == 0) {
		/* What we parse we must be able to print and parse again. */
		docker_pool_id_format(&p, back, sizeof(back));
		if (docker_pool_id_parse(back, &p, &err) < 0)
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovn_err err = { 0 };
	union {
		struct docker_create_req c;
		struct docker_ep_req e;
		struct docker_pool_req p;
		struct docker_addr_req a;
	} u;
	json_t *j;

	if (size < 1)
		return 0;
	if (data[0] % 7 == 6) {
		pool_id(data + 1, size - 1);
		return 0;
	}
	j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (!j)
		return 0;
	switch (data[0] % 7) {
	case 0: docker_create_req_parse(j, &u.c, &err); break;
	case 1: docker_ep_req_parse(j, false, &u.e, &err); break;
	case 2: docker_ep_req_parse(j, true, &u.e, &err); break;
	case 3: docker_pool_req_parse(j, &u.p, &err); break;
	case 4: docker_addr_req_parse(j, false, &u.a, &err); break;
	case 5: docker_addr_req_parse(j, true, &u.a, &err); break;
	}
	json_decref(j);
	return 0;
}
