// The HTML every server-rendered page shares: escaping, message templates, and the document around a
// page's body. Citizen pages (src/interactions/views.ts) and the console (src/console/layout.ts) differ
// only in what goes inside <body>: no scripts, no inline styles, one same-origin stylesheet, so both
// work under `default-src 'none'; style-src 'self'` and on any phone.

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

// Escapes a message template, then puts already-escaped HTML in place of its `{name}` placeholders.
// Escaping first means a placeholder's value can never be read as another placeholder.
export function fill(template: string, html: Record<string, string>): string {
  return escapeHtml(template).replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(html, name) ? (html[name] ?? whole) : whole,
  );
}

export interface HtmlDocument {
  lang: string;
  /** The whole <title>, as text. */
  title: string;
  /** Same-origin stylesheets, in order. */
  stylesheets: string[];
  /** The contents of <body>, already escaped. */
  body: string;
}

export function htmlDocument(d: HtmlDocument): string {
  return `<!doctype html>
<html lang="${escapeHtml(d.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<meta name="format-detection" content="telephone=no">
<meta name="color-scheme" content="light">
<title>${escapeHtml(d.title)}</title>
${d.stylesheets.map((href) => `<link rel="stylesheet" href="${escapeHtml(href)}">`).join('\n')}
</head>
<body>
${d.body}
</body>
</html>
`;
}
