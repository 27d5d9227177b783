/* http_int.h: knobs and probes of the HTTP server that only its unit tests
 * use (the public face is http.h). Not for the agent proper. */
#ifndef OVN_HTTP_INT_H
#define OVN_HTTP_INT_H

#include <stdint.h>

#include "http.h"

#define HTTP_MAX_HEAD		8192		/* request line + headers + blank line */
#define HTTP_DEF_MAX_BODY	(1u << 20)
#define HTTP_MAX_CONNS		256
#define HTTP_IDLE_MS		60000
#define HTTP_MAX_WRITES		8		/* answers in flight before we stop parsing */
#define HTTP_RATE_SLOTS		64		/* peers (uids) with a bucket at once */
#define HTTP_TRIM_AFTER		(64u << 10)	/* answer size after which the heap is trimmed */

/* Replace the 60 s idle timeout (tests cannot wait a minute). Applies to
 * timers armed from now on. */
void http_server_set_idle_timeout(struct http_server *s, uint64_t ms);

/* Connections currently open (accepted and not yet closed). */
unsigned http_server_conn_count(const struct http_server *s);

#endif
