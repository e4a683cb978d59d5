// Cluster mode as an operator runs it: `yihao start --workers 2`, a real primary with real workers, on the
// test PostgreSQL + Redis. Requests go over fresh connections, so the primary hands them to both workers;
// which worker answered is read from the debug request log (worker pid on every line), never a header.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir, availableParallelism, getPriority } from 'node:os';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase } from '../support/servers.ts';
import { freePort } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, finish, submitLogin, oidc, type RpClient } from '../support/relying-party.ts';
import { RestartBudget } from '../../src/cluster.ts';
import { POOL_NICE } from '../../src/accounts/hash-threads.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** fetch over a new TCP connection each time (`Connection: close`): the primary spreads connections, not requests. */
async function freshConnectionFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const req = new Request(input, init);
  const body = req.body ? Buffer.from(await req.arrayBuffer()) : undefined;
  return new Promise((resolve, reject) => {
    const headers = { ...Object.fromEntries(req.headers), connection: 'close', ...(body ? { 'content-length': String(body.length) } : {}) };
    const r = request(req.url, { method: req.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const status = res.statusCode ?? 0;
        resolve(new Response([101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers: h }));
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.setTimeout(5000, () => r.destroy(new Error(`no answer in 5 s: ${req.method} ${req.url}`)));
    r.end(body);
  });
}

/** Live children of a process, from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid && state !== 'Z') out.push(Number(name));
    } catch { /* gone meanwhile */ }
  }
  return out.sort();
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface LogLine { msg: string; level: string; pid?: number; worker?: number; path?: string; status?: number; clientId?: string; [k: string]: unknown }

