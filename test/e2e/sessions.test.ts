// Session oversight over real HTTP, on both storage setups: a citizen signed in at three department apps is
// found by identity number, by app and by IP; ending all their sessions reaches every app by back-channel
// logout (a failing app is reported and audited), kills their tokens and their SSO session, and leaves
// another citizen's session alone. The CLI does the same as an operator runs it.
import { runCli } from '../support/cli.ts';
import { createServer, type Server } from 'node:http';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startYihao, createCitizen, STORAGES, freePort, type RunningYihao } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, finish, submitLogin, oidc, type RpClient } from '../support/relying-party.ts';
import { formOf } from '../support/browser.ts';
import { sessionOversightFor } from '../../src/sessions/oversight.ts';
import { grantIndexFor } from '../../src/oidc/grant-index.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple' };
const OTHER = { idNumber: '440106199003070036', password: 'another long password' };
const USER_AGENT = 'Mozilla/5.0 (Linux; Android 14) yihao-e2e';

interface Delivery { path: string; logoutToken: string }

/** Department apps' back-channel endpoints; a path ending in /fail answers 500, as a broken app would. */
async function startReceiver() {
  const port = await freePort();
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', logoutToken: new URLSearchParams(body).get('logout_token') ?? '' });
      res.writeHead(req.url?.endsWith('/fail') ? 500 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, deliveries, stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const cli = runCli;

describe.each(STORAGES)('session oversight on %s storage', (storage) => {
  let y: RunningYihao;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let A: RpClient;
  let B: RpClient;
  let C: RpClient;
  const accounts: Record<string, string> = {};

  beforeAll(async () => {
    receiver = await startReceiver();
    const rp = `http://localhost:${receiver.port}`;
    const app = (id: string, extra: Record<string, unknown>) => ({
      client_id: id, client_secret: id[0]!.repeat(40), client_name: `${id} 服务`, department: `${id}局`, first_party: true,
      redirect_uris: [`${rp}/${id}/callback`], post_logout_redirect_uris: [`${rp}/${id}/`], allowed_scopes: ['openid', 'profile'], ...extra,
    });
    const rpOf = (id: string): RpClient => ({ id, secret: id[0]!.repeat(40), redirectUri: `${rp}/${id}/callback`, postLogoutUri: `${rp}/${id}/` });
    [A, B, C] = [rpOf('tax-service'), rpOf('civil-affairs'), rpOf('housing-fund')];
    y = await startYihao({
      storage,
      clients: [
        app(A.id, { backchannel_logout_uri: `${rp}/a/backchannel`, grant_types: ['authorization_code', 'refresh_token'], allowed_scopes: ['openid', 'profile', 'offline_access'] }),
        app(B.id, { backchannel_logout_uri: `${rp}/b/backchannel` }),
        app(C.id, { backchannel_logout_uri: `${rp}/c/backchannel/fail` }),
      ],
    });
    const { core } = y.yihao;
    for (const person of [CITIZEN, OTHER]) {
      const account = await createCitizen(y, { idNumber: person.idNumber, name: '张三', password: person.password });
      accounts[person.idNumber] = account.id;
    }
  });

  afterAll(async () => {
    await y?.stop();
    await receiver?.stop();
  });

  /** Signs in at the first app through the form, then connects at the others without one. */
  async function signIn(browser: Browser, person: typeof CITIZEN, apps: RpClient[]) {
    const tokens = new Map<string, Awaited<ReturnType<typeof finish>>>();
    for (const [i, rp] of apps.entries()) {
      const config = await discover(y.issuer, rp);
      const offline = rp.id === A.id;
      const req = await authorizationRequest(config, rp, offline ? 'openid profile offline_access' : 'openid profile', offline ? { prompt: 'consent' } : {});
      let page = await browser.navigate(req.url, rp.redirectUri);
      if (i === 0) {
        expect(page.html).toContain('name="password"');
        page = await submitLogin(browser, page, person.idNumber, person.password, rp.redirectUri);
      }
      expect(page.url.startsWith(rp.redirectUri), `back at ${rp.id}`).toBe(true);
      tokens.set(rp.id, await finish(config, page.url, req));
    }
    return tokens;
  }

  it('finds a citizen\'s session by identity number, app and IP, and ends it everywhere', async () => {
    const other = new Browser({ 'user-agent': 'other-browser' });
    await signIn(other, OTHER, [B]);
    const browser = new Browser({ 'user-agent': USER_AGENT });
    const tokens = await signIn(browser, CITIZEN, [A, B, C]);
    const id = (c: RpClient) => tokens.get(c.id)!.claims()!;
    const oversight = sessionOversightFor(y.yihao.core, y.yihao.provider);

    // 1. Found by identity number, shown masked, with what security staff need to see.
    const byPerson = await oversight.list({ person: { idNumber: CITIZEN.idNumber } });
    expect(byPerson.account).toEqual({ id: accounts[CITIZEN.idNumber], idMasked: '1101**********002X', status: 'active' });
    expect(byPerson.items).toHaveLength(1);
    const [session] = byPerson.items;
    expect(session).toMatchObject({ acr: 'urn:yihao:loa:1', amr: ['pwd'], userAgent: USER_AGENT });
    expect(session!.ip).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    expect(session!.apps.map((a) => a.clientId).sort()).toEqual([A.id, B.id, C.id].sort());
    expect(session!.apps.find((a) => a.clientId === A.id)).toMatchObject({ name: `${A.id} 服务`, department: `${A.id}局` });
    expect(Math.abs(Date.parse(session!.loginAt) - Date.now())).toBeLessThan(60_000);
    expect(Date.parse(session!.lastActiveAt)).toBeGreaterThanOrEqual(Date.parse(session!.loginAt));
    expect(JSON.stringify(byPerson)).not.toContain(CITIZEN.idNumber);

    // 2. By app, by IP and among all; the other citizen's session is not theirs.
    expect((await oversight.list({ clientId: C.id })).items.map((s) => s.uid)).toEqual([session!.uid]);
    expect((await oversight.list({ clientId: B.id })).items).toHaveLength(2);
    expect((await oversight.list({ ip: session!.ip })).items.map((s) => s.uid)).toContain(session!.uid);
    const all = await oversight.list({});
    expect(all.items.map((s) => s.account?.idMasked).sort()).toEqual(['1101**********002X', '4401**********0036']);
    const logins = all.items.map((s) => Date.parse(s.loginAt));
    expect(logins).toEqual([...logins].sort((x, y) => y - x)); // newest login first (same-second logins tie)
    const detail = await oversight.get(session!.uid);
    expect(detail.sids).toEqual({ [A.id]: id(A).sid, [B.id]: id(B).sid, [C.id]: id(C).sid });
    const history = await oversight.loginHistory({ idNumber: CITIZEN.idNumber });
    expect(history.items[0]).toMatchObject({ type: 'login.success', outcome: 'success', clientId: A.id, userAgent: USER_AGENT });

    // 3. End every session of the citizen.
    const result = await oversight.endAll({ idNumber: CITIZEN.idNumber }, { actor: 'security-officer-1', ip: '203.0.113.9', reason: 'reported stolen phone' });
    expect(result.ended).toHaveLength(1);
    const outcomes = Object.fromEntries(result.ended[0]!.deliveries.map((d) => [d.clientId, d.outcome]));
    expect(outcomes).toEqual({ [A.id]: 'delivered', [B.id]: 'delivered', [C.id]: 'failed' });
    expect(result.ended[0]!.grantsRevoked).toBe(3);

    // 4. Each app received a logout token it can verify, naming the session it knows.
    const jwks = createRemoteJWKSet(new URL(`${y.issuer}/jwks`));
    for (const [rp, path] of [[A, '/a/backchannel'], [B, '/b/backchannel'], [C, '/c/backchannel/fail']] as const) {
      const delivery = receiver.deliveries.find((d) => d.path === path);
      expect(delivery, `${rp.id} received a logout token`).toBeDefined();
      const { payload } = await jwtVerify(delivery!.logoutToken, jwks, { issuer: y.issuer, audience: rp.id, typ: 'logout+jwt' });
      expect(payload.sid).toBe(id(rp).sid);
      expect(payload.sub).toBe(id(rp).sub); // each app's own pairwise subject
      expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    }

    // 5. Their tokens are dead: access tokens inactive, the refresh token refused.
    for (const rp of [A, B]) {
      const config = await discover(y.issuer, rp);
      expect((await oidc.tokenIntrospection(config, tokens.get(rp.id)!.access_token)).active).toBe(false);
    }
    await expect(oidc.refreshTokenGrant(await discover(y.issuer, A), tokens.get(A.id)!.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // 6. Their SSO session is gone: the next authorization request shows the login form.
    const again = await browser.navigate((await authorizationRequest(await discover(y.issuer, B), B, 'openid')).url, B.redirectUri);
    expect(again.status).toBe(200);
    expect(again.html).toContain('name="password"');
    expect((await oversight.list({ person: { idNumber: CITIZEN.idNumber } })).items).toEqual([]);

    // 7. The other citizen is still signed in.
    expect((await oversight.list({ person: { idNumber: OTHER.idNumber } })).items).toHaveLength(1);
    const stillIn = await other.navigate((await authorizationRequest(await discover(y.issuer, A), A, 'openid')).url, A.redirectUri);
    expect(stillIn.url.startsWith(A.redirectUri)).toBe(true);

    // 8. The end and every delivery are in the audit trail.
    const rows = await y.yihao.core.db.query<{ type: string; outcome: string; actor: string; client_id: string | null; session_id: string | null; ip: string | null; details: Record<string, unknown> }>(
      `SELECT type, outcome, actor, client_id, session_id, ip, details FROM audit_events WHERE type IN ('session.ended', 'logout.backchannel') ORDER BY id`);
    expect(rows.filter((r) => r.type === 'session.ended')).toEqual([expect.objectContaining({
      outcome: 'success', actor: 'security-officer-1', session_id: session!.uid, ip: '203.0.113.9',
      details: expect.objectContaining({ account: accounts[CITIZEN.idNumber], reason: 'reported stolen phone' }),
    })]);
    const deliveries = rows.filter((r) => r.type === 'logout.backchannel');
    expect(deliveries.map((r) => [r.client_id, r.outcome, r.actor, r.session_id]).sort()).toEqual([
      [A.id, 'success', accounts[CITIZEN.idNumber], id(A).sid],
      [B.id, 'success', accounts[CITIZEN.idNumber], id(B).sid],
      [C.id, 'failure', accounts[CITIZEN.idNumber], id(C).sid],
    ].sort());
    expect(String(deliveries.find((r) => r.client_id === C.id)!.details.error)).toContain('500');
  });

  it('ending every session of a person also kills offline refresh tokens whose session had already ended', async () => {
    const browser = new Browser({ 'user-agent': 'offline-test' });
    const tokens = (await signIn(browser, CITIZEN, [A])).get(A.id)!;
    expect(tokens.refresh_token).toBeDefined();
    const config = await discover(y.issuer, A);

    // The person signs out at yihao: the session ends, the offline refresh token (by design) lives on.
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: A.postLogoutUri });
    const confirm = await browser.navigate(end.href);
    const form = formOf(confirm.html, confirm.url);
    const out = await browser.navigate(form.action, A.postLogoutUri, { form: { ...form.fields, logout: 'yes' } });
    expect(out.url.startsWith(A.postLogoutUri)).toBe(true);
    const oversight = sessionOversightFor(y.yihao.core, y.yihao.provider);
    expect((await oversight.list({ person: { idNumber: CITIZEN.idNumber } })).items).toEqual([]);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeDefined();

    // Security staff end all of the person's sessions: there are none, yet the offline grant goes.
    const result = await oversight.endAll({ idNumber: CITIZEN.idNumber }, { actor: 'security-officer-2', reason: 'lost phone' });
    expect(result.ended).toEqual([]);
    expect(result.grantsRevoked).toBeGreaterThanOrEqual(1);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
    expect(await grantIndexFor(y.yihao.core).grantsOf(accounts[CITIZEN.idNumber]!)).toEqual([]);

    const rows = await y.yihao.core.db.query<{ actor: string; client_id: string; details: Record<string, unknown> }>(
      `SELECT actor, client_id, details FROM audit_events WHERE type = 'grant.revoked' AND details->>'endedBy' = 'security-officer-2'`);
    expect(rows).toContainEqual(expect.objectContaining({
      actor: accounts[CITIZEN.idNumber], client_id: A.id,
      details: expect.objectContaining({ offline: true, reason: 'lost phone', scope: expect.stringContaining('offline_access') }),
    }));
  });

  it.runIf(storage === 'postgres+redis')('lists masked and ends one session from the CLI', async () => {
    const browser = new Browser({ 'user-agent': 'cli-test' });
    const tokens = await signIn(browser, CITIZEN, [A]);
    const listed = await cli(['sessions', 'list', '--id-number', CITIZEN.idNumber], y.env);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('1101**********002X');
    expect(listed.stdout).not.toContain(CITIZEN.idNumber);
    const uid = /^([\w-]{10,})\s+\d{4}-/m.exec(listed.stdout)?.[1];
    expect(uid, listed.stdout).toBeDefined();
    expect((await cli(['sessions', 'list', '--client', A.id, '--limit', '5'], y.env)).stdout).toContain(uid!);
    expect((await cli(['sessions', 'list', '--id-number', '110105194912310021'], y.env)).code).toBe(2); // bad check digit

    const before = receiver.deliveries.length;
    const ended = await cli(['sessions', 'end', '--session', uid!], y.env);
    expect(ended.stderr).toBe('');
    expect(ended.stdout).toContain(`ended session ${uid} of 1101**********002X: 1 grant revoked`);
    expect(ended.stdout).toContain(`back-channel logout ${A.id}: delivered`);
    expect(ended.code).toBe(0);
    const delivery = receiver.deliveries.slice(before).find((d) => d.path === '/a/backchannel');
    const { payload } = await jwtVerify(delivery!.logoutToken, createRemoteJWKSet(new URL(`${y.issuer}/jwks`)), { issuer: y.issuer, audience: A.id });
    expect(payload.sid).toBe(tokens.get(A.id)!.claims()!.sid);
    expect((await oidc.tokenIntrospection(await discover(y.issuer, A), tokens.get(A.id)!.access_token)).active).toBe(false);
    expect((await cli(['sessions', 'end', '--session', uid!], y.env)).code).toBe(2); // already gone
  });
});
