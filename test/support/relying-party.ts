// Department apps as a standard relying party sees them: openid-client (a library written by someone
// else) for the protocol, and a real HTTP server that receives back-channel logout tokens.
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import { freePort } from './yihao.ts';
import { Browser, formOf } from './browser.ts';

export interface LogoutDelivery { path: string; logoutToken: string }

export async function startLogoutReceiver(): Promise<{ port: number; deliveries: LogoutDelivery[]; stop(): Promise<void> }> {
  const port = await freePort();
  const deliveries: LogoutDelivery[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', logoutToken: new URLSearchParams(body).get('logout_token') ?? '' });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, deliveries, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

export interface RpClient { id: string; secret?: string; redirectUri: string; postLogoutUri: string }

export async function discover(issuer: string, c: RpClient) {
  return oidc.discovery(new URL(issuer), c.id, c.secret, c.secret ? oidc.ClientSecretBasic(c.secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** Starts an authorization request; returns what the RP keeps to finish it. */
export async function authorizationRequest(config: oidc.Configuration, c: RpClient, scope: string, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: c.redirectUri, scope, state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { url: url.href, verifier, state, nonce };
}

export async function finish(config: oidc.Configuration, callbackUrl: string, req: { verifier: string; state: string; nonce: string }) {
  return oidc.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
  });
}

/** Submits the login page shown at `page`; returns the next page (or the callback when stopAt matches). */
export async function submitLogin(browser: Browser, page: { url: string; html: string }, idNumber: string, password: string, stopAt?: string) {
  const form = formOf(page.html, page.url);
  return browser.navigate(form.action, stopAt, { form: { ...form.fields, id_number: idNumber, password } });
}

export { oidc };
