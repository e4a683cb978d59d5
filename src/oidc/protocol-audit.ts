// Protocol events for the audit trail (docs/audit.md): sso.connect, token.issued, token.refreshed,
// token.revoked, grant.revoked, logout and logout.backchannel, from oidc-provider's events. The library emits
// them synchronously while it handles the request; each write's promise is kept on the request, and the
// response does not leave before every one is durable (spooled in Redis, or committed without Redis).
// One that is not turns the response into an error: no code, no token without its record.
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Audit, AuditEvent } from '../audit/audit.ts';
import type { Logger } from '../log.ts';
import { t } from '../interactions/i18n.ts';
import { requestLanguage } from '../interactions/language.ts';
import { messagePage } from '../interactions/views.ts';
import { pageCsp } from '../http/security-headers.ts';

const AUDIT_WRITES = 'yihaoAuditWrites'; // ctx.state key: this request's pending audit writes

type ProtocolEvent = Omit<AuditEvent, 'outcome' | 'ip' | 'userAgent' | 'requestId'> & { outcome?: AuditEvent['outcome'] };

/**
 * Listens to the provider's events and returns the middleware that holds each response until its events
 * are durable. Mount it after the request log and the security headers, so that both see a refusal.
 */
export function protocolAudit(provider: Provider, audit: Audit, log: Logger) {
  const note = (ctx: KoaContextWithOIDC | undefined, event: ProtocolEvent) => {
    const write = audit.spool({
      outcome: 'success', ip: ctx?.ip, userAgent: ctx?.get('user-agent'), requestId: ctx?.state.requestId as string | undefined,
      clientId: ctx?.oidc?.client?.clientId, ...event,
    });
    const pending = ctx?.state[AUDIT_WRITES] as Array<Promise<unknown>> | undefined;
    // Settled into a value at once: a rejection waiting for the await below must not count as unhandled.
    if (pending) pending.push(write.then(() => undefined, (err: unknown) => err ?? new Error('audit write failed')));
    else void write.catch(() => {}); // outside a request (nothing left to refuse); spool() has logged it
  };
  provider.on('authorization.success', (ctx) => {
    note(ctx, { type: 'sso.connect', actor: ctx.oidc.session?.accountId, sessionId: ctx.oidc.session?.uid, details: { scope: ctx.oidc.params?.scope } });
  });
  provider.on('grant.success', (ctx) => {
    const refresh = ctx.oidc.params?.grant_type === 'refresh_token';
    const source = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.ClientCredentials;
    note(ctx, { type: refresh ? 'token.refreshed' : 'token.issued', actor: (source as { accountId?: string } | undefined)?.accountId, details: { grant_type: ctx.oidc.params?.grant_type } });
  });
  provider.on('grant.revoked', (ctx, grantId) => note(ctx, { type: 'grant.revoked', actor: ctx.oidc?.account?.accountId, details: { grantId } }));
  provider.on('end_session.success', (ctx) => note(ctx, { type: 'logout', actor: ctx.oidc.session?.accountId, sessionId: ctx.oidc.session?.uid }));

  provider.on('backchannel.error', (ctx, err, client, accountId, sid) => {
    log.warn('back-channel logout failed', { clientId: client.clientId, err });
    note(ctx, { type: 'logout.backchannel', outcome: 'failure', actor: accountId, clientId: client.clientId, sessionId: sid, details: { error: err.message } });
  });
  provider.on('backchannel.success', (ctx, client, accountId, sid) => {
    note(ctx, { type: 'logout.backchannel', actor: accountId, clientId: client.clientId, sessionId: sid });
  });

  return async (ctx: Context, next: Next) => {
    const writes: Array<Promise<unknown>> = [];
    ctx.state[AUDIT_WRITES] = writes;
    await next();
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
    // RFC 7009 revocation answers 200 whatever the token was; record the request the client made.
    if (oidc?.route === 'revocation' && ctx.status === 200) note(ctx as unknown as KoaContextWithOIDC, { type: 'token.revoked', details: { token_type_hint: oidc.params?.token_type_hint } });
    if (!writes.length) return;
    if ((await Promise.all(writes)).some((r) => r !== undefined)) refuseUnaudited(ctx as unknown as KoaContextWithOIDC);
  };
}

/**
 * The action's audit event is not durable, so its result must not reach the client: no code in a redirect,
 * no token in a body. The answer keeps the form the client expected — a page for the browser, RFC 6749-style
 * JSON for the back channel — and says nothing about the cause (the log has it).
 */
function refuseUnaudited(ctx: KoaContextWithOIDC) {
  const page = (ctx.status >= 300 && ctx.status < 400) || Boolean(ctx.response.is('html'));
  ctx.remove('Location');
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Retry-After', '5');
  ctx.status = 503;
  if (page) {
    const lang = requestLanguage(ctx);
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', pageCsp()); // replaces form_post's own policy, if that was the answer
    ctx.body = messagePage({ lang, status: 503, title: t(lang).errorTitle, message: t(lang).errorMessage });
  } else {
    ctx.body = { error: 'temporarily_unavailable', error_description: 'the request could not be recorded in the audit trail; retry later' };
  }
}
