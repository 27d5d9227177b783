/* test_gossip_wire.c: the gossip wire codec (round trips, a table of
 * rejects), push-pull bodies, the AEAD keyring, tags, and the pure
 * formulas (suspicion timeouts against the spec's table). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gossip_int.h"
#include "util.h"

static const struct gossip_addr A4 = { .family = AF_INET, .port = 7946,
				       .ip = { 198, 18, 0, 1 } };
static const struct gossip_addr A6 = { .family = AF_INET6, .port = 7947,
				       .ip = { 0xfd, 0, [15] = 7 } };

/* ---- round trips ---- */

struct collect {
	struct gw_msg m[16];
	size_t n;
};

static int collect_fn(void *arg, const struct gw_msg *m)
{
	struct collect *c = arg;

	if (c->n < 16)
		c->m[c->n++] = *m;
	return 0;
}

static bool str_is(const struct gw_str *s, const char *c)
{
	return s->len == strlen(c) && !memcmp(s->p, c, s->len);
}

static void test_roundtrip(void **state)
{
	uint8_t buf[1400], msg[600];
	struct gw_buf b = { .p = buf, .cap = sizeof(buf) }, mb;
	struct collect c = { 0 };
	const uint8_t meta[] = { 3, 'k', 'e', 'y', 0, 1, 'v' };

	assert_int_equal(gw_pkt_begin(&b), 0);
#define ADD(call) do {							\
		mb = (struct gw_buf){ .p = msg, .cap = sizeof(msg) };	\
		assert_int_equal(call, 0);				\
		assert_int_equal(gw_pkt_add(&b, msg, mb.len), 0);	\
	} while (0)
	ADD(gw_put_ping(&mb, 7, "n1", "n0"));
	ADD(gw_put_iping(&mb, 8, true, &A6, "n2"));
	ADD(gw_put_ack(&mb, GW_ACK, 9));
	ADD(gw_put_ack(&mb, GW_NACK, 10));
	ADD(gw_put_alive(&mb, 11, &A4, "n3", meta, sizeof(meta)));
	ADD(gw_put_suspect(&mb, GW_SUSPECT, 12, "n4", "n5"));
	ADD(gw_put_suspect(&mb, GW_DEAD, 13, "n6", "n6"));
	ADD(gw_put_event(&mb, 1ull << 40, "ep.join", 7, "payload", 7));
#undef ADD
	assert_int_equal(gw_pkt_count(&b), 8);
	assert_int_equal(gw_pkt_parse(buf, b.len, collect_fn, &c), 0);
	assert_int_equal(c.n, 8);
	assert_int_equal(c.m[0].type, GW_PING);
	assert_int_equal(c.m[0].ping.seq, 7);
	assert_true(str_is(&c.m[0].ping.target, "n1") && str_is(&c.m[0].ping.from, "n0"));
	assert_int_equal(c.m[1].iping.seq, 8);
	assert_true(c.m[1].iping.nack);
	assert_memory_equal(&c.m[1].iping.addr, &A6, sizeof(A6));
	assert_true(str_is(&c.m[1].iping.target, "n2"));
	assert_int_equal(c.m[2].type, GW_ACK);
	assert_int_equal(c.m[2].ack.seq, 9);
	assert_int_equal(c.m[3].type, GW_NACK);
	assert_int_equal(c.m[3].ack.seq, 10);
	assert_int_equal(c.m[4].alive.inc, 11);
	assert_memory_equal(&c.m[4].alive.addr, &A4, sizeof(A4));
	assert_true(str_is(&c.m[4].alive.name, "n3"));
	assert_int_equal(c.m[4].alive.meta.len, sizeof(meta));
	assert_memory_equal(c.m[4].alive.meta.p, meta, sizeof(meta));
	assert_int_equal(c.m[5].type, GW_SUSPECT);
	assert_true(str_is(&c.m[5].suspect.name, "n4") && str_is(&c.m[5].suspect.from, "n5"));
	assert_int_equal(c.m[6].type, GW_DEAD);
	assert_int_equal(c.m[6].suspect.inc, 13);
	assert_int_equal(c.m[7].event.ltime, 1ull << 40);
	assert_true(str_is(&c.m[7].event.name, "ep.join"));
	assert_true(str_is(&c.m[7].event.payload, "payload"));
}

