/* fuzz_dns_codec.c: libFuzzer target for the DNS wire codec (dns/codec.c).
 * Any bytes as a query and as a reply; names read at every offset; and the
 * invariant that a reply we build for any query we accept parses back. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_int.h"

static void check_reply(const struct dns_query *q, int rcode)
{
	static uint8_t out[DNS_UDP_SIZE];
	struct dns_query r;
	struct dns_msg m;
	size_t n;

	if (dns_msg_start(&m, out, sizeof(out), q, q->flags & DNS_F_RD, rcode) < 0)
		abort();	/* a parsed question always fits 1232 bytes */
	n = dns_msg_finish(&m, rcode, 22);
	if (q->qname_len && dns_reply_parse(out, n, &r) != 0)
		abort();
	if (q->qname_len && (r.qname_len != q->qname_len ||
			     memcmp(r.qname, q->qname, q->qname_len) || r.has_opt != q->has_opt))
		abort();
}

/* Text form is lossless unless a label holds a dot or a NUL. */
static bool text_safe(const uint8_t *w)
{
	for (; *w; w += 1 + *w)
		for (int i = 1; i <= *w; i++)
			if (w[i] == '.' || w[i] == 0)
				return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t name[DNS_NAME_MAX];
	char text[4 * DNS_NAME_MAX];
	struct dns_query q;
	int rc;

	rc = dns_query_parse(data, size, &q);
	if (rc >= 0)
		check_reply(&q, rc ? rc : DNS_R_NXDOMAIN);
	if (rc == 0 && (q.qname_len < 1 || q.qname_len > DNS_NAME_MAX || q.udp_size < 512))
		abort();
	if (dns_reply_parse(data, size, &q) == 0 && q.msg_len > size)
		abort();
	for (size_t off = 0; off < size && off < 64; off++) {
		size_t next = 0;
		int n = dns_name_read(data, size, off, name, &next);

		if (n > 0) {
			if (n > DNS_NAME_MAX || next > size || name[n - 1] != 0)
				abort();
			if (dns_name_to_text(name, (size_t)n, text, sizeof(text)) < 0)
				abort();
			if (text_safe(name)) {
				uint8_t again[DNS_NAME_MAX];

				if (dns_name_from_text(text, again, sizeof(again)) != n ||
				    memcmp(again, name, (size_t)n))
					abort();
			}
		}
	}
	return 0;
}
