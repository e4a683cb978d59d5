// The whole environment, parsed once at start. Nothing else reads process.env.
// Every problem is listed at once; production refuses every development convenience.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseSentinelUrl } from './store/redis.ts';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const optionalText = z.string().trim().min(1).optional();

const EnvSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: int(3000, 0),
  ISSUER: z.url().optional(),
  DATABASE_URL: optionalText,
  REDIS_URL: optionalText,
  // Braces too: a hash-tagged prefix such as {yihao}: keeps a deployment's keys in one Cluster slot (docs/scaling.md).
  REDIS_KEY_PREFIX: z.string().regex(/^[\w:.{}-]{0,64}$/).default('yihao:'),
  REDIS_WAIT_REPLICAS: int(0, 0).pipe(z.number().max(16)),
  REDIS_WAIT_TIMEOUT_MS: int(500, 1).pipe(z.number().max(10_000)),
  DATA_DIR: z.string().default('./.data'),
  CLIENTS_DIR: z.string().default('./clients'),
  KEYS_DIR: z.string().default('./keys'),
  YIHAO_INDEX_KEY: optionalText,
  YIHAO_ENCRYPTION_KEYS: optionalText,
  YIHAO_COOKIE_KEYS: optionalText,
  YIHAO_PAIRWISE_KEY: optionalText,
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  ARGON2_MEMORY_KIB: int(19456, 8192),
  ARGON2_TIME_COST: int(2, 1),
  ARGON2_PARALLELISM: int(1, 1),
  LOGIN_MAX_FAILURES: int(5, 1),
  LOGIN_LOCK_SECONDS: int(900, 1),
  LOGIN_IP_MAX_FAILURES: int(100, 1),
  TEMPORARY_PASSWORD_HOURS: int(72, 1).pipe(z.number().max(720)),
  SESSION_TTL_SECONDS: int(8 * 3600, 60),
  ACCESS_TOKEN_TTL_SECONDS: int(600, 30),
  REFRESH_TOKEN_TTL_SECONDS: int(14 * 24 * 3600, 60),
  DEMO_ACCOUNT: z.enum(['true', 'false']).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  WORKERS: z.coerce.number().int().min(1).max(256).optional(),
});

export interface Config {
  production: boolean;
  port: number;
  issuer: string;
  databaseUrl?: string;
  redisUrl?: string;
  redisKeyPrefix: string;
  /**
   * Audit events (and the code or token written with each) acknowledged by this many Redis replicas
   * before the response leaves, within the timeout; 0: the primary's acknowledgement (docs/audit.md).
   */
  redisWait: { replicas: number; timeoutMs: number };
  dataDir: string;
  clientsDir: string;
  keysDir: string;
  secrets: { indexKey?: string; encryptionKeys?: string; cookieKeys?: string[]; pairwiseKey?: string };
  trustProxy: boolean;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  login: { maxFailures: number; lockSeconds: number; ipMaxFailures: number };
  /** How long a temporary password issued at the service desk signs in (docs/console.md "Accounts"). */
  temporaryPasswordHours: number;
  ttl: { session: number; accessToken: number; refreshToken: number };
  demoAccount: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Server processes (src/cluster.ts); unset: one per core. */
  workers?: number;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

// Docker/Kubernetes secrets: NAME_FILE names a file holding NAME's value.
function withFileSecrets(env: NodeJS.ProcessEnv, problems: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const [name, path] of Object.entries(env)) {
    if (!name.endsWith('_FILE') || !name.startsWith('YIHAO_') || !path) continue;
    try {
      out[name.slice(0, -5)] = readFileSync(path, 'utf8').trim();
    } catch {
      problems.push(`${name}: cannot read ${path}`);
    }
  }
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const parsed = EnvSchema.safeParse(withFileSecrets(env, problems));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const issuer = (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const cookieKeys = e.YIHAO_COOKIE_KEYS?.split(',').map((k) => k.trim()).filter(Boolean);

  if (production) {
    if (!issuer.startsWith('https://')) problems.push('ISSUER: must be an https URL when NODE_ENV=production');
    for (const name of ['YIHAO_INDEX_KEY', 'YIHAO_ENCRYPTION_KEYS', 'YIHAO_COOKIE_KEYS', 'YIHAO_PAIRWISE_KEY'] as const) {
      if (!e[name]) problems.push(`${name}: required when NODE_ENV=production`);
    }
    if (!e.DATABASE_URL) problems.push('DATABASE_URL: required when NODE_ENV=production (the embedded database is for development)');
    if (e.DEMO_ACCOUNT === 'true') problems.push('DEMO_ACCOUNT: the demo account cannot be enabled when NODE_ENV=production');
  }
  if (e.REDIS_URL) {
    const sentinel = parseSentinelUrl(e.REDIS_URL);
    if (typeof sentinel === 'string') problems.push(`REDIS_URL: ${sentinel}`);
    else if (!sentinel && !/^rediss?:\/\//.test(e.REDIS_URL)) problems.push('REDIS_URL: must start with redis://, rediss:// or redis-sentinel://');
  }
  if (e.REDIS_WAIT_REPLICAS > 0 && !e.REDIS_URL) problems.push('REDIS_WAIT_REPLICAS: needs REDIS_URL (it waits for Redis replicas)');
  if (cookieKeys?.some((k) => k.length < 32)) problems.push('YIHAO_COOKIE_KEYS: each key must be at least 32 characters');
  if (e.YIHAO_PAIRWISE_KEY && e.YIHAO_PAIRWISE_KEY.length < 32) problems.push('YIHAO_PAIRWISE_KEY: must be at least 32 characters');
  if (problems.length) throw new ConfigError(problems);

  return {
    production,
    port: e.PORT,
    issuer,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisWait: { replicas: e.REDIS_WAIT_REPLICAS, timeoutMs: e.REDIS_WAIT_TIMEOUT_MS },
    dataDir: resolve(e.DATA_DIR),
    clientsDir: resolve(e.CLIENTS_DIR),
    keysDir: resolve(e.KEYS_DIR),
    secrets: { indexKey: e.YIHAO_INDEX_KEY, encryptionKeys: e.YIHAO_ENCRYPTION_KEYS, cookieKeys, pairwiseKey: e.YIHAO_PAIRWISE_KEY },
    trustProxy: e.TRUST_PROXY === 'true',
    argon2: { memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_TIME_COST, parallelism: e.ARGON2_PARALLELISM },
    login: { maxFailures: e.LOGIN_MAX_FAILURES, lockSeconds: e.LOGIN_LOCK_SECONDS, ipMaxFailures: e.LOGIN_IP_MAX_FAILURES },
    temporaryPasswordHours: e.TEMPORARY_PASSWORD_HOURS,
    ttl: { session: e.SESSION_TTL_SECONDS, accessToken: e.ACCESS_TOKEN_TTL_SECONDS, refreshToken: e.REFRESH_TOKEN_TTL_SECONDS },
    demoAccount: !production && e.DEMO_ACCOUNT !== 'false',
    logLevel: e.LOG_LEVEL,
    workers: e.WORKERS,
  };
}
