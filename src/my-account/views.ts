// The "my apps" pages: server-rendered, no scripts, the login pages' look (their stylesheet and header),
// plus a few rules of their own. The confirmation before a withdrawal is a <details> element: it opens in
// the page without JavaScript, and only its own button posts.
import { CLAIM_LABELS, t, type Lang } from '../interactions/i18n.ts';
import { escapeHtml as h, fill } from '../http/html.ts';
import { layout } from '../interactions/views.ts';
import { ACCOUNT_PATHS } from './client.ts';
import { accountText } from './text.ts';
import type { MyApp } from './my-apps.ts';

interface Frame { lang: Lang; langSwitchHref?: string; signOutHref?: string }

function page(f: Frame, title: string, main: string): string {
  return layout({
    lang: f.lang, title, langSwitchHref: f.langSwitchHref, main, stylesheets: [ACCOUNT_PATHS.stylesheet],
    footer: f.signOutHref ? `<p><a href="${h(f.signOutHref)}">${h(accountText(f.lang).signOut)}</a></p>\n` : '',
  });
}

function label(lang: Lang, name: string): string {
  const labels = CLAIM_LABELS[lang];
  return Object.hasOwn(labels, name) ? labels[name]! : t(lang).claimOther.replace('{claim}', () => name);
}

// China Standard Time whatever the server's zone: these are the person's own dates.
const when = (lang: Lang, ms: number) =>
  new Intl.DateTimeFormat(lang, { timeZone: 'Asia/Shanghai', year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(ms);

export interface AppsView extends Frame { apps: MyApp[]; csrf: string; withdrawn?: string }

function appItem(v: AppsView, app: MyApp, i: number): string {
  const x = accountText(v.lang);
  // `offline_access` has its own line; `openid` reads as "confirms it is you", which is worth saying.
  const seen = new Set<string>();
  const rights = [...app.scopes.filter((s) => s !== 'offline_access'), ...app.claims].map((s) => label(v.lang, s))
    .filter((l) => !seen.has(l) && seen.add(l));
  const name = `<strong>${h(app.name)}</strong>`;
  return `<li class="app" id="app-${i}">
<h2>${h(app.name)}</h2>
${app.department ? `<p class="app-department">${h(x.department)}：${h(app.department)}</p>\n` : ''}<p class="app-can">${h(x.canGet)}：</p>
<ul class="claims">
${rights.map((r) => `<li class="claim">${h(r)}</li>`).join('\n')}
</ul>
${app.offline ? `<p class="warning app-offline">${h(x.offline)}</p>\n` : ''}<dl class="app-facts">
<dt>${h(x.grantedAt)}</dt><dd>${h(when(v.lang, app.grantedAt))}</dd>
<dt>${h(x.lastUsed)}</dt><dd>${app.lastUsedAt ? h(when(v.lang, app.lastUsedAt)) : h(x.neverUsed)}</dd>
</dl>
${app.firstParty ? `<p class="note">${h(x.firstParty)}</p>\n` : ''}<details class="withdraw">
<summary class="button button-secondary">${h(x.withdraw)}</summary>
<div class="withdraw-confirm">
<p>${fill(x.withdrawConfirm, { app: name })}</p>
<form method="post" action="${ACCOUNT_PATHS.apps}/${encodeURIComponent(app.grantId)}/withdraw">
<input type="hidden" name="csrf" value="${h(v.csrf)}">
<button class="button button-danger" type="submit">${h(x.withdrawYes)}</button>
</form>
</div>
</details>
</li>`;
}

export function appsPage(v: AppsView): string {
  const x = accountText(v.lang);
  const notice = v.withdrawn
    ? `<div class="notice" role="status"><p>${fill(x.withdrawn, { app: `<strong>${h(v.withdrawn)}</strong>` })}</p></div>\n` : '';
  const list = v.apps.length
    ? `<ul class="apps">\n${v.apps.map((a, i) => appItem(v, a, i)).join('\n')}\n</ul>`
    : `<p class="empty">${h(x.empty)}</p>`;
  return page(v, x.title, `${notice}<h1>${h(x.title)}</h1>
<p class="lead">${h(x.intro)}</p>
${list}`);
}

export function accountMessagePage(f: Frame & { title: string; message: string; status?: number; back?: boolean }): string {
  const x = accountText(f.lang);
  const status = f.status ? `<p class="status">${fill(t(f.lang).statusLabel, { status: h(String(f.status)) })}</p>\n` : '';
  const back = f.back ? `<p><a href="${ACCOUNT_PATHS.apps}">${h(x.backToApps)}</a></p>\n` : '';
  return page(f, f.title, `<h1>${h(f.title)}</h1>
<p class="lead">${h(f.message)}</p>
${status}${back}`);
}

// Served at /account/assets/account.css, after the login pages' stylesheet; same palette and focus ring.
export const ACCOUNT_STYLESHEET = `.apps { list-style: none; margin: 1.5rem 0 0; padding: 0; }
.app { border-top: 3px solid #1a5fb4; padding: 1rem 0 1.5rem; }
.app h2 { font-size: 1.375rem; }
.app-department { color: #3a424d; margin-bottom: 0.5rem; }
.app-can { font-weight: 700; margin-bottom: 0.25rem; }
.app-facts { display: grid; grid-template-columns: auto 1fr; gap: 0.25rem 1rem; margin: 0 0 1rem; }
.app-facts dt { font-weight: 700; color: #3a424d; }
.app-facts dd { margin: 0; }
.withdraw summary { list-style: none; }
.withdraw summary::-webkit-details-marker { display: none; }
.withdraw summary:focus-visible { outline: 3px solid #ffbf47; box-shadow: 0 0 0 6px #1b1f24; }
.withdraw[open] summary { margin-bottom: 0.75rem; }
.withdraw-confirm { border-left: 5px solid #b3261e; padding: 0.75rem; background: #fdecea; }
.withdraw-confirm form { margin: 0; }
.button-danger { background: #b3261e; color: #fff; border: 2px solid #b3261e; box-shadow: 0 2px 0 #7a1a14; }
.button-danger:hover { background: #7a1a14; border-color: #7a1a14; }
.notice { border-left: 5px solid #1e7b34; background: #e8f5ec; padding: 0.75rem; margin-bottom: 1.25rem; }
.notice p { margin: 0; }
.empty { border: 2px dashed #d6dbe1; padding: 1rem; color: #3a424d; }
.site-footer p + p { margin-top: 0.5rem; }
@media (min-width: 40rem) {
  .withdraw .button { width: auto; min-width: 10rem; display: inline-block; }
}
@media (forced-colors: active) {
  .button-danger, .withdraw-confirm, .notice { border: 2px solid CanvasText; }
}
`;
