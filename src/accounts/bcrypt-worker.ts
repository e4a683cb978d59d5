// bcrypt for imported legacy hashes, off the event loop. bcryptjs is pure JavaScript: on the main
// thread a cost-10 verification would hold the loop for tens of milliseconds at a time (it yields
// only every 100 ms), stalling every other request. One worker thread, started at the first bcrypt
// login and kept only while it has work to do, runs them in turn.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

interface Request { id: number; password: string; salt: string }
type Reply = { id: number; hash: string } | { id: number; error: string };

// Other workers import this module too (through legacy-hash.ts): only the one started below answers.
if (!isMainThread && parentPort && (workerData as { bcryptWorker?: boolean } | null)?.bcryptWorker) {
  const port = parentPort;
  port.on('message', ({ id, password, salt }: Request) => {
    try {
      port.postMessage({ id, hash: bcrypt.hashSync(password, salt) } satisfies Reply);
    } catch (err) {
      port.postMessage({ id, error: (err as Error).message } satisfies Reply);
    }
  });
}

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve(hash: string): void; reject(err: Error): void }>();

function failAll(err: Error) {
  for (const w of waiting.values()) w.reject(err);
  waiting.clear();
  worker = undefined;
}

function start(): Worker {
  const w = new Worker(new URL(import.meta.url), { workerData: { bcryptWorker: true } });
  w.on('message', (reply: Reply) => {
    const pending = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (waiting.size === 0) w.unref(); // idle: never what keeps the process alive
    if ('error' in reply) pending?.reject(new Error(reply.error));
    else pending?.resolve(reply.hash);
  });
  w.on('error', failAll);
  w.on('exit', () => failAll(new Error('bcrypt worker exited')));
  return w;
}

/** bcrypt of `password` with the cost and salt of `salt` (the first 29 characters of a bcrypt hash). */
export function bcryptHash(password: string, salt: string): Promise<string> {
  worker ??= start();
  worker.ref();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker!.postMessage({ id, password, salt } satisfies Request);
  });
}
