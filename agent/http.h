/* http.h: a small HTTP/1.1 server on a libuv stream listener (unix socket),
 * for JSON APIs. It parses requests (request line, headers, Content-Length
 * bodies; no chunked request bodies), keeps connections alive, answers one
 * request at a time per connection in order, and enforces limits: header
 * block <= 8 KiB (431), body <= 1 MiB by default (413), malformed (400),
 * unsupported method/transfer-encoding (501), idle connections closed after
 * 60 s, at most 256 connections.
 *
 * Dispatch is by a route table {method, pattern, handler}. Patterns are
 * literal path segments and "*" wildcards matching one segment:
 * "/v1/networks/ * /endpoints" (without the spaces). Captured segments are
 * passed in req->params (URL-decoded). A path that matches no pattern gets
 * 404; one that matches a pattern only under another method gets 405.
 *
 * Peers (SO_PEERCRED, SO_PEERGROUPS at accept): root, the agent's own user
 * and members of the socket's group (gid given to listen; -1 = ours) are
 * served; anyone else gets 403 on every request (the socket's mode already
 * keeps them out; this holds even if the mode is loosened by hand). Every
 * changing request (any method but GET/HEAD/OPTIONS) is logged with the
 * peer's uid, gid and pid. A token bucket per peer uid (rate, burst) answers
 * 429 when a peer goes faster; uid 0 is not limited unless limit_root.
 *
 * Handlers may answer at once or later (asynchronously): the request stays
 * valid until http_reply() is called for it, even if the client went away
 * meanwhile (the reply is then dropped). Every request must be answered
 * exactly once.
 */
#ifndef OVN_HTTP_H
#define OVN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "ovn_err.h"

#define HTTP_MAX_PARAMS 4

struct http_server;
struct http_req;

typedef void (*http_handler)(struct http_req *req, void *arg);

struct http_route {
	const char *method;		/* "GET", "POST", "DELETE", "PUT" */
	const char *pattern;
	http_handler fn;
};

struct http_peer {
	int pid;			/* 0 when the kernel gave no credentials */
	unsigned uid, gid;
};

struct http_req {
	const char *method;
	const char *path;		/* without the query string */
	const char *query;		/* after '?', "" if none (raw) */
	const char *params[HTTP_MAX_PARAMS];	/* captured "*" segments */
	int n_params;
	const char *body;		/* NUL-terminated; "" if none */
	size_t body_len;
	const char *content_type;	/* "" if absent */
	const struct http_peer *peer;	/* who is asking (SO_PEERCRED) */
	void *user;			/* free for the handler's use */
};

struct http_config {
	const struct http_route *routes;
	size_t n_routes;
	void *arg;			/* passed to every handler */
	size_t max_body;		/* 0 = 1 MiB */
	const char *name;		/* in log lines ("api"); NULL = "http" */
	unsigned rate;			/* requests/s per peer uid; 0 = no limit */
	unsigned burst;			/* bucket size; 0 = rate */
	bool limit_root;		/* the bucket applies to uid 0 too */
};

/* Listen on a unix socket path (an existing stale socket file is replaced;
 * mode is applied with chmod; gid >= 0 applies chown). */
int http_server_listen_unix(struct http_server **out, uv_loop_t *loop, const char *path,
			    unsigned mode, int gid, const struct http_config *cfg,
			    struct ovn_err *err);
/* Stop listening, close every connection; cb runs once all handles closed.
 * Requests still pending may still be answered (their replies are dropped). */
void http_server_close(struct http_server *s, void (*cb)(void *arg), void *arg);

/* Answer req with status and body (copied), Content-Type as given (NULL =
 * application/json). Frees req's resources. */
void http_reply(struct http_req *req, int status, const char *content_type, const char *body,
		size_t len);

/* Look up a query parameter ("force" in "force=true&x=1"); decoded value
 * into buf; returns NULL when absent. */
const char *http_query_get(const struct http_req *req, const char *name, char *buf,
			   size_t size);

#endif
