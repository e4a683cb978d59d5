// Session indexes on Redis, written by the Redis adapter's Session upsert and destroy in the same script
// as the record itself (no extra round trip on the hot path), read by session oversight.
//
// Keys under the adapter's prefix P (one Cluster slot needs a hash-tagged prefix, as for the adapter):
//   P sx:all               sorted set  uid → loginTs (seconds): every signed-in session
//   P sx:acct:<accountId>  sorted set  uid → loginTs: one person's sessions
//   P sx:client:<clientId> sorted set  uid → loginTs: sessions that have been used at one app
//   P sx:ip:<ip>           sorted set  uid → loginTs: sessions by the IP they logged in from
//   P sx:exp               sorted set  uid → expiry (epoch ms): what the reaper removes once expired
//   P sx:ended:<uid>       string      an ended session: its uid is never saved again (until it would have expired)
//   P sx:meta:<uid>        string      the session's row for the console, fields separated by \x1f:
//                                      account, clients (\n-separated), loginTs, last save (ms), expiry (ms),
//                                      acr, amr (JSON), ip, user agent, when the sets' TTLs were last extended (ms)
// One packed string rather than a hash: user agents are longer than hash-max-listpack-value (64 bytes), which
// would turn every hash into a hashtable at about three times the memory.
// Sessions expire by TTL, so nothing deletes them: expired members are reaped from sx:exp (a few on every
// login or new app, more on every read), and every per-key set carries a TTL as long as its longest member.
// Most saves are activity (the same account, apps and login, a later expiry): those leave the sets alone
// while the TTLs given them, with an hour's margin, still cover the new expiry — 7 commands instead of ~20.
import type { Redis } from 'ioredis';
import { script } from '../store/redis.ts';
import type { AdapterPayload } from 'oidc-provider';
import { decodeCursor, encodeCursor, pageLimit, type SessionEntry, type SessionFilter, type SessionIndex } from './session-index.ts';

const SEP = '\x1f';
// Meta fields, 1-based as in Lua.
const ACCOUNT = 1, CLIENTS = 2, LOGIN = 3, SEEN = 4, EXPIRES = 5, ACR = 6, AMR = 7, IP = 8, UA = 9, KEPT = 10;
const FIELDS = 10;
const MARGIN_MS = 3600_000;

const COMMON = `
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(n) return string.format('%.0f', n) end
local function split(s, sep)
  local out, from = {}, 1
  while true do
    local i = string.find(s, sep, from, true)
    if not i then out[#out + 1] = string.sub(s, from); return out end
    out[#out + 1] = string.sub(s, from, i - 1)
    from = i + 1
  end
end
local function read_meta(uid)
  local raw = redis.call('GET', P .. 'sx:meta:' .. uid)
  if not raw then return nil end
  local m = split(raw, '\\31')
  for i = #m + 1, ${FIELDS} do m[i] = '' end
  return m
end
local function pack(m) return table.concat(m, '\\31', 1, ${FIELDS}) end
-- Removes uid from every set it is in (its meta says which); returns the meta, if any.
local function unindex(uid)
  local m = read_meta(uid)
  redis.call('ZREM', P .. 'sx:all', uid)
  redis.call('ZREM', P .. 'sx:exp', uid)
  if not m then return nil end
  if m[${ACCOUNT}] ~= '' then redis.call('ZREM', P .. 'sx:acct:' .. m[${ACCOUNT}], uid) end
  for c in string.gmatch(m[${CLIENTS}], '[^\\n]+') do redis.call('ZREM', P .. 'sx:client:' .. c, uid) end
  if m[${IP}] ~= '' then redis.call('ZREM', P .. 'sx:ip:' .. m[${IP}], uid) end
  return m
end
local function reap(now, limit)
  local dead = redis.call('ZRANGEBYSCORE', P .. 'sx:exp', '-inf', now, 'LIMIT', 0, limit)
  for _, uid in ipairs(dead) do
    unindex(uid)
    redis.call('DEL', P .. 'sx:meta:' .. uid)
  end
  return #dead
end
-- A per-key set lives as long as its longest member: GT only ever extends a TTL; a new set has none yet.
local function keep(key, ttl)
  if ttl <= 0 then redis.call('PERSIST', key); return end
  ttl = ttl + ${MARGIN_MS}
  if redis.call('PEXPIRE', key, ttl, 'GT') == 0 then redis.call('PEXPIRE', key, ttl, 'NX') end
end
`;

