// The two deployment shapes the bench compares, as the environment the server child gets:
// embedded (PGlite, short-lived state in the database) and PostgreSQL + Redis (throw-away servers
// from test/support/servers.ts, stopped when the setup is done).
import { createDatabase, startPostgres, startRedis } from '../test/support/servers.ts';
import { onCleanup } from './cleanup.ts';

export type SetupName = 'embedded' | 'postgres+redis';
export const SETUPS: SetupName[] = ['embedded', 'postgres+redis'];

export interface Storage { env: Record<string, string>; stop(): Promise<void> }

export async function startStorage(name: SetupName): Promise<Storage> {
  if (name === 'embedded') return { env: {}, stop: async () => {} };
  const postgres = await startPostgres();
  const stopPostgres = onCleanup('PostgreSQL', () => postgres.stop());
  const redis = await startRedis();
  const stopRedis = onCleanup('Redis', () => redis.stop());
  return {
    env: {
      DATABASE_URL: await createDatabase(postgres.url, 'yihao_bench'),
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'bench:',
    },
    async stop() {
      await stopRedis();
      await stopPostgres();
    },
  };
}
