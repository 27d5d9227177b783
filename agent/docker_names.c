/* docker_names.c: learn the container name of a Docker endpoint from
 * dockerd's Engine API (docker.api), since the plugin protocol never sends
 * it, and give it to netmgr (netmgr_docker_ep_name), which stores it in the
 * endpoint's record: every host's DNS then answers it.
 *
 * After a Join has been answered, one lookup job per endpoint asks
 * `GET /containers/json?all=1` and looks for the container whose
 * NetworkSettings.Networks.*.EndpointID is the endpoint's Docker id. At
 * Join the container is not listed with that id yet (dockerd records it
 * after Join returns), so the job retries with a growing delay.
 *
 * The request is a plain blocking exchange on a unix socket with a short
 * send/receive timeout, run on the libuv threadpool (uv_queue_work): the
 * loop never waits, and the worker touches nothing but its job. HTTP/1.0
 * is asked for, so dockerd answers with one body closed by EOF (no
 * chunking, no keep-alive).
 *
 * Does not: follow renames (`docker rename`) or aliases added later by
 * `docker network connect --alias` to a running container; retry a name
 * that another endpoint holds.
 * TODO: subscribe to /events instead of polling once per Join.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker.h"
#include "log.h"
#include "util.h"

#define NAME_TRIES 7			/* 0.3 + 0.6 + ... : about 38 s in all */
#define NAME_FIRST_MS 300
#define API_TIMEOUT_S 2
#define API_MAX_BYTES (8 << 20)		/* a list of many containers */
#define API_REQUEST "GET /containers/json?all=1 HTTP/1.0\r\nHost: docker\r\n\r\n"

/* ---- codecs ---------------------------------------------------------------- */

int docker_http_body(const char *resp, size_t len, const char **body, size_t *blen,
		     struct ovn_err *err)
{
	const char *end = memmem(resp, len, "\r\n\r\n", 4);
	int code;

	if (len < 12 || memcmp(resp, "HTTP/1.", 7) || sscanf(resp + 9, "%3d", &code) != 1)
		return ovn_err_set(err, -EPROTO, "docker API: not an HTTP answer");
	if (!end)
		return ovn_err_set(err, -EPROTO, "docker API: answer without a header end");
	if (code != 200)
		return ovn_err_set(err, -EPROTO, "docker API: HTTP status %d", code);
	for (const char *p = resp; p < end; p++)
		if (!strncasecmp(p, "\r\nTransfer-Encoding: chunked", 28))
			return ovn_err_set(err, -EPROTO, "docker API: chunked answer to HTTP/1.0");
	*body = end + 4;
	*blen = len - (size_t)(end + 4 - resp);
	return 0;
}

int docker_name_from_list(const char *body, size_t len, const char *endpoint_id, char *name,
			  size_t size, json_t **aliases, struct ovn_err *err)
{
	json_t *list = json_loadb(body, len, 0, NULL), *c, *nets, *ep, *al;
	const char *key, *s;
	size_t i;
	int r = -ENOENT;

	*aliases = NULL;
	if (!json_is_array(list)) {
		r = ovn_err_set(err, -EINVAL, "docker API: container list is not a JSON array");
		goto out;
	}
	json_array_foreach(list, i, c) {
		nets = json_object_get(json_object_get(c, "NetworkSettings"), "Networks");
		json_object_foreach(nets, key, ep) {
			s = json_string_value(json_object_get(ep, "EndpointID"));
			if (!s || strcmp(s, endpoint_id))
				continue;
			/* Names: ["/c1"]; a link adds "/other/alias" entries. */
			s = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
			if (!s || s[0] != '/' || !s[1] || strchr(s + 1, '/') ||
			    strlen(s + 1) >= size) {
				r = ovn_err_set(err, -EINVAL, "docker API: container of endpoint "
						"%.12s has no usable name", endpoint_id);
				goto out;
			}
			ovn_strlcpy(name, s + 1, size);
			al = json_object_get(ep, "Aliases");
			*aliases = json_is_array(al) ? json_deep_copy(al) : json_array();
			r = *aliases ? 0 : -ENOMEM;
			goto out;
		}
	}
out:
	json_decref(list);
	return r;
}

/* ---- jobs ------------------------------------------------------------------ */

struct name_job {
	struct docker_names *dn;
	uv_work_t work;
	uv_timer_t timer;
	char network[NM_NAME_MAX + 1];
	char eid[DOCKER_ID_LEN + 1];
	int tries;
	bool in_work;
	/* worker's result */
	char *resp;
	size_t len;
	int status;
	struct name_job *next;
};

struct docker_names {
	uv_loop_t *loop;
	struct netmgr *nm;
	char api[256];
	struct name_job *jobs;
	bool closing;
	void (*closed_cb)(void *arg);
	void *closed_arg;
};

static void maybe_closed(struct docker_names *dn)
{
	if (!dn->closing || dn->jobs)
		return;
	if (dn->closed_cb)
		dn->closed_cb(dn->closed_arg);
	free(dn);
}