// KEYS[1] record. ARGV: prefix, id, payload JSON, ttl ms (0: none), uid, accountId ('' before login), loginTs,
// acr, amr JSON, meta grace ms, client ids…  Writes what the adapter's generic upsert writes for a Session
// (record, uid → id), then the indexes when the session is signed in.
const UPSERT = `${COMMON}
local ttl = tonumber(ARGV[4])
local uid = ARGV[5]
if redis.call('EXISTS', P .. 'sx:ended:' .. uid) == 1 then return -1 end
local function set(k, v) if ttl > 0 then redis.call('SET', k, v, 'PX', ttl) else redis.call('SET', k, v) end end
set(KEYS[1], ARGV[3])
set(P .. 'uid:Session:' .. uid, ARGV[2])
local account = ARGV[6]
if account == '' then return 0 end
local now = now_ms()
local old = read_meta(uid)
local clients, list = {}, {}
for i = 11, #ARGV do clients[ARGV[i]] = true; list[#list + 1] = ARGV[i] end
local joined = table.concat(list, '\\n')
local score = ARGV[7]
local ip, ua, kept = '', '', now
if old then ip, ua = old[${IP}], old[${UA}] end
-- Activity only: same account, apps and login, still indexed, and the sets' TTLs cover the new expiry.
local same = old and old[${ACCOUNT}] == account and old[${CLIENTS}] == joined and old[${LOGIN}] == score and old[${EXPIRES}] ~= '0'
local full = not (same and ttl > 0 and now - (tonumber(old[${KEPT}]) or 0) < ${MARGIN_MS})
if not full then
  kept = old[${KEPT}]
else
  if old then
    if old[${ACCOUNT}] ~= account then redis.call('ZREM', P .. 'sx:acct:' .. old[${ACCOUNT}], uid) end
    for c in string.gmatch(old[${CLIENTS}], '[^\\n]+') do
      if not clients[c] then redis.call('ZREM', P .. 'sx:client:' .. c, uid) end
    end
  end
  local function add(key)
    redis.call('ZADD', key, score, uid)
    keep(key, ttl)
  end
  redis.call('ZADD', P .. 'sx:all', score, uid)
  add(P .. 'sx:acct:' .. account)
  for _, c in ipairs(list) do add(P .. 'sx:client:' .. c) end
  if ip ~= '' then add(P .. 'sx:ip:' .. ip) end
  kept = num(now)
end
local exp = now + (ttl > 0 and ttl or 3153600000000)
local meta = pack({ account, joined, score, num(now), num(exp), ARGV[8], ARGV[9], ip, ua, kept })
if ttl > 0 then redis.call('SET', P .. 'sx:meta:' .. uid, meta, 'PX', ttl + tonumber(ARGV[10]))
else redis.call('SET', P .. 'sx:meta:' .. uid, meta) end
redis.call('ZADD', P .. 'sx:exp', num(exp), uid)
-- Reaping rides on the full writes (logins, new apps): they come about as often as sessions expire.
if full then reap(now, 16) end
return 1
`;

// KEYS[1] record. ARGV: prefix, id. The generic destroy plus the indexes. Only when uid → id still points
// here: an older id of a session that has since been given a new one must not take the live session along.
// The meta is kept a few minutes (marked expired): Session#save destroys the old id just before upserting
// the new one at login, and the login's IP and user agent must survive that.
const DESTROY = `${COMMON}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('DEL', KEYS[1])
local p = cjson.decode(raw)
if type(p.uid) ~= 'string' then return 1 end
local index = P .. 'uid:Session:' .. p.uid
if redis.call('GET', index) ~= ARGV[2] then return 1 end
redis.call('DEL', index)
local m = unindex(p.uid)
if m then
  m[${EXPIRES}] = '0'
  redis.call('SET', P .. 'sx:meta:' .. p.uid, pack(m), 'PX', 300000)
end
return 1
`;

