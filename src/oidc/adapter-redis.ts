// oidc-provider storage on Redis: one JSON string per record with a native TTL, plus indexes
// (grant → member keys, account → grants, Session uid → id, user code → id).
//
// Keys under the prefix P (written here with a space after it):
//   P <Model>:<id>                 string      the record
//   P grant-members:{<grantId>}    sorted set  member record key → expiry (epoch ms; +inf without one): the
//                                              tokens revokeByGrantId and a reused code or refresh token kill
//   P grants:acct:<accountId>      sorted set  grantId → expiry (epoch ms): a person's grants (my apps, end-all)
//   P uid:<Model>:<uid>, P userCode:<Model>:<code>   string  → id
//   P grant:{<grantId>}            set         the member index before it became a sorted set: only read (by
//                                              revocation) until the longest refresh token of that time expires
// Both sorted sets are trimmed of expired members whenever they are written (the bench soak saw rotating
// refresh and access tokens add 40k members a minute to sets that only shrank on destroy), and live as long
// as their longest member (oidc-provider #334).
// Hash tags: a write is one MULTI over the record and its index keys, and the Lua scripts reach keys named
// inside records; Redis Cluster allows both only within one slot, so on a Cluster give a hash-tagged prefix
// such as '{oidc}:' (its tag comes first and wins). The account index carries no tag of its own: a tag on
// the account id would only matter without that prefix, and then it would put the person's index in another
// slot than the Grant written in the same MULTI.
import type { Redis } from 'ioredis';
import { script } from '../store/redis.ts';
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import { redisSessionScripts } from '../sessions/session-index-redis.ts';
import type { GrantIndex } from './grant-index.ts';

// Models whose records carry a grantId and die with their grant (as in the library's memory adapter).
export const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);

// Lua helpers shared by the scripts. A grant's member index is a sorted set; the set it replaced may
// still exist for grants issued before the upgrade, so revocation reads both.
const GRANT_FNS = `
local function revoke(index, legacy)
  local members = redis.call('ZRANGE', index, 0, -1)
  for _, m in ipairs(redis.call('SMEMBERS', legacy)) do members[#members + 1] = m end
  for i = 1, #members, 500 do
    redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
  end
  redis.call('DEL', index, legacy)
end
-- Deletes a Grant record and its entry in its person's index.
local function drop_grant(P, grantId)
  local key = P .. 'Grant:' .. grantId
  local raw = redis.call('GET', key)
  if not raw then return end
  local g = cjson.decode(raw)
  if type(g.accountId) == 'string' then redis.call('ZREM', P .. 'grants:acct:' .. g.accountId, grantId) end
  redis.call('DEL', key)
end
`;

// KEYS[1] grant member index, KEYS[2] its legacy set.
const REVOKE = `${GRANT_FNS} revoke(KEYS[1], KEYS[2]) return 1`;

// KEYS[1] record; ARGV prefix, now (epoch seconds). Returns 1 consumed now, 0 missing, -1 reused.
// Marking appends to the stored JSON instead of re-encoding it: cjson would turn [] into {}.
// A reused code or refresh token means it leaked: revoke every token of the grant and the grant
// itself (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
const CONSUME = `${GRANT_FNS}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local payload = cjson.decode(raw)
if payload.consumed == nil or payload.consumed == cjson.null then
  local sep = (raw == '{}') and '' or ','
  redis.call('SET', KEYS[1], string.sub(raw, 1, -2) .. sep .. '"consumed":' .. ARGV[2] .. '}', 'KEEPTTL')
  return 1
end
if type(payload.grantId) == 'string' then
  revoke(ARGV[1] .. 'grant-members:{' .. payload.grantId .. '}', ARGV[1] .. 'grant:{' .. payload.grantId .. '}')
  drop_grant(ARGV[1], payload.grantId)
end
return -1
`;

