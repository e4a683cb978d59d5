// Audit events in PostgreSQL. Actors are internal account ids or pairwise subjects, never clear ID numbers;
// details are redacted like logs before they are written.
import type { Db } from '../store/db.ts';
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

export function createAudit(db: Db, log: Logger): Audit {
  return {
    async record(e) {
      try {
        await db.query(
          `INSERT INTO audit_events (type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [e.type, e.outcome, e.actor ?? null, e.clientId ?? null, e.sessionId ?? null, e.ip ?? null,
            e.userAgent?.slice(0, 512) ?? null, e.requestId ?? null, JSON.parse(redactText(JSON.stringify(e.details ?? {})))],
        );
      } catch (err) {
        // Until the durable spool lands, a failed audit write is at least loud.
        log.error('audit write failed', { type: e.type, err });
        throw err;
      }
    },
  };
}
