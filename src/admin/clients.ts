// Client administration: each operation is one transaction holding the change, the approval record and
// the audit event (acting admin, before/after values, secrets never), or nothing at all.
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Db, Queryable } from '../store/db.ts';
import type { ClientStore } from '../clients/store.ts';
import { parseRegistration, resolveSecret, type ClientMetadata, type RegistrationContext } from '../clients/registration.ts';
import { secretValue } from '../clients/secret-seal.ts';
import { auditDiff } from '../clients/diff.ts';
import { sha256 } from '../clients/secret-grace.ts';
import type { AuditEvent } from '../audit/audit.ts';
import { auditedTransaction, type RecordEvent } from './audited.ts';
import { actorOf, type Admin } from './auth.ts';
import * as q from './queries.ts';
import { Conflict, InvalidClientMetadata, InvalidRequest, NotFound } from './errors.ts';
import type { ClientSchema } from './schemas.ts';

export interface ClientAdminDeps {
  db: Db;
  store: ClientStore;
  context: Pick<RegistrationContext, 'production' | 'env'>;
  /** oidc-provider's own metadata validation, the last word (throws with error_description). */
  validate(metadata: ClientMetadata): Promise<void>;
}

/** Who acts, and from where, for the audit trail. */
export interface Acting { admin: Admin; ip?: string; userAgent?: string; requestId?: string }

type ClientView = z.infer<typeof ClientSchema>;

// 256 bits, base64url: well over the 32 characters registration requires.
export const generateSecret = () => randomBytes(32).toString('base64url');

const VIEW_EXCLUDED = new Set(['client_secret', 'scope']);

export function toView(row: q.AdminClientRow): ClientView {
  const m = row.metadata;
  const fields = Object.fromEntries(Object.entries(m).filter(([k]) => !VIEW_EXCLUDED.has(k)));
  return {
    ...(fields as Partial<ClientView>),
    client_id: row.client_id,
    allowed_scopes: String(m.scope ?? '').split(' ').filter(Boolean),
    id_number_approval: row.approval,
    has_secret: typeof m.client_secret === 'string',
    secret_rotated_at: row.secret_rotated_at,
    previous_secret_expires_at: row.previous_secret_expires_at,
    status: row.disabled ? 'disabled' : 'enabled',
    source: row.source,
    source_file: row.source_file,
    created_at: row.created_at,
    updated_at: row.updated_at,
  } as ClientView;
}

/** The registration document behind stored metadata: what a PATCH merges into. */
function toDocument(m: ClientMetadata): Record<string, unknown> {
  // response_types is derived from grant_types; the secret is the server's.
  const { client_secret: _s, scope, response_types: _r, ...rest } = m;
  return { ...rest, allowed_scopes: String(scope ?? '').split(' ').filter(Boolean) };
}

