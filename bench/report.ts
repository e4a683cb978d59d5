// Results as tables for people and as JSON in bench/results/ (git-ignored) for comparing runs.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Argon2Ceiling } from './argon2-ceiling.ts';
import type { CpuUse, Summary } from './measure.ts';
import type { ScenarioName } from './load-protocol.ts';
import type { GrantIndexHealth, SessionMemory } from './probes.ts';

export interface Row extends Summary {
  /** Which server: "ceiling", "yihao", "yihao embedded", "yihao 2 workers". */
  server: string;
  kind: 'yihao' | 'ceiling';
  scenario: ScenarioName;
  concurrency: number;
  durationS: number;
  cpu: CpuUse;
  rssMaxBytes: number;
  /** Redis commands per flow, by command, and their sum. */
  redisCallsPerFlow: Record<string, number>;
  redisCommandsPerFlow: number;
  /** Redis round trips per flow (read events: a command, a MULTI…EXEC block or a script call each). */
  redisRoundTripsPerFlow: number;
  /** Redis used_memory growth over the row ÷ flows: what each flow leaves behind (until its keys expire). */
  redisBytesKeptPerFlow: number;
  /** PostgreSQL transactions per flow in yihao's database (approximate, see probes.ts). */
  pgTransactionsPerFlow: number;
  /** Warnings and errors the server logged during the row, by message. */
  serverLog: Record<string, number>;
  /** yihao ÷ the ceiling's row of the same scenario and concurrency; password login: ÷ the argon2id ceiling. */
  ratio?: number;
  ratioOf?: 'ceiling' | 'argon2';
  /** Reasons the row understates the server (a busy machine, a saturated load generator). */
  untrustworthy: string[];
}

/** The ceiling row a yihao row is compared with: "ceiling" for one process, "ceiling N processes" for N workers. */
export function ceilingLabelFor(server: string): string | undefined {
  if (server === 'yihao') return 'ceiling';
  const workers = /^yihao (\d+) workers?$/.exec(server)?.[1];
  return workers ? `ceiling ${workers} processes` : undefined;
}

export const SCENARIO_LABEL: Record<ScenarioName, string> = {
  connect: 'connect', 'password-login': 'password login', refresh: 'refresh', userinfo: 'userinfo',
  introspection: 'introspection', 'client-credentials': 'client credentials',
};

// A row is not trustworthy when something besides the bench took this much CPU meanwhile.
export const OTHER_CPU_LIMIT = 0.25;
export const LOAD_GENERATOR_LIMIT = 0.9;

export function untrustworthy(r: Pick<Row, 'cpu' | 'errors' | 'kind'>): string[] {
  const reasons: string[] = [];
  if (r.cpu.other > OTHER_CPU_LIMIT) reasons.push(`other processes ${r.cpu.other.toFixed(2)} cores`);
  if (r.cpu.loadGenerator > LOAD_GENERATOR_LIMIT) reasons.push(`load generator saturated (${r.cpu.loadGenerator.toFixed(2)} cores)`);
  if (r.kind === 'ceiling' && r.errors) reasons.push('the ceiling had errors');
  return reasons;
}

