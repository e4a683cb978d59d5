// A morning peak is not one flow at a time: people who are signed in open department apps (connect)
// while others type their passwords (argon2id fills the cores). This measures yihao's connect flows
// alone and while password logins run beside them from a second load generator, and the logins alone and
// beside the connects: what a login costs the people who are already signed in (src/accounts/hash-threads.ts).
// yihao only: the ceiling has no password logins.
import { startLoadGenerator, type LoadGenerator } from './load-client.ts';
import { summarize, type Sample, type Summary } from './measure.ts';

export interface MixedLoad {
  concurrency: number;
  connectAlone: Summary;
  connectDuringLogins: Summary;
  loginsDuringConnects: Summary;
  loginsAlone: Summary;
}

/** Sums slices of one kind into one sample (their latencies pooled). */
function pooled(samples: Sample[]): Summary {
  return summarize(samples.reduce<Sample>((a, s) => ({
    flows: a.flows + s.flows, elapsedMs: a.elapsedMs + s.elapsedMs, latenciesMs: a.latenciesMs.concat(s.latenciesMs),
    errors: a.errors + s.errors, errorKinds: { ...a.errorKinds, ...s.errorKinds }, errorExamples: [...a.errorExamples, ...s.errorExamples],
  }), { flows: 0, elapsedMs: 0, latenciesMs: [], errors: 0, errorKinds: {}, errorExamples: [] }));
}

/**
 * `connects` already knows the target (and has its sessions); a second load generator drives the logins.
 * Slices of `sliceMs`, in the order alone / together / logins alone, `rounds` times.
 */
export async function measureMixedLoad(o: {
  connects: LoadGenerator; target: { name: string; issuer: string }; citizens: number; concurrency: number; sliceMs: number; rounds: number;
}): Promise<MixedLoad> {
  const { connects, target, concurrency, sliceMs } = o;
  const logins = startLoadGenerator();
  try {
    await logins.addTarget({ ...target, login: 'form' }, o.citizens);
    await connects.prepare(target.name, 'connect', concurrency, 0);
    await logins.prepare(target.name, 'password-login', concurrency, 1000);
    const s = { connectAlone: [] as Sample[], connectDuringLogins: [] as Sample[], loginsDuringConnects: [] as Sample[], loginsAlone: [] as Sample[] };
    for (let round = 0; round < o.rounds; round++) {
      s.connectAlone.push(await connects.run(target.name, 'connect', concurrency, sliceMs));
      const [c, l] = await Promise.all([connects.run(target.name, 'connect', concurrency, sliceMs), logins.run(target.name, 'password-login', concurrency, sliceMs)]);
      s.connectDuringLogins.push(c);
      s.loginsDuringConnects.push(l);
      s.loginsAlone.push(await logins.run(target.name, 'password-login', concurrency, sliceMs));
    }
    return {
      concurrency, connectAlone: pooled(s.connectAlone), connectDuringLogins: pooled(s.connectDuringLogins),
      loginsDuringConnects: pooled(s.loginsDuringConnects), loginsAlone: pooled(s.loginsAlone),
    };
  } finally {
    await logins.stop();
  }
}

export function mixedLoadTable(label: string, m: MixedLoad): string {
  const row = (what: string, x: Summary) =>
    `| ${what.padEnd(36)} | ${x.flowsPerSec.toFixed(1).padStart(7)} | ${x.p50Ms.toFixed(0).padStart(6)} | ${x.p99Ms.toFixed(0).padStart(6)} | ${String(x.errors).padStart(6)} |`;
  const c = m.concurrency;
  return [
    `${label}: connect flows while password logins run (c=${c} each, two load generators; see bench/mixed-load.ts)`,
    '| flows | flows/s | p50 ms | p99 ms | errors |',
    '|--------------------------------------|--------:|-------:|-------:|-------:|',
    row(`connect c=${c} alone`, m.connectAlone),
    row(`connect c=${c} during logins c=${c}`, m.connectDuringLogins),
    row(`password login c=${c} during connects`, m.loginsDuringConnects),
    row(`password login c=${c} alone`, m.loginsAlone),
  ].join('\n');
}