describe('cluster mode: yihao start --workers 2 on PostgreSQL + Redis', () => {
  let dir: string;
  let env: Record<string, string>;
  let primary: ChildProcess;
  let exited: Promise<{ code: number | null; signal: string | null }>;
  let stdout = '';
  let stderr = '';
  const logs: LogLine[] = [];
  let issuer: string;
  let demo: { idNumber: string; password: string };
  const realFetch = globalThis.fetch;
  const TAX: RpClient = { id: 'tax', secret: 't'.repeat(40), redirectUri: 'http://localhost:4000/tax/cb', postLogoutUri: 'http://localhost:4000/tax/' };
  const registration = (c: RpClient, name: string) => ({
    client_id: c.id, client_secret: c.secret, client_name: name, department: '测试', first_party: true,
    redirect_uris: [c.redirectUri], post_logout_redirect_uris: [c.postLogoutUri],
    grant_types: ['authorization_code', 'refresh_token'], allowed_scopes: ['openid', 'profile', 'offline_access'],
  });
  const PENSION: RpClient = { id: 'pension', secret: 'p'.repeat(40), redirectUri: 'http://localhost:4000/pension/cb', postLogoutUri: 'http://localhost:4000/pension/' };

  /** Request log lines (worker pid + path) logged after `mark`. */
  const requestsSince = (mark: number) => logs.slice(mark).filter((l) => l.msg === 'request');
  const workerPids = () => childrenOf(primary.pid!);

  beforeAll(async () => {
    dir = await mkdtemp(`${tmpdir()}/yihao-cluster-`);
    await mkdir(`${dir}/clients`);
    await writeFile(`${dir}/clients/tax.json`, JSON.stringify(registration(TAX, '税务')));
    await writeFile(`${dir}/clients/pension.json`, JSON.stringify(registration(PENSION, '养老')));
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    env = {
      PORT: String(port), DATA_DIR: `${dir}/data`, KEYS_DIR: `${dir}/keys`, CLIENTS_DIR: `${dir}/clients`,
      DATABASE_URL: await createDatabase(inject('postgresUrl'), `cluster_${randomBytes(4).toString('hex')}`),
      REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: `c${randomBytes(4).toString('hex')}:`,
      LOG_LEVEL: 'debug', ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1',
    };
    primary = spawn(process.execPath, ['bin/yihao.js', 'start', '--workers', '2'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((r) => primary.once('exit', (code, signal) => r({ code, signal })));
    let partial = '';
    primary.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk;
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine);
      }
    });
    primary.stderr!.on('data', (chunk: Buffer) => { stderr += chunk; });
    await until('yihao listening', () => logs.some((l) => l.msg === 'yihao listening') || primary.exitCode !== null, 40_000);
    // The banner follows the log line and may arrive in a later chunk of the pipe.
    await until('demo citizen', () => /Password:\s+\S+/.test(stdout) || primary.exitCode !== null, 10_000);
    if (primary.exitCode !== null) throw new Error(`yihao start exited (${primary.exitCode}):\n${stdout}\n${stderr}`);
    const printed = /ID number: (\S+)\s+Password:\s+(\S+)/.exec(stdout);
    if (!printed) throw new Error(`no demo citizen in:\n${stdout}`);
    demo = { idNumber: printed[1]!, password: printed[2]! };
    globalThis.fetch = freshConnectionFetch as typeof fetch;
  }, 60_000);

  afterAll(async () => {
    globalThis.fetch = realFetch;
    // Normally the last test has stopped it; after a failure, do not leave processes behind.
    if (primary && primary.exitCode === null && primary.signalCode === null) {
      const pids = workerPids();
      primary.kill('SIGKILL');
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('forks two workers, and prints the summary and the demo citizen once', async () => {
    const listening = await until('both workers listening', () => {
      const l = logs.filter((x) => x.msg === 'worker listening');
      return l.length === 2 && l;
    });
    expect(new Set(listening.map((l) => l.pid)).size).toBe(2);
    expect(workerPids()).toEqual(listening.map((l) => l.pid).sort());
    expect(logs.filter((l) => l.msg === 'yihao listening')).toEqual([expect.objectContaining({ processes: 2, storage: 'PostgreSQL + Redis' })]);
    expect(stdout.match(/Demo citizen/g)).toHaveLength(1);
    // Client files were applied once, by the primary.
    expect(logs.filter((l) => l.msg === 'client').map((l) => l.clientId).sort()).toEqual(['pension', 'tax']);
  });

  it('divides password hashing among the workers, whose thread pools run below their event loops', () => {
    for (const pid of workerPids()) {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      expect(env).toContain(`YIHAO_HASH_SLOTS=${Math.ceil(availableParallelism() / 2)}`);
      const pool = readdirSync(`/proc/${pid}/task`).filter((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'libuv-worker');
      expect(pool.length).toBeGreaterThan(0);
      for (const tid of pool) expect(getPriority(Number(tid))).toBe(POOL_NICE);
      expect(getPriority(pid)).toBe(0);
    }
  });

  it('hands fresh connections to both workers', async () => {
    const mark = logs.length;
    for (let i = 0; i < 6; i++) expect((await fetch(`${issuer}/.well-known/openid-configuration`)).status).toBe(200);
    const served = await until('six request lines', () => requestsSince(mark).length >= 6 && requestsSince(mark));
    expect(new Set(served.map((l) => l.pid)).size).toBe(2);
  });

  it('completes login → code → token → userinfo → refresh with the requests spread over both workers', async () => {
    const mark = logs.length;
    const browser = new Browser();
    const config = await discover(issuer, TAX);
    const req = await authorizationRequest(config, TAX, 'openid profile offline_access', { prompt: 'consent' });
    const page = await browser.navigate(req.url, TAX.redirectUri);
    expect(page.html).toContain('name="id_number"');
    const back = await submitLogin(browser, page, demo.idNumber, demo.password, TAX.redirectUri);
    expect(back.url.startsWith(TAX.redirectUri)).toBe(true);
    const tokens = await finish(config, back.url, req);
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    expect(userinfo.name).toBe('演示用户');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.claims()!.sub).toBe(tokens.claims()!.sub);

    const served = requestsSince(mark);
    expect(served.filter((l) => (l.status ?? 500) >= 500)).toEqual([]);
    const pidsByPath = (path: string) => new Set(served.filter((l) => l.path?.startsWith(path)).map((l) => l.pid));
    expect(new Set(served.map((l) => l.pid)).size).toBe(2);
    // Login in one process, the code redeemed and the tokens used wherever the connection landed.
    expect(pidsByPath('/interaction').size + pidsByPath('/token').size + pidsByPath('/me').size).toBeGreaterThan(3);
  });

  it('sees a client disabled by `yihao clients apply` in another process in every worker within a second', async () => {
    const { url } = await authorizationRequest(await discover(issuer, PENSION), PENSION, 'openid');
    const authorize = async () => (await fetch(url, { redirect: 'manual' })).status;
    for (let i = 0; i < 4; i++) expect(await authorize()).toBe(303); // known to both workers: on to the login page

    await rm(`${dir}/clients/pension.json`);
    const mark = logs.length;
    const apply = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const cli = spawn(process.execPath, ['bin/yihao.js', 'clients', 'apply'], { env: { ...process.env, ...env, LOG_LEVEL: 'warn' } });
      let out = '';
      cli.stdout.on('data', (d) => { out += d; });
      cli.stderr.on('data', (d) => { out += d; });
      cli.on('close', (code) => resolve({ code, out }));
    });
    expect(apply.out).toContain('- disable  pension');
    expect(apply.code).toBe(0);
    const applied = Date.now();

    // Four refusals in a row over fresh connections: two from each worker.
    let streak = 0;
    while (streak < 4) {
      streak = (await authorize()) === 400 ? streak + 1 : 0;
      expect(Date.now() - applied, 'every worker refuses the disabled client').toBeLessThan(1000);
    }
    // Through Redis pub/sub, not the periodic refresh: each worker reloaded that one client.
    const reloads = logs.slice(mark).filter((l) => l.msg === 'client changed elsewhere: reloading it' && l.clientId === 'pension');
    expect(new Set(reloads.map((l) => l.pid))).toEqual(new Set(workerPids()));
  });

  it('restarts a worker killed with SIGKILL while the service keeps answering', async () => {
    const [victim, survivor] = workerPids();
    process.kill(victim!, 'SIGKILL');
    // Until the primary has seen the death, it may still hand a new connection to the dead worker, and
    // node's round-robin then holds that connection unanswered (docs/scaling.md): ask from then on.
    const died = await until('the primary to notice', () => logs.find((l) => l.msg === 'worker died: restarting it'));
    expect(died).toMatchObject({ pid: victim, exit: 'signal SIGKILL' });
    // Ask all along, on fresh connections, until the replacement is listening.
    const statuses: number[] = [];
    let replacement: number | undefined;
    for (const deadline = Date.now() + 20_000; !replacement && Date.now() < deadline; await sleep(50)) {
      statuses.push((await fetch(`${issuer}/.well-known/openid-configuration`)).status);
      const fresh = workerPids().find((p) => p !== survivor && p !== victim);
      if (fresh && logs.some((l) => l.msg === 'worker listening' && l.pid === fresh)) replacement = fresh;
    }
    expect(replacement, 'a replacement worker').toBeDefined();
    expect(alive(victim!)).toBe(false);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // The new worker takes its share of fresh connections.
    const mark = logs.length;
    for (let i = 0; i < 4; i++) expect((await fetch(`${issuer}/.well-known/openid-configuration`)).status).toBe(200);
    const served = await until('four request lines', () => requestsSince(mark).length >= 4 && requestsSince(mark));
    expect(new Set(served.map((l) => l.pid))).toEqual(new Set([survivor, replacement]));
  });

  it('on SIGTERM lets an in-flight request finish, then exits with code 0 and leaves no worker behind', async () => {
    const workers = workerPids();
    expect(workers).toHaveLength(2);
    // A token request whose body is still arriving when the signal comes.
    const body = 'grant_type=authorization_code&code=nope&redirect_uri=x';
    const inFlight = new Promise<number>((resolve, reject) => {
      const r = request(`${issuer}/token`, {
        method: 'POST', agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), authorization: `Basic ${Buffer.from(`${TAX.id}:${TAX.secret}`).toString('base64')}` },
      }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
      r.on('error', reject);
      r.write(body.slice(0, 10));
      setTimeout(() => {
        primary.kill('SIGTERM');
        setTimeout(() => r.end(body.slice(10)), 500);
      }, 300);
    });
    expect(await inFlight).toBe(400); // invalid_grant: answered, not cut off
    expect(await exited).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(alive(pid), `worker ${pid} is gone`).toBe(false);
    expect(logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(stderr).toBe('');
  });
});

