// Session indexes follow the Session records the provider writes — login, new id at login, apps added and
// removed, logout, expiry — on Redis, PostgreSQL and PGlite, through the real adapters.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { AdapterFactory } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbAdapter } from '../../src/oidc/adapter-db.ts';
import { createRedisAdapter } from '../../src/oidc/adapter-redis.ts';
import { createPgliteDb, createPostgresDb, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createRedisSessionIndex } from '../../src/sessions/session-index-redis.ts';
import { createDbSessionIndex } from '../../src/sessions/session-index-db.ts';
import { InvalidCursor, type SessionIndex } from '../../src/sessions/session-index.ts';
import { createDatabase } from '../support/servers.ts';

interface Backend { adapter: AdapterFactory; index: SessionIndex; close(): Promise<void> }

async function onDb(db: Db, cleanup = async () => {}): Promise<Backend> {
  await migrate(db);
  return { adapter: createDbAdapter(db), index: createDbSessionIndex(db), close: async () => { await db.close(); await cleanup(); } };
}

const backends: [string, () => Promise<Backend>][] = [
  ['redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    const prefix = `test:${randomUUID()}:`;
    return { adapter: createRedisAdapter(redis, prefix), index: createRedisSessionIndex(redis, prefix), close: async () => { await redis.quit(); } };
  }],
  ['postgres', async () => onDb(createPostgresDb(await createDatabase(inject('postgresUrl'), 'sessions_index')))],
  ['pglite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yihao-pglite-'));
    return onDb(await createPgliteDb(dir), () => rm(dir, { recursive: true, force: true }));
  }],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Math.floor(Date.now() / 1000);

/** A Session payload as oidc-provider 9 writes it after login. */
function session(o: { uid?: string; accountId?: string; loginTs?: number; clients?: string[] } = {}) {
  const jti = randomUUID();
  return {
    jti, kind: 'Session', uid: o.uid ?? randomUUID(), iat: now(), exp: now() + 3600,
    ...(o.accountId ? { accountId: o.accountId, loginTs: o.loginTs ?? now(), acr: 'urn:yihao:loa:1', amr: ['pwd'] } : {}),
    authorizations: Object.fromEntries((o.clients ?? []).map((c) => [c, { sid: randomUUID(), grantId: randomUUID() }])),
  };
}

