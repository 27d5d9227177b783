/* kv_emb_map.c: the embedded store's in-memory map, a sorted array of entry
 * pointers keyed by the full key (store prefix included).
 *
 * Does: lookup by binary search, ordered insert/replace/delete, and the byte
 * count that drives compaction. Does not: persistence, revisions or any
 * policy; callers reserve room first so that applying a committed
 * transaction can never fail half-way.
 *
 * TODO: a B-tree if stores grow to hundreds of thousands of keys, where the
 * O(n) memmove of an insert starts to show.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv_emb_int.h"

/* Per-entry overhead counted as the snapshot stores it (rev, klen, vlen). */
#define EMB_ENT_OVERHEAD 16

static size_t emb_ent_bytes(const struct emb_ent *e)
{
	return EMB_ENT_OVERHEAD + e->klen + e->vlen;
}

struct emb_ent *emb_ent_new(const char *key, size_t klen, const char *val, size_t vlen,
			    uint64_t rev)
{
	struct emb_ent *e;

	e = malloc(sizeof(*e) + klen + 1 + vlen + 1);
	if (!e)
		return NULL;
	e->mod_rev = rev;
	e->klen = klen;
	e->vlen = vlen;
	e->val = e->key + klen + 1;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	if (vlen)
		memcpy(e->val, val, vlen);
	e->val[vlen] = '\0';	/* a convenience, not part of the contract */
	return e;
}

/* Index of the first entry whose key is >= key. */
size_t emb_map_lower(const struct emb_map *m, const char *key)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(m->v[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct emb_ent *emb_map_get(const struct emb_map *m, const char *key)
{
	size_t i = emb_map_lower(m, key);

	if (i < m->n && strcmp(m->v[i]->key, key) == 0)
		return m->v[i];
	return NULL;
}

int emb_map_reserve(struct emb_map *m, size_t extra)
{
	struct emb_ent **v;
	size_t cap;

	if (m->n + extra <= m->cap)
		return 0;
	cap = m->cap ? m->cap * 2 : 64;
	if (cap < m->n + extra)
		cap = m->n + extra;
	v = realloc(m->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->v = v;
	m->cap = cap;
	return 0;
}

void emb_map_put(struct emb_map *m, struct emb_ent *e)
{
	size_t i = emb_map_lower(m, e->key);

	if (i < m->n && strcmp(m->v[i]->key, e->key) == 0) {
		m->bytes -= emb_ent_bytes(m->v[i]);
		free(m->v[i]);
	} else {
		memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
		m->n++;
	}
	m->v[i] = e;
	m->bytes += emb_ent_bytes(e);
}

bool emb_map_del(struct emb_map *m, const char *key)
{
	size_t i = emb_map_lower(m, key);

	if (i == m->n || strcmp(m->v[i]->key, key) != 0)
		return false;
	m->bytes -= emb_ent_bytes(m->v[i]);
	free(m->v[i]);
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
	m->n--;
	return true;
}

void emb_map_free(struct emb_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
