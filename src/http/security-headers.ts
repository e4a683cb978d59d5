// Strict headers: a few on every response, the ones that only mean something to a browser rendering a
// document (framing, opener, permissions, the strict CSP) only on HTML responses. oidc-provider's
// form_post page carries its own inline script and sets its own policy, which is kept.
// Header values are computed once: this runs on every request, JSON hot path included.
import type { Context, Next } from 'koa';
import { randomUUID } from 'node:crypto';

// form-action also governs the redirects that follow a form post (login → /auth → the app's
// redirect_uri), so pages that finish an interaction name the client's redirect origins.
export function pageCsp(formOrigins: string[] = []): string {
  return `default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' ${formOrigins.join(' ')}; frame-ancestors 'none'; base-uri 'none'`.replace(' ;', ';');
}

const DEFAULT_CSP = pageCsp();

/** On every response (JSON included): MIME sniffing off, no referrer, and HSTS in production. */
function everyResponse(production: boolean): Array<[string, string]> {
  return [
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ...(production ? [['Strict-Transport-Security', 'max-age=63072000; includeSubDomains'] as [string, string]] : []),
  ];
}

/** Only on documents: a JSON body is never framed, opened or given device permissions. */
const HTML_ONLY: Array<[string, string]> = [
  ['X-Frame-Options', 'DENY'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()'],
];

export function securityHeaders(options: { production: boolean }) {
  const always = everyResponse(options.production);
  return async function securityHeaders(ctx: Context, next: Next) {
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    const { res } = ctx;
    res.setHeader('X-Request-Id', requestId);
    for (const [name, value] of always) res.setHeader(name, value);
    await next();
    // The header as set, not ctx.response.is('html'): this runs on every response, and type-is parses.
    if (ctx.headerSent || !String(res.getHeader('Content-Type') ?? '').startsWith('text/html')) return;
    for (const [name, value] of HTML_ONLY) res.setHeader(name, value);
    if (!res.hasHeader('Content-Security-Policy')) res.setHeader('Content-Security-Policy', DEFAULT_CSP);
  };
}

export function noStore(ctx: Context) {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
}
