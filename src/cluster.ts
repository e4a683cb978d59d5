// Running yihao: `npm start` and `yihao start [--workers N]`. One process per core by default, with node's
// cluster module: the primary does the once-per-start work (migrations, keys, client files, the demo
// citizen), closes its storage and forks N workers that share the port; it restarts a worker that dies
// (with backoff; it gives up on a crash loop) and turns SIGTERM/SIGINT into a graceful shutdown.
// Workers share nothing in memory that must agree: PostgreSQL and Redis hold the state (docs/scaling.md).
// This file is also the workers' entry point (the bottom of the file).
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { Yihao } from './app.ts';
import type { PlanStep } from './clients/apply.ts';
import { HASH_SLOTS_VARIABLE, hashSlotsFor } from './accounts/hash-threads.ts';

/** In-flight requests get this long to finish at shutdown; then their connections are closed. */
export const SHUTDOWN_GRACE_MS = 10_000;
const SHUTDOWN = 'yihao:shutdown';

export interface ServeOptions {
  /** `--workers N`; else the config's WORKERS; else one per core. */
  workers?: number;
  /** Turn SIGTERM and SIGINT into a graceful shutdown and exit (default true). */
  signals?: boolean;
}

export interface Running {
  /** Server processes answering requests: 1 (no primary), or the number of workers. */
  processes: number;
  /** Graceful stop: stop accepting, finish in-flight requests, close storage. */
  stop(): Promise<void>;
}

/** How many server processes to run. PGlite is a single-process database: embedded storage runs one. */
export function processCount(config: Config, requested?: number): { count: number; refused?: string } {
  const explicit = requested ?? config.workers;
  const count = explicit ?? availableParallelism();
  if (count > 1 && !config.databaseUrl) {
    return {
      count: 1,
      refused: explicit === undefined ? undefined
        : `${count} workers need PostgreSQL: embedded storage (PGlite, no DATABASE_URL) is a single-process database, so yihao runs one process`,
    };
  }
  return { count };
}

/** Starts yihao in this process (one process) or as a cluster primary; resolves once it answers requests. */
export async function serve(config: Config, log: Logger, options: ServeOptions = {}): Promise<Running> {
  const { count, refused } = processCount(config, options.workers);
  if (refused) log.warn(refused, { hint: 'set DATABASE_URL to run several processes' });
  let running: Running | undefined;
  if (options.signals !== false) stopOnSignals(() => running, log);
  const started = count === 1 ? await serveAlone(config, log) : await servePrimary(config, log, count);
  running = { processes: count, stop: started.stop };
  announce(config, log, { processes: count, ...started.summary });
  return running;
}

interface Started { stop(): Promise<void>; summary: { plan: PlanStep[]; demo?: { idNumber: string; password: string } } }

async function serveAlone(config: Config, log: Logger): Promise<Started> {
  const { createYihao } = await import('./app.ts');
  const yihao = await createYihao(config, log);
  let server: Server;
  try {
    server = await yihao.listen(config.port);
  } catch (err) {
    await yihao.close();
    throw err;
  }
  return {
    stop: once(async () => { await drain(server); await yihao.close(); }),
    summary: { plan: yihao.clientsApplied.plan, demo: await demoCitizen(config, yihao) },
  };
}

async function demoCitizen(config: Config, yihao: Yihao) {
  if (!config.demoAccount) return undefined;
  const { ensureDemoAccount } = await import('./accounts/demo.ts');
  return ensureDemoAccount(yihao.core, yihao.secrets.demoPassword);
}

function announce(config: Config, log: Logger, o: { processes: number; plan: PlanStep[]; demo?: { idNumber: string; password: string } }) {
  const storage = `${config.databaseUrl ? 'PostgreSQL' : `embedded PostgreSQL (PGlite) in ${config.dataDir}`} + ${config.redisUrl ? 'Redis' : 'short-lived state in the database'}`;
  log.info('yihao listening', { issuer: config.issuer, port: config.port, storage, processes: o.processes, production: config.production });
  log.info('discovery', { url: `${config.issuer}/.well-known/openid-configuration` });
  for (const step of o.plan) log.info('client', { clientId: step.clientId, action: step.action });
  // A fictitious number for trying the login page; printed on purpose, development only.
  if (o.demo) process.stdout.write(`\n  Demo citizen (development only):\n    ID number: ${o.demo.idNumber}\n    Password:  ${o.demo.password}\n\n`);
}

