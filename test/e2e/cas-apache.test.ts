// A legacy department app that speaks only CAS, protected by the real Apache httpd with mod_auth_cas
// (Debian's libapache2-mod-auth-cas) in front of it and registered in yihao with "protocol": "cas":
// log in through Apache, read the user and the released attributes from request headers, and end
// the Apache session by logging out at yihao (SAML single logout, CASSSOEnabled On).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startYihao, createCitizen, freePort, type RunningYihao } from '../support/yihao.ts';
import { startApache, startEchoApp, type Echo, type RunningApache } from '../support/apache.ts';
import { Browser, formOf } from '../support/browser.ts';
import { submitLogin } from '../support/relying-party.ts';
import { pairwiseSubject } from '../../src/oidc/provider.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple', name: '张三' };
const CLIENT_ID = 'archives-cas';
const DEPARTMENT = '档案局';

// The configuration docs/cas.md recommends, on loopback over http.
function apacheConfig(o: { issuer: string; appPort: number; cookieDir: string }): string {
  return `
CASLoginURL ${o.issuer}/cas/login
CASValidateURL ${o.issuer}/cas/p3/serviceValidate
CASVersion 2
CASCookiePath ${o.cookieDir}/
CASSSOEnabled On
CASCookieHttpOnly On
CASTimeout 28800
CASIdleTimeout 3600

ProxyPass /app/ http://127.0.0.1:${o.appPort}/
ProxyPassReverse /app/ http://127.0.0.1:${o.appPort}/
<Location /app/>
  AuthType CAS
  Require valid-user
  CASScrubRequestHeaders On
  CASAuthNHeader CAS-User
  RequestHeader set X-Remote-User "expr=%{REMOTE_USER}"
</Location>
`;
}

