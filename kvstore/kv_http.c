/* kv_http.c: a small asynchronous HTTP client for the etcd and Consul
 * backends: libcurl's multi interface driven by the agent's libuv loop.
 *
 * libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one
 * uv_poll per socket, created on first use, closed on CURL_POLL_REMOVE) and
 * when to wake it up (CURLMOPT_TIMERFUNCTION: one uv_timer). Readiness and
 * timer expiry go back in through curl_multi_socket_action; finished
 * transfers come out of curl_multi_info_read.
 *
 * Callbacks never run inside libcurl: the write callback only buffers and
 * marks the request ready; after curl_multi_socket_action returns,
 * kvh_process hands buffered stream chunks to their owners, then finished
 * requests. So a callback may add, cancel or close anything (libcurl
 * forbids curl_multi_remove_handle from its own callbacks).
 *
 * Connections stay open in the multi handle's cache and are reused
 * (keep-alive); at most KVH_MAX_CONNS are open, further transfers wait
 * inside libcurl for one. Plain requests have a whole-request timeout;
 * streams have none (an etcd watch is silent while nothing changes) and
 * rely on TCP keepalive to notice a dead peer.
 *
 * Lifetimes: a uv_poll's memory is freed in its close callback; the client
 * itself after its timer and every poll have closed (counted in handles).
 *
 * Also here, because etcd and Consul both need them: base64, full keys,
 * decoded result rows, the password file, the endpoint list, and the
 * backend skeleton (struct kvh_backend: configuration, endpoint failover,
 * watch timers and list, the close sequence).
 *
 * Does not: follow redirects, retry (the backends decide), speak HTTP/2
 * (HTTP/1.1 keeps the framing of etcd's watch stream simple), or resolve
 * names itself (libcurl's resolver; use addresses to avoid any wait).
 *
 * TODO: reuse easy handles from a free list if profiles show curl_easy_init.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libcurl is loaded with dlopen when the first etcd/Consul store opens:
 * linked, it would bring ~30 libraries (TLS, Kerberos, LDAP, ...) into every
 * agent, and their pages were most of an embedded-store agent's memory.
 * The calls below go through curl_fn; type checking macros are off since the
 * names are macros here. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>

#include "fsperm.h"
#include "kv_http_int.h"
#include "util.h"

#define KVH_MAX_CONNS		256
#define KVH_KEEPIDLE_S		30
#define KVH_KEEPINTVL_S		10

struct kvh_sock {
	uv_poll_t poll;
	struct kvh *h;
	curl_socket_t fd;
	struct kvh_sock *prev, *next;
};

struct kvh_buf {
	char *p;
	size_t len, cap;
};

struct kvh_req {
	struct kvh_req *prev, *next;	/* h->reqs: every request in flight */
	struct kvh_req *ready_next;	/* h->ready: stream data to hand out */
	bool ready;
	bool in_chunk;			/* on_chunk running: cancel defers */
	bool cancelled;
	struct kvh *h;
	CURL *easy;
	struct curl_slist *hdrs;
	kvh_done_cb cb;
	kvh_chunk_cb on_chunk;
	void *arg;
	struct kvh_buf body, head;
	int abort_err;			/* why a callback of ours stopped it */
	char errbuf[CURL_ERROR_SIZE];
};

struct kvh {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	char *ca, *cert, *key;
	struct kvh_req *reqs;
	size_t n_reqs;
	struct kvh_req *ready, **ready_tail;
	struct kvh_sock *socks;
	int handles;			/* timer + polls not yet closed */
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption o, ...);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO i, ...);
	void (*easy_cleanup)(CURL *c);
	const char *(*easy_strerror)(CURLcode e);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *m, CURLMoption o, ...);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *c);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *c);
	CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int ev, int *running);
	CURLMcode (*multi_assign)(CURLM *m, curl_socket_t s, void *p);
	CURLMsg *(*multi_info_read)(CURLM *m, int *left);
	CURLMcode (*multi_cleanup)(CURLM *m);
} curl_fn;

static const struct {
	const char *sym;
	size_t off;
} curl_syms[] = {
#define CURL_SYM(f) { "curl_" #f, offsetof(__typeof__(curl_fn), f) }
	CURL_SYM(global_init), CURL_SYM(easy_init), CURL_SYM(easy_setopt),
	CURL_SYM(easy_getinfo), CURL_SYM(easy_cleanup), CURL_SYM(easy_strerror),
	CURL_SYM(slist_append), CURL_SYM(slist_free_all), CURL_SYM(multi_init),
	CURL_SYM(multi_setopt), CURL_SYM(multi_add_handle), CURL_SYM(multi_remove_handle),
	CURL_SYM(multi_socket_action), CURL_SYM(multi_assign), CURL_SYM(multi_info_read),
	CURL_SYM(multi_cleanup),
#undef CURL_SYM
};

