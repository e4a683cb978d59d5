// Session oversight through the admin API, as a security administrator uses it: a browser login at the admin
// console, bearer tokens, real HTTP, on both storage setups. Only the security_admin role gets in; identity
// numbers travel in a header or a body, never a URL; every response matches the schema its route declares.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startYihao, createCitizen, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, finish, submitLogin, startLogoutReceiver, oidc, type RpClient } from '../support/relying-party.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';
import { adminRoutes } from '../../src/admin/routes.ts';
import { changeRole } from '../../src/admin/roles.ts';
import type { ClientAdmin } from '../../src/admin/clients.ts';

const ROUTES = adminRoutes({} as ClientAdmin, () => ({}));
const templateOf = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`);
const idNumber = (first17: string) => first17 + checkCharacter(first17);
const SECOPS = { idNumber: idNumber('11010119800307124'), password: 'security officer password' };
const SYSADMIN = { idNumber: idNumber('11010119800307125'), password: 'system admin password' };
const CITIZEN = { idNumber: idNumber('32010219850615001'), password: 'citizen password here' };

describe.each(STORAGES)('session oversight in the admin API on %s storage', (storage) => {
  let y: RunningYihao;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let CONSOLE: RpClient;
  let BOT: RpClient;
  let APP: RpClient;
  let citizenId: string;
  let secopsId: string;

  async function api(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const res = await fetch(`${y.issuer}${path}`, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    const route = ROUTES.find((r) => r.method === method && templateOf(r.path).test(new URL(path, y.issuer).pathname));
    expect(route, `${method} ${path} is a declared route`).toBeDefined();
    const declared = route!.responses[res.status];
    expect(declared, `${method} ${path} answered ${res.status} (${text.slice(0, 200)}), which its route does not declare`).toBeDefined();
    if (declared!.schema) {
      const check = declared!.schema.safeParse(json);
      expect(check.success, `${method} ${path} → ${res.status}: ${check.error?.message}`).toBe(true);
    }
    return { status: res.status, json };
  }

  async function browserLogin(rp: RpClient, who: { idNumber: string; password: string }, scope: string, browser = new Browser()) {
    const config = await discover(y.issuer, rp);
    const req = await authorizationRequest(config, rp, scope);
    let page = await browser.navigate(req.url, rp.redirectUri);
    if (!page.url.startsWith(rp.redirectUri)) page = await submitLogin(browser, page, who.idNumber, who.password, rp.redirectUri);
    return finish(config, page.url, req);
  }

  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    const rp = `http://localhost:${receiver.port}`;
    CONSOLE = { id: 'admin-console', secret: 'c'.repeat(40), redirectUri: `${rp}/console/cb`, postLogoutUri: `${rp}/console/` };
    BOT = { id: 'automation', secret: 'b'.repeat(40), redirectUri: `${rp}/unused`, postLogoutUri: `${rp}/` };
    APP = { id: 'social-security', secret: 's'.repeat(40), redirectUri: `${rp}/app/cb`, postLogoutUri: `${rp}/app/` };
    y = await startYihao({
      storage,
      clients: [
        { client_id: CONSOLE.id, client_secret: CONSOLE.secret, client_name: '管理控制台', department: '大数据局', first_party: true, redirect_uris: [CONSOLE.redirectUri], allowed_scopes: ['openid', 'admin:clients'] },
        { client_id: BOT.id, client_secret: BOT.secret, client_name: '运维自动化', department: '大数据局', grant_types: ['client_credentials'], allowed_scopes: ['admin:clients'] },
        { client_id: APP.id, client_secret: APP.secret, client_name: '社保服务', department: '人社局', first_party: true, redirect_uris: [APP.redirectUri], backchannel_logout_uri: `${rp}/app/backchannel`, allowed_scopes: ['openid', 'profile'] },
      ],
    });
    const { core } = y.yihao;
    for (const who of [SECOPS, SYSADMIN, CITIZEN]) {
      const account = await createCitizen(y, { idNumber: who.idNumber, name: '测试', password: who.password });
      if (who === CITIZEN) citizenId = account.id;
      if (who === SECOPS) secopsId = account.id;
    }
    await changeRole(core, 'grant', SECOPS.idNumber, 'security_admin', 'test');
    await changeRole(core, 'grant', SYSADMIN.idNumber, 'system_admin', 'test');
  });

  afterAll(async () => {
    await y?.stop();
    await receiver?.stop();
  });

  it('lets only a security administrator see and end sessions, with the number kept out of URLs', async () => {
    const citizenBrowser = new Browser({ 'user-agent': 'citizen-phone' });
    const first = await browserLogin(APP, CITIZEN, 'openid profile', citizenBrowser);
    const second = await browserLogin(APP, CITIZEN, 'openid profile', new Browser()); // another device
    const token = (await browserLogin(CONSOLE, SECOPS, 'openid admin:clients')).access_token;

    // Others are refused: a system administrator, automation, nobody.
    const sysToken = (await browserLogin(CONSOLE, SYSADMIN, 'openid admin:clients')).access_token;
    expect((await api('GET', '/admin/api/sessions', { token: sysToken })).json.error).toBe('insufficient_scope');
    const botToken = (await oidc.clientCredentialsGrant(await discover(y.issuer, BOT), { scope: 'admin:clients' })).access_token;
    expect((await api('GET', '/admin/api/sessions', { token: botToken })).status).toBe(403);
    expect((await api('POST', '/admin/api/accounts/sessions/end', { token: botToken, body: { id_number: CITIZEN.idNumber } })).status).toBe(403);
    expect((await api('GET', '/admin/api/sessions')).status).toBe(401);
    // The number is not accepted in a query string.
    expect((await api('GET', `/admin/api/sessions?id_number=${CITIZEN.idNumber}`, { token })).status).toBe(400);

    // Find the citizen's sessions by the Id-Number header; by app; one in detail.
    const mine = await api('GET', '/admin/api/sessions', { token, headers: { 'Id-Number': CITIZEN.idNumber } });
    expect(mine.status).toBe(200);
    expect(mine.json.account).toMatchObject({ id: citizenId, id_masked: `3201**********${CITIZEN.idNumber.slice(-4)}` });
    expect(mine.json.sessions).toHaveLength(2);
    expect(mine.json.sessions.map((s: { user_agent: string }) => s.user_agent)).toContain('citizen-phone');
    expect(mine.json.sessions[0].apps).toEqual([{ client_id: APP.id, name: '社保服务', department: '人社局' }]);
    expect(JSON.stringify(mine.json)).not.toContain(CITIZEN.idNumber);
    const byApp = await api('GET', `/admin/api/sessions?client_id=${APP.id}&limit=1`, { token });
    expect(byApp.json.sessions).toHaveLength(1);
    expect(byApp.json.next_cursor).toBeTypeOf('string');
    const rest = await api('GET', `/admin/api/sessions?client_id=${APP.id}&limit=1&cursor=${byApp.json.next_cursor}`, { token });
    expect(rest.json.sessions.map((s: { uid: string }) => s.uid)).not.toContain(byApp.json.sessions[0].uid);
    const firstUid = mine.json.sessions.find((s: { user_agent: string }) => s.user_agent === 'citizen-phone').uid;
    const detail = await api('GET', `/admin/api/sessions/${firstUid}`, { token });
    expect(detail.json.sids).toEqual({ [APP.id]: first.claims()!.sid });
    const history = await api('GET', '/admin/api/accounts/login-history?limit=10', { token, headers: { 'Id-Number': CITIZEN.idNumber } });
    expect(history.json.events.filter((e: { type: string }) => e.type === 'login.success')).toHaveLength(2);
    expect((await api('GET', '/admin/api/accounts/login-history', { token })).status).toBe(400); // header required

    // End one session: only that device's app session is notified.
    const ended = await api('DELETE', `/admin/api/sessions/${firstUid}`, { token, body: { reason: 'lost phone' } });
    expect(ended.status).toBe(200);
    expect(ended.json.deliveries).toEqual([{ client_id: APP.id, sid: first.claims()!.sid, outcome: 'delivered', reason: null }]);
    expect((await api('GET', `/admin/api/sessions/${firstUid}`, { token })).status).toBe(404);
    expect((await api('DELETE', `/admin/api/sessions/${firstUid}`, { token })).status).toBe(404);

    // End everything else of the person, by the number in the body.
    const all = await api('POST', '/admin/api/accounts/sessions/end', { token, body: { id_number: CITIZEN.idNumber, reason: 'account compromised' } });
    expect(all.status).toBe(200);
    expect(all.json.ended).toHaveLength(1);
    expect(all.json.ended[0].deliveries[0]).toMatchObject({ client_id: APP.id, sid: second.claims()!.sid, outcome: 'delivered' });
    const jwks = createRemoteJWKSet(new URL(`${y.issuer}/jwks`));
    const sids = [];
    for (const d of receiver.deliveries.filter((x) => x.path === '/app/backchannel')) {
      sids.push((await jwtVerify(d.logoutToken, jwks, { issuer: y.issuer, audience: APP.id, typ: 'logout+jwt' })).payload.sid);
    }
    expect(sids.sort()).toEqual([first.claims()!.sid, second.claims()!.sid].sort());
    expect((await api('GET', '/admin/api/sessions', { token, headers: { 'Id-Number': CITIZEN.idNumber } })).json.sessions).toEqual([]);
    expect((await api('POST', '/admin/api/accounts/sessions/end', { token, body: { id_number: idNumber('11010119900101001') } })).status).toBe(404);

    // Who did what is on record: the lookups, and each end by the security officer.
    const rows = await y.yihao.core.db.query<{ type: string; actor: string; details: Record<string, unknown> }>(
      `SELECT type, actor, details FROM audit_events WHERE type IN ('account.viewed', 'session.ended') ORDER BY id`);
    expect(rows.every((r) => r.actor === secopsId)).toBe(true);
    expect(rows.map((r) => r.type)).toEqual(['account.viewed', 'account.viewed', 'session.ended', 'session.ended', 'account.viewed']);
    expect(rows.filter((r) => r.type === 'session.ended').map((r) => r.details.reason)).toEqual(['lost phone', 'account compromised']);
    expect(rows.filter((r) => r.type === 'account.viewed').map((r) => r.details)).toEqual([
      { account: citizenId, what: 'sessions' }, { account: citizenId, what: 'login_history' }, { account: citizenId, what: 'sessions' }]);
  });
});
