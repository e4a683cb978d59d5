// Server-rendered pages. Pure functions from view data to a complete HTML
// document: no scripts, no inline styles, no external assets, so they work
// under `default-src 'none'; style-src 'self'` and on any phone.
//
// Every interpolated value goes through escapeHtml; message templates are
// plain text and are escaped before their placeholders are filled.

import { escapeHtml, fill, htmlDocument } from '../http/html.ts';
import { CLAIM_LABELS, SENSITIVE_CLAIMS, otherLanguage, t } from './i18n.ts';
import type { Lang, Messages } from './i18n.ts';

export const STYLESHEET_PATH = '/assets/yihao.css';

export { escapeHtml };

export interface Layout {
  lang: Lang;
  title: string;
  langSwitchHref?: string | undefined;
  main: string;
  /** More same-origin stylesheets after the site's own (the citizen's account pages add theirs). */
  stylesheets?: string[];
  /** Already-escaped HTML at the top of the footer (the account pages' sign-out link). */
  footer?: string;
}

/** The citizen-facing page frame: header with the language switch, main, privacy footer. */
export function layout({ lang, title, langSwitchHref, main, stylesheets = [], footer = '' }: Layout): string {
  const m = t(lang);
  const other = otherLanguage(lang);
  const langSwitch = langSwitchHref
    ? `<a class="lang-switch" href="${escapeHtml(langSwitchHref)}" lang="${other}" hreflang="${other}">${escapeHtml(m.switchLanguage)}</a>`
    : '';
  return htmlDocument({
    lang, title: `${title} - ${m.siteName}`, stylesheets: [STYLESHEET_PATH, ...stylesheets], body: `<a class="skip-link" href="#main">${escapeHtml(m.skipToContent)}</a>
<header class="site-header">
<div class="site-header-inner">
<span class="site-name">${escapeHtml(m.siteName)}</span>
${langSwitch}
</div>
</header>
<main id="main" class="container" tabindex="-1">
${main}
</main>
<footer class="site-footer">
<div class="container">
${footer}<p>${escapeHtml(m.privacy)}</p>
</div>
</footer>`,
  });
}

function errorSummary(m: Messages, items: { href: string; text: string }[]): string {
  if (items.length === 0) return '';
  const list = items
    .map((item) => `<li><a href="${escapeHtml(item.href)}">${escapeHtml(item.text)}</a></li>`)
    .join('\n');
  return `<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1">
<h2 id="error-summary-title">${escapeHtml(m.errorSummaryTitle)}</h2>
<ul>
${list}
</ul>
</div>`;
}

function csrfField(name: string, token: string): string {
  return `<input type="hidden" name="${name}" value="${escapeHtml(token)}">`;
}

export interface LoginView {
  lang: Lang;
  action: string;
  csrfToken: string;
  clientName: string;
  /** Echoed back after an error so the citizen need not retype it; never the password. */
  idNumber?: string;
  errors?: { id_number?: string; password?: string; form?: string };
  langSwitchHref: string;
}

interface FieldSpec {
  id: string;
  type: 'text' | 'password';
  label: string;
  hint?: string;
  error?: string | undefined;
  value?: string | undefined;
  attributes: string;
}

// The hint sits inside the label, so aria-describedby names only the error:
// a screen reader hears "invalid" and why, and nothing when all is well.
function field(f: FieldSpec): string {
  const errorId = `${f.id}-error`;
  const hint = f.hint ? `\n<span class="hint">${escapeHtml(f.hint)}</span>` : '';
  const error = f.error ? `\n<p class="field-error" id="${errorId}">${escapeHtml(f.error)}</p>` : '';
  const invalid = f.error ? ` aria-invalid="true" aria-describedby="${errorId}"` : '';
  const value = f.value ? ` value="${escapeHtml(f.value)}"` : '';
  return `<div class="field${f.error ? ' field-has-error' : ''}">
<label for="${f.id}"><span class="label-text">${escapeHtml(f.label)}</span>${hint}</label>${error}
<input id="${f.id}" name="${f.id}" type="${f.type}" ${f.attributes} required${invalid}${value}>
</div>`;
}

