// The service desk's password reset over real HTTP on PostgreSQL + Redis, with openid-client as the
// department app: `yihao accounts reset-password` issues a temporary password (and ends the person's
// sessions) → the old password no longer works → the temporary one leads to the new-password page → each
// bad new password gets its own message → a good one finishes the login → code → tokens; afterwards the
// new password signs in and the temporary one does not. Audit events are there and hold no password.
// Also: an expired temporary password, a required reset without one, a new-password POST without the
// proof, and the console action refused to an auditor and a system administrator.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startYihao, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf, type Page } from '../support/browser.ts';
import { runCli } from '../support/cli.ts';
import { startLogoutReceiver, discover, authorizationRequest, finish, submitLogin, type RpClient } from '../support/relying-party.ts';
import { checkCharacter, parseIdNumber } from '../../src/identity/id-number.ts';

const idNumber = (first17: string) => first17 + checkCharacter(first17);
const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple', phone: '13912345678' };
const OTHER = { idNumber: idNumber('44010619900307003'), password: 'another citizen password' };
const SECADMIN = { idNumber: idNumber('11010219810408234'), password: 'security admin password', roles: ['security_admin'] };
const AUDITOR = { idNumber: idNumber('11010319820509345'), password: 'auditor password here', roles: ['auditor'] };
const SYSADMIN = { idNumber: idNumber('11010119800307123'), password: 'system admin password', roles: ['system_admin'] };
const NEW_PASSWORD = 'plum blossoms in the snow';

