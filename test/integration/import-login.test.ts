// Accounts imported with a legacy system's password hash sign in over real HTTP: the hash is checked
// by its own scheme, replaced by argon2id in the same request, and a wrong password fails exactly as
// any wrong password does. Accounts imported without a hash cannot sign in until they set one.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { startYihao, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, submitLogin, type RpClient } from '../support/relying-party.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';
import { importAccounts } from '../../src/accounts/import.ts';

const number = (i: number) => {
  const first17 = `440304198801010${String(i).padStart(2, '0')}`;
  return first17 + checkCharacter(first17);
};
const PASSWORD = '旧系统的密码 old-system pw';
const bcryptB = bcrypt.hashSync(PASSWORD, 4); // $2b$04$…
const SALT = 'Xy7/salt.ok';
const LEGACY: Record<string, string> = {
  'bcrypt $2a$': bcryptB.replace(/^\$2b\$/, '$2a$'),
  'bcrypt $2b$': bcryptB,
  'bcrypt $2y$': bcryptB.replace(/^\$2b\$/, '$2y$'),
  'pbkdf2_sha256': `pbkdf2_sha256$1000$${SALT}$${pbkdf2Sync(PASSWORD, SALT, 1000, 32, 'sha256').toString('base64')}`,
  'sm3': `sm3$${SALT}$${createHash('sm3').update(SALT + PASSWORD).digest('hex')}`,
  'sha256': `sha256$${SALT}$${createHash('sha256').update(SALT + PASSWORD).digest('hex').toUpperCase()}`,
};
const SCHEMES = Object.keys(LEGACY).map((scheme, i) => ({ scheme, idNumber: number(i), hash: LEGACY[scheme]! }));
const NO_PASSWORD = number(50);
let unknowns = 60; // a fresh unknown number for each comparison: five failures would lock one
const unknown = () => number(unknowns++);

describe.each(STORAGES)('legacy password hashes at first login on %s storage', (storage) => {
  let y: RunningYihao;
  const A: RpClient = { id: 'social', secret: 's'.repeat(40), redirectUri: 'http://localhost:9/cb', postLogoutUri: 'http://localhost:9/' };

  beforeAll(async () => {
    y = await startYihao({
      storage,
      clients: [{
        client_id: A.id, client_secret: A.secret, client_name: '社保服务', department: '人社局', first_party: true,
        redirect_uris: [A.redirectUri], allowed_scopes: ['openid', 'profile'],
      }],
    });
    const file = `${y.dir}/legacy.jsonl`;
    await writeFile(file, [
      ...SCHEMES.map((s) => JSON.stringify({ id_number: s.idNumber, name: '旧用户', password_hash: s.hash })),
      JSON.stringify({ id_number: NO_PASSWORD, name: '未设密码' }),
    ].join('\n'));
    const { core } = y.yihao;
    const report = await importAccounts(core.db, core.identityKeys, { file, batchSize: 100, resume: false, progressEvery: 1000 });
    expect(report).toMatchObject({ inserted: SCHEMES.length + 1, rejected: 0 });
  });
  afterAll(async () => { await y?.stop(); });

  const storedHash = async (idNumber: string) => {
    const { accounts } = y.yihao.core;
    return (await accounts.findByIndex(accounts.indexOf(idNumber)))?.passwordHash;
  };
  const alert = (html: string) => /role="alert"[\s\S]*?<\/div>/.exec(html)?.[0];

  async function login(idNumber: string, password: string) {
    const browser = new Browser();
    const config = await discover(y.issuer, A);
    const req = await authorizationRequest(config, A, 'openid profile');
    const page = await browser.navigate(req.url, A.redirectUri);
    return submitLogin(browser, page, idNumber, password, A.redirectUri);
  }

  it.each(SCHEMES)('$scheme: a wrong password fails like any other and leaves the hash alone', async ({ idNumber, hash }) => {
    const wrong = await login(idNumber, `${PASSWORD}!`);
    expect(wrong.status).toBe(401);
    const nobody = await login(unknown(), `${PASSWORD}!`);
    expect(alert(wrong.html)).toBeDefined();
    expect(alert(wrong.html)).toBe(alert(nobody.html));
    expect(await storedHash(idNumber)).toBe(hash);
  });

  it.each(SCHEMES)('$scheme: the right password signs in and the hash becomes argon2id', async ({ idNumber }) => {
    const first = await login(idNumber, PASSWORD);
    expect(first.url.startsWith(A.redirectUri)).toBe(true);
    expect(first.url).toContain('code=');
    const upgraded = await storedHash(idNumber);
    expect(upgraded).toMatch(/^\$argon2id\$/);
    // The next sign-in goes through argon2id with the same password; a wrong one still fails.
    expect((await login(idNumber, PASSWORD)).url).toContain('code=');
    expect((await login(idNumber, 'another password')).status).toBe(401);
    expect(await storedHash(idNumber)).toBe(upgraded);
  });

  it('an account imported without a password cannot sign in, with the wrong-password message', async () => {
    const res = await login(NO_PASSWORD, 'any password at all');
    expect(res.status).toBe(401);
    expect(alert(res.html)).toBe(alert((await login(unknown(), 'any password at all')).html));
    expect(await storedHash(NO_PASSWORD)).toBeNull();
  });
});
