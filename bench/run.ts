// `npm run bench`: a benchmark, not a test. See bench/README.md.
// In one run, side by side: yihao (a child process, on throw-away PostgreSQL + Redis; embedded with
// --setup embedded) and the ceiling — the bare library with yihao's Redis adapter, keys and clients
// (bench/ceiling-server.ts, another child). One load generator (a third process) drives both with the
// same flows at each concurrency, alternating servers row by row; this runner only orchestrates and
// measures: CPU per process, RSS, Redis commands and PostgreSQL transactions per flow, Redis bytes per
// SSO session, and the argon2id ceiling for password logins. Prints tables, the targets of issue 5
// as PASS/FAIL (marked when the machine was too busy to trust), and writes bench/results/<time>.json.
// `--soak SECONDS` instead runs connect flows that long and reports memory growth (bench/soak.ts).
import { parseArgs } from 'node:util';
import { cpus, availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { cpuMeter, rssSampler, idleMachineLoad, summarize, type CpuUse, type Sample } from './measure.ts';
import { startBenchServer, type BenchServer, type ReadyInfo } from './yihao-child.ts';
import { startCeilingServer } from './ceiling-child.ts';
import type { ChildServer } from './child-server.ts';
import { startStorage, SETUPS, YIHAO_REDIS_PREFIX, CEILING_REDIS_PREFIX, CEILING_CLUSTER_REDIS_PREFIX, type SetupName, type Storage } from './storage.ts';
import { startLoadGenerator, type LoadGenerator } from './load-client.ts';
import { SCENARIOS, type ScenarioName } from './load-protocol.ts';
import { redisProbe, pgProbe, auditDrainHold, diffCalls, redisBytesPerSession, roundTripCounter, grantIndexHealth, type GrantIndexHealth, type RedisProbe, type PgProbe, type AuditDrainHold, type SessionMemory } from './probes.ts';
import { timeArgon2, timeArgon2AllCores, argon2Ceiling } from './argon2-ceiling.ts';
import { sizeHashThreadPool } from '../src/accounts/hash-threads.ts';
import { cleanupAll, onCleanup } from './cleanup.ts';
import {
  ceilingLabelFor,
  resultsTable, cpuTable, redisCommandsSummary, noiseWarning, argon2Summary, memoryTable, grantIndexSummary, problemsSummary, writeReport, untrustworthy,
  SCENARIO_LABEL, type Row,
} from './report.ts';
import { checkTargets, targetsSummary } from './targets.ts';
import { measureMixedLoad, mixedLoadTable, type MixedLoad } from './mixed-load.ts';
import { runSoak, soakTable, trendSummary, SOAK_ACCESS_TOKEN_TTL } from './soak.ts';
import { summarizeProfiles, profilesIn, perFlowComparison, hottestFunctions, type ProfileSummary, type ProfileWindow } from './profile-summary.ts';

const USAGE = `usage: npm run bench [-- --quick] [--duration S] [--concurrency N]… [--scenario NAME]… [--setup postgres+redis|embedded]… [--all-setups]
                      [--workers N] [--memory-sessions N] [--profile] [--ceiling-redis-options JSON] [--hold-audit-drain]
       npm run bench -- --soak SECONDS [--concurrency N] [--profile]
scenarios: ${SCENARIOS.join(', ')}`;
function usage(problem: string): never {
  process.stderr.write(`bench: ${problem}\n${USAGE}\n`);
  process.exit(2);
}

// The all-cores argon2 rate is measured here, in the runner, on a thread pool sized as yihao sizes its
// own (src/accounts/hash-threads.ts), not libuv's default of 4 threads: on 2 cores, two hashes at once on
// a pool of 4 ran 10-15 % slower. Nothing has queued pool work yet, so the size still applies.
sizeHashThreadPool();

let parsed;
try {
  parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      concurrency: { type: 'string', multiple: true },
      setup: { type: 'string', multiple: true },
      'all-setups': { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      workers: { type: 'string' },
      'memory-sessions': { type: 'string' },
      soak: { type: 'string' },
      'ceiling-redis-options': { type: 'string' }, // what-if: ioredis options for the ceiling only (JSON)
      'hold-audit-drain': { type: 'boolean', default: false }, // what-if: yihao's audit events wait in Redis during its rows
      profile: { type: 'boolean', default: false }, // V8 CPU profiles of the servers into bench/results/
      help: { type: 'boolean', default: false },
    },
  });
} catch (err) {
  usage((err as Error).message);
}
const args = parsed.values;
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const quick = args.quick;
const positive = (name: string, v: string | undefined, integer = false) => {
  const n = Number(v);
  if (!(n > 0) || (integer && !Number.isInteger(n))) usage(`--${name} must be a positive ${integer ? 'integer' : 'number'}, not ${v}`);
  return n;
};
const soakSeconds = args.soak === undefined ? undefined : positive('soak', args.soak);
const durationS = args.duration ? positive('duration', args.duration) : quick ? 2 : 10;
const fixedConcurrencies = args.concurrency?.map((c) => positive('concurrency', c, true));
const setups = (args['all-setups'] ? SETUPS : args.setup ?? ['postgres+redis']) as SetupName[];
for (const s of setups) if (!SETUPS.includes(s)) usage(`--setup must be one of ${SETUPS.join(', ')}, not ${s}`);
const scenarios = (args.scenario ?? [...SCENARIOS]) as ScenarioName[];
for (const s of scenarios) if (!SCENARIOS.includes(s)) usage(`--scenario must be one of ${SCENARIOS.join(', ')}, not ${s}`);
// Cluster rows: asked for, or by default in a full run once src/ has a cluster mode (src/cluster.ts).
const clusterInSrc = existsSync(fileURLToPath(new URL('../src/cluster.ts', import.meta.url)));
// --workers 0: none.
const workers = args.workers === '0' ? undefined : args.workers ? positive('workers', args.workers, true) : !quick && clusterInSrc ? 2 : undefined;
const ceilingRedisOptions = args['ceiling-redis-options'];
try {
  if (ceilingRedisOptions) JSON.parse(ceilingRedisOptions);
} catch {
  usage(`--ceiling-redis-options must be JSON, not ${ceilingRedisOptions}`);
}
// What-if: during yihao's protocol rows its spool drainer waits (the chain's lock is held), and between
// slices it appends what waited — outside the measured time. yihao minus the audit trail's PostgreSQL work:
// how much of the gap to the ceiling that work is. Not the targets' conditions.
const holdAuditDrain = args['hold-audit-drain'];
const memorySessions = args['memory-sessions'] !== undefined ? Number(args['memory-sessions']) : quick ? 10 : 100;
if (!(memorySessions >= 0)) usage(`--memory-sessions must be a number ≥ 0, not ${args['memory-sessions']}`);

