// Fixed-window counters for login throttling, on Redis or on the rate_counters table.
// Every hit is one atomic statement, so parallel attempts can neither lose nor share a count.
import type { Redis } from 'ioredis';
import type { Db } from './db.ts';

export interface Counters {
  /** Atomically adds 1 and returns the new count. The window starts at the first hit; when the count reaches `extendAt` or more, the window is restarted (so a lockout lasts windowSeconds from the latest hit). */
  hit(key: string, windowSeconds: number, extendAt: number): Promise<number>;
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

export function createRedisCounters(redis: Redis, prefix = 'cnt:'): Counters {
  redis.defineCommand('yihaoCounterHit', { numberOfKeys: 1, lua: HIT });
  const hit = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<number>>).yihaoCounterHit!;
  return {
    hit: (key, windowSeconds, extendAt) =>
      hit.call(redis, prefix + key, Math.max(1, Math.round(windowSeconds * 1000)), extendAt),
    async get(key) {
      return Number(await redis.get(prefix + key) ?? 0);
    },
    async reset(key) {
      await redis.del(prefix + key);
    },
  };
}

// In DO UPDATE every rate_counters.* is the row before this hit.
const DB_HIT = `
INSERT INTO rate_counters AS c (key, count, expires_at)
VALUES ($1, 1, now() + $2::float8 * interval '1 second')
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
  expires_at = CASE WHEN c.expires_at <= now() OR c.count + 1 >= $3::int THEN excluded.expires_at ELSE c.expires_at END
RETURNING count`;

export function createDbCounters(db: Db): Counters {
  return {
    async hit(key, windowSeconds, extendAt) {
      const [row] = await db.query<{ count: number }>(DB_HIT, [key, windowSeconds, extendAt]);
      return row!.count;
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
