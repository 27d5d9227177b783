/* kv_etcd_wire.c: JSON bodies for etcd's v3 gateway (grpc-gateway) and the
 * parsers of its answers. Pure: no I/O, no loop; unit-tested on vectors.
 *
 * Format notes (etcd 3.4, checked against a live server): fields use the
 * proto names (create_revision, range_end); int64 values are JSON strings;
 * proto3 leaves out zero values, so a missing "succeeded" means false, a
 * missing "value" an empty value and a missing event "type" a PUT. The
 * watch stream is one {"result": {...}} object per line; a compacted start
 * revision gives {"canceled": true, "compact_revision": "N"} with no
 * header revision.
 *
 * Does not: the v3alpha/v3beta paths of older servers, leases, sorting
 * options (range answers come in key order already).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kv_etcd_int.h"

/* ---- small JSON helpers ---- */

static uint64_t js_u64(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	if (json_is_integer(v) && json_integer_value(v) > 0)
		return json_integer_value(v);
	return 0;
}

/* Adds a base64 string or an int64 as etcd writes them; false on failure
 * (ENOMEM), which the builders collect and check once. */
static bool js_b64(json_t *o, const char *name, const char *data, size_t len)
{
	char *b = kvh_b64_enc_dup(data, len);
	bool ok = b && json_object_set_new(o, name, json_string(b)) == 0;

	free(b);
	return ok;
}

static bool js_u64_set(json_t *o, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_object_set_new(o, name, json_string(buf)) == 0;
}

static bool js_str(json_t *o, const char *name, const char *s)
{
	return json_object_set_new(o, name, json_string(s)) == 0;
}

/* Dump and free root; NULL when building failed. */
static char *js_finish(json_t *root, bool ok)
{
	char *out = ok && root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	return out;
}

static json_t *js_load(const char *body, size_t len, char *msg)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);

	if (!root)
		snprintf(msg, ETCD_MSG_LEN, "bad JSON from etcd: %s", jerr.text);
	else if (!json_is_object(root)) {
		snprintf(msg, ETCD_MSG_LEN, "bad JSON from etcd: not an object");
		json_decref(root);
		root = NULL;
	}
	return root;
}

/* Base64 field name of o, decoded; "" when absent (proto3 zero value). */
static char *js_b64_get(const json_t *o, const char *name, size_t *len)
{
	const json_t *v = json_object_get(o, name);

	if (!v) {
		*len = 0;
		return strdup("");
	}
	if (!json_is_string(v))
		return NULL;
	return kvh_b64_dec_dup(json_string_value(v), json_string_length(v), len);
}

/* ---- builders ---- */

size_t etcd_range_end(const char *prefix, size_t len, char *out)
{
	memcpy(out, prefix, len);
	while (len > 0) {
		if ((unsigned char)out[len - 1] != 0xff) {
			out[len - 1]++;
			return len;
		}
		len--;
	}
	out[0] = '\0';
	return 1;
}

static bool etcd_key_range(json_t *o, const char *full, bool as_prefix)
{
	size_t len = strlen(full);
	char *end;
	bool ok;

	if (!js_b64(o, "key", full, len))
		return false;
	if (!as_prefix)
		return true;
	end = malloc(len + 1);
	if (!end)
		return false;
	len = etcd_range_end(full, len, end);
	ok = js_b64(o, "range_end", end, len);
	free(end);
	return ok;
}

char *etcd_range_body(const char *full, bool as_prefix)
{
	json_t *root = json_object();

	return js_finish(root, root && etcd_key_range(root, full, as_prefix));
}