describe.each(backends)('session indexes on %s', (_name, open) => {
  let b: Backend;
  const sessions = () => b.adapter('Session');
  beforeAll(async () => { b = await open(); });
  afterAll(() => b?.close());

  it('lists a signed-in session by person, by app and among all, with what the console shows', async () => {
    const [accountId, app] = [randomUUID(), `app-${randomUUID()}`];
    const s = session({ accountId, clients: [app, 'other-app'] });
    await sessions().upsert(s.jti, s, 3600);
    const anonymous = session();
    await sessions().upsert(anonymous.jti, anonymous, 3600);

    const [byPerson] = (await b.index.list({ accountId })).items;
    expect(byPerson).toMatchObject({ uid: s.uid, accountId, loginAt: s.loginTs, acr: 'urn:yihao:loa:1', amr: ['pwd'] });
    expect(byPerson!.clients.sort()).toEqual([app, 'other-app'].sort());
    expect(Math.abs(byPerson!.lastActiveAt - Date.now())).toBeLessThan(5000);
    expect(byPerson!.expiresAt).toBeGreaterThan(Date.now() + 3500_000);
    expect((await b.index.list({ clientId: app })).items.map((e) => e.uid)).toEqual([s.uid]);
    const all = (await b.index.list({}, { limit: 500 })).items.map((e) => e.uid);
    expect(all).toContain(s.uid);
    expect(all).not.toContain(anonymous.uid); // not signed in: nobody's session
    expect(await b.index.count({ accountId })).toBe(1);
    expect(await b.index.get(s.uid)).toMatchObject({ uid: s.uid, accountId });

    // Activity (the provider saving the same session again, later): newer last activity and expiry, same lists.
    await sleep(20);
    await sessions().upsert(s.jti, s, 7200);
    const [again] = (await b.index.list({ clientId: app })).items;
    expect(again!.uid).toBe(s.uid);
    expect(again!.lastActiveAt).toBeGreaterThan(byPerson!.lastActiveAt);
    expect(again!.expiresAt).toBeGreaterThan(Date.now() + 7100_000);
    expect((await b.index.list({ accountId })).items.map((e) => e.uid)).toEqual([s.uid]);
  });

  it('keeps the login IP and user agent across the new id a session gets at login, and indexes the IP', async () => {
    const [accountId, ip] = [randomUUID(), `10.${Math.floor(Math.random() * 250)}.0.${Math.floor(Math.random() * 250)}`];
    const first = session({ accountId });
    await sessions().upsert(first.jti, first, 3600);
    await b.index.recordLoginContext(first.uid, { ip, userAgent: 'Mozilla/5.0 (iPhone) 微信' });
    expect((await b.index.list({ ip })).items).toMatchObject([{ uid: first.uid, ip, userAgent: 'Mozilla/5.0 (iPhone) 微信' }]);

    // Session#save at login: destroy the old id, then upsert the new one under the same uid.
    const rotated = { ...first, jti: randomUUID() };
    await sessions().destroy(first.jti);
    await sessions().upsert(rotated.jti, rotated, 3600);
    expect((await b.index.list({ ip })).items).toMatchObject([{ uid: first.uid, ip }]);
    expect(await b.index.get(first.uid)).toMatchObject({ ip, userAgent: 'Mozilla/5.0 (iPhone) 微信' });

    // Logging in again from elsewhere moves it to the new IP.
    await b.index.recordLoginContext(first.uid, { ip: `${ip}9`, userAgent: 'curl' });
    expect((await b.index.list({ ip })).items).toEqual([]);
    expect((await b.index.list({ ip: `${ip}9` })).items.map((e) => e.uid)).toEqual([first.uid]);
  });

  it('follows the apps a session is used at, added and removed', async () => {
    const [accountId, a, c] = [randomUUID(), `a-${randomUUID()}`, `c-${randomUUID()}`];
    const s = session({ accountId, clients: [a] });
    await sessions().upsert(s.jti, s, 3600);
    const withC = { ...s, authorizations: { ...s.authorizations, [c]: { sid: randomUUID() } } };
    await sessions().upsert(s.jti, withC, 3600);
    expect((await b.index.list({ clientId: c })).items.map((e) => e.uid)).toEqual([s.uid]);
    const withoutA = { ...s, authorizations: { [c]: withC.authorizations[c]! } };
    await sessions().upsert(s.jti, withoutA, 3600);
    expect((await b.index.list({ clientId: a })).items).toEqual([]);
    expect((await b.index.list({ accountId })).items[0]!.clients).toEqual([c]);
  });

  it('forgets a session at logout, but not when an older id of it is destroyed late', async () => {
    const [accountId, app] = [randomUUID(), `app-${randomUUID()}`];
    const s = session({ accountId, clients: [app] });
    await sessions().upsert(s.jti, s, 3600);
    await b.index.recordLoginContext(s.uid, { ip: '192.0.2.77', userAgent: 'x' });
    const stale = { ...s, jti: randomUUID() }; // an id the session no longer has
    await sessions().upsert(stale.jti, stale, 3600);
    await sessions().upsert(s.jti, s, 3600); // uid → the current id again
    await sessions().destroy(stale.jti);
    expect((await b.index.list({ accountId })).items.map((e) => e.uid)).toEqual([s.uid]);

    await sessions().destroy(s.jti);
    expect((await b.index.list({ accountId })).items).toEqual([]);
    expect((await b.index.list({ clientId: app })).items).toEqual([]);
    expect((await b.index.list({ ip: '192.0.2.77' })).items.map((e) => e.uid)).not.toContain(s.uid);
    expect((await b.index.list({}, { limit: 500 })).items.map((e) => e.uid)).not.toContain(s.uid);
    expect(await b.index.count({ accountId })).toBe(0);
    expect(await b.index.get(s.uid)).toBeUndefined();
  });

  it('never saves a session again once it is marked ended, not even under a new id', async () => {
    const accountId = randomUUID();
    const s = session({ accountId });
    await sessions().upsert(s.jti, s, 3600);
    await b.index.markEnded(s.uid, Date.now() + 60_000);
    await sessions().destroy(s.jti);
    await sessions().upsert(s.jti, s, 3600); // a request that loaded it before, saving it after
    const renewed = { ...s, jti: randomUUID() };
    await sessions().upsert(renewed.jti, renewed, 3600); // a login giving it a new id
    expect(await sessions().find(s.jti)).toBeUndefined();
    expect(await sessions().find(renewed.jti)).toBeUndefined();
    expect(await sessions().findByUid(s.uid)).toBeUndefined();
    expect((await b.index.list({ accountId })).items).toEqual([]);
    const other = session({ accountId }); // the person signing in again gets a new session
    await sessions().upsert(other.jti, other, 3600);
    expect((await b.index.list({ accountId })).items.map((e) => e.uid)).toEqual([other.uid]);
  });

  it('forgets an expired session without anyone deleting it', async () => {
    const [accountId, app] = [randomUUID(), `app-${randomUUID()}`];
    const s = session({ accountId, clients: [app] });
    await sessions().upsert(s.jti, s, 1);
    await b.index.recordLoginContext(s.uid, { ip: '198.51.100.5' });
    expect(await b.index.count({ accountId })).toBe(1);
    await sleep(1300);
    expect((await b.index.list({ accountId })).items).toEqual([]);
    expect((await b.index.list({ clientId: app })).items).toEqual([]);
    expect((await b.index.list({}, { limit: 500 })).items.map((e) => e.uid)).not.toContain(s.uid);
    expect(await b.index.count({ accountId })).toBe(0);
    expect(await b.index.count({ clientId: app })).toBe(0);
    expect(await b.index.get(s.uid)).toBeUndefined();
  });

  it('pages newest login first, ties included, each session exactly once', async () => {
    const app = `app-${randomUUID()}`;
    const base = now() - 1000;
    const logins = [base, base + 5, base + 5, base + 5, base + 9, base + 2, base + 5];
    const made = [];
    for (const loginTs of logins) {
      const s = session({ accountId: randomUUID(), clients: [app], loginTs });
      await sessions().upsert(s.jti, s, 3600);
      made.push(s);
    }
    const seen: { uid: string; loginAt: number }[] = [];
    let cursor: string | undefined;
    do {
      const page = await b.index.list({ clientId: app }, { limit: 3, cursor });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((e) => e.uid).sort()).toEqual(made.map((s) => s.uid).sort());
    expect(seen.map((e) => e.loginAt)).toEqual([...logins].sort((x, y) => y - x));
    await expect(b.index.list({ clientId: app }, { cursor: 'bm90IGEgY3Vyc29y' })).rejects.toBeInstanceOf(InvalidCursor);
  });
});
