// SQL for client administration over the clients table (plus approvals and previous secrets, migration 003).
// Deleted clients are tombstones: invisible here, but their client_id stays taken.
import type { Queryable } from '../store/db.ts';
import type { ClientMetadata } from '../clients/registration.ts';
import type { ApprovalRecord } from '../clients/store.ts';

export interface AdminClientRow {
  client_id: string;
  metadata: ClientMetadata;
  department: string | null;
  source: 'file' | 'api' | 'dynamic';
  source_file: string | null;
  disabled: boolean;
  deleted: boolean;
  created_at: string;
  updated_at: string;
  secret_rotated_at: string | null;
  previous_secret_expires_at: string | null;
  approval: ApprovalRecord | null;
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

// One round trip per page: the approval in force and the grace of the last rotation come along.
const SELECT = `
SELECT c.client_id, c.metadata, c.department, c.source, c.source_file, c.disabled, c.deleted_at IS NOT NULL AS deleted,
  ${iso('c.created_at')} AS created_at, ${iso('c.updated_at')} AS updated_at, ${iso('c.secret_rotated_at')} AS secret_rotated_at,
  (SELECT ${iso('max(p.expires_at)')} FROM client_previous_secrets p WHERE p.client_id = c.client_id AND p.expires_at > now()) AS previous_secret_expires_at,
  (SELECT json_build_object('approved_by', a.approved_by, 'approved_at', ${iso('a.approved_at')}, 'legal_basis', a.legal_basis,
            'recorded_by', a.recorded_by, 'recorded_at', ${iso('a.recorded_at')})
     FROM client_approvals a WHERE a.client_id = c.client_id AND a.scope = 'id_number' AND a.revoked_at IS NULL
     ORDER BY a.id DESC LIMIT 1) AS approval
FROM clients c`;

export async function listClients(q: Queryable, f: { department?: string; status?: 'enabled' | 'disabled'; after?: string; limit: number }) {
  return q.query<AdminClientRow>(
    `${SELECT} WHERE c.deleted_at IS NULL AND ($1::text IS NULL OR c.department = $1) AND ($2::boolean IS NULL OR c.disabled = $2)
       AND ($3::text IS NULL OR c.client_id > $3) ORDER BY c.client_id LIMIT $4`,
    [f.department ?? null, f.status === undefined ? null : f.status === 'disabled', f.after ?? null, f.limit]);
}

/** With lock: FOR UPDATE, so that concurrent changes to one client queue instead of overwriting each other. */
export async function findClient(q: Queryable, clientId: string, opts: { lock?: boolean; includeDeleted?: boolean } = {}) {
  const [row] = await q.query<AdminClientRow>(
    `${SELECT} WHERE c.client_id = $1 ${opts.includeDeleted ? '' : 'AND c.deleted_at IS NULL'} ${opts.lock ? 'FOR UPDATE OF c' : ''}`, [clientId]);
  return row;
}

/** false when the client_id was taken meanwhile (unique violation): two creates raced. */
export async function insertClient(q: Queryable, metadata: ClientMetadata): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO clients (client_id, metadata, department, source) VALUES ($1, $2::text::jsonb, $3, 'api')
     ON CONFLICT (client_id) DO NOTHING RETURNING client_id`,
    [metadata.client_id, JSON.stringify(metadata), String(metadata.department ?? '')]);
  return rows.length === 1;
}

/** Every change through the API marks the client source = 'api' (keeping source_file): `clients apply` then reports a conflict. */
export async function updateMetadata(q: Queryable, metadata: ClientMetadata, opts: { rotated?: boolean } = {}) {
  await q.query(
    `UPDATE clients SET metadata = $2::text::jsonb, department = $3, source = 'api', updated_at = now()
       ${opts.rotated ? ', secret_rotated_at = now()' : ''} WHERE client_id = $1`,
    [metadata.client_id, JSON.stringify(metadata), String(metadata.department ?? '')]);
}

export async function setDisabled(q: Queryable, clientId: string, disabled: boolean) {
  await q.query(`UPDATE clients SET disabled = $2, source = 'api', updated_at = now() WHERE client_id = $1`, [clientId, disabled]);
}

/** The tombstone keeps the metadata for the record, without its secret. */
export async function markDeleted(q: Queryable, clientId: string) {
  await q.query(
    `UPDATE clients SET disabled = true, deleted_at = now(), source = 'api', updated_at = now(), metadata = metadata - 'client_secret'
     WHERE client_id = $1`, [clientId]);
  await q.query('DELETE FROM client_previous_secrets WHERE client_id = $1', [clientId]);
}

/** Only the secret this rotation replaced stays accepted: earlier ones end now. */
export async function keepPreviousSecret(q: Queryable, clientId: string, secretSha256: string, graceSeconds: number): Promise<string | null> {
  await q.query('DELETE FROM client_previous_secrets WHERE client_id = $1', [clientId]);
  if (graceSeconds <= 0) return null;
  const [row] = await q.query<{ expires_at: string }>(
    `INSERT INTO client_previous_secrets (client_id, secret_sha256, expires_at) VALUES ($1, $2, now() + $3::int * interval '1 second')
     RETURNING ${iso('expires_at')} AS expires_at`, [clientId, secretSha256, graceSeconds]);
  return row!.expires_at;
}
