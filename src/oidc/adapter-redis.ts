// oidc-provider storage on Redis: one JSON string per record with a native TTL, plus indexes
// (grant → member keys, Session uid → id, user code → id).
//
// Keys: <prefix><Model>:<id>, <prefix>grant:{<grantId>} (hash tag: one Cluster slot per grant),
// <prefix>uid:<Model>:<uid>, <prefix>userCode:<Model>:<code>.
// The Lua scripts below reach keys named inside records (a grant's members), which Redis Cluster only
// allows within one slot: on a Cluster give a hash-tagged prefix such as '{oidc}:'.
import type { Redis } from 'ioredis';
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import { redisSessionScripts } from '../sessions/session-index-redis.ts';

// Models whose records carry a grantId and die with their grant (as in the library's memory adapter).
export const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);

const REVOKE_FN = `
local function revoke(index)
  local members = redis.call('SMEMBERS', index)
  for i = 1, #members, 500 do
    redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
  end
  redis.call('DEL', index)
end
`;

// KEYS[1] grant index.
const REVOKE = `${REVOKE_FN} revoke(KEYS[1]) return 1`;

// KEYS[1] record; ARGV prefix, now (epoch seconds). Returns 1 consumed now, 0 missing, -1 reused.
// Marking appends to the stored JSON instead of re-encoding it: cjson would turn [] into {}.
// A reused code or refresh token means it leaked: revoke every token of the grant and the grant
// itself (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
const CONSUME = `${REVOKE_FN}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local payload = cjson.decode(raw)
if payload.consumed == nil or payload.consumed == cjson.null then
  local sep = (raw == '{}') and '' or ','
  redis.call('SET', KEYS[1], string.sub(raw, 1, -2) .. sep .. '"consumed":' .. ARGV[2] .. '}', 'KEEPTTL')
  return 1
end
if type(payload.grantId) == 'string' then
  revoke(ARGV[1] .. 'grant:{' .. payload.grantId .. '}')
  redis.call('DEL', ARGV[1] .. 'Grant:' .. payload.grantId)
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
  redis.call('SREM', ARGV[1] .. 'grant:{' .. p.grantId .. '}', KEYS[1])
end
return 1
`;

// KEYS[1] index; ARGV record key prefix. One round trip for the hot Session.findByUid.
const FIND_BY_INDEX = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('GET', ARGV[1] .. id)
`;

type Script = (...args: (string | number)[]) => Promise<unknown>;

function script(redis: Redis, name: string, numberOfKeys: number, lua: string): Script {
  redis.defineCommand(name, { numberOfKeys, lua }); // EVALSHA, falling back to EVAL once per server
  return (...args) => (redis as unknown as Record<string, Script>)[name]!(...args);
}

const parse = (raw: unknown) => (typeof raw === 'string' ? (JSON.parse(raw) as AdapterPayload) : undefined);

export function createRedisAdapter(redis: Redis, prefix = 'oidc:'): AdapterFactory {
  const revoke = script(redis, 'yihaoOidcRevoke', 1, REVOKE);
  const consume = script(redis, 'yihaoOidcConsume', 1, CONSUME);
  const destroy = script(redis, 'yihaoOidcDestroy', 1, DESTROY);
  const findByIndex = script(redis, 'yihaoOidcFindByIndex', 1, FIND_BY_INDEX);
  // Sessions also keep the oversight indexes (by person, app, IP), in the same script as the record.
  const sessions = redisSessionScripts(redis, prefix);
  const grantKey = (grantId: string) => `${prefix}grant:{${grantId}}`;

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
        const multi = redis.multi();
        const set = (k: string, v: string) => (ttl ? multi.set(k, v, 'PX', ttl) : multi.set(k, v));
        set(key(id), JSON.stringify(payload));
        if (model === 'Session' && payload.uid) set(`${prefix}uid:${model}:${payload.uid}`, id);
        if (payload.userCode) set(`${prefix}userCode:${model}:${payload.userCode}`, id);
        if (grantable && payload.grantId) {
          const index = grantKey(payload.grantId);
          multi.sadd(index, key(id));
          // The index lives as long as its longest member (oidc-provider #334): NX sets the TTL of a
          // new set, GT only ever extends it.
          if (ttl) multi.pexpire(index, ttl, 'NX').pexpire(index, ttl, 'GT');
          else multi.persist(index);
        }
        for (const [err] of (await multi.exec()) ?? []) if (err) throw err;
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
        await revoke(grantKey(grantId));
      },
    };
  };
}
