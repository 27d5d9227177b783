/* fuzz_dns_server.c: libFuzzer target for the DNS server core
 * (dns/server.c + table.c + codec.c): arbitrary packets as client queries
 * (UDP and TCP) and as upstream replies to a forwarded query.
 *
 * Input: byte 0 picks the mode, the rest is the packet.
 *   0/1  a query over UDP/TCP
 *   2    an upstream reply to a forward of "fuzz.example": the fuzzer's
 *        header (ID patched to the one sent) + the sent question + its RRs,
 *        so relaying, OPT rewriting and truncation are reached
 *   3    the same with the fuzzer's bytes verbatim after the ID (question
 *        and ID checks)
 * Oracle: every reply the core emits parses back, echoes the client's ID
 * and fits the client's size; nothing stays pending after the deadline. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_int.h"

static struct dns_table *T;
static struct dns_server *S;
static uint8_t sent[600];
static size_t sent_len;
static unsigned int sent_up;
static bool sent_tcp;
static uint16_t expect_id;
static uint32_t rnd = 1;
static uint64_t now = 1000;

static void check(const uint8_t *pkt, size_t len, bool tcp)
{
	struct dns_query r;

	if (len < DNS_HDR_LEN || len > (tcp ? DNS_MSG_MAX : DNS_UDP_SIZE))
		abort();
	if (dns_rd16(pkt + 4) != 0 && dns_reply_parse(pkt, len, &r) != 0)
		abort();
}

static int f_send(void *ctx, unsigned int up, bool tcp, const uint8_t *pkt, size_t len)
{
	if (len > sizeof(sent))
		abort();
	memcpy(sent, pkt, len);
	sent_len = len;
	sent_up = up;
	sent_tcp = tcp;
	return 0;
}

static void f_reply(void *ctx, const struct dns_client *c, const uint8_t *pkt, size_t len)
{
	check(pkt, len, c->tcp);
	if (dns_rd16(pkt) != expect_id)
		abort();
}

static uint32_t f_random(void *ctx)
{
	rnd = rnd * 1103515245u + 12345u;
	return rnd >> 8;
}

static void init(void)
{
	static const struct dns_server_ops ops = { f_send, f_reply, f_random };
	struct dns_server_cfg cfg = { .n_upstreams = 2, .max_pending = 8 };
	uint32_t nets[] = { 1, 2 };
	struct ovn_ip a;

	T = dns_table_new();
	dns_table_net_set(T, 1, "net1");
	dns_table_net_set(T, 2, "net2");
	dns_table_view_set(T, 10, nets, 2, 0);
	ovn_ip_parse(&a, "198.19.1.10");
	dns_table_add(T, 1, "web", &a);
	ovn_ip_parse(&a, "198.19.1.11");
	dns_table_add(T, 1, "web", &a);
	ovn_ip_parse(&a, "fd00:1::10");
	dns_table_add(T, 1, "web", &a);
	ovn_ip_parse(&a, "198.19.2.10");
	dns_table_add(T, 2, "db", &a);
	for (int i = 0; i < 80; i++) {
		a.family = AF_INET;
		a.b[0] = 198, a.b[1] = 19, a.b[2] = 3, a.b[3] = (uint8_t)i;
		dns_table_add(T, 2, "big", &a);
	}
	S = dns_server_new(T, &cfg, &ops, NULL);
}

static void query(const uint8_t *p, size_t n, bool tcp)
{
	static uint8_t out[DNS_MSG_MAX];
	struct dns_client c = { .conn = (void *)1, .view = 10, .tcp = tcp };
	int r;

	expect_id = n >= 2 ? dns_rd16(p) : 0;
	r = dns_server_query(S, &c, p, n, out, tcp ? DNS_MSG_MAX : DNS_UDP_SIZE, now);

	if (r < 0)
		abort();
	if (r > 0) {
		check(out, (size_t)r, tcp);
		if (dns_rd16(out) != dns_rd16(p))
			abort();
	}
}

/* Forward "fuzz.example" A with EDNS from client ID 0x7777. */
static bool forward(bool tcp, bool edns)
{
	static const uint8_t q[] = "\x77\x77\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01"
				   "\x04" "fuzz\x07" "example\x00\x00\x01\x00\x01"
				   "\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00";
	size_t n = sizeof(q) - 1;
	uint8_t b[sizeof(q)];

	memcpy(b, q, n);
	if (!edns) {
		b[11] = 0;
		n -= 11;
	}
	sent_len = 0;
	query(b, n, tcp);
	return sent_len > 0;
}

static void reply(const uint8_t *p, size_t n, bool keep_question)
{
	static uint8_t b[DNS_MSG_MAX];
	size_t qlen = 12 + 14 + 4, len;

	if (n < DNS_HDR_LEN)
		return;
	if (keep_question) {
		len = n + qlen - 12;
		if (len > sizeof(b))
			return;
		memcpy(b, p, 12);
		memcpy(b + 12, sent + 12, qlen - 12);
		memcpy(b + qlen, p + 12, n - 12);
		b[4] = 0, b[5] = 1;
	} else {
		len = n;
		memcpy(b, p, n);
	}
	b[0] = sent[0], b[1] = sent[1];
	dns_server_upstream_reply(S, 0, false, b, len, now);
	/* retried (TC -> TCP, SERVFAIL -> next upstream): the same bytes
	 * answer the retry, as the core expects it */
	for (int i = 0; i < 2 && dns_server_pending(S); i++) {
		b[0] = sent[0], b[1] = sent[1];
		dns_server_upstream_reply(S, sent_up, sent_tcp, b, len, now);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!S)
		init();
	if (size < 1)
		return 0;
	switch (data[0] & 7) {
	case 0:
	case 1:
		query(data + 1, size - 1, data[0] & 1);
		break;
	case 2:
	case 3:
	case 4:
	case 5:
		if (forward(data[0] & 1, data[0] & 4 ? false : true))
			reply(data + 1, size - 1, !(data[0] & 2));
		break;
	default:
		/* upstream bytes with no forward pending */
		dns_server_upstream_reply(S, data[0] >> 3 & 1, data[0] & 0x10, data + 1, size - 1,
					  now);
		break;
	}
	now += 10000;	/* past every deadline: flush, SERVFAIL what is left */
	dns_server_tick(S, now);
	if (dns_server_pending(S))
		abort();
	return 0;
}
