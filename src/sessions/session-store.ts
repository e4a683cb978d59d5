// The session index for the storage the provider uses: Redis when configured, else the database.
import type { Redis } from 'ioredis';
import type { Db } from '../store/db.ts';
import type { SessionIndex } from './session-index.ts';
import { createRedisSessionIndex } from './session-index-redis.ts';
import { createDbSessionIndex } from './session-index-db.ts';

export function sessionIndexFor(core: { redis?: Redis; db: Db; config: { redisKeyPrefix: string } }): SessionIndex {
  // The prefix app.ts gives the Redis adapter, whose Session scripts write these indexes.
  return core.redis ? createRedisSessionIndex(core.redis, `${core.config.redisKeyPrefix}oidc:`) : createDbSessionIndex(core.db);
}