/* curl.h keeps argument-count macros for the variadic three. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init (*curl_fn.global_init)
#define curl_easy_init (*curl_fn.easy_init)
#define curl_easy_setopt (*curl_fn.easy_setopt)
#define curl_easy_getinfo (*curl_fn.easy_getinfo)
#define curl_easy_cleanup (*curl_fn.easy_cleanup)
#define curl_easy_strerror (*curl_fn.easy_strerror)
#define curl_slist_append (*curl_fn.slist_append)
#define curl_slist_free_all (*curl_fn.slist_free_all)
#define curl_multi_init (*curl_fn.multi_init)
#define curl_multi_setopt (*curl_fn.multi_setopt)
#define curl_multi_add_handle (*curl_fn.multi_add_handle)
#define curl_multi_remove_handle (*curl_fn.multi_remove_handle)
#define curl_multi_socket_action (*curl_fn.multi_socket_action)
#define curl_multi_assign (*curl_fn.multi_assign)
#define curl_multi_info_read (*curl_fn.multi_info_read)
#define curl_multi_cleanup (*curl_fn.multi_cleanup)

static pthread_once_t kvh_curl_once = PTHREAD_ONCE_INIT;
static int kvh_curl_init_ret;
static char kvh_curl_why[160];

static void kvh_curl_init(void)
{
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(kvh_curl_why, sizeof(kvh_curl_why), "cannot load libcurl.so.4: %s "
			 "(install libcurl4)", dlerror());
		kvh_curl_init_ret = -ENOENT;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(curl_syms); i++) {
		void *f = dlsym(lib, curl_syms[i].sym);

		if (!f) {
			snprintf(kvh_curl_why, sizeof(kvh_curl_why), "libcurl.so.4 lacks %s",
				 curl_syms[i].sym);
			kvh_curl_init_ret = -ENOSYS;
			return;
		}
		memcpy((char *)&curl_fn + curl_syms[i].off, &f, sizeof(f));
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(kvh_curl_why, sizeof(kvh_curl_why), "curl_global_init failed");
		kvh_curl_init_ret = -EIO;
	}
}

static void kvh_process(struct kvh *h);

/* ---- buffers ---- */

/* Append and keep a NUL after the data. */
static int kvh_buf_add(struct kvh_buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* ---- request bookkeeping ---- */

static void kvh_req_link(struct kvh *h, struct kvh_req *r)
{
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	h->n_reqs++;
}

static void kvh_ready_remove(struct kvh *h, struct kvh_req *r)
{
	struct kvh_req **pp;

	if (!r->ready)
		return;
	for (pp = &h->ready; *pp != r; pp = &(*pp)->ready_next)
		;
	*pp = r->ready_next;
	if (h->ready_tail == &r->ready_next)
		h->ready_tail = pp;
	r->ready = false;
	r->ready_next = NULL;
}

/* Take r out of the client: no list, no multi handle. */
static void kvh_req_unlink(struct kvh *h, struct kvh_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	h->n_reqs--;
	kvh_ready_remove(h, r);
	curl_multi_remove_handle(h->multi, r->easy);
}

static void kvh_req_free(struct kvh_req *r)
{
	if (!r)
		return;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body.p);
	free(r->head.p);
	free(r);
}

/* ---- libcurl callbacks: buffer only ---- */

static size_t kvh_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct kvh_req *r = ud;
	struct kvh *h = r->h;
	size_t n = size * nmemb;

	if (r->body.len + n > KVH_BODY_MAX) {
		r->abort_err = -EMSGSIZE;
		return 0;
	}
	if (kvh_buf_add(&r->body, ptr, n) < 0) {
		r->abort_err = -ENOMEM;
		return 0;
	}
	if (r->on_chunk && !r->ready) {
		r->ready = true;
		*h->ready_tail = r;
		h->ready_tail = &r->ready_next;
	}
	return n;
}

static size_t kvh_header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct kvh_req *r = ud;
	size_t n = size * nmemb;

	/* A new status line (after "100 Continue") starts a new block. */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		r->head.len = 0;
	if (r->head.len + n > 64 * 1024 || kvh_buf_add(&r->head, ptr, n) < 0) {
		r->abort_err = -EMSGSIZE;
		return 0;
	}
	return n;
}

