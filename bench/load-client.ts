// The runner's side of the load generator: forks bench/load-generator.ts and sends it requests.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './cleanup.ts';
import type { Target } from './flows.ts';
import type { Sample, Summary } from './measure.ts';
import type { Request, Response, ScenarioName } from './load-protocol.ts';

export interface LoadGenerator {
  pid: number;
  addTarget(target: Target, citizens: number): Promise<void>;
  /** Prepares the scenario for `concurrency` workers and warms up; the warm-up's summary, if any. */
  prepare(target: string, scenario: ScenarioName, concurrency: number, warmupMs: number): Promise<Summary | undefined>;
  run(target: string, scenario: ScenarioName, concurrency: number, durationMs: number): Promise<Sample>;
  sessionsAtThreeApps(target: string, count: number): Promise<{ opened: number; errors: number; examples: string[] }>;
  stop(): Promise<void>;
}

export function startLoadGenerator(): LoadGenerator {
  const child = fork(fileURLToPath(new URL('./load-generator.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  child.on('message', (m: Response) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p?.resolve(m.result);
    else p?.reject(new Error(`load generator: ${m.error}`));
  });
  child.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`load generator exited (${signal ?? code})`));
    pending.clear();
  });
  const stop = onCleanup(`load generator (pid ${child.pid})`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  const ask = <T>(req: Request): Promise<T> => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    child.send({ ...req, id });
  });
  return {
    pid: child.pid!,
    addTarget: (target, citizens) => ask({ op: 'target', target, citizens }),
    prepare: (target, scenario, concurrency, warmupMs) => ask({ op: 'prepare', target, scenario, concurrency, warmupMs }),
    run: (target, scenario, concurrency, durationMs) => ask({ op: 'run', target, scenario, concurrency, durationMs }),
    sessionsAtThreeApps: (target, count) => ask({ op: 'sessions-at-three-apps', target, count }),
    stop,
  };
}
