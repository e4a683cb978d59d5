// The administration console in real Chromium, as administrators use it: signing in through yihao itself,
// the three separated roles (a citizen without one is turned away), a system administrator changing a
// client, an auditor who can read everything — administrators' own actions included — and change nothing,
// a security administrator ending a citizen's sessions everywhere (the department app receives back-channel
// logout) and locking an account, and the console's own session ending with the yihao session.
// A screenshot of every page lands in test/screenshots/console-*.png.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { Browser as HttpBrowser } from '../support/browser.ts';
import { startLogoutReceiver, discover, authorizationRequest, finish, submitLogin, type RpClient } from '../support/relying-party.ts';
import { launchChromium, closeChromium, screenshot, pageMetrics } from '../support/chromium.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';

const idNumber = (first17: string) => first17 + checkCharacter(first17);
const SYSADMIN = { idNumber: idNumber('11010119800307123'), password: 'system admin password', name: '王系统', roles: ['system_admin'] };
const SECADMIN = { idNumber: idNumber('11010219810408234'), password: 'security admin password', name: '李安全', roles: ['security_admin'] };
const AUDITOR = { idNumber: idNumber('11010319820509345'), password: 'auditor password here', name: '赵审计', roles: ['auditor'] };
const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple', name: '张三', roles: [] as string[] };
type Person = typeof SYSADMIN;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('administration console in Chromium', () => {
  let y: RunningYihao;
  let chromium: Browser;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let TAX: RpClient;
  const ids: Record<string, string> = {};
  const contexts: BrowserContext[] = [];
  let auditorPage: Page;
  let securityPage: Page; // the security administrator stays signed in across the last three tests

  beforeAll(async () => {
    [receiver, chromium] = await Promise.all([startLogoutReceiver(), launchChromium()]);
    const rp = `http://localhost:${receiver.port}`;
    TAX = { id: 'tax-service', secret: 't'.repeat(40), redirectUri: `${rp}/tax/callback`, postLogoutUri: `${rp}/tax/` };
    y = await startYihao({
      storage: 'embedded',
      // The citizen's logins come "from" several addresses (X-Forwarded-For), as behind the load balancer.
      env: { TRUST_PROXY: 'true' },
      clients: [{
        client_id: TAX.id, client_secret: TAX.secret, client_name: '税务服务', department: '税务局', first_party: true,
        redirect_uris: [TAX.redirectUri], post_logout_redirect_uris: [TAX.postLogoutUri], backchannel_logout_uri: `${rp}/tax/backchannel`,
        allowed_scopes: ['openid', 'profile'],
      }],
    });
    const { core } = y.yihao;
    await Promise.all([SYSADMIN, SECADMIN, AUDITOR, CITIZEN].map(async (p) => {
      const account = await createCitizen(y, { idNumber: p.idNumber, name: p.name, password: p.password, roles: p.roles });
      ids[p.idNumber] = account.id;
    }));
  });

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await closeChromium(chromium);
    await y?.stop();
    await receiver?.stop();
  });

  async function desk(locale = 'zh-CN'): Promise<Page> {
    const context = await chromium.newContext({ viewport: { width: 1280, height: 900 }, locale });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context.newPage();
  }

  /** Opens the console: yihao's own login page (prompt=login), then back into the console. */
  async function signIn(page: Page, who: Person, path = '/admin') {
    await page.goto(`${y.issuer}${path}`);
    await page.getByLabel('身份证号码').fill(who.idNumber);
    await page.getByLabel('密码').fill(who.password);
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/admin')), page.getByRole('button', { name: '登录', exact: true }).click()]);
  }

  const csrfOf = (page: Page) => page.locator('form[action="/admin/sign-out"] input[name="csrf"]').getAttribute('value');

  async function auditRows(type: string) {
    return y.yihao.core.db.query<{ actor: string | null; details: Record<string, unknown>; client_id: string | null }>(
      'SELECT actor, details, client_id FROM audit_events WHERE type = $1 ORDER BY id', [type]);
  }

  /** A citizen signs in at the tax app over plain HTTP, from `ip`; returns the app's ID token claims. */
  async function citizenAtTax(ip: string) {
    const browser = new HttpBrowser({ 'x-forwarded-for': ip });
    const config = await discover(y.issuer, TAX);
    const req = await authorizationRequest(config, TAX, 'openid profile');
    const page = await browser.navigate(req.url, TAX.redirectUri);
    const back = await submitLogin(browser, page, CITIZEN.idNumber, CITIZEN.password, TAX.redirectUri);
    return (await finish(config, back.url, req)).claims()!;
  }

  it('turns away a signed-in citizen without an administrator role with a clear 403', async () => {
    const page = await desk();
    await page.goto(`${y.issuer}/admin`);
    await page.getByLabel('身份证号码').fill(CITIZEN.idNumber);
    await page.getByLabel('密码').fill(CITIZEN.password);
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/callback'),
      page.getByRole('button', { name: '登录', exact: true }).click(),
    ]);
    expect(response.status()).toBe(403);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('无权访问');
    expect(await page.locator('main').textContent()).toContain('没有管理控制台的权限');
    expect(await page.locator('nav').count()).toBe(0);
    await screenshot(page, 'console-forbidden.png');
    // No console session came of it.
    const again = await page.goto(`${y.issuer}/admin/clients`);
    expect(new URL(again!.url()).pathname).toMatch(/^\/interaction\//);
    expect(await auditRows('console.access_denied')).toEqual([expect.objectContaining({ actor: ids[CITIZEN.idNumber] })]);
  });

  it('lets a system administrator disable, enable and rotate a client, and sign out of console and yihao', async () => {
    const page = await desk();
    await signIn(page, SYSADMIN);
    const response = await page.reload();
    expect(response!.headers()['cache-control']).toBe('no-store');
    expect(response!.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    expect((await pageMetrics(page)).scripts).toBe(0);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('概览');
    // Separated roles: no sessions or accounts for the system administrator.
    expect(await page.getByRole('navigation').getByRole('link').allTextContents()).toEqual(['概览', '应用', '审计']);
    expect((await page.goto(`${y.issuer}/admin/sessions`))!.status()).toBe(403);

    await page.goto(`${y.issuer}/admin/clients`);
    await screenshot(page, 'console-clients.png');
    await page.getByRole('link', { name: 'tax-service' }).click();
    await page.getByRole('button', { name: '停用应用' }).click();
    await page.getByText('已保存：停用应用').waitFor();
    expect(await page.locator('.facts').textContent()).toContain('已停用');
    await page.getByRole('button', { name: '启用应用' }).click();
    await page.getByText('已保存：启用应用').waitFor();
    await screenshot(page, 'console-client.png');
    await page.getByRole('button', { name: '更换密钥' }).click();
    const secret = await page.locator('#new-secret').textContent();
    expect(secret).toMatch(/^[\w-]{43}$/);
    await screenshot(page, 'console-secret.png');
    // Done through the admin API's own functions: audited with the administrator as actor, secrets never.
    const changes = [...await auditRows('client.disabled'), ...await auditRows('client.enabled'), ...await auditRows('client.secret_rotated')];
    expect(changes.map((r) => r.actor)).toEqual([ids[SYSADMIN.idNumber], ids[SYSADMIN.idNumber], ids[SYSADMIN.idNumber]]);
    expect(JSON.stringify(changes)).not.toContain(secret);

    await page.getByRole('button', { name: '退出登录' }).click();
    await page.getByRole('heading', { level: 1, name: '是否退出登录？' }).waitFor();
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin/signed-out'), page.getByRole('button', { name: '退出登录' }).click()]);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('已退出管理控制台');
    await screenshot(page, 'console-signed-out.png');
    await page.goto(`${y.issuer}/admin`);
    expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);
  });

  it('shows an auditor everything, administrators\' own actions included, and lets them change nothing', async () => {
    const page = auditorPage = await desk();
    await signIn(page, AUDITOR, '/admin/clients/tax-service');
    expect(new URL(page.url()).pathname).toBe('/admin/clients/tax-service');
    expect(await page.getByRole('button').allTextContents()).toEqual(['退出登录']); // nothing but signing out
    await screenshot(page, 'console-client-readonly.png');
    // A forged form post, with a valid CSRF token of the auditor's own session, is refused.
    const forged = await page.request.post(`${y.issuer}/admin/clients/tax-service/disable`, { form: { csrf: (await csrfOf(page))! }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('您的角色不能执行此操作');
    expect(await y.yihao.core.db.query(`SELECT disabled FROM clients WHERE client_id = 'tax-service'`)).toEqual([{ disabled: false }]);
    expect((await page.goto(`${y.issuer}/admin/sessions`))!.status()).toBe(403);
    expect((await page.goto(`${y.issuer}/admin/accounts`))!.status()).toBe(403);
    // Nothing edits or deletes audit: no such page, and the methods are refused.
    expect((await page.request.delete(`${y.issuer}/admin/audit`)).status()).toBe(405);
    expect((await page.request.delete(`${y.issuer}/admin/api/audit`)).status()).toBeGreaterThanOrEqual(400);

    await page.goto(`${y.issuer}/admin/audit`);
    await page.getByLabel('执行者').fill(ids[SYSADMIN.idNumber]!);
    await page.getByRole('button', { name: '筛选' }).click();
    await page.waitForURL((u) => u.searchParams.get('actor') === ids[SYSADMIN.idNumber]);
    const types = await page.locator('tbody tr td:nth-child(3)').allTextContents();
    expect(types).toEqual(expect.arrayContaining(['client.disabled', 'client.enabled', 'client.secret_rotated', 'console.signed_in', 'console.signed_out']));
    expect(await page.locator('tbody').textContent()).toContain('王系统');
    await screenshot(page, 'console-audit.png');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '导出' }).click()]);
    const lines = (await streamText(await download.createReadStream())).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(expect.arrayContaining(['client.disabled', 'console.access_denied']));
    expect(lines.every((l) => /^[0-9a-f]{64}$/.test(l.hash))).toBe(true);

    await page.getByRole('button', { name: '开始校验' }).click();
    await page.getByRole('heading', { level: 1, name: '哈希链校验结果' }).waitFor();
    expect(await page.locator('.notice').textContent()).toMatch(/校验通过：\d+ 条记录完整/);
    await screenshot(page, 'console-verify.png');
    expect((await auditRows('audit.verified')).at(-1)).toMatchObject({ actor: ids[AUDITOR.idNumber] });
    expect((await auditRows('audit.exported')).at(-1)).toMatchObject({ actor: ids[AUDITOR.idNumber] });
  });

  it('lets a security administrator find a citizen by ID number and end their sessions everywhere', async () => {
    // The citizen signs in at the tax app three times from three addresses (an anomaly), and fails twice.
    const claims = [await citizenAtTax('203.0.113.10'), await citizenAtTax('203.0.113.20'), await citizenAtTax('203.0.113.30')];
    const wrong = new HttpBrowser({ 'x-forwarded-for': '198.51.100.7' });
    const config = await discover(y.issuer, TAX);
    for (let i = 0; i < 2; i++) {
      const login = await wrong.navigate((await authorizationRequest(config, TAX, 'openid')).url, TAX.redirectUri);
      expect((await submitLogin(wrong, login, CITIZEN.idNumber, 'not the password', TAX.redirectUri)).status).toBe(401);
    }

    const page = securityPage = await desk();
    await signIn(page, SECADMIN, '/admin/sessions');
    await screenshot(page, 'console-sessions.png');
    await page.getByLabel('身份证号码').fill(CITIZEN.idNumber);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('account')), page.getByRole('button', { name: '查找' }).click()]);
    expect(page.url()).not.toContain(CITIZEN.idNumber);
    expect(new URL(page.url()).searchParams.get('account')).toBe(ids[CITIZEN.idNumber]);
    // Three at the tax app, and the one from the console sign-in the first test refused.
    const rows = page.locator('table').first().locator('tbody tr');
    expect(await rows.count()).toBe(4);
    expect(await rows.filter({ hasText: '税务服务' }).count()).toBe(3);
    expect(await page.locator('main').textContent()).not.toContain(CITIZEN.idNumber);
    expect(await page.locator('main').textContent()).toContain('1101**********002X');
    expect(await page.locator('main').textContent()).toContain('203.0.113.30');
    await screenshot(page, 'console-sessions-person.png');
    expect((await auditRows('account.viewed')).some((r) => r.actor === ids[SECADMIN.idNumber] && r.details.account === ids[CITIZEN.idNumber])).toBe(true);

    await rows.filter({ hasText: '税务服务' }).first().getByRole('link', { name: '详情' }).click();
    await page.getByRole('heading', { level: 1, name: '会话详情' }).waitFor();
    expect(await page.locator('.facts').textContent()).toContain('tax-service');
    await screenshot(page, 'console-session.png');
    await page.goBack();

    await page.getByLabel('原因（记入审计记录，可不填）').fill('证件遗失，本人来电要求');
    await page.getByRole('button', { name: '结束此人的全部会话' }).click();
    await page.getByRole('heading', { level: 1, name: '会话已结束' }).waitFor();
    expect(await page.locator('.notice').textContent()).toContain('已结束 4 个会话');
    expect(await page.locator('tbody').textContent()).toContain('已送达');
    await screenshot(page, 'console-sessions-ended.png');

    // The tax app was told, once per session, with the sid it knows each session by.
    const tokens = receiver.deliveries.filter((d) => d.path === '/tax/backchannel').map((d) => decodeJwt(d.logoutToken));
    expect(tokens.map((t) => t.sid).sort()).toEqual(claims.map((c) => c.sid).sort());
    expect(tokens.every((t) => t.aud === TAX.id && claims.some((c) => c.sub === t.sub))).toBe(true);
    const ended = await auditRows('session.ended');
    expect(ended.filter((r) => r.actor === ids[SECADMIN.idNumber] && r.details.reason === '证件遗失，本人来电要求')).toHaveLength(4);
    // The citizen's SSO session is gone: the app gets the login form again.
    const fresh = new HttpBrowser();
    const again = await fresh.navigate((await authorizationRequest(config, TAX, 'openid')).url, TAX.redirectUri);
    expect(again.html).toContain('name="password"');
  });

  it('lets a security administrator lock and unlock an account, which the login page honours', async () => {
    const page = securityPage;
    await page.goto(`${y.issuer}/admin/accounts`);
    await screenshot(page, 'console-accounts.png');
    await page.getByLabel('身份证号码').fill(CITIZEN.idNumber);
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/admin/accounts/')), page.getByRole('button', { name: '查找' }).click()]);
    expect(page.url()).not.toContain(CITIZEN.idNumber);
    // A form posted without the session's CSRF token (a cross-site forgery) changes nothing.
    const forged = await page.request.post(`${page.url()}/lock`, { form: { end_sessions: 'yes' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect((await y.yihao.core.accounts.findById(ids[CITIZEN.idNumber]!))!.status).toBe('active');
    await page.getByRole('button', { name: '锁定账户' }).click();
    await page.getByText('已完成：锁定账户').waitFor();
    expect(await page.locator('.facts').textContent()).toContain('已被管理员锁定');
    await screenshot(page, 'console-account.png');

    const browser = new HttpBrowser();
    const config = await discover(y.issuer, TAX);
    const login = await browser.navigate((await authorizationRequest(config, TAX, 'openid')).url, TAX.redirectUri);
    const refused = await submitLogin(browser, login, CITIZEN.idNumber, CITIZEN.password, TAX.redirectUri);
    expect(refused.html).toContain('该账户已被暂时锁定');

    await page.getByRole('button', { name: '解除锁定' }).click();
    await page.getByText('已完成：解除锁定').waitFor();
    await page.getByRole('button', { name: '要求重设密码' }).click();
    await page.getByText('已完成：要求重设密码').waitFor();
    const again = await submitLogin(browser, await browser.navigate((await authorizationRequest(config, TAX, 'openid')).url, TAX.redirectUri), CITIZEN.idNumber, CITIZEN.password, TAX.redirectUri);
    expect(again.html).toContain('该账户已被暂时锁定');
    await page.getByRole('button', { name: '取消重设密码要求' }).click();
    await page.getByText('已完成：取消重设密码要求').waitFor();
    expect((await auditRows('account.locked')).filter((r) => r.actor === ids[SECADMIN.idNumber])).toHaveLength(1);
    expect(await auditRows('account.unlocked')).toHaveLength(1);
    expect(await auditRows('account.password_reset_required')).toHaveLength(1);
    expect(await auditRows('account.password_reset_withdrawn')).toHaveLength(1);

    // Ending the auditor's yihao session ends their console session too (back-channel logout to the console).
    await page.goto(`${y.issuer}/admin/sessions`);
    await page.getByLabel('身份证号码').fill(AUDITOR.idNumber);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('account')), page.getByRole('button', { name: '查找' }).click()]);
    await page.getByRole('button', { name: '结束此人的全部会话' }).click();
    await page.getByRole('heading', { level: 1, name: '会话已结束' }).waitFor();
    expect(await page.locator('tbody').textContent()).toContain('yihao-console');
    await auditorPage.goto(`${y.issuer}/admin/audit`);
    expect(new URL(auditorPage.url()).pathname).toMatch(/^\/interaction\//);
    expect((await auditRows('console.signed_out')).some((r) => r.actor === ids[AUDITOR.idNumber] && r.details.reason === 'yihao session ended')).toBe(true);
  });

  it('shows logins, failures, sessions and anomalies on the dashboard, in Chinese and English and on a phone', async () => {
    // The three addresses in ten minutes were flagged (in the background: wait for it).
    for (let i = 0; i < 50 && !(await auditRows('anomaly.account_many_ips')).length; i++) await sleep(100);
    expect(await auditRows('anomaly.account_many_ips')).toEqual([expect.objectContaining({ actor: ids[CITIZEN.idNumber] })]);

    const page = securityPage;
    await page.goto(`${y.issuer}/admin`);
    const stats = await page.locator('.stat').allTextContents();
    expect(stats.join(' ')).toMatch(/[1-9]\d*最近一小时登录失败/);
    const anomalies = page.getByRole('region', { name: '最近 24 小时检测到的异常' });
    expect(await anomalies.textContent()).toContain('同一人从多个 IP 同时登录');
    expect(await anomalies.textContent()).toContain('1101**********002X');
    await screenshot(page, 'console-dashboard.png');

    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await screenshot(page, 'console-dashboard-en.png');
    await page.getByRole('link', { name: '中文' }).click();

    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    const layout = await pageMetrics(page);
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
    await screenshot(page, 'console-dashboard-phone.png');

    // Fifteen minutes without a request end the console session (the yihao session itself lives on).
    await y.yihao.core.db.query(`UPDATE oidc_models SET payload = payload || jsonb_build_object('seenAt', (payload->>'seenAt')::int - 901)
      WHERE model = 'ConsoleSession'`);
    await page.goto(`${y.issuer}/admin/audit`);
    expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);
  });
});

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}
