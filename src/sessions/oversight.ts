// Session oversight for security staff (issue 4, part 2): which SSO sessions exist — by person, by app, by IP
// or all, newest login first — and ending one session or every session of a person everywhere at once.
//
// Ending a session (oidc-provider has no API for it, #652; OIDC-PROVIDER-NOTES "Ending sessions from an
// administrator's action"): record it, destroy the session, revoke every token of its grants and the grants
// themselves, then send back-channel logout to every app it was used at (CAS services included: each is an
// OIDC client of yihao with its own back-channel endpoint). The provider fires no events outside a request,
// so every step is audited here. People are found by identity number through the blind index and shown
// masked; the clear number never leaves this call.
//
// Ending every session of a person also revokes every other grant they hold (the grant index by account,
// src/oidc/grant-index.ts): offline_access refresh tokens outlive the session they were issued in (the
// provider keeps them at logout), and a stolen phone's apps must stop refreshing too.
import type Provider from 'oidc-provider';
import type { Core } from '../app.ts';
import type { Accounts } from '../accounts/accounts.ts';
import type { Audit } from '../audit/audit.ts';
import type { ClientStore } from '../clients/store.ts';
import type { Db } from '../store/db.ts';
import { parseIdNumber } from '../identity/id-number.ts';
import { GRANTABLE } from '../oidc/adapter-redis.ts';
import { grantIndexFor, type GrantIndex } from '../oidc/grant-index.ts';
import { InvalidCursor, pageLimit, type SessionEntry, type SessionFilter, type SessionIndex } from './session-index.ts';
import { sessionIndexFor } from './session-store.ts';
import { sendBackchannelLogout, type Delivery } from './backchannel.ts';

export class OversightError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
export const invalidQuery = (message: string) => new OversightError(400, 'invalid_request', message);
const accountNotFound = () => new OversightError(404, 'account_not_found', 'no account with this identity number');
const sessionNotFound = () => new OversightError(404, 'session_not_found', 'no such active session');

/** Who is asking: an administrator's account id, or `cli`; with the request's details for the audit trail. */
export interface Actor { actor: string; ip?: string; userAgent?: string; requestId?: string; reason?: string }

/** A person: the identity number (looked up through the blind index) or the internal account id. */
export type Person = { idNumber: string } | { accountId: string };

export interface AccountView { id: string; idMasked: string; status: string }

export interface AppView { clientId: string; name?: string; department?: string }

export interface SessionView {
  uid: string;
  account?: AccountView;
  loginAt: string;
  lastActiveAt: string;
  expiresAt: string;
  acr?: string;
  amr: string[];
  ip?: string;
  userAgent?: string;
  apps: AppView[];
}

export interface ListQuery { person?: Person; clientId?: string; ip?: string; limit?: number; cursor?: string }

export interface EndReport {
  uid: string;
  account?: AccountView;
  apps: AppView[];
  /** Grants whose tokens were revoked (one per app the session authorised). */
  grantsRevoked: number;
  deliveries: Delivery[];
}

export interface LoginEvent {
  id: number;
  at: string;
  type: string;
  outcome: string;
  clientId?: string;
  ip?: string;
  userAgent?: string;
  reason?: string;
}

export const LOGIN_EVENT_TYPES = ['login.success', 'login.failure'];

export interface OversightDeps {
  /** Needed to read and end sessions; listing and login history work without one (the CLI's `sessions list`). */
  provider?: Provider;
  index: SessionIndex;
  accounts: Accounts;
  audit: Audit;
  clients: ClientStore;
  db: Db;
  /** A person's grants, for ending everything (offline access included). */
  grants: GrantIndex;
}

type GrantRevoker = { revokeByGrantId?(grantId: string): Promise<unknown> };

/** Every token of a grant (all grantable models), then the grant itself. */
export async function revokeGrant(provider: Provider, grantId: string): Promise<void> {
  const models = provider as unknown as Record<string, GrantRevoker | undefined>;
  await Promise.all([...GRANTABLE].map((name) => models[name]?.revokeByGrantId?.(grantId)));
  await provider.Grant.adapter.destroy(grantId);
}

const iso = (ms: number) => new Date(Math.min(ms, 8.64e15)).toISOString();

