import { describe, it, expect } from 'vitest';
import { parseRegistration, resolveSecret } from '../../src/clients/registration.ts';

const dev = { production: false, env: { SI_SECRET: 's'.repeat(40) } };
const prod = { production: true, env: {} };
const valid = {
  client_id: 'social-security', client_name: '社会保障服务', department: '人社局', client_secret: 'x'.repeat(32),
  redirect_uris: ['https://si.example.gov.cn/callback'], allowed_scopes: ['openid', 'profile'],
};

const fieldsOf = (r: ReturnType<typeof parseRegistration>) => (r.ok ? [] : r.errors.map((e) => e.field));

describe('client registration files', () => {
  it('turns allowed_scopes into the standard scope metadata and defaults to pairwise subjects', () => {
    const r = parseRegistration(valid, prod);
    expect(r.ok && r.metadata).toMatchObject({ client_id: 'social-security', scope: 'openid profile', subject_type: 'pairwise', token_endpoint_auth_method: 'client_secret_basic' });
  });

  it('reports every field error at once', () => {
    const r = parseRegistration({ client_id: 'X Y', redirect_uris: [], allowed_scopes: ['openid', 'all'], extra: 1 }, dev);
    expect(fieldsOf(r)).toEqual(expect.arrayContaining(['client_id', 'client_name', 'department', 'redirect_uris', 'allowed_scopes.1', 'extra']));
  });

  it('refuses relative URIs, fragments and credentials', () => {
    const r = parseRegistration({ ...valid, redirect_uris: ['/callback', 'https://a.example/#x', 'https://u:p@a.example/cb'] }, prod);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message)).toEqual(['must be an absolute URL', 'must not contain a fragment (#)', 'must not contain credentials']);
  });

  it('accepts http loopback URIs only in development', () => {
    const loopback = { ...valid, redirect_uris: ['http://localhost:3001/cb', 'http://127.0.0.1:3002/cb'] };
    expect(parseRegistration(loopback, dev).ok).toBe(true);
    expect(fieldsOf(parseRegistration(loopback, prod))).toEqual(['redirect_uris.0', 'redirect_uris.1']);
    expect(fieldsOf(parseRegistration({ ...valid, redirect_uris: ['http://intranet.gov/cb'] }, dev))).toEqual(['redirect_uris.0']);
  });

  it('accepts a back-channel logout URI with a query string (mod_auth_openidc registers one)', () => {
    const r = parseRegistration({ ...valid, backchannel_logout_uri: 'https://app.example/redirect_uri?logout=backchannel' }, prod);
    expect(r.ok && r.metadata.backchannel_logout_session_required).toBe(true);
  });

  it('keeps an env: secret as a reference and resolves it only when served', () => {
    const r = parseRegistration({ ...valid, client_secret: 'env:SI_SECRET' }, dev);
    expect(r.ok && r.metadata.client_secret).toBe('env:SI_SECRET');
    if (r.ok) expect(resolveSecret(r.metadata, dev.env).client_secret).toBe('s'.repeat(40));
    expect(fieldsOf(parseRegistration({ ...valid, client_secret: 'env:MISSING' }, dev))).toEqual(['client_secret']);
  });

  it('requires a strong secret for confidential clients and none for public ones', () => {
    expect(fieldsOf(parseRegistration({ ...valid, client_secret: 'short' }, prod))).toEqual(['client_secret']);
    expect(fieldsOf(parseRegistration({ ...valid, client_secret: undefined }, prod))).toEqual(['client_secret']);
    expect(fieldsOf(parseRegistration({ ...valid, token_endpoint_auth_method: 'none' }, prod))).toEqual(['client_secret']);
    const { client_secret: _s, ...publicClient } = valid;
    expect(parseRegistration({ ...publicClient, token_endpoint_auth_method: 'none' }, prod).ok).toBe(true);
  });

  it('never takes a file\'s secret for a sealed one (the form secrets are stored in)', () => {
    const r = parseRegistration({ ...valid, client_secret: `sealed:k1.${'x'.repeat(40)}` }, prod);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual([{ field: 'client_secret', message: 'must not begin with "sealed:" (the form secrets are stored in)' }]);
  });

  it('requires offline_access for refresh tokens', () => {
    expect(fieldsOf(parseRegistration({ ...valid, grant_types: ['authorization_code', 'refresh_token'] }, prod))).toEqual(['allowed_scopes']);
  });
});
