// The apps a person has let in, and withdrawing that consent (docs/my-apps.md). An app is a client; a person
// may hold several grants for one (one per device they first signed in on), so the list groups them and a
// withdrawal takes them all.
//
// Withdrawing: audit `consent.withdrawn` (fail closed: no record, no change) → revoke every token of each
// grant and the grant → take the app out of the person's SSO sessions (so the next visit asks for consent
// again, and gets a new sid) → back-channel logout to the app for each session it was in, audited as an
// administrator's end is. A grant id that is not the person's own is "not found", with nothing changed.
import type Provider from 'oidc-provider';
import type { Audit } from '../audit/audit.ts';
import type { ClientStore } from '../clients/store.ts';
import type { Db } from '../store/db.ts';
import type { GrantIndex } from '../oidc/grant-index.ts';
import type { SessionIndex } from '../sessions/session-index.ts';
import { revokeGrant } from '../sessions/oversight.ts';
import { sendBackchannelLogout, type Delivery } from '../sessions/backchannel.ts';
import { BUILT_IN_CLIENTS } from './client.ts';

export interface MyApp {
  clientId: string;
  name: string;
  department?: string;
  /** First-party department apps skip consent: signing in there again gives them access again. */
  firstParty: boolean;
  /** OIDC scopes and claims granted, across the person's grants for the app. */
  scopes: string[];
  claims: string[];
  /** Epoch ms: the oldest grant's creation. */
  grantedAt: number;
  /** Epoch ms: the last sign-in or token from the audit trail, if any. */
  lastUsedAt?: number;
  /** Whether the app may keep refreshing tokens while the person is away (offline_access). */
  offline: boolean;
  /** The grant a withdrawal form names (any of the app's grants: withdrawal takes them all). */
  grantId: string;
}

export interface Request { ip?: string; userAgent?: string; requestId?: string }

export interface Withdrawal { clientId: string; name: string; grantsRevoked: number; deliveries: Delivery[] }

// Events that mean the app used the person's access: a sign-in through the SSO session or a token.
const USE_EVENTS = ['sso.connect', 'token.issued', 'token.refreshed'];

interface GrantLike { jti: string; accountId?: string; clientId?: string; iat?: number; openid?: { claims?: string[] }; getOIDCScope(): string }

