// The service desk's reset in real Chromium: a security administrator issues a temporary password in the
// console (shown once, on the result page), and the citizen, on a phone, signs in with it, is shown the
// rules up front, gets every problem next to its field at once, chooses a new password and lands back in
// the department app. Screenshots land in test/screenshots/password-reset-*.png.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { startLogoutReceiver, discover, authorizationRequest, finish, type RpClient } from '../support/relying-party.ts';
import { launchChromium, closeChromium, phoneContext, screenshot, pageMetrics } from '../support/chromium.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';

const idNumber = (first17: string) => first17 + checkCharacter(first17);
const SECADMIN = { idNumber: idNumber('11010219810408234'), password: 'security admin password', name: '李安全', roles: ['security_admin'] };
const CITIZEN = { idNumber: '11010519491231002X', password: 'forgotten long ago', name: '张奶奶', roles: [] as string[] };

describe('password reset in Chromium', () => {
  let y: RunningYihao;
  let chromium: Browser;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let TAX: RpClient;
  const contexts: BrowserContext[] = [];
  let temporary = '';

  beforeAll(async () => {
    [receiver, chromium] = await Promise.all([startLogoutReceiver(), launchChromium()]);
    const rp = `http://localhost:${receiver.port}`;
    TAX = { id: 'tax-service', secret: 't'.repeat(40), redirectUri: `${rp}/tax/callback`, postLogoutUri: `${rp}/tax/` };
    y = await startYihao({
      storage: 'embedded',
      clients: [{
        client_id: TAX.id, client_secret: TAX.secret, client_name: '税务服务', department: '税务局', first_party: true,
        redirect_uris: [TAX.redirectUri], post_logout_redirect_uris: [TAX.postLogoutUri], allowed_scopes: ['openid', 'profile'],
      }],
    });
    const { core } = y.yihao;
    for (const p of [SECADMIN, CITIZEN]) {
      await createCitizen(y, { idNumber: p.idNumber, name: p.name, password: p.password, roles: p.roles });
    }
  });

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await closeChromium(chromium);
    await y?.stop();
    await receiver?.stop();
  });

  it('shows a security administrator the temporary password once, on the result page', async () => {
    const context = await chromium.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${y.issuer}/admin/accounts`);
    await page.getByLabel('身份证号码').fill(SECADMIN.idNumber);
    await page.getByLabel('密码').fill(SECADMIN.password);
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin/accounts'), page.getByRole('button', { name: '登录', exact: true }).click()]);
    await page.getByLabel('身份证号码').fill(CITIZEN.idNumber);
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/admin/accounts/')), page.getByRole('button', { name: '查找' }).click()]);
    const accountUrl = page.url();
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/temporary-password')),
      page.getByRole('button', { name: '发放临时密码' }).click(),
    ]);
    expect(response.headers()['cache-control']).toContain('no-store');
    await page.locator('#temporary-password').waitFor();
    temporary = (await page.locator('#temporary-password').textContent())!.trim();
    expect(temporary).toMatch(/^[2-9A-HJKMNP-Z]{4} [2-9A-HJKMNP-Z]{4} [2-9A-HJKMNP-Z]{4}$/);
    // The address is the POST's: nothing to bookmark, nothing with the password in it.
    expect(page.url()).toBe(`${accountUrl}/temporary-password`);
    await screenshot(page, 'password-reset-console-issued.png');

    await page.goto(accountUrl);
    expect(await page.locator('.facts').textContent()).toContain('临时密码有效期至');
    expect(await page.content()).not.toContain(temporary);
    expect(await page.content()).not.toContain(temporary.replace(/ /g, ''));
  });

  it('takes the citizen on a phone from the temporary password to a new one and back to the app', async () => {
    const context = await phoneContext(chromium);
    contexts.push(context);
    const page: Page = await context.newPage();
    const config = await discover(y.issuer, TAX);
    const req = await authorizationRequest(config, TAX, 'openid profile');
    await page.goto(req.url);
    await page.getByLabel('身份证号码').fill(CITIZEN.idNumber);
    await page.getByLabel('密码').fill(temporary.toLowerCase());
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.getByRole('heading', { name: '请设置新密码' }).waitFor();
    expect(await page.locator('#password-rules').textContent()).toContain('不能包含您的身份证号码');
    const metrics = await pageMetrics(page);
    expect(metrics.scripts).toBe(0);
    expect(metrics.scrollWidth).toBeLessThanOrEqual(metrics.innerWidth);
    expect(metrics.bodyFontSize).toBeGreaterThanOrEqual(16);
    const box = await page.getByLabel('新密码', { exact: true }).boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(44); // a thumb-sized target (WCAG 2.5.5)
    await screenshot(page, 'password-reset-phone-choose.png');

    // Both problems at once, each next to its field, and listed at the top.
    await page.getByLabel('新密码', { exact: true }).fill('19491231');
    await page.getByLabel('再次输入新密码').fill('something else');
    await page.getByRole('button', { name: '保存新密码并继续' }).click();
    await page.locator('.error-summary').waitFor();
    expect(await page.locator('#new_password-error').textContent()).toContain('不能包含您的出生日期');
    expect(await page.locator('#confirm_password-error').textContent()).toContain('两次输入的新密码不一样');
    expect(await page.getByLabel('新密码', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('新密码', { exact: true }).inputValue()).toBe(''); // never echoed back
    await screenshot(page, 'password-reset-phone-errors.png');

    await page.getByLabel('新密码', { exact: true }).fill('院子里有两棵枣树');
    await page.getByLabel('再次输入新密码').fill('院子里有两棵枣树');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(TAX.redirectUri)), page.getByRole('button', { name: '保存新密码并继续' }).click()]);
    const tokens = await finish(config, page.url(), req);
    expect(tokens.claims()!.sub).toBeTruthy();
  });

  it('shows the page in English too', async () => {
    const context = await phoneContext(chromium, 'en');
    contexts.push(context);
    const page = await context.newPage();
    const config = await discover(y.issuer, TAX);
    await page.goto((await authorizationRequest(config, TAX, 'openid')).url);
    const { core } = y.yihao;
    const account = (await core.accounts.findByIndex(core.accounts.indexOf(CITIZEN.idNumber)))!;
    const { issueTemporaryPassword } = await import('../../src/accounts/temporary-password.ts');
    const issued = await issueTemporaryPassword(core, account, { actor: 'cli' }, 1);
    await page.getByLabel('National ID number').fill(CITIZEN.idNumber);
    await page.getByLabel('Password').fill(issued.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await screenshot(page, 'password-reset-phone-choose-en.png');
  });
});
