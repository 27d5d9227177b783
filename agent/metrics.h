/* metrics.h: Prometheus text exposition (format 0.0.4) of the agent's state,
 * on the API socket (GET /metrics, metrics_get) and optionally on a TCP
 * address of its own (metrics.listen, metrics_tcp.c) that serves nothing
 * else. */
#ifndef OVN_METRICS_H
#define OVN_METRICS_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "http.h"
#include "ovn_err.h"

/* Limits of the TCP listener: connections at once, bytes of one request's
 * head, lifetime of a connection from accept. */
#define METRICS_TCP_MAX_CONNS	16
#define METRICS_TCP_MAX_REQ	4096
#define METRICS_TCP_TIMEOUT_MS	10000

/* GET /metrics handler; the server arg is the struct netmgr *. */
void metrics_get(struct http_req *req, void *arg);

/* Produce the exposition into a malloc'ed buffer (*out, *len; the caller
 * frees it). 0 or -ENOMEM. */
typedef int (*metrics_render_fn)(void *arg, char **out, size_t *len);
/* The agent's renderer; arg is the struct netmgr *. */
int metrics_render(void *arg, char **out, size_t *len);

/* "IPv4:PORT" or "[IPv6]:PORT" (port 0-65535, 0 = any free port) into ss.
 * 0 or -EINVAL. */
int metrics_addr_parse(const char *s, struct sockaddr_storage *ss);

struct metrics_srv;
/* Listen on addr and answer GET /metrics with render(arg, ...); every other
 * request gets an error. On failure *out is NULL and err says why. */
int metrics_srv_listen(struct metrics_srv **out, uv_loop_t *loop, const char *addr,
		       metrics_render_fn render, void *arg, struct ovn_err *err);
/* Stop listening and drop every connection; the server frees itself once
 * its handles have closed (no callback; render is not called again). */
void metrics_srv_close(struct metrics_srv *s);
/* The bound port (after listening on port 0), or -1. */
int metrics_srv_port(const struct metrics_srv *s);
/* Tests: open connections, and a shorter connection lifetime. */
unsigned metrics_srv_conn_count(const struct metrics_srv *s);
void metrics_srv_set_timeout(struct metrics_srv *s, uint64_t ms);

#endif
