// Starts bench/server.ts (yihao) in a child process with a clean environment and its own temporary
// directory, waits for its ready line, and tallies the warnings and errors it logs.
import { startChildServer, baseEnv, type ChildServer } from './child-server.ts';

export interface ReadyInfo {
  pid: number; port: number; issuer: string; citizens: number; threadpool: number;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  storage: { database: string; shortLived: string };
  /** Cluster workers, once bench/server.ts passes WORKERS through (absent: one process). */
  workers?: number;
}

export type BenchServer = ChildServer<ReadyInfo>;

export interface ServerOptions {
  storageEnv: Record<string, string>;
  citizens: number;
  /** Signing keys to use (shared with the ceiling); default: generated in the child's directory. */
  keysDir?: string;
  /** More of yihao's environment (ACCESS_TOKEN_TTL_SECONDS for the soak, WORKERS). */
  extraEnv?: Record<string, string>;
  /** Directory for a V8 CPU profile of the server (node --cpu-prof), written when it stops. */
  profileDir?: string;
  timeoutMs?: number;
}

export function startBenchServer(o: ServerOptions): Promise<BenchServer> {
  return startChildServer<ReadyInfo>({
    name: 'yihao server', script: './server.ts', profileDir: o.profileDir, timeoutMs: o.timeoutMs,
    env: (dir, port) => ({
      ...baseEnv(),
      PORT: String(port),
      DATA_DIR: `${dir}/data`,
      CLIENTS_DIR: `${dir}/clients`,
      KEYS_DIR: o.keysDir ?? `${dir}/keys`,
      LOG_LEVEL: 'warn', // production-like: per-request info lines off, warnings and errors on
      BENCH_CITIZENS: String(o.citizens),
      ...o.storageEnv,
      ...o.extraEnv,
    }),
  });
}
