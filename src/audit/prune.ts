// `yihao audit prune`: the only way audit rows ever leave. Whole monthly partitions lying entirely before
// now − retention are detached and dropped (Cybersecurity Law art. 21: logs kept at least six months, so a
// row lives at least the retention period and at most one month more), and the prune itself is recorded in
// the same transaction, naming the last dropped row and its hash: verify anchors the remaining chain there.
import type { Db } from '../store/db.ts';
import { appendEvent } from './audit.ts';

export const DEFAULT_RETENTION_DAYS = 180;

export interface PruneResult {
  cutoff: string;
  partitions: string[];
  firstPrunedId: number | null;
  lastPrunedId: number | null;
}

export async function pruneAudit(db: Db, options: { retentionDays: number; actor: string; now?: Date }): Promise<PruneResult> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000).toISOString();
  await db.query('SELECT audit_ensure_partitions()'); // the prune's own event must have somewhere to go
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ r: { partitions: string[]; first_pruned_id: number | null; last_pruned_id: number | null; last_pruned_hash: string | null } }>(
      'SELECT audit_prune($1) AS r', [cutoff]);
    const r = row!.r;
    await appendEvent(tx, {
      type: 'audit.pruned', outcome: 'success', actor: options.actor,
      details: { retention_days: options.retentionDays, cutoff, ...r },
    });
    return { cutoff, partitions: r.partitions, firstPrunedId: r.first_pruned_id, lastPrunedId: r.last_pruned_id };
  });
}
