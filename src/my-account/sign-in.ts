// Signing in to the citizen's own pages through yihao itself, as the console does (src/console/sign-in.ts):
// the provider's authorization endpoint for the built-in account client (PKCE), the code read and consumed
// in-process at /account/callback. No prompt: a live SSO session signs the person in without a form, and
// without one the provider shows the login page. The page session is bound to that SSO session.
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AdapterFactory } from 'oidc-provider';
import { createInternalSignIn } from '../oidc/internal-sign-in.ts';
import type { Accounts } from '../accounts/accounts.ts';
import type { ConsoleSession, ConsoleSessions } from '../console/session.ts';
import { ACCOUNT_CLIENT_ID, ACCOUNT_PATHS } from './client.ts';

const LOGIN_STATE_TTL_SECONDS = 60 * 60; // elderly users on slow phones need time at the login page

/** A page of the account pages to come back to after signing in; anything else goes to "my apps". */
export function safeReturnTo(path: string): string {
  return /^\/account(\/[\w\-./%]*)?(\?[\w\-.~%&=+*:]*)?$/.test(path) && !path.includes('//') && !path.includes('..') ? path : ACCOUNT_PATHS.apps;
}

export function createAccountSignIn(deps: {
  provider: Provider; adapter: AdapterFactory; accounts: Accounts; sessions: ConsoleSessions; issuer: string; production: boolean;
}) {
  const { provider, accounts, sessions } = deps;
  const signIn = createInternalSignIn({
    provider, adapter: deps.adapter, stateModel: 'AccountLogin', clientId: ACCOUNT_CLIENT_ID, issuer: deps.issuer,
    callbackPath: ACCOUNT_PATHS.callback, cookiePrefix: 'yihao_account_', stateTtlSeconds: LOGIN_STATE_TTL_SECONDS,
    production: deps.production, safeReturnTo, // no prompt: a live SSO session signs the person in without a form
  });

  return {
    /** Sends the browser to the provider's authorization endpoint for the account client. */
    start: (ctx: Context, returnTo: string) => signIn.start(ctx, returnTo),

    /** /account/callback: the code → a page session for an active account. */
    async callback(ctx: Context): Promise<{ session: ConsoleSession; returnTo: string } | undefined> {
      const redeemed = await signIn.redeem(ctx);
      if (typeof redeemed === 'string') return undefined;
      const { code, returnTo } = redeemed;
      const [account, sso] = await Promise.all([accounts.findById(code.accountId!), provider.Session.findByUid(code.sessionUid!)]);
      // The page session is keyed by the sid this client has in the SSO session (codes carry one only for
      // clients with back-channel logout, which this one does not need: every request checks the session).
      const sid = sso && sso.accountId === code.accountId ? sso.authorizations?.[ACCOUNT_CLIENT_ID]?.sid : undefined;
      if (account?.status !== 'active' || !sid) return undefined;
      const session = await sessions.start(ctx, { accountId: account.id, sid, sessionUid: code.sessionUid! });
      return { session, returnTo };
    },
  };
}
