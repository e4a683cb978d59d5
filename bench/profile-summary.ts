// Where a server's JS thread spent its time, from the V8 CPU profiles `--profile` writes (node
// --cpu-prof; a cluster writes one per process): self time by package (node_modules/<pkg>,
// src/<folder>, node's own modules, GC, native code) and the hottest functions. Profile timestamps
// and process.hrtime() read the same monotonic clock, so samples are charged to the rows during which
// they were taken: CPU per flow of each scenario, by package, for each server.
// Also runnable alone: `node bench/profile-summary.ts FILE.cpuprofile…` (whole-run summary).
import { readFile, readdir } from 'node:fs/promises';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** A measured stretch of time on one server (µs on the monotonic clock) and the flows completed in it. */
export interface ProfileWindow { scenario: string; startUs: number; endUs: number; flows: number }

export interface ScenarioCpu { flows: number; busyUs: number; byCategory: Record<string, number>; byFunction: Record<string, number> }

export interface ProfileSummary {
  files: string[];
  busyMs: number;
  /** JS-thread self time per flow, by scenario, within the measured rows only. */
  scenarios: Record<string, ScenarioCpu>;
  byCategory: Array<[string, number]>;
  byFunction: Array<[string, number]>;
}

function category(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native: sockets, crypto, JSON…)';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/src\/([^/]+)(\/|\.ts)/.exec(url);
  if (src) return `yihao src/${src[1]}`;
  if (/\/bench\//.test(url)) return 'bench';
  const internal = /^node:(?:internal\/)?([\w-]+)/.exec(url);
  if (internal) return `node:${internal[1]}`;
  return url.replace(/^file:\/\/.*\//, '');
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
}

/** Every .cpuprofile in a directory (a server writes one per process when it exits). */
export async function profilesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => `${dir}/${f}`);
  } catch {
    return [];
  }
}

export async function summarizeProfiles(files: string[], windows: ProfileWindow[] = [], top = 15): Promise<ProfileSummary> {
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  const scenarios: Record<string, ScenarioCpu> = {};
  for (const w of windows) (scenarios[w.scenario] ??= { flows: 0, busyUs: 0, byCategory: {}, byFunction: {} }).flows += w.flows;
  const sorted = [...windows].sort((a, b) => a.startUs - b.startUs);
  let busyUs = 0;
  for (const file of files) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const catOf = new Map(profile.nodes.map((n) => [n.id, category(n)]));
    let t = profile.startTime;
    let w = 0;
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      t += us;
      const cat = catOf.get(id)!;
      if (cat === '(idle)') return;
      busyUs += us;
      cats.set(cat, (cats.get(cat) ?? 0) + us);
      const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
      const fn = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
      fns.set(fn, (fns.get(fn) ?? 0) + us);
      while (w < sorted.length && sorted[w]!.endUs < t) w++;
      const win = sorted[w];
      if (win && win.startUs <= t) {
        const s = scenarios[win.scenario]!;
        s.busyUs += us;
        s.byCategory[cat] = (s.byCategory[cat] ?? 0) + us;
        s.byFunction[fn] = (s.byFunction[fn] ?? 0) + us;
      }
    });
  }
  const topOf = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]): [string, number] => [k, v / 1000]);
  return { files, busyMs: busyUs / 1000, scenarios, byCategory: topOf(cats), byFunction: topOf(fns) };
}

const pad = (s: string, n: number) => s.padStart(n);

/**
 * Per scenario: JS-thread µs per flow by package, each server beside the first (the ceiling); then the
 * functions whose time per flow grew most from the first server to the second: where yihao spends more.
 */
export function perFlowComparison(summaries: Record<string, ProfileSummary>, rows = 8, functions = 8): string {
  const servers = Object.keys(summaries);
  const scenarios = [...new Set(servers.flatMap((s) => Object.keys(summaries[s]!.scenarios)))];
  const lines: string[] = [];
  for (const scenario of scenarios) {
    const per = (s: string, cat?: string) => {
      const sc = summaries[s]!.scenarios[scenario];
      if (!sc?.flows) return Number.NaN;
      return (cat === undefined ? sc.busyUs : sc.byCategory[cat] ?? 0) / sc.flows;
    };
    const present = servers.filter((s) => !Number.isNaN(per(s)));
    if (!present.length) continue;
    const cats = [...new Set(present.flatMap((s) => Object.keys(summaries[s]!.scenarios[scenario]!.byCategory)))]
      .sort((a, b) => Math.max(...present.map((s) => per(s, b))) - Math.max(...present.map((s) => per(s, a))))
      .slice(0, rows);
    const width = Math.max(34, ...cats.map((c) => c.length));
    const base = present[0]!;
    const cell = (s: string, cat?: string) => {
      const v = per(s, cat);
      const delta = s === base ? '' : ` (${v - per(base, cat) >= 0 ? '+' : ''}${(v - per(base, cat)).toFixed(0)})`;
      return pad(`${v.toFixed(0)}${delta}`, 20);
    };
    lines.push(`  ${scenario.padEnd(width)} ${present.map((s) => pad(s, 20)).join(' ')}`);
    lines.push(`  ${'  all JS-thread time, µs/flow'.padEnd(width)} ${present.map((s) => cell(s)).join(' ')}`);
    for (const c of cats) lines.push(`  ${`    ${c}`.padEnd(width)} ${present.map((s) => cell(s, c)).join(' ')}`);
    const other = present[1];
    if (!other) continue;
    const a = summaries[base]!.scenarios[scenario]!;
    const b = summaries[other]!.scenarios[scenario]!;
    const grown = Object.keys({ ...a.byFunction, ...b.byFunction })
      .map((fn): [string, number] => [fn, (b.byFunction[fn] ?? 0) / b.flows - (a.byFunction[fn] ?? 0) / a.flows])
      .sort((x, y) => y[1] - x[1]).slice(0, functions).filter(([, d]) => d > 0);
    lines.push(`    most grown per flow, ${other} − ${base}: ${grown.map(([fn, d]) => `${fn} +${d.toFixed(1)}`).join('; ')}`);
  }
  return lines.join('\n');
}

export function hottestFunctions(summaries: Record<string, ProfileSummary>, top = 12): string {
  const lines: string[] = [];
  for (const [s, summary] of Object.entries(summaries)) {
    lines.push(`hottest functions (self time, whole run), ${s}:`);
    for (const [fn, ms] of summary.byFunction.slice(0, top)) lines.push(`  ${ms.toFixed(0).padStart(7)} ms  ${fn}`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of process.argv.slice(2)) {
    const s = await summarizeProfiles([f], [], 25);
    process.stdout.write(`${f}: ${s.busyMs.toFixed(0)} ms busy\n`);
    for (const [c, ms] of s.byCategory) process.stdout.write(`  ${ms.toFixed(0).padStart(7)} ms  ${c}\n`);
    process.stdout.write(`${hottestFunctions({ [f]: s }, 25)}\n`);
  }
}
