// Initial access tokens (RFC 7591 §3): an administrator issues one per department, with its policy; the
// value is shown once and only its SHA-256 is kept (migrations/006_dynamic_registration.sql). Issue and
// revoke are audited in the same transaction as the change (src/admin/audited.ts).
import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import type { AuditEvent } from '../audit/audit.ts';
import { sha256 } from '../clients/secret-grace.ts';
import { auditedTransaction } from '../admin/audited.ts';
import { actorOf } from '../admin/auth.ts';
import type { Acting } from '../admin/clients.ts';
import { NotFound } from '../admin/errors.ts';
import type { TokenPolicy } from './policy.ts';

export type TokenStatus = 'active' | 'expired' | 'revoked' | 'used_up';

export interface InitialAccessTokenRow extends TokenPolicy {
  id: string;
  max_registrations: number | null;
  registrations: number;
  description: string | null;
  created_by: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  status: TokenStatus;
  /** Clients registered with the token (deleted ones included: the record of what it was used for). */
  client_ids: string[];
}

export interface IssueRequest {
  department: string;
  allowed_scopes: string[];
  redirect_host_allowlist: string[];
  expires_in: number;
  max_registrations?: number;
  description?: string;
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

const SELECT = `
SELECT t.id, t.department, t.allowed_scopes, t.redirect_hosts, t.max_registrations, t.registrations, t.description, t.created_by,
  ${iso('t.created_at')} AS created_at, ${iso('t.expires_at')} AS expires_at, ${iso('t.revoked_at')} AS revoked_at, t.revoked_by,
  CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked' WHEN t.expires_at <= now() THEN 'expired'
       WHEN t.registrations >= t.max_registrations THEN 'used_up' ELSE 'active' END AS status,
  ARRAY(SELECT d.client_id FROM dynamic_registrations d WHERE d.initial_access_token_id = t.id ORDER BY d.registered_at, d.client_id) AS client_ids
FROM initial_access_tokens t`;

/** Why a token can no longer register a client, in words for the registrant; undefined when it can. */
export function unusable(row: InitialAccessTokenRow): string | undefined {
  if (row.status === 'revoked') return `initial access token ${row.id} was revoked`;
  if (row.status === 'expired') return `initial access token ${row.id} expired at ${row.expires_at}`;
  if (row.status === 'used_up') return `initial access token ${row.id} has been used for all ${row.max_registrations} registrations it allows`;
  return undefined;
}

export const tokenActor = (id: string) => `iat:${id}`;

export function createInitialAccessTokens(db: Db) {
  const byId = async (q: Queryable, id: string, lock = false) =>
    (await q.query<InitialAccessTokenRow>(`${SELECT} WHERE t.id = $1 ${lock ? 'FOR UPDATE OF t' : ''}`, [id]))[0];

  const event = (a: Acting, e: Pick<AuditEvent, 'type' | 'details'>): AuditEvent => ({
    ...e, outcome: 'success', actor: actorOf(a.admin), ip: a.ip, userAgent: a.userAgent, requestId: a.requestId,
    details: { via: 'admin-api', admin: a.admin, ...e.details },
  });

  return {
    byId: (id: string, q: Queryable = db) => byId(q, id),
    /** With lock: FOR UPDATE, so that registrations counted against max_registrations queue. */
    locked: (q: Queryable, id: string) => byId(q, id, true),

    async byValue(value: string): Promise<InitialAccessTokenRow | undefined> {
      if (value.length > 200) return undefined;
      return (await db.query<InitialAccessTokenRow>(`${SELECT} WHERE t.token_sha256 = $1`, [sha256(value)]))[0];
    },

    /** The token a dynamically registered client came from. */
    async ofClient(clientId: string, q: Queryable = db): Promise<InitialAccessTokenRow | undefined> {
      return (await q.query<InitialAccessTokenRow>(
        `${SELECT} WHERE t.id = (SELECT initial_access_token_id FROM dynamic_registrations WHERE client_id = $1)`, [clientId]))[0];
    },

    async list(f: { department?: string; status?: TokenStatus }) {
      const rows = await db.query<InitialAccessTokenRow>(
        `SELECT * FROM (${SELECT}) s WHERE ($1::text IS NULL OR s.department = $1) AND ($2::text IS NULL OR s.status = $2)
         ORDER BY s.created_at DESC, s.id`, [f.department ?? null, f.status ?? null]);
      return rows;
    },

    /** The value is returned this once; only its hash is stored. */
    async issue(input: IssueRequest, a: Acting): Promise<{ row: InitialAccessTokenRow; token: string }> {
      const id = `iat-${randomBytes(8).toString('hex')}`;
      const token = `yihao_iat_${randomBytes(32).toString('base64url')}`;
      return auditedTransaction(db, async (tx, record) => {
        await tx.query(
          `INSERT INTO initial_access_tokens (id, token_sha256, department, allowed_scopes, redirect_hosts, max_registrations, description, created_by, expires_at)
           VALUES ($1, $2, $3, $4::text[], $5::text[], $6, $7, $8, now() + $9::int * interval '1 second')`,
          [id, sha256(token), input.department, input.allowed_scopes, input.redirect_host_allowlist, input.max_registrations ?? null,
            input.description ?? null, actorOf(a.admin), input.expires_in]);
        const row = (await byId(tx, id))!;
        record(event(a, {
          type: 'initial_access_token.issued',
          details: {
            initial_access_token: id, department: row.department, allowed_scopes: row.allowed_scopes, redirect_host_allowlist: row.redirect_hosts,
            expires_at: row.expires_at, max_registrations: row.max_registrations,
          },
        }));
        return { row, token };
      });
    },

    /** Revoking stops new registrations; clients registered with the token stay (disable or delete them as clients). */
    async revoke(id: string, a: Acting): Promise<void> {
      await auditedTransaction(db, async (tx, record) => {
        const row = await byId(tx, id, true);
        if (!row) throw new NotFound('no such initial access token');
        if (row.revoked_at) return; // already revoked: nothing changes, nothing to record
        await tx.query('UPDATE initial_access_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1', [id, actorOf(a.admin)]);
        record(event(a, { type: 'initial_access_token.revoked', details: { initial_access_token: id, department: row.department, status_before: row.status } }));
      });
    },

    async countRegistration(q: Queryable, id: string) {
      await q.query('UPDATE initial_access_tokens SET registrations = registrations + 1 WHERE id = $1', [id]);
    },
  };
}
export type InitialAccessTokens = ReturnType<typeof createInitialAccessTokens>;

/**
 * oidc-provider's InitialAccessToken model over the table, read-only (tokens are issued through the admin API).
 * A token's payload carries no `exp`: the registration policy refuses expired, revoked and used-up tokens
 * itself, so that the registrant learns which it is (the library would say only "not found").
 */
export function initialAccessTokenAdapter(tokens: InitialAccessTokens, policy: string) {
  const readOnly = async () => { throw new Error('initial access tokens are issued through the admin API'); };
  return {
    async find(value: string) {
      const row = await tokens.byValue(value);
      if (!row) return undefined;
      return { jti: value, kind: 'InitialAccessToken', iat: Math.floor(Date.parse(row.created_at) / 1000), policies: [policy] };
    },
    upsert: readOnly,
    destroy: readOnly,
    consume: readOnly,
    revokeByGrantId: readOnly,
    async findByUid() { return undefined; },
    async findByUserCode() { return undefined; },
  };
}