function table(header: string[], rows: string[][], rightAligned: (i: number) => boolean): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (rightAligned(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (rightAligned(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...rows.map(line)].join('\n');
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));
const cores = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(2));
const perFlow = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(1));
/** Milliseconds of server CPU per flow: steadier than flows/s on a busy machine (the server waits less, it does not work less). */
export const serverCpuMsPerFlow = (r: Pick<Row, 'cpu' | 'flowsPerSec'>) => (r.flowsPerSec > 0 ? (1000 * r.cpu.server) / r.flowsPerSec : Number.NaN);
/** The event-loop thread's CPU per flow (rows of older result files have none). */
/** The event-loop thread's CPU per flow: none for a cluster (its primary's loop serves nothing) or an older result file. */
export const loopCpuMsPerFlow = (r: Pick<Row, 'cpu' | 'flowsPerSec'>) => (r.flowsPerSec > 0 && r.cpu.serverLoop > 0 ? (1000 * r.cpu.serverLoop) / r.flowsPerSec : Number.NaN);
const msPerFlow = (v: number) => (Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const cpuPerFlow = (r: Row) => msPerFlow(serverCpuMsPerFlow(r));
const syscallsPerFlow = (r: Row) => (r.flowsPerSec > 0 && r.cpu.serverWrites > 0
  ? `${(r.cpu.serverReads / r.flowsPerSec).toFixed(1)}, ${(r.cpu.serverWrites / r.flowsPerSec).toFixed(1)}` : '-');
export const mb = (bytes: number) => (Number.isNaN(bytes) ? '-' : (bytes / 1024 / 1024).toFixed(1));

export function resultsTable(rows: Row[]): string {
  return table(
    ['scenario', 'c', 'server', 'flows/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', '÷ ceiling', 'other CPU', 'trust'],
    rows.map((r) => [
      SCENARIO_LABEL[r.scenario], String(r.concurrency), r.server, r.flowsPerSec.toFixed(1), ms(r.p50Ms), ms(r.p95Ms), ms(r.p99Ms), String(r.errors),
      r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}${r.ratioOf === 'argon2' ? ' argon2' : ''}`,
      cores(r.cpu.other), r.untrustworthy.length ? 'NOISY' : 'ok',
    ]),
    (i) => i === 1 || (i >= 3 && i <= 9),
  );
}

export function cpuTable(rows: Row[], machineCores: number): string {
  return table(
    ['scenario', 'c', 'server', 'server cores', 'server CPU ms/flow', 'event loop ms/flow', 'syscalls/flow (read, write)', 'load generator', 'PostgreSQL + Redis', 'other processes', `machine (of ${machineCores})`,
      'RSS MB (max)', 'Redis round trips/flow', 'Redis cmds/flow', 'Redis B kept/flow', 'PG tx/flow ≈'],
    rows.map((r) => [SCENARIO_LABEL[r.scenario], String(r.concurrency), r.server, cores(r.cpu.server), cpuPerFlow(r), msPerFlow(loopCpuMsPerFlow(r)), syscallsPerFlow(r), cores(r.cpu.loadGenerator),
      cores(r.cpu.databaseServers), cores(r.cpu.other), cores(r.cpu.machine), mb(r.rssMaxBytes), perFlow(r.redisRoundTripsPerFlow), perFlow(r.redisCommandsPerFlow),
      r.kind === 'yihao' && r.redisCommandsPerFlow === 0 ? '' : Number.isNaN(r.redisBytesKeptPerFlow) ? '-' : r.redisBytesKeptPerFlow.toFixed(0),
      r.kind === 'ceiling' ? '' : perFlow(r.pgTransactionsPerFlow)]),
    (i) => i === 1 || i >= 3,
  );
}

/** Redis commands per flow by command, yihao beside the ceiling, at one concurrency per scenario. */
export function redisCommandsSummary(rows: Row[]): string {
  const lines = ['Redis commands per flow, by command (those run inside scripts and MULTI…EXEC included):'];
  const fmt = (r: Row) => Object.entries(r.redisCallsPerFlow).filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n.toFixed(1)}`).join(', ') || 'none';
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  for (const s of scenarios) {
    const forS = rows.filter((r) => r.scenario === s);
    const c = Math.max(...forS.map((r) => r.concurrency));
    for (const r of forS.filter((x) => x.concurrency === c)) {
      lines.push(`  ${SCENARIO_LABEL[s].padEnd(18)} c=${String(c).padEnd(2)} ${r.server.padEnd(16)} ${perFlow(r.redisRoundTripsPerFlow).padStart(5)} round trips, `
        + `${perFlow(r.redisCommandsPerFlow).padStart(5)} commands: ${fmt(r)}`);
    }
  }
  return lines.join('\n');
}

export function noiseWarning(rows: Row[]): string {
  const noisy = rows.filter((r) => r.untrustworthy.length);
  if (!noisy.length) return '';
  const worst = Math.max(...noisy.map((r) => r.cpu.other));
  return `warning: ${noisy.length} of ${rows.length} rows are NOISY (other processes above ${OTHER_CPU_LIMIT} cores, up to ${worst.toFixed(2)}, `
    + 'or a saturated load generator): they understate the server; rerun on a quiet machine before drawing conclusions from them';
}

export function argon2Summary(ceiling: Argon2Ceiling, rows: Row[]): string {
  const { memoryCost, timeCost, parallelism } = ceiling.params;
  const lines = [
    `argon2id ceiling (m=${memoryCost} KiB, t=${timeCost}, p=${parallelism}; fastest of ${ceiling.samplesMs.length} sequential hashes `
      + `${(1000 / ceiling.perCoreHashesPerSec).toFixed(1)} ms, median ${ceiling.medianMs.toFixed(1)} ms; CPU per hash, median ${ceiling.medianCpuMs.toFixed(1)} ms): `
      + `${ceiling.perCoreHashesPerSec.toFixed(1)} hashes/s on one core × ${ceiling.cores} cores = ${ceiling.hashesPerSec.toFixed(1)} hashes/s`,
  ];
  const allCores = ceiling.allCoresHashesPerSec;
  if (allCores) {
    lines.push(`  for reference, all ${ceiling.cores} cores hashing at once and nothing else: ${allCores.toFixed(1)} hashes/s = ${(allCores / ceiling.hashesPerSec).toFixed(2)} × ceiling `
      + '(concurrent hashes share the memory bus and caches: the most any password login could reach on this machine)');
  }
  const fastestCpu = Math.min(...ceiling.cpuSamplesMs);
  for (const r of rows.filter((x) => x.scenario === 'password-login')) {
    // What a login costs the server in all, beside what argon2 alone costs (its CPU per hash grows with
    // contention for the cores and the memory bus, so a range), and the best this machine could then do.
    const perFlow = serverCpuMsPerFlow(r);
    const attainable = (1000 * ceiling.cores) / perFlow;
    lines.push(`  ${r.server.padEnd(16)} password logins c=${String(r.concurrency).padEnd(2)}: ${r.flowsPerSec.toFixed(1).padStart(6)} /s ÷ ceiling = ${(r.flowsPerSec / ceiling.hashesPerSec).toFixed(2)}; `
      + `server CPU ${perFlow.toFixed(1)} ms per login (argon2 alone ${fastestCpu.toFixed(1)}–${ceiling.medianCpuMs.toFixed(1)} ms, fastest–median) `
      + `→ with every core on logins at most ${attainable.toFixed(0)} /s = ${(attainable / ceiling.hashesPerSec).toFixed(2)} × ceiling`
      + (allCores ? `; ${(r.flowsPerSec / allCores).toFixed(2)} × the all-cores hash rate` : ''));
  }
  return lines.join('\n');
}

export function memoryTable(results: Record<string, SessionMemory>): string {
  const servers = Object.keys(results);
  const kinds = [...new Set(servers.flatMap((s) => Object.keys(results[s]!.byKind)))];
  const order = ['Session', 'Session uid index', 'Grant', 'AccessToken', 'RefreshToken', 'grant index (token keys by expiry)', 'grants by account', 'AuthorizationCode', 'Interaction'];
  kinds.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const cell = (s: string, k: string) => {
    const e = results[s]!.byKind[k];
    const ttl = e && (Number.isFinite(e.ttlSeconds) ? (e.ttlSeconds >= 3600 ? `${+(e.ttlSeconds / 3600).toFixed(1)} h` : `${e.ttlSeconds} s`) : 'none');
    return e ? `${Math.round(e.bytesPerSession)} B (${e.keysPerSession.toFixed(2)} keys, TTL ${ttl})` : '-';
  };
  const bytes = (v: number) => (Number.isNaN(v) ? '-' : `${Math.round(v)} B`);
  const rows: string[][] = [
    ...kinds.map((k) => [k, ...servers.map((s) => cell(s, k))]),
    ['total (MEMORY USAGE)', ...servers.map((s) => bytes(results[s]!.perSession.total))],
    ['  for the session\'s life', ...servers.map((s) => bytes(results[s]!.perSession.session))],
    ['  until tokens expire', ...servers.map((s) => bytes(results[s]!.perSession.tokens))],
    ['  transient (codes, interactions)', ...servers.map((s) => bytes(results[s]!.perSession.transient))],
    ['  other', ...servers.map((s) => bytes(results[s]!.perSession.other))],
    ['INFO used_memory Δ ÷ sessions', ...servers.map((s) => bytes(results[s]!.usedMemoryPerSession))],
  ];
  const n = servers.map((s) => `${s}: ${results[s]!.sessions} sessions${results[s]!.errors ? `, ${results[s]!.errors} failed` : ''}`).join('; ');
  return [`Redis bytes per SSO session connected at three apps (${n}):`, table(['key kind', ...servers], rows, (i) => i > 0)].join('\n');
}

export function grantIndexSummary(health: Record<string, GrantIndexHealth>): string {
  const lines = ['Redis grant indexes after the load (token keys per grant, sorted by expiry and trimmed when written; a dead member names an expired or consumed-and-gone key):'];
  for (const [server, h] of Object.entries(health)) {
    const dead = h.sampledMembers ? (100 * h.deadMembers) / h.sampledMembers : Number.NaN;
    lines.push(`  ${server.padEnd(16)} ${h.indexes} indexes, ${h.members} members (largest ${h.largest}); `
      + `${Number.isNaN(dead) ? '-' : dead.toFixed(0)} % dead in a sample of ${h.sampledMembers}`);
  }
  return lines.join('\n');
}

export function problemsSummary(rows: Row[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const label = `${r.server} ${SCENARIO_LABEL[r.scenario]} c=${r.concurrency}`;
    if (r.errors) lines.push(`${label}: errors ${JSON.stringify(r.errorKinds)} e.g. ${r.errorExamples[0] ?? ''}`);
    if (Object.keys(r.serverLog).length) lines.push(`${label}: server logged ${JSON.stringify(r.serverLog)}`);
  }
  return lines.join('\n');
}

export async function writeReport(name: string, report: unknown): Promise<string> {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${dir}${name.replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
