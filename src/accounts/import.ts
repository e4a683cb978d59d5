// `yihao accounts import`: accounts from a department's legacy system, streamed from a file in batches.
// Each batch is one INSERT … SELECT FROM unnest(…) ON CONFLICT (id_index) DO NOTHING (one statement
// whatever the batch size, no parameter limit, same SQL on PostgreSQL and PGlite; measured against
// multi-row VALUES in docs/import.md), committed with the file's checkpoint in one transaction, so a
// crash loses only batches not yet committed and `--resume` continues after the last committed line.
// Batches are checked and encrypted in worker threads (import-worker.ts) while earlier ones commit, in order.
import { availableParallelism } from 'node:os';
import { closeSync, fstatSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { Db, Queryable } from '../store/db.ts';
import type { IdentityKeys } from '../identity/protect.ts';
import { parseCsvHeader, readLines, ImportInputError, type ImportFormat, type InputLine, type Refusal } from './import-input.ts';
import { startPreparers, type Prepared } from './import-worker.ts';

export { ImportInputError, type ImportFormat, type Refusal };

export interface ImportOptions {
  file: string;
  format?: ImportFormat; // default: from the extension (.csv), else JSON lines
  batchSize: number;
  resume: boolean;
  progressEvery: number; // lines
  workers?: number; // threads checking and encrypting rows; default: one per core (at most 8)
}

export interface ImportCounts { lines: number; inserted: number; present: number; rejected: number }

export interface ImportProgress extends ImportCounts { rowsPerSecond: number }

export interface ImportReport extends ImportCounts {
  /** Line the run started after (0 = from the start), and whether the checkpoint said it was already done. */
  resumedAfter: number;
  alreadyFinished: boolean;
  seconds: number;
  rowsPerSecond: number; // lines handled by this run per second
  rejectedFile: string | undefined; // absent when nothing was ever refused
}

export interface ImportEvents {
  progress?(p: ImportProgress): void;
  refused?(r: Refusal): void;
}

interface Checkpoint extends ImportCounts { format: ImportFormat; lastOffset: number; rejectedBytes: number; finished: boolean }

interface FileKey { path: string; size: string; mtimeNs: string }

async function fileKey(file: string): Promise<FileKey> {
  const path = await realpath(file).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new ImportInputError(`${file}: no such file`) : err;
  });
  const s = await stat(path, { bigint: true });
  if (!s.isFile()) throw new ImportInputError(`${file}: not a regular file`);
  return { path, size: String(s.size), mtimeNs: String(s.mtimeNs) };
}

const KEY_WHERE = 'file_path = $1 AND file_size = $2 AND file_mtime_ns = $3';
const keyParams = (k: FileKey) => [k.path, k.size, k.mtimeNs];

async function startCheckpoint(db: Db, key: FileKey, format: ImportFormat): Promise<Checkpoint> {
  await db.query(
    `INSERT INTO account_imports (file_path, file_size, file_mtime_ns, format) VALUES ($1, $2, $3, $4)
     ON CONFLICT (file_path, file_size, file_mtime_ns) DO UPDATE SET format = $4, last_line = 0, last_offset = 0,
       rejected_bytes = 0, inserted = 0, present = 0, rejected = 0, started_at = now(), updated_at = now(), finished_at = NULL`,
    [...keyParams(key), format]);
  return { format, lines: 0, inserted: 0, present: 0, rejected: 0, lastOffset: 0, rejectedBytes: 0, finished: false };
}

async function loadCheckpoint(db: Db, key: FileKey): Promise<Checkpoint | undefined> {
  const [row] = await db.query<{ format: ImportFormat; last_line: number; last_offset: number; rejected_bytes: number; inserted: number; present: number; rejected: number; finished: boolean }>(
    `SELECT format, last_line, last_offset, rejected_bytes, inserted, present, rejected, finished_at IS NOT NULL AS finished
     FROM account_imports WHERE ${KEY_WHERE}`, keyParams(key));
  return row && {
    format: row.format, lines: row.last_line, lastOffset: row.last_offset, rejectedBytes: row.rejected_bytes,
    inserted: row.inserted, present: row.present, rejected: row.rejected, finished: row.finished,
  };
}

