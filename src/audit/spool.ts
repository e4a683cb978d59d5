// The protocol-event spool (docs/audit.md). A request that issues a code or token, refreshes, revokes or
// logs out adds its event to a Redis stream before the response leaves (one XADD, auto-pipelined with the
// request's other Redis commands), so the event is exactly as durable as the codes and tokens it describes.
// A drainer in every process moves the stream into the PostgreSQL chain in stream order, in batches
// (audit_append_many, migrations/008_audit_spool.sql). The cursor of what is appended lives in PostgreSQL
// and moves in the same transaction as the rows, so a drainer that dies between commit and trim, or two
// drainers reading the same entries, never append an event twice; the stream is trimmed only up to it.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Db } from '../store/db.ts';
import type { Logger } from '../log.ts';
import { auditRow, AuditWriteError, storable, type AuditEvent, type AuditRow } from './audit.ts';

export type SpooledRow = AuditRow & { at: string };
export interface SpoolEntry { id: string; row: SpooledRow }

export interface SpoolDrainer {
  /** Resolves once the event is in the stream; rejects with AuditWriteError when Redis refused it. */
  add(event: AuditEvent): Promise<void>;
  /** Entries written into the stream by someone else (in their own MULTI: spoolEntry): drain soon. */
  added(): void;
  /** Drains until the stream holds nothing beyond the cursor; rejects when PostgreSQL or Redis fails. */
  flush(): Promise<void>;
  /** Stops the timers, then drains for at most `timeoutMs`; what is left waits for another process. */
  stop(timeoutMs?: number): Promise<void>;
  // The three steps of one drain round, separately for tests that stop between them.
  read(): Promise<SpoolEntry[]>;
  commit(entries: SpoolEntry[]): Promise<number[]>;
  trim(upTo: string): Promise<void>;
}

export interface SpoolOptions {
  db: Db;
  redis: Redis;
  /** The stream key; also the cursor's name in audit_spool_cursor. */
  key: string;
  log: Logger;
  /** After this process spools, its drainer runs within this delay (events meanwhile join the batch). */
  delayMs?: number;
  /** Every process also looks this often, for what other or crashed processes left. */
  sweepMs?: number;
  batchSize?: number;
  /** Run timers (false: tests drive the steps themselves). */
  timers?: boolean;
  /** Before each commit (src/audit/audit.ts monthlyPartitions). */
  prepare?: () => Promise<void>;
}

const nullableText = z.string().nullable();
const spooledRow = z.object({
  at: z.iso.datetime({ offset: true }),
  type: z.string().min(1), outcome: z.string().min(1),
  actor: nullableText, client_id: nullableText, session_id: nullableText, ip: nullableText, user_agent: nullableText, request_id: nullableText,
  details: z.record(z.string(), z.unknown()),
});

// What JSON.stringify writes for the characters PostgreSQL refuses (U+0000, lone surrogates).
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/i;

/** An entry that cannot be read must not block the events behind it: the chain records that it was there. */
function parseEntry(id: string, fields: string[]): SpooledRow {
  const i = fields.indexOf('e');
  try {
    const raw = fields[i + 1] ?? '';
    const parsed = spooledRow.safeParse(JSON.parse(raw));
    // Cleaned again only if it may need it (spooled before rows were cleaned when written).
    if (i >= 0 && i % 2 === 0 && parsed.success) return UNSTORABLE_ESCAPE.test(raw) ? storable(parsed.data) : parsed.data;
  } catch { /* not JSON: below */ }
  return {
    at: new Date(Number(id.split('-')[0])).toISOString(), type: 'audit.spool_unreadable', outcome: 'failure', actor: null, client_id: null,
    session_id: null, ip: null, user_agent: null, request_id: null, details: { spool_id: id },
  };
}

/** The stream entry's one field value for an event: what add() writes, for writers that XADD it themselves. */
export function spoolEntry(event: AuditEvent): string {
  const row: SpooledRow = { ...auditRow(event), at: new Date().toISOString() };
  return JSON.stringify(row);
}

/** Adds the event to the stream; rejects with AuditWriteError (logged) when Redis refuses it. */
export async function spoolEvent(redis: Redis, key: string, log: Logger, event: AuditEvent): Promise<void> {
  try {
    await redis.xadd(key, '*', 'e', spoolEntry(event));
  } catch (err) {
    log.error('audit write failed', { type: event.type, err });
    throw new AuditWriteError(event.type, err);
  }
}

/**
 * Resolves once `replicas` Redis replicas acknowledged every write this connection sent so far (WAIT);
 * rejects when fewer did within `timeoutMs`. WAIT holds the connection meanwhile: give it one of its own.
 */