export function loginPage(v: LoginView): string {
  const m = t(v.lang);
  const errors = v.errors ?? {};
  const summary: { href: string; text: string }[] = [];
  if (errors.form) summary.push({ href: '#form-error', text: errors.form });
  if (errors.id_number) summary.push({ href: '#id_number', text: errors.id_number });
  if (errors.password) summary.push({ href: '#password', text: errors.password });
  const client = `<strong>${escapeHtml(v.clientName)}</strong>`;

  const main = `${errorSummary(m, summary)}
<h1>${escapeHtml(m.loginHeading)}</h1>
<p class="lead">${fill(m.loginContinueTo, { client })}</p>
<form class="form" method="post" action="${escapeHtml(v.action)}" novalidate>
${csrfField('csrf', v.csrfToken)}
${field({
  id: 'id_number',
  type: 'text',
  label: m.idNumberLabel,
  hint: m.idNumberHint,
  error: errors.id_number,
  value: v.idNumber,
  attributes: 'autocomplete="username" inputmode="text" autocapitalize="characters" autocorrect="off" spellcheck="false"',
})}
${field({
  id: 'password',
  type: 'password',
  label: m.passwordLabel,
  error: errors.password,
  attributes: 'autocomplete="current-password"',
})}
${errors.form ? `<p class="form-error" id="form-error" tabindex="-1">${escapeHtml(errors.form)}</p>\n` : ''}<button class="button button-primary" type="submit">${escapeHtml(m.signIn)}</button>
</form>`;

  const title = (summary.length > 0 ? m.errorTitlePrefix : '') + m.loginTitle;
  return layout({ lang: v.lang, title, langSwitchHref: v.langSwitchHref, main });
}

export interface PasswordChangeView {
  lang: Lang;
  action: string;
  csrfToken: string;
  clientName: string;
  errors?: { new_password?: string; confirm_password?: string; form?: string };
  langSwitchHref: string;
}

// After a temporary password: the rules come before the fields, so nobody has to fail to learn them.
export function passwordChangePage(v: PasswordChangeView): string {
  const m = t(v.lang);
  const errors = v.errors ?? {};
  const summary: { href: string; text: string }[] = [];
  if (errors.form) summary.push({ href: '#form-error', text: errors.form });
  if (errors.new_password) summary.push({ href: '#new_password', text: errors.new_password });
  if (errors.confirm_password) summary.push({ href: '#confirm_password', text: errors.confirm_password });
  const client = `<strong>${escapeHtml(v.clientName)}</strong>`;
  const rules = [m.changeRuleLength, m.changeRuleIdentity, m.changeRuleSimple, m.changeRuleTemporary]
    .map((r) => `<li>${escapeHtml(r)}</li>`).join('\n');

  const main = `${errorSummary(m, summary)}
<h1>${escapeHtml(m.changeHeading)}</h1>
<p class="lead">${fill(m.changeLead, { client })}</p>
<div class="rules" id="password-rules">
<h2>${escapeHtml(m.changeRulesTitle)}</h2>
<ul>
${rules}
</ul>
</div>
<form class="form" method="post" action="${escapeHtml(v.action)}" novalidate>
${csrfField('csrf', v.csrfToken)}
${field({
  id: 'new_password',
  type: 'password',
  label: m.newPasswordLabel,
  error: errors.new_password,
  attributes: 'autocomplete="new-password" autocapitalize="off" autocorrect="off" spellcheck="false"',
})}
${field({
  id: 'confirm_password',
  type: 'password',
  label: m.confirmPasswordLabel,
  hint: m.confirmPasswordHint,
  error: errors.confirm_password,
  attributes: 'autocomplete="new-password" autocapitalize="off" autocorrect="off" spellcheck="false"',
})}
${errors.form ? `<p class="form-error" id="form-error" tabindex="-1">${escapeHtml(errors.form)}</p>\n` : ''}<button class="button button-primary" type="submit">${escapeHtml(m.saveNewPassword)}</button>
</form>`;

  const title = (summary.length > 0 ? m.errorTitlePrefix : '') + m.changeTitle;
  return layout({ lang: v.lang, title, langSwitchHref: v.langSwitchHref, main });
}

