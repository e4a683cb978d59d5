// The citizen pages in real Chromium on a phone: labels, sizes, errors a screen reader can follow,
// consent in plain words, language switch and sign-out. Screenshots land in test/screenshots/.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { discover, authorizationRequest, finish, oidc, type RpClient } from '../support/relying-party.ts';
import { launchChromium, closeChromium, phoneContext, screenshot, pageMetrics, focusedId } from '../support/chromium.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple' };

/** Where the apps' redirect URIs point: answers 200 "ok", so the browser lands on a real page. */
async function startLandingServer(): Promise<{ origin: string; stop(): Promise<void> }> {
  const server: Server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'); });
  await new Promise<void>((r) => server.listen(0, r));
  const { port } = server.address() as { port: number };
  return { origin: `http://localhost:${port}`, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe('citizen pages in Chromium', () => {
  let y: RunningYihao;
  let landing: Awaited<ReturnType<typeof startLandingServer>>;
  let chromium: Browser;
  let SOCIAL: RpClient; // a third-party app: the citizen is asked before it gets anything
  let TAX: RpClient; // a first-party department app: no consent page
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [landing, chromium] = await Promise.all([startLandingServer(), launchChromium()]);
    SOCIAL = { id: 'social-security', secret: 's'.repeat(40), redirectUri: `${landing.origin}/social/callback`, postLogoutUri: `${landing.origin}/social/` };
    TAX = { id: 'tax-service', secret: 't'.repeat(40), redirectUri: `${landing.origin}/tax/callback`, postLogoutUri: `${landing.origin}/tax/` };
    y = await startYihao({
      storage: 'embedded',
      clients: [
        {
          client_id: SOCIAL.id, client_secret: SOCIAL.secret, client_name: '社保查询', department: '人力资源和社会保障局', first_party: false,
          redirect_uris: [SOCIAL.redirectUri], post_logout_redirect_uris: [SOCIAL.postLogoutUri], allowed_scopes: ['openid', 'profile', 'phone'],
        },
        {
          client_id: TAX.id, client_secret: TAX.secret, client_name: '税务服务', department: '税务局', first_party: true,
          redirect_uris: [TAX.redirectUri], post_logout_redirect_uris: [TAX.postLogoutUri], allowed_scopes: ['openid', 'profile'],
        },
      ],
    });
    await createCitizen(y, { idNumber: CITIZEN.idNumber, name: '张三', phone: '+8613912345678', password: CITIZEN.password });
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await closeChromium(chromium);
    await y?.stop();
    await landing?.stop();
  });

  async function newPhone(locale = 'zh-CN'): Promise<Page> {
    const context = await phoneContext(chromium, locale);
    contexts.push(context);
    return context.newPage();
  }

  /** Opens the app's authorization URL (openid-client, PKCE) in the page; returns what the app keeps. */
  async function startSignIn(page: Page, rp: RpClient, scope: string) {
    const config = await discover(y.issuer, rp);
    const req = await authorizationRequest(config, rp, scope);
    const response = await page.goto(req.url);
    return { config, req, response };
  }

  /**
   * Clicks a submit button and waits for the page it leads to, or to land at `target`. A redirect
   * the page's CSP forbids (form-action also governs where a form post is redirected) fails at
   * once with Chromium's own message rather than as a timeout.
   */
  async function submit(page: Page, button: Locator, target?: string) {
    const arrived = target
      ? page.waitForURL((url) => url.href.startsWith(target))
      : page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() }).then(() => page.waitForLoadState());
    const blocked = page.waitForEvent('console', { predicate: (m) => m.text().includes('Content Security Policy') })
      .then((m) => { throw new Error(`Chromium blocked the form: ${m.text()}`); });
    arrived.catch(() => {});
    blocked.catch(() => {});
    await button.click();
    await Promise.race([arrived, blocked]);
  }

  async function signIn(page: Page, idNumber: string, password: string, target?: string) {
    await page.getByLabel('身份证号码').fill(idNumber);
    await page.getByLabel('密码').fill(password);
    await submit(page, page.getByRole('button', { name: '登录', exact: true }), target);
  }

  it('shows a readable, script-free login page on a phone', async () => {
    const page = await newPhone();
    const { response } = await startSignIn(page, SOCIAL, 'openid profile phone');
    expect(response?.status()).toBe(200);
    await expect(page.getByLabel('身份证号码').isVisible()).resolves.toBe(true);
    await expect(page.getByLabel('密码').getAttribute('type')).resolves.toBe('password');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('一号');
    expect(await page.locator('.lead').textContent()).toContain('社保查询');

    const layout = await pageMetrics(page);
    expect(layout.bodyFontSize).toBeGreaterThanOrEqual(18);
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
    expect(layout.scripts).toBe(0);
    for (const input of [page.getByLabel('身份证号码'), page.getByLabel('密码'), page.getByRole('button', { name: '登录', exact: true })]) {
      expect((await input.boundingBox())!.height).toBeGreaterThanOrEqual(44);
    }

    const csp = response!.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/(^|;\s*)default-src 'none'/);
    expect(csp).not.toMatch(/script-src/);
    await screenshot(page, 'login-zh.png');
  });

  it('ties a wrong check character to the ID number field and links to it from the error summary', async () => {
    const page = await newPhone();
    await startSignIn(page, SOCIAL, 'openid profile phone');
    await signIn(page, CITIZEN.idNumber.slice(0, 17) + '1', 'whatever');

    const idField = page.locator('#id_number');
    expect(await idField.getAttribute('aria-invalid')).toBe('true');
    const describedBy = await idField.getAttribute('aria-describedby');
    expect(await page.locator(`#${describedBy}`).textContent()).toContain('校验位不正确');
    const link = page.getByRole('alert').getByRole('link');
    expect(await link.getAttribute('href')).toBe('#id_number');
    await screenshot(page, 'login-error-zh.png');

    await link.click();
    expect(await focusedId(page)).toBe('id_number');
  });

  it('gives one message for a wrong password, then asks consent in plain words and returns a working code', async () => {
    const page = await newPhone();
    const { config, req } = await startSignIn(page, SOCIAL, 'openid profile phone');
    await signIn(page, CITIZEN.idNumber, 'not the password');
    expect(await page.getByRole('alert').getByRole('listitem').allTextContents()).toEqual(['身份证号码或密码不正确，请重新输入']);
    expect(await page.locator('[aria-invalid="true"]').count()).toBe(0);
    expect(await page.getByLabel('身份证号码').inputValue()).toBe(CITIZEN.idNumber);

    await page.getByLabel('密码').fill(CITIZEN.password);
    await submit(page, page.getByRole('button', { name: '登录', exact: true }));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('社保查询');
    const claims = (await page.locator('.claims li').allTextContents()).join('\n');
    expect(claims).toContain('姓名');
    expect(claims).toContain('手机号码');
    expect(claims).not.toMatch(/profile|phone/);
    await expect(page.getByRole('button', { name: '不同意' }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'consent-zh.png');

    await submit(page, page.getByRole('button', { name: '同意', exact: true }), SOCIAL.redirectUri);
    const callback = new URL(page.url());
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe(req.state);
    const tokens = await finish(config, callback.href, req);
    expect((await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).name).toBe('张三');
  });

  it('returns access_denied when the citizen cancels on the consent page', async () => {
    const page = await newPhone();
    const { req } = await startSignIn(page, SOCIAL, 'openid profile phone');
    await signIn(page, CITIZEN.idNumber, CITIZEN.password);
    await submit(page, page.getByRole('button', { name: '不同意' }), SOCIAL.redirectUri);
    const callback = new URL(page.url());
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(req.state);
    expect(callback.searchParams.has('code')).toBe(false);
  });

  it('speaks English to an English browser, and switches to Chinese on request', async () => {
    const page = await newPhone('en-US');
    await startSignIn(page, SOCIAL, 'openid profile phone');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await expect(page.getByLabel('National ID number').isVisible()).resolves.toBe(true);
    await screenshot(page, 'login-en.png');

    await page.getByRole('link', { name: '中文' }).click();
    await page.waitForURL(/lang=zh-CN/);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await expect(page.getByLabel('身份证号码').isVisible()).resolves.toBe(true);

    // The choice carries to the page that answers the form post.
    await page.getByLabel('身份证号码').fill('123');
    await page.getByLabel('密码').fill('x');
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForLoadState();
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
  });

  // The confirmation page's CSP must allow the app's post-logout origin in form-action, or Chromium
  // refuses to follow the 303 from /session/end/confirm.
  it('signs out from the app in the browser, after which signing in asks for the password again', async () => {
    const page = await newPhone();
    const { config, req } = await startSignIn(page, TAX, 'openid profile');
    await signIn(page, CITIZEN.idNumber, CITIZEN.password, TAX.redirectUri);
    const tokens = await finish(config, page.url(), req);

    await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: TAX.postLogoutUri }).href);
    await page.getByRole('heading', { level: 1, name: '是否退出登录？' }).waitFor();
    await screenshot(page, 'logout-zh.png');
    await submit(page, page.getByRole('button', { name: '退出登录' }), TAX.postLogoutUri);

    await startSignIn(page, TAX, 'openid profile');
    await expect(page.getByLabel('密码').isVisible()).resolves.toBe(true);
  });
});
