/* test_xfrm.c: dataplane/xfrm.c, the IPsec ESP states and policies.
 *
 * Two halves: the message builders and parsers as pure functions (every
 * request ovn builds parses back as the object it came from; another
 * owner's objects and short messages are told apart), and the real kernel
 * in a network namespace of the test's own (root; skipped otherwise):
 * policies added, dumped, re-added without duplicates, deleted, and a
 * foreign policy left alone. States need ESP + GCM in the kernel: where
 * dp_xfrm_probe says they are missing, the state test checks that an add
 * fails with that reason and that nothing was left behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp_int.h"
#include "util.h"

static bool root;
static struct dp *dp;

static struct ovn_ip ip4(const char *s)
{
	struct ovn_ip ip;

	assert_int_equal(ovn_ip_parse(&ip, s), 0);
	return ip;
}

/* The first message of a batch, as the kernel would read it. */
static struct nlmsghdr *first_msg(struct nl_batch *b)
{
	return (struct nlmsghdr *)b->buf;
}

static void test_sa_roundtrip(void **state)
{
	struct nl_sock sk = { 0 };
	struct dp_sa sa = { .spi = 0x12345678 }, got;
	const struct xfrm_usersa_info *xs;
	const struct xfrm_algo_aead *a;
	const struct nlattr *attr;
	struct nl_batch *b = calloc(1, sizeof(*b));
	int n_aead = 0;

	(void)state;
	sa.src = ip4("198.18.0.1");
	sa.dst = ip4("198.18.0.2");
	for (int i = 0; i < DP_SA_KEY_LEN; i++)
		sa.key[i] = (uint8_t)i;
	nl_batch_init(b, &sk);
	xfrm_sa_add_msg(b, &sa);
	assert_int_equal(b->err, 0);
	assert_int_equal(xfrm_sa_parse(first_msg(b), &got), 1);
	assert_true(ovn_ip_equal(&got.src, &sa.src));
	assert_true(ovn_ip_equal(&got.dst, &sa.dst));
	assert_int_equal(got.spi, sa.spi);

	xs = mnl_nlmsg_get_payload(first_msg(b));
	assert_int_equal(xs->id.spi, htonl(0x12345678));	/* network order on the wire */
	assert_int_equal(xs->mode, XFRM_MODE_TRANSPORT);
	assert_int_equal(xs->lft.hard_packet_limit, XFRM_INF);
	mnl_attr_for_each(attr, first_msg(b), sizeof(*xs)) {
		if (mnl_attr_get_type(attr) != XFRMA_ALG_AEAD)
			continue;
		n_aead++;
		a = mnl_attr_get_payload(attr);
		assert_string_equal(a->alg_name, "rfc4106(gcm(aes))");
		assert_int_equal(a->alg_key_len, 288);
		assert_int_equal(a->alg_icv_len, 128);
		assert_memory_equal(a->alg_key, sa.key, DP_SA_KEY_LEN);
	}
	assert_int_equal(n_aead, 1);
	free(b);
}

static void test_sa_parse_foreign(void **state)
{
	struct nl_sock sk = { 0 };
	struct xfrm_usersa_info *xs;
	struct dp_sa sa = { .spi = 0x1000 };
	struct nl_batch *b = calloc(1, sizeof(*b));

	(void)state;
	sa.src = ip4("198.18.0.1");
	sa.dst = ip4("198.18.0.2");
	nl_batch_init(b, &sk);
	xfrm_sa_add_msg(b, &sa);
	xs = mnl_nlmsg_get_payload(first_msg(b));
	xs->reqid = 7;				/* an IKE daemon's */
	assert_int_equal(xfrm_sa_parse(first_msg(b), &sa), 0);
	first_msg(b)->nlmsg_len = MNL_NLMSG_HDRLEN + 8;	/* truncated */
	assert_int_equal(xfrm_sa_parse(first_msg(b), &sa), -EINVAL);
	free(b);
}

