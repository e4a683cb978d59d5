// Throw-away PostgreSQL (with a realistic shared_buffers) and Redis (test/support/servers.ts), stopped when the bench is done, and the
// two deployment shapes as the environment yihao's child gets: PostgreSQL + Redis (the default), or
// embedded (PGlite, short-lived state in the database; --setup embedded). The ceiling always uses
// the same Redis as yihao, under its own key prefix (rows never overlap in time).
import { createDatabase, startPostgres, startRedis } from '../test/support/servers.ts';
import { onCleanup } from './cleanup.ts';

export type SetupName = 'postgres+redis' | 'embedded';
export const SETUPS: SetupName[] = ['postgres+redis', 'embedded'];

export const YIHAO_REDIS_PREFIX = 'bench:';
export const CEILING_REDIS_PREFIX = 'ceiling:';
export const CEILING_CLUSTER_REDIS_PREFIX = 'ceiling-cluster:';
/** A production-like PostgreSQL cache rather than the tests' 32 MB: the bench's tables and indexes all fit. */
export const BENCH_SHARED_BUFFERS = '256MB';

export interface Storage {
  redisUrl: string;
  /** yihao's database on the throw-away PostgreSQL (absent when it was not started). */
  databaseUrl?: string;
  /** yihao's environment for a setup. */
  env(setup: SetupName): Record<string, string>;
  /** Another empty database on the same PostgreSQL (a second yihao with its own accounts). */
  extraDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export async function startStorage(o: { postgres: boolean }): Promise<Storage> {
  const redis = await startRedis();
  const stopRedis = onCleanup('Redis', () => redis.stop());
  let adminUrl: string | undefined;
  let databaseUrl: string | undefined;
  let stopPostgres = async () => {};
  if (o.postgres) {
    const postgres = await startPostgres({ sharedBuffers: BENCH_SHARED_BUFFERS });
    stopPostgres = onCleanup('PostgreSQL', () => postgres.stop());
    adminUrl = postgres.url;
    databaseUrl = await createDatabase(adminUrl, 'yihao_bench');
  }
  return {
    redisUrl: redis.url,
    databaseUrl,
    env(setup): Record<string, string> {
      if (setup === 'embedded') return {};
      if (!databaseUrl) throw new Error('PostgreSQL was not started');
      return { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, REDIS_KEY_PREFIX: YIHAO_REDIS_PREFIX };
    },
    async extraDatabase() {
      if (!adminUrl) throw new Error('PostgreSQL was not started');
      return createDatabase(adminUrl, 'yihao_bench');
    },
    async stop() {
      await stopPostgres();
      await stopRedis();
    },
  };
}
