// What the console reads from the audit trail: the dashboard's numbers and the audit page's filtered list.
// Each is one or two statements over indexed columns (audit_events (type, at), its primary key (id, at)).
import type { Queryable } from '../store/db.ts';
import { ANOMALY_TYPES } from '../anomaly/signals.ts';

export interface MinuteCount { minute: number; ok: number; failed: number }

export interface AuditRow {
  id: number; at: string; type: string; outcome: string; actor: string | null; client_id: string | null; session_id: string | null;
  ip: string | null; user_agent: string | null; request_id: string | null; details: Record<string, unknown>;
  /** The actor's masked ID number and name, when the actor is an account. */
  actor_masked: string | null; actor_name: string | null;
}

const TIME = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const ROW = `e.id::float8 AS id, ${TIME('e.at')} AS at, e.type, e.outcome, e.actor, e.client_id, e.session_id, e.ip, e.user_agent,
  e.request_id, e.details, a.id_masked AS actor_masked, a.name AS actor_name`;

/** Logins per minute over the hour to `now` (60 minutes, oldest first, empty minutes included), and lockouts. */
export async function loginsLastHour(q: Queryable, now = Date.now()): Promise<{ minutes: MinuteCount[]; lockouts: number }> {
  const end = Math.floor(now / 60_000) * 60_000;
  const start = end - 59 * 60_000;
  const rows = await q.query<{ minute: number; ok: number; failed: number; locked: number }>(
    `SELECT (floor(extract(epoch FROM at) / 60) * 60000)::float8 AS minute,
       count(*) FILTER (WHERE type = 'login.success')::float8 AS ok, count(*) FILTER (WHERE type = 'login.failure')::float8 AS failed,
       count(*) FILTER (WHERE type = 'account.locked')::float8 AS locked
     FROM audit_events WHERE type IN ('login.success', 'login.failure', 'account.locked') AND at >= $1
     GROUP BY 1`, [new Date(start).toISOString()]);
  const byMinute = new Map(rows.map((r) => [Number(r.minute), r]));
  const minutes = Array.from({ length: 60 }, (_, i) => {
    const minute = start + i * 60_000;
    const r = byMinute.get(minute);
    return { minute, ok: Number(r?.ok ?? 0), failed: Number(r?.failed ?? 0) };
  });
  return { minutes, lockouts: rows.reduce((n, r) => n + Number(r.locked), 0) };
}

/** Anomalies of the last 24 hours, newest first (at most `limit`), and how many there were. */
export async function recentAnomalies(q: Queryable, limit = 20): Promise<{ total: number; items: AuditRow[] }> {
  const rows = await q.query<AuditRow & { total: number }>(
    `SELECT ${ROW}, count(*) OVER ()::float8 AS total FROM audit_events e LEFT JOIN accounts a ON a.id = e.actor
     WHERE e.type = ANY($1::text[]) AND e.at >= now() - interval '24 hours' ORDER BY e.at DESC, e.id DESC LIMIT ${limit}`, [ANOMALY_TYPES]);
  return { total: Number(rows[0]?.total ?? 0), items: rows.map((r) => ({ ...r, id: Number(r.id) })) };
}

export interface AuditFilter { type?: string; actor?: string; clientId?: string; from?: Date; to?: Date; before?: number }

/** type "anomaly.*" matches a family; anything else exactly. */
function typeCondition(type: string, push: (v: unknown) => string): string {
  if (type.endsWith('.*')) return `e.type LIKE ${push(`${type.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`)} ESCAPE '\\'`;
  return `e.type = ${push(type)}`;
}

/** One page of audit events, newest first; `next` is the id to pass as `before` for the page after. */
export async function searchAudit(q: Queryable, f: AuditFilter, limit = 50): Promise<{ rows: AuditRow[]; next?: number }> {
  const params: unknown[] = [];
  const push = (v: unknown) => `$${params.push(v)}`;
  const where: string[] = [];
  if (f.type) where.push(typeCondition(f.type, push));
  if (f.actor) where.push(`e.actor = ${push(f.actor)}`);
  if (f.clientId) where.push(`e.client_id = ${push(f.clientId)}`);
  if (f.from) where.push(`e.at >= ${push(f.from.toISOString())}`);
  if (f.to) where.push(`e.at < ${push(f.to.toISOString())}`);
  if (f.before !== undefined) where.push(`e.id < ${push(f.before)}`);
  const rows = await q.query<AuditRow>(
    `SELECT ${ROW} FROM audit_events e LEFT JOIN accounts a ON a.id = e.actor
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.id DESC, e.at DESC LIMIT ${limit + 1}`, params);
  const page = rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id) }));
  return { rows: page, next: rows.length > limit ? page.at(-1)!.id : undefined };
}
