// Sessions: find by person (identity number in a POST form, never in a URL), by app or by IP, or list all,
// newest login first; inspect one; end one or all of a person's, with each app's logout delivery shown.
import type { AccountView, EndReport, LoginEvent, SessionView } from '../../sessions/oversight.ts';
import { beijing, facts, field, fill, h, hidden, notice, page, table, type Frame } from '../layout.ts';

export type SessionFilterView =
  | { kind: 'all' } | { kind: 'account'; account: AccountView } | { kind: 'client'; clientId: string } | { kind: 'ip'; ip: string };

export interface SessionsView {
  filter: SessionFilterView;
  items: SessionView[];
  /** The query string of the next page, if any. */
  next?: string;
  history?: LoginEvent[];
  error?: string;
}

const mono = (s: string | undefined) => (s ? `<span class="mono">${h(s)}</span>` : '—');
const method = (s: { acr?: string; amr: string[] }) => h([s.acr, s.amr.join('+')].filter(Boolean).join(' · ') || '—');

function searchForms(f: Frame, v: SessionsView): string {
  const { m, viewer } = f;
  const client = v.filter.kind === 'client' ? v.filter.clientId : '';
  const ip = v.filter.kind === 'ip' ? v.filter.ip : '';
  return `<div class="panels">
<form method="post" action="/admin/sessions/search" class="panel" autocomplete="off">
<h2>${h(m.findPerson)}</h2>
${hidden('csrf', viewer!.csrf)}
<div class="form-row">${field({ id: 'id_number', label: m.idNumberLabel, hint: m.findPersonHint, error: v.error, attributes: 'required maxlength="32" autocomplete="off" spellcheck="false" autocapitalize="characters"' })}
<button type="submit" class="button button-primary">${h(m.find)}</button></div>
</form>
<form method="get" action="/admin/sessions" class="panel">
<h2>${h(m.filterTitle)}</h2>
<div class="form-row">${field({ id: 'client', label: m.clientFilterLabel, value: client, attributes: 'maxlength="64"' })}
${field({ id: 'ip', label: m.ipFilterLabel, value: ip, attributes: 'maxlength="64"' })}
<button type="submit" class="button button-secondary">${h(m.filter)}</button>
${v.filter.kind !== 'all' ? `<a class="button button-secondary" href="/admin/sessions">${h(m.showAll)}</a>` : ''}</div>
</form>
</div>`;
}

function heading(f: Frame, filter: SessionFilterView): string {
  const { m } = f;
  switch (filter.kind) {
    case 'account': return fill(m.sessionsOf, { masked: `<span class="mono">${h(filter.account.idMasked)}</span>` });
    case 'client': return fill(m.sessionsOfClient, { client: `<code>${h(filter.clientId)}</code>` });
    case 'ip': return fill(m.sessionsOfIp, { ip: `<code>${h(filter.ip)}</code>` });
    default: return h(m.allSessions);
  }
}

function reasonField(f: Frame, id: string): string {
  return field({ id, name: 'reason', label: f.m.reasonLabel, attributes: 'maxlength="500"' });
}

export function sessionsPage(f: Frame, v: SessionsView): string {
  const { m, viewer } = f;
  const canEnd = viewer?.can('sessions.end');
  const rows = v.items.map((s) => [
    h(beijing(s.loginAt)), h(beijing(s.lastActiveAt)),
    s.account ? `<a href="/admin/sessions?account=${encodeURIComponent(s.account.id)}" class="mono">${h(s.account.idMasked)}</a>` : '—',
    mono(s.ip), `<div class="wrap">${s.apps.map((a) => h(a.name ?? a.clientId)).join('、') || '—'}</div>`, method(s),
    `<a href="/admin/sessions/${encodeURIComponent(s.uid)}">${h(m.inspect)}</a>`,
  ]);
  const account = v.filter.kind === 'account' ? v.filter.account : undefined;
  const endAll = account && canEnd && v.items.length
    ? `<form method="post" action="/admin/sessions/end-all" class="action-box">${hidden('csrf', viewer!.csrf)}${hidden('account', account.id)}
${reasonField(f, 'reason-all')}<button type="submit" class="button button-danger">${h(m.endAll)}</button></form>` : '';
  const links = account ? `<p>${viewer?.can('accounts.read') ? `<a href="/admin/accounts/${encodeURIComponent(account.id)}">${h(m.nav.accounts)}${h(m.colon)}${h(account.idMasked)}</a>` : ''}</p>` : '';
  const history = v.history
    ? `<h2>${h(m.loginHistoryTitle)}</h2>${table({
      caption: m.loginHistoryTitle, captionHidden: true, head: [m.colTime, m.colType, m.colResult, m.colClient, m.colIp, m.colReason],
      rows: v.history.map((e) => [h(beijing(e.at)), `<code>${h(e.type)}</code>`, outcomeTag(f, e.outcome), h(e.clientId ?? '—'), mono(e.ip), h(e.reason ?? '')]),
      empty: m.noLoginHistory,
    })}` : '';
  const main = `<p class="lead">${h(m.sessionsIntro)}</p>
${searchForms(f, v)}
<h2>${heading(f, v.filter)}</h2>
${links}
${table({ caption: m.sessionsTitle, captionHidden: true, head: [m.colLogin, m.colLastActive, m.colAccount, m.colIp, m.colApps, m.colMethod, m.colActions], rows, empty: m.noSessions })}
${v.next ? `<p class="pager"><a href="/admin/sessions?${h(v.next)}">${h(m.nextPage)}</a></p>` : ''}
${endAll}
${history}`;
  return page({ ...f, section: 'sessions' }, { title: m.sessionsTitle, main });
}

