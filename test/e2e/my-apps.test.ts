// The citizen's "my apps" page over real HTTP on both storage setups: a person who let a department app in
// (with offline access) sees it at /account/apps through their SSO session, withdraws it, and the app's
// refresh token stops working, the app gets a back-channel logout, the withdrawal is audited and the next
// visit asks for consent again. Another person's grant cannot be withdrawn by forging its id.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startYihao, createCitizen, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf, type Page } from '../support/browser.ts';
import { discover, authorizationRequest, finish, submitLogin, startLogoutReceiver, oidc, type RpClient } from '../support/relying-party.ts';
import { grantIndexFor } from '../../src/oidc/grant-index.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple' };
const OTHER = { idNumber: '440106199003070036', password: 'another long password' };

describe.each(STORAGES)('my apps on %s storage', (storage) => {
  let y: RunningYihao;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let TAX: RpClient;
  const accounts: Record<string, string> = {};

  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    const rp = `http://localhost:${receiver.port}`;
    TAX = { id: 'tax-service', secret: 't'.repeat(40), redirectUri: `${rp}/tax/callback`, postLogoutUri: `${rp}/tax/` };
    y = await startYihao({
      storage,
      clients: [{
        client_id: TAX.id, client_secret: TAX.secret, client_name: '个税服务', department: '税务局',
        redirect_uris: [TAX.redirectUri], post_logout_redirect_uris: [TAX.postLogoutUri], backchannel_logout_uri: `${rp}/tax/backchannel`,
        grant_types: ['authorization_code', 'refresh_token'], allowed_scopes: ['openid', 'profile', 'phone', 'offline_access'],
      }],
    });
    for (const person of [CITIZEN, OTHER]) {
      const { core } = y.yihao;
      accounts[person.idNumber] = (await createCitizen(y, { idNumber: person.idNumber, name: '李四', password: person.password })).id;
    }
  });

  afterAll(async () => {
    await y?.stop();
    await receiver?.stop();
  });

  /** Signs in at the tax app with offline access: the login page, then the consent page. */
  async function grantTax(browser: Browser, person: typeof CITIZEN) {
    const config = await discover(y.issuer, TAX);
    const req = await authorizationRequest(config, TAX, 'openid profile offline_access', { prompt: 'consent' });
    let page = await browser.navigate(req.url, TAX.redirectUri);
    if (page.html.includes('name="password"')) page = await submitLogin(browser, page, person.idNumber, person.password, TAX.redirectUri);
    expect(page.html).toContain('个税服务'); // the consent page
    const allow = formOf(page.html, page.url, 0);
    page = await browser.navigate(allow.action, TAX.redirectUri, { form: allow.fields });
    expect(page.url.startsWith(TAX.redirectUri)).toBe(true);
    return { config, tokens: await finish(config, page.url, req) };
  }

  const withdrawForm = (page: Page) => formOf(page.html, page.url, 0);

  it('lists the apps a person let in, and withdrawing one revokes it everywhere', async () => {
    const other = new Browser();
    const theirs = await grantTax(other, OTHER);
    const browser = new Browser({ 'user-agent': 'my-apps-e2e' });
    const { config, tokens } = await grantTax(browser, CITIZEN);
    expect(tokens.refresh_token).toBeDefined();

    // Signed in through the live SSO session: no login form, straight to the list.
    const page = await browser.navigate(`${y.issuer}/account/apps`);
    expect(page.status).toBe(200);
    expect(page.url).toBe(`${y.issuer}/account/apps`);
    expect(page.html).toContain('我授权的应用');
    expect(page.html).toContain('个税服务');
    expect(page.html).toContain('税务局');
    expect(page.html).toContain('基本资料：姓名、性别、出生日期');
    expect(page.html).toContain('长期访问');
    expect(page.html).not.toContain('一号 我的应用'); // yihao's own client is not an app the person let in
    expect(page.html.match(/class="app"/g)).toHaveLength(1);

    // A forged grant id (another person's) is not found, and changes nothing.
    const [otherGrant] = await grantIndexFor(y.yihao.core).grantsOf(accounts[OTHER.idNumber]!);
    const form = withdrawForm(page);
    const forged = await browser.request(`${y.issuer}/account/apps/${otherGrant}/withdraw`, { form: form.fields });
    expect(forged.status).toBe(404);
    expect((await oidc.tokenIntrospection(config, theirs.tokens.access_token)).active).toBe(true);
    // Without the page's CSRF token nothing happens either.
    expect((await browser.request(form.action, { form: { csrf: 'forged' } })).status).toBe(403);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    // Withdraw.
    const deliveriesBefore = receiver.deliveries.length;
    const done = await browser.request(form.action, { form: form.fields });
    expect(done.status).toBe(303);
    const after = await browser.navigate(done.location!);
    expect(after.html).toContain('已撤回对“<strong>个税服务</strong>”的授权');
    expect(after.html).not.toContain('class="app"');
    // The notice follows this person's own withdrawal only: a crafted link names no app.
    for (const crafted of [`withdrawn=${TAX.id}`, `withdrawn=${TAX.id}&tag=${'A'.repeat(22)}`]) {
      expect((await browser.navigate(`${y.issuer}/account/apps?${crafted}`)).html).not.toContain('已撤回');
    }

    // The app's tokens are dead.
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    // The other person's are not.
    expect((await oidc.tokenIntrospection(config, theirs.tokens.access_token)).active).toBe(true);

    // The app was told the person's session there ended.
    const delivery = receiver.deliveries.slice(deliveriesBefore).find((d) => d.path === '/tax/backchannel');
    expect(delivery).toBeDefined();
    const { payload } = await jwtVerify(delivery!.logoutToken, createRemoteJWKSet(new URL(`${y.issuer}/jwks`)), { issuer: y.issuer, audience: TAX.id, typ: 'logout+jwt' });
    expect(payload.sid).toBe(tokens.claims()!.sid);
    expect(payload.sub).toBe(tokens.claims()!.sub);

    // On record, fail-closed, with what was withdrawn.
    const rows = await y.yihao.core.db.query<{ actor: string; client_id: string; details: { scopes: string[] } }>(
      `SELECT actor, client_id, details FROM audit_events WHERE type = 'consent.withdrawn'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: accounts[CITIZEN.idNumber], client_id: TAX.id });
    expect(rows[0]!.details.scopes.sort()).toEqual(['offline_access', 'openid', 'profile']);

    // The SSO session lives on, but the next visit to the app asks for consent again.
    const again = await browser.navigate((await authorizationRequest(config, TAX, 'openid profile')).url, TAX.redirectUri);
    expect(again.html).not.toContain('name="password"');
    expect(again.html).toContain('/confirm');
  });

  it('asks a person without an SSO session to sign in first', async () => {
    const browser = new Browser();
    const page = await browser.navigate(`${y.issuer}/account/apps`);
    expect(page.html).toContain('name="password"');
    const signedIn = await submitLogin(browser, page, CITIZEN.idNumber, CITIZEN.password);
    expect(signedIn.url).toBe(`${y.issuer}/account/apps`);
    expect(signedIn.html).toContain('我授权的应用');
    // A withdrawal without a page session is refused, not replayed after signing in.
    expect((await new Browser().request(`${y.issuer}/account/apps/whatever/withdraw`, { form: { csrf: 'x' } })).status).toBe(403);
    // A state no sign-in of ours made is a bad request, whatever its characters.
    for (const state of ['a;b', 'a=b', '中', 'x'.repeat(300)]) {
      expect((await new Browser().request(`${y.issuer}/account/callback?state=${encodeURIComponent(state)}&code=x`)).status).toBe(400);
    }
  });
});
