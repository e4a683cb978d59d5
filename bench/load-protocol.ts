// What the runner and the load generator say to each other over the IPC channel.
import type { Target } from './flows.ts';

export const SCENARIOS = ['connect', 'password-login', 'refresh', 'userinfo', 'introspection', 'client-credentials'] as const;
export type ScenarioName = typeof SCENARIOS[number];

export type Request =
  /** Registers a server to drive; `citizens` are the accounts yihao created (bench/server.ts). */
  | { op: 'target'; target: Target; citizens: number }
  /** Opens what the scenario needs for `concurrency` workers, then warms up for warmupMs (not measured). */
  | { op: 'prepare'; target: string; scenario: ScenarioName; concurrency: number; warmupMs: number }
  /** One measured slice: closed loop for durationMs; answers with the Sample (latencies included). */
  | { op: 'run'; target: string; scenario: ScenarioName; concurrency: number; durationMs: number }
  /** Opens `count` new SSO sessions, each signed in at bench-app and connected at bench-app-2 and -3. */
  | { op: 'sessions-at-three-apps'; target: string; count: number };

export type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
