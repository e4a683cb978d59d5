// Single logout to CAS services. The provider ends the session and sends its back-channel logout token
// to every client in it, our internal CAS clients included; for those, /cas/backchannel-logout turns the
// token into one SAML LogoutRequest per ticket issued under its sid (CAS 3.0 §2.3.3 and Appendix C).
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'] as const;

/** The public half of our signing keys: what the provider publishes at /jwks. */
export function publicJwks(jwks: { keys: JWK[] }): { keys: JWK[] } {
  return {
    keys: jwks.keys.map((k) => Object.fromEntries(PUBLIC_MEMBERS.filter((m) => k[m] !== undefined).map((m) => [m, k[m]])) as JWK),
  };
}

export interface LogoutToken { clientId: string; sid: string }

/**
 * OIDC Back-Channel Logout 1.0 §2.6: signed by us, for one audience, with the logout event and a sid,
 * without a nonce, recently issued. Throws when any of that is not so.
 */
export function createLogoutTokenVerifier(options: { issuer: string; jwks: { keys: JWK[] } }) {
  const keys = createLocalJWKSet(publicJwks(options.jwks));
  return async function verifyLogoutToken(token: string): Promise<LogoutToken> {
    const { payload } = await jwtVerify(token, keys, {
      issuer: options.issuer, typ: 'logout+jwt', maxTokenAge: '2 min', clockTolerance: 30, requiredClaims: ['aud', 'iat', 'jti', 'sid', 'events'],
    });
    const events = payload.events as Record<string, unknown> | undefined;
    if (!events || typeof events[BACKCHANNEL_EVENT] !== 'object') throw new Error('not a back-channel logout token');
    if ('nonce' in payload) throw new Error('a logout token must not carry a nonce');
    if (typeof payload.aud !== 'string' || typeof payload.sid !== 'string') throw new Error('one audience and a sid are required');
    return { clientId: payload.aud, sid: payload.sid };
  };
}

/**
 * The form body mod_auth_cas accepts: exactly "logoutRequest=" + the URL-encoded XML, under 1024 bytes,
 * SessionIndex a direct child of the root holding the validated ticket, no whitespace, no signature.
 */
export function logoutRequestBody(ticket: string, now = new Date()): string {
  const xml = '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"'
    + ` ID="LR-${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${now.toISOString().replace(/\.\d+Z$/, 'Z')}">`
    + `<saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>${ticket}</samlp:SessionIndex></samlp:LogoutRequest>`;
  return `logoutRequest=${encodeURIComponent(xml)}`;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/**
 * Fire and forget (CAS 3.0 §2.3.3.1): the answer does not matter and redirects are not followed; a
 * timeout keeps a dead app from holding the logout (the provider gives our endpoint 5 s).
 */
export async function deliverLogoutRequest(url: string, ticket: string, options: { production: boolean; timeoutMs: number }): Promise<{ status: number }> {
  const target = new URL(url);
  // The URL was registered; loopback only outside production, as for back-channel logout.
  if (options.production && LOOPBACK.test(target.hostname)) throw new Error('logout request to loopback refused in production');
  const res = await fetch(target, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: logoutRequestBody(ticket),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  await res.body?.cancel();
  return { status: res.status };
}
