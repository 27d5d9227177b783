/* kv_etcd_int.h: the etcd v3 JSON gateway's wire format (kv_etcd_wire.c),
 * pure functions shared by the backend (kv_etcd.c) and its unit test.
 * Keys and values travel base64-encoded; 64-bit numbers as JSON strings.
 *
 * Builders return a malloc'd NUL-terminated JSON text or NULL (no memory).
 * Parsers take a body and its length and return 0 or -errno with a reason
 * in msg; they strip skip bytes (the store prefix) from every key.
 */
#ifndef OVN_KV_ETCD_INT_H
#define OVN_KV_ETCD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv_http_int.h"
#include "kvstore.h"

#define ETCD_MSG_LEN 256

/* The smallest key greater than every key starting with prefix: prefix with
 * its last byte below 0xff incremented and the rest cut; "\0" (length 1)
 * when there is none, which etcd reads as "to the end". out has room for
 * len + 1 bytes; returns the length. */
size_t etcd_range_end(const char *prefix, size_t len, char *out);

char *etcd_range_body(const char *full, bool as_prefix);
/* ops' keys without the store prefix; the caller checked them. */
char *etcd_txn_body(const char *store_prefix, const struct kv_op *ops, size_t n);
/* start_rev 0: from now. */
char *etcd_watch_body(const char *full_prefix, uint64_t start_rev);
char *etcd_auth_body(const char *user, const char *password);

int etcd_parse_range(const char *body, size_t len, size_t skip, uint64_t *rev,
		     struct kvh_rows *rows, char *msg);
/* 0 with *ok = whether the compares held, or -errno. */
int etcd_parse_txn(const char *body, size_t len, uint64_t *rev, bool *ok, char *msg);
int etcd_parse_auth(const char *body, size_t len, char **token, char *msg);
/* An error answer (HTTP code != 200 or {"error": ...}) as -errno + message. */
int etcd_parse_error(const char *body, size_t len, long http_code, char *msg);

/* One object of the watch stream. */
struct etcd_wresp {
	bool error;		/* {"error": ...}: the stream failed */
	int err;		/* its -errno */
	bool created, canceled;
	uint64_t rev;		/* header.revision (0 when absent) */
	uint64_t compact_rev;	/* > 0: start revision was compacted away */
	struct kvh_rows ev;	/* in order; value NULL = delete */
};

int etcd_parse_watch(const char *line, size_t len, size_t skip, struct etcd_wresp *out,
		     char *msg);
void etcd_wresp_free(struct etcd_wresp *w);

#endif