/** Concurrencies per scenario: --concurrency, or quick (c=8; connect also 32, its targets' two), or 1, 8, 32. */
const concurrenciesFor = (s: ScenarioName) => fixedConcurrencies ?? (quick ? (s === 'connect' ? [8, 32] : [8]) : [1, 8, 32]);
const soakConcurrency = fixedConcurrencies?.[0] ?? 8;
const maxConcurrency = soakSeconds ? soakConcurrency : Math.max(...scenarios.flatMap(concurrenciesFor));
const warmupMs = quick ? 300 : 2000;
/** ABBA rounds per row: slices of at least 2.5 s (a quick run's 2 s rows keep one round). */
const abbaRounds = durationS >= 10 ? 2 : 1;
const runId = new Date().toISOString();
const profileRoot = args.profile ? fileURLToPath(new URL(`./results/profiles-${runId.replace(/[:.]/g, '-')}/`, import.meta.url)) : undefined;
const profileDirOf = (label: string) => profileRoot && `${profileRoot}${label.replace(/[^\w]+/g, '-')}`;

let interrupted = false;
const started = performance.now();
const progress = (line: string) => {
  if (!interrupted) process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
};

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: the reapers finish the job
    process.stderr.write(`\n${signal}: stopping the servers, the load generator and the databases…\n`);
    interrupted = true;
    void cleanupAll().finally(() => process.exit(130));
  });
}

/** A server under measurement, as the rows and the load generator know it. */
interface Measured {
  label: string; kind: 'yihao' | 'ceiling'; setup?: SetupName; child: ChildServer<{ pid: number; issuer: string }>;
  /** Several processes: the main process's event loop and system calls say nothing about the work. */
  cluster?: boolean;
}

