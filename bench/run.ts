// `npm run bench [-- --quick] [--duration S] [--setup embedded|postgres+redis] [--scenario connect|password-login] [--profile]`:
// a benchmark, not a test.
// For each storage setup, yihao runs in a child process (bench/server.ts) with the real argon2
// parameters and warn-level logging; this process generates the load and measures:
//   connect        — a signed-in citizen connects to a department app (GET /auth → POST /token → GET /me)
//   password login — a citizen signs in through the login page (GET /auth → page → POST → code → token)
// each at several concurrencies for a fixed time, then prints a table and writes bench/results/<time>.json.
import { parseArgs } from 'node:util';
import { cpus, availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { citizens, type Citizen } from './fixtures.ts';
import { HttpClient, type CookieJar } from './http.ts';
import { openSession, connectFlow, passwordLoginFlow } from './flows.ts';
import { runClosedLoop, percentile, cpuMeter, idleMachineLoad } from './measure.ts';
import { startBenchServer, type ReadyInfo } from './yihao-child.ts';
import { startStorage, SETUPS, type SetupName } from './storage.ts';
import { timeArgon2, argon2Ceiling } from './argon2-ceiling.ts';
import { cleanupAll } from './cleanup.ts';
import { resultsTable, cpuTable, noiseWarning, argon2Summary, problemsSummary, writeReport, type Row, type Scenario } from './report.ts';

const USAGE = 'usage: npm run bench [-- --quick] [--duration S] [--setup embedded|postgres+redis]… [--scenario connect|password-login]… [--profile]';
function usage(problem: string): never {
  process.stderr.write(`bench: ${problem}\n${USAGE}\n`);
  process.exit(2);
}

const SCENARIOS = ['connect', 'password-login'];
let parsed;
try {
  parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      setup: { type: 'string', multiple: true },
      scenario: { type: 'string', multiple: true },
      profile: { type: 'boolean', default: false }, // V8 CPU profiles of the server into bench/results/
    },
  });
} catch (err) {
  usage((err as Error).message);
}
const args = parsed.values;
const quick = args.quick;
const durationS = args.duration ? Number(args.duration) : quick ? 3 : 10;
if (!(durationS > 0)) usage(`--duration must be a positive number of seconds, not ${args.duration}`);
const concurrencies = quick ? [1, 8] : [1, 8, 32];
const maxConcurrency = Math.max(...concurrencies);
const warmupMs = quick ? 500 : 2000;
const setups = (args.setup ?? SETUPS) as SetupName[];
for (const s of setups) if (!SETUPS.includes(s)) usage(`--setup must be one of ${SETUPS.join(', ')}, not ${s}`);
const scenarioFilter = args.scenario ?? SCENARIOS;
for (const s of scenarioFilter) if (!SCENARIOS.includes(s)) usage(`--scenario must be one of ${SCENARIOS.join(', ')}, not ${s}`);
const runId = new Date().toISOString();
const profileDir = args.profile ? fileURLToPath(new URL(`./results/profiles-${runId.replace(/[:.]/g, '-')}/`, import.meta.url)) : undefined;

let interrupted = false;
const progress = (line: string) => { if (!interrupted) process.stderr.write(`${line}\n`); };

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: the reapers finish the job
    process.stderr.write(`\n${signal}: stopping yihao and the database servers…\n`);
    interrupted = true;
    void cleanupAll().finally(() => process.exit(130));
  });
}

