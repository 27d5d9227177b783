/* api.c: routes of the JSON API (docs/api.md): decode the HTTP request,
 * hand it to netmgr, turn the result into a status and a JSON body.
 * No policy lives here: form and conflict checks are the model's and
 * netmgr's, so the CLI, the Docker plugin and CNI all get the same answers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cluster.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

int api_status_of(int code)
{
	switch (code) {
	case 0: return 200;
	case -EINVAL: case -ERANGE: case -ENAMETOOLONG: return 400;
	case -ENOENT: case -ESRCH: return 404;
	case -EEXIST: case -EBUSY: case -EADDRINUSE: case -ENOSPC: return 409;
	case -E2BIG: return 413;
	case -ECONNREFUSED: case -ETIMEDOUT: case -ENOTCONN: case -EAGAIN: return 503;
	case -EOPNOTSUPP: return 501;	/* e.g. encryption on a kernel without ESP */
	default: return 500;
	}
}

static void reply_json(struct http_req *req, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	if (!s) {
		http_reply(req, 500, NULL, "{\"error\":\"out of memory\"}", 25);
		return;
	}
	http_reply(req, status, NULL, s, strlen(s));
	free(s);
}

static void reply_error(struct http_req *req, int status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "error", msg);

	reply_json(req, status, j);
	json_decref(j);
}

/* netmgr callback: req->user holds the success status (200 or 201). */
static void done(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	struct http_req *req = arg;
	int ok = (int)(intptr_t)req->user;

	if (status < 0) {
		if (api_status_of(status) >= 500)
			log_warn("%s %s: %s", req->method, req->path, err ? err->msg : "failed");
		reply_error(req, api_status_of(status), err && err->msg[0] ? err->msg :
			    strerror(-status));
		return;
	}
	reply_json(req, ok ? ok : 200, result);
}

/* Parse the request body as one JSON object; answers 400 itself on failure. */
static json_t *body_json(struct http_req *req)
{
	json_error_t e;
	json_t *j;
	char msg[300];

	if (!req->body_len) {
		reply_error(req, 400, "request body: expected a JSON object");
		return NULL;
	}
	j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		snprintf(msg, sizeof(msg), "request body: invalid JSON at line %d column %d: %s",
			 e.line, e.column, e.text);
		reply_error(req, 400, msg);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		reply_error(req, 400, "request body: expected a JSON object");
		return NULL;
	}
	return j;
}

static void status_get(struct http_req *req, void *arg)
{
	netmgr_status(arg, done, req);
}

static void latency_get(struct http_req *req, void *arg)
{
	netmgr_latency(arg, done, req);
}

static void networks_list(struct http_req *req, void *arg)
{
	netmgr_network_list(arg, done, req);
}

static void networks_create(struct http_req *req, void *arg)
{
	json_t *j = body_json(req);

	if (!j)
		return;
	req->user = (void *)(intptr_t)201;
	netmgr_network_create(arg, j, done, req);
	json_decref(j);
}

static void network_get(struct http_req *req, void *arg)
{
	netmgr_network_get(arg, req->params[0], done, req);
}

static void network_delete(struct http_req *req, void *arg)
{
	char v[16];
	const char *force = http_query_get(req, "force", v, sizeof(v));

	if (force && strcmp(force, "true") && strcmp(force, "false") && strcmp(force, "1") &&
	    strcmp(force, "0"))
		return reply_error(req, 400, "force: expected true or false");
	netmgr_network_remove(arg, req->params[0],
			      force && (!strcmp(force, "true") || !strcmp(force, "1")), done, req);
}

static void endpoints_create(struct http_req *req, void *arg)
{
	json_t *j = body_json(req);

	if (!j)
		return;
	req->user = (void *)(intptr_t)201;
	netmgr_attach(arg, req->params[0], j, done, req);
	json_decref(j);
}

static void network_detach(struct http_req *req, void *arg)
{
	json_t *j = body_json(req);

	if (!j)
		return;
	netmgr_detach(arg, req->params[0], j, done, req);
	json_decref(j);
}

static void endpoints_list(struct http_req *req, void *arg)
{
	char net[128];

	netmgr_endpoint_list(arg, http_query_get(req, "network", net, sizeof(net)), done, req);
}

/* Gossip routes answer 404 with a reason when gossip is off. */
static struct cluster *cluster_of(struct http_req *req, void *arg)
{
	struct cluster *c = netmgr_cluster(arg);

	if (!c)
		reply_error(req, 404, "gossip is off on this host (gossip.port is not set)");
	return c;
}

static void members_get(struct http_req *req, void *arg)
{
	struct cluster *c = cluster_of(req, arg);

	if (c)
		cluster_members(c, done, req);
}

static void keys_get(struct http_req *req, void *arg)
{
	struct cluster *c = cluster_of(req, arg);

	if (c)
		cluster_keys_list(c, done, req);
}

static void keys_post(struct http_req *req, void *arg)
{
	struct cluster *c = cluster_of(req, arg);
	json_t *j;

	if (!c || !(j = body_json(req)))
		return;
	cluster_keys_op(c, j, done, req);
	json_decref(j);
}

static void encryption_rotate(struct http_req *req, void *arg)
{
	req->user = (void *)(intptr_t)200;
	netmgr_encryption_rotate(arg, done, req);
}

const struct http_route api_routes[] = {
	{ "GET", "/v1/status", status_get },
	{ "GET", "/v1/networks", networks_list },
	{ "POST", "/v1/networks", networks_create },
	{ "GET", "/v1/networks/*", network_get },
	{ "DELETE", "/v1/networks/*", network_delete },
	{ "POST", "/v1/networks/*/endpoints", endpoints_create },
	{ "POST", "/v1/networks/*/detach", network_detach },
	{ "GET", "/v1/endpoints", endpoints_list },
	{ "GET", "/v1/debug/latency", latency_get },
	{ "GET", "/v1/members", members_get },
	{ "GET", "/v1/keys", keys_get },
	{ "POST", "/v1/keys", keys_post },
	{ "POST", "/v1/encryption/rotate", encryption_rotate },
	{ "GET", "/metrics", metrics_get },
};
const size_t api_n_routes = ARRAY_SIZE(api_routes);
