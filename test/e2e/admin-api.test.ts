// The admin API as administrators and their scripts use it: real HTTP, tokens issued by yihao itself
// (openid-client's client-credentials grant; a browser login for people), on both storage setups.
// Every response is checked against the schema its route declares.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { startYihao, createCitizen, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, finish, submitLogin, oidc, type RpClient } from '../support/relying-party.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';
import { adminRoutes } from '../../src/admin/routes.ts';
import { changeRole } from '../../src/admin/roles.ts';
import type { ClientAdmin } from '../../src/admin/clients.ts';

const ROUTES = adminRoutes({} as ClientAdmin, () => ({}));
const templateOf = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`);
const idNumber = (first17: string) => first17 + checkCharacter(first17);
const ADMIN = { idNumber: idNumber('11010119800307123'), password: 'admin password for tests' };
const CITIZEN = { idNumber: idNumber('44030419900101002'), password: 'citizen password for tests' };
// openid-client reports a 401 from the token endpoint as a WWW-Authenticate challenge.
const oauthError = (p: Promise<unknown>) => p.then(() => 'no error', (e: { error?: string; cause?: { parameters?: { error?: string } }[] }) => e.error ?? e.cause?.[0]?.parameters?.error);

const BOT: RpClient = { id: 'automation', secret: 'automation-secret-'.padEnd(48, 'x'), redirectUri: 'http://localhost:9/unused', postLogoutUri: 'http://localhost:9/' };
const CONSOLE: RpClient = { id: 'admin-console', secret: 'console-secret-'.padEnd(48, 'y'), redirectUri: 'http://localhost:9/admin/cb', postLogoutUri: 'http://localhost:9/' };

const APPROVAL = { approved_by: '市大数据局 张主任', approved_at: '2025-01-15T09:00:00+08:00', legal_basis: '《个人信息保护法》第十三条第一款第（三）项；社保经办规程' };

describe.each(STORAGES)('admin API on %s storage', (storage) => {
  let y: RunningYihao;
  let token: string;

  async function api(method: string, path: string, opts: { token?: string | null; body?: unknown; raw?: string; type?: string } = {}) {
    const auth = opts.token === null ? undefined : opts.token ?? token;
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const res = await fetch(`${y.issuer}${path}`, {
      method,
      headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body !== undefined ? { 'content-type': opts.type ?? 'application/json' } : {}) },
      body,
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    // The response must be one its route declares, with the declared body.
    const route = ROUTES.find((r) => r.method === method && templateOf(r.path).test(new URL(path, y.issuer).pathname));
    // Every path but the OpenAPI document itself is a declared route.
    if (new URL(path, y.issuer).pathname !== '/admin/api/openapi.json') expect(route, `${method} ${path} is not a declared route`).toBeDefined();
    if (route) {
      const declared = route.responses[res.status];
      expect(declared, `${method} ${path} answered ${res.status} (${text.slice(0, 200)}), which its route does not declare`).toBeDefined();
      if (declared!.schema) {
        const check = declared!.schema.safeParse(json);
        expect(check.success, `${method} ${path} → ${res.status}: ${check.error?.message}`).toBe(true);
      } else expect(text).toBe('');
    }
    expect(res.headers.get('cache-control')).toBe('no-store');
    return { status: res.status, json, headers: res.headers };
  }

  async function clientToken(c: RpClient, scope = 'admin:clients') {
    const config = await discover(y.issuer, c);
    return oidc.clientCredentialsGrant(config, { scope });
  }

  async function userToken(who: { idNumber: string; password: string }) {
    const browser = new Browser();
    const config = await discover(y.issuer, CONSOLE);
    const req = await authorizationRequest(config, CONSOLE, 'openid admin:clients');
    const page = await browser.navigate(req.url, CONSOLE.redirectUri);
    const back = await submitLogin(browser, page, who.idNumber, who.password, CONSOLE.redirectUri);
    return (await finish(config, back.url, req)).access_token;
  }

  const auditRows = (clientId: string) => y.yihao.core.db.query<{ type: string; actor: string; details: Record<string, any> }>(
    'SELECT type, actor, details FROM audit_events WHERE client_id = $1 ORDER BY id', [clientId]);

  beforeAll(async () => {
    y = await startYihao({
      storage,
      clients: [
        { client_id: BOT.id, client_secret: BOT.secret, client_name: '运维自动化', department: '大数据局', grant_types: ['client_credentials'], allowed_scopes: ['admin:clients'] },
        {
          client_id: CONSOLE.id, client_secret: CONSOLE.secret, client_name: '管理控制台', department: '大数据局', first_party: true,
          redirect_uris: [CONSOLE.redirectUri], allowed_scopes: ['openid', 'admin:clients'],
        },
      ],
    });
    const { core } = y.yihao;
    for (const who of [ADMIN, CITIZEN]) {
      await createCitizen(y, { idNumber: who.idNumber, name: who === ADMIN ? '管理员' : '市民', password: who.password });
    }
    await changeRole(core, 'grant', ADMIN.idNumber, 'system_admin', 'test');
    token = (await clientToken(BOT)).access_token;
  });
  afterAll(async () => { await y?.stop(); });

  it('serves an OpenAPI 3.1 document listing exactly the routes the router serves', async () => {
    const doc = (await api('GET', '/admin/api/openapi.json', { token: null })).json;
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    expect(documented).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    // Every documented operation is served (no 404/405), and a method not documented for a path is refused with 405.
    for (const line of documented) {
      const [method, path] = line.split(' ') as [string, string];
      const res = await fetch(`${y.issuer}${path.replace('{client_id}', BOT.id)}`, { method });
      expect([200, 401], line).toContain(res.status);
    }
    for (const path of Object.keys(doc.paths)) {
      const res = await fetch(`${y.issuer}${path.replace('{client_id}', BOT.id)}`, { method: 'PUT' });
      expect(res.status, `PUT ${path}`).toBe(405);
      expect(res.headers.get('allow')!.split(', ').sort()).toEqual(Object.keys(doc.paths[path]).map((m) => m.toUpperCase()).sort());
    }
    expect((await fetch(`${y.issuer}/admin/api/nothing-here`)).status).toBe(404);
    // Components are referenced, and each reference resolves.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) expect(doc.components.schemas).toHaveProperty(ref);
    expect(doc.components.securitySchemes.yihao.flows.clientCredentials.scopes).toHaveProperty('admin:clients');
  });

  it('answers 401 with a Bearer challenge without a valid token, and 403 insufficient_scope without the scope', async () => {
    const none = await api('GET', '/admin/api/clients', { token: null });
    expect(none.status).toBe(401);
    expect(none.json.error).toBe('invalid_token');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    const bogus = await api('GET', '/admin/api/clients', { token: 'not-a-token' });
    expect(bogus.status).toBe(401);
    expect(bogus.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const noScope = await clientToken(BOT, '');
    const res = await api('GET', '/admin/api/clients', { token: noScope.access_token });
    expect(res.status).toBe(403);
    expect(res.json.error).toBe('insufficient_scope');
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", scope="admin:clients"/);
  });

  it('creates, lists, reads, changes, disables, enables and deletes a client, auditing each change without the secret', async () => {
    const body = {
      client_id: 'tax-portal', client_name: '税务服务', department: '税务局', owner: '税务局信息中心 李工', contacts: ['it@tax.example.gov.cn'],
      redirect_uris: ['http://localhost:4100/cb'], allowed_scopes: ['openid', 'profile'], access_token_ttl: 300, min_acr: 'urn:yihao:loa:1',
    };
    const created = await api('POST', '/admin/api/clients', { body });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/admin/api/clients/tax-portal');
    expect(created.json).toMatchObject({ client_id: 'tax-portal', status: 'enabled', source: 'api', has_secret: true, subject_type: 'pairwise', owner: body.owner });
    const secret = created.json.client_secret as string;
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect((await api('POST', '/admin/api/clients', { body })).status).toBe(409);

    const got = await api('GET', '/admin/api/clients/tax-portal');
    expect(got.json).toMatchObject({ client_name: '税务服务', allowed_scopes: ['openid', 'profile'], access_token_ttl: 300, id_number_approval: null });
    expect(JSON.stringify(got.json)).not.toContain(secret);
    expect((await api('GET', '/admin/api/clients/nobody')).status).toBe(404);

    const patched = await api('PATCH', '/admin/api/clients/tax-portal', { body: { client_name: '电子税务局', owner: null, post_logout_redirect_uris: ['http://localhost:4100/'] }, type: 'application/merge-patch+json' });
    expect(patched.status).toBe(200);
    expect(patched.json.client_name).toBe('电子税务局');
    expect(patched.json).not.toHaveProperty('owner');
    expect(patched.json).not.toHaveProperty('client_secret');
    expect(patched.json.redirect_uris).toEqual(body.redirect_uris);

    expect((await api('POST', '/admin/api/clients/tax-portal/disable')).json.status).toBe('disabled');
    expect((await api('POST', '/admin/api/clients/tax-portal/enable')).json.status).toBe('enabled');
    expect((await api('DELETE', '/admin/api/clients/tax-portal')).status).toBe(204);
    expect((await api('GET', '/admin/api/clients/tax-portal')).status).toBe(404);
    const reuse = await api('POST', '/admin/api/clients', { body });
    expect(reuse.status).toBe(409);
    expect(reuse.json.error_description).toContain('never reused');

    const audit = await auditRows('tax-portal');
    expect(audit.map((a) => a.type)).toEqual(['client.created', 'client.updated', 'client.disabled', 'client.enabled', 'client.deleted']);
    expect(audit.every((a) => a.actor === 'client:automation')).toBe(true);
    expect(audit[0]!.details.changes.client_secret).toEqual({ before: undefined, after: '[secret]' });
    expect(audit[1]!.details.changes.client_name).toEqual({ before: '税务服务', after: '电子税务局' });
    expect(audit[1]!.details.changes.owner).toEqual({ before: body.owner });
    expect(audit[2]!.details.changes.disabled).toEqual({ before: false, after: true });
    expect(audit[1]!.details.admin).toEqual({ kind: 'client', clientId: 'automation' });
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('lists by department, a page at a time', async () => {
    for (const [id, dept] of [['civil-a', '民政局'], ['civil-b', '民政局'], ['civil-c', '民政局'], ['health-a', '卫健委']] as const) {
      const res = await api('POST', '/admin/api/clients', { body: { client_id: id, client_name: id, department: dept, redirect_uris: [`http://localhost:4200/${id}`] } });
      expect(res.status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { json: { clients: { client_id: string; department: string }[]; next_cursor: string | null } } =
        await api('GET', `/admin/api/clients?department=${encodeURIComponent('民政局')}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.json.clients.length).toBeLessThanOrEqual(2);
      expect(page.json.clients.every((c) => c.department === '民政局')).toBe(true);
      seen.push(...page.json.clients.map((c) => c.client_id));
      cursor = page.json.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['civil-a', 'civil-b', 'civil-c']);
    const bad = await api('GET', '/admin/api/clients?limit=0&colour=blue');
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['colour', 'limit']);
  });

  it('returns every field error at once, and writes nothing', async () => {
    const shape = await api('POST', '/admin/api/clients', { body: {
      client_id: 'Bad Id', client_secret: 'mine', redirect_uris: [], allowed_scopes: ['openid', 'everything'], access_token_ttl: 5, contacts: ['nobody'], colour: 'red',
    } });
    expect(shape.status).toBe(400);
    expect(shape.json.error).toBe('invalid_client_metadata');
    expect(shape.json.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining([
      'client_id', 'client_name', 'department', 'redirect_uris', 'allowed_scopes.1', 'access_token_ttl', 'contacts.0', 'colour', 'client_secret',
    ]));
    const rules = await api('POST', '/admin/api/clients', { body: {
      client_id: 'rules', client_name: '规则', department: '测试', redirect_uris: ['http://intranet.gov/cb', 'https://a.example/cb#x'],
      allowed_scopes: ['openid', 'id_number'], allowed_claims: ['phone_number'], grant_types: ['authorization_code', 'client_credentials'], refresh_token_ttl: 3600,
    } });
    expect(rules.status).toBe(400);
    expect(rules.json.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'allowed_claims.0', 'grant_types', 'id_number_approval', 'redirect_uris.0', 'redirect_uris.1', 'refresh_token_ttl',
    ]);
    const nul = await api('POST', '/admin/api/clients', { body: { client_id: 'nul', client_name: 'a\u0000b', department: 'x', redirect_uris: ['http://localhost:1/cb'] } });
    expect(nul.json.errors).toEqual([{ field: 'client_name', message: 'must not contain U+0000' }]);
    const notJson = await api('POST', '/admin/api/clients', { raw: '{ "client_id": ' });
    expect(notJson.status).toBe(400);
    expect((await api('POST', '/admin/api/clients', { raw: 'client_id=x', type: 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect(await y.yihao.core.db.query("SELECT 1 FROM clients WHERE client_id IN ('rules', 'bad id')")).toHaveLength(0);
  });

  it('requires an approval record to release id_number, and shows it', async () => {
    const body = { client_id: 'social-insurance', client_name: '社保', department: '人社局', redirect_uris: ['http://localhost:4300/cb'], allowed_scopes: ['openid', 'id_number'] };
    const refused = await api('POST', '/admin/api/clients', { body });
    expect(refused.json.errors).toEqual([expect.objectContaining({ field: 'id_number_approval' })]);
    const created = await api('POST', '/admin/api/clients', { body: { ...body, id_number_approval: APPROVAL } });
    expect(created.status).toBe(201);
    expect(created.json.id_number_approval).toMatchObject({ approved_by: APPROVAL.approved_by, approved_at: '2025-01-15T01:00:00Z', legal_basis: APPROVAL.legal_basis, recorded_by: 'client:automation' });
    // The approval stays with the client: later changes need not repeat it; taking id_number away revokes it.
    expect((await api('PATCH', '/admin/api/clients/social-insurance', { body: { client_name: '社会保险' } })).json.id_number_approval).not.toBeNull();
    expect((await api('PATCH', '/admin/api/clients/social-insurance', { body: { allowed_scopes: ['openid'] } })).json.id_number_approval).toBeNull();
    const again = await api('PATCH', '/admin/api/clients/social-insurance', { body: { allowed_scopes: ['openid', 'id_number'] } });
    expect(again.json.errors).toEqual([expect.objectContaining({ field: 'id_number_approval' })]);
    const audit = await auditRows('social-insurance');
    expect(audit[0]!.details.id_number_approval).toMatchObject({ approved_by: APPROVAL.approved_by });
  });

  it('rotates a secret: the new one works at once, the old one during the grace period only', async () => {
    const created = await api('POST', '/admin/api/clients', { body: {
      client_id: 'rotating-bot', client_name: '轮换', department: '大数据局', grant_types: ['client_credentials'], allowed_scopes: ['admin:clients'], access_token_ttl: 90,
    } });
    const old: RpClient = { ...BOT, id: 'rotating-bot', secret: created.json.client_secret };
    const first = await clientToken(old);
    expect(first.expires_in).toBe(90); // the client's own access_token_ttl
    const rotated = await api('POST', '/admin/api/clients/rotating-bot/secret', { body: { grace_seconds: 2 } });
    expect(rotated.status).toBe(200);
    expect(rotated.json.client_secret).not.toBe(old.secret);
    expect(Date.parse(rotated.json.previous_secret_expires_at)).toBeGreaterThan(Date.now() - 1000);
    const fresh: RpClient = { ...old, secret: rotated.json.client_secret };
    expect((await clientToken(fresh)).access_token).toBeTypeOf('string');
    expect((await clientToken(old)).access_token).toBeTypeOf('string'); // still in grace
    expect((await api('GET', '/admin/api/clients/rotating-bot')).json.previous_secret_expires_at).toBe(rotated.json.previous_secret_expires_at);
    await vi.waitFor(async () => expect(await oauthError(clientToken(old))).toBe('invalid_client'), { timeout: 8000, interval: 200 });
    expect((await clientToken(fresh)).access_token).toBeTypeOf('string');
    expect((await api('POST', '/admin/api/clients/rotating-bot/secret', { body: { grace_seconds: -1 } })).json.errors[0].field).toBe('grace_seconds');
    // (token.issued events for the client's own token requests sit in the same trail.)
    const audit = (await auditRows('rotating-bot')).filter((row) => !String(row.type).startsWith('token.'));
    expect(audit.at(-1)).toMatchObject({ type: 'client.secret_rotated', details: { grace_seconds: 2, changes: { client_secret: { before: '[secret]', after: '[secret]' } } } });
    expect(JSON.stringify(audit)).not.toContain(fresh.secret);
    expect(JSON.stringify(audit)).not.toContain(old.secret);
    // At rest the secret is sealed (src/clients/secret-seal.ts); the previous one is kept only as its SHA-256.
    const [stored] = await y.yihao.core.db.query<{ secret: string; row: string }>(
      `SELECT metadata->>'client_secret' AS secret, (SELECT string_agg(c::text, ' ') FROM clients c WHERE client_id = 'rotating-bot') AS row FROM clients WHERE client_id = 'rotating-bot'`);
    expect(stored!.secret).toMatch(/^sealed:/);
    expect(stored!.row).not.toContain(fresh.secret);
    expect(stored!.row).not.toContain(old.secret);
  });

  it('refuses tokens to a disabled client and stops a deleted client’s tokens', async () => {
    const created = await api('POST', '/admin/api/clients', { body: {
      client_id: 'ops-bot', client_name: '值班机器人', department: '大数据局', grant_types: ['client_credentials'], allowed_scopes: ['admin:clients'],
    } });
    const bot: RpClient = { ...BOT, id: 'ops-bot', secret: created.json.client_secret };
    const opsToken = (await clientToken(bot)).access_token;
    expect((await api('GET', '/admin/api/clients/ops-bot', { token: opsToken })).status).toBe(200);

    await api('POST', '/admin/api/clients/ops-bot/disable');
    expect(await oauthError(clientToken(bot))).toBe('invalid_client');
    expect((await api('GET', '/admin/api/clients', { token: opsToken })).status).toBe(401);
    await api('POST', '/admin/api/clients/ops-bot/enable');
    expect((await api('GET', '/admin/api/clients', { token: opsToken })).status).toBe(200);

    await api('DELETE', '/admin/api/clients/ops-bot');
    const after = await api('GET', '/admin/api/clients', { token: opsToken });
    expect(after.status).toBe(401);
    expect(after.json.error_description).toContain('no longer registered');
    expect(await oauthError(clientToken(bot))).toBe('invalid_client');
  });

  it('lets a system_admin in through a browser login, refuses a citizen with 403, and follows a revoked role at once', async () => {
    const adminToken = await userToken(ADMIN);
    const res = await api('POST', '/admin/api/clients', { token: adminToken, body: { client_id: 'by-a-person', client_name: '人工登记', department: '民政局', redirect_uris: ['http://localhost:4400/cb'] } });
    expect(res.status).toBe(201);
    const account = await y.yihao.core.accounts.findByIndex(y.yihao.core.accounts.indexOf(ADMIN.idNumber));
    const [event] = await auditRows('by-a-person');
    expect(event).toMatchObject({ type: 'client.created', actor: account!.id, details: { admin: { kind: 'account', accountId: account!.id, clientId: CONSOLE.id } } });

    const citizen = await api('GET', '/admin/api/clients', { token: await userToken(CITIZEN) });
    expect(citizen.status).toBe(403);
    expect(citizen.json.error).toBe('insufficient_scope');

    await changeRole(y.yihao.core, 'revoke', ADMIN.idNumber, 'system_admin', 'test');
    expect((await api('GET', '/admin/api/clients', { token: adminToken })).status).toBe(403);
    await changeRole(y.yihao.core, 'grant', ADMIN.idNumber, 'system_admin', 'test');
    expect((await api('GET', '/admin/api/clients', { token: adminToken })).status).toBe(200);
  });

  it('enforces a client’s minimum acr: a level no sign-in reaches fails with unmet_authentication_requirements', async () => {
    const app: RpClient = { id: 'high-assurance', redirectUri: 'http://localhost:4500/cb', postLogoutUri: 'http://localhost:4500/' };
    const created = await api('POST', '/admin/api/clients', { body: {
      client_id: app.id, client_name: '高等级', department: '公安局', redirect_uris: [app.redirectUri], min_acr: 'urn:yihao:loa:2',
    } });
    app.secret = created.json.client_secret;
    const config = await discover(y.issuer, app);
    const req = await authorizationRequest(config, app, 'openid');
    const res = await new Browser().navigate(req.url, app.redirectUri);
    const back = new URL(res.url);
    expect(back.origin + back.pathname).toBe(app.redirectUri);
    expect(back.searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(back.searchParams.get('error_description')).toContain('urn:yihao:loa:2');
  });

  it('releases only a client’s allowed_claims, whatever its scopes would release', async () => {
    const app: RpClient = { id: 'limited', redirectUri: 'http://localhost:4600/cb', postLogoutUri: 'http://localhost:4600/' };
    const created = await api('POST', '/admin/api/clients', { body: {
      client_id: app.id, client_name: '有限', department: '民政局', first_party: true, redirect_uris: [app.redirectUri],
      allowed_scopes: ['openid', 'profile', 'phone'], allowed_claims: ['name'],
    } });
    app.secret = created.json.client_secret;
    const config = await discover(y.issuer, app);
    const browser = new Browser();
    const req = await authorizationRequest(config, app, 'openid profile phone');
    const page = await browser.navigate(req.url, app.redirectUri);
    const tokens = await finish(config, (await submitLogin(browser, page, CITIZEN.idNumber, CITIZEN.password, app.redirectUri)).url, req);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    expect(info.name).toBe('市民');
    expect(info).not.toHaveProperty('birthdate');
    expect(info).not.toHaveProperty('gender');
  });
});
