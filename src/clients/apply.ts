// `yihao clients apply [dir]`: registration files → plan → PostgreSQL. An invalid file is refused
// with file, field and reason; the other files still apply, and the invalid file's client keeps
// its last good registration. A file that disappears disables its client (never deletes it).
import { readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Audit } from '../audit/audit.ts';
import type { ClientStore } from './store.ts';
import { parseRegistration, resolveSecret, type ClientMetadata, type FieldError, type RegistrationContext } from './registration.ts';

export type PlanStep =
  | { action: 'create'; clientId: string; file: string }
  | { action: 'update'; clientId: string; file: string; changed: string[] }
  | { action: 'disable'; clientId: string; file: string | null }
  | { action: 'unchanged'; clientId: string; file: string };

export interface FileProblem { file: string; errors: FieldError[] }
export interface ApplyResult { plan: PlanStep[]; problems: FileProblem[]; applied: boolean }

export interface ApplyDeps {
  store: ClientStore;
  audit: Audit;
  context: RegistrationContext;
  /** The provider's own metadata validation, as a last check (throws with a message). */
  validate?: (metadata: ClientMetadata) => Promise<void>;
  actor?: string;
}

const hashOf = (m: ClientMetadata) => createHash('sha256').update(JSON.stringify(m)).digest('base64url');

function changedFields(before: ClientMetadata, after: ClientMetadata): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

// Changed-field values for the audit trail, with secrets reduced to "changed".
function auditDiff(before: ClientMetadata | undefined, after: ClientMetadata) {
  const fields = before ? changedFields(before, after) : Object.keys(after);
  const hide = (k: string, v: unknown) => (k === 'client_secret' ? (v === undefined ? undefined : '[secret]') : v);
  return Object.fromEntries(fields.map((k) => [k, { before: hide(k, before?.[k]), after: hide(k, after[k]) }]));
}

function jsonError(file: string, err: Error): FieldError {
  return { field: '(file)', message: `${basename(file)} is not valid JSON: ${err.message}` };
}

export async function applyClients(dir: string, deps: ApplyDeps, options: { dryRun?: boolean } = {}): Promise<ApplyResult> {
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => e.name)
    .sort();
  const existing = new Map((await deps.store.rows()).map((r) => [r.clientId, r]));
  const problems: FileProblem[] = [];
  const wanted = new Map<string, { file: string; metadata: ClientMetadata }>();
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
    const result = parseRegistration(json, deps.context);
    if (!result.ok) {
      problems.push({ file, errors: result.errors });
      invalidFiles.add(file);
      continue;
    }
    const { metadata } = result;
    const owner = existing.get(metadata.client_id);
    const errors: FieldError[] = [];
    if (wanted.has(metadata.client_id)) errors.push({ field: 'client_id', message: `also registered by ${wanted.get(metadata.client_id)!.file}` });
    if (owner && owner.source !== 'file') errors.push({ field: 'client_id', message: `is managed through the ${owner.source === 'api' ? 'admin API' : 'registration endpoint'}; remove it there first` });
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
    wanted.set(metadata.client_id, { file, metadata });
  }

  const plan: PlanStep[] = [];
  for (const [clientId, { file, metadata }] of wanted) {
    const row = existing.get(clientId);
    if (!row) plan.push({ action: 'create', clientId, file });
    else if (row.sourceHash !== hashOf(metadata) || row.disabled || row.sourceFile !== file) {
      const changed = changedFields(row.metadata, metadata);
      plan.push({ action: 'update', clientId, file, changed: row.disabled ? ['disabled', ...changed] : changed });
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
    if (step.action === 'disable') {
      await deps.store.setDisabled(step.clientId, true);
      await deps.audit.record({ type: 'client.disabled', outcome: 'success', actor: deps.actor ?? 'clients-apply', clientId: step.clientId, details: { reason: 'registration file removed', file: step.file } });
      continue;
    }
    const { metadata, file } = wanted.get(step.clientId)!;
    const before = existing.get(step.clientId)?.metadata;
    await deps.store.save({
      clientId: step.clientId, metadata, department: String(metadata.department ?? ''), source: 'file', sourceFile: file, sourceHash: hashOf(metadata),
    });
    await deps.audit.record({
      type: step.action === 'create' ? 'client.created' : 'client.updated', outcome: 'success', actor: deps.actor ?? 'clients-apply',
      clientId: step.clientId, details: { file, changes: auditDiff(before, metadata) },
    });
  }
  for (const p of problems) {
    await deps.audit.record({ type: 'client.refused', outcome: 'failure', actor: deps.actor ?? 'clients-apply', details: { file: p.file, errors: p.errors } });
  }
  return { plan, problems, applied: true };
}

export function formatPlan(result: ApplyResult): string {
  const lines: string[] = [];
  for (const s of result.plan) {
    if (s.action === 'create') lines.push(`+ create   ${s.clientId}  (${s.file})`);
    if (s.action === 'update') lines.push(`~ update   ${s.clientId}  (${s.file}): ${s.changed.join(', ')}`);
    if (s.action === 'disable') lines.push(`- disable  ${s.clientId}  (${s.file ?? 'no file'} removed)`);
    if (s.action === 'unchanged') lines.push(`  unchanged ${s.clientId}`);
  }
  for (const p of result.problems) {
    for (const e of p.errors) lines.push(`! refused  ${p.file}: ${e.field}: ${e.message}`);
  }
  return lines.join('\n');
}
