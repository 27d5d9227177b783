/* kv_consul_wire.c: bodies for Consul's /v1/txn, parsers of /v1/kv and
 * /v1/txn answers, key paths, and the snapshot diff behind watches. Pure:
 * no I/O, no loop; unit-tested on vectors without a Consul server.
 *
 * Spec: Consul HTTP API, "KV Store" and "Transactions". Verbs used:
 * check-not-exists (ABSENT), check-index with Index (REV), get (PRESENT:
 * "fails the transaction if the key doesn't exist"), set, delete. A
 * rolled-back transaction is HTTP 409 with {"Errors": [{OpIndex, What}]}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kv_consul_int.h"

char *consul_kv_path(const char *full)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)full;
	char *out, *p;

	if (*s == '/')
		s++;
	out = malloc(strlen((const char *)s) * 3 + 1);
	if (!out)
		return NULL;
	for (p = out; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~/", *s)) {
			*p++ = *s;
			continue;
		}
		*p++ = '%';
		*p++ = hex[*s >> 4];
		*p++ = hex[*s & 15];
	}
	*p = '\0';
	return out;
}

/* {"KV": {"Verb": verb, "Key": key[, "Index": n][, "Value": b64]}} */
static json_t *consul_kv_op(const char *verb, const char *ckey, const struct kv_op *op)
{
	json_t *kv = json_object(), *wrap = json_object();
	bool ok = kv && wrap && json_object_set_new(kv, "Verb", json_string(verb)) == 0 &&
		  json_object_set_new(kv, "Key", json_string(ckey)) == 0;

	if (ok && op && op->cmp == KV_CMP_REV && strcmp(verb, "check-index") == 0)
		ok = json_object_set_new(kv, "Index", json_integer((json_int_t)op->rev)) == 0;
	if (ok && op && strcmp(verb, "set") == 0) {
		char *b = kvh_b64_enc_dup(op->value ? op->value : "", op->len);

		ok = b && json_object_set_new(kv, "Value", json_string(b)) == 0;
		free(b);
	}
	ok = ok && json_object_set(wrap, "KV", kv) == 0;
	json_decref(kv);
	if (!ok) {
		json_decref(wrap);
		return NULL;
	}
	return wrap;
}

static const char *const consul_cmp_verb[] = {
	[KV_CMP_ABSENT] = "check-not-exists",
	[KV_CMP_REV] = "check-index",
	[KV_CMP_PRESENT] = "get",
};

/* Append op's compare (pass 0) or write (pass 1), if it has one. */
static bool consul_txn_add(json_t *arr, const char *pfx, const struct kv_op *op, int pass)
{
	const char *verb = NULL;
	char *full = NULL;
	bool ok;

	if (pass == 0 && op->cmp != KV_CMP_NONE)
		verb = consul_cmp_verb[op->cmp];
	else if (pass == 1 && op->type != KV_OP_CHECK)
		verb = op->type == KV_OP_PUT ? "set" : "delete";
	if (!verb)
		return true;
	if (kvh_key_full(pfx, op->key, false, &full) < 0)
		return false;
	/* JSON strings must be UTF-8; jansson refuses anything else. */
	ok = json_array_append_new(arr, consul_kv_op(verb, full + 1, op)) == 0;
	free(full);
	return ok;
}

char *consul_txn_body(const char *store_prefix, const struct kv_op *ops, size_t n)
{
	json_t *arr = json_array();
	bool ok = arr;
	char *out = NULL;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n && ok; i++)
			ok = consul_txn_add(arr, store_prefix, &ops[i], pass);
	if (ok)
		out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return out;
}

