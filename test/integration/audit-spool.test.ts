// Protocol audit events (sso.connect, token.*, logout…) on their way through the Redis spool: durable
// before the response, in the chain in order and exactly once — across a PostgreSQL outage, a drainer that
// dies between commit and trim, and two drainers racing — and no code or token when the spool refuses them.
import { describe, it, expect, beforeAll, afterAll, inject, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createDatabase, startPostgres, type RestartableServer } from '../support/servers.ts';
import { createPostgresDb, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createLogger } from '../../src/log.ts';
import { createAudit, auditRow, type AuditEvent } from '../../src/audit/audit.ts';
import { groupCommit } from '../../src/audit/group-commit.ts';
import { createSpoolDrainer } from '../../src/audit/spool.ts';
import { SPOOL_THREAD_APPLICATION_NAME } from '../../src/audit/spool-thread.ts';
import { verifyChain } from '../../src/audit/verify.ts';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, submitLogin, finish, oidc, type RpClient } from '../support/relying-party.ts';

const silent = createLogger('silent');
const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery' };
const A: RpClient = { id: 'tax-service', secret: 'a'.repeat(40), redirectUri: 'http://localhost:4999/a/cb', postLogoutUri: 'http://localhost:4999/a/' };
const B: RpClient = { id: 'civil-affairs', secret: 'b'.repeat(40), redirectUri: 'http://localhost:4999/b/cb', postLogoutUri: 'http://localhost:4999/b/' };
const CLIENTS = [A, B].map((c) => ({
  client_id: c.id, client_secret: c.secret, client_name: c.id, department: '税务局', first_party: true, redirect_uris: [c.redirectUri],
}));

const event = (n: number): AuditEvent => ({ type: 'token.issued', outcome: 'success', actor: `acct-${n}`, clientId: 'tax', details: { n } });

interface Row { id: number; at: string; type: string; actor: string | null; client_id: string | null; session_id: string | null; ip: string | null; request_id: string | null; details: Record<string, unknown> }
const protocolRows = (db: Db) => db.query<Row>(
  `SELECT id, audit_time_text(at) AS at, type, actor, client_id, session_id, ip, request_id, details FROM audit_events
   WHERE type IN ('login.success', 'sso.connect', 'token.issued', 'token.refreshed') ORDER BY id`);

async function createAccount(y: RunningYihao): Promise<string> {
  const { core } = y.yihao;
  return (await createCitizen(y, { idNumber: CITIZEN.idNumber, name: '张三', password: CITIZEN.password })).id;
}

/** Logs in at `rp` and exchanges the code. */
async function signIn(y: RunningYihao, browser: Browser, rp: RpClient) {
  const config = await discover(y.issuer, rp);
  const req = await authorizationRequest(config, rp, 'openid');
  const back = await submitLogin(browser, await browser.navigate(req.url, rp.redirectUri), CITIZEN.idNumber, CITIZEN.password, rp.redirectUri);
  return finish(config, back.url, req);
}

/** Connects to `rp` from the browser's SSO session (no form) and exchanges the code. */
async function connect(y: RunningYihao, browser: Browser, rp: RpClient) {
  const config = await discover(y.issuer, rp);
  const req = await authorizationRequest(config, rp, 'openid');
  const back = await browser.navigate(req.url, rp.redirectUri);
  expect(back.url.startsWith(`${rp.redirectUri}?code=`), back.html).toBe(true);
  return finish(config, back.url, req);
}

