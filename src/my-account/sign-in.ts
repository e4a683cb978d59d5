// Signing in to the citizen's own pages through yihao itself, as the console does (src/console/sign-in.ts):
// the provider's authorization endpoint for the built-in account client (PKCE), the code read and consumed
// in-process at /account/callback. No prompt: a live SSO session signs the person in without a form, and
// without one the provider shows the login page. The page session is bound to that SSO session.
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AdapterFactory } from 'oidc-provider';
import type { Accounts } from '../accounts/accounts.ts';
import type { ConsoleSession, ConsoleSessions } from '../console/session.ts';
import { ACCOUNT_CLIENT_ID, ACCOUNT_PATHS } from './client.ts';

const LOGIN_STATE_TTL_SECONDS = 60 * 60; // elderly users on slow phones need time at the login page
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const stateCookie = (state: string) => `yihao_account_${state}`;

interface LoginState { returnTo: string; codeChallenge: string; iat: number }

/** A page of the account pages to come back to after signing in; anything else goes to "my apps". */
export function safeReturnTo(path: string): string {
  return /^\/account(\/[\w\-./%]*)?(\?[\w\-.~%&=+*:]*)?$/.test(path) && !path.includes('//') && !path.includes('..') ? path : ACCOUNT_PATHS.apps;
}

export function createAccountSignIn(deps: {
  provider: Provider; adapter: AdapterFactory; accounts: Accounts; sessions: ConsoleSessions; issuer: string; production: boolean;
}) {
  const { provider, accounts, sessions, issuer } = deps;
  const states = deps.adapter('AccountLogin');
  const callbackUrl = `${issuer}${ACCOUNT_PATHS.callback}`;

  /** Single use: the state is consumed (atomically, on both stores) before it is read. */
  async function useState(state: string): Promise<LoginState | undefined> {
    try {
      await states.consume(state);
    } catch {
      return undefined;
    }
    const found = (await states.find(state)) as (LoginState & { consumed?: number }) | undefined;
    return found && found.iat + LOGIN_STATE_TTL_SECONDS > Date.now() / 1000 ? found : undefined;
  }

  return {
    /** Sends the browser to the provider's authorization endpoint for the account client. */
    async start(ctx: Context, returnTo: string): Promise<void> {
      const state = randomBytes(16).toString('base64url');
      // /account/callback reads the code in-process and compares the challenge: the verifier is never needed.
      const codeChallenge = s256(randomBytes(32).toString('base64url'));
      await states.upsert(state, { returnTo: safeReturnTo(returnTo), codeChallenge, iat: Math.floor(Date.now() / 1000) } as never, LOGIN_STATE_TTL_SECONDS);
      // Binds the state to this browser: someone else's code cannot be replayed here (login CSRF).
      ctx.cookies.set(stateCookie(state), '1', {
        signed: true, httpOnly: true, sameSite: 'lax', secure: deps.production, path: ACCOUNT_PATHS.callback, maxAge: LOGIN_STATE_TTL_SECONDS * 1000,
      });
      const auth = new URL(`${issuer}/auth`);
      auth.search = new URLSearchParams({
        client_id: ACCOUNT_CLIENT_ID, response_type: 'code', redirect_uri: callbackUrl, scope: 'openid', state,
        code_challenge: codeChallenge, code_challenge_method: 'S256',
      }).toString();
      ctx.redirect(auth.href);
    },

    /** /account/callback: the code → a page session for an active account. */
    async callback(ctx: Context): Promise<{ session: ConsoleSession; returnTo: string } | undefined> {
      // Only a state we could have made (it names a cookie: other characters would make the cookie library throw).
      const state = typeof ctx.query.state === 'string' && /^[\w-]{1,128}$/.test(ctx.query.state) ? ctx.query.state : undefined;
      const bound = state !== undefined && ctx.cookies.get(stateCookie(state), { signed: true }) === '1';
      if (state) ctx.cookies.set(stateCookie(state), null, { path: ACCOUNT_PATHS.callback, signed: true });
      const started = bound ? await useState(state!) : undefined;
      if (!started || ctx.query.error !== undefined) return undefined;

      const code = typeof ctx.query.code === 'string' ? await provider.AuthorizationCode.find(ctx.query.code) : undefined;
      const valid = code && !code.isExpired && code.clientId === ACCOUNT_CLIENT_ID && code.redirectUri === callbackUrl
        && code.codeChallengeMethod === 'S256' && code.codeChallenge === started.codeChallenge && code.accountId && code.sessionUid;
      if (!valid) return undefined;
      try {
        await code.consume(); // atomic: a replayed code gets no second page session
      } catch {
        return undefined;
      }
      const [account, sso] = await Promise.all([accounts.findById(code.accountId!), provider.Session.findByUid(code.sessionUid!)]);
      // The page session is keyed by the sid this client has in the SSO session (codes carry one only for
      // clients with back-channel logout, which this one does not need: every request checks the session).
      const sid = sso && sso.accountId === code.accountId ? sso.authorizations?.[ACCOUNT_CLIENT_ID]?.sid : undefined;
      if (account?.status !== 'active' || !sid) return undefined;
      const session = await sessions.start(ctx, { accountId: account.id, sid, sessionUid: code.sessionUid! });
      return { session, returnTo: started.returnTo };
    },
  };
}
export type AccountSignIn = ReturnType<typeof createAccountSignIn>;