/* ---- sockets and timer ---- */

static void kvh_maybe_free(struct kvh *h)
{
	void (*cb)(void *arg) = h->close_cb;
	void *arg = h->close_arg;

	if (h->handles > 0)
		return;
	free(h->ca);
	free(h->cert);
	free(h->key);
	free(h);
	if (cb)
		cb(arg);
}

static void kvh_sock_closed(uv_handle_t *handle)
{
	struct kvh_sock *ks = handle->data;
	struct kvh *h = ks->h;

	free(ks);
	h->handles--;
	kvh_maybe_free(h);
}

static void kvh_sock_close(struct kvh *h, struct kvh_sock *ks)
{
	if (ks->prev)
		ks->prev->next = ks->next;
	else
		h->socks = ks->next;
	if (ks->next)
		ks->next->prev = ks->prev;
	uv_close((uv_handle_t *)&ks->poll, kvh_sock_closed);
}

static void kvh_poll_cb(uv_poll_t *p, int status, int events)
{
	struct kvh_sock *ks = p->data;
	struct kvh *h = ks->h;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, ks->fd, flags, &running);
	kvh_process(h);
}

static struct kvh_sock *kvh_sock_new(struct kvh *h, curl_socket_t fd)
{
	struct kvh_sock *ks = calloc(1, sizeof(*ks));

	if (!ks)
		return NULL;
	if (uv_poll_init_socket(h->loop, &ks->poll, fd) < 0) {
		free(ks);
		return NULL;
	}
	ks->poll.data = ks;
	ks->h = h;
	ks->fd = fd;
	ks->next = h->socks;
	if (h->socks)
		h->socks->prev = ks;
	h->socks = ks;
	h->handles++;
	curl_multi_assign(h->multi, fd, ks);
	return ks;
}

static int kvh_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct kvh *h = userp;
	struct kvh_sock *ks = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (ks) {
			curl_multi_assign(h->multi, fd, NULL);
			kvh_sock_close(h, ks);
		}
		return 0;
	}
	if (!ks) {
		ks = kvh_sock_new(h, fd);
		if (!ks)
			return -1;	/* libcurl fails the transfer */
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	uv_poll_start(&ks->poll, events, kvh_poll_cb);
	return 0;
}

static void kvh_timer_fire(uv_timer_t *t)
{
	struct kvh *h = t->data;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	kvh_process(h);
}

static int kvh_timer_cb(CURLM *multi, long ms, void *userp)
{
	struct kvh *h = userp;

	/* Once closing, the timer belongs to the close step. */
	if (h->closing)
		return 0;
	if (ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, kvh_timer_fire, ms, 0);
	return 0;
}

/* ---- completion ---- */

static int kvh_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Hand buffered stream data to its owner. Returns false when the owner
 * cancelled r meanwhile (r is gone then). The buffer stays alive during the
 * callback, even if it cancels r. */
static bool kvh_give_chunk(struct kvh *h, struct kvh_req *r)
{
	size_t n = r->body.len;

	if (!n)
		return true;
	r->body.len = 0;
	r->in_chunk = true;
	r->on_chunk(r->body.p, n, r->arg);
	r->in_chunk = false;
	if (!r->cancelled) {
		r->body.p[0] = '\0';
		return true;
	}
	kvh_req_unlink(h, r);
	kvh_req_free(r);
	return false;
}

static void kvh_finish(struct kvh *h, struct kvh_req *r, CURLcode rc)
{
	struct kvh_resp resp = { .msg = "" };
	long reqsize = 0;

	if (r->on_chunk && !kvh_give_chunk(h, r))
		return;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.code);
	curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &reqsize);
	resp.sent = reqsize > 0;
	if (rc != CURLE_OK) {
		resp.status = r->abort_err ? r->abort_err : kvh_errno(rc);
		resp.msg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
		if (r->abort_err == -EMSGSIZE)
			resp.msg = "answer too large";
	}
	resp.body = r->body.p ? r->body.p : "";
	resp.len = r->body.len;
	resp.headers = r->head.p ? r->head.p : "";
	resp.hlen = r->head.len;
	kvh_req_unlink(h, r);
	r->cb(&resp, r->arg);
	kvh_req_free(r);
}