export const outcomeTag = (f: Frame, outcome: string) =>
  `<span class="tag ${outcome === 'success' ? 'tag-ok' : 'tag-bad'}">${h(f.m.outcomes[outcome] ?? outcome)}</span>`;

export function sessionPage(f: Frame, s: SessionView & { sids: Record<string, string | undefined> }): string {
  const { m, viewer } = f;
  const apps = s.apps.length
    ? `<ul>${s.apps.map((a) => `<li>${h(a.name ?? a.clientId)} <code>${h(a.clientId)}</code> — ${h(m.fieldSid)}: <code>${h(s.sids[a.clientId] ?? '—')}</code></li>`).join('')}</ul>` : '—';
  const end = viewer?.can('sessions.end')
    ? `<form method="post" action="/admin/sessions/${encodeURIComponent(s.uid)}/end" class="action-box">${hidden('csrf', viewer.csrf)}
${reasonField(f, 'reason-one')}<button type="submit" class="button button-danger">${h(m.endSession)}</button></form>` : '';
  const main = `${facts([
    [m.fieldUid, `<code>${h(s.uid)}</code>`],
    [m.colAccount, s.account ? `<a href="/admin/sessions?account=${encodeURIComponent(s.account.id)}" class="mono">${h(s.account.idMasked)}</a>` : '—'],
    [m.colLogin, h(beijing(s.loginAt))],
    [m.colLastActive, h(beijing(s.lastActiveAt))],
    [m.fieldExpires, h(beijing(s.expiresAt))],
    [m.colMethod, method(s)],
    [m.colIp, mono(s.ip)],
    [m.fieldUserAgent, h(s.userAgent ?? '—')],
    [m.colApps, apps],
  ])}
${end}`;
  return page({ ...f, section: 'sessions' }, { title: m.sessionTitle, main });
}

/** `otherGrants`: grants "end all" revoked beyond the sessions' own (offline access outliving its session). */
export function endedPage(f: Frame, v: { account?: AccountView; reports: EndReport[]; otherGrants?: number }): string {
  const { m } = f;
  const grants = v.reports.reduce((n, r) => n + r.grantsRevoked, v.otherGrants ?? 0);
  const rows = v.reports.flatMap((r) => r.deliveries.map((d) => [
    `<code>${h(r.uid)}</code>`, h(r.apps.find((a) => a.clientId === d.clientId)?.name ?? d.clientId),
    `<span class="tag ${d.outcome === 'delivered' ? 'tag-ok' : d.outcome === 'failed' ? 'tag-bad' : 'tag-muted'}">${h(m.deliveryOutcomes[d.outcome] ?? d.outcome)}</span>`,
    h(d.reason ?? ''),
  ]));
  const back = v.account ? `/admin/sessions?account=${encodeURIComponent(v.account.id)}` : '/admin/sessions';
  const main = `${notice('ok', `<p>${fill(m.endedSummary, { sessions: String(v.reports.length), grants: String(grants) })}</p>`)}
<h2>${h(m.deliveriesTitle)}</h2>
${table({ caption: m.deliveriesTitle, captionHidden: true, head: [m.fieldUid, m.colApp, m.colOutcome, m.colReason], rows, empty: m.none })}
<p><a href="${back}">${h(m.sessionsTitle)}</a></p>`;
  return page({ ...f, section: 'sessions' }, { title: m.endedTitle, main });
}
