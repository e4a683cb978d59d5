// /account: the citizen's own pages (docs/my-apps.md), on the provider's Koa app like the console.
// Every request: no-store → the page session (or sign in through yihao) → the person (SSO session alive,
// account active) → for a POST, the form and its CSRF token → the page.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { AdapterFactory } from 'oidc-provider';
import type { Core } from '../app.ts';
import { AuditWriteError } from '../audit/audit.ts';
import { BadForm, readForm } from '../http/form.ts';
import { noStore, pageCsp } from '../http/security-headers.ts';
import { otherLanguage, type Lang } from '../interactions/i18n.ts';
import { requestLanguage } from '../interactions/language.ts';
import { grantIndexFor } from '../oidc/grant-index.ts';
import { sessionIndexFor } from '../sessions/session-store.ts';
import { createConsoleSessions, type ConsoleSession } from '../console/session.ts';
import { ACCOUNT_CLIENT_ID, ACCOUNT_PATHS } from './client.ts';
import { createAccountSignIn } from './sign-in.ts';
import { createMyApps } from './my-apps.ts';
import { accountText } from './text.ts';
import { ACCOUNT_STYLESHEET, accountMessagePage, appsPage } from './views.ts';

export interface AccountDeps {
  provider: Provider;
  core: Core;
  /** The provider's short-lived storage: page sessions and sign-in states live there. */
  adapter: AdapterFactory;
  csrfKey: string;
}

const WITHDRAW = /^\/account\/apps\/([\w-]{1,128})\/withdraw$/;

