// The system of record behind one small interface: a pg Pool (PostgreSQL) or PGlite (embedded PostgreSQL).
// Both speak the same SQL, so migrations and queries are written once.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import pg from 'pg';

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn inside BEGIN … COMMIT on one connection; rolls back when fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations); no parameters. */
  exec(sql: string): Promise<void>;
  /** Runs fn while holding a session-level advisory lock on one connection. */
  withAdvisoryLock<T>(key: number, fn: (conn: Queryable & { exec(sql: string): Promise<void> }) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// bigint (int8) and numeric come back as strings by default; counts and ids here fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

/** `applicationName` names the connections in pg_stat_activity (for operators: which are the drainer's). */
export function createPostgresDb(connectionString: string, options: { max?: number; applicationName?: string } = {}): Db {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, application_name: options.applicationName });
  // An idle client that loses its server must not crash the process.
  pool.on('error', () => {});
  const wrap = (c: pg.PoolClient) => ({
    query: async <R,>(sql: string, params?: unknown[]) => (await c.query(sql, params)).rows as R[],
    exec: async (sql: string) => { await c.query(sql); },
  });
  return {
    kind: 'postgres',
    async query<R>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params)).rows as R[];
    },
    async exec(sql) { await pool.query(sql); },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async withAdvisoryLock(key, fn) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [key]);
        try {
          return await fn(wrap(client));
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
        }
      } finally {
        client.release();
      }
    },
    async close() { await pool.end(); },
  };
}

/** Another live process has the embedded database open: a second one would corrupt it. */
export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(`the embedded database in ${dataDir} is in use by process ${pid} (a running yihao?): PGlite serves one process at a time. `
      + 'Stop that process first, or run yihao on PostgreSQL (DATABASE_URL) to use the CLI beside a running server');
    this.name = 'DataDirInUseError';
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

// Held by this process, counted: tests may open the same directory twice in one process, one after another.
const held = new Map<string, number>();

/**
 * An exclusive lock next to the data directory (`<dir>.lock`, holding the owner's pid). It appears with its
 * content in one step (written aside, then hard-linked: link fails if the name exists), so nobody reads
 * an empty lock. A dead owner's lock is moved aside under a name of our own before it is judged, so two
 * processes recovering it at once cannot both win: the second finds nothing to move and tries again.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = `${dataDir}.lock`;
  const release = async () => {
    const n = (held.get(file) ?? 1) - 1;
    if (n > 0) return void held.set(file, n);
    held.delete(file);
    await rm(file, { force: true });
  };
  if (held.has(file)) {
    held.set(file, held.get(file)! + 1);
    return release;
  }
  const mine = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(mine, String(process.pid), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(mine, file);
        held.set(file, 1);
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (owner > 0 && owner !== process.pid && alive(owner)) throw new DataDirInUseError(dataDir, owner);
      // Dead (or unreadable: a lock from before this format). Move it aside, then look at what we moved.
      const aside = `${mine}.stale`;
      try {
        await rename(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else moved it: try again
        throw err;
      }
      const moved = Number((await readFile(aside, 'utf8').catch(() => '')).trim());
      if (moved > 0 && moved !== owner && alive(moved)) {
        // Between our look and our move, another process had taken over: put its lock back.
        await link(aside, file).catch(() => {});
        await rm(aside, { force: true });
        throw new DataDirInUseError(dataDir, moved);
      }
      await rm(aside, { force: true });
    }
    throw new Error(`could not lock ${dataDir}: its lock file keeps changing`);
  } finally {
    await rm(mine, { force: true });
  }
}

export async function createPgliteDb(dataDir: string): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(dataDir);
  const lite = await PGlite.create(dataDir).catch(async (err: unknown) => {
    await unlock();
    throw err;
  });
  // PGlite is one connection: serialise transactions so concurrent requests cannot interleave inside one.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T,>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };
  const query = async <R,>(sql: string, params?: unknown[]) => (await lite.query<R>(sql, params)).rows;
  const exec = async (sql: string) => { await lite.exec(sql); };
  return {
    kind: 'pglite',
    query: (sql, params) => serial(() => query(sql, params)),
    exec: (sql) => serial(() => exec(sql)),
    transaction: (fn) => serial(() => lite.transaction((tx) => fn({
      query: async <R,>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params)).rows,
    }))),
    withAdvisoryLock: (_key, fn) => serial(() => fn({ query, exec })),
    async close() {
      try {
        await lite.close();
      } finally {
        await unlock();
      }
    },
  };
}
