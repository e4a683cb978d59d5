// `yihao clients apply [dir]`: registration files → plan → PostgreSQL. An invalid file is refused
// with file, field and reason; the other files still apply, and the invalid file's client keeps
// its last good registration. A file that disappears disables its client (never deletes it).
// A client changed through the admin API since its file was applied is a conflict: reported with the
// fields that differ and left as it is, unless --force lets the file win.
import { readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Audit } from '../audit/audit.ts';
import type { ClientStore } from './store.ts';
import type { SecretSealer } from './secret-seal.ts';
import { auditDiff, changedFields } from './diff.ts';
import { parseRegistration, resolveSecret, type ClientMetadata, type FieldError, type IdNumberApproval, type RegistrationContext } from './registration.ts';

export type PlanStep =
  | { action: 'create'; clientId: string; file: string }
  | { action: 'update'; clientId: string; file: string; changed: string[] }
  | { action: 'disable'; clientId: string; file: string | null }
  | { action: 'unchanged'; clientId: string; file: string }
  | { action: 'conflict'; clientId: string; file: string; changed: string[] };

export interface FileProblem { file: string; errors: FieldError[] }
export interface ApplyResult { plan: PlanStep[]; problems: FileProblem[]; applied: boolean }
export interface ApplyOptions { dryRun?: boolean; /** Let files overwrite clients changed through the admin API. */ force?: boolean }

export interface ApplyDeps {
  store: ClientStore;
  audit: Audit;
  context: RegistrationContext;
  /** The provider's own metadata validation, as a last check (throws with a message). */
  validate?: (metadata: ClientMetadata) => Promise<void>;
  actor?: string;
}

// The approval is part of what a file says, so a changed approval is a changed file. The secret enters as
// its keyed fingerprint: the hash sits in the clients table, where the secret itself is sealed.
function hashOf(secrets: SecretSealer, metadata: ClientMetadata, approval?: IdNumberApproval): string {
  const secret = metadata.client_secret;
  const m = typeof secret === 'string' ? { ...metadata, client_secret: secrets.fingerprint(metadata.client_id, secret) } : metadata;
  return createHash('sha256').update(JSON.stringify(approval ? { ...m, id_number_approval: approval } : m)).digest('base64url');
}

function jsonError(file: string, err: Error): FieldError {
  return { field: '(file)', message: `${basename(file)} is not valid JSON: ${err.message}` };
}