export function createMyApps(deps: { provider: Provider; grants: GrantIndex; sessions: SessionIndex; audit: Audit; clients: ClientStore; db: Db }) {
  const { provider, audit, clients, db } = deps;

  /** The person's grants, read through the provider (expiry checked), grouped by app. */
  async function grantsByApp(accountId: string): Promise<Map<string, GrantLike[]>> {
    const ids = await deps.grants.grantsOf(accountId);
    const found = await Promise.all(ids.map((id) => provider.Grant.find(id) as Promise<GrantLike | undefined>));
    const byApp = new Map<string, GrantLike[]>();
    for (const g of found) {
      // The index is the person's own, but a grant is shown only when its payload says so too.
      if (!g || g.accountId !== accountId || !g.clientId || BUILT_IN_CLIENTS.has(g.clientId)) continue;
      byApp.set(g.clientId, [...(byApp.get(g.clientId) ?? []), g]);
    }
    return byApp;
  }

  function describe(clientId: string) {
    const m = clients.cached(clientId) as { client_name?: string; department?: string; first_party?: boolean } | undefined;
    return { name: m?.client_name ?? clientId, department: m?.department, firstParty: m?.first_party === true };
  }

  async function lastUse(accountId: string, clientIds: string[]): Promise<Map<string, number>> {
    if (!clientIds.length) return new Map();
    const rows = await db.query<{ client_id: string; last: number }>(
      `SELECT client_id, (extract(epoch FROM max(at)) * 1000)::float8 AS last FROM audit_events
       WHERE actor = $1 AND type = ANY($2::text[]) AND client_id = ANY($3::text[]) GROUP BY client_id`, [accountId, USE_EVENTS, clientIds]);
    return new Map(rows.map((r) => [r.client_id, Math.round(Number(r.last))]));
  }

  /** The person's SSO sessions that have been used at the app. */
  async function sessionsAt(accountId: string, clientId: string): Promise<string[]> {
    const uids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await deps.sessions.list({ accountId }, { limit: 500, cursor });
      uids.push(...page.items.filter((e) => e.clients.includes(clientId)).map((e) => e.uid));
      cursor = page.nextCursor;
    } while (cursor);
    return uids;
  }

  return {
    /** The apps the person has granted access to, most recently granted first. */
    async list(accountId: string): Promise<MyApp[]> {
      const byApp = await grantsByApp(accountId);
      const used = await lastUse(accountId, [...byApp.keys()]);
      const apps = [...byApp].map(([clientId, grants]): MyApp => {
        const scopes = [...new Set(grants.flatMap((g) => g.getOIDCScope().split(' ').filter(Boolean)))];
        return {
          clientId, ...describe(clientId), scopes,
          claims: [...new Set(grants.flatMap((g) => g.openid?.claims ?? []))],
          grantedAt: Math.min(...grants.map((g) => (g.iat ?? 0) * 1000)),
          lastUsedAt: used.get(clientId),
          offline: scopes.includes('offline_access'),
          grantId: grants[0]!.jti,
        };
      });
      return apps.sort((a, b) => b.grantedAt - a.grantedAt);
    },

    /** Withdraws the person's consent for the app of `grantId`; undefined when the grant is not theirs. */
    async withdraw(accountId: string, grantId: string, req: Request): Promise<Withdrawal | undefined> {
      const grant = await provider.Grant.find(grantId) as GrantLike | undefined;
      if (!grant || grant.accountId !== accountId || !grant.clientId || BUILT_IN_CLIENTS.has(grant.clientId)) return undefined;
      const clientId = grant.clientId;
      const others = ((await grantsByApp(accountId)).get(clientId) ?? []).filter((g) => g.jti !== grant.jti);
      const grants = [grant, ...others];
      const common = { ip: req.ip ?? null, userAgent: req.userAgent ?? null, requestId: req.requestId ?? null };
      await audit.record({
        type: 'consent.withdrawn', outcome: 'success', actor: accountId, clientId, ...common,
        details: {
          scopes: [...new Set(grants.flatMap((g) => g.getOIDCScope().split(' ').filter(Boolean)))],
          claims: [...new Set(grants.flatMap((g) => g.openid?.claims ?? []))],
          grants: grants.map((g) => g.jti),
        },
      });
      await Promise.all(grants.map((g) => revokeGrant(provider, g.jti)));

      // The app's sessions are told to end. The SSO sessions themselves are not saved again: a save here
      // could race the person's own logout (and bring a destroyed session back) or a new login's id; the
      // grant is gone, so the next visit asks for consent again (or, for a first-party app, grants anew).
      const signedOut: { uid: string; sid?: string }[] = [];
      for (const uid of await sessionsAt(accountId, clientId)) {
        const session = await provider.Session.findByUid(uid);
        const authorization = session?.authorizations?.[clientId];
        if (!session || session.accountId !== accountId || !authorization) continue;
        signedOut.push({ uid, sid: authorization.sid });
      }
      const deliveries = await Promise.all(signedOut.map(async ({ uid, sid }) => {
        const delivery = await sendBackchannelLogout(provider, clientId, accountId, sid);
        if (delivery.outcome !== 'skipped') {
          // After the withdrawal itself (recorded, fail-closed, above): a failure here must not tell the person it did not happen.
          await audit.record({
            type: 'logout.backchannel', outcome: delivery.outcome === 'delivered' ? 'success' : 'failure', actor: accountId, clientId,
            sessionId: sid ?? null, ...common, details: { session: uid, reason: 'consent withdrawn', ...(delivery.reason ? { error: delivery.reason } : {}) },
          }).catch(() => {}); // record() has logged it
        }
        return delivery;
      }));
      return { clientId, name: describe(clientId).name, grantsRevoked: grants.length, deliveries };
    },
  };
}
export type MyApps = ReturnType<typeof createMyApps>;