static void test_encode_limits(void **state)
{
	uint8_t buf[64], big[GOSSIP_META_MAX + 1] = { 0 };
	struct gw_buf b = { .p = buf, .cap = sizeof(buf) };
	char name[GOSSIP_NAME_MAX + 2];

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	assert_int_equal(gw_put_ping(&b, 1, name, "n0"), -EINVAL);
	assert_int_equal(gw_put_ping(&b, 1, "", "n0"), -EINVAL);
	assert_int_equal(gw_put_alive(&b, 1, &A4, "n", big, sizeof(big)), -EINVAL);
	assert_int_equal(gw_put_event(&b, 1, "e", 1, big, GOSSIP_EVENT_MAX), -EINVAL);
	assert_int_equal(gw_put_ack(&b, GW_PING, 1), -EINVAL);
	/* Too big for the buffer: -ENOSPC and nothing written. */
	assert_int_equal(gw_put_alive(&b, 1, &A4, "n", big, 100), -ENOSPC);
	assert_int_equal(b.len, 0);
}

/* Unknown types are skipped by length, not fatal. */
static void test_unknown_type_skipped(void **state)
{
	uint8_t pkt[] = { GW_VERSION, 2, 0, 0,
			  200, 0, 0, 3, 'x', 'y', 'z',		/* unknown type 200 */
			  GW_ACK, 0, 0, 4, 0, 0, 0, 42 };
	struct collect c = { 0 };

	assert_int_equal(gw_pkt_parse(pkt, sizeof(pkt), collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.m[0].ack.seq, 42);
}

/* ---- rejects ---- */

static const struct reject {
	const char *what;
	uint8_t b[48];
	size_t len;
	int err;
} rejects[] = {
	{ "empty", { 0 }, 0, -EBADMSG },
	{ "short header", { GW_VERSION, 0, 0 }, 3, -EBADMSG },
	{ "wrong version", { 9, 0, 0, 0 }, 4, -EPROTO },
	{ "count beyond data", { GW_VERSION, 1, 0, 0 }, 4, -EBADMSG },
	{ "trailing bytes", { GW_VERSION, 0, 0, 0, 1 }, 5, -EBADMSG },
	{ "body beyond data", { GW_VERSION, 1, 0, 0, GW_ACK, 0, 0, 9, 0, 0, 0, 1 }, 12,
	  -EBADMSG },
	{ "ack too long", { GW_VERSION, 1, 0, 0, GW_ACK, 0, 0, 5, 0, 0, 0, 1, 0 }, 13, -EBADMSG },
	{ "ack too short", { GW_VERSION, 1, 0, 0, GW_ACK, 0, 0, 3, 0, 0, 1 }, 11, -EBADMSG },
	{ "ping name length lies", { GW_VERSION, 1, 0, 0, GW_PING, 0, 0, 11,
				     0, 0, 0, 1, 5, 1, 0, 0, 'a', 'b', 'c' }, 19, -EBADMSG },
	{ "ping empty target", { GW_VERSION, 1, 0, 0, GW_PING, 0, 0, 9,
				 0, 0, 0, 1, 0, 1, 0, 0, 'a' }, 17, -EBADMSG },
	{ "ping NUL in name", { GW_VERSION, 1, 0, 0, GW_PING, 0, 0, 11,
				0, 0, 0, 1, 2, 1, 0, 0, 'a', 0, 'b' }, 19, -EBADMSG },
	{ "suspect no accuser", { GW_VERSION, 1, 0, 0, GW_SUSPECT, 0, 0, 9,
				  0, 0, 0, 1, 1, 0, 0, 0, 'a' }, 17, -EBADMSG },
	{ "alive bad family", { GW_VERSION, 1, 0, 0, GW_ALIVE, 0, 0, 29,
				0, 0, 0, 1, 5, 0, 0x1e, 0x92, [32] = 1, 0, 0, 'a' }, 36, -EBADMSG },
	{ "alive meta too big", { GW_VERSION, 1, 0, 0, GW_ALIVE, 0, 0, 29,
				  0, 0, 0, 1, 4, 0, 0x1e, 0x92, [32] = 1, 0, 0x02, 0x01, 'a' },
	  37, -EBADMSG },
	{ "event too big", { GW_VERSION, 1, 0, 0, GW_EVENT, 0, 0, 13,
			     0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0x02, 0x00, 'e' }, 21, -EBADMSG },
};

static void test_rejects(void **state)
{
	struct collect c = { 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rejects); i++) {
		int r = gw_pkt_parse(rejects[i].b, rejects[i].len, collect_fn, &c);

		if (r != rejects[i].err)
			fail_msg("%s: got %d, want %d", rejects[i].what, r, rejects[i].err);
		assert_int_equal(c.n, 0);
	}
}

