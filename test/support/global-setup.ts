// One PostgreSQL and one Redis for the whole test run; each test file isolates itself inside them
// (createDatabase for its own database, its own Redis key prefix).
import type { TestProject } from 'vitest/node';
import { startPostgres, startRedis } from './servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [postgres, redis] = await Promise.allSettled([startPostgres(), startRedis()]);
  if (postgres.status === 'rejected' || redis.status === 'rejected') {
    await Promise.all([postgres, redis].map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw postgres.status === 'rejected' ? postgres.reason : (redis as PromiseRejectedResult).reason;
  }
  project.provide('postgresUrl', postgres.value.url);
  project.provide('redisUrl', redis.value.url);
  return async () => {
    await Promise.all([postgres.value.stop(), redis.value.stop()]);
  };
}
