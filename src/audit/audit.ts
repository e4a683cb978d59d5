// Audit events in PostgreSQL, appended to one hash chain (migrations/002_audit_chain.sql, docs/audit.md).
// Actors are internal account ids or pairwise subjects, never clear ID numbers; details are redacted like logs.
// Fail closed: record() rejects when the event is not durably written, and callers let that fail the action —
// GB/T 22239-2019 8.1.4.3 d) protects the audit process against interruption, so nothing happens unrecorded.
import type { Redis } from 'ioredis';
import type { Db, Queryable } from '../store/db.ts';
import type { Logger } from '../log.ts';
import { redactText } from '../log.ts';
import type { ChainRow } from './canonical.ts';
import { groupCommit } from './group-commit.ts';
import { createSpoolDrainer, replicated, spoolEntry, spoolEvent, type SpoolDrainer } from './spool.ts';
import { startSpoolThread } from './spool-thread.ts';

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
  /** Fail closed: resolves once the event is committed in PostgreSQL, else rejects with AuditWriteError. */
  record(event: AuditEvent): Promise<void>;
  /**
   * A protocol event (sso.connect, token.*, logout…): resolves once it is durable — in the Redis spool,
   * which the drainer moves into the chain in order, or without Redis committed like record() — and rejects
   * with AuditWriteError otherwise, so the request it describes can still be refused.
   */
  spool(event: AuditEvent): Promise<void>;
  /**
   * With the Redis spool: its stream, for a writer that puts an event in the same MULTI as the record it
   * describes (src/oidc/protocol-audit.ts: one round trip, and no code or token handed out without its event).
   */
  stream?: SpoolStream;
  /** Moves everything spooled so far into the chain and waits for it (tests, CLI); rejects when it cannot. */
  flush(): Promise<void>;
  /** Stops the drainer after moving what it can within a bounded time. */
  close(): Promise<void>;
}

export interface SpoolStream {
  key: string;
  /** The entry's one field value ('e'): XADD <key> * e <entry>. */
  entry(event: AuditEvent): string;
  /** The connection to write entries with, when it is not the caller's own (REDIS_WAIT_REPLICAS). */
  connection?: Redis;
  /** After entries were written with `connection`: resolves once they are as durable as configured, else rejects. */
  durable(): Promise<void>;
  /** Call once entries are in the stream (and durable): the drainer moves them soon. */
  added(): void;
}

/** The event was not written, so the action it describes must not go ahead. */
export class AuditWriteError extends Error {
  constructor(type: string, cause: unknown) {
    super(`audit event ${type} could not be written (action refused): ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'AuditWriteError';
  }
}

// PostgreSQL's text and jsonb refuse U+0000 and lone surrogates: one such character from a request (a
// header, a parameter) would fail the row — and with it a whole batch, and the spool behind it, forever.
// Stored as U+FFFD instead: the row still says something odd was sent.
export function storableText(text: string): string {
  return text.isWellFormed() && !text.includes('\u0000') ? text : text.toWellFormed().replace(/\u0000/g, '\uFFFD');
}

const cleanText = (text: string) => storableText(redactText(text));

// Redacted value by value (not over the JSON text, where masking digits inside a number would break it).
function redact(value: unknown): unknown {
  if (typeof value === 'string') return cleanText(value);
  if (typeof value === 'number') return Number.isInteger(value) && redactText(String(value)) !== String(value) ? redactText(String(value)) : value;
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [cleanText(k), redact(v)]));
  return value;
}

/** An event as the SQL functions read it (audit_append_many in migrations/008_audit_spool.sql): already redacted. */
export type AuditRow = Omit<ChainRow, 'id' | 'at' | 'details' | 'prev_hash' | 'hash'> & { details: Record<string, unknown> };

/** Every string in a value (keys included) made storable: rows that were spooled before they were cleaned. */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storable(v)])) as T;
  return value;
}

const text = (v: string | null | undefined) => (v === null || v === undefined ? null : storableText(v));

export function auditRow(e: AuditEvent): AuditRow {
  return {
    type: storableText(e.type), outcome: e.outcome, actor: text(e.actor), client_id: text(e.clientId), session_id: text(e.sessionId),
    ip: text(e.ip), user_agent: text(e.userAgent?.slice(0, 512)), request_id: text(e.requestId),
    details: redact(JSON.parse(JSON.stringify(e.details ?? {}))) as Record<string, unknown>,
  };
}

/** One event inside the caller's transaction (a change and its record together: src/admin/audited.ts, prune). */
export async function appendEvent(q: Queryable, e: AuditEvent): Promise<number> {
  const r = auditRow(e);
  const [row] = await q.query<{ id: number | string }>(
    'SELECT audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) AS id',
    [r.type, r.outcome, r.actor, r.client_id, r.session_id, r.ip, r.user_agent, r.request_id, JSON.stringify(r.details)],
  );
  return Number(row!.id);
}

export interface AuditOptions {
  /** Protocol events go to this Redis stream first (src/audit/spool.ts); without it they are committed directly. */
  spool?: {
    redis: Redis;
    key: string;
    /** Drain on a thread of its own (src/audit/spool-thread.ts), with its own connections to these. */
    thread?: { databaseUrl: string; redisUrl: string };
    /**
     * Events (and what is written with them) acknowledged by this many replicas before they count as
     * written, through a connection of their own: WAIT holds the connection it runs on.
     */
    replicas?: { count: number; timeoutMs: number; connection: Redis };
  };
}

function startOfNextUtcMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * The database creates this month's and next month's partitions; ask again when this process sees a new
 * month. Done before a batch, outside the chain lock: audit_append_many creating a partition itself (its
 * fallback) would take the partition lock while holding the chain lock.
 */
export function monthlyPartitions(db: Queryable): () => Promise<void> {
  let checked = 0;
  return async () => {
    if (Date.now() < checked) return;
    await db.query('SELECT audit_ensure_partitions()');
    checked = startOfNextUtcMonth(Date.now());
  };
}

export function createAudit(db: Db, log: Logger, options: AuditOptions = {}): Audit {
  const prepare = monthlyPartitions(db);
  const commit = groupCommit(db, prepare);
  const direct = async (e: AuditEvent) => {
    try {
      await commit(auditRow(e));
    } catch (err) {
      log.error('audit write failed', { type: e.type, err });
      throw new AuditWriteError(e.type, err);
    }
  };
  const { spool } = options;
  if (!spool) return { record: direct, spool: direct, flush: () => Promise.resolve(), close: () => Promise.resolve() };
  const { redis, key, thread, replicas } = spool;
  const drainer: Pick<SpoolDrainer, 'added' | 'flush' | 'stop'> = thread
    ? startSpoolThread({ ...thread, key }, log)
    : createSpoolDrainer({ db, log, prepare, redis, key });
  const durable = replicas ? () => replicated(replicas.connection, replicas.count, replicas.timeoutMs) : () => Promise.resolve();
  return {
    record: direct,
    async spool(e) {
      await spoolEvent(replicas?.connection ?? redis, key, log, e);
      try {
        await durable();
      } catch (err) {
        log.error('audit write failed', { type: e.type, err });
        throw new AuditWriteError(e.type, err);
      }
      drainer.added();
    },
    stream: { key, entry: spoolEntry, connection: replicas?.connection, durable, added: drainer.added },
    flush: () => drainer.flush(),
    close: () => drainer.stop(),
  };
}
