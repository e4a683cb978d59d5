// `npm run bench -- --soak SECONDS`: connect flows against yihao (PostgreSQL + Redis) for that long,
// sampling every 10 s the server's RSS, Redis's used memory and keys, and the members of the grant
// indexes; then the slope of each over the steady part of the run (Redis's per unit of recent throughput).
// Nothing should grow.
// Access tokens live 60 s here (ACCESS_TOKEN_TTL_SECONDS, the registration minimum is 60 too) instead of
// the default 600 s, so that Redis reaches its steady state — tokens expiring as fast as they are
// issued — within the run; any growth after that is a leak, not tokens waiting for their TTL.
import type { LoadGenerator } from './load-client.ts';
import type { BenchServer } from './yihao-child.ts';
import { cpuMeter, treeRss, slope, summarize } from './measure.ts';
import { grantIndexMembers, type RedisProbe } from './probes.ts';
import { mb } from './report.ts';

export const SOAK_ACCESS_TOKEN_TTL = 60;
const SAMPLE_EVERY_S = 10;

export interface SoakSample {
  t: number;
  flowsPerSec: number;
  p99Ms: number;
  errors: number;
  serverCores: number;
  otherCores: number;
  rssBytes: number;
  redisUsedBytes: number;
  redisKeys: number;
  grantIndexMembers: number;
}

export interface Trend { name: string; unit: string; from: number; to: number; windowStartS: number; perMinute: number; growth: number; flat: boolean }

export interface SoakOptions {
  seconds: number;
  concurrency: number;
  server: BenchServer;
  loadgen: LoadGenerator;
  redis: RedisProbe;
  redisPrefix: string;
  progress(line: string): void;
  healthy(): boolean;
}

/** Growth over the window within max(5 % of the mean, floor) counts as flat (GC and throughput wobble). */
function trend(name: string, unit: string, samples: SoakSample[], pick: (s: SoakSample) => number, windowStartS: number, floor: number): Trend {
  let window = samples.filter((s) => s.t >= windowStartS);
  if (window.length < 4) window = samples.slice(Math.floor(samples.length / 2)); // a short soak: its second half
  const perSecond = slope(window.map((s) => [s.t, pick(s)]));
  const span = window.length ? window[window.length - 1]!.t - window[0]!.t : 0;
  const mean = window.reduce((a, s) => a + pick(s), 0) / (window.length || 1);
  const growth = perSecond * span;
  return {
    name, unit, from: pick(window[0] ?? samples[0]!), to: pick(window[window.length - 1] ?? samples[samples.length - 1]!),
    windowStartS: window[0]?.t ?? 0, perMinute: perSecond * 60, growth, flat: !(growth > Math.max(0.05 * mean, floor)),
  };
}

export async function runSoak(o: SoakOptions): Promise<{ samples: SoakSample[]; trends: Trend[] }> {
  const sampleStorage = async () => ({
    rssBytes: treeRss(o.server.pid),
    redisUsedBytes: await o.redis.usedMemory(),
    redisKeys: await o.redis.dbsize(),
    grantIndexMembers: (await grantIndexMembers(o.redis, o.redisPrefix)).members,
  });
  const samples: SoakSample[] = [{ t: 0, flowsPerSec: 0, p99Ms: Number.NaN, errors: 0, serverCores: 0, otherCores: 0, ...await sampleStorage() }];
  const start = performance.now();
  for (let elapsed = 0; elapsed < o.seconds && o.healthy();) {
    const chunk = Math.min(SAMPLE_EVERY_S, o.seconds - elapsed);
    const meter = cpuMeter({ server: o.server.pid, loadGenerator: o.loadgen.pid, idleServers: [] });
    const row = summarize(await o.loadgen.run('yihao', 'connect', o.concurrency, chunk * 1000));
    const cpu = meter.stop();
    elapsed = (performance.now() - start) / 1000;
    const s: SoakSample = {
      t: Math.round(elapsed), flowsPerSec: row.flowsPerSec, p99Ms: row.p99Ms, errors: row.errors,
      serverCores: cpu.server, otherCores: cpu.other, ...await sampleStorage(),
    };
    samples.push(s);
    o.progress(`soak t=${String(s.t).padStart(4)} s: ${s.flowsPerSec.toFixed(0)} flows/s, p99 ${s.p99Ms.toFixed(0)} ms, ${s.errors} errors; `
      + `yihao RSS ${mb(s.rssBytes)} MB, Redis ${mb(s.redisUsedBytes)} MB in ${s.redisKeys} keys, grant-index members ${s.grantIndexMembers}`);
  }
  return { samples, trends: soakTrends(samples) };
}