static void kvh_deliver_chunks(struct kvh *h)
{
	while (h->ready && !h->closing) {
		struct kvh_req *r = h->ready;

		h->ready = r->ready_next;
		if (!h->ready)
			h->ready_tail = &h->ready;
		r->ready = false;
		r->ready_next = NULL;
		kvh_give_chunk(h, r);
	}
}

/* Run after every curl_multi_socket_action, with no libcurl call active. */
static void kvh_process(struct kvh *h)
{
	CURLMsg *msg;
	int left;

	kvh_deliver_chunks(h);
	while (!h->closing && (msg = curl_multi_info_read(h->multi, &left))) {
		struct kvh_req *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		kvh_finish(h, r, msg->data.result);
	}
}

/* ---- requests ---- */

static int kvh_set_method(CURL *e, const struct kvh_call *call)
{
	const char *body = call->body ? call->body : "";
	size_t len = call->body ? call->len : 0;

	if (strcmp(call->method, "GET") == 0 && !call->body)
		return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (strcmp(call->method, "POST") != 0 && strcmp(call->method, "PUT") != 0 &&
	    strcmp(call->method, "DELETE") != 0 && strcmp(call->method, "GET") != 0)
		return CURLE_BAD_FUNCTION_ARGUMENT;
	if (strcmp(call->method, "DELETE") == 0 && !call->body)
		return curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
	/* A body goes as POST fields; another verb renames the request. */
	if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK)
		return CURLE_OUT_OF_MEMORY;
	if (strcmp(call->method, "POST") == 0)
		return CURLE_OK;
	return curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
}

static int kvh_set_headers(struct kvh_req *r, const struct kvh_call *call)
{
	struct curl_slist *l;

	/* No "Expect: 100-continue" round trip before bodies over 1 KiB. */
	r->hdrs = curl_slist_append(NULL, "Expect:");
	if (!r->hdrs)
		return -ENOMEM;
	for (size_t i = 0; call->headers && call->headers[i]; i++) {
		l = curl_slist_append(r->hdrs, call->headers[i]);
		if (!l)
			return -ENOMEM;
		r->hdrs = l;
	}
	return 0;
}

static void kvh_set_tls(struct kvh *h, CURL *e)
{
	if (h->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca);
	if (h->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, h->cert);
	if (h->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, h->key);
}

static int kvh_setup(struct kvh *h, struct kvh_req *r, const struct kvh_call *call)
{
	CURL *e = r->easy;
	long cto = call->connect_timeout_ms ? call->connect_timeout_ms : call->timeout_ms;

	if (kvh_set_headers(r, call) < 0)
		return -ENOMEM;
	if (curl_easy_setopt(e, CURLOPT_URL, call->url) != CURLE_OK)
		return -ENOMEM;
	if (kvh_set_method(e, call) != CURLE_OK)
		return -EINVAL;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, kvh_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, kvh_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)KVH_KEEPIDLE_S);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, (long)KVH_KEEPINTVL_S);
	if (call->timeout_ms > 0 && !call->on_chunk)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, call->timeout_ms);
	if (cto > 0)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cto);
	kvh_set_tls(h, e);
	return 0;
}

int kvh_request(struct kvh *h, const struct kvh_call *call, kvh_done_cb cb, void *arg,
		struct kvh_req **out)
{
	struct kvh_req *r = NULL;
	int ret;

	if (!call || !call->url || !call->method || !cb || (call->len && !call->body))
		return -EINVAL;
	if (h->closing)
		return -ESHUTDOWN;
	if (h->n_reqs >= KVH_MAX_INFLIGHT)
		return -EAGAIN;
	ret = -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto out;
	r->h = h;
	r->cb = cb;
	r->on_chunk = call->on_chunk;
	r->arg = arg;
	r->easy = curl_easy_init();
	if (!r->easy)
		goto out;
	ret = kvh_setup(h, r, call);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK)
		goto out;
	kvh_req_link(h, r);
	if (out)
		*out = r;
	r = NULL;
	ret = 0;
out:
	kvh_req_free(r);
	return ret;
}

void kvh_cancel(struct kvh *h, struct kvh_req *r)
{
	if (!r || r->cancelled)
		return;
	if (r->in_chunk) {
		r->cancelled = true;	/* kvh_give_chunk frees it */
		return;
	}
	kvh_req_unlink(h, r);
	kvh_req_free(r);
}

size_t kvh_inflight(const struct kvh *h)
{
	return h->n_reqs;
}