async function startYihao(o: { label: string; setup: SetupName; storageEnv: Record<string, string>; keysDir?: string; extraEnv?: Record<string, string> }): Promise<BenchServer> {
  progress(`${o.label}: starting (${o.setup}; creating ${maxConcurrency} citizens with real argon2)…`);
  const server = await startBenchServer({
    storageEnv: o.storageEnv, citizens: maxConcurrency, keysDir: o.keysDir, extraEnv: o.extraEnv, profileDir: profileDirOf(o.label),
  });
  const expected = loadConfig({}).argon2; // yihao's defaults; the server child gets no ARGON2_* variables
  if (JSON.stringify(server.info.argon2) !== JSON.stringify(expected)) {
    throw new Error(`yihao runs argon2 with ${JSON.stringify(server.info.argon2)}, not the defaults ${JSON.stringify(expected)}`);
  }
  return server;
}

interface Probes { redis: RedisProbe; pg?: PgProbe; drainHold?: AuditDrainHold }

/** One slice of a row: part of its time, measured on its own (rows are taken in ABBA order, see below). */
interface Slice { sample: Sample; seconds: number; cpu: CpuUse; rssMaxBytes: number; calls: Record<string, number>; redisGrowth: number; transactions: number; log: Record<string, number> }

/** When each server was measured, for charging its CPU profile's samples to scenarios. */
const profileWindows = new Map<string, ProfileWindow[]>();
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function measureSlice(m: Measured, all: Measured[], loadgen: LoadGenerator, probes: Probes, scenario: ScenarioName, concurrency: number, ms: number): Promise<Slice> {
  await loadgen.prepare(m.label, scenario, concurrency, 0); // fresh access tokens if they are getting old; else nothing
  m.child.takeLogTally();
  const pgCounted = m.kind === 'yihao' && m.setup === 'postgres+redis' && probes.pg;
  const held = probes.drainHold && m.label === 'yihao' && scenario !== 'password-login' ? probes.drainHold : undefined;
  await held?.hold();
  const calls0 = await probes.redis.commandCalls();
  const used0 = await probes.redis.usedMemory();
  const tx0 = pgCounted ? await probes.pg!.transactions() : Number.NaN;
  const t0 = performance.now();
  const meter = cpuMeter({ server: m.child.pid, cluster: m.cluster, loadGenerator: loadgen.pid, idleServers: all.filter((o) => o !== m).map((o) => o.child.pid) });
  const rss = rssSampler(m.child.pid);
  const startUs = nowUs();
  const sample = await loadgen.run(m.label, scenario, concurrency, ms);
  const windows = profileWindows.get(m.label) ?? [];
  profileWindows.set(m.label, [...windows, { scenario: SCENARIO_LABEL[scenario], startUs, endUs: nowUs(), flows: sample.flows }]);
  const cpu = meter.stop();
  const seconds = (performance.now() - t0) / 1000;
  const { maxBytes } = rss.stop();
  const calls = diffCalls(await probes.redis.commandCalls(), calls0);
  const redisGrowth = await probes.redis.usedMemory() - used0;
  const transactions = pgCounted ? await probes.pg!.transactions() - tx0 - 1 : Number.NaN; // − the probe's own query
  if (held) {
    await held.release();
    await spoolDrained(probes.redis); // what waited is appended now, before the next slice is timed
  }
  if (interrupted) throw new Error('interrupted');
  if (!m.child.alive()) throw new Error(`${m.label} exited during ${scenario} at concurrency ${concurrency}`);
  return { sample, seconds, cpu, rssMaxBytes: maxBytes, calls, redisGrowth, transactions, log: m.child.takeLogTally() };
}

