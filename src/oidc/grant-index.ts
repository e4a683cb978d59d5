// A person's grants (one per app they have let in), for "end every session" and the citizen's "my apps"
// page. Kept by the adapters themselves in the Grant upsert and destroy, like the session indexes: a sorted
// set per account on Redis (src/oidc/adapter-redis.ts), a generated, indexed column on oidc_models in the
// database (migrations/009_grants_by_account.sql, src/oidc/adapter-db.ts).
import type { Redis } from 'ioredis';
import type { Db } from '../store/db.ts';
import { createRedisGrantIndex } from './adapter-redis.ts';
import { createDbGrantIndex } from './adapter-db.ts';

export interface GrantIndex {
  /** Ids of the account's unexpired grants (unordered). Read each through provider.Grant.find. */
  grantsOf(accountId: string): Promise<string[]>;
}

/** The index for the storage the provider uses: Redis when configured, else the database (as app.ts picks). */
export function grantIndexFor(core: { redis?: Redis; db: Db; config: { redisKeyPrefix: string } }): GrantIndex {
  return core.redis ? createRedisGrantIndex(core.redis, `${core.config.redisKeyPrefix}oidc:`) : createDbGrantIndex(core.db);
}