bool kvh_header(const struct kvh_resp *resp, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = resp->headers, *end = resp->headers + resp->hlen;

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);
		const char *v, *ve;

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			for (v = p + nlen + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
				;
			for (ve = eol; ve > v && (ve[-1] == '\r' || ve[-1] == ' '); ve--)
				;
			if ((size_t)(ve - v) >= size)
				return false;
			memcpy(out, v, ve - v);
			out[ve - v] = '\0';
			return true;
		}
		p = eol + 1;
	}
	return false;
}

/* ---- lifecycle ---- */

static char *kvh_strdup_opt(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

static int kvh_multi_init(struct kvh *h)
{
	h->multi = curl_multi_init();
	if (!h->multi)
		return -ENOMEM;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, kvh_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, kvh_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)KVH_MAX_CONNS);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)KVH_MAX_CONNS);
	return 0;
}

int kvh_new(struct kvh **out, uv_loop_t *loop, const struct kvh_tls *tls,
	    struct ovn_err *err)
{
	struct kvh *h;
	bool fail = false;

	pthread_once(&kvh_curl_once, kvh_curl_init);
	if (kvh_curl_init_ret < 0)
		return ovn_err_set(err, kvh_curl_init_ret, "http: %s", kvh_curl_why);
	h = calloc(1, sizeof(*h));
	if (!h)
		return ovn_err_set(err, -ENOMEM, "http: out of memory");
	h->loop = loop;
	h->ready_tail = &h->ready;
	if (tls) {
		h->ca = kvh_strdup_opt(tls->ca, &fail);
		h->cert = kvh_strdup_opt(tls->cert, &fail);
		h->key = kvh_strdup_opt(tls->key, &fail);
	}
	if (fail || kvh_multi_init(h) < 0) {
		if (h->multi)
			curl_multi_cleanup(h->multi);
		free(h->ca);
		free(h->cert);
		free(h->key);
		free(h);
		return ovn_err_set(err, -ENOMEM, "http: out of memory");
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->handles = 1;
	*out = h;
	return 0;
}

static void kvh_timer_closed(uv_handle_t *handle)
{
	struct kvh *h = handle->data;

	h->handles--;
	kvh_maybe_free(h);
}

static void kvh_close_step(uv_timer_t *t)
{
	struct kvh *h = t->data;
	struct kvh_resp resp = {
		.status = -ECANCELED,
		.msg = "client closed before the request completed",
		.body = "",
		.headers = "",
	};

	/* Callbacks may cancel others meanwhile: always take the head. */
	while (h->reqs) {
		struct kvh_req *r = h->reqs;

		kvh_req_unlink(h, r);
		r->cb(&resp, r->arg);
		kvh_req_free(r);
	}
	curl_multi_cleanup(h->multi);	/* may still report sockets removed */
	h->multi = NULL;
	while (h->socks)
		kvh_sock_close(h, h->socks);
	uv_close((uv_handle_t *)&h->timer, kvh_timer_closed);
}

void kvh_close(struct kvh *h, void (*cb)(void *arg), void *arg)
{
	if (h->closing)
		return;
	h->closing = true;
	h->close_cb = cb;
	h->close_arg = arg;
	uv_timer_start(&h->timer, kvh_close_step, 0, 0);
}

/* ---- base64 ---- */

static const char kvh_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void kvh_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *s = in;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*out++ = kvh_b64[s[i] >> 2];
		*out++ = kvh_b64[(s[i] & 3) << 4 | s[i + 1] >> 4];
		*out++ = kvh_b64[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		*out++ = kvh_b64[s[i + 2] & 63];
	}
	if (i < n) {
		unsigned int b1 = i + 1 < n ? s[i + 1] : 0;

		*out++ = kvh_b64[s[i] >> 2];
		*out++ = kvh_b64[(s[i] & 3) << 4 | b1 >> 4];
		*out++ = i + 1 < n ? kvh_b64[(b1 & 15) << 2] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

static int kvh_b64_val(char c)
{
	const char *p = c ? strchr(kvh_b64, c) : NULL;

	return p ? p - kvh_b64 : -1;
}

/* Padding is optional; anything after it, or a stray character, is not. */
long kvh_b64_decode(const char *in, size_t n, char *out)
{
	unsigned int acc = 0;
	int bits = 0;
	long len = 0;

	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int v = kvh_b64_val(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6 | v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (char)(acc >> bits);
		}
	}
	return len;
}

char *kvh_b64_enc_dup(const void *in, size_t n)
{
	char *out = malloc(kvh_b64_len(n) + 1);

	if (out)
		kvh_b64_encode(in, n, out);
	return out;
}

char *kvh_b64_dec_dup(const char *in, size_t n, size_t *len)
{
	char *out = malloc(n / 4 * 3 + 3);
	long got;

	if (!out)
		return NULL;
	got = kvh_b64_decode(in, n, out);
	if (got < 0) {
		free(out);
		return NULL;
	}
	out[got] = '\0';
	*len = got;
	return out;
}

/* ---- helpers the cluster backends share ---- */

int kvh_key_full(const char *prefix, const char *key, bool as_prefix, char **out)
{
	size_t plen = strlen(prefix), klen;

	if (!key || (!key[0] && !as_prefix) || (key[0] && key[0] != '/'))
		return -EINVAL;
	if (!key[0])
		key = "/";
	klen = strlen(key);
	if (plen + klen > KVH_KEY_MAX)
		return -ENAMETOOLONG;
	*out = malloc(plen + klen + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, prefix, plen);
	memcpy(*out + plen, key, klen + 1);
	return 0;
}

int kvh_rows_push(struct kvh_rows *r, char *key, size_t skip, char *val, size_t vlen,
		  uint64_t mod_rev)
{
	size_t klen = key ? strlen(key) : 0;

	if (!key || skip > klen)
		goto fail;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct kv_entry *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			goto fail;
		r->v = v;
		r->cap = cap;
	}
	memmove(key, key + skip, klen - skip + 1);
	r->v[r->n++] = (struct kv_entry){
		.key = key,
		.value = val,
		.len = vlen,
		.mod_rev = mod_rev,
	};
	return 0;
fail:
	free(key);
	free(val);
	return -ENOMEM;
}

