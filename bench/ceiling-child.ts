// Starts bench/ceiling-server.ts (the bare library) in a child process, like yihao-child.ts does yihao;
// with workers > 1 that process is a cluster primary forking the workers.
import { startChildServer, baseEnv, type ChildServer } from './child-server.ts';

export interface CeilingInfo { pid: number; port: number; issuer: string; workers: number }
export type CeilingServer = ChildServer<CeilingInfo>;

export function startCeilingServer(o: { redisUrl: string; keyPrefix: string; keysDir: string; redisOptions?: string; profileDir?: string; workers?: number }): Promise<CeilingServer> {
  return startChildServer<CeilingInfo>({
    name: 'ceiling server', script: './ceiling-server.ts', profileDir: o.profileDir,
    env: (_dir, port) => ({
      ...baseEnv(), PORT: String(port), REDIS_URL: o.redisUrl, REDIS_KEY_PREFIX: o.keyPrefix, KEYS_DIR: o.keysDir,
      ...(o.redisOptions ? { CEILING_REDIS_OPTIONS: o.redisOptions } : {}),
      ...(o.workers && o.workers > 1 ? { CEILING_WORKERS: String(o.workers) } : {}),
    }),
  });
}