static void job_closed(uv_handle_t *h)
{
	struct name_job *j = h->data;
	struct docker_names *dn = j->dn;

	for (struct name_job **pp = &dn->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	free(j->resp);
	free(j);
	maybe_closed(dn);
}

static void job_end(struct name_job *j)
{
	if (!uv_is_closing((uv_handle_t *)&j->timer))
		uv_close((uv_handle_t *)&j->timer, job_closed);
}

/* Worker thread: connect, ask, read to EOF. Touches only j. */
static void api_get(uv_work_t *w)
{
	struct name_job *j = w->data;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = API_TIMEOUT_S };
	size_t cap = 0;
	ssize_t n;
	int fd;

	j->status = 0;
	j->len = 0;
	ovn_strlcpy(sa.sun_path, j->dn->api, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, API_REQUEST, strlen(API_REQUEST), MSG_NOSIGNAL) != (ssize_t)strlen(API_REQUEST))
		goto fail;
	for (;;) {
		if (cap - j->len < 4096) {
			char *p;

			if (cap >= API_MAX_BYTES) {
				errno = EMSGSIZE;
				goto fail;
			}
			p = realloc(j->resp, cap ? cap * 2 : 16384);
			if (!p)
				goto fail;
			j->resp = p;
			cap = cap ? cap * 2 : 16384;
		}
		n = recv(fd, j->resp + j->len, cap - j->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		j->len += (size_t)n;
	}
	close(fd);
	return;
fail:
	j->status = -errno;
	if (fd >= 0)
		close(fd);
}

static void job_schedule(struct name_job *j);

static void named(int status, const struct ovn_err *err, json_t *result, void *arg)
{
	char *eid = arg;

	(void)result;
	if (status < 0)
		log_warn("docker: endpoint %.12s keeps no name: %s", eid, err->msg);
	free(eid);
}

static void api_got(uv_work_t *w, int status)
{
	struct name_job *j = w->data;
	struct ovn_err err = { 0 };
	char name[NM_DNS_MAX + 1], id[NM_ID_LEN + 1];
	json_t *aliases = NULL;
	const char *body;
	size_t blen;
	char *arg;
	int r;

	j->in_work = false;
	if (status < 0 || j->dn->closing)
		return job_end(j);
	if (j->status < 0) {
		r = ovn_err_set(&err, j->status, "%s: %s", j->dn->api, strerror(-j->status));
	} else {
		r = docker_http_body(j->resp, j->len, &body, &blen, &err);
		if (r == 0)
			r = docker_name_from_list(body, blen, j->eid, name, sizeof(name), &aliases,
						  &err);
	}
	free(TAKE_PTR(j->resp));
	if (r == -ENOENT || (r < 0 && j->status < 0)) {
		/* Not listed with this endpoint yet, or dockerd busy: later. */
		if (j->tries < NAME_TRIES)
			return job_schedule(j);
		log_warn("docker: endpoint %.12s: no container name after %d tries%s%s", j->eid,
			 j->tries, r == -ENOENT ? "" : ": ", r == -ENOENT ? "" : err.msg);
		return job_end(j);
	}
	if (r < 0) {
		log_warn("docker: endpoint %.12s: %s", j->eid, err.msg);
		return job_end(j);
	}
	/* The ovn endpoint id is the Docker id's first NM_ID_LEN chars. */
	snprintf(id, sizeof(id), "%.*s", NM_ID_LEN, j->eid);
	arg = strndup(j->eid, 12);
	if (arg)
		netmgr_docker_ep_name(j->dn->nm, j->network, id, name, aliases, named, arg);
	json_decref(aliases);
	job_end(j);
}

static void on_timer(uv_timer_t *t)
{
	struct name_job *j = t->data;

	j->tries++;
	j->work.data = j;
	if (uv_queue_work(j->dn->loop, &j->work, api_get, api_got) < 0)
		return job_end(j);
	j->in_work = true;
}

static void job_schedule(struct name_job *j)
{
	uv_timer_start(&j->timer, on_timer, (uint64_t)NAME_FIRST_MS << j->tries, 0);
}

void docker_names_lookup(struct docker_names *dn, const char *network, const char *eid)
{
	struct name_job *j;

	if (!dn || dn->closing)
		return;
	for (j = dn->jobs; j; j = j->next)
		if (!strcmp(j->eid, eid))
			return;		/* Join repeated: one job is enough */
	j = calloc(1, sizeof(*j));
	if (!j) {
		log_warn("docker: endpoint %.12s: out of memory; it keeps no name", eid);
		return;
	}
	j->dn = dn;
	ovn_strlcpy(j->network, network, sizeof(j->network));
	ovn_strlcpy(j->eid, eid, sizeof(j->eid));
	uv_timer_init(dn->loop, &j->timer);
	j->timer.data = j;
	j->next = dn->jobs;
	dn->jobs = j;
	job_schedule(j);
}

int docker_names_new(struct docker_names **out, uv_loop_t *loop, const struct cfg *cfg,
		     struct netmgr *nm)
{
	struct docker_names *dn;

	*out = NULL;
	if (!cfg->docker.api[0])
		return 0;
	dn = calloc(1, sizeof(*dn));
	if (!dn)
		return -ENOMEM;
	dn->loop = loop;
	dn->nm = nm;
	ovn_strlcpy(dn->api, cfg->docker.api, sizeof(dn->api));
	*out = dn;
	return 0;
}

void docker_names_free(struct docker_names *dn, void (*cb)(void *arg), void *arg)
{
	if (!dn) {
		if (cb)
			cb(arg);
		return;
	}
	dn->closing = true;
	dn->closed_cb = cb;
	dn->closed_arg = arg;
	/* A request queued or running ends in api_got (cancelled, or within
	 * its timeout), which then ends the job. */
	for (struct name_job *j = dn->jobs; j; j = j->next)
		if (j->in_work)
			uv_cancel((uv_req_t *)&j->work);
		else
			job_end(j);
	maybe_closed(dn);
}
