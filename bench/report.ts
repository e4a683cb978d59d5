// Results as a table for people and as JSON in bench/results/ (git-ignored) for comparing runs.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Argon2Ceiling } from './argon2-ceiling.ts';
import type { CpuUse } from './measure.ts';
import type { SetupName } from './storage.ts';

export type Scenario = 'connect' | 'password login';

export interface Row {
  setup: SetupName;
  scenario: Scenario;
  concurrency: number;
  durationS: number;
  flows: number;
  flowsPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errors: number;
  errorKinds: Record<string, number>;
  errorExamples: string[];
  /** Average cores busy during the row (1.0 = one full core). */
  cpu: CpuUse;
  /** Warnings and errors the server logged during the row, by message. */
  serverLog: Record<string, number>;
}

export interface Report {
  startedAt: string;
  finishedAt: string;
  options: { quick: boolean; durationS: number; concurrencies: number[]; setups: string[]; scenarios: string[]; profile: boolean };
  machine: { cores: number; cpuModel: string; node: string; busyBeforeStart: number };
  argon2: Argon2Ceiling;
  servers: Record<string, unknown>;
  rows: Row[];
}

function table(header: string[], rows: string[][], rightAligned: (i: number) => boolean): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (rightAligned(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (rightAligned(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...rows.map(line)].join('\n');
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));
const cores = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(2));

export function resultsTable(rows: Row[]): string {
  return table(
    ['setup', 'scenario', 'concurrency', 'flows/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'],
    rows.map((r) => [r.setup, r.scenario, String(r.concurrency), r.flowsPerSec.toFixed(1), ms(r.p50Ms), ms(r.p95Ms), ms(r.p99Ms), String(r.errors)]),
    (i) => i >= 2,
  );
}

const otherProcesses = (r: Row) => Math.max(0, r.cpu.machine - r.cpu.server - r.cpu.loadGenerator - r.cpu.databaseServers);

export function cpuTable(rows: Row[], machineCores: number): string {
  return table(
    ['setup', 'scenario', 'concurrency', 'yihao', 'load generator', 'PostgreSQL + Redis', 'other processes', `machine (of ${machineCores})`],
    rows.map((r) => [r.setup, r.scenario, String(r.concurrency), cores(r.cpu.server), cores(r.cpu.loadGenerator), cores(r.cpu.databaseServers),
      cores(otherProcesses(r)), cores(r.cpu.machine)]),
    (i) => i >= 2,
  );
}

/** A warning when something else on the machine took CPU during the rows (a shared machine). */
export function noiseWarning(rows: Row[]): string {
  const noisy = rows.filter((r) => otherProcesses(r) > 0.25);
  if (!noisy.length) return '';
  const worst = Math.max(...noisy.map(otherProcesses));
  return `warning: other processes took more than 0.25 cores during ${noisy.length} of ${rows.length} rows (up to ${worst.toFixed(2)}): those rows understate yihao; rerun on a quiet machine to compare`;
}

export function argon2Summary(ceiling: Argon2Ceiling, rows: Row[]): string {
  const { memoryCost, timeCost, parallelism } = ceiling.params;
  const lines = [
    `argon2id ceiling (m=${memoryCost} KiB, t=${timeCost}, p=${parallelism}; fastest of ${ceiling.samplesMs.length} sequential hashes `
      + `${(1000 / ceiling.perCoreHashesPerSec).toFixed(1)} ms, median ${ceiling.medianMs.toFixed(1)} ms): `
      + `${ceiling.perCoreHashesPerSec.toFixed(1)} hashes/s on one core × ${ceiling.cores} cores = ${ceiling.hashesPerSec.toFixed(1)} hashes/s`,
  ];
  for (const r of rows.filter((x) => x.scenario === 'password login')) {
    lines.push(`  ${r.setup.padEnd(14)} password logins c=${String(r.concurrency).padEnd(2)}: ${r.flowsPerSec.toFixed(1).padStart(6)} /s ÷ ceiling = ${(r.flowsPerSec / ceiling.hashesPerSec).toFixed(2)}`);
  }
  return lines.join('\n');
}

export function problemsSummary(rows: Row[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const label = `${r.setup} ${r.scenario} c=${r.concurrency}`;
    if (r.errors) lines.push(`${label}: errors ${JSON.stringify(r.errorKinds)} e.g. ${r.errorExamples[0] ?? ''}`);
    if (Object.keys(r.serverLog).length) lines.push(`${label}: server logged ${JSON.stringify(r.serverLog)}`);
  }
  return lines.join('\n');
}

export async function writeReport(report: Report): Promise<string> {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${dir}${report.startedAt.replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
