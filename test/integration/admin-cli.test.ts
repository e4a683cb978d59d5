// Registration files next to the admin API, and account roles, through the CLI as an operator runs it:
// a real process against a real PostgreSQL. Changes "through the API" use the same library the API
// routes call (createClientAdmin), in process, against the same database.
import { runCli } from '../support/cli.ts';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { inject } from 'vitest';
import { createDatabase } from '../support/servers.ts';
import { createPostgresDb, type Db } from '../../src/store/db.ts';
import { createClientStore } from '../../src/clients/store.ts';
import { createSecretSealer } from '../../src/clients/secret-seal.ts';
import { loadIdentityKeys } from '../../src/identity/keys-file.ts';
import { createClientAdmin, type ClientAdmin } from '../../src/admin/clients.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';

const cli = runCli;

const acting = { admin: { kind: 'client' as const, clientId: 'automation' } };
const TAX = { client_id: 'tax', client_name: '税务', department: '税务局', client_secret: 't'.repeat(40), redirect_uris: ['http://localhost:4000/cb'] };

describe('registration files and the admin API', () => {
  let env: Record<string, string>;
  let dir: string;
  let db: Db;
  let admin: ClientAdmin;
  const write = (name: string, body: unknown) => writeFile(`${env.CLIENTS_DIR}/${name}`, JSON.stringify(body, null, 2));
  const row = async (id: string) => (await db.query<{ metadata: Record<string, unknown>; source: string; disabled: boolean }>(
    'SELECT metadata, source, disabled FROM clients WHERE client_id = $1', [id]))[0]!;

  beforeAll(async () => {
    dir = await mkdtemp(`${tmpdir()}/yihao-admin-cli-`);
    env = { DATABASE_URL: await createDatabase(inject('postgresUrl'), 'admin_cli'), DATA_DIR: `${dir}/data`, CLIENTS_DIR: `${dir}/clients`, KEYS_DIR: `${dir}/keys`, ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };
    await mkdir(env.CLIENTS_DIR!, { recursive: true });
    expect((await cli(['migrate'], env)).code).toBe(0);
    db = createPostgresDb(env.DATABASE_URL!);
    // The keys the CLI's processes use (the development keys file in DATA_DIR), to open the secrets they seal.
    const { keys } = await loadIdentityKeys({ dataDir: env.DATA_DIR!, production: false });
    admin = createClientAdmin({ db, store: createClientStore(db, {}, createSecretSealer(keys)), context: { production: false, env: {} }, validate: async () => {} });
  });
  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a client changed through the API as a conflict with the differing fields, and leaves it alone', async () => {
    await write('tax.json', TAX);
    expect((await cli(['clients', 'apply'], env)).stdout).toContain('+ create   tax');
    await admin.update('tax', { client_name: '电子税务局', owner: '税务局信息中心' }, acting);

    const dry = await cli(['clients', 'apply', '--dry-run'], env);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('! conflict tax  (tax.json): changed through the admin API since the file was applied; differs in client_name, owner');
    const applied = await cli(['clients', 'apply'], env);
    expect(applied.code).toBe(1);
    expect(applied.stdout).toContain('! conflict tax');
    expect(await row('tax')).toMatchObject({ source: 'api', metadata: { client_name: '电子税务局', owner: '税务局信息中心' } });
    const [event] = await db.query<{ details: { fields: string[] } }>("SELECT details FROM audit_events WHERE type = 'client.conflict' AND client_id = 'tax'");
    expect(event!.details.fields).toEqual(['client_name', 'owner']);
  });

  it('hands the client back to its file once the file says the same', async () => {
    await write('tax.json', { ...TAX, client_name: '电子税务局', owner: '税务局信息中心' });
    const res = await cli(['clients', 'apply'], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('~ update   tax  (tax.json): source');
    expect((await row('tax')).source).toBe('file');
    expect((await cli(['clients', 'apply'], env)).stdout).toContain('  unchanged tax');
  });

  it('lets the file win with --force, reporting and auditing what it overwrote', async () => {
    await admin.setEnabled('tax', false, acting);
    const conflict = await cli(['clients', 'apply', '--dry-run'], env);
    expect(conflict.stdout).toContain('differs in disabled');
    const forced = await cli(['clients', 'apply', '--force'], env);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('~ update   tax  (tax.json): disabled');
    expect(await row('tax')).toMatchObject({ source: 'file', disabled: false });
    const [event] = await db.query<{ details: Record<string, unknown> }>(
      "SELECT details FROM audit_events WHERE type = 'client.updated' AND client_id = 'tax' ORDER BY id DESC LIMIT 1");
    expect(event!.details.overwrote).toContain('--force');
  });

  it('records the id_number approval a file carries, and shows it through the API', async () => {
    const approval = { approved_by: '市政府办公厅', approved_at: '2025-03-01T00:00:00Z', legal_basis: '《个人信息保护法》第十三条；社保经办规程' };
    await write('pension.json', { ...TAX, client_id: 'pension', allowed_scopes: ['openid', 'id_number'], id_number_approval: approval });
    const res = await cli(['clients', 'apply'], env);
    expect(res.stdout).toContain('+ create   pension');
    expect((await admin.get('pension')).id_number_approval).toMatchObject({ ...approval, recorded_by: 'cli' });
    await write('pension.json', { ...TAX, client_id: 'pension', allowed_scopes: ['openid'] });
    expect((await cli(['clients', 'apply'], env)).stdout).toContain('~ update   pension  (pension.json): scope');
    expect((await admin.get('pension')).id_number_approval).toBeNull();
  });

  it('never brings a deleted client back from its file', async () => {
    await admin.remove('tax', acting);
    await write('other.json', { ...TAX, client_id: 'other' });
    const res = await cli(['clients', 'apply', '--force'], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('! refused  tax.json: client_id: belonged to a client deleted through the admin API');
    expect(res.stdout).toContain('+ create   other');
    expect(await row('tax')).toMatchObject({ disabled: true });
  });

  it('grants and revokes the system_admin role, auditing each change with the roles before and after', async () => {
    const id = `11010519491231002${checkCharacter('11010519491231002')}`;
    expect((await cli(['accounts', 'add', '--id-number', id, '--name', '赵六', '--password-stdin'], env, 'a strong password')).code).toBe(0);
    const granted = await cli(['accounts', 'grant-role', '--id-number', id, '--role', 'system_admin'], env);
    expect(granted.stderr).toBe('');
    expect(granted.stdout).toMatch(/granted system_admin to account \S+ \(1101\*{10}002X\); roles: system_admin/);
    expect((await cli(['accounts', 'grant-role', '--id-number', id, '--role', 'system_admin'], env)).stdout).toContain('already holds system_admin');
    expect((await db.query<{ roles: string[] }>('SELECT roles FROM accounts'))[0]!.roles).toEqual(['system_admin']);
    expect((await cli(['accounts', 'revoke-role', '--id-number', id, '--role', 'system_admin'], env)).stdout).toContain('revoked system_admin from account');
    expect((await db.query<{ roles: string[] }>('SELECT roles FROM accounts'))[0]!.roles).toEqual([]);

    const unknown = await cli(['accounts', 'grant-role', '--id-number', id, '--role', 'root'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--role: one of system_admin');
    const nobody = await cli(['accounts', 'grant-role', '--id-number', `11010119800101001${checkCharacter('11010119800101001')}`, '--role', 'system_admin'], env);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain('no account');

    const events = await db.query<{ type: string; actor: string; details: { role: string; roles: { before: string[]; after: string[] } } }>(
      "SELECT type, actor, details FROM audit_events WHERE type LIKE 'account.role_%' ORDER BY id");
    expect(events.map((e) => [e.type, e.actor, e.details.roles])).toEqual([
      ['account.role_granted', 'cli', { before: [], after: ['system_admin'] }],
      ['account.role_revoked', 'cli', { before: ['system_admin'], after: [] }],
    ]);
  });
});
