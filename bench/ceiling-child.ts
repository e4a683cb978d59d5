// Starts bench/ceiling-server.ts (the bare library) in a child process, like yihao-child.ts does yihao.
import { startChildServer, baseEnv, type ChildServer } from './child-server.ts';

export interface CeilingInfo { pid: number; port: number; issuer: string }
export type CeilingServer = ChildServer<CeilingInfo>;

export function startCeilingServer(o: { redisUrl: string; keyPrefix: string; keysDir: string; redisOptions?: string; profileDir?: string }): Promise<CeilingServer> {
  return startChildServer<CeilingInfo>({
    name: 'ceiling server', script: './ceiling-server.ts', profileDir: o.profileDir,
    env: (_dir, port) => ({
      ...baseEnv(), PORT: String(port), REDIS_URL: o.redisUrl, REDIS_KEY_PREFIX: o.keyPrefix, KEYS_DIR: o.keysDir,
      ...(o.redisOptions ? { CEILING_REDIS_OPTIONS: o.redisOptions } : {}),
    }),
  });
}
