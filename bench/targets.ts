// Issue 5's targets, checked on this run's rows (yihao on PostgreSQL + Redis beside the ceiling,
// measured side by side). A verdict drawn from a noisy row (someone else's CPU, or a saturated load
// generator) is marked as such: "PASS?" / "FAIL?" — rerun on a quiet machine before believing it.
import type { Argon2Ceiling } from './argon2-ceiling.ts';
import type { ScenarioName } from './load-protocol.ts';
import { SCENARIO_LABEL, ceilingLabelFor, loopCpuMsPerFlow, serverCpuMsPerFlow, type Row } from './report.ts';

export interface Verdict { target: string; pass: boolean; trustworthy: boolean; detail: string; why: string[] }

interface Rule { scenario: ScenarioName; concurrencies: number[]; min: number; of: 'ceiling' | 'argon2'; zeroErrors?: boolean; p99MaxMsAt?: Record<number, number> }

export const RULES: Rule[] = [
  { scenario: 'connect', concurrencies: [8, 32], min: 0.9, of: 'ceiling', zeroErrors: true, p99MaxMsAt: { 8: 50 } },
  { scenario: 'password-login', concurrencies: [8, 32], min: 0.9, of: 'argon2' },
  { scenario: 'userinfo', concurrencies: [8, 32], min: 0.8, of: 'ceiling' },
  { scenario: 'introspection', concurrencies: [8, 32], min: 0.8, of: 'ceiling' },
];

export function checkTargets(rows: Row[], argon2: Argon2Ceiling, server = 'yihao'): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const rule of RULES) {
    for (const c of rule.concurrencies) {
      const row = rows.find((r) => r.server === server && r.scenario === rule.scenario && r.concurrency === c);
      if (!row) continue;
      const ceilingRow = rule.of === 'ceiling' ? rows.find((r) => r.server === ceilingLabelFor(server) && r.scenario === rule.scenario && r.concurrency === c) : undefined;
      const ratio = rule.of === 'ceiling' ? (ceilingRow ? row.flowsPerSec / ceilingRow.flowsPerSec : Number.NaN) : row.flowsPerSec / argon2.hashesPerSec;
      const checks: Array<[boolean, string]> = [[ratio >= rule.min, `${ratio.toFixed(3)} × ${rule.of === 'ceiling' ? 'ceiling' : 'argon2id ceiling'} (≥ ${rule.min.toFixed(2)})`]];
      if (rule.zeroErrors) checks.push([row.errors === 0, `${row.errors} errors (0)`]);
      const p99Max = rule.p99MaxMsAt?.[c];
      if (p99Max !== undefined) checks.push([row.p99Ms <= p99Max, `p99 ${row.p99Ms.toFixed(0)} ms (≤ ${p99Max} ms)`]);
      // A second opinion that noise disturbs less (not a verdict): the ceiling's server CPU per flow ÷ yihao's.
      const opinion = (label: string, of: (r: Row) => number) => `${label}: ceiling ${of(ceilingRow!).toFixed(2)} ÷ yihao ${of(row).toFixed(2)} ms = ${(of(ceilingRow!) / of(row)).toFixed(2)}`;
      const loop = ceilingRow && !Number.isNaN(loopCpuMsPerFlow(row)) && !Number.isNaN(loopCpuMsPerFlow(ceilingRow)) ? `; ${opinion('event loop/flow', loopCpuMsPerFlow)}` : '';
      const cpuRatio = ceilingRow ? ` [${opinion('CPU/flow', serverCpuMsPerFlow)}${loop}]` : '';
      const why = [...row.untrustworthy.map((w) => `yihao row: ${w}`), ...(ceilingRow?.untrustworthy ?? []).map((w) => `ceiling row: ${w}`)];
      if (rule.of === 'ceiling' && !ceilingRow) why.push('no ceiling row');
      verdicts.push({
        target: `${SCENARIO_LABEL[rule.scenario]} c=${c}`, pass: checks.every(([ok]) => ok), trustworthy: why.length === 0,
        detail: checks.map(([ok, text]) => `${ok ? '' : '✗ '}${text}`).join(', ') + cpuRatio, why,
      });
    }
  }
  return verdicts;
}

export function targetsSummary(verdicts: Verdict[], server = 'yihao'): string {
  if (!verdicts.length) return '';
  const label = (v: Verdict) => `${v.pass ? 'PASS' : 'FAIL'}${v.trustworthy ? ' ' : '?'}`;
  const width = Math.max(...verdicts.map((v) => v.target.length));
  const lines = [`targets (issue 5) for ${server}, from this run's side-by-side rows:`];
  for (const v of verdicts) lines.push(`  ${label(v)}  ${v.target.padEnd(width)}  ${v.detail}${v.why.length ? `   — NOT TRUSTWORTHY: ${v.why.join('; ')}` : ''}`);
  const doubtful = verdicts.filter((v) => !v.trustworthy).length;
  if (doubtful) lines.push(`  (${doubtful} verdict${doubtful > 1 ? 's' : ''} marked "?" rest on noisy rows: rerun on a quiet machine)`);
  return lines.join('\n');
}
