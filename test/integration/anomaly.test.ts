// Anomaly signals on every storage: real Redis, PostgreSQL and PGlite (the fallback without Redis). Each
// signal fires exactly once per window — at the outcome that reaches its threshold, also under concurrency —
// writes one audit event anomaly.<signal>, and fires again only in a later window. The login path never
// waits for the detector, nor fails with it.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAudit } from '../../src/audit/audit.ts';
import { createLogger } from '../../src/log.ts';
import { createPgliteDb, createPostgresDb, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';
import { createAnomalyDetector, createDbAnomalyStore, createRedisAnomalyStore, type AnomalyStore, type LoginObservation, type Thresholds } from '../../src/anomaly/index.ts';
import { createDatabase } from '../support/servers.ts';

interface Backend { db: Db; store: AnomalyStore; close(): Promise<void> }

const backends: [string, () => Promise<Backend>][] = [
  ['redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    const db = createPostgresDb(await createDatabase(inject('postgresUrl'), 'anomaly_redis'));
    await migrate(db);
    return { db, store: createRedisAnomalyStore(redis, `test:${randomUUID()}:`), close: async () => { await redis.quit(); await db.close(); } };
  }],
  ['postgres', async () => {
    const db = createPostgresDb(await createDatabase(inject('postgresUrl'), 'anomaly_db'));
    await migrate(db);
    return { db, store: createDbAnomalyStore(db), close: () => db.close() };
  }],
  ['pglite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yihao-pglite-'));
    const db = await createPgliteDb(dir);
    await migrate(db);
    return { db, store: createDbAnomalyStore(db), close: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
  }],
];

