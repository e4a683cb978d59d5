// Writes of dynamically registered clients, behind oidc-provider's Client adapter (upsert, destroy): the
// clients table with source 'dynamic', so that the registry, the admin API and the console see them. Each
// write is one transaction with its audit event, whose actor is the initial access token (iat:<id>).
import { errors } from 'oidc-provider';
import type { Db, Queryable } from '../store/db.ts';
import type { ClientStore } from '../clients/store.ts';
import type { ClientMetadata } from '../clients/registration.ts';
import { auditDiff } from '../clients/diff.ts';
import { AuditWriteError, type AuditEvent } from '../audit/audit.ts';
import { auditedTransaction, type RecordEvent } from '../admin/audited.ts';
import { findClient } from '../admin/queries.ts';
import { currentRegistrationRequest, type RegistrationRequest } from './request.ts';
import { tokenActor, unusable, type InitialAccessTokens, type InitialAccessTokenRow } from './tokens.ts';

const NOT_HERE = 'clients are registered through files, the admin API, or the registration endpoint with an initial access token';

function invalidToken(description: string) {
  return Object.assign(new errors.InvalidToken(), { error_description: description });
}

export function createDynamicClientWrites(deps: { db: Db; store: ClientStore; tokens: InitialAccessTokens }) {
  const { db, store, tokens } = deps;

  const event = (r: RegistrationRequest, token: InitialAccessTokenRow, e: Pick<AuditEvent, 'type' | 'clientId' | 'details'>): AuditEvent => ({
    ...e, outcome: 'success', actor: tokenActor(token.id), ip: r.ip, userAgent: r.userAgent, requestId: r.requestId,
    details: { via: 'dynamic-registration', initial_access_token: token.id, department: token.department, ...e.details },
  });

  // The cache is dropped after the commit (never before: a concurrent read must not re-cache the old row).
  // An audit trail that cannot be written refuses the change (docs/audit.md): 503, not a server error.
  async function change(clientId: string, fn: (tx: Queryable, record: RecordEvent) => Promise<void>) {
    try {
      await auditedTransaction(db, fn);
    } catch (err) {
      if (!(err instanceof AuditWriteError)) throw err;
      throw Object.assign(new errors.CustomOIDCProviderError('temporarily_unavailable', 'the audit trail could not be written, so nothing was changed; retry later'), { status: 503, statusCode: 503 });
    } finally {
      store.forget(clientId);
    }
  }

  async function create(r: RegistrationRequest, clientId: string, metadata: ClientMetadata, tokenId: string) {
    await change(clientId, async (tx, record) => {
      // Locked: registrations counted against max_registrations, and a revocation, take effect one at a time.
      const token = await tokens.locked(tx, tokenId);
      const why = token ? unusable(token) : 'initial access token not found';
      if (why) throw invalidToken(why);
      const inserted = await tx.query(
        `INSERT INTO clients (client_id, metadata, department, source) VALUES ($1, $2::text::jsonb, $3, 'dynamic')
         ON CONFLICT (client_id) DO NOTHING RETURNING client_id`, [clientId, JSON.stringify(store.secrets.sealIn(metadata)), token!.department]);
      if (!inserted.length) throw new errors.InvalidClientMetadata(`client_id ${clientId} is taken`);
      await tx.query('INSERT INTO dynamic_registrations (client_id, initial_access_token_id) VALUES ($1, $2)', [clientId, token!.id]);
      await tokens.countRegistration(tx, token!.id);
      record(event(r, token!, { type: 'client.created', clientId, details: { changes: auditDiff(undefined, metadata) } }));
    });
  }

  async function update(r: RegistrationRequest, clientId: string, metadata: ClientMetadata, token: InitialAccessTokenRow) {
    await change(clientId, async (tx, record) => {
      const row = await findClient(tx, clientId, { lock: true });
      if (!row || row.disabled) throw invalidToken('the client is no longer registered');
      const changes = auditDiff(store.secrets.openIn(row.metadata), metadata);
      if (!Object.keys(changes).length && row.source === 'dynamic') return;
      await tx.query(
        `UPDATE clients SET metadata = $2::text::jsonb, department = $3, source = 'dynamic', updated_at = now() WHERE client_id = $1`,
        [clientId, JSON.stringify(store.secrets.sealIn(metadata)), token.department]);
      // An administrator may have added id_number with an approval; a registration without it ends the approval.
      const revoked = row.approval !== null && !String(metadata.scope).split(' ').includes('id_number');
      if (revoked) await store.revokeApproval(clientId, tx);
      record(event(r, token, { type: 'client.updated', clientId, details: { changes, ...(revoked ? { id_number_approval_revoked: true } : {}) } }));
    });
  }

  return {
    /** Client.adapter.upsert: only what the registration policy checked in this very request is written. */
    async upsert(clientId: string) {
      const r = currentRegistrationRequest();
      const checked = r?.checked;
      if (!r || !checked || checked.metadata.client_id !== clientId) throw new Error(NOT_HERE);
      r.checked = undefined;
      if (checked.kind === 'create') await create(r, clientId, checked.metadata, checked.token.id);
      else await update(r, clientId, checked.metadata, checked.token);
    },

    /** Client.adapter.destroy (RFC 7592 §2.3): a tombstone, as the admin API leaves; the client_id is never reused. */
    async destroy(clientId: string) {
      const r = currentRegistrationRequest();
      if (!r) throw new Error(NOT_HERE);
      await change(clientId, async (tx, record) => {
        const row = await findClient(tx, clientId, { lock: true });
        const token = await tokens.ofClient(clientId, tx);
        if (!row || !token) throw invalidToken('the client is no longer registered');
        await tx.query(
          `UPDATE clients SET disabled = true, deleted_at = now(), source = 'dynamic', updated_at = now(), metadata = metadata - 'client_secret'
           WHERE client_id = $1`, [clientId]);
        await tx.query('DELETE FROM client_previous_secrets WHERE client_id = $1', [clientId]);
        await tx.query('DELETE FROM registration_access_tokens WHERE client_id = $1', [clientId]);
        if (row.approval) await store.revokeApproval(clientId, tx);
        record(event(r, token, { type: 'client.deleted', clientId, details: { changes: auditDiff(row.metadata, undefined) } }));
      });
    },
  };
}
export type DynamicClientWrites = ReturnType<typeof createDynamicClientWrites>;
