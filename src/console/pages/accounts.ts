// Accounts: find a person by identity number (POST form), see the account's state, and — security
// administrators only — lock, unlock (which also lifts the lock after failed logins), require a new
// password or withdraw that requirement, and issue a temporary password (shown once, on its own result page).
import type { Account } from '../../accounts/accounts.ts';
import { groupTemporaryPassword } from '../../accounts/temporary-password.ts';
import { consoleRoles } from '../permissions.ts';
import { beijing, facts, field, fill, h, hidden, notice, page, type Frame } from '../layout.ts';

export function accountSearchPage(f: Frame, v: { error?: string }): string {
  const { m, viewer } = f;
  const main = `<p class="lead">${h(m.accountsIntro)}</p>
<form method="post" action="/admin/accounts/search" class="panel" autocomplete="off">
<h2>${h(m.findPerson)}</h2>
${hidden('csrf', viewer!.csrf)}
<div class="form-row">${field({ id: 'id_number', label: m.idNumberLabel, hint: m.findPersonHint, error: v.error, attributes: 'required maxlength="32" autocomplete="off" spellcheck="false" autocapitalize="characters"' })}
<button type="submit" class="button button-primary">${h(m.find)}</button></div>
</form>`;
  return page({ ...f, section: 'accounts' }, { title: m.accountsTitle, main });
}

export interface AccountPageView { account: Account; failures: number; maxFailures: number; message?: string }

function actionForm(f: Frame, o: { account: Account; action: string; label: string; hint?: string; danger?: boolean; endSessions?: boolean }): string {
  const { m, viewer } = f;
  const check = o.endSessions
    ? `<p class="check"><input type="checkbox" id="end-sessions-${o.action}" name="end_sessions" value="yes" checked><label for="end-sessions-${o.action}">${h(m.alsoEndSessions)}</label></p>` : '';
  return `<form method="post" action="/admin/accounts/${encodeURIComponent(o.account.id)}/${o.action}" class="action-box">${hidden('csrf', viewer!.csrf)}
${o.hint ? `<p>${h(o.hint)}</p>` : ''}${check}
${field({ id: `reason-${o.action}`, name: 'reason', label: m.reasonLabel, attributes: 'maxlength="500"' })}
<button type="submit" class="button ${o.danger ? 'button-danger' : 'button-primary'}">${h(o.label)}</button></form>`;
}

export function accountPage(f: Frame, v: AccountPageView): string {
  const { m, viewer } = f;
  const a = v.account;
  const locked = a.status !== 'active';
  const failures = v.failures >= v.maxFailures
    ? `<span class="tag tag-bad">${fill(m.failuresLocked, { count: String(v.failures) })}</span>`
    : v.failures ? fill(m.failuresCount, { count: String(v.failures) }) : h(m.failuresNone);
  const roles = a.roles.map((r) => h(m.roles[r] ?? r)).join('、') || h(m.none);
  const change = viewer?.can('accounts.change')
    ? `<div class="actions">
${locked || v.failures >= v.maxFailures
    ? actionForm(f, { account: a, action: 'unlock', label: m.unlock, hint: m.unlockHint })
    : actionForm(f, { account: a, action: 'lock', label: m.lock, danger: true, endSessions: true })}
${a.temporaryPasswordExpiresAt ? '' : a.passwordResetRequired
    ? actionForm(f, { account: a, action: 'cancel-reset', label: m.cancelReset })
    : actionForm(f, { account: a, action: 'force-reset', label: m.forceReset, hint: m.forceResetHint, danger: true, endSessions: true })}
${consoleRoles(a.roles).length ? `<p class="hint">${h(m.temporaryRefusedForAdministrators)}</p>`
    : actionForm(f, { account: a, action: 'temporary-password', label: m.issueTemporary, hint: m.issueTemporaryHint, danger: true })}
</div>` : '';
  const links = [
    viewer?.can('sessions.read') ? `<a href="/admin/sessions?account=${encodeURIComponent(a.id)}">${h(m.viewSessions)}</a>` : '',
    viewer?.can('audit.read') ? `<a href="/admin/audit?actor=${encodeURIComponent(a.id)}">${h(m.viewAudit)}</a>` : '',
  ].filter(Boolean).join(' · ');
  const main = `${v.message ?? ''}${facts([
    [m.fieldIdMasked, `<span class="mono">${h(a.idMasked)}</span>`],
    [m.fieldName, h(a.name)],
    [m.fieldStatus, `<span class="tag ${locked ? 'tag-bad' : 'tag-ok'}">${h(m.statuses[a.status] ?? a.status)}</span>`],
    [m.fieldFailures, failures],
    [m.fieldResetRequired, a.passwordResetRequired ? `<span class="tag tag-bad">${h(m.yes)}</span>` : h(m.no)],
    ...(a.temporaryPasswordExpiresAt ? [[m.fieldTemporaryUntil, h(beijing(a.temporaryPasswordExpiresAt))] as [string, string]] : []),
    [m.fieldRoles, roles],
    ['ID', `<code>${h(a.id)}</code>`],
  ])}
${change}
<p>${links}</p>`;
  return page({ ...f, section: 'accounts' }, { title: m.accountTitle.replace('{masked}', () => a.idMasked), main });
}

/** The temporary password, once: this page is the response to the POST (no-store), never a URL to come back to. */
export function temporaryPasswordPage(f: Frame, v: { account: Account; password: string; expiresAt: Date; ended: number }): string {
  const { m } = f;
  const a = v.account;
  const also = v.ended > 0 ? ` ${fill(m.alsoEnded, { n: String(v.ended) })}` : '';
  const main = `${notice('ok', `<p>${fill(m.temporaryIssued, { masked: h(a.idMasked), name: h(a.name) })}${also}</p>`)}
<h2>${h(m.temporaryTitle)}</h2>
<p>${h(m.temporaryNote)}</p>
<code class="secret temporary-password" id="temporary-password" lang="en">${h(groupTemporaryPassword(v.password))}</code>
<p>${h(m.temporaryHowTo)}</p>
<p>${fill(m.temporaryExpires, { at: h(beijing(v.expiresAt)) })}</p>
<p><a href="/admin/accounts/${encodeURIComponent(a.id)}">${h(m.backToAccount)}</a></p>`;
  return page({ ...f, section: 'accounts' }, { title: m.issueTemporary, main });
}
