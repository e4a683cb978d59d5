// An example department app that signs citizens in with yihao (一号): Koa 3 + openid-client v6.
// Copy it as a starting point; its registration is clients/social-security.json.
//
// Run it (development, from the repository root):
//   terminal 1: npm start                               (yihao on http://localhost:3000; prints a demo citizen)
//   terminal 2: npm run example (node clients/examples/department-app.ts on Node 22.18+; this app on http://localhost:3001)
//   then open http://localhost:3001 and sign in with the demo citizen.
// Environment: YIHAO_ISSUER, CLIENT_ID, CLIENT_SECRET, PORT, APP_URL, TRUST_PROXY (see README.md here).
import { randomBytes } from 'node:crypto';
import Koa, { type Context } from 'koa';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';

export interface DepartmentAppOptions {
  issuer: string;        // yihao's URL; discovery is `${issuer}/.well-known/openid-configuration`
  clientId: string;
  clientSecret: string;
  appUrl: string;        // this app's public URL; the registered redirect URIs are built from it
  trustProxy?: boolean;  // behind a TLS-terminating proxy that sets X-Forwarded-Proto
  log?: (message: string, details?: Record<string, unknown>) => void;
}

interface Session {
  expiresAt: number;
  login?: { verifier: string; state: string; nonce: string };        // an authorization request in flight
  user?: { sub: string; sid?: string; name?: string; idToken: string }; // after a successful callback
}

const COOKIE = 'department_app_session'; // cookies ignore ports: never reuse yihao's names (_session, _interaction…)
const SESSION_TTL_MS = 8 * 3600_000;
const REPLAY_WINDOW_S = 600;             // logout tokens older than this are refused, so jtis are kept this long
const CLOCK_SKEW_S = 30;
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export async function createDepartmentApp(options: DepartmentAppOptions): Promise<Koa> {
  const log = options.log ?? ((message, details) => console.log(message, details ?? ''));
  const appUrl = new URL(options.appUrl);
  const redirectUri = new URL('/callback', appUrl).href;
  const postLogoutRedirectUri = new URL('/', appUrl).href;

  // Discovery also pins the issuer: metadata whose `issuer` differs from the URL is refused.
  // Plain http only for a development issuer on this machine (http://localhost:3000).
  const issuer = new URL(options.issuer);
  const devIssuer = issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
  const config = await oidc.discovery(issuer, options.clientId, options.clientSecret, oidc.ClientSecretBasic(options.clientSecret), {
    execute: devIssuer ? [oidc.allowInsecureRequests] : [],
  });
  const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));

  // In-memory state: fine for one process. With several instances, use a shared store (e.g. Redis),
  // or a back-channel logout reaching one instance will not end sessions held by the others.
  const sessions = new Map<string, Session>();
  const seenJtis = new Map<string, number>(); // jti → when it may be forgotten

  function currentSession(ctx: Context): { id: string; session: Session } | undefined {
    const id = ctx.cookies.get(COOKIE) ?? '';
    const session = sessions.get(id);
    return session && session.expiresAt > Date.now() ? { id, session } : undefined;
  }

  function startSession(ctx: Context, session: Omit<Session, 'expiresAt'>) {
    for (const [id, s] of sessions) if (s.expiresAt < Date.now()) sessions.delete(id);
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, { ...session, expiresAt: Date.now() + SESSION_TTL_MS });
    ctx.cookies.set(COOKIE, id, { httpOnly: true, sameSite: 'lax', secure: appUrl.protocol === 'https:', path: '/', overwrite: true });
  }

  function endSession(ctx: Context) {
    sessions.delete(ctx.cookies.get(COOKIE) ?? '');
    ctx.cookies.set(COOKIE, null, { path: '/' });
  }

  function page(ctx: Context, status: number, body: string) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    // form-action also governs the redirect after a form post: the sign-out button goes on to yihao.
    ctx.set('Content-Security-Policy', `default-src 'none'; form-action 'self' ${issuer.origin}; frame-ancestors 'none'`);
    ctx.body = `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>社会保障服务</title><h1>社会保障服务</h1>${body}</html>`;
  }

  // GET / — who is signed in.
  async function home(ctx: Context) {
    const user = currentSession(ctx)?.session.user;
    if (user) page(ctx, 200, `<p>Signed in as ${escapeHtml(user.name ?? user.sub)}</p><form method="post" action="/logout"><button>Sign out</button></form>`);
    else page(ctx, 200, `<p>You are not signed in.</p><p><a href="/login">Sign in with 一号</a></p>`);
  }

  // GET /login — send the browser to yihao with PKCE (required by yihao), state and nonce.
  async function login(ctx: Context) {
    const pending = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid profile phone', state: pending.state, nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier), code_challenge_method: 'S256',
    });
    endSession(ctx);
    startSession(ctx, { login: pending });
    ctx.redirect(url.href);
  }

  // GET /callback — exchange the code; openid-client checks state, PKCE and the ID token (signature,
  // iss, aud, exp, nonce). A new session id replaces the pre-login one (no session fixation).
  async function callback(ctx: Context) {
    const pending = currentSession(ctx)?.session.login;
    // Usually a different host name than APP_URL (127.0.0.1 vs localhost): cookies do not carry over.
    if (!pending) return page(ctx, 400, `<p>No sign-in in progress in this browser. <a href="${appUrl.origin}/login">Start again at ${appUrl.origin}</a></p>`);
    try {
      // Build the URL from appUrl, not the Host header, so it matches the registered redirect_uri.
      const tokens = await oidc.authorizationCodeGrant(config, new URL(ctx.url, appUrl), {
        pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce,
      });
      const claims = tokens.claims()!;
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      endSession(ctx);
      startSession(ctx, { user: { sub: claims.sub, sid: claims.sid as string | undefined, name: userinfo.name, idToken: tokens.id_token! } });
      log('signed in', { sub: claims.sub, sid: claims.sid });
      ctx.redirect('/');
    } catch (err) {
      log('sign-in failed', { error: describe(err) }); // a wrong CLIENT_SECRET shows here as invalid_client
      endSession(ctx);
      page(ctx, 400, `<p>Sign-in failed. <a href="/login">Try again</a></p>`);
    }
  }

  // POST /logout — end the local session, then ask yihao to end the single sign-on session
  // (OIDC RP-Initiated Logout 1.0 §2). SameSite=Lax keeps cross-site posts from carrying the cookie.
  async function logout(ctx: Context) {
    const user = currentSession(ctx)?.session.user;
    endSession(ctx);
    if (!user) return ctx.redirect('/');
    ctx.redirect(oidc.buildEndSessionUrl(config, { id_token_hint: user.idToken, post_logout_redirect_uri: postLogoutRedirectUri }).href);
  }

  // POST /backchannel-logout — yihao, server to server, when a citizen's session ends anywhere
  // (OIDC Back-Channel Logout 1.0 §2.6 lists these checks).
  async function backchannelLogout(ctx: Context) {
    const token = (await readForm(ctx)).get('logout_token');
    let payload;
    try {
      if (!token) throw new Error('logout_token missing');
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: config.serverMetadata().issuer, audience: options.clientId, typ: 'logout+jwt',
        requiredClaims: ['iat', 'jti', 'events'], maxTokenAge: REPLAY_WINDOW_S, clockTolerance: CLOCK_SKEW_S,
      }));
      const event = (payload.events as Record<string, unknown> | undefined)?.[BACKCHANNEL_EVENT];
      if (!event || typeof event !== 'object') throw new Error('not a back-channel logout event');
      if ('nonce' in payload) throw new Error('nonce not allowed'); // an ID token is not a logout token
      if (typeof payload.sid !== 'string' && typeof payload.sub !== 'string') throw new Error('sid or sub required');
      const now = Date.now();
      for (const [jti, until] of seenJtis) if (until < now) seenJtis.delete(jti);
      if (seenJtis.has(payload.jti!)) throw new Error('logout token replayed');
      seenJtis.set(payload.jti!, now + (REPLAY_WINDOW_S + 2 * CLOCK_SKEW_S) * 1000);
    } catch (err) {
      log('back-channel logout refused', { error: describe(err) });
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'invalid logout token' };
      return;
    }
    // End every local session of that yihao session (sid), or of that citizen when only sub is sent.
    let ended = 0;
    for (const [id, s] of sessions) {
      const match = typeof payload.sid === 'string' ? s.user?.sid === payload.sid : s.user?.sub === payload.sub;
      if (match) { sessions.delete(id); ended++; }
    }
    log('back-channel logout', { sid: payload.sid, sub: payload.sub, ended });
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 200;
  }

  const routes: Record<string, (ctx: Context) => Promise<void>> = {
    'GET /': home, 'GET /login': login, 'GET /callback': callback,
    'POST /logout': logout, 'POST /backchannel-logout': backchannelLogout,
  };
  const app = new Koa({ proxy: options.trustProxy ?? false });
  app.use(async (ctx) => { await routes[`${ctx.method} ${ctx.path}`]?.(ctx); }); // anything else: Koa's 404
  return app;
}

