// What changed between two versions of a client's metadata: the field names for a plan, and the
// before/after values for the audit trail, where secrets appear only as "[secret]" (changed or not, never the value).
import type { ClientMetadata } from './registration.ts';

const SECRET_FIELDS = new Set(['client_secret']);

export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

const hide = (k: string, v: unknown) => (SECRET_FIELDS.has(k) && v !== undefined ? '[secret]' : v);

/** Changed-field values for the audit trail ({ field: { before, after } }), secrets reduced to "[secret]". */
export function auditDiff(before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined) {
  const fields = before && after ? changedFields(before, after) : Object.keys(after ?? before ?? {}).sort();
  return Object.fromEntries(fields.map((k) => [k, { before: hide(k, before?.[k]), after: hide(k, after?.[k]) }]));
}

