/* client.h: one HTTP/1.1 request to ovnagent over its unix socket, blocking,
 * with one deadline for the whole exchange. ovnctl makes a single request
 * per run, so there is no keep-alive, no pooling and no async here.
 */
#ifndef OVN_CLI_CLIENT_H
#define OVN_CLI_CLIENT_H

#include <stddef.h>

#include "ovn_err.h"

/* The largest answer accepted (an endpoint list of a big cluster is a few
 * MiB; anything past this is a broken peer, not data). */
#define CLI_MAX_BODY (64u << 20)
#define CLI_MAX_HEAD (16u << 10)

struct cli_resp {
	int status;		/* 100-599 */
	char reason[64];	/* reason phrase, possibly truncated */
	char *body;		/* malloc'd, NUL-terminated; never NULL after success */
	size_t body_len;
};

/* Send method+path with body (NULL = none; sent as application/json) to
 * the socket and read the answer into resp (free with cli_resp_free, also
 * after a failure). Returns 0 whatever the HTTP status, or a negative
 * errno with err saying why the agent could not be reached or answered
 * nonsense: -ENOENT/-ECONNREFUSED/-EACCES (connect), -ETIMEDOUT, -EPROTO. */
int cli_http_request(const char *sock_path, int timeout_ms, const char *method,
		     const char *path, const char *body, struct cli_resp *resp,
		     struct ovn_err *err);
void cli_resp_free(struct cli_resp *resp);

/* Parse the status line and headers at the start of buf[0..len). Returns
 * -EAGAIN while the blank line ending them has not arrived, -EPROTO on a
 * malformed head, else 0 with resp->status/reason, *head_len (bytes up to
 * and including the blank line) and *clen (Content-Length, -1 if absent). */
int cli_http_parse_head(const char *buf, size_t len, struct cli_resp *resp, size_t *head_len,
			long long *clen, struct ovn_err *err);

#endif
