// CAS 2.0/3.0 server endpoints on the provider's Koa app, for apps that speak only CAS. Each route reads
// as its steps. The SSO session is the provider's: /cas/login goes through its authorization endpoint
// for the service's internal OIDC client (internal-client.ts) and /cas/callback turns the code into a
// service ticket; logout is the provider's end-session; single logout arrives as its back-channel logout.
import { createHash, randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { AdapterFactory } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Core } from '../app.ts';
import { readForm, BadForm } from '../http/form.ts';
import { noStore } from '../http/security-headers.ts';
import { CAS_PATHS, casRegistrations } from './internal-client.ts';
import { isCasRegistration, type CasRegistration } from './registration.ts';
import { findServiceOwner, withTicket } from './services.ts';
import {
  createDbSessionTickets, createRedisSessionTickets, createTicketStores, newServiceTicket, SERVICE_TICKET,
  LOGIN_STATE_TTL_SECONDS, TICKET_TTL_SECONDS, type SessionTickets,
} from './tickets.ts';
import { CasFailure, sendProxyFailure, sendValidate1, sendValidation, type Format, type Success } from './responses.ts';
import { casAttributes, casUser } from './identity.ts';
import { createLogoutTokenVerifier, deliverLogoutRequest } from './logout.ts';
import { messageOnly, sendToApp, serviceErrorPage } from './pages.ts';

export interface CasDeps {
  provider: Provider;
  core: Core;
  /** The provider's short-lived storage (Redis or the database). */
  adapter: AdapterFactory;
  /** The provider's signing keys: logout tokens are verified against their public half. */
  jwks: { keys: JWK[] };
  pairwiseKey: string;
}

// OIDC Core §3.1.2.6 errors that mean "would have to show a page", which gateway=true forbids (CAS 3.0 §2.1.1).
const GATEWAY_ERRORS = new Set(['login_required', 'consent_required', 'interaction_required', 'account_selection_required']);
const LOGOUT_DELIVERY_TIMEOUT_MS = 3000;

/** One value, or undefined when absent; repeated parameters are a bad request. */
function single(ctx: Context, name: string): string | undefined {
  const v = ctx.query[name];
  if (Array.isArray(v)) throw new CasFailure('INVALID_REQUEST', `parameter ${name} given more than once`);
  return v === undefined || v === '' ? undefined : v;
}

// CAS 3.0 §2.1.1: "renew" / "gateway" are set when present; "false" is read as absent, as clients send it.
const flag = (v: string | undefined) => v !== undefined && v.toLowerCase() !== 'false';
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const stateCookie = (state: string) => `yihao_cas_${state}`;
// CAS 3.0 §2.5.1 renew: the ticket must come from credentials presented in this login, not from the SSO
// session. prompt=login guarantees it for renew; otherwise only a sign-in in a later second than the start
// counts (auth_time has one-second resolution: when in doubt, it is not primary).
const isPrimary = (started: { renew: boolean; iat: number }, authTime: number | undefined) =>
  started.renew || (authTime !== undefined && authTime > started.iat);

