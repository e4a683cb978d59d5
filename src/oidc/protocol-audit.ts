// Protocol events for the audit trail (docs/audit.md): sso.connect, token.issued, token.refreshed,
// token.revoked, grant.revoked, logout and logout.backchannel, from oidc-provider's events. The library emits
// them synchronously while it handles the request; each write's promise is kept on the request, and the
// response does not leave before every one is durable (spooled in Redis, or committed without Redis).
// One that is not turns the response into an error: no code, no token without its record.
// With the Redis spool, the two events of the connect path are not separate writes: sso.connect goes into
// the same MULTI as the authorization code, token.* into the access token's (auditedSaves below), so the
// record and its event are one round trip and exist together.
import type { Context, Next } from 'koa';
import Provider from 'oidc-provider';
import type { AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';
import type { Audit, AuditEvent, SpoolStream } from '../audit/audit.ts';
import type { SaveEvents } from './adapter-redis.ts';
import type { Logger } from '../log.ts';
import { t } from '../interactions/i18n.ts';
import { requestLanguage } from '../interactions/language.ts';
import { messagePage } from '../interactions/views.ts';
import { pageCsp } from '../http/security-headers.ts';

const AUDIT_WRITES = 'yihaoAuditWrites'; // ctx.state keys: this request's pending audit writes,
const SAVED_WITH_RECORD = 'yihaoAuditSavedWithRecord'; // the event types written with a record's save,
const SAVE_REFUSED = 'yihaoAuditSaveRefused'; // and whether Redis refused one of those

type ProtocolEvent = Omit<AuditEvent, 'outcome' | 'ip' | 'userAgent' | 'requestId'> & { outcome?: AuditEvent['outcome'] };

/** The request's side of an event: where it came from. */
function fromRequest(ctx: KoaContextWithOIDC | undefined, event: ProtocolEvent): AuditEvent {
  return {
    outcome: 'success', ip: ctx?.ip, userAgent: ctx?.get('user-agent'), requestId: ctx?.state.requestId as string | undefined,
    clientId: ctx?.oidc?.client?.clientId, ...event,
  };
}

const tokenEvent = (ctx: KoaContextWithOIDC, accountId: unknown): ProtocolEvent => ({
  type: ctx.oidc.params?.grant_type === 'refresh_token' ? 'token.refreshed' : 'token.issued',
  actor: typeof accountId === 'string' ? accountId : undefined,
  details: { grant_type: ctx.oidc.params?.grant_type },
});

/**
 * The event a save stands for: an authorization code is an app connected (sso.connect); the access token
 * of a token response is the tokens issued (every successful token response has exactly one).
 */
function eventOfSave(ctx: KoaContextWithOIDC, model: string, payload: AdapterPayload): ProtocolEvent | undefined {
  if (model === 'AuthorizationCode') {
    return { type: 'sso.connect', actor: payload.accountId, sessionId: payload.sessionUid, details: { scope: ctx.oidc.params?.scope } };
  }
  if ((model === 'AccessToken' || model === 'ClientCredentials') && ctx.oidc.route === 'token') return tokenEvent(ctx, payload.accountId);
  return undefined;
}

/** For the Redis adapter: sso.connect and token.* written in the MULTI of the code or token they describe. */
export function auditedSaves(stream: SpoolStream, log: Logger): SaveEvents {
  const current = () => Provider.ctx as KoaContextWithOIDC | undefined; // the request this save belongs to
  return {
    stream: stream.key,
    entries(model, payload) {
      const ctx = current();
      const event = ctx?.oidc ? eventOfSave(ctx, model, payload) : undefined;
      if (!event) return undefined;
      ((ctx!.state[SAVED_WITH_RECORD] ??= new Set<string>()) as Set<string>).add(event.type);
      return [stream.entry(fromRequest(ctx, event))];
    },
    connection: stream.connection,
    async written() {
      await stream.durable();
      stream.added();
    },
    failed(err) {
      log.error('audit write failed', { err });
      const ctx = current();
      if (ctx) ctx.state[SAVE_REFUSED] = true;
    },
  };
}

const savedWithRecord = (ctx: KoaContextWithOIDC, type: string) => (ctx.state[SAVED_WITH_RECORD] as Set<string> | undefined)?.has(type) ?? false;

/**
 * Listens to the provider's events and returns the middleware that holds each response until its events
 * are durable. Mount it after the request log and the security headers, so that both see a refusal.
 */
export function protocolAudit(provider: Provider, audit: Audit, log: Logger) {
  const note = (ctx: KoaContextWithOIDC | undefined, event: ProtocolEvent) => {
    const write = audit.spool(fromRequest(ctx, event));
    const pending = ctx?.state[AUDIT_WRITES] as Array<Promise<unknown>> | undefined;
    // Settled into a value at once: a rejection waiting for the await below must not count as unhandled.
    if (pending) pending.push(write.then(() => undefined, (err: unknown) => err ?? new Error('audit write failed')));
    else void write.catch(() => {}); // outside a request (nothing left to refuse); spool() has logged it
  };
  // Without the Redis adapter (or for a response the saves did not cover), the events are written here.
  provider.on('authorization.success', (ctx) => {
    if (savedWithRecord(ctx, 'sso.connect')) return;
    note(ctx, { type: 'sso.connect', actor: ctx.oidc.session?.accountId, sessionId: ctx.oidc.session?.uid, details: { scope: ctx.oidc.params?.scope } });
  });
  provider.on('grant.success', (ctx) => {
    const event = tokenEvent(ctx, undefined);
    if (savedWithRecord(ctx, event.type)) return;
    const source = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.ClientCredentials;
    note(ctx, { ...event, actor: (source as { accountId?: string } | undefined)?.accountId });
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
    // A save whose event Redis refused failed, and the library answered with its own error: answer as below.
    const refused = ctx.state[SAVE_REFUSED] === true;
    if (!writes.length && !refused) return;
    if ((await Promise.all(writes)).some((r) => r !== undefined) || refused) refuseUnaudited(ctx as unknown as KoaContextWithOIDC);
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