export interface ConsentView {
  lang: Lang;
  action: string;
  csrfToken: string;
  clientName: string;
  department?: string;
  /** Claim or scope names the app asks for; unknown names are shown as they are. */
  claims: string[];
  langSwitchHref: string;
  cancelAction: string;
}

function claimLabel(lang: Lang, claim: string): string {
  const labels = CLAIM_LABELS[lang];
  // hasOwn: a claim named "constructor" must not find Object.prototype's.
  const known = Object.hasOwn(labels, claim) ? labels[claim] : undefined;
  return known ?? t(lang).claimOther.replace('{claim}', () => claim);
}

export function consentPage(v: ConsentView): string {
  const m = t(v.lang);
  // `phone` and `phone_number` say the same thing to a citizen; list it once.
  const seen = new Set<string>();
  const items: string[] = [];
  for (const claim of v.claims) {
    const label = claimLabel(v.lang, claim);
    if (seen.has(label)) continue;
    seen.add(label);
    items.push(
      SENSITIVE_CLAIMS.has(claim)
        ? `<li class="claim claim-sensitive"><span class="badge">${escapeHtml(m.sensitiveBadge)}</span> <strong>${escapeHtml(label)}</strong></li>`
        : `<li class="claim">${escapeHtml(label)}</li>`,
    );
  }
  const asksSensitive = v.claims.some((claim) => SENSITIVE_CLAIMS.has(claim));
  const client = `<strong>${escapeHtml(v.clientName)}</strong>`;
  const department = v.department
    ? `<p class="lead">${fill(m.consentDepartment, { department: escapeHtml(v.department) })}</p>\n`
    : '';

  const main = `<h1>${fill(m.consentHeading, { client })}</h1>
${department}<p>${escapeHtml(m.consentIntro)}</p>
<ul class="claims">
${items.join('\n')}
</ul>
${asksSensitive ? `<p class="warning">${escapeHtml(m.sensitiveWarning)}</p>\n` : ''}<p class="note">${escapeHtml(m.consentNote)}</p>
<div class="actions">
<form method="post" action="${escapeHtml(v.action)}">
${csrfField('csrf', v.csrfToken)}
<button class="button button-primary" type="submit">${escapeHtml(m.allow)}</button>
</form>
<form method="post" action="${escapeHtml(v.cancelAction)}">
${csrfField('csrf', v.csrfToken)}
<button class="button button-secondary" type="submit">${escapeHtml(m.cancel)}</button>
</form>
</div>`;

  return layout({ lang: v.lang, title: m.consentTitle, langSwitchHref: v.langSwitchHref, main });
}

export interface MessageView {
  lang: Lang;
  title: string;
  message: string;
  status?: number;
  langSwitchHref?: string;
}

/** Errors and notices such as "you are signed out". Shows only what it is given: never a stack. */
export function messagePage(v: MessageView): string {
  const m = t(v.lang);
  const status =
    v.status !== undefined && Number.isInteger(v.status)
      ? `<p class="status">${fill(m.statusLabel, { status: escapeHtml(String(v.status)) })}</p>\n`
      : '';
  const main = `<h1>${escapeHtml(v.title)}</h1>
<p class="lead">${escapeHtml(v.message)}</p>
${status}`;
  return layout({ lang: v.lang, title: v.title, langSwitchHref: v.langSwitchHref, main });
}

export interface LogoutConfirmView {
  lang: Lang;
  action: string;
  xsrf: string;
  clientName?: string;
}

// For oidc-provider's `features.rpInitiatedLogout.logoutSource`. Both buttons
// submit the same form; only "sign out" carries logout=yes, so "stay signed
// in" lets the provider finish the request (back to the app) without ending
// the session (OpenID Connect RP-Initiated Logout 1.0 §3).
export function logoutConfirmPage(v: LogoutConfirmView): string {
  const m = t(v.lang);
  const fromClient = v.clientName
    ? `<p class="lead">${fill(m.logoutFromClient, { client: `<strong>${escapeHtml(v.clientName)}</strong>` })}</p>\n`
    : '';
  const main = `<h1>${escapeHtml(m.logoutHeading)}</h1>
${fromClient}<p>${escapeHtml(m.logoutExplain)}</p>
<form class="actions" method="post" action="${escapeHtml(v.action)}">
${csrfField('xsrf', v.xsrf)}
<button class="button button-primary" type="submit" name="logout" value="yes">${escapeHtml(m.logoutYes)}</button>
<button class="button button-secondary" type="submit">${escapeHtml(m.logoutNo)}</button>
</form>`;
  return layout({ lang: v.lang, title: m.logoutTitle, main });
}