const INSERT = `WITH inserted AS (
  INSERT INTO accounts (id, id_type, id_index, id_ciphertext, id_masked, name, gender, birthdate, phone, password_hash)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::date[], $9::text[], $10::text[])
  ON CONFLICT (id_index) DO NOTHING
  RETURNING 1
) SELECT count(*)::int AS n FROM inserted`;

/** A prepared batch and where it ends: the checkpoint it moves to once committed. */
interface Batch extends Prepared { lastLine: number; lastOffset: number; rejectedBytes: number }

/** Inserts the batch and moves the checkpoint in one transaction; returns how many accounts were new. */
async function commitBatch(db: Db, key: FileKey, batch: Batch, expectedLine: number): Promise<number> {
  return db.transaction(async (tx: Queryable) => {
    const inserted = batch.rows
      ? (await tx.query<{ n: number }>(INSERT, [...batch.text, batch.birthdates, batch.phones, batch.hashes]))[0]!.n
      : 0;
    const moved = await tx.query(
      `UPDATE account_imports SET last_line = $4, last_offset = $5, rejected_bytes = $6, inserted = inserted + $7,
         present = present + $8, rejected = rejected + $9, updated_at = now()
       WHERE ${KEY_WHERE} AND last_line = $10 RETURNING 1`,
      [...keyParams(key), batch.lastLine, batch.lastOffset, batch.rejectedBytes, inserted, batch.rows - inserted, batch.refusals.length, expectedLine]);
    // Someone else restarted or advanced this file's import: ours is no longer the one the checkpoint describes.
    if (!moved.length) throw new ImportInputError('another import of this file moved its checkpoint; stopping (nothing from this batch was kept)');
    return inserted;
  });
}

/** The refusal report next to the input: truncated to what the checkpoint covers when resuming. */
function openRejectedFile(path: string, keepBytes: number): { fd: number; position: number } {
  if (keepBytes === 0) return { fd: openSync(path, 'w', 0o600), position: 0 };
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    fd = openSync(path, 'w', 0o600);
  }
  const size = fstatSync(fd).size;
  if (size > keepBytes) ftruncateSync(fd, keepBytes);
  return { fd, position: Math.min(size, keepBytes) };
}

export function defaultFormat(file: string): ImportFormat {
  return /\.csv$/i.test(file) ? 'csv' : 'jsonl';
}

async function firstLine(path: string): Promise<InputLine | undefined> {
  for await (const lines of readLines(path)) return lines[0];
  return undefined;
}

/** Where this run starts: the stored checkpoint with --resume (fail closed when there is none), else line 0. */
async function checkpointFor(db: Db, key: FileKey, options: ImportOptions): Promise<Checkpoint> {
  if (!options.resume) return startCheckpoint(db, key, options.format ?? defaultFormat(options.file));
  const found = await loadCheckpoint(db, key);
  if (!found) throw new ImportInputError(`${options.file}: no checkpoint to resume (none for this path, size and modification time); run without --resume to start from the beginning`);
  if (options.format && options.format !== found.format) throw new ImportInputError(`--format ${options.format}: this import was started as ${found.format}`);
  return found;
}

