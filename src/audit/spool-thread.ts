// The spool drainer (src/audit/spool.ts) on a thread of its own. Moving events from Redis into the
// PostgreSQL chain costs a stream read, JSON and a database round trip per batch: on the request thread
// that work shares the event loop with every request. The thread has its own Redis and PostgreSQL
// connections; the request thread only writes events into the stream, and tells the thread at most once
// per batch delay that there are some. Used when both are servers (DATABASE_URL, REDIS_URL); embedded
// PostgreSQL lives in the request thread's memory, so there the drainer stays beside it.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Level, Logger } from '../log.ts';
import { createPostgresDb } from '../store/db.ts';
import { createRedis } from '../store/redis.ts';
import { createSpoolDrainer } from './spool.ts';
import { monthlyPartitions } from './audit.ts';

/** The thread's PostgreSQL connections, as pg_stat_activity names them. */
export const SPOOL_THREAD_APPLICATION_NAME = 'yihao audit spool';

export interface SpoolThreadSetup {
  databaseUrl: string;
  redisUrl: string;
  key: string;
  delayMs?: number;
  sweepMs?: number;
}

type ToThread = { op: 'added' } | { op: 'flush'; id: number } | { op: 'stop'; timeoutMs: number };
type FromThread =
  | { op: 'flushed'; id: number; error?: string }
  | { op: 'log'; level: Level; msg: string; fields?: Record<string, unknown> }
  | { op: 'stopped' };

// Other threads import this module too: only the one started below drains.
if (!isMainThread && parentPort && (workerData as { spoolThread?: SpoolThreadSetup } | null)?.spoolThread) {
  void drainInThisThread(parentPort, (workerData as { spoolThread: SpoolThreadSetup }).spoolThread);
}

async function drainInThisThread(port: NonNullable<typeof parentPort>, setup: SpoolThreadSetup) {
  const send = (m: FromThread) => port.postMessage(m);
  // Lines go to the request thread's logger: one log, one level, one place tests read.
  const line = (level: Level) => (msg: string, fields?: Record<string, unknown>) => send({ op: 'log', level, msg, fields });
  const log: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };

  const db = createPostgresDb(setup.databaseUrl, { max: 2, applicationName: SPOOL_THREAD_APPLICATION_NAME });
  const redis = createRedis(setup.redisUrl);
  redis.on('error', () => {}); // reconnects by itself; a failed drain is logged by the drainer, once per outage
  await redis.connect().catch(() => {}); // not there yet: the drainer's sweeps try again
  const drainer = createSpoolDrainer({
    db, redis, key: setup.key, log, prepare: monthlyPartitions(db), delayMs: setup.delayMs, sweepMs: setup.sweepMs,
  });
  port.on('message', (m: ToThread) => {
    if (m.op === 'added') drainer.added();
    else if (m.op === 'flush') {
      drainer.flush().then(() => send({ op: 'flushed', id: m.id }), (err: unknown) => send({ op: 'flushed', id: m.id, error: (err as Error)?.message ?? String(err) }));
    } else if (m.op === 'stop') {
      void (async () => {
        await drainer.stop(m.timeoutMs);
        await redis.quit().catch(() => redis.disconnect());
        await db.close().catch(() => {});
        send({ op: 'stopped' });
        port.close();
      })();
    }
  });
}

export interface SpoolThread {
  /** Events are in the stream: the thread drains them within the batch delay. */
  added(): void;
  flush(): Promise<void>;
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts the drainer thread (messages sent before it runs wait for it). A thread that dies is started
 * again, and logged; meanwhile the events wait in Redis.
 */
export function startSpoolThread(setup: SpoolThreadSetup, log: Logger): SpoolThread {
  const delayMs = setup.delayMs ?? 50;
  let worker!: Worker;
  let stopping = false;
  let nextId = 0;
  const flushes = new Map<number, { resolve(): void; reject(err: Error): void }>();
  let stopped: () => void = () => {};

  const start = () => {
    const w = new Worker(new URL(import.meta.url), { workerData: { spoolThread: setup } });
    worker = w;
    w.unref(); // never what keeps the process alive: stop() drains before closing
    w.on('message', (m: FromThread) => {
      if (m.op === 'log') log[m.level](m.msg, m.fields);
      else if (m.op === 'flushed') {
        const f = flushes.get(m.id);
        flushes.delete(m.id);
        if (m.error === undefined) f?.resolve();
        else f?.reject(new Error(m.error));
      } else if (m.op === 'stopped') stopped();
    });
    w.on('error', (err) => log.error('audit spool thread failed', { err }));
    w.on('exit', () => {
      for (const f of flushes.values()) f.reject(new Error('audit spool thread exited'));
      flushes.clear();
      stopped();
      if (stopping) return;
      log.error('audit spool thread exited; starting it again (events wait in Redis meanwhile)');
      setTimeout(() => { if (!stopping) start(); }, 1000).unref();
    });
  };
  start();

  // At most one message per batch delay: the thread drains what is there when its timer fires, and its
  // sweep picks up anything that came in between.
  let told = false;
  return {
    added() {
      if (told) return;
      told = true;
      worker.postMessage({ op: 'added' } satisfies ToThread);
      setTimeout(() => { told = false; }, delayMs).unref();
    },
    flush() {
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        flushes.set(id, { resolve, reject });
        worker.postMessage({ op: 'flush', id } satisfies ToThread);
      });
    },
    async stop(timeoutMs = 5000) {
      stopping = true;
      const done = new Promise<void>((r) => { stopped = r; });
      worker.postMessage({ op: 'stop', timeoutMs } satisfies ToThread);
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([done.then(() => true), new Promise<false>((r) => { timer = setTimeout(() => r(false), timeoutMs + 2000); })]);
      clearTimeout(timer);
      if (!finished) log.warn('audit spool thread did not stop in time; what is left waits in Redis for another process', { timeoutMs });
      await worker.terminate();
    },
  };
}