async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) return new URLSearchParams();
  let body = '';
  ctx.req.setEncoding('utf8');
  for await (const chunk of ctx.req) {
    body += chunk;
    if (body.length > 16_384) ctx.throw(413);
  }
  return new URLSearchParams(body);
}

// openid-client errors carry the OAuth error code (RFC 6749 §5.2) in different places.
function describe(err: unknown): string {
  const e = err as { message?: string; error?: string; error_description?: string; cause?: Array<{ parameters?: Record<string, string> }> };
  const oauth = e.error ? e : Array.isArray(e.cause) ? e.cause[0]?.parameters : undefined;
  return oauth?.error ? `${oauth.error}: ${oauth.error_description ?? ''}` : String(e.message ?? err);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// `node clients/examples/department-app.ts`: configuration from the environment, defaults matching
// clients/social-security.json. Importing this file (as the test does) starts nothing.
if (import.meta.main) {
  const port = Number(process.env.PORT ?? 3001);
  const appUrl = process.env.APP_URL ?? `http://localhost:${port}`;
  // The development secret from clients/social-security.json, and only for an app on localhost.
  const devSecret = appUrl.startsWith('http://localhost:') ? 'dev-only-social-security-secret-0123456789' : undefined;
  const clientSecret = process.env.CLIENT_SECRET ?? devSecret;
  if (!clientSecret) { console.error('CLIENT_SECRET is required when APP_URL is not http://localhost'); process.exit(2); }
  const options: DepartmentAppOptions = {
    issuer: process.env.YIHAO_ISSUER ?? 'http://localhost:3000', clientId: process.env.CLIENT_ID ?? 'social-security',
    clientSecret, appUrl, trustProxy: process.env.TRUST_PROXY === 'true',
  };
  try {
    const app = await createDepartmentApp(options);
    app.listen(port, () => console.log(`department app on ${options.appUrl} (issuer ${options.issuer})`))
      .on('error', (err) => { console.error(`could not listen on port ${port}: ${err.message}`); process.exit(1); });
  } catch (err) {
    console.error(`could not start: ${describe(err)}\nIs yihao running (npm start), and is YIHAO_ISSUER exactly its issuer? (${options.issuer})`);
    process.exit(1);
  }
}