export function accountRoutes(deps: AccountDeps) {
  const { provider, core } = deps;
  const { issuer, production } = core.config;
  const sessions = createConsoleSessions({
    adapter: deps.adapter, csrfKey: deps.csrfKey, production,
    place: { model: 'AccountPageSession', cookie: 'yihao_account', path: ACCOUNT_PATHS.base, purpose: 'account-csrf' },
  });
  const signIn = createAccountSignIn({ provider, adapter: deps.adapter, accounts: core.accounts, sessions, issuer, production });
  const myApps = createMyApps({
    provider, grants: grantIndexFor(core), sessions: sessionIndexFor(core), audit: core.audit, clients: core.clients, db: core.db,
  });
  // The provider's own logout confirmation; it ends the SSO session, and with it this page's session.
  const signOutHref = `/session/end?client_id=${ACCOUNT_CLIENT_ID}`;

  function send(ctx: Context, status: number, html: string) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', pageCsp());
    ctx.body = html;
  }

  function frame(ctx: Context, lang: Lang) {
    return { lang, langSwitchHref: ctx.method === 'GET' ? `${ctx.path}?lang=${otherLanguage(lang)}` : `${ACCOUNT_PATHS.apps}?lang=${otherLanguage(lang)}` };
  }

  function message(ctx: Context, status: number, kind: 'notFound' | 'expired' | 'error' | 'unavailable' | 'signInFailed') {
    const lang = requestLanguage(ctx);
    const x = accountText(lang);
    const [title, text] = {
      notFound: [x.notFoundTitle, x.notFoundMessage],
      expired: [x.expiredTitle, x.expiredMessage],
      error: [x.errorTitle, x.errorMessage],
      unavailable: [x.errorTitle, x.unavailableMessage],
      signInFailed: [x.errorTitle, x.signInFailedMessage],
    }[kind] as [string, string];
    send(ctx, status, accountMessagePage({ ...frame(ctx, lang), title, message: text, status: status >= 400 ? status : undefined, back: true }));
  }

  const noticeTag = (session: ConsoleSession, clientId: string) =>
    createHmac('sha256', sessions.csrfToken(session)).update(`withdrawn\u0000${clientId}`).digest('base64url').slice(0, 22);
  const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  /** The page session, if its SSO session is still alive for the same person and the account is active. */
  async function personOf(ctx: Context): Promise<ConsoleSession | undefined> {
    const session = await sessions.current(ctx);
    if (!session) return undefined;
    const [sso, account] = await Promise.all([provider.Session.findByUid(session.sessionUid), core.accounts.findById(session.accountId)]);
    if (sso?.accountId === session.accountId && account?.status === 'active') return session;
    await sessions.end(ctx, session);
    return undefined;
  }

  async function showApps(ctx: Context, session: ConsoleSession) {
    const lang = requestLanguage(ctx);
    const apps = await myApps.list(session.accountId);
    // The notice only follows this person's own withdrawal: a crafted link has no valid tag for their session.
    const withdrawnId = typeof ctx.query.withdrawn === 'string' ? ctx.query.withdrawn.slice(0, 128) : undefined;
    const tag = typeof ctx.query.tag === 'string' ? ctx.query.tag : '';
    const withdrawn = withdrawnId && sameText(tag, noticeTag(session, withdrawnId))
      ? (core.clients.cached(withdrawnId) as { client_name?: string } | undefined)?.client_name : undefined;
    send(ctx, 200, appsPage({ ...frame(ctx, lang), signOutHref, apps, csrf: sessions.csrfToken(session), withdrawn }));
  }

  async function withdraw(ctx: Context, session: ConsoleSession, grantId: string) {
    const form = await readForm(ctx);
    if (!sessions.csrfValid(session, form.get('csrf'))) return message(ctx, 403, 'expired');
    const done = await myApps.withdraw(session.accountId, grantId, {
      ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, requestId: ctx.state.requestId as string | undefined,
    });
    if (!done) return message(ctx, 404, 'notFound');
    // Post/redirect/get: a reload does not post again.
    ctx.status = 303;
    ctx.redirect(`${ACCOUNT_PATHS.apps}?${new URLSearchParams({ withdrawn: done.clientId, tag: noticeTag(session, done.clientId) })}`);
  }

  async function serve(ctx: Context) {
    if (ctx.path === ACCOUNT_PATHS.stylesheet && ctx.method === 'GET') {
      ctx.type = 'text/css';
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = ACCOUNT_STYLESHEET;
      return;
    }
    noStore(ctx);
    if (ctx.path === ACCOUNT_PATHS.callback && ctx.method === 'GET') {
      const r = await signIn.callback(ctx);
      return r ? ctx.redirect(r.returnTo) : message(ctx, 400, 'signInFailed');
    }
    const isApps = ctx.path === ACCOUNT_PATHS.apps || ctx.path === ACCOUNT_PATHS.base || ctx.path === `${ACCOUNT_PATHS.base}/`;
    const withdrawal = WITHDRAW.exec(ctx.path);
    if (!(isApps && ctx.method === 'GET') && !(withdrawal && ctx.method === 'POST')) {
      return message(ctx, isApps || withdrawal ? 405 : 404, isApps || withdrawal ? 'error' : 'notFound');
    }
    const session = await personOf(ctx);
    if (!session) {
      // A page is asked for again after signing in; a form's content is not replayed.
      if (ctx.method === 'GET') return signIn.start(ctx, ctx.path === ACCOUNT_PATHS.apps ? ctx.url : ACCOUNT_PATHS.apps);
      return message(ctx, 403, 'expired');
    }
    if (withdrawal) return withdraw(ctx, session, withdrawal[1]!);
    if (ctx.path !== ACCOUNT_PATHS.apps) return ctx.redirect(ACCOUNT_PATHS.apps);
    return showApps(ctx, session);
  }

  return async function account(ctx: Context, next: Next) {
    if (ctx.path !== ACCOUNT_PATHS.base && !ctx.path.startsWith(`${ACCOUNT_PATHS.base}/`)) return next();
    try {
      await serve(ctx);
    } catch (err) {
      noStore(ctx);
      if (err instanceof AuditWriteError) {
        core.log.error('consent withdrawal refused: audit unavailable', { err, path: ctx.path });
        return message(ctx, 503, 'unavailable');
      }
      if (err instanceof BadForm) return message(ctx, err.status, 'expired');
      core.log.error('account page failed', { err, path: ctx.path, method: ctx.method });
      return message(ctx, 500, 'error');
    }
  };
}