// KEYS[1] record; ARGV prefix, model, id, grantable ('1'|'0'). Drops the record and the index entries pointing at it.
const DESTROY = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('DEL', KEYS[1])
local p = cjson.decode(raw)
for _, field in ipairs({'uid', 'userCode'}) do
  if type(p[field]) == 'string' then
    local index = ARGV[1] .. field .. ':' .. ARGV[2] .. ':' .. p[field]
    if redis.call('GET', index) == ARGV[3] then redis.call('DEL', index) end
  end
end
if ARGV[4] == '1' and type(p.grantId) == 'string' then
  redis.call('ZREM', ARGV[1] .. 'grant-members:{' .. p.grantId .. '}', KEYS[1])
end
if ARGV[2] == 'Grant' and type(p.accountId) == 'string' then
  redis.call('ZREM', ARGV[1] .. 'grants:acct:' .. p.accountId, ARGV[3])
end
return 1
`;

// KEYS[1] index; ARGV record key prefix. One round trip for the hot Session.findByUid.
const FIND_BY_INDEX = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('GET', ARGV[1] .. id)
`;

/**
 * Audit events that belong to a record (an authorization code, an access token): written first in the
 * record's own MULTI, so the record and its event reach Redis in one round trip, together
 * (src/oidc/protocol-audit.ts).
 */
export interface SaveEvents {
  /** The stream the entries go to. */
  stream: string;
  /** Serialized entries for this save (spoolEntry), or none. */
  entries(model: string, payload: AdapterPayload): string[] | undefined;
  /** The connection for saves that carry entries, when they need one of their own (REDIS_WAIT_REPLICAS). */
  connection?: Redis;
  /** After such a save: resolves once it counts as written (replicas acknowledged it, if asked); else rejects. */
  written(): void | Promise<void>;
  /** Redis refused an entry: the save throws, and the request must not hand the record out. */
  failed(err: unknown): void;
}

const accountGrantsKey = (prefix: string, accountId: string) => `${prefix}grants:acct:${accountId}`;

const parse = (raw: unknown) => (typeof raw === 'string' ? (JSON.parse(raw) as AdapterPayload) : undefined);

export function createRedisAdapter(redis: Redis, prefix = 'oidc:', options: { events?: SaveEvents } = {}): AdapterFactory {
  const { events } = options;
  const revoke = script(redis, 'yihaoOidcRevoke', 2, REVOKE);
  const consume = script(redis, 'yihaoOidcConsume', 1, CONSUME);
  const destroy = script(redis, 'yihaoOidcDestroy', 1, DESTROY);
  const findByIndex = script(redis, 'yihaoOidcFindByIndex', 1, FIND_BY_INDEX);
  // Sessions also keep the oversight indexes (by person, app, IP), in the same script as the record.
  const sessions = redisSessionScripts(redis, prefix);
  const grantKey = (grantId: string) => `${prefix}grant-members:{${grantId}}`;
  const legacyGrantKey = (grantId: string) => `${prefix}grant:{${grantId}}`;

  return (model: string): Adapter => {
    const key = (id: string) => `${prefix}${model}:${id}`;
    const grantable = GRANTABLE.has(model);

    const byIndex = async (field: 'uid' | 'userCode', value: string) => {
      const payload = parse(await findByIndex(`${prefix}${field}:${model}:${value}`, `${prefix}${model}:`));
      return payload?.[field] === value ? payload : undefined; // a stale index entry must not match
    };

    return {
      async upsert(id, payload, expiresIn) {
        if (model === 'Session') return sessions.upsert(key(id), id, payload, expiresIn);
        const ttl = expiresIn ? Math.round(expiresIn * 1000) : undefined;
        const now = Date.now();
        // First in the MULTI: a refused event (a runtime error) does not stop the commands after it, but the save fails.
        const entries = events?.entries(model, payload) ?? [];
        const multi = (entries.length && events!.connection ? events!.connection : redis).multi();
        for (const e of entries) multi.xadd(events!.stream, '*', 'e', e);
        const set = (k: string, v: string) => (ttl ? multi.set(k, v, 'PX', ttl) : multi.set(k, v));
        // An index scored by expiry: drop what has expired, add this record, live as long as its longest
        // member (oidc-provider #334): NX sets the TTL of a new set, GT only ever extends it.
        const index = (k: string, member: string) => {
          multi.zremrangebyscore(k, '-inf', now).zadd(k, ttl ? now + ttl : '+inf', member);
          if (ttl) multi.pexpire(k, ttl, 'NX').pexpire(k, ttl, 'GT');
          else multi.persist(k);
        };
        set(key(id), JSON.stringify(payload));
        if (payload.userCode) set(`${prefix}userCode:${model}:${payload.userCode}`, id);
        if (grantable && payload.grantId) index(grantKey(payload.grantId), key(id));
        if (model === 'Grant' && typeof payload.accountId === 'string') index(accountGrantsKey(prefix, payload.accountId), id);
        let replies: Awaited<ReturnType<typeof multi.exec>>;
        try {
          replies = await multi.exec();
        } catch (err) {
          if (entries.length) events!.failed(err);
          throw err;
        }
        const eventError = replies?.slice(0, entries.length).find(([err]) => err)?.[0];
        if (eventError) events!.failed(eventError);
        for (const [err] of replies ?? []) if (err) throw err;
        if (entries.length) {
          try {
            await events!.written();
          } catch (err) {
            events!.failed(err);
            throw err;
          }
        }
      },

      async find(id) {
        return parse(await redis.get(key(id)));
      },

      findByUid: (uid) => byIndex('uid', uid),
      findByUserCode: (userCode) => byIndex('userCode', userCode),

      async consume(id) {
        const result = await consume(key(id), prefix, Math.floor(Date.now() / 1000));
        if (result === -1) throw new errors.InvalidGrant('grant already used');
        // Gone: expired, or revoked by a concurrent reuse of the same code; never let it succeed.
        if (result !== 1) throw new errors.InvalidGrant('grant not found');
      },

      async destroy(id) {
        if (model === 'Session') return sessions.destroy(key(id), id);
        await destroy(key(id), prefix, model, id, grantable ? '1' : '0');
      },

      async revokeByGrantId(grantId) {
        await revoke(grantKey(grantId), legacyGrantKey(grantId));
      },
    };
  };
}

