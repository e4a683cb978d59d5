// Served at /admin/assets/console.css: the citizen pages' colours and focus ring (src/interactions/views.ts),
// laid out for desk screens with wide tables, still usable on a phone. Text and controls meet WCAG 2.1 AA.
export const CONSOLE_STYLESHEET = `*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; min-height: 100vh; display: flex; flex-direction: column; background: #f2f4f7; color: #1b1f24;
  font-family: "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 1rem; line-height: 1.6;
}
a { color: #1a5fb4; text-underline-offset: 0.15em; }
a:hover { color: #0f3f7a; text-decoration-thickness: 2px; }
a:focus-visible, button:focus-visible, input:focus, select:focus, summary:focus-visible, .table-wrap:focus-visible {
  outline: 3px solid #ffbf47; outline-offset: 0; box-shadow: 0 0 0 6px #1b1f24;
}
a:focus-visible { background: #ffbf47; color: #1b1f24; text-decoration: none; }
main:focus { outline: none; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.skip-link { position: absolute; left: 0.5rem; top: -10rem; padding: 0.5rem 1rem; background: #ffbf47; color: #1b1f24; z-index: 10; }
.skip-link:focus { top: 0.5rem; }
.console-header { background: #1a5fb4; color: #fff; border-bottom: 4px solid #0f3f7a; }
.console-header-inner, .console-nav ul, .console-main, .console-footer p { max-width: 80rem; margin: 0 auto; }
.console-header-inner { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; padding: 0.75rem 1rem; }
.console-name { color: #fff; font-weight: 700; font-size: 1.125rem; text-decoration: none; margin-right: auto; }
.console-name:hover { color: #fff; text-decoration: underline; }
.viewer { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 1rem; font-size: 0.9375rem; }
.viewer-roles { opacity: 0.95; }
.console-header .lang-switch, .console-header .button-link {
  color: #fff; min-height: 2.5rem; display: inline-flex; align-items: center; padding: 0 0.75rem;
  border: 2px solid rgba(255, 255, 255, 0.85); border-radius: 4px; text-decoration: none; background: transparent; font: inherit; cursor: pointer;
}
.console-header .lang-switch:hover, .console-header .button-link:hover { background: #0f3f7a; color: #fff; }
.console-header .lang-switch:focus-visible { background: #ffbf47; color: #1b1f24; }
.console-nav { background: #0f3f7a; }
.console-nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0; padding: 0 0.5rem; }
.console-nav a { display: inline-flex; align-items: center; min-height: 2.75rem; padding: 0 1rem; color: #fff; text-decoration: none; font-weight: 700; border-bottom: 4px solid transparent; }
.console-nav a:hover { background: #1a5fb4; color: #fff; }
.console-nav a[aria-current="page"] { border-bottom-color: #ffbf47; }
.console-main { width: 100%; flex: 1 0 auto; padding: 1.5rem 1rem 2rem; }
h1 { font-size: 1.75rem; line-height: 1.3; margin: 0 0 1rem; }
h2 { font-size: 1.25rem; line-height: 1.3; margin: 2rem 0 0.75rem; }
p { margin: 0 0 1rem; }
.lead { font-size: 1.125rem; color: #3a424d; max-width: 48rem; }
.panel { background: #fff; border: 1px solid #d6dbe1; border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1.5rem; }
.panel > h2:first-child { margin-top: 0; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 0 1.5rem; }
.stats { list-style: none; margin: 0 0 1.5rem; padding: 0; display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: 1rem; }
.stat { background: #fff; border: 1px solid #d6dbe1; border-left: 6px solid #1a5fb4; border-radius: 6px; padding: 0.75rem 1rem; }
.stat-value { display: block; font-size: 2rem; font-weight: 700; line-height: 1.2; font-variant-numeric: tabular-nums; }
.stat-label { color: #3a424d; font-size: 0.9375rem; }
.stat-alert { border-left-color: #b3261e; }
.stat-alert .stat-value { color: #b3261e; }
.chart { width: 100%; height: auto; display: block; background: #fff; }
.chart .ok { fill: #1a5fb4; }
.chart .failed { fill: #b3261e; }
.chart .axis { stroke: #4a525d; stroke-width: 1; }
.chart text { fill: #3a424d; font-size: 13px; }
.legend { display: flex; gap: 1.5rem; margin: 0.5rem 0; font-size: 0.9375rem; }
.legend span::before { content: ""; display: inline-block; width: 0.875rem; height: 0.875rem; margin-right: 0.375rem; vertical-align: -0.1rem; }
.legend .ok::before { background: #1a5fb4; }
.legend .failed::before { background: #b3261e; }
details summary { cursor: pointer; color: #1a5fb4; text-decoration: underline; margin: 0.5rem 0; }
.table-wrap { overflow-x: auto; margin-bottom: 1rem; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 0.9375rem; }
caption { text-align: left; font-weight: 700; padding: 0.5rem 0; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem 0.75rem; border-bottom: 1px solid #d6dbe1; white-space: nowrap; }
td .wrap { white-space: normal; min-width: 9rem; }
thead th { background: #eaf1fb; border-bottom: 2px solid #1a5fb4; white-space: nowrap; }
tbody tr:hover { background: #f7f9fc; }
td code, dd code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.875rem; }
dd code, .wrap code { overflow-wrap: anywhere; }
.details { min-width: 16rem; max-width: 32rem; overflow-wrap: anywhere; }
.details code { white-space: pre-wrap; overflow-wrap: anywhere; }
.tag { display: inline-block; padding: 0 0.5rem; border-radius: 3px; font-size: 0.875rem; font-weight: 700; white-space: nowrap; }
.tag-ok { background: #e3f1e6; color: #1d5e2c; }
.tag-bad { background: #fbe5e3; color: #8c1d16; }
.tag-muted { background: #eceff3; color: #3a424d; }
.facts { margin: 0 0 1rem; display: grid; grid-template-columns: minmax(10rem, max-content) 1fr; gap: 0; background: #fff; border: 1px solid #d6dbe1; border-radius: 6px; }
.facts > div { display: contents; }
.facts dt, .facts dd { margin: 0; padding: 0.5rem 0.75rem; border-bottom: 1px solid #e4e8ed; }
.facts dt { font-weight: 700; color: #3a424d; }
.facts ul { margin: 0; padding-left: 1.25rem; }
.form-row { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0.75rem 1rem; }
.field { display: flex; flex-direction: column; margin-bottom: 0.75rem; min-width: 12rem; }
.field label { font-weight: 700; }
.hint { color: #4a525d; font-size: 0.875rem; }
.field-error { color: #b3261e; font-weight: 700; }
input[type="text"], input[type="datetime-local"], input[type="search"], select {
  font: inherit; font-size: 1rem; min-height: 2.75rem; padding: 0.375rem 0.625rem; color: #1b1f24; background: #fff;
  border: 2px solid #4a525d; border-radius: 4px;
}
input[aria-invalid="true"] { border-color: #b3261e; }
#id_number { letter-spacing: 0.06em; font-variant-numeric: tabular-nums; min-width: 16rem; }
.check { display: flex; align-items: center; gap: 0.5rem; margin: 0.5rem 0; }
.check input { width: 1.25rem; height: 1.25rem; }
.button {
  display: inline-flex; align-items: center; justify-content: center; min-height: 2.75rem; padding: 0.375rem 1rem; font: inherit;
  font-weight: 700; border-radius: 4px; cursor: pointer; text-decoration: none; margin-bottom: 0.75rem;
}
.button-primary { background: #1a5fb4; color: #fff; border: 2px solid #1a5fb4; }
.button-primary:hover { background: #0f3f7a; border-color: #0f3f7a; color: #fff; }
.button-secondary { background: #fff; color: #1a5fb4; border: 2px solid #1a5fb4; }
.button-secondary:hover { background: #eaf1fb; }
.button-danger { background: #b3261e; color: #fff; border: 2px solid #b3261e; }
.button-danger:hover { background: #8c1d16; border-color: #8c1d16; }
td .button { min-height: 2.25rem; padding: 0.125rem 0.75rem; margin: 0; font-size: 0.875rem; }
.inline-form { display: inline; margin: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem 1rem; align-items: flex-start; }
.action-box { background: #fff; border: 1px solid #d6dbe1; border-radius: 6px; padding: 0.75rem 1rem; }
.action-box p { font-size: 0.9375rem; color: #3a424d; margin-bottom: 0.5rem; max-width: 22rem; }
.notice { border-left: 6px solid #1a5fb4; background: #eaf1fb; padding: 0.75rem 1rem; margin-bottom: 1.25rem; }
.notice-ok { border-left-color: #1d5e2c; background: #e3f1e6; }
.notice-error { border-left-color: #b3261e; background: #fbe5e3; }
.notice p:last-child { margin: 0; }
.secret { display: block; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.125rem; background: #fff; border: 2px dashed #1b1f24; padding: 0.75rem; margin-bottom: 1rem; word-break: break-all; user-select: all; }
.secret.temporary-password { font-size: 2rem; letter-spacing: 0.15em; word-break: normal; } /* read out at the counter */
.findings li { margin-bottom: 0.5rem; }
.empty { color: #3a424d; background: #fff; border: 1px dashed #9aa3ae; border-radius: 6px; padding: 0.75rem 1rem; }
.pager { display: flex; gap: 1rem; }
.status { color: #4a525d; }
.console-footer { border-top: 1px solid #d6dbe1; background: #fff; color: #3a424d; font-size: 0.875rem; }
.console-footer p { padding: 0.75rem 1rem; margin: 0 auto; }
@media (max-width: 40rem) {
  .facts { grid-template-columns: 1fr; }
  .facts dt { border-bottom: 0; padding-bottom: 0; }
}
@media (forced-colors: active) {
  .button, .tag, .stat, .notice { border: 2px solid CanvasText; }
  .chart .ok, .chart .failed { fill: CanvasText; }
}
`;
