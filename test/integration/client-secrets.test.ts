// Client secrets at rest (src/clients/secret-seal.ts): sealed in the clients table whatever wrote them — a
// registration file here; the admin API and dynamic registration in their own tests — and, at start, those an
// older version left there in clear. The app authenticates with its secret as before.
import { describe, it, expect, afterAll, inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startYihao, type RunningYihao } from '../support/yihao.ts';
import { createClientAdmin } from '../../src/admin/clients.ts';

const key = () => randomBytes(32).toString('base64url');
// One set of identity keys for both starts (a deployment's YIHAO_INDEX_KEY / YIHAO_ENCRYPTION_KEYS).
const KEYS = { YIHAO_INDEX_KEY: key(), YIHAO_ENCRYPTION_KEYS: `k1:${key()}` };
const FILE_SECRET = `file-${randomBytes(24).toString('base64url')}`;
const LEGACY_SECRET = `legacy-${randomBytes(24).toString('base64url')}`;
const app = (clientId: string, secret: string) => ({
  client_id: clientId, client_secret: secret, client_name: clientId, department: '税务局', redirect_uris: ['http://localhost:4703/cb'],
});

/** The token endpoint with a made-up code: invalid_grant once the client authenticated, invalid_client otherwise. */
async function authenticates(y: RunningYihao, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${y.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=authorization_code&code=made-up&redirect_uri=${encodeURIComponent('http://localhost:4703/cb')}&code_verifier=${'v'.repeat(43)}`,
  });
  return ((await res.json()) as { error: string }).error;
}

const storedSecret = async (y: RunningYihao, clientId: string) => (await y.yihao.core.db.query<{ secret: string; row: string }>(
  `SELECT metadata->>'client_secret' AS secret, c::text AS row FROM clients c WHERE client_id = $1`, [clientId]))[0]!;

describe('client secrets at rest', () => {
  const running: RunningYihao[] = [];
  afterAll(async () => { for (const y of running) await y.stop(); });

  it('seals a registration file\'s secret, and at start the ones a database still holds in clear', async () => {
    const first = await startYihao({ storage: 'postgres+redis', clients: [app('tax-file', FILE_SECRET)], env: KEYS });
    running.push(first);
    const fromFile = await storedSecret(first, 'tax-file');
    expect(fromFile.secret).toMatch(/^sealed:k1\./);
    expect(fromFile.row).not.toContain(FILE_SECRET);
    expect(await authenticates(first, 'tax-file', FILE_SECRET)).toBe('invalid_grant');
    expect(await authenticates(first, 'tax-file', `${FILE_SECRET}x`)).toBe('invalid_client');

    // A client an older version wrote, secret in clear.
    await first.yihao.core.db.query(`INSERT INTO clients (client_id, metadata, department, source) VALUES ($1, $2::jsonb, '税务局', 'api')`,
      ['tax-legacy', JSON.stringify(app('tax-legacy', LEGACY_SECRET))]);

    // The next start, on the same database and keys, seals it; the app signs in with its secret as before.
    const env = { ...KEYS, DATABASE_URL: first.env.DATABASE_URL!, REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: first.env.REDIS_KEY_PREFIX! };
    const second = await startYihao({ storage: 'embedded', clients: [app('tax-file', FILE_SECRET)], env });
    running.push(second);
    const legacy = await storedSecret(second, 'tax-legacy');
    expect(legacy.secret).toMatch(/^sealed:k1\./);
    expect(legacy.row).not.toContain(LEGACY_SECRET);
    expect(second.logs.join('\n')).toContain('client secrets stored in clear are now sealed');
    expect(await authenticates(second, 'tax-legacy', LEGACY_SECRET)).toBe('invalid_grant');
    expect(await authenticates(second, 'tax-file', FILE_SECRET)).toBe('invalid_grant');

    // A sealed secret that does not open (here: another client's, copied onto this row) takes only its own
    // client out of service, said in the log; the others go on, and a rotation gives it a secret again.
    await second.yihao.core.db.query(`UPDATE clients SET metadata = jsonb_set(metadata, '{client_secret}', (SELECT metadata->'client_secret' FROM clients WHERE client_id = 'tax-file'))
      WHERE client_id = 'tax-legacy'`);
    await second.yihao.core.clients.refresh();
    expect(await authenticates(second, 'tax-legacy', LEGACY_SECRET)).toBe('invalid_client');
    expect(await authenticates(second, 'tax-legacy', FILE_SECRET)).toBe('invalid_client');
    expect(await authenticates(second, 'tax-file', FILE_SECRET)).toBe('invalid_grant');
    expect(second.logs.join('\n')).toMatch(/client refused: its secret does not open.*tax-legacy.*sealed for another client/);
    // Said once, not on every request naming the client (anyone can send its client_id).
    for (let i = 0; i < 3; i++) expect(await authenticates(second, 'tax-legacy', LEGACY_SECRET)).toBe('invalid_client');
    expect(second.logs.filter((l) => l.includes('client refused: its secret does not open'))).toHaveLength(1);
    const admin = createClientAdmin({ db: second.yihao.core.db, store: second.yihao.core.clients, context: { production: false, env: {} }, validate: async () => {} });
    const rotated = await admin.rotateSecret('tax-legacy', 3600, { admin: { kind: 'client', clientId: 'automation' } });
    expect(rotated.previous_secret_expires_at).toBeNull(); // no grace for a secret that authenticates nobody
    expect(await authenticates(second, 'tax-legacy', rotated.client_secret)).toBe('invalid_grant');
  });
});