static int kvh_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv_entry *)a)->key, ((const struct kv_entry *)b)->key);
}

void kvh_rows_sort(struct kvh_rows *r)
{
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), kvh_entry_cmp);
}

void kvh_rows_result(struct kvh_rows *r, bool get, const char *key, char *msg, size_t size,
		     struct kv_result *res)
{
	if (get && r->n == 0) {
		snprintf(msg, size, "'%s': not found", key);
		res->status = -ENOENT;
		res->msg = msg;
	}
	kvh_rows_sort(r);
	res->n = get && r->n > 1 ? 1 : r->n;
	res->entries = r->v;
}

void kvh_rows_free(struct kvh_rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free((char *)r->v[i].key);
		free((char *)r->v[i].value);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

int kvh_read_secret(const char *path, char **out, struct ovn_err *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		return ovn_err_set(err, ret, "store.password_file: %s: %s", path, strerror(-ret));
	}
	ret = fsperm_check_fd(fileno(f), path, "store.password_file", FSPERM_SECRET, err);
	if (ret < 0) {
		fclose(f);
		return ret;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	if (n <= 0) {
		free(line);
		return ovn_err_set(err, -EINVAL, "store.password_file: %s: empty", path);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*out = line;
	return 0;
}

void kvh_endpoints_free(char **eps, size_t n)
{
	for (size_t i = 0; eps && i < n; i++)
		free(eps[i]);
	free(eps);
}

int kvh_endpoints_dup(const char *what, const char *const *eps, size_t n, char ***out,
		      struct ovn_err *err)
{
	char **v;

	if (!eps || n == 0)
		return ovn_err_set(err, -EINVAL, "store.endpoints: %s needs at least one URL",
				   what);
	v = calloc(n, sizeof(*v));
	if (!v)
		return ovn_err_set(err, -ENOMEM, "%s: out of memory", what);
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (!eps[i] || (strncmp(eps[i], "http://", 7) != 0 &&
				strncmp(eps[i], "https://", 8) != 0)) {
			kvh_endpoints_free(v, n);
			return ovn_err_set(err, -EINVAL,
					   "store.endpoints: '%s' is not an http:// or https:// URL"
					   " (%s)", eps[i] ? eps[i] : "(null)", what);
		}
		v[i] = strdup(eps[i]);
		if (!v[i]) {
			kvh_endpoints_free(v, n);
			return ovn_err_set(err, -ENOMEM, "%s: out of memory", what);
		}
		len = strlen(v[i]);
		while (len > 0 && v[i][len - 1] == '/')
			v[i][--len] = '\0';
	}
	*out = v;
	return 0;
}

static bool kvh_op_writes(const struct kv_op *op)
{
	return op->type == KV_OP_PUT || op->type == KV_OP_DEL;
}

bool kvh_ops_dup(const struct kv_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (kvh_op_writes(&ops[i]) && kvh_op_writes(&ops[j]) &&
			    strcmp(ops[i].key, ops[j].key) == 0)
				return true;
	return false;
}

static int kvh_op_check(const struct kvh_backend *b, const struct kv_op *op)
{
	char *full = NULL;
	int ret;

	if ((unsigned int)op->type > KV_OP_CHECK || (unsigned int)op->cmp > KV_CMP_PRESENT)
		return -EINVAL;
	if (op->type == KV_OP_CHECK && op->cmp == KV_CMP_NONE)
		return -EINVAL;
	if (op->type == KV_OP_PUT && !op->value && op->len)
		return -EINVAL;
	ret = kvh_key_full(b->prefix, op->key, false, &full);
	free(full);
	return ret;
}

int kvh_backend_txn_check(struct kvh_backend *b, const struct kv_op *ops, size_t n,
			  kv_cb cb)
{
	if (!ops || n == 0 || n > KV_TXN_MAX || !cb)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int ret = kvh_op_check(b, &ops[i]);

		if (ret < 0)
			return ret;
	}
	if (kvh_ops_dup(ops, n))
		return -EINVAL;
	return b->closing ? -ESHUTDOWN : 0;
}

