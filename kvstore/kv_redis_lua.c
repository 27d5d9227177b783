/* kv_redis_lua.c: the Lua scripts the Redis backend runs on the server.
 *
 * Redis runs a script atomically (no other command interleaves), which is
 * what makes a multi-key compare-and-swap possible without WATCH/MULTI
 * retries: compare everything, then write everything, in one step. A
 * script is not rolled back when a command in it fails, so the txn script
 * checks every key's type before its first write and nothing after that
 * point can fail on valid data.
 *
 * Layout (see kv_redis.c): key K is a hash "<prefix>K" {v: value, r: rev};
 * KEYS[1..3] of the txn script are the revision counter, the index (sorted
 * set, score 0) and the event stream.
 *
 * Revision numbers pass through Lua as doubles: exact up to 2^53, which a
 * store doing a million writes a second reaches in 285 years.
 */
#include "kv_redis_int.h"

/* KEYS: rev, idx, ev, then one key per op.
 * ARGV[1]: stream MAXLEN; then per op i: type (p/d/c), compare (n/a/r/p),
 * expected rev, value.
 * Returns {1, rev} (committed; rev unchanged when nothing changed) or
 * {0, i} (compare of op i, 0-based, failed: nothing written). */
static const char rds_lua_txn[] =
	"local n = #KEYS - 3\n"
	"local function arg(i, j) return ARGV[1 + 4 * (i - 1) + j] end\n"
	"for i = 1, n do\n"
	"  local k = KEYS[3 + i]\n"
	"  local t = redis.call('TYPE', k)['ok']\n"
	"  if t ~= 'none' and t ~= 'hash' then\n"
	"    return redis.error_reply('WRONGTYPE key ' .. k .. ' is not a hash')\n"
	"  end\n"
	"  local cmp = arg(i, 2)\n"
	"  if cmp ~= 'n' then\n"
	"    local r = redis.call('HGET', k, 'r')\n"
	"    if (cmp == 'a' and r) or (cmp == 'p' and not r) or\n"
	"       (cmp == 'r' and r ~= arg(i, 3)) then\n"
	"      return {0, i - 1}\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local ch = {}\n"
	"for i = 1, n do\n"
	"  local op = arg(i, 1)\n"
	"  if op == 'p' or (op == 'd' and redis.call('EXISTS', KEYS[3 + i]) == 1) then\n"
	"    ch[#ch + 1] = i\n"
	"  end\n"
	"end\n"
	"if #ch == 0 then\n"
	"  return {1, tonumber(redis.call('GET', KEYS[1]) or '0')}\n"
	"end\n"
	"local rev = redis.call('INCR', KEYS[1])\n"
	/* The stream refuses IDs at or below its last one: if the counter
	 * was lost or reset, continue after the stream instead. */
	"local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)[1]\n"
	"if last then\n"
	"  local lr = tonumber(string.match(last[1], '^(%d+)-'))\n"
	"  if lr >= rev then\n"
	"    rev = lr + 1\n"
	"    redis.call('SET', KEYS[1], rev)\n"
	"  end\n"
	"end\n"
	"for j, i in ipairs(ch) do\n"
	"  local k = KEYS[3 + i]\n"
	"  local id = string.format('%d-%d', rev, j - 1)\n"
	"  if arg(i, 1) == 'p' then\n"
	"    redis.call('HSET', k, 'v', arg(i, 4), 'r', rev)\n"
	"    redis.call('ZADD', KEYS[2], 0, k)\n"
	"    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], id,\n"
	"               't', 'p', 'k', k, 'v', arg(i, 4), 'n', #ch)\n"
	"  else\n"
	"    redis.call('DEL', k)\n"
	"    redis.call('ZREM', KEYS[2], k)\n"
	"    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], id,\n"
	"               't', 'd', 'k', k, 'n', #ch)\n"
	"  end\n"
	"end\n"
	"return {1, rev}\n";

/* KEYS: key, rev. Returns {store rev, value or nil, mod_rev or nil}. */
static const char rds_lua_get[] =
	"local h = redis.call('HMGET', KEYS[1], 'v', 'r')\n"
	"return {redis.call('GET', KEYS[2]) or '0', h[1], h[2]}\n";

/* KEYS: idx, rev. ARGV: ZRANGEBYLEX min and max. Returns {store rev,
 * key1, value1, rev1, key2, ...} in byte order, as one snapshot. */
static const char rds_lua_list[] =
	"local out = {redis.call('GET', KEYS[2]) or '0'}\n"
	"for _, k in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2])) do\n"
	"  local h = redis.call('HMGET', k, 'v', 'r')\n"
	"  if h[1] then\n"
	"    out[#out + 1] = k\n"
	"    out[#out + 1] = h[1]\n"
	"    out[#out + 1] = h[2]\n"
	"  end\n"
	"end\n"
	"return out\n";

/* KEYS: ev, rev. ARGV: first ID to read ("" = none), count. Returns {store
 * rev, entries}: the counter and the stream read together, so a watch can
 * tell "nothing happened" from "the stream lost what happened". */
static const char rds_lua_wread[] =
	"local rev = redis.call('GET', KEYS[2]) or '0'\n"
	"if ARGV[1] == '' then return {rev, {}} end\n"
	"return {rev, redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])}\n";

const char *const rds_lua_src[RDS_LUA_N] = {
	[RDS_LUA_TXN] = rds_lua_txn,
	[RDS_LUA_GET] = rds_lua_get,
	[RDS_LUA_LIST] = rds_lua_list,
	[RDS_LUA_WREAD] = rds_lua_wread,
};
