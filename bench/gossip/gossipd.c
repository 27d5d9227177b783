/* gossipd.c: one standalone gossip node for bench/gossip, the same core and
 * libuv transport the agent runs (gossip/gossip.h), with nothing else around
 * it, so the benchmark measures gossip alone next to a serf agent.
 *
 *	gossipd -n NAME -b ADDR[:PORT] [-j SEED[:PORT]]... [-k KEYFILE | -K HEX]
 *		[-c CTL_SOCKET] [-p ovn|lan] [-o KNOB=VALUE]...
 *	gossipd --baseline [-c CTL_SOCKET]
 *
 * Output (stdout, line-buffered): one line per membership change and per
 * user event, stamped with CLOCK_REALTIME in seconds.microseconds, the
 * format of bash's $EPOCHREALTIME so a runner can subtract its own stamps:
 *
 *	t=1700000000.123456 ev=ready name=h1 addr=198.18.0.1:7946
 *	t=... ev=join|update|fail|leave member=h2 addr=198.18.0.2:7946
 *	t=... ev=user name=NAME ltime=7 len=1     (an event from another node)
 *	t=... ev=sent name=NAME clock=8      (an event this node sent, stamped
 *					      when the send call started)
 *
 * Commands, one line per connection on the unix socket CTL_SOCKET (e.g.
 * `echo count | socat - UNIX-CONNECT:CTL_SOCKET`); the answer ends with the
 * connection:
 *
 *	ping			"ok"
 *	event NAME [PAYLOAD]	broadcast a user event; "ok" or "error: ..."
 *	count			"alive=A suspect=S dead=D left=L"
 *	members			one "name addr state incarnation" line each
 *	stats			gossip_stats() as key=value on one line
 *
 * Encryption is on whenever a key is given (-k or -K, 64 hex digits), so
 * the benchmark counts sealed packets, as the agent sends them. -p picks the
 * timing profile (ovn: gossip_config_ovn(), the default; lan: memberlist's
 * LAN defaults, serf's) and -o overrides one knob of it, so the benchmark can
 * show what each knob trades.
 *
 * --baseline runs the same binary without a node (event loop, signals and
 * the control socket only): its RSS is subtracted from a node's to give
 * gossip's own share of the memory.
 *
 * Does not: leave gracefully (SIGTERM closes at once; the benchmark wants
 * kill -9 semantics anyway), change keys at run time, or set tags.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sodium.h>
#include <uv.h>

#include "gossip.h"
#include "util.h"

#define GD_SEEDS_MAX	16
#define GD_LINE_MAX	1024	/* one control command */
#define GD_PORT		7946

struct gd {
	uv_loop_t *loop;
	struct gossip_uv *node;		/* NULL in --baseline */
	uv_pipe_t ctl;
	uv_signal_t sigterm, sigint;
	const char *ctl_path;
	bool ctl_open;
};

struct gd_conn {
	struct gd *d;
	uv_pipe_t pipe;
	uv_write_t write;
	char line[GD_LINE_MAX];
	size_t len;
	char *out;			/* answer, freed with the connection */
	size_t out_len;
	bool answered;
};

/* ---- output ---- */

static void gd_stamp_at(const struct timespec *ts)
{
	printf("t=%lld.%06ld ", (long long)ts->tv_sec, ts->tv_nsec / 1000);
}

static void gd_stamp(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	gd_stamp_at(&ts);
}

static const char *gd_addr_str(const struct gossip_addr *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->ip, ip, sizeof(ip));
	snprintf(buf, size, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	return buf;
}

static void gd_member_line(const char *ev, const struct gossip_member *m)
{
	char addr[INET6_ADDRSTRLEN + 8];

	gd_stamp();
	printf("ev=%s member=%s addr=%s\n", ev, m->name,
	       gd_addr_str(&m->addr, addr, sizeof(addr)));
}

static void gd_on_join(void *arg, const struct gossip_member *m)
{
	gd_member_line("join", m);
}

static void gd_on_leave(void *arg, const struct gossip_member *m)
{
	gd_member_line("leave", m);
}

static void gd_on_fail(void *arg, const struct gossip_member *m)
{
	gd_member_line("fail", m);
}

static void gd_on_update(void *arg, const struct gossip_member *m)
{
	gd_member_line("update", m);
}

static void gd_on_event(void *arg, const char *name, const void *payload, size_t len,
			uint64_t ltime)
{
	gd_stamp();
	printf("ev=user name=%s ltime=%llu len=%zu\n", name, (unsigned long long)ltime, len);
}

/* ---- control commands: each writes its answer to f ---- */