/** Runs fn over items with at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

async function benchSetup(setup: SetupName, expectedArgon2: ReadyInfo['argon2'], servers: Record<string, unknown>): Promise<Row[]> {
  progress(`${setup}: starting${setup === 'embedded' ? '' : ' PostgreSQL, Redis and'} yihao (creating ${maxConcurrency} citizens with real argon2)…`);
  const storage = await startStorage(setup);
  const server = await startBenchServer({
    storageEnv: storage.env, citizens: maxConcurrency, profileDir: profileDir && `${profileDir}${setup.replace('+', '-')}`,
  });
  servers[setup] = server.info;
  const { issuer, argon2 } = server.info;
  if (JSON.stringify(argon2) !== JSON.stringify(expectedArgon2)) {
    throw new Error(`yihao runs argon2 with ${JSON.stringify(argon2)}, not the defaults ${JSON.stringify(expectedArgon2)}`);
  }
  const healthy = () => !interrupted && server.alive();

  // One SSO session per virtual user, each signed in once through the real login form.
  const people = citizens(maxConcurrency);
  const sessions: CookieJar[] = [];
  const prep = new HttpClient(issuer, 4);
  await eachLimited(people, 4, async (who, i) => { sessions[i] = await openSession(prep, who); });
  prep.close();
  progress(`${setup}: ${sessions.length} sessions signed in at ${issuer}`);

  const scenarios: Array<[Scenario, (http: HttpClient, worker: number) => Promise<void>]> = [
    ['connect', (http, i) => connectFlow(http, sessions[i]!)],
    // Each worker signs in as its own citizen: a success resets that number's throttle counter.
    ['password login', (http, i) => passwordLoginFlow(http, people[i] as Citizen)],
  ];
  const rows: Row[] = [];
  for (const [scenario, flow] of scenarios.filter(([name]) => scenarioFilter.includes(name.replace(' ', '-')))) {
    const warm = new HttpClient(issuer, 4);
    const warmup = await runClosedLoop(Math.min(4, maxConcurrency), warmupMs, (i) => flow(warm, i), healthy);
    warm.close();
    if (warmup.errors) progress(`${setup} ${scenario} warm-up: ${warmup.errors} errors ${JSON.stringify(warmup.errorKinds)}`);
    server.takeLogTally();

    for (const concurrency of concurrencies) {
      const http = new HttpClient(issuer, concurrency);
      const meter = cpuMeter(server.pid);
      const sample = await runClosedLoop(concurrency, durationS * 1000, (i) => flow(http, i), healthy);
      const cpu = meter.stop();
      http.close();
      if (interrupted) throw new Error('interrupted');
      if (!server.alive()) throw new Error(`yihao (${setup}) exited during ${scenario} at concurrency ${concurrency}`);
      const row: Row = {
        setup, scenario, concurrency, durationS: sample.elapsedMs / 1000, flows: sample.flows,
        flowsPerSec: sample.flows / (sample.elapsedMs / 1000),
        p50Ms: percentile(sample.latenciesMs, 50), p95Ms: percentile(sample.latenciesMs, 95), p99Ms: percentile(sample.latenciesMs, 99),
        errors: sample.errors, errorKinds: sample.errorKinds, errorExamples: sample.errorExamples, cpu, serverLog: server.takeLogTally(),
      };
      rows.push(row);
      progress(`${setup} ${scenario} c=${concurrency}: ${row.flowsPerSec.toFixed(1)} flows/s, p50 ${row.p50Ms.toFixed(1)} ms, `
        + `p99 ${row.p99Ms.toFixed(1)} ms, ${row.errors} errors; yihao ${cpu.server.toFixed(2)} cores, load generator ${cpu.loadGenerator.toFixed(2)}`);
    }
  }
  await server.stop();
  await storage.stop();
  return rows;
}

async function main() {
  const startedAt = runId;
  const params = loadConfig({}).argon2; // yihao's defaults; the server child gets no ARGON2_* variables
  progress(`argon2id ceiling: timing sequential hashes (m=${params.memoryCost} KiB, t=${params.timeCost}, p=${params.parallelism})…`);
  const busyBeforeStart = await idleMachineLoad(1000);
  if (busyBeforeStart > 0.2) progress(`note: other processes keep ${busyBeforeStart.toFixed(2)} cores busy: every number below is lower than on a quiet machine`);
  const hashSamples = await timeArgon2(params, quick ? 4 : 10);

  const servers: Record<string, unknown> = {};
  const rows: Row[] = [];
  for (const setup of setups) rows.push(...await benchSetup(setup, params, servers));
  progress('argon2id ceiling: timing a few more hashes now the load is over…');
  const argon2 = argon2Ceiling(params, [...hashSamples, ...await timeArgon2(params, quick ? 4 : 10)]);

  const report = {
    startedAt, finishedAt: new Date().toISOString(),
    options: { quick, durationS, concurrencies, setups, scenarios: scenarioFilter, profile: args.profile },
    machine: { cores: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, busyBeforeStart },
    argon2, servers, rows,
  };
  const file = await writeReport(report);
  const problems = problemsSummary(rows);
  process.stdout.write([
    '',
    `yihao bench ${startedAt} — ${report.machine.cores} × ${report.machine.cpuModel}, Node ${process.version}, ${durationS} s per row${quick ? ' (quick)' : ''}`,
    `(before the bench started, other processes kept ${busyBeforeStart.toFixed(2)} of ${report.machine.cores} cores busy)`,
    '',
    resultsTable(rows),
    '',
    'CPU during each row, in cores busy on average (1.00 = one core):',
    cpuTable(rows, report.machine.cores),
    ...(noiseWarning(rows) ? [noiseWarning(rows)] : []),
    '',
    argon2Summary(argon2, rows),
    ...(problems ? ['', problems] : []),
    '',
    `results: ${relative(process.cwd(), file)}`,
    ...(profileDir ? [`server CPU profiles: ${relative(process.cwd(), profileDir)}`] : []),
    '',
  ].join('\n'));
}

try {
  await main();
} catch (err) {
  if (!interrupted) {
    progress(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  }
} finally {
  await cleanupAll();
}