describe('legacy app behind Apache mod_auth_cas', () => {
  let y: RunningYihao;
  let apache: RunningApache;
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let accountId: string;
  let hello: string;
  let apachePort: number;
  const log = async () => `\n--- Apache error log ---\n${await apache.errorLog()}\n--- yihao log ---\n${y.logs.join('\n')}`;

  beforeAll(async () => {
    app = await startEchoApp();
    apachePort = await freePort();
    const apacheUrl = `http://localhost:${apachePort}`;
    hello = `${apacheUrl}/app/hello?lang=zh`;
    y = await startYihao({
      storage: 'postgres+redis',
      clients: [{
        protocol: 'cas', client_id: CLIENT_ID, client_name: '档案查询（旧系统）', department: DEPARTMENT, first_party: true,
        cas_services: [`${apacheUrl}/app/`], released_attributes: ['name', 'id_number'], allowed_scopes: ['openid', 'profile', 'id_number'],
      }],
    });
    expect(y.yihao.clientsApplied.problems).toEqual([]);
    const { core } = y.yihao;
    const account = await createCitizen(y, { idNumber: CITIZEN.idNumber, name: CITIZEN.name, password: CITIZEN.password });
    accountId = account.id;
    apache = await startApache({
      port: apachePort,
      modules: ['auth_cas', 'proxy', 'proxy_http', 'headers'],
      config: (ctx) => apacheConfig({ issuer: y.issuer, appPort: app.port, cookieDir: ctx.dataDir }),
    });
  });

  afterAll(async () => {
    await apache?.stop();
    await y?.stop();
    await app?.stop();
  });

  /** The app's page: Apache → yihao's /cas/login → login form → ticket → Apache validates → the app. */
  async function logIn(browser: Browser): Promise<Echo['headers']> {
    const first = await browser.request(hello);
    expect(first.status, await log()).toBe(302);
    const login = new URL(first.location!);
    expect(`${login.origin}${login.pathname}`).toBe(`${y.issuer}/cas/login`);
    expect(login.searchParams.get('service')).toBe(hello);
    const loginPage = await browser.navigate(first.location!);
    expect(loginPage.status, `${loginPage.html.slice(0, 500)}${await log()}`).toBe(200);
    expect(loginPage.html).toContain('name="id_number"');
    expect(loginPage.html).toContain('档案查询（旧系统）');
    const landed = await submitLogin(browser, loginPage, CITIZEN.idNumber, CITIZEN.password);
    expect(landed.status, `${landed.html.slice(0, 500)}${await log()}`).toBe(200);
    const seen = JSON.parse(landed.html) as Echo;
    expect(seen.path).toBe('/hello?lang=zh'); // the module took the ticket off the URL
    return seen.headers;
  }

  it('logs in through Apache, passes the user and attributes to the app, and ends the Apache session on logout at yihao', async () => {
    // Forged identity headers must never reach the app (CASScrubRequestHeaders).
    // (Header values go out as bytes: the UTF-8 of the forged name, as a browser would send it.)
    const browser = new Browser({ 'CAS-User': 'admin', 'CAS-name': Buffer.from('管理员').toString('latin1') });

    // 1. Log in; the app reads the user and the released attributes from the request headers.
    const h = await logIn(browser);
    const expectedUser = pairwiseSubject(y.yihao.secrets.pairwiseKey, { department: DEPARTMENT, sectorIdentifier: `localhost:${apachePort}` }, accountId);
    expect(h['CAS-User']).toBe(expectedUser);
    expect(h['X-Remote-User']).toBe(expectedUser);
    expect(h['CAS-name']).toBe(CITIZEN.name); // raw UTF-8, intact
    expect(h['CAS-id_number']).toBe(CITIZEN.idNumber); // approved for this service
    expect(Object.values(h)).not.toContain('admin');
    expect(Object.values(h)).not.toContain('管理员');
    const casCookies = [...browser.cookies('localhost').keys()].filter((n) => n === 'MOD_AUTH_CAS');
    expect(casCookies).toHaveLength(1);

    // 2. The Apache session holds: the next request reaches the app without yihao.
    const again = await browser.request(hello);
    expect(again.status, await log()).toBe(200);
    expect((JSON.parse(again.html) as Echo).headers['CAS-User']).toBe(expectedUser);

    // 3. Log out at yihao through CAS: confirmation, then single logout to Apache, then back to the app.
    const confirm = await browser.navigate(`${y.issuer}/cas/logout?service=${encodeURIComponent(hello)}`);
    expect(confirm.status).toBe(200);
    const form = formOf(confirm.html, confirm.url);
    const done = await browser.navigate(form.action, hello, { form: { ...form.fields, logout: 'yes' } });
    expect(done.url).toBe(hello);
    const delivered = await y.yihao.core.db.query<{ outcome: string; details: { status?: number } }>(
      `SELECT outcome, details FROM audit_events WHERE type LIKE 'cas.logout.%' AND client_id = $1`, [CLIENT_ID]);
    expect(delivered.map((r) => r.outcome), await log()).toEqual(['success']);
    expect(delivered[0]!.details.status).toBe(302); // the module redirects; we never follow

    // 4. The real proof: Apache's session is gone although the browser still holds its cookie.
    expect(browser.cookies('localhost').has('MOD_AUTH_CAS')).toBe(true);
    const after = await browser.request(hello);
    expect(after.status, `${after.html}${await log()}`).toBe(302);
    expect(after.location!.startsWith(`${y.issuer}/cas/login?service=`)).toBe(true);

    // 5. And yihao's session is gone too: the password is asked for again.
    const relogin = await browser.navigate(after.location!);
    expect(relogin.html).toContain('name="password"');
  });

  it('ends every Apache session opened in the SSO session (one LogoutRequest per ticket) when it ends at yihao', async () => {
    const browser = new Browser();
    await logIn(browser);
    // A second Apache session in the same SSO session (another browser profile of the same person, or a
    // lost cookie): the module opens it with a new ticket, and maps each ticket to its own session.
    const jar = browser.cookies('localhost');
    const first = jar.get('MOD_AUTH_CAS')!;
    jar.delete('MOD_AUTH_CAS');
    const reopened = await browser.navigate(hello);
    expect(reopened.status, await log()).toBe(200);
    const second = jar.get('MOD_AUTH_CAS')!;
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);
    for (const cookie of [first, second]) {
      jar.set('MOD_AUTH_CAS', cookie);
      expect((await browser.request(hello)).status).toBe(200);
    }

    // The session ends at yihao's own end-session endpoint (no app named): both Apache sessions end.
    const confirm = await browser.navigate(`${y.issuer}/session/end`);
    const form = formOf(confirm.html, confirm.url);
    const done = await browser.navigate(form.action, undefined, { form: { ...form.fields, logout: 'yes' } });
    expect(done.status).toBe(200);
    for (const cookie of [first, second]) {
      jar.set('MOD_AUTH_CAS', cookie);
      const after = await browser.request(hello);
      expect(after.status, await log()).toBe(302);
      expect(after.location!.startsWith(`${y.issuer}/cas/login?`)).toBe(true);
    }
  });
});
