// One contract for every oidc-provider storage backend: Redis, PostgreSQL and PGlite.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { errors, type AdapterFactory } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDbAdapter, createDbGrantIndex, startSweeper } from '../../src/oidc/adapter-db.ts';
import { backfillAccountGrantIndex, createRedisAdapter, createRedisGrantIndex } from '../../src/oidc/adapter-redis.ts';
import type { GrantIndex } from '../../src/oidc/grant-index.ts';
import { createPgliteDb, createPostgresDb, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createDatabase } from '../support/servers.ts';

interface Backend { factory: AdapterFactory; grants: GrantIndex; db?: Db; redis?: { client: Redis; prefix: string }; close(): Promise<void> }

async function onDb(open: () => Promise<Db>, cleanup = async () => {}): Promise<Backend> {
  const db = await open();
  await migrate(db);
  return { factory: createDbAdapter(db), grants: createDbGrantIndex(db), db, close: async () => { await db.close(); await cleanup(); } };
}

const backends: [string, () => Promise<Backend>][] = [
  ['redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    const prefix = `test:${randomUUID()}:`;
    return {
      factory: createRedisAdapter(redis, prefix), grants: createRedisGrantIndex(redis, prefix), redis: { client: redis, prefix },
      close: async () => { await redis.quit(); },
    };
  }],
  ['postgres', async () => {
    const url = await createDatabase(inject('postgresUrl'), 'adapter_contract');
    return onDb(async () => createPostgresDb(url));
  }],
  ['pglite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yihao-pglite-'));
    return onDb(() => createPgliteDb(dir), () => rm(dir, { recursive: true, force: true }));
  }],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Math.floor(Date.now() / 1000);

