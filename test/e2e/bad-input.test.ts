// Bad input gets a clear error tied to its cause, never a 5xx; and the clear ID number is nowhere
// in storage or logs after a login.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { startYihao, createCitizen, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf } from '../support/browser.ts';
import { discover, authorizationRequest, finish, submitLogin, type RpClient } from '../support/relying-party.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';
import { applyClients } from '../../src/clients/apply.ts';

const NUMBER = '44030419851103211X'.slice(0, 17);
const CITIZEN = { idNumber: NUMBER + checkCharacter(NUMBER), password: 'a long enough password' };
const LOCKED = { idNumber: '310101199001011234'.slice(0, 17), password: 'another good password' };
LOCKED.idNumber += checkCharacter(LOCKED.idNumber);

describe.each(STORAGES)('bad input on %s storage', (storage) => {
  let y: RunningYihao;
  const A: RpClient = { id: 'housing', secret: 'h'.repeat(40), redirectUri: 'http://localhost:9/cb', postLogoutUri: 'http://localhost:9/' };

  beforeAll(async () => {
    y = await startYihao({
      storage,
      clients: [{
        client_id: A.id, client_secret: A.secret, client_name: '住房服务', department: '住建局', first_party: true,
        redirect_uris: [A.redirectUri], allowed_scopes: ['openid', 'profile'],
      }],
    });
    const { core } = y.yihao;
    for (const c of [CITIZEN, LOCKED]) {
      await createCitizen(y, { idNumber: c.idNumber, name: '李四', password: c.password });
    }
  });
  afterAll(async () => { await y?.stop(); });

  async function loginPage(browser = new Browser()) {
    const config = await discover(y.issuer, A);
    const req = await authorizationRequest(config, A, 'openid profile');
    const page = await browser.navigate(req.url, A.redirectUri);
    expect(page.status).toBe(200);
    return { browser, page, config, req };
  }

  it('explains a wrong check character next to the ID number field', async () => {
    const { browser, page } = await loginPage();
    const wrong = CITIZEN.idNumber.slice(0, 17) + (CITIZEN.idNumber[17] === '1' ? '2' : '1');
    const res = await submitLogin(browser, page, wrong, 'whatever');
    expect(res.status).toBe(400);
    expect(res.html).toMatch(/id="id_number"[^>]*aria-invalid="true"/);
    expect(res.html).toContain('id_number-error');
    expect(res.html).toContain('校验位');
  });

  it('answers in English when the browser asks for it', async () => {
    const { browser, page } = await loginPage(new Browser({ 'accept-language': 'en-GB,en;q=0.9' }));
    const res = await submitLogin(browser, page, '123', 'x');
    expect(res.status).toBe(400);
    expect(res.html).toContain('lang="en"');
  });

  it('gives one message for a wrong password and an unknown number', async () => {
    const { browser, page } = await loginPage();
    const wrong = await submitLogin(browser, page, CITIZEN.idNumber, 'not the password');
    expect(wrong.status).toBe(401);
    const unknownBase = '11010119800101001';
    const unknown = await submitLogin(browser, wrong, unknownBase + checkCharacter(unknownBase), 'not the password');
    expect(unknown.status).toBe(401);
    const message = (html: string) => /role="alert"[\s\S]*?<\/div>/.exec(html)?.[0];
    expect(message(unknown.html)).toBe(message(wrong.html));
  });

  it('locks a number after five failures, even against parallel attempts, then refuses the right password', async () => {
    const { browser, page } = await loginPage();
    const form = formOf(page.html, page.url);
    const attempts = await Promise.all(Array.from({ length: 12 }, () =>
      browser.request(form.action, { form: { ...form.fields, id_number: LOCKED.idNumber, password: 'wrong password' } })));
    const statuses = attempts.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(4);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    const right = await browser.request(form.action, { form: { ...form.fields, id_number: LOCKED.idNumber, password: LOCKED.password } });
    expect(right.status).toBe(429);
    expect(right.html).toContain('锁定');
    const audit = await y.yihao.core.db.query<{ type: string }>("SELECT type FROM audit_events WHERE type = 'account.locked'");
    expect(audit.length).toBe(1);
  });

  it('refuses a form without its CSRF token', async () => {
    const { browser, page } = await loginPage();
    const form = formOf(page.html, page.url);
    const res = await browser.request(form.action, { form: { id_number: CITIZEN.idNumber, password: CITIZEN.password } });
    expect(res.status).toBe(403);
  });

  it('shows an error page, not a redirect, for an unknown client or an unregistered redirect_uri', async () => {
    const browser = new Browser();
    const unknown = await browser.request(`${y.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(A.redirectUri)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`);
    expect(unknown.status).toBe(400);
    expect(unknown.location).toBeUndefined();
    expect(unknown.html).toContain('invalid_client');
    const evil = await browser.request(`${y.issuer}/auth?client_id=${A.id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`);
    expect(evil.status).toBe(400);
    expect(evil.location).toBeUndefined();
    expect(evil.html).toContain('redirect_uri');
  });

  it('refuses an authorization request without PKCE', async () => {
    const browser = new Browser();
    const res = await browser.request(`${y.issuer}/auth?client_id=${A.id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(A.redirectUri)}`);
    expect(res.location).toContain('error=invalid_request');
  });

  it('shows an expired-page message for an unknown interaction', async () => {
    const res = await new Browser().request(`${y.issuer}/interaction/doesnotexist`);
    expect(res.status).toBe(400);
    expect(res.html).not.toMatch(/at \w+ \(/); // no stack trace
  });

  it('refuses a malformed client file with file and reason while the others still load', async () => {
    await writeFile(`${y.dir}/clients/broken.json`, '{ "client_id": "broken", ');
    await writeFile(`${y.dir}/clients/bad-fields.json`, JSON.stringify({ client_id: 'Bad Id', redirect_uris: ['ftp://x/#frag'], allowed_scopes: ['openid', 'everything'] }));
    const { core } = y.yihao;
    const result = await applyClients(`${y.dir}/clients`, { store: core.clients, audit: core.audit, context: { production: false, env: {} } });
    const broken = result.problems.find((p) => p.file === 'broken.json');
    expect(broken?.errors[0]?.message).toMatch(/not valid JSON/);
    const bad = result.problems.find((p) => p.file === 'bad-fields.json')!;
    const fields = bad.errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['client_id', 'client_name', 'department', 'allowed_scopes.1']));
    expect(result.plan.find((s) => s.clientId === A.id)?.action).toBe('unchanged');
    expect(await core.clients.find(A.id)).toBeDefined();
  });

  it('keeps the clear ID number out of PostgreSQL, Redis and the logs after a login', async () => {
    const { browser, page, config, req } = await loginPage();
    const back = await submitLogin(browser, page, CITIZEN.idNumber, CITIZEN.password, A.redirectUri);
    await finish(config, back.url, req);
    const { db } = y.yihao.core;
    const tables = await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    let dump = '';
    for (const { tablename } of tables) {
      const rows = await db.query<{ row: string }>(`SELECT t::text AS row FROM "${tablename}" t`);
      dump += rows.map((r) => r.row).join('\n');
    }
    expect(dump).toContain('4403**********'); // the masked form is there, so the dump is real
    if (y.env.REDIS_URL) {
      const redis = new Redis(y.env.REDIS_URL);
      const keys = await redis.keys(`${y.env.REDIS_KEY_PREFIX}*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) dump += `${k}=${((await redis.callBuffer('DUMP', k)) as Buffer).toString('latin1')}`;
      await redis.quit();
    }
    const logs = y.logs.join('\n');
    for (const form of [CITIZEN.idNumber, CITIZEN.idNumber.toLowerCase(), CITIZEN.idNumber.slice(0, 17)]) {
      expect(dump).not.toContain(form);
      expect(logs).not.toContain(form);
    }
  });
});
