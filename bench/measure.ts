// Closed-loop load, percentiles, and what the machine did meanwhile (CPU and memory from /proc).
// Load: `concurrency` workers each run flows back to back until the time is up. A flow started before
// the deadline is allowed to finish; flows/s is completed flows over the time until the last one
// finished. Latency is one whole flow, successful flows only.
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
  concurrency: number, durationMs: number, flow: (worker: number) => Promise<void>, healthy: () => boolean = () => true,
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
  return percentileOfSorted(sorted, p);
}

function percentileOfSorted(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** What the load generator reports for one row (the latencies themselves stay in its process). */
export interface Summary {
  flows: number;
  elapsedMs: number;
  flowsPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errors: number;
  errorKinds: Record<string, number>;
  errorExamples: string[];
}

export function summarize(s: Sample): Summary {
  const sorted = [...s.latenciesMs].sort((a, b) => a - b);
  return {
    flows: s.flows, elapsedMs: s.elapsedMs, flowsPerSec: s.flows / (s.elapsedMs / 1000),
    p50Ms: percentileOfSorted(sorted, 50), p95Ms: percentileOfSorted(sorted, 95), p99Ms: percentileOfSorted(sorted, 99),
    errors: s.errors, errorKinds: s.errorKinds, errorExamples: s.errorExamples,
  };
}

// ---- CPU time from /proc, to tell a saturated server from a saturated load generator on two cores.

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

interface ProcStat { ppid: number; seconds: number }

function procStat(pid: number | string): ProcStat | undefined {
  try {
    // Fields after the parenthesised command name: ppid is 2nd, utime 12th, stime 13th, cutime 14th, cstime 15th.
    // A child that exits moves from its own count to its parent's reaped-children count (cutime, cstime),
    // so summing both over the living processes of a tree stays consistent.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return { ppid: f[1]!, seconds: (f[11]! + f[12]! + f[13]! + f[14]!) / clockTicks() };
  } catch {
    return undefined;
  }
}

function processTable(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(name);
    if (stat) table.set(Number(name), stat);
  }
  return table;
}

/**
 * The group each of this process's descendants belongs to: the nearest ancestor named in `roots`
 * (a server and its cluster workers, the load generator), else "databases" (PostgreSQL with its
 * backends, Redis, reapers). Processes outside this tree are not counted.
 */
function groupSeconds(roots: Map<number, string>): Map<string, number> {
  const table = processTable();
  const totals = new Map<string, number>();
  for (const [pid, stat] of table) {
    if (pid === process.pid) continue;
    let group: string | undefined;
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = table.get(p)?.ppid ?? 0, hops++) {
      const root = roots.get(p);
      if (root) { group = root; break; }
      if (p === process.pid) { group = 'databases'; break; }
    }
    if (group) totals.set(group, (totals.get(group) ?? 0) + stat.seconds);
  }
  return totals;
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

/** CPU seconds of one thread: a process's event-loop thread is the task whose id is the pid. */
function threadSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return (f[11]! + f[12]!) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** Read and write system calls of a process so far (all its threads): its socket round trips, roughly. */
function syscalls(pid: number): { reads: number; writes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return { reads: Number(/^syscr: (\d+)/m.exec(io)?.[1]), writes: Number(/^syscw: (\d+)/m.exec(io)?.[1]) };
  } catch {
    return { reads: Number.NaN, writes: Number.NaN };
  }
}

/** Average cores busy during a row (1.0 = one full core). */
export interface CpuUse {
  /** The server measured (with its cluster workers, if any). */
  server: number;
  /**
   * The server's event-loop thread alone (its main process's, in a cluster): the resource a Node server
   * runs out of first. Unlike flows/s it hardly moves when other processes take the cores.
   */
  serverLoop: number;
  /** The server's read and write system calls per second (main process; with its threads). */
  serverReads: number;
  serverWrites: number;
  loadGenerator: number;
  databaseServers: number;
  /** The bench's own idle servers (the other side of the comparison) and this runner. */
  benchIdle: number;
  machine: number;
  /** Everything else on the machine: other people's work, which lowers every number. */
  other: number;
}

export interface MeterPids { server: number; loadGenerator: number; idleServers: number[]; /** no event-loop or syscall figures */ cluster?: boolean }

/** Starts a CPU meter; its stop() gives the cores busy on average since. */
export function cpuMeter(pids: MeterPids): { stop(): CpuUse } {
  const roots = new Map<number, string>([[pids.server, 'server'], [pids.loadGenerator, 'loadGenerator'],
    ...pids.idleServers.map((p): [number, string] => [p, 'idle'])]);
  const t0 = performance.now();
  const loop0 = threadSeconds(pids.server);
  const io0 = syscalls(pids.server);
  const groups0 = groupSeconds(roots);
  const self0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  return {
    stop() {
      const seconds = (performance.now() - t0) / 1000;
      const groups = groupSeconds(roots);
      const delta = (g: string) => Math.max(0, ((groups.get(g) ?? 0) - (groups0.get(g) ?? 0)) / seconds);
      const self = process.cpuUsage(self0);
      const use = {
        server: delta('server'),
        serverLoop: pids.cluster ? Number.NaN : (threadSeconds(pids.server) - loop0) / seconds,
        serverReads: pids.cluster ? Number.NaN : (syscalls(pids.server).reads - io0.reads) / seconds,
        serverWrites: pids.cluster ? Number.NaN : (syscalls(pids.server).writes - io0.writes) / seconds,
        loadGenerator: delta('loadGenerator'), databaseServers: delta('databases'),
        benchIdle: delta('idle') + (self.user + self.system) / 1e6 / seconds,
        machine: (machineBusySeconds() - machine0) / seconds,
      };
      return { ...use, other: Math.max(0, use.machine - use.server - use.loadGenerator - use.databaseServers - use.benchIdle) };
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

// ---- Memory: resident set size of a process and its descendants (cluster workers).

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS in bytes of `pid` and every process below it. */
export function treeRss(pid: number): number {
  const table = processTable();
  let total = rssOf(pid);
  for (const [p] of table) {
    for (let q = table.get(p)?.ppid ?? 0, hops = 0; q > 1 && hops < 64; q = table.get(q)?.ppid ?? 0, hops++) {
      if (q === pid) { total += rssOf(p); break; }
    }
  }
  return total;
}

/** Samples a server's RSS every `everyMs` until stopped; gives the largest and the last. */
export function rssSampler(pid: number, everyMs = 1000): { stop(): { maxBytes: number; lastBytes: number } } {
  let maxBytes = treeRss(pid);
  let lastBytes = maxBytes;
  const timer = setInterval(() => {
    lastBytes = treeRss(pid);
    maxBytes = Math.max(maxBytes, lastBytes);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      lastBytes = treeRss(pid) || lastBytes;
      maxBytes = Math.max(maxBytes, lastBytes);
      return { maxBytes, lastBytes };
    },
  };
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two points. */
export function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return Number.NaN;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den ? num / den : Number.NaN;
}
