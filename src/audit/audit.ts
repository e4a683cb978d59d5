// Audit events in PostgreSQL, appended to one hash chain (migrations/002_audit_chain.sql, docs/audit.md).
// Actors are internal account ids or pairwise subjects, never clear ID numbers; details are redacted like logs.
// Fail closed: record() rejects when the event is not durably written, and callers let that fail the action —
// GB/T 22239-2019 8.1.4.3 d) protects the audit process against interruption, so nothing happens unrecorded.
import type { Db, Queryable } from '../store/db.ts';
import type { Logger } from '../log.ts';
import { redactText } from '../log.ts';

export interface AuditEvent {
  type: string;              // e.g. login.success, login.failure, account.locked, logout, client.applied
  outcome: 'success' | 'failure';
  actor?: string | null;
  clientId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

export interface Audit {
  record(event: AuditEvent): Promise<void>;
}

/** The event was not written, so the action it describes must not go ahead. */
export class AuditWriteError extends Error {
  constructor(type: string, cause: unknown) {
    super(`audit event ${type} could not be written (action refused): ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'AuditWriteError';
  }
}

// Redacted value by value (not over the JSON text, where masking digits inside a number would break it).
function redact(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'number') return Number.isInteger(value) && redactText(String(value)) !== String(value) ? redactText(String(value)) : value;
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactText(k), redact(v)]));
  return value;
}

/** One round trip: audit_append takes the chain lock, reads the last hash, inserts and advances the head. */
export async function appendEvent(q: Queryable, e: AuditEvent): Promise<number> {
  const [row] = await q.query<{ id: number | string }>(
    'SELECT audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) AS id',
    [e.type, e.outcome, e.actor ?? null, e.clientId ?? null, e.sessionId ?? null, e.ip ?? null,
      e.userAgent?.slice(0, 512) ?? null, e.requestId ?? null, JSON.stringify(redact(JSON.parse(JSON.stringify(e.details ?? {}))))],
  );
  return Number(row!.id);
}

const NO_PARTITION = '23514'; // check_violation: "no partition of relation … found for row"

function startOfNextUtcMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function createAudit(db: Db, log: Logger): Audit {
  // The database creates this month's and next month's partitions; ask again when this process sees a new month.
  let partitionsChecked = 0;
  const ensurePartitions = async () => {
    await db.query('SELECT audit_ensure_partitions()');
    partitionsChecked = startOfNextUtcMonth(Date.now());
  };
  return {
    async record(e) {
      try {
        if (Date.now() >= partitionsChecked) await ensurePartitions();
        try {
          await appendEvent(db, e);
        } catch (err) {
          if ((err as { code?: string }).code !== NO_PARTITION) throw err;
          await ensurePartitions(); // the database's clock is already in a month we have not prepared
          await appendEvent(db, e);
        }
      } catch (err) {
        log.error('audit write failed', { type: e.type, err });
        throw new AuditWriteError(e.type, err);
      }
    },
  };
}
