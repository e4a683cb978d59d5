// The most password logins this machine could do if argon2 were the only work: one core's
// sequential argon2id hashes/s with yihao's parameters, times the cores. A login costs one
// verification, which costs the same as one hash. Each hash is timed alone and the fastest counts
// (a ceiling, and the machine may be shared): time some before the load and some after it.
// Each hash's CPU time is recorded too (process CPU around it: the hash runs on a libuv thread while
// this thread waits): unlike the wall clock, it does not grow when other processes take the cores,
// and it tells how much of a login's server CPU is argon2 and how much is the rest of the login.
import argon2 from 'argon2';
import { availableParallelism } from 'node:os';

export interface Argon2Params { memoryCost: number; timeCost: number; parallelism: number }
export interface Argon2Sample { wallMs: number; cpuMs: number }
export interface Argon2Ceiling {
  params: Argon2Params;
  samplesMs: number[];
  cpuSamplesMs: number[];
  medianMs: number;
  medianCpuMs: number;
  perCoreHashesPerSec: number;
  cores: number;
  hashesPerSec: number;
  /**
   * What the machine really does with every core hashing at once and nothing else (measured, not
   * multiplied): below hashesPerSec, since concurrent hashes share the memory bus and caches. The best
   * any password login could reach here; undefined when not measured.
   */
  allCoresHashesPerSec?: number;
}

export async function timeArgon2(params: Argon2Params, count: number): Promise<Argon2Sample[]> {
  const options = { type: argon2.argon2id as 2, ...params };
  await argon2.hash('warm-up', options);
  const samples: Argon2Sample[] = [];
  for (let i = 0; i < count; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await argon2.hash(`bench password ${i}`, options);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    samples.push({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
  return samples;
}

/** Hashes/s with `cores` hashes in flight at once for about `ms` (the libuv pool must hold that many). */
export async function timeArgon2AllCores(params: Argon2Params, ms: number, cores = availableParallelism()): Promise<number> {
  const options = { type: argon2.argon2id as 2, ...params };
  let done = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: cores }, async (_, lane) => {
    while (performance.now() - t0 < ms) { await argon2.hash(`bench password ${lane} ${done}`, options); done++; }
  }));
  return done / ((performance.now() - t0) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export function argon2Ceiling(params: Argon2Params, samples: Argon2Sample[], allCoresHashesPerSec?: number): Argon2Ceiling {
  const samplesMs = samples.map((s) => s.wallMs);
  const cpuSamplesMs = samples.map((s) => s.cpuMs);
  const perCoreHashesPerSec = 1000 / Math.min(...samplesMs);
  const cores = availableParallelism();
  return {
    params, samplesMs, cpuSamplesMs, medianMs: median(samplesMs), medianCpuMs: median(cpuSamplesMs),
    perCoreHashesPerSec, cores, hashesPerSec: perCoreHashesPerSec * cores, allCoresHashesPerSec,
  };
}
