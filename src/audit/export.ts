// `yihao audit export`: a time range as JSON lines or CSV (RFC 4180), with prev_hash and hash so that the
// recipient can check the chain offline (canonical.ts). Audit rows hold no secrets: details are redacted on write.
import type { Db } from '../store/db.ts';
import { timeText, type ChainRow, type Time } from './canonical.ts';

export type ExportFormat = 'jsonl' | 'csv';
export const EXPORT_COLUMNS = ['id', 'at', 'type', 'outcome', 'actor', 'client_id', 'session_id', 'ip', 'user_agent', 'request_id', 'details', 'prev_hash', 'hash'] as const;

const PAGE = 5000;
const ROWS = `SELECT id, audit_time_text(at) AS at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id,
    details::text AS details, encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
  FROM audit_events
  WHERE at >= $1 AND at < $2 AND (id, at) > ($3::bigint, $4::timestamptz)
  ORDER BY id, at LIMIT ${PAGE}`;

// Every text value is quoted, so an empty string ("") stays distinct from NULL (nothing).
function csvField(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  return `"${v.replaceAll('"', '""')}"`;
}

export function csvLine(values: Array<string | number | null>): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

export async function exportEvents(db: Db, range: { from: Time; to: Time }, format: ExportFormat,
  write: (chunk: string) => Promise<void> | void): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    if (format === 'csv') await write(csvLine([...EXPORT_COLUMNS]));
    let count = 0;
    for (let cursor = { id: -1, at: '-infinity' }; ;) {
      const page = await tx.query<Omit<ChainRow, 'details'> & { details: string }>(ROWS, [timeText(range.from), timeText(range.to), cursor.id, cursor.at]);
      let chunk = '';
      for (const r of page) {
        const row = { ...r, id: Number(r.id) };
        chunk += format === 'csv'
          ? csvLine(EXPORT_COLUMNS.map((c) => row[c]))
          : `${JSON.stringify({ ...row, details: JSON.parse(row.details) })}\n`;
      }
      if (chunk) await write(chunk);
      count += page.length;
      if (page.length < PAGE) return count;
      cursor = page[page.length - 1]!;
    }
  });
}
