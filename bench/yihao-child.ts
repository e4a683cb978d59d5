// Starts bench/server.ts in a child process with a clean environment and its own temporary
// directory, waits for its ready line, and tallies the warnings and errors it logs.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { READY_PREFIX } from './fixtures.ts';
import { onCleanup } from './cleanup.ts';

export interface ReadyInfo {
  pid: number; port: number; issuer: string; citizens: number; threadpool: number;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  storage: { database: string; shortLived: string };
}

export interface BenchServer {
  info: ReadyInfo;
  pid: number;
  alive(): boolean;
  /** Warnings and errors logged since the last call, counted by message. */
  takeLogTally(): Record<string, number>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface ServerOptions {
  storageEnv: Record<string, string>;
  citizens: number;
  /** Directory for a V8 CPU profile of the server (node --cpu-prof), written when it stops. */
  profileDir?: string;
  timeoutMs?: number;
}

export async function startBenchServer(o: ServerOptions): Promise<BenchServer> {
  const { storageEnv, citizens, profileDir, timeoutMs = 180_000 } = o;
  const dir = await mkdtemp(`${tmpdir()}/yihao-bench-`);
  // If the runner is killed outright, the child still exits (its stdin closes) and this removes the directory.
  const reaper = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; sleep 3; rm -rf '${dir}'`],
    { detached: true, stdio: 'ignore' });
  reaper.unref();
  const removeDir = onCleanup(`temporary directory ${dir}`, async () => {
    reaper.kill();
    await rm(dir, { recursive: true, force: true });
  });

  const port = await freePort();
  // Only what yihao needs: nothing from the caller's shell (a stray DATABASE_URL) leaks in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    PORT: String(port),
    DATA_DIR: `${dir}/data`,
    CLIENTS_DIR: `${dir}/clients`,
    KEYS_DIR: `${dir}/keys`,
    LOG_LEVEL: 'warn', // production-like: per-request info lines off, warnings and errors on
    BENCH_CITIZENS: String(citizens),
    ...storageEnv,
  };
  const child = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), SERVER], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;

  const stopChild = onCleanup(`yihao server (pid ${child.pid})`, async () => {
    if (!alive()) return;
    child.stdin.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });

  let tally: Record<string, number> = {};
  let stderrTail = '';
  // Minified library source in a stack trace can be one line of kilobytes: keep the start of each line.
  createInterface({ input: child.stderr }).on('line', (line) => { stderrTail = `${stderrTail}${line.slice(0, 300)}\n`.slice(-4000); });
  const ready = new Promise<ReadyInfo>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(READY_PREFIX)) return resolve(JSON.parse(line.slice(READY_PREFIX.length)) as ReadyInfo);
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        const key = `${entry.level} ${entry.msg}${entry.error ? ` (${entry.error})` : ''}`;
        tally[key] = (tally[key] ?? 0) + 1;
      } catch {
        tally[`stdout: ${line.slice(0, 120)}`] = (tally[`stdout: ${line.slice(0, 120)}`] ?? 0) + 1;
      }
    });
    void exited.then(() => reject(new Error(`bench server exited during start-up (code ${child.exitCode}):\n${stderrTail}`)));
    setTimeout(() => reject(new Error(`bench server not ready after ${timeoutMs} ms:\n${stderrTail}`)), timeoutMs).unref();
  });

  try {
    const info = await ready;
    return {
      info, pid: child.pid!, alive,
      takeLogTally() {
        const t = tally;
        tally = {};
        return t;
      },
      async stop() {
        await stopChild();
        await removeDir();
      },
    };
  } catch (err) {
    await stopChild();
    await removeDir();
    throw err;
  }
}
