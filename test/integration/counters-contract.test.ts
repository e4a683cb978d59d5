// One contract for the login-throttling counters on Redis, PostgreSQL and PGlite.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbCounters, createRedisCounters, type Counters } from '../../src/store/counters.ts';
import { createPgliteDb, createPostgresDb, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createDatabase } from '../support/servers.ts';

interface Backend { counters: Counters; close(): Promise<void> }

async function onDb(open: () => Promise<Db>, cleanup = async () => {}): Promise<Backend> {
  const db = await open();
  await migrate(db);
  return { counters: createDbCounters(db), close: async () => { await db.close(); await cleanup(); } };
}

const backends: [string, () => Promise<Backend>][] = [
  ['redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    return { counters: createRedisCounters(redis, `test:${randomUUID()}:`), close: async () => { await redis.quit(); } };
  }],
  ['postgres', async () => {
    const url = await createDatabase(inject('postgresUrl'), 'counters_contract');
    return onDb(async () => createPostgresDb(url));
  }],
  ['pglite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yihao-pglite-'));
    return onDb(() => createPgliteDb(dir), () => rm(dir, { recursive: true, force: true }));
  }],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(backends)('counters on %s', (_name, open) => {
  let c: Counters;
  let backend: Backend;
  beforeAll(async () => { backend = await open(); c = backend.counters; });
  afterAll(() => backend?.close());

  it.concurrent('counts hits per key', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    expect(await c.get(a)).toBe(0);
    expect([await c.hit(a, 60, 100), await c.hit(a, 60, 100), await c.hit(a, 60, 100)]).toEqual([1, 2, 3]);
    expect(await c.hit(b, 60, 100)).toBe(1);
    expect(await c.get(a)).toBe(3);
  });

  it.concurrent('resets a key', async () => {
    const k = randomUUID();
    await c.hit(k, 60, 100);
    await c.reset(k);
    expect(await c.get(k)).toBe(0);
    expect(await c.hit(k, 60, 100)).toBe(1);
  });

  it.concurrent('expires a window counted from its first hit', async () => {
    const k = randomUUID();
    await c.hit(k, 1, 100);
    await sleep(600);
    expect(await c.hit(k, 1, 100)).toBe(2); // does not restart the window below extendAt
    await sleep(600);
    expect(await c.get(k)).toBe(0);
    expect(await c.hit(k, 1, 100)).toBe(1);
  });

  it.concurrent('restarts the window from every hit at or above extendAt', async () => {
    const k = randomUUID();
    await c.hit(k, 2, 2);
    await sleep(1200);
    expect(await c.hit(k, 2, 2)).toBe(2); // window now ends 2 s from here
    await sleep(1200);
    expect(await c.get(k)).toBe(2); // past the first window's end
    await sleep(1200);
    expect(await c.get(k)).toBe(0);
  });

  it.concurrent('counts a hit only while the other counter is below its limit, and leaves that one alone', async () => {
    const [k, gate] = [randomUUID(), randomUUID()];
    const unless = { key: gate, atLeast: 2 };
    expect(await c.hitUnless(k, 60, 100, unless)).toBe(1); // no gate counter yet: 0
    await c.hit(gate, 60, 100);
    expect(await c.hitUnless(k, 60, 100, unless)).toBe(2);
    await c.hit(gate, 60, 100); // the gate reaches its limit
    expect(await c.hitUnless(k, 60, 100, unless)).toBeUndefined();
    expect(await c.hitUnless(k, 60, 100, unless)).toBeUndefined();
    expect([await c.get(k), await c.get(gate)]).toEqual([2, 2]);
    await c.reset(gate);
    expect(await c.hitUnless(k, 60, 100, unless)).toBe(3);
  });

  it.concurrent('counts again once the other counter\'s window is over', async () => {
    const [k, gate] = [randomUUID(), randomUUID()];
    await c.hit(gate, 1, 100);
    expect(await c.hitUnless(k, 60, 100, { key: gate, atLeast: 1 })).toBeUndefined();
    await sleep(1200);
    expect(await c.hitUnless(k, 60, 100, { key: gate, atLeast: 1 })).toBe(1);
  });

  it.concurrent('gives 50 parallel gated hits the counts 1..50 exactly once', async () => {
    const [k, gate] = [randomUUID(), randomUUID()];
    const counts = await Promise.all(Array.from({ length: 50 }, () => c.hitUnless(k, 60, 1000, { key: gate, atLeast: 1 })));
    expect(counts.sort((x, y) => x! - y!)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it.concurrent('gives 50 parallel hits the counts 1..50 exactly once', async () => {
    const k = randomUUID();
    const counts = await Promise.all(Array.from({ length: 50 }, () => c.hit(k, 60, 1000)));
    expect(counts.sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await c.get(k)).toBe(50);
  });
});
