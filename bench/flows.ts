// The two things a citizen does, as a department app and a browser do them over HTTP:
//   connect        — already signed in: GET /auth → code at once → POST /token → GET /me
//   password login — no session: GET /auth → login page → POST the form → /auth resume → code → POST /token
// Each step checks its status; anything else throws a FlowError, which the runner counts.
import { createHash, randomBytes } from 'node:crypto';
import { formOf } from '../test/support/browser.ts';
import { BENCH_CLIENT, type Citizen } from './fixtures.ts';
import { CookieJar, FlowError, type HttpClient, type Reply } from './http.ts';

const isRedirect = (r: Reply) => r.status === 302 || r.status === 303;
const random = () => randomBytes(32).toString('base64url');
// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
const BASIC = `Basic ${Buffer.from(`${encodeURIComponent(BENCH_CLIENT.id)}:${encodeURIComponent(BENCH_CLIENT.secret)}`).toString('base64')}`;

interface AuthorizationRequest { url: string; verifier: string; state: string }

/** PKCE S256 (RFC 7636 §4.2), state and nonce, as a relying party builds them. */
function authorizationRequest(): AuthorizationRequest {
  const verifier = random();
  const state = random();
  const params = new URLSearchParams({
    client_id: BENCH_CLIENT.id, redirect_uri: BENCH_CLIENT.redirectUri, response_type: 'code', scope: BENCH_CLIENT.scope,
    state, nonce: random(), code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });
  return { url: `/auth?${params}`, verifier, state };
}

function redirectTo(reply: Reply, step: string, prefix: string): URL {
  if (!isRedirect(reply) || !reply.location) throw new FlowError(step, reply.status);
  if (!reply.location.href.startsWith(prefix)) throw new FlowError(step, reply.status, `redirected to ${reply.location.pathname}`);
  return reply.location;
}

function codeFrom(reply: Reply, step: string, req: AuthorizationRequest): string {
  const back = redirectTo(reply, step, BENCH_CLIENT.redirectUri);
  const error = back.searchParams.get('error');
  if (error) throw new FlowError(step, reply.status, error);
  const code = back.searchParams.get('code');
  if (!code || back.searchParams.get('state') !== req.state) throw new FlowError(step, reply.status, 'no code or wrong state');
  return code;
}

async function exchangeCode(http: HttpClient, code: string, req: AuthorizationRequest): Promise<string> {
  const reply = await http.request('/token', {
    step: 'token', headers: { authorization: BASIC },
    form: { grant_type: 'authorization_code', code, redirect_uri: BENCH_CLIENT.redirectUri, code_verifier: req.verifier },
  });
  if (reply.status !== 200) throw new FlowError('token', reply.status, reply.body.slice(0, 200));
  const tokens = JSON.parse(reply.body) as { access_token?: string; id_token?: string };
  if (!tokens.access_token || !tokens.id_token) throw new FlowError('token', reply.status, 'no access or ID token');
  return tokens.access_token;
}

/** Signs in through the real login page; returns the authorization code the app receives. */
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

/** One virtual user's SSO session, prepared once through the login form and reused by connect flows. */
export async function openSession(http: HttpClient, who: Citizen): Promise<CookieJar> {
  const jar = new CookieJar();
  await signIn(http, jar, who, authorizationRequest());
  return jar;
}

export async function connectFlow(http: HttpClient, session: CookieJar): Promise<void> {
  const req = authorizationRequest();
  const code = codeFrom(await http.request(req.url, { step: 'auth', jar: session }), 'auth', req);
  const accessToken = await exchangeCode(http, code, req);
  const me = await http.request('/me', { step: 'userinfo', headers: { authorization: `Bearer ${accessToken}` } });
  if (me.status !== 200) throw new FlowError('userinfo', me.status);
}

export async function passwordLoginFlow(http: HttpClient, who: Citizen): Promise<void> {
  const req = authorizationRequest();
  const code = await signIn(http, new CookieJar(), who, req);
  await exchangeCode(http, code, req);
}
