// Remembers where a login came from (IP, user agent) with the session, for session oversight.
//
// The login form cannot do it: at a first login the browser has no session yet — the provider creates it,
// with its uid, when the browser comes back to the authorization endpoint (the "resume" route) carrying the
// login result. So this runs around that route: once the provider has saved the signed-in session, one
// write keyed by the session uid. It is the same browser a moment after the form post, so the same IP and
// user agent that the login.success audit event records.
import type { Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../log.ts';
import type { SessionIndex } from './session-index.ts';

export function recordLoginContext(index: SessionIndex, log: Logger, options: { authorizationPath?: string } = {}) {
  const resumePrefix = `${options.authorizationPath ?? '/auth'}/`;
  return async function loginContext(ctx: KoaContextWithOIDC, next: Next) {
    await next();
    if (!ctx.path.startsWith(resumePrefix)) return; // touch ctx.oidc only where the provider made one
    const { oidc } = ctx;
    const session = oidc?.session;
    if (oidc?.route !== 'resume' || !oidc.result?.login || !session?.uid || !session.accountId) return;
    if ((session as { destroyed?: boolean }).destroyed) return;
    try {
      await index.recordLoginContext(session.uid, { ip: ctx.ip, userAgent: ctx.get('user-agent') });
    } catch (err) {
      // Display data only: the audit trail already holds the login with its IP; the login goes ahead.
      log.warn('could not record the login context of a session', { err });
    }
  };
}
