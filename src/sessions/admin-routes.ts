// Session oversight in the admin API (docs/sessions.md, docs/admin-api.md), for people holding the
// security_admin role (MLPS 2.0 separates it from the system administrator). An identity number never goes
// in a URL — URLs end up in access logs and browser history: it travels in the Id-Number header of a GET,
// or in a POST body. Looking a person up is itself audited; ending sessions is audited by the library.
import { z } from 'zod';
import type { Context } from 'koa';
import { route, type Route } from '../admin/route.ts';
import { actorOf } from '../admin/auth.ts';
import type { Acting } from '../admin/clients.ts';
import { ApiError, InvalidRequest } from '../admin/errors.ts';
import { components, ErrorSchema } from '../admin/schemas.ts';
import type { Audit } from '../audit/audit.ts';
import { OversightError, type AccountView, type Actor, type EndReport, type SessionOversight, type SessionView } from './oversight.ts';

const BASE = '/admin/api';
export const ID_NUMBER_HEADER = 'Id-Number';
const ROLE = 'security_admin' as const;
const JSON_BODY = ['application/json'];

const named = <T extends z.ZodType>(id: string, schema: T): T => {
  components.add(schema, { id });
  return schema;
};
const timestamp = z.iso.datetime({ offset: true });

const AccountViewSchema = named('SessionAccount', z.strictObject({
  id: z.string().meta({ description: 'Internal account id (what the audit trail records as actor)' }),
  id_masked: z.string().meta({ description: 'The identity number, masked: 1101**********002X' }),
  status: z.string(),
}));

const SessionSchema = named('Session', z.strictObject({
  uid: z.string().meta({ description: 'The session\'s stable id (unchanged when the session is renewed at login)' }),
  account: AccountViewSchema.nullable(),
  login_at: timestamp,
  last_active_at: timestamp.meta({ description: 'When the session was last used at the authorization endpoint' }),
  expires_at: timestamp,
  acr: z.string().nullable(),
  amr: z.array(z.string()),
  ip: z.string().nullable().meta({ description: 'Where the login came from' }),
  user_agent: z.string().nullable(),
  apps: z.array(z.strictObject({ client_id: z.string(), name: z.string().nullable(), department: z.string().nullable() }))
    .meta({ description: 'Apps the session has been used at' }),
}));

const SessionListSchema = named('SessionList', z.strictObject({
  account: AccountViewSchema.nullable().meta({ description: 'Whose sessions, when listed by person' }),
  sessions: z.array(SessionSchema),
  next_cursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' }),
}));

const SessionDetailSchema = named('SessionDetail', SessionSchema.extend({
  sids: z.record(z.string(), z.string().nullable()).meta({ description: 'The sid each app knows this session by (the sid in its ID tokens)' }),
}));

const EndReportSchema = named('SessionEnded', z.strictObject({
  uid: z.string(),
  account: AccountViewSchema.nullable(),
  apps: z.array(z.string()),
  grants_revoked: z.number().int().meta({ description: 'Grants whose access and refresh tokens were revoked' }),
  deliveries: z.array(z.strictObject({
    client_id: z.string(),
    sid: z.string().nullable(),
    outcome: z.enum(['delivered', 'failed', 'skipped']),
    reason: z.string().nullable(),
  })).meta({ description: 'Back-channel logout to each app, as delivered (each also audited as logout.backchannel)' }),
}));

const EndAllSchema = named('AccountSessionsEnded', z.strictObject({
  account: AccountViewSchema, ended: z.array(EndReportSchema),
  grants_revoked: z.number().int().meta({ description: 'Grants revoked beyond the sessions\' own: offline access whose session had already ended' }),
}));

const LoginHistorySchema = named('LoginHistory', z.strictObject({
  account: AccountViewSchema,
  events: z.array(z.strictObject({
    id: z.number().int(), at: timestamp, type: z.string(), outcome: z.string(), client_id: z.string().nullable(),
    ip: z.string().nullable(), user_agent: z.string().nullable(), reason: z.string().nullable(),
  })),
  next_cursor: z.string().nullable(),
}));

