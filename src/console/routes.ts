// /admin: the administration console (docs/console.md), on the provider's Koa app beside /admin/api.
// Every request: no-store → the console session (or sign in) → the viewer (yihao session alive, account
// active, a console role) → the route's permission → for a POST, the form and its CSRF token → the page.
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { AdapterFactory } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Core } from '../app.ts';
import type { Login } from '../accounts/login.ts';
import { AuditWriteError } from '../audit/audit.ts';
import { ApiError } from '../admin/errors.ts';
import { createClientAdmin } from '../admin/clients.ts';
import type { ClientMetadata } from '../clients/registration.ts';
import { BadForm, readForm } from '../http/form.ts';
import { noStore, pageCsp } from '../http/security-headers.ts';
import { otherLanguage } from '../interactions/i18n.ts';
import { requestLanguage } from '../interactions/language.ts';
import { OversightError, sessionOversightFor } from '../sessions/oversight.ts';
import { CONSOLE_CLIENT_ID, CONSOLE_PATHS } from './client.ts';
import { consoleText } from './i18n.ts';
import { messagePage, type Frame, type Viewer } from './layout.ts';
import { can, consoleRoles, type Permission } from './permissions.ts';
import { createConsoleSessions, type ConsoleSession } from './session.ts';
import { createConsoleSignIn } from './sign-in.ts';
import { CONSOLE_STYLESHEET } from './style.ts';
import { createConsolePages, type Call } from './handlers.ts';

export interface ConsoleDeps {
  provider: Provider;
  core: Core;
  /** The provider's short-lived storage: console sessions and sign-in states live there. */
  adapter: AdapterFactory;
  jwks: { keys: JWK[] };
  login: Login;
  csrfKey: string;
  /** The provider's own client metadata check, as the admin API uses it. */
  validate(metadata: ClientMetadata): Promise<void>;
}

interface RouteDef { method: 'GET' | 'POST'; pattern: RegExp; permission?: Permission; handle(c: Call, params: string[]): Promise<void> }

