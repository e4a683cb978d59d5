// The CLI as an operator runs it: a real process against a real PostgreSQL.
import { runCli } from '../support/cli.ts';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, mkdir, readdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { inject } from 'vitest';
import { createDatabase } from '../support/servers.ts';
import { spawnSync } from 'node:child_process';
import { createPgliteDb, createPostgresDb, type Db } from '../../src/store/db.ts';

const cli = runCli;

describe('yihao CLI', () => {
  let env: Record<string, string>;
  let dir: string;
  let db: Db;

  beforeAll(async () => {
    dir = await mkdtemp(`${tmpdir()}/yihao-cli-`);
    env = { DATABASE_URL: await createDatabase(inject('postgresUrl'), 'cli'), DATA_DIR: `${dir}/data`, CLIENTS_DIR: `${dir}/clients`, KEYS_DIR: `${dir}/keys`, ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };
    db = createPostgresDb(env.DATABASE_URL!);
  });
  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('migrates from two processes at once, applying each file exactly once', async () => {
    const [a, b] = await Promise.all([cli(['migrate'], env), cli(['migrate'], env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(`${a.stdout}${b.stdout}`).toMatch(/applied: 001_initial\.sql/);
    expect(`${a.stdout}${b.stdout}`).toContain('database is up to date');
    const files = (await readdir('migrations')).filter((f) => f.endsWith('.sql'));
    expect(await db.query('SELECT name FROM schema_migrations')).toHaveLength(files.length);
  });

  it('adds an account with the password from standard input, stored masked and hashed', async () => {
    const res = await cli(['accounts', 'add', '--id-number', '11010519491231002x', '--name', '王五', '--password-stdin'], env, 'a strong password\n');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('1101**********002X');
    expect(res.stdout).not.toContain('11010519491231002X');
    const [row] = await db.query<{ id_masked: string; password_hash: string }>('SELECT id_masked, password_hash FROM accounts');
    expect(row!.id_masked).toBe('1101**********002X');
    expect(row!.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a duplicate, a bad number and a password on the command line with clear messages', async () => {
    const dup = await cli(['accounts', 'add', '--id-number', '11010519491231002X', '--name', '王五', '--password-stdin'], env, 'a strong password');
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('already exists');
    const bad = await cli(['accounts', 'add', '--id-number', '110105194912310021', '--name', 'x', '--password-stdin'], env, 'a strong password');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--id-number: .*check/i);
    const noStdin = await cli(['accounts', 'add', '--id-number', '11010519491231002X', '--name', 'x', '--password', 'p'], env);
    expect(noStdin.code).toBe(2);
  });

  it('prints a plan with --dry-run, applies it, then reports the changed fields and disables removed files', async () => {
    await mkdir(env.CLIENTS_DIR!, { recursive: true });
    const reg = { client_id: 'tax', client_name: '税务', department: '税务局', client_secret: 't'.repeat(40), redirect_uris: ['http://localhost:4000/cb'] };
    await writeFile(`${env.CLIENTS_DIR}/tax.json`, JSON.stringify(reg));
    const dry = await cli(['clients', 'apply', '--dry-run'], env);
    expect(dry.stdout).toContain('+ create   tax');
    expect(dry.stdout).toContain('dry run');
    expect(await db.query('SELECT 1 FROM clients')).toHaveLength(0);
    expect((await cli(['clients', 'apply'], env)).code).toBe(0);
    await writeFile(`${env.CLIENTS_DIR}/tax.json`, JSON.stringify({ ...reg, client_name: '税务服务' }));
    const update = await cli(['clients', 'apply'], env);
    expect(update.stdout).toContain('~ update   tax  (tax.json): client_name');
    await rm(`${env.CLIENTS_DIR}/tax.json`);
    expect((await cli(['clients', 'apply'], env)).stdout).toContain('- disable  tax');
    const audit = await db.query<{ type: string; details: unknown }>("SELECT type, details FROM audit_events WHERE client_id = 'tax' ORDER BY id");
    expect(audit.map((a) => a.type)).toEqual(['client.created', 'client.updated', 'client.disabled']);
    expect(JSON.stringify(audit)).not.toContain('t'.repeat(40));
  });

  it('stages and promotes signing keys', async () => {
    expect((await cli(['keys', 'rotate'], env)).stdout).toContain('now signing');
    expect((await cli(['keys', 'rotate'], env)).stdout).toContain('staged');
    expect((await cli(['keys', 'rotate'], env)).stdout).toContain('now signing');
  });
});

describe('yihao CLI on embedded storage', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(`${tmpdir()}/yihao-cli-lite-`);
    env = { DATA_DIR: `${dir}/data`, CLIENTS_DIR: `${dir}/clients`, KEYS_DIR: `${dir}/keys` };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses to open the embedded database while another process has it open, and takes over a dead owner\'s lock', async () => {
    await mkdir(env.DATA_DIR!, { recursive: true });
    const server = await createPgliteDb(`${env.DATA_DIR}/pglite`); // as a running `npm start` holds it
    try {
      const refused = await cli(['migrate'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`is in use by process ${process.pid}`);
      expect(refused.stderr).toContain('DATABASE_URL');
      expect(refused.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      await server.close();
    }
    expect((await cli(['migrate'], env)).code).toBe(0);

    // A process that died holding it (kill -9) leaves its lock behind: the next one takes over.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    await writeFile(`${env.DATA_DIR}/pglite.lock`, dead.stdout.toString());
    const again = await cli(['migrate'], env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    // An unreadable (empty) lock names no live owner either; nothing of ours is left beside the directory.
    await writeFile(`${env.DATA_DIR}/pglite.lock`, '');
    expect((await cli(['migrate'], env)).code).toBe(0);
    expect((await readdir(env.DATA_DIR!)).filter((f) => f.startsWith('pglite.lock'))).toEqual([]);
  });
});