const UidParams = z.strictObject({ uid: z.string().min(1).max(64).regex(/^[\w-]+$/) });
const page = { limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(200).optional().meta({ description: 'next_cursor from the previous page' }) };
const SessionQuery = z.strictObject({
  client_id: z.string().min(1).max(64).optional().meta({ description: 'Only sessions used at this app' }),
  ip: z.string().min(2).max(64).optional().meta({ description: 'Only sessions that logged in from this IP' }),
  account_id: z.string().min(1).max(64).optional().meta({ description: 'Only this account\'s sessions (to find a person by identity number, send the Id-Number header)' }),
  ...page,
});
const PageQuery = z.strictObject(page);
const Reason = z.string().trim().min(1).max(500).optional().meta({ description: 'Why, for the audit trail' });
const EndOneBody = z.strictObject({ reason: Reason });
const EndAllBody = named('EndAccountSessions', z.strictObject({
  id_number: z.string().min(1).max(32).meta({ description: 'The person\'s identity number (never in a URL)' }),
  reason: Reason,
}));

const accountOut = (a: AccountView | undefined) => (a ? { id: a.id, id_masked: a.idMasked, status: a.status } : null);
const sessionOut = (s: SessionView) => ({
  uid: s.uid, account: accountOut(s.account), login_at: s.loginAt, last_active_at: s.lastActiveAt, expires_at: s.expiresAt,
  acr: s.acr ?? null, amr: s.amr, ip: s.ip ?? null, user_agent: s.userAgent ?? null,
  apps: s.apps.map((a) => ({ client_id: a.clientId, name: a.name ?? null, department: a.department ?? null })),
});
const endOut = (r: EndReport) => ({
  uid: r.uid, account: accountOut(r.account), apps: r.apps.map((a) => a.clientId), grants_revoked: r.grantsRevoked,
  deliveries: r.deliveries.map((d) => ({ client_id: d.clientId, sid: d.sid ?? null, outcome: d.outcome, reason: d.reason ?? null })),
});

const actor = (acting: Acting, reason?: string): Actor => ({
  actor: actorOf(acting.admin), ip: acting.ip, userAgent: acting.userAgent, requestId: acting.requestId, reason,
});

function idNumberHeader(ctx: Context, required: boolean): string | undefined {
  const value = ctx.get(ID_NUMBER_HEADER).trim();
  if (!value && required) throw new InvalidRequest(`the ${ID_NUMBER_HEADER} header is required`, [{ field: ID_NUMBER_HEADER, message: 'required' }]);
  return value || undefined;
}

/** The library's errors as the admin API's. */
async function api<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OversightError) throw new ApiError(err.status, err.status === 404 ? 'not_found' : 'invalid_request', err.message);
    throw err;
  }
}

export interface SessionRoutesDeps { oversight: SessionOversight; audit: Audit }

