/* dp.c: the dataplane handle (one netlink socket in the namespace it was
 * opened in) and small helpers shared by the other files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"

int dp_open(struct dp **out, struct ovn_err *err)
{
	struct dp *dp;
	int ret;

	*out = NULL;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return ovn_err_set(err, -ENOMEM, "dataplane: out of memory");
	ret = nl_open(&dp->sk, err);
	if (ret) {
		free(dp);
		return ret;
	}
	/* A kernel without CONFIG_XFRM_USER has no NETLINK_XFRM: every other
	 * call still works, the xfrm calls say why they cannot. */
	dp->xs_err = nl_open_proto(&dp->xs, NETLINK_XFRM, NULL);
	*out = dp;
	return 0;
}

void dp_close(struct dp *dp)
{
	if (!dp)
		return;
	nl_close(&dp->sk);
	if (dp->xs.mnl)
		nl_close(&dp->xs);
	free(dp);
}

int dp_grow(void **v, int n, int *cap, size_t size)
{
	int ncap = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return 0;
	nv = reallocarray(*v, ncap, size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

void dp_vx_name(char name[IF_NAMESIZE], uint32_t vni)
{
	snprintf(name, IF_NAMESIZE, "vx-%u", vni);
}

void dp_br_name(char name[IF_NAMESIZE], uint32_t vni)
{
	snprintf(name, IF_NAMESIZE, "br-%u", vni);
}

bool dp_vni_valid(uint32_t vni)
{
	return vni >= 1 && vni <= DP_VNI_MAX;
}

void dp_put_ip(struct nl_batch *b, uint16_t type, const struct ovn_ip *ip)
{
	nl_put(b, type, ovn_ip_bytes(ip), ip->b);
}

void dp_err_prefix(struct ovn_err *err, bool fresh, const char *fmt, ...)
{
	char old[OVN_ERR_LEN];
	size_t n, k;
	va_list ap;

	if (!err || !fresh || !err->code)
		return;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg) / 2, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	memcpy(err->msg + n, ": ", 3);
	n += 2;
	/* the old text, cut to what is left */
	k = strnlen(old, sizeof(err->msg) - 1 - n);
	memcpy(err->msg + n, old, k);
	err->msg[n + k] = '\0';
}