/* A packet is validated whole: a good message before a bad one is not
 * handed on. */
static void test_reject_whole_packet(void **state)
{
	uint8_t pkt[] = { GW_VERSION, 2, 0, 0, GW_ACK, 0, 0, 4, 0, 0, 0, 1,
			  GW_ACK, 0, 0, 3, 0, 0, 1 };
	struct collect c = { 0 };

	assert_int_equal(gw_pkt_parse(pkt, sizeof(pkt), collect_fn, &c), -EBADMSG);
	assert_int_equal(c.n, 0);
}

/* ---- streams and push-pull ---- */

struct pp_seen {
	uint64_t ltime;
	size_t members, events;
	char last[GOSSIP_NAME_MAX + 1];
	enum gossip_state state;
};

static void pp_hdr(void *arg, uint64_t ltime)
{
	((struct pp_seen *)arg)->ltime = ltime;
}

static void pp_member(void *arg, const struct gw_pp_rec *r)
{
	struct pp_seen *s = arg;

	s->members++;
	gw_str_copy(s->last, &r->name);
	s->state = r->state;
}

static void pp_event(void *arg, const struct gw_msg *m)
{
	((struct pp_seen *)arg)->events++;
}

static void test_pushpull_body(void **state)
{
	struct gw_buf b = { .grow = true, .max = GW_STREAM_MAX };
	struct gw_pp_rec r = { .state = GOSSIP_SUSPECT, .inc = 5, .addr = A4,
			       .name = { (const uint8_t *)"n1", 2 } };
	struct pp_seen seen = { 0 };
	struct gw_pp_fns fns = { pp_hdr, pp_member, pp_event, &seen };
	struct gw_stream_hdr h;
	const uint8_t *body;

	assert_int_equal(gw_stream_begin(&b, GW_PUSHPULL, GW_PP_JOIN), 0);
	assert_int_equal(gw_pp_put_hdr(&b, 2, 1, 77), 0);
	assert_int_equal(gw_pp_put_member(&b, &r), 0);
	r.state = GOSSIP_LEFT;
	r.name = (struct gw_str){ (const uint8_t *)"n2", 2 };
	assert_int_equal(gw_pp_put_member(&b, &r), 0);
	assert_int_equal(gw_put_event(&b, 3, "e", 1, "p", 1), 0);
	gw_stream_end(&b);
	assert_int_equal(gw_stream_parse(b.p, b.len, &h, &body), 0);
	assert_int_equal(h.type, GW_PUSHPULL);
	assert_int_equal(h.flags, GW_PP_JOIN);
	assert_int_equal(gw_pp_parse(body, h.len, &fns), 0);
	assert_int_equal(seen.ltime, 77);
	assert_int_equal(seen.members, 2);
	assert_int_equal(seen.events, 1);
	assert_string_equal(seen.last, "n2");
	assert_int_equal(seen.state, GOSSIP_LEFT);
	/* Truncated anywhere: rejected, and no callback ran. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(gw_pp_parse(body, h.len - 1, &fns), -EBADMSG);
	assert_int_equal(seen.members, 0);
	assert_int_equal(gw_stream_parse(b.p, b.len - 1, &h, &body), -EBADMSG);
	b.p[0] = 2;
	assert_int_equal(gw_stream_parse(b.p, b.len, &h, &body), -EPROTO);
	free(b.p);
}

static void test_pushpull_counts_bounded(void **state)
{
	/* 4 billion members claimed in a 16-byte body: rejected up front. */
	uint8_t body[16] = { 0xff, 0xff, 0xff, 0xff };

	assert_int_equal(gw_pp_parse(body, sizeof(body), NULL), -EBADMSG);
}

