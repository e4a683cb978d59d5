// Signing in to yihao's own pages (the console, the citizen's account pages) through yihao itself, as
// /cas/login does for a CAS service: the provider's authorization endpoint for a built-in client (PKCE),
// and the code read and consumed in-process at the page's callback. The verifier is never needed: the
// callback compares the challenge it stored. What a page makes of the signed-in account is its own.
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AdapterFactory } from 'oidc-provider';

interface LoginState { returnTo: string; codeChallenge: string; iat: number }

export interface InternalSignInOptions {
  provider: Provider;
  adapter: AdapterFactory;
  /** The short-lived model the login states are kept under (e.g. 'ConsoleLogin'). */
  stateModel: string;
  clientId: string;
  issuer: string;
  callbackPath: string;
  /** The state cookie's name prefix (one cookie per sign-in under way). */
  cookiePrefix: string;
  stateTtlSeconds: number;
  production: boolean;
  /** Where to come back to: only paths of the page's own, anything else its home. */
  safeReturnTo(path: string): string;
  /** 'login' when the page wants the password presented again (the console). */
  prompt?: string;
}

/** The code this sign-in was for, consumed; and where to go back to. */
export interface Redeemed { code: InstanceType<Provider['AuthorizationCode']>; returnTo: string }

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export function createInternalSignIn(o: InternalSignInOptions) {
  const states = o.adapter(o.stateModel);
  const callbackUrl = `${o.issuer}${o.callbackPath}`;
  const stateCookie = (state: string) => `${o.cookiePrefix}${state}`;

  /** Single use: the state is consumed (atomically, on both stores) before it is read. */
  async function useState(state: string): Promise<LoginState | undefined> {
    try {
      await states.consume(state);
    } catch {
      return undefined;
    }
    const found = (await states.find(state)) as (LoginState & { consumed?: number }) | undefined;
    return found && found.iat + o.stateTtlSeconds > Date.now() / 1000 ? found : undefined;
  }

  return {
    /** Sends the browser to the provider's authorization endpoint for the built-in client. */
    async start(ctx: Context, returnTo: string): Promise<void> {
      const state = randomBytes(16).toString('base64url');
      const codeChallenge = s256(randomBytes(32).toString('base64url'));
      await states.upsert(state, { returnTo: o.safeReturnTo(returnTo), codeChallenge, iat: Math.floor(Date.now() / 1000) } as never, o.stateTtlSeconds);
      // Binds the state to this browser: someone else's code cannot be replayed here (login CSRF).
      ctx.cookies.set(stateCookie(state), '1', {
        signed: true, httpOnly: true, sameSite: 'lax', secure: o.production, path: o.callbackPath, maxAge: o.stateTtlSeconds * 1000,
      });
      const auth = new URL(`${o.issuer}/auth`);
      auth.search = new URLSearchParams({
        client_id: o.clientId, response_type: 'code', redirect_uri: callbackUrl, scope: 'openid', state,
        code_challenge: codeChallenge, code_challenge_method: 'S256', ...(o.prompt ? { prompt: o.prompt } : {}),
      }).toString();
      ctx.redirect(auth.href);
    },

    /**
     * At the callback: the state bound to this browser, the code issued for it (client, redirect, challenge,
     * account, session), consumed atomically — a replayed code gets nothing. 'failed': the provider
     * answered with an error for a sign-in of ours; 'expired': anything else.
     */
    async redeem(ctx: Context): Promise<Redeemed | 'expired' | 'failed'> {
      // Only a state we could have made (it names a cookie: other characters would make the cookie library throw).
      const state = typeof ctx.query.state === 'string' && /^[\w-]{1,128}$/.test(ctx.query.state) ? ctx.query.state : undefined;
      const bound = state !== undefined && ctx.cookies.get(stateCookie(state), { signed: true }) === '1';
      if (state) ctx.cookies.set(stateCookie(state), null, { path: o.callbackPath, signed: true });
      const started = bound ? await useState(state!) : undefined;
      if (!started) return 'expired';
      if (ctx.query.error !== undefined) return 'failed';
      const code = typeof ctx.query.code === 'string' ? await o.provider.AuthorizationCode.find(ctx.query.code) : undefined;
      const valid = code && !code.isExpired && code.clientId === o.clientId && code.redirectUri === callbackUrl
        && code.codeChallengeMethod === 'S256' && code.codeChallenge === started.codeChallenge && code.accountId && code.sessionUid;
      if (!valid) return 'expired';
      try {
        await code.consume();
      } catch {
        return 'expired';
      }
      return { code, returnTo: started.returnTo };
    },
  };
}