// Served at /assets/yihao.css. Mobile first; colours meet WCAG 2.1 AA
// (body text 16:1, links and buttons #1a5fb4 on white 6.1:1, errors
// #b3261e 6.5:1); focus is a thick yellow-and-black ring visible on any
// background (WCAG 2.4.7, 2.4.11).
export const STYLESHEET = `*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  background: #f2f4f7;
  color: #1b1f24;
  font-family: "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 1.125rem;
  line-height: 1.6;
}
a { color: #1a5fb4; text-decoration: underline; text-underline-offset: 0.15em; }
a:hover { color: #0f3f7a; text-decoration-thickness: 2px; }
a:focus-visible, button:focus-visible, .error-summary:focus, .form-error:focus {
  outline: 3px solid #ffbf47;
  outline-offset: 0;
  box-shadow: 0 0 0 6px #1b1f24;
}
a:focus-visible { background: #ffbf47; color: #1b1f24; text-decoration: none; }
main:focus { outline: none; }
.skip-link {
  position: absolute;
  left: 0.5rem;
  top: -10rem;
  padding: 0.5rem 1rem;
  background: #ffbf47;
  color: #1b1f24;
  z-index: 10;
}
.skip-link:focus { top: 0.5rem; }
.site-header { background: #1a5fb4; color: #fff; border-bottom: 4px solid #0f3f7a; }
.site-header-inner {
  max-width: 40rem;
  margin: 0 auto;
  padding: 0.75rem 1rem;
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  justify-content: space-between;
  gap: 0.5rem 1rem;
}
.site-name { font-weight: 700; font-size: 1.125rem; letter-spacing: 0.02em; }
.site-header .lang-switch {
  color: #fff;
  min-height: 2.75rem;
  display: inline-flex;
  align-items: center;
  padding: 0 0.75rem;
  border: 2px solid rgba(255, 255, 255, 0.8);
  border-radius: 4px;
  text-decoration: none;
}
.site-header .lang-switch:hover { background: #0f3f7a; color: #fff; }
.site-header .lang-switch:focus-visible { background: #ffbf47; color: #1b1f24; }
.container { width: 100%; max-width: 40rem; margin: 0 auto; padding: 0 1rem; }
main.container {
  margin-top: 1rem;
  margin-bottom: 1.5rem;
  padding: 1.25rem 1rem 1.5rem;
  background: #fff;
  border-top: 1px solid #d6dbe1;
  border-bottom: 1px solid #d6dbe1;
}
h1 { font-size: 1.625rem; line-height: 1.3; margin: 0 0 0.75rem; }
h2 { font-size: 1.25rem; line-height: 1.3; margin: 0 0 0.5rem; }
p { margin: 0 0 1rem; }
p, li, .field-error { text-wrap: pretty; }
.lead { font-size: 1.1875rem; color: #3a424d; }
.lead strong, h1 strong { color: #1b1f24; }
.form { margin-top: 1.5rem; }
.field { margin-bottom: 1.5rem; }
.field label { display: block; margin-bottom: 0.375rem; }
.label-text { display: block; font-weight: 700; font-size: 1.1875rem; }
.hint { display: block; color: #4a525d; font-size: 1rem; }
input[type="text"], input[type="password"] {
  display: block;
  width: 100%;
  height: 3.25rem;
  padding: 0.5rem 0.75rem;
  font: inherit;
  font-size: 1.25rem;
  color: #1b1f24;
  background: #fff;
  border: 2px solid #4a525d;
  border-radius: 4px;
}
#id_number { letter-spacing: 0.08em; font-variant-numeric: tabular-nums; }
input:focus {
  outline: 3px solid #ffbf47;
  outline-offset: 0;
  box-shadow: inset 0 0 0 2px #1b1f24;
}
.field-has-error { border-left: 5px solid #b3261e; padding-left: 0.75rem; }
.field-has-error input { border-color: #b3261e; }
.field-error, .form-error { color: #b3261e; font-weight: 700; margin: 0 0 0.375rem; }
.form-error { border-left: 5px solid #b3261e; padding: 0.25rem 0 0.25rem 0.75rem; margin-bottom: 1rem; }
.error-summary {
  border: 4px solid #b3261e;
  padding: 1rem;
  margin-bottom: 1.5rem;
}
.error-summary ul { margin: 0; padding-left: 1.25rem; }
.error-summary a { color: #b3261e; font-weight: 700; }
.error-summary a:focus-visible { color: #1b1f24; }
.button {
  display: block;
  width: 100%;
  min-height: 3.25rem;
  padding: 0.625rem 1.25rem;
  font: inherit;
  font-size: 1.25rem;
  font-weight: 700;
  line-height: 1.3;
  border-radius: 4px;
  cursor: pointer;
  text-align: center;
}
.button-primary { background: #1a5fb4; color: #fff; border: 2px solid #1a5fb4; box-shadow: 0 2px 0 #0f3f7a; }
.button-primary:hover { background: #0f3f7a; border-color: #0f3f7a; }
.button-secondary { background: #fff; color: #1a5fb4; border: 2px solid #1a5fb4; }
.button-secondary:hover { background: #eaf1fb; }
.button:focus-visible { outline: 3px solid #ffbf47; box-shadow: 0 0 0 6px #1b1f24; }
.actions { display: flex; flex-direction: column; gap: 0.75rem; margin-top: 1.5rem; }
.actions form { margin: 0; }
.claims { list-style: none; margin: 0 0 1.25rem; padding: 0; border-top: 1px solid #d6dbe1; }
.claim { padding: 0.75rem 0 0.75rem 1.75rem; border-bottom: 1px solid #d6dbe1; position: relative; }
.claim::before {
  content: "";
  position: absolute;
  left: 0.375rem;
  top: 1.25rem;
  width: 0.5rem;
  height: 0.5rem;
  border-radius: 50%;
  background: #1a5fb4;
}
.claim-sensitive { background: #fdf3e1; border-left: 5px solid #a15c00; padding-left: 0.75rem; padding-right: 0.75rem; }
.claim-sensitive::before { display: none; }
.badge {
  display: inline-block;
  margin-right: 0.25rem;
  padding: 0 0.5rem;
  font-size: 0.9375rem;
  font-weight: 700;
  color: #fff;
  background: #8a4b00;
  border-radius: 3px;
}
.warning { border-left: 5px solid #a15c00; background: #fdf3e1; padding: 0.75rem; color: #1b1f24; }
.note, .status { color: #4a525d; font-size: 1rem; }
.rules { border-left: 5px solid #1a5fb4; background: #eaf1fb; padding: 0.75rem 1rem; margin-bottom: 1.5rem; }
.rules h2 { font-size: 1.1875rem; }
.rules ul { margin: 0; padding-left: 1.25rem; }
.rules li { margin-bottom: 0.25rem; }
.site-footer { margin-top: auto; border-top: 1px solid #d6dbe1; background: #fff; color: #3a424d; font-size: 1rem; padding: 1rem 0 1.25rem; }
.site-footer p { margin: 0; }
@media (min-width: 40rem) {
  main.container { border: 1px solid #d6dbe1; border-radius: 6px; padding: 2rem 2.5rem; margin-top: 2rem; }
  h1 { font-size: 1.875rem; }
  .actions { flex-direction: row; flex-wrap: wrap; }
  .actions .button, .form .button { width: auto; min-width: 10rem; }
}
@media (forced-colors: active) {
  .button, .badge, .claim-sensitive, .warning, .rules { border: 2px solid CanvasText; }
  a:focus-visible, button:focus-visible, input:focus { outline: 3px solid Highlight; }
}
`;
