// A legacy department app that cannot speak OpenID Connect, protected by the real Apache httpd with
// mod_auth_openidc in front of it, registered in yihao as an ordinary client: log in through Apache,
// read the user from request headers, and end the Apache session by logging out at yihao
// (back-channel logout).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startYihao, createCitizen, freePort, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { startApache, startEchoApp, type Echo, type RunningApache } from '../support/apache.ts';
import { Browser, formOf } from '../support/browser.ts';
import { submitLogin } from '../support/relying-party.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple', name: '张三' };
const CLIENT_ID = 'archives-legacy';
// RFC 6749 §2.3.1: the module percent-encodes id and secret inside Basic; `+ / = %` (and a literal
// "%2B", which must not be decoded twice) prove that the provider decodes them exactly once.
const CLIENT_SECRET = 'legacy+archive/secret=100%2B-sure-0123456789abcdef';

// The configuration docs/legacy-reverse-proxy.md recommends, on loopback over http.
function apacheConfig(o: { issuer: string; apacheUrl: string; appPort: number }): string {
  return `
OIDCProviderMetadataURL ${o.issuer}/.well-known/openid-configuration
OIDCClientID ${CLIENT_ID}
OIDCClientSecret "${CLIENT_SECRET}"
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCRedirectURI ${o.apacheUrl}/protected/redirect_uri
OIDCCryptoPassphrase ${randomBytes(32).toString('hex')}
OIDCPKCEMethod S256
OIDCScope "openid profile id_number"
OIDCStateTimeout 1800
OIDCSessionInactivityTimeout 1800
OIDCSessionMaxDuration 28800
OIDCRemoteUserClaim sub
OIDCPassClaimsAs headers
OIDCSessionType server-cache
OIDCStripCookies mod_auth_openidc_session mod_auth_openidc_session_chunks mod_auth_openidc_session_0 mod_auth_openidc_session_1

ProxyPass /protected/redirect_uri !
ProxyPass /protected/ http://127.0.0.1:${o.appPort}/
ProxyPassReverse /protected/ http://127.0.0.1:${o.appPort}/
<Location /protected>
  AuthType openid-connect
  Require valid-user
  RequestHeader unset OIDC_access_token
  RequestHeader unset OIDC_access_token_expires
  RequestHeader set X-Remote-User "expr=%{REMOTE_USER}"
</Location>
`;
}

// Both storage setups; between them, both ID-token algorithms this module version accepts (no EdDSA).
const SHAPES = STORAGES.map((storage, i) => ({ storage, alg: i % 2 === 0 ? 'RS256' : 'ES256' }));