export async function importAccounts(db: Db, keys: IdentityKeys, options: ImportOptions, events: ImportEvents = {}): Promise<ImportReport> {
  const started = Date.now();
  const key = await fileKey(options.file);
  const rejectedPath = `${options.file}.rejected.jsonl`;
  const checkpoint = await checkpointFor(db, key, options);
  const report = (alreadyFinished: boolean, from: number): ImportReport => {
    const seconds = (Date.now() - started) / 1000;
    return {
      lines: checkpoint.lines, inserted: checkpoint.inserted, present: checkpoint.present, rejected: checkpoint.rejected,
      resumedAfter: from, alreadyFinished, seconds, rowsPerSecond: (checkpoint.lines - from) / Math.max(seconds, 1e-3),
      rejectedFile: checkpoint.rejected ? rejectedPath : undefined,
    };
  };
  const resumedAfter = checkpoint.lines;
  if (checkpoint.finished) return report(true, resumedAfter);

  const format = checkpoint.format;
  let columns: string[] = [];
  if (format === 'csv' && checkpoint.lines > 0) {
    const header = await firstLine(key.path);
    columns = parseCsvHeader(header?.text ?? '');
  }
  const today = new Date();
  const out = openRejectedFile(rejectedPath, checkpoint.rejectedBytes);
  const workers = options.workers ?? Math.min(availableParallelism(), 8);
  const preparers = startPreparers(keys, today, workers);
  let reportedAt = Math.floor(checkpoint.lines / options.progressEvery);

  let committing: Promise<void> = Promise.resolve();
  const commit = async (batch: Batch) => {
    const inserted = await commitBatch(db, key, batch, checkpoint.lines);
    Object.assign(checkpoint, {
      lines: batch.lastLine, lastOffset: batch.lastOffset, rejectedBytes: batch.rejectedBytes, inserted: checkpoint.inserted + inserted,
      present: checkpoint.present + batch.rows - inserted, rejected: checkpoint.rejected + batch.refusals.length,
    });
    const step = Math.floor(checkpoint.lines / options.progressEvery);
    if (step > reportedAt) {
      reportedAt = step;
      events.progress?.(report(false, resumedAfter));
    }
  };
  // Batches being prepared, oldest first; each is committed in file order once ready. Refusals reach
  // the report file before the batch that covers them commits: the checkpoint never counts report
  // lines that are not on disk, and a resume cuts off the ones it does not count.
  const preparing: Promise<Batch>[] = [];
  const commitOldest = async () => {
    const batch = await preparing.shift()!;
    if (batch.refusals.length) {
      out.position += writeSync(out.fd, batch.refusals.map((r) => `${JSON.stringify(r)}\n`).join(''), out.position);
      for (const r of batch.refusals) events.refused?.(r);
    }
    batch.rejectedBytes = out.position;
    await committing;
    committing = commit(batch);
    committing.catch(() => {}); // awaited later; this only marks it handled meanwhile
  };
  let lines: InputLine[] = [];
  let last = { line: checkpoint.lines, offset: checkpoint.lastOffset }; // the last line read
  let dispatched = checkpoint.lines; // the last line handed to a worker (or skipped as blank or header)
  const dispatch = async () => {
    const end = last;
    const batch = preparers.prepare({ lines, format, columns }).then((p) => ({ ...p, lastLine: end.line, lastOffset: end.offset, rejectedBytes: 0 }));
    batch.catch(() => {}); // awaited in commitOldest; this only marks it handled meanwhile
    preparing.push(batch);
    lines = [];
    dispatched = end.line;
    if (preparing.length > 2 * workers) await commitOldest();
  };

  try {
    for await (const chunk of readLines(key.path, checkpoint.lastOffset, checkpoint.lines + 1)) {
      for (const line of chunk) {
        last = { line: line.no, offset: line.end };
        if (format === 'csv' && line.no === 1) columns = parseCsvHeader(line.text);
        else if (line.text.trim() !== '' || line.overlong) lines.push(line);
        if (lines.length >= options.batchSize) await dispatch();
      }
    }
    if (format === 'csv' && columns.length === 0) throw new ImportInputError(`${options.file}: empty CSV file (no header line)`);
    if (last.line > dispatched) await dispatch(); // the rest, even if only blank lines: the checkpoint covers them too
    while (preparing.length) await commitOldest();
    await committing;
    await db.query(`UPDATE account_imports SET finished_at = now(), updated_at = now() WHERE ${KEY_WHERE}`, keyParams(key));
  } finally {
    await Promise.allSettled([committing, ...preparing]);
    await preparers.close();
    closeSync(out.fd);
  }
  if (checkpoint.rejected === 0 && out.position === 0) unlinkSync(rejectedPath);
  return report(false, resumedAfter);
}