export function createSessionOversight(deps: OversightDeps) {
  const { index, accounts, audit, clients, db } = deps;
  const need = (): Provider => {
    if (!deps.provider) throw new Error('session oversight was created without a provider: it can list sessions but not read or end them');
    return deps.provider;
  };

  async function findAccount(person: Person): Promise<AccountView> {
    let account;
    if ('idNumber' in person) {
      const parsed = parseIdNumber(person.idNumber);
      if (!parsed.ok) throw invalidQuery(`id_number is not a valid identity number (${parsed.code})`);
      account = await accounts.findByIndex(accounts.indexOf(parsed.value.number));
    } else {
      account = await accounts.findById(person.accountId);
    }
    if (!account) throw accountNotFound();
    return { id: account.id, idMasked: account.idMasked, status: account.status };
  }

  async function accountViews(ids: string[]): Promise<Map<string, AccountView>> {
    if (!ids.length) return new Map();
    const rows = await db.query<{ id: string; id_masked: string; status: string }>(
      'SELECT id, id_masked, status FROM accounts WHERE id = ANY($1::text[])', [[...new Set(ids)]]);
    return new Map(rows.map((r) => [r.id, { id: r.id, idMasked: r.id_masked, status: r.status }]));
  }

  function appView(clientId: string): AppView {
    const m = clients.cached(clientId) as { client_name?: string; department?: string } | undefined;
    return { clientId, name: m?.client_name, department: m?.department };
  }

  const view = (e: SessionEntry, account: AccountView | undefined): SessionView => ({
    uid: e.uid, account, loginAt: iso(e.loginAt * 1000), lastActiveAt: iso(e.lastActiveAt), expiresAt: iso(e.expiresAt),
    acr: e.acr, amr: e.amr ?? [], ip: e.ip, userAgent: e.userAgent, apps: e.clients.map(appView),
  });

  async function page(filter: SessionFilter, limit: number | undefined, cursor: string | undefined) {
    try {
      return await index.list(filter, { limit: pageLimit(limit), cursor });
    } catch (err) {
      if (err instanceof InvalidCursor || err instanceof RangeError) throw invalidQuery(err.message);
      throw err;
    }
  }

  /** What is left of a person's grants once their sessions are ended: each audited (fail closed), then revoked. */
  async function revokeRemainingGrants(account: AccountView, by: Actor): Promise<number> {
    const provider = need();
    let revoked = 0;
    for (const grantId of await deps.grants.grantsOf(account.id)) {
      const grant = await provider.Grant.find(grantId);
      if (!grant || grant.accountId !== account.id) continue; // expired or destroyed meanwhile
      const scope = grant.getOIDCScope();
      await audit.record({
        type: 'grant.revoked', outcome: 'success', actor: account.id, clientId: grant.clientId ?? null,
        ip: by.ip ?? null, userAgent: by.userAgent ?? null, requestId: by.requestId ?? null,
        details: { grantId, scope, offline: scope.split(' ').includes('offline_access'), endedBy: by.actor, ...(by.reason ? { reason: by.reason } : {}) },
      });
      await revokeGrant(provider, grantId);
      revoked += 1;
    }
    return revoked;
  }

  async function endSession(uid: string, by: Actor, account?: AccountView): Promise<EndReport> {
    const provider = need();
    const found = await provider.Session.findByUid(uid);
    const accountId = found?.accountId;
    if (!found || !accountId) throw sessionNotFound();
    let session = found;
    let authorizations = Object.entries(session.authorizations ?? {});
    const common = { ip: by.ip ?? null, userAgent: by.userAgent ?? null, requestId: by.requestId ?? null };
    // Fail closed (docs/audit.md): no record, no action.
    await audit.record({
      type: 'session.ended', outcome: 'success', actor: by.actor, sessionId: uid, ...common,
      details: { account: accountId, sids: Object.fromEntries(authorizations.map(([c, a]) => [c, a.sid ?? null])), ...(by.reason ? { reason: by.reason } : {}) },
    });
    let grants: string[] = [];
    try {
      // First refuse every later save of this uid; then what is stored is final: destroy that (a request
      // in flight may have saved it since, with one more app or, at a login, under a new id).
      await index.markEnded(uid, Math.max(found.exp * 1000, Date.now()) + 60_000);
      session = (await provider.Session.findByUid(uid)) ?? found;
      authorizations = Object.entries({ ...found.authorizations, ...session.authorizations });
      grants = [...new Set(authorizations.map(([, a]) => a.grantId).filter((g): g is string => typeof g === 'string'))];
      await session.destroy();
      await Promise.all(grants.map((g) => revokeGrant(provider, g)));
    } catch (err) {
      await audit.record({ type: 'session.ended', outcome: 'failure', actor: by.actor, sessionId: uid, ...common, details: { account: accountId, error: (err as Error).message } });
      throw err;
    }
    const deliveries = await Promise.all(authorizations.map(async ([clientId, a]) => {
      const delivery = await sendBackchannelLogout(provider, clientId, accountId, a.sid);
      if (delivery.outcome !== 'skipped') {
        await audit.record({
          type: 'logout.backchannel', outcome: delivery.outcome === 'delivered' ? 'success' : 'failure', actor: accountId, clientId,
          sessionId: a.sid ?? null, ...common, details: { session: uid, endedBy: by.actor, ...(delivery.reason ? { error: delivery.reason } : {}) },
        });
      }
      return delivery;
    }));
    return { uid, account: account ?? (await accountViews([accountId])).get(accountId), apps: authorizations.map(([c]) => appView(c)), grantsRevoked: grants.length, deliveries };
  }

  return {
    findAccount,

    /** One page of active sessions, newest login first. With a person, `account` says whose they are. */
    async list(q: ListQuery): Promise<{ account?: AccountView; items: SessionView[]; nextCursor?: string }> {
      const filters = [q.person, q.clientId, q.ip].filter((f) => f !== undefined && f !== '');
      if (filters.length > 1) throw invalidQuery('filter by one of: person, client, IP');
      const account = q.person ? await findAccount(q.person) : undefined;
      const filter: SessionFilter = account ? { accountId: account.id } : q.clientId ? { clientId: q.clientId } : q.ip ? { ip: q.ip } : {};
      const { items, nextCursor } = await page(filter, q.limit, q.cursor);
      const owners = account ? new Map([[account.id, account]]) : await accountViews(items.map((e) => e.accountId));
      return { account, items: items.map((e) => view(e, owners.get(e.accountId))), nextCursor };
    },

    async count(q: Omit<ListQuery, 'limit' | 'cursor'> = {}): Promise<number> {
      const account = q.person ? await findAccount(q.person) : undefined;
      return index.count(account ? { accountId: account.id } : q.clientId ? { clientId: q.clientId } : q.ip ? { ip: q.ip } : {});
    },

    /** One active session, with the sid each app knows it by. */
    async get(uid: string): Promise<SessionView & { sids: Record<string, string | undefined> }> {
      const [entry, session] = await Promise.all([index.get(uid), need().Session.findByUid(uid)]);
      if (!entry || !session?.accountId) throw sessionNotFound();
      const owner = (await accountViews([entry.accountId])).get(entry.accountId);
      const sids = Object.fromEntries(Object.entries(session.authorizations ?? {}).map(([c, a]) => [c, a.sid]));
      return { ...view({ ...entry, clients: Object.keys(sids) }, owner), sids };
    },

    /** Ends one session everywhere. */
    end: (uid: string, by: Actor) => endSession(uid, by),

    /**
     * Ends every active session of a person everywhere, then revokes every grant they still hold (offline
     * access whose session had already ended); `grantsRevoked` counts those, beyond each report's own.
     */
    async endAll(person: Person, by: Actor): Promise<{ account: AccountView; ended: EndReport[]; grantsRevoked: number }> {
      const account = await findAccount(person);
      const uids: string[] = [];
      let cursor: string | undefined;
      do {
        const p = await index.list({ accountId: account.id }, { limit: 500, cursor });
        uids.push(...p.items.map((e) => e.uid));
        cursor = p.nextCursor;
      } while (cursor);
      const ended = await Promise.all(uids.map((uid) => endSession(uid, by, account).catch((err) => {
        if (err instanceof OversightError && err.code === 'session_not_found') return undefined; // expired meanwhile
        throw err;
      })));
      const grantsRevoked = await revokeRemainingGrants(account, by);
      return { account, ended: ended.filter((r): r is EndReport => r !== undefined), grantsRevoked };
    },

    /** A person's logins and failed attempts from the audit trail, newest first. */
    async loginHistory(person: Person, q: { limit?: number; cursor?: string; types?: string[] } = {}) {
      const account = await findAccount(person);
      const limit = pageLimit(q.limit);
      const params: unknown[] = [account.id, q.types ?? LOGIN_EVENT_TYPES];
      let after = '';
      if (q.cursor) {
        const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\|(\d{1,18})$/.exec(Buffer.from(q.cursor, 'base64url').toString());
        if (!m) throw invalidQuery('invalid cursor');
        after = ` AND (at, id) < ($3::timestamptz, $4::bigint)`;
        params.push(m[1], m[2]);
      }
      const rows = await db.query<{ id: number; at: string; type: string; outcome: string; client_id: string | null; ip: string | null; user_agent: string | null; details: { reason?: string } | null }>(
        `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, type, outcome, client_id, ip, user_agent, details
         FROM audit_events WHERE actor = $1 AND type = ANY($2::text[])${after} ORDER BY at DESC, id DESC LIMIT ${limit + 1}`, params);
      const items: LoginEvent[] = rows.slice(0, limit).map((r) => ({
        id: Number(r.id), at: r.at, type: r.type, outcome: r.outcome, clientId: r.client_id ?? undefined, ip: r.ip ?? undefined,
        userAgent: r.user_agent ?? undefined, reason: typeof r.details?.reason === 'string' ? r.details.reason : undefined,
      }));
      const last = items[items.length - 1];
      return { account, items, nextCursor: rows.length > limit && last ? Buffer.from(`${last.at}|${last.id}`).toString('base64url') : undefined };
    },
  };
}

export type SessionOversight = ReturnType<typeof createSessionOversight>;

/** Oversight over the provider a process runs (server, admin API, CLI). */
export function sessionOversightFor(core: Core, provider?: Provider): SessionOversight {
  return createSessionOversight({
    provider, index: sessionIndexFor(core), accounts: core.accounts, audit: core.audit, clients: core.clients, db: core.db,
    grants: grantIndexFor(core),
  });
}