describe.each(SHAPES)('legacy app behind Apache mod_auth_openidc on $storage storage, $alg ID tokens', ({ storage, alg }) => {
  let y: RunningYihao;
  let apache: RunningApache;
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let accountId: string;
  let hello: string;
  const log = async () => `\n--- Apache error log ---\n${await apache.errorLog()}\n--- yihao log ---\n${y.logs.join('\n')}`;

  beforeAll(async () => {
    app = await startEchoApp();
    const apachePort = await freePort();
    const apacheUrl = `http://localhost:${apachePort}`;
    hello = `${apacheUrl}/protected/hello`;
    y = await startYihao({
      storage,
      clients: [{
        client_id: CLIENT_ID, client_secret: CLIENT_SECRET, client_name: '档案查询（旧系统）', department: '档案局', first_party: true,
        token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: alg,
        redirect_uris: [`${apacheUrl}/protected/redirect_uri`],
        post_logout_redirect_uris: [`${apacheUrl}/signed-out`],
        backchannel_logout_uri: `${apacheUrl}/protected/redirect_uri?logout=backchannel`,
        allowed_scopes: ['openid', 'profile', 'id_number'],
      }],
    });
    expect(y.yihao.clientsApplied.problems).toEqual([]);
    const { core } = y.yihao;
    const account = await createCitizen(y, { idNumber: CITIZEN.idNumber, name: CITIZEN.name, password: CITIZEN.password });
    accountId = account.id;
    apache = await startApache({
      port: apachePort,
      modules: ['auth_openidc', 'proxy', 'proxy_http', 'headers'],
      config: apacheConfig({ issuer: y.issuer, apacheUrl, appPort: app.port }),
    });
  });

  afterAll(async () => {
    await apache?.stop();
    await y?.stop();
    await app?.stop();
  });

  /** The app's first page: Apache → yihao's login form → Apache's redirect_uri → the app. */
  async function logIn(browser: Browser): Promise<Echo['headers']> {
    const first = await browser.request(hello);
    expect(first.status, await log()).toBe(302);
    expect(first.location!.startsWith(`${y.issuer}/auth?`)).toBe(true);
    const authorize = new URL(first.location!).searchParams;
    expect(authorize.get('client_id')).toBe(CLIENT_ID);
    expect(authorize.get('code_challenge_method')).toBe('S256');
    const loginPage = await browser.navigate(first.location!);
    expect(loginPage.status, await log()).toBe(200);
    expect(loginPage.html).toContain('name="id_number"');
    // Back through Apache's redirect_uri (code exchange, userinfo) to the app.
    const landed = await submitLogin(browser, loginPage, CITIZEN.idNumber, CITIZEN.password);
    expect(landed.status, `${landed.html}${await log()}`).toBe(200);
    const seen = JSON.parse(landed.html) as Echo;
    expect(seen.path).toBe('/hello');
    return seen.headers;
  }

  it('logs in through Apache, passes the claims to the app as headers, and ends the Apache session on logout at yihao', async () => {
    // A forged claim header must never reach the app (the module scrubs its prefix).
    const browser = Browser.navigating({ OIDC_CLAIM_role: 'admin' });

    // 0. A script's fetch/XHR without a session gets 401, not a login page it could not show.
    const script = await fetch(hello, { redirect: 'manual' });
    expect(script.status).toBe(401);
    expect(script.headers.getSetCookie()).toEqual([]);

    // 1. Log in; the app reads the user from the request headers.
    const h = await logIn(browser);
    expect(h.OIDC_CLAIM_sub).toMatch(/^[\w-]{20,}$/);
    expect(h.OIDC_CLAIM_sub).not.toBe(accountId); // pairwise, never the internal id
    expect(h['X-Remote-User']).toBe(h.OIDC_CLAIM_sub);
    expect(h.OIDC_CLAIM_name).toBe(CITIZEN.name); // raw UTF-8 bytes, intact
    expect(h.OIDC_CLAIM_id_number).toBe(CITIZEN.idNumber); // this client is approved for id_number
    expect(h.OIDC_CLAIM_iss).toBe(y.issuer);
    expect(h).not.toHaveProperty('OIDC_CLAIM_role');
    expect(h).not.toHaveProperty('OIDC_access_token'); // the app does not call yihao: it gets no token
    expect(h.cookie).not.toContain('mod_auth_openidc_session');
    // Cookies are not port-scoped: on one host name, yihao's own session cookie reaches the legacy app.
    // That is why production gives yihao a host name of its own.
    expect(h.cookie).toContain('_session=');

    const apacheCookies = [...browser.cookies('localhost').keys()].filter((n) => n.startsWith('mod_auth_openidc_session'));
    expect(apacheCookies).toHaveLength(1);

    // 2. The Apache session holds: the next request reaches the app without yihao.
    const again = await browser.request(hello);
    expect(again.status).toBe(200);
    expect((JSON.parse(again.html) as Echo).headers.OIDC_CLAIM_sub).toBe(h.OIDC_CLAIM_sub);

    // 3. Log out at yihao (RP-initiated logout, confirmed by the user): yihao notifies Apache.
    const discovery = await (await fetch(`${y.issuer}/.well-known/openid-configuration`)).json() as { end_session_endpoint: string };
    const confirm = await browser.navigate(discovery.end_session_endpoint);
    expect(confirm.status).toBe(200);
    const form = formOf(confirm.html, confirm.url);
    const done = await browser.navigate(form.action, undefined, { form: { ...form.fields, logout: 'yes' } });
    expect(done.status).toBe(200);

    // The module answers 200 even for a sid it does not know, so the audit event proves only the delivery…
    const deadline = Date.now() + 5000;
    let outcomes: string[] = [];
    while (Date.now() < deadline) {
      const rows = await y.yihao.core.db.query<{ outcome: string }>(
        `SELECT outcome FROM audit_events WHERE type = 'logout.backchannel' AND client_id = $1`, [CLIENT_ID]);
      outcomes = rows.map((r) => r.outcome);
      if (outcomes.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(outcomes, await log()).toEqual(['success']);

    // 4. …the real proof: Apache's session is gone although the browser still holds its cookie.
    expect(browser.cookies('localhost').has(apacheCookies[0]!)).toBe(true);
    const after = await browser.request(hello);
    expect(after.status, `${after.html}${await log()}`).toBe(302);
    expect(after.location!.startsWith(`${y.issuer}/auth?`)).toBe(true);
  });

  it('logs out from the app: Apache ends its session and sends the user to yihao, which ends the single sign-on session', async () => {
    const browser = Browser.navigating();
    await logIn(browser);
    const signedOut = `${apache.url}/signed-out`;

    // The app's "退出" link: the module's logout, then yihao's end_session with id_token_hint.
    const toYihao = await browser.request(`${apache.url}/protected/redirect_uri?logout=${encodeURIComponent(signedOut)}`);
    expect(toYihao.status, await log()).toBe(302);
    const endSession = new URL(toYihao.location!);
    expect(endSession.searchParams.get('id_token_hint')).toBeTruthy();
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(signedOut);
    const confirm = await browser.navigate(endSession.href);
    expect(confirm.status, `${confirm.html}${await log()}`).toBe(200);
    const form = formOf(confirm.html, confirm.url);
    const done = await browser.navigate(form.action, signedOut, { form: { ...form.fields, logout: 'yes' } });
    expect(done.url).toBe(signedOut);

    // Both sessions are over: the app needs a new login, and yihao asks for the password again.
    const after = await browser.navigate(hello);
    expect(after.status).toBe(200);
    expect(after.html).toContain('name="password"');
  });
});
