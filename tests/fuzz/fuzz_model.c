/* fuzz_model.c: libFuzzer target for the JSON decoders of agent/model.c:
 * the API's request bodies (network create, attach, detach), reachable by
 * any peer of the API socket, and the store records (network, endpoint),
 * reachable by whoever can write the store (a shared etcd/redis/consul).
 *
 * Input: one selector byte, then the JSON text. Besides "no crash, no
 * leak", a store record that decodes must survive a round trip: encoded
 * again and decoded, it decodes (what the agent writes it must read back). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "model.h"

static void roundtrip_network(const struct nm_network *n)
{
	struct ovn_err err = { 0 };
	struct nm_network back;
	json_t *j = model_network_to_json(n);

	if (!j)
		return;
	if (model_network_from_json(&back, j, &err) < 0)
		abort();	/* our own record refused: a codec bug */
	nm_network_free(&back);
	json_decref(j);
}

static void roundtrip_endpoint(const struct nm_endpoint *e)
{
	struct ovn_err err = { 0 };
	struct nm_endpoint back;
	json_t *j = model_endpoint_to_json(e);

	if (!j)
		return;
	if (model_endpoint_from_json(&back, j, &err) < 0)
		abort();
	nm_endpoint_free(&back);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovn_err err = { 0 };
	union {
		struct nm_network_spec ns;
		struct nm_attach_spec as;
		struct nm_detach_spec ds;
		struct nm_network n;
		struct nm_endpoint e;
	} u;
	json_t *j;

	if (size < 1)
		return 0;
	j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0;
	switch (data[0] % 5) {
	case 0:
		if (model_network_spec_from_json(&u.ns, j, &err) == 0)
			nm_network_spec_free(&u.ns);
		break;
	case 1:
		if (model_attach_spec_from_json(&u.as, j, &err) == 0)
			nm_attach_spec_free(&u.as);
		break;
	case 2:
		model_detach_spec_from_json(&u.ds, j, &err);
		break;
	case 3:
		if (model_network_from_json(&u.n, j, &err) == 0) {
			roundtrip_network(&u.n);
			nm_network_free(&u.n);
		}
		break;
	case 4:
		if (model_endpoint_from_json(&u.e, j, &err) == 0) {
			roundtrip_endpoint(&u.e);
			nm_endpoint_free(&u.e);
		}
		break;
	}
	json_decref(j);
	return 0;
}