static uint64_t js_u64(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

/* One {Key, Value, ModifyIndex} into rows, key as "/" + Key - skip. */
static int consul_kv_push(const json_t *o, size_t skip, struct kvh_rows *rows, char *msg)
{
	const char *k = json_string_value(json_object_get(o, "Key"));
	const json_t *v = json_object_get(o, "Value");
	char *key = NULL, *val = NULL;
	size_t vlen = 0;

	if (!k || (v && !json_is_null(v) && !json_is_string(v)))
		goto bad;
	if (asprintf(&key, "/%s", k) < 0)
		return -ENOMEM;
	if (strlen(key) < skip)
		goto bad;
	if (json_is_string(v))
		val = kvh_b64_dec_dup(json_string_value(v), json_string_length(v), &vlen);
	else
		val = strdup("");	/* null: an empty value */
	if (!val)
		goto bad;
	return kvh_rows_push(rows, key, skip, val, vlen, js_u64(o, "ModifyIndex"));
bad:
	free(key);
	snprintf(msg, CONSUL_MSG_LEN, "bad entry from consul");
	return -EIO;
}

int consul_parse_kvs(const char *body, size_t len, size_t skip, struct kvh_rows *rows,
		     char *msg)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);
	const json_t *o;
	size_t i;
	int ret = 0;

	if (!json_is_array(root)) {
		snprintf(msg, CONSUL_MSG_LEN, "bad JSON from consul: %s",
			 root ? "not an array" : jerr.text);
		json_decref(root);
		return -EIO;
	}
	json_array_foreach(root, i, o) {
		ret = consul_kv_push(o, skip, rows, msg);
		if (ret < 0)
			break;
	}
	json_decref(root);
	return ret;
}

static void consul_txn_errors(const json_t *root, char *msg)
{
	const json_t *e = json_array_get(json_object_get(root, "Errors"), 0);
	const char *what = json_string_value(json_object_get(e, "What"));

	if (what)
		snprintf(msg, CONSUL_MSG_LEN, "txn: op %lld: %s",
			 (long long)json_integer_value(json_object_get(e, "OpIndex")), what);
	else
		snprintf(msg, CONSUL_MSG_LEN, "txn: rolled back");
}

int consul_parse_txn(const char *body, size_t len, long code, uint64_t *index, char *msg)
{
	json_error_t jerr;
	json_t *root;
	const json_t *r;
	size_t i;

	*index = 0;
	if (code != 200 && code != 409) {
		snprintf(msg, CONSUL_MSG_LEN, "HTTP %ld: %.*s", code,
			 (int)(len > 160 ? 160 : len), body);
		return code == 403 ? -EACCES : -EIO;
	}
	root = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(root)) {
		snprintf(msg, CONSUL_MSG_LEN, "bad JSON from consul: %s",
			 root ? "not an object" : jerr.text);
		json_decref(root);
		return -EIO;
	}
	if (code == 409) {
		consul_txn_errors(root, msg);
		json_decref(root);
		return -ECANCELED;
	}
	json_array_foreach(json_object_get(root, "Results"), i, r) {
		uint64_t mi = js_u64(json_object_get(r, "KV"), "ModifyIndex");

		if (mi > *index)
			*index = mi;
	}
	json_decref(root);
	return 0;
}

/* ---- snapshot diff ---- */

static int consul_ev_cmp(const void *a, const void *b)
{
	const struct consul_ev *x = a, *y = b;

	if (x->rev != y->rev)
		return x->rev < y->rev ? -1 : 1;
	if (x->type != y->type)
		return x->type == KV_EV_DEL ? -1 : 1;
	return strcmp(x->e->key, y->e->key);
}

int consul_diff(const struct kvh_rows *old, const struct kvh_rows *cur, uint64_t index,
		struct consul_ev **out, size_t *n)
{
	struct consul_ev *ev;
	size_t i = 0, j = 0, k = 0;

	*out = NULL;
	*n = 0;
	if (old->n + cur->n == 0)
		return 0;
	ev = calloc(old->n + cur->n, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	while (i < old->n || j < cur->n) {
		int c = i == old->n ? 1 : j == cur->n ? -1
			: strcmp(old->v[i].key, cur->v[j].key);

		if (c < 0) {
			ev[k++] = (struct consul_ev){ KV_EV_DEL, &old->v[i++], index };
		} else if (c > 0) {
			ev[k] = (struct consul_ev){ KV_EV_PUT, &cur->v[j], cur->v[j].mod_rev };
			k++, j++;
		} else {
			if (old->v[i].mod_rev != cur->v[j].mod_rev)
				ev[k++] = (struct consul_ev){ KV_EV_PUT, &cur->v[j],
							      cur->v[j].mod_rev };
			i++, j++;
		}
	}
	if (k == 0) {
		free(ev);
		return 0;
	}
	qsort(ev, k, sizeof(*ev), consul_ev_cmp);
	*out = ev;
	*n = k;
	return 0;
}