static void test_pol_roundtrip(void **state)
{
	static const enum dp_pol_kind kinds[] = {
		DP_POL_OUT, DP_POL_IN, DP_POL_BLOCK_OUT, DP_POL_BLOCK_IN,
	};
	struct nl_sock sk = { 0 };
	struct nl_batch *b = calloc(1, sizeof(*b));

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct dp_pol p = { .kind = kinds[i] }, got;
		const struct xfrm_userpolicy_info *pi;
		bool block = kinds[i] >= DP_POL_BLOCK_OUT;

		p.local = ip4("198.18.0.1");
		if (!block)
			p.remote = ip4("198.18.0.3");
		nl_batch_init(b, &sk);
		xfrm_pol_add_msg(b, &p);
		assert_int_equal(b->err, 0);
		assert_int_equal(xfrm_pol_parse(first_msg(b), &got), 1);
		assert_int_equal(got.kind, p.kind);
		assert_true(ovn_ip_equal(&got.local, &p.local));
		assert_int_equal(got.remote.family, block ? 0 : AF_INET);
		if (!block)
			assert_true(ovn_ip_equal(&got.remote, &p.remote));
		pi = mnl_nlmsg_get_payload(first_msg(b));
		assert_int_equal(pi->sel.dport, htons(DP_VXLAN_PORT_ENC));
		assert_int_equal(pi->action, block ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW);
		/* a template only on the per-pair kinds */
		assert_int_equal(first_msg(b)->nlmsg_len >
				 MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*pi)), !block);
	}
	free(b);
}

static void test_pol_parse_foreign(void **state)
{
	struct nl_sock sk = { 0 };
	struct xfrm_userpolicy_info *pi;
	struct dp_pol p = { .kind = DP_POL_OUT };
	struct nl_batch *b = calloc(1, sizeof(*b));

	(void)state;
	p.local = ip4("198.18.0.1");
	p.remote = ip4("198.18.0.2");
	nl_batch_init(b, &sk);
	xfrm_pol_add_msg(b, &p);
	pi = mnl_nlmsg_get_payload(first_msg(b));
	pi->priority = 100;			/* not one of ovn's */
	assert_int_equal(xfrm_pol_parse(first_msg(b), &p), 0);
	pi->priority = DP_XFRM_PRIO_PEER;
	pi->sel.dport = htons(4500);		/* not the encrypted VxLAN port */
	assert_int_equal(xfrm_pol_parse(first_msg(b), &p), 0);
	first_msg(b)->nlmsg_type = XFRM_MSG_NEWSA;
	assert_int_equal(xfrm_pol_parse(first_msg(b), &p), -EINVAL);
	free(b);
}

static void test_bad_input(void **state)
{
	struct dp_pol p = { .kind = DP_POL_OUT };
	struct dp_sa sa = { .spi = 0x1000 };
	struct ovn_err err = { 0 };

	(void)state;
	if (!root)
		skip();
	p.local = ip4("198.18.0.1");		/* no remote */
	assert_int_equal(dp_pol_add(dp, &p, &err), -EAFNOSUPPORT);
	assert_non_null(strstr(err.msg, "IPv4"));
	p.kind = (enum dp_pol_kind)9;
	assert_int_equal(dp_pol_add(dp, &p, &err), -EINVAL);
	assert_int_equal(ovn_ip_parse(&sa.src, "fd00::1"), 0);
	sa.dst = sa.src;
	assert_int_equal(dp_sa_add(dp, &sa, &err), -EAFNOSUPPORT);
}

/* ---- the real kernel --------------------------------------------------- */

struct seen {
	int n;
	struct dp_pol p[8];
	struct dp_sa sa[8];
};

static int pol_seen(const struct dp_pol *p, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->p[s->n] = *p;
	s->n++;
	return 0;
}

static int sa_seen(const struct dp_sa *sa, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->sa[s->n] = *sa;
	s->n++;
	return 0;
}

static int pol_count(void)
{
	struct ovn_err err = { 0 };
	struct seen s = { 0 };

	assert_int_equal(dp_pol_dump(dp, pol_seen, &s, &err), 0);
	return s.n;
}

/* A policy of someone else's (another priority) on the same port. */
static void add_foreign_policy(const struct dp_pol *like)
{
	struct nl_batch *b = calloc(1, sizeof(*b));
	struct xfrm_userpolicy_info *pi;
	struct ovn_err err = { 0 };

	nl_batch_init(b, &dp->xs);
	xfrm_pol_add_msg(b, like);
	pi = mnl_nlmsg_get_payload(first_msg(b));
	pi->priority = 100;
	assert_int_equal(nl_batch_run(b, &err), 0);
	free(b);
}

