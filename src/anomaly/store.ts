// Where anomaly windows are counted: Redis (one script call per login outcome) or, without Redis, the
// anomaly_windows table (one statement per login outcome). Both fire a window once: the hit that brings it
// to its threshold is reported, and no other until the window has expired and started again.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Db } from '../store/db.ts';
import type { Hit } from './signals.ts';

/** A hit that fired its window: its position in the hits given, and the window's count then. */
export interface Crossing { hit: number; count: number }

export interface AnomalyStore {
  /** Counts every hit; returns those that crossed their threshold now. */
  hit(hits: Hit[]): Promise<Crossing[]>;
  /** Removes expired windows (the table only; Redis expires its keys itself). */
  sweep(): Promise<void>;
}

const keyOf = (h: Hit) => `${h.signal}:${h.subject}`;

// KEYS: per hit its window key then its fired mark. ARGV: per hit member ('' for a plain counter),
// threshold, window (ms). A distinct counter is a set holding at most `threshold` members: reaching the
// threshold is all it has to tell. The mark lives as long as the window, so a window fires once.
const HIT = `
local out = {}
for i = 1, #KEYS / 2 do
  local window, mark = KEYS[2 * i - 1], KEYS[2 * i]
  local member, threshold, ms = ARGV[3 * i - 2], tonumber(ARGV[3 * i - 1]), ARGV[3 * i]
  local n
  if member == '' then
    n = redis.call('INCR', window)
  else
    n = redis.call('SCARD', window)
    if n < threshold and redis.call('SADD', window, member) == 1 then n = n + 1 end
  end
  if redis.call('PTTL', window) < 0 then redis.call('PEXPIRE', window, ms) end
  if n >= threshold then
    local ttl = redis.call('PTTL', window)
    if ttl > 0 and redis.call('SET', mark, '1', 'NX', 'PX', ttl) then out[#out + 1] = { i - 1, n } end
  end
end
return out
`;

export function createRedisAnomalyStore(redis: Redis, prefix: string): AnomalyStore {
  redis.defineCommand('yihaoAnomalyHit', { lua: HIT }); // numberOfKeys given per call
  const run = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<[number, number][]>>).yihaoAnomalyHit!;
  return {
    async hit(hits) {
      if (!hits.length) return [];
      const keys = hits.flatMap((h) => [`${prefix}an:w:${keyOf(h)}`, `${prefix}an:f:${keyOf(h)}`]);
      const args = hits.flatMap((h) => [h.member ?? '', h.threshold.count, h.threshold.windowSeconds * 1000]);
      const fired = await run.call(redis, keys.length, ...keys, ...args);
      return fired.map(([hit, count]) => ({ hit: Number(hit), count: Number(count) }));
    },
    async sweep() {},
  };
}

// One statement for all of an outcome's hits. In DO UPDATE, w.* is the window before this hit and
// excluded.* the hit; an expired window starts again from this hit. The new count is written twice (count
// and fired_by) because SET expressions all see the old row.
const NEXT_COUNT = `CASE WHEN w.expires_at <= now() THEN 1
  WHEN excluded.members IS NULL THEN w.count + 1
  WHEN excluded.members[1] = ANY(w.members) OR w.count >= excluded.threshold THEN w.count
  ELSE w.count + 1 END`;

const DB_HIT = `
INSERT INTO anomaly_windows AS w (key, count, members, threshold, expires_at, fired_by)
SELECT v.key, 1, CASE WHEN v.member IS NULL THEN NULL ELSE ARRAY[v.member] END, v.threshold,
  now() + v.seconds * interval '1 second', CASE WHEN v.threshold <= 1 THEN $5 END
FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[]) AS v(key, member, threshold, seconds)
ON CONFLICT (key) DO UPDATE SET
  count = ${NEXT_COUNT},
  members = CASE WHEN w.expires_at <= now() THEN excluded.members
    WHEN excluded.members IS NULL OR excluded.members[1] = ANY(w.members) OR w.count >= excluded.threshold THEN w.members
    ELSE w.members || excluded.members END,
  threshold = excluded.threshold,
  expires_at = CASE WHEN w.expires_at <= now() THEN excluded.expires_at ELSE w.expires_at END,
  fired_by = CASE WHEN w.expires_at <= now() THEN excluded.fired_by
    WHEN w.fired_by IS NULL AND ${NEXT_COUNT} >= excluded.threshold THEN $5
    ELSE w.fired_by END
RETURNING key, count, fired_by = $5 AS fired`;

export function createDbAnomalyStore(db: Db): AnomalyStore {
  return {
    async hit(hits) {
      if (!hits.length) return [];
      const token = randomBytes(12).toString('base64url');
      const rows = await db.query<{ key: string; count: number; fired: boolean | null }>(DB_HIT, [
        hits.map(keyOf), hits.map((h) => h.member ?? null), hits.map((h) => h.threshold.count), hits.map((h) => h.threshold.windowSeconds), token,
      ]);
      const position = new Map(hits.map((h, i) => [keyOf(h), i]));
      return rows.filter((r) => r.fired).map((r) => ({ hit: position.get(r.key)!, count: Number(r.count) }));
    },
    async sweep() {
      await db.query('DELETE FROM anomaly_windows WHERE expires_at <= now()');
    },
  };
}