static json_t *etcd_compare(const char *full, const struct kv_op *op)
{
	json_t *c = json_object();
	bool ok = c && js_b64(c, "key", full, strlen(full));

	switch (op->cmp) {
	case KV_CMP_ABSENT:
		ok = ok && js_str(c, "target", "CREATE") && js_str(c, "result", "EQUAL") &&
		     js_u64_set(c, "create_revision", 0);
		break;
	case KV_CMP_REV:
		ok = ok && js_str(c, "target", "MOD") && js_str(c, "result", "EQUAL") &&
		     js_u64_set(c, "mod_revision", op->rev);
		break;
	case KV_CMP_PRESENT:
		ok = ok && js_str(c, "target", "CREATE") && js_str(c, "result", "GREATER") &&
		     js_u64_set(c, "create_revision", 0);
		break;
	default:
		ok = false;
	}
	if (!ok) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static json_t *etcd_request(const char *full, const struct kv_op *op)
{
	json_t *wrap = json_object(), *r = json_object();
	bool ok = wrap && r && js_b64(r, "key", full, strlen(full));

	if (op->type == KV_OP_PUT)
		ok = ok && js_b64(r, "value", op->value ? op->value : "", op->len) &&
		     json_object_set(wrap, "request_put", r) == 0;
	else
		ok = ok && json_object_set(wrap, "request_delete_range", r) == 0;
	json_decref(r);
	if (!ok) {
		json_decref(wrap);
		return NULL;
	}
	return wrap;
}

char *etcd_txn_body(const char *store_prefix, const struct kv_op *ops, size_t n)
{
	json_t *root = json_object(), *cmp = json_array(), *succ = json_array();
	bool ok = root && cmp && succ;

	for (size_t i = 0; i < n && ok; i++) {
		char *full = NULL;

		if (kvh_key_full(store_prefix, ops[i].key, false, &full) < 0) {
			ok = false;
			break;
		}
		if (ops[i].cmp != KV_CMP_NONE)
			ok = json_array_append_new(cmp, etcd_compare(full, &ops[i])) == 0;
		if (ok && ops[i].type != KV_OP_CHECK)
			ok = json_array_append_new(succ, etcd_request(full, &ops[i])) == 0;
		free(full);
	}
	ok = ok && json_object_set(root, "compare", cmp) == 0 &&
	     json_object_set(root, "success", succ) == 0;
	json_decref(cmp);
	json_decref(succ);
	return js_finish(root, ok);
}

char *etcd_watch_body(const char *full_prefix, uint64_t start_rev)
{
	json_t *root = json_object(), *c = json_object();
	bool ok = root && c && etcd_key_range(c, full_prefix, true);

	if (start_rev)
		ok = ok && js_u64_set(c, "start_revision", start_rev);
	ok = ok && json_object_set(root, "create_request", c) == 0;
	json_decref(c);
	return js_finish(root, ok);
}

char *etcd_auth_body(const char *user, const char *password)
{
	json_t *root = json_object();

	return js_finish(root, root && js_str(root, "name", user) &&
			 js_str(root, "password", password));
}

/* ---- parsers ---- */

static uint64_t etcd_header_rev(const json_t *root)
{
	return js_u64(json_object_get(root, "header"), "revision");
}

/* Decode one mvccpb.KeyValue into rows; del: keep no value. */
static int etcd_kv_push(const json_t *kv, size_t skip, bool del, struct kvh_rows *rows,
			char *msg)
{
	size_t klen, vlen = 0;
	char *key = js_b64_get(kv, "key", &klen), *val = NULL;

	if (!del)
		val = js_b64_get(kv, "value", &vlen);
	if (!key || (!del && !val) || klen < skip || strlen(key) != klen) {
		free(key);
		free(val);
		snprintf(msg, ETCD_MSG_LEN, "bad key or value from etcd");
		return -EIO;
	}
	if (kvh_rows_push(rows, key, skip, val, vlen, js_u64(kv, "mod_revision")) < 0) {
		snprintf(msg, ETCD_MSG_LEN, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int etcd_parse_range(const char *body, size_t len, size_t skip, uint64_t *rev,
		     struct kvh_rows *rows, char *msg)
{
	json_t *root = js_load(body, len, msg);
	const json_t *kvs, *kv;
	size_t i;
	int ret = 0;

	if (!root)
		return -EIO;
	*rev = etcd_header_rev(root);
	kvs = json_object_get(root, "kvs");
	json_array_foreach(kvs, i, kv) {
		ret = etcd_kv_push(kv, skip, false, rows, msg);
		if (ret < 0)
			break;
	}
	json_decref(root);
	return ret;
}

int etcd_parse_txn(const char *body, size_t len, uint64_t *rev, bool *ok, char *msg)
{
	json_t *root = js_load(body, len, msg);

	if (!root)
		return -EIO;
	*rev = etcd_header_rev(root);
	*ok = json_is_true(json_object_get(root, "succeeded"));
	json_decref(root);
	return 0;
}

int etcd_parse_auth(const char *body, size_t len, char **token, char *msg)
{
	json_t *root = js_load(body, len, msg);
	const char *t;

	if (!root)
		return -EIO;
	t = json_string_value(json_object_get(root, "token"));
	*token = t && t[0] ? strdup(t) : NULL;
	if (!t || !t[0]) {
		json_decref(root);
		snprintf(msg, ETCD_MSG_LEN, "no token in the authenticate answer");
		return -EACCES;
	}
	json_decref(root);
	return *token ? 0 : -ENOMEM;
}

/* gRPC status codes (google.golang.org/grpc/codes) as errno. */
static int etcd_grpc_errno(long code)
{
	switch (code) {
	case 3:		/* InvalidArgument: duplicate key, request too large */
		return -EINVAL;
	case 4:		/* DeadlineExceeded */
		return -ETIMEDOUT;
	case 7:		/* PermissionDenied */
	case 16:	/* Unauthenticated: bad or expired token */
		return -EACCES;
	case 8:		/* ResourceExhausted: database space exceeded */
		return -ENOSPC;
	default:	/* Unavailable (no leader), Internal, ... */
		return -EIO;
	}
}

/* {"error": "...", "message": "...", "code": N} (unary) or
 * {"grpc_code": N, "message": "..."} (inside a stream's "error"). */
static int etcd_error_obj(const json_t *o, char *msg)
{
	const char *m = json_string_value(json_object_get(o, "message"));
	const json_t *c = json_object_get(o, "code");

	if (!c)
		c = json_object_get(o, "grpc_code");
	if (!m)
		m = json_string_value(json_object_get(o, "error"));
	snprintf(msg, ETCD_MSG_LEN, "%s", m ? m : "unknown error");
	/* etcd reports these two as InvalidArgument; they are auth failures. */
	if (m && (strstr(m, "user name is empty") || strstr(m, "authentication failed")))
		return -EACCES;
	return etcd_grpc_errno(json_integer_value(c));
}

int etcd_parse_error(const char *body, size_t len, long http_code, char *msg)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);
	int ret;

	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(msg, ETCD_MSG_LEN, "HTTP %ld: %.*s", http_code,
			 (int)(len > 120 ? 120 : len), body);
		return http_code == 401 || http_code == 403 ? -EACCES : -EIO;
	}
	ret = etcd_error_obj(root, msg);
	if (http_code == 401)
		ret = -EACCES;
	json_decref(root);
	return ret;
}

static int etcd_events_push(const json_t *events, size_t skip, struct kvh_rows *rows,
			    char *msg)
{
	const json_t *e;
	size_t i;

	json_array_foreach(events, i, e) {
		const char *type = json_string_value(json_object_get(e, "type"));
		bool del = type && strcmp(type, "DELETE") == 0;
		int ret = etcd_kv_push(json_object_get(e, "kv"), skip, del, rows, msg);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int etcd_parse_watch(const char *line, size_t len, size_t skip, struct etcd_wresp *out,
		     char *msg)
{
	json_t *root = js_load(line, len, msg), *res, *err;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -EIO;
	err = json_object_get(root, "error");
	res = json_object_get(root, "result");
	if (err) {
		out->error = true;
		out->err = json_is_object(err) ? etcd_error_obj(err, msg) : -EIO;
		if (!json_is_object(err))
			snprintf(msg, ETCD_MSG_LEN, "watch stream error");
	} else if (json_is_object(res)) {
		out->created = json_is_true(json_object_get(res, "created"));
		out->canceled = json_is_true(json_object_get(res, "canceled"));
		out->rev = etcd_header_rev(res);
		out->compact_rev = js_u64(res, "compact_revision");
		ret = etcd_events_push(json_object_get(res, "events"), skip, &out->ev, msg);
	} else {
		snprintf(msg, ETCD_MSG_LEN, "watch answer without result");
		ret = -EIO;
	}
	json_decref(root);
	if (ret < 0)
		etcd_wresp_free(out);
	return ret;
}

void etcd_wresp_free(struct etcd_wresp *w)
{
	kvh_rows_free(&w->ev);
}
