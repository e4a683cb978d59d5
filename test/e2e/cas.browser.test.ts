// CAS in real Chromium: after our login, consent and sign-out forms, the browser must reach the CAS
// app on another origin although those pages' CSP form-action names only us (a redirect chain that
// started with a form post is held to it); and the app receives a ticket it can validate.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { launchChromium, closeChromium, phoneContext } from '../support/chromium.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple' };

/** The CAS app: answers every page with 200 "app" and records single-logout POSTs. */
async function startApp(): Promise<{ origin: string; posts: string[]; stop(): Promise<void> }> {
  const posts: string[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST') posts.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('app');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { origin: `http://localhost:${port}`, posts, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe('CAS in Chromium', () => {
  let y: RunningYihao;
  let app: Awaited<ReturnType<typeof startApp>>;
  let chromium: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [app, chromium] = await Promise.all([startApp(), launchChromium()]);
    y = await startYihao({
      storage: 'embedded',
      clients: [
        { protocol: 'cas', client_id: 'permits-cas', client_name: '许可证办理', department: '市场监管局', first_party: false, cas_services: [`${app.origin}/permits/`], released_attributes: ['name'] },
      ],
    });
    await createCitizen(y, { idNumber: CITIZEN.idNumber, name: '张三', password: CITIZEN.password });
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await closeChromium(chromium);
    await y?.stop();
    await app?.stop();
  });

  async function newPhone(): Promise<Page> {
    const context = await phoneContext(chromium);
    contexts.push(context);
    return context.newPage();
  }

  /** Clicks and waits to land at `target`; a CSP block fails at once with Chromium's own message. */
  async function clickThrough(page: Page, name: string, target: string) {
    const arrived = page.waitForURL((url) => url.href.startsWith(target));
    const blocked = page.waitForEvent('console', { predicate: (m) => m.text().includes('Content Security Policy') })
      .then((m) => { throw new Error(`Chromium blocked the navigation: ${m.text()}`); });
    arrived.catch(() => {});
    blocked.catch(() => {});
    await page.getByRole('button', { name, exact: true }).click();
    await Promise.race([arrived, blocked]);
  }

  it('signs in, consents, reaches the app with a valid ticket, and signs out back to the app', async () => {
    const page = await newPhone();
    const service = `${app.origin}/permits/home`;
    await page.goto(`${y.issuer}/cas/login?service=${encodeURIComponent(service)}`);
    expect(await page.locator('.lead').textContent()).toContain('许可证办理');
    await page.getByLabel('身份证号码').fill(CITIZEN.idNumber);
    await page.getByLabel('密码').fill(CITIZEN.password);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/interaction/'));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('许可证办理');
    await clickThrough(page, '同意', `${service}?ticket=`);

    const ticket = new URL(page.url()).searchParams.get('ticket')!;
    const res = await fetch(`${y.issuer}/cas/p3/serviceValidate?${new URLSearchParams({ service, ticket })}`);
    expect(await res.text()).toContain('<cas:name>张三</cas:name>');

    // Single sign-on: straight through on the next visit (no form, so a plain redirect).
    await page.goto(`${y.issuer}/cas/login?service=${encodeURIComponent(service)}`);
    expect(page.url().startsWith(`${service}?ticket=ST-`)).toBe(true);

    // Sign-out from the app's link: the confirmation form, then back to the app.
    await page.goto(`${y.issuer}/cas/logout?service=${encodeURIComponent(service)}`);
    await clickThrough(page, '退出登录', service);
    expect(page.url()).toBe(service);
    expect(app.posts.filter((p) => p.startsWith('/permits/'))).toHaveLength(2); // one LogoutRequest per ticket
  });
});
