// A real Apache httpd for end-to-end tests of legacy integrations (mod_auth_openidc, mod_auth_cas):
// its own ServerRoot, PID file, logs and runtime files in a temporary directory, one loopback port,
// modules loaded explicitly. The system Apache service is never touched.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { freePort } from './yihao.ts';

/** What the echo app answers: the path and the request headers Apache passed on. */
export interface Echo { path: string; headers: Record<string, string> }

/** A legacy app behind the proxy: trusts whatever the proxy puts in the request headers and echoes them. */
export async function startEchoApp(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const server = createServer((req, res) => {
    const headers: Record<string, string> = {};
    // Header names as Apache sent them (Node lower-cases req.headers); values are raw bytes, which
    // Node hands over as Latin-1: read them back as the UTF-8 the modules send.
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers[req.rawHeaders[i]!] = Buffer.from(req.rawHeaders[i + 1]!, 'latin1').toString('utf8');
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ path: req.url ?? '', headers } satisfies Echo));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

export const APACHE_BIN = '/usr/sbin/apache2';
export const APACHE_MODULES_DIR = '/usr/lib/apache2/modules';

// Enough to serve and authorize a request; callers add what their test needs (auth_openidc, proxy…).
const BASE_MODULES = ['mpm_event', 'authn_core', 'authz_core', 'authz_user'];

export interface ApacheContext {
  /** The loopback port Apache listens on. */
  port: number;
  /** The instance's private directory (ServerRoot). */
  dir: string;
  /** A directory inside it that Apache's children can write to (module caches, CASCookiePath…). */
  dataDir: string;
}

export interface StartApacheOptions {
  /** Configuration appended after the base (ports, logs, PID file, modules); may use the port and dir. */
  config: string | ((ctx: ApacheContext) => string);
  /** Module names beyond the base, as in `mod_<name>.so` (e.g. `auth_openidc`, `proxy`, `proxy_http`). */
  modules?: string[];
  /** A port chosen beforehand (freePort), when the port must be known before Apache starts — e.g. to register the client. */
  port?: number;
  /** Apache's LogLevel, e.g. `warn auth_openidc:debug` when investigating. */
  logLevel?: string;
}

export interface RunningApache {
  port: number;
  /** http://localhost:<port> (the host name the browser and the provider use). */
  url: string;
  dir: string;
  /** The error log so far: attach it to assertion messages. */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => { output += c; });
    child.stderr.on('data', (c) => { output += c; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** uid and gid of the account Apache's children switch to when started as root. */
function childUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error(`no user ${name} on this machine (the apache2 package creates it)`);
  return { uid: Number(uid), gid: Number(gid) };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function baseConfig(ctx: ApacheContext, o: { modules: string[]; logLevel: string; asRoot: boolean }): string[] {
  return [
    `ServerRoot "${ctx.dir}"`,
    `DefaultRuntimeDir "${ctx.dir}"`,
    `PidFile "${ctx.dir}/httpd.pid"`,
    `ErrorLog "${ctx.dir}/error.log"`,
    `LogLevel ${o.logLevel}`,
    `Listen 127.0.0.1:${ctx.port}`,
    `ServerName localhost:${ctx.port}`,
    ...(o.asRoot ? ['User www-data', 'Group www-data'] : []),
    // Small: tests send a handful of requests.
    'StartServers 1',
    'ServerLimit 2',
    'ThreadsPerChild 16',
    'MaxRequestWorkers 32',
    ...o.modules.map((m) => `LoadModule ${m}_module ${APACHE_MODULES_DIR}/mod_${m}.so`),
    `DocumentRoot "${ctx.dir}/htdocs"`,
    '<Directory />',
    '  Require all denied',
    '</Directory>',
  ];
}

export async function startApache(options: StartApacheOptions): Promise<RunningApache> {
  if (!existsSync(APACHE_BIN)) {
    throw new Error(`${APACHE_BIN} not found: install apache2 and the modules (.ci/run lists them in APT_PACKAGES)`);
  }
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(`${tmpdir()}/yihao-apache-`);
  const pidFile = `${dir}/httpd.pid`;
  const errorLog = async () => readFile(`${dir}/error.log`, 'utf8').catch(() => '');
  let pid: number | undefined;

  // Last resort when the test process ends without running its afterAll (a crash, a killed worker).
  const killOnExit = () => {
    const p = pid ?? readPid(pidFile);
    // SIGTERM, not SIGKILL: the parent must take its children down with it.
    if (p && alive(p)) process.kill(p, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    process.off('exit', killOnExit);
    pid ??= readPid(pidFile);
    if (pid && alive(pid)) {
      // SIGTERM is `apache2 -k stop`: the parent stops its children and removes the PID file.
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 5000;
      while (alive(pid) && Date.now() < deadline) await sleep(50);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  try {
    // Apache's children drop to www-data when started as root: they must reach files in here.
    await chmod(dir, 0o755);
    await mkdir(`${dir}/htdocs`);
    const ctx: ApacheContext = { port: options.port ?? (await freePort()), dir, dataDir: `${dir}/data` };
    await mkdir(ctx.dataDir, { mode: 0o700 });
    if (asRoot) {
      const { uid, gid } = childUser('www-data');
      await chown(ctx.dataDir, uid, gid);
    }
    const modules = [...new Set([...BASE_MODULES, ...(options.modules ?? [])])];
    const conf = [
      ...baseConfig(ctx, { modules, logLevel: options.logLevel ?? 'warn', asRoot }),
      typeof options.config === 'function' ? options.config(ctx) : options.config,
      '',
    ].join('\n');
    const confFile = `${dir}/httpd.conf`;
    await writeFile(confFile, conf);

    const started = await run(APACHE_BIN, ['-d', dir, '-f', confFile, '-k', 'start']);
    if (started.code !== 0) throw new Error(`apache2 -k start exited with ${started.code}:\n${started.output}\n${await errorLog()}`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      pid ??= readPid(pidFile);
      if (pid && (await accepts(ctx.port))) break;
      if (Date.now() > deadline) throw new Error(`apache2 not ready on port ${ctx.port}:\n${await errorLog()}`);
      await sleep(50);
    }
    return { port: ctx.port, url: `http://localhost:${ctx.port}`, dir, errorLog, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
