// Dynamic registration as a department does it (RFC 7591 with plain fetch, RFC 7592 with the registration
// access token) and as administrators govern it (initial access tokens through the admin API), over real
// HTTP on both storage setups; a self-registered app then signs a citizen in with openid-client.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startYihao, createCitizen, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf } from '../support/browser.ts';
import { discover, authorizationRequest, finish, submitLogin, oidc, type RpClient } from '../support/relying-party.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';
import { adminRoutes } from '../../src/admin/routes.ts';
import type { ClientAdmin } from '../../src/admin/clients.ts';

const ROUTES = adminRoutes({} as ClientAdmin, () => ({}));
const templateOf = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`);
const idNumber = (first17: string) => first17 + checkCharacter(first17);
const CITIZEN = { idNumber: idNumber('32010219850612345'), password: 'citizen password for tests' };
const BOT: RpClient = { id: 'automation', secret: 'automation-secret-'.padEnd(48, 'x'), redirectUri: 'http://localhost:9/unused', postLogoutUri: 'http://localhost:9/' };
const TAX = '税务局';

type Json = Record<string, any>;

describe.each(STORAGES)('dynamic registration on %s storage', (storage) => {
  let y: RunningYihao;
  let adminToken: string;

  /** The admin API, every response checked against the schema its route declares. */
  async function admin(method: string, path: string, body?: unknown) {
    const res = await fetch(`${y.issuer}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    const route = ROUTES.find((r) => r.method === method && templateOf(r.path).test(new URL(path, y.issuer).pathname));
    expect(route, `${method} ${path} is a declared route`).toBeDefined();
    const declared = route!.responses[res.status];
    expect(declared, `${method} ${path} answered ${res.status} (${text.slice(0, 300)}), which its route does not declare`).toBeDefined();
    if (declared!.schema) {
      const check = declared!.schema.safeParse(json);
      expect(check.success, `${method} ${path} → ${res.status}: ${check.error?.message}`).toBe(true);
    }
    return { status: res.status, json, headers: res.headers };
  }

  /** The registration endpoint as a department's script calls it: plain fetch, JSON, a bearer token. */
  async function reg(method: string, url: string, opts: { token?: string; body?: unknown; raw?: string } = {}) {
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const res = await fetch(url.startsWith('http') ? url : `${y.issuer}${url}`, {
      method,
      headers: { accept: 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body,
    });
    const text = await res.text();
    expect(res.status, `${method} ${url}: ${text.slice(0, 300)}`).toBeLessThan(500);
    if (res.status !== 204) expect(res.headers.get('cache-control')).toContain('no-store');
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Json, headers: res.headers };
  }

  async function issue(overrides: Json = {}) {
    const res = await admin('POST', '/admin/api/initial-access-tokens', {
      department: TAX, allowed_scopes: ['openid', 'profile'], redirect_host_allowlist: ['localhost'], expires_in: 3600, ...overrides,
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    return res.json as Json & { id: string; token: string };
  }

  const app = (name: string, port: number, extra: Json = {}) => ({
    client_name: name, redirect_uris: [`http://localhost:${port}/callback`], post_logout_redirect_uris: [`http://localhost:${port}/`], scope: 'openid profile', ...extra,
  });

  const audit = (where: string, params: unknown[]) => y.yihao.core.db.query<{ type: string; actor: string; client_id: string | null; outcome: string; details: Json }>(
    `SELECT type, actor, client_id, outcome, details FROM audit_events WHERE ${where} ORDER BY id`, params);

  beforeAll(async () => {
    y = await startYihao({
      storage,
      clients: [{ client_id: BOT.id, client_secret: BOT.secret, client_name: '运维自动化', department: '大数据局', grant_types: ['client_credentials'], allowed_scopes: ['admin:clients'] }],
    });
    await createCitizen(y, { idNumber: CITIZEN.idNumber, name: '王五', password: CITIZEN.password });
    adminToken = (await oidc.clientCredentialsGrant(await discover(y.issuer, BOT), { scope: 'admin:clients' })).access_token;
  });
  afterAll(async () => { await y?.stop(); });

  it('announces the registration endpoint and documents the token routes in the admin OpenAPI document', async () => {
    const discovery = await (await fetch(`${y.issuer}/.well-known/openid-configuration`)).json() as Json;
    expect(discovery.registration_endpoint).toBe(`${y.issuer}/reg`);
    const doc = await (await fetch(`${y.issuer}/admin/api/openapi.json`)).json() as Json;
    expect(Object.keys(doc.paths['/admin/api/initial-access-tokens']).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/admin/api/initial-access-tokens/{token_id}']).sort()).toEqual(['delete', 'get']);
    expect(doc.components.schemas).toHaveProperty('InitialAccessTokenIssue');
  });

  it('issues an initial access token per department: the value shown once, listed without it, audited', async () => {
    const issued = await issue({ description: '税务局测试应用', max_registrations: 10 });
    expect(issued).toMatchObject({
      department: TAX, allowed_scopes: ['openid', 'profile'], redirect_host_allowlist: ['localhost'], status: 'active', registrations: 0,
      max_registrations: 10, created_by: 'client:automation', registration_endpoint: `${y.issuer}/reg`,
    });
    expect(issued.token).toMatch(/^yihao_iat_[\w-]{43}$/);
    expect(Date.parse(issued.expires_at) - Date.now()).toBeGreaterThan(3500_000);

    const list = await admin('GET', `/admin/api/initial-access-tokens?department=${encodeURIComponent(TAX)}`);
    expect(list.json.initial_access_tokens.map((t: Json) => t.id)).toContain(issued.id);
    expect(JSON.stringify(list.json)).not.toContain(issued.token);
    expect((await admin('GET', `/admin/api/initial-access-tokens/${issued.id}`)).json).not.toHaveProperty('token');
    expect((await admin('GET', '/admin/api/initial-access-tokens/iat-nothing')).status).toBe(404);
    // Only the hash is at rest.
    const rows = await y.yihao.core.db.query('SELECT * FROM initial_access_tokens');
    expect(JSON.stringify(rows)).not.toContain(issued.token);

    const [event] = await audit(`type = 'initial_access_token.issued' AND details->>'initial_access_token' = $1`, [issued.id]);
    expect(event).toMatchObject({ actor: 'client:automation', outcome: 'success', details: { department: TAX, redirect_host_allowlist: ['localhost'] } });
    expect(JSON.stringify(event)).not.toContain(issued.token);
  });

  it('refuses a token policy it cannot enforce, with every field error', async () => {
    const res = await admin('POST', '/admin/api/initial-access-tokens', {
      department: '', allowed_scopes: ['openid', 'id_number'], redirect_host_allowlist: ['https://tax.example/cb', 'localhost:8080', '*.com.'],
      expires_in: 31 * 24 * 3600, max_registrations: 0, colour: 'red',
    });
    expect(res.status).toBe(400);
    const fields = res.json.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(expect.arrayContaining(['allowed_scopes.1', 'colour', 'department', 'expires_in', 'max_registrations', 'redirect_host_allowlist.0', 'redirect_host_allowlist.1']));
    expect(res.json.errors.find((e: Json) => e.field === 'allowed_scopes.1').message).toContain('never granted through self-registration');
    const missingOpenid = await admin('POST', '/admin/api/initial-access-tokens', { department: TAX, allowed_scopes: ['profile'], redirect_host_allowlist: ['localhost'], expires_in: 60 });
    expect(missingOpenid.json.errors).toEqual([{ field: 'allowed_scopes', message: 'must include openid' }]);
  });

  it('lets a department register an app with the token, and a citizen sign in to it through a consent page', async () => {
    const { id: tokenId, token } = await issue();
    const created = await reg('POST', '/reg', {
      token,
      // What the token's policy decides is forced, whatever the request says; metadata we do not use is ignored (RFC 7591 §2).
      body: app('税务测试应用', 4701, { first_party: true, department: '公安局', subject_type: 'public', software_id: 'tax-test', contacts: ['dev@tax.example.gov.cn'] }),
    });
    expect(created.status).toBe(201);
    const c = created.json;
    expect(c.client_id).toMatch(/^dyn-[0-9a-f]{32}$/);
    expect(c).toMatchObject({
      client_name: '税务测试应用', department: TAX, first_party: false, subject_type: 'pairwise', scope: 'openid profile',
      registration_client_uri: `${y.issuer}/reg/${c.client_id}`, client_secret_expires_at: 0, token_endpoint_auth_method: 'client_secret_basic',
    });
    expect(c.client_secret.length).toBeGreaterThanOrEqual(43);
    expect(c.registration_access_token).toBeTypeOf('string');
    expect(c.client_id_issued_at).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(c).not.toHaveProperty('software_id');

    // A standard relying party with the new registration: login, then the consent page (not first-party), then the code.
    const rp: RpClient = { id: c.client_id, secret: c.client_secret, redirectUri: c.redirect_uris[0], postLogoutUri: c.post_logout_redirect_uris[0] };
    const config = await discover(y.issuer, rp);
    const browser = new Browser();
    const req = await authorizationRequest(config, rp, 'openid profile');
    const login = await browser.navigate(req.url, rp.redirectUri);
    expect(login.html).toContain('name="password"');
    const consent = await submitLogin(browser, login, CITIZEN.idNumber, CITIZEN.password, rp.redirectUri);
    expect(consent.status).toBe(200);
    expect(consent.html).toContain('税务测试应用');
    const allow = formOf(consent.html, consent.url, 0);
    const back = await browser.navigate(allow.action, rp.redirectUri, { form: allow.fields });
    expect(back.url.startsWith(rp.redirectUri)).toBe(true);
    const tokens = await finish(config, back.url, req);
    const claims = tokens.claims()!;
    expect(claims.aud).toBe(c.client_id);
    const account = await y.yihao.core.accounts.findByIndex(y.yihao.core.accounts.indexOf(CITIZEN.idNumber));
    expect(claims.sub).not.toBe(account!.id); // pairwise
    expect((await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)).name).toBe('王五');

    // The registry holds it like any client: source dynamic, in its department, with its token recorded.
    const listed = await admin('GET', `/admin/api/clients?department=${encodeURIComponent(TAX)}`);
    expect(listed.json.clients.find((x: Json) => x.client_id === c.client_id)).toMatchObject({ source: 'dynamic', status: 'enabled', first_party: false, has_secret: true });
    const tokenView = (await admin('GET', `/admin/api/initial-access-tokens/${tokenId}`)).json;
    expect(tokenView).toMatchObject({ registrations: 1, client_ids: [c.client_id] });
    const [created_] = await audit('client_id = $1', [c.client_id]);
    expect(created_).toMatchObject({ type: 'client.created', actor: `iat:${tokenId}`, details: { via: 'dynamic-registration', initial_access_token: tokenId, department: TAX } });
    expect(created_!.details.changes.client_secret).toEqual({ after: '[secret]' });
    expect(JSON.stringify(created_)).not.toContain(c.client_secret);
    const stored = await y.yihao.core.db.query<{ payload: unknown }>('SELECT payload FROM registration_access_tokens');
    expect(JSON.stringify(stored)).not.toContain(c.registration_access_token);
  });

  it('reads, updates (rotating the registration access token) and deletes a registration (RFC 7592)', async () => {
    const { id: tokenId, token } = await issue();
    const c = (await reg('POST', '/reg', { token, body: app('待改应用', 4702) })).json;
    const uri = c.registration_client_uri as string;

    const read = await reg('GET', uri, { token: c.registration_access_token });
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ client_id: c.client_id, client_secret: c.client_secret, client_secret_expires_at: 0, registration_access_token: c.registration_access_token, department: TAX });
    expect((await reg('GET', uri, { token: 'not-a-token' })).json.error).toBe('invalid_token');
    expect((await reg('GET', uri, { token })).status).toBe(401); // the initial access token is not this client's

    // PUT replaces the registration (RFC 7592 §2.2): what is left out goes.
    const { registration_access_token: oldRat, registration_client_uri: _u, client_secret_expires_at: _e, client_id_issued_at: _i, ...current } = read.json;
    const updated = await reg('PUT', uri, { token: oldRat, body: { ...current, client_name: '已改应用', post_logout_redirect_uris: undefined, first_party: true } });
    expect(updated.status, JSON.stringify(updated.json)).toBe(200);
    expect(updated.json).toMatchObject({ client_name: '已改应用', first_party: false, client_secret: c.client_secret });
    expect(updated.json.post_logout_redirect_uris).toEqual([]);
    const rat = updated.json.registration_access_token as string;
    expect(rat).not.toBe(oldRat);
    expect((await reg('GET', uri, { token: oldRat })).status).toBe(401);
    expect((await admin('GET', `/admin/api/clients/${c.client_id}`)).json.client_name).toBe('已改应用');
    // At rest the secret is sealed (src/clients/secret-seal.ts); served, as in the read and the reply above, it is the one issued.
    const [row] = await y.yihao.core.db.query<{ secret: string; metadata: string }>(
      `SELECT metadata->>'client_secret' AS secret, metadata::text AS metadata FROM clients WHERE client_id = $1`, [c.client_id]);
    expect(row!.secret).toMatch(/^sealed:/);
    expect(row!.metadata).not.toContain(c.client_secret);

    // The token's policy still holds for updates; a refused update changes nothing and keeps the access token.
    const outside = await reg('PUT', uri, { token: rat, body: { ...current, redirect_uris: ['http://localhost:4702/callback', 'https://evil.example/cb'] } });
    expect(outside.status).toBe(400);
    expect(outside.json.error).toBe('invalid_redirect_uri');
    expect(outside.json.error_description).toContain('redirect_uris.1: host evil.example');
    const idNumber_ = await reg('PUT', uri, { token: rat, body: { ...current, scope: 'openid id_number' } });
    expect(idNumber_.json).toMatchObject({ error: 'invalid_client_metadata' });
    expect(idNumber_.json.error_description).toContain('id_number is never granted through self-registration');
    expect((await reg('GET', uri, { token: rat })).json.client_name).toBe('已改应用');

    expect((await reg('DELETE', uri, { token: rat })).status).toBe(204);
    expect((await reg('GET', uri, { token: rat })).status).toBe(401);
    expect((await admin('GET', `/admin/api/clients/${c.client_id}`)).status).toBe(404);
    // The secret no longer authenticates anything.
    const tokenRes = await fetch(`${y.issuer}/token`, {
      method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2Flocalhost%3A4702%2Fcallback&code_verifier=' + 'v'.repeat(43),
    });
    expect(tokenRes.status).toBe(401);
    expect(((await tokenRes.json()) as Json).error).toBe('invalid_client');

    const events = await audit('client_id = $1 AND outcome = $2', [c.client_id, 'success']);
    expect(events.map((e) => e.type)).toEqual(['client.created', 'client.updated', 'client.deleted']);
    expect(events.every((e) => e.actor === `iat:${tokenId}`)).toBe(true);
    expect(events[1]!.details.changes.client_name).toEqual({ before: '待改应用', after: '已改应用' });
    expect(events[1]!.details.changes.client_secret).toBeUndefined(); // the same secret, sealed or not
  });

  it('refuses registrations outside the token’s policy with RFC 7591 errors, and audits them', async () => {
    const { id: tokenId, token } = await issue();
    const missing = await reg('POST', '/reg', { body: app('无令牌', 4703) });
    expect(missing.status).toBe(401);
    expect(missing.json.error).toBe('invalid_token');
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await reg('POST', '/reg', { token: 'yihao_iat_guessed', body: app('猜的', 4703) })).json.error).toBe('invalid_token');

    const host = await reg('POST', '/reg', { token, body: app('外部回调', 4703, { redirect_uris: ['https://evil.example/cb'] }) });
    expect(host.status).toBe(400);
    expect(host.json).toMatchObject({ error: 'invalid_redirect_uri' });
    expect(host.json.error_description).toBe("redirect_uris.0: host evil.example is not in this initial access token's allow-list (localhost)");

    const idNumber_ = await reg('POST', '/reg', { token, body: app('要身份证号', 4703, { scope: 'openid profile id_number' }) });
    expect(idNumber_.status).toBe(400);
    expect(idNumber_.json.error).toBe('invalid_client_metadata');
    expect(idNumber_.json.error_description).toContain('scope: id_number is never granted through self-registration');
    const phone = await reg('POST', '/reg', { token, body: app('要手机号', 4703, { scope: 'openid phone' }) });
    expect(phone.json.error_description).toContain('scope: phone is not allowed by this initial access token (allowed: openid profile)');

    // Every problem at once, in one description; a redirect problem among others is invalid_client_metadata.
    const many = await reg('POST', '/reg', { token, body: {
      redirect_uris: ['http://localhost:4703/cb#frag', 'https://evil.example/cb'], backchannel_logout_uri: 'https://other.example/bc',
      grant_types: ['authorization_code', 'client_credentials'], token_endpoint_auth_method: 'client_secret_jwt',
    } });
    expect(many.status).toBe(400);
    expect(many.json.error).toBe('invalid_client_metadata');
    for (const part of ['client_name: is required', 'redirect_uris.1: host evil.example', 'backchannel_logout_uri: host other.example', 'token_endpoint_auth_method: ']) {
      expect(many.json.error_description).toContain(part);
    }
    const fragment = await reg('POST', '/reg', { token, body: app('片段', 4703, { redirect_uris: ['http://localhost:4703/cb#frag'] }) });
    expect(fragment.json).toMatchObject({ error: 'invalid_redirect_uri', error_description: 'redirect_uris.0: must not contain a fragment (#)' });
    const plainHttp = await reg('POST', '/reg', { token, body: app('明文', 4703, { client_uri: 'http://localhost:4703/' , logo_uri: 'ftp://localhost/logo.png' }) });
    expect(plainHttp.json.error_description).toContain('logo_uri: must use https');
    // Whatever the shape of the request, a 400 that names the field, never a server error.
    for (const odd of [
      { client_name: 'a\u0000b' }, { redirect_uris: 'http://localhost:4703/cb' }, { redirect_uris: [42] }, { scope: 7 }, { contacts: [{}] },
      { grant_types: 'authorization_code' }, { access_token_ttl: 'long' }, { client_name: 'x'.repeat(5000) }, { jwks: { keys: 'none' } },
      { backchannel_logout_session_required: 'yes' }, { token_endpoint_auth_method: 'none', client_secret: 'mine' }, { logo_uri: 'javascript:alert(1)' },
    ]) {
      const res = await reg('POST', '/reg', { token, body: app('怪', 4703, odd) });
      // Ignored rather than refused: inline jwks (we do not use it), and a secret offered by a public client (the server issues secrets).
      const accepted = 'jwks' in odd || odd.token_endpoint_auth_method === 'none';
      expect(res.status, JSON.stringify(odd)).toBe(accepted ? 201 : 400);
      if (odd.token_endpoint_auth_method === 'none') expect(res.json).not.toHaveProperty('client_secret');
      if (!accepted) expect(res.json.error_description, JSON.stringify(odd)).toBeTypeOf('string');
    }
    const notJson = await reg('POST', '/reg', { token, raw: '{"client_name": ' });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toBe('invalid_request');
    const notObject = await reg('POST', '/reg', { token, body: ['client_name'] });
    expect(notObject.json.error).toBe('invalid_request');

    const refused = await audit(`type = 'client.registration_refused' AND actor = $1`, [`iat:${tokenId}`]);
    expect(refused.length).toBeGreaterThanOrEqual(4);
    expect(refused[0]).toMatchObject({ outcome: 'failure', details: { errors: [{ field: 'redirect_uris.0' }] } });
    expect((await admin('GET', `/admin/api/initial-access-tokens/${tokenId}`)).json.registrations).toBe(2); // the two accepted above
  });

  it('refuses expired, revoked and used-up tokens with invalid_token, saying which', async () => {
    const expired = await issue({ expires_in: 60 });
    await y.yihao.core.db.query("UPDATE initial_access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [expired.id]);
    const e = await reg('POST', '/reg', { token: expired.token, body: app('过期', 4704) });
    expect(e.status).toBe(401);
    expect(e.json).toMatchObject({ error: 'invalid_token' });
    expect(e.json.error_description).toContain('expired');
    expect((await admin('GET', `/admin/api/initial-access-tokens/${expired.id}`)).json.status).toBe('expired');

    const revoked = await issue();
    expect((await admin('DELETE', `/admin/api/initial-access-tokens/${revoked.id}`)).status).toBe(204);
    expect((await admin('DELETE', `/admin/api/initial-access-tokens/${revoked.id}`)).status).toBe(204); // idempotent
    expect((await admin('DELETE', '/admin/api/initial-access-tokens/iat-nothing')).status).toBe(404);
    const r = await reg('POST', '/reg', { token: revoked.token, body: app('已撤销', 4704) });
    expect(r.status).toBe(401);
    expect(r.json.error_description).toBe(`initial access token ${revoked.id} was revoked`);
    expect((await admin('GET', `/admin/api/initial-access-tokens?status=revoked`)).json.initial_access_tokens.map((t: Json) => t.id)).toContain(revoked.id);
    const revocations = await audit(`type = 'initial_access_token.revoked' AND details->>'initial_access_token' = $1`, [revoked.id]);
    expect(revocations).toHaveLength(1);
    expect(revocations[0]!.actor).toBe('client:automation');

    const once = await issue({ max_registrations: 1 });
    expect((await reg('POST', '/reg', { token: once.token, body: app('第一个', 4704) })).status).toBe(201);
    const second = await reg('POST', '/reg', { token: once.token, body: app('第二个', 4704) });
    expect(second.status).toBe(401);
    expect(second.json.error_description).toContain('used for all 1 registrations');
    expect((await admin('GET', `/admin/api/initial-access-tokens/${once.id}`)).json.status).toBe('used_up');
  });

  it('lets an administrator disable a self-registered client: it then signs nobody in', async () => {
    const { token } = await issue();
    const c = (await reg('POST', '/reg', { token, body: app('将停用', 4705) })).json;
    const rp: RpClient = { id: c.client_id, secret: c.client_secret, redirectUri: c.redirect_uris[0], postLogoutUri: c.post_logout_redirect_uris[0] };
    const config = await discover(y.issuer, rp);
    // An administrator can change it like any client (it is then marked source "api").
    const patched = await admin('PATCH', `/admin/api/clients/${c.client_id}`, { owner: '税务局信息中心' });
    expect(patched.json).toMatchObject({ owner: '税务局信息中心', source: 'api', department: TAX });
    const disabled = await admin('POST', `/admin/api/clients/${c.client_id}/disable`);
    expect(disabled.json).toMatchObject({ status: 'disabled', source: 'api' });
    const page = await new Browser().navigate((await authorizationRequest(config, rp, 'openid')).url, rp.redirectUri);
    expect(page.status).toBe(400);
    expect(page.html).toContain('invalid_client');
    // Its registration access token no longer finds it either.
    expect((await reg('GET', c.registration_client_uri, { token: c.registration_access_token })).status).toBe(401);
    const events = await audit('client_id = $1', [c.client_id]);
    expect(events.map((e) => [e.type, e.actor])).toEqual([
      ['client.created', expect.stringMatching(/^iat:/)], ['client.updated', 'client:automation'], ['client.disabled', 'client:automation'],
    ]);
  });
});