export function sessionAdminRoutes(deps: () => SessionRoutesDeps | undefined): Route[] {
  const need = () => {
    const d = deps();
    if (!d) throw new ApiError(503, 'temporarily_unavailable', 'session oversight is not available in this process');
    return d;
  };
  // Who looked at whose sessions or logins: a read of personal data, recorded before it is answered.
  const recordLookup = (acting: Acting, account: AccountView, what: string) => need().audit.record({
    type: 'account.viewed', outcome: 'success', actor: actorOf(acting.admin), ip: acting.ip ?? null, userAgent: acting.userAgent ?? null,
    requestId: acting.requestId ?? null, details: { account: account.id, what },
  });
  const personNotFound = { description: 'No account with this identity number, or no such active session', schema: ErrorSchema };
  const common = { auth: true, role: ROLE, tag: 'sessions' } as const;

  return [
    route({
      ...common, operationId: 'listSessions', method: 'GET', path: `${BASE}/sessions`, query: SessionQuery,
      summary: 'List active SSO sessions, newest login first: all, by app, by IP, or by person',
      description: `By person: send the identity number in the ${ID_NUMBER_HEADER} header (never in the query string); the lookup is audited `
        + '(account.viewed). Keyset pagination: pass next_cursor back as cursor until it is null. Give at most one filter.',
      responses: { 200: { description: 'One page of sessions', schema: SessionListSchema }, 404: personNotFound },
      handle: async ({ query, ctx, acting }) => {
        const idNumber = idNumberHeader(ctx, false);
        const person = idNumber ? { idNumber } : query.account_id ? { accountId: query.account_id } : undefined;
        const { oversight } = need();
        const r = await api(() => oversight.list({ person, clientId: query.client_id, ip: query.ip, limit: query.limit, cursor: query.cursor }));
        if (r.account) await recordLookup(acting, r.account, 'sessions');
        return { status: 200, body: { account: accountOut(r.account), sessions: r.items.map(sessionOut), next_cursor: r.nextCursor ?? null } };
      },
    }),
    route({
      ...common, operationId: 'getSession', method: 'GET', path: `${BASE}/sessions/{uid}`, params: UidParams,
      summary: 'Read one active session, with the sid each app knows it by',
      responses: { 200: { description: 'The session', schema: SessionDetailSchema }, 404: personNotFound },
      handle: async ({ params }) => {
        const s = await api(() => need().oversight.get(params.uid));
        return { status: 200, body: { ...sessionOut(s), sids: Object.fromEntries(Object.entries(s.sids).map(([c, sid]) => [c, sid ?? null])) } };
      },
    }),
    route({
      ...common, operationId: 'endSession', method: 'DELETE', path: `${BASE}/sessions/{uid}`, params: UidParams,
      body: { schema: EndOneBody, validate: true, required: false, contentTypes: JSON_BODY },
      summary: 'End one session everywhere: its tokens revoked, every app it was used at notified by back-channel logout',
      description: 'Answers with each delivery; an app that could not be notified is reported (and audited) but the session is ended regardless.',
      responses: { 200: { description: 'Ended', schema: EndReportSchema }, 404: personNotFound },
      handle: async ({ params, body, acting }) => ({ status: 200, body: endOut(await api(() => need().oversight.end(params.uid, actor(acting, body.reason)))) }),
    }),
    route({
      ...common, operationId: 'endAccountSessions', method: 'POST', path: `${BASE}/accounts/sessions/end`,
      body: { schema: EndAllBody, validate: true, required: true, contentTypes: JSON_BODY },
      summary: 'End every active session of a person everywhere (identity number in the body)',
      responses: { 200: { description: 'What was ended, with each delivery', schema: EndAllSchema }, 404: personNotFound },
      handle: async ({ body, acting }) => {
        const r = await api(() => need().oversight.endAll({ idNumber: body.id_number }, actor(acting, body.reason)));
        return { status: 200, body: { account: accountOut(r.account)!, ended: r.ended.map(endOut), grants_revoked: r.grantsRevoked } };
      },
    }),
    route({
      ...common, operationId: 'getLoginHistory', method: 'GET', path: `${BASE}/accounts/login-history`, query: PageQuery,
      summary: 'A person\'s logins and failed login attempts, newest first',
      description: `The identity number goes in the ${ID_NUMBER_HEADER} header (never in the query string); the lookup is audited (account.viewed).`,
      responses: { 200: { description: 'One page of login events', schema: LoginHistorySchema }, 404: personNotFound },
      handle: async ({ query, ctx, acting }) => {
        const idNumber = idNumberHeader(ctx, true)!;
        const r = await api(() => need().oversight.loginHistory({ idNumber }, { limit: query.limit, cursor: query.cursor }));
        await recordLookup(acting, r.account, 'login_history');
        return {
          status: 200,
          body: {
            account: accountOut(r.account)!,
            events: r.items.map((e) => ({ id: e.id, at: e.at, type: e.type, outcome: e.outcome, client_id: e.clientId ?? null, ip: e.ip ?? null, user_agent: e.userAgent ?? null, reason: e.reason ?? null })),
            next_cursor: r.nextCursor ?? null,
          },
        };
      },
    }),
  ];
}
