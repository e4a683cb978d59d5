// Password hashing on the thread pool: one hash per core at once, first come first served, and the pool's
// threads below the event loop's priority, so that signing and request handling never wait behind hashes.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, getPriority } from 'node:os';
import { hashSlots, hashSlotsFor, inHashSlot, POOL_NICE } from '../../src/accounts/hash-threads.ts';
import { createPasswords } from '../../src/accounts/passwords.ts';

const poolThreads = () => readdirSync('/proc/self/task')
  .filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'libuv-worker')
  .map(Number);

describe('password hashing threads', () => {
  it('runs at most one hash per core at once; the others wait their turn in order', async () => {
    const slots = hashSlots();
    expect(slots).toBe(availableParallelism());
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const job = (n: number) => inHashSlot(async () => {
      started.push(n);
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return n;
    });
    const jobs = Array.from({ length: 3 * slots + 1 }, (_, n) => n);
    expect(await Promise.all(jobs.map(job))).toEqual(jobs);
    expect(most).toBe(slots);
    expect(started).toEqual(jobs);
  });

  it('frees the slot of a hash that failed', async () => {
    const slots = hashSlots();
    const failures = Array.from({ length: slots }, () => inHashSlot(() => Promise.reject(new Error('corrupt hash'))));
    await expect(Promise.all(failures)).rejects.toThrow('corrupt hash');
    await Promise.allSettled(failures);
    expect(await inHashSlot(async () => 'still hashing')).toBe('still hashing');
  });

  it('shares the cores among cluster workers', () => {
    const cores = availableParallelism();
    expect(hashSlotsFor(1)).toBe(cores);
    expect(hashSlotsFor(cores)).toBe(1);
    expect(hashSlotsFor(cores * 4)).toBe(1); // never none
    expect(hashSlotsFor(2)).toBe(Math.ceil(cores / 2));
  });

  it.runIf(process.platform === 'linux')('runs the thread pool below the event loop once hashing has started', async () => {
    const passwords = await createPasswords({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    expect(await passwords.verify(await passwords.hash('correct horse'), 'correct horse')).toBe(true);
    const threads = poolThreads();
    expect(threads.length).toBeGreaterThan(0);
    for (const tid of threads) expect(getPriority(tid)).toBe(POOL_NICE);
    expect(getPriority(process.pid)).toBe(0); // the event loop's thread keeps its priority
  });
});
