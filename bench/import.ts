// `node bench/import.ts [--accounts N] [--batch 5000] [--workers W] [--samples 20000]`: a benchmark, not a test.
// Generates N valid synthetic accounts (distinct numbers with correct check characters, a quarter
// each of bcrypt / PBKDF2 / SM3 / SHA-256 legacy hashes, a fifth without), imports them with the
// same code as `yihao accounts import` into a throw-away PostgreSQL, and reports accounts/s. Then
// compares the database part of a password login (the login's own queries, with a stand-in for
// argon2) between a database of 10 thousand accounts and one of N, interleaved on the same server,
// and prints the ratio (target ≤ 1.1). Numbers for this machine are in docs/import.md.
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startPostgres, createDatabase } from '../test/support/servers.ts';
import { createPostgresDb, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { createDbCounters } from '../src/store/counters.ts';
import { generateIdentityKeySpec, parseIdentityKeys, type IdentityKeys } from '../src/identity/protect.ts';
import { checkCharacter } from '../src/identity/id-number.ts';
import { createAccounts } from '../src/accounts/accounts.ts';
import { createLogin } from '../src/accounts/login.ts';
import type { Passwords } from '../src/accounts/passwords.ts';
import { importAccounts } from '../src/accounts/import.ts';
import { onCleanup, cleanupAll } from './cleanup.ts';

const SMALL = 10_000;
const SHARED_BUFFERS = '1GB';
const USAGE = 'usage: node bench/import.ts [--accounts N (> 10000, default 200000)] [--batch 5000] [--workers W (default: one per core)] [--samples 20000]';
let args;
try {
  args = parseArgs({ options: { accounts: { type: 'string' }, batch: { type: 'string' }, workers: { type: 'string' }, samples: { type: 'string' } } }).values;
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
const N = Number(args.accounts ?? 200_000);
const BATCH = Number(args.batch ?? 5000);
const SAMPLES = Number(args.samples ?? 20_000);
const WORKERS = args.workers === undefined ? undefined : Number(args.workers);
if (![N, BATCH, SAMPLES, WORKERS ?? 1].every(Number.isInteger) || N <= SMALL || BATCH < 1 || SAMPLES < 100 || (WORKERS ?? 1) < 1) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => { void cleanupAll().finally(() => process.exit(130)); });
}
const log = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// Account i: one of eight mainland areas, then a birth date from 1960 on and a sequence number, so
// every i below 8 × 1000 × ~23,000 days has its own number.
const AREAS = ['110105', '310104', '440304', '330106', '510107', '420106', '320102', '610113'];
function idNumber(i: number): string {
  const j = Math.floor(i / AREAS.length);
  const day = new Date(Date.UTC(1960, 0, 1) + Math.floor(j / 1000) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  const first17 = `${AREAS[i % AREAS.length]}${day}${String(j % 1000).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂';
// Fixed example hashes (of other passwords): importing checks their format, not the password.
const HASHES = [
  '$2b$10$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
  'pbkdf2_sha256$870000$seasalt42$sunLLjQUOeE37K8ea/7l3L5tJTnXOMmyzv8SW/PXxLs=',
  'sm3$a$66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
  'sha256$a$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
];
function line(i: number): string {
  const name = SURNAMES[i % SURNAMES.length]! + GIVEN[Math.floor(i / 7) % GIVEN.length]! + (i % 3 ? GIVEN[i % GIVEN.length]! : '');
  const row: Record<string, string> = { id_number: idNumber(i), name, phone: `+861${String(3_000_000_000 + i).padStart(10, '0')}` };
  if (i % 5) row.password_hash = HASHES[i % HASHES.length]!;
  return `${JSON.stringify(row)}\n`;
}

async function generate(path: string, from: number, to: number) {
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = from; i < to; i++) {
    chunk += line(i);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

async function importFile(db: Db, keys: IdentityKeys, file: string, label: string) {
  const r = await importAccounts(db, keys, { file, batchSize: BATCH, workers: WORKERS, resume: false, progressEvery: Math.max(100_000, Math.round(N / 10)) }, {
    progress: (p) => log(`  ${label}: ${fmt(p.lines)} lines, ${fmt(p.rowsPerSecond)} accounts/s`),
  });
  if (r.inserted !== r.lines || r.rejected) throw new Error(`${label}: expected every line imported, got ${JSON.stringify(r)}`);
  return r;
}

// The login's queries exactly as a real login runs them (counters on the rate_counters table, the
// account by blind index, the failure counter reset); only argon2 is replaced, so what is timed is the database.
const noHashing: Passwords = {
  hash: async () => { throw new Error('not used'); },
  verify: async (hash) => hash !== null,
  needsRehash: () => false,
};

// CPU seconds of this process (all threads) and of the PostgreSQL server it started (the postmaster,
// its live children, and the children it has reaped), from /proc: with other work on the machine, CPU
// per account is steadier than accounts per second.
const nodeCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
function postgresCpu(): number {
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      return [{ pid: Number(pid), ppid: f[1]!, own: f[11]! + f[12]!, reaped: f[13]! + f[14]! }];
    } catch {
      return [];
    }
  });
  const postmaster = procs.find((p) => p.ppid === process.pid && readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'postgres');
  if (!postmaster) return NaN;
  const ticks = postmaster.own + postmaster.reaped + procs.filter((p) => p.ppid === postmaster.pid).reduce((a, p) => a + p.own, 0);
  return ticks / 100; // USER_HZ
}

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
function summary(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), mean: ms.reduce((a, b) => a + b, 0) / ms.length, n: ms.length };
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

async function main() {
  const started = Date.now();
  log(`load average before: ${load()} (other processes lower every number here); PostgreSQL shared_buffers ${SHARED_BUFFERS}`);
  // 1 GB of shared_buffers, as a production server would have: the 10 k vs N lookup ratio then measures
  // the index design, not the tests' 32 MB cache spilling to the operating system's page cache.
  const pg = await startPostgres({ sharedBuffers: SHARED_BUFFERS });
  onCleanup('PostgreSQL', () => pg.stop());
  const dir = await mkdtemp(`${tmpdir()}/yihao-import-bench-`);
  onCleanup('input files', () => rm(dir, { recursive: true, force: true }));
  const keys = parseIdentityKeys(generateIdentityKeySpec());
  const small = createPostgresDb(await createDatabase(pg.url, 'import_small'), { max: 2 });
  const big = createPostgresDb(await createDatabase(pg.url, 'import_big'), { max: 2 });
  onCleanup('database pools', async () => { await small.close(); await big.close(); });
  await migrate(small);
  await migrate(big);

  log(`generating ${fmt(N)} synthetic accounts…`);
  let t = Date.now();
  const first = `${dir}/first-${SMALL}.jsonl`;
  const rest = `${dir}/rest.jsonl`;
  await generate(first, 0, SMALL);
  await generate(rest, SMALL, N);
  const bytes = (await stat(first)).size + (await stat(rest)).size;
  log(`  ${(bytes / 1e6).toFixed(0)} MB in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  log('importing…');
  await importFile(small, keys, first, `${fmt(SMALL)} accounts`);
  await importFile(big, keys, first, `first ${fmt(SMALL)}`);
  t = Date.now();
  const cpu0 = { node: nodeCpu(), postgres: postgresCpu() };
  const bulk = await importFile(big, keys, rest, `${fmt(N - SMALL)} accounts`);
  const importSeconds = (Date.now() - t) / 1000;
  const rate = bulk.inserted / importSeconds;
  const cpuPerAccount = { node: ((nodeCpu() - cpu0.node) / bulk.inserted) * 1e6, postgres: ((postgresCpu() - cpu0.postgres) / bulk.inserted) * 1e6 };
  log(`  ${fmt(bulk.inserted)} accounts in ${importSeconds.toFixed(1)} s: ${fmt(rate)} accounts/s`);
  log(`  CPU per account: ${cpuPerAccount.node.toFixed(1)} µs in Node (all threads), ${cpuPerAccount.postgres.toFixed(1)} µs in PostgreSQL`
    + ` → at most ~${fmt((availableParallelism() * 1e6) / (cpuPerAccount.node + cpuPerAccount.postgres))} accounts/s on ${availableParallelism()} idle cores`);

  // What an operator does after a bulk load (autovacuum would get there too): fresh statistics and visibility map.
  t = Date.now();
  for (const db of [small, big]) await db.exec('VACUUM ANALYZE accounts');
  const [size] = await big.query<{ table: string; indexes: string }>(
    `SELECT pg_size_pretty(pg_table_size('accounts')) AS table, pg_size_pretty(pg_indexes_size('accounts')) AS indexes`);
  log(`  VACUUM ANALYZE ${((Date.now() - t) / 1000).toFixed(1)} s; ${fmt(N)} accounts: table ${size!.table}, indexes ${size!.indexes}`);

  log(`login database path, ${fmt(SAMPLES)} sequential logins per database, interleaved in rounds…`);
  const sides = [{ name: `${fmt(SMALL)}`, db: small, size: SMALL }, { name: fmt(N), db: big, size: N }].map((s) => {
    const accounts = createAccounts(s.db, keys);
    const login = createLogin({ accounts, passwords: noHashing, counters: createDbCounters(s.db), policy: { maxFailures: 5, lockSeconds: 900, ipMaxFailures: 1e9 } });
    return { ...s, accounts, login, lookup: [] as number[], logins: [] as number[] };
  });
  const ROUNDS = 20;
  const perRound = Math.ceil(SAMPLES / ROUNDS);
  for (let round = -1; round < ROUNDS; round++) { // round -1 warms both up and is not counted
    const order = round % 2 ? sides : [...sides].reverse();
    for (const side of order) {
      for (let k = 0; k < perRound; k++) {
        const number = idNumber(Math.floor(Math.random() * side.size));
        const t0 = performance.now();
        const found = await side.accounts.findByIndex(side.accounts.indexOf(number));
        const t1 = performance.now();
        if (!found) throw new Error('a generated account is missing');
        if (round >= 0) side.lookup.push(t1 - t0);
        if (!found.passwordHash) continue; // imported without a password: cannot log in, lookup only
        const result = await side.login.authenticate(number, 'password', `10.0.${round & 255}.${k & 255}`);
        const t2 = performance.now();
        if (!result.ok) throw new Error(`login failed for a generated account: ${JSON.stringify(result)}`);
        if (round >= 0) side.logins.push(t2 - t1);
      }
    }
  }
  const ms = (v: number) => v.toFixed(3);
  const rows = sides.map((s) => ({ accounts: s.size, findByIndex: summary(s.lookup), login: summary(s.logins) }));
  log('');
  log('| accounts | findByIndex p50 / p95 / p99 / mean (ms) | login DB path p50 / p95 / p99 / mean (ms) |');
  log('|---:|---|---|');
  for (const r of rows) {
    log(`| ${fmt(r.accounts)} | ${ms(r.findByIndex.p50)} / ${ms(r.findByIndex.p95)} / ${ms(r.findByIndex.p99)} / ${ms(r.findByIndex.mean)} | ${ms(r.login.p50)} / ${ms(r.login.p95)} / ${ms(r.login.p99)} / ${ms(r.login.mean)} |`);
  }
  const [a, b] = rows as [typeof rows[0], typeof rows[0]];
  const ratio = {
    findByIndexP50: b.findByIndex.p50 / a.findByIndex.p50, findByIndexMean: b.findByIndex.mean / a.findByIndex.mean,
    loginP50: b.login.p50 / a.login.p50, loginMean: b.login.mean / a.login.mean,
  };
  log('');
  log(`import: ${fmt(rate)} accounts/s (batch ${BATCH}, ${WORKERS ?? availableParallelism()} worker threads)`);
  log(`ratio ${fmt(N)} / ${fmt(SMALL)}: findByIndex p50 ${ratio.findByIndexP50.toFixed(3)}, mean ${ratio.findByIndexMean.toFixed(3)}; `
    + `login p50 ${ratio.loginP50.toFixed(3)}, mean ${ratio.loginMean.toFixed(3)} (target ≤ 1.1)`);

  const results = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(results, { recursive: true });
  const file = `${results}import-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify({ accounts: N, batch: BATCH, sharedBuffers: SHARED_BUFFERS, workers: WORKERS ?? availableParallelism(), samples: SAMPLES, importSeconds, accountsPerSecond: rate, cpuPerAccountMicros: cpuPerAccount, tableSize: size, rows, ratio, loadAverageAfter: loadavg(), totalSeconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
  log(`load average after: ${load()}`);
  log(`written ${file}; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
