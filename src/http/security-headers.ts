// Strict headers on every response; the strict CSP only on our own HTML pages (oidc-provider's
// form_post page carries its own inline script and sets its own policy).
import type { Context, Next } from 'koa';
import { randomUUID } from 'node:crypto';

// form-action also governs the redirects that follow a form post (login → /auth → the app's
// redirect_uri), so pages that finish an interaction name the client's redirect origins.
export function pageCsp(formOrigins: string[] = []): string {
  return `default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' ${formOrigins.join(' ')}; frame-ancestors 'none'; base-uri 'none'`.replace(' ;', ';');
}

export function securityHeaders(options: { production: boolean }) {
  return async (ctx: Context, next: Next) => {
    ctx.state.requestId = randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    if (options.production) ctx.set('Strict-Transport-Security', 'max-age=63072000; includeSubDomains');
    await next();
    if (ctx.response.is('html') && !ctx.response.get('Content-Security-Policy')) {
      ctx.set('Content-Security-Policy', pageCsp());
    }
  };
}

export function noStore(ctx: Context) {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
}
