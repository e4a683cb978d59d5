import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseRegistration } from '../../src/clients/registration.ts';
import { SCOPE_CLAIMS } from '../../src/clients/policy.ts';
import { findServiceOwner, serviceMatches, withTicket } from '../../src/cas/services.ts';
import { scopeOfAttribute, type CasRegistration } from '../../src/cas/registration.ts';
import { internalClientMetadata } from '../../src/cas/internal-client.ts';
import { newServiceTicket, randomBase62, SERVICE_TICKET } from '../../src/cas/tickets.ts';
import { CasFailure, escapeXml, failureXml, successJson, successXml } from '../../src/cas/responses.ts';
import { logoutRequestBody, publicJwks } from '../../src/cas/logout.ts';

const dev = { production: false, env: {} };
const prod = { production: true, env: {} };
const valid = {
  protocol: 'cas', client_id: 'archives-cas', client_name: '档案查询', department: '档案局',
  cas_services: ['https://archives.example.gov.cn/app/'], released_attributes: ['name'],
};
const fieldsOf = (r: ReturnType<typeof parseRegistration>) => (r.ok ? [] : r.errors.map((e) => e.field));

describe('CAS registration files', () => {
  it('stores what the file says, with the scope its attributes need', () => {
    const r = parseRegistration(valid, prod);
    expect(r.ok && r.metadata).toEqual({
      protocol: 'cas', client_id: 'archives-cas', client_name: '档案查询', department: '档案局', first_party: false,
      cas_services: ['https://archives.example.gov.cn/app/'], released_attributes: ['name'], scope: 'openid profile',
    });
  });

  it('reports every field error at once', () => {
    const r = parseRegistration({ protocol: 'cas', client_id: 'X', cas_services: [], released_attributes: ['email'], redirect_uris: [] }, dev);
    expect(fieldsOf(r).sort()).toEqual(['cas_services', 'client_name', 'department', 'redirect_uris', 'released_attributes.0', 'client_id'].sort());
    const bad = parseRegistration({
      ...valid, cas_services: ['http://archives.example.gov.cn/', 'https://a.example/x?y=1', 'https://a.example/a/../b', 'ftp://a.example/', '/relative', 'https://u:p@a.example/'],
      logout_url: 'http://intranet/slo',
    }, prod);
    expect(fieldsOf(bad)).toEqual(['cas_services.0', 'cas_services.1', 'cas_services.2', 'cas_services.3', 'cas_services.4', 'cas_services.5', 'logout_url']);
  });

  it('accepts http only for loopback in development', () => {
    expect(parseRegistration({ ...valid, cas_services: ['http://localhost:8080/app'] }, dev).ok).toBe(true);
    expect(fieldsOf(parseRegistration({ ...valid, cas_services: ['http://localhost:8080/app'] }, prod))).toEqual(['cas_services.0']);
  });

  it('keeps one registration on one host (the sector of its pairwise user)', () => {
    expect(fieldsOf(parseRegistration({ ...valid, cas_services: ['https://a.example/x', 'https://b.example/x'] }, prod))).toEqual(['cas_services']);
    expect(parseRegistration({ ...valid, cas_services: ['https://a.example/x', 'https://a.example/y/'] }, prod).ok).toBe(true);
  });

  it('releases id_number only when allowed_scopes lists it and, in production, with an approval on record', () => {
    const withId = { ...valid, released_attributes: ['name', 'id_number'] };
    expect(fieldsOf(parseRegistration(withId, dev))).toEqual(['allowed_scopes']);
    const listed = { ...withId, allowed_scopes: ['openid', 'profile', 'id_number'] };
    expect(parseRegistration(listed, dev).ok).toBe(true);
    expect(fieldsOf(parseRegistration(listed, prod))).toEqual(['id_number_approval']);
    const approval = { approved_by: '市数据局 王五', approved_at: '2026-01-05T09:00:00+08:00', legal_basis: '《个人信息保护法》第十三条第一款第三项' };
    const r = parseRegistration({ ...listed, id_number_approval: approval }, prod);
    expect(r.ok && r.metadata.scope).toBe('openid profile id_number');
    expect(r.ok && r.approval).toEqual(approval);
    expect(parseRegistration(listed, { ...prod, idNumberApproved: true }).ok).toBe(true);
    // allowed_scopes, when given, must cover every released attribute.
    expect(fieldsOf(parseRegistration({ ...valid, released_attributes: ['phone_number'], allowed_scopes: ['openid'] }, prod))).toEqual(['released_attributes.0']);
  });

  it('maps each attribute to the scope that releases it, as the provider does', () => {
    for (const [scope, claims] of Object.entries(SCOPE_CLAIMS)) {
      for (const c of claims) if (scope !== 'openid') expect(scopeOfAttribute(c)).toBe(scope);
    }
  });

  it('derives an internal OIDC client that can only come back to yihao', () => {
    const r = parseRegistration(valid, prod);
    if (!r.ok) throw new Error("fixture");
    const m = internalClientMetadata(r.metadata as CasRegistration, 'https://id.example.gov.cn');
    expect(m).toMatchObject({
      redirect_uris: ['https://id.example.gov.cn/cas/callback'], post_logout_redirect_uris: ['https://id.example.gov.cn/cas/logged-out'],
      backchannel_logout_uri: 'https://id.example.gov.cn/cas/backchannel-logout', backchannel_logout_session_required: true,
      token_endpoint_auth_method: 'none', grant_types: ['authorization_code'],
    });
  });
});