export async function applyClients(dir: string, deps: ApplyDeps, options: ApplyOptions = {}): Promise<ApplyResult> {
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => e.name)
    .sort();
  const existing = new Map((await deps.store.rows()).map((r) => [r.clientId, r]));
  const problems: FileProblem[] = [];
  const wanted = new Map<string, { file: string; metadata: ClientMetadata; approval?: IdNumberApproval }>();
  const invalidFiles = new Set<string>();

  for (const file of files) {
    const path = `${dir}/${file}`;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      problems.push({ file, errors: [jsonError(path, err as Error)] });
      invalidFiles.add(file);
      continue;
    }
    const claimed = (json as { client_id?: unknown } | null)?.client_id;
    const approved = typeof claimed === 'string' && (await deps.store.approval(claimed)) !== undefined;
    const result = parseRegistration(json, { ...deps.context, idNumberApproved: approved });
    if (!result.ok) {
      problems.push({ file, errors: result.errors });
      invalidFiles.add(file);
      continue;
    }
    const { metadata } = result;
    const owner = existing.get(metadata.client_id);
    const errors: FieldError[] = [];
    if (wanted.has(metadata.client_id)) errors.push({ field: 'client_id', message: `also registered by ${wanted.get(metadata.client_id)!.file}` });
    if (owner?.deleted) errors.push({ field: 'client_id', message: 'belonged to a client deleted through the admin API; a deleted client_id is never reused' });
    else if (owner && owner.source !== 'file' && owner.source !== 'api') errors.push({ field: 'client_id', message: 'is managed through the registration endpoint; remove it there first' });
    if (!errors.length && deps.validate) {
      try {
        await deps.validate(resolveSecret(metadata, deps.context.env));
      } catch (err) {
        errors.push({ field: '(registration)', message: (err as Error & { error_description?: string }).error_description ?? (err as Error).message });
      }
    }
    if (errors.length) {
      problems.push({ file, errors });
      invalidFiles.add(file);
      continue;
    }
    wanted.set(metadata.client_id, { file, metadata, approval: result.approval });
  }

  const plan: PlanStep[] = [];
  for (const [clientId, { file, metadata, approval }] of wanted) {
    const row = existing.get(clientId);
    if (!row) {
      plan.push({ action: 'create', clientId, file });
      continue;
    }
    const changed = [...(row.disabled ? ['disabled'] : []), ...changedFields(row.metadata, metadata)];
    if (row.source === 'api' && changed.length && !options.force) plan.push({ action: 'conflict', clientId, file, changed });
    else if (row.source === 'api' || row.sourceHash !== hashOf(deps.store.secrets, metadata, approval) || row.disabled || row.sourceFile !== file) {
      plan.push({ action: 'update', clientId, file, changed: changed.length ? changed : [approval ? 'id_number_approval' : 'source'] });
    } else plan.push({ action: 'unchanged', clientId, file });
  }
  for (const row of existing.values()) {
    if (row.source !== 'file' || row.disabled || wanted.has(row.clientId)) continue;
    if (row.sourceFile && invalidFiles.has(row.sourceFile)) continue; // keep the last good registration
    plan.push({ action: 'disable', clientId: row.clientId, file: row.sourceFile });
  }

  if (options.dryRun) return { plan, problems, applied: false };

  for (const step of plan) {
    if (step.action === 'unchanged') continue;
    if (step.action === 'conflict') {
      await deps.audit.record({ type: 'client.conflict', outcome: 'failure', actor: deps.actor ?? 'clients-apply', clientId: step.clientId, details: { file: step.file, fields: step.changed, reason: 'changed through the admin API since the file was applied' } });
      continue;
    }
    if (step.action === 'disable') {
      await deps.store.setDisabled(step.clientId, true);
      await deps.audit.record({ type: 'client.disabled', outcome: 'success', actor: deps.actor ?? 'clients-apply', clientId: step.clientId, details: { reason: 'registration file removed', file: step.file } });
      continue;
    }
    const { metadata, file, approval } = wanted.get(step.clientId)!;
    const row = existing.get(step.clientId);
    await deps.store.save({
      clientId: step.clientId, metadata, department: String(metadata.department ?? ''), source: 'file', sourceFile: file, sourceHash: hashOf(deps.store.secrets, metadata, approval),
    });
    await syncApproval(deps, step.clientId, metadata, approval);
    await deps.audit.record({
      type: step.action === 'create' ? 'client.created' : 'client.updated', outcome: 'success', actor: deps.actor ?? 'clients-apply',
      clientId: step.clientId,
      details: { file, changes: auditDiff(row?.metadata, metadata), ...(approval ? { id_number_approval: approval } : {}), ...(row?.source === 'api' ? { overwrote: 'admin API changes (--force)' } : {}) },
    });
  }
  for (const p of problems) {
    await deps.audit.record({ type: 'client.refused', outcome: 'failure', actor: deps.actor ?? 'clients-apply', details: { file: p.file, errors: p.errors } });
  }
  return { plan, problems, applied: true };
}

// A file's approval is recorded when it differs from the one in force; taking id_number away revokes it.
async function syncApproval(deps: ApplyDeps, clientId: string, metadata: ClientMetadata, approval?: IdNumberApproval) {
  const current = await deps.store.approval(clientId);
  if (!String(metadata.scope).split(' ').includes('id_number')) {
    if (current) await deps.store.revokeApproval(clientId);
    return;
  }
  if (approval && (!current || current.approved_by !== approval.approved_by || Date.parse(current.approved_at) !== Date.parse(approval.approved_at) || current.legal_basis !== approval.legal_basis)) {
    await deps.store.recordApproval(clientId, approval, deps.actor ?? 'clients-apply');
  }
}

export function formatPlan(result: ApplyResult): string {
  const lines: string[] = [];
  for (const s of result.plan) {
    if (s.action === 'create') lines.push(`+ create   ${s.clientId}  (${s.file})`);
    if (s.action === 'update') lines.push(`~ update   ${s.clientId}  (${s.file}): ${s.changed.join(', ')}`);
    if (s.action === 'disable') lines.push(`- disable  ${s.clientId}  (${s.file ?? 'no file'} removed)`);
    if (s.action === 'unchanged') lines.push(`  unchanged ${s.clientId}`);
    if (s.action === 'conflict') {
      lines.push(`! conflict ${s.clientId}  (${s.file}): changed through the admin API since the file was applied; differs in ${s.changed.join(', ')} (left as it is; --force lets the file win)`);
    }
  }
  for (const p of result.problems) {
    for (const e of p.errors) lines.push(`! refused  ${p.file}: ${e.field}: ${e.message}`);
  }
  return lines.join('\n');
}