/* ---- keyring ---- */

static void test_keyring_ops(void **state)
{
	struct gkeyring kr = { 0 };
	uint8_t k[GOSSIP_KEYS_MAX + 1][GOSSIP_KEY_LEN];
	size_t i;

	assert_int_equal(gk_init(), 0);
	for (i = 0; i <= GOSSIP_KEYS_MAX; i++)
		memset(k[i], i + 1, GOSSIP_KEY_LEN);
	assert_int_equal(gk_install(&kr, k[0]), 0);
	assert_int_equal(gk_install(&kr, k[0]), -EEXIST);
	assert_int_equal(gk_remove(&kr, k[0]), -EBUSY);
	assert_int_equal(gk_use(&kr, k[1]), -ENOENT);
	for (i = 1; i < GOSSIP_KEYS_MAX; i++)
		assert_int_equal(gk_install(&kr, k[i]), 0);
	assert_int_equal(gk_install(&kr, k[GOSSIP_KEYS_MAX]), -ENOSPC);
	assert_int_equal(gk_use(&kr, k[3]), 0);
	assert_memory_equal(kr.key[0], k[3], GOSSIP_KEY_LEN);
	assert_int_equal(gk_remove(&kr, k[0]), 0);
	assert_int_equal(gk_remove(&kr, k[0]), -ENOENT);
	assert_int_equal(kr.n, GOSSIP_KEYS_MAX - 1);
	gk_wipe(&kr);
	assert_int_equal(kr.n, 0);
}

static void test_keyring_seal_open(void **state)
{
	struct gkeyring a = { 0 }, b = { 0 };
	uint8_t k1[GOSSIP_KEY_LEN], k2[GOSSIP_KEY_LEN], sealed[128], out[128];
	const uint8_t msg[] = "hello gossip";
	size_t len, olen;

	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	assert_int_equal(gk_seal_pkt(&a, msg, sizeof(msg), sealed, sizeof(sealed), &len), -ENOKEY);
	gk_install(&a, k1);
	gk_install(&b, k2);
	assert_int_equal(gk_seal_pkt(&a, msg, sizeof(msg), sealed, 20, &len), -ENOSPC);
	assert_int_equal(gk_seal_pkt(&a, msg, sizeof(msg), sealed, sizeof(sealed), &len), 0);
	assert_int_equal(len, sizeof(msg) + GK_PKT_OVERHEAD);
	assert_int_equal(sealed[0], GW_SEALED_PKT);
	/* Wrong key: refused; once the key is installed (not primary): opens. */
	assert_int_equal(gk_open_pkt(&b, sealed, len, out, sizeof(out), &olen), -EBADMSG);
	gk_install(&b, k1);
	assert_int_equal(gk_open_pkt(&b, sealed, len, out, sizeof(out), &olen), 0);
	assert_int_equal(olen, sizeof(msg));
	assert_memory_equal(out, msg, sizeof(msg));
	/* Any flipped bit, including the version byte (additional data). */
	sealed[len / 2] ^= 1;
	assert_int_equal(gk_open_pkt(&b, sealed, len, out, sizeof(out), &olen), -EBADMSG);
	sealed[len / 2] ^= 1;
	sealed[0] ^= 1;
	assert_int_equal(gk_open_pkt(&b, sealed, len, out, sizeof(out), &olen), -EBADMSG);
	assert_int_equal(gk_open_pkt(&b, sealed, 10, out, sizeof(out), &olen), -EBADMSG);
}