describe('protocol events through the Redis spool, with PostgreSQL stopped and restarted', () => {
  let pg: RestartableServer;
  let y: RunningYihao;
  let accountId: string;
  let key: string;

  beforeAll(async () => {
    pg = await startPostgres();
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    key = `${prefix}audit:spool`;
    // 'embedded' only names the default; these variables make it PostgreSQL (this test's own server) + Redis.
    y = await startYihao({ storage: 'embedded', clients: CLIENTS, env: { DATABASE_URL: pg.url, REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: prefix } });
    accountId = await createAccount(y);
  });
  afterAll(async () => {
    await y?.stop();
    await pg?.stop();
  });

  it('writes sso.connect and token.issued into the chain in order, with their fields, through the spool', async () => {
    const { core } = y.yihao;
    const browser = new Browser({ 'user-agent': 'spool-test' });
    await signIn(y, browser, A);
    const tokens = await connect(y, browser, B);
    // Durable before the response: the moment the app holds its tokens, the event is in the spool or the chain.
    const spooled = (await core.redis!.xrange(key, '-', '+')).map(([, f]) => JSON.parse(f[1]!) as Pick<Row, 'type' | 'client_id' | 'request_id'>);
    const appended = await protocolRows(core.db); // read after the spool: an event drained in between is in one of them
    expect(typeof tokens.access_token).toBe('string');
    const found = [...spooled, ...appended].filter((e) => e.type === 'token.issued' && e.client_id === B.id);
    expect(new Set(found.map((e) => e.request_id)).size).toBe(1);
    await core.audit.flush();

    const rows = await protocolRows(core.db);
    expect(rows.map((r) => `${r.type}:${r.client_id}`)).toEqual(['login.success:tax-service', 'sso.connect:tax-service', 'token.issued:tax-service', 'sso.connect:civil-affairs', 'token.issued:civil-affairs']);
    for (const r of rows) {
      expect(r).toMatchObject({ actor: accountId, ip: expect.stringMatching(/127\.0\.0\.1/), request_id: expect.any(String) });
    }
    const [, connectA, tokenA] = rows;
    expect(connectA).toMatchObject({ session_id: expect.any(String), details: { scope: 'openid' } });
    expect(tokenA!.details).toEqual({ grant_type: 'authorization_code' });
    expect(tokenA!.at >= connectA!.at).toBe(true); // each keeps the time it happened
    // They came through the spool: its cursor moved and the stream is trimmed behind it.
    expect((await core.db.query<{ p: string }>('SELECT audit_spool_position($1) AS p', [key]))[0]!.p).not.toBe('0-0');
    expect(await core.redis!.xlen(key)).toBe(0);
    expect((await verifyChain(core.db)).findings).toEqual([]);
    // Drained off the request thread: by the spool thread's own connection, named for operators.
    const drainers = await core.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, [SPOOL_THREAD_APPLICATION_NAME]);
    expect(drainers[0]!.n).toBeGreaterThan(0);
  });

  it('writes sso.connect in the MULTI that stores the code, and token.issued in the access token\'s: no round trip of their own', async () => {
    const browser = new Browser();
    await signIn(y, browser, A);
    const monitor = await new Redis(inject('redisUrl')).monitor();
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => { if (args.some((a) => a.startsWith(key.slice(0, -'audit:spool'.length))) || /^(multi|exec)$/i.test(args[0]!)) commands.push(args); });
    try {
      await connect(y, browser, B);
      await vi.waitFor(() => expect(commands.filter((c) => /^xadd$/i.test(c[0]!))).toHaveLength(2), { timeout: 5000, interval: 50 });
    } finally {
      monitor.disconnect();
    }
    // Each XADD sits inside a MULTI…EXEC beside the SET of the record its event describes.
    const blocks: string[][][] = [];
    let open: string[][] | undefined;
    for (const c of commands) {
      if (/^multi$/i.test(c[0]!)) open = [];
      else if (/^exec$/i.test(c[0]!)) { if (open) blocks.push(open); open = undefined; }
      else open?.push(c);
    }
    const recordOf = (type: string) => {
      const block = blocks.find((b) => b.some((c) => /^xadd$/i.test(c[0]!) && c.at(-1)!.includes(`"type":"${type}"`)));
      return block?.find((c) => /^set$/i.test(c[0]!))?.[1]?.replace(/^.*oidc:/, '').split(':')[0];
    };
    expect(recordOf('sso.connect')).toBe('AuthorizationCode');
    expect(recordOf('token.issued')).toBe('AccessToken');
  });

  it('keeps connecting while PostgreSQL is down and appends every event once, in order, when it is back', async () => {
    const { core } = y.yihao;
    const browser = new Browser();
    await signIn(y, browser, A); // fresh in the account cache, which the connects below read while PostgreSQL is down
    await core.audit.flush();
    const before = (await protocolRows(core.db)).length;

    await pg.halt();
    const connects = [await connect(y, browser, B), await connect(y, browser, A), await connect(y, browser, B)];
    expect(connects.every((t) => typeof t.access_token === 'string')).toBe(true);
    expect(await core.redis!.xlen(key)).toBe(6); // three sso.connect and three token.issued wait in Redis
    await vi.waitFor(() => expect(y.logs.join('')).toContain('audit spool: events wait in Redis'), { timeout: 10_000, interval: 100 });
    // Two more sweeps fail while we wait (a pause for the retries, not for an event): still one warning.
    await new Promise((r) => setTimeout(r, 2200));
    await expect(core.audit.flush()).rejects.toThrow();
    expect(y.logs.filter((l) => l.includes('audit spool: events wait in Redis'))).toHaveLength(1); // once per outage

    await pg.resume();
    await vi.waitFor(() => core.audit.flush(), { timeout: 30_000, interval: 200 });
    const after = (await protocolRows(core.db)).slice(before);
    expect(after.map((r) => `${r.type}:${r.client_id}`)).toEqual([
      'sso.connect:civil-affairs', 'token.issued:civil-affairs', 'sso.connect:tax-service', 'token.issued:tax-service',
      'sso.connect:civil-affairs', 'token.issued:civil-affairs',
    ]);
    expect(new Set(after.map((r) => r.request_id)).size).toBe(6); // six requests, each recorded once
    expect(after.every((r) => r.actor === accountId)).toBe(true);
    expect(await core.redis!.xlen(key)).toBe(0);
    expect(y.logs.filter((l) => l.includes('audit spool: draining again'))).toHaveLength(1);
    expect((await verifyChain(core.db)).findings).toEqual([]);
    expect(y.logs.join('')).not.toContain(CITIZEN.idNumber);
  });
});