// ARGV: prefix, uid, ip, user agent. Adds the IP index entry the Session upsert could not know at login.
const CONTEXT = `${COMMON}
local uid = ARGV[2]
local m = read_meta(uid)
local now = now_ms()
if not m or (tonumber(m[${EXPIRES}]) or 0) <= now then return 0 end
if m[${IP}] ~= '' and m[${IP}] ~= ARGV[3] then redis.call('ZREM', P .. 'sx:ip:' .. m[${IP}], uid) end
m[${IP}], m[${UA}] = ARGV[3], ARGV[4]
redis.call('SET', P .. 'sx:meta:' .. uid, pack(m), 'KEEPTTL')
if ARGV[3] == '' then return 1 end
local key = P .. 'sx:ip:' .. ARGV[3]
redis.call('ZADD', key, m[${LOGIN}], uid)
keep(key, tonumber(m[${EXPIRES}]) - now)
return 1
`;

// KEYS[1] index set. ARGV: prefix, limit, cursor score ('' from the newest), cursor uid, reap limit.
// Newest first; members of equal score in reverse byte order of uid (as ZREVRANGEBYSCORE gives them).
// Returns { items (at most limit + 1: one more means another page), cursor score, cursor uid } where the
// cursor is set when the scan budget ran out before a full page (stale members skipped).
const LIST = `${COMMON}
local now = now_ms()
reap(now, tonumber(ARGV[5]))
local limit = tonumber(ARGV[2])
local max, cs, cu = '+inf', nil, ARGV[4]
if ARGV[3] ~= '' then max = ARGV[3]; cs = tonumber(ARGV[3]) end
local out, offset, scanned, last = {}, 0, 0, nil
local budget = limit * 10 + 1000
while #out <= limit and scanned < budget do
  local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'WITHSCORES', 'LIMIT', offset, limit + 1)
  if #page == 0 then last = nil; break end
  local removed = 0
  for i = 1, #page, 2 do
    local uid, score = page[i], page[i + 1]
    scanned = scanned + 1
    last = { score, uid }
    if not (cs and tonumber(score) == cs and uid >= cu) then
      local raw = redis.call('GET', P .. 'sx:meta:' .. uid)
      local m = raw and split(raw, '\\31')
      if m and (tonumber(m[${EXPIRES}]) or 0) > now then
        out[#out + 1] = { uid, score, raw }
        if #out > limit then break end
      else
        redis.call('ZREM', KEYS[1], uid)
        removed = removed + 1
      end
    end
  end
  offset = offset + #page / 2 - removed
end
if #out <= limit and last then return { out, last[1], last[2] } end
return { out, '', '' }
`;

// KEYS[1] index set. ARGV: prefix, reap limit.
const COUNT = `${COMMON}
reap(now_ms(), tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
`;

// After the session expires its meta stays this long, so that the reaper can still find its sets.
const META_GRACE_MS = 24 * 3600 * 1000;

// Values go into one \x1f-separated string: keep separators out of them.
const clean = (v: string, max = 512) => v.replace(/[\x00-\x1f]/g, ' ').slice(0, max);