static const char *const gd_state_names[] = {
	[GOSSIP_ALIVE] = "alive",
	[GOSSIP_SUSPECT] = "suspect",
	[GOSSIP_DEAD] = "dead",
	[GOSSIP_LEFT] = "left",
};

static void gd_cmd_ping(struct gd *d, char *args, FILE *f)
{
	fputs("ok\n", f);
}

static void gd_cmd_event(struct gd *d, char *args, FILE *f)
{
	struct gossip *g = gossip_uv_core(d->node);
	char *name = strtok(args, " "), *payload = strtok(NULL, "");
	struct timespec t0;
	int r;

	if (!name) {
		fputs("error: usage: event NAME [PAYLOAD]\n", f);
		return;
	}
	payload = payload ? payload : "";
	/* Stamped before the call: eager events leave inside it. */
	clock_gettime(CLOCK_REALTIME, &t0);
	r = gossip_event_send(g, name, payload, strlen(payload));
	if (r < 0) {
		fprintf(f, "error: event %s: %s\n", name, strerror(-r));
		return;
	}
	gd_stamp_at(&t0);
	printf("ev=sent name=%s clock=%llu\n", name,
	       (unsigned long long)gossip_event_clock(g));
	fputs("ok\n", f);
}

static void gd_cmd_count(struct gd *d, char *args, FILE *f)
{
	struct gossip *g = gossip_uv_core(d->node);

	fprintf(f, "alive=%zu suspect=%zu dead=%zu left=%zu\n",
		gossip_member_count(g, 1u << GOSSIP_ALIVE),
		gossip_member_count(g, 1u << GOSSIP_SUSPECT),
		gossip_member_count(g, 1u << GOSSIP_DEAD),
		gossip_member_count(g, 1u << GOSSIP_LEFT));
}

static void gd_member_print(void *arg, const struct gossip_member *m)
{
	char addr[INET6_ADDRSTRLEN + 8];

	fprintf(arg, "%s %s %s %u\n", m->name, gd_addr_str(&m->addr, addr, sizeof(addr)),
		gd_state_names[m->state], m->incarnation);
}

static void gd_cmd_members(struct gd *d, char *args, FILE *f)
{
	gossip_members_foreach(gossip_uv_core(d->node), gd_member_print, f);
}

static void gd_cmd_stats(struct gd *d, char *args, FILE *f)
{
	struct gossip *g = gossip_uv_core(d->node);
	const struct gossip_stats *s = gossip_stats(g);

	fprintf(f, "pkts_out=%llu pkts_in=%llu bytes_out=%llu bytes_in=%llu "
		"streams_out=%llu streams_in=%llu auth_failures=%llu malformed=%llu "
		"probes=%llu probe_failures=%llu indirect_probes=%llu tcp_ping_rescues=%llu "
		"suspicions=%llu refutations=%llu declared_dead=%llu broadcasts_dropped=%llu "
		"events_in=%llu events_dup=%llu events_old=%llu pushpulls=%llu health=%u\n",
		(unsigned long long)s->pkts_out, (unsigned long long)s->pkts_in,
		(unsigned long long)s->bytes_out, (unsigned long long)s->bytes_in,
		(unsigned long long)s->streams_out, (unsigned long long)s->streams_in,
		(unsigned long long)s->auth_failures, (unsigned long long)s->malformed,
		(unsigned long long)s->probes, (unsigned long long)s->probe_failures,
		(unsigned long long)s->indirect_probes, (unsigned long long)s->tcp_ping_rescues,
		(unsigned long long)s->suspicions, (unsigned long long)s->refutations,
		(unsigned long long)s->declared_dead, (unsigned long long)s->broadcasts_dropped,
		(unsigned long long)s->events_in, (unsigned long long)s->events_dup,
		(unsigned long long)s->events_old, (unsigned long long)s->pushpulls,
		gossip_health(g));
}

static const struct gd_cmd {
	const char *name;
	void (*fn)(struct gd *d, char *args, FILE *f);
	bool needs_node;
} gd_cmds[] = {
	{ "ping", gd_cmd_ping, false },
	{ "event", gd_cmd_event, true },
	{ "count", gd_cmd_count, true },
	{ "members", gd_cmd_members, true },
	{ "stats", gd_cmd_stats, true },
};

