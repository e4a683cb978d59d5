// The chain's canonical form in Node, byte for byte what audit_row_hash computes in the database
// (migrations/002_audit_chain.sql), so that whoever holds an export can recompute every hash offline.
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '00'.repeat(32);

/** A bound of a time range: a Date, or timestamptz text (keeps microseconds, e.g. copied from an export). */
export type Time = Date | string;
export const timeText = (t: Time): string => (t instanceof Date ? t.toISOString() : t);

/** A row as exported: `at` is ISO 8601 UTC with microseconds, hashes are hex. */
export interface ChainRow {
  id: number;
  at: string;
  type: string;
  outcome: string;
  actor: string | null;
  client_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: unknown;
  prev_hash: string;
  hash: string;
}

// PostgreSQL stores JSON numbers as numeric and prints them without exponent: 1e21 → 1000…0, 1.5e-7 → 0.00000015.
function plainNumber(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = '', exp] = m;
  const digits = `${int}${frac}`;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

// Keys in code-point order, as PostgreSQL's COLLATE "C" compares UTF-8 bytes.
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? plainNumber(value) : 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.sort(([a], [b]) => byCodePoint(a, b)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** SHA-256(prev_hash ‖ canonical JSON of [id, at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details]). */
export function rowHash(row: Omit<ChainRow, 'hash'>): string {
  const fields = [row.id, row.at, row.type, row.outcome, row.actor, row.client_id, row.session_id, row.ip, row.user_agent, row.request_id, row.details];
  return createHash('sha256').update(Buffer.from(row.prev_hash, 'hex')).update(canonicalJson(fields), 'utf8').digest('hex');
}