const MINUTE = 60;
const THRESHOLDS: Thresholds = {
  account_failures: { count: 3, windowSeconds: MINUTE },
  ip_failures: { count: 4, windowSeconds: MINUTE },
  region_failures: { count: 5, windowSeconds: MINUTE },
  ip_many_numbers: { count: 3, windowSeconds: MINUTE },
  account_many_ips: { count: 2, windowSeconds: MINUTE },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A valid 18-digit number in a region of its own, so concurrent tests never share a window. */
function freshNumber(region = `${100000 + Math.floor(Math.random() * 800000)}`): string {
  const first17 = `${region}19900101${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}
const freshIp = () => `10.${randomBytes(3).join('.')}`;
const failure = (idNumber: string, ip: string): LoginObservation => ({ ok: false, idNumber, index: `idx-${idNumber}`, ip, reason: 'invalid_credentials' });
const success = (idNumber: string, ip: string, accountId: string): LoginObservation => ({ ok: true, idNumber, index: `idx-${idNumber}`, ip, accountId });

describe.each(backends)('anomaly signals on %s', (_name, open) => {
  let b: Backend;
  let logs: string[];
  const detector = (thresholds: Partial<Thresholds> = THRESHOLDS, store?: AnomalyStore) => {
    const log = createLogger('info', (line) => { logs.push(line); });
    return createAnomalyDetector({ store: store ?? b.store, audit: createAudit(b.db, log), log, thresholds: { ...THRESHOLDS, ...thresholds } });
  };
  /** Feeds outcomes one after another; returns, per outcome, the signals it fired. */
  async function feed(d: ReturnType<typeof detector>, outcomes: LoginObservation[]) {
    const fired: string[][] = [];
    for (const o of outcomes) fired.push((await d.check(o)).map((a) => a.signal));
    return fired;
  }
  const events = (type: string, where: string, value: string) => b.db.query<{ actor: string | null; ip: string | null; details: Record<string, unknown> }>(
    `SELECT actor, ip, details FROM audit_events WHERE type = $1 AND ${where} = $2 ORDER BY id`, [type, value]);

  beforeAll(async () => { b = await open(); logs = []; });
  afterAll(() => b?.close());

  it.concurrent('failures for one ID number fire account_failures once, at the threshold', async () => {
    const d = detector();
    const number = freshNumber();
    const fired = await feed(d, Array.from({ length: 6 }, () => failure(number, freshIp())));
    expect(fired.map((f) => f.includes('account_failures'))).toEqual([false, false, true, false, false, false]);
    const masked = `${number.slice(0, 4)}**********${number.slice(14)}`;
    const rows = await b.db.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_events WHERE type = 'anomaly.account_failures' AND details->>'id_masked' = $1`, [masked]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details).toMatchObject({ signal: 'account_failures', count: 3, threshold: 3, window_seconds: MINUTE, last_reason: 'invalid_credentials' });
    expect(JSON.stringify(rows)).not.toContain(number);
  });

  it.concurrent('failures from one IP fire ip_failures once', async () => {
    const d = detector({ ip_many_numbers: { count: 100, windowSeconds: MINUTE } });
    const ip = freshIp();
    const fired = await feed(d, Array.from({ length: 7 }, () => failure(freshNumber(), ip)));
    expect(fired.map((f) => f.includes('ip_failures'))).toEqual([false, false, false, true, false, false, false]);
    expect(await events('anomaly.ip_failures', 'ip', ip)).toHaveLength(1);
  });

  it.concurrent('failures across one region (first 6 digits) fire region_failures once', async () => {
    const d = detector();
    const region = `${100000 + Math.floor(Math.random() * 800000)}`;
    const fired = await feed(d, Array.from({ length: 8 }, () => failure(freshNumber(region), freshIp())));
    expect(fired.map((f) => f.includes('region_failures'))).toEqual([false, false, false, false, true, false, false, false]);
    const rows = await b.db.query(`SELECT 1 FROM audit_events WHERE type = 'anomaly.region_failures' AND details->>'region' = $1`, [region]);
    expect(rows).toHaveLength(1);
  });

  it.concurrent('one IP trying many distinct numbers fires ip_many_numbers once; repeats of one number do not count', async () => {
    const d = detector({ ip_failures: { count: 100, windowSeconds: MINUTE } });
    const ip = freshIp();
    const [n1, n2, n3, n4] = [freshNumber(), freshNumber(), freshNumber(), freshNumber()];
    const fired = await feed(d, [n1, n1, n1, n2, n2, n3, n4, n1].map((n) => failure(n!, ip)));
    expect(fired.map((f) => f.includes('ip_many_numbers'))).toEqual([false, false, false, false, false, true, false, false]);
    const rows = await events('anomaly.ip_many_numbers', 'ip', ip);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details).toMatchObject({ count: 3, threshold: 3 });
  });

  it.concurrent('one person signing in from many IPs fires account_many_ips once, with the account as actor', async () => {
    const d = detector();
    const accountId = randomUUID();
    const number = freshNumber();
    const [a, bIp, c] = [freshIp(), freshIp(), freshIp()];
    const fired = await feed(d, [a, a, bIp, c, a].map((ip) => success(number, ip!, accountId)));
    expect(fired.map((f) => f.includes('account_many_ips'))).toEqual([false, false, true, false, false]);
    const rows = await events('anomaly.account_many_ips', 'actor', accountId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ip).toBe(bIp);
    // Successes feed no failure signal.
    expect(fired.flat().filter((s) => s !== 'account_many_ips')).toEqual([]);
  });

  it.concurrent('fires once under concurrent outcomes', async () => {
    const d = detector();
    const number = freshNumber();
    const results = await Promise.all(Array.from({ length: 25 }, () => d.check(failure(number, freshIp()))));
    expect(results.flat().filter((a) => a.signal === 'account_failures')).toHaveLength(1);
  });

  it.concurrent('fires again in the next window, not before', async () => {
    const d = detector({ account_failures: { count: 2, windowSeconds: 1 } });
    const number = freshNumber();
    const fired = await feed(d, [failure(number, freshIp()), failure(number, freshIp()), failure(number, freshIp())]);
    expect(fired.map((f) => f.includes('account_failures'))).toEqual([false, true, false]);
    await sleep(1200);
    const again = await feed(d, [failure(number, freshIp()), failure(number, freshIp())]);
    expect(again.map((f) => f.includes('account_failures'))).toEqual([false, true]);
  });

  it('never holds up or fails the login: observe returns at once, whether its database hangs or is not there', async ({ skip }) => {
    if (_name !== 'postgres') return skip(); // one real server is enough: a table held by another transaction, then no server at all
    // Hangs: another transaction holds the windows table, so the store's write waits for it.
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => { locked = r; });
    const holding = b.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE anomaly_windows IN ACCESS EXCLUSIVE MODE');
      locked();
      await released;
    });
    await isLocked;
    const slow = detector(THRESHOLDS);
    const started = performance.now();
    slow.observe(failure(freshNumber(), freshIp()));
    expect(performance.now() - started).toBeLessThan(5);
    expect(await Promise.race([slow.settled().then(() => 'settled'), sleep(300).then(() => 'still waiting')])).toBe('still waiting');
    release();
    await holding;
    await slow.settled();
    // Down: a database server that is not there (nothing listens on port 1).
    const gone = createPostgresDb('postgres://postgres@127.0.0.1:1/none');
    try {
      const failing = detector(THRESHOLDS, createDbAnomalyStore(gone));
      expect(() => failing.observe(failure(freshNumber(), freshIp()))).not.toThrow();
      await failing.settled();
      expect(logs.some((l) => l.includes('anomaly detection failed'))).toBe(true);
    } finally {
      await gone.close();
    }
  });

  it('sweeps expired windows', async ({ skip }) => {
    if (_name === 'redis') return skip(); // Redis expires its windows itself: nothing to sweep
    const d = detector({ ip_failures: { count: 100, windowSeconds: 1 } });
    await d.check(failure(freshNumber(), freshIp()));
    const expiring = async () => (await b.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM anomaly_windows WHERE expires_at <= now() + interval '1 second'`))[0]!.n;
    expect(await expiring()).toBeGreaterThan(0); // the check wrote its window
    await sleep(1100);
    await b.store.sweep();
    const [row] = await b.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM anomaly_windows WHERE expires_at <= now()`);
    expect(row!.n).toBe(0);
  });
});
