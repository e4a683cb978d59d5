// The self-registration policy on its own (no server): what production refuses that development allows,
// host allow-list entries and their matching, and what the token decides whatever the request says.
import { describe, it, expect } from 'vitest';
import { hostAllowed, normalizeHostPattern, selfRegistration, registrationError, type TokenPolicy } from '../../src/registration/policy.ts';

const POLICY: TokenPolicy = { department: '税务局', allowed_scopes: ['openid', 'profile'], redirect_hosts: ['localhost', 'tax.example.gov.cn', '*.apps.tax.example.gov.cn'] };
const base = (extra: Record<string, unknown> = {}) => ({
  client_id: 'dyn-0123456789abcdef0123456789abcdef', client_secret: 's'.repeat(86), client_name: '测试', redirect_uris: ['https://tax.example.gov.cn/cb'], ...extra,
});

describe('self-registration policy', () => {
  it('accepts https on an allowed host, forcing department, first_party, subject_type and defaulting scope to the token’s', () => {
    const r = selfRegistration(base({ department: '公安局', first_party: true, subject_type: 'public', allowed_scopes: ['id_number'], application_type: 'web' }), POLICY, { production: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.metadata).toMatchObject({ department: '税务局', first_party: false, subject_type: 'pairwise', scope: 'openid profile' });
    expect(r.metadata).not.toHaveProperty('application_type');
  });

  it('refuses http in production, even on localhost; development allows it for localhost only', () => {
    const loopback = base({ redirect_uris: ['http://localhost:4000/cb'] });
    const prod = selfRegistration(loopback, POLICY, { production: true });
    expect(prod.ok).toBe(false);
    if (!prod.ok) expect(prod.errors).toEqual([{ field: 'redirect_uris.0', message: 'must use https' }]);
    expect(selfRegistration(loopback, POLICY, { production: false }).ok).toBe(true);
    const intranet = selfRegistration(base({ redirect_uris: ['http://tax.example.gov.cn/cb'] }), POLICY, { production: false });
    expect(intranet.ok).toBe(false);
  });

  it('matches hosts exactly, and wildcards below their domain only', () => {
    expect(hostAllowed('TAX.example.gov.cn', POLICY.redirect_hosts)).toBe(true);
    expect(hostAllowed('a.apps.tax.example.gov.cn', POLICY.redirect_hosts)).toBe(true);
    expect(hostAllowed('apps.tax.example.gov.cn', POLICY.redirect_hosts)).toBe(false);
    expect(hostAllowed('eviltax.example.gov.cn', POLICY.redirect_hosts)).toBe(false);
    expect(hostAllowed('tax.example.gov.cn.evil.example', POLICY.redirect_hosts)).toBe(false);
    const r = selfRegistration(base({ redirect_uris: ['https://tax.example.gov.cn.evil.example/cb'], jwks_uri: 'https://keys.example/jwks' }), POLICY, { production: true });
    expect(r.ok ? [] : r.errors.map((e) => e.field)).toEqual(['redirect_uris.0', 'jwks_uri']);
  });

  it('normalises allow-list entries and refuses what is not a host', () => {
    expect(normalizeHostPattern('Tax.Example.gov.cn')).toBe('tax.example.gov.cn');
    expect(normalizeHostPattern('税务.中国')).toBe('xn--zfr703g.xn--fiqs8s');
    expect(normalizeHostPattern('*.apps.gov.cn')).toBe('*.apps.gov.cn');
    expect(normalizeHostPattern('10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeHostPattern('[::1]')).toBe('[::1]');
    for (const bad of ['https://a.gov.cn', 'a.gov.cn:8443', 'a.gov.cn/cb', 'user@a.gov.cn', '*.cn.', '*.com', '*', '*.10.0.0.1', 'a b', '', 'a*b.gov.cn']) {
      expect(normalizeHostPattern(bad), bad).toBeUndefined();
    }
  });

  it('names redirect problems invalid_redirect_uri only when nothing else is wrong', () => {
    expect(registrationError([{ field: 'redirect_uris.0', message: 'x' }, { field: 'post_logout_redirect_uris.1', message: 'y' }]).message).toBe('invalid_redirect_uri');
    const mixed = registrationError([{ field: 'redirect_uris.0', message: 'x' }, { field: 'scope', message: 'y' }]);
    expect(mixed).toMatchObject({ message: 'invalid_client_metadata', status: 400, error_description: 'redirect_uris.0: x; scope: y' });
  });
});