/** A person's live grants, from the index the Grant upsert keeps (src/oidc/grant-index.ts). */
export function createRedisGrantIndex(redis: Redis, prefix = 'oidc:'): GrantIndex {
  return {
    async grantsOf(accountId) {
      return redis.zrangebyscore(accountGrantsKey(prefix, accountId), `(${Date.now()}`, '+inf');
    },
  };
}

/**
 * Adds Grants stored before the index by account existed to that index: once per deployment (a marker
 * key records it), SCAN over the Grant records, in pages. Idempotent (ZADD of what the upsert would
 * add), so several processes may run it at once. Returns how many grants it indexed.
 */
export async function backfillAccountGrantIndex(redis: Redis, prefix = 'oidc:'): Promise<number> {
  const marker = `${prefix}grants:acct:backfilled`;
  if (await redis.exists(marker)) return 0;
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}Grant:*`;
  let cursor = '0';
  let indexed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (!keys.length) continue;
    const read = redis.pipeline();
    for (const k of keys) read.get(k).pttl(k);
    const replies = (await read.exec()) ?? [];
    const now = Date.now();
    const write = redis.pipeline();
    keys.forEach((k, i) => {
      const payload = parse(replies[2 * i]?.[1]);
      const ttl = Number(replies[2 * i + 1]?.[1]);
      if (typeof payload?.accountId !== 'string' || ttl === -2) return; // gone meanwhile
      const index = accountGrantsKey(prefix, payload.accountId);
      write.zadd(index, ttl > 0 ? now + ttl : '+inf', k.slice(`${prefix}Grant:`.length));
      if (ttl > 0) write.pexpire(index, ttl, 'NX').pexpire(index, ttl, 'GT');
      else write.persist(index);
      indexed++;
    });
    for (const [err] of (await write.exec()) ?? []) if (err) throw err;
  } while (cursor !== '0');
  await redis.set(marker, new Date().toISOString());
  return indexed;
}
