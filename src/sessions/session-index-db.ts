// Session indexes in the database (deployments without Redis): generated columns on oidc_models, filled by
// PostgreSQL in the adapter's own upsert statement, and session_context for the login's IP and user agent
// (migrations/004_session_oversight.sql). Expired rows are invisible at once, as for the adapter.
import type { Db } from '../store/db.ts';
import { decodeCursor, encodeCursor, pageLimit, type SessionEntry, type SessionFilter, type SessionIndex } from './session-index.ts';

interface Row {
  uid: string; account: string; clients: string[] | null; login: number; seen: number; expires: number | null;
  acr: string | null; amr: unknown; ip: string | null; user_agent: string | null;
}

const SELECT = `
SELECT m.uid, m.session_account AS account, m.session_clients AS clients, m.session_login::float8 AS login,
  (extract(epoch FROM m.updated_at) * 1000)::float8 AS seen, (extract(epoch FROM m.expires_at) * 1000)::float8 AS expires,
  m.payload->>'acr' AS acr, m.payload->'amr' AS amr, c.ip, c.user_agent
FROM oidc_models m LEFT JOIN session_context c ON c.uid = m.uid`;

const LIVE = `m.model = 'Session' AND m.session_account IS NOT NULL AND (m.expires_at IS NULL OR m.expires_at > now())`;

function where(filter: SessionFilter, params: unknown[]): string {
  const push = (v: unknown) => `$${params.push(v)}`;
  if ('accountId' in filter) return ` AND m.session_account = ${push(filter.accountId)}`;
  if ('clientId' in filter) return ` AND m.session_clients @> ARRAY[${push(filter.clientId)}::text]`;
  if ('ip' in filter) return ` AND c.ip = ${push(filter.ip)}`;
  return '';
}

const toEntry = (r: Row): SessionEntry => ({
  uid: r.uid, accountId: r.account, clients: r.clients ?? [], loginAt: Number(r.login), lastActiveAt: Math.round(Number(r.seen)),
  expiresAt: r.expires === null ? Number.MAX_SAFE_INTEGER : Math.round(Number(r.expires)), acr: r.acr ?? undefined,
  amr: Array.isArray(r.amr) ? r.amr.map(String) : [], ip: r.ip ?? undefined, userAgent: r.user_agent ?? undefined,
});

export function createDbSessionIndex(db: Db): SessionIndex {
  return {
    async list(filter, page = {}) {
      const limit = pageLimit(page.limit);
      const after = decodeCursor(page.cursor);
      const params: unknown[] = [];
      let sql = `${SELECT} WHERE ${LIVE}${where(filter, params)}`;
      // Row comparison in the index's own order (session_login DESC, uid DESC): the next page starts at once.
      if (after) sql += ` AND (m.session_login, m.uid) < ($${params.push(after.loginAt)}::bigint, $${params.push(after.uid)}::text)`;
      sql += ` ORDER BY m.session_login DESC, m.uid DESC LIMIT ${limit + 1}`;
      const rows = await db.query<Row>(sql, params);
      const items = rows.slice(0, limit).map(toEntry);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.loginAt, last.uid) : undefined };
    },

    async get(uid) {
      const rows = await db.query<Row>(`${SELECT} WHERE ${LIVE} AND m.uid = $1 ORDER BY m.expires_at DESC NULLS FIRST LIMIT 1`, [uid]);
      return rows[0] && toEntry(rows[0]);
    },

    async count(filter) {
      const params: unknown[] = [];
      const [row] = await db.query<{ n: number }>(
        `SELECT count(*)::float8 AS n FROM oidc_models m LEFT JOIN session_context c ON c.uid = m.uid WHERE ${LIVE}${where(filter, params)}`, params);
      return Number(row?.n ?? 0);
    },

    async markEnded(uid, untilMs) {
      await db.query(
        `INSERT INTO ended_sessions (uid, until) VALUES ($1, to_timestamp($2::float8 / 1000))
         ON CONFLICT (uid) DO UPDATE SET until = greatest(ended_sessions.until, excluded.until)`, [uid, untilMs]);
    },

    async recordLoginContext(uid, { ip, userAgent }) {
      await db.query(
        `INSERT INTO session_context (uid, ip, user_agent) VALUES ($1, $2, $3)
         ON CONFLICT (uid) DO UPDATE SET ip = excluded.ip, user_agent = excluded.user_agent, recorded_at = now()`,
        [uid, ip || null, userAgent?.slice(0, 512) || null]);
    },
  };
}
