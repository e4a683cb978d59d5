// What the storage servers saw: Redis commands and PostgreSQL transactions per flow (round trips
// are what a connect flow mostly waits on), and Redis memory — per SSO session, and over time.
import { once } from 'node:events';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';

export interface RedisProbe {
  redis: Redis;
  /** Calls per command since the server started (INFO commandstats), without the probe's own. */
  commandCalls(): Promise<Record<string, number>>;
  usedMemory(): Promise<number>;
  dbsize(): Promise<number>;
  /** Every key starting with `prefix` (SCAN, so the server keeps serving meanwhile). */
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

// The probe's own commands, not the servers' work.
const PROBE_COMMANDS = new Set(['info', 'scan', 'memory', 'dbsize', 'scard', 'zcard', 'pttl', 'client', 'config', 'hello', 'command', 'quit']);

export async function redisProbe(url: string): Promise<RedisProbe> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  return {
    redis,
    async commandCalls() {
      const calls: Record<string, number> = {};
      for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (!PROBE_COMMANDS.has(m[1]!)) calls[m[1]!] = Number(m[2]);
      }
      return calls;
    },
    async usedMemory() {
      return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1] ?? Number.NaN);
    },
    dbsize: () => redis.dbsize(),
    async keys(prefix) {
      const out: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        out.push(...batch);
      } while (cursor !== '0');
      return out;
    },
    async close() { await redis.quit(); },
  };
}

export function diffCalls(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cmd, n] of Object.entries(after)) if (n - (before[cmd] ?? 0) > 0) out[cmd] = n - (before[cmd] ?? 0);
  return out;
}

export interface PgProbe {
  /** Committed + rolled-back transactions in yihao's database so far; each autocommit statement is one. */
  transactions(): Promise<number>;
  close(): Promise<void>;
}

// PostgreSQL's statistics reach pg_stat_database about once a second per backend, so a row's delta is
// approximate (both ends lag alike): good for "how many round trips per flow", not for exact counts.
export async function pgProbe(url: string): Promise<PgProbe> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    async transactions() {
      const { rows } = await client.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()');
      return Number(rows[0]?.n ?? Number.NaN);
    },
    async close() { await client.end(); },
  };
}

/** The audit chain's lock (migrations 002/008: "yihaaudt"), taken by every append to the chain. */
const AUDIT_CHAIN_LOCK = "x'7969686161756474'::bigint";

export interface AuditDrainHold { hold(): Promise<void>; release(): Promise<void>; close(): Promise<void> }

/**
 * What-if (--hold-audit-drain): holds the audit chain's lock from a connection of its own, so that yihao's
 * spool drainer waits at its first statement and the events stay in Redis; released, it appends them all.
 */
export async function auditDrainHold(url: string): Promise<AuditDrainHold> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    async hold() { await client.query(`SELECT pg_advisory_lock(${AUDIT_CHAIN_LOCK})`); },
    async release() { await client.query(`SELECT pg_advisory_unlock(${AUDIT_CHAIN_LOCK})`); },
    async close() { await client.end(); },
  };
}

// ---- Redis bytes per SSO session.

