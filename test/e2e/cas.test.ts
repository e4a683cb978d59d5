// CAS for apps that only speak CAS, over real HTTP on both storage setups: tickets (format, single use,
// lifetime, service binding), the validation responses as CAS clients parse them, renew and gateway,
// one SSO session with the OIDC apps in both directions, and single logout to every ticket's app.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { startYihao, createCitizen, freePort, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf, type Page } from '../support/browser.ts';
import { startLogoutReceiver, discover, authorizationRequest, finish, submitLogin, oidc, type RpClient } from '../support/relying-party.ts';
import { createDbSessionTickets, createRedisSessionTickets } from '../../src/cas/tickets.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple', name: '张三', phone: '+8613912345678' };
const TICKET_MOD_AUTH_CAS = /^(ST|PT)-[A-Za-z0-9.-]+$/; // what mod_auth_cas accepts (LEGACY-RP-NOTES)
const TICKET_CAS3 = /^ST-[A-Za-z0-9-]{32,253}$/; // CAS 3.0 §3.7, at least 32 characters

interface SloPost { path: string; body: string; contentType: string }

/** The CAS apps' server: records single-logout POSTs and answers them with a redirect nobody may follow. */
async function startCasApps(): Promise<{ port: number; posts: SloPost[]; gets: string[]; stop(): Promise<void> }> {
  const port = await freePort();
  const posts: SloPost[] = [];
  const gets: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.method === 'POST') {
        posts.push({ path: req.url ?? '', body, contentType: req.headers['content-type'] ?? '' });
        res.writeHead(302, { location: '/followed' }).end(); // mod_auth_cas answers 302 too
        return;
      }
      gets.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('app');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, posts, gets, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const userOf = (xml: string) => /<cas:user>([^<]*)<\/cas:user>/.exec(xml)?.[1];
const failureOf = (xml: string) => /<cas:authenticationFailure code="([A-Z_]+)">/.exec(xml)?.[1];
const ticketOf = (url: string) => new URL(url).searchParams.get('ticket') ?? undefined;