/** The slope of each measure over the steady part of a soak's samples. */
export function soakTrends(samples: SoakSample[]): Trend[] {
  // Steady state: the server warmed up (a minute); Redis past the tokens' lifetime plus the 15 s the
  // adapter keeps a record beyond it, and half a minute of margin.
  const redisSteady = SOAK_ACCESS_TOKEN_TTL + 15 + 30;
  // Redis holds the flows of the tokens' lifetime (+15 s): its size follows the throughput of that window,
  // which drifts with the machine. Divided by it, what still grows is a leak, not a busier minute.
  const lived = SOAK_ACCESS_TOKEN_TTL + 15;
  const recentRate = (s: SoakSample) => {
    const window = samples.filter((x) => x.t > s.t - lived && x.t <= s.t && x.t > 0);
    return window.reduce((a, x) => a + x.flowsPerSec, 0) / (window.length || 1);
  };
  const perRate = (v: (s: SoakSample) => number) => (s: SoakSample) => v(s) / Math.max(1, recentRate(s));
  return [
    trend('yihao RSS', 'MB', samples, (s) => s.rssBytes / 1048576, 60, 4),
    trend('Redis used_memory ÷ flows/s', 'KB', samples, perRate((s) => s.redisUsedBytes / 1024), redisSteady, 2),
    trend('Redis keys ÷ flows/s', 'keys', samples, perRate((s) => s.redisKeys), redisSteady, 2),
    trend('grant-index members ÷ flows/s', 'members', samples, perRate((s) => s.grantIndexMembers), redisSteady, 2),
  ];
}

export function soakTable(samples: SoakSample[]): string {
  const header = '|    t s | flows/s | p99 ms | errors | yihao cores | other CPU | yihao RSS MB | Redis MB | Redis keys | grant-index members |';
  const sep = '|-------:|--------:|-------:|-------:|------------:|----------:|-------------:|---------:|-----------:|--------------------:|';
  const line = (s: SoakSample) => `| ${String(s.t).padStart(6)} | ${s.flowsPerSec.toFixed(1).padStart(7)} | ${(Number.isNaN(s.p99Ms) ? '-' : s.p99Ms.toFixed(0)).padStart(6)} | `
    + `${String(s.errors).padStart(6)} | ${s.serverCores.toFixed(2).padStart(11)} | ${s.otherCores.toFixed(2).padStart(9)} | ${mb(s.rssBytes).padStart(12)} | `
    + `${mb(s.redisUsedBytes).padStart(8)} | ${String(s.redisKeys).padStart(10)} | ${String(s.grantIndexMembers).padStart(19)} |`;
  return [header, sep, ...samples.map(line)].join('\n');
}

export function trendSummary(trends: Trend[]): string {
  const fmt = (v: number, unit: string) => (unit === 'MB' || unit === 'KB' ? `${v.toFixed(1)} ${unit}` : `${v.toFixed(1)} ${unit}`);
  return trends.map((t) => `  ${t.flat ? 'flat   ' : 'GROWING'}  ${t.name.padEnd(30)} ${fmt(t.from, t.unit)} → ${fmt(t.to, t.unit)} from t=${t.windowStartS} s; `
    + `slope ${t.perMinute >= 0 ? '+' : ''}${t.perMinute.toFixed(2)} ${t.unit}/min`).join('\n');
}
