// Clients: the list and one client, read by every console role; disable, enable and secret rotation for
// the system administrator only (the forms are not even shown to the others, and the routes refuse them).
import type { ClientAdmin } from '../../admin/clients.ts';
import { beijing, facts, fill, h, hidden, notice, page, table, type Frame } from '../layout.ts';

export type ClientView = Awaited<ReturnType<ClientAdmin['get']>>;

const statusTag = (f: Frame, c: ClientView) =>
  c.status === 'enabled' ? `<span class="tag tag-ok">${h(f.m.enabled)}</span>` : `<span class="tag tag-bad">${h(f.m.disabled)}</span>`;
const protocol = (c: ClientView) => (c.protocol === 'cas' ? 'CAS' : 'OpenID Connect');
const list = (items: string[] | undefined) => (items?.length ? `<ul>${items.map((u) => `<li><code>${h(u)}</code></li>`).join('')}</ul>` : '—');

export function clientsPage(f: Frame, v: { clients: ClientView[]; nextCursor: string | null; paged: boolean }): string {
  const { m } = f;
  const rows = v.clients.map((c) => [
    `<a href="/admin/clients/${encodeURIComponent(c.client_id)}"><code>${h(c.client_id)}</code></a>`,
    h(c.client_name ?? ''), h(c.department ?? ''), h(protocol(c)), statusTag(f, c),
  ]);
  const pager = [
    v.paged ? `<a href="/admin/clients">${h(m.firstPage)}</a>` : '',
    v.nextCursor ? `<a href="/admin/clients?cursor=${encodeURIComponent(v.nextCursor)}">${h(m.nextPage)}</a>` : '',
  ].filter(Boolean).join('');
  const main = `<p class="lead">${h(m.clientsIntro)}</p>
${f.viewer?.can('clients.change') ? '' : notice('info', `<p>${h(m.clientsReadOnly)}</p>`)}
${table({ caption: m.clientsTitle, captionHidden: true, head: [m.colClientId, m.colName, m.colDepartment, m.colProtocol, m.colStatus], rows, empty: m.noClients })}
${pager ? `<p class="pager">${pager}</p>` : ''}`;
  return page({ ...f, section: 'clients' }, { title: m.clientsTitle, main });
}

function actions(f: Frame, c: ClientView): string {
  const { m, viewer } = f;
  if (!viewer?.can('clients.change')) return notice('info', `<p>${h(m.clientsReadOnly)}</p>`);
  const base = `/admin/clients/${encodeURIComponent(c.client_id)}`;
  const toggle = c.status === 'enabled'
    ? `<form method="post" action="${base}/disable" class="action-box">${hidden('csrf', viewer.csrf)}<button type="submit" class="button button-danger">${h(m.disable)}</button></form>`
    : `<form method="post" action="${base}/enable" class="action-box">${hidden('csrf', viewer.csrf)}<button type="submit" class="button button-primary">${h(m.enable)}</button></form>`;
  const rotate = c.has_secret
    ? `<form method="post" action="${base}/rotate-secret" class="action-box">${hidden('csrf', viewer.csrf)}
<div class="field"><label for="grace_seconds">${h(m.graceLabel)}</label>
<select id="grace_seconds" name="grace_seconds"><option value="0">${h(m.graceNow)}</option><option value="86400" selected>${h(m.graceDay)}</option><option value="604800">${h(m.graceWeek)}</option></select></div>
<button type="submit" class="button button-secondary">${h(m.rotate)}</button></form>`
    : '';
  return `<div class="actions">${toggle}${rotate}</div>`;
}

export function clientPage(f: Frame, c: ClientView, message?: string): string {
  const { m } = f;
  const approval = c.id_number_approval
    ? `${h(c.id_number_approval.approved_by)}，${h(beijing(c.id_number_approval.approved_at))}<br>${h(c.id_number_approval.legal_basis)}` : h(m.none);
  const main = `${message ?? ''}${facts([
    [m.colClientId, `<code>${h(c.client_id)}</code>`],
    [m.colName, h(c.client_name ?? '')],
    [m.colDepartment, h(c.department ?? '')],
    [m.colProtocol, h(protocol(c))],
    [m.colStatus, statusTag(f, c)],
    [m.fieldFirstParty, h(c.first_party ? m.yes : m.no)],
    [m.fieldScopes, c.allowed_scopes.map((s) => `<code>${h(s)}</code>`).join(' ')],
    [m.fieldRedirectUris, list(c.protocol === 'cas' ? c.cas_services : c.redirect_uris)],
    [m.fieldBackchannel, c.backchannel_logout_uri ? `<code>${h(c.backchannel_logout_uri)}</code>` : '—'],
    [m.fieldIdNumberApproval, approval],
    [m.fieldSecret, h(c.has_secret ? m.secretSet : m.secretNone)],
    [m.fieldRotatedAt, h(c.secret_rotated_at ? beijing(c.secret_rotated_at) : '—')],
    [m.fieldPreviousUntil, h(c.previous_secret_expires_at ? beijing(c.previous_secret_expires_at) : '—')],
    [m.fieldSource, h(`${m.sources[c.source] ?? c.source}${c.source_file ? ` (${c.source_file})` : ''}`)],
    [m.fieldUpdated, h(beijing(c.updated_at))],
  ])}
${actions(f, c)}
${f.viewer?.can('audit.read') ? `<p><a href="/admin/audit?client=${encodeURIComponent(c.client_id)}">${h(m.nav.audit)}${h(m.colon)}${h(c.client_id)}</a></p>` : ''}`;
  return page({ ...f, section: 'clients' }, { title: m.clientTitle.replace('{name}', () => c.client_name ?? c.client_id), main });
}

export function rotatedSecretPage(f: Frame, c: { client_id: string; client_secret: string; previous_secret_expires_at: string | null }): string {
  const { m } = f;
  const main = `${notice('ok', `<p>${fill(m.clientChanged, { what: h(m.actionNames.rotate!) })}</p>`)}
<h2>${h(m.newSecretTitle)}</h2>
<p>${h(m.newSecretNote)}</p>
<code class="secret" id="new-secret">${h(c.client_secret)}</code>
${c.previous_secret_expires_at ? `<p>${h(m.fieldPreviousUntil)}${h(m.colon)}${h(beijing(c.previous_secret_expires_at))}</p>` : ''}
<p><a href="/admin/clients/${encodeURIComponent(c.client_id)}">${h(m.backToClient)}</a></p>`;
  return page({ ...f, section: 'clients' }, { title: m.newSecretTitle, main });
}
