// The dashboard: logins per minute over the last hour (an SVG drawn on the server, with its numbers as a
// table for screen readers), today's counts, and the anomalies of the last 24 hours.
import { beijing, fill, h, page, table, type Frame } from '../layout.ts';
import type { AuditRow, MinuteCount } from '../queries.ts';
import type { ConsoleMessages } from '../i18n.ts';

export interface DashboardView {
  minutes: MinuteCount[];
  lockouts: number;
  activeSessions: number | null;
  anomalies: { total: number; items: AuditRow[] };
}

const W = 720, H = 200, LEFT = 40, RIGHT = 710, TOP = 12, BOTTOM = 170;

function chart(m: ConsoleMessages, minutes: MinuteCount[]): string {
  const ok = minutes.reduce((n, x) => n + x.ok, 0);
  const failed = minutes.reduce((n, x) => n + x.failed, 0);
  const max = Math.max(1, ...minutes.map((x) => x.ok + x.failed));
  const slot = (RIGHT - LEFT) / minutes.length;
  const y = (v: number) => (BOTTOM - TOP) * (v / max);
  const bars = minutes.map((x, i) => {
    const left = (LEFT + i * slot + 1).toFixed(1);
    const width = Math.max(1, slot - 2).toFixed(1);
    const hOk = y(x.ok);
    const hFailed = y(x.failed);
    return (x.ok ? `<rect class="ok" x="${left}" y="${(BOTTOM - hOk).toFixed(1)}" width="${width}" height="${hOk.toFixed(1)}"/>` : '')
      + (x.failed ? `<rect class="failed" x="${left}" y="${(BOTTOM - hOk - hFailed).toFixed(1)}" width="${width}" height="${hFailed.toFixed(1)}"/>` : '');
  }).join('');
  const ticks = minutes.map((x, i) => (i % 10 === 0 || i === minutes.length - 1
    ? `<text x="${(LEFT + i * slot + slot / 2).toFixed(1)}" y="${BOTTOM + 18}" text-anchor="middle">${beijing(x.minute).slice(11, 16)}</text>` : '')).join('');
  const desc = fill(m.loginsChartDesc, { ok: String(ok), failed: String(failed) });
  const rows = minutes.filter((x) => x.ok || x.failed).map((x) => [beijing(x.minute).slice(11, 16), String(x.ok), String(x.failed)]);
  return `<div class="panel">
<h2 id="chart-title">${h(m.loginsChartTitle)}</h2>
<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-svg-title chart-svg-desc" preserveAspectRatio="xMidYMid meet">
<title id="chart-svg-title">${h(m.loginsChartTitle)}</title><desc id="chart-svg-desc">${desc}</desc>
<line class="axis" x1="${LEFT}" y1="${BOTTOM}" x2="${RIGHT}" y2="${BOTTOM}"/><line class="axis" x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${BOTTOM}"/>
<text x="${LEFT - 6}" y="${TOP + 4}" text-anchor="end">${max}</text><text x="${LEFT - 6}" y="${BOTTOM}" text-anchor="end">0</text>
${bars}${ticks}
</svg>
<p class="legend" aria-hidden="true"><span class="ok">${h(m.successes)}</span><span class="failed">${h(m.failures)}</span></p>
<details><summary>${h(m.chartTable)}</summary>
${table({ caption: m.loginsChartTitle, head: [m.minute, m.successes, m.failures], rows, empty: desc, captionHidden: true })}
</details>
</div>`;
}

function anomalySubject(row: AuditRow): string {
  const d = row.details as { id_masked?: string; region?: string };
  if (d.id_masked) return `<span class="mono">${h(d.id_masked)}</span>`;
  if (d.region) return `<span class="mono">${h(d.region)}</span>`;
  return row.ip ? `<span class="mono">${h(row.ip)}</span>` : '';
}

export function anomalyRows(m: ConsoleMessages, items: AuditRow[]): string[][] {
  return items.map((r) => {
    const d = r.details as { signal?: string; count?: number; threshold?: number; window_seconds?: number };
    const signal = d.signal ?? r.type.replace(/^anomaly\./, '');
    return [
      h(beijing(r.at)), `<div class="wrap">${h(m.anomalyKinds[signal] ?? r.type)}</div>`, anomalySubject(r),
      fill(m.anomalyCount, { count: h(String(d.count ?? '')), minutes: h(String(Math.round((d.window_seconds ?? 0) / 60))), threshold: h(String(d.threshold ?? '')) }),
      r.ip ? `<span class="mono">${h(r.ip)}</span>` : '',
    ];
  });
}

export function dashboardPage(f: Frame, v: DashboardView): string {
  const { m } = f;
  const ok = v.minutes.reduce((n, x) => n + x.ok, 0);
  const failed = v.minutes.reduce((n, x) => n + x.failed, 0);
  const stat = (label: string, value: string, alert = false) =>
    `<li class="stat${alert ? ' stat-alert' : ''}"><span class="stat-value">${h(value)}</span><span class="stat-label">${h(label)}</span></li>`;
  const main = `<ul class="stats">
${stat(m.statLogins, String(ok))}
${stat(m.statFailures, String(failed), failed > 0)}
${stat(m.statSessions, v.activeSessions === null ? '—' : String(v.activeSessions))}
${stat(m.statLockouts, String(v.lockouts), v.lockouts > 0)}
${stat(m.statAnomalies, String(v.anomalies.total), v.anomalies.total > 0)}
</ul>
${chart(m, v.minutes)}
<div class="panel">
<h2 id="anomalies-title">${h(m.anomaliesTitle)}</h2>
${table({ caption: m.anomaliesTitle, captionHidden: true, head: [m.colTime, m.colKind, m.colSubject, m.colCount, m.colIp], rows: anomalyRows(m, v.anomalies.items), empty: m.noAnomalies })}
${f.viewer?.can('audit.read') && v.anomalies.total ? `<p><a href="/admin/audit?type=anomaly.*">${h(m.nav.audit)}${h(m.colon)}anomaly.*</a></p>` : ''}
</div>`;
  return page({ ...f, section: 'dashboard' }, { title: m.dashboardTitle, main });
}