static void test_kernel_policies(void **state)
{
	static const enum dp_pol_kind kinds[] = {
		DP_POL_OUT, DP_POL_IN, DP_POL_BLOCK_OUT, DP_POL_BLOCK_IN,
	};
	struct dp_pol p[4], foreign = { .kind = DP_POL_OUT };
	struct ovn_err err = { 0 };
	struct seen s = { 0 };

	(void)state;
	if (!root)
		skip();
	for (int i = 0; i < 4; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].kind = kinds[i];
		p[i].local = ip4("198.18.0.1");
		if (kinds[i] < DP_POL_BLOCK_OUT)
			p[i].remote = ip4("198.18.0.2");
	}
	foreign.local = ip4("198.18.0.1");
	foreign.remote = ip4("198.18.0.9");
	add_foreign_policy(&foreign);
	assert_int_equal(pol_count(), 0);	/* the foreign one is not ovn's */

	for (int round = 0; round < 2; round++)	/* the second add changes nothing */
		for (int i = 0; i < 4; i++)
			assert_int_equal(dp_pol_add(dp, &p[i], &err), 0);
	assert_int_equal(dp_pol_dump(dp, pol_seen, &s, &err), 0);
	assert_int_equal(s.n, 4);
	for (int i = 0; i < 4; i++) {
		bool found = false;

		for (int j = 0; j < 4; j++)
			found |= s.p[j].kind == p[i].kind &&
				 ovn_ip_equal(&s.p[j].local, &p[i].local) &&
				 ovn_ip_equal(&s.p[j].remote, &p[i].remote);
		assert_true(found);
	}
	for (int round = 0; round < 2; round++)	/* deleting the absent is fine */
		for (int i = 0; i < 4; i++)
			assert_int_equal(dp_pol_del(dp, &p[i], &err), 0);
	assert_int_equal(pol_count(), 0);

	/* the foreign policy is still there: deleting it by hand succeeds once */
	{
		struct nl_batch *b = calloc(1, sizeof(*b));

		nl_batch_init(b, &dp->xs);
		xfrm_pol_del_msg(b, &foreign);
		b->req[0].ok = 0;		/* absent would now be an error */
		assert_int_equal(nl_batch_run(b, &err), 0);
		free(b);
	}
}

static void test_kernel_states(void **state)
{
	struct dp_sa sa = { .spi = 0x2000 };
	struct ovn_err err = { 0 };
	struct seen s = { 0 };
	int probe;

	(void)state;
	if (!root)
		skip();
	sa.src = ip4("198.18.0.1");
	sa.dst = ip4("198.18.0.2");
	memset(sa.key, 0x5a, sizeof(sa.key));
	probe = dp_xfrm_probe(dp, &err);
	if (probe) {
		/* This kernel has no ESP or no GCM: say so, and check the add
		 * fails and leaves nothing. */
		print_message("xfrm: %s\n", err.msg);
		assert_non_null(strstr(err.msg, "cannot do IPsec ESP"));
		assert_int_not_equal(dp_sa_add(dp, &sa, &err), 0);
		assert_int_equal(dp_sa_dump(dp, sa_seen, &s, &err), 0);
		assert_int_equal(s.n, 0);
		return;
	}
	for (int round = 0; round < 2; round++)
		assert_int_equal(dp_sa_add(dp, &sa, &err), 0);
	assert_int_equal(dp_sa_dump(dp, sa_seen, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.sa[0].spi, 0x2000);
	assert_true(ovn_ip_equal(&s.sa[0].dst, &sa.dst));
	for (int round = 0; round < 2; round++)
		assert_int_equal(dp_sa_del(dp, &sa, &err), 0);
	s.n = 0;
	assert_int_equal(dp_sa_dump(dp, sa_seen, &s, &err), 0);
	assert_int_equal(s.n, 0);
}

static int group_setup(void **state)
{
	struct ovn_err err = { 0 };

	(void)state;
	if (root && dp_open(&dp, &err)) {
		print_error("dp_open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	dp_close(dp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_roundtrip),
		cmocka_unit_test(test_sa_parse_foreign),
		cmocka_unit_test(test_pol_roundtrip),
		cmocka_unit_test(test_pol_parse_foreign),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_kernel_policies),
		cmocka_unit_test(test_kernel_states),
	};

	/* Our own namespace: every policy and state dies with the process. */
	root = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