static void gd_run_cmd(struct gd *d, char *line, FILE *f)
{
	char *verb = strtok(line, " \t"), *args = strtok(NULL, "");
	size_t i;

	for (i = 0; verb && i < ARRAY_SIZE(gd_cmds); i++) {
		if (strcmp(verb, gd_cmds[i].name))
			continue;
		if (gd_cmds[i].needs_node && !d->node)
			fprintf(f, "error: %s: no node in --baseline mode\n", verb);
		else
			gd_cmds[i].fn(d, args ? args : (char[]){ "" }, f);
		return;
	}
	fprintf(f, "error: unknown command '%s' (ping event count members stats)\n",
		verb ? verb : "");
}

/* ---- control socket ---- */

static void gd_conn_closed(uv_handle_t *h)
{
	struct gd_conn *c = h->data;

	free(c->out);
	free(c);
}

static void gd_conn_close(struct gd_conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, gd_conn_closed);
}

static void gd_written(uv_write_t *w, int status)
{
	gd_conn_close(w->data);
}

/* Run the command in c->line and send the answer; the write closes c. */
static void gd_answer(struct gd_conn *c)
{
	FILE *f = open_memstream(&c->out, &c->out_len);
	uv_buf_t buf;

	c->answered = true;
	if (!f) {
		gd_conn_close(c);
		return;
	}
	gd_run_cmd(c->d, c->line, f);
	fclose(f);
	buf = uv_buf_init(c->out, c->out_len);
	c->write.data = c;
	if (uv_write(&c->write, (uv_stream_t *)&c->pipe, &buf, 1, gd_written) < 0)
		gd_conn_close(c);
}

static void gd_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct gd_conn *c = h->data;

	*buf = uv_buf_init(c->line + c->len, sizeof(c->line) - 1 - c->len);
}

static void gd_conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct gd_conn *c = s->data;
	char *nl;

	if (c->answered)
		return;
	if (n < 0 && n != UV_EOF) {
		gd_conn_close(c);
		return;
	}
	if (n > 0)
		c->len += n;
	c->line[c->len] = '\0';
	nl = strchr(c->line, '\n');
	/* A line, its end of file, or a full buffer: answer what we have
	 * (an overlong command then fails as unknown, it is not cut short). */
	if (!nl && n != UV_EOF && c->len < sizeof(c->line) - 1)
		return;
	if (nl)
		*nl = '\0';
	uv_read_stop(s);
	gd_answer(c);
}

static void gd_ctl_accept(uv_stream_t *srv, int status)
{
	struct gd *d = srv->data;
	struct gd_conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->d = d;
	uv_pipe_init(d->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, gd_conn_alloc, gd_conn_read) < 0)
		gd_conn_close(c);
}

static int gd_ctl_open(struct gd *d)
{
	int r;

	uv_pipe_init(d->loop, &d->ctl, 0);
	d->ctl.data = d;
	d->ctl_open = true;
	/* A socket file left by a killed run would make bind fail. */
	unlink(d->ctl_path);
	r = uv_pipe_bind(&d->ctl, d->ctl_path);
	if (r < 0)
		return r;
	return uv_listen((uv_stream_t *)&d->ctl, 16, gd_ctl_accept);
}

/* ---- start and stop ---- */

/* Control connections still open when we stop: the only pipes besides the
 * listener. */
static void gd_close_conn(uv_handle_t *h, void *arg)
{
	struct gd *d = arg;

	if (h->type == UV_NAMED_PIPE && h != (uv_handle_t *)&d->ctl)
		gd_conn_close(h->data);
}

/* Close every handle; uv_run returns once their callbacks ran. */
static void gd_stop(uv_signal_t *s, int signum)
{
	struct gd *d = s->data;

	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	if (d->ctl_open) {
		uv_close((uv_handle_t *)&d->ctl, NULL);
		unlink(d->ctl_path);
	}
	if (d->node)
		gossip_uv_close(TAKE_PTR(d->node), NULL, NULL);
	uv_walk(d->loop, gd_close_conn, d);
}

/* "a.b.c.d[:port]" or "[v6][:port]" into *a. 0 or -EINVAL. */
static int gd_addr_parse(const char *s, struct gossip_addr *a)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	unsigned long p = GD_PORT;
	char *tail;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (*s == '[') {
		end = strchr(++s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		port = end[1] ? end + 2 : NULL;
		a->family = AF_INET6;
	} else {
		end = strchr(s, ':');
		port = end ? end + 1 : NULL;
		end = end ? end : s + strlen(s);
		a->family = AF_INET;
	}
	n = end - s;
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(a->family, host, a->ip) != 1)
		return -EINVAL;
	if (port) {
		errno = 0;
		p = strtoul(port, &tail, 10);
		if (errno || *tail || !*port || p > 65535)
			return -EINVAL;
	}
	a->port = p;
	return 0;
}

