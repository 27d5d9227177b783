/* fuzz_gossip_input.c: libFuzzer target for the whole receive path of the
 * gossip core: gossip_input (plain, sealed garbage for the decrypt path,
 * and input sealed here with the right key so the fuzzer reaches the
 * protocol behind the AEAD) and gossip_stream_serve. A fresh three-member
 * view per input; outputs are discarded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gossip_int.h"

static uint64_t now_ms = 1000;
static uint32_t rnd = 1;

static int f_send(void *ctx, const struct gossip_addr *to, const void *buf, size_t len)
{
	return 0;
}

static int f_stream(void *ctx, const struct gossip_addr *to, const void *buf, size_t len,
		    uint64_t token)
{
	return 0;
}

static uint64_t f_now(void *ctx)
{
	return now_ms;
}

static uint32_t f_rand(void *ctx)
{
	rnd = rnd * 1103515245u + 12345u;
	return rnd;
}

static const uint8_t KEY[GOSSIP_KEY_LEN] = { 7, 7, 7 };

static struct gossip *core(bool keyed)
{
	struct gossip_io io = { f_send, f_stream, f_now, f_rand, NULL };
	struct gossip_config cfg;
	struct gossip *g;
	int i;

	gossip_config_lan(&cfg);
	strcpy(cfg.name, "n0");
	cfg.addr = (struct gossip_addr){ .family = AF_INET, .port = 7946,
					 .ip = { 198, 18, 0, 1 } };
	if (gossip_new(&cfg, &io, NULL, &g))
		abort();
	if (keyed)
		gossip_key_install(g, KEY);
	/* Two known members, so suspect/dead/ack paths have targets. */
	for (i = 1; i <= 2; i++) {
		struct gossip_addr a = cfg.addr;
		char name[4] = { 'n', '0' + i, 0 };
		struct gw_str n = { (const uint8_t *)name, 2 }, meta = { NULL, 0 };

		a.ip[3] = i + 1;
		gm_on_alive(g, 1, &a, &n, &meta);
	}
	return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gossip_addr from = { .family = AF_INET, .port = 7946, .ip = { 198, 18, 0, 2 } };
	uint8_t sealed[GPKT_IN_MAX], *s = NULL;
	struct gossip *g;
	void *resp = NULL;
	size_t len, rlen;
	int mode;

	if (!size)
		return 0;
	mode = data[0] % 5;
	data++;
	size--;
	g = core(mode >= 1 && mode != 3);
	switch (mode) {
	case 0:
	case 1:
		gossip_input(g, &from, data, size);
		break;
	case 2:
		if (!gk_seal_pkt(&g->keys, data, size, sealed, sizeof(sealed), &len))
			gossip_input(g, &from, sealed, len);
		break;
	case 3:
		if (!gossip_stream_serve(g, &from, data, size, &resp, &rlen))
			free(resp);
		break;
	case 4:
		if (!gk_seal_stream(&g->keys, data, size, &s, &len) &&
		    !gossip_stream_serve(g, &from, s, len, &resp, &rlen))
			free(resp);
		free(s);
		break;
	}
	now_ms += 5000;
	gossip_tick(g);
	gossip_free(g);
	return 0;
}