export async function replicated(redis: Redis, replicas: number, timeoutMs: number): Promise<void> {
  const acknowledged = await redis.wait(replicas, timeoutMs);
  if (acknowledged < replicas) throw new Error(`${acknowledged} of ${replicas} Redis replicas acknowledged the write within ${timeoutMs} ms`);
}

/** XTRIM MINID keeps ids ≥ its argument: the id right after `id`. */
function after(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq ?? '0') + 1n}`;
}

export function createSpoolDrainer(o: SpoolOptions): SpoolDrainer {
  const { db, redis, key, log } = o;
  const batchSize = o.batchSize ?? 500;
  let stopped = false;

  // One drain at a time in this process; other processes are kept apart by the chain lock and the cursor.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };

  async function position(): Promise<string> {
    const [row] = await db.query<{ p: string }>('SELECT audit_spool_position($1) AS p', [key]);
    return row!.p;
  }

  async function readAfter(from: string): Promise<SpoolEntry[]> {
    const raw = await redis.xrange(key, `(${from}`, '+', 'COUNT', batchSize);
    return raw.map(([id, fields]) => ({ id, row: parseEntry(id, fields) }));
  }

  const read = async () => readAfter(await position());

  async function commit(entries: SpoolEntry[]): Promise<number[]> {
    if (!entries.length) return [];
    await o.prepare?.();
    const [row] = await db.query<{ ids: Array<string | number> }>('SELECT audit_append_many($1::jsonb, $2) AS ids',
      [JSON.stringify(entries.map((e) => ({ ...e.row, spool_id: e.id }))), key]);
    return row!.ids.map(Number);
  }

  async function trim(upTo: string): Promise<void> {
    await redis.xtrim(key, 'MINID', after(upTo));
  }

  /** Rounds until the stream holds nothing beyond the cursor; returns how many entries it committed. */
  async function drainAll(): Promise<number> {
    let total = 0;
    for (;;) {
      // An idle process asks Redis only: nothing spooled, no PostgreSQL query.
      if (!(await redis.xlen(key))) return total;
      const from = await position();
      const entries = await readAfter(from);
      if (!entries.length) {
        // What is left was appended already (its drainer stopped before trimming): trim it now.
        if (from !== '0-0') await trim(from);
        return total;
      }
      await commit(entries);
      // Only after the commit, and only up to what it covered: the cursor is at or beyond this id.
      await trim(entries[entries.length - 1]!.id);
      total += entries.length;
      if (entries.length < batchSize) return total;
    }
  }

  // One warning per outage, not one per attempt; one line when it is over.
  let outage = false;
  const failed = (err: unknown) => {
    if (outage) return;
    outage = true;
    log.warn('audit spool: events wait in Redis until they can be appended to the trail; they will be, in order', { err });
  };
  const succeeded = (appended: number) => {
    if (!outage) return;
    outage = false;
    log.info('audit spool: draining again; the events that waited are appended', { appended });
  };

  let dirty = false;
  let running = false;
  async function drainInBackground() {
    dirty = true;
    if (running) return; // the running loop goes round once more
    running = true;
    try {
      while (dirty && !stopped) {
        dirty = false;
        try {
          succeeded(await exclusive(drainAll));
        } catch (err) {
          failed(err);
          break; // the sweep tries again
        }
      }
    } finally {
      running = false;
    }
  }

  const timers = o.timers !== false;
  let soon: NodeJS.Timeout | undefined;
  const sweep = timers ? setInterval(() => void drainInBackground(), o.sweepMs ?? 1000).unref() : undefined;

  const added = () => {
    if (timers && !soon && !stopped) {
      soon = setTimeout(() => { soon = undefined; void drainInBackground(); }, o.delayMs ?? 50).unref();
    }
  };

  return {
    async add(event) {
      await spoolEvent(redis, key, log, event);
      added();
    },
    added,
    async flush() {
      succeeded(await exclusive(drainAll));
    },
    async stop(timeoutMs = 5000) {
      stopped = true;
      clearInterval(sweep);
      clearTimeout(soon);
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        exclusive(drainAll).then(() => true, (err: unknown) => { log.warn('audit spool: not drained at shutdown; another process will', { err }); return true; }),
        new Promise<false>((r) => { timer = setTimeout(() => r(false), timeoutMs); }),
      ]);
      clearTimeout(timer);
      if (!done) log.warn('audit spool: shutdown drain timed out; what is left waits in Redis for another process', { timeoutMs });
    },
    read, commit, trim,
  };
}