export function casRoutes(deps: CasDeps) {
  const { provider, core, pairwiseKey } = deps;
  const { config, clients, accounts, audit, log } = core;
  const issuer = config.issuer;
  const callbackUrl = `${issuer}${CAS_PATHS.callback}`;
  const { tickets, logins } = createTicketStores(deps.adapter);
  const sessionTickets: SessionTickets = core.redis
    ? createRedisSessionTickets(core.redis, config.redisKeyPrefix)
    : createDbSessionTickets(core.db);
  const verifyLogoutToken = createLogoutTokenVerifier({ issuer, jwks: deps.jwks });

  // --- /cas/login: registered service → the provider's authorization endpoint for its internal client.
  async function login(ctx: Context) {
    noStore(ctx);
    let service: string | undefined;
    try {
      service = single(ctx, 'service');
    } catch {
      return serviceErrorPage(ctx, 'malformed');
    }
    const owner = findServiceOwner(casRegistrations(clients), service ?? '');
    if (!owner.ok) return serviceErrorPage(ctx, owner.reason);
    // CAS 3.0 §2.1.1: renew wins over gateway.
    const renew = flag(single(ctx, 'renew'));
    const gateway = !renew && flag(single(ctx, 'gateway'));
    const state = randomBytes(16).toString('base64url');
    // PKCE (required of every client): /cas/callback reads the code in-process and compares the challenge,
    // so the verifier itself is never needed again.
    const codeChallenge = s256(randomBytes(32).toString('base64url'));
    await logins.save(state, {
      clientId: owner.client.client_id, service: service!, renew, gateway, codeChallenge, iat: Math.floor(Date.now() / 1000),
    }, LOGIN_STATE_TTL_SECONDS);
    // Binds the state to this browser: a code for someone else's login cannot be replayed here (login CSRF).
    ctx.cookies.set(stateCookie(state), '1', {
      signed: true, httpOnly: true, sameSite: 'lax', secure: config.production, path: CAS_PATHS.callback, maxAge: LOGIN_STATE_TTL_SECONDS * 1000,
    });
    const auth = new URL(`${issuer}/auth`);
    auth.search = new URLSearchParams({
      client_id: owner.client.client_id, response_type: 'code', redirect_uri: callbackUrl, scope: owner.client.scope, state,
      code_challenge: codeChallenge, code_challenge_method: 'S256',
      ...(renew ? { prompt: 'login' } : gateway ? { prompt: 'none' } : {}),
    }).toString();
    ctx.redirect(auth.href);
  }

  // --- /cas/callback: the authorization code, read and consumed in-process → a service ticket.
  async function callback(ctx: Context) {
    noStore(ctx);
    const state = single(ctx, 'state');
    const bound = state !== undefined && ctx.cookies.get(stateCookie(state), { signed: true }) === '1';
    if (state) ctx.cookies.set(stateCookie(state), null, { path: CAS_PATHS.callback, signed: true });
    const started = bound ? await logins.use(state!) : undefined;
    if (!started) return messageOnly(ctx, 400, 'expired');

    const error = single(ctx, 'error');
    if (error) {
      if (started.gateway && GATEWAY_ERRORS.has(error)) return sendToApp(ctx, started.service);
      if (error === 'access_denied') return messageOnly(ctx, 403, 'denied');
      log.warn('cas login failed at the authorization endpoint', { error, clientId: started.clientId });
      return messageOnly(ctx, 400, 'error');
    }

    const code = await provider.AuthorizationCode.find(single(ctx, 'code') ?? '');
    const valid = code && !code.isExpired && code.clientId === started.clientId && code.redirectUri === callbackUrl
      && code.codeChallengeMethod === 'S256' && code.codeChallenge === started.codeChallenge && code.accountId && code.sid && code.sessionUid;
    if (!valid) return messageOnly(ctx, 400, 'expired');
    try {
      await code.consume(); // atomic: a replayed code gets no second ticket
    } catch {
      return messageOnly(ctx, 400, 'expired');
    }
    // The registration may have changed while the citizen was signing in.
    const owner = findServiceOwner(casRegistrations(clients), started.service);
    if (!owner.ok || owner.client.client_id !== started.clientId) return serviceErrorPage(ctx, 'unregistered');

    const ticket = newServiceTicket();
    const now = Math.floor(Date.now() / 1000);
    // Indexed for single logout before the ticket exists: a ticket is never out without its logout.
    await sessionTickets.add(code.sid!, {
      ticket, clientId: started.clientId, accountId: code.accountId!, logoutUrl: owner.client.logout_url ?? started.service,
    }, config.ttl.session);
    await tickets.save(ticket, {
      service: started.service, clientId: started.clientId, accountId: code.accountId!, sid: code.sid!, sessionUid: code.sessionUid!,
      scope: code.scope ?? 'openid', primary: isPrimary(started, code.authTime), authTime: code.authTime,
      iat: now, exp: now + TICKET_TTL_SECONDS,
    }, TICKET_TTL_SECONDS);
    sendToApp(ctx, withTicket(started.service, ticket), owner.client.client_name);
  }

  // --- Ticket validation, shared by every version (CAS 3.0 §2.4–2.6).
  async function validateTicket(ctx: Context, o: { proxy: boolean; attributes: boolean }): Promise<Success> {
    const service = single(ctx, 'service');
    const ticket = single(ctx, 'ticket');
    const renew = flag(single(ctx, 'renew'));
    // pgtUrl is ignored: no proxy granting tickets are issued (§2.5.4 lets the validation succeed without one).
    if (!service || !ticket) throw new CasFailure('INVALID_REQUEST', 'service and ticket are required');
    if (ticket.startsWith('PT-')) {
      throw o.proxy
        ? new CasFailure('UNAUTHORIZED_SERVICE_PROXY', 'proxy tickets are not supported by this server')
        : new CasFailure('INVALID_TICKET_SPEC', 'proxy tickets are not valid here: this endpoint validates service tickets');
    }
    const notRecognized = new CasFailure('INVALID_TICKET', `Ticket ${ticket.slice(0, 64)} not recognized`);
    if (!SERVICE_TICKET.test(ticket)) throw notRecognized;
    // Consumed first, whatever follows (§3.1.1: one validation attempt per ticket).
    const st = await tickets.use(ticket);
    if (!st || st.exp <= Date.now() / 1000) throw notRecognized;
    ctx.state.casTicket = st;
    if (st.service !== service) throw new CasFailure('INVALID_SERVICE', 'the ticket was not issued for this service');
    if (renew && !st.primary) throw new CasFailure('INVALID_TICKET', 'renew was requested but the ticket came from single sign-on');
    const registration = await clients.find(st.clientId);
    if (!isCasRegistration(registration)) throw new CasFailure('INVALID_SERVICE', 'the service is no longer registered');
    const account = await accounts.findById(st.accountId);
    if (!account || account.status !== 'active') throw notRecognized;
    return {
      user: casUser(pairwiseKey, registration, st.accountId),
      ...(o.attributes ? { attributes: casAttributes(account, registration, st.scope, accounts) } : {}),
    };
  }

  function formatOf(ctx: Context): Format {
    const f = single(ctx, 'format')?.toUpperCase() ?? 'XML';
    if (f !== 'XML' && f !== 'JSON') throw new CasFailure('INVALID_REQUEST', 'format must be XML or JSON');
    return f;
  }

  async function auditValidation(ctx: Context, endpoint: string, outcome: Success | CasFailure) {
    const st = ctx.state.casTicket as { clientId: string; accountId: string; sid: string; service: string } | undefined;
    await audit.record({
      type: 'cas.ticket.validated', outcome: outcome instanceof CasFailure ? 'failure' : 'success',
      actor: st?.accountId ?? null, clientId: st?.clientId ?? null, sessionId: st?.sid ?? null,
      ip: ctx.ip, userAgent: ctx.get('user-agent'), requestId: ctx.state.requestId as string,
      details: {
        endpoint, service: st?.service ?? single(ctx, 'service') ?? null,
        ...(outcome instanceof CasFailure ? { code: outcome.code, reason: outcome.message } : {}),
      },
    });
  }

  /** Validates, audits (fail closed: an unrecorded success is not given out), and answers. */
  async function validation(ctx: Context, o: { version: 1 | 2 | 3; proxy: boolean; endpoint: string }) {
    noStore(ctx);
    let format: Format = 'XML';
    let outcome: Success | CasFailure;
    try {
      if (o.version > 1) format = formatOf(ctx);
      outcome = await validateTicket(ctx, { proxy: o.proxy, attributes: o.version === 3 });
    } catch (err) {
      if (!(err instanceof CasFailure)) log.error('cas validation failed', { err, endpoint: o.endpoint });
      outcome = err instanceof CasFailure ? err : new CasFailure('INTERNAL_ERROR', 'the ticket could not be validated');
    }
    try {
      await auditValidation(ctx, o.endpoint, outcome);
    } catch (err) {
      if (!(outcome instanceof CasFailure)) outcome = new CasFailure('INTERNAL_ERROR', 'the validation could not be recorded');
      log.error('cas validation not audited', { err });
    }
    if (o.version === 1) return sendValidate1(ctx, outcome instanceof CasFailure ? undefined : outcome.user);
    sendValidation(ctx, format, outcome);
  }

  // --- /cas/proxy: no proxy granting tickets exist (§2.7).
  function proxy(ctx: Context) {
    noStore(ctx);
    let format: Format = 'XML';
    try {
      format = formatOf(ctx);
    } catch { /* answer in XML */ }
    sendProxyFailure(ctx, format, new CasFailure('UNAUTHORIZED_SERVICE', 'proxy granting tickets are not issued by this server'));
  }

  // --- /cas/logout: the provider's end-session (its confirmation page, back-channel logout to every app).
  function logout(ctx: Context) {
    noStore(ctx);
    const end = new URL(`${issuer}/session/end`);
    let service: string | undefined;
    try {
      service = single(ctx, 'service');
    } catch { /* no redirect then */ }
    const owner = service ? findServiceOwner(casRegistrations(clients), service) : undefined;
    // §2.3.1: back to the service only when it is registered; the provider allows only exact URIs, so it
    // returns to /cas/logged-out, which checks the service again.
    if (owner?.ok) {
      end.search = new URLSearchParams({ client_id: owner.client.client_id, post_logout_redirect_uri: `${issuer}${CAS_PATHS.loggedOut}`, state: service! }).toString();
    }
    ctx.redirect(end.href);
  }

  function loggedOut(ctx: Context) {
    noStore(ctx);
    let service: string | undefined;
    try {
      service = single(ctx, 'state');
    } catch { /* shown the signed-out page */ }
    const owner = findServiceOwner(casRegistrations(clients), service ?? '');
    if (!owner.ok) return messageOnly(ctx, 200, 'signedOut');
    sendToApp(ctx, service!, owner.client.client_name);
  }

  // --- /cas/backchannel-logout: the provider's logout token → one SAML LogoutRequest per ticket.
  async function backchannelLogout(ctx: Context) {
    noStore(ctx);
    let token;
    try {
      const form = await readForm(ctx);
      token = await verifyLogoutToken(form.get('logout_token') ?? '');
    } catch (err) {
      // OIDC Back-Channel Logout 1.0 §2.8: 400 for a token that does not verify.
      log.warn('cas back-channel logout refused', { reason: (err as Error).message });
      ctx.status = err instanceof BadForm ? err.status : 400;
      ctx.body = '';
      return;
    }
    const entries = await sessionTickets.take(token.sid);
    await Promise.all(entries.map(async (entry) => {
      const target = new URL(entry.logoutUrl);
      const where = `${target.origin}${target.pathname}`;
      let outcome: { status: number } | Error;
      try {
        outcome = await deliverLogoutRequest(entry.logoutUrl, entry.ticket, { production: config.production, timeoutMs: LOGOUT_DELIVERY_TIMEOUT_MS });
      } catch (err) {
        outcome = err as Error;
        log.warn('cas single logout not delivered', { clientId: entry.clientId, url: where, err });
      }
      await audit.record({
        type: outcome instanceof Error ? 'cas.logout.failed' : 'cas.logout.delivered',
        outcome: outcome instanceof Error ? 'failure' : 'success',
        actor: entry.accountId, clientId: entry.clientId, sessionId: token.sid, requestId: ctx.state.requestId as string,
        details: { url: where, ...(outcome instanceof Error ? { error: outcome.message } : { status: outcome.status }) },
      }).catch((err) => log.error('cas single logout not audited', { err }));
    }));
    ctx.status = 200;
    ctx.body = '';
  }

  const GET: Record<string, (ctx: Context) => unknown> = {
    [CAS_PATHS.login]: login,
    [CAS_PATHS.callback]: callback,
    [CAS_PATHS.logout]: logout,
    [CAS_PATHS.loggedOut]: loggedOut,
    '/cas/validate': (ctx) => validation(ctx, { version: 1, proxy: false, endpoint: 'validate' }),
    '/cas/serviceValidate': (ctx) => validation(ctx, { version: 2, proxy: false, endpoint: 'serviceValidate' }),
    '/cas/proxyValidate': (ctx) => validation(ctx, { version: 2, proxy: true, endpoint: 'proxyValidate' }),
    '/cas/p3/serviceValidate': (ctx) => validation(ctx, { version: 3, proxy: false, endpoint: 'p3/serviceValidate' }),
    '/cas/p3/proxyValidate': (ctx) => validation(ctx, { version: 3, proxy: true, endpoint: 'p3/proxyValidate' }),
    '/cas/proxy': proxy,
  };

  return async function cas(ctx: Context, next: Next) {
    if (ctx.path !== '/cas' && !ctx.path.startsWith('/cas/')) return next();
    try {
      if (ctx.path === CAS_PATHS.backchannelLogout && ctx.method === 'POST') return await backchannelLogout(ctx);
      const route = GET[ctx.path];
      if (route && ctx.method === 'GET') return await route(ctx);
      return messageOnly(ctx, route ? 405 : 404, 'notFound');
    } catch (err) {
      if (err instanceof CasFailure) return messageOnly(ctx, 400, 'error');
      log.error('cas request failed', { err, path: ctx.path });
      return messageOnly(ctx, 500, 'error');
    }
  };
}
