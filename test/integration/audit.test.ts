// The audit trail as security staff rely on it: one linear hash chain under concurrent writers, rows that
// cannot be changed, tampering found and named, whole-month retention, exports that verify offline, and
// no action without its record — on PostgreSQL and on PGlite, with the CLI run as a real process.
import { runCli } from '../support/cli.ts';
import { describe, it, expect, beforeAll, afterAll, inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createDatabase, startPostgres } from '../support/servers.ts';
import { createPostgresDb, createPgliteDb, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createLogger } from '../../src/log.ts';
import { auditRow, createAudit, AuditWriteError, type Audit, type AuditEvent } from '../../src/audit/audit.ts';
import { verifyChain } from '../../src/audit/verify.ts';
import { pruneAudit } from '../../src/audit/prune.ts';
import { exportEvents, EXPORT_COLUMNS } from '../../src/audit/export.ts';
import { rowHash, GENESIS_HASH, type ChainRow } from '../../src/audit/canonical.ts';
import { startYihao, createCitizen } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, submitLogin } from '../support/relying-party.ts';

const silent = createLogger('silent');
const ROWS = `SELECT id, audit_time_text(at) AS at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details,
  encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash FROM audit_events ORDER BY id, at`;
const rowsOf = async (db: Db) => (await db.query<ChainRow>(ROWS)).map((r) => ({ ...r, id: Number(r.id) }));

const event = (i: number): AuditEvent => ({
  type: i % 3 ? 'login.success' : 'login.failure', outcome: i % 3 ? 'success' : 'failure', actor: `acct-${i}`, clientId: 'tax',
  sessionId: `sid-${i}`, ip: `10.0.0.${i}`, userAgent: 'Mozilla/5.0 "测试", comma\nnewline', requestId: `req-${i}`,
  // Values where a careless canonical form would differ between Node and PostgreSQL.
  details: { reason: i % 3 ? null : 'invalid_credentials', note: `typed 11010519491231002${i % 10}`, n: i / 7, big: 1e21, tiny: 1.5e-7, 'é': ['ü', { b: 1, a: 2 }], Z: true },
});

/** Changes rows as a superuser who switched the triggers off (session_replication_role = replica). */
const tamper = (db: Db, sql: string) => db.transaction(async (tx) => {
  await tx.query('SET LOCAL session_replication_role = replica');
  await tx.query(sql);
});

/** Old records imported by the owner (audit_append_at is not granted to the application). */
async function importOld(db: Db, ago: string, type: string) {
  await db.query(`SELECT audit_ensure_partition(now() - $1::interval)`, [ago]);
  await db.query(`SELECT audit_append_at(now() - $1::interval, $2, 'success', 'import', NULL, NULL, NULL, NULL, NULL, '{}')`, [ago, type]);
}

const cli = runCli;

/** RFC 4180, with an unquoted empty field read as NULL (the export quotes every text value). */
function parseCsv(text: string): Array<Array<string | null>> {
  const rows: Array<Array<string | null>> = [];
  let row: Array<string | null> = [];
  for (let i = 0; i < text.length;) {
    if (text[i] === '"') {
      let value = '';
      for (i++; ; i += 2) {
        const end = text.indexOf('"', i);
        value += text.slice(i, end);
        i = end;
        if (text[i + 1] !== '"') break;
        value += '"';
      }
      i++;
      row.push(value);
    } else {
      const raw = /^[^,\r]*/.exec(text.slice(i))![0];
      row.push(raw === '' ? null : raw);
      i += raw.length;
    }
    if (text[i] === ',') i++;
    else { rows.push(row); row = []; i += 2; }
  }
  return rows;
}

type Backend = 'postgres' | 'pglite';
const dirs: string[] = [];
async function openBackend(kind: Backend, name: string): Promise<{ db: Db; url?: string }> {
  if (kind === 'postgres') {
    const url = await createDatabase(inject('postgresUrl'), name);
    const db = createPostgresDb(url);
    await migrate(db);
    return { db, url };
  }
  const dir = await mkdtemp(`${tmpdir()}/yihao-audit-`);
  dirs.push(dir);
  const db = await createPgliteDb(dir);
  await migrate(db);
  return { db };
}
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