/** RFC 7396 JSON merge patch. */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) {
      out[k] = mergePatch(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function createClientAdmin(deps: ClientAdminDeps) {
  const { db, store } = deps;

  const event = (a: Acting, e: Omit<AuditEvent, 'actor' | 'outcome' | 'ip' | 'userAgent' | 'requestId'>): AuditEvent => ({
    ...e, outcome: 'success', actor: actorOf(a.admin), ip: a.ip, userAgent: a.userAgent, requestId: a.requestId,
    details: { via: 'admin-api', admin: a.admin, ...e.details },
  });

  /** parseRegistration, then the provider's own check; every error at once or the metadata. */
  async function validated(doc: unknown, ctx: RegistrationContext) {
    const result = parseRegistration(doc, ctx);
    if (!result.ok) throw new InvalidClientMetadata(result.errors);
    try {
      await deps.validate(resolveSecret(result.metadata, ctx.env));
    } catch (err) {
      const e = err as Error & { error_description?: string };
      throw new InvalidClientMetadata([{ field: '(registration)', message: e.error_description ?? e.message }]);
    }
    return result;
  }

  async function locked(tx: Queryable, clientId: string) {
    const row = await q.findClient(tx, clientId, { lock: true });
    if (!row) throw new NotFound();
    return row;
  }

  // The cache is dropped after the commit, never before: a concurrent read must not re-cache the old row.
  async function change<T>(clientId: string, fn: (tx: Queryable, record: RecordEvent) => Promise<T>): Promise<T> {
    try {
      return await auditedTransaction(db, fn);
    } finally {
      if (clientId) store.forget(clientId);
    }
  }

  async function view(tx: Queryable, clientId: string) {
    return toView((await q.findClient(tx, clientId))!);
  }

  return {
    async list(f: { department?: string; status?: 'enabled' | 'disabled'; cursor?: string; limit: number }) {
      let after: string | undefined;
      if (f.cursor) {
        after = Buffer.from(f.cursor, 'base64url').toString('utf8');
        if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(after)) throw new InvalidRequest('cursor is not one this API issued', [{ field: 'cursor', message: 'is not valid' }]);
      }
      const rows = await q.listClients(db, { department: f.department, status: f.status, after, limit: f.limit + 1 });
      const page = rows.slice(0, f.limit);
      const more = rows.length > f.limit;
      return { clients: page.map(toView), next_cursor: more ? Buffer.from(page.at(-1)!.client_id).toString('base64url') : null };
    },

    async get(clientId: string) {
      const row = await q.findClient(db, clientId);
      if (!row) throw new NotFound();
      return toView(row);
    },

    async create(body: unknown, a: Acting) {
      if (!isObject(body)) throw new InvalidRequest('the body must be a JSON object');
      const clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
      const secret = generateSecret();
      return change(clientId ?? '', async (tx, record) => {
        const existing = clientId ? await q.findClient(tx, clientId, { lock: true, includeDeleted: true }) : undefined;
        if (existing?.deleted) throw new Conflict(`client_id ${clientId} belonged to a deleted client and is never reused`);
        if (existing) throw new Conflict(`client ${clientId} already exists`);
        const { metadata, approval } = await validated(body, { ...deps.context, managedSecret: secret, requireIdNumberApproval: true });
        if (!(await q.insertClient(tx, store.secrets.sealIn(metadata)))) throw new Conflict(`client ${metadata.client_id} already exists`);
        if (approval) await store.recordApproval(metadata.client_id, approval, actorOf(a.admin), tx);
        record(event(a, { type: 'client.created', clientId: metadata.client_id, details: { changes: auditDiff(undefined, metadata), ...(approval ? { id_number_approval: approval } : {}) } }));
        const created = await view(tx, metadata.client_id);
        return { ...created, ...(metadata.client_secret ? { client_secret: secret } : {}) };
      });
    },

    /** PATCH: a JSON merge patch over the registration document, validated whole. */
    async update(clientId: string, patch: unknown, a: Acting) {
      if (!isObject(patch)) throw new InvalidRequest('the body must be a JSON merge patch object');
      return change(clientId, async (tx, record) => {
        const row = await locked(tx, clientId);
        if (patch.client_id !== undefined && patch.client_id !== clientId) {
          throw new InvalidClientMetadata([{ field: 'client_id', message: 'cannot be changed (it must equal the path)' }]);
        }
        const doc = mergePatch(toDocument(row.metadata), patch);
        // Without a back-channel URI the session flag has nothing to qualify.
        if (patch.backchannel_logout_uri === null && patch.backchannel_logout_session_required === undefined) delete doc.backchannel_logout_session_required;
        const before = row.metadata;
        const held = typeof before.client_secret === 'string' ? before.client_secret : undefined;
        const managedSecret = held ?? generateSecret();
        const { metadata, approval } = await validated(doc, {
          ...deps.context, managedSecret, requireIdNumberApproval: true, idNumberApproved: row.approval !== null,
        });
        const changes = auditDiff(before, metadata);
        const idNumber = String(metadata.scope).split(' ').includes('id_number');
        if (!Object.keys(changes).length && !approval) return toView(row); // nothing to change, nothing to record
        await q.updateMetadata(tx, store.secrets.sealIn(metadata)); // a secret held stays as sealed
        if (approval) await store.recordApproval(clientId, approval, actorOf(a.admin), tx);
        if (!idNumber && row.approval) await store.revokeApproval(clientId, tx);
        record(event(a, {
          type: 'client.updated', clientId,
          details: { changes, ...(approval ? { id_number_approval: approval } : {}), ...(!idNumber && row.approval ? { id_number_approval_revoked: true } : {}) },
        }));
        const updated = await view(tx, clientId);
        // A client that has just become confidential gets its first secret, shown this once.
        return { ...updated, ...(!held && metadata.client_secret ? { client_secret: managedSecret } : {}) };
      });
    },

    async setEnabled(clientId: string, enabled: boolean, a: Acting) {
      return change(clientId, async (tx, record) => {
        const row = await locked(tx, clientId);
        if (row.disabled === !enabled) return toView(row);
        await q.setDisabled(tx, clientId, !enabled);
        record(event(a, { type: enabled ? 'client.enabled' : 'client.disabled', clientId, details: { changes: { disabled: { before: row.disabled, after: !enabled } } } }));
        return view(tx, clientId);
      });
    },

    async remove(clientId: string, a: Acting) {
      await change(clientId, async (tx, record) => {
        const row = await locked(tx, clientId);
        await q.markDeleted(tx, clientId);
        if (row.approval) await store.revokeApproval(clientId, tx);
        record(event(a, { type: 'client.deleted', clientId, details: { changes: auditDiff(row.metadata, undefined), disabled: row.disabled } }));
      });
    },

    async rotateSecret(clientId: string, graceSeconds: number, a: Acting) {
      return change(clientId, async (tx, record) => {
        const row = await locked(tx, clientId);
        const held = row.metadata.client_secret;
        if (typeof held !== 'string') throw new InvalidRequest(`client ${clientId} has no secret to rotate (token_endpoint_auth_method ${String(row.metadata.token_endpoint_auth_method)})`);
        // A secret that no longer opens (its key id gone) is replaced all the same, with no grace: it authenticates nobody.
        const old = secretValue(store.secrets, deps.context.env, clientId, held);
        const secret = generateSecret();
        const metadata = { ...row.metadata, client_secret: secret };
        await q.updateMetadata(tx, store.secrets.sealIn(metadata), { rotated: true });
        const expires = old ? await q.keepPreviousSecret(tx, clientId, sha256(old), graceSeconds) : null;
        record(event(a, {
          type: 'client.secret_rotated', clientId,
          details: { changes: auditDiff(row.metadata, metadata), grace_seconds: graceSeconds, previous_secret_expires_at: expires },
        }));
        return { client_id: clientId, client_secret: secret, previous_secret_expires_at: expires };
      });
    },
  };
}
export type ClientAdmin = ReturnType<typeof createClientAdmin>;