export function consoleRoutes(deps: ConsoleDeps) {
  const { provider, core } = deps;
  const { accounts, log } = core;
  const sessions = createConsoleSessions({ adapter: deps.adapter, csrfKey: deps.csrfKey, production: core.config.production });
  const signIn = createConsoleSignIn({
    provider, adapter: deps.adapter, accounts, audit: core.audit, log, sessions, issuer: core.config.issuer,
    production: core.config.production, jwks: deps.jwks,
  });
  const pages = createConsolePages({
    core, login: deps.login, oversight: sessionOversightFor(core, provider),
    clients: createClientAdmin({ db: core.db, store: core.clients, context: { production: core.config.production, env: process.env }, validate: deps.validate }),
  });

  const id = '([\\w.-]{1,64})';
  const ROUTES: RouteDef[] = [
    { method: 'GET', pattern: /^\/admin\/?$/, permission: 'dashboard.read', handle: (c) => pages.dashboard(c) },
    { method: 'GET', pattern: /^\/admin\/clients$/, permission: 'clients.read', handle: (c) => pages.clients(c) },
    { method: 'GET', pattern: new RegExp(`^/admin/clients/${id}$`), permission: 'clients.read', handle: (c, [p]) => pages.client(c, p!) },
    { method: 'POST', pattern: new RegExp(`^/admin/clients/${id}/(disable|enable|rotate-secret)$`), permission: 'clients.change', handle: (c, [p, a]) => pages.changeClient(c, p!, a!) },
    { method: 'GET', pattern: /^\/admin\/sessions$/, permission: 'sessions.read', handle: (c) => pages.sessions(c) },
    { method: 'POST', pattern: /^\/admin\/sessions\/search$/, permission: 'sessions.read', handle: (c) => pages.findSessions(c) },
    { method: 'POST', pattern: /^\/admin\/sessions\/end-all$/, permission: 'sessions.end', handle: (c) => pages.endAllSessions(c) },
    { method: 'GET', pattern: new RegExp(`^/admin/sessions/${id}$`), permission: 'sessions.read', handle: (c, [p]) => pages.session(c, p!) },
    { method: 'POST', pattern: new RegExp(`^/admin/sessions/${id}/end$`), permission: 'sessions.end', handle: (c, [p]) => pages.endSession(c, p!) },
    { method: 'GET', pattern: /^\/admin\/accounts$/, permission: 'accounts.read', handle: (c) => pages.accountSearch(c) },
    { method: 'POST', pattern: /^\/admin\/accounts\/search$/, permission: 'accounts.read', handle: (c) => pages.findAccount(c) },
    { method: 'GET', pattern: new RegExp(`^/admin/accounts/${id}$`), permission: 'accounts.read', handle: (c, [p]) => pages.account(c, p!) },
    { method: 'POST', pattern: new RegExp(`^/admin/accounts/${id}/(lock|unlock|force-reset|cancel-reset)$`), permission: 'accounts.change', handle: (c, [p, a]) => pages.changeAccount(c, p!, a!) },
    { method: 'POST', pattern: new RegExp(`^/admin/accounts/${id}/temporary-password$`), permission: 'accounts.change', handle: (c, [p]) => pages.issueTemporaryPassword(c, p!) },
    { method: 'GET', pattern: /^\/admin\/audit$/, permission: 'audit.read', handle: (c) => pages.audit(c) },
    { method: 'POST', pattern: /^\/admin\/audit\/export$/, permission: 'audit.read', handle: (c) => pages.exportAudit(c) },
    { method: 'POST', pattern: /^\/admin\/audit\/verify$/, permission: 'audit.read', handle: (c) => pages.verifyAudit(c) },
    { method: 'POST', pattern: /^\/admin\/sign-out$/, handle: (c) => signIn.signOut(c.ctx, c.session) },
  ];

  function frameOf(ctx: Context, viewer?: Viewer): Frame {
    const lang = requestLanguage(ctx);
    const other = otherLanguage(lang);
    // A form's result page switches language on the page it came from; a GET switches in place.
    let langSwitchHref = `${CONSOLE_PATHS.base}?lang=${other}`;
    if (ctx.method === 'GET' && ctx.path !== CONSOLE_PATHS.callback) {
      const query = new URLSearchParams(ctx.querystring);
      query.set('lang', other);
      langSwitchHref = `${ctx.path}?${query}`;
    }
    return { lang, m: consoleText(lang), viewer, langSwitchHref };
  }

  function send(ctx: Context, status: number, html: string) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', pageCsp());
    ctx.body = html;
  }

  function message(ctx: Context, f: Frame, status: number, kind: 'forbiddenNoRole' | 'forbiddenAction' | 'notFound' | 'sessionEnded' | 'formExpired' | 'auditUnavailable' | 'error' | 'signInFailed' | 'signedOut' | 'methodNotAllowed', detail?: string) {
    const { m } = f;
    const texts = {
      forbiddenNoRole: [m.forbiddenTitle, m.forbiddenNoRole],
      forbiddenAction: [m.forbiddenTitle, m.forbiddenAction],
      notFound: [m.notFoundTitle, detail ?? m.notFoundMessage],
      methodNotAllowed: [m.notFoundTitle, m.notFoundMessage],
      sessionEnded: [m.sessionEndedTitle, m.sessionEndedMessage],
      formExpired: [m.formExpiredTitle, m.formExpiredMessage],
      auditUnavailable: [m.unavailableTitle, m.auditUnavailable],
      error: [status === 400 ? m.badRequestTitle : m.errorTitle, detail ?? m.errorMessage],
      signInFailed: [m.errorTitle, m.signInFailed],
      signedOut: [m.signedOutTitle, m.signedOutMessage],
    } as const;
    const [title, text] = texts[kind];
    const link = kind === 'sessionEnded' || kind === 'signInFailed' || kind === 'signedOut' || kind === 'forbiddenNoRole'
      ? { href: CONSOLE_PATHS.base, text: kind === 'forbiddenNoRole' ? m.signInOther : m.signIn } : undefined;
    send(ctx, status, messagePage(f, { title, message: text, status: status >= 400 ? status : undefined, link }));
  }

  /** The administrator behind a console session, checked on every request; undefined ends the console session. */
  async function viewerOf(ctx: Context, session: ConsoleSession): Promise<Viewer | 'no_role' | undefined> {
    const [yihaoSession, account] = await Promise.all([provider.Session.findByUid(session.sessionUid), accounts.findById(session.accountId)]);
    if (!yihaoSession || yihaoSession.accountId !== session.accountId || !account || account.status !== 'active') return undefined;
    // A role revoked a moment ago is gone now.
    const roles = consoleRoles(account.roles);
    if (!roles.length) return 'no_role';
    const csrf = sessions.csrfToken(session);
    return { name: account.name, roles, csrf, can: (p) => can(roles, p) };
  }

  async function serve(ctx: Context) {
    if (ctx.path === CONSOLE_PATHS.stylesheet && ctx.method === 'GET') {
      ctx.type = 'text/css';
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = CONSOLE_STYLESHEET;
      return;
    }
    noStore(ctx);
    if (ctx.path === CONSOLE_PATHS.backchannelLogout && ctx.method === 'POST') {
      ctx.status = await signIn.backchannelLogout(ctx);
      ctx.body = '';
      return;
    }
    if (ctx.path === CONSOLE_PATHS.callback && ctx.method === 'GET') {
      const r = await signIn.callback(ctx);
      if (r.ok) return ctx.redirect(r.returnTo ?? CONSOLE_PATHS.base);
      return r.reason === 'no_role' ? message(ctx, frameOf(ctx), 403, 'forbiddenNoRole') : message(ctx, frameOf(ctx), 400, 'signInFailed');
    }
    if (ctx.path === CONSOLE_PATHS.signedOut && ctx.method === 'GET') return message(ctx, frameOf(ctx), 200, 'signedOut');

    const matches = ROUTES.map((r) => ({ r, m: r.pattern.exec(ctx.path) })).filter((x) => x.m);
    const hit = matches.find((x) => x.r.method === ctx.method);
    if (!hit) return message(ctx, frameOf(ctx), matches.length ? 405 : 404, matches.length ? 'methodNotAllowed' : 'notFound');

    const session = await sessions.current(ctx);
    const viewer = session ? await viewerOf(ctx, session) : undefined;
    if (!session || !viewer || viewer === 'no_role') {
      await sessions.end(ctx, session);
      if (viewer === 'no_role') return message(ctx, frameOf(ctx), 403, 'forbiddenNoRole');
      // A page is asked for again after signing in; a form's content is not replayed.
      if (ctx.method === 'GET') return signIn.start(ctx, ctx.url);
      return message(ctx, frameOf(ctx), 403, 'sessionEnded');
    }
    const frame = frameOf(ctx, viewer);
    if (hit.r.permission && !viewer.can(hit.r.permission)) return message(ctx, frame, 403, 'forbiddenAction');
    let form: URLSearchParams | undefined;
    if (ctx.method === 'POST') {
      form = await readForm(ctx);
      if (!sessions.csrfValid(session, form.get('csrf'))) return message(ctx, frame, 403, 'formExpired');
    }
    const call: Call = {
      ctx, session, viewer, frame, form: form ?? new URLSearchParams(),
      by: { actor: session.accountId, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, requestId: ctx.state.requestId as string | undefined },
      admin: { kind: 'account', accountId: session.accountId, clientId: CONSOLE_CLIENT_ID },
      render: (status, html) => send(ctx, status, html),
      fail: (status, detail) => message(ctx, frame, status, status === 404 ? 'notFound' : 'error', detail),
    };
    await hit.r.handle(call, hit.m!.slice(1));
  }

  return async function adminConsole(ctx: Context, next: Next) {
    if (ctx.path !== CONSOLE_PATHS.base && !ctx.path.startsWith(`${CONSOLE_PATHS.base}/`)) return next();
    if (ctx.path === '/admin/api' || ctx.path.startsWith('/admin/api/')) return next();
    try {
      await serve(ctx);
    } catch (err) {
      noStore(ctx);
      const f = frameOf(ctx);
      if (err instanceof AuditWriteError) {
        log.error('console action refused: audit unavailable', { err, path: ctx.path });
        return message(ctx, f, 503, 'auditUnavailable');
      }
      if (err instanceof BadForm) return message(ctx, f, err.status, 'formExpired');
      if (err instanceof OversightError) {
        const text = err.code === 'account_not_found' ? f.m.accountNotFound : err.code === 'session_not_found' ? f.m.sessionNotFound : err.message;
        return message(ctx, f, err.status, err.status === 404 ? 'notFound' : 'error', text);
      }
      if (err instanceof ApiError && err.status < 500) return message(ctx, f, err.status, err.status === 404 ? 'notFound' : 'error', err.status === 404 ? undefined : err.message);
      log.error('console request failed', { err, path: ctx.path, method: ctx.method });
      return message(ctx, f, 500, 'error');
    }
  };
}
