// Fixed-window counters for login throttling, on Redis or on the rate_counters table.
// Every hit is one atomic statement, so parallel attempts can neither lose nor share a count.
import type { Redis } from 'ioredis';
import type { Db } from './db.ts';

export interface Counters {
  /** Atomically adds 1 and returns the new count. The window starts at the first hit; when the count reaches `extendAt` or more, the window is restarted (so a lockout lasts windowSeconds from the latest hit). */
  hit(key: string, windowSeconds: number, extendAt: number): Promise<number>;
  /**
   * hit(key), unless the counter `unless.key` has already reached `unless.atLeast`: then nothing is counted
   * and the answer is undefined. One statement, one round trip: a throttled IP, say, spends nothing of a
   * number's attempts, and asking costs no more than counting.
   */
  hitUnless(key: string, windowSeconds: number, extendAt: number, unless: { key: string; atLeast: number }): Promise<number | undefined>;
  /** 0 when absent or expired. */
  get(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

// KEYS[1] counter; ARGV window (ms), extendAt.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or n >= tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`;

// KEYS[1] counter, KEYS[2] the one that may refuse it; ARGV window (ms), extendAt, refuse at. -1: refused.
const HIT_UNLESS = `
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return -1 end
${HIT}`;

type Script = (...args: (string | number)[]) => Promise<number>;
const windowMs = (seconds: number) => Math.max(1, Math.round(seconds * 1000));

export function createRedisCounters(redis: Redis, prefix = 'cnt:'): Counters {
  redis.defineCommand('yihaoCounterHit', { numberOfKeys: 1, lua: HIT });
  redis.defineCommand('yihaoCounterHitUnless', { numberOfKeys: 2, lua: HIT_UNLESS });
  const scripts = redis as unknown as Record<'yihaoCounterHit' | 'yihaoCounterHitUnless', Script>;
  return {
    hit: (key, windowSeconds, extendAt) => scripts.yihaoCounterHit.call(redis, prefix + key, windowMs(windowSeconds), extendAt),
    async hitUnless(key, windowSeconds, extendAt, unless) {
      const n = await scripts.yihaoCounterHitUnless.call(redis, prefix + key, prefix + unless.key, windowMs(windowSeconds), extendAt, unless.atLeast);
      return n < 0 ? undefined : n;
    },
    async get(key) {
      return Number(await redis.get(prefix + key) ?? 0);
    },
    async reset(key) {
      await redis.del(prefix + key);
    },
  };
}

// In DO UPDATE every rate_counters.* is the row before this hit.
const ON_CONFLICT_COUNT = `
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
  expires_at = CASE WHEN c.expires_at <= now() OR c.count + 1 >= $3::int THEN excluded.expires_at ELSE c.expires_at END
RETURNING count`;

const DB_HIT = `
INSERT INTO rate_counters AS c (key, count, expires_at)
VALUES ($1, 1, now() + $2::float8 * interval '1 second')${ON_CONFLICT_COUNT}`;

// The same, inserting nothing (so no row returned) while the counter $4 holds $5 or more.
const DB_HIT_UNLESS = `
INSERT INTO rate_counters AS c (key, count, expires_at)
SELECT $1, 1, now() + $2::float8 * interval '1 second'
WHERE NOT EXISTS (SELECT 1 FROM rate_counters WHERE key = $4 AND expires_at > now() AND count >= $5::int)${ON_CONFLICT_COUNT}`;

export function createDbCounters(db: Db): Counters {
  return {
    async hit(key, windowSeconds, extendAt) {
      const [row] = await db.query<{ count: number }>(DB_HIT, [key, windowSeconds, extendAt]);
      return row!.count;
    },
    async hitUnless(key, windowSeconds, extendAt, unless) {
      const [row] = await db.query<{ count: number }>(DB_HIT_UNLESS, [key, windowSeconds, extendAt, unless.key, unless.atLeast]);
      return row?.count;
    },
    async get(key) {
      const [row] = await db.query<{ count: number }>(
        'SELECT count FROM rate_counters WHERE key = $1 AND expires_at > now()', [key]);
      return row?.count ?? 0;
    },
    async reset(key) {
      await db.query('DELETE FROM rate_counters WHERE key = $1', [key]);
    },
  };
}
