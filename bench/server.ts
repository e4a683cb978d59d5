// The yihao under load, in its own process so the load generator never shares its event loop.
// Configured only by the environment the runner passes (see yihao-child.ts); writes the bench
// client's registration file, starts yihao, creates the bench citizens, then prints one ready line.
// Stops on SIGINT/SIGTERM or when the runner goes away (stdin closes).
import { sizeHashThreadPool } from '../src/accounts/hash-threads.ts';

sizeHashThreadPool(); // as src/main.ts, before any work is queued

const { mkdir, writeFile } = await import('node:fs/promises');
const { loadConfig } = await import('../src/config.ts');
const { createYihao } = await import('../src/app.ts');
const { parseIdNumber } = await import('../src/identity/id-number.ts');
const { READY_PREFIX, benchClientRegistrations, citizens } = await import('./fixtures.ts');

const config = loadConfig();
await mkdir(config.clientsDir, { recursive: true });
const registrations = benchClientRegistrations();
for (const r of registrations) await writeFile(`${config.clientsDir}/${String(r.client_id)}.json`, `${JSON.stringify(r, null, 2)}\n`);

const yihao = await createYihao(config);
let stopServer = () => yihao.close();
let closing: Promise<void> | undefined;
const shutdown = (code: number) => {
  closing ??= stopServer().catch((err: unknown) => { process.stderr.write(`bench server: close failed: ${String(err)}\n`); })
    .finally(() => process.exit(code));
  return closing;
};
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
process.stdin.on('end', () => void shutdown(0)).resume();

try {
  const refused = yihao.clientsApplied.problems.find((p) => registrations.some((r) => p.file.includes(String(r.client_id))));
  if (refused) throw new Error(`bench client refused (${refused.file}): ${JSON.stringify(refused.errors)}`);

  const { core } = yihao;
  const people = citizens(Number(process.env.BENCH_CITIZENS ?? '32'));
  // Real argon2 parameters: hashing runs on the thread pool, so all at once uses every core.
  const hashes = await Promise.all(people.map((p) => core.passwords.hash(p.password)));
  for (const [i, p] of people.entries()) {
    const parsed = parseIdNumber(p.idNumber);
    if (!parsed.ok) throw new Error(`bench citizen ${i}: invalid ID number (${parsed.code})`);
    await core.accounts.create({ idNumber: parsed.value, name: p.name, passwordHash: hashes[i]! });
  }

  // WORKERS > 1: yihao's cluster mode (src/cluster.ts) as `yihao start --workers N` runs it; its primary
  // (this process) redoes the once-per-start work, which finds everything done, and forks the workers.
  let workers = 1;
  if ((config.workers ?? 1) > 1) {
    await yihao.close();
    const { serve } = await import('../src/cluster.ts');
    const { createLogger } = await import('../src/log.ts');
    const running = await serve({ ...config, demoAccount: false }, createLogger(config.logLevel), { workers: config.workers, signals: false });
    stopServer = () => running.stop();
    workers = running.processes;
  } else {
    await yihao.listen(config.port);
  }
  process.stdout.write(`${READY_PREFIX}${JSON.stringify({
    workers,
    pid: process.pid, port: config.port, issuer: config.issuer, citizens: people.length,
    argon2: config.argon2, threadpool: Number(process.env.UV_THREADPOOL_SIZE),
    storage: { database: config.databaseUrl ? 'postgres' : 'pglite', shortLived: config.redisUrl ? 'redis' : 'database' },
  })}\n`);
} catch (err) {
  process.stderr.write(`bench server failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  await shutdown(1);
}
