// A benchmark, not a test: `node bench/sessions-list.ts [--sessions 1000000]`.
//
// Fills a throw-away Redis with a million signed-in SSO sessions written the way production writes them —
// the Redis adapter's Session upsert script (record, uid index and oversight indexes in one call) and the
// login-context write — then times the first page of the session list (all, by app, by person, by IP),
// a page deep in the list, and a first page that must first reap a batch of expired sessions. Prints the
// numbers and the Redis memory used. docs/sessions.md records a run.
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadavg, cpus } from 'node:os';
import { Redis } from 'ioredis';
import { startRedis } from '../test/support/servers.ts';
import { createRedisAdapter } from '../src/oidc/adapter-redis.ts';
import { createRedisSessionIndex } from '../src/sessions/session-index-redis.ts';
import type { SessionFilter } from '../src/sessions/session-index.ts';
import { onCleanup, cleanupAll } from './cleanup.ts';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '200' } } });
const TOTAL = Number(values.sessions);
const ROUNDS = Number(values.rounds);
const PREFIX = 'yihao:oidc:';
const TTL = 8 * 3600; // SESSION_TTL_SECONDS default
const BATCH = 5000;

const nanoid = () => randomBytes(16).toString('base64url').slice(0, 21);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;

// 40 department apps, the busiest in about a third of all sessions (a portal everyone passes through).
const APPS = Array.from({ length: 40 }, (_, i) => (i === 0 ? 'gov-portal' : `dept-app-${String(i).padStart(2, '0')}`));
const appWeight = (i: number) => 1 / (i + 1) ** 1.1;
const WEIGHTS = APPS.map((_, i) => appWeight(i));
const WEIGHT_SUM = WEIGHTS.reduce((a, b) => a + b, 0);
function weightedApp(): string {
  let r = Math.random() * WEIGHT_SUM;
  for (const [i, w] of WEIGHTS.entries()) if ((r -= w) <= 0) return APPS[i]!;
  return APPS[0]!;
}
const USER_AGENTS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN',
  'Mozilla/5.0 (Linux; Android 14; V2309A Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 AlipayClient/10.5.86',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
];
// 200,000 addresses; ten carrier NAT gateways carry many sessions each.
const NAT = Array.from({ length: 10 }, (_, i) => `117.136.${i}.1`);
const randomIp = () => (Math.random() < 0.02 ? pick(NAT) : `${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 4)}.${Math.floor(Math.random() * 250)}`);

interface Made { uid: string; accountId: string }

/** A signed-in Session payload as oidc-provider 9 stores it. */
function sessionPayload(accountId: string, loginTs: number) {
  const apps = new Set([weightedApp()]);
  while (Math.random() < 0.45 && apps.size < 5) apps.add(weightedApp());
  const jti = nanoid();
  return {
    iat: loginTs, exp: loginTs + TTL, uid: nanoid(), jti, kind: 'Session', accountId, loginTs, acr: 'urn:yihao:loa:1', amr: ['pwd'], transient: true,
    authorizations: Object.fromEntries([...apps].map((a) => [a, { sid: randomUUID(), grantId: nanoid(), persistsLogout: Math.random() < 0.2 || undefined }])),
  };
}

const ms = (ns: bigint) => Number(ns) / 1e6;
function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1]! };
}

