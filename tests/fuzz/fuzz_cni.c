/* fuzz_cni.c: libFuzzer target for ovn-cni's decoders (cni/cni.c): the
 * network configuration on stdin (with runtimeConfig and prevResult), the
 * CNI_* environment, CNI_ARGS, prevResult's ips[], and building the ADD
 * result from the agent's JSON answers. The runtime (podman, containerd,
 * kubelet) feeds these; a pod spec reaches CNI_ARGS and runtimeConfig.
 *
 * Input: one selector byte, then the payload: conf bytes; CNI_ARGS text;
 * environment as NUL-separated NAME=VALUE strings; or two JSON documents
 * separated by a NUL byte (prevResult + ifname, or network + endpoint). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

struct envbuf {
	const char *s;
	size_t len;
};

/* getenv over "NAME=VALUE\0NAME=VALUE..." */
static const char *env_get(const char *name, void *arg)
{
	const struct envbuf *e = arg;
	size_t nl = strlen(name), off = 0, l;

	while (off < e->len) {
		l = strnlen(e->s + off, e->len - off);
		if (off + l < e->len && l > nl && !memcmp(e->s + off, name, nl) &&
		    e->s[off + nl] == '=')
			return e->s + off + nl + 1;
		off += l + 1;
	}
	return NULL;
}

static void conf(const uint8_t *d, size_t n)
{
	struct cni_err err = { 0 };
	struct cni_conf c;

	if (cni_conf_parse(&c, (const char *)d, n, &err) == 0)
		cni_conf_free(&c);
	else if (!err.code)
		abort();	/* a refusal carries its CNI error code */
}

static void args(const uint8_t *d, size_t n)
{
	struct cni_err err = { 0 };
	struct cni_env env = { 0 };
	char *s = strndup((const char *)d, n);

	if (s)
		cni_args_parse(&env, s, &err);
	free(s);
}

static void env(const uint8_t *d, size_t n)
{
	/* A copy ending in NUL, so the last value is a C string too. */
	char *s = malloc(n + 1);
	struct envbuf e = { s, n + 1 };
	struct cni_err err = { 0 };
	struct cni_env ce;

	if (!s)
		return;
	memcpy(s, d, n);
	s[n] = '\0';
	if (cni_env_parse(&ce, env_get, &e, &err) == 0) {
		char owner[256];

		cni_owner(owner, sizeof(owner), &ce);
	}
	free(s);
}

/* Two JSON documents split at the first NUL. */
static void two_docs(const uint8_t *d, size_t n, bool result)
{
	const uint8_t *z = memchr(d, '\0', n);
	struct ovn_prefix out[8];
	struct cni_err err = { 0 };
	json_t *a, *b = NULL, *r;
	int cnt = 8;

	if (!z)
		return;
	a = json_loadb((const char *)d, z - d, 0, NULL);
	if (!a)
		return;
	if (!result) {
		/* Second part: the interface name. */
		char ifname[16] = "";

		snprintf(ifname, sizeof(ifname), "%.*s", (int)(n - (z - d) - 1), z + 1);
		cni_prev_addrs(a, ifname, out, &cnt, &err);
		if (cnt < 0 || cnt > 8)
			abort();
	} else if ((b = json_loadb((const char *)z + 1, n - (z - d) - 1, 0, NULL))) {
		static const char *const vers[] = { "1.0.0", "0.4.0", "0.3.1" };

		r = cni_result_build(vers[n % 3], a, b, n & 1 ? "198.19.0.1" : NULL, &err);
		json_decref(r);
	}
	json_decref(b);
	json_decref(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0: conf(data + 1, size - 1); break;
	case 1: args(data + 1, size - 1); break;
	case 2: env(data + 1, size - 1); break;
	case 3: two_docs(data + 1, size - 1, false); break;
	case 4: two_docs(data + 1, size - 1, true); break;
	}
	return 0;
}
