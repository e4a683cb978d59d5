// A change and its audit events in one transaction: both are written or neither. The audit trail is
// fail-closed (docs/audit.md): when the event cannot be appended, the change is rolled back too.
import { appendEvent, AuditWriteError, type AuditEvent } from '../audit/audit.ts';
import type { Db, Queryable } from '../store/db.ts';

export type RecordEvent = (event: AuditEvent) => void;

export async function auditedTransaction<T>(db: Db, fn: (tx: Queryable, record: RecordEvent) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const events: AuditEvent[] = [];
    const result = await fn(tx, (e) => { events.push(e); });
    // Appended last, so the chain lock (audit_append) is held only for the end of the transaction.
    if (!events.length) return result;
    let current = events[0]!;
    try {
      await tx.query('SELECT audit_ensure_partitions()');
      for (current of events) await appendEvent(tx, current);
    } catch (err) {
      throw new AuditWriteError(current.type, err);
    }
    return result;
  });
}