function stopOnSignals(current: () => Running | undefined, log: Logger) {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const running = current();
    if (stopping || !running) {
      // A second Ctrl-C, or still starting: do not wait (a cluster's workers exit with the primary's IPC channel).
      log.warn('stopping now', { signal, during: running ? 'shutdown' : 'start-up' });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal, processes: running.processes });
    running.stop().then(() => process.exit(0), (err: unknown) => {
      log.error('shutdown failed', { err });
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Stops accepting connections and lets requests under way finish (up to SHUTDOWN_GRACE_MS). Keep-alive
 * connections are closed as soon as they fall idle, and responses still to come say `Connection: close`.
 */
export function drain(server: Server, graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
  return new Promise((resolve) => {
    server.on('request', (_req, res) => { if (!res.headersSent) res.setHeader('Connection', 'close'); });
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * When a worker dies unexpectedly: restart it after a delay that doubles with each death in the window
 * (250 ms … 10 s), and give up after `limit` deaths within it — a crash loop, not a bad request.
 */
export class RestartBudget {
  readonly limit: number;
  readonly windowMs: number;
  private deaths: number[] = [];

  constructor(limit: number, windowMs = 120_000) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Records a death; returns the delay before the restart, or undefined: give up. */
  death(now = Date.now()): number | undefined {
    this.deaths = this.deaths.filter((t) => now - t < this.windowMs);
    this.deaths.push(now);
    if (this.deaths.length > this.limit) return undefined;
    return Math.min(10_000, 250 * 2 ** (this.deaths.length - 1));
  }

  get recent(): number { return this.deaths.length; }
}

const describeExit = (code: number | null, signal: string | null) => (signal ? `signal ${signal}` : `exit code ${code}`);

async function servePrimary(config: Config, log: Logger, count: number): Promise<Started> {
  // Once per start, before any worker exists: migrations, development keys and secrets (generated once,
  // not raced by N processes), the client registration files and the demo citizen.
  const { createYihao } = await import('./app.ts');
  const prepared = await createYihao(config, log);
  let demo: Awaited<ReturnType<typeof demoCitizen>>;
  try {
    demo = await demoCitizen(config, prepared);
  } finally {
    await prepared.close();
  }

  process.title = 'yihao primary';
  cluster.setupPrimary({ exec: import.meta.filename, args: [] });
  const budget = new RestartBudget(Math.max(10, 2 * count));
  const restarts = new Set<NodeJS.Timeout>();
  let stopping = false;
  let started = false;

  // The workers share the cores: each hashes passwords on its share of them (src/accounts/hash-threads.ts).
  const workerEnv = { [HASH_SLOTS_VARIABLE]: String(hashSlotsFor(count)) };
  const fork = () => {
    const worker = cluster.fork(workerEnv);
    worker.once('listening', () => {
      if (started) log.info('worker restarted', { worker: worker.id, pid: worker.process.pid });
    });
    return worker;
  };

  const stop = once(async () => {
    stopping = true;
    for (const t of restarts) clearTimeout(t);
    await Promise.all(Object.values(cluster.workers ?? {}).map((w) => (w ? stopWorker(w, log) : undefined)));
  });

  // The first generation: all listening, or the first failure's message and no workers left.
  await new Promise<void>((resolve, reject) => {
    let listening = 0;
    const onListening = () => {
      if (++listening < count) return;
      cluster.off('listening', onListening);
      cluster.off('exit', onEarlyExit);
      resolve();
    };
    const onEarlyExit = (worker: Worker, code: number | null, signal: string | null) => {
      cluster.off('listening', onListening);
      cluster.off('exit', onEarlyExit);
      stop().finally(() => reject(new Error(`worker ${worker.process.pid} failed to start (${describeExit(code, signal)}); its error is above`)));
    };
    cluster.on('listening', onListening);
    cluster.on('exit', onEarlyExit);
    for (let i = 0; i < count; i++) fork();
  });
  started = true;

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const delay = budget.death();
    const how = describeExit(code, signal);
    if (delay === undefined) {
      log.error(`workers keep dying: ${budget.recent} unexpected exits within ${budget.windowMs / 1000} s — giving up; see the errors above`, { last: { worker: worker.id, pid: worker.process.pid, exit: how } });
      void stop().finally(() => process.exit(1));
      return;
    }
    log.warn('worker died: restarting it', { worker: worker.id, pid: worker.process.pid, exit: how, restartInMs: delay });
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!stopping) fork();
    }, delay);
    restarts.add(timer);
  });

  return { stop, summary: { plan: prepared.clientsApplied.plan, demo } };
}

/** Asks a worker to drain and exit; kills it if it has not within the grace period (plus closing time). */
function stopWorker(worker: Worker, log: Logger): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log.warn('worker did not stop in time: killing it', { worker: worker.id, pid: worker.process.pid });
      worker.process.kill('SIGKILL');
    }, SHUTDOWN_GRACE_MS + 5_000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // A worker whose IPC channel is gone cannot be asked: SIGTERM drains it too.
    if (!worker.isConnected()) worker.process.kill('SIGTERM');
    else worker.send({ cmd: SHUTDOWN }, (err: Error | null) => { if (err) worker.process.kill('SIGTERM'); });
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

/** Every line a worker logs says which worker and process it came from. */
function withFields(log: Logger, fields: Record<string, unknown>): Logger {
  return {
    debug: (msg, f) => log.debug(msg, { ...fields, ...f }),
    info: (msg, f) => log.info(msg, { ...fields, ...f }),
    warn: (msg, f) => log.warn(msg, { ...fields, ...f }),
    error: (msg, f) => log.error(msg, { ...fields, ...f }),
    enabled: log.enabled && ((level) => log.enabled!(level)),
  };
}

// A worker: the same environment as the primary, without the once-per-start work.
async function runWorker(worker: Worker) {
  // Ctrl-C reaches the whole process group: the primary decides, and sends SHUTDOWN.
  process.on('SIGINT', () => {});
  process.title = `yihao worker ${worker.id}`;
  let shutdown: () => unknown = () => process.exit(0); // nothing to drain before it listens
  process.on('message', (m: unknown) => { if ((m as { cmd?: string } | null)?.cmd === SHUTDOWN) void shutdown(); });
  process.once('SIGTERM', () => void shutdown());
  const { loadConfig } = await import('./config.ts');
  const { createLogger } = await import('./log.ts');
  const config = loadConfig();
  const log = withFields(createLogger(config.logLevel), { worker: worker.id, pid: process.pid });
  const { createYihao } = await import('./app.ts');
  let yihao: Yihao;
  let server: Server;
  try {
    yihao = await createYihao(config, log, { startupTasks: false });
    server = await yihao.listen(config.port);
  } catch (err) {
    log.error('worker failed to start', { err });
    process.exit(1);
  }
  log.debug('worker listening', { port: config.port });
  shutdown = once(async () => {
    await drain(server);
    await yihao.close();
    process.exit(0);
  });
}

if (cluster.isWorker && cluster.worker && process.argv[1] === import.meta.filename) await runWorker(cluster.worker);
