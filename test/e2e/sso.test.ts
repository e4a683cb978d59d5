// Log in once, connect everywhere: two department apps, a real relying-party library, real HTTP,
// on both storage setups.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { createRemoteJWKSet, jwtVerify, decodeJwt } from 'jose';
import { startYihao, createCitizen, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf } from '../support/browser.ts';
import { startLogoutReceiver, discover, authorizationRequest, finish, submitLogin, oidc, type RpClient } from '../support/relying-party.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple' };

describe.each(STORAGES)('single sign-on on %s storage', (storage) => {
  let y: RunningYihao;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let A: RpClient;
  let B: RpClient;
  let accountId: string;

  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    const rp = `http://localhost:${receiver.port}`;
    A = { id: 'tax-service', secret: 'a'.repeat(40), redirectUri: `${rp}/a/callback`, postLogoutUri: `${rp}/a/` };
    B = { id: 'civil-affairs', secret: 'b'.repeat(40), redirectUri: `${rp}/b/callback`, postLogoutUri: `${rp}/b/` };
    y = await startYihao({
      storage,
      clients: [
        {
          client_id: A.id, client_secret: A.secret, client_name: '税务服务', department: '税务局', first_party: true,
          redirect_uris: [A.redirectUri], post_logout_redirect_uris: [A.postLogoutUri], backchannel_logout_uri: `${rp}/a/backchannel`,
          grant_types: ['authorization_code', 'refresh_token'], allowed_scopes: ['openid', 'profile', 'phone', 'offline_access', 'id_number'],
        },
        {
          client_id: B.id, client_secret: B.secret, client_name: '民政服务', department: '民政局', first_party: true,
          redirect_uris: [B.redirectUri], post_logout_redirect_uris: [B.postLogoutUri], backchannel_logout_uri: `${rp}/b/backchannel?from=yihao`,
          allowed_scopes: ['openid', 'profile'],
        },
      ],
    });
    const { core } = y.yihao;
    const account = await createCitizen(y, { idNumber: CITIZEN.idNumber, name: '张三', phone: '+8613912345678', password: CITIZEN.password });
    accountId = account.id;
  });

  afterAll(async () => {
    await y?.stop();
    await receiver?.stop();
  });

  it('logs in at A, connects at B without a form, refreshes, and logs out everywhere with back-channel notification', async () => {
    const browser = new Browser();
    const configA = await discover(y.issuer, A);
    const configB = await discover(y.issuer, B);

    // 1. Log in at A: the login page, then straight back to A (first-party: no consent page).
    // offline_access needs prompt=consent (OIDC Core §11); first-party apps still see no consent page.
    const reqA = await authorizationRequest(configA, A, 'openid profile phone offline_access id_number', { prompt: 'consent' });
    const loginPage = await browser.navigate(reqA.url, A.redirectUri);
    expect(loginPage.status).toBe(200);
    expect(loginPage.html).toContain('name="id_number"');
    const back = await submitLogin(browser, loginPage, CITIZEN.idNumber, CITIZEN.password, A.redirectUri);
    expect(back.url.startsWith(A.redirectUri)).toBe(true);
    const tokensA = await finish(configA, back.url, reqA);
    const idA = tokensA.claims()!;
    expect(idA.acr).toBe('urn:yihao:loa:1');
    expect(idA.sid).toBeTypeOf('string');
    expect(idA.sub).not.toBe(accountId);
    const userinfoA = await oidc.fetchUserInfo(configA, tokensA.access_token, idA.sub);
    expect(userinfoA).toMatchObject({ name: '张三', birthdate: '1949-12-31', gender: 'female', phone_number: '+8613912345678', id_number: CITIZEN.idNumber });

    // 2. Connect at B: no login form, a different pairwise sub, and no id_number (B is not approved for it).
    const reqB = await authorizationRequest(configB, B, 'openid profile');
    const connected = await browser.navigate(reqB.url, B.redirectUri);
    expect(connected.url.startsWith(B.redirectUri)).toBe(true);
    const tokensB = await finish(configB, connected.url, reqB);
    const idB = tokensB.claims()!;
    expect(idB.sub).not.toBe(idA.sub);
    expect(idB.sid).toBeTypeOf('string');
    const userinfoB = await oidc.fetchUserInfo(configB, tokensB.access_token, idB.sub);
    expect(userinfoB.name).toBe('张三');
    expect(userinfoB).not.toHaveProperty('id_number');
    expect(JSON.stringify(tokensB)).not.toContain(CITIZEN.idNumber);

    // 3. Refresh at A rotates the refresh token; the old one is then refused (and revokes the grant).
    const refreshed = await oidc.refreshTokenGrant(configA, tokensA.refresh_token!);
    expect(refreshed.refresh_token).toBeTypeOf('string');
    expect(refreshed.refresh_token).not.toBe(tokensA.refresh_token);
    expect(refreshed.claims()!.sub).toBe(idA.sub);

    // 4. Log out at A: confirmation page, then back-channel logout to A and B, then A's post-logout page.
    const endUrl = oidc.buildEndSessionUrl(configA, { id_token_hint: refreshed.id_token!, post_logout_redirect_uri: A.postLogoutUri });
    const confirm = await browser.navigate(endUrl.href);
    expect(confirm.status).toBe(200);
    const form = formOf(confirm.html, confirm.url);
    const done = await browser.navigate(form.action, A.postLogoutUri, { form: { ...form.fields, logout: 'yes' } });
    expect(done.url.startsWith(A.postLogoutUri)).toBe(true);

    const toB = receiver.deliveries.find((d) => d.path === '/b/backchannel?from=yihao');
    expect(toB, 'B received a back-channel logout').toBeDefined();
    const jwks = createRemoteJWKSet(new URL(configB.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(toB!.logoutToken, jwks, { issuer: y.issuer, audience: B.id, typ: 'logout+jwt' });
    expect(protectedHeader.kid).toBeTypeOf('string');
    expect(payload.sub).toBe(idB.sub);
    expect(payload.sid).toBe(idB.sid);
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    expect(payload).not.toHaveProperty('nonce');
    expect(receiver.deliveries.some((d) => d.path === '/a/backchannel' && decodeJwt(d.logoutToken).aud === A.id)).toBe(true);

    // 5. The session is gone: B now gets the login form again.
    const again = await browser.navigate((await authorizationRequest(configB, B, 'openid')).url, B.redirectUri);
    expect(again.status).toBe(200);
    expect(again.html).toContain('name="password"');

    // Every step is in the audit trail, attributed to the internal account id, never the number.
    // (Protocol events reach the chain through the spool's drainer, within a tenth of a second: poll for them.)
    await vi.waitFor(async () => {
      const events = await y.yihao.core.db.query<{ type: string; actor: string | null; client_id: string | null }>(
        "SELECT type, actor, client_id FROM audit_events WHERE type IN ('login.success', 'sso.connect', 'token.issued', 'token.refreshed', 'logout', 'logout.backchannel')");
      const types = new Set(events.map((e) => `${e.type}:${e.client_id ?? ''}`));
      for (const t of ['login.success:tax-service', 'sso.connect:tax-service', 'sso.connect:civil-affairs', 'token.issued:civil-affairs', 'token.refreshed:tax-service', 'logout:tax-service', 'logout.backchannel:civil-affairs']) {
        expect(types, t).toContain(t);
      }
      expect(events.filter((e) => e.type === 'sso.connect').every((e) => e.actor === accountId)).toBe(true);
    }, { timeout: 5000, interval: 100 });
  });

  it('refuses a replayed authorization code with invalid_grant and revokes what the code issued', async () => {
    const browser = new Browser();
    const configA = await discover(y.issuer, A);
    const req = await authorizationRequest(configA, A, 'openid offline_access', { prompt: 'consent' });
    const page = await browser.navigate(req.url, A.redirectUri);
    const back = await submitLogin(browser, page, CITIZEN.idNumber, CITIZEN.password, A.redirectUri);
    const tokens = await finish(configA, back.url, req);
    await expect(finish(configA, back.url, req)).rejects.toMatchObject({ error: 'invalid_grant' });
    const introspection = await oidc.tokenIntrospection(configA, tokens.access_token);
    expect(introspection.active).toBe(false);
  });

  it('lets a client introspect and revoke its own tokens', async () => {
    const browser = new Browser();
    const configA = await discover(y.issuer, A);
    const req = await authorizationRequest(configA, A, 'openid profile');
    const page = await browser.navigate(req.url, A.redirectUri);
    const tokens = await finish(configA, (await submitLogin(browser, page, CITIZEN.idNumber, CITIZEN.password, A.redirectUri)).url, req);
    expect((await oidc.tokenIntrospection(configA, tokens.access_token)).active).toBe(true);
    // Another client cannot learn anything about A's token.
    const configB = await discover(y.issuer, B);
    expect((await oidc.tokenIntrospection(configB, tokens.access_token)).active).toBe(false);
    await oidc.tokenRevocation(configA, tokens.access_token);
    expect((await oidc.tokenIntrospection(configA, tokens.access_token)).active).toBe(false);
  });
});