async function spoolDrained(redis: RedisProbe, timeoutMs = 120_000): Promise<void> {
  const key = `${YIHAO_REDIS_PREFIX}audit:spool`;
  const until = Date.now() + timeoutMs;
  while (await redis.redis.xlen(key) > 0) {
    if (Date.now() > until) throw new Error(`--hold-audit-drain: yihao's audit spool (${key}) not drained ${timeoutMs / 1000} s after the lock was released`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function combine(m: Measured, scenario: ScenarioName, concurrency: number, slices: Slice[], roundTrips: RoundTrips): Row {
  const sample: Sample = { flows: 0, elapsedMs: 0, latenciesMs: [], errors: 0, errorKinds: {}, errorExamples: [] };
  const calls: Record<string, number> = {};
  const log: Record<string, number> = {};
  const cpu: CpuUse = { server: 0, serverLoop: 0, serverReads: 0, serverWrites: 0, loadGenerator: 0, databaseServers: 0, benchIdle: 0, machine: 0, other: 0 };
  let seconds = 0;
  for (const s of slices) {
    sample.flows += s.sample.flows;
    sample.elapsedMs += s.sample.elapsedMs;
    sample.latenciesMs.push(...s.sample.latenciesMs);
    sample.errors += s.sample.errors;
    for (const [k, n] of Object.entries(s.sample.errorKinds)) sample.errorKinds[k] = (sample.errorKinds[k] ?? 0) + n;
    sample.errorExamples.push(...s.sample.errorExamples);
    for (const [k, n] of Object.entries(s.calls)) calls[k] = (calls[k] ?? 0) + n;
    for (const [k, n] of Object.entries(s.log)) log[k] = (log[k] ?? 0) + n;
    for (const k of Object.keys(cpu) as Array<keyof CpuUse>) cpu[k] += s.cpu[k] * s.seconds;
    seconds += s.seconds;
  }
  for (const k of Object.keys(cpu) as Array<keyof CpuUse>) cpu[k] /= seconds;
  sample.errorExamples = sample.errorExamples.slice(0, 5);
  const flows = Math.max(1, sample.flows);
  const redisCallsPerFlow = Object.fromEntries(Object.entries(calls).map(([c, n]) => [c, n / flows]));
  const row: Row = {
    ...summarize(sample), server: m.label, kind: m.kind, scenario, concurrency, durationS: sample.elapsedMs / 1000, cpu,
    rssMaxBytes: Math.max(...slices.map((s) => s.rssMaxBytes)),
    redisCallsPerFlow, redisCommandsPerFlow: Object.values(redisCallsPerFlow).reduce((a, b) => a + b, 0),
    redisRoundTripsPerFlow: roundTrips.get(`${m.label} ${scenario}`) ?? Number.NaN,
    redisBytesKeptPerFlow: slices.reduce((a, s) => a + s.redisGrowth, 0) / flows,
    pgTransactionsPerFlow: slices.reduce((a, s) => a + s.transactions, 0) / flows, serverLog: log, untrustworthy: [],
  };
  row.untrustworthy = untrustworthy(row);
  progress(`${SCENARIO_LABEL[scenario]} c=${concurrency} ${m.label}: ${row.flowsPerSec.toFixed(1)} flows/s, p50 ${row.p50Ms.toFixed(1)} ms, `
    + `p99 ${row.p99Ms.toFixed(1)} ms, ${row.errors} errors; server ${cpu.server.toFixed(2)} cores, load generator ${cpu.loadGenerator.toFixed(2)}, `
    + `other ${cpu.other.toFixed(2)}${row.untrustworthy.length ? ' (NOISY)' : ''}`);
  return row;
}

/**
 * The rows of one scenario at one concurrency, for several servers side by side. Each server's time is
 * cut into slices taken in ABBA order (ceiling, yihao, yihao, ceiling), twice over in a full run: a
 * machine whose speed drifts during the measurement (someone else's work, the host's) then weighs on both
 * alike, and shorter slices follow shorter drifts.
 */
async function measureRows(servers: Measured[], all: Measured[], loadgen: LoadGenerator, probes: Probes, scenario: ScenarioName, concurrency: number, warmed: Set<string>, roundTrips: RoundTrips): Promise<Row[]> {
  for (const m of servers) {
    const key = `${m.label} ${scenario}`;
    const warmup = await loadgen.prepare(m.label, scenario, concurrency, warmed.has(key) ? 0 : warmupMs);
    warmed.add(key);
    if (warmup?.errors) progress(`${m.label} ${SCENARIO_LABEL[scenario]} warm-up: ${warmup.errors} errors ${JSON.stringify(warmup.errorKinds)} e.g. ${warmup.errorExamples[0]}`);
  }
  const slices = new Map<Measured, Slice[]>(servers.map((m) => [m, []]));
  const order = Array.from({ length: abbaRounds }, () => [...servers, ...[...servers].reverse()]).flat();
  for (const m of order) {
    slices.get(m)!.push(await measureSlice(m, all, loadgen, probes, scenario, concurrency, (durationS * 1000) / (2 * abbaRounds)));
  }
  return servers.map((m) => combine(m, scenario, concurrency, slices.get(m)!, roundTrips));
}

async function measureSessionMemory(loadgen: LoadGenerator, probes: Probes, servers: Measured[]): Promise<Record<string, SessionMemory>> {
  const out: Record<string, SessionMemory> = {};
  for (const m of servers.filter((s) => s.kind === 'ceiling' || s.setup === 'postgres+redis')) {
    progress(`${m.label}: Redis bytes per SSO session — opening ${memorySessions} sessions, each at three apps…`);
    const prefix = m.kind === 'ceiling' ? CEILING_REDIS_PREFIX : YIHAO_REDIS_PREFIX;
    const warm = await loadgen.sessionsAtThreeApps(m.label, 1); // scripts loaded, shared keys created: not per-session costs
    if (warm.errors) throw new Error(`${m.label}: could not open a session at three apps: ${warm.examples[0]}`);
    out[m.label] = await redisBytesPerSession(probes.redis, prefix, () => loadgen.sessionsAtThreeApps(m.label, memorySessions));
    if (out[m.label]!.errors) progress(`${m.label}: ${out[m.label]!.errors} of ${memorySessions} sessions failed`);
  }
  return out;
}

/** Redis round trips per flow of each scenario on each server ("<server> <scenario>"), counted exactly. */
type RoundTrips = Map<string, number>;

async function countRoundTrips(loadgen: LoadGenerator, redisUrl: string, servers: Measured[]): Promise<RoundTrips> {
  const out: RoundTrips = new Map();
  progress(`Redis round trips per flow: each scenario at concurrency 1 under MONITOR (not timed)…`);
  const counter = await roundTripCounter(redisUrl);
  try {
    for (const scenario of scenarios) {
      for (const m of servers) {
        if ((m.kind === 'ceiling' && scenario === 'password-login') || m.setup === 'embedded') continue;
        await loadgen.prepare(m.label, scenario, 1, 0);
        // A few flows are enough: each does the same thing.
        const counted = await counter.count(async () => (await loadgen.run(m.label, scenario, 1, scenario === 'password-login' ? 250 : 100)).flows);
        out.set(`${m.label} ${scenario}`, counted.roundTripsPerFlow);
      }
    }
  } finally {
    await counter.close();
  }
  return out;
}

function orderRows(rows: Row[], servers: string[]): Row[] {
  const rank = (r: Row) => [SCENARIOS.indexOf(r.scenario), r.concurrency, servers.indexOf(r.server)];
  return [...rows].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
}

async function bench(): Promise<void> {
  const params = loadConfig({}).argon2;
  const busyBeforeStart = await idleMachineLoad(1000);
  if (busyBeforeStart > 0.2) progress(`note: other processes keep ${busyBeforeStart.toFixed(2)} cores busy: every number below is lower than on a quiet machine`);
  progress(`argon2id ceiling: timing sequential hashes (m=${params.memoryCost} KiB, t=${params.timeCost}, p=${params.parallelism})…`);
  const hashSamples = await timeArgon2(params, quick ? 3 : 10);
  // For reference: every core hashing at once, nothing else (the best a password login could do here).
  const allCores = scenarios.includes('password-login') ? await timeArgon2AllCores(params, quick ? 1000 : 3000) : undefined;

  progress('starting Redis and PostgreSQL…');
  const storage: Storage = await startStorage({ postgres: setups.includes('postgres+redis') || workers !== undefined });
  // One set of signing keys for every server: the first yihao generates them (ES256 signs ID tokens,
  // RS256 is published too) in its directory; the others and the ceiling read them from there.
  const servers: Measured[] = [];
  const serverInfo: Record<string, unknown> = {};
  let keysDir: string | undefined;
  for (const setup of setups) {
    const label = setup === 'postgres+redis' ? 'yihao' : 'yihao embedded';
    const child = await startYihao({ label, setup, storageEnv: storage.env(setup), keysDir });
    keysDir ??= `${child.dir}/keys`;
    servers.push({ label, kind: 'yihao', setup, child });
    serverInfo[label] = child.info;
  }
  const ceiling = await startCeilingServer({
    redisUrl: storage.redisUrl, keyPrefix: CEILING_REDIS_PREFIX, keysDir: keysDir!, redisOptions: ceilingRedisOptions, profileDir: profileDirOf('ceiling'),
  });
  servers.unshift({ label: 'ceiling', kind: 'ceiling', child: ceiling });
  serverInfo.ceiling = ceiling.info;
  const published = await Promise.all(servers.map(async (m) => JSON.stringify(await (await fetch(`${m.child.info.issuer}/jwks`)).json())));
  if (new Set(published).size !== 1) throw new Error('the servers publish different signing keys: the comparison would not be fair');
  const loadgen = startLoadGenerator();
  for (const m of servers) {
    await loadgen.addTarget({ name: m.label, issuer: m.child.info.issuer, login: m.kind === 'ceiling' ? 'hint' : 'form' }, maxConcurrency);
  }
  const probes: Probes = {
    redis: await redisProbe(storage.redisUrl), pg: storage.databaseUrl ? await pgProbe(storage.databaseUrl) : undefined,
    drainHold: holdAuditDrain && storage.databaseUrl ? await auditDrainHold(storage.databaseUrl) : undefined,
  };
  onCleanup('storage probes', async () => { await probes.redis.close(); await probes.pg?.close(); await probes.drainHold?.close(); });

  // Before any load, on a quiet keyspace.
  const sessionMemory = memorySessions > 0 ? await measureSessionMemory(loadgen, probes, servers) : {};
  const roundTrips = await countRoundTrips(loadgen, storage.redisUrl, servers);

  const rows: Row[] = [];
  const warmed = new Set<string>();
  for (const scenario of scenarios) {
    // No passwords on the ceiling: the argon2id ceiling is the password login's.
    const here = servers.filter((m) => !(m.kind === 'ceiling' && scenario === 'password-login'));
    for (const c of concurrenciesFor(scenario)) rows.push(...await measureRows(here, servers, loadgen, probes, scenario, c, warmed, roundTrips));
  }

  // Connects while password logins run: what hashing costs the people already signed in.
  let mixedLoad: { label: string; result: MixedLoad } | undefined;
  const mixedTarget = servers.find((m) => m.kind === 'yihao');
  if (!quick && mixedTarget && scenarios.includes('connect') && scenarios.includes('password-login')) {
    const concurrency = Math.min(8, maxConcurrency);
    progress(`${mixedTarget.label}: connect flows alone and while password logins run (c=${concurrency} each)…`);
    mixedLoad = {
      label: mixedTarget.label,
      result: await measureMixedLoad({
        connects: loadgen, target: { name: mixedTarget.label, issuer: mixedTarget.child.info.issuer }, citizens: maxConcurrency,
        concurrency, sliceMs: 4000, rounds: 2,
      }),
    };
  }

  // Cluster mode: the same connect rows against yihao with WORKERS, on a database of its own.
  const notes: string[] = [];
  if (workers !== undefined && storage.databaseUrl && scenarios.includes('connect')) {
    const label = `yihao ${workers} worker${workers > 1 ? 's' : ''}`;
    const env = { ...storage.env('postgres+redis'), DATABASE_URL: await storage.extraDatabase(), REDIS_KEY_PREFIX: 'bench-cluster:' };
    const child = await startYihao({ label, setup: 'postgres+redis', storageEnv: env, keysDir, extraEnv: { WORKERS: String(workers) } });
    if ((child.info as ReadyInfo).workers !== workers) {
      notes.push(`cluster rows skipped: bench/server.ts started one process, not ${workers} workers (it does not pass WORKERS through yet; see bench/README.md)`);
      await child.stop();
    } else {
      const m: Measured = { label, kind: 'yihao', setup: 'postgres+redis', child, cluster: true };
      servers.push(m);
      serverInfo[label] = child.info;
      await loadgen.addTarget({ name: label, issuer: child.info.issuer, login: 'form' }, maxConcurrency);
      // Its ceiling: the bare library in as many processes (issue 5: ~600 flows/s with one, ~860 with two).
      const ceilingLabel = ceilingLabelFor(label)!;
      const clusterCeiling = await startCeilingServer({
        redisUrl: storage.redisUrl, keyPrefix: CEILING_CLUSTER_REDIS_PREFIX, keysDir: keysDir!, redisOptions: ceilingRedisOptions,
        profileDir: profileDirOf(ceilingLabel), workers,
      });
      const mc: Measured = { label: ceilingLabel, kind: 'ceiling', child: clusterCeiling, cluster: true };
      servers.push(mc);
      serverInfo[ceilingLabel] = clusterCeiling.info;
      await loadgen.addTarget({ name: ceilingLabel, issuer: clusterCeiling.info.issuer, login: 'hint' }, maxConcurrency);
      // The one-process yihao again, side by side with them, for the 1 → N scaling.
      const single = servers.find((s) => s.label === 'yihao')!;
      for (const c of concurrenciesFor('connect').filter((x) => x > 1)) {
        const [again, cluster, ceilingRow] = await measureRows([single, m, mc], servers, loadgen, probes, 'connect', c, warmed, roundTrips);
        rows.push({ ...again!, server: 'yihao (again)' }, cluster!, ceilingRow!);
      }
    }
  }

  // What the grant indexes hold after the load (their dead members are memory the soak would see grow).
  const grantIndexes: Record<string, GrantIndexHealth> = {};
  for (const m of servers.filter((x) => x.label === 'ceiling' || x.label === 'yihao')) {
    grantIndexes[m.label] = await grantIndexHealth(probes.redis, m.kind === 'ceiling' ? CEILING_REDIS_PREFIX : YIHAO_REDIS_PREFIX);
  }

  // Stopped before the report, so that the CPU profiles are written.
  await loadgen.stop();
  for (const m of [...servers].reverse()) await m.child.stop();
  progress('argon2id ceiling: timing a few more hashes now the load is over…');
  // All cores hashing: the better of before and after the load (like the sequential hashes, a ceiling).
  const allCoresAfter = allCores === undefined ? undefined : await timeArgon2AllCores(params, quick ? 1000 : 3000);
  const argon2 = argon2Ceiling(params, [...hashSamples, ...await timeArgon2(params, quick ? 3 : 10)],
    allCores === undefined ? undefined : Math.max(allCores, allCoresAfter ?? 0));

  for (const r of rows) {
    if (r.kind !== 'yihao') continue;
    if (r.scenario === 'password-login') {
      r.ratio = r.flowsPerSec / argon2.hashesPerSec;
      r.ratioOf = 'argon2';
      continue;
    }
    const c = rows.find((x) => x.server === ceilingLabelFor(r.server) && x.scenario === r.scenario && x.concurrency === r.concurrency);
    if (c) {
      r.ratio = r.flowsPerSec / c.flowsPerSec;
      r.ratioOf = 'ceiling';
    }
  }
  const ordered = orderRows(rows, [...servers.map((s) => s.label), 'yihao (again)']);
  const clusterLabel = servers.find((s) => s.kind === 'yihao' && /worker/.test(s.label))?.label;
  const verdicts = checkTargets(ordered, argon2);
  const clusterVerdicts = clusterLabel ? checkTargets(ordered, argon2, clusterLabel) : [];
  if (workers !== undefined && !storage.databaseUrl) notes.push('cluster rows skipped: they need PostgreSQL + Redis (--setup postgres+redis)');

  let profiles: Record<string, ProfileSummary> | undefined;
  if (profileRoot) {
    profiles = {};
    for (const m of servers) {
      const files = await profilesIn(profileDirOf(m.label)!);
      if (files.length) profiles[m.label] = await summarizeProfiles(files, profileWindows.get(m.label));
    }
  }

  const cores = availableParallelism();
  const report = {
    kind: 'bench', startedAt: runId, finishedAt: new Date().toISOString(),
    options: { quick, durationS, setups, scenarios, ceilingRedisOptions, holdAuditDrain, concurrencies: Object.fromEntries(scenarios.map((s) => [s, concurrenciesFor(s)])), workers, memorySessions, profile: args.profile },
    machine: { cores, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, busyBeforeStart },
    argon2, servers: serverInfo, sessionMemory, grantIndexes, rows: ordered, mixedLoad, targets: [...verdicts, ...clusterVerdicts], notes, profiles,
    profileWindows: profileRoot ? Object.fromEntries(profileWindows) : undefined,
  };
  const file = await writeReport(runId, report);
  const problems = problemsSummary(ordered);
  process.stdout.write([
    '',
    `yihao bench ${runId} — ${cores} × ${report.machine.cpuModel}, Node ${process.version}, ${durationS} s per row${quick ? ' (quick)' : ''}`,
    `(before the bench started, other processes kept ${busyBeforeStart.toFixed(2)} of ${cores} cores busy)`,
    'ceiling = bare oidc-provider with yihao\'s Redis adapter, keys and client registrations (bench/ceiling-server.ts)'
      + (ceilingRedisOptions ? `; WHAT-IF: its Redis client runs with ${ceilingRedisOptions}, unlike yihao` : ''),
    ...(holdAuditDrain ? ['WHAT-IF (--hold-audit-drain): during yihao\'s protocol rows its audit events waited in Redis and were appended to'
      + ' the PostgreSQL chain between slices, outside the measured time — not the conditions of the targets below'] : []),
    '',
    resultsTable(ordered),
    '',
    'CPU during each row in cores busy on average (1.00 = one core); round trips per flow:',
    cpuTable(ordered, cores),
    ...(noiseWarning(ordered) ? [noiseWarning(ordered)] : []),
    '',
    redisCommandsSummary(ordered),
    '',
    argon2Summary(argon2, ordered),
    ...(mixedLoad ? ['', mixedLoadTable(mixedLoad.label, mixedLoad.result)] : []),
    ...(Object.keys(sessionMemory).length ? ['', memoryTable(sessionMemory)] : []),
    ...(Object.keys(grantIndexes).length ? ['', grantIndexSummary(grantIndexes)] : []),
    '',
    targetsSummary(verdicts),
    ...(clusterVerdicts.length ? ['', targetsSummary(clusterVerdicts, clusterLabel)] : []),
    ...notes.map((n) => `note: ${n}`),
    ...(problems ? ['', problems] : []),
    ...(profiles && Object.keys(profiles).length
      ? ['', 'server CPU profiles: JS-thread self time per flow by package, within the measured rows (µs; in brackets: − the first column):',
        perFlowComparison(profiles), '', hottestFunctions(profiles)]
      : []),
    '',
    `results: ${relative(process.cwd(), file)}`,
    ...(profileRoot ? [`server CPU profiles: ${relative(process.cwd(), profileRoot)} (open in Chrome DevTools → Performance)`] : []),
    '',
  ].join('\n'));
}

async function soak(seconds: number): Promise<void> {
  const concurrency = soakConcurrency;
  progress('starting Redis and PostgreSQL…');
  const storage = await startStorage({ postgres: true });
  const server = await startYihao({
    label: 'yihao', setup: 'postgres+redis', storageEnv: storage.env('postgres+redis'),
    extraEnv: { ACCESS_TOKEN_TTL_SECONDS: String(SOAK_ACCESS_TOKEN_TTL) },
  });
  const loadgen = startLoadGenerator();
  await loadgen.addTarget({ name: 'yihao', issuer: server.info.issuer, login: 'form' }, concurrency);
  const redis = await redisProbe(storage.redisUrl);
  onCleanup('storage probe', () => redis.close());
  await loadgen.prepare('yihao', 'connect', concurrency, 2000);
  progress(`soak: connect flows at concurrency ${concurrency} for ${seconds} s, sampling every 10 s…`);
  const { samples, trends } = await runSoak({
    seconds, concurrency, server, loadgen, redis, redisPrefix: YIHAO_REDIS_PREFIX, progress, healthy: () => !interrupted && server.alive(),
  });
  if (interrupted) throw new Error('interrupted');
  if (!server.alive()) throw new Error('yihao exited during the soak');
  await loadgen.stop();
  await server.stop();
  const file = await writeReport(`soak-${runId}`, {
    kind: 'soak', startedAt: runId, finishedAt: new Date().toISOString(), seconds, concurrency, accessTokenTtl: SOAK_ACCESS_TOKEN_TTL,
    machine: { cores: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version }, server: server.info, samples, trends,
  });
  process.stdout.write([
    '',
    `yihao soak ${runId} — connect flows at concurrency ${concurrency} for ${seconds} s on PostgreSQL + Redis, access tokens living ${SOAK_ACCESS_TOKEN_TTL} s`,
    '',
    soakTable(samples),
    '',
    'growth over the steady part of the run (flat: within 5 % of the mean, or a small floor):',
    trendSummary(trends),
    '',
    `results: ${relative(process.cwd(), file)}`,
    '',
  ].join('\n'));
}

try {
  await (soakSeconds !== undefined ? soak(soakSeconds) : bench());
} catch (err) {
  if (!interrupted) {
    progress(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  }
} finally {
  await cleanupAll();
}