async function main() {
  const server = await startRedis();
  const stopRedis = onCleanup('Redis', () => server.stop());
  const redis = new Redis(server.url, { enableAutoPipelining: true, maxRetriesPerRequest: null });
  onCleanup('Redis client', async () => { redis.disconnect(); });
  const adapter = createRedisAdapter(redis, PREFIX)('Session');
  const index = createRedisSessionIndex(redis, PREFIX);
  const memory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const before = await memory();
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`${cpus().length} cores, load average ${load()} before the run (other processes slow every number)`);
  // Redis's own CPU time per script call: steadier than wall time on a busy machine.
  const scriptUsec = async () => Object.fromEntries([...(await redis.info('commandstats')).matchAll(/cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/g)]
    .map((m) => [m[1], { calls: Number(m[2]), usec: Number(m[3]) }]));
  await redis.config('RESETSTAT');

  // People: most have one session, about a quarter two (phone and office PC).
  const people = Array.from({ length: Math.round(TOTAL / 1.3) }, () => randomUUID());
  const made: Made[] = [];
  let n = 0;
  const now = Math.floor(Date.now() / 1000);
  const t0 = process.hrtime.bigint();
  process.stdout.write(`filling ${TOTAL.toLocaleString('en')} sessions `);
  // Redis CPU of each write, from its own counters: the Session upsert (the hot path: every authorization
  // request saves the session) and the login-context write (once per login).
  const cpu = { upsert: { usec: 0, calls: 0 }, context: { usec: 0, calls: 0 }, activity: { usec: 0, calls: 0 } };
  const resave: ReturnType<typeof sessionPayload>[] = [];
  const measure = async (what: keyof typeof cpu, fn: () => Promise<unknown>) => {
    const before = (await scriptUsec()).evalsha ?? { usec: 0, calls: 0 };
    await fn();
    const after = (await scriptUsec()).evalsha!;
    cpu[what].usec += after.usec - before.usec;
    cpu[what].calls += after.calls - before.calls;
  };
  for (let done = 0; done < TOTAL; done += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, TOTAL - done) }, () => {
      const i = n++;
      const accountId = i < people.length ? people[i]! : pick(people);
      const age = Math.floor(Math.random() * (TTL - 600)); // logged in within the session lifetime
      const payload = sessionPayload(accountId, now - age);
      if (made.length < 100_000 || i >= people.length) made.push({ uid: payload.uid, accountId });
      if (resave.length < 20_000) resave.push(payload);
      // Sliding expiry: last activity somewhere between the login and now.
      return { payload, expiresIn: TTL - Math.floor(Math.random() * age) };
    });
    await measure('upsert', () => Promise.all(batch.map(({ payload, expiresIn }) => adapter.upsert(payload.jti, payload, expiresIn))));
    await measure('context', () => Promise.all(batch.map(({ payload }) => index.recordLoginContext(payload.uid, { ip: randomIp(), userAgent: pick(USER_AGENTS) }))));
    if (done % 100_000 === 0) process.stdout.write('.');
  }
  const fillSeconds = ms(process.hrtime.bigint() - t0) / 1000;
  // The common save: the provider saving a signed-in session again at an authorization request.
  for (let i = 0; i < resave.length; i += BATCH) {
    await measure('activity', () => Promise.all(resave.slice(i, i + BATCH).map((p) => adapter.upsert(p.jti, p, TTL))));
  }
  // Baseline: the same payloads through the adapter's generic path (SET record + SET uid in one MULTI), as a
  // Session was stored before these indexes, under another model name so that nothing real is overwritten.
  const plain = createRedisAdapter(redis, 'baseline:')('Interaction');
  // Every command's time (the MULTI's SETs are counted apart from EXEC); calls counted as EXECs.
  const execUsec = async () => {
    const stats = await redis.info('commandstats');
    const usec = [...stats.matchAll(/usec=(\d+)/g)].reduce((t, m) => t + Number(m[1]), 0);
    return { calls: Number(/cmdstat_exec:calls=(\d+)/.exec(stats)?.[1] ?? 0), usec };
  };
  const e0 = await execUsec();
  await Promise.all(Array.from({ length: BATCH }, () => { const p = sessionPayload(randomUUID(), now); return plain.upsert(p.jti, p, TTL); }));
  const e1 = await execUsec();
  await redis.eval(`for _, k in ipairs(redis.call('KEYS', 'baseline:*')) do redis.call('DEL', k) end return 1`, 0);
  const after = await memory();
  const per = (c: { usec: number; calls: number }) => (c.usec / c.calls).toFixed(1);
  process.stdout.write(` ${fillSeconds.toFixed(1)} s (${Math.round(TOTAL / fillSeconds).toLocaleString('en')} sessions/s)\n`);
  console.log('Redis CPU per write (its own counters):');
  console.log(`  Session saved at login (record, uid, indexes: one script)   ${per(cpu.upsert).padStart(6)} µs`);
  console.log(`  Session saved again, same apps (activity: the common save)  ${per(cpu.activity).padStart(6)} µs`);
  console.log(`  the same without any index (the adapter's generic MULTI)    ${per({ usec: e1.usec - e0.usec, calls: e1.calls - e0.calls }).padStart(6)} µs`);
  console.log(`  login context (IP, user agent: once per login)              ${per(cpu.context).padStart(6)} µs\n`);

  // A person with two sessions, the busiest app, a small app, a NAT gateway.
  const twice = made[made.length - 1]!; // written last, by someone already signed in elsewhere
  const cases: [string, SessionFilter][] = [
    ['all sessions', {}],
    [`by app: ${APPS[0]} (busiest)`, { clientId: APPS[0]! }],
    [`by app: ${APPS[39]} (smallest)`, { clientId: APPS[39]! }],
    ['by person (identity number → account)', { accountId: twice.accountId }],
    [`by IP: ${NAT[0]} (carrier NAT)`, { ip: NAT[0]! }],
  ];
  const rows: string[][] = [];
  for (const [name, filter] of cases) {
    const samples: number[] = [];
    let size = 0;
    let count = 0;
    await redis.config('RESETSTAT');
    for (let i = 0; i < ROUNDS; i++) {
      const start = process.hrtime.bigint();
      const page = await index.list(filter, { limit: 50 });
      samples.push(ms(process.hrtime.bigint() - start));
      size = page.items.length;
    }
    const server = (await scriptUsec()).evalsha!;
    count = await index.count(filter);
    const s = stats(samples);
    rows.push([name, count.toLocaleString('en'), String(size), s.p50.toFixed(2), s.p99.toFixed(2), s.max.toFixed(2), (server.usec / server.calls / 1000).toFixed(2)]);
  }

  // Page 200 of all sessions (10,000 in): keyset cursors make it cost what page 1 costs.
  let cursor: string | undefined;
  for (let i = 0; i < 199; i++) cursor = (await index.list({}, { limit: 50, cursor })).nextCursor;
  const deep: number[] = [];
  await redis.config('RESETSTAT');
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    await index.list({}, { limit: 50, cursor });
    deep.push(ms(process.hrtime.bigint() - start));
  }
  const d = stats(deep);
  const deepServer = (await scriptUsec()).evalsha!;
  rows.push(['all, page 200 (cursor)', '', '50', d.p50.toFixed(2), d.p99.toFixed(2), d.max.toFixed(2), (deepServer.usec / deepServer.calls / 1000).toFixed(2)]);

  // 20,000 sessions expire at once; the first read after reaps 200 of them (and skips the rest) before answering.
  const expiring = 20_000;
  for (let done = 0; done < expiring; done += BATCH) {
    await Promise.all(Array.from({ length: BATCH }, async () => {
      const payload = sessionPayload(randomUUID(), now);
      await adapter.upsert(payload.jti, payload, 2);
    }));
  }
  await new Promise((r) => setTimeout(r, 2500));
  await redis.config('RESETSTAT');
  const reapStart = process.hrtime.bigint();
  await index.list({}, { limit: 50 });
  const reapMs = ms(process.hrtime.bigint() - reapStart);
  const reapServer = (await scriptUsec()).evalsha!;
  rows.push(['all, first read after 20,000 expired', '', '50', reapMs.toFixed(2), '', '', (reapServer.usec / 1000).toFixed(2)]);

  const widths = [40, 10, 6, 9, 9, 9, 13];
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
  console.log(fmt(['first page of 50, newest login first', 'sessions', 'items', 'p50 ms', 'p99 ms', 'max ms', 'Redis CPU ms']));
  for (const r of rows) console.log(fmt(r));

  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
  const usage = async (key: string) => Number(await redis.memory('USAGE', key, 'SAMPLES', '0')) || 0;
  const sample = made.slice(0, 1000);
  const perSession = async (key: (m: Made) => string) => {
    let total = 0;
    for (const m of sample) total += await usage(key(m));
    return total / sample.length;
  };
  const metaEach = await perSession((m) => `${PREFIX}sx:meta:${m.uid}`);
  const uidEach = await perSession((m) => `${PREFIX}uid:Session:${m.uid}`);
  const ids = await Promise.all(sample.slice(0, 200).map(async (m) => redis.get(`${PREFIX}uid:Session:${m.uid}`)));
  let recordTotal = 0;
  for (const id of ids) recordTotal += await usage(`${PREFIX}Session:${id}`);
  const recordEach = recordTotal / ids.length;
  const setsTotal = (await usage(`${PREFIX}sx:all`)) + (await usage(`${PREFIX}sx:exp`));
  console.log(`\nRedis used_memory: ${mb(after - before)} for ${TOTAL.toLocaleString('en')} sessions (${Math.round((after - before) / TOTAL)} bytes each, everything included)`);
  console.log(`  Session records ≈ ${mb(recordEach * TOTAL)} (${Math.round(recordEach)} B each), uid → id ≈ ${mb(uidEach * TOTAL)}`);
  console.log(`  oversight: meta ≈ ${mb(metaEach * TOTAL)} (${Math.round(metaEach)} B each), sx:all + sx:exp ${mb(setsTotal)},`
    + ` per-person/app/IP sets the rest (≈ ${mb(after - before - (recordEach + uidEach + metaEach) * TOTAL - setsTotal)})`);
  console.log(`load average ${load()} after the run`);
  await stopRedis();
}

try {
  await main();
} finally {
  await cleanupAll();
}
