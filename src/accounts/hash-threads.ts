// Password hashing (argon2id, and PBKDF2 for imported legacy hashes) runs on libuv's thread pool, off the
// event loop. The pool also signs tokens (jose signs through WebCrypto, which runs there) and does file
// and DNS work, all from one first-come queue; and its threads competed for the cores with the event loop
// as equals. So while password logins queued, every SSO connect's ID token waited behind whole hashes and
// its requests got a third of a core: on 2 cores, connects at c=8 fell from ~350/s to ~70/s (p50 115 ms).
// Now:
// - a hash first takes a slot: one per core at once (more only time-slice the same cores, and the
//   memory-hard hashes evict each other's 19 MiB from the caches); the pool has one thread more, which a
//   hash never holds, for signing, files and DNS (with two more, two hashes at once on 2 cores ran 8–10 %
//   slower, measured again and again: idle pool threads are not free);
// - the pool's threads run at a lower priority (POOL_NICE): the event loop, Redis and PostgreSQL get a
//   core as soon as they need one, and hashing has every cycle they leave.
// Same run with both: connects ~260/s (p50 28 ms) during the logins, and logins alone as fast as before
// (`npm run bench`, "connect during password logins").
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, setPriority } from 'node:os';
import pLimit from 'p-limit';

/** Pool threads beyond the hash slots: for signing, files and DNS, which must not wait behind a hash. */
export const SPARE_THREADS = 1;

/** Nice value of the pool's threads (Linux: a thread's own; raising it needs no privilege). */
export const POOL_NICE = 10;

/** Set by a cluster primary for its workers (src/cluster.ts): the cores are shared among the processes. */
export const HASH_SLOTS_VARIABLE = 'YIHAO_HASH_SLOTS';

/** Hashes one process runs at once: one per core, divided among `processes` that share the cores. */
export function hashSlotsFor(processes = 1): number {
  return Math.max(1, Math.ceil(availableParallelism() / processes));
}

export const hashSlots = (): number => Number(process.env[HASH_SLOTS_VARIABLE]) || hashSlotsFor();

/**
 * Sizes the pool, whose size libuv reads once, when its first job is queued: call this before any work
 * that uses it. An operator's UV_THREADPOOL_SIZE is kept.
 */
export function sizeHashThreadPool(): void {
  process.env.UV_THREADPOOL_SIZE ??= String(hashSlots() + SPARE_THREADS);
}

let limit: ReturnType<typeof pLimit> | undefined;

/** Runs one hash (or verification) once a slot is free; waiting ones go first come, first served. */
export function inHashSlot<T>(hash: () => Promise<T>): Promise<T> {
  limit ??= pLimit(hashSlots());
  return limit(hash);
}

/**
 * Lowers the pool threads' priority: call it after a first hash (libuv starts all of the pool's threads
 * with its first job). They are found by the name libuv (1.50+) gives them; returns how many. Where that
 * is not possible, they keep the process's priority: connects slow down under login load, nothing worse.
 */
export function lowerPoolPriority(): number {
  if (process.platform !== 'linux') return 0;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const tid of tids) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== 'libuv-worker') continue;
      setPriority(Number(tid), POOL_NICE);
      lowered++;
    } catch { /* the thread is gone, or the system refused: keep going */ }
  }
  return lowered;
}
