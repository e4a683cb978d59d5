// Real PostgreSQL and Redis servers for tests, started from the machine's binaries in throw-away
// directories on free loopback ports. Durability is switched off: the data lives for one test run.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface Server {
  url: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, child: ChildProcess, log: () => string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during start-up:\n${log()}`);
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${log()}`);
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

/** Spawns a server whose output is kept (last 8 kB) for error messages; an unread pipe would block it. */
function launch(cmd: string, args: string[], options: { uid?: number; gid?: number } = {}) {
  const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-8192); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, log: () => output };
}

/** Signals the server and waits for it to exit; kills it if it does not within 10 s. */
async function terminate(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Stops the server and removes its directory. A detached shell watches this process meanwhile: if the
 * runner dies without teardown (even SIGKILL), it does the same, so no server or directory outlives the run.
 */
function managed(current: () => ChildProcess, dir: string, signal: 'INT' | 'TERM', pidExpr = String(current().pid)): () => Promise<void> {
  const pid = '$pid';
  const reaper = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
    pid=${pidExpr}
    kill -${signal} ${pid} 2>/dev/null
    for i in $(seq 50); do kill -0 ${pid} 2>/dev/null || break; sleep 0.2; done
    kill -KILL ${pid} 2>/dev/null; rm -rf '${dir}'`], { detached: true, stdio: 'ignore' });
  reaper.unref();
  return async () => {
    reaper.kill();
    await terminate(current(), `SIG${signal}`);
    rmSync(dir, { recursive: true, force: true });
  };
}

function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) throw new Error(`no PostgreSQL binaries under ${base}/*/bin`);
  return join(base, versions[0], 'bin');
}

/** initdb and postgres refuse to run as root: run them as the `postgres` system user (created if missing). */
function postgresIdentity(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

export interface PostgresOptions {
  /** PostgreSQL's own cache. Tests keep the small default; benchmarks pass a realistic size (bench/storage.ts, bench/import.ts). */
  sharedBuffers?: string;
}

export interface RestartableServer extends Server {
  /** Stops the server (fast shutdown) but keeps its data, like a database host going down for a while. */
  halt(): Promise<void>;
  /** Starts it again on the same port and data. */
  resume(): Promise<void>;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<RestartableServer> {
  const bin = postgresBinDir();
  const who = postgresIdentity();
  const dir = mkdtempSync(join(tmpdir(), 'yihao-pg-'));
  if (who.uid !== undefined) chownSync(dir, who.uid, who.gid!);
  const data = join(dir, 'data');
  try {
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      { ...who, stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }
  const port = await freePort();
  const start = async () => {
    const { child, log } = launch(join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-k', dir,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', `shared_buffers=${options.sharedBuffers ?? '32MB'}`, '-c', 'max_connections=200', '-c', 'max_wal_size=256MB',
    ], who);
    await waitFor('postgres', async () => {
      execFileSync(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      return true;
    }, child, log).catch(async (err) => {
      await terminate(child, 'SIGINT');
      throw err;
    });
    return child;
  };
  let child = await start().catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  // The reaper reads the running postmaster's pid from its data directory, so it finds a resumed server too.
  const stop = managed(() => child, dir, 'INT', `$(head -1 '${data}/postmaster.pid' 2>/dev/null)`);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop,
    halt: () => terminate(child, 'SIGINT'), // SIGINT = fast shutdown
    async resume() { child = await start(); },
  };
}

/** Creates a fresh database (name made unique with a random suffix) and returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const db = `${name.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${db}" TEMPLATE template0`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  return url.toString();
}

async function redisServerPath(timeoutMs = 300_000): Promise<string> {
  // CI may still be installing it with apt when the run starts.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return execFileSync('which', ['redis-server'], { encoding: 'utf8' }).trim();
    } catch {
      if (Date.now() > deadline) throw new Error('redis-server not found on PATH');
      await sleep(2000);
    }
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1000, () => { socket.destroy(); resolve(false); });
    socket.once('data', (d) => { socket.destroy(); resolve(d.toString().startsWith('+PONG')); });
    socket.once('error', () => resolve(false));
  });
}

export async function startRedis(o: { replicaOf?: number } = {}): Promise<Server & { port: number }> {
  const exe = await redisServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'yihao-redis-'));
  const port = await freePort();
  const { child, log } = launch(exe, [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no',
    ...(o.replicaOf ? ['--replicaof', '127.0.0.1', String(o.replicaOf)] : []),
  ]);
  const stop = managed(() => child, dir, 'TERM');
  try {
    await waitFor('redis-server', () => ping(port), child, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

/** A Redis Sentinel (redis-server --sentinel) watching the primary on primaryPort as group `name`, quorum 1. */
export async function startRedisSentinel(primaryPort: number, name: string): Promise<Server & { port: number }> {
  const exe = await redisServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'yihao-sentinel-'));
  const port = await freePort();
  // Sentinel rewrites its configuration file as it learns the group: it must be its own, writable.
  writeFileSync(join(dir, 'sentinel.conf'), [
    `port ${port}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 5000`, '',
  ].join('\n'));
  const { child, log } = launch(exe, [join(dir, 'sentinel.conf'), '--sentinel']);
  const stop = managed(() => child, dir, 'TERM');
  try {
    await waitFor('redis sentinel', () => ping(port), child, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis-sentinel://127.0.0.1:${port}/${name}`, port, stop };
}
