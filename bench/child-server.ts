// A server under measurement in its own process (yihao, or the bare-library ceiling): spawned with a
// clean environment and its own temporary directory, ready when it prints one line starting with
// READY_PREFIX (JSON follows); its warnings and errors are tallied per row. Stopped by the runner,
// on Ctrl-C and, if the runner is killed outright, by a reaper (the child's stdin closes, so it exits).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { READY_PREFIX } from './fixtures.ts';
import { onCleanup } from './cleanup.ts';

export interface ChildServer<Info> {
  info: Info;
  pid: number;
  /** The child's temporary directory (removed when it stops). */
  dir: string;
  alive(): boolean;
  /** Warnings and errors logged since the last call, counted by message. */
  takeLogTally(): Record<string, number>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** Only what a server needs from the caller's shell: nothing else (a stray DATABASE_URL) leaks in. */
export function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
  };
}

export interface ChildOptions {
  /** For messages: "yihao server", "ceiling server". */
  name: string;
  /** The script to run with this Node, relative to bench/ or absolute. */
  script: string;
  /** The environment, given the child's own temporary directory and a free port. */
  env(dir: string, port: number): Record<string, string>;
  /** Directory for a V8 CPU profile of the child (node --cpu-prof), written when it stops. */
  profileDir?: string;
  timeoutMs?: number;
}

export async function startChildServer<Info>(o: ChildOptions): Promise<ChildServer<Info>> {
  const { name, profileDir, timeoutMs = 180_000 } = o;
  const dir = await mkdtemp(`${tmpdir()}/yihao-bench-`);
  const reaper = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; sleep 3; rm -rf '${dir}'`],
    { detached: true, stdio: 'ignore' });
  reaper.unref();
  const removeDir = onCleanup(`temporary directory ${dir}`, async () => {
    reaper.kill();
    await rm(dir, { recursive: true, force: true });
  });

  const script = fileURLToPath(new URL(o.script, import.meta.url));
  const env = o.env(dir, await freePort());
  const child = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), script],
    { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;

  const stopChild = onCleanup(`${name} (pid ${child.pid})`, async () => {
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
  const ready = new Promise<Info>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(READY_PREFIX)) return resolve(JSON.parse(line.slice(READY_PREFIX.length)) as Info);
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        const key = `${entry.level} ${entry.msg}${entry.error ? ` (${entry.error})` : ''}`;
        tally[key] = (tally[key] ?? 0) + 1;
      } catch {
        tally[`stdout: ${line.slice(0, 120)}`] = (tally[`stdout: ${line.slice(0, 120)}`] ?? 0) + 1;
      }
    });
    void exited.then(() => reject(new Error(`${name} exited during start-up (code ${child.exitCode}):\n${stderrTail}`)));
    setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${stderrTail}`)), timeoutMs).unref();
  });

  try {
    const info = await ready;
    return {
      info, pid: child.pid!, dir, alive,
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