describe('temporary password and the new password after it (postgres+redis)', () => {
  let y: RunningYihao;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let TAX: RpClient;
  const ids: Record<string, string> = {};
  let temporary = '';

  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    const rp = `http://localhost:${receiver.port}`;
    TAX = { id: 'tax-service', secret: 't'.repeat(40), redirectUri: `${rp}/tax/callback`, postLogoutUri: `${rp}/tax/` };
    y = await startYihao({
      storage: 'postgres+redis',
      clients: [{
        client_id: TAX.id, client_secret: TAX.secret, client_name: '税务服务', department: '税务局', first_party: true,
        redirect_uris: [TAX.redirectUri], post_logout_redirect_uris: [TAX.postLogoutUri], backchannel_logout_uri: `${rp}/tax/backchannel`,
        allowed_scopes: ['openid', 'profile'],
      }],
    });
    const { core } = y.yihao;
    const people: { idNumber: string; password: string; phone?: string; roles?: string[] }[] = [CITIZEN, OTHER, SECADMIN, AUDITOR, SYSADMIN];
    for (const p of people) {
      const parsed = parseIdNumber(p.idNumber);
      if (!parsed.ok) throw new Error('bad fixture');
      ids[p.idNumber] = (await core.accounts.create({
        idNumber: parsed.value, name: '测试', phone: p.phone, passwordHash: await core.passwords.hash(p.password), roles: p.roles ?? [],
      })).id;
    }
  });

  afterAll(async () => {
    await y?.stop();
    await receiver?.stop();
  });

  /** Starts a login at the tax app; returns the login page and what the app keeps. */
  async function start(browser = new Browser()) {
    const config = await discover(y.issuer, TAX);
    const req = await authorizationRequest(config, TAX, 'openid profile');
    const page = await browser.navigate(req.url, TAX.redirectUri);
    return { browser, config, req, page };
  }

  async function signInAtTax(who: { idNumber: string; password: string }) {
    const s = await start();
    const back = await submitLogin(s.browser, s.page, who.idNumber, who.password, TAX.redirectUri);
    return { ...s, back };
  }

  const choose = (browser: Browser, page: Page, next: string, confirm = next) => {
    const form = formOf(page.html, page.url);
    return browser.navigate(form.action, TAX.redirectUri, { form: { ...form.fields, new_password: next, confirm_password: confirm } });
  };

  const auditOf = (type: string) => y.yihao.core.db.query<{ actor: string | null; details: Record<string, unknown>; client_id: string | null }>(
    'SELECT actor, details, client_id FROM audit_events WHERE type = $1 ORDER BY id', [type]);

  it('issues a temporary password from the CLI: printed alone on stdout, sessions ended, old password gone', async () => {
    const before = await signInAtTax(CITIZEN);
    expect(before.back.url.startsWith(TAX.redirectUri)).toBe(true);

    const res = await runCli(['accounts', 'reset-password', '--id-number', CITIZEN.idNumber, '--reason', 'in person, ID card checked'], y.env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^[2-9A-HJKMNP-Z]{4} [2-9A-HJKMNP-Z]{4} [2-9A-HJKMNP-Z]{4}\n$/);
    temporary = res.stdout.trim();
    expect(res.stderr).toContain('1101**********002X');
    expect(res.stderr).toContain('1 session ended');
    expect(res.stderr).not.toContain(temporary);
    expect(res.stderr).not.toContain(temporary.replace(/ /g, ''));
    expect(receiver.deliveries.some((d) => d.path === '/tax/backchannel')).toBe(true);

    const old = await signInAtTax(CITIZEN);
    expect(old.back.status).toBe(401);
    expect(old.back.html).toContain('身份证号码或密码不正确');
  });

  it('leads from the temporary password to the new-password page, refuses bad ones one by one, then finishes the login', async () => {
    const s = await start();
    // Typed as an elderly person might: lower case, with the spaces read out.
    let page = await submitLogin(s.browser, s.page, CITIZEN.idNumber, temporary.toLowerCase());
    expect(page.status).toBe(200);
    expect(page.html).toContain('name="new_password"');
    expect(page.html).toContain('name="confirm_password"');
    expect(page.html).toContain('不能包含您的身份证号码');
    // Not signed in yet: no session cookie from a login.
    expect([...s.browser.cookies('localhost').keys()]).not.toContain('_session');

    const bad: [string, string, string][] = [
      ['short', 'short', '新密码至少要有 8 个字符'],
      [`my${CITIZEN.idNumber}`, `my${CITIZEN.idNumber}`, '不能包含您的身份证号码或其后六位'],
      ['born19491231', 'born19491231', '不能包含您的出生日期'],
      ['call13912345678', 'call13912345678', '不能包含您的手机号码'],
      ['aaaaaaaaaa', 'aaaaaaaaaa', '至少要有 4 个不同的字符'],
      ['12345678', '12345678', '连续字符'],
      ['password123', 'password123', '这个密码太常见'],
      [temporary, temporary, '不能和临时密码相同'],
      [NEW_PASSWORD, `${NEW_PASSWORD}!`, '两次输入的新密码不一样'],
    ];
    for (const [next, confirm, message] of bad) {
      page = await choose(s.browser, page, next, confirm);
      expect(page.status, message).toBe(400);
      expect(page.html).toContain(message);
      expect(page.html).toContain('aria-invalid="true"');
      expect(page.html).not.toContain(next === confirm ? `value="${next}"` : 'value="plum');
    }
    // Both fields' problems at once.
    page = await choose(s.browser, page, 'short', '');
    expect(page.html).toContain('新密码至少要有 8 个字符');
    expect(page.html).toContain('请再次输入新密码');

    const back = await choose(s.browser, page, NEW_PASSWORD);
    expect(back.url.startsWith(TAX.redirectUri), back.html.slice(0, 300)).toBe(true);
    const tokens = await finish(s.config, back.url, s.req);
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.claims()!.amr).toEqual(['pwd']);

    const account = await y.yihao.core.accounts.findById(ids[CITIZEN.idNumber]!);
    expect(account).toMatchObject({ passwordResetRequired: false, temporaryPasswordExpiresAt: null });
    expect(account!.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('signs in with the new password afterwards, and no longer with the temporary one', async () => {
    const ok = await signInAtTax({ idNumber: CITIZEN.idNumber, password: NEW_PASSWORD });
    expect(ok.back.url.startsWith(TAX.redirectUri)).toBe(true);
    expect((await finish(ok.config, ok.back.url, ok.req)).access_token).toBeTruthy();
    const temp = await signInAtTax({ idNumber: CITIZEN.idNumber, password: temporary });
    expect(temp.back.status).toBe(401);
  });

  it('records the issue, the temporary sign-in, the change and the login, none with a password or the clear number', async () => {
    const citizen = ids[CITIZEN.idNumber]!;
    const [issued] = await auditOf('account.temporary_password_issued');
    expect(issued).toMatchObject({ actor: 'cli', details: { account: citizen, by: 'cli', reason: 'in person, ID card checked' } });
    expect(Date.parse(String(issued!.details.expires_at)) - Date.now()).toBeGreaterThan(71 * 3600_000);
    expect(await auditOf('login.temporary_password_used')).toMatchObject([{ actor: citizen, client_id: TAX.id }]);
    expect(await auditOf('password.changed')).toEqual([{ actor: citizen, details: { account: citizen, reason: 'reset' }, client_id: TAX.id }]);
    expect((await auditOf('login.success')).filter((e) => e.actor === citizen)).toHaveLength(3);
    const all = JSON.stringify(await y.yihao.core.db.query('SELECT * FROM audit_events'));
    for (const secret of [temporary, temporary.replace(/ /g, ''), NEW_PASSWORD, CITIZEN.password, CITIZEN.idNumber]) expect(all).not.toContain(secret);
    expect(y.logs.join('\n')).not.toContain(temporary.replace(/ /g, ''));
  });

  it('reads an expired temporary password as a dead end to the service desk, and a reset without one as locked', async () => {
    const res = await runCli(['accounts', 'reset-password', '--id-number', OTHER.idNumber], y.env);
    expect(res.code, res.stderr).toBe(0);
    const other = res.stdout.trim();
    await y.yihao.core.db.query("UPDATE accounts SET temporary_password_expires_at = now() - interval '1 minute' WHERE id = $1", [ids[OTHER.idNumber]]);
    const expired = await signInAtTax({ idNumber: OTHER.idNumber, password: other });
    expect(expired.back.status).toBe(403);
    expect(expired.back.html).toContain('临时密码已过期');
    expect(expired.back.html).not.toContain('name="new_password"');

    // force-reset (no temporary password): the locked message, as before.
    await y.yihao.core.db.query('UPDATE accounts SET temporary_password_expires_at = NULL, password_hash = $2 WHERE id = $1',
      [ids[OTHER.idNumber], await y.yihao.core.passwords.hash(OTHER.password)]);
    const locked = await signInAtTax(OTHER);
    expect(locked.back.status).toBe(429);
    expect(locked.back.html).toContain('该账户已被暂时锁定');
  });

  it('refuses a new-password POST in an interaction where no temporary password was proven', async () => {
    const s = await start();
    const form = formOf(s.page.html, s.page.url);
    const action = form.action.replace(/\/login$/, '/password');
    const res = await s.browser.request(action, { form: { csrf: form.fields.csrf!, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD } });
    expect(res.status).toBe(403);
    expect(res.html).toContain('请用临时密码重新登录');
    expect(res.html).toContain('name="password"');
  });

  it('lets only a security administrator issue one in the console', async () => {
    async function consoleAs(who: { idNumber: string; password: string }) {
      const browser = new Browser();
      const page = await submitLogin(browser, await browser.navigate(`${y.issuer}/admin`), who.idNumber, who.password);
      return { browser, csrf: formOf(page.html, page.url).fields.csrf! };
    }
    const target = `${y.issuer}/admin/accounts/${ids[OTHER.idNumber]}/temporary-password`;
    for (const who of [AUDITOR, SYSADMIN]) {
      const c = await consoleAs(who);
      expect((await c.browser.request(target, { form: { csrf: c.csrf } })).status).toBe(403);
    }
    const sec = await consoleAs(SECADMIN);
    const res = await fetch(target, {
      method: 'POST', redirect: 'manual',
      headers: { cookie: [...sec.browser.cookies('localhost')].map(([k, v]) => `${k}=${v}`).join('; '), 'content-type': 'application/x-www-form-urlencoded', origin: y.issuer },
      body: new URLSearchParams({ csrf: sec.csrf, reason: 'counter 3' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const html = await res.text();
    const shown = /id="temporary-password"[^>]*>([^<]+)</.exec(html)?.[1];
    expect(shown).toMatch(/^[2-9A-HJKMNP-Z]{4} [2-9A-HJKMNP-Z]{4} [2-9A-HJKMNP-Z]{4}$/);
    expect((await auditOf('account.temporary_password_issued')).at(-1)).toMatchObject({ actor: ids[SECADMIN.idNumber], details: { by: 'administrator', reason: 'counter 3' } });
    // Shown once: the account page afterwards has the expiry, not the password.
    const account = await sec.browser.request(`${y.issuer}/admin/accounts/${ids[OTHER.idNumber]}`);
    expect(account.html).toContain('临时密码有效期至');
    expect(account.html).not.toContain(shown!);
    expect(account.html).toContain('/temporary-password"'); // a citizen's page offers the action (an administrator's, below, does not)

    // Not for an administrator (三员分立): the security administrator would sign in with the others' roles.
    const issuedBefore = (await auditOf('account.temporary_password_issued')).length;
    for (const admin of [SYSADMIN, AUDITOR, SECADMIN]) {
      const adminId = ids[admin.idNumber]!;
      const refused = await sec.browser.request(`${y.issuer}/admin/accounts/${adminId}/temporary-password`, { form: { csrf: sec.csrf } });
      expect(refused.status).toBe(403);
      expect(refused.html).toContain('控制台不能为其签发临时密码');
      expect((await sec.browser.request(`${y.issuer}/admin/accounts/${adminId}`)).html).not.toContain('/temporary-password"');
    }
    expect(await auditOf('account.temporary_password_issued')).toHaveLength(issuedBefore);
  });

  it('voids an open new-password page when the temporary password is reissued, and throttles temporary passwords like any', async () => {
    const issue = async () => {
      const res = await runCli(['accounts', 'reset-password', '--id-number', OTHER.idNumber], y.env);
      expect(res.code, res.stderr).toBe(0);
      return res.stdout.trim();
    };
    const first = await issue();
    const s = await start();
    const page = await submitLogin(s.browser, s.page, OTHER.idNumber, first);
    expect(page.html).toContain('name="new_password"');
    const second = await issue();
    const stale = await choose(s.browser, page, NEW_PASSWORD);
    expect(stale.status).toBe(403);
    expect(stale.html).toContain('请用临时密码重新登录');
    expect((await y.yihao.core.accounts.findById(ids[OTHER.idNumber]!))!.passwordResetRequired).toBe(true);

    for (let i = 0; i < 5; i++) expect((await signInAtTax({ idNumber: OTHER.idNumber, password: `wrong guess ${i}` })).back.status).not.toBe(302);
    const throttled = await signInAtTax({ idNumber: OTHER.idNumber, password: second });
    expect(throttled.back.status).toBe(429);
    expect(throttled.back.html).not.toContain('name="new_password"');

    // The new-password page's tries are counted atomically: of 26 posted at once, at most 20 are looked at.
    await y.yihao.core.counters.reset(`login:number:${y.yihao.core.accounts.indexOf(OTHER.idNumber)}`); // the lock above, lifted as an unlock would
    const third = await issue();
    const t = await start();
    const change = await submitLogin(t.browser, t.page, OTHER.idNumber, third);
    expect(change.html).toContain('name="new_password"');
    const tries = await Promise.all(Array.from({ length: 26 }, () => choose(t.browser, change, 'short', 'mismatch')));
    const looked = tries.filter((r) => r.status === 400).length;
    expect(looked).toBeLessThanOrEqual(20);
    expect(tries.every((r) => r.status === 400 || r.status === 403)).toBe(true);
    expect((await choose(t.browser, change, NEW_PASSWORD)).status).toBe(403); // the proof is gone

    const unknown = await runCli(['accounts', 'reset-password', '--id-number', idNumber('31010419700101123')], y.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no account with this identity number');
    expect(unknown.stdout).toBe('');
  });
});
