// src/sessions/backchannel.ts leans on oidc-provider's undocumented Client#backchannelLogout. These tests pin
// what it relies on, against a bare provider: the token it sends (OIDC Back-Channel Logout 1.0 §2.4), the sub
// it carries (pairwise applied by the library from the account id), and how a broken app is reported.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import Provider, { type ClientMetadata, type Configuration } from 'oidc-provider';
import { createLocalJWKSet, exportJWK, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBackchannelLogout, BackchannelUnavailable } from '../../src/sessions/backchannel.ts';
import { freePort } from '../support/yihao.ts';

const ISSUER = 'http://localhost:1';
const PAIRWISE_KEY = 'k'.repeat(32);
const pairwise = (accountId: string, sector: string) => createHmac('sha256', PAIRWISE_KEY).update(`${sector}\u0000${accountId}`).digest('base64url');

describe('back-channel logout outside a request (Client#backchannelLogout)', () => {
  let server: Server;
  let provider: Provider;
  let base: string;
  let jwk: JWK;
  const received: { path: string; token: string }[] = [];

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        received.push({ path: req.url ?? '', token: new URLSearchParams(body).get('logout_token') ?? '' });
        res.writeHead(req.url === '/broken' ? 503 : 200).end();
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    jwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const client = (client_id: string, extra: Record<string, unknown>): ClientMetadata => ({
      client_id, client_secret: 's'.repeat(40), redirect_uris: [`${base}/${client_id}/cb`], id_token_signed_response_alg: 'ES256', ...extra,
    });
    provider = new Provider(ISSUER, {
      jwks: { keys: [jwk] } as Configuration['jwks'],
      clients: [
        client('pairwise-app', { subject_type: 'pairwise', backchannel_logout_uri: `${base}/pairwise`, backchannel_logout_session_required: true }),
        client('public-app', { subject_type: 'public', backchannel_logout_uri: `${base}/public` }),
        client('broken-app', { backchannel_logout_uri: `${base}/broken`, backchannel_logout_session_required: true }),
        client('no-uri-app', {}),
      ],
      subjectTypes: ['public', 'pairwise'],
      pairwiseIdentifier: async (_ctx, accountId, c) => pairwise(accountId, String(c.sectorIdentifier)),
      features: { backchannelLogout: { enabled: true }, devInteractions: { enabled: false } },
      // The library refuses loopback by default (9.7+), through its own dispatcher; the test apps live there.
      fetch: ((url: string | URL, { dispatcher: _d, ...init }: RequestInit & { dispatcher?: unknown }) => fetch(url, init)) as Configuration['fetch'],
    });
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  const verify = (token: string, audience: string) => {
    const { d: _d, ...pub } = jwk;
    return jwtVerify(token, createLocalJWKSet({ keys: [pub] }), { issuer: ISSUER, audience, typ: 'logout+jwt', requiredClaims: ['iat', 'jti', 'events'] });
  };

  it('sends a signed logout token with the sid and the app\'s pairwise sub, computed from the account id', async () => {
    const delivery = await sendBackchannelLogout(provider, 'pairwise-app', 'account-1', 'sid-1');
    expect(delivery).toEqual({ clientId: 'pairwise-app', sid: 'sid-1', outcome: 'delivered' });
    const { payload, protectedHeader } = await verify(received.find((r) => r.path === '/pairwise')!.token, 'pairwise-app');
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'k1', typ: 'logout+jwt' });
    const { sectorIdentifier } = (await provider.Client.find('pairwise-app'))!;
    expect(payload.sub).toBe(pairwise('account-1', String(sectorIdentifier))); // pairwiseIdentifier applied once, to the account id
    expect(payload.sid).toBe('sid-1');
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    expect(payload).not.toHaveProperty('nonce'); // §2.4: forbidden in a logout token
  });

  it('gives a public-subject app the account id itself, and leaves sid out when the app does not require it', async () => {
    await sendBackchannelLogout(provider, 'public-app', 'account-2', 'sid-2');
    const { payload } = await verify(received.find((r) => r.path === '/public')!.token, 'public-app');
    expect(payload.sub).toBe('account-2');
    expect(payload).not.toHaveProperty('sid');
  });

  it('reports an app that refuses the token, and skips apps it cannot notify, without throwing', async () => {
    const broken = await sendBackchannelLogout(provider, 'broken-app', 'account-3', 'sid-3');
    expect(broken).toMatchObject({ clientId: 'broken-app', outcome: 'failed' });
    expect(broken.reason).toContain('503');
    expect(await sendBackchannelLogout(provider, 'no-uri-app', 'account-3', 'sid-3')).toMatchObject({ outcome: 'skipped' });
    expect(await sendBackchannelLogout(provider, 'unknown-app', 'account-3', 'sid-3')).toMatchObject({ outcome: 'skipped' });
  });

  it('fails loudly if the library stops offering the method', async () => {
    // A future oidc-provider without Client#backchannelLogout: the real provider and app, the method taken away.
    let owner = provider.Client.prototype as object | null;
    while (owner && !Object.hasOwn(owner, 'backchannelLogout')) owner = Object.getPrototypeOf(owner) as object | null;
    expect(owner).not.toBeNull();
    const method = Object.getOwnPropertyDescriptor(owner!, 'backchannelLogout')!;
    delete (owner as { backchannelLogout?: unknown }).backchannelLogout;
    try {
      await expect(sendBackchannelLogout(provider, 'broken-app', 'account-3', 'sid-3')).rejects.toBeInstanceOf(BackchannelUnavailable);
    } finally {
      Object.defineProperty(owner!, 'backchannelLogout', method);
    }
    expect((await sendBackchannelLogout(provider, 'broken-app', 'account-3', 'sid-3')).outcome).toBe('failed'); // offered again
  });
});
