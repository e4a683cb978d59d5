// Anomaly signals from login outcomes as they happen (issue 4, point 4). The login path hands each outcome
// over and goes on: counting is one store round trip in the background, and a crossing writes one audit
// event `anomaly.<signal>`, which the console's dashboard lists. A slow or failing store never holds up,
// fails or throttles a login; what cannot be counted is logged.
import type { Redis } from 'ioredis';
import type { Audit } from '../audit/audit.ts';
import type { Logger } from '../log.ts';
import type { Db } from '../store/db.ts';
import { anomalyType, DEFAULT_THRESHOLDS, describeSubject, hitsFor, type LoginObservation, type Signal, type Thresholds } from './signals.ts';
import { createDbAnomalyStore, createRedisAnomalyStore, type AnomalyStore } from './store.ts';

export interface Anomaly { signal: Signal; count: number; threshold: number; windowSeconds: number }

/** What the login path sees: a call that returns at once. */
export interface AnomalySink { observe(o: LoginObservation): void }

// Outcomes counted at once, at most; beyond that (a store far slower than the logins) they are dropped
// and counted in the log rather than queued without bound.
const MAX_IN_FLIGHT = 1000;

export function createAnomalyDetector(deps: { store: AnomalyStore; audit: Audit; log: Logger; thresholds?: Partial<Thresholds> }) {
  const thresholds: Thresholds = { ...DEFAULT_THRESHOLDS, ...deps.thresholds };
  const { store, audit, log } = deps;
  let inFlight = 0;
  let dropped = 0;
  const pending = new Set<Promise<unknown>>();

  /** Counts one outcome and records what it fired; resolves with those anomalies. */
  async function check(o: LoginObservation): Promise<Anomaly[]> {
    const hits = hitsFor(o, thresholds);
    const crossings = await store.hit(hits);
    const fired: Anomaly[] = [];
    for (const c of crossings) {
      const hit = hits[c.hit]!;
      const anomaly = { signal: hit.signal, count: c.count, threshold: hit.threshold.count, windowSeconds: hit.threshold.windowSeconds };
      // The window is marked fired already: an event that cannot be written is lost, so say so loudly.
      await audit.record({
        type: anomalyType(hit.signal), outcome: 'failure',
        actor: hit.signal === 'account_failures' || hit.signal === 'account_many_ips' ? o.accountId ?? null : null,
        ip: o.ip,
        details: {
          signal: hit.signal, count: c.count, threshold: hit.threshold.count, window_seconds: hit.threshold.windowSeconds,
          ...describeSubject(hit.signal, o), ...(o.reason ? { last_reason: o.reason } : {}),
        },
      }).catch((err) => { log.error('anomaly detected but not audited', { signal: hit.signal, err }); });
      fired.push(anomaly);
    }
    return fired;
  }

  return {
    thresholds,
    store,
    check,
    observe(o: LoginObservation): void {
      if (inFlight >= MAX_IN_FLIGHT) {
        if (dropped++ % 1000 === 0) log.warn('anomaly detection falling behind: login outcomes not counted', { dropped });
        return;
      }
      inFlight++;
      const p = check(o)
        .catch((err) => { log.warn('anomaly detection failed for a login outcome', { err }); })
        .finally(() => { inFlight--; pending.delete(p); });
      pending.add(p);
    },
    /** Resolves when every outcome handed over so far has been counted (tests, shutdown). */
    async settled(): Promise<void> {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
export type AnomalyDetector = ReturnType<typeof createAnomalyDetector>;

/** The detector on the storage the deployment has: Redis when configured, else the database. */
export function anomalyDetectorFor(core: { redis?: Redis; db: Db; audit: Audit; log: Logger; config: { redisKeyPrefix: string } }, thresholds?: Partial<Thresholds>) {
  const store = core.redis ? createRedisAnomalyStore(core.redis, core.config.redisKeyPrefix) : createDbAnomalyStore(core.db);
  return createAnomalyDetector({ store, audit: core.audit, log: core.log, thresholds });
}

/** Expired windows leave the table every interval (without Redis); returns the stop function. */
export function startAnomalySweeper(store: AnomalyStore, log: Logger, intervalMs = 5 * 60_000): () => void {
  const timer = setInterval(() => { store.sweep().catch((err) => log.warn('anomaly window sweep failed', { err })); }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