describe.each(STORAGES)('CAS on %s storage', (storage) => {
  let y: RunningYihao;
  let apps: Awaited<ReturnType<typeof startCasApps>>;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let appOrigin: string;
  let ARCHIVES: string; // first-party, releases name and the approved id_number
  let PERMITS: string; // not first-party (consent), own logout_url, releases name and phone
  let TAX: RpClient; // an OIDC app
  let SAME_HOST: RpClient; // an OIDC app on the archives host, same department
  let accountId: string;

  const validate = async (path: string, params: Record<string, string>) => {
    const res = await fetch(`${y.issuer}${path}?${new URLSearchParams(params)}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };
  const casLoginUrl = (service: string, extra: Record<string, string> = {}) => `${y.issuer}/cas/login?${new URLSearchParams({ service, ...extra })}`;

  /** /cas/login for `service`: through the login (and consent) page when needed; returns where the browser lands. */
  async function casLogin(browser: Browser, service: string, extra: Record<string, string> = {}): Promise<{ landed: string; sawLoginPage: boolean; page: Page }> {
    let page = await browser.navigate(casLoginUrl(service, extra), service);
    let sawLoginPage = false;
    for (let step = 0; step < 3 && !page.url.startsWith(service); step++) {
      expect(page.status, page.html.slice(0, 300)).toBe(200);
      if (page.html.includes('name="id_number"')) {
        sawLoginPage = true;
        page = await submitLogin(browser, page, CITIZEN.idNumber, CITIZEN.password, service);
      } else if (page.html.includes('/confirm"')) {
        const consent = formOf(page.html, page.url, 0);
        page = await browser.navigate(consent.action, service, { form: consent.fields });
      } else break;
    }
    return { landed: page.url, sawLoginPage, page };
  }

  beforeAll(async () => {
    [apps, receiver] = await Promise.all([startCasApps(), startLogoutReceiver()]);
    appOrigin = `http://localhost:${apps.port}`;
    ARCHIVES = `${appOrigin}/archives/`;
    PERMITS = `${appOrigin}/permits`;
    const rp = `http://localhost:${receiver.port}`;
    TAX = { id: 'tax-service', secret: 't'.repeat(40), redirectUri: `${rp}/tax/callback`, postLogoutUri: `${rp}/tax/` };
    SAME_HOST = { id: 'archives-new', secret: 'n'.repeat(40), redirectUri: `${appOrigin}/archives-new/callback`, postLogoutUri: `${appOrigin}/` };
    y = await startYihao({
      storage,
      clients: [
        {
          protocol: 'cas', client_id: 'archives-cas', client_name: '档案查询', department: '档案局', first_party: true,
          cas_services: [ARCHIVES], released_attributes: ['name', 'id_number'], allowed_scopes: ['openid', 'profile', 'id_number'],
        },
        {
          protocol: 'cas', client_id: 'permits-cas', client_name: '许可证办理', department: '市场监管局', first_party: false,
          cas_services: [PERMITS], released_attributes: ['name', 'phone_number'], logout_url: `${appOrigin}/permits/slo`,
        },
        {
          client_id: TAX.id, client_secret: TAX.secret, client_name: '税务服务', department: '税务局', first_party: true,
          redirect_uris: [TAX.redirectUri], post_logout_redirect_uris: [TAX.postLogoutUri], backchannel_logout_uri: `${rp}/tax/backchannel`,
          allowed_scopes: ['openid', 'profile'],
        },
        {
          client_id: SAME_HOST.id, client_secret: SAME_HOST.secret, client_name: '档案查询（新版）', department: '档案局', first_party: true,
          redirect_uris: [SAME_HOST.redirectUri], allowed_scopes: ['openid'],
        },
      ],
    });
    expect(y.yihao.clientsApplied.problems).toEqual([]);
    const { core } = y.yihao;
    const account = await createCitizen(y, { idNumber: CITIZEN.idNumber, name: CITIZEN.name, phone: CITIZEN.phone, password: CITIZEN.password });
    accountId = account.id;
  });

  afterAll(async () => {
    await y?.stop();
    await apps?.stop();
    await receiver?.stop();
  });

  it('explains an unknown or missing service in Chinese or English, and never redirects to it', async () => {
    for (const service of [
      'https://evil.example/archives/', `${appOrigin}/archivesX/`, `${appOrigin}/archives/../admin/`, `http://localhost:${apps.port}@evil.example/archives/`,
      `http://127.0.0.1:${apps.port}/archives/`, `${appOrigin.replace('http:', 'https:')}/archives/`, `http://localhost:${apps.port + 1}/archives/`,
      `${ARCHIVES}#frag`, 'not a url',
    ]) {
      const res = await fetch(casLoginUrl(service), { redirect: 'manual' });
      expect(res.status, service).toBe(400);
      expect(res.headers.get('location'), service).toBeNull();
      const html = await res.text();
      expect(html, service).toContain('该应用未接入一号');
      expect(html).not.toMatch(/(href|action|url)="?https?:\/\/[^"]*evil/i); // no way onward to it
    }
    const en = await fetch(casLoginUrl('https://evil.example/'), { headers: { 'accept-language': 'en' } });
    expect(await en.text()).toContain('This app is not connected to Yihao');
    const missing = await fetch(`${y.issuer}/cas/login`, { redirect: 'manual' });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('登录链接不完整');
  });

  it('issues a well-formed, single-use ticket bound to the exact service, and answers CAS 2.0 XML as mod_auth_cas parses it', async () => {
    const browser = new Browser();
    const service = `${ARCHIVES}case?id=42&view=full`;
    const { landed, sawLoginPage } = await casLogin(browser, service);
    expect(sawLoginPage).toBe(true);
    expect(landed.startsWith(`${service}&ticket=ST-`)).toBe(true);
    const ticket = ticketOf(landed)!;
    expect(ticket).toMatch(TICKET_MOD_AUTH_CAS);
    expect(ticket).toMatch(TICKET_CAS3);
    expect(ticket.length).toBeLessThanOrEqual(256);

    const ok = await validate('/cas/serviceValidate', { service, ticket });
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/xml/);
    expect(ok.body.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(ok.body).toContain('<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>');
    const user = userOf(ok.body)!;
    expect(user).toMatch(/^[\w-]{43}$/); // the pairwise subject, verbatim, no whitespace around it
    expect(user).not.toBe(accountId);
    expect(ok.body).not.toContain('cas:attributes'); // CAS 2.0: no attributes
    expect(ok.body).not.toContain(CITIZEN.idNumber);

    // Single use: the same ticket again is unknown.
    expect(failureOf((await validate('/cas/serviceValidate', { service, ticket })).body)).toBe('INVALID_TICKET');

    // Bound to the exact service string, and spent by a failed attempt too (CAS 3.0 §3.1.1).
    const second = ticketOf((await casLogin(browser, service)).landed)!;
    for (const other of [`${ARCHIVES}case?view=full&id=42`, `${ARCHIVES}case/?id=42&view=full`, `${ARCHIVES}CASE?id=42&view=full`]) {
      const next = ticketOf((await casLogin(browser, service)).landed)!;
      expect(failureOf((await validate('/cas/serviceValidate', { service: other, ticket: next })).body), other).toBe('INVALID_SERVICE');
      expect(failureOf((await validate('/cas/serviceValidate', { service, ticket: next })).body)).toBe('INVALID_TICKET');
    }
    expect(userOf((await validate('/cas/proxyValidate', { service, ticket: second })).body)).toBe(user);
  });

  it('lets exactly one of two racing validations of a ticket succeed', async () => {
    const browser = new Browser();
    for (let round = 0; round < 5; round++) {
      const ticket = ticketOf((await casLogin(browser, ARCHIVES)).landed)!;
      const answers = await Promise.all([1, 2, 3].map(() => validate('/cas/serviceValidate', { service: ARCHIVES, ticket })));
      expect(answers.filter((a) => userOf(a.body)).length).toBe(1);
      expect(answers.filter((a) => failureOf(a.body) === 'INVALID_TICKET').length).toBe(2);
    }
  });

  it('loses no ticket of a session when tickets are issued concurrently (single logout needs them all)', async () => {
    const { core } = y.yihao;
    const index = core.redis ? createRedisSessionTickets(core.redis, `${y.env.REDIS_KEY_PREFIX}test:`) : createDbSessionTickets(core.db);
    const entries = Array.from({ length: 20 }, (_, i) => ({ ticket: `ST-${'x'.repeat(40)}${i}`, clientId: 'archives-cas', accountId, logoutUrl: ARCHIVES }));
    await Promise.all(entries.map((e) => index.add('sid-race', e, 60)));
    const taken = await index.take('sid-race');
    expect(taken.map((e) => e.ticket).sort()).toEqual(entries.map((e) => e.ticket).sort());
    expect(await index.take('sid-race')).toEqual([]);
  });

  it('keeps a ticket for at most 10 seconds in the short-lived store, and refuses it once expired', async () => {
    const browser = new Browser();
    const ticket = ticketOf((await casLogin(browser, ARCHIVES)).landed)!;
    const { core } = y.yihao;
    const expire = async (t: string) => {
      if (core.redis) {
        const key = `${y.env.REDIS_KEY_PREFIX}oidc:CasTicket:${t}`;
        const ttl = await core.redis.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(10_000);
        await core.redis.pexpire(key, 1);
        await new Promise((r) => setTimeout(r, 20));
      } else {
        const [row] = await core.db.query<{ left: number }>(
          `SELECT extract(epoch FROM expires_at - now())::float8 AS left FROM oidc_models WHERE model = 'CasTicket' AND id = $1`, [t]);
        expect(row!.left).toBeGreaterThan(0);
        expect(row!.left).toBeLessThanOrEqual(10);
        await core.db.query(`UPDATE oidc_models SET expires_at = now() - interval '1 second' WHERE model = 'CasTicket' AND id = $1`, [t]);
      }
    };
    await expire(ticket);
    expect(failureOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket })).body)).toBe('INVALID_TICKET');
  });

  it('releases the registered attributes in CAS 3.0 XML and JSON, CAS 1.0 answers with bare LF, and proxies are refused cleanly', async () => {
    const browser = new Browser();
    let ticket = ticketOf((await casLogin(browser, ARCHIVES)).landed)!;
    const p3 = await validate('/cas/p3/serviceValidate', { service: ARCHIVES, ticket, pgtUrl: `${appOrigin}/pgt` });
    const user = userOf(p3.body)!;
    expect(p3.body).toContain(`<cas:user>${user}</cas:user><cas:attributes><cas:name>${CITIZEN.name}</cas:name><cas:id_number>${CITIZEN.idNumber}</cas:id_number></cas:attributes>`);
    expect(p3.body).not.toContain('proxyGrantingTicket'); // pgtUrl ignored: no proxy support
    expect(apps.gets).not.toContain('/pgt');

    ticket = ticketOf((await casLogin(browser, ARCHIVES)).landed)!;
    const json = await validate('/cas/p3/serviceValidate', { service: ARCHIVES, ticket, format: 'JSON' });
    expect(json.type).toMatch(/application\/json/);
    expect(JSON.parse(json.body)).toEqual({ serviceResponse: { authenticationSuccess: { user, attributes: { name: CITIZEN.name, id_number: CITIZEN.idNumber } } } });
    expect(JSON.parse((await validate('/cas/p3/serviceValidate', { service: ARCHIVES, ticket, format: 'JSON' })).body))
      .toEqual({ serviceResponse: { authenticationFailure: { code: 'INVALID_TICKET', description: expect.stringContaining('not recognized') } } });

    ticket = ticketOf((await casLogin(browser, ARCHIVES)).landed)!;
    const v1 = await validate('/cas/validate', { service: ARCHIVES, ticket });
    expect(v1.body).toBe(`yes\n${user}\n`);
    expect(v1.type).toMatch(/^text\/plain/);
    expect((await validate('/cas/validate', { service: ARCHIVES, ticket })).body).toBe('no\n\n');

    expect(failureOf((await validate('/cas/serviceValidate', { service: ARCHIVES })).body)).toBe('INVALID_REQUEST');
    expect(failureOf((await validate('/cas/serviceValidate', { ticket })).body)).toBe('INVALID_REQUEST');
    expect(failureOf((await validate('/cas/p3/serviceValidate', { service: ARCHIVES, ticket, format: 'YAML' })).body)).toBe('INVALID_REQUEST');
    expect(failureOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket: 'ST-<script>&amp;' })).body)).toBe('INVALID_TICKET');
    expect((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket: 'ST-<x>' })).body).toContain('Ticket ST-&lt;x&gt; not recognized');
    expect(failureOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket: 'PT-abc' })).body)).toBe('INVALID_TICKET_SPEC');
    expect(failureOf((await validate('/cas/proxyValidate', { service: ARCHIVES, ticket: 'PT-abc' })).body)).toBe('UNAUTHORIZED_SERVICE_PROXY');
    expect(failureOf((await validate('/cas/p3/proxyValidate', { service: ARCHIVES, ticket: 'PT-abc' })).body)).toBe('UNAUTHORIZED_SERVICE_PROXY');
    expect((await validate('/cas/proxy', { pgt: 'PGT-1', targetService: ARCHIVES })).body).toContain('<cas:proxyFailure code="UNAUTHORIZED_SERVICE">');

    // Every validation is audited, successes with the account and the session's sid.
    const rows = await y.yihao.core.db.query<{ outcome: string; actor: string | null; client_id: string | null; session_id: string | null }>(
      `SELECT outcome, actor, client_id, session_id FROM audit_events WHERE type = 'cas.ticket.validated' ORDER BY id`);
    const ok = rows.filter((r) => r.outcome === 'success');
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.every((r) => r.actor === accountId && r.client_id === 'archives-cas' && typeof r.session_id === 'string')).toBe(true);
    expect(rows.some((r) => r.outcome === 'failure')).toBe(true);
  });

  it('computes <cas:user> as the pairwise sub an OIDC app of the same department on the same host gets', async () => {
    const browser = new Browser();
    const ticket = ticketOf((await casLogin(browser, ARCHIVES)).landed)!;
    const user = userOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket })).body);
    const config = await discover(y.issuer, SAME_HOST);
    const req = await authorizationRequest(config, SAME_HOST, 'openid');
    const back = await browser.navigate(req.url, SAME_HOST.redirectUri);
    const tokens = await finish(config, back.url, req);
    expect(tokens.claims()!.sub).toBe(user);
  });

  it('asks for consent once for an app that is not first-party, and releases only what it registered', async () => {
    const browser = new Browser();
    const service = `${PERMITS}/apply`;
    const first = await browser.navigate(casLoginUrl(service), service);
    const consent = await submitLogin(browser, first, CITIZEN.idNumber, CITIZEN.password, service);
    expect(consent.status).toBe(200);
    expect(consent.html).toContain('许可证办理');
    expect(consent.html).toContain('手机号码');
    const form = formOf(consent.html, consent.url, 0);
    const landed = await browser.navigate(form.action, service, { form: form.fields });
    const ticket = ticketOf(landed.url)!;
    const p3 = await validate('/cas/p3/serviceValidate', { service, ticket, format: 'json' });
    expect(JSON.parse(p3.body).serviceResponse.authenticationSuccess.attributes).toEqual({ name: CITIZEN.name, phone_number: CITIZEN.phone });
    // Consent given: the next visit passes straight through.
    const again = await casLogin(browser, service);
    expect(again.sawLoginPage).toBe(false);
    expect(ticketOf(again.landed)).toMatch(TICKET_CAS3);
  });

  it('honours renew=true (a fresh password, and only such a ticket passes renew validation) and gateway=true', async () => {
    const anonymous = new Browser();
    // gateway without a session: back to the service, no ticket, no page.
    const gated = await anonymous.navigate(casLoginUrl(ARCHIVES, { gateway: 'true' }), ARCHIVES);
    expect(gated.url).toBe(ARCHIVES);

    const browser = new Browser();
    const sso = ticketOf((await casLogin(browser, ARCHIVES)).landed)!;
    expect(failureOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket: sso })).body)).toBeUndefined();

    // gateway with a session: a ticket, silently.
    const silent = await browser.navigate(casLoginUrl(ARCHIVES, { gateway: 'true' }), ARCHIVES);
    const fromSso = ticketOf(silent.url)!;
    expect(fromSso).toMatch(TICKET_CAS3);
    expect(failureOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket: fromSso, renew: 'true' })).body)).toBe('INVALID_TICKET');

    // renew with a session: the login page again, and that ticket satisfies renew.
    const renewed = await casLogin(browser, ARCHIVES, { renew: 'true' });
    expect(renewed.sawLoginPage).toBe(true);
    const fresh = ticketOf(renewed.landed)!;
    expect(userOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket: fresh, renew: 'true' })).body)).toMatch(/^[\w-]{43}$/);
  });

  it('shares one session with the OIDC apps: OIDC first then CAS with no prompt, and CAS first then OIDC with no prompt', async () => {
    const config = await discover(y.issuer, TAX);
    // OIDC → CAS
    const a = new Browser();
    const req = await authorizationRequest(config, TAX, 'openid profile');
    const loginPage = await a.navigate(req.url, TAX.redirectUri);
    await finish(config, (await submitLogin(a, loginPage, CITIZEN.idNumber, CITIZEN.password, TAX.redirectUri)).url, req);
    const cas = await casLogin(a, ARCHIVES);
    expect(cas.sawLoginPage).toBe(false);
    expect(userOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket: ticketOf(cas.landed)! })).body)).toMatch(/^[\w-]{43}$/);

    // CAS → OIDC
    const b = new Browser();
    expect((await casLogin(b, ARCHIVES)).sawLoginPage).toBe(true);
    const req2 = await authorizationRequest(config, TAX, 'openid profile');
    const connected = await b.navigate(req2.url, TAX.redirectUri);
    expect(connected.url.startsWith(TAX.redirectUri)).toBe(true);
    const tokens = await finish(config, connected.url, req2);
    expect(tokens.claims()!.sub).toMatch(/^[\w-]{43}$/);
  });

  it('hops back to the app through a page after one of our own forms (CSP form-action), with a plain redirect otherwise', async () => {
    // Fetch Metadata as a browser sends it after our login form's POST (its redirects stay same-origin).
    const browser = new Browser({ 'sec-fetch-site': 'same-origin' });
    const loginPage = await browser.navigate(casLoginUrl(ARCHIVES));
    const page = await submitLogin(browser, loginPage, CITIZEN.idNumber, CITIZEN.password);
    expect(page.status).toBe(200);
    expect(page.url.startsWith(`${y.issuer}/cas/callback?`)).toBe(true);
    const target = /<meta http-equiv="refresh" content="0; url=([^"]+)">/.exec(page.html)?.[1]?.replaceAll('&amp;', '&');
    expect(target?.startsWith(`${ARCHIVES}?ticket=ST-`)).toBe(true);
    expect(page.html).toContain(`href="${target!.replaceAll('&', '&amp;')}"`);
    expect(failureOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket: ticketOf(target!)! })).body)).toBeUndefined();
  });

  it('logs out at /cas/logout: ends the SSO session, sends one SAML LogoutRequest per ticket (not followed), back-channel logout to OIDC apps, then back to the service', async () => {
    apps.posts.length = 0;
    const browser = new Browser();
    const config = await discover(y.issuer, TAX);
    const t1 = ticketOf((await casLogin(browser, `${ARCHIVES}one`)).landed)!;
    const t2 = ticketOf((await casLogin(browser, `${ARCHIVES}two`)).landed)!;
    const t3 = ticketOf((await casLogin(browser, `${PERMITS}/x`)).landed)!;
    const req = await authorizationRequest(config, TAX, 'openid');
    await finish(config, (await browser.navigate(req.url, TAX.redirectUri)).url, req);
    const deliveriesBefore = receiver.deliveries.length;

    const confirm = await browser.navigate(`${y.issuer}/cas/logout?service=${encodeURIComponent(`${ARCHIVES}bye`)}`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('档案查询'); // "you are signing out of 档案查询"
    const form = formOf(confirm.html, confirm.url);
    const done = await browser.navigate(form.action, `${ARCHIVES}bye`, { form: { ...form.fields, logout: 'yes' } });
    expect(done.url).toBe(`${ARCHIVES}bye`);

    const byTicket = new Map(apps.posts.map((p) => [/<samlp:SessionIndex>([^<]+)<\/samlp:SessionIndex>/.exec(decodeURIComponent(p.body.slice('logoutRequest='.length)))?.[1], p]));
    expect([...byTicket.keys()].sort()).toEqual([t1, t2, t3].sort());
    expect(byTicket.get(t1)!.path).toBe('/archives/one');
    expect(byTicket.get(t2)!.path).toBe('/archives/two');
    expect(byTicket.get(t3)!.path).toBe('/permits/slo'); // its registered logout_url
    for (const p of apps.posts) {
      expect(p.contentType).toBe('application/x-www-form-urlencoded');
      expect(p.body.startsWith('logoutRequest=')).toBe(true);
      expect(Buffer.byteLength(p.body)).toBeLessThan(1024);
      const xml = decodeURIComponent(p.body.slice('logoutRequest='.length));
      expect(xml).toMatch(/^<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="[\w-]+" Version="2.0" IssueInstant="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"><saml:NameID>@NOT_USED@<\/saml:NameID><samlp:SessionIndex>ST-[A-Za-z0-9]+<\/samlp:SessionIndex><\/samlp:LogoutRequest>$/);
    }
    expect(apps.gets).not.toContain('/followed');
    expect(receiver.deliveries.slice(deliveriesBefore).some((d) => d.path === '/tax/backchannel')).toBe(true);

    const audited = await y.yihao.core.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'cas.logout.delivered' AND actor = $1`, [accountId]);
    expect(audited[0]!.n).toBeGreaterThanOrEqual(3);

    // The session is gone: CAS asks for the password again.
    expect((await casLogin(browser, ARCHIVES)).sawLoginPage).toBe(true);
  });

  it('sends single logout to CAS apps when the session ends at an OIDC app', async () => {
    apps.posts.length = 0;
    const browser = new Browser();
    const config = await discover(y.issuer, TAX);
    const req = await authorizationRequest(config, TAX, 'openid');
    const loginPage = await browser.navigate(req.url, TAX.redirectUri);
    const tokens = await finish(config, (await submitLogin(browser, loginPage, CITIZEN.idNumber, CITIZEN.password, TAX.redirectUri)).url, req);
    const ticket = ticketOf((await casLogin(browser, ARCHIVES)).landed)!;
    expect(failureOf((await validate('/cas/serviceValidate', { service: ARCHIVES, ticket })).body)).toBeUndefined();

    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: TAX.postLogoutUri });
    const confirm = await browser.navigate(end.href);
    const form = formOf(confirm.html, confirm.url);
    await browser.navigate(form.action, TAX.postLogoutUri, { form: { ...form.fields, logout: 'yes' } });
    expect(apps.posts.map((p) => decodeURIComponent(p.body)).filter((b) => b.includes(ticket))).toHaveLength(1);
  });

  it('refuses forged logout tokens at /cas/backchannel-logout', async () => {
    const post = (body: string) => fetch(`${y.issuer}/cas/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect((await post('logout_token=not.a.jwt')).status).toBe(400);
    const unsigned = `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: y.issuer, aud: 'archives-cas', sid: 'x', iat: Math.floor(Date.now() / 1000), jti: 'j', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })).toString('base64url')}.`;
    expect((await post(`logout_token=${unsigned}`)).status).toBe(400);
  });

  it('keeps the internal OIDC client of a CAS service to its own callback', async () => {
    const res = await fetch(`${y.issuer}/auth?${new URLSearchParams({ client_id: 'archives-cas', response_type: 'code', scope: 'openid', redirect_uri: 'https://evil.example/cb', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', state: 's' })}`, { redirect: 'manual' });
    expect(res.headers.get('location') ?? '').not.toContain('evil.example');
    const callback = await fetch(`${y.issuer}/cas/callback?code=abc&state=unknown`, { redirect: 'manual' });
    expect(callback.status).toBe(400);
    expect(callback.headers.get('location')).toBeNull();
  });
});
