// Signing in to the console through yihao itself, as /cas/login does for a CAS service: the provider's own
// authorization endpoint for the built-in console client (PKCE, prompt=login: an administrator presents
// the password again for the console), the code read and consumed in-process at /admin/callback, and only
// an account holding a console role gets a console session. Every sign-in, refusal and sign-out is audited.
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AdapterFactory } from 'oidc-provider';
import { createInternalSignIn } from '../oidc/internal-sign-in.ts';
import type { JWK } from 'jose';
import type { Accounts, Account } from '../accounts/accounts.ts';
import type { Audit } from '../audit/audit.ts';
import type { Logger } from '../log.ts';
import { readForm } from '../http/form.ts';
import { createLogoutTokenVerifier } from '../cas/logout.ts';
import { CONSOLE_CLIENT_ID, CONSOLE_PATHS } from './client.ts';
import { consoleRoles } from './permissions.ts';
import type { ConsoleSession, ConsoleSessions } from './session.ts';

const LOGIN_STATE_TTL_SECONDS = 30 * 60;

export type SignInResult =
  | { ok: true; session: ConsoleSession; account: Account }
  | { ok: false; reason: 'expired' | 'failed' | 'no_role' };

/** A path inside the console to come back to after signing in; anything else goes to the dashboard. */
export function safeReturnTo(path: string): string {
  return /^\/admin(\/[\w\-./%]*)?(\?[\w\-.~%&=+*:]*)?$/.test(path) && !path.includes('//') && !path.startsWith('/admin/api') ? path : CONSOLE_PATHS.base;
}

export function createConsoleSignIn(deps: {
  provider: Provider; adapter: AdapterFactory; accounts: Accounts; audit: Audit; log: Logger; sessions: ConsoleSessions;
  issuer: string; production: boolean; jwks: { keys: JWK[] };
}) {
  const { accounts, audit, log, sessions, issuer } = deps;
  const signIn = createInternalSignIn({
    provider: deps.provider, adapter: deps.adapter, stateModel: 'ConsoleLogin', clientId: CONSOLE_CLIENT_ID, issuer,
    callbackPath: CONSOLE_PATHS.callback, cookiePrefix: 'yihao_console_', stateTtlSeconds: LOGIN_STATE_TTL_SECONDS,
    production: deps.production, safeReturnTo, prompt: 'login', // an administrator presents the password again for the console
  });
  const verifyLogoutToken = createLogoutTokenVerifier({ issuer, jwks: deps.jwks });
  const requestOf = (ctx: Context) => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || null, requestId: (ctx.state.requestId as string | undefined) ?? null });

  return {
    /** Sends the browser to the provider's authorization endpoint for the console client. */
    start: (ctx: Context, returnTo: string) => signIn.start(ctx, returnTo),

    /** /admin/callback: the code → a console session, for an account holding a console role. */
    async callback(ctx: Context): Promise<SignInResult & { returnTo?: string }> {
      const redeemed = await signIn.redeem(ctx);
      if (typeof redeemed === 'string') return { ok: false, reason: redeemed };
      const { code, returnTo } = redeemed;
      if (!code.sid) return { ok: false, reason: 'expired' }; // the console client has back-channel logout: codes carry its sid
      const account = await accounts.findById(code.accountId!);
      const roles = account?.status === 'active' ? consoleRoles(account.roles) : [];
      const event = { actor: code.accountId!, clientId: CONSOLE_CLIENT_ID, sessionId: code.sessionUid!, ...requestOf(ctx) };
      if (!account || !roles.length) {
        await audit.record({ ...event, type: 'console.access_denied', outcome: 'failure', details: { reason: account ? 'no console role' : 'account not active' } });
        return { ok: false, reason: 'no_role' };
      }
      // Fail closed: a sign-in that cannot be recorded does not happen.
      await audit.record({ ...event, type: 'console.signed_in', outcome: 'success', details: { roles } });
      const session = await sessions.start(ctx, { accountId: account.id, sid: code.sid!, sessionUid: code.sessionUid! });
      return { ok: true, session, account, returnTo };
    },

    /** /admin/backchannel-logout: the yihao session ended, so does the console session bound to it. */
    async backchannelLogout(ctx: Context): Promise<number> {
      let token;
      try {
        token = await verifyLogoutToken((await readForm(ctx)).get('logout_token') ?? '');
      } catch (err) {
        log.warn('console back-channel logout refused', { reason: (err as Error).message });
        return 400; // Back-Channel Logout 1.0 §2.8
      }
      if (token.clientId !== CONSOLE_CLIENT_ID) return 400;
      const ended = await sessions.endBySid(token.sid);
      if (ended) {
        await audit.record({
          type: 'console.signed_out', outcome: 'success', actor: ended.accountId, clientId: CONSOLE_CLIENT_ID, sessionId: ended.sessionUid,
          requestId: (ctx.state.requestId as string | undefined) ?? null, details: { reason: 'yihao session ended' },
        }).catch((err) => log.error('console sign-out not audited', { err }));
      }
      return 200;
    },

    /** Ends the console session, then sends the browser to end the yihao session too (with its own confirmation). */
    async signOut(ctx: Context, session: ConsoleSession): Promise<void> {
      await sessions.end(ctx, session);
      await audit.record({
        type: 'console.signed_out', outcome: 'success', actor: session.accountId, clientId: CONSOLE_CLIENT_ID, sessionId: session.sessionUid,
        ...requestOf(ctx), details: { reason: 'signed out' },
      }).catch((err) => log.error('console sign-out not audited', { err }));
      const end = new URL(`${issuer}/session/end`);
      end.search = new URLSearchParams({ client_id: CONSOLE_CLIENT_ID, post_logout_redirect_uri: `${issuer}${CONSOLE_PATHS.signedOut}` }).toString();
      ctx.redirect(end.href);
    },
  };
}