describe.each(backends)('oidc adapter on %s', (_name, open) => {
  let backend: Backend;
  const adapter = (model: string) => backend.factory(model);
  beforeAll(async () => { backend = await open(); });
  afterAll(() => backend?.close());

  it.concurrent('stores and finds a payload unchanged', async () => {
    const id = randomUUID();
    const payload = { jti: id, kind: 'AccessToken', accountId: '张三', amr: [], scope: 'openid', extra: { a: [1, { b: null }] }, exp: now() + 60 };
    await adapter('AccessToken').upsert(id, payload, 60);
    expect(await adapter('AccessToken').find(id)).toEqual(payload);
    expect(await adapter('AccessToken').find(randomUUID())).toBeUndefined();
    expect(await adapter('RefreshToken').find(id)).toBeUndefined(); // models do not share ids
  });

  it.concurrent('replaces a payload on a second upsert', async () => {
    const id = randomUUID();
    await adapter('Interaction').upsert(id, { jti: id, returnTo: '/a' }, 60);
    await adapter('Interaction').upsert(id, { jti: id, returnTo: '/b' }, 60);
    expect(await adapter('Interaction').find(id)).toEqual({ jti: id, returnTo: '/b' });
  });

  it.concurrent('forgets a record after expiresIn', async () => {
    const id = randomUUID();
    const uid = randomUUID();
    await adapter('Session').upsert(id, { jti: id, uid }, 1);
    expect(await adapter('Session').findByUid(uid)).toMatchObject({ jti: id });
    await sleep(1300);
    expect(await adapter('Session').find(id)).toBeUndefined();
    expect(await adapter('Session').findByUid(uid)).toBeUndefined();
  });

  it.concurrent('finds a session by its uid and destroys it', async () => {
    const id = randomUUID();
    const uid = randomUUID();
    await adapter('Session').upsert(id, { jti: id, uid, accountId: 'acc-1' }, 60);
    expect(await adapter('Session').findByUid(uid)).toEqual({ jti: id, uid, accountId: 'acc-1' });
    expect(await adapter('Session').findByUid(randomUUID())).toBeUndefined();
    await adapter('Session').destroy(id);
    expect(await adapter('Session').find(id)).toBeUndefined();
    expect(await adapter('Session').findByUid(uid)).toBeUndefined();
    await adapter('Session').destroy(id); // destroying twice is harmless
  });

  it.concurrent('follows a session to the new id it gets at login, and ignores a late destroy of the old one', async () => {
    const uid = randomUUID();
    const [old, current] = [randomUUID(), randomUUID()];
    const signedIn = { uid, accountId: 'acc-1', loginTs: now(), acr: 'urn:yihao:loa:1', amr: ['pwd'], authorizations: { app: { sid: 'sid-1' } } };
    await adapter('Session').upsert(old, { jti: old, uid }, 60);
    // Session#save at login: destroy the old id, then store the signed-in session under a new one.
    await adapter('Session').destroy(old);
    await adapter('Session').upsert(current, { jti: current, ...signedIn }, 60);
    expect(await adapter('Session').findByUid(uid)).toEqual({ jti: current, ...signedIn });
    await adapter('Session').upsert(old, { jti: old, uid }, 60); // a stale copy written late…
    await adapter('Session').upsert(current, { jti: current, ...signedIn }, 60); // …and the live one saved again
    await adapter('Session').destroy(old);
    expect(await adapter('Session').findByUid(uid)).toEqual({ jti: current, ...signedIn });
    expect(await adapter('Session').find(old)).toBeUndefined();
  });

  it.concurrent('finds a device code by its user code', async () => {
    const id = randomUUID();
    await adapter('DeviceCode').upsert(id, { jti: id, userCode: 'ABCD-EFGH', grantId: randomUUID() }, 60);
    expect(await adapter('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ jti: id });
    expect(await adapter('DeviceCode').findByUserCode('ZZZZ-ZZZZ')).toBeUndefined();
    await adapter('DeviceCode').destroy(id);
    expect(await adapter('DeviceCode').findByUserCode('ABCD-EFGH')).toBeUndefined();
  });

  it.concurrent('revokes every token of a grant across models, and only those', async () => {
    const grantId = randomUUID();
    const other = randomUUID();
    const tokens = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode'].map((model) => [model, randomUUID()] as const);
    for (const [model, id] of tokens) await adapter(model).upsert(id, { jti: id, grantId }, 60);
    const kept = randomUUID();
    await adapter('AccessToken').upsert(kept, { jti: kept, grantId: other }, 60);
    await adapter('Grant').upsert(grantId, { jti: grantId, accountId: 'acc-1' }, 60);

    await adapter('RefreshToken').revokeByGrantId(grantId);

    for (const [model, id] of tokens) expect(await adapter(model).find(id)).toBeUndefined();
    expect(await adapter('AccessToken').find(kept)).toBeDefined();
    expect(await adapter('Grant').find(grantId)).toBeDefined(); // the library destroys the Grant itself
  });

  it.concurrent('keeps the grant index as long as its longest-lived member', async () => {
    const grantId = randomUUID();
    const [short, long, short2] = [randomUUID(), randomUUID(), randomUUID()];
    await adapter('AccessToken').upsert(short, { jti: short, grantId }, 1);
    await adapter('RefreshToken').upsert(long, { jti: long, grantId }, 60);
    await adapter('AccessToken').upsert(short2, { jti: short2, grantId }, 1); // must not shorten the index
    await sleep(1300);
    await adapter('AccessToken').revokeByGrantId(grantId);
    expect(await adapter('RefreshToken').find(long)).toBeUndefined();
  });

  it.concurrent('trims expired members from a grant\'s index when it is written', async ({ skip }) => {
    const redis = backend.redis;
    if (!redis) return skip(); // the database finds members by an indexed column, deleted with their rows
    const grantId = randomUUID();
    const members = `${redis.prefix}grant-members:{${grantId}}`;
    const expired = Array.from({ length: 5 }, () => randomUUID());
    for (const id of expired) await adapter('AccessToken').upsert(id, { jti: id, grantId }, 1);
    expect(await redis.client.zcard(members)).toBe(5);
    await sleep(1300);
    const [rt, at] = [randomUUID(), randomUUID()];
    await adapter('RefreshToken').upsert(rt, { jti: rt, grantId }, 60);
    await adapter('AccessToken').upsert(at, { jti: at, grantId }, 30);
    expect((await redis.client.zrange(members, 0, -1)).sort()).toEqual([`${redis.prefix}RefreshToken:${rt}`, `${redis.prefix}AccessToken:${at}`].sort());
    const score = Number(await redis.client.zscore(members, `${redis.prefix}RefreshToken:${rt}`));
    expect(Math.abs(score - (Date.now() + 60_000))).toBeLessThan(5_000); // scored by expiry
    expect(await redis.client.pttl(members)).toBeGreaterThan(55_000); // as long as the longest member
    await adapter('AccessToken').destroy(at);
    expect(await redis.client.zrange(members, 0, -1)).toEqual([`${redis.prefix}RefreshToken:${rt}`]);
  });

  it.concurrent('still revokes tokens listed in a grant index written before it became a sorted set', async ({ skip }) => {
    const redis = backend.redis;
    if (!redis) return skip();
    const [grantId, old] = [randomUUID(), randomUUID()];
    await redis.client.set(`${redis.prefix}RefreshToken:${old}`, JSON.stringify({ jti: old, grantId }), 'EX', 60);
    await redis.client.sadd(`${redis.prefix}grant:{${grantId}}`, `${redis.prefix}RefreshToken:${old}`);
    await adapter('RefreshToken').revokeByGrantId(grantId);
    expect(await adapter('RefreshToken').find(old)).toBeUndefined();
  });

  it.concurrent('indexes grants stored before the index by account existed, once per deployment', async ({ skip }) => {
    if (!backend.redis) return skip();
    const { client } = backend.redis;
    const prefix = `test:${randomUUID()}:`; // a deployment of its own: its own marker
    const [person, g1, g2] = [randomUUID(), randomUUID(), randomUUID()];
    const grants = createRedisAdapter(client, prefix)('Grant');
    await grants.upsert(g1, { jti: g1, accountId: person, clientId: 'a' }, 60);
    await grants.upsert(g2, { jti: g2, accountId: person, clientId: 'b' }, 600);
    await client.del(`${prefix}grants:acct:${person}`); // as an older release stored them
    const index = createRedisGrantIndex(client, prefix);
    expect(await index.grantsOf(person)).toEqual([]);

    expect(await backfillAccountGrantIndex(client, prefix)).toBe(2);
    expect((await index.grantsOf(person)).sort()).toEqual([g1, g2].sort());
    const ttl = await client.pttl(`${prefix}grants:acct:${person}`);
    expect(ttl).toBeGreaterThan(590_000); // as long as its longest member
    expect(ttl).toBeLessThanOrEqual(600_000);
    expect(await backfillAccountGrantIndex(client, prefix)).toBe(0); // done once
  });

  it.concurrent('finds a person\'s live grants, and only theirs', async () => {
    const [person, other] = [randomUUID(), randomUUID()];
    const [g1, g2, short, gone, theirs] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await adapter('Grant').upsert(g1, { jti: g1, accountId: person, clientId: 'a' }, 60);
    await adapter('Grant').upsert(g2, { jti: g2, accountId: person, clientId: 'b' }, 60);
    await adapter('Grant').upsert(g2, { jti: g2, accountId: person, clientId: 'b', openid: { scope: 'openid' } }, 59); // saved again
    await adapter('Grant').upsert(short, { jti: short, accountId: person, clientId: 'c' }, 1);
    await adapter('Grant').upsert(gone, { jti: gone, accountId: person, clientId: 'd' }, 60);
    await adapter('Grant').upsert(theirs, { jti: theirs, accountId: other, clientId: 'a' }, 60);
    await adapter('Grant').destroy(gone);
    expect((await backend.grants.grantsOf(person)).sort()).toEqual([g1, g2, short].sort());
    await sleep(1300);
    expect((await backend.grants.grantsOf(person)).sort()).toEqual([g1, g2].sort());
    expect(await backend.grants.grantsOf(other)).toEqual([theirs]);
    expect(await backend.grants.grantsOf(randomUUID())).toEqual([]);

    // A reused refresh token kills its grant: gone from the person's grants too.
    const rt = randomUUID();
    await adapter('RefreshToken').upsert(rt, { jti: rt, grantId: g1 }, 60);
    await adapter('RefreshToken').consume(rt);
    await expect(adapter('RefreshToken').consume(rt)).rejects.toThrow(errors.InvalidGrant);
    expect(await backend.grants.grantsOf(person)).toEqual([g2]);
    if (backend.redis) { // the person's index was trimmed of the expired grant when written
      const key = `${backend.redis.prefix}grants:acct:${person}`;
      await adapter('Grant').upsert(g1, { jti: g1, accountId: person, clientId: 'a' }, 60);
      expect((await backend.redis.client.zrange(key, 0, -1)).sort()).toEqual([g1, g2].sort());
    }
  });

  it.concurrent('marks a record consumed and keeps its expiry', async () => {
    const id = randomUUID();
    await adapter('AuthorizationCode').upsert(id, { jti: id, grantId: randomUUID(), amr: [] }, 1);
    await adapter('AuthorizationCode').consume(id);
    const found = await adapter('AuthorizationCode').find(id);
    expect(found).toMatchObject({ jti: id, amr: [] });
    expect(Math.abs(found!.consumed - now())).toBeLessThanOrEqual(2);
    await sleep(1300);
    expect(await adapter('AuthorizationCode').find(id)).toBeUndefined();
  });

  it.concurrent('refuses to consume an unknown record', async () => {
    await expect(adapter('AuthorizationCode').consume(randomUUID())).rejects.toBeInstanceOf(errors.InvalidGrant);
  });

  it.concurrent('revokes the grant when a consumed record is consumed again', async () => {
    const grantId = randomUUID();
    const [rt, at] = [randomUUID(), randomUUID()];
    await adapter('Grant').upsert(grantId, { jti: grantId }, 60);
    await adapter('RefreshToken').upsert(rt, { jti: rt, grantId }, 60);
    await adapter('AccessToken').upsert(at, { jti: at, grantId }, 60);
    await adapter('RefreshToken').consume(rt);
    expect(await adapter('AccessToken').find(at)).toBeDefined();

    await expect(adapter('RefreshToken').consume(rt)).rejects.toThrow(errors.InvalidGrant);
    expect(await adapter('RefreshToken').find(rt)).toBeUndefined();
    expect(await adapter('AccessToken').find(at)).toBeUndefined();
    expect(await adapter('Grant').find(grantId)).toBeUndefined();
  });

  it.concurrent('lets exactly one of 20 concurrent redemptions of a code succeed', async () => {
    const grantId = randomUUID();
    const [code, at] = [randomUUID(), randomUUID()];
    await adapter('Grant').upsert(grantId, { jti: grantId }, 60);
    await adapter('AuthorizationCode').upsert(code, { jti: code, grantId }, 60);
    await adapter('AccessToken').upsert(at, { jti: at, grantId }, 60);

    const results = await Promise.allSettled(Array.from({ length: 20 }, () => adapter('AuthorizationCode').consume(code)));

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(errors.InvalidGrant);
    expect(await adapter('AuthorizationCode').find(code)).toBeUndefined();
    expect(await adapter('AccessToken').find(at)).toBeUndefined();
    expect(await adapter('Grant').find(grantId)).toBeUndefined();
  });

  it.concurrent('sweeps expired rows from the table, and only those', async ({ skip }) => {
    const db = backend.db;
    if (!db) return skip(); // Redis expires keys itself
    const [gone, kept] = [randomUUID(), randomUUID()];
    await adapter('Interaction').upsert(gone, { jti: gone }, 1);
    await adapter('Interaction').upsert(kept, { jti: kept }, 60);
    const stop = startSweeper(db, 100);
    try {
      await vi.waitFor(async () => {
        const rows = await db.query<{ id: string }>('SELECT id FROM oidc_models WHERE id = ANY($1)', [[gone, kept]]);
        expect(rows.map((r) => r.id)).toEqual([kept]);
      }, { timeout: 5000, interval: 100 });
    } finally {
      stop();
    }
  });
});
