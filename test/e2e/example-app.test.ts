// The example department app in clients/examples/ works as its README says: sign in through yihao,
// see the citizen's name, sign out, and have its session ended by back-channel logout — including a
// logout that started elsewhere. Its logout-token checks are exercised with tokens signed by yihao's key.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, importJWK, type JWTPayload } from 'jose';
import { startYihao, createCitizen, freePort, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf } from '../support/browser.ts';
import { submitLogin, discover, authorizationRequest, finish } from '../support/relying-party.ts';
import { readKeys } from '../../src/oidc/signing-keys.ts';
import { createDepartmentApp } from '../../clients/examples/department-app.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple', name: '张三' };
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

describe('example department app (clients/examples/department-app.ts)', () => {
  let y: RunningYihao;
  let server: Server;
  let appUrl: string;
  let registration: Record<string, unknown> & { client_id: string; client_secret: string };
  const logs: Array<{ message: string; details?: Record<string, unknown> }> = [];

  beforeAll(async () => {
    const port = await freePort();
    appUrl = `http://localhost:${port}`;
    // The shipped registration, with its URIs moved to the port this test got.
    const file = JSON.parse(await readFile(new URL('../../clients/social-security.json', import.meta.url), 'utf8'));
    registration = {
      ...file,
      redirect_uris: [`${appUrl}/callback`],
      post_logout_redirect_uris: [`${appUrl}/`],
      backchannel_logout_uri: `${appUrl}/backchannel-logout`,
    };
    y = await startYihao({ storage: 'embedded', clients: [registration] });
    await createCitizen(y, { idNumber: CITIZEN.idNumber, name: CITIZEN.name, phone: '+8613912345678', password: CITIZEN.password });

    const app = await createDepartmentApp({
      issuer: y.issuer, clientId: registration.client_id, clientSecret: registration.client_secret, appUrl,
      log: (message, details) => { logs.push({ message, details }); },
    });
    server = await new Promise<Server>((resolve) => { const s = app.listen(port, 'localhost', () => resolve(s)); });
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await y?.stop();
  });

  async function signIn(browser: Browser) {
    const home = await browser.navigate(`${appUrl}/`);
    const link = /<a href="([^"]+)">Sign in with 一号<\/a>/.exec(home.html);
    expect(link, home.html).not.toBeNull();
    const loginPage = await browser.navigate(new URL(link![1]!, appUrl).href);
    expect(loginPage.url.startsWith(y.issuer)).toBe(true);
    expect(loginPage.html).toContain('name="id_number"');
    const back = await submitLogin(browser, loginPage, CITIZEN.idNumber, CITIZEN.password);
    expect(back.url).toBe(`${appUrl}/`);
    expect(back.html).toContain(`Signed in as ${CITIZEN.name}`);
    const signedIn = logs.filter((l) => l.message === 'signed in').at(-1)!;
    expect(signedIn.details?.sid).toBeTypeOf('string');
    return { home: back, sid: signedIn.details!.sid as string };
  }

  async function confirmLogoutAtYihao(browser: Browser, url: string) {
    const confirm = await browser.navigate(url);
    expect(confirm.url.startsWith(y.issuer)).toBe(true);
    expect(confirm.status).toBe(200);
    const form = formOf(confirm.html, confirm.url);
    return browser.navigate(form.action, undefined, { form: { ...form.fields, logout: 'yes' } });
  }

  const backchannelLogouts = (sid: string) => logs.filter((l) => l.message === 'back-channel logout' && l.details?.sid === sid);

  it('signs in through yihao, shows the name, and signs out through the app with a back-channel logout', async () => {
    const browser = new Browser();
    const { home, sid } = await signIn(browser);
    const cookie = browser.cookies('localhost').get('department_app_session');
    expect(cookie).toMatch(/^[\w-]{43}$/);

    // Sign out: the app's button → yihao's confirmation → back at the app's post-logout URI.
    const signOut = formOf(home.html, home.url);
    expect(signOut.action).toBe(`${appUrl}/logout`);
    const confirm = await browser.navigate(signOut.action, undefined, { form: signOut.fields });
    const done = await confirmLogoutAtYihao(browser, confirm.url);
    expect(done.url).toBe(`${appUrl}/`);
    expect(done.html).toContain('You are not signed in');

    // yihao delivered a logout token for this session, and the app accepted it.
    expect(backchannelLogouts(sid)).toHaveLength(1);
    expect(logs.some((l) => l.message === 'back-channel logout refused')).toBe(false);
    // The old session cookie opens nothing.
    const stale = new Browser({ cookie: `department_app_session=${cookie}` });
    expect((await stale.request(`${appUrl}/`)).html).toContain('You are not signed in');
  });

  it('ends its session when the citizen signs out at yihao from elsewhere (back-channel only)', async () => {
    const browser = new Browser();
    const { sid } = await signIn(browser);
    // As another department app (or yihao's own pages) would: end_session without this app's involvement.
    const done = await confirmLogoutAtYihao(browser, `${y.issuer}/session/end`);
    expect(done.url.startsWith(y.issuer)).toBe(true);
    expect(backchannelLogouts(sid)).toEqual([expect.objectContaining({ details: expect.objectContaining({ ended: 1 }) })]);
    expect((await browser.navigate(`${appUrl}/`)).html).toContain('You are not signed in');
  });

  describe('back-channel logout tokens', () => {
    const post = (body: Record<string, string>) =>
      fetch(`${appUrl}/backchannel-logout`, { method: 'POST', body: new URLSearchParams(body) });

    async function yihaoSigned(claims: JWTPayload, typ = 'logout+jwt') {
      const key = (await readKeys(y.env.KEYS_DIR!)).find((k) => k.status === 'active' && k.jwk.alg === 'ES256')!;
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid, typ }).sign(await importJWK(key.jwk, 'ES256'));
    }
    const valid = (): JWTPayload => ({
      iss: y.issuer, aud: registration.client_id, iat: Math.floor(Date.now() / 1000), jti: randomUUID(),
      sid: randomUUID(), events: { [EVENT]: {} },
    });

    it('accepts a valid token once and refuses its replay', async () => {
      const token = await yihaoSigned(valid());
      expect((await post({ logout_token: token })).status).toBe(200);
      const replay = await post({ logout_token: token });
      expect(replay.status).toBe(400);
      expect(await replay.json()).toMatchObject({ error: 'invalid_request' });
    });

    it.each<[string, () => Promise<string | undefined>]>([
      ['no token', async () => undefined],
      ['not a JWT', async () => 'abc.def.ghi'],
      ['another issuer', async () => yihaoSigned({ ...valid(), iss: 'https://evil.example' })],
      ['another audience', async () => yihaoSigned({ ...valid(), aud: 'housing-fund' })],
      ['no iat', async () => yihaoSigned({ ...valid(), iat: undefined })],
      ['too old', async () => yihaoSigned({ ...valid(), iat: Math.floor(Date.now() / 1000) - 3600 })],
      ['no jti', async () => yihaoSigned({ ...valid(), jti: undefined })],
      ['no events claim', async () => yihaoSigned({ ...valid(), events: undefined })],
      ['another event', async () => yihaoSigned({ ...valid(), events: { 'https://example/other': {} } })],
      ['a nonce (an ID token)', async () => yihaoSigned({ ...valid(), nonce: 'n' })],
      ['neither sid nor sub', async () => yihaoSigned({ ...valid(), sid: undefined })],
      ['not typed logout+jwt', async () => yihaoSigned(valid(), 'JWT')],
      ['signed by another key', async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return new SignJWT(valid()).setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt' }).sign(privateKey);
      }],
    ])('refuses a token with %s (400, JSON error)', async (_name, make) => {
      const token = await make();
      const res = await post(token === undefined ? {} : { logout_token: token });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('refuses a real ID token from yihao posted as a logout token', async () => {
      const client = { id: registration.client_id, secret: registration.client_secret, redirectUri: `${appUrl}/callback`, postLogoutUri: `${appUrl}/` };
      const config = await discover(y.issuer, client);
      const browser = new Browser();
      const req = await authorizationRequest(config, client, 'openid');
      const page = await browser.navigate(req.url, client.redirectUri);
      const tokens = await finish(config, (await submitLogin(browser, page, CITIZEN.idNumber, CITIZEN.password, client.redirectUri)).url, req);
      expect((await post({ logout_token: tokens.id_token! })).status).toBe(400);
    });
  });
});