describe('a protocol event the spool refuses', () => {
  let y: RunningYihao;
  let key: string;

  beforeAll(async () => {
    y = await startYihao({ storage: 'postgres+redis', clients: CLIENTS });
    key = `${y.env.REDIS_KEY_PREFIX}audit:spool`;
    await createAccount(y);
  });
  afterAll(async () => { await y?.stop(); });

  // The stream key holding a string makes every XADD fail (WRONGTYPE) while the rest of Redis works.
  // Drained first: SET replaces the stream, and with it anything still waiting there.
  const breakSpool = async () => {
    await y.yihao.core.audit.flush();
    await y.yihao.core.redis!.set(key, 'not a stream');
  };
  const mendSpool = () => y.yihao.core.redis!.del(key);

  it('delivers no code: the browser gets an error page instead of the redirect to the app', async () => {
    const browser = new Browser();
    await signIn(y, browser, A);
    await breakSpool();
    try {
      const config = await discover(y.issuer, B);
      const page = await browser.navigate((await authorizationRequest(config, B, 'openid')).url, B.redirectUri);
      expect(page.status).toBe(503);
      expect(page.url.startsWith(B.redirectUri)).toBe(false);
      expect(page.location).toBeUndefined();
      expect(page.html).not.toMatch(/code=|WRONGTYPE|audit:spool/);
      expect(y.logs.join('')).toContain('audit write failed');
    } finally {
      await mendSpool();
    }
    await connect(y, browser, B); // works again at once
  });

  it('delivers no token: the token endpoint answers 503 temporarily_unavailable', async () => {
    const browser = new Browser();
    await signIn(y, browser, A);
    const config = await discover(y.issuer, B);
    const req = await authorizationRequest(config, B, 'openid');
    const back = await browser.navigate(req.url, B.redirectUri);
    const code = new URL(back.url).searchParams.get('code')!;
    await breakSpool();
    try {
      const res = await fetch(`${y.issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${B.id}:${B.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: B.redirectUri, code_verifier: req.verifier }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = await res.json() as Record<string, unknown>;
      expect(body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
      expect(JSON.stringify(body)).not.toMatch(/WRONGTYPE|audit:spool/);
    } finally {
      await mendSpool();
    }
    await y.yihao.core.audit.flush();
    const types = (await protocolRows(y.yihao.core.db)).map((r) => `${r.type}:${r.client_id}`);
    // The refused connect and the refused exchange left nothing; the others are there once each.
    expect(types.filter((t) => t === 'sso.connect:civil-affairs')).toHaveLength(2);
    expect(types.filter((t) => t === 'token.issued:civil-affairs')).toHaveLength(1);
  });
});

describe('the drainer', () => {
  let url: string;
  let db: Db;
  const redis = () => new Redis(inject('redisUrl'), { enableAutoPipelining: true });
  const conns: Redis[] = [];
  const pools: Db[] = [];

  beforeAll(async () => {
    url = await createDatabase(inject('postgresUrl'), 'audit_spool');
    db = createPostgresDb(url);
    await migrate(db);
  });
  afterAll(async () => {
    for (const c of conns) c.disconnect();
    for (const p of pools) await p.close();
    await db?.close();
  });

  const drainer = (o: { batchSize?: number; db?: Db } = {}, key = `t${randomBytes(4).toString('hex')}:audit:spool`) => {
    const r = redis();
    conns.push(r);
    return createSpoolDrainer({ db: o.db ?? db, redis: r, key, log: silent, timers: false, batchSize: o.batchSize });
  };
  const numbers = async (from: number) => (await db.query<{ n: number }>(
    `SELECT (details->>'n')::int AS n FROM audit_events WHERE id > $1 ORDER BY id`, [from])).map((r) => r.n);
  const head = async () => Number((await db.query<{ id: number }>('SELECT id FROM audit_chain_head'))[0]!.id);

  it('appends nothing twice after dying between the commit and the trim', async () => {
    const start = await head();
    const key = `t${randomBytes(4).toString('hex')}:audit:spool`;
    const first = drainer({}, key);
    for (let n = 0; n < 5; n++) await first.add(event(n));
    const entries = await first.read();
    expect(await first.commit(entries)).toHaveLength(5);
    // …the process dies here: the events are in the chain, and the stream still holds them.
    expect(await conns.at(-1)!.xlen(key)).toBe(5);

    // A drainer started afterwards (another process, or this one restarted) reads past them and trims.
    const next = drainer({}, key);
    expect(await next.read()).toEqual([]);
    await next.flush(); // nothing to append; the leftovers are trimmed
    expect(await conns.at(-1)!.xlen(key)).toBe(0);
    await next.add(event(5));
    await next.flush();
    expect(await numbers(start)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await conns.at(-1)!.xlen(key)).toBe(0);
    expect(await first.commit(entries)).toEqual([]); // the dead drainer's batch, committed once more: skipped
    expect(await numbers(start)).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await verifyChain(db)).findings).toEqual([]);
  });

  it('stores NUL and lone surrogates from a request as U+FFFD: such an event neither fails nor blocks the ones behind it', async () => {
    const start = await head();
    const key = `t${randomBytes(4).toString('hex')}:audit:spool`;
    const d = drainer({}, key);
    await d.add({ type: 'token.revoked', outcome: 'success', userAgent: 'ua\u0000x', details: { token_type_hint: '\u0000', ['k\u0000']: 'a\uD800b' } });
    // As an older release spooled it, uncleaned: the drainer cleans it too.
    await conns.at(-1)!.xadd(key, '*', 'e', JSON.stringify({
      at: new Date().toISOString(), type: 'logout', outcome: 'success', actor: null, client_id: null, session_id: null, ip: null,
      user_agent: 'raw\u0000', request_id: null, details: { n: 1, hint: '\u0000' },
    }));
    await d.add(event(2));
    await d.flush();
    expect(await conns.at(-1)!.xlen(key)).toBe(0);
    const rows = await db.query<{ type: string; user_agent: string; details: Record<string, unknown> }>(
      'SELECT type, user_agent, details FROM audit_events WHERE id > $1 ORDER BY id', [start]);
    expect(rows.map((r) => r.type)).toEqual(['token.revoked', 'logout', event(2).type]);
    expect(rows[0]).toMatchObject({ user_agent: 'ua\uFFFDx', details: { token_type_hint: '\uFFFD', ['k\uFFFD']: 'a\uFFFDb' } });
    expect(rows[1]).toMatchObject({ user_agent: 'raw\uFFFD', details: { hint: '\uFFFD' } });
    expect((await verifyChain(db)).findings).toEqual([]);
  });

  it('appends each event once, in stream order, with two drainers on two connections racing', async () => {
    const start = await head();
    const key = `t${randomBytes(4).toString('hex')}:audit:spool`;
    const other = createPostgresDb(url);
    pools.push(other);
    const d1 = drainer({ batchSize: 7 }, key);
    const d2 = drainer({ batchSize: 7, db: other }, key);
    for (let n = 0; n < 60; n++) await (n % 2 ? d1 : d2).add(event(n));
    // The same batch committed by both at once: the chain lock and the cursor let one of them append it.
    const [b1, b2] = [await d1.read(), await d2.read()];
    const [ids1, ids2] = await Promise.all([d1.commit(b1), d2.commit(b2)]);
    expect(ids1.length + ids2.length).toBe(7);
    // Then both drain everything at the same time, in small rounds that interleave.
    await Promise.all([d1.flush(), d2.flush(), d1.flush(), d2.flush()]);
    expect(await numbers(start)).toEqual(Array.from({ length: 60 }, (_, n) => n));
    expect((await verifyChain(db)).findings).toEqual([]);
  });

  it('needs only EXECUTE on the audit functions, as the application role', async () => {
    const role = `yihao_app_${randomBytes(4).toString('hex')}`;
    await db.exec(`CREATE ROLE ${role} LOGIN;
      GRANT EXECUTE ON FUNCTION audit_append_many(jsonb, text), audit_spool_position(text), audit_ensure_partitions() TO ${role};`);
    const appUrl = new URL(url);
    appUrl.username = role;
    const app = createPostgresDb(appUrl.toString());
    pools.push(app);
    const start = await head();
    const d = drainer({ db: app });
    await d.add(event(1));
    await d.flush();
    expect(await numbers(start)).toEqual([1]);
    await expect(app.query('DELETE FROM audit_spool_cursor')).rejects.toThrow(/permission denied/);
    await expect(db.query('DELETE FROM audit_spool_cursor')).rejects.toThrow(/audit spool cursor: DELETE refused/);
    await expect(db.query('UPDATE audit_spool_cursor SET last_ms = 0')).rejects.toThrow(/audit spool cursor: UPDATE refused/);
  });

  // verify walks the chain by id and never compares times; a range that leaves out such a row is anchored
  // across it, because the row still links both ways.
  it('verifies the chain, and time ranges, where a spooled event was appended after a later one', async () => {
    const audit = createAudit(db, silent);
    await audit.record(event(99)); // inside every range below, so each has a link to check before the spooled row
    await new Promise((r) => setTimeout(r, 60)); // earlier than the spooled event below
    await audit.record(event(100));
    const [{ at: recorded }] = await db.query<{ at: Date }>('SELECT at FROM audit_events ORDER BY id DESC LIMIT 1') as [{ at: Date }];
    // Spooled 20 ms before the record above, drained after it.
    const key = `t${randomBytes(4).toString('hex')}:audit:spool`;
    await db.query('SELECT audit_append_many($1::jsonb, $2)', [JSON.stringify([{
      ...event(101), outcome: 'success', type: 'token.issued', spool_id: `${recorded.getTime() - 20}-0`, at: new Date(recorded.getTime() - 20).toISOString(),
    }]), key]);
    await audit.record(event(102));
    const [spooled, direct] = await db.query<{ at: Date }>('SELECT at FROM audit_events ORDER BY id DESC LIMIT 2 OFFSET 1');
    expect(spooled!.at.getTime()).toBe(recorded.getTime() - 20); // the spooled event kept its own time…
    expect(direct!.at.getTime()).toBe(recorded.getTime()); // …and sits after a row that happened later
    const between = new Date(recorded.getTime() - 10);
    for (const range of [{}, { to: between }, { from: between }, { from: new Date(recorded.getTime() - 2000), to: between }]) {
      expect((await verifyChain(db, range)).findings, JSON.stringify(range)).toEqual([]);
    }
  });

  it('dates a spooled event by its stream id, not by the time it claims, and not beyond a week back', async () => {
    const append = async (key: string, entry: Record<string, unknown>) => {
      const [{ ids }] = await db.query<{ ids: number[] }>('SELECT audit_append_many($1::jsonb, $2) AS ids', [JSON.stringify([{
        ...event(7), outcome: 'success', type: 'token.issued', ...entry,
      }]), key]) as [{ ids: number[] }];
      return (await db.query<{ at: Date; details: Record<string, unknown> }>('SELECT at, details FROM audit_events WHERE id = $1', [Number(ids[0])]))[0]!;
    };
    const key = () => `t${randomBytes(4).toString('hex')}:audit:spool`;
    // A claimed time a day back is ignored: the row has the time Redis gave the entry.
    const added = Date.now() - 3000;
    const claimedDayBack = await append(key(), { spool_id: `${added}-0`, at: new Date(added - 86_400_000).toISOString() });
    expect(claimedDayBack.at.getTime()).toBe(added);
    expect(claimedDayBack.details).toEqual({ n: 7 });
    // A stream id more than a week old (the cursor is older still) gets the append time and keeps its own.
    const old = Date.now() - 8 * 86_400_000;
    const weekOld = await append(key(), { spool_id: `${old}-0`, at: new Date().toISOString() });
    expect(Date.now() - weekOld.at.getTime()).toBeLessThan(60_000);
    expect(weekOld.details).toEqual({ n: 7, reported_at: new Date(old).toISOString().replace('Z', '000Z') });
  });

  it('commits concurrent records together: 50 events in a few statements, each caller told when its row is in', async () => {
    const start = await head();
    let statements = 0;
    const counted = { query: <R,>(sql: string, params?: unknown[]) => { if (sql.includes('audit_append_many')) statements++; return db.query<R>(sql, params); } };
    const commit = groupCommit(counted);
    const rows = Array.from({ length: 50 }, (_, n) => auditRow(event(n)));
    await Promise.all(rows.map(async (row, n) => {
      await commit(row);
      // Resolved only once committed: its row is visible from another connection now.
      expect((await db.query('SELECT 1 FROM audit_events WHERE id > $1 AND details->>\'n\' = $2', [start, String(n)])).length).toBe(1);
    }));
    expect(statements).toBeLessThanOrEqual(2); // the first event alone, the 49 that queued behind it together
    expect((await numbers(start)).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    // A batch that fails rejects every caller in it, and none of its rows is in the chain.
    const broken = groupCommit({ query: (sql, params) => db.query(sql.replace('audit_append_many(', 'audit_append_many_missing('), params) });
    const outcomes = await Promise.allSettled([broken(auditRow(event(1))), broken(auditRow(event(2)))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await head()).toBe(start + 50);
  });

  it('without Redis, writes protocol events straight into the chain before resolving', async () => {
    const start = await head();
    const audit = createAudit(db, silent);
    await Promise.all([1, 2, 3].map((n) => audit.spool(event(n))));
    expect((await numbers(start)).sort()).toEqual([1, 2, 3]);
    await audit.flush();
    await audit.close();
  });
});
