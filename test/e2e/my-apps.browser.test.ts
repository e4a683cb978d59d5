// The citizen's "my apps" page in real Chromium on a phone: a person lets a department app in (login and
// consent pages), opens /account/apps, sees the app, opens the in-page confirmation and withdraws it.
// Screenshots land in test/screenshots/my-apps-*.png.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { startLogoutReceiver, discover, authorizationRequest, type RpClient } from '../support/relying-party.ts';
import { launchChromium, closeChromium, phoneContext, screenshot, pageMetrics } from '../support/chromium.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple' };

describe('my apps page in Chromium on a phone', () => {
  let y: RunningYihao;
  let chromium: Browser;
  let context: BrowserContext;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let TAX: RpClient;

  beforeAll(async () => {
    [receiver, chromium] = await Promise.all([startLogoutReceiver(), launchChromium()]);
    const rp = `http://localhost:${receiver.port}`;
    TAX = { id: 'tax-service', secret: 't'.repeat(40), redirectUri: `${rp}/tax/callback`, postLogoutUri: `${rp}/tax/` };
    y = await startYihao({
      storage: 'embedded',
      clients: [{
        client_id: TAX.id, client_secret: TAX.secret, client_name: '个人所得税服务', department: '国家税务总局北京市税务局',
        redirect_uris: [TAX.redirectUri], post_logout_redirect_uris: [TAX.postLogoutUri], backchannel_logout_uri: `${rp}/tax/backchannel`,
        grant_types: ['authorization_code', 'refresh_token'], allowed_scopes: ['openid', 'profile', 'phone', 'offline_access'],
      }],
    });
    await createCitizen(y, { idNumber: CITIZEN.idNumber, name: '张三', password: CITIZEN.password });
    context = await phoneContext(chromium);
  });

  afterAll(async () => {
    await context?.close();
    await closeChromium(chromium);
    await y?.stop();
    await receiver?.stop();
  });

  it('lists the app the person allowed and withdraws it after an in-page confirmation', async () => {
    const page = await context.newPage();
    // Let the tax app in: login page, then consent (offline access asks for it).
    const req = await authorizationRequest(await discover(y.issuer, TAX), TAX, 'openid profile phone offline_access', { prompt: 'consent' });
    await page.goto(req.url);
    await page.getByLabel('身份证号码').fill(CITIZEN.idNumber);
    await page.getByLabel('密码').fill(CITIZEN.password);
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/interaction/')), page.getByRole('button', { name: '登录', exact: true }).click()]);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(TAX.redirectUri)), page.getByRole('button', { name: '同意', exact: true }).click()]);

    // The list, through the SSO session: no second login.
    await page.goto(`${y.issuer}/account/apps`);
    await expect.poll(() => page.url()).toBe(`${y.issuer}/account/apps`);
    await page.getByRole('heading', { level: 1, name: '我授权的应用' }).waitFor();
    const app = page.locator('li.app', { hasText: '个人所得税服务' });
    await expect.poll(() => app.count()).toBe(1);
    const text = await app.innerText();
    for (const words of ['国家税务总局北京市税务局', '基本资料：姓名、性别、出生日期', '手机号码', '长期访问', '授权时间', '最近使用']) expect(text).toContain(words);
    const metrics = await pageMetrics(page);
    expect(metrics.scripts).toBe(0);
    expect(metrics.scrollWidth).toBeLessThanOrEqual(metrics.innerWidth); // no sideways scrolling on a phone
    expect(metrics.bodyFontSize).toBeGreaterThanOrEqual(18);
    await screenshot(page, 'my-apps-list.png');

    // The confirmation opens in the page; only its own button withdraws.
    const confirm = app.getByRole('button', { name: '确认撤回' });
    expect(await confirm.isVisible()).toBe(false);
    await app.getByText('撤回授权', { exact: true }).click();
    await confirm.waitFor({ state: 'visible' });
    await screenshot(page, 'my-apps-confirm.png');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('withdrawn')), confirm.click()]);
    await page.getByRole('status').getByText('个人所得税服务').waitFor();
    expect(await page.locator('li.app').count()).toBe(0);
    expect(await page.getByText('您还没有授权任何应用。').isVisible()).toBe(true);
    await screenshot(page, 'my-apps-withdrawn.png');
    expect(receiver.deliveries.some((d) => d.path === '/tax/backchannel')).toBe(true);
  });
});