describe.each<Backend>(['postgres', 'pglite'])('audit trail on %s', (kind) => {
  let db: Db;
  let url: string | undefined;
  let audit: Audit;
  let fresh: Db; // a second database whose chain starts eight months ago

  beforeAll(async () => {
    ({ db, url } = await openBackend(kind, 'audit'));
    audit = createAudit(db, silent);
  });
  afterAll(async () => { await db?.close(); await fresh?.close().catch(() => {}); });

  it('appends 50 concurrent events from two connections into one linear chain that Node and SQL hash alike', async () => {
    const other = url ? createPostgresDb(url) : db; // on PostgreSQL a second pool, as a second process would be
    const otherAudit = createAudit(other, silent);
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? audit : otherAudit).record(event(i))));
    if (other !== db) await other.close();

    const rows = await rowsOf(db);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    rows.forEach((r, i) => {
      expect(r.prev_hash).toBe(i ? rows[i - 1]!.hash : GENESIS_HASH);
      if (i) expect(r.at >= rows[i - 1]!.at).toBe(true); // time order agrees with chain order
      expect(rowHash(r)).toBe(r.hash); // Node's canonical form = the database's
    });
    expect(JSON.stringify(rows)).not.toMatch(/11010519491231002\d/); // identity numbers are masked like in logs
    expect(rows.find((r) => r.actor === 'acct-3')!.details).toMatchObject({ note: 'typed 1101**********0023' });

    const result = await verifyChain(db);
    expect(result.findings).toEqual([]);
    expect(result).toMatchObject({ count: 50, first: { id: 1 }, last: { id: 50 }, head: { id: 50, hash: rows[49]!.hash } });
  });

  it('hashes rows exactly as migration 002 defined it (011 only made it cheaper): rows written before verify after', async () => {
    // The test's own rows (the chain itself is left alone for the tests after this one): the tricky values above, as stored.
    const rows = Array.from({ length: 6 }, (_, i) => ({ ...auditRow(event(i)), id: i + 1, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i, 123)).toISOString() }));
    // 002's canonical form, as it was, under another name; compared with today's on the rows and on edge cases.
    await db.exec(`
      CREATE OR REPLACE FUNCTION pg_temp.canonical_002(j jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
      DECLARE out text;
      BEGIN
        CASE jsonb_typeof(j)
          WHEN 'object' THEN
            SELECT '{' || coalesce(string_agg(to_jsonb(k)::text || ':' || pg_temp.canonical_002(v), ',' ORDER BY k COLLATE "C"), '') || '}' INTO out FROM jsonb_each(j) AS e(k, v);
          WHEN 'array' THEN
            SELECT '[' || coalesce(string_agg(pg_temp.canonical_002(v), ',' ORDER BY n), '') || ']' INTO out FROM jsonb_array_elements(j) WITH ORDINALITY AS a(v, n);
          ELSE out := j::text;
        END CASE;
        RETURN out;
      END $$;`);
    const [same] = await db.query<{ rows: number; differ: number }>(`
      WITH r AS (
        SELECT '\\x02'::bytea AS prev_hash, id, at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details
        FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, at timestamptz, type text, outcome text, actor text, client_id text,
          session_id text, ip text, user_agent text, request_id text, details jsonb)
        UNION ALL SELECT '\\x00'::bytea, 9007199254740993, '1999-12-31 23:59:59.999999+00', 'é"\\', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        UNION ALL SELECT '\\x01'::bytea, 1, now(), 't', 'o', '', 'c', 's', 'i', 'u', 'r', '{"a":[[],{}],"":{"z":{"y":[1,"2",null,false]}},"b":1.0e2}'::jsonb
      )
      SELECT count(*)::int AS rows, count(*) FILTER (WHERE audit_row_hash(prev_hash, id, at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details)
        IS DISTINCT FROM sha256(prev_hash || convert_to(pg_temp.canonical_002(jsonb_build_array(
          id, audit_time_text(at), type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details)), 'UTF8')))::int AS differ
      FROM r`, [JSON.stringify(rows)]);
    expect(same).toEqual({ rows: 8, differ: 0 });
  });

  it('plans the append functions once per connection (012), settings a later CREATE OR REPLACE would silently drop', async () => {
    const rows = await db.query<{ proname: string; proconfig: string[] | null }>(
      `SELECT proname, proconfig FROM pg_proc WHERE proname IN ('audit_append_many', 'audit_append_at', 'audit_head_forward_only') ORDER BY proname`);
    expect(rows.map((r) => r.proname)).toEqual(['audit_append_at', 'audit_append_many', 'audit_head_forward_only']);
    for (const r of rows) expect(r.proconfig, r.proname).toContain('plan_cache_mode=force_generic_plan');
    // The search_path 008 and 011 pinned is still there beside it.
    expect(rows.find((r) => r.proname === 'audit_append_many')!.proconfig!.some((c) => c.startsWith('search_path=pg_catalog,'))).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of audit rows and of the chain head with a clear error', async () => {
    for (const sql of ['UPDATE audit_events SET details = \'{}\' WHERE id = 1', 'DELETE FROM audit_events WHERE id = 1',
      'TRUNCATE audit_events', `TRUNCATE ${(await db.query<{ t: string }>("SELECT audit_ensure_partition(now()) AS t"))[0]!.t}`]) {
      await expect(db.query(sql), sql).rejects.toThrow(/audit trail is append-only: (UPDATE|DELETE|TRUNCATE) on audit_events\w* refused/);
    }
    await expect(db.query('UPDATE audit_chain_head SET id = 1')).rejects.toThrow(/chain head: UPDATE refused/);
    // Forward only, and only onto an event that is in the chain with that hash (011 lets a batch move it at once).
    await expect(db.query('UPDATE audit_chain_head SET id = id + 5')).rejects.toThrow(/chain head: UPDATE refused/);
    await expect(db.query(`UPDATE audit_chain_head SET hash = '\\x00'`)).rejects.toThrow(/chain head: UPDATE refused/);
    await expect(db.query('DELETE FROM audit_chain_head')).rejects.toThrow(/chain head: DELETE refused/);
    expect((await verifyChain(db)).findings).toEqual([]);
  });

  it('exports a range as JSON lines and CSV that round-trip every field and verify offline', async () => {
    const range = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 3_600_000) };
    let jsonl = '';
    let csv = '';
    expect(await exportEvents(db, range, 'jsonl', (s) => { jsonl += s; })).toBe(50);
    await exportEvents(db, range, 'csv', (s) => { csv += s; });
    const fromJsonl = jsonl.trimEnd().split('\n').map((l) => JSON.parse(l) as ChainRow);
    expect(fromJsonl).toEqual(await rowsOf(db));
    for (const r of fromJsonl) expect(rowHash(r)).toBe(r.hash);
    const [header, ...lines] = parseCsv(csv);
    expect(header).toEqual([...EXPORT_COLUMNS]);
    const fromCsv = lines.map((l) => Object.fromEntries(EXPORT_COLUMNS.map((c, i) => [c, l[i]])));
    expect(fromCsv.map((r) => ({ ...r, id: Number(r.id), details: JSON.parse(r.details!) }))).toEqual(fromJsonl);
  });

  it('names an edited, a deleted, a reordered, an inserted and a truncated-away row', async () => {
    await tamper(db, `UPDATE audit_events SET details = details || '{"reason":"ok"}' WHERE id = 5`);
    await tamper(db, 'DELETE FROM audit_events WHERE id = 12');
    await tamper(db, 'UPDATE audit_events SET id = CASE id WHEN 20 THEN 21 ELSE 20 END WHERE id IN (20, 21)');
    await tamper(db, `INSERT INTO audit_events SELECT id, at + interval '1 microsecond', 'login.success', outcome, actor, client_id, session_id,
      ip, user_agent, request_id, details, prev_hash, audit_row_hash(prev_hash, id, at + interval '1 microsecond', 'login.success', outcome,
      actor, client_id, session_id, ip, user_agent, request_id, details) FROM audit_events WHERE id = 30`);
    await tamper(db, 'DELETE FROM audit_events WHERE id = 50');

    const { findings } = await verifyChain(db);
    expect(findings.map((f) => [f.kind, f.ids])).toEqual([
      ['edited', [5]], ['deleted', [12, 12]], ['reordered', [20, 21]], ['inserted', [30]], ['deleted', [50, 50]],
    ]);
    expect(findings.map((f) => f.message)).toEqual([
      '#5 was edited: its contents no longer match its hash',
      '#12 is missing (deleted): #13 links to a row that is not in the trail',
      '#20 and #21 are out of order: #20 links to #21, which comes after it',
      expect.stringMatching(/^#30 \(at \S+\) was inserted: it is not part of the chain \(#31 links past it to #30\)$/),
      'the newest row #50 is missing (deleted): the chain head is #50',
    ]);
  });

  it('prunes only whole expired months, records it, and the remaining chain verifies from the recorded anchor', async () => {
    ({ db: fresh } = await openBackend(kind, 'audit_prune'));
    for (const t of ['old.1', 'old.2', 'old.3']) await importOld(fresh, '8 months', t);
    // Older than 180 days, but its month is not entirely expired: it stays until the whole month is.
    const edge = `date_trunc('month', (now() - interval '180 days') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
    await fresh.query(`SELECT audit_ensure_partition(${edge})`);
    await fresh.query(`SELECT audit_append_at(${edge}, 'edge', 'success', NULL, NULL, NULL, NULL, NULL, NULL, '{}')`);
    const freshAudit = createAudit(fresh, silent);
    for (let i = 0; i < 3; i++) await freshAudit.record(event(i));

    const result = await pruneAudit(fresh, { retentionDays: 180, actor: 'test' });
    expect(result).toMatchObject({ partitions: [expect.stringMatching(/^audit_events_\d{4}_\d{2}$/)], firstPrunedId: 1, lastPrunedId: 3 });
    expect((await rowsOf(fresh)).map((r) => r.type)).toEqual(['edge', 'login.failure', 'login.success', 'login.success', 'audit.pruned']);
    const verified = await verifyChain(fresh);
    expect(verified.findings).toEqual([]);
    expect(verified.pruned).toMatch(/events up to #3 were pruned by retention \(recorded in #8/);
    // Nothing more is old enough: a second prune drops nothing and is itself recorded.
    expect((await pruneAudit(fresh, { retentionDays: 180, actor: 'test' })).partitions).toEqual([]);
    expect((await verifyChain(fresh)).findings).toEqual([]);
  });

  it('fails closed: with the database gone, record() rejects instead of letting the action through', async () => {
    const doomedAudit = createAudit(fresh, silent);
    await doomedAudit.record(event(1));
    await fresh.close();
    await expect(doomedAudit.record(event(2))).rejects.toThrow(AuditWriteError);
  });
});

describe('audit trail on PostgreSQL: privileges, outages and the CLI', () => {
  let url: string;
  let db: Db;
  let dir: string;
  let env: Record<string, string>;
  const role = `yihao_app_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    url = await createDatabase(inject('postgresUrl'), 'audit_cli');
    db = createPostgresDb(url);
    await migrate(db);
    dir = await mkdtemp(`${tmpdir()}/yihao-audit-cli-`);
    for (const t of ['old.1', 'old.2']) await importOld(db, '8 months', t);
    env = { DATABASE_URL: url, DATA_DIR: `${dir}/data`, CLIENTS_DIR: `${dir}/clients`, KEYS_DIR: `${dir}/keys`, TZ: 'Asia/Shanghai' };
  });
  afterAll(async () => {
    await db.exec(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives the application role append and read only: no UPDATE, DELETE, direct INSERT or back-dating', async () => {
    await db.exec(`CREATE ROLE ${role} LOGIN;
      GRANT SELECT ON audit_events TO ${role};
      GRANT EXECUTE ON FUNCTION audit_append(text, text, text, text, text, text, text, text, jsonb), audit_append_many(jsonb, text),
        audit_spool_position(text), audit_ensure_partitions() TO ${role};`);
    const appUrl = new URL(url);
    appUrl.username = role;
    const app = createPostgresDb(appUrl.toString());
    try {
      await createAudit(app, silent).record(event(1));
      for (const sql of ['UPDATE audit_events SET type = \'x\'', 'DELETE FROM audit_events', 'TRUNCATE audit_events',
        `INSERT INTO audit_events (id, at, type, outcome, prev_hash, hash) VALUES (99, now(), 'forged', 'success', '\\x00', '\\x00')`,
        `SELECT audit_append_at(now() - interval '1 year', 'backdated', 'success', NULL, NULL, NULL, NULL, NULL, NULL, '{}')`,
        `SELECT audit_prune(now())`]) {
        await expect(app.query(sql), sql).rejects.toThrow(/permission denied/);
      }
      // Nothing partial: when the write is refused, neither a row nor a head move remains, and the chain goes on.
      await db.exec(`REVOKE EXECUTE ON FUNCTION audit_append_many(jsonb, text) FROM ${role}`);
      await expect(createAudit(app, silent).record(event(2))).rejects.toThrow(/^audit event login\.success could not be written \(action refused\): permission denied/);
      expect(await db.query('SELECT id FROM audit_chain_head')).toEqual([{ id: 3 }]);
      await db.exec(`GRANT EXECUTE ON FUNCTION audit_append_many(jsonb, text) TO ${role}`);
      await createAudit(app, silent).record(event(3));
      expect((await rowsOf(db)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
      expect((await verifyChain(db)).findings).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('fails closed when its PostgreSQL server stops mid-run', async () => {
    const server = await startPostgres();
    const own = createPostgresDb(server.url);
    try {
      await migrate(own);
      const ownAudit = createAudit(own, silent);
      await ownAudit.record(event(1));
      await server.stop();
      await expect(ownAudit.record(event(2))).rejects.toThrow(/audit event login.success could not be written \(action refused\)/);
    } finally {
      await own.close().catch(() => {});
      await server.stop();
    }
  });

  it('verifies, exports, prunes and finds tampering as an operator runs it', async () => {
    const audit = createAudit(db, silent);
    // #1–#2 are imported from eight months ago, #3–#4 come from the privileges test.
    for (let i = 0; i < 26; i++) await audit.record(event(i));

    const intact = await cli(['audit', 'verify'], env);
    expect(intact.stderr).toBe('');
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/^audit chain intact: 30 events from \d{4}-\d\d-\d\dT[\d:.]{15}Z to .* \(#1–#30\)\nchain head: #30 [0-9a-f]{64}\n$/);

    const today = new Date().toISOString().slice(0, 10);
    const jsonl = await cli(['audit', 'export', '--from', '2000-01-01', '--to', '2100-01-01'], env);
    expect(jsonl.code).toBe(0);
    expect(jsonl.stderr).toBe('exported 30 audit events\n');
    const exported = jsonl.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as ChainRow);
    expect(exported).toEqual(await rowsOf(db));
    for (const r of exported) expect(rowHash(r)).toBe(r.hash);
    const csv = await cli(['audit', 'export', '--from', `${today}T00:00Z`, '--to', '2100-01-01', '--format', 'csv'], env);
    expect(parseCsv(csv.stdout).slice(1).map((l) => Number(l[0]))).toEqual(exported.filter((r) => r.at >= today).map((r) => r.id));
    expect((await cli(['audit', 'export', '--from', 'yesterday', '--to', today], env)).code).toBe(2);
    expect((await cli(['audit', 'export', '--from', today], env)).stderr).toContain('--from and --to are required');

    const prune = await cli(['audit', 'prune'], env);
    expect(prune.stdout).toMatch(/^dropped audit_events_\d{4}_\d\d \(events #1–#2\); kept everything from \d{4}-\d\d on\n$/);
    const [pruned] = await db.query<{ id: number; details: Record<string, unknown> }>("SELECT id, details FROM audit_events WHERE type = 'audit.pruned'");
    expect(pruned).toMatchObject({ id: 31, details: { retention_days: 180, first_pruned_id: 1, last_pruned_id: 2 } });
    const afterPrune = await cli(['audit', 'verify'], env);
    expect(afterPrune.code).toBe(0);
    expect(afterPrune.stdout).toMatch(/^audit chain intact: 29 events from .* \(#3–#31\)\nevents up to #2 were pruned by retention \(recorded in #31 at /);
    expect((await cli(['audit', 'prune', '--retention-days', '200'], env)).stdout).toMatch(/^nothing to prune/);

    await tamper(db, `UPDATE audit_events SET details = '{"reason":"ok"}' WHERE id = 7`);
    await tamper(db, 'DELETE FROM audit_events WHERE id = 15');
    await tamper(db, 'UPDATE audit_events SET id = CASE id WHEN 22 THEN 23 ELSE 22 END WHERE id IN (22, 23)');
    const broken = await cli(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^audit chain BROKEN: 3 findings in 29 events from .* \(#3–#32\)/);
    expect(broken.stdout).toContain('edited: #7 was edited');
    expect(broken.stdout).toContain('deleted: #15 is missing (deleted)');
    expect(broken.stdout).toContain('reordered: #22 and #23 are out of order');
    // A range that ends before the damage is still intact.
    const [seventh] = await db.query<{ at: string }>('SELECT audit_time_text(at) AS at FROM audit_events WHERE id = 7');
    expect((await cli(['audit', 'verify', '--to', seventh!.at], env)).stdout).toMatch(/^audit chain intact: 4 events .*\(#3–#6\)/);
  });
});

describe('a login without its audit record', () => {
  it('does not happen: the citizen sees an error and the app gets no code until the audit write works again', async () => {
    const rp = { id: 'tax-service', secret: 'a'.repeat(40), redirectUri: 'http://localhost:4999/cb', postLogoutUri: 'http://localhost:4999/' };
    const y = await startYihao({
      storage: 'postgres+redis',
      clients: [{ client_id: rp.id, client_secret: rp.secret, client_name: '税务服务', department: '税务局', first_party: true, redirect_uris: [rp.redirectUri] }],
    });
    const admin = createPostgresDb(y.env.DATABASE_URL!);
    try {
      const { core } = y.yihao;
      await createCitizen(y, { idNumber: '11010519491231002X', name: '张三', password: 'correct horse battery' });
      const config = await discover(y.issuer, rp);
      const login = async () => {
        const browser = new Browser();
        return submitLogin(browser, await browser.navigate((await authorizationRequest(config, rp, 'openid')).url, rp.redirectUri), '11010519491231002X', 'correct horse battery', rp.redirectUri);
      };
      const successes = async () => (await admin.query("SELECT 1 FROM audit_events WHERE type = 'login.success'")).length;

      // The audit write fails (as a superuser we take its function away; the app runs as one too).
      await admin.exec('ALTER FUNCTION audit_append_many(jsonb, text) RENAME TO audit_append_paused');
      const refused = await login();
      expect(refused.status).toBe(503);
      expect(refused.url.startsWith(rp.redirectUri)).toBe(false);
      expect(await successes()).toBe(0);
      expect(y.logs.join('')).toContain('audit write failed');

      await admin.exec('ALTER FUNCTION audit_append_paused(jsonb, text) RENAME TO audit_append_many');
      expect((await login()).url.startsWith(`${rp.redirectUri}?code=`)).toBe(true);
      expect(await successes()).toBe(1);
      expect((await verifyChain(core.db)).findings).toEqual([]);
    } finally {
      await admin.close();
      await y.stop();
    }
  });
});
