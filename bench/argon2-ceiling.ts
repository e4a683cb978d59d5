// The most password logins this machine could do if argon2 were the only work: one core's
// sequential argon2id hashes/s with yihao's parameters, times the cores. A login costs one
// verification, which costs the same as one hash.
import argon2 from 'argon2';
import { availableParallelism } from 'node:os';

export interface Argon2Params { memoryCost: number; timeCost: number; parallelism: number }
export interface Argon2Ceiling { params: Argon2Params; samples: number; perCoreHashesPerSec: number; cores: number; hashesPerSec: number }

export async function measureArgon2Ceiling(params: Argon2Params, samples: number): Promise<Argon2Ceiling> {
  const options = { type: argon2.argon2id as 2, ...params };
  await argon2.hash('warm-up', options);
  const t0 = performance.now();
  for (let i = 0; i < samples; i++) await argon2.hash(`bench password ${i}`, options);
  const perCoreHashesPerSec = samples / ((performance.now() - t0) / 1000);
  const cores = availableParallelism();
  return { params, samples, perCoreHashesPerSec, cores, hashesPerSec: perCoreHashesPerSec * cores };
}
