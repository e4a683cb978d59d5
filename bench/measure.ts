// Closed-loop load: `concurrency` workers each run flows back to back until the time is up.
// A flow started before the deadline is allowed to finish; flows/s is completed flows over the
// time until the last one finished. Latency is one whole flow, successful flows only.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { FlowError } from './http.ts';

export interface Sample {
  flows: number;
  elapsedMs: number;
  latenciesMs: number[];
  errors: number;
  errorKinds: Record<string, number>;
  errorExamples: string[];
}

export async function runClosedLoop(
  concurrency: number, durationMs: number, flow: (worker: number) => Promise<void>, healthy: () => boolean,
): Promise<Sample> {
  const sample: Sample = { flows: 0, elapsedMs: 0, latenciesMs: [], errors: 0, errorKinds: {}, errorExamples: [] };
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async (i: number) => {
    while (performance.now() < deadline && healthy()) {
      const t0 = performance.now();
      try {
        await flow(i);
        sample.latenciesMs.push(performance.now() - t0);
        sample.flows++;
      } catch (err) {
        const kind = err instanceof FlowError ? err.kind : `unexpected ${(err as Error).name}`;
        sample.errors++;
        sample.errorKinds[kind] = (sample.errorKinds[kind] ?? 0) + 1;
        if (sample.errorExamples.length < 5) sample.errorExamples.push((err as Error).message.slice(0, 300));
        // A refused connection fails in microseconds: do not spin the CPU the server needs.
        if (err instanceof FlowError && err.status === 0) await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  sample.elapsedMs = performance.now() - start;
  return sample;
}

/** Nearest-rank percentile (p in 0–100) of unsorted values; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// CPU time from /proc, to tell a saturated server from a saturated load generator on two cores.
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcStat { ppid: number; self: number; reapedChildren: number }

function procStat(pid: number | string): ProcStat | undefined {
  try {
    // Fields after the parenthesised command name: ppid is 2nd, utime 12th, stime 13th, cutime 14th, cstime 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return { ppid: f[1]!, self: (f[11]! + f[12]!) / clockTicks(), reapedChildren: (f[13]! + f[14]!) / clockTicks() };
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by one process (user + system), or NaN when it cannot be read. */
function processCpuSeconds(pid: number): number {
  return procStat(pid)?.self ?? Number.NaN;
}

/**
 * CPU seconds used so far by this process's descendants (PostgreSQL with its backends, Redis), except
 * `exclude`'s subtree. A backend that exits moves from its own count to its parent's reaped-children
 * count, so summing both over the living processes stays consistent.
 */
function descendantsCpuSeconds(exclude: number): number {
  const table = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(name);
    if (stat) table.set(Number(name), stat);
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = table.get(p)?.ppid ?? 0, hops++) {
      if (p === exclude) return false;
      if (p === process.pid) return pid !== process.pid;
    }
    return false;
  };
  let total = 0;
  for (const [pid, stat] of table) if (inTree(pid)) total += stat.self + stat.reapedChildren;
  return total;
}

/** Busy CPU seconds of the whole machine, summed over cores (everything but idle and iowait). */
function machineBusySeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

export interface CpuUse { server: number; loadGenerator: number; databaseServers: number; machine: number }

/** Starts a CPU meter; its stop() gives the cores busy on average since (1.0 = one full core). */
export function cpuMeter(serverPid: number): { stop(): CpuUse } {
  const t0 = performance.now();
  const server0 = processCpuSeconds(serverPid);
  const databases0 = descendantsCpuSeconds(serverPid);
  const self0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  return {
    stop() {
      const seconds = (performance.now() - t0) / 1000;
      const self = process.cpuUsage(self0);
      return {
        server: (processCpuSeconds(serverPid) - server0) / seconds,
        loadGenerator: (self.user + self.system) / 1e6 / seconds,
        databaseServers: (descendantsCpuSeconds(serverPid) - databases0) / seconds,
        machine: (machineBusySeconds() - machine0) / seconds,
      };
    },
  };
}

/** Cores the rest of the machine keeps busy while the bench does nothing: noise in every number. */
export async function idleMachineLoad(ms: number): Promise<number> {
  const t0 = performance.now();
  const busy0 = machineBusySeconds();
  await new Promise((r) => setTimeout(r, ms));
  return (machineBusySeconds() - busy0) / ((performance.now() - t0) / 1000);
}