/* 64 hex digits (surrounding whitespace allowed) into key. 0 or -EINVAL. */
static int gd_key_parse(const char *hex, uint8_t key[GOSSIP_KEY_LEN])
{
	const char *end;
	size_t len;

	while (*hex == ' ' || *hex == '\t' || *hex == '\n')
		hex++;
	if (sodium_hex2bin(key, GOSSIP_KEY_LEN, hex, strlen(hex), NULL, &len, &end) ||
	    len != GOSSIP_KEY_LEN)
		return -EINVAL;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	return *end ? -EINVAL : 0;
}

static int gd_key_read(const char *path, uint8_t key[GOSSIP_KEY_LEN])
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;
	int r;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	r = gd_key_parse(buf, key);
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/* Knobs -o can set, by name: every timing and size of the profile. */
static const struct gd_knob {
	const char *name;
	size_t off;
	bool is_bool;
} gd_knobs[] = {
#define U32(f) { #f, offsetof(struct gossip_config, f), false }
#define BOOL(f) { #f, offsetof(struct gossip_config, f), true }
	U32(probe_interval_ms), U32(probe_timeout_ms), U32(indirect_checks),
	U32(retransmit_mult), U32(suspicion_mult), U32(suspicion_max_mult),
	U32(awareness_max), U32(gossip_interval_ms), U32(gossip_nodes),
	U32(gossip_to_dead_ms), U32(pushpull_interval_ms), U32(suspicion_pings),
	U32(packet_max), BOOL(tcp_ping), BOOL(eager_events),
#undef U32
#undef BOOL
};

static int gd_knob_set(struct gossip_config *cfg, const char *arg)
{
	const char *eq = strchr(arg, '=');
	unsigned long v;
	char *tail;
	size_t i;

	if (!eq)
		return -EINVAL;
	errno = 0;
	v = strtoul(eq + 1, &tail, 10);
	if (errno || *tail || !eq[1] || v > UINT32_MAX)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(gd_knobs); i++) {
		const struct gd_knob *k = &gd_knobs[i];

		if (strlen(k->name) != (size_t)(eq - arg) || strncmp(k->name, arg, eq - arg))
			continue;
		if (k->is_bool && v > 1)
			return -EINVAL;
		if (k->is_bool)
			*(bool *)((char *)cfg + k->off) = v;
		else
			*(uint32_t *)((char *)cfg + k->off) = v;
		return 0;
	}
	return -ENOENT;
}

static void gd_knobs_list(const char *arg)
{
	size_t i;

	fprintf(stderr, "gossipd: -o '%s': unknown knob; knobs:", arg);
	for (i = 0; i < ARRAY_SIZE(gd_knobs); i++)
		fprintf(stderr, " %s", gd_knobs[i].name);
	fputc('\n', stderr);
}

struct gd_opts {
	struct gossip_config cfg;
	struct gossip_addr seeds[GD_SEEDS_MAX];
	size_t n_seeds;
	uint8_t key[GOSSIP_KEY_LEN];
	bool keyed, baseline, have_name, have_bind, knobs_set;
	const char *ctl_path;
};

/* A profile replaces every knob but the name and address, so -o may only
 * follow it: "-o x=1 -p lan" would silently lose x. */
static int gd_profile(struct gd_opts *o, const char *arg)
{
	struct gossip_config keep = o->cfg;

	if (o->knobs_set || (strcmp(arg, "lan") && strcmp(arg, "ovn"))) {
		fprintf(stderr, "gossipd: -p wants ovn or lan, before any -o\n");
		return -EINVAL;
	}
	if (!strcmp(arg, "lan"))
		gossip_config_lan(&o->cfg);
	else
		gossip_config_ovn(&o->cfg);
	memcpy(o->cfg.name, keep.name, sizeof(keep.name));
	o->cfg.addr = keep.addr;
	return 0;
}

static void gd_usage(FILE *f)
{
	fputs("usage: gossipd -n NAME -b ADDR[:PORT] [-j SEED[:PORT]]... "
	      "[-k KEYFILE | -K HEX]\n"
	      "               [-c CTL_SOCKET] [-p ovn|lan] [-o KNOB=VALUE]...\n"
	      "       gossipd --baseline [-c CTL_SOCKET]\n", f);
}

