/* dump.c: the ovn links that exist (vx-*, br-*, ve-*), for reconciliation.
 *
 * The whole dump is read (consistently: retried if the kernel flags it
 * interrupted) before the first callback, so a callback may delete links
 * without disturbing the walk. A name with our prefix but another kind, or a
 * vx-/br- name that is not a decimal VNI (Docker's own bridges are called
 * br-<hex id>), is not ours and is not reported. A ve- link reports the VNI
 * of the br-<vni> it is enslaved to (0 when none).
 *
 * Does not: report addresses or FDB entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "util.h"

static const struct {
	const char *prefix;
	const char *kind;
	enum dp_link_kind type;
} link_kinds[] = {
	{ "vx-", "vxlan", DP_LINK_VXLAN },
	{ "br-", "bridge", DP_LINK_BRIDGE },
	{ "ve-", "veth", DP_LINK_VETH },
};

/* Decimal VNI, no sign, no leading zero, in range. */
static bool vni_parse(const char *s, uint32_t *vni)
{
	uint32_t v = 0;

	if (*s < '1' || *s > '9')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint32_t)(*s - '0');
		if (v > DP_VNI_MAX)
			return false;
	}
	*vni = v;
	return true;
}

/* Fill out from l; false when l is not an ovn link. */
static bool link_classify(const struct dp_lnk *l, struct dp_link *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(link_kinds); i++) {
		size_t plen = strlen(link_kinds[i].prefix);

		if (strncmp(l->name, link_kinds[i].prefix, plen) || strcmp(l->kind, link_kinds[i].kind))
			continue;
		memset(out, 0, sizeof(*out));
		out->kind = link_kinds[i].type;
		if (out->kind != DP_LINK_VETH && !vni_parse(l->name + plen, &out->vni))
			return false;
		ovn_strlcpy(out->name, l->name, sizeof(out->name));
		out->ifindex = l->ifindex;
		out->master = l->master;
		return true;
	}
	return false;
}

static uint32_t bridge_vni(const struct dp_link *v, int n, int ifindex)
{
	for (int i = 0; i < n; i++) {
		if (v[i].kind == DP_LINK_BRIDGE && v[i].ifindex == ifindex)
			return v[i].vni;
	}
	return 0;
}

int dp_link_dump(struct dp *dp, int (*fn)(const struct dp_link *l, void *arg), void *arg,
		 struct ovn_err *err)
{
	struct dp_link *ours = NULL;
	struct dp_lnk *links = NULL;
	int n = 0, nours = 0, ret;

	ret = lnk_dump(&dp->sk, &links, &n, err);
	if (ret)
		goto out;
	ret = -ENOMEM;
	ours = calloc(n ? n : 1, sizeof(*ours));
	if (!ours) {
		ovn_err_set(err, ret, "link dump: out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (link_classify(&links[i], &ours[nours]))
			nours++;
	}
	for (int i = 0; i < nours; i++) {
		if (ours[i].kind == DP_LINK_VETH && ours[i].master)
			ours[i].vni = bridge_vni(ours, nours, ours[i].master);
	}
	ret = 0;
	for (int i = 0; i < nours && !ret; i++)
		ret = fn(&ours[i], arg);
out:
	free(ours);
	free(links);
	return ret;
}
