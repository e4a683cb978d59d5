// The console's page frame and the small HTML pieces every page uses. Pure functions from view data to
// HTML, like the citizen pages (src/interactions/views.ts): no scripts, no inline styles, every value escaped.
import { escapeHtml as h, fill, htmlDocument } from '../http/html.ts';
import { otherLanguage, type Lang } from '../interactions/i18n.ts';
import { CONSOLE_PATHS } from './client.ts';
import type { ConsoleMessages } from './i18n.ts';
import type { Permission } from './permissions.ts';

export { h, fill };

export type Section = 'dashboard' | 'clients' | 'sessions' | 'accounts' | 'audit';

/** The signed-in administrator as the pages see them. */
export interface Viewer { name: string; roles: string[]; csrf: string; can(p: Permission): boolean }

export interface Frame {
  lang: Lang;
  m: ConsoleMessages;
  viewer?: Viewer;
  section?: Section;
  /** Where the language switch goes (this page in the other language). */
  langSwitchHref: string;
}

const SECTIONS: { key: Section; href: string; permission: Permission }[] = [
  { key: 'dashboard', href: '/admin', permission: 'dashboard.read' },
  { key: 'clients', href: '/admin/clients', permission: 'clients.read' },
  { key: 'sessions', href: '/admin/sessions', permission: 'sessions.read' },
  { key: 'accounts', href: '/admin/accounts', permission: 'accounts.read' },
  { key: 'audit', href: '/admin/audit', permission: 'audit.read' },
];

const BEIJING_MS = 8 * 3600 * 1000;

/** "2025-01-15 09:00:00" in Beijing time (UTC+8), the zone the console states on every page. */
export function beijing(t: string | number | Date): string {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return '';
  return new Date(ms + BEIJING_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** A datetime-local value (Beijing time) for a form field. */
export const beijingInput = (t: string | number | Date) => beijing(t).slice(0, 16).replace(' ', 'T');

/** A datetime-local value read as Beijing time; undefined when empty, null when malformed. */
export function fromBeijingInput(value: string | null | undefined): Date | undefined | null {
  if (!value) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0)) - BEIJING_MS;
  return Number.isFinite(ms) ? new Date(ms) : null;
}

export function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${h(name)}" value="${h(value)}">`;
}

/** A form with one button that POSTs (with the CSRF token) to `action`. */
export function postButton(o: { action: string; csrf: string; label: string; danger?: boolean; fields?: Record<string, string>; extra?: string }): string {
  const fields = Object.entries(o.fields ?? {}).map(([k, v]) => hidden(k, v)).join('');
  return `<form method="post" action="${h(o.action)}" class="inline-form">${hidden('csrf', o.csrf)}${fields}${o.extra ?? ''}`
    + `<button type="submit" class="button ${o.danger ? 'button-danger' : 'button-secondary'}">${h(o.label)}</button></form>`;
}

export function notice(kind: 'ok' | 'error' | 'info', html: string): string {
  const role = kind === 'error' ? ' role="alert"' : ' role="status"';
  return `<div class="notice notice-${kind}"${role}>${html}</div>`;
}

/** A data table: a caption, column headings, rows of already-escaped cells. */
export function table(o: { caption: string; head: string[]; rows: string[][]; empty: string; captionHidden?: boolean }): string {
  if (!o.rows.length) return `<p class="empty">${h(o.empty)}</p>`;
  const head = o.head.map((c) => `<th scope="col">${h(c)}</th>`).join('');
  const body = o.rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table-wrap" role="region" aria-label="${h(o.caption)}" tabindex="0"><table>
<caption${o.captionHidden ? ' class="visually-hidden"' : ''}>${h(o.caption)}</caption>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table></div>`;
}

/** A definition list of label → already-escaped value. */
export function facts(items: [string, string][]): string {
  return `<dl class="facts">${items.map(([k, v]) => `<div><dt>${h(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
}

export function field(o: { id: string; name?: string; label: string; hint?: string; value?: string; type?: string; attributes?: string; error?: string }): string {
  const hint = o.hint ? `<span class="hint" id="${o.id}-hint">${h(o.hint)}</span>` : '';
  const error = o.error ? `<span class="field-error" id="${o.id}-error">${h(o.error)}</span>` : '';
  const described = [o.hint ? `${o.id}-hint` : '', o.error ? `${o.id}-error` : ''].filter(Boolean).join(' ');
  return `<div class="field"><label for="${o.id}">${h(o.label)}</label>${hint}${error}`
    + `<input id="${o.id}" name="${o.name ?? o.id}" type="${o.type ?? 'text'}"${o.value ? ` value="${h(o.value)}"` : ''}`
    + `${described ? ` aria-describedby="${described}"` : ''}${o.error ? ' aria-invalid="true"' : ''} ${o.attributes ?? ''}></div>`;
}

export function page(f: Frame, o: { title: string; main: string }): string {
  const { m, viewer } = f;
  const other = otherLanguage(f.lang);
  const nav = viewer
    ? `<nav class="console-nav" aria-label="${h(m.navLabel)}"><ul>${SECTIONS.filter((s) => viewer.can(s.permission)).map((s) =>
      `<li><a href="${s.href}"${s.key === f.section ? ' aria-current="page"' : ''}>${h(m.nav[s.key])}</a></li>`).join('')}</ul></nav>`
    : '';
  const who = viewer
    ? `<div class="viewer"><span>${fill(m.signedInAs, { name: `<strong>${h(viewer.name)}</strong>` })}</span>
<span class="viewer-roles">${fill(m.rolesOf, { roles: viewer.roles.map((r) => h(m.roles[r] ?? r)).join(f.lang === 'en' ? ', ' : '、') })}</span>
<form method="post" action="${CONSOLE_PATHS.signOut}" class="inline-form">${hidden('csrf', viewer.csrf)}<button type="submit" class="button-link">${h(m.signOut)}</button></form></div>`
    : '';
  return htmlDocument({
    lang: f.lang, title: `${o.title} - ${m.consoleName}`, stylesheets: [CONSOLE_PATHS.stylesheet], body: `<a class="skip-link" href="#main">${h(m.skipToContent)}</a>
<header class="console-header">
<div class="console-header-inner">
<a class="console-name" href="/admin">${h(m.consoleName)}</a>
${who}
<a class="lang-switch" href="${h(f.langSwitchHref)}" lang="${other}" hreflang="${other}">${h(m.switchLanguage)}</a>
</div>
${nav}
</header>
<main id="main" class="console-main" tabindex="-1">
<h1>${h(o.title)}</h1>
${o.main}
</main>
<footer class="console-footer"><p>${h(m.timeNote)}</p></footer>`,
  });
}

/** A page with a message only: errors, forbidden, signed out. */
export function messagePage(f: Frame, o: { title: string; message: string; status?: number; link?: { href: string; text: string } }): string {
  const status = o.status ? `<p class="status">${fill(f.m.statusLabel, { status: h(String(o.status)) })}</p>` : '';
  const link = o.link ? `<p><a class="button button-primary" href="${h(o.link.href)}">${h(o.link.text)}</a></p>` : '';
  return page(f, { title: o.title, main: `<p class="lead">${h(o.message)}</p>\n${status}${link}` });
}
