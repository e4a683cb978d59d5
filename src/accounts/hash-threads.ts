// argon2 hashes on libuv's thread pool, whose size is read once, when its first job is queued: call this
// before any work that uses the pool. One thread per core (at least two, so a file or DNS job still has a
// thread while a hash runs): more threads than cores only time-slice the same cores, the memory-hard
// hashes evict each other's 19 MiB from the caches, and the event loop waits its turn among them.
// Measured on 2 cores, 8 concurrent verifications: 4 threads 79-80 verifies/s, 24.9-25.4 ms CPU each,
// event-loop delay p99 12-13 ms; 2 threads 84-87 verifies/s, 22.7-23.6 ms, p99 6 ms.
import { availableParallelism } from 'node:os';

export function sizeHashThreadPool(): void {
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, availableParallelism()));
}
