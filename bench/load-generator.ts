// The load generator, in its own process (forked by load-client.ts) so that it never shares an event
// loop with the runner or a server, and its CPU shows as its own. It keeps each target's prepared state
// (SSO sessions, refresh-token chains, access tokens) between rows and answers the runner's requests
// over the IPC channel: prepare a scenario, run it closed-loop for a while, open sessions at three apps.
import { citizens as makeCitizens, OTHER_APPS, type Citizen } from './fixtures.ts';
import { HttpClient, type CookieJar } from './http.ts';
import {
  openSession, offlineRefreshToken, connectFlow, connectNewApp, passwordLoginFlow, refreshFlow, userinfoFlow, introspectionFlow, clientCredentialsFlow,
  type Target,
} from './flows.ts';
import { runClosedLoop, summarize, type Summary } from './measure.ts';
import type { Request, Response, ScenarioName } from './load-protocol.ts';

interface State {
  target: Target;
  people: Citizen[];
  sessions: CookieJar[];
  /** A chain whose refresh failed may have lost its token (a reuse then revokes the grant): rebuilt at the next prepare. */
  chains: Array<{ refreshToken: string; broken?: boolean }>;
  accessTokens: string[];
  accessTokensAt: number;
}

const states = new Map<string, State>();
const stateOf = (name: string) => {
  const s = states.get(name);
  if (!s) throw new Error(`unknown target ${name}`);
  return s;
};

/** Runs fn over 0…count-1 with at most `limit` at a time. */
async function eachLimited(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) await fn(next++);
  }));
}

async function withClient<T>(s: State, sockets: number, fn: (http: HttpClient) => Promise<T>): Promise<T> {
  const http = new HttpClient(s.target.issuer, sockets);
  try {
    return await fn(http);
  } finally {
    http.close();
  }
}

/** Session i is citizen i's (yihao) or account ceiling-i's (the ceiling). */
async function ensureSessions(s: State, count: number): Promise<void> {
  const have = s.sessions.length;
  if (have >= count) return;
  await withClient(s, 4, (http) => eachLimited(count - have, 4, async (k) => {
    const i = have + k;
    s.sessions[i] = await openSession(http, s.target, s.people[i % s.people.length]!, String(i));
  }));
}

// Access tokens live ACCESS_TOKEN_TTL_SECONDS (600 s by default): fetch new ones well before that.
const ACCESS_TOKEN_REUSE_MS = 120_000;

async function prepare(s: State, scenario: ScenarioName, workers: number): Promise<void> {
  if (scenario === 'password-login' || scenario === 'client-credentials') return;
  await ensureSessions(s, workers);
  if (scenario === 'refresh') {
    const missing = Array.from({ length: workers }, (_, i) => i).filter((i) => !s.chains[i] || s.chains[i]!.broken);
    await withClient(s, 4, (http) => eachLimited(missing.length, 4, async (k) => {
      const i = missing[k]!;
      s.chains[i] = { refreshToken: await offlineRefreshToken(http, s.sessions[i]!) };
    }));
  }
  if (scenario === 'userinfo' || scenario === 'introspection') {
    if (s.accessTokens.length < workers || Date.now() - s.accessTokensAt > ACCESS_TOKEN_REUSE_MS) {
      s.accessTokensAt = Date.now();
      s.accessTokens = [];
      await withClient(s, 4, (http) => eachLimited(workers, 4, async (i) => { s.accessTokens[i] = await connectFlow(http, s.sessions[i]!); }));
    }
  }
}

function flowOf(s: State, scenario: ScenarioName, http: HttpClient): (worker: number) => Promise<void> {
  switch (scenario) {
    case 'connect': return async (i) => { await connectFlow(http, s.sessions[i]!); };
    // Each worker signs in as its own citizen: a success resets that number's throttle counter.
    case 'password-login': return (i) => passwordLoginFlow(http, s.people[i % s.people.length]!);
    case 'refresh': return async (i) => {
      const chain = s.chains[i]!;
      if (chain.broken) {
        await new Promise((r) => setTimeout(r, 50)); // counted as an error, without spinning the CPU
        throw new Error('refresh chain broken by an earlier error');
      }
      try {
        await refreshFlow(http, chain);
      } catch (err) {
        chain.broken = true;
        throw err;
      }
    };
    case 'userinfo': return (i) => userinfoFlow(http, s.accessTokens[i]!);
    case 'introspection': return (i) => introspectionFlow(http, s.accessTokens[i]!);
    case 'client-credentials': return () => clientCredentialsFlow(http);
  }
}

/** Prepares the scenario for `concurrency` workers, then warms the server up with it (not measured). */
async function warmUp(s: State, scenario: ScenarioName, concurrency: number, warmupMs: number): Promise<Summary | undefined> {
  await prepare(s, scenario, concurrency);
  if (warmupMs <= 0) return undefined;
  const workers = Math.min(4, concurrency);
  return withClient(s, workers, async (http) => summarize(await runClosedLoop(workers, warmupMs, flowOf(s, scenario, http))));
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'target': {
      states.set(req.target.name, { target: req.target, people: makeCitizens(req.citizens), sessions: [], chains: [], accessTokens: [], accessTokensAt: 0 });
      return null;
    }
    case 'prepare': return warmUp(stateOf(req.target), req.scenario, req.concurrency, req.warmupMs);
    case 'run': {
      const s = stateOf(req.target);
      await prepare(s, req.scenario, req.concurrency);
      return withClient(s, req.concurrency, (http) => runClosedLoop(req.concurrency, req.durationMs, flowOf(s, req.scenario, http)));
    }
    case 'sessions-at-three-apps': {
      // New sessions (fresh cookie jars), each signed in at bench-app and then connected at two more apps.
      const s = stateOf(req.target);
      let errors = 0;
      const examples: string[] = [];
      await withClient(s, 4, (http) => eachLimited(req.count, 4, async (i) => {
        try {
          const jar = await openSession(http, s.target, s.people[i % s.people.length]!, `memory-${i}`);
          for (const app of OTHER_APPS) await connectNewApp(http, jar, app);
        } catch (err) {
          errors++;
          if (examples.length < 3) examples.push((err as Error).message);
        }
      }));
      return { opened: req.count - errors, errors, examples };
    }
  }
}

// The runner may be gone by the time an answer is ready (Ctrl-C): then there is no one to tell.
const reply = (r: Response) => { if (process.connected) process.send!(r, undefined, undefined, () => {}); };
process.on('message', (message: Request & { id: number }) => {
  void handle(message).then(
    (result) => reply({ id: message.id, ok: true, result }),
    (err: unknown) => reply({ id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The runner went away (even killed outright): nothing left to do.
process.on('disconnect', () => process.exit(0));