describe('yihao start refusals', () => {
  const dirs: string[] = [];
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  async function run(args: string[], extra: Record<string, string>, stopWhen: (logs: LogLine[]) => boolean) {
    const dir = await mkdtemp(`${tmpdir()}/yihao-cluster-`);
    dirs.push(dir);
    await mkdir(`${dir}/clients`);
    const env = { DATA_DIR: `${dir}/data`, KEYS_DIR: `${dir}/keys`, CLIENTS_DIR: `${dir}/clients`, DEMO_ACCOUNT: 'false', ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', ...extra };
    const child = spawn(process.execPath, ['bin/yihao.js', 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: LogLine[] = [];
    let output = '';
    let stopping = false;
    child.stdout.on('data', (d: Buffer) => {
      output += d;
      logs.splice(0, logs.length, ...output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine));
      // Once: a second SIGTERM during the shutdown means "stop now" (exit 1).
      if (!stopping && stopWhen(logs)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const [code] = await new Promise<[number | null]>((r) => child.once('exit', (c) => r([c])));
    clearTimeout(timer);
    return { code, logs, output };
  }

  it('runs one process on embedded storage (PGlite is single-process), saying why', async () => {
    const r = await run(['--workers', '2'], { PORT: String(await freePort()) }, (logs) => logs.some((l) => l.msg === 'yihao listening'));
    expect(r.logs.find((l) => l.level === 'warn')?.msg).toMatch(/2 workers need PostgreSQL: embedded storage \(PGlite, no DATABASE_URL\) is a single-process database/);
    expect(r.logs.find((l) => l.msg === 'yihao listening')).toMatchObject({ processes: 1 });
    expect(r.code, r.output).toBe(0);
  }, 30_000);

  it('stops with the reason when the workers cannot start', async () => {
    const blocker = createNetServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, r));
    try {
      const r = await run(['--workers', '2'], {
        PORT: String(port), DATABASE_URL: await createDatabase(inject('postgresUrl'), `cluster_${randomBytes(4).toString('hex')}`),
      }, () => false);
      expect(r.code).toBe(1);
      expect(r.logs.find((l) => l.msg === 'worker failed to start')).toMatchObject({ err: { message: expect.stringContaining('EADDRINUSE') } });
      expect(r.logs.find((l) => l.msg === 'yihao failed to start')).toMatchObject({ err: { message: expect.stringMatching(/^worker \d+ failed to start \(exit code 1\)/) } });
    } finally {
      blocker.close();
    }
  }, 30_000);
});

describe('worker restart budget', () => {
  it('backs off exponentially and gives up on a crash loop', () => {
    const budget = new RestartBudget(4, 60_000);
    expect([0, 1, 2, 3].map((i) => budget.death(1_000 + i))).toEqual([250, 500, 1000, 2000]);
    expect(budget.death(1_005)).toBeUndefined();
  });

  it('forgets deaths older than its window', () => {
    const budget = new RestartBudget(2, 60_000);
    expect(budget.death(0)).toBe(250);
    expect(budget.death(1)).toBe(500);
    expect(budget.death(70_000)).toBe(250);
    expect(budget.recent).toBe(1);
  });

  it('caps the delay at ten seconds', () => {
    const budget = new RestartBudget(100, 600_000);
    let last = 0;
    for (let i = 0; i < 20; i++) last = budget.death(i)!;
    expect(last).toBe(10_000);
  });
});