/** A key's kind: the model or index it belongs to (prefix removed, ids dropped). */
export function keyKind(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  let m: RegExpExecArray | null;
  if ((m = /^oidc:uid:(\w+):/.exec(rest))) return `${m[1]} uid index`;
  if ((m = /^oidc:userCode:(\w+):/.exec(rest))) return `${m[1]} user-code index`;
  if (/^oidc:grant-members:\{/.test(rest)) return 'grant index (token keys by expiry)';
  if (/^oidc:grants:acct:/.test(rest)) return 'grants by account';
  if ((m = /^oidc:sx:(\w+)/.exec(rest))) return `session index sx:${m[1]}`;
  if ((m = /^oidc:(\w+):/.exec(rest))) return m[1]!;
  if ((m = /^([\w-]+):/.exec(rest))) return `${m[1]}:*`;
  return rest;
}

/** How long each kind stays: what one session costs for its whole life, and what comes and goes. */
export function lifetimeOf(kind: string): 'session' | 'tokens' | 'transient' | 'other' {
  if (['Session', 'Session uid index', 'Grant', 'grants by account'].includes(kind) || kind.startsWith('session index')) return 'session';
  if (['AccessToken', 'RefreshToken', 'grant index (token keys by expiry)'].includes(kind)) return 'tokens';
  if (['AuthorizationCode', 'Interaction'].includes(kind)) return 'transient';
  return 'other';
}

/** ttlSeconds: the longest TTL among the kind's keys (Infinity: a key without one). */
export interface KindBytes { keys: number; bytes: number; bytesPerSession: number; keysPerSession: number; ttlSeconds: number }

export interface SessionMemory {
  sessions: number;
  errors: number;
  /** Sum of MEMORY USAGE over the new keys, per session, by kind. */
  byKind: Record<string, KindBytes>;
  perSession: { total: number; session: number; tokens: number; transient: number; other: number };
  /** INFO used_memory after − before, per session (includes the allocator's and the keyspace's overhead). */
  usedMemoryPerSession: number;
}

/** MEMORY USAGE summed by key kind over every key under `prefix`. */
async function bytesByKind(probe: RedisProbe, prefix: string): Promise<Map<string, { keys: number; bytes: number; ttlSeconds: number }>> {
  const keys = await probe.keys(prefix);
  const pipeline = probe.redis.pipeline();
  for (const k of keys) pipeline.memory('USAGE', k, 'SAMPLES', 0).pttl(k);
  const replies = (await pipeline.exec()) ?? [];
  const out = new Map<string, { keys: number; bytes: number; ttlSeconds: number }>();
  keys.forEach((k, i) => {
    const kind = keyKind(k, prefix);
    const e = out.get(kind) ?? { keys: 0, bytes: 0, ttlSeconds: 0 };
    e.keys++;
    e.bytes += Number(replies[2 * i]?.[1] ?? 0);
    const pttl = Number(replies[2 * i + 1]?.[1] ?? -1);
    e.ttlSeconds = pttl < 0 ? Number.POSITIVE_INFINITY : Math.max(e.ttlSeconds, Math.round(pttl / 1000)); // −1: no TTL
    out.set(kind, e);
  });
  return out;
}

/**
 * Opens sessions (`open` returns how many it opened) and divides what the keys under `prefix` grew by
 * (MEMORY USAGE by kind, after − before; shared sets such as the session index's count by their growth)
 * by the number of sessions. Run it before any load, after one warm-up session (scripts loaded, shared
 * keys created), so that only what each session adds is counted.
 */
export async function redisBytesPerSession(
  probe: RedisProbe, prefix: string, open: () => Promise<{ opened: number; errors: number }>,
): Promise<SessionMemory> {
  const before = await bytesByKind(probe, prefix);
  const used0 = await probe.usedMemory();
  const { opened, errors } = await open();
  const used1 = await probe.usedMemory();
  const after = await bytesByKind(probe, prefix);
  const byKind: Record<string, KindBytes> = {};
  const perSession = { total: 0, session: 0, tokens: 0, transient: 0, other: 0 };
  for (const [kind, a] of after) {
    const b = before.get(kind) ?? { keys: 0, bytes: 0, ttlSeconds: 0 };
    if (a.bytes === b.bytes && a.keys === b.keys) continue;
    const e: KindBytes = {
      keys: a.keys - b.keys, bytes: a.bytes - b.bytes, ttlSeconds: a.ttlSeconds,
      bytesPerSession: opened ? (a.bytes - b.bytes) / opened : Number.NaN, keysPerSession: opened ? (a.keys - b.keys) / opened : Number.NaN,
    };
    byKind[kind] = e;
    perSession.total += e.bytesPerSession;
    perSession[lifetimeOf(kind)] += e.bytesPerSession;
  }
  return { sessions: opened, errors, byKind, perSession, usedMemoryPerSession: opened ? (used1 - used0) / opened : Number.NaN };
}

export interface RoundTripCounter {
  /** Runs `during` (returns the flows it completed) and counts the Redis round trips it caused. */
  count(during: () => Promise<number>): Promise<{ flows: number; roundTripsPerFlow: number; scriptCommandsPerFlow: number }>;
  close(): Promise<void>;
}

// The audit spool's drainer runs beside the requests (src/audit/spool.ts): its reads and trims are not a
// flow's round trips. The XADD that spools a flow's event is, and is counted.
const DRAINER_COMMANDS = new Set(['xlen', 'xrange', 'xtrim', 'xdel']);

/**
 * Redis round trips per flow, exactly: MONITOR shows every command with the client it came from ("lua"
 * for those a script runs); a MULTI…EXEC block is one round trip (ioredis writes it at once). Count at
 * concurrency 1, so that no two flows' commands share a write by chance. A plain socket reads the
 * MONITOR stream: ioredis's monitor mode loses a race when a monitored line arrives with MONITOR's own
 * +OK in one packet (its "Command queue state error"), which a busy keyspace makes likely.
 */
export async function roundTripCounter(url: string): Promise<RoundTripCounter> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write('MONITOR\r\n');
  let roundTrips = 0;
  let scriptCommands = 0;
  let last = 0;
  const inMulti = new Set<string>();
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 2);
      // +1795333654.637200 [0 127.0.0.1:50448] "xtrim" "key" …   (+OK first)
      const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"/.exec(line);
      if (!m) continue;
      const [, source, name] = m;
      const cmd = name!.toLowerCase();
      if (DRAINER_COMMANDS.has(cmd)) continue;
      last = performance.now();
      if (source === 'lua') { scriptCommands++; continue; }
      if (cmd === 'multi') { inMulti.add(source!); roundTrips++; continue; }
      if (cmd === 'exec' || cmd === 'discard') { inMulti.delete(source!); continue; }
      if (!inMulti.has(source!)) roundTrips++;
    }
  });
  return {
    async count(during) {
      roundTrips = 0;
      scriptCommands = 0;
      const flows = Math.max(1, await during());
      // The monitor stream trails the commands a little: wait until it has been quiet for 50 ms.
      while (performance.now() - last < 50) await new Promise((r) => setTimeout(r, 20));
      return { flows, roundTripsPerFlow: roundTrips / flows, scriptCommandsPerFlow: scriptCommands / flows };
    },
    async close() {
      socket.destroy();
    },
  };
}

