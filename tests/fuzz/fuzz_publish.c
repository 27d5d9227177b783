/* fuzz_publish.c: libFuzzer target for the --publish parser
 * (model_publish_parse, agent/model.c) and the nftables element text built
 * from what it accepts (dp_nft_portmap_text, dataplane/nft.c).
 * Invariants: an accepted spec prints to a canonical form that parses back
 * to the same mapping and prints the same again; a mapping derived from it
 * always yields element text; nothing is read past the input. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "model.h"

static bool same(const struct nm_publish *a, const struct nm_publish *b)
{
	return a->proto == b->proto && a->host_port == b->host_port && a->port == b->port &&
	       a->host_ip.family == b->host_ip.family &&
	       (!a->host_ip.family || ovn_ip_equal(&a->host_ip, &b->host_ip));
}

static void check_text(const struct nm_publish *p)
{
	struct dp_portmap m = { .proto = p->proto, .host_ip = p->host_ip,
				.host_port = p->host_port, .ctr_port = p->port };
	char *text = NULL;

	m.ctr_ip.family = p->host_ip.family ? p->host_ip.family : AF_INET;
	m.ctr_ip.b[0] = 198;
	if (dp_nft_portmap_text(&text, &m, false) != 0 || !text)
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[128], c1[NM_PUBLISH_STRLEN], c2[NM_PUBLISH_STRLEN];
	struct nm_publish a, b;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (model_publish_parse(&a, in, NULL) != 0)
		return 0;
	model_publish_str(&a, c1);
	if (model_publish_parse(&b, c1, NULL) != 0 || !same(&a, &b))
		abort();
	if (strcmp(model_publish_str(&b, c2), c1))
		abort();
	if (!model_publish_clash(&a, &b))
		abort();
	check_text(&a);
	return 0;
}