static void test_keyring_stream(void **state)
{
	struct gkeyring kr = { 0 };
	uint8_t k[GOSSIP_KEY_LEN], *sealed, *out;
	const uint8_t msg[] = "push-pull state";
	size_t len, olen;
	uint32_t be;

	memset(k, 9, sizeof(k));
	gk_install(&kr, k);
	assert_int_equal(gk_seal_stream(&kr, msg, sizeof(msg), &sealed, &len), 0);
	assert_int_equal(gk_open_stream(&kr, sealed, len, &out, &olen), 0);
	assert_int_equal(olen, sizeof(msg));
	assert_memory_equal(out, msg, olen);
	free(out);
	/* The length field is authenticated and checked before decrypting. */
	memcpy(&be, sealed + 1, 4);
	be = htobe32(be32toh(be) + 1);
	memcpy(sealed + 1, &be, 4);
	assert_int_equal(gk_open_stream(&kr, sealed, len, &out, &olen), -EMSGSIZE);
	be = htobe32(GW_STREAM_MAX * 2);
	memcpy(sealed + 1, &be, 4);
	assert_int_equal(gk_open_stream(&kr, sealed, len, &out, &olen), -EMSGSIZE);
	free(sealed);
}

/* ---- tags ---- */

static void test_tags(void **state)
{
	const struct gossip_tag tags[] = { { "vtep", "198.18.0.3" }, { "networks", "web,db" } };
	uint8_t meta[GOSSIP_META_MAX];
	char v[32];
	int n;

	n = gossip_tags_encode(tags, 2, meta, sizeof(meta));
	assert_int_equal(n, 3 + 4 + 10 + 3 + 8 + 6);
	assert_int_equal(gossip_tag_get(meta, n, "vtep", v, sizeof(v)), 10);
	assert_string_equal(v, "198.18.0.3");
	assert_int_equal(gossip_tag_get(meta, n, "networks", v, sizeof(v)), 6);
	assert_string_equal(v, "web,db");
	assert_int_equal(gossip_tag_get(meta, n, "nope", v, sizeof(v)), -ENOENT);
	assert_int_equal(gossip_tag_get(meta, n, "vtep", v, 5), -ENAMETOOLONG);
	assert_int_equal(gossip_tag_get(meta, n - 1, "networks", v, sizeof(v)), -EBADMSG);
	assert_int_equal(gossip_tags_encode(tags, 2, meta, 10), -EMSGSIZE);
}

/* ---- formulas (specs/gossip.md 4.3) ---- */

static void test_suspicion_formulas(void **state)
{
	static const struct { size_t n; uint64_t min_ms; } tbl[] = {
		{ 1, 4000 }, { 3, 4000 }, { 5, 4000 }, { 10, 4000 }, { 20, 5204 },
		{ 50, 6792 }, { 100, 8000 }, { 1000, 12000 }, { 10000, 16000 },
	};
	struct gossip_config cfg;
	size_t i;

	gossip_config_lan(&cfg);
	for (i = 0; i < ARRAY_SIZE(tbl); i++)
		assert_int_equal(gs_min_ms(&cfg, tbl[i].n), tbl[i].min_ms);
	/* n = 5: 24 s, 11.4 s after one confirmation, 4 s after two. */
	assert_int_equal(gs_timeout(4000, 24000, 2, 0), 24000);
	assert_int_equal(gs_timeout(4000, 24000, 2, 1) / 100, 113);
	assert_int_equal(gs_timeout(4000, 24000, 2, 2), 4000);
	assert_int_equal(gs_timeout(4000, 24000, 2, 5), 4000);
	assert_int_equal(gs_timeout(4000, 24000, 0, 0), 4000);
	assert_true(gs_ln(1.0) == 0.0);
	assert_true(gs_ln(1000.0) / gs_ln(10.0) > 2.999999 &&
		    gs_ln(1000.0) / gs_ln(10.0) < 3.000001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_unknown_type_skipped),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_reject_whole_packet),
		cmocka_unit_test(test_pushpull_body),
		cmocka_unit_test(test_pushpull_counts_bounded),
		cmocka_unit_test(test_keyring_ops),
		cmocka_unit_test(test_keyring_seal_open),
		cmocka_unit_test(test_keyring_stream),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_suspicion_formulas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