int kvh_backend_read_key(struct kvh_backend *b, const char *key, bool as_prefix, kv_cb cb,
			 char **full)
{
	if (!cb)
		return -EINVAL;
	if (b->closing)
		return -ESHUTDOWN;
	return kvh_key_full(b->prefix, key, as_prefix, full);
}

void kvh_backend_headers(const struct kvh_backend *b, const char *hdrs[3])
{
	hdrs[0] = "Content-Type: application/json";
	hdrs[1] = b->token_hdr;
	hdrs[2] = NULL;
}

static bool kvh_unreachable(const struct kvh_resp *resp)
{
	return resp->status == -ECONNREFUSED || resp->status == -ETIMEDOUT;
}

void kvh_backend_ep_failed(struct kvh_backend *b, size_t ep)
{
	if (b->cur == ep)
		b->cur = (b->cur + 1) % b->n_eps;
}

bool kvh_backend_failover(struct kvh_backend *b, const struct kvh_resp *resp, size_t ep,
			  size_t *tries, bool idempotent)
{
	if (b->closing || !kvh_unreachable(resp))
		return false;
	/* Sent: a write may have been applied, so only a read goes again. */
	if (resp->sent && !idempotent)
		return false;
	kvh_backend_ep_failed(b, ep);
	return ++*tries < b->n_eps;
}

/* ---- backend lifecycle ---- */

static void kvh_backend_free(struct kvh_backend *b)
{
	if (b->ops->destroy)
		b->ops->destroy(b);
	kvh_endpoints_free(b->eps, b->n_eps);
	free(b->prefix);
	free(b->token_hdr);
	free(b);
}

static void kvh_backend_maybe_free(struct kvh_backend *b)
{
	void (*cb)(void *arg) = b->close_cb;
	void *arg = b->close_arg;

	if (b->handles > 0)
		return;
	kvh_backend_free(b);
	if (cb)
		cb(arg);
}

static void kvh_backend_http_closed(void *arg)
{
	struct kvh_backend *b = arg;

	if (b->ops->http_closed)
		b->ops->http_closed(b);
	b->handles--;
	kvh_backend_maybe_free(b);
}

void kvh_backend_close(struct kv *kv, void (*cb)(void *arg), void *arg)
{
	struct kvh_backend *b = (struct kvh_backend *)kv;

	if (b->closing)
		return;		/* a second close is a caller bug: keep the first */
	b->closing = true;
	b->close_cb = cb;
	b->close_arg = arg;
	while (b->watches)
		kvh_watch_kill(b, b->watches);
	kvh_close(b->http, kvh_backend_http_closed, b);
}

static int kvh_backend_config(struct kvh_backend *b, const struct kv_config *cfg,
			      struct ovn_err *err)
{
	const struct kvh_tls tls = { cfg->tls.ca, cfg->tls.cert, cfg->tls.key };
	double timeout = cfg->timeout > 0 ? cfg->timeout : KVH_TIMEOUT_MS / 1000.0;
	const char *what = b->base.ops->name;
	int ret;