/** The Redis adapter's Session upsert and destroy: record, uid index and session indexes in one script each. */
export function redisSessionScripts(redis: Redis, prefix: string) {
  const upsert = script(redis, 'yihaoSessionUpsert', 1, UPSERT);
  const destroy = script(redis, 'yihaoSessionDestroy', 1, DESTROY);
  return {
    async upsert(key: string, id: string, payload: AdapterPayload, expiresIn: number | undefined) {
      const signedIn = typeof payload.accountId === 'string' && payload.accountId !== '';
      const clients = signedIn && payload.authorizations && typeof payload.authorizations === 'object'
        ? Object.keys(payload.authorizations).filter((c) => c && !/[\x00-\x1f]/.test(c)).sort() : [];
      await upsert(key, prefix, id, JSON.stringify(payload), expiresIn ? Math.round(expiresIn * 1000) : 0, String(payload.uid ?? id),
        signedIn ? clean(payload.accountId!) : '', Math.floor(Number(payload.loginTs ?? payload.iat ?? 0)) || 0,
        typeof payload.acr === 'string' ? clean(payload.acr) : '', clean(JSON.stringify(Array.isArray(payload.amr) ? payload.amr : [])),
        META_GRACE_MS, ...clients);
    },
    async destroy(key: string, id: string) {
      await destroy(key, prefix, id);
    },
  };
}

// Expired sessions removed per read, besides the 16 per full Session save (a login or a new app: these keep
// up with expiry, as sessions are created about as often as they expire). Small: a script blocks Redis while it runs, and lists
// skip expired members whether or not they have been reaped.
const READ_REAP = 200;

function toEntry(uid: string, score: string, raw: string): SessionEntry {
  const m = raw.split(SEP);
  const field = (i: number) => m[i - 1] ?? '';
  let amr: string[] = [];
  try { amr = JSON.parse(field(AMR) || '[]'); } catch { /* written by us as JSON; tolerate damage */ }
  return {
    uid, accountId: field(ACCOUNT), clients: field(CLIENTS) ? field(CLIENTS).split('\n') : [], loginAt: Number(score),
    lastActiveAt: Number(field(SEEN)), expiresAt: Number(field(EXPIRES)), acr: field(ACR) || undefined, amr,
    ip: field(IP) || undefined, userAgent: field(UA) || undefined,
  };
}

export function createRedisSessionIndex(redis: Redis, prefix: string): SessionIndex {
  const list = script(redis, 'yihaoSessionList', 1, LIST);
  const count = script(redis, 'yihaoSessionCount', 1, COUNT);
  const context = script(redis, 'yihaoSessionContext', 0, CONTEXT);
  const setOf = (filter: SessionFilter) =>
    'accountId' in filter ? `${prefix}sx:acct:${filter.accountId}`
      : 'clientId' in filter ? `${prefix}sx:client:${filter.clientId}`
        : 'ip' in filter ? `${prefix}sx:ip:${filter.ip}` : `${prefix}sx:all`;

  return {
    async list(filter, page = {}) {
      const limit = pageLimit(page.limit);
      const after = decodeCursor(page.cursor);
      const [rows, cursorScore, cursorUid] = await list(setOf(filter), prefix, limit, after ? after.loginAt : '', after?.uid ?? '', READ_REAP) as [[string, string, string][], string, string];
      const items = rows.slice(0, limit).map(([uid, score, raw]) => toEntry(uid, score, raw));
      const lastItem = items[items.length - 1];
      const nextCursor = rows.length > limit && lastItem ? encodeCursor(lastItem.loginAt, lastItem.uid)
        : cursorScore ? encodeCursor(Number(cursorScore), cursorUid) : undefined;
      return { items, nextCursor };
    },

    async get(uid) {
      const [[, raw], [, live]] = await redis.pipeline().get(`${prefix}sx:meta:${uid}`).exists(`${prefix}uid:Session:${uid}`)
        .exec() as [[unknown, string | null], [unknown, number]];
      if (!live || !raw) return undefined;
      const entry = toEntry(uid, raw.split(SEP)[LOGIN - 1] ?? '0', raw);
      return entry.accountId && entry.expiresAt > Date.now() ? entry : undefined;
    },

    async count(filter) {
      return Number(await count(setOf(filter), prefix, READ_REAP));
    },

    async recordLoginContext(uid, { ip, userAgent }) {
      await context(prefix, uid, clean(ip ?? '', 64), clean(userAgent ?? ''));
    },

    async markEnded(uid, untilMs) {
      await redis.set(`${prefix}sx:ended:${uid}`, '1', 'PX', Math.max(1000, Math.round(untilMs - Date.now())));
    },
  };
}