/** Members of every grant index under `prefix`: keys of tokens issued within live grants (dead ones included). */
export async function grantIndexMembers(probe: RedisProbe, prefix: string): Promise<{ indexes: number; members: number }> {
  const indexes = await probe.keys(`${prefix}oidc:grant-members:`);
  const pipeline = probe.redis.pipeline();
  for (const k of indexes) pipeline.zcard(k);
  const replies = (await pipeline.exec()) ?? [];
  return { indexes: indexes.length, members: replies.reduce((s, [, n]) => s + Number(n ?? 0), 0) };
}

export interface GrantIndexHealth { indexes: number; members: number; sampledMembers: number; deadMembers: number; largest: number }

/**
 * The grant indexes under `prefix` (sorted sets of the token keys issued within a grant, by expiry, so that
 * revoking the grant finds them): how many members they hold and, over a sample, how many name a key that
 * has already expired. Dead members are trimmed whenever the grant gets a new token; until then they are
 * memory that only the index's own expiry gives back.
 */
export async function grantIndexHealth(probe: RedisProbe, prefix: string, sample = 200): Promise<GrantIndexHealth> {
  const indexes = await probe.keys(`${prefix}oidc:grant-members:`);
  const sizes = probe.redis.pipeline();
  for (const k of indexes) sizes.zcard(k);
  const counts = ((await sizes.exec()) ?? []).map(([, n]) => Number(n ?? 0));
  let sampledMembers = 0;
  let deadMembers = 0;
  for (const index of indexes.slice(0, sample)) {
    const members = await probe.redis.zrange(index, 0, -1);
    const exists = probe.redis.pipeline();
    for (const m of members) exists.exists(m);
    const found = ((await exists.exec()) ?? []).map(([, n]) => Number(n ?? 0));
    sampledMembers += members.length;
    deadMembers += found.filter((n) => n === 0).length;
  }
  return { indexes: indexes.length, members: counts.reduce((a, b) => a + b, 0), sampledMembers, deadMembers, largest: Math.max(0, ...counts) };
}