	ret = kvh_endpoints_dup(what, cfg->endpoints, cfg->n_endpoints, &b->eps, err);
	if (ret < 0)
		return ret;
	b->n_eps = cfg->n_endpoints;
	b->prefix = strdup(cfg->prefix ? cfg->prefix : "");
	if (!b->prefix)
		return ovn_err_set(err, -ENOMEM, "%s: out of memory", what);
	b->plen = strlen(b->prefix);
	if (b->plen > KVH_KEY_MAX / 2)
		return ovn_err_set(err, -ENAMETOOLONG, "store.prefix: too long");
	/* Each endpoint gets a share of the timeout to connect, so a silent
	 * host does not eat the whole request's time. */
	b->timeout_ms = (long)(timeout * 1000);
	b->connect_ms = b->n_eps > 1 ? b->timeout_ms / (long)b->n_eps : b->timeout_ms;
	if (b->connect_ms < KVH_CONNECT_MIN_MS)
		b->connect_ms = KVH_CONNECT_MIN_MS;
	if (cfg->password_file) {
		ret = b->ops->load_secret(b, cfg->password_file, err);
		if (ret < 0)
			return ret;
	}
	return kvh_new(&b->http, b->loop, &tls, err);
}

int kvh_backend_open(struct kvh_backend **out, size_t size, const struct kv_ops *kv_ops,
		     const struct kvh_backend_ops *ops, uv_loop_t *loop,
		     const struct kv_config *cfg, struct ovn_err *err)
{
	struct kvh_backend *b = calloc(1, size);
	int ret;

	if (!b)
		return ovn_err_set(err, -ENOMEM, "%s: out of memory", kv_ops->name);
	b->base.ops = kv_ops;
	b->ops = ops;
	b->loop = loop;
	ret = kvh_backend_config(b, cfg, err);
	if (ret < 0) {
		kvh_backend_free(b);
		return ret;
	}
	b->handles = 1;
	*out = b;
	return 0;
}

/* ---- backend watches ---- */

static void kvh_watch_timer_cb(uv_timer_t *t)
{
	struct kvh_watch *w = t->data;

	w->b->ops->watch_connect(w);
}

int kvh_watch_check(const struct kvh_backend *b, kv_watch_cb cb, struct kv_watch **out)
{
	if (!cb || !out)
		return -EINVAL;
	return b->closing ? -ESHUTDOWN : 0;
}

void kvh_watch_add(struct kvh_backend *b, struct kvh_watch *w, kv_watch_cb cb, void *arg,
		   struct kv_watch **out)
{
	w->b = b;
	w->cb = cb;
	w->arg = arg;
	w->backoff_ms = KVH_BACKOFF_MIN_MS;
	uv_timer_init(b->loop, &w->timer);
	w->timer.data = w;
	b->handles++;
	w->next = b->watches;
	if (b->watches)
		b->watches->prev = w;
	b->watches = w;
	/* Connect from the loop, like every other callback path. */
	kvh_watch_retry(w, 0);
	*out = (struct kv_watch *)w;
}

static void kvh_watch_closed(uv_handle_t *h)
{
	struct kvh_watch *w = h->data;
	struct kvh_backend *b = w->b;

	b->ops->watch_free(w);
	free(w);
	b->handles--;
	kvh_backend_maybe_free(b);
}

void kvh_watch_kill(struct kvh_backend *b, struct kvh_watch *w)
{
	if (w->dead)
		return;
	w->dead = true;
	if (w->prev)
		w->prev->next = w->next;
	else
		b->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	if (w->req)
		kvh_cancel(b->http, w->req);
	w->req = NULL;
	uv_close((uv_handle_t *)&w->timer, kvh_watch_closed);
}

void kvh_unwatch(struct kv *kv, struct kv_watch *w)
{
	if (w)
		kvh_watch_kill((struct kvh_backend *)kv, (struct kvh_watch *)w);
}

void kvh_watch_retry(struct kvh_watch *w, unsigned int delay_ms)
{
	uv_timer_start(&w->timer, kvh_watch_timer_cb, delay_ms, 0);
}

unsigned int kvh_watch_next_delay(struct kvh_watch *w)
{
	unsigned int delay = w->backoff_ms;

	w->backoff_ms = w->backoff_ms * 2 > KVH_BACKOFF_MAX_MS ? KVH_BACKOFF_MAX_MS
							       : w->backoff_ms * 2;
	return delay;
}

void kvh_watch_failed(struct kvh_watch *w, const struct kvh_resp *resp)
{
	if (kvh_unreachable(resp) && !resp->sent)
		kvh_backend_ep_failed(w->b, w->ep);
}