/* One option into o. 0, or prints why and returns -EINVAL. */
static int gd_opt(struct gd_opts *o, int c, const char *arg)
{
	int r = 0;

	switch (c) {
	case 'n':
		r = strlen(arg) && strlen(arg) <= GOSSIP_NAME_MAX ? 0 : -EINVAL;
		ovn_strlcpy(o->cfg.name, arg, sizeof(o->cfg.name));
		o->have_name = true;
		break;
	case 'b':
		r = gd_addr_parse(arg, &o->cfg.addr);
		o->have_bind = true;
		break;
	case 'j':
		r = o->n_seeds < GD_SEEDS_MAX ? gd_addr_parse(arg, &o->seeds[o->n_seeds++]) : -E2BIG;
		break;
	case 'k':
		r = gd_key_read(arg, o->key);
		o->keyed = true;
		break;
	case 'K':
		r = gd_key_parse(arg, o->key);
		o->keyed = true;
		break;
	case 'p':
		r = gd_profile(o, arg);
		break;
	case 'o':
		r = gd_knob_set(&o->cfg, arg);
		o->knobs_set = true;
		if (r == -ENOENT)
			gd_knobs_list(arg);
		break;
	case 'c':
		o->ctl_path = arg;
		break;
	case 'B':
		o->baseline = true;
		break;
	default:
		r = -EINVAL;
	}
	/* -p and -o with an unknown knob said why already. */
	if (r < 0 && c != 'p' && r != -ENOENT)
		fprintf(stderr, "gossipd: -%c '%s': invalid value\n", c, arg ? arg : "");
	return r < 0 ? -EINVAL : 0;
}

static int gd_parse(struct gd_opts *o, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "baseline", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	gossip_config_ovn(&o->cfg);
	while ((c = getopt_long(argc, argv, "n:b:j:k:K:c:p:o:h", lopts, NULL)) != -1) {
		if (c == 'h') {
			gd_usage(stdout);
			exit(0);
		}
		if (gd_opt(o, c, optarg) < 0)
			return -EINVAL;
	}
	if (optind < argc || (!o->baseline && (!o->have_name || !o->have_bind))) {
		gd_usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int gd_node_start(struct gd *d, struct gd_opts *o)
{
	static const struct gossip_cb cb = {
		.on_member_join = gd_on_join,
		.on_member_leave = gd_on_leave,
		.on_member_fail = gd_on_fail,
		.on_member_update = gd_on_update,
		.on_event = gd_on_event,
	};
	char addr[INET6_ADDRSTRLEN + 8];
	struct gossip *g;
	int r;

	r = gossip_uv_new(d->loop, &o->cfg, &cb, &d->node);
	if (r < 0) {
		fprintf(stderr, "gossipd: start on %s: %s\n",
			gd_addr_str(&o->cfg.addr, addr, sizeof(addr)), strerror(-r));
		return r;
	}
	g = gossip_uv_core(d->node);
	if (o->keyed) {
		r = gossip_key_install(g, o->key);
		sodium_memzero(o->key, sizeof(o->key));
		if (r < 0) {
			fprintf(stderr, "gossipd: key: %s\n", strerror(-r));
			return r;
		}
	}
	if (o->n_seeds) {
		r = gossip_join(g, o->seeds, o->n_seeds);
		if (r < 0) {
			fprintf(stderr, "gossipd: join: %s\n", strerror(-r));
			return r;
		}
	}
	gd_stamp();
	printf("ev=ready name=%s addr=%s\n", o->cfg.name,
	       gd_addr_str(gossip_uv_addr(d->node), addr, sizeof(addr)));
	return 0;
}

int main(int argc, char **argv)
{
	struct gd_opts o = { 0 };
	struct gd d = { .loop = uv_default_loop() };
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	r = gd_parse(&o, argc, argv);
	if (r < 0)
		return 2;
	uv_signal_init(d.loop, &d.sigterm);
	uv_signal_init(d.loop, &d.sigint);
	d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sigterm, gd_stop, SIGTERM);
	uv_signal_start(&d.sigint, gd_stop, SIGINT);
	if (o.ctl_path) {
		d.ctl_path = o.ctl_path;
		r = gd_ctl_open(&d);
		if (r < 0) {
			fprintf(stderr, "gossipd: control socket %s: %s\n", o.ctl_path,
				uv_strerror(r));
			goto out;
		}
	}
	if (!o.baseline) {
		r = gd_node_start(&d, &o);
		if (r < 0)
			goto out;
	}
	uv_run(d.loop, UV_RUN_DEFAULT);
out:
	/* On an error path: close everything and let the callbacks run. */
	if (!uv_is_closing((uv_handle_t *)&d.sigterm)) {
		gd_stop(&d.sigterm, SIGTERM);
		uv_run(d.loop, UV_RUN_DEFAULT);
	}
	uv_loop_close(d.loop);
	return r < 0 ? 1 : 0;
}
