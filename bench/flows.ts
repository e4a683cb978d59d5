// What citizens and department apps do, over HTTP, as a browser and an app's back end do it:
//   connect            — already signed in: GET /auth → code at once → POST /token → GET /me
//   password login     — no session: GET /auth → login page → POST the form → /auth resume → code → POST /token
//   refresh            — POST /token grant_type=refresh_token (rotation: each reply carries the next one)
//   userinfo           — GET /me with an access token
//   introspection      — POST /token/introspection (RFC 7662) by the app the token was issued to
//   client credentials — POST /token grant_type=client_credentials by a machine client
// Each step checks its status; anything else throws a FlowError, which the load generator counts.
// Sessions are opened through yihao's real login form, or on the ceiling through its one-step
// interaction (login_hint names the account).
import { createHash, randomBytes } from 'node:crypto';
import { formOf } from '../test/support/browser.ts';
import { BENCH_CLIENT, MACHINE_CLIENT, type BenchClient, type Citizen } from './fixtures.ts';
import { CookieJar, FlowError, type HttpClient, type Reply } from './http.ts';

/** A server the load generator drives: yihao (login through the form) or the ceiling (login_hint). */
export interface Target { name: string; issuer: string; login: 'form' | 'hint' }

export interface Tokens { access_token: string; refresh_token?: string; id_token?: string }

const isRedirect = (r: Reply) => r.status === 302 || r.status === 303;
const random = () => randomBytes(32).toString('base64url');
// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const BASIC = new Map<string, string>([BENCH_CLIENT, MACHINE_CLIENT].map((c) => [c.id, basic(c.id, c.secret)]));
const basicOf = (c: { id: string; secret: string }) => BASIC.get(c.id) ?? basic(c.id, c.secret);

interface AuthorizationRequest { url: string; verifier: string; state: string; client: BenchClient }

/** PKCE S256 (RFC 7636 §4.2), state and nonce, as a relying party builds them. */
function authorizationRequest(client: BenchClient = BENCH_CLIENT, extra: Record<string, string> = {}): AuthorizationRequest {
  const verifier = random();
  const state = random();
  const params = new URLSearchParams({
    client_id: client.id, redirect_uri: client.redirectUri, response_type: 'code', scope: client.scope,
    state, nonce: random(), code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    ...extra,
  });
  return { url: `/auth?${params}`, verifier, state, client };
}

function redirectTo(reply: Reply, step: string, prefix: string): URL {
  if (!isRedirect(reply) || !reply.location) throw new FlowError(step, reply.status);
  if (!reply.location.href.startsWith(prefix)) throw new FlowError(step, reply.status, `redirected to ${reply.location.pathname}`);
  return reply.location;
}

function codeFrom(reply: Reply, step: string, req: AuthorizationRequest): string {
  const back = redirectTo(reply, step, req.client.redirectUri);
  const error = back.searchParams.get('error');
  if (error) throw new FlowError(step, reply.status, error);
  const code = back.searchParams.get('code');
  if (!code || back.searchParams.get('state') !== req.state) throw new FlowError(step, reply.status, 'no code or wrong state');
  return code;
}

async function tokenRequest(http: HttpClient, client: { id: string; secret: string }, form: Record<string, string>, step: string): Promise<Tokens> {
  const reply = await http.request('/token', { step, headers: { authorization: basicOf(client) }, form });
  if (reply.status !== 200) throw new FlowError(step, reply.status, reply.body.slice(0, 200));
  const tokens = JSON.parse(reply.body) as Tokens;
  if (!tokens.access_token) throw new FlowError(step, reply.status, 'no access token');
  return tokens;
}

async function exchangeCode(http: HttpClient, code: string, req: AuthorizationRequest): Promise<Tokens> {
  const tokens = await tokenRequest(http, req.client, {
    grant_type: 'authorization_code', code, redirect_uri: req.client.redirectUri, code_verifier: req.verifier,
  }, 'token');
  if (!tokens.id_token) throw new FlowError('token', 200, 'no ID token');
  return tokens;
}

/** Follows the server's own redirects (interactions that need no form) until the app gets its code. */
async function followToCode(http: HttpClient, jar: CookieJar, req: AuthorizationRequest): Promise<string> {
  let reply = await http.request(req.url, { step: 'auth', jar });
  for (let hop = 0; hop < 8; hop++) {
    if (isRedirect(reply) && reply.location?.href.startsWith(req.client.redirectUri)) return codeFrom(reply, 'auth', req);
    const next = redirectTo(reply, 'auth', http.origin.origin);
    reply = await http.request(next, { step: `auth hop ${hop + 1}`, jar });
  }
  throw new FlowError('auth', reply.status, 'too many redirects');
}