describe('CAS service matching', () => {
  it('matches scheme, host and port exactly and the path at a "/" boundary', () => {
    const yes = [
      ['https://a.example/app', 'https://a.example/app'], ['https://a.example/app', 'https://a.example/app/x?y=1'],
      ['https://a.example/app/', 'https://a.example/app/x'], ['https://a.example', 'https://a.example/anything'],
      ['https://a.example/app', 'https://a.example:443/app/'], ['https://a.example/app', 'https://A.EXAMPLE/app'],
    ];
    const no = [
      ['https://a.example/app', 'https://a.example/application'], ['https://a.example/app/', 'https://a.example/app'],
      ['https://a.example/app', 'http://a.example/app'], ['https://a.example/app', 'https://a.example:8443/app'],
      ['https://a.example/app', 'https://a.example.evil/app'], ['https://a.example/app', 'https://evil/app?https://a.example/app'],
      ['https://a.example/app', 'https://a.example/app/../admin'], ['https://a.example/app', 'https://a.example/app/%2e%2e/admin'],
      ['https://a.example/app', 'https://a.example@evil.example/app'], ['https://a.example/app', 'https://a.example\\@evil.example/app'],
      ['https://a.example/app', 'https://u:p@a.example/app'], ['https://a.example/app', 'https://a.example/APP'],
    ];
    for (const [p, s] of yes) expect(serviceMatches(p!, s!), `${p} ⊇ ${s}`).toBe(true);
    for (const [p, s] of no) expect(serviceMatches(p!, s!), `${p} ⊉ ${s}`).toBe(false);
  });

  it('picks the longest matching prefix and refuses fragments', () => {
    const a = { client_id: 'a', cas_services: ['https://x.example/'] } as CasRegistration;
    const b = { client_id: 'b', cas_services: ['https://x.example/b/'] } as CasRegistration;
    expect(findServiceOwner([a, b], 'https://x.example/b/page')).toMatchObject({ ok: true, client: { client_id: 'b' } });
    expect(findServiceOwner([a, b], 'https://x.example/c')).toMatchObject({ ok: true, client: { client_id: 'a' } });
    expect(findServiceOwner([a, b], 'https://x.example/b/#x')).toEqual({ ok: false, reason: 'malformed' });
    expect(findServiceOwner([a, b], '')).toEqual({ ok: false, reason: 'missing' });
    expect(findServiceOwner([a, b], 'https://y.example/')).toEqual({ ok: false, reason: 'unregistered' });
  });

  it('appends the ticket to the exact service string', () => {
    expect(withTicket('https://a.example/app', 'ST-1')).toBe('https://a.example/app?ticket=ST-1');
    expect(withTicket('https://a.example/app?b=2&a=1', 'ST-1')).toBe('https://a.example/app?b=2&a=1&ticket=ST-1');
  });
});

describe('CAS tickets and responses', () => {
  it('makes tickets mod_auth_cas and CAS 3.0 accept, from 256 random bits', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = newServiceTicket();
      expect(t).toMatch(/^ST-[A-Za-z0-9]{43}$/);
      expect(t).toMatch(SERVICE_TICKET);
      seen.add(t);
    }
    expect(seen.size).toBe(200);
    const counts = new Map<string, number>();
    for (const c of randomBase62(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(200); // no modulo bias
  });

  it('writes XML expat accepts: declaration first, namespace declared, user verbatim, text escaped', () => {
    const xml = successXml({ user: 'u-1', attributes: { name: '张三 <&> "\'', gender: 'female' } });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">')).toBe(true);
    expect(xml).toContain('<cas:user>u-1</cas:user><cas:attributes><cas:name>张三 &lt;&amp;&gt; &quot;&apos;</cas:name><cas:gender>female</cas:gender></cas:attributes>');
    expect(failureXml(new CasFailure('INVALID_TICKET', 'Ticket <x> not recognized'))).toContain('<cas:authenticationFailure code="INVALID_TICKET">Ticket &lt;x&gt; not recognized</cas:authenticationFailure>');
    expect(JSON.parse(successJson({ user: 'u', attributes: { name: '张三' } }))).toEqual({ serviceResponse: { authenticationSuccess: { user: 'u', attributes: { name: '张三' } } } });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => !/[<&>]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(escapeXml(s))));
  });

  it('builds a SAML LogoutRequest body mod_auth_cas reads, well under 1024 bytes', () => {
    const ticket = newServiceTicket();
    const body = logoutRequestBody(ticket, new Date('2026-01-05T01:02:03.456Z'));
    expect(body.startsWith('logoutRequest=')).toBe(true);
    expect(body.length).toBeLessThan(1024);
    const xml = decodeURIComponent(body.slice('logoutRequest='.length));
    expect(xml).toContain(`IssueInstant="2026-01-05T01:02:03Z"><saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>${ticket}</samlp:SessionIndex></samlp:LogoutRequest>`);
    expect(body).not.toMatch(/[\s+]/); // nothing mod_auth_cas would read as a space inside a name
  });

  it('verifies logout tokens with the public half of the keys only', () => {
    const { keys } = publicJwks({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'secret', kid: 'k', alg: 'ES256', use: 'sig' }] });
    expect(keys[0]).toEqual({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k', alg: 'ES256', use: 'sig' });
  });
});
