// The CPU side of an import — parsing, the row rules, the blind index and the encryption of each
// number — in worker threads, one per core: per row it costs several times what PostgreSQL spends
// inserting it, so on the main thread it would be the whole import's limit.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { blindIndex, encryptIdNumber, type IdentityKeys } from '../identity/protect.ts';
import { maskIdNumber } from '../identity/id-number.ts';
import { fieldsOf, validateRow, type ImportFormat, type InputLine, type Refusal } from './import-input.ts';

export interface PrepareRequest { lines: InputLine[]; format: ImportFormat; columns: string[] }

/** One batch as the INSERT … SELECT FROM unnest(…) in import.ts takes it: one array per column. */
export interface Prepared {
  text: string[][]; // id, id_type, id_index, id_ciphertext, id_masked, name, gender
  birthdates: string[];
  phones: (string | null)[];
  hashes: (string | null)[];
  rows: number;
  refusals: Refusal[];
}

// KeyObjects cross to worker threads by structured clone, still KeyObjects on the other side.
interface Setup { keys: IdentityKeys; today: Date }

export function prepareBatch(keys: IdentityKeys, today: Date, { lines, format, columns }: PrepareRequest): Prepared {
  const out: Prepared = { text: Array.from({ length: 7 }, () => []), birthdates: [], phones: [], hashes: [], rows: 0, refusals: [] };
  for (const line of lines) {
    const read = fieldsOf(line, format, columns);
    const outcome = read.ok ? validateRow(line.no, read.fields, today) : read;
    if (!outcome.ok) {
      out.refusals.push(outcome.refusal);
      continue;
    }
    const { idType, idNumber, name, phone, passwordHash } = outcome.row;
    const n = idNumber.number;
    // As accounts.create stores it: a blind index to find the account, AES-GCM to release the number, a mask to show it.
    [randomUUID(), idType, blindIndex(keys, idType, n), encryptIdNumber(keys, n), maskIdNumber(n), name, idNumber.gender]
      .forEach((v, i) => out.text[i]!.push(v));
    out.birthdates.push(idNumber.birthdate);
    out.phones.push(phone);
    out.hashes.push(passwordHash);
    out.rows++;
  }
  return out;
}

if (!isMainThread && parentPort && (workerData as { importWorker?: Setup } | null)?.importWorker) {
  const setup = (workerData as { importWorker: Setup }).importWorker;
  const { keys } = setup;
  const port = parentPort;
  port.on('message', ({ id, request }: { id: number; request: PrepareRequest }) => {
    try {
      port.postMessage({ id, prepared: prepareBatch(keys, setup.today, request) });
    } catch (err) {
      port.postMessage({ id, error: (err as Error).message });
    }
  });
}

export interface Preparers { prepare(request: PrepareRequest): Promise<Prepared>; close(): Promise<void> }

/** `count` workers taking batches in turn. A worker that fails fails every batch it holds. */
export function startPreparers(keys: IdentityKeys, today: Date, count: number): Preparers {
  const setup: Setup = { keys, today };
  const waiting = new Map<number, { resolve(p: Prepared): void; reject(e: Error): void }>();
  const owner = new Map<number, Worker>();
  const workers = Array.from({ length: count }, () => {
    const w = new Worker(new URL(import.meta.url), { workerData: { importWorker: setup } });
    const fail = (err: Error) => {
      for (const [id, who] of owner) {
        if (who !== w) continue;
        waiting.get(id)?.reject(err);
        waiting.delete(id);
        owner.delete(id);
      }
    };
    w.on('message', (m: { id: number; prepared?: Prepared; error?: string }) => {
      const pending = waiting.get(m.id);
      waiting.delete(m.id);
      owner.delete(m.id);
      if (m.prepared) pending?.resolve(m.prepared);
      else pending?.reject(new Error(`import worker: ${m.error}`));
    });
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`import worker exited (${code})`)));
    return w;
  });
  let next = 0;
  return {
    prepare(request) {
      const id = next++;
      const w = workers[id % workers.length]!;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        owner.set(id, w);
        w.postMessage({ id, request });
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
