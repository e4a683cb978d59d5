// Service tickets and the records around them, in the short-lived store (Redis, or the database).
//
// - CasTicket: one service ticket, through the provider's adapter factory, whose consume is atomic on
//   both stores (a Lua script; UPDATE … WHERE consumed_at IS NULL): of two validations racing with one
//   ticket exactly one wins (CAS 3.0 §3.1.1: valid for one validation attempt, whatever its outcome).
// - CasLogin: the state of a /cas/login on its way through the authorization endpoint, single use.
// - The session's tickets: every ticket issued under one OIDC `sid`, for single logout. Appends from
//   two tabs must not lose each other, which the adapter's read-modify-write cannot promise: a Redis
//   list, or rows of the oidc_models table indexed by sid.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Adapter, AdapterFactory } from 'oidc-provider';
import type { Db } from '../store/db.ts';

/** CAS 3.0 §3.1.1 recommends no more than 5 minutes; we keep them as short as an app's round trip allows. */
export const TICKET_TTL_SECONDS = 10;
/** A login can take a while (elderly users, slow phones): as long as the provider's interaction. */
export const LOGIN_STATE_TTL_SECONDS = 3600;

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of base62 from the CSPRNG (rejection sampling: every character equally likely). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

// mod_auth_cas accepts only ^(ST|PT)-[A-Za-z0-9.-]+$ (CAS 3.0 §3.7: [A-Za-z0-9-]); 43 characters of
// base62 carry 256 bits.
export const newServiceTicket = () => `ST-${randomBase62(43)}`;
export const SERVICE_TICKET = /^ST-[A-Za-z0-9]{32,253}$/;

export interface ServiceTicket {
  service: string;
  clientId: string;
  accountId: string;
  /** The OIDC sid of the internal client in this session: what the logout token names. */
  sid: string;
  /** The provider's session uid (stable across logins), for ending sessions from elsewhere. */
  sessionUid: string;
  /** The scopes granted in this login: attributes are released only under them. */
  scope: string;
  /** Issued from a credential presented in this very login (CAS `renew`), not from the SSO session. */
  primary: boolean;
  authTime?: number;
  iat: number;
  exp: number;
}

export interface LoginState {
  clientId: string;
  service: string;
  renew: boolean;
  gateway: boolean;
  codeChallenge: string;
  iat: number;
}

/** What single logout needs to know about one ticket. */
export interface SessionTicket { ticket: string; clientId: string; accountId: string; logoutUrl: string }

export interface SessionTickets {
  add(sid: string, entry: SessionTicket, ttlSeconds: number): Promise<void>;
  /** Returns and forgets every ticket issued under sid, atomically. */
  take(sid: string): Promise<SessionTicket[]>;
}

export function createRedisSessionTickets(redis: Redis, prefix: string): SessionTickets {
  const key = (sid: string) => `${prefix}cas:sid:${sid}`;
  return {
    async add(sid, entry, ttlSeconds) {
      const result = await redis.multi().rpush(key(sid), JSON.stringify(entry)).expire(key(sid), ttlSeconds).exec();
      for (const [err] of result ?? []) if (err) throw err;
    },
    async take(sid) {
      const result = await redis.multi().lrange(key(sid), 0, -1).del(key(sid)).exec();
      const [err, items] = result?.[0] ?? [new Error('transaction aborted'), null];
      if (err) throw err;
      return (items as string[]).map((s) => JSON.parse(s) as SessionTicket);
    },
  };
}

export function createDbSessionTickets(db: Db): SessionTickets {
  // Rows in the short-lived table (swept when expired), found through its (model, uid) index.
  return {
    async add(sid, entry, ttlSeconds) {
      // One statement: the new row, and the session's earlier rows live as long as it (like the Redis key's TTL).
      await db.query(
        `WITH added AS (
           INSERT INTO oidc_models (model, id, payload, uid, expires_at)
           VALUES ('CasSessionTicket', $1, $2::text::jsonb, $3, now() + $4::float8 * interval '1 second')
           ON CONFLICT (model, id) DO NOTHING RETURNING id)
         UPDATE oidc_models SET expires_at = now() + $4::float8 * interval '1 second'
         WHERE model = 'CasSessionTicket' AND uid = $3 AND expires_at > now()`,
        [entry.ticket, JSON.stringify(entry), sid, ttlSeconds]);
    },
    async take(sid) {
      const rows = await db.query<{ payload: SessionTicket }>(
        `DELETE FROM oidc_models WHERE model = 'CasSessionTicket' AND uid = $1 AND expires_at > now() RETURNING payload`, [sid]);
      return rows.map((r) => r.payload);
    },
  };
}

/** Single-use records through the provider's adapter: consume is atomic, then the payload is read. */
function singleUse<T>(adapter: Adapter) {
  return {
    async save(id: string, payload: T, ttlSeconds: number) {
      // No grantId: a replayed record must not revoke anything but itself.
      await adapter.upsert(id, payload as never, ttlSeconds);
    },
    /** The payload if this call is the first to use it and it has not expired; undefined otherwise. */
    async use(id: string): Promise<(T & { exp?: number }) | undefined> {
      try {
        await adapter.consume(id);
      } catch {
        return undefined; // unknown, expired, or used already
      }
      return (await adapter.find(id)) as (T & { exp?: number }) | undefined;
    },
  };
}

export function createTicketStores(adapters: AdapterFactory) {
  return {
    tickets: singleUse<ServiceTicket>(adapters('CasTicket')),
    logins: singleUse<LoginState>(adapters('CasLogin')),
  };
}
