/* fuzz_gossip_packet.c: libFuzzer target for the gossip wire decoders
 * (gossip/wire.c): UDP packets, stream headers, push-pull bodies, and the
 * tag reader. The first byte picks the decoder. Every decoded field is read,
 * so the sanitizers see any out-of-bounds pointer the decoder hands out. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

static volatile uint64_t sink;

static void touch(const struct gw_str *s)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		sink += s->p[i];
}

static int on_msg(void *arg, const struct gw_msg *m)
{
	switch (m->type) {
	case GW_PING:
		touch(&m->ping.target);
		touch(&m->ping.from);
		break;
	case GW_INDIRECT_PING:
		touch(&m->iping.target);
		sink += m->iping.addr.port;
		break;
	case GW_ALIVE:
		touch(&m->alive.name);
		touch(&m->alive.meta);
		break;
	case GW_SUSPECT:
	case GW_DEAD:
		touch(&m->suspect.name);
		touch(&m->suspect.from);
		break;
	case GW_EVENT:
		touch(&m->event.name);
		touch(&m->event.payload);
		break;
	default:
		sink += m->ack.seq;
	}
	return 0;
}

static void on_member(void *arg, const struct gw_pp_rec *r)
{
	touch(&r->name);
	touch(&r->meta);
}

static void on_event(void *arg, const struct gw_msg *m)
{
	on_msg(arg, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_pp_fns fns = { NULL, on_member, on_event, NULL };
	struct gw_stream_hdr h;
	const uint8_t *body;
	char val[64];

	if (!size)
		return 0;
	switch (data[0] % 4) {
	case 0:
		gw_pkt_parse(data + 1, size - 1, on_msg, NULL);
		break;
	case 1:
		sink += gw_frame_len(data + 1, size - 1);
		if (!gw_stream_parse(data + 1, size - 1, &h, &body))
			gw_pp_parse(body, h.len, &fns);
		break;
	case 2:
		gw_pp_parse(data + 1, size - 1, &fns);
		break;
	case 3:
		gossip_tag_get(data + 1, size - 1, "vtep", val, sizeof(val));
		break;
	}
	return 0;
}
