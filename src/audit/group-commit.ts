// Group commit for the audit chain: events recorded while one batch is being written go together in the
// next, as one audit_append_many call (one round trip, one chain lock, one transaction). Under load that
// replaces N lock hand-overs and N commits by one; alone, an event goes at once, with no added wait.
import type { Queryable } from '../store/db.ts';
import type { AuditRow } from './audit.ts';

const MAX_BATCH = 500;

interface Waiting { row: AuditRow; resolve(): void; reject(err: unknown): void }

/** Returns append(row): resolves once the row is committed in the chain, rejects if its batch failed. */
export function groupCommit(db: Queryable, prepare: () => Promise<void> = async () => {}, maxBatch = MAX_BATCH): (row: AuditRow) => Promise<void> {
  let queue: Waiting[] = [];
  let writing = false;

  async function writeAll() {
    while (queue.length) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        await prepare();
        await db.query('SELECT audit_append_many($1::jsonb)', [JSON.stringify(batch.map((w) => w.row))]);
        for (const w of batch) w.resolve();
      } catch (err) {
        // All or nothing: the batch was one transaction, so no row of it is in the chain.
        for (const w of batch) w.reject(err);
      }
    }
    writing = false;
  }

  return (row) => new Promise<void>((resolve, reject) => {
    queue.push({ row, resolve, reject });
    if (writing) return;
    writing = true;
    queueMicrotask(() => void writeAll()); // events recorded in this same tick share the first batch
  });
}
