/* fuzz_kv_wire.c: libFuzzer target for the store answers the agent parses
 * from the network: etcd v3's JSON gateway (range, txn, authenticate,
 * errors, watch stream objects) and Consul's KV API (key lists, txn), plus
 * Consul's snapshot diff on what was parsed. A compromised or confused
 * store server, or anything in its path without TLS, reaches these.
 *
 * Input: one selector byte, then the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv_consul_int.h"
#include "kv_etcd_int.h"
#include "kv_http_int.h"

static void etcd(uint8_t sel, const char *b, size_t n)
{
	char msg[ETCD_MSG_LEN] = "";
	struct kvh_rows rows = { 0 };
	struct etcd_wresp w;
	uint64_t rev = 0;
	char *token = NULL;
	bool ok;

	switch (sel % 5) {
	case 0:
		etcd_parse_range(b, n, sel & 8 ? 4 : 0, &rev, &rows, msg);
		kvh_rows_free(&rows);
		break;
	case 1: etcd_parse_txn(b, n, &rev, &ok, msg); break;
	case 2:
		etcd_parse_auth(b, n, &token, msg);
		free(token);
		break;
	case 3: etcd_parse_error(b, n, sel & 8 ? 200 : 400, msg); break;
	case 4:
		memset(&w, 0, sizeof(w));
		etcd_parse_watch(b, n, sel & 8 ? 4 : 0, &w, msg);
		etcd_wresp_free(&w);
		break;
	}
	if (!memchr(msg, '\0', sizeof(msg)))
		abort();
}

static void consul(uint8_t sel, const char *b, size_t n)
{
	char msg[CONSUL_MSG_LEN] = "";
	struct kvh_rows old = { 0 }, cur = { 0 };
	struct consul_ev *ev = NULL;
	uint64_t index = 0;
	size_t nev = 0;
	const char *half = memchr(b, '\n', n);

	if (sel & 1) {
		consul_parse_txn(b, n, sel & 8 ? 200 : 409, &index, msg);
		return;
	}
	/* Two snapshots split at the first newline, then their diff. */
	if (!half)
		half = b + n;
	if (consul_parse_kvs(b, half - b, 0, &old, msg) == 0 &&
	    consul_parse_kvs(half, n - (half - b), 0, &cur, msg) == 0) {
		kvh_rows_sort(&old);
		kvh_rows_sort(&cur);
		if (consul_diff(&old, &cur, 7, &ev, &nev) == 0) {
			for (size_t i = 0; i < nev; i++)
				if (!ev[i].e || !ev[i].e->key)
					abort();
		}
	}
	free(ev);
	kvh_rows_free(&old);
	kvh_rows_free(&cur);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		consul(data[0], (const char *)data + 1, size - 1);
	else
		etcd(data[0], (const char *)data + 1, size - 1);
	return 0;
}
