// The most password logins this machine could do if argon2 were the only work: one core's
// sequential argon2id hashes/s with yihao's parameters, times the cores. A login costs one
// verification, which costs the same as one hash. Each hash is timed alone and the fastest counts
// (a ceiling, and the machine may be shared): time some before the load and some after it.
import argon2 from 'argon2';
import { availableParallelism } from 'node:os';

export interface Argon2Params { memoryCost: number; timeCost: number; parallelism: number }
export interface Argon2Ceiling {
  params: Argon2Params;
  samplesMs: number[];
  medianMs: number;
  perCoreHashesPerSec: number;
  cores: number;
  hashesPerSec: number;
}

export async function timeArgon2(params: Argon2Params, count: number): Promise<number[]> {
  const options = { type: argon2.argon2id as 2, ...params };
  await argon2.hash('warm-up', options);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await argon2.hash(`bench password ${i}`, options);
    samples.push(performance.now() - t0);
  }
  return samples;
}

export function argon2Ceiling(params: Argon2Params, samplesMs: number[]): Argon2Ceiling {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const perCoreHashesPerSec = 1000 / sorted[0]!;
  const cores = availableParallelism();
  return {
    params, samplesMs, medianMs: sorted[Math.floor(sorted.length / 2)]!,
    perCoreHashesPerSec, cores, hashesPerSec: perCoreHashesPerSec * cores,
  };
}
