// Audit: every role reads the whole trail (filter by type, actor, client, time), exports a time range
// through the audit export module and verifies the hash chain. There is nothing here to change or delete.
import type { VerifyResult } from '../../audit/verify.ts';
import { beijing, beijingInput, facts, field, fill, h, hidden, notice, page, table, type Frame } from '../layout.ts';
import type { AuditRow } from '../queries.ts';
import { outcomeTag } from './sessions.ts';

export interface AuditQuery { type: string; actor: string; client: string; from: string; to: string }

export interface AuditPageView { query: AuditQuery; rows: AuditRow[]; next?: string; errors: Partial<Record<'from' | 'to', string>>; defaults: { from: Date; to: Date } }

function actorCell(r: AuditRow): string {
  if (!r.actor) return '—';
  const who = r.actor_masked ? `<span class="mono">${h(r.actor_masked)}</span> ${h(r.actor_name ?? '')}<br>` : '';
  const short = r.actor_masked && r.actor.length > 12 ? `${r.actor.slice(0, 8)}…` : r.actor;
  return `${who}<a href="/admin/audit?actor=${encodeURIComponent(r.actor)}" title="${h(r.actor)}"><code>${h(short)}</code></a>`;
}

function detailsCell(r: AuditRow): string {
  const json = JSON.stringify(r.details ?? {});
  const text = json === '{}' ? '' : json.length > 400 ? `${json.slice(0, 399)}…` : json;
  const session = r.session_id ? `<span class="hint">session ${h(r.session_id)}</span>` : '';
  return `<div class="wrap details">${[text ? `<code>${h(text)}</code>` : '', session].filter(Boolean).join('<br>')}</div>`;
}

function filterForm(f: Frame, v: AuditPageView): string {
  const { m } = f;
  const q = v.query;
  return `<form method="get" action="/admin/audit" class="panel">
<h2>${h(m.auditFilterTitle)}</h2>
<div class="form-row">
${field({ id: 'type', label: m.typeLabel, hint: m.typeHint, value: q.type, attributes: 'maxlength="100" spellcheck="false"' })}
${field({ id: 'actor', label: m.actorLabel, hint: m.actorHint, value: q.actor, attributes: 'maxlength="200" spellcheck="false"' })}
${field({ id: 'client', label: m.clientLabel, value: q.client, attributes: 'maxlength="64" spellcheck="false"' })}
${field({ id: 'from', label: m.fromLabel, value: q.from, type: 'datetime-local', error: v.errors.from })}
${field({ id: 'to', label: m.toLabel, value: q.to, type: 'datetime-local', error: v.errors.to })}
<button type="submit" class="button button-primary">${h(m.filter)}</button>
<a class="button button-secondary" href="/admin/audit">${h(m.showAll)}</a>
</div>
</form>`;
}

function rangeFields(f: Frame, prefix: string, from: string, to: string): string {
  return `${field({ id: `${prefix}-from`, name: 'from', label: f.m.fromLabel, value: from, type: 'datetime-local' })}
${field({ id: `${prefix}-to`, name: 'to', label: f.m.toLabel, value: to, type: 'datetime-local' })}`;
}

function toolForms(f: Frame, v: AuditPageView): string {
  const { m, viewer } = f;
  const from = beijingInput(v.defaults.from);
  const to = beijingInput(v.defaults.to);
  return `<div class="panels">
<form method="post" action="/admin/audit/export" class="panel">
<h2>${h(m.exportTitle)}</h2><p class="hint">${h(m.exportHint)}</p>${hidden('csrf', viewer!.csrf)}
<div class="form-row">${rangeFields(f, 'export', from, to)}
<div class="field"><label for="format">${h(m.formatLabel)}</label><select id="format" name="format"><option value="jsonl">JSON Lines</option><option value="csv">CSV</option></select></div>
<button type="submit" class="button button-secondary">${h(m.exportButton)}</button></div>
</form>
<form method="post" action="/admin/audit/verify" class="panel">
<h2>${h(m.verifyTitle)}</h2><p class="hint">${h(m.verifyHint)}</p>${hidden('csrf', viewer!.csrf)}
<div class="form-row">${rangeFields(f, 'verify', '', '')}
<button type="submit" class="button button-primary">${h(m.verifyButton)}</button></div>
</form>
</div>`;
}

export function auditPage(f: Frame, v: AuditPageView): string {
  const { m } = f;
  const rows = v.rows.map((r) => [
    String(r.id), h(beijing(r.at)), `<code>${h(r.type)}</code>`, outcomeTag(f, r.outcome), actorCell(r),
    r.client_id ? `<a href="/admin/audit?client=${encodeURIComponent(r.client_id)}"><code>${h(r.client_id)}</code></a>` : '—',
    r.ip ? `<span class="mono">${h(r.ip)}</span>` : '—', detailsCell(r),
  ]);
  const main = `${notice('info', `<p>${h(m.auditIntro)}</p>`)}
${filterForm(f, v)}
${table({ caption: m.auditTitle, captionHidden: true, head: [m.colId, m.colTime, m.colType, m.colResult, m.colActor, m.colClient, m.colIp, m.colDetails], rows, empty: m.noEvents })}
${v.next ? `<p class="pager"><a href="/admin/audit?${h(v.next)}">${h(m.nextPage)}</a></p>` : ''}
${toolForms(f, v)}`;
  return page({ ...f, section: 'audit' }, { title: m.auditTitle, main });
}

export function verifyPage(f: Frame, r: VerifyResult, range: { from?: Date; to?: Date }): string {
  const { m } = f;
  const ok = r.findings.length === 0;
  const summary = ok
    ? notice('ok', `<p>${fill(m.verifyOk, { count: String(r.count) })}</p>`)
    : notice('error', `<p>${fill(m.verifyBad, { n: String(r.findings.length) })}</p>`);
  const findings = r.findings.length
    ? `<ul class="findings">${r.findings.map((x) => `<li><span class="tag tag-bad">${h(m.findingKinds[x.kind] ?? x.kind)}</span> ${h(x.message)}</li>`).join('')}</ul>` : '';
  const main = `${summary}
${facts([
    [m.fromLabel, h(range.from ? beijing(range.from) : '—')],
    [m.toLabel, h(range.to ? beijing(range.to) : '—')],
    [m.rangeLabel, r.first && r.last ? fill(m.verifyRange, { first: String(r.first.id), last: String(r.last.id), head: String(r.head.id) }) : h(m.verifyEmpty)],
    ...(r.pruned ? [[m.prunedLabel, h(r.pruned)] as [string, string]] : []),
  ])}
${findings}
<p><a href="/admin/audit">${h(m.backToAudit)}</a></p>`;
  return page({ ...f, section: 'audit' }, { title: m.verifyResultTitle, main });
}