/** Signs in through yihao's login page; returns the authorization code the app receives. */
async function signIn(http: HttpClient, jar: CookieJar, who: Citizen, req: AuthorizationRequest): Promise<string> {
  const toLogin = redirectTo(await http.request(req.url, { step: 'auth', jar }), 'auth', `${http.origin.origin}/interaction/`);
  const page = await http.request(toLogin, { step: 'login page', jar });
  if (page.status !== 200) throw new FlowError('login page', page.status);
  const form = formOf(page.body, toLogin.href);
  const posted = await http.request(form.action, {
    step: 'login post', jar, headers: { origin: http.origin.origin },
    form: { ...form.fields, id_number: who.idNumber, password: who.password },
  });
  const resume = redirectTo(posted, 'login post', `${http.origin.origin}/auth/`);
  return codeFrom(await http.request(resume, { step: 'auth resume', jar }), 'auth resume', req);
}

/**
 * One SSO session, signed in at bench-app (code exchanged, as the app would), reused by connect flows.
 * On yihao through the login form as `who`; on the ceiling for account `ceiling-<hint>`.
 */
export async function openSession(http: HttpClient, target: Target, who: Citizen, hint: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const req = authorizationRequest(BENCH_CLIENT, target.login === 'hint' ? { login_hint: hint } : {});
  const code = target.login === 'form' ? await signIn(http, jar, who, req) : await followToCode(http, jar, req);
  await exchangeCode(http, code, req);
  return jar;
}

/** A refresh token for the session's account: offline_access needs prompt=consent (OIDC Core §11). */
export async function offlineRefreshToken(http: HttpClient, session: CookieJar): Promise<string> {
  const req = authorizationRequest(BENCH_CLIENT, { scope: 'openid profile offline_access', prompt: 'consent' });
  const tokens = await exchangeCode(http, await followToCode(http, session, req), req);
  if (!tokens.refresh_token) throw new FlowError('token', 200, 'no refresh token for offline_access');
  return tokens.refresh_token;
}

/** The connect flow; returns the access token it got (the userinfo and introspection rows reuse some). */
export async function connectFlow(http: HttpClient, session: CookieJar, client: BenchClient = BENCH_CLIENT): Promise<string> {
  const req = authorizationRequest(client);
  const code = codeFrom(await http.request(req.url, { step: 'auth', jar: session }), 'auth', req);
  const { access_token: accessToken } = await exchangeCode(http, code, req);
  await userinfoFlow(http, accessToken);
  return accessToken;
}

/** Signs the session in at another app: the first time there, the server may need an interaction (consent). */
export async function connectNewApp(http: HttpClient, session: CookieJar, client: BenchClient): Promise<void> {
  const req = authorizationRequest(client);
  const { access_token: accessToken } = await exchangeCode(http, await followToCode(http, session, req), req);
  await userinfoFlow(http, accessToken);
}

export async function passwordLoginFlow(http: HttpClient, who: Citizen): Promise<void> {
  const req = authorizationRequest();
  const code = await signIn(http, new CookieJar(), who, req);
  await exchangeCode(http, code, req);
}

/** One refresh; the chain's token is replaced by the rotated one (the old one is now consumed). */
export async function refreshFlow(http: HttpClient, chain: { refreshToken: string }): Promise<void> {
  const tokens = await tokenRequest(http, BENCH_CLIENT, { grant_type: 'refresh_token', refresh_token: chain.refreshToken }, 'refresh');
  if (!tokens.refresh_token) throw new FlowError('refresh', 200, 'no rotated refresh token');
  chain.refreshToken = tokens.refresh_token;
}

export async function userinfoFlow(http: HttpClient, accessToken: string): Promise<void> {
  const me = await http.request('/me', { step: 'userinfo', headers: { authorization: `Bearer ${accessToken}` } });
  if (me.status !== 200) throw new FlowError('userinfo', me.status, me.body.slice(0, 200));
}

export async function introspectionFlow(http: HttpClient, accessToken: string): Promise<void> {
  const reply = await http.request('/token/introspection', {
    step: 'introspection', headers: { authorization: basicOf(BENCH_CLIENT) }, form: { token: accessToken, token_type_hint: 'access_token' },
  });
  if (reply.status !== 200) throw new FlowError('introspection', reply.status, reply.body.slice(0, 200));
  if ((JSON.parse(reply.body) as { active?: boolean }).active !== true) throw new FlowError('introspection', 200, 'token not active');
}

export async function clientCredentialsFlow(http: HttpClient): Promise<void> {
  await tokenRequest(http, MACHINE_CLIENT, { grant_type: 'client_credentials', scope: MACHINE_CLIENT.scope }, 'client credentials');
}
